"""The obligations library: the shipped file, validation errors naming entry and field, import."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from assistant import audit
from assistant.calendar import tables as t
from assistant.calendar.library import import_library, load_library_file, parse_library
from assistant.calendar.models import FixedSchedule, OnceSchedule, RollingSchedule
from assistant.config import REPO_ROOT
from assistant.errors import InvalidInput
from assistant.principal import OPERATOR
from assistant.store import Store
from tests.calendar.conftest import LIBRARY_YAML

SHIPPED = REPO_ROOT / "knowledge" / "compliance" / "obligations.yaml"


def test_shipped_library_is_valid_and_complete():
    lib = load_library_file(SHIPPED)
    assert len(lib.obligations) >= 30
    assert lib.sites and lib.credential_reminders.get("default")
    kinds = {type(o.schedule) for o in lib.obligations}
    assert kinds == {FixedSchedule, RollingSchedule, OnceSchedule}
    for ob in lib.obligations:
        assert ob.title and ob.citation and ob.owner and ob.evidence, ob.id
        assert ob.remind_days, ob.id
    ids = {o.id for o in lib.obligations}
    assert {"dea-registration", "biennial-inventory", "form-106-loss", "hipaa-risk-analysis"} <= ids


def _with(replace_from: str, replace_to: str) -> str:
    assert replace_from in LIBRARY_YAML
    return LIBRARY_YAML.replace(replace_from, replace_to, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            _with(
                '{rrule: "FREQ=YEARLY;INTERVAL=3", start: 2024-05-31}',
                '{rrule: "FREQ=FORTNIGHTLY", start: 2024-05-31}',
            ),
            "obligation 'dea-registration': field 'schedule.rrule': FREQ=FORTNIGHTLY is not supported",
        ),
        (
            _with(
                '{rrule: "FREQ=YEARLY;INTERVAL=3", start: 2024-05-31}',
                '{rrule: "FREQ=YEARLY", start: 2024-13-01}',
            ),
            "obligation 'dea-registration': field 'schedule.start'",
        ),
        (
            _with("{every: P2Y, first_due: 2026-03-01}", "{every: two years, first_due: 2026-03-01}"),
            "obligation 'biennial-inventory': field 'schedule.every': 'two years' is not an ISO 8601",
        ),
        (
            _with("{every: P2Y, first_due: 2026-03-01}", "{every: P2Y}"),
            "obligation 'biennial-inventory': field 'schedule.first_due': is required",
        ),
        (
            _with("{once: 2027-01-04}", "{once: 2027-01-04, rrule: FREQ=YEARLY}"),
            "obligation 'form-106-loss': field 'schedule': give exactly one of",
        ),
        (
            _with("    remind_days: [90, 60, 30]\n", "    remind_days: [90, soon]\n"),
            "obligation 'dea-registration': field 'remind_days.1'",
        ),
        (
            _with("    remind_days: [90, 60, 30]\n", "    remind_days: [-5]\n"),
            "obligation 'dea-registration': field 'remind_days.0': -5 is not between 0",
        ),
        (
            _with("    applies_to: staff:pharmacist\n", "    applies_to: staff:wizard\n"),
            "obligation 'pharmacist-ce': field 'applies_to'",
        ),
        (
            _with("    title: Leap day audit\n", "    title: Leap day audit\n    colour: red\n"),
            "obligation 'leap-audit': field 'colour': unknown field",
        ),
        (
            _with(
                "  - id: form-106-loss\n    title: DEA Form 106 for the loss found 2026-11-20\n",
                "  - id: form-106-loss\n",
            ),
            "obligation 'form-106-loss': field 'title': is required",
        ),
        (
            _with("  - id: leap-audit\n", "  - id: dea-registration\n"),
            "obligation 'dea-registration': field 'id': duplicate id",
        ),
        (
            _with("timezone: America/Los_Angeles", "timezone: Mars/Olympus"),
            "site 'west': field 'timezone': unknown IANA time zone 'Mars/Olympus'",
        ),
        (_with("  default: [60, 30]\n", "  default: often\n"), "credential_reminders 'default'"),
        ("obligations: [\n", "not valid YAML at line"),
        ("- just a list\n", "expected a mapping"),
        ("", "the file is empty"),
        (LIBRARY_YAML + "extras: 1\n", "unknown top-level key 'extras'"),
    ],
)
def test_bad_files_are_rejected_with_one_line_naming_entry_and_field(text: str, expected: str):
    with pytest.raises(InvalidInput) as exc:
        parse_library(text, "obligations.yaml")
    msg = str(exc.value)
    assert msg.startswith("obligations.yaml: ")
    assert expected in msg, msg
    assert "\n" not in msg


def _count(store: Store, table) -> int:  # type: ignore[no-untyped-def]
    with store.begin() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_bad_file_imports_nothing(store: Store, tmp_path: Path):
    bad = tmp_path / "obligations.yaml"
    # the error is in the LAST entry: nothing before it may be written
    bad.write_text(_with('{rrule: "FREQ=YEARLY;INTERVAL=2", start: 2024-12-31}', '{rrule: "FREQ=YEARLY"}'))
    with pytest.raises(InvalidInput, match="obligation 'pharmacist-license': field 'schedule.start'"):
        import_library(store, bad, principal=OPERATOR)
    assert _count(store, t.obligations) == 0
    assert _count(store, t.sites) == 0


def test_import_is_idempotent_by_id_and_updates_changed_entries(store: Store, library_file: Path):
    first = import_library(store, library_file, principal=OPERATOR, since=date(2026, 1, 1))
    assert (first.obligations_added, first.sites_added) == (7, 2)
    again = import_library(store, library_file, principal=OPERATOR)
    assert (again.obligations_added, again.obligations_updated, again.obligations_unchanged) == (0, 0, 7)
    assert _count(store, t.obligations) == 7
    library_file.write_text(LIBRARY_YAML.replace("title: Leap day audit", "title: Leap-day audit"))
    third = import_library(store, library_file, principal=OPERATOR)
    assert (third.obligations_added, third.obligations_updated) == (0, 1)
    with store.begin() as conn:
        tracked = conn.execute(
            select(t.obligations.c.tracked_from).where(t.obligations.c.id == "leap-audit")
        ).scalar()
    assert tracked == date(2026, 1, 1)  # tracking start kept on update
    assert [e.action for e in audit.entries(store, action="calendar.import")] == ["calendar.import"] * 3


def test_a_pharmacys_own_file_adds_without_removing(store: Store, library_file: Path, tmp_path: Path):
    import_library(store, library_file, principal=OPERATOR)
    own = tmp_path / "ours.yaml"
    own.write_text(
        "obligations:\n"
        "  - id: fire-extinguisher\n"
        "    title: Fire extinguisher inspection\n"
        "    owner: aadmin\n"
        "    citation: Local fire code\n"
        "    schedule: {rrule: FREQ=YEARLY, start: 2027-02-01}\n"
        "    remind_days: [14]\n"
    )
    r = import_library(store, own, principal=OPERATOR)
    assert r.obligations_added == 1
    assert _count(store, t.obligations) == 8
