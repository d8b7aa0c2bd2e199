"""Does a draft's record still prove what it claims? Checked before a draft leaves the system.

A draft version is sealed when it is written, and an approval is a sealed review event that names
the approver, the time and the SHA-256 of the content approved (``assistant/integrity.py``). Before
a draft is exported (or approved) its current version must match its seal, its document must match
its recorded hash, and if it claims an approval (status ``approved`` or ``approved_by`` set) that
approval must be a sealed event agreeing on approver, time, reason and content. Anything else was
written around rxdesk: the draft is refused, and the refusal is audited.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, Table, select

from assistant import audit
from assistant.drafting.document import Document
from assistant.integrity import TamperDetected, _norm, check_record
from assistant.principal import Principal
from assistant.review.tables import draft_reviews, draft_versions, drafts
from assistant.store import Store
from assistant.store.tables import audit_log


def chained_tables() -> dict[str, Table]:
    """Every table of the tamper-evident chain: the audit log and the review records."""
    return {"audit_log": audit_log, "draft_versions": draft_versions, "draft_reviews": draft_reviews}


def settled_problems(conn: Connection, draft_id: int, attempts: int = 3) -> list[str]:
    """:func:`problems`, re-read before believing it: the draft row, its version and its events are
    read by separate statements, and an approval committing between them (a legitimate race) looks
    like a mismatch for an instant. Tampering persists; a race resolves on the next read."""
    found = problems(conn, draft_id)
    for attempt in range(1, attempts):
        if not found:
            break
        time.sleep(0.05 * attempt)
        found = problems(conn, draft_id)
    return found


def problems(conn: Connection, draft_id: int) -> list[str]:
    """What is wrong with the draft's current version and its approval (empty: it verifies)."""
    d = conn.execute(select(drafts).where(drafts.c.id == draft_id)).mappings().first()
    if d is None:
        return []  # the caller reports "no such draft"
    v = (
        conn.execute(
            select(draft_versions).where(
                draft_versions.c.draft_id == draft_id, draft_versions.c.version == d["current_version"]
            )
        )
        .mappings()
        .first()
    )
    if v is None:
        return [f"draft {draft_id} points to version {d['current_version']}, which does not exist"]
    found: list[str] = []
    why = check_record(conn, draft_versions, v, chained_tables())
    if why:
        found.append(f"version {v['version']} of draft {draft_id}: {why}")
    try:
        actual = Document.model_validate(v["document"]).content_sha256()
    except ValueError:
        actual = None
    if actual != v["content_sha256"]:
        found.append(f"version {v['version']} of draft {draft_id}: its text does not match its recorded hash")
    claims_approval = (
        d["status"] == "approved" or v["approved_by"] is not None or v["approved_at"] is not None
    )
    if claims_approval:
        found.extend(_approval_problems(conn, draft_id, d, v))
    return found


def _approval_problems(conn: Connection, draft_id: int, d: Any, v: Any) -> list[str]:
    events = (
        conn.execute(
            select(draft_reviews)
            .where(
                draft_reviews.c.draft_id == draft_id,
                draft_reviews.c.version == v["version"],
                draft_reviews.c.action == "approve",
            )
            .order_by(draft_reviews.c.id)
        )
        .mappings()
        .all()
    )
    label = f"the approval of draft {draft_id} version {v['version']}"
    if not events:
        return [f"{label}: no sealed approval record exists"]
    if len(events) > 1:
        return [f"{label}: more than one approval record exists"]
    ev = events[0]
    why = check_record(conn, draft_reviews, ev, chained_tables())
    if why:
        return [f"{label}: the approval record {why.removeprefix('it ').strip()}"]
    mismatched = [
        name
        for name, ok in (
            ("status", d["status"] == "approved"),
            ("approver", ev["actor"] == v["approved_by"]),
            ("time", _norm(ev["at"]) == _norm(v["approved_at"]) if v["approved_at"] else False),
            ("reason", (ev["reason"] or None) == (v["override_reason"] or None)),
            ("content", ev["content_sha256"] == v["content_sha256"]),
        )
        if not ok
    ]
    if mismatched:
        return [f"{label}: the draft's {', '.join(mismatched)} do(es) not match the sealed approval"]
    return []


def first_approval_problem(conn: Connection) -> tuple[str, int, str] | None:
    """Across all drafts: the first claimed approval that is not a sealed approval event, as
    (table, row id, problem). Approval fields live outside the rows' seals (they are set when a
    version is approved), so the chain walk alone would not notice them being set or changed."""
    claims = conn.execute(
        select(draft_versions.c.id, draft_versions.c.draft_id)
        .where(draft_versions.c.approved_by.is_not(None) | draft_versions.c.approved_at.is_not(None))
        .order_by(draft_versions.c.id)
    ).all()
    approved = conn.execute(
        select(drafts.c.id).where(drafts.c.status == "approved").order_by(drafts.c.id)
    ).scalars()
    for draft_id in sorted({d for _, d in claims} | set(approved)):
        found = settled_problems(conn, draft_id)
        if found:
            return "drafts", draft_id, found[0]
    for version_id, draft_id in claims:  # an approval claimed by a version that is no longer current
        v = conn.execute(select(draft_versions).where(draft_versions.c.id == version_id)).mappings().one()
        d = conn.execute(select(drafts).where(drafts.c.id == draft_id)).mappings().first()
        if d is not None and d["current_version"] != v["version"]:
            found = _approval_problems(conn, draft_id, {**d, "status": "approved"}, v)
            if found:
                return "draft_versions", version_id, found[0]
    return None


def verify_draft(store: Store, conn: Connection, draft_id: int, *, principal: Principal, event: str) -> None:
    """Raise :class:`TamperDetected` (and audit the refusal) unless the draft's record verifies."""
    found = settled_problems(conn, draft_id)
    if not found:
        return
    audit.record(
        store,
        actor=principal.id,
        action=event,
        target=f"draft:{draft_id}",
        outcome="tampered",
        detail={"problems": found[:5]},
    )
    more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
    raise TamperDetected(f"refused: {found[0]}{more}", field="draft_id")
