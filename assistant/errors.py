"""Errors that carry a one-line, user-facing message.

Adapters (CLI, Slack) print ``str(error)`` and exit non-zero; nothing here ever holds PHI.
"""


class RxdeskError(Exception):
    """Base class: the message is one line, safe to show to the user."""

    exit_code = 2


class InvalidInput(RxdeskError):
    """The caller gave something we cannot use (bad file, bad field, unknown option)."""


class NotFound(RxdeskError):
    """A referenced record (staff member, draft, occurrence) does not exist."""

    exit_code = 3


class PermissionDenied(RxdeskError):
    """The delegation matrix does not allow this person to do this."""

    exit_code = 4
