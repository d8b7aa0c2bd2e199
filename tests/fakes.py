"""Test doubles for things outside our control. Everything else in the tests is real."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from assistant.sops.text import content_terms


@register_embedding_function
class HashingEmbedding(EmbeddingFunction[Documents]):
    """Deterministic bag-of-stems embedding: fast, no model; similar texts get similar vectors."""

    dim = 384

    def __init__(self, fail_after: int | None = None) -> None:
        self.calls = 0
        self.fail_after = fail_after

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for term in content_terms(text):
            h = int(hashlib.md5(term.encode()).hexdigest(), 16)
            v[h % self.dim] += 1.0 if (h >> 20) & 1 else -1.0
        n = np.linalg.norm(v)
        return v / n if n else v + 1.0 / np.sqrt(self.dim)

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002
        return [self._vec(t) for t in input]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise RuntimeError("simulated crash while embedding")
        return [self._vec(t).tolist() for t in texts]

    def embed_query(self, input: Any) -> Any:  # noqa: A002
        if isinstance(input, str):
            return self._vec(input).tolist()
        return [self._vec(t) for t in input]

    @staticmethod
    def name() -> str:
        return "rxdesk-test-hashing"

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def supported_spaces(self) -> list[str]:  # type: ignore[override]
        return ["cosine"]

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> HashingEmbedding:
        return HashingEmbedding()

    def get_config(self) -> dict[str, Any]:
        return {}


def approx_tokens(text: str) -> int:
    return int(len(text.split()) * 1.3) + 1
