"""The offline (no-LLM) router: decide what a chat message is and hand it to the right service.

- "draft pa-packet PA for Mrs. Johnson's Ozempic ..." -> the drafting engine (free text -> case)
- deadline questions ("what's due this week?", "when does Jane's license expire") -> the calendar
- everything else -> grounded SOP answers (with clinical questions from technicians routed away)

The Slack adapter and the terminal chat both call :func:`handle`, so they behave the same.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from assistant.config import Settings
from assistant.roles import Role
from assistant.staff import StaffMember
from assistant.store import Store

Intent = Literal["sop", "deadlines", "draft", "help"]

DRAFT_KINDS = ("mtm-cmr", "mtm-note", "pa-packet", "pa-appeal", "prescriber-letter")
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

HELP_TEXT = (
    "Ask me how to do something and I'll answer from our SOPs with the SOP id and section, "
    "or tell you they don't cover it.\n"
    'Deadlines: "what\'s due this week?", "when is our DEA registration due?"\n'
    "Drafts (pharmacist review): \"draft pa-packet PA for Mrs. Johnson's Ozempic, T2DM, A1c 8.7% on 10/2, "
    'failed metformin 1000 bid x6mo GI upset" (kinds: ' + ", ".join(DRAFT_KINDS) + ")"
)


class ChatReply(BaseModel):
    intent: Intent
    text: str
    data: dict[str, Any] = Field(default_factory=dict)


def classify(message: str) -> Intent:
    text = message.strip()
    if text.lower() in {"help", "/help", "?"}:
        return "help"
    if _DRAFT.match(text):
        return "draft"
    if _DEADLINE.search(text):
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


def handle(
    settings: Settings,
    store: Store,
    message: str,
    *,
    actor: StaffMember | None = None,
    role: Role | str | None = None,
) -> ChatReply:
    """Answer one chat message. Raises RxdeskError (one line) on bad input."""
    role = Role(role) if role else (actor.role if actor else Role.TECHNICIAN)
    intent = classify(message)
    if intent == "help":
        return ChatReply(intent="help", text=HELP_TEXT)
    if intent == "draft":
        return _draft(store, message, actor)
    if intent == "deadlines":
        reply = _deadlines(store, message)
        if reply is not None:
            return reply
    from assistant.sops.service import ask

    answer = ask(settings, message, role)
    return ChatReply(intent="sop", text=answer.answer, data=answer.model_dump(mode="json"))


def _deadlines(store: Store, message: str) -> ChatReply | None:
    try:
        from assistant.calendar.ask import ask as ask_calendar
    except ImportError:  # calendar not installed in this build
        return None
    answer = ask_calendar(store, message)
    return ChatReply(intent="deadlines", text=answer.answer, data=answer.model_dump(mode="json"))


def _draft(store: Store, message: str, actor: StaffMember | None) -> ChatReply:
    from assistant.drafting.extract import extract_case
    from assistant.errors import InvalidInput
    from assistant.review.service import create_draft

    match = _DRAFT.match(message)
    rest = (match.group("rest") if match else message).strip()
    kind = draft_kind(rest)
    if kind is None:
        raise InvalidInput("which document? start with one of: " + ", ".join(DRAFT_KINDS))
    text = rest[len(kind) :].strip(" :") if rest.lower().startswith(kind) else rest
    if not text:
        raise InvalidInput(f"tell me what to put in the {kind}, e.g. {HELP_TEXT.splitlines()[-1]}")
    view = create_draft(store, kind, extract_case(text), actor, allow_errors=True, source="chat")
    header = (
        f"Draft #{view.draft_id} ({kind}, v{view.version}, {view.status.value}) — "
        f"{len(view.missing)} missing fact(s); a pharmacist must review and approve it.\n\n"
    )
    return ChatReply(intent="draft", text=header + view.markdown, data=view.model_dump(mode="json"))
