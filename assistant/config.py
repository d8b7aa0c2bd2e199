"""One Settings object for the whole application (env vars ``RXDESK_*``, optional ``.env``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RXDESK_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path(".rxdesk"), description="All state lives here.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is a SQLite file in the data dir."
    )
    # retrieval
    abstain_threshold: float = Field(
        default=0.445, description="Minimum cosine similarity of the closest SOP text to answer."
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
