"""Prior-authorization tracking as deadlines (pharmacy reference B3).

A PA is identified by an id (``PA-0001``) and a *patient reference* (a token from the system of
record), never a name. Deadlines generated:

* follow-up check at submitted + 24 h (expedited) or + 72 h (standard), while no decision is in;
* renewal reminder 30 days before an approval's end date (``--until``);
* for a Part D denial, the redetermination filing deadline: notice date + 5 days (presumed receipt)
  + 60 days.

Titles carry the PA id and the drug, never the patient reference (the digest goes to Slack).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update

from assistant import audit
from assistant.calendar import tables as t
from assistant.calendar.models import PARequest
from assistant.calendar.service import Series, load_calendar, series_occurrences, site_today
from assistant.errors import InvalidInput, NotFound
from assistant.store import Store

FOLLOW_UP_HOURS = {"expedited": 24, "standard": 72}
RENEWAL_LEAD_DAYS = 30
PRESUMED_RECEIPT_DAYS = 5
REDETERMINATION_DAYS = 60
PROGRAMS = ("part_d", "medicaid", "commercial", "other")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")
_LOOKS_LIKE_NAME = re.compile(r"^[A-Za-z]+[ ,]+[A-Za-z]+")


def redetermination_deadline(notice_date: date) -> date:
    """Part D: file within 60 days of receiving the notice; receipt presumed 5 days after it."""
    return notice_date + timedelta(days=PRESUMED_RECEIPT_DAYS + REDETERMINATION_DAYS)


def follow_up_at(submitted_at: datetime, urgency: str) -> datetime:
    return submitted_at + timedelta(hours=FOLLOW_UP_HOURS[urgency])


def pa_series(pa: PARequest, tz: ZoneInfo) -> Iterator[Series]:
    base = {
        "key": pa.id,
        "site": pa.site,
        "owner": pa.owner,
        "kind": "pa",
    }
    if pa.status == "submitted":
        at = follow_up_at(pa.submitted_at, pa.urgency)
        hours = FOLLOW_UP_HOURS[pa.urgency]
        yield Series(
            obligation_id="pa:followup",
            title=f"PA {pa.id} ({pa.drug}): check for a decision ({hours} h {pa.urgency})",
            citation="42 CFR 423.568/423.570 (Part D coverage determination timeframes)"
            if pa.program == "part_d"
            else None,
            evidence="Payer portal status or call reference",
            remind_days=[0],
            fixed_due=at.astimezone(tz).date(),
            due_at=at.astimezone(UTC),
            **base,
        )
    if pa.status == "approved" and pa.until is not None:
        yield Series(
            obligation_id="pa:renewal",
            title=f"PA {pa.id} ({pa.drug}): start renewal, approval ends {pa.until.isoformat()}",
            citation=None,
            evidence="Renewal PA submitted",
            remind_days=[14, 7],
            fixed_due=pa.until - timedelta(days=RENEWAL_LEAD_DAYS),
            **base,
        )
    if pa.status == "denied" and pa.notice_date is not None and pa.program == "part_d":
        yield Series(
            obligation_id="pa:redetermination",
            title=f"PA {pa.id} ({pa.drug}): file Part D redetermination (appeal) by this date",
            citation="42 CFR 423.582 (60 days from receipt of the denial; receipt presumed notice + 5 days)",
            evidence="Redetermination request and fax/portal confirmation",
            remind_days=[30, 14, 7, 3],
            fixed_due=redetermination_deadline(pa.notice_date),
            **base,
        )


def _with_deadlines(store: Store, pa_id: str, now: datetime | None = None) -> PARequest:
    cal = load_calendar(store)
    pa = next((p for p in cal.pas if p.id == pa_id), None)
    if pa is None:
        raise NotFound(f"unknown PA '{pa_id}'")
    tz = cal.tz(pa.site)
    today = site_today(tz, now)
    occs = [o for s in pa_series(pa, tz) for o in series_occurrences(s, cal, today, 3650)]
    return pa.model_copy(update={"deadlines": occs})


def _check_ref(patient_ref: str) -> str:
    ref = patient_ref.strip()
    if not _REF.match(ref) or _LOOKS_LIKE_NAME.match(patient_ref.strip()):
        raise InvalidInput(
            "--patient-ref must be a reference token from your system of record (e.g. MRN-TOKEN-1234), "
            "not a patient name"
        )
    return ref


def track(
    store: Store,
    *,
    patient_ref: str,
    drug: str,
    submitted: datetime,
    urgency: str,
    site: str | None = None,
    program: str = "part_d",
    actor: str = "cli",
    owner: str | None = None,
    now: datetime | None = None,
) -> PARequest:
    ref = _check_ref(patient_ref)
    if urgency not in FOLLOW_UP_HOURS:
        raise InvalidInput("--urgency must be standard or expedited")
    if program not in PROGRAMS:
        raise InvalidInput(f"--program must be one of: {', '.join(PROGRAMS)}")
    if not drug.strip():
        raise InvalidInput("--drug is required")
    cal = load_calendar(store)
    if site is None:
        site = cal.default_site()
    elif site not in cal.sites:
        raise NotFound(f"unknown site '{site}' (known: {', '.join(cal.sites) or 'none yet'})")
    if submitted.tzinfo is None:  # a wall-clock time at the site
        submitted = submitted.replace(tzinfo=cal.tz(site))
    at = _aware(now) if now else datetime.now(UTC)
    with store.begin() as conn:
        n = conn.execute(select(func.count()).select_from(t.pa_requests)).scalar_one()
        pa_id = f"PA-{n + 1:04d}"
        while conn.execute(select(t.pa_requests.c.id).where(t.pa_requests.c.id == pa_id)).first():
            n += 1
            pa_id = f"PA-{n + 1:04d}"
        conn.execute(
            insert(t.pa_requests).values(
                id=pa_id,
                patient_ref=ref,
                drug=drug.strip(),
                program=program,
                urgency=urgency,
                submitted_at=submitted.astimezone(UTC),
                site=site,
                status="submitted",
                owner=owner or "technician",
                created_by=actor,
                updated_at=at,
            )
        )
        audit.record(
            conn,
            actor=actor,
            action="pa.track",
            target=pa_id,
            patient_ref=ref,
            detail={"urgency": urgency, "program": program},
        )
    return _with_deadlines(store, pa_id, now)


def resolve(store: Store, ref: str) -> str:
    """A PA id, or a patient reference with exactly one tracked PA."""
    with store.begin() as conn:
        if conn.execute(select(t.pa_requests.c.id).where(t.pa_requests.c.id == ref)).first():
            return ref
        ids = list(
            conn.execute(
                select(t.pa_requests.c.id)
                .where(t.pa_requests.c.patient_ref == ref)
                .order_by(t.pa_requests.c.id)
            ).scalars()
        )
    if not ids:
        raise NotFound(f"no tracked PA '{ref}' (give a PA id or a patient reference; see: rxdesk pa list)")
    if len(ids) > 1:
        raise InvalidInput(f"patient reference '{ref}' has {len(ids)} PAs ({', '.join(ids)}): give the PA id")
    return ids[0]


def update_status(
    store: Store,
    ref: str,
    *,
    status: str,
    until: date | None = None,
    notice_date: date | None = None,
    actor: str = "cli",
    now: datetime | None = None,
) -> PARequest:
    if status not in ("approved", "denied", "submitted"):
        raise InvalidInput("--status must be approved or denied")
    if status == "approved" and notice_date is not None:
        raise InvalidInput("--notice-date applies to a denial")
    if status == "denied" and until is not None:
        raise InvalidInput("--until applies to an approval (the date the approval ends)")
    pa_id = resolve(store, ref)
    at = _aware(now) if now else datetime.now(UTC)
    with store.begin() as conn:
        row = conn.execute(select(t.pa_requests).where(t.pa_requests.c.id == pa_id)).mappings().one()
        submitted_day = _aware(row["submitted_at"]).date()
        if notice_date is not None and notice_date < submitted_day - timedelta(days=1):
            raise InvalidInput(
                f"--notice-date {notice_date} is before the PA was submitted ({submitted_day})"
            )
        if until is not None and until < submitted_day:
            raise InvalidInput(f"--until {until} is before the PA was submitted ({submitted_day})")
        conn.execute(
            update(t.pa_requests)
            .where(t.pa_requests.c.id == pa_id)
            .values(status=status, until=until, notice_date=notice_date, updated_at=at)
        )
        audit.record(
            conn,
            actor=actor,
            action="pa.update",
            target=pa_id,
            patient_ref=row["patient_ref"],
            detail={"status": status},
        )
    return _with_deadlines(store, pa_id, now)


def list_pas(store: Store, *, now: datetime | None = None) -> list[PARequest]:
    cal = load_calendar(store)
    return [_with_deadlines(store, p.id, now) for p in cal.pas]


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
