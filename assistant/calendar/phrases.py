"""Plain-language phrases about deadlines, shared by every adapter (no markup, no commands).

The terminal and Slack lay a digest out differently, but "due 2027-05-31 (in 3 days)" should read
the same everywhere, so the words live here and the layout lives in each adapter.
"""

from __future__ import annotations

from assistant.calendar.models import Digest, Occurrence
from assistant.sops.models import SopChange

SOP_CHANGES_TITLE = "SOP changes since the last digest"

EMPTY_DIGEST = "Nothing overdue and nothing due this week. Nice work keeping the pharmacy inspection-ready!"
MAX_ITEMS_PER_SECTION = 15
MAX_LISTED = 12
ASK_EXAMPLES = (
    '"when is our DEA registration due?", "what\'s due this month", "what\'s overdue at main", '
    '"when does Jane\'s license expire"'
)


def days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def when(o: Occurrence) -> str:
    """ "due 2027-05-31 (in 3 days)", "due today 2027-05-31", "done 2027-05-01 by jdoe"."""
    if o.status == "done":
        return f"done {o.completed_on.isoformat() if o.completed_on else ''} by {o.completed_by}"
    if o.days_left < 0:
        extra = f", {o.missed} earlier missed" if o.missed else ""
        return f"due {o.due.isoformat()} ({days(-o.days_left)} overdue{extra})"
    if o.days_left == 0:
        return f"due today {o.due.isoformat()}"
    return f"due {o.due.isoformat()} (in {days(o.days_left)})"


def digest_sections(d: Digest) -> list[tuple[str, list[Occurrence]]]:
    """The digest's sections in reading order, empty ones dropped."""
    sections = [
        ("Overdue", d.overdue),
        ("Due this week", d.due_soon),
        ("Reminders today", d.reminders),
        ("Completed in the last 7 days", d.completed_recently),
    ]
    return [(title, items) for title, items in sections if items]


def is_quiet(d: Digest) -> bool:
    return not d.overdue and not d.due_soon


def sop_change(c: SopChange) -> str:
    """ "VAC-001 Vaccine storage: changed (v1.2, effective 2026-01-15) by jdoe 2026-11-28 08:10 UTC,
    waiting for approval; sha256 1a2b3c4d5e6f" """
    facts = ", ".join(
        part
        for part in (f"v{c.version}" if c.version else "", f"effective {c.effective}" if c.effective else "")
        if part
    )
    moved = f" from {c.previous_source}" if c.previous_source else ""
    who = f" by {c.by}" if c.by else ""
    at = f" {c.at:%Y-%m-%d %H:%M} UTC" if c.at else ""
    state = ", waiting for approval (not used for answers)" if c.pending else ""
    return (
        f"{c.sop_id} {c.title}: {c.change}{moved}{' (' + facts + ')' if facts else ''}{who}{at}{state}; "
        f"{c.source}, sha256 {c.sha256[:12]}"
    )
