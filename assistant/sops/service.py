"""Entry points the adapters call: open the index for a data dir, ingest, ask, evaluate."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from assistant.config import Settings
from assistant.roles import Role
from assistant.sops.answer import answer_question
from assistant.sops.evaluate import EvalReport, evaluate, load_questions
from assistant.sops.index import Progress, SopIndex
from assistant.sops.models import Answer, IngestReport
from assistant.sops.search import Retriever


def index_dir(settings: Settings) -> Path:
    return settings.data_dir / "index"


@lru_cache(maxsize=4)
def _retriever(path: str) -> Retriever:
    return Retriever(SopIndex(Path(path)))


def retriever_for(settings: Settings) -> Retriever:
    """One warm retriever per data dir and process (the chat and Slack app reuse it)."""
    return _retriever(str(index_dir(settings).resolve()))


def ingest(
    settings: Settings, paths: list[Path], *, prune: bool = False, progress: Progress | None = None
) -> IngestReport:
    retriever = retriever_for(settings)
    return retriever.index.ingest(paths, prune=prune, progress=progress)


def ask(settings: Settings, question: str, role: Role | str = Role.TECHNICIAN) -> Answer:
    return answer_question(retriever_for(settings), question, role)


def evaluate_file(settings: Settings, path: Path) -> EvalReport:
    questions = load_questions(path)
    retriever = retriever_for(settings)
    if retriever.index.is_empty():
        from assistant.errors import InvalidInput

        raise InvalidInput("the SOP index is empty: run `rxdesk ingest knowledge/sops` first")
    return evaluate(retriever, questions)
