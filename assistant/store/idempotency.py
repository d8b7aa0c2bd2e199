"""Requests handled once: a delivery key (a chat platform's event id) is recorded the first time it
is seen, in the shared database, so a redelivered request is recognised by every running instance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError

from assistant.store.engine import Store
from assistant.store.tables import processed_deliveries

KEEP = timedelta(days=2)  # chat platforms stop redelivering within minutes


def first_delivery(store: Store, key: str, *, now: datetime | None = None) -> bool:
    """True the first time ``key`` is seen; False for every later delivery of it."""
    try:
        with store.begin() as conn:
            conn.execute(
                insert(processed_deliveries).values(key=key[:200], received_at=now or datetime.now(UTC))
            )
        return True
    except IntegrityError:
        return False


def forget_delivery(store: Store, key: str) -> None:
    """Let ``key`` be handled again (its first delivery was turned back, e.g. a form with errors)."""
    with store.begin() as conn:
        conn.execute(delete(processed_deliveries).where(processed_deliveries.c.key == key[:200]))


def forget_old_deliveries(store: Store, *, now: datetime | None = None) -> int:
    """Drop keys older than :data:`KEEP` (the table stays small); returns how many."""
    cutoff = (now or datetime.now(UTC)) - KEEP
    with store.begin() as conn:
        return conn.execute(
            delete(processed_deliveries).where(processed_deliveries.c.received_at < cutoff)
        ).rowcount
