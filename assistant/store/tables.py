"""Runtime table definitions for the core tables (queries use these; migrations create them)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

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
    # how an approving pharmacist signs documents (issue 11): NPI and letters after the name
    Column("npi", String(10)),
    Column("display_credentials", String(100)),
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


processed_deliveries = Table(
    "processed_deliveries",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

answer_votes = Table(
    "answer_votes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_ref", String(200), nullable=False),
    Column("voter", String(100), nullable=False),
    Column("helpful", Integer, nullable=False),
    Column("reply_kind", String(32), nullable=False),
    Column("question", Text),
    Column("citations", JSON, nullable=False),
    Column("conversation_id", String(200)),
    Column("at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("message_ref", "voter", name="uq_answer_votes_message_voter"),
)
