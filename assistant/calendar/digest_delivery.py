"""When each site's daily digest is due, and the claim that makes it go out once.

The digest for a site and a local date is posted once, however many instances of the bot run and
however often they restart: before posting, an instance *claims* the ``(site, day)`` row (a primary
key, so a second claim fails in SQLite and PostgreSQL alike), then records where the post went.

Decisions where the issue is silent:

* A site's digest is due from its digest time (local, default 08:00) until the end of that local
  day. An instance that was down at 08:00 posts when it comes back the same day (catch-up); a day
  that passed entirely while everything was down is not posted the next morning (today's digest
  lists whatever is still overdue).
* A claim whose post never got recorded (the instance died between claiming and posting) may be
  taken over after ``LEASE``; an instance that dies after Slack accepted the post but before the row
  recorded it can therefore cause one repeat. A missed compliance digest is worse than a repeated one.
* A post that fails for a reason that will not fix itself (the bot is not in the channel, the channel
  is gone) is recorded as a failure and not retried that day; other failures release the claim so the
  next tick tries again.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from assistant import audit
from assistant.access import guarded
from assistant.calendar import tables as t
from assistant.calendar.models import Site
from assistant.calendar.series import site_of
from assistant.config import parse_hh_mm
from assistant.principal import Principal
from assistant.roles import Action
from assistant.store import Store

LEASE = timedelta(minutes=10)


def digest_sites(store: Store) -> list[Site]:
    """The configured sites (no patient data): the digest job and the Slack adapter route by them."""
    with store.begin() as conn:
        return [site_of(r) for r in conn.execute(select(t.sites).order_by(t.sites.c.id))]


def digest_due(site: Site, now: datetime, default_time: str = "08:00") -> date | None:
    """The site's local date if its digest time has passed at ``now``, else None."""
    local = now.astimezone(ZoneInfo(site.timezone))
    at = parse_hh_mm(site.digest_time or default_time)
    return local.date() if local.time() >= at else None


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@guarded(Action.DELIVER_DIGEST, "calendar.digest_claim")
def claim_digest(
    store: Store, site: str, day: date, *, principal: Principal, instance: str, now: datetime | None = None
) -> bool:
    """True when this ``instance`` may post the digest of ``site`` for ``day`` (nobody else will)."""
    now = now or _now()
    try:
        with store.begin() as conn:
            conn.execute(
                insert(t.digest_posts).values(site=site, day=day, claimed_by=instance, claimed_at=now)
            )
        return True
    except IntegrityError:
        pass
    with store.begin() as conn:
        row = conn.execute(
            select(t.digest_posts).where(t.digest_posts.c.site == site, t.digest_posts.c.day == day)
        ).first()
        if row is None or row.posted_ts or row.failure or _aware(row.claimed_at) > now - LEASE:
            return False
        # a stale claim: take it over, unless another instance does so first (compare-and-set)
        taken = conn.execute(
            update(t.digest_posts)
            .where(
                t.digest_posts.c.site == site,
                t.digest_posts.c.day == day,
                t.digest_posts.c.claimed_by == row.claimed_by,
                t.digest_posts.c.claimed_at == row.claimed_at,
                t.digest_posts.c.posted_ts.is_(None),
            )
            .values(claimed_by=instance, claimed_at=now)
        )
        return taken.rowcount == 1


@guarded(Action.DELIVER_DIGEST, "calendar.digest_posted")
def record_digest_posted(
    store: Store, site: str, day: date, *, principal: Principal, instance: str, channel: str, ts: str
) -> None:
    """The post went out: keep where, so nothing claims this day again."""
    with store.begin() as conn:
        conn.execute(
            update(t.digest_posts)
            .where(t.digest_posts.c.site == site, t.digest_posts.c.day == day)
            .values(claimed_by=instance, channel=channel, posted_ts=ts, posted_at=_now())
        )
        audit.record(
            conn,
            actor=principal.id,
            action="calendar.digest_posted",
            target=f"site:{site}",
            detail={"day": day.isoformat(), "channel": channel, "ts": ts, "instance": instance},
        )


@guarded(Action.DELIVER_DIGEST, "calendar.digest_release")
def release_digest(
    store: Store, site: str, day: date, *, principal: Principal, instance: str, failure: str | None = None
) -> None:
    """Give the claim back after a failed post (``failure`` given: record it and do not retry today)."""
    where = (
        (t.digest_posts.c.site == site)
        & (t.digest_posts.c.day == day)
        & (t.digest_posts.c.claimed_by == instance)
        & t.digest_posts.c.posted_ts.is_(None)
    )
    with store.begin() as conn:
        if failure is None:
            conn.execute(t.digest_posts.delete().where(where))
            return
        conn.execute(update(t.digest_posts).where(where).values(failure=failure[:200]))
        audit.record(
            conn,
            actor=principal.id,
            action="calendar.digest_posted",
            target=f"site:{site}",
            outcome="failed",
            detail={"day": day.isoformat(), "failure": failure[:200], "instance": instance},
        )
