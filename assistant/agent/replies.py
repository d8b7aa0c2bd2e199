"""What the conversational core answers with: a typed ``Reply`` (a discriminated union).

Every front end (terminal chat, Slack, the LLM agent's final answer, tests) receives the same
models and renders them its own way; nothing here is presentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from assistant.calendar.ask import DeadlineAnswer
from assistant.calendar.models import Completion, PARequest
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
    # the chat model (a LangChain BaseChatModel) when an LLM is configured; adapters build it with
    # integrations/llm.py so the core never names a vendor. None: the offline router answers.
    model: Any = None


class _Reply(BaseModel):
    # a one-line note for the person, e.g. that the language model was unavailable this time
    notice: str | None = None


class SopReply(_Reply):
    kind: Literal["sop"] = "sop"
    answer: Answer
    text: str | None = None  # the model's wording of the cited passages, after the grounding guard


class DeadlinesReply(_Reply):
    kind: Literal["deadlines"] = "deadlines"
    answer: DeadlineAnswer
    text: str | None = None  # the model's wording, only when every date and number in it was listed


class DraftReply(_Reply):
    kind: Literal["draft"] = "draft"
    draft: DraftView
    not_found: list[str] = Field(default_factory=list)  # values a model proposed that nobody said


class ConfirmReply(_Reply):
    """The agent wants to record something; nothing happens until the person confirms."""

    kind: Literal["confirm"] = "confirm"
    action: str
    details: dict[str, str] = Field(default_factory=dict)


class RecordedReply(_Reply):
    """Something was recorded on the person's request (a completion, a tracked PA)."""

    kind: Literal["recorded"] = "recorded"
    completion: Completion | None = None
    pa: PARequest | None = None


class HandoffReply(_Reply):
    """A question the asker's role may not have answered here: it goes to a pharmacist."""

    kind: Literal["handoff"] = "handoff"
    question: str
    reason: Literal["clinical"] = "clinical"
    summary: str  # a short note for the pharmacist: who asked what
    asked_by: str


class HelpReply(_Reply):
    kind: Literal["help"] = "help"
    role: str
    examples: list[str]
    draft_kinds: list[str] = Field(default_factory=list)


class ErrorReply(_Reply):
    kind: Literal["error"] = "error"
    code: str
    message: str
    field: str | None = None

    @classmethod
    def of(cls, exc: RxdeskError) -> ErrorReply:
        return cls(code=exc.code, message=exc.message, field=exc.field)


Reply = Annotated[
    SopReply
    | DeadlinesReply
    | DraftReply
    | ConfirmReply
    | RecordedReply
    | HandoffReply
    | HelpReply
    | ErrorReply,
    Field(discriminator="kind"),
]
ReplyModel = _Reply
