"""``rxdesk staff ...`` and ``rxdesk audit``."""

from __future__ import annotations

from pathlib import Path

import typer

from assistant import staff
from assistant.audit_query import read_audit
from assistant.cli.common import AsOpt, JsonOpt, acting_as, app, emit, state

staff_app = typer.Typer(help="The staff directory (roles, Slack ids, credentials).", no_args_is_help=True)
app.add_typer(staff_app, name="staff")


@staff_app.command("import")
def staff_import(
    file: Path = typer.Argument(..., help="YAML file: a list of staff, or {staff: [...]}."),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Add or update staff from a YAML file (idempotent by id; all-or-nothing)."""
    result = staff.import_staff(state().store, file, principal=acting_as(as_staff))
    emit(result, as_json, f"staff: {result.added} added, {result.updated} updated, {result.total} in file")


@staff_app.command("list")
def staff_list(as_staff: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """List staff members."""
    members = staff.staff_directory(state().store, principal=acting_as(as_staff))
    if as_json:
        emit({"staff": members}, True)
        return
    if not members:
        typer.echo("no staff yet (rxdesk staff import FILE.yaml)")
    for m in members:
        creds = ", ".join(f"{c.type} exp {c.expires or '?'}" for c in m.credentials)
        typer.echo(f"{m.id:<12} {m.role.value:<11} {m.name:<24} {m.site or '-':<8} {creds}")


@app.command("audit")
def audit_cmd(
    actor: str | None = typer.Option(None, help="Only this actor."),
    action: str | None = typer.Option(None, help="Only this action (e.g. draft.approve)."),
    limit: int = typer.Option(200, min=1, max=100000),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show the audit log, most recent first (pharmacists and admins: --as STAFF_ID)."""
    rows = read_audit(state().store, principal=acting_as(as_staff), actor=actor, action=action, limit=limit)
    if as_json:
        emit({"entries": rows}, True)
        return
    for e in rows:
        typer.echo(f"{e.at:%Y-%m-%d %H:%M:%S} {e.actor:<16} {e.action:<24} {e.target or '':<20} {e.outcome}")
