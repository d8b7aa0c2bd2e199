from __future__ import annotations

from pathlib import Path

import pytest

from assistant.cli.render import answer_text
from assistant.errors import InvalidInput
from assistant.sops.answer import answer_question
from assistant.sops.decision import DecisionModel
from assistant.sops.index import SopIndex
from assistant.sops.search import Retriever
from tests.fakes import HashingEmbedding, approx_tokens


def _ids_in_chroma(index: SopIndex) -> set[str]:
    return set(index.collection.get(include=[])["ids"])


def test_ingest_is_incremental_by_content_hash(fake_index: SopIndex, sop_dir: Path) -> None:
    assert fake_index.stats()["files"] == 3
    again = fake_index.ingest([sop_dir], count_tokens=approx_tokens)
    assert (again.files_unchanged, again.chunks_embedded) == (3, 0)
    assert _ids_in_chroma(fake_index) == set(fake_index.manifest.chunks)


def test_changed_file_replaces_its_chunks(fake_index: SopIndex, sop_dir: Path) -> None:
    before = set(fake_index.manifest.chunks)
    path = sop_dir / "vaccines.md"
    path.write_text(path.read_text().replace("2 and 8 degrees", "2 and 8 degrees (36 to 46 F)"))
    report = fake_index.ingest([sop_dir], count_tokens=approx_tokens)
    assert (report.files_changed, report.files_unchanged) == (1, 2)
    after = set(fake_index.manifest.chunks)
    assert before - after and after - before
    assert _ids_in_chroma(fake_index) == after  # old vectors of the changed file are gone
    assert any("36 to 46 F" in c.text for c in fake_index.chunks)


def test_prune_removes_files_that_disappeared(fake_index: SopIndex, sop_dir: Path) -> None:
    (sop_dir / "CS-002 loss.txt").unlink()
    kept = fake_index.ingest([sop_dir], count_tokens=approx_tokens)
    assert kept.files_removed == 0 and fake_index.stats()["files"] == 3  # without --prune nothing goes
    pruned = fake_index.ingest([sop_dir], prune=True, count_tokens=approx_tokens)
    assert pruned.files_removed == 1
    assert {c.sop_id for c in fake_index.chunks} == {"SOP-FIN-001", "VAC-001"}
    assert _ids_in_chroma(fake_index) == set(fake_index.manifest.chunks)


def test_bad_input_leaves_the_index_intact(fake_index: SopIndex, sop_dir: Path, tmp_path: Path) -> None:
    before = fake_index.manifest_json()
    with pytest.raises(InvalidInput, match="path not found"):
        fake_index.ingest([tmp_path / "missing"], count_tokens=approx_tokens)
    (sop_dir / "scan.pdf").write_bytes(b"%PDF-1.4 garbage")
    (sop_dir / "vaccines.md").write_text("---\nid: VAC-001\n---\n# VAC-001\n\n## New\nchanged text\n")
    with pytest.raises(InvalidInput, match="scan.pdf: unreadable PDF"):
        fake_index.ingest([sop_dir], count_tokens=approx_tokens)
    assert fake_index.manifest_json() == before
    assert SopIndex(fake_index.dir, embedding=HashingEmbedding()).manifest_json() == before
    with pytest.raises(InvalidInput, match="nothing to ingest"):
        fake_index.ingest([], count_tokens=approx_tokens)


def test_crash_mid_ingest_keeps_previous_index_usable(tmp_path: Path, sop_dir: Path) -> None:
    index = SopIndex(tmp_path / "index", embedding=HashingEmbedding())
    index.ingest([sop_dir], count_tokens=approx_tokens)
    good = index.manifest_json()
    for name in ("SOP-FIN-001-prior-auth.md", "vaccines.md", "CS-002 loss.txt"):
        p = sop_dir / name
        p.write_text(p.read_text() + "\n\nAppendix: updated wording for the next version.\n")
    crashing = SopIndex(tmp_path / "index", embedding=HashingEmbedding(fail_after=1))
    with pytest.raises(RuntimeError, match="simulated crash"):
        crashing.ingest([sop_dir], count_tokens=approx_tokens)
    # a fresh process sees the previous, complete index and answers from it
    reopened = SopIndex(tmp_path / "index", embedding=HashingEmbedding())
    assert reopened.manifest_json() == good
    result = Retriever(reopened, decision=DecisionModel.cosine_only(0.0)).search(
        "prior authorization reject 75"
    )
    assert result.sections[0].sop_id == "SOP-FIN-001"
    assert all(c.id in reopened.manifest.chunks for s in result.sections for c in s.chunks)
    # the next ingest finishes the job and the orphans of the crash are swept
    report = reopened.ingest([sop_dir], count_tokens=approx_tokens)
    assert report.files_changed == 3
    assert reopened.sweep_orphans() >= 0
    assert set(reopened.collection.get(include=[])["ids"]) == set(reopened.manifest.chunks)


def test_abbreviations_and_typos_still_find_the_sop(fake_retriever: Retriever) -> None:
    assert fake_retriever.search("pt needs a PA what now", "bm25").sections[0].sop_id == "SOP-FIN-001"
    assert fake_retriever.search("vacine fridge temprature", "bm25").sections[0].sop_id == "VAC-001"
    hybrid = fake_retriever.search("stolen oxycodone who do we tell", "hybrid")
    assert hybrid.ranked_sop_ids()[0] == "CS-002"


def test_answer_cites_sop_and_section_and_quotes_steps(fake_retriever: Retriever) -> None:
    answer = answer_question(
        fake_retriever, "temperature excursion in the vaccine fridge, what are the steps?"
    )
    assert not answer.abstained
    assert answer.citations[0].sop_id == "VAC-001"
    assert answer.citations[0].section == "Temperature excursion steps"
    assert "Call the manufacturer with the lot numbers" in answer_text(answer)
    assert "[1]" in answer_text(answer) and "vaccines.md" in answer_text(answer)


def test_answer_picks_the_matching_table_row(fake_retriever: Retriever) -> None:
    answer = answer_question(fake_retriever, "reject code 79 on a refill")
    assert answer.citations[0].sop_id == "SOP-FIN-001"
    assert "Code 79 — Meaning: Refill too soon" in answer_text(answer)
    assert "Code 75" not in answer_text(answer)


def test_abstains_when_the_sops_do_not_cover_it(fake_retriever: Retriever) -> None:
    answer = answer_question(fake_retriever, "what is the wifi password for the break room")
    assert answer.abstained and answer.citations == []
    assert "don't cover" in answer_text(answer) and "pharmacist" in answer_text(answer)


def test_clinical_questions_from_technicians_go_to_the_pharmacist(fake_retriever: Retriever) -> None:
    q = "is it safe for her to take ibuprofen with her warfarin"
    tech = answer_question(fake_retriever, q, "technician")
    assert tech.routed_to_pharmacist and tech.abstained
    pharm = answer_question(fake_retriever, q, "pharmacist")
    assert not pharm.routed_to_pharmacist


@pytest.mark.parametrize(
    ("question", "role", "message"),
    [
        ("   ", "technician", "empty question"),
        ("x" * 2001, "technician", "too long"),
        ("hi", "cashier", "unknown role"),
    ],
)
def test_bad_questions(fake_retriever: Retriever, question: str, role: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        answer_question(fake_retriever, question, role)


def test_empty_index_says_to_ingest(tmp_path: Path) -> None:
    retriever = Retriever(SopIndex(tmp_path / "empty", embedding=HashingEmbedding()))
    with pytest.raises(InvalidInput, match="not been indexed"):
        answer_question(retriever, "anything")
