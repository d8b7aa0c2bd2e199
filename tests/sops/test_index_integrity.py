"""Findings 1 and 2: the index loses nothing on rename, duplicate copies and prune; one ingest at a
time (threads and processes); orphan vectors are swept; ``check`` finds drift and ``repair`` fixes it.
Real Chroma in a temp dir, the deterministic fake embedding."""

from __future__ import annotations

import multiprocessing
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from assistant.errors import Conflict
from assistant.sops.index import SopIndex
from assistant.sops.search import Retriever
from tests.fakes import HashingEmbedding, approx_tokens
from tests.sops.conftest import SOP_CS, SOP_PA, SOP_VAC


def _vectors(index: SopIndex) -> set[str]:
    return set(index.collection.get(include=[])["ids"])


def _consistent(index: SopIndex) -> None:
    """Every file's chunks are in the manifest and in Chroma, and Chroma holds nothing else."""
    m = index.manifest
    named = {cid for _, e in m.entries() for cid in e.chunk_ids}
    assert named == set(m.chunks)
    assert _vectors(index) == set(m.chunks)
    assert index.check().ok


def _ingest(index: SopIndex, *paths: Path, **kw: Any):  # type: ignore[no-untyped-def]
    return index.ingest(list(paths), count_tokens=approx_tokens, **kw)


def test_rename_and_prune_keeps_every_chunk(fake_index: SopIndex, sop_dir: Path) -> None:
    before = {(c.sop_id, c.section, c.body) for c in fake_index.chunks}
    (sop_dir / "vaccines.md").rename(sop_dir / "VAC-001-vaccine-storage.md")
    report = _ingest(fake_index, sop_dir, prune=True)
    assert (report.files_renamed, report.files_removed, report.chunks_embedded) == (1, 0, 0)  # vectors reused
    assert report.chunks_total == len(fake_index.chunks) == len(_vectors(fake_index))
    assert {(c.sop_id, c.section, c.body) for c in fake_index.chunks} == before
    assert {c.source for c in fake_index.chunks if c.sop_id == "VAC-001"} == {"VAC-001-vaccine-storage.md"}
    _consistent(fake_index)
    again = _ingest(fake_index, sop_dir, prune=True)
    assert (again.files_unchanged, again.chunks_embedded, again.files_removed) == (3, 0, 0)
    hit = Retriever(fake_index).search("vaccine refrigerator temperature excursion")
    assert hit.sections[0].sop_id == "VAC-001"


def test_deleting_a_duplicate_copy_keeps_the_original(
    fake_index: SopIndex, sop_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "copies"
    other.mkdir()
    shutil.copy(sop_dir / "vaccines.md", other / "vaccines-copy.md")
    report = _ingest(fake_index, sop_dir, other)
    assert any("same content" in w for w in report.warnings)
    (other / "vaccines-copy.md").unlink()
    _ingest(fake_index, sop_dir, other, prune=True)
    assert {c.sop_id for c in fake_index.chunks} == {"SOP-FIN-001", "VAC-001", "CS-002"}
    _consistent(fake_index)


def test_deleting_the_original_hands_over_to_its_copy(
    fake_index: SopIndex, sop_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "copies"
    other.mkdir()
    shutil.copy(sop_dir / "vaccines.md", other / "vaccines-copy.md")
    _ingest(fake_index, sop_dir, other)
    (sop_dir / "vaccines.md").unlink()
    report = _ingest(fake_index, sop_dir, other, prune=True)
    assert report.files_renamed == 1
    assert {c.source for c in fake_index.chunks if c.sop_id == "VAC-001"} == {"vaccines-copy.md"}
    _consistent(fake_index)


def test_many_renames_in_a_row_never_lose_chunks(fake_index: SopIndex, sop_dir: Path) -> None:
    path = sop_dir / "CS-002 loss.txt"
    for i in range(6):
        target = sop_dir / f"cs-{i}.txt"
        path.rename(target)
        path = target
        report = _ingest(fake_index, sop_dir, prune=i % 2 == 0)
        assert report.chunks_total == len(fake_index.chunks)
        assert "CS-002" in {c.sop_id for c in fake_index.chunks}
    _ingest(fake_index, sop_dir, prune=True)
    _consistent(fake_index)


def _slow_embedding() -> HashingEmbedding:
    emb = HashingEmbedding()
    fast = emb.embed_documents

    def slow(texts: list[str]) -> list[list[float]]:
        time.sleep(0.05)  # long enough for the other ingest to arrive mid-way
        return fast(texts)

    emb.embed_documents = slow  # type: ignore[method-assign]
    return emb


def _two_folders(tmp_path: Path, n: int) -> tuple[Path, Path]:
    a, b = tmp_path / f"a{n}", tmp_path / f"b{n}"
    a.mkdir()
    b.mkdir()
    (a / "SOP-FIN-001.md").write_text(SOP_PA)
    (a / "CS-002.txt").write_text(SOP_CS)
    (b / "VAC-001.md").write_text(SOP_VAC)
    (b / "QA-002.md").write_text(
        "# QA-002 Error reporting\n\n## Steps\nReport every near miss the same day.\n"
    )
    return a, b


@pytest.mark.parametrize("wait", [5.0, 0.0], ids=["second-waits", "second-refused"])
def test_concurrent_ingests_of_different_folders(tmp_path: Path, wait: float) -> None:
    """Round after round (bounded), two ingests of different folders start at the same instant."""
    deadline = time.monotonic() + 30
    outcomes: list[str] = []
    for n in range(10):
        if time.monotonic() > deadline and len(outcomes) >= 3:
            break
        a, b = _two_folders(tmp_path, n)
        index_dir = tmp_path / f"index{n}"
        barrier = threading.Barrier(2)
        results: dict[str, Any] = {}

        def run(
            name: str,
            folder: Path,
            barrier: threading.Barrier = barrier,
            results: dict[str, Any] = results,
            index_dir: Path = index_dir,
        ) -> None:
            index = SopIndex(index_dir, embedding=_slow_embedding())
            barrier.wait()
            try:
                results[name] = _ingest(index, folder, holder=f"worker {name}", wait=wait)
            except Conflict as busy:
                results[name] = busy

        threads = [threading.Thread(target=run, args=(k, f)) for k, f in (("a", a), ("b", b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        final = SopIndex(index_dir, embedding=HashingEmbedding())
        refused = [v for v in results.values() if isinstance(v, Conflict)]
        if wait:
            assert refused == []  # the second waited, then merged its folder into the first one's
            assert {c.sop_id for c in final.chunks} == {"SOP-FIN-001", "CS-002", "VAC-001", "QA-002"}
        else:
            assert len(refused) <= 1
            for exc in refused:
                assert exc.code == "ingest_running"
                assert exc.message.startswith("another ingest is running (started by worker ")
                assert " at 20" in exc.message
        _consistent(final)  # whoever won, no orphan vectors and nothing half-recorded
        outcomes.append("refused" if refused else "both")
    assert len(outcomes) >= 3
    if not wait:
        assert "refused" in outcomes  # the race was real at least once


def _process_ingest(index_dir: str, folder: str, barrier: Any, queue: Any) -> None:
    index = SopIndex(Path(index_dir), embedding=_slow_embedding())
    barrier.wait()
    report = index.ingest([Path(folder)], count_tokens=approx_tokens, holder=folder, wait=60.0)
    queue.put(report.files_added)


def test_concurrent_ingests_in_separate_processes(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    for n in range(3):
        a, b = _two_folders(tmp_path, n)
        index_dir = tmp_path / f"pindex{n}"
        barrier, queue = ctx.Barrier(2), ctx.Queue()
        procs = [
            ctx.Process(target=_process_ingest, args=(str(index_dir), str(f), barrier, queue)) for f in (a, b)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=300)
        assert [p.exitcode for p in procs] == [0, 0]
        assert sorted(queue.get(timeout=5) for _ in procs) == [2, 2]
        final = SopIndex(index_dir, embedding=HashingEmbedding())
        assert {c.sop_id for c in final.chunks} == {"SOP-FIN-001", "CS-002", "VAC-001", "QA-002"}
        _consistent(final)


def test_interrupted_ingest_leaves_no_orphans_after_the_next_one(tmp_path: Path, sop_dir: Path) -> None:
    index = SopIndex(tmp_path / "index", embedding=HashingEmbedding())
    _ingest(index, sop_dir)
    for p in sop_dir.iterdir():
        p.write_text(p.read_text() + "\n\nAppendix: new wording.\n")
    crashing = SopIndex(tmp_path / "index", embedding=HashingEmbedding(fail_after=2))
    with pytest.raises(RuntimeError):
        _ingest(crashing, sop_dir)
    reopened = SopIndex(tmp_path / "index", embedding=HashingEmbedding())
    drift = reopened.check()
    assert drift.orphan_vectors > 0 and not drift.ok  # the crash left vectors nobody names
    report = _ingest(reopened, sop_dir)
    assert report.orphans_removed >= 0
    _consistent(reopened)


def test_check_finds_and_repair_fixes_drift(fake_index: SopIndex) -> None:
    assert fake_index.check().ok
    some = sorted(fake_index.manifest.chunks)[:2]
    fake_index.collection.delete(ids=some)  # vectors lost
    fake_index.collection.upsert(ids=["stray-1"], embeddings=[[0.1] * 384], documents=["stray"])  # orphan
    found = fake_index.check()
    assert (found.missing_vectors, found.orphan_vectors, found.ok) == (2, 1, False)
    fixed = fake_index.check(repair=True)
    assert fixed.repaired
    _consistent(fake_index)
    hit = Retriever(fake_index).search("reject code 75 prior authorization")
    assert hit.sections[0].sop_id == "SOP-FIN-001"


def test_repair_drops_entries_whose_chunks_are_gone(fake_index: SopIndex) -> None:
    m = fake_index.manifest.model_copy(deep=True)
    victim = next(k for k, e in m.files.items() if e.sop_id == "CS-002")
    del m.chunks[m.files[victim].chunk_ids[0]]
    fake_index._write_manifest(m)
    found = fake_index.check()
    assert found.broken_files == ["CS-002 loss.txt"] and not found.ok
    fake_index.check(repair=True)
    assert "CS-002" not in {c.sop_id for c in fake_index.chunks}
    _consistent(fake_index)


def test_a_file_edited_into_a_copy_of_another_is_not_left_stale(fake_index: SopIndex, sop_dir: Path) -> None:
    vac = sop_dir / "vaccines.md"
    cs = sop_dir / "CS-002 loss.txt"
    cs.write_text(vac.read_text())
    report = _ingest(fake_index, sop_dir)
    assert report.files_changed == 1
    assert "CS-002" not in {c.sop_id for c in fake_index.chunks}  # the old text is gone
    _consistent(fake_index)
