"""Daily digest (text + valid Block Kit) and the ICS export (parsed back with icalendar)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from icalendar import Calendar

from assistant.calendar.completions import complete
from assistant.calendar.digest import build_digest as _build_digest
from assistant.calendar.ics import export_ics as _export_ics
from assistant.calendar.models import Digest, Occurrence
from assistant.calendar.phrases import EMPTY_DIGEST as EMPTY_STATE
from assistant.cli.render import digest_text
from assistant.principal import SCHEDULER
from assistant.store import Store
from integrations.slack.blocks import MAX_BLOCKS, digest_blocks
from tests.conftest import who


def build_digest(store: Store, **kw):  # type: ignore[no-untyped-def]
    return _build_digest(store, principal=SCHEDULER, **kw)


def export_ics(store: Store, out: Path, **kw) -> int:  # type: ignore[no-untyped-def]
    ics = _export_ics(store, principal=SCHEDULER, **kw)
    out.write_bytes(ics.data)
    return ics.events


def _valid_block_kit(blocks: list[dict]) -> None:
    assert 0 < len(blocks) <= MAX_BLOCKS
    for b in blocks:
        assert b["type"] in {"header", "section", "divider", "context"}
        if b["type"] == "header":
            assert b["text"]["type"] == "plain_text" and 0 < len(b["text"]["text"]) <= 150
        if b["type"] == "section":
            assert b["text"]["type"] == "mrkdwn" and 0 < len(b["text"]["text"]) <= 3000


def test_digest_sections_reminders_and_completed(cal_store: Store, settings):  # type: ignore[no-untyped-def]
    complete(
        cal_store,
        "biennial-inventory@main@2026-03-01",
        principal=who(cal_store, "jdoe"),
        on=date(2026, 3, 2),
        evidence="Signed inventory",
    )
    d = build_digest(cal_store, site="main", as_of=date(2026, 3, 3))
    assert d.site == "main" and d.date == date(2026, 3, 3)
    assert [o.id for o in d.completed_recently] == ["biennial-inventory@main@2026-03-01"]
    assert d.completed_recently[0].status == "done" and d.completed_recently[0].completed_by == "jdoe"
    # month-end check due 2026-03-31 is not in reminders; leap-audit 2026-02-28 is overdue
    assert "leap-audit@main@2026-02-28" in [o.id for o in d.overdue]
    assert all(o.days_left in o.remind_days for o in d.reminders)
    d2 = build_digest(cal_store, site="main", as_of=date(2026, 3, 28))
    assert "month-end-check@main@2026-03-31" in [o.id for o in d2.reminders]  # 3 days ahead
    assert "month-end-check@main@2026-03-31" in [o.id for o in d2.due_soon]
    assert "Compliance digest: Main Street Pharmacy, 2026-03-28" in digest_text(d2)
    assert "owner technician" in digest_text(d2)
    _valid_block_kit(digest_blocks(d2))
    headers = [b["text"]["text"] for b in digest_blocks(d2) if b["type"] == "header"]
    assert any(h.startswith("Overdue") for h in headers) and any(
        h.startswith("Due this week") for h in headers
    )
    body = "\n".join(b["text"]["text"] for b in digest_blocks(d2) if b["type"] == "section")
    assert "2026-03-31" in body and "`technician`" in body and "Internal policy" in body


def test_digest_empty_state_is_encouraging(cal_store: Store, settings):  # type: ignore[no-untyped-def]
    # west site on a quiet day: complete the overdue items first
    d = build_digest(cal_store, site="west", as_of=date(2026, 1, 10))
    assert not d.overdue and not d.due_soon
    assert EMPTY_STATE in digest_text(d)
    assert any(b["type"] == "section" and EMPTY_STATE in b["text"]["text"] for b in digest_blocks(d))
    _valid_block_kit(digest_blocks(d))


def test_digest_uses_site_timezone_by_default(cal_store: Store):
    from datetime import UTC, datetime

    d = build_digest(cal_store, site="west", now=datetime(2027, 1, 4, 6, 30, tzinfo=UTC))
    assert d.date == date(2027, 1, 3)  # 22:30 in Los Angeles


def test_block_kit_overflow_is_summarized():
    many = [
        Occurrence(
            id=f"x{i}@main@2026-01-01",
            obligation_id=f"x{i}",
            title="T" * 400,
            site="main",
            owner="pic",
            due=date(2026, 1, 1),
            status="overdue",
            days_left=-3,
            citation="C" * 200,
        )
        for i in range(200)
    ]
    d = Digest(
        site="main",
        site_name="S" * 300,
        date=date(2026, 1, 4),
        overdue=many,
        due_soon=many,
        reminders=many,
        completed_recently=many,
    )
    blocks = digest_blocks(d)
    _valid_block_kit(blocks)
    assert "and 185 more" in "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")


def test_ics_round_trip(cal_store: Store, tmp_path: Path):
    out = tmp_path / "main.ics"
    n = export_ics(cal_store, out, site="main", as_of=date(2026, 1, 2), days=3 * 365)
    raw = out.read_bytes()
    assert raw.count(b"\r\n") > 10 and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    cal = Calendar.from_ical(raw)
    assert str(cal["PRODID"]).startswith("-//rxdesk//") and str(cal["VERSION"]) == "2.0"
    events = cal.walk("VEVENT")
    assert len(events) == n > 0
    by_uid = {str(e["UID"]): e for e in events}
    assert len(by_uid) == n  # UIDs unique
    dea = by_uid["dea-registration@main@2027-05-31@rxdesk"]
    assert dea.decoded("DTSTART") == date(2027, 5, 31)
    assert b"DTSTART;VALUE=DATE:20270531" in raw
    triggers = sorted(a.decoded("TRIGGER") for a in dea.walk("VALARM"))
    assert triggers == [timedelta(days=-90), timedelta(days=-60), timedelta(days=-30)]
    assert "21 CFR 1301.13" in str(dea["DESCRIPTION"])
    leap = sorted(e.decoded("DTSTART") for e in events if str(e["UID"]).startswith("leap-audit@"))
    assert leap == [date(2026, 2, 28), date(2027, 2, 28), date(2028, 2, 29)]
    # stable UIDs across exports
    out2 = tmp_path / "again.ics"
    export_ics(cal_store, out2, site="main", as_of=date(2026, 1, 2), days=3 * 365)
    assert {str(e["UID"]) for e in Calendar.from_ical(out2.read_bytes()).walk("VEVENT")} == set(by_uid)
