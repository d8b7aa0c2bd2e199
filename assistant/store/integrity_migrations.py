"""Migrations of the tamper-evident chain (append-only list; never edit a shipped entry).

``integrity_001_chain`` adds the chain columns to ``audit_log``, ``draft_versions`` and
``draft_reviews``, seals every row already there (in time order) with this installation's key, and
adds the database-side guards: review events become append-only, draft versions can never be deleted
and their sealed columns never change, the chain head cannot be deleted, and on PostgreSQL none of
these tables can be truncated (row triggers do not fire on TRUNCATE; a statement trigger does).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    MetaData,
    String,
    Table,
    text,
)

from assistant import integrity

_VERSION_SEALED_COLUMNS = (
    "draft_id, version, case_data, document, missing, warnings, errors, content_sha256, "
    "created_by, created_at, chain_seq, chain_prev, chain_mac"
)


def _add_columns(conn: Connection) -> None:
    for table in ("audit_log", "draft_versions", "draft_reviews"):
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN chain_seq BIGINT"))
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN chain_prev VARCHAR(64)"))
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN chain_mac VARCHAR(64)"))
    conn.execute(text("ALTER TABLE draft_reviews ADD COLUMN content_sha256 VARCHAR(64)"))
    # approvals made before this migration: the content they approved is the version's recorded hash
    conn.execute(
        text(
            "UPDATE draft_reviews SET content_sha256 = (SELECT v.content_sha256 FROM draft_versions v "
            "WHERE v.draft_id = draft_reviews.draft_id AND v.version = draft_reviews.version) "
            "WHERE action = 'approve'"
        )
    )
    # ... and its time is the version's approval time (before this migration the two were taken
    # microseconds apart); export checks that a version's approval matches its sealed event exactly
    conn.execute(
        text(
            "UPDATE draft_reviews SET at = (SELECT v.approved_at FROM draft_versions v "
            "WHERE v.draft_id = draft_reviews.draft_id AND v.version = draft_reviews.version) "
            "WHERE action = 'approve' AND EXISTS (SELECT 1 FROM draft_versions v "
            "WHERE v.draft_id = draft_reviews.draft_id AND v.version = draft_reviews.version "
            "AND v.approved_at IS NOT NULL)"
        )
    )
    meta = MetaData()
    Table(
        "chain_heads",
        meta,
        Column("name", String(32), primary_key=True),
        Column("seq", BigInteger, nullable=False),
        Column("mac", String(64), nullable=False),
        Column("head_mac", String(64), nullable=False),
        Column("key_id", String(32), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )
    meta.create_all(conn)


def _seal_existing(conn: Connection, key: bytes) -> None:
    """Give every existing row its place in the chain, oldest first."""
    rows: list[tuple[Any, int, int, str, dict[str, Any]]] = []
    order = {name: i for i, name in enumerate(integrity.SEALED)}
    for name, columns in integrity.SEALED.items():
        when = integrity.TIME_COLUMN[name]
        for row in conn.execute(text(f"SELECT id, {', '.join(columns)} FROM {name}")).mappings():
            values = dict(row)
            if conn.dialect.name == "sqlite":
                values = _sqlite_decode(name, values)
            stamp = integrity._norm(values[when])
            rows.append((stamp, order[name], int(values["id"]), name, values))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    prev = integrity.GENESIS
    for seq, (_stamp, _o, row_id, name, values) in enumerate(rows, start=1):
        mac = integrity.row_mac(key, name, seq, prev, values)
        conn.execute(
            text(f"UPDATE {name} SET chain_seq = :seq, chain_prev = :prev, chain_mac = :mac WHERE id = :id"),
            {"seq": seq, "prev": prev, "mac": mac, "id": row_id},
        )
        prev = mac
    integrity.install_head(conn, key, len(rows), prev)


def _sqlite_decode(name: str, values: dict[str, Any]) -> dict[str, Any]:
    """Raw SQL on SQLite returns JSON and timestamps as stored text: decode them the way the
    runtime tables (SQLAlchemy JSON / DateTime types) will, so the seals match later reads."""
    import json

    json_cols = {
        "audit_log": ("detail",),
        "draft_versions": ("case_data", "document", "missing", "warnings", "errors"),
        "draft_reviews": (),
    }[name]
    out = dict(values)
    for col in json_cols:
        if isinstance(out.get(col), str):
            out[col] = json.loads(out[col])
    for col in ("at", "created_at"):
        if isinstance(out.get(col), str):
            out[col] = dt.datetime.fromisoformat(out[col])
    return out


def _sqlite_guards(conn: Connection) -> None:
    statements = [
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
        "CREATE TRIGGER draft_versions_approved_no_update BEFORE UPDATE ON draft_versions "
        "WHEN OLD.approved_at IS NOT NULL "
        "BEGIN SELECT RAISE(ABORT, 'approved draft versions are immutable'); END",
        "CREATE TRIGGER draft_versions_no_delete_any BEFORE DELETE ON draft_versions "
        "BEGIN SELECT RAISE(ABORT, 'draft versions are kept for the record'); END",
        f"CREATE TRIGGER draft_versions_sealed BEFORE UPDATE OF {_VERSION_SEALED_COLUMNS} ON draft_versions "
        "BEGIN SELECT RAISE(ABORT, 'draft version content is sealed'); END",
    ]
    for op in ("UPDATE", "DELETE"):
        statements.append(
            f"CREATE TRIGGER draft_reviews_no_{op.lower()} BEFORE {op} ON draft_reviews "
            "BEGIN SELECT RAISE(ABORT, 'review history is append-only'); END"
        )
    statements.append(
        "CREATE TRIGGER chain_heads_no_delete BEFORE DELETE ON chain_heads "
        "BEGIN SELECT RAISE(ABORT, 'the chain head is kept'); END"
    )
    for sql in statements:
        conn.execute(text(sql))


def _pg_guards(conn: Connection) -> None:
    conn.execute(
        text(
            "CREATE OR REPLACE FUNCTION rxdesk_refuse() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION '% on % is not allowed: the table is tamper-evident', TG_OP, TG_TABLE_NAME; "
            "END; $$ LANGUAGE plpgsql"
        )
    )
    sealed = [c.strip() for c in _VERSION_SEALED_COLUMNS.split(",")]
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in sealed if c not in _JSON_COLUMNS)
    json_changed = " OR ".join(f"NEW.{c}::text IS DISTINCT FROM OLD.{c}::text" for c in _JSON_COLUMNS)
    conn.execute(
        text(
            "CREATE OR REPLACE FUNCTION rxdesk_versions_sealed() RETURNS trigger AS $$ "
            "BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'draft versions are kept for the record'; END IF; "
            f"IF {changed} OR {json_changed} THEN RAISE EXCEPTION 'draft version content is sealed'; END IF; "
            "RETURN NEW; END; $$ LANGUAGE plpgsql"
        )
    )
    conn.execute(
        text(
            "CREATE TRIGGER draft_versions_sealed BEFORE UPDATE OR DELETE ON draft_versions "
            "FOR EACH ROW EXECUTE FUNCTION rxdesk_versions_sealed()"
        )
    )
    conn.execute(
        text(
            "CREATE TRIGGER draft_reviews_append_only BEFORE UPDATE OR DELETE ON draft_reviews "
            "FOR EACH ROW EXECUTE FUNCTION rxdesk_refuse()"
        )
    )
    conn.execute(
        text(
            "CREATE TRIGGER chain_heads_no_delete BEFORE DELETE ON chain_heads "
            "FOR EACH ROW EXECUTE FUNCTION rxdesk_refuse()"
        )
    )
    for table in ("audit_log", "draft_versions", "draft_reviews", "drafts", "chain_heads"):
        conn.execute(
            text(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION rxdesk_refuse()"
            )
        )


_JSON_COLUMNS = ("case_data", "document", "missing", "warnings", "errors")


def _i001_chain(conn: Connection) -> None:
    key = integrity.key_for(conn)
    _add_columns(conn)
    if conn.dialect.name == "sqlite":
        # the append-only triggers would refuse the sealing updates: lift them for this transaction
        conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS draft_versions_approved_no_update"))
        _seal_existing(conn, key)
        _sqlite_guards(conn)
    else:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        conn.execute(text("ALTER TABLE draft_versions DISABLE TRIGGER draft_versions_approved_immutable"))
        _seal_existing(conn, key)
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
        conn.execute(text("ALTER TABLE draft_versions ENABLE TRIGGER draft_versions_approved_immutable"))
        _pg_guards(conn)
    for table in ("audit_log", "draft_versions", "draft_reviews"):
        conn.execute(text(f"CREATE UNIQUE INDEX ix_{table}_chain_seq ON {table} (chain_seq)"))


MIGRATIONS = [
    ("integrity_001_chain", _i001_chain),
]
