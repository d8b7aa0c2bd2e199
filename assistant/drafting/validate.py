"""Case checks with real code sets. Errors block approval (and a case file with errors is refused);
warnings are shown in the draft for the pharmacist to weigh.

Each message is one line and starts with the field path, e.g.
``patient.dob: date of birth is in the future``.
"""

from __future__ import annotations

import datetime as dt
import re

from pydantic import BaseModel, Field

from assistant.drafting import codes, vocabulary
from assistant.drafting.case import Case
from assistant.drafting.kinds import mtm_cmr, pa_packet, prescriber_letter


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
    _consistency(f, case)
    _kind_notes(f, case, kind, today)
    f.warnings += [f"text: {w}" for w in case.intake_warnings]
    return f


def _base_name(name: str | None) -> str:
    """A drug name as written, without an added generic annotation, for comparing entries."""
    return " ".join(re.sub(r"\([^)]*\)", " ", name or "").lower().split())


_FAILED = re.compile(r"(?i)fail|ineffective|no response|inadequate|intoleran|contraindicat")


def _consistency(f: Findings, case: Case) -> None:
    """Duplicates and contradictions a pharmacist would want pointed out before signing."""
    current = [(i, m) for i, m in enumerate(case.medications) if m.name and not m.stop_date]
    ids = {i: vocabulary.name_identity(m.name or "") for i, m in current}
    for n, (i, a) in enumerate(current):
        for j, b in current[n + 1 :]:
            if ids[i] and ids[i] & ids[j]:
                f.warnings.append(
                    f"medications[{j}]: '{b.name}' and '{a.name}' (medications[{i}]) look like the same "
                    "drug: duplicate therapy, or one entry to remove?"
                )
    seen: dict[tuple[str, dt.date], tuple[int, str]] = {}
    for i, lab in enumerate(case.labs):
        if not (lab.name and lab.date and lab.value):
            continue
        key = (lab.name.strip().lower(), lab.date)
        if key in seen and seen[key][1] != lab.value:
            f.warnings.append(
                f"labs[{i}]: two {lab.name} results on {lab.date.strftime('%m/%d/%Y')} disagree "
                f"({seen[key][1]} and {lab.value}): which is right?"
            )
        seen.setdefault(key, (i, lab.value))
    still = {_base_name(m.name) for _, m in current}
    still |= {_base_name(t.drug) for t in case.request.prior_therapies if t.ongoing and not t.stop}
    for i, t in enumerate(case.request.prior_therapies):
        if t.drug and not t.ongoing and _FAILED.search(t.outcome or "") and _base_name(t.drug) in still:
            f.warnings.append(
                f"request.prior_therapies[{i}]: {t.drug} is recorded as {t.outcome} and as still taken: "
                "which is it?"
            )


def _kind_notes(f: Findings, case: Case, kind: str | None, today: dt.date) -> None:
    """What a kind leaves out or cannot say, so nothing disappears silently."""
    if kind == "mtm-cmr":
        cmr_date = case.encounter.date or case.prepared_date or today
        for i, m in enumerate(case.medications):
            if not mtm_cmr.on_pml(m, cmr_date) and m.stop_date:
                f.warnings.append(
                    f"medications[{i}]: {m.name} was stopped {m.stop_date.strftime('%m/%d/%Y')}, before "
                    "the CMR; it is left off the Personal Medication List"
                )
    if kind == "prescriber-letter":
        for i, p in enumerate(case.problems):
            if not prescriber_letter.for_prescriber(p):
                f.warnings.append(
                    f"problems[{i}]: nothing for the prescriber to do; left out of the letter "
                    "(it belongs in the patient's action plan)"
                )
    if (
        kind in ("pa-packet", "pa-appeal")
        and case.request.drug
        and not pa_packet.controlled_schedule(case.request)[1]
    ):
        f.warnings.append(
            f"request.controlled_schedule: cannot tell whether {case.request.drug} is a controlled "
            "substance; the DEA number is left off unless its schedule is recorded"
        )
    if kind == "pa-packet" and case.insurance.plan_type is None:
        f.warnings.append(
            "insurance.plan_type: not recorded; the plan's decision timeframe (Part D: 24 h expedited, "
            "72 h standard) is not printed"
        )
