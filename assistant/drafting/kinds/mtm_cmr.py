"""``mtm-cmr``: the CMS Standardized Format CMR written summary (form CMS-10396).

Cover letter, Medication Action Plan (MAP) and Personal Medication List (PML). The CMS fixed text
and headers are reproduced as CMS publishes them; only the ``<>`` fields are filled from the case.
"""

from __future__ import annotations

from assistant.drafting.case import Case
from assistant.drafting.document import Document
from assistant.drafting.kinds.base import Filler, fmt_date
from assistant.roles import Action

KIND = "mtm-cmr"
TITLE = "CMR written summary (CMS Standardized Format)"
ACTION = Action.DRAFT_CMR

REQUIRED: dict[str, str] = {
    "patient.name": "patient name",
    "patient.dob": "date of birth",
    "encounter.date": "date of the CMR",
    "encounter.program": "Part D plan / MTM program name",
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


def _contact(f: Filler) -> str:
    who = f.get("pharmacy.name") or f.get("pharmacist.name")
    phone = f.get("pharmacy.phone")
    hours = f.get("pharmacy.hours")
    tty = f.get("pharmacy.tty")
    return f"{who}, {phone}, {hours}. TTY: {tty}".lstrip(", ")


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
    return f.mark(REQUIRED["allergies"])


def build(case: Case, f: Filler) -> Document:
    doc = Document(kind=KIND, title=TITLE, min_font_pt=12)
    name = f.get("patient.name")
    dob = f.get("patient.dob")
    prepared = fmt_date(f.prepared)
    dos = f.get("encounter.date")
    pharmacist = f.get("pharmacist.name")
    creds = f.get("pharmacist.credentials")
    program = f.get("encounter.program")
    contact = _contact(f)

    # ---- cover letter -------------------------------------------------------------------------
    doc.h("Cover Letter", 1)
    doc.p(prepared)
    recipient = f.get("encounter.recipient") or name
    address = f.get("patient.address")
    doc.p(recipient + (f"\n{address}" if address else ""))
    doc.p(f"Dear {recipient}:")
    doc.p(
        f"Thank you for talking with me on {dos} about your health and medications. Medicare's MTM "
        "(Medication Therapy Management) program helps you make sure that your medications are working."
    )
    doc.p(
        "Along with this letter are an action plan (Medication Action Plan) and a medication list "
        "(Personal Medication List). The action plan has steps you should take to get the best results "
        "from your medications. The medication list will help you keep track of your medications and "
        "how to use them the right way."
    )
    doc.bullets(
        [
            "Have your action plan and medication list with you when you talk with your doctors, "
            "pharmacists, and other healthcare providers.",
            "Ask your doctors, pharmacists, and other healthcare providers to update them at every visit.",
            "Take your medication list with you if you go to the hospital or emergency room.",
            "Give a copy of the action plan and medication list to your family or caregivers.",
        ]
    )
    doc.p(f"If you want to talk about this letter or any of the papers with it, please call {contact}")
    doc.p(
        "We look forward to working with you and your doctors to help you stay healthy through the "
        f"{program} MTM program."
    )
    doc.p(f"Sincerely,\n{pharmacist}, {creds}")
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
        "healthcare providers. Share this with your family or caregivers."
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
        doc.fields([("What we talked about:", f.mark(REQUIRED["problems"])), ("What I need to do:", "")])
    follow = " ".join(s for s in (f.get("encounter.follow_up_plan"), f.get("encounter.follow_up_date")) if s)
    doc.fields(
        [
            ("My follow-up plan (add notes about next steps):", follow),
            ("Questions I want to ask (include topics about medications or therapy):", ""),
        ]
    )
    doc.p(f"If you have any questions about your action plan, call {contact}")

    # ---- personal medication list -------------------------------------------------------------
    doc.pagebreak()
    doc.h(f"Personal Medication List for {name}, DOB: {dob}", 1)
    sources = ", ".join(case.encounter.sources) or f.mark(REQUIRED["encounter.sources"])
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
        "family or caregivers."
    )
    doc.p(f"DATE PREPARED: {prepared}")
    doc.fields([("Allergies or side effects:", _allergies(f, case))])
    if f.need_list("medications"):
        for i, m in enumerate(case.medications):
            label = m.name or f"medication {i + 1}"
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
                prescriber = f.mark(f"prescriber for {label}")
            doc.fields(
                [
                    ("Medication:", med),
                    ("How I use it:", f.get(f"medications.{i}.sig", suffix=f" ({label})")),
                    ("Why I use it:", f.get(f"medications.{i}.indication", suffix=f" ({label})")),
                    ("Prescriber:", prescriber),
                    ("Date I started using it:", f.get(f"medications.{i}.start_date")),
                    ("Date I stopped using it:", f.get(f"medications.{i}.stop_date")),
                    ("Why I stopped using it:", f.get(f"medications.{i}.stop_reason")),
                ]
            )
    else:
        doc.fields([("Medication:", f.mark(REQUIRED["medications"]))])
    for _ in range(2):  # blank rows for the patient, as the form asks
        doc.fields(
            [
                ("Medication:", ""),
                ("How I use it:", ""),
                ("Why I use it:", ""),
                ("Prescriber:", ""),
                ("Date I started using it:", ""),
                ("Date I stopped using it:", ""),
                ("Why I stopped using it:", ""),
            ]
        )
    doc.fields([("Other Information:", "")])
    doc.p(f"If you have any questions about your medication list, call {contact}")
    return doc
