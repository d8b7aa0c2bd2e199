"""manifest.yaml against the code: what the app registers is declared, and the bot scopes are exactly
what its Web API calls and events need (no missing scope, no spare one)."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest
import yaml
from slack_sdk import WebClient

import integrations.slack
from assistant.config import REPO_ROOT
from assistant.store import open_store
from integrations.slack import actions as ids
from integrations.slack.app import SlackApp, create_app
from tests.e2e.conftest import slack_settings
from tests.e2e.fake_slack import SEEN_METHODS, FakeSlack

MANIFEST = yaml.safe_load((REPO_ROOT / "manifest.yaml").read_text())
BOT_SCOPES = set(MANIFEST["oauth_config"]["scopes"]["bot"])
BOT_EVENTS = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])

# Web API method -> the bot scope it needs (None: none). A method missing here fails the test, so a
# new call cannot slip in without someone looking its scope up (docs.slack.dev/reference/methods).
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "chat.startStream": "chat:write",
    "chat.appendStream": "chat:write",
    "chat.stopStream": "chat:write",
    "chat.getPermalink": None,
    "reactions.add": "reactions:write",
    "reactions.remove": "reactions:write",
    "assistant.threads.setStatus": "assistant:write",
    "assistant.threads.setSuggestedPrompts": "assistant:write",
    "assistant.threads.setTitle": "assistant:write",
    "views.open": None,
    "views.update": None,
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "apps.connections.open": None,  # Socket Mode, with the app-level token (connections:write)
}
# called by the SDK itself (Socket Mode), not by our code
SDK_INTERNAL = {"apps.connections.open"}
# Events API subscription -> the scope it needs
EVENT_SCOPES = {
    "app_mention": "app_mentions:read",
    "message.im": "im:history",
    "assistant_thread_started": "assistant:write",
    "assistant_thread_context_changed": "assistant:write",
}
# SDK helpers that call several methods
HELPERS = {
    "chat_stream": {"chat.startStream", "chat.appendStream", "chat.stopStream"},
    "files_upload_v2": {"files.getUploadURLExternal", "files.completeUploadExternal"},
}


def _sdk_methods() -> dict[str, set[str]]:
    """WebClient's Python method name -> the Web API method(s) it calls, read from the SDK's source."""
    tree = ast.parse(inspect.getsource(WebClient))
    out: dict[str, set[str]] = dict(HELPERS)
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef):
            found = {
                n.args[0].value
                for n in ast.walk(fn)
                if isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and n.func.attr == "api_call"
                and n.args
                and isinstance(n.args[0], ast.Constant)
            }
            if found:
                out.setdefault(fn.name, set()).update(found)
    return out


def called_in_code() -> set[str]:
    """Every Web API method the Slack adapter's code calls (``….client.<method>(…)``), plus Bolt's
    own auth.test at start."""
    sdk = _sdk_methods()
    methods = {"auth.test"}
    for path in Path(integrations.slack.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                receiver = ast.unparse(node.func.value)
                if re.search(r"(^|\.)(client|_client)$", receiver) and node.func.attr in sdk:
                    methods |= sdk[node.func.attr]
    return methods


@pytest.fixture
def app(tmp_path: Path, slack: FakeSlack) -> SlackApp:
    settings = slack_settings(tmp_path / "data", slack)
    a = create_app(settings, open_store(settings))
    yield a
    a.close()


def test_the_static_scan_sees_calls() -> None:
    found = called_in_code()
    assert {"chat.postMessage", "views.open", "files.completeUploadExternal", "chat.stopStream"} <= found


def test_bot_scopes_are_exactly_what_the_calls_and_events_need() -> None:
    methods = called_in_code() | SEEN_METHODS - {"response_url", "upload"}
    unknown = sorted(m for m in methods if m not in METHOD_SCOPES)
    assert unknown == [], f"look up the scope of {unknown} and add it to METHOD_SCOPES"
    needed = {METHOD_SCOPES[m] for m in methods} | {EVENT_SCOPES[e] for e in BOT_EVENTS}
    needed |= {"commands"} if MANIFEST["features"]["slash_commands"] else set()
    needed.discard(None)
    assert needed == BOT_SCOPES


def test_every_method_seen_by_the_fake_slack_is_found_by_the_scan() -> None:
    """The end-to-end tests (run before this file) recorded what the app really called."""
    assert SEEN_METHODS - {"response_url", "upload"} - SDK_INTERNAL <= called_in_code()


def test_what_the_app_registers_is_declared(app: SlackApp) -> None:
    registered = app.registry.registered
    commands = {name for kind, name in registered if kind == "command"}
    assert commands == {c["command"] for c in MANIFEST["features"]["slash_commands"]}

    events = {name for kind, name in registered if kind == "event"}
    as_subscribed = {"message.im" if e == "message" else e for e in events}
    assert as_subscribed == BOT_EVENTS

    actions = {name for kind, name in registered if kind in ("action", "view")}
    assert not any(kind == "shortcut" for kind, _ in registered)
    assert not MANIFEST["features"].get("shortcuts")
    if actions:
        assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert "assistant_view" in MANIFEST["features"]

    # nothing was registered behind the registry's back
    assert len(app.bolt._listeners) == app.registry.listeners


def test_every_button_the_app_renders_has_a_listener(app: SlackApp) -> None:
    button_ids = {
        v
        for k, v in vars(ids).items()
        if k.isupper() and isinstance(v, str) and v.startswith(("draft_", "feedback_", "sop_"))
    }
    registered = {name for _, name in app.registry.registered}
    assert button_ids <= registered
