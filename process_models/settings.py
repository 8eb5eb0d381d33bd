"""Settings: one pydantic-settings class, ``ONETHING_`` environment prefix.

The embedded default (SQLite file, Prefect in-process) needs no server. Production
(PostgreSQL, a Prefect server and workers) is chosen here, never by code changes:

    ONETHING_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/onething
    ONETHING_PREFECT_MODE=server
    ONETHING_ENVIRONMENT=production
    ONETHING_SECRET_KEY=...   # at least 32 characters: python -c "import secrets; print(secrets.token_urlsafe(48))"

The secret signs bearer tokens and the pages' session cookie; :func:`secret_key` is the one
place that decides which secret the service uses.

>>> Settings(database_url="sqlite:///x.db").is_sqlite
True
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from process_models._env import ENV_FILE, ENV_PREFIX
from process_models.errors import InvalidInput

__all__ = ["MIN_SECRET_CHARS", "SECRET_FILE", "Settings", "secret_file", "secret_key",
           "settings"]

MIN_SECRET_CHARS = 32
SECRET_FILE = "secret_key"
"""The file in ``data_dir`` holding the secret generated on the first embedded start."""
_PUBLISHED_SECRETS = frozenset({"changethis", "changeme", "secret", "onething"})
_MAKE_ONE = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=ENV_FILE, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(default=Path("var"), description="where the embedded mode keeps files")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty = SQLite in data_dir")
    prefect_mode: Literal["embedded", "server"] = "embedded"
    prefect_api_url: str = "http://127.0.0.1:4200/api"
    secret_key: str = Field(default="", repr=False, description=(
        "signs tokens and session cookies; empty = a secret generated into data_dir, "
        "embedded mode on 127.0.0.1 only"))
    session_idle_minutes: float = Field(
        default=30, gt=0, description="a page session ends after this long without a request")
    forwarded_allow_ips: str = Field(default="", description=(
        "addresses of reverse proxies whose X-Forwarded-For is believed (comma-separated); "
        "empty = none, the client address is the connection's"))
    max_request_bytes: int = Field(
        default=2_100_000, gt=0, description=(
            "larger request bodies are refused (413); room for the largest upload "
            "(2,000,000 bytes) with the form around it"))
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
    warning_working_days: int = Field(
        default=1, ge=0, le=20,
        description="early warning: a step turns yellow this many working days before its due "
        "date (预警: one working day, as 督办 rules write it)")
    auto_rule_files: list[Path] = Field(
        default_factory=list, description="秒批 rule files (YAML, process_models/auto_rules.py): "
        "a step a rule holds for is approved as it starts, with no staff action")
    reform_tasks_file: Path | None = Field(
        default=None, description="the reform programme's task ledger (YAML, "
        "process_models/reform_tasks.py) the reform-task page and /api/reform-tasks show")
    supervision_reply_working_days: int = Field(
        default=3, ge=1, le=60,
        description="督办: working days a department has to answer a notice in writing "
        "before it is escalated (estimate)")
    commitment_check_working_days: int = Field(
        default=20, ge=1, le=250,
        description="告知承诺: working days the department has for its 核查 after the window "
        "decided on the commitment, when the procedure defines no follow-up step (estimate)")
    promise_margin_working_days: int = Field(
        default=2, ge=0, le=250,
        description="容缺: a promised date lies at least this many working days before the "
        "case's committed limit (深圳's rule)")
    supplement_answer_working_days: int = Field(
        default=30, ge=1, le=250,
        description="补正: working days the applicant has to bring what a 补正告知书 asks for, "
        "printed on it as its deadline (estimate; local rules set it)")
    promise_max_working_days: int = Field(
        default=20, ge=1, le=250,
        description="容缺: a promised date lies at most this many working days away (深圳's rule)")
    rating_follow_up_working_days: int = Field(
        default=15, ge=1, le=250,
        description="好差评: working days to call back and rectify after a 差评 (local rules, "
        "commonly 15)")

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'onething.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")


def secret_key(config: Settings | None = None, *, public: bool = False) -> str:
    """The secret the service signs with.

    A configured ``ONETHING_SECRET_KEY`` must be at least :data:`MIN_SECRET_CHARS`
    characters and no published example. Without one, the embedded mode (SQLite, not
    production, not ``public``: served on the loopback address only) uses the secret in
    ``data_dir/secret_key``, generated on the first start (mode 0600) and read afterwards;
    anything else is refused with one line saying how to set one.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> first = secret_key(Settings(data_dir=folder))
    >>> first == secret_key(Settings(data_dir=folder)), oct((folder / SECRET_FILE).stat().st_mode & 0o777)
    (True, '0o600')
    >>> secret_key(Settings(secret_key="changethis"))
    Traceback (most recent call last):
    ...
    process_models.errors.InvalidInput: ONETHING_SECRET_KEY: the secret is a published example or shorter than 32 characters; set a new one, e.g. from python -c "import secrets; print(secrets.token_urlsafe(48))"
    """
    config = config or settings
    if config.secret_key:
        if len(config.secret_key) < MIN_SECRET_CHARS or \
                config.secret_key.lower() in _PUBLISHED_SECRETS:
            raise InvalidInput(
                f"the secret is a published example or shorter than {MIN_SECRET_CHARS} "
                f"characters; set a new one, e.g. from {_MAKE_ONE}", path="ONETHING_SECRET_KEY")
        return config.secret_key
    if public or not config.is_sqlite or config.environment == "production":
        where = ("production" if config.environment == "production" else
                 "a PostgreSQL database" if not config.is_sqlite else "an address other than "
                 "127.0.0.1")
        raise InvalidInput(
            f"no secret is set, and serving {where} needs one; set ONETHING_SECRET_KEY "
            f"(at least {MIN_SECRET_CHARS} characters, e.g. from {_MAKE_ONE})",
            path="ONETHING_SECRET_KEY")
    return secret_file(config.data_dir / SECRET_FILE, setting="ONETHING_SECRET_KEY")


def secret_file(path: Path, *, setting: str) -> str:
    """The secret in ``path``, first written there (mode 0600, never replacing one another
    process wrote first) if there is none; a file others may read, or one holding fewer than
    :data:`MIN_SECRET_CHARS` characters, is refused naming ``setting``, the setting that
    would stand in for the file. The service's secret and the audit key both live so."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(draft, path)  # never replaces a secret another process wrote first
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    if path.stat().st_mode & 0o077:
        raise InvalidInput(f"{path} may be read by other users; run chmod 600 {path}",
                           path=setting)
    secret = path.read_text("ascii").strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise InvalidInput(f"{path} holds no secret of {MIN_SECRET_CHARS} characters or more; "
                           "delete it to have a new one generated", path=setting)
    return secret


def _load() -> Settings:
    """The settings from the environment; a bad value is one line naming its variable."""
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        name = ENV_PREFIX + "_".join(str(part) for part in first["loc"]).upper()
        shown = str(first.get("input", ""))[:80]
        raise InvalidInput(f"{first['msg']} (got '{shown}'); fix or unset it",
                           path=name) from None


settings = _load()
