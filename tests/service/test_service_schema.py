"""The schema comes from the alembic migrations alone, and matches the ORM models."""

from __future__ import annotations

import pytest

sqlalchemy = pytest.importorskip("sqlalchemy")
pytest.importorskip("alembic")


def test_migrations_create_the_schema_from_an_empty_database(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from kizuna.service._db import current_revision, make_engine, upgrade_database
    from kizuna.service._models import Base

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert current_revision(url) is None
    upgrade_database(url)
    assert current_revision(url) == "0001"
    engine = make_engine(url)
    with engine.connect() as conn:
        tables = set(sqlalchemy.inspect(conn).get_table_names())
        # alembic's own diff of the live schema against the models: nothing missing, nothing extra
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert diff == []


def test_upgrade_is_idempotent_and_downgrade_removes_every_table(tmp_path):
    from kizuna.service._db import (
        current_revision,
        downgrade_database,
        make_engine,
        upgrade_database,
    )

    url = f"sqlite:///{tmp_path / 'x.db'}"
    upgrade_database(url)
    upgrade_database(url)  # a second server start changes nothing
    assert current_revision(url) == "0001"
    downgrade_database(url, "base")
    engine = make_engine(url)
    with engine.connect() as conn:
        assert set(sqlalchemy.inspect(conn).get_table_names()) == {"alembic_version"}
    engine.dispose()


def test_an_in_memory_database_is_refused_with_the_url_named():
    from kizuna.service._db import make_engine

    with pytest.raises(ValueError, match="sqlite:///:memory:"):
        make_engine("sqlite:///:memory:")


def test_importing_the_service_does_not_load_fastapi_until_asked():
    import subprocess
    import sys

    code = ("import sys, kizuna, kizuna.client, kizuna.service; "
            "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'uvicorn', 'httpx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
