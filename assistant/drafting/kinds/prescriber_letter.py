"""``prescriber-letter``: SBAR recommendation fax with a response section for the prescriber.

Minimum necessary: the patient is identified by name and date of birth only (no phone, address or
member ID), because a fax can land on a shared machine.
"""

from __future__ import annotations

from assistant.drafting.case import Case
from assistant.drafting.document import Document
from assistant.drafting.kinds.base import Filler
from assistant.roles import Action

KIND = "prescriber-letter"
TITLE = "Pharmacist recommendation to prescriber (SBAR)"
ACTION = Action.DRAFT_CLINICAL

REQUIRED: dict[str, str] = {
    "patient.name": "patient name",
    "patient.dob": "date of birth",
    "prescriber.name": "prescriber name",
    "prescriber.fax": "prescriber fax",
    "pharmacy.name": "pharmacy name",
    "pharmacy.phone": "pharmacy phone",
    "pharmacy.fax": "pharmacy fax",
    "pharmacist.name": "pharmacist name",
    "pharmacist.credentials": "pharmacist credentials",
    "pharmacist.phone": "pharmacist direct phone",
    "problems": "drug therapy problem",
    "problems[].category": "problem category",
    "problems[].description": "problem description",
    "problems[].evidence": "assessment / evidence",
    "problems[].recommendation": "recommendation (drug, dose, route, frequency, duration)",
    "problems[].monitoring": "monitoring plan",
}

CONFIDENTIAL = (
    "CONFIDENTIAL: this fax contains protected health information for the named recipient only. If it "
    "reached you by mistake, please call the sender and destroy all copies."
)


def build(case: Case, f: Filler) -> Document:
    doc = Document(kind=KIND, title=TITLE)
    doc.h(TITLE, 1)
    doc.fields(
        [
            ("To:", f.get("prescriber.name")),
            ("Fax:", f.get("prescriber.fax")),
            ("From:", f.get("pharmacy.name")),
            ("Phone:", f.get("pharmacy.phone")),
            ("Pharmacy fax:", f.get("pharmacy.fax")),
            ("Date:", f.get("prepared_date") or f.prepared.strftime("%m/%d/%Y")),
            ("Urgency:", f.get("letter.urgency")),
        ]
    )
    doc.p(CONFIDENTIAL)
    doc.p(f"Re: {f.get('patient.name')}, DOB {f.get('patient.dob')}")

    if not f.need_list("problems"):
        doc.p(f.mark(REQUIRED["problems"]))
    for i, _pr in enumerate(case.problems):
        n = i + 1
        if len(case.problems) > 1:
            doc.h(f"Recommendation {n}", 2)
        doc.h("S - Situation", 3)
        doc.fields(
            [
                ("Problem:", f.get(f"problems.{i}.description", suffix=f" ({n})")),
                ("Category:", f.get(f"problems.{i}.category", suffix=f" ({n})")),
                ("Drug:", f.get(f"problems.{i}.drug")),
            ]
        )
        if i == 0:
            doc.h("B - Background", 3)
            if case.conditions:
                doc.p(
                    "Diagnoses: "
                    + "; ".join(
                        " ".join(x for x in (c.name, c.icd10 and f"({f.icd(f'conditions.{j}.icd10')})") if x)
                        for j, c in enumerate(case.conditions)
                    )
                )
            if case.medications:
                doc.p("Current regimen:")
                doc.bullets(
                    [
                        " ".join(x for x in (m.name, m.strength, m.sig) if x) + (" (OTC)" if m.otc else "")
                        for m in case.medications
                        if not m.stop_date
                    ]
                )
            if case.labs or case.vitals:
                rows = [list(f.measurement("labs", j)) for j in range(len(case.labs))]
                rows += [list(f.measurement("vitals", j)) for j in range(len(case.vitals))]
                doc.table(["Lab / vital", "Result", "Date"], rows)
            allergies = [
                (a.substance or "(substance not recorded)") + (f" ({a.reaction})" if a.reaction else "")
                for a in case.patient.allergies
            ]
            if allergies or case.patient.no_known_allergies:
                doc.p("Allergies: " + ("; ".join(allergies) or "No known allergies"))
            if case.encounter.subjective:
                doc.p("Patient report: " + case.encounter.subjective)
        doc.h("A - Assessment", 3)
        doc.fields(
            [
                ("Assessment:", f.get(f"problems.{i}.evidence", suffix=f" ({n})")),
                ("Cause:", f.get(f"problems.{i}.cause")),
                ("Severity:", f.get(f"problems.{i}.severity")),
            ]
        )
        doc.h("R - Recommendation", 3)
        doc.fields(
            [
                ("Recommendation:", f.get(f"problems.{i}.recommendation", suffix=f" ({n})")),
                ("Monitoring:", f.get(f"problems.{i}.monitoring", suffix=f" ({n})")),
            ]
        )

    doc.h("Prescriber response")
    doc.checkboxes(
        [
            "Accept",
            "Accept with modification: ______________________________",
            "Decline (reason): ______________________________",
            "Discuss at next visit",
        ]
    )
    doc.lines(
        [
            "Prescriber signature: ______________________________",
            "NPI: " + (f.get("prescriber.npi") or "______________"),
            "Date / time: ______________",
        ]
    )
    fax_by = f.get("letter.respond_by") or "______________"
    doc.p(f"Please fax this page back to {f.get('pharmacy.fax')} by {fax_by}.")

    doc.h("Pharmacist")
    doc.fields(
        [
            ("Name:", f"{f.get('pharmacist.name')}, {f.get('pharmacist.credentials')}"),
            ("Direct phone:", f.get("pharmacist.phone")),
            ("Follow-up:", f.get("encounter.follow_up_date")),
        ]
    )
    doc.lines(["Pharmacist signature: ______________________________"])
    return doc
