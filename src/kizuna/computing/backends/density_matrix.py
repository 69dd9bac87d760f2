"""The exact density-matrix backend: noisy circuits without sampling the noise.

Storage: the ``2**n x 2**n`` density matrix ``rho`` of ``n`` qubits is one vector of ``4**n``
amplitudes (complex128, or complex64 with ``precision="single"``) with ``rho[i, j]`` at index
``i + 2**n * j``. Read as a state vector of ``2n`` "qubits", qubit ``q`` is the row bit of
qubit ``q`` and qubit ``q + n`` its column bit. So the state-vector kernels of
``core._kernels._numba_sv`` run it unchanged, and no ``4**n x 4**n`` matrix is ever built:

* a gate ``U`` on qubits ``Q`` is ``U`` on ``Q`` and ``conj(U)`` on ``Q + n``; a ``k``-qubit
  channel with Kraus matrices ``K_j`` is its superoperator ``S = sum_j kron(conj(K_j), K_j)``
  (``4**k x 4**k``, local index ``r + 2**k * c`` for row bits ``r`` and column bits ``c``),
  applied as one dense pass on the ``2k`` "qubits" ``Q + (Q + n)``;
* gates and channels are fused first (``fuse_superoperators``): consecutive operations on at
  most ``max_fused_qubits`` qubits (default 2) become one superoperator, so a noisy gate and
  its error (and the one-qubit gates around it) cost one pass over the ``4**n`` amplitudes;
* a reset is a channel (no branching); measurement probabilities come from the diagonal (a
  strided view of ``2**n`` entries); collapsing onto an outcome projects qubits ``q`` and
  ``q + n`` and renormalises.

Sampling (``sample``) is exact, as in the state-vector backend: measurements nothing depends on
are sampled from the final diagonal; other measurements split the shots between their outcomes
by a binomial draw and continue depth first, one density matrix per distinct measurement
history (``statevector.deferred_measurements`` decides which measurements wait).

Readout errors (``readout``: qubit -> 2x2 assignment matrix ``A[i, j] = P(record i | true j)``)
flip recorded bits shot by shot. A bit that a later condition reads is drawn at once (the
branch splits by what was recorded); any other bit is drawn when its branch ends.

``final_state`` returns the density matrix averaged over measurement outcomes: a measurement
whose bit no condition reads is the dephasing channel on its qubit; one whose bit is read keeps
one density matrix per value of the bits read (an ensemble, summed at the end).

Cost: ``16 * 4**n`` bytes per density matrix (complex128; 256 MiB at 12 qubits, 4 GiB at 14),
checked against the memory guard before allocating, and one pass over them per fused block.

This module imports ``core`` and ``computing``; nothing above. The helpers shared with the
trajectory backend (program checks, deferral, readout, sampling the tail) live here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ...core import _memory
from ...core._kernels import statevector as sv
from ...core.channels import Channel
from ...errors import BackendError, SimulationError
from ..circuit import Instruction
from ..noise import ChannelOp
from .statevector import (
    _condition_holds,
    _fast_kernels,
    _set_bit,
    _threads,
    deferred_measurements,
    resolve_threads,
)

__all__ = ["DensityMatrixBackend", "fuse_superoperators"]

_PRECISIONS = {"double": np.complex128, "single": np.complex64}

_P0 = np.array([[1, 0], [0, 0]], dtype=np.complex128)
_P1 = np.array([[0, 0], [0, 1]], dtype=np.complex128)
#: Kraus matrices of a reset to |0> and of a measurement whose result is not kept.
RESET_KRAUS = (_P0, np.array([[0, 1], [0, 0]], dtype=np.complex128))
DEPHASE_KRAUS = (_P0, _P1)


# --- helpers shared with the trajectory backend -------------------------------------------------


def check_program(program: Sequence, num_qubits: int) -> list:
    """``program`` as a list, checked: ``Instruction`` (table gate, ``unitary``, ``measure``,
    ``reset``) and ``ChannelOp`` entries on qubits below ``num_qubits``.

    Raises:
        SimulationError: anything else (the message names the entry and its position).
    """
    out = list(program)
    for i, item in enumerate(out):
        if isinstance(item, ChannelOp):
            qs = item.qubits
            if len(qs) != item.channel.num_qubits:
                raise SimulationError(
                    f"noisy program entry {i}: channel {item.channel.name!r} acts on "
                    f"{item.channel.num_qubits} qubit(s), not on qubits {list(qs)}"
                )
        elif isinstance(item, Instruction):
            if item.name == "barrier":
                continue
            if item.definition is not None:
                raise SimulationError(
                    f"noisy program entry {i}: composite gate {item.name!r}; lower flatten(circuit)"
                )
            qs = item.qubits
        else:
            raise SimulationError(
                f"noisy program entry {i} is a {type(item).__name__}; expected an Instruction or "
                "a ChannelOp (what NoiseModel.lower returns)"
            )
        if any(not 0 <= q < num_qubits for q in qs) or len(set(qs)) != len(qs):
            raise SimulationError(
                f"noisy program entry {i} acts on qubits {list(qs)}; expected distinct qubits "
                f"in range(0, {num_qubits})"
            )
    return [item for item in out if not (isinstance(item, Instruction) and item.name == "barrier")]


def prune_unobserved_channels(program: list) -> list:
    """``program`` without the channels nothing later can observe: those none of whose qubits
    a later instruction (or kept channel) touches.

    A trace-preserving map on qubits that are never used again cannot change the distribution
    of any recorded bit; dropping it lets the measurements before it count as terminal.
    """
    touched: set[int] = set()
    kept = []
    for item in reversed(program):
        if isinstance(item, ChannelOp) and touched.isdisjoint(item.qubits):
            continue
        touched.update(item.qubits)
        kept.append(item)
    kept.reverse()
    return kept


def _stand_ins(program: list) -> list[Instruction]:
    # deferred_measurements reads name, qubits, clbits and condition: a channel touches its
    # qubits and reads its condition, like a gate
    return [
        item if isinstance(item, Instruction) else Instruction("channel", tuple(item.qubits), condition=item.condition)
        for item in program
    ]


def split_program(program: list) -> tuple[list, list[Instruction], set[int]]:
    """``(body, tail, resolve_now)``: the deferred (terminal) measurements in ``tail`` (program
    order), the rest in ``body``, and the ``id`` of every measurement of ``body`` whose bit a
    later condition reads (its readout error must be drawn when it happens)."""
    deferred = deferred_measurements(_stand_ins(program))
    body = [item for i, item in enumerate(program) if i not in deferred]
    tail = [program[i] for i in sorted(deferred)]
    resolve_now: set[int] = set()
    read: set[int] = set()
    for item in reversed(body):
        if isinstance(item, Instruction) and item.name == "measure" and item.clbits[0] in read:
            resolve_now.add(id(item))
        if item.condition is not None:
            read.update(item.condition.clbits)
    return body, tail, resolve_now


def superoperator(kraus: Sequence[np.ndarray]) -> np.ndarray:
    """``sum_j kron(conj(K_j), K_j)``: the channel on the vectorised ``rho`` (index ``r + d*c``
    for row ``r`` and column ``c``), as this module stores it."""
    ks = np.asarray(kraus, dtype=np.complex128)
    d = ks.shape[1]
    return np.einsum("jab,jcd->acbd", ks.conj(), ks).reshape(d * d, d * d)


def _kron_conj(u: np.ndarray) -> np.ndarray:
    """``kron(conj(u), u)`` (the superoperator of a unitary), without ``np.kron``'s overhead."""
    d = u.shape[0]
    return np.multiply.outer(u.conj(), u).transpose(0, 2, 1, 3).reshape(d * d, d * d)


def measurement_groups(k: int, p1: float, assignment, resolve_now: bool, rng) -> list[tuple[int, int, int]]:
    """How ``k`` shots split at a measurement: ``[(outcome, recorded bit, shots)]`` with no empty
    group. ``p1`` is the probability of outcome 1; ``assignment`` the qubit's readout matrix or
    ``None``; with ``resolve_now`` false the recorded bit is the outcome (its readout error is
    drawn when the branch ends)."""
    p1 = min(max(p1, 0.0), 1.0)
    k1 = int(rng.binomial(k, p1))
    groups = []
    for outcome, shots in ((0, k - k1), (1, k1)):
        if shots == 0:
            continue
        if assignment is None or not resolve_now:
            groups.append((outcome, outcome, shots))
            continue
        flips = int(rng.binomial(shots, float(assignment[1 - outcome, outcome])))
        if shots - flips:
            groups.append((outcome, outcome, shots - flips))
        if flips:
            groups.append((outcome, 1 - outcome, flips))
    return groups


def basis_sampler(probabilities: np.ndarray):
    """``draw(uniforms) -> basis indices`` for the basis-state distribution ``probabilities``
    (normalised here; an index of probability zero is never drawn)."""
    p = np.maximum(np.asarray(probabilities, dtype=np.float64), 0.0)
    total = p.sum()
    if not np.isfinite(total) or total <= 0:
        raise SimulationError("the state lost its norm during simulation")
    cdf = np.cumsum(p / total)
    cdf[np.flatnonzero(p)[-1]:] = 1.0  # rounding never selects a zero-probability outcome
    return lambda u: np.searchsorted(cdf, u, side="right")


def record_shots(
    counts: dict[int, int],
    draw_basis,
    tail: list[Instruction],
    clbits: int,
    pending: Mapping[int, np.ndarray],
    shots: int,
    rng,
    readout: Mapping[int, np.ndarray],
) -> None:
    """Add ``shots`` shots of a finished branch to ``counts``.

    The tail's measurements read basis states drawn by ``draw_basis(uniforms)`` (one index
    per uniform, in any order; called only when there is a tail). Then each recorded bit of a
    qubit with a readout matrix, and each ``pending`` bit (clbit -> readout matrix of the
    measurement that wrote its current value), is flipped with probability ``A[1 - b, b]``.
    Random numbers come in a fixed order: ``shots`` uniforms for the basis states, then one
    block of ``shots`` uniforms per flipped bit (the tail's in program order, then pending).
    """
    tail_bits = [(ins.clbits[0], ins.qubits[0]) for ins in tail]
    written = {b for b, _ in tail_bits}
    noisy = [(b, readout[q]) for b, q in tail_bits if q in readout]
    noisy += [(b, a) for b, a in pending.items() if b not in written]
    if not tail_bits and not noisy:
        counts[clbits] = counts.get(clbits, 0) + shots
        return
    idx = np.asarray(draw_basis(rng.random(shots)), dtype=np.int64) if tail_bits else None
    flips = rng.random((len(noisy), shots)) if noisy else None
    if shots == 1:  # a single trajectory: plain Python
        key = clbits
        i0 = int(idx[0]) if tail_bits else 0
        for b, q in tail_bits:
            key = _set_bit(key, b, (i0 >> q) & 1)
        for row, (b, a) in enumerate(noisy):
            v = (key >> b) & 1
            if flips[row, 0] < a[1 - v, v]:
                key ^= 1 << b
        counts[key] = counts.get(key, 0) + 1
        return
    columns: dict[int, np.ndarray] = {}
    for b, q in tail_bits:
        columns[b] = ((idx >> q) & 1).astype(np.uint8)
    for row, (b, a) in enumerate(noisy):
        v = columns[b] if b in columns else np.full(shots, (clbits >> b) & 1, dtype=np.uint8)
        columns[b] = v ^ (flips[row] < np.where(v == 1, a[0, 1], a[1, 0]))
    order = list(columns)
    if len(order) <= 62:
        code = np.zeros(shots, dtype=np.int64)
        for i, b in enumerate(order):
            code |= columns[b].astype(np.int64) << i
        values, multiplicity = np.unique(code, return_counts=True)
        rows = (((v >> i) & 1 for i in range(len(order))) for v in values.tolist())
    else:
        matrix = np.stack([columns[b] for b in order], axis=1)
        rows, multiplicity = np.unique(matrix, axis=0, return_counts=True)
        rows = (r.tolist() for r in rows)
    for row, m in zip(rows, multiplicity.tolist()):
        key = clbits
        for b, v in zip(order, row):
            key = _set_bit(key, b, int(v))
        counts[key] = counts.get(key, 0) + m


# --- fusion of superoperators -------------------------------------------------------------------


@dataclass(eq=False)
class DOp:
    """One pass of the density-matrix engine.

    ``kind``: ``"super"`` (``matrix`` is the ``4**k x 4**k`` superoperator over ``qubits``, local
    index ``r + 2**k c``), ``"unitary"`` (``matrix`` is a ``2**k x 2**k`` unitary: two passes,
    ``U`` on ``qubits`` and ``conj(U)`` on the column bits), ``"diag"`` (``matrix`` the
    ``4**k`` diagonal of a diagonal superoperator) or ``"pass"`` (``item``: a measurement or a
    conditioned operation; ``matrix`` its superoperator, ``None`` for a measurement).
    """

    kind: str
    qubits: tuple[int, ...]
    matrix: np.ndarray | None = None
    item: object = None


_RESET_SUPEROP = superoperator(RESET_KRAUS)


def _member(item, cache: dict) -> tuple[tuple[int, ...], np.ndarray | None, np.ndarray | None]:
    """``(qubits, unitary or None, superoperator or None)`` of a gate, reset or channel
    (superoperators cached per channel object: a noise model reuses a few channels)."""
    if isinstance(item, ChannelOp):
        ch = item.channel
        s = cache.get(id(ch))
        if s is None:
            s = cache[id(ch)] = superoperator(ch.kraus)
            cache[("keep", id(ch))] = ch  # the id stays valid while cached
        return tuple(item.qubits), None, s
    if item.name == "reset":
        return tuple(item.qubits), None, _RESET_SUPEROP
    return tuple(item.qubits), np.asarray(item.to_matrix(), dtype=np.complex128), None


def _superop_of_member(u, s):
    return s if u is None else _kron_conj(u)


@lru_cache(maxsize=512)
def _embedding(positions: tuple[int, ...], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Index maps to embed an operator on ``positions`` of a ``width``-bit space: the
    operator's index of every basis state, and where two basis states agree off ``positions``."""
    idx = np.arange(1 << width)
    sub = np.zeros_like(idx)
    for j, p in enumerate(positions):
        sub |= ((idx >> p) & 1) << j
    mask = sum(1 << p for p in positions)
    rest = idx & ~mask
    return sub, rest[:, None] == rest[None, :]


def _embed(op: np.ndarray, positions, width: int) -> np.ndarray:
    """``core.gates.embed`` for the small blocks of this module (cached index maps)."""
    sub, same = _embedding(tuple(positions), width)
    return np.where(same, op[sub[:, None], sub[None, :]], 0)


def _is_diagonal(m: np.ndarray) -> bool:
    return not np.count_nonzero(m - np.diag(np.diagonal(m)))


def _emit_single(qubits, u, s) -> DOp:
    k = len(qubits)
    if u is not None:
        if _is_diagonal(u):
            d = np.diagonal(u)
            return DOp("diag", qubits, np.multiply.outer(d.conj(), d).reshape(-1))
        if k > 2:  # two passes of 2**k x 2**k beat one of 4**k x 4**k
            return DOp("unitary", qubits, u)
        s = _kron_conj(u)
    if _is_diagonal(s):
        return DOp("diag", qubits, np.ascontiguousarray(np.diagonal(s)))
    return DOp("super", qubits, s)


def _emit_block(qubits: tuple[int, ...], members: list) -> DOp:
    if len(members) == 1:
        qs, u, s = members[0]
        return _emit_single(qs, u, s)
    m = len(qubits)
    pos = {q: i for i, q in enumerate(qubits)}
    if all(u is not None for _, u, _ in members):
        total = np.eye(1 << m, dtype=np.complex128)
        for qs, u, _ in members:
            total = _embed(u, [pos[q] for q in qs], m) @ total
        return _emit_single(qubits, total, None)
    total = np.eye(1 << (2 * m), dtype=np.complex128)
    for qs, u, s in members:
        local = [pos[q] for q in qs]
        total = _embed(_superop_of_member(u, s), local + [p + m for p in local], 2 * m) @ total
    return _emit_single(qubits, None, total)


def fuse_superoperators(body: Sequence, max_qubits: int = 2, fusion: bool = True) -> list[DOp]:
    """Compile a noisy program body into density-matrix passes.

    Gates, resets and unconditioned channels merge greedily into blocks of at most
    ``max_qubits`` qubits (one pass each); measurements and conditioned operations stay in
    place as ``"pass"`` ops and close the blocks on their qubits (blocks on other qubits stay
    open: operations on disjoint qubits commute, and a condition only reads bits that
    measurements write, which keep their order). An operation wider than ``max_qubits`` is
    emitted alone.

    Args:
        body: ``Instruction`` and ``ChannelOp`` entries (no deferred measurements needed).
        max_qubits: largest block, 1..3 (a block of ``k`` qubits is a ``4**k`` superoperator).
        fusion: ``False`` emits one pass per operation.

    Returns:
        ``list[DOp]`` in execution order.

    Example:
        >>> from kizuna import Circuit
        >>> from kizuna.computing.circuit import flatten
        >>> ops = fuse_superoperators(flatten(Circuit(3).h(0).cx(0, 1).x(2).cx(1, 2)))
        >>> [(op.kind, op.qubits) for op in ops]
        [('super', (0, 1)), ('super', (1, 2))]
    """
    if isinstance(max_qubits, bool) or not isinstance(max_qubits, int) or not 1 <= max_qubits <= 3:
        raise BackendError(f"max_fused_qubits must be an integer in 1..3 (got {max_qubits!r})")
    out: list[DOp] = []
    open_of: dict[int, list] = {}  # qubit -> block [qubits set, members]
    cache: dict = {}

    def close(block):
        for q in block[0]:
            open_of.pop(q, None)
        out.append(_emit_block(tuple(sorted(block[0])), block[1]))

    for item in body:
        qs = tuple(item.qubits)
        special = (isinstance(item, Instruction) and item.name == "measure") or item.condition is not None
        if special or not fusion:
            for q in qs:
                if q in open_of:
                    close(open_of[q])
            if special:
                matrix = None
                if not (isinstance(item, Instruction) and item.name == "measure"):
                    _, u, s = _member(item, cache)
                    matrix = _superop_of_member(u, s)
                out.append(DOp("pass", qs, matrix, item))
            else:
                out.append(_emit_single(*_member(item, cache)))
            continue
        member = _member(item, cache)
        blocks = []
        for q in qs:
            b = open_of.get(q)
            if b is not None and all(b is not x for x in blocks):
                blocks.append(b)
        if len(qs) > max_qubits:
            for b in blocks:
                close(b)
            out.append(_emit_single(*member))
            continue
        union = set(qs).union(*(b[0] for b in blocks))
        # close the largest blocks until the rest fits with the new operation
        blocks.sort(key=lambda b: -len(b[0]))
        while len(union) > max_qubits:
            b = blocks.pop(0)
            close(b)
            union = set(qs).union(*(x[0] for x in blocks))
        merged = [union, [m for b in blocks for m in b[1]] + [member]]
        for q in union:
            open_of[q] = merged
    seen = set()
    for block in list(open_of.values()):
        if id(block) not in seen:
            seen.add(id(block))
            out.append(_emit_block(tuple(sorted(block[0])), block[1]))
    return out


# --- kernels ------------------------------------------------------------------------------------


class _Ops:
    """Passes over a vectorised density matrix, with the numba kernels or the numpy ones."""

    def __init__(self, num_qubits: int, dtype, kernels):
        self.n = num_qubits
        self.dtype = dtype
        self.k = kernels

    def doubled(self, qubits) -> list[int]:
        return list(qubits) + [q + self.n for q in qubits]

    def dense(self, vec, m, qubits):
        m = np.ascontiguousarray(m, dtype=self.dtype)
        k = self.k
        if k is None:
            return sv.apply_matrix(vec, m, qubits)
        if len(qubits) == 1:
            k.apply_1q(vec, m, qubits[0])
        elif len(qubits) == 2:
            k.apply_2q(vec, m, qubits[0], qubits[1])
        else:
            k.apply_kq(vec, m, np.asarray(qubits, dtype=np.int64))
        return vec

    def apply(self, vec, op: DOp):
        q2 = self.doubled(op.qubits)
        if op.kind == "diag":
            d = np.ascontiguousarray(op.matrix, dtype=self.dtype)
            if self.k is None:
                return sv.apply_matrix(vec, np.diag(d), q2)
            self.k.apply_diag(vec, d, np.asarray(q2, dtype=np.int64))
            return vec
        if op.kind == "unitary":
            vec = self.dense(vec, op.matrix, list(op.qubits))
            return self.dense(vec, op.matrix.conj(), [q + self.n for q in op.qubits])
        return self.dense(vec, op.matrix, q2)

    def diagonal(self, vec) -> np.ndarray:
        """The real diagonal of rho (a strided view, then one copy of ``2**n`` floats)."""
        d = 1 << self.n
        return np.ascontiguousarray(vec[:: d + 1].real, dtype=np.float64)

    def probability_one(self, vec, q) -> float:
        d = 1 << self.n
        diag = vec[:: d + 1].real
        return float(diag.reshape(-1, 2, 1 << q)[:, 1, :].sum())

    def project(self, vec, q, outcome, scale_probability):
        """Keep the outcome's block of rows and columns of qubit ``q``; divide by
        ``scale_probability`` (1.0: no renormalisation)."""
        if self.k is None:
            v = vec.reshape(-1, 2, 1 << q)
            v[:, 1 - outcome, :] = 0
            v = vec.reshape(-1, 2, 1 << (q + self.n))
            v[:, 1 - outcome, :] = 0
            vec *= 1.0 / scale_probability
            return
        self.k.collapse(vec, q, outcome, scale_probability)
        self.k.collapse(vec, q + self.n, outcome, scale_probability)


# --- the backend --------------------------------------------------------------------------------


@dataclass
class _Branch:
    pc: int
    vec: np.ndarray
    clbits: int
    shots: int
    pending: dict


class DensityMatrixBackend:
    """Exact density-matrix simulation of noisy programs (see the module docstring).

    Args:
        precision: ``"double"`` (complex128, default) or ``"single"`` (complex64).
        num_threads: kernel threads (default: all cores, or ``KIZUNA_NUM_THREADS``).
        fusion: merge gates and channels into blocks (default on).
        max_fused_qubits: largest block, 1..3 qubits (default 2: a ``16 x 16`` superoperator).

    Raises:
        BackendError: a bad option.

    Example:
        >>> import numpy as np
        >>> from kizuna import Circuit
        >>> from kizuna.computing.circuit import flatten
        >>> from kizuna.computing.noise import NoiseModel
        >>> from kizuna.core.channels import amplitude_damping
        >>> noise = NoiseModel().add_all_qubit_error(amplitude_damping(0.25), ["x"])
        >>> program = noise.lower(flatten(Circuit(1, 1).x(0).measure(0, 0)), 1)
        >>> backend = DensityMatrixBackend()
        >>> {k: round(p, 12) for k, p in backend.probabilities(program, 1).items()}
        {0: 0.25, 1: 0.75}
        >>> counts, meta = backend.sample(program, 1, 1000, np.random.default_rng(7))
        >>> sum(counts.values()), meta["branches"]
        (1000, 1)
    """

    name = "density_matrix"

    def __init__(self, precision: str = "double", num_threads: int | None = None, fusion: bool = True,
                 max_fused_qubits: int = 2):
        if precision not in _PRECISIONS:
            raise BackendError(f"precision must be 'double' or 'single' (got {precision!r})")
        if isinstance(max_fused_qubits, bool) or not isinstance(max_fused_qubits, int) or not 1 <= max_fused_qubits <= 3:
            raise BackendError(f"max_fused_qubits must be an integer in 1..3 (got {max_fused_qubits!r})")
        self.precision = precision
        self.dtype = _PRECISIONS[precision]
        self.num_threads = resolve_threads(num_threads)
        self.fusion = bool(fusion)
        self.max_fused_qubits = max_fused_qubits
        self._kernels = _fast_kernels()

    @property
    def options(self) -> dict:
        """The options that shape results, for provenance."""
        return {
            "precision": self.precision,
            "num_threads": self.num_threads,
            "fusion": self.fusion,
            "max_fused_qubits": self.max_fused_qubits,
            "kernels": "numba" if self._kernels is not None else "numpy",
        }

    def _check_memory(self, num_qubits: int, copies: int, budget=None, what="density matrix"):
        return _memory.check_state_memory(
            2 * num_qubits,
            copies=copies,
            bytes_per_amplitude=np.dtype(self.dtype).itemsize,
            budget=budget,
            what=f"{what} ({num_qubits} qubits)",
        )

    def _copies(self) -> int:
        return 1 if self._kernels is not None else 3  # numpy passes return new arrays

    def _initial(self, num_qubits: int) -> np.ndarray:
        vec = np.zeros(1 << (2 * num_qubits), dtype=self.dtype)
        vec[0] = 1
        return vec

    def _ensemble(self, program: list, num_qubits: int, readout: Mapping[int, np.ndarray],
                  keep_unread: bool) -> dict[int, np.ndarray]:
        """Run ``program`` on an ensemble ``{classical bits: unnormalised density matrix}``.

        A measurement splits every entry by its outcome and recorded bit (weights from the
        readout matrix). With ``keep_unread`` false, a measurement whose bit no later condition
        reads is the dephasing channel instead (its bit is not tracked).
        """
        items = program
        if not keep_unread:
            read_later: set[int] = set()
            items = []
            for item in reversed(program):
                if isinstance(item, Instruction) and item.name == "measure" and item.clbits[0] not in read_later:
                    item = ChannelOp(Channel(DEPHASE_KRAUS, name="measure"), item.qubits, item.condition)
                if item.condition is not None:
                    read_later.update(item.condition.clbits)
                items.append(item)
            items.reverse()
        ops = fuse_superoperators(items, self.max_fused_qubits, self.fusion)
        budget = _memory.available_memory_bytes()
        self._check_memory(num_qubits, self._copies(), budget)
        o = _Ops(num_qubits, self.dtype, self._kernels)
        ensemble: dict[int, np.ndarray] = {0: self._initial(num_qubits)}
        with _threads(self._kernels, self.num_threads):
            for op in ops:
                if op.kind != "pass":
                    ensemble = {c: o.apply(v, op) for c, v in ensemble.items()}
                    continue
                item = op.item
                if op.matrix is not None:
                    ensemble = {c: (o.dense(v, op.matrix, o.doubled(op.qubits)) if _condition_holds(item, c) else v)
                                for c, v in ensemble.items()}
                    continue
                q, b = item.qubits[0], item.clbits[0]
                a = readout.get(q)
                new: dict[int, np.ndarray] = {}
                for c, v in ensemble.items():
                    if not _condition_holds(item, c):
                        _add(new, c, v)
                        continue
                    self._check_memory(num_qubits, len(ensemble) + len(new) + 1 + self._copies(), budget,
                                       what="ensemble of density matrices")
                    for outcome in (0, 1):
                        part = v.copy() if outcome == 0 else v
                        o.project(part, q, outcome, 1.0)
                        if not o.diagonal(part).sum() > 0:
                            continue  # an outcome of probability zero
                        if a is None:
                            _add(new, _set_bit(c, b, outcome), part)
                            continue
                        keep = float(a[outcome, outcome])
                        if keep < 1.0:
                            _add(new, _set_bit(c, b, 1 - outcome), part * (1.0 - keep))
                        if keep > 0.0:
                            part *= keep
                            _add(new, _set_bit(c, b, outcome), part)
                ensemble = new
        return ensemble

    def final_state(self, program: Sequence, num_qubits: int, readout: Mapping[int, np.ndarray] | None = None) -> np.ndarray:
        """The density matrix after ``program`` (every instruction applied: pass a program
        without the measurements you want ignored), averaged over measurement outcomes.

        Returns:
            A ``2**n x 2**n`` array, ``rho[i, j]`` (a transposed view of the internal vector;
            Hermitian, trace 1).

        Raises:
            MemoryLimitError: the density matrices do not fit.
        """
        program = check_program(program, num_qubits)
        vecs = list(self._ensemble(program, num_qubits, dict(readout or {}), keep_unread=False).values())
        total = vecs[0]
        for v in vecs[1:]:
            total += v
        d = 1 << num_qubits
        return total.reshape(d, d).T

    def probabilities(self, program: Sequence, num_qubits: int,
                      readout: Mapping[int, np.ndarray] | None = None) -> dict[int, float]:
        """The exact distribution of the classical register after ``program``: value (clbit
        ``k`` is bit ``k``) -> probability, readout errors included; what ``sample`` draws from.

        Terminal measurements are read off the final diagonal; every other measurement keeps
        one density matrix per recorded history (memory: one ``4**n`` matrix per history).
        """
        readout = dict(readout or {})
        program = prune_unobserved_channels(check_program(program, num_qubits))
        body, tail, _ = split_program(program)
        ensemble = self._ensemble(body, num_qubits, readout, keep_unread=True)
        o = _Ops(num_qubits, self.dtype, self._kernels)
        qubits = sorted({ins.qubits[0] for ins in tail})
        t = len(qubits)
        out: dict[int, float] = {}
        for key, vec in ensemble.items():
            p = o.diagonal(vec)
            if not tail:
                out[key] = out.get(key, 0.0) + float(p.sum())
                continue
            p = sv.marginal(p, qubits).reshape((2,) * t)
            for i, q in enumerate(qubits):
                a = readout.get(q)
                if a is not None:  # numpy axis t-1-i holds sorted qubit i
                    p = np.moveaxis(np.tensordot(a, p, axes=([1], [t - 1 - i])), 0, t - 1 - i)
            p = p.reshape(-1)
            for value in np.flatnonzero(p > 0).tolist():
                k = key
                for ins in tail:
                    k = _set_bit(k, ins.clbits[0], (value >> qubits.index(ins.qubits[0])) & 1)
                out[k] = out.get(k, 0.0) + float(p[value])
        return dict(sorted(out.items()))

    def sample(
        self,
        program: Sequence,
        num_qubits: int,
        shots: int,
        rng: np.random.Generator,
        readout: Mapping[int, np.ndarray] | None = None,
    ) -> tuple[dict[int, int], dict]:
        """Counts of classical-register values (clbit ``k`` is bit ``k`` of the key).

        Args:
            program: the noisy program (``NoiseModel.lower(flatten(circuit), n)``, or the flat
                instructions of an ideal circuit).
            num_qubits: register width.
            shots: number of shots.
            rng: the generator every draw comes from.
            readout: qubit -> 2x2 readout assignment matrix (``A[i, j] = P(record i | true j)``).

        Returns:
            ``(counts, metadata)``; metadata holds ``branches`` (density matrices simulated to
            the end), ``deferred_measurements`` and ``passes``.
        """
        readout = dict(readout or {})
        program = prune_unobserved_channels(check_program(program, num_qubits))
        body, tail, resolve_now = split_program(program)
        ops = fuse_superoperators(body, self.max_fused_qubits, self.fusion)
        splits = any(op.kind == "pass" and op.matrix is None for op in ops)
        budget = _memory.available_memory_bytes()
        self._check_memory(num_qubits, self._copies() + (1 if splits else 0), budget)
        o = _Ops(num_qubits, self.dtype, self._kernels)
        counts: dict[int, int] = {}
        stack = [_Branch(0, self._initial(num_qubits), 0, shots, {})]
        branches = 0
        with _threads(self._kernels, self.num_threads):
            while stack:
                br = stack.pop()
                vec, clbits, k, pending = br.vec, br.clbits, br.shots, br.pending
                pc = br.pc
                while pc < len(ops):
                    op = ops[pc]
                    pc += 1
                    if op.kind != "pass":
                        vec = o.apply(vec, op)
                        continue
                    item = op.item
                    if not _condition_holds(item, clbits):
                        continue
                    if op.matrix is not None:
                        vec = o.dense(vec, op.matrix, o.doubled(op.qubits))
                        continue
                    q, b = item.qubits[0], item.clbits[0]
                    p1 = o.probability_one(vec, q)
                    now = id(item) in resolve_now
                    a = readout.get(q)
                    groups = measurement_groups(k, p1, a, now, rng)
                    if a is not None and not now:
                        pending = dict(pending)
                        pending[b] = a
                    elif b in pending:
                        pending = dict(pending)
                        del pending[b]
                    main = max(range(len(groups)), key=lambda g: (groups[g][2], -g))
                    for g, (outcome, recorded, n_shots) in enumerate(groups):
                        if g == main:
                            continue
                        self._check_memory(num_qubits, len(stack) + 2 + self._copies(), budget,
                                           what=f"density matrix with {len(stack) + 1} pending branch(es)")
                        other = vec.copy()
                        o.project(other, q, outcome, p1 if outcome else 1.0 - p1)
                        stack.append(_Branch(pc, other, _set_bit(clbits, b, recorded), n_shots, pending))
                    outcome, recorded, k = groups[main]
                    o.project(vec, q, outcome, p1 if outcome else 1.0 - p1)
                    clbits = _set_bit(clbits, b, recorded)
                branches += 1
                record_shots(counts, lambda u, v=vec: basis_sampler(o.diagonal(v))(u), tail, clbits, pending, k, rng,
                             readout)
        meta = {"branches": branches, "deferred_measurements": len(tail), "passes": len(ops)}
        meta.update(self.options)
        return counts, meta


def _add(ensemble: dict, key: int, vec: np.ndarray) -> None:
    if key in ensemble:
        ensemble[key] += vec
    else:
        ensemble[key] = vec
