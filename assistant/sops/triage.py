"""Spot clinical-judgment questions, which a technician must take to a pharmacist (no LLM needed).

A question is clinical when it asks for a judgment about a patient's therapy: a dose, an
interaction, whether something is safe or OK for this person (pregnancy, breastfeeding, a child, the
kidneys), what to do about a missed or extra dose, a side effect, or what to recommend. Drug names
alone do not make a question clinical: technicians ask procedural questions about drugs all day
("oxycodone count is short", "pt wants his xanax filled early", "ups left the humira cooler on the
porch"), and those belong to the SOPs.

So the rule has two layers:
1. *Strong* patterns are clinical on their own ("what's the dose", "interaction", "contraindicated",
   "double up", "missed two doses").
2. *Drug-conditioned* patterns ("is it ok", "can she take", "with her", "2 yr old", "kidney",
   "pregnant") count only when the question names a drug or substance. Drugs are recognised with the
   offline ``drug-named-entity-recognition`` dictionary (brand and generic names; Tylenol ->
   acetaminophen) plus the herbals, combination brands and slang listed under ``triage_substances``
   in knowledge/vocabulary/technician_terms.yaml. Recognition only: nothing is rewritten.
A procedural guard (storage, counts, orders, dispensing, shipping...) keeps drug-conditioned
patterns from stealing SOP questions; strong patterns override it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import BaseModel, Field

from assistant.sops.text import load_vocabulary

_STRONG = [
    r"\bwhat(?:'s| is)? (?:the |her |his |their |a )?(?:right |correct |max(?:imum)? |usual |normal |starting )?dos(?:e|age|ing)\b",
    r"\b(?:max(?:imum)?|highest|safe) (?:daily )?dose\b",
    r"\brenal (?:dos(?:e|ing)|adjust)",
    r"\binteract(?:s|ion|ions)?\b",
    r"\bcontraindicat",
    r"\bdouble up\b",
    r"\bmissed (?:a|one|two|three|\d+|her|his|their|some)\b.*\b(?:dose|doses|pill|pills|tablet|tablets)\b",
    r"\b(?:is it|is this|is that) safe (?:to|for|during|while|with)\b",
    r"\bsafe (?:to take|to give|during pregnancy|while (?:pregnant|breastfeeding|nursing))",
    r"\b(?:better|best|alternative) (?:drug|medication|med|option|choice) (?:for|than|instead)\b",
    r"\brecommend (?:a|an|which|what|something|anything)\b",
    r"\bwhat (?:otc|over the counter|medicine|medication|drug|product) (?:should|can|would|do)\b",
    r"\btherapeutic (?:substitut|alternative|equivalen)",
]
_DRUG_CONDITIONED = [
    # is it ok / safe / a problem / fine
    r"\b(?:is|are) (?:it|this|that|they|these|those)? ?(?:still )?(?:ok|okay|safe|fine|alright|a problem|bad|dangerous)\b",
    r"\b(?:ok|okay|safe|fine) (?:to|for|with|together|while|during)\b",
    r"\b(?:ok|okay|safe)\s*\?",
    r"\btogether\b",
    r"\bis that a problem\b",
    # can / should she take ...
    r"\bcan (?:[\w'/]+ ){0,4}(?:take|give|use|have|drink|mix|combine|crush|split|chew|double|stop|get|"
    r"start|switch|skip)\b",
    r"\bshould (?:she|he|they|the pt|pt|the patient|a patient|i|we|you) (?:take|stop|switch|start|double|skip|keep|hold|get)\b",
    r"\b(?:stop|hold) (?:her|his|their|taking)\b",
    r"\bwhat should (?:she|he|they|the pt|pt|the patient) do\b",
    # populations and organs
    r"\b(?:\d+|one|two|three|four|five|six) ?(?:yr|year|yo|y/o|month|mo|week|wk)s?[ -]?old\b",
    r"\b(?:kid|kids|child|children|toddler|infant|baby|newborn|pediatric|paediatric)\b",
    r"\b(?:pregnan\w*|breastfeed\w*|breast-feed\w*|nursing mom|nursing mother)\b",
    r"\b(?:kidney|renal|egfr|crcl|creatinine|liver|hepatic|dialysis)\b",
    r"\b(?:weighs|lbs|kg)\b",
    # adverse effects, allergies, overdoses
    r"\bside effects?\b",
    r"\b(?:allerg\w*|rash|hives|dizzy|ache|aches|bleeding|bruising)\b",
    r"\b(?:by mistake|too many|too much|extra dose|overdos\w*|took (?:two|2|3|three))\b",
    r"\b(?:how much|how many) (?:mg|milligrams|tablets|pills|units|ml|can|should|do)\b",
    r"\b\d+ ?mg\b.*\b(?:take|give)\b",
    # two substances joined ("ibuprofen with her warfarin", "alcohol on metronidazole")
    r"\b(?:with|while on|on|and|plus)\b",
]
# Procedural context: questions about handling, storing, counting, moving or billing a drug.
_PROCEDURAL = re.compile(
    r"\b(?:count\w*|log|logs|perpetual|inventory|order\w*|tote|shelf|stock|expired|expir\w*|recall\w*|"
    r"return\w*|rts|transfer\w*|claim|reject\w*|bill\w*|label\w*|bag|bags|will ?call|pick ?up|ship\w*|"
    r"cooler|porch|fridge|refrigerat\w*|freezer|temp|temps|temperature|warm|left out|sat out|dock|"
    r"dispens\w*|toss|discard|destroy\w*|dispose|disposal|audit|invoice|fax\w*|script|early|refill\w*|"
    r"fill|filled|partial|owe|backorder\w*|oos|out of stock|what do i say|what do i tell|how do i|"
    r"drop off|take back|dented|damaged|broken|spill\w*|gloves|tray|hazardous|pa|prior auth\w*|buy\w*|purchas\w*|sell|sold|sale|limit|logbook)\b",
    re.I,
)
_STRONG_RE = re.compile("|".join(f"(?:{p})" for p in _STRONG), re.I)
_CONDITIONED_RE = [re.compile(p, re.I) for p in _DRUG_CONDITIONED]
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")
# Cheap pre-filter: without any of these words a question cannot be clinical, so the drug
# dictionary (about 1.5 s to load) is only consulted for questions that might be.
_ANY_CUE = re.compile(
    r"dos(?:e|age|ing)|interact|contraindicat|double|missed|safe|ok\b|okay|fine|alright|problem|bad\b|"
    r"dangerous|together|can |should |stop|hold|old\b|kid|child|toddler|infant|baby|newborn|pediatric|"
    r"paediatric|pregnan|breast|nursing|kidney|renal|egfr|crcl|creatinine|liver|hepatic|dialysis|weigh|"
    r"lbs|kg\b|side effect|allerg|rash|hives|dizzy|ache|bleed|bruis|mistake|too many|too much|extra|"
    r"overdos|took|how much|how many|mg\b|with|while|\bon\b|\band\b|plus|recommend|better|best|"
    r"alternative|what otc|therapeutic",
    re.I,
)


class Triage(BaseModel):
    clinical: bool
    reasons: list[str] = Field(default_factory=list)  # which patterns fired
    drugs: list[str] = Field(default_factory=list)  # drug names as the person wrote them


@lru_cache(maxsize=1)
def _drug_finder():  # noqa: ANN202 - third-party callable
    from drug_named_entity_recognition import find_drugs

    return find_drugs


@lru_cache(maxsize=1)
def _substance_re() -> re.Pattern[str] | None:
    names = load_vocabulary().triage_substances
    if not names:
        return None
    alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])({alternation})(?![a-z0-9])", re.I)


def drug_mentions(question: str) -> list[str]:
    """Drug and substance names in the question, as written (brand or generic, order kept)."""
    tokens = _TOKEN.findall(question)
    found: list[str] = []
    for _entity, start, end in _drug_finder()(tokens, is_ignore_case=True):
        found.append(" ".join(tokens[start:end]))
    pattern = _substance_re()
    if pattern is not None:  # same length as the question, so spans map back to what was written
        found.extend(question[m.start(1) : m.end(1)] for m in pattern.finditer(question.lower()))
    unique: dict[str, str] = {}
    for name in found:
        unique.setdefault(name.lower(), name)
    return list(unique.values())


def triage(question: str) -> Triage:
    text = question.replace("’", "'")
    strong = _STRONG_RE.search(text)
    if strong:
        return Triage(clinical=True, reasons=[f"asks: {strong.group(0)}"], drugs=[])
    if not _ANY_CUE.search(text):
        return Triage(clinical=False)
    drugs = drug_mentions(text)
    if not drugs:
        return Triage(clinical=False)
    procedural = _PROCEDURAL.search(text)
    if procedural:
        return Triage(clinical=False, reasons=[f"procedural: {procedural.group(0)}"], drugs=drugs)
    reasons = []
    for pattern in _CONDITIONED_RE:
        m = pattern.search(text)
        if m:
            reasons.append(m.group(0).strip())
    # "with/and/on" joins only count when two drugs or substances are named
    joiners = {"with", "while on", "on", "and", "plus"}
    if len(drugs) < 2:
        reasons = [r for r in reasons if r.lower() not in joiners]
    if not reasons:
        return Triage(clinical=False, drugs=drugs)
    return Triage(clinical=True, reasons=[f"{r} + drug" for r in reasons], drugs=drugs)


def is_clinical_question(question: str) -> bool:
    return triage(question).clinical
