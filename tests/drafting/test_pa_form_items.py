"""Issue 11.3: the PA packet carries every item of the CMS model coverage-determination request form,
flags empty items the plan needs, keeps the internal checklist out of the faxable packet, and prints
a DEA number only for a controlled substance."""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.config import REPO_ROOT
from assistant.drafting.case import load_case, parse_case
from assistant.drafting.kinds import pa_packet
from assistant.drafting.kinds.pa_packet import FORM_ITEMS, REQUIRED, applies
from assistant.drafting.pipeline import compose, draft_markdown

TODAY = dt.date(2026, 11, 24)
EXAMPLE = REPO_ROOT / "knowledge" / "drafting" / "examples" / "pa-packet.yaml"


def _md(case) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    content = compose("pa-packet", case, today=TODAY)
    return draft_markdown(content, notes=False), content


def test_the_spec_lists_the_cms_model_form_items() -> None:
    labels = {i.label for i in FORM_ITEMS}
    for item in (
        "Enrollee address",
        "Prescriber address",
        "Route of administration",
        "Expected length of therapy",
        "Height / weight",
        "Drug allergies",
        "New start or continuation",
        "Type of request",
        "Prescriber's reason expedited review is needed",
        "FDA-noted contraindications",
        "Drug interaction concerns",
        "Current drug regimen for the condition",
    ):
        assert item in labels, item
    for item in FORM_ITEMS:
        assert not item.path or item.path in REQUIRED, item


def test_every_applicable_form_item_is_in_the_packet() -> None:
    case = load_case(EXAMPLE)
    text, _ = _md(case)
    for item in FORM_ITEMS:
        if applies(item, case):
            assert item.label in text, item.label
    assert "**Enrollee address:** 12 Birch Lane, Springfield, IL 62704" in text
    assert "**Drug allergies:** sulfa drugs (hives); lisinopril (cough)" in text
    assert "**Prescriber address:** 400 Oak Street, Suite 2, Springfield, IL 62704" in text
    assert "**Route of administration:** subcutaneous" in text


def test_empty_items_the_plan_needs_are_flagged_not_blank() -> None:
    case = parse_case(
        {
            "patient": {"name": "Ana Diaz"},
            "request": {
                "drug": "Ozempic",
                "urgency": "expedited",
                "new_start": False,
                "sig": "2 mg/kg weekly",
            },
        }
    )
    text, content = _md(case)
    for item in FORM_ITEMS:
        if (
            item.path
            and applies(item, case)
            and item.path
            not in ("patient.name", "request.drug", "request.urgency", "request.new_start", "request.sig")
        ):
            assert REQUIRED[item.path] in content.missing, item.label  # type: ignore[attr-defined]
    for label in (
        "patient address",
        "drug allergies (or no known allergies)",
        "prescriber address",
        "route of administration",
        "expected length of therapy",
        "type of request (prior authorization or which exception)",
        "date therapy started (continuation)",
        "patient height (dosing depends on it)",
        "patient weight (dosing depends on it)",
        "prescriber's reason for expedited review",
    ):
        assert f"[MISSING: {label}]" in text, label
    case.request.new_start = None
    _, content = _md(case)
    assert "new start or continuation of therapy" in content.missing


def test_the_checklist_is_a_separate_internal_document() -> None:
    case = load_case(EXAMPLE)
    case.insurance.member_id = None
    text, content = _md(case)
    assert "Checklist" not in text and "Obtain:" not in text
    assert content.internal is not None and "internal" in content.internal.title  # type: ignore[attr-defined]
    assert "Obtain: member ID" in content.internal.plain_text()  # type: ignore[attr-defined]
    assert "Obtain: member ID" in draft_markdown(content)  # shown to staff with the review notes


@pytest.mark.parametrize(
    ("drug", "schedule", "dea_shown"),
    [
        ("Ozempic (semaglutide)", None, False),
        ("oxycodone 5 mg", None, True),
        ("Xanax", None, True),
        ("Zebrafen", "CIV", True),  # stated by the case
        ("Lyrica", "none", False),  # the case's statement wins over the list
    ],
)
def test_dea_only_for_controlled_substances(drug: str, schedule: str | None, dea_shown: bool) -> None:
    case = load_case(EXAMPLE)
    case.request.drug, case.request.controlled_schedule = drug, schedule
    text, _ = _md(case)
    assert ("BP1234563" in text) is dea_shown
    assert ("DEA" in text) is dea_shown


def test_unknown_controlled_status_is_a_warning_and_no_dea() -> None:
    case = load_case(EXAMPLE)
    case.request.drug = "Zebrafen"
    text, content = _md(case)
    assert "BP1234563" not in text
    assert any("cannot tell whether Zebrafen is a controlled substance" in w for w in content.warnings)  # type: ignore[attr-defined]


def test_opioid_questions_appear_for_an_opioid_only() -> None:
    case = load_case(EXAMPLE)
    assert "morphine-equivalent" not in _md(case)[0]
    case.request.drug = "oxycodone"
    assert "Daily cumulative morphine-equivalent dose" in _md(case)[0]
    assert pa_packet.is_opioid(case.request)
