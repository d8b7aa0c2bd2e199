"""Drug names: recognise them in text, never rewrite them.

Two vocabularies, each used for what it is good at:

- ``knowledge/drafting/drugs.yaml`` (curated, ~90 US drugs): US generic names for brands, OTC status,
  DEA schedule, opioid flag. Only this list may *annotate* a brand with a generic name, and only when
  the words as written name exactly one product ("Synthroid" -> levothyroxine; "Humalog Mix" without
  its ratio names no single product, so it gets no annotation).
- ``drug-named-entity-recognition`` (offline, DrugBank/MeSH/Wikipedia names): recognises drugs the
  curated list lacks (so "metoprolol" or "Toprol" is a drug, not an unknown word) and links brand and
  generic for duplicate checks. Its canonical names are not US usage ("Synthroid" -> "Thyroxine"), so
  they are never printed. It is imported on first use (~1.2 s) and only when the curated list does
  not settle the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType

import yaml

from assistant.config import REPO_ROOT

DRUGS_FILE = REPO_ROOT / "knowledge" / "drafting" / "drugs.yaml"

# Words after a drug name that belong to the product as written (kept with the name).
FORMULATION = r"(?:ER|XR|XL|SR|CR|DR|LA|EC|IR|ODT|HFA|Mix|FlexPen|KwikPen|SoloStar|Pen)"
# A ratio written right after "Mix" or an insulin brand ("Humalog Mix 75/25", "Humulin 70/30").
_RATIO = r"\d{2}/\d{2}"
# Modifiers that change *which product* a brand names: the brand alone no longer says the generic.
_PRODUCT_CHANGING = re.compile(r"(?i)\bmix\b|\b\d{2}/\d{2}\b")


@dataclass(frozen=True)
class DrugEntry:
    generic: str
    names: tuple[str, ...]  # every name to match (generic, brands, aliases), lower case
    otc: bool
    schedule: str | None  # DEA schedule, e.g. "CII"
    opioid: bool


@cache
def curated() -> tuple[DrugEntry, ...]:
    data = yaml.safe_load(Path(DRUGS_FILE).read_text(encoding="utf-8"))["drugs"]
    out = []
    for d in data:
        names = [d["generic"], *d.get("brands", []), *d.get("aliases", [])]
        out.append(
            DrugEntry(
                generic=d["generic"],
                names=tuple(n.lower() for n in names),
                otc=bool(d.get("otc")),
                schedule=d.get("controlled"),
                opioid=bool(d.get("opioid")),
            )
        )
    return tuple(out)


@cache
def _curated_patterns() -> tuple[tuple[re.Pattern[str], DrugEntry, str], ...]:
    """(pattern, entry, name) for every curated name, longest first (multiword brands win)."""
    pairs = [(name, e) for e in curated() for name in e.names]
    pairs.sort(key=lambda p: len(p[0]), reverse=True)
    return tuple((re.compile(rf"(?i)(?<![\w/]){re.escape(name)}(?![\w/])"), e, name) for name, e in pairs)


@cache
def _dner() -> ModuleType:
    """The drug-named-entity-recognition finder module (imported on first use)."""
    from drug_named_entity_recognition import drugs_finder

    return drugs_finder


def dner_canonicals(name: str) -> frozenset[str]:
    """Canonical names the wider vocabulary links ``name`` to (lower case), empty when unknown."""
    return frozenset(c.lower() for c in _dner().drug_variant_to_canonical.get(name.strip().lower(), []))


@dataclass
class Mention:
    """A drug named in text: where, the words as written, and what they were recognised as."""

    start: int
    end: int
    written: str
    entry: DrugEntry | None = None  # curated match
    curated_name: str = ""  # the curated name that matched (lower case)
    canonicals: frozenset[str] = field(default_factory=frozenset)  # wider-vocabulary links

    @property
    def annotation(self) -> str | None:
        """The US generic name to show next to the words as written, only when unambiguous."""
        e = self.entry
        if e is None or self.written.lower() == e.generic:
            return None
        base = self.written.lower()
        if base.startswith(e.generic):  # "metformin ER": the generic is already written
            return None
        extra = base[len(self.curated_name) :] if base.startswith(self.curated_name) else base
        if _PRODUCT_CHANGING.search(extra):  # "Humalog Mix": a different product than "Humalog"
            return None
        return e.generic

    @property
    def display(self) -> str:
        note = self.annotation
        return f"{self.written} ({note})" if note else self.written

    def identity(self) -> frozenset[str]:
        return identity_keys(self.entry, self.canonicals)


def identity_keys(entry: DrugEntry | None, canonicals: frozenset[str]) -> frozenset[str]:
    keys = {f"dner:{c}" for c in canonicals}
    if entry is not None:
        keys.add(f"us:{entry.generic}")
    return frozenset(keys)


_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9\-]*|\d+(?:[./]\d+)*")


def _extend(text: str, end: int) -> int:
    """Grow a mention over the formulation words written right after it ("ER", "Mix 75/25")."""
    m = re.match(rf"(?:\s+{FORMULATION}(?![\w/]))+(?:\s+{_RATIO}(?![\w/]))?", text[end:])
    if m:
        return end + m.end()
    m = re.match(rf"\s+{_RATIO}(?![\w/])", text[end:])  # "Humulin 70/30" is curated; "Novolin R" is not
    return end + m.end() if m and re.search(r"(?i)insulin|lin$|log$", text[:end]) else end


def find_mentions(text: str, *, skip: set[str] | None = None) -> list[Mention]:
    """Every drug named in ``text``, in order, non-overlapping (longest match wins). ``skip`` holds
    lower-case words that are never drugs here (condition and lab shorthand)."""
    skip = skip or set()
    found: list[Mention] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    for pattern, entry, name in _curated_patterns():
        for m in pattern.finditer(text):
            if free(m.start(), m.end()):
                found.append(Mention(m.start(), m.end(), m.group(0), entry, name))
                taken.append((m.start(), m.end()))
    tokens = [t for t in _TOKEN.finditer(text) if t.group(0).lower() not in skip and len(t.group(0)) > 2]
    words = [t.group(0) for t in tokens]
    if words:
        for data, i, j in _dner().find_drugs(words, is_ignore_case=True):
            a, b = tokens[i].start(), tokens[j - 1].end()
            if free(a, b) and not text[a:b][0].isdigit():
                canon = frozenset({str(data.get("name", "")).lower()}) | dner_canonicals(text[a:b])
                found.append(Mention(a, b, text[a:b], None, "", canon))
                taken.append((a, b))
    found.sort(key=lambda x: x.start)
    for mention in found:
        end = _extend(text, mention.end)
        if end != mention.end:
            mention.end = end
            mention.written = text[mention.start : end]
        if not mention.canonicals:
            base = mention.entry.generic if mention.entry else mention.written
            mention.canonicals = dner_canonicals(base) | dner_canonicals(mention.written.split()[0])
    return found


def name_identity(name: str) -> frozenset[str]:
    """Identity keys of a drug name from a case file (its first recognised drug)."""
    text = re.sub(r"\([^)]*\)", " ", name)  # "Ozempic (semaglutide)": the words as written come first
    for pattern, entry, curated_name in _curated_patterns():
        if pattern.search(text):
            return identity_keys(entry, dner_canonicals(entry.generic) | dner_canonicals(curated_name))
    mentions = find_mentions(text)
    return mentions[0].identity() if mentions else frozenset()


def curated_entry(name: str) -> DrugEntry | None:
    """The curated drug a free-text name refers to (first match), or None."""
    for pattern, entry, _ in _curated_patterns():
        if pattern.search(name):
            return entry
    return None


def fuzzy_suggestion(word: str) -> str | None:
    """A known drug name ``word`` may be a misspelling of (for the "not understood" echo only)."""
    if len(word) < 5 or not word.isalpha():
        return None
    variant, similarity = _dner().get_fuzzy_match(word.lower())
    if variant and similarity and similarity >= 0.5 and variant != word.lower():
        return variant
    return None
