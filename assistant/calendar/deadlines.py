"""Listing deadlines and sites (the read side of the calendar)."""

from __future__ import annotations

from datetime import date, datetime

from assistant.access import guarded
from assistant.calendar.models import DeadlineList, Site
from assistant.calendar.series import NO_OBLIGATIONS, CalendarData, collect, load_calendar, site_today
from assistant.principal import Principal
from assistant.roles import Action
from assistant.store import Store


@guarded(Action.VIEW_DEADLINES, "calendar.list")
def list_deadlines(
    store: Store,
    *,
    principal: Principal,
    site: str | None = None,
    owner: str | None = None,
    as_of: date | None = None,
    within: int | None = None,
    now: datetime | None = None,
    cal: CalendarData | None = None,
    expand: bool = False,
) -> DeadlineList:
    """Overdue first, then by due date; default horizon 365 days.

    ``expand`` lists every date of daily/weekly series too (by default only their next one).
    """
    cal = cal or load_calendar(store)
    occs = collect(cal, site=site, owner=owner, as_of=as_of, within=within, now=now, expand=expand)
    shown_as_of = as_of or site_today(cal.tz(site or cal.default_site()), now)
    note = NO_OBLIGATIONS if not cal.obligations else None
    return DeadlineList(as_of=shown_as_of, occurrences=occs, note=note, unusable=cal.unusable)


@guarded(Action.VIEW_DEADLINES, "calendar.sites")
def list_sites(store: Store, *, principal: Principal) -> list[Site]:
    return list(load_calendar(store).sites.values())
