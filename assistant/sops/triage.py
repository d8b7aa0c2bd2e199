"""Spot clinical-judgment questions, which technicians must take to a pharmacist (no LLM needed).

Deliberately conservative: it looks for the shapes of clinical questions (dosing, interactions,
safety for a particular patient, therapy choices), not for drug names alone, because technicians
ask procedural questions about drugs all day ("oxycodone count is short").
"""

from __future__ import annotations

import re

_PATTERNS = [
    r"\bwhat(?:'s| is)? the (?:right |correct |max(?:imum)? |usual )?dos(?:e|age|ing)\b",
    r"\bhow (?:much|many) (?:mg|milligrams|tablets|pills|units|ml)\b.*\b(?:take|give|should)\b",
    r"\b(?:dose|dosing|dosage) (?:for|of)\b.*\b(?:kid|child|pediatric|baby|infant|elderly|renal|kidney|pregnan)",
    r"\binteract(?:s|ion|ions)?\b",
    r"\b(?:is it|is this|is that) (?:safe|ok|okay|fine) (?:to|for)\b",
    r"\bsafe (?:to take|for (?:her|him|them|the patient|a patient|pregnan|kids|children))",
    r"\bcan (?:she|he|they|the patient|a patient|my patient|i) (?:take|use|mix|combine|double|stop)\b",
    r"\bshould (?:she|he|they|the patient|a patient|my patient|we) (?:take|stop|switch|start|double|skip)\b",
    r"\b(?:pregnan|breastfeed|breast-feed|nursing mother)",
    r"\bcontraindicat",
    r"\b(?:side effects?|adverse (?:effect|reaction)s?) (?:of|from)\b.*\b(?:normal|serious|worry|dangerous)\b",
    r"\b(?:better|best|alternative) (?:drug|medication|med|option|choice) (?:for|than|instead)\b",
    r"\bswitch (?:her|him|them|the patient) (?:to|from)\b",
    r"\brecommend (?:a|an|which|what) (?:drug|medication|med|otc|product)\b",
    r"\bwhat (?:otc|over the counter|medicine|medication|drug) (?:should|can|would)\b",
    r"\btherapeutic (?:substitut|alternative|equivalen)",
]
_CLINICAL = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.I)


def is_clinical_question(question: str) -> bool:
    return bool(_CLINICAL.search(question))
