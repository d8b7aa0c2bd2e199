"""Runtime table definitions for the core tables (queries use these; migrations create them)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Date, DateTime, ForeignKey, Integer, MetaData, String, Table

metadata = MetaData()

staff = Table(
    "staff",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("site", String(64)),
    Column("slack_user_id", String(64), unique=True),
    Column("active", Integer, nullable=False, server_default="1"),
)

staff_credentials = Table(
    "staff_credentials",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("staff_id", String(64), ForeignKey("staff.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(64), nullable=False),
    Column("number", String(64)),
    Column("expires", Date),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(200)),
    Column("outcome", String(16), nullable=False),
    Column("patient_ref", String(64)),
    Column("detail", JSON),
    # the tamper-evident chain (assistant/integrity.py)
    Column("chain_seq", BigInteger),
    Column("chain_prev", String(64)),
    Column("chain_mac", String(64)),
)

# The head of the tamper-evident chain: its length and last seal, sealed itself (integrity.py).
chain_heads = Table(
    "chain_heads",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("mac", String(64), nullable=False),
    Column("head_mac", String(64), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
