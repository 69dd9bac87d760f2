"""Recognising Clifford gates and Pauli channels, for the stabilizer backend.

A unitary ``U`` on ``k`` qubits is a Clifford when it maps every Pauli string to plus or minus a
Pauli string under conjugation ``P -> U P U^dagger``. This module finds that map for table gates
at their numeric angles and for ``unitary`` matrices (``clifford_map``), and the Pauli
probabilities of a channel whose chi matrix in the Pauli basis is diagonal
(``pauli_channel_probabilities``).

Encoding of a ``k``-qubit Clifford (``CliffordMap``), the form the numba kernels take:

* a local Pauli is ``2k`` bits: bit ``2j`` is its X component on the gate's ``j``-th qubit, bit
  ``2j + 1`` its Z component; the Pauli is the Hermitian string ``⊗_j i^(x_j z_j) X^x_j Z^z_j``
  (so ``x = z = 1`` is ``Y``);
* ``lin[o]`` is a mask over the input bits: output bit ``o`` of the image is the XOR of them
  (the symplectic matrix, row by row);
* ``monomials`` are masks over the input bits: the image's sign flips by the XOR over monomials
  of the AND of their bits (the algebraic normal form of the sign, from a Mobius transform of
  its truth table over all ``4**k`` local Paulis).

Angles count as Clifford when the gate's matrix is a Clifford to ``CLIFFORD_ATOL`` (entries of
``U P U^dagger`` against the exact signed Pauli): ``rz(pi/2 + 1e-13)`` is taken as ``S``,
``rz(pi/2 + 1e-9)`` is not a Clifford gate.

This module imports ``core`` (the gate table) and numpy; nothing above ``computing``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..core.gates import GATES, gate_matrix

__all__ = [
    "CLIFFORD_ATOL",
    "MAX_CHANNEL_QUBITS",
    "MAX_CLIFFORD_QUBITS",
    "CliffordMap",
    "clifford_map",
    "gate_clifford_map",
    "pauli_channel_probabilities",
]

#: Tolerance on the entries of ``U P U^dagger`` when recognising a Clifford matrix.
CLIFFORD_ATOL = 1e-11
#: Widest ``unitary`` (and table gate) examined for being Clifford: the sign table has
#: ``4**k`` entries.
MAX_CLIFFORD_QUBITS = 6
#: Widest channel examined for being a Pauli channel (its chi matrix is ``16**k`` entries).
MAX_CHANNEL_QUBITS = 4
#: Tolerance on the off-diagonal entries of a channel's Pauli chi matrix.
PAULI_CHANNEL_ATOL = 1e-10


@dataclass(frozen=True)
class CliffordMap:
    """A ``k``-qubit Clifford as its action on local Paulis (see the module docstring).

    Attributes:
        num_qubits: ``k``.
        lin: ``2k`` input-bit masks, one per output bit.
        monomials: input-bit masks whose ANDs, XORed, give the sign flip.
    """

    num_qubits: int
    lin: tuple[int, ...]
    monomials: tuple[int, ...]

    @property
    def is_pauli(self) -> bool:
        """True when the map is the identity up to signs: the gate is a Pauli string (up to a
        global phase)."""
        return all(m == 1 << o for o, m in enumerate(self.lin))

    def pauli(self) -> tuple[int, int]:
        """``(x_mask, z_mask)`` over the gate's qubits of the Pauli it equals (``is_pauli``
        only). A Pauli ``P`` flips the sign of ``Q`` when they anticommute, so the sign is
        linear: the coefficient of input bit ``x_j`` is ``P``'s ``z_j`` and of ``z_j`` its
        ``x_j``."""
        x = z = 0
        for m in self.monomials:
            if m == 0 or m & (m - 1):
                raise ValueError("not a Pauli map")  # unreachable for a Clifford with lin == I
            a = m.bit_length() - 1
            j, is_z = divmod(a, 2)
            if is_z:
                x |= 1 << j
            else:
                z |= 1 << j
        return x, z

    def image(self, v: int) -> tuple[int, int]:
        """``(image bits, sign bit)`` of the local Pauli with input bits ``v``."""
        out = 0
        for o, m in enumerate(self.lin):
            out |= (_parity(v & m)) << o
        sign = 0
        for m in self.monomials:
            sign ^= int(v & m == m)
        return out, sign


def _parity(v: int) -> int:
    return v.bit_count() & 1


# --- Pauli strings on k qubits as (x, z) masks ------------------------------------------------
def _pauli_matrix(x: int, z: int, k: int) -> np.ndarray:
    """The Hermitian Pauli ``i^|x&z| X^x Z^z`` on ``k`` qubits (little-endian)."""
    d = 1 << k
    idx = np.arange(d)
    ny = (x & z).bit_count()
    signs = np.array([(-1) ** (i & z).bit_count() for i in range(d)], dtype=np.complex128)
    m = np.zeros((d, d), dtype=np.complex128)
    m[idx ^ x, idx] = (1j**ny) * signs
    return m


def _identify_pauli(m: np.ndarray, k: int) -> tuple[int, int, int] | None:
    """``(x, z, sign)`` when ``m`` equals ``(-1)^sign`` times a Hermitian Pauli to
    ``CLIFFORD_ATOL``, else ``None``."""
    col = m[:, 0]
    x = int(np.argmax(np.abs(col)))
    ref = m[x, 0]
    if abs(abs(ref) - 1.0) > CLIFFORD_ATOL:
        return None
    z = 0
    for j in range(k):
        r = m[(1 << j) ^ x, 1 << j] / ref
        if abs(r + 1) < 0.5:
            z |= 1 << j
    ny = (x & z).bit_count()
    s = ref / (1j**ny)
    if abs(s - 1) <= CLIFFORD_ATOL:
        sign = 0
    elif abs(s + 1) <= CLIFFORD_ATOL:
        sign = 1
    else:
        return None
    p = _pauli_matrix(x, z, k)
    if np.abs(m - (1 - 2 * sign) * p).max() > CLIFFORD_ATOL:
        return None
    return x, z, sign


def _mul(e1: int, x1: int, z1: int, x2: int, z2: int) -> tuple[int, int, int]:
    """``i^e1 P1 · P2`` for Hermitian Paulis ``P1 = (x1, z1)``, ``P2 = (x2, z2)`` as
    ``(e, x, z)``: ``i^e`` times the Hermitian Pauli ``(x, z)``."""
    x3, z3 = x1 ^ x2, z1 ^ z2
    e = (e1 + (x1 & z1).bit_count() + (x2 & z2).bit_count() + 2 * (z1 & x2).bit_count()
         - (x3 & z3).bit_count())
    return e % 4, x3, z3


def clifford_map(matrix: np.ndarray) -> CliffordMap | None:
    """The ``CliffordMap`` of a unitary matrix, or ``None`` when it is not a Clifford.

    Args:
        matrix: a ``2**k x 2**k`` unitary, little-endian over its qubits, ``k <=
            MAX_CLIFFORD_QUBITS``.

    Cost: ``O(k 8**k)`` for the conjugations and ``O(k 4**k)`` for the sign table.

    Example:
        >>> from kizuna.core.gates import gate_matrix
        >>> clifford_map(gate_matrix("h")).lin        # x' = z, z' = x
        (2, 1)
        >>> clifford_map(gate_matrix("t")) is None
        True
    """
    u = np.asarray(matrix, dtype=np.complex128)
    d = u.shape[0]
    k = d.bit_length() - 1
    if u.shape != (d, d) or d != 1 << k or k < 1 or k > MAX_CLIFFORD_QUBITS:
        return None
    ud = u.conj().T
    images = []  # generator 2j: X_j, 2j+1: Z_j -> (x, z, sign)
    for j in range(k):
        for x, z in ((1 << j, 0), (0, 1 << j)):
            img = _identify_pauli(u @ _pauli_matrix(x, z, k) @ ud, k)
            if img is None:
                return None
            images.append(img)
    lin = []
    for o in range(2 * k):
        j, is_z = divmod(o, 2)
        mask = 0
        for a, (x, z, _) in enumerate(images):
            if ((z if is_z else x) >> j) & 1:
                mask |= 1 << a
        lin.append(mask)
    # sign of the image of every local Pauli v = ⊗_j i^(x_j z_j) X^x_j Z^z_j:
    # U P_v U^dagger = prod_j i^(x_j z_j) (U X_j U^dagger)^x_j (U Z_j U^dagger)^z_j, in order
    n = 4**k
    table = np.zeros(n, dtype=np.uint8)
    for v in range(n):
        e, x, z = 0, 0, 0
        for j in range(k):
            xj, zj = (v >> (2 * j)) & 1, (v >> (2 * j + 1)) & 1
            e += xj & zj
            for bit, on in ((2 * j, xj), (2 * j + 1, zj)):
                if on:
                    gx, gz, gs = images[bit]
                    e, x, z = _mul(e + 2 * gs, x, z, gx, gz)
        if e % 2:  # the image of a Hermitian Pauli is Hermitian: i^e is real
            return None
        table[v] = (e % 4) // 2
    anf = table.copy()  # Mobius transform over GF(2): truth table -> ANF coefficients
    step = 1
    while step < n:
        for v in range(n):
            if v & step:
                anf[v] ^= anf[v ^ step]
        step <<= 1
    monomials = tuple(int(v) for v in np.flatnonzero(anf))
    return CliffordMap(k, tuple(lin), monomials)


@lru_cache(maxsize=4096)
def gate_clifford_map(name: str, params: tuple[float, ...] = ()) -> CliffordMap | None:
    """``clifford_map`` of a table gate at numeric angles (cached), or ``None``.

    Example:
        >>> import math
        >>> gate_clifford_map("rz", (math.pi / 2,)) == gate_clifford_map("s")
        True
        >>> gate_clifford_map("ccx") is None
        True
    """
    spec = GATES.get(name)
    if spec is None or spec.num_qubits > MAX_CLIFFORD_QUBITS:
        return None
    return clifford_map(gate_matrix(name, params))


def _all_paulis(k: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Every Hermitian Pauli on ``k`` qubits, index ``v`` = the 2k-bit encoding above."""
    mats, masks = [], []
    for v in range(4**k):
        x = z = 0
        for j in range(k):
            x |= ((v >> (2 * j)) & 1) << j
            z |= ((v >> (2 * j + 1)) & 1) << j
        mats.append(_pauli_matrix(x, z, k))
        masks.append((x, z))
    return np.stack(mats), masks


def pauli_channel_probabilities(kraus) -> list[tuple[int, int, float]] | None:
    """``[(x_mask, z_mask, probability), ...]`` of a Pauli channel, or ``None`` when the channel
    is not one.

    A channel ``rho -> sum_K K rho K^dagger`` is a Pauli channel when its chi matrix in the
    Pauli basis, ``chi[P, Q] = sum_K c_K[P] conj(c_K[Q])`` with ``c_K[P] = tr(P K) / d``, is
    diagonal (to ``PAULI_CHANNEL_ATOL``); whatever Kraus form it was given in, it is then
    ``rho -> sum_P chi[P, P] P rho P``. Entries with probability below 1e-15 are dropped. The
    identity comes first.

    Example:
        >>> import numpy as np
        >>> x = np.array([[0, 1], [1, 0]])
        >>> [(xm, zm, round(p, 3)) for xm, zm, p in
        ...  pauli_channel_probabilities([np.sqrt(0.9) * np.eye(2), np.sqrt(0.1) * x])]
        [(0, 0, 0.9), (1, 0, 0.1)]
        >>> pauli_channel_probabilities([np.diag([1, np.sqrt(0.5)]), [[0, np.sqrt(0.5)], [0, 0]]]) is None
        True
    """
    ks = [np.asarray(m, dtype=np.complex128) for m in kraus]
    d = ks[0].shape[0]
    k = d.bit_length() - 1
    if k < 1 or k > MAX_CHANNEL_QUBITS:
        return None
    paulis, masks = _all_paulis(k)
    # c[K, P] = tr(P K) / d  (P Hermitian)
    c = np.einsum("pab,kba->kp", paulis, np.stack(ks)) / d
    chi = c.T @ c.conj()
    off = chi - np.diag(np.diag(chi))
    if np.abs(off).max(initial=0.0) > PAULI_CHANNEL_ATOL:
        return None
    probs = np.diag(chi).real
    total = float(probs.sum())
    if not math.isfinite(total) or abs(total - 1) > 1e-9:
        return None
    return [(x, z, float(p)) for (x, z), p in zip(masks, probs) if p > 1e-15]
