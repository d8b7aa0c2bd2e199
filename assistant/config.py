"""One Settings object for the whole application (env vars ``RXDESK_*``, optional ``.env``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RXDESK_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path(".rxdesk"), description="All state lives here.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is a SQLite file in the data dir."
    )
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
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)


def load_settings(**overrides: object) -> Settings:
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]
