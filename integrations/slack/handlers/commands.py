"""Slash commands: ``/sop QUESTION``, ``/draft KIND …``, ``/deadlines [period]`` and ``/digest``.

Answers are ephemeral (only the person who typed the command sees them, through the command's
response URL); an SOP answer has a "Share in channel" button. ``/draft`` opens the case form at once
(the trigger it needs expires after 3 seconds); the rest runs on the worker pool after the ack.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Respond

from assistant.access import authorize
from assistant.agent.replies import DeadlinesReply, HandoffReply, SopReply
from assistant.agent.router import DRAFT_KINDS, draft_kind, sop_reply
from assistant.calendar.ask import ask as ask_calendar
from assistant.calendar.digest import build_digest
from assistant.drafting.extract import extract_case
from assistant.drafting.kinds import get_kind
from integrations.slack import actions as ids
from integrations.slack.blocks import (
    Block,
    digest_blocks,
    feedback_block,
    reply_blocks,
    reply_fallback,
    share_block,
    split_messages,
)
from integrations.slack.deps import Deps
from integrations.slack.handlers.conversation import forward_handoff
from integrations.slack.identity import principal_for
from integrations.slack.modals import draft_form
from integrations.slack.requests import SlashCommand

_PERIOD = re.compile(r"^(\d+)\s*(d|days?|w|wks?|weeks?|months?)$", re.I)
_QUESTION = re.compile(r"^(what|when|anything|is|are|which)\b", re.I)
_UNITS = {"d": "days", "w": "weeks", "wk": "weeks", "wks": "weeks"}


def ephemeral(respond: Respond, blocks: list[Block], text: str) -> None:
    for part in split_messages(blocks):
        respond(response_type="ephemeral", replace_original=False, blocks=part, text=text)


def say_privately(respond: Respond) -> Callable[[str], None]:
    return lambda text: respond(response_type="ephemeral", replace_original=False, text=text)


# ---- /sop ----------------------------------------------------------------------------------------


def sop(deps: Deps, cmd: SlashCommand, respond: Respond) -> None:
    if not cmd.text:
        say_privately(respond)(
            "Ask a question after the command, e.g. `/sop a claim rejected with code 75, what do I do?`"
        )
        return

    def job() -> None:
        principal = principal_for(deps.store, cmd.user)
        ctx = deps.ctx(principal, f"slack:{cmd.team}:{cmd.channel}:sop:{cmd.trigger_id}")
        reply = sop_reply(cmd.text, ctx)
        to = forward_handoff(deps, cmd.user, reply) if isinstance(reply, HandoffReply) else None
        blocks = reply_blocks(reply, forwarded_to=to)
        if isinstance(reply, SopReply) and reply.answer.passages:
            blocks.append(share_block(cmd.text))
        feedback = feedback_block(reply, cmd.text, ctx.conversation_id or "")
        if feedback:
            blocks.append(feedback)
        ephemeral(respond, blocks, reply_fallback(reply))

    deps.later("/sop", job, say_privately(respond))


# ---- /deadlines and /digest ----------------------------------------------------------------------


def deadline_question(period: str) -> str:
    """What ``/deadlines [period]`` asks the calendar: "" -> the next 2 weeks, "30d" -> the next 30 days."""
    period = period.strip().rstrip("?")
    if not period:
        return "what's due in the next 2 weeks"
    if period.lower().startswith("overdue"):
        return "what's overdue" + period[len("overdue") :]
    m = _PERIOD.match(period)
    if m:
        unit = _UNITS.get(m.group(2).lower(), m.group(2).lower())
        return f"what's due in the next {m.group(1)} {unit if unit.endswith('s') else unit + 's'}"
    if _QUESTION.match(period):
        return period
    return f"what's due {period}"


def deadlines(deps: Deps, cmd: SlashCommand, respond: Respond) -> None:
    def job() -> None:
        principal = principal_for(deps.store, cmd.user)
        answer = ask_calendar(
            deps.store, deadline_question(cmd.text), principal=principal, site=principal.site
        )
        reply = DeadlinesReply(answer=answer)
        ephemeral(respond, reply_blocks(reply), reply_fallback(reply))

    deps.later("/deadlines", job, say_privately(respond))


def digest(deps: Deps, cmd: SlashCommand, respond: Respond) -> None:
    def job() -> None:
        principal = principal_for(deps.store, cmd.user)
        d = build_digest(deps.store, principal=principal, site=cmd.text.strip() or principal.site)
        ephemeral(respond, digest_blocks(d), f"Compliance digest: {d.site_name}, {d.date.isoformat()}")

    deps.later("/digest", job, say_privately(respond))


# ---- /draft --------------------------------------------------------------------------------------


def parse_draft_command(text: str) -> tuple[str | None, str]:
    """``"pa-packet PA for Mrs. J's Ozempic"`` -> ("pa-packet", "PA for Mrs. J's Ozempic")."""
    first, _, rest = text.partition(" ")
    if first.lower() in DRAFT_KINDS:
        return first.lower(), rest.strip()
    return draft_kind(text), text


def draft(deps: Deps, cmd: SlashCommand, respond: Respond) -> None:
    """Open the case form, prefilled from the shorthand after the kind (runs right after the ack)."""

    def job() -> None:
        kind, shorthand = parse_draft_command(cmd.text)
        if kind is None:
            say_privately(respond)(
                "Which document? `/draft KIND` and a few words about the case, e.g. "
                "`/draft pa-packet PA for Mrs. Johnson's Ozempic, T2DM, A1c 8.7% on 10/2`. "
                "Kinds: " + ", ".join(f"`{k}`" for k in DRAFT_KINDS)
            )
            return
        principal = principal_for(deps.store, cmd.user)
        # the service checks again on submit; asking now spares filling in a form for nothing
        authorize(deps.store, principal, get_kind(kind).ACTION, event="draft.create")
        case = extract_case(shorthand) if shorthand else extract_case("")
        meta: dict[str, Any] = {"kind": kind, "channel": cmd.channel}
        deps.client.views_open(
            trigger_id=cmd.trigger_id,
            view=draft_form(
                kind,
                case,
                callback_id=ids.VIEW_NEW_DRAFT,
                title=f"Draft: {kind}",
                submit="Create draft",
                meta=meta,
            ),
        )

    deps.safely("/draft", job, say_privately(respond))
