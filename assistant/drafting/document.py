"""A structured document: what every kind builds and every renderer (Markdown, DOCX, PDF) reads.

Blocks are deliberately few. ``fields`` are label/value pairs (boxes on paper), ``checkboxes`` are
response options drawn as empty boxes, ``lines`` are write-in lines (signatures, dates).
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, Field

BlockType = Literal["heading", "para", "fields", "table", "bullets", "checkboxes", "lines", "pagebreak"]


class Block(BaseModel):
    type: BlockType
    text: str = ""
    level: int = 2
    items: list[str] = Field(default_factory=list)
    headers: list[str] = Field(default_factory=list)
    rows: list[list[str]] = Field(default_factory=list)


class Document(BaseModel):
    kind: str
    title: str
    min_font_pt: int = Field(default=10, description="CMS documents use at least 12 pt.")
    blocks: list[Block] = Field(default_factory=list)

    def content_sha256(self) -> str:
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    # builder helpers -------------------------------------------------------------------------
    def h(self, text: str, level: int = 2) -> None:
        self.blocks.append(Block(type="heading", text=text, level=level))

    def p(self, text: str) -> None:
        self.blocks.append(Block(type="para", text=text))

    def fields(self, rows: list[tuple[str, str]]) -> None:
        self.blocks.append(Block(type="fields", rows=[[a, b] for a, b in rows]))

    def table(self, headers: list[str], rows: list[list[str]]) -> None:
        self.blocks.append(Block(type="table", headers=headers, rows=rows))

    def bullets(self, items: list[str]) -> None:
        self.blocks.append(Block(type="bullets", items=items))

    def checkboxes(self, items: list[str]) -> None:
        self.blocks.append(Block(type="checkboxes", items=items))

    def lines(self, items: list[str]) -> None:
        self.blocks.append(Block(type="lines", items=items))

    def pagebreak(self) -> None:
        self.blocks.append(Block(type="pagebreak"))

    def plain_text(self) -> str:
        """Every string in the document, one per line (for tests and search)."""
        out = [self.title]
        for b in self.blocks:
            out.append(b.text)
            out.extend(b.items)
            out.extend(b.headers)
            out.extend(" ".join(r) for r in b.rows)
        return "\n".join(s for s in out if s)
