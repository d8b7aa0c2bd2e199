"""The second layer of clinical triage: a small learned model for what the patterns miss.

Why: the pattern rules in :mod:`assistant.sops.triage` are precise but brittle. On two triage sets
written by people who never saw them they handed 0.54 and 0.70 of the clinical questions to the
pharmacist: a patient's "it makes her puke", "is the new one really the same thing", "whats a good
cough syrup for someone with high blood pressure" each need a new pattern. A technician's clinical
question that slips through gets a procedural answer, which is the failure that matters most.

So the rules keep the first word, and a logistic regression gets the second: over the question's
sentence embedding (the bundled all-MiniLM-L6-v2, the same model retrieval uses, so nothing new is
installed or downloaded) plus the rules' own partial signals (:data:`SIGNALS`: drugs named, a
procedural cue, a patient condition, a judgment question, a symptom, a therapy decision, a patient
state). A question is clinical when the rules say so *or* the model's probability reaches its
threshold. Measured once on the second fresh set (triage_v6, the model fit without it): hand-off
0.70 with the rules alone, 0.90 with both, and procedural questions handed off 0.025 either way.

It is fit by ``rxdesk eval fit-triage`` on every labelled question file (L2 and threshold fixed
beforehand by leaving out one file at a time: the threshold keeps in-scope questions handed off at
or under 2%) and stored in knowledge/models/clinical_triage.json. Without the file or the model the
rules work alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import REPO_ROOT
from assistant.errors import InvalidInput
from assistant.sops.linear_json import linear_score, read_model_file, sigmoid

MODEL_FILE = REPO_ROOT / "knowledge" / "models" / "clinical_triage.json"
SIGNALS: tuple[str, ...] = (
    "drugs",  # drug, substance or vaccine names found (0, 1/3, 2/3, 1)
    "procedural",  # a procedural cue (count, ship, bill, label, ...)
    "condition",  # a patient condition (pregnant, a child's age, kidneys, an allergy, a symptom)
    "judgment",  # a judgment question (is it ok, can she take, how much, what do i tell her)
    "symptom",  # a side effect or symptom in the patient's words
    "therapy_decision",  # should she keep / stop / take it, do i still fill it
    "patient_state",  # pregnancy, an allergy, kidneys or liver, a symptom
)
L2 = 30.0
THRESHOLD = 0.4


@dataclass(frozen=True)
class ClinicalModel:
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    dimensions: int
    meta: dict[str, object] = field(default_factory=dict, compare=False)

    def probability(self, vector: np.ndarray, signals: list[float]) -> float:
        x = [*np.asarray(vector, dtype=np.float64).tolist(), *signals]
        if len(x) != len(self.coef):
            raise InvalidInput(
                f"clinical triage model expects {len(self.coef)} inputs, got {len(x)}: refit it"
            )
        return sigmoid(linear_score(x, self.mean, self.scale, self.coef, start=self.intercept))

    def to_json(self) -> dict[str, object]:
        return {
            "signals": list(SIGNALS),
            "dimensions": self.dimensions,
            "mean": [round(v, 6) for v in self.mean],
            "scale": [round(v, 6) for v in self.scale],
            "coef": [round(v, 6) for v in self.coef],
            "intercept": round(self.intercept, 6),
            "threshold": self.threshold,
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str = "clinical triage model") -> ClinicalModel:
        try:
            if list(data["signals"]) != list(SIGNALS):
                raise InvalidInput(f"{source}: its signals differ from this version's; refit it")
            dims = int(data["dimensions"])
            mean = tuple(float(v) for v in data["mean"])
            scale = tuple(float(v) or 1.0 for v in data["scale"])
            coef = tuple(float(v) for v in data["coef"])
            model = cls(
                mean,
                scale,
                coef,
                float(data["intercept"]),
                float(data["threshold"]),
                dims,
                data.get("meta") or {},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"{source}: malformed clinical triage model ({exc})") from exc
        if not (len(mean) == len(scale) == len(coef) == dims + len(SIGNALS)):
            raise InvalidInput(f"{source}: mean, scale and coef must have {dims + len(SIGNALS)} values")
        return model


@lru_cache(maxsize=2)
def load_clinical_model(path: Path = MODEL_FILE) -> ClinicalModel | None:
    """The shipped model, or None when there is none (the rules then work alone)."""
    if not path.is_file():
        return None
    return ClinicalModel.from_json(read_model_file(path, "clinical triage model"), path.name)


# -- fitting (``rxdesk eval fit-triage``) -------------------------------------------------------------
def fit_clinical_model(
    vectors: np.ndarray,
    signals: np.ndarray,
    labels: np.ndarray,
    *,
    l2: float = L2,
    threshold: float = THRESHOLD,
    meta: dict[str, object] | None = None,
) -> ClinicalModel:
    from assistant.sops.decision import fit_logistic

    x = np.hstack([vectors, signals])
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    coef, intercept = fit_logistic((x - mean) / scale, labels, l2)
    return ClinicalModel(
        tuple(float(v) for v in mean),
        tuple(float(v) for v in scale),
        tuple(float(v) for v in coef),
        float(intercept),
        threshold,
        vectors.shape[1],
        {"fitted": date.today().isoformat(), "l2": l2, **(meta or {})},
    )
