"""Reading the audit log: pharmacists and admins only (it shows who saw which patient's records)."""

from __future__ import annotations

from assistant import audit
from assistant.access import guarded
from assistant.principal import Principal
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
