"""``mtm-note``: pharmacist SOAP encounter note (JCPP patient care process), with a suggested MTM
time code for the pharmacist to verify.

The encounter's modality drives the wording: minutes are "face-to-face" only for an in-person
encounter, and the face-to-face MTM codes (99605-99607) are suggested as such only then.
"""

from __future__ import annotations

from pydantic import BaseModel

from assistant.drafting.case import Case
from assistant.drafting.document import Document
from assistant.drafting.kinds.base import Filler
from assistant.roles import Action

KIND = "mtm-note"
TITLE = "MTM encounter note (SOAP)"
ACTION = Action.DRAFT_CLINICAL
RECIPIENT = "record"

REQUIRED: dict[str, str] = {
    "patient.name": "patient name",
    "patient.dob": "date of birth",
    "encounter.date": "encounter date",
    "encounter.type": "encounter type (CMR/TMR/follow-up)",
    "encounter.modality": "modality",
    "encounter.minutes": "minutes with the patient",
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


# Missing facts that block approval of the chart note; any other may be completed by hand on the
# approved note (with an override). The signer comes from the approving pharmacist's staff record.
BLOCKING = {"patient.name", "patient.dob", "encounter.date", "encounter.modality"}
SIGNER_PATHS = {"pharmacist.name", "pharmacist.credentials", "pharmacist.npi"}
SIGNER_NEEDS = ("credentials", "npi")

MINUTES_LABEL = {
    "in person": "Face-to-face minutes:",
    "telephone": "Telephone minutes:",
    "video": "Video (real-time telehealth) minutes:",
    None: "Minutes with the patient:",
}


class CptSuggestion(BaseModel):
    first_code: str  # 99605 new patient / 99606 established, first 15 minutes
    add_on_units: int  # +99607, each additional 15 minutes

    def text(self) -> str:
        add = f" + 99607 x {self.add_on_units}" if self.add_on_units else ""
        return f"{self.first_code}{add}"


def suggest_cpt(minutes: int | None, new_patient: bool | None, modality: str | None) -> CptSuggestion | None:
    """Time-based suggestion using the CPT midpoint rule (>= 8 min for the first unit, an add-on unit
    once 8 or more minutes pass a 15-minute block). 99605-99607 describe face-to-face time, so only an
    in-person encounter (or real-time video, which many payers accept for these codes) gets one, and
    never a telephone call. Payers differ, so a pharmacist verifies it."""
    if minutes is None or new_patient is None or minutes < 8 or modality not in ("in person", "video"):
        return None
    extra = max(0, minutes - 15)
    units = (extra + 7) // 15
    return CptSuggestion(first_code="99605" if new_patient else "99606", add_on_units=units)


def billing_text(minutes: int | None, new_patient: bool | None, modality: str | None) -> str:
    """The billing paragraph, worded for the modality the encounter actually had."""
    label = MINUTES_LABEL[modality].rstrip(":").lower()
    if modality is None:
        return "No code suggested until the modality (in person, telephone or video) is recorded."
    if minutes is None or new_patient is None:
        return "No code suggested until the minutes and new/established patient status are recorded."
    if modality == "telephone":
        return (
            f"No MTM time code suggested: {minutes} {label}. The MTM codes 99605-99607 are for "
            "in-person encounters; check how this payer pays for telephone MTM before billing."
        )
    if minutes < 8:
        return f"No time-based code suggested: {minutes} {label} is under the minimum."
    cpt = suggest_cpt(minutes, new_patient, modality)
    assert cpt is not None
    patient_kind = "new" if new_patient else "established"
    if modality == "video":
        return (
            f"Suggested code if this payer accepts real-time video for MTM: {cpt.text()} ({minutes} "
            f"{label}, {patient_kind} patient), usually with a telehealth modifier and place of service. "
            "PHARMACIST TO VERIFY: telehealth rules and coverage differ between payers."
        )
    return (
        f"Suggested code: {cpt.text()} ({minutes} {label}, {patient_kind} patient). "
        "PHARMACIST TO VERIFY: time rules and coverage differ between payers."
    )


def _status(f: Filler, new_patient: bool | None) -> str:
    if new_patient is None:
        return f.get("encounter.new_patient")
    return "new patient" if new_patient else "established patient"


def build(case: Case, f: Filler) -> Document:
    e = case.encounter
    doc = Document(
        kind=KIND,
        title=TITLE,
        recipient=RECIPIENT,
        running_header=f"{f.get('patient.name')}, DOB {f.get('patient.dob')}",
    )
    doc.h(TITLE, 1)
    doc.fields(
        [
            ("Patient:", f.get("patient.name")),
            ("DOB:", f.get("patient.dob")),
            ("Program / payer:", f.get("encounter.program") or f.get("insurance.plan")),
            ("Encounter:", f.get("encounter.type")),
            ("Modality:", f.get("encounter.modality")),
            ("Date of service:", f.get("encounter.date")),
            (MINUTES_LABEL[e.modality], f.get("encounter.minutes")),
            ("New or established patient:", _status(f, e.new_patient)),
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
        doc.p(f.mark(REQUIRED["medications"], "medications"))
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
        doc.p(f.mark(REQUIRED["problems"], "problems"))

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
    doc.p(billing_text(e.minutes, e.new_patient, e.modality))

    doc.h("Pharmacist")
    doc.signature(
        ["Name: {name}", "Credentials: {credentials}", "NPI: {npi}"],
        {
            "name": f.get("pharmacist.name"),
            "credentials": f.get("pharmacist.credentials"),
            "npi": f.get("pharmacist.npi"),
        },
    )
    doc.lines(["Signature: ______________________________", "Date: ______________"])
    return doc
