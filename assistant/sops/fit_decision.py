"""Fit the answer/abstain model on the tuning set and write knowledge/models/answer_decision.json.

Run it with ``rxdesk eval fit-decision`` (``--dry-run`` prints the cross-validation, writes nothing)
after editing the tuning set, the vocabulary or the features.

Steps (the reasons are in assistant/sops/decision.py):
1. ingest the SOPs into a temporary index with the real bundled embedding model;
2. compute the decision features of every tuning question with the hybrid retriever;
3. label each question 1 when answering with its top-ranked SOP would be right, else 0;
4. choose the L2 strength by 5-fold cross-validation grouped by SOP (log-loss of out-of-fold
   probabilities); questions without an SOP are spread over the folds;
5. choose the thresholds on the out-of-fold probabilities: the answer threshold is the lowest at
   which at most ``max_oos_answered`` of out-of-scope questions would be answered; the tentative
   threshold is the lowest at which at most ``max_oos_hedged`` would be answered or hedged;
6. refit on every question and write the coefficients with the cross-validated figures.
Never fit on a held-out set: those files exist to check this one.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
from datetime import date
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from assistant.config import REPO_ROOT
from assistant.errors import InvalidInput
from assistant.sops.decision import FEATURES, MODEL_FILE, DecisionModel, fit_logistic, load_decision_model
from assistant.sops.evaluate import EvalQuestion, load_questions
from assistant.sops.index import SopIndex
from assistant.sops.search import Retriever
from assistant.sops.triage import triage

DEFAULT_SOPS = REPO_ROOT / "knowledge" / "sops"
DEFAULT_QUESTIONS = REPO_ROOT / "knowledge" / "eval" / "questions.jsonl"
L2_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
FOLDS = 5
THRESHOLD_GRID = tuple(round(0.05 + 0.01 * i, 2) for i in range(91))  # 0.05 .. 0.95


def feature_rows(retriever: Retriever, questions: list[EvalQuestion]) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = [], []
    for q in questions:
        found = retriever.search(q.question, "hybrid")
        rows.append([found.features.get(name, 0.0) for name in FEATURES])
        top = found.ranked_sop_ids()[:1]
        labels.append(1.0 if top and top[0] in q.acceptable else 0.0)
    return np.array(rows, dtype=float), np.array(labels, dtype=float)


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
    max_oos_hedged: float,
) -> tuple[float, float, list[dict[str, float]]]:
    oos = np.array([not q.acceptable and not q.clinical for q in questions])
    ins = np.array([bool(q.acceptable) for q in questions])
    live = ~handed_off
    curve = []
    answer_t = tentative_t = THRESHOLD_GRID[-1]
    for t in reversed(THRESHOLD_GRID):
        said = live & (probs >= t)
        oos_rate = float(said[oos].mean()) if oos.any() else 0.0
        correct = float((said & ins & (y == 1))[ins].mean()) if ins.any() else 0.0
        curve.append(
            {"threshold": t, "answered_correct": round(correct, 4), "oos_answered": round(oos_rate, 4)}
        )
        if oos_rate <= max_oos_answered:
            answer_t = t
        if oos_rate <= max_oos_hedged:
            tentative_t = t
    return answer_t, min(tentative_t, answer_t), list(reversed(curve))


class FitReport(BaseModel):
    questions: int
    positives: int
    l2: float
    cv_log_loss: dict[str, float]
    answer_threshold: float
    tentative_threshold: float
    coefficients: dict[str, float]
    cv_curve: list[dict[str, float]]
    written: str | None = None


def fit_decision_model(
    sops: Path = DEFAULT_SOPS,
    questions_path: Path = DEFAULT_QUESTIONS,
    out: Path | None = MODEL_FILE,
    *,
    max_oos_answered: float = 0.08,
    max_oos_hedged: float = 0.25,
) -> FitReport:
    """Fit, cross-validate and (unless ``out`` is None) write the decision model."""
    questions = load_questions(questions_path)
    if not sops.exists():
        raise InvalidInput(f"SOP folder not found: {sops}", field="sops")
    with tempfile.TemporaryDirectory(prefix="rxdesk-fit-") as tmp:
        index = SopIndex(Path(tmp) / "index")
        index.ingest([sops])
        retriever = Retriever(index, decision=DecisionModel.cosine_only(0.5))
        x, y = feature_rows(retriever, questions)
    handed_off = np.array([triage(q.question).clinical for q in questions])
    folds = folds_for(questions)
    losses = {l2: _log_loss(out_of_fold(x, y, folds, l2), y) for l2 in L2_GRID}
    best_l2 = min(losses, key=lambda k: losses[k])
    oof = out_of_fold(x, y, folds, best_l2)
    answer_t, tentative_t, curve = choose_thresholds(
        oof, y, questions, handed_off, max_oos_answered, max_oos_hedged
    )
    mean, scale = _standardise(x)
    coef, intercept = fit_logistic((x - mean) / scale, y, best_l2)
    if not all(math.isfinite(float(v)) for v in coef):
        raise InvalidInput("the decision model did not converge; check the tuning set", code="fit_failed")
    meta = {
        "fitted_on": questions_path.name,
        "questions_sha256": hashlib.sha256(questions_path.read_bytes()).hexdigest()[:16],
        "questions": len(questions),
        "positives": int(y.sum()),
        "fitted": date.today().isoformat(),
        "l2": best_l2,
        "cv_log_loss": {str(k): round(v, 4) for k, v in losses.items()},
        "cv_folds": f"{FOLDS}-fold grouped by SOP",
        "max_oos_answered": max_oos_answered,
        "max_oos_hedged": max_oos_hedged,
        "cv_curve": curve,
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
    return FitReport(
        questions=len(questions),
        positives=int(y.sum()),
        l2=best_l2,
        cv_log_loss={str(k): round(v, 4) for k, v in losses.items()},
        answer_threshold=answer_t,
        tentative_threshold=tentative_t,
        coefficients=dict(zip(FEATURES, model.coef, strict=True)),
        cv_curve=curve,
        written=str(out) if out is not None else None,
    )
