"""Device models: coupling map, native gates and calibration data of a quantum processor.

A ``Device`` says which qubits exist, which pairs can interact (``coupling_map``, undirected:
a two-qubit native gate may act in either direction on an edge), which gates are native
(``basis_gates``, names of ``kizuna.core.gates.GATES``) and how good the hardware is:
per-qubit ``T1``/``T2`` and readout errors (``QubitProperties``) and per-gate errors and
durations (``GateProperties``). ``kizuna.transpile`` maps circuits onto it;
``NoiseModel.from_device`` builds its noise from these attributes.

Units are SI: seconds, hertz. A gate's ``error`` is its average gate infidelity
``1 - F_avg``. ``readout_error = (P(read 1 | prepared 0), P(read 0 | prepared 1))``.

Calibrations are JSON files (``Device.save`` / ``Device.load``); infinite times (an ideal
qubit) are written as ``null``. Built-in devices: ``Device.line``, ``Device.ring``,
``Device.grid``, ``Device.heavy_hex`` (``Device.heavy_hex_127()`` is IBM's 127-qubit Eagle
layout) and ``Device.generic`` (a 100+-qubit square-lattice device with seeded, varied
calibrations).

This module imports ``core`` and ``computing.circuit``; nothing above ``computing``.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core._io import atomic_write_text
from ..core.gates import GATES
from ..errors import DeviceError
from ._devices import (
    grid_edges,
    heavy_hex_edges,
    heavy_hex_size,
    line_edges,
    ring_edges,
)

__all__ = ["Device", "DeviceError", "GateProperties", "QubitProperties"]

_FORMAT = "kizuna.device"
_VERSION = 1

#: Names ``Device.builtin`` accepts, one per family (sizes may vary).
BUILTIN_EXAMPLES = ("line-5", "ring-8", "grid-4x4", "heavy-hex-127", "heavy-hex-2x7", "generic-120")

#: IBM's current native gate sets.
CX_BASIS = ("rz", "sx", "x", "cx")
ECR_BASIS = ("ecr", "id", "rz", "sx", "x")


#: Calibrated operations that are not gates: always available, never in ``basis_gates``.
_NON_GATES = ("measure", "reset")


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise DeviceError(f"{name} must be a real number (got {value!r})")
    v = float(value)
    if math.isnan(v):
        raise DeviceError(f"{name} must not be NaN")
    return v


def _time_to_json(t: float):
    return None if math.isinf(t) else t


def _time_from_json(t):
    return math.inf if t is None else t


@dataclass(frozen=True)
class QubitProperties:
    """Calibration of one qubit.

    Attributes:
        t1_s: energy relaxation time T1 in seconds, > 0 (``math.inf``: no relaxation).
        t2_s: dephasing time T2 (Hahn/Ramsey coherence) in seconds, ``0 < T2 <= 2 T1``.
        readout_error: ``(P(read 1 | prepared 0), P(read 0 | prepared 1))``, each in [0, 1].
        frequency_hz: the qubit frequency in hertz, or ``None`` when unknown.

    Raises:
        DeviceError: a value out of range, naming it.

    Example:
        >>> QubitProperties(t1_s=100e-6, t2_s=80e-6, readout_error=(0.01, 0.02)).t2_s
        8e-05
        >>> QubitProperties(t1_s=10e-6, t2_s=30e-6)
        Traceback (most recent call last):
        ...
        kizuna.errors.DeviceError: t2_s must be <= 2 * t1_s = 2e-05 s (got t2_s=3e-05)
    """

    t1_s: float = math.inf
    t2_s: float = math.inf
    readout_error: tuple[float, float] = (0.0, 0.0)
    frequency_hz: float | None = None

    def __post_init__(self):
        t1 = _real(self.t1_s, "t1_s")
        t2 = _real(self.t2_s, "t2_s")
        if not t1 > 0:
            raise DeviceError(f"t1_s must be > 0 seconds (got {t1!r})")
        if not t2 > 0:
            raise DeviceError(f"t2_s must be > 0 seconds (got {t2!r})")
        if t2 > 2 * t1 * (1 + 1e-12):
            raise DeviceError(f"t2_s must be <= 2 * t1_s = {2 * t1!r} s (got t2_s={t2!r})")
        ro = self.readout_error
        if isinstance(ro, (str, bytes)) or not isinstance(ro, Iterable):
            raise DeviceError(f"readout_error must be a pair (p01, p10) (got {ro!r})")
        ro = tuple(ro)
        if len(ro) != 2:
            raise DeviceError(f"readout_error must be a pair (p01, p10) (got {ro!r})")
        ro = tuple(_real(p, "readout_error") for p in ro)
        if not all(0.0 <= p <= 1.0 for p in ro):
            raise DeviceError(f"readout_error probabilities must lie in [0, 1] (got {ro!r})")
        freq = self.frequency_hz
        if freq is not None:
            freq = _real(freq, "frequency_hz")
            if not (freq > 0 and math.isfinite(freq)):
                raise DeviceError(f"frequency_hz must be a positive finite number or None (got {freq!r})")
        object.__setattr__(self, "t1_s", t1)
        object.__setattr__(self, "t2_s", t2)
        object.__setattr__(self, "readout_error", ro)
        object.__setattr__(self, "frequency_hz", freq)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; infinite times are ``None``."""
        return {
            "t1_s": _time_to_json(self.t1_s),
            "t2_s": _time_to_json(self.t2_s),
            "readout_error": list(self.readout_error),
            "frequency_hz": self.frequency_hz,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> QubitProperties:
        """The inverse of ``to_dict`` (missing keys take the defaults of an ideal qubit)."""
        if not isinstance(data, Mapping):
            raise DeviceError(f"qubit properties must be a mapping (got {data!r})")
        unknown = set(data) - {"t1_s", "t2_s", "readout_error", "frequency_hz"}
        if unknown:
            raise DeviceError(f"unknown qubit property key(s) {sorted(unknown)}")
        return cls(
            t1_s=_time_from_json(data.get("t1_s")),
            t2_s=_time_from_json(data.get("t2_s")),
            readout_error=tuple(data.get("readout_error", (0.0, 0.0))),
            frequency_hz=data.get("frequency_hz"),
        )


@dataclass(frozen=True)
class GateProperties:
    """Calibration of one native gate on given qubits.

    Attributes:
        name: the gate's name in ``kizuna.core.gates.GATES``, or ``"measure"`` / ``"reset"``
            (one qubit; their duration matters for idle noise, a measurement's ``error`` is
            informative only: readout errors live in ``QubitProperties.readout_error``).
        qubits: the qubits it acts on, in argument order.
        error: average gate infidelity ``1 - F_avg`` in [0, 1].
        duration_s: duration in seconds (>= 0; ``rz`` is usually virtual: 0).

    Example:
        >>> GateProperties("cx", (0, 1), error=0.01, duration_s=300e-9).qubits
        (0, 1)
    """

    name: str
    qubits: tuple[int, ...]
    error: float = 0.0
    duration_s: float = 0.0

    def __post_init__(self):
        if not isinstance(self.name, str) or (self.name not in GATES and self.name not in _NON_GATES):
            raise DeviceError(
                f"gate name {self.name!r} is not a table gate (kizuna.core.gates.GATES), "
                "'measure' or 'reset'"
            )
        qs = (self.qubits,) if _is_int(self.qubits) else self.qubits
        if isinstance(qs, (str, bytes)) or not isinstance(qs, Iterable):
            raise DeviceError(f"gate {self.name!r} qubits must be a tuple of integers (got {self.qubits!r})")
        qs = tuple(qs)
        if not all(_is_int(q) and q >= 0 for q in qs):
            raise DeviceError(f"gate {self.name!r} qubits must be non-negative integers (got {self.qubits!r})")
        qs = tuple(int(q) for q in qs)
        arity = 1 if self.name in _NON_GATES else GATES[self.name].num_qubits
        if len(qs) != arity or len(set(qs)) != len(qs):
            raise DeviceError(f"gate {self.name!r} acts on {arity} distinct qubit(s) (got qubits {qs})")
        err = _real(self.error, "error")
        if not 0.0 <= err <= 1.0:
            raise DeviceError(f"gate {self.name!r} on {qs}: error must lie in [0, 1] (got {err!r})")
        dur = _real(self.duration_s, "duration_s")
        if not (dur >= 0 and math.isfinite(dur)):
            raise DeviceError(f"gate {self.name!r} on {qs}: duration_s must be finite and >= 0 (got {dur!r})")
        object.__setattr__(self, "qubits", qs)
        object.__setattr__(self, "error", err)
        object.__setattr__(self, "duration_s", dur)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "qubits": list(self.qubits), "error": self.error, "duration_s": self.duration_s}

    @classmethod
    def from_dict(cls, data: Mapping) -> GateProperties:
        """The inverse of ``to_dict``."""
        if not isinstance(data, Mapping):
            raise DeviceError(f"gate properties must be a mapping (got {data!r})")
        unknown = set(data) - {"name", "qubits", "error", "duration_s"}
        if unknown:
            raise DeviceError(f"unknown gate property key(s) {sorted(unknown)}")
        for key in ("name", "qubits"):
            if key not in data:
                raise DeviceError(f"gate properties need {key!r} (got keys {sorted(data)})")
        qubits = data["qubits"]
        return cls(
            name=data["name"],
            qubits=tuple(qubits) if isinstance(qubits, list) else qubits,
            error=data.get("error", 0.0),
            duration_s=data.get("duration_s", 0.0),
        )


@dataclass(frozen=True)
class Device:
    """A quantum processor: qubits, couplings, native gates and their calibration.

    Attributes:
        name: a label (``"heavy_hex_127"``).
        num_qubits: number of physical qubits, ``0 .. num_qubits - 1``.
        basis_gates: native gate names (``GATES`` names), e.g. ``("rz", "sx", "x", "cx")``.
            Measurement, reset and barriers are always available.
        coupling_map: undirected edges ``(a, b)`` with ``a < b``, each once, sorted; given in
            any orientation, ``(b, a)`` duplicates of an edge are merged.
        qubits: one ``QubitProperties`` per qubit (default: ideal qubits).
        gates: ``GateProperties`` of native gates (and of ``measure``/``reset``); a two-qubit
            entry ``(a, b)`` also describes the gate run as ``(b, a)`` unless that direction
            has its own entry.

    Raises:
        DeviceError: a bad value, naming it (unknown gate name, an edge outside the device, a
            two-qubit calibration on qubits that are not coupled, ...).

    Example:
        >>> dev = Device.line(3)
        >>> dev.coupling_map, dev.basis_gates
        (((0, 1), (1, 2)), ('rz', 'sx', 'x', 'cx'))
        >>> dev.gate("cx", (1, 0)).error
        0.0075
        >>> Device.from_dict(dev.to_dict()) == dev
        True
    """

    name: str
    num_qubits: int
    basis_gates: tuple[str, ...]
    coupling_map: tuple[tuple[int, int], ...] = ()
    qubits: tuple[QubitProperties, ...] = ()
    gates: tuple[GateProperties, ...] = ()
    _gate_index: dict = field(default=None, init=False, repr=False, compare=False)
    _neighbors: tuple = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise DeviceError(f"device name must be a non-empty string (got {self.name!r})")
        n = self.num_qubits
        if not _is_int(n) or n < 1:
            raise DeviceError(f"num_qubits must be a positive integer (got {n!r})")
        n = int(n)
        basis = (self.basis_gates,) if isinstance(self.basis_gates, str) else tuple(self.basis_gates)
        for g in basis:
            if not isinstance(g, str) or g not in GATES:
                raise DeviceError(
                    f"basis gate {g!r} is not a table gate; known gates: {', '.join(GATES)}"
                )
        if not basis:
            raise DeviceError("basis_gates must name at least one gate")
        if len(set(basis)) != len(basis):
            raise DeviceError(f"basis_gates lists a gate twice: {basis}")
        edges = set()
        for e in self.coupling_map:
            if isinstance(e, (str, bytes)) or not isinstance(e, Iterable) or len(tuple(e)) != 2:
                raise DeviceError(f"coupling_map edge must be a pair of qubits (got {e!r})")
            a, b = tuple(e)
            if not (_is_int(a) and _is_int(b) and 0 <= a < n and 0 <= b < n):
                raise DeviceError(
                    f"coupling_map edge {tuple(e)!r} must join two qubits in range(0, {n})"
                )
            if a == b:
                raise DeviceError(f"coupling_map edge {tuple(e)!r} joins a qubit to itself")
            edges.add((int(min(a, b)), int(max(a, b))))
        coupling = tuple(sorted(edges))
        qprops = tuple(self.qubits) if self.qubits else (QubitProperties(),) * n
        if len(qprops) != n:
            raise DeviceError(f"qubits must hold one QubitProperties per qubit: {n} (got {len(qprops)})")
        for i, qp in enumerate(qprops):
            if not isinstance(qp, QubitProperties):
                raise DeviceError(f"qubits[{i}] must be a QubitProperties (got {type(qp).__name__})")
        index: dict[tuple[str, tuple[int, ...]], GateProperties] = {}
        for gp in self.gates:
            if not isinstance(gp, GateProperties):
                raise DeviceError(f"gates must hold GateProperties (got {type(gp).__name__})")
            if gp.name not in basis and gp.name not in _NON_GATES:
                raise DeviceError(
                    f"gate calibration {gp.name!r} on {gp.qubits} is not a basis gate of "
                    f"device {self.name!r} (basis: {', '.join(basis)})"
                )
            if any(q >= n for q in gp.qubits):
                raise DeviceError(f"gate {gp.name!r} on {gp.qubits}: qubit out of range(0, {n})")
            if len(gp.qubits) == 2 and (min(gp.qubits), max(gp.qubits)) not in edges:
                raise DeviceError(
                    f"gate {gp.name!r} on {gp.qubits}: the qubits are not coupled in the coupling_map"
                )
            if len(gp.qubits) > 2:
                raise DeviceError(f"gate {gp.name!r} on {gp.qubits}: native gates act on 1 or 2 qubits")
            key = (gp.name, gp.qubits)
            if key in index:
                raise DeviceError(f"gate {gp.name!r} on {gp.qubits} is calibrated twice")
            index[key] = gp
        neighbors = [[] for _ in range(n)]
        for a, b in coupling:
            neighbors[a].append(b)
            neighbors[b].append(a)
        object.__setattr__(self, "num_qubits", n)
        object.__setattr__(self, "basis_gates", basis)
        object.__setattr__(self, "coupling_map", coupling)
        object.__setattr__(self, "qubits", qprops)
        object.__setattr__(self, "gates", tuple(self.gates))
        object.__setattr__(self, "_gate_index", index)
        object.__setattr__(self, "_neighbors", tuple(tuple(sorted(x)) for x in neighbors))

    # --- queries ---------------------------------------------------------------------------------
    def gate(self, name: str, qubits: Sequence[int] | int) -> GateProperties | None:
        """The calibration of gate ``name`` on ``qubits``, or ``None`` if there is none.

        A two-qubit entry also answers for the reversed qubit order (the native gate may run
        either way on an edge) unless that order has its own entry.
        """
        qs = (int(qubits),) if _is_int(qubits) else tuple(int(q) for q in qubits)
        found = self._gate_index.get((name, qs))
        if found is None and len(qs) == 2:
            found = self._gate_index.get((name, qs[::-1]))
        return found

    def subset(self, qubits: Sequence[int]) -> Device:
        """The device restricted to ``qubits``, qubit ``qubits[i]`` renamed ``i``: their
        calibrations, and the edges and gates among them only.

        Example:
            >>> Device.line(5).subset([3, 1, 2]).coupling_map
            ((0, 2), (1, 2))
        """
        qubits = [int(q) for q in qubits]
        if len(set(qubits)) != len(qubits) or any(not 0 <= q < self.num_qubits for q in qubits):
            raise DeviceError(f"subset qubits must be distinct and in range(0, {self.num_qubits}) (got {qubits})")
        index = {q: i for i, q in enumerate(qubits)}
        edges = tuple(sorted((min(index[a], index[b]), max(index[a], index[b]))
                             for a, b in self.coupling_map if a in index and b in index))
        gates = tuple(
            GateProperties(g.name, tuple(index[q] for q in g.qubits), g.error, g.duration_s)
            for g in self.gates
            if all(q in index for q in g.qubits)
        )
        return Device(f"{self.name}[{len(qubits)} qubits]", len(qubits), self.basis_gates, edges,
                      tuple(self.qubits[q] for q in qubits), gates)

    def neighbors(self, qubit: int) -> tuple[int, ...]:
        """Qubits coupled to ``qubit``, ascending."""
        if not _is_int(qubit) or not 0 <= qubit < self.num_qubits:
            raise DeviceError(f"qubit {qubit!r} out of range(0, {self.num_qubits}) of device {self.name!r}")
        return self._neighbors[qubit]

    def check_circuit(self, circuit) -> None:
        """Raise ``DeviceError`` unless ``circuit`` runs as is on this device: at most
        ``num_qubits`` qubits, only basis gates, measure, reset and barriers, and every
        two-qubit gate on a coupled pair. The message names the first offending instruction.

        Example:
            >>> from kizuna import Circuit
            >>> Device.line(3).check_circuit(Circuit(3).cx(0, 2))
            Traceback (most recent call last):
            ...
            kizuna.errors.DeviceError: instruction 0: 'cx' on qubits (0, 2) of device 'line_3' acts on qubits that are not coupled (coupled pairs: (0, 1), (1, 2)); transpile the circuit first
        """
        from .circuit import Circuit

        if not isinstance(circuit, Circuit):
            raise DeviceError(f"expected a kizuna.Circuit (got {type(circuit).__name__})")
        if circuit.num_qubits > self.num_qubits:
            raise DeviceError(
                f"circuit has {circuit.num_qubits} qubits but device {self.name!r} has {self.num_qubits}"
            )
        edges = set(self.coupling_map)
        for i, ins in enumerate(circuit.instructions):
            if ins.name in ("measure", "reset", "barrier"):
                continue
            if ins.name not in self.basis_gates:
                raise DeviceError(
                    f"instruction {i}: {ins.name!r} on qubits {ins.qubits} is not a native gate of "
                    f"device {self.name!r} (basis: {', '.join(self.basis_gates)}); transpile the "
                    "circuit first"
                )
            if len(ins.qubits) == 2 and (min(ins.qubits), max(ins.qubits)) not in edges:
                shown = ", ".join(map(str, self.coupling_map[:8])) + (", ..." if len(edges) > 8 else "")
                raise DeviceError(
                    f"instruction {i}: {ins.name!r} on qubits {ins.qubits} of device {self.name!r} "
                    f"acts on qubits that are not coupled (coupled pairs: {shown}); transpile the "
                    "circuit first"
                )

    # --- serialisation ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (``from_dict`` reads it back exactly)."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "name": self.name,
            "num_qubits": self.num_qubits,
            "basis_gates": list(self.basis_gates),
            "coupling_map": [list(e) for e in self.coupling_map],
            "qubits": [q.to_dict() for q in self.qubits],
            "gates": [g.to_dict() for g in self.gates],
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> Device:
        """A device from ``to_dict``'s dictionary (``qubits`` and ``gates`` may be omitted).

        Raises:
            DeviceError: a missing key, an unknown format or version, or a bad value.
        """
        if not isinstance(data, Mapping):
            raise DeviceError(f"a device description must be a mapping (got {type(data).__name__})")
        fmt = data.get("format", _FORMAT)
        if fmt != _FORMAT:
            raise DeviceError(f"not a Kizuna device description: format {fmt!r} (expected {_FORMAT!r})")
        version = data.get("version", _VERSION)
        if version != _VERSION:
            raise DeviceError(f"device description version {version!r} is not supported (expected {_VERSION})")
        for key in ("name", "num_qubits", "basis_gates"):
            if key not in data:
                raise DeviceError(f"device description lacks {key!r} (keys: {sorted(data)})")
        known = {"format", "version", "name", "num_qubits", "basis_gates", "coupling_map", "qubits", "gates"}
        unknown = set(data) - known
        if unknown:
            raise DeviceError(f"unknown device key(s) {sorted(unknown)}")
        return cls(
            name=data["name"],
            num_qubits=data["num_qubits"],
            basis_gates=tuple(data["basis_gates"]),
            coupling_map=tuple(tuple(e) if isinstance(e, list) else e for e in data.get("coupling_map", ())),
            qubits=tuple(QubitProperties.from_dict(q) for q in data.get("qubits", ())),
            gates=tuple(GateProperties.from_dict(g) for g in data.get("gates", ())),
        )

    def to_json(self) -> str:
        """Canonical JSON text (sorted keys, floats printed exactly)."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=1, allow_nan=False)

    def sha256(self) -> str:
        """SHA-256 (hex) of the canonical compact JSON of ``to_dict``."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def save(self, path: str | os.PathLike) -> None:
        """Write the calibration file: JSON, atomically (a temporary file, then a rename)."""
        atomic_write_text(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Device:
        """Read a calibration file written by ``save`` (or by hand, same schema).

        Raises:
            DeviceError: the file is not valid JSON or not a device description (the message
                names the file).
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DeviceError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
        try:
            return cls.from_dict(data)
        except DeviceError as exc:
            raise DeviceError(f"{path}: {exc}") from None

    # --- built-in devices ------------------------------------------------------------------------
    @classmethod
    def from_coupling_map(
        cls,
        name: str,
        num_qubits: int,
        coupling_map: Iterable[tuple[int, int]],
        *,
        basis_gates: Sequence[str] = CX_BASIS,
        t1_s: float = 100e-6,
        t2_s: float = 80e-6,
        readout_error: tuple[float, float] = (0.01, 0.02),
        error_1q: float = 2.5e-4,
        error_2q: float = 7.5e-3,
        duration_1q_s: float = 35e-9,
        duration_2q_s: float = 300e-9,
        duration_measure_s: float = 1e-6,
    ) -> Device:
        """A device with the same calibration on every qubit and every edge.

        Single-qubit basis gates get ``error_1q`` and ``duration_1q_s`` except ``rz``, ``p``
        and ``u1`` (virtual frame changes: error 0, duration 0); two-qubit basis gates get
        ``error_2q`` and ``duration_2q_s`` on every edge (one entry per edge, ``(a, b)`` with
        ``a < b``); every qubit gets a ``measure`` entry of ``duration_measure_s`` (its error
        the mean readout error). Defaults are of the order of today's superconducting qubits.
        """
        basis = _check_basis(basis_gates)
        edges = sorted({(min(a, b), max(a, b)) for a, b in coupling_map})
        qubit = QubitProperties(t1_s=t1_s, t2_s=t2_s, readout_error=tuple(readout_error))
        gates = []
        for g in basis:
            arity = GATES[g].num_qubits
            if arity == 1:
                virtual = g in ("rz", "p", "u1")
                for q in range(num_qubits):
                    gates.append(GateProperties(g, (q,), 0.0 if virtual else error_1q, 0.0 if virtual else duration_1q_s))
            elif arity == 2:
                for e in edges:
                    gates.append(GateProperties(g, e, error_2q, duration_2q_s))
        readout = sum(qubit.readout_error) / 2
        gates += [GateProperties("measure", (q,), readout, duration_measure_s) for q in range(num_qubits)]
        return cls(name, num_qubits, basis, tuple(edges), (qubit,) * num_qubits, tuple(gates))

    @classmethod
    def builtin(cls, name: str) -> Device:
        """A built-in device by name: ``line-N``, ``ring-N``, ``grid-RxC``, ``heavy-hex-127``
        (IBM Eagle), ``heavy-hex-RxC`` or ``generic-N`` (``generic`` alone: 120 qubits).

        Example:
            >>> Device.builtin("grid-3x4").num_qubits
            12
        """
        text = str(name).strip().lower().replace("_", "-")
        patterns = (
            (r"line-(\d+)", lambda m: cls.line(int(m[1]))),
            (r"ring-(\d+)", lambda m: cls.ring(int(m[1]))),
            (r"grid-(\d+)x(\d+)", lambda m: cls.grid(int(m[1]), int(m[2]))),
            (r"heavy-hex-127", lambda m: cls.heavy_hex_127()),
            (r"heavy-hex-(\d+)x(\d+)", lambda m: cls.heavy_hex(int(m[1]), int(m[2]))),
            (r"generic(?:-(\d+))?", lambda m: cls.generic(int(m[1]) if m[1] else 120)),
        )
        for pattern, make in patterns:
            match = re.fullmatch(pattern, text)
            if match:
                return make(match)
        raise DeviceError(
            f"unknown built-in device {name!r}; choose one of: {', '.join(BUILTIN_EXAMPLES)} "
            "(line-N, ring-N, grid-RxC, heavy-hex-RxC and generic-N take any size)"
        )

    @classmethod
    def line(cls, num_qubits: int, **calibration) -> Device:
        """Qubits on a line, ``0 - 1 - ... - (n-1)``; ``calibration`` as ``from_coupling_map``."""
        _check_size(num_qubits, "num_qubits", 1)
        return cls.from_coupling_map(f"line_{num_qubits}", num_qubits, line_edges(num_qubits), **calibration)

    @classmethod
    def ring(cls, num_qubits: int, **calibration) -> Device:
        """Qubits on a cycle (``n >= 3``); ``calibration`` as ``from_coupling_map``."""
        _check_size(num_qubits, "num_qubits", 3)
        return cls.from_coupling_map(f"ring_{num_qubits}", num_qubits, ring_edges(num_qubits), **calibration)

    @classmethod
    def grid(cls, rows: int, columns: int, **calibration) -> Device:
        """A ``rows x columns`` square lattice, qubit ``r * columns + c``."""
        _check_size(rows, "rows", 1)
        _check_size(columns, "columns", 1)
        n = rows * columns
        return cls.from_coupling_map(f"grid_{rows}x{columns}", n, grid_edges(rows, columns), **calibration)

    @classmethod
    def heavy_hex(cls, rows: int, columns: int, **calibration) -> Device:
        """IBM's heavy-hex lattice (degree <= 3, 12-qubit faces): ``rows`` lines of ``columns``
        qubits (``columns % 4 == 3``, ``columns >= 7``, ``rows >= 2``) joined by bridge qubits
        every fourth column, alternating offsets 0 and 2. Default basis ``ECR_BASIS``.
        """
        _check_size(rows, "rows", 2)
        _check_size(columns, "columns", 7)
        if columns % 4 != 3:
            raise DeviceError(f"heavy-hex columns must be 3 mod 4 (7, 11, 15, ...) (got {columns})")
        calibration.setdefault("basis_gates", ECR_BASIS)
        calibration.setdefault("t1_s", 250e-6)
        calibration.setdefault("t2_s", 150e-6)
        calibration.setdefault("readout_error", (0.012, 0.018))
        calibration.setdefault("error_1q", 2.5e-4)
        calibration.setdefault("error_2q", 7.5e-3)
        calibration.setdefault("duration_1q_s", 57e-9)
        calibration.setdefault("duration_2q_s", 533e-9)
        calibration.setdefault("duration_measure_s", 1.3e-6)
        n = heavy_hex_size(rows, columns)
        name = calibration.pop("name", f"heavy_hex_{n}")
        return cls.from_coupling_map(name, n, heavy_hex_edges(rows, columns), **calibration)

    @classmethod
    def heavy_hex_127(cls, **calibration) -> Device:
        """IBM's 127-qubit Eagle layout (``heavy_hex(7, 15)``: 127 qubits, 144 edges), with
        IBM's native gates ``ecr, id, rz, sx, x`` and illustrative calibration values of the
        order IBM reports for Eagle processors (not a real calibration).

        Example:
            >>> dev = Device.heavy_hex_127()
            >>> dev.num_qubits, len(dev.coupling_map)
            (127, 144)
        """
        return cls.heavy_hex(7, 15, **calibration)

    @classmethod
    def generic(cls, num_qubits: int = 120, *, seed: int = 0, basis_gates: Sequence[str] = CX_BASIS) -> Device:
        """A generic square-lattice device with ``num_qubits`` qubits (rows of
        ``ceil(sqrt(n))``, the last row partly filled) and varied, seeded calibrations.

        Per qubit: T1 uniform in [50, 300] µs, T2 = T1 · uniform[0.3, 1.5] (capped at 2 T1),
        readout errors uniform in [0.005, 0.05], frequency uniform in [4.5, 5.5] GHz; per
        gate: single-qubit errors uniform in [1e-4, 1e-3] (35 ns), two-qubit errors uniform in
        [3e-3, 2e-2] (300 ns) on every edge, each raised where needed to 1.1 times the error
        T1/T2 relaxation alone causes over the gate's duration (so a noise model can match
        every error); measurements take 1 µs. The same ``seed`` gives the same device.

        Example:
            >>> Device.generic(120).num_qubits
            120
        """
        _check_size(num_qubits, "num_qubits", 1)
        rng = np.random.default_rng(seed)
        cols = math.isqrt(num_qubits - 1) + 1
        edges = [(a, b) for a, b in grid_edges(math.ceil(num_qubits / cols), cols) if b < num_qubits]
        qubits = []
        for _ in range(num_qubits):
            t1 = float(rng.uniform(50e-6, 300e-6))
            t2 = min(2 * t1, t1 * float(rng.uniform(0.3, 1.5)))
            ro = (float(rng.uniform(0.005, 0.05)), float(rng.uniform(0.005, 0.05)))
            qubits.append(QubitProperties(t1, t2, ro, float(rng.uniform(4.5e9, 5.5e9))))
        gates = []
        basis = _check_basis(basis_gates)
        for g in basis:
            if GATES[g].num_qubits == 1:
                virtual = g in ("rz", "p", "u1")
                for q in range(num_qubits):
                    err = 0.0 if virtual else max(float(rng.uniform(1e-4, 1e-3)), 1.1 * _relaxation_error(qubits, (q,), 35e-9))
                    gates.append(GateProperties(g, (q,), err, 0.0 if virtual else 35e-9))
            elif GATES[g].num_qubits == 2:
                for e in edges:
                    err = max(float(rng.uniform(3e-3, 2e-2)), 1.1 * _relaxation_error(qubits, e, 300e-9))
                    gates.append(GateProperties(g, e, err, 300e-9))
        gates += [GateProperties("measure", (q,), sum(qubits[q].readout_error) / 2, 1e-6) for q in range(num_qubits)]
        return cls(f"generic_{num_qubits}", num_qubits, basis, tuple(edges), tuple(qubits), tuple(gates))


def _relaxation_error(qubits, on, duration_s: float) -> float:
    """Average gate infidelity of T1/T2 relaxation alone over ``duration_s`` on qubits ``on``:
    per qubit ``1 - F = (3 - e^{-t/T1} - 2 e^{-t/T2}) / 6``, combined through entanglement
    fidelities (``F_e = (3F - 1)/2`` per qubit, multiplied; ``F = (d F_e + 1)/(d + 1)``)."""
    fe = 1.0
    for q in on:
        t1, t2 = qubits[q].t1_s, qubits[q].t2_s
        f = 1 - (3 - math.exp(-duration_s / t1) - 2 * math.exp(-duration_s / t2)) / 6
        fe *= (3 * f - 1) / 2
    d = 2 ** len(on)
    return 1 - (d * fe + 1) / (d + 1)


def _check_basis(basis_gates) -> tuple[str, ...]:
    basis = (basis_gates,) if isinstance(basis_gates, str) else tuple(basis_gates)
    for g in basis:
        if not isinstance(g, str) or g not in GATES:
            raise DeviceError(f"basis gate {g!r} is not a table gate; known gates: {', '.join(GATES)}")
    return basis


def _check_size(value, name: str, minimum: int) -> None:
    if not _is_int(value) or value < minimum:
        raise DeviceError(f"{name} must be an integer >= {minimum} (got {value!r})")
