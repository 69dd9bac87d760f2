"""``KizunaBackend``: Kizuna's simulators behind Qiskit's ``BackendV2`` interface.

``qiskit.transpile(circuit, KizunaBackend())`` maps a circuit onto the backend's ``Target``
and ``backend.run(circuits, shots=..., seed=...)`` returns a synchronous ``JobV1`` whose
``result()`` is a ``qiskit.result.Result`` (``get_counts``, ``get_memory``) formatted as Qiskit
Aer formats it: hexadecimal keys in the data, bitstrings with a space between classical registers
from ``get_counts``.

The circuits are converted with ``from_qiskit`` (global phase dropped; it changes no count) and
run by ``kizuna.run``. Qubits that no instruction touches (the ancillas ``transpile`` adds when
it lays a small circuit out on a large device) are removed before simulating, and the noise
model is renamed to the remaining qubits, so a 3-qubit circuit laid out on a 127-qubit device
costs a 3-qubit simulation.

This module imports Qiskit when it is imported (``kizuna.interop.qiskit`` imports it).
"""

from __future__ import annotations

import math
import numbers
import time
import uuid

import numpy as np

from .. import __version__
from .._optional import require
from ..computing.circuit import Circuit
from ..computing.device import Device
from ..computing.execute import run as _kizuna_run
from ..computing.noise import NoiseModel
from ..core.gates import GATES
from ..errors import BackendError, InteropError

require("qiskit", "qiskit")

from qiskit.circuit import IfElseOp, Measure, Parameter, QuantumCircuit, Reset
from qiskit.providers import BackendV2, JobStatus, JobV1, Options
from qiskit.providers import QubitProperties as QiskitQubitProperties
from qiskit.result import Result as QiskitResult
from qiskit.transpiler import InstructionProperties, Target

from ._qiskit_convert import _TO_QISKIT_CLASS, from_qiskit

__all__ = ["KizunaBackend", "KizunaJob"]

#: Qubits of the default target: more than any dense simulation needs, few enough that
#: ``transpile`` stays quick; circuits use only the qubits they touch.
DEFAULT_NUM_QUBITS = 30

# Qiskit names C3XGate and C4XGate both "mcx", and a Target holds one instruction per name;
# the transpiler turns them into ccx-based circuits, which Kizuna takes natively.
_TARGET_GATES = tuple(name for name in _TO_QISKIT_CLASS if name not in ("c3x", "c4x"))

_RUN_OPTIONS = ("shots", "seed", "seed_simulator", "memory")


def _qiskit_gate(name: str):
    spec = GATES[name]
    cls = _TO_QISKIT_CLASS[name]
    return cls(*[Parameter(f"{p}") for p in spec.param_names])


class KizunaJob(JobV1):
    """A finished job: ``KizunaBackend.run`` simulates before returning, so ``status()`` is
    always ``DONE`` and ``result()`` returns at once."""

    _async = False

    def __init__(self, backend, job_id: str, result):
        super().__init__(backend, job_id)
        self._result = result

    def submit(self):
        """Nothing to do: the job ran when it was made."""
        return

    def result(self, timeout: float | None = None):
        """The ``qiskit.result.Result`` (``timeout`` is accepted and ignored)."""
        return self._result

    def status(self):
        """``JobStatus.DONE``."""
        return JobStatus.DONE

    def cancel(self):
        """A finished job cannot be cancelled; returns ``False``."""
        return False


class KizunaBackend(BackendV2):
    """Kizuna's simulators as a Qiskit ``BackendV2``.

    Args:
        noise: a ``kizuna.NoiseModel`` to simulate with, or ``None``. With a ``device`` and no
            ``noise``, the noise is ``NoiseModel.from_device(device)`` (gate, readout and idle
            errors from its calibration, as Aer's ``AerSimulator.from_backend``); pass an
            empty ``NoiseModel()`` to run ideally on the device's target.
        device: a ``kizuna.Device``; the ``Target`` then takes its number of qubits, basis
            gates, coupling map (both directions of each edge), gate errors and durations
            (seconds), readout errors (the mean of the two flip probabilities, as the error
            of ``measure``) and T1/T2, so ``qiskit.transpile`` routes onto it.
        backend: the Kizuna simulator (``kizuna.run``'s ``backend``: ``"auto"``,
            ``"statevector"``, ``"density_matrix"``, ``"trajectories"``, ``"stabilizer"``,
            ``"mps"``).
        seed: default seed of ``run`` (an ``int`` or ``None``); ``run(seed=...)`` overrides it.
        num_qubits: qubits of the target without a device (default 30). All-to-all
            connectivity; the native basis is every gate of Kizuna's table (as its Qiskit
            standard gate) but ``c3x``/``c4x``, plus ``measure``, ``reset`` and ``if_else``.
        name: the backend's name (default ``"kizuna"`` or ``"kizuna_<device name>"``).

    Raises:
        BackendError: a bad argument, naming it.

    Example:
        >>> from qiskit import QuantumCircuit, transpile
        >>> qc = QuantumCircuit(2, 2)
        >>> _ = qc.h(0); _ = qc.cx(0, 1); _ = qc.measure([0, 1], [0, 1])
        >>> backend = KizunaBackend(seed=7)
        >>> counts = backend.run(transpile(qc, backend), shots=100).result().get_counts()
        >>> sorted(counts), sum(counts.values())
        (['00', '11'], 100)
    """

    def __init__(
        self,
        noise: NoiseModel | None = None,
        device: Device | None = None,
        backend: str = "auto",
        seed: int | None = None,
        *,
        num_qubits: int | None = None,
        name: str | None = None,
    ):
        if noise is not None and not isinstance(noise, NoiseModel):
            raise BackendError(f"noise must be a kizuna NoiseModel or None (got {type(noise).__name__})")
        if device is not None and not isinstance(device, Device):
            raise BackendError(f"device must be a kizuna Device or None (got {type(device).__name__})")
        if not isinstance(backend, str):
            raise BackendError(f"backend must be a Kizuna backend name (got {backend!r})")
        _check_seed(seed, "seed")
        if device is not None and num_qubits is not None and num_qubits != device.num_qubits:
            raise BackendError(
                f"num_qubits={num_qubits} contradicts the device's {device.num_qubits} qubits; leave it out"
            )
        if num_qubits is None:
            num_qubits = device.num_qubits if device is not None else DEFAULT_NUM_QUBITS
        if isinstance(num_qubits, bool) or not isinstance(num_qubits, numbers.Integral) or num_qubits < 1:
            raise BackendError(f"num_qubits must be a positive integer (got {num_qubits!r})")
        if name is None:
            name = "kizuna" if device is None else f"kizuna_{device.name}"
        super().__init__(
            name=name,
            description="Kizuna simulators" + (f" on device {device.name}" if device is not None else ""),
            backend_version=__version__,
        )
        self._device = device
        # A device's full noise model is built only when asked for (NoiseModel.from_device
        # takes seconds on 127 qubits); runs build it for the qubits they use.
        self._noise = noise
        self._noise_from_device = noise is None and device is not None
        self._device_noise: dict[tuple[int, ...], NoiseModel] = {}
        self._sim = backend
        self._seed = seed
        self._target = _device_target(device) if device is not None else _ideal_target(int(num_qubits))

    # --- BackendV2 ---------------------------------------------------------------------------
    @property
    def target(self) -> Target:
        return self._target

    @property
    def max_circuits(self):
        return None

    @classmethod
    def _default_options(cls) -> Options:
        return Options(shots=1024, seed_simulator=None, memory=False)

    @property
    def noise(self) -> NoiseModel | None:
        """The Kizuna noise model runs use (``None``: ideal)."""
        if self._noise_from_device:
            return self._noise_for(tuple(range(self._device.num_qubits)))
        return self._noise

    def _noise_for(self, active: tuple[int, ...]) -> NoiseModel | None:
        """The noise model for a circuit reduced to qubits ``active`` (renamed ``0..k-1``)."""
        if self._noise_from_device:
            model = self._device_noise.get(active)
            if model is None:
                if len(self._device_noise) > 32:
                    self._device_noise.clear()
                model = self._device_noise[active] = NoiseModel.from_device(self._device.subset(active))
            return model
        if self._noise is None or len(active) == 0 or active == tuple(range(len(active))):
            return self._noise
        return _rename_noise(self._noise, active)

    @property
    def device(self) -> Device | None:
        """The Kizuna device the target was built from, or ``None``."""
        return self._device

    def run(self, run_input, **options) -> KizunaJob:
        """Simulate one circuit or a list of them.

        Args:
            run_input: a ``QuantumCircuit`` or a sequence of them, parameters bound.
            shots: shots per circuit (default 1024).
            seed: an ``int`` (also spelled ``seed_simulator``): the same circuits and seed give
                the same counts and memory, bit for bit. Circuit ``i`` runs with the ``i``-th
                child of ``numpy.random.SeedSequence(seed)``. ``None``: the backend's seed,
                else fresh entropy (recorded as ``seed_simulator`` in the result).
            memory: also return every shot's outcome (``result.get_memory()``).

        Returns:
            A finished ``KizunaJob``; ``job.result()`` is a ``qiskit.result.Result``.

        Raises:
            BackendError: an unknown option or a bad value.
            InteropError: a circuit Kizuna cannot represent (``while`` loops, ...).
        """
        unknown = sorted(set(options) - set(_RUN_OPTIONS))
        if unknown:
            raise BackendError(
                f"KizunaBackend.run got unknown option(s) {', '.join(unknown)} "
                f"(it takes {', '.join(_RUN_OPTIONS)})"
            )
        if "seed" in options and "seed_simulator" in options:
            raise BackendError("pass seed or seed_simulator, not both")
        shots = options.get("shots", self.options.shots)
        if isinstance(shots, bool) or not isinstance(shots, numbers.Integral) or shots < 1:
            raise BackendError(f"shots must be a positive integer (got {shots!r})")
        memory = bool(options.get("memory", self.options.memory))
        seed = options.get("seed", options.get("seed_simulator", self.options.seed_simulator))
        if seed is None:
            seed = self._seed
        _check_seed(seed, "seed")
        circuits = [run_input] if isinstance(run_input, QuantumCircuit) else list(run_input)
        for i, qc in enumerate(circuits):
            if not isinstance(qc, QuantumCircuit):
                raise BackendError(f"run_input[{i}] must be a qiskit.QuantumCircuit (got {type(qc).__name__})")
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
        children = np.random.SeedSequence(int(seed)).spawn(len(circuits))
        job_id = str(uuid.uuid4())
        start = time.perf_counter()
        results = [
            self._run_one(qc, int(shots), memory, int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)))
            for qc, child in zip(circuits, children)
        ]
        result = QiskitResult.from_dict(
            {
                "backend_name": self.name,
                "backend_version": self.backend_version,
                "job_id": job_id,
                "results": results,
                "success": True,
                "status": "COMPLETED",
                "time_taken": time.perf_counter() - start,
                "seed_simulator": int(seed),
            }
        )
        return KizunaJob(self, job_id, result)

    # --- one circuit -------------------------------------------------------------------------
    def _run_one(self, qc: QuantumCircuit, shots: int, memory: bool, seed: int) -> dict:
        circuit = from_qiskit(qc)
        compact, active = _drop_idle_qubits(circuit)
        noise = self._noise_for(active)
        start = time.perf_counter()
        res = _kizuna_run(compact, shots=shots, seed=seed, memory=memory, backend=self._sim, noise=noise)
        elapsed = time.perf_counter() - start
        if circuit.num_clbits:
            counts = {hex(int(k.replace(" ", ""), 2)): v for k, v in res.counts.items()}
        else:
            counts = {"0x0": shots}
        data = {"counts": counts}
        if memory:
            mem = res.memory if circuit.num_clbits else ("",) * shots
            data["memory"] = [hex(int(k.replace(" ", ""), 2)) if k else "0x0" for k in mem]
        header = {
            "name": qc.name,
            "n_qubits": qc.num_qubits,
            "qreg_sizes": [[r.name, r.size] for r in qc.qregs],
            "creg_sizes": [[r.name, r.size] for r in qc.cregs],
            "qubit_labels": [[r.name, j] for r in qc.qregs for j in range(r.size)],
            "clbit_labels": [[r.name, j] for r in qc.cregs for j in range(r.size)],
            "memory_slots": qc.num_clbits,
            "global_phase": float(qc.global_phase) if not _is_symbolic(qc.global_phase) else 0.0,
            "metadata": dict(qc.metadata or {}),
        }
        return {
            "name": qc.name,
            "shots": shots,
            "success": True,
            "status": "DONE",
            "data": data,
            "header": header,
            "seed_simulator": seed,
            "time_taken": elapsed,
            "metadata": {
                "method": res.backend,
                "simulated_qubits": compact.num_qubits,
                "active_qubits": list(active),
                "noise": noise is not None,
            },
        }


def _is_symbolic(x) -> bool:
    try:
        float(x)
    except (TypeError, ValueError):
        return True
    return False


def _check_seed(seed, what: str) -> None:
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise BackendError(f"{what} must be a non-negative integer or None (got {seed!r})")


# --- targets ------------------------------------------------------------------------------------
def _ideal_target(num_qubits: int) -> Target:
    target = Target(description="Kizuna simulator (all-to-all)", num_qubits=num_qubits)
    for name in _TARGET_GATES:
        target.add_instruction(_qiskit_gate(name))
    target.add_instruction(Measure())
    target.add_instruction(Reset())
    target.add_instruction(IfElseOp, name="if_else")
    return target


def _props(gate) -> InstructionProperties | None:
    if gate is None:
        return None
    return InstructionProperties(duration=gate.duration_s or None, error=gate.error)


def _device_target(device: Device) -> Target:
    qubit_props = [
        QiskitQubitProperties(
            t1=None if math.isinf(q.t1_s) else q.t1_s,
            t2=None if math.isinf(q.t2_s) else q.t2_s,
            frequency=q.frequency_hz,
        )
        for q in device.qubits
    ] or None
    target = Target(
        description=f"Kizuna device {device.name}",
        num_qubits=device.num_qubits,
        qubit_properties=qubit_props,
    )
    edges = sorted({(a, b) for a, b in device.coupling_map} | {(b, a) for a, b in device.coupling_map})
    for name in device.basis_gates:
        if name not in _TO_QISKIT_CLASS or name in ("c3x", "c4x"):
            continue
        arity = GATES[name].num_qubits
        if arity == 1:
            props = {(q,): _props(device.gate(name, (q,))) for q in range(device.num_qubits)}
        elif arity == 2:
            props = {e: _props(device.gate(name, e)) for e in edges}
            if not props:
                continue
        else:
            props = None  # no calibration data for wider natives: any qubits, no error
        target.add_instruction(_qiskit_gate(name), props)
    measure = {}
    reset = {}
    for q in range(device.num_qubits):
        ro = device.qubits[q].readout_error if device.qubits else (0.0, 0.0)
        g = device.gate("measure", (q,))
        measure[(q,)] = InstructionProperties(
            duration=(g.duration_s or None) if g is not None else None, error=(ro[0] + ro[1]) / 2
        )
        reset[(q,)] = _props(device.gate("reset", (q,)))
    target.add_instruction(Measure(), measure)
    target.add_instruction(Reset(), reset)
    target.add_instruction(IfElseOp, name="if_else")
    return target


# --- idle qubits --------------------------------------------------------------------------------
def _drop_idle_qubits(circuit: Circuit) -> tuple[Circuit, tuple[int, ...]]:
    """``(compact circuit, active qubits)``: the qubits some non-barrier instruction touches,
    renumbered ``0..k-1`` in order (clbits and classical registers unchanged)."""
    active = sorted({q for ins in circuit.instructions if ins.name != "barrier" for q in ins.qubits})
    if len(active) == circuit.num_qubits:
        return circuit, tuple(range(circuit.num_qubits))
    index = {q: i for i, q in enumerate(active)}
    out = Circuit(name=circuit.name)
    if active:
        name = "q"
        while any(r.name == name for r in circuit.cregs):
            name += "_"
        out.add_qreg(name, len(active))
    for r in circuit.cregs:
        out.add_creg(r.name, r.size)
    for ins in circuit.instructions:
        if ins.name == "barrier":
            qs = tuple(index[q] for q in ins.qubits if q in index)
            if qs:
                out.append_instruction(ins.replace(qubits=qs))
            continue
        out.append_instruction(ins.replace(qubits=tuple(index[q] for q in ins.qubits)))
    return out, tuple(active)


def _rename_noise(noise: NoiseModel, active) -> NoiseModel:
    """``noise`` on qubits ``active[i]`` renamed ``i``; entries on other qubits dropped."""
    index = {q: i for i, q in enumerate(active)}
    data = noise.to_dict()

    def keep(entries, key):
        out = []
        for e in entries:
            qs = e.get(key)
            if qs is None:
                out.append(e)
            elif isinstance(qs, list):
                if all(q in index for q in qs):
                    out.append(dict(e, **{key: [index[q] for q in qs]}))
            elif qs in index:
                out.append(dict(e, **{key: index[qs]}))
        return out

    data["gate_errors"] = keep(data["gate_errors"], "qubits")
    data["readout_errors"] = keep(data["readout_errors"], "qubit")
    data["idle_relaxation"] = keep(data["idle_relaxation"], "qubit")
    data["durations"] = keep(data["durations"], "qubits")
    try:
        return NoiseModel.from_dict(data)
    except Exception as exc:  # noqa: BLE001 - a model we cannot rename: say which
        raise InteropError(f"cannot restrict the noise model to qubits {list(active)}: {exc}") from None
