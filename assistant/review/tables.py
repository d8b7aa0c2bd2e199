"""Runtime table definitions for the review queue (migrations create them)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, ForeignKey, Integer, MetaData, String, Table, Text

metadata = MetaData()
_ID = BigInteger().with_variant(Integer, "sqlite")

drafts = Table(
    "drafts",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("status", String(24), nullable=False),
    Column("current_version", Integer, nullable=False),
    Column("patient_ref", String(64)),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

draft_versions = Table(
    "draft_versions",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("draft_id", _ID, ForeignKey("drafts.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("case_data", JSON, nullable=False),
    Column("document", JSON, nullable=False),
    Column("missing", JSON, nullable=False),
    Column("warnings", JSON, nullable=False),
    Column("errors", JSON, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("approved_by", String(64)),
    Column("approved_at", DateTime(timezone=True)),
    Column("override_reason", Text),
    Column("signer", JSON),  # the approving pharmacist as signed (name, credentials, NPI)
    # the tamper-evident chain (assistant/integrity.py); approvals are sealed in draft_reviews
    Column("chain_seq", BigInteger),
    Column("chain_prev", String(64)),
    Column("chain_mac", String(64)),
)

draft_reviews = Table(
    "draft_reviews",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("draft_id", _ID, ForeignKey("drafts.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("reason", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("content_sha256", String(64)),  # approvals: the content approved
    Column("chain_seq", BigInteger),
    Column("chain_prev", String(64)),
    Column("chain_mac", String(64)),
)
