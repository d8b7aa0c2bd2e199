"""The SOP index: a manifest of what is indexed, a Chroma collection of chunk vectors, BM25 on top.

Ingest is incremental by content hash. Its write order keeps the previous index usable if the
process dies part-way: new vectors are upserted first (under new ids), then the manifest is replaced
atomically, and only then are vectors that the new manifest no longer names deleted. Readers only
trust ids the manifest names, so half-written vectors are invisible and cleaned up next time.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from assistant.errors import InvalidInput
from assistant.sops.chunking import chunk_document
from assistant.sops.models import Chunk, IngestReport
from assistant.sops.readers import discover, read_source

COLLECTION = "sop_chunks"
MANIFEST_VERSION = 1
Progress = Callable[[int, int, str], None]


class FileEntry(BaseModel):
    source: str
    sha256: str
    sop_id: str
    title: str
    version: str | None = None
    chunk_ids: list[str] = Field(default_factory=list)


class Manifest(BaseModel):
    version: int = MANIFEST_VERSION
    files: dict[str, FileEntry] = Field(default_factory=dict)  # key: absolute path
    chunks: dict[str, Chunk] = Field(default_factory=dict)


@dataclass
class _Pending:
    key: str
    entry: FileEntry
    chunks: list[Chunk]
    status: str  # added | changed


def chroma_client(path: Path) -> Any:
    """A persistent Chroma client (no telemetry). Chroma keeps one client per path and process."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    )


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class SopIndex:
    """Owns ``<data_dir>/index``: ``manifest.json`` and the Chroma persistent store."""

    def __init__(self, index_dir: Path, embedding: Any | None = None) -> None:
        self.dir = index_dir
        self.manifest_path = index_dir / "manifest.json"
        self._embedding = embedding
        self._client: Any = None
        self._collection: Any = None
        self.manifest = self._load_manifest()
        self._search_cache: Any = None

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def embedding(self) -> Any:
        if self._embedding is None:
            from assistant.sops.embeddings import MiniLMEmbedding

            self._embedding = MiniLMEmbedding()
        return self._embedding

    @property
    def client(self) -> Any:
        if self._client is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._client = chroma_client(self.dir / "chroma")
        return self._client

    @property
    def collection(self) -> Any:
        # Always opened with our embedding function: chromadb must never build its default,
        # which would try to download a model.
        if self._collection is None:
            self._collection = self.client.get_or_create_collection(
                name=COLLECTION,
                embedding_function=self.embedding,
                configuration={"hnsw": {"space": "cosine", "num_threads": 1}},  # 1 thread: reproducible graph
            )
        return self._collection

    def _load_manifest(self) -> Manifest:
        if not self.manifest_path.is_file():
            return Manifest()
        try:
            return Manifest.model_validate_json(self.manifest_path.read_bytes())
        except ValueError as exc:
            raise InvalidInput(f"index manifest is corrupt ({self.manifest_path}); re-run ingest") from exc

    def _write_manifest(self, manifest: Manifest) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.manifest_path.with_suffix(".json.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(manifest.model_dump_json())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.manifest_path)

    @property
    def chunks(self) -> list[Chunk]:
        return list(self.manifest.chunks.values())

    def is_empty(self) -> bool:
        return not self.manifest.chunks

    # -- ingest -----------------------------------------------------------------------------
    def ingest(
        self,
        paths: list[Path],
        *,
        prune: bool = False,
        progress: Progress | None = None,
        count_tokens: Callable[[str], int] | None = None,
    ) -> IngestReport:
        """Index files and folders. Raises InvalidInput before touching the index on bad input."""
        started = time.perf_counter()
        if not paths:
            raise InvalidInput("nothing to ingest: give at least one file or folder")
        if count_tokens is None:
            from assistant.sops.embeddings import count_tokens as model_count

            count_tokens = model_count
        report = IngestReport()
        files = discover([Path(p) for p in paths])
        old = self.manifest
        new = Manifest(files=dict(old.files), chunks=dict(old.chunks))
        pending: list[_Pending] = []
        seen_hashes: dict[str, str] = {}
        # 1. read and chunk everything first: any bad file aborts before the index changes
        for file, root in files:
            key = str(file.resolve())
            data = file.read_bytes()
            digest = _sha256_bytes(data)
            report.files_seen += 1
            if digest in seen_hashes:
                report.warnings.append(f"{file.name}: same content as {seen_hashes[digest]}; skipped")
                report.files_seen -= 1
                continue
            seen_hashes[digest] = file.name
            source = file.relative_to(root).as_posix()
            previous = old.files.get(key)
            if previous and previous.sha256 == digest:
                report.files_unchanged += 1
                if previous.source != source:
                    new.files[key] = previous.model_copy(update={"source": source})
                continue
            doc = read_source(file)
            chunks = chunk_document(doc, source=source, file_hash=digest, count_tokens=count_tokens)
            if not chunks:
                report.warnings.append(f"{file.name}: no text to index")
                continue
            entry = FileEntry(
                source=source,
                sha256=digest,
                sop_id=doc.sop_id,
                title=doc.title,
                version=doc.version,
                chunk_ids=[c.id for c in chunks],
            )
            pending.append(_Pending(key, entry, chunks, "changed" if previous else "added"))
        # 2. embed + upsert new vectors (ids are content-derived, so re-runs are idempotent)
        todo = sum(len(p.chunks) for p in pending)
        done = 0
        for item in pending:
            texts = [c.text for c in item.chunks]
            vectors = self.embedding.embed_documents(texts) if texts else []
            self.collection.upsert(
                ids=[c.id for c in item.chunks],
                embeddings=vectors,
                documents=texts,
                metadatas=[
                    {"sop_id": c.sop_id, "section": c.section, "source": c.source} for c in item.chunks
                ],
            )
            done += len(item.chunks)
            report.chunks_embedded += len(item.chunks)
            if progress:
                progress(done, todo, item.entry.source)
            previous = new.files.get(item.key)
            if previous:
                for cid in previous.chunk_ids:
                    new.chunks.pop(cid, None)
            new.files[item.key] = item.entry
            for c in item.chunks:
                new.chunks[c.id] = c
            if item.status == "added":
                report.files_added += 1
            else:
                report.files_changed += 1
        if prune:
            for key in list(new.files):
                if not Path(key).exists():
                    for cid in new.files.pop(key).chunk_ids:
                        new.chunks.pop(cid, None)
                    report.files_removed += 1
        ids_by_sop: dict[str, str] = {}
        for entry in new.files.values():
            if entry.sop_id in ids_by_sop and ids_by_sop[entry.sop_id] != entry.source:
                report.warnings.append(
                    f"SOP id {entry.sop_id} appears in both {ids_by_sop[entry.sop_id]} and {entry.source}"
                )
            ids_by_sop[entry.sop_id] = entry.source
        # 3. commit point: the manifest names exactly the live chunks
        if pending or report.files_removed or new.files != old.files:
            self._write_manifest(new)
            self.manifest = new
            self._search_cache = None
            # 4. garbage-collect vectors no longer named (safe to lose: retried next ingest)
            stale = [cid for cid in old.chunks if cid not in new.chunks]
            if stale:
                self.collection.delete(ids=stale)
        report.chunks_total = len(self.manifest.chunks)
        report.seconds = time.perf_counter() - started
        return report

    def sweep_orphans(self) -> int:
        """Delete vectors that no manifest names (left by an interrupted ingest)."""
        stored = self.collection.get(include=[])["ids"]
        orphans = [cid for cid in stored if cid not in self.manifest.chunks]
        if orphans:
            self.collection.delete(ids=orphans)
        return len(orphans)

    def stats(self) -> dict[str, int]:
        return {"files": len(self.manifest.files), "chunks": len(self.manifest.chunks)}

    def manifest_json(self) -> str:
        return json.dumps(self.manifest.model_dump(mode="json"))
