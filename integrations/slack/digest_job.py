"""The daily compliance digest: each site's digest posted to its channel at the site's local digest
time, once per site and date however many instances run (see assistant/calendar/digest_delivery.py
for the claim, the catch-up after downtime and the stale-claim rule).

A background thread calls :meth:`DigestJob.tick` every ``interval`` seconds; tests call ``tick``
with the time they want.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from assistant.calendar.digest import build_digest
from assistant.calendar.digest_delivery import (
    claim_digest,
    digest_due,
    digest_sites,
    record_digest_posted,
    release_digest,
)
from assistant.principal import SCHEDULER
from assistant.store import Store
from assistant.store.idempotency import forget_old_deliveries
from integrations.slack.blocks import digest_blocks

log = logging.getLogger("rxdesk.slack.digest")

# Slack errors a retry in 30 seconds will not fix: recorded, not retried that day.
PERMANENT = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_auth",
    "account_inactive",
    "missing_scope",
    "restricted_action",
    "invalid_blocks",
}


@dataclass(frozen=True)
class Posted:
    site: str
    day: date
    channel: str
    ts: str


def instance_name() -> str:
    """Which process claimed a digest (kept on the claim row, for people reading it)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class DigestJob:
    def __init__(
        self,
        store: Store,
        client: WebClient,
        *,
        default_time: str = "08:00",
        instance: str | None = None,
        interval: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.client = client
        self.default_time = default_time
        self.instance = instance or instance_name()
        self.interval = interval
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self, now: datetime | None = None) -> list[Posted]:
        """Post every digest that is due at ``now`` and that no instance has posted yet."""
        now = now or self.clock()
        posted = []
        for site in digest_sites(self.store):
            if not site.slack_channel:
                continue
            day = digest_due(site, now, self.default_time)
            if day is None:
                continue
            if not claim_digest(
                self.store, site.id, day, principal=SCHEDULER, instance=self.instance, now=now
            ):
                continue
            result = self._post(site.id, site.slack_channel, day)
            if result:
                posted.append(result)
        return posted

    def _post(self, site: str, channel: str, day: date) -> Posted | None:
        try:
            digest = build_digest(self.store, principal=SCHEDULER, site=site, as_of=day)
            resp = self.client.chat_postMessage(
                channel=channel,
                blocks=digest_blocks(digest),
                text=f"Compliance digest: {digest.site_name}, {day.isoformat()}",
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "slack_error")
            permanent = error in PERMANENT
            log.error(
                "digest for %s on %s not posted: %s%s", site, day, error, "" if permanent else " (will retry)"
            )
            release_digest(
                self.store,
                site,
                day,
                principal=SCHEDULER,
                instance=self.instance,
                failure=error if permanent else None,
            )
            return None
        except Exception as exc:
            log.error("digest for %s on %s not posted: %s (will retry)", site, day, type(exc).__name__)
            release_digest(self.store, site, day, principal=SCHEDULER, instance=self.instance)
            return None
        ts = str(resp.get("ts") or "")
        record_digest_posted(
            self.store, site, day, principal=SCHEDULER, instance=self.instance, channel=channel, ts=ts
        )
        log.info("digest for %s on %s posted to %s", site, day, channel)
        return Posted(site=site, day=day, channel=channel, ts=ts)

    # ---- the background thread -------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="rxdesk-digest", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
                forget_old_deliveries(self.store)
            except Exception as exc:  # the database is away for a moment: try again next tick
                log.error("digest tick failed: %s", type(exc).__name__)
            self._stop.wait(self.interval)
