"""``rxdesk staff ...`` and ``rxdesk audit``."""

from __future__ import annotations

from pathlib import Path

import typer

from assistant import staff
from assistant.audit_query import read_audit, verify_records
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


audit_app = typer.Typer(
    help="The audit log (pharmacists and admins) and its tamper check.", invoke_without_command=True
)
app.add_typer(audit_app, name="audit")


@audit_app.callback()
def audit_cmd(
    ctx: typer.Context,
    actor: str | None = typer.Option(None, help="Only this actor."),
    action: str | None = typer.Option(None, help="Only this action (e.g. draft.approve)."),
    limit: int = typer.Option(200, min=1, max=100000),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show the audit log, most recent first (pharmacists and admins: --as STAFF_ID)."""
    if ctx.invoked_subcommand is not None:
        return
    rows = read_audit(state().store, principal=acting_as(as_staff), actor=actor, action=action, limit=limit)
    if as_json:
        emit({"entries": rows}, True)
        return
    for e in rows:
        typer.echo(f"{e.at:%Y-%m-%d %H:%M:%S} {e.actor:<16} {e.action:<24} {e.target or '':<20} {e.outcome}")


@audit_app.command("verify")
def audit_verify(as_staff: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Check the tamper-evident chain of audit entries, draft versions and approvals.

    Exit code 0 when every record verifies, 6 at the first broken link (which it names)."""
    report = verify_records(state().store, principal=acting_as(as_staff))
    counts = ", ".join(f"{n} {t.replace('_', ' ')}" for t, n in report.by_table.items())
    if report.ok:
        emit(report, as_json, f"intact: {report.records} sealed records ({counts})")
        return
    b = report.first_break
    assert b is not None
    where = " ".join(
        part
        for part in (
            f"position {b.seq}" if b.seq is not None else "",
            f"({b.table} row {b.row_id}" + (f", {b.at:%Y-%m-%d %H:%M:%S} UTC)" if b.at else ")")
            if b.table
            else "",
        )
        if part
    )
    tail = (
        f"{report.records} records verified before it"
        if b.seq is not None
        else f"the {report.records} sealed records verify"
    )
    emit(report, as_json, f"BROKEN at {where or 'the head'}: {b.problem}; {tail}")
    raise typer.Exit(6)
