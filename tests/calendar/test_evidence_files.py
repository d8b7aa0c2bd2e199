"""Findings 6 and 9 for evidence files: only a regular, readable file from an allowed folder is
copied (never /etc/shadow, /proc, a device, a pipe, a symlink out of the allowed folders, the data
directory itself), copies are private (0600), and two completions attaching the same new file at
the same moment do not collide on a temporary file."""

from __future__ import annotations

import os
import stat
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from assistant.calendar.completions import complete
from assistant.errors import InvalidInput, RxdeskError
from assistant.store import Store
from tests.conftest import who

OCC = "form-106-loss@main@2027-01-04"
NOW = {"now": __import__("datetime").datetime(2027, 1, 10, 12)}


def _complete(store: Store, path: Path, occ: str = OCC, on: date = date(2027, 1, 4)):  # type: ignore[no-untyped-def]
    return complete(store, occ, principal=who(store, "jdoe"), on=on, evidence_file=path, **NOW)


def _refused(store: Store, path: Path, match: str) -> None:
    with pytest.raises(InvalidInput, match=match) as caught:
        _complete(store, path)
    assert caught.value.field == "evidence_file" and "\n" not in caught.value.message


@pytest.fixture
def sqlite_cal(cal_store: Store) -> Store:
    return cal_store


def test_system_files_devices_and_proc_are_refused(sqlite_cal: Store, tmp_path: Path) -> None:
    for path, why in [
        (Path("/etc/shadow"), "system folder /etc|outside the folders"),
        (Path("/proc/self/environ"), "system folder /proc|outside the folders"),
        (Path("/dev/zero"), "system folder /dev|outside the folders"),
        (Path("/dev/stdin"), "system folder|outside the folders"),
    ]:
        if os.path.lexists(path):
            _refused(sqlite_cal, path, why)
    # a link in an allowed folder that points out of it
    link = tmp_path / "cert.pdf"
    link.symlink_to("/etc/passwd")
    _refused(sqlite_cal, link, "system folder /etc")
    # the data directory itself (the live database)
    if sqlite_cal.dialect == "sqlite":
        _refused(sqlite_cal, sqlite_cal.data_dir / "rxdesk.db", "data directory")
    _refused(sqlite_cal, sqlite_cal.settings.chain_key_path, "data directory")


def test_pipes_folders_empty_and_huge_files_are_refused(sqlite_cal: Store, tmp_path: Path) -> None:
    fifo = tmp_path / "scan.pdf"
    os.mkfifo(fifo)
    started = time.monotonic()
    _refused(sqlite_cal, fifo, "not a regular file")  # and it did not wait for a writer
    assert time.monotonic() - started < 60
    _refused(sqlite_cal, tmp_path, "not a regular file")
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    _refused(sqlite_cal, empty, "is empty")
    big = tmp_path / "big.pdf"
    big.write_bytes(b"x" * 2048)
    sqlite_cal.settings = sqlite_cal.settings.model_copy(update={"max_evidence_mb": 1 / 1024})
    _refused(sqlite_cal, big, r"is 2 KB \(limit 1 KB\)")


def test_folders_outside_the_allowed_roots_are_refused(sqlite_cal: Store, tmp_path: Path) -> None:
    inside, outside = tmp_path / "scans", tmp_path / "elsewhere"
    inside.mkdir()
    outside.mkdir()
    (outside / "cert.pdf").write_bytes(b"certificate")
    (inside / "ok.pdf").write_bytes(b"certificate")
    sqlite_cal.settings = sqlite_cal.settings.model_copy(update={"evidence_roots": str(inside)})
    _refused(sqlite_cal, outside / "cert.pdf", "outside the folders evidence may come from")
    (inside / "sneaky.pdf").symlink_to(outside / "cert.pdf")
    _refused(sqlite_cal, inside / "sneaky.pdf", "outside the folders")
    _refused(sqlite_cal, inside / ".." / "elsewhere" / "cert.pdf", "outside the folders")
    assert _complete(sqlite_cal, inside / "ok.pdf").evidence_sha256


def test_evidence_copies_are_private_whatever_the_umask(sqlite_cal: Store, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        cert = tmp_path / "cert.pdf"
        cert.write_bytes(b"certificate body")
        c = _complete(sqlite_cal, cert)
        copy = sqlite_cal.settings.files_dir / (c.evidence_file or "")
        assert copy.read_bytes() == b"certificate body"
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        for folder in (copy.parent, copy.parent.parent, sqlite_cal.settings.files_dir):
            assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0
        assert not any(p.name.endswith(".part") for p in sqlite_cal.settings.files_dir.rglob("*"))
    finally:
        os.umask(old)


def test_two_completions_attaching_the_same_new_file_do_not_collide(cal_store: Store, tmp_path: Path) -> None:
    """Round after round (bounded), two completions copy the same new file at the same instant."""
    months = [
        date(2026, m, 28) if m == 2 else date(2026, m, 30 if m in (4, 6, 9) else 31) for m in range(1, 11)
    ]
    deadline = time.monotonic() + 40
    rounds = 0
    for due in months:
        if time.monotonic() > deadline and rounds >= 3:
            break
        shared = tmp_path / f"log-{due.isoformat()}.pdf"
        shared.write_bytes(os.urandom(256 * 1024))
        barrier = threading.Barrier(2)
        results: list[object] = []

        def run(
            site: str,
            due: date = due,
            shared: Path = shared,
            barrier: threading.Barrier = barrier,
            results: list[object] = results,
        ) -> None:
            barrier.wait()
            try:
                results.append(
                    complete(
                        cal_store,
                        f"month-end-check@{site}@{due.isoformat()}",
                        principal=who(cal_store, "jdoe"),
                        on=due,
                        evidence_file=shared,
                        **NOW,
                    )
                )
            except (RxdeskError, OSError) as exc:  # OSError: the old temp-file collision
                results.append(exc)

        threads = [threading.Thread(target=run, args=(s,)) for s in ("main", "west")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert len(results) == 2 and not any(isinstance(r, BaseException) for r in results), results
        shas = {r.evidence_sha256 for r in results}  # type: ignore[attr-defined]
        assert len(shas) == 1
        stored = cal_store.settings.files_dir / results[0].evidence_file  # type: ignore[attr-defined,operator]
        assert stored.read_bytes() == shared.read_bytes()
        rounds += 1
    assert rounds >= 3
    leftovers = [p for p in cal_store.settings.files_dir.rglob("*") if p.name.endswith(".part")]
    assert leftovers == []
