"""Case + kind -> draft content (document, missing facts, validation findings, Markdown).

This is the one entry point the review service, the CLI, the Slack adapter and a future LLM agent
share: whatever produced the case, the same checks and the same templates apply.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from assistant.drafting.case import Case
from assistant.drafting.document import Document
from assistant.drafting.kinds import build_document, get_kind
from assistant.drafting.kinds.base import DRAFT_BANNER
from assistant.drafting.render import BOX, to_markdown
from assistant.drafting.validate import validate_case


class DraftContent(BaseModel):
    kind: str
    document: Document
    missing: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    internal: Document | None = Field(
        default=None, description="Internal worksheet (e.g. the PA checklist): shown to staff, never sent."
    )


def compose(kind: str, case: Case, *, today: dt.date | None = None) -> DraftContent:
    get_kind(kind)
    today = today or dt.date.today()
    findings = validate_case(case, kind, today=today)
    built = build_document(kind, case, prepared=today)
    return DraftContent(
        kind=kind,
        document=built.document,
        missing=built.missing,
        warnings=findings.warnings,
        errors=findings.errors,
        internal=built.internal,
    )


def worksheet_for(kind: str, missing: list[str]) -> Document | None:
    """The kind's internal worksheet for these missing facts, if the kind has one."""
    worksheet = getattr(get_kind(kind), "worksheet", None)
    return worksheet(missing) if worksheet else None


def review_notes(content: DraftContent) -> str:
    """Markdown shown above a draft (never part of the approved document)."""
    lines: list[str] = []
    if content.errors:
        lines.append("**Errors (must be fixed before approval):**")
        lines += [f"- {e}" for e in content.errors]
    if content.missing:
        lines.append("**Missing facts:** " + "; ".join(content.missing))
    if content.warnings:
        lines.append("**Warnings:**")
        lines += [f"- {w}" for w in content.warnings]
    internal = content.internal or worksheet_for(content.kind, content.missing)
    if internal is not None and content.missing:
        lines.append(f"**{internal.title}:**")
        lines += [f"- {BOX} {item}" for b in internal.blocks if b.type == "checkboxes" for item in b.items]
    return "\n".join(lines)


def draft_markdown(content: DraftContent, banner: str = DRAFT_BANNER, *, notes: bool = True) -> str:
    body = to_markdown(content.document, banner)
    extra = review_notes(content) if notes else ""
    return (extra + "\n\n" + body) if extra else body
