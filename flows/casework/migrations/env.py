"""Alembic environment for onething's tables (run by :func:`flows.casework.store.init_db`).

The connection comes from ``config.attributes["connection"]`` when the caller has
one; otherwise the engine is built from settings (``alembic -c ... upgrade head``).
"""

from alembic import context

from flows.casework.store import model_metadata

target_metadata = model_metadata()


def run_migrations() -> None:
    """Upgrade on the caller's connection, or on a fresh engine from settings."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    from flows.casework.store import make_engine

    engine = make_engine()
    with engine.begin() as fresh:
        _run_on(fresh)
    engine.dispose()


def _run_on(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


# Only Alembic's runner provides a config; importing this file elsewhere does nothing.
if getattr(context, "config", None) is not None:
    run_migrations()
