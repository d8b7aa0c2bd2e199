"""The Slack app over HTTP against a local fake Slack Web API (signed requests, real SOP index):

1. acknowledgement latency: 200 app_mention events (and 200 /sop commands) sent 20 at a time; time
   from sending a request to Slack getting its HTTP response. Baseline in the same run: a bare Bolt
   app (same server, same signing secret) whose listener does nothing. Target: p99 <= 100 ms.
   The real app keeps answering the earlier mentions on its worker pool while later ones arrive.
2. mention-to-reply, offline: one mention at a time; time from sending the event to the threaded
   reply reaching the fake Web API. Baseline: ``respond()`` called directly in-process on the same
   questions. Target: p95 <= 1.5 s.

The fake Web API runs in its own process, as Slack's servers would: the process measured holds only
the app (and the load generator, in both runs). The SOP index is kept in bench/out/slack (built on
the first run, about a minute).

    .venv/bin/python bench/bench_slack.py
"""

from __future__ import annotations

import json
import logging
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slack_bolt import App  # noqa: E402
from slack_sdk.signature import SignatureVerifier  # noqa: E402

from assistant.agent.respond import respond  # noqa: E402
from assistant.calendar.library import import_library  # noqa: E402
from assistant.cli import main as cli  # noqa: E402
from assistant.config import REPO_ROOT, Settings  # noqa: E402
from assistant.principal import OPERATOR  # noqa: E402
from assistant.staff import get_staff, import_staff  # noqa: E402
from assistant.store import open_store  # noqa: E402
from integrations.slack.app import create_app, make_client  # noqa: E402
from integrations.slack.server import make_http_server, serve_in_thread  # noqa: E402

OUT = REPO_ROOT / "bench" / "out" / "slack"
SECRET = "bench-secret"
EVENTS = 200
CONCURRENCY = 20
STAFF = """\
staff:
  - {id: jdoe, name: Jane Doe, role: pharmacist, site: main, slack_user_id: UPHARM1}
  - {id: bsmith, name: Bob Smith, role: technician, site: main, slack_user_id: UTECH1}
"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def line(name: str, values: list[float], unit: str = "ms") -> str:
    return (
        f"{name:<34} p50 {statistics.median(values):7.1f} {unit}   p95 {pct(values, 95):7.1f} {unit}   "
        f"p99 {pct(values, 99):7.1f} {unit}   max {max(values):7.1f} {unit}   (n={len(values)})"
    )


def sign(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body.decode()),
    }


def post(url: str, body: bytes, content_type: str) -> float:
    """Send one signed request; milliseconds until the acknowledgement arrived."""
    req = urllib.request.Request(
        url, data=body, headers={"Content-Type": content_type, **sign(body)}, method="POST"
    )
    started = time.perf_counter()
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()
        assert resp.status == 200, resp.status
    return (time.perf_counter() - started) * 1000


def mention_body(text: str, ts: str, user: str = "UTECH1") -> bytes:
    event = {"type": "app_mention", "user": user, "text": f"<@UBOT> {text}", "channel": "CBENCH", "ts": ts}
    body = {"type": "event_callback", "team_id": "T1", "event_id": f"Ev{uuid.uuid4().hex}", "event": event}
    return json.dumps(body).encode()


class RemoteSlack:
    """The fake Slack Web API (tests/e2e/fake_slack.py) in a child process."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.fake_slack"],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.base = self.proc.stdout.readline().strip()
        self.api_url = f"{self.base}/api/"

    def response_url(self) -> str:
        return f"{self.base}/response/bench"

    def wait_reply(self, thread_ts: str) -> None:
        query = urlencode({"method": "chat.postMessage", "thread_ts": thread_ts, "timeout": 30})
        with urllib.request.urlopen(f"{self.base}/_wait?{query}", timeout=40) as resp:
            assert resp.status == 200

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)


def command_body(text: str, slack: RemoteSlack) -> bytes:
    form = {
        "command": "/sop",
        "text": text,
        "user_id": "UTECH1",
        "team_id": "T1",
        "channel_id": "CBENCH",
        "trigger_id": uuid.uuid4().hex,
        "response_url": slack.response_url(),
    }
    return urlencode(form).encode()


def burst(send: Callable[[int], float]) -> list[float]:
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        return list(pool.map(send, range(EVENTS)))


def data_dir() -> Path:
    """The shipped SOPs indexed with the real model, kept between runs."""
    target = OUT / "data"
    assert cli(["--data-dir", str(target), "ingest", str(REPO_ROOT / "knowledge" / "sops")]) == 0
    return target


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    questions = [
        json.loads(row)["question"]
        for row in (REPO_ROOT / "knowledge" / "eval" / "questions.jsonl").read_text().splitlines()
        if row.strip()
    ]
    slack = RemoteSlack()
    settings = Settings(  # type: ignore[call-arg]
        data_dir=data_dir(),
        database_url=f"sqlite:///{tempfile.mkdtemp()}/bench.db",
        slack_bot_token="xoxb-bench",
        slack_signing_secret=SECRET,
        slack_api_url=slack.api_url,
        _env_file=None,
    )
    store = open_store(settings)
    staff_file = Path(tempfile.mkdtemp()) / "staff.yaml"
    staff_file.write_text(STAFF)
    import_staff(store, staff_file, principal=OPERATOR)
    import_library(store, REPO_ROOT / "knowledge" / "compliance" / "obligations.yaml", principal=OPERATOR)

    # the baseline: a bare Bolt app that acknowledges and does nothing
    bare = App(client=make_client(settings), signing_secret=SECRET)
    bare.event("app_mention")(lambda: None)
    bare.command("/sop")(lambda ack: ack())

    class Bare:  # what make_http_server needs of an app
        bolt = bare

    bare_server = make_http_server(Bare(), "127.0.0.1", 0)  # type: ignore[arg-type]
    threading.Thread(target=bare_server.serve_forever, args=(0.05,), daemon=True).start()
    bare_url = f"http://127.0.0.1:{bare_server.server_port}/slack/events"

    app = create_app(settings, store)
    app.warm_up()
    server, _ = serve_in_thread(app)
    url = f"http://127.0.0.1:{server.server_port}/slack/events"

    # warm both (connections, Bolt's first auth, the index)
    for i in range(5):
        post(bare_url, mention_body("warm", f"0.{i}"), "application/json")
        post(url, mention_body(questions[i], f"0.{i}"), "application/json")
    app.wait_idle(120)

    print(f"== acknowledgement latency: {EVENTS} requests, {CONCURRENCY} at a time")
    base_events = burst(lambda i: post(bare_url, mention_body("q", f"1.{i}"), "application/json"))
    real_events = burst(
        lambda i: post(url, mention_body(questions[i % len(questions)], f"1.{i}"), "application/json")
    )
    backlog = app.work.pending
    app.wait_idle(600)
    form = "application/x-www-form-urlencoded"
    base_cmds = burst(lambda i: post(bare_url, command_body("q", slack), form))
    real_cmds = burst(lambda i: post(url, command_body(questions[i % len(questions)], slack), form))
    app.wait_idle(600)
    print(line("baseline: bare Bolt, app_mention", base_events))
    print(line("rxdesk, app_mention", real_events))
    print(line("baseline: bare Bolt, /sop", base_cmds))
    print(line("rxdesk, /sop", real_cmds))
    print(
        f"ratio rxdesk/baseline p99: mentions {pct(real_events, 99) / pct(base_events, 99):.2f}x, "
        f"/sop {pct(real_cmds, 99) / pct(base_cmds, 99):.2f}x   "
        f"(answers still queued after the mention burst: {backlog})   [target: p99 <= 100 ms]"
    )

    print("\n== mention to threaded reply, offline, one at a time")
    asked = questions[:40]
    direct = []
    principal = get_staff(store, "bsmith").principal()
    ctx = app.deps.ctx(principal, "bench")
    for q in asked:
        started = time.perf_counter()
        respond(q, ctx)
        direct.append((time.perf_counter() - started) * 1000)
    to_reply = []
    for i, q in enumerate(asked):
        ts = f"2.{i:04d}"
        started = time.perf_counter()
        post(url, mention_body(q, ts), "application/json")
        slack.wait_reply(ts)
        to_reply.append((time.perf_counter() - started) * 1000)
        app.wait_idle(30)
    print(line("baseline: respond() in-process", direct))
    print(line("rxdesk: mention -> reply", to_reply))
    print(
        f"ratio p95: {pct(to_reply, 95) / pct(direct, 95):.2f}x; Slack plumbing adds "
        f"{statistics.median(to_reply) - statistics.median(direct):.0f} ms at the median   [target: p95 <= 1500 ms]"
    )
    server.shutdown()
    bare_server.shutdown()
    app.close()
    slack.stop()


if __name__ == "__main__":
    main()
