"""Block Kit for everything rxdesk posts to Slack, built from the core's data models.

Slack's limits are enforced here: at most 50 blocks per message, section text <= 3000 characters,
header text (plain_text) <= 150 characters; overflow is summarized as "…and N more".
"""

from __future__ import annotations

from typing import Any

from assistant.calendar.models import Digest, Occurrence
from assistant.calendar.phrases import (
    EMPTY_DIGEST,
    MAX_ITEMS_PER_SECTION,
    SOP_CHANGES_TITLE,
    digest_sections,
    is_quiet,
    sop_change,
    when,
)

Block = dict[str, Any]
MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150


def esc(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def header(text: str) -> Block:
    if len(text) > MAX_HEADER_CHARS:
        text = text[: MAX_HEADER_CHARS - 1] + "…"
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def section(text: str) -> Block:
    if len(text) > MAX_SECTION_CHARS:
        text = text[: MAX_SECTION_CHARS - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def chunk_lines(lines: list[str], limit: int = MAX_SECTION_CHARS) -> list[str]:
    """Join lines into texts of at most ``limit`` characters (an over-long line is cut)."""
    chunks: list[str] = []
    cur = ""
    for line in lines:
        line = line if len(line) <= limit else line[: limit - 1] + "…"
        if cur and len(cur) + 1 + len(line) > limit:
            chunks.append(cur)
            cur = line
        else:
            cur = f"{cur}\n{line}" if cur else line
    if cur:
        chunks.append(cur)
    return chunks


def cap_blocks(blocks: list[Block], overflow: str) -> list[Block]:
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    return blocks[: MAX_BLOCKS - 1] + [section(overflow)]


def deadline_line(o: Occurrence) -> str:
    cite = f" · _{esc(o.citation)}_" if o.citation else ""
    return f"• *{esc(o.title)}* — {when(o)} · owner `{esc(o.owner)}`{cite}"


def digest_blocks(d: Digest) -> list[Block]:
    blocks: list[Block] = [
        header(f"Compliance digest: {d.site_name}"),
        context(f"{d.date.isoformat()} · rxdesk"),
    ]
    if is_quiet(d):
        blocks.append(section(EMPTY_DIGEST + " :tada:"))
    for title, items in digest_sections(d):
        lines = [deadline_line(o) for o in items[:MAX_ITEMS_PER_SECTION]]
        if len(items) > MAX_ITEMS_PER_SECTION:
            lines.append(f"…and {len(items) - MAX_ITEMS_PER_SECTION} more (ask me: what's due this week)")
        blocks.append({"type": "divider"})
        blocks.append(header(f"{title} ({len(items)})"))
        blocks.extend(section(c) for c in chunk_lines(lines))
    if d.sop_changes:
        lines = [f"• {esc(sop_change(c))}" for c in d.sop_changes[:MAX_ITEMS_PER_SECTION]]
        if len(d.sop_changes) > MAX_ITEMS_PER_SECTION:
            lines.append(f"…and {len(d.sop_changes) - MAX_ITEMS_PER_SECTION} more in the audit log")
        blocks.append({"type": "divider"})
        blocks.append(header(f"{SOP_CHANGES_TITLE} ({len(d.sop_changes)})"))
        blocks.extend(section(c) for c in chunk_lines(lines))
    return cap_blocks(blocks, "…and more: ask me what's due for the full list")
