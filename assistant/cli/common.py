"""Shared CLI plumbing: the root app, global options, output helpers, acting-as resolution."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel

from assistant.config import Settings, load_settings
from assistant.files import protected_paths, safe_write
from assistant.principal import OPERATOR, Principal
from assistant.staff import get_staff
from assistant.store import Store, open_store

app = typer.Typer(
    name="rxdesk",
    help="rxdesk: cited SOP answers, drafts for pharmacist review, and the compliance calendar.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON (stable shape).")
AsOpt = typer.Option(
    None, "--as", help="Act as this staff id (see: rxdesk staff list); without it, as the local operator."
)


@dataclass
class CliState:
    settings: Settings
    _store: Store | None = field(default=None, repr=False)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.settings)
        return self._store


_state: CliState | None = None


@app.callback()
def _root(
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Where all state lives (env RXDESK_DATA_DIR, default ./.rxdesk)."
    ),
) -> None:
    global _state
    _state = CliState(settings=load_settings(data_dir=data_dir))


def state() -> CliState:
    global _state
    if _state is None:
        _state = CliState(settings=load_settings())
    return _state


def acting_as(staff_id: str | None) -> Principal:
    """Who runs this command: the staff member named by ``--as``, else the local operator."""
    if not staff_id:
        return OPERATOR
    return get_staff(state().store, staff_id).principal()


def to_jsonable(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, list):
        return [to_jsonable(o) for o in obj]
    if isinstance(obj, dict):
        return {k: to_jsonable(v) for k, v in obj.items()}
    return obj


def emit(obj: Any, as_json: bool, text: str | None = None) -> None:
    """Print JSON (``--json``) or the human text."""
    if as_json:
        typer.echo(json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False))
    else:
        typer.echo(text if text is not None else json.dumps(to_jsonable(obj), indent=2))


ForceOpt = typer.Option(False, "--force", help="Replace the file if it already exists.")


def write_file(path: Path, data: bytes, *, force: bool = False) -> Path:
    """Write an output file for the user (export, calendar): never into the data directory or a
    system folder, never through a symlink, never over an existing file without ``--force``,
    atomically (see assistant/files.py). Returns the real path written."""
    return safe_write(path, data, protected=protected_paths(state().settings), force=force)
