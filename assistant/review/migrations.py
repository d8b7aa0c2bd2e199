"""Schema for the review queue (append-only list; never edit a shipped entry)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)


def _id() -> Column:
    return Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)


def _r001_drafts(conn: Connection) -> None:
    meta = MetaData()
    Table(
        "drafts",
        meta,
        _id(),
        Column("kind", String(32), nullable=False),
        Column("status", String(24), nullable=False),
        Column("current_version", Integer, nullable=False),
        Column("patient_ref", String(64), nullable=True),
        Column("created_by", String(64), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )
    Table(
        "draft_versions",
        meta,
        _id(),
        Column(
            "draft_id", BigInteger().with_variant(Integer, "sqlite"), ForeignKey("drafts.id"), nullable=False
        ),
        Column("version", Integer, nullable=False),
        Column("case_data", JSON, nullable=False),
        Column("document", JSON, nullable=False),
        Column("missing", JSON, nullable=False),
        Column("warnings", JSON, nullable=False),
        Column("errors", JSON, nullable=False),
        Column("content_sha256", String(64), nullable=False),
        Column("created_by", String(64), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("approved_by", String(64), nullable=True),
        Column("approved_at", DateTime(timezone=True), nullable=True),
        Column("override_reason", Text, nullable=True),
        UniqueConstraint("draft_id", "version", name="uq_draft_versions_draft_version"),
    )
    Table(
        "draft_reviews",
        meta,
        _id(),
        Column(
            "draft_id", BigInteger().with_variant(Integer, "sqlite"), ForeignKey("drafts.id"), nullable=False
        ),
        Column("version", Integer, nullable=False),
        Column("action", String(32), nullable=False),
        Column("actor", String(64), nullable=False),
        Column("reason", Text, nullable=True),
        Column("at", DateTime(timezone=True), nullable=False),
    )
    meta.create_all(conn)
    # An approved version can never change or disappear: enforced by the database itself.
    if conn.dialect.name == "sqlite":
        for op in ("UPDATE", "DELETE"):
            conn.execute(
                text(
                    f"CREATE TRIGGER draft_versions_approved_no_{op.lower()} BEFORE {op} ON draft_versions "
                    "WHEN OLD.approved_at IS NOT NULL "
                    "BEGIN SELECT RAISE(ABORT, 'approved draft versions are immutable'); END"
                )
            )
    elif conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "CREATE OR REPLACE FUNCTION rxdesk_approved_versions_immutable() RETURNS trigger AS $$ "
                "BEGIN IF OLD.approved_at IS NOT NULL THEN "
                "RAISE EXCEPTION 'approved draft versions are immutable'; END IF; "
                "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER draft_versions_approved_immutable BEFORE UPDATE OR DELETE ON draft_versions "
                "FOR EACH ROW EXECUTE FUNCTION rxdesk_approved_versions_immutable()"
            )
        )


def _r002_signer(conn: Connection) -> None:
    """The approving pharmacist as signed on the document, frozen at approval (issue 11)."""
    conn.execute(text("ALTER TABLE draft_versions ADD COLUMN signer JSON"))


MIGRATIONS = [
    ("review_001_drafts", _r001_drafts),
    ("review_002_signer", _r002_signer),
]
