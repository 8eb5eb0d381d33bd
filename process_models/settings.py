"""Settings: one pydantic-settings class, ``ONETHING_`` environment prefix.

The embedded default (SQLite file, Prefect in-process) needs no server. Production
(PostgreSQL, a Prefect server and workers) is chosen here, never by code changes:

    ONETHING_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/onething
    ONETHING_PREFECT_MODE=server
    ONETHING_ENVIRONMENT=production
    ONETHING_SECRET_KEY=...

>>> Settings(database_url="sqlite:///x.db").is_sqlite
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from process_models._env import ENV_FILE, ENV_PREFIX

__all__ = ["Settings", "settings"]

DEFAULT_SECRET = "changethis"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=ENV_FILE, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(default=Path("var"), description="where the embedded mode keeps files")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty = SQLite in data_dir")
    prefect_mode: Literal["embedded", "server"] = "embedded"
    prefect_api_url: str = "http://127.0.0.1:4200/api"
    secret_key: str = DEFAULT_SECRET
    audit_key: str = Field(
        default="", description="HMAC key of the audit chain; empty = the file "
                                "data_dir/audit.key (made on first use, mode 0600; "
                                "production needs one of the two)"
    )
    calendar_overrides: list[Path] = Field(
        default_factory=list, description="local override files (closures, extra working days)"
    )
    yellow_share: float = Field(
        default=0.8, gt=0, lt=1, description="a step turns yellow past this share of its time"
    )

    @model_validator(mode="after")
    def _production_refuses_defaults(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEFAULT_SECRET:
            raise ValueError(
                "ONETHING_SECRET_KEY is still the default 'changethis'; set a secret for production"
            )
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'onething.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")


settings = Settings()
