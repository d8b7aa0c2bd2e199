"""Process logging: no message text unless ``RXDESK_LOG_CONTENT=true``.

Our own log lines never carry message text. Client libraries do at DEBUG level (the openai client
logs request bodies, httpx and LangChain their payloads), so those loggers are held at WARNING
unless the deployment opts in."""

from __future__ import annotations

import logging

from assistant.config import Settings

CHATTY = (
    "openai",
    "httpx",
    "httpcore",
    "langchain",
    "langchain_core",
    "langgraph",
    "slack_bolt",
    "slack_sdk",
)


def configure_logging(settings: Settings, level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG if settings.log_content else logging.WARNING)
