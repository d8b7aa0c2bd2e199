"""Our agent middleware, on LangChain's hooks; the limits, retries and confirmation come from
LangChain itself (see :mod:`assistant.agent.agent`).

- :class:`PseudonymizeAndRecord` (``wrap_model_call``, innermost): every request the model sees is
  pseudonymized (unless a BAA covers the endpoint), every call is recorded in ``llm_calls``, and the
  model's reply gets the real values back before the agent acts on it.
- :class:`AskedForIt` (``wrap_tool_call``): a tool that changes state runs only when the person's own
  message asked for that kind of thing, so text inside an SOP or a document cannot trigger it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage, messages_to_dict

from assistant.agent.llm_log import record_call
from assistant.agent.pseudonymize import Pseudonymizer
from assistant.agent.tools import STATE_CHANGING
from assistant.store import Store


def human_texts(messages: list[BaseMessage]) -> list[str]:
    return [m.text for m in messages if isinstance(m, HumanMessage)]


def conversation_pseudonymizer(
    messages: list[BaseMessage], *, extra_names: list[str] | None = None
) -> Pseudonymizer:
    pz = Pseudonymizer()
    for text in human_texts(messages):
        pz.learn(text)
    pz.learn_names(extra_names or [])
    return pz


def _map_message(m: BaseMessage, fn: Callable[[str], str], args_fn: Callable[[Any], Any]) -> BaseMessage:
    content = m.content
    if isinstance(content, str):
        content = fn(content)
    elif isinstance(content, list):
        content = [
            {**part, "text": fn(part["text"])} if isinstance(part, dict) and "text" in part else part
            for part in content
        ]
    update: dict[str, Any] = {"content": content}
    if isinstance(m, AIMessage) and m.tool_calls:
        update["tool_calls"] = [{**tc, "args": args_fn(tc["args"])} for tc in m.tool_calls]
    return m.model_copy(update=update)


class PseudonymizeAndRecord(AgentMiddleware):
    def __init__(
        self, store: Store, *, actor: str, conversation_id: str | None, model_name: str, baa: bool
    ) -> None:
        super().__init__()
        self.store = store
        self.actor = actor
        self.conversation_id = conversation_id
        self.model_name = model_name
        self.baa = baa

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]) -> Any:
        pz = Pseudonymizer() if self.baa else conversation_pseudonymizer(request.messages)
        masked = [_map_message(m, pz.mask, pz.mask_value) for m in request.messages]
        sent = {
            "system": request.system_message.text if request.system_message else None,
            "messages": messages_to_dict(masked),
            "tools": [getattr(t, "name", None) or t.get("name") for t in request.tools],  # type: ignore[union-attr]
        }
        started = time.perf_counter()
        try:
            response = handler(request.override(messages=masked))
        except Exception as exc:
            self._record(sent, None, None, started, f"error:{type(exc).__name__}")
            raise
        ai = next((m for m in response.result if isinstance(m, AIMessage)), None)
        usage = (ai.usage_metadata or {}) if ai is not None else {}
        self._record(sent, messages_to_dict(response.result), usage, started, "ok")
        restored = [
            _map_message(m, pz.unmask, lambda a: pz.unmask_value(a, as_argument=True))
            for m in response.result
        ]
        return ModelResponse(result=restored, structured_response=response.structured_response)

    def _record(self, sent: Any, received: Any, usage: Any, started: float, outcome: str) -> None:
        record_call(
            self.store,
            conversation_id=self.conversation_id,
            actor=self.actor,
            model=self.model_name,
            request=sent,
            response=received,
            prompt_tokens=(usage or {}).get("input_tokens"),
            completion_tokens=(usage or {}).get("output_tokens"),
            latency_ms=(time.perf_counter() - started) * 1000,
            outcome=outcome,
            pseudonymized=not self.baa,
        )


_ASKS = {
    "start_draft": re.compile(
        r"\b(?:draft|pa|prior auth\w*|appeal|letter|sbar|soap|note|cmr|action plan|med(?:ication)? list|"
        r"fax|write|start|prepare|document)\b",
        re.I,
    ),
    "update_draft": re.compile(r"\b(?:draft|update|change|fix|edit|add|correct|remove|replace|set)\b", re.I),
    "track_pa": re.compile(r"\b(?:track|submitted|sent|follow[- ]?up|pa|prior auth\w*)\b", re.I),
    "record_completion": re.compile(
        r"\b(?:done|did|completed?|finished|renewed|record|mark|logged|submitted|filed)\b", re.I
    ),
}


def asked_for(tool: str, message: str) -> bool:
    pattern = _ASKS.get(tool)
    return pattern is None or bool(pattern.search(message))


class AskedForIt(AgentMiddleware):
    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        name = request.tool_call["name"]
        if name in STATE_CHANGING:
            messages = request.state.get("messages", []) if isinstance(request.state, dict) else []
            last_human = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
            if not asked_for(name, last_human):
                return ToolMessage(
                    content=f"REFUSED: the person did not ask for {name.replace('_', ' ')} in this message.",
                    tool_call_id=request.tool_call["id"],
                    name=name,
                    status="error",
                )
        return handler(request)
