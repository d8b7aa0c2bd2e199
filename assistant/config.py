"""One Settings object for the whole application (env vars ``RXDESK_*``, optional ``.env``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RXDESK_", env_file=".env", extra="ignore")

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
    log_content: bool = Field(default=False, description="Allow message text in process logs.")
    # Slack (optional; `rxdesk serve` starts the terminal chat when unset)
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None

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

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)


def load_settings(**overrides: object) -> Settings:
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]
