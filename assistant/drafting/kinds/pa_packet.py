"""``pa-packet``: prior-authorization request summary, letter of medical necessity and a checklist
of what is still missing. ``pa_appeal`` reuses the summary blocks."""

from __future__ import annotations

from assistant.drafting import codes
from assistant.drafting.case import Case
from assistant.drafting.document import Document
from assistant.drafting.kinds.base import Filler
from assistant.roles import Action

KIND = "pa-packet"
TITLE = "Prior authorization request"
ACTION = Action.DRAFT_PA

REQUIRED: dict[str, str] = {
    "patient.name": "patient name",
    "patient.dob": "date of birth",
    "insurance.plan": "plan / PBM",
    "insurance.member_id": "member ID",
    "insurance.bin": "BIN",
    "insurance.pcn": "PCN",
    "insurance.group": "group number",
    "prescriber.name": "prescriber name",
    "prescriber.npi": "prescriber NPI",
    "prescriber.phone": "prescriber phone",
    "prescriber.fax": "prescriber fax",
    "request.drug": "requested drug",
    "request.strength": "strength",
    "request.sig": "directions (sig)",
    "request.ndc": "NDC",
    "request.quantity": "quantity",
    "request.days_supply": "days supply",
    "request.diagnosis_icd10": "diagnosis (ICD-10-CM)",
    "request.urgency": "urgency (standard or expedited)",
    "request.rationale": "clinical rationale",
    "request.prior_therapies[].dose": "dose",
    "request.prior_therapies[].start": "start date",
    "request.prior_therapies[].stop": "stop date",
    "request.prior_therapies[].outcome": "outcome",
    "labs[].value": "lab value",
    "labs[].date": "lab date",
}

EXPEDITED_ATTESTATION = (
    "EXPEDITED REVIEW REQUESTED. The prescriber attests that applying the standard review time frame "
    "may seriously jeopardize the life or health of the patient or the patient's ability to regain "
    "maximum function."
)


def drug_line(f: Filler) -> str:
    parts = [f.get("request.drug"), f.get("request.strength"), f.get("request.form")]
    return " ".join(p for p in parts if p)


def ndc_text(f: Filler) -> str:
    raw = f.get("request.ndc")
    if not raw or raw.startswith("[MISSING"):
        return raw
    eleven = codes.ndc_to_11(raw)
    return f"{eleven} (NDC-11)" if eleven else f"{raw} (not a valid NDC)"


def identity_blocks(doc: Document, f: Filler) -> None:
    doc.h("Patient and coverage")
    doc.fields(
        [
            ("Patient:", f.get("patient.name")),
            ("DOB:", f.get("patient.dob")),
            ("Sex:", f.get("patient.sex")),
            ("Phone:", f.get("patient.phone")),
            ("Plan / PBM:", f.get("insurance.plan")),
            ("Member ID:", f.get("insurance.member_id")),
            ("Person code:", f.get("insurance.person_code")),
            ("BIN:", f.get("insurance.bin")),
            ("PCN:", f.get("insurance.pcn")),
            ("Group:", f.get("insurance.group")),
        ]
    )
    doc.h("Prescriber")
    doc.fields(
        [
            ("Name:", f.get("prescriber.name")),
            ("Specialty:", f.get("prescriber.specialty")),
            ("NPI:", f.get("prescriber.npi")),
            ("DEA (controlled substances):", f.get("prescriber.dea")),
            ("Phone:", f.get("prescriber.phone")),
            ("Fax:", f.get("prescriber.fax")),
        ]
    )
    if f.case.pharmacy.name or f.case.pharmacy.npi or f.case.pharmacy.ncpdp:
        doc.h("Pharmacy (initiating)")
        doc.fields(
            [
                ("Name:", f.get("pharmacy.name")),
                ("NPI:", f.get("pharmacy.npi")),
                ("NCPDP ID:", f.get("pharmacy.ncpdp")),
                ("Phone:", f.get("pharmacy.phone")),
                ("Fax:", f.get("pharmacy.fax")),
            ]
        )


def clinical_blocks(doc: Document, f: Filler, case: Case) -> None:
    doc.h("Diagnosis")
    rows = [["Primary (this request)", f.icd("request.diagnosis_icd10")]]
    primary = (case.request.diagnosis_icd10 or "").replace(".", "").upper()
    for i, c in enumerate(case.conditions):
        if primary and (c.icd10 or "").replace(".", "").upper() == primary:
            continue  # already the primary row
        rows.append([c.name or f"condition {i + 1}", f.icd(f"conditions.{i}.icd10")])
    doc.table(["Diagnosis", "ICD-10-CM"], rows)
    doc.h("Prior therapies")
    if case.request.prior_therapies:
        rows = []
        for i, t in enumerate(case.request.prior_therapies):
            label = t.drug or f"prior therapy {i + 1}"
            path = f"request.prior_therapies.{i}"
            rows.append(
                [
                    f.get(f"{path}.drug", blank=label),
                    f.get(f"{path}.dose", suffix=f" of {label}") + (f" ({t.duration})" if t.duration else ""),
                    f.get(f"{path}.start", suffix=f" of {label}"),
                    "ongoing" if t.ongoing and not t.stop else f.get(f"{path}.stop", suffix=f" of {label}"),
                    f.get(f"{path}.outcome", suffix=f" of {label}"),
                ]
            )
        doc.table(["Drug", "Dose", "Start", "Stop", "Outcome"], rows)
    else:
        doc.p("None recorded in the case.")
    doc.h("Labs")
    if case.labs:
        doc.table(["Test", "Result", "Date"], [list(f.measurement("labs", i)) for i in range(len(case.labs))])
    else:
        doc.p("None recorded in the case.")


def build(case: Case, f: Filler) -> Document:
    doc = Document(kind=KIND, title=TITLE)
    r = case.request
    doc.h("Prior authorization request summary", 1)
    identity_blocks(doc, f)
    doc.h("Requested drug")
    new_start = {True: "new start", False: "continuation of therapy", None: ""}[r.new_start]
    doc.fields(
        [
            ("Drug:", drug_line(f)),
            ("Directions (sig):", f.get("request.sig")),
            ("NDC:", ndc_text(f)),
            ("Quantity:", f.get("request.quantity")),
            ("Days supply:", f.get("request.days_supply")),
            ("New start / continuation:", new_start),
            ("Exception type:", f.get("request.exception_type")),
        ]
    )
    clinical_blocks(doc, f, case)
    doc.h("Urgency")
    urgency = f.get("request.urgency")
    doc.p(f"Review requested: {urgency}")
    if r.urgency == "expedited":
        doc.p(EXPEDITED_ATTESTATION)
        doc.fields([("Reason expedited review is needed:", f.get("request.rationale"))])
        doc.lines(["Prescriber signature: ______________________________", "Date: ______________"])

    # ---- letter of medical necessity ----------------------------------------------------------
    doc.pagebreak()
    doc.h("Letter of medical necessity", 1)
    doc.p(
        f"Re: {f.get('patient.name')}, DOB {f.get('patient.dob')}, member ID {f.get('insurance.member_id')}"
    )
    doc.p("To the pharmacy benefit reviewer:")
    doc.p(
        f"I am requesting coverage of {drug_line(f)}, {f.get('request.sig')}, for my patient, who is "
        f"being treated for {f.icd('request.diagnosis_icd10')}."
    )
    doc.fields([("Clinical rationale:", f.get("request.rationale"))])
    if r.prior_therapies:
        items = []
        for t in r.prior_therapies:
            span = (
                "since " + t.start.strftime("%m/%d/%Y")
                if t.ongoing and t.start and not t.stop
                else " to ".join(
                    x
                    for x in (
                        t.start and t.start.strftime("%m/%d/%Y"),
                        t.stop and t.stop.strftime("%m/%d/%Y"),
                    )
                    if x
                )
            )
            items.append(", ".join(x for x in (t.drug, t.dose, t.duration, span, t.outcome) if x))
        doc.p("Therapies already tried:")
        doc.bullets(items)
    if case.labs:
        doc.p("Supporting results:")
        doc.bullets(
            [f"{n}: {v} on {d}" for n, v, d in (f.measurement("labs", i) for i in range(len(case.labs)))]
        )
    doc.fields(
        [
            ("Why the alternatives are not suitable:", f.get("request.alternatives_unsuitable")),
            ("Expected risk if coverage is denied:", f.get("request.risk_if_denied")),
        ]
    )
    if r.urgency == "expedited":
        doc.p(
            "Because of the risk described above, I ask that this request be reviewed on the expedited "
            "timeline."
        )
    doc.p("Please contact my office with any questions about this request.")
    doc.p(f"{f.get('prescriber.name')}, NPI {f.get('prescriber.npi')}")
    doc.lines(["Prescriber signature: ______________________________", "Date: ______________"])

    # ---- checklist ----------------------------------------------------------------------------
    doc.pagebreak()
    doc.h("Checklist before submission", 1)
    # every fact lookup above has run, so f.missing is complete here
    doc.checkboxes(checklist_items(f.missing))
    return doc


STANDING_ITEMS = [
    "Attach recent chart notes supporting the diagnosis",
    "Attach this letter of medical necessity, signed by the prescriber",
    "Record the case or key number and the date and time submitted",
]


def checklist_items(missing: list[str]) -> list[str]:
    return [f"Obtain: {m}" for m in missing] + STANDING_ITEMS
