"""``rxdesk calendar ...``, ``rxdesk deadlines ...``, ``rxdesk pa ...`` and ``rxdesk digest``."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer

from assistant.calendar import ask as ask_mod
from assistant.calendar import completions, library, pa_tracking
from assistant.calendar import deadlines as deadlines_mod
from assistant.calendar import digest as digest_mod
from assistant.calendar import ics as ics_mod
from assistant.calendar.models import Occurrence, PARequest
from assistant.cli.common import AsOpt, ForceOpt, JsonOpt, acting_as, app, emit, state, write_file
from assistant.cli.render import deadline_answer_text, digest_text
from assistant.errors import InvalidInput
from integrations.slack.blocks import digest_blocks

calendar_app = typer.Typer(
    help="The compliance calendar: import obligations, list sites.", no_args_is_help=True
)
app.add_typer(calendar_app, name="calendar")
deadlines_app = typer.Typer(
    help="Compliance deadlines: list, complete, ask, export ICS.", invoke_without_command=True
)
app.add_typer(deadlines_app, name="deadlines")
pa_app = typer.Typer(
    help="Prior-authorization tracking (follow-ups, renewals, appeals).", no_args_is_help=True
)
app.add_typer(pa_app, name="pa")


def _date(value: str | None, opt: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{opt} '{value}' is not a date like 2026-11-26") from None


def _datetime(value: str, opt: str) -> datetime:
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{opt} '{value}' is not a date-time like 2026-11-26T14:30 or 2026-11-26T14:30-06:00"
        ) from None


def _occ_line(o: Occurrence) -> str:
    when = (
        f"{-o.days_left}d overdue"
        if o.days_left < 0
        else ("today" if o.days_left == 0 else f"in {o.days_left}d")
    )
    return f"{o.due.isoformat()}  {o.status:<8}  {when:<12} {o.title}  [{o.owner}]  {o.id}"


# ---------------------------------------------------------------- calendar


@calendar_app.command("import")
def calendar_import(
    file: Path = typer.Argument(..., help="Obligations YAML (see knowledge/compliance/obligations.yaml)."),
    since: str | None = typer.Option(
        None,
        help="Tracking starts on this date for new obligations (default today); earlier ones never overdue.",
    ),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Validate the whole file, then add or update its sites and obligations (idempotent by id)."""
    r = library.import_library(
        state().store, file, principal=acting_as(as_staff), since=_date(since, "--since")
    )
    text = (
        f"{r.file}: obligations {r.obligations_added} added, {r.obligations_updated} updated, "
        f"{r.obligations_unchanged} unchanged; sites {r.sites_added} added, {r.sites_updated} updated"
    )
    emit(r, as_json, text)


@calendar_app.command("check")
def calendar_check(
    file: Path = typer.Argument(..., help="Obligations YAML to validate without importing."),
    as_json: bool = JsonOpt,
) -> None:
    """Validate an obligations file without importing it."""
    lib = library.load_library_file(file)
    out = {"file": file.name, "sites": len(lib.sites), "obligations": len(lib.obligations), "ok": True}
    emit(out, as_json, f"{file.name}: ok ({len(lib.obligations)} obligations, {len(lib.sites)} sites)")


@calendar_app.command("sites")
def calendar_sites(as_staff: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """List the calendar's sites."""
    sites = deadlines_mod.list_sites(state().store, principal=acting_as(as_staff))
    if as_json:
        emit({"sites": sites}, True)
        return
    if not sites:
        typer.echo("no sites yet: rxdesk calendar import knowledge/compliance/obligations.yaml")
    for s in sites:
        typer.echo(f"{s.id:<10} {s.timezone:<20} {s.slack_channel or '-':<12} {s.name}")


# ---------------------------------------------------------------- deadlines


@deadlines_app.callback()
def deadlines(
    ctx: typer.Context,
    site: str | None = typer.Option(None, "--site", help="Only this site."),
    owner: str | None = typer.Option(
        None, "--owner", help="Only this owner (a role like pic, or a staff id)."
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Compute as of this date (default: today at the site)."
    ),
    within: int | None = typer.Option(
        None, "--within", help="Due within DAYS (overdue always shown; default 365)."
    ),
    expand: bool = typer.Option(
        False, "--all", help="Every date of daily/weekly series (default: the next)."
    ),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """List deadlines: overdue first, then by due date."""
    if ctx.invoked_subcommand is not None:
        return
    result = deadlines_mod.list_deadlines(
        state().store,
        principal=acting_as(as_staff),
        site=site,
        owner=owner,
        as_of=_date(as_of, "--as-of"),
        within=within,
        expand=expand,
    )
    for problem in result.unusable:
        typer.echo(f"warning: not listed, unusable schedule: {problem} (fix it and re-import)", err=True)
    if as_json:
        keep = {
            "id",
            "obligation_id",
            "title",
            "site",
            "owner",
            "due",
            "status",
            "days_left",
            "citation",
            "evidence",
            "remind_days",
            "kind",
            "missed",
            "due_at",
        }
        out = {
            "as_of": result.as_of.isoformat(),
            "occurrences": [o.model_dump(mode="json", include=keep) for o in result.occurrences],
        }
        if result.note:
            out["note"] = result.note
        if result.unusable:
            out["unusable"] = result.unusable
        emit(out, True)
        return
    note = (
        "no obligations yet: rxdesk calendar import knowledge/compliance/obligations.yaml"
        if result.note
        else None
    )
    if note and not result.occurrences:
        typer.echo(note)
        return
    if note:
        typer.echo(note)
    if not result.occurrences:
        typer.echo(f"nothing due as of {result.as_of.isoformat()} in that window")
    for o in result.occurrences:
        typer.echo(_occ_line(o))


@deadlines_app.command("complete")
def deadlines_complete(
    occurrence_id: str = typer.Argument(
        ..., metavar="ID", help="Occurrence id, e.g. dea-registration@main@2027-05-31"
    ),
    on: str = typer.Option(..., "--on", help="The date it was done (before or after the due date)."),
    evidence: str | None = typer.Option(None, "--evidence", help="What proves it was done."),
    evidence_file: Path | None = typer.Option(
        None, "--evidence-file", help="A file to keep (copied, hashed)."
    ),
    new_expiry: str | None = typer.Option(None, "--new-expiry", help="Credentials: the renewed expiry date."),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Record a completion with evidence (audited)."""
    c = completions.complete(
        state().store,
        occurrence_id,
        principal=acting_as(as_staff),
        on=_date(on, "--on"),  # type: ignore[arg-type]
        evidence=evidence,
        evidence_file=evidence_file,
        new_expiry=_date(new_expiry, "--new-expiry"),
    )
    text = f"completed {c.occurrence_id} on {c.completed_on.isoformat()}"
    if c.evidence_sha256:
        text += f" (evidence sha256 {c.evidence_sha256[:12]}…)"
    if c.next_due:
        text += f"; next due {c.next_due.isoformat()}"
    if c.new_expiry:
        text += f"; new expiry {c.new_expiry.isoformat()}"
    emit(c, as_json, text)


@deadlines_app.command("ask")
def deadlines_ask(
    question: str = typer.Argument(..., help='e.g. "when is our DEA registration due?"'),
    site: str | None = typer.Option(None, "--site"),
    as_of: str | None = typer.Option(None, "--as-of"),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Answer a deadline question in plain language (no LLM)."""
    a = ask_mod.ask(
        state().store, question, principal=acting_as(as_staff), site=site, as_of=_date(as_of, "--as-of")
    )
    text = deadline_answer_text(a)
    if as_json:
        emit(
            {"question": a.question, "answer": text, **a.model_dump(mode="json", exclude={"question"})}, True
        )
    else:
        emit(a, False, text)


@deadlines_app.command("ics")
def deadlines_ics(
    site: str = typer.Option(..., "--site"),
    out: Path = typer.Option(..., "--out", help="The .ics file to write."),
    days: int = typer.Option(ics_mod.DEFAULT_ICS_DAYS, "--days", help="Horizon in days (default 3 years)."),
    as_of: str | None = typer.Option(None, "--as-of"),
    force: bool = ForceOpt,
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Write an RFC 5545 calendar (Outlook, Google Calendar) of the site's deadlines."""
    ics = ics_mod.export_ics(
        state().store, principal=acting_as(as_staff), site=site, as_of=_date(as_of, "--as-of"), days=days
    )
    write_file(out, ics.data, force=force)
    emit({"file": str(out), "events": ics.events}, as_json, f"wrote {ics.events} events to {out}")


# ---------------------------------------------------------------- digest


@app.command("digest")
def digest_cmd(
    site: str | None = typer.Option(None, "--site"),
    as_of: str | None = typer.Option(None, "--as-of"),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The daily digest: overdue, due this week, today's reminders, completed recently."""
    d = digest_mod.build_digest(
        state().store, principal=acting_as(as_staff), site=site, as_of=_date(as_of, "--as-of")
    )
    text = digest_text(d)
    if as_json:
        emit(
            {**d.model_dump(mode="json", exclude={"site_name"}), "text": text, "blocks": digest_blocks(d)},
            True,
        )
    else:
        emit(d, False, text)


# ---------------------------------------------------------------- PA tracking


def _pa_text(pa: PARequest) -> str:
    lines = [
        f"{pa.id} ({pa.drug}, {pa.urgency}, {pa.program}) status {pa.status}, patient ref {pa.patient_ref}"
    ]
    lines += [f"  {_occ_line(o)}" for o in pa.deadlines]
    return "\n".join(lines)


@pa_app.command("track")
def pa_track(
    patient_ref: str = typer.Option(
        ..., "--patient-ref", help="A reference token, never the patient's name."
    ),
    drug: str = typer.Option(..., "--drug"),
    submitted: str = typer.Option(
        ..., "--submitted", help="When it was submitted (site time unless an offset)."
    ),
    urgency: str = typer.Option("standard", "--urgency", help="standard (72 h) or expedited (24 h)."),
    site: str | None = typer.Option(None, "--site"),
    program: str = typer.Option("part_d", "--program", help="part_d, medicaid, commercial or other."),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Track a submitted PA: generates the follow-up check deadline."""
    pa = pa_tracking.track(
        state().store,
        principal=acting_as(as_staff),
        patient_ref=patient_ref,
        drug=drug,
        submitted=_datetime(submitted, "--submitted"),
        urgency=urgency.strip().lower(),
        site=site,
        program=program.strip().lower(),
        owner=as_staff,
    )
    emit(pa, as_json, _pa_text(pa))


@pa_app.command("update")
def pa_update(
    ref: str = typer.Argument(..., help="PA id (PA-0001) or a patient reference with one PA."),
    status: str = typer.Option(..., "--status", help="approved or denied"),
    until: str | None = typer.Option(None, "--until", help="Approved: the date the approval ends."),
    notice_date: str | None = typer.Option(
        None, "--notice-date", help="Denied: the date on the denial notice."
    ),
    as_staff: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Record the payer's decision: renewal reminder or redetermination deadline follows."""
    pa = pa_tracking.update_status(
        state().store,
        ref,
        principal=acting_as(as_staff),
        status=status.strip().lower(),
        until=_date(until, "--until"),
        notice_date=_date(notice_date, "--notice-date"),
    )
    emit(pa, as_json, _pa_text(pa))


@pa_app.command("list")
def pa_list(as_staff: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Tracked PAs and their deadlines."""
    pas = pa_tracking.list_pas(state().store, principal=acting_as(as_staff))
    if as_json:
        emit({"pas": pas}, True)
        return
    if not pas:
        typer.echo("no PAs tracked yet (rxdesk pa track --patient-ref REF --drug D --submitted DATETIME)")
    for pa in pas:
        typer.echo(_pa_text(pa))
