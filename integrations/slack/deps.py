"""What every handler needs (settings, store, Slack client, ``respond``, the worker pool), plus the two
rules every handler follows: a redelivered request is handled once, and a failure reaches the person."""

from __future__ import annotations

import logging
import threading
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from slack_sdk import WebClient

from assistant.agent.replies import ChatContext, ErrorReply, Reply
from assistant.config import Settings
from assistant.errors import RxdeskError
from assistant.principal import Principal
from assistant.store import Store
from assistant.store.idempotency import first_delivery, forget_delivery
from integrations.slack.blocks import error_text
from integrations.slack.delivery import Pool

log = logging.getLogger("rxdesk.slack")

SEEN_IN_MEMORY = 5000


class RespondFn(Protocol):
    def __call__(
        self, message: str, ctx: ChatContext, *, on_text: Callable[[str], None] | None = None
    ) -> Reply: ...


@dataclass
class Deps:
    settings: Settings
    store: Store
    client: WebClient
    respond: RespondFn
    work: Pool
    model: Any = None  # the chat model when an LLM is configured (integrations/llm.py); None: offline
    _seen: OrderedDict[str, None] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ctx(self, principal: Principal, conversation_id: str | None) -> ChatContext:
        return ChatContext(
            settings=self.settings,
            store=self.store,
            principal=principal,
            conversation_id=conversation_id,
            site=principal.site,
            model=self.model,
        )

    def first_time_in_memory(self, key: str) -> bool:
        """True the first time this instance sees ``key`` (recent keys only)."""
        with self._lock:
            if key in self._seen:
                return False
            self._seen[key] = None
            while len(self._seen) > SEEN_IN_MEMORY:
                self._seen.popitem(last=False)
            return True

    def first_time(self, key: str | None) -> bool:
        """True the first time a delivery key is seen by any instance (memory first, then the
        shared database); a request without a key is always handled."""
        if not key:
            return True
        if not self.first_time_in_memory(key):
            return False
        try:
            return first_delivery(self.store, key)
        except Exception as exc:  # the database is down: answering twice beats not answering
            log.warning("could not record delivery key (%s); handling the request anyway", type(exc).__name__)
            return True

    def forget(self, key: str) -> None:
        """Let a delivery key be handled again (the first delivery was turned back)."""
        with self._lock:
            self._seen.pop(key, None)
        try:
            forget_delivery(self.store, key)
        except Exception as exc:
            log.warning("could not forget delivery key (%s)", type(exc).__name__)

    def content(self, text: str) -> str:
        """Message text for a log line: only its size unless RXDESK_LOG_CONTENT=true."""
        return repr(text) if self.settings.log_content else f"<{len(text)} chars>"

    def safely(self, what: str, job: Callable[[], Any], fail: Callable[[str], None]) -> None:
        """Run ``job``; a refusal or bad input is worded for the person, anything else is logged
        (without content) and the person told it failed, with a reference to find the log line."""
        try:
            job()
        except RxdeskError as exc:
            log.info("%s: %s (%s)", what, exc.code, exc.field or "-")
            self._tell(fail, error_text(ErrorReply.of(exc)))
        except Exception as exc:
            ref = uuid.uuid4().hex[:8]
            if self.settings.log_content:
                log.exception("%s failed (ref %s)", what, ref)
            else:
                where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
                at = f"{where.filename}:{where.lineno}" if where else "?"
                log.error("%s failed (ref %s): %s at %s", what, ref, type(exc).__name__, at)
            self._tell(
                fail,
                f":warning: Sorry, that failed on my side (reference `{ref}`). "
                "Please try again in a minute, or ask the pharmacist on duty.",
            )

    def later(self, what: str, job: Callable[[], Any], fail: Callable[[str], None]) -> None:
        """Do ``job`` on the worker pool (after Slack has its acknowledgement)."""
        self.work.submit(self.safely, what, job, fail)

    @staticmethod
    def _tell(fail: Callable[[str], None], text: str) -> None:
        try:
            fail(text)
        except Exception as exc:
            log.error("could not tell the person about a failure: %s", type(exc).__name__)
