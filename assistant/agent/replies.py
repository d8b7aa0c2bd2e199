"""What the conversational core answers with: a typed ``Reply`` (a discriminated union).

Every front end (terminal chat, Slack, the LLM agent's final answer, tests) receives the same
models and renders them its own way; nothing here is presentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from assistant.calendar.ask import DeadlineAnswer
from assistant.config import Settings
from assistant.errors import RxdeskError
from assistant.principal import Principal
from assistant.review.service import DraftView
from assistant.sops.models import Answer
from assistant.store import Store


@dataclass(frozen=True)
class ChatContext:
    """Who is asking, where, in which conversation, and the services' store."""

    settings: Settings
    store: Store
    principal: Principal
    conversation_id: str | None = None  # a Slack thread, a terminal session
    site: str | None = None


class SopReply(BaseModel):
    kind: Literal["sop"] = "sop"
    answer: Answer


class DeadlinesReply(BaseModel):
    kind: Literal["deadlines"] = "deadlines"
    answer: DeadlineAnswer


class DraftReply(BaseModel):
    kind: Literal["draft"] = "draft"
    draft: DraftView


class HandoffReply(BaseModel):
    """A question the asker's role may not have answered here: it goes to a pharmacist."""

    kind: Literal["handoff"] = "handoff"
    question: str
    reason: Literal["clinical"] = "clinical"
    summary: str  # a short note for the pharmacist: who asked what
    asked_by: str


class HelpReply(BaseModel):
    kind: Literal["help"] = "help"
    role: str
    examples: list[str]
    draft_kinds: list[str] = Field(default_factory=list)


class ErrorReply(BaseModel):
    kind: Literal["error"] = "error"
    code: str
    message: str
    field: str | None = None

    @classmethod
    def of(cls, exc: RxdeskError) -> ErrorReply:
        return cls(code=exc.code, message=exc.message, field=exc.field)


Reply = Annotated[
    SopReply | DeadlinesReply | DraftReply | HandoffReply | HelpReply | ErrorReply,
    Field(discriminator="kind"),
]
