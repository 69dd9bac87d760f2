"""Gate fusion for the state-vector engine: fewer, larger passes over the state.

``fuse(flat, num_qubits)`` turns the flat instruction list of ``flatten(circuit)`` into a list
of ``FusedOp``: runs of unconditioned gates merged into small dense (or diagonal) blocks, so a
simulator sweeps the ``2**n`` amplitudes once per block instead of once per gate. A pass over a
large state is memory-bound: applying a 3- or 4-qubit matrix costs about as much as a 1-qubit
one, so merging gates saves nearly a whole pass each time.

Output format (``FusedOp``, one per pass, in execution order):

===============  ==========================================================================
``kind``         meaning of the other fields
===============  ==========================================================================
``"dense"``      ``matrix``: complex128 ``(2**k, 2**k)``, little-endian over ``qubits``
                 (``qubits[0]`` is its least significant bit). ``diag`` and
                 ``instruction`` are ``None``.
``"diag"``       ``diag``: complex128 ``(2**k,)``, the diagonal of the block's matrix, same
                 bit order; every entry has modulus 1. ``matrix`` and ``instruction`` are
                 ``None``. Apply as ``state[i] *= diag[local_index(i)]``.
``"perm"``       a lone permutation gate (``PERMUTATION_GATES``: x, cx, swap, cswap, ccx,
                 c3x, c4x) that nothing was fused with. ``instruction`` is the original
                 instruction (dispatch on ``instruction.name``: controls first, target last),
                 ``qubits == instruction.qubits``, ``matrix`` is its 0/1 matrix over
                 ``qubits``; ``FusedOp.permutation`` gives the index map. ``diag`` is ``None``.
``"passthrough"``  ``instruction`` is an original ``measure``, ``reset`` or conditioned
                 instruction, unchanged (a conditioned gate keeps its own name and matrix);
                 ``qubits == instruction.qubits``; ``matrix`` and ``diag`` are ``None``.
===============  ==========================================================================

``qubits`` of a block made of two or more gates is ascending; a single gate kept alone keeps
its instruction's qubit order. ``id`` and ``u0`` (exact identities) are dropped.

Algorithm (a greedy one-sweep block grower, in the spirit of qsim's basic fuser, driven by a
pass-cost model):

1. Walk the instructions in order, keeping at most one *open* block per qubit: a set of
   qubits (a bitmask) and the gates merged so far, which is the latest operation on each of
   its qubits. Blocks on distinct qubits commute, so any subset of open blocks may merge.
2. A gate ``g`` meets the open blocks ``B`` on its qubits. For every subset ``S`` of ``B``
   whose union with ``g`` has at most ``max_qubits`` qubits, the estimated cost is
   ``cost(merge(S, g)) + sum(cost(b) for b in B - S)``; the cheapest choice wins (ties: the
   larger merge, i.e. fewer passes). The blocks left out of ``S`` are *closed*: emitted to the
   output. ``len(B) <= len(g.qubits) <= 5``, so this is at most 32 small sums, usually 2-4.
   Cost of one block: ``cost[k]`` for a dense ``k``-qubit block, ``cost["diag"]`` if every
   member is diagonal, ``cost["perm"]`` for a lone permutation gate. Single-qubit gates thus
   fall into the neighbouring block, two blocks meeting at a two-qubit gate merge while they
   fit, and a block that is full is closed when a gate would overflow it.
3. ``measure``, ``reset`` and conditioned instructions close the open blocks on their qubits
   and are emitted at once, so their relative order (and their order against every block on
   a shared qubit) is the original one; blocks on other qubits stay open across them, which
   is exact because those operations commute (a condition reads classical bits only, which
   only measurements write, and measurements keep their order).
4. When the walk ends the remaining open blocks are emitted; then each block's matrix is built
   with small dense products over its own ``k <= 5`` qubits (never ``2**n``-sized): each
   member gate is scattered into the block's ``2**k`` space through a cached index map and
   multiplied in. Diagonal blocks multiply diagonals only. A dense product that comes out
   exactly diagonal is emitted as ``"diag"``.

Cost: O(gates) Python steps plus O(gates * 4**max_qubits) flops; about 10 microseconds a gate.
The pass never looks ahead or commutes gates past each other (a diagonal ladder such as the
QFT's controlled phases could fuse further by commutation; not done here).

This module imports ``core`` and ``computing.circuit`` only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

import numpy as np

from ..errors import BackendError, CircuitError
from .circuit import Instruction

__all__ = [
    "DEFAULT_COST",
    "DIAGONAL_GATES",
    "PERMUTATION_GATES",
    "FusedOp",
    "fuse",
]

#: Table gates whose matrix is diagonal.
DIAGONAL_GATES = frozenset(
    {"id", "u0", "z", "s", "sdg", "t", "tdg", "rz", "p", "u1", "cz", "cp", "cu1", "crz", "rzz"}
)
#: Table gates whose matrix is a 0/1 permutation of basis states.
PERMUTATION_GATES = frozenset({"x", "cx", "swap", "cswap", "ccx", "c3x", "c4x"})
#: Gates that are exactly the identity; fusion drops them.
_IDENTITY_GATES = frozenset({"id", "u0"})

#: Relative cost of one pass over the state: a dense ``k``-qubit block by ``k``; a diagonal
#: block (any ``k``); a lone permutation gate. Memory-bound up to 3-4 qubits on small machines.
DEFAULT_COST: Mapping[int | str, float] = MappingProxyType(
    {1: 1.0, 2: 1.0, 3: 1.1, 4: 1.5, 5: 3.0, "diag": 0.8, "perm": 0.6}
)

MAX_BLOCK_QUBITS = 5

_KINDS = frozenset({"dense", "diag", "perm", "passthrough"})


@dataclass(frozen=True, eq=False)
class FusedOp:
    """One pass of a fused circuit (see the module docstring for the exact format).

    Attributes:
        kind: ``"dense"``, ``"diag"``, ``"perm"`` or ``"passthrough"``.
        qubits: the qubits it acts on; bit ``j`` of a local index is ``qubits[j]``.
        matrix: ``(2**k, 2**k)`` complex128 for ``dense`` and ``perm``, else ``None``.
        diag: ``(2**k,)`` complex128 for ``diag``, else ``None``.
        instruction: the original instruction for ``perm`` and ``passthrough``, else ``None``.
    """

    kind: str
    qubits: tuple[int, ...]
    matrix: np.ndarray | None = None
    diag: np.ndarray | None = None
    instruction: Instruction | None = None

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise ValueError(f"kind must be one of {sorted(_KINDS)} (got {self.kind!r})")
        k = len(self.qubits)
        dim = 1 << k
        if self.kind in ("dense", "perm") and (
            self.matrix is None or self.matrix.shape != (dim, dim)
        ):
            raise ValueError(f"a {self.kind} op on {k} qubit(s) needs a {dim}x{dim} matrix")
        if self.kind == "diag" and (self.diag is None or self.diag.shape != (dim,)):
            raise ValueError(f"a diag op on {k} qubit(s) needs a diagonal of length {dim}")
        if self.kind in ("perm", "passthrough") and self.instruction is None:
            raise ValueError(f"a {self.kind} op needs its instruction")

    @property
    def num_qubits(self) -> int:
        return len(self.qubits)

    def to_matrix(self) -> np.ndarray:
        """The op's ``2**k x 2**k`` matrix over ``qubits`` (for ``passthrough``: the matrix of
        a conditioned gate, to apply when its condition holds).

        Raises:
            CircuitError: a passthrough ``measure`` or ``reset`` (not unitary).
        """
        if self.kind == "diag":
            return np.diag(self.diag)
        if self.kind == "passthrough":
            return self.instruction.to_matrix()
        return self.matrix

    @property
    def permutation(self) -> np.ndarray:
        """For ``perm`` ops: ``p`` with ``p[i]`` the local basis index that ``|i>`` maps to
        (so ``out[p] = in`` over the local index)."""
        if self.kind != "perm":
            raise ValueError(f"permutation is defined for perm ops only (this op is {self.kind!r})")
        return np.argmax(np.abs(self.matrix), axis=0)


def _is_diagonal(m: np.ndarray) -> bool:
    # A unitary with exactly dim nonzero entries, all on the diagonal, is diagonal.
    dim = m.shape[0]
    return int(np.count_nonzero(m)) == dim and int(np.count_nonzero(np.diagonal(m))) == dim


@lru_cache(maxsize=4096)
def _local_index(k: int, positions: tuple[int, ...]) -> np.ndarray:
    """For each index of a ``k``-qubit block, the index of a gate acting on block bits
    ``positions`` (gate-local little-endian)."""
    i = np.arange(1 << k)
    loc = np.zeros(1 << k, dtype=np.intp)
    for j, p in enumerate(positions):
        loc |= ((i >> p) & 1) << j
    return loc


@lru_cache(maxsize=4096)
def _scatter(k: int, positions: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Flat gather indices and a 0/1 mask so that ``g.ravel()[idx] * mask`` is the gate
    ``g`` (on block bits ``positions``) embedded in the block's ``2**k`` space."""
    loc = _local_index(k, positions)
    m = len(positions)
    i = np.arange(1 << k)
    other = (1 << k) - 1
    for p in positions:
        other &= ~(1 << p)
    rest = i & other
    mask = (rest[:, None] == rest[None, :]).astype(np.float64)
    idx = (loc[:, None] << m) | loc[None, :]
    return idx, mask


class _Block:
    __slots__ = ("cost", "diag", "mask", "members")

    def __init__(self, mask, members, diag, cost):
        self.mask = mask
        self.members = members  # [(instruction, matrix, is_diag)], in circuit order
        self.diag = diag
        self.cost = cost


def _bits(mask: int):
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def _check_cost(cost):
    table = dict(DEFAULT_COST)
    if cost is None:
        return table
    if not isinstance(cost, Mapping):
        raise BackendError(f"cost must be a dict {{k: relative cost}} or None (got {cost!r})")
    for key, value in cost.items():
        if key not in DEFAULT_COST:
            raise BackendError(
                f"cost has unknown key {key!r}; expected block sizes 1..{MAX_BLOCK_QUBITS}, "
                "'diag' or 'perm'"
            )
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = math.nan
        if not (math.isfinite(v) and v > 0):
            raise BackendError(f"cost[{key!r}] must be a positive number (got {value!r})")
        table[key] = v
    return table


def fuse(
    flat: Sequence[Instruction],
    num_qubits: int,
    max_qubits: int = 4,
    *,
    cost: Mapping[int | str, float] | None = None,
) -> list[FusedOp]:
    """Merge runs of unconditioned gates of ``flat`` into at most ``max_qubits``-qubit blocks.

    Applying the returned ops in order (dense and perm ops as their matrices, diag ops as
    their diagonals, passthrough ops as the original instruction) gives the same state as
    applying ``flat``, up to floating-point rounding (about 1e-15 per gate).

    Args:
        flat: primitive instructions, as ``flatten(circuit)`` returns them (table gates with
            numeric parameters, ``unitary``, ``measure``, ``reset``; any may be conditioned).
        num_qubits: qubits of the register (every qubit index must be below it).
        max_qubits: the largest block, 1..5. A single gate wider than this (``c4x`` or a wide
            ``unitary``) is emitted alone.
        cost: relative cost of one pass, overriding ``DEFAULT_COST`` key by key: ``{k: c}``
            for a dense ``k``-qubit block, ``"diag"`` and ``"perm"`` for those kinds. A merge
            happens when it does not raise the summed cost.

    Returns:
        ``list[FusedOp]`` in execution order; see the module docstring for the format.

    Raises:
        BackendError: ``max_qubits`` outside 1..5, or a bad ``cost``.
        CircuitError: an instruction that is not primitive, or a qubit out of range.

    Cost: O(len(flat)) steps, each O(4**max_qubits) flops at most; about 10 us a gate.

    Example:
        >>> from kizuna import Circuit
        >>> from kizuna.computing.circuit import flatten
        >>> c = Circuit(3).h(0).cx(0, 1).t(1).cx(1, 2).x(2)
        >>> [(op.kind, op.qubits) for op in fuse(flatten(c), 3)]
        [('dense', (0, 1, 2))]
        >>> [(op.kind, op.qubits) for op in fuse(flatten(c), 3, max_qubits=2)]
        [('dense', (0, 1)), ('dense', (1, 2))]
    """
    if (
        isinstance(max_qubits, bool)
        or not isinstance(max_qubits, int)
        or not 1 <= max_qubits <= MAX_BLOCK_QUBITS
    ):
        raise BackendError(
            f"max_qubits must be an integer in 1..{MAX_BLOCK_QUBITS} (got {max_qubits!r})"
        )
    table = _check_cost(cost)
    # Indexed by block size; a gate wider than max_qubits never reaches the cost comparison.
    dense_cost = [0.0] + [table[k] for k in range(1, MAX_BLOCK_QUBITS + 1)]
    c_diag, c_perm = table["diag"], table["perm"]

    open_of: list[_Block | None] = [None] * num_qubits
    emitted: list = []  # _Block or passthrough Instruction, in execution order

    def close(b: _Block) -> None:
        for q in _bits(b.mask):
            open_of[q] = None
        emitted.append(b)

    for ins in flat:
        name = ins.name
        qs = ins.qubits
        gmask = 0
        for q in qs:
            if not 0 <= q < num_qubits:
                raise CircuitError(
                    f"instruction {ins.label()} acts on qubit {q}, outside range(0, {num_qubits})"
                )
            gmask |= 1 << q
        if ins.condition is not None or name == "measure" or name == "reset":
            for q in qs:
                b = open_of[q]
                if b is not None:
                    close(b)
            emitted.append(ins)
            continue
        if name == "barrier":  # not in flatten's output; honour it as a fusion barrier
            for q in qs:
                b = open_of[q]
                if b is not None:
                    close(b)
            continue
        if name in _IDENTITY_GATES:
            continue
        g = ins.to_matrix()
        if name == "unitary":
            g_diag = _is_diagonal(g)
            g_perm = False
        else:
            g_diag = name in DIAGONAL_GATES
            g_perm = name in PERMUTATION_GATES
        width = len(qs)
        member = (ins, g, g_diag)
        if width > max_qubits:
            for q in qs:
                b = open_of[q]
                if b is not None:
                    close(b)
            emitted.append(_Block(gmask, [member], g_diag, 0.0))
            continue
        alone = c_perm if g_perm else (c_diag if g_diag else dense_cost[width])
        blocks: list[_Block] = []
        for q in qs:
            b = open_of[q]
            if b is not None and b not in blocks:
                blocks.append(b)
        nb = len(blocks)

        if nb == 0:
            new = _Block(gmask, [member], g_diag, alone)
            for q in qs:
                open_of[q] = new
            continue
        if nb == 1:
            # The common case, decided without the subset search: merge or close-and-restart.
            b = blocks[0]
            mask = b.mask | gmask
            k = mask.bit_count()
            if k <= max_qubits:
                diag = g_diag and b.diag
                merged = c_diag if diag else dense_cost[k]
                if merged <= b.cost + alone:
                    b.members.append(member)
                    b.diag = diag
                    b.cost = merged
                    if mask != b.mask:
                        b.mask = mask
                        for q in qs:
                            open_of[q] = b
                    continue
            close(b)
            new = _Block(gmask, [member], g_diag, alone)
            for q in qs:
                open_of[q] = new
            continue

        # Choose which open blocks to merge with g: the cheapest total, ties to the larger merge.
        best_sel, best_cost, best_n = 0, math.inf, -1
        for sel in range((1 << nb) - 1, -1, -1):
            mask = gmask
            diag = g_diag
            rest_cost = 0.0
            n = 0
            for j in range(nb):
                b = blocks[j]
                if sel >> j & 1:
                    mask |= b.mask
                    diag = diag and b.diag
                    n += 1
                else:
                    rest_cost += b.cost
            k = mask.bit_count()
            if k > max_qubits:
                continue
            merged = alone if n == 0 else (c_diag if diag else dense_cost[k])
            total = merged + rest_cost
            if total < best_cost or (total == best_cost and n > best_n):
                best_sel, best_cost, best_n = sel, total, n
        # The empty selection always fits (width <= max_qubits), so best_n >= 0.
        members: list = []
        mask = gmask
        diag = g_diag
        for j in range(nb):
            b = blocks[j]
            if best_sel >> j & 1:
                members.extend(b.members)
                mask |= b.mask
                diag = diag and b.diag
            else:
                close(b)
        members.append(member)
        merged_cost = alone if best_n == 0 else (c_diag if diag else dense_cost[mask.bit_count()])
        new = _Block(mask, members, diag, merged_cost)
        for q in _bits(mask):
            open_of[q] = new

    seen = set()
    for b in open_of:
        if b is not None and id(b) not in seen:
            seen.add(id(b))
            emitted.append(b)

    return [_build(item) for item in emitted]


def _build(item) -> FusedOp:
    if isinstance(item, Instruction):
        return FusedOp("passthrough", item.qubits, instruction=item)
    members = item.members
    if len(members) == 1:
        ins, g, g_diag = members[0]
        if g_diag:
            return FusedOp("diag", ins.qubits, diag=np.diagonal(g).copy())
        if ins.name in PERMUTATION_GATES:
            return FusedOp("perm", ins.qubits, matrix=g, instruction=ins)
        return FusedOp("dense", ins.qubits, matrix=g)
    qubits = tuple(_bits(item.mask))
    k = len(qubits)
    pos = {q: i for i, q in enumerate(qubits)}
    if item.diag:
        d = None
        for ins, g, _ in members:
            gd = np.diagonal(g)
            part = gd[_local_index(k, tuple(pos[q] for q in ins.qubits))]
            d = part if d is None else d * part
        return FusedOp("diag", qubits, diag=d)
    m = None
    # Consecutive gates on the same qubit tuple multiply at their own size first.
    prev_qs, prev_g = None, None
    for ins, g, _ in members:
        if ins.qubits == prev_qs:
            prev_g = g @ prev_g
            continue
        if prev_qs is not None:
            m = _apply(m, prev_g, prev_qs, pos, k)
        prev_qs, prev_g = ins.qubits, g
    m = _apply(m, prev_g, prev_qs, pos, k)
    if _is_diagonal(m):
        return FusedOp("diag", qubits, diag=np.diagonal(m).copy())
    return FusedOp("dense", qubits, matrix=m)


def _apply(m, g, gate_qubits, pos, k):
    idx, mask = _scatter(k, tuple(pos[q] for q in gate_qubits))
    e = g.ravel().take(idx)
    e *= mask
    return e if m is None else e @ m
