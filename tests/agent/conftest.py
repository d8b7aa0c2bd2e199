"""Agent fixtures: the shipped SOP index, staff and calendar in a temp data dir, and a fake
OpenAI-compatible server the real client talks to."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.agent.replies import ChatContext
from assistant.calendar.library import import_library
from assistant.config import REPO_ROOT, Settings
from assistant.principal import OPERATOR, Principal
from assistant.staff import get_staff, import_staff
from assistant.store import Store, open_store
from integrations.llm import chat_model
from tests.fake_openai import FakeOpenAI

OBLIGATIONS = REPO_ROOT / "knowledge" / "compliance" / "obligations.yaml"


@pytest.fixture
def fake_llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def agent_settings(shipped_data_dir: Path, tmp_path: Path, fake_llm: FakeOpenAI) -> Settings:
    data_dir = tmp_path / "data"
    shutil.copytree(shipped_data_dir, data_dir)
    return Settings(  # type: ignore[call-arg]
        data_dir=data_dir,
        _env_file=None,
        llm_model="fake-model",
        llm_timeout_s=3,
        OPENAI_BASE_URL=fake_llm.base_url,
        OPENAI_API_KEY="test-key",
    )


@pytest.fixture
def agent_store(agent_settings: Settings, staff_file: Path) -> Iterator[Store]:
    store = open_store(agent_settings)
    import_staff(store, staff_file, principal=OPERATOR)
    import_library(store, OBLIGATIONS, principal=OPERATOR)
    yield store
    store.dispose()


class Chat:
    """Talks to respond() as one person in one conversation."""

    def __init__(self, settings: Settings, store: Store, principal: Principal, *, llm: bool = True) -> None:
        self.ctx = ChatContext(
            settings=settings,
            store=store,
            principal=principal,
            conversation_id=f"test:{principal.id}",
            site="main",
            model=chat_model(settings) if llm else None,
        )

    def __call__(self, message: str, **kw):  # type: ignore[no-untyped-def]
        from assistant.agent.respond import respond

        return respond(message, self.ctx, **kw)


@pytest.fixture
def chat_as(agent_settings: Settings, agent_store: Store):  # type: ignore[no-untyped-def]
    def make(staff_id: str, *, llm: bool = True) -> Chat:
        return Chat(agent_settings, agent_store, get_staff(agent_store, staff_id).principal(), llm=llm)

    return make
