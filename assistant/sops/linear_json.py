"""Standardized linear models (mean, scale, coef): reading their JSON files with one-line errors and
scoring them. Shared by the answer decision (decision.py), the SOP re-ranker (ranker.py) and the
clinical triage model (clinical_model.py)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from assistant.errors import InvalidInput

Parts = tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...], tuple[float, ...], dict[str, Any]]


def linear_score(
    values: Iterable[float],
    mean: Iterable[float],
    scale: Iterable[float],
    coef: Iterable[float],
    start: float = 0.0,
) -> float:
    """``start`` + the sum of coef * (value - mean) / scale, added in input order (so repeatable)."""
    z = start
    for x, mu, sd, w in zip(values, mean, scale, coef, strict=True):
        z += w * (x - mu) / sd
    return z


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


def read_model_file(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"{what} not readable: {path} ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{what} is not valid JSON: {path}") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{what} is not a JSON object: {path}")
    return data


def linear_parts(data: dict[str, Any], source: str, what: str, known: Iterable[str]) -> Parts:
    """(features, mean, scale, coef, meta), checked: same lengths, known features only."""
    try:
        parts: Parts = (
            tuple(str(n) for n in data["features"]),
            tuple(float(v) for v in data["mean"]),
            tuple(float(v) or 1.0 for v in data["scale"]),
            tuple(float(v) for v in data["coef"]),
            dict(data.get("meta") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"{source}: malformed {what} ({exc})") from exc
    features, mean, scale, coef, _ = parts
    if not (len(features) == len(mean) == len(scale) == len(coef)):
        raise InvalidInput(f"{source}: feature, mean, scale and coef lists differ in length")
    unknown = set(features) - set(known)
    if unknown:
        raise InvalidInput(f"{source}: unknown features {sorted(unknown)}")
    return parts
