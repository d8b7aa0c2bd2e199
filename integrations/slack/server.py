"""Running the app: Socket Mode (no public URL: the app dials out to Slack) or HTTP (Slack posts signed
requests to ``/slack/events``, which needs a public HTTPS endpoint in front of this server).

HTTP mode serves the Bolt app through its WSGI adapter on a threading ``wsgiref`` server: standard
library only, one thread per request, and the same path the end-to-end tests exercise.
"""

from __future__ import annotations

import logging
import socketserver
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt.adapter.wsgi import SlackRequestHandler

from integrations.slack.app import SlackApp

log = logging.getLogger("rxdesk.slack")


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 resets connections when Slack sends a burst


class QuietHandler(WSGIRequestHandler):
    """No access log line per request (the path is always /slack/events; volume is noise)."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


def make_http_server(app: SlackApp, host: str = "0.0.0.0", port: int = 3000) -> ThreadingWSGIServer:
    """A server for ``app`` on ``host:port`` (port 0: any free port; read ``server.server_port``)."""
    handler = SlackRequestHandler(app.bolt)
    return make_server(host, port, handler, server_class=ThreadingWSGIServer, handler_class=QuietHandler)  # type: ignore[return-value]


def serve_http(app: SlackApp, host: str, port: int) -> None:
    server = make_http_server(app, host, port)
    app.digest.start()
    log.info("rxdesk Slack app listening on http://%s:%s/slack/events", host, server.server_port)
    try:
        server.serve_forever(0.5)
    finally:
        server.server_close()
        app.close()


def serve_in_thread(app: SlackApp, host: str = "127.0.0.1") -> tuple[ThreadingWSGIServer, threading.Thread]:
    """Serve on a free port in a background thread (tests and benchmarks)."""
    server = make_http_server(app, host, 0)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), daemon=True, name="rxdesk-slack-http"
    )
    thread.start()
    return server, thread


def serve_socket_mode(app: SlackApp, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(app.bolt, app_token)
    app.digest.start()
    log.info("rxdesk Slack app connecting in Socket Mode")
    try:
        handler.start()
    finally:
        app.close()
