"""Hypothesis: any interleaving of submit, claim, heartbeat, complete, fail, cancel, lease expiry
and re-queue keeps the job store's invariants: a result exists exactly for COMPLETED jobs and is
written once; only a RUNNING job holds a lease; a worker whose lease is gone can change nothing;
two live leases never name the same job."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("sqlalchemy")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

OPS = st.lists(st.one_of(
    st.tuples(st.just("submit"), st.sampled_from(["amy", "bob"])),
    st.tuples(st.just("claim"), st.integers(0, 2)),
    st.tuples(st.just("heartbeat"), st.integers(0, 5)),
    st.tuples(st.just("complete"), st.integers(0, 5)),
    st.tuples(st.just("fail"), st.integers(0, 5)),
    st.tuples(st.just("cancel"), st.integers(0, 5)),
    st.tuples(st.just("advance"), st.floats(0.1, 3.0)),
    st.tuples(st.just("requeue"), st.just(0)),
), min_size=1, max_size=40)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_any_interleaving_keeps_the_job_store_consistent(ops, tmp_path_factory, make_database):
    from sqlalchemy import select

    from kizuna.service._auth import authenticate
    from kizuna.service._jobs import (
        LeaseLost,
        cancel,
        claim,
        complete,
        fail,
        heartbeat,
        requeue_expired,
        submit,
    )
    from kizuna.service._models import Job, JobResult
    from kizuna.service._runner import Limits

    path = tmp_path_factory.mktemp("prop")
    db, people = make_database(path)
    with db.session() as s:
        who = {w: authenticate(s, people["tokens"][w]) for w in ("amy", "bob", "root")}
    project = {"amy": people["project_a"], "bob": people["project_b"]}
    now, lease_s = 1000.0, 2.0
    jobs, leases, completed = [], [], {}
    for op, arg in ops:
        if op == "submit":
            with db.session() as s:
                jobs.append(submit(s, who[arg], project[arg], {"kind": "sensing", "protocol": "nv"}, limits=Limits(),
                                   now=now).id)
        elif op == "claim":
            with db.session() as s:
                c = claim(s, f"w{arg}", lease_s=lease_s, now=now)
            if c is not None:
                leases.append(c)
        elif op == "advance":
            now += arg
        elif op == "requeue":
            with db.session() as s:
                requeue_expired(s, now=now, max_attempts=3)
        elif op == "cancel" and jobs:
            with db.session() as s:
                cancel(s, who["root"], jobs[arg % len(jobs)], now=now)
        elif op in ("heartbeat", "complete", "fail") and leases:
            c = leases[arg % len(leases)]
            with db.session() as s:
                row = s.get(Job, c.id)
                live = row.state == "RUNNING" and row.lease_token == c.lease_token
                before = (row.state, row.finished_at)
            try:
                with db.session() as s:
                    if op == "heartbeat":
                        heartbeat(s, c.id, c.lease_token, lease_s=lease_s, now=now)
                    elif op == "complete":
                        complete(s, c.id, c.lease_token, {"by": c.lease_token}, {}, sim_seconds=0.1, now=now)
                        completed[c.id] = c.lease_token
                    else:
                        fail(s, c.id, c.lease_token, "boom", now=now)
                accepted = True
            except LeaseLost:
                accepted = False
            assert accepted == live, (op, before)
            if not accepted:
                with db.session() as s:
                    row = s.get(Job, c.id)
                    assert (row.state, row.finished_at) == before  # a stale worker changed nothing
        # invariants
        with db.session() as s:
            rows = {j.id: j for j in s.execute(select(Job)).scalars()}
            results = {r.job_id: r for r in s.execute(select(JobResult)).scalars()}
        assert set(results) == {j for j, r in rows.items() if r.state == "COMPLETED"}
        for job_id, token in completed.items():  # written once, by the lease that completed it
            assert results[job_id].result == '{"by":"' + token + '"}'
        for r in rows.values():
            assert (r.lease_token is not None) == (r.state == "RUNNING")
            assert r.attempts <= 3 or r.state != "RUNNING"
        live = [c for c in leases if rows[c.id].state == "RUNNING" and rows[c.id].lease_token == c.lease_token]
        assert len({c.id for c in live}) == len(live)
    db.dispose()
    shutil.rmtree(path, ignore_errors=True)
