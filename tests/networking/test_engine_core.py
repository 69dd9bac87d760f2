"""The compiled event core (``_evcore.c``) against the pure-Python core: the same events in the
same order on random workloads, the same errors, bounded references, int64 clock limits."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
import sysconfig

import numpy as np
import pytest

from kizuna.errors import NetworkError
from kizuna.networking import engine

compiled = pytest.mark.skipif(engine._evcore is None, reason="the compiled core is not built here")


def test_the_compiled_core_is_built_where_a_c_compiler_exists():
    # an install (pip install -e .) builds it; a bare source tree needs
    # `python setup.py build_ext --inplace`. A silent fallback would hide a build regression.
    if not shutil.which(sysconfig.get_config_var("CC").split()[0] if sysconfig.get_config_var("CC") else "cc"):
        pytest.skip("no C compiler on this machine: the pure-Python core is the engine")
    assert engine._evcore is not None, "kizuna.networking._evcore is not built: run pip install -e ."
    assert engine.ENGINE_CORE == ("python" if os.environ.get("KIZUNA_PURE_PYTHON_ENGINE") == "1" else "compiled")


def _trace(cls, seed: int) -> list:
    """A random workload of callbacks, cancellations, processes and signals; the full trace."""
    sim = cls(seed=seed)
    rng = np.random.default_rng(seed)
    log: list = []
    ids: list[int] = []
    sig = sim.signal()

    def cb(name, depth):
        log.append(("cb", sim.now_ps, name, depth))
        if depth < 4:
            for _ in range(int(rng.integers(0, 3))):
                ids.append(sim.schedule(int(rng.integers(0, 50)), cb, f"{name}.{len(ids)}", depth + 1))
        if ids and rng.random() < 0.2:
            sim.cancel(ids[int(rng.integers(len(ids)))])
        if rng.random() < 0.1:
            log.append(("fired", sim.now_ps, sig.fire(len(log))))

    def proc(k):
        for step in range(int(rng.integers(1, 6))):
            if rng.random() < 0.3:
                value = yield sig
                log.append(("woke", sim.now_ps, k, value))
            else:
                yield int(rng.integers(0, 30))
                log.append(("slept", sim.now_ps, k, step))

    for i in range(20):
        ids.append(sim.schedule(int(rng.integers(0, 100)), cb, str(i), 0))
    for k in range(10):
        sim.process(proc(k), int(rng.integers(0, 100)))
    n1 = sim.run(until_ps=150)
    log.append(("until", sim.now_ps, n1))
    n2 = sim.run(max_events=25)
    log.append(("max", sim.now_ps, n2))
    n3 = sim.run()
    log.append(("end", sim.now_ps, n3, sim.events_processed, sim.pending))
    return log


@compiled
@pytest.mark.parametrize("seed", range(12))
def test_both_cores_run_the_same_events_in_the_same_order(seed):
    fast = engine._make_simulator(engine._evcore.EventCore, "Simulator")
    assert _trace(fast, seed) == _trace(engine._PythonSimulator, seed)


@compiled
def test_an_error_in_a_callback_propagates_and_the_simulator_stays_usable():
    sim = engine._make_simulator(engine._evcore.EventCore, "Simulator")(seed=0)
    log = []

    def boom():
        raise RuntimeError("boom")

    sim.schedule(5, boom)
    sim.schedule(7, log.append, "after")
    with pytest.raises(RuntimeError, match="boom"):
        sim.run()
    assert sim.now_ps == 5 and sim.events_processed == 1 and sim.pending == 1
    assert sim.run() == 1 and log == ["after"]


@compiled
def test_times_past_the_int64_clock_are_named_errors():
    sim = engine._make_simulator(engine._evcore.EventCore, "Simulator")(seed=0)
    with pytest.raises(NetworkError, match="int64 picosecond clock"):
        sim.schedule(2**63, print)
    sim.schedule(2**63 - 1, print)  # the last representable instant is fine
    sim.run(max_events=1)
    with pytest.raises(NetworkError, match="int64 picosecond clock"):
        sim.schedule(1, print)

    def proc():
        yield 2**64

    sim2 = engine._make_simulator(engine._evcore.EventCore, "Simulator")(seed=0)
    sim2.process(proc())
    with pytest.raises(NetworkError, match="int64 picosecond clock"):
        sim2.run()


def _run_and_drop(cls, payload, events: int) -> int:
    """Run ``events`` self-rescheduling events carrying ``payload``, leave one pending (a cycle:
    the simulator holds the callback, the callback's closure holds the simulator), drop all."""
    sim = cls(seed=0)
    count = [0]

    def tick(obj):
        count[0] += 1
        if count[0] < events:
            sim.schedule(1, tick, obj)

    sim.schedule(0, tick, payload)
    ran = sim.run()
    sim.schedule(1, tick, payload)
    return ran


@compiled
def test_a_million_events_leave_no_references_behind():
    cls = engine._make_simulator(engine._evcore.EventCore, "Simulator")
    payload = object()
    before = sys.getrefcount(payload)
    assert _run_and_drop(cls, payload, 1_000_000) == 1_000_000
    gc.collect()
    assert sys.getrefcount(payload) == before


def test_the_environment_variable_forces_the_python_core():
    code = "from kizuna.networking import engine; print(engine.ENGINE_CORE, engine.Simulator.__mro__[-2].__name__)"
    env = dict(os.environ, KIZUNA_PURE_PYTHON_ENGINE="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["python", "_PythonCore"]
