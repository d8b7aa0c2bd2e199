"""Finding 6: PHI at rest. Whatever the umask, the data directory is 0700 and every file in it 0600:
the SQLite database and its -wal/-shm journals, the Chroma index, evidence copies and key files."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from assistant.config import REPO_ROOT, Settings
from assistant.store import open_store
from tests.calendar.conftest import LIBRARY_YAML
from tests.conftest import STAFF_YAML

SOP = "# QA-900 Fridge check\n\n## Steps\nRead the fridge thermometer at opening and write it in the log.\n"


def _loose(root: Path) -> list[str]:
    found = []
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            found.append(f"{oct(mode)} {path.relative_to(root.parent)}")
    return found


def test_everything_the_cli_writes_is_private_under_umask_022(tmp_path: Path) -> None:
    data = tmp_path / "data"
    sops = tmp_path / "sops"
    sops.mkdir()
    (sops / "QA-900.md").write_text(SOP)
    (tmp_path / "staff.yaml").write_text(STAFF_YAML)
    (tmp_path / "obligations.yaml").write_text(LIBRARY_YAML)
    (tmp_path / "cert.pdf").write_bytes(b"%PDF-1.4 signed inventory")
    case = REPO_ROOT / "knowledge" / "drafting" / "examples" / "pa-packet.yaml"
    env = {**os.environ, "RXDESK_DATA_DIR": str(data)}
    env.pop("RXDESK_DATABASE_URL", None)
    steps = [
        ["staff", "import", str(tmp_path / "staff.yaml")],
        ["calendar", "import", str(tmp_path / "obligations.yaml"), "--since", "2026-01-01"],
        ["draft", "pa-packet", "--case", str(case), "--as", "jdoe"],
        ["ingest", str(sops)],
        [
            "deadlines",
            "complete",
            "form-106-loss@main@2027-01-04",
            "--on",
            "2026-11-20",
            "--evidence-file",
            str(tmp_path / "cert.pdf"),
            "--as",
            "jdoe",
        ],
    ]
    for args in steps:
        done = subprocess.run(
            [sys.executable, "-m", "assistant.cli", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            preexec_fn=lambda: os.umask(0o022),  # noqa: PLW1509 - the point of the test
            timeout=600,
        )
        assert done.returncode == 0, (args, done.stderr)
    names = {p.name for p in data.rglob("*")}
    assert {"rxdesk.db", "chain.key", "patient_ref.key", "chroma.sqlite3", "manifest.json"} <= names
    assert any(p.suffix == ".pdf" for p in (data / "files" / "evidence").rglob("*"))
    assert _loose(data) == []


def test_an_existing_loose_data_dir_is_tightened_on_open(tmp_path: Path) -> None:
    data = tmp_path / "old"
    (data / "files" / "evidence").mkdir(parents=True)
    for path in (data, data / "files", data / "files" / "evidence"):
        path.chmod(0o755)
    copy = data / "files" / "evidence" / "abc.pdf"
    copy.write_bytes(b"x")
    copy.chmod(0o644)
    store = open_store(Settings(data_dir=data, _env_file=None))  # type: ignore[call-arg]
    try:
        assert _loose(data) == []
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    finally:
        store.dispose()
