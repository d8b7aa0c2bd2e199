"""Document kinds: one module each, registered here by their CLI name."""

from __future__ import annotations

import datetime as dt
from types import ModuleType

from pydantic import BaseModel, Field

from assistant.drafting.case import Case
from assistant.drafting.document import Document
from assistant.drafting.kinds import mtm_cmr, mtm_note, pa_appeal, pa_packet, prescriber_letter
from assistant.drafting.kinds.base import Filler
from assistant.errors import InvalidInput

KINDS: dict[str, ModuleType] = {
    m.KIND: m for m in (mtm_cmr, mtm_note, pa_packet, pa_appeal, prescriber_letter)
}


class Built(BaseModel):
    document: Document
    missing: list[str] = Field(default_factory=list)
    missing_paths: dict[str, str] = Field(default_factory=dict, description="missing label -> case path")
    internal: Document | None = Field(default=None, description="Internal worksheet, never sent.")


def get_kind(kind: str) -> ModuleType:
    try:
        return KINDS[kind]
    except KeyError:
        raise InvalidInput(f"unknown document kind '{kind}' (expected one of: {', '.join(KINDS)})") from None


def build_document(kind: str, case: Case, *, prepared: dt.date | None = None) -> Built:
    """Build the structured document for ``kind`` from ``case``; nothing is looked up elsewhere."""
    module = get_kind(kind)
    f = Filler(case, module.REQUIRED, case.prepared_date or prepared or dt.date.today())
    doc = module.build(case, f)
    worksheet = getattr(module, "worksheet", None)
    return Built(
        document=doc,
        missing=f.missing,
        missing_paths=f.missing_paths,
        internal=worksheet(f.missing) if worksheet else None,
    )
