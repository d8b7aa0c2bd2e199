"""A local stand-in for Slack's Web API: a stdlib HTTP server that records every call and answers like
Slack does (``ok``, message timestamps, upload URLs). Response URLs and file uploads land here too.

Only what is outside our control is faked; the app under test is the real Bolt app over real HTTP.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

# every Web API method any FakeSlack was called with in this test session (the manifest test reads it)
SEEN_METHODS: set[str] = set()

BOT_USER = "UBOT"
BOT_ID = "BBOT"
TEAM = "T1"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


@dataclass
class Call:
    method: str  # "chat.postMessage", "response_url", "upload"
    params: dict[str, Any]
    headers: dict[str, str]
    body: bytes = b""

    def json(self, name: str) -> Any:
        """A parameter that Slack's SDK sends JSON-encoded inside a form (blocks, files ...)."""
        value = self.params.get(name)
        return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value


@dataclass
class Scripted:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.scripts: dict[str, list[Scripted]] = {}
        self._changed = threading.Condition()
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                fake._handle(self)

            def do_POST(self) -> None:  # noqa: N802
                fake._handle(self)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, token: str = "r1") -> str:
        return f"{self.base}/response/{token}"

    # ---- what the tests look at ------------------------------------------------------------------

    def script(
        self, method: str, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next call of ``method`` this way (once), e.g. a 429 with Retry-After."""
        self.scripts.setdefault(method, []).append(Scripted(status, body, headers or {}))

    def to(self, method: str) -> list[Call]:
        with self._changed:
            return [c for c in self.calls if c.method == method]

    def methods(self) -> set[str]:
        with self._changed:
            return {c.method for c in self.calls}

    def wait_for(self, check: Callable[[], Any], timeout: float = 15.0) -> Any:
        """Wait until ``check()`` is truthy (re-checked on every call received); returns its value."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = check()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    return value
                self._changed.wait(left)

    def clear(self) -> None:
        with self._changed:
            self.calls.clear()

    # ---- serving ---------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        return f"1700000{next(self._ts):03d}.000100"

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        url = urlparse(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        params: dict[str, Any] = dict(parse_qsl(url.query))
        ctype = req.headers.get("Content-Type") or ""
        if url.path.startswith("/upload/"):
            pass  # file bytes (urllib labels them as a form)
        elif raw and "json" in ctype:
            params.update(json.loads(raw))
        elif raw and "x-www-form-urlencoded" in ctype:
            params.update(parse_qsl(raw.decode()))
        if url.path == "/_wait":  # for a process outside this one (the benchmark): wait for a call
            self._serve_wait(req, params)
            return
        if url.path.startswith("/api/"):
            method = url.path.removeprefix("/api/")
        elif url.path.startswith("/response/"):
            method = "response_url"
            params["_token"] = url.path.rsplit("/", 1)[1]
        elif url.path.startswith("/upload/"):
            method = "upload"
            params["_file_id"] = url.path.rsplit("/", 1)[1]
        else:
            method = url.path
        call = Call(method=method, params=params, headers=dict(req.headers.items()), body=raw)
        with self._changed:
            scripted = self.scripts.get(method)
            answer = scripted.pop(0) if scripted else None
            self.calls.append(call)
            SEEN_METHODS.add(method)
            self._changed.notify_all()
        if answer is None:
            answer = Scripted(200, self._answer(call))
        data = b"OK" if method == "upload" else json.dumps(answer.body).encode()
        req.send_response(answer.status)
        req.send_header("Content-Type", "text/plain" if method == "upload" else "application/json")
        for k, v in answer.headers.items():
            req.send_header(k, v)
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)

    def _serve_wait(self, req: BaseHTTPRequestHandler, query: dict[str, Any]) -> None:
        """``/_wait?method=M&KEY=VALUE&timeout=S``: the first call of M whose parameter KEY is VALUE."""
        method = query.pop("method")
        timeout = float(query.pop("timeout", "30"))
        found = self.wait_for(
            lambda: [c for c in self.to(method) if all(str(c.params.get(k)) == v for k, v in query.items())],
            timeout,
        )
        data = json.dumps({"found": bool(found)}).encode()
        req.send_response(200 if found else 404)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)

    def _answer(self, call: Call) -> dict[str, Any]:
        p = call.params
        m = call.method
        if m == "auth.test":
            return {
                "ok": True,
                "url": "https://rxdesk-test.slack.com/",
                "team": "Test Pharmacy",
                "user": "rxdesk",
                "team_id": TEAM,
                "user_id": BOT_USER,
                "bot_id": BOT_ID,
            }
        if m in ("chat.postMessage", "chat.startStream"):
            return {"ok": True, "channel": p.get("channel"), "ts": self._next_ts()}
        if m in ("chat.update", "chat.appendStream", "chat.stopStream"):
            return {"ok": True, "channel": p.get("channel"), "ts": p.get("ts")}
        if m == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if m == "chat.getPermalink":
            ts = str(p.get("message_ts", "")).replace(".", "")
            return {
                "ok": True,
                "channel": p.get("channel"),
                "permalink": f"https://rxdesk-test.slack.com/archives/{p.get('channel')}/p{ts}",
            }
        if m in ("views.open", "views.update", "views.push"):
            return {"ok": True, "view": {"id": f"V{next(self._ids)}"}}
        if m == "files.getUploadURLExternal":
            file_id = f"F{next(self._ids)}"
            return {"ok": True, "upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}
        if m == "files.completeUploadExternal":
            files = call.json("files") or []
            return {"ok": True, "files": [{"id": f.get("id"), "title": f.get("title")} for f in files]}
        if m in ("response_url", "upload"):
            return {"ok": True}
        if m.startswith(("reactions.", "assistant.threads.")):
            return {"ok": True}
        return {"ok": False, "error": "unknown_method"}

    # ---- helpers for assertions ------------------------------------------------------------------

    def uploaded(self, file_id: str) -> bytes:
        return next(c.body for c in self.to("upload") if c.params["_file_id"] == file_id)


def text_of(blocks: list[dict[str, Any]] | None) -> str:
    """All the text people see in ``blocks`` (sections, headers, contexts, buttons)."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(blocks or [])
    return "\n".join(out)


def action_ids(blocks: list[dict[str, Any]] | None) -> list[str]:
    return [e["action_id"] for b in blocks or [] if b.get("type") == "actions" for e in b["elements"]]


if __name__ == "__main__":  # a fake Slack in its own process: prints its base URL, serves until stdin closes
    import sys

    fake = FakeSlack().start()
    print(fake.base, flush=True)
    sys.stdin.read()
    fake.stop()
