"""``mtm-note``: pharmacist SOAP encounter note (JCPP patient care process), with a suggested MTM
time code for the pharmacist to verify."""

from __future__ import annotations

from pydantic import BaseModel

from assistant.drafting.case import Case
from assistant.drafting.document import Document
from assistant.drafting.kinds.base import Filler
from assistant.roles import Action

KIND = "mtm-note"
TITLE = "MTM encounter note (SOAP)"
ACTION = Action.DRAFT_CLINICAL

REQUIRED: dict[str, str] = {
    "patient.name": "patient name",
    "patient.dob": "date of birth",
    "encounter.date": "encounter date",
    "encounter.type": "encounter type (CMR/TMR/follow-up)",
    "encounter.modality": "modality",
    "encounter.minutes": "face-to-face minutes",
    "encounter.new_patient": "new or established patient",
    "encounter.follow_up_date": "follow-up date",
    "medications": "medication list",
    "medications[].name": "medication name",
    "medications[].sig": "directions",
    "problems": "drug therapy problems",
    "problems[].category": "problem category",
    "problems[].cause": "cause",
    "problems[].evidence": "evidence",
    "problems[].recommendation": "plan",
    "pharmacist.name": "pharmacist name",
    "pharmacist.credentials": "pharmacist credentials",
    "pharmacist.npi": "pharmacist NPI",
}


class CptSuggestion(BaseModel):
    first_code: str  # 99605 new patient / 99606 established, first 15 minutes
    add_on_units: int  # +99607, each additional 15 minutes

    def text(self) -> str:
        add = f" + 99607 x {self.add_on_units}" if self.add_on_units else ""
        return f"{self.first_code}{add}"


def suggest_cpt(minutes: int | None, new_patient: bool | None) -> CptSuggestion | None:
    """Time-based suggestion using the CPT midpoint rule (>= 8 min for the first unit, an add-on unit
    once 8 or more minutes pass a 15-minute block). Payers differ, so a pharmacist verifies it."""
    if minutes is None or new_patient is None or minutes < 8:
        return None
    extra = max(0, minutes - 15)
    units = (extra + 7) // 15
    return CptSuggestion(first_code="99605" if new_patient else "99606", add_on_units=units)


def build(case: Case, f: Filler) -> Document:
    doc = Document(kind=KIND, title=TITLE)
    e = case.encounter
    doc.h(TITLE, 1)
    doc.fields(
        [
            ("Patient:", f.get("patient.name")),
            ("DOB:", f.get("patient.dob")),
            ("Program / payer:", f.get("encounter.program") or f.get("insurance.plan")),
            ("Encounter:", f.get("encounter.type")),
            ("Modality:", f.get("encounter.modality")),
            ("Date of service:", f.get("encounter.date")),
            ("Face-to-face minutes:", f.get("encounter.minutes")),
            ("Present:", f.get("encounter.recipient")),
        ]
    )

    doc.h("S - Subjective")
    doc.fields([("Patient report:", f.get("encounter.subjective"))])
    if e.goals:
        doc.p("Patient goals:")
        doc.bullets(list(e.goals))
    allergies = [
        f"{a.substance or '(substance not recorded)'}" + (f" ({a.reaction})" if a.reaction else "")
        for a in case.patient.allergies
    ]
    if not allergies and case.patient.no_known_allergies:
        allergies = ["No known allergies"]
    doc.fields([("Allergies:", "; ".join(allergies))])

    doc.h("O - Objective")
    if f.need_list("medications"):
        rows = []
        for i, m in enumerate(case.medications):
            label = m.name or f"medication {i + 1}"
            rows.append(
                [
                    f.get(f"medications.{i}.name", suffix=f" {i + 1}")
                    + (f" {m.strength}" if m.strength else "")
                    + (" (OTC)" if m.otc else ""),
                    f.get(f"medications.{i}.sig", suffix=f" for {label}"),
                    f.get(f"medications.{i}.indication"),
                    f.get(f"medications.{i}.start_date"),
                    " ".join(x for x in (f.get(f"medications.{i}.stop_date"), m.stop_reason or "") if x),
                ]
            )
        doc.table(["Medication", "Directions", "Indication", "Started", "Stopped"], rows)
    else:
        doc.p(f.mark(REQUIRED["medications"]))
    if e.sources:
        doc.p("Medication list sources: " + ", ".join(e.sources))
    if case.labs or case.vitals:
        rows = [list(f.measurement("labs", i)) for i in range(len(case.labs))]
        rows += [list(f.measurement("vitals", i)) for i in range(len(case.vitals))]
        doc.table(["Lab / vital", "Result", "Date"], rows)
    if case.conditions:
        doc.table(
            ["Problem list", "ICD-10-CM"],
            [
                [f.get(f"conditions.{i}.name"), f.icd(f"conditions.{i}.icd10")]
                for i in range(len(case.conditions))
            ],
        )

    doc.h("A - Assessment: drug therapy problems")
    if f.need_list("problems"):
        for i, pr in enumerate(case.problems):
            n = i + 1
            doc.h(f"Problem {n}" + (f": {pr.condition}" if pr.condition else ""), 3)
            doc.fields(
                [
                    ("Category:", f.get(f"problems.{i}.category", suffix=f" (problem {n})")),
                    ("Drug:", f.get(f"problems.{i}.drug")),
                    ("Problem:", f.get(f"problems.{i}.description")),
                    ("Cause:", f.get(f"problems.{i}.cause", suffix=f" (problem {n})")),
                    ("Evidence:", f.get(f"problems.{i}.evidence", suffix=f" (problem {n})")),
                    ("Severity:", f.get(f"problems.{i}.severity")),
                ]
            )
    else:
        doc.p(f.mark(REQUIRED["problems"]))

    doc.h("P - Plan")
    for i in range(len(case.problems)):
        n = i + 1
        doc.fields(
            [
                (f"Problem {n} plan:", f.get(f"problems.{i}.recommendation", suffix=f" (problem {n})")),
                ("Patient action:", f.get(f"problems.{i}.patient_action")),
                ("Monitoring:", f.get(f"problems.{i}.monitoring")),
            ]
        )
    if e.monitoring:
        doc.p("Monitoring:")
        doc.bullets(list(e.monitoring))
    doc.fields(
        [
            ("Follow-up date:", f.get("encounter.follow_up_date")),
            ("Follow-up plan:", f.get("encounter.follow_up_plan")),
        ]
    )

    doc.h("Billing (pharmacist to verify)")
    minutes = f.get("encounter.minutes")
    status = f.get("encounter.new_patient")
    cpt = suggest_cpt(e.minutes, e.new_patient)
    if cpt:
        patient_kind = "new" if e.new_patient else "established"
        doc.p(
            f"Suggested code: {cpt.text()} ({minutes} face-to-face minutes, {patient_kind} patient). "
            "PHARMACIST TO VERIFY: time rules and coverage differ between payers."
        )
    elif e.minutes is not None and e.minutes < 8:
        doc.p(f"No time-based code suggested: {minutes} face-to-face minutes is under the minimum.")
    else:
        doc.p(f"No code suggested until the minutes ({minutes}) and patient status ({status}) are recorded.")

    doc.h("Pharmacist")
    doc.fields(
        [
            ("Name:", f.get("pharmacist.name")),
            ("Credentials:", f.get("pharmacist.credentials")),
            ("NPI:", f.get("pharmacist.npi")),
        ]
    )
    doc.lines(["Signature: ______________________________", "Date: ______________"])
    return doc
