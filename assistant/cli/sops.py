"""``rxdesk ingest``, ``rxdesk ask``, ``rxdesk eval retrieval`` and ``rxdesk eval fit-decision``."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from assistant.cli.common import AsOpt, JsonOpt, acting_as, app, emit, state
from assistant.cli.render import answer_text
from assistant.sops import fit_decision, service

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
        ...,
        help='JSONL: {"question", "expected_sop": id | [ids] | null, "clinical": bool} per line '
        "(null = out of scope).",
    ),
    curve: bool = typer.Option(
        False, "--curve", help="Also print hybrid's answered-correctly vs out-of-scope-answered curve."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Compare hybrid, dense-only and BM25-only retrieval and answer decisions on a question set."""
    report = service.evaluate_file(state().settings, file)
    if as_json:
        emit(report.to_json(), True)
        return
    typer.echo(
        f"{report.questions_total} questions ({report.in_scope} in scope, {report.out_of_scope} out of scope, "
        f"{report.clinical} clinical)"
    )
    typer.echo(
        f"{'method':<8} {'hit@1':>6} {'hit@3':>6} {'mrr':>6} {'ans-ok':>7} {'tent-ok':>7} {'cited-ok':>8} "
        f"{'ans-bad':>7} {'false-abst':>10} {'oos-ans':>7} {'oos-tent':>8} {'oos-cited':>9} {'clin-ho':>7} "
        f"{'p50 ms':>7} {'p95 ms':>7}"
    )
    for name, m in report.methods.items():
        typer.echo(
            f"{name:<8} {m.hit_at_1:>6.3f} {m.hit_at_3:>6.3f} {m.mrr:>6.3f} {m.answered_correct:>7.3f} "
            f"{m.tentative_correct:>7.3f} {m.cited_correct:>8.3f} {m.answered_wrong:>7.3f} "
            f"{m.false_abstain_rate:>10.3f} {m.oos_answered:>7.3f} {m.oos_tentative:>8.3f} {m.oos_cited:>9.3f} "
            f"{m.clinical_handoff:>7.3f} "
            f"{m.p50_ms:>7.1f} {m.p95_ms:>7.1f}"
        )
    point = report.operating_point
    typer.echo(
        f"hybrid operating point: answer at p >= {point.get('answer', 0):.2f}, "
        f"tentative at p >= {point.get('tentative', 0):.2f}"
    )
    if curve:
        typer.echo(
            "hybrid trade-off (one threshold for any cited answer: answered correctly / answered wrong / "
            "out-of-scope answered)"
        )
        for c in report.curve:
            typer.echo(
                f"  p >= {c.threshold:.2f}: {c.answered_correct:.3f} / {c.answered_wrong:.3f} / {c.oos_answered:.3f}"
            )


@eval_app.command("fit-decision")
def eval_fit_decision(
    questions: list[Path] = typer.Option(
        list(fit_decision.DEFAULT_QUESTIONS),
        "--questions",
        help="Tuning and development sets, repeatable (never the fresh held-out set).",
    ),
    sops: Path = typer.Option(fit_decision.DEFAULT_SOPS, "--sops", help="SOP folder to index for the fit."),
    max_oos_answered: float = typer.Option(
        0.08,
        "--max-oos-answered",
        help="Tentative threshold: out-of-fold share of out-of-scope questions answered (firm or tentative).",
    ),
    max_oos_confident: float = typer.Option(
        0.02, "--max-oos-confident", help="Firm threshold: share of out-of-scope questions answered firmly."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the cross-validation; write nothing."),
    as_json: bool = JsonOpt,
) -> None:
    """Refit the SOP re-ranker and the answer/tentative/abstain model on the tuning set
    (knowledge/models/sop_ranker.json, knowledge/models/answer_decision.json)."""
    report = fit_decision.fit_decision_model(
        sops,
        questions,
        None if dry_run else fit_decision.MODEL_FILE,
        max_oos_answered=max_oos_answered,
        max_oos_confident=max_oos_confident,
        ranker_out=None if dry_run else fit_decision.RANKER_FILE,
    )
    if as_json:
        emit(report.model_dump(mode="json"), True)
        return
    typer.echo(
        "SOP re-ranker: L2 = {}; out-of-fold hit@1 / log-loss: {}".format(
            report.ranker_l2,
            ", ".join(f"{k}: {v['hit@1']:.3f} / {v['log_loss']:.3f}" for k, v in report.ranker_cv.items()),
        )
    )
    for name, w in sorted(report.ranker_coefficients.items(), key=lambda nw: -abs(nw[1])):
        typer.echo(f"  {name:<18} {w:+.3f}")
    typer.echo(
        f"{report.questions} questions, {report.positives} answerable with the top SOP; L2 = {report.l2}"
    )
    typer.echo("CV log-loss: " + ", ".join(f"{k}: {v:.4f}" for k, v in report.cv_log_loss.items()))
    typer.echo(f"thresholds: answer >= {report.answer_threshold}, tentative >= {report.tentative_threshold}")
    for name, w in sorted(report.coefficients.items(), key=lambda nw: -abs(nw[1])):
        typer.echo(f"  {name:<18} {w:+.3f}")
    typer.echo("out-of-fold curve (threshold: answered correctly / out-of-scope answered):")
    for point in report.cv_curve[::10]:
        typer.echo(
            f"  {point['threshold']:.2f}: {point['answered_correct']:.3f} / {point['oos_answered']:.3f}"
        )
    typer.echo(
        f"wrote {report.ranker_written} and {report.written}"
        if report.written
        else "dry run: nothing written"
    )
