"""The ``rxdesk`` command line: thin adapters over the services.

Each sub-command group lives in its own module; this module wires them together and turns
:class:`RxdeskError` into a one-line message on stderr with a non-zero exit code.
"""

from __future__ import annotations

import sys

import click
import typer

from assistant.cli.common import app
from assistant.errors import RxdeskError


def _register() -> None:
    # Imported for their side effect of adding commands to ``app``.
    import assistant.cli.admin  # noqa: F401
    import assistant.cli.sops  # noqa: F401

    for optional in ("assistant.cli.drafts", "assistant.cli.calendar", "assistant.cli.chat"):
        try:
            __import__(optional)
        except ModuleNotFoundError as exc:
            if exc.name != optional:
                raise


def main(argv: list[str] | None = None) -> int:
    _register()
    try:
        result = app(args=argv, prog_name="rxdesk", standalone_mode=False)
    except RxdeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except click.exceptions.Abort:
        print("aborted", file=sys.stderr)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return result if isinstance(result, int) else 0


def run() -> None:  # pragma: no cover - console entry point
    sys.exit(main())


__all__ = ["app", "main", "run", "typer"]
