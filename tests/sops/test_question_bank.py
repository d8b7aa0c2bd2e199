"""The question bank: known questions as a nearest-neighbour signal, left out where they would leak."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import InvalidInput
from assistant.sops import question_bank
from assistant.sops.evaluate import EvalQuestion, evaluate
from assistant.sops.index import SopIndex
from assistant.sops.question_bank import CACHE_NAME, QuestionBank, load_bank, read_entries
from assistant.sops.search import Retriever
from tests.fakes import HashingEmbedding


def _write(path: Path, rows: list[tuple[str, object]]) -> Path:
    path.write_text("".join(json.dumps({"question": q, "expected_sop": s}) + "\n" for q, s in rows))
    return path


@pytest.fixture
def bank_files(tmp_path: Path) -> tuple[Path, ...]:
    a = _write(
        tmp_path / "a.jsonl",
        [
            ("vaccine fridge read 9 this morning", "VAC-001"),
            ("reject 75 on a new plan", ["SOP-FIN-001", "SOP-FIN-002"]),
            ("whats the wifi password", None),
        ],
    )
    b = _write(tmp_path / "b.jsonl", [("oxycodone missing from the safe", "CS-002"), ("payroll date", None)])
    return a, b


def test_entries_keep_every_acceptable_sop_and_their_file(bank_files: tuple[Path, ...]) -> None:
    entries = read_entries(bank_files)
    assert [e.sops for e in entries] == [("VAC-001",), ("SOP-FIN-001", "SOP-FIN-002"), (), ("CS-002",), ()]
    assert {e.source for e in entries} == {"a.jsonl", "b.jsonl"}


def test_a_missing_bank_file_is_skipped_and_a_bad_line_is_one_clear_error(tmp_path: Path) -> None:
    assert read_entries([tmp_path / "absent.jsonl"]) == ()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok", "expected_sop": null}\nnot json\n')
    with pytest.raises(InvalidInput, match="bad.jsonl line 2"):
        read_entries([bad])


def test_neighbours_take_the_nearest_question_of_each_kind(bank_files: tuple[Path, ...]) -> None:
    bank = load_bank(HashingEmbedding(), None, bank_files)
    vector = np.asarray(HashingEmbedding().embed_query("the vaccine fridge read 9"), dtype=np.float32)
    near = bank.neighbours(vector / np.linalg.norm(vector))
    assert near.nearest_sops == ("VAC-001",)
    assert near.sop("VAC-001") > 0.8 > near.nearest_out
    assert near.sop("SOP-FIN-001") == near.sop("SOP-FIN-002")  # one question, two acceptable SOPs
    assert near.sop("QA-001") == 0.0  # no known question: no evidence either way


def test_without_drops_whole_files_and_given_questions(bank_files: tuple[Path, ...]) -> None:
    bank = load_bank(HashingEmbedding(), None, bank_files)
    assert len(bank.without(sources={"a.jsonl"})) == 2
    smaller = bank.without(texts={"  Vaccine FRIDGE read 9 this morning "})  # case- and space-blind
    assert len(smaller) == 4 and "VAC-001" not in {s for e in smaller.entries for s in e.sops}
    assert len(bank) == 5  # the original is untouched
    assert QuestionBank((), np.zeros((0, 1))).neighbours(np.ones(1)).nearest_sops == ()


def test_vectors_are_cached_beside_the_index_and_recomputed_when_stale(
    bank_files: tuple[Path, ...], tmp_path: Path
) -> None:
    question_bank._PROCESS_CACHE.clear()
    embedding = HashingEmbedding()
    first = load_bank(embedding, tmp_path, bank_files)
    assert (tmp_path / CACHE_NAME).is_file() and embedding.calls == 1
    question_bank._PROCESS_CACHE.clear()
    again = load_bank(embedding, tmp_path, bank_files)
    assert embedding.calls == 1  # read from the cache file, not embedded again
    assert np.array_equal(first.vectors, again.vectors)
    _write(bank_files[1], [("oxycodone missing from the safe", "CS-002")])  # the bank changed
    changed = load_bank(embedding, tmp_path, bank_files)
    assert embedding.calls == 2 and len(changed) == 4
    (tmp_path / CACHE_NAME).write_bytes(b"not an npz file")  # damaged cache: recomputed, no error
    question_bank._PROCESS_CACHE.clear()
    assert len(load_bank(embedding, tmp_path, bank_files)) == 4 and embedding.calls == 3


def test_the_bank_moves_the_ranking_and_with_bank_leaves_the_original_alone(
    fake_index: SopIndex, bank_files: tuple[Path, ...]
) -> None:
    plain = Retriever(fake_index, bank=QuestionBank((), np.zeros((0, 384), dtype=np.float32)))
    banked = plain.with_bank(load_bank(fake_index.embedding, None, bank_files))
    query = "reject 75 on a new plan"
    assert plain.neighbours(query).by_sop == {}
    assert banked.neighbours(query).sop("SOP-FIN-001") == pytest.approx(1.0, abs=1e-5)
    assert len(plain.bank) == 0 and len(banked.bank) == 5
    _, rows = banked.retrieve_candidates(query)
    assert max(r["bank_sim"] for r in rows) == pytest.approx(1.0, abs=1e-5)
    assert banked.search(query).features["bank_nn_agree"] == 1.0


def test_evaluation_never_lets_a_question_answer_itself(
    fake_index: SopIndex, bank_files: tuple[Path, ...]
) -> None:
    retriever = Retriever(fake_index, bank=load_bank(fake_index.embedding, None, bank_files))
    questions = [
        EvalQuestion(question="vaccine fridge read 9 this morning", expected_sop="VAC-001"),
        EvalQuestion(question="whats the wifi password", expected_sop=None),
    ]
    report = evaluate(retriever, questions, warmup=0)
    assert report.bank_questions == 3  # both evaluated questions left the bank for this run
    assert len(retriever.bank) == 5  # and only for this run
