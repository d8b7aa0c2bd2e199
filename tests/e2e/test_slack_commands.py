"""Slash commands and feedback end to end."""

from __future__ import annotations

from sqlalchemy import select

from assistant.feedback import list_votes
from assistant.store.tables import answer_votes
from integrations.slack import actions as ids
from integrations.slack.handlers.commands import deadline_question, parse_draft_command
from tests.conftest import who
from tests.e2e.conftest import Harness
from tests.e2e.fake_slack import FakeSlack, action_ids, text_of

FRIDGE = "the vaccine fridge read 9 C, now what?"


def test_sop_answers_privately_and_can_be_shared(harness: Harness, slack: FakeSlack) -> None:
    status, body = harness.command("/sop", FRIDGE, "UTECH1", channel="CTECHS")
    assert status == 200 and body == b""  # acknowledged at once; the answer follows
    [answer] = slack.wait_for(lambda: slack.to("response_url"))
    harness.settle()
    assert answer.params["response_type"] == "ephemeral"
    blocks = answer.params["blocks"]
    assert "VAC-001" in text_of(blocks)
    assert action_ids(blocks) == [ids.SHARE_ANSWER, ids.HELPFUL, ids.NOT_HELPFUL]
    assert not slack.to("chat.postMessage")  # nobody else saw it

    share = next(
        e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ids.SHARE_ANSWER
    )
    slack.clear()
    harness.click(ids.SHARE_ANSWER, share["value"], "UTECH1", channel="CTECHS", message_ts="9.9")
    slack.wait_for(lambda: len(slack.to("response_url")) >= 2)
    harness.settle()
    posted, deleted = slack.to("response_url")
    assert posted.params["response_type"] == "in_channel" and "VAC-001" in text_of(posted.params["blocks"])
    assert "shared an answer" in text_of(posted.params["blocks"])
    assert deleted.params.get("delete_original") is True


def test_sop_without_a_question_says_how(harness: Harness, slack: FakeSlack) -> None:
    harness.command("/sop", "", "UTECH1")
    [note] = slack.wait_for(lambda: slack.to("response_url"))
    assert "/sop" in note.params["text"]


def test_deadlines_and_digest_are_ephemeral_and_refused_to_guests(harness: Harness, slack: FakeSlack) -> None:
    harness.command("/deadlines", "overdue", "UADMIN1")
    [listing] = slack.wait_for(lambda: slack.to("response_url"))
    harness.settle()
    assert listing.params["response_type"] == "ephemeral" and "Overdue" in text_of(listing.params["blocks"])

    slack.clear()
    harness.command("/digest", "", "UPHARM1")
    [digest] = slack.wait_for(lambda: slack.to("response_url"))
    harness.settle()
    assert "Compliance digest: Main Street Pharmacy" in text_of(digest.params["blocks"])

    slack.clear()
    harness.command("/digest", "", "USTRANGER")
    [refusal] = slack.wait_for(lambda: slack.to("response_url"))
    assert "staff directory" in refusal.params["text"]


def test_votes_are_stored_for_evaluation(harness: Harness, slack: FakeSlack) -> None:
    ts = harness.mention("UTECH1", FRIDGE)
    [reply] = slack.wait_for(
        lambda: [c for c in slack.to("chat.postMessage") if c.params.get("thread_ts") == ts]
    )
    buttons = {
        e["action_id"]: e["value"]
        for b in reply.params["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }
    answer_ts = "1700000500.000100"
    harness.click(
        ids.NOT_HELPFUL, buttons[ids.NOT_HELPFUL], "UTECH1", channel="CGENERAL", message_ts=answer_ts
    )
    harness.click(ids.HELPFUL, buttons[ids.HELPFUL], "UPHARM1", channel="CGENERAL", message_ts=answer_ts)
    slack.wait_for(lambda: len(slack.to("chat.postEphemeral")) >= 2)
    # changing one's mind replaces the vote
    harness.click(ids.HELPFUL, buttons[ids.HELPFUL], "UTECH1", channel="CGENERAL", message_ts=answer_ts)
    slack.wait_for(lambda: len(slack.to("chat.postEphemeral")) >= 3)
    harness.settle()
    votes = {v.voter: v for v in list_votes(harness.store, principal=who(harness.store, "jdoe"))}
    assert set(votes) == {"bsmith", "jdoe"} and votes["bsmith"].helpful and votes["jdoe"].helpful
    v = votes["bsmith"]
    assert (
        v.message_ref == f"slack:T1:CGENERAL:{answer_ts}" and v.question == FRIDGE and v.reply_kind == "sop"
    )
    assert v.citations and v.citations[0].startswith("VAC-001 › ")
    assert v.conversation_id == f"slack:T1:CGENERAL:{ts}"
    with harness.store.begin() as conn:
        assert len(conn.execute(select(answer_votes)).all()) == 2


def test_command_parsing() -> None:
    assert deadline_question("") == "what's due in the next 2 weeks"
    assert deadline_question("30d") == "what's due in the next 30 days"
    assert deadline_question("2 weeks") == "what's due in the next 2 weeks"
    assert deadline_question("this month") == "what's due this month"
    assert deadline_question("overdue at main") == "what's overdue at main"
    assert deadline_question("when is our DEA registration due?") == "when is our DEA registration due"
    assert parse_draft_command("pa-packet PA for Mrs. J") == ("pa-packet", "PA for Mrs. J")
    assert parse_draft_command("an appeal for the denied Ozempic PA")[0] == "pa-appeal"
    assert parse_draft_command("something else") == (None, "something else")
