"""Regulatory clocks for PA requests and appeals, computed from dates in the case.

Part D (Medicare prescription drug plans, including MA-PD plans), 42 CFR part 423 subpart M:

- Coverage determination (the PA request itself): the plan decides and notifies within 72 hours of
  receiving a standard request (42 CFR 423.568(b)) and within 24 hours of an expedited one
  (42 CFR 423.572(a)); for an exception request the clock starts when the prescriber's supporting
  statement arrives. A request is expedited when the prescriber indicates that the standard timeframe
  may seriously jeopardize the enrollee's life, health or ability to regain maximum function
  (42 CFR 423.570(c)) - the prescriber's reason, not the pharmacy's rationale.
- Redetermination (the first appeal): filed within 60 calendar days of *receipt* of the coverage
  determination notice; receipt is presumed 5 days after the notice date unless shown otherwise
  (42 CFR 423.582(b)). A late request may be accepted for good cause, stated in writing
  (42 CFR 423.582(c)). The plan decides within 72 hours (expedited) or 7 calendar days (standard)
  of receiving the request (42 CFR 423.590(d), (a)).

Other plan types (Medicaid, commercial) set their own deadlines: the one printed on the denial notice
is used, and without it no deadline is claimed.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel

PART_D_FILING_DAYS = 60  # 42 CFR 423.582(b)
PART_D_RECEIPT_PRESUMED_DAYS = 5  # 42 CFR 423.582(b)

COVERAGE_DECISION = {  # hours, Part D coverage determinations
    "standard": (72, "42 CFR 423.568(b)"),
    "expedited": (24, "42 CFR 423.572(a)"),
}
REDETERMINATION_DECISION = {  # Part D redeterminations
    "standard": ("7 calendar days", "42 CFR 423.590(a)"),
    "expedited": ("72 hours", "42 CFR 423.590(d)"),
}


class AppealClock(BaseModel):
    """When an appeal is due and whether it is late, with the rule that says so."""

    rule: Literal["part d", "notice"]
    citation: str
    notice_date: dt.date | None = None
    received: dt.date | None = None
    received_presumed: bool = False
    deadline: dt.date
    as_of: dt.date
    late: bool

    @property
    def days_left(self) -> int:
        return (self.deadline - self.as_of).days


def appeal_clock(
    *,
    plan_type: str | None,
    notice_date: dt.date | None,
    received_date: dt.date | None,
    stated_deadline: dt.date | None,
    as_of: dt.date,
) -> AppealClock | None:
    """The appeal deadline for a denial, or None when the case does not say enough to know it.

    Part D: 60 days after receipt (receipt presumed 5 days after the notice date unless the case
    records when it was received). Other plans: the deadline the notice states, if the case has it.
    """
    if plan_type == "part d" and notice_date is not None:
        presumed = received_date is None
        received = received_date or notice_date + dt.timedelta(days=PART_D_RECEIPT_PRESUMED_DAYS)
        deadline = received + dt.timedelta(days=PART_D_FILING_DAYS)
        return AppealClock(
            rule="part d",
            citation="42 CFR 423.582(b)",
            notice_date=notice_date,
            received=received,
            received_presumed=presumed,
            deadline=deadline,
            as_of=as_of,
            late=as_of > deadline,
        )
    if stated_deadline is not None:
        return AppealClock(
            rule="notice",
            citation="the deadline stated in the denial notice",
            notice_date=notice_date,
            deadline=stated_deadline,
            as_of=as_of,
            late=as_of > stated_deadline,
        )
    return None


def coverage_decision_text(urgency: str | None, plan_type: str | None) -> str | None:
    """The plan's decision timeframe for a PA request, as a sentence, or None when not known."""
    if urgency not in COVERAGE_DECISION or plan_type != "part d":
        return None
    hours, cite = COVERAGE_DECISION[urgency]
    return (
        f"Medicare Part D {urgency} request: the plan must decide within {hours} hours of receiving it "
        f"({cite}); for an exception request, from receipt of the prescriber's supporting statement."
    )


def redetermination_decision_text(urgency: str | None, plan_type: str | None) -> str | None:
    if plan_type != "part d":
        return None
    when, cite = REDETERMINATION_DECISION["expedited" if urgency == "expedited" else "standard"]
    kind = "expedited" if urgency == "expedited" else "standard"
    return f"The plan must decide a {kind} redetermination within {when} of receiving it ({cite})."
