"""Helpful / not helpful votes on the assistant's answers, kept to evaluate and tune it.

One vote per person per answer: voting again changes the vote. A vote keeps what is needed to turn
it into an evaluation case later: the question, the kind of reply and the SOP sections it cited.
The question is kept because an evaluation set needs it; it lives in the database with the drafts
(never in logs) and is cut to :data:`MAX_QUESTION` characters.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from assistant.access import guarded
from assistant.errors import InvalidInput
from assistant.principal import Principal
from assistant.roles import Action
from assistant.store import Store
from assistant.store.tables import answer_votes

MAX_QUESTION = 1000


class Vote(BaseModel):
    message_ref: str  # the answer voted on, e.g. "slack:T1:C1:1700000000.0001"
    voter: str  # principal id
    helpful: bool
    reply_kind: str
    question: str | None = None
    citations: list[str] = Field(default_factory=list)  # "SOP-ID › section"
    conversation_id: str | None = None
    at: datetime


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@guarded(Action.ASK_SOP, "feedback.vote")
def record_vote(
    store: Store,
    message_ref: str,
    helpful: bool,
    *,
    principal: Principal,
    reply_kind: str,
    question: str | None = None,
    citations: list[str] | None = None,
    conversation_id: str | None = None,
) -> Vote:
    """Record (or change) ``principal``'s vote on one answer. Whoever may ask may vote."""
    if not message_ref.strip():
        raise InvalidInput("which answer is this vote for?", field="message_ref")
    values = {
        "helpful": int(bool(helpful)),
        "reply_kind": reply_kind[:32],
        "question": (question or "")[:MAX_QUESTION] or None,
        "citations": list(citations or [])[:20],
        "conversation_id": conversation_id,
        "at": datetime.now(UTC),
    }
    key = (answer_votes.c.message_ref == message_ref) & (answer_votes.c.voter == principal.id)
    try:
        with store.begin() as conn:
            conn.execute(insert(answer_votes).values(message_ref=message_ref, voter=principal.id, **values))
    except IntegrityError:  # voted before: the latest vote counts
        with store.begin() as conn:
            conn.execute(update(answer_votes).where(key).values(**values))
    return Vote(message_ref=message_ref, voter=principal.id, **{**values, "helpful": bool(helpful)})


@guarded(Action.VIEW_AUDIT, "feedback.list")
def list_votes(store: Store, *, principal: Principal, limit: int = 1000) -> list[Vote]:
    """The most recent votes first (for evaluation)."""
    with store.begin() as conn:
        rows = conn.execute(select(answer_votes).order_by(answer_votes.c.at.desc()).limit(limit)).mappings()
        return [
            Vote(
                message_ref=r["message_ref"],
                voter=r["voter"],
                helpful=bool(r["helpful"]),
                reply_kind=r["reply_kind"],
                question=r["question"],
                citations=list(r["citations"] or []),
                conversation_id=r["conversation_id"],
                at=_aware(r["at"]),
            )
            for r in rows
        ]
