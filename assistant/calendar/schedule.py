"""Pure recurrence: due dates of fixed-calendar, rolling and one-off schedules.

Month ends and leap days (a decision the RFC leaves to us): RFC 5545 says an instance that falls on
a date that does not exist (Feb 29 in a non-leap year, the 31st of a 30-day month) is *skipped*, so a
yearly rule started 2024-02-29 would next fall due in 2028 and a monthly rule started on the 31st
would skip seven months a year. For compliance deadlines that is never what the regulator means, so
simple MONTHLY/YEARLY rules (FREQ, INTERVAL, COUNT, UNTIL only) are computed from the anchor with
``relativedelta``, which *clamps* to the last day of a short month: 2024-02-29 yearly gives
2025-02-28, 2026-02-28, 2027-02-28, 2028-02-29; Jan 31 monthly gives Feb 28/29, Mar 31, Apr 30.
Each date is computed from the anchor (never chained), so a series never drifts off the month end.
Rules with BY* parts are taken literally via ``dateutil.rrule`` (write ``BYMONTHDAY=-1`` for "last
day of the month"). Rolling schedules add an ISO 8601 duration to the completion date, also with
``relativedelta`` (2026-01-31 + P1M = 2026-02-28).

All dates here are calendar dates: there is no time of day, so DST changes cannot move a due date;
"today" is decided by the caller in the site's time zone.
"""

from __future__ import annotations

import calendar as pycal
import re
from datetime import date, datetime, timedelta
from functools import lru_cache

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rrulestr

_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")
# Sane bounds for compliance schedules (anything outside is a typo or an attack, and used to break
# every listing with "year 1000002025 is out of range"): dates between these years, at most this
# long between two due dates, at most this many due dates in a year.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2199
MAX_PERIOD_YEARS = 25
MAX_PER_YEAR = 400
_SUB_DAILY = ("BYHOUR", "BYMINUTE", "BYSECOND")
_FREQS = {"YEARLY", "MONTHLY", "WEEKLY", "DAILY"}
_SIMPLE_PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST"}


def parse_duration(text: str) -> relativedelta:
    """An ISO 8601 date duration (``P2Y``, ``P6M``, ``P1Y6M``, ``P2W``, ``P90D``) as a relativedelta."""
    m = _DURATION.match(text.strip().upper()) if isinstance(text, str) else None
    if not m or not any(m.groups()):
        raise ValueError(f"'{text}' is not an ISO 8601 date duration like P2Y, P6M, P90D")
    years, months, weeks, days = (int(g or 0) for g in m.groups())
    if years == months == weeks == days == 0:
        raise ValueError(f"'{text}' is a zero duration")
    if years * 366 + months * 31 + weeks * 7 + days > MAX_PERIOD_YEARS * 366:
        raise ValueError(f"'{text}' is longer than {MAX_PERIOD_YEARS} years between due dates")
    return relativedelta(years=years, months=months, days=days + 7 * weeks)


def check_date(d: date, what: str = "date") -> None:
    """Raise ValueError unless ``d`` lies in the years a compliance calendar can mean."""
    if not EARLIEST_YEAR <= d.year <= LATEST_YEAR:
        raise ValueError(f"{what} {d.isoformat()} is outside {EARLIEST_YEAR}-{LATEST_YEAR}")


def add_months(d: date, months: int) -> date:
    """``d`` plus ``months``, clamped to the month end (same as relativedelta, several times faster)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    last = _MONTH_DAYS[month] if month != 2 else (29 if pycal.isleap(year) else 28)
    return date(year, month, d.day if d.day <= last else last)


_MONTH_DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


@lru_cache(maxsize=256)
def _duration_parts(every: str) -> tuple[int, int]:
    d = parse_duration(every)
    return d.years * 12 + d.months, d.days


def add_duration(start: date, every: str, times: int = 1) -> date:
    """``start`` plus ``times`` × ``every``, computed from ``start`` so month ends clamp without drift."""
    months, days = _duration_parts(every)
    return add_months(start, months * times) + timedelta(days=days * times)


def _parts(rule: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    body = rule.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    for item in body.split(";"):
        if not item.strip():
            continue
        if "=" not in item:
            raise ValueError(f"'{item}' is not NAME=VALUE")
        name, value = item.split("=", 1)
        parts[name.strip().upper()] = value.strip().upper()
    return parts


def _parse_until(value: str) -> date:
    try:
        return datetime.strptime(value[:8], "%Y%m%d").date()
    except ValueError:
        raise ValueError(f"UNTIL '{value}' is not a date like 20301231") from None


@lru_cache(maxsize=4096)
def validate_rrule(rule: str, start: date) -> None:
    """Raise ValueError (one line) unless ``rule`` is a usable date-level RRULE."""
    parts = _parts(rule)
    freq = parts.get("FREQ")
    if freq is None:
        raise ValueError("FREQ is required (YEARLY, MONTHLY, WEEKLY or DAILY)")
    if freq not in _FREQS:
        raise ValueError(f"FREQ={freq} is not supported (use YEARLY, MONTHLY, WEEKLY or DAILY)")
    if "DTSTART" in parts:
        raise ValueError("put the first date in 'start', not DTSTART inside the rule")
    if "INTERVAL" in parts and (not parts["INTERVAL"].isdigit() or int(parts["INTERVAL"]) < 1):
        raise ValueError(f"INTERVAL must be a positive integer, not '{parts['INTERVAL']}'")
    if "COUNT" in parts and (not parts["COUNT"].isdigit() or int(parts["COUNT"]) < 1):
        raise ValueError(f"COUNT must be a positive integer, not '{parts['COUNT']}'")
    if "UNTIL" in parts:
        _parse_until(parts["UNTIL"])
    sub_daily = [p for p in _SUB_DAILY if p in parts]
    if sub_daily:
        raise ValueError(f"{sub_daily[0]} is not supported: deadlines are calendar dates, not times of day")
    check_date(start, "start")
    step_days = {"YEARLY": 366, "MONTHLY": 31, "WEEKLY": 7, "DAILY": 1}[freq] * int(
        parts.get("INTERVAL", "1")
    )
    if step_days > MAX_PERIOD_YEARS * 366:
        raise ValueError(f"the next date after 'start' falls more than {MAX_PERIOD_YEARS} years later")
    try:
        r = _rrule(rule, start)
        begin = datetime.combine(start, datetime.min.time())
        first = r.after(begin, inc=True)
        second = r.after(first) if first is not None else None
    except (ValueError, TypeError, OverflowError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"not a valid RRULE: {msg}") from None
    if first is None and not _is_simple(parts):
        raise ValueError("the rule produces no dates on or after 'start'")
    for d in (first, second):
        if d is not None and (d.date() - start).days > MAX_PERIOD_YEARS * 366:
            raise ValueError(f"the next date after 'start' falls more than {MAX_PERIOD_YEARS} years later")
    year_end = begin + timedelta(days=366)
    for count, when in enumerate(r.xafter(begin, inc=True), start=1):
        if when > year_end:
            break
        if count > MAX_PER_YEAR:
            raise ValueError(f"the rule gives more than {MAX_PER_YEAR} dates a year")


@lru_cache(maxsize=4096)
def _rrule(rule: str, start: date) -> rrule:
    body = rule.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    return rrulestr(body, dtstart=datetime.combine(start, datetime.min.time()))  # type: ignore[return-value]


def _is_simple(parts: dict[str, str]) -> bool:
    return set(parts) <= _SIMPLE_PARTS


@lru_cache(maxsize=4096)
def _plan(rule: str) -> tuple[str, int, int | None, date | None, bool]:
    parts = _parts(rule)
    until = _parse_until(parts["UNTIL"]) if "UNTIL" in parts else None
    count = int(parts["COUNT"]) if "COUNT" in parts else None
    return parts["FREQ"], int(parts.get("INTERVAL", "1")), count, until, _is_simple(parts)


def fixed_dates(rule: str, start: date, lo: date, hi: date) -> list[date]:
    """Due dates of ``rule`` anchored on ``start`` with ``lo <= d <= hi`` (see the module doc)."""
    if hi < lo or hi < start:
        return []
    freq, interval, count, until, simple = _plan(rule)
    if until is not None:
        hi = min(hi, until)
    if not simple:
        r = _rrule(rule, start)
        lo_dt = datetime.combine(max(lo, start), datetime.min.time())
        hi_dt = datetime.combine(hi, datetime.min.time())
        out = []
        for when in r.xafter(lo_dt, inc=True):
            if when > hi_dt:
                break
            if not out or out[-1] != when.date():  # one due date per day, whatever the rule says
                out.append(when.date())
        return out
    out: list[date] = []
    if freq in ("DAILY", "WEEKLY"):
        step = interval * (7 if freq == "WEEKLY" else 1)
        k = max(0, (lo - start).days // step)
        while count is None or k < count:
            try:
                d = start + timedelta(days=step * k)
            except OverflowError:
                break
            if d > hi:
                break
            if d >= lo:
                out.append(d)
            k += 1
        return out
    step = interval * (12 if freq == "YEARLY" else 1)
    months_to_lo = (lo.year - start.year) * 12 + (lo.month - start.month)
    k = max(0, months_to_lo // step - 1)
    while count is None or k < count:
        try:
            d = add_months(start, step * k)
        except ValueError:  # past year 9999: nothing more to list
            break
        if d > hi:
            break
        if d >= lo:
            out.append(d)
        k += 1
    return out


def period_days(rule: str) -> int | None:
    """The fixed step in days of a simple DAILY/WEEKLY rule (None for monthly and longer or BY* rules)."""
    freq, interval, _count, _until, simple = _plan(rule)
    if freq == "DAILY":
        return interval if simple else 1
    if freq == "WEEKLY":
        return 7 * interval if simple else 7
    return None


def next_rolling_due(completed_on: date, every: str) -> date:
    """Rolling schedules: the next due date is the completion date plus ``every``."""
    return add_duration(completed_on, every)
