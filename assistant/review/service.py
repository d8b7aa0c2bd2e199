"""Draft lifecycle: create -> (edit -> new version)* -> approved | changes_requested | discarded.

Service functions take and return pydantic models so the CLI, Slack and an LLM agent's tools can
share them. Approval is a human action: only a pharmacist (checked here, server side, against the
delegation matrix) may approve or request changes. Every create, view, edit, approval attempt,
change request, discard and export is written to the audit log with a patient *token*, never PHI.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Connection, insert, select, update

from assistant import audit, integrity
from assistant.access import authorize, guarded
from assistant.drafting import final, render
from assistant.drafting.case import Case
from assistant.drafting.document import Document
from assistant.drafting.extract import extract_case
from assistant.drafting.kinds import get_kind
from assistant.drafting.kinds.base import DRAFT_BANNER
from assistant.drafting.pipeline import DraftContent, compose, draft_markdown
from assistant.drafting.validate import validate_case
from assistant.errors import Conflict, InvalidInput, NotFound
from assistant.phi import store_patient_token
from assistant.principal import Principal
from assistant.review.integrity import verify_draft
from assistant.review.tables import draft_reviews, draft_versions, drafts
from assistant.roles import Action
from assistant.staff import get_staff
from assistant.store import Store

MAX_TEXT_CHARS = 8000


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


class RenderedDraft(BaseModel):
    """A draft rendered to a file's bytes: the CLI writes them, Slack uploads them."""

    draft_id: int
    version: int
    status: Status
    format: str
    filename: str
    mime_type: str
    data: bytes = Field(repr=False, exclude=True)
    bytes: int
    sha256: str


# ---- helpers -------------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:  # SQLite drops the offset; we always store UTC
        return value.replace(tzinfo=dt.UTC)
    return value


def patient_ref(store: Store, case: Case) -> str | None:
    """The patient's token for the audit log and the queue (never the name)."""
    return store_patient_token(store, case.patient.name, case.patient.dob)


def _kind_action(arguments: dict[str, Any]) -> Action:
    return get_kind(arguments["kind"]).ACTION


def _content(kind: str, case: Case, today: dt.date | None) -> DraftContent:
    return compose(kind, case, today=today)


def _insert_version(
    conn: Connection, draft_id: int, version: int, case: Case, c: DraftContent, who: str
) -> None:
    integrity.append(  # sealed into the tamper-evident chain
        conn,
        draft_versions,
        dict(
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
        ),
    )


def _refuse_errors(c: DraftContent) -> None:
    if c.errors:
        more = f" (+{len(c.errors) - 1} more)" if len(c.errors) > 1 else ""
        raise InvalidInput(f"case has errors, nothing stored: {c.errors[0]}{more}", code="case_errors")


def _load(conn: Connection, draft_id: int) -> tuple[dict, dict]:
    d = conn.execute(select(drafts).where(drafts.c.id == draft_id)).mappings().first()
    if d is None:
        raise NotFound(f"no draft with id {draft_id}", field="draft_id")
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
    conn: Connection,
    draft_id: int,
    version: int,
    action: str,
    actor: str,
    reason: str | None,
    *,
    at: dt.datetime | None = None,
    content_sha256: str | None = None,
) -> None:
    """Append a review event, sealed into the tamper-evident chain (an approval seals the content
    hash it approved, so a version's approval can be checked against it)."""
    integrity.append(
        conn,
        draft_reviews,
        dict(
            draft_id=draft_id,
            version=version,
            action=action,
            actor=actor,
            reason=reason,
            at=at or _now(),
            content_sha256=content_sha256,
        ),
    )


# ---- public API ----------------------------------------------------------------------------------


@guarded(_kind_action, "draft.create")
def create_draft(
    store: Store,
    kind: str,
    case: Case,
    *,
    principal: Principal,
    allow_errors: bool = False,
    source: str = "case",
    today: dt.date | None = None,
) -> DraftView:
    """Draft ``kind`` from ``case``. A case with validation errors is refused (nothing stored) unless
    ``allow_errors``; then the errors are kept on the draft and block approval."""
    if case.is_empty():
        raise InvalidInput("the case is empty: give at least the patient and what the document is about")
    content = _content(kind, case, today)
    if not allow_errors:
        _refuse_errors(content)
    ref = patient_ref(store, case)
    now = _now()
    with store.begin() as conn:
        draft_id = conn.execute(
            insert(drafts).values(
                kind=kind,
                status=Status.DRAFT.value,
                current_version=1,
                patient_ref=ref,
                created_by=principal.id,
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]
        _insert_version(conn, draft_id, 1, case, content, principal.id)
        audit.record(
            conn,
            actor=principal.id,
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


@guarded(_kind_action, "draft.create")
def create_draft_from_text(
    store: Store,
    kind: str,
    text: str,
    *,
    principal: Principal,
    today: dt.date | None = None,
) -> DraftView:
    """Draft ``kind`` from shorthand. Whatever the text does not say stays missing (nothing is
    invented); the draft is stored with its gaps and validation findings for the reviewer."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("tell me what to put in the draft (patient, drug, diagnosis ...)", field="text")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(
            f"the text is too long ({len(text)} characters; at most {MAX_TEXT_CHARS})", field="text"
        )
    case = extract_case(text, today=today or dt.date.today())
    return create_draft(store, kind, case, principal=principal, allow_errors=True, source="text", today=today)


@guarded(Action.VIEW_DRAFT, "draft.view")
def get_draft(store: Store, draft_id: int, *, principal: Principal) -> DraftView:
    """A draft with its content (PHI): audited."""
    with store.begin() as conn:
        view = _view(conn, draft_id)
        audit.record(
            conn,
            actor=principal.id,
            action="draft.view",
            target=f"draft:{draft_id}",
            patient_ref=view.patient_ref,
            detail={"version": view.version},
        )
    return view


def _case_of(conn: Connection, draft_id: int, version: int | None) -> tuple[dict, Case]:
    d, v = _load(conn, draft_id)
    if version is None or version == v["version"]:
        return d, Case.model_validate(v["case_data"])
    row = conn.execute(
        select(draft_versions.c.case_data).where(
            draft_versions.c.draft_id == draft_id, draft_versions.c.version == version
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"draft {draft_id} has no version {version}", field="version")
    return d, Case.model_validate(row)


@guarded(Action.EDIT_DRAFT, "draft.open_case")
def open_case(store: Store, draft_id: int, *, principal: Principal, version: int | None = None) -> Case:
    """The case behind a draft version, opened for editing (audited). Editing a clinical document
    is clinical work, so the kind's drafting permission applies too."""
    with store.begin() as conn:
        d, case = _case_of(conn, draft_id, version)
    authorize(
        store, principal, get_kind(d["kind"]).ACTION, event="draft.open_case", target=f"draft:{draft_id}"
    )
    audit.record(
        store,
        actor=principal.id,
        action="draft.open_case",
        target=f"draft:{draft_id}",
        patient_ref=d["patient_ref"],
        detail={"version": version},
    )
    return case


@guarded(Action.LIST_DRAFTS, "draft.list")
def list_drafts(store: Store, *, principal: Principal, status: Status | None = None) -> list[DraftSummary]:
    """The queue, newest first. Shows task metadata only (kind, status, counts, patient token)."""
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


def _decided(conn: Connection, d: dict) -> Conflict:
    """The one-line answer for someone who acts on a draft that was already closed."""
    row = (
        conn.execute(
            select(draft_reviews)
            .where(draft_reviews.c.draft_id == d["id"], draft_reviews.c.action.in_(("approve", "discard")))
            .order_by(draft_reviews.c.id.desc())
        )
        .mappings()
        .first()
    )
    if row is None:
        return Conflict(f"draft {d['id']} is already {d['status']}", field="draft_id")
    at = _utc(row["at"])
    word = "approved" if row["action"] == "approve" else "discarded"
    return Conflict(
        f"draft {d['id']} was already {word} by {row['actor']} at {at:%Y-%m-%d %H:%M} UTC", field="draft_id"
    )


def _closed(conn: Connection, d: dict) -> None:
    if d["status"] in (Status.APPROVED.value, Status.DISCARDED.value):
        raise _decided(conn, d)


def _move(conn: Connection, d: dict, v: dict, **values: Any) -> None:
    """Compare-and-set: change the draft row only if nobody changed its status or version since we
    read it (a concurrent approve and discard cannot both win)."""
    result = conn.execute(
        update(drafts)
        .where(
            drafts.c.id == d["id"],
            drafts.c.status == d["status"],
            drafts.c.current_version == v["version"],
        )
        .values(updated_at=_now(), **values)
    )
    if result.rowcount != 1:
        fresh, _ = _load(conn, d["id"])
        if fresh["status"] in (Status.APPROVED.value, Status.DISCARDED.value):
            raise _decided(conn, fresh)
        last = (
            conn.execute(
                select(draft_reviews)
                .where(draft_reviews.c.draft_id == d["id"])
                .order_by(draft_reviews.c.id.desc())
            )
            .mappings()
            .first()
        )
        if last is not None:
            word = {"edit": "edited", "request_changes": "sent back for changes"}.get(
                last["action"], "changed"
            )
            at = _utc(last["at"])
            raise Conflict(
                f"draft {d['id']} was already {word} by {last['actor']} at {at:%Y-%m-%d %H:%M} UTC "
                f"(now version {fresh['current_version']}); look at it again",
                field="draft_id",
            )
        raise Conflict(
            f"draft {d['id']} changed while you were working on it; look at it again", field="draft_id"
        )


@guarded(Action.EDIT_DRAFT, "draft.edit")
def edit_draft(
    store: Store,
    draft_id: int,
    case: Case,
    *,
    principal: Principal,
    allow_errors: bool = False,
    today: dt.date | None = None,
) -> DraftView:
    """Save a new version from ``case``; the draft goes back to ``draft`` for review."""
    with store.begin() as conn:
        d, v = _load(conn, draft_id)
        _closed(conn, d)
    # editing a clinical document is clinical work: the kind's drafting permission applies too
    authorize(store, principal, get_kind(d["kind"]).ACTION, event="draft.edit", target=f"draft:{draft_id}")
    if case.is_empty():
        raise InvalidInput("the case is empty: nothing to save")
    content = _content(d["kind"], case, today)
    if not allow_errors:
        _refuse_errors(content)
    ref = patient_ref(store, case)
    with store.begin() as conn:
        d, v = _load(conn, draft_id)  # re-read inside the transaction
        _closed(conn, d)
        new_version = v["version"] + 1
        _move(conn, d, v, current_version=new_version, status=Status.DRAFT.value, patient_ref=ref)
        _insert_version(conn, draft_id, new_version, case, content, principal.id)
        _review_event(conn, draft_id, new_version, "edit", principal.id, None)
        audit.record(
            conn,
            actor=principal.id,
            action="draft.edit",
            target=f"draft:{draft_id}",
            patient_ref=ref,
            detail={"version": new_version, "missing": len(content.missing), "errors": len(content.errors)},
        )
        return _view(conn, draft_id)


@guarded(Action.APPROVE_DRAFT, "draft.approve")
def approve(
    store: Store,
    draft_id: int,
    *,
    principal: Principal,
    override_reason: str | None = None,
    expected_version: int | None = None,
) -> DraftView:
    """Pharmacist approval of the current version. Validation errors block it; missing required facts
    need an explicit ``override_reason``. The approved version is then immutable.

    ``expected_version``: the version the pharmacist was looking at (a Slack card, a page); if the
    draft has been edited since, nothing is approved and they are told to look again."""
    override_reason = (override_reason or "").strip() or None
    with store.begin() as conn:
        d, v = _load(conn, draft_id)
        _closed(conn, d)
        if expected_version is not None and expected_version != v["version"]:
            raise Conflict(
                f"draft {draft_id} was edited since you looked at it (now version {v['version']}); "
                "look at it again before approving",
                field="version",
            )
        if d["status"] != Status.DRAFT.value:
            raise InvalidInput(
                f"draft {draft_id} has changes requested; it can be approved once it is edited",
                code="changes_requested",
            )
        case = Case.model_validate(v["case_data"])
        errors = list(dict.fromkeys(v["errors"] + validate_case(case, d["kind"]).errors))
        if errors:
            raise InvalidInput(
                f"draft {draft_id} cannot be approved: {errors[0]} ({len(errors)} error(s))",
                code="case_errors",
            )
        # what the recipient cannot do without, and the approver as signer (assistant.drafting.final)
        approver = get_staff(store, principal.id)
        signer = final.signer_for(approver.name, approver.display_credentials, approver.npi, case)
        check = final.approval_check(
            d["kind"], case, signer=signer, drafted_on=_utc(v["created_at"]).date(), approved_on=_now().date()
        )
        if why := final.refusal(draft_id, d["kind"], check):
            raise InvalidInput(why, code="blocked_for_recipient")
        if check.handwritten and not override_reason:
            raise InvalidInput(
                f"draft {draft_id} has {len(check.handwritten)} missing required fact(s) "
                f"({', '.join(check.handwritten[:3])}); approving it anyway needs a reason",
                code="missing_facts",
                field="override_reason",
            )
        doc = Document.model_validate(v["document"])
        if doc.content_sha256() != v["content_sha256"]:
            raise InvalidInput(
                f"draft {draft_id} content does not match its recorded hash; not approved", code="tampered"
            )
        verify_draft(store, conn, draft_id, principal=principal, event="draft.approve")  # sealed as written?
        now = _now()
        _move(conn, d, v, status=Status.APPROVED.value)
        conn.execute(
            update(draft_versions)
            .where(draft_versions.c.draft_id == draft_id, draft_versions.c.version == v["version"])
            .values(
                approved_by=principal.id,
                approved_at=now,
                override_reason=override_reason,
                signer=signer.model_dump(),
            )
        )
        _review_event(
            conn,
            draft_id,
            v["version"],
            "approve",
            principal.id,
            override_reason,
            at=now,
            content_sha256=v["content_sha256"],
        )
        audit.record(
            conn,
            actor=principal.id,
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
    """Move a draft to ``status``: the row (compare-and-set), a review event and an audit entry."""
    _move(conn, d, v, status=status.value)
    _review_event(conn, d["id"], v["version"], event, actor_id, reason)
    audit.record(
        conn,
        actor=actor_id,
        action=f"draft.{event}",
        target=f"draft:{d['id']}",
        patient_ref=d["patient_ref"],
        detail={"version": v["version"]},
    )


@guarded(Action.REQUEST_CHANGES, "draft.request_changes")
def request_changes(store: Store, draft_id: int, *, principal: Principal, reason: str) -> DraftView:
    """Send a draft back with what needs to change; an edit makes a new version."""
    if not reason or not reason.strip():
        raise InvalidInput("say what needs to change", field="reason")
    with store.begin() as conn:
        d, v = _load(conn, draft_id)
        _closed(conn, d)
        if d["status"] != Status.DRAFT.value:
            raise InvalidInput(
                f"draft {draft_id} already has changes requested; it needs an edit first",
                code="changes_requested",
            )
        _set_status(conn, d, v, Status.CHANGES_REQUESTED, "request_changes", principal.id, reason.strip())
        return _view(conn, draft_id)


@guarded(Action.DISCARD_DRAFT, "draft.discard")
def discard(store: Store, draft_id: int, *, principal: Principal, reason: str | None = None) -> DraftView:
    """Discard a draft (kept for the record, never exported as final)."""
    with store.begin() as conn:
        d, v = _load(conn, draft_id)
        _closed(conn, d)
        _set_status(conn, d, v, Status.DISCARDED, "discard", principal.id, reason)
        return _view(conn, draft_id)


FORMATS = ("md", "docx", "pdf")
_MIME = {
    "md": "text/markdown",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


def _stamp(store: Store, d: dict, v: dict) -> final.ApprovalStamp:
    """The approval record of an approved version; the signer was frozen at approval."""
    case = Case.model_validate(v["case_data"])
    directory = None
    if not v.get("signer"):  # approved before signers were recorded
        try:
            m = get_staff(store, v["approved_by"])
            directory = final.signer_for(m.name, m.display_credentials, m.npi, case)
        except NotFound:
            directory = None
    return final.stamp_for(d["id"], {**v, "approved_at": _utc(v["approved_at"])}, case, directory)


@guarded(Action.EXPORT_DRAFT, "draft.export")
def render_draft(store: Store, draft_id: int, *, principal: Principal, fmt: str) -> RenderedDraft:
    """The current version as Markdown, DOCX or PDF bytes (audited). Drafts carry the DRAFT banner;
    an approved version is a clean final document with the approval in metadata and a footer."""
    if fmt not in FORMATS:
        raise InvalidInput(
            f"unknown export format '{fmt}' (expected one of: {', '.join(FORMATS)})", field="format"
        )
    with store.begin() as conn:
        verify_draft(store, conn, draft_id, principal=principal, event="draft.export")  # tamper check
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
        sha = hashlib.sha256(data).hexdigest()
        audit.record(
            conn,
            actor=principal.id,
            action="draft.export",
            target=f"draft:{draft_id}",
            patient_ref=d["patient_ref"],
            detail={"version": v["version"], "format": fmt, "status": d["status"], "sha256": sha},
        )
    return RenderedDraft(
        draft_id=draft_id,
        version=v["version"],
        status=Status(d["status"]),
        format=fmt,
        filename=f"draft-{draft_id}-v{v['version']}-{d['kind']}.{fmt}",
        mime_type=_MIME[fmt],
        data=data,
        bytes=len(data),
        sha256=sha,
    )
