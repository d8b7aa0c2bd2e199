"""Questions we have already seen, and where they belong: a nearest-neighbour signal for retrieval.

Why: the bundled embedding model (all-MiniLM-L6-v2) is weak at matching a technician's situation
("lady at the counter has a ziploc of her late husband's oxycodone") to procedure text, but it was
trained on question pairs and is good at telling that two *questions* ask the same thing. Every
labelled question we hold (the tuning set and the held-out sets already measured, each written by a
different person) says either "SOP X answers this" or "no SOP answers this". How close a new question
sits to each kind is evidence the chunk scores cannot give:

- the re-ranker gets, for each candidate SOP, the similarity of the nearest known question that SOP
  answers (``bank_sim`` in ranker.SOP_FEATURES);
- the answer decision gets how close the nearest question answered by the top SOP is, how close the
  nearest question *no* SOP answers is, and whether the single nearest question agrees with the top
  SOP (``bank_*`` in decision.FEATURES). A near-miss question ("zero report to the PDMP") usually has
  a known out-of-scope neighbour, which no retrieval score can see.

The bank is only labelled questions (a question line of the evaluation format); it changes no SOP text
and is never quoted. Entries naming an SOP that is not in the index simply never match a candidate.
When a file is evaluated, its own questions are left out of the bank (see :meth:`QuestionBank.without`),
and fitting leaves out each question's own file, so every figure is measured on questions whose
writer the bank has never seen.

Vectors are computed with the index's own embedding and cached beside the index
(``question_bank.npz``), keyed by the bank's text and the embedding's name: ~530 questions take about
1.3 s to embed on two cores, once.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import REPO_ROOT
from assistant.errors import InvalidInput
from assistant.files import write_private
from assistant.sops.text import expand_abbreviations

EVAL_DIR = REPO_ROOT / "knowledge" / "eval"
# Every question set measured at least once. A new held-out set joins only after it has been measured.
BANK_FILES: tuple[Path, ...] = (
    EVAL_DIR / "questions.jsonl",
    EVAL_DIR / "holdout.jsonl",
    EVAL_DIR / "holdout_tech.jsonl",
    EVAL_DIR / "holdout_v3.jsonl",
    EVAL_DIR / "known_questions_a.jsonl",  # written from the SOPs alone to seed the bank: per SOP,
    EVAL_DIR / "known_questions_b.jsonl",  # 4 questions it answers and 3 near misses it does not
)
CACHE_NAME = "question_bank.npz"


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class BankEntry:
    text: str
    sops: tuple[str, ...]  # empty: no SOP answers it (out of scope or clinical)
    source: str  # the file it came from


@dataclass(frozen=True)
class Neighbours:
    """How a question sits among the bank's questions."""

    by_sop: dict[str, float]  # SOP -> similarity of the nearest known question it answers
    nearest_out: float  # similarity of the nearest question no SOP answers
    nearest_sops: tuple[str, ...]  # the SOPs of the single nearest question (empty: out of scope)

    def sop(self, sop_id: str) -> float:
        return self.by_sop.get(sop_id, 0.0)


NO_NEIGHBOURS = Neighbours({}, 0.0, ())


class QuestionBank:
    """Labelled questions and their unit vectors (rows aligned with ``entries``)."""

    def __init__(self, entries: tuple[BankEntry, ...], vectors: np.ndarray) -> None:
        self.entries = entries
        self.vectors = vectors
        self._sop_rows: dict[str, np.ndarray] = {}
        rows: dict[str, list[int]] = {}
        for i, e in enumerate(entries):
            for sop in e.sops:
                rows.setdefault(sop, []).append(i)
        self._sop_rows = {sop: np.asarray(r, dtype=np.int64) for sop, r in rows.items()}
        self._out_rows = np.asarray([i for i, e in enumerate(entries) if not e.sops], dtype=np.int64)
        self._texts = {normalise(e.text) for e in entries}

    def __len__(self) -> int:
        return len(self.entries)

    def contains(self, text: str) -> bool:
        return normalise(text) in self._texts

    @property
    def sources(self) -> set[str]:
        return {e.source for e in self.entries}

    def without(self, *, sources: Collection[str] = (), texts: Collection[str] = ()) -> QuestionBank:
        """The bank minus whole files and minus given questions (compared case- and space-blind)."""
        drop = {normalise(t) for t in texts}
        keep = [
            i for i, e in enumerate(self.entries) if e.source not in sources and normalise(e.text) not in drop
        ]
        return QuestionBank(tuple(self.entries[i] for i in keep), self.vectors[keep])

    def neighbours(self, vector: np.ndarray) -> Neighbours:
        if not self.entries:
            return NO_NEIGHBOURS
        sims = self.vectors @ vector
        by_sop = {sop: float(sims[rows].max()) for sop, rows in self._sop_rows.items()}
        nearest_out = float(sims[self._out_rows].max()) if len(self._out_rows) else 0.0
        nearest = int(np.argmax(sims))
        return Neighbours(by_sop, nearest_out, self.entries[nearest].sops)


EMPTY_BANK = QuestionBank((), np.zeros((0, 1), dtype=np.float32))


def read_entries(paths: tuple[Path, ...] | list[Path]) -> tuple[BankEntry, ...]:
    entries: list[BankEntry] = []
    for path in paths:
        if not path.is_file():
            continue  # a deployment may ship without the example question sets
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text = str(row["question"]).strip()
                expected = row.get("expected_sop")
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise InvalidInput(f"question bank {path.name} line {n}: not a question line") from exc
            if expected is None:
                sops: tuple[str, ...] = ()
            elif isinstance(expected, str):
                sops = (expected,)
            else:
                sops = tuple(str(s) for s in expected)
            if text:
                entries.append(BankEntry(text, sops, path.name))
    return tuple(entries)


def _digest(entries: tuple[BankEntry, ...], embedding_name: str) -> str:
    h = hashlib.sha256(embedding_name.encode())
    for e in entries:
        h.update(b"\0" + e.text.encode() + b"\1" + ",".join(e.sops).encode() + b"\2" + e.source.encode())
    return h.hexdigest()


def _embedding_name(embedding: Any) -> str:
    name = getattr(embedding, "name", None)
    try:
        return str(name()) if callable(name) else type(embedding).__name__
    except TypeError:
        return type(embedding).__name__


def load_bank(embedding: Any, cache_dir: Path | None, paths: tuple[Path, ...] = BANK_FILES) -> QuestionBank:
    """The bank embedded with ``embedding``; vectors reused from ``cache_dir`` when still valid."""
    entries = read_entries(paths)
    if not entries:
        return EMPTY_BANK
    digest = _digest(entries, _embedding_name(embedding))
    return QuestionBank(entries, _vectors(embedding, entries, digest, cache_dir))


def _vectors(
    embedding: Any, entries: tuple[BankEntry, ...], digest: str, cache_dir: Path | None
) -> np.ndarray:
    cache = cache_dir / CACHE_NAME if cache_dir is not None else None
    if cache is not None and cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as stored:
                if str(stored["digest"]) == digest and stored["vectors"].shape[0] == len(entries):
                    return stored["vectors"]
        except (OSError, ValueError, KeyError):
            pass  # unreadable or stale: recompute below and overwrite
    vectors = _embedded(embedding, tuple(expand_abbreviations(e.text) for e in entries), digest)
    if cache is not None and cache.parent.is_dir():
        buffer = io.BytesIO()
        np.savez(buffer, digest=np.asarray(digest), vectors=vectors)
        # atomic (a reader sees the old file or the new); a read-only index still answers and the
        # vectors are simply recomputed next time
        with contextlib.suppress(OSError):
            write_private(cache, buffer.getvalue())
    return vectors


_PROCESS_CACHE: dict[str, np.ndarray] = {}  # digest -> vectors (the digest names the embedding)


def _embedded(embedding: Any, texts: tuple[str, ...], digest: str) -> np.ndarray:
    if digest not in _PROCESS_CACHE:
        matrix = np.asarray(embedding.embed_documents(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        if len(_PROCESS_CACHE) >= 4:
            _PROCESS_CACHE.pop(next(iter(_PROCESS_CACHE)))
        _PROCESS_CACHE[digest] = matrix / np.clip(norms, 1e-12, None)
    return _PROCESS_CACHE[digest]
