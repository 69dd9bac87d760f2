"""Simulation backends, chosen by name in ``kizuna.run(..., backend=...)``.

Each backend consumes the flat, validated instruction list of ``circuit.flatten`` (the noisy
backends also the noisy program of ``NoiseModel.lower``, with readout matrices) and offers
``sample`` (counts of classical outcomes); the exact ones also ``final_state``:

* ``statevector`` -- exact pure states, ideal circuits only;
* ``density_matrix`` -- exact mixed states, ``16 * 4**n`` bytes; noise costs no sampling;
* ``trajectories`` -- Monte-Carlo wave functions on the state-vector engine, ``16 * 2**n``
  bytes per live branch; shots that share an error history share one simulation;
* ``stabilizer`` -- Clifford circuits (with Pauli noise) on a bit-packed tableau, ``n**2 / 4``
  bytes; shots by Pauli frames around one reference run; thousands of qubits;
* ``mps`` -- matrix product states, ideal circuits only: ``O(n chi**2)`` bytes for bond
  dimension ``chi``, exact until ``max_bond`` (if set) truncates; hundreds of qubits when the
  entanglement stays moderate. Also ``final_state`` and a Pauli ``expectation``.

This package imports ``core`` and ``computing``; nothing above ``computing``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...core import _memory
from ...errors import BackendError, MemoryLimitError
from .density_matrix import DensityMatrixBackend
from .mps import MPSBackend
from .stabilizer import StabilizerBackend, is_clifford
from .statevector import StatevectorBackend
from .trajectories import TrajectoriesBackend

__all__ = ["BACKENDS", "choose_backend", "clean_shot_probability", "statevector_fits"]

#: Backends by name.
BACKENDS = {
    "statevector": StatevectorBackend,
    "density_matrix": DensityMatrixBackend,
    "trajectories": TrajectoriesBackend,
    "stabilizer": StabilizerBackend,
    "mps": MPSBackend,
}
#: Backends that simulate noise (``stabilizer``: Pauli channels only, else a named error).
NOISY_BACKENDS = ("density_matrix", "trajectories", "stabilizer")
#: From this many qubits ``auto`` runs Clifford circuits on the stabilizer backend (below it the
#: state vector is as fast and serves every circuit alike).
STABILIZER_MIN_QUBITS = 20
#: Options only the MPS backend takes: ``auto`` passes them on only when it picks ``mps``.
MPS_OPTIONS = ("max_bond", "truncation_threshold")


def statevector_fits(num_qubits: int, precision: str = "double") -> tuple[bool, int, int | None]:
    """Whether one state vector of ``num_qubits`` qubits (``16 * 2**n`` bytes; 8 with
    ``precision="single"``) fits the memory guard (``core._memory``).

    Returns:
        ``(fits, bytes needed, bytes available)``; the last is ``None`` when the guard did not
        need to read it (small states) or could not.

    Example:
        >>> statevector_fits(10)
        (True, 16384, None)
    """
    per = 8 if precision == "single" else 16
    try:
        needed = _memory.check_state_memory(num_qubits, copies=1, bytes_per_amplitude=per)
    except MemoryLimitError as exc:
        return False, exc.bytes_needed, exc.bytes_available
    return True, needed, None


def _size(n: int | None) -> str:
    return "unknown" if n is None else _memory.format_bytes(n)


def clean_shot_probability(program: Sequence) -> float:
    """An estimate of the probability that a shot meets no error: the product over the
    program's channels of their most likely Kraus branch, taken for the maximally mixed state
    (``max_j tr(K_j^dagger K_j) / d``; for a mixed-unitary channel, the identity's weight)."""
    from ..noise import ChannelOp

    p = 1.0
    seen: dict[int, float] = {}
    for item in program:
        if isinstance(item, ChannelOp):
            ch = item.channel
            clean = seen.get(id(ch))
            if clean is None:
                clean = seen[id(ch)] = max(float(np.vdot(k, k).real) for k in ch.kraus) / ch.kraus[0].shape[0]
            p *= clean
    return p


def choose_backend(name: str, circuit, *, program: Sequence | None = None, flat: Sequence | None = None,
                   shots: int = 1024, **options) -> tuple[object, str]:
    """The backend object for ``name`` (built with ``options``) and the reason it was chosen.

    Args:
        name: ``"auto"``, or a key of ``BACKENDS``.
        circuit: the circuit to run.
        program: the noisy program (``NoiseModel.lower(...)``) when the run has noise, else
            ``None``.
        flat: ``flatten(circuit)`` if the caller has it (saves ``auto`` a second flatten).
        shots: the shots the run will take (``auto`` weighs them against the state size).

    ``"auto"`` picks ``stabilizer`` for a Clifford circuit (and only Pauli noise) of at least
    ``STABILIZER_MIN_QUBITS`` qubits. Otherwise, without noise, the exact state-vector engine
    when one state vector (``16 * 2**n`` bytes, 8 in single precision) fits the memory guard
    (``statevector_fits``), else ``mps`` (exact unless ``max_bond`` is given; the options in
    ``MPS_OPTIONS`` reach only the MPS backend, so they may be passed to ``auto``). With noise
    it picks ``density_matrix`` when (a) two density matrices (``2 * 16 * 4**n`` bytes) fit the memory
    guard and (b) it is expected to be cheaper: one density-matrix pass costs about as much as
    ``2**n`` state-vector passes, and the trajectory backend simulates about
    ``T = 1 + shots * (1 - P(clean shot))`` distinct trajectories (``clean_shot_probability``),
    so density matrices win when ``2**n <= T``. Otherwise it picks ``trajectories``.

    Raises:
        BackendError: an unknown name, or ``statevector`` or ``mps`` asked to run noise.
    """
    if name == "auto":
        mps_options = {k: options.pop(k) for k in MPS_OPTIONS if k in options}
        n = circuit.num_qubits
        if n >= STABILIZER_MIN_QUBITS:
            from ..circuit import flatten

            if program is None and flat is None:
                flat = flatten(circuit)
            clifford, _ = is_clifford(program if program is not None else flat)
            if clifford:
                options.pop("precision", None)
                reason = f"auto: stabilizer tableau for a Clifford circuit of {n} qubit(s)"
                return StabilizerBackend(**options), reason
        if program is None:
            fits, needed, available = statevector_fits(n, options.get("precision", "double"))
            if fits:
                return StatevectorBackend(**options), f"auto: exact state vector for {n} qubit(s)"
            reason = (f"auto: MPS for {n} qubit(s) (a state vector needs {_size(needed)}, more "
                      f"than the {_size(available)} available)")
            return MPSBackend(**options, **mps_options), reason
        budget = _memory.available_memory_bytes()
        fits = budget is None or 2 * 16 * (1 << (2 * n)) <= budget
        distinct = 1.0 + shots * (1.0 - clean_shot_probability(program))
        if fits and (1 << n) <= distinct:
            reason = (f"auto: density matrix for {n} noisy qubit(s) (2**{n} <= ~{distinct:.0f} "
                      f"distinct trajectories of {shots} shot(s))")
            return DensityMatrixBackend(**options), reason
        why = "does not fit in memory" if not fits else f"costs more than ~{distinct:.0f} distinct trajectories"
        return TrajectoriesBackend(**options), f"auto: trajectories for {n} noisy qubit(s) (a density matrix {why})"
    try:
        cls = BACKENDS[name]
    except (KeyError, TypeError):
        raise BackendError(
            f"unknown backend {name!r}; choose one of: auto, {', '.join(BACKENDS)}"
        ) from None
    if program is not None and name not in NOISY_BACKENDS:
        raise BackendError(
            f"backend {name!r} simulates ideal circuits only; with a noise model choose one of: "
            f"auto, {', '.join(NOISY_BACKENDS)}"
        )
    try:
        return cls(**options), "requested"
    except TypeError as exc:  # a keyword the backend does not take
        if "unexpected keyword argument" not in str(exc):
            raise
        raise BackendError(f"backend {name!r} does not take that option: {exc}") from None
