"""Every LLM call on record in the database, the way simonw/llm keeps its logs: the request as sent
(pseudonymized unless a BAA covers the endpoint), the response as received, model, tokens, latency
and outcome. Process logs never hold message text unless ``RXDESK_LOG_CONTENT=true``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
)

from assistant.store import Store

metadata = MetaData()
llm_calls = Table(
    "llm_calls",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("conversation_id", String(200)),
    Column("actor", String(64), nullable=False),
    Column("model", String(200), nullable=False),
    Column("request", JSON, nullable=False),
    Column("response", JSON),
    Column("prompt_tokens", Integer),
    Column("completion_tokens", Integer),
    Column("latency_ms", Float, nullable=False),
    Column("outcome", String(64), nullable=False),
    Column("pseudonymized", Integer, nullable=False),
)


class LLMCall(BaseModel):
    id: int
    at: datetime
    conversation_id: str | None
    actor: str
    model: str
    request: Any
    response: Any
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: float
    outcome: str
    pseudonymized: bool


def record_call(
    store: Store,
    *,
    conversation_id: str | None,
    actor: str,
    model: str,
    request: Any,
    response: Any,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    latency_ms: float,
    outcome: str,
    pseudonymized: bool,
) -> None:
    with store.begin() as conn:
        conn.execute(
            insert(llm_calls).values(
                at=datetime.now(UTC),
                conversation_id=conversation_id,
                actor=actor,
                model=model,
                request=request,
                response=response,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                latency_ms=latency_ms,
                outcome=outcome[:64],
                pseudonymized=int(pseudonymized),
            )
        )


def recent_calls(store: Store, limit: int = 50) -> list[LLMCall]:
    """Most recent first (for tests and an operator's review; holds no PHI when pseudonymized)."""
    with store.begin() as conn:
        rows = conn.execute(select(llm_calls).order_by(llm_calls.c.id.desc()).limit(limit)).mappings().all()
    return [LLMCall(**{**r, "pseudonymized": bool(r["pseudonymized"])}) for r in rows]
