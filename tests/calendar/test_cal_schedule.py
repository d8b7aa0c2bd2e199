"""Pure recurrence: month ends, leap days, rolling durations, RRULE validation, site 'today' across DST."""

from __future__ import annotations

import calendar as pycal
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.calendar.schedule import (
    add_duration,
    fixed_dates,
    next_rolling_due,
    parse_duration,
    validate_rrule,
)
from assistant.calendar.series import site_today


def test_yearly_from_leap_day_clamps_to_feb_28_and_returns_to_feb_29():
    got = fixed_dates("FREQ=YEARLY", date(2024, 2, 29), date(2024, 1, 1), date(2032, 12, 31))
    assert got == [
        date(2024, 2, 29),
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
        date(2029, 2, 28),
        date(2030, 2, 28),
        date(2031, 2, 28),
        date(2032, 2, 29),
    ]


def test_monthly_from_the_31st_never_skips_a_month_and_never_drifts():
    got = fixed_dates("FREQ=MONTHLY", date(2026, 1, 31), date(2026, 1, 1), date(2026, 12, 31))
    assert len(got) == 12
    assert got[:4] == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    assert got[-1] == date(2026, 12, 31)


def test_quarterly_and_every_three_years():
    assert fixed_dates(
        "FREQ=MONTHLY;INTERVAL=3", date(2025, 11, 30), date(2026, 1, 1), date(2026, 12, 31)
    ) == [
        date(2026, 2, 28),
        date(2026, 5, 30),
        date(2026, 8, 30),
        date(2026, 11, 30),
    ]
    assert fixed_dates("FREQ=YEARLY;INTERVAL=3", date(2024, 5, 31), date(2025, 1, 1), date(2031, 1, 1)) == [
        date(2027, 5, 31),
        date(2030, 5, 31),
    ]


def test_count_until_weekly_daily_and_literal_by_rules():
    assert fixed_dates("FREQ=MONTHLY;COUNT=2", date(2026, 1, 31), date(2026, 1, 1), date(2027, 1, 1)) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
    ]
    assert fixed_dates(
        "FREQ=YEARLY;UNTIL=20271231", date(2026, 6, 1), date(2026, 1, 1), date(2030, 1, 1)
    ) == [
        date(2026, 6, 1),
        date(2027, 6, 1),
    ]
    assert fixed_dates("FREQ=WEEKLY;INTERVAL=2", date(2026, 1, 1), date(2026, 3, 1), date(2026, 3, 31)) == [
        date(2026, 3, 12),
        date(2026, 3, 26),
    ]
    assert len(fixed_dates("FREQ=DAILY", date(2025, 1, 2), date(2026, 3, 1), date(2026, 3, 31))) == 31
    # BY* rules are RFC 5545 literal: last day of every month
    assert fixed_dates(
        "FREQ=MONTHLY;BYMONTHDAY=-1", date(2026, 1, 15), date(2026, 1, 1), date(2026, 3, 31)
    ) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
    ]
    # a window before the start is empty
    assert fixed_dates("FREQ=YEARLY", date(2026, 6, 1), date(2020, 1, 1), date(2026, 5, 31)) == []


@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    interval=st.integers(min_value=1, max_value=24),
)
def test_property_monthly_clamps_to_min_of_start_day_and_month_length(start: date, interval: int):
    rule = f"FREQ=MONTHLY;INTERVAL={interval}"
    got = fixed_dates(rule, start, start, start + timedelta(days=3 * 366))
    assert got and got[0] == start
    for k, d in enumerate(got):
        months = start.month - 1 + k * interval
        year, month = start.year + months // 12, months % 12 + 1
        assert (d.year, d.month) == (year, month)  # no month skipped
        assert d.day == min(start.day, pycal.monthrange(year, month)[1])


@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2080, 12, 31)),
    lo_off=st.integers(min_value=0, max_value=4000),
    span=st.integers(min_value=0, max_value=2000),
)
def test_property_windows_agree_with_full_enumeration(start: date, lo_off: int, span: int):
    lo = start + timedelta(days=lo_off)
    hi = lo + timedelta(days=span)
    full = fixed_dates("FREQ=YEARLY;INTERVAL=2", start, start, hi)
    assert fixed_dates("FREQ=YEARLY;INTERVAL=2", start, lo, hi) == [d for d in full if d >= lo]


def test_durations_and_rolling_month_end():
    assert parse_duration("P2Y").years == 2
    assert parse_duration("p6m").months == 6
    assert parse_duration("P2W").days == 14
    assert add_duration(date(2026, 1, 31), "P1M") == date(2026, 2, 28)
    assert add_duration(date(2024, 2, 29), "P1Y") == date(2025, 2, 28)
    assert add_duration(date(2024, 2, 29), "P1Y", 4) == date(2028, 2, 29)
    assert next_rolling_due(date(2026, 2, 20), "P2Y") == date(2028, 2, 20)
    assert next_rolling_due(date(2026, 8, 31), "P6M") == date(2027, 2, 28)
    for bad in ("2Y", "P", "P0Y", "PT5H", "P1.5Y", "every two years"):
        with pytest.raises(ValueError):
            parse_duration(bad)


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ("INTERVAL=2", "FREQ is required"),
        ("FREQ=HOURLY", "not supported"),
        ("FREQ=YEARLY;INTERVAL=0", "INTERVAL"),
        ("FREQ=YEARLY;DTSTART=20240101", "start"),
        ("FREQ=YEARLY;UNTIL=tomorrow", "UNTIL"),
        ("FREQ=YEARLY;BYMONTH=13", "RRULE"),
        ("FREQ=YEARLY;BOGUS", "NAME=VALUE"),
    ],
)
def test_rrule_validation_messages(rule: str, fragment: str):
    with pytest.raises(ValueError) as exc:
        validate_rrule(rule, date(2024, 1, 1))
    msg = str(exc.value)
    assert fragment in msg or (fragment == "RRULE" and "no dates" in msg)
    assert "\n" not in msg


def test_site_today_across_dst_changes():
    chicago = ZoneInfo("America/Chicago")
    # 2026-03-08: US DST starts. 05:30 UTC is 23:30 CST the day before...
    assert site_today(chicago, datetime(2026, 3, 8, 5, 30, tzinfo=UTC)) == date(2026, 3, 7)
    # ...and a day later the same UTC time is 00:30 CDT: already the next local day.
    assert site_today(chicago, datetime(2026, 3, 9, 5, 30, tzinfo=UTC)) == date(2026, 3, 9)
    # 2026-11-01: DST ends at 07:00 UTC. 05:30 UTC is 00:30 CDT on Nov 1; a day later it is 23:30 CST Nov 1.
    assert site_today(chicago, datetime(2026, 11, 1, 5, 30, tzinfo=UTC)) == date(2026, 11, 1)
    assert site_today(chicago, datetime(2026, 11, 2, 5, 30, tzinfo=UTC)) == date(2026, 11, 1)


def test_site_today_differs_between_time_zones():
    now = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert site_today(ZoneInfo("America/Los_Angeles"), now) == date(2026, 12, 31)
    assert site_today(ZoneInfo("Pacific/Kiritimati"), now) == date(2027, 1, 1)
    assert site_today(ZoneInfo("UTC"), now) == date(2026, 12, 31)
