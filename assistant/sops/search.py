"""Hybrid retrieval over the SOP index: dense (Chroma) + BM25, reciprocal rank fusion, by section.

Also decides whether the evidence is strong enough to answer. Rank-fusion scores are relative and
cannot tell "best of a bad lot" from a real match, so the decision uses absolute signals: the cosine
similarity of the closest chunk to the (abbreviation-expanded) question must reach the threshold, and
at least one of the top three sections must contain some of the question's vocabulary (a lexical
veto against semantically-near but unrelated text).

A blend that leaned on lexical coverage scored better on the tuning questions but fell apart on the
held-out set (knowledge/eval/holdout.jsonl, written without seeing the tuning set): long,
conversational questions share few words with the SOP text. Cosine similarity generalized; see
bench/README.md for both sets' figures.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Literal

import numpy as np

from assistant.sops.bm25 import BM25Index
from assistant.sops.index import SopIndex
from assistant.sops.models import Chunk, SearchResult, SectionHit
from assistant.sops.text import content_terms, expand_abbreviations

Method = Literal["hybrid", "dense", "bm25"]
# Fusion: a small RRF constant rewards agreement near the top of both lists; the lexical list gets
# the larger weight because MiniLM is weak on drug names and reject codes (see bench/README.md).
RRF_K = 10
LEXICAL_WEIGHT = 1.0
DENSE_WEIGHT = 0.5
CANDIDATES = 40
# Answer only when the closest chunk's cosine similarity >= threshold (Settings.abstain_threshold;
# 0.445 sits midway between the nearest in- and out-of-scope tuning questions) and one of the top
# three sections covers >= MIN_COVERAGE of the question's IDF-weighted terms.
DEFAULT_THRESHOLD = 0.445
MIN_COVERAGE = 0.2


class Retriever:
    def __init__(self, index: SopIndex, abstain_threshold: float = DEFAULT_THRESHOLD) -> None:
        self.index = index
        self.threshold = abstain_threshold
        self._chunks: list[Chunk] = []
        self._bm25: BM25Index | None = None
        self._section_terms: dict[tuple[str, str], set[str]] = {}
        self._id_to_pos: dict[str, int] = {}
        self._by_section: dict[tuple[str, str], list[Chunk]] = {}
        self._built_for: object | None = None

    # -- lexical side, rebuilt when the manifest changes --------------------------------------
    def _ensure_built(self) -> None:
        if self._built_for is self.index.manifest:  # identity, not id(): ids of freed objects recur
            return
        self._chunks = self.index.chunks
        self._id_to_pos = {c.id: i for i, c in enumerate(self._chunks)}
        self._bm25 = BM25Index([expand_abbreviations(c.text) for c in self._chunks])
        terms: dict[tuple[str, str], set[str]] = defaultdict(set)
        for c in self._chunks:
            terms[(c.sop_id, c.section)].update(content_terms(expand_abbreviations(c.text)))
        self._section_terms = dict(terms)
        by_section: dict[tuple[str, str], list[Chunk]] = defaultdict(list)
        for c in sorted(self._chunks, key=lambda c: (c.source, c.ordinal)):
            by_section[(c.sop_id, c.section)].append(c)
        self._by_section = dict(by_section)
        self._built_for = self.index.manifest

    def section_chunks(self, sop_id: str, section: str) -> list[Chunk]:
        """All chunks of one section, in document order."""
        self._ensure_built()
        return self._by_section.get((sop_id, section), [])

    @property
    def bm25(self) -> BM25Index:
        self._ensure_built()
        assert self._bm25 is not None
        return self._bm25

    def _bm25_ranking(self, query: str) -> tuple[list[int], np.ndarray]:
        bm25 = self.bm25
        own = bm25.query_terms(query)
        expanded = expand_abbreviations(query)
        extra = bm25.query_terms(expanded[len(query) :]) if expanded != query else []
        terms = own + extra
        weights = [1.0] * len(own) + [0.6] * len(extra)
        scores = bm25.scores(terms, weights)
        return bm25.top(scores, CANDIDATES), scores

    def _dense_ranking(self, query: str) -> tuple[list[int], dict[int, float]]:
        if not self._chunks:
            return [], {}
        vector = self.index.embedding.embed_query(expand_abbreviations(query))
        n = min(CANDIDATES + 10, self.index.collection.count())
        if n == 0:
            return [], {}
        res = self.index.collection.query(query_embeddings=[vector], n_results=n, include=["distances"])
        ranking: list[int] = []
        sims: dict[int, float] = {}
        for cid, dist in zip(res["ids"][0], res["distances"][0], strict=True):
            pos = self._id_to_pos.get(cid)
            if pos is None:  # a vector the manifest does not name (interrupted ingest)
                continue
            ranking.append(pos)
            sims[pos] = 1.0 - float(dist)
        return ranking[:CANDIDATES], sims

    def coverage(self, query: str, sop_id: str, section: str) -> float:
        """IDF-weighted share of the question's terms found in the section (0..1)."""
        bm25 = self.bm25
        terms = set(bm25.query_terms(query))
        if not terms:
            return 0.0
        have = self._section_terms.get((sop_id, section), set())
        total = sum(bm25.term_idf(t) for t in terms)
        found = sum(bm25.term_idf(t) for t in terms if t in have)
        return found / total if total else 0.0

    # -- public -----------------------------------------------------------------------------
    def search(self, query: str, method: Method = "hybrid", k: int = 5) -> SearchResult:
        started = time.perf_counter()
        self._ensure_built()
        fused: dict[int, float] = defaultdict(float)
        sims: dict[int, float] = {}
        if method in ("hybrid", "bm25"):
            ranking, _ = self._bm25_ranking(query)
            for rank, pos in enumerate(ranking):
                fused[pos] += LEXICAL_WEIGHT / (RRF_K + rank + 1)
        if method in ("hybrid", "dense"):
            ranking, sims = self._dense_ranking(query)
            for rank, pos in enumerate(ranking):
                fused[pos] += DENSE_WEIGHT / (RRF_K + rank + 1)
        by_section: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
        for pos, score in fused.items():
            c = self._chunks[pos]
            by_section[(c.sop_id, c.section)].append((score, pos))
        ordered = sorted(by_section.items(), key=lambda kv: -max(s for s, _ in kv[1]))
        floor = min(sims.values()) if sims else 0.0
        sections: list[SectionHit] = []
        for (sop_id, section), members in ordered[: max(k * 3, 10)]:
            members.sort(key=lambda sp: (-sp[0], self._chunks[sp[1]].ordinal))
            chunks = [self._chunks[p] for _, p in members]
            first = chunks[0]
            sections.append(
                SectionHit(
                    sop_id=sop_id,
                    title=first.title,
                    section=section,
                    source=first.source,
                    score=round(max(s for s, _ in members), 6),
                    chunks=chunks,
                    dense_similarity=max((sims.get(p, floor) for _, p in members), default=0.0),
                    coverage=self.coverage(query, sop_id, section),
                )
            )
        best_similarity = max(sims.values(), default=0.0)
        if method == "bm25":  # the lexical baseline has only coverage to go on
            evidence = sections[0].coverage if sections else 0.0
            abstained = evidence < BM25_ONLY_THRESHOLD
        else:
            evidence = best_similarity
            covered = max((s.coverage for s in sections[:3]), default=0.0)
            threshold = self.threshold if method == "hybrid" else DENSE_ONLY_THRESHOLD
            abstained = evidence < threshold or (method == "hybrid" and covered < MIN_COVERAGE)
        return SearchResult(
            query=query,
            method=method,
            sections=sections[: k * 3],
            evidence=round(evidence, 4),
            abstained=abstained or not sections,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )


# Thresholds of the single-signal baselines (evaluation only), calibrated the same way as ours: the
# lowest false-abstain rate that still abstains on >= 85% of out-of-scope questions.
DENSE_ONLY_THRESHOLD = 0.45
BM25_ONLY_THRESHOLD = 0.55
