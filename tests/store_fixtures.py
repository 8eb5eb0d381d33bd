"""Database fixtures: every store test runs on a SQLite file and on the local PostgreSQL.

``engine`` is parametrized over ``sqlite`` (a fresh file per test) and ``postgresql``
(one database per test session, ``onething_store_<random hex>``, created on the local
server and dropped at the end; tables are emptied between tests). ``session`` is a
``Session`` on it. Both are registered in ``tests/conftest.py``.
"""

from __future__ import annotations

import secrets

import pytest

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL database of our own for this test session, migrated to head."""
    from sqlalchemy import create_engine, text

    from process_models.store import init_db, make_engine

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
    from process_models.store import make_engine

    engine = make_engine(postgres_url, pool_size=10)
    yield engine
    engine.dispose()


def _empty_postgres(engine) -> None:
    """Empty every table but Alembic's and restart the audit chain."""
    from sqlalchemy import inspect, text

    from process_models.cases import GENESIS_HASH

    tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
    with engine.begin() as connection:
        connection.execute(text(
            "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
        ))
        connection.execute(text(
            "INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, :genesis)"
        ), {"genesis": GENESIS_HASH})


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """A migrated, empty database: a SQLite file, then the session's PostgreSQL database."""
    from process_models.store import init_db, make_engine

    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'onething.db'}")
        init_db(engine)
        yield engine
        engine.dispose()
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
