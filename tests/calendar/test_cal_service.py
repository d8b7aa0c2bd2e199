"""Deadlines service against real SQLite and PostgreSQL: listing, completions, credentials, time zones."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from assistant import audit
from assistant.calendar.completions import complete
from assistant.calendar.deadlines import list_deadlines
from assistant.calendar.library import import_library
from assistant.calendar.series import NO_OBLIGATIONS
from assistant.errors import InvalidInput, NotFound
from assistant.principal import OPERATOR, SCHEDULER
from assistant.staff import get_staff
from assistant.store import Store
from tests.conftest import who

# completions are recorded after the fact: these tests run "later" than the dates they complete
LATER = datetime(2030, 1, 1, 12, tzinfo=UTC)


def _ids(dl) -> list[str]:  # type: ignore[no-untyped-def]
    return [o.id for o in dl.occurrences]


def test_no_obligations_yet_says_so(store: Store):
    dl = list_deadlines(store, principal=SCHEDULER, as_of=date(2026, 12, 1))
    assert dl.occurrences == [] and dl.note == NO_OBLIGATIONS


def test_listing_shape_status_and_order(cal_store: Store):
    dl = list_deadlines(cal_store, principal=SCHEDULER, site="main", as_of=date(2027, 5, 28), within=30)
    assert dl.as_of == date(2027, 5, 28)
    statuses = [o.status for o in dl.occurrences]
    # overdue first, then by due date
    assert statuses == sorted(statuses, key=lambda s: s != "overdue")
    due_after = [o.due for o in dl.occurrences if o.status != "overdue"]
    assert due_after == sorted(due_after)
    dea = next(o for o in dl.occurrences if o.obligation_id == "dea-registration")
    assert dea.id == "dea-registration@main@2027-05-31"
    assert (dea.status, dea.days_left, dea.owner, dea.citation) == ("due_soon", 3, "pic", "21 CFR 1301.13")
    assert dea.evidence == "DEA registration certificate" and dea.remind_days == [90, 60, 30]
    # the biennial inventory (first due 2026-03-01) was never completed: overdue
    inv = next(o for o in dl.occurrences if o.obligation_id == "biennial-inventory")
    assert (inv.status, inv.due) == ("overdue", date(2026, 3, 1))
    # within limits the horizon, overdue always included
    assert all(o.status == "overdue" or o.due <= date(2027, 6, 27) for o in dl.occurrences)


def test_status_boundaries(cal_store: Store):
    def status_on(day: date) -> str:
        dl = list_deadlines(cal_store, principal=SCHEDULER, site="main", as_of=day, within=400)
        return next(o.status for o in dl.occurrences if o.id == "form-106-loss@main@2027-01-04")

    assert status_on(date(2026, 12, 27)) == "upcoming"  # 8 days
    assert status_on(date(2026, 12, 28)) == "due_soon"  # 7 days
    assert status_on(date(2027, 1, 4)) == "due_soon"  # 0 days
    assert status_on(date(2027, 1, 5)) == "overdue"


def test_default_horizon_is_a_year_and_within_narrows(cal_store: Store):
    year = list_deadlines(cal_store, principal=SCHEDULER, site="main", as_of=date(2026, 6, 1))
    assert max(o.due for o in year.occurrences) <= date(2027, 6, 1)
    assert "dea-registration@main@2027-05-31" in _ids(year)
    week = list_deadlines(cal_store, principal=SCHEDULER, site="main", as_of=date(2026, 6, 1), within=7)
    assert "dea-registration@main@2027-05-31" not in _ids(week)


def test_leap_day_series_and_month_end_series_in_listing(cal_store: Store):
    dl = list_deadlines(cal_store, principal=SCHEDULER, site="west", as_of=date(2026, 1, 2), within=800)
    leap = [o.due for o in dl.occurrences if o.obligation_id == "leap-audit"]
    assert leap == [date(2026, 2, 28), date(2027, 2, 28), date(2028, 2, 29)]
    month_end = [o.due for o in dl.occurrences if o.obligation_id == "month-end-check"][:4]
    assert month_end == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]


def test_before_tracking_nothing_is_overdue_and_missed_ones_collapse(store: Store, library_file: Path):
    import_library(store, library_file, principal=OPERATOR, since=date(2026, 11, 1))
    dl = list_deadlines(store, principal=SCHEDULER, site="main", as_of=date(2026, 11, 15), within=0)
    # DEA 2024-05-31 and the leap-day audit 2026-02-28 predate tracking: not overdue
    assert not [
        o for o in dl.occurrences if o.status == "overdue" and o.obligation_id != "biennial-inventory"
    ]
    # rolling series before tracking: assumed done on time, so the inventory next falls due 2028-03-01
    later = list_deadlines(store, principal=SCHEDULER, site="main", as_of=date(2026, 11, 15), within=1200)
    assert "biennial-inventory@main@2028-03-01" in _ids(later)
    # monthly month-end check missed three times since tracking began: one overdue row, missed=2
    feb = list_deadlines(store, principal=SCHEDULER, site="main", as_of=date(2027, 2, 1), within=0)
    rows = [o for o in feb.occurrences if o.obligation_id == "month-end-check"]
    assert len(rows) == 1 and rows[0].due == date(2027, 1, 31) and rows[0].missed == 2


def test_site_and_owner_filters(cal_store: Store):
    dl = list_deadlines(cal_store, principal=SCHEDULER, site="west", as_of=date(2026, 6, 1))
    assert {o.site for o in dl.occurrences} == {"west"}
    pic = list_deadlines(cal_store, principal=SCHEDULER, owner="pic", as_of=date(2026, 6, 1))
    assert pic.occurrences and {o.owner for o in pic.occurrences} == {"pic"}
    jdoe = list_deadlines(cal_store, principal=SCHEDULER, owner="jdoe", as_of=date(2026, 6, 1), within=400)
    ids = _ids(jdoe)
    assert "cred:jdoe:pharmacist_license@2027-03-31" in ids and "pharmacist-ce@jdoe@2026-11-30" in ids
    by_role = list_deadlines(
        cal_store, principal=SCHEDULER, owner="pharmacist", as_of=date(2026, 6, 1), within=400
    )
    assert "cred:jdoe:pharmacist_license@2027-03-31" in _ids(by_role)
    with pytest.raises(NotFound, match="unknown site 'nowhere'"):
        list_deadlines(cal_store, principal=SCHEDULER, site="nowhere")


def test_staff_credentials_are_deadlines_with_lead_days_per_type(cal_store: Store):
    dl = list_deadlines(cal_store, principal=SCHEDULER, as_of=date(2026, 12, 1), within=120)
    occ = {o.id: o for o in dl.occurrences}
    lic = occ["cred:jdoe:pharmacist_license@2027-03-31"]
    assert lic.remind_days == [120, 60, 30] and lic.owner == "jdoe" and lic.kind == "credential"
    assert lic.title == "Pharmacist license renewal: Jane Doe"  # the mapped obligation's title
    assert lic.citation == "State pharmacy practice act"
    assert occ["cred:jdoe:bls@2026-12-15"].remind_days == [60, 30]  # the default entry
    assert "cred:bsmith:ptcb_cpht@2027-01-31" in occ
    # the recorded license expiry replaces the default 2-yearly pharmacist-license series for jdoe
    assert not [o for o in dl.occurrences if o.obligation_id == "pharmacist-license"]


def test_credential_renewal_sets_new_expiry(cal_store: Store, settings):  # type: ignore[no-untyped-def]
    c = complete(
        cal_store,
        "cred:jdoe:pharmacist_license@2027-03-31",
        on=date(2027, 2, 10),
        principal=who(cal_store, "jdoe"),
        now=LATER,
        evidence="Board verification printout",
        new_expiry=date(2029, 3, 31),
    )
    assert c.new_expiry == date(2029, 3, 31)
    lic = next(x for x in get_staff(cal_store, "jdoe").credentials if x.type == "pharmacist_license")
    assert lic.expires == date(2029, 3, 31)
    dl = list_deadlines(cal_store, principal=SCHEDULER, as_of=date(2027, 3, 1), within=800)
    assert "cred:jdoe:pharmacist_license@2029-03-31" in _ids(dl)
    assert "cred:jdoe:pharmacist_license@2027-03-31" not in _ids(dl)
    assert audit.entries(cal_store, action="staff.credential_renewed")
    with pytest.raises(InvalidInput, match="new expiry date applies to credential"):
        complete(
            cal_store,
            "form-106-loss@main@2027-01-04",
            on=date(2027, 1, 2),
            principal=who(cal_store, "jdoe"),
            now=LATER,
            evidence="x",
            new_expiry=date(2030, 1, 1),
        )


def test_fixed_completion_before_due_date_keeps_the_calendar(cal_store: Store, settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    cert = tmp_path / "dea-cert.pdf"
    cert.write_bytes(b"%PDF-1.4 fake certificate")
    c = complete(
        cal_store,
        "dea-registration@main@2027-05-31",
        on=date(2027, 4, 15),
        principal=who(cal_store, "jdoe"),
        now=LATER,
        evidence_file=cert,
    )
    assert c.evidence_sha256 == hashlib.sha256(b"%PDF-1.4 fake certificate").hexdigest()
    stored = settings.files_dir / c.evidence_file
    assert stored.read_bytes() == cert.read_bytes()
    assert c.next_due is None
    dl = list_deadlines(
        cal_store, principal=SCHEDULER, site="main", as_of=date(2027, 4, 20), within=3 * 366 + 60
    )
    dea = [o.due for o in dl.occurrences if o.obligation_id == "dea-registration"]
    assert dea == [date(2030, 5, 31)]  # fixed calendar: next is still May 31
    entry = audit.entries(cal_store, action="calendar.complete")[0]
    assert entry.actor == "jdoe" and entry.target == "dea-registration@main@2027-05-31"
    assert entry.detail["evidence_sha256"] == c.evidence_sha256 and entry.detail["late_days"] == 0
    with pytest.raises(InvalidInput, match="already completed on 2027-04-15"):
        complete(
            cal_store,
            "dea-registration@main@2027-05-31",
            on=date(2027, 4, 16),
            principal=who(cal_store, "jdoe"),
            now=LATER,
            evidence="again",
        )


def test_fixed_completion_after_due_date_clears_overdue(cal_store: Store, settings):  # type: ignore[no-untyped-def]
    before = list_deadlines(cal_store, principal=SCHEDULER, site="main", as_of=date(2027, 6, 10), within=0)
    assert "dea-registration@main@2027-05-31" in _ids(before)
    c = complete(
        cal_store,
        "dea-registration@main@2027-05-31",
        on=date(2027, 6, 9),
        principal=who(cal_store, "bsmith"),
        now=LATER,
        evidence="Renewed online, confirmation 123",
    )
    assert audit.entries(cal_store, action="calendar.complete")[0].detail["late_days"] == 9
    after = list_deadlines(cal_store, principal=SCHEDULER, site="main", as_of=date(2027, 6, 10), within=0)
    assert "dea-registration@main@2027-05-31" not in _ids(after)
    assert c.completed_by == "bsmith"


@pytest.mark.parametrize(
    ("on", "next_due"),
    [(date(2026, 2, 20), date(2028, 2, 20)), (date(2026, 3, 10), date(2028, 3, 10))],
    ids=["before-due", "after-due"],
)
def test_rolling_next_due_counts_from_the_completion_date(
    cal_store: Store, settings, on: date, next_due: date
):  # type: ignore[no-untyped-def]
    c = complete(
        cal_store,
        "biennial-inventory@main@2026-03-01",
        on=on,
        principal=who(cal_store, "jdoe"),
        now=LATER,
        evidence="Signed inventory, close of business",
    )
    assert c.next_due == next_due
    dl = list_deadlines(cal_store, principal=SCHEDULER, site="main", as_of=on, within=3 * 366)
    inv = [o for o in dl.occurrences if o.obligation_id == "biennial-inventory"]
    assert inv[0].id == f"biennial-inventory@main@{next_due.isoformat()}"
    assert inv[0].status == "upcoming"
    # the other site's series is independent
    west = list_deadlines(cal_store, principal=SCHEDULER, site="west", as_of=on, within=10)
    assert "biennial-inventory@west@2026-03-01" in _ids(west)


def test_rolling_month_end_completion_clamps(cal_store: Store, settings, library_file: Path):  # type: ignore[no-untyped-def]
    library_file.write_text(
        library_file.read_text().replace(
            "{every: P2Y, first_due: 2026-03-01}", "{every: P6M, first_due: 2026-03-01}"
        )
    )
    import_library(cal_store, library_file, principal=OPERATOR)
    c = complete(
        cal_store,
        "biennial-inventory@main@2026-03-01",
        on=date(2026, 8, 31),
        principal=who(cal_store, "jdoe"),
        now=LATER,
        evidence="done",
    )
    assert c.next_due == date(2027, 2, 28)
    with pytest.raises(InvalidInput, match="projected date"):
        complete(
            cal_store,
            "biennial-inventory@main@2027-08-28",
            on=date(2027, 8, 1),
            principal=who(cal_store, "jdoe"),
            now=LATER,
            evidence="x",
        )


def test_completion_input_errors(cal_store: Store, settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    kw = {"on": date(2027, 1, 1), "principal": who(cal_store, "jdoe"), "now": LATER}
    with pytest.raises(InvalidInput, match="what proves it was done"):
        complete(cal_store, "form-106-loss@main@2027-01-04", **kw)
    with pytest.raises(NotFound, match="no deadline with the id"):
        complete(cal_store, "form-106-loss@main@2027-01-05", evidence="x", **kw)
    with pytest.raises(InvalidInput, match="not an occurrence id"):
        complete(cal_store, "form-106-loss", evidence="x", **kw)
    with pytest.raises(InvalidInput, match="evidence file not found"):
        complete(cal_store, "form-106-loss@main@2027-01-04", evidence_file=tmp_path / "nope.pdf", **kw)
    assert not audit.entries(cal_store, action="calendar.complete")


def test_today_is_the_sites_date_across_dst_and_time_zones(cal_store: Store):
    # 2027-01-04 05:30 UTC: still Jan 3 in Chicago and Los Angeles -> Form 106 due tomorrow (1 day)
    now = datetime(2027, 1, 4, 5, 30, tzinfo=UTC)
    dl = list_deadlines(cal_store, principal=SCHEDULER, now=now, within=2)
    form = {o.site: o for o in dl.occurrences if o.obligation_id == "form-106-loss"}
    assert form["main"].days_left == 1 and form["west"].days_left == 1
    assert dl.as_of == date(2027, 1, 3)
    # 06:30 UTC: 00:30 in Chicago (Jan 4: due today) but 22:30 Jan 3 in Los Angeles
    dl = list_deadlines(cal_store, principal=SCHEDULER, now=datetime(2027, 1, 4, 6, 30, tzinfo=UTC), within=2)
    form = {o.site: o for o in dl.occurrences if o.obligation_id == "form-106-loss"}
    assert form["main"].days_left == 0 and form["west"].days_left == 1
    # DST start (2026-03-08): 05:30 UTC on Mar 9 is already Mar 9 in Chicago (CDT, UTC-5)
    dl = list_deadlines(
        cal_store, principal=SCHEDULER, site="main", now=datetime(2026, 3, 9, 5, 30, tzinfo=UTC), within=0
    )
    assert dl.as_of == date(2026, 3, 9)
    assert next(o for o in dl.occurrences if o.obligation_id == "biennial-inventory").days_left == -8


def test_daily_series_show_only_their_next_date_unless_expanded(cal_store: Store, library_file: Path):
    daily = (
        "  - id: temp-log\n"
        "    title: Fridge temperature log\n"
        "    owner: technician\n"
        "    citation: CDC storage toolkit\n"
        "    schedule: {rrule: FREQ=DAILY, start: 2026-01-01}\n"
        "    remind_days: [0]\n"
    )
    library_file.write_text(
        library_file.read_text().replace("credential_reminders:", daily + "credential_reminders:")
    )
    import_library(cal_store, library_file, principal=OPERATOR, since=date(2026, 1, 1))
    dl = list_deadlines(cal_store, principal=SCHEDULER, site="main", as_of=date(2026, 1, 10), within=30)
    rows = [o for o in dl.occurrences if o.obligation_id == "temp-log"]
    # one overdue row (yesterday; 7 earlier days missed) and today's
    assert [(o.due, o.status, o.missed) for o in rows] == [
        (date(2026, 1, 9), "overdue", 8),
        (date(2026, 1, 10), "due_soon", 0),
    ]
    full = list_deadlines(
        cal_store, principal=SCHEDULER, site="main", as_of=date(2026, 1, 10), within=30, expand=True
    )
    assert len([o for o in full.occurrences if o.obligation_id == "temp-log"]) == 1 + 31


def test_completion_dated_in_the_future_is_refused(cal_store: Store, settings):  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="is in the future"):
        complete(
            cal_store,
            "form-106-loss@main@2027-01-04",
            on=date(2026, 12, 1),
            principal=who(cal_store, "jdoe"),
            evidence="filed",
            now=datetime(2026, 11, 30, 23, 30, tzinfo=UTC),  # still Nov 30 in Chicago
        )
    assert not audit.entries(cal_store, action="calendar.complete")


def test_import_cutoff_applies_to_calendar_rules_not_to_written_deadlines(  # type: ignore[no-untyped-def]
    staffed_store: Store, library_file: Path
):
    # imported "today" (2026-11-26 in Chicago) with no --since: a fresh install
    import_library(staffed_store, library_file, principal=OPERATOR, since=date(2026, 11, 26))
    dl = list_deadlines(staffed_store, principal=SCHEDULER, site="main", as_of=date(2026, 11, 26), within=30)
    overdue = {o.obligation_id: o.id for o in dl.occurrences if o.status == "overdue"}
    # the biennial inventory was due 2026-03-01 and nobody recorded it: that is overdue
    assert overdue.get("biennial-inventory") == "biennial-inventory@main@2026-03-01"
    # the month-end rule's past dates are history from before rxdesk, not alarms
    assert "month-end-check" not in overdue and "dea-registration" not in overdue
