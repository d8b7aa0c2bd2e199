"""Runtime table definitions of the compliance calendar (migrations create them)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, DateTime, Integer, MetaData, String, Table, Text

metadata = MetaData()

sites = Table(
    "calendar_sites",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("slack_channel", String(64)),
    Column("pharmacist_channel", String(64)),
    Column("digest_time", String(5)),
)

# One row per obligation: the validated pydantic model as JSON (the schedule kinds differ in shape),
# plus the date tracking began (occurrences due before it are assumed handled before rxdesk).
obligations = Table(
    "calendar_obligations",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("data", JSON, nullable=False),
    Column("tracked_from", Date, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

credential_reminders = Table(
    "calendar_credential_reminders",
    metadata,
    Column("type", String(64), primary_key=True),
    Column("days", JSON, nullable=False),
)

completions = Table(
    "calendar_completions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("occurrence_id", String(240), nullable=False, unique=True),
    Column("obligation_id", String(160), nullable=False),
    Column("series_key", String(160), nullable=False),
    Column("due", Date, nullable=False),
    Column("completed_on", Date, nullable=False),
    Column("snapshot", JSON, nullable=False),  # title/site/owner/citation/evidence at completion
    Column("evidence", Text),
    Column("evidence_file", String(400)),
    Column("evidence_sha256", String(64)),
    Column("completed_by", String(64), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

pa_requests = Table(
    "pa_requests",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("patient_ref", String(64), nullable=False),
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

# The daily digest's delivery record: the (site, day) key makes a second claim fail, so the digest is
# posted once however many instances run (see assistant/calendar/digest_delivery.py).
digest_posts = Table(
    "calendar_digest_posts",
    metadata,
    Column("site", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("claimed_by", String(200), nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Column("channel", String(64)),
    Column("posted_ts", String(32)),
    Column("posted_at", DateTime(timezone=True)),
    Column("failure", String(200)),
)
