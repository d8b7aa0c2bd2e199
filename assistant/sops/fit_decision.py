"""Fit the answer/abstain model on the tuning set and write knowledge/models/answer_decision.json.

Run it with ``rxdesk eval fit-decision`` (``--dry-run`` prints the cross-validation, writes nothing)
after editing the tuning set, the vocabulary or the features.

Steps (the reasons are in assistant/sops/ranker.py and assistant/sops/decision.py):
1. ingest the SOPs into a temporary index with the real bundled embedding model;
2. fit the SOP re-ranker on the in-scope tuning questions (its L2 strength by 5-fold
   cross-validation grouped by SOP, on out-of-fold hit@1 then log-loss);
3. compute the decision features of every tuning question with the hybrid retriever, each fold's
   questions re-ranked by a re-ranker fit *without* that fold, so the decision model learns from
   rankings as good as unseen questions get, not from memorised ones;
4. label each question 1 when answering with its top-ranked SOP would be right, else 0;
5. choose the decision's L2 strength by the same grouped cross-validation (log-loss of out-of-fold
   probabilities); questions without an SOP are spread over the folds;
6. choose the thresholds on the out-of-fold probabilities. A tentative answer cites its SOP first
   just like a firm one, so both count as answering: the tentative threshold is the one that
   maximises in-scope questions answered (firm or tentative) with the right SOP first while at most
   ``max_oos_answered`` of out-of-scope questions get either; the firm threshold is the lowest at
   which at most ``max_oos_confident`` of them get a firm answer;
7. refit both models on every question and write them with the cross-validated figures.
Never fit on a held-out set: those files exist to check this one.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from assistant.config import REPO_ROOT
from assistant.errors import InvalidInput
from assistant.sops.decision import FEATURES, MODEL_FILE, DecisionModel, fit_logistic, load_decision_model
from assistant.sops.evaluate import EvalQuestion, load_questions
from assistant.sops.index import SopIndex
from assistant.sops.question_bank import QuestionBank
from assistant.sops.ranker import RANKER_FILE, SOP_FEATURES, SopRanker, fit_conditional_logit, load_ranker
from assistant.sops.search import Retriever
from assistant.sops.triage import triage

DEFAULT_SOPS = REPO_ROOT / "knowledge" / "sops"
EVAL_DIR = REPO_ROOT / "knowledge" / "eval"
# The tuning set plus the sets held out in earlier rounds and measured once; after that measurement
# they became development sets (README) and joined the question bank. The newest held-out set
# (holdout_v4.jsonl) is never fitted on and is not in the bank.
DEFAULT_QUESTIONS = (
    EVAL_DIR / "questions.jsonl",
    EVAL_DIR / "holdout.jsonl",
    EVAL_DIR / "holdout_tech.jsonl",
    EVAL_DIR / "holdout_v3.jsonl",
    EVAL_DIR / "known_questions_a.jsonl",
    EVAL_DIR / "known_questions_b.jsonl",
)
L2_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
RANKER_L2_GRID = (1.0, 3.0, 10.0, 30.0)  # below 1 Newton's steps overshoot on near-separable questions
FOLDS = 5
THRESHOLD_GRID = tuple(round(0.05 + 0.01 * i, 2) for i in range(91))  # 0.05 .. 0.95


def _unseen(retriever: Retriever, q: EvalQuestion, source: str) -> Retriever:
    """The retriever over a bank without the question's own file (nor the question itself, should
    another file repeat it): its bank signals are then those of a question from a new writer."""
    bank = _without_file(retriever.bank, source)
    if bank.contains(q.question):
        bank = bank.without(texts={q.question})
    return retriever.with_bank(bank)


@lru_cache(maxsize=16)
def _without_file(bank: QuestionBank, source: str) -> QuestionBank:
    return bank.without(sources={source})  # one copy per file, not one per question


def feature_rows(
    retriever: Retriever, questions: list[EvalQuestion], sources: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = [], []
    for q, source in zip(questions, sources, strict=True):
        found = _unseen(retriever, q, source).search(q.question, "hybrid")
        rows.append([found.features.get(name, 0.0) for name in FEATURES])
        top = found.ranked_sop_ids()[:1]
        labels.append(1.0 if top and top[0] in q.acceptable else 0.0)
    return np.array(rows, dtype=float), np.array(labels, dtype=float)


RankGroups = list[tuple[np.ndarray, np.ndarray]]


def ranking_groups(retriever: Retriever, questions: list[EvalQuestion], sources: list[str]) -> RankGroups:
    """Per question: its candidate SOPs' re-ranker signals and which candidates are acceptable."""
    groups = []
    for q, source in zip(questions, sources, strict=True):
        sops, rows = _unseen(retriever, q, source).retrieve_candidates(q.question)
        x = np.array([[row[name] for name in SOP_FEATURES] for row in rows], dtype=float).reshape(
            -1, len(SOP_FEATURES)
        )
        y = np.array([1.0 if sop in q.acceptable else 0.0 for sop in sops])
        groups.append((x, y))
    return groups


def fit_ranker(groups: RankGroups, l2: float, meta: dict[str, object] | None = None) -> SopRanker:
    stacked = np.vstack([x for x, _ in groups if len(x)])
    mean, scale = _standardise(stacked)
    coef = fit_conditional_logit([((x - mean) / scale, y) for x, y in groups if len(x)], l2)
    return SopRanker(
        features=SOP_FEATURES,
        mean=tuple(round(float(v), 6) for v in mean),
        scale=tuple(round(float(v), 6) for v in scale),
        coef=tuple(round(float(v), 6) for v in coef),
        meta=meta or {},
    )


def _ranker_cv(groups: RankGroups, folds: np.ndarray, l2: float) -> tuple[float, float]:
    """Out-of-fold hit@1 and log-loss of the acceptable candidates' probability mass."""
    hits, losses, n = 0.0, 0.0, 0
    for f in np.unique(folds):
        train = [g for g, k in zip(groups, folds, strict=True) if k != f]
        ranker = fit_ranker(train, l2)
        for (x, y), k in zip(groups, folds, strict=True):
            if k != f or not len(x) or y.sum() == 0:
                continue
            scores = ranker.scores([dict(zip(SOP_FEATURES, row, strict=True)) for row in x])
            probs = np.array(SopRanker.softmax(scores))
            hits += float(y[int(np.argmax(probs))] > 0)
            losses += -math.log(max(float(probs[y > 0].sum()), 1e-9))
            n += 1
    return hits / max(n, 1), losses / max(n, 1)


def folds_for(questions: list[EvalQuestion], k: int = FOLDS) -> np.ndarray:
    """Fold number per question: whole SOPs per fold; questions without an SOP dealt round-robin."""
    sops = sorted({q.acceptable[0] for q in questions if q.acceptable})
    fold_of_sop = {sop: i % k for i, sop in enumerate(sops)}
    out, spare = [], 0
    for q in questions:
        if q.acceptable:
            out.append(fold_of_sop[q.acceptable[0]])
        else:
            out.append(spare % k)
            spare += 1
    return np.array(out)


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return mean, scale


def out_of_fold(x: np.ndarray, y: np.ndarray, folds: np.ndarray, l2: float) -> np.ndarray:
    probs = np.zeros(len(y))
    for f in np.unique(folds):
        train, test = folds != f, folds == f
        mean, scale = _standardise(x[train])
        coef, intercept = fit_logistic((x[train] - mean) / scale, y[train], l2)
        z = ((x[test] - mean) / scale) @ coef + intercept
        probs[test] = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
    return probs


def _log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def choose_thresholds(
    probs: np.ndarray,
    y: np.ndarray,
    questions: list[EvalQuestion],
    handed_off: np.ndarray,
    max_oos_answered: float,
    max_oos_confident: float,
) -> tuple[float, float, list[dict[str, float]]]:
    """(firm threshold, tentative threshold, curve) from out-of-fold probabilities.

    Tentative threshold: the most in-scope questions answered with the right SOP first (firm or
    tentative) among thresholds that answer at most ``max_oos_answered`` of out-of-scope questions
    (ties: the higher threshold). Firm threshold: the lowest that gives a firm answer to at most
    ``max_oos_confident`` of out-of-scope questions (never below the tentative threshold).
    """
    oos = np.array([not q.acceptable and not q.clinical for q in questions])
    ins = np.array([bool(q.acceptable) for q in questions])
    live = ~handed_off
    curve = []
    answer_t = THRESHOLD_GRID[-1]
    tentative_t, best_correct = THRESHOLD_GRID[-1], -1.0
    for t in reversed(THRESHOLD_GRID):
        said = live & (probs >= t)
        oos_rate = float(said[oos].mean()) if oos.any() else 0.0
        correct = float((said & ins & (y == 1))[ins].mean()) if ins.any() else 0.0
        curve.append(
            {"threshold": t, "answered_correct": round(correct, 4), "oos_answered": round(oos_rate, 4)}
        )
        if oos_rate <= max_oos_confident:
            answer_t = t
        if oos_rate <= max_oos_answered and correct > best_correct:
            tentative_t, best_correct = t, correct
    return max(answer_t, tentative_t), tentative_t, list(reversed(curve))


def _figures_at(
    probs: np.ndarray,
    y: np.ndarray,
    questions: list[EvalQuestion],
    handed_off: np.ndarray,
    member: np.ndarray,
    answer_t: float,
    tentative_t: float,
) -> dict[str, float]:
    """Out-of-fold figures of one question file at the chosen thresholds (the honest tuning figures)."""
    ins = np.array([bool(q.acceptable) for q in questions]) & member
    oos = np.array([not q.acceptable and not q.clinical for q in questions]) & member
    live = ~handed_off
    firm, cited = live & (probs >= answer_t), live & (probs >= tentative_t)

    def share(mask: np.ndarray, of: np.ndarray) -> float:
        return round(float(mask[of].mean()), 4) if of.any() else 0.0

    return {
        "answered_correct": share(firm & (y == 1), ins),
        "cited_correct": share(cited & (y == 1), ins),
        "cited_wrong": share(cited & (y == 0), ins),
        "oos_answered": share(firm, oos),
        "oos_cited": share(cited, oos),
    }


class FitReport(BaseModel):
    questions: int
    positives: int
    ranker_l2: float
    ranker_cv: dict[str, dict[str, float]]
    ranker_coefficients: dict[str, float]
    l2: float
    cv_log_loss: dict[str, float]
    answer_threshold: float
    tentative_threshold: float
    coefficients: dict[str, float]
    cv_curve: list[dict[str, float]]
    cv_by_set: dict[str, dict[str, float]] = {}
    written: str | None = None
    ranker_written: str | None = None


def fit_decision_model(
    sops: Path = DEFAULT_SOPS,
    questions_paths: tuple[Path, ...] | list[Path] = DEFAULT_QUESTIONS,
    out: Path | None = MODEL_FILE,
    *,
    max_oos_answered: float = 0.08,
    max_oos_confident: float = 0.02,
    ranker_out: Path | None = RANKER_FILE,
) -> FitReport:
    """Fit, cross-validate and (unless ``out`` is None) write the re-ranker and the decision model."""
    questions: list[EvalQuestion] = []
    source: list[str] = []
    for path in questions_paths:
        loaded = load_questions(path)
        questions += loaded
        source += [path.name] * len(loaded)
    if not sops.exists():
        raise InvalidInput(f"SOP folder not found: {sops}", field="sops")
    folds = folds_for(questions)
    digest = {path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:16] for path in questions_paths}
    with tempfile.TemporaryDirectory(prefix="rxdesk-fit-") as tmp:
        index = SopIndex(Path(tmp) / "index")
        index.ingest([sops])
        retriever = Retriever(index, decision=DecisionModel.cosine_only(0.5), ranker=SopRanker.fused_only())
        in_scope = [i for i, q in enumerate(questions) if q.acceptable]
        groups = ranking_groups(retriever, [questions[i] for i in in_scope], [source[i] for i in in_scope])
        scope_folds = folds[in_scope]
        ranker_cv = {str(l2): _ranker_cv(groups, scope_folds, l2) for l2 in RANKER_L2_GRID}
        ranker_l2 = max(RANKER_L2_GRID, key=lambda l2: (ranker_cv[str(l2)][0], -ranker_cv[str(l2)][1]))
        # decision features with an out-of-fold re-ranker for each fold's questions
        x = np.zeros((len(questions), len(FEATURES)))
        y = np.zeros(len(questions))
        for f in np.unique(folds):
            train = [g for g, k in zip(groups, scope_folds, strict=True) if k != f]
            retriever.ranker = fit_ranker(train, ranker_l2)
            members = [i for i in range(len(questions)) if folds[i] == f]
            fx, fy = feature_rows(retriever, [questions[i] for i in members], [source[i] for i in members])
            x[members], y[members] = fx, fy
    ranker = fit_ranker(
        groups,
        ranker_l2,
        {
            "fitted_on": list(digest),
            "questions_sha256": digest,
            "questions": len(groups),
            "fitted": date.today().isoformat(),
            "l2": ranker_l2,
            "cv_hit1_logloss": {k: [round(v[0], 4), round(v[1], 4)] for k, v in ranker_cv.items()},
            "cv_folds": f"{FOLDS}-fold grouped by SOP",
            "fitted_by": "assistant.sops.fit_decision",
        },
    )
    handed_off = np.array([triage(q.question).clinical for q in questions])
    losses = {l2: _log_loss(out_of_fold(x, y, folds, l2), y) for l2 in L2_GRID}
    best_l2 = min(losses, key=lambda k: losses[k])
    oof = out_of_fold(x, y, folds, best_l2)
    answer_t, tentative_t, curve = choose_thresholds(
        oof, y, questions, handed_off, max_oos_answered, max_oos_confident
    )
    per_set = {
        name: _figures_at(
            oof, y, questions, handed_off, np.array([s == name for s in source]), answer_t, tentative_t
        )
        for name in digest
    }
    mean, scale = _standardise(x)
    coef, intercept = fit_logistic((x - mean) / scale, y, best_l2)
    if not all(math.isfinite(float(v)) for v in coef):
        raise InvalidInput("the decision model did not converge; check the tuning set", code="fit_failed")
    meta = {
        "fitted_on": list(digest),
        "questions_sha256": digest,
        "questions": len(questions),
        "positives": int(y.sum()),
        "fitted": date.today().isoformat(),
        "l2": best_l2,
        "cv_log_loss": {str(k): round(v, 4) for k, v in losses.items()},
        "cv_folds": f"{FOLDS}-fold grouped by SOP",
        "max_oos_answered": max_oos_answered,
        "max_oos_confident": max_oos_confident,
        "decision_features_from": "out-of-fold re-ranker",
        "cv_curve": curve,
        "cv_by_set": per_set,
        "fitted_by": "assistant.sops.fit_decision",
    }
    model = DecisionModel(
        features=FEATURES,
        mean=tuple(round(float(v), 6) for v in mean),
        scale=tuple(round(float(v), 6) for v in scale),
        coef=tuple(round(float(v), 6) for v in coef),
        intercept=round(intercept, 6),
        answer_threshold=answer_t,
        tentative_threshold=tentative_t,
        meta=meta,
    )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(model.to_json(), indent=2) + "\n", encoding="utf-8")
        load_decision_model.cache_clear()
    if ranker_out is not None:
        ranker_out.parent.mkdir(parents=True, exist_ok=True)
        ranker_out.write_text(json.dumps(ranker.to_json(), indent=2) + "\n", encoding="utf-8")
        load_ranker.cache_clear()
    return FitReport(
        questions=len(questions),
        positives=int(y.sum()),
        ranker_l2=ranker_l2,
        ranker_cv={k: {"hit@1": round(v[0], 4), "log_loss": round(v[1], 4)} for k, v in ranker_cv.items()},
        ranker_coefficients=dict(zip(SOP_FEATURES, ranker.coef, strict=True)),
        l2=best_l2,
        cv_log_loss={str(k): round(v, 4) for k, v in losses.items()},
        answer_threshold=answer_t,
        tentative_threshold=tentative_t,
        coefficients=dict(zip(FEATURES, model.coef, strict=True)),
        cv_curve=curve,
        cv_by_set=per_set,
        written=str(out) if out is not None else None,
        ranker_written=str(ranker_out) if ranker_out is not None else None,
    )
