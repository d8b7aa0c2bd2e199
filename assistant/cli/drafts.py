"""``rxdesk draft``, ``rxdesk review ...`` and ``rxdesk schema case``: thin adapters over the services.

Acting as someone: drafts hold PHI, so every command here needs ``--as STAFF_ID``; without it the
command runs as the local operator, whom the services refuse (and audit).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from assistant.cli.common import AsOpt, ForceOpt, JsonOpt, acting_as, app, emit, state, write_file
from assistant.drafting.case import case_json_schema, load_case
from assistant.drafting.kinds import KINDS, get_kind
from assistant.errors import InvalidInput
from assistant.review import service
from assistant.review.service import DraftView, Status

review_app = typer.Typer(
    help="The review queue: show, edit, approve, request changes, export.", no_args_is_help=True
)
schema_app = typer.Typer(help="JSON Schemas of input files.", no_args_is_help=True)
app.add_typer(review_app, name="review")
app.add_typer(schema_app, name="schema")


def _contract(view: DraftView) -> dict:
    """The stable ``--json`` shape of a draft (extended with review fields)."""
    data = view.model_dump(mode="json")
    head = {
        k: data.pop(k) for k in ("draft_id", "kind", "version", "status", "missing", "warnings", "errors")
    }
    head["markdown"] = data.pop("markdown")
    return {**head, **data}


def _summary(view: DraftView) -> str:
    lines = [f"draft {view.draft_id} ({view.kind}) version {view.version}: {view.status.value}"]
    if view.errors:
        lines.append(f"errors: {len(view.errors)} (approval blocked)")
    if view.missing:
        lines.append("missing: " + "; ".join(view.missing))
    if view.warnings:
        lines.append(f"warnings: {len(view.warnings)}")
    return "\n".join(lines)


@app.command("draft")
def draft_cmd(
    kind: str = typer.Argument(..., help=f"One of: {', '.join(KINDS)}"),
    case_file: Path | None = typer.Option(None, "--case", help="Case record (.json, .yaml)."),
    text: str | None = typer.Option(None, "--text", help="Pharmacist shorthand, parsed offline."),
    allow_errors: bool = typer.Option(
        False,
        "--allow-errors",
        help="Store the draft even if the case has validation errors (blocks approval).",
    ),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Draft a document for pharmacist review from a case file or free text."""
    get_kind(kind)
    if (case_file is None) == (text is None):
        raise InvalidInput('give exactly one of --case FILE or --text "..."')
    principal = acting_as(as_staff)
    if case_file is not None:
        view = service.create_draft(
            state().store, kind, load_case(case_file), principal=principal, allow_errors=allow_errors
        )
    else:
        view = service.create_draft_from_text(state().store, kind, text or "", principal=principal)
    emit(_contract(view), as_json, _summary(view) + "\n\n" + view.markdown)


@review_app.command("list")
def review_list(
    status: Status | None = typer.Option(None, "--status", help="Only drafts in this state."),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The queue, newest first (task metadata only)."""
    rows = service.list_drafts(state().store, principal=acting_as(as_staff), status=status)
    if as_json:
        emit({"drafts": rows}, True)
        return
    if not rows:
        typer.echo("no drafts")
    for r in rows:
        typer.echo(
            f"{r.draft_id:>5}  {r.kind:<18} v{r.version:<3} {r.status.value:<18} "
            f"missing {r.missing_count:<3} errors {r.error_count:<3} {r.patient_ref or '-'}"
        )


@review_app.command("show")
def review_show(
    draft_id: int = typer.Argument(...), as_staff: str | None = AsOpt, as_json: bool = JsonOpt
) -> None:
    """Show a draft (audited)."""
    view = service.get_draft(state().store, draft_id, principal=acting_as(as_staff))
    emit(_contract(view), as_json, _summary(view) + "\n\n" + view.markdown)


@review_app.command("edit")
def review_edit(
    draft_id: int = typer.Argument(...),
    case_file: Path = typer.Option(..., "--case", help="The corrected case record."),
    allow_errors: bool = typer.Option(False, "--allow-errors"),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Save a new version from a corrected case; the draft returns to review."""
    case = load_case(case_file)
    view = service.edit_draft(
        state().store, draft_id, case, principal=acting_as(as_staff), allow_errors=allow_errors
    )
    emit(_contract(view), as_json, _summary(view))


@review_app.command("case")
def review_case(draft_id: int = typer.Argument(...), as_staff: str | None = AsOpt) -> None:
    """Print the case behind the current version as JSON (to correct it and run `review edit`)."""
    case = service.open_case(state().store, draft_id, principal=acting_as(as_staff))
    typer.echo(json.dumps(case.model_dump(mode="json", exclude_defaults=True), indent=2, ensure_ascii=False))


@review_app.command("approve")
def review_approve(
    draft_id: int = typer.Argument(...),
    override_reason: str | None = typer.Option(
        None, "--override-reason", help="Required when required facts are still missing."
    ),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Approve the current version (pharmacist only)."""
    view = service.approve(
        state().store, draft_id, principal=acting_as(as_staff), override_reason=override_reason
    )
    emit(
        _contract(view),
        as_json,
        _summary(view) + f"\napproved by {view.approved_by}, sha256 {view.content_sha256}",
    )


@review_app.command("request-changes")
def review_request_changes(
    draft_id: int = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="What needs to change."),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Send a draft back (pharmacist only); an edit makes a new version."""
    view = service.request_changes(state().store, draft_id, principal=acting_as(as_staff), reason=reason)
    emit(_contract(view), as_json, _summary(view))


@review_app.command("discard")
def review_discard(
    draft_id: int = typer.Argument(...),
    reason: str | None = typer.Option(None, "--reason"),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Discard a draft (kept for the record, never exported as final)."""
    view = service.discard(state().store, draft_id, principal=acting_as(as_staff), reason=reason)
    emit(_contract(view), as_json, _summary(view))


@review_app.command("export")
def review_export(
    draft_id: int = typer.Argument(...),
    fmt: str = typer.Option("pdf", "--format", help="md, docx or pdf"),
    out: Path = typer.Option(..., "--out", help="File to write (never inside the data directory)."),
    force: bool = ForceOpt,
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Write the current version as Markdown, DOCX or PDF (drafts carry the DRAFT banner)."""
    rendered = service.render_draft(state().store, draft_id, principal=acting_as(as_staff), fmt=fmt)
    write_file(out, rendered.data, force=force)
    result = {**rendered.model_dump(mode="json", exclude={"filename", "mime_type"}), "path": str(out)}
    emit(result, as_json, f"wrote {out} ({rendered.format}, {rendered.bytes} bytes, {rendered.status.value})")


@schema_app.command("case")
def schema_case() -> None:
    """Print the JSON Schema of the case record."""
    typer.echo(json.dumps(case_json_schema(), indent=2))
