"""RFC 5545 export: one all-day VEVENT per occurrence in a horizon, VALARMs from the reminder days.

UIDs are the occurrence ids (stable across exports, so a re-import updates rather than duplicates
events in Outlook and Google Calendar). icalendar writes CRLF line endings and folds long lines.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from icalendar import Alarm, Calendar, Event
from pydantic import BaseModel, Field

from assistant.access import guarded
from assistant.calendar.models import Occurrence
from assistant.calendar.series import MAX_WINDOW_DAYS, CalendarData, collect, load_calendar, site_today
from assistant.errors import InvalidInput, NotFound
from assistant.principal import Principal
from assistant.roles import Action
from assistant.store import Store

PRODID = "-//rxdesk//Compliance calendar//EN"
DEFAULT_ICS_DAYS = 3 * 365
MAX_ICS_EVENTS = 20000  # calendar apps choke long before; a bigger file means a runaway rule
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
        desc.append(f"Record the completion in rxdesk with evidence (deadline id: {o.id})")
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


class IcsExport(BaseModel):
    site: str
    events: int
    data: bytes = Field(repr=False, exclude=True)


@guarded(Action.VIEW_DEADLINES, "calendar.ics")
def export_ics(
    store: Store,
    *,
    principal: Principal,
    site: str,
    as_of: date | None = None,
    days: int = DEFAULT_ICS_DAYS,
    now: datetime | None = None,
    cal: CalendarData | None = None,
) -> IcsExport:
    """The site's occurrences (overdue + the next ``days`` days) as an RFC 5545 calendar."""
    cal = cal or load_calendar(store)
    if site not in cal.sites:
        raise NotFound(f"unknown site '{site}' (known: {', '.join(cal.sites) or 'none yet'})", field="site")
    if days < 1:
        raise InvalidInput("the calendar must cover at least 1 day", field="days")
    if days > MAX_WINDOW_DAYS:
        raise InvalidInput(f"the calendar may cover at most {MAX_WINDOW_DAYS} days (10 years)", field="days")
    today = as_of or site_today(cal.tz(site), now)
    occs = collect(cal, site=site, as_of=today, within=days, expand=True)
    if len(occs) > MAX_ICS_EVENTS:
        raise InvalidInput(
            f"the calendar would hold {len(occs)} events (at most {MAX_ICS_EVENTS}); cover fewer days",
            field="days",
        )
    data = build_ics(occs, name=f"{cal.sites[site].name} compliance")
    return IcsExport(site=site, events=len(occs), data=data)
