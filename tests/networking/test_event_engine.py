"""The discrete-event engine: time order, tie order, cancellation, processes, signals, errors.

Every test runs on both cores: the compiled one (``_evcore``, when built) and the pure-Python
fallback.
"""

import pytest

from kizuna.errors import NetworkError
from kizuna.networking import PS_PER_S, engine, seconds_to_ps

CORES = {"python": engine._PythonSimulator}
if engine._evcore is not None:
    CORES["compiled"] = engine._make_simulator(engine._evcore.EventCore, "Simulator")


@pytest.fixture(params=sorted(CORES))
def Simulator(request):  # stands in for the class
    return CORES[request.param]


def test_events_run_in_time_order_and_ties_in_scheduling_order(Simulator):
    sim = Simulator(seed=0)
    log = []
    for t, name in [(30, "c"), (10, "a"), (30, "d"), (20, "b"), (10, "a2")]:
        sim.schedule(t, log.append, name)
    assert sim.run() == 5
    assert log == ["a", "a2", "b", "c", "d"]
    assert sim.now_ps == 30 and sim.events_processed == 5


def test_events_scheduled_while_running_see_the_current_clock(Simulator):
    sim = Simulator(seed=0)
    seen = []

    def tick(k):
        seen.append(sim.now_ps)
        if k:
            sim.schedule(7, tick, k - 1)

    sim.schedule(3, tick, 3)
    sim.run()
    assert seen == [3, 10, 17, 24]


def test_cancelled_event_does_not_run(Simulator):
    sim = Simulator(seed=0)
    log = []
    keep = sim.schedule(5, log.append, "keep")
    drop = sim.schedule(5, log.append, "drop")
    sim.cancel(drop)
    sim.run()
    assert log == ["keep"] and keep != drop


def test_run_until_stops_the_clock_there_and_resumes_later(Simulator):
    sim = Simulator(seed=0)
    log = []
    sim.schedule(100, log.append, 1)
    sim.schedule(300, log.append, 2)
    assert sim.run(until_ps=200) == 1 and sim.now_ps == 200
    assert sim.run(until_ps=1000) == 1 and log == [1, 2] and sim.now_ps == 1000


def test_max_events_limits_a_run(Simulator):
    sim = Simulator(seed=0)

    def forever():
        sim.schedule(1, forever)

    sim.schedule(0, forever)
    assert sim.run(max_events=1000) == 1000
    assert sim.now_ps == 999


def test_generator_processes_sleep_and_wait_for_signals(Simulator):
    sim = Simulator(seed=0)
    ready = sim.signal()
    log = []

    def producer():
        yield 50
        log.append(("fire", sim.now_ps))
        ready.fire("pair")

    def consumer(name):
        value = yield ready
        log.append((name, sim.now_ps, value))
        yield 5
        log.append((name + " done", sim.now_ps))

    sim.process(consumer("c1"))
    sim.process(consumer("c2"))
    sim.process(producer())
    sim.run()
    assert log == [("fire", 50), ("c1", 50, "pair"), ("c2", 50, "pair"), ("c1 done", 55), ("c2 done", 55)]


def test_same_seed_gives_the_same_random_schedule(Simulator):
    def trace(seed):
        sim = Simulator(seed=seed)
        out = []

        def hop(k):
            out.append(sim.now_ps)
            if k:
                sim.schedule(int(sim.rng.integers(1, 1000)), hop, k - 1)

        sim.schedule(0, hop, 50)
        sim.run()
        return out

    assert trace(3) == trace(3)
    assert trace(3) != trace(4)


def test_seconds_convert_to_integer_picoseconds():
    assert seconds_to_ps(5e-6) == 5_000_000
    assert seconds_to_ps(1.0) == PS_PER_S
    with pytest.raises(NetworkError, match="duration_s must be a finite time >= 0"):
        seconds_to_ps(-1, "duration_s")


@pytest.mark.parametrize("delay", [-1, 1.5, "3", True])
def test_bad_delays_are_named_errors(delay, Simulator):
    sim = Simulator(seed=0)
    with pytest.raises(NetworkError, match="delay_ps"):
        sim.schedule(delay, print)


def test_a_process_must_yield_a_delay_or_a_signal(Simulator):
    sim = Simulator(seed=0)

    def bad():
        yield "soon"

    sim.process(bad())
    with pytest.raises(NetworkError, match="may yield an int"):
        sim.run()
    with pytest.raises(NetworkError, match="needs a generator"):
        sim.process(bad)
