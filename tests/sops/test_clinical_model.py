"""The learned layer of clinical triage: its file, its fit, and how well it generalises."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from assistant.cli import main
from assistant.errors import InvalidInput
from assistant.sops.clinical_model import (
    MODEL_FILE,
    SIGNALS,
    ClinicalModel,
    fit_clinical_model,
    load_clinical_model,
)
from assistant.sops.fit_triage import TRIAGE_FILES, fit_triage_model


def _tiny_model() -> ClinicalModel:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(40, 4))
    signals = rng.integers(0, 2, size=(40, len(SIGNALS))).astype(float)
    labels = (vectors[:, 0] + signals[:, 1] > 0.5).astype(float)
    return fit_clinical_model(vectors, signals, labels)


def test_the_model_file_round_trips_and_refuses_a_mismatch(tmp_path: Path) -> None:
    model = _tiny_model()
    again = ClinicalModel.from_json(json.loads(json.dumps(model.to_json())))
    x, s = np.ones(4), [1.0] * len(SIGNALS)
    assert again.probability(x, s) == pytest.approx(model.probability(x, s), abs=1e-5)
    with pytest.raises(InvalidInput, match="expects 11 inputs, got 10"):
        model.probability(np.ones(3), s)
    data = model.to_json()
    with pytest.raises(InvalidInput, match="signals differ"):
        ClinicalModel.from_json({**data, "signals": ["drugs"]})
    with pytest.raises(InvalidInput, match="must have 11 values"):
        ClinicalModel.from_json({**data, "coef": data["coef"][:-1]})  # type: ignore[index]
    with pytest.raises(InvalidInput, match="malformed"):
        ClinicalModel.from_json({**data, "intercept": "high"})
    bad = tmp_path / "clinical.json"
    bad.write_text("{not json")
    with pytest.raises(InvalidInput, match="clinical triage model is not valid JSON"):
        load_clinical_model.__wrapped__(bad)
    assert load_clinical_model.__wrapped__(tmp_path / "absent.json") is None


def test_the_shipped_model_was_fit_on_the_current_files() -> None:
    model = load_clinical_model()
    assert model is not None and model.dimensions == 384
    expected = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in TRIAGE_FILES}
    assert model.meta["questions_sha256"] == expected  # edit a file: run `rxdesk eval fit-triage`


def test_leaving_one_file_out_the_model_still_finds_clinical_questions() -> None:
    """The generalisation check behind the design, repeated on the current files.

    triage_v6.jsonl was measured once with the design frozen (model fit without it): rules alone
    0.700, rules + model 0.900 of its 60 clinical questions; 1 of 40 procedural ones handed off.
    """
    report = fit_triage_model(out=None)
    v6 = report.leave_one_file_out["triage_v6.jsonl"]
    assert v6.clinical == 60 and v6.handoff_rules <= 0.75 and v6.handoff_with_model >= 0.88
    assert report.pooled.handoff_with_model >= 0.95
    assert report.pooled.in_scope_handed_off <= 0.03
    assert all(f.in_scope_handed_off <= 0.05 for f in report.leave_one_file_out.values())


def test_fit_triage_dry_run_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        (f"can she take {d} with her {e}", True) for d, e in [("advil", "warfarin"), ("tylenol", "alcohol")]
    ]
    rows += [
        (f"how much {d} for a {n} yr old", True) for d, n in [("motrin", 3), ("zyrtec", 2), ("tylenol", 5)]
    ]
    rows += [(q, True) for q in ("is she gonna be ok, took 2 by mistake", "pregnant pt wants sudafed, safe?")]
    rows += [
        (q, True)
        for q in ("rash after starting amoxicillin", "missed her eliquis dose", "dizzy on lisinopril")
    ]
    rows += [
        (f"where do i log the {x}", False) for x in ("fridge temp", "c2 count", "recall", "return", "pa")
    ]
    rows += [
        (f"how do i {x}", False) for x in ("ship a cooler", "transfer an rx", "bill a flu shot", "order cii")
    ]
    rows += [("whats the wifi password", False), ("who approves time off", False)]

    def line(question: str, clinical: bool) -> str:
        row = (
            {"question": question, "expected_sop": None, "clinical": True}
            if clinical
            else {
                "question": question,
                "expected_sop": "X-1",
            }
        )
        return json.dumps(row) + "\n"

    files = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    for n, path in enumerate(files):
        path.write_text("".join(line(q, c) for q, c in rows[n::2]))
    before = MODEL_FILE.read_bytes()
    args = [
        "eval",
        "fit-triage",
        "--questions",
        str(files[0]),
        "--questions",
        str(files[1]),
        "--dry-run",
        "--json",
    ]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["questions"] == len(rows) and out["clinical"] == 10 and out["written"] is None
    assert set(out["leave_one_file_out"]) == {"a.jsonl", "b.jsonl"}
    assert MODEL_FILE.read_bytes() == before
    too_few = tmp_path / "few.jsonl"
    too_few.write_text('{"question": "dose for a 2 yr old", "expected_sop": null, "clinical": true}\n')
    assert (
        main(["eval", "fit-triage", "--questions", str(too_few), "--questions", str(too_few), "--dry-run"])
        == 2
    )
    assert "at least two question files" in capsys.readouterr().err
    other = tmp_path / "other.jsonl"
    other.write_text('{"question": "how much tylenol", "expected_sop": null, "clinical": true}\n')
    assert (
        main(["eval", "fit-triage", "--questions", str(too_few), "--questions", str(other), "--dry-run"]) == 2
    )
    assert "too few clinical or non-clinical questions" in capsys.readouterr().err
