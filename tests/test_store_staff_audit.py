from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from assistant import audit, staff
from assistant.errors import InvalidInput, NotFound
from assistant.principal import OPERATOR
from assistant.roles import Action, Role, SystemRole, can, parse_role, why_not
from assistant.store import Store
from assistant.store.migrations import migrate
from tests.conftest import who


def test_migrations_are_idempotent(store: Store) -> None:
    assert migrate(store) == []  # already applied by open_store


def test_staff_import_and_list(staffed_store: Store) -> None:
    members = staff.list_staff(staffed_store)
    assert [m.id for m in members] == ["aadmin", "bsmith", "jdoe"]
    jane = staff.get_staff(staffed_store, "jdoe")
    assert jane.role is Role.PHARMACIST
    assert jane.credentials[0].expires == date(2027, 3, 31)
    assert staff.find_by_slack_user(staffed_store, "UTECH1").id == "bsmith"  # type: ignore[union-attr]
    assert staff.find_by_slack_user(staffed_store, "UNOBODY") is None


def test_staff_reimport_is_idempotent(staffed_store: Store, staff_file: Path) -> None:
    result = staff.import_staff(staffed_store, staff_file, principal=OPERATOR)
    assert (result.added, result.updated) == (0, 3)
    assert len(staff.get_staff(staffed_store, "jdoe").credentials) == 2


def test_bad_staff_file_names_entry_and_field_and_imports_nothing(store: Store, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {id: ok1, name: A, role: pharmacist}\n- {id: x2, name: B, role: janitor}\n")
    with pytest.raises(InvalidInput, match=r"staff\[1\] \(x2\): field 'role'"):
        staff.import_staff(store, bad, principal=OPERATOR)
    assert staff.list_staff(store) == []


def test_staff_file_errors(store: Store, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not found"):
        staff.import_staff(store, tmp_path / "missing.yaml", principal=OPERATOR)
    broken = tmp_path / "broken.yaml"
    broken.write_text("staff: [\n")
    with pytest.raises(InvalidInput, match="not valid YAML"):
        staff.import_staff(store, broken, principal=OPERATOR)
    dup = tmp_path / "dup.yaml"
    dup.write_text("- {id: a, name: A, role: admin}\n- {id: a, name: B, role: admin}\n")
    with pytest.raises(InvalidInput, match="duplicate id 'a'"):
        staff.import_staff(store, dup, principal=OPERATOR)
    with pytest.raises(NotFound):
        staff.get_staff(store, "ghost")


def test_credential_renewal_sets_new_expiry(staffed_store: Store) -> None:
    cred = staff.set_credential_expiry(
        staffed_store, "bsmith", "ptcb_cpht", date(2029, 1, 31), principal=who(staffed_store, "jdoe")
    )
    assert cred.expires == date(2029, 1, 31)
    assert audit.entries(staffed_store, action="staff.credential_renewed")[0].target == "bsmith"


def test_audit_log_is_append_only(staffed_store: Store) -> None:
    audit.record(staffed_store, actor="jdoe", action="test.action", target="t1", patient_ref="P-1")
    latest = audit.entries(staffed_store, limit=1)[0]
    assert (latest.actor, latest.action, latest.patient_ref) == ("jdoe", "test.action", "P-1")
    for stmt in ("UPDATE audit_log SET actor = 'evil'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), staffed_store.begin() as conn:
            conn.execute(text(stmt))
    assert audit.entries(staffed_store, limit=1)[0].actor == "jdoe"


def test_delegation_matrix() -> None:
    assert can(Role.TECHNICIAN, Action.ASK_SOP)
    assert can(Role.TECHNICIAN, Action.DRAFT_PA)
    assert not can(Role.TECHNICIAN, Action.APPROVE_DRAFT)
    assert not can(Role.TECHNICIAN, Action.DRAFT_CLINICAL)
    assert not can(Role.ADMIN, Action.APPROVE_DRAFT)
    assert can(Role.PHARMACIST, Action.APPROVE_DRAFT)
    assert not can("janitor", Action.ASK_SOP)
    assert why_not(Role.TECHNICIAN, Action.APPROVE_DRAFT) == "only a pharmacist can approve a draft"
    assert can(SystemRole.OPERATOR, Action.INGEST_SOPS) and not can(SystemRole.OPERATOR, Action.VIEW_DRAFT)
    assert can(SystemRole.GUEST, Action.ASK_SOP) and not can(SystemRole.GUEST, Action.VIEW_DEADLINES)
    assert can(SystemRole.SCHEDULER, Action.VIEW_DEADLINES) and not can(SystemRole.SCHEDULER, Action.ASK_SOP)
    with pytest.raises(InvalidInput, match="unknown role"):
        parse_role("wizard")


def test_every_action_has_a_rule() -> None:
    from assistant.roles import MATRIX

    assert set(MATRIX) == set(Action)


def test_every_action_has_words_for_a_refusal() -> None:
    from assistant.roles import DESCRIBE

    assert set(DESCRIBE) == set(Action)
