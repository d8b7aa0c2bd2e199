"""Conversations: @-mentions, direct messages and assistant threads, answered in the thread.

The listener has already acknowledged the request when these run. ``accept`` runs on Bolt's listener
thread: it drops redeliveries, shows that work started (the assistant pane's status, or 👀 on the
message) and queues ``answer`` on the worker pool, where ``respond()`` does the slow part.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from assistant.access import allowed
from assistant.agent.replies import DraftReply, ErrorReply, HandoffReply, Reply, SopReply
from assistant.agent.router import help_reply
from assistant.calendar.digest_delivery import digest_sites
from assistant.review.service import DraftView
from assistant.roles import Action
from integrations.slack.blocks import (
    answer_blocks,
    context,
    draft_blocks,
    draft_fallback,
    error_text,
    feedback_block,
    handoff_notice_blocks,
    reply_blocks,
    reply_fallback,
    short,
    suggested_prompts,
)
from integrations.slack.delivery import StreamSink, post_thread, tell
from integrations.slack.deps import Deps
from integrations.slack.identity import name_of, principal_for
from integrations.slack.requests import SlackMessage, ThreadStarted

log = logging.getLogger("rxdesk.slack")

STATUS = "searching our SOPs…"
WORKING_REACTION = "eyes"


def accept(deps: Deps, msg: SlackMessage) -> None:
    """Take a question: once per delivery, with a visible sign of work, answered after the ack.
    A bare mention ("@rxdesk") is a request for help."""
    if not msg.text:
        msg = msg.model_copy(update={"text": "help"})
    if not deps.first_time(f"slack-event:{msg.event_id}" if msg.event_id else None):
        log.info("redelivered event %s ignored", msg.event_id)
        return
    log.info("%s from %s in %s: %s", msg.source, msg.user, msg.channel, deps.content(msg.text))
    _show_working(deps, msg)
    deps.later(
        f"answer {msg.source}",
        lambda: answer(deps, msg),
        lambda text: _tell_failure(deps, msg, text),
    )


def _show_working(deps: Deps, msg: SlackMessage) -> None:
    try:
        if msg.source == "assistant":
            deps.client.assistant_threads_setStatus(
                channel_id=msg.channel, thread_ts=msg.reply_thread, status=STATUS
            )
            if deps.first_time_in_memory(f"title:{msg.conversation_id}"):
                deps.client.assistant_threads_setTitle(
                    channel_id=msg.channel, thread_ts=msg.reply_thread, title=short(msg.text, 60)
                )
        else:
            deps.client.reactions_add(channel=msg.channel, name=WORKING_REACTION, timestamp=msg.ts)
    except SlackApiError as exc:  # a missing status is no reason not to answer
        log.warning("could not show the working status: %s", exc.response.get("error"))


def _done_working(deps: Deps, msg: SlackMessage) -> None:
    if msg.source == "assistant":
        return  # Slack clears the status when the reply arrives
    try:
        deps.client.reactions_remove(channel=msg.channel, name=WORKING_REACTION, timestamp=msg.ts)
    except SlackApiError as exc:
        log.info("could not remove the working reaction: %s", exc.response.get("error"))


def _tell_failure(deps: Deps, msg: SlackMessage, text: str) -> None:
    _done_working(deps, msg)
    tell(deps.client, msg.channel, msg.user, text, thread_ts=msg.reply_thread)


def answer(deps: Deps, msg: SlackMessage) -> None:
    principal = principal_for(deps.store, msg.user)
    ctx = deps.ctx(principal, msg.conversation_id)
    sink = StreamSink(
        deps.client, channel=msg.channel, thread_ts=msg.reply_thread, team=msg.team, user=msg.user
    )
    reply: Reply = deps.respond(msg.text, ctx, on_text=sink)
    who = lambda pid: name_of(deps.store, pid)  # noqa: E731
    if isinstance(reply, ErrorReply) and not msg.is_private and not sink.started:
        _tell_failure(deps, msg, error_text(reply))
        return
    forwarded = None
    if isinstance(reply, HandoffReply):
        forwarded = forward_handoff(deps, msg.user, reply, channel=msg.channel, ts=msg.ts)
    blocks = reply_blocks(reply, who=who, forwarded_to=forwarded)
    if isinstance(reply, DraftReply):
        to = forward_draft(deps, msg.user, reply.draft, msg.channel)
        if to:
            blocks.append(context(f"Sent to <#{to}> for a pharmacist's review."))
    feedback = feedback_block(reply, msg.text, msg.conversation_id)
    if feedback:
        blocks.append(feedback)
    if sink.started:
        tail = blocks
        if isinstance(reply, SopReply):  # the words were streamed; the citations close the message
            tail = answer_blocks(reply.answer, sources_only=True) + ([feedback] if feedback else [])
        sink.finish(tail[:50])
        if len(tail) > 50:
            post_thread(deps.client, msg.channel, msg.reply_thread, tail[50:], reply_fallback(reply))
    else:
        post_thread(deps.client, msg.channel, msg.reply_thread, blocks, reply_fallback(reply))
    _done_working(deps, msg)


def _site(deps: Deps, site_id: str | None):  # type: ignore[no-untyped-def]
    if not site_id:
        return None
    return next((s for s in digest_sites(deps.store) if s.id == site_id), None)


def forward_handoff(
    deps: Deps, user: str, h: HandoffReply, *, channel: str | None = None, ts: str | None = None
) -> str | None:
    """Send a technician's clinical question to the site's pharmacist channel (with a link to the
    question's thread when there is one); returns that channel, or None when the site has none."""
    principal = principal_for(deps.store, user)
    site = _site(deps, principal.site)
    if site is None or not site.pharmacist_channel:
        return None
    link = None
    if channel and ts:
        try:
            link = deps.client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
        except SlackApiError as exc:
            log.info("no permalink for the hand-off: %s", exc.response.get("error"))
    deps.client.chat_postMessage(
        channel=site.pharmacist_channel,
        blocks=handoff_notice_blocks(h, user, link),
        text="A clinical question needs a pharmacist",
    )
    return site.pharmacist_channel


def forward_draft(deps: Deps, user: str, view: DraftView, from_channel: str | None) -> str | None:
    """A draft started by someone who cannot approve it goes to the site's pharmacist channel too;
    returns that channel, or None when the site has none (or the draft was started there)."""
    principal = principal_for(deps.store, user)
    if allowed(principal, Action.APPROVE_DRAFT):
        return None
    site = _site(deps, principal.site)
    if site is None or not site.pharmacist_channel or site.pharmacist_channel == from_channel:
        return None
    blocks = draft_blocks(view, lambda pid: name_of(deps.store, pid))
    where = f" in <#{from_channel}>" if from_channel else ""
    blocks.insert(1, context(f"Started by <@{user}>{where}; waiting for a pharmacist's review."))
    deps.client.chat_postMessage(
        channel=site.pharmacist_channel, blocks=blocks[:50], text=draft_fallback(view)
    )
    return site.pharmacist_channel


def thread_started(deps: Deps, started: ThreadStarted) -> None:
    """The assistant pane opened: a greeting and suggested prompts chosen by the person's role."""
    if not deps.first_time(f"slack-event:{started.event_id}" if started.event_id else None):
        return
    principal = principal_for(deps.store, started.user)
    h = help_reply(deps.ctx(principal, None))
    first = principal.name.split()[0] if principal.is_staff else "there"
    deps.client.chat_postMessage(
        channel=started.channel,
        thread_ts=started.thread_ts,
        text=f"Hi {first}! Ask me how to do something and I'll answer from our SOPs, citing the SOP and section.",
    )
    deps.client.assistant_threads_setSuggestedPrompts(
        channel_id=started.channel,
        thread_ts=started.thread_ts,
        title="Try asking",
        prompts=suggested_prompts(h),
    )
