"""The CLI contract, in-process, against a real SQLite data dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.config import REPO_ROOT

EXAMPLES = REPO_ROOT / "knowledge" / "drafting" / "examples"


@pytest.fixture
def data(tmp_path: Path, staff_file: Path) -> Path:
    d = tmp_path / "data"
    assert main(["--data-dir", str(d), "staff", "import", str(staff_file)]) == 0
    return d


def run(data: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(["--data-dir", str(data), *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_draft_json_contract_and_review_flow(data: Path, capsys, tmp_path: Path) -> None:
    rc, out, err = run(data, capsys, "draft", "pa-packet", "--case", str(EXAMPLES / "pa-packet.yaml"))
    assert rc == 4 and "operator" in err and "--as STAFF_ID" in err  # drafts need a person on record
    rc, out, _ = run(
        data,
        capsys,
        "draft",
        "pa-packet",
        "--case",
        str(EXAMPLES / "pa-packet.yaml"),
        "--as",
        "bsmith",
        "--json",
    )
    assert rc == 0
    body = json.loads(out)
    assert list(body)[:8] == [
        "draft_id",
        "kind",
        "version",
        "status",
        "missing",
        "warnings",
        "errors",
        "markdown",
    ]
    assert (body["kind"], body["version"], body["status"], body["missing"]) == ("pa-packet", 1, "draft", [])
    draft_id = str(body["draft_id"])

    rc, out, err = run(data, capsys, "review", "approve", draft_id, "--as", "bsmith")
    assert rc != 0 and out == ""
    assert err.startswith("error: Bob Smith (technician) may not approve drafts") and err.count("\n") == 1
    rc, out, err = run(data, capsys, "review", "show", draft_id, "--json")
    assert rc == 4 and out == "" and "--as STAFF_ID" in err  # a draft's PHI needs a person on record
    rc, out, _ = run(data, capsys, "review", "show", draft_id, "--json", "--as", "bsmith")
    assert json.loads(out)["status"] == "draft"
    rc, out, _ = run(data, capsys, "audit", "--action", "draft.approve", "--json", "--as", "jdoe")
    assert [(e["actor"], e["outcome"]) for e in json.loads(out)["entries"]] == [("bsmith", "denied")]

    rc, out, err = run(data, capsys, "review", "approve", draft_id)
    assert rc == 4 and "--as STAFF_ID" in err
    rc, out, _ = run(data, capsys, "review", "approve", draft_id, "--as", "jdoe", "--json")
    assert rc == 0 and json.loads(out)["status"] == "approved"
    pdf = tmp_path / "out.pdf"
    rc, out, _ = run(
        data, capsys, "review", "export", draft_id, "--format", "pdf", "--out", str(pdf), "--as", "jdoe"
    )
    assert rc == 0 and pdf.read_bytes().startswith(b"%PDF")
    rc, out, _ = run(data, capsys, "review", "list", "--json", "--as", "jdoe")
    assert [d["status"] for d in json.loads(out)["drafts"]] == ["approved"]


def test_edit_and_request_changes(data: Path, capsys, tmp_path: Path) -> None:
    rc, out, _ = run(
        data, capsys, "draft", "mtm-note", "--case", str(EXAMPLES / "mtm-note.yaml"), "--as", "jdoe", "--json"
    )
    draft_id = str(json.loads(out)["draft_id"])
    rc, out, _ = run(
        data, capsys, "review", "request-changes", draft_id, "--reason", "add goals", "--as", "jdoe", "--json"
    )
    assert json.loads(out)["status"] == "changes_requested"
    rc, out, _ = run(
        data,
        capsys,
        "review",
        "edit",
        draft_id,
        "--case",
        str(EXAMPLES / "mtm-note.yaml"),
        "--as",
        "jdoe",
        "--json",
    )
    assert (json.loads(out)["version"], json.loads(out)["status"]) == (2, "draft")
    rc, out, _ = run(data, capsys, "review", "discard", draft_id, "--as", "jdoe", "--json")
    assert json.loads(out)["status"] == "discarded"


def test_draft_from_text(data: Path, capsys) -> None:
    text = (
        "PA for Mrs. Johnson's Ozempic, T2DM, last A1c 8.7% on 10/2, failed metformin 1000 bid x6mo GI upset"
    )
    rc, out, _ = run(data, capsys, "draft", "pa-packet", "--text", text, "--as", "bsmith", "--json")
    assert rc == 0
    body = json.loads(out)
    assert "member ID" in body["missing"] and "date of birth" in body["missing"]
    assert "[MISSING: member ID]" in body["markdown"] and "Ozempic (semaglutide)" in body["markdown"]


def test_technician_cannot_draft_clinical_kinds(data: Path, capsys) -> None:
    rc, _, err = run(
        data,
        capsys,
        "draft",
        "prescriber-letter",
        "--case",
        str(EXAMPLES / "prescriber-letter.yaml"),
        "--as",
        "bsmith",
    )
    assert rc != 0 and "pharmacist-only" in err


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ('{"patient": {"dob": "1950-13-01"}}', ".json", "case.json: field 'patient.dob': invalid date"),
        ('{"insurance": {"bin": 610014}}', ".json", "case.json: field 'insurance.bin': expected text"),
        ('{"medications": {"name": "x"}}', ".json", "case.json: field 'medications': expected a list"),
        ('{"patient": {"nmae": "x"}}', ".json", "case.json: field 'patient.nmae': unknown field"),
        ("{not json", ".json", "case.json: not valid JSON at line 1"),
        ("patient: [\n", ".yaml", "case.yaml: not valid YAML"),
        ('{"patient": {"dob": "2099-01-01"}}', ".json", "patient.dob: date of birth is in the future"),
        (
            '{"conditions": [{"icd10": "E11.999"}]}',
            ".json",
            "conditions[0].icd10: 'E11.999' is not an ICD-10-CM code",
        ),
        ('{"prescriber": {"npi": "1234567890"}}', ".json", "prescriber.npi: NPI check digit does not match"),
        ('{"prescriber": {"dea": "BP1234564"}}', ".json", "prescriber.dea: DEA check digit does not match"),
        ('{"request": {"ndc": "1234567890"}}', ".json", "request.ndc: a 10-digit NDC needs its hyphens"),
    ],
)
def test_bad_case_files_one_line_and_nothing_stored(
    data: Path, capsys, tmp_path: Path, content: str, suffix: str, message: str
) -> None:
    path = tmp_path / f"case{suffix}"
    path.write_text(content)
    rc, out, err = run(data, capsys, "draft", "pa-packet", "--case", str(path), "--as", "jdoe")
    assert rc != 0 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    rc, out, _ = run(data, capsys, "review", "list", "--json", "--as", "jdoe")
    assert json.loads(out)["drafts"] == []


def test_unknown_kind_and_schema(data: Path, capsys) -> None:
    rc, _, err = run(data, capsys, "draft", "fax-cover", "--case", str(EXAMPLES / "pa-packet.yaml"))
    assert rc != 0 and "unknown document kind 'fax-cover'" in err
    rc, out, _ = run(data, capsys, "schema", "case")
    schema = json.loads(out)
    assert rc == 0 and {"patient", "insurance", "request", "problems"} <= set(schema["properties"])
