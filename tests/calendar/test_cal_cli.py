"""The CLI in-process: JSON shapes, one-line errors, completion with an evidence file, digest, ICS, PA."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from assistant.cli import main
from tests.conftest import STAFF_YAML

OCC_KEYS = {
    "id",
    "obligation_id",
    "title",
    "site",
    "owner",
    "due",
    "status",
    "days_left",
    "citation",
    "evidence",
}


@pytest.fixture
def data_dir(tmp_path: Path, library_file: Path, capsys) -> Path:  # type: ignore[no-untyped-def]
    d = tmp_path / "cli-data"
    staff = tmp_path / "staff.yaml"
    staff.write_text(STAFF_YAML)
    assert main(["--data-dir", str(d), "staff", "import", str(staff)]) == 0
    capsys.readouterr()
    return d


def run(d: Path, capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    rc = main(["--data-dir", str(d), *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_empty_then_import_then_list(data_dir: Path, library_file: Path, capsys):  # type: ignore[no-untyped-def]
    rc, out, _ = run(data_dir, capsys, "deadlines")
    assert rc == 0 and "no obligations yet: rxdesk calendar import" in out
    rc, out, _ = run(data_dir, capsys, "calendar", "import", str(library_file), "--since", "2026-01-01")
    assert rc == 0 and "7 added" in out
    rc, out, _ = run(data_dir, capsys, "calendar", "import", str(library_file), "--json")
    assert rc == 0 and json.loads(out)["obligations_unchanged"] == 7
    rc, out, _ = run(
        data_dir, capsys, "deadlines", "--json", "--site", "main", "--as-of", "2027-05-28", "--within", "10"
    )
    assert rc == 0
    data = json.loads(out)
    assert data["as_of"] == "2027-05-28"
    assert data["occurrences"] and all(set(o) >= OCC_KEYS for o in data["occurrences"])
    dea = next(o for o in data["occurrences"] if o["id"] == "dea-registration@main@2027-05-31")
    assert dea["status"] == "due_soon" and dea["days_left"] == 3 and dea["due"] == "2027-05-31"
    rc, out, _ = run(
        data_dir, capsys, "deadlines", "--owner", "jdoe", "--as-of", "2026-12-01", "--within", "30"
    )
    assert rc == 0 and "cred:jdoe:bls@2026-12-15" in out


def test_bad_import_one_line_error_and_nothing_imported(data_dir: Path, tmp_path: Path, capsys):  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "obligations:\n  - id: x\n    title: X\n    schedule: {rrule: 'FREQ=SOMETIMES', start: 2026-01-01}\n"
    )
    rc, out, err = run(data_dir, capsys, "calendar", "import", str(bad))
    assert rc != 0 and out == ""
    assert (
        err.strip()
        == "error: bad.yaml: obligation 'x': field 'schedule.rrule': FREQ=SOMETIMES is not supported "
        "(use YEARLY, MONTHLY, WEEKLY or DAILY)"
    )
    rc, out, _ = run(data_dir, capsys, "deadlines")
    assert "no obligations yet" in out


def test_complete_with_evidence_file_and_rolling_next(
    data_dir: Path, library_file: Path, tmp_path: Path, capsys
):  # type: ignore[no-untyped-def]
    run(data_dir, capsys, "calendar", "import", str(library_file), "--since", "2026-01-01")
    proof = tmp_path / "inventory.pdf"
    proof.write_bytes(b"inventory sheet")
    rc, out, err = run(
        data_dir, capsys, "deadlines", "complete", "biennial-inventory@main@2026-03-01",
        "--on", "2026-03-10", "--evidence-file", str(proof), "--as", "jdoe", "--json",
    )  # fmt: skip
    assert rc == 0, err
    c = json.loads(out)
    assert c["next_due"] == "2028-03-10"
    assert c["evidence_sha256"] == hashlib.sha256(b"inventory sheet").hexdigest()
    assert (data_dir / "files" / c["evidence_file"]).read_bytes() == b"inventory sheet"
    rc, out, _ = run(data_dir, capsys, "audit", "--action", "calendar.complete", "--json", "--as", "jdoe")
    assert json.loads(out)["entries"][0]["actor"] == "jdoe"
    # errors are one line, non-zero
    rc, _, err = run(
        data_dir,
        capsys,
        "deadlines",
        "complete",
        "biennial-inventory@main@2026-03-01",
        "--on",
        "2026-03-10",
        "--evidence",
        "x",
    )
    assert rc == 4 and "operator" in err and "--as STAFF_ID" in err and err.count("\n") == 1
    rc, _, err = run(
        data_dir,
        capsys,
        "deadlines",
        "complete",
        "nope@main@2026-03-01",
        "--on",
        "2026-03-10",
        "--evidence",
        "x",
        "--as",
        "jdoe",
    )
    assert rc == 3 and err.startswith("error: no deadline with the id 'nope@main@2026-03-01'")
    rc, _, err = run(
        data_dir,
        capsys,
        "deadlines",
        "complete",
        "form-106-loss@main@2027-01-04",
        "--on",
        "soon",
        "--evidence",
        "x",
        "--as",
        "jdoe",
    )
    assert rc == 2 and "error: --on 'soon' is not a date" in err
    rc, _, err = run(
        data_dir,
        capsys,
        "deadlines",
        "complete",
        "form-106-loss@main@2027-01-04",
        "--on",
        "2027-01-02",
        "--evidence",
        "x",
        "--as",
        "ghost",
    )
    assert rc == 3 and "unknown staff id 'ghost'" in err


def test_ask_digest_ics_and_pa(data_dir: Path, library_file: Path, tmp_path: Path, capsys):  # type: ignore[no-untyped-def]
    run(data_dir, capsys, "calendar", "import", str(library_file), "--since", "2026-01-01")
    rc, out, _ = run(
        data_dir,
        capsys,
        "deadlines",
        "ask",
        "when is our DEA registration due?",
        "--as-of",
        "2027-01-02",
        "--site",
        "main",
    )
    assert rc == 0 and "2027-05-31" in out
    rc, out, _ = run(data_dir, capsys, "digest", "--site", "main", "--as-of", "2026-03-28", "--json")
    assert rc == 0
    d = json.loads(out)
    assert set(d) >= {
        "site",
        "date",
        "overdue",
        "due_soon",
        "reminders",
        "completed_recently",
        "text",
        "blocks",
    }
    assert d["date"] == "2026-03-28" and d["site"] == "main"
    assert all(set(o) >= OCC_KEYS for o in d["overdue"] + d["due_soon"] + d["reminders"])
    assert d["blocks"][0]["type"] == "header"
    ics = tmp_path / "main.ics"
    rc, out, _ = run(
        data_dir, capsys, "deadlines", "ics", "--site", "main", "--out", str(ics), "--as-of", "2026-01-02"
    )
    assert rc == 0 and ics.read_bytes().startswith(b"BEGIN:VCALENDAR\r\n")
    rc, _, err = run(data_dir, capsys, "deadlines", "ics", "--site", "mars", "--out", str(ics))
    assert rc == 3 and "unknown site 'mars'" in err
    rc, out, err = run(
        data_dir, capsys, "pa", "track", "--patient-ref", "TKN-42", "--drug", "Ozempic",
        "--submitted", "2026-11-26T10:00", "--urgency", "expedited", "--site", "main", "--as", "bsmith", "--json",
    )  # fmt: skip
    assert rc == 0, err
    pa = json.loads(out)
    assert pa["deadlines"][0]["id"] == f"pa:{pa['id']}:followup@2026-11-27"
    rc, out, _ = run(
        data_dir,
        capsys,
        "pa",
        "update",
        "TKN-42",
        "--status",
        "denied",
        "--notice-date",
        "2026-12-01",
        "--as",
        "bsmith",
        "--json",
    )
    assert json.loads(out)["deadlines"][0]["due"] == "2027-02-04"
    rc, _, err = run(
        data_dir,
        capsys,
        "pa",
        "track",
        "--patient-ref",
        "TKN-1",
        "--drug",
        "X",
        "--submitted",
        "2026-11-26T10:00",
        "--as",
        "aadmin",
    )
    assert rc == 4 and "Alex Admin (admin) may not track prior authorizations" in err
    rc, out, _ = run(data_dir, capsys, "audit", "--action", "pa.track", "--json", "--as", "jdoe")
    denied = [e for e in json.loads(out)["entries"] if e["outcome"] == "denied"]
    assert [e["actor"] for e in denied] == ["aadmin"]
