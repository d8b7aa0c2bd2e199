"""Schema of the SOP manual's approvals (append-only list; never edit a shipped entry)."""

from __future__ import annotations

from sqlalchemy import Column, Connection, DateTime, MetaData, String, Table


def _s001_approvals(conn: Connection) -> None:
    meta = MetaData()
    Table(
        "sop_approvals",
        meta,
        Column("sha256", String(64), primary_key=True),
        Column("sop_id", String(100), nullable=False),
        Column("version", String(64)),
        Column("source", String(400), nullable=False),
        Column("approved_by", String(64), nullable=False),
        Column("approved_at", DateTime(timezone=True), nullable=False),
    )
    meta.create_all(conn)


MIGRATIONS = [
    ("sops_001_approvals", _s001_approvals),
]
