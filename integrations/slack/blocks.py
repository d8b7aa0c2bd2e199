"""Block Kit for everything rxdesk posts to Slack, built from the core's data models.

Slack's limits are enforced here: at most 50 blocks per message, section text <= 3000 characters,
header text (plain_text) <= 150 characters, button values <= 2000 characters. A digest's overflow is
summarized as "…and N more"; a long answer is split into several messages (:func:`split_messages`),
never cut. Modals live in ``modals.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from assistant.agent.phrases import CLINICAL, NOT_COVERED, TECH_FOOTER, TENTATIVE
from assistant.agent.replies import (
    ConfirmReply,
    DeadlinesReply,
    DraftReply,
    ErrorReply,
    HandoffReply,
    HelpReply,
    RecordedReply,
    Reply,
    SopReply,
)
from assistant.calendar.ask import DeadlineAnswer
from assistant.calendar.models import Digest, Occurrence
from assistant.calendar.phrases import (
    ASK_EXAMPLES,
    EMPTY_DIGEST,
    MAX_ITEMS_PER_SECTION,
    MAX_LISTED,
    SOP_CHANGES_TITLE,
    digest_sections,
    is_quiet,
    sop_change,
    when,
)
from assistant.drafting.kinds import get_kind
from assistant.review.service import DraftView, Status
from assistant.sops.models import Answer, Passage
from integrations.slack import actions as ids

Block = dict[str, Any]
MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_CONTEXT_CHARS = 2000
MAX_VALUE_CHARS = 2000
MAX_FALLBACK_CHARS = 300
MAX_PREVIEW_CHARS = 1500


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
    if len(text) > MAX_CONTEXT_CHARS:
        text = text[: MAX_CONTEXT_CHARS - 1] + "…"
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def sections(lines: list[str]) -> list[Block]:
    """Lines as as many sections as Slack's 3,000-character limit needs (nothing is dropped)."""
    return [section(c) for c in chunk_lines(lines)]


def button(
    text: str, action_id: str, value: str, *, style: str | None = None, confirm: Block | None = None
) -> Block:
    if len(value) > MAX_VALUE_CHARS:
        raise ValueError(f"button value of {len(value)} characters (Slack allows {MAX_VALUE_CHARS})")
    b: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        b["style"] = style
    if confirm:
        b["confirm"] = confirm
    return b


def actions_block(elements: list[Block], block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": elements}
    if block_id:
        block["block_id"] = block_id
    return block


def split_messages(blocks: list[Block], limit: int = MAX_BLOCKS) -> list[list[Block]]:
    """Blocks as one or more messages of at most ``limit`` blocks each (a long answer goes on in the
    thread instead of being cut)."""
    return [blocks[i : i + limit] for i in range(0, len(blocks), limit)] or [[]]


def short(text: str, limit: int = MAX_FALLBACK_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_time(at: datetime) -> str:
    """A time each reader sees in their own time zone (UTC as the fallback text)."""
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{at:%Y-%m-%d %H:%M} UTC>"


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


# ---- SOP answers ---------------------------------------------------------------------------------


def cite(p: Passage) -> str:
    """The citation people see: SOP id, title and section."""
    return f"{p.sop_id} {p.title} › {p.section}"


def citation_ids(a: Answer) -> list[str]:
    """Compact citations for stored feedback: "VAC-001 › Temperature excursion"."""
    return [f"{p.sop_id} › {p.section}" for p in a.passages]


def answer_blocks(a: Answer, *, sources_only: bool = False, text: str | None = None) -> list[Block]:
    """An SOP answer: quoted lines tagged [n] (or ``text``, the agent's wording that passed the
    grounding guard), then the sources (SOP id + section, file, version).

    ``sources_only``: the answer's words were already streamed; only the citations follow."""
    if a.outcome == "clinical_handoff":
        return [section(CLINICAL)]
    if a.outcome == "not_covered":
        hint = ""
        if a.closest:
            hint = f"\n_Closest SOP: {esc(a.closest.sop_id)} {esc(a.closest.title)}; it does not seem to answer this._"
        return [section(f":grey_question: {NOT_COVERED}{hint}")]
    blocks: list[Block] = []
    if not sources_only and text and a.outcome == "answered":
        blocks.extend(sections([esc(line) for line in text.splitlines() if line.strip()]))
    elif not sources_only:
        if a.outcome == "tentative":
            blocks.append(section(f":warning: {TENTATIVE}"))
        for p in a.passages:
            lines = [f"*{esc(cite(p))}* [{p.n}]"] + [f"• {esc(line)} [{p.n}]" for line in p.lines]
            blocks.extend(sections(lines))
        if a.see_also:
            blocks.append(
                context("See also: " + "; ".join(f"{esc(r.sop_id)} {esc(r.title)}" for r in a.see_also))
            )
    sources = [
        f"[{p.n}] *{esc(p.sop_id)}* {esc(p.title)} › {esc(p.section)} "
        f"_({esc(p.source)}{', v' + esc(p.version) if p.version else ''})_"
        for p in a.passages
    ]
    if sources:
        blocks.extend(sections(["*Sources*", *sources]))
    if a.role == "technician":
        blocks.append(context(TECH_FOOTER))
    return blocks


def answer_fallback(a: Answer) -> str:
    if a.outcome == "clinical_handoff":
        return CLINICAL
    if a.outcome == "not_covered":
        return NOT_COVERED
    first = a.passages[0] if a.passages else None
    return short(f"From {cite(first)}: " + " ".join(first.lines)) if first else NOT_COVERED


# ---- deadlines -----------------------------------------------------------------------------------


def _listing(head: str, occs: list[Occurrence], empty: str) -> list[Block]:
    if not occs:
        return [section(empty)]
    lines = [f"*{esc(head)}* ({len(occs)})"] + [deadline_line(o) for o in occs[:MAX_LISTED]]
    if len(occs) > MAX_LISTED:
        lines.append(f"…and {len(occs) - MAX_LISTED} more (try a shorter period, or /deadlines overdue)")
    return sections(lines)


def deadline_answer_blocks(a: DeadlineAnswer) -> list[Block]:
    where = f" at {a.site}" if a.site else ""
    occs = a.occurrences
    if a.kind == "no_calendar":
        return [section("I have no deadlines yet: the compliance calendar has not been loaded.")]
    if a.kind == "person":
        return _listing(
            f"Deadlines for {a.subject}",
            occs,
            f"I couldn't find a credential deadline for {esc(a.subject or '')}.",
        )
    if a.kind == "overdue":
        return _listing(
            f"Overdue{where} as of {a.as_of.isoformat()}", occs, f"Nothing is overdue{where}. :tada:"
        )
    if a.kind == "window":
        span = f"{a.window_start.isoformat() if a.window_start else ''} to {a.window_end.isoformat() if a.window_end else ''}"
        return _listing(
            f"Due {a.subject}{where} ({span})", occs, f"Nothing is due {esc(a.subject or '')}{where}."
        )
    if a.kind == "match":
        return _listing("Matching deadlines", occs, "No deadline matches that.")
    return [
        section(
            f"I couldn't find a deadline matching '{esc(a.subject or '')}'{where}. Try {esc(ASK_EXAMPLES)}."
        )
    ]


# ---- drafts --------------------------------------------------------------------------------------

_MD_HEADING = re.compile(r"^#{1,6}\s+(.*)$")
_MD_BOLD = re.compile(r"\*\*(.+?)\*\*")
_MD_EMPTY_FIELD = re.compile(r"^\*\*[^*]+:\*\*\s*$")  # "**Sex:**" with nothing after it
_MD_TABLE_RULE = re.compile(r"^\|?[\s:|-]+\|?$")
_MD_RULE = re.compile(r"^\s*(-{3,}|\*{3,})\s*$")


def md_to_mrkdwn(markdown: str) -> str:
    """The Markdown our documents use (headings, bold, tables, rules) as Slack mrkdwn; empty form
    fields are left out (the PDF keeps them as blanks to fill in)."""
    out: list[str] = []
    for raw in markdown.splitlines():
        line = raw.rstrip()
        if (
            _MD_EMPTY_FIELD.match(line)
            or _MD_RULE.match(line)
            or (line.startswith("|") and _MD_TABLE_RULE.match(line))
        ):
            continue
        if line.startswith("|") and line.endswith("|"):
            line = " · ".join(cell.strip() for cell in line.strip("|").split("|"))
        line = esc(line)
        heading = _MD_HEADING.match(line)
        if heading:
            line = f"*{heading.group(1)}*"
        line = _MD_BOLD.sub(r"*\1*", line)
        if not line and out and not out[-1]:
            continue  # one blank line is enough
        out.append(line)
    return "\n".join(out).strip()


def _document_preview(view: DraftView) -> str:
    """The start of the document itself (the review notes are shown as lists of their own)."""
    lines = view.markdown.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("# ")), 0)
    text = md_to_mrkdwn("\n".join(lines[start:]).strip())
    if len(text) > MAX_PREVIEW_CHARS:
        cut = text.rfind("\n", 0, MAX_PREVIEW_CHARS)
        text = (
            text[: cut if cut > 0 else MAX_PREVIEW_CHARS]
            + "\n… _(download the PDF or DOCX for the whole document)_"
        )
    return text


_DECISIONS = {
    "approve": ":white_check_mark: Approved by {who} at {at}",
    "request_changes": ":pencil2: Changes requested by {who} at {at}",
    "discard": ":wastebasket: Discarded by {who} at {at}",
    "edit": ":memo: Edited by {who} at {at}",
}


def status_line(view: DraftView, who: Callable[[str], str] = str) -> str | None:
    """ "Approved by Jane Doe at …" from the draft's last review event, if any."""
    if not view.history:
        return None
    event = view.history[-1]
    template = _DECISIONS.get(event.action)
    if template is None:
        return None
    line = template.format(who=esc(who(event.actor)), at=slack_time(event.at))
    line += f" (version {event.version})"
    if event.reason:
        line += f": {esc(event.reason)}"
    return line


def draft_title(view: DraftView) -> str:
    return f"Draft #{view.draft_id}: {get_kind(view.kind).TITLE}"


def draft_buttons(view: DraftView) -> list[Block]:
    """What can still be done with the draft: a decided draft keeps only its downloads."""
    value = f"{view.draft_id}:{view.kind}:{view.version}"  # the version the card shows
    download = [
        button("Download PDF", ids.DOWNLOAD_PDF, value),
        button("Download DOCX", ids.DOWNLOAD_DOCX, value),
    ]
    if view.status is Status.DRAFT:
        confirm = {
            "title": {"type": "plain_text", "text": "Approve this draft?"},
            "text": {
                "type": "mrkdwn",
                "text": f"You approve version {view.version} of draft #{view.draft_id} as the pharmacist of record.",
            },
            "confirm": {"type": "plain_text", "text": "Approve"},
            "deny": {"type": "plain_text", "text": "Cancel"},
        }
        return [
            button("Approve", ids.APPROVE, value, style="primary", confirm=confirm),
            button("Request changes", ids.REQUEST_CHANGES, value),
            button("Edit", ids.EDIT, value),
            *download,
        ]
    if view.status is Status.CHANGES_REQUESTED:
        return [button("Edit", ids.EDIT, value), *download]
    if view.status is Status.APPROVED:
        return download
    return []


def draft_blocks(view: DraftView, who: Callable[[str], str] = str) -> list[Block]:
    """A draft as a card: summary, missing facts, errors, warnings, then its buttons or status."""
    patient = f" · patient `{view.patient_ref}`" if view.patient_ref else ""
    blocks: list[Block] = [
        header(draft_title(view)),
        context(
            f"`{view.kind}` · version {view.version} · *{view.status.value.replace('_', ' ')}* · "
            f"started by {esc(who(view.created_by))}{patient}"
        ),
        section(_document_preview(view)),
    ]
    if view.errors:
        blocks.extend(
            sections(
                [f":x: *Errors: fix before approval ({len(view.errors)})*"]
                + [f"• {esc(e)}" for e in view.errors]
            )
        )
    if view.missing:
        blocks.extend(
            sections(
                [f":grey_question: *Missing facts ({len(view.missing)})*"]
                + [f"• {esc(m)}" for m in view.missing]
            )
        )
    if view.warnings:
        blocks.extend(
            sections(
                [f":warning: *Warnings ({len(view.warnings)})*"] + [f"• {esc(w)}" for w in view.warnings]
            )
        )
    if view.status is Status.DRAFT and not view.history:
        blocks.append(context("A draft until a pharmacist approves it. Edit fills in missing facts."))
    line = status_line(view, who)
    if line:
        blocks.append(context(line))
    buttons = draft_buttons(view)
    if buttons:
        blocks.append(actions_block(buttons, block_id=f"draft:{view.draft_id}"))
    return cap_blocks(blocks, "…more findings: download the draft for the full list")


def draft_fallback(view: DraftView) -> str:
    return short(f"{draft_title(view)} ({view.status.value}, {len(view.missing)} missing fact(s))")


# ---- hand-offs, help, errors ---------------------------------------------------------------------


def handoff_blocks(h: HandoffReply, forwarded_to: str | None) -> list[Block]:
    if forwarded_to:
        return [section(f"{CLINICAL}\n\nI've passed your question to the pharmacists in <#{forwarded_to}>.")]
    return [section(CLINICAL)]


def handoff_notice_blocks(h: HandoffReply, asked_by: str, link: str | None) -> list[Block]:
    """What the pharmacist channel sees: who asked what, and where to answer."""
    where = f"\n<{link}|Answer in the thread>" if link else ""
    return [
        section(f":raising_hand: *A clinical question needs a pharmacist*\n{esc(h.summary)}{where}"),
        context(f"Asked by <@{asked_by}>"),
    ]


def help_blocks(h: HelpReply) -> list[Block]:
    lines = [
        "Ask me how to do something and I'll answer from our SOPs with the SOP id and section, "
        "or tell you they don't cover it. For example:"
    ] + [f"• _{esc(e)}_" for e in h.examples]
    if h.draft_kinds:
        lines.append(
            "Drafts for pharmacist review: `/draft KIND` with a few words about the case, or start a "
            "message with _draft_. Kinds: " + ", ".join(f"`{k}`" for k in h.draft_kinds)
        )
    lines.append("Also: `/sop QUESTION`, `/deadlines [period]`, `/digest`.")
    return sections(lines)


_FIELD_HINTS = {
    "override_reason": "Approve again and give the reason in the form that opens.",
    "kind": "Kinds: mtm-cmr, mtm-note, pa-packet, pa-appeal, prescriber-letter.",
}


def error_text(e: ErrorReply) -> str:
    """A refusal or bad input, worded for Slack (never a command-line flag)."""
    icon = ":no_entry:" if e.code in ("permission_denied", "needs_person") else ":warning:"
    hint = _FIELD_HINTS.get(e.field or "")
    return f"{icon} {e.message}" + (f" {hint}" if hint else "")


# ---- replies -------------------------------------------------------------------------------------


def reply_blocks(
    reply: Reply, *, who: Callable[[str], str] = str, forwarded_to: str | None = None
) -> list[Block]:
    """Any reply of the conversational core as blocks (may exceed one message: see split_messages)."""
    notice = [context(f":information_source: {esc(reply.notice)}")] if reply.notice else []
    return notice + _reply_body(reply, who, forwarded_to)


def _reply_body(reply: Reply, who: Callable[[str], str], forwarded_to: str | None) -> list[Block]:
    if isinstance(reply, SopReply):
        return answer_blocks(reply.answer, text=reply.text)
    if isinstance(reply, DeadlinesReply):
        return deadline_answer_blocks(reply.answer)
    if isinstance(reply, DraftReply):
        not_found = []
        if reply.not_found:
            not_found = [
                section(
                    ":warning: I could not find these in what you told me, so I left them out: "
                    + "; ".join(esc(x) for x in reply.not_found)
                )
            ]
        return not_found + draft_blocks(reply.draft, who)
    if isinstance(reply, ConfirmReply):
        return [section(confirm_text(reply))]
    if isinstance(reply, RecordedReply):
        return [section(recorded_text(reply))]
    if isinstance(reply, HandoffReply):
        return handoff_blocks(reply, forwarded_to)
    if isinstance(reply, HelpReply):
        return help_blocks(reply)
    return [section(error_text(reply))]


def confirm_text(reply: ConfirmReply) -> str:
    d = reply.details
    if reply.action == "record_completion":
        what = (
            f"record *{esc(d.get('occurrence_id', 'that deadline'))}* as done on "
            f"{esc(d.get('completed_on', '?'))} (evidence: {esc(d.get('evidence', '?'))})"
        )
    else:
        what = esc(reply.action.replace("_", " "))
    return f":question: Shall I {what}? Reply *yes* to confirm or *no* to cancel (in a channel, mention me)."


def recorded_text(reply: RecordedReply) -> str:
    lines = []
    if reply.completion:
        c = reply.completion
        lines.append(
            f":white_check_mark: Recorded *{esc(c.occurrence_id)}* as done on {c.completed_on.isoformat()}."
        )
    if reply.pa:
        lines.append(f":white_check_mark: Tracking *{esc(reply.pa.id)}* ({esc(reply.pa.drug)}).")
        lines += [f"• {esc(o.title)}: due {o.due.isoformat()}" for o in reply.pa.deadlines]
    return "\n".join(lines) or "Recorded."


def reply_fallback(reply: Reply) -> str:
    """The notification text of a reply (Slack shows it where blocks cannot be shown)."""
    if isinstance(reply, SopReply):
        return answer_fallback(reply.answer)
    if isinstance(reply, DeadlinesReply):
        return short(f"Deadlines: {len(reply.answer.occurrences)} found")
    if isinstance(reply, DraftReply):
        return draft_fallback(reply.draft)
    if isinstance(reply, HandoffReply):
        return CLINICAL
    if isinstance(reply, HelpReply):
        return "What I can do: SOP answers, deadlines and drafts"
    if isinstance(reply, ConfirmReply):
        return "Please confirm before I record anything"
    if isinstance(reply, RecordedReply):
        return "Recorded"
    return short(error_text(reply))


def feedback_block(reply: Reply, question: str, conversation_id: str) -> Block | None:
    """Helpful / not helpful buttons on an answer; the value carries what the vote is about."""
    if not isinstance(reply, SopReply | DeadlinesReply):
        return None
    citations = citation_ids(reply.answer) if isinstance(reply, SopReply) else []
    data = {"k": reply.kind, "c": citations, "conv": conversation_id, "q": question}
    value = json.dumps(data, ensure_ascii=False)
    if len(value) > MAX_VALUE_CHARS:  # the question gives way first, then the citations
        data["q"] = question[: max(0, len(question) - (len(value) - MAX_VALUE_CHARS) - 1)]
        value = json.dumps(data, ensure_ascii=False)
    if len(value) > MAX_VALUE_CHARS:
        data["c"] = citations[:3]
        value = json.dumps(data, ensure_ascii=False)[:MAX_VALUE_CHARS]
    return actions_block(
        [
            button(":thumbsup: Helpful", ids.HELPFUL, value),
            button(":thumbsdown: Not helpful", ids.NOT_HELPFUL, value),
        ],
        block_id="feedback",
    )


def share_block(question: str) -> Block:
    return actions_block([button("Share in channel", ids.SHARE_ANSWER, question[:MAX_VALUE_CHARS])])


def suggested_prompts(h: HelpReply) -> list[dict[str, str]]:
    """Up to four prompts for the assistant pane, chosen by what the person's role may do."""
    ex = h.examples
    prompts = [{"title": "Ask an SOP question", "message": ex[0]}]
    if len(ex) > 1:
        prompts.append({"title": "What to do when…", "message": ex[1]})
    deadlines = [e for e in ex[2:] if not e.lower().startswith("draft")]
    if deadlines:
        prompts.append({"title": "What's due soon?", "message": deadlines[0]})
    if "prescriber-letter" in h.draft_kinds:
        prompts.append(
            {
                "title": "Draft a letter to a prescriber",
                "message": "draft prescriber-letter to Dr. Lee about Mr. Diaz, A1c 9.1% on 11/2",
            }
        )
    elif "pa-packet" in h.draft_kinds:
        drafts = [e for e in ex if e.lower().startswith("draft")]
        if drafts:
            prompts.append({"title": "Start a PA packet", "message": drafts[0]})
    return prompts[:4]
