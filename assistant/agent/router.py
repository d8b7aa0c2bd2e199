"""The offline (no-LLM) router: decide what a chat message asks and hand it to the right service.

- "draft pa-packet PA for Mrs. Johnson's Ozempic ..." -> the drafting engine (free text -> case)
- deadline questions ("what's due this week?", "when does Jane's license expire") -> the calendar;
  when the calendar has nothing matching, the SOPs answer instead
- how-to questions ("my CPR card expires next week, what do I do?") -> the SOPs, even when they
  contain deadline words: the question is what to do, not when
- clinical-judgment questions from anyone who may not have them answered -> a hand-off

Every service is called as ``ctx.principal``; the services check permissions and audit refusals.
"""

from __future__ import annotations

import re
from typing import Literal

from assistant.agent.replies import (
    ChatContext,
    DeadlinesReply,
    DraftReply,
    ErrorReply,
    HandoffReply,
    HelpReply,
    Reply,
    SopReply,
)
from assistant.calendar.ask import ask as ask_calendar
from assistant.drafting.kinds import KINDS, get_kind
from assistant.errors import InvalidInput, RxdeskError
from assistant.review.service import create_draft_from_text
from assistant.roles import Action, can
from assistant.sops.service import ask as ask_sops

Intent = Literal["sop", "deadlines", "draft", "help"]

DRAFT_KINDS = tuple(KINDS)
_KIND_WORDS: list[tuple[str, str]] = [
    (r"\bappeal\b", "pa-appeal"),
    (r"\b(?:pa|prior auth(?:orization)?)\b", "pa-packet"),
    (r"\b(?:cmr|action plan|medication list|pml|map)\b", "mtm-cmr"),
    (r"\b(?:soap|mtm note|encounter note)\b", "mtm-note"),
    (
        r"\b(?:sbar|prescriber letter|letter to (?:the )?(?:dr|doctor|prescriber)|fax to)\b",
        "prescriber-letter",
    ),
]
_DRAFT = re.compile(r"^\s*/?draft\b[:\s]*(?P<rest>.*)$", re.I | re.S)
_DEADLINE = re.compile(
    r"\b(?:due|deadlines?|overdue|expir\w*|renew\w*|digest|coming up|calendar|recertif\w*)\b", re.I
)
# "what do I do", "how do we ...", "steps for ...": the question asks for a procedure
_HOW_TO = re.compile(
    r"\b(?:how (?:do|should|can|would|to)|what (?:do|should|can) (?:i|we|you)\b|what(?:'s| is| are) the "
    r"(?:steps|process|procedure|policy|sop)|now what|what now|who do (?:i|we)|where do (?:i|we)|"
    r"steps? (?:for|to)|procedure for|process for|is there an? (?:sop|policy|procedure))",
    re.I,
)

_EXAMPLES = {
    "sop": [
        "a claim rejected with code 75, what do I do?",
        "the vaccine fridge read 9 °C, now what?",
    ],
    "deadlines": ["what's due in the next 2 weeks?", "when is our DEA registration due?"],
    "draft": [
        "draft pa-packet PA for Mrs. Johnson's Ozempic, T2DM, last A1c 8.7% on 10/2, failed metformin "
        "1000 bid x6mo GI upset"
    ],
}


def classify(message: str) -> Intent:
    text = message.strip()
    if text.lower() in {"help", "/help", "?"}:
        return "help"
    if _DRAFT.match(text):
        return "draft"
    if _DEADLINE.search(text) and not _HOW_TO.search(text):
        return "deadlines"
    return "sop"


def draft_kind(request: str) -> str | None:
    lowered = request.lower()
    for kind in DRAFT_KINDS:
        if lowered.startswith(kind):
            return kind
    for pattern, kind in _KIND_WORDS:
        if re.search(pattern, lowered):
            return kind
    return None


def help_reply(ctx: ChatContext) -> HelpReply:
    role = ctx.principal.role
    examples = list(_EXAMPLES["sop"])
    if can(role, Action.VIEW_DEADLINES):
        examples += _EXAMPLES["deadlines"]
    kinds = [k for k in DRAFT_KINDS if can(role, _kind_action(k))]
    if kinds:
        examples += _EXAMPLES["draft"]
    return HelpReply(role=role.value, examples=examples, draft_kinds=kinds)


def _kind_action(kind: str) -> Action:
    return get_kind(kind).ACTION


def route(message: str, ctx: ChatContext) -> Reply:
    """Answer one chat message as ``ctx.principal``. Bad input and refusals come back as an
    :class:`ErrorReply` (code, message, field); nothing here raises for them."""
    try:
        return _route(message, ctx)
    except RxdeskError as exc:
        return ErrorReply.of(exc)


def _route(message: str, ctx: ChatContext) -> Reply:
    intent = classify(message)
    if intent == "help":
        return help_reply(ctx)
    if intent == "draft":
        return _draft(message, ctx)
    if intent == "deadlines" and can(ctx.principal.role, Action.VIEW_DEADLINES):
        answer = ask_calendar(ctx.store, message, principal=ctx.principal, site=ctx.site)
        if answer.found:
            return DeadlinesReply(answer=answer)
    return sop_reply(message, ctx)


def sop_reply(question: str, ctx: ChatContext) -> Reply:
    answer = ask_sops(ctx.store, question, principal=ctx.principal)
    if answer.outcome == "clinical_handoff":
        return handoff(answer.question, ctx)
    return SopReply(answer=answer)


def handoff(question: str, ctx: ChatContext) -> HandoffReply:
    who = ctx.principal
    return HandoffReply(
        question=question,
        summary=f'{who.label} asked a clinical question that needs a pharmacist: "{question}"',
        asked_by=who.id,
    )


def _draft(message: str, ctx: ChatContext) -> Reply:
    match = _DRAFT.match(message)
    rest = (match.group("rest") if match else message).strip()
    kind = draft_kind(rest)
    if kind is None:
        raise InvalidInput("which document? start with one of: " + ", ".join(DRAFT_KINDS), field="kind")
    text = rest[len(kind) :].strip(" :") if rest.lower().startswith(kind) else rest
    view = create_draft_from_text(ctx.store, kind, text, principal=ctx.principal)
    return DraftReply(draft=view)
