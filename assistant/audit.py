"""Append-only audit log: who saw and did what, when, with what outcome.

Entries carry a patient *reference* (a token), never names or other PHI. The database refuses
UPDATE and DELETE on the table (triggers installed by the core migrations), and every entry is sealed
into the tamper-evident chain (``assistant/integrity.py``), so an edit, insertion or deletion made
behind the triggers' back is found by ``verify``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, select

from assistant import integrity
from assistant.store import Store
from assistant.store.tables import audit_log


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None = None
    outcome: str = "ok"
    patient_ref: str | None = None
    detail: dict[str, Any] | None = None


def record(
    store_or_conn: Store | Connection,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    outcome: str = "ok",
    patient_ref: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry. Pass a Connection to make it part of the caller's transaction."""
    values = {
        "at": datetime.now(UTC),
        "actor": actor,
        "action": action,
        "target": target,
        "outcome": outcome,
        "patient_ref": patient_ref,
        "detail": detail,
    }
    if isinstance(store_or_conn, Store):
        with store_or_conn.begin() as conn:
            integrity.append(conn, audit_log, values)
    else:
        integrity.append(store_or_conn, audit_log, values)


def entries(
    store: Store,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    """Most recent first."""
    query = select(*(c for c in audit_log.c if not c.name.startswith("chain_")))
    query = query.order_by(audit_log.c.id.desc()).limit(limit)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if actor:
        query = query.where(audit_log.c.actor == actor)
    if action:
        query = query.where(audit_log.c.action == action)
    if target:
        query = query.where(audit_log.c.target == target)
    with store.begin() as conn:
        rows = conn.execute(query).mappings().all()
    out = []
    for row in rows:
        at = row["at"]
        if at.tzinfo is None:  # SQLite drops the offset; we always store UTC
            at = at.replace(tzinfo=UTC)
        out.append(AuditEntry(**{**row, "at": at}))
    return out
