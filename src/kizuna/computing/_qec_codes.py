"""Memory-experiment circuits of the repetition code and the rotated surface code.

Private to ``kizuna.computing.qec``: ``build_repetition`` and ``build_surface`` return the
ideal ``Circuit``, the noisy flat program (the circuit's instructions with ``ChannelOp``
entries inserted), the detectors and observables as measurement-record (clbit) indices, and
coordinates. The noise is circuit-level depolarizing noise of strength ``p`` placed as Stim's
``stim.Circuit.generated(..., after_clifford_depolarization=p, after_reset_flip_probability=p,
before_measure_flip_probability=p, before_round_data_depolarization=p)`` places it, so the two
can be compared like for like:

* one-qubit depolarizing of total probability ``p`` (each of X, Y, Z with ``p / 3``) on every
  data qubit at the start of each round, and after each Hadamard;
* two-qubit depolarizing of total probability ``p`` (each of the 15 non-identity Paulis with
  ``p / 15``) after each CX;
* a bit flip with probability ``p`` after each reset and before each measurement (a phase
  flip for the X-basis preparation and measurement of the data qubits, which are a reset or
  measurement conjugated by a Hadamard).

Records: round ``t`` measures the ancillas in ancilla order into clbits ``t * A + i``; the data
qubits are measured last, in data order. Every measurement writes its own clbit, in program
order.

This module imports ``core`` and ``computing.circuit``/``noise``; nothing above.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from ..core.channels import Channel, bit_flip, pauli_channel, phase_flip
from .circuit import Circuit
from .noise import ChannelOp

__all__ = ["CodeCircuit", "build_repetition", "build_surface"]

#: CX order of the rotated surface code, as (dx, dy) from the ancilla to its data qubit. The
#: X-type ancillas go "Z"-shaped, the Z-type ones "N"-shaped: an error on an ancilla halfway
#: through spreads to two data qubits that lie across the logical operator it could shorten
#: (a horizontal pair of X errors for X-type ancillas, a vertical pair of Z errors for
#: Z-type ones), so such "hook" errors do not lower the circuit's distance.
X_ORDER = ((1, 1), (-1, 1), (1, -1), (-1, -1))
Z_ORDER = ((1, 1), (1, -1), (-1, 1), (-1, -1))


@dataclass(frozen=True)
class CodeCircuit:
    """What the builders return (see the module docstring)."""

    circuit: Circuit
    program: tuple
    detectors: tuple[tuple[int, ...], ...]
    observables: tuple[tuple[int, ...], ...]
    qubit_coords: tuple[tuple[float, float], ...]
    detector_coords: tuple[tuple[float, float, float], ...]
    detector_basis: tuple[str, ...]
    observable_basis: tuple[str, ...]
    data_qubits: tuple[int, ...]
    ancilla_qubits: tuple[int, ...]


def depolarize(p: float, num_qubits: int) -> Channel:
    """Depolarizing noise of *total* error probability ``p``: each non-identity Pauli string
    with ``p / (4**num_qubits - 1)`` (Stim's ``DEPOLARIZE1``/``DEPOLARIZE2``; Kizuna's
    ``channels.depolarizing`` takes the Qiskit parameter ``p * 4**k / (4**k - 1)`` instead)."""
    labels = ["".join(t) for t in itertools.product("IXYZ", repeat=num_qubits)][1:]
    each = p / len(labels)
    return pauli_channel({lab: each for lab in labels}, name=f"depolarize{num_qubits}({p:g})")


class _Builder:
    """Appends instructions to a circuit and, interleaved, noise to the program."""

    def __init__(self, num_qubits: int, num_clbits: int, p: float, name: str):
        self.circuit = Circuit(num_qubits, num_clbits, name=name)
        self.program: list = []
        self.p = p
        self.noisy = p > 0
        if self.noisy:
            self.dep1 = depolarize(p, 1)
            self.dep2 = depolarize(p, 2)
            self.xerr = bit_flip(p)
            self.zerr = phase_flip(p)
        self.clbit = 0

    def _emit(self):
        self.program.append(self.circuit.instructions[-1])

    def noise(self, channel_attr: str, *qubits: int) -> None:
        if self.noisy:
            self.program.append(ChannelOp(getattr(self, channel_attr), tuple(qubits)))

    def h(self, q: int) -> None:
        self.circuit.h(q)
        self._emit()
        self.noise("dep1", q)

    def cx(self, c: int, t: int) -> None:
        self.circuit.cx(c, t)
        self._emit()
        self.noise("dep2", c, t)

    def reset(self, q: int, basis: str = "z") -> None:
        self.circuit.reset(q)
        self._emit()
        if basis == "x":  # |+>: a reset then an ideal H (Stim's RX); then a phase flip
            self.circuit.h(q)
            self._emit()
            self.noise("zerr", q)
        else:
            self.noise("xerr", q)

    def measure(self, q: int, basis: str = "z") -> int:
        if basis == "x":  # Stim's MX: a phase flip, then an ideal H and a Z measurement
            self.noise("zerr", q)
            self.circuit.h(q)
            self._emit()
        else:
            self.noise("xerr", q)
        b = self.clbit
        self.circuit.measure(q, b)
        self._emit()
        self.clbit += 1
        return b


def _finish(b: _Builder, **kw) -> CodeCircuit:
    assert b.clbit == b.circuit.num_clbits
    return CodeCircuit(circuit=b.circuit, program=tuple(b.program), **kw)


def build_repetition(distance: int, rounds: int, p: float) -> CodeCircuit:
    """The bit-flip repetition code's memory experiment in the Z basis.

    Data qubit ``i`` (qubit ``i``, coordinate ``x = 2 i``) and ancilla ``i`` (qubit
    ``distance + i``, ``x = 2 i + 1``) measuring ``Z_i Z_{i+1}``: each round depolarizes the
    data, runs ``CX(data i -> ancilla i)`` then ``CX(data i+1 -> ancilla i)``, and measures and
    resets the ancillas. Detectors: each ancilla's first outcome, then each change of it, then
    its last outcome against the final data measurements. Observable: the last data qubit.
    """
    d, r = distance, rounds
    a = d - 1
    data = tuple(range(d))
    anc = tuple(range(d, d + a))
    b = _Builder(d + a, r * a + d, p, f"repetition_code_memory_d{d}_r{r}")
    for q in data + anc:
        b.reset(q)
    for _ in range(r):
        for q in data:
            b.noise("dep1", q)
        for i in range(a):
            b.cx(data[i], anc[i])
        for i in range(a):
            b.cx(data[i + 1], anc[i])
        for q in anc:
            b.measure(q)
        for q in anc:
            b.reset(q)
    for q in data:
        b.measure(q)
    final = r * a
    detectors, coords = [], []
    for t in range(r):
        for i in range(a):
            now = t * a + i
            detectors.append((now,) if t == 0 else (now - a, now))
            coords.append((2 * i + 1, 0, t))
    for i in range(a):
        detectors.append((final + i, final + i + 1, (r - 1) * a + i))
        coords.append((2 * i + 1, 0, r))
    return _finish(
        b,
        detectors=tuple(detectors),
        observables=((final + d - 1,),),
        qubit_coords=tuple((2 * i, 0) for i in range(d)) + tuple((2 * i + 1, 0) for i in range(a)),
        detector_coords=tuple(coords),
        detector_basis=("Z",) * len(detectors),
        observable_basis=("Z",),
        data_qubits=data,
        ancilla_qubits=anc,
    )


def surface_layout(distance: int):
    """Data coordinates and ``(x, y, basis)`` of the ancillas of the rotated surface code.

    Data qubit ``(i, j)`` sits at ``(2 i + 1, 2 j + 1)``; ancillas sit at even coordinates
    ``(x, y)`` and measure X when ``(x + y) / 2`` is odd, Z otherwise; the top and bottom
    boundaries (``y = 0``, ``y = 2 d``) hold X-type ancillas only, the left and right ones
    Z-type only. Both lists are ordered by ``(y, x)``.
    """
    d = distance
    data = [(2 * i + 1, 2 * j + 1) for j in range(d) for i in range(d)]
    anc = []
    for y in range(0, 2 * d + 1, 2):
        for x in range(0, 2 * d + 1, 2):
            basis = "X" if ((x + y) // 2) % 2 else "Z"
            inside_x = 0 < x < 2 * d
            inside_y = 0 < y < 2 * d
            if (inside_x and inside_y) or (inside_x and basis == "X") or (inside_y and basis == "Z"):
                anc.append((x, y, basis))
    assert len(anc) == d * d - 1
    return data, anc


def build_surface(distance: int, rounds: int, p: float, basis: str) -> CodeCircuit:
    """The rotated surface code's memory experiment in the Z (or X) basis.

    Qubits: the ``d**2`` data qubits first (``surface_layout`` order), then the ``d**2 - 1``
    ancillas. Each round: depolarize the data, H on the X-type ancillas, four layers of CX in
    ``X_ORDER`` / ``Z_ORDER`` (X-type ancillas control, Z-type ones are targets), H again,
    measure and reset the ancillas. Detectors: in the first round the ancillas of the memory
    basis (their outcome is deterministic), then every ancilla's change from round to round,
    then the memory-basis ancillas' last outcome against the final data measurement. The
    observable is the logical operator of the memory basis: Z on the data row ``y = 1`` (or X
    on the column ``x = 1``).
    """
    d, r = distance, rounds
    memory = basis.upper()
    data_xy, anc_xyb = surface_layout(d)
    nd, na = len(data_xy), len(anc_xyb)
    data = tuple(range(nd))
    anc = tuple(range(nd, nd + na))
    index = {xy: q for q, xy in enumerate(data_xy)}
    support = []  # per ancilla: data qubits, and per layer the data qubit (or None)
    layers = []
    for x, y, kind in anc_xyb:
        order = X_ORDER if kind == "X" else Z_ORDER
        per_layer = [index.get((x + dx, y + dy)) for dx, dy in order]
        layers.append(per_layer)
        support.append(tuple(sorted(q for q in per_layer if q is not None)))
    b = _Builder(nd + na, r * na + nd, p, f"surface_code_memory_{basis.lower()}_d{d}_r{r}")
    for q in data:
        b.reset(q, basis.lower())
    for q in anc:
        b.reset(q)
    x_anc = [anc[i] for i, (_, _, kind) in enumerate(anc_xyb) if kind == "X"]
    for _ in range(r):
        for q in data:
            b.noise("dep1", q)
        for q in x_anc:
            b.h(q)
        for layer in range(4):
            for i, (_, _, kind) in enumerate(anc_xyb):
                dq = layers[i][layer]
                if dq is None:
                    continue
                if kind == "X":
                    b.cx(anc[i], dq)
                else:
                    b.cx(dq, anc[i])
        for q in x_anc:
            b.h(q)
        for q in anc:
            b.measure(q)
        for q in anc:
            b.reset(q)
    for q in data:
        b.measure(q, basis.lower())
    final = r * na
    detectors, coords, kinds = [], [], []
    for t in range(r):
        for i, (x, y, kind) in enumerate(anc_xyb):
            now = t * na + i
            if t == 0:
                if kind != memory:
                    continue
                detectors.append((now,))
            else:
                detectors.append((now - na, now))
            coords.append((x, y, t))
            kinds.append(kind)
    for i, (x, y, kind) in enumerate(anc_xyb):
        if kind == memory:
            detectors.append(tuple(final + q for q in support[i]) + ((r - 1) * na + i,))
            coords.append((x, y, r))
            kinds.append(kind)
    if memory == "Z":
        logical = [index[(2 * i + 1, 1)] for i in range(d)]
    else:
        logical = [index[(1, 2 * j + 1)] for j in range(d)]
    return _finish(
        b,
        detectors=tuple(detectors),
        observables=(tuple(final + q for q in logical),),
        qubit_coords=tuple(data_xy) + tuple((x, y) for x, y, _ in anc_xyb),
        detector_coords=tuple(coords),
        detector_basis=tuple(kinds),
        observable_basis=(memory,),
        data_qubits=data,
        ancilla_qubits=anc,
    )
