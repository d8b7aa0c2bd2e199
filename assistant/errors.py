"""Errors that carry a one-line, user-facing message, a machine-readable code and the field concerned.

Services word messages in the user's terms ("the draft has 2 missing facts"), never in terms of one
front end ("--override-reason"): each adapter maps ``code`` and ``field`` to its own surface (a flag
on the CLI, a field or a button in Slack). Nothing here ever holds PHI.
"""

from __future__ import annotations


class RxdeskError(Exception):
    """Base class: the message is one line, safe to show to the user."""

    exit_code = 2
    default_code = "error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field


class InvalidInput(RxdeskError):
    """The caller gave something we cannot use (bad file, bad field, unknown option)."""

    default_code = "invalid_input"


class NotFound(RxdeskError):
    """A referenced record (staff member, draft, occurrence) does not exist."""

    exit_code = 3
    default_code = "not_found"


class PermissionDenied(RxdeskError):
    """The delegation matrix does not allow this person to do this."""

    exit_code = 4
    default_code = "permission_denied"


class Conflict(RxdeskError):
    """Someone else changed the record first (a concurrent approval, discard, ingest)."""

    exit_code = 5
    default_code = "conflict"
