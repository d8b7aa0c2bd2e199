"""``pa-appeal``: a redetermination / appeal letter that cites the denial and answers each reason.

It states the appeal deadline computed under the plan type's rule (:mod:`assistant.drafting.clocks`)
and claims timeliness only when the date it is prepared is within it; a late appeal asks for good
cause in the requester's words instead. Every attachment the letter relies on is listed as an
enclosure, and a peer-to-peer request gives the prescriber's phone and fax.
"""

from __future__ import annotations

import datetime as dt

from assistant.drafting import clocks
from assistant.drafting.case import Case
from assistant.drafting.document import Document
from assistant.drafting.kinds import pa_packet
from assistant.drafting.kinds.base import Filler, fmt_date
from assistant.roles import Action

KIND = "pa-appeal"
TITLE = "Prior authorization appeal"
ACTION = Action.DRAFT_PA
RECIPIENT = "payer"

REQUIRED: dict[str, str] = {
    "patient.name": "patient name",
    "patient.dob": "date of birth",
    "insurance.plan": "plan / PBM",
    "insurance.member_id": "member ID",
    "prescriber.name": "prescriber name",
    "prescriber.npi": "prescriber NPI",
    "prescriber.phone": "prescriber phone (for the peer-to-peer review)",
    "prescriber.fax": "prescriber fax",
    "request.drug": "requested drug",
    "request.diagnosis_icd10": "diagnosis (ICD-10-CM)",
    "request.denial": "denial notice",
    "request.denial.date": "denial notice date",
    "request.denial.case_number": "denial case number",
    "request.denial.reasons": "denial reason",
    "request.denial.reasons[].reason": "text of the denial reason",
    "request.denial.reasons[].response": "response to the denial reason",
    "request.denial.appeal_deadline": "appeal deadline (plan type, or the deadline stated in the notice)",
    "request.denial.good_cause": "good-cause statement for filing late",
    "request.expedited_reason": "prescriber's reason for expedited review",
    "request.prior_therapies": "drugs tried, with dates and results (for this exception)",
    "request.prior_therapies[].start": "start date",
    "request.prior_therapies[].stop": "stop date",
    "request.prior_therapies[].outcome": "outcome",
    "regimen": "current drug regimen for the condition",
    "labs[].value": "lab value",
    "labs[].date": "lab date",
}

# An appeal must not go out without knowing whose it is, what was denied, when it is due and why it
# is late; anything else may be completed by hand on the approved letter (with an override).
BLOCKING = {
    "patient.name",
    "patient.dob",
    "insurance.member_id",
    "prescriber.name",
    "prescriber.npi",
    "request.drug",
    "request.denial",
    "request.denial.date",
    "request.denial.reasons",
    "request.denial.reasons[].reason",
    "request.denial.reasons[].response",
    "request.denial.appeal_deadline",
    "request.denial.good_cause",
    "request.expedited_reason",
}
SIGNER_PATHS: set[str] = set()  # the prescriber signs the appeal
SIGNER_NEEDS: tuple[str, ...] = ()


def appeal_clock(case: Case, as_of: dt.date) -> clocks.AppealClock | None:
    d = case.request.denial
    if d is None:
        return None
    return clocks.appeal_clock(
        plan_type=case.insurance.plan_type,
        notice_date=d.date,
        received_date=d.received_date,
        stated_deadline=d.appeal_deadline,
        as_of=as_of,
    )


def _deadline_text(clock: clocks.AppealClock) -> str:
    if clock.rule == "part d":
        how = "presumed received" if clock.received_presumed else "received"
        return (
            f"{fmt_date(clock.deadline)}: 60 days after the notice was {how} on "
            f"{fmt_date(clock.received)} ({clock.citation})"
        )
    return f"{fmt_date(clock.deadline)} ({clock.citation})"


def enclosures(case: Case, f: Filler) -> list[str]:
    """What the letter relies on, to attach: only things the case records."""
    r = case.request
    out: list[str] = []
    if r.denial and (r.denial.date or r.denial.case_number):
        what = " ".join(
            x
            for x in (
                r.denial.date and f"dated {fmt_date(r.denial.date)}",
                r.denial.case_number and f"(case {r.denial.case_number})",
            )
            if x
        )
        out.append(f"Copy of the denial notice {what}")
    for i in range(len(case.labs)):
        name, value, when = f.measurement("labs", i)
        out.append(f"Lab report: {name} {value}, {when}")
    for t in r.prior_therapies:
        if t.drug:
            out.append(f"Record of therapy with {t.drug}" + (f": {t.outcome}" if t.outcome else ""))
    if r.rationale:
        out.append("Letter of medical necessity signed by the prescriber")
    return out


def build(case: Case, f: Filler) -> Document:
    r = case.request
    denial = r.denial
    doc = Document(
        kind=KIND,
        title=TITLE,
        recipient=RECIPIENT,
        running_header=f"{f.get('patient.name')}, DOB {f.get('patient.dob')}",
    )
    doc.h("Request for redetermination of a coverage denial", 1)
    clock = appeal_clock(case, f.prepared)
    rows = [
        ("Patient:", f.get("patient.name")),
        ("DOB:", f.get("patient.dob")),
        ("Plan / PBM:", f.get("insurance.plan")),
        ("Member ID:", f.get("insurance.member_id")),
        ("Drug:", pa_packet.drug_line(f)),
        ("NDC:", pa_packet.ndc_text(f)),
        ("Diagnosis:", f.icd("request.diagnosis_icd10")),
        ("Denial notice date:", f.get("request.denial.date") if denial else f.need("request.denial")),
        ("Case number:", f.get("request.denial.case_number") if denial else ""),
        (
            "Appeal deadline:",
            _deadline_text(clock) if clock else f.need("request.denial.appeal_deadline"),
        ),
    ]
    doc.fields(rows)
    if clock and clock.late:
        doc.p(
            "We ask you to reconsider the denial identified above. This request is filed after the appeal "
            f"deadline of {fmt_date(clock.deadline)}; we ask the plan to accept it for the good cause "
            "stated below (42 CFR 423.582(c)). Each reason given for the denial is answered below."
            if clock.rule == "part d"
            else "We ask you to reconsider the denial identified above. This request is filed after the "
            f"appeal deadline of {fmt_date(clock.deadline)}; we ask the plan to accept it for the good "
            "cause stated below. Each reason given for the denial is answered below."
        )
        doc.fields([("Good cause for filing late:", f.get("request.denial.good_cause"))])
    elif clock:
        doc.p(
            "We ask you to reconsider the denial identified above. This request is filed on "
            f"{fmt_date(clock.as_of)}, before the appeal deadline of {fmt_date(clock.deadline)}. "
            "Each reason given for the denial is answered below."
        )
    else:
        doc.p(
            "We ask you to reconsider the denial identified above. Each reason given for the denial is "
            "answered below."
        )
    decision = clocks.redetermination_decision_text(r.urgency, case.insurance.plan_type)
    if decision:
        doc.p(decision)
    reasons = denial.all_reasons() if denial else []
    if denial and not reasons:
        doc.fields([("Denial reason:", f.need("request.denial.reasons"))])
    for n, item in enumerate(reasons, start=1):
        doc.h(f"Denial reason {n}", 3)
        reason = item.reason or f.mark(f"text of denial reason {n}", "request.denial.reasons[].reason")
        response = item.response or f.mark(
            f"response to denial reason {n}", "request.denial.reasons[].response"
        )
        doc.fields([("The plan stated:", f'"{reason}"'), ("Our response:", response)])
    doc.h("Supporting evidence")
    pa_packet.clinical_blocks(doc, f, case)
    doc.fields([("Clinical rationale:", f.get("request.rationale"))])
    doc.h("Requests")
    phone, fax = f.get("prescriber.phone"), f.get("prescriber.fax")
    asks = [
        "Please send a copy of the coverage criteria that were applied to this request.",
        "If the denial is upheld, the prescriber asks for a peer-to-peer review: please call "
        f"{phone} (fax {fax}).",
    ]
    doc.bullets(asks)
    if r.urgency == "expedited":
        doc.p("The prescriber asks for expedited handling of this appeal: " + pa_packet.EXPEDITED_ATTESTATION)
        doc.fields([("Prescriber's reason expedited review is needed:", f.get("request.expedited_reason"))])
    items = enclosures(case, f)
    if items:
        doc.p("Enclosures:")
        doc.bullets(items)
    doc.p(f"{f.get('prescriber.name')}, NPI {f.get('prescriber.npi')}")
    doc.lines(["Prescriber signature: ______________________________", "Date: ______________"])
    return doc


def worksheet(missing: list[str]) -> Document:
    """What is still missing before the appeal can be sent: internal, never part of the letter."""
    doc = Document(kind=KIND, title="Still missing before this appeal can be sent (internal)")
    doc.h("Still missing before this appeal can be sent (internal)", 1)
    doc.checkboxes([f"Obtain: {m}" for m in missing] + ["Attach every enclosure listed in the letter"])
    return doc
