"""Issue 11.2: appeal and PA clocks. The appeal deadline is computed from the denial notice date under
the plan type's rule (Part D: 42 CFR 423.582), a late appeal asks for good cause instead of claiming
timeliness, the PA states its decision timeframe, and the expedited attestation needs the
prescriber's own reason."""

from __future__ import annotations

import datetime as dt

from assistant.config import REPO_ROOT
from assistant.drafting import clocks
from assistant.drafting.case import load_case
from assistant.drafting.final import Signer, approval_check
from assistant.drafting.pipeline import compose, draft_markdown

EXAMPLES = REPO_ROOT / "knowledge" / "drafting" / "examples"
SIGNER = Signer(name="Jane Doe", credentials="PharmD", npi="1456789019")


def _appeal(**denial: object):  # type: ignore[no-untyped-def]
    case = load_case(EXAMPLES / "pa-appeal.yaml")
    case.prepared_date = None
    for k, v in denial.items():
        setattr(case.request.denial, k, v)
    return case


def test_part_d_deadline_is_60_days_after_presumed_receipt() -> None:
    clock = clocks.appeal_clock(
        plan_type="part d",
        notice_date=dt.date(2026, 11, 10),
        received_date=None,
        stated_deadline=None,
        as_of=dt.date(2026, 11, 24),
    )
    assert clock is not None and clock.received_presumed
    assert clock.received == dt.date(2026, 11, 15)  # notice date + 5 days
    assert clock.deadline == dt.date(2027, 1, 14)  # + 60 days
    assert not clock.late and clock.days_left == 51
    shown = clocks.appeal_clock(
        plan_type="part d",
        notice_date=dt.date(2026, 11, 10),
        received_date=dt.date(2026, 11, 20),  # shown otherwise
        stated_deadline=None,
        as_of=dt.date(2027, 1, 16),
    )
    assert shown and shown.deadline == dt.date(2027, 1, 19) and not shown.late
    assert (
        clocks.appeal_clock(
            plan_type="commercial",
            notice_date=dt.date(2026, 11, 10),
            received_date=None,
            stated_deadline=None,
            as_of=dt.date(2026, 11, 24),
        )
        is None
    )


def test_timely_appeal_prints_its_deadline_and_the_plans_clock() -> None:
    content = compose("pa-appeal", _appeal(), today=dt.date(2026, 11, 24))
    text = draft_markdown(content, notes=False)
    assert (
        "**Appeal deadline:** 01/14/2027: 60 days after the notice was presumed received on 11/15/2026 "
        "(42 CFR 423.582(b))" in text
    )
    assert "This request is filed on 11/24/2026, before the appeal deadline of 01/14/2027." in text
    assert "within 7 calendar days of receiving it (42 CFR 423.590(a))" in text
    assert "within the appeal window" not in text


def test_a_months_old_denial_asks_for_good_cause_instead_of_claiming_timeliness() -> None:
    case = _appeal(date=dt.date(2026, 6, 1))
    content = compose("pa-appeal", case, today=dt.date(2026, 11, 24))
    text = draft_markdown(content, notes=False)
    assert "filed after the appeal deadline of 08/05/2026" in text
    assert "42 CFR 423.582(c)" in text
    assert "**Good cause for filing late:** [MISSING: good-cause statement for filing late]" in text
    assert "before the appeal deadline" not in text and "within the appeal window" not in text
    check = approval_check(
        "pa-appeal", case, signer=SIGNER, drafted_on=dt.date(2026, 11, 24), approved_on=dt.date(2026, 11, 24)
    )
    assert "good-cause statement for filing late" in check.blocking
    case.request.denial.good_cause = "The patient was in hospital from June to October."  # type: ignore[union-attr]
    text = draft_markdown(compose("pa-appeal", case, today=dt.date(2026, 11, 24)), notes=False)
    assert "**Good cause for filing late:** The patient was in hospital from June to October." in text


def test_without_a_plan_type_or_stated_deadline_no_deadline_is_claimed_and_approval_waits() -> None:
    case = _appeal()
    case.insurance.plan_type = None
    content = compose("pa-appeal", case, today=dt.date(2026, 11, 24))
    text = draft_markdown(content, notes=False)
    assert "[MISSING: appeal deadline (plan type, or the deadline stated in the notice)]" in text
    assert "before the appeal deadline" not in text
    check = approval_check(
        "pa-appeal", case, signer=SIGNER, drafted_on=dt.date(2026, 11, 24), approved_on=dt.date(2026, 11, 24)
    )
    assert check.blocking == ["appeal deadline (plan type, or the deadline stated in the notice)"]
    case.insurance.plan_type = "commercial"
    case.request.denial.appeal_deadline = dt.date(2027, 5, 9)  # type: ignore[union-attr]
    text = draft_markdown(compose("pa-appeal", case, today=dt.date(2026, 11, 24)), notes=False)
    assert "**Appeal deadline:** 05/09/2027 (the deadline stated in the denial notice)" in text


def test_an_appeal_drafted_in_time_cannot_be_approved_unchanged_after_the_deadline() -> None:
    check = approval_check(
        "pa-appeal",
        _appeal(),
        signer=SIGNER,
        drafted_on=dt.date(2027, 1, 10),
        approved_on=dt.date(2027, 1, 20),
    )
    assert check.stale and "01/14/2027" in check.stale[0]


def test_pa_prints_its_part_d_decision_timeframe() -> None:
    case = load_case(EXAMPLES / "pa-packet.yaml")
    text = draft_markdown(compose("pa-packet", case, today=dt.date(2026, 11, 24)), notes=False)
    assert "within 24 hours of receiving it (42 CFR 423.572(a))" in text
    case.request.urgency = "standard"
    text = draft_markdown(compose("pa-packet", case, today=dt.date(2026, 11, 24)), notes=False)
    assert "within 72 hours of receiving it (42 CFR 423.568(b))" in text


def test_expedited_attestation_needs_the_prescribers_reason_not_the_rationale() -> None:
    case = load_case(EXAMPLES / "pa-packet.yaml")
    case.request.expedited_reason = None
    content = compose("pa-packet", case, today=dt.date(2026, 11, 24))
    text = draft_markdown(content, notes=False)
    assert "prescriber's reason for expedited review" in content.missing
    reason = text.split("**Prescriber's reason expedited review is needed:**", 1)[1].split("\n", 1)[0]
    assert reason.strip() == "[MISSING: prescriber's reason for expedited review]"
    assert case.request.rationale and case.request.rationale not in reason
    check = approval_check(
        "pa-packet", case, signer=SIGNER, drafted_on=dt.date(2026, 11, 24), approved_on=dt.date(2026, 11, 24)
    )
    assert "prescriber's reason for expedited review" in check.blocking
