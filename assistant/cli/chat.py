"""``rxdesk chat`` (terminal) and ``rxdesk serve`` (Slack when configured, else the terminal chat)."""

from __future__ import annotations

import sys

import typer

from assistant.agent.router import HELP_TEXT, handle
from assistant.cli.common import AsOpt, acting_as, app, state
from assistant.errors import RxdeskError
from assistant.roles import parse_role

BANNER = "rxdesk chat — SOP answers, deadlines and drafts, offline. Type 'help', or 'quit' to leave."


@app.command()
def chat(
    as_staff: str | None = AsOpt,
    role: str | None = typer.Option(
        None, "--role", help="technician | pharmacist | admin (default: --as's role)"
    ),
) -> None:
    """Chat in the terminal (reads questions from stdin; one answer per line of input)."""
    st = state()
    actor = acting_as(as_staff)
    chosen = parse_role(role) if role else (actor.role if actor else parse_role("technician"))
    interactive = sys.stdin.isatty()
    if interactive:
        typer.echo(BANNER)
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
        try:
            reply = handle(st.settings, st.store, message, actor=actor, role=chosen)
            typer.echo(f"rxdesk> {reply.text}\n")
        except RxdeskError as exc:  # bad input never ends the session
            typer.echo(f"rxdesk> sorry: {exc}\n")


@app.command()
def serve() -> None:
    """Start the assistant: the Slack app when tokens are configured, the terminal chat otherwise."""
    settings = state().settings
    if settings.slack_bot_token and (settings.slack_app_token or settings.slack_signing_secret):
        try:
            from integrations.slack.app import run_slack  # type: ignore[attr-defined]
        except ImportError:
            typer.echo(
                "Slack tokens are set but this build has no Slack adapter yet; starting the terminal chat."
            )
        else:
            run_slack(settings)
            return
    else:
        typer.echo("No Slack tokens configured (RXDESK_SLACK_BOT_TOKEN ...): starting the terminal chat.")
    typer.echo(HELP_TEXT)
    chat(as_staff=None, role=None)
