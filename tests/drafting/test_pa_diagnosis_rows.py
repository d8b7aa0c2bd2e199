"""The PA packet lists each diagnosis once: the request's code is not repeated as a condition."""

from __future__ import annotations

import datetime as dt

from assistant.drafting.extract import extract_case
from assistant.drafting.pipeline import compose
from assistant.drafting.render import to_markdown


def test_primary_diagnosis_is_not_repeated_as_a_condition() -> None:
    case = extract_case(
        "PA for Mrs. Johnson's Ozempic, T2DM, HTN, last A1c 8.7% on 10/2, failed metformin 1000 bid x6mo GI upset",
        today=dt.date(2026, 11, 26),
    )
    markdown = to_markdown(compose("pa-packet", case, today=dt.date(2026, 11, 26)).document, "DRAFT")
    diagnosis = markdown.split("## Diagnosis", 1)[1].split("##", 1)[0]
    assert diagnosis.count("E11.9") == 1
    assert "I10" in diagnosis  # other conditions still listed
    assert "| Diagnosis | ICD-10-CM |" in diagnosis
