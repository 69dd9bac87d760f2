"""The discrete-event engine of the network simulator: an integer-picosecond clock and a heap.

Time is an integer number of **picoseconds** (``now_ps``), so a delay of 5 µs/km over 0.2 km is
exactly 1,000,000 ps and no event drifts by floating-point rounding. Events at the same time run
in the order they were scheduled (a sequence number breaks every tie), so a run is the same
event for event on every machine; the only randomness is ``Simulator.rng``, seeded once.

Protocols are written either as callbacks (``schedule(delay_ps, fn, *args)``) or as generator
**processes** (``process(gen)``): a process yields an ``int`` to sleep that many picoseconds, or
a ``Signal`` to wait until someone calls ``signal.fire(value)``; the ``yield`` expression then
returns ``value`` (``None`` after a sleep).

Speed: the heap and the loop are compiled (``_evcore.c``, built as an optional extension when
Kizuna is installed); without it the same engine runs on ``heapq`` in pure Python
(``KIZUNA_PURE_PYTHON_ENGINE=1`` forces that). Both run the same events in the same order.
Figures are in docs/performance.md (``benchmarks/bench_network.py``).

This module imports only numpy and the core's seed handling; nothing above ``core``.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Callable, Generator

from ..core.random import SeedLike, resolve_seed
from ..errors import NetworkError

__all__ = ["PS_PER_S", "Signal", "Simulator", "seconds_to_ps"]

_push = heapq.heappush

#: Picoseconds per second.
PS_PER_S = 1_000_000_000_000


def seconds_to_ps(seconds: float, name: str = "time") -> int:
    """``seconds`` as the nearest integer number of picoseconds.

    Raises:
        NetworkError: a negative, infinite or non-numeric time (named ``name``).

    Example:
        >>> seconds_to_ps(5e-6)
        5000000
    """
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        raise NetworkError(f"{name} must be a number of seconds (got {seconds!r})") from None
    if not value >= 0 or value == float("inf"):
        raise NetworkError(f"{name} must be a finite time >= 0 s (got {seconds!r})")
    return round(value * PS_PER_S)


class Signal:
    """Something processes wait for: ``yield signal`` suspends a process until ``fire``.

    ``fire(value)`` resumes every process waiting at that moment (in the order they started
    waiting), each in its own event at the current time; processes that wait later wait for the
    next ``fire``.
    """

    __slots__ = ("_sim", "_waiting")

    def __init__(self, sim: Simulator):
        self._sim = sim
        self._waiting: list = []

    def fire(self, value=None) -> int:
        """Resume the waiting processes with ``value``; returns how many there were."""
        waiting, self._waiting = self._waiting, []
        resume = self._sim._resume
        for gen in waiting:
            resume(gen, value)
        return len(waiting)


class _PythonCore:
    """The event heap and loop in pure Python: the fallback when the compiled core
    (``_evcore``) is not built, and the reference the compiled core is tested against (both run
    the same events in the same order)."""

    __slots__ = ("_cancelled", "_heap", "_seq", "events_processed", "now_ps")

    def __init__(self):
        self.now_ps = 0
        self.events_processed = 0
        self._heap: list = []
        self._seq = 0
        self._cancelled: set[int] = set()

    def schedule(self, delay_ps: int, fn: Callable, *args) -> int:
        if type(delay_ps) is not int or delay_ps < 0:
            delay_ps = self._check_delay(delay_ps)
        self._seq += 1
        _push(self._heap, (self.now_ps + delay_ps, self._seq, fn, args))
        return self._seq

    def _resume(self, gen: Generator, value, delay_ps: int = 0) -> int:
        return self.schedule(delay_ps, self._step, gen, value)

    def cancel(self, event_id: int) -> None:
        if event_id > 0:
            self._cancelled.add(event_id)

    def _step(self, gen: Generator, value) -> None:
        try:
            what = gen.send(value)
        except StopIteration:
            return
        if type(what) is int:
            if what < 0:
                raise NetworkError(f"a process yielded a negative delay ({what} ps)")
            self._seq += 1
            _push(self._heap, (self.now_ps + what, self._seq, self._step, (gen, None)))
        elif isinstance(what, Signal):
            what._waiting.append(gen)
        else:
            raise NetworkError(
                f"a process may yield an int (picoseconds to sleep) or a Signal (got {what!r})"
            )

    def run(self, until_ps: int | None = None, max_events: int | None = None) -> int:
        heap = self._heap
        pop = heapq.heappop
        cancelled = self._cancelled
        limit = -1 if max_events is None else int(max_events)
        end = None if until_ps is None else self._check_delay(until_ps, "until_ps")
        n = 0
        try:
            while heap and n != limit:
                if end is not None and heap[0][0] > end:
                    break
                t, seq, fn, args = pop(heap)
                if cancelled and seq in cancelled:
                    cancelled.discard(seq)
                    continue
                self.now_ps = t
                n += 1
                fn(*args)
        finally:
            self.events_processed += n
        if end is not None and end > self.now_ps and (not heap or heap[0][0] > end):
            self.now_ps = end
        return n

    @property
    def pending(self) -> int:
        return len(self._heap)


try:
    from . import _evcore
except ImportError:  # not compiled (a source tree without build_ext, or a failed optional build)
    _evcore = None
else:
    _evcore.configure(Signal, NetworkError)

#: ``"compiled"`` when the C event core runs under ``Simulator``, else ``"python"``.
ENGINE_CORE = "compiled" if _evcore is not None and os.environ.get("KIZUNA_PURE_PYTHON_ENGINE") != "1" else "python"


class _SimulatorAPI:
    """What ``Simulator`` adds to either core: seeding, checked scheduling, processes."""

    __slots__ = ()

    def __init__(self, seed: SeedLike = None):
        super().__init__()
        self.rng, self.seed = resolve_seed(seed)

    # --- scheduling (``schedule``, ``cancel``, ``run`` and ``pending`` come from the core) ----
    def schedule_at(self, time_ps: int, fn: Callable, *args) -> int:
        """Run ``fn(*args)`` at absolute time ``time_ps`` (not before now)."""
        return self.schedule(self._check_delay(time_ps - self.now_ps if isinstance(time_ps, int) else time_ps,
                                               "time_ps - now_ps"), fn, *args)

    @staticmethod
    def _check_delay(delay, name: str = "delay_ps") -> int:
        import numbers

        if isinstance(delay, bool) or not isinstance(delay, numbers.Integral):
            raise NetworkError(
                f"{name} must be an integer number of picoseconds (got {delay!r}); convert "
                "seconds with seconds_to_ps"
            )
        if delay < 0:
            raise NetworkError(f"{name} must be >= 0: events cannot run in the past (got {delay})")
        return int(delay)

    # --- processes ------------------------------------------------------------------------
    def signal(self) -> Signal:
        """A new ``Signal`` of this simulator."""
        return Signal(self)

    def process(self, gen: Generator, delay_ps: int = 0) -> int:
        """Start the generator process ``gen`` ``delay_ps`` from now (see the module
        docstring for what it may yield)."""
        if not hasattr(gen, "send"):
            raise NetworkError(f"process needs a generator (got {type(gen).__name__}); call the function")
        return self._resume(gen, None, delay_ps)


def _make_simulator(core: type, name: str) -> type:
    doc = """A discrete-event simulator with an integer-picosecond clock.

    Args:
        seed: seeds ``rng``, the one generator every model and protocol of this simulation
            draws from (``int``, ``numpy.random.Generator`` or ``None``: fresh entropy, recorded
            in ``seed``).

    Attributes:
        now_ps: the current time in picoseconds.
        rng: the simulation's ``numpy.random.Generator``.
        seed: the integer seed (``None`` when a Generator was given).
        events_processed: events run so far.
        pending: events still scheduled (cancelled ones included until they are reached).

    Methods ``schedule(delay_ps, fn, *args) -> event id``, ``schedule_at``, ``cancel(event_id)``,
    ``process(gen, delay_ps=0)``, ``signal()`` and ``run(until_ps=None, max_events=None) ->
    events run`` (until none are left, the next one is after ``until_ps`` (the clock then stops
    at ``until_ps``), or ``max_events`` have run).

    Example:
        >>> sim = Simulator(seed=1)
        >>> log = []
        >>> def ping(name):
        ...     log.append((sim.now_ps, name))
        >>> _ = sim.schedule(5, ping, "b"); _ = sim.schedule(5, ping, "c"); _ = sim.schedule(2, ping, "a")
        >>> sim.run()
        3
        >>> log
        [(2, 'a'), (5, 'b'), (5, 'c')]
    """
    return type(name, (_SimulatorAPI, core), {"__slots__": ("rng", "seed"), "__doc__": doc,
                                               "__module__": __name__})


#: The simulator on the pure-Python core (tests run every engine test on both cores).
_PythonSimulator = _make_simulator(_PythonCore, "Simulator")
Simulator = (_make_simulator(_evcore.EventCore, "Simulator") if ENGINE_CORE == "compiled"
             else _PythonSimulator)
