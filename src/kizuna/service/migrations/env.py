"""Alembic environment: runs the migrations on the connection ``upgrade_database`` hands over
(``config.attributes["connection"]``), or on ``sqlalchemy.url``.

Importing this module outside an alembic run (as the doctest sweep does) does nothing.
"""

from __future__ import annotations

from alembic import context


def _run() -> None:
    from sqlalchemy import create_engine

    from kizuna.service._models import Base

    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=Base.metadata,
                          render_as_batch=conn.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


try:
    context.config  # noqa: B018 - raises outside an alembic run
except (NameError, AttributeError):
    pass
else:
    _run()
