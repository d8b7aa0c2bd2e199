"""Draft lifecycle: create -> (edit -> new version)* -> approved | changes_requested | discarded.

Service functions take and return pydantic models so the CLI, Slack and an LLM agent's tools can
share them. Approval is a human action: only a pharmacist (checked here, server side, against the
delegation matrix) may approve or request changes. Every create, view, edit, approval attempt,
change request, discard and export is written to the audit log with a patient *token*, never PHI.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy import Connection, insert, select, update

from assistant import audit
from assistant.drafting import final, render
from assistant.drafting.case import Case
from assistant.drafting.document import Document
from assistant.drafting.kinds import get_kind
from assistant.drafting.kinds.base import DRAFT_BANNER
from assistant.drafting.pipeline import DraftContent, compose, draft_markdown
from assistant.drafting.validate import validate_case
from assistant.errors import InvalidInput, NotFound, PermissionDenied
from assistant.review.tables import draft_reviews, draft_versions, drafts
from assistant.roles import Action, require
from assistant.staff import StaffMember, get_staff
from assistant.store import Store

ANONYMOUS = "cli"  # actor recorded when a draft is created without --as (no role; cannot review)


class Status(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    DISCARDED = "discarded"


class ReviewEvent(BaseModel):
    version: int
    action: str
    actor: str
    reason: str | None = None
    at: dt.datetime


class DraftSummary(BaseModel):
    draft_id: int
    kind: str
    version: int
    status: Status
    patient_ref: str | None
    missing_count: int
    error_count: int
    created_by: str
    updated_at: dt.datetime


class DraftView(BaseModel):
    draft_id: int
    kind: str
    version: int
    status: Status
    missing: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    markdown: str
    patient_ref: str | None = None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    content_sha256: str
    approved_by: str | None = None
    approved_at: dt.datetime | None = None
    override_reason: str | None = None
    history: list[ReviewEvent] = Field(default_factory=list)


class ExportResult(BaseModel):
    draft_id: int
    version: int
    status: Status
    format: str
    path: str
    bytes: int
    sha256: str


# ---- helpers -------------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:  # SQLite drops the offset; we always store UTC
        return value.replace(tzinfo=dt.UTC)
    return value


def _who(actor: StaffMember | None) -> str:
    return actor.id if actor else ANONYMOUS


def _key(store: Store) -> bytes:
    """Per-installation secret for patient tokens (created on first use, readable by owner only)."""
    path = Path(store.data_dir) / "patient_ref.key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()


def patient_ref(store: Store, case: Case) -> str | None:
    """A stable pseudonymous token for the patient (keyed hash of name + DOB) for the audit log."""
    p = case.patient
    if not p.name and not p.dob:
        return None
    ident = f"{' '.join((p.name or '').lower().split())}|{p.dob.isoformat() if p.dob else ''}"
    return "pt_" + hmac.new(_key(store), ident.encode(), hashlib.sha256).hexdigest()[:16]


def _check(
    store: Store, actor: StaffMember | None, action: Action, *, draft_id: int | None, event: str
) -> None:
    """Role check; a refusal is audited (outcome "denied") in its own transaction, then raised."""
    if actor is None:
        raise InvalidInput(f"{event.replace('draft.', '')} needs --as STAFF_ID (a person must be on record)")
    try:
        require(actor.role, action, who=actor.id)
    except PermissionDenied:
        audit.record(
            store,
            actor=actor.id,
            action=event,
            target=f"draft:{draft_id}" if draft_id is not None else None,
            outcome="denied",
            detail={"role": actor.role.value},
        )
        raise


def _content(kind: str, case: Case, today: dt.date | None) -> DraftContent:
    return compose(kind, case, today=today)


def _insert_version(
    conn: Connection, draft_id: int, version: int, case: Case, c: DraftContent, who: str
) -> None:
    conn.execute(
        insert(draft_versions).values(
            draft_id=draft_id,
            version=version,
            case_data=case.model_dump(mode="json", exclude_defaults=True),
            document=c.document.model_dump(mode="json"),
            missing=c.missing,
            warnings=c.warnings,
            errors=c.errors,
            content_sha256=c.document.content_sha256(),
            created_by=who,
            created_at=_now(),
        )
    )


def _refuse_errors(c: DraftContent) -> None:
    if c.errors:
        more = f" (+{len(c.errors) - 1} more)" if len(c.errors) > 1 else ""
        raise InvalidInput(f"case has errors, nothing stored: {c.errors[0]}{more}")


def _load(conn: Connection, draft_id: int) -> tuple[dict, dict]:
    d = conn.execute(select(drafts).where(drafts.c.id == draft_id)).mappings().first()
    if d is None:
        raise NotFound(f"no draft with id {draft_id} (see: rxdesk review list)")
    v = (
        conn.execute(
            select(draft_versions).where(
                draft_versions.c.draft_id == draft_id, draft_versions.c.version == d["current_version"]
            )
        )
        .mappings()
        .one()
    )
    return dict(d), dict(v)


def _banner(d: dict, v: dict) -> str:
    status = Status(d["status"])
    if status is Status.APPROVED:
        at = _utc(v["approved_at"])
        return (
            f"APPROVED by {v['approved_by']} on {at:%Y-%m-%d %H:%M} UTC "
            f"(version {v['version']}, sha256 {v['content_sha256'][:12]})"
        )
    if status is Status.DISCARDED:
        return "DISCARDED - do not use."
    if status is Status.CHANGES_REQUESTED:
        return DRAFT_BANNER + " Changes requested."
    return DRAFT_BANNER


def _view(conn: Connection, draft_id: int) -> DraftView:
    d, v = _load(conn, draft_id)
    rows = conn.execute(
        select(draft_reviews).where(draft_reviews.c.draft_id == draft_id).order_by(draft_reviews.c.id)
    ).mappings()
    history = [
        ReviewEvent(
            version=r["version"], action=r["action"], actor=r["actor"], reason=r["reason"], at=_utc(r["at"])
        )
        for r in rows
    ]
    content = DraftContent(
        kind=d["kind"],
        document=Document.model_validate(v["document"]),
        missing=v["missing"],
        warnings=v["warnings"],
        errors=v["errors"],
    )
    approved = Status(d["status"]) is Status.APPROVED
    return DraftView(
        draft_id=d["id"],
        kind=d["kind"],
        version=v["version"],
        status=Status(d["status"]),
        missing=v["missing"],
        warnings=v["warnings"],
        errors=v["errors"],
        markdown=draft_markdown(content, _banner(d, v), notes=not approved),
        patient_ref=d["patient_ref"],
        created_by=d["created_by"],
        created_at=_utc(d["created_at"]),
        updated_at=_utc(d["updated_at"]),
        content_sha256=v["content_sha256"],
        approved_by=v["approved_by"],
        approved_at=_utc(v["approved_at"]),
        override_reason=v["override_reason"],
        history=history,
    )


def _review_event(
    conn: Connection, draft_id: int, version: int, action: str, actor: str, reason: str | None
) -> None:
    conn.execute(
        insert(draft_reviews).values(
            draft_id=draft_id, version=version, action=action, actor=actor, reason=reason, at=_now()
        )
    )


# ---- public API ----------------------------------------------------------------------------------


def create_draft(
    store: Store,
    kind: str,
    case: Case,
    actor: StaffMember | None,
    *,
    allow_errors: bool = False,
    source: str = "case",
    today: dt.date | None = None,
) -> DraftView:
    """Draft ``kind`` from ``case``. A case with validation errors is refused (nothing stored) unless
    ``allow_errors``; then the errors are kept on the draft and block approval."""
    module = get_kind(kind)
    if actor is not None:
        _check(store, actor, module.ACTION, draft_id=None, event="draft.create")
    content = _content(kind, case, today)
    if not allow_errors:
        _refuse_errors(content)
    who = _who(actor)
    ref = patient_ref(store, case)
    now = _now()
    with store.begin() as conn:
        draft_id = conn.execute(
            insert(drafts).values(
                kind=kind,
                status=Status.DRAFT.value,
                current_version=1,
                patient_ref=ref,
                created_by=who,
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]
        _insert_version(conn, draft_id, 1, case, content, who)
        audit.record(
            conn,
            actor=who,
            action="draft.create",
            target=f"draft:{draft_id}",
            patient_ref=ref,
            detail={
                "kind": kind,
                "source": source,
                "missing": len(content.missing),
                "errors": len(content.errors),
                "warnings": len(content.warnings),
            },
        )
        return _view(conn, draft_id)


def get_draft(store: Store, draft_id: int, actor: StaffMember | None) -> DraftView:
    if actor is not None:
        _check(store, actor, Action.VIEW_DRAFT, draft_id=draft_id, event="draft.view")
    with store.begin() as conn:
        view = _view(conn, draft_id)
        audit.record(
            conn,
            actor=_who(actor),
            action="draft.view",
            target=f"draft:{draft_id}",
            patient_ref=view.patient_ref,
            detail={"version": view.version},
        )
    return view


def get_case(store: Store, draft_id: int, version: int | None = None) -> Case:
    """The case behind a draft version (for editing); not audited on its own, callers audit."""
    with store.begin() as conn:
        d, v = _load(conn, draft_id)
        if version is not None and version != v["version"]:
            row = conn.execute(
                select(draft_versions.c.case_data).where(
                    draft_versions.c.draft_id == draft_id, draft_versions.c.version == version
                )
            ).scalar_one_or_none()
            if row is None:
                raise NotFound(f"draft {draft_id} has no version {version}")
            return Case.model_validate(row)
    return Case.model_validate(v["case_data"])


def list_drafts(
    store: Store, actor: StaffMember | None, *, status: Status | None = None
) -> list[DraftSummary]:
    """The queue, newest first. Shows task metadata only (kind, status, counts, patient token)."""
    if actor is not None:
        _check(store, actor, Action.VIEW_DRAFT, draft_id=None, event="draft.list")
    q = (
        select(drafts, draft_versions.c.missing, draft_versions.c.errors)
        .join(
            draft_versions,
            (draft_versions.c.draft_id == drafts.c.id)
            & (draft_versions.c.version == drafts.c.current_version),
        )
        .order_by(drafts.c.id.desc())
    )
    if status is not None:
        q = q.where(drafts.c.status == status.value)
    with store.begin() as conn:
        rows = conn.execute(q).mappings().all()
    return [
        DraftSummary(
            draft_id=r["id"],
            kind=r["kind"],
            version=r["current_version"],
            status=Status(r["status"]),
            patient_ref=r["patient_ref"],
            missing_count=len(r["missing"]),
            error_count=len(r["errors"]),
            created_by=r["created_by"],
            updated_at=_utc(r["updated_at"]),
        )
        for r in rows
    ]


def _closed(d: dict, what: str) -> None:
    if d["status"] in (Status.APPROVED.value, Status.DISCARDED.value):
        raise InvalidInput(
            f"draft {d['id']} is {d['status']}; it can no longer be {what} (start a new draft)"
        )


def edit_draft(
    store: Store,
    draft_id: int,
    case: Case,
    actor: StaffMember | None,
    *,
    allow_errors: bool = False,
    today: dt.date | None = None,
) -> DraftView:
    """Save a new version from ``case``; the draft goes back to ``draft`` for review."""
    _check(store, actor, Action.EDIT_DRAFT, draft_id=draft_id, event="draft.edit")
    assert actor is not None
    with store.begin() as conn:
        d, v = _load(conn, draft_id)
    _closed(d, "edited")
    # editing a clinical document is clinical work: the kind's drafting permission applies too
    _check(store, actor, get_kind(d["kind"]).ACTION, draft_id=draft_id, event="draft.edit")
    content = _content(d["kind"], case, today)
    if not allow_errors:
        _refuse_errors(content)
    with store.begin() as conn:
        d, v = _load(conn, draft_id)  # re-read inside the transaction
        _closed(d, "edited")
        new_version = v["version"] + 1
        _insert_version(conn, draft_id, new_version, case, content, actor.id)
        ref = patient_ref(store, case)
        conn.execute(
            update(drafts)
            .where(drafts.c.id == draft_id)
            .values(
                current_version=new_version, status=Status.DRAFT.value, updated_at=_now(), patient_ref=ref
            )
        )
        _review_event(conn, draft_id, new_version, "edit", actor.id, None)
        audit.record(
            conn,
            actor=actor.id,
            action="draft.edit",
            target=f"draft:{draft_id}",
            patient_ref=ref,
            detail={"version": new_version, "missing": len(content.missing), "errors": len(content.errors)},
        )
        return _view(conn, draft_id)


def approve(
    store: Store, draft_id: int, actor: StaffMember | None, *, override_reason: str | None = None
) -> DraftView:
    """Pharmacist approval of the current version. Validation errors block it; missing required facts
    need an explicit ``override_reason``. The approved version is then immutable."""
    _check(store, actor, Action.APPROVE_DRAFT, draft_id=draft_id, event="draft.approve")
    assert actor is not None
    override_reason = (override_reason or "").strip() or None
    with store.begin() as conn:
        d, v = _load(conn, draft_id)
        if d["status"] != Status.DRAFT.value:
            hint = " (edit it first)" if d["status"] == Status.CHANGES_REQUESTED.value else ""
            raise InvalidInput(f"draft {draft_id} is {d['status']}; only a draft can be approved{hint}")
        case = Case.model_validate(v["case_data"])
        errors = list(dict.fromkeys(v["errors"] + validate_case(case, d["kind"]).errors))
        if errors:
            raise InvalidInput(f"draft {draft_id} cannot be approved: {errors[0]} ({len(errors)} error(s))")
        # issue 11: what the recipient cannot do without, and the approver as signer (assistant.drafting.final)
        signer = final.signer_for(actor.name, actor.display_credentials, actor.npi, case)
        check = final.approval_check(
            d["kind"], case, signer=signer, drafted_on=_utc(v["created_at"]).date(), approved_on=_now().date()
        )
        if why := final.refusal(draft_id, d["kind"], check):
            raise InvalidInput(why)
        if check.handwritten and not override_reason:
            raise InvalidInput(
                f"draft {draft_id} has {len(check.handwritten)} missing required fact(s) "
                f"({', '.join(check.handwritten[:3])}); approve with --override-reason to accept them"
            )
        doc = Document.model_validate(v["document"])
        if doc.content_sha256() != v["content_sha256"]:
            raise InvalidInput(f"draft {draft_id} content does not match its recorded hash; not approved")
        now = _now()
        conn.execute(
            update(draft_versions)
            .where(draft_versions.c.draft_id == draft_id, draft_versions.c.version == v["version"])
            .values(
                approved_by=actor.id,
                approved_at=now,
                override_reason=override_reason,
                signer=signer.model_dump(),
            )
        )
        conn.execute(
            update(drafts).where(drafts.c.id == draft_id).values(status=Status.APPROVED.value, updated_at=now)
        )
        _review_event(conn, draft_id, v["version"], "approve", actor.id, override_reason)
        audit.record(
            conn,
            actor=actor.id,
            action="draft.approve",
            target=f"draft:{draft_id}",
            patient_ref=d["patient_ref"],
            detail={
                "version": v["version"],
                "sha256": v["content_sha256"],
                "override": override_reason is not None,
                "missing": len(v["missing"]),
            },
        )
        return _view(conn, draft_id)


def _set_status(
    conn: Connection, d: dict, v: dict, status: Status, event: str, actor_id: str, reason: str | None
) -> None:
    """Move a draft to ``status``: the row, a review event and an audit entry, in one transaction."""
    conn.execute(update(drafts).where(drafts.c.id == d["id"]).values(status=status.value, updated_at=_now()))
    _review_event(conn, d["id"], v["version"], event, actor_id, reason)
    audit.record(
        conn,
        actor=actor_id,
        action=f"draft.{event}",
        target=f"draft:{d['id']}",
        patient_ref=d["patient_ref"],
        detail={"version": v["version"]},
    )


def request_changes(store: Store, draft_id: int, actor: StaffMember | None, *, reason: str) -> DraftView:
    _check(store, actor, Action.REQUEST_CHANGES, draft_id=draft_id, event="draft.request_changes")
    assert actor is not None
    if not reason or not reason.strip():
        raise InvalidInput("request-changes needs --reason")
    with store.begin() as conn:
        d, v = _load(conn, draft_id)
        if d["status"] != Status.DRAFT.value:
            raise InvalidInput(f"draft {draft_id} is {d['status']}; changes can only be requested on a draft")
        _set_status(conn, d, v, Status.CHANGES_REQUESTED, "request_changes", actor.id, reason.strip())
        return _view(conn, draft_id)


def discard(
    store: Store, draft_id: int, actor: StaffMember | None, *, reason: str | None = None
) -> DraftView:
    _check(store, actor, Action.DISCARD_DRAFT, draft_id=draft_id, event="draft.discard")
    assert actor is not None
    with store.begin() as conn:
        d, v = _load(conn, draft_id)
        _closed(d, "discarded")
        _set_status(conn, d, v, Status.DISCARDED, "discard", actor.id, reason)
        return _view(conn, draft_id)


FORMATS = ("md", "docx", "pdf")


def _stamp(store: Store, d: dict, v: dict) -> final.ApprovalStamp:
    """The approval record of an approved version (issue 11); the signer was frozen at approval."""
    case = Case.model_validate(v["case_data"])
    directory = None
    if not v.get("signer"):  # approved before signers were recorded
        try:
            m = get_staff(store, v["approved_by"])
            directory = final.signer_for(m.name, m.display_credentials, m.npi, case)
        except NotFound:
            directory = None
    return final.stamp_for(d["id"], {**v, "approved_at": _utc(v["approved_at"])}, case, directory)


def export_draft(
    store: Store, draft_id: int, actor: StaffMember | None, *, fmt: str, out: Path
) -> ExportResult:
    """Write the current version to ``out``. Drafts export with the DRAFT banner on every page."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown export format '{fmt}' (expected one of: {', '.join(FORMATS)})")
    _check(store, actor, Action.EXPORT_DRAFT, draft_id=draft_id, event="draft.export")
    assert actor is not None
    with store.begin() as conn:
        d, v = _load(conn, draft_id)
        banner = _banner(d, v)
        doc = Document.model_validate(v["document"])
        stamp = _stamp(store, d, v) if d["status"] == Status.APPROVED.value else None
        if stamp is not None:  # issue 11: a clean final document with the approval in metadata + footer
            data = {"md": render.to_markdown, "docx": render.to_docx, "pdf": render.to_pdf}[fmt](
                doc, banner, stamp=stamp
            )
            data = data.encode() if isinstance(data, str) else data
        elif fmt == "md":
            content = DraftContent(
                kind=d["kind"], document=doc, missing=v["missing"], warnings=v["warnings"], errors=v["errors"]
            )
            data = draft_markdown(content, banner, notes=d["status"] != Status.APPROVED.value).encode()
        elif fmt == "docx":
            data = render.to_docx(doc, banner)
        else:
            data = render.to_pdf(doc, banner)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
        except OSError as exc:
            raise InvalidInput(f"cannot write {out}: {exc.strerror}") from None
        sha = hashlib.sha256(data).hexdigest()
        audit.record(
            conn,
            actor=actor.id,
            action="draft.export",
            target=f"draft:{draft_id}",
            patient_ref=d["patient_ref"],
            detail={"version": v["version"], "format": fmt, "status": d["status"], "sha256": sha},
        )
    return ExportResult(
        draft_id=draft_id,
        version=v["version"],
        status=Status(d["status"]),
        format=fmt,
        path=str(out),
        bytes=len(data),
        sha256=sha,
    )
