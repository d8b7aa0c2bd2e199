"""``rxdesk ingest``, ``rxdesk ask``, ``rxdesk eval retrieval`` and ``rxdesk eval fit-decision``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from assistant.cli.common import AsOpt, JsonOpt, acting_as, app, emit, state
from assistant.cli.render import answer_text
from assistant.errors import InvalidInput
from assistant.sops import clinical_model, fit_decision, fit_triage, service

eval_app = typer.Typer(help="Evaluations of the assistant's quality.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


def _progress():  # type: ignore[no-untyped-def]
    """A bar at a terminal; plain lines (at most one every 2 s, plus the last) when stderr is a log."""
    tty = sys.stderr.isatty()
    # in a log: nothing for a quick run (an error stays one line), then a line every 2 s
    started = time.monotonic()
    last = {"read": started, "embed": started}

    def show(stage: str, done: int, total: int, name: str) -> None:
        large = stage == "read-large"
        stage = "read" if large else stage
        if tty:
            width = 30
            filled = int(width * done / max(total, 1))
            unit = "files read" if stage == "read" else "chunks"
            sys.stderr.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {unit}  {name[:40]:<40}"
            )
            if done >= total:
                sys.stderr.write("\n")
            sys.stderr.flush()
            return
        now = time.monotonic()
        final = done >= total and stage == "embed"  # reading is followed by embedding: no final line
        if not final and not large and now - last[stage] < 2.0:
            return
        last[stage] = now
        verb = "reading" if stage == "read" else "embedded"
        what = f"file {done}/{total}: {name}" if stage == "read" else f"{done}/{total} chunks ({name})"
        sys.stderr.write(f"ingest: {verb} {what}\n")
        sys.stderr.flush()

    return show


@app.command()
def ingest(
    paths: list[str] = typer.Argument(..., help="Files or folders (.md .txt .docx .pdf), recursively."),
    prune: bool = typer.Option(False, "--prune", help="Drop indexed files that no longer exist."),
    wait: float = typer.Option(
        0.0, "--wait", min=0, max=3600, help="If another ingest is running, wait up to SECONDS for it."
    ),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Index SOP documents (incremental: unchanged files are not re-embedded; one ingest at a time)."""
    if any(not p.strip() for p in paths):  # "$UNSET_VAR" would otherwise mean the current folder
        raise InvalidInput("an empty path was given; name the SOP files or folders (use . for this folder)")
    report = service.ingest(
        state().store,
        [Path(p) for p in paths],
        principal=acting_as(as_staff),
        prune=prune,
        progress=_progress(),
        wait=wait,
    )
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    lines = [report.summary()]
    for c in report.changes:
        ver = f" v{c.version}" if c.version else ""
        moved = f" (was {c.previous_source})" if c.previous_source else ""
        note = "; waiting for approval: rxdesk sops approve " + c.sop_id if c.pending else ""
        lines.append(f"  {c.change:<8} {c.sop_id}{ver} {c.source}{moved} sha256 {c.sha256[:12]}{note}")
    emit(report, as_json, "\n".join(lines))


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
        f"{report.clinical} clinical); question bank: {report.bank_questions} known questions "
        "(the evaluated ones left out)"
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


@eval_app.command("fit-triage")
def eval_fit_triage(
    questions: list[Path] = typer.Option(
        list(fit_triage.TRIAGE_FILES), "--questions", help="Labelled question files, repeatable."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print the leave-one-file-out check; write nothing."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Refit the clinical triage model (knowledge/models/clinical_triage.json) on every labelled file."""
    report = fit_triage.fit_triage_model(questions, None if dry_run else clinical_model.MODEL_FILE)
    if as_json:
        emit(report.model_dump(mode="json"), True)
        return
    typer.echo(
        f"{report.questions} questions, {report.clinical} clinical; L2 = {report.l2}, threshold {report.threshold}"
    )
    typer.echo("leave one file out: clinical handed off (rules / rules + model), in-scope handed off")
    for name, f in [*report.leave_one_file_out.items(), ("pooled", report.pooled)]:
        typer.echo(
            f"  {name:<26} {f.clinical:>4}  {f.handoff_rules:.3f} / {f.handoff_with_model:.3f}  {f.in_scope_handed_off:.3f}"
        )
    typer.echo(f"wrote {report.written}" if report.written else "dry run: nothing written")


# ---------------------------------------------------------------- SOP approval and index health

sops_app = typer.Typer(
    help="SOP revisions waiting for approval (RXDESK_SOP_APPROVAL=required).", no_args_is_help=True
)
app.add_typer(sops_app, name="sops")
index_app = typer.Typer(
    help="The SOP index: check it against its vectors, repair drift.", no_args_is_help=True
)
app.add_typer(index_app, name="index")


@sops_app.command("pending")
def sops_pending(as_staff: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """New or changed SOPs not yet used for answers, until a pharmacist or admin approves them."""
    rows = service.pending_sops(state().store, principal=acting_as(as_staff))
    if as_json:
        emit({"pending": rows}, True)
        return
    if not rows:
        typer.echo("no SOP revisions are waiting for approval")
    for r in rows:
        ver = f"v{r.version}" if r.version else "v?"
        eff = f", effective {r.effective}" if r.effective else ""
        kind = "changed" if r.replaces else "new"
        typer.echo(f"{r.sop_id:<16} {ver:<6} {kind:<8} {r.source}{eff}  sha256 {r.sha256[:12]}")


@sops_app.command("approve")
def sops_approve(
    sop_id: str = typer.Argument(
        ..., metavar="ID", help="The SOP id, e.g. VAC-001 (see: rxdesk sops pending)."
    ),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Approve the pending revision of an SOP so answers may use it (pharmacists and admins)."""
    changes = service.approve_sop(state().store, sop_id, principal=acting_as(as_staff))
    text = "\n".join(
        f"approved {c.sop_id}{' v' + c.version if c.version else ''} ({c.source}, sha256 {c.sha256[:12]})"
        for c in changes
    )
    emit({"approved": changes}, as_json, text)


@index_app.command("check")
def index_check(
    repair: bool = typer.Option(False, "--repair", help="Fix the drift found (audited)."),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Report drift between the manifest and the vector collection; --repair makes them agree."""
    r = service.check_index(state().store, principal=acting_as(as_staff), repair=repair)
    data = {**r.model_dump(mode="json"), "ok": r.ok}
    text = (
        f"index: {r.files} files, {r.pending} pending, {r.chunks} chunks, {r.vectors} vectors; "
        f"{r.orphan_vectors} orphan vectors, {r.missing_vectors} missing vectors, "
        f"{r.dangling_chunks} unused chunks, {len(r.broken_files)} broken files"
    )
    if r.missing_files:
        text += f"\nfiles no longer on disk (ingest --prune drops them): {', '.join(r.missing_files[:10])}"
    if r.broken_files:
        text += f"\nbroken entries (re-ingest these files): {', '.join(r.broken_files[:10])}"
    text += "\n" + (
        "repaired" if r.repaired else ("ok" if r.ok else "drift found: run rxdesk index check --repair")
    )
    emit(data, as_json, text)
    if not r.ok and not r.repaired:
        raise typer.Exit(1)
