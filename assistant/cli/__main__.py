"""``python -m assistant.cli`` — same as the ``rxdesk`` console script."""

from assistant.cli import run

run()
