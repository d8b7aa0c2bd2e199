"""Drafts in Slack: the card's buttons (Approve, Request changes, Edit, Download) and the forms behind
them (new draft, edit, change request, approval with facts missing).

Every decision is the review service's, made as the clicking person (their Slack id looked up in the
staff directory): a technician's Approve is refused there, audited, and shown to them alone; the card
does not change. A decision replaces the card's buttons with a status line. A second click, or a
replayed one, finds the draft already decided and changes nothing.

Clicks that open a form run right after the ack (the trigger expires in 3 seconds); slower work
(uploads, posting new cards) goes to the worker pool. Form submissions are checked before the ack so
a problem is shown under the field it concerns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack
from slack_sdk.errors import SlackApiError

from assistant.access import authorize
from assistant.agent.replies import ErrorReply
from assistant.drafting.case import Case
from assistant.errors import Conflict, InvalidInput, RxdeskError
from assistant.review.service import (
    DraftView,
    approve,
    create_draft,
    edit_draft,
    get_draft,
    open_case,
    render_draft,
    request_changes,
)
from assistant.roles import Action
from integrations.slack import actions as ids
from integrations.slack.blocks import draft_blocks, draft_fallback, error_text
from integrations.slack.delivery import tell
from integrations.slack.deps import Deps
from integrations.slack.handlers.conversation import forward_draft
from integrations.slack.identity import name_of, principal_for
from integrations.slack.modals import FormError, case_from_form, draft_form, reason_form
from integrations.slack.requests import ButtonClick, ModalSubmit

log = logging.getLogger("rxdesk.slack")


def _tell(deps: Deps, click: ButtonClick) -> Callable[[str], None]:
    return lambda text: tell(deps.client, click.channel, click.user, text, thread_ts=click.thread_ts)


def _card_of(deps: Deps, view: DraftView) -> dict[str, Any]:
    return {"blocks": draft_blocks(view, lambda pid: name_of(deps.store, pid)), "text": draft_fallback(view)}


def update_card(deps: Deps, channel: str | None, ts: str | None, view: DraftView) -> None:
    if channel and ts:
        deps.client.chat_update(channel=channel, ts=ts, **_card_of(deps, view))


def _card_meta(click: ButtonClick) -> dict[str, Any]:
    return {
        "draft_id": click.draft_id,
        "kind": click.draft_kind,
        "version": click.draft_version,
        "channel": click.channel,
        "ts": click.message_ts,
    }


def _ask_reason(
    deps: Deps,
    click: ButtonClick,
    callback_id: str,
    block_id: str,
    *,
    title: str,
    submit: str,
    label: str,
    note: str,
) -> None:
    """Open a one-question form about the clicked card's draft (answered in ``_decide``)."""
    deps.client.views_open(
        trigger_id=click.trigger_id,
        view=reason_form(
            callback_id=callback_id,
            title=title,
            submit=submit,
            label=label,
            block_id=block_id,
            meta=_card_meta(click),
            note=note,
        ),
    )


# ---- buttons -------------------------------------------------------------------------------------


def on_approve(deps: Deps, click: ButtonClick) -> None:
    def job() -> None:
        principal = principal_for(deps.store, click.user)
        try:
            view = approve(
                deps.store, click.draft_id, principal=principal, expected_version=click.draft_version
            )
        except InvalidInput as exc:
            if exc.field != "override_reason":
                raise
            _ask_reason(
                deps,
                click,
                ids.VIEW_APPROVE_OVERRIDE,
                ids.OVERRIDE_BLOCK,
                title=f"Approve draft #{click.draft_id}",
                submit="Approve",
                label="Why approve it with these facts missing?",
                note=exc.message,
            )
            return
        except Conflict:
            _refresh(deps, click)  # another click or person got there first: show the card as it is
            raise
        update_card(deps, click.channel, click.message_ts, view)

    deps.safely("approve", job, _tell(deps, click))


def _refresh(deps: Deps, click: ButtonClick) -> None:
    try:
        view = get_draft(deps.store, click.draft_id, principal=principal_for(deps.store, click.user))
        update_card(deps, click.channel, click.message_ts, view)
    except (RxdeskError, SlackApiError) as exc:
        log.info("card of draft %s not refreshed: %s", click.draft_id, type(exc).__name__)


def on_request_changes(deps: Deps, click: ButtonClick) -> None:
    def job() -> None:
        principal = principal_for(deps.store, click.user)
        # the service decides again on submit; asking now spares writing a reason for nothing
        authorize(
            deps.store,
            principal,
            Action.REQUEST_CHANGES,
            event="draft.request_changes",
            target=f"draft:{click.draft_id}",
        )
        _ask_reason(
            deps,
            click,
            ids.VIEW_REQUEST_CHANGES,
            ids.REASON_BLOCK,
            title=f"Changes to draft #{click.draft_id}",
            submit="Send back",
            label="What needs to change?",
            note="The draft goes back for an edit; whoever edits it sees your reason on the card.",
        )

    deps.safely("request changes", job, _tell(deps, click))


def on_edit(deps: Deps, click: ButtonClick) -> None:
    def job() -> None:
        principal = principal_for(deps.store, click.user)
        case = open_case(deps.store, click.draft_id, principal=principal)
        deps.client.views_open(
            trigger_id=click.trigger_id,
            view=draft_form(
                click.draft_kind,
                case,
                callback_id=ids.VIEW_EDIT_DRAFT,
                title=f"Edit draft #{click.draft_id}",
                submit="Save new version",
                meta=_card_meta(click),
            ),
        )

    deps.safely("edit", job, _tell(deps, click))


def on_download(deps: Deps, click: ButtonClick) -> None:
    fmt = ids.DOWNLOAD_FORMATS[click.action_id]

    def job() -> None:
        principal = principal_for(deps.store, click.user)
        rendered = render_draft(deps.store, click.draft_id, principal=principal, fmt=fmt)
        deps.client.files_upload_v2(
            channel=click.channel,
            thread_ts=click.thread_ts or click.message_ts,
            content=rendered.data,
            filename=rendered.filename,
            title=rendered.filename,
            initial_comment=f"<@{click.user}> {rendered.filename} (version {rendered.version}, {rendered.status.value})",
        )

    deps.later("download", job, _tell(deps, click))


# ---- forms ---------------------------------------------------------------------------------------


def _refuse(ack: Ack, block_id: str, exc: RxdeskError) -> None:
    ack(response_action="errors", errors={block_id: error_text(ErrorReply.of(exc))[:2000]})


def _first_block(sub: ModalSubmit) -> str:
    return next(iter(sub.values), ids.MORE_FACTS_PREFIX + "0")


def _fail_to_user(deps: Deps, sub: ModalSubmit) -> Callable[[str], None]:
    return lambda text: tell(deps.client, sub.meta.get("channel"), sub.user, text)


def _save_case(deps: Deps, sub: ModalSubmit, ack: Ack, save: Callable[[Case], DraftView]) -> DraftView | None:
    """Read the case form and ``save`` it; a problem is shown under its field (nothing saved)."""
    try:
        view = save(case_from_form(str(sub.meta.get("kind") or ""), sub.values))
    except FormError as exc:
        ack(response_action="errors", errors={exc.block_id: exc.message[:2000]})
        return None
    except RxdeskError as exc:
        _refuse(ack, _first_block(sub), exc)
        return None
    ack()
    return view


def _update_later(deps: Deps, sub: ModalSubmit, view: DraftView) -> None:
    deps.later(
        "update card",
        lambda: update_card(deps, sub.meta.get("channel"), sub.meta.get("ts"), view),
        _fail_to_user(deps, sub),
    )


def submit_new_draft(deps: Deps, sub: ModalSubmit, ack: Ack) -> None:
    kind = str(sub.meta.get("kind") or "")
    principal = principal_for(deps.store, sub.user)
    view = _save_case(
        deps,
        sub,
        ack,
        lambda case: create_draft(
            deps.store, kind, case, principal=principal, allow_errors=True, source="slack"
        ),
    )
    if view is None:
        return
    channel = sub.meta.get("channel")

    def post() -> None:
        card = _card_of(deps, view)
        try:
            deps.client.chat_postMessage(channel=channel, **card)
        except SlackApiError as exc:  # not in that channel (or a DM with someone else): DM the author
            log.info(
                "draft card not posted in the channel (%s); sending it as a DM", exc.response.get("error")
            )
            deps.client.chat_postMessage(channel=sub.user, **card)
        forward_draft(deps, sub.user, view, channel)

    deps.later("post new draft", post, _fail_to_user(deps, sub))


def submit_edit(deps: Deps, sub: ModalSubmit, ack: Ack) -> None:
    draft_id = int(sub.meta["draft_id"])
    principal = principal_for(deps.store, sub.user)
    view = _save_case(
        deps,
        sub,
        ack,
        lambda case: edit_draft(deps.store, draft_id, case, principal=principal, allow_errors=True),
    )
    if view is not None:
        _update_later(deps, sub, view)


def _decide(
    deps: Deps, sub: ModalSubmit, ack: Ack, block_id: str, decide: Callable[[int, str], DraftView]
) -> None:
    reason = sub.value(block_id, ids.INPUT).strip()
    try:
        view = decide(int(sub.meta["draft_id"]), reason)
    except RxdeskError as exc:
        _refuse(ack, block_id, exc)
        return
    ack()
    _update_later(deps, sub, view)


def submit_request_changes(deps: Deps, sub: ModalSubmit, ack: Ack) -> None:
    principal = principal_for(deps.store, sub.user)
    _decide(
        deps,
        sub,
        ack,
        ids.REASON_BLOCK,
        lambda d, reason: request_changes(deps.store, d, principal=principal, reason=reason),
    )


def submit_override(deps: Deps, sub: ModalSubmit, ack: Ack) -> None:
    principal = principal_for(deps.store, sub.user)
    _decide(
        deps,
        sub,
        ack,
        ids.OVERRIDE_BLOCK,
        lambda d, reason: approve(
            deps.store,
            d,
            principal=principal,
            override_reason=reason,
            expected_version=sub.meta.get("version"),
        ),
    )
