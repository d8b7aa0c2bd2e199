"""The daily digest: once per site and local date across instances sharing PostgreSQL, at each site's
own time, caught up after an outage; a claim left by a dead instance is taken over after its lease."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from assistant import audit
from assistant.calendar.digest_delivery import LEASE, claim_digest, digest_due
from assistant.calendar.library import import_library
from assistant.calendar.models import Site
from assistant.principal import OPERATOR, SCHEDULER
from assistant.store import open_store
from integrations.slack.app import create_app
from tests.e2e.conftest import CHANNEL, prepare, slack_settings
from tests.e2e.fake_slack import FakeSlack, text_of

NORTH = "C0NORTH"
EXTRA_SITE = """\
sites:
  - {id: north, name: North Clinic Pharmacy, timezone: America/New_York, slack_channel: "C0NORTH", digest_time: "07:30"}
"""
# 2026-12-01: Chicago is UTC-6, New York UTC-5
MORNING = datetime(2026, 12, 1, 14, 5, tzinfo=UTC)  # 08:05 in Chicago, 09:05 in New York


def utc(hh: int, mm: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 12, day, hh, mm, tzinfo=UTC)


def digests(slack: FakeSlack, channel: str | None = None) -> list:
    return [
        c
        for c in slack.to("chat.postMessage")
        if (c.params.get("text") or "").startswith("Compliance digest")
        and channel in (None, c.params["channel"])
    ]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shared_settings(request: pytest.FixtureRequest, tmp_path: Path, slack: FakeSlack, staff_file: Path):  # type: ignore[no-untyped-def]
    """Settings of a deployment: one database (a SQLite file, or the local PostgreSQL) with staff
    and two sites, main (Chicago, 08:00 default) and north (New York, 07:30)."""
    extra = {"database_url": request.getfixturevalue("pg_url")} if request.param == "postgresql" else {}
    settings = slack_settings(tmp_path / "data", slack, **extra)
    store = open_store(settings)
    prepare(store, staff_file, tmp_path)
    path = tmp_path / "north.yaml"
    path.write_text(EXTRA_SITE)
    import_library(store, path, principal=OPERATOR)
    store.dispose()
    return settings


@pytest.fixture
def instances(shared_settings, slack: FakeSlack) -> Iterator[list]:  # type: ignore[no-untyped-def]
    """Two instances of the app (two processes' worth: own stores, own Slack clients)."""
    apps = [create_app(shared_settings, open_store(shared_settings), instance=f"app-{i}") for i in (1, 2)]
    yield apps
    for app in apps:
        app.close()
        app.store.dispose()


def tick_together(apps: list, now: datetime) -> None:
    barrier = threading.Barrier(len(apps))

    def run(app) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        app.digest.tick(now)

    threads = [threading.Thread(target=run, args=(app,)) for app in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)


def test_two_instances_post_one_digest_per_site_per_day(instances: list, slack: FakeSlack) -> None:
    for minute in range(0, 60, 15):  # both instances tick through the morning
        tick_together(instances, MORNING + timedelta(minutes=minute))
    assert len(digests(slack, CHANNEL)) == 1 and len(digests(slack, NORTH)) == 1
    main = digests(slack, CHANNEL)[0]
    assert "Compliance digest: Main Street Pharmacy" in text_of(main.params["blocks"])
    assert "2026-12-01" in text_of(main.params["blocks"])

    # a restart (a third instance over the same database) posts nothing more that day
    fresh = create_app(instances[0].settings, instances[0].store, instance="app-3")
    assert fresh.digest.tick(MORNING + timedelta(hours=3)) == []
    fresh.close()
    assert len(digests(slack)) == 2

    # the next day each site gets its next digest, once
    tick_together(instances, MORNING + timedelta(days=1))
    tick_together(instances, MORNING + timedelta(days=1, minutes=30))
    assert len(digests(slack, CHANNEL)) == 2 and len(digests(slack, NORTH)) == 2
    posted = audit.entries(instances[0].store, action="calendar.digest_posted")
    assert len(posted) == 4 and {e.actor for e in posted} == {SCHEDULER.id}


def test_each_site_at_its_own_local_time(instances: list, slack: FakeSlack) -> None:
    app = instances[0]
    assert app.digest.tick(utc(12, 29)) == []  # 06:29 Chicago, 07:29 New York
    [north] = app.digest.tick(utc(12, 30))  # 07:30 New York
    assert (north.site, north.day) == ("north", date(2026, 12, 1))
    assert app.digest.tick(utc(13, 59)) == []  # 07:59 Chicago
    [main] = app.digest.tick(utc(14, 0))  # 08:00 Chicago
    assert (main.site, main.channel) == ("main", CHANNEL)


def test_catch_up_after_an_outage(instances: list, slack: FakeSlack) -> None:
    """Both instances were down at 08:00; the first one back posts the day's digest late, once."""
    late = utc(17, 40)  # 11:40 in Chicago
    tick_together(instances, late)
    assert len(digests(slack, CHANNEL)) == 1 and len(digests(slack, NORTH)) == 1
    # then down for all of Dec 2: at 07:00 in Chicago on Dec 3 (08:00 in New York) north gets Dec 3's
    # digest; Dec 2's is not posted late, and main waits for its 08:00
    [north] = instances[0].digest.tick(utc(13, 0, day=3))
    assert (north.site, north.day) == ("north", date(2026, 12, 3))
    assert not [c for c in digests(slack) if c.params["text"].endswith("2026-12-02")]


def test_a_claim_left_by_a_dead_instance_is_taken_over_after_its_lease(
    instances: list, slack: FakeSlack
) -> None:
    app = instances[1]
    # instance "dead" claimed main's digest at 08:00 and died before posting
    assert claim_digest(
        app.store, "main", date(2026, 12, 1), principal=SCHEDULER, instance="dead", now=utc(14, 0)
    )
    assert [p.site for p in app.digest.tick(utc(14, 1))] == ["north"]
    assert app.digest.tick(utc(14, 0) + LEASE - timedelta(seconds=1)) == []
    [taken] = app.digest.tick(utc(14, 0) + LEASE + timedelta(seconds=1))
    assert taken.site == "main"
    assert len(digests(slack, CHANNEL)) == 1


def test_a_failed_post_is_retried_unless_it_cannot_succeed(instances: list, slack: FakeSlack) -> None:
    app = instances[0]
    slack.script("chat.postMessage", 200, {"ok": False, "error": "internal_error"})  # main, first try
    slack.script("chat.postMessage", 200, {"ok": False, "error": "not_in_channel"})  # north: never will
    assert app.digest.tick(MORNING) == []
    [retried] = app.digest.tick(MORNING + timedelta(seconds=30))
    assert retried.site == "main"
    assert app.digest.tick(MORNING + timedelta(hours=1)) == []  # north stays recorded as failed today
    failed = audit.entries(app.store, action="calendar.digest_posted")
    assert [(e.outcome, e.target) for e in failed if e.outcome == "failed"] == [("failed", "site:north")]


def test_the_background_job_posts_on_its_own(shared_settings, slack: FakeSlack) -> None:  # type: ignore[no-untyped-def]
    app = create_app(shared_settings, open_store(shared_settings), instance="bg", digest_interval=0.05)
    app.digest.clock = lambda: MORNING
    app.digest.start()
    try:
        assert slack.wait_for(lambda: len(digests(slack)) == 2)
    finally:
        app.close()
    assert len(digests(slack)) == 2


def test_digest_due() -> None:
    site = Site(id="s", name="S", timezone="America/Chicago")
    assert digest_due(site, utc(13, 59)) is None
    assert digest_due(site, utc(14, 0)) == date(2026, 12, 1)
    assert digest_due(site, utc(5, 59, day=2)) == date(2026, 12, 1)  # 23:59 local: still that day
    assert digest_due(site.model_copy(update={"digest_time": "06:15"}), utc(12, 15)) == date(2026, 12, 1)
    assert digest_due(site, utc(13, 0), default_time="07:00") == date(2026, 12, 1)
