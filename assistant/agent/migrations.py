"""Migrations for the agent: the record of every LLM call (pseudonymized request and response)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Connection, DateTime, Float, Integer, MetaData, String, Table


def _a001_llm_calls(conn: Connection) -> None:
    meta = MetaData()
    Table(
        "llm_calls",
        meta,
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
    meta.create_all(conn)


MIGRATIONS = [("agent_001_llm_calls", _a001_llm_calls)]
