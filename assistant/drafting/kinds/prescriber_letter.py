"""``prescriber-letter``: SBAR recommendation fax with a fax-back response page for the prescriber.

Minimum necessary: the patient is identified by name and date of birth only (no phone, address or
member ID), because a fax can land on a shared machine. Every page carries that name and date of
birth and "page x of y" (the renderer prints the running header), so a page separated from the rest
is still identified. Only problems with something for the prescriber to do are in the letter, each
with its own response block; the fax-back page stands on its own (who it is from and to, the
patient, each recommendation, where to fax it).
"""

from __future__ import annotations

import re

from assistant.drafting.case import Case, Problem
from assistant.drafting.document import Document
from assistant.drafting.kinds.base import Filler
from assistant.roles import Action

KIND = "prescriber-letter"
TITLE = "Pharmacist recommendation to prescriber (SBAR)"
ACTION = Action.DRAFT_CLINICAL
RECIPIENT = "prescriber"

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
    "problems": "drug therapy problem for the prescriber",
    "problems[].category": "problem category",
    "problems[].description": "problem description",
    "problems[].evidence": "assessment / evidence",
    "problems[].recommendation": "recommendation (drug, dose, route, frequency, duration)",
    "problems[].monitoring": "monitoring plan",
}

# The prescriber acts on this letter: it must say who, what and where to answer; anything else may be
# completed by hand on the approved fax (with an override).
BLOCKING = {
    "patient.name",
    "patient.dob",
    "prescriber.name",
    "pharmacy.fax",
    "problems",
    "problems[].description",
    "problems[].recommendation",
}
SIGNER_PATHS = {"pharmacist.name", "pharmacist.credentials", "pharmacist.phone"}
SIGNER_NEEDS = ("credentials",)

CONFIDENTIAL = (
    "CONFIDENTIAL: this fax contains protected health information for the named recipient only. If it "
    "reached you by mistake, please call the sender and destroy all copies."
)
RESPONSES = [
    "Accept",
    "Accept with modification: ______________________________",
    "Decline (reason): ______________________________",
    "Discuss at next visit",
]
_NOTHING_FOR_PRESCRIBER = re.compile(
    r"(?i)^\s*(none|n/?a|no (?:change|action|recommendation)s?|nothing)\b(?:.*\bprescriber\b)?"
    r"|\bnone for (?:the )?prescriber\b|\bpatient[- ]only\b|\bno prescriber action\b"
)


def for_prescriber(p: Problem) -> bool:
    """A problem belongs in the letter unless its recommendation says there is nothing for the
    prescriber ("none for prescriber", "patient only") or it only has a patient action."""
    if p.recommendation:
        return not _NOTHING_FOR_PRESCRIBER.search(p.recommendation)
    return not p.patient_action  # no recommendation yet: still a prescriber item, shown as missing


def build(case: Case, f: Filler) -> Document:
    name, dob = f.get("patient.name"), f.get("patient.dob")
    doc = Document(kind=KIND, title=TITLE, recipient=RECIPIENT, running_header=f"Re: {name}, DOB {dob}")
    doc.h(TITLE, 1)
    sent = f.get("prepared_date") or f.prepared.strftime("%m/%d/%Y")
    doc.fields(
        [
            ("To:", f.get("prescriber.name")),
            ("Fax:", f.get("prescriber.fax")),
            ("From:", f.get("pharmacy.name")),
            ("Phone:", f.get("pharmacy.phone")),
            ("Pharmacy fax:", f.get("pharmacy.fax")),
            ("Date:", sent),
            ("Urgency:", f.get("letter.urgency")),
        ]
    )
    doc.p(CONFIDENTIAL)
    doc.p(f"Re: {name}, DOB {dob}")

    selected = [(i, p) for i, p in enumerate(case.problems) if for_prescriber(p)]
    if not selected:
        doc.p(f.mark(REQUIRED["problems"], "problems"))
    for n, (i, _pr) in enumerate(selected, start=1):
        if len(selected) > 1:
            doc.h(f"Recommendation {n}", 2)
        doc.h("S - Situation", 3)
        doc.fields(
            [
                ("Problem:", f.get(f"problems.{i}.description", suffix=f" ({n})")),
                ("Category:", f.get(f"problems.{i}.category", suffix=f" ({n})")),
                ("Drug:", f.get(f"problems.{i}.drug")),
            ]
        )
        if n == 1:
            _background(doc, f, case)
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

    doc.h("Pharmacist")
    doc.signature(
        [
            "{name}, {credentials}",
            "Direct phone: {phone}",
            "Pharmacist signature: ______________________________",
        ],
        {
            "name": f.get("pharmacist.name"),
            "credentials": f.get("pharmacist.credentials"),
            "phone": f.get("pharmacist.phone"),
        },
    )
    follow_up = f.get("encounter.follow_up_date")
    if follow_up:
        doc.p(f"Follow-up planned: {follow_up}")

    # ---- fax-back page: stands on its own ------------------------------------------------------
    doc.pagebreak()
    doc.h("Prescriber response: please fax this page back", 1)
    fax_by = f.get("letter.respond_by") or "______________"
    doc.fields(
        [
            ("To:", f"{f.get('pharmacy.name')}, fax {f.get('pharmacy.fax')}"),
            ("From:", f.get("prescriber.name")),
            ("Patient:", f"{name}, DOB {dob}"),
            ("Letter sent:", sent),
            ("Please reply by:", fax_by),
        ]
    )
    for n, (i, _pr) in enumerate(selected, start=1):
        doc.h(f"Recommendation {n}" if len(selected) > 1 else "Recommendation", 3)
        doc.p(f.get(f"problems.{i}.recommendation", suffix=f" ({n})"))
        doc.checkboxes(RESPONSES)
    doc.lines(
        [
            "Prescriber signature: ______________________________",
            "NPI: " + (f.get("prescriber.npi") or "______________"),
            "Date / time: ______________",
        ]
    )
    doc.p(f"Please fax this page back to {f.get('pharmacy.fax')} by {fax_by}.")
    return doc


def _background(doc: Document, f: Filler, case: Case) -> None:
    doc.h("B - Background", 3)
    if case.conditions:
        doc.p(
            "Diagnoses: "
            + "; ".join(
                " ".join(x for x in (c.name, c.icd10 and f"({f.icd(f'conditions.{j}.icd10')})") if x)
                for j, c in enumerate(case.conditions)
            )
        )
    current = [m for m in case.medications if not m.stop_date]
    if current:
        doc.p("Current regimen:")
        doc.bullets(
            [
                " ".join(x for x in (m.name, m.strength, m.sig) if x) + (" (OTC)" if m.otc else "")
                for m in current
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
