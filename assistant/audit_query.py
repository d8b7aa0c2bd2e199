"""Reading the audit log: pharmacists and admins only (it shows who saw which patient's records)."""

from __future__ import annotations

from assistant import audit, integrity
from assistant.access import guarded
from assistant.errors import RxdeskError
from assistant.principal import Principal
from assistant.review.integrity import chained_tables, first_approval_problem
from assistant.roles import Action
from assistant.store import Store


@guarded(Action.VIEW_AUDIT, "audit.view")
def read_audit(
    store: Store,
    *,
    principal: Principal,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    limit: int = 200,
) -> list[audit.AuditEntry]:
    """Most recent first. Reading the log is itself recorded."""
    rows = audit.entries(store, actor=actor, action=action, target=target, limit=limit)
    audit.record(store, actor=principal.id, action="audit.view", detail={"rows": len(rows)})
    return rows


@guarded(Action.VERIFY_RECORDS, "audit.verify")
def verify_records(store: Store, *, principal: Principal) -> integrity.ChainReport:
    """Walk the tamper-evident chain (audit entries, draft versions, approvals); report the first
    broken link. The check is recorded too, after the walk (so it never reports on itself)."""
    with store.begin() as conn:
        report = integrity.verify_chain(conn, integrity.key_for(conn), chained_tables())
        if report.ok:  # approvals are checked against their sealed events too
            claim = first_approval_problem(conn)
            if claim is not None:
                table, row_id, problem = claim
                report = report.model_copy(
                    update={
                        "ok": False,
                        "first_break": integrity.ChainBreak(table=table, row_id=row_id, problem=problem),
                    }
                )
    try:
        audit.record(
            store,
            actor=principal.id,
            action="audit.verify",
            outcome="ok" if report.ok else "broken",
            detail={
                "records": report.records,
                "break_seq": report.first_break.seq if report.first_break else None,
            },
        )
    except RxdeskError:
        if report.ok:
            raise
    return report
