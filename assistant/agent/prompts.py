"""LLM prompts are files in ``prompts/``, loaded by name (``load("system")`` reads system.md)."""

from __future__ import annotations

import re
from functools import lru_cache

from assistant.config import REPO_ROOT
from assistant.errors import InvalidInput

PROMPTS_DIR = REPO_ROOT / "prompts"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@lru_cache(maxsize=32)
def load(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidInput(f"bad prompt name '{name}'")
    path = PROMPTS_DIR / f"{name}.md"
    if not path.is_file():
        raise InvalidInput(f"prompt '{name}' not found in {PROMPTS_DIR.name}/")
    return path.read_text(encoding="utf-8").strip()
