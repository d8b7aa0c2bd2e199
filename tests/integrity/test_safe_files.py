"""Finding 4: exports and calendars are written only where they may be, never over a file silently,
and atomically. Through the CLI (in-process), on a real SQLite data dir."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.config import REPO_ROOT
from assistant.errors import Conflict, InvalidInput
from assistant.files import safe_write
from tests.calendar.conftest import LIBRARY_YAML
from tests.conftest import STAFF_YAML

CASE = REPO_ROOT / "knowledge" / "drafting" / "examples" / "pa-packet.yaml"


@pytest.fixture
def data_dir(tmp_path: Path, capsys) -> Path:  # type: ignore[no-untyped-def]
    d = tmp_path / "data"
    (tmp_path / "staff.yaml").write_text(STAFF_YAML)
    (tmp_path / "obligations.yaml").write_text(LIBRARY_YAML)
    assert main(["--data-dir", str(d), "staff", "import", str(tmp_path / "staff.yaml")]) == 0
    assert main(["--data-dir", str(d), "calendar", "import", str(tmp_path / "obligations.yaml")]) == 0
    assert main(["--data-dir", str(d), "draft", "pa-packet", "--case", str(CASE), "--as", "jdoe"]) == 0
    capsys.readouterr()
    return d


def run(d: Path, capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    rc = main(["--data-dir", str(d), *args])
    out, err = capsys.readouterr()
    return rc, out, err


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _export(d: Path, capsys, out: Path | str, *extra: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    return run(
        d, capsys, "review", "export", "1", "--format", "md", "--out", str(out), "--as", "jdoe", *extra
    )


def _one_line_error(rc: int, err: str, match: str) -> None:
    assert rc != 0
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert match in err, err


def test_export_never_lands_in_the_data_directory(data_dir: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    db = data_dir / "rxdesk.db"
    before = _sha(db)
    (tmp_path / "elsewhere").mkdir()
    for target in (
        db,
        data_dir / "new.md",
        data_dir / "chain.key",
        tmp_path / "elsewhere" / ".." / "data" / "rxdesk.db",
        Path(os.path.relpath(db, Path.cwd())),
    ):
        rc, _, err = _export(data_dir, capsys, target, "--force")
        _one_line_error(rc, err, "inside rxdesk's data directory")
    # through a symlinked folder or a symlinked file
    (tmp_path / "shortcut").symlink_to(data_dir)
    rc, _, err = _export(data_dir, capsys, tmp_path / "shortcut" / "x.md", "--force")
    _one_line_error(rc, err, "inside rxdesk's data directory")
    (tmp_path / "db-link.md").symlink_to(db)
    rc, _, err = _export(data_dir, capsys, tmp_path / "db-link.md", "--force")
    _one_line_error(rc, err, "it is a symbolic link")
    assert _sha(db) == before and not (data_dir / "new.md").exists()
    rc, _, _ = run(data_dir, capsys, "review", "list", "--as", "jdoe")
    assert rc == 0  # the live database still works


def test_symlinks_system_folders_and_read_only_files_are_refused(
    data_dir: Path, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "link.md").symlink_to(victim)
    rc, _, err = _export(data_dir, capsys, tmp_path / "link.md", "--force")
    _one_line_error(rc, err, "symbolic link")
    ro = tmp_path / "readonly.md"
    ro.write_text("signed copy")
    ro.chmod(0o444)
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    rc, _, err = _export(data_dir, capsys, deep / ".." / ".." / "readonly.md", "--force")
    _one_line_error(rc, err, "read-only")
    assert ro.read_text() == "signed copy" and victim.read_text() == "keep me"
    rc, _, err = _export(data_dir, capsys, "/etc/rxdesk-export-test.md", "--force")
    _one_line_error(rc, err, "system folder /etc")
    assert not Path("/etc/rxdesk-export-test.md").exists()
    rc, _, err = _export(data_dir, capsys, tmp_path / "nowhere" / ".." / "x.md")
    _one_line_error(rc, err, "'..'")


def test_no_silent_overwrite_without_force(data_dir: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "main.ics"
    ics = ("deadlines", "ics", "--site", "main", "--out", str(out), "--as-of", "2026-01-02")
    rc, text, _ = run(data_dir, capsys, *ics)
    assert rc == 0 and out.read_bytes().startswith(b"BEGIN:VCALENDAR")
    out.write_text("my edits")
    rc, _, err = run(data_dir, capsys, *ics)
    _one_line_error(rc, err, "already exists")
    assert "[--force]" in err and out.read_text() == "my edits"
    rc, _, _ = run(data_dir, capsys, *ics, "--force")
    assert rc == 0 and out.read_bytes().startswith(b"BEGIN:VCALENDAR")
    pdf = tmp_path / "draft.md"
    assert _export(data_dir, capsys, pdf)[0] == 0
    rc, _, err = _export(data_dir, capsys, pdf)
    _one_line_error(rc, err, "already exists")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_safe_write_is_atomic_and_private(tmp_path: Path) -> None:
    target = tmp_path / "out" / "file.bin"
    old = os.umask(0o022)
    try:
        written = safe_write(target, b"one", protected=[tmp_path / "data"])
    finally:
        os.umask(old)
    assert written == target.resolve() and target.read_bytes() == b"one"
    assert target.stat().st_mode & 0o077 == 0  # exports can hold PHI
    with pytest.raises(Conflict):
        safe_write(target, b"two", protected=[])
    safe_write(target, b"two", protected=[], force=True)
    assert target.read_bytes() == b"two"
    with pytest.raises(InvalidInput, match="it is a folder"):
        safe_write(tmp_path / "out", b"x", protected=[], force=True)
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.bin"]
