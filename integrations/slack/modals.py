"""Modals (Block Kit views): the case form of ``/draft`` and Edit, the change-request reason and the
approval override reason; and turning a submitted case form back into a :class:`Case`.

The case form has one input per single-valued fact the document kind requires (patient name, date
of birth, member ID, drug ...), prefilled from whatever the shorthand or the stored case says, plus
"more facts" boxes holding the case's lists (medications, labs, prior therapies ...) as YAML, so no
fact of the case is dropped by the form. Slack limits: a text input holds 3,000 characters, a modal
100 blocks, a title 24 characters.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import types
import typing
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from assistant.drafting.case import Case, parse_case
from assistant.drafting.kinds import get_kind
from assistant.errors import InvalidInput
from integrations.slack import actions as ids
from integrations.slack.blocks import Block, context, esc

MAX_INPUT_CHARS = 3000
MAX_TITLE_CHARS = 24
_FIELD_IN_ERROR = re.compile(r"field '([^']+)'")


class FormError(Exception):
    """A submitted form Slack should show with the message under one of its inputs."""

    def __init__(self, block_id: str, message: str) -> None:
        super().__init__(message)
        self.block_id = block_id
        self.message = message


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def modal(callback_id: str, title: str, submit: str, meta: dict[str, Any], blocks: list[Block]) -> Block:
    """A modal view; ``meta`` travels in private_metadata and comes back with the submission."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title[:MAX_TITLE_CHARS]),
        "submit": plain(submit),
        "close": plain("Cancel"),
        "private_metadata": json.dumps(meta),
        "blocks": blocks[:100],
    }


def _unwrap(annotation: Any) -> Any:
    """``X | None`` and ``Annotated[X, ...]`` -> X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _leaf(path: str) -> Any | None:
    """The type of a single-valued case field at ``path`` ("request.days_supply" -> int), else None."""
    model: type[BaseModel] = Case
    parts = path.split(".")
    for part in parts[:-1]:
        field = model.model_fields.get(part)
        inner = _unwrap(field.annotation) if field else None
        if not (isinstance(inner, type) and issubclass(inner, BaseModel)):
            return None
        model = inner
    field = model.model_fields.get(parts[-1])
    if field is None:
        return None
    leaf = _unwrap(field.annotation)
    if typing.get_origin(leaf) is list or (isinstance(leaf, type) and issubclass(leaf, BaseModel)):
        return None
    return leaf


def form_fields(kind: str) -> list[tuple[str, str, Any]]:
    """(path, label, type) of the single-valued facts the kind requires, in the kind's order."""
    out = []
    for path, label in get_kind(kind).REQUIRED.items():
        leaf = _leaf(path) if "[]" not in path else None
        if leaf is not None:
            out.append((path, label[:1].upper() + label[1:], leaf))
    return out


def _get(data: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)  # type: ignore[assignment]
    return data


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        data = data.setdefault(part, {})
    data[parts[-1]] = value


def _pop(data: dict[str, Any], path: str) -> None:
    parts = path.split(".")
    trail = [data]
    for part in parts[:-1]:
        nxt = trail[-1].get(part)
        if not isinstance(nxt, dict):
            return
        trail.append(nxt)
    trail[-1].pop(parts[-1], None)
    for parent, part in zip(reversed(trail[:-1]), reversed(parts[:-1]), strict=True):
        if parent.get(part) == {}:
            parent.pop(part)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value)


def _input(path: str, label: str, leaf: Any, value: Any) -> Block:
    block_id = ids.FIELD_PREFIX + path
    if typing.get_origin(leaf) is Literal:
        options = [{"text": plain(str(o)), "value": str(o)} for o in typing.get_args(leaf)]
        element: Block = {"type": "static_select", "action_id": ids.INPUT, "options": options}
        chosen = next((o for o in options if o["value"] == _as_text(value)), None)
        if chosen:
            element["initial_option"] = chosen
    else:
        element = {"type": "plain_text_input", "action_id": ids.INPUT, "max_length": MAX_INPUT_CHARS}
        if leaf is dt.date:
            element["placeholder"] = plain("YYYY-MM-DD")
        elif leaf is bool:
            element["placeholder"] = plain("yes or no")
        if _as_text(value):
            element["initial_value"] = _as_text(value)[:MAX_INPUT_CHARS]
    return {
        "type": "input",
        "block_id": block_id,
        "optional": True,
        "label": plain(label[:2000]),
        "element": element,
    }


def _yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def more_facts_chunks(rest: dict[str, Any]) -> list[str]:
    """The case's remaining facts as YAML texts of at most 3,000 characters each (a long list is split
    across boxes; the form merges them back)."""
    pieces: list[str] = []
    for key, value in rest.items():
        text = _yaml({key: value})
        if len(text) <= MAX_INPUT_CHARS:
            pieces.append(text)
            continue
        if not isinstance(value, list):
            raise InvalidInput(f"the case's '{key}' is too long to edit in a Slack form", field=key)
        batch: list[Any] = []
        for item in value:
            if len(_yaml({key: [*batch, item]})) > MAX_INPUT_CHARS:
                if not batch:
                    raise InvalidInput(
                        f"an entry of the case's '{key}' is too long to edit in a Slack form", field=key
                    )
                pieces.append(_yaml({key: batch}))
                batch = []
            batch.append(item)
        if batch:
            pieces.append(_yaml({key: batch}))
    chunks: list[str] = []
    for piece in pieces:  # pack small pieces together
        if chunks and len(chunks[-1]) + len(piece) <= MAX_INPUT_CHARS:
            chunks[-1] += piece
        else:
            chunks.append(piece)
    return chunks


def draft_form(
    kind: str,
    case: Case,
    *,
    callback_id: str,
    title: str,
    submit: str,
    meta: dict[str, Any],
    note: str | None = None,
) -> Block:
    """The case form for ``kind``, prefilled from ``case``."""
    data = case.model_dump(mode="json", exclude_defaults=True)
    fields = form_fields(kind)
    blocks: list[Block] = [
        context(
            note
            or "Only facts someone supplied go in the draft: leave a field empty when you don't know it, "
            "and it is listed as missing."
        )
    ]
    for path, label, leaf in fields:
        blocks.append(_input(path, label, leaf, _get(data, path)))
    rest = json.loads(json.dumps(data))
    for path, _, _ in fields:
        _pop(rest, path)
    chunks = more_facts_chunks(rest) or [""]
    for i, text in enumerate(chunks):
        element: Block = {
            "type": "plain_text_input",
            "action_id": ids.INPUT,
            "multiline": True,
            "max_length": MAX_INPUT_CHARS,
            "placeholder": plain("medications, labs, prior therapies … as YAML"),
        }
        if text:
            element["initial_value"] = text
        label = "More facts (YAML)" + (f", part {i + 1}" if len(chunks) > 1 else "")
        blocks.append(
            {
                "type": "input",
                "block_id": f"{ids.MORE_FACTS_PREFIX}{i}",
                "optional": True,
                "label": plain(label),
                "element": element,
            }
        )
    return modal(callback_id, title, submit, meta, blocks)


def _selected(values: dict[str, Any]) -> str:
    element = values.get(ids.INPUT) or {}
    if element.get("type") == "static_select" or "selected_option" in element:
        return ((element.get("selected_option") or {}).get("value")) or ""
    return (element.get("value") or "").strip()


def _merge(into: dict[str, Any], data: dict[str, Any]) -> None:
    for key, value in data.items():
        if isinstance(value, list) and isinstance(into.get(key), list):
            into[key] = into[key] + value
        elif isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def case_from_form(kind: str, values: dict[str, dict[str, Any]]) -> Case:
    """The submitted form as a case; :class:`FormError` names the input to fix."""
    data: dict[str, Any] = {}
    more = sorted(
        (b for b in values if b.startswith(ids.MORE_FACTS_PREFIX)), key=lambda b: int(b.split(":")[1])
    )
    for block_id in more:
        text = _selected(values[block_id])
        if not text:
            continue
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark else ""
            raise FormError(block_id, f"not valid YAML{where}") from None
        if loaded is None:
            continue
        if not isinstance(loaded, dict):
            raise FormError(block_id, "expected facts like 'medications:' followed by a list")
        _merge(data, loaded)
    for path, _, _ in form_fields(kind):
        text = _selected(values.get(ids.FIELD_PREFIX + path) or {})
        if text:
            _set(data, path, text)
    try:
        return parse_case(data, "the form")
    except InvalidInput as exc:
        raise FormError(
            _block_for(exc.message, values, more), exc.message.removeprefix("the form: ")
        ) from None


def _block_for(message: str, values: dict[str, Any], more: list[str]) -> str:
    m = _FIELD_IN_ERROR.search(message)
    path = m.group(1) if m else ""
    if ids.FIELD_PREFIX + path in values:
        return ids.FIELD_PREFIX + path
    top = re.split(r"[.\[]", path)[0] if path else ""
    for block_id in more:
        if re.search(rf"(?m)^{re.escape(top)}:", _selected(values[block_id])):
            return block_id
    return more[0] if more else next(iter(values), ids.MORE_FACTS_PREFIX + "0")


def reason_form(
    *, callback_id: str, title: str, submit: str, label: str, block_id: str, meta: dict[str, Any], note: str
) -> Block:
    """A one-question modal (what needs to change; why approve with facts missing)."""
    return modal(
        callback_id,
        title,
        submit,
        meta,
        [
            {"type": "section", "text": {"type": "mrkdwn", "text": esc(note)[:3000]}},
            {
                "type": "input",
                "block_id": block_id,
                "label": plain(label),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.INPUT,
                    "multiline": True,
                    "max_length": MAX_INPUT_CHARS,
                },
            },
        ],
    )
