"""Entry points the adapters call: open the index for a data dir, ingest, ask, evaluate."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from sqlalchemy import insert, select

from assistant import audit
from assistant.access import guarded
from assistant.config import Settings
from assistant.errors import InvalidInput, NotFound
from assistant.files import read_input_text
from assistant.principal import Principal
from assistant.roles import Action
from assistant.sops.answer import MAX_QUESTION_CHARS, answer_question, section_text
from assistant.sops.evaluate import EvalReport, evaluate, load_questions
from assistant.sops.index import IndexCheck, PendingSop, Progress, SopIndex
from assistant.sops.models import Answer, IngestReport, SectionSearch, SectionText, SopChange
from assistant.sops.search import Retriever
from assistant.sops.tables import sop_approvals
from assistant.store import Store


def index_dir(settings: Settings) -> Path:
    return settings.data_dir / "index"


@lru_cache(maxsize=4)
def _retriever(path: str) -> Retriever:
    return Retriever(SopIndex(Path(path)))


def retriever_for(settings: Settings) -> Retriever:
    """One warm retriever per data dir and process (the chat and Slack app reuse it)."""
    return _retriever(str(index_dir(settings).resolve()))


def _approved_hashes(store: Store) -> set[str] | None:
    """None when SOP approval is off; otherwise the content hashes approved so far."""
    if store.settings.sop_approval != "required":
        return None
    with store.begin() as conn:
        return set(conn.execute(select(sop_approvals.c.sha256)).scalars())


@guarded(Action.INGEST_SOPS, "sops.ingest")
def ingest(
    store: Store,
    paths: list[Path],
    *,
    principal: Principal,
    prune: bool = False,
    progress: Progress | None = None,
    wait: float = 0.0,
) -> IngestReport:
    """Index SOP files (incremental, one ingest at a time per index). Who ran it and every SOP added,
    changed, renamed or removed (id, version, content hash, pending or live) go to the audit log."""
    retriever = retriever_for(store.settings)
    report = retriever.index.ingest(
        paths,
        prune=prune,
        progress=progress,
        approved=_approved_hashes(store),
        holder=principal.label,
        wait=wait,
        max_bytes=int(store.settings.max_sop_mb * (1 << 20)),
    )
    with store.begin() as conn:
        audit.record(
            conn,
            actor=principal.id,
            action="sops.ingest",
            detail={
                "added": report.files_added,
                "changed": report.files_changed,
                "removed": report.files_removed,
                "renamed": report.files_renamed,
                "pending": report.files_pending,
                "chunks": report.chunks_total,
            },
        )
        for change in report.changes:
            audit.record(
                conn,
                actor=principal.id,
                action="sops.change",
                target=f"sop:{change.sop_id}",
                detail=change.model_dump(mode="json", exclude={"by", "at"}, exclude_none=True),
            )
    return report


@guarded(Action.INGEST_SOPS, "sops.pending")
def pending_sops(store: Store, *, principal: Principal) -> list[PendingSop]:
    """SOP revisions waiting for a pharmacist's or admin's approval (not used for answers yet)."""
    index = retriever_for(store.settings).index
    index.refresh()
    return index.pending_sops()


@guarded(Action.APPROVE_SOP, "sops.approve")
def approve_sop(store: Store, sop_id: str, *, principal: Principal) -> list[SopChange]:
    """Approve the pending revision(s) of ``sop_id``: recorded (who, when, content hash) in the
    database and the audit log, then made live in this instance's index. Other instances sharing
    the database make it live at their next ingest."""
    index = retriever_for(store.settings).index
    index.refresh()
    found = index.find_pending(sop_id)
    if not found:
        raise NotFound(f"no revision of SOP '{sop_id}' is waiting for approval", field="sop_id")
    now = dt.datetime.now(dt.UTC)
    changes = [e.change("approved", by=principal.id, at=now) for e in found]
    with store.begin() as conn:
        have = set(conn.execute(select(sop_approvals.c.sha256)).scalars())
        for e in found:
            if e.sha256 not in have:
                conn.execute(
                    insert(sop_approvals).values(
                        sha256=e.sha256,
                        sop_id=e.sop_id,
                        version=e.version,
                        source=e.source,
                        approved_by=principal.id,
                        approved_at=now,
                    )
                )
        for c in changes:
            audit.record(
                conn,
                actor=principal.id,
                action="sops.approve",
                target=f"sop:{c.sop_id}",
                detail=c.model_dump(mode="json", exclude={"by", "at"}, exclude_none=True),
            )
    index.approve(sop_id, approved_by=principal.id, holder=principal.label)
    return changes


@guarded(Action.INGEST_SOPS, "sops.index_check")
def check_index(store: Store, *, principal: Principal, repair: bool = False) -> IndexCheck:
    """Compare the manifest with the vector collection; with ``repair``, make them agree (audited)."""
    index = retriever_for(store.settings).index
    result = index.check(repair=repair, holder=principal.label)
    if result.repaired:
        audit.record(
            store,
            actor=principal.id,
            action="sops.index_repair",
            detail=result.model_dump(mode="json", exclude={"missing_files"}),
        )
    return result


@guarded(Action.ASK_SOP, "sops.ask")
def ask(store: Store, question: str, *, principal: Principal) -> Answer:
    """Answer from the SOPs as ``principal``: their real role decides clinical hand-offs."""
    retriever = retriever_for(store.settings)
    retriever.index.refresh()  # another process may have ingested or approved since
    return answer_question(retriever, question, principal.role)


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
    read_input_text(path, what="evaluation file", max_bytes=10 << 20)  # UTF-8, regular, bounded
    questions = load_questions(path)
    retriever = retriever_for(settings)
    if retriever.index.is_empty():
        raise InvalidInput("the SOP manual has not been indexed yet", code="index_empty")
    return evaluate(retriever, questions)
