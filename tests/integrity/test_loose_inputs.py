"""Finding 10: loose inputs. Empty cases and empty text are refused (nothing stored), a key written
twice is an error everywhere people write YAML or JSON, completion dates far before their due date
are refused, SOP and case files have size limits with a clear message, and ingest reports progress
when stderr is a log rather than a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.calendar.library import parse_library
from assistant.cli import main
from assistant.drafting.case import MAX_CASE_BYTES, load_case
from assistant.errors import InvalidInput
from assistant.principal import OPERATOR
from assistant.review import service
from assistant.sops.index import SopIndex
from assistant.sops.readers import read_source
from assistant.staff import import_staff
from assistant.store import Store
from tests.conftest import STAFF_YAML, who
from tests.fakes import HashingEmbedding, approx_tokens


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{}\n",
        "patient: {}\n",
        'patient:\n  name: "   "\nmedications: []\n',
        "patient:\n  name: ''\nrequest: {}\n",
    ],
    ids=["empty", "braces", "empty-section", "blanks", "blank-and-empty"],
)
def test_empty_cases_are_refused_and_nothing_is_stored(
    staffed_store: Store, tmp_path: Path, content: str
) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(content)
    jdoe = who(staffed_store, "jdoe")
    with pytest.raises(InvalidInput, match="the case is empty"):
        service.create_draft(staffed_store, "pa-packet", load_case(path), principal=jdoe, allow_errors=True)
    for text in ("", "   ", "\n\t"):
        with pytest.raises(InvalidInput, match="tell me what to put in the draft"):
            service.create_draft_from_text(staffed_store, "pa-packet", text, principal=jdoe)
    assert service.list_drafts(staffed_store, principal=jdoe) == []


def test_duplicate_keys_are_errors_everywhere(store: Store, tmp_path: Path) -> None:
    case_yaml = tmp_path / "c.yaml"
    case_yaml.write_text("patient:\n  name: Ann Lee\n  dob: 1950-01-02\n  name: Bob Roe\n")
    with pytest.raises(InvalidInput, match=r"c.yaml: duplicate key 'name' \(first at line 2\) at line 4"):
        load_case(case_yaml)
    case_json = tmp_path / "c.json"
    case_json.write_text('{"patient": {"name": "Ann Lee", "name": "Bob Roe"}}')
    with pytest.raises(InvalidInput, match="c.json: duplicate key 'name'"):
        load_case(case_json)
    staff = tmp_path / "s.yaml"
    staff.write_text("- id: a\n  name: A\n  role: admin\n  role: pharmacist\n")
    with pytest.raises(InvalidInput, match="duplicate key 'role'"):
        import_staff(store, staff, principal=OPERATOR)
    with pytest.raises(InvalidInput, match="duplicate key 'obligations'"):
        parse_library("sites: []\nobligations: []\nobligations: []\n", "lib.yaml")
    sop = tmp_path / "x.md"
    sop.write_text("---\nid: QA-1\nversion: 1\nversion: 2\n---\n# QA-1 X\n\n## A\ntext\n")
    with pytest.raises(InvalidInput, match="x.md: front matter duplicate key 'version'"):
        read_source(sop)


def test_unquoted_impossible_dates_and_non_utf8_files_are_one_line_errors(
    store: Store, tmp_path: Path
) -> None:
    case = tmp_path / "c.yaml"
    case.write_text("patient:\n  name: Ann Lee\n  dob: 2026-02-30\n")
    with pytest.raises(InvalidInput, match=r"field 'patient.dob': invalid date"):
        load_case(case)
    for name in ("c.yaml", "c.json"):
        (tmp_path / name).write_bytes(b"\xff\xfepatient: x\n")
        with pytest.raises(InvalidInput, match=f"{name}: not UTF-8 text"):
            load_case(tmp_path / name)
    staff = tmp_path / "s.yaml"
    staff.write_bytes(b"- id: \xe9\n")
    with pytest.raises(InvalidInput, match="s.yaml: not UTF-8 text"):
        import_staff(store, staff, principal=OPERATOR)
    staff.write_text("- {id: a, name: A, role: admin, credentials: [{type: bls, expires: 2026-02-30}]}\n")
    with pytest.raises(InvalidInput, match="credentials"):
        import_staff(store, staff, principal=OPERATOR)


def test_size_limits_on_case_and_sop_files(tmp_path: Path) -> None:
    big_case = tmp_path / "big.yaml"
    big_case.write_text("patient:\n  name: Ann\nnotes: '" + "x" * MAX_CASE_BYTES + "'\n")
    with pytest.raises(InvalidInput, match=r"big.yaml: 1.0 MB is too large for a case file \(limit 1.0 MB\)"):
        load_case(big_case)
    folder = tmp_path / "sops"
    folder.mkdir()
    (folder / "ok.md").write_text("# QA-1 Fine\n\n## Steps\nDo it.\n")
    (folder / "huge.md").write_text("# QA-2 Huge\n\n## Steps\n" + "word " * 60_000)
    index = SopIndex(tmp_path / "index", embedding=HashingEmbedding())
    with pytest.raises(
        InvalidInput, match=r"huge.md: 293 KB is too large for an SOP file \(limit 100 KB\); nothing"
    ):
        index.ingest([folder], count_tokens=approx_tokens, max_bytes=100 << 10)
    assert index.is_empty() and not index.manifest_path.exists()


def test_cli_ingest_prints_progress_lines_when_stderr_is_not_a_terminal(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "sops"
    folder.mkdir()
    for i in range(3):
        (folder / f"QA-10{i}.md").write_text(
            f"# QA-10{i} Thing {i}\n\n## Steps\nDo thing number {i} carefully.\n"
        )
    assert main(["--data-dir", str(tmp_path / "d"), "ingest", str(folder)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert any(line.startswith("ingest: embedded 3/3 chunks") for line in err), err


def test_cli_refuses_empty_text_and_files(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    d = str(tmp_path / "d")
    (tmp_path / "staff.yaml").write_text(STAFF_YAML)
    assert main(["--data-dir", d, "staff", "import", str(tmp_path / "staff.yaml")]) == 0
    (tmp_path / "empty.yaml").write_text("")
    for args in (
        ["draft", "pa-packet", "--text", "", "--as", "jdoe"],
        ["draft", "pa-packet", "--text", "  ", "--as", "jdoe"],
        ["draft", "pa-packet", "--case", str(tmp_path / "empty.yaml"), "--as", "jdoe"],
        ["draft", "pa-packet", "--case", str(tmp_path), "--as", "jdoe"],
    ):
        capsys.readouterr()
        assert main(["--data-dir", d, *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1
    assert main(["--data-dir", d, "review", "list", "--as", "jdoe"]) == 0
    assert "no drafts" in capsys.readouterr().out


def test_a_large_sop_file_is_announced_before_it_is_chunked(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from assistant.cli.sops import _progress

    folder = tmp_path / "sops"
    folder.mkdir()
    (folder / "big.md").write_text("# QA-3 Big\n\n## Steps\n" + "Check the log. " * 90_000)
    seen: list[tuple[str, int, int, str]] = []
    index = SopIndex(tmp_path / "index", embedding=HashingEmbedding())
    index.ingest([folder], count_tokens=approx_tokens, progress=lambda *a: seen.append(a))
    assert seen[0][:3] == ("read-large", 1, 1) and seen[0][3].startswith("big.md (1.3 MB)")
    show = _progress()  # stderr is captured: not a terminal
    show(*seen[0])
    show("embed", 1, 10, "big.md")  # too soon after the last line: skipped
    show("embed", 10, 10, "big.md")
    assert capsys.readouterr().err.splitlines() == [
        "ingest: reading file 1/1: big.md (1.3 MB)",
        "ingest: embedded 10/10 chunks (big.md)",
    ]
