"""Retrieval and answer-decision evaluation: our hybrid method against dense-only and BM25-only.

All three run in the same process over the same index and the same embedding model, so the figures
compare like with like. Every question first goes through clinical triage (as a technician asks it),
exactly as ``ask`` does; then each method ranks SOPs and decides to answer, hedge or abstain.

A question line is ``{"question", "expected_sop", "clinical"?}``. ``expected_sop`` is one SOP id, a
list of acceptable ids, or null (the SOPs do not cover it). ``clinical: true`` marks a clinical-
judgment question, which must be handed to a pharmacist.

Metrics (in-scope = has an acceptable SOP; out-of-scope = null and not clinical):
- hit@k, MRR: ranking only, over in-scope questions;
- answered_correct: in-scope, answered (not hedged, abstained or handed off) and the first citation
  (the top-ranked SOP) is acceptable; tentative_correct: the same for hedged answers;
- cited_correct / oos_cited: the same counting firm and tentative answers together. A tentative
  answer cites its SOP first ("check it covers your case"), so issue 10's "answered with a right SOP
  cited first" is cited_correct, and its "out-of-scope answered" is oos_cited;
- false_abstain_rate: in-scope questions abstained on or handed off;
- oos_answered / oos_tentative: out-of-scope questions answered / hedged; abstain_accuracy: share of
  out-of-scope questions abstained on or handed off;
- clinical_handoff: share of clinical questions handed to the pharmacist.
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
from assistant.sops.triage import triage

METHODS = ("hybrid", "dense", "bm25")
CURVE_THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


class EvalQuestion(BaseModel):
    question: str = Field(min_length=1)
    expected_sop: str | list[str] | None
    clinical: bool = False

    @property
    def acceptable(self) -> list[str]:
        if self.expected_sop is None:
            return []
        if isinstance(self.expected_sop, str):
            return [self.expected_sop]
        return list(self.expected_sop)


class MethodScores(BaseModel):
    hit_at_1: float = Field(serialization_alias="hit@1")
    hit_at_3: float = Field(serialization_alias="hit@3")
    hit_at_5: float = Field(serialization_alias="hit@5")
    mrr: float
    answered_correct: float
    answered_wrong: float
    tentative_correct: float
    cited_correct: float
    false_abstain_rate: float
    abstain_accuracy: float
    oos_answered: float
    oos_tentative: float
    oos_cited: float
    clinical_handoff: float
    answered_correct_at_3: float
    p50_ms: float
    p95_ms: float


class QuestionResult(BaseModel):
    question: str
    expected_sop: str | list[str] | None
    clinical: bool = False
    handed_off: bool = False
    ranked: dict[str, list[str]]
    abstained: dict[str, bool]
    decision: dict[str, str] = Field(default_factory=dict)
    confidence: float = 0.0  # hybrid's calibrated probability

    @property
    def acceptable(self) -> list[str]:
        return EvalQuestion(question=self.question, expected_sop=self.expected_sop).acceptable

    @property
    def in_scope(self) -> bool:
        return bool(self.acceptable)

    @property
    def out_of_scope(self) -> bool:
        return not self.acceptable and not self.clinical

    def top_correct(self, method: str) -> bool:
        ranked = self.ranked.get(method, [])
        return bool(ranked) and ranked[0] in self.acceptable


class CurvePoint(BaseModel):
    threshold: float
    answered_correct: float
    answered_wrong: float
    oos_answered: float


class EvalReport(BaseModel):
    questions_total: int
    in_scope: int
    out_of_scope: int
    clinical: int = 0
    bank_questions: int = 0  # known questions the bank held for this run (the evaluated ones left out)
    methods: dict[str, MethodScores]
    operating_point: dict[str, float] = Field(default_factory=dict)
    curve: list[CurvePoint] = Field(default_factory=list)
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
            raise InvalidInput(
                f'{path.name} line {n}: expected {{"question", "expected_sop": id | [ids] | null, "clinical"?}}'
            ) from exc
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


def _ratio(n: int, d: int) -> float:
    return round(n / d, 4) if d else 0.0


def score_method(results: list[QuestionResult], method: str, timings: list[float]) -> MethodScores:
    in_scope = [r for r in results if r.in_scope]
    out_scope = [r for r in results if r.out_of_scope]
    clinical = [r for r in results if r.clinical]

    def rank_of(r: QuestionResult) -> int | None:
        for i, sop in enumerate(r.ranked[method]):
            if sop in r.acceptable:
                return i
        return None

    ranks = [rank_of(r) for r in in_scope]

    def hit(k: int) -> float:
        return _ratio(sum(1 for x in ranks if x is not None and x < k), len(in_scope))

    def said(r: QuestionResult, what: str) -> bool:
        return not r.handed_off and r.decision[method] == what

    n_in = len(in_scope)
    return MethodScores(
        hit_at_1=hit(1),
        hit_at_3=hit(3),
        hit_at_5=hit(5),
        mrr=round(sum(1.0 / (x + 1) for x in ranks if x is not None) / n_in, 4) if n_in else 0.0,
        answered_correct=_ratio(sum(said(r, "answer") and r.top_correct(method) for r in in_scope), n_in),
        answered_wrong=_ratio(sum(said(r, "answer") and not r.top_correct(method) for r in in_scope), n_in),
        tentative_correct=_ratio(sum(said(r, "tentative") and r.top_correct(method) for r in in_scope), n_in),
        cited_correct=_ratio(
            sum(said(r, "answer") or said(r, "tentative") for r in in_scope if r.top_correct(method)), n_in
        ),
        false_abstain_rate=_ratio(
            sum(r.handed_off or r.decision[method] == "abstain" for r in in_scope), n_in
        ),
        abstain_accuracy=_ratio(
            sum(r.handed_off or r.decision[method] == "abstain" for r in out_scope), len(out_scope)
        ),
        oos_answered=_ratio(sum(said(r, "answer") for r in out_scope), len(out_scope)),
        oos_tentative=_ratio(sum(said(r, "tentative") for r in out_scope), len(out_scope)),
        oos_cited=_ratio(sum(said(r, "answer") or said(r, "tentative") for r in out_scope), len(out_scope)),
        clinical_handoff=_ratio(sum(r.handed_off for r in clinical), len(clinical)),
        answered_correct_at_3=_ratio(
            sum(x is not None and x < 3 and said(r, "answer") for r, x in zip(in_scope, ranks, strict=True)),
            n_in,
        ),
        p50_ms=_percentile(timings, 50),
        p95_ms=_percentile(timings, 95),
    )


def trade_off_curve(
    results: list[QuestionResult], thresholds: tuple[float, ...] = CURVE_THRESHOLDS
) -> list[CurvePoint]:
    """Hybrid's answered-correctly vs out-of-scope-answered as the answer threshold moves."""
    in_scope = [r for r in results if r.in_scope]
    out_scope = [r for r in results if r.out_of_scope]
    points = []
    for t in thresholds:

        def answers(r: QuestionResult, t: float = t) -> bool:
            return not r.handed_off and r.confidence >= t

        points.append(
            CurvePoint(
                threshold=t,
                answered_correct=_ratio(
                    sum(answers(r) and r.top_correct("hybrid") for r in in_scope), len(in_scope)
                ),
                answered_wrong=_ratio(
                    sum(answers(r) and not r.top_correct("hybrid") for r in in_scope), len(in_scope)
                ),
                oos_answered=_ratio(sum(answers(r) for r in out_scope), len(out_scope)),
            )
        )
    return points


def evaluate(retriever: Retriever, questions: list[EvalQuestion], *, warmup: int = 3) -> EvalReport:
    # the evaluated questions never answer themselves: they leave the question bank for this run
    retriever = retriever.with_bank(retriever.bank.without(texts={q.question for q in questions}))
    dense = _LangChainDense(retriever)
    for q in questions[:warmup]:  # warm caches (tokenizer, BM25 build, HNSW load, drug dictionary)
        retriever.search(q.question)
        dense.search(q.question)
        triage(q.question)
    results = [
        QuestionResult(
            question=q.question,
            expected_sop=q.expected_sop,
            clinical=q.clinical,
            handed_off=triage(q.question).clinical,
            ranked={},
            abstained={},
        )
        for q in questions
    ]
    timings: dict[str, list[float]] = {m: [] for m in METHODS}
    for q, res in zip(questions, results, strict=True):
        for method in METHODS:
            started = time.perf_counter()
            if method == "dense":
                ranked, abstained = dense.search(q.question)
                decision = "abstain" if abstained else "answer"
            else:
                found = retriever.search(q.question, method)  # type: ignore[arg-type]
                ranked, decision = found.ranked_sop_ids(), found.decision
                if method == "hybrid":
                    res.confidence = found.confidence
            timings[method].append((time.perf_counter() - started) * 1000)
            res.ranked[method] = ranked[:10]
            res.decision[method] = decision
            res.abstained[method] = decision == "abstain"
    model = retriever.decision
    return EvalReport(
        questions_total=len(results),
        in_scope=sum(r.in_scope for r in results),
        out_of_scope=sum(r.out_of_scope for r in results),
        clinical=sum(r.clinical for r in results),
        methods={m: score_method(results, m, timings[m]) for m in METHODS},
        operating_point={"answer": model.answer_threshold, "tentative": model.tentative_threshold},
        bank_questions=len(retriever.bank),
        curve=trade_off_curve(results),
        questions=results,
    )
