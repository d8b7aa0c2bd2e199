"""The obligations library: parse and validate a YAML file whole, then import it in one transaction.

A bad file is rejected before anything is written, with a one-line message naming the entry and the
field, e.g. ``obligations.yaml: obligation 'dea-registration': field 'schedule.rrule': ...``.
Import is idempotent by id: sites and obligations are inserted or updated, never duplicated, and
entries absent from the file are left alone (a pharmacy's own file adds to the shipped library).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select, update

from assistant import audit, strict_yaml
from assistant.access import guarded
from assistant.calendar import tables as t
from assistant.calendar.models import (
    FixedSchedule,
    ImportResult,
    Library,
    Obligation,
    OnceSchedule,
    RollingSchedule,
    Schedule,
    Site,
)
from assistant.calendar.schedule import check_date, parse_duration, validate_rrule
from assistant.errors import InvalidInput
from assistant.files import read_input_text
from assistant.principal import Principal
from assistant.roles import Action, Role
from assistant.store import Store

_TOP_KEYS = {"sites", "obligations", "credential_reminders"}
_SCHEDULE_FORMS: list[tuple[frozenset[str], type]] = [
    (frozenset({"rrule", "start"}), FixedSchedule),
    (frozenset({"every", "first_due"}), RollingSchedule),
    (frozenset({"once"}), OnceSchedule),
]
_MAX_LEAD = 3650


class _EntryError(Exception):
    def __init__(self, field: str, msg: str) -> None:
        super().__init__(msg)
        self.field = field
        self.msg = msg


def _pyd_error(exc: ValidationError, prefix: str = "") -> _EntryError:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"] if p not in ("function-after[_known_zone(), str]",))
    field = f"{prefix}.{loc}" if prefix and loc else (prefix or loc or "?")
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    elif err["type"] == "missing":
        msg = "is required"
    return _EntryError(field, msg.splitlines()[0])


def _parse_schedule(raw: Any) -> Schedule:
    if not isinstance(raw, dict):
        raise _EntryError("schedule", "expected a mapping like {rrule: ..., start: ...}")
    keys = set(raw)
    for form, model in _SCHEDULE_FORMS:
        if keys & form and keys <= form:
            missing = sorted(form - keys)
            if missing:
                raise _EntryError(f"schedule.{missing[0]}", "is required")
            try:
                sched = model.model_validate(raw)
            except ValidationError as exc:
                raise _pyd_error(exc, "schedule") from None
            break
    else:
        raise _EntryError("schedule", "give exactly one of {rrule, start}, {every, first_due} or {once}")
    if isinstance(sched, FixedSchedule):
        try:
            validate_rrule(sched.rrule, sched.start)
        except ValueError as exc:
            raise _EntryError("schedule.rrule", str(exc)) from None
    elif isinstance(sched, RollingSchedule):
        try:
            parse_duration(sched.every)
        except ValueError as exc:
            raise _EntryError("schedule.every", str(exc)) from None
        try:
            check_date(sched.first_due, "first_due")
        except ValueError as exc:
            raise _EntryError("schedule.first_due", str(exc)) from None
        sched = RollingSchedule(every=sched.every.strip().upper(), first_due=sched.first_due)
    else:
        try:
            check_date(sched.once, "once")
        except ValueError as exc:
            raise _EntryError("schedule.once", str(exc)) from None
    return sched


def _parse_obligation(raw: dict[str, Any]) -> Obligation:
    if "id" not in raw:
        raise _EntryError("id", "is required")
    schedule = _parse_schedule(raw["schedule"]) if "schedule" in raw else None
    if schedule is None:
        raise _EntryError("schedule", "is required")
    data = {**raw, "schedule": schedule}
    for text_field in ("citation", "evidence", "owner", "title", "category", "notes", "credential"):
        if isinstance(data.get(text_field), int | float):
            data[text_field] = str(data[text_field])
    try:
        ob = Obligation.model_validate(data)
    except ValidationError as exc:
        raise _pyd_error(exc) from None
    if ob.applies_to != "site":
        role = ob.staff_role
        if role is None or role not in {r.value for r in Role}:
            allowed = ", ".join(f"staff:{r.value}" for r in Role)
            raise _EntryError("applies_to", f"'{ob.applies_to}' is not 'site' or one of {allowed}")
    for i, d in enumerate(ob.remind_days):
        if not 0 <= d <= _MAX_LEAD:
            raise _EntryError(f"remind_days.{i}", f"{d} is not between 0 and {_MAX_LEAD} days")
    return ob.model_copy(update={"remind_days": sorted(set(ob.remind_days), reverse=True)})


def parse_library(text: str, name: str = "obligations.yaml") -> Library:
    """Validate a whole library; raise :class:`InvalidInput` naming the entry and field."""
    # strict YAML: dates stay strings (a bad one is reported against its field), no duplicate keys
    data = strict_yaml.load(text, name)
    if data is None:
        raise InvalidInput(f"{name}: the file is empty")
    if not isinstance(data, dict):
        raise InvalidInput(f"{name}: expected a mapping with 'sites' and 'obligations'")
    unknown = sorted(set(map(str, data)) - _TOP_KEYS)
    if unknown:
        raise InvalidInput(f"{name}: unknown top-level key '{unknown[0]}' (expected {sorted(_TOP_KEYS)})")

    sites: list[Site] = []
    raw_sites = data.get("sites") or []
    if not isinstance(raw_sites, list):
        raise InvalidInput(f"{name}: 'sites' must be a list")
    for i, raw in enumerate(raw_sites):
        label = f"site '{raw.get('id')}'" if isinstance(raw, dict) and raw.get("id") else f"sites[{i}]"
        if not isinstance(raw, dict):
            raise InvalidInput(f"{name}: {label}: expected a mapping")
        try:
            site = Site.model_validate(raw)
        except ValidationError as exc:
            e = _pyd_error(exc)
            raise InvalidInput(f"{name}: {label}: field '{e.field}': {e.msg}") from None
        if any(s.id == site.id for s in sites):
            raise InvalidInput(f"{name}: {label}: field 'id': duplicate id '{site.id}'")
        sites.append(site)

    obligations: list[Obligation] = []
    raw_obs = data.get("obligations") or []
    if not isinstance(raw_obs, list):
        raise InvalidInput(f"{name}: 'obligations' must be a list")
    seen: set[str] = set()
    for i, raw in enumerate(raw_obs):
        has_id = isinstance(raw, dict) and isinstance(raw.get("id"), str)
        label = f"obligation '{raw['id']}'" if has_id else f"obligations[{i}]"
        if not isinstance(raw, dict):
            raise InvalidInput(f"{name}: {label}: expected a mapping")
        try:
            ob = _parse_obligation(raw)
        except _EntryError as e:
            raise InvalidInput(f"{name}: {label}: field '{e.field}': {e.msg}") from None
        if ob.id in seen:
            raise InvalidInput(f"{name}: {label}: field 'id': duplicate id '{ob.id}'")
        seen.add(ob.id)
        obligations.append(ob)

    reminders: dict[str, list[int]] = {}
    raw_rem = data.get("credential_reminders") or {}
    if not isinstance(raw_rem, dict):
        raise InvalidInput(f"{name}: 'credential_reminders' must be a mapping of credential type to days")
    for ctype, days in raw_rem.items():
        label = f"credential_reminders '{ctype}'"
        if isinstance(days, int) and not isinstance(days, bool):
            days = [days]
        if not isinstance(days, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= _MAX_LEAD for d in days
        ):
            raise InvalidInput(f"{name}: {label}: expected a list of lead days between 0 and {_MAX_LEAD}")
        reminders[str(ctype)] = sorted(set(days), reverse=True)
    return Library(sites=sites, obligations=obligations, credential_reminders=reminders)


def load_library_file(path: Path) -> Library:
    return parse_library(read_input_text(path, what="obligations file", max_bytes=5 << 20), path.name)


@guarded(Action.MANAGE_CALENDAR, "calendar.import")
def import_library(
    store: Store, path: Path, *, principal: Principal, since: date | None = None
) -> ImportResult:
    """Validate ``path`` whole, then upsert its sites, obligations and credential lead days at once.

    ``since`` is the date tracking begins for obligations seen for the first time (default: today,
    UTC): dates of a calendar rule (RRULE) due before it are assumed handled before rxdesk and are
    never shown overdue. ``once`` dates and rolling ``first_due`` dates are tracked as written.
    """
    lib = load_library_file(path)
    result = ImportResult(file=path.name)
    now = datetime.now(UTC)
    tracked_from = since or now.date()
    with store.begin() as conn:
        have_sites = {r.id: r for r in conn.execute(select(t.sites))}
        for s in lib.sites:
            row = s.model_dump(exclude={"id"})
            if s.id in have_sites:
                conn.execute(update(t.sites).where(t.sites.c.id == s.id).values(**row))
                result.sites_updated += 1
            else:
                conn.execute(insert(t.sites).values(id=s.id, **row))
                result.sites_added += 1
        have_obs = {r.id: r.data for r in conn.execute(select(t.obligations.c.id, t.obligations.c.data))}
        for ob in lib.obligations:
            data = ob.model_dump(mode="json")
            if ob.id not in have_obs:
                conn.execute(
                    insert(t.obligations).values(
                        id=ob.id, data=data, tracked_from=tracked_from, updated_at=now
                    )
                )
                result.obligations_added += 1
            elif have_obs[ob.id] != data:
                conn.execute(
                    update(t.obligations).where(t.obligations.c.id == ob.id).values(data=data, updated_at=now)
                )
                result.obligations_updated += 1
            else:
                result.obligations_unchanged += 1
        have_rem = set(conn.execute(select(t.credential_reminders.c.type)).scalars())
        for ctype, days in lib.credential_reminders.items():
            if ctype in have_rem:
                conn.execute(
                    update(t.credential_reminders)
                    .where(t.credential_reminders.c.type == ctype)
                    .values(days=days)
                )
            else:
                conn.execute(insert(t.credential_reminders).values(type=ctype, days=days))
            result.credential_reminders += 1
        audit.record(
            conn,
            actor=principal.id,
            action="calendar.import",
            target=path.name,
            detail=result.model_dump(exclude={"file"}),
        )
    return result
