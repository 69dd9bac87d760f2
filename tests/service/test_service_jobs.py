"""Jobs through the API: every kind gives the result the library gives for the same seed;
limits, quotas, fair share, cancel, time limits, leases, restarts."""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

import kizuna

# (not imported from conftest: with several conftest modules, "import conftest" is ambiguous)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run_all(svc):
    from kizuna.service.worker import run_worker

    return run_worker(svc.url, once=True, isolation="thread")


def _status(svc, job, who="amy"):
    return svc.http.get(f"/api/v1/jobs/{job}", headers=svc.headers[who]).json()


def _result(svc, job, who="amy"):
    r = svc.http.get(f"/api/v1/jobs/{job}/result", headers=svc.headers[who])
    assert r.status_code == 200, r.text
    return r.json()


# --- each kind, against the library called directly with the same seed -----------------------
def test_bell_counts_equal_kizuna_run_bit_for_bit(svc, submit_job, bell_spec):
    job = submit_job(svc, "amy", bell_spec(seed=1234, shots=500))
    st = _status(svc, job)
    assert st["state"] == "QUEUED" and st["queue_position"] == 1
    assert svc.http.get(f"/api/v1/jobs/{job}/result", headers=svc.headers["amy"]).status_code == 409
    assert _run_all(svc) == 1
    doc = _result(svc, job)
    expected = kizuna.run(kizuna.qasm2.loads(bell_spec()["qasm"]), shots=500, seed=1234)
    assert doc["result"]["counts"] == expected.counts
    assert set(doc["result"]["counts"]) == {"00", "11"}  # a Bell pair is perfectly correlated
    assert sum(doc["result"]["counts"].values()) == 500


def test_provenance_records_inputs_seed_version_backend_submitter_and_times(svc, submit_job, bell_spec):
    from kizuna.service._jobs import sha256_json

    spec = bell_spec(seed=5)
    job = submit_job(svc, "amy", spec)
    _run_all(svc)
    st, doc = _status(svc, job), _result(svc, job)
    prov = doc["provenance"]
    full_spec = {**spec, "backend": "auto", "max_bond": None, "memory": False}
    assert prov["inputs_sha256"] == sha256_json(full_spec) == st["inputs_sha256"]
    assert prov["seed"] == 5 and prov["submitter"] == "amy" and prov["kizuna_version"] == kizuna.__version__
    assert prov["backend"] == doc["result"]["backend"] == "statevector"
    assert prov["submitted_at"] <= prov["started_at"] <= prov["finished_at"]
    assert st["state"] == "COMPLETED" and st["attempts"] == 1 and st["progress"] == 1.0
    import hashlib

    text = json.dumps(doc["result"], sort_keys=True, separators=(",", ":"))
    assert doc["result_sha256"] == hashlib.sha256(text.encode()).hexdigest()


def test_a_job_without_seed_gets_one_recorded_and_reproducible(svc, submit_job, bell_spec):
    spec = bell_spec()
    del spec["seed"]
    job = submit_job(svc, "amy", spec)
    _run_all(svc)
    doc = _result(svc, job)
    seed = doc["provenance"]["seed"]
    assert isinstance(seed, int) and 0 <= seed < 2**31
    assert doc["result"]["counts"] == kizuna.run(kizuna.qasm2.loads(spec["qasm"]), shots=200, seed=seed).counts


def test_network_scenario_matches_run_scenario(svc, submit_job):
    import yaml

    from kizuna.networking.scenario import Scenario, run_scenario

    text = (EXAMPLES / "repeater_chain.yaml").read_text()
    job = submit_job(svc, "amy", {"kind": "network", "scenario": text, "duration_s": 0.3, "seed": 21})
    _run_all(svc)
    got = _result(svc, job)["result"]
    import dataclasses

    spec = dataclasses.replace(Scenario.from_dict(yaml.safe_load(text)), duration_s=0.3)
    want = run_scenario(spec, seed=21).to_dict()
    assert [r["delivered"] for r in got["requests"]] == [r["delivered"] for r in want["requests"]]
    assert [r["mean_fidelity"] for r in got["requests"]] == [r["mean_fidelity"] for r in want["requests"]]
    assert got["events"] == want["events"]


def test_qkd_simulation_and_rate_match_the_library(svc, submit_job):
    from kizuna.networking.qkd import QKDLink, key_rate, run_qkd

    sim = submit_job(svc, "amy", {"kind": "qkd", "protocol": "bb84-decoy", "distance_km": 25.0,
                                  "options": {"duration_s": 0.005}, "seed": 8})
    rate = submit_job(svc, "amy", {"kind": "qkd", "mode": "rate", "protocol": "bb84", "distance_km": [0, 40],
                                   "preset": "gys"})
    _run_all(svc)
    got = _result(svc, sim)["result"]
    want = run_qkd("bb84-decoy", 25.0, QKDLink.modern(), duration_s=0.005, keep_keys=False, seed=8)
    assert got["detections"] == want.detections and got["final_key_length"] == want.final_key_length
    assert got["sifted_key_length"] == want.sifted_key_length
    points = _result(svc, rate)["result"]["points"]
    assert [p["key_rate_bits_per_pulse"] for p in points] == \
        [key_rate("bb84", d, QKDLink.gys()).key_rate_bits_per_pulse for d in (0, 40)]


def test_sensing_jobs_match_analytic_values(svc, submit_job):
    t2 = 1e-4
    ramsey = submit_job(svc, "amy", {"kind": "sensing", "protocol": "ramsey",
                                     "params": {"t2_s": t2, "shots": 10_000, "repetitions": 200}, "seed": 3})
    scaling = submit_job(svc, "amy", {"kind": "sensing", "protocol": "scaling",
                                      "params": {"probe": "ghz", "n": [2, 5, 10]}})
    _run_all(svc)
    r = _result(svc, ramsey)["result"]
    # Ramsey with exp(-t/T2) contrast: F(t) = t^2 exp(-2t/T2), maximised at t = T2/2, so the
    # Cramér-Rao bound is 1/sqrt(N (T2/2)^2 / e)  (e.g. Degen, Reinhard & Cappellaro, RMP 89, 035002)
    assert r["optimal_time_s"] == pytest.approx(t2 / 2, rel=1e-6)
    assert r["frequency_uncertainty_rad_s"] == pytest.approx(1 / math.sqrt(1e4 * (t2 / 2) ** 2 / math.e), rel=1e-6)
    assert 0.8 < r["mle"]["std_over_cramer_rao"] < 1.25  # an efficient estimator at 200 repetitions
    points = _result(svc, scaling)["result"]["points"]
    assert [p["delta_phi"] for p in points] == pytest.approx([1 / 2, 1 / 5, 1 / 10])  # GHZ: Heisenberg 1/N


def test_a_job_that_raises_is_failed_with_the_reason(svc, submit_job):
    job = submit_job(svc, "amy", {"kind": "sensing", "protocol": "nv", "params": {"coherence_time_s": -1.0}})
    _run_all(svc)
    st = _status(svc, job)
    assert st["state"] == "FAILED" and "-1" in st["error"]
    r = svc.http.get(f"/api/v1/jobs/{job}/result", headers=svc.headers["amy"])
    assert r.status_code == 409 and "FAILED" in r.json()["detail"]


# --- limits -------------------------------------------------------------------------------------
def _post(svc, spec, who="amy", **body):
    return svc.http.post("/api/v1/jobs", json={"spec": spec, **body}, headers=svc.headers[who])


def test_size_limits_answer_413_and_422(make_service, tmp_path, bell_spec):
    from kizuna.service import Limits

    svc = make_service(tmp_path, limits=Limits(max_qasm_bytes=2000, max_shots=1000, max_qubits=3),
                       max_body_bytes=50_000)
    padded = bell_spec()["qasm"] + "// " + "x" * 3000 + "\n"
    r = _post(svc, bell_spec(qasm=padded))
    assert r.status_code == 413 and "at most 2000" in r.json()["detail"]
    r = svc.http.post("/api/v1/jobs", content=b"{" + b" " * 60_000 + b"}", headers={
        **svc.headers["amy"], "Content-Type": "application/json"})
    assert r.status_code == 413
    r = _post(svc, bell_spec(shots=1001))
    assert r.status_code == 422 and "shots" in r.json()["detail"] and "1001" in r.json()["detail"]
    ghz4 = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[4];\ncreg c[4];\nh q[0];\nmeasure q -> c;\n"
    r = _post(svc, bell_spec(qasm=ghz4))
    assert r.status_code == 422 and "4 qubits" in r.json()["detail"] and "at most 3" in r.json()["detail"]
    r = _post(svc, bell_spec(qasm="OPENQASM 2.0;\nqreg q[1];\nh q[0]\n"))
    assert r.status_code == 422 and ":3:" in r.json()["detail"]  # file:line:col from the parser
    r = _post(svc, {"kind": "teleport"})
    assert r.status_code == 422 and "'teleport'" in r.json()["detail"]
    r = _post(svc, bell_spec(colour="red"))
    assert r.status_code == 422 and "'colour'" in r.json()["detail"]
    r = _post(svc, bell_spec(), time_limit_s=-1)
    assert r.status_code == 422
    r = _post(svc, {"kind": "qkd", "options": {"num_pulses": 1e12}})
    assert r.status_code == 422 and "pulses" in r.json()["detail"]
    svc.app.state.db.dispose()


def test_project_max_qubits_applies(svc, bell_spec):
    from kizuna.service._models import Project

    with svc.app.state.db.session() as s:
        s.get(Project, svc.project_a).max_qubits = 1
    r = _post(svc, bell_spec())
    assert r.status_code == 422 and "at most 1" in r.json()["detail"]


def test_quota_in_simulator_seconds_refuses_and_caps(svc, submit_job, bell_spec):
    from kizuna.service._jobs import claim, complete
    from kizuna.service._models import Job, Project

    with svc.app.state.db.session() as s:
        s.get(Project, svc.project_a).quota_sim_seconds = 10.0
    job = submit_job(svc, "amy", time_limit_s=100)
    assert _status(svc, job)["time_limit_s"] == 10.0  # cut to what the quota leaves
    with svc.app.state.db.session() as s:
        c = claim(s, "w", lease_s=30)
    with svc.app.state.db.session() as s:
        complete(s, c.id, c.lease_token, {"x": 1}, {}, sim_seconds=10.5)
    r = _post(svc, bell_spec())
    assert r.status_code == 403 and "quota" in r.json()["detail"]
    # project B is unaffected
    assert _post(svc, bell_spec(), who="bob").status_code == 201
    info = svc.http.get(f"/api/v1/projects/{svc.project_a}", headers=svc.headers["vic"]).json()
    assert info["used_sim_seconds"] == 10.5 and info["quota_sim_seconds"] == 10.0
    with svc.app.state.db.session() as s:
        assert s.get(Job, job).sim_seconds == 10.5


# --- scheduling ---------------------------------------------------------------------------------
def _queue(s, identity_of, who, project, now, limits):
    from kizuna.service._jobs import submit

    return submit(s, identity_of(who), project, {"kind": "sensing", "protocol": "nv"}, limits=limits, now=now).id


def _identities(svc):
    from kizuna.service._auth import authenticate

    with svc.app.state.db.session() as s:  # before any other session: SQLite has one writer
        ids = {who: authenticate(s, token) for who, token in svc.tokens.items()}
    return ids.__getitem__


def test_fair_share_serves_the_project_that_used_least_first(svc):
    from sqlalchemy import update

    from kizuna.service._jobs import claim, complete
    from kizuna.service._models import Job
    from kizuna.service._runner import Limits

    ident, lim, db = _identities(svc), Limits(), svc.app.state.db
    with db.session() as s:
        warm = _queue(s, ident, "amy", svc.project_a, 0.0, lim)
    with db.session() as s:
        c = claim(s, "w", lease_s=60, now=1.0)
        assert c.id == warm
        complete(s, c.id, c.lease_token, {}, {}, sim_seconds=100.0, now=101.0)
    with db.session() as s:  # A queues first, then B
        a1, a2 = (_queue(s, ident, "amy", svc.project_a, t, lim) for t in (200.0, 201.0))
        b1, b2 = (_queue(s, ident, "bob", svc.project_b, t, lim) for t in (202.0, 203.0))
    order = []
    for i in range(4):
        with db.session() as s:
            order.append(claim(s, "w", lease_s=60, now=300.0 + i).id)
    # B has used nothing in the window: both its jobs first (a running job counts its time so far)
    assert order == [b1, b2, a1, a2]
    # outside the window, A's old usage no longer counts: plain FIFO between projects
    with db.session() as s:
        a3, b3, a4 = (_queue(s, ident, w, p, t, lim) for w, p, t in
                      (("amy", svc.project_a, 400.0), ("bob", svc.project_b, 401.0), ("amy", svc.project_a, 402.0)))
        s.execute(update(Job).where(Job.state == "RUNNING").values(state="COMPLETED", finished_at=305.0,
                                                                  sim_seconds=0.0))
    order = []
    for _ in range(3):
        with db.session() as s:
            order.append(claim(s, "w", lease_s=60, now=10_000.0, window_s=3600.0).id)
    assert order[0] == a3 and set(order) == {a3, b3, a4} and order.index(b3) < order.index(a4)


def test_queue_position_counts_the_jobs_ahead(svc, submit_job):
    jobs = [submit_job(svc, who) for who in ("amy", "bob", "amy")]
    assert [_status(svc, j, "alice" if i != 1 else "bob")["queue_position"] for i, j in enumerate(jobs)] == [1, 2, 3]


# --- leases: exactly once -------------------------------------------------------------------------
def test_a_lost_lease_rejects_the_late_completion_and_the_result_is_written_once(svc):
    from sqlalchemy import func, select

    from kizuna.service._jobs import (
        LeaseLost,
        claim,
        complete,
        heartbeat,
        requeue_expired,
    )
    from kizuna.service._models import Job, JobResult

    ident, db = _identities(svc), svc.app.state.db
    from kizuna.service._runner import Limits

    with db.session() as s:
        job = _queue(s, ident, "amy", svc.project_a, 0.0, Limits())
    with db.session() as s:
        first = claim(s, "w1", lease_s=1.0, now=1.0)
    with db.session() as s:
        assert heartbeat(s, job, first.lease_token, lease_s=1.0, now=1.5) == "ok"
        assert requeue_expired(s, now=2.0) == 0  # renewed until 2.5
        assert requeue_expired(s, now=3.0) == 1
    with db.session() as s:
        second = claim(s, "w2", lease_s=1.0, now=3.1)
        assert second.id == job and second.attempt == 2
    with pytest.raises(LeaseLost), db.session() as s:
        heartbeat(s, job, first.lease_token, lease_s=1.0, now=3.2)
    with pytest.raises(LeaseLost), db.session() as s:
        complete(s, job, first.lease_token, {"from": "w1"}, {}, sim_seconds=1.0, now=3.3)
    with db.session() as s:
        complete(s, job, second.lease_token, {"from": "w2"}, {}, sim_seconds=1.0, now=3.4)
    with pytest.raises(LeaseLost), db.session() as s:
        complete(s, job, second.lease_token, {"from": "w2 again"}, {}, sim_seconds=1.0, now=3.5)
    with db.session() as s:
        assert s.execute(select(func.count()).select_from(JobResult)).scalar_one() == 1
        assert json.loads(s.get(JobResult, job).result) == {"from": "w2"}
        assert s.get(Job, job).state == "COMPLETED"


def test_a_job_whose_workers_keep_dying_fails_after_max_attempts(svc):
    from kizuna.service._jobs import claim, requeue_expired
    from kizuna.service._models import Job
    from kizuna.service._runner import Limits

    ident, db = _identities(svc), svc.app.state.db
    with db.session() as s:
        job = _queue(s, ident, "amy", svc.project_a, 0.0, Limits())
    for attempt in range(3):
        with db.session() as s:
            assert claim(s, f"w{attempt}", lease_s=1.0, now=10.0 * attempt).id == job
        with db.session() as s:
            requeue_expired(s, now=10.0 * attempt + 5, max_attempts=3)
    with db.session() as s:
        row = s.get(Job, job)
        assert row.state == "FAILED" and "3 times" in row.error


# --- cancel, time limits (a real child process is stopped) -----------------------------------------
def _long_network_spec():
    return {"kind": "network", "scenario": (EXAMPLES / "repeater_chain.yaml").read_text(), "duration_s": 500.0,
            "seed": 1}


def _wait_state(svc, job, states, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = _status(svc, job, "alice")
        if st["state"] in states:
            return st
        time.sleep(0.05)
    raise AssertionError(f"job {job} still {st['state']} after {timeout} s")


def test_cancel_a_queued_job(svc, submit_job):
    job = submit_job(svc, "amy")
    r = svc.http.post(f"/api/v1/jobs/{job}/cancel", headers=svc.headers["amy"])
    assert r.json()["state"] == "CANCELLED"
    assert _run_all(svc) == 0  # nothing left to run
    assert _status(svc, job)["state"] == "CANCELLED"


def test_time_limit_and_running_cancel_stop_the_job_process(svc, submit_job, bell_spec):
    from kizuna.service.worker import run_worker

    slow = submit_job(svc, "amy", _long_network_spec(), time_limit_s=1.0)
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(svc.url,),
                              kwargs={"isolation": "process", "lease_s": 3.0, "heartbeat_s": 0.1, "poll_s": 0.05,
                                      "stop": stop}, daemon=True)
    worker.start()
    try:
        st = _wait_state(svc, slow, ("FAILED", "COMPLETED"))
        assert st["state"] == "FAILED" and st["error"] == "time limit of 1 s exceeded"
        assert 1.0 <= st["sim_seconds"] < 5.0
        doomed = submit_job(svc, "amy", _long_network_spec())
        _wait_state(svc, doomed, ("RUNNING",))
        r = svc.http.post(f"/api/v1/jobs/{doomed}/cancel", headers=svc.headers["amy"])
        assert r.json()["cancel_requested"] is True
        st = _wait_state(svc, doomed, ("CANCELLED", "FAILED", "COMPLETED"))
        assert st["state"] == "CANCELLED" and st["error"] == "cancelled while running"
        # the worker goes on with a fresh process
        after = submit_job(svc, "amy", {"kind": "sensing", "protocol": "nv", "params": {}})
        assert _wait_state(svc, after, ("COMPLETED", "FAILED"))["state"] == "COMPLETED"
    finally:
        stop.set()
        worker.join(30)


# --- restarts -----------------------------------------------------------------------------------
def test_queued_jobs_survive_a_server_restart(svc, submit_job, bell_spec):
    from kizuna.service import create_app

    jobs = [submit_job(svc, "amy", bell_spec(seed=i)) for i in range(3)]
    svc.app.state.db.dispose()
    app2 = create_app(svc.url, rate_limit_per_s=math.inf)  # a new server on the same file
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    http2 = TestClient(app2)
    listed = http2.get("/api/v1/jobs", headers=svc.headers["amy"]).json()
    assert sorted(j["id"] for j in listed) == sorted(jobs) and {j["state"] for j in listed} == {"QUEUED"}
    svc.app = app2
    assert _run_all(svc) == 3
    for i, job in enumerate(jobs):
        counts = http2.get(f"/api/v1/jobs/{job}/result", headers=svc.headers["amy"]).json()["result"]["counts"]
        assert counts == kizuna.run(kizuna.qasm2.loads(bell_spec()["qasm"]), shots=200, seed=i).counts
    app2.state.db.dispose()

