"""The terminal chat and the offline router, end to end over the real index and store."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from assistant import audit
from assistant.agent.replies import (
    ChatContext,
    DeadlinesReply,
    DraftReply,
    ErrorReply,
    HandoffReply,
    HelpReply,
    SopReply,
)
from assistant.agent.router import classify, draft_kind, route
from assistant.calendar.library import import_library
from assistant.cli import main
from assistant.config import REPO_ROOT, Settings
from assistant.principal import OPERATOR, Principal, guest
from assistant.staff import import_staff
from assistant.store import Store, open_store
from tests.conftest import who

OBLIGATIONS = REPO_ROOT / "knowledge" / "compliance" / "obligations.yaml"
PA_TEXT = (
    "draft pa-packet PA for Mrs. Johnson's Ozempic, T2DM, last A1c 8.7% on 10/2, "
    "failed metformin 1000 bid x6mo GI upset"
)


@pytest.fixture
def chat_settings(shipped_data_dir: Path, tmp_path: Path, staff_file: Path) -> Settings:
    data_dir = tmp_path / "data"
    shutil.copytree(shipped_data_dir, data_dir)
    settings = Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    store = open_store(settings)
    import_staff(store, staff_file, principal=OPERATOR)
    import_library(store, OBLIGATIONS, principal=OPERATOR)
    store.dispose()
    return settings


@pytest.fixture
def chat_store(chat_settings: Settings) -> Store:
    return open_store(chat_settings)


def ctx(settings: Settings, store: Store, principal: Principal) -> ChatContext:
    return ChatContext(settings=settings, store=store, principal=principal, conversation_id="t1")


def test_classify() -> None:
    assert classify("help") == "help"
    assert classify("draft pa-packet PA for Mrs. Lee's Ozempic") == "draft"
    assert classify("what's due this week?") == "deadlines"
    assert classify("when does Jane's license expire") == "deadlines"
    assert classify("rejected 75 now what") == "sop"
    # deadline words inside a how-to question do not steal it
    assert classify("my cpr card expires next week, what do I do?") == "sop"
    assert classify("how do I renew my technician registration with the board") == "sop"
    assert draft_kind("an appeal for the denied Ozempic PA") == "pa-appeal"
    assert draft_kind("sbar to dr smith about the statin") == "prescriber-letter"
    assert draft_kind("mtm-note for today's CMR") == "mtm-note"


def test_sop_questions_get_cited_answers(chat_settings: Settings, chat_store: Store) -> None:
    reply = route(
        "vaccine fridge read 9 C now what", ctx(chat_settings, chat_store, who(chat_store, "bsmith"))
    )
    assert isinstance(reply, SopReply)
    assert reply.answer.citations[0].sop_id == "VAC-001"
    assert reply.answer.passages[0].lines and reply.answer.passages[0].n == 1


def test_deadline_questions_go_to_the_calendar(chat_settings: Settings, chat_store: Store) -> None:
    reply = route(
        "when is our DEA registration due?", ctx(chat_settings, chat_store, who(chat_store, "bsmith"))
    )
    assert isinstance(reply, DeadlinesReply) and reply.answer.kind == "match"
    assert any("DEA" in o.title for o in reply.answer.occurrences)


def test_sop_questions_with_deadline_words_reach_the_sops(chat_settings: Settings, chat_store: Store) -> None:
    c = ctx(chat_settings, chat_store, who(chat_store, "bsmith"))
    how_to = route("my license renewal is coming up, how do I report my CE to the pharmacy?", c)
    assert isinstance(how_to, SopReply) and how_to.answer.citations[0].sop_id == "ADM-002"
    # no how-to words, but nothing in the calendar matches: the SOPs answer instead of "no deadlines"
    fallback = route("expired vaccine doses in the fridge", c)
    assert isinstance(fallback, SopReply)


def test_drafts_need_a_person_with_the_right_role(chat_settings: Settings, chat_store: Store) -> None:
    reply = route(PA_TEXT, ctx(chat_settings, chat_store, who(chat_store, "jdoe")))
    assert isinstance(reply, DraftReply)
    assert "[MISSING:" in reply.draft.markdown and "8.7" in reply.draft.markdown
    assert reply.draft.status.value == "draft" and reply.draft.missing

    refused = route(PA_TEXT, ctx(chat_settings, chat_store, OPERATOR))
    assert isinstance(refused, ErrorReply) and refused.code == "needs_person"
    letter = (
        "draft prescriber-letter fax to Dr Lee re Mr Diaz, A1c 9.1 on 11/2, recommend adding empagliflozin"
    )
    tech = route(letter, ctx(chat_settings, chat_store, who(chat_store, "bsmith")))
    assert isinstance(tech, ErrorReply) and tech.code == "permission_denied"
    denied = [e for e in audit.entries(chat_store, action="draft.create") if e.outcome == "denied"]
    assert [e.actor for e in denied] == ["bsmith", "system:operator"]

    vague = route("draft something nice", ctx(chat_settings, chat_store, who(chat_store, "jdoe")))
    assert isinstance(vague, ErrorReply) and "which document" in vague.message and vague.field == "kind"
    empty = route("draft pa-packet", ctx(chat_settings, chat_store, who(chat_store, "jdoe")))
    assert isinstance(empty, ErrorReply) and empty.field == "text"


def test_clinical_questions_are_handed_off_by_role(chat_settings: Settings, chat_store: Store) -> None:
    q = "is it safe for her to take ibuprofen with her warfarin"
    for principal in (who(chat_store, "bsmith"), OPERATOR, guest("U999")):
        reply = route(q, ctx(chat_settings, chat_store, principal))
        assert isinstance(reply, HandoffReply) and reply.asked_by == principal.id
        assert q in reply.summary
    assert not isinstance(route(q, ctx(chat_settings, chat_store, who(chat_store, "jdoe"))), HandoffReply)


def test_guests_get_sop_answers_only(chat_settings: Settings, chat_store: Store) -> None:
    g = ctx(chat_settings, chat_store, guest("U999"))
    assert isinstance(route("claim rejected with code 75 what do i do", g), SopReply)
    # a guest's deadline question is not answered from the calendar
    assert not isinstance(route("what's due this week?", g), DeadlinesReply)
    assert isinstance(route(PA_TEXT, g), ErrorReply)
    h = route("help", g)
    assert isinstance(h, HelpReply) and h.draft_kinds == []
    assert "mtm-note" in route("help", ctx(chat_settings, chat_store, who(chat_store, "jdoe"))).draft_kinds  # type: ignore[union-attr]


def test_chat_reads_stdin_and_survives_bad_input(
    chat_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("rejected 75 now what\ndraft\nhelp\nquit\nnever read\n"))
    rc = main(["--data-dir", str(chat_settings.data_dir), "chat", "--as", "bsmith"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "SOP-FIN-00" in out  # cited answer
    assert "sorry: which document" in out  # bad input answered, session continued
    assert "For example:" in out  # help text
    assert out.count("rxdesk>") == 3


def test_piped_chat_without_as_is_the_operator(
    chat_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    letter = (
        "draft prescriber-letter fax to Dr Lee re Mr Diaz, A1c 9.1 on 11/2, recommend adding empagliflozin"
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(letter + "\n"))
    assert main(["--data-dir", str(chat_settings.data_dir), "chat"]) == 0
    out = capsys.readouterr().out
    assert "operator" in out and "--as STAFF_ID" in out and "Draft #" not in out
    store = open_store(chat_settings)
    assert [e.outcome for e in audit.entries(store, action="draft.create")] == ["denied"]


def test_interactive_chat_asks_who_is_speaking(
    tmp_path: Path,
    shipped_data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data_dir = tmp_path / "fresh"
    shutil.copytree(shipped_data_dir, data_dir)  # the index, but nobody in the staff directory yet
    answers = iter(["y", "ghost", "jdoe", "help", "quit"])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    assert main(["--data-dir", str(data_dir), "chat"]) == 0
    out = capsys.readouterr().out
    assert "loaded" in out and "example staff" in out
    assert "unknown staff id 'ghost'" in out
    assert "mtm-note" in out  # help as the pharmacist lists the pharmacist's draft kinds


def test_chat_with_unknown_staff_fails_cleanly(
    chat_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["--data-dir", str(chat_settings.data_dir), "chat", "--as", "ghost"])
    assert rc != 0 and "unknown staff id 'ghost'" in capsys.readouterr().err
