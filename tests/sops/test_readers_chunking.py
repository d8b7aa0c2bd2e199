from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import InvalidInput
from assistant.sops.chunking import chunk_document, split_sections
from assistant.sops.readers import discover, read_source
from tests.sops.conftest import SOP_PA


def test_markdown_front_matter_gives_id_title_version(sop_dir: Path) -> None:
    doc = read_source(sop_dir / "SOP-FIN-001-prior-auth.md")
    assert (doc.sop_id, doc.title, doc.version) == ("SOP-FIN-001", "Prior Authorization Workflow", "2.1")


def test_id_from_heading_then_file_name_then_stem(tmp_path: Path, sop_dir: Path) -> None:
    assert read_source(sop_dir / "CS-002 loss.txt").sop_id == "CS-002"  # from the heading
    named = tmp_path / "FORM-ADM-001B checklist.md"
    named.write_text("Just a list\n\n- item one\n")
    assert read_source(named).sop_id == "FORM-ADM-001B"  # from the file name
    plain = tmp_path / "break-room.md"
    plain.write_text("Keep it tidy.\n")
    assert read_source(plain).sop_id == "break-room"  # the stem as a last resort


def test_docx_headings_become_sections(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("QA-001 Drug Recalls", level=0)
    document.add_heading("Pulling recalled stock", level=1)
    document.add_paragraph("Quarantine every affected lot in the recall bin.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Class", "Action"
    table.cell(1, 0).text, table.cell(1, 1).text = "I", "Call patients"
    path = tmp_path / "recalls.docx"
    document.save(str(path))
    doc = read_source(path)
    assert doc.sop_id == "QA-001"
    sections = split_sections(doc)
    assert sections[0].name == "Pulling recalled stock"
    assert "Quarantine every affected lot" in sections[0].body
    assert "Call patients" in sections[0].body


def test_pdf_text_is_read(tmp_path: Path) -> None:
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    path = tmp_path / "INV-001 returns.pdf"
    c = canvas.Canvas(str(path), pagesize=letter)
    c.drawString(72, 720, "Returns to Stock")
    c.drawString(72, 700, "Reverse the claim within 14 days of the fill date.")
    c.save()
    doc = read_source(path)
    assert doc.sop_id == "INV-001"
    assert "Reverse the claim within 14 days" in doc.text


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "unreadable PDF"),
        ("broken.docx", b"not a zip file", "unreadable DOCX"),
        ("latin1.txt", "caf\xe9".encode("latin-1"), "not UTF-8"),
        ("empty.md", b"---\nid: X-001\n---\n   \n", "empty document"),
        ("notes.rtf", b"{\\rtf1}", "unsupported file type"),
        ("bad-front.md", b"---\nid: [unclosed\n---\nbody\n", "front matter"),
    ],
)
def test_unreadable_files_give_one_line_errors(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match=message) as info:
        read_source(path)
    assert "\n" not in str(info.value)


def test_discover_recurses_and_rejects_missing(tmp_path: Path, sop_dir: Path) -> None:
    (sop_dir / "sub").mkdir()
    (sop_dir / "sub" / "extra.md").write_text("# X-009 Extra\n\ntext\n")
    (sop_dir / "image.png").write_bytes(b"\x89PNG")
    found = discover([sop_dir])
    assert {f.name for f, _ in found} == {
        "SOP-FIN-001-prior-auth.md",
        "vaccines.md",
        "CS-002 loss.txt",
        "extra.md",
    }
    with pytest.raises(InvalidInput, match="path not found"):
        discover([tmp_path / "nope"])


def test_chunks_carry_section_path_and_fit_the_model_window(sop_dir: Path) -> None:
    from assistant.sops.embeddings import count_tokens

    long_section = "## Very long section\n" + " ".join(["Check the label and the lot number."] * 200)
    path = sop_dir / "long.md"
    path.write_text(SOP_PA + "\n" + long_section + "\n")
    chunks = chunk_document(read_source(path), source="long.md", file_hash="abc", count_tokens=count_tokens)
    assert all(count_tokens(c.text) <= 256 for c in chunks)
    long_chunks = [c for c in chunks if c.section == "Very long section"]
    assert len(long_chunks) >= 5
    assert all(
        c.text.startswith("SOP-FIN-001 Prior Authorization Workflow > Very long section") for c in long_chunks
    )
    assert {c.section for c in chunks} >= {"Purpose", "Procedure for a new PA request", "Reject code table"}
    assert len({c.id for c in chunks}) == len(chunks)
