"""Shared helpers for document kinds: fact lookup with ``[MISSING: label]`` placeholders.

A kind declares ``REQUIRED``: path patterns (``medications[].sig`` means every medication's sig)
mapped to human labels. :class:`Filler` hands out either the fact from the case or a placeholder,
and records each placeholder in ``missing``. It never produces a value the case does not hold.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from assistant.drafting import codes
from assistant.drafting.case import Case

DRAFT_BANNER = "DRAFT - pending pharmacist review. Not for release until approved."


def missing_tag(label: str) -> str:
    return f"[MISSING: {label}]"


def fmt_date(d: dt.date | None) -> str:
    return d.strftime("%m/%d/%Y") if d else ""


class Filler:
    def __init__(self, case: Case, required: dict[str, str], prepared: dt.date) -> None:
        self.case = case
        self.required = required
        self.prepared = prepared
        self.missing: list[str] = []
        self.missing_paths: dict[str, str] = {}  # label -> path pattern, to decide what blocks approval

    # -- lookup --------------------------------------------------------------------------------
    def raw(self, path: str) -> Any:
        obj: Any = self.case
        for part in path.split("."):
            if obj is None:
                return None
            obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
        return obj

    @staticmethod
    def pattern(path: str) -> str:
        return re.sub(r"\.\d+(?=\.|$)", "[]", path)

    def is_required(self, path: str) -> bool:
        return self.pattern(path) in self.required

    def mark(self, label: str, path: str = "") -> str:
        if label not in self.missing:
            self.missing.append(label)
            self.missing_paths[label] = self.pattern(path) if path else ""
        return missing_tag(label)

    def get(self, path: str, *, label: str | None = None, blank: str = "", suffix: str = "") -> str:
        """The fact as text; a placeholder when it is required and absent; else ``blank``."""
        value = self.raw(path)
        if value is None or value == "" or value == []:
            if self.is_required(path):
                base = label or self.required[self.pattern(path)]
                return self.mark(base + suffix, path)
            return blank
        if isinstance(value, dt.date):
            return fmt_date(value)
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)

    def need_list(self, path: str) -> bool:
        """True when the list has items; marks it missing (when required) otherwise."""
        if self.raw(path):
            return True
        if self.is_required(path):
            self.mark(self.required[path], path)
        return False

    def need(self, path: str, label: str | None = None) -> str:
        """Mark a fact missing under its declared path (for facts composed by the kind)."""
        return self.mark(label or self.required[self.pattern(path)], path)

    # -- composed facts ------------------------------------------------------------------------
    def icd(self, path: str) -> str:
        value = self.get(path)
        if not value or value.startswith("[MISSING"):
            return value
        hit = codes.icd10_lookup(value)
        return f"{hit.code} - {hit.description}" if hit else f"{value} (not a valid ICD-10-CM code)"

    def measurement(self, section: str, i: int) -> tuple[str, str, str]:
        """(name, value with unit, date) for labs/vitals; the date is a placeholder when required."""
        name = self.get(f"{section}.{i}.name", blank="(unnamed)")
        value = self.get(f"{section}.{i}.value", suffix=f" for {name}")
        unit = self.get(f"{section}.{i}.unit")
        if unit and value and not value.startswith("[MISSING"):
            value = f"{value}{unit}" if unit == "%" else f"{value} {unit}"
        when = self.get(f"{section}.{i}.date", suffix=f" for {name}")
        return name, value, when

    def person_line(self, prefix: str, parts: list[tuple[str, str]]) -> str:
        return prefix + ", ".join(f"{k} {v}" if k else v for k, v in parts if v)
