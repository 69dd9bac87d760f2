"""Fixtures of the job-service tests: a fresh SQLite database in ``tmp_path`` with two
projects and their people, a FastAPI ``TestClient``, and a real uvicorn server on a free
loopback port.

``svc`` holds: ``url`` (database), ``app``, ``http`` (TestClient), ``tokens`` and ``headers``
by person, ``users`` (ids), ``project_a`` / ``project_b`` (ids). People: ``root`` (superuser,
admin of A), ``alice`` (admin of A), ``amy`` (member of A), ``vic`` (viewer of A), ``bob``
(admin of B).
"""

from __future__ import annotations

import socket
import threading
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BELL = (EXAMPLES / "bell.qasm").read_text()


_TEMPLATE = {}


def _template(root: Path):
    """A migrated database with the people in it, made once per session and copied per test
    (running the migrations for every test would double the suite's time)."""
    if "path" not in _TEMPLATE:
        from kizuna.service._db import Database

        path = root / "template.db"
        db = Database(f"sqlite:///{path}")
        _TEMPLATE.update(_people(db), path=path)
        db.dispose()  # the last connection closed checkpoints the WAL into the file
    return _TEMPLATE


def make_service(tmp_path, **app_options):
    import shutil

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette: "install httpx2"
        from fastapi.testclient import TestClient

    from kizuna.service import create_app

    t = _template(Path(tmp_path).parent)
    shutil.copyfile(t["path"], tmp_path / "service.db")
    url = f"sqlite:///{tmp_path / 'service.db'}"
    app_options.setdefault("rate_limit_per_s", float("inf"))
    app = create_app(url, upgrade=False, **app_options)
    return SimpleNamespace(url=url, app=app, http=TestClient(app), tokens=t["tokens"], users=t["users"],
                           project_a=t["project_a"], project_b=t["project_b"],
                           headers={k: {"Authorization": f"Bearer {v}"} for k, v in t["tokens"].items()})


def make_database(tmp_path):
    """``(Database, people)``: a copy of the template database without an app (for tests of
    the job store alone)."""
    import shutil

    from kizuna.service._db import Database

    t = _template(Path(tmp_path).parent)
    shutil.copyfile(t["path"], Path(tmp_path) / "service.db")
    return Database(f"sqlite:///{Path(tmp_path) / 'service.db'}", upgrade=False), t


def _people(db):
    from kizuna.service._admin import add_member, bootstrap, create_project, create_user
    from kizuna.service._auth import issue_token

    with db.session() as s:
        b = bootstrap(s, institution="uni", project="A", user="root")
        pa = b.project_id
        pb = create_project(s, b.institution_id, "B").id
        users = {"root": b.user_id}
        tokens = {"root": b.token}
        for name, project, role in (("alice", pa, "admin"), ("amy", pa, "member"), ("vic", pa, "viewer"),
                                    ("bob", pb, "admin")):
            u = create_user(s, name)
            add_member(s, project, u.id, role)
            users[name] = u.id
            tokens[name] = issue_token(s, u.id, name="test")[0]
    return {"tokens": tokens, "users": users, "project_a": pa, "project_b": pb}


@pytest.fixture
def svc(tmp_path):
    s = make_service(tmp_path)
    yield s
    s.app.state.db.dispose()


def bell_spec(seed=11, shots=200, **extra):
    return {"kind": "circuit", "qasm": BELL, "shots": shots, "seed": seed, **extra}


def submit(svc, who="amy", spec=None, **body):
    r = svc.http.post("/api/v1/jobs", json={"spec": spec or bell_spec(), **body}, headers=svc.headers[who])
    assert r.status_code == 201, r.text
    return r.json()["id"]


class LiveServer:
    """uvicorn serving ``app`` on a free 127.0.0.1 port in a thread of this process."""

    def __init__(self, app):
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, limit_concurrency=200)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def _provide(name, value):
    def fixture():
        return value

    fixture.__name__ = f"_fixture_{name}"
    return pytest.fixture(scope="session", name=name)(fixture)


bell_spec_fixture = _provide("bell_spec", bell_spec)
submit_fixture = _provide("submit_job", submit)
live_server_fixture = _provide("live_server", LiveServer)
make_service_fixture = _provide("make_service", make_service)
make_database_fixture = _provide("make_database", make_database)
