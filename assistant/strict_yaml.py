"""One strict YAML reader for every file people write by hand (cases, staff, obligations, SOP front matter).

PyYAML's ``safe_load`` is lenient in three ways that lose or corrupt data silently: a key written
twice keeps the last value, an unquoted ``dob: 2026-02-30`` raises a bare ``ValueError`` from the
date constructor (a traceback instead of a message), and anchors/aliases let a tiny file expand into
a huge document. Here a duplicate key is an error naming the key and line, dates stay strings (the
pydantic models parse and report them against their field), and aliases are refused.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from assistant.errors import InvalidInput


class StrictLoader(yaml.SafeLoader):
    """SafeLoader without duplicate keys, date objects or aliases."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ConstructorError(None, None, "aliases (*name) are not allowed", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:  # type: ignore[override]
        seen: dict[Any, Any] = {}
        for key_node, _value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise ConstructorError(None, None, "merge keys (<<) are not allowed", key_node.start_mark)
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                raise ConstructorError(
                    None, None, "a mapping key must be text", key_node.start_mark
                ) from None
            if key in seen:
                raise ConstructorError(
                    None, None, f"duplicate key '{key}' (first at line {seen[key] + 1})", key_node.start_mark
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


StrictLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


def load(text: str, name: str) -> Any:
    """Parse ``text`` (from the file ``name``); a one-line :class:`InvalidInput` on any problem."""
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}" if mark else ""
        problem = (exc.problem or exc.context or "").strip()
        if problem.startswith(("duplicate key", "aliases", "merge keys", "a mapping key")):
            raise InvalidInput(f"{name}: {problem}{where}") from None
        raise InvalidInput(f"{name}: not valid YAML{where}" + (f" ({problem})" if problem else "")) from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{name}: not valid YAML ({str(exc).splitlines()[0]})") from None
    except RecursionError:
        raise InvalidInput(f"{name}: nested too deeply") from None
