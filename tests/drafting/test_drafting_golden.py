"""Golden cases: the shipped example of each kind renders the content its standard requires."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from assistant.config import REPO_ROOT
from assistant.drafting.case import Case, load_case
from assistant.drafting.kinds import KINDS
from assistant.drafting.kinds.mtm_note import suggest_cpt
from assistant.drafting.pipeline import compose, draft_markdown

TODAY = dt.date(2026, 11, 26)
EXAMPLES = REPO_ROOT / "knowledge" / "drafting" / "examples"


def md(kind: str, path: Path | None = None) -> tuple[str, object]:
    content = compose(kind, load_case(path or EXAMPLES / f"{kind}.yaml"), today=TODAY)
    return draft_markdown(content), content


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_example_is_complete_and_valid(kind: str) -> None:
    text, content = md(kind)
    assert content.errors == [] and content.missing == []
    assert "[MISSING" not in text
    body = draft_markdown(content, notes=False)
    assert body.startswith("> **DRAFT - pending pharmacist review")


def test_cmr_standardized_format() -> None:
    text, _ = md("mtm-cmr")
    for header in (
        "Thank you for talking with me on 11/20/2026 about your health and medications.",
        "Medication Action Plan for Margaret Johnson, DOB: 04/17/1952",
        "Personal Medication List for Margaret Johnson, DOB: 04/17/1952",
        "DATE PREPARED: 11/24/2026",
        "**What we talked about:**",
        "**What I need to do:**",
        "**What I did and when I did it:**",
        "**My follow-up plan (add notes about next steps):**",
        "**Questions I want to ask (include topics about medications or therapy):**",
        "**Allergies or side effects:** sulfa drugs (hives); lisinopril (cough)",
        "This medication list was made for you after we talked. We also used information from",
        "Keep this list up-to-date with:",
        "If you have any questions about your action plan, call",
        "If you have any questions about your medication list, call",
        "TTY 711",
        "Sincerely,  \nJane Doe, PharmD",
    ):
        assert header in text, header
    assert text.count("DATE PREPARED: 11/24/2026") == 2
    seven = [
        "Medication:",
        "How I use it:",
        "Why I use it:",
        "Prescriber:",
        "Date I started using it:",
        "Date I stopped using it:",
        "Why I stopped using it:",
    ]
    # 5 medications in use + 2 blank rows, each with the seven fields; lisinopril, stopped in 2023,
    # is not a full PML entry (the pharmacist sees a warning instead)
    for field in seven:
        assert text.count(f"**{field}**") == 7, field
    assert "**Medication:** omeprazole 20 mg (over the counter)" in text
    assert "**Medication:** vitamin D3 1,000 units (over the counter)" in text
    assert "**Medication:** lisinopril" not in text
    assert "lisinopril was stopped 06/10/2023, before the CMR" in text  # review notes
    assert "Prairie Health Medicare Rx MTM program" in text


def test_cmr_uses_12pt_minimum() -> None:
    _, content = md("mtm-cmr")
    assert content.document.min_font_pt >= 12


def test_soap_note() -> None:
    text, _ = md("mtm-note")
    for s in ("## S - Subjective", "## O - Objective", "## A - Assessment", "## P - Plan"):
        assert s in text
    assert "**Face-to-face minutes:** 40" in text  # the example encounter was in person
    assert "**Category:** nonadherence" in text and "**Cause:** forgets the evening dose" in text
    assert "**Evidence:** A1c 8.7% on 10/02/2026" in text
    assert "| A1c | 8.7% | 10/02/2026 |" in text
    assert "Suggested code: 99605 + 99607 x 2 (40 face-to-face minutes, new patient)" in text
    assert "PHARMACIST TO VERIFY" in text
    assert "**Follow-up date:** 12/18/2026" in text
    assert "NPI: 1456789019" in text and "Signature:" in text


@pytest.mark.parametrize(
    ("minutes", "new", "expected"),
    [
        (7, True, None),
        (8, True, "99605"),
        (15, False, "99606"),
        (22, True, "99605"),
        (23, True, "99605 + 99607 x 1"),
        (37, False, "99606 + 99607 x 1"),
        (38, False, "99606 + 99607 x 2"),
        (60, True, "99605 + 99607 x 3"),
    ],
)
def test_cpt_units_from_minutes(minutes: int, new: bool, expected: str | None) -> None:
    cpt = suggest_cpt(minutes, new, "in person")
    assert (cpt.text() if cpt else None) == expected
    assert suggest_cpt(None, True, "in person") is None and suggest_cpt(30, None, "in person") is None


def test_pa_packet() -> None:
    text, _ = md("pa-packet")
    for s in (
        "**Member ID:** PHX448812",
        "**BIN:** 610014",
        "**PCN:** MEDDPRIME",
        "**Group:** RX4471",
        "**Prescriber NPI:** 1987654328",
        "**NDC:** 00169-4132-12 (NDC-11)",
        "**Quantity / days supply:** 1 pen (1.5 mL) / 28 days",
        "E11.9 - Type 2 diabetes mellitus without complications",
        "| metformin | 1000 mg twice daily | 11/01/2025 | 05/01/2026 | intolerance (GI upset) |",
        "| A1c | 8.7% | 10/02/2026 |",
        "EXPEDITED REVIEW REQUESTED",
        "# Letter of medical necessity",
    ):
        assert s in text, s
    assert "Checklist before submission" not in text  # internal: not part of the faxable packet


def test_pa_packet_flags_gaps_and_standard_urgency_has_no_attestation(tmp_path: Path) -> None:
    src = (EXAMPLES / "pa-packet.yaml").read_text()
    src = src.replace("  member_id: PHX448812\n", "").replace("urgency: expedited", "urgency: standard")
    path = tmp_path / "case.yaml"
    path.write_text(src)
    text, content = md("pa-packet", path)
    assert "member ID" in content.missing
    assert "**Member ID:** [MISSING: member ID]" in text
    assert "Obtain: member ID" in text  # on the internal checklist, shown with the review notes
    assert "Obtain: member ID" not in draft_markdown(content, notes=False)  # never in the packet
    assert "EXPEDITED" not in text


def test_pa_appeal_answers_each_reason() -> None:
    text, _ = md("pa-appeal")
    assert "**Case number:** PA-2026-118842" in text and "**Denial notice date:** 11/10/2026" in text
    assert text.count("**The plan stated:**") == 2
    assert '"Step therapy not met: no 90-day trial of metformin"' in text
    assert "**Our response:** A1c 8.7% on 10/02/2026, attached." in text
    assert "peer-to-peer" in text


def test_prescriber_letter_sbar() -> None:
    text, _ = md("prescriber-letter")
    for s in ("### S - Situation", "### B - Background", "### A - Assessment", "### R - Recommendation"):
        assert s in text
    for option in (
        "☐ Accept",
        "☐ Accept with modification",
        "☐ Decline (reason)",
        "☐ Discuss at next visit",
    ):
        assert option in text
    assert "Prescriber signature:" in text and "Date / time:" in text
    assert "Please fax this page back to 555-0121 by 12/04/2026." in text
    assert "Direct phone: 555-0123" in text and "Pharmacist signature:" in text
    assert "Re: Margaret Johnson, DOB 04/17/1952" in text
    assert "**Category:** adverse drug reaction" in text
    assert "1500 mg by mouth once daily" in text and "**Monitoring:** A1c in 3 months" in text
    # minimum necessary: no patient phone, address or member ID on a fax
    for phi in ("555-0142", "Birch Lane", "PHX448812", "610014"):
        assert phi not in text


def test_missing_everything_is_placeholders_not_inventions() -> None:
    for kind in KINDS:
        content = compose(kind, Case(), today=TODAY)
        text = draft_markdown(content)
        assert content.missing, kind
        assert all(f"[MISSING: {m}]" in text for m in content.missing), kind
        assert not re.search(r"\b\d{10}\b", text), kind  # no identifiers out of nowhere
