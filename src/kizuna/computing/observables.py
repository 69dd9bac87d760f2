"""Expectation values of Pauli observables: ``expectation(circuit, observable, ...)``.

Three ways to the value of ``<H> = sum_t c_t <P_t>`` (``H`` a Hermitian ``PauliSum``):

* **Exact, state vector** (no noise, no shots): the final state of ``kizuna.statevector``
  and the numba kernel ``expectation_pauli_sum`` (one pass over the state per distinct
  x-mask; thousands of terms cost about as much as their distinct x-masks). Where one state
  vector does not fit in memory, ``auto`` contracts the observable with the circuit's
  **matrix product state** instead (``backends.mps``; also ``backend="mps"``), and
  ``backend="stabilizer"`` reads Clifford circuits' values off the stabilizer tableau.
* **Exact, density matrix** (noise, or a circuit that measures, resets or branches on a
  classical bit mid-circuit; no shots): ``Tr(rho H)`` of ``kizuna.computing.execute
  .density_matrix``, term by term from the masks, without building dense Pauli matrices.
* **Estimated from shots**: the terms are split into groups that commute qubit-wise
  (``PauliSum.group_indices``); each group is measured in its own product basis (``H``
  before measuring X, ``Sdg`` then ``H`` before measuring Y) with ``shots`` shots, and the
  value comes with a standard error that accounts for the correlation of terms measured
  together.

This module imports ``core`` and ``computing``; nothing above.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import __version__
from ..core.paulis import Pauli, PauliError, PauliSum
from ..core.random import SeedLike, resolve_seed
from ..errors import (
    BackendError,
    KizunaError,
    MemoryLimitError,
    ParameterError,
    SimulationError,
)
from .circuit import Circuit
from .execute import density_matrix, run, statevector

__all__ = ["ExpectationResult", "expectation", "measurement_circuits"]

_BACKENDS = ("auto", "statevector", "density_matrix", "trajectories", "stabilizer", "mps")
#: Rows of the (outcome x term) sign table handled at once: bounds the estimator's memory.
_SIGN_TABLE_ENTRIES = 1 << 22


@dataclass(frozen=True)
class ExpectationResult:
    """An expectation value, exact or estimated, with its provenance.

    Attributes:
        value: ``<H>`` (exact, or the shot estimate).
        standard_error: the estimate's standard error (0.0 when exact).
        shots: shots per measured group (``None`` when exact).
        exact: whether ``value`` is exact (up to rounding).
        backend: the backend that produced the state or the samples (``"statevector"``,
            ``"density_matrix"``, ``"trajectories"``, ``"stabilizer"``, ``"mps"``; groups
            sampled on different backends
            are joined with ``+``; ``"none"`` when nothing had to be simulated).
        seed: the integer seed that reproduces a shot estimate (``None`` when exact, or when
            a Generator was given).
        provenance: kizuna version, backend, seed, shots, options and the SHA-256 of the
            circuit, of the observable and of the noise model.
        metadata: ``num_terms`` (after simplify), ``num_groups``, ``total_shots``,
            ``group_backends``, ``time_taken_s``.

    ``float(result)`` is ``result.value``.

    Example:
        >>> r = ExpectationResult(value=0.5, standard_error=0.0, shots=None, exact=True,
        ...                       backend="statevector", seed=None)
        >>> float(r), ExpectationResult.from_dict(r.to_dict()) == r
        (0.5, True)
    """

    value: float
    standard_error: float
    shots: int | None
    exact: bool
    backend: str
    seed: int | None
    provenance: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        for name in ("value", "standard_error"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                raise KizunaError(f"{name} must be a finite real number (got {v!r})")
            object.__setattr__(self, name, float(v))
        if self.standard_error < 0:
            raise KizunaError(f"standard_error must be >= 0 (got {self.standard_error!r})")
        if not isinstance(self.exact, bool):
            raise KizunaError(f"exact must be a bool (got {self.exact!r})")
        if self.shots is not None and (
            isinstance(self.shots, bool) or not isinstance(self.shots, numbers.Integral) or self.shots < 1
        ):
            raise KizunaError(f"shots must be a positive integer or None (got {self.shots!r})")
        if self.exact and (self.shots is not None or self.standard_error != 0):
            raise KizunaError(
                f"an exact result has shots=None and standard_error=0 (got shots={self.shots!r}, "
                f"standard_error={self.standard_error!r})"
            )
        if not self.exact and self.shots is None:
            raise KizunaError("an estimated result needs its shots")
        if not isinstance(self.backend, str):
            raise KizunaError(f"backend must be a string (got {self.backend!r})")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral)):
            raise KizunaError(f"seed must be an integer or None (got {self.seed!r})")

    def __float__(self) -> float:
        return self.value

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (``from_dict`` reads it back)."""
        return {
            "value": self.value,
            "standard_error": self.standard_error,
            "shots": self.shots,
            "exact": self.exact,
            "backend": self.backend,
            "seed": self.seed,
            "provenance": dict(self.provenance),
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> ExpectationResult:
        """The inverse of ``to_dict``."""
        try:
            return cls(
                value=float(data["value"]),
                standard_error=float(data["standard_error"]),
                shots=None if data.get("shots") is None else int(data["shots"]),
                exact=bool(data["exact"]),
                backend=str(data["backend"]),
                seed=data.get("seed"),
                provenance=dict(data.get("provenance", {})),
                metadata=dict(data.get("metadata", {})),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise KizunaError(f"not a Kizuna expectation-result dictionary: {exc!r}") from None


# --- input checks ------------------------------------------------------------------------------
def _as_pauli_sum(observable) -> PauliSum:
    if isinstance(observable, PauliSum):
        return observable
    if isinstance(observable, (Pauli, str, Mapping)):
        return PauliSum(observable)
    raise PauliError(
        f"observable must be a Pauli, a PauliSum, a label such as 'XZ' or a mapping "
        f"{{label: coeff}} (got {type(observable).__name__})"
    )


def _check_noise(noise):
    """``noise`` if it simulates anything, ``None`` for ``None`` or an ideal model."""
    if noise is None:
        return None
    for attr in ("lower", "readout_error", "is_ideal", "sha256"):
        if not hasattr(noise, attr):
            raise SimulationError(
                f"noise must be a kizuna NoiseModel or None (got {type(noise).__name__}, "
                f"which has no {attr!r})"
            )
    return None if noise.is_ideal else noise


def _bind(circuit: Circuit, parameters) -> Circuit:
    """``circuit`` with ``parameters`` (mapping, or values in ``circuit.parameters`` order)."""
    if parameters is None:
        return circuit
    if isinstance(parameters, Mapping):
        return circuit.assign_parameters(parameters)
    names = [p.name for p in circuit.parameters]
    try:
        values = list(parameters)
    except TypeError:
        raise ParameterError(
            f"parameters must be a mapping or a sequence of values (got {parameters!r})"
        ) from None
    if len(values) != len(names):
        raise ParameterError(
            f"expected {len(names)} parameter value(s) in the order {', '.join(names) or '()'} "
            f"(got {len(values)})"
        )
    return circuit.assign_parameters(dict(zip(names, values)))


def _letter(x: int, z: int, q: int) -> str:
    return "IXZY"[((x >> q) & 1) | (((z >> q) & 1) << 1)]


# --- measurement circuits ----------------------------------------------------------------------
def measurement_circuits(circuit: Circuit, observable) -> list[tuple[Circuit, PauliSum]]:
    """The circuits the shot estimator runs: one per group of qubit-wise commuting terms.

    Each is ``circuit`` without its final measurements, followed on every qubit of the
    group's support by the basis change of its letter (nothing for Z, ``h`` for X, ``sdg``
    then ``h`` for Y: ``H Sdg Y S H = Z``) and a measurement into a new classical register
    (named ``obs``, or ``obs_1``, ... if taken) whose bit ``j`` records the ``j``-th qubit of
    the support in increasing order. Identity terms need no circuit and are left out.

    Args:
        circuit: the state-preparation circuit.
        observable: a ``PauliSum`` (or ``Pauli``, label, ``{label: coeff}``) on
            ``circuit.num_qubits`` qubits; it is simplified first.

    Returns:
        ``[(measurement circuit, group), ...]`` in the order of ``PauliSum.group_indices``.

    Raises:
        PauliError: a bad observable or one on a different number of qubits.

    Example:
        >>> import kizuna
        >>> for c, g in measurement_circuits(kizuna.Circuit(2).h(0), {"ZZ": 1.0, "XY": 0.5, "IZ": 2}):
        ...     print(g, sorted(c.count_ops().items()))
        ZZ + 2.0*IZ [('h', 1), ('measure', 2)]
        0.5*XY [('h', 3), ('measure', 2), ('sdg', 1)]
    """
    if not isinstance(circuit, Circuit):
        raise SimulationError(f"expected a kizuna.Circuit (got {type(circuit).__name__})")
    h = _as_pauli_sum(observable)
    _check_width(h, circuit)
    rest = h.simplify().split_identity()[1]
    base = circuit.remove_final_measurements()
    taken = {r.name for r in base.qregs + base.cregs}
    name, k = "obs", 0
    while name in taken:
        k += 1
        name = f"obs_{k}"
    out = []
    for members in rest.group_indices(qubit_wise=True):
        group = PauliSum(tuple(rest.terms[t] for t in members), rest.num_qubits)
        gx = gz = 0
        for t in group.terms:
            gx |= t.x_mask
            gz |= t.z_mask
        support = [q for q in range(h.num_qubits) if ((gx | gz) >> q) & 1]
        c = base.copy()
        reg = c.add_creg(name, len(support))
        for q in support:
            letter = _letter(gx, gz, q)
            if letter == "Y":
                c.sdg(q)
            if letter in ("X", "Y"):
                c.h(q)
        c.measure(support, list(reg.indices))
        out.append((c, group))
    return out


def _check_width(h: PauliSum, circuit: Circuit) -> None:
    if h.num_qubits != circuit.num_qubits:
        raise PauliError(
            f"the observable acts on {h.num_qubits} qubit(s) but the circuit has "
            f"{circuit.num_qubits} (the rightmost character of a label is qubit 0)"
        )


def _group_estimate(counts: Mapping[str, int], group: PauliSum, shots: int) -> tuple[float, float]:
    """``(mean, variance of the mean)`` of ``sum_t c_t P_t`` over a group's shots.

    Each shot gives every term its eigenvalue ``(-1)**parity`` of the recorded bits on the
    term's support; the per-shot value ``g = sum_t c_t (+-1)`` carries the correlations of
    the terms, so its sample variance (``ddof=1``) over ``shots`` is that of the group sum
    (``c^T Cov c``). With one shot the variance is undefined and the bound
    ``(sum_t |c_t|)**2`` (``|g|`` never exceeds ``sum |c_t|``) is used.
    """
    gx = gz = 0
    for t in group.terms:
        gx |= t.x_mask
        gz |= t.z_mask
    position = {q: j for j, q in enumerate(q for q in range(group.num_qubits) if ((gx | gz) >> q) & 1)}
    local = []
    for t in group.terms:
        m = 0
        for q in t.support:
            m |= 1 << position[q]
        local.append(m)
    masks = np.array(local, dtype=np.int64)
    coeffs = group.coeffs.real.astype(np.float64)
    # the new register was added last, so it prints first in a counts key
    outcomes = np.array([int(k.split(" ", 1)[0], 2) for k in counts], dtype=np.int64)
    weights = np.array([counts[k] for k in counts], dtype=np.float64)
    values = np.empty(outcomes.size, dtype=np.float64)
    step = max(1, _SIGN_TABLE_ENTRIES // max(1, masks.size))
    for s in range(0, outcomes.size, step):
        odd = np.bitwise_count(outcomes[s:s + step, None] & masks[None, :]) & 1
        values[s:s + step] = (1.0 - 2.0 * odd) @ coeffs
    mean = float(weights @ values) / shots
    if shots > 1:
        var = float(weights @ (values - mean) ** 2) / (shots - 1)
    else:
        var = float(np.abs(coeffs).sum()) ** 2
    return mean, var / shots


# --- the entry point ---------------------------------------------------------------------------
def expectation(
    circuit: Circuit,
    observable,
    *,
    noise=None,
    shots: int | None = None,
    seed: SeedLike = None,
    backend: str = "auto",
    precision: str = "double",
    parameters=None,
    num_threads: int | None = None,
) -> ExpectationResult:
    """The expectation value ``<H>`` of a Hermitian Pauli observable after ``circuit``.

    The circuit starts from |0...0>. Measurements at its end are ignored (the value is that
    of the state just before them). Three paths:

    * ``shots=None``, no noise: **exact** from the state vector (``backend="statevector"``).
      A circuit that measures, resets or branches on a classical bit before its end is
      averaged over those outcomes exactly on the density matrix instead (``"auto"``; with
      ``backend="statevector"`` it is an error). ``"auto"`` takes the matrix product state
      (``backend="mps"``, no truncation: exact to rounding; ``O(chi**3)`` per site of each
      term's support) when one state vector (``16 * 2**n`` bytes, 8 in single precision)
      does not fit the memory guard (the stabilizer tableau instead for a Clifford circuit);
      ``backend="stabilizer"`` gives Clifford circuits' values from the tableau (each term 0
      or +-1).
    * ``shots=None`` with ``noise``: **exact** ``Tr(rho H)`` for the noisy density matrix
      ``rho`` of ``density_matrix(circuit, noise)`` (gate, idle and reset errors; the state
      just before the final measurements, so the measurements' own errors -- readout errors
      and errors attached to ``measure`` -- do not enter).
    * ``shots`` given: **estimated**. The terms are grouped qubit-wise (see
      ``measurement_circuits``) and each group's circuit is run ``shots`` times (so
      ``shots * num_groups`` shots in all) with ``kizuna.run(..., noise=noise)``; with noise
      the estimate therefore includes everything a device would add to the measurement
      (errors on the basis-change ``h``/``sdg`` gates and on ``measure``, readout errors),
      which the exact noisy value leaves out. ``value = sum_t c_t mean_t``; the standard
      error adds the groups' variances of the mean, each from the sample variance of the
      per-shot group sum (covariances of terms measured together included).

    Identity terms are exact constants on every path (the state is normalised).

    Seeds: one child ``numpy.random.SeedSequence`` per group, spawned in group order from
    ``seed``; the same seed gives the same result bit for bit.

    Args:
        circuit: the state preparation.
        observable: a ``PauliSum``, ``Pauli``, label (``"XZ"``: Z on qubit 0) or
            ``{label: coeff}``, on ``circuit.num_qubits`` qubits; Hermitian (real
            coefficients after ``simplify``).
        noise: a ``NoiseModel`` or ``None``; an ideal model counts as ``None``.
        shots: ``None`` (exact) or shots per measured group (>= 1).
        seed: integer, Generator or ``None`` (fresh entropy, recorded) for the shot estimate.
        backend: ``"auto"``, ``"statevector"``, ``"density_matrix"``, ``"trajectories"``
            (shots only), ``"stabilizer"`` (Clifford circuits) or ``"mps"`` (ideal circuits);
            with shots it is passed to ``kizuna.run``.
        precision: ``"double"`` or ``"single"``.
        parameters: values of the circuit's free parameters (a mapping, or a sequence in
            ``circuit.parameters`` order); on the exact state-vector path the compiled circuit
            is cached and only rebound, for variational loops.
        num_threads: kernel threads (default: all cores, or ``KIZUNA_NUM_THREADS``, for the
            simulation; the Pauli-sum kernel runs on one thread up to 13 qubits, see
            ``PauliSum.expectation_statevector``).

    Returns:
        An ``ExpectationResult``; ``float(result)`` is the value.

    Raises:
        PauliError: a non-Hermitian observable (naming the term), bad labels, or an
            observable on a different number of qubits than the circuit.
        SimulationError: bad ``shots`` or ``noise``, a mid-circuit measurement with
            ``backend="statevector"``, ``"mps"`` or ``"stabilizer"`` and no shots, or a
            non-Clifford gate with ``backend="stabilizer"``.
        BackendError: an unknown backend, ``trajectories`` without shots, ``statevector`` or
            ``mps`` with noise, ``stabilizer`` with noise and no shots.
        ParameterError: unbound parameters. MemoryLimitError: the state does not fit.

    Cost: exact paths as ``statevector`` (``16 * 2**n`` bytes) or ``density_matrix``
    (``16 * 4**n`` bytes) plus one pass per distinct x-mask of the observable; the estimate
    costs one run of ``shots`` per qubit-wise commuting group.

    Example:
        >>> import kizuna
        >>> from kizuna.core.paulis import PauliSum
        >>> c = kizuna.Circuit(2).ry(1.0, 0).cx(0, 1)
        >>> h = PauliSum({"ZZ": 1.0, "IZ": 0.5, "XX": 0.25})
        >>> exact = expectation(c, h)
        >>> round(exact.value, 6), exact.exact, exact.backend    # 1 + cos(1)/2 + sin(1)/4
        (1.480519, True, 'statevector')
        >>> est = expectation(c, h, shots=4000, seed=7)
        >>> est.exact, est.metadata["num_groups"], abs(est.value - exact.value) < 4 * est.standard_error
        (False, 2, True)
    """
    start = time.perf_counter()
    if not isinstance(circuit, Circuit):
        raise SimulationError(f"expected a kizuna.Circuit (got {type(circuit).__name__})")
    given = _as_pauli_sum(observable)
    _check_width(given, circuit)
    h = given.as_observable()
    if backend not in _BACKENDS:
        raise BackendError(f"unknown backend {backend!r}; choose one of: {', '.join(_BACKENDS)}")
    if shots is not None and (isinstance(shots, bool) or not isinstance(shots, numbers.Integral) or shots < 1):
        raise SimulationError(f"shots must be a positive integer or None for an exact value (got {shots!r})")
    model = _check_noise(noise)
    provenance = {
        "kizuna_version": __version__,
        "circuit_sha256": circuit.sha256(),
        "observable_sha256": given.sha256(),
        "noise_model_sha256": model.sha256() if model is not None else None,
        "shots": None if shots is None else int(shots),
        "options": {"backend": backend, "precision": precision},
        "numpy_version": np.__version__,
    }
    # identity terms are constants (the state is normalised): exact on every path
    constant, rest = h.split_identity()
    constant = constant.real
    if shots is None:
        if seed is not None:
            resolve_seed(seed)  # reject a malformed seed even where none is needed
        value, used, extra = _exact(circuit, rest, model, backend, precision, parameters, num_threads)
        value += constant
        provenance.update(backend=used, seed=None)
        metadata = {"num_terms": len(h), "num_groups": 0, "total_shots": 0, "group_backends": [],
                    **extra, "time_taken_s": time.perf_counter() - start}
        return ExpectationResult(value=value, standard_error=0.0, shots=None, exact=True,
                                 backend=used, seed=None, provenance=provenance, metadata=metadata)

    shots = int(shots)
    rng, recorded = resolve_seed(seed)
    bound = _bind(circuit, parameters)
    groups = measurement_circuits(bound, h)
    entropy = recorded if recorded is not None else [int(v) for v in rng.integers(0, 2**63, size=4)]
    children = np.random.SeedSequence(entropy).spawn(len(groups))
    value, variance, used = constant, 0.0, []
    for (c, group), child in zip(groups, children):
        options = {"noise": model} if model is not None else {}
        result = run(c, shots, seed=np.random.default_rng(child), backend=backend,
                     precision=precision, num_threads=num_threads, **options)
        mean, var = _group_estimate(result.counts, group, shots)
        value += mean
        variance += var
        used.append(result.backend)
    name = "+".join(dict.fromkeys(used)) or "none"
    provenance.update(backend=name, seed=recorded)
    metadata = {"num_terms": len(h), "num_groups": len(groups), "total_shots": shots * len(groups),
                "group_backends": used, "time_taken_s": time.perf_counter() - start}
    return ExpectationResult(value=value, standard_error=math.sqrt(variance), shots=shots, exact=False,
                             backend=name, seed=recorded, provenance=provenance, metadata=metadata)


def _branches(circuit: Circuit) -> tuple[Circuit, bool]:
    """``(circuit without final measurements, whether it still measures, resets or holds a
    condition)``; the circuit itself when it measures nothing (keeps ``statevector``'s cache)."""
    if not any(ins.name in ("measure", "reset") or ins.condition is not None for ins in circuit.instructions):
        return circuit, False
    body = circuit.remove_final_measurements()
    return body, any(ins.name in ("measure", "reset") or ins.condition is not None for ins in body.instructions)


def _exact(circuit, h: PauliSum, model, backend, precision, parameters,
           num_threads) -> tuple[float, str, dict]:
    """``(value, backend used, extra metadata)`` of the exact paths."""
    if backend == "trajectories":
        raise BackendError(
            "backend 'trajectories' samples shots; pass shots=... or choose backend 'auto', "
            "'statevector', 'density_matrix', 'mps' or 'stabilizer' for an exact value"
        )
    if backend in ("statevector", "mps") and model is not None:
        raise BackendError(
            f"backend {backend!r} simulates ideal circuits only; with a noise model choose "
            "'auto' or 'density_matrix'"
        )
    if backend == "stabilizer" and model is not None:
        raise BackendError(
            "backend 'stabilizer' gives exact values of ideal circuits only; with a noise model "
            "pass shots=... to sample it, or choose 'auto' or 'density_matrix'"
        )
    body, branching = _branches(circuit)
    if backend in ("statevector", "mps", "stabilizer") and branching:
        raise SimulationError(
            "the circuit measures, resets or branches on a classical bit before its end, so it "
            "has no single final state vector; pass shots=... to estimate the expectation value, "
            "or backend='density_matrix' (or 'auto') for the exact average over the outcomes"
        )
    if model is None and not branching and backend in ("auto", "mps", "stabilizer"):
        from .backends import statevector_fits
        from .backends.stabilizer import StabilizerBackend, is_clifford
        from .circuit import flatten

        too_big = backend == "auto" and not statevector_fits(body.num_qubits, precision)[0]
        flat = flatten(_bind(body, parameters)) if backend != "auto" or too_big else None
        if backend == "stabilizer" or (too_big and is_clifford(flat)[0]):
            # a Clifford circuit too big for a state vector: the tableau is exact and cheap
            value = StabilizerBackend(num_threads=num_threads).expectation(
                flat, body.num_qubits, h.x_masks, h.z_masks, h.coeffs)
            return value, "stabilizer", {}
        if backend == "mps" or too_big:
            from .backends.mps import MPSBackend

            engine = MPSBackend(precision=precision, num_threads=num_threads)
            value, meta = engine.expectation(flat, body.num_qubits, h.x_masks, h.z_masks, h.coeffs,
                                             return_metadata=True)
            keys = ("max_bond_reached", "truncation_error", "fidelity_estimate", "truncated")
            return value, "mps", {k: meta[k] for k in keys}
    if model is None and backend != "density_matrix" and not branching:
        psi = statevector(body, parameters=parameters, precision=precision, num_threads=num_threads)
        return float(h.expectation_statevector(psi, num_threads=num_threads).real), "statevector", {}
    bound = _bind(circuit, parameters)
    try:
        rho = density_matrix(bound, model, precision=precision, num_threads=num_threads)
    except MemoryLimitError as exc:
        raise MemoryLimitError(
            f"{exc}; pass shots=... to estimate the expectation value by sampling instead",
            num_qubits=exc.num_qubits, bytes_needed=exc.bytes_needed, bytes_available=exc.bytes_available,
        ) from None
    return float(h.expectation_density_matrix(rho).real), "density_matrix", {}
