"""``mtm-cmr``: the CMS Standardized Format CMR written summary (form CMS-10396).

Cover letter, Medication Action Plan (MAP) and Personal Medication List (PML). The CMS fixed text
and headers are reproduced word for word from the current OMB-approved instrument (kept, with its
provenance, in ``knowledge/drafting/cms10396_reference.yaml`` and held to it by a test); only the
``<>`` fields are filled from the case.
"""

from __future__ import annotations

import datetime as dt
import re

from assistant.drafting.case import Case, Medication
from assistant.drafting.document import Document
from assistant.drafting.kinds.base import Filler, fmt_date
from assistant.roles import Action

KIND = "mtm-cmr"
TITLE = "CMR written summary (CMS Standardized Format)"
ACTION = Action.DRAFT_CMR
RECIPIENT = "patient"

REQUIRED: dict[str, str] = {
    "patient.name": "patient name",
    "patient.dob": "date of birth",
    "encounter.date": "date of the CMR",
    "encounter.program": "Part D plan name",
    "encounter.sources": "sources of the medication information",
    "pharmacist.name": "pharmacist name",
    "pharmacist.credentials": "pharmacist credentials",
    "pharmacy.phone": "pharmacy phone",
    "pharmacy.hours": "pharmacy days/times",
    "pharmacy.tty": "TTY number",
    "allergies": "allergies or side effects (or no known allergies)",
    "medications": "medication list",
    "medications[].name": "medication name",
    "medications[].strength": "strength",
    "medications[].sig": "how the patient uses it",
    "medications[].indication": "why the patient uses it",
    "problems": "action plan topics",
    "problems[].description": "what we talked about",
    "problems[].patient_action": "what the patient needs to do",
}

# Missing facts an approving pharmacist may leave as a blank line to complete by hand (with an
# override); every other missing fact blocks approval of a letter that goes to the patient.
HANDWRITE = {"medications[].strength", "medications[].prescriber"}
# Filled by the approving pharmacist's staff record, so never blocking; credentials must be on it.
SIGNER_PATHS = {"pharmacist.name", "pharmacist.credentials"}
SIGNER_NEEDS = ("credentials",)

CMS_BULLETS = [
    "Have your action plan and medication list with you when you talk with your doctors, pharmacists, "
    "and other health care providers in your care team.",
    "Ask your doctors, pharmacists, and other healthcare providers to update the action plan and "
    "medication list at every visit.",
    "Take your medication list with you if you go to the hospital or emergency room.",
    "Give a copy of the action plan and medication list to your family or caregivers.",
]
PML_FIELDS = (
    "Medication:",
    "How I use it:",
    "Why I use it:",
    "Prescriber:",
    "Date I started using it:",
    "Date I stopped using it:",
    "Why I stopped using it:",
)


def _contact(f: Filler) -> str:
    """<contact information for MTM provider, phone number, days/times, TTY>."""
    who = f.get("pharmacy.name") or f.get("pharmacist.name")
    phone = f.get("pharmacy.phone")
    hours = f.get("pharmacy.hours")
    tty = f.get("pharmacy.tty")
    return f"{who} at {phone}, {hours}, TTY {tty}"


def _plan(f: Filler) -> str:
    """<name of Part D plan>: the program name if recorded, else the plan on the insurance card."""
    return f.case.encounter.program or f.case.insurance.plan or f.need("encounter.program")


def on_pml(m: Medication, cmr_date: dt.date) -> bool:
    """The PML lists what the patient uses: a medication stopped before the CMR is not on it (the
    pharmacist sees a warning); one stopped at the CMR is, with the date and reason."""
    return m.stop_date is None or m.stop_date >= cmr_date


def _allergies(f: Filler, case: Case) -> str:
    items = []
    for i, _a in enumerate(case.patient.allergies):
        sub = f.get(f"patient.allergies.{i}.substance", blank="(substance not recorded)")
        rx = f.get(f"patient.allergies.{i}.reaction")
        items.append(f"{sub} ({rx})" if rx else sub)
    if items:
        return "; ".join(items)
    if case.patient.no_known_allergies:
        return "No known allergies"
    return f.mark(REQUIRED["allergies"], "allergies")


def build(case: Case, f: Filler) -> Document:
    name = f.get("patient.name")
    dob = f.get("patient.dob")
    doc = Document(
        kind=KIND, title=TITLE, min_font_pt=12, recipient=RECIPIENT, running_header=f"{name}, DOB {dob}"
    )
    prepared = fmt_date(f.prepared)
    dos = f.get("encounter.date")
    contact = _contact(f)

    # ---- cover letter (CMS-10396) ---------------------------------------------------------------
    doc.p(prepared)
    recipient = f.get("encounter.recipient") or name
    address = f.get("patient.address")
    doc.p(recipient + (f"\n{address}" if address else ""))
    doc.p(f"Dear {recipient}:")
    doc.p(
        f"Thank you for talking with me on {dos} about your health and medications. Medicare’s MTM "
        "(Medication Therapy Management) program helps you understand your medications and use them "
        "safely."
    )
    doc.p(
        "This letter includes an action plan (Medication Action Plan) and medication list (Personal "
        "Medication List). The action plan has steps you should take to help you get the best results "
        "from your medications. The medication list will help you keep track of your medications and "
        "how to use them the right way."
    )
    doc.bullets(CMS_BULLETS)
    doc.p(
        f"If you want to talk about this letter or any of the papers with it, please call {contact}. "
        "I look forward to working with you, your doctors, and other healthcare providers to help you "
        f"stay healthy through the {_plan(f)} MTM program."
    )
    doc.signature(
        ["Sincerely,", "{name}, {credentials}"],
        {"name": f.get("pharmacist.name"), "credentials": f.get("pharmacist.credentials")},
    )
    if case.prescriber.name:
        doc.p(f"cc: {case.prescriber.name}")

    # ---- medication action plan ---------------------------------------------------------------
    doc.pagebreak()
    doc.h(f"Medication Action Plan for {name}, DOB: {dob}", 1)
    doc.p("This action plan will help you get the best results from your medications if you:")
    doc.p(
        '1. Read "What we talked about."\n'
        '2. Take the steps listed in the "What I need to do" boxes.\n'
        '3. Fill in "What I did and when I did it."\n'
        '4. Fill in "My follow-up plan" and "Questions I want to ask."'
    )
    doc.p(
        "Have this action plan with you when you talk with your doctors, pharmacists, and other "
        "healthcare providers. Share this with your family or caregivers too."
    )
    doc.p(f"DATE PREPARED: {prepared}")
    if f.need_list("problems"):
        for i, _ in enumerate(case.problems):
            doc.fields(
                [
                    ("What we talked about:", f.get(f"problems.{i}.description", suffix=f" (topic {i + 1})")),
                    ("What I need to do:", f.get(f"problems.{i}.patient_action", suffix=f" (topic {i + 1})")),
                    ("What I did and when I did it:", ""),
                ]
            )
    else:
        doc.fields(
            [
                ("What we talked about:", f.mark(REQUIRED["problems"], "problems")),
                ("What I need to do:", ""),
                ("What I did and when I did it:", ""),
            ]
        )
    follow = " ".join(s for s in (f.get("encounter.follow_up_plan"), f.get("encounter.follow_up_date")) if s)
    doc.fields([("My follow-up plan (add notes about next steps):", follow)])
    doc.fields([("Questions I want to ask (include topics about medications or therapy):", "")])
    doc.p(f"If you have any questions about your action plan, call {contact}.")

    # ---- personal medication list -------------------------------------------------------------
    doc.pagebreak()
    doc.h(f"Personal Medication List for {name}, DOB: {dob}", 1)
    sources = ", ".join(case.encounter.sources) or f.mark(REQUIRED["encounter.sources"], "encounter.sources")
    doc.p(f"This medication list was made for you after we talked. We also used information from {sources}.")
    doc.bullets(
        [
            "Use blank rows to add new medications. Then fill in the dates you started using them.",
            "Cross out medications when you no longer use them. Then write the date and why you "
            "stopped using them.",
            "Ask your doctors, pharmacists, and other healthcare providers to update this list at every "
            "visit.",
        ]
    )
    doc.p("Keep this list up-to-date with:")
    doc.bullets(["prescription medications", "over the counter drugs", "herbals", "vitamins", "minerals"])
    doc.p(
        "If you go to the hospital or emergency room, take this list with you. Share this with your "
        "family or caregivers too."
    )
    doc.p(f"DATE PREPARED: {prepared}")
    doc.fields([("Allergies or side effects:", _allergies(f, case))])
    cmr_date = case.encounter.date or f.prepared
    listed = [(i, m) for i, m in enumerate(case.medications) if on_pml(m, cmr_date)]
    if f.need_list("medications") and listed:
        for i, m in listed:
            label = re.sub(r"\s*\([^)]*\)$", "", m.name or "") or f"medication {i + 1}"  # as written
            med = " ".join(
                s
                for s in (
                    f.get(f"medications.{i}.name", suffix=f" {i + 1}"),
                    f.get(f"medications.{i}.strength", suffix=f" for {label}"),
                )
                if s
            )
            if m.otc:
                med += " (over the counter)"
            prescriber = f.get(f"medications.{i}.prescriber")
            if not prescriber and not m.otc:
                prescriber = f.mark(f"prescriber for {label}", f"medications.{i}.prescriber")
            values = [
                med,
                f.get(f"medications.{i}.sig", suffix=f" ({label})"),
                f.get(f"medications.{i}.indication", suffix=f" ({label})"),
                prescriber,
                f.get(f"medications.{i}.start_date"),
                f.get(f"medications.{i}.stop_date"),
                f.get(f"medications.{i}.stop_reason"),
            ]
            doc.fields(list(zip(PML_FIELDS, values, strict=True)))
    else:  # none recorded, or every one was stopped before the CMR
        doc.fields([("Medication:", f.mark(REQUIRED["medications"], "medications"))])
    for _ in range(2):  # blank rows for the patient, as the form asks
        doc.fields([(label, "") for label in PML_FIELDS])
    doc.fields([("Other Information:", "")])
    doc.p(f"If you have any questions about your medication list, call {contact}.")
    return doc
