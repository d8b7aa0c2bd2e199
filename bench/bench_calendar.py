"""Benchmark: deadline listing and daily digests for 100 sites × 40 obligations over a 3-year horizon.

Prints figures and ratios against a baseline measured in the same run: enumerating the raw
``dateutil.rrule`` dates of the same series (no statuses, no models, no sorting). Not a test.

    .venv/bin/python bench/bench_calendar.py [--sites 100] [--obligations 40] [--days 1095]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml
from dateutil.rrule import rrulestr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.calendar.deadlines import list_deadlines  # noqa: E402
from assistant.calendar.digest import build_digest  # noqa: E402
from assistant.calendar.library import import_library, load_library_file  # noqa: E402
from assistant.calendar.models import FixedSchedule, OnceSchedule, RollingSchedule  # noqa: E402
from assistant.calendar.series import collect, load_calendar  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.principal import OPERATOR, SCHEDULER  # noqa: E402
from assistant.store import open_store  # noqa: E402
from integrations.slack.blocks import digest_blocks  # noqa: E402

AS_OF = date(2026, 11, 26)
ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Pacific/Honolulu"]


def best_of(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def build_library(n_sites: int, n_obligations: int) -> dict:
    """The shipped library's site obligations (cycled to n), at n sites in several time zones."""
    shipped = [o for o in load_library_file(ROOT / "knowledge/compliance/obligations.yaml").obligations]
    site_obs = [o for o in shipped if o.applies_to == "site"]
    obs = []
    for i in range(n_obligations):
        ob = site_obs[i % len(site_obs)].model_dump(mode="json", exclude_none=True)
        if i >= len(site_obs):
            ob["id"] = f"{ob['id']}-{i}"
        obs.append(ob)
    sites = [
        {"id": f"s{i:03d}", "name": f"Pharmacy {i}", "timezone": ZONES[i % len(ZONES)]}
        for i in range(n_sites)
    ]
    return {"sites": sites, "obligations": obs, "credential_reminders": {"default": [60, 30]}}


def baseline(cal, days: int) -> int:  # type: ignore[no-untyped-def]
    """Raw dateutil enumeration of every series' dates in the window (what any solution must do)."""
    lo = datetime.combine(AS_OF, datetime.min.time())
    hi = lo + timedelta(days=days)
    n = 0
    for ob, _ in cal.obligations:
        s = ob.schedule
        for _site in cal.sites:
            if isinstance(s, FixedSchedule):
                r = rrulestr(s.rrule, dtstart=datetime.combine(s.start, datetime.min.time()))
                n += len(r.between(lo, hi, inc=True))
            elif isinstance(s, OnceSchedule | RollingSchedule):
                n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=100)
    ap.add_argument("--obligations", type=int, default=40)
    ap.add_argument("--days", type=int, default=3 * 365)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        lib_path = Path(tmp) / "bench.yaml"
        lib_path.write_text(yaml.safe_dump(build_library(args.sites, args.obligations), sort_keys=False))
        settings = Settings(data_dir=Path(tmp) / "data", _env_file=None)  # type: ignore[call-arg]
        store = open_store(settings)
        t0 = time.perf_counter()
        import_library(store, lib_path, principal=OPERATOR, since=AS_OF - timedelta(days=90))
        t_import = time.perf_counter() - t0

        t_load, cal = best_of(lambda: load_calendar(store), args.repeat)
        t_base, n_base = best_of(lambda: baseline(cal, args.days), args.repeat)
        t_list, listing = best_of(
            lambda: list_deadlines(store, principal=SCHEDULER, as_of=AS_OF, within=args.days), args.repeat
        )
        t_list_mem, _ = best_of(lambda: collect(cal, as_of=AS_OF, within=args.days), args.repeat)
        t_json, _ = best_of(lambda: listing.model_dump_json(), 1)  # type: ignore[union-attr]
        t_all, listing_all = best_of(
            lambda: list_deadlines(store, principal=SCHEDULER, as_of=AS_OF, within=args.days, expand=True), 1
        )

        def all_digests() -> int:
            c = load_calendar(store)
            return sum(
                len(digest_blocks(build_digest(store, principal=SCHEDULER, site=s, as_of=AS_OF, cal=c)))
                for s in c.sites
            )

        t_digest_all, _ = best_of(all_digests, args.repeat)
        per_site = []
        for s in list(cal.sites)[:10]:
            t, _ = best_of(lambda s=s: build_digest(store, principal=SCHEDULER, site=s, as_of=AS_OF), 1)
            per_site.append(t)
        store.dispose()

    n_occ = len(listing.occurrences)  # type: ignore[union-attr]
    print(
        f"calendar bench: {args.sites} sites × {args.obligations} obligations, {args.days}-day horizon, as of {AS_OF}"
    )
    print(f"  import (validate + upsert)            {t_import * 1000:8.1f} ms")
    print(f"  load calendar (queries)               {t_load * 1000:8.1f} ms")
    print(f"  baseline: raw rrule enumeration       {t_base * 1000:8.1f} ms  ({n_base} dates)")
    print(
        f"  deadline listing (load + compute)     {t_list * 1000:8.1f} ms  ({n_occ} occurrences)"
        f"  ratio {t_list / t_base:5.2f}× baseline"
    )
    print(
        f"  deadline listing, in memory only      {t_list_mem * 1000:8.1f} ms  ratio {t_list_mem / t_base:5.2f}×"
    )
    print(f"  listing JSON serialization            {t_json * 1000:8.1f} ms")
    n_all = len(listing_all.occurrences)  # type: ignore[union-attr]
    print(
        f"  listing --all (daily series expanded) {t_all * 1000:8.1f} ms  ({n_all} occurrences)"
        f"  ratio {t_all / t_base:5.2f}×"
    )
    print(
        f"  digest, all {args.sites} sites (one load)     {t_digest_all * 1000:8.1f} ms"
        f"  ratio {t_digest_all / t_base:5.2f}×"
    )
    print(f"  digest, one site (own load), median   {statistics.median(per_site) * 1000:8.1f} ms")
    target = "meets" if max(t_list, t_digest_all) <= 1.0 else "MISSES"
    print(f"  target ≤ 1 s for listing and digests: {target}")


if __name__ == "__main__":
    main()
