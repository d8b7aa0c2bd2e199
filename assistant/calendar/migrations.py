"""Schema of the compliance calendar (append-only list; never edit a shipped entry)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Connection, Date, DateTime, Integer, MetaData, String, Table, Text, text


def _m001_calendar(conn: Connection) -> None:
    meta = MetaData()
    Table(
        "calendar_sites",
        meta,
        Column("id", String(64), primary_key=True),
        Column("name", String(200), nullable=False),
        Column("timezone", String(64), nullable=False),
        Column("slack_channel", String(64)),
    )
    Table(
        "calendar_obligations",
        meta,
        Column("id", String(100), primary_key=True),
        Column("data", JSON, nullable=False),
        Column("tracked_from", Date, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )
    Table(
        "calendar_credential_reminders",
        meta,
        Column("type", String(64), primary_key=True),
        Column("days", JSON, nullable=False),
    )
    Table(
        "calendar_completions",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("occurrence_id", String(240), nullable=False, unique=True),
        Column("obligation_id", String(160), nullable=False, index=True),
        Column("series_key", String(160), nullable=False),
        Column("due", Date, nullable=False),
        Column("completed_on", Date, nullable=False, index=True),
        Column("snapshot", JSON, nullable=False),
        Column("evidence", Text),
        Column("evidence_file", String(400)),
        Column("evidence_sha256", String(64)),
        Column("completed_by", String(64), nullable=False),
        Column("recorded_at", DateTime(timezone=True), nullable=False),
    )
    Table(
        "pa_requests",
        meta,
        Column("id", String(64), primary_key=True),
        Column("patient_ref", String(64), nullable=False, index=True),
        Column("drug", String(200), nullable=False),
        Column("program", String(32), nullable=False),
        Column("urgency", String(16), nullable=False),
        Column("submitted_at", DateTime(timezone=True), nullable=False),
        Column("site", String(64)),
        Column("status", String(16), nullable=False),
        Column("until", Date),
        Column("notice_date", Date),
        Column("owner", String(64), nullable=False),
        Column("created_by", String(64), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )
    meta.create_all(conn)


def _m002_site_slack(conn: Connection) -> None:
    """Where a site's clinical hand-offs go, and the local time of its daily digest."""
    conn.execute(text("ALTER TABLE calendar_sites ADD COLUMN pharmacist_channel VARCHAR(64)"))
    conn.execute(text("ALTER TABLE calendar_sites ADD COLUMN digest_time VARCHAR(5)"))


def _m003_digest_posts(conn: Connection) -> None:
    """One row per site and local date: the claim that makes the daily digest go out once."""
    meta = MetaData()
    Table(
        "calendar_digest_posts",
        meta,
        Column("site", String(64), primary_key=True),
        Column("day", Date, primary_key=True),
        Column("claimed_by", String(200), nullable=False),
        Column("claimed_at", DateTime(timezone=True), nullable=False),
        Column("channel", String(64)),
        Column("posted_ts", String(32)),
        Column("posted_at", DateTime(timezone=True)),
        Column("failure", String(200)),
    )
    meta.create_all(conn)


MIGRATIONS = [
    ("calendar_001_tables", _m001_calendar),
    ("calendar_002_site_slack", _m002_site_slack),
    ("calendar_003_digest_posts", _m003_digest_posts),
]
