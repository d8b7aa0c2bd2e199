"""Finding 9: many commands starting at once on a brand-new data directory. SQLite used to race its
migrations (13 tracebacks out of 20 commands); now a file lock serializes them. The keys created on
first use (chain key, patient-token key) are created once, whoever wins. Run in a loop of rounds,
bounded by a time budget (never asserted on); PostgreSQL too, where an advisory lock already held."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from assistant.audit_query import verify_records
from assistant.config import Settings
from assistant.principal import OPERATOR
from assistant.store import open_store
from assistant.store.migrations import all_migrations, schema_migrations

WORKERS = 8
ROUNDS = 3
BUDGET_S = 90.0


def _first_command(data_dir: str, url: str | None, barrier: Any, queue: Any) -> None:
    from assistant import audit
    from assistant.staff import list_staff

    settings = Settings(data_dir=Path(data_dir), database_url=url, _env_file=None)  # type: ignore[call-arg]
    barrier.wait()
    try:
        store = open_store(settings)
        audit.record(store, actor="system:operator", action="test.first_run")
        list_staff(store)
        store.dispose()
        queue.put("ok")
    except BaseException as exc:  # reported by the test
        queue.put(f"{type(exc).__name__}: {exc}")


def _race(data_dir: Path, url: str | None) -> list[str]:
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [
        ctx.Process(target=_first_command, args=(str(data_dir), url, barrier, queue)) for _ in range(WORKERS)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return results


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_many_first_commands_at_once_on_a_new_data_dir(tmp_path: Path, request, dialect: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + BUDGET_S
    rounds = 0
    for n in range(ROUNDS):
        if rounds >= 2 and time.monotonic() > deadline:
            break
        url = request.getfixturevalue("pg_url") if dialect == "postgresql" and n == 0 else None
        if dialect == "postgresql":
            url = url or _fresh_pg_schema(request)
        data_dir = tmp_path / f"new{n}"
        results = _race(data_dir, url)
        assert results == ["ok"] * WORKERS, results
        store = open_store(Settings(data_dir=data_dir, database_url=url, _env_file=None))  # type: ignore[call-arg]
        try:
            with store.begin() as conn:
                applied = set(conn.execute(select(schema_migrations.c.name)).scalars())
            assert applied == {name for name, _ in all_migrations()}
            report = verify_records(store, principal=OPERATOR)
            assert report.ok and report.by_table["audit_log"] == WORKERS  # one chain, no fork
            names = sorted(p.name for p in data_dir.iterdir())
            assert "chain.key" in names and not [n for n in names if n.startswith(".")]  # no temp leftovers
        finally:
            store.dispose()
        rounds += 1
    assert rounds >= 2


def _fresh_pg_schema(request) -> str:  # type: ignore[no-untyped-def]
    import uuid

    from sqlalchemy import create_engine, text

    from tests.conftest import PG_URL

    schema = f"rxdesk_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    request.addfinalizer(drop)
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


def test_the_installed_command_twelve_at_once_on_a_new_sqlite_dir(tmp_path: Path) -> None:
    """The report's scenario through the real entry point: no traceback, every command succeeds."""
    env = {**os.environ, "RXDESK_DATA_DIR": str(tmp_path / "fresh")}
    env.pop("RXDESK_DATABASE_URL", None)
    commands = [["deadlines"], ["staff", "list"], ["calendar", "sites"], ["audit", "verify"]] * 3
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", *c],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in commands
    ]
    outcomes = [(p.wait(timeout=600), p.stderr.read() if p.stderr else "") for p in procs]
    assert all(code == 0 for code, _ in outcomes), outcomes
    assert not any("Traceback" in err for _, err in outcomes)
