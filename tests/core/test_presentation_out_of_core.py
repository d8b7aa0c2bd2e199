"""The core returns data: no Block Kit and no command-line flags in anything under assistant/
outside the CLI adapter (docstrings and comments may mention them)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from assistant.config import REPO_ROOT

CORE = REPO_ROOT / "assistant"
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
COMMAND = re.compile(
    r"\brxdesk (?:ingest|review|deadlines|calendar|staff|draft|ask|pa|digest|audit|chat|serve|eval|schema)\b"
)
BLOCK_KIT = {"mrkdwn", "plain_text", "actions", "static_select"}


def _core_files() -> list[Path]:
    return sorted(p for p in CORE.rglob("*.py") if "cli" not in p.relative_to(CORE).parts)


def _strings(tree: ast.AST) -> list[ast.Constant]:
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_core_module_has_no_flags_commands_or_block_kit(path: Path) -> None:
    tree = ast.parse(path.read_text())
    problems = []
    for node in _strings(tree):
        text = node.value
        if FLAG.search(text) or COMMAND.search(text):
            problems.append(f"line {node.lineno}: names a CLI flag or command: {text[:60]!r}")
        if text in BLOCK_KIT:
            problems.append(f"line {node.lineno}: builds Block Kit ({text!r})")
    assert problems == []


def test_the_check_catches_what_it_claims() -> None:
    bad = ast.parse('"""Docstrings may say --as."""\nx = "needs --as STAFF_ID"\ny = {"type": "mrkdwn"}\n')
    texts = [n.value for n in _strings(bad)]
    assert "Docstrings may say --as." not in texts
    assert any(FLAG.search(t) for t in texts) and "mrkdwn" in texts
