"""One chat turn with the LLM: LangChain's ``create_agent`` over the tools, with LangChain's own
middleware for the limits (model and tool calls per turn), retries and the confirmation step, ours
for pseudonymization and the "did the person ask for it" gate; the reply is built from what the tools
did, with the model's wording kept only where the guards allow.
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import (
    AgentMiddleware,
    HumanInTheLoopMiddleware,
    ModelCallLimitMiddleware,
    ModelRequest,
    ModelRetryMiddleware,
    PIIMiddleware,
    ToolCallLimitMiddleware,
)
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langgraph.types import Command

from assistant import audit
from assistant.agent import prompts
from assistant.agent.guards import check_grounding, grounded_prefix
from assistant.agent.memory import checkpointer
from assistant.agent.middleware import AskedForIt, PseudonymizeAndRecord, conversation_pseudonymizer
from assistant.agent.replies import (
    ChatContext,
    ConfirmReply,
    DeadlinesReply,
    DraftReply,
    ErrorReply,
    RecordedReply,
    Reply,
    SopReply,
)
from assistant.agent.router import handoff, route
from assistant.agent.tools import NEEDS_CONFIRMATION, ToolBox, TurnLog, build_tools
from assistant.roles import Action, can
from assistant.sops.answer import select_lines
from assistant.sops.models import Answer, Passage
from assistant.sops.service import retriever_for

SSN_PATTERN = r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b"
MODEL_CALLS_PER_TURN = 6
TOOL_CALLS_PER_TURN = 8
_YES = re.compile(r"^\s*(?:y|yes|yep|yeah|ok|okay|confirm(?:ed)?|go ahead|do it|sure|correct)\b", re.I)
_NO = re.compile(r"^\s*(?:n|no|nope|cancel|stop|don'?t|do not|wrong)\b", re.I)


class TurnCancelled(Exception):
    """The turn ran out of time; the offline answer has already been given."""


class _Cancellable(AgentMiddleware):
    """Outermost: a turn whose time is up makes no further model calls."""

    def __init__(self, cancelled: threading.Event) -> None:
        super().__init__()
        self.cancelled = cancelled

    def wrap_model_call(self, request: ModelRequest, handler: Any) -> Any:
        if self.cancelled.is_set():
            raise TurnCancelled()
        return handler(request)


@dataclass
class Turn:
    ctx: ChatContext
    model: Any  # a LangChain BaseChatModel
    cancelled: threading.Event = field(default_factory=threading.Event)
    log: TurnLog = field(default_factory=TurnLog)
    box: ToolBox | None = None

    @property
    def config(self) -> dict[str, Any]:
        thread = self.ctx.conversation_id or f"once:{uuid.uuid4().hex}"
        return {"configurable": {"thread_id": thread}, "recursion_limit": 40}

    def system_prompt(self) -> str:
        who = self.ctx.principal
        rule = "clinical_pharmacist" if can(who.role, Action.ASK_CLINICAL) else "clinical_technician"
        return prompts.load("system").format(
            who=who.name, role=who.role.value, clinical_rule=prompts.load(rule)
        )

    def build(self, box: ToolBox) -> Any:
        settings = self.ctx.settings
        return create_agent(
            self.model,
            build_tools(box),
            system_prompt=self.system_prompt(),
            checkpointer=checkpointer(self.ctx.store),
            middleware=[
                _Cancellable(self.cancelled),
                # identifiers with no business in a pharmacy chat never reach a model, BAA or not:
                # the turn stops and the offline router answers (LangChain's PII middleware)
                PIIMiddleware("credit_card", strategy="block"),
                PIIMiddleware("ssn", detector=SSN_PATTERN, strategy="block"),
                ModelCallLimitMiddleware(run_limit=MODEL_CALLS_PER_TURN, exit_behavior="end"),
                ToolCallLimitMiddleware(run_limit=TOOL_CALLS_PER_TURN, exit_behavior="end"),
                HumanInTheLoopMiddleware(
                    interrupt_on={
                        name: {"allowed_decisions": ["approve", "reject"]} for name in NEEDS_CONFIRMATION
                    }
                ),
                AskedForIt(),
                ModelRetryMiddleware(max_retries=1, initial_delay=0.2, max_delay=1.0, on_failure="error"),
                PseudonymizeAndRecord(
                    self.ctx.store,
                    actor=self.ctx.principal.id,
                    conversation_id=self.ctx.conversation_id,
                    model_name=settings.llm_model or "",
                    baa=settings.llm_baa,
                ),
            ],
        )

    def run(self, message: str, on_text: Any = None) -> Reply:
        box = self.box = ToolBox(self.ctx, self.log, said=[])
        agent = self.build(box)
        state = agent.get_state(self.config)
        history: list[BaseMessage] = list(state.values.get("messages", [])) if state.values else []
        box.said = [m.text for m in history if isinstance(m, HumanMessage)] + [message]
        if state.interrupts:
            if _YES.match(message):
                return self._finish(
                    agent, Command(resume={"decisions": [{"type": "approve"}]}), message, on_text
                )
            # anything else declines the pending step; a new request is then answered on its own
            self._invoke(
                agent, Command(resume={"decisions": [{"type": "reject", "message": "declined"}]}), None
            )
            if _NO.match(message):
                return ErrorReply(code="declined", message="Nothing was recorded.")
        else:
            self._close_dangling_tool_calls(agent, history)
        return self._finish(agent, {"messages": [HumanMessage(message)]}, message, on_text)

    def _close_dangling_tool_calls(self, agent: Any, history: list[BaseMessage]) -> None:
        """A turn cut short can leave tool calls without results; the next request would be refused."""
        answered = {m.tool_call_id for m in history if isinstance(m, ToolMessage)}
        missing = [
            ToolMessage(content="not run: the turn ended first", tool_call_id=tc["id"], name=tc["name"])
            for m in history
            if isinstance(m, AIMessage)
            for tc in m.tool_calls
            if tc["id"] not in answered
        ]
        if missing:
            agent.update_state(self.config, {"messages": missing})

    def _invoke(self, agent: Any, inputs: Any, on_text: Any) -> dict[str, Any]:
        if on_text is None:
            return agent.invoke(inputs, self.config)
        streamer = _Streamer(self, on_text)
        for chunk, meta in agent.stream(inputs, self.config, stream_mode="messages"):
            if isinstance(chunk, AIMessageChunk) and meta.get("langgraph_node") == "model":
                streamer.feed(chunk)
        streamer.flush()
        return agent.get_state(self.config).values

    def _finish(self, agent: Any, inputs: Any, message: str, on_text: Any) -> Reply:
        values = self._invoke(agent, inputs, on_text)
        state = agent.get_state(self.config)
        if state.interrupts:
            return self._confirmation(state.interrupts[0].value).model_copy(update={"answered_by": "agent"})
        messages = values.get("messages", [])
        final = next((m for m in reversed(messages) if isinstance(m, AIMessage) and not m.tool_calls), None)
        return self.reply(message, final.text if final is not None else "")

    def reply(self, question: str, text: str) -> Reply:
        reply = self._reply(question, text)
        if self.log.tool_calls:  # built from what the agent's tools did
            return reply.model_copy(update={"answered_by": "agent"})
        return reply

    def _confirmation(self, request: Any) -> ConfirmReply:
        action = (request.get("action_requests") or [{}])[0] if isinstance(request, dict) else {}
        args = {k: str(v) for k, v in (action.get("args") or {}).items()}
        return ConfirmReply(action=str(action.get("name", "record_completion")), details=args)

    def _reply(self, question: str, text: str) -> Reply:
        log, ctx = self.log, self.ctx
        if log.handoff:
            return handoff(question, ctx).model_copy(update={"summary": log.handoff})
        if log.drafts:
            last = log.drafts[-1]
            return DraftReply(draft=last.draft, not_found=last.dropped)
        if log.completions or log.pas:
            return RecordedReply(
                completion=log.completions[-1] if log.completions else None,
                pa=log.pas[-1] if log.pas else None,
            )
        if log.refusals and not (log.sections or log.deadline_answers):
            return ErrorReply.of(log.refusals[-1])
        if log.searches:
            return self._sop_reply(question, text)
        if log.deadline_answers:
            answer = log.deadline_answers[-1]
            return DeadlinesReply(answer=answer, text=text if _dates_listed(text, answer) else None)
        return route(question, ctx)  # the model used no tool: its words are not grounded in anything

    def _sop_reply(self, question: str, text: str) -> Reply:
        log, ctx = self.log, self.ctx
        role = ctx.principal.role.value
        if not log.covered or not log.sections:
            return SopReply(answer=Answer(question=question, outcome="not_covered", role=role))
        bodies = {n: s.text for n, s in log.sections.items()}
        verdict = check_grounding(text, bodies, log.shown_sop_ids)
        idf = retriever_for(ctx.settings).bm25.idf
        if verdict.ok:
            cited = verdict.cited
        else:
            audit.record(
                ctx.store,
                actor=ctx.principal.id,
                action="agent.grounding_fallback",
                detail={"reason": verdict.reason, "cited": verdict.cited, "shown": len(log.sections)},
            )
            cited = [min(log.sections)]
        passages = []
        for n in cited:
            s = log.sections[n]
            passages.append(
                Passage(
                    n=n,
                    sop_id=s.sop_id,
                    title=s.title,
                    section=s.section,
                    source=s.source,
                    score=s.score,
                    version=s.version,
                    lines=select_lines(question, s.text, idf),
                )
            )
        answer = Answer(question=question, outcome="answered", passages=passages, role=role)
        return SopReply(answer=answer, text=text if verdict.ok else None)


def _dates_listed(text: str, answer: Any) -> bool:
    if not text:
        return False
    listed = " ".join(f"{o.due.isoformat()} {o.title} {o.id}" for o in answer.occurrences)
    dates = re.findall(r"\d{4}-\d{2}-\d{2}", text)
    numbers = re.findall(r"(?<![\w.-])\d+(?![\w.-])", re.sub(r"\d{4}-\d{2}-\d{2}", " ", text))
    return all(d in listed for d in dates) and all(n in listed for n in numbers)


class _Streamer:
    """Streams the final answer sentence by sentence, each only once its facts check out against
    what the tools returned; on the first one that does not, streaming stops (the final reply, built
    by the guards, replaces what was shown)."""

    def __init__(self, turn: Turn, on_text: Any) -> None:
        self.turn = turn
        self.on_text = on_text
        self.buffer = ""
        self.stopped = False
        self.pz = None

    def feed(self, chunk: AIMessageChunk) -> None:
        if self.stopped or chunk.tool_call_chunks or not self.turn.log.sections:
            return
        self.buffer += chunk.text
        *done, self.buffer = re.split(r"(?<=[.!?\n])\s+", self.buffer)
        for sentence in done:
            self._emit(sentence)

    def flush(self) -> None:
        if self.buffer.strip():
            self._emit(self.buffer)
        self.buffer = ""

    def _emit(self, sentence: str) -> None:
        if self.stopped or not sentence.strip():
            return
        source = "\n".join(s.text for s in self.turn.log.sections.values())
        text = sentence
        if not self.turn.ctx.settings.llm_baa:
            if self.pz is None:
                said = self.turn.box.said if self.turn.box else []
                self.pz = conversation_pseudonymizer([HumanMessage(t) for t in said])
            text = self.pz.unmask(sentence)
        if not grounded_prefix(text, source):
            self.stopped = True
            return
        self.on_text(text + " ")
