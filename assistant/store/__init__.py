"""Persistence: one SQLAlchemy engine (SQLite file by default, PostgreSQL by URL) and migrations."""

from assistant.store.engine import Store, open_store

__all__ = ["Store", "open_store"]
