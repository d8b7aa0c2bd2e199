"""The SOP index: a manifest of what is indexed, a Chroma collection of chunk vectors, BM25 on top.

Ingest is incremental by content hash. Its write order keeps the previous index usable if the
process dies part-way: new vectors are upserted first (under new ids), then the manifest is replaced
atomically, and only then are vectors that the new manifest no longer names deleted. Readers only
trust ids the manifest names, so half-written vectors are invisible, and every ingest (and
``check(repair=True)``) sweeps them away.

Chunk identity: a chunk's id is a hash of the file's absolute path, the file's content hash and the
chunk's position. Two copies of one text, or a file and its renamed successor, never share an id, so
pruning one never takes the other's chunks with it. (Ids used to come from content alone: renaming a
file and pruning the old path dropped the chunks the new path shared, for good.) A rename keeps the
vectors: they are copied to the new ids instead of being embedded again.

One ingest at a time: every change to the index (ingest, approval, repair) holds an exclusive
``flock`` on ``<index>/ingest.lock``. The lock lives next to what it protects: the index directory
is this installation's (instances sharing a PostgreSQL database each keep their own index), and a
data directory shared over NFS gets the lock on the same files (Linux maps ``flock`` to POSIX locks
on NFS, which the server arbitrates between machines). A second ingest waits up to its ``wait`` or
fails with "another ingest is running (started by X at T)". The manifest is re-read under the lock,
so an ingest that waited merges its files into what the other one wrote.

Approval: with approval required, a new or changed SOP is indexed but *pending* (kept in
``Manifest.pending``, invisible to search) until its content hash is approved; the live revision of a
changed file keeps answering meanwhile.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from assistant.errors import Conflict, InvalidInput, NotFound
from assistant.files import LockBusy, file_lock, human_size, secure_tree, write_private
from assistant.sops.chunking import chunk_document
from assistant.sops.models import Chunk, IngestReport, SopChange
from assistant.sops.readers import discover, read_source

COLLECTION = "sop_chunks"
MANIFEST_VERSION = 2
DEFAULT_MAX_BYTES = 10 << 20
LARGE_FILE_BYTES = 1 << 20
# progress(stage, done, total, name): stages "read" / "read-large" count files, "embed" counts chunks
Progress = Callable[[str, int, int, str], None]


class FileEntry(BaseModel):
    source: str
    sha256: str
    sop_id: str
    title: str
    version: str | None = None
    effective: str | None = None
    chunk_ids: list[str] = Field(default_factory=list)
    approved_by: str | None = None
    approved_at: str | None = None

    def change(self, kind: str, **extra: Any) -> SopChange:
        """This revision as a recorded SOP change (audit log, digest)."""
        return SopChange(
            sop_id=self.sop_id,
            title=self.title,
            change=kind,  # type: ignore[arg-type]
            version=self.version,
            effective=self.effective,
            sha256=self.sha256,
            source=self.source,
            **extra,
        )


class Manifest(BaseModel):
    version: int = MANIFEST_VERSION
    files: dict[str, FileEntry] = Field(default_factory=dict)  # live revisions; key: absolute path
    pending: dict[str, FileEntry] = Field(default_factory=dict)  # awaiting approval; same keys
    chunks: dict[str, Chunk] = Field(default_factory=dict)  # every chunk of files and pending

    def entries(self) -> Iterator[tuple[str, FileEntry]]:
        yield from self.files.items()
        yield from self.pending.items()

    def referenced(self) -> set[str]:
        return {cid for _, e in self.entries() for cid in e.chunk_ids}


class PendingSop(BaseModel):
    sop_id: str
    title: str
    source: str
    version: str | None = None
    effective: str | None = None
    sha256: str
    replaces: str | None = None  # the sha256 of the live revision it would replace


class IndexCheck(BaseModel):
    """Drift between the manifest and the Chroma collection (and what a repair did about it)."""

    files: int
    pending: int
    chunks: int
    vectors: int
    orphan_vectors: int  # in the collection, named by no manifest entry
    missing_vectors: int  # named by the manifest, absent from the collection
    dangling_chunks: int  # in the manifest, but no file entry uses them
    broken_files: list[str] = Field(default_factory=list)  # entries naming chunks the manifest lacks
    missing_files: list[str] = Field(default_factory=list)  # indexed files no longer on disk
    repaired: bool = False

    @property
    def ok(self) -> bool:
        return not (self.orphan_vectors or self.missing_vectors or self.dangling_chunks or self.broken_files)


@dataclass
class _Pending:
    key: str
    entry: FileEntry
    chunks: list[Chunk]
    status: str  # added | changed | renamed
    reuse: dict[str, str] | None = None  # new chunk id -> old chunk id whose vector it takes
    previous_source: str | None = None
    twin_live: bool = False  # a rename of a revision that was answering already


def chroma_client(path: Path) -> Any:
    """A persistent Chroma client (no telemetry). Chroma keeps one client per path and process."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    )


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chunk_id(key: str, file_hash: str, ordinal: int) -> str:
    """A chunk's identity: which file (absolute path), which content, which position."""
    return hashlib.sha1(f"{key}\0{file_hash}\0{ordinal}".encode()).hexdigest()[:24]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class SopIndex:
    """Owns ``<data_dir>/index``: ``manifest.json`` and the Chroma persistent store."""

    def __init__(self, index_dir: Path, embedding: Any | None = None) -> None:
        self.dir = index_dir
        self.manifest_path = index_dir / "manifest.json"
        self.lock_path = index_dir / "ingest.lock"
        self._embedding = embedding
        self._client: Any = None
        self._collection: Any = None
        self._stamp: tuple[int, int, int] | None = None
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

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.manifest_path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _load_manifest(self) -> Manifest:
        self._stamp = self._file_stamp()
        if self._stamp is None:
            return Manifest()
        try:
            return Manifest.model_validate_json(self.manifest_path.read_bytes())
        except ValueError as exc:
            raise InvalidInput(
                f"index manifest is corrupt ({self.manifest_path}); re-run ingest", code="index_corrupt"
            ) from exc

    def refresh(self) -> bool:
        """Re-read the manifest if another process replaced it (an ingest or approval elsewhere)."""
        if self._file_stamp() == self._stamp:
            return False
        self.manifest = self._load_manifest()
        self._search_cache = None
        return True

    def _write_manifest(self, manifest: Manifest) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        write_private(self.manifest_path, manifest.model_dump_json().encode())
        self.manifest = manifest
        self._stamp = self._file_stamp()
        self._search_cache = None

    @property
    def chunks(self) -> list[Chunk]:
        """The live chunks: what search and answers may use (pending revisions are left out)."""
        seen: dict[str, Chunk] = {}
        for entry in self.manifest.files.values():
            for cid in entry.chunk_ids:
                chunk = self.manifest.chunks.get(cid)
                if chunk is not None:
                    seen[cid] = chunk
        return list(seen.values())

    def is_empty(self) -> bool:
        return not any(
            cid in self.manifest.chunks for e in self.manifest.files.values() for cid in e.chunk_ids
        )

    # -- the lock ---------------------------------------------------------------------------
    @contextmanager
    def locked(self, holder: str = "someone", wait: float = 0.0) -> Iterator[None]:
        """Hold the index's exclusive lock; re-read the manifest once it is ours."""
        info = {
            "by": holder,
            "started_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }
        try:
            with file_lock(self.lock_path, holder=info, wait=wait):
                self.manifest = self._load_manifest()
                self._search_cache = None
                yield
        except LockBusy as busy:
            who = busy.holder.get("by", "another process")
            when = busy.holder.get("started_at")
            host = busy.holder.get("host")
            where = f" on {host}" if host and host != socket.gethostname() else ""
            raise Conflict(
                f"another ingest is running (started by {who}{' at ' + when if when else ''}{where})",
                code="ingest_running",
            ) from None

    # -- ingest -----------------------------------------------------------------------------
    def ingest(
        self,
        paths: list[Path],
        *,
        prune: bool = False,
        progress: Progress | None = None,
        count_tokens: Callable[[str], int] | None = None,
        approved: set[str] | None = None,
        holder: str = "someone",
        wait: float = 0.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> IngestReport:
        """Index files and folders. Raises InvalidInput before touching the index on bad input.

        ``approved``: None when no approval is required; otherwise the content hashes approved so
        far (new or changed SOPs outside it stay pending)."""
        if not paths:
            raise InvalidInput("nothing to ingest: give at least one file or folder")
        with self.locked(holder, wait):
            return self._ingest(paths, prune, progress, count_tokens, approved, max_bytes)

    def _ingest(
        self,
        paths: list[Path],
        prune: bool,
        progress: Progress | None,
        count_tokens: Callable[[str], int] | None,
        approved: set[str] | None,
        max_bytes: int,
    ) -> IngestReport:
        started = time.perf_counter()
        if count_tokens is None:
            from assistant.sops.embeddings import count_tokens as model_count

            count_tokens = model_count
        report = IngestReport()
        files = discover([Path(p) for p in paths])
        old = self.manifest
        new = Manifest(files=dict(old.files), pending=dict(old.pending), chunks=dict(old.chunks))
        # content hash -> (key, entry, live?) of an existing entry with that content
        by_hash: dict[str, tuple[str, FileEntry, bool]] = {}
        for key, entry in old.files.items():
            by_hash.setdefault(entry.sha256, (key, entry, True))
        for key, entry in old.pending.items():
            by_hash.setdefault(entry.sha256, (key, entry, False))
        todo: list[_Pending] = []
        seen_hashes: dict[str, str] = {}
        renamed_from: set[str] = set()
        # 1. read and chunk everything first: any bad file aborts before the index changes
        for i, (file, root) in enumerate(files, start=1):
            key = str(file.resolve())
            size = file.stat().st_size
            if size > max_bytes:
                raise InvalidInput(
                    f"{file.name}: {human_size(size)} is too large for an SOP file (limit {human_size(max_bytes)}); "
                    "nothing was indexed",
                    code="sop_too_large",
                )
            if progress:  # a big file takes a while to chunk: say so whatever the pace of the log
                stage = "read-large" if size >= LARGE_FILE_BYTES else "read"
                progress(stage, i, len(files), f"{file.name} ({human_size(size)})")
            data = file.read_bytes()
            digest = _sha256_bytes(data)
            source = file.relative_to(root).as_posix()
            live, waiting = old.files.get(key), old.pending.get(key)
            if (live and live.sha256 == digest) or (waiting and waiting.sha256 == digest):
                report.files_seen += 1
                report.files_unchanged += 1
                seen_hashes.setdefault(digest, file.name)
                if live and live.sha256 == digest:
                    if waiting:  # the file went back to its approved text: drop the pending one
                        del new.pending[key]
                    if live.source != source:
                        new.files[key] = live.model_copy(update={"source": source})
                continue
            if digest in seen_hashes:  # a copy of a file seen in this run
                report.warnings.append(f"{file.name}: same content as {seen_hashes[digest]}; skipped")
                continue
            twin_key, twin, twin_live = by_hash.get(digest, (None, None, False))
            if twin_key and twin and twin_key != key and Path(twin_key).exists() and not (live or waiting):
                # a new copy of a file indexed from elsewhere: indexing it twice would quote it twice
                report.warnings.append(
                    f"{file.name}: same content as {twin.source} (already indexed); skipped"
                )
                continue
            report.files_seen += 1
            seen_hashes[digest] = file.name
            doc = read_source(file)
            raw = chunk_document(doc, source=source, file_hash=digest, count_tokens=count_tokens)
            if not raw:
                report.warnings.append(f"{file.name}: no text to index")
                continue
            effective = doc.meta.get("effective")
            chunks = [
                c.model_copy(
                    update={
                        "id": chunk_id(key, digest, c.ordinal),
                        "effective": None if effective is None else str(effective),
                    }
                )
                for c in raw
            ]
            entry = FileEntry(
                source=source,
                sha256=digest,
                sop_id=doc.sop_id,
                title=doc.title,
                version=doc.version,
                effective=None if effective is None else str(effective),
                chunk_ids=[c.id for c in chunks],
            )
            item = _Pending(key, entry, chunks, "changed" if (live or waiting) else "added")
            if twin_key and twin and twin_key != key and not (live or waiting):
                # the same text at a path that is gone: a rename (keep its vectors and approval)
                item.status, item.previous_source = "renamed", twin.source
                item.reuse = dict(zip(entry.chunk_ids, twin.chunk_ids, strict=False))
                item.twin_live = twin_live
                if twin_live:
                    entry.approved_by, entry.approved_at = twin.approved_by, twin.approved_at
                renamed_from.add(twin_key)
            todo.append(item)
        # 2. vectors for the new chunks (copied for renames, embedded otherwise)
        total = sum(len(p.chunks) for p in todo)
        done = 0
        for item in todo:
            self._upsert(item)
            done += len(item.chunks)
            report.chunks_embedded += 0 if item.reuse else len(item.chunks)
            if progress:
                progress("embed", done, total, item.entry.source)
            goes_live = approved is None or item.entry.sha256 in approved or item.twin_live
            for c in item.chunks:
                new.chunks[c.id] = c
            if goes_live:
                new.files[item.key] = item.entry
                new.pending.pop(item.key, None)
            else:
                new.pending[item.key] = item.entry
            report.changes.append(self._change(item, pending=not goes_live))
            if item.status == "added":
                report.files_added += 1
            elif item.status == "renamed":
                report.files_renamed += 1
            else:
                report.files_changed += 1
        # 3. renamed-away paths, and with prune every path that is gone
        for key in renamed_from:
            new.files.pop(key, None)
            new.pending.pop(key, None)
        if prune:
            for key in sorted({k for k, _ in new.entries()}):
                if Path(key).exists():
                    continue
                gone = new.files.pop(key, None) or new.pending.pop(key, None)
                new.pending.pop(key, None)
                if gone is not None:
                    report.files_removed += 1
                    report.changes.append(gone.change("removed"))
        # 4. revisions approved since they were ingested (perhaps on another instance) go live
        for key, entry in list(new.pending.items()):
            if approved is None or entry.sha256 in approved:
                new.files[key] = new.pending.pop(key)
        self._drop_unreferenced(new)
        ids_by_sop: dict[str, str] = {}
        for entry in new.files.values():
            if entry.sop_id in ids_by_sop and ids_by_sop[entry.sop_id] != entry.source:
                report.warnings.append(
                    f"SOP id {entry.sop_id} appears in both {ids_by_sop[entry.sop_id]} and {entry.source}"
                )
            ids_by_sop[entry.sop_id] = entry.source
        # 5. commit point: the manifest names exactly the live and pending chunks
        if new.model_dump() != old.model_dump():
            self._write_manifest(new)
        # 6. garbage: vectors no longer named, and orphans of interrupted runs
        report.orphans_removed = self._sweep(set(new.chunks))
        self._secure()
        report.chunks_total = len(self.chunks)
        report.files_pending = len(self.manifest.pending)
        report.seconds = time.perf_counter() - started
        return report

    @staticmethod
    def _change(item: _Pending, *, pending: bool) -> SopChange:
        return item.entry.change(item.status, previous_source=item.previous_source, pending=pending)

    def _upsert(self, item: _Pending) -> None:
        ids = [c.id for c in item.chunks]
        texts = [c.text for c in item.chunks]
        metadatas = [{"sop_id": c.sop_id, "section": c.section, "source": c.source} for c in item.chunks]
        vectors: list[Any] | None = None
        if item.reuse and len(item.reuse) == len(ids):
            old_ids = [item.reuse[i] for i in ids]
            got = self.collection.get(ids=old_ids, include=["embeddings"])
            found = dict(zip(got["ids"], got["embeddings"], strict=True))
            if all(o in found for o in old_ids):
                vectors = [list(found[o]) for o in old_ids]
        if vectors is None:
            item.reuse = None
            vectors = self.embedding.embed_documents(texts) if texts else []
        self.collection.upsert(ids=ids, embeddings=vectors, documents=texts, metadatas=metadatas)

    @staticmethod
    def _drop_unreferenced(manifest: Manifest) -> int:
        used = manifest.referenced()
        dangling = [cid for cid in manifest.chunks if cid not in used]
        for cid in dangling:
            del manifest.chunks[cid]
        return len(dangling)

    def _sweep(self, keep: set[str]) -> int:
        stored = self.collection.get(include=[])["ids"]
        orphans = [cid for cid in stored if cid not in keep]
        for start in range(0, len(orphans), 1000):
            self.collection.delete(ids=orphans[start : start + 1000])
        return len(orphans)

    def _secure(self) -> None:
        if self.dir.exists():
            secure_tree(self.dir)  # Chroma's own files: 0600, like the rest of the data dir

    def sweep_orphans(self) -> int:
        """Delete vectors that no manifest names (left by an interrupted ingest)."""
        with self.locked("an orphan sweep"):
            return self._sweep(set(self.manifest.chunks))

    # -- approval ---------------------------------------------------------------------------
    def pending_sops(self) -> list[PendingSop]:
        return [
            PendingSop(
                sop_id=e.sop_id,
                title=e.title,
                source=e.source,
                version=e.version,
                effective=e.effective,
                sha256=e.sha256,
                replaces=self.manifest.files[k].sha256 if k in self.manifest.files else None,
            )
            for k, e in sorted(self.manifest.pending.items(), key=lambda kv: (kv[1].sop_id, kv[1].source))
        ]

    def find_pending(self, sop_id: str) -> list[FileEntry]:
        wanted = sop_id.strip().upper()
        return [e for e in self.manifest.pending.values() if e.sop_id.upper() == wanted]

    def approve(self, sop_id: str, *, approved_by: str, holder: str, wait: float = 30.0) -> list[FileEntry]:
        """Make the pending revision(s) of ``sop_id`` live (the caller records the approval)."""
        with self.locked(holder, wait):
            wanted = sop_id.strip().upper()
            keys = [k for k, e in self.manifest.pending.items() if e.sop_id.upper() == wanted]
            if not keys:
                raise NotFound(f"no revision of SOP '{sop_id}' is waiting for approval", field="sop_id")
            new = self.manifest.model_copy(deep=True)
            promoted = []
            for key in keys:
                entry = new.pending.pop(key).model_copy(
                    update={"approved_by": approved_by, "approved_at": _now()}
                )
                new.files[key] = entry
                promoted.append(entry)
            self._drop_unreferenced(new)
            self._write_manifest(new)
            self._sweep(set(new.chunks))
            return promoted

    # -- check and repair -------------------------------------------------------------------
    def check(self, *, repair: bool = False, holder: str = "an index check", wait: float = 0.0) -> IndexCheck:
        """Compare the manifest with the collection; with ``repair``, make them agree again:
        orphan vectors deleted, missing vectors re-embedded from the manifest's text, chunks nobody
        uses dropped, and entries that name chunks the manifest lacks removed (re-ingest the file)."""
        with self.locked(holder, wait):
            m = self.manifest
            stored = set(self.collection.get(include=[])["ids"])
            used = m.referenced()
            broken = sorted(
                {e.source for _, e in m.entries() if any(cid not in m.chunks for cid in e.chunk_ids)}
            )
            result = IndexCheck(
                files=len(m.files),
                pending=len(m.pending),
                chunks=len(m.chunks),
                vectors=len(stored),
                orphan_vectors=len(stored - set(m.chunks)),
                missing_vectors=len(set(m.chunks) - stored),
                dangling_chunks=len(set(m.chunks) - used),
                broken_files=broken,
                missing_files=sorted(e.source for k, e in m.entries() if not Path(k).exists()),
            )
            if not repair or result.ok:
                return result
            new = m.model_copy(deep=True)
            for bucket in (new.files, new.pending):
                for key in [
                    k for k, e in bucket.items() if any(cid not in new.chunks for cid in e.chunk_ids)
                ]:
                    del bucket[key]
            self._drop_unreferenced(new)
            missing = [new.chunks[cid] for cid in sorted(set(new.chunks) - stored)]
            for start in range(0, len(missing), 64):
                batch = missing[start : start + 64]
                self.collection.upsert(
                    ids=[c.id for c in batch],
                    embeddings=self.embedding.embed_documents([c.text for c in batch]),
                    documents=[c.text for c in batch],
                    metadatas=[{"sop_id": c.sop_id, "section": c.section, "source": c.source} for c in batch],
                )
            if new.model_dump() != m.model_dump():
                self._write_manifest(new)
            self._sweep(set(new.chunks))
            self._secure()
            return result.model_copy(update={"repaired": True})

    def stats(self) -> dict[str, int]:
        return {
            "files": len(self.manifest.files),
            "chunks": len(self.chunks),
            "pending": len(self.manifest.pending),
        }

    def manifest_json(self) -> str:
        return json.dumps(self.manifest.model_dump(mode="json"))
