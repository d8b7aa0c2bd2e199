"""Persistence: one SQLAlchemy engine (SQLite file by default, PostgreSQL by URL) and migrations."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from assistant.config import Settings
from assistant.errors import InvalidInput
from assistant.files import LockBusy
from assistant.store.engine import Store, make_engine
from assistant.store.migrations import migrate as run_migrations


def open_store(settings: Settings, *, migrate: bool = True) -> Store:
    """Open (and by default migrate) the store named by the settings.

    The data directory is made private first (0700, files 0600); the chain key (tamper evidence,
    see ``assistant/integrity.py``) is loaded, or created on first run, and bound to the engine.
    """
    from assistant import integrity

    settings.ensure_dirs()
    engine = make_engine(settings.db_url)
    integrity.register_key(engine, integrity.load_key(settings.chain_key_path))
    store = Store(engine=engine, data_dir=settings.data_dir, settings=settings)
    if migrate:
        try:
            run_migrations(store)
        except (OperationalError, LockBusy) as exc:
            engine.dispose()
            if isinstance(exc, LockBusy):
                raise InvalidInput("cannot open database: another process is still migrating it") from None
            first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]
            raise InvalidInput(f"cannot open database: {first}") from exc
    return store


__all__ = ["Store", "open_store"]
