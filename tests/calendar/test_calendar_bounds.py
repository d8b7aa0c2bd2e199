"""Finding 8: one absurd obligation used to break the whole calendar ("year 1000002025 is out of
range") and a sub-daily rule made 160,118 ICS events. Now such rules are refused at check/import with
the entry and field named, and anything already stored can no longer break a listing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import insert

from assistant.calendar import tables as t
from assistant.calendar.completions import complete
from assistant.calendar.deadlines import list_deadlines
from assistant.calendar.digest import build_digest
from assistant.calendar.ics import export_ics
from assistant.calendar.library import parse_library
from assistant.cli import main
from assistant.errors import InvalidInput
from assistant.principal import OPERATOR
from assistant.store import Store
from tests.conftest import who

HEAD = "sites:\n  - {id: main, name: Main}\nobligations:\n"


def _lib(entry: str) -> str:
    return HEAD + "  - id: bad\n    title: Bad one\n" + entry


@pytest.mark.parametrize(
    ("entry", "field", "why"),
    [
        (
            '    schedule: {rrule: "FREQ=YEARLY;INTERVAL=999999999", start: 2025-01-01}\n',
            "schedule.rrule",
            "more than 25 years",
        ),
        (
            '    schedule: {rrule: "FREQ=MONTHLY;INTERVAL=400", start: 2025-01-01}\n',
            "schedule.rrule",
            "more than 25 years",
        ),
        (
            "    schedule: {every: P99999999Y, first_due: 2025-01-01}\n",
            "schedule.every",
            "longer than 25 years",
        ),
        ("    schedule: {every: P10000D, first_due: 2025-01-01}\n", "schedule.every", "longer than 25 years"),
        (
            '    schedule: {rrule: "FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12;BYMINUTE=0,5,10,15,20,25,30", start: 2025-01-01}\n',
            "schedule.rrule",
            "BYHOUR is not supported",
        ),
        (
            '    schedule: {rrule: "FREQ=WEEKLY;BYMINUTE=1", start: 2025-01-01}\n',
            "schedule.rrule",
            "BYMINUTE",
        ),
        ('    schedule: {rrule: "FREQ=YEARLY", start: 0001-01-01}\n', "schedule.rrule", "outside 1900-2199"),
        ("    schedule: {every: P1Y, first_due: 9999-12-31}\n", "schedule.first_due", "outside 1900-2199"),
        ("    schedule: {once: 1066-10-14}\n", "schedule.once", "outside 1900-2199"),
    ],
)
def test_absurd_schedules_are_refused_naming_entry_and_field(entry: str, field: str, why: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_library(_lib(entry), "lib.yaml")
    message = caught.value.message
    assert message.startswith(f"lib.yaml: obligation 'bad': field '{field}': "), message
    assert why in message and "\n" not in message


def test_sane_schedules_still_pass() -> None:
    lib = parse_library(
        _lib('    schedule: {rrule: "FREQ=DAILY", start: 2025-01-01}\n')
        + '  - id: ok2\n    title: Every 25 years\n    schedule: {rrule: "FREQ=YEARLY;INTERVAL=25", start: 2025-01-01}\n'
        + '  - id: ok3\n    title: Last day\n    schedule: {rrule: "FREQ=MONTHLY;BYMONTHDAY=-1", start: 2025-01-31}\n',
        "lib.yaml",
    )
    assert len(lib.obligations) == 3


def test_cli_calendar_check_prints_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "lib.yaml"
    bad.write_text(_lib('    schedule: {rrule: "FREQ=YEARLY;INTERVAL=999999999", start: 2025-01-01}\n'))
    for cmd in (["calendar", "check", str(bad)], ["calendar", "import", str(bad)]):
        rc = main(["--data-dir", str(tmp_path / "d"), *cmd])
        err = capsys.readouterr().err
        assert rc != 0 and err.count("\n") == 1 and "Traceback" not in err
        assert "obligation 'bad': field 'schedule.rrule'" in err


def test_an_absurd_obligation_stored_earlier_no_longer_breaks_the_calendar(cal_store: Store) -> None:
    """Imported before the bounds existed (written straight into the table here)."""
    now = dt.datetime(2026, 11, 27, 15, tzinfo=dt.UTC)
    with cal_store.begin() as conn:
        for oid, schedule in (
            ("absurd-rrule", {"rrule": "FREQ=YEARLY;INTERVAL=999999999", "start": "2025-01-01"}),
            ("absurd-every", {"every": "P99999999Y", "first_due": "2025-01-01"}),
        ):
            data = {
                "id": oid,
                "title": oid,
                "applies_to": "site",
                "owner": "pic",
                "schedule": schedule,
                "remind_days": [],
            }
            conn.execute(
                insert(t.obligations).values(
                    id=oid, data=data, tracked_from=dt.date(2024, 1, 1), updated_at=now
                )
            )
    listing = list_deadlines(cal_store, principal=OPERATOR, site="main", now=now)
    assert any(o.obligation_id == "dea-registration" for o in listing.occurrences)
    assert [u.split(":")[0] for u in listing.unusable] == ["absurd-every", "absurd-rrule"]
    assert build_digest(cal_store, principal=OPERATOR, site="main", now=now).site == "main"
    assert export_ics(cal_store, principal=OPERATOR, site="main", now=now).events > 0


def test_horizons_and_dates_are_bounded(cal_store: Store) -> None:
    now = dt.datetime(2026, 11, 27, 15, tzinfo=dt.UTC)
    with pytest.raises(InvalidInput, match="at most 3660 days") as caught:
        export_ics(cal_store, principal=OPERATOR, site="main", days=99_999_999, now=now)
    assert caught.value.field == "days"
    with pytest.raises(InvalidInput, match="at most 3660 days"):
        list_deadlines(cal_store, principal=OPERATOR, within=10**9, now=now)
    for bad in (dt.date(9999, 12, 31), dt.date(1, 1, 1)):
        with pytest.raises(InvalidInput, match="outside 1900-2199") as caught:
            list_deadlines(cal_store, principal=OPERATOR, as_of=bad)
        assert caught.value.field == "as_of"
        with pytest.raises(InvalidInput, match="outside 1900-2199"):
            build_digest(cal_store, principal=OPERATOR, site="main", as_of=bad)
        with pytest.raises(InvalidInput, match="outside 1900-2199"):
            export_ics(cal_store, principal=OPERATOR, site="main", as_of=bad)


# finding 10: a completion date before the obligation could exist
def test_completion_dates_far_before_the_due_date_are_refused(cal_store: Store) -> None:
    jdoe = who(cal_store, "jdoe")
    now = dt.datetime(2027, 1, 10, 12)
    for on in (dt.date(1, 1, 1), dt.date(2021, 1, 1)):
        with pytest.raises(InvalidInput, match="more than 5 years before the due date 2027-01-04") as caught:
            complete(cal_store, "form-106-loss@main@2027-01-04", principal=jdoe, on=on, evidence="x", now=now)
        assert caught.value.field == "on"
    done = complete(
        cal_store,
        "form-106-loss@main@2027-01-04",
        principal=jdoe,
        on=dt.date(2026, 12, 20),
        evidence="x",
        now=now,
    )
    assert done.completed_on == dt.date(2026, 12, 20)
