"""Large circuit jobs fan out to a Dask cluster in shot chunks with spawned seeds: the same counts
with or without the cluster, whatever its number of workers, and equal to ``kizuna.run_batch``."""

from __future__ import annotations

import pytest

import kizuna


def _run_job(make_service, tmp_path, submit_job, bell_spec, dask_scheduler):
    from kizuna.service.worker import run_worker

    svc = make_service(tmp_path)
    job = submit_job(svc, spec=bell_spec(seed=21, shots=2_300))
    assert run_worker(svc.url, once=True, isolation="thread", dask_scheduler=dask_scheduler) == 1
    doc = svc.http.get(f"/api/v1/jobs/{job}/result", headers=svc.headers["amy"]).json()
    svc.app.state.db.dispose()
    return doc["result"]


def test_shot_chunks_give_the_same_counts_on_any_cluster(tmp_path_factory, make_service, submit_job, bell_spec,
                                                         monkeypatch):
    distributed = pytest.importorskip("distributed")  # in the dev extra: present in CI
    from kizuna.service import _runner, worker

    monkeypatch.setattr(_runner, "SHOT_CHUNK", 500)  # 2,300 shots -> chunks of 500 x 4 + 300
    sent = []
    submit = worker._Dask.submit

    def counting_submit(self, fn, /, *args, **kwargs):
        sent.append(args[1])  # the chunk's shots
        return submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(worker._Dask, "submit", counting_submit)

    alone = _run_job(make_service, tmp_path_factory.mktemp("alone"), submit_job, bell_spec, None)
    assert sent == []
    results = []
    for n_workers in (1, 3):
        with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=False,
                                      dashboard_address=None) as cluster:
            results.append(_run_job(make_service, tmp_path_factory.mktemp(f"dask{n_workers}"), submit_job,
                                    bell_spec, cluster.scheduler_address))
    assert sent == [500, 500, 500, 500, 300] * 2
    assert alone["counts"] == results[0]["counts"] == results[1]["counts"]
    expected = kizuna.run_batch(kizuna.qasm2.loads(bell_spec()["qasm"]), 2_300, 21, shots_per_task=500)[0]
    assert alone["counts"] == expected.counts and sum(alone["counts"].values()) == 2_300
    assert alone["provenance"]["batch"]["task_shots"] == [500, 500, 500, 500, 300]
