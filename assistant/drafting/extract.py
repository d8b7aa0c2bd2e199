"""Offline shorthand -> partial :class:`Case` (no LLM).

What the text states is captured in the person's own words: "Humalog Mix 75/25 20 units bid" stays
that product and that dose; a US generic name is added in brackets only when the words name exactly
one product (see :mod:`assistant.drafting.vocabulary`); no unit is ever added. Everything the reader
could not place is echoed back ("not understood: ozempik 0.5 weekly"), and guesses it had to make
(a year for "10/2") or refused to make (an ICD-10 code that says more than was said) become
``intake_warnings`` that every draft shows. A drug named in a PA request is the requested drug, not a
current medication, unless the text also says the patient takes it.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache

from assistant.drafting import codes
from assistant.drafting.case import Case, Condition, Measurement, Medication, PriorTherapy
from assistant.drafting.vocabulary import DrugEntry, find_mentions, fuzzy_suggestion

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
    "psoriasis": "L40.9",
    "atopic dermatitis": "L20.9",
    "bph": "N40.0",
    "insomnia": "G47.00",
    "migraine": "G43.909",
    "gout": "M10.9",
    "osa": "G47.33",
}

# A code whose title states more than the shorthand did ("without complications", "uncomplicated")
# is not chosen for the pharmacist: it is named in a warning and the condition keeps no code.
ASSERTS_MORE = re.compile(r"(?i)\bwithout\b|\buncomplicated\b|\bnot intractable\b")

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

_DATE = r"(\d{1,2}/\d{1,2}(?:/\d{2,4})?)"
_FREQ = (
    r"(?:qd|daily|once daily|twice daily|bid|tid|qid|qhs|hs|qam|qpm|qod|weekly|once weekly|qweek|"
    r"q\d+h|prn|at bedtime|every morning|every evening|with meals)"
)
_UNIT = r"(?:mg|mcg|g|units?|ml|mL|%)"
_STRENGTH_UNIT = r"(?:mg/mL|units/mL|mcg|mg|g|mL|ml|%)"
_DOSE_UNIT = r"(?:units?|u|tabs?|tablets?|caps?|capsules?|puffs?|drops?|sprays?|mL|ml)"
_PRIOR = re.compile(
    r"(?i)\b(failed|tried|stopped|d/c|discontinued|intolerant (?:of|to)|previously on|was on)\b"
)
_CURRENT = re.compile(r"(?i)\b(still on|still taking|currently on|currently taking|continues|continuing)\b")
_REQUEST = re.compile(
    r"(?i)\b(?:PA|prior auth(?:orization)?|appeal|coverage|exception|requesting|request)\b"
    r"(?:\s+(?:request|for|of|on))*"
)
_STOP = {
    "pa", "for", "on", "of", "the", "a", "an", "and", "with", "to", "at", "in", "is", "was", "has",
    "had", "pt", "patient", "last", "recent", "latest", "failed", "tried", "stopped", "d/c", "dc",
    "discontinued", "intolerant", "previously", "currently", "still", "taking", "takes", "also",
    "plus", "needs", "need", "request", "requesting", "due", "because", "re", "per", "then", "but",
    "now", "urgent", "expedited", "asap", "stat", "prior", "auth", "authorization", "appeal",
    "denied", "denial", "by", "from", "dated", "continues", "continuing", "coverage", "exception",
    "s", "w/", "her", "his", "their", "draft", "sbar", "letter", "note", "cmr", "mtm", "fax",
}  # fmt: skip


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


_INTOLERANCE = re.compile(
    r"(?i)\b(gi upset|nausea|vomiting|diarrh\w*|rash|hives|dizz\w*|side effects?|intoleran\w*|myalgia|cough)\b"
)
_FAILURE = re.compile(r"(?i)\b(failed|failure|ineffective|no response|inadequate response)\b")


def _outcome(text: str) -> tuple[str | None, list[tuple[int, int]]]:
    """The outcome of a prior therapy as stated, and the spans of the words it came from."""
    m = _INTOLERANCE.search(text)
    if m:
        return f"intolerance ({m.group(1)})", [m.span()]
    m = re.search(r"(?i)contraindicat\w*", text)
    if m:
        return "contraindication", [m.span()]
    m = _FAILURE.search(text)
    if m:
        return "failure", [m.span()]
    return None, []


class _Reader:
    """Keeps the text and which parts of it were understood."""

    def __init__(self, text: str, today: dt.date) -> None:
        self.src = " ".join(text.split())
        self.today = today
        self.used: list[tuple[int, int]] = []
        self.notes: list[str] = []

    def use(self, a: int, b: int) -> None:
        if b > a:
            self.used.append((a, b))

    def date(self, text: str, span: tuple[int, int], what: str) -> dt.date | None:
        when = resolve_date(text, self.today)
        if when and text.count("/") == 1:
            self.notes.append(
                f"'{what} {text}' has no year; read as {when.strftime('%m/%d/%Y')}: confirm the year"
            )
        if when is None:
            self.notes.append(f"'{text}' is not a valid date; left out")
        self.use(*span)
        return when

    def clauses(self) -> list[tuple[int, int]]:
        out, start = [], 0
        for m in re.finditer(r"[,;]|\bthen\b", self.src):
            out.append((start, m.start()))
            start = m.end()
        out.append((start, len(self.src)))
        return out

    def leftovers(self) -> list[str]:
        """Every stretch of words nobody understood, one per clause, as written."""
        found: list[str] = []
        for a, b in self.clauses():
            words = [
                m
                for m in re.finditer(r"[A-Za-z0-9][\w./%'’\-]*", self.src[a:b])
                if not any(s <= a + m.start() and a + m.end() <= e for s, e in self.used)
            ]
            if not any(m.group(0).lower().rstrip(".'’s") not in _STOP for m in words):
                continue
            words = [m for m in words if m.group(0).lower().rstrip(".") not in _STOP] or words
            fragment = self.src[a + words[0].start() : a + words[-1].end()]
            hint = next((s for w in words if (s := fuzzy_suggestion(w.group(0)))), None)
            found.append(f"not understood: {fragment}" + (f" (possibly {hint}?)" if hint else ""))
        return found


def _people_and_ids(r: _Reader, case: Case) -> None:
    src = r.src
    m = re.search(r"\b(Mrs|Mr|Ms|Miss|Mx)\.?\s+([A-Z][A-Za-z'\-]+?)(?:'s|’s)?\b", src)
    if m:
        case.patient.name = f"{m.group(1)}. {m.group(2)}"
        r.use(*m.span())
    m = re.search(r"\b(Dr)\.?\s+([A-Z][A-Za-z'\-]+)", src)
    if m:
        case.prescriber.name = f"Dr. {m.group(2)}"
        r.use(*m.span())
    m = re.search(rf"\bDOB[:\s]*{_DATE}", src, re.I)
    if m:
        r.use(*m.span())
        if m.group(1).count("/") == 2:
            case.patient.dob = resolve_date(m.group(1), r.today)
        else:
            r.notes.append(f"'DOB {m.group(1)}' has no year; date of birth left out")
    for attr, pattern in (
        ("bin", r"\bBIN[:#\s]*(\d{6})\b"),
        ("pcn", r"\bPCN[:#\s]*([A-Za-z0-9]+)"),
        ("group", r"\b(?:group|grp)[:#\s]*([A-Za-z0-9\-]+)"),
        ("member_id", r"\bmember\s*(?:id)?[:#\s]*([A-Za-z0-9\-]{5,})"),
    ):
        m = re.search(pattern, src, re.I)
        if m:
            setattr(case.insurance, attr, m.group(1))
            r.use(*m.span())
    m = re.search(r"\bNPI[:#\s]*(\d{10})\b", src, re.I)
    if m:
        case.prescriber.npi = m.group(1)
        r.use(*m.span())
    m = re.search(r"\bNDC[:#\s]*([\d\-]{10,13})", src, re.I)
    if m:
        case.request.ndc = m.group(1)
        r.use(*m.span())
    m = re.search(r"(?:\bqty|#)\s*(\d+)\b", src, re.I)
    if m:
        case.request.quantity = m.group(1)
        r.use(*m.span())
    m = re.search(r"\b(\d{1,3})\s*(?:ds|day supply|days supply|-day supply)\b", src, re.I)
    if m:
        case.request.days_supply = int(m.group(1))
        r.use(*m.span())
    m = re.search(r"\b(urgent|expedited|stat|asap)\b", src, re.I)
    if m:
        case.request.urgency = "expedited"
        r.use(*m.span())
    m = re.search(r"\b(CMR|TMR)\b", src)
    if m:
        case.encounter.type = m.group(1)  # type: ignore[assignment]
        r.use(*m.span())
    # how the encounter happened: "by phone", "via video", "in person", "f2f" (a bare "phone" may be a
    # phone number's label, so it needs its "by")
    m = re.search(
        r"\b(?:by|via|over the)\s+(telephone|phone|video|telehealth)\b"
        r"|\b(in[- ]person|face[- ]to[- ]face|f2f|telephonic)\b",
        src,
        re.I,
    )
    if m:
        case.encounter.modality = m.group(1) or m.group(2)  # type: ignore[assignment]  # normalised below
        r.use(*m.span())


def _conditions(r: _Reader, case: Case) -> None:
    """Conditions in the order written; a code only when its title says no more than the text."""
    seen: set[str] = set()
    hits: list[tuple[int, str, codes.Icd10]] = []
    for name in sorted(condition_codes(), key=len, reverse=True):
        m = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", r.src, re.I)
        if not m or any(s <= m.start() < e for s, e in r.used):
            continue
        r.use(*m.span())
        hit = condition_codes()[name]
        if hit.code not in seen:
            seen.add(hit.code)
            hits.append((m.start(), m.group(0), hit))
    for _, written, hit in sorted(hits, key=lambda h: h[0]):
        if ASSERTS_MORE.search(hit.description):
            case.conditions.append(Condition(name=written))
            r.notes.append(
                f"'{written}': no ICD-10-CM code chosen; {hit.code} would add "
                f"'{hit.description}', which was not said: pick the code from the chart"
            )
        else:
            case.conditions.append(Condition(name=written, icd10=hit.code))


def _labs(r: _Reader, case: Case) -> None:
    lab_names = "|".join(sorted(LAB_NAMES, key=len, reverse=True))
    for m in re.finditer(
        rf"(?<!\w)({lab_names})\s*(?:of|was|is|=|:)?\s*(\d+(?:\.\d+)?)\s*(mg/dl|ml/min|mmol/l|{_UNIT})?"
        rf"(?:\s*(?:on|from|dated|\()?\s*{_DATE}\)?)?",
        r.src,
        re.I,
    ):
        name = LAB_NAMES[m.group(1).lower()]
        unit = m.group(3) or None
        if unit and unit.lower() == "mg/dl":
            unit = "mg/dL"
        when = r.date(m.group(4), m.span(4), m.group(1)) if m.group(4) else None
        case.labs.append(Measurement(name=name, value=m.group(2), unit=unit, date=when))
        r.use(*m.span())


def _dose(rest: str) -> tuple[str | None, str | None, int]:
    """(strength, directions, characters used) written right after a drug name, as written.

    A number (with a strength unit or none) is the strength; a number of units/tablets/puffs and the
    frequency are the directions. Nothing is added: "metformin ER 500" keeps "500" without "mg".
    """
    pos, strength, sig = 0, None, None
    m = re.match(
        rf"\s*(\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)?)(?![\d./])(\s*{_STRENGTH_UNIT}(?![\w/]))?", rest, re.I
    )
    if m and (m.group(2) or not re.match(rf"\s*{_DOSE_UNIT}\b", rest[m.end() :], re.I)):
        strength = (m.group(1) + (m.group(2) or "")).strip()
        pos = m.end()
    m = re.match(
        rf"\s*((?:\d+(?:\.\d+)?\s*{_DOSE_UNIT}(?![\w/])\s*)?(?:{_FREQ}(?![\w/])(?:\s+{_FREQ}(?![\w/]))*)?)",
        rest[pos:],
        re.I,
    )
    if m and m.group(1).strip():
        sig = m.group(1).strip()
        pos += m.end()
    return strength, sig, pos


def _drugs(r: _Reader, case: Case) -> None:
    skip = set(CONDITIONS) | set(LAB_NAMES) | _STOP
    mentions = [m for m in find_mentions(r.src, skip=skip) if not any(s <= m.start < e for s, e in r.used)]
    clauses = r.clauses()
    for mention in mentions:
        a, b = next((c for c in clauses if c[0] <= mention.start < c[1]), (0, len(r.src)))
        before = r.src[a : mention.start]
        rest = r.src[mention.end : b]
        strength, sig, used = _dose(rest)
        dose_text = rest[:used].strip() or None
        r.use(mention.start, mention.end + used)
        entry: DrugEntry | None = mention.entry
        if (m := _PRIOR.search(before)) and not _CURRENT.search(before):
            r.use(a + m.start(), a + m.end())
            dur = re.search(r"\bx\s*(\d+\s*(?:mo|months?|wks?|weeks?|d|days?|yrs?|years?))\b", rest, re.I)
            if dur:
                r.use(mention.end + dur.start(), mention.end + dur.end())
            outcome, spans = _outcome(r.src[a:b])
            for s, e in spans:
                r.use(a + s, a + e)
            case.request.prior_therapies.append(
                PriorTherapy(
                    drug=mention.display,
                    dose=dose_text,
                    duration=dur.group(0) if dur else None,
                    outcome=outcome,
                )
            )
            continue
        if (m := _CURRENT.search(before)) is not None:
            r.use(a + m.start(), a + m.end())
        elif (m := _REQUEST.search(before)) is not None and case.request.drug is None:
            r.use(a + m.start(), a + m.end())
            case.request.drug = mention.display
            case.request.strength = strength
            case.request.sig = sig
            continue
        case.medications.append(
            Medication(name=mention.display, strength=strength, sig=sig, otc=bool(entry and entry.otc))
        )


def extract_case(text: str, *, today: dt.date | None = None) -> Case:
    """Read pharmacist shorthand into a partial case; see the module docstring for the rules."""
    r = _Reader(text, today or dt.date.today())
    case = Case()
    _people_and_ids(r, case)
    _conditions(r, case)
    _labs(r, case)
    _drugs(r, case)
    if case.request.drug and len(case.conditions) == 1 and case.conditions[0].icd10:
        case.request.diagnosis_icd10 = case.conditions[0].icd10  # the only condition named
    case.intake_warnings = list(dict.fromkeys(r.notes + r.leftovers()))
    return Case.model_validate(case.model_dump())  # normalises what was assigned (e.g. "phone")
