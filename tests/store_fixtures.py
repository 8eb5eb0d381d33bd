"""Database fixtures: every store test runs on a SQLite file and on the local PostgreSQL.

``engine`` is parametrized over ``sqlite`` (a fresh file per test) and ``postgresql``
(one database per test session, ``onething_store_<random hex>``, created on the local
server and dropped at the end; tables are emptied between tests). ``session`` is a
``Session`` on it. They are registered in ``tests/conftest.py``.
"""

from __future__ import annotations

import secrets
import shutil

import pytest

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL database of our own for this test session, migrated to head."""
    from sqlalchemy import create_engine, text

    from flows.casework.store import init_db, make_engine

    name = f"onething_store_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    init_db(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_engine(postgres_url):
    """One engine on the session's PostgreSQL database."""
    from flows.casework.store import make_engine

    engine = make_engine(postgres_url, pool_size=10)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file; each test gets a copy (quicker than migrating each time)."""
    from flows.casework.store import init_db, make_engine

    path = tmp_path_factory.mktemp("store") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    engine.dispose()
    return path


def _empty_postgres(engine) -> None:
    """Empty every table (children first) and restart the audit chain at genesis."""
    from sqlalchemy import inspect, text
    from sqlmodel import SQLModel

    from flows.casework.tables import GENESIS_HASH

    present = set(inspect(engine).get_table_names())
    with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            if table.name in present:
                connection.execute(table.delete())
        connection.execute(text(
            "INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, :genesis)"
        ), {"genesis": GENESIS_HASH})


@pytest.fixture
def sqlite_engine(tmp_path, sqlite_template):
    """A migrated, empty SQLite file of this test (a copy of the session's template)."""
    from flows.casework.store import make_engine

    path = tmp_path / "onething.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request):
    """A migrated, empty database: a SQLite file, then the session's PostgreSQL database."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_engine")
        return
    engine = request.getfixturevalue("postgres_engine")
    _empty_postgres(engine)
    yield engine


@pytest.fixture
def session(engine):
    """A session on :func:`engine`."""
    from sqlmodel import Session

    with Session(engine) as session:
        yield session
