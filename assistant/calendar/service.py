"""Deadlines: materialize occurrences of every series in a horizon, and record completions.

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

import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from assistant import audit
from assistant.calendar import tables as t
from assistant.calendar.models import (
    DUE_SOON_DAYS,
    Completion,
    DeadlineList,
    FixedSchedule,
    Obligation,
    Occurrence,
    OnceSchedule,
    PARequest,
    RollingSchedule,
    Site,
)
from assistant.calendar.schedule import add_duration, fixed_dates, period_days
from assistant.errors import InvalidInput, NotFound
from assistant.staff import StaffMember, list_staff
from assistant.store import Store

DEFAULT_HORIZON_DAYS = 365
RECENT_DAYS = 7
HIGH_FREQUENCY_DAYS = 7
NO_OBLIGATIONS = "no obligations yet: rxdesk calendar import knowledge/compliance/obligations.yaml"


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

    def occ_id(self, due: date) -> str:
        if self.kind == "obligation":
            return f"{self.obligation_id}@{self.key}@{due.isoformat()}"
        if self.kind == "credential":
            return f"cred:{self.staff_id}:{self.cred_type}@{due.isoformat()}"
        return f"{self.obligation_id.replace('pa:', f'pa:{self.key}:', 1)}@{due.isoformat()}"


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


def load_calendar(store: Store) -> CalendarData:
    with store.begin() as conn:
        sites = {
            r.id: Site(id=r.id, name=r.name, timezone=r.timezone, slack_channel=r.slack_channel)
            for r in conn.execute(select(t.sites).order_by(t.sites.c.id))
        }
        obs = [
            (Obligation.model_validate(r.data), r.tracked_from)
            for r in conn.execute(select(t.obligations).order_by(t.obligations.c.id))
        ]
        reminders = {r.type: list(r.days) for r in conn.execute(select(t.credential_reminders))}
        comp_rows = conn.execute(select(t.completions).order_by(t.completions.c.id)).all()
        pa_rows = conn.execute(select(t.pa_requests).order_by(t.pa_requests.c.id)).mappings().all()
    cal = CalendarData(
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


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _pa_from_row(r) -> PARequest:  # type: ignore[no-untyped-def]
    return PARequest(
        id=r["id"],
        patient_ref=r["patient_ref"],
        drug=r["drug"],
        program=r["program"],
        urgency=r["urgency"],
        submitted_at=_aware(r["submitted_at"]),
        site=r["site"],
        status=r["status"],
        until=r["until"],
        notice_date=r["notice_date"],
        owner=r["owner"],
    )


def site_today(tz: ZoneInfo, now: datetime | None = None) -> date:
    """The calendar date at ``now`` (default: the current instant) in time zone ``tz``."""
    now = _aware(now) if now else datetime.now(UTC)
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
    from assistant.calendar.pa_tracking import pa_series  # local: pa_tracking imports this module

    for pa in cal.pas:
        yield from pa_series(pa, cal.tz(pa.site))


def rolling_chain(
    sched: RollingSchedule, tracked_from: date, done: dict[date, CompletionRow], hi: date
) -> tuple[list[date], date]:
    """Due dates of a rolling series up to its open occurrence: (settled dates, open due date)."""
    settled: list[date] = []
    due = sched.first_due
    for _ in range(10000):
        row = done.get(due)
        if row is not None:
            settled.append(due)
            due = add_duration(row.completed_on, sched.every)
        elif due < tracked_from:
            settled.append(due)  # before rxdesk: assumed done on time
            due = add_duration(due, sched.every)
        else:
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
            d = add_duration(open_due, sched.every, n) if n else open_due
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


def _occ(s: Series, due: date, today: date, *, missed: int = 0) -> Occurrence:
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
        out.append(_occ(s, past[-1], today, missed=missed))
    for d in dates:
        if d >= today and d not in done:
            out.append(_occ(s, d, today))
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
        raise InvalidInput("--within must be 0 or more days")
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


def list_deadlines(
    store: Store,
    *,
    site: str | None = None,
    owner: str | None = None,
    as_of: date | None = None,
    within: int | None = None,
    now: datetime | None = None,
    cal: CalendarData | None = None,
    expand: bool = False,
) -> DeadlineList:
    """``rxdesk deadlines``: overdue first, then by due date; default horizon 365 days.

    ``expand`` lists every date of daily/weekly series too (by default only their next one).
    """
    cal = cal or load_calendar(store)
    occs = collect(cal, site=site, owner=owner, as_of=as_of, within=within, now=now, expand=expand)
    shown_as_of = as_of or site_today(cal.tz(site or cal.default_site()), now)
    note = NO_OBLIGATIONS if not cal.obligations else None
    return DeadlineList(as_of=shown_as_of, occurrences=occs, note=note)


# ---------------------------------------------------------------- completions


def split_occurrence_id(occ_id: str) -> tuple[str, date]:
    prefix, sep, tail = occ_id.strip().rpartition("@")
    try:
        due = date.fromisoformat(tail)
    except ValueError:
        due = None  # type: ignore[assignment]
    if not sep or not prefix or due is None:
        raise InvalidInput(
            f"'{occ_id}' is not an occurrence id like dea-registration@main@2027-05-31"
            " (see: rxdesk deadlines --json)"
        )
    return prefix, due


def find_series(cal: CalendarData, occ_id: str) -> tuple[Series, date]:
    """The series and due date behind an occurrence id, or NotFound."""
    prefix, due = split_occurrence_id(occ_id)
    for s in cal.series():
        if s.occ_id(due) != occ_id.strip():
            continue
        if s.fixed_due is not None:
            return s, due
        if due in series_dates(s, cal, due, due):
            return s, due
    raise NotFound(f"no occurrence '{occ_id}' (see: rxdesk deadlines --json for ids)")


def _store_evidence_file(files_dir: Path, src: Path) -> tuple[str, str]:
    if not src.is_file():
        raise InvalidInput(f"evidence file not found: {src}")
    digest = hashlib.sha256()
    with src.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    sha = digest.hexdigest()
    suffix = "".join(src.suffixes[-2:])[:16]
    rel = Path("evidence") / sha[:2] / f"{sha}{suffix}"
    dest = files_dir / rel
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        shutil.copyfile(src, tmp)
        tmp.replace(dest)
    return rel.as_posix(), sha


def complete(
    store: Store,
    occ_id: str,
    *,
    on: date,
    actor: str,
    files_dir: Path,
    evidence: str | None = None,
    evidence_file: Path | None = None,
    new_expiry: date | None = None,
    now: datetime | None = None,
) -> Completion:
    """Record a completion (audited). Rolling series: the next due date counts from ``on``.

    ``new_expiry`` (credentials only) records the renewal in the staff directory.
    """
    if not (evidence and evidence.strip()) and evidence_file is None:
        raise InvalidInput("give --evidence TEXT or --evidence-file PATH (what proves it was done)")
    cal = load_calendar(store)
    s, due = find_series(cal, occ_id)
    today = site_today(cal.tz(s.site), now)
    if on > today:
        raise InvalidInput(
            f"--on {on.isoformat()} is in the future (today is {today.isoformat()} at the site); "
            "record a completion once it is done"
        )
    done = cal.completions.get((s.obligation_id, s.key), {})
    if due in done:
        raise InvalidInput(f"'{occ_id}' was already completed on {done[due].completed_on.isoformat()}")
    sched = s.obligation.schedule if s.obligation else None
    if isinstance(sched, RollingSchedule):
        _settled, open_due = rolling_chain(sched, s.tracked_from or date.min, done, due)
        if due != open_due:
            raise InvalidInput(
                f"'{occ_id}' is a projected date; complete the open one first: {s.occ_id(open_due)}"
            )
    if new_expiry is not None:
        if s.kind != "credential":
            raise InvalidInput("--new-expiry applies to credential deadlines (cred:STAFF:TYPE@DATE) only")
        if new_expiry <= due:
            raise InvalidInput(f"--new-expiry {new_expiry.isoformat()} must be after the old expiry {due}")
    stored_file = sha = None
    if evidence_file is not None:
        stored_file, sha = _store_evidence_file(files_dir, evidence_file)
    recorded_at = _aware(now) if now else datetime.now(UTC)
    snapshot = _occ(s, due, on).model_dump(mode="json")
    values = {
        "occurrence_id": s.occ_id(due),
        "obligation_id": s.obligation_id,
        "series_key": s.key,
        "due": due,
        "completed_on": on,
        "snapshot": snapshot,
        "evidence": evidence.strip() if evidence else None,
        "evidence_file": stored_file,
        "evidence_sha256": sha,
        "completed_by": actor,
        "recorded_at": recorded_at,
    }
    with store.begin() as conn:
        new_id = conn.execute(
            insert(t.completions).values(**values).returning(t.completions.c.id)
        ).scalar_one()
        audit.record(
            conn,
            actor=actor,
            action="calendar.complete",
            target=values["occurrence_id"],
            patient_ref=_pa_patient_ref(cal, s),
            detail={
                "completed_on": on.isoformat(),
                "due": due.isoformat(),
                "evidence_sha256": sha,
                "late_days": max(0, (on - due).days),
            },
        )
        if new_expiry is not None and s.staff_id and s.cred_type:
            # same transaction: a completion without its renewal (or the reverse) never persists
            from assistant.staff import record_credential_expiry

            record_credential_expiry(conn, s.staff_id, s.cred_type, new_expiry, actor=actor)
    next_due = add_duration(on, sched.every) if isinstance(sched, RollingSchedule) else None
    return Completion(id=new_id, **values, next_due=next_due, new_expiry=new_expiry)


def _pa_patient_ref(cal: CalendarData, s: Series) -> str | None:
    if s.kind != "pa":
        return None
    return next((p.patient_ref for p in cal.pas if p.id == s.key), None)


def recent_completions(cal: CalendarData, *, site: str | None, since: date, until: date) -> list[Occurrence]:
    out = []
    for row in cal.completion_list:
        if not since <= row.completed_on <= until:
            continue
        occ = Occurrence.model_validate(
            {
                **row.snapshot,
                "status": "done",
                "completed_on": row.completed_on,
                "completed_by": row.completed_by,
            }
        )
        if site is not None and occ.site != site:
            continue
        out.append(occ.model_copy(update={"days_left": (row.due - until).days}))
    out.sort(key=lambda o: (o.completed_on, o.id), reverse=True)
    return out
