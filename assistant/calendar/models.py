"""Pydantic types of the compliance calendar (no I/O here)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.config import parse_hh_mm
from assistant.sops.models import SopChange

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"

Status = Literal["overdue", "due_soon", "upcoming", "done"]
DUE_SOON_DAYS = 7


class Site(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    timezone: str = "UTC"
    slack_channel: str | None = None  # where the daily digest is posted
    pharmacist_channel: str | None = None  # clinical hand-offs and drafts awaiting a pharmacist
    digest_time: str | None = None  # local HH:MM of the daily digest (default: the settings' digest time)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone '{v}'") from None
        return v

    @field_validator("digest_time")
    @classmethod
    def _time_of_day(cls, v: str | None) -> str | None:
        return None if v is None else parse_hh_mm(v).strftime("%H:%M")


class FixedSchedule(BaseModel):
    """A fixed calendar: an RFC 5545 RRULE anchored on ``start`` (the first due date)."""

    model_config = ConfigDict(extra="forbid")

    rrule: str
    start: date

    @property
    def kind(self) -> str:
        return "fixed"


class RollingSchedule(BaseModel):
    """Rolling: the next due date is the last completion plus ``every`` (ISO 8601 duration)."""

    model_config = ConfigDict(extra="forbid")

    every: str
    first_due: date

    @property
    def kind(self) -> str:
        return "rolling"


class OnceSchedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    once: date

    @property
    def kind(self) -> str:
        return "once"


Schedule = FixedSchedule | RollingSchedule | OnceSchedule


class Obligation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=100, pattern=ID_PATTERN)
    title: str = Field(min_length=1, max_length=200)
    applies_to: str = "site"  # "site" | "staff:<role>"
    owner: str = Field(default="pic", min_length=1, max_length=64)
    citation: str | None = None
    schedule: Schedule
    remind_days: list[int] = Field(default_factory=list)
    evidence: str | None = None
    category: str | None = None
    notes: str | None = None
    # For staff:<role> obligations: the credential type whose recorded expiry replaces this series.
    credential: str | None = None

    @property
    def staff_role(self) -> str | None:
        return self.applies_to.split(":", 1)[1] if self.applies_to.startswith("staff:") else None


class Library(BaseModel):
    sites: list[Site] = Field(default_factory=list)
    obligations: list[Obligation] = Field(default_factory=list)
    credential_reminders: dict[str, list[int]] = Field(default_factory=dict)


class ImportResult(BaseModel):
    file: str
    sites_added: int = 0
    sites_updated: int = 0
    obligations_added: int = 0
    obligations_updated: int = 0
    obligations_unchanged: int = 0
    credential_reminders: int = 0


class Occurrence(BaseModel):
    """One due date of one series (site, staff member, credential or PA)."""

    id: str
    obligation_id: str
    title: str
    site: str | None
    owner: str
    due: date
    status: Status
    days_left: int
    citation: str | None = None
    evidence: str | None = None
    remind_days: list[int] = Field(default_factory=list)
    kind: str = "obligation"  # obligation | credential | pa
    missed: int = 0  # earlier past-due occurrences of the same series, superseded by this one
    completed_on: date | None = None
    completed_by: str | None = None
    due_at: datetime | None = None  # PA follow-ups: the exact hour (UTC) the clock runs out
    series_key: str | None = None  # the series this date belongs to (the id without "@date")
    cred_type: str | None = None  # credential deadlines: e.g. pharmacist_license
    staff_id: str | None = None  # per-person deadlines: whose they are


class DeadlineList(BaseModel):
    as_of: date
    occurrences: list[Occurrence]
    note: str | None = None
    unusable: list[str] = Field(default_factory=list)  # "obligation id: why its schedule is unusable"


class Completion(BaseModel):
    id: int
    occurrence_id: str
    obligation_id: str
    series_key: str
    due: date
    completed_on: date
    evidence: str | None = None
    evidence_file: str | None = None
    evidence_sha256: str | None = None
    completed_by: str
    recorded_at: datetime
    next_due: date | None = None
    new_expiry: date | None = None


class PARequest(BaseModel):
    id: str
    patient_ref: str
    drug: str
    program: str = "part_d"
    urgency: Literal["standard", "expedited"]
    submitted_at: datetime
    site: str | None = None
    status: Literal["submitted", "approved", "denied"] = "submitted"
    until: date | None = None
    notice_date: date | None = None
    owner: str = "technician"
    deadlines: list[Occurrence] = Field(default_factory=list)


class Digest(BaseModel):
    """The daily digest as data; the CLI renders text, the Slack adapter renders Block Kit."""

    site: str | None
    site_name: str
    date: date
    overdue: list[Occurrence]
    due_soon: list[Occurrence]
    reminders: list[Occurrence]
    completed_recently: list[Occurrence]
    # SOPs added, changed, renamed, removed or approved since the last daily digest (so the
    # pharmacist in charge sees a planted or edited SOP), oldest first
    sop_changes: list[SopChange] = Field(default_factory=list)
    sop_changes_since: datetime | None = None
