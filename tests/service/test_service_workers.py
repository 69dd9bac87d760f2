"""Real worker processes: one killed with SIGKILL mid-job (its lease expires, another worker
finishes the job exactly once), and many jobs through ``kizuna.client.Client`` against a real
uvicorn server with two workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

import kizuna

# (not imported from conftest: with several conftest modules, "import conftest" is ambiguous)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

SRC = Path(kizuna.__file__).resolve().parent.parent


def _worker(url, worker_id, *, lease_s=1.0, isolation="thread"):
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "kizuna.service.worker", "--database-url", url, "--lease-s", str(lease_s),
           "--heartbeat-s", str(lease_s / 5), "--poll-s", "0.05", "--isolation", isolation, "--worker-id", worker_id]
    # the log goes to a file next to the database: a pipe nobody reads would fill and stall the worker
    log = open(Path(url.removeprefix("sqlite:///")).with_name(f"{worker_id}.log"), "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)
    log.close()
    return proc


def _job_row(svc, job_id):
    from kizuna.service._models import Job

    with svc.app.state.db.session() as s:
        row = s.get(Job, job_id)
        return row.state, row.worker_id, row.attempts


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_a_worker_killed_mid_job_loses_its_lease_and_another_finishes_it_once(svc, submit_job):
    from sqlalchemy import func, select

    from kizuna.service._models import JobResult

    spec = {"kind": "network", "scenario": (EXAMPLES / "repeater_chain.yaml").read_text(), "duration_s": 2.0,
            "seed": 99}
    job = submit_job(svc, "amy", spec)
    first = _worker(svc.url, "worker-A")
    second = None
    try:
        _wait(lambda: _job_row(svc, job)[:2] == ("RUNNING", "worker-A"), 120, "worker A to claim the job")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        second = _worker(svc.url, "worker-B")
        _wait(lambda: _job_row(svc, job)[0] == "COMPLETED", 180, "worker B to complete the job")
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(10)
    state, worker, attempts = _job_row(svc, job)
    assert (state, worker, attempts) == ("COMPLETED", "worker-B", 2)
    with svc.app.state.db.session() as s:
        assert s.execute(select(func.count()).select_from(JobResult)).scalar_one() == 1
    doc = svc.http.get(f"/api/v1/jobs/{job}/result", headers=svc.headers["amy"]).json()
    assert doc["provenance"]["worker"] == "worker-B" and doc["provenance"]["attempt"] == 2
    assert doc["provenance"]["seed"] == 99 and doc["result"]["requests"][0]["delivered"] > 0


def _through_the_client(svc, live_server, bell_spec, *, num_jobs, num_clients, num_workers=2, processes=False):
    """``num_clients`` threads submit ``num_jobs`` Bell circuits through ``Client`` and wait for
    each; ``num_workers`` workers (threads of this process, or worker processes)."""
    from kizuna.client import Client
    from kizuna.service._models import Job, JobResult
    from kizuna.service.worker import run_worker

    qasm = bell_spec()["qasm"]
    results, errors = {}, []
    stop = threading.Event()
    if processes:
        workers = [_worker(svc.url, f"w{i}", lease_s=20.0) for i in range(num_workers)]
    else:
        workers = [threading.Thread(target=run_worker, args=(svc.url,), daemon=True,
                                    kwargs={"isolation": "thread", "poll_s": 0.02, "lease_s": 20.0, "stop": stop,
                                            "worker_id": f"w{i}"}) for i in range(num_workers)]
        for w in workers:
            w.start()
    try:
        with live_server(svc.app) as server:
            def client_thread(k):
                try:
                    client = Client(server.url, svc.tokens["amy"], timeout=60)
                    mine = [(seed, client.submit(qasm, shots=16, seed=seed))
                            for seed in range(k, num_jobs, num_clients)]
                    for seed, job in mine:
                        results[seed] = (job, client.wait(job, timeout=120, progress=False, max_poll_s=0.5))
                except Exception as exc:  # noqa: BLE001 - reported below
                    errors.append(repr(exc))

            t0 = time.perf_counter()
            threads = [threading.Thread(target=client_thread, args=(k,)) for k in range(num_clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - t0
    finally:
        stop.set()
        for w in workers:
            if processes:
                w.kill()
                w.wait(10)
            else:
                w.join(30)
    assert not errors, errors[:3]
    assert sorted(results) == list(range(num_jobs))
    circuit = kizuna.qasm2.loads(qasm)
    for seed, (_job, doc) in results.items():
        assert doc["result"]["counts"] == kizuna.run(circuit, shots=16, seed=seed).counts
    from sqlalchemy import func, select

    with svc.app.state.db.session() as s:
        assert s.execute(select(func.count()).select_from(JobResult)).scalar_one() == num_jobs
        assert set(s.execute(select(Job.state, Job.attempts)).all()) == {("COMPLETED", 1)}
        first, last = s.execute(select(func.min(Job.finished_at), func.max(Job.finished_at))).one()
    steady = (num_jobs - 1) / max(last - first, 1e-9)
    kind = "worker processes" if processes else "worker threads"
    sys.stderr.write(f"\n{num_jobs} jobs from {num_clients} clients, {num_workers} {kind}: {elapsed:.2f} s "
                     f"end to end ({num_jobs / elapsed:.1f} jobs/s, worker start-up included); "
                     f"{steady:.1f} jobs/s from the first completion to the last\n")



def test_100_jobs_from_10_threads_complete_exactly_once(svc, live_server, bell_spec):
    _through_the_client(svc, live_server, bell_spec, num_jobs=100, num_clients=10)


@pytest.mark.slow
def test_1000_jobs_from_20_clients_and_2_worker_processes_complete_exactly_once(svc, live_server, bell_spec):
    _through_the_client(svc, live_server, bell_spec, num_jobs=1000, num_clients=20, processes=True)
