"""Prior-authorization clocks as deadline rules (pharmacy reference B3). Pure functions, no I/O.

Deadlines of one tracked PA:

* follow-up check at submitted + 24 h (expedited) or + 72 h (standard) while no decision is in
  (Part D coverage determinations: 42 CFR 423.568/423.570/423.572);
* renewal reminder 30 days before an approval's end date;
* for a Part D denial, the redetermination filing deadline: notice date + 5 days (presumed receipt)
  + 60 days (42 CFR 423.582).

Titles carry the PA id and the drug, never the patient reference (the digest goes to Slack).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from assistant.calendar.models import PARequest

FOLLOW_UP_HOURS = {"expedited": 24, "standard": 72}
RENEWAL_LEAD_DAYS = 30
PRESUMED_RECEIPT_DAYS = 5
REDETERMINATION_DAYS = 60
PROGRAMS = ("part_d", "medicaid", "commercial", "other")


def redetermination_deadline(notice_date: date) -> date:
    """Part D: file within 60 days of receiving the notice; receipt presumed 5 days after it."""
    return notice_date + timedelta(days=PRESUMED_RECEIPT_DAYS + REDETERMINATION_DAYS)


def follow_up_at(submitted_at: datetime, urgency: str) -> datetime:
    return submitted_at + timedelta(hours=FOLLOW_UP_HOURS[urgency])


@dataclass(frozen=True)
class PADeadline:
    """One deadline of a PA, before it becomes a calendar series."""

    rule: str  # followup | renewal | redetermination
    title: str
    due: date
    citation: str | None
    evidence: str
    remind_days: list[int]
    due_at: datetime | None = None


def pa_deadlines(pa: PARequest, tz: ZoneInfo) -> list[PADeadline]:
    out: list[PADeadline] = []
    if pa.status == "submitted":
        at = follow_up_at(pa.submitted_at, pa.urgency)
        hours = FOLLOW_UP_HOURS[pa.urgency]
        out.append(
            PADeadline(
                rule="followup",
                title=f"PA {pa.id} ({pa.drug}): check for a decision ({hours} h {pa.urgency})",
                citation="42 CFR 423.568/423.570 (Part D coverage determination timeframes)"
                if pa.program == "part_d"
                else None,
                evidence="Payer portal status or call reference",
                remind_days=[0],
                due=at.astimezone(tz).date(),
                due_at=at.astimezone(UTC),
            )
        )
    if pa.status == "approved" and pa.until is not None:
        out.append(
            PADeadline(
                rule="renewal",
                title=f"PA {pa.id} ({pa.drug}): start renewal, approval ends {pa.until.isoformat()}",
                citation=None,
                evidence="Renewal PA submitted",
                remind_days=[14, 7],
                due=pa.until - timedelta(days=RENEWAL_LEAD_DAYS),
            )
        )
    if pa.status == "denied" and pa.notice_date is not None and pa.program == "part_d":
        out.append(
            PADeadline(
                rule="redetermination",
                title=f"PA {pa.id} ({pa.drug}): file Part D redetermination (appeal) by this date",
                citation="42 CFR 423.582 (60 days from receipt of the denial; receipt presumed notice + 5 days)",
                evidence="Redetermination request and fax/portal confirmation",
                remind_days=[30, 14, 7, 3],
                due=redetermination_deadline(pa.notice_date),
            )
        )
    return out
