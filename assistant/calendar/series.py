"""Series and occurrences: every deadline series, and its due dates materialized in a horizon.

A *series* is one obligation at one site (``applies_to: site``), one obligation for one staff member
(``applies_to: staff:<role>``), one staff credential (from the staff directory) or one PA deadline.
Occurrence ids are stable and usable on the command line::

    dea-registration@main@2027-05-31          an obligation at a site
    pharmacist-ce@jdoe@2026-11-30              a per-staff obligation
    cred:jdoe:pharmacist_license@2027-03-31    a staff credential expiry
    pa:PA-0001:followup@2026-11-27             a PA deadline

Decisions where the issue is silent (also in the README):

* "Today" is the date in the site's time zone at ``now`` unless ``as_of`` is given.
* Occurrences of a calendar rule (RRULE) due before the obligation was first imported
  (``tracked_from``, or ``--since``) are assumed handled before rxdesk and never shown overdue.
  A ``once`` date, a rolling ``first_due``, credentials and PAs have no such cut-off: a written
  deadline that passed with no completion recorded is overdue.
* Per series only the most recent past-due occurrence can be overdue; earlier undone ones are
  superseded by it and counted in ``missed`` (a daily log missed for a month is one overdue row).
* Rolling series: before tracking began each occurrence is assumed done on its due date; after that
  the next due date is the completion date + ``every``; beyond the open occurrence, later ones are
  projected assuming on-time completion.
* Owners are a role name (e.g. ``pic``) or a staff id. ``--owner X`` matches the owner field, plus
  the staff ids holding role X, plus the role of staff member X.

Everything is loaded once per call (a handful of queries, never one per occurrence).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from assistant.calendar import tables as t
from assistant.calendar.models import (
    DUE_SOON_DAYS,
    FixedSchedule,
    Obligation,
    Occurrence,
    OnceSchedule,
    PARequest,
    RollingSchedule,
    Site,
)
from assistant.calendar.pa_rules import pa_deadlines
from assistant.calendar.schedule import (
    add_duration,
    check_date,
    fixed_dates,
    parse_duration,
    period_days,
    validate_rrule,
)
from assistant.errors import InvalidInput, NotFound
from assistant.staff import StaffMember, list_staff
from assistant.store import Store

DEFAULT_HORIZON_DAYS = 365
MAX_WINDOW_DAYS = 3660
RECENT_DAYS = 7
HIGH_FREQUENCY_DAYS = 7
NO_OBLIGATIONS = "no obligations yet: the compliance library has not been imported"


@dataclass
class Series:
    obligation_id: str
    key: str  # site id, staff id, or PA id
    title: str
    site: str | None
    owner: str
    citation: str | None
    evidence: str | None
    remind_days: list[int]
    kind: str  # obligation | credential | pa
    obligation: Obligation | None = None
    tracked_from: date | None = None
    fixed_due: date | None = None  # credentials and PA deadlines: one date
    due_at: datetime | None = None
    cred_type: str | None = None
    staff_id: str | None = None

    @property
    def series_key(self) -> str:
        """Identifies the series; an occurrence id is this key, "@" and the due date."""
        if self.kind == "obligation":
            return f"{self.obligation_id}@{self.key}"
        if self.kind == "credential":
            return f"cred:{self.staff_id}:{self.cred_type}"
        return self.obligation_id.replace("pa:", f"pa:{self.key}:", 1)

    def occ_id(self, due: date) -> str:
        return f"{self.series_key}@{due.isoformat()}"


@dataclass
class CompletionRow:
    occurrence_id: str
    due: date
    completed_on: date
    completed_by: str
    snapshot: dict
    series: tuple[str, str]


@dataclass
class CalendarData:
    sites: dict[str, Site]
    obligations: list[tuple[Obligation, date]]
    reminders: dict[str, list[int]]
    staff: list[StaffMember]
    pas: list[PARequest]
    completions: dict[tuple[str, str], dict[date, CompletionRow]] = field(default_factory=dict)
    completion_list: list[CompletionRow] = field(default_factory=list)
    # obligations stored with a schedule rxdesk cannot use (imported before the bounds existed):
    # "id: reason"; they are left out of every listing rather than breaking it
    unusable: list[str] = field(default_factory=list)
    _series: list[Series] | None = field(default=None, repr=False)

    def series(self) -> list[Series]:
        """All series, built once per load (listing and digests iterate them many times)."""
        if self._series is None:
            self._series = list(iter_series(self))
        return self._series

    def tz(self, site: str | None) -> ZoneInfo:
        s = self.sites.get(site) if site else None
        if s is None and self.sites:
            s = next(iter(self.sites.values()))
        return ZoneInfo(s.timezone if s else "UTC")

    def default_site(self) -> str | None:
        return next(iter(self.sites)) if self.sites else None


# ---------------------------------------------------------------- loading


def site_of(row: Any) -> Site:
    """A ``calendar_sites`` row as a :class:`Site`."""
    return Site(
        id=row.id,
        name=row.name,
        timezone=row.timezone,
        slack_channel=row.slack_channel,
        pharmacist_channel=row.pharmacist_channel,
        digest_time=row.digest_time,
    )


def load_calendar(store: Store) -> CalendarData:
    with store.begin() as conn:
        sites = {r.id: site_of(r) for r in conn.execute(select(t.sites).order_by(t.sites.c.id))}
        obs = [
            (Obligation.model_validate(r.data), r.tracked_from)
            for r in conn.execute(select(t.obligations).order_by(t.obligations.c.id))
        ]
        unusable = [f"{ob.id}: {why}" for ob, _ in obs if (why := schedule_problem(ob.schedule))]
        obs = [(ob, since) for ob, since in obs if not schedule_problem(ob.schedule)]
        reminders = {r.type: list(r.days) for r in conn.execute(select(t.credential_reminders))}
        comp_rows = conn.execute(select(t.completions).order_by(t.completions.c.id)).all()
        pa_rows = conn.execute(select(t.pa_requests).order_by(t.pa_requests.c.id)).mappings().all()
    cal = CalendarData(
        unusable=unusable,
        sites=sites,
        obligations=obs,
        reminders=reminders,
        staff=list_staff(store),
        pas=[_pa_from_row(r) for r in pa_rows],
    )
    for r in comp_rows:
        row = CompletionRow(
            occurrence_id=r.occurrence_id,
            due=r.due,
            completed_on=r.completed_on,
            completed_by=r.completed_by,
            snapshot=r.snapshot,
            series=(r.obligation_id, r.series_key),
        )
        cal.completions.setdefault(row.series, {})[row.due] = row
        cal.completion_list.append(row)
    return cal


def schedule_problem(schedule: FixedSchedule | RollingSchedule | OnceSchedule) -> str | None:
    """Why a stored schedule cannot be used (None when it can): the same bounds import applies."""
    try:
        if isinstance(schedule, FixedSchedule):
            validate_rrule(schedule.rrule, schedule.start)
        elif isinstance(schedule, RollingSchedule):
            parse_duration(schedule.every)
            check_date(schedule.first_due, "first_due")
        else:
            check_date(schedule.once, "once")
    except ValueError as exc:
        return str(exc)
    return None


def aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _pa_from_row(r) -> PARequest:  # type: ignore[no-untyped-def]
    return PARequest(
        id=r["id"],
        patient_ref=r["patient_ref"],
        drug=r["drug"],
        program=r["program"],
        urgency=r["urgency"],
        submitted_at=aware(r["submitted_at"]),
        site=r["site"],
        status=r["status"],
        until=r["until"],
        notice_date=r["notice_date"],
        owner=r["owner"],
    )


def site_today(tz: ZoneInfo, now: datetime | None = None) -> date:
    """The calendar date at ``now`` (default: the current instant) in time zone ``tz``."""
    now = aware(now) if now else datetime.now(UTC)
    return now.astimezone(tz).date()


# ---------------------------------------------------------------- series


def cred_label(ctype: str) -> str:
    label = ctype.replace("_", " ").replace("-", " ")
    words = [_ACRONYMS.get(w, w) for w in label.split()]
    return " ".join(words)[:1].upper() + " ".join(words)[1:]


_ACRONYMS = {
    "bls": "BLS",
    "ptcb": "PTCB",
    "cpht": "CPhT",
    "dea": "DEA",
    "cpr": "CPR",
    "pic": "PIC",
    "acls": "ACLS",
}


def iter_series(cal: CalendarData) -> Iterator[Series]:
    staff_creds: dict[str, dict[str, date]] = {
        m.id: {c.type: c.expires for c in m.credentials if c.expires} for m in cal.staff
    }
    cred_obligation: dict[str, Obligation] = {}
    for ob, imported_on in cal.obligations:
        # Only calendar rules (RRULE) are tracked from the import date: their past dates are history
        # the pharmacy handled before rxdesk. A `once` date or a rolling `first_due` is a deadline a
        # person wrote down; if it has passed with no completion recorded, it is overdue.
        tracked_from = imported_on if isinstance(ob.schedule, FixedSchedule) else None
        role = ob.staff_role
        if role is None:
            for site in cal.sites.values():
                yield Series(
                    obligation_id=ob.id,
                    key=site.id,
                    title=ob.title,
                    site=site.id,
                    owner=ob.owner,
                    citation=ob.citation,
                    evidence=ob.evidence,
                    remind_days=ob.remind_days,
                    kind="obligation",
                    obligation=ob,
                    tracked_from=tracked_from,
                )
            continue
        cred = ob.credential or ob.id.replace("-", "_")
        cred_obligation.setdefault(cred, ob)
        for m in cal.staff:
            if m.role.value != role or cred in staff_creds[m.id]:
                continue  # the member's own recorded expiry replaces the default cycle
            yield Series(
                obligation_id=ob.id,
                key=m.id,
                title=f"{ob.title}: {m.name}",
                site=m.site,
                owner=m.id,
                citation=ob.citation,
                evidence=ob.evidence,
                remind_days=ob.remind_days,
                kind="obligation",
                obligation=ob,
                tracked_from=tracked_from,
                staff_id=m.id,
            )
    default_lead = cal.reminders.get("default", [60, 30])
    for m in cal.staff:
        for ctype, expires in staff_creds[m.id].items():
            ob = cred_obligation.get(ctype)
            yield Series(
                obligation_id=f"cred:{ctype}",
                key=m.id,
                title=f"{ob.title if ob else cred_label(ctype) + ' renewal'}: {m.name}",
                site=m.site,
                owner=m.id,
                citation=ob.citation if ob else None,
                evidence=ob.evidence if ob else "Renewed credential (card or verification printout)",
                remind_days=cal.reminders.get(ctype) or (ob.remind_days if ob else default_lead),
                kind="credential",
                fixed_due=expires,
                cred_type=ctype,
                staff_id=m.id,
            )
    for pa in cal.pas:
        yield from pa_series(pa, cal.tz(pa.site))


def pa_series(pa: PARequest, tz: ZoneInfo) -> Iterator[Series]:
    for rule in pa_deadlines(pa, tz):
        yield Series(
            obligation_id=f"pa:{rule.rule}",
            key=pa.id,
            title=rule.title,
            site=pa.site,
            owner=pa.owner,
            citation=rule.citation,
            evidence=rule.evidence,
            remind_days=rule.remind_days,
            kind="pa",
            fixed_due=rule.due,
            due_at=rule.due_at,
        )


def rolling_chain(
    sched: RollingSchedule, tracked_from: date, done: dict[date, CompletionRow], hi: date
) -> tuple[list[date], date]:
    """Due dates of a rolling series up to its open occurrence: (settled dates, open due date)."""
    settled: list[date] = []
    due = sched.first_due
    for _ in range(10000):
        row = done.get(due)
        try:
            if row is not None:
                settled.append(due)
                due = add_duration(row.completed_on, sched.every)
            elif due < tracked_from:
                settled.append(due)  # before rxdesk: assumed done on time
                due = add_duration(due, sched.every)
            else:
                break
        except (ValueError, OverflowError):  # a period imported before it was bounded: stop here
            break
    return settled, due


def series_dates(s: Series, cal: CalendarData, lo: date, hi: date) -> list[date]:
    """All due dates of ``s`` with ``lo <= due <= hi`` (completed or not)."""
    if s.fixed_due is not None:
        return [s.fixed_due] if lo <= s.fixed_due <= hi else []
    sched = s.obligation.schedule if s.obligation else None
    if isinstance(sched, FixedSchedule):
        return fixed_dates(sched.rrule, sched.start, lo, hi)
    if isinstance(sched, OnceSchedule):
        return [sched.once] if lo <= sched.once <= hi else []
    if isinstance(sched, RollingSchedule):
        done = cal.completions.get((s.obligation_id, s.key), {})
        settled, open_due = rolling_chain(sched, s.tracked_from or date.min, done, hi)
        out = [d for d in settled if lo <= d <= hi]
        n = 0
        while True:
            try:
                d = add_duration(open_due, sched.every, n) if n else open_due
            except (ValueError, OverflowError):  # beyond year 9999
                break
            if d > hi:
                break
            if d >= lo:
                out.append(d)
            n += 1
        return out
    return []


# ---------------------------------------------------------------- listing


def _status(days_left: int) -> str:
    if days_left < 0:
        return "overdue"
    return "due_soon" if days_left <= DUE_SOON_DAYS else "upcoming"


def occurrence_of(s: Series, due: date, today: date, *, missed: int = 0) -> Occurrence:
    # model_construct: every value here comes from an already-validated Series, and validation
    # dominated the cost of long listings (--all: ~240k occurrences)
    days_left = (due - today).days
    return Occurrence.model_construct(
        id=s.occ_id(due),
        obligation_id=s.obligation_id,
        title=s.title,
        site=s.site,
        owner=s.owner,
        due=due,
        status=_status(days_left),
        days_left=days_left,
        citation=s.citation,
        evidence=s.evidence,
        remind_days=s.remind_days,
        kind=s.kind,
        missed=missed,
        completed_on=None,
        completed_by=None,
        due_at=s.due_at,
        series_key=s.series_key,
        cred_type=s.cred_type,
        staff_id=s.staff_id,
    )


def is_high_frequency(s: Series) -> bool:
    """Series that recur at least weekly (daily logs, weekly checks)."""
    sched = s.obligation.schedule if s.obligation else None
    if isinstance(sched, FixedSchedule):
        days = period_days(sched.rrule)
        return days is not None and days <= HIGH_FREQUENCY_DAYS
    if isinstance(sched, RollingSchedule):
        return add_duration(date(2000, 1, 1), sched.every) <= date(2000, 1, 1 + HIGH_FREQUENCY_DAYS)
    return False


def series_occurrences(
    s: Series, cal: CalendarData, today: date, within: int, *, expand: bool = False
) -> list[Occurrence]:
    """Open occurrences of one series: at most one overdue, then those due up to today+within.

    Unless ``expand``, a series recurring at least weekly shows only its next open date (a year of
    daily temperature-log rows would drown everything else; ICS export expands them).
    """
    done = cal.completions.get((s.obligation_id, s.key), {})
    hi = today + timedelta(days=within)
    collapse = not expand and is_high_frequency(s)
    if collapse:
        hi = min(hi, today + timedelta(days=4 * HIGH_FREQUENCY_DAYS))
    tracked = s.tracked_from if s.tracked_from is not None else date.min
    if s.fixed_due is not None:
        dates = [s.fixed_due] if s.fixed_due <= hi else []
    else:
        lo = max(tracked, date.min)
        # past-due occurrences since tracking began; bounded to ~3 years for very old imports
        lo = max(lo, today - timedelta(days=3 * 366))
        dates = series_dates(s, cal, lo, hi)
    out: list[Occurrence] = []
    past = [d for d in dates if d < today and d >= tracked]
    if past and past[-1] not in done:
        missed = sum(1 for d in past[:-1] if d not in done)
        out.append(occurrence_of(s, past[-1], today, missed=missed))
    for d in dates:
        if d >= today and d not in done:
            out.append(occurrence_of(s, d, today))
            if collapse:
                break
    return out


def _owner_matches(owner_filter: str, occ_owner: str, staff_by_id: dict[str, StaffMember]) -> bool:
    if occ_owner == owner_filter:
        return True
    member = staff_by_id.get(owner_filter)
    if member is not None and occ_owner == member.role.value:
        return True
    holder = staff_by_id.get(occ_owner)
    return holder is not None and holder.role.value == owner_filter


def sort_key(o: Occurrence) -> tuple:
    return (0 if o.status == "overdue" else 1, o.due, o.title, o.id)


def collect(
    cal: CalendarData,
    *,
    site: str | None = None,
    owner: str | None = None,
    as_of: date | None = None,
    within: int | None = None,
    now: datetime | None = None,
    expand: bool = False,
) -> list[Occurrence]:
    if site is not None and site not in cal.sites and not any(m.site == site for m in cal.staff):
        known = ", ".join(cal.sites) or "none yet"
        raise NotFound(f"unknown site '{site}' (known: {known})")
    if within is not None and within < 0:
        raise InvalidInput("the window must be 0 or more days", field="within")
    if within is not None and within > MAX_WINDOW_DAYS:
        raise InvalidInput(f"the window must be at most {MAX_WINDOW_DAYS} days (10 years)", field="within")
    if as_of is not None:
        try:
            check_date(as_of, "the date")
        except ValueError as exc:
            raise InvalidInput(str(exc), field="as_of") from None
    horizon = DEFAULT_HORIZON_DAYS if within is None else within
    staff_by_id = {m.id: m for m in cal.staff}
    today_cache: dict[str | None, date] = {}
    out: list[Occurrence] = []
    for s in cal.series():
        if site is not None and s.site != site:
            continue
        if owner is not None and not _owner_matches(owner, s.owner, staff_by_id):
            continue
        today = as_of
        if today is None:
            if s.site not in today_cache:
                today_cache[s.site] = site_today(cal.tz(s.site), now)
            today = today_cache[s.site]
        out.extend(series_occurrences(s, cal, today, horizon, expand=expand))
    out.sort(key=sort_key)
    return out
