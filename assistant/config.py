"""One Settings object for the whole application (env vars ``RXDESK_*``, optional ``.env``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str) -> AliasChoices:
    """Accept Slack's standard variable name and its RXDESK_ alias (and the field name in code)."""
    return AliasChoices(name, f"RXDESK_{name}", name.lower())


def parse_hh_mm(value: str) -> dt.time:
    """``"08:00"`` -> 08:00; a one-line error otherwise."""
    try:
        hours, minutes = value.strip().split(":")
        return dt.time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"expected a time of day as HH:MM (24-hour), got '{value}'") from None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RXDESK_", env_file=".env", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(default=Path(".rxdesk"), description="All state lives here.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is a SQLite file in the data dir."
    )
    # LLM (optional; without it the offline router answers). Standard OpenAI variable names work.
    openai_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "RXDESK_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "RXDESK_OPENAI_BASE_URL")
    )
    llm_model: str | None = Field(default=None, description="Model name; setting it turns the LLM agent on.")
    llm_timeout_s: float = Field(
        default=20.0, gt=0, le=600, description="Budget for one chat turn with the LLM, seconds."
    )
    llm_baa: bool = Field(
        default=False,
        description="True only when a BAA covers the LLM endpoint: PHI is then sent unpseudonymized.",
    )
    log_content: bool = Field(
        default=False, description="Log the text of messages (off: logs hold ids and sizes only)."
    )
    # SOP manual: "required" keeps a new or changed SOP out of answers until a pharmacist or admin
    # approves it
    sop_approval: Literal["off", "required"] = Field(default="off")
    max_sop_mb: float = Field(default=10.0, gt=0, description="Largest SOP file ingest accepts.")
    # integrity: the key of the tamper-evident chain (default <data_dir>/chain.key); instances sharing
    # one PostgreSQL database must share this file
    chain_key_file: Path | None = None
    # evidence files: where they may be read from (os.pathsep-separated; default home, cwd, temp dir)
    evidence_roots: str | None = None
    max_evidence_mb: float = Field(default=25.0, gt=0, description="Largest evidence file accepted.")
    # Slack (optional; `rxdesk serve` starts the terminal chat when unset). Slack's own variable
    # names work, and so do RXDESK_-prefixed ones.
    slack_bot_token: str | None = Field(default=None, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_signing_secret: str | None = Field(default=None, validation_alias=_env("SLACK_SIGNING_SECRET"))
    slack_app_token: str | None = Field(default=None, validation_alias=_env("SLACK_APP_TOKEN"))
    slack_api_url: str | None = Field(
        default=None,
        validation_alias=_env("SLACK_API_URL"),
        description="Base URL of Slack's Web API (a proxy, or a local fake in tests).",
    )
    slack_workers: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Threads answering Slack requests after the ack (raise it when an LLM answers: they wait on the network).",
    )
    digest_time: str = Field(
        default="08:00",
        description="Local time (HH:MM) a site's daily digest is posted, unless the site sets one.",
    )

    @field_validator("digest_time")
    @classmethod
    def _hh_mm(cls, v: str) -> str:
        return parse_hh_mm(v).strftime("%H:%M")

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'rxdesk.db').resolve()}"

    @property
    def llm_enabled(self) -> bool:
        """An LLM is configured: a model name and an endpoint or key (local servers need no key)."""
        return bool(self.llm_model and (self.openai_base_url or self.openai_api_key))

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def chain_key_path(self) -> Path:
        return self.chain_key_file or self.data_dir / "chain.key"

    def ensure_dirs(self) -> None:
        """Create the data directory private to this account (0700, files 0600; see files.py)."""
        from assistant.files import secure_data_dir

        secure_data_dir(self.data_dir)


def load_settings(**overrides: object) -> Settings:
    """The settings from the environment (and ``.env``); a bad value is a one-line error."""
    from pydantic import ValidationError

    from assistant.errors import InvalidInput

    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "RXDESK_" + "_".join(str(p) for p in err["loc"]).upper()
        raise InvalidInput(f"setting {name}: {err['msg']}", code="bad_setting") from None
