"""The PA packet lists each diagnosis once: the request's code is not repeated as a condition."""

from __future__ import annotations

import datetime as dt

from assistant.drafting.case import parse_case
from assistant.drafting.pipeline import compose
from assistant.drafting.render import to_markdown


def test_primary_diagnosis_is_not_repeated_as_a_condition() -> None:
    case = parse_case(
        {
            "conditions": [{"name": "T2DM", "icd10": "E11.65"}, {"name": "HTN", "icd10": "I10"}],
            "request": {"drug": "Ozempic", "diagnosis_icd10": "E11.65"},
        }
    )
    markdown = to_markdown(compose("pa-packet", case, today=dt.date(2026, 11, 26)).document, "DRAFT")
    diagnosis = markdown.split("## Diagnoses treated", 1)[1].split("##", 1)[0]
    assert diagnosis.count("E11.65") == 1
    assert "Other relevant diagnosis: HTN" in diagnosis and "I10" in diagnosis  # still listed
    assert "| Diagnosis | ICD-10-CM |" in diagnosis
