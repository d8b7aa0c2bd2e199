"""Pydantic models of the SOP side: chunks, search hits, answers, ingest and evaluation reports."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


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


class Answer(BaseModel):
    question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    role: str = "technician"
    routed_to_pharmacist: bool = False
    evidence: float = 0.0


class IngestReport(BaseModel):
    files_seen: int = 0
    files_added: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    warnings: list[str] = Field(default_factory=list)

    def summary(self) -> str:
        return (
            f"ingest: {self.files_seen} files ({self.files_added} new, {self.files_changed} changed, "
            f"{self.files_unchanged} unchanged, {self.files_removed} removed); "
            f"{self.chunks_embedded} chunks embedded, {self.chunks_total} in index; {self.seconds:.2f}s"
        )
