"""``rxdesk slack`` and ``rxdesk serve``: the command a pharmacy runs, as a real process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.config import REPO_ROOT
from assistant.store import open_store
from tests.e2e.conftest import SECRET, TOKEN, prepare, signed_headers, slack_settings
from tests.e2e.fake_slack import FakeSlack, text_of

SLACK_VARS = [
    f"{prefix}{name}"
    for prefix in ("", "RXDESK_")
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL")
]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for var in SLACK_VARS:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_slack_without_tokens_says_which_variable(clean_env, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--data-dir", str(tmp_path), "slack"]) == 2
    assert "SLACK_BOT_TOKEN" in capsys.readouterr().err
    clean_env.setenv("SLACK_BOT_TOKEN", TOKEN)
    assert main(["--data-dir", str(tmp_path), "slack"]) == 2
    assert "SLACK_APP_TOKEN" in capsys.readouterr().err  # Socket Mode is the default
    assert main(["--data-dir", str(tmp_path), "slack", "--http"]) == 2
    assert "SLACK_SIGNING_SECRET" in capsys.readouterr().err


def test_a_refused_token_is_one_line(clean_env, tmp_path: Path, slack: FakeSlack, capsys) -> None:  # type: ignore[no-untyped-def]
    slack.script("auth.test", 200, {"ok": False, "error": "invalid_auth"})
    clean_env.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")
    clean_env.setenv("SLACK_SIGNING_SECRET", SECRET)
    clean_env.setenv("SLACK_API_URL", slack.api_url)
    assert main(["--data-dir", str(tmp_path), "slack", "--http", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: Slack did not accept the bot token (SLACK_BOT_TOKEN): invalid_auth"


def test_serve_starts_slack_when_its_tokens_are_set(
    clean_env, tmp_path: Path, slack: FakeSlack, capsys
) -> None:  # type: ignore[no-untyped-def]
    slack.script("auth.test", 200, {"ok": False, "error": "invalid_auth"})
    clean_env.setenv("RXDESK_SLACK_BOT_TOKEN", "xoxb-revoked")  # the RXDESK_ aliases work too
    clean_env.setenv("RXDESK_SLACK_SIGNING_SECRET", SECRET)
    clean_env.setenv("RXDESK_SLACK_API_URL", slack.api_url)
    assert main(["--data-dir", str(tmp_path), "serve"]) == 2
    assert "invalid_auth" in capsys.readouterr().err
    assert [c.headers["Authorization"] for c in slack.to("auth.test")] == ["Bearer xoxb-revoked"]


def test_socket_mode_connects_with_the_app_token(clean_env, tmp_path: Path, slack: FakeSlack, capsys) -> None:  # type: ignore[no-untyped-def]
    """Socket Mode asks the Web API for a connection with the app-level token (refused here)."""
    slack.script("apps.connections.open", 200, {"ok": False, "error": "invalid_auth"})
    clean_env.setenv("SLACK_BOT_TOKEN", TOKEN)
    clean_env.setenv("SLACK_APP_TOKEN", "xapp-revoked")
    clean_env.setenv("SLACK_API_URL", slack.api_url)
    assert main(["--data-dir", str(tmp_path), "slack"]) == 2
    assert "Socket Mode connection with SLACK_APP_TOKEN: invalid_auth" in capsys.readouterr().err
    [opened] = slack.to("apps.connections.open")
    assert opened.headers["Authorization"] == "Bearer xapp-revoked"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_rxdesk_slack_http_answers_a_mention(
    sop_data_dir: Path, slack: FakeSlack, staff_file: Path, tmp_path: Path
) -> None:
    prepare(open_store(slack_settings(sop_data_dir, slack)), staff_file, tmp_path)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in SLACK_VARS}
    env.update(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=slack.api_url)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "--data-dir",
            str(sop_data_dir),
            "slack",
            "--http",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        event = {
            "type": "app_mention",
            "user": "UTECH1",
            "text": "<@UBOT> vaccine fridge read 9 C now what",
            "channel": "CGENERAL",
            "ts": "8.1",
        }
        body = json.dumps(
            {"type": "event_callback", "team_id": "T1", "event_id": "EvCLI", "event": event}
        ).encode()
        deadline = time.monotonic() + 60
        while True:  # until the process listens
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/slack/events",
                data=body,
                headers={"Content-Type": "application/json", **signed_headers(body)},
                method="POST",
            )
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:
                    assert resp.status == 200
                    break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None and time.monotonic() < deadline, "rxdesk slack did not start"
                time.sleep(0.2)
        [reply] = slack.wait_for(
            lambda: [c for c in slack.to("chat.postMessage") if c.params.get("thread_ts") == "8.1"], 30
        )
        assert "VAC-001" in text_of(reply.params["blocks"])
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
