"""Terminal text for the core's data: SOP answers, replies, errors. Presentation lives here, not in
the core (Block Kit lives in ``integrations/slack/blocks.py``)."""

from __future__ import annotations

from assistant.agent.phrases import CLINICAL, NOT_COVERED, TECH_FOOTER, TENTATIVE
from assistant.agent.replies import (
    ConfirmReply,
    DeadlinesReply,
    DraftReply,
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
    days,
    digest_sections,
    is_quiet,
    sop_change,
    when,
)
from assistant.calendar.series import cred_label
from assistant.cli.errors import cli_message
from assistant.errors import RxdeskError
from assistant.review.service import DraftView
from assistant.sops.models import Answer


def answer_text(a: Answer) -> str:
    if a.outcome == "clinical_handoff":
        return CLINICAL
    if a.outcome == "not_covered":
        hint = ""
        if a.closest:
            hint = f" (Closest SOP: {a.closest.sop_id} {a.closest.title}; it does not seem to answer this.)"
        return NOT_COVERED + hint
    lines: list[str] = [TENTATIVE, ""] if a.outcome == "tentative" else []
    for p in a.passages:
        lines.append(f"*{p.sop_id} {p.title} › {p.section}* [{p.n}]")
        lines.extend(f"• {line} [{p.n}]" for line in p.lines)
    if a.see_also:
        lines.append("See also: " + "; ".join(f"{r.sop_id} {r.title}" for r in a.see_also))
    sources = "\n".join(
        f"[{p.n}] {p.sop_id} {p.title} › {p.section} ({p.source}{', v' + p.version if p.version else ''}"
        f"{', effective ' + p.effective if p.effective else ''})"
        for p in a.passages
    )
    text = "\n".join(lines) + "\n\nSources:\n" + sources
    if a.role == "technician":
        text += "\n" + TECH_FOOTER
    return text


# ---- deadlines ------------------------------------------------------------------------------------


def _ask_when(o: Occurrence) -> str:
    if o.days_left < 0:
        return f"was due {o.due.isoformat()} ({days(-o.days_left)} overdue)"
    if o.days_left == 0:
        return f"is due today ({o.due.isoformat()})"
    return f"is due {o.due.isoformat()} (in {days(o.days_left)})"


def _ask_line(o: Occurrence) -> str:
    cite = f"; {o.citation}" if o.citation else ""
    where = f" at {o.site}" if o.site else ""
    return f"- {o.title}{where} {_ask_when(o)}; owner {o.owner}{cite}"


def _listing(head: str, occs: list[Occurrence], empty: str) -> str:
    if not occs:
        return empty
    lines = [f"{head} ({len(occs)}):"] + [_ask_line(o) for o in occs[:MAX_LISTED]]
    if len(occs) > MAX_LISTED:
        lines.append(f"…and {len(occs) - MAX_LISTED} more (rxdesk deadlines)")
    return "\n".join(lines)


def _credential_sentence(a: DeadlineAnswer, o: Occurrence) -> str:
    if o.kind == "credential" and o.cred_type:
        subject, past, future = f"{a.subject}'s {cred_label(o.cred_type)}", "expired on", "expires on"
    else:
        subject, past, future = o.title, "was due on", "is due on"
    if o.days_left < 0:
        return f"{subject} {past} {o.due.isoformat()} ({days(-o.days_left)} ago)."
    return f"{subject} {future} {o.due.isoformat()} (in {days(o.days_left)}); owner {o.owner}."


def deadline_answer_text(a: DeadlineAnswer) -> str:
    where = f" at {a.site}" if a.site else ""
    occs = a.occurrences
    if a.kind == "no_calendar":
        return "I have no deadlines yet: run rxdesk calendar import FILE first."
    if a.kind == "person":
        if not occs:
            return f"I couldn't find a credential deadline for {a.subject} matching that question."
        if len(occs) == 1:
            return _credential_sentence(a, occs[0])
        return _listing(f"Deadlines for {a.subject}", occs, "")
    if a.kind == "overdue":
        return _listing(f"Overdue{where} as of {a.as_of.isoformat()}", occs, f"Nothing is overdue{where}. 🎉")
    if a.kind == "window":
        span = f"{a.window_start.isoformat() if a.window_start else ''} to {a.window_end.isoformat() if a.window_end else ''}"
        return _listing(f"Due {a.subject}{where} ({span})", occs, f"Nothing is due {a.subject}{where}.")
    if a.kind == "match":
        if len(occs) == 1:
            o = occs[0]
            cite = f"; {o.citation}" if o.citation else ""
            return f"{o.title}{' at ' + o.site if o.site else ''} {_ask_when(o)}; owner {o.owner}{cite}."
        return _listing("Matching deadlines", occs, "")
    return f"I couldn't find a deadline matching '{a.subject}'{where}. Try questions like {ASK_EXAMPLES}."


def _digest_line(o: Occurrence) -> str:
    cite = f" [{o.citation}]" if o.citation else ""
    return f"- {o.title}: {when(o)}; owner {o.owner}{cite}"


def digest_text(d: Digest) -> str:
    lines = [f"Compliance digest: {d.site_name}, {d.date.isoformat()}"]
    if is_quiet(d):
        lines.append(EMPTY_DIGEST)
    for title, items in digest_sections(d):
        lines.append("")
        lines.append(f"{title} ({len(items)})")
        lines.extend(_digest_line(o) for o in items[:MAX_ITEMS_PER_SECTION])
        if len(items) > MAX_ITEMS_PER_SECTION:
            lines.append(f"…and {len(items) - MAX_ITEMS_PER_SECTION} more (rxdesk deadlines)")
    if d.sop_changes:
        lines += ["", f"{SOP_CHANGES_TITLE} ({len(d.sop_changes)})"]
        lines += [f"- {sop_change(c)}" for c in d.sop_changes[:MAX_ITEMS_PER_SECTION]]
        if len(d.sop_changes) > MAX_ITEMS_PER_SECTION:
            lines.append(
                f"…and {len(d.sop_changes) - MAX_ITEMS_PER_SECTION} more (rxdesk audit --action sops.change)"
            )
    return "\n".join(lines)


# ---- chat replies ---------------------------------------------------------------------------------


def draft_text(view: DraftView) -> str:
    header = (
        f"Draft #{view.draft_id} ({view.kind}, v{view.version}, {view.status.value}) — "
        f"{len(view.missing)} missing fact(s); a pharmacist must review and approve it.\n\n"
    )
    return header + view.markdown


def help_text(h: HelpReply) -> str:
    lines = [
        "Ask me how to do something and I'll answer from our SOPs with the SOP id and section, "
        "or tell you they don't cover it.",
        "For example:",
    ]
    lines += [f'  "{e}"' for e in h.examples]
    if h.draft_kinds:
        lines.append("Drafts for pharmacist review (start with 'draft'): " + ", ".join(h.draft_kinds))
    return "\n".join(lines)


def sop_reply_text(reply: SopReply) -> str:
    a = reply.answer
    if not reply.text or a.outcome != "answered":
        return answer_text(a)
    sources = "\n".join(
        f"[{p.n}] {p.sop_id} {p.title} › {p.section} ({p.source}{', v' + p.version if p.version else ''})"
        for p in a.passages
    )
    footer = "\n" + TECH_FOOTER if a.role == "technician" else ""
    return f"{reply.text}\n\nSources:\n{sources}{footer}"


def confirm_text(reply: ConfirmReply) -> str:
    if reply.action == "record_completion":
        d = reply.details
        return (
            f"Shall I record {d.get('occurrence_id', 'that deadline')} as done on {d.get('completed_on', '?')} "
            f"(evidence: {d.get('evidence', '?')})? Answer yes or no."
        )
    return f"Shall I {reply.action.replace('_', ' ')}? Answer yes or no."


def recorded_text(reply: RecordedReply) -> str:
    lines = []
    if reply.completion:
        c = reply.completion
        lines.append(
            f"Recorded: {c.occurrence_id} completed on {c.completed_on.isoformat()} by {c.completed_by}."
        )
    if reply.pa:
        lines.append(f"Tracking {reply.pa.id} ({reply.pa.drug}).")
        lines += [f"  {d.title}: due {d.due.isoformat()}" for d in reply.pa.deadlines]
    return "\n".join(lines)


def _body(reply: Reply) -> str:
    if isinstance(reply, SopReply):
        return sop_reply_text(reply)
    if isinstance(reply, DeadlinesReply):
        return reply.text or deadline_answer_text(reply.answer)
    if isinstance(reply, DraftReply):
        text = draft_text(reply.draft)
        if reply.not_found:
            text = (
                "I could not find these in what you told me, so I left them out: "
                + "; ".join(reply.not_found)
                + "\n\n"
                + text
            )
        return text
    if isinstance(reply, ConfirmReply):
        return confirm_text(reply)
    if isinstance(reply, RecordedReply):
        return recorded_text(reply)
    if isinstance(reply, HandoffReply):
        return CLINICAL
    if isinstance(reply, HelpReply):
        return help_text(reply)
    return f"sorry: {cli_message(RxdeskError(reply.message, code=reply.code, field=reply.field))}"


def reply_text(reply: Reply) -> str:
    body = _body(reply)
    return f"({reply.notice})\n{body}" if reply.notice else body
