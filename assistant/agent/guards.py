"""Guards on what a model writes: answers must be grounded, drafts must hold only what people said.

**Grounding** (SOP answers): the answer may cite only sections the search tool returned in this
turn, must cite at least one, may name only SOP ids it was shown, and every number, duration,
temperature, form number, phone number and drug name in it must appear in the cited sections.
Anything else and the caller falls back to the extractive answer from the same sections.

**Never invent** (cases the model filled in): every value must be traceable to what people said in
the conversation or to the stored case, after normalizing dates, numbers, case and brand/generic
drug names. An untraceable value is dropped (its field then shows as missing in the draft) and named
back to the person: "I could not find X in what you told me".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import snowballstemmer
import yaml

from assistant.agent.pseudonymize import detect, iso_date
from assistant.config import REPO_ROOT
from assistant.drafting.case import Case

DRUGS_FILE = REPO_ROOT / "knowledge" / "drafting" / "drugs.yaml"
_CITE = re.compile(r"\[(\d{1,2})\]")
_SOP_ID = re.compile(r"\b((?:[A-Z]{2,8}-){1,3}\d{2,4}[A-Z]?)\b")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")
_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
_STEMMER = snowballstemmer.stemmer("english")
STOP = set(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "she",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
        "you",
        "your",
        "we",
        "us",
        "pt",
        "patient",
        "patients",
    ]
)


@cache
def drug_synonyms() -> dict[str, str]:
    """Every drug name we know (generic, brand, alias), lower case -> its generic."""
    data = yaml.safe_load(DRUGS_FILE.read_text(encoding="utf-8"))["drugs"]
    out: dict[str, str] = {}
    for d in data:
        generic = d["generic"].lower()
        for name in [d["generic"], *d.get("brands", []), *d.get("aliases", [])]:
            out[name.lower()] = generic
    return out


@cache
def _drug_pattern() -> re.Pattern[str]:
    names = sorted(drug_synonyms(), key=len, reverse=True)
    return re.compile("|".join(rf"(?<![\w/]){re.escape(n)}(?![\w/])" for n in names))


def drugs_in(text: str) -> set[str]:
    """Generic names of the drugs named in ``text`` (one scan of one compiled pattern)."""
    return {drug_synonyms()[m.group(0)] for m in _drug_pattern().finditer(text.lower())}


def _numbers(text: str) -> set[str]:
    out = set()
    for n in _NUMBER.findall(text):
        n = n.replace(",", "")
        try:
            out.add(repr(float(n)))
        except ValueError:
            out.add(n)
    return out


_DOSE = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s*(?:mg|mcg|g|units?|u|ml|%)(?![a-z])", re.I)


def _dose(text: str) -> str:
    return re.sub(r"\s+", "", text.lower()).replace("units", "unit")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


# ---- grounding -------------------------------------------------------------------------------------


@dataclass
class Grounding:
    ok: bool
    reason: str | None = None
    cited: list[int] = field(default_factory=list)


def check_grounding(text: str, sections: dict[int, str], shown_sop_ids: Iterable[str]) -> Grounding:
    """``sections``: citation number -> the section's full text as the search tool returned it."""
    cited = sorted({int(n) for n in _CITE.findall(text)})
    if not cited:
        return Grounding(False, "no_citation")
    unknown = [n for n in cited if n not in sections]
    if unknown:
        return Grounding(False, "unknown_citation", cited)
    shown = set(shown_sop_ids)
    if any(sop not in shown for sop in _SOP_ID.findall(text)):
        return Grounding(False, "unknown_sop", cited)
    source = "\n".join(sections[n] for n in cited)
    body = _CITE.sub(" ", text)
    for sop in _SOP_ID.findall(body):  # ids are checked above; their digits are not facts
        body = body.replace(sop, " ")
    if not _numbers(body) <= _numbers(source):
        return Grounding(False, "number_not_in_source", cited)
    for phone in re.findall(r"\(?\d{3}\)?[-.\s]\d{3}[-.\s]\d{4}", body):
        if _digits(phone) not in _digits(source):
            return Grounding(False, "phone_not_in_source", cited)
    if not drugs_in(body) <= drugs_in(source):
        return Grounding(False, "drug_not_in_source", cited)
    return Grounding(True, None, cited)


def grounded_prefix(text: str, source: str) -> bool:
    """For streaming: do the facts of this finished sentence appear in the retrieved text?"""
    body = _SOP_ID.sub(" ", _CITE.sub(" ", text))
    return _numbers(body) <= _numbers(source) and drugs_in(body) <= drugs_in(source)


# ---- never invent ----------------------------------------------------------------------------------

_FREE_TEXT = {"rationale", "alternatives_unsuitable", "risk_if_denied", "notes", "reason", "assessment",
              "recommendation", "situation", "background", "plan", "goal", "outcome", "detail", "text"}  # fmt: skip
_KEYWORDS: dict[tuple[str, Any], tuple[str, ...]] = {
    ("new_start", True): ("new start", "new to", "starting", "naive", "first time", "new rx"),
    ("new_start", False): ("continu", "renewal", "already on", "refill", "been on"),
    ("urgency", "expedited"): ("expedit", "urgent", "asap", "stat", "rush"),
    ("urgency", "standard"): ("standard", "routine", "not urgent"),
    ("ongoing", True): ("still on", "still taking", "ongoing", "continues", "currently on", "still takes"),
    ("otc", True): ("otc", "over the counter"),
    ("no_known_allergies", True): ("nkda", "no known allergies", "no allergies", "nka"),
    ("new_patient", True): ("new patient", "first visit", "first time"),
    ("new_patient", False): ("established", "returning", "follow-up", "follow up"),
}


def _stem(word: str) -> str:
    return _STEMMER.stemWord(word)


def _said(word: str, src: Sources) -> bool:
    """The word, a form of it ("failed" for "failure") or the same drug was said."""
    if word in src.words or drug_synonyms().get(word, "\0") in src.drugs:
        return True
    stem = _stem(word)
    if len(stem) < 4:
        return False
    return any(s.startswith(stem) or (len(s) >= 4 and stem.startswith(s)) for s in src.stems)


SIG_WORDS = {
    "qd": "daily once daily",
    "daily": "qd once daily",
    "bid": "twice daily two times a day",
    "tid": "three times daily",
    "qid": "four times daily",
    "qhs": "at bedtime nightly",
    "qam": "every morning",
    "prn": "as needed",
    "po": "by mouth orally",
    "weekly": "once weekly every week",
    "sq": "subcutaneous subcutaneously",
    "subq": "subcutaneous subcutaneously",
}


@cache
def synonym_groups() -> list[set[str]]:
    """Words that say the same thing in a case: condition shorthand (T2DM = type 2 diabetes), lab
    names (A1c = HbA1c), sig abbreviations (bid = twice daily)."""
    from assistant.drafting.extract import CONDITIONS, LAB_NAMES

    groups: dict[str, set[str]] = {}
    for alias, code in CONDITIONS.items():  # the code itself is not a synonym: E11.9 says more
        groups.setdefault(code, set()).add(alias)
    for alias, name in LAB_NAMES.items():
        groups.setdefault(name, {name.lower()}).add(alias)
    for abbr, words in SIG_WORDS.items():
        groups.setdefault(f"sig:{abbr}", {abbr}).add(words)
    return list(groups.values())


def expand(text_low: str) -> str:
    """``text_low`` plus the synonyms of every shorthand in it."""
    extra = [
        " ".join(group)
        for group in synonym_groups()
        if any(re.search(rf"(?<![\w]){re.escape(alias)}(?![\w])", text_low) for alias in group)
    ]
    return text_low + ("\n" + "\n".join(extra) if extra else "")


@dataclass
class Sources:
    """What people said (human messages of the conversation) and what the stored case holds."""

    texts: list[str]
    today: dt.date
    stored: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        joined = "\n".join(self.texts)
        self.low = expand(" ".join(joined.lower().split()))
        self.stored_leaves = dict(flatten(self.stored))
        self.words = set(_WORD.findall(self.low))
        self.stems = {_stem(w) for w in self.words if not w.isdigit()}
        spans = detect(joined)
        undated = joined
        for span in spans:
            if span.kind == "DATE":
                undated = undated.replace(span.value, " ")
        self.numbers = _numbers(undated)  # "10/2" is a date, not the number 10
        self.doses = {_dose(m.group(0)) for m in _DOSE.finditer(joined)}
        self.digits = {_digits(tok) for tok in re.findall(r"[\w-]+", joined) if _digits(tok)}
        self.drugs = drugs_in(joined)
        self.dates: set[str] = set()
        for span in spans:
            if span.kind == "DATE":
                iso = iso_date(span.value, self.today)
                if iso:
                    self.dates.add(iso)
        self.dates |= set(re.findall(r"\b\d{4}-\d{2}-\d{2}\b", joined))


def flatten(value: Any, path: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from flatten(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from flatten(v, f"{path}[{i}]")
    else:
        yield path, value


def _leaf(path: str) -> str:
    return re.sub(r"\[\d+\]", "", path.rsplit(".", 1)[-1])


def traceable(path: str, value: Any, src: Sources) -> bool:
    if value is None or value == "" or value == []:
        return True
    if path in src.stored_leaves and src.stored_leaves[path] == value:
        return True  # unchanged from the stored case
    leaf = _leaf(path)
    if isinstance(value, bool) or (leaf, value) in _KEYWORDS:
        return any(k in src.low for k in _KEYWORDS.get((leaf, value), ()))
    if isinstance(value, int | float):
        return repr(float(value)) in src.numbers
    text = str(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return text in src.dates
    norm = " ".join(text.lower().split())
    if norm and norm in src.low:
        return True
    doses = {_dose(m.group(0)) for m in _DOSE.finditer(text)}
    if not doses <= src.doses:
        return False  # "10 mg" needs "10 mg" (or "10mg") said, not just a 10 somewhere
    if not _numbers(text) <= src.numbers:
        return False
    if not drugs_in(text) <= src.drugs:
        return False
    words = [w for w in _WORD.findall(norm) if w not in STOP and not w.replace(".", "").isdigit()]
    if re.fullmatch(r"[A-Za-z0-9.\-]+", text) and any(ch.isdigit() for ch in text):
        return _digits(text) in src.digits or text.lower() in src.words  # codes and identifiers
    if not words:
        return True  # numbers only, all of which were said
    present = sum(1 for w in words if _said(w, src))
    needed = 0.6 if leaf in _FREE_TEXT or len(words) > 6 else 1.0
    return present / len(words) >= needed


def _describe(path: str, value: Any) -> str:
    label = re.sub(r"\[\d+\]", "", path).replace("_", " ").replace(".", " ")
    return f"{label} '{value}'"


def _remove(data: Any, path: list[str | int]) -> None:
    node = data
    for part in path[:-1]:
        node = node[part]
    last = path[-1]
    if isinstance(node, list):
        node[last] = None  # type: ignore[index]
    else:
        node.pop(last, None)


_IDENTITY = {"name", "drug", "code", "icd10", "description"}  # an item without these is noise


def _path_parts(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for piece in path.split("."):
        m = re.fullmatch(r"([^\[]+)((?:\[\d+\])*)", piece)
        if not m:
            continue
        parts.append(m.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return parts


def keep_traceable(case: Case, src: Sources) -> tuple[Case, list[str]]:
    """Drop every value of ``case`` that nobody said; returns the cleaned case and what was dropped."""
    data = case.model_dump(mode="json", exclude_defaults=True)
    dropped: list[str] = []
    for path, value in list(flatten(data)):
        if path == "prepared_date" or traceable(path, value, src):
            continue
        dropped.append(_describe(path, value))
        _remove(data, _path_parts(path))
    _compact(data)
    return Case.model_validate(data), dropped


def _compact(data: Any) -> Any:
    """Remove list items emptied by dropping (None) or left without an identifying field."""
    if isinstance(data, dict):
        for k in list(data):
            data[k] = _compact(data[k])
            if data[k] in (None, {}, []):
                data.pop(k)
        return data
    if isinstance(data, list):
        items = [_compact(x) for x in data if x is not None]
        return [
            x
            for x in items
            if x not in (None, {}, []) and (not isinstance(x, dict) or set(x) & _IDENTITY or len(x) > 1)
        ]
    return data
