"""The store: engines from settings, SQLite pragmas, and migrations that build every table."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from flows.casework.store import MIGRATIONS_DIR, init_db, make_engine, model_metadata
from process_models.settings import Settings


def test_the_migrations_build_exactly_the_tables_the_models_describe(engine):
    """No model change without a migration: autogenerate finds nothing left to do."""
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), model_metadata())
    assert differences == []
    assert set(model_metadata().tables) <= set(inspect(engine).get_table_names())


def test_running_the_migrations_again_changes_nothing(engine):
    init_db(engine)
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).all() == [
            (head,)]
        assert connection.execute(text("SELECT seq, hash FROM audit_chain_head")).all() == [
            (0, "0" * 64)]


def test_a_sqlite_file_gets_wal_a_busy_timeout_and_foreign_keys(tmp_path):
    """synchronous=1 is NORMAL: under WAL a commit survives a killed process unsynced."""
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'cases.db'}")
    with engine.connect() as connection:
        pragmas = [connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")]
    engine.dispose()
    assert pragmas == ["wal", 1, 30000, 1]


def test_the_default_engine_follows_the_settings(tmp_path, monkeypatch):
    configured = Settings(data_dir=tmp_path / "var")
    monkeypatch.setattr("process_models.settings.settings", configured)
    engine = make_engine()
    assert engine.url.database == str(tmp_path / "var" / "onething.db")
    engine.dispose()


@pytest.mark.parametrize("url", [
    "postgresql://postgres@127.0.0.1:5432/test",
    "postgres://postgres@127.0.0.1:5432/test",
])
def test_postgresql_urls_use_psycopg_3(url):
    engine = make_engine(url)
    assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
    engine.dispose()


def test_a_foreign_key_is_enforced_on_sqlite_too(engine):
    """A step of a case that does not exist is refused by the database itself."""
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO case_step (case_id, step_id, department_id, status, "
            "paused_working_days, version) VALUES ('C-none', 's', 'd', 'waiting', 0, 1)"))
