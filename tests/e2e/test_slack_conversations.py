"""Conversations end to end: the real Bolt app over HTTP, the real SOP index, the fake Slack Web API."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from assistant.agent.replies import ChatContext, HelpReply, Reply, SopReply
from assistant.agent.respond import respond as real_respond
from assistant.sops.models import Answer, Passage
from tests.e2e.conftest import PHARMACY, Harness, prepare, signed_headers, slack_settings, start
from tests.e2e.fake_slack import BOT_ID, BOT_USER, FakeSlack, action_ids, text_of

FRIDGE = "the vaccine fridge read 9 C, now what?"


def replies_in(slack: FakeSlack, thread_ts: str) -> list:
    return [c for c in slack.to("chat.postMessage") if c.params.get("thread_ts") == thread_ts]


def test_mention_gets_a_threaded_cited_answer(harness: Harness, slack: FakeSlack) -> None:
    ts = harness.mention("UTECH1", FRIDGE)
    [reply] = slack.wait_for(lambda: replies_in(slack, ts))
    harness.settle()
    blocks = reply.params["blocks"]
    shown = text_of(blocks)
    assert reply.params["channel"] == "CGENERAL"
    assert "VAC-001" in shown and "›" in shown  # SOP id + section
    assert "[1]" in shown and "Sources" in shown
    assert action_ids(blocks)[-2:] == ["feedback_helpful", "feedback_not_helpful"]
    assert len(blocks) <= 50 and all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    # 👀 while working, taken away once answered; the bot token on every call
    assert [c.params["name"] for c in slack.to("reactions.add")] == ["eyes"]
    assert slack.calls.index(slack.to("reactions.add")[0]) < slack.calls.index(reply)  # 👀 first
    assert slack.to("reactions.add")[0].params["timestamp"] == ts
    assert len(slack.to("reactions.remove")) == 1
    assert all(
        c.headers.get("Authorization") == "Bearer xoxb-test-token" for c in slack.to("chat.postMessage")
    )


def test_assistant_thread_started_gets_suggested_prompts_by_role(harness: Harness, slack: FakeSlack) -> None:
    def start_thread(user: str, thread_ts: str) -> list[dict[str, str]]:
        event = {
            "type": "assistant_thread_started",
            "assistant_thread": {
                "user_id": user,
                "channel_id": "D0DM",
                "thread_ts": thread_ts,
                "context": {},
            },
            "event_ts": thread_ts,
        }
        assert harness.event(event) == 200
        calls = slack.wait_for(
            lambda: [
                c
                for c in slack.to("assistant.threads.setSuggestedPrompts")
                if c.params["thread_ts"] == thread_ts
            ]
        )
        return calls[0].params["prompts"]

    pharmacist = start_thread("UPHARM1", "1.1")
    technician = start_thread("UTECH1", "1.2")
    guest = start_thread("USTRANGER", "1.3")
    assert 2 <= len(guest) < len(technician) <= 4
    titles = lambda prompts: [p["title"] for p in prompts]  # noqa: E731
    assert "Draft a letter to a prescriber" in titles(pharmacist)
    assert "Draft a letter to a prescriber" not in titles(technician) and "Start a PA packet" in titles(
        technician
    )
    assert not any("draft" in p["message"].lower() or "due" in p["message"].lower() for p in guest)
    greetings = [c for c in slack.to("chat.postMessage") if c.params.get("channel") == "D0DM"]
    assert any(c.params["text"].startswith("Hi Jane!") for c in greetings)


def test_assistant_thread_message_shows_status_and_answers_in_the_thread(
    harness: Harness, slack: FakeSlack
) -> None:
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": "D0DM",
        "user": "UTECH1",
        "text": FRIDGE,
        "ts": "2.0002",
        "thread_ts": "2.0001",
    }
    assert harness.event(event) == 200
    [reply] = slack.wait_for(lambda: replies_in(slack, "2.0001"))
    status = slack.to("assistant.threads.setStatus")
    assert status and status[0].params["status"] == "searching our SOPs…"
    assert slack.to("assistant.threads.setTitle")[0].params["thread_ts"] == "2.0001"
    assert "VAC-001" in text_of(reply.params["blocks"])
    assert not slack.to("reactions.add")  # the assistant pane shows a status instead


def test_bad_signature_is_refused_and_nothing_is_posted(harness: Harness, slack: FakeSlack) -> None:
    body = json.dumps(
        {"type": "event_callback", "event_id": "EvBAD", "event": {"type": "app_mention"}}
    ).encode()
    forged = signed_headers(body, secret="not-the-secret")
    status, _ = harness.post(body, "application/json", forged)
    assert status == 401
    harness.settle()
    assert not slack.to("chat.postMessage") and not slack.to("reactions.add")


def test_a_request_older_than_five_minutes_is_refused(harness: Harness, slack: FakeSlack) -> None:
    event = {
        "type": "app_mention",
        "user": "UTECH1",
        "text": f"<@UBOT> {FRIDGE}",
        "channel": "CGENERAL",
        "ts": "3.1",
    }
    body = json.dumps(
        {"type": "event_callback", "team_id": "T1", "event_id": "EvOLD", "event": event}
    ).encode()
    stale = signed_headers(body, timestamp=int(time.time()) - 6 * 60)  # correctly signed, but replayed late
    status, _ = harness.post(body, "application/json", stale)
    assert status == 401
    harness.settle()
    assert not slack.to("chat.postMessage")


def test_a_retried_event_gets_one_reply(harness: Harness, slack: FakeSlack) -> None:
    ts = harness.mention("UTECH1", FRIDGE, event_id="EvRETRY1")
    # Slack timed out waiting and delivers the same event again, twice
    for n in (1, 2):
        retry = {"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "http_timeout"}
        harness.mention("UTECH1", FRIDGE, ts=ts, event_id="EvRETRY1", headers=retry)
    slack.wait_for(lambda: replies_in(slack, ts))
    harness.settle()
    assert len(replies_in(slack, ts)) == 1
    assert len(slack.to("reactions.add")) == 1


def test_a_redelivery_to_another_instance_gets_no_second_reply(
    sop_data_dir: Path, slack: FakeSlack, staff_file: Path, tmp_path: Path, pg_url: str
) -> None:
    """Two instances behind one URL share the database: whichever gets the retry stays quiet."""
    settings = slack_settings(sop_data_dir, slack, database_url=pg_url)
    from assistant.store import open_store

    prepare(open_store(settings), staff_file, tmp_path)
    one, two = start(settings, slack), start(settings, slack)
    try:
        ts = one.mention("UTECH1", FRIDGE, event_id="EvTWICE")
        two.mention("UTECH1", FRIDGE, ts=ts, event_id="EvTWICE", headers={"X-Slack-Retry-Num": "1"})
        slack.wait_for(lambda: replies_in(slack, ts))
        one.settle()
        two.settle()
        assert len(replies_in(slack, ts)) == 1
    finally:
        one.close()
        two.close()


def test_own_and_other_bots_messages_are_ignored(harness: Harness, slack: FakeSlack) -> None:
    own = {
        "type": "message",
        "channel_type": "im",
        "channel": "D0DM",
        "user": BOT_USER,
        "bot_id": BOT_ID,
        "text": "hi",
        "ts": "4.1",
    }
    other = {
        "type": "message",
        "channel_type": "im",
        "channel": "D0DM",
        "user": "UOTHERBOT",
        "bot_id": "BOTHER",
        "text": FRIDGE,
        "ts": "4.2",
    }
    other_mention = {
        "type": "app_mention",
        "channel": "CGENERAL",
        "user": "UOTHERBOT",
        "bot_id": "BOTHER",
        "text": f"<@UBOT> {FRIDGE}",
        "ts": "4.3",
    }
    for event in (own, other, other_mention):
        assert harness.event(event) == 200
    harness.settle()
    assert slack.methods() <= {"auth.test"}


def test_a_direct_message_is_answered_in_its_thread_and_follow_ups_share_the_conversation(
    sop_data_dir: Path, slack: FakeSlack, staff_file: Path, tmp_path: Path
) -> None:
    seen: list[ChatContext] = []

    def recording(message: str, ctx: ChatContext, *, on_text=None) -> Reply:  # type: ignore[no-untyped-def]
        seen.append(ctx)
        return real_respond(message, ctx, on_text=on_text)

    settings = slack_settings(sop_data_dir, slack)
    from assistant.store import open_store

    prepare(open_store(settings), staff_file, tmp_path)
    h = start(settings, slack, respond=recording)
    try:
        top = {
            "type": "message",
            "channel_type": "im",
            "channel": "D0DM",
            "user": "UPHARM1",
            "text": FRIDGE,
            "ts": "5.1",
        }
        assert h.event(top) == 200
        slack.wait_for(lambda: replies_in(slack, "5.1"))
        follow = {**top, "text": "and who do I tell?", "ts": "5.2", "thread_ts": "5.1"}
        assert h.event(follow) == 200
        slack.wait_for(lambda: len(replies_in(slack, "5.1")) == 2)
        h.settle()
        assert [c.conversation_id for c in seen] == ["slack:T1:D0DM:5.1"] * 2
        assert {c.principal.id for c in seen} == {"jdoe"} and seen[0].site == "main"
    finally:
        h.close()


def test_streamed_replies_use_slacks_streaming_api(
    sop_data_dir: Path, slack: FakeSlack, staff_file: Path, tmp_path: Path
) -> None:
    """When the agent streams (calls on_text), the reply is streamed; the citations close it."""

    def streaming(message: str, ctx: ChatContext, *, on_text=None) -> Reply:  # type: ignore[no-untyped-def]
        reply = real_respond(message, ctx)
        assert isinstance(reply, SopReply)
        for word in ["Move ", "the vaccines ", "to the backup unit ", "and log the excursion. " * 10]:
            on_text(word)
        return reply

    settings = slack_settings(sop_data_dir, slack)
    from assistant.store import open_store

    prepare(open_store(settings), staff_file, tmp_path)
    h = start(settings, slack, respond=streaming)
    try:
        ts = h.mention("UTECH1", FRIDGE)
        stop = slack.wait_for(lambda: slack.to("chat.stopStream"))
        h.settle()
        start_call = slack.to("chat.startStream")[0]
        assert start_call.params["thread_ts"] == ts and start_call.params["recipient_user_id"] == "UTECH1"
        streamed = "".join(
            ch["text"]
            for c in slack.to("chat.startStream") + slack.to("chat.appendStream") + stop
            for ch in c.json("chunks") or []
        )
        assert streamed.startswith("Move the vaccines to the backup unit")
        tail = text_of(stop[0].json("blocks"))
        assert "Sources" in tail and "VAC-001" in tail
        assert not replies_in(slack, ts)  # no second, unstreamed copy
    finally:
        h.close()


def test_no_stream_when_the_agent_does_not_stream(harness: Harness, slack: FakeSlack) -> None:
    ts = harness.mention("UPHARM1", FRIDGE)
    slack.wait_for(lambda: replies_in(slack, ts))
    harness.settle()
    assert not slack.to("chat.startStream")


def test_a_long_answer_is_split_within_slacks_limits(
    sop_data_dir: Path, slack: FakeSlack, staff_file: Path, tmp_path: Path
) -> None:
    long_line = "Check the temperature log, move the stock, call the manufacturer. " * 60  # ~4,000 characters
    passages = [
        Passage(
            n=i,
            sop_id=f"SOP-{i:03d}",
            title="A long SOP",
            section=f"Step {i}",
            source="x.md",
            score=1.0,
            lines=[long_line] * 2,
        )
        for i in range(1, 31)
    ]
    answer = Answer(question="q", outcome="answered", passages=passages, role="pharmacist")

    def verbose(message: str, ctx: ChatContext, *, on_text=None) -> Reply:  # type: ignore[no-untyped-def]
        return SopReply(answer=answer)

    settings = slack_settings(sop_data_dir, slack)
    from assistant.store import open_store

    prepare(open_store(settings), staff_file, tmp_path)
    h = start(settings, slack, respond=verbose)
    try:
        ts = h.mention("UPHARM1", "tell me everything")
        slack.wait_for(lambda: len(replies_in(slack, ts)) >= 2)
        h.settle()
        posts = replies_in(slack, ts)
        assert len(posts) >= 2
        for post in posts:
            blocks = post.params["blocks"]
            assert len(blocks) <= 50
            assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
        shown = "\n".join(text_of(p.params["blocks"]) for p in posts)
        assert all(f"SOP-{i:03d}" in shown for i in range(1, 31))  # split, never cut
        assert action_ids(posts[-1].params["blocks"])[-2:] == ["feedback_helpful", "feedback_not_helpful"]
    finally:
        h.close()


def test_a_failure_reaches_the_person_as_an_ephemeral_error(
    sop_data_dir: Path, slack: FakeSlack, staff_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(message: str, ctx: ChatContext, *, on_text=None) -> Reply:  # type: ignore[no-untyped-def]
        raise RuntimeError(f"boom while answering {message}")

    settings = slack_settings(sop_data_dir, slack)
    from assistant.store import open_store

    prepare(open_store(settings), staff_file, tmp_path)
    h = start(settings, slack, respond=broken)
    try:
        with caplog.at_level(logging.DEBUG):
            ts = h.mention("UTECH1", "where is the Narcan for Mrs. Zebulon")
            [note] = slack.wait_for(lambda: slack.to("chat.postEphemeral"))
            h.settle()
        assert note.params["user"] == "UTECH1" and note.params["thread_ts"] == ts
        assert "failed on my side" in note.params["text"]
        assert not replies_in(slack, ts)
        # the log names the failure but holds none of the message
        assert "RuntimeError" in caplog.text and "Zebulon" not in caplog.text
    finally:
        h.close()


def test_message_text_stays_out_of_the_logs_unless_asked(
    sop_data_dir: Path, slack: FakeSlack, staff_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    question = "Mrs. Quillfeather's vaccine fridge read 9 C, now what?"
    for log_content in (False, True):
        caplog.clear()
        slack.clear()
        settings = slack_settings(sop_data_dir, slack, log_content=log_content)
        if not log_content:  # the first round sets the data up for both
            from assistant.store import open_store

            prepare(open_store(settings), staff_file, tmp_path)
        with caplog.at_level(logging.DEBUG):
            h = start(settings, slack)
            try:
                ts = h.mention("UTECH1", question)
                slack.wait_for(lambda: replies_in(slack, ts))  # noqa: B023
                h.settle()
            finally:
                h.close()
        assert ("Quillfeather" in caplog.text) is log_content


def test_rate_limits_are_honored(harness: Harness, slack: FakeSlack) -> None:
    slack.script("chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"})
    ts = harness.mention("UTECH1", FRIDGE)
    slack.wait_for(lambda: [c for c in replies_in(slack, ts)][1:])
    harness.settle()
    assert len(replies_in(slack, ts)) == 2  # the refused attempt, then the retry after Retry-After


def test_a_technicians_clinical_question_goes_to_the_pharmacist_channel(
    harness: Harness, slack: FakeSlack
) -> None:
    ts = harness.mention("UTECH1", "is it safe to take ibuprofen with warfarin?")
    [reply] = slack.wait_for(lambda: replies_in(slack, ts))
    harness.settle()
    assert "pharmacist" in text_of(reply.params["blocks"]) and PHARMACY in text_of(reply.params["blocks"])
    [notice] = [c for c in slack.to("chat.postMessage") if c.params["channel"] == PHARMACY]
    shown = text_of(notice.params["blocks"])
    assert "ibuprofen with warfarin" in shown and "archives/CGENERAL" in shown  # a link to the thread


def test_guests_get_sop_answers_only(harness: Harness, slack: FakeSlack) -> None:
    ts = harness.mention("USTRANGER", "draft pa-packet PA for Mrs. Johnson's Ozempic, T2DM")
    [note] = slack.wait_for(lambda: slack.to("chat.postEphemeral"))
    harness.settle()
    assert note.params["user"] == "USTRANGER" and "staff directory" in note.params["text"]
    assert not replies_in(slack, ts)


def test_help(harness: Harness, slack: FakeSlack) -> None:
    ts = harness.mention("UPHARM1", "help")
    [reply] = slack.wait_for(lambda: replies_in(slack, ts))
    assert "/draft" in text_of(reply.params["blocks"])
    assert HelpReply  # the router's help, rendered as blocks
