"""The daily digest as data: overdue, due this week, today's reminders and what was completed recently.

Computed in the site's time zone. A series appears once under "due this week" (its next date), so a
daily log does not fill the message. Adapters render it: terminal text in ``assistant/cli/render.py``,
Block Kit in ``integrations/slack/blocks.py``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from assistant.access import guarded
from assistant.calendar.completions import recent_completions
from assistant.calendar.models import DUE_SOON_DAYS, Digest, Occurrence
from assistant.calendar.series import RECENT_DAYS, CalendarData, collect, load_calendar, site_today
from assistant.errors import NotFound
from assistant.principal import Principal
from assistant.roles import Action
from assistant.store import Store


def first_per_series(occs: list[Occurrence]) -> list[Occurrence]:
    """Keep the first occurrence of each series (the list is sorted: overdue, then soonest)."""
    seen: set[str] = set()
    out = []
    for o in occs:
        key = o.series_key or o.id
        if key not in seen:
            seen.add(key)
            out.append(o)
    return out


@guarded(Action.VIEW_DEADLINES, "calendar.digest")
def build_digest(
    store: Store,
    *,
    principal: Principal,
    site: str | None = None,
    as_of: date | None = None,
    now: datetime | None = None,
    cal: CalendarData | None = None,
) -> Digest:
    cal = cal or load_calendar(store)
    if site is None and len(cal.sites) == 1:
        site = next(iter(cal.sites))
    if site is not None and site not in cal.sites:
        raise NotFound(f"unknown site '{site}' (known: {', '.join(cal.sites) or 'none yet'})", field="site")
    today = as_of or site_today(cal.tz(site), now)
    lead = max(
        [DUE_SOON_DAYS]
        + [d for ob, _ in cal.obligations for d in ob.remind_days]
        + [d for days in cal.reminders.values() for d in days]
    )
    occs = collect(cal, site=site, as_of=today, within=min(lead, 3650))
    overdue = [o for o in occs if o.status == "overdue"]
    due_soon = first_per_series([o for o in occs if o.status == "due_soon"])
    reminders = [o for o in occs if o.status != "overdue" and o.days_left in o.remind_days]
    done = recent_completions(cal, site=site, since=today - timedelta(days=RECENT_DAYS), until=today)
    return Digest(
        site=site,
        site_name=cal.sites[site].name if site else "All sites",
        date=today,
        overdue=overdue,
        due_soon=due_soon,
        reminders=reminders,
        completed_recently=done,
    )
