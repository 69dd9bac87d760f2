"""Qiskit's V2 primitives on Kizuna's simulators: ``SamplerV2`` and ``EstimatorV2``.

Code written against ``qiskit.primitives.BaseSamplerV2`` / ``BaseEstimatorV2`` runs here
unchanged: PUBs are coerced with Qiskit's own containers (``SamplerPub``, ``EstimatorPub``,
``BindingsArray``, ``ObservablesArray``), so parameter broadcasting and result shapes are
exactly those of ``qiskit.primitives.StatevectorSampler`` / ``StatevectorEstimator``; the
simulation is Kizuna's (state vector, density matrix with a ``NoiseModel``, or any backend of
``kizuna.run``).

Each circuit is converted to a ``kizuna.Circuit`` once per ``run`` (``from_qiskit``), its
parameters kept symbolic, and every parameter set is bound on the Kizuna side: the ideal paths
reuse one compiled state-vector program (``kizuna.statevector(..., parameters=...)``) for all
bindings of a PUB.

Bit order: as Qiskit's. A Pauli label's rightmost character acts on qubit 0; in a ``BitArray``
bit ``k`` of a register is bit ``k`` of the integer ``get_int_counts`` reports (the last byte
of ``array`` holds bits 0..7).

Randomness: ``seed`` (an integer, a ``numpy.random.Generator`` or ``None``) is turned into one
integer ``entropy`` per ``run`` call, recorded in the metadata (``metadata["kizuna"]["seed"]``)
so that ``SamplerV2(seed=entropy)`` repeats the run bit for bit. PUB ``i`` takes child ``i`` of
``SeedSequence(entropy).spawn(len(pubs))``, and a sampler PUB spawns one grandchild per
parameter set, in C order of the bindings array; the samples therefore do not depend on how
the other PUBs or bindings are run. An integer seed repeats itself on every ``run`` call (as
Qiskit's ``StatevectorSampler(seed=int)``); a Generator advances.

This module imports Qiskit (an optional extra) and Kizuna's ``computing`` layer.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from .._optional import require

require("qiskit", "qiskit")

from qiskit.circuit import Parameter as _QiskitParameter
from qiskit.circuit import QuantumCircuit
from qiskit.primitives import BaseEstimatorV2, BaseSamplerV2, PrimitiveJob
from qiskit.primitives.containers import (
    BitArray,
    DataBin,
    PrimitiveResult,
    PubResult,
    SamplerPubResult,
)
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.sampler_pub import SamplerPub

from .. import __version__
from ..computing.backends import STABILIZER_MIN_QUBITS, statevector_fits
from ..computing.circuit import Circuit
from ..computing.execute import density_matrix, run, statevector
from ..core.paulis import PauliSum
from ..core.random import resolve_seed
from ..errors import BackendError, InteropError, SimulationError
from ._qiskit_convert import from_qiskit

__all__ = ["EstimatorV2", "SamplerV2"]

_BACKENDS = ("auto", "statevector", "density_matrix", "trajectories", "stabilizer", "mps")
_PRECISIONS = ("double", "single")


# --- shared helpers ------------------------------------------------------------------------------
def _check_noise(noise):
    """``noise`` if it simulates anything; ``None`` for ``None`` or an ideal model."""
    if noise is None:
        return None
    for attr in ("lower", "readout_error", "is_ideal", "sha256"):
        if not hasattr(noise, attr):
            raise InteropError(
                f"noise must be a kizuna NoiseModel or None (got {type(noise).__name__}, "
                f"which has no {attr!r})"
            )
    return None if noise.is_ideal else noise


def _check_seed(seed) -> None:
    if seed is None or isinstance(seed, np.random.Generator):
        return
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InteropError(f"seed must be a non-negative integer, a numpy Generator or None (got {seed!r})")


def _run_entropy(seed) -> int:
    """The integer that seeds one ``run`` call (recorded; it repeats the call exactly)."""
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 1 << 53))
    return resolve_seed(seed)[1]


def _common_options(precision, num_threads) -> None:
    if precision not in _PRECISIONS:
        raise BackendError(f"precision must be 'double' or 'single' (got {precision!r})")
    if num_threads is not None and (
        isinstance(num_threads, bool) or not isinstance(num_threads, numbers.Integral) or num_threads < 1
    ):
        raise BackendError(f"num_threads must be a positive integer or None (got {num_threads!r})")


@dataclass
class _Prepared:
    """A Qiskit circuit converted once: the Kizuna circuit with symbolic parameters, the
    Kizuna parameter name of each Qiskit parameter (in ``QuantumCircuit.parameters`` order),
    the body without final measurements, and whether that body still branches."""

    circuit: Circuit
    names: list[str]
    body: Circuit
    branching: bool
    final: list[tuple[int, int]]  # (qubit, clbit) of every final measurement

    def bindings(self, values: np.ndarray) -> Iterable[tuple[tuple[int, ...], dict[str, float] | None]]:
        """``(index, {name: value})`` for each parameter set of ``values`` (shape
        ``(*shape, num_parameters)``), in C order; ``None`` for a circuit without parameters."""
        shape = values.shape[:-1]
        present = {p.name for p in self.circuit.parameters}
        keep = [(j, name) for j, name in enumerate(self.names) if name in present]
        for index in np.ndindex(*shape):
            if not present:
                yield index, None
                continue
            row = values[index]
            yield index, {name: float(row[j]) for j, name in keep}


def _prepare(qc: QuantumCircuit) -> _Prepared:
    """Convert ``qc`` once, its parameters renamed to identifiers Kizuna keeps verbatim."""
    if not isinstance(qc, QuantumCircuit):
        raise InteropError(f"expected a qiskit QuantumCircuit (got {type(qc).__name__})")
    params = list(qc.parameters)
    taken = {p.name for p in params}
    prefix = "kizuna_p"
    while any(name.startswith(prefix) for name in taken):
        prefix = "_" + prefix
    names = [f"{prefix}{i}" for i in range(len(params))]
    if params:
        # Qiskit's parameter names ("θ[0]") need not be identifiers; fresh names make the
        # binding independent of how the converter spells them
        qc = qc.assign_parameters(
            {p: _QiskitParameter(n) for p, n in zip(params, names)}, inplace=False
        )
    try:
        kc = from_qiskit(qc)
    except InteropError:
        raise
    except Exception as exc:  # a converter failure is an interop failure for the caller
        raise InteropError(f"cannot convert circuit {qc.name!r} to Kizuna: {exc}") from exc
    unknown = {p.name for p in kc.parameters} - set(names)
    if unknown:
        raise InteropError(
            f"the converted circuit has parameter(s) {sorted(unknown)} that circuit {qc.name!r} "
            "does not declare"
        )
    body = kc.remove_final_measurements()
    branching = any(ins.name in ("measure", "reset") or ins.condition is not None for ins in body.instructions)
    return _Prepared(kc, names, body, branching, _final_measurements(kc))


def _final_measurements(kc: Circuit) -> list[tuple[int, int]]:
    """``(qubit, clbit)`` of the measurements nothing follows on their qubit, whose clbit
    nothing overwrites or reads later (as ``Circuit.remove_final_measurements`` removes)."""
    busy: set[int] = set()
    written: set[int] = set()
    out = []
    for ins in reversed(kc.instructions):
        if ins.name == "barrier":
            continue
        if ins.name == "measure" and ins.condition is None and ins.qubits[0] not in busy:
            if ins.clbits[0] not in written:
                out.append((ins.qubits[0], ins.clbits[0]))
                written.add(ins.clbits[0])
            continue
        busy.update(ins.qubits)
        written.update(ins.clbits)
        if ins.condition is not None:
            written.update(ins.condition.clbits)
    return out[::-1]


# --- SamplerV2 ------------------------------------------------------------------------------------
class _Settings:
    """What both primitives report about how they were built."""

    @property
    def seed(self):
        """The seed given at construction."""
        return self._seed

    @property
    def noise(self):
        """The noise model (``None`` when ideal)."""
        return self._noise


class SamplerV2(_Settings, BaseSamplerV2):
    """Qiskit's ``BaseSamplerV2`` on Kizuna's simulators.

    Args:
        default_shots: shots of a PUB that gives none, when ``run`` gives none either (>= 1).
        seed: an integer (every ``run`` call repeats the same samples), a
            ``numpy.random.Generator`` (advanced by each call) or ``None`` (fresh entropy per
            call, recorded in the metadata).
        noise: a ``kizuna.NoiseModel`` or ``None``. Gate names are those of the converted
            circuit (``h``, ``cx``, ``rz`` ...; Qiskit's names for the standard gates).
        backend: as ``kizuna.run``: ``"auto"`` (default), ``"statevector"``,
            ``"density_matrix"``, ``"trajectories"``, ``"stabilizer"`` or ``"mps"``.
        precision: ``"double"`` (default) or ``"single"``.
        num_threads: kernel threads (default: all cores, or ``KIZUNA_NUM_THREADS``).
        backend_options: further options for the backend, as ``kizuna.run``.

    ``run(pubs, shots=None)`` returns a ``PrimitiveJob`` whose result is a ``PrimitiveResult``
    of ``SamplerPubResult``s: ``data`` holds one ``BitArray`` per classical register of the
    circuit (named as the register) of shape ``pub.shape`` (the bindings' broadcast shape),
    ``num_shots`` shots and ``num_bits`` the register's size; bits no measurement writes
    read 0. PUB metadata: ``shots``, ``circuit_metadata`` and ``kizuna`` (version, backend
    used, the run's seed, noise model SHA-256).

    Ideal circuits whose measurements are all final (``backend`` ``"auto"`` below
    ``STABILIZER_MIN_QUBITS`` qubits, or ``"statevector"``) take the fast path: one compiled
    state-vector program for the PUB, each binding one state (``16 * 2**n`` bytes,
    ``O(gates * 2**n)`` time) sampled ``shots`` times. Other circuits (mid-circuit
    measurements, resets, conditions, noise) run through ``kizuna.run`` per binding, shot
    order drawn from the same child seed.

    Raises (from ``run``):
        InteropError: a circuit that cannot be converted.
        ValueError: malformed PUBs (Qiskit's own coercion), bad shots.

    Example:
        >>> from qiskit import QuantumCircuit
        >>> bell = QuantumCircuit(2)
        >>> _ = bell.h(0); _ = bell.cx(0, 1); bell.measure_all()
        >>> result = SamplerV2(seed=7).run([bell], shots=100).result()
        >>> sorted(result[0].data.meas.get_counts())
        ['00', '11']
    """

    def __init__(
        self,
        *,
        default_shots: int = 1024,
        seed: int | np.random.Generator | None = None,
        noise=None,
        backend: str = "auto",
        precision: str = "double",
        num_threads: int | None = None,
        backend_options: Mapping[str, object] | None = None,
    ):
        if isinstance(default_shots, bool) or not isinstance(default_shots, numbers.Integral) or default_shots < 1:
            raise InteropError(f"default_shots must be a positive integer (got {default_shots!r})")
        _check_seed(seed)
        if backend not in _BACKENDS:
            raise BackendError(f"unknown backend {backend!r}; choose one of: {', '.join(_BACKENDS)}")
        _common_options(precision, num_threads)
        if backend_options is not None and not isinstance(backend_options, Mapping):
            raise BackendError(f"backend_options must be a mapping or None (got {backend_options!r})")
        self._default_shots = int(default_shots)
        self._seed = seed
        self._noise = _check_noise(noise)
        self._backend = backend
        self._precision = precision
        self._num_threads = num_threads
        self._backend_options = dict(backend_options) if backend_options else None

    @property
    def default_shots(self) -> int:
        """Shots of a PUB that gives none, when ``run`` gives none."""
        return self._default_shots

    @property
    def backend(self) -> str:
        """The Kizuna backend name asked for."""
        return self._backend

    def run(self, pubs, *, shots: int | None = None) -> PrimitiveJob:
        """Sample each PUB ``(circuit, parameter_values=None, shots=None)``; see the class."""
        if shots is None:
            shots = self._default_shots
        if isinstance(pubs, (QuantumCircuit, SamplerPub)):
            raise InteropError("pubs must be an iterable of PUBs; wrap a single circuit in a list")
        coerced = [SamplerPub.coerce(pub, shots) for pub in pubs]
        if any(not pub.circuit.cregs for pub in coerced):
            warnings.warn(
                "a circuit has no classical registers, so its result holds no data; did you "
                "mean to add measurements (measure_all)?",
                UserWarning,
                stacklevel=2,
            )
        prepared: dict[int, _Prepared] = {}
        for pub in coerced:
            if id(pub.circuit) not in prepared:
                prepared[id(pub.circuit)] = _prepare(pub.circuit)
        entropy = _run_entropy(self._seed)
        job = PrimitiveJob(self._run, coerced, [prepared[id(p.circuit)] for p in coerced], entropy)
        job._submit()
        return job

    def _provenance(self, entropy: int, used: str) -> dict:
        return {
            "version": __version__,
            "backend": used,
            "seed": entropy,
            "noise_model_sha256": self._noise.sha256() if self._noise is not None else None,
            "precision": self._precision,
        }

    def _run(self, pubs: list[SamplerPub], prepared: list[_Prepared], entropy: int) -> PrimitiveResult:
        seeds = np.random.SeedSequence(entropy).spawn(len(pubs))
        results = [self._run_pub(pub, prep, seq, entropy) for pub, prep, seq in zip(pubs, prepared, seeds)]
        return PrimitiveResult(results, metadata={"version": 2, "kizuna": {"version": __version__, "seed": entropy}})

    def _fast(self, prep: _Prepared) -> bool:
        if self._noise is not None or prep.branching or self._backend_options:
            return False
        n = prep.circuit.num_qubits
        if self._backend == "statevector":
            return True
        return self._backend == "auto" and n < STABILIZER_MIN_QUBITS and statevector_fits(n, self._precision)[0]

    def _run_pub(self, pub: SamplerPub, prep: _Prepared, seq: np.random.SeedSequence, entropy: int):
        qc = pub.circuit
        shots = int(pub.shots)
        values = pub.parameter_values.as_array(qc.parameters)
        shape = tuple(pub.shape)
        registers = [(creg.name, [qc.find_bit(b).index for b in creg]) for creg in qc.cregs]
        arrays = {
            name: np.zeros(shape + (shots, _num_bytes(len(bits))), dtype=np.uint8) for name, bits in registers
        }
        children = seq.spawn(math.prod(shape))
        fast = self._fast(prep)
        used: dict[str, None] = {"statevector": None} if fast else {}
        for (index, binding), child in zip(prep.bindings(values), children):
            rng = np.random.default_rng(child)
            if fast:
                clbit_rows, draws = self._sample_statevector(prep, binding, shots, rng)
            else:
                clbit_rows, draws, backend = self._sample_run(prep, binding, shots, rng)
                used[backend] = None
            for name, bits in registers:
                arrays[name][index] = _pack(clbit_rows[:, bits])[draws]
        data = DataBin(**{name: BitArray(arrays[name], len(bits)) for name, bits in registers}, shape=shape)
        metadata = {
            "shots": shots,
            "circuit_metadata": qc.metadata,
            "kizuna": self._provenance(entropy, "+".join(used) or "none"),
        }
        return SamplerPubResult(data, metadata=metadata)

    def _sample_statevector(self, prep: _Prepared, binding, shots: int, rng) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, draws)``: ``rows[k]`` the clbits (uint8, one column per clbit) of outcome
        ``k``, ``draws`` the outcome of each shot."""
        psi = statevector(prep.body, parameters=binding, precision=self._precision, num_threads=self._num_threads)
        n = prep.circuit.num_qubits
        measured = sorted({q for q, _ in prep.final})
        rows = np.zeros((1, prep.circuit.num_clbits), dtype=np.uint8)
        if not measured:
            return rows, np.zeros(shots, dtype=np.intp)
        p = _marginal(np.abs(psi) ** 2, n, measured)
        total = p.sum()
        if not np.isfinite(total) or total <= 0:
            raise SimulationError("the state lost its norm during simulation")
        cdf = np.cumsum(p / total)
        cdf[np.flatnonzero(p)[-1]:] = 1.0  # rounding never selects a zero-probability outcome
        outcomes = np.searchsorted(cdf, rng.random(shots), side="right")
        distinct, draws = np.unique(outcomes, return_inverse=True)
        rows = np.zeros((distinct.size, prep.circuit.num_clbits), dtype=np.uint8)
        position = {q: j for j, q in enumerate(measured)}
        for q, c in prep.final:
            rows[:, c] = (distinct >> position[q]) & 1
        return rows, draws.reshape(-1)

    def _sample_run(self, prep: _Prepared, binding, shots: int, rng) -> tuple[np.ndarray, np.ndarray, str]:
        circuit = prep.circuit if binding is None else prep.circuit.assign_parameters(binding)
        options = {"noise": self._noise} if self._noise is not None else {}
        result = run(
            circuit, shots, seed=rng, backend=self._backend, precision=self._precision,
            num_threads=self._num_threads, backend_options=self._backend_options, **options,
        )
        num_clbits = circuit.num_clbits
        if not result.counts:
            return np.zeros((1, num_clbits), dtype=np.uint8), np.zeros(shots, dtype=np.intp), result.backend
        keys = list(result.counts)
        rows = np.zeros((len(keys), num_clbits), dtype=np.uint8)
        for k, key in enumerate(keys):
            # registers are consecutive in clbit order, printed first register rightmost
            bits = key.replace(" ", "")
            rows[k] = np.frombuffer(bits[::-1].encode(), dtype=np.uint8) - ord("0")
        # shots are exchangeable: a uniformly random order of the counted outcomes
        draws = rng.permutation(np.repeat(np.arange(len(keys)), [result.counts[k] for k in keys]))
        return rows, draws, result.backend


def _num_bytes(num_bits: int) -> int:
    return (num_bits + 7) // 8


def _pack(bits: np.ndarray) -> np.ndarray:
    """Rows of little-endian bits (column ``j`` is bit ``j``) as ``BitArray`` bytes:
    big-endian, the last byte holding bits 0..7."""
    num_bits = bits.shape[1]
    pad = -num_bits % 8
    ordered = np.pad(bits[:, ::-1], ((0, 0), (pad, 0)))
    return np.packbits(ordered, axis=1, bitorder="big")


def _marginal(p: np.ndarray, n: int, qubits: list[int]) -> np.ndarray:
    """Probabilities of the sorted ``qubits`` (index bit ``j`` is ``qubits[j]``) from the
    probabilities ``p`` of all ``n`` qubits."""
    if len(qubits) == n:
        return p
    # axis a of the reshaped array is qubit n - 1 - a
    drop = tuple(n - 1 - q for q in range(n) if q not in set(qubits))
    return p.reshape((2,) * n).sum(axis=drop).reshape(-1)


# --- EstimatorV2 ----------------------------------------------------------------------------------
def _pauli_sum(observable, num_qubits: int) -> PauliSum:
    """A Qiskit ``SparseObservable`` (projector terms expanded) as a Hermitian ``PauliSum``."""
    if observable.contains_projectors():
        observable = observable.as_paulis()
    triples = [(letters, list(qubits), complex(coeff)) for letters, qubits, coeff in observable.to_sparse_list()]
    return PauliSum.from_sparse_list(triples, num_qubits).as_observable()


class EstimatorV2(_Settings, BaseEstimatorV2):
    """Qiskit's ``BaseEstimatorV2`` on Kizuna's simulators.

    Args:
        default_precision: precision of a PUB that gives none, when ``run`` gives none
            (>= 0).
        seed: an integer (every ``run`` call repeats itself), a ``numpy.random.Generator``
            or ``None``; used only to add the noise of ``precision > 0``.
        noise: a ``kizuna.NoiseModel`` or ``None``. With noise, each value is the exact
            ``Tr(rho H)`` of the noisy density matrix (``16 * 4**n`` bytes).
        precision: ``"double"`` (default) or ``"single"`` (the simulators' floating point,
            not the PUB precision).
        num_threads: kernel threads (default: all cores, or ``KIZUNA_NUM_THREADS``).

    A PUB is ``(circuit, observables, parameter_values=None, precision=None)``; observables
    (``SparsePauliOp``, ``Pauli``, labels such as ``"XZ"`` -- rightmost character on qubit
    0 --, ``{label: coeff}`` or ``SparseObservable``) broadcast against the bindings as in
    NumPy, and ``evs`` / ``stds`` have the broadcast shape.

    * ``precision == 0``: exact values (the state vector of the circuit without its final
      measurements, computed once per parameter set; a circuit that still measures, resets
      or branches, or any circuit with ``noise``, on the density matrix -- the exact average
      over the outcomes, where Qiskit's ``StatevectorEstimator`` draws one outcome), ``stds``
      all 0.
    * ``precision > 0``: as ``StatevectorEstimator``, each exact value plus Gaussian noise
      of standard deviation ``precision`` (drawn from the PUB's child seed, in C order of the
      broadcast shape); ``stds`` all ``precision``.

    PUB metadata: ``target_precision``, ``circuit_metadata`` and ``kizuna`` (version, backend,
    seed, noise model SHA-256).

    Raises (from ``run``):
        InteropError: a circuit that cannot be converted.
        PauliError: an observable that is not Hermitian.
        ValueError: malformed PUBs (Qiskit's own coercion).

    Example:
        >>> from qiskit import QuantumCircuit
        >>> bell = QuantumCircuit(2)
        >>> _ = bell.h(0); _ = bell.cx(0, 1)
        >>> result = EstimatorV2().run([(bell, ["ZZ", "XX", "ZI"])]).result()
        >>> result[0].data.evs.round(12).tolist(), result[0].data.stds.tolist()
        ([1.0, 1.0, 0.0], [0.0, 0.0, 0.0])
    """

    def __init__(
        self,
        *,
        default_precision: float = 0.0,
        seed: int | np.random.Generator | None = None,
        noise=None,
        precision: str = "double",
        num_threads: int | None = None,
    ):
        if (
            isinstance(default_precision, bool)
            or not isinstance(default_precision, numbers.Real)
            or not math.isfinite(default_precision)
            or default_precision < 0
        ):
            raise InteropError(f"default_precision must be a finite number >= 0 (got {default_precision!r})")
        _check_seed(seed)
        _common_options(precision, num_threads)
        self._default_precision = float(default_precision)
        self._seed = seed
        self._noise = _check_noise(noise)
        self._precision = precision
        self._num_threads = num_threads

    @property
    def default_precision(self) -> float:
        """Precision of a PUB that gives none, when ``run`` gives none."""
        return self._default_precision

    def run(self, pubs, *, precision: float | None = None) -> PrimitiveJob:
        """Estimate each PUB ``(circuit, observables, parameter_values, precision)``; see the
        class."""
        if precision is None:
            precision = self._default_precision
        if isinstance(pubs, (QuantumCircuit, EstimatorPub)):
            raise InteropError("pubs must be an iterable of PUBs; wrap a single PUB in a list")
        coerced = [EstimatorPub.coerce(pub, precision) for pub in pubs]
        prepared: dict[int, _Prepared] = {}
        for pub in coerced:
            if id(pub.circuit) not in prepared:
                prepared[id(pub.circuit)] = _prepare(pub.circuit)
        entropy = _run_entropy(self._seed)
        job = PrimitiveJob(self._run, coerced, [prepared[id(p.circuit)] for p in coerced], entropy)
        job._submit()
        return job

    def _run(self, pubs: list[EstimatorPub], prepared: list[_Prepared], entropy: int) -> PrimitiveResult:
        seeds = np.random.SeedSequence(entropy).spawn(len(pubs))
        results = [self._run_pub(pub, prep, seq, entropy) for pub, prep, seq in zip(pubs, prepared, seeds)]
        return PrimitiveResult(results, metadata={"version": 2, "kizuna": {"version": __version__, "seed": entropy}})

    def _run_pub(self, pub: EstimatorPub, prep: _Prepared, seq: np.random.SeedSequence, entropy: int) -> PubResult:
        qc = pub.circuit
        n = prep.circuit.num_qubits
        values = pub.parameter_values.as_array(qc.parameters)
        pshape = tuple(pub.parameter_values.shape)
        observables = pub.observables.sparse_observables_array()
        oshape = observables.shape
        shape = np.broadcast_shapes(pshape, oshape)
        sums = [_pauli_sum(observables[i], n) for i in np.ndindex(*oshape)]
        # flat binding and observable index of every position of the broadcast shape
        pidx = np.broadcast_to(np.arange(math.prod(pshape)).reshape(pshape), shape).reshape(-1)
        oidx = np.broadcast_to(np.arange(math.prod(oshape)).reshape(oshape), shape).reshape(-1)
        evs = np.zeros(math.prod(shape), dtype=np.float64)
        exact_dm = self._noise is not None or prep.branching
        for flat_p, (_, binding) in enumerate(prep.bindings(values)):
            where = np.flatnonzero(pidx == flat_p)
            if where.size == 0:
                continue
            if exact_dm:
                bound = prep.circuit if binding is None else prep.circuit.assign_parameters(binding)
                rho = density_matrix(bound, self._noise, precision=self._precision, num_threads=self._num_threads)
                for w in where:
                    h = sums[oidx[w]]
                    evs[w] = h.expectation_density_matrix(rho).real if len(h) else 0.0
            else:
                psi = statevector(prep.body, parameters=binding, precision=self._precision,
                                  num_threads=self._num_threads)
                for w in where:
                    h = sums[oidx[w]]
                    evs[w] = h.expectation_statevector(psi, num_threads=self._num_threads).real if len(h) else 0.0
        evs = evs.reshape(shape)
        target = float(pub.precision)
        stds = np.zeros(shape, dtype=np.float64)
        if target > 0:
            rng = np.random.default_rng(seq)
            evs = evs + target * rng.standard_normal(shape)
            stds[...] = target
        data = DataBin(evs=evs, stds=stds, shape=shape)
        metadata = {
            "target_precision": target,
            "circuit_metadata": qc.metadata,
            "kizuna": {
                "version": __version__,
                "backend": "density_matrix" if exact_dm else "statevector",
                "seed": entropy,
                "noise_model_sha256": self._noise.sha256() if self._noise is not None else None,
                "precision": self._precision,
            },
        }
        return PubResult(data, metadata=metadata)
