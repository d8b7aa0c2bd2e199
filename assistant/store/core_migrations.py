"""Migrations for the core tables: staff directory, credentials, audit log."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    text,
)


def _m001_staff(conn: Connection) -> None:
    meta = MetaData()
    Table(
        "staff",
        meta,
        Column("id", String(64), primary_key=True),
        Column("name", String(200), nullable=False),
        Column("role", String(32), nullable=False),
        Column("site", String(64), nullable=True),
        Column("slack_user_id", String(64), nullable=True, unique=True),
        Column("active", Integer, nullable=False, server_default="1"),
    )
    Table(
        "staff_credentials",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("staff_id", String(64), ForeignKey("staff.id", ondelete="CASCADE"), nullable=False),
        Column("type", String(64), nullable=False),
        Column("number", String(64), nullable=True),
        Column("expires", Date, nullable=True),
    )
    meta.create_all(conn)


def _m002_audit_log(conn: Connection) -> None:
    meta = MetaData()
    Table(
        "audit_log",
        meta,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("actor", String(64), nullable=False),
        Column("action", String(64), nullable=False),
        Column("target", String(200), nullable=True),
        Column("outcome", String(16), nullable=False),
        Column("patient_ref", String(64), nullable=True),
        Column("detail", JSON, nullable=True),
    )
    meta.create_all(conn)
    # append-only, enforced by the database itself
    if conn.dialect.name == "sqlite":
        for op in ("UPDATE", "DELETE"):
            conn.execute(
                text(
                    f"CREATE TRIGGER audit_log_no_{op.lower()} BEFORE {op} ON audit_log "
                    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
                )
            )
    elif conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "CREATE OR REPLACE FUNCTION rxdesk_audit_append_only() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                "FOR EACH ROW EXECUTE FUNCTION rxdesk_audit_append_only()"
            )
        )


def _m003_staff_signature(conn: Connection) -> None:
    """How a pharmacist signs approved documents: NPI and credentials as printed ("PharmD, RPh")."""
    conn.execute(text("ALTER TABLE staff ADD COLUMN npi VARCHAR(10)"))
    conn.execute(text("ALTER TABLE staff ADD COLUMN display_credentials VARCHAR(100)"))


MIGRATIONS = [
    ("core_001_staff", _m001_staff),
    ("core_002_audit_log", _m002_audit_log),
    ("core_003_staff_signature", _m003_staff_signature),
]
