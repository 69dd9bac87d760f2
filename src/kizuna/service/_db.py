"""Database plumbing: URLs, engines, sessions, and the alembic upgrade run from code.

SQLite (a file in the data directory) is the default; PostgreSQL works with the same SQL. On
SQLite every transaction starts with ``BEGIN IMMEDIATE`` (write lock taken up front, WAL
journal, a 30 s busy timeout) so concurrent writers from several processes queue instead of
failing with "database is locked" halfway through a read-then-write transaction.

This module imports SQLAlchemy and alembic; ``import kizuna`` never loads it.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Database", "current_revision", "default_database_url", "downgrade_database", "upgrade_database"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def default_database_url() -> str:
    """``sqlite:///`` a ``service.db`` in ``$KIZUNA_DATA_DIR`` (default
    ``~/.local/share/kizuna``), the folder created if missing."""
    root = Path(os.environ.get("KIZUNA_DATA_DIR") or Path.home() / ".local" / "share" / "kizuna")
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'service.db'}"


def normalize_url(url: str) -> str:
    """``url`` with the driver Kizuna ships for it: ``postgresql://`` and ``postgres://`` become
    ``postgresql+psycopg://`` (psycopg 3, the ``postgres`` extra); others are unchanged.

    Example:
        >>> normalize_url("postgresql://kz@db.example.org/kizuna")
        'postgresql+psycopg://kz@db.example.org/kizuna'
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and ``BEGIN IMMEDIATE``."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            raise ValueError(f"database_url must name a file, not an in-memory SQLite database (got {url!r}): "
                             "workers and the server share it")
        # one connection per request thread (the server runs up to 40 at once); SQLite
        # connections are cheap, and the write lock, not the pool, is what serialises writers
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, pool_size=10,
                               max_overflow=50, pool_timeout=60)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a commit survives a crash of any process; only an OS crash or power
            # loss may lose the last commits (one fsync per checkpoint, not per commit)
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            # read-only sessions take no write lock: WAL readers never wait for the writer
            readonly = conn.get_execution_options().get("kizuna_readonly", False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


def _alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(url: str, revision: str = "head") -> None:
    """Create or upgrade the schema at ``url`` to ``revision`` with the alembic migrations.

    Raises:
        sqlalchemy.exc.OperationalError: the database cannot be reached or written.
    """
    url = normalize_url(url)
    from alembic import command

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            config = _alembic_config(url)
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def downgrade_database(url: str, revision: str = "base") -> None:
    """Undo migrations at ``url`` down to ``revision`` (``"base"``: an empty schema)."""
    url = normalize_url(url)
    from alembic import command

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            config = _alembic_config(url)
            config.attributes["connection"] = conn
            command.downgrade(config, revision)
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The schema revision at ``url`` (``None`` for an empty database)."""
    url = normalize_url(url)
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


class Database:
    """An engine and a session factory for one database URL.

    ``session()`` is a context manager: one transaction, committed on success, rolled back on
    an exception; ``read_session()`` the same for transactions that only read.
    """

    def __init__(self, url: str | None = None, *, upgrade: bool = True):
        self.url = normalize_url(url or default_database_url())
        if upgrade:
            upgrade_database(self.url)
        self.engine = make_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.engine.execution_options(kizuna_readonly=True),
                                           expire_on_commit=False)

    @contextmanager
    def session(self):
        """A read-write transaction (on SQLite, holding the write lock from its start)."""
        with self._sessions() as s, s.begin():
            yield s

    @contextmanager
    def read_session(self):
        """A transaction for reading only (on SQLite, no write lock: it never waits)."""
        with self._read_sessions() as s, s.begin():
            yield s

    def new_session(self) -> Session:
        return self._sessions()

    def dispose(self) -> None:
        self.engine.dispose()
