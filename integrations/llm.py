"""The chat model: LangChain's ChatOpenAI over any OpenAI-compatible endpoint.

Works with OpenAI, Azure OpenAI (its v1 endpoint: ``OPENAI_BASE_URL=https://NAME.openai.azure.com/openai/v1/``),
vLLM, Ollama (``http://127.0.0.1:11434/v1``) and llama.cpp's server (``http://127.0.0.1:8080/v1``).
Nothing here asks for a ``json_schema`` response format, which several local servers reject: tools
are plain function calling. Retries are the agent middleware's job, inside the turn's time budget,
so the client itself never retries.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from assistant.config import Settings

LOCAL_KEY = "not-needed"  # local servers ignore the key, but the client insists on one


def chat_model(settings: Settings) -> BaseChatModel | None:
    """The configured model, or None when no LLM is configured (the offline router answers).

    Streaming is left to LangChain: the model streams when a caller streams the agent's messages
    (Slack shows the reply as it is written) and makes plain requests otherwise."""
    if not settings.llm_enabled:
        return None
    return ChatOpenAI(
        model=settings.llm_model or "",
        api_key=settings.openai_api_key or LOCAL_KEY,  # type: ignore[arg-type]
        base_url=settings.openai_base_url,
        timeout=settings.llm_timeout_s,
        max_retries=0,
        temperature=0,
        stream_usage=True,
    )
