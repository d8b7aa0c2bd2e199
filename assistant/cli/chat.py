"""``rxdesk chat`` (terminal) and ``rxdesk serve`` (Slack when configured, else the terminal chat).

The chat always knows who is speaking: ``--as STAFF_ID``, or (at a terminal) it asks; piped input
without ``--as`` runs as the local operator, who gets SOP answers and deadlines but no drafts.
Line history stays in memory for the session only: messages can name patients.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import uuid

import typer

from assistant.agent.replies import ChatContext
from assistant.agent.respond import respond
from assistant.cli.common import AsOpt, acting_as, app, state
from assistant.cli.render import reply_text
from assistant.config import REPO_ROOT
from assistant.errors import RxdeskError
from assistant.logs import configure_logging
from assistant.principal import OPERATOR, Principal
from assistant.staff import get_staff, import_staff, list_staff
from integrations.llm import chat_model

BANNER = "rxdesk chat — SOP answers, deadlines and drafts, offline. Type 'help', or 'quit' to leave."
EXAMPLE_STAFF = REPO_ROOT / "knowledge" / "staff.example.yaml"


def _ask_who() -> Principal:
    """At a terminal without --as: offer the example staff on an empty directory, then ask."""
    store = state().store
    if not list_staff(store) and EXAMPLE_STAFF.is_file():
        load = input("No staff in the directory yet. Load the example staff (jdoe, bsmith ...)? [Y/n] ")
        if load.strip().lower() in ("", "y", "yes"):
            result = import_staff(store, EXAMPLE_STAFF, principal=OPERATOR)
            typer.echo(f"loaded {result.added} example staff members")
    people = ", ".join(f"{m.id} ({m.role.value})" for m in list_staff(store))
    while True:
        hint = f" [{people}]" if people else ""
        staff_id = input(f"Who is speaking? staff id{hint}, or Enter for the local operator: ").strip()
        if not staff_id:
            typer.echo("Continuing as the local operator: SOP answers and deadlines only.")
            return OPERATOR
        try:
            return get_staff(store, staff_id).principal()
        except RxdeskError as exc:
            typer.echo(f"sorry: {exc}")


def _enable_line_editing() -> None:
    with contextlib.suppress(ImportError):  # not on every platform
        import readline  # noqa: F401  (arrow keys and in-memory history for input())


@app.command()
def chat(as_staff: str | None = AsOpt) -> None:
    """Chat in the terminal (reads questions from stdin; one answer per line of input)."""
    st = state()
    configure_logging(st.settings, logging.WARNING)
    interactive = sys.stdin.isatty()
    if interactive:
        _enable_line_editing()
        typer.echo(BANNER)
    try:
        principal = acting_as(as_staff) if as_staff or not interactive else _ask_who()
    except EOFError:
        return
    ctx = ChatContext(
        settings=st.settings,
        store=st.store,
        principal=principal,
        conversation_id=f"terminal:{uuid.uuid4().hex[:12]}",
        site=principal.site,
        model=chat_model(st.settings),
    )
    if interactive and ctx.model is not None:
        typer.echo(f"Using the language model {st.settings.llm_model} (offline answers if it fails).")
    while True:
        try:
            line = input("you> " if interactive else "")
        except EOFError:
            break
        message = line.strip()
        if not message:
            continue
        if message.lower() in {"quit", "exit", "/quit", ":q"}:
            break
        typer.echo(f"rxdesk> {reply_text(respond(message, ctx))}\n")


@app.command()
def serve(as_staff: str | None = AsOpt) -> None:
    """Start the assistant: the Slack app when tokens are configured, the terminal chat otherwise."""
    settings = state().settings
    if settings.slack_bot_token and (settings.slack_app_token or settings.slack_signing_secret):
        typer.echo(
            "Slack tokens are set but this build has no Slack adapter yet; starting the terminal chat."
        )
    else:
        typer.echo("No Slack tokens configured (SLACK_BOT_TOKEN ...): starting the terminal chat.")
    chat(as_staff=as_staff)
