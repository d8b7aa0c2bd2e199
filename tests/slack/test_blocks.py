"""Block Kit rendering: Slack's limits hold whatever the content, and nothing is lost to them."""

from __future__ import annotations

import json

from assistant.agent.replies import HelpReply, SopReply
from assistant.sops.models import Answer, Passage
from integrations.slack import actions as ids
from integrations.slack.blocks import (
    MAX_VALUE_CHARS,
    answer_blocks,
    feedback_block,
    md_to_mrkdwn,
    split_messages,
    suggested_prompts,
)


def _answer(lines: list[str], n: int = 1) -> Answer:
    passages = [
        Passage(n=i, sop_id=f"QA-{i:03d}", title="T", section="S", source="s.md", score=1.0, lines=lines)
        for i in range(1, n + 1)
    ]
    return Answer(question="q", outcome="answered", passages=passages)


def test_sections_stay_under_3000_characters_and_keep_every_line() -> None:
    lines = [f"step {i}: " + "x" * 200 for i in range(60)]
    blocks = answer_blocks(_answer(lines))
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(t) <= 3000 for t in texts)
    assert all(f"step {i}:" in "\n".join(texts) for i in range(60))


def test_split_messages_never_exceed_50_blocks_and_keep_order() -> None:
    blocks = [{"type": "divider", "n": i} for i in range(123)]
    parts = split_messages(blocks)
    assert [len(p) for p in parts] == [50, 50, 23]
    assert [b["n"] for p in parts for b in p] == list(range(123))


def test_feedback_values_fit_slacks_button_limit() -> None:
    reply = SopReply(answer=_answer(["do it"], n=5))
    block = feedback_block(reply, "why " * 2000, "slack:T:C:1.0")
    assert block is not None and [e["action_id"] for e in block["elements"]] == [ids.HELPFUL, ids.NOT_HELPFUL]
    value = block["elements"][0]["value"]
    assert len(value) <= MAX_VALUE_CHARS
    data = json.loads(value)
    assert data["c"] == [f"QA-{i:03d} › S" for i in range(1, 6)] and data["q"].startswith("why why")


def test_document_markdown_reads_well_in_slack() -> None:
    md = "# Title\n\n**Patient:** Mrs. J  \n**Sex:**\n\n| Drug | Dose |\n|---|---|\n| metformin | 500 <bid> |\n\n---\n"
    assert md_to_mrkdwn(md) == "*Title*\n\n*Patient:* Mrs. J\n\nDrug · Dose\nmetformin · 500 &lt;bid&gt;"


def test_suggested_prompts_follow_the_role() -> None:
    guest = HelpReply(role="guest", examples=["a", "b"])
    tech = HelpReply(
        role="technician",
        examples=["a", "b", "what's due", "when", "draft pa-packet x"],
        draft_kinds=["pa-packet"],
    )
    rph = tech.model_copy(update={"role": "pharmacist", "draft_kinds": ["pa-packet", "prescriber-letter"]})
    assert len(suggested_prompts(guest)) == 2
    assert suggested_prompts(tech)[-1]["message"] == "draft pa-packet x"
    assert suggested_prompts(rph)[-1]["message"].startswith("draft prescriber-letter")
    assert all(len(suggested_prompts(h)) <= 4 for h in (guest, tech, rph))


def _texts(blocks: list[dict]) -> str:
    out = []
    for b in blocks:
        if isinstance(b.get("text"), dict):
            out.append(b["text"]["text"])
        for e in b.get("elements", []):
            out.append(e.get("text", "") if isinstance(e.get("text"), str) else "")
    return "\n".join(out)


def test_agent_replies_render_in_slack() -> None:
    from datetime import date, datetime

    from assistant.agent.replies import ConfirmReply, ErrorReply, RecordedReply
    from assistant.calendar.models import Completion
    from integrations.slack.blocks import reply_blocks

    worded = SopReply(answer=_answer(["Do not discard anything."]), text="Keep the stock and label it [1].")
    shown = _texts(reply_blocks(worded))
    assert "Keep the stock and label it [1]." in shown and "QA-001" in shown and "Do not discard" not in shown

    notice = ErrorReply(code="x", message="something failed", notice="The language model was unavailable.")
    assert _texts(reply_blocks(notice)).startswith(":information_source: The language model was unavailable.")

    confirm = ConfirmReply(
        action="record_completion",
        details={
            "occurrence_id": "dea-registration@main@2027-05-31",
            "completed_on": "2026-11-20",
            "evidence": "x",
        },
    )
    assert "Reply *yes*" in _texts(reply_blocks(confirm))

    done = Completion(
        id=1, occurrence_id="dea-registration@main@2027-05-31", obligation_id="dea-registration",
        series_key="dea-registration@main", due=date(2027, 5, 31), completed_on=date(2026, 11, 20),
        completed_by="jdoe", recorded_at=datetime(2026, 11, 28),
    )  # fmt: skip
    assert "Recorded *dea-registration@main@2027-05-31*" in _texts(
        reply_blocks(RecordedReply(completion=done))
    )
