"""The CMR written summary reproduces the CMS-10396 Standardized Format word for word: every fixed
sentence and header of the cover letter, Medication Action Plan and Personal Medication List, in the
form's order, as kept in knowledge/drafting/cms10396_reference.yaml (which says where it came from)."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import yaml
from pypdf import PdfReader

from assistant.config import REPO_ROOT
from assistant.drafting.case import load_case
from assistant.drafting.document import Document
from assistant.drafting.kinds.base import DRAFT_BANNER
from assistant.drafting.pipeline import compose
from assistant.drafting.render import to_pdf

REFERENCE = yaml.safe_load(
    (REPO_ROOT / "knowledge" / "drafting" / "cms10396_reference.yaml").read_text(encoding="utf-8")
)
PARTS = ("cover_letter", "medication_action_plan", "personal_medication_list")
EXAMPLE = REPO_ROOT / "knowledge" / "drafting" / "examples" / "mtm-cmr.yaml"


def _parts(doc: Document) -> list[str]:
    """The document's text split at its page breaks (one part per CMS section), in reading order."""
    parts: list[list[str]] = [[]]
    for b in doc.blocks:
        if b.type == "pagebreak":
            parts.append([])
            continue
        lines = [b.text] if b.text and b.type != "signature" else []
        lines += b.items + b.headers + [" ".join(r) for r in b.rows if b.type != "signature"]
        parts[-1].extend(line for line in lines if line)
    return ["\n".join(p) for p in parts]


def _pattern(item: str) -> re.Pattern[str]:
    """CMS text literally; a ``<field>`` matches whatever the case filled in (at least one character)."""
    out = ""
    for i, piece in enumerate(re.split(r"<[^>]+>", item)):
        out += (r".+?" if i else "") + re.escape(piece)
    return re.compile(out)


@pytest.mark.parametrize("part", PARTS)
def test_every_fixed_sentence_and_header_in_order(part: str) -> None:
    content = compose("mtm-cmr", load_case(EXAMPLE), today=dt.date(2026, 11, 26))
    texts = dict(zip(PARTS, _parts(content.document), strict=False))
    text = texts[part]
    pos = 0
    for item in REFERENCE[part]:
        m = _pattern(item).search(text, pos)
        assert m, f"{part}: missing or out of order: {item!r}\n--- after:\n{text[pos : pos + 300]}"
        pos = m.end()


def test_reference_names_its_source() -> None:
    src = REFERENCE["source"]
    assert src["form"] == "CMS-10396" and src["omb_control_number"] == "0938-1154"
    assert "201704-0938-006" in src["cover_letter"]
    # the 2013 wording the pharmacist flagged must not creep back in
    letter = " ".join(REFERENCE["cover_letter"])
    assert "make sure that your medications are working" not in letter
    assert "Along with this letter" not in letter


def test_the_plan_on_the_card_names_the_program_when_no_program_is_recorded() -> None:
    case = load_case(EXAMPLE)
    case.encounter.program = None
    content = compose("mtm-cmr", case, today=dt.date(2026, 11, 26))
    assert "Part D plan name" not in content.missing
    assert "through the Prairie Health Medicare Rx (PDP) MTM program." in content.document.plain_text()
    case.insurance.plan = None
    assert "Part D plan name" in compose("mtm-cmr", case, today=dt.date(2026, 11, 26)).missing


def test_no_medication_box_splits_across_pages() -> None:
    pdf = to_pdf(compose("mtm-cmr", load_case(EXAMPLE), today=dt.date(2026, 11, 26)).document, DRAFT_BANNER)
    for n, page in enumerate(PdfReader(io.BytesIO(pdf)).pages, start=1):
        text = page.extract_text()
        # a box opens with "Medication:" and closes with "Why I stopped using it:" on the same page
        assert text.count("Medication:") == text.count("Why I stopped using it:"), f"page {n}"
