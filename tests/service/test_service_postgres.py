"""The same schema and job store on PostgreSQL: a throwaway server started for the session
(``postgres_url`` in tests/conftest.py; ``KIZUNA_TEST_DATABASE_URL`` names an existing empty
database instead; CI installs PostgreSQL, elsewhere these tests skip without it).

Checks what differs between the dialects: the migrations, and claims racing from many threads
(``SELECT ... FOR UPDATE SKIP LOCKED`` then the conditional UPDATE): every job claimed once."""

from __future__ import annotations

import threading

import pytest


@pytest.fixture
def pg_url(postgres_url):
    return postgres_url


@pytest.fixture
def pg(pg_url):
    url = pg_url
    from kizuna.service._db import Database, downgrade_database, upgrade_database

    downgrade_database(url, "base")  # start from an empty schema
    upgrade_database(url)
    db = Database(url, upgrade=False)
    yield db
    db.dispose()
    downgrade_database(url, "base")


def test_migrations_match_the_models_on_postgres(pg):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from kizuna.service._models import Base

    with pg.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_racing_claims_take_each_job_exactly_once_on_postgres(pg):
    from kizuna.service._admin import bootstrap
    from kizuna.service._auth import authenticate
    from kizuna.service._jobs import claim, complete, submit
    from kizuna.service._runner import Limits

    with pg.session() as s:
        b = bootstrap(s)
    with pg.session() as s:
        who = authenticate(s, b.token)
        for _ in range(60):
            submit(s, who, b.project_id, {"kind": "sensing", "protocol": "nv"}, limits=Limits())
    claimed, lock = [], threading.Lock()

    def worker(k):
        while True:
            with pg.session() as s:
                job = claim(s, f"w{k}", lease_s=60)
            if job is None:
                return
            with pg.session() as s:
                complete(s, job.id, job.lease_token, {"k": k}, {}, sim_seconds=0.0)
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claimed) == 60 and len(set(claimed)) == 60
    from sqlalchemy import func, select

    from kizuna.service._models import Job, JobResult

    with pg.session() as s:
        assert s.execute(select(func.count()).select_from(JobResult)).scalar_one() == 60
        assert set(s.execute(select(Job.state, Job.attempts)).all()) == {("COMPLETED", 1)}


def test_the_api_runs_on_postgres(pg, pg_url):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from kizuna.service import create_app
    from kizuna.service._admin import bootstrap
    from kizuna.service.worker import run_worker

    # the URL a user types: postgresql:// (Kizuna picks the psycopg driver it ships)
    plain = "postgresql://" + pg_url.split("://", 1)[1]
    app = create_app(plain, rate_limit_per_s=float("inf"))
    assert app.state.db.engine.dialect.driver == "psycopg"
    with app.state.db.session() as s:
        b = bootstrap(s)
    http = TestClient(app)
    h = {"Authorization": f"Bearer {b.token}"}
    qasm = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
    job = http.post("/api/v1/jobs", json={"spec": {"kind": "circuit", "qasm": qasm, "seed": 4, "shots": 100}},
                    headers=h).json()["id"]
    assert run_worker(plain, once=True, isolation="thread") == 1
    import kizuna

    counts = http.get(f"/api/v1/jobs/{job}/result", headers=h).json()["result"]["counts"]
    assert counts == kizuna.run(kizuna.qasm2.loads(qasm), shots=100, seed=4).counts
    app.state.db.dispose()
