"""PHI pseudonymization before any LLM request: stable placeholders per conversation, restored after.

What counts (the HIPAA identifiers a pharmacy chat carries): patient names, dates (dates of birth and
every other date tied to a patient), member / MRN / Rx numbers, phone and fax numbers, email
addresses and street addresses. Detection runs on what people wrote (never on SOP text); replacement
runs on everything sent, so a value that also appears in a tool result is replaced there too.

Placeholders are numbered in order of first appearance in the conversation, so the same history
always yields the same mapping and nothing needs to be stored: ``[PATIENT_1]``, ``[DATE_2]`` ...
Restoring puts the original text back in the model's reply; inside tool arguments a date placeholder
becomes an ISO date (the case model's format) when the original can be read as one.

LangChain's ``PIIMiddleware`` offers one-way strategies (redact, mask, hash) and rewrites the
conversation state; a drafting assistant has to put the patient back into the draft, so this module
keeps a reversible mapping and the middleware in :mod:`assistant.agent.middleware` applies it at the
model-call boundary only (the state, kept in our own database, holds the real text).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from assistant.drafting.extract import resolve_date

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_NAME_WORD = r"[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?"
_NOT_NAMES = {
    # capitalized words that follow "for"/"patient" but are not names
    "part", "medicare", "medicaid", "dr", "doctor", "the", "a", "an", "her", "his", "their", "prior",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "today", "tomorrow",
    "pa", "cmr", "soap", "sbar", "mtm", "rx", "dea", "fax", "letter", "appeal", "draft", "type",
}  # fmt: skip

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("EMAIL", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("PHONE", re.compile(r"(?<!\d)(?:\+?1[-.\s]?)?\(?\d{3}\)?[-.\s]?\d{3}[-.\s]\d{4}(?!\d)")),
    (
        "ID",
        re.compile(
            r"\b(?:MRN|mrn|member(?:\s+id)?|Member(?:\s+ID)?|ID|id|Rx|RX|rx|subscriber(?:\s+id)?|policy)"
            r"\s*(?:#|no\.?|number|num)?\s*[:#]?\s*(?P<v>(?=[A-Za-z0-9-]*\d)[A-Za-z0-9-]{4,})\b"
        ),
    ),
    (
        "ADDRESS",
        re.compile(
            r"\b\d{1,6}\s+(?:[A-Z][a-z]+\s+){1,3}(?:St|Street|Ave|Avenue|Rd|Road|Blvd|Boulevard|Dr|Drive|Ln|"
            r"Lane|Way|Ct|Court|Pl|Place|Ter|Terrace|Pkwy|Parkway|Hwy|Highway|Cir|Circle)\b"
            r"(?:,?\s+(?:Apt|Unit|Suite|#)\s*\w+)?"
        ),
    ),
    ("DATE", re.compile(r"\b\d{4}-\d{2}-\d{2}\b")),
    (
        "DATE",
        re.compile(
            r"(?<![\d/.])(?P<m>\d{1,2})/(?P<d>\d{1,2})(?:/(?P<y>\d{2}|\d{4}))?(?![\d/])"
            r"(?!\s*(?:tabs?|tablets?|caps?|tsp|ml|mg|strength|dose))"
        ),
    ),
    (
        "DATE",
        re.compile(rf"\b(?:{_MONTH_RE})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b", re.I),
    ),
    ("DATE", re.compile(rf"\b\d{{1,2}}\s+(?:{_MONTH_RE})\.?(?:,?\s+\d{{4}})?\b", re.I)),
    ("DATE", re.compile(r"\b(?:DOB|dob|born(?: in)?)\s*:?\s*(?P<v>(?:19|20)\d{2})\b")),
    ("PATIENT", re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx)\.?\s+(?P<v>{_NAME_WORD}(?:\s+{_NAME_WORD})?)")),
    (
        "PATIENT",
        re.compile(
            rf"\b(?:patient|pt|for|re:?|regarding|named|name:?|about)\s+(?P<v>{_NAME_WORD}\s+{_NAME_WORD})"
        ),
    ),
    ("PATIENT", re.compile(rf"(?P<v>\b{_NAME_WORD}\s+{_NAME_WORD})(?='s\b)")),
]
_PLACEHOLDER = re.compile(r"\[(PATIENT|DATE|PHONE|EMAIL|ID|ADDRESS)_(\d+)\]")


@dataclass(frozen=True)
class Span:
    kind: str
    value: str


def _valid_date(kind: str, m: re.Match[str]) -> bool:
    if kind != "DATE" or "m" not in m.groupdict() or m.group("m") is None:
        return True
    month, day = int(m.group("m")), int(m.group("d"))
    return 1 <= month <= 12 and 1 <= day <= 31


def _strip_possessive(value: str) -> str:
    return re.sub(r"['’]s$", "", value.strip())


def detect(text: str) -> list[Span]:
    """PHI spans in ``text`` in order of appearance (overlaps resolved: the earliest, longest wins)."""
    found: list[tuple[int, int, Span]] = []
    for kind, pattern in PATTERNS:
        for m in pattern.finditer(text):
            if not _valid_date(kind, m):
                continue
            group = "v" if "v" in m.groupdict() and m.group("v") else 0
            value = _strip_possessive(m.group(group))
            start = m.start(group)
            if kind == "PATIENT":
                words = value.split()
                while words and words[-1].lower() in _NOT_NAMES:
                    words.pop()
                if not words or words[0].lower() in _NOT_NAMES:
                    continue
                value = " ".join(words)
            found.append((start, start + len(value), Span(kind, value)))
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    out: list[Span] = []
    end = -1
    for start, stop, span in found:
        if start >= end:
            out.append(span)
            end = stop
    return out


def iso_date(value: str, today: dt.date) -> str | None:
    """The ISO form of a date as people write it, when it can be read (year-less: this year)."""
    v = value.strip()
    try:
        return dt.date.fromisoformat(v).isoformat()
    except ValueError:
        pass
    if re.fullmatch(r"\d{1,2}/\d{1,2}(?:/(?:\d{2}|\d{4}))?", v):
        # the drafting engine's reading, so a date means the same in a draft and in the guards:
        # a year-less date is the most recent one not after today; "52" is 1952
        found = resolve_date(v, today)
        return found.isoformat() if found else None
    m = re.fullmatch(rf"({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?", v, re.I)
    if m:
        try:
            year = int(m.group(3)) if m.group(3) else today.year
            return dt.date(year, _MONTHS[m.group(1).lower()], int(m.group(2))).isoformat()
        except ValueError:
            return None
    return None


@dataclass
class Pseudonymizer:
    """One conversation's mapping. Call :meth:`learn` on every human message, oldest first."""

    today: dt.date = field(default_factory=dt.date.today)
    forward: dict[str, str] = field(default_factory=dict)  # value -> placeholder
    back: dict[str, str] = field(default_factory=dict)  # placeholder -> value
    _counts: dict[str, int] = field(default_factory=dict)
    _pattern: tuple[int, re.Pattern[str] | None] = (0, None)  # compiled for len(forward) keys

    def learn(self, text: str) -> None:
        for span in detect(text):
            self._add(span.kind, span.value)

    def learn_names(self, names: Iterable[str]) -> None:
        for name in names:
            if name and name.strip():
                self._add("PATIENT", name.strip())

    def _add(self, kind: str, value: str) -> None:
        key = value.casefold()
        if key in self.forward:
            return
        n = self._counts.get(kind, 0) + 1
        self._counts[kind] = n
        placeholder = f"[{kind}_{n}]"
        self.forward[key] = placeholder
        self.back[placeholder] = value
        if kind == "DATE":  # restored into tool arguments as ISO: hide that form too
            iso = iso_date(value, self.today)
            if iso and iso not in self.forward:
                self.forward[iso] = placeholder
        if kind == "PATIENT":  # "Margaret Johnson" also hides a later bare "Johnson"
            for part in value.split():
                if len(part) >= 3 and part.casefold() not in self.forward:
                    self.forward[part.casefold()] = placeholder

    @property
    def active(self) -> bool:
        return bool(self.forward)

    def mask(self, text: str) -> str:
        if not self.forward or not text:
            return text
        keys = sorted(self.forward, key=len, reverse=True)
        pattern = re.compile("|".join(rf"(?<![\w/]){re.escape(k)}(?![\w/])" for k in keys), re.IGNORECASE)
        return pattern.sub(lambda m: self.forward[m.group(0).casefold()], text)

    def unmask(self, text: str, *, as_argument: bool = False) -> str:
        if not text or "[" not in text:
            return text

        def put_back(m: re.Match[str]) -> str:
            value = self.back.get(m.group(0))
            if value is None:
                return m.group(0)
            if as_argument and m.group(1) == "DATE":
                return iso_date(value, self.today) or value
            return value

        return _PLACEHOLDER.sub(put_back, text)

    def mask_value(self, value: Any) -> Any:
        return _walk(value, self.mask)

    def unmask_value(self, value: Any, *, as_argument: bool = True) -> Any:
        return _walk(value, lambda s: self.unmask(s, as_argument=as_argument))


def _walk(value: Any, fn: Any) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_walk(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _walk(v, fn) for k, v in value.items()}
    return value
