"""The real bundled model end to end: checksum, Chroma re-open, the evaluation bar, the CLI contract."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.config import REPO_ROOT
from assistant.sops.decision import FEATURES, MODEL_FILE
from assistant.sops.embeddings import (
    EmbeddingModelError,
    MiniLMEmbedding,
    _model_path,
    _Runtime,
    _tokenizer_path,
    runtime,
)
from assistant.sops.evaluate import evaluate, load_questions
from assistant.sops.index import COLLECTION, SopIndex, chroma_client
from assistant.sops.search import Retriever

EVAL_DIR = REPO_ROOT / "knowledge" / "eval"
EVAL = EVAL_DIR / "questions.jsonl"
HOLDOUT = EVAL_DIR / "holdout.jsonl"
# written by someone who never saw the tuning set, over the 38-SOP manual; evaluated once, frozen method
HOLDOUT_TECH = EVAL_DIR / "holdout_tech.jsonl"
# issue 10 round 2's held-out set (measured once at commit e45fe72); a development set since round 3
HOLDOUT_V3 = EVAL_DIR / "holdout_v3.jsonl"
# issue 10 round 3: 125 questions written from the SOPs alone by someone who saw no other question
# set; evaluated once with the method frozen (question bank, re-ranker and decision refit without it)
HOLDOUT_V4 = EVAL_DIR / "holdout_v4.jsonl"
KNOWN = (EVAL_DIR / "known_questions_a.jsonl", EVAL_DIR / "known_questions_b.jsonl")


def test_model_checksum_is_checked_before_loading() -> None:
    with pytest.raises(EmbeddingModelError, match="checksum mismatch"):
        _Runtime(_model_path(), _tokenizer_path(), expected_sha256="0" * 64)


def test_embeddings_are_normalized_and_semantic() -> None:
    vectors = runtime().embed(
        ["vaccine refrigerator temperature", "fridge temp for vaccines", "DEA Form 222"]
    )
    assert vectors.shape == (3, 384)
    assert abs(float((vectors[0] ** 2).sum()) - 1.0) < 1e-4
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])


def test_collection_reopens_with_our_embedding_function(shipped_data_dir: Path) -> None:
    client = chroma_client(shipped_data_dir / "index" / "chroma")
    collection = client.get_collection(COLLECTION)  # no embedding function passed on purpose
    # chromadb rebuilds the function from the persisted config (ours is registered by name) and
    # uses it instead of its downloading default; there is no network here, so a download would fail
    assert isinstance(collection.configuration["embedding_function"], MiniLMEmbedding)
    found = collection.query(query_texts=["vaccine fridge too warm"], n_results=1)
    assert found["metadatas"][0][0]["sop_id"] == "VAC-001"


def _bars(report, *, hit3: float, cited: float, oos: float, clinical: float = 0.90) -> None:  # type: ignore[no-untyped-def]
    hybrid, dense, bm25 = (report.methods[m] for m in ("hybrid", "dense", "bm25"))
    assert hybrid.hit_at_3 >= hit3
    # hybrid at least as good as either single method, in the same run
    assert hybrid.hit_at_3 >= max(dense.hit_at_3, bm25.hit_at_3)
    assert hybrid.mrr >= max(dense.mrr, bm25.mrr)
    # firm and tentative answers both cite their SOP first (see assistant/sops/evaluate.py)
    assert hybrid.cited_correct >= cited
    assert hybrid.oos_cited <= oos
    assert hybrid.answered_wrong <= 0.05  # a confident wrong SOP is worse than no answer
    if report.clinical:
        assert hybrid.clinical_handoff >= clinical


# The re-ranker and the decision are fit on the tuning and development files, and those files are
# the question bank, so their figures are partly in-sample (evaluate() leaves a file's own questions
# out of the bank, but the models saw them): the bars below are regression guards a little under the
# measured values, not claims. The honest figures are the held-out set's (holdout_v4.jsonl).
def test_tuning_set_meets_the_bar(shipped_data_dir: Path) -> None:
    report = evaluate(Retriever(SopIndex(shipped_data_dir / "index")), load_questions(EVAL))
    assert report.in_scope >= 150 and report.out_of_scope >= 45 and report.clinical >= 15
    _bars(report, hit3=0.97, cited=0.78, oos=0.05)  # measured 0.994, 0.822, 0.019


def test_old_held_out_questions_do_not_collapse(shipped_data_dir: Path) -> None:
    """Questions of the 12-SOP era, now a development set."""
    report = evaluate(Retriever(SopIndex(shipped_data_dir / "index")), load_questions(HOLDOUT))
    _bars(report, hit3=0.95, cited=0.85, oos=0.07)  # measured 1.000, 0.911, 0.000


@pytest.mark.parametrize(
    ("path", "counts", "hit3", "cited", "oos", "clinical"),
    [
        (HOLDOUT_TECH, (65, 30, 15), 0.96, 0.80, 0.05, 0.93),  # measured 0.985, 0.846, 0.000, 1.000
        (HOLDOUT_V3, (70, 30, 20), 0.96, 0.80, 0.07, 0.93),  # measured 0.986, 0.857, 0.033, 1.000
        (KNOWN[0], (76, 67, 0), 0.93, 0.65, 0.20, 0.0),  # measured 0.961, 0.711, 0.164
        (KNOWN[1], (76, 67, 0), 0.93, 0.63, 0.12, 0.0),  # measured 0.961, 0.684, 0.075
    ],
    ids=lambda v: v.name if isinstance(v, Path) else None,
)
def test_development_sets_hold_their_measurement(
    shipped_data_dir: Path,
    path: Path,
    counts: tuple[int, int, int],
    hit3: float,
    cited: float,
    oos: float,
    clinical: float,
) -> None:
    report = evaluate(Retriever(SopIndex(shipped_data_dir / "index")), load_questions(path))
    assert (report.in_scope, report.out_of_scope, report.clinical) == counts
    _bars(report, hit3=hit3, cited=cited, oos=oos, clinical=clinical)


def test_held_out_set_holds_its_measurement(shipped_data_dir: Path) -> None:
    """Regression guard at the figures measured once on holdout_v4 (75 / 30 / 20) with the method frozen.

    Measured (hybrid): hit@1 0.960, hit@3 0.987, MRR 0.973; cited correctly 0.840 (firm 0.640 +
    tentative 0.200), answered wrong 0.013; out-of-scope cited 0.033 (firm 0.000); clinical
    hand-off 0.850. Dense-only: hit@3 0.813, MRR 0.702; BM25-only: hit@3 0.920, MRR 0.862.
    """
    report = evaluate(Retriever(SopIndex(shipped_data_dir / "index")), load_questions(HOLDOUT_V4))
    assert (report.in_scope, report.out_of_scope, report.clinical) == (75, 30, 20)
    # two v4 questions repeat bank questions word for word (independent writers converged on them):
    # the evaluation leaves them out of the bank, so no question is ever its own neighbour
    assert report.bank_questions == len(Retriever(SopIndex(shipped_data_dir / "index")).bank) - 2
    hybrid = report.methods["hybrid"]
    _bars(report, hit3=0.97, cited=0.80, oos=0.07, clinical=0.85)
    assert hybrid.hit_at_1 >= 0.93 and hybrid.mrr >= 0.95
    assert hybrid.oos_answered == 0.0  # no out-of-scope question got a firm answer


def test_ask_json_contract(shipped_data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        ["--data-dir", str(shipped_data_dir), "ask", "claim rejected with code 75 what do i do", "--json"]
    )
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert {"question", "answer", "abstained", "citations"} <= set(out)
    assert out["abstained"] is False
    cite = out["citations"][0]
    assert {"sop_id", "title", "section", "source", "score"} <= set(cite)
    assert cite["sop_id"] in {"SOP-FIN-002", "SOP-FIN-001"}
    assert cite["source"].endswith(".md") and "/" not in cite["source"]


def test_ask_abstains_out_of_scope(shipped_data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        ["--data-dir", str(shipped_data_dir), "ask", "whats the wifi password for the back office", "--json"]
    )
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["abstained"] is True and out["citations"] == []


def test_eval_retrieval_json_contract(
    shipped_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = tmp_path / "q.jsonl"
    small.write_text(
        '{"question": "vaccine fridge read 9 C", "expected_sop": "VAC-001"}\n'
        '{"question": "how do I request PTO", "expected_sop": null}\n'
    )
    assert main(["--data-dir", str(shipped_data_dir), "eval", "retrieval", str(small), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["methods"]) == {"hybrid", "dense", "bm25"}
    for scores in out["methods"].values():
        assert {"hit@1", "hit@3", "hit@5", "mrr", "abstain_accuracy", "p50_ms", "p95_ms"} <= set(scores)
        assert {"answered_correct", "false_abstain_rate", "oos_answered", "clinical_handoff"} <= set(scores)
    assert out["curve"] and {"threshold", "answered_correct", "oos_answered"} <= set(out["curve"][0])
    q = out["questions"][0]
    assert q["ranked"]["hybrid"][0] == "VAC-001" and set(q["abstained"]) == {"hybrid", "dense", "bm25"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", ""], "empty question"),
        (["ask", "hello", "--as", "boss"], "unknown staff id 'boss'"),
        (["ask", "hello", "--role", "pharmacist"], "No such option: --role"),  # no claiming a role
        (["ingest", "/definitely/not/here"], "path not found"),
        (["eval", "retrieval", "/no/such.jsonl"], "evaluation file not found"),
    ],
)
def test_cli_bad_input_is_one_line_and_nonzero(
    shipped_data_dir: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = (shipped_data_dir / "index" / "manifest.json").read_bytes()
    rc = main(["--data-dir", str(shipped_data_dir), *args])
    err = capsys.readouterr().err.strip()
    assert rc != 0
    assert message in err and len(err.splitlines()) == 1
    assert (shipped_data_dir / "index" / "manifest.json").read_bytes() == manifest


def test_unreadable_pdf_in_folder_leaves_index_intact(
    shipped_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "copy"
    shutil.copytree(shipped_data_dir, data_dir)
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "good.md").write_text("# QA-009 Good\n\n## Steps\nDo the thing carefully.\n")
    (folder / "scan.pdf").write_bytes(b"%PDF-1.4 broken")
    before = (data_dir / "index" / "manifest.json").read_bytes()
    rc = main(["--data-dir", str(data_dir), "ingest", str(folder)])
    assert rc != 0 and "scan.pdf: unreadable PDF" in capsys.readouterr().err
    assert (data_dir / "index" / "manifest.json").read_bytes() == before
    rc = main(["--data-dir", str(data_dir), "ask", "vaccine fridge read 9 C now what", "--json"])
    assert rc == 0 and json.loads(capsys.readouterr().out)["citations"][0]["sop_id"] == "VAC-001"


def test_ask_on_an_empty_data_dir_says_to_ingest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["--data-dir", str(tmp_path / "empty"), "ask", "anything"])
    assert rc != 0 and "rxdesk ingest" in capsys.readouterr().err


def test_fit_decision_dry_run_writes_nothing(
    sop_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = tmp_path / "tune.jsonl"
    rows = [
        ("reject 75 prior authorization what next", "SOP-FIN-001"),
        ("when do i follow up on an expedited PA", "SOP-FIN-001"),
        ("vaccine fridge read 9 this morning", "VAC-001"),
        ("what range should the vaccine refrigerator be", "VAC-001"),
        ("oxycodone missing who tells the DEA", "CS-002"),
        ("when is form 106 due", "CS-002"),
        ("whats the wifi password", None),
        ("how do i request PTO", None),
        ("where do employees park", None),
        ("uniform policy sneakers", None),
    ]
    questions.write_text("".join(json.dumps({"question": q, "expected_sop": s}) + "\n" for q, s in rows))
    before = MODEL_FILE.read_bytes()
    args = [
        "eval",
        "fit-decision",
        "--sops",
        str(sop_dir),
        "--questions",
        str(questions),
        "--dry-run",
        "--json",
    ]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["questions"] == 10 and out["written"] is None
    assert set(out["coefficients"]) == set(FEATURES)
    assert 0 < out["tentative_threshold"] <= out["answer_threshold"] < 1
    assert MODEL_FILE.read_bytes() == before
