"""Agent overhead per turn with a zero-latency model, and pseudonymizer throughput.

1. One chat turn through respond() with an in-process chat model that answers instantly (a search
   tool call, then a cited answer): everything the agent adds around the model (LangGraph, the
   middleware, the SQLite checkpointer, the llm_calls record, the guards). Baseline in the same run:
   the offline router answering the same questions. Target: agent overhead small next to a real
   model's latency (a hosted model takes 500-3,000 ms per call; SmolLM2 on this CPU see make test-llm).
2. Pseudonymizer: messages/s and MB/s over pharmacy chat messages full of identifiers. Baseline in the
   same run: LangChain's own email detector (PIIMiddleware's) over the same text, a one-pattern scan.

    .venv/bin/python bench/bench_agent.py
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from langchain.agents.middleware._redaction import detect_email  # noqa: E402
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel  # noqa: E402
from langchain_core.messages import AIMessage, ToolMessage  # noqa: E402

from assistant.agent.pseudonymize import Pseudonymizer  # noqa: E402
from assistant.agent.replies import ChatContext  # noqa: E402
from assistant.agent.respond import respond  # noqa: E402
from assistant.agent.router import route  # noqa: E402
from assistant.cli import main as cli  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.principal import OPERATOR  # noqa: E402
from assistant.staff import get_staff, import_staff  # noqa: E402
from assistant.store import open_store  # noqa: E402
from bench.synthetic_corpus import ROOT  # noqa: E402

QUESTIONS = [
    "the vaccine fridge read 9 C now what",
    "claim rejected with code 75 what do i do",
    "we found a short count on oxycodone, who do we tell",
    "how do we handle a drug recall notice",
    "patient wants to return unopened meds",
]
TURNS = 40


class InstantModel(GenericFakeChatModel):
    """Answers at once: first a search tool call, then a cited answer, for every question."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self

    def _generate(self, messages: list, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
        from langchain_core.outputs import ChatGeneration, ChatResult

        last = messages[-1]
        if isinstance(last, ToolMessage):
            msg = AIMessage(content="Follow the steps of the SOP [1].")
        else:
            msg = AIMessage(
                content="",
                tool_calls=[
                    {"name": "search_sops", "args": {"query": last.text}, "id": f"c{time.time_ns()}"}
                ],
            )
        return ChatResult(generations=[ChatGeneration(message=msg)])


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def agent_overhead(work: Path) -> None:
    data = work / "data"
    assert cli(["--data-dir", str(data), "ingest", str(ROOT / "knowledge" / "sops")]) == 0
    settings = Settings(data_dir=data, _env_file=None, llm_model="instant", llm_timeout_s=30)  # type: ignore[call-arg]
    store = open_store(settings)
    import_staff(store, ROOT / "knowledge" / "staff.example.yaml", principal=OPERATOR)
    bob = get_staff(store, "bsmith").principal()

    def ctx(i: int, model: Any) -> ChatContext:
        return ChatContext(
            settings=settings, store=store, principal=bob, conversation_id=f"b{i}", model=model
        )

    model = InstantModel(messages=iter(()))
    for q in QUESTIONS:  # warm: index, retriever, imports, checkpointer tables
        route(q, ctx(0, None))
        respond(q, ctx(0, model))
    offline, agent = [], []
    for i in range(TURNS):
        q = QUESTIONS[i % len(QUESTIONS)]
        t = time.perf_counter()
        route(q, ctx(i, None))
        offline.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        reply = respond(q, ctx(1000 + i, model))
        agent.append((time.perf_counter() - t) * 1000)
        assert reply.kind == "sop", reply
    print(f"offline router turn:  p50 {statistics.median(offline):6.1f} ms  p95 {pct(offline, 95):6.1f} ms")
    timeout_turns(settings, store, bob)
    print(f"agent turn (instant): p50 {statistics.median(agent):6.1f} ms  p95 {pct(agent, 95):6.1f} ms")
    print(
        f"agent overhead per turn (p50): {statistics.median(agent) - statistics.median(offline):.1f} ms "
        f"({statistics.median(agent) / statistics.median(offline):.1f}x the offline turn; 2 model calls, 1 tool)"
    )
    store.dispose()


def timeout_turns(settings: Settings, store: Any, bob: Any) -> None:
    """A model that never answers in time: the person still gets the offline answer within the budget
    + 1 s (the contract). Measured against a local server that sleeps 30 s, budget 2 s."""
    from integrations.llm import chat_model
    from tests.fake_openai import FakeOpenAI

    with FakeOpenAI() as slow:
        slow.default = {"sleep": 30, "text": "too late"}
        budget = settings.model_copy(update={"llm_timeout_s": 2.0, "openai_base_url": slow.base_url})
        ctx = ChatContext(settings=budget, store=store, principal=bob, model=chat_model(budget))
        waits = []
        for q in QUESTIONS[:3]:
            t = time.perf_counter()
            reply = respond(q, ctx)
            waits.append(time.perf_counter() - t)
            assert reply.notice, reply
        print(
            f"model that never answers (budget 2.0 s): offline answer after "
            f"{min(waits):.2f}-{max(waits):.2f} s (contract: <= 3.0 s)"
        )


MESSAGES = [
    "start a PA for Mrs. Margaret Johnson's Ozempic 0.5 mg weekly, DOB 4/17/1952, member id ZX99812",
    "pt Maria Lopez called from (555) 201-3344 about Rx #7734521, lives at 12 Oak Street",
    "A1c 8.7% on 10/2, failed metformin 1000 bid x6mo GI upset; email mlopez@example.org",
    "the vaccine fridge read 9 C this morning, what now?",
]


def pseudonymizer_throughput() -> None:
    conversation = MESSAGES * 250  # 1,000 messages
    size_mb = sum(len(m.encode()) for m in conversation) / 1e6
    t = time.perf_counter()
    pz = Pseudonymizer()
    for m in conversation:
        pz.learn(m)
    masked = [pz.mask(m) for m in conversation]
    restored = [pz.unmask(m) for m in masked]
    ours = time.perf_counter() - t
    assert restored == conversation
    t = time.perf_counter()
    for m in conversation:
        detect_email(m)
    base = time.perf_counter() - t
    n = len(conversation)
    print(
        f"pseudonymizer (detect + mask + restore): {n / ours:,.0f} messages/s, {size_mb / ours:.2f} MB/s; "
        f"baseline LangChain email detector alone: {n / base:,.0f} messages/s ({ours / base:.0f}x its time)"
    )


if __name__ == "__main__":
    work = Path(tempfile.mkdtemp(prefix="rxdesk-bench-agent-"))
    try:
        pseudonymizer_throughput()
        agent_overhead(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
