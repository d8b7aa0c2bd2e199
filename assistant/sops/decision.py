"""Answer, hedge or abstain: a calibrated decision over several retrieval signals.

Why a model and not one cosine cut-off: on a 38-SOP manual with near neighbours (recalls vs
outdates, vaccine vs medication fridges, theft vs count corrections) no single signal separates
"the SOPs cover this" from "best of a bad lot". Cosine similarity is high for any pharmacy-sounding
question; BM25 is high whenever a common SOP word appears; coverage misses paraphrase. Each carries
part of the evidence, so we combine them in the smallest model that can be fit honestly on ~240
questions: an L2-regularised logistic regression over a dozen standardised features
(:data:`FEATURES`). It is linear, so each coefficient can be read and questioned; it outputs a
probability, so the operating points are explicit and can be moved without refitting; and it fits in
milliseconds with numpy (no scikit-learn needed for 12 features and a few hundred rows).

The label is "answering with the top SOP would be right": 1 for an in-scope question whose top-ranked
SOP is acceptable, 0 for out-of-scope and clinical questions and for in-scope questions ranked
wrong. The regularisation strength and both thresholds are chosen by cross-validation grouped by SOP
(a question's neighbours in the same SOP never sit on both sides of a fold), see
:mod:`assistant.sops.fit_decision`, which writes knowledge/models/answer_decision.json.

Two thresholds give three outcomes:
- ``answer`` (p >= answer_threshold): cite the SOP section as the answer;
- ``tentative`` (tentative_threshold <= p < answer_threshold): show the closest SOP section with its
  citation and ask the technician to check it covers their case;
- ``abstain``: "our SOPs don't cover this".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from assistant.config import REPO_ROOT
from assistant.errors import InvalidInput
from assistant.sops.linear_json import linear_parts, linear_score, read_model_file, sigmoid

Decision = Literal["answer", "tentative", "abstain"]
MODEL_FILE = REPO_ROOT / "knowledge" / "models" / "answer_decision.json"

FEATURES: tuple[str, ...] = (
    "best_cosine",  # max cosine similarity of any chunk to the expanded question
    "top_sop_cosine",  # max cosine similarity within the top-ranked SOP
    "cosine_margin",  # top SOP's cosine minus the best cosine of any other SOP
    "bm25_norm",  # top SOP's best BM25 score / the score a perfect match would get (0..1)
    "coverage_section",  # IDF-weighted share of the question's terms found in the top section
    "coverage_sop",  # ... found anywhere in the top SOP
    "unknown_share",  # IDF-weighted share of the question's terms found nowhere in the manual
    "agree_top",  # 1 when dense and BM25 rank the same SOP first
    "dense_rr",  # reciprocal rank of the top SOP in the dense SOP ranking
    "bm25_rr",  # reciprocal rank of the top SOP in the BM25 SOP ranking
    "fused_margin",  # (fused score of top SOP - next SOP) / top SOP's fused score
    "log_terms",  # log(1 + number of content terms in the question)
    "coverage_block",  # best share of the question's terms found in one step of the top SOP
    "ranker_prob",  # the SOP re-ranker's softmax probability for the top SOP (assistant/sops/ranker.py)
    # the question bank (assistant/sops/question_bank.py): known questions nearest to this one
    "bank_top",  # similarity of the nearest known question the top SOP answers
    "bank_out",  # similarity of the nearest known question no SOP answers
    "bank_margin",  # the first minus the second
    "bank_nn_agree",  # 1 when the single nearest known question is answered by the top SOP
)


@dataclass(frozen=True)
class DecisionModel:
    """A fitted logistic regression with its two operating thresholds."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    answer_threshold: float
    tentative_threshold: float
    meta: dict[str, object] = field(default_factory=dict, compare=False)

    def probability(self, values: dict[str, float]) -> float:
        inputs = (values.get(name, 0.0) for name in self.features)
        return sigmoid(linear_score(inputs, self.mean, self.scale, self.coef, start=self.intercept))

    def decide(self, probability: float) -> Decision:
        if probability >= self.answer_threshold:
            return "answer"
        if probability >= self.tentative_threshold:
            return "tentative"
        return "abstain"

    def with_thresholds(self, answer: float, tentative: float) -> DecisionModel:
        return DecisionModel(
            self.features, self.mean, self.scale, self.coef, self.intercept, answer, tentative, self.meta
        )

    @classmethod
    def cosine_only(cls, threshold: float, width: float = 0.02) -> DecisionModel:
        """A one-feature model: answer when best cosine >= threshold (for tests with fake embeddings)."""
        return cls(("best_cosine",), (threshold,), (width,), (1.0,), 0.0, 0.5, 0.5, {"kind": "cosine_only"})

    def to_json(self) -> dict[str, object]:
        return {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "answer_threshold": self.answer_threshold,
            "tentative_threshold": self.tentative_threshold,
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, object], source: str = "decision model") -> DecisionModel:
        features, mean, scale, coef, meta = linear_parts(data, source, "decision model", FEATURES)
        try:
            intercept = float(data["intercept"])  # type: ignore[arg-type]
            answer, tentative = float(data["answer_threshold"]), float(data["tentative_threshold"])  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"{source}: malformed decision model ({exc})") from exc
        return cls(features, mean, scale, coef, intercept, answer, tentative, meta)


@lru_cache(maxsize=4)
def load_decision_model(path: Path = MODEL_FILE) -> DecisionModel:
    return DecisionModel.from_json(read_model_file(path, "answer decision model"), path.name)


# -- fitting (used by assistant.sops.fit_decision; kept here so the maths sits with its use) -------
def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float, iterations: int = 50) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method (IRLS) on standardised inputs.

    The intercept is not penalised. Converges in a handful of steps for a dozen features.
    """
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        z = np.clip(xb @ w, -40, 40)
        p = 1.0 / (1.0 + np.exp(-z))
        grad = xb.T @ (p - y) + penalty * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(penalty) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w[:-1], float(w[-1])
