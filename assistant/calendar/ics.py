"""RFC 5545 export: one all-day VEVENT per occurrence in a horizon, VALARMs from the reminder days.

UIDs are the occurrence ids (stable across exports, so a re-import updates rather than duplicates
events in Outlook and Google Calendar). icalendar writes CRLF line endings and folds long lines.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from icalendar import Alarm, Calendar, Event

from assistant.calendar.models import Occurrence
from assistant.calendar.service import CalendarData, collect, load_calendar, site_today
from assistant.errors import InvalidInput, NotFound
from assistant.store import Store

PRODID = "-//rxdesk//Compliance calendar//EN"
DEFAULT_ICS_DAYS = 3 * 365
MAX_ALARMS = 5


def build_ics(occurrences: list[Occurrence], *, name: str, stamp: datetime | None = None) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    stamp = stamp or datetime.now(UTC).replace(microsecond=0)
    for o in occurrences:
        ev = Event()
        ev.add("uid", f"{o.id}@rxdesk")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", o.due)  # a date: serialized as DTSTART;VALUE=DATE
        ev.add("dtend", o.due + timedelta(days=1))
        ev.add("summary", o.title)
        desc = [f"Owner: {o.owner}"]
        if o.citation:
            desc.append(f"Citation: {o.citation}")
        if o.evidence:
            desc.append(f"Evidence to keep: {o.evidence}")
        desc.append(f"Complete with: rxdesk deadlines complete {o.id} --on DATE --evidence TEXT --as STAFF")
        ev.add("description", "\n".join(desc))
        ev.add("categories", ["Compliance"])
        ev.add("transp", "TRANSPARENT")
        for days in sorted(set(o.remind_days), reverse=True)[:MAX_ALARMS]:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f"{o.title} due {o.due.isoformat()}")
            alarm.add("trigger", timedelta(days=-days))
            ev.add_component(alarm)
        cal.add_component(ev)
    return cal.to_ical()


def export_ics(
    store: Store,
    out: Path,
    *,
    site: str,
    as_of: date | None = None,
    days: int = DEFAULT_ICS_DAYS,
    now: datetime | None = None,
    cal: CalendarData | None = None,
) -> int:
    """Write the site's occurrences (overdue + the next ``days`` days) to ``out``; returns the count."""
    cal = cal or load_calendar(store)
    if site not in cal.sites:
        raise NotFound(f"unknown site '{site}' (known: {', '.join(cal.sites) or 'none yet'})")
    if days < 1:
        raise InvalidInput("--days must be at least 1")
    today = as_of or site_today(cal.tz(site), now)
    occs = collect(cal, site=site, as_of=today, within=days, expand=True)
    data = build_ics(occs, name=f"{cal.sites[site].name} compliance")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return len(occs)
