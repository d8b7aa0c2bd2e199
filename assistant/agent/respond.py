"""``respond(message, ctx) -> Reply``: the one conversational entry point (chat, Slack, tests).

With an LLM configured the agent answers (tools over the services, as ``ctx.principal``); without
one, or when it fails (unreachable, 5xx, 429, a timeout, malformed or endless tool calls), the offline
router answers within ``RXDESK_LLM_TIMEOUT_S`` + 1 s, with a one-line notice. Either way the caller
gets the same typed Reply. A technician's clinical-judgment question is handed to a pharmacist in
both modes before any model sees it. ``on_text`` receives reply text as it streams (checked
sentence by sentence); it may never be called, and the returned Reply is always the final word.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from assistant.agent.replies import ChatContext, Reply
from assistant.agent.router import classify, handoff, route
from assistant.errors import RxdeskError
from assistant.roles import Action, can
from assistant.sops.triage import is_clinical_question

TextSink = Callable[[str], None]
LLM_UNAVAILABLE = "The language model was unavailable, so this is the offline answer."
KEPT_FROM_LLM = (
    "That message holds a card or Social Security number, so the language model never saw it and this "
    "is the offline answer. Please don't share those here."
)
# The agent gets the whole budget; the offline answer (tens of milliseconds warm) fits in the extra
# second the contract allows.
log = logging.getLogger("rxdesk.agent")
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="rxdesk-agent")


def respond(message: str, ctx: ChatContext, *, on_text: TextSink | None = None) -> Reply:
    if not can(ctx.principal.role, Action.ASK_CLINICAL) and is_clinical_question(message):
        return handoff(message.strip(), ctx)
    if ctx.model is None or classify(message) == "help":
        return route(message, ctx)

    from assistant.agent.agent import Turn  # the LangChain stack loads only when an LLM is configured

    turn = Turn(ctx, ctx.model)
    future = _pool.submit(turn.run, message, on_text)
    try:
        return future.result(timeout=ctx.settings.llm_timeout_s)
    except FutureTimeout:
        turn.cancelled.set()
        reason = "timeout"
    except RxdeskError as exc:
        return (
            route(message, ctx) if exc.code == "index_empty" else _offline(message, ctx, type(exc).__name__)
        )
    except Exception as exc:  # the endpoint, the model's output or the agent loop failed
        if type(exc).__name__ == "PIIDetectionError":
            return route(message, ctx).model_copy(update={"notice": KEPT_FROM_LLM})
        reason = type(exc).__name__
    return _offline(message, ctx, reason)


def _offline(message: str, ctx: ChatContext, reason: str) -> Reply:
    log.warning("LLM turn failed (%s); answering offline", reason)
    reply = route(message, ctx)
    return reply.model_copy(update={"notice": LLM_UNAVAILABLE})
