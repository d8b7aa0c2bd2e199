"""Pydantic models of the SOP side: chunks, search hits, answers, ingest and evaluation reports."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, computed_field


class Chunk(BaseModel):
    id: str
    sop_id: str
    title: str
    section: str  # heading path inside the SOP, e.g. "Procedure > After a code 75 reject"
    source: str  # path relative to the ingested root
    text: str  # the text that was embedded (SOP title and section prefixed)
    body: str  # the section text itself, without the prefix
    version: str | None = None
    ordinal: int = 0  # position of the chunk within its file
    effective: str | None = None  # the SOP's effective date, as its front matter gives it


class SectionHit(BaseModel):
    sop_id: str
    title: str
    section: str
    source: str
    score: float
    chunks: list[Chunk] = Field(default_factory=list)
    dense_similarity: float = 0.0
    coverage: float = 0.0


class SearchResult(BaseModel):
    query: str
    method: str
    sections: list[SectionHit]
    evidence: float  # hybrid: the decision model's probability; baselines: their single signal
    abstained: bool  # decision == "abstain"
    # answer: cite the top section; tentative: show the closest section with its citation and ask the
    # reader to check it covers their case; abstain: the SOPs don't cover it
    decision: Literal["answer", "tentative", "abstain"] = "abstain"
    confidence: float = 0.0  # calibrated probability that answering with the top SOP is right
    features: dict[str, float] = Field(default_factory=dict)
    elapsed_ms: float = 0.0

    def ranked_sop_ids(self) -> list[str]:
        seen: list[str] = []
        for hit in self.sections:
            if hit.sop_id not in seen:
                seen.append(hit.sop_id)
        return seen


class Citation(BaseModel):
    sop_id: str
    title: str
    section: str
    source: str
    score: float
    version: str | None = None
    effective: str | None = None


class Passage(BaseModel):
    """One cited section of an answer: the lines quoted from it (trimmed, never reworded)."""

    n: int  # the citation number the lines carry: [n]
    sop_id: str
    title: str
    section: str
    source: str
    score: float
    version: str | None = None
    effective: str | None = None  # the SOP's effective date
    lines: list[str] = Field(default_factory=list)

    def citation(self) -> Citation:
        return Citation(
            sop_id=self.sop_id,
            title=self.title,
            section=self.section,
            source=self.source,
            score=self.score,
            version=self.version,
            effective=self.effective,
        )


class SopRef(BaseModel):
    sop_id: str
    title: str
    section: str | None = None


# answered: the passages answer the question; tentative: the closest SOP section is shown with its
# citation, but the evidence is moderate ("check it covers your case"); not_covered: our SOPs don't
# cover it; clinical_handoff: a clinical-judgment question the asker's role may not have answered.
AnswerOutcome = Literal["answered", "tentative", "not_covered", "clinical_handoff"]


class Answer(BaseModel):
    """A grounded SOP answer as data: adapters render it (terminal text, Block Kit, agent tool)."""

    question: str
    outcome: AnswerOutcome
    passages: list[Passage] = Field(default_factory=list)
    see_also: list[SopRef] = Field(default_factory=list)
    closest: SopRef | None = None  # not covered: the nearest SOP, named so nobody has to guess
    role: str = "technician"
    evidence: float = 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def abstained(self) -> bool:
        return self.outcome in ("not_covered", "clinical_handoff")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def routed_to_pharmacist(self) -> bool:
        return self.outcome == "clinical_handoff"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def citations(self) -> list[Citation]:
        return [p.citation() for p in self.passages]


class SectionText(BaseModel):
    """A whole SOP section as retrieved for a reader (the LLM agent's search tool)."""

    sop_id: str
    title: str
    section: str
    source: str
    version: str | None = None
    score: float = 0.0
    text: str


class SectionSearch(BaseModel):
    query: str
    covered: bool  # False: the SOPs do not seem to cover the question (the abstain decision)
    sections: list[SectionText] = Field(default_factory=list)
    # the calibrated decision: "tentative" means covered only moderately; hedge and cite the closest
    decision: Literal["answer", "tentative", "abstain"] = "answer"


class SopChange(BaseModel):
    """One SOP added, changed, renamed, removed or approved: audited at ingest, listed in the digest."""

    sop_id: str
    title: str
    change: Literal["added", "changed", "renamed", "removed", "approved"]
    version: str | None = None
    effective: str | None = None
    sha256: str
    source: str
    previous_source: str | None = None
    pending: bool = False  # waiting for a pharmacist's or admin's approval (not used for answers)
    by: str | None = None
    at: datetime | None = None


class IngestReport(BaseModel):
    files_seen: int = 0
    files_added: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    files_renamed: int = 0
    files_pending: int = 0  # revisions waiting for approval after this ingest
    chunks_embedded: int = 0
    chunks_total: int = 0
    orphans_removed: int = 0
    seconds: float = 0.0
    warnings: list[str] = Field(default_factory=list)
    changes: list[SopChange] = Field(default_factory=list)

    def summary(self) -> str:
        renamed = f", {self.files_renamed} renamed" if self.files_renamed else ""
        pending = f"; {self.files_pending} waiting for approval" if self.files_pending else ""
        return (
            f"ingest: {self.files_seen} files ({self.files_added} new, {self.files_changed} changed, "
            f"{self.files_unchanged} unchanged, {self.files_removed} removed{renamed}); "
            f"{self.chunks_embedded} chunks embedded, {self.chunks_total} in index{pending}; {self.seconds:.2f}s"
        )
