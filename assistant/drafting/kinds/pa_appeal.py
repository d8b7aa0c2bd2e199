"""``pa-appeal``: a redetermination / appeal letter that cites the denial and answers each reason."""

from __future__ import annotations

from assistant.drafting.case import Case
from assistant.drafting.document import Document
from assistant.drafting.kinds import pa_packet
from assistant.drafting.kinds.base import Filler
from assistant.roles import Action

KIND = "pa-appeal"
TITLE = "Prior authorization appeal"
ACTION = Action.DRAFT_PA

REQUIRED: dict[str, str] = {
    "patient.name": "patient name",
    "patient.dob": "date of birth",
    "insurance.plan": "plan / PBM",
    "insurance.member_id": "member ID",
    "prescriber.name": "prescriber name",
    "prescriber.npi": "prescriber NPI",
    "request.drug": "requested drug",
    "request.diagnosis_icd10": "diagnosis (ICD-10-CM)",
    "request.denial": "denial notice",
    "request.denial.date": "denial date",
    "request.denial.case_number": "denial case number",
    "request.denial.reasons": "denial reason",
    "request.prior_therapies[].start": "start date",
    "request.prior_therapies[].stop": "stop date",
    "request.prior_therapies[].outcome": "outcome",
    "labs[].value": "lab value",
    "labs[].date": "lab date",
}


def build(case: Case, f: Filler) -> Document:
    doc = Document(kind=KIND, title=TITLE)
    r = case.request
    denial = r.denial
    doc.h("Request for redetermination of a coverage denial", 1)
    doc.fields(
        [
            ("Patient:", f.get("patient.name")),
            ("DOB:", f.get("patient.dob")),
            ("Plan / PBM:", f.get("insurance.plan")),
            ("Member ID:", f.get("insurance.member_id")),
            ("Drug:", pa_packet.drug_line(f)),
            ("NDC:", pa_packet.ndc_text(f)),
            ("Diagnosis:", f.icd("request.diagnosis_icd10")),
            (
                "Denial date:",
                f.get("request.denial.date") if denial else f.mark(REQUIRED["request.denial.date"]),
            ),
            (
                "Case number:",
                f.get("request.denial.case_number")
                if denial
                else f.mark(REQUIRED["request.denial.case_number"]),
            ),
        ]
    )
    doc.p(
        "We ask you to reconsider the denial identified above. This request is submitted within the "
        "appeal window stated in the denial notice. Each reason given for the denial is answered below."
    )
    reasons = denial.all_reasons() if denial else []
    if not reasons:
        doc.fields([("Denial reason:", f.mark(REQUIRED["request.denial.reasons"]))])
    for n, item in enumerate(reasons, start=1):
        doc.h(f"Denial reason {n}", 3)
        reason = item.reason or f.mark(f"text of denial reason {n}")
        response = item.response or f.mark(f"response to denial reason {n}")
        doc.fields([("The plan stated:", f'"{reason}"'), ("Our response:", response)])
    doc.h("Supporting evidence")
    pa_packet.clinical_blocks(doc, f, case)
    doc.fields([("Clinical rationale:", f.get("request.rationale"))])
    doc.h("Requests")
    doc.bullets(
        [
            "Please send a copy of the coverage criteria that were applied to this request.",
            "If the denial is upheld, the prescriber asks for a peer-to-peer review.",
        ]
        + (
            ["The prescriber asks for expedited handling of this appeal: " + pa_packet.EXPEDITED_ATTESTATION]
            if r.urgency == "expedited"
            else []
        )
    )
    doc.p(f"{f.get('prescriber.name')}, NPI {f.get('prescriber.npi')}")
    doc.lines(["Prescriber signature: ______________________________", "Date: ______________"])
    if f.missing:
        doc.h("Still missing before this appeal can be sent")
        doc.checkboxes([f"Obtain: {m}" for m in f.missing])
    return doc
