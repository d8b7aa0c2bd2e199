"""The terminal chat and the offline router, end to end over the real index and store."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from assistant.agent.router import classify, draft_kind, handle
from assistant.cli import main
from assistant.config import REPO_ROOT, Settings
from assistant.errors import InvalidInput
from assistant.staff import get_staff, import_staff
from assistant.store import open_store


@pytest.fixture
def chat_settings(shipped_data_dir: Path, tmp_path: Path, staff_file: Path) -> Settings:
    data_dir = tmp_path / "data"
    shutil.copytree(shipped_data_dir, data_dir)
    settings = Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    store = open_store(settings)
    import_staff(store, staff_file)
    store.dispose()
    return settings


def test_classify() -> None:
    assert classify("help") == "help"
    assert classify("draft pa-packet PA for Mrs. Lee's Ozempic") == "draft"
    assert classify("what's due this week?") == "deadlines"
    assert classify("when does Jane's license expire") == "deadlines"
    assert classify("rejected 75 now what") == "sop"
    assert draft_kind("an appeal for the denied Ozempic PA") == "pa-appeal"
    assert draft_kind("sbar to dr smith about the statin") == "prescriber-letter"
    assert draft_kind("mtm-note for today's CMR") == "mtm-note"


def test_router_answers_sop_questions_with_citations(chat_settings: Settings) -> None:
    store = open_store(chat_settings)
    reply = handle(chat_settings, store, "vaccine fridge read 9 C now what", role="technician")
    assert reply.intent == "sop" and "VAC-001" in reply.text
    assert reply.data["citations"][0]["sop_id"] == "VAC-001"


def test_router_answers_deadline_questions(chat_settings: Settings) -> None:
    store = open_store(chat_settings)
    assert (
        main(
            [
                "--data-dir",
                str(chat_settings.data_dir),
                "calendar",
                "import",
                str(REPO_ROOT / "knowledge" / "compliance" / "obligations.yaml"),
            ]
        )
        == 0
    )
    reply = handle(chat_settings, store, "when is our DEA registration due?")
    assert reply.intent == "deadlines" and "DEA" in reply.text


def test_router_drafts_from_shorthand_and_marks_missing(chat_settings: Settings) -> None:
    store = open_store(chat_settings)
    jane = get_staff(store, "jdoe")
    reply = handle(
        chat_settings,
        store,
        "draft pa-packet PA for Mrs. Johnson's Ozempic, T2DM, last A1c 8.7% on 10/2, failed metformin 1000 bid x6mo GI upset",
        actor=jane,
    )
    assert reply.intent == "draft"
    assert "[MISSING:" in reply.text and "8.7" in reply.text
    assert reply.data["status"] == "draft" and reply.data["missing"]
    with pytest.raises(InvalidInput, match="which document"):
        handle(chat_settings, store, "draft something nice", actor=jane)


def test_chat_reads_stdin_and_survives_bad_input(
    chat_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("rejected 75 now what\ndraft\nhelp\nquit\nnever read\n"))
    rc = main(["--data-dir", str(chat_settings.data_dir), "chat", "--as", "bsmith"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "SOP-FIN-00" in out  # cited answer
    assert "sorry: which document" in out  # bad input answered, session continued
    assert "Deadlines:" in out  # help text
    assert out.count("rxdesk>") == 3


def test_chat_with_unknown_staff_fails_cleanly(
    chat_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["--data-dir", str(chat_settings.data_dir), "chat", "--as", "ghost"])
    assert rc != 0 and "unknown staff id 'ghost'" in capsys.readouterr().err
