"""The Bolt app: listeners acknowledge first and hand a typed request to a handler; handlers decide.

``create_app(settings, store, respond=...)`` builds it; the ``respond`` callable is a parameter so
tests (and the LLM agent later) plug in without changing the app. Every command, event, button and
form is registered through :class:`Registry`, which remembers what was registered so the manifest
test can compare it with ``manifest.yaml``.

Threads: Bolt acknowledges events itself and runs listeners on its listener pool (commands and
buttons call ``ack()`` first thing); slow work (``respond()``, uploads) runs on a separate worker
pool, so acknowledgements never wait behind an answer being composed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, App, Assistant, BoltResponse, Respond
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from assistant.agent.respond import respond as real_respond
from assistant.config import Settings
from assistant.store import Store
from integrations.llm import chat_model
from integrations.slack import actions as ids
from integrations.slack.delivery import Pool
from integrations.slack.deps import Deps, RespondFn
from integrations.slack.digest_job import DigestJob
from integrations.slack.handlers import commands, conversation, drafts, feedback
from integrations.slack.requests import ButtonClick, ModalSubmit, SlackMessage, SlashCommand, ThreadStarted

log = logging.getLogger("rxdesk.slack")

LISTENER_THREADS = 8
WORKER_NICE = 10  # answers yield the CPU to acknowledgements (see bench/bench_slack.py)


def make_client(settings: Settings, token: str | None = None) -> WebClient:
    """A Web API client that honors 429 Retry-After and retries dropped connections."""
    base = (settings.slack_api_url or "https://slack.com/api/").rstrip("/") + "/"
    return WebClient(
        token=token or settings.slack_bot_token,
        base_url=base,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=3),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


def _not_the_token_warning(record: logging.LogRecord) -> bool:
    # Bolt warns that SLACK_BOT_TOKEN is "unused" whenever a client is given, though the client
    # carries that very token: a false alarm for whoever reads the log.
    return "`token` will be unused" not in record.getMessage()


def quiet_library_logs(settings: Settings) -> None:
    """Bolt and the SDK log request bodies (message text) at DEBUG: keep them at INFO or above
    unless RXDESK_LOG_CONTENT=true."""
    bolt_logger = logging.getLogger("slack_bolt.App")
    if _not_the_token_warning not in bolt_logger.filters:
        bolt_logger.addFilter(_not_the_token_warning)
    if settings.log_content:
        return
    for name in ("slack_bolt", "slack_sdk"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)


@dataclass
class Registry:
    """Registers listeners on the Bolt app and remembers them: (kind, name) pairs."""

    bolt: App
    registered: list[tuple[str, str]] = field(default_factory=list)
    listeners: int = 0  # listeners added to the Bolt app (the Assistant's live in its middleware)

    def _add(self, kind: str, name: str) -> None:
        self.registered.append((kind, name))
        self.listeners += 1

    def command(self, name: str, fn: Callable[..., Any]) -> None:
        self._add("command", name)
        self.bolt.command(name)(fn)

    def event(self, name: str, fn: Callable[..., Any], **kwargs: Any) -> None:
        self._add("event", name)
        self.bolt.event(name, **kwargs)(fn)

    def action(self, action_id: str, fn: Callable[..., Any]) -> None:
        self._add("action", action_id)
        self.bolt.action(action_id)(fn)

    def view(self, callback_id: str, fn: Callable[..., Any]) -> None:
        self._add("view", callback_id)
        self.bolt.view(callback_id)(fn)

    def assistant(self, assistant: Assistant, events: list[str]) -> None:
        self.registered.extend(("event", e) for e in events)
        self.bolt.assistant(assistant)


class SlackApp:
    """The Bolt app with its worker pool and digest job."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        respond: RespondFn = real_respond,
        client: WebClient | None = None,
        instance: str | None = None,
        digest_interval: float = 30.0,
    ) -> None:
        quiet_library_logs(settings)
        self.settings = settings
        self.store = store
        self.client = client or make_client(settings)
        self.listeners = Pool(LISTENER_THREADS, "rxdesk-slack-listen")
        self.work = Pool(settings.slack_workers, "rxdesk-slack-work", nice=WORKER_NICE)
        self.deps = Deps(
            settings=settings,
            store=store,
            client=self.client,
            respond=respond,
            work=self.work,
            model=chat_model(settings),
        )
        self.bolt = App(
            client=self.client,
            signing_secret=settings.slack_signing_secret or "",
            listener_executor=self.listeners,
            ignoring_self_events_enabled=True,
        )
        self.registry = Registry(self.bolt)
        self.digest = DigestJob(
            store, self.client, default_time=settings.digest_time, instance=instance, interval=digest_interval
        )
        register(self.registry, self.deps)

    def wait_idle(self, timeout: float = 15.0) -> bool:
        """True once no listener and no queued work is left (tests wait on this, not on a clock)."""
        for _ in range(100):
            if not (self.listeners.wait_idle(timeout) and self.work.wait_idle(timeout)):
                return False
            if self.listeners.pending == 0 and self.work.pending == 0:
                return True
        return False

    def warm_up(self) -> None:
        """Load, on one thread before requests arrive, what the first answers would otherwise load
        concurrently: the SOP index and model, and the code sets the /draft form needs (its trigger
        expires after 3 seconds)."""
        from assistant.drafting.extract import extract_case
        from assistant.sops.service import retriever_for

        def load() -> None:
            extract_case("warm up: Ozempic, T2DM, A1c 8.7% on 10/2")
            retriever = retriever_for(self.settings)
            if not retriever.index.is_empty():
                retriever.search("warm up", "hybrid")

        # on a worker thread: the model's own threads start there and share its lower priority
        try:
            self.work.submit(load).result(timeout=300)
        except Exception as exc:  # an empty or missing index is reported when someone asks
            log.warning("warm-up incomplete: %s", type(exc).__name__)

    def close(self) -> None:
        self.digest.stop()
        self.listeners.shutdown(wait=True)
        self.work.shutdown(wait=True)


def create_app(
    settings: Settings, store: Store, *, respond: RespondFn = real_respond, **options: Any
) -> SlackApp:
    """The Slack app over ``store``, answering chat through ``respond`` (default: the real one).
    ``options``: ``client``, ``instance`` (the name on digest claims), ``digest_interval``."""
    return SlackApp(settings, store, respond=respond, **options)


# ---- listeners: build the request object, acknowledge, hand over ---------------------------------


def _is_from_a_bot(event: dict[str, Any]) -> bool:
    return bool(event.get("bot_id") or event.get("bot_profile") or event.get("subtype") == "bot_message")


def register(reg: Registry, deps: Deps) -> None:
    bolt = reg.bolt

    @bolt.middleware
    def ignore_bots(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse | None:  # noqa: A002
        """Other bots' messages (and our own) are acknowledged and dropped: two bots must never
        answer each other."""
        event = body.get("event") or {}
        if body.get("type") == "event_callback" and _is_from_a_bot(event):
            return BoltResponse(status=200, body="")
        return next()

    # -- conversations
    def on_mention(body: dict[str, Any]) -> None:
        conversation.accept(deps, SlackMessage.from_event(body, "mention"))

    def on_direct_message(body: dict[str, Any]) -> None:
        event = body["event"]
        if event.get("channel_type") != "im" or event.get("subtype"):
            return  # edits, joins, file shares without a question ...
        conversation.accept(deps, SlackMessage.from_event(body, "dm"))

    reg.event(ids.EVENT_APP_MENTION, on_mention)
    reg.event(ids.EVENT_MESSAGE, on_direct_message)

    assistant = Assistant()

    @assistant.thread_started
    def on_thread_started(body: dict[str, Any]) -> None:
        deps.safely(
            "thread started",
            lambda: conversation.thread_started(deps, ThreadStarted.from_event(body)),
            _log_only,
        )

    @assistant.user_message
    def on_assistant_message(body: dict[str, Any]) -> None:
        conversation.accept(deps, SlackMessage.from_event(body, "assistant"))

    @assistant.thread_context_changed
    def on_thread_context_changed() -> None:
        """Which channel the person is looking at: not used (answers do not depend on it)."""

    reg.assistant(assistant, [ids.EVENT_THREAD_STARTED, ids.EVENT_THREAD_CONTEXT_CHANGED, ids.EVENT_MESSAGE])

    # -- slash commands
    def command(handler: Callable[[Deps, SlashCommand, Respond], None]) -> Callable[..., None]:
        def listener(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
            ack()
            handler(deps, SlashCommand.from_body(body), respond)

        return listener

    reg.command(ids.CMD_SOP, command(commands.sop))
    reg.command(ids.CMD_DRAFT, command(commands.draft))
    reg.command(ids.CMD_DEADLINES, command(commands.deadlines))
    reg.command(ids.CMD_DIGEST, command(commands.digest))

    # -- buttons, routed in one place
    routes: dict[str, Callable[[Deps, ButtonClick], None]] = {
        ids.APPROVE: drafts.on_approve,
        ids.REQUEST_CHANGES: drafts.on_request_changes,
        ids.EDIT: drafts.on_edit,
        ids.DOWNLOAD_PDF: drafts.on_download,
        ids.DOWNLOAD_DOCX: drafts.on_download,
        ids.HELPFUL: feedback.on_vote,
        ids.NOT_HELPFUL: feedback.on_vote,
    }

    def on_button(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        click = ButtonClick.from_body(body)
        if not deps.first_time(f"slack-action:{click.trigger_id}" if click.trigger_id else None):
            return  # the same click delivered twice
        routes[click.action_id](deps, click)

    for action_id in routes:
        reg.action(action_id, on_button)

    def on_share(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        feedback.on_share(deps, ButtonClick.from_body(body), respond)

    reg.action(ids.SHARE_ANSWER, on_share)

    # -- forms: checked before the ack, so problems show under their field
    forms: dict[str, Callable[[Deps, ModalSubmit, Ack], None]] = {
        ids.VIEW_NEW_DRAFT: drafts.submit_new_draft,
        ids.VIEW_EDIT_DRAFT: drafts.submit_edit,
        ids.VIEW_REQUEST_CHANGES: drafts.submit_request_changes,
        ids.VIEW_APPROVE_OVERRIDE: drafts.submit_override,
    }

    def on_submit(ack: Ack, body: dict[str, Any]) -> None:
        submit = ModalSubmit.from_body(body)
        key = f"slack-view:{submit.view_id}:{submit.view_hash}" if submit.view_id else None
        if not deps.first_time(key):
            ack()  # the same submission again (a replay): it was handled
            return
        accepted = False

        def ack_once(**kwargs: Any) -> None:
            nonlocal accepted
            accepted = kwargs.get("response_action") != "errors"
            ack(**kwargs)

        try:
            forms[submit.callback_id](deps, submit, ack_once)  # type: ignore[arg-type]
        finally:
            if key and not accepted:  # turned back with errors: the corrected form comes with the same key
                deps.forget(key)

    for callback_id in forms:
        reg.view(callback_id, on_submit)


def _log_only(text: str) -> None:
    log.warning("assistant thread start failed: %s", text)
