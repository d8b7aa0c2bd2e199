"""Run every benchmark in turn (each prints its own figures and baseline ratios)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["bench_query.py", "bench_ingest.py", "bench_drafting.py", "bench_calendar.py", "bench_agent.py"]

if __name__ == "__main__":
    failed = 0
    for script in SCRIPTS:
        print(f"\n== {script}", flush=True)
        failed |= subprocess.call([sys.executable, str(HERE / script)])
    sys.exit(failed)
