"""Where cases are kept: engines, sessions and the schema (Alembic migrations).

:func:`make_engine` turns ``settings.effective_database_url`` (or a URL you give) into
an engine. SQLite files get WAL, a busy timeout and foreign keys; their write
transactions start with ``BEGIN IMMEDIATE`` (see :func:`begin_write`) so two writers
queue instead of failing half-way. PostgreSQL goes through psycopg 3
(``postgresql+psycopg://``); plain ``postgresql://`` URLs are read the same way.

:func:`init_db` runs the migrations in ``flows/casework/migrations`` up to head; it is
safe to call on every start.

>>> import tempfile, pathlib
>>> from sqlmodel import Session, select
>>> from flows.casework.tables import AuditChainHead
>>> url = f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'cases.db'}"
>>> engine = make_engine(url)
>>> init_db(engine)
>>> with Session(engine) as session:
...     session.exec(select(AuditChainHead.seq)).one()
0
>>> engine.dispose()
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlmodel import Session

from process_models.errors import InvalidInput

__all__ = ["DATABASE_NOTE", "MIGRATIONS_DIR", "begin_write", "existing_engine",
           "head_revision", "init_db", "make_engine", "model_metadata"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
_IMMEDIATE = "onething_sqlite_immediate"
DATABASE_NOTE = "onething database: "
"""The note a database error carries naming its database (password hidden), which the
CLI's catch-all shows."""


def _normalised_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` become ``postgresql+psycopg://`` (psycopg 3).

    >>> _normalised_url("postgresql://postgres@127.0.0.1/onething")
    'postgresql+psycopg://postgres@127.0.0.1/onething'
    >>> _normalised_url("sqlite:///var/onething.db")
    'sqlite:///var/onething.db'
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str | None = None, **engine_kwargs) -> Engine:
    """An engine for ``url`` (default ``settings.effective_database_url``).

    SQLite: the file's folder is created, WAL journal with ``synchronous=NORMAL``,
    ``busy_timeout``, foreign keys on, and write transactions begin ``IMMEDIATE``. PostgreSQL: psycopg 3 with pre-ping.

    >>> make_engine("sqlite:///:memory:").dialect.name
    'sqlite'
    """
    if url is None:
        from process_models.settings import settings

        url = settings.effective_database_url
    url = _normalised_url(url)
    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except (ArgumentError, NoSuchModuleError):
        raise InvalidInput(f"'{url[:200]}' is not a database URL; use sqlite:///path/to/file.db "
                           "or postgresql+psycopg://user@host:5432/name",
                           path="database URL") from None
    if parsed.get_backend_name() != "sqlite":
        engine_kwargs.setdefault("pool_pre_ping", True)
        return _noting_database(create_engine(url, **engine_kwargs))

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    connect_args = engine_kwargs.pop("connect_args", {})
    connect_args.setdefault("check_same_thread", False)
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    engine = create_engine(url, connect_args=connect_args, **engine_kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # We issue BEGIN ourselves (below), so the driver must not.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if parsed.database and parsed.database != ":memory:":
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode a commit survives a killed process without a sync per commit;
            # only a power cut can lose the last commits.
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return _noting_database(engine)


def _noting_database(engine: Engine) -> Engine:
    """``engine``, whose errors carry a note naming its database (:data:`DATABASE_NOTE`)."""
    shown = engine.url.render_as_string(hide_password=True)

    @event.listens_for(engine, "handle_error")
    def _note(context) -> None:
        error = context.sqlalchemy_exception
        if error is not None and DATABASE_NOTE + shown not in getattr(error, "__notes__", ()):
            error.add_note(DATABASE_NOTE + shown)

    return engine


def existing_engine(url: str | None = None) -> Engine:
    """An engine on a case database that is already there, for commands that only read it.

    Nothing is created: a SQLite file that does not exist, a database that cannot be
    opened, or one without onething's tables raises
    :class:`~process_models.errors.NotFound` naming the URL (password hidden). A database
    of ours is migrated to head, as on any start.

    >>> existing_engine("sqlite:///no/such/folder/cases.db")
    Traceback (most recent call last):
    ...
    process_models.errors.NotFound: no case database at sqlite:///no/such/folder/cases.db: the file does not exist (nothing was created); check the URL
    """
    from sqlalchemy import inspect
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.pool import NullPool

    from process_models.errors import NotFound

    if url is None:
        from process_models.settings import settings

        url = settings.effective_database_url
    parsed = make_url(_normalised_url(url))
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and (
            not parsed.database or parsed.database == ":memory:"
            or not Path(parsed.database).is_file()):
        raise NotFound(f"no case database at {shown}: the file does not exist "
                       "(nothing was created); check the URL")
    probe = create_engine(parsed, poolclass=NullPool)  # plain: no pragma touches the file
    try:
        with probe.connect() as connection:
            ours = inspect(connection).has_table("alembic_version")
    except DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        raise NotFound(f"cannot open the case database at {shown}: {reason[:200]}; "
                       "check the URL") from None
    finally:
        probe.dispose()
    if not ours:
        raise NotFound(f"{shown} holds no onething case database (no tables of ours); "
                       "check the URL")
    engine = make_engine(url)
    init_db(engine)
    return engine


def begin_write(session: Session) -> None:
    """Start ``session``'s write transaction (committing any transaction already open).

    On SQLite the transaction begins ``IMMEDIATE``: it takes the database's write lock
    at once, so writers queue (up to the busy timeout) and never fail half-way. On
    PostgreSQL it is an ordinary transaction; writers serialise on the audit chain head
    (:func:`flows.casework._rows.lock_chain`).
    """
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={_IMMEDIATE: True})


def model_metadata():
    """``SQLModel.metadata`` with every table of ``flows.casework`` registered.

    Imports each module of the package, so the tables of all of them are known (what
    Alembic's autogenerate and the schema test compare the database with).

    >>> "cases" in model_metadata().tables
    True
    """
    import importlib
    import pkgutil

    from sqlmodel import SQLModel

    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if not module.name.startswith("_") and module.name != "migrations":
            importlib.import_module(f"flows.casework.{module.name}")
    return SQLModel.metadata


_REVISION = re.compile(r"""^(down_)?revision\b[^=\n]*=\s*['"]?([^'"\s]+)""", re.MULTILINE)


def head_revision() -> str | None:
    """The revision of the newest migration (the one no other revises), read from the
    migration files without importing Alembic; ``None`` unless there is exactly one.

    >>> head_revision().isdigit()
    True
    """
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for down, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            (revised if down else revisions).add(value)
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def _at_head(engine: Engine) -> bool:
    """Whether the database says it is migrated to :func:`head_revision` (one query)."""
    head = head_revision()
    if head is None:
        return False
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version"))
            return versions.scalars().all() == [head]
    except DBAPIError:          # no such table yet: a new database
        return False


def init_db(engine: Engine) -> None:
    """Run the Alembic migrations in ``flows/casework/migrations`` up to head.

    Safe to call on every start: a database already at head is left as it is, found so
    with one query and without importing Alembic (a command at the window pays nothing).
    """
    if _at_head(engine):
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

