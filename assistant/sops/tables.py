"""Runtime table definitions of the SOP manual's approvals (migrations create them).

An approval is of a content hash: the same text approved once stays approved wherever the file
lives and on every instance sharing the database (each instance promotes it at its next ingest).
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, String, Table

metadata = MetaData()

sop_approvals = Table(
    "sop_approvals",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("sop_id", String(100), nullable=False),
    Column("version", String(64)),
    Column("source", String(400), nullable=False),
    Column("approved_by", String(64), nullable=False),
    Column("approved_at", DateTime(timezone=True), nullable=False),
)
