"""Getting things to people in Slack: threaded replies split within Slack's limits, streamed replies,
ephemeral notes (falling back to a direct message), and the pool that does slow work after the ack."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.chat_stream import ChatStream

from integrations.slack.blocks import Block, split_messages

log = logging.getLogger("rxdesk.slack")


def _lower_priority(nice: int) -> None:
    """Lower this thread's CPU priority (Linux: per thread), so acknowledging Slack's requests wins
    the CPU over composing answers on a busy machine."""
    if nice and hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


class Pool(ThreadPoolExecutor):
    """A thread pool that knows when it is idle (tests and shutdown wait for that, not for a clock)."""

    def __init__(self, workers: int, name: str, *, nice: int = 0) -> None:
        super().__init__(
            max_workers=workers, thread_name_prefix=name, initializer=_lower_priority, initargs=(nice,)
        )
        self._pending = 0
        self._idle = threading.Condition()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:  # type: ignore[override]
        with self._idle:
            self._pending += 1

        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

        return super().submit(run)

    @property
    def pending(self) -> int:
        return self._pending

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)


def post_thread(
    client: WebClient, channel: str, thread_ts: str | None, blocks: list[Block], text: str
) -> list[str]:
    """Post ``blocks`` in the thread as one message, or several when they exceed 50 blocks."""
    out = []
    for i, part in enumerate(split_messages(blocks)):
        resp = client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, blocks=part, text=text if i == 0 else f"{text} (continued)"
        )
        out.append(str(resp.get("ts") or ""))
    return out


def tell(
    client: WebClient,
    channel: str | None,
    user: str,
    text: str,
    *,
    thread_ts: str | None = None,
    blocks: list[Block] | None = None,
) -> None:
    """An ephemeral note only ``user`` sees; where that is impossible (the bot is not in the channel),
    a direct message instead. Never silence."""
    if channel:
        try:
            client.chat_postEphemeral(
                channel=channel, user=user, text=text, thread_ts=thread_ts, blocks=blocks
            )
            return
        except SlackApiError as exc:
            log.warning("ephemeral note failed (%s); sending a direct message", exc.response.get("error"))
    client.chat_postMessage(channel=user, text=text, blocks=blocks)


class StreamSink:
    """``on_text`` for :func:`respond`: the first chunk starts a streamed reply in the thread
    (chat.startStream), later chunks append to it; nothing is streamed when no text ever arrives."""

    def __init__(self, client: WebClient, *, channel: str, thread_ts: str, team: str, user: str) -> None:
        self._client = client
        self._args = {
            "channel": channel,
            "thread_ts": thread_ts,
            "recipient_team_id": team or None,
            "recipient_user_id": user,
        }
        self._stream: ChatStream | None = None
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        return self._stream is not None

    def __call__(self, chunk: str) -> None:
        if not chunk:
            return
        with self._lock:
            if self._stream is None:
                self._stream = self._client.chat_stream(buffer_size=64, **self._args)
            self._stream.append(markdown_text=chunk)

    def finish(self, blocks: list[Block]) -> str | None:
        """End the stream with ``blocks`` under the streamed text (at most one message's worth)."""
        assert self._stream is not None
        self._stream.stop(blocks=blocks or None)
        return self._stream.ts
