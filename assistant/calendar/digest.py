"""The daily digest: overdue, due this week, today's reminders and what was completed recently.

Rendered as plain text and as Slack Block Kit (a header block per section; section text in mrkdwn,
<= 3000 characters; header text plain_text <= 150 characters; at most 50 blocks, overflow summarized
as "…and N more"). Computed in the site's time zone. In the digest, a series appears once under
"due this week" (its next date), so a daily log does not fill the message.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from assistant.calendar.models import DUE_SOON_DAYS, Digest, Occurrence
from assistant.calendar.service import (
    RECENT_DAYS,
    CalendarData,
    collect,
    load_calendar,
    recent_completions,
    site_today,
)
from assistant.errors import NotFound
from assistant.store import Store

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_ITEMS_PER_SECTION = 15
EMPTY_STATE = (
    "Nothing overdue and nothing due this week. Nice work keeping the pharmacy inspection-ready! :tada:"
)


def _series_of(o: Occurrence) -> str:
    return o.id.rsplit("@", 1)[0]


def _first_per_series(occs: list[Occurrence]) -> list[Occurrence]:
    seen: set[str] = set()
    out = []
    for o in occs:
        key = _series_of(o)
        if key not in seen:
            seen.add(key)
            out.append(o)
    return out


def build_digest(
    store: Store,
    *,
    site: str | None = None,
    as_of: date | None = None,
    now: datetime | None = None,
    cal: CalendarData | None = None,
) -> Digest:
    cal = cal or load_calendar(store)
    if site is None and len(cal.sites) == 1:
        site = next(iter(cal.sites))
    if site is not None and site not in cal.sites:
        raise NotFound(f"unknown site '{site}' (known: {', '.join(cal.sites) or 'none yet'})")
    today = as_of or site_today(cal.tz(site), now)
    lead = max(
        [DUE_SOON_DAYS]
        + [d for ob, _ in cal.obligations for d in ob.remind_days]
        + [d for days in cal.reminders.values() for d in days]
    )
    occs = collect(cal, site=site, as_of=today, within=min(lead, 3650))
    overdue = [o for o in occs if o.status == "overdue"]
    due_soon = _first_per_series([o for o in occs if o.status == "due_soon"])
    reminders = [o for o in occs if o.status != "overdue" and o.days_left in o.remind_days]
    done = recent_completions(cal, site=site, since=today - timedelta(days=RECENT_DAYS), until=today)
    site_name = cal.sites[site].name if site else "All sites"
    text = render_text(site_name, today, overdue, due_soon, reminders, done)
    blocks = render_blocks(site_name, today, overdue, due_soon, reminders, done)
    return Digest(
        site=site,
        date=today,
        overdue=overdue,
        due_soon=due_soon,
        reminders=reminders,
        completed_recently=done,
        text=text,
        blocks=blocks,
    )


def _when(o: Occurrence) -> str:
    if o.status == "done":
        return f"done {o.completed_on.isoformat() if o.completed_on else ''} by {o.completed_by}"
    if o.days_left < 0:
        n = -o.days_left
        extra = f", {o.missed} earlier missed" if o.missed else ""
        return f"due {o.due.isoformat()} ({n} day{'s' if n != 1 else ''} overdue{extra})"
    if o.days_left == 0:
        return f"due today {o.due.isoformat()}"
    return f"due {o.due.isoformat()} (in {o.days_left} day{'s' if o.days_left != 1 else ''})"


def _line_text(o: Occurrence) -> str:
    cite = f" [{o.citation}]" if o.citation else ""
    return f"- {o.title}: {_when(o)}; owner {o.owner}{cite}"


def _line_mrkdwn(o: Occurrence) -> str:
    cite = f" · _{_esc(o.citation)}_" if o.citation else ""
    return f"• *{_esc(o.title)}* — {_when(o)} · owner `{_esc(o.owner)}`{cite}"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _sections(
    overdue: list[Occurrence], due_soon: list[Occurrence], reminders: list[Occurrence], done: list[Occurrence]
) -> list[tuple[str, list[Occurrence]]]:
    return [
        ("Overdue", overdue),
        ("Due this week", due_soon),
        ("Reminders today", reminders),
        ("Completed in the last 7 days", done),
    ]


def render_text(
    site_name: str,
    day: date,
    overdue: list[Occurrence],
    due_soon: list[Occurrence],
    reminders: list[Occurrence],
    done: list[Occurrence],
) -> str:
    lines = [f"Compliance digest: {site_name}, {day.isoformat()}"]
    if not overdue and not due_soon:
        lines.append(EMPTY_STATE)
    for title, items in _sections(overdue, due_soon, reminders, done):
        if not items:
            continue
        lines.append("")
        lines.append(f"{title} ({len(items)})")
        lines.extend(_line_text(o) for o in items[:MAX_ITEMS_PER_SECTION])
        if len(items) > MAX_ITEMS_PER_SECTION:
            lines.append(f"…and {len(items) - MAX_ITEMS_PER_SECTION} more (rxdesk deadlines)")
    return "\n".join(lines)


def _header(text: str) -> dict:
    if len(text) > MAX_HEADER_CHARS:
        text = text[: MAX_HEADER_CHARS - 1] + "…"
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _chunk(lines: list[str]) -> list[str]:
    """Join lines into texts of at most MAX_SECTION_CHARS (an over-long line is cut)."""
    chunks: list[str] = []
    cur = ""
    for line in lines:
        line = line if len(line) <= MAX_SECTION_CHARS else line[: MAX_SECTION_CHARS - 1] + "…"
        if cur and len(cur) + 1 + len(line) > MAX_SECTION_CHARS:
            chunks.append(cur)
            cur = line
        else:
            cur = f"{cur}\n{line}" if cur else line
    if cur:
        chunks.append(cur)
    return chunks


def render_blocks(
    site_name: str,
    day: date,
    overdue: list[Occurrence],
    due_soon: list[Occurrence],
    reminders: list[Occurrence],
    done: list[Occurrence],
) -> list[dict]:
    blocks: list[dict] = [
        _header(f"Compliance digest: {site_name}"),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"{day.isoformat()} · rxdesk"}]},
    ]
    if not overdue and not due_soon:
        blocks.append(_section(EMPTY_STATE))
    for title, items in _sections(overdue, due_soon, reminders, done):
        if not items:
            continue
        lines = [_line_mrkdwn(o) for o in items[:MAX_ITEMS_PER_SECTION]]
        if len(items) > MAX_ITEMS_PER_SECTION:
            lines.append(f"…and {len(items) - MAX_ITEMS_PER_SECTION} more (`rxdesk deadlines`)")
        blocks.append({"type": "divider"})
        blocks.append(_header(f"{title} ({len(items)})"))
        blocks.extend(_section(c) for c in _chunk(lines))
    if len(blocks) > MAX_BLOCKS:
        blocks = blocks[: MAX_BLOCKS - 1] + [_section("…and more: run `rxdesk deadlines` for the full list")]
    return blocks
