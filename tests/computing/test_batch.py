"""``run_batch``: the same results on every executor (serial, threads, processes, Dask), each task
repeatable with ``kizuna.run``, and correct statistics after merging chunks."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import pickle

import numpy as np
import pytest

import kizuna
from kizuna.computing.batch import run_batch
from kizuna.errors import SimulationError


def _circuits():
    bell = kizuna.Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
    skew = kizuna.Circuit(3, 3).ry(0.7, 0).rx(1.9, 1).cx(0, 2).h(1).measure([0, 1, 2], [0, 1, 2])
    feed = kizuna.Circuit(2, 2).h(0).measure(0, 0)  # mid-circuit measurement and feed-forward
    with feed.if_test("c", 1):
        feed.x(1)
    feed.measure(1, 1)
    return [bell, skew, feed]


def _fingerprint(results):
    return [(r.counts, r.memory, r.provenance["batch"]["task_seeds"]) for r in results]


def test_results_do_not_depend_on_the_executor():
    circuits = _circuits()
    serial = run_batch(circuits, shots=3000, seed=11, shots_per_task=700, memory=True)
    with cf.ThreadPoolExecutor(2) as pool:
        threads = run_batch(circuits, shots=3000, seed=11, shots_per_task=700, memory=True, executor=pool)
    assert _fingerprint(serial) == _fingerprint(threads)
    # a task's arguments travel to other processes by pickle
    for c in circuits:
        assert pickle.loads(pickle.dumps(c)) == c


@pytest.mark.slow  # spawned workers import numpy, scipy and numba: ~10 s on 2 cores
def test_a_process_pool_gives_the_same_results():
    circuits = _circuits()
    serial = run_batch(circuits, shots=3000, seed=11, shots_per_task=700, memory=True)
    with cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        procs = run_batch(circuits, shots=3000, seed=11, shots_per_task=700, memory=True, executor=pool)
    assert _fingerprint(serial) == _fingerprint(procs)


def test_a_dask_cluster_gives_the_same_results():
    distributed = pytest.importorskip("distributed")  # in the dev extra: present in CI
    circuits = _circuits()
    serial = run_batch(circuits, shots=2000, seed=5, shots_per_task=512)
    with distributed.Client(processes=False, n_workers=2, threads_per_worker=1,
                            dashboard_address=None) as client:
        on_dask = run_batch(circuits, shots=2000, seed=5, shots_per_task=512, executor=client.get_executor())
    assert _fingerprint(serial) == _fingerprint(on_dask)


def test_each_task_is_a_plain_run_with_its_recorded_seed():
    circuits = _circuits()
    whole = run_batch(circuits, shots=1000, seed=3)
    for c, r in zip(circuits, whole, strict=True):
        (s,) = r.provenance["batch"]["task_seeds"]
        assert r.counts == kizuna.run(c, shots=1000, seed=s).counts
    chunked = run_batch(circuits[1], shots=1000, seed=3, shots_per_task=300)[0]
    assert chunked.provenance["batch"]["task_shots"] == [300, 300, 300, 100]
    total: dict = {}
    for n, s in zip(chunked.provenance["batch"]["task_shots"], chunked.provenance["batch"]["task_seeds"],
                    strict=True):
        for k, v in kizuna.run(circuits[1], shots=n, seed=s).counts.items():
            total[k] = total.get(k, 0) + v
    assert chunked.counts == dict(sorted(total.items())) and sum(total.values()) == 1000


def test_merged_counts_follow_the_exact_distribution(assert_counts_match):
    circuit = _circuits()[1]
    r = run_batch(circuit, shots=40_000, seed=9, shots_per_task=4096)[0]
    probs = np.abs(kizuna.statevector(circuit.remove_final_measurements())) ** 2
    exact = {format(i, "03b"): p for i, p in enumerate(probs) if p > 1e-15}
    assert_counts_match(r.counts, exact, 40_000)


def test_different_seeds_or_chunkings_differ_and_provenance_records_them():
    c = _circuits()[1]
    a = run_batch(c, shots=2000, seed=1)[0]
    b = run_batch(c, shots=2000, seed=2)[0]
    d = run_batch(c, shots=2000, seed=1, shots_per_task=1000)[0]
    assert a.counts != b.counts and a.counts != d.counts
    assert a.provenance["seed"] == 1 and a.provenance["batch"]["index"] == 0
    assert d.metadata["tasks"] == 2


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"shots": 0}, "shots must be a positive integer"),
    ({"shots_per_task": 0}, "shots_per_task must be a positive integer"),
    ({"seed": np.random.default_rng(1)}, "needs an integer seed"),
    ({"seed": -4}, "seed must be a non-negative integer"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(SimulationError, match=match):
        run_batch(_circuits()[0], **kwargs)
    with pytest.raises(SimulationError, match="non-empty sequence of Circuits"):
        run_batch([])
