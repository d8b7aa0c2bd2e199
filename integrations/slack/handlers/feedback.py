"""Helpful / not helpful votes on answers (stored for evaluation), and sharing an ephemeral /sop
answer in the channel."""

from __future__ import annotations

from slack_bolt import Respond

from assistant.agent.router import sop_reply
from assistant.feedback import record_vote
from integrations.slack import actions as ids
from integrations.slack.blocks import (
    context,
    esc,
    feedback_block,
    reply_blocks,
    reply_fallback,
    short,
    split_messages,
)
from integrations.slack.delivery import tell
from integrations.slack.deps import Deps
from integrations.slack.identity import principal_for
from integrations.slack.requests import ButtonClick


def on_vote(deps: Deps, click: ButtonClick) -> None:
    helpful = click.action_id == ids.HELPFUL

    def job() -> None:
        data = click.json_value()
        record_vote(
            deps.store,
            f"slack:{click.team}:{click.channel}:{click.message_ts}",
            helpful,
            principal=principal_for(deps.store, click.user),
            reply_kind=str(data.get("k") or "unknown"),
            question=str(data.get("q") or "") or None,
            citations=[str(c) for c in data.get("c") or []],
            conversation_id=str(data.get("conv") or "") or None,
        )
        thanks = (
            "Thanks, noted as helpful." if helpful else "Thanks for saying so; this helps us fix the answer."
        )
        tell(deps.client, click.channel, click.user, thanks, thread_ts=click.thread_ts)

    deps.later(
        "vote",
        job,
        lambda text: tell(deps.client, click.channel, click.user, text, thread_ts=click.thread_ts),
    )


def on_share(deps: Deps, click: ButtonClick, respond: Respond) -> None:
    """Post the /sop answer for everyone (answered again, as the person sharing it)."""
    question = click.value

    def job() -> None:
        principal = principal_for(deps.store, click.user)
        conversation = f"slack:{click.team}:{click.channel}:shared:{click.trigger_id}"
        reply = sop_reply(question, deps.ctx(principal, conversation))
        blocks = [
            context(f"<@{click.user}> shared an answer to: _{esc(short(question, 500))}_"),
            *reply_blocks(reply),
        ]
        feedback = feedback_block(reply, question, conversation)
        if feedback:
            blocks.append(feedback)
        for part in split_messages(blocks):
            respond(
                response_type="in_channel", replace_original=False, blocks=part, text=reply_fallback(reply)
            )
        respond(delete_original=True)

    deps.later(
        "share", job, lambda text: respond(response_type="ephemeral", replace_original=False, text=text)
    )
