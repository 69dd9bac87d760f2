"""Quantum error correction: repetition- and rotated-surface-code memory experiments.

A memory experiment prepares a logical state, measures the code's stabilizers for ``rounds``
rounds under circuit-level depolarizing noise of strength ``p``, measures the data qubits and
asks a decoder whether the logical observable survived:

>>> exp = surface_code_memory(3, rounds=3, p=0.001)
>>> exp.num_qubits, exp.num_detectors, exp.num_measurements
(17, 24, 33)
>>> result = exp.run(2_000, seed=7)
>>> result.shots, result.logical_errors < 40
(2000, True)

* ``repetition_code_memory`` and ``surface_code_memory`` build a frozen ``MemoryExperiment``:
  the ideal ``circuit``, the noisy ``program`` (the circuit's instructions with ``ChannelOp``
  noise, placed as in Stim's generated circuits with all four noise knobs equal to ``p``; see
  ``_qec_codes``), ``detectors`` and ``observables`` (record indices whose XOR is
  deterministic without noise) and coordinates.
* ``MemoryExperiment.detector_error_model()`` finds, without Stim, which detectors and
  observables every single fault flips (all faults propagated at once as Pauli frames), merges
  identical ones and splits them into graph-like edges; ``matching()`` is the
  ``pymatching.Matching`` built from them (minimum-weight perfect matching, weights
  ``log((1 - p) / p)``).
* ``MemoryExperiment.run`` samples shots with the stabilizer backend's frame sampler
  (``StabilizerBackend.sample_records``), computes detection events (XORs of record columns),
  decodes them in batches (``Matching.decode_batch``) and returns a ``MemoryResult``: logical
  error rate per shot and per round with Wilson 95% intervals, timings and provenance.
* ``threshold_sweep`` runs a grid of distances and ``p`` as shot batches on a process pool;
  ``ThresholdSweep.estimate_threshold`` finds where the curves cross; ``plot_threshold`` draws
  them.

Randomness: shots run in batches of ``BATCH_SHOTS``; batch ``i`` of a run (task ``i`` of a
sweep, in ``(distance, p, batch)`` order) draws from child ``i`` of
``numpy.random.SeedSequence(seed)``, so results do not depend on ``workers`` or threads.

pymatching (``pip install 'kizuna[qec]'``) loads only to decode; matplotlib
(``pip install 'kizuna[plot]'``) only to plot. This module imports ``core`` and
``computing``; nothing above.
"""

from __future__ import annotations

import math
import numbers
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np

from ..core.random import SeedLike, resolve_seed
from ..errors import QECError
from ._qec_codes import build_repetition, build_surface
from ._qec_dem import DetectorErrorModel, analyse_faults, decompose, require_pymatching
from .circuit import Circuit

__all__ = [
    "BATCH_SHOTS",
    "DetectorErrorModel",
    "MemoryExperiment",
    "MemoryResult",
    "ThresholdSweep",
    "plot_threshold",
    "repetition_code_memory",
    "surface_code_memory",
    "threshold_sweep",
    "wilson_interval",
]

#: Shots per batch: the unit of seeding, of parallel work and of progress reports.
BATCH_SHOTS = 1 << 14
#: Frame-sampler threads per batch. One: a batch is too small for a thread pool to pay (its
#: wake-up and spinning cost more than they save, and steal the core the decoder runs on);
#: parallel work comes from ``workers`` processes, one batch each.
_BATCH_THREADS = 1
#: Two-sided 95% normal quantile.
_Z95 = 1.959963984540054
_CODES = ("repetition", "surface")
#: Physical error rates ``threshold_sweep`` uses when none are given.
DEFAULT_PS = (0.003, 0.005, 0.007, 0.01, 0.014)


# --- validation ------------------------------------------------------------------------------
def _check_code(code) -> str:
    if code not in _CODES:
        raise QECError(f"code must be one of {', '.join(map(repr, _CODES))} (got {code!r})")
    return code


def _check_distance(code: str, distance) -> int:
    if isinstance(distance, bool) or not isinstance(distance, numbers.Integral) or distance < 2:
        raise QECError(f"distance must be an integer >= 2 (got {distance!r}): a distance-1 code "
                       "detects no error")
    d = int(distance)
    if code == "surface" and d % 2 == 0:
        raise QECError(
            f"surface-code distance must be odd (got {d}): an even distance d corrects no more "
            f"errors than d - 1 (floor((d - 1) / 2) = {(d - 1) // 2}) and leaves ties a "
            "matching decoder breaks at random; use 3, 5, 7, ..."
        )
    return d


def _check_rounds(rounds) -> int:
    if isinstance(rounds, bool) or not isinstance(rounds, numbers.Integral) or rounds < 1:
        raise QECError(f"rounds must be an integer >= 1 (got {rounds!r})")
    return int(rounds)


def _check_p(p) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise QECError(f"p must be a number in [0, 0.5] (got {p!r})")
    x = float(p)
    if not 0.0 <= x <= 0.5:
        raise QECError(f"p must be in [0, 0.5], a physical error probability per operation "
                       f"(got {p!r})")
    return x


def _check_basis(code: str, basis) -> str:
    b = basis.lower() if isinstance(basis, str) else basis
    allowed = ("z",) if code == "repetition" else ("z", "x")
    if b not in allowed:
        why = " (the repetition code protects Z-basis memory only)" if code == "repetition" else ""
        raise QECError(f"basis must be {' or '.join(map(repr, allowed))} (got {basis!r}){why}")
    return b


def _check_shots(shots) -> int:
    if isinstance(shots, bool) or not isinstance(shots, numbers.Integral) or shots < 1:
        raise QECError(f"shots must be a positive integer (got {shots!r})")
    return int(shots)


def _check_workers(workers, default: int) -> int:
    if workers is None:
        return default
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1:
        raise QECError(f"workers must be a positive integer or None (got {workers!r})")
    return int(workers)


def _check_decoder(decoder) -> str:
    if decoder not in ("pymatching", "none"):
        raise QECError(f"decoder must be 'pymatching' or 'none' (got {decoder!r})")
    return decoder


def _root_seed(seed: SeedLike) -> tuple[np.random.SeedSequence, int | None]:
    """The sequence every batch seed is spawned from, and the integer seed to record."""
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(seed.integers(0, 2**63, size=4).tolist()), None
    if seed is None:
        seed = int(np.random.SeedSequence().entropy) % (1 << 53)
    elif isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise QECError(f"seed must be a non-negative integer, a numpy Generator or None "
                       f"(got {seed!r})")
    return np.random.SeedSequence(int(seed)), int(seed)


def wilson_interval(k: int, n: int, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``k / n`` (95% for the default ``z``).

    Example:
        >>> [round(x, 4) for x in wilson_interval(10, 100)]
        [0.0552, 0.1744]
    """
    if n <= 0:
        return 0.0, 1.0
    phat = k / n
    den = 1 + z * z / n
    centre = (phat + z * z / (2 * n)) / den
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def per_round(p_shot: float, rounds: int) -> float:
    """Logical error rate per round ``(1 - (1 - 2 P) ** (1 / r)) / 2`` from the rate per shot
    ``P`` of ``r`` rounds (each round flips the observable independently); 1/2 for ``P >=
    1/2``."""
    if p_shot >= 0.5:
        return 0.5
    return -math.expm1(math.log1p(-2 * p_shot) / rounds) / 2


# --- the experiment ----------------------------------------------------------------------------
@dataclass(frozen=True)
class MemoryExperiment:
    """A quantum-memory experiment of a code: circuit, noise, detectors, observables.

    Build one with ``repetition_code_memory`` or ``surface_code_memory``.

    Attributes:
        code: ``"repetition"`` or ``"surface"``.
        distance, rounds, p, basis: the parameters (``basis``: ``"z"`` or ``"x"``).
        circuit: the ideal ``Circuit`` (data and ancilla qubits, resets, H and CX, ancilla
            measurements each round, final data measurements); clbit ``k`` is record ``k``.
        program: the noisy flat program (``circuit``'s instructions with ``ChannelOp``
            noise), what ``StabilizerBackend`` samples.
        detectors: per detector, the record indices whose XOR is 0 without noise.
        observables: per logical observable, the record indices whose XOR it is.
        qubit_coords: ``(x, y)`` per qubit.
        detector_coords: ``(x, y, round)`` per detector (round ``rounds``: the final data
            measurement).
        detector_basis: ``"Z"`` or ``"X"`` per detector: the type of the stabilizer it
            compares (Z-type detectors see X errors).
        observable_basis: the Pauli type of each observable.
        data_qubits, ancilla_qubits: qubit indices.
    """

    code: str
    distance: int
    rounds: int
    p: float
    basis: str
    circuit: Circuit = field(repr=False)
    program: tuple = field(repr=False)
    detectors: tuple[tuple[int, ...], ...] = field(repr=False)
    observables: tuple[tuple[int, ...], ...] = field(repr=False)
    qubit_coords: tuple[tuple[float, float], ...] = field(repr=False)
    detector_coords: tuple[tuple[float, float, float], ...] = field(repr=False)
    detector_basis: tuple[str, ...] = field(repr=False)
    observable_basis: tuple[str, ...] = field(repr=False)
    data_qubits: tuple[int, ...] = field(repr=False)
    ancilla_qubits: tuple[int, ...] = field(repr=False)
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    # --- sizes ---------------------------------------------------------------------------
    @property
    def num_qubits(self) -> int:
        return self.circuit.num_qubits

    @property
    def num_measurements(self) -> int:
        """Records per shot (the circuit's clbits)."""
        return self.circuit.num_clbits

    @property
    def num_detectors(self) -> int:
        return len(self.detectors)

    @property
    def num_observables(self) -> int:
        return len(self.observables)

    @property
    def spec(self) -> tuple:
        """``(code, distance, rounds, p, basis)``: what rebuilds this experiment."""
        return (self.code, self.distance, self.rounds, self.p, self.basis)

    def parameters(self) -> dict[str, Any]:
        """The parameters as a JSON-ready dict."""
        return {"code": self.code, "distance": self.distance, "rounds": self.rounds,
                "p": self.p, "basis": self.basis}

    # --- error model and decoder ---------------------------------------------------------
    def detector_error_model(self) -> DetectorErrorModel:
        """The detectors and observables each single fault flips, merged, and its graph-like
        edges (see ``kizuna.computing._qec_dem``). Computed once, then cached.

        Cost: about 15 faults per CX, all propagated together: ``O(len(program) * F / 64)``
        word operations (d = 7, 7 rounds: 20,000 faults, well under a second).

        Raises:
            QECError: a fault whose detectors do not split into edges.
        """
        dem = self._cache.get("dem")
        if dem is None:
            mech, nf, undetectable = analyse_faults(
                self.program, self.num_qubits, self.num_measurements, self.detectors,
                self.observables)
            dem = decompose(mech, self.num_detectors, self.num_observables, self.detector_basis,
                            self.observable_basis, nf, undetectable)
            self._cache["dem"] = dem
        return dem

    def matching(self):
        """The ``pymatching.Matching`` of ``detector_error_model()`` (cached).

        Raises:
            ImportError: pymatching is missing (``pip install 'kizuna[qec]'``).
        """
        m = self._cache.get("matching")
        if m is None:
            m = self._cache["matching"] = self.detector_error_model().to_matching()
        return m

    # --- sampling --------------------------------------------------------------------------
    def _plan(self):
        """Detectors and observables grouped by size: ``[(positions, record_index_matrix)]``."""
        plan = self._cache.get("plan")
        if plan is None:
            plan = tuple(_group_by_size(g) for g in (self.detectors, self.observables))
            self._cache["plan"] = plan
        return plan

    def _compiled(self):
        """The noisy program in the stabilizer kernels' form (compiled once)."""
        prog = self._cache.get("compiled")
        if prog is None:
            from .backends.stabilizer import compile_program

            prog = self._cache["compiled"] = compile_program(list(self.program), self.num_qubits)
        return prog

    def _sample_words(self, shots: int, rng: np.random.Generator, num_threads: int | None):
        """Detection events and observable flips as 64-shot words: uint64 arrays ``(D,
        ceil(shots / 64))`` and ``(K, ...)``, bit ``s % 64`` of word ``s // 64`` for shot
        ``s``: XORs of the rows of the records in the sampler's own layout."""
        from .backends.stabilizer import StabilizerBackend

        records = StabilizerBackend(num_threads=num_threads).sample_records(
            self._compiled(), self.num_qubits, shots, rng, layout="ptb64")
        det_plan, obs_plan = self._plan()
        return (_xor_rows(records, det_plan, self.num_detectors),
                _xor_rows(records, obs_plan, self.num_observables))

    def sample(self, shots: int, seed: SeedLike = None, *, num_threads: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Detection events and observable flips of ``shots`` noisy shots.

        Args:
            shots: repetitions (>= 1).
            seed: an integer, a numpy Generator or ``None``; the shots come from one
                generator (``run`` splits them into batches instead).
            num_threads: threads of the frame sampler (results do not depend on it).

        Returns:
            ``(detection_events, observable_flips)``: bool arrays of shapes ``(shots,
            num_detectors)`` and ``(shots, num_observables)``; all zero without noise.

        Example:
            >>> events, flips = repetition_code_memory(3, 2, 0.0).sample(100, seed=1)
            >>> events.shape, bool(events.any()), bool(flips.any())
            ((100, 6), False, False)
        """
        shots = _check_shots(shots)
        rng, _ = resolve_seed(seed)
        det, obs = self._sample_words(shots, rng, num_threads)
        return _unpack_shots(det, shots), _unpack_shots(obs, shots)

    def _run_batch(self, shots: int, seed: np.random.SeedSequence, decoder: str,
                   num_threads: int | None) -> tuple[int, int, float, float]:
        """``(shots, logical errors, sampling seconds, decoding seconds)`` of one batch."""
        t0 = time.perf_counter()
        det, obs = self._sample_words(shots, np.random.default_rng(seed), num_threads)
        t1 = time.perf_counter()
        flips = _unpack_shots(obs, shots)
        if decoder == "none" or not self.detector_error_model().edges:
            wrong = flips
        else:
            pred = self.matching().decode_batch(_pack_shots(det, shots), bit_packed_shots=True)
            wrong = pred[:, :self.num_observables].astype(bool) != flips
        errors = int(np.count_nonzero(wrong.any(axis=1)))
        return shots, errors, t1 - t0, time.perf_counter() - t1

    def run(self, shots: int, seed: SeedLike = None, decoder: str = "pymatching",
            workers: int | None = 1, progress: Callable[[int, int], None] | None = None,
            executor: Executor | None = None) -> MemoryResult:
        """Sample and decode ``shots`` shots; count logical errors.

        Args:
            shots: repetitions (>= 1), run in batches of ``BATCH_SHOTS``.
            seed: an integer (recorded), ``None`` (fresh, recorded) or a numpy Generator.
            decoder: ``"pymatching"`` (minimum-weight perfect matching on
                ``detector_error_model()``) or ``"none"`` (count raw observable flips).
            workers: processes (1: in this process, no pool). The result does not depend
                on it.
            progress: called as ``progress(shots_done, shots_total)`` after each batch.
            executor: a ``concurrent.futures.Executor`` to run the batches on instead (a
                Dask client's ``get_executor()``, say); ``workers`` is then ignored.

        Returns:
            A ``MemoryResult``.

        Raises:
            QECError: bad shots, seed, decoder or workers.
            ImportError: pymatching is missing (``pip install 'kizuna[qec]'``).

        Example:
            >>> r = repetition_code_memory(5, 5, 0.01).run(5000, seed=3)
            >>> r.shots, 0 < r.logical_error_rate < 0.05, r.interval[0] <= r.logical_error_rate
            (5000, True, True)
        """
        shots = _check_shots(shots)
        decoder = _check_decoder(decoder)
        workers = _check_workers(workers, os.cpu_count() or 1)
        root, recorded = _root_seed(seed)
        sizes = _batch_sizes(shots)
        tasks = [(self.spec, n, child, decoder) for n, child in zip(sizes, root.spawn(len(sizes)))]
        if decoder == "pymatching":
            require_pymatching()
        start = time.perf_counter()
        outs = _execute(tasks, workers, executor, progress, self)
        elapsed = time.perf_counter() - start
        return self._result(outs, recorded, decoder, elapsed, workers)

    def _result(self, outs, seed, decoder, elapsed, workers) -> MemoryResult:
        dem = self.detector_error_model()
        shots = sum(o[0] for o in outs)
        return MemoryResult(
            code=self.code, distance=self.distance, rounds=self.rounds, p=self.p,
            basis=self.basis, shots=shots, logical_errors=sum(o[1] for o in outs), seed=seed,
            elapsed_s=elapsed, sampling_s=sum(o[2] for o in outs),
            decoding_s=sum(o[3] for o in outs), num_detectors=self.num_detectors,
            num_edges=dem.num_edges, decoder=decoder,
            provenance=_provenance(self, seed, decoder, shots, workers),
        )


def _group_by_size(groups: Sequence[Sequence[int]]):
    by: dict[int, list] = {}
    for j, g in enumerate(groups):
        by.setdefault(len(g), []).append(j)
    return tuple((np.array(pos, np.int64), np.array([groups[j] for j in pos], np.int64).reshape(len(pos), k))
                 for k, pos in sorted(by.items()))


def _xor_rows(records: np.ndarray, plan, height: int) -> np.ndarray:
    """Row ``j`` of the result: XOR of ``records``' rows ``groups[j]`` (``plan`` from
    ``_group_by_size``)."""
    out = np.zeros((height, records.shape[1]), records.dtype)
    for pos, idx in plan:
        acc = records[idx[:, 0]]
        for c in range(1, idx.shape[1]):
            acc ^= records[idx[:, c]]
        out[pos] = acc
    return out


def _unpack_shots(words: np.ndarray, shots: int) -> np.ndarray:
    """``(rows, ceil(shots / 64))`` uint64 words -> bool ``(shots, rows)``."""
    bits = np.unpackbits(words.astype("<u8", copy=False).view(np.uint8), axis=1, count=shots,
                         bitorder="little")
    return np.ascontiguousarray(bits.T).view(np.bool_)


def _pack_shots(words: np.ndarray, shots: int) -> np.ndarray:
    """``(rows, ceil(shots / 64))`` uint64 words -> uint8 ``(shots, ceil(rows / 8))``, bit
    ``m % 8`` of byte ``m // 8`` for row ``m`` (pymatching's ``bit_packed_shots``), by the
    stabilizer kernels' 64 x 64 bit-block transposition."""
    from .backends.stabilizer import _kernels

    return _kernels().words_to_shot_bytes(words, shots)


def _batch_sizes(shots: int) -> list[int]:
    full, rest = divmod(shots, BATCH_SHOTS)
    return [BATCH_SHOTS] * full + ([rest] if rest else [])


def _provenance(exp: MemoryExperiment, seed, decoder, shots, workers) -> dict[str, Any]:
    from .. import __version__

    prov = {
        "kizuna_version": __version__,
        "seed": seed,
        **exp.parameters(),
        "shots": shots,
        "decoder": decoder,
        "batch_shots": BATCH_SHOTS,
        "workers": workers,
        "noise": "circuit-level depolarizing (Stim's generated-circuit conventions)",
        "circuit_sha256": exp.circuit.sha256(),
        "numpy_version": np.__version__,
    }
    if decoder == "pymatching":
        try:
            import pymatching

            prov["pymatching_version"] = pymatching.__version__
        except (ImportError, AttributeError):  # pragma: no cover
            pass
    return prov


# --- running batches -----------------------------------------------------------------------------
@lru_cache(maxsize=16)
def _experiment(spec: tuple) -> MemoryExperiment:
    code, d, r, p, basis = spec
    if code == "surface":
        return surface_code_memory(d, r, p, basis=basis)
    return repetition_code_memory(d, r, p, basis=basis)


def _batch_worker(task, num_threads):
    """Run one batch in a worker process (the experiment is rebuilt once per process)."""
    spec, shots, seed, decoder = task
    return _experiment(spec)._run_batch(shots, seed, decoder, num_threads)


def _execute(tasks, workers: int, executor: Executor | None, progress, local=None):
    """Run ``tasks`` (``(spec, shots, seed, decoder)``); outputs in task order."""
    total = sum(t[1] for t in tasks)
    done = 0
    outs: list = [None] * len(tasks)
    if executor is None and (workers <= 1 or len(tasks) <= 1):
        for i, task in enumerate(tasks):
            exp = local if local is not None and local.spec == task[0] else _experiment(task[0])
            outs[i] = exp._run_batch(task[1], task[2], task[3], _BATCH_THREADS)
            done += task[1]
            if progress is not None:
                progress(done, total)
        return outs
    from concurrent.futures import ProcessPoolExecutor, as_completed

    own = executor is None
    if own:
        import multiprocessing

        workers = min(workers, len(tasks))
        # spawn, not fork: the numba thread pool of this process does not survive a fork
        executor = ProcessPoolExecutor(max_workers=workers,
                                       mp_context=multiprocessing.get_context("spawn"))
    from concurrent.futures.process import BrokenProcessPool

    try:
        futures = {executor.submit(_batch_worker, task, _BATCH_THREADS): i
                   for i, task in enumerate(tasks)}
        for fut in as_completed(futures):
            i = futures[fut]
            outs[i] = fut.result()
            done += tasks[i][1]
            if progress is not None:
                progress(done, total)
    except BrokenProcessPool:
        raise QECError(
            "a worker process died before finishing its batch. Workers are spawned: they "
            "import the main module, so a script must call this under "
            "'if __name__ == \"__main__\":'; or use workers=1"
        ) from None
    finally:
        if own:
            executor.shutdown(wait=True, cancel_futures=True)
    return outs


# --- builders ------------------------------------------------------------------------------------
def _experiment_from(code: str, distance: int, rounds: int, p: float, basis: str, cc) -> MemoryExperiment:
    return MemoryExperiment(
        code=code, distance=distance, rounds=rounds, p=p, basis=basis, circuit=cc.circuit,
        program=cc.program, detectors=cc.detectors, observables=cc.observables,
        qubit_coords=cc.qubit_coords, detector_coords=cc.detector_coords,
        detector_basis=cc.detector_basis, observable_basis=cc.observable_basis,
        data_qubits=cc.data_qubits, ancilla_qubits=cc.ancilla_qubits,
    )


def repetition_code_memory(distance: int, rounds: int, p: float, *, basis: str = "z") -> MemoryExperiment:
    """The bit-flip repetition code storing a Z-basis bit for ``rounds`` rounds.

    ``distance`` data qubits (0 .. d-1) and ``d - 1`` ancillas (d .. 2d-2) measuring
    neighbouring ``Z Z``; circuit-level depolarizing noise ``p`` as Stim's
    ``repetition_code:memory`` (see ``_qec_codes``). The code corrects up to
    ``(d - 1) // 2`` bit flips; phase flips do not touch a Z-basis memory.

    Args:
        distance: data qubits, >= 2.
        rounds: stabilizer measurement rounds, >= 1.
        p: physical error probability per operation, in [0, 0.5].
        basis: ``"z"`` only.

    Raises:
        QECError: a bad distance, rounds, p or basis (named).

    Example:
        >>> exp = repetition_code_memory(3, 2, 0.01)
        >>> exp.num_qubits, exp.num_detectors, exp.detectors[:3], exp.observables
        (5, 6, ((0,), (1,), (0, 2)), ((6,),))
    """
    code = "repetition"
    d = _check_distance(code, distance)
    r = _check_rounds(rounds)
    x = _check_p(p)
    b = _check_basis(code, basis)
    return _experiment_from(code, d, r, x, b, build_repetition(d, r, x))


def surface_code_memory(distance: int, rounds: int, p: float, *, basis: str = "z") -> MemoryExperiment:
    """The rotated surface code storing a logical Z (or X) eigenstate for ``rounds`` rounds.

    ``d**2`` data qubits and ``d**2 - 1`` ancillas (X-type ancillas on the top and bottom
    boundaries, Z-type on the left and right), measured with the hook-safe "N"/"Z" CX orders;
    noise as Stim's ``surface_code:rotated_memory_z`` (or ``_x``) with every noise knob at
    ``p``: detectors and error mechanisms match Stim's one for one.

    Args:
        distance: odd, >= 3.
        rounds: stabilizer measurement rounds, >= 1 (``distance`` is usual).
        p: physical error probability per operation, in [0, 0.5].
        basis: ``"z"`` (logical Z on the data row ``y = 1``) or ``"x"`` (logical X on the
            column ``x = 1``).

    Raises:
        QECError: an even or small distance (and why), bad rounds, p or basis.

    Example:
        >>> exp = surface_code_memory(5, 5, 0.001)
        >>> exp.num_qubits, exp.num_measurements, exp.num_detectors
        (49, 145, 120)
        >>> exp.circuit.count_ops()["cx"]      # 4 per weight-4 and 2 per weight-2 stabilizer, 5 rounds
        400
    """
    code = "surface"
    d = _check_distance(code, distance)
    r = _check_rounds(rounds)
    x = _check_p(p)
    b = _check_basis(code, basis)
    return _experiment_from(code, d, r, x, b, build_surface(d, r, x, b))


# --- results -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MemoryResult:
    """Logical errors of a memory experiment, with intervals, timings and provenance.

    Results of the same experiment add (``a + b``): shots, errors and times sum.

    Attributes:
        code, distance, rounds, p, basis: the experiment.
        shots: shots decoded.
        logical_errors: shots whose decoded observable was wrong.
        seed: the integer seed that reproduces the result (``None``: a Generator was given,
            or results of several seeds were added).
        elapsed_s: wall-clock seconds of the run.
        sampling_s, decoding_s: seconds spent sampling detection events and decoding
            (summed over batches, so over workers too).
        num_detectors, num_edges: sizes of the decoding problem.
        decoder: ``"pymatching"`` or ``"none"``.
        provenance: kizuna version, seed, parameters, decoder, circuit SHA-256, versions.
    """

    code: str
    distance: int
    rounds: int
    p: float
    basis: str
    shots: int
    logical_errors: int
    seed: int | None = None
    elapsed_s: float = 0.0
    sampling_s: float = 0.0
    decoding_s: float = 0.0
    num_detectors: int = 0
    num_edges: int = 0
    decoder: str = "pymatching"
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self):
        if not 0 <= self.logical_errors <= self.shots:
            raise QECError(f"logical_errors must be in [0, shots={self.shots}] "
                           f"(got {self.logical_errors})")

    @property
    def logical_error_rate(self) -> float:
        """Logical errors per shot (``rounds`` rounds)."""
        return self.logical_errors / self.shots if self.shots else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        """Wilson 95% interval of ``logical_error_rate``."""
        return wilson_interval(self.logical_errors, self.shots)

    @property
    def logical_error_rate_per_round(self) -> float:
        """``(1 - (1 - 2 P_L) ** (1 / rounds)) / 2``: the rate per round that, compounded
        over ``rounds`` independent rounds, gives ``logical_error_rate``."""
        return per_round(self.logical_error_rate, self.rounds)

    @property
    def interval_per_round(self) -> tuple[float, float]:
        """``interval`` mapped through the same (monotone) transformation."""
        lo, hi = self.interval
        return per_round(lo, self.rounds), per_round(hi, self.rounds)

    def __add__(self, other: MemoryResult) -> MemoryResult:
        if not isinstance(other, MemoryResult):
            return NotImplemented
        mine = (self.code, self.distance, self.rounds, self.p, self.basis, self.decoder)
        theirs = (other.code, other.distance, other.rounds, other.p, other.basis, other.decoder)
        if mine != theirs:
            raise QECError(f"only results of the same experiment add (got {mine} and {theirs})")
        seed = self.seed if self.seed == other.seed else None
        return replace(
            self, shots=self.shots + other.shots,
            logical_errors=self.logical_errors + other.logical_errors, seed=seed,
            elapsed_s=self.elapsed_s + other.elapsed_s, sampling_s=self.sampling_s + other.sampling_s,
            decoding_s=self.decoding_s + other.decoding_s,
            provenance={**self.provenance, "seed": seed, "shots": self.shots + other.shots,
                        "merged": True},
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (with the derived rates and intervals; ``from_dict`` reads it)."""
        return {
            "code": self.code, "distance": self.distance, "rounds": self.rounds, "p": self.p,
            "basis": self.basis, "shots": self.shots, "logical_errors": self.logical_errors,
            "logical_error_rate": self.logical_error_rate, "interval": list(self.interval),
            "logical_error_rate_per_round": self.logical_error_rate_per_round,
            "interval_per_round": list(self.interval_per_round),
            "seed": self.seed, "elapsed_s": self.elapsed_s, "sampling_s": self.sampling_s,
            "decoding_s": self.decoding_s, "num_detectors": self.num_detectors,
            "num_edges": self.num_edges, "decoder": self.decoder,
            "provenance": dict(self.provenance),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MemoryResult:
        """The inverse of ``to_dict``.

        Raises:
            QECError: a dict that is not a memory result.
        """
        try:
            return cls(
                code=str(data["code"]), distance=int(data["distance"]), rounds=int(data["rounds"]),
                p=float(data["p"]), basis=str(data["basis"]), shots=int(data["shots"]),
                logical_errors=int(data["logical_errors"]), seed=data.get("seed"),
                elapsed_s=float(data.get("elapsed_s", 0.0)),
                sampling_s=float(data.get("sampling_s", 0.0)),
                decoding_s=float(data.get("decoding_s", 0.0)),
                num_detectors=int(data.get("num_detectors", 0)),
                num_edges=int(data.get("num_edges", 0)),
                decoder=str(data.get("decoder", "pymatching")),
                provenance=dict(data.get("provenance", {})),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise QECError(f"not a memory-result dictionary: {exc!r}") from None


@dataclass(frozen=True)
class ThresholdSweep:
    """Memory results over a grid of distances and physical error rates.

    Attributes:
        code, basis: the experiment family.
        rows: one ``MemoryResult`` per ``(distance, p)``, distances outer, ``p`` inner.
        seed: the integer seed (``None`` if a Generator was given).
        elapsed_s: wall-clock seconds of the sweep.
        provenance: kizuna version, seed, grid, shots, decoder.
    """

    code: str
    basis: str
    rows: tuple[MemoryResult, ...]
    seed: int | None = None
    elapsed_s: float = 0.0
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def distances(self) -> tuple[int, ...]:
        return tuple(sorted({r.distance for r in self.rows}))

    @property
    def ps(self) -> tuple[float, ...]:
        return tuple(sorted({r.p for r in self.rows}))

    def curve(self, distance: int) -> tuple[MemoryResult, ...]:
        """The rows of one distance, by increasing ``p``."""
        return tuple(sorted((r for r in self.rows if r.distance == distance), key=lambda r: r.p))

    def estimate_threshold(self, distances: tuple[int, int] | None = None, *,
                           per_round: bool = True) -> float | None:
        """Where the logical-error-rate curves of two distances cross (default: the smallest
        and the largest distance), or ``None`` when they do not cross inside the grid.

        Between the two neighbouring grid points where the larger distance stops being the
        better one, ``log(rate_large / rate_small)`` is interpolated linearly in ``log(p)``
        to zero. Points with no logical error (or a rate of 1/2) are left out.

        Args:
            distances: the two distances to compare.
            per_round: compare rates per round (default; independent of how many rounds
                each distance ran) or per shot (with ``rounds = distance``, the crossing
                read off most sinter-style plots; it lies lower, because the larger
                distance also runs more rounds).

        Example:
            >>> rows = [MemoryResult("surface", d, d, p, "z", 10_000, e) for d, p, e in
            ...         [(3, 0.005, 300), (3, 0.01, 1000), (5, 0.005, 200), (5, 0.01, 2000)]]
            >>> sweep = ThresholdSweep("surface", "z", tuple(rows))
            >>> round(sweep.estimate_threshold(), 5), round(sweep.estimate_threshold(per_round=False), 5)
            (0.00842, 0.00646)
        """
        ds = self.distances
        if distances is None:
            if len(ds) < 2:
                return None
            small, large = ds[0], ds[-1]
        else:
            small, large = distances
            if small not in ds or large not in ds or small == large:
                raise QECError(f"distances must be two different distances of the sweep "
                               f"{list(ds)} (got {distances!r})")

        def rates(d):
            return {r.p: (r.logical_error_rate_per_round if per_round else r.logical_error_rate)
                    for r in self.curve(d)}

        a, b = rates(small), rates(large)
        ps = [p for p in sorted(set(a) & set(b)) if p > 0 and 0 < a[p] < 0.5 and 0 < b[p] < 0.5]
        diff = [math.log(b[p]) - math.log(a[p]) for p in ps]
        for i in range(len(ps) - 1):
            if diff[i] < 0 <= diff[i + 1]:
                t = diff[i] / (diff[i] - diff[i + 1])
                return math.exp(math.log(ps[i]) + t * (math.log(ps[i + 1]) - math.log(ps[i])))
        return None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the rows and the threshold estimates (``threshold``: per
        round, ``threshold_per_shot``)."""
        return {"code": self.code, "basis": self.basis, "seed": self.seed,
                "elapsed_s": self.elapsed_s, "threshold": self.estimate_threshold(),
                "threshold_per_shot": self.estimate_threshold(per_round=False),
                "rows": [r.to_dict() for r in self.rows], "provenance": dict(self.provenance)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ThresholdSweep:
        """The inverse of ``to_dict``."""
        try:
            return cls(code=str(data["code"]), basis=str(data["basis"]),
                       rows=tuple(MemoryResult.from_dict(r) for r in data["rows"]),
                       seed=data.get("seed"), elapsed_s=float(data.get("elapsed_s", 0.0)),
                       provenance=dict(data.get("provenance", {})))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise QECError(f"not a threshold-sweep dictionary: {exc!r}") from None


def threshold_sweep(
    code: str = "surface",
    distances: Sequence[int] = (3, 5, 7),
    ps: Sequence[float] = DEFAULT_PS,
    rounds: int | None = None,
    shots: int = 10_000,
    seed: SeedLike = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    basis: str = "z",
    decoder: str = "pymatching",
    executor: Executor | None = None,
) -> ThresholdSweep:
    """Logical error rates over a grid of distances and physical error rates.

    Every ``(distance, p)`` runs ``shots`` shots in batches of ``BATCH_SHOTS``; the batches of
    the whole grid (in ``(distance, p, batch)`` order, each with its own child of
    ``SeedSequence(seed)``) run on a process pool, so the result does not depend on
    ``workers``.

    Args:
        code: ``"surface"`` or ``"repetition"``.
        distances: code distances (at least one).
        ps: physical error rates, each in [0, 0.5].
        rounds: rounds per experiment (``None``: the distance).
        shots: shots per grid point.
        seed: an integer, ``None`` (fresh, recorded) or a numpy Generator.
        workers: processes (``None``: all cores; 1: this process, no pool).
        progress: ``progress(shots_done, shots_total)`` after each batch.
        basis: memory basis.
        decoder: ``"pymatching"`` or ``"none"``.
        executor: a ``concurrent.futures.Executor`` to use instead of a process pool.

    Returns:
        A ``ThresholdSweep``.

    Raises:
        QECError: any bad parameter (named).

    Example:
        >>> sweep = threshold_sweep("repetition", (3, 5), (0.01, 0.05), shots=2000, seed=1, workers=1)
        >>> [(r.distance, r.p, r.shots) for r in sweep.rows]
        [(3, 0.01, 2000), (3, 0.05, 2000), (5, 0.01, 2000), (5, 0.05, 2000)]
    """
    code = _check_code(code)
    try:
        ds = [_check_distance(code, d) for d in distances]
        ps_ = [_check_p(p) for p in ps]
    except TypeError:
        raise QECError(f"distances and ps must be sequences (got {distances!r}, {ps!r})") from None
    if not ds or not ps_:
        raise QECError(f"threshold_sweep needs at least one distance and one p (got {list(ds)}, {list(ps_)})")
    if len(set(ds)) != len(ds) or len(set(ps_)) != len(ps_):
        raise QECError(f"distances and ps must not repeat (got {ds}, {ps_})")
    if rounds is not None:
        rounds = _check_rounds(rounds)
    b = _check_basis(code, basis)
    shots = _check_shots(shots)
    decoder = _check_decoder(decoder)
    workers = _check_workers(workers, os.cpu_count() or 1)
    root, recorded = _root_seed(seed)
    if decoder == "pymatching":
        require_pymatching()
    grid = [(code, d, rounds or d, p, b) for d in ds for p in ps_]
    sizes = _batch_sizes(shots)
    children = iter(root.spawn(len(grid) * len(sizes)))
    tasks = [(spec, n, next(children), decoder) for spec in grid for n in sizes]
    start = time.perf_counter()
    outs = _execute(tasks, workers, executor, progress)
    elapsed = time.perf_counter() - start
    rows = []
    per = len(sizes)
    for g, spec in enumerate(grid):
        exp = _experiment(spec)
        chunk = outs[g * per:(g + 1) * per]
        rows.append(exp._result(chunk, recorded, decoder, sum(o[2] + o[3] for o in chunk), workers))
    from .. import __version__

    provenance = {"kizuna_version": __version__, "seed": recorded, "code": code, "basis": b,
                  "distances": ds, "ps": ps_, "rounds": rounds, "shots": shots,
                  "decoder": decoder, "batch_shots": BATCH_SHOTS, "workers": workers}
    return ThresholdSweep(code=code, basis=b, rows=tuple(rows), seed=recorded, elapsed_s=elapsed,
                          provenance=provenance)


# --- plotting --------------------------------------------------------------------------------------
def plot_threshold(sweep: ThresholdSweep, path: str | os.PathLike | None = None, ax=None, *,
                   per_round: bool = True):
    """Logical error rate per round against ``p`` (log-log), one curve per distance with
    Wilson 95% error bars, the estimated threshold (``sweep.estimate_threshold``) marked.

    Args:
        sweep: a ``ThresholdSweep``.
        per_round: plot rates per round (default) or per shot.
        path: where to save the figure (format from the suffix, PNG by default), written to
            a temporary file in the same folder and renamed over ``path``.
        ax: a matplotlib ``Axes`` to draw on (default: a new figure's).

    Returns:
        The ``Axes``.

    Raises:
        ImportError: matplotlib is missing (``pip install 'kizuna[plot]'``).
        QECError: ``sweep`` is not a ``ThresholdSweep``.
    """
    if not isinstance(sweep, ThresholdSweep):
        raise QECError(f"plot_threshold takes a ThresholdSweep (got {type(sweep).__name__})")
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plot_threshold needs matplotlib; pip install 'kizuna[plot]'") from None
    if ax is None:
        ax = Figure(figsize=(5.5, 4.2), layout="constrained").subplots()
    for d in sweep.distances:
        rows = [r for r in sweep.curve(d) if r.logical_errors > 0 and r.p > 0]
        if not rows:
            continue
        x = [r.p for r in rows]
        y = [r.logical_error_rate_per_round if per_round else r.logical_error_rate for r in rows]
        bounds = [r.interval_per_round if per_round else r.interval for r in rows]
        lo = [v - b[0] for v, b in zip(y, bounds)]
        hi = [b[1] - v for v, b in zip(y, bounds)]
        ax.errorbar(x, y, yerr=[lo, hi], marker="o", ms=4, capsize=3, label=f"d = {d}")
    threshold = sweep.estimate_threshold(per_round=per_round)
    if threshold is not None:
        ax.axvline(threshold, color="0.4", ls="--", lw=1, label=f"threshold ~ {threshold:.2%}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("physical error rate p")
    ax.set_ylabel("logical error rate " + ("per round" if per_round else "per shot"))
    ax.set_title(f"{sweep.code} code, memory {sweep.basis.upper()}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    if path is not None:
        _save_figure(ax.figure, path)
    return ax


def _save_figure(fig, path) -> None:
    import contextlib
    import tempfile
    from pathlib import Path

    target = Path(path)
    fmt = target.suffix.lstrip(".").lower() or "png"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format=fmt, dpi=150)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
