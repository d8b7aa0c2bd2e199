"""Read SOP files (.md, .txt, .docx, .pdf) into Markdown-ish text plus front matter and an SOP id."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant import strict_yaml
from assistant.errors import InvalidInput

SUPPORTED = (".md", ".markdown", ".txt", ".docx", ".pdf")
# ADM-001, SOP-FIN-001, FORM-ADM-001B, SCRIPT-ADM-001C, CS-002 ...
SOP_ID = re.compile(r"\b((?:[A-Z]{2,8}-){1,3}\d{2,4}[A-Z]?)\b")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)


@dataclass
class SourceDoc:
    path: Path
    sop_id: str
    title: str
    text: str  # Markdown-like: '#' headings, list items, paragraphs
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str | None:
        v = self.meta.get("version")
        return None if v is None else str(v)


def split_front_matter(text: str, name: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = strict_yaml.load(match.group(1), f"{name}: front matter") or {}
    except InvalidInput as exc:
        detail = exc.message.split("front matter: ", 1)[-1]
        if detail.startswith("not valid YAML"):
            detail = "is not valid YAML" + detail.removeprefix("not valid YAML")
        raise InvalidInput(f"{name}: front matter {detail}") from None
    if not isinstance(meta, dict):
        raise InvalidInput(f"{name}: front matter must be a mapping")
    return meta, text[match.end() :]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path.name}: not UTF-8 text") from exc


def _read_docx(path: Path) -> str:
    import docx  # python-docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, OSError) as exc:
        raise InvalidInput(f"{path.name}: unreadable DOCX ({type(exc).__name__})") from exc
    lines: list[str] = []
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = docx.text.paragraph.Paragraph(block, document)
            text = para.text.strip()
            if not text:
                continue
            style = (para.style.name or "").lower() if para.style is not None else ""
            level = re.match(r"heading (\d)", style)
            if style == "title":
                lines.append(f"# {text}")
            elif level:
                lines.append(f"{'#' * min(int(level.group(1)) + 1, 6)} {text}")
            elif "list" in style:
                lines.append(f"- {text}")
            else:
                lines.append(text)
        elif tag == "tbl":
            table = docx.table.Table(block, document)
            for row in table.rows:
                cells = [c.text.strip() for c in row.cells]
                lines.append("- " + " | ".join(c for c in cells if c))
    return "\n\n".join(lines)


_PDF_HEADING = re.compile(r"^(?:\d+(?:\.\d+)*\.?\s+)?[A-Z][A-Za-z /&,()\-]{2,60}$")


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise InvalidInput(f"{path.name}: encrypted PDF (decrypt it first)")
        pages = [page.extract_text() or "" for page in reader.pages]
    except InvalidInput:
        raise
    except (PyPdfError, ValueError, KeyError, OSError, TypeError) as exc:
        raise InvalidInput(f"{path.name}: unreadable PDF ({type(exc).__name__})") from exc
    text = "\n".join(pages)
    if not text.strip():
        raise InvalidInput(f"{path.name}: PDF has no extractable text (scanned image?)")
    # PDFs carry no heading markup: treat short title-like lines as sub-headings.
    out: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and _PDF_HEADING.match(stripped) and not stripped.endswith(".") and len(stripped) < 60:
            out.append(f"## {stripped}")
        else:
            out.append(stripped)
    return "\n".join(out)


def _first_heading(text: str) -> str | None:
    for line in text.splitlines():
        m = re.match(r"^#\s+(.+)$", line.strip())
        if m:
            return m.group(1).strip()
    return None


def read_source(path: Path) -> SourceDoc:
    """Read one file; raises InvalidInput with a one-line reason when it cannot be used."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise InvalidInput(f"{path.name}: unsupported file type (use {', '.join(SUPPORTED)})")
    if not path.is_file():
        raise InvalidInput(f"file not found: {path}")
    if suffix == ".docx":
        raw = _read_docx(path)
    elif suffix == ".pdf":
        raw = _read_pdf(path)
    else:
        raw = _read_text(path)
    meta, body = split_front_matter(raw, path.name)
    if not body.strip():
        raise InvalidInput(f"{path.name}: empty document")
    heading = _first_heading(body)
    title = str(meta.get("title") or (heading and SOP_ID.sub("", heading).strip(" —-:")) or path.stem)
    sop_id = str(meta.get("id") or "").strip()
    if not sop_id:
        for candidate in (heading or "", str(meta.get("title") or ""), path.stem):
            found = SOP_ID.search(candidate.upper() if candidate is path.stem else candidate)
            if found:
                sop_id = found.group(1)
                break
    if not sop_id:
        sop_id = path.stem
    return SourceDoc(path=path, sop_id=sop_id, title=title or sop_id, text=body, meta=meta)


def discover(paths: list[Path]) -> list[tuple[Path, Path]]:
    """Expand files and folders (recursively) into (file, root) pairs; roots give relative names."""
    found: list[tuple[Path, Path]] = []
    for given in paths:
        try:
            given.stat()
        except OSError as exc:
            name = str(given) if len(str(given)) <= 120 else str(given)[:117] + "..."
            what = (
                "path not found" if isinstance(exc, FileNotFoundError) else f"unusable path ({exc.strerror})"
            )
            raise InvalidInput(f"{what}: {name}") from None
        if given.is_dir():
            for file in sorted(given.rglob("*")):
                if file.is_file() and file.suffix.lower() in SUPPORTED and not file.name.startswith("."):
                    found.append((file, given))
        elif given.is_file():
            found.append((given, given.parent))
        else:
            raise InvalidInput(f"path not found: {given}")
    return found
