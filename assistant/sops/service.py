"""Entry points the adapters call: open the index for a data dir, ingest, ask, evaluate."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from assistant import audit
from assistant.access import guarded
from assistant.config import Settings
from assistant.errors import InvalidInput
from assistant.principal import Principal
from assistant.roles import Action
from assistant.sops.answer import MAX_QUESTION_CHARS, answer_question, section_text
from assistant.sops.evaluate import EvalReport, evaluate, load_questions
from assistant.sops.index import Progress, SopIndex
from assistant.sops.models import Answer, IngestReport, SectionSearch, SectionText
from assistant.sops.search import Retriever
from assistant.store import Store


def index_dir(settings: Settings) -> Path:
    return settings.data_dir / "index"


@lru_cache(maxsize=4)
def _retriever(path: str) -> Retriever:
    return Retriever(SopIndex(Path(path)))


def retriever_for(settings: Settings) -> Retriever:
    """One warm retriever per data dir and process (the chat and Slack app reuse it)."""
    return _retriever(str(index_dir(settings).resolve()))


@guarded(Action.INGEST_SOPS, "sops.ingest")
def ingest(
    store: Store,
    paths: list[Path],
    *,
    principal: Principal,
    prune: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Index SOP files (incremental); who ran it goes to the audit log."""
    retriever = retriever_for(store.settings)
    report = retriever.index.ingest(paths, prune=prune, progress=progress)
    audit.record(
        store,
        actor=principal.id,
        action="sops.ingest",
        detail={
            "added": report.files_added,
            "changed": report.files_changed,
            "removed": report.files_removed,
            "chunks": report.chunks_total,
        },
    )
    return report


@guarded(Action.ASK_SOP, "sops.ask")
def ask(store: Store, question: str, *, principal: Principal) -> Answer:
    """Answer from the SOPs as ``principal``: their real role decides clinical hand-offs."""
    return answer_question(retriever_for(store.settings), question, principal.role)


@guarded(Action.ASK_SOP, "sops.search")
def search_sections(store: Store, query: str, *, principal: Principal, limit: int = 3) -> SectionSearch:
    """The best matching SOP sections, whole, with the answer/abstain decision (for the LLM agent)."""
    query = (query or "").strip()
    if not query:
        raise InvalidInput("empty search: say what to look for", field="query")
    retriever = retriever_for(store.settings)
    if retriever.index.is_empty():
        raise InvalidInput("the SOP manual has not been indexed yet", code="index_empty")
    result = retriever.search(query[:MAX_QUESTION_CHARS], "hybrid", k=max(limit, 1))
    sections = [
        SectionText(
            sop_id=h.sop_id,
            title=h.title,
            section=h.section,
            source=h.source,
            version=h.chunks[0].version if h.chunks else None,
            score=round(h.score, 4),
            text=section_text(retriever.section_chunks(h.sop_id, h.section) or h.chunks),
        )
        for h in result.sections[:limit]
    ]
    return SectionSearch(
        query=query,
        covered=not result.abstained and bool(sections),
        sections=sections,
        decision=result.decision if sections else "abstain",
    )


def evaluate_file(settings: Settings, path: Path) -> EvalReport:
    """Retrieval evaluation over a question file (reads no patient data, changes nothing)."""
    questions = load_questions(path)
    retriever = retriever_for(settings)
    if retriever.index.is_empty():
        raise InvalidInput("the SOP manual has not been indexed yet", code="index_empty")
    return evaluate(retriever, questions)
