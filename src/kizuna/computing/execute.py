"""The one-call entry points: ``statevector(circuit)``, ``density_matrix(circuit, noise)`` and
``run(circuit, shots, ..., noise=...)``.

This module imports ``core`` and ``computing``; nothing above.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Mapping

import numpy as np

from .. import __version__
from ..core.bits import registers_bitstring
from ..core.random import SeedLike, resolve_seed
from ..errors import BackendError, ParameterError, SimulationError
from .backends import choose_backend
from .backends.density_matrix import DensityMatrixBackend
from .backends.statevector import StatevectorBackend, deferred_measurements
from .circuit import Circuit, flatten
from .result import Result

__all__ = ["density_matrix", "run", "statevector"]


def _check_circuit(circuit) -> Circuit:
    if not isinstance(circuit, Circuit):
        raise SimulationError(f"expected a kizuna.Circuit (got {type(circuit).__name__})")
    return circuit


def _noisy_program(circuit: Circuit, flat: list, noise) -> tuple[list | None, dict]:
    """``(program, readout)``: ``noise.lower(flat)`` and the readout matrix of every measured
    qubit that has one, or ``(None, {})`` without noise (``None`` or an ideal model)."""
    if noise is None:
        return None, {}
    for attr in ("lower", "readout_error", "is_ideal", "sha256"):
        if not hasattr(noise, attr):
            raise SimulationError(
                f"noise must be a kizuna NoiseModel or None (got {type(noise).__name__}, "
                f"which has no {attr!r})"
            )
    if noise.is_ideal:
        return None, {}
    program = noise.lower(flat, circuit.num_qubits)
    readout = {}
    for q in sorted({ins.qubits[0] for ins in flat if ins.name == "measure"}):
        err = noise.readout_error(q)
        if err is not None:
            matrix = np.asarray(err.matrix, dtype=np.float64)
            if matrix[1, 0] or matrix[0, 1]:
                readout[q] = matrix
    return program, readout


def _backend_options(options) -> dict:
    """``run``'s ``backend_options`` checked: a mapping with string keys other than the ones
    ``run`` takes itself."""
    if options is None:
        return {}
    if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
        raise BackendError(f"backend_options must be a mapping of option names to values (got {options!r})")
    clash = sorted({"precision", "num_threads"} & set(options))
    if clash:
        raise BackendError(f"pass {', '.join(clash)} to run() itself, not in backend_options")
    return dict(options)


def statevector(
    circuit: Circuit,
    *,
    parameters=None,
    precision: str = "double",
    num_threads: int | None = None,
) -> np.ndarray:
    """The exact final state of ``circuit`` from |0...0>, as a complex128 vector (complex64
    with ``precision="single"``).

    Amplitude ``i`` belongs to the basis state whose bit ``k`` is the value of qubit ``k``
    (qubit 0 least significant, as Qiskit). Measurements at the end of the circuit (nothing
    acts on their qubit afterwards) are ignored: the state just before them is returned.

    Cost: O(2**n) memory (16 bytes per amplitude, 8 in single precision; checked before
    allocating) and O(passes * 2**n) time, where gates are fused into passes of up to 4 qubits.

    Variational loops: pass the parameter values with ``parameters=`` instead of calling
    ``assign_parameters`` each time. The circuit is then compiled once (per precision; the
    compiled form is cached with the circuit until it changes) and each call only recomputes
    the parameterised gates' matrices, which saves the per-call flatten, substitution and
    fusion (about 10 microseconds a gate).

    Args:
        circuit: the circuit; every parameter must be bound, or given in ``parameters``.
        parameters: values of the circuit's free parameters: a mapping ``{Parameter or
            name: float}`` or a sequence in the order of ``circuit.parameters`` (sorted by
            name).
        precision: ``"double"`` (default) or ``"single"``.
        num_threads: kernel threads (default: all cores, or ``KIZUNA_NUM_THREADS``).

    Raises:
        SimulationError: a mid-circuit measurement, reset or condition (use ``run``).
        ParameterError: unbound parameters, or ``parameters`` missing a value or holding a
            non-number.
        MemoryLimitError: the state does not fit in memory.

    Example:
        >>> import kizuna
        >>> kizuna.statevector(kizuna.Circuit(2).h(0).cx(0, 1)).round(3)
        array([0.707+0.j, 0.   +0.j, 0.   +0.j, 0.707+0.j])
        >>> import math
        >>> theta = kizuna.Parameter("theta")
        >>> ansatz = kizuna.Circuit(1).ry(theta, 0)
        >>> kizuna.statevector(ansatz, parameters=[math.pi]).real.round(3)
        array([0., 1.])
    """
    circuit = _check_circuit(circuit)
    engine = StatevectorBackend(precision=precision, num_threads=num_threads)
    if parameters is None:
        return engine.final_state(flatten(circuit), circuit.num_qubits)
    # compiled programs live on the circuit (dropped with it), one per engine configuration,
    # valid while its instruction list is unchanged
    programs = circuit.__dict__.setdefault("_programs", {})
    config = (engine.precision, engine.fusion)
    cached = programs.get(config)
    if cached is None or cached[0] != circuit._structure_key():
        program = engine.parametric_program(flatten(circuit, symbolic=True), circuit.num_qubits)
        cached = programs[config] = (circuit._structure_key(), program)
    program = cached[1]
    if program is None:  # large state: bind, then fuse as usual
        names = [p.name for p in circuit.parameters]
        if not isinstance(parameters, Mapping):
            values = list(parameters)
            if len(values) != len(names):
                raise ParameterError(
                    f"expected {len(names)} parameter value(s) in the order "
                    f"{', '.join(names) or '()'} (got {len(values)})"
                )
            parameters = dict(zip(names, values))
        bound = circuit.assign_parameters(parameters)
        return engine.final_state(flatten(bound), circuit.num_qubits)
    program.bind(parameters)
    return engine.run_program(program, circuit.num_qubits)



def run(
    circuit: Circuit,
    shots: int = 1024,
    seed: SeedLike = None,
    memory: bool = False,
    backend: str = "auto",
    *,
    noise=None,
    precision: str = "double",
    num_threads: int | None = None,
    backend_options: Mapping[str, object] | None = None,
) -> Result:
    """Run ``circuit`` ``shots`` times and count the classical outcomes.

    Mid-circuit measurement, reset and classically conditioned operations are simulated
    exactly, shot by shot (runs that share a measurement history share one simulation);
    circuits whose measurements are all terminal are evolved once and sampled.

    With ``noise`` (a ``NoiseModel``) the circuit runs as ``noise.lower(flatten(circuit))``:
    gate, idle, reset and measurement errors as channels, and each recorded bit of a measured
    qubit flipped by its readout error. ``density_matrix`` simulates the channels exactly;
    ``trajectories`` samples them shot by shot (unbiased: the same distribution).

    Args:
        circuit: the circuit; all parameters must be bound.
        shots: number of repetitions (>= 1).
        seed: integer seed, Generator or ``None`` (fresh entropy, recorded in the result so
            the run can be repeated). The same circuit and seed give the same counts and
            memory, bit for bit.
        memory: also return the outcome of every shot, in shot order.
        backend: ``"auto"`` (default), ``"statevector"`` (ideal circuits), ``"density_matrix"``,
            ``"trajectories"``, ``"stabilizer"`` (Clifford circuits, Pauli noise) or ``"mps"``
            (matrix product states: ideal circuits of many qubits with moderate entanglement;
            truncation figures in ``Result.metadata``). ``auto`` takes the stabilizer for
            Clifford circuits of 20+ qubits; else, without noise, the state vector when one
            (``16 * 2**n`` bytes, 8 in single precision) fits the memory guard, otherwise
            ``mps`` (the reason, with both sizes, is in ``provenance["backend_reason"]``);
            with noise the density matrix when it fits in memory and ``2**n`` does not exceed
            the expected number of distinct trajectories, else trajectories (see
            ``backends.choose_backend``).
        noise: a ``NoiseModel`` or ``None`` (ideal). An ideal model runs as ``None``.
        precision: ``"double"`` (complex128, default) or ``"single"`` (complex64).
        num_threads: kernel threads (default: all cores, or ``KIZUNA_NUM_THREADS``). Counts
            do not depend on it.
        backend_options: further options for the backend, e.g. ``{"max_bond": 64,
            "truncation_threshold": 1e-10}`` for ``mps`` (with ``auto``, ``max_bond`` and
            ``truncation_threshold`` reach the MPS backend only, if it is picked). A backend
            rejects options it does not take.

    Returns:
        A ``Result``: ``counts`` keyed by bitstrings with classical bit 0 rightmost (registers
        separated by a space), ``backend`` (the one that ran), provenance with the seed, the
        circuit's SHA-256 and the noise model's (``noise_model_sha256``, ``None`` without).

    Raises:
        SimulationError: bad ``shots`` or ``noise``; MemoryLimitError when the state cannot
        fit; ParameterError for unbound parameters; BackendError for an unknown backend or
        option, or ``statevector`` or ``mps`` asked to run noise.

    Example:
        >>> import kizuna
        >>> bell = kizuna.Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
        >>> sorted(kizuna.run(bell, shots=100, seed=7).counts)
        ['00', '11']
        >>> from kizuna.computing.noise import NoiseModel
        >>> from kizuna.core.channels import bit_flip
        >>> flips = NoiseModel().add_all_qubit_error(bit_flip(0.5), ["x"])
        >>> r = kizuna.run(kizuna.Circuit(1, 1).x(0).measure(0, 0), shots=1000, seed=7,
        ...                noise=flips, backend="density_matrix")
        >>> r.backend, sorted(r.counts)
        ('density_matrix', ['0', '1'])
        >>> ghz = kizuna.Circuit(80, 80).h(0).t(0).tdg(0)
        >>> for q in range(79):
        ...     _ = ghz.cx(q, q + 1)
        >>> r = kizuna.run(ghz.measure(range(80), range(80)), shots=100, seed=7, backend="mps")
        >>> sorted(set(r.counts)) == ["0" * 80, "1" * 80], r.metadata["max_bond_reached"]
        (True, 2)
    """
    circuit = _check_circuit(circuit)
    if isinstance(shots, bool) or not isinstance(shots, numbers.Integral) or shots < 1:
        raise SimulationError(f"shots must be a positive integer (got {shots!r})")
    shots = int(shots)
    flat = flatten(circuit)
    program, readout = _noisy_program(circuit, flat, noise)
    extra = _backend_options(backend_options)
    engine, reason = choose_backend(backend, circuit, program=program, flat=flat, shots=shots,
                                    precision=precision, num_threads=num_threads, **extra)
    rng, recorded_seed = resolve_seed(seed)
    start = time.perf_counter()
    if program is None:
        raw_counts, meta = engine.sample(flat, circuit.num_qubits, shots, rng)
    else:
        raw_counts, meta = engine.sample(program, circuit.num_qubits, shots, rng, readout=readout)
    elapsed = time.perf_counter() - start

    sizes = [r.size for r in circuit.cregs]
    keys = sorted(raw_counts)
    counts = {registers_bitstring(k, sizes): raw_counts[k] for k in keys} if sizes else {}
    shot_memory = None
    if memory:
        if sizes:
            labels = np.array([registers_bitstring(k, sizes) for k in keys], dtype=object)
            order = rng.permutation(np.repeat(np.arange(len(keys)), [raw_counts[k] for k in keys]))
            shot_memory = tuple(labels[order].tolist())
        else:
            shot_memory = ("",) * shots
    meta = dict(meta, time_taken_s=elapsed)
    provenance = {
        "kizuna_version": __version__,
        "backend": engine.name,
        "backend_reason": reason,
        "seed": recorded_seed,
        "shots": shots,
        "options": {"memory": bool(memory), "backend": backend, **engine.options},
        "circuit_sha256": circuit.sha256(),
        "noise_model_sha256": noise.sha256() if program is not None else None,
        "numpy_version": np.__version__,
    }
    return Result(
        counts=counts,
        shots=shots,
        memory=shot_memory,
        num_qubits=circuit.num_qubits,
        num_clbits=circuit.num_clbits,
        registers=tuple((r.name, r.size) for r in circuit.cregs),
        backend=engine.name,
        seed=recorded_seed,
        provenance=provenance,
        metadata=meta,
    )


def density_matrix(
    circuit: Circuit,
    noise=None,
    *,
    precision: str = "double",
    num_threads: int | None = None,
) -> np.ndarray:
    """The exact final density matrix of ``circuit`` from |0...0>, with ``noise`` if given.

    Entry ``rho[i, j]`` belongs to basis states ``i`` and ``j`` (qubit ``k`` is bit ``k``,
    qubit 0 least significant, as Qiskit). As ``statevector``, measurements at the end of the
    circuit are ignored: this is the state just before them (with ``noise``: of the circuit
    without them, lowered by ``noise.lower``). A mid-circuit measurement, a reset or a
    condition is simulated exactly, and the result is the state averaged over the measurement
    outcomes (readout errors change it only through conditions that read a recorded bit).

    Cost: ``16 * 4**n`` bytes (``8 * 4**n`` in single precision; 256 MiB at 12 qubits), checked
    before allocating, and one pass over them per fused block of gates and channels.

    Args:
        circuit: the circuit; all parameters must be bound.
        noise: a ``NoiseModel`` or ``None``.
        precision: ``"double"`` (complex128, default) or ``"single"`` (complex64).
        num_threads: kernel threads (default: all cores, or ``KIZUNA_NUM_THREADS``).

    Returns:
        A ``2**n x 2**n`` Hermitian array of trace 1 (a transposed view of the simulator's
        storage; ``np.ascontiguousarray`` copies it).

    Raises:
        SimulationError: bad ``noise``; ParameterError for unbound parameters;
        MemoryLimitError when the density matrix cannot fit.

    Example:
        >>> import kizuna
        >>> from kizuna.computing.execute import density_matrix
        >>> from kizuna.computing.noise import NoiseModel
        >>> from kizuna.core.channels import depolarizing
        >>> noise = NoiseModel().add_all_qubit_error(depolarizing(0.2), ["h"])
        >>> density_matrix(kizuna.Circuit(1).h(0), noise).real.round(3)
        array([[0.5, 0.4],
               [0.4, 0.5]])
    """
    circuit = _check_circuit(circuit)
    flat = flatten(circuit)
    terminal = deferred_measurements(flat)
    body = [ins for i, ins in enumerate(flat) if i not in terminal]
    program, readout = _noisy_program(circuit, body, noise)
    engine = DensityMatrixBackend(precision=precision, num_threads=num_threads)
    return engine.final_state(body if program is None else program, circuit.num_qubits, readout)
