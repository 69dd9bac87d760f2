"""The Kizuna job service: a FastAPI app over a SQL database (SQLite by default, PostgreSQL for
teams), workers that run jobs with leases, and the models of who may do what.

* ``create_app(database_url)`` -> the FastAPI application (``app.py``);
* ``run_worker(database_url)`` -> a worker loop (``worker.py``);
* ``upgrade_database(url)`` -> create or migrate the schema (alembic, ``_db.py``);
* ``Limits`` -> what one job may ask for (``_runner.py``).

Clients use ``kizuna.client.Client``; the shell uses ``kizuna serve``, ``kizuna worker``,
``kizuna submit``, ``kizuna jobs``, ``kizuna result``.

Needs the ``service`` extra (``pip install 'kizuna[service]'``); ``import kizuna`` never
loads this package, and this package imports FastAPI only when ``create_app`` is first used.
"""

from __future__ import annotations

__all__ = ["Limits", "create_app", "run_worker", "upgrade_database"]


def __getattr__(name):
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "run_worker":
        from .worker import run_worker

        return run_worker
    if name == "upgrade_database":
        from ._db import upgrade_database

        return upgrade_database
    if name == "Limits":
        from ._runner import Limits

        return Limits
    raise AttributeError(f"module 'kizuna.service' has no attribute {name!r}")
