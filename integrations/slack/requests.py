"""One pydantic object per incoming Slack request, built from Bolt's body by the listener; handlers
take these and never dig in raw payloads. Their ``repr`` never shows message text (logs stay clean)."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, Field

_MENTION = re.compile(r"<@[A-Z0-9]+>")

Source = Literal["mention", "dm", "assistant"]


class SlackMessage(BaseModel):
    """A question to the assistant: an @-mention, a direct message or a message in an assistant thread."""

    source: Source
    team: str
    channel: str
    user: str
    text: str = Field(repr=False)
    ts: str
    thread_ts: str | None = None
    event_id: str | None = None
    channel_type: str | None = None

    @property
    def reply_thread(self) -> str:
        """Replies go in the message's thread (a new thread under a top-level message)."""
        return self.thread_ts or self.ts

    @property
    def conversation_id(self) -> str:
        """One conversation per Slack thread: the agent keeps the thread's memory under this id."""
        return f"slack:{self.team}:{self.channel}:{self.reply_thread}"

    @property
    def is_private(self) -> bool:
        """Only the asker and the bot see it (a DM or the assistant pane)."""
        return self.source != "mention" and (
            self.channel_type in (None, "im") or self.channel.startswith("D")
        )

    @classmethod
    def from_event(cls, body: dict[str, Any], source: Source) -> SlackMessage:
        event = body["event"]
        text = event.get("text") or ""
        if source == "mention":
            text = _MENTION.sub("", text, count=1)
        return cls(
            source=source,
            team=body.get("team_id") or event.get("team") or "",
            channel=event["channel"],
            user=event["user"],
            text=" ".join(text.split()),
            ts=event["ts"],
            thread_ts=event.get("thread_ts"),
            event_id=body.get("event_id"),
            channel_type=event.get("channel_type"),
        )


class ThreadStarted(BaseModel):
    """Someone opened the assistant pane (a new assistant thread)."""

    team: str
    channel: str
    thread_ts: str
    user: str
    event_id: str | None = None

    @classmethod
    def from_event(cls, body: dict[str, Any]) -> ThreadStarted:
        thread = body["event"]["assistant_thread"]
        return cls(
            team=body.get("team_id") or "",
            channel=thread["channel_id"],
            thread_ts=thread["thread_ts"],
            user=thread["user_id"],
            event_id=body.get("event_id"),
        )


class SlashCommand(BaseModel):
    command: str
    text: str = Field(default="", repr=False)
    user: str
    team: str
    channel: str
    trigger_id: str
    response_url: str = Field(repr=False)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> SlashCommand:
        return cls(
            command=body["command"],
            text=" ".join((body.get("text") or "").split()),
            user=body["user_id"],
            team=body.get("team_id") or "",
            channel=body.get("channel_id") or "",
            trigger_id=body.get("trigger_id") or "",
            response_url=body.get("response_url") or "",
        )


class ButtonClick(BaseModel):
    action_id: str
    value: str = Field(default="", repr=False)
    user: str
    team: str
    channel: str | None
    message_ts: str | None
    thread_ts: str | None
    trigger_id: str
    response_url: str | None = Field(default=None, repr=False)
    ephemeral: bool = False

    @property
    def draft_id(self) -> int:
        """Draft buttons carry "ID:KIND:VERSION"."""
        return int(self.value.split(":", 1)[0])

    @property
    def draft_kind(self) -> str:
        parts = self.value.split(":")
        return parts[1] if len(parts) > 1 else ""

    @property
    def draft_version(self) -> int | None:
        """The version the clicked card showed ("ID:KIND:VERSION"); None on older cards."""
        parts = self.value.split(":")
        return int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None

    def json_value(self) -> dict[str, Any]:
        try:
            data = json.loads(self.value)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> ButtonClick:
        action = body["actions"][0]
        container = body.get("container") or {}
        message = body.get("message") or {}
        return cls(
            action_id=action["action_id"],
            value=action.get("value") or "",
            user=body["user"]["id"],
            team=(body.get("team") or {}).get("id") or body["user"].get("team_id") or "",
            channel=(body.get("channel") or {}).get("id") or container.get("channel_id"),
            message_ts=container.get("message_ts") or message.get("ts"),
            thread_ts=container.get("thread_ts") or message.get("thread_ts"),
            trigger_id=body.get("trigger_id") or "",
            response_url=body.get("response_url"),
            ephemeral=bool(container.get("is_ephemeral")),
        )


class ModalSubmit(BaseModel):
    callback_id: str
    user: str
    team: str
    view_id: str
    view_hash: str = ""
    values: dict[str, dict[str, Any]] = Field(default_factory=dict, repr=False)
    meta: dict[str, Any] = Field(default_factory=dict)

    def value(self, block_id: str, action_id: str) -> str:
        return ((self.values.get(block_id) or {}).get(action_id) or {}).get("value") or ""

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> ModalSubmit:
        view = body["view"]
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            meta = {}
        return cls(
            callback_id=view["callback_id"],
            user=body["user"]["id"],
            team=(body.get("team") or {}).get("id") or body["user"].get("team_id") or "",
            view_id=view.get("id") or "",
            view_hash=view.get("hash") or "",
            values=(view.get("state") or {}).get("values") or {},
            meta=meta if isinstance(meta, dict) else {},
        )
