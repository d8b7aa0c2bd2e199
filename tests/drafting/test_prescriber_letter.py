"""Issue 11.4: one response block per recommendation, patient-only problems out of the prescriber
letter, the patient's name, DOB and page x of y on every page, and a fax-back page that stands on
its own."""

from __future__ import annotations

import datetime as dt
import io
import re

from pypdf import PdfReader

from assistant.config import REPO_ROOT
from assistant.drafting.case import Problem, load_case
from assistant.drafting.kinds.base import DRAFT_BANNER
from assistant.drafting.pipeline import compose, draft_markdown
from assistant.drafting.render import to_pdf

TODAY = dt.date(2026, 11, 24)
EXAMPLE = REPO_ROOT / "knowledge" / "drafting" / "examples" / "prescriber-letter.yaml"


def _case():  # type: ignore[no-untyped-def]
    case = load_case(EXAMPLE)
    case.problems.append(
        Problem(
            category="needs additional drug therapy",
            drug="atorvastatin",
            description="LDL above goal on atorvastatin 40 mg",
            evidence="LDL 96 mg/dL on 10/02/2026",
            recommendation="Add ezetimibe 10 mg by mouth once daily",
            monitoring="Lipid panel in 12 weeks",
        )
    )
    case.problems.append(
        Problem(
            category="nonadherence",
            description="Misses evening doses",
            recommendation="None for prescriber",
            patient_action="Use a weekly pill box",
        )
    )
    return case


def test_one_response_block_per_recommendation_and_patient_only_actions_left_out() -> None:
    content = compose("prescriber-letter", _case(), today=TODAY)
    text = draft_markdown(content, notes=False)
    fax_back = text.split("# Prescriber response: please fax this page back", 1)[1]
    assert fax_back.count("☐ Accept  \n") == 2 and fax_back.count("☐ Decline (reason)") == 2
    assert "### Recommendation 1" in fax_back and "### Recommendation 2" in fax_back
    assert "Add ezetimibe 10 mg by mouth once daily" in fax_back
    assert "Misses evening doses" not in text and "None for prescriber" not in text
    assert any("problems[2]: nothing for the prescriber to do" in w for w in content.warnings)


def test_fax_back_page_stands_on_its_own() -> None:
    text = draft_markdown(compose("prescriber-letter", _case(), today=TODAY), notes=False)
    fax_back = text.split("# Prescriber response: please fax this page back", 1)[1]
    for needed in (
        "**To:** Maple Street Pharmacy, fax 555-0121",
        "**From:** Dr. Priya Patel",
        "**Patient:** Margaret Johnson, DOB 04/17/1952",
        "Prescriber signature:",
        "Please fax this page back to 555-0121 by 12/04/2026.",
    ):
        assert needed in fax_back, needed


def test_every_pdf_page_names_the_patient_and_its_page_x_of_y() -> None:
    pdf = to_pdf(compose("prescriber-letter", _case(), today=TODAY).document, DRAFT_BANNER)
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]
    assert len(pages) >= 3
    for n, page in enumerate(pages, start=1):
        assert "Margaret Johnson, DOB 04/17/1952" in page, n
        assert re.search(rf"page {n} of {len(pages)}\b", page), n
    last = pages[-1]
    assert "Prescriber response" in last and "Prescriber signature" in last and "555-0121" in last
