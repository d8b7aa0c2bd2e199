from __future__ import annotations

import datetime as dt

import pytest

from assistant.drafting import codes
from assistant.drafting.case import parse_case
from assistant.drafting.extract import CONDITIONS, condition_codes
from assistant.drafting.validate import validate_case

TODAY = dt.date(2026, 11, 26)


@pytest.mark.parametrize("raw", ["E11.9", "E119", "e11.9", " E11.9 "])
def test_icd10_with_or_without_dot(raw: str) -> None:
    hit = codes.icd10_lookup(raw)
    assert hit is not None and hit.code == "E11.9" and hit.billable
    assert hit.description == "Type 2 diabetes mellitus without complications"


@pytest.mark.parametrize("raw", ["E11.999", "Z99.999", "E08-E13", "11.9", "", "XYZ"])
def test_icd10_rejects_non_codes(raw: str) -> None:
    assert codes.icd10_lookup(raw) is None


def test_icd10_category_is_valid_but_not_billable() -> None:
    hit = codes.icd10_lookup("E11")
    assert hit is not None and not hit.billable


def test_every_condition_synonym_maps_to_a_real_code() -> None:
    assert set(condition_codes()) == set(CONDITIONS)


def test_npi_luhn_with_80840_prefix() -> None:
    assert codes.npi_problem("1234567893") is None  # the CMS worked example
    assert codes.npi_problem("1234567890") == "NPI check digit does not match"
    assert codes.npi_problem("123456789") == "an NPI is 10 digits"
    assert codes.npi_check_digit("123456789") == "3"


def test_dea_check_digit() -> None:
    assert codes.dea_problem("BP1234563") is None
    assert codes.dea_problem("BP1234564") == "DEA check digit does not match"
    assert codes.dea_problem("B1234563") is not None
    assert codes.dea_warning("BP1234563", "Dr. Priya Patel") is None
    assert codes.dea_warning("BX1234563", "Dr. Priya Patel") is not None


@pytest.mark.parametrize(
    ("raw", "eleven"),
    [
        ("0169-4132-12", "00169-4132-12"),  # 4-4-2
        ("12345-678-90", "12345-0678-90"),  # 5-3-2
        ("12345-6789-1", "12345-6789-01"),  # 5-4-1
        ("12345-6789-01", "12345-6789-01"),  # already 5-4-2
        ("12345678901", "12345-6789-01"),  # plain 11 digits
    ],
)
def test_ndc_normalized_to_11(raw: str, eleven: str) -> None:
    assert codes.ndc_to_11(raw) == eleven


@pytest.mark.parametrize("raw", ["1234567890", "123-4567-89", "abcd-efgh-ij", "12345-67890-1"])
def test_ndc_rejects_ambiguous_or_bad(raw: str) -> None:
    assert codes.ndc_to_11(raw) is None
    assert codes.ndc_problem(raw)


def test_validation_errors_name_the_field() -> None:
    case = parse_case(
        {
            "patient": {"dob": "2030-01-01"},
            "prescriber": {"npi": "1234567890", "dea": "BP1234564"},
            "conditions": [{"name": "x", "icd10": "E11.999"}],
            "medications": [{"name": "a", "start_date": "2025-05-01", "stop_date": "2025-04-01"}],
            "request": {"ndc": "1234567890"},
        }
    )
    errors = validate_case(case, "pa-packet", today=TODAY).errors
    assert "patient.dob: date of birth is in the future" in errors
    assert any(e.startswith("prescriber.npi:") for e in errors)
    assert any(e.startswith("prescriber.dea:") for e in errors)
    assert any(e.startswith("conditions[0].icd10:") for e in errors)
    assert any(e.startswith("medications[0]: stop date") for e in errors)
    assert any(e.startswith("request.ndc:") for e in errors)


def test_warnings_do_not_block() -> None:
    case = parse_case({"conditions": [{"icd10": "E11"}], "request": {"diagnosis_icd10": "I10"}})
    found = validate_case(case, "pa-packet", today=TODAY)
    assert found.errors == []
    assert any("not the most specific" in w for w in found.warnings)
    assert any("not on the condition list" in w for w in found.warnings)
