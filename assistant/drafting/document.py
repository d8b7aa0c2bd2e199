"""A structured document: what every kind builds and every renderer (Markdown, DOCX, PDF) reads.

Blocks are deliberately few. ``fields`` are label/value pairs (boxes on paper), ``checkboxes`` are
response options drawn as empty boxes, ``lines`` are write-in lines (signatures, dates), and
``signature`` is the signing pharmacist's block: ``items`` hold it as drafted (from the case) and
``text`` holds its template, so an approved export can print the approving pharmacist instead.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, Field

BlockType = Literal[
    "heading", "para", "fields", "table", "bullets", "checkboxes", "lines", "pagebreak", "signature"
]
Recipient = Literal["patient", "payer", "prescriber", "record"]
SIGNER_KEYS = ("name", "credentials", "npi", "phone")


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
    recipient: Recipient = Field(default="record", description="Who reads the approved document.")
    running_header: str = Field(
        default="",
        description="Printed on every page (patient name and DOB), so a page separated from a fax is still identified.",
    )
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

    def signature(self, template: list[str], drafted: dict[str, str]) -> None:
        """The signing pharmacist: ``template`` lines use ``{name}``, ``{credentials}``, ``{npi}``, ``{phone}``;
        ``drafted`` fills them from the case until an approval names the real signer."""
        self.blocks.append(
            Block(
                type="signature",
                text="\n".join(template),
                rows=[[k, drafted.get(k, "")] for k in SIGNER_KEYS],
                items=signature_lines("\n".join(template), drafted),
            )
        )

    def plain_text(self) -> str:
        """Every string in the document, one per line (for tests and search)."""
        out = [self.title]
        for b in self.blocks:
            if b.type == "signature":  # the drafted lines; the template is not text anyone reads
                out.extend(b.items)
                continue
            out.append(b.text)
            out.extend(b.items)
            out.extend(b.headers)
            out.extend(" ".join(r) for r in b.rows)
        return "\n".join(s for s in out if s)


def fill_signature(line: str, values: dict[str, str]) -> str | None:
    """One template line filled with the signer's values; ``None`` when every value it names is
    empty (a signer without an NPI prints no "NPI" line)."""
    keys = [k for k in SIGNER_KEYS if "{" + k + "}" in line]
    if not keys:
        return line
    if not any(values.get(k) for k in keys):
        return None
    out = line
    for key in keys:
        out = out.replace("{" + key + "}", values.get(key) or "")
    return " ".join(out.replace(" ,", ",").split()).strip(", ")


def signature_lines(template: str, values: dict[str, str]) -> list[str]:
    return [x for x in (fill_signature(line, values) for line in template.split("\n")) if x]
