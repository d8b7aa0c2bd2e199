"""Finding 7: every CLI error, usage errors included, is one line on stderr with a non-zero exit.

The commands are found by walking the typer app, so a new command is probed without anyone adding
it here. Each gets an unknown option, its arguments left out, and bad values for every argument and
option (wrong types, impossible dates, huge numbers, folders, devices, missing and non-UTF-8 files,
an unquoted impossible date in YAML). ``main`` must return an exit code (an exception escaping it is
a traceback in real life) and print at most one line on stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from assistant.cli import _register, main
from assistant.cli.common import app
from assistant.config import REPO_ROOT
from tests.conftest import STAFF_YAML

CASE = REPO_ROOT / "knowledge" / "drafting" / "examples" / "pa-packet.yaml"
INTERACTIVE = {("chat",), ("serve",)}  # they read stdin: only their parsing is probed


def _commands() -> list[tuple[tuple[str, ...], Any]]:
    _register()
    root = typer.main.get_command(app)

    def walk(cmd: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        subs = getattr(cmd, "commands", None)
        if subs:
            if path and getattr(cmd, "invoke_without_command", False):
                yield path, cmd
            for name, sub in subs.items():
                yield from walk(sub, (*path, name))
        else:
            yield path, cmd

    return list(walk(root, ()))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("cli-errors")
    files = {
        "data": tmp / "data",
        "staff": tmp / "staff.yaml",
        "dir": tmp / "a-folder",
        "missing": tmp / "no-such-file.yaml",
        "latin1": tmp / "latin1.yaml",
        "bad_date": tmp / "bad-date.yaml",
        "dup": tmp / "dup.yaml",
        "empty": tmp / "empty.yaml",
        "binary": tmp / "blob.json",
        "out": tmp / "out" / "file.bin",
    }
    files["staff"].write_text(STAFF_YAML)
    files["dir"].mkdir()
    files["latin1"].write_bytes("patient:\n  name: Jos\xe9 P\xe9rez\n".encode("latin-1"))
    files["bad_date"].write_text("patient:\n  name: Ann Lee\n  dob: 2026-02-30\n")
    files["dup"].write_text("patient:\n  name: A\n  name: B\n")
    files["empty"].write_text("")
    files["binary"].write_bytes(bytes(range(256)) * 4)
    assert main(["--data-dir", str(files["data"]), "staff", "import", str(files["staff"])]) == 0
    return files


GOOD = {  # a plausible value per parameter name, to reach the parameter being probed
    "draft_id": "1",
    "kind": "pa-packet",
    "question": "what is due",
    "occurrence_id": "dea-registration@main@2027-05-31",
    "ref": "PA-0001",
    "sop_id": "VAC-001",
    "on": "2026-01-01",
    "site": "main",
    "patient_ref": "TKN-1",
    "drug": "Ozempic",
    "submitted": "2026-01-01T10:00",
    "status": "approved",
    "reason": "because",
}


def _bad_values(param: Any, ws: dict[str, Path]) -> list[str]:
    bare = getattr(param, "bare_type", None)
    kind = getattr(bare, "__name__", str(bare))
    files = [str(ws[k]) for k in ("dir", "missing", "latin1", "bad_date", "dup", "empty", "binary")] + [
        "/dev/zero"
    ]
    if kind in ("int", "float"):
        return ["abc", "-5", "1e400", "99999999999999999999999"]
    if "Path" in kind or param.name in ("paths", "file", "case_file", "evidence_file", "out"):
        return files + ["/proc/self/environ"]
    if kind == "bool":
        return []
    return ["", " ", "2026-02-30", "x" * 5000, "../../etc/passwd", "'; DROP TABLE drafts; --", "\u202e\ufeff"]


def _filled(cmd: Any, ws: dict[str, Path], skip: str | None = None) -> list[str]:
    out: list[str] = []
    for p in cmd.params:
        if p.name == skip or not p.required:
            continue
        value = GOOD.get(p.name)
        if p.name in ("file",):
            value = str(ws["staff"])
        if p.name in ("paths",):
            value = str(ws["dir"])
        if p.name in ("case_file",):
            value = str(CASE)
        if p.name == "out":
            value = str(ws["out"])
        if value is None:
            value = "x"
        out += [value] if not getattr(p, "opts", [""])[0].startswith("-") else [p.opts[0], value]
    return out


def _probes(ws: dict[str, Path]) -> Iterator[tuple[str, list[str]]]:
    for path, cmd in _commands():
        label = " ".join(path)
        yield label, [*path, "--no-such-option"]
        yield label, [*path, "--as"]
        if path in INTERACTIVE:
            continue
        if any(p.required for p in cmd.params):
            yield label, list(path)
        for p in cmd.params:
            opts = getattr(p, "opts", [p.name])
            for bad in _bad_values(p, ws):
                if opts[0].startswith("-"):
                    yield label, [*path, *_filled(cmd, ws, skip=p.name), opts[0], bad, "--as", "jdoe"]
                else:
                    rest = _filled(cmd, ws, skip=p.name)
                    yield (
                        label,
                        [*path, bad, *rest, "--as", "jdoe"]
                        if "as_staff" in {q.name for q in cmd.params}
                        else [*path, bad, *rest],
                    )


def test_every_command_with_bad_arguments_prints_one_line_and_no_traceback(
    workspace: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    results = {"probes": 0, "errors": 0, "ok": 0}
    problems: list[str] = []
    commands_seen = set()
    for label, args in _probes(workspace):
        commands_seen.add(label)
        argv = ["--data-dir", str(workspace["data"]), *args]
        try:
            rc = main(argv)
        except BaseException as exc:  # noqa: BLE001 - this is what the test is looking for
            problems.append(f"{label}: {args!r} raised {type(exc).__name__}: {exc}")
            continue
        finally:
            results["probes"] += 1
        out, err = capsys.readouterr()
        if rc == 0:
            results["ok"] += 1
            continue
        results["errors"] += 1
        lines = err.strip().splitlines()
        if (
            "Traceback" in err
            or len(lines) != 1
            or not lines[0].startswith("error: ")
            or lines[0].startswith("error: unexpected ")  # the safety net caught a bug
        ):
            problems.append(f"{label}: {args!r} -> rc {rc}, stderr {err[:300]!r}")
    assert problems == [], "\n".join(problems[:20])
    assert len(commands_seen) >= 30 and results["probes"] > 300
    assert results["errors"] > results["ok"]


def test_a_bad_setting_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name, value in (
        ("RXDESK_SOP_APPROVAL", "maybe"),
        ("RXDESK_MAX_EVIDENCE_MB", "lots"),
        ("RXDESK_LLM_TIMEOUT_S", "soon"),
    ):
        monkeypatch.setenv(name, value)
        rc = main(["--data-dir", str(tmp_path / "d"), "deadlines"])
        err = capsys.readouterr().err
        assert rc == 2 and err.startswith(f"error: setting {name}: ") and err.count("\n") == 1, err
        monkeypatch.delenv(name)


@pytest.mark.parametrize(
    "args",
    [
        ["review", "show", "abc"],
        ["no-such-command"],
        ["draft", "pa-packet", "--case", "{latin1}", "--as", "jdoe"],
        ["draft", "pa-packet", "--case", "{bad_date}", "--as", "jdoe"],
        ["staff", "import", "{latin1}"],
    ],
    ids=["not-an-int", "unknown-command", "non-utf8-case", "unquoted-bad-date", "non-utf8-staff"],
)
def test_the_installed_command_prints_no_traceback(workspace: dict[str, Path], args: list[str]) -> None:
    argv = [a.format(**{k: str(v) for k, v in workspace.items()}) for a in args]
    env = {**os.environ, "RXDESK_DATA_DIR": str(workspace["data"])}
    env.pop("RXDESK_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "assistant.cli", *argv], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("error: ")
