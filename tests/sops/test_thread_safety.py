"""Answers are composed on several threads at once (the Slack app's worker pool): the text helpers and
the retriever must not share mutable state across threads."""

from __future__ import annotations

import itertools
import string
from concurrent.futures import ThreadPoolExecutor

from assistant.sops.text import content_terms, stem


def _words(n: int, seed: int) -> list[str]:
    letters = string.ascii_lowercase
    combos = itertools.islice(itertools.product(letters, repeat=4), seed * n, (seed + 1) * n)
    return [
        "".join(c) + suffix
        for c, suffix in zip(combos, itertools.cycle(["ing", "ations", "ness", "ed", "ies"]), strict=False)
    ]


def test_stemming_on_many_threads_at_once_matches_one_thread() -> None:
    batches = [_words(4000, seed) for seed in range(8)]
    stem.cache_clear()
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(lambda words: [stem(w) for w in words], batches))
    stem.cache_clear()
    assert parallel == [[stem(w) for w in words] for words in batches]
    assert content_terms("refrigerators excursions") == ["refriger", "excurs"]
