"""Hybrid retrieval over the SOP index: dense (Chroma) + BM25, reciprocal rank fusion, by section.

It also measures how good the evidence is and decides whether to answer, hedge ("tentative": closest
SOP shown with its citation) or abstain. That decision is a calibrated logistic model over several
signals (see assistant/sops/decision.py for the why): a single cosine cut-off could not tell "best of
a bad lot" from a real match once the manual had 38 SOPs with overlapping topics.

The dense-only and BM25-only baselines (evaluation only) keep their single-signal cut-offs.
"""

from __future__ import annotations

import copy
import math
import time
from collections import defaultdict
from typing import Literal

import numpy as np

from assistant.sops.bm25 import BM25Index
from assistant.sops.chunking import _blocks
from assistant.sops.decision import DecisionModel, load_decision_model
from assistant.sops.index import SopIndex
from assistant.sops.models import Chunk, SearchResult, SectionHit
from assistant.sops.question_bank import NO_NEIGHBOURS, Neighbours, QuestionBank, load_bank
from assistant.sops.ranker import CANDIDATE_SOPS, SopRanker, load_ranker
from assistant.sops.text import content_terms, expand_abbreviations, load_vocabulary, raw_tokens, stem
from assistant.sops.triage import drug_mentions

Method = Literal["hybrid", "dense", "bm25"]
# Fusion: a small RRF constant rewards agreement near the top of both lists; the lexical list gets
# the larger weight because MiniLM is weak on drug names and reject codes (see bench/README.md).
RRF_K = 10
LEXICAL_WEIGHT = 1.0
DENSE_WEIGHT = 0.3
CANDIDATES = 40


class Retriever:
    def __init__(
        self,
        index: SopIndex,
        decision: DecisionModel | None = None,
        ranker: SopRanker | None = None,
        bank: QuestionBank | None = None,
    ) -> None:
        self.index = index
        self.decision = decision or load_decision_model()
        self.ranker = ranker or load_ranker()
        self._bank = bank
        self._vector_memo: tuple[str | None, np.ndarray | None] = (None, None)
        self._neighbours_memo: tuple[str | None, QuestionBank | None, Neighbours] = (
            None,
            None,
            NO_NEIGHBOURS,
        )
        self._chunks: list[Chunk] = []
        self._bm25: BM25Index | None = None
        self._section_terms: dict[tuple[str, str], set[str]] = {}
        self._sop_terms: dict[str, set[str]] = {}
        self._heading_terms: dict[str, set[str]] = {}
        self._sections_of: dict[str, list[str]] = {}
        self._terms_memo: tuple[str | None, tuple[str, ...]] = (None, ())
        self._id_to_pos: dict[str, int] = {}
        self._by_section: dict[tuple[str, str], list[Chunk]] = {}
        self._built_for: object | None = None
        self._vectors: tuple[np.ndarray, np.ndarray] | None = None

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
        sop_terms: dict[str, set[str]] = defaultdict(set)
        for (sop_id, _), section_terms in self._section_terms.items():
            sop_terms[sop_id] |= section_terms
        self._sop_terms = dict(sop_terms)
        headings: dict[str, set[str]] = defaultdict(set)
        sections_of: dict[str, list[str]] = defaultdict(list)
        for sop_id, section in self._section_terms:
            sections_of[sop_id].append(section)
        for c in self._chunks:
            if c.section not in headings.get(c.sop_id, ()):  # title and heading path, once per section
                headings[c.sop_id].update(content_terms(expand_abbreviations(f"{c.title} {c.section}")))
        self._heading_terms = dict(headings)
        self._sections_of = dict(sections_of)
        by_section: dict[tuple[str, str], list[Chunk]] = defaultdict(list)
        for c in sorted(self._chunks, key=lambda c: (c.source, c.ordinal)):
            by_section[(c.sop_id, c.section)].append(c)
        self._by_section = dict(by_section)
        self._terms_memo = (None, ())
        self._vectors = None  # loaded on the first dense query
        self._built_for = self.index.manifest

    def _vector_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """The live chunks' vectors (unit length) and their positions, read once from Chroma.

        Dense search is exact over these (one matrix product): an SOP manual has hundreds to a few
        thousand chunks, where an exact search costs under a millisecond, and it returns the same
        neighbours every time. Chroma's HNSW graph is approximate, and the tail of its result list
        varied from one process to the next, which moved SOPs near the cut-off in and out of the
        ranking."""
        if self._vectors is None:
            ids = [c.id for c in self._chunks]
            got = self.index.collection.get(ids=ids, include=["embeddings"]) if ids else {"ids": []}
            rows, positions = [], []
            for cid, vec in zip(got["ids"], got.get("embeddings") if ids else [], strict=False):
                pos = self._id_to_pos.get(cid)
                if pos is not None and vec is not None:
                    rows.append(np.asarray(vec, dtype=np.float32))
                    positions.append(pos)
            matrix = np.vstack(rows) if rows else np.zeros((0, 1), dtype=np.float32)
            norms = np.linalg.norm(matrix, axis=1, keepdims=True) if rows else np.ones((0, 1))
            order = np.argsort(positions, kind="stable")  # chunk order, whatever order Chroma returned
            self._vectors = (
                (matrix / np.clip(norms, 1e-12, None))[order],
                np.asarray(positions, dtype=np.int64)[order],
            )
        return self._vectors

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

    # -- the question bank (assistant/sops/question_bank.py) --------------------------------------
    @property
    def bank(self) -> QuestionBank:
        if self._bank is None:
            self._bank = load_bank(self.index.embedding, self.index.dir if self.index.dir.is_dir() else None)
        return self._bank

    def with_bank(self, bank: QuestionBank) -> Retriever:
        """The same retriever (sharing its built index) over another bank: evaluation leaves the
        evaluated questions out of the bank, fitting leaves out each question's own file."""
        other = copy.copy(self)
        other._bank = bank
        other._neighbours_memo = (None, None, NO_NEIGHBOURS)
        return other

    def neighbours(self, query: str) -> Neighbours:
        query_memo, bank_memo, found = self._neighbours_memo
        bank = self.bank
        if query_memo == query and bank_memo is bank:
            return found
        found = bank.neighbours(self._query_vector(query)) if len(bank) else NO_NEIGHBOURS
        self._neighbours_memo = (query, bank, found)  # one tuple: safe to share between threads
        return found

    def _query_vector(self, query: str) -> np.ndarray:
        memo_query, memo_vector = self._vector_memo
        if memo_query == query and memo_vector is not None:
            return memo_vector
        vector = np.asarray(self.index.embedding.embed_query(expand_abbreviations(query)), dtype=np.float32)
        vector /= max(float(np.linalg.norm(vector)), 1e-12)
        self._vector_memo = (query, vector)
        return vector

    def _dense_ranking(self, query: str) -> tuple[list[int], dict[int, float]]:
        if not self._chunks:
            return [], {}
        matrix, positions = self._vector_matrix()
        n = min(CANDIDATES + 10, len(positions))
        if n == 0:
            return [], {}
        vector = self._query_vector(query)
        cos = matrix @ vector
        top = np.argpartition(-cos, n - 1)[:n]
        top = top[np.lexsort((positions[top], -cos[top]))]  # by similarity, ties by chunk order
        ranking = [int(positions[i]) for i in top]
        sims = {int(positions[i]): float(cos[i]) for i in top}
        return ranking[:CANDIDATES], sims

    def question_terms(self, query: str) -> tuple[str, ...]:
        """The question's index terms, with shorthand replaced by its long form when the shorthand
        itself never occurs in the SOPs ("pt" -> "patient"), so it neither counts as missing evidence
        nor as an unknown word. A drug name the SOPs never mention ("lantus", "amlodipine") is left
        out for the same reason: SOPs describe procedures for any drug, so the name is no evidence
        that a question falls outside them (its schedule, when the vocabulary knows it, stays)."""
        if self._terms_memo[0] == query:  # asked ~20 times per search (coverage of each section)
            return self._terms_memo[1]
        bm25 = self.bm25
        terms = set(bm25.query_terms(query))
        vocabulary = load_vocabulary()
        for token in set(raw_tokens(query)):
            extra = vocabulary.additions(token)
            if not extra:
                continue
            own = stem(token)
            if own not in bm25.postings:
                terms.discard(own)
                terms.update(bm25.query_terms(" ".join(extra)))
        for name in drug_mentions(query):
            for token in raw_tokens(name):
                if stem(token) not in bm25.postings:
                    terms.discard(stem(token))
                    terms.discard(stem(bm25.correct(token) or token))
        # sorted: sums of float IDFs over a set would follow the per-process string hash order, and
        # their last bits (ties between SOPs) would change from one run to the next
        ordered = tuple(sorted(terms))
        self._terms_memo = (query, ordered)
        return ordered

    def coverage(self, query: str, sop_id: str, section: str | None = None) -> float:
        """IDF-weighted share of the question's terms found in the section, or the whole SOP (0..1)."""
        bm25 = self.bm25
        terms = self.question_terms(query)
        if not terms:
            return 0.0
        if section is None:
            have = self._sop_terms.get(sop_id, set())
        else:
            have = self._section_terms.get((sop_id, section), set())
        total = sum(bm25.term_idf(t) for t in terms)
        found = sum(bm25.term_idf(t) for t in terms if t in have)
        return found / total if total else 0.0

    def _unknown_share(self, query: str) -> float:
        """IDF-weighted share of the question's terms that appear nowhere in the manual."""
        bm25 = self.bm25
        terms = self.question_terms(query)
        if not terms:
            return 1.0
        total = sum(bm25.term_idf(t) for t in terms)
        unknown = sum(bm25.term_idf(t) for t in terms if t not in bm25.postings)
        return unknown / total if total else 1.0

    # -- public -----------------------------------------------------------------------------
    def search(self, query: str, method: Method = "hybrid", k: int = 5) -> SearchResult:
        started = time.perf_counter()
        fused, sims, bm25_ranking, bm25_scores, dense_ranking = self._fuse(query, method)
        by_section: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
        for pos, score in fused.items():
            c = self._chunks[pos]
            by_section[(c.sop_id, c.section)].append((score, pos))
        ordered = sorted(by_section.items(), key=lambda kv: -max(s for s, _ in kv[1]))
        ranker_prob = 0.0
        if method == "hybrid" and ordered:
            sop_rank, ranker_prob = self._rerank(query, fused, sims, bm25_ranking, bm25_scores, dense_ranking)
            last = len(sop_rank)
            ordered.sort(key=lambda kv: sop_rank.get(kv[0][0], last))  # stable: sections keep fused order
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
        features: dict[str, float] = {}
        probability = 0.0
        best_similarity = max(sims.values(), default=0.0)
        if not sections:
            decision = "abstain"
            evidence = 0.0
        elif method == "bm25":  # the lexical baseline has only coverage to go on
            evidence = sections[0].coverage
            decision = "abstain" if evidence < BM25_ONLY_THRESHOLD else "answer"
        elif method == "dense":
            evidence = best_similarity
            decision = "abstain" if evidence < DENSE_ONLY_THRESHOLD else "answer"
        else:
            features = self._features(query, sections, fused, sims, bm25_ranking, bm25_scores, dense_ranking)
            features["ranker_prob"] = ranker_prob
            probability = self.decision.probability(features)
            decision = self.decision.decide(probability)
            evidence = probability
        return SearchResult(
            query=query,
            method=method,
            sections=sections[: k * 3],
            evidence=round(evidence, 4),
            abstained=decision == "abstain",
            decision=decision,
            confidence=round(probability, 4),
            features={n: round(v, 5) for n, v in features.items()},
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )

    def sop_candidates(
        self,
        query: str,
        fused: dict[int, float],
        sims: dict[int, float],
        bm25_ranking: list[int],
        bm25_scores: np.ndarray | None,
        dense_ranking: list[int],
    ) -> tuple[list[str], list[dict[str, float]]]:
        """The fused ranking's top SOPs and the re-ranker's signals for each (ranker.SOP_FEATURES)."""
        sop_fused = self._best_by_sop(fused)
        candidates = sorted(sop_fused, key=lambda s: -sop_fused[s])[:CANDIDATE_SOPS]
        if not candidates:
            return [], []
        sop_bm25: dict[str, list[float]] = defaultdict(list)
        if bm25_scores is not None:
            for pos in bm25_ranking:
                sop_bm25[self._chunks[pos].sop_id].append(float(bm25_scores[pos]))
        sop_cos = self._best_by_sop(sims)
        bm25_sops = self._sop_order(bm25_ranking)
        dense_sops = self._sop_order(dense_ranking)
        bm25 = self.bm25
        q_terms = self.question_terms(query)
        total = sum(bm25.term_idf(t) for t in q_terms) or 1.0
        near = self.neighbours(query)
        top_fused = sop_fused[candidates[0]] or 1.0
        best_cos = max(sop_cos.values(), default=0.0)
        rows = []
        for sop in candidates:
            scores = sop_bm25.get(sop, [])  # in BM25 rank order, so best first
            headings = self._heading_terms.get(sop, set())
            rows.append(
                {
                    "fused_rel": sop_fused[sop] / top_fused,
                    "bm25_top": (scores[0] if scores else 0.0) / total,
                    "bm25_top3": sum(scores[:3]) / total,
                    "bm25_rr": 1.0 / (bm25_sops.index(sop) + 1) if sop in bm25_sops else 0.0,
                    "cosine": sop_cos.get(sop, 0.0),
                    "cosine_gap": sop_cos.get(sop, 0.0) - best_cos,
                    "dense_rr": 1.0 / (dense_sops.index(sop) + 1) if sop in dense_sops else 0.0,
                    "coverage_sop": self.coverage(query, sop),
                    "coverage_section": max(
                        (self.coverage(query, sop, sec) for sec in self._sections_of.get(sop, ())),
                        default=0.0,
                    ),
                    "coverage_headings": sum(bm25.term_idf(t) for t in q_terms if t in headings) / total,
                    "bank_sim": near.sop(sop),
                }
            )
        return candidates, rows

    def _rerank(
        self,
        query: str,
        fused: dict[int, float],
        sims: dict[int, float],
        bm25_ranking: list[int],
        bm25_scores: np.ndarray | None,
        dense_ranking: list[int],
    ) -> tuple[dict[str, int], float]:
        """SOP -> new rank, and the re-ranker's probability for the top SOP."""
        candidates, rows = self.sop_candidates(query, fused, sims, bm25_ranking, bm25_scores, dense_ranking)
        if not candidates:
            return {}, 0.0
        scores = self.ranker.scores(rows)
        order = sorted(range(len(candidates)), key=lambda i: -scores[i])  # stable on ties
        return {candidates[i]: r for r, i in enumerate(order)}, max(SopRanker.softmax(scores))

    def retrieve_candidates(self, query: str) -> tuple[list[str], list[dict[str, float]]]:
        """Candidate SOPs and their re-ranker signals for one question (fitting the re-ranker)."""
        return self.sop_candidates(query, *self._fuse(query, "hybrid"))

    def _fuse(
        self, query: str, method: Method
    ) -> tuple[dict[int, float], dict[int, float], list[int], np.ndarray | None, list[int]]:
        """Reciprocal rank fusion of the BM25 and dense chunk rankings (either alone for a baseline)."""
        self._ensure_built()
        fused: dict[int, float] = defaultdict(float)
        sims: dict[int, float] = {}
        bm25_ranking: list[int] = []
        bm25_scores: np.ndarray | None = None
        dense_ranking: list[int] = []
        if method in ("hybrid", "bm25"):
            bm25_ranking, bm25_scores = self._bm25_ranking(query)
            for rank, pos in enumerate(bm25_ranking):
                fused[pos] += LEXICAL_WEIGHT / (RRF_K + rank + 1)
        if method in ("hybrid", "dense"):
            dense_ranking, sims = self._dense_ranking(query)
            for rank, pos in enumerate(dense_ranking):
                fused[pos] += DENSE_WEIGHT / (RRF_K + rank + 1)
        return fused, sims, bm25_ranking, bm25_scores, dense_ranking

    def _best_by_sop(self, scores: dict[int, float]) -> dict[str, float]:
        """Each SOP's best chunk score (fused score or cosine); SOPs without a chunk are absent."""
        best: dict[str, float] = defaultdict(float)
        for pos, score in scores.items():
            sop = self._chunks[pos].sop_id
            best[sop] = max(best[sop], score)
        return best

    def _sop_order(self, ranking: list[int]) -> list[str]:
        seen: dict[str, None] = {}
        for pos in ranking:
            seen.setdefault(self._chunks[pos].sop_id, None)
        return list(seen)

    def _features(
        self,
        query: str,
        sections: list[SectionHit],
        fused: dict[int, float],
        sims: dict[int, float],
        bm25_ranking: list[int],
        bm25_scores: np.ndarray | None,
        dense_ranking: list[int],
    ) -> dict[str, float]:
        """The evidence signals the decision model weighs (names in decision.FEATURES)."""
        top = sections[0]
        top_sop = top.sop_id
        sop_fused, sop_cos = self._best_by_sop(fused), self._best_by_sop(sims)
        others_fused = [v for s, v in sop_fused.items() if s != top_sop]
        others_cos = [v for s, v in sop_cos.items() if s != top_sop]
        top_fused = sop_fused[top_sop] or 1.0
        dense_sops = self._sop_order(dense_ranking)
        bm25_sops = self._sop_order(bm25_ranking)
        bm25 = self.bm25
        q_terms = self.question_terms(query)
        perfect = sum(bm25.term_idf(t) for t in q_terms) or 1.0  # every term once, in an average-length chunk
        near = self.neighbours(query)
        top_bm25 = 0.0
        if bm25_scores is not None and len(bm25_scores):
            top_bm25 = max(
                (float(bm25_scores[p]) for p in bm25_ranking if self._chunks[p].sop_id == top_sop),
                default=0.0,
            )
        return {
            "best_cosine": max(sims.values(), default=0.0),
            "top_sop_cosine": sop_cos.get(top_sop, 0.0),
            "cosine_margin": sop_cos.get(top_sop, 0.0) - max(others_cos, default=0.0),
            "bm25_norm": min(top_bm25 / perfect, 1.5),
            "coverage_section": top.coverage,
            "coverage_sop": self.coverage(query, top_sop),
            "unknown_share": self._unknown_share(query),
            "agree_top": float(bool(dense_sops) and bool(bm25_sops) and dense_sops[0] == bm25_sops[0]),
            "dense_rr": 1.0 / (dense_sops.index(top_sop) + 1) if top_sop in dense_sops else 0.0,
            "bm25_rr": 1.0 / (bm25_sops.index(top_sop) + 1) if top_sop in bm25_sops else 0.0,
            "fused_margin": (top_fused - max(others_fused, default=0.0)) / top_fused,
            "log_terms": math.log1p(len(q_terms)),
            "coverage_block": self._block_coverage(q_terms, [s for s in sections[:5] if s.sop_id == top_sop]),
            "bank_top": near.sop(top_sop),
            "bank_out": near.nearest_out,
            "bank_margin": near.sop(top_sop) - near.nearest_out,
            "bank_nn_agree": float(top_sop in near.nearest_sops),
        }

    def _block_coverage(self, q_terms: set[str], hits: list[SectionHit]) -> float:
        """Best IDF-weighted share of the question's terms found in one step/paragraph (with its
        section heading) of the top SOP: does a single instruction answer the question?"""
        bm25 = self.bm25
        total = sum(bm25.term_idf(t) for t in q_terms)
        if not total:
            return 0.0
        best = 0.0
        for hit in hits:
            heading = set(content_terms(expand_abbreviations(f"{hit.title} {hit.section}")))
            for chunk in self.section_chunks(hit.sop_id, hit.section) or hit.chunks:
                for block in _blocks(chunk.body):
                    have = heading | set(content_terms(expand_abbreviations(block)))
                    best = max(best, sum(bm25.term_idf(t) for t in q_terms if t in have) / total)
        return best


# Thresholds of the single-signal baselines (evaluation only), calibrated the same way as ours: the
# lowest false-abstain rate that still abstains on >= 85% of out-of-scope questions.
DENSE_ONLY_THRESHOLD = 0.45
BM25_ONLY_THRESHOLD = 0.55
