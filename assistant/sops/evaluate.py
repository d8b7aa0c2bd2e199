"""Retrieval evaluation: our hybrid method against dense-only (LangChain + Chroma) and BM25-only.

All three run in the same process over the same index and the same embedding model, so the figures
compare like with like. Ranking metrics are computed over in-scope questions; abstention accuracy
is the share of out-of-scope questions (``expected_sop`` null) on which the method abstained.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from assistant.errors import InvalidInput
from assistant.sops.index import COLLECTION
from assistant.sops.search import DENSE_ONLY_THRESHOLD, Retriever

METHODS = ("hybrid", "dense", "bm25")


class EvalQuestion(BaseModel):
    question: str = Field(min_length=1)
    expected_sop: str | None


class MethodScores(BaseModel):
    hit_at_1: float = Field(serialization_alias="hit@1")
    hit_at_3: float = Field(serialization_alias="hit@3")
    hit_at_5: float = Field(serialization_alias="hit@5")
    mrr: float
    abstain_accuracy: float
    false_abstain_rate: float
    answered_correct_at_3: float
    p50_ms: float
    p95_ms: float


class QuestionResult(BaseModel):
    question: str
    expected_sop: str | None
    ranked: dict[str, list[str]]
    abstained: dict[str, bool]


class EvalReport(BaseModel):
    questions_total: int
    in_scope: int
    out_of_scope: int
    methods: dict[str, MethodScores]
    questions: list[QuestionResult]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def load_questions(path: Path) -> list[EvalQuestion]:
    if not path.is_file():
        raise InvalidInput(f"evaluation file not found: {path}")
    out: list[EvalQuestion] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(EvalQuestion.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise InvalidInput(f'{path.name} line {n}: expected {{"question", "expected_sop"}}') from exc
    if not out:
        raise InvalidInput(f"{path.name}: no questions")
    return out


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return round(ordered[idx], 2)


class _LangChainDense:
    """Dense-only baseline exactly as a LangChain user would write it."""

    def __init__(self, retriever: Retriever) -> None:
        from langchain_chroma import Chroma

        self.retriever = retriever
        self.store = Chroma(
            client=retriever.index.client,
            collection_name=COLLECTION,
            embedding_function=retriever.index.embedding,
        )
        self.live = set(retriever.index.manifest.chunks)

    def search(self, query: str, k: int = 20) -> tuple[list[str], bool]:
        hits = self.store.similarity_search_with_score(query, k=k)
        ranked: list[str] = []
        best_sim = 0.0
        for doc, distance in hits:
            if doc.id is not None and doc.id not in self.live:
                continue
            best_sim = max(best_sim, 1.0 - float(distance))
            sop = str(doc.metadata.get("sop_id"))
            if sop not in ranked:
                ranked.append(sop)
        return ranked, best_sim < DENSE_ONLY_THRESHOLD


def evaluate(retriever: Retriever, questions: list[EvalQuestion], *, warmup: int = 3) -> EvalReport:
    dense = _LangChainDense(retriever)
    for q in questions[:warmup]:  # warm caches (tokenizer, BM25 build, HNSW load)
        retriever.search(q.question)
        dense.search(q.question)
    results = [
        QuestionResult(question=q.question, expected_sop=q.expected_sop, ranked={}, abstained={})
        for q in questions
    ]
    timings: dict[str, list[float]] = {m: [] for m in METHODS}
    for q, res in zip(questions, results, strict=True):
        for method in METHODS:
            started = time.perf_counter()
            if method == "dense":
                ranked, abstained = dense.search(q.question)
            else:
                found = retriever.search(q.question, method)  # type: ignore[arg-type]
                ranked, abstained = found.ranked_sop_ids(), found.abstained
            timings[method].append((time.perf_counter() - started) * 1000)
            res.ranked[method] = ranked[:10]
            res.abstained[method] = abstained
    in_scope = [r for r in results if r.expected_sop]
    out_scope = [r for r in results if not r.expected_sop]
    methods: dict[str, MethodScores] = {}
    for m in METHODS:

        def hit(r: QuestionResult, k: int, m: str = m) -> bool:
            return r.expected_sop in r.ranked[m][:k]

        rr = [
            1.0 / (r.ranked[m].index(r.expected_sop) + 1) if r.expected_sop in r.ranked[m] else 0.0
            for r in in_scope
        ]
        n_in = max(len(in_scope), 1)
        methods[m] = MethodScores(
            hit_at_1=round(sum(hit(r, 1) for r in in_scope) / n_in, 4),
            hit_at_3=round(sum(hit(r, 3) for r in in_scope) / n_in, 4),
            hit_at_5=round(sum(hit(r, 5) for r in in_scope) / n_in, 4),
            mrr=round(sum(rr) / n_in, 4),
            abstain_accuracy=round(sum(r.abstained[m] for r in out_scope) / max(len(out_scope), 1), 4),
            false_abstain_rate=round(sum(r.abstained[m] for r in in_scope) / n_in, 4),
            answered_correct_at_3=round(sum(hit(r, 3) and not r.abstained[m] for r in in_scope) / n_in, 4),
            p50_ms=_percentile(timings[m], 50),
            p95_ms=_percentile(timings[m], 95),
        )
    return EvalReport(
        questions_total=len(results),
        in_scope=len(in_scope),
        out_of_scope=len(out_scope),
        methods=methods,
        questions=results,
    )
