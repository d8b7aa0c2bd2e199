"""Prior-authorization tracking: a PA is identified by an id (``PA-0001``) and a *patient reference*
(a token from the system of record), never a name. Its deadlines come from :mod:`pa_rules`."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, select, update

from assistant import audit
from assistant.access import guarded
from assistant.calendar import tables as t
from assistant.calendar.models import PARequest
from assistant.calendar.pa_rules import FOLLOW_UP_HOURS, PROGRAMS
from assistant.calendar.series import aware, load_calendar, pa_series, series_occurrences, site_today
from assistant.errors import InvalidInput, NotFound
from assistant.phi import looks_like_a_name
from assistant.principal import Principal
from assistant.roles import Action
from assistant.store import Store

_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")


def _with_deadlines(store: Store, pa_id: str, now: datetime | None = None) -> PARequest:
    cal = load_calendar(store)
    pa = next((p for p in cal.pas if p.id == pa_id), None)
    if pa is None:
        raise NotFound(f"unknown PA '{pa_id}'", field="pa")
    tz = cal.tz(pa.site)
    today = site_today(tz, now)
    occs = [o for s in pa_series(pa, tz) for o in series_occurrences(s, cal, today, 3650)]
    return pa.model_copy(update={"deadlines": occs})


def _check_ref(patient_ref: str) -> str:
    ref = patient_ref.strip()
    if not _REF.match(ref) or looks_like_a_name(patient_ref):
        raise InvalidInput(
            "the patient reference must be a token from your system of record (e.g. MRN-TOKEN-1234), "
            "not a patient name",
            field="patient_ref",
        )
    return ref


@guarded(Action.TRACK_PA, "pa.track")
def track(
    store: Store,
    *,
    principal: Principal,
    patient_ref: str,
    drug: str,
    submitted: datetime,
    urgency: str,
    site: str | None = None,
    program: str = "part_d",
    owner: str | None = None,
    now: datetime | None = None,
) -> PARequest:
    """Track a submitted PA: the follow-up deadline follows from its urgency."""
    ref = _check_ref(patient_ref)
    if urgency not in FOLLOW_UP_HOURS:
        raise InvalidInput("urgency must be standard or expedited", field="urgency")
    if program not in PROGRAMS:
        raise InvalidInput(f"the program must be one of: {', '.join(PROGRAMS)}", field="program")
    if not drug.strip():
        raise InvalidInput("which drug is the PA for?", field="drug")
    cal = load_calendar(store)
    if site is None:
        site = cal.default_site()
    elif site not in cal.sites:
        raise NotFound(f"unknown site '{site}' (known: {', '.join(cal.sites) or 'none yet'})", field="site")
    if submitted.tzinfo is None:  # a wall-clock time at the site
        submitted = submitted.replace(tzinfo=cal.tz(site))
    at = aware(now) if now else datetime.now(UTC)
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
                owner=owner or principal.id,
                created_by=principal.id,
                updated_at=at,
            )
        )
        audit.record(
            conn,
            actor=principal.id,
            action="pa.track",
            target=pa_id,
            patient_ref=ref,
            detail={"urgency": urgency, "program": program},
        )
    return _with_deadlines(store, pa_id, now)


def _resolve(store: Store, ref: str) -> str:
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
        raise NotFound(f"no tracked PA '{ref}' (give a PA id or a patient reference)", field="pa")
    if len(ids) > 1:
        raise InvalidInput(
            f"patient reference '{ref}' has {len(ids)} PAs ({', '.join(ids)}): give the PA id", field="pa"
        )
    return ids[0]


@guarded(Action.TRACK_PA, "pa.update")
def update_status(
    store: Store,
    ref: str,
    *,
    principal: Principal,
    status: str,
    until: date | None = None,
    notice_date: date | None = None,
    now: datetime | None = None,
) -> PARequest:
    """Record the payer's decision: a renewal reminder or the redetermination deadline follows."""
    if status not in ("approved", "denied", "submitted"):
        raise InvalidInput("the payer's decision must be approved or denied", field="status")
    if status == "approved" and notice_date is not None:
        raise InvalidInput("a notice date applies to a denial", field="notice_date")
    if status == "denied" and until is not None:
        raise InvalidInput("an end date applies to an approval (the date the approval ends)", field="until")
    pa_id = _resolve(store, ref)
    at = aware(now) if now else datetime.now(UTC)
    with store.begin() as conn:
        row = conn.execute(select(t.pa_requests).where(t.pa_requests.c.id == pa_id)).mappings().one()
        submitted_day = aware(row["submitted_at"]).date()
        if notice_date is not None and notice_date < submitted_day - timedelta(days=1):
            raise InvalidInput(
                f"the notice date {notice_date} is before the PA was submitted ({submitted_day})",
                field="notice_date",
            )
        if until is not None and until < submitted_day:
            raise InvalidInput(
                f"the approval end date {until} is before the PA was submitted ({submitted_day})",
                field="until",
            )
        conn.execute(
            update(t.pa_requests)
            .where(t.pa_requests.c.id == pa_id)
            .values(status=status, until=until, notice_date=notice_date, updated_at=at)
        )
        audit.record(
            conn,
            actor=principal.id,
            action="pa.update",
            target=pa_id,
            patient_ref=row["patient_ref"],
            detail={"status": status},
        )
    return _with_deadlines(store, pa_id, now)


@guarded(Action.TRACK_PA, "pa.list")
def list_pas(store: Store, *, principal: Principal, now: datetime | None = None) -> list[PARequest]:
    """Tracked PAs (patient tokens, never names) with their deadlines."""
    cal = load_calendar(store)
    return [_with_deadlines(store, p.id, now) for p in cal.pas]
