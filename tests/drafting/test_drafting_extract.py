from __future__ import annotations

import datetime as dt

from assistant.drafting.extract import extract_case, resolve_date
from assistant.drafting.pipeline import compose

TODAY = dt.date(2026, 11, 26)
ISSUE_TEXT = (
    "PA for Mrs. Johnson's Ozempic, T2DM, last A1c 8.7% on 10/2, failed metformin 1000 bid x6mo GI upset"
)


def test_issue_example() -> None:
    case = extract_case(ISSUE_TEXT, today=TODAY)
    assert case.patient.name == "Mrs. Johnson"
    assert case.patient.dob is None  # not stated -> not invented
    assert case.request.drug == "Ozempic (semaglutide)"
    assert case.medications == []  # the requested drug is not a current medication
    # "T2DM" does not say "without complications": the code is asked for, not chosen
    assert case.request.diagnosis_icd10 is None
    assert [(c.name, c.icd10) for c in case.conditions] == [("T2DM", None)]
    assert any("'T2DM': no ICD-10-CM code chosen; E11.9" in w for w in case.intake_warnings)
    assert any("'A1c 10/2' has no year; read as 10/02/2026" in w for w in case.intake_warnings)
    lab = case.labs[0]
    assert (lab.name, lab.value, lab.unit, lab.date) == ("A1c", "8.7", "%", dt.date(2026, 10, 2))
    prior = case.request.prior_therapies[0]
    assert prior.drug == "metformin"
    assert prior.dose == "1000 bid"  # no unit added: the text did not give one
    assert prior.duration == "x6mo"
    assert prior.outcome == "intolerance (GI upset)"
    assert prior.start is None and prior.stop is None


def test_issue_example_drafts_with_everything_else_missing() -> None:
    content = compose("pa-packet", extract_case(ISSUE_TEXT, today=TODAY), today=TODAY)
    assert content.errors == []
    for label in ("date of birth", "member ID", "BIN", "PCN", "prescriber NPI", "NDC", "days supply"):
        assert label in content.missing
    assert "diagnosis (ICD-10-CM)" in content.missing
    text = content.document.plain_text()
    assert "[MISSING: member ID]" in text
    assert "E11.9" not in text
    assert "8.7%" in text and "10/02/2026" in text
    assert any(w.startswith("text: 'T2DM': no ICD-10-CM code chosen") for w in content.warnings)


def test_year_less_dates_resolve_to_most_recent_past() -> None:
    assert resolve_date("10/2", TODAY) == dt.date(2026, 10, 2)
    assert resolve_date("12/24", TODAY) == dt.date(2025, 12, 24)
    assert resolve_date("11/26", TODAY) == dt.date(2026, 11, 26)
    assert resolve_date("4/17/52", TODAY) == dt.date(1952, 4, 17)
    assert resolve_date("2/30", TODAY) is None


def test_more_shorthand() -> None:
    case = extract_case(
        "Mr. Lee HTN HLD on lisinopril 10 mg daily, atorvastatin 40mg qhs, LDL 130 mg/dL 9/14/26, "
        "Tylenol prn, Dr. Patel NPI 1987654328 BIN 610014 member ID ABC12345 urgent",
        today=TODAY,
    )
    assert [c.icd10 for c in case.conditions] == ["I10", "E78.5"]
    assert [(m.name, m.strength, m.sig, m.otc) for m in case.medications] == [
        ("lisinopril", "10 mg", "daily", False),
        ("atorvastatin", "40mg", "qhs", False),
        ("Tylenol (acetaminophen)", None, "prn", True),
    ]
    assert case.intake_warnings == []
    assert (case.labs[0].value, case.labs[0].unit, case.labs[0].date) == (
        "130",
        "mg/dL",
        dt.date(2026, 9, 14),
    )
    assert case.prescriber.name == "Dr. Patel" and case.prescriber.npi == "1987654328"
    assert case.insurance.bin == "610014" and case.insurance.member_id == "ABC12345"
    assert case.request.urgency == "expedited"
