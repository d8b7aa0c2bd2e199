"""``rxdesk ingest``, ``rxdesk ask`` and ``rxdesk eval retrieval``."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from assistant.cli.common import AsOpt, JsonOpt, acting_as, app, emit, state
from assistant.cli.render import answer_text
from assistant.sops import service

eval_app = typer.Typer(help="Evaluations of the assistant's quality.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


def _progress_bar():  # type: ignore[no-untyped-def]
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int, name: str) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} chunks  {name[:40]:<40}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Files or folders (.md .txt .docx .pdf), recursively."),
    prune: bool = typer.Option(False, "--prune", help="Drop indexed files that no longer exist."),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Index SOP documents (incremental: unchanged files are not re-embedded)."""
    report = service.ingest(
        state().store, paths, principal=acting_as(as_staff), prune=prune, progress=_progress_bar()
    )
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    emit(report, as_json, report.summary())


@app.command()
def ask(
    question: str = typer.Argument(..., help="The question, in plain words."),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Answer a question from the SOPs, with citations (or say they don't cover it).

    Clinical-judgment questions are answered only for a pharmacist named with --as."""
    answer = service.ask(state().store, question, principal=acting_as(as_staff))
    text = answer_text(answer)
    if as_json:
        data = answer.model_dump(mode="json")
        emit({"question": data.pop("question"), "answer": text, **data}, True)
    else:
        emit(answer, False, text)


@eval_app.command("retrieval")
def eval_retrieval(
    file: Path = typer.Argument(
        ..., help='JSONL: {"question", "expected_sop"} per line (null = out of scope).'
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Compare hybrid, dense-only and BM25-only retrieval on a question set."""
    report = service.evaluate_file(state().settings, file)
    if as_json:
        emit(report.to_json(), True)
        return
    typer.echo(
        f"{report.questions_total} questions ({report.in_scope} in scope, {report.out_of_scope} out of scope)"
    )
    typer.echo(
        f"{'method':<8} {'hit@1':>6} {'hit@3':>6} {'hit@5':>6} {'mrr':>6} {'abstain':>8} "
        f"{'false-abst':>10} {'p50 ms':>7} {'p95 ms':>7}"
    )
    for name, m in report.methods.items():
        typer.echo(
            f"{name:<8} {m.hit_at_1:>6.3f} {m.hit_at_3:>6.3f} {m.hit_at_5:>6.3f} {m.mrr:>6.3f} "
            f"{m.abstain_accuracy:>8.3f} {m.false_abstain_rate:>10.3f} {m.p50_ms:>7.1f} {m.p95_ms:>7.1f}"
        )
