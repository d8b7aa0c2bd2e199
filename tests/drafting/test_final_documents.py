"""Issue 11.5: approved exports for a patient, payer or prescriber are clean (no [MISSING: ...]; a
gap either blocks approval for that recipient or prints a blank line with the override recorded),
carry the approval record in metadata and a discreet footer instead of a banner (no internal staff
id), and are signed by the approving pharmacist from the staff directory. Real SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader

from assistant.config import REPO_ROOT
from assistant.drafting.case import load_case
from assistant.errors import InvalidInput
from assistant.principal import OPERATOR
from assistant.review import service
from assistant.staff import get_staff, import_staff
from assistant.store import Store

EXAMPLES = REPO_ROOT / "knowledge" / "drafting" / "examples"
MORE_STAFF = """\
staff:
  - {id: knguyen, name: Kim Nguyen, role: pharmacist, npi: "1234567893", display_credentials: "PharmD, RPh"}
  - {id: lbare, name: Lee Bare, role: pharmacist}
"""


@pytest.fixture
def pharmacists(staffed_store: Store, tmp_path: Path) -> Store:
    path = tmp_path / "more.yaml"
    path.write_text(MORE_STAFF)
    import_staff(staffed_store, path, principal=OPERATOR)
    return staffed_store


def _export(store: Store, draft_id: int, who: str, fmt: str, tmp_path: Path) -> bytes:
    out = tmp_path / f"out.{fmt}"
    data = service.render_draft(store, draft_id, principal=get_staff(store, who).principal(), fmt=fmt).data
    out.write_bytes(data)
    return out.read_bytes()


def _pdf_text(data: bytes) -> tuple[str, dict]:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(p.extract_text() for p in reader.pages), dict(reader.metadata or {})


def test_staff_directory_holds_how_a_pharmacist_signs(pharmacists: Store, tmp_path: Path) -> None:
    kim = get_staff(pharmacists, "knguyen")
    assert (kim.npi, kim.display_credentials) == ("1234567893", "PharmD, RPh")
    assert get_staff(pharmacists, "lbare").npi is None
    bad = tmp_path / "bad.yaml"
    bad.write_text('staff:\n  - {id: x1, name: X, role: pharmacist, npi: "1234567890"}\n')
    with pytest.raises(InvalidInput, match=r"staff\[0\] \(x1\): field 'npi': Value error, NPI check digit"):
        import_staff(pharmacists, bad, principal=OPERATOR)


def test_approved_payer_packet_is_clean_with_blank_lines_and_a_discreet_record(
    pharmacists: Store, tmp_path: Path
) -> None:
    case = load_case(EXAMPLES / "pa-packet.yaml")
    case.insurance.pcn = None  # the office can write it in: approvable with a recorded override
    case.request.route = None
    view = service.create_draft(
        pharmacists, "pa-packet", case, principal=get_staff(pharmacists, "jdoe").principal()
    )
    kim = get_staff(pharmacists, "knguyen")
    with pytest.raises(InvalidInput, match="missing required fact"):
        service.approve(pharmacists, view.draft_id, principal=kim.principal())
    view = service.approve(
        pharmacists,
        view.draft_id,
        principal=kim.principal(),
        override_reason="office completes PCN and route",
    )
    assert view.override_reason == "office completes PCN and route"

    text, meta = _pdf_text(_export(pharmacists, view.draft_id, "knguyen", "pdf", tmp_path))
    assert "[MISSING" not in text and "__________________" in text  # blank lines to complete by hand
    assert "APPROVED by" not in text and "DRAFT" not in text and "knguyen" not in text
    assert "Approved by Kim Nguyen, PharmD, RPh on" in text and f"ref {view.content_sha256[:12]}" in text
    assert view.content_sha256 in meta["/Subject"] and "NPI 1234567893" in meta["/Subject"]
    assert meta["/Author"] == "Kim Nguyen, PharmD, RPh"

    md = _export(pharmacists, view.draft_id, "knguyen", "md", tmp_path).decode()
    assert "[MISSING" not in md and "APPROVED by" not in md and "knguyen" not in md
    d = docx.Document(io.BytesIO(_export(pharmacists, view.draft_id, "knguyen", "docx", tmp_path)))
    body = "\n".join(p.text for p in d.paragraphs) + "\n".join(
        c.text for t in d.tables for r in t.rows for c in r.cells
    )
    assert "[MISSING" not in body and "DRAFT" not in body
    assert view.content_sha256 in d.core_properties.subject and d.core_properties.author.startswith(
        "Kim Nguyen"
    )


def test_a_gap_the_recipient_cannot_fill_blocks_approval_even_with_an_override(pharmacists: Store) -> None:
    case = load_case(EXAMPLES / "mtm-cmr.yaml")
    case.pharmacy.tty = None  # the patient cannot complete the pharmacy's TTY number by hand
    view = service.create_draft(
        pharmacists, "mtm-cmr", case, principal=get_staff(pharmacists, "jdoe").principal()
    )
    with pytest.raises(InvalidInput, match="cannot be approved for the patient: it lacks TTY number"):
        service.approve(
            pharmacists,
            view.draft_id,
            principal=get_staff(pharmacists, "jdoe").principal(),
            override_reason="send anyway",
        )
    case = load_case(EXAMPLES / "pa-packet.yaml")
    case.insurance.member_id = None
    view = service.create_draft(
        pharmacists, "pa-packet", case, principal=get_staff(pharmacists, "jdoe").principal()
    )
    with pytest.raises(InvalidInput, match="cannot be approved for the plan: it lacks member ID"):
        service.approve(
            pharmacists,
            view.draft_id,
            principal=get_staff(pharmacists, "jdoe").principal(),
            override_reason="x",
        )


def test_the_approving_pharmacist_signs_not_the_case_pharmacist(pharmacists: Store, tmp_path: Path) -> None:
    view = service.create_draft(
        pharmacists,
        "mtm-cmr",
        load_case(EXAMPLES / "mtm-cmr.yaml"),
        principal=get_staff(pharmacists, "jdoe").principal(),
    )
    assert "Jane Doe, PharmD" in view.markdown  # the draft shows the case's pharmacist
    service.approve(pharmacists, view.draft_id, principal=get_staff(pharmacists, "knguyen").principal())
    text, _ = _pdf_text(_export(pharmacists, view.draft_id, "knguyen", "pdf", tmp_path))
    assert "Sincerely,\nKim Nguyen, PharmD, RPh" in text
    assert "Jane Doe" not in text

    note = service.create_draft(
        pharmacists,
        "mtm-note",
        load_case(EXAMPLES / "mtm-note.yaml"),
        principal=get_staff(pharmacists, "jdoe").principal(),
    )
    service.approve(pharmacists, note.draft_id, principal=get_staff(pharmacists, "knguyen").principal())
    text, _ = _pdf_text(_export(pharmacists, note.draft_id, "knguyen", "pdf", tmp_path))
    assert "Name: Kim Nguyen" in text and "Credentials: PharmD, RPh" in text and "NPI: 1234567893" in text
    assert "1456789019" not in text  # the case pharmacist's NPI

    letter = service.create_draft(
        pharmacists,
        "prescriber-letter",
        load_case(EXAMPLES / "prescriber-letter.yaml"),
        principal=get_staff(pharmacists, "jdoe").principal(),
    )
    service.approve(pharmacists, letter.draft_id, principal=get_staff(pharmacists, "knguyen").principal())
    text, _ = _pdf_text(_export(pharmacists, letter.draft_id, "knguyen", "pdf", tmp_path))
    assert "Kim Nguyen, PharmD, RPh" in text
    assert "555-0123" not in text  # the case pharmacist's direct line is not printed under another name


def test_a_signer_without_credentials_on_record_cannot_sign(pharmacists: Store) -> None:
    view = service.create_draft(
        pharmacists,
        "mtm-note",
        load_case(EXAMPLES / "mtm-note.yaml"),
        principal=get_staff(pharmacists, "jdoe").principal(),
    )
    with pytest.raises(InvalidInput, match="your staff record has no credentials .* or NPI to sign it with"):
        service.approve(pharmacists, view.draft_id, principal=get_staff(pharmacists, "lbare").principal())
    # the case's own pharmacist completes what the directory lacks (same person)
    assert (
        service.approve(
            pharmacists, view.draft_id, principal=get_staff(pharmacists, "jdoe").principal()
        ).status
        == "approved"
    )
