"""The pseudonymizer and the guards on their own (no model, no network)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.agent.guards import Sources, check_grounding, keep_traceable, traceable
from assistant.agent.pseudonymize import Pseudonymizer, detect, iso_date
from assistant.drafting.case import Case

TODAY = dt.date(2026, 11, 28)


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("PA for Mrs. Johnson's Ozempic", "PATIENT", "Johnson"),
        ("pt Maria Lopez needs a refill", "PATIENT", "Maria Lopez"),
        ("DOB 4/17/1952 on file", "DATE", "4/17/1952"),
        ("A1c 8.7 on 10/2", "DATE", "10/2"),
        ("seen on March 3, 2026", "DATE", "March 3, 2026"),
        ("born in 1952", "DATE", "1952"),
        ("MRN 00442817", "ID", "00442817"),
        ("member id ZX99812", "ID", "ZX99812"),
        ("Rx #7734521 is ready", "ID", "7734521"),
        ("call her at (555) 201-3344", "PHONE", "(555) 201-3344"),
        ("fax 555.201.9999 today", "PHONE", "555.201.9999"),
        ("email mj@example.org", "EMAIL", "mj@example.org"),
        ("lives at 12 Oak Street, Apt 4", "ADDRESS", "12 Oak Street, Apt 4"),
    ],
)
def test_detects_each_kind_of_identifier(text: str, kind: str, value: str) -> None:
    assert (kind, value) in [(s.kind, s.value) for s in detect(text)]


@pytest.mark.parametrize(
    "text",
    [
        "Humalog Mix 75/25 20 units bid",
        "take 1/2 tab daily",
        "Norco 10/325 q6h",
        "the 24/7 line",
        "Part D plan",
    ],
)
def test_clinical_shorthand_is_not_mistaken_for_phi(text: str) -> None:
    assert detect(text) == []


def test_placeholders_are_stable_and_restored() -> None:
    said = "start a PA for Mrs. Margaret Johnson, DOB 4/17/1952, A1c 8.7 on 10/2"
    a, b = Pseudonymizer(today=TODAY), Pseudonymizer(today=TODAY)
    a.learn(said)
    b.learn(said)
    masked = a.mask(said)
    assert masked == b.mask(said)  # same history, same placeholders: nothing to store
    assert "Johnson" not in masked and "1952" not in masked and "[PATIENT_1]" in masked
    assert a.unmask(masked) == said
    assert a.mask("Johnson called back") == "[PATIENT_1] called back"  # the surname alone too
    assert a.unmask_value({"dob": "[DATE_1]"}) == {"dob": "1952-04-17"}  # ISO inside tool arguments
    assert a.mask("dob 1952-04-17") == "dob [DATE_1]"  # and hidden again in that form


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_mask_then_unmask_gives_back_the_text(text: str) -> None:
    pz = Pseudonymizer(today=TODAY)
    pz.learn(text)
    assert pz.unmask(pz.mask(text)) == text or any(p in text for p in pz.back)


def test_iso_dates() -> None:
    assert iso_date("10/2", TODAY) == "2026-10-02"
    assert iso_date("4/17/52", TODAY) == "2052-04-17" or iso_date("4/17/52", TODAY) == "1952-04-17"
    assert iso_date("Oct 2, 2025", TODAY) == "2025-10-02"
    assert iso_date("13/40", TODAY) is None


SECTION = "Move the vaccines to the backup unit (2 to 8 °C). Call the manufacturer within 24 hours. Form 222."


@pytest.mark.parametrize(
    ("answer", "ok", "reason"),
    [
        ("Move them to the backup unit at 2 to 8 °C [1].", True, None),
        ("Call the manufacturer within 24 hours [1] and keep Form 222 [1].", True, None),
        ("Move them [2].", False, "unknown_citation"),
        ("Move them, see VAC-009 [1].", False, "unknown_sop"),
        ("Keep them at 5 °C [1].", False, "number_not_in_source"),
        ("Call within 48 hours [1].", False, "number_not_in_source"),
        ("Give Tylenol if they feel feverish [1].", False, "drug_not_in_source"),
        ("Call 555-123-4567 [1].", False, "number_not_in_source"),
        ("Move them to the backup unit.", False, "no_citation"),
    ],
)
def test_grounding(answer: str, ok: bool, reason: str | None) -> None:
    verdict = check_grounding(answer, {1: SECTION}, ["VAC-001"])
    assert (verdict.ok, verdict.reason) == (ok, reason)


def test_traceability_normalizes_dates_numbers_and_drug_names() -> None:
    src = Sources(["Mr. Davis's Eliquis 5 mg bid, failed warfarin, T2DM, A1c 8.70 on 10/2, NKDA"], TODAY)
    assert traceable("request.drug", "apixaban", src)  # generic for the brand said
    assert traceable("labs[0].value", "8.7", src)
    assert traceable("labs[0].date", "2026-10-02", src)
    assert traceable("conditions[0].name", "type 2 diabetes", src)
    assert traceable("request.sig", "twice daily", src)
    assert traceable("patient.no_known_allergies", True, src)
    assert not traceable("labs[0].date", "2026-10-03", src)
    assert not traceable("request.strength", "10 mg", src)
    assert not traceable("conditions[0].icd10", "E11.9", src)  # a code nobody said
    assert not traceable("request.drug", "rivaroxaban", src)


def test_keep_traceable_drops_and_names_what_nobody_said() -> None:
    src = Sources(["PA for Mrs. Johnson's Ozempic, failed metformin"], TODAY)
    case = Case.model_validate(
        {
            "patient": {"name": "Mrs. Johnson", "dob": "1950-01-01"},
            "request": {"drug": "Ozempic", "strength": "1 mg", "prior_therapies": [{"drug": "metformin"}]},
            "medications": [{"name": "lisinopril"}],
        }
    )
    kept, dropped = keep_traceable(case, src)
    assert kept.patient.dob is None and kept.request.strength is None and kept.medications == []
    assert kept.request.drug == "Ozempic" and kept.request.prior_therapies[0].drug == "metformin"
    assert len(dropped) == 3 and any("lisinopril" in d for d in dropped)


def test_stored_case_values_count_as_said() -> None:
    stored = {"patient": {"dob": "1950-01-01"}}
    src = Sources(["add the member id ZX1"], TODAY, stored=stored)
    assert traceable("patient.dob", "1950-01-01", src)
