"""The stabilizer backend: Clifford circuits on thousands of qubits, with Pauli noise.

A stabilizer state of ``n`` qubits is held as a bit-packed Aaronson-Gottesman tableau
(Aaronson & Gottesman, PRA 70, 052328 (2004)): ``2n`` Pauli rows (destabilizers and
stabilizers) stored by qubit in 64-bit words, so a gate costs ``O(n / 32)`` word operations and a
measurement ``O(n**2 / 32)`` (``core._kernels._numba_stab``).

Sampling many shots does not re-run the tableau per shot. As Stim's frame simulator does
(Gidney, Quantum 5, 497 (2021)):

1. One **reference run** of the tableau, without noise, takes outcome 0 for every random
   measurement and records every outcome and every condition's truth.
2. Each shot is then the reference state times a **Pauli frame**, propagated through the
   program 64 shots per machine word: frames start as random Z (which leave |0...0> unchanged,
   so a later random measurement comes out random), gates conjugate them, a measurement
   records ``reference outcome XOR frame X bit`` and randomises the measured qubit's Z frame, a
   reset clears the X frame. Pauli noise multiplies the frames of the shots it hits; readout
   errors flip recorded bits with probabilities that depend on the true outcome.

Classical feed-forward: a condition reads each shot's own recorded bits. A conditioned Pauli
(``x``, ``y``, ``z``, or any gate equal to one up to phase, such as ``rx(pi)``) and conditioned
noise fit the frame picture: the frame changes where the shot's condition differs from the
reference's. A conditioned *non-Pauli* Clifford, measurement or reset does not, and such a
program is sampled by **branching** instead: the shots run together on one tableau and split,
by binomial (measurements, readout errors) or multinomial (Pauli channels) draws, wherever
their histories differ; each branch copies its tableau. This is exact, but costs one tableau
(``n * n / 2`` bytes) and one simulation per distinct history, so heavy noise with many shots
is slow on that path.

Determinism: the reference run draws nothing; the frame sampler gives each block of
``64 * BLOCK_WORDS`` shots its own generator, seeded from ``rng`` in block order, so counts are
the same bit for bit for any ``num_threads``. The branching path draws from ``rng`` in program
order. ``sample_records`` gives the frame sampler's shots one by one (the records behind
``sample``'s counts for the same seed), for decoders and other per-shot post-processing.

This module imports ``core`` and ``computing``; nothing above. numba loads on first use.
"""

from __future__ import annotations

import itertools
import numbers
import operator
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ...core import _memory
from ...core.gates import GATES
from ...errors import BackendError, MemoryLimitError, SimulationError
from .._clifford import (
    MAX_CLIFFORD_QUBITS,
    CliffordMap,
    clifford_map,
    gate_clifford_map,
    pauli_channel_probabilities,
)
from ..circuit import Instruction
from ..noise import ChannelOp
from .statevector import _threads, resolve_threads

__all__ = ["StabilizerBackend", "is_clifford"]

# program row codes (must equal core._kernels._numba_stab's; checked when it loads)
OP_I, OP_X, OP_Y, OP_Z, OP_H, OP_S, OP_SDG, OP_SX, OP_SXDG = 0, 1, 2, 3, 4, 5, 6, 7, 8
OP_CX, OP_CY, OP_CZ, OP_SWAP, OP_GENERIC = 9, 10, 11, 12, 13
OP_MEASURE, OP_RESET, OP_CHANNEL = 14, 15, 16

#: Parameterless table gates with their own kernels.
NAMED_GATES = {
    "id": OP_I, "x": OP_X, "y": OP_Y, "z": OP_Z, "h": OP_H, "s": OP_S, "sdg": OP_SDG,
    "sx": OP_SX, "sxdg": OP_SXDG, "cx": OP_CX, "cy": OP_CY, "cz": OP_CZ, "swap": OP_SWAP,
}
_PAULI_CODES = (OP_I, OP_X, OP_Y, OP_Z)
#: Shots per call of the frame sampler (bounds the memory of the per-shot records).
CHUNK_SHOTS = 1 << 16
#: Most seeding units (of 1024 shots) one thread runs together: bigger blocks cost less
#: dispatch per gate, smaller ones keep the frames in cache (1000 qubits x 8 units: 2 MB).
_MAX_UNITS_PER_BLOCK = 8

_CLIFFORD_HELP = (
    "the stabilizer backend runs Clifford circuits only (x y z h s sdg sx sxdg cx cy cz swap "
    "ecr, rotations by multiples of pi/2, Clifford unitaries of up to "
    f"{MAX_CLIFFORD_QUBITS} qubits); use backend='statevector' for other gates"
)
_PAULI_HELP = (
    "the stabilizer backend simulates Pauli noise only (pauli_channel, depolarizing, "
    "bit_flip, phase_flip); use backend='density_matrix' or 'trajectories' for other channels"
)


@lru_cache(maxsize=1)
def _kernels():
    try:
        from ...core._kernels import _numba_stab as k
    except ImportError as exc:  # pragma: no cover - numba is a dependency
        raise BackendError(f"the stabilizer backend needs numba ({exc}); pip install numba") from None
    mine = {n: v for n, v in globals().items() if n.startswith("OP_")}
    theirs = {n: getattr(k, n) for n in ("OP_GENERIC", "OP_MEASURE", "OP_RESET", "OP_CHANNEL")}
    assert all(mine[n] == v for n, v in theirs.items()), "op codes out of sync with the kernels"
    return k


# --- recognising gates -----------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _named_maps() -> dict:
    """CliffordMap -> (code, swapped) for the gates with their own kernels; ``swapped``: the
    map is of the gate with its two qubits in the other order."""
    out = {}
    for name, code in NAMED_GATES.items():
        cm = gate_clifford_map(name)
        out.setdefault(cm, (code, False))
        if cm.num_qubits == 2:
            u = GATES[name].matrix()
            perm = [0, 2, 1, 3]
            out.setdefault(clifford_map(u[np.ix_(perm, perm)]), (code, True))
    return out


def _rows_of_map(cm: CliffordMap, qubits: tuple[int, ...]) -> list[tuple]:
    """Program rows ``(code, a, b, map)`` applying ``cm`` to ``qubits``."""
    if cm.is_pauli:
        x, z = cm.pauli()
        rows = []
        for j, q in enumerate(qubits):
            code = ((x >> j) & 1) | (((z >> j) & 1) << 1)  # 1: X, 2: Z, 3: Y
            if code:
                rows.append(((OP_X, OP_Z, OP_Y)[code - 1], q, q, None))
        return rows
    hit = _named_maps().get(cm)
    if hit is not None:
        code, swapped = hit
        if len(qubits) == 1:
            return [(code, qubits[0], qubits[0], None)]
        a, b = qubits
        return [(code, b, a, None) if swapped else (code, a, b, None)]
    return [(OP_GENERIC, qubits[0], qubits[-1], cm)]


def _gate_map(ins: Instruction, unitary_cache: dict) -> CliffordMap | None:
    if ins.name == "unitary":
        m = np.asarray(ins.matrix)
        key = (m.shape, m.tobytes())
        if key not in unitary_cache:
            unitary_cache[key] = clifford_map(m)
        return unitary_cache[key]
    try:
        params = tuple(float(p) for p in ins.params)
    except TypeError:
        raise SimulationError(f"gate {ins.label()} has unbound parameters; bind them first") from None
    return gate_clifford_map(ins.name, params)


def _pauli_channel(op: ChannelOp, cache: dict):
    key = id(op.channel)
    if key not in cache:
        cache[key] = (op.channel, pauli_channel_probabilities(op.channel.kraus))
    return cache[key][1]


def is_clifford(flat: Sequence) -> tuple[bool, str]:
    """Whether the stabilizer backend can run a program, and why (not).

    Args:
        flat: ``flatten(circuit)``, or a noisy program from ``NoiseModel.lower`` (its channels
            must then be Pauli channels).

    Returns:
        ``(True, reason)`` when every gate is a Clifford gate (and every channel a Pauli
        channel), else ``(False, reason)`` naming the first offender.

    Example:
        >>> from kizuna import Circuit
        >>> from kizuna.computing.circuit import flatten
        >>> is_clifford(flatten(Circuit(2).h(0).cx(0, 1).rz(3.141592653589793, 1)))
        (True, 'every gate is a Clifford gate')
        >>> is_clifford(flatten(Circuit(1).h(0).t(0)))
        (False, 'instruction 1 (t on qubits [0]) is not a Clifford gate')
    """
    cache: dict = {}
    unitary_cache: dict = {}
    for i, item in enumerate(flat):
        if isinstance(item, ChannelOp):
            if _pauli_channel(item, cache) is None:
                return False, (f"channel {item.channel.name!r} on qubits {list(item.qubits)} "
                               f"(item {i}) is not a Pauli channel")
            continue
        name = getattr(item, "name", None)
        if name in NAMED_GATES or name in ("measure", "reset", "barrier"):
            continue
        if not isinstance(item, Instruction) or (name not in GATES and name != "unitary"):
            return False, f"item {i} ({item!r}) is not a flattened instruction"
        try:
            cm = _gate_map(item, unitary_cache)
        except SimulationError as exc:
            return False, str(exc)
        if cm is None:
            return False, f"instruction {i} ({item.label()} on qubits {list(item.qubits)}) is not a Clifford gate"
    return True, "every gate is a Clifford gate"


# --- compiling a program ---------------------------------------------------------------------------
@dataclass
class _Program:
    """A program as the kernels' arrays (see ``core._kernels._numba_stab``)."""

    num_qubits: int
    num_clbits: int
    ops: np.ndarray
    gq: np.ndarray
    gqoff: np.ndarray
    glin: np.ndarray
    gmono: np.ndarray
    gmoff: np.ndarray
    cbits: np.ndarray
    cwant: np.ndarray
    coff: np.ndarray
    chq: np.ndarray
    chqoff: np.ndarray
    chperr: np.ndarray
    chcum: np.ndarray
    chpx: np.ndarray
    chpz: np.ndarray
    chpoff: np.ndarray
    ro_p01: np.ndarray
    ro_p10: np.ndarray
    #: None when frames can sample it, else why it must branch
    branch_reason: str | None = None
    #: per channel row: [(probability, x_mask, z_mask)] including the identity (branching)
    channel_terms: list = field(default_factory=list)

    def generic_args(self):
        return self.gq, self.gqoff, self.glin, self.gmono, self.gmoff

    def cond_args(self):
        return self.cbits, self.cwant, self.coff


class _Builder:
    def __init__(self, num_qubits: int, readout: Mapping[int, np.ndarray]):
        self.n = num_qubits
        self.rows: list[tuple] = []
        self.gq: list[int] = []
        self.gqoff = [0]
        self.glin: list[int] = []
        self.gmono: list[int] = []
        self.gmoff = [0]
        self.conds: dict = {}
        self.cbits: list[int] = []
        self.cwant: list[int] = []
        self.coff = [0]
        self.chq: list[int] = []
        self.chqoff = [0]
        self.chperr: list[float] = []
        self.chcum: list[float] = []
        self.chpx: list[int] = []
        self.chpz: list[int] = []
        self.chpoff = [0]
        self.channel_terms: list = []
        self.readout = dict(readout)
        self.ro_index: dict[int, int] = {}
        self.ro_p01: list[float] = []
        self.ro_p10: list[float] = []
        self.max_clbit = -1
        self.branch_reason: str | None = None
        self.unitary_cache: dict = {}
        self.channel_cache: dict = {}

    def condition(self, cond) -> int:
        if cond is None:
            return -1
        idx = self.conds.get(cond)
        if idx is None:
            idx = self.conds[cond] = len(self.coff) - 1
            for i, b in enumerate(cond.clbits):
                self.cbits.append(int(b))
                self.cwant.append((int(cond.value) >> i) & 1)
                self.max_clbit = max(self.max_clbit, int(b))
            self.coff.append(len(self.cbits))
        return idx

    def check_qubits(self, qubits, i, what):
        for q in qubits:
            if isinstance(q, bool) or not isinstance(q, numbers.Integral) or not 0 <= q < self.n:
                raise SimulationError(
                    f"{what} (item {i}) acts on qubit {q!r} outside range(0, {self.n})"
                )

    def add_gate(self, i: int, ins: Instruction):
        name = ins.name
        code = NAMED_GATES.get(name)
        qubits = ins.qubits
        if code is not None and len(qubits) == GATES[name].num_qubits:
            rows = [(code, qubits[0], qubits[-1], None)]
        else:
            if name not in GATES and name != "unitary":
                raise SimulationError(
                    f"instruction {i} ({name!r}) is not a table gate, unitary, measure or reset; "
                    "pass flatten(circuit)"
                )
            cm = _gate_map(ins, self.unitary_cache)
            if cm is None:
                raise SimulationError(
                    f"instruction {i} ({ins.label()} on qubits {list(qubits)}) is not a Clifford "
                    f"gate; {_CLIFFORD_HELP}"
                )
            if cm.num_qubits != len(qubits):
                raise SimulationError(f"instruction {i} ({ins.label()}) has {len(qubits)} qubit(s) "
                                      f"for a {cm.num_qubits}-qubit matrix")
            rows = _rows_of_map(cm, qubits)
        self.check_qubits(qubits, i, ins.label())
        if len(set(qubits)) != len(qubits):
            raise SimulationError(f"instruction {i} ({ins.label()}) repeats a qubit: {list(qubits)}")
        ci = self.condition(ins.condition)
        for code, a, b, cm in rows:
            if ci >= 0 and code not in _PAULI_CODES and self.branch_reason is None:
                self.branch_reason = (f"instruction {i} ({ins.label()}) is a conditioned non-Pauli "
                                      "gate")
            aux = 0
            if code == OP_GENERIC:
                aux = len(self.gqoff) - 1
                self.gq.extend(qubits)
                self.gqoff.append(len(self.gq))
                self.glin.extend(cm.lin)
                self.gmono.extend(cm.monomials)
                self.gmoff.append(len(self.gmono))
                a = aux
            self.rows.append((code, a, b, aux, ci))

    def add_measure(self, i: int, ins: Instruction):
        if len(ins.qubits) != 1 or len(ins.clbits) != 1:
            raise SimulationError(f"measure (item {i}) must have one qubit and one clbit "
                                  f"(got qubits {list(ins.qubits)}, clbits {list(ins.clbits)})")
        q, b = ins.qubits[0], ins.clbits[0]
        self.check_qubits((q,), i, "measure")
        if isinstance(b, bool) or not isinstance(b, numbers.Integral) or b < 0:
            raise SimulationError(f"measure (item {i}) writes clbit {b!r}; expected an index >= 0")
        self.max_clbit = max(self.max_clbit, int(b))
        ci = self.condition(ins.condition)
        if ci >= 0 and self.branch_reason is None:
            self.branch_reason = f"instruction {i} (measure) is conditioned"
        ro = -1
        m = self.readout.get(q)
        if m is not None:
            ro = self.ro_index.get(q)
            if ro is None:
                ro = self.ro_index[q] = len(self.ro_p01)
                self.ro_p01.append(float(m[1, 0]))
                self.ro_p10.append(float(m[0, 1]))
        self.rows.append((OP_MEASURE, q, int(b), ro, ci))

    def add_reset(self, i: int, ins: Instruction):
        (q,) = ins.qubits
        self.check_qubits((q,), i, "reset")
        ci = self.condition(ins.condition)
        if ci >= 0 and self.branch_reason is None:
            self.branch_reason = f"instruction {i} (reset) is conditioned"
        self.rows.append((OP_RESET, q, q, 0, ci))

    def add_channel(self, i: int, op: ChannelOp):
        terms = _pauli_channel(op, self.channel_cache)
        if terms is None:
            raise SimulationError(
                f"channel {op.channel.name!r} on qubits {list(op.qubits)} (item {i}) is not a "
                f"Pauli channel; {_PAULI_HELP}"
            )
        self.check_qubits(op.qubits, i, f"channel {op.channel.name!r}")
        errors = [(x, z, p) for x, z, p in terms if x or z]
        perr = sum(p for _, _, p in errors)
        if perr <= 0:
            return
        ci = self.condition(op.condition)
        h = len(self.chperr)
        self.chq.extend(op.qubits)
        self.chqoff.append(len(self.chq))
        self.chperr.append(min(1.0, perr))
        acc = 0.0
        for x, z, p in errors:
            acc += p / perr
            self.chcum.append(acc)
            self.chpx.append(x)
            self.chpz.append(z)
        self.chcum[-1] = 1.0
        self.chpoff.append(len(self.chcum))
        self.channel_terms.append([(p, x, z) for x, z, p in terms])
        self.rows.append((OP_CHANNEL, op.qubits[0], op.qubits[-1], h, ci))

    def build(self) -> _Program:
        i64 = np.int64
        ops = np.array(self.rows, dtype=i64).reshape(-1, 5)
        ops = np.ascontiguousarray(np.concatenate([ops, np.zeros((ops.shape[0], 1), i64)], axis=1))

        def arr(v, t=i64):
            return np.array(v, dtype=t)

        return _Program(
            num_qubits=self.n, num_clbits=self.max_clbit + 1, ops=ops,
            gq=arr(self.gq), gqoff=arr(self.gqoff), glin=arr(self.glin), gmono=arr(self.gmono),
            gmoff=arr(self.gmoff), cbits=arr(self.cbits), cwant=arr(self.cwant, np.uint8),
            coff=arr(self.coff), chq=arr(self.chq), chqoff=arr(self.chqoff),
            chperr=arr(self.chperr, np.float64), chcum=arr(self.chcum, np.float64),
            chpx=arr(self.chpx), chpz=arr(self.chpz), chpoff=arr(self.chpoff),
            ro_p01=arr(self.ro_p01, np.float64), ro_p10=arr(self.ro_p10, np.float64),
            branch_reason=self.branch_reason, channel_terms=self.channel_terms,
        )


def _slow_item(b: _Builder, i: int, item) -> None:
    if type(item) is Instruction or isinstance(item, Instruction):
        name = item.name
        if name == "measure":
            b.add_measure(i, item)
        elif name == "reset":
            b.add_reset(i, item)
        elif name != "barrier":
            b.add_gate(i, item)
    elif isinstance(item, ChannelOp):
        b.add_channel(i, item)
    else:
        raise SimulationError(
            f"item {i} of the program is a {type(item).__name__}; expected an Instruction "
            "(flatten(circuit)) or a ChannelOp (NoiseModel.lower)"
        )


_TWO_QUBIT_CODES = np.array([OP_CX, OP_CY, OP_CZ, OP_SWAP])


_NAME = operator.attrgetter("name")
_CONDITION = operator.attrgetter("condition")
_QUBITS = operator.attrgetter("qubits")


def _fast_rows(items: list, n: int):
    """``(simple, rows)`` for the unconditioned named gates of ``items`` (the bulk of most
    programs), encoded with C-level ``map`` passes and numpy instead of per-item Python:
    ``simple`` marks them, ``rows[simple]`` holds their ``(code, a, b)``. ``None`` when anything
    about them looks unusual; the per-item path then reports it precisely."""
    m = len(items)
    if not set(map(type, items)) <= {Instruction, ChannelOp}:
        return None
    try:
        try:
            names = list(map(_NAME, items))
        except AttributeError:  # a noisy program: ChannelOps have no name
            names = [x.name if type(x) is Instruction else None for x in items]
        codes = np.fromiter(map(NAMED_GATES.get, names, itertools.repeat(-1)), np.int64, m)
        plain = np.fromiter(map(operator.is_, map(_CONDITION, items), itertools.repeat(None)), bool, m)
        qubits = list(map(_QUBITS, items))
        lens = np.fromiter(map(len, qubits), np.int64, m)
        flatq = np.fromiter(itertools.chain.from_iterable(qubits), np.int64)
    except (AttributeError, TypeError, ValueError, OverflowError):
        return None
    simple = (codes >= 0) & plain
    two = np.isin(codes, _TWO_QUBIT_CODES)
    if np.any(lens[simple] != np.where(two[simple], 2, 1)):
        return None
    ends = np.cumsum(lens)
    rows = np.zeros((m, 3), np.int64)
    rows[:, 0] = codes
    rows[simple, 1] = flatq[ends[simple] - lens[simple]]
    rows[simple, 2] = flatq[ends[simple] - 1]
    sel_a, sel_b = rows[simple, 1], rows[simple, 2]
    if simple.any() and (
        sel_a.min() < 0 or sel_b.min() < 0 or sel_a.max() >= n or sel_b.max() >= n
        or np.any((sel_a == sel_b) & two[simple])
    ):
        return None
    return simple, rows


def compile_program(program: Sequence, num_qubits: int,
                    readout: Mapping[int, np.ndarray] | None = None) -> _Program:
    """The kernels' form of a flat (possibly noisy) program.

    Raises:
        SimulationError: a non-Clifford gate, a non-Pauli channel, an unflattened instruction
            or a qubit out of range (each named).
    """
    items = program if isinstance(program, list) else list(program)
    b = _Builder(num_qubits, readout or {})
    fast = _fast_rows(items, num_qubits)
    if fast is None:
        for i, item in enumerate(items):
            _slow_item(b, i, item)
        return b.build()
    simple, rows = fast
    # every other item through the builder; then interleave, in program order
    per_item = np.ones(len(items), np.int64)
    slow_rows_at = []
    for i in np.flatnonzero(~simple).tolist():
        before = len(b.rows)
        _slow_item(b, i, items[i])
        per_item[i] = len(b.rows) - before
        slow_rows_at.append((i, before))
    prog = b.build()
    total = int(per_item.sum())
    ops = np.zeros((total, 6), np.int64)
    ops[:, 4] = -1
    offsets = np.cumsum(per_item) - per_item
    at = offsets[simple]
    ops[at, :3] = rows[simple]
    for i, before in slow_rows_at:
        k = int(per_item[i])
        if k:
            ops[offsets[i]:offsets[i] + k] = prog.ops[before:before + k]
    prog.ops = ops
    return prog


# --- the backend ---------------------------------------------------------------------------------
def _words(mask, num_qubits: int) -> np.ndarray:
    """A qubit mask (int, numpy integer or a Python int of any width) as uint64 words."""
    if isinstance(mask, (bool, np.bool_)) or not isinstance(mask, (numbers.Integral, np.integer)):
        raise SimulationError(f"Pauli masks must be non-negative integers (got {mask!r})")
    m = int(mask)
    if m < 0 or m >> num_qubits:
        raise SimulationError(
            f"Pauli mask {m:#x} does not fit in {num_qubits} qubit(s) (expected 0 <= mask < 2**{num_qubits})"
        )
    nw = max(1, (num_qubits + 63) // 64)
    return np.array([(m >> (64 * w)) & 0xFFFFFFFFFFFFFFFF for w in range(nw)], dtype=np.uint64)


def _key_of(clbits: np.ndarray) -> int:
    return int.from_bytes(np.packbits(clbits, bitorder="little").tobytes(), "little") if clbits.size else 0


def _counts_from_records(kernels, c: np.ndarray, shots: int, counts: dict) -> None:
    if c.shape[0] == 0:
        counts[0] = counts.get(0, 0) + shots
        return
    rec = kernels.keys_from_records(c, shots)
    if rec.shape[1] == 1:
        values, mult = np.unique(rec[:, 0], return_counts=True)
        keys = [int(v) for v in values.tolist()]
    else:
        rec = np.ascontiguousarray(rec.astype("<u8", copy=False))
        width = 8 * rec.shape[1]
        rows = rec.view(np.dtype((np.void, width))).ravel()
        values, mult = np.unique(rows, return_counts=True)
        buf = values.tobytes()
        keys = [int.from_bytes(buf[i:i + width], "little") for i in range(0, len(buf), width)]
    for key, m in zip(keys, mult.tolist()):
        counts[key] = counts.get(key, 0) + m


def _tableau_bytes(n: int) -> int:
    """Bytes of one tableau: X and Z bit planes of ``2 * 64 * ceil(n / 64)`` rows, and signs."""
    words = 2 * ((n + 63) // 64)
    return 8 * words * (2 * n + 1)


#: Below this many bytes the memory guard does not read /proc (as core._memory does).
_SMALL_BYTES = 64 << 20


def _check_memory(needed: int, num_qubits: int, what: str, budget: int | None = None) -> None:
    """Raise ``MemoryLimitError`` unless ``needed`` bytes fit in the memory available."""
    if budget is None and needed <= _SMALL_BYTES and not os.environ.get("KIZUNA_MEMORY_LIMIT"):
        return
    available = _memory.available_memory_bytes() if budget is None else budget
    if available is not None and needed > available:
        raise MemoryLimitError(
            f"{what} for {num_qubits} qubit(s) needs {_memory.format_bytes(needed)}, but only "
            f"{_memory.format_bytes(available)} is available",
            num_qubits=num_qubits, bytes_needed=needed, bytes_available=available,
        )


@dataclass
class _Branch:
    pc: int
    tab: tuple
    clbits: np.ndarray
    shots: int


class StabilizerBackend:
    """Clifford circuits by stabilizer tableau and Pauli-frame sampling (see the module
    docstring).

    Args:
        num_threads: threads of the frame sampler (default: all cores, or
            ``KIZUNA_NUM_THREADS``). Counts do not depend on it.
        precision: accepted for a uniform interface (``"double"`` or ``"single"``); a
            tableau is exact, so it changes nothing.

    Raises:
        BackendError: a bad or unknown option.

    Cost (``n`` qubits): a tableau holds about ``n**2 / 2`` bytes (``n = 1000``: 0.5 MB;
    checked against the memory guard before allocating); the reference run costs ``O(n / 32)``
    word operations per gate and ``O(n**2 / 32)`` per measurement; sampling costs ``O(16)``
    word operations per gate per 1024 shots, on ``num_threads`` threads. Measured (1000
    qubits, depth 100, 10,000 shots, 2 cores): about 0.25 s, 1.3-2.4 times Stim's
    ``compile_sampler`` + ``sample`` (``benchmarks/bench_scale.py``).

    Example:
        >>> import numpy as np
        >>> from kizuna import Circuit
        >>> from kizuna.computing.circuit import flatten
        >>> ghz = Circuit(3, 3).h(0).cx(0, 1).cx(1, 2).measure([0, 1, 2], [0, 1, 2])
        >>> counts, meta = StabilizerBackend().sample(flatten(ghz), 3, 1000, np.random.default_rng(7))
        >>> sorted(counts), sum(counts.values()), meta["method"]
        ([0, 7], 1000, 'frames')
    """

    name = "stabilizer"

    def __init__(self, num_threads: int | None = None, precision: str = "double", **unknown):
        if unknown:
            raise BackendError(
                f"unknown option(s) for backend 'stabilizer': {', '.join(sorted(unknown))}; "
                "it takes num_threads and precision"
            )
        if precision not in ("double", "single"):
            raise BackendError(f"precision must be 'double' or 'single' (got {precision!r})")
        self.num_threads = resolve_threads(num_threads)
        self.precision = precision

    @property
    def options(self) -> dict:
        """The options that shape results, for provenance."""
        return {"num_threads": self.num_threads, "kernels": "numba"}

    # --- helpers --------------------------------------------------------------------------
    @staticmethod
    def _check_num_qubits(num_qubits) -> int:
        if isinstance(num_qubits, bool) or not isinstance(num_qubits, numbers.Integral) or num_qubits < 0:
            raise SimulationError(f"num_qubits must be a non-negative integer (got {num_qubits!r})")
        return int(num_qubits)

    @staticmethod
    def _noisy_program(flat, num_qubits, noise, readout):
        program = list(flat)
        ro: dict[int, np.ndarray] = {}
        if noise is not None:
            for attr in ("lower", "readout_error", "is_ideal"):
                if not hasattr(noise, attr):
                    raise SimulationError(
                        f"noise must be a kizuna NoiseModel or None (got {type(noise).__name__}, "
                        f"which has no {attr!r})"
                    )
            if any(isinstance(x, ChannelOp) for x in program):
                raise SimulationError(
                    "the program already holds noise channels (NoiseModel.lower output); pass "
                    "flatten(circuit) with noise=, or the lowered program without it"
                )
            if not noise.is_ideal:
                program = noise.lower(program, num_qubits)
                for q in sorted({x.qubits[0] for x in program
                                 if isinstance(x, Instruction) and x.name == "measure"}):
                    err = noise.readout_error(q)
                    if err is not None:
                        ro[q] = np.asarray(err.matrix, dtype=np.float64)
        for q, m in (readout or {}).items():
            m = np.asarray(getattr(m, "matrix", m), dtype=np.float64)
            if m.shape != (2, 2) or not np.isfinite(m).all() or m.min() < 0 or m.max() > 1:
                raise SimulationError(
                    f"readout[{q!r}] must be a 2x2 matrix of probabilities, "
                    f"M[i, j] = P(record i | true j) (got {m.tolist()})"
                )
            ro[q] = m
        ro = {q: m for q, m in ro.items() if m[1, 0] or m[0, 1]}
        return program, ro

    def _reference(self, prog: _Program):
        """The noiseless reference run: ``(tableau, ref_meas, ref_cond, random count)``."""
        k = _kernels()
        tab = k.tab_new(prog.num_qubits)
        m = prog.ops.shape[0]
        ref_meas = np.zeros(m, np.uint8)
        ref_cond = np.zeros(m, np.uint8)
        clbits = np.zeros(max(prog.num_clbits, 1), np.uint8)
        randoms = k.tab_run(*tab, prog.num_qubits, prog.ops, 0, m, *prog.generic_args(),
                            *prog.cond_args(), clbits, ref_meas, ref_cond)
        return tab, ref_meas, ref_cond, int(randoms)

    # --- sampling ---------------------------------------------------------------------------
    def _check_sample_args(self, num_qubits, shots, rng) -> tuple[int, int]:
        n = self._check_num_qubits(num_qubits)
        if isinstance(shots, bool) or not isinstance(shots, numbers.Integral) or shots < 1:
            raise SimulationError(f"shots must be a positive integer (got {shots!r})")
        if not isinstance(rng, np.random.Generator):
            raise SimulationError(f"rng must be a numpy Generator (got {type(rng).__name__})")
        return n, int(shots)

    def sample(
        self,
        flat: Sequence,
        num_qubits: int,
        shots: int,
        rng: np.random.Generator,
        noise=None,
        readout: Mapping | None = None,
    ) -> tuple[dict[int, int], dict]:
        """Counts of classical-register values (clbit ``k`` is bit ``k`` of the key).

        Args:
            flat: ``flatten(circuit)``, a program from ``NoiseModel.lower``, or one compiled by
                ``compile_program`` (then without ``noise`` and ``readout``).
            num_qubits: the register width.
            shots: repetitions (>= 1).
            rng: the run's generator.
            noise: a ``NoiseModel`` (its channels must be Pauli channels) or ``None``: the
                program is ``noise.lower(flat, num_qubits)`` and each recorded bit of a
                measured qubit is flipped by ``noise.readout_error(qubit)``.
            readout: extra readout errors, ``{qubit: 2x2 matrix or ReadoutError}`` with
                ``M[i, j] = P(record i | true j)`` (for an already lowered ``flat``).

        Returns:
            ``(counts, metadata)``; metadata holds ``method`` (``"frames"`` or
            ``"branches"``), ``reference_random_measurements``, ``instructions`` (program
            rows), ``branches`` (tableaux simulated) and the options.

        Raises:
            SimulationError: a non-Clifford gate or a non-Pauli channel (named), bad shots,
                qubits out of range.
        """
        n, shots = self._check_sample_args(num_qubits, shots, rng)
        prog = self._compiled(flat, n, noise, readout)
        k = _kernels()
        meta = {"instructions": int(prog.ops.shape[0])}
        with _threads(k, self.num_threads):
            if prog.branch_reason is None:
                counts, extra = self._sample_frames(prog, shots, rng)
            else:
                counts, extra = self._sample_branches(prog, shots, rng)
        meta.update(extra)
        meta.update(self.options)
        return counts, meta

    def sample_records(
        self,
        flat_or_program,
        num_qubits: int,
        shots: int,
        rng: np.random.Generator,
        noise=None,
        readout: Mapping | None = None,
        *,
        layout: str = "bool",
    ) -> np.ndarray:
        """Every shot's classical record, shot by shot, without building counts.

        The shots come from the same frame sampler, chunked and seeded exactly as ``sample``
        does, so a seed gives the same records bit for bit for any ``num_threads`` (and the
        counts of these records are ``sample``'s counts for the same seed).

        Args:
            flat_or_program: ``flatten(circuit)``, a noisy program from ``NoiseModel.lower``,
                or the result of ``compile_program`` (to sample one program many times
                without compiling it again; ``noise`` and ``readout`` must then be ``None``).
            num_qubits, rng, noise, readout: as for ``sample``.
            shots: repetitions (>= 1).
            layout: how the bits come back (the names of Stim's result formats):

                * ``"bool"``: ``bool`` array ``(shots, num_clbits)``, ``out[s, b]`` is clbit
                  ``b`` of shot ``s``;
                * ``"b8"``: ``uint8`` array ``(shots, ceil(num_clbits / 8))``, clbit ``b`` of
                  shot ``s`` at ``(out[s, b // 8] >> (b % 8)) & 1`` (Stim's ``bit_packed``);
                * ``"ptb64"``: ``uint64`` array ``(num_clbits, ceil(shots / 64))``, clbit ``b``
                  of shot ``s`` at ``(out[b, s // 64] >> (s % 64)) & 1``, the bits past
                  ``shots`` zero (the sampler's own layout: no transposition; XORs of rows
                  give parities of records for 64 shots per word operation).

        Returns:
            The records; ``num_clbits`` is one more than the highest clbit the program writes
            or reads.

        Raises:
            SimulationError: as ``sample``; also a program that needs the branching sampler
                (a conditioned non-Pauli gate, measurement or reset: its shots do not come in
                a fixed order, so there are no per-shot records to give; use ``sample``), or
                an unknown ``layout``.

        Cost: ``sample``'s frame propagation plus ``O(shots * num_clbits / 8)`` bytes out.

        Example:
            >>> import numpy as np
            >>> from kizuna import Circuit
            >>> from kizuna.computing.circuit import flatten
            >>> ghz = Circuit(3, 3).h(0).cx(0, 1).cx(1, 2).measure([0, 1, 2], [0, 1, 2])
            >>> rec = StabilizerBackend().sample_records(flatten(ghz), 3, 1000, np.random.default_rng(7))
            >>> rec.shape, rec.dtype, bool(np.all(rec == rec[:, :1]))     # all 000 or 111
            ((1000, 3), dtype('bool'), True)
        """
        if layout not in ("bool", "b8", "ptb64"):
            raise SimulationError(f"layout must be 'bool', 'b8' or 'ptb64' (got {layout!r})")
        n, shots = self._check_sample_args(num_qubits, shots, rng)
        prog = self._compiled(flat_or_program, n, noise, readout)
        if prog.branch_reason is not None:
            raise SimulationError(
                f"sample_records needs a program the Pauli-frame sampler can run, but "
                f"{prog.branch_reason}: such programs are sampled by branching, which gives "
                "counts but no per-shot records; use sample() for its counts"
            )
        nc = prog.num_clbits
        k = _kernels()
        nbytes = (nc + 7) // 8
        sw = (shots + 63) // 64
        if layout == "ptb64":
            out = np.zeros((nc, sw), np.uint64)
        elif layout == "b8":
            out = np.zeros((shots, nbytes), np.uint8)
        else:
            out = np.zeros((shots, nc), np.bool_)
        done = 0
        with _threads(k, self.num_threads):
            for c, chunk in self._frame_chunks(prog, shots, rng):
                if nc and layout == "ptb64":
                    w0 = done // 64  # chunks hold a multiple of 64 shots, but the last
                    out[:, w0:w0 + c.shape[1]] = c
                elif nc:
                    # (chunk, words) little-endian uint64 rows: byte j holds clbits 8j .. 8j+7
                    rows = k.keys_from_records(c, chunk).astype("<u8", copy=False)
                    packed = rows.view(np.uint8)[:, :nbytes]
                    if layout == "b8":
                        out[done:done + chunk] = packed
                    else:
                        out[done:done + chunk] = np.unpackbits(
                            packed, axis=1, count=nc, bitorder="little").view(np.bool_)
                done += chunk
        if layout == "ptb64" and shots % 64 and nc:
            out[:, -1] &= np.uint64((1 << (shots % 64)) - 1)  # the sampler leaves garbage there
        return out

    def _compiled(self, flat_or_program, n: int, noise, readout) -> _Program:
        if isinstance(flat_or_program, _Program):
            if noise is not None or readout:
                raise SimulationError("a compiled program already holds its noise and readout "
                                      "errors; pass noise=None and readout=None")
            if flat_or_program.num_qubits != n:
                raise SimulationError(f"the compiled program has {flat_or_program.num_qubits} "
                                      f"qubit(s), not num_qubits={n}")
            return flat_or_program
        program, ro = self._noisy_program(flat_or_program, n, noise, readout)
        return compile_program(program, n, ro)

    def _frame_chunks(self, prog: _Program, shots: int, rng, stats: dict | None = None):
        """Yield ``(records, chunk_shots)`` per chunk of at most ``CHUNK_SHOTS`` shots, in
        shot order: ``frames_run``'s clbit-major words (see ``core._kernels._numba_stab``).

        The one place that draws the frame sampler's seeds from ``rng``: ``sample`` and
        ``sample_records`` both run through it, so they see the same shots for one seed.
        ``stats`` (if given) receives ``reference_random_measurements`` and ``seed_units``.
        """
        stats = {} if stats is None else stats
        k = _kernels()
        n = prog.num_qubits
        chunk = min(CHUNK_SHOTS, shots)
        words = (chunk + 63) // 64
        threads = k.get_num_threads()
        frames = threads * 16 * n * min(words, k.BLOCK_WORDS * _MAX_UNITS_PER_BLOCK)
        records = 16 * prog.num_clbits * words + 8 * chunk * ((prog.num_clbits + 63) // 64 + 1)
        _check_memory(_tableau_bytes(n) + frames + records, n,
                      f"the tableau, Pauli frames and records of {chunk} shot(s)")
        _, ref_meas, ref_cond, randoms = self._reference(prog)
        stats["reference_random_measurements"] = randoms
        done = 0
        blocks = 0  # seeding units of 1024 shots
        while done < shots:
            chunk = min(CHUNK_SHOTS, shots - done)
            words = (chunk + 63) // 64
            units = (words + k.BLOCK_WORDS - 1) // k.BLOCK_WORDS
            # one generator per unit of 1024 shots, drawn in order: the samples do not depend
            # on how units are grouped into blocks below (a block runs on one thread)
            seeds = rng.integers(0, np.iinfo(np.uint64).max, size=(units, 4), dtype=np.uint64,
                                 endpoint=True)
            per_block = max(1, min(_MAX_UNITS_PER_BLOCK, -(-units // threads)))
            c = k.frames_run(prog.ops, prog.num_qubits, prog.num_clbits, chunk, seeds, per_block,
                             *prog.generic_args(), *prog.cond_args(), prog.chq, prog.chqoff,
                             prog.chperr, prog.chcum, prog.chpx, prog.chpz, prog.chpoff,
                             prog.ro_p01, prog.ro_p10, ref_meas, ref_cond)
            blocks += units
            stats["seed_units"] = blocks
            yield c, chunk
            done += chunk

    def _sample_frames(self, prog: _Program, shots: int, rng) -> tuple[dict, dict]:
        k = _kernels()
        counts: dict[int, int] = {}
        stats: dict = {}
        for c, chunk in self._frame_chunks(prog, shots, rng, stats):
            _counts_from_records(k, c, chunk, counts)
        return counts, {"method": "frames", **stats, "branches": 1}

    def _sample_branches(self, prog: _Program, shots: int, rng) -> tuple[dict, dict]:
        """Exact sampling by shot branching (conditioned non-Pauli operations)."""
        k = _kernels()
        n = prog.num_qubits
        ops = prog.ops
        m = ops.shape[0]
        nw = 2 * ((n + 63) // 64)
        wd = nw // 2
        lo, hi, mask = (np.empty(nw, np.uint64) for _ in range(3))
        dummy_meas = np.zeros(m, np.uint8)
        dummy_cond = np.zeros(m, np.uint8)
        # runs of gates (conditioned or not) go to the kernel in one call
        is_gate = ops[:, 0] <= OP_GENERIC
        run_end = np.empty(m + 1, np.int64)
        run_end[m] = m
        for i in range(m - 1, -1, -1):
            run_end[i] = run_end[i + 1] if is_gate[i] else i
        nc = max(prog.num_clbits, 1)
        counts: dict[int, int] = {}
        stack = [_Branch(0, k.tab_new(n), np.zeros(nc, np.uint8), shots)]
        branches = 0

        def holds(i, clbits):
            ci = ops[i, 4]
            if ci < 0:
                return True
            lo_, hi_ = prog.coff[ci], prog.coff[ci + 1]
            return bool(np.all(clbits[prog.cbits[lo_:hi_]] == prog.cwant[lo_:hi_]))

        budget = _memory.available_memory_bytes()
        _check_memory(_tableau_bytes(n), n, "a tableau", budget)

        def fork(br, pc, shots_):
            _check_memory((len(stack) + 2) * _tableau_bytes(n), n,
                          f"{len(stack) + 2} tableaux (pending measurement and noise branches)", budget)
            tx, tz, tr = br.tab
            return _Branch(pc, (tx.copy(), tz.copy(), tr.copy()), br.clbits.copy(), shots_)

        while stack:
            br = stack.pop()
            branches += 1
            pc = br.pc
            while pc < m:
                if is_gate[pc]:
                    end = int(run_end[pc])
                    k.tab_run(*br.tab, n, ops, pc, end, *prog.generic_args(), *prog.cond_args(),
                              br.clbits, dummy_meas, dummy_cond)
                    pc = end
                    continue
                i = pc
                pc += 1
                if not holds(i, br.clbits):
                    continue
                code, q, b, aux = (int(v) for v in ops[i, :4])
                tx = br.tab[0]
                if code == OP_CHANNEL:
                    terms = prog.channel_terms[aux]
                    probs = np.array([t[0] for t in terms])
                    split = rng.multinomial(br.shots, probs / probs.sum()).tolist()
                    groups = [(t, s) for t, s in zip(terms, split) if s]
                    qs = prog.chq[prog.chqoff[aux]:prog.chqoff[aux + 1]].tolist()
                    # fork from the untouched tableau first; this branch keeps the first group
                    targets = [br] + [fork(br, pc, s) for _, s in groups[1:]]
                    for ((_, x, z), s), target in zip(groups, targets):
                        target.shots = s
                        if x or z:
                            xw = np.zeros(wd, np.uint64)
                            zw = np.zeros(wd, np.uint64)
                            for j, qq in enumerate(qs):
                                if (x >> j) & 1:
                                    xw[qq >> 6] |= np.uint64(1 << (qq & 63))
                                if (z >> j) & 1:
                                    zw[qq >> 6] |= np.uint64(1 << (qq & 63))
                            k.tab_apply_pauli(*target.tab, xw, zw, n)
                    stack.extend(targets[1:])
                    continue
                # measure or reset
                random = bool(np.any(tx[q, wd:]))
                if random:
                    k1 = int(rng.binomial(br.shots, 0.5))
                    if 0 < k1 < br.shots:
                        other = fork(br, pc, k1)
                        k.tab_measure(*other.tab, n, q, 1, lo, hi, mask)
                        self._after_measure(other, code, q, b, aux, 1, prog, rng, stack, fork, pc)
                        stack.append(other)
                        br.shots -= k1
                        outcome = 0
                    else:
                        outcome = 1 if k1 else 0
                    k.tab_measure(*br.tab, n, q, outcome, lo, hi, mask)
                else:
                    outcome, _ = k.tab_measure(*br.tab, n, q, 0, lo, hi, mask)
                self._after_measure(br, code, q, b, aux, int(outcome), prog, rng, stack, fork, pc)
            key = _key_of(br.clbits[: prog.num_clbits])
            counts[key] = counts.get(key, 0) + br.shots
        return counts, {"method": "branches", "branch_reason": prog.branch_reason,
                        "reference_random_measurements": None, "branches": branches}

    @staticmethod
    def _after_measure(br, code, q, b, aux, outcome, prog, rng, stack, fork, pc):
        """Record (measure, with its readout error: the shots whose record flips branch off)
        or re-prepare |0> (reset)."""
        if code == OP_RESET:
            if outcome:
                _, tz, tr = br.tab
                tr ^= tz[q]
            return
        if aux >= 0:
            p_flip = prog.ro_p01[aux] if outcome == 0 else prog.ro_p10[aux]
            flips = int(rng.binomial(br.shots, p_flip))
            if 0 < flips < br.shots:
                other = fork(br, pc, flips)
                other.clbits[b] = 1 - outcome
                stack.append(other)
                br.shots -= flips
            elif flips == br.shots:
                outcome = 1 - outcome
        br.clbits[b] = outcome

    # --- exact quantities -----------------------------------------------------------------------
    def _final_tableau(self, flat: Sequence, num_qubits: int):
        from .statevector import deferred_measurements

        n = self._check_num_qubits(num_qubits)
        items = list(flat)
        for i, item in enumerate(items):
            if isinstance(item, ChannelOp):
                raise SimulationError(
                    f"item {i} is a noise channel; the stabilizer state is that of the ideal "
                    "circuit (use run(..., noise=...) to sample noise)"
                )
        deferred = deferred_measurements(items)
        body = []
        for i, ins in enumerate(items):
            if i in deferred:
                continue
            if ins.name in ("measure", "reset") or ins.condition is not None:
                what = f"conditioned {ins.label()}" if ins.condition is not None else repr(ins.name)
                raise SimulationError(
                    f"instruction {i} ({what} on qubits {list(ins.qubits)}) makes the state "
                    "depend on measurement outcomes; use kizuna.run(...) to sample it"
                )
            body.append(ins)
        prog = compile_program(body, n)
        _check_memory(_tableau_bytes(n), n, "a tableau")
        tab, _, _, _ = self._reference(prog)
        return tab

    def expectation(self, flat: Sequence, num_qubits: int, x_masks, z_masks, coeffs) -> float:
        """``sum_t coeffs[t] <P_t>`` on the final stabilizer state of ``flat`` (exact).

        Each Pauli ``P_t = i**popcount(x & z) X**x Z**z`` (the Hermitian string of
        ``kizuna.core.paulis``: bit ``q`` of ``x_masks[t]`` is X or Y on qubit ``q``) has
        expectation 0 (it anticommutes with a stabilizer) or +-1 (it is +- a product of
        stabilizers). Terminal measurements are ignored, as ``statevector`` does.

        Args:
            flat: ``flatten(circuit)``; Clifford gates, terminal measurements only.
            num_qubits: the register width.
            x_masks, z_masks: one integer per term (Python ints of any width, or int64 /
                object arrays).
            coeffs: one (real or complex) coefficient per term.

        Returns:
            The real value of the sum.

        Raises:
            SimulationError: a non-Clifford gate, a mid-circuit measurement, reset or
                condition, masks outside the register, lengths that differ, or a sum with a
                non-negligible imaginary part (a non-Hermitian observable).

        Cost: one tableau run plus ``O(n**2 / 32)`` word operations per term.

        Example:
            >>> from kizuna import Circuit
            >>> from kizuna.computing.circuit import flatten
            >>> bell = flatten(Circuit(2).h(0).cx(0, 1))
            >>> StabilizerBackend().expectation(bell, 2, [0b11, 0b00, 0b01], [0b00, 0b11, 0b00],
            ...                                 [1.0, 0.5, 2.0])    # XX, ZZ, IX
            1.5
        """
        x_masks, z_masks = list(x_masks), list(z_masks)
        coeffs = np.asarray(coeffs, dtype=np.complex128).ravel()
        if not len(x_masks) == len(z_masks) == coeffs.size:
            raise SimulationError(
                f"x_masks, z_masks and coeffs must have one entry per term (got lengths "
                f"{len(x_masks)}, {len(z_masks)}, {coeffs.size})"
            )
        n = self._check_num_qubits(num_qubits)
        words = [(_words(x, n), _words(z, n)) for x, z in zip(x_masks, z_masks)]
        tab = self._final_tableau(flat, n)
        k = _kernels()
        total = 0j
        for (xw, zw), c in zip(words, coeffs.tolist()):
            if c == 0:
                continue
            total += c * int(k.tab_pauli_sign(*tab, n, xw, zw))
        scale = max(1.0, float(np.abs(coeffs).sum()))
        if abs(total.imag) > 1e-12 * scale:
            raise SimulationError(
                f"the observable's expectation value is not real ({total:.6g}); give Hermitian "
                "terms (real coefficients on Hermitian Pauli strings)"
            )
        return float(total.real)

    def stabilizers(self, flat: Sequence, num_qubits: int) -> tuple[list[str], list[str]]:
        """The final state's tableau as Pauli labels: ``(destabilizers, stabilizers)``.

        Row ``i`` of each is the image of ``X_i`` (destabilizers) and ``Z_i`` (stabilizers)
        under the circuit's Clifford, as long as no measurement collapsed it (terminal
        measurements are ignored): the rows of Qiskit's ``Clifford(circuit)``. Labels are a
        sign and one letter per qubit, qubit 0 rightmost (``"+IZ"``: Z on qubit 0).

        Example:
            >>> from kizuna import Circuit
            >>> from kizuna.computing.circuit import flatten
            >>> StabilizerBackend().stabilizers(flatten(Circuit(2).h(0).cx(0, 1)), 2)[1]
            ['+XX', '+ZZ']
        """
        n = self._check_num_qubits(num_qubits)
        tx, tz, tr = self._final_tableau(flat, n)
        wd = tx.shape[1] // 2

        def rows(offset):
            x = np.unpackbits(tx[:, offset:offset + wd].astype("<u8").view(np.uint8), axis=1,
                              bitorder="little")[:, :n]
            z = np.unpackbits(tz[:, offset:offset + wd].astype("<u8").view(np.uint8), axis=1,
                              bitorder="little")[:, :n]
            r = np.unpackbits(tr[offset:offset + wd].astype("<u8").view(np.uint8),
                              bitorder="little")[:n]
            letters = np.array(list("IXZY"))[x + 2 * z]  # [qubit, row]
            return [("-" if r[i] else "+") + "".join(letters[::-1, i]) for i in range(n)]

        return rows(0), rows(wd)

