"""Conversation memory per conversation id through LangGraph's checkpointers, on our own database:
``langgraph-checkpoint-sqlite`` on the SQLite file, ``langgraph-checkpoint-postgres`` on PostgreSQL.
The checkpoint tables sit next to ours; they hold the real (unpseudonymized) conversation, which
never leaves the database."""

from __future__ import annotations

import sqlite3
import threading

from langgraph.checkpoint.base import BaseCheckpointSaver

from assistant.store import Store

_lock = threading.Lock()
_savers: dict[str, BaseCheckpointSaver] = {}


def _postgres_conninfo(store: Store) -> str:
    url = store.engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def checkpointer(store: Store) -> BaseCheckpointSaver:
    """One saver per database and process (created on first use, tables set up once)."""
    key = store.engine.url.render_as_string(hide_password=False)
    with _lock:
        saver = _savers.get(key)
        if saver is not None:
            return saver
        if store.dialect == "sqlite":
            from langgraph.checkpoint.sqlite import SqliteSaver

            conn = sqlite3.connect(store.engine.url.database or ":memory:", check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=5000")
            saver = SqliteSaver(conn)
        else:
            from langgraph.checkpoint.postgres import PostgresSaver
            from psycopg import Connection
            from psycopg.rows import dict_row

            pg = Connection.connect(
                _postgres_conninfo(store), autocommit=True, prepare_threshold=0, row_factory=dict_row
            )
            saver = PostgresSaver(pg)  # type: ignore[arg-type]
        saver.setup()
        _savers[key] = saver
        return saver
