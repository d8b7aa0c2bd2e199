"""``rxdesk slack``: the Slack app, in Socket Mode (default) or over HTTP (``--http --port N``)."""

from __future__ import annotations

import logging
import re

import typer

from assistant.cli.common import app, state
from assistant.config import Settings
from assistant.errors import InvalidInput


def slack_ready(settings: Settings) -> bool:
    """True when the tokens for some mode of the Slack app are set."""
    return bool(settings.slack_bot_token and (settings.slack_app_token or settings.slack_signing_secret))


def run_slack(*, http: bool = False, host: str = "0.0.0.0", port: int = 3000) -> None:
    settings = state().settings
    if not settings.slack_bot_token:
        raise InvalidInput("the Slack app needs its bot token: set SLACK_BOT_TOKEN (xoxb-...)")
    if http and not settings.slack_signing_secret:
        raise InvalidInput("HTTP mode needs the app's signing secret: set SLACK_SIGNING_SECRET")
    if not http and not settings.slack_app_token:
        raise InvalidInput(
            "Socket Mode needs an app-level token: set SLACK_APP_TOKEN (xapp-...), or use --http with SLACK_SIGNING_SECRET"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from integrations.slack.server import serve_http, serve_socket_mode

    slack = _connect(settings)
    slack.warm_up()
    if http:
        typer.echo(f"rxdesk Slack app over HTTP on port {port} (POST /slack/events)")
        serve_http(slack, host, port)
    else:
        from slack_sdk.errors import SlackApiError

        typer.echo("rxdesk Slack app in Socket Mode")
        try:
            serve_socket_mode(slack, settings.slack_app_token or "")
        except SlackApiError as exc:
            raise InvalidInput(
                f"Slack did not open a Socket Mode connection with SLACK_APP_TOKEN: {exc.response.get('error')}"
            ) from None


def _connect(settings: Settings):  # type: ignore[no-untyped-def]
    """The app, or a one-line error when Slack cannot be reached or refuses the token."""
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackApiError

    from integrations.slack.app import create_app

    try:
        return create_app(settings, state().store)
    except (BoltError, SlackApiError) as exc:
        error = getattr(getattr(exc, "response", None), "get", lambda *_: None)("error")
        found = re.search(r"'error': '([^']+)'", str(exc))
        reason = error or (found.group(1) if found else str(exc).splitlines()[0])
        raise InvalidInput(f"Slack did not accept the bot token (SLACK_BOT_TOKEN): {reason}") from None
    except OSError as exc:
        where = settings.slack_api_url or "https://slack.com/api/"
        reason = getattr(exc, "reason", exc)
        raise InvalidInput(
            f"cannot reach Slack's Web API at {where}: {getattr(reason, 'strerror', None) or reason}"
        ) from None


@app.command()
def slack(
    http: bool = typer.Option(
        False, "--http", help="Receive Slack's requests over HTTP instead of Socket Mode."
    ),
    port: int = typer.Option(3000, "--port", help="HTTP mode: the port to listen on."),
    host: str = typer.Option("0.0.0.0", "--host", help="HTTP mode: the address to listen on."),
) -> None:
    """Run the Slack app (Socket Mode with SLACK_APP_TOKEN; --http with SLACK_SIGNING_SECRET)."""
    run_slack(http=http, host=host, port=port)
