"""Warm `ask` latency at ~5,000 chunks (synthetic corpus + the shipped SOPs), real model.

Baselines measured in the same run on the same index: BM25-only search, and hybrid search without
the SOP re-ranker (the fused order kept; what the re-ranker costs). Reported: p50/p95 of the full
`ask` path as a technician asks it (clinical triage + hybrid retrieval + re-ranker + the calibrated
answer decision + answer composition), of hybrid search alone, and the ratio to the BM25 baseline,
with the load average (compare runs only on a quiet machine: load < 1.5 on these 2 cores).
Target (issue 10): warm ask p95 <= 50 ms at ~5,000 chunks on this 2-core machine.

The synthetic index is kept in bench/out/ so later runs skip the embedding (incremental ingest).

    .venv/bin/python bench/bench_query.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.sops.answer import answer_question  # noqa: E402
from assistant.sops.index import SopIndex  # noqa: E402
from assistant.sops.ranker import SopRanker  # noqa: E402
from assistant.sops.search import Retriever  # noqa: E402
from bench.synthetic_corpus import ROOT, build  # noqa: E402

OUT = ROOT / "bench" / "out"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(fn, questions: list[str], rounds: int = 3) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(rounds):
        for q in questions:
            started = time.perf_counter()
            fn(q)
            out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    corpus = build(OUT / "corpus5k", files=500)
    index = SopIndex(OUT / "index5k")
    report = index.ingest([corpus, ROOT / "knowledge" / "sops"])
    print(
        f"index: {index.stats()['chunks']} chunks ({report.chunks_embedded} embedded now, {report.seconds:.1f}s)"
    )
    questions = [
        json.loads(line)["question"]
        for line in (ROOT / "knowledge" / "eval" / "questions.jsonl").read_text().splitlines()
        if line.strip()
    ]
    retriever = Retriever(index)
    for q in questions[:5]:  # warm: BM25 build, HNSW load, tokenizer, drug dictionary
        answer_question(retriever, q, "technician")
    ask_ms = timed(lambda q: answer_question(retriever, q, "technician"), questions)
    hybrid_ms = timed(lambda q: retriever.search(q, "hybrid"), questions)
    fused_only = Retriever(index, ranker=SopRanker.fused_only())
    fused_ms = timed(lambda q: fused_only.search(q, "hybrid"), questions)
    bm25_ms = timed(lambda q: retriever.search(q, "bm25"), questions)
    for name, values in (
        ("ask (hybrid + answer)", ask_ms),
        ("hybrid search", hybrid_ms),
        ("hybrid, no re-ranker", fused_ms),
        ("bm25 baseline", bm25_ms),
    ):
        print(
            f"{name:<24} p50 {statistics.median(values):6.1f} ms   p95 {pct(values, 95):6.1f} ms   (n={len(values)})"
        )
    print(
        f"ratio ask/bm25: p50 {statistics.median(ask_ms) / statistics.median(bm25_ms):.1f}x, "
        f"p95 {pct(ask_ms, 95) / pct(bm25_ms, 95):.1f}x   [target: ask p95 <= 50 ms]"
    )
    print(f"load average (1, 5, 15 min) at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
