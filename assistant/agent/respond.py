"""``respond(message, ctx) -> Reply``: the one conversational entry point (chat, Slack, tests).

With an LLM configured the agent answers (tools over the services, as ``ctx.principal``); without
one, or when it fails, the offline router does. Either way the caller gets the same typed Reply.
``on_text`` receives reply text as it streams (Slack shows it live); it may never be called.
"""

from __future__ import annotations

from collections.abc import Callable

from assistant.agent.replies import ChatContext, Reply
from assistant.agent.router import route

TextSink = Callable[[str], None]


def respond(message: str, ctx: ChatContext, *, on_text: TextSink | None = None) -> Reply:
    return route(message, ctx)
