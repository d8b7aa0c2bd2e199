"""Fit the clinical triage model (``rxdesk eval fit-triage``) and say how well it generalises.

Every labelled question file is used: a question is a positive when marked ``"clinical": true``,
a negative otherwise (in-scope, out-of-scope). L2 strength and threshold are fixed
(:data:`assistant.sops.clinical_model.L2`, ``THRESHOLD``): they were chosen once, leaving one file out at
a time, as the threshold that kept in-scope questions handed off at or under 2%. The report repeats
that leave-one-file-out check for the current files, so a change that hurts shows up before it ships:
per file, the hand-off rate of clinical questions with the rules alone and with rules plus model
(the model fit without that file), and the share of in-scope questions handed off.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from assistant.errors import InvalidInput
from assistant.sops.clinical_model import L2, MODEL_FILE, THRESHOLD, fit_clinical_model, load_clinical_model
from assistant.sops.embeddings import runtime
from assistant.sops.evaluate import load_questions
from assistant.sops.question_bank import EVAL_DIR
from assistant.sops.triage import rule_signals, rule_triage

TRIAGE_FILES: tuple[Path, ...] = tuple(
    EVAL_DIR / name
    for name in (
        "questions.jsonl",
        "holdout.jsonl",
        "holdout_tech.jsonl",
        "holdout_v3.jsonl",
        "holdout_v4.jsonl",
        "known_questions_a.jsonl",
        "known_questions_b.jsonl",
        "triage_v5.jsonl",
        "triage_v6.jsonl",
    )
)


class FileFigures(BaseModel):
    clinical: int
    handoff_rules: float  # clinical questions handed off by the rules alone
    handoff_with_model: float  # ... by rules or model, the model fit without this file
    in_scope_handed_off: float  # in-scope questions wrongly handed off (rules or model)


class TriageFitReport(BaseModel):
    questions: int
    clinical: int
    l2: float
    threshold: float
    leave_one_file_out: dict[str, FileFigures]
    pooled: FileFigures
    written: str | None = None


def _share(mask: np.ndarray, of: np.ndarray) -> float:
    return round(float(mask[of].mean()), 4) if of.any() else 0.0


def fit_triage_model(
    paths: tuple[Path, ...] | list[Path] = TRIAGE_FILES, out: Path | None = MODEL_FILE
) -> TriageFitReport:
    if len({Path(p).name for p in paths}) < 2:
        raise InvalidInput(
            "give at least two question files: the check leaves one out at a time", field="questions"
        )
    texts: list[str] = []
    labels: list[float] = []
    in_scope: list[bool] = []
    source: list[str] = []
    for path in paths:
        for q in load_questions(path):
            texts.append(q.question.replace("’", "'"))
            labels.append(1.0 if q.clinical else 0.0)
            in_scope.append(bool(q.acceptable))
            source.append(path.name)
    y, scope, src = np.array(labels), np.array(in_scope), np.array(source)
    if y.sum() < 10 or (1 - y).sum() < 10:
        raise InvalidInput(
            "too few clinical or non-clinical questions to fit the triage model", code="fit_failed"
        )
    vectors = runtime().embed(texts).astype(np.float64)
    signals = np.array([rule_signals(t) for t in texts])
    rules = np.array([rule_triage(t).clinical for t in texts])
    said = np.zeros(len(texts), dtype=bool)
    per_file: dict[str, FileFigures] = {}
    for name in dict.fromkeys(source):
        held = src == name
        model = fit_clinical_model(vectors[~held], signals[~held], y[~held])
        probs = np.array(
            [model.probability(v, list(s)) for v, s in zip(vectors[held], signals[held], strict=True)]
        )
        said[held] = rules[held] | (probs >= model.threshold)
        clinical = y == 1
        per_file[name] = FileFigures(
            clinical=int((clinical & held).sum()),
            handoff_rules=_share(rules, clinical & held),
            handoff_with_model=_share(said, clinical & held),
            in_scope_handed_off=_share(said, scope & held),
        )
    pooled = FileFigures(
        clinical=int(y.sum()),
        handoff_rules=_share(rules, y == 1),
        handoff_with_model=_share(said, y == 1),
        in_scope_handed_off=_share(said, scope),
    )
    digest = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in paths}
    final = fit_clinical_model(
        vectors,
        signals,
        y,
        meta={
            "fitted_on": list(digest),
            "questions_sha256": digest,
            "questions": len(texts),
            "clinical": int(y.sum()),
            "threshold_rule": "in-scope questions handed off <= 2%, leaving one file out",
            "leave_one_file_out_pooled": pooled.model_dump(),
            "fitted_by": "assistant.sops.fit_triage",
        },
    )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(final.to_json()) + "\n", encoding="utf-8")
        load_clinical_model.cache_clear()
    return TriageFitReport(
        questions=len(texts),
        clinical=int(y.sum()),
        l2=L2,
        threshold=THRESHOLD,
        leave_one_file_out=per_file,
        pooled=pooled,
        written=str(out) if out is not None else None,
    )
