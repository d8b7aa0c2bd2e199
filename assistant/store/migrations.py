"""Schema migrations: append-only lists of named functions, applied once each, in order.

Each feature package owns its schema in a ``migrations`` module exposing ``MIGRATIONS``, a list of
``(name, function)`` pairs. Never edit or reorder an entry that has shipped: append a new one.
Migrations declare their DDL with a private ``MetaData`` so they stay frozen when the runtime table
definitions (``tables.py`` modules) move on.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Column, Connection, DateTime, MetaData, String, Table, insert, select, text
from sqlalchemy.exc import DBAPIError

from assistant.files import file_lock
from assistant.store.engine import Store

Migration = tuple[str, Callable[[Connection], None]]

# Order matters: later sets may reference tables of earlier ones.
MIGRATION_MODULES = [
    "assistant.store.core_migrations",
    "assistant.review.migrations",
    "assistant.calendar.migrations",
    "assistant.agent.migrations",
    "assistant.sops.migrations",
    "assistant.store.integrity_migrations",  # seals existing rows of the chained tables
]

_meta = MetaData()
schema_migrations = Table(
    "schema_migrations",
    _meta,
    Column("name", String(200), primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)


def all_migrations() -> list[Migration]:
    found: list[Migration] = []
    for module_name in MIGRATION_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # feature not installed yet
            raise
        found.extend(module.MIGRATIONS)
    names = [name for name, _ in found]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise RuntimeError(f"duplicate migration names: {sorted(duplicates)}")
    return found


def _pending(store: Store) -> bool:
    """True unless every known migration is recorded (the common case: no lock needed)."""
    names = {name for name, _ in all_migrations()}
    try:
        with store.begin() as conn:
            done = set(conn.execute(select(schema_migrations.c.name)).scalars())
    except DBAPIError:
        return True  # no table yet (first run)
    return not names <= done


def migrate(store: Store) -> list[str]:
    """Apply pending migrations; returns the names applied. Safe to call concurrently.

    Concurrent first runs are serialized: PostgreSQL by a transaction-scoped advisory lock, SQLite by
    an exclusive file lock next to the database (``<db>.migrate.lock``), so the second process waits,
    then finds everything applied. The whole run is one transaction: all or nothing.
    """
    if not _pending(store):
        return []
    if store.dialect == "sqlite":
        lock = _sqlite_lock_path(store)
        if lock is not None:
            with file_lock(lock, wait=MIGRATION_LOCK_WAIT):
                return _migrate(store)
    return _migrate(store)


MIGRATION_LOCK_WAIT = 120.0


def _sqlite_lock_path(store: Store) -> Path | None:
    database = store.engine.url.database
    if not database or database == ":memory:":
        return None
    return Path(database).with_name(Path(database).name + ".migrate.lock")


def _migrate(store: Store) -> list[str]:
    applied_now: list[str] = []
    with store.begin() as conn:
        if store.dialect == "postgresql":
            # serialize concurrent migrators (two CLI processes starting at once)
            conn.execute(text("SELECT pg_advisory_xact_lock(7355608)"))
        elif store.dialect == "sqlite":
            # the sqlite3 driver runs DDL outside any transaction unless one is open: open it
            # ourselves so a crash mid-migration leaves nothing half-applied
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        _meta.create_all(conn, tables=[schema_migrations])
        done = set(conn.execute(select(schema_migrations.c.name)).scalars())
        for name, fn in all_migrations():
            if name in done:
                continue
            fn(conn)
            conn.execute(insert(schema_migrations).values(name=name, applied_at=datetime.now(UTC)))
            applied_now.append(name)
    return applied_now
