"""The review queue on real SQLite and real PostgreSQL: versions, roles, approvals, audit, export."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest
from pypdf import PdfReader
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from assistant import audit
from assistant.config import REPO_ROOT
from assistant.drafting.case import load_case
from assistant.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assistant.principal import OPERATOR
from assistant.review import service
from assistant.review.service import Status
from assistant.review.tables import draft_versions
from assistant.store import Store
from tests.conftest import who

EXAMPLES = REPO_ROOT / "knowledge" / "drafting" / "examples"


def _case(kind: str):
    return load_case(EXAMPLES / f"{kind}.yaml")


def test_lifecycle_edit_request_changes_approve(staffed_store: Store) -> None:
    jdoe, bsmith = who(staffed_store, "jdoe"), who(staffed_store, "bsmith")
    case = _case("pa-packet")
    case.insurance.pcn = None  # a fact the office may complete by hand, so approvable with an override
    # technicians may initiate PAs
    view = service.create_draft(staffed_store, "pa-packet", case, principal=bsmith)
    assert (view.version, view.status, view.missing) == (1, Status.DRAFT, ["PCN"])
    assert view.patient_ref and view.patient_ref.startswith("pt_")

    with pytest.raises(InvalidInput, match="missing required fact.*needs a reason"):
        service.approve(staffed_store, view.draft_id, principal=jdoe)
    view = service.request_changes(staffed_store, view.draft_id, principal=jdoe, reason="add the PCN")
    assert view.status is Status.CHANGES_REQUESTED
    with pytest.raises(InvalidInput, match="changes requested; it can be approved once it is edited"):
        service.approve(staffed_store, view.draft_id, principal=jdoe)

    view = service.edit_draft(staffed_store, view.draft_id, _case("pa-packet"), principal=bsmith)
    assert (view.version, view.status, view.missing) == (2, Status.DRAFT, [])
    view = service.approve(staffed_store, view.draft_id, principal=jdoe)
    assert view.status is Status.APPROVED and view.approved_by == "jdoe" and view.approved_at
    assert len(view.content_sha256) == 64
    assert view.markdown.startswith("> **APPROVED by jdoe")
    assert [e.action for e in view.history] == ["request_changes", "edit", "approve"]

    with pytest.raises(Conflict, match="was already approved by jdoe at"):
        service.edit_draft(staffed_store, view.draft_id, _case("pa-packet"), principal=bsmith)
    actions = [e.action for e in audit.entries(staffed_store, target=f"draft:{view.draft_id}")]
    assert actions == ["draft.approve", "draft.edit", "draft.request_changes", "draft.create"]


def test_approved_version_is_immutable_in_the_database(staffed_store: Store) -> None:
    jdoe = who(staffed_store, "jdoe")
    view = service.create_draft(staffed_store, "mtm-cmr", _case("mtm-cmr"), principal=jdoe)
    service.approve(staffed_store, view.draft_id, principal=jdoe)
    with pytest.raises((DBAPIError, IntegrityError)), staffed_store.begin() as conn:
        conn.execute(update(draft_versions).values(content_sha256="0" * 64))
    with pytest.raises((DBAPIError, IntegrityError)), staffed_store.begin() as conn:
        conn.execute(text("DELETE FROM draft_versions"))


def test_technician_cannot_approve_and_nothing_changes(staffed_store: Store) -> None:
    jdoe, bsmith = who(staffed_store, "jdoe"), who(staffed_store, "bsmith")
    view = service.create_draft(staffed_store, "pa-packet", _case("pa-packet"), principal=bsmith)
    with pytest.raises(PermissionDenied, match=r"^Bob Smith \(technician\) may not approve drafts"):
        service.approve(staffed_store, view.draft_id, principal=bsmith)
    with pytest.raises(PermissionDenied):
        service.request_changes(staffed_store, view.draft_id, principal=bsmith, reason="x")
    after = service.get_draft(staffed_store, view.draft_id, principal=jdoe)
    assert after.status is Status.DRAFT and after.approved_by is None and after.history == []
    denied = audit.entries(staffed_store, action="draft.approve")
    assert [(e.actor, e.outcome) for e in denied] == [("bsmith", "denied")]


def test_clinical_kinds_are_pharmacist_only(staffed_store: Store) -> None:
    bsmith, aadmin = who(staffed_store, "bsmith"), who(staffed_store, "aadmin")
    for kind in ("mtm-note", "prescriber-letter"):
        with pytest.raises(PermissionDenied, match="pharmacist-only"):
            service.create_draft(staffed_store, kind, _case(kind), principal=bsmith)
    note = service.create_draft(
        staffed_store, "mtm-note", _case("mtm-note"), principal=who(staffed_store, "jdoe")
    )
    with pytest.raises(PermissionDenied, match="pharmacist-only"):
        service.edit_draft(staffed_store, note.draft_id, _case("mtm-note"), principal=bsmith)
    service.discard(staffed_store, note.draft_id, principal=bsmith)
    service.create_draft(
        staffed_store, "mtm-cmr", _case("mtm-cmr"), principal=bsmith
    )  # technician may prepare
    with pytest.raises(PermissionDenied):
        service.create_draft(staffed_store, "pa-packet", _case("pa-packet"), principal=aadmin)
    assert len(service.list_drafts(staffed_store, principal=bsmith, status=Status.DRAFT)) == 1


def test_validation_errors_refuse_or_block(staffed_store: Store) -> None:
    jdoe = who(staffed_store, "jdoe")
    bad = _case("pa-packet")
    bad.prescriber.npi = "1987654320"
    with pytest.raises(InvalidInput, match=r"nothing stored: prescriber.npi: NPI check digit"):
        service.create_draft(staffed_store, "pa-packet", bad, principal=jdoe)
    assert service.list_drafts(staffed_store, principal=jdoe) == []
    view = service.create_draft(staffed_store, "pa-packet", bad, principal=jdoe, allow_errors=True)
    assert view.errors and "Errors (must be fixed before approval)" in view.markdown
    with pytest.raises(InvalidInput, match="cannot be approved: prescriber.npi"):
        service.approve(staffed_store, view.draft_id, principal=jdoe, override_reason="urgent")


def test_override_reason_allows_missing(staffed_store: Store) -> None:
    jdoe = who(staffed_store, "jdoe")
    case = _case("pa-packet")
    case.insurance.pcn = None
    view = service.create_draft(staffed_store, "pa-packet", case, principal=jdoe)
    view = service.approve(staffed_store, view.draft_id, principal=jdoe, override_reason="plan has no PCN")
    assert view.status is Status.APPROVED and view.override_reason == "plan has no PCN"
    entry = audit.entries(staffed_store, action="draft.approve")[0]
    assert entry.detail and entry.detail["override"] is True
    assert "plan has no PCN" not in str(entry.detail)  # free text stays out of the audit log


def test_review_actions_need_a_person_and_an_existing_draft(staffed_store: Store) -> None:
    jdoe = who(staffed_store, "jdoe")
    with pytest.raises(PermissionDenied, match="operator"):
        service.create_draft(staffed_store, "pa-packet", _case("pa-packet"), principal=OPERATOR)
    with pytest.raises(PermissionDenied, match="nobody is named"):
        service.create_draft(staffed_store, "pa-packet", _case("pa-packet"), principal=None)  # type: ignore[arg-type]
    assert service.list_drafts(staffed_store, principal=jdoe) == []
    view = service.create_draft(staffed_store, "pa-packet", _case("pa-packet"), principal=jdoe)
    with pytest.raises(NotFound, match="no draft with id 999"):
        service.approve(staffed_store, 999, principal=jdoe)
    service.discard(staffed_store, view.draft_id, principal=jdoe)
    with pytest.raises(Conflict, match="was already discarded by jdoe"):
        service.approve(staffed_store, view.draft_id, principal=jdoe)


def test_audit_has_no_phi(staffed_store: Store) -> None:
    jdoe = who(staffed_store, "jdoe")
    view = service.create_draft(staffed_store, "mtm-cmr", _case("mtm-cmr"), principal=jdoe)
    service.get_draft(staffed_store, view.draft_id, principal=jdoe)
    blob = " ".join(f"{e.target} {e.patient_ref} {e.detail}" for e in audit.entries(staffed_store))
    for phi in ("Johnson", "1952", "PHX448812", "555-0142"):
        assert phi not in blob
    assert "draft.view" in [e.action for e in audit.entries(staffed_store)]


@pytest.mark.parametrize("kind", ["mtm-cmr", "pa-packet", "prescriber-letter"])
def test_export_docx_and_pdf_read_back(staffed_store: Store, tmp_path: Path, kind: str) -> None:
    jdoe = who(staffed_store, "jdoe")
    view = service.create_draft(staffed_store, kind, _case(kind), principal=jdoe)
    out_docx, out_pdf = tmp_path / "d.docx", tmp_path / "d.pdf"
    out_docx.write_bytes(service.render_draft(staffed_store, view.draft_id, principal=jdoe, fmt="docx").data)
    out_pdf.write_bytes(service.render_draft(staffed_store, view.draft_id, principal=jdoe, fmt="pdf").data)
    d = docx.Document(str(out_docx))
    paragraphs = "\n".join(p.text for p in d.paragraphs)
    cells = "\n".join(c.text for t in d.tables for r in t.rows for c in r.cells)
    assert paragraphs.startswith("DRAFT - pending pharmacist review")
    assert d.tables, "fields render as real tables"
    pdf = "\n".join(page.extract_text() for page in PdfReader(str(out_pdf)).pages)
    assert "DRAFT - pending pharmacist review" in pdf
    if kind == "mtm-cmr":
        assert "What we talked about:" in cells and "Margaret Johnson, DOB: 04/17/1952" in paragraphs
        assert d.styles["Normal"].font.size.pt >= 12
        assert "Personal Medication List for Margaret Johnson" in pdf
    if kind == "pa-packet":
        assert "00169-4132-12" in cells and "00169-4132-12" in pdf
    if kind == "prescriber-letter":
        assert "☐ Accept" in paragraphs and "☐ Discuss at next visit" in pdf
    exports = audit.entries(staffed_store, action="draft.export")
    assert {e.detail["format"] for e in exports if e.detail} == {"docx", "pdf"}


def test_approving_a_version_nobody_looked_at_is_refused(staffed_store: Store) -> None:
    jdoe, bsmith = who(staffed_store, "jdoe"), who(staffed_store, "bsmith")
    view = service.create_draft(staffed_store, "pa-packet", _case("pa-packet"), principal=bsmith)
    service.edit_draft(staffed_store, view.draft_id, _case("pa-packet"), principal=bsmith)  # now version 2
    with pytest.raises(Conflict, match="edited since you looked at it \\(now version 2\\)"):
        service.approve(staffed_store, view.draft_id, principal=jdoe, expected_version=1)
    assert service.get_draft(staffed_store, view.draft_id, principal=jdoe).status is Status.DRAFT
    approved = service.approve(staffed_store, view.draft_id, principal=jdoe, expected_version=2)
    assert approved.status is Status.APPROVED and approved.version == 2


def test_a_refusal_names_the_draft_it_was_about(staffed_store: Store) -> None:
    bsmith = who(staffed_store, "bsmith")
    view = service.create_draft(staffed_store, "pa-packet", _case("pa-packet"), principal=bsmith)
    with pytest.raises(PermissionDenied):
        service.approve(staffed_store, view.draft_id, principal=bsmith)
    entry = audit.entries(staffed_store, action="draft.approve")[0]
    assert (entry.outcome, entry.target) == ("denied", f"draft:{view.draft_id}")
