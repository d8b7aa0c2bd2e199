"""Which SOP answers the question: a small learned re-ranker over the fused candidates.

Why: reciprocal-rank fusion ranks SOPs by their single best chunk, so an SOP whose one chunk happens
to share chatty words with a question ("say", "name", "DOB" in the outreach script) beats the SOP
that matches the question's topic in its headings and in several chunks. Retuning the fusion weights
and constant did not help (hit@1 moved by ±0.02 across the three question sets). A re-ranker that
weighs several plain signals per candidate SOP did: the BM25 score of its best chunk and of its best
three, its best cosine and the gap to the best cosine anywhere, its rank in each list, how much of
the question the SOP and its best section cover, and how much of the question its title and section
headings cover (:data:`SOP_FEATURES`).

The model is a conditional logit (softmax over the candidate SOPs of one question) with L2: linear,
so each weight can be read; it gives a probability per candidate, whose top value the answer
decision also uses. It is fit on the tuning set only by ``rxdesk eval fit-decision``
(:mod:`assistant.sops.fit_decision`) with Newton's method in numpy, and written to
knowledge/models/sop_ranker.json.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.config import REPO_ROOT
from assistant.sops.linear_json import linear_parts, linear_score, read_model_file

RANKER_FILE = REPO_ROOT / "knowledge" / "models" / "sop_ranker.json"
CANDIDATE_SOPS = 10  # the re-ranker reorders the fused ranking's top SOPs only

SOP_FEATURES: tuple[str, ...] = (
    "fused_rel",  # the SOP's best fused (RRF) score / the best of any SOP
    "bm25_top",  # BM25 score of the SOP's best chunk / the score of a perfect match
    "bm25_top3",  # sum of its three best chunks' BM25 scores / a perfect match
    "bm25_rr",  # reciprocal rank of the SOP in the BM25 SOP ranking
    "cosine",  # best cosine similarity of any of its chunks
    "cosine_gap",  # that cosine minus the best cosine of any chunk
    "dense_rr",  # reciprocal rank of the SOP in the dense SOP ranking
    "coverage_sop",  # IDF-weighted share of the question's terms found anywhere in the SOP
    "coverage_section",  # ... found in the SOP's best-covering section
    "coverage_headings",  # ... found in the SOP's title and section headings
    "bank_sim",  # similarity of the nearest known question this SOP answers (question_bank.py)
)


@dataclass(frozen=True)
class SopRanker:
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    meta: dict[str, object] = field(default_factory=dict, compare=False)

    def scores(self, rows: list[dict[str, float]]) -> list[float]:
        return [
            linear_score((values.get(name, 0.0) for name in self.features), self.mean, self.scale, self.coef)
            for values in rows
        ]

    @staticmethod
    def softmax(scores: list[float]) -> list[float]:
        if not scores:
            return []
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return [e / total for e in exps]

    @classmethod
    def fused_only(cls) -> SopRanker:
        """Keep the fused order (tests with fake embeddings, and the fit's first pass)."""
        return cls(("fused_rel",), (0.0,), (1.0,), (10.0,), {"kind": "fused_only"})

    def to_json(self) -> dict[str, object]:
        return {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, object], source: str = "SOP ranker") -> SopRanker:
        features, mean, scale, coef, meta = linear_parts(data, source, "SOP ranker", SOP_FEATURES)
        return cls(features, mean, scale, coef, meta)


@lru_cache(maxsize=4)
def load_ranker(path: Path = RANKER_FILE) -> SopRanker:
    return SopRanker.from_json(read_model_file(path, "SOP ranker"), path.name)


# -- fitting (used by assistant.sops.fit_decision) -----------------------------------------------------
Group = tuple[np.ndarray, np.ndarray]  # (candidates x features, 1 for each acceptable candidate)


def fit_conditional_logit(groups: list[Group], l2: float, iterations: int = 30) -> np.ndarray:
    """Softmax-over-candidates logistic regression with L2, by Newton's method (inputs standardised).

    Each group is one question: its candidate SOPs' feature rows and which of them are acceptable
    (the target spreads evenly over several acceptable SOPs). Groups without an acceptable
    candidate carry no ranking information and are skipped.
    """
    usable = [(x, y / y.sum()) for x, y in groups if y.sum() > 0 and len(y) > 1]
    d = usable[0][0].shape[1] if usable else 0
    w = np.zeros(d)
    for _ in range(iterations):
        grad = l2 * w
        hess = l2 * np.eye(d) + 1e-9 * np.eye(d)
        for x, t in usable:
            z = x @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            grad = grad + x.T @ (p - t)
            hess = hess + x.T @ (np.diag(p) - np.outer(p, p)) @ x
        step = np.linalg.solve(hess, grad)
        w = w - step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w
