"""Issue 11.1: the encounter's modality drives the SOAP note's wording and billing suggestion;
nothing says face-to-face unless it was."""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.config import REPO_ROOT
from assistant.drafting.case import load_case, parse_case
from assistant.drafting.kinds.mtm_note import suggest_cpt
from assistant.drafting.pipeline import compose, draft_markdown
from assistant.errors import InvalidInput

TODAY = dt.date(2026, 11, 26)
EXAMPLE = REPO_ROOT / "knowledge" / "drafting" / "examples" / "mtm-note.yaml"


def _note(modality: str | None) -> str:
    case = load_case(EXAMPLE)
    case.encounter.modality = modality  # type: ignore[assignment]
    return draft_markdown(compose("mtm-note", case, today=TODAY), notes=False)


def test_a_telephone_cmr_is_never_called_face_to_face() -> None:
    text = _note("telephone")
    assert "face-to-face" not in text.lower()
    assert "**Modality:** telephone" in text and "**Telephone minutes:** 40" in text
    assert "Suggested code" not in text
    assert "No MTM time code suggested: 40 telephone minutes" in text
    assert suggest_cpt(40, True, "telephone") is None


def test_video_is_worded_as_telehealth_and_its_code_is_conditional() -> None:
    text = _note("video")
    assert "face-to-face minutes" not in text.lower()
    assert "**Video (real-time telehealth) minutes:** 40" in text
    assert "Suggested code if this payer accepts real-time video for MTM: 99605 + 99607 x 2" in text


def test_in_person_keeps_face_to_face_minutes_and_the_code() -> None:
    text = _note("in person")
    assert "**Face-to-face minutes:** 40" in text
    assert "Suggested code: 99605 + 99607 x 2 (40 face-to-face minutes, new patient)" in text


def test_unknown_modality_suggests_no_code_and_is_flagged_missing() -> None:
    case = load_case(EXAMPLE)
    case.encounter.modality = None
    content = compose("mtm-note", case, today=TODAY)
    text = draft_markdown(content, notes=False)
    assert "modality" in content.missing and "Suggested code" not in text
    assert "**Minutes with the patient:** 40" in text and "face-to-face" not in text.lower()


@pytest.mark.parametrize(
    ("written", "modality"),
    [
        ("Phone", "telephone"),
        ("face-to-face", "in person"),
        ("telehealth", "video"),
        ("audio-only", "telephone"),
    ],
)
def test_modality_spellings(written: str, modality: str) -> None:
    assert parse_case({"encounter": {"modality": written}}).encounter.modality == modality


def test_an_unknown_modality_is_a_one_line_error() -> None:
    with pytest.raises(
        InvalidInput, match="field 'encounter.modality': expected 'in person', 'telephone' or 'video'"
    ):
        parse_case({"encounter": {"modality": "carrier pigeon"}})
