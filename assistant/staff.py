"""Staff directory: who works here, their role, Slack id and credentials (licenses, registrations)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy import Connection, delete, insert, select, update

from assistant import audit, strict_yaml
from assistant.access import guarded
from assistant.drafting.codes import npi_problem
from assistant.errors import InvalidInput, NotFound
from assistant.files import read_input_text
from assistant.principal import Principal
from assistant.roles import Action, Role
from assistant.store import Store
from assistant.store.tables import staff as staff_table
from assistant.store.tables import staff_credentials


class Credential(BaseModel):
    type: str = Field(min_length=1, description="e.g. pharmacist_license, ptcb_cpht, bls")
    number: str | None = None
    expires: date | None = None


class StaffMember(BaseModel):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str = Field(min_length=1)
    role: Role
    site: str | None = None
    slack_user_id: str | None = None
    credentials: list[Credential] = Field(default_factory=list)
    # how a pharmacist signs approved documents (printed under their name)
    npi: str | None = Field(default=None, pattern=r"^\d{10}$")
    display_credentials: str | None = Field(
        default=None, description='Letters after the name, e.g. "PharmD, RPh".'
    )

    @field_validator("role", mode="before")
    @classmethod
    def _lower(cls, v: object) -> object:
        return v.strip().lower() if isinstance(v, str) else v

    def principal(self) -> Principal:
        """This person as the principal of a service call."""
        return Principal(
            id=self.id, role=self.role, name=self.name, site=self.site, slack_user_id=self.slack_user_id
        )

    @field_validator("npi")
    @classmethod
    def _npi(cls, v: str | None) -> str | None:
        """An NPI printed under a signature must be a real one (check digit)."""
        if v is not None and (why := npi_problem(v)):
            raise ValueError(why)
        return v


class StaffImportResult(BaseModel):
    added: int
    updated: int
    total: int


def _first_error(exc: ValidationError, where: str) -> InvalidInput:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    return InvalidInput(f"{where}: field '{loc}': {err['msg']}")


def parse_staff_file(path: Path) -> list[StaffMember]:
    """Validate the whole file first; a bad entry rejects the file (nothing half-imported)."""
    # strict: UTF-8, at most 1 MB, no duplicate keys, dates checked by the model (not by PyYAML)
    data = strict_yaml.load(read_input_text(path, what="staff file", max_bytes=1 << 20), path.name)
    items = data.get("staff") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InvalidInput(f"{path.name}: expected a list of staff (or a 'staff:' key holding one)")
    members: list[StaffMember] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        label = f"{path.name}: staff[{i}]" + (f" ({item.get('id')})" if isinstance(item, dict) else "")
        if not isinstance(item, dict):
            raise InvalidInput(f"{label}: expected a mapping")
        try:
            member = StaffMember.model_validate(item)
        except ValidationError as exc:
            raise _first_error(exc, label) from None
        if member.id in seen:
            raise InvalidInput(f"{label}: duplicate id '{member.id}'")
        seen.add(member.id)
        members.append(member)
    return members


@guarded(Action.MANAGE_STAFF, "staff.import")
def import_staff(store: Store, path: Path, *, principal: Principal) -> StaffImportResult:
    """Add or update staff from a YAML file (all-or-nothing, idempotent by id)."""
    members = parse_staff_file(path)
    added = updated = 0
    with store.begin() as conn:
        existing = set(conn.execute(select(staff_table.c.id)).scalars())
        for m in members:
            row = {
                "name": m.name,
                "role": m.role.value,
                "site": m.site,
                "slack_user_id": m.slack_user_id,
                "npi": m.npi,
                "display_credentials": m.display_credentials,
            }
            if m.id in existing:
                conn.execute(update(staff_table).where(staff_table.c.id == m.id).values(**row))
                conn.execute(delete(staff_credentials).where(staff_credentials.c.staff_id == m.id))
                updated += 1
            else:
                conn.execute(insert(staff_table).values(id=m.id, **row))
                added += 1
            for c in m.credentials:
                conn.execute(insert(staff_credentials).values(staff_id=m.id, **c.model_dump()))
        audit.record(
            conn,
            actor=principal.id,
            action="staff.import",
            target=path.name,
            detail={"added": added, "updated": updated},
        )
    return StaffImportResult(added=added, updated=updated, total=len(members))


@guarded(Action.VIEW_STAFF, "staff.list")
def staff_directory(store: Store, *, principal: Principal) -> list[StaffMember]:
    """The directory as people see it (names, roles, Slack ids, credential expiries)."""
    return list_staff(store)


def list_staff(store: Store, *, site: str | None = None, role: Role | None = None) -> list[StaffMember]:
    """Internal lookup (identity resolution, the calendar's credential deadlines)."""
    with store.begin() as conn:
        q = select(staff_table).order_by(staff_table.c.id)
        if site:
            q = q.where(staff_table.c.site == site)
        if role:
            q = q.where(staff_table.c.role == role.value)
        rows = conn.execute(q).mappings().all()
        creds = conn.execute(select(staff_credentials).order_by(staff_credentials.c.id)).mappings().all()
    by_staff: dict[str, list[Credential]] = {}
    for c in creds:
        by_staff.setdefault(c["staff_id"], []).append(
            Credential(type=c["type"], number=c["number"], expires=c["expires"])
        )
    return [
        StaffMember(
            id=r["id"],
            name=r["name"],
            role=Role(r["role"]),
            site=r["site"],
            slack_user_id=r["slack_user_id"],
            credentials=by_staff.get(r["id"], []),
            npi=r["npi"],
            display_credentials=r["display_credentials"],
        )
        for r in rows
    ]


def get_staff(store: Store, staff_id: str) -> StaffMember:
    for member in list_staff(store):
        if member.id == staff_id:
            return member
    raise NotFound(f"unknown staff id '{staff_id}'", field="staff_id")


def find_by_slack_user(store: Store, slack_user_id: str) -> StaffMember | None:
    with store.begin() as conn:
        staff_id = conn.execute(
            select(staff_table.c.id).where(staff_table.c.slack_user_id == slack_user_id)
        ).scalar_one_or_none()
    return get_staff(store, staff_id) if staff_id else None


@guarded(Action.MANAGE_STAFF, "staff.credential_renewed")
def set_credential_expiry(
    store: Store,
    staff_id: str,
    cred_type: str,
    expires: date,
    *,
    principal: Principal,
    number: str | None = None,
) -> Credential:
    """Record a renewal: the credential of that type gets its new expiry (created if absent)."""
    get_staff(store, staff_id)
    with store.begin() as conn:
        record_credential_expiry(conn, staff_id, cred_type, expires, actor=principal.id, number=number)
    return next(c for c in get_staff(store, staff_id).credentials if c.type == cred_type)


def record_credential_expiry(
    conn: Connection, staff_id: str, cred_type: str, expires: date, *, actor: str, number: str | None = None
) -> None:
    """The write behind :func:`set_credential_expiry`, inside the caller's transaction."""
    existing = conn.execute(
        select(staff_credentials.c.id).where(
            staff_credentials.c.staff_id == staff_id, staff_credentials.c.type == cred_type
        )
    ).scalar_one_or_none()
    values: dict[str, object] = {"expires": expires}
    if number is not None:
        values["number"] = number
    if existing is None:
        conn.execute(insert(staff_credentials).values(staff_id=staff_id, type=cred_type, **values))
    else:
        conn.execute(update(staff_credentials).where(staff_credentials.c.id == existing).values(**values))
    audit.record(
        conn,
        actor=actor,
        action="staff.credential_renewed",
        target=staff_id,
        detail={"type": cred_type, "expires": expires.isoformat()},
    )
