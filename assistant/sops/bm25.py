"""A small Okapi BM25 index over stemmed terms, with postings in numpy arrays.

Built in memory from the chunk texts on load (a few hundred ms for 5,000 chunks); a query touches
only the postings of its own terms. Unknown query words are corrected to the closest indexed word
(edit distance 1, or 2 for long words) so "persciption" still finds "prescription".
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from assistant.sops.text import content_terms, raw_tokens, stem


def _edit_distance_at_most(a: str, b: str, limit: int) -> bool:
    if abs(len(a) - len(b)) > limit:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        best = cur[0]
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            best = min(best, cur[j])
        if best > limit:
            return False
        prev = cur
    return prev[-1] <= limit


class BM25Index:
    def __init__(self, texts: Sequence[str], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.n_docs = len(texts)
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        lengths = np.zeros(self.n_docs, dtype=np.float32)
        surface: dict[str, set[str]] = defaultdict(set)  # unstemmed words seen, for spelling fixes
        for doc_id, text in enumerate(texts):
            for word in raw_tokens(text):
                if len(word) >= 4 and not word.isdigit():
                    surface[word[0]].add(word)
            terms = content_terms(text)
            lengths[doc_id] = len(terms)
            for term, tf in Counter(terms).items():
                postings[term].append((doc_id, tf))
        self.avgdl = float(lengths.mean()) if self.n_docs else 0.0
        self._norm = self.k1 * (1 - self.b + self.b * lengths / max(self.avgdl, 1e-9))
        self.postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.idf: dict[str, float] = {}
        for term, plist in postings.items():
            docs = np.fromiter((d for d, _ in plist), dtype=np.int32, count=len(plist))
            tfs = np.fromiter((t for _, t in plist), dtype=np.float32, count=len(plist))
            self.postings[term] = (docs, tfs)
            df = len(plist)
            self.idf[term] = math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))
        self.max_idf = math.log(1 + (self.n_docs + 0.5) / 0.5) if self.n_docs else 1.0
        self._surface = {k: sorted(v) for k, v in surface.items()}
        self._corrections: dict[str, str | None] = {}

    # -- query side -------------------------------------------------------------------------
    def correct(self, word: str) -> str | None:
        """The closest indexed word for an unknown word (None when nothing is close)."""
        if word in self._corrections:
            return self._corrections[word]
        found: str | None = None
        if len(word) >= 5 and not word.isdigit():
            limit = 2 if len(word) >= 8 else 1
            for cand in self._surface.get(word[0], ()):
                if _edit_distance_at_most(word, cand, limit):
                    found = cand
                    break
        self._corrections[word] = found
        return found

    def query_terms(self, text: str) -> list[str]:
        """Stemmed query terms with unknown words spelling-corrected where possible."""
        from assistant.sops.text import STOPWORDS

        terms: list[str] = []
        for word in raw_tokens(text):
            if word in STOPWORDS or (len(word) == 1 and not word.isdigit()):
                continue
            term = stem(word)
            if term not in self.postings:
                fixed = self.correct(word)
                if fixed:
                    term = stem(fixed)
            terms.append(term)
        return terms

    def term_idf(self, term: str) -> float:
        """IDF of a term; an unknown term gets the maximum (it is as rare as can be)."""
        return self.idf.get(term, self.max_idf)

    def scores(self, terms: Sequence[str], weights: Sequence[float] | None = None) -> np.ndarray:
        out = np.zeros(self.n_docs, dtype=np.float32)
        if weights is None:
            weights = [1.0] * len(terms)
        merged: dict[str, float] = defaultdict(float)
        for term, w in zip(terms, weights, strict=True):
            merged[term] = max(merged[term], w)
        for term, w in merged.items():
            entry = self.postings.get(term)
            if entry is None:
                continue
            docs, tfs = entry
            out[docs] += w * self.idf[term] * tfs * (self.k1 + 1) / (tfs + self._norm[docs])
        return out

    def top(self, scores: np.ndarray, k: int) -> list[int]:
        if not self.n_docs:
            return []
        k = min(k, self.n_docs)
        idx = np.argpartition(-scores, k - 1)[:k]
        idx = idx[np.argsort(-scores[idx], kind="stable")]
        return [int(i) for i in idx if scores[i] > 0]
