"""Time to draft (validate + build) and render a PDF, per document kind.

Prints the median of N runs per kind and the ratio against a baseline measured in the same run
(draft + Markdown only). Target: <= 300 ms per document for draft + PDF. Not a test.

    .venv/bin/python bench/bench_drafting.py [N]
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time

from assistant.config import REPO_ROOT
from assistant.drafting.case import load_case
from assistant.drafting.extract import extract_case
from assistant.drafting.kinds import KINDS
from assistant.drafting.kinds.base import DRAFT_BANNER
from assistant.drafting.pipeline import compose, draft_markdown
from assistant.drafting.render import to_pdf

EXAMPLES = REPO_ROOT / "knowledge" / "drafting" / "examples"
TARGET_MS = 300.0
SHORTHAND = (
    "PA for Mrs. Johnson's Ozempic 0.5 weekly, T2DM, last A1c 8.7% on 10/2, failed metformin 1000 bid "
    "x6mo GI upset, still on metformin ER 500, Synthroid 75 daily, ozempik, Dr. Patel NPI 1987654328"
)


def _median_ms(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main(n: int = 15) -> None:
    today = dt.date(2026, 11, 26)
    to_pdf(
        compose("mtm-cmr", load_case(EXAMPLES / "mtm-cmr.yaml"), today=today).document, DRAFT_BANNER
    )  # warm
    print(f"{'kind':<18} {'md baseline ms':>15} {'draft+pdf ms':>13} {'ratio':>7}  target {TARGET_MS:.0f} ms")
    for kind in KINDS:
        case = load_case(EXAMPLES / f"{kind}.yaml")
        base = _median_ms(lambda case=case, kind=kind: draft_markdown(compose(kind, case, today=today)), n)
        full = _median_ms(
            lambda case=case, kind=kind: to_pdf(compose(kind, case, today=today).document, DRAFT_BANNER), n
        )
        flag = "ok" if full <= TARGET_MS else "OVER"
        print(f"{kind:<18} {base:>15.1f} {full:>13.1f} {full / base:>6.1f}x  {flag}")
    # shorthand through the drug vocabulary (imported once, above the loop) to a faxable PDF
    extract_case(SHORTHAND, today=today)
    case = load_case(EXAMPLES / "pa-packet.yaml")
    base = _median_ms(lambda: draft_markdown(compose("pa-packet", case, today=today)), n)
    full = _median_ms(
        lambda: to_pdf(
            compose("pa-packet", extract_case(SHORTHAND, today=today), today=today).document, DRAFT_BANNER
        ),
        n,
    )
    flag = "ok" if full <= TARGET_MS else "OVER"
    print(f"{'shorthand->pa pdf':<18} {base:>15.1f} {full:>13.1f} {full / base:>6.1f}x  {flag}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
