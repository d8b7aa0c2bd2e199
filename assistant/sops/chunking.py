"""Split an SOP into heading sections and sections into chunks that fit the embedding window.

Each chunk is prefixed with "SOP-ID Title > Section" so it makes sense on its own, both to the
embedding model and to the person reading a citation.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.sops.models import Chunk
from assistant.sops.readers import SourceDoc

MAX_CHUNK_TOKENS = 240  # MiniLM's window is 256 word pieces; keep room for [CLS]/[SEP]
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


@dataclass
class Section:
    path: list[str]
    body: str

    @property
    def name(self) -> str:
        return " > ".join(self.path) if self.path else "Overview"


def split_sections(doc: SourceDoc) -> list[Section]:
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    buf: list[str] = []
    current_path: list[str] = []

    def flush() -> None:
        body = "\n".join(buf).strip()
        if body:
            sections.append(Section(path=list(current_path), body=body))
        buf.clear()

    for line in doc.text.splitlines():
        m = _HEADING.match(line.strip())
        if not m:
            buf.append(line)
            continue
        flush()
        level, title = len(m.group(1)), m.group(2).strip()
        if level == 1:  # the document title, not a section
            stack, current_path = [], []
            continue
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        current_path = [t for _, t in stack]
    flush()
    return sections


def _blocks(body: str) -> list[str]:
    """Paragraphs and list items (a list item keeps its continuation lines)."""
    blocks: list[str] = []
    cur: list[str] = []
    for line in body.splitlines():
        s = line.rstrip()
        starts_item = bool(re.match(r"^\s*(?:[-*+]|\d+[.)]|\|)\s+", s))
        if not s.strip() or starts_item:
            if cur:
                blocks.append("\n".join(cur).strip())
                cur = []
            if s.strip():
                cur.append(s)
            continue
        cur.append(s)
    if cur:
        blocks.append("\n".join(cur).strip())
    return [b for b in blocks if b]


def _split_long(block: str, budget: int, count: Callable[[str], int]) -> list[str]:
    if count(block) <= budget:
        return [block]
    pieces: list[str] = []
    cur = ""
    for sentence in re.split(r"(?<=[.;:!?])\s+", block):
        trial = f"{cur} {sentence}".strip()
        if cur and count(trial) > budget:
            pieces.append(cur)
            cur = sentence
        else:
            cur = trial
        while count(cur) > budget:  # a single run-on sentence: cut by words
            words = cur.split()
            half = max(1, len(words) * budget // max(count(cur), 1))
            pieces.append(" ".join(words[:half]))
            cur = " ".join(words[half:])
    if cur:
        pieces.append(cur)
    return pieces


def chunk_document(
    doc: SourceDoc, *, source: str, file_hash: str, count_tokens: Callable[[str], int]
) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section in split_sections(doc):
        prefix = f"{doc.sop_id} {doc.title} > {section.name}\n"
        budget = max(MAX_CHUNK_TOKENS - count_tokens(prefix), 40)
        parts: list[str] = []
        cur = ""
        for block in _blocks(section.body):
            for piece in _split_long(block, budget, count_tokens):
                trial = f"{cur}\n{piece}" if cur else piece
                if cur and count_tokens(trial) > budget:
                    parts.append(cur)
                    cur = piece
                else:
                    cur = trial
        if cur:
            parts.append(cur)
        for part in parts:
            ordinal = len(chunks)
            chunk_id = hashlib.sha1(f"{file_hash}:{ordinal}".encode()).hexdigest()[:20]
            chunks.append(
                Chunk(
                    id=chunk_id,
                    sop_id=doc.sop_id,
                    title=doc.title,
                    section=section.name,
                    source=source,
                    text=prefix + part,
                    body=part,
                    version=doc.version,
                    ordinal=ordinal,
                )
            )
    return chunks
