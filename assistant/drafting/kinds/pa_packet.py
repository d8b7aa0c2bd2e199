"""``pa-packet``: prior-authorization (coverage determination) request and letter of medical necessity,
as faxed to the plan. ``pa_appeal`` reuses the summary blocks.

The request carries every item the CMS model form "Request for Medicare Prescription Drug Coverage
Determination" asks of the enrollee and prescriber (``FORM_ITEMS``); an item the plan needs that the
case lacks is flagged, never left silently blank. The checklist of what is still missing is an
internal worksheet (:func:`worksheet`), never part of the faxable packet. A DEA number is printed
only for a controlled substance.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

from assistant.drafting import clocks, codes, vocabulary
from assistant.drafting.case import Case, Request
from assistant.drafting.document import Document
from assistant.drafting.kinds.base import Filler
from assistant.roles import Action

KIND = "pa-packet"
TITLE = "Prior authorization request"
ACTION = Action.DRAFT_PA
RECIPIENT = "payer"

REQUIRED: dict[str, str] = {
    "patient.name": "patient name",
    "patient.dob": "date of birth",
    "patient.address": "patient address",
    "insurance.plan": "plan / PBM",
    "insurance.member_id": "member ID",
    "insurance.bin": "BIN",
    "insurance.pcn": "PCN",
    "insurance.group": "group number",
    "prescriber.name": "prescriber name",
    "prescriber.npi": "prescriber NPI",
    "prescriber.address": "prescriber address",
    "prescriber.phone": "prescriber phone",
    "prescriber.fax": "prescriber fax",
    "prescriber.dea": "prescriber DEA number (controlled substance)",
    "request.drug": "requested drug",
    "request.strength": "strength",
    "request.route": "route of administration",
    "request.sig": "directions (sig)",
    "request.ndc": "NDC",
    "request.quantity": "quantity",
    "request.days_supply": "days supply",
    "request.new_start": "new start or continuation of therapy",
    "request.start_date": "date therapy started (continuation)",
    "request.length_of_therapy": "expected length of therapy",
    "request.exception_type": "type of request (prior authorization or which exception)",
    "request.diagnosis_icd10": "diagnosis (ICD-10-CM)",
    "request.urgency": "urgency (standard or expedited)",
    "request.expedited_reason": "prescriber's reason for expedited review",
    "request.contraindications": "FDA-noted contraindications (or none)",
    "request.interaction_concerns": "drug interaction concerns (or none)",
    "request.rationale": "clinical rationale",
    "request.prior_therapies": "drugs tried, with dates and results (for this exception)",
    "request.prior_therapies[].dose": "dose",
    "request.prior_therapies[].start": "start date",
    "request.prior_therapies[].stop": "stop date",
    "request.prior_therapies[].outcome": "outcome",
    "allergies": "drug allergies (or no known allergies)",
    "regimen": "current drug regimen for the condition",
    "vitals.height": "patient height (dosing depends on it)",
    "vitals.weight": "patient weight (dosing depends on it)",
    "labs[].value": "lab value",
    "labs[].date": "lab date",
}

# Missing facts that block approval of a packet the plan will act on; any other may go out as a
# blank line the prescriber's office completes by hand (the approval then records an override).
BLOCKING = {
    "patient.name",
    "patient.dob",
    "insurance.member_id",
    "prescriber.name",
    "prescriber.npi",
    "prescriber.dea",
    "request.drug",
    "request.diagnosis_icd10",
    "request.urgency",
    "request.expedited_reason",
}
SIGNER_PATHS: set[str] = set()  # the prescriber signs a PA request; the pharmacist approves the draft
SIGNER_NEEDS: tuple[str, ...] = ()


class FormItem(NamedTuple):
    """One item of the CMS model coverage-determination request form and where the case answers it."""

    label: str  # as printed in the packet
    path: str  # case path (a REQUIRED key) flagged when empty; "" when several facts answer it
    when: str  # "always" (the plan needs it), "optional", or the condition under which it applies


# Every item the CMS model form "Request for Medicare Prescription Drug Coverage Determination"
# (enrollee section and the prescriber's "Supporting Information for an Exception Request or Prior
# Authorization") asks, in the form's order. An item whose condition applies and whose path the case
# lacks is flagged as missing. The form's "requestor" block (someone other than the enrollee or the
# prescriber) does not apply: the prescriber's office sends this packet. Yes/no attestations only the
# prescriber can give (high-risk medication in the elderly, opioid dose) are printed for the
# prescriber to answer, never pre-filled.
FORM_ITEMS: tuple[FormItem, ...] = (
    FormItem("Enrollee name", "patient.name", "always"),
    FormItem("Date of birth", "patient.dob", "always"),
    FormItem("Enrollee address", "patient.address", "always"),
    FormItem("Phone", "", "optional"),
    FormItem("Member ID", "insurance.member_id", "always"),
    FormItem("Prescriber name", "prescriber.name", "always"),
    FormItem("Prescriber NPI", "prescriber.npi", "always"),
    FormItem("Prescriber DEA", "prescriber.dea", "controlled"),
    FormItem("Prescriber address", "prescriber.address", "always"),
    FormItem("Office phone", "prescriber.phone", "always"),
    FormItem("Office fax", "prescriber.fax", "always"),
    FormItem("Drug requested", "request.drug", "always"),
    FormItem("Strength", "request.strength", "always"),
    FormItem("Route of administration", "request.route", "always"),
    FormItem("Frequency (directions)", "request.sig", "always"),
    FormItem("Quantity / days supply", "request.quantity", "always"),
    FormItem("New start or continuation", "request.new_start", "always"),
    FormItem("Date started", "request.start_date", "continuation"),
    FormItem("Expected length of therapy", "request.length_of_therapy", "always"),
    FormItem("Type of request", "request.exception_type", "always"),
    FormItem("Drug allergies", "allergies", "always"),
    FormItem("Height / weight", "vitals.height", "weight"),
    FormItem("Diagnoses treated with the requested drug (ICD-10-CM)", "request.diagnosis_icd10", "always"),
    FormItem("Other relevant diagnosis", "", "optional"),
    FormItem(
        "Drugs tried, dates and results (failure or intolerance)", "request.prior_therapies", "exception"
    ),
    FormItem("Current drug regimen for the condition", "regimen", "always"),
    FormItem("FDA-noted contraindications", "request.contraindications", "always"),
    FormItem("Drug interaction concerns", "request.interaction_concerns", "always"),
    FormItem("High-risk medication in the elderly (prescriber to answer)", "", "over 65"),
    FormItem("Opioids (prescriber to complete)", "", "opioid"),
    FormItem("Rationale for request", "request.rationale", "always"),
    FormItem("Expedited decision requested", "request.urgency", "always"),
    FormItem("Prescriber's reason expedited review is needed", "request.expedited_reason", "expedited"),
)


def applies(item: FormItem, case: Case) -> bool:
    r = case.request
    return {
        "always": True,
        "optional": False,
        "controlled": controlled_schedule(r)[0] is not None,
        "continuation": r.new_start is False,
        "weight": weight_based(r),
        "opioid": is_opioid(r),
        "expedited": r.urgency == "expedited",
        "exception": r.exception_type in STEP_EXCEPTIONS,
        "over 65": over_65(case),
    }[item.when]


def over_65(case: Case, on: dt.date | None = None) -> bool:
    dob = case.patient.dob
    if dob is None:
        return False
    on = on or case.prepared_date or dt.date.today()
    return (on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))) > 65


EXPEDITED_ATTESTATION = (
    "EXPEDITED REVIEW REQUESTED. By signing below, the prescriber certifies that applying the standard "
    "review time frame may seriously jeopardize the life or health of the patient or the patient's "
    "ability to regain maximum function."
)
STEP_EXCEPTIONS = ("step therapy", "formulary", "tiering")
_WEIGHT_BASED = re.compile(r"(?i)/\s*kg\b|/\s*m2\b|/\s*m²|per kg|\bBSA\b")


def controlled_schedule(r: Request) -> tuple[str | None, bool]:
    """(DEA schedule or None, whether that is known): the case's statement first, then the drug list."""
    stated = (r.controlled_schedule or "").strip()
    if stated:
        if stated.lower() in ("none", "no", "not controlled", "n/a"):
            return None, True
        return stated.upper(), True
    entry = vocabulary.curated_entry(r.drug) if r.drug else None
    return (entry.schedule, True) if entry else (None, False)


def is_opioid(r: Request) -> bool:
    entry = vocabulary.curated_entry(r.drug) if r.drug else None
    return bool(entry and entry.opioid)


def weight_based(r: Request) -> bool:
    if r.weight_based_dosing is not None:
        return r.weight_based_dosing
    return bool(_WEIGHT_BASED.search(" ".join(x for x in (r.sig, r.strength) if x)))


def drug_line(f: Filler) -> str:
    parts = [f.get("request.drug"), f.get("request.strength"), f.get("request.form")]
    return " ".join(p for p in parts if p)


def ndc_text(f: Filler) -> str:
    raw = f.get("request.ndc")
    if not raw or raw.startswith("[MISSING"):
        return raw
    eleven = codes.ndc_to_11(raw)
    return f"{eleven} (NDC-11)" if eleven else f"{raw} (not a valid NDC)"


def allergies_text(f: Filler, case: Case) -> str:
    items = [
        (a.substance or "(substance not recorded)") + (f" ({a.reaction})" if a.reaction else "")
        for a in case.patient.allergies
    ]
    if items:
        return "; ".join(items)
    if case.patient.no_known_allergies:
        return "No known drug allergies"
    return f.need("allergies")


def _vital(case: Case, *names: str) -> str | None:
    for v in case.vitals:
        if (v.name or "").strip().lower() in names and v.value:
            return " ".join(x for x in (v.value, v.unit, v.date and f"({v.date.strftime('%m/%d/%Y')})") if x)
    return None


def regimen_text(f: Filler, case: Case) -> str:
    """The current regimen as recorded: ongoing prior therapies and current medications."""
    items = [
        " ".join(x for x in (t.drug, t.dose) if x)
        for t in case.request.prior_therapies
        if t.ongoing and not t.stop and t.drug
    ]
    items += [
        " ".join(x for x in (m.name, m.strength, m.sig) if x)
        for m in case.medications
        if not m.stop_date and m.name
    ]
    return "; ".join(items) if items else f.need("regimen")


def identity_blocks(doc: Document, f: Filler, *, with_address: bool = True) -> None:
    case = f.case
    doc.h("Enrollee and coverage")
    rows = [("Enrollee name:", f.get("patient.name")), ("Date of birth:", f.get("patient.dob"))]
    if with_address:
        rows.append(("Enrollee address:", f.get("patient.address")))
    rows += [
        ("Sex:", f.get("patient.sex")),
        ("Phone:", f.get("patient.phone")),
        ("Plan / PBM:", f.get("insurance.plan")),
        ("Member ID:", f.get("insurance.member_id")),
        ("Person code:", f.get("insurance.person_code")),
        ("BIN:", f.get("insurance.bin")),
        ("PCN:", f.get("insurance.pcn")),
        ("Group:", f.get("insurance.group")),
    ]
    optional = ("Sex:", "Person code:")  # not asked by the form: shown only when recorded
    doc.fields([(k, v) for k, v in rows if v or k not in optional])
    doc.h("Prescriber")
    schedule, _known = controlled_schedule(case.request)
    rows = [("Prescriber name:", f.get("prescriber.name"))]
    if case.prescriber.specialty:
        rows.append(("Specialty:", f.get("prescriber.specialty")))
    rows.append(("Prescriber NPI:", f.get("prescriber.npi")))
    if schedule:  # a DEA number belongs on a request for a controlled substance only
        rows.append((f"Prescriber DEA ({schedule} controlled substance):", f.get("prescriber.dea")))
    rows += [
        ("Prescriber address:", f.get("prescriber.address")),
        ("Office phone:", f.get("prescriber.phone")),
        ("Office fax:", f.get("prescriber.fax")),
    ]
    doc.fields(rows)
    if case.pharmacy.name or case.pharmacy.npi or case.pharmacy.ncpdp:
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
    doc.h("Diagnoses treated with the requested drug (ICD-10-CM)")
    rows = [["Primary (this request)", f.icd("request.diagnosis_icd10")]]
    primary = (case.request.diagnosis_icd10 or "").replace(".", "").upper()
    for i, c in enumerate(case.conditions):
        if primary and (c.icd10 or "").replace(".", "").upper() == primary:
            continue  # already the primary row
        rows.append(
            [
                "Other relevant diagnosis: " + (c.name or f"condition {i + 1}"),
                f.icd(f"conditions.{i}.icd10") or "(no code recorded)",
            ]
        )
    doc.table(["Diagnosis", "ICD-10-CM"], rows)
    doc.h("Drugs tried, dates and results (failure or intolerance)")
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
    elif case.request.exception_type in STEP_EXCEPTIONS:  # the plan decides on the drugs tried
        doc.p(f.need("request.prior_therapies"))
    else:
        doc.p("None provided with this request.")
    doc.fields([("Current drug regimen for the condition:", regimen_text(f, case))])
    doc.h("Labs")
    if case.labs:
        doc.table(["Test", "Result", "Date"], [list(f.measurement("labs", i)) for i in range(len(case.labs))])
    else:
        doc.p("None provided with this request.")


def _continuation(f: Filler, r: Request) -> str:
    if r.new_start is None:
        return f.get("request.new_start")
    return "new start" if r.new_start else "continuation of therapy"


def _quantity(f: Filler) -> str:
    days = f.get("request.days_supply")
    days = f"{days} days" if days and not days.startswith("[MISSING") else days
    return f"{f.get('request.quantity')} / {days}"


def requested_drug_block(doc: Document, f: Filler, case: Case) -> None:
    r = case.request
    doc.h("Drug requested")
    rows = [
        ("Drug requested:", f.get("request.drug")),
        ("Strength:", f.get("request.strength")),
        ("Dosage form:", f.get("request.form")),
        ("Route of administration:", f.get("request.route")),
        ("Frequency (directions):", f.get("request.sig")),
        ("NDC:", ndc_text(f)),
        ("Quantity / days supply:", _quantity(f)),
        ("New start or continuation:", _continuation(f, r)),
    ]
    if r.new_start is False:
        rows.append(("Date started:", f.get("request.start_date")))
    rows += [
        ("Expected length of therapy:", f.get("request.length_of_therapy")),
        ("Type of request:", f.get("request.exception_type")),
        ("Drug allergies:", allergies_text(f, case)),
    ]
    if weight_based(r):
        height = _vital(case, "height", "ht") or f.need("vitals.height")
        weight = _vital(case, "weight", "wt") or f.need("vitals.weight")
        rows.append(("Height / weight:", f"{height} / {weight}"))
    doc.fields(rows)


def safety_block(doc: Document, f: Filler, case: Case) -> None:
    doc.h("Drug safety")
    doc.fields(
        [
            ("FDA-noted contraindications:", f.get("request.contraindications")),
            ("Drug interaction concerns:", f.get("request.interaction_concerns")),
        ]
    )
    if over_65(case, f.prepared):
        doc.p("High-risk medication in the elderly (prescriber to answer):")
        doc.lines(
            ["The patient is over 65: do the benefits of the requested drug outweigh the risks? ☐ Yes ☐ No"]
        )
    if is_opioid(case.request):
        doc.p("Opioids (prescriber to complete):")
        doc.lines(
            [
                "Daily cumulative morphine-equivalent dose: ________ mg/day",
                "Other opioid prescribers for this patient: ______________________________",
                "Is this daily dose medically necessary, and would a lower dose be insufficient? ________",
            ]
        )


def urgency_block(doc: Document, f: Filler, case: Case) -> None:
    r = case.request
    doc.h("Review requested")
    answer = {"expedited": "yes", "standard": "no (standard review)"}.get(r.urgency or "")
    rows = [("Expedited decision requested:", answer or f.get("request.urgency"))]
    timeframe = clocks.coverage_decision_text(r.urgency, case.insurance.plan_type)
    if timeframe:
        rows.append(("Decision timeframe:", timeframe))
    doc.fields(rows)
    if r.urgency == "expedited":
        doc.p(EXPEDITED_ATTESTATION)
        doc.fields([("Prescriber's reason expedited review is needed:", f.get("request.expedited_reason"))])
        doc.lines(["Prescriber signature: ______________________________", "Date: ______________"])


def build(case: Case, f: Filler) -> Document:
    r = case.request
    doc = Document(
        kind=KIND,
        title=TITLE,
        recipient=RECIPIENT,
        running_header=f"{f.get('patient.name')}, DOB {f.get('patient.dob')}",
    )
    doc.h("Request for prescription drug coverage determination (prior authorization)", 1)
    identity_blocks(doc, f)
    requested_drug_block(doc, f, case)
    clinical_blocks(doc, f, case)
    safety_block(doc, f, case)
    doc.h("Rationale for request")
    doc.fields(
        [
            ("Clinical rationale:", f.get("request.rationale")),
            ("Why the alternatives are not suitable:", f.get("request.alternatives_unsuitable")),
            ("Expected risk if coverage is denied:", f.get("request.risk_if_denied")),
        ]
    )
    urgency_block(doc, f, case)

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
        doc.p("For the reason stated on the request, I ask that it be reviewed on the expedited timeline.")
    doc.p("Please contact my office with any questions about this request.")
    doc.p(f"{f.get('prescriber.name')}, NPI {f.get('prescriber.npi')}")
    doc.lines(["Prescriber signature: ______________________________", "Date: ______________"])
    return doc


STANDING_ITEMS = [
    "Attach recent chart notes supporting the diagnosis",
    "Have the prescriber sign the request and the letter of medical necessity",
    "Record the case or key number and the date and time submitted",
]


def checklist_items(missing: list[str]) -> list[str]:
    return [f"Obtain: {m}" for m in missing] + STANDING_ITEMS


def worksheet(missing: list[str]) -> Document:
    """The internal checklist before submission: a separate document, never faxed with the packet."""
    doc = Document(kind=KIND, title="Checklist before submission (internal, do not fax)")
    doc.h("Checklist before submission (internal, do not fax)", 1)
    doc.checkboxes(checklist_items(missing))
    return doc
