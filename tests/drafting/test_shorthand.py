"""Issue 11.7: shorthand is read in the person's own words. Drugs are recognised with a real
vocabulary; brand, formulation, strength and units stay as written, a generic only in brackets when
unambiguous; what is not understood is echoed back; duplicates, conflicting values and year-less
dates are flagged; no ICD-10 code says more than was said; a PA's drug is not a current medication."""

from __future__ import annotations

import datetime as dt

from assistant.drafting.extract import extract_case
from assistant.drafting.pipeline import compose, draft_markdown

TODAY = dt.date(2026, 11, 26)
CMR_TEXT = (
    "CMR Mrs. Diaz: Humalog Mix 75/25 20 units bid, metformin ER 500, ASA 81, Toprol 25, "
    "metoprolol 50 bid, ozempik 0.5 weekly, Synthroid 75 daily, levothyroxine 75 mcg daily, "
    "A1c 9.1 on 10/2, A1c 8.4 on 10/2"
)


def _meds(text: str) -> list[tuple[str | None, str | None, str | None]]:
    return [(m.name, m.strength, m.sig) for m in extract_case(text, today=TODAY).medications]


def test_the_persons_words_are_kept() -> None:
    assert _meds(CMR_TEXT) == [
        ("Humalog Mix 75/25 (insulin lispro protamine and insulin lispro)", None, "20 units bid"),
        ("metformin ER", "500", None),
        ("ASA (aspirin)", "81", None),
        ("Toprol", "25", None),
        ("metoprolol", "50", "bid"),
        ("Synthroid (levothyroxine)", "75", "daily"),
        ("levothyroxine", "75 mcg", "daily"),
    ]


def test_a_product_the_words_do_not_pin_down_gets_no_generic() -> None:
    assert _meds("Humalog Mix 20 units bid") == [("Humalog Mix", None, "20 units bid")]
    assert _meds("Humalog 10 units tid") == [("Humalog (insulin lispro)", None, "10 units tid")]


def test_what_was_not_understood_is_echoed_back() -> None:
    case = extract_case(CMR_TEXT, today=TODAY)
    assert "not understood: ozempik 0.5 weekly (possibly ozempic?)" in case.intake_warnings
    content = compose("mtm-cmr", case, today=TODAY)
    assert "text: not understood: ozempik 0.5 weekly (possibly ozempic?)" in content.warnings
    assert "not understood: ozempik 0.5 weekly" in draft_markdown(content)  # shown with the draft


def test_duplicates_conflicts_and_yearless_dates_are_warnings() -> None:
    warnings = compose("mtm-cmr", extract_case(CMR_TEXT, today=TODAY), today=TODAY).warnings
    joined = "\n".join(warnings)
    assert (
        "'levothyroxine' and 'Synthroid (levothyroxine)' (medications[5]) look like the same drug" in joined
    )
    assert "'metoprolol' and 'Toprol' (medications[3]) look like the same drug" in joined
    assert "two A1c results on 10/02/2026 disagree (9.1 and 8.4)" in joined
    assert "'A1c 10/2' has no year; read as 10/02/2026: confirm the year" in joined


def test_failed_and_still_on_is_a_conflict() -> None:
    case = extract_case("failed metformin 1000 bid x3mo, still on metformin 500 bid", today=TODAY)
    warnings = compose("pa-packet", case, today=TODAY).warnings
    assert any("metformin is recorded as failure and as still taken" in w for w in warnings), warnings


def test_no_icd10_code_that_asserts_more_than_was_said() -> None:
    case = extract_case("Mr. Ruiz T2DM, HTN, asthma on lisinopril 10 mg daily", today=TODAY)
    assert [(c.name, c.icd10) for c in case.conditions] == [("T2DM", None), ("HTN", "I10"), ("asthma", None)]
    joined = "\n".join(case.intake_warnings)
    assert (
        "'T2DM': no ICD-10-CM code chosen; E11.9 would add 'Type 2 diabetes mellitus without complications'"
        in joined
    )
    assert "'asthma': no ICD-10-CM code chosen; J45.909" in joined


def test_a_pas_requested_drug_is_not_a_current_medication_unless_said() -> None:
    case = extract_case("PA for Mr. Ortiz's Jardiance 10 mg daily, on metformin 500 bid", today=TODAY)
    assert case.request.drug == "Jardiance (empagliflozin)"
    assert (case.request.strength, case.request.sig) == ("10 mg", "daily")
    assert [m.name for m in case.medications] == ["metformin"]
    cmr = draft_markdown(compose("mtm-cmr", case, today=TODAY), notes=False)
    assert "Jardiance" not in cmr
    case = extract_case("PA for Ozempic, still on Ozempic 0.25 weekly", today=TODAY)
    assert case.request.drug == "Ozempic (semaglutide)" and [m.name for m in case.medications] == [
        "Ozempic (semaglutide)"
    ]
