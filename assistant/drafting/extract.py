"""Offline shorthand -> partial :class:`Case` (no LLM): drug dictionary, condition -> ICD-10-CM,
and patterns for labs, doses, durations, outcomes, dates and the patient's name.

Only what the text states is captured, exactly as written (``metformin 1000 bid`` keeps ``1000 bid``;
no unit is added). Everything else stays empty and the document kinds show it as missing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from assistant.config import REPO_ROOT
from assistant.drafting import codes
from assistant.drafting.case import Case, Condition, Measurement, Medication, PriorTherapy

DRUGS_FILE = REPO_ROOT / "knowledge" / "drafting" / "drugs.yaml"

# condition shorthand -> ICD-10-CM (checked against the code set when loaded)
CONDITIONS: dict[str, str] = {
    "t2dm": "E11.9",
    "dm2": "E11.9",
    "t2d": "E11.9",
    "type 2 diabetes": "E11.9",
    "type ii diabetes": "E11.9",
    "t1dm": "E10.9",
    "type 1 diabetes": "E10.9",
    "htn": "I10",
    "hypertension": "I10",
    "hld": "E78.5",
    "hyperlipidemia": "E78.5",
    "high cholesterol": "E78.00",
    "afib": "I48.91",
    "atrial fibrillation": "I48.91",
    "chf": "I50.9",
    "heart failure": "I50.9",
    "cad": "I25.10",
    "ckd": "N18.9",
    "copd": "J44.9",
    "asthma": "J45.909",
    "hypothyroidism": "E03.9",
    "gerd": "K21.9",
    "depression": "F32.A",
    "mdd": "F32.A",
    "gad": "F41.1",
    "anxiety": "F41.9",
    "obesity": "E66.9",
    "osteoporosis": "M81.0",
    "rheumatoid arthritis": "M06.9",
    "psoriasis": "L40.0",
    "atopic dermatitis": "L20.9",
    "bph": "N40.0",
    "insomnia": "G47.00",
    "migraine": "G43.909",
    "gout": "M10.9",
    "osa": "G47.33",
}

LAB_NAMES = {
    "a1c": "A1c",
    "hba1c": "A1c",
    "ldl": "LDL cholesterol",
    "hdl": "HDL cholesterol",
    "tg": "triglycerides",
    "scr": "serum creatinine",
    "egfr": "eGFR",
    "k": "potassium",
    "inr": "INR",
    "tsh": "TSH",
    "bmi": "BMI",
}
LAB_UNITS = {"A1c": "%", "LDL cholesterol": "mg/dL", "HDL cholesterol": "mg/dL", "triglycerides": "mg/dL"}

_DATE = r"(\d{1,2}/\d{1,2}(?:/\d{2,4})?)"
_FREQ = r"(?:qd|daily|bid|tid|qid|qhs|qam|qpm|qod|weekly|once weekly|q\d+h|prn)"
_UNIT = r"(?:mg|mcg|g|units?|ml|mL|%)"


@dataclass(frozen=True)
class DrugEntry:
    generic: str
    names: tuple[str, ...]  # every name to match (generic, brands, aliases), lower case
    otc: bool


@cache
def drug_dictionary() -> tuple[DrugEntry, ...]:
    data = yaml.safe_load(Path(DRUGS_FILE).read_text(encoding="utf-8"))["drugs"]
    out = []
    for d in data:
        names = [d["generic"], *d.get("brands", []), *d.get("aliases", [])]
        out.append(DrugEntry(d["generic"], tuple(n.lower() for n in names), bool(d.get("otc"))))
    return tuple(out)


@cache
def condition_codes() -> dict[str, codes.Icd10]:
    out = {}
    for name, code in CONDITIONS.items():
        hit = codes.icd10_lookup(code)
        if hit is None:  # pragma: no cover - guarded by a test
            raise RuntimeError(f"bad ICD-10-CM code in the synonym map: {name} -> {code}")
        out[name] = hit
    return out


def resolve_date(text: str, today: dt.date) -> dt.date | None:
    """``10/2`` -> the most recent 10/02 not after today; ``10/2/26`` -> 2026-10-02."""
    parts = [int(p) for p in text.split("/")]
    try:
        if len(parts) == 2:
            d = dt.date(today.year, parts[0], parts[1])
            return d if d <= today else dt.date(today.year - 1, parts[0], parts[1])
        month, day, year = parts
        if year < 100:
            year += 2000 if 2000 + year <= today.year else 1900
        return dt.date(year, month, day)
    except ValueError:
        return None


def _outcome(text: str) -> str | None:
    t = text.lower()
    intolerance = re.search(
        r"(?i)(gi upset|nausea|vomiting|diarrh\w*|rash|hives|dizz\w*|side effects?|intoleran\w*|myalgia|cough)",
        text,
    )
    if intolerance:
        return f"intolerance ({intolerance.group(1)})"
    if "contraindicat" in t:
        return "contraindication"
    if re.search(r"\b(failed|failure|ineffective|no response|inadequate response)\b", t):
        return "failure"
    return None


def _find_drugs(clause: str) -> list[tuple[int, str, DrugEntry]]:
    """(position, name as written, entry) for every dictionary drug in the clause."""
    hits = []
    low = clause.lower()
    for entry in drug_dictionary():
        for name in sorted(entry.names, key=len, reverse=True):
            m = re.search(rf"(?<![\w/]){re.escape(name)}(?![\w/])", low)
            if m:
                hits.append((m.start(), clause[m.start() : m.end()], entry))
                break
    return sorted(hits, key=lambda h: h[0])


def _display(written: str, entry: DrugEntry) -> str:
    return written if written.lower() == entry.generic else f"{written} ({entry.generic})"


def extract_case(text: str, *, today: dt.date | None = None) -> Case:
    today = today or dt.date.today()
    case = Case()
    src = " ".join(text.split())

    # patient name: "Mrs. Johnson", "Mr Lee's" (Dr. names are prescribers)
    m = re.search(r"\b(Mrs|Mr|Ms|Miss|Mx)\.?\s+([A-Z][A-Za-z'\-]+?)(?:'s|’s)?\b", src)
    if m:
        case.patient.name = f"{m.group(1)}. {m.group(2)}"
    m = re.search(r"\b(Dr)\.?\s+([A-Z][A-Za-z'\-]+)", src)
    if m:
        case.prescriber.name = f"Dr. {m.group(2)}"
    m = re.search(rf"\bDOB[:\s]*{_DATE}", src, re.I)
    if m:
        case.patient.dob = resolve_date(m.group(1), today) if m.group(1).count("/") == 2 else None

    for attr, pattern in (
        ("bin", r"\bBIN[:#\s]*(\d{6})\b"),
        ("pcn", r"\bPCN[:#\s]*([A-Za-z0-9]+)"),
        ("group", r"\b(?:group|grp)[:#\s]*([A-Za-z0-9\-]+)"),
        ("member_id", r"\bmember\s*(?:id)?[:#\s]*([A-Za-z0-9\-]{5,})"),
    ):
        m = re.search(pattern, src, re.I)
        if m:
            setattr(case.insurance, attr, m.group(1))
    m = re.search(r"\bNPI[:#\s]*(\d{10})\b", src, re.I)
    if m:
        case.prescriber.npi = m.group(1)
    m = re.search(r"\bNDC[:#\s]*([\d\-]{10,13})", src, re.I)
    if m:
        case.request.ndc = m.group(1)
    m = re.search(r"(?:\bqty|#)\s*(\d+)\b", src, re.I)
    if m:
        case.request.quantity = m.group(1)
    m = re.search(r"\b(\d{1,3})\s*(?:ds|day supply|days supply|-day supply)\b", src, re.I)
    if m:
        case.request.days_supply = int(m.group(1))
    if re.search(r"\b(urgent|expedited|stat|asap)\b", src, re.I):
        case.request.urgency = "expedited"

    # conditions (longest synonyms first so "type 2 diabetes" wins over shorter keys)
    seen_codes: set[str] = set()
    for name in sorted(condition_codes(), key=len, reverse=True):
        m = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", src, re.I)
        if m and condition_codes()[name].code not in seen_codes:
            hit = condition_codes()[name]
            seen_codes.add(hit.code)
            case.conditions.append(Condition(name=m.group(0), icd10=hit.code))
    case.conditions.sort(key=lambda c: src.lower().find((c.name or "").lower()))

    # labs: "A1c 8.7% on 10/2", "LDL was 130 (9/14/26)"
    lab_names = "|".join(sorted(LAB_NAMES, key=len, reverse=True))
    for m in re.finditer(
        rf"(?<!\w)({lab_names})\s*(?:of|was|is|=|:)?\s*(\d+(?:\.\d+)?)\s*(mg/dl|ml/min|mmol/l|{_UNIT})?"
        rf"(?:\s*(?:on|from|dated|\()?\s*{_DATE})?",
        src,
        re.I,
    ):
        name = LAB_NAMES[m.group(1).lower()]
        unit = m.group(3) or None
        if unit and unit.lower() == "mg/dl":
            unit = "mg/dL"
        when = resolve_date(m.group(4), today) if m.group(4) else None
        case.labs.append(Measurement(name=name, value=m.group(2), unit=unit, date=when))

    # drugs, clause by clause: after "failed/tried/stopped/intolerant" they are prior therapies
    for clause in re.split(r"[,;]|\bthen\b", src):
        for pos, written, entry in _find_drugs(clause):
            rest = clause[pos + len(written) :]
            dm = re.match(
                rf"\s*(\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)?(?:\s*{_UNIT}(?!\w))?(?:\s+{_FREQ}(?!\w))?)",
                rest,
                re.I,
            )
            dose = dm.group(1).strip() if dm and dm.group(1).strip() else None
            dur = re.search(r"\bx\s*(\d+\s*(?:mo|months?|wks?|weeks?|d|days?|yrs?|years?))\b", rest, re.I)
            before = clause[:pos].lower()
            if re.search(
                r"\b(failed|tried|stopped|d/c|discontinued|intolerant (?:of|to)|previously on)\b", before
            ):
                case.request.prior_therapies.append(
                    PriorTherapy(
                        drug=_display(written, entry),
                        dose=dose,
                        duration=dur.group(0) if dur else None,
                        outcome=_outcome(clause),
                    )
                )
            else:
                display = _display(written, entry)
                if case.request.drug is None:
                    case.request.drug = display
                case.medications.append(Medication(name=display, sig=dose, otc=entry.otc))
    if case.conditions and case.request.drug:
        case.request.diagnosis_icd10 = case.conditions[0].icd10
    return case
