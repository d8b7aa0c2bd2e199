"""The real Bolt app served over HTTP (wsgiref, a free port, a thread) against the fake Slack Web API,
with requests signed as Slack signs them."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from assistant.calendar.library import import_library
from assistant.config import REPO_ROOT, Settings
from assistant.principal import OPERATOR
from assistant.staff import import_staff
from assistant.store import Store, open_store
from integrations.slack.app import SlackApp, create_app
from integrations.slack.deps import RespondFn
from integrations.slack.server import serve_in_thread
from tests.e2e.fake_slack import TEAM, FakeSlack

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"
CHANNEL = "C0MAIN"  # the compliance channel of site "main"
PHARMACY = "C0MAINRX"  # its pharmacist channel
OBLIGATIONS = REPO_ROOT / "knowledge" / "compliance" / "obligations.yaml"


def signed_headers(body: bytes, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body.decode())
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


class Harness:
    """One running app instance and helpers that speak to it as Slack does."""

    def __init__(self, app: SlackApp, slack: FakeSlack) -> None:
        self.app = app
        self.slack = slack
        self.server, self.thread = serve_in_thread(app)
        self.url = f"http://127.0.0.1:{self.server.server_port}/slack/events"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.app.close()

    @property
    def store(self) -> Store:
        return self.app.store

    def settle(self) -> None:
        assert self.app.wait_idle(30), "the app did not finish its work"

    # ---- raw HTTP --------------------------------------------------------------------------------

    def post(
        self, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        h = {"Content-Type": content_type, **signed_headers(body), **(headers or {})}
        req = urllib.request.Request(self.url, data=body, headers=h, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    # ---- Slack payloads --------------------------------------------------------------------------

    def event(
        self, event: dict[str, Any], *, event_id: str | None = None, headers: dict[str, str] | None = None
    ) -> int:
        body = {
            "token": "legacy",
            "team_id": TEAM,
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10]}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}],
            "event": event,
        }
        status, _ = self.post(json.dumps(body).encode(), "application/json", headers)
        return status

    def mention(
        self, user: str, text: str, *, channel: str = "CGENERAL", ts: str | None = None, **kw: Any
    ) -> str:
        ts = ts or f"{time.time():.6f}"
        event = {
            "type": "app_mention",
            "user": user,
            "text": f"<@UBOT> {text}",
            "channel": channel,
            "ts": ts,
            "event_ts": ts,
        }
        assert self.event(event, **kw) == 200
        return ts

    def command(self, command: str, text: str, user: str, *, channel: str = "CGENERAL") -> tuple[int, bytes]:
        form = {
            "token": "legacy",
            "team_id": TEAM,
            "channel_id": channel,
            "user_id": user,
            "command": command,
            "text": text,
            "response_url": self.slack.response_url(uuid.uuid4().hex[:8]),
            "trigger_id": f"trig.{uuid.uuid4().hex[:8]}",
        }
        return self.post(urlencode(form).encode(), "application/x-www-form-urlencoded")

    def interact(self, payload: dict[str, Any]) -> int:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        status, _ = self.post(body, "application/x-www-form-urlencoded")
        return status

    def click(
        self,
        action_id: str,
        value: str,
        user: str,
        *,
        channel: str,
        message_ts: str,
        trigger_id: str | None = None,
    ) -> int:
        return self.interact(
            {
                "type": "block_actions",
                "team": {"id": TEAM},
                "user": {"id": user, "team_id": TEAM},
                "channel": {"id": channel},
                "container": {
                    "type": "message",
                    "channel_id": channel,
                    "message_ts": message_ts,
                    "is_ephemeral": False,
                },
                "message": {"ts": message_ts, "type": "message"},
                "trigger_id": trigger_id or f"trig.{uuid.uuid4().hex[:8]}",
                "response_url": self.slack.response_url("click"),
                "actions": [{"type": "button", "action_id": action_id, "value": value, "block_id": "b1"}],
            }
        )

    def submit(self, view: dict[str, Any], values: dict[str, Any], user: str) -> tuple[int, bytes]:
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM},
            "user": {"id": user, "team_id": TEAM},
            "trigger_id": f"trig.{uuid.uuid4().hex[:8]}",
            "view": {
                **view,
                "id": view.get("id", "V1"),
                "hash": view.get("hash", "h1"),
                "state": {"values": values},
            },
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, "application/x-www-form-urlencoded")


def form_values(view: dict[str, Any], changes: dict[str, str] | None = None) -> dict[str, Any]:
    """The state Slack would submit for ``view`` as prefilled, with ``changes`` typed in (block id -> text)."""
    out: dict[str, Any] = {}
    for b in view["blocks"]:
        if b.get("type") != "input":
            continue
        e = b["element"]
        if e["type"] == "static_select":
            option = e.get("initial_option")
            out[b["block_id"]] = {e["action_id"]: {"type": "static_select", "selected_option": option}}
        else:
            out[b["block_id"]] = {e["action_id"]: {"type": e["type"], "value": e.get("initial_value")}}
    for block_id, text in (changes or {}).items():
        action = next(iter(out[block_id]))
        out[block_id][action]["value"] = text
    return out


def slack_settings(data_dir: Path, slack: FakeSlack, **extra: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        data_dir=data_dir,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack.api_url,
        slack_workers=4,
        _env_file=None,
        **extra,
    )


def prepare(store: Store, staff_file: Path, tmp_path: Path) -> None:
    """Staff (jdoe pharmacist UPHARM1, bsmith technician UTECH1, aadmin UADMIN1) and the shipped
    compliance library, with site main's pharmacist channel."""
    import_staff(store, staff_file, principal=OPERATOR)
    import_library(store, OBLIGATIONS, principal=OPERATOR)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def sop_data_dir(shipped_data_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the shipped SOP index (real model) for one test."""
    data_dir = tmp_path / "data"
    shutil.copytree(shipped_data_dir, data_dir)
    return data_dir


def start(
    settings: Settings, slack: FakeSlack, *, respond: RespondFn | None = None, instance: str | None = None
) -> Harness:
    store = open_store(settings)
    kwargs: dict[str, Any] = {"instance": instance}
    if respond is not None:
        kwargs["respond"] = respond
    return Harness(create_app(settings, store, **kwargs), slack)


@pytest.fixture
def harness(sop_data_dir: Path, slack: FakeSlack, staff_file: Path, tmp_path: Path) -> Iterator[Harness]:
    """The app over the real SOP index, staff and calendar (SQLite)."""
    settings = slack_settings(sop_data_dir, slack)
    store = open_store(settings)
    prepare(store, staff_file, tmp_path)
    store.dispose()
    h = start(settings, slack)
    yield h
    h.close()
    h.store.dispose()
