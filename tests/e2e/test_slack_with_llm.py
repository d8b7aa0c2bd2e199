"""The Slack app with the LLM agent behind it: the real Bolt app over HTTP, the real openai client
against a local fake OpenAI-compatible server that streams, the fake Slack Web API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.store import open_store
from tests.e2e.conftest import prepare, slack_settings, start
from tests.e2e.fake_slack import FakeSlack, text_of
from tests.fake_openai import FakeOpenAI, text, tool

FRIDGE = "the vaccine fridge read 9 C, now what?"


def _grounded(body: dict[str, Any]) -> dict[str, Any]:
    return text("Do not discard anything and label the stock [1]. Then fill in the excursion worksheet [1].")


def test_the_agents_streamed_answer_reaches_the_thread_and_memory_follows_it(
    sop_data_dir: Path, slack: FakeSlack, staff_file: Path, tmp_path: Path
) -> None:
    with FakeOpenAI() as llm:
        llm.script = [tool("search_sops", query="vaccine fridge excursion"), _grounded]
        settings = slack_settings(
            sop_data_dir, slack, llm_model="fake-model", llm_timeout_s=10, OPENAI_BASE_URL=llm.base_url
        )
        prepare(open_store(settings), staff_file, tmp_path)
        h = start(settings, slack)
        try:
            ts = h.mention("UTECH1", FRIDGE)
            stop = slack.wait_for(lambda: slack.to("chat.stopStream"))
            h.settle()
            streamed = "".join(
                ch["text"]
                for c in slack.to("chat.startStream") + slack.to("chat.appendStream") + stop
                for ch in c.json("chunks") or []
            )
            assert "Do not discard anything" in streamed and "[1]" in streamed
            assert "VAC-001" in text_of(stop[0].json("blocks"))  # the citations close the stream

            # a follow-up in the same thread carries the first exchange (the thread's memory)
            llm.script = [text("Fill in the worksheet.")]
            follow = f"{float(ts) + 1:.6f}"
            event = {
                "type": "app_mention", "user": "UTECH1", "text": "<@UBOT> and who do I tell?",
                "channel": "CGENERAL", "ts": follow, "event_ts": follow, "thread_ts": ts,
            }  # fmt: skip
            assert h.event(event) == 200
            slack.wait_for(lambda: len(llm.requests) >= 3)
            h.settle()
            users = [m for m in llm.requests[-1]["messages"] if m["role"] == "user"]
            assert len(users) == 2
        finally:
            h.close()
