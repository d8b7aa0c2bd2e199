"""PA tracking as deadlines: follow-ups (24 h / 72 h), renewal reminders, Part D redetermination."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from assistant import audit
from assistant.calendar import pa_tracking
from assistant.calendar.deadlines import list_deadlines
from assistant.calendar.pa_rules import redetermination_deadline
from assistant.errors import InvalidInput, NotFound
from assistant.principal import SCHEDULER, Principal
from assistant.roles import Role
from assistant.store import Store
from tests.conftest import who

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
TECH = Principal(id="bsmith", role=Role.TECHNICIAN, name="Bob Smith", site="main")


def test_follow_up_windows_from_the_submitted_time(cal_store: Store):
    # 2026-11-26 22:30 in Chicago (CST) = 2026-11-27 04:30 UTC
    exp = pa_tracking.track(
        cal_store,
        patient_ref="TKN-001",
        drug="Ozempic 1 mg",
        submitted=datetime(2026, 11, 26, 22, 30),
        urgency="expedited",
        site="main",
        principal=who(cal_store, "bsmith"),
        now=NOW,
    )
    (fu,) = exp.deadlines
    assert fu.id == f"pa:{exp.id}:followup@2026-11-27"  # site-local date of submitted + 24 h
    assert fu.due_at == datetime(2026, 11, 28, 4, 30, tzinfo=UTC)
    assert fu.owner == "bsmith" and "TKN-001" not in fu.title
    std = pa_tracking.track(
        cal_store,
        principal=TECH,
        patient_ref="TKN-002",
        drug="Humira",
        submitted=datetime(2026, 11, 26, 9, 0, tzinfo=timezone(timedelta(hours=-6))),
        urgency="standard",
        now=NOW,
    )
    assert std.deadlines[0].due == date(2026, 11, 29) and std.id != exp.id
    entry = audit.entries(cal_store, action="pa.track")[0]
    assert entry.patient_ref == "TKN-002" and "Humira" not in str(entry.detail)


def test_approval_gives_renewal_reminder_30_days_before_end(cal_store: Store):
    pa = pa_tracking.track(
        cal_store,
        principal=TECH,
        patient_ref="TKN-9",
        drug="Ozempic",
        submitted=datetime(2026, 11, 20, 10, 0),
        urgency="standard",
    )
    upd = pa_tracking.update_status(
        cal_store, "TKN-9", principal=TECH, status="approved", until=date(2027, 11, 20), now=NOW
    )
    assert [o.id for o in upd.deadlines] == [f"pa:{pa.id}:renewal@2027-10-21"]
    dl = list_deadlines(cal_store, principal=SCHEDULER, as_of=date(2027, 10, 1), within=30)
    assert f"pa:{pa.id}:renewal@2027-10-21" in [o.id for o in dl.occurrences]
    assert not [
        o for o in dl.occurrences if "followup" in o.id and pa.id in o.id
    ]  # decision in: no follow-up


def test_part_d_denial_redetermination_deadline(cal_store: Store):
    pa = pa_tracking.track(
        cal_store,
        principal=TECH,
        patient_ref="TKN-7",
        drug="Ozempic",
        submitted=datetime(2026, 11, 20, 10, 0),
        urgency="expedited",
    )
    upd = pa_tracking.update_status(
        cal_store, pa.id, principal=TECH, status="denied", notice_date=date(2026, 11, 25), now=NOW
    )
    (red,) = upd.deadlines
    # 60 days from receipt; receipt presumed 5 days after the notice date
    assert red.due == date(2026, 11, 25) + timedelta(days=65) == date(2027, 1, 29)
    assert red.id == f"pa:{pa.id}:redetermination@2027-01-29"
    assert "423.582" in (red.citation or "")
    assert redetermination_deadline(date(2026, 12, 31)) == date(2027, 3, 6)


def test_pa_input_errors(cal_store: Store):
    kw = {"drug": "X", "submitted": datetime(2026, 11, 20, 10, 0), "urgency": "standard"}
    with pytest.raises(InvalidInput, match="not a patient name"):
        pa_tracking.track(cal_store, principal=TECH, patient_ref="Jane Roe", **kw)
    with pytest.raises(InvalidInput, match="urgency"):
        pa_tracking.track(
            cal_store, principal=TECH, patient_ref="T1", drug="X", submitted=kw["submitted"], urgency="urgent"
        )
    with pytest.raises(NotFound):
        pa_tracking.update_status(cal_store, "NOPE", principal=TECH, status="approved")
    pa_tracking.track(cal_store, principal=TECH, patient_ref="T1", **kw)
    pa_tracking.track(cal_store, principal=TECH, patient_ref="T1", **kw)
    with pytest.raises(InvalidInput, match="has 2 PAs"):
        pa_tracking.update_status(cal_store, "T1", principal=TECH, status="approved")
    with pytest.raises(InvalidInput, match="end date applies to an approval"):
        pa_tracking.update_status(
            cal_store, "PA-0001", principal=TECH, status="denied", until=date(2027, 1, 1)
        )
