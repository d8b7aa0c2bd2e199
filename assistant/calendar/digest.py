"""The daily digest as data: overdue, due this week, today's reminders and what was completed recently.

Computed in the site's time zone. A series appears once under "due this week" (its next date), so a
daily log does not fill the message. Adapters render it: terminal text in ``assistant/cli/render.py``,
Block Kit in ``integrations/slack/blocks.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from assistant import audit
from assistant.access import guarded
from assistant.calendar.completions import recent_completions
from assistant.calendar.models import DUE_SOON_DAYS, Digest, Occurrence
from assistant.calendar.series import RECENT_DAYS, CalendarData, aware, collect, load_calendar, site_today
from assistant.errors import NotFound
from assistant.principal import SCHEDULER, Principal
from assistant.roles import Action
from assistant.sops.models import SopChange
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


DIGEST_EVENT = "calendar.digest"
MAX_SOP_CHANGES = 50


def _last_daily_digest(store: Store, site: str | None) -> datetime | None:
    """When the scheduler last issued the daily digest for ``site`` (manual previews do not count)."""
    rows = audit.entries(
        store, actor=SCHEDULER.id, action=DIGEST_EVENT, target=f"site:{site or '*'}", limit=1
    )
    return rows[0].at if rows else None


def _sop_changes_since(store: Store, since: datetime) -> list[SopChange]:
    """SOP changes and approvals recorded in the audit log since ``since``, oldest first."""
    rows = [
        e
        for action in ("sops.change", "sops.approve")
        for e in audit.entries(store, action=action, since=since, limit=MAX_SOP_CHANGES)
    ]
    out = []
    for e in sorted(rows, key=lambda e: (e.at, e.id)):
        try:
            change = SopChange.model_validate({**(e.detail or {}), "by": e.actor, "at": e.at})
        except ValueError:
            continue  # an entry written by an older version: skip rather than fail the digest
        if change.change == "approved" or e.action == "sops.change":
            out.append(change)
    approved = {c.sha256 for c in out if c.change == "approved"}
    return [c.model_copy(update={"pending": False}) if c.sha256 in approved else c for c in out]


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
    moment = aware(now) if now else datetime.now(UTC)
    since = _last_daily_digest(store, site) or moment - timedelta(days=RECENT_DAYS)
    digest = Digest(
        site=site,
        site_name=cal.sites[site].name if site else "All sites",
        date=today,
        overdue=overdue,
        due_soon=due_soon,
        reminders=reminders,
        completed_recently=done,
        sop_changes=_sop_changes_since(store, since),
        sop_changes_since=since,
    )
    if principal.id == SCHEDULER.id:
        # the daily digest marks the point the next one lists SOP changes from
        audit.record(
            store,
            actor=principal.id,
            action=DIGEST_EVENT,
            target=f"site:{site or '*'}",
            detail={"sop_changes": len(digest.sop_changes)},
        )
    return digest
