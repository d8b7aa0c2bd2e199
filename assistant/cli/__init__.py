"""The ``rxdesk`` command line: thin adapters over the services.

Each sub-command group lives in its own module; this module wires them together and turns
:class:`RxdeskError` into a one-line message on stderr with a non-zero exit code.
"""

from __future__ import annotations

import os
import sys

import click
import typer
from typer._click.exceptions import ClickException as TyperClickException
from typer._click.exceptions import NoArgsIsHelpError

from assistant.cli.common import app
from assistant.cli.errors import cli_message
from assistant.errors import RxdeskError


def _register() -> None:
    # Imported for their side effect of adding commands to ``app``.
    import assistant.cli.admin  # noqa: F401
    import assistant.cli.calendar  # noqa: F401
    import assistant.cli.chat  # noqa: F401
    import assistant.cli.drafts  # noqa: F401
    import assistant.cli.slack  # noqa: F401
    import assistant.cli.sops  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    _register()
    try:
        result = app(args=argv, prog_name="rxdesk", standalone_mode=False)
    except RxdeskError as exc:
        print(f"error: {cli_message(exc)}", file=sys.stderr)
        return exc.exit_code
    except (click.exceptions.Abort, typer.Abort, KeyboardInterrupt):
        print("aborted", file=sys.stderr)
        return 130
    except (NoArgsIsHelpError, click.exceptions.NoArgsIsHelpError) as exc:
        exc.show()  # a bare group prints its help
        return 0
    except (click.ClickException, TyperClickException) as exc:
        # usage errors from typer's own click and from click: one line, no traceback
        print(f"error: {one_line(exc.format_message())} (see: rxdesk --help)", file=sys.stderr)
        return exc.exit_code
    except (click.exceptions.Exit, typer.Exit) as exc:
        return exc.exit_code
    except OSError as exc:
        # the file system said no (name too long, permission, disk full ...): say what and where
        where = f": {str(exc.filename)[:120]}" if exc.filename else ""
        print(f"error: {exc.strerror or type(exc).__name__}{where}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug, not bad input: still one line, the traceback on request
        if os.environ.get("RXDESK_DEBUG"):
            raise
        detail = one_line(str(exc))[:200]
        print(
            f"error: unexpected {type(exc).__name__}: {detail} (a bug: please report it; "
            "RXDESK_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 70
    return result if isinstance(result, int) else 0


def one_line(text: str) -> str:
    return " ".join(text.split())


def run() -> None:  # pragma: no cover - console entry point
    sys.exit(main())


__all__ = ["app", "main", "run", "typer"]
