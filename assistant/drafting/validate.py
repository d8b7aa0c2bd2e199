"""Case checks with real code sets. Errors block approval (and a case file with errors is refused);
warnings are shown in the draft for the pharmacist to weigh.

Each message is one line and starts with the field path, e.g.
``patient.dob: date of birth is in the future``.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from assistant.drafting import codes
from assistant.drafting.case import Case


class Findings(BaseModel):
    errors: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


def _icd(f: Findings, path: str, value: str | None) -> None:
    if not value:
        return
    hit = codes.icd10_lookup(value)
    if hit is None:
        f.errors.append(f"{path}: '{value}' is not an ICD-10-CM code")
    elif not hit.billable:
        f.warnings.append(f"{path}: {hit.code} is a category, not the most specific (billable) code")


def _npi(f: Findings, path: str, value: str | None) -> None:
    if value and (why := codes.npi_problem(value)):
        f.errors.append(f"{path}: {why}")


def _order(f: Findings, path: str, start: dt.date | None, stop: dt.date | None) -> None:
    if start and stop and stop < start:
        f.errors.append(f"{path}: stop date {stop.isoformat()} is before start date {start.isoformat()}")


def validate_case(case: Case, kind: str | None = None, *, today: dt.date | None = None) -> Findings:
    today = today or dt.date.today()
    f = Findings()
    p = case.patient
    if p.dob:
        if p.dob > today:
            f.errors.append("patient.dob: date of birth is in the future")
        elif p.dob.year < today.year - 125:
            f.errors.append("patient.dob: date of birth is more than 125 years ago")
    _npi(f, "prescriber.npi", case.prescriber.npi)
    _npi(f, "pharmacist.npi", case.pharmacist.npi)
    _npi(f, "pharmacy.npi", case.pharmacy.npi)
    if case.pharmacy.ncpdp and not (case.pharmacy.ncpdp.isdigit() and len(case.pharmacy.ncpdp) == 7):
        f.errors.append("pharmacy.ncpdp: an NCPDP provider ID is 7 digits")
    if case.prescriber.dea:
        if why := codes.dea_problem(case.prescriber.dea):
            f.errors.append(f"prescriber.dea: {why}")
        elif why := codes.dea_warning(case.prescriber.dea, case.prescriber.name):
            f.warnings.append(f"prescriber.dea: {why}")
    for i, c in enumerate(case.conditions):
        _icd(f, f"conditions[{i}].icd10", c.icd10)
    for i, m in enumerate(case.medications):
        _order(f, f"medications[{i}]", m.start_date, m.stop_date)
        if m.start_date and m.start_date > today:
            f.errors.append(f"medications[{i}].start_date: in the future")
        if p.dob and m.start_date and m.start_date < p.dob:
            f.errors.append(f"medications[{i}].start_date: before the date of birth")
        if m.stop_date and not m.stop_reason:
            f.warnings.append(f"medications[{i}].stop_reason: stopped without a recorded reason")
    for section in ("labs", "vitals"):
        for i, lab in enumerate(getattr(case, section)):
            if lab.date and lab.date > today:
                f.errors.append(f"{section}[{i}].date: in the future")
            if lab.value is not None and not lab.date:
                f.warnings.append(f"{section}[{i}].date: result has no date")
    r = case.request
    if r.ndc and (why := codes.ndc_problem(r.ndc)):
        f.errors.append(f"request.ndc: {why}")
    _icd(f, "request.diagnosis_icd10", r.diagnosis_icd10)
    if r.diagnosis_icd10 and case.conditions:
        listed = {
            codes.icd10_lookup(c.icd10).code
            for c in case.conditions
            if c.icd10 and codes.icd10_lookup(c.icd10)
        }
        hit = codes.icd10_lookup(r.diagnosis_icd10)
        if hit and hit.code not in listed:
            f.warnings.append(f"request.diagnosis_icd10: {hit.code} is not on the condition list")
    for i, t in enumerate(r.prior_therapies):
        _order(f, f"request.prior_therapies[{i}]", t.start, t.stop)
        if t.start and t.start > today:
            f.errors.append(f"request.prior_therapies[{i}].start: in the future")
    if r.denial and r.denial.date and r.denial.date > today:
        f.errors.append("request.denial.date: in the future")
    e = case.encounter
    if e.date and e.date > today:
        f.errors.append("encounter.date: in the future")
    if kind == "mtm-cmr" and e.date:
        prepared = case.prepared_date or today
        if (prepared - e.date).days > 14:
            f.warnings.append(
                "encounter.date: the CMR written summary is due within 14 days of the CMR; this one is late"
            )
        if e.type and e.type != "CMR":
            f.warnings.append(f"encounter.type: a {e.type} does not need the standardized written summary")
    if kind == "mtm-cmr" and not any(m.otc for m in case.medications) and case.medications:
        f.warnings.append("medications: no OTC products or supplements recorded; confirm with the patient")
    if kind in ("mtm-note",) and e.minutes is not None and e.minutes < 8:
        f.warnings.append("encounter.minutes: under 8 minutes, no MTM time code can be suggested")
    return f
