"""The adversarial findings of the "one core" issue, replayed through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.config import REPO_ROOT
from tests.calendar.conftest import LIBRARY_YAML
from tests.conftest import STAFF_YAML

EXAMPLES = REPO_ROOT / "knowledge" / "drafting" / "examples"


@pytest.fixture
def data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    d = tmp_path / "data"
    staff = tmp_path / "staff.yaml"
    staff.write_text(STAFF_YAML)
    lib = tmp_path / "obligations.yaml"
    lib.write_text(LIBRARY_YAML)
    assert main(["--data-dir", str(d), "staff", "import", str(staff)]) == 0
    assert main(["--data-dir", str(d), "calendar", "import", str(lib), "--since", "2026-01-01"]) == 0
    capsys.readouterr()
    return d


def run(d: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["--data-dir", str(d), *args])
    out, err = capsys.readouterr()
    return rc, out, err


def denied(d: Path, capsys: pytest.CaptureFixture[str], action: str) -> list[str]:
    rc, out, _ = run(d, capsys, "audit", "--action", action, "--json", "--as", "jdoe")
    assert rc == 0
    return [e["actor"] for e in json.loads(out)["entries"] if e["outcome"] == "denied"]


def test_audit_log_is_for_pharmacists_and_admins(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(data, capsys, "audit", "--json")
    assert rc == 4 and out == "" and "--as STAFF_ID" in err
    rc, out, err = run(data, capsys, "audit", "--json", "--as", "bsmith")
    assert rc == 4 and out == "" and "audit log is for pharmacists and admins" in err
    for who in ("aadmin", "jdoe"):
        rc, out, _ = run(data, capsys, "audit", "--json", "--as", who)
        assert rc == 0 and json.loads(out)["entries"]
    assert denied(data, capsys, "audit.view") == ["bsmith", "system:operator"]


def test_a_technician_cannot_promote_anyone(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    evil = tmp_path / "evil.yaml"
    evil.write_text("- {id: bsmith, name: Bob Smith, role: pharmacist}\n")
    rc, _, err = run(data, capsys, "staff", "import", str(evil), "--as", "bsmith")
    assert rc == 4 and "may not change the staff directory" in err
    rc, out, _ = run(data, capsys, "staff", "list", "--json", "--as", "bsmith")
    assert {m["id"]: m["role"] for m in json.loads(out)["staff"]}["bsmith"] == "technician"
    assert denied(data, capsys, "staff.import") == ["bsmith"]


def test_a_technician_cannot_renew_the_pharmacists_credential(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["deadlines", "complete", "cred:jdoe:bls@2026-12-15", "--on", "2026-01-10", "--evidence", "card"]
    rc, _, err = run(data, capsys, *args, "--new-expiry", "2030-12-15", "--as", "bsmith")
    assert rc == 4 and "recorded by a pharmacist or an admin" in err
    assert denied(data, capsys, "calendar.complete") == ["bsmith"]
    rc, _, err = run(data, capsys, *args, "--new-expiry", "2028-12-15", "--as", "jdoe")  # her own: fine
    assert rc == 0, err


def test_refusals_leave_a_denied_entry(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lib = tmp_path / "lib.yaml"
    lib.write_text(LIBRARY_YAML)
    rc, _, _ = run(data, capsys, "calendar", "import", str(lib), "--as", "bsmith")
    assert rc == 4
    assert denied(data, capsys, "calendar.import") == ["bsmith"]
    pa = ["pa", "track", "--patient-ref", "TKN-1", "--drug", "X", "--submitted", "2026-11-26T10:00"]
    rc, _, _ = run(data, capsys, *pa, "--as", "aadmin")
    assert rc == 4
    assert denied(data, capsys, "pa.track") == ["aadmin"]


def test_drafts_without_a_person_are_refused(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for kind in ("mtm-note", "prescriber-letter"):
        rc, _, err = run(data, capsys, "draft", kind, "--case", str(EXAMPLES / f"{kind}.yaml"))
        assert rc == 4 and "--as STAFF_ID" in err
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
    draft_id = str(json.loads(out)["draft_id"])
    for args in (["review", "show", draft_id], ["review", "case", draft_id], ["review", "list"]):
        rc, out, err = run(data, capsys, *args)
        assert rc == 4 and out == "" and "Margaret" not in err
    rc, out, _ = run(data, capsys, "review", "case", draft_id, "--as", "bsmith")
    assert rc == 0 and json.loads(out)["patient"]["name"]
    assert denied(data, capsys, "draft.open_case") == ["system:operator"]
