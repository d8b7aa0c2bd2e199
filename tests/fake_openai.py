"""A local OpenAI-compatible HTTP server that plays a script: replies, tool calls, errors, delays,
garbage, streamed (SSE) or not. It records every request body so tests can read what left the
machine. The real ``openai`` client and LangChain talk to it over HTTP; nothing is mocked inside."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Step = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]


def text(content: str) -> dict[str, Any]:
    return {"text": content}


def tool(name: str, **args: Any) -> dict[str, Any]:
    return {"tools": [(name, args)]}


class FakeOpenAI:
    def __init__(self) -> None:
        self.script: list[Step] = []
        self.requests: list[dict[str, Any]] = []
        self.default: Step = text("ok")
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                owner.requests.append(body)
                step = owner.script.pop(0) if owner.script else owner.default
                if callable(step):
                    step = step(body)
                owner._answer(self, body, step)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.daemon = True

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def sent_text(self) -> str:
        """Everything the clients sent, as one string (to look for identifiers that leaked)."""
        return json.dumps(self.requests, ensure_ascii=False)

    # ------------------------------------------------------------------------------------------
    def _answer(self, h: BaseHTTPRequestHandler, body: dict[str, Any], step: dict[str, Any]) -> None:
        if "sleep" in step:
            time.sleep(step["sleep"])
        if "status" in step:
            payload = json.dumps({"error": {"message": "scripted failure", "type": "server_error"}}).encode()
            h.send_response(step["status"])
            for k, v in step.get("headers", {}).items():
                h.send_header(k, v)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
            return
        if step.get("garbage"):
            payload = b"<html>502 bad gateway, not json"
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
            return
        calls = [
            {
                "id": f"call_{uuid.uuid4().hex[:8]}",
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                },
            }
            for name, args in step.get("tools", [])
        ]
        content = step.get("text")
        model = body.get("model", "fake")
        if body.get("stream"):
            self._stream(h, model, content, calls)
            return
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = calls
        payload = json.dumps(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:8]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}
                ],
                "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
            }
        ).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    def _stream(self, h: BaseHTTPRequestHandler, model: str, content: str | None, calls: list[dict]) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()
        cid = f"chatcmpl-{uuid.uuid4().hex[:8]}"

        def send(delta: dict[str, Any], finish: str | None = None, usage: dict | None = None) -> None:
            chunk: dict[str, Any] = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if usage is None else [],
            }
            if usage is not None:
                chunk["usage"] = usage
            h.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            h.wfile.flush()

        send({"role": "assistant", "content": ""})
        if content:
            words = content.split(" ")
            for i, w in enumerate(words):
                send({"content": w + (" " if i < len(words) - 1 else "")})
        for i, call in enumerate(calls):
            send(
                {
                    "tool_calls": [
                        {"index": i, "id": call["id"], "type": "function", "function": call["function"]}
                    ]
                }
            )
        send({}, "tool_calls" if calls else "stop")
        send({}, usage={"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60})
        h.wfile.write(b"data: [DONE]\n\n")
        h.wfile.flush()
