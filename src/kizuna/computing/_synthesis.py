"""Gate synthesis for the transpiler: Euler angles, the two-qubit KAK decomposition and the
multi-controlled gates as CNOT networks.

Everything here works on plain matrices and returns plain lists; ``transpile.py`` owns the
circuit-level passes. Conventions are Kizuna's: a two-qubit matrix is little-endian over its
qubit pair (local qubit 0 is the low bit), so ``np.kron(m1, m0)`` puts ``m0`` on local qubit 0.

* Single-qubit: ``zyz_angles(u)`` gives ``u = e^{iα} Rz(φ) Ry(θ) Rz(λ)``; ``euler_ops`` writes
  that as the gates of one basis (``U3``, ``ZSX``, ``ZYZ``, ``ZXZ``).
* Two-qubit: ``kak(u)`` gives ``u = e^{iα} (A1 ⊗ A0) Can(a, b, c) (B1 ⊗ B0)`` with
  ``Can(a, b, c) = exp(i(a XX + b YY + c ZZ))`` and ``π/4 ≥ a ≥ b ≥ |c|`` (the Weyl chamber).
  The number of CNOT-class gates ``u`` needs is 0 (``a = b = c = 0``), 1 (``(π/4, 0, 0)``),
  2 (``c = 0``) or 3 (Shende, Markov, Bullock, PRA 69, 062321 (2004); Vatan, Williams,
  PRA 69, 032315 (2004)). ``two_qubit_ops`` writes ``u`` with that many copies of any
  entangling gate locally equivalent to CNOT (``cx``, ``cz``, ``ecr``, ...).
* Multi-controlled phase: ``mcphase_ops`` writes ``C^{m-1}P(λ)`` on ``m`` qubits with
  ``2**m - 2`` CNOTs and ``2**m - 1`` phase gates through the identity
  ``x_1 x_2 ... x_m = 2^{1-m} Σ_{S≠∅} (-1)^{|S|+1} ⊕_{i∈S} x_i`` (a Gray-code parity network;
  Barenco et al., PRA 52, 3457 (1995), §7).

This module imports numpy and ``kizuna.core.gates`` only.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..core.gates import gate_matrix

__all__ = [
    "EULER_BASES",
    "KAK",
    "cnot_network",
    "controlled_ops",
    "cx_ops",
    "euler_basis_for",
    "euler_ops",
    "is_cx_class",
    "kak",
    "mcphase_ops",
    "two_qubit_ops",
    "zyz_angles",
]

#: Coordinates of the Weyl chamber closer than this to a special value are snapped to it.
SNAP = 1e-10
#: Rotation angles smaller than this (mod 2π) are dropped.
ANGLE_EPS = 1e-12

_PI = math.pi
_I2 = np.eye(2, dtype=np.complex128)
_X = np.array([[0, 1], [1, 0]], dtype=np.complex128)
_Y = np.array([[0, -1j], [1j, 0]], dtype=np.complex128)
_Z = np.array([[1, 0], [0, -1]], dtype=np.complex128)
_S = np.diag([1, 1j]).astype(np.complex128)
_H = np.array([[1, 1], [1, -1]], dtype=np.complex128) / math.sqrt(2)


def _rx(t):
    return gate_matrix("rx", (t,))


def _ry(t):
    return gate_matrix("ry", (t,))


def _rz(t):
    return gate_matrix("rz", (t,))


def _wrap(angle: float) -> float:
    """``angle`` mapped into (-π, π]."""
    a = math.remainder(angle, 2 * _PI)
    return _PI if a == -_PI else a


# --- one qubit ------------------------------------------------------------------------------------
def zyz_angles(u: np.ndarray) -> tuple[float, float, float, float]:
    """``(θ, φ, λ, α)`` with ``u = e^{iα} Rz(φ) Ry(θ) Rz(λ)`` and ``0 <= θ <= π``.

    Example:
        >>> t, p, l, a = zyz_angles(gate_matrix("h"))
        >>> round(t, 6), round(abs(p), 6), round(l, 6)
        (1.570796, 0.0, 3.141593)
    """
    u = np.asarray(u, dtype=np.complex128)
    det = complex(np.linalg.det(u))
    alpha = 0.5 * math.atan2(det.imag, det.real)
    v = u * np.exp(-1j * alpha)  # in SU(2): [[a, -b*], [b, a*]]
    theta = 2 * math.atan2(abs(v[1, 0]), abs(v[1, 1]))
    s = math.atan2(v[1, 1].imag, v[1, 1].real)  # (φ + λ) / 2
    d = math.atan2(v[1, 0].imag, v[1, 0].real)  # (φ - λ) / 2
    return theta, s + d, s - d, alpha


#: Supported single-qubit bases: name -> the gate sets that provide it (first match wins).
EULER_BASES = ("U3", "ZSX", "ZYZ", "ZXZ")


def euler_basis_for(basis_gates) -> tuple[str, str] | None:
    """The Euler basis a gate set supports and its z-rotation gate, as ``(kind, zgate)``.

    ``kind`` is ``"U3"`` (``u3`` or ``u`` present; ``zgate`` is then that gate), ``"ZSX"``
    (a z rotation and ``sx``), ``"ZYZ"`` (z and ``ry``) or ``"ZXZ"`` (z and ``rx``); the z
    rotation is ``rz``, else ``p``, else ``u1``. ``None`` if no universal single-qubit set
    is present.

    Example:
        >>> euler_basis_for(("rz", "sx", "x", "cx"))
        ('ZSX', 'rz')
    """
    names = set(basis_gates)
    for g in ("u3", "u"):
        if g in names:
            return "U3", g
    z = next((g for g in ("rz", "p", "u1") if g in names), None)
    if z is None:
        return None
    if "sx" in names:
        return "ZSX", z
    if "ry" in names:
        return "ZYZ", z
    if "rx" in names:
        return "ZXZ", z
    return None


def _small(angle: float) -> bool:
    return abs(_wrap(angle)) < ANGLE_EPS


def euler_ops(u: np.ndarray, kind: str, zgate: str = "rz", *, has_x: bool = False) -> list[tuple[str, tuple]]:
    """Native gates ``[(name, params), ...]`` in time order equal to ``u`` up to global phase.

    Args:
        u: a 2x2 unitary.
        kind: ``"U3"``, ``"ZSX"``, ``"ZYZ"`` or ``"ZXZ"`` (see ``euler_basis_for``).
        zgate: the z-rotation gate name (``rz``, ``p`` or ``u1``; for ``U3`` the u3 gate name).
        has_x: ``x`` is native (``ZSX`` then writes θ = π with one ``x``).

    An identity (up to phase) gives ``[]``. ``ZSX`` uses at most two ``sx`` and three z
    rotations: ``Rz(φ+π) SX Rz(θ-π) SX Rz(λ)``, one ``sx`` when θ = π/2, none when θ = 0.

    Example:
        >>> [(name, [round(p, 6) for p in params]) for name, params in euler_ops(gate_matrix("h"), "ZSX")]
        [('rz', [1.570796]), ('sx', []), ('rz', [1.570796])]
    """
    theta, phi, lam, _ = zyz_angles(u)
    if kind == "U3":
        if abs(theta) < ANGLE_EPS and _small(phi + lam):
            return []
        return [(zgate, (theta, _wrap(phi), _wrap(lam)))]

    def z(angle) -> list:
        return [] if _small(angle) else [(zgate, (_wrap(angle),))]

    if abs(theta) < ANGLE_EPS:
        return z(phi + lam)
    if kind == "ZYZ":
        return z(lam) + [("ry", (theta,))] + z(phi)
    if kind == "ZXZ":
        return z(lam - _PI / 2) + [("rx", (theta,))] + z(phi + _PI / 2)
    if kind != "ZSX":
        raise ValueError(f"unknown Euler basis {kind!r}; expected one of {EULER_BASES}")
    if abs(theta - _PI / 2) < ANGLE_EPS:
        return z(lam - _PI / 2) + [("sx", ())] + z(phi + _PI / 2)
    if has_x and abs(theta - _PI) < ANGLE_EPS:
        # Rz(φ) Ry(π) Rz(λ) ∝ Rz(φ - λ + π) X
        return [("x", ())] + z(phi - lam + _PI)
    return z(lam) + [("sx", ())] + z(theta - _PI) + [("sx", ())] + z(phi + _PI)


# --- two qubits -----------------------------------------------------------------------------------
# The magic basis (columns): local unitaries become real orthogonal matrices and XX, YY, ZZ
# become diagonal in it (Kraus, Cirac, PRA 63, 062309 (2001)).
_B = np.array([[1, 0, 0, 1j], [0, 1j, 1, 0], [0, 1j, -1, 0], [1, 0, 0, -1j]], dtype=np.complex128) / math.sqrt(2)
_BH = _B.conj().T
_XX, _YY, _ZZ = (np.kron(p, p) for p in (_X, _Y, _Z))
# diag(B† P B) for P = XX, YY, ZZ: the signs with which a, b, c enter each eigenphase
_SIGNS = np.array([np.diag(_BH @ p @ _B).real.round() for p in (_XX, _YY, _ZZ)])
_SOLVE = np.linalg.inv(np.column_stack([np.ones(4), *_SIGNS]))


def _kron(m1: np.ndarray, m0: np.ndarray) -> np.ndarray:
    """``m0`` on local qubit 0 (low bit), ``m1`` on local qubit 1."""
    return np.kron(m1, m0)


def canonical_gate(a: float, b: float, c: float) -> np.ndarray:
    """``exp(i(a XX + b YY + c ZZ))`` (XX, YY, ZZ commute, so it is diagonal in the magic basis)."""
    phases = np.exp(1j * (a * _SIGNS[0] + b * _SIGNS[1] + c * _SIGNS[2]))
    return _B @ np.diag(phases) @ _BH


class KAK:
    """``u = e^{i phase} · left · Can(a, b, c) · right`` with ``left``, ``right`` local 4x4
    matrices, ``π/4 >= a >= b >= |c|``.

    Attributes:
        a, b, c: the Weyl-chamber coordinates.
        phase: global phase (radians).
        left, right: ``(m0, m1)`` pairs of 2x2 unitaries on local qubits 0 and 1.
        num_cx: CNOT-class gates needed (0-3), with coordinates within ``SNAP`` of a special
            value counted as that value.
    """

    __slots__ = ("a", "b", "c", "left", "num_cx", "phase", "right")

    def __init__(self, a, b, c, phase, left, right):
        self.a, self.b, self.c, self.phase = float(a), float(b), float(c), float(phase)
        self.left, self.right = left, right
        if a < SNAP:
            self.num_cx = 0
        elif abs(a - _PI / 4) < SNAP and b < SNAP:
            self.num_cx = 1
        elif abs(c) < SNAP:
            self.num_cx = 2
        else:
            self.num_cx = 3


def _factor_local(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``m = kron(m1, m0)`` -> ``(m0, m1)``, each scaled to be unitary (phase shared out)."""
    r = m.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)  # [(i1 j1), (i0 j0)], rank 1
    row, col = divmod(int(np.argmax(np.abs(r))), 4)
    m1 = r[:, col].reshape(2, 2)
    m0 = r[row, :].reshape(2, 2) / r[row, col]
    d1 = complex(m1[0, 0] * m1[1, 1] - m1[0, 1] * m1[1, 0])
    scale = np.sqrt(d1)  # make m1 special unitary, move the scale onto m0
    return m0 * scale, m1 / scale


def _diagonalise_symmetric_unitary(m: np.ndarray) -> np.ndarray:
    """A real orthogonal ``P`` (det +1) with ``P^T m P`` diagonal, for symmetric unitary ``m``.

    Re(m) and Im(m) are commuting real symmetric matrices; a generic real combination of
    them has their common eigenbasis. The combinations come from a fixed sequence, so the
    result is deterministic.
    """
    for x, y in ((1.0, 0.5387), (0.3821, 1.0), (1.0, -0.7163), (-0.2289, 1.0), (0.8112, 0.6021)):
        _, p = np.linalg.eigh(x * m.real + y * m.imag)
        d = p.T @ m @ p
        off = d - np.diag(np.diag(d))
        if np.abs(off).max() < 1e-11:
            if np.linalg.det(p) < 0:
                p[:, 0] = -p[:, 0]
            return p
    raise ArithmeticError("KAK: could not diagonalise U^T U in the magic basis")  # pragma: no cover


_PP = (_XX, _YY, _ZZ)
# conjugation by S⊗S swaps (a, b); by Rx(π/2)⊗Rx(π/2) swaps (b, c); by H⊗H swaps (a, c)
_SWAPPERS = {
    (i, j): (w, w.conj().T)
    for (i, j), w in {
        (0, 1): _kron(_S, _S),
        (1, 2): _kron(_rx(_PI / 2), _rx(_PI / 2)),
        (0, 2): _kron(_H, _H),
    }.items()
}
# conjugation by Z⊗I flips the signs of (a, b), by Y⊗I (a, c), by X⊗I (b, c)
_FLIPPERS = {(0, 1): _kron(_Z, _I2), (0, 2): _kron(_Y, _I2), (1, 2): _kron(_X, _I2)}


def kak(u: np.ndarray) -> KAK:
    """The KAK (Cartan) decomposition of a 4x4 unitary, canonicalised to the Weyl chamber.

    Cost: a few 4x4 eigen/SVD problems (tens of microseconds).

    Example:
        >>> d = kak(gate_matrix("cx"))
        >>> d.num_cx, round(d.a, 6), round(d.b, 6), round(abs(d.c), 6)
        (1, 0.785398, 0.0, 0.0)
        >>> kak(gate_matrix("swap")).num_cx
        3
    """
    u = np.asarray(u, dtype=np.complex128)
    det = complex(np.linalg.det(u))
    phase = math.atan2(det.imag, det.real) / 4
    up = _BH @ (u * np.exp(-1j * phase)) @ _B  # special unitary, in the magic basis
    m2 = up.T @ up
    p = _diagonalise_symmetric_unitary(m2)
    d = np.diag(p.T @ m2 @ p)
    theta = np.angle(d) / 2
    if np.real(np.prod(np.exp(1j * theta))) < 0:
        theta[0] += _PI
    k1 = up @ p @ np.diag(np.exp(-1j * theta))  # real orthogonal
    left = _B @ k1 @ _BH
    right = _B @ p.T @ _BH
    g, a, b, c = _SOLVE @ theta
    phase += g
    # Canonicalise (a, b, c) with local moves, keeping u = e^{i phase} left Can right exact.
    coords = [a, b, c]

    def shift(i):  # bring coords[i] into [-π/4, π/4] using exp(iπ/2 P⊗P) = i P⊗P
        nonlocal right, phase
        k = round(coords[i] / (_PI / 2))
        if k:
            coords[i] -= k * _PI / 2
            if k % 2:
                right = _PP[i] @ right
            phase += k * _PI / 2

    for i in range(3):
        shift(i)
    def swap(i, j):  # Can(.., x_i, .., x_j, ..) = W† Can(.., x_j, .., x_i, ..) W
        nonlocal left, right
        w, wh = _SWAPPERS[(i, j)]
        coords[i], coords[j] = coords[j], coords[i]
        left = left @ wh
        right = w @ right

    for i, j in ((0, 1), (1, 2), (0, 1)):
        if abs(coords[i]) < abs(coords[j]):
            swap(i, j)
    def flip(i, j):
        nonlocal left, right
        f = _FLIPPERS[(i, j)]
        coords[i], coords[j] = -coords[i], -coords[j]
        left = left @ f
        right = f @ right

    if coords[0] < 0:
        flip(0, 2)
    if coords[1] < 0:
        flip(1, 2)
    a, b, c = coords
    return KAK(a, b, c, phase, _factor_local(left), _factor_local(right))


def is_cx_class(u: np.ndarray) -> bool:
    """True when ``u`` is locally equivalent to CNOT (Weyl coordinates (π/4, 0, 0))."""
    return kak(u).num_cx == 1


@lru_cache(maxsize=64)
def _kak_cached(key: bytes) -> KAK:
    return kak(np.frombuffer(key, dtype=np.complex128).reshape(4, 4))


def kak_cached(u: np.ndarray) -> KAK:
    """``kak(u)``, memoised on the matrix's bytes (blocks repeat: swaps, cx, cp(π/2^k))."""
    return _kak_cached(np.ascontiguousarray(u, dtype=np.complex128).tobytes())


# Templates in time order: ("1q", local qubit, matrix) and ("cx", control, target), each
# equal to Can(a, b, c) up to a global phase (checked by the tests).
def _template(num_cx: int, a: float, b: float, c: float) -> list[tuple]:
    if num_cx == 0:
        return []
    if num_cx == 1:
        # exp(iπ/4 XX) = (H⊗H) exp(iπ/4 ZZ) (H⊗H) and exp(iπ/4 ZZ) ∝ CZ (S†⊗S†), CZ = H_1 CX H_1
        sdg = _S.conj()
        return [
            ("1q", 0, sdg @ _H),
            ("1q", 1, _H @ sdg @ _H),
            ("cx", 0, 1),
            ("1q", 0, _H),
        ]
    if num_cx == 2:
        # exp(i(a XX + b YY)) = V† CX (e^{iaX}⊗e^{ibZ}) CX V with V = Rx(π/2)⊗Rx(π/2)
        v, vd = _rx(_PI / 2), _rx(-_PI / 2)
        return [
            ("1q", 0, v),
            ("1q", 1, v),
            ("cx", 0, 1),
            ("1q", 0, _rx(-2 * a)),
            ("1q", 1, _rz(-2 * b)),
            ("cx", 0, 1),
            ("1q", 0, vd),
            ("1q", 1, vd),
        ]
    # three CNOTs (the circuit of Vatan & Williams, Fig. 6, in Kizuna's conventions)
    return [
        ("1q", 1, _rz(-_PI / 2)),
        ("cx", 1, 0),
        ("1q", 0, _rz(-2 * c - _PI / 2)),
        ("1q", 1, _ry(2 * a + _PI / 2)),
        ("cx", 0, 1),
        ("1q", 1, _ry(-2 * b - _PI / 2)),
        ("cx", 1, 0),
        ("1q", 0, _rz(_PI / 2)),
    ]


# CX(0→1) through the common entanglers with few, native single-qubit gates, as
# (pre on 0, pre on 1, post on 0, post on 1); found by a search over short products of
# rz(±π/2), rz(π), sx, sxdg and x, checked in the tests.
_NICE_CX = {
    "cx": (_I2, _I2, _I2, _I2),
    "cz": (_I2, _H, _I2, _H),
    "ecr": (_X, gate_matrix("sx"), _rz(_PI / 2), _I2),
}


@lru_cache(maxsize=16)
def _cx_from_entangler(entangler_key: bytes) -> tuple:
    """``CX(0→1) ∝ (P1⊗P0) E (Q1⊗Q0)`` for an entangler ``E`` of CNOT class: ``(Q0, Q1, P0, P1)``."""
    e = np.frombuffer(entangler_key, dtype=np.complex128).reshape(4, 4)
    for name, locals_ in _NICE_CX.items():
        if np.array_equal(e, gate_matrix(name)):
            return locals_
    ke, kc = kak(e), kak(gate_matrix("cx"))
    # Can = e^{-iφe} Le† E Re†, so CX = e^{i(φc-φe)} Lc Le† E Re† Rc (Rc acts first)
    pre = tuple(ke.right[q].conj().T @ kc.right[q] for q in (0, 1))
    post = tuple(kc.left[q] @ ke.left[q].conj().T for q in (0, 1))
    return pre + post


def cx_ops(entangler: np.ndarray) -> list[tuple]:
    """``CX(0→1)`` as ``("1q", q, m)`` and ``("2q", 0, 1)`` steps through ``entangler``.

    Example:
        >>> [op[0] for op in cx_ops(gate_matrix("ecr"))]
        ['1q', '1q', '2q', '1q', '1q']
    """
    q0, q1, p0, p1 = _cx_from_entangler(np.ascontiguousarray(entangler, dtype=np.complex128).tobytes())
    return [("1q", 0, q0), ("1q", 1, q1), ("2q", 0, 1), ("1q", 0, p0), ("1q", 1, p1)]


def two_qubit_ops(u: np.ndarray, entangler: np.ndarray | None = None, decomposition: KAK | None = None) -> list[tuple]:
    """``u`` (4x4, little-endian over local qubits 0, 1) as single-qubit matrices and entangling
    gates, up to global phase, with the fewest entangling gates (0-3). With CNOT as the
    entangler, at the Weyl points of two crossed CNOTs (π/4, π/4, 0) and of the SWAP
    (π/4, π/4, -π/4) the CNOTs run back to back, with single-qubit gates only before and
    after them (``_bare_networks``).

    Args:
        u: the unitary.
        entangler: a 4x4 gate locally equivalent to CNOT (default: CNOT itself).
        decomposition: ``kak(u)`` if already known.

    Returns:
        Time-ordered ``("1q", q, m)`` (2x2 matrix ``m`` on local qubit ``q``) and
        ``("2q", q_first, q_second)`` (the entangler with its first argument on
        ``q_first``).

    Example:
        >>> ops = two_qubit_ops(gate_matrix("cz"))
        >>> sum(op[0] == "2q" for op in ops)
        1
    """
    d = decomposition if decomposition is not None else kak(u)
    if entangler is None:
        cx_pre = cx_post = None
    else:
        q0, q1, p0, p1 = _cx_from_entangler(np.ascontiguousarray(entangler, dtype=np.complex128).tobytes())
        cx_pre, cx_post = (q0, q1), (p0, p1)
    if d.num_cx == 1:
        a, b, c = _PI / 4, 0.0, 0.0
    elif d.num_cx == 0:
        a = b = c = 0.0
    else:
        a, b, c = d.a, d.b, (0.0 if d.num_cx == 2 else d.c)
    right, left, body = d.right, d.left, None
    # only where the entangler is CNOT itself: through another entangler each CNOT brings
    # fixed single-qubit gates of its own, which the general template's merge a little better
    bare = _bare_networks() if cx_pre is None or np.array_equal(entangler, _CX_LOCAL[(0, 1)]) else ()
    for t, network in bare:
        if t.num_cx == d.num_cx and max(abs(t.a - d.a), abs(t.b - d.b), abs(t.c - d.c)) < 1e-9:
            # u ∝ L Can R and network ∝ P Can Q, so u ∝ (L P†) network (Q† R): CNOTs with
            # nothing between them (a cx·SWAP block dressed in single-qubit gates)
            right = tuple(t.right[q].conj().T @ d.right[q] for q in (0, 1))
            left = tuple(d.left[q] @ t.left[q].conj().T for q in (0, 1))
            body = [("cx", ctl, tgt) for ctl, tgt in network]
            break
    if body is None:
        body = _template(d.num_cx, a, b, c)
    ops: list[tuple] = [("1q", 0, right[0]), ("1q", 1, right[1])]
    for step in body:
        if step[0] == "1q":
            ops.append(step)
            continue
        _, ctl, tgt = step
        if cx_pre is None:
            ops.append(("2q", ctl, tgt))
        else:  # CX(ctl→tgt) through the entangler on (ctl, tgt)
            ops.append(("1q", ctl, cx_pre[0]))
            ops.append(("1q", tgt, cx_pre[1]))
            ops.append(("2q", ctl, tgt))
            ops.append(("1q", ctl, cx_post[0]))
            ops.append(("1q", tgt, cx_post[1]))
    ops.append(("1q", 0, left[0]))
    ops.append(("1q", 1, left[1]))
    return ops


@lru_cache(maxsize=1)
def _bare_networks() -> tuple:
    """``(kak(N), N)`` for the CNOT networks ``N`` whose Weyl point is not the one-CNOT
    point: two crossed CNOTs (π/4, π/4, 0) and the SWAP (π/4, π/4, π/4). A block at one of
    these points is that network between single-qubit layers, with none in the middle."""
    out = []
    for network in (((0, 1), (1, 0)), ((0, 1), (1, 0), (0, 1))):
        m = np.eye(4, dtype=np.complex128)
        for ctl, tgt in network:
            m = _CX_LOCAL[(ctl, tgt)] @ m
        out.append((kak(m), network))
    return tuple(out)


_CX_LOCAL = {
    (0, 1): gate_matrix("cx"),
    (1, 0): np.asarray(gate_matrix("swap") @ gate_matrix("cx") @ gate_matrix("swap")),
}


def _cnot_perm(steps) -> tuple[int, ...]:
    """Where each basis state ``i`` (local qubit 0 the low bit) goes under CNOTs ``steps``."""
    out = []
    for i in range(4):
        bits = [i & 1, i >> 1]
        for ctl, tgt in steps:
            bits[tgt] ^= bits[ctl]
        out.append(bits[0] | bits[1] << 1)
    return tuple(out)


#: The six invertible linear maps of two bits, each with its shortest CNOT circuit.
_CNOT_NETWORKS = {
    _cnot_perm(steps): steps
    for steps in (
        (),
        ((0, 1),),
        ((1, 0),),
        ((0, 1), (1, 0)),
        ((1, 0), (0, 1)),
        ((0, 1), (1, 0), (0, 1)),
    )
}


def cnot_network(u: np.ndarray, *, atol: float = 1e-9) -> tuple[tuple[int, int], ...] | None:
    """The shortest CNOT circuit equal to ``u`` up to global phase, as time-ordered
    ``(control, target)`` local-qubit pairs, when ``u`` permutes the basis states by an
    invertible linear map of the two bits (a product of CNOTs and SWAPs: ``cx`` then SWAP is
    ``((1, 0), (0, 1))``); ``None`` otherwise. Writing such a block with CNOTs alone needs no
    single-qubit gates, which the general KAK template would add.

    Example:
        >>> swap_after_cx = gate_matrix("swap") @ gate_matrix("cx")
        >>> cnot_network(swap_after_cx)
        ((1, 0), (0, 1))
        >>> cnot_network(gate_matrix("cz")) is None
        True
    """
    u = np.asarray(u, dtype=np.complex128)
    rows = np.argmax(np.abs(u), axis=0)
    phase = u[rows[0], 0]
    if abs(abs(phase) - 1) > atol:
        return None
    perm = np.zeros((4, 4), dtype=np.complex128)
    perm[rows, np.arange(4)] = phase
    if not np.allclose(u, perm, atol=atol):
        return None
    return _CNOT_NETWORKS.get(tuple(int(r) for r in rows))


def controlled_ops(u: np.ndarray, *, atol: float = 1e-9) -> list[tuple] | None:
    """``u`` as a controlled gate, when it is one up to a gate on its target: one qubit (the
    control) is never flipped, so ``u = CW · (I ⊗ V0)`` (``V0`` acts on the target when the
    control is |0>, ``V1 = W V0`` when it is |1>). Written with Barenco et al.'s two-CNOT
    circuit (PRA 52, 3457 (1995), Lemma 5.1): ``W = e^{iα} A X B X C`` with ``ABC = I``, so
    ``CW = P(α)_c · A_t CX B_t CX C_t``: the control gets one phase gate (a z rotation)
    instead of the general KAK template's single-qubit gates on both sides, which saves
    depth. ``None`` when neither qubit is a control.

    Returns:
        Time-ordered ``("1q", q, m)`` and ``("cx", control, target)`` steps over local
        qubits 0, 1 (equal to ``u`` up to global phase), with two CNOTs.

    Example:
        >>> ops = controlled_ops(gate_matrix("cp", [0.3]))
        >>> [op[0] for op in ops]
        ['1q', 'cx', '1q', 'cx', '1q', '1q']
    """
    u = np.asarray(u, dtype=np.complex128)
    for ctl in (1, 0):
        # ctl = 1: the high bit never flips, blocks u[:2, :2] and u[2:, 2:]; ctl = 0: the low bit
        idx0, idx1 = ((0, 1), (2, 3)) if ctl == 1 else ((0, 2), (1, 3))
        off = max(abs(u[i, j]) for i in idx0 for j in idx1) + max(abs(u[i, j]) for i in idx1 for j in idx0)
        if off > atol:
            continue
        v0 = u[np.ix_(idx0, idx0)]
        v1 = u[np.ix_(idx1, idx1)]
        w = v1 @ v0.conj().T
        gamma, beta, delta, alpha = zyz_angles(w)
        a = _rz(beta) @ _ry(gamma / 2)
        b = _ry(-gamma / 2) @ _rz(-(delta + beta) / 2)
        c = _rz((delta - beta) / 2)
        tgt = 1 - ctl
        return [
            ("1q", tgt, c @ v0),
            ("cx", ctl, tgt),
            ("1q", tgt, b),
            ("cx", ctl, tgt),
            ("1q", tgt, a),
            ("1q", ctl, np.diag([1.0, np.exp(1j * alpha)])),
        ]
    return None


# --- multi-qubit gates as CNOT networks ---------------------------------------------------------
def mcphase_ops(lam: float, qubits) -> list[tuple]:
    """``C^{m-1}P(λ)`` on ``qubits`` (all symmetric: the phase e^{iλ} lands on |1...1>) as
    ``("p", q, angle)`` and ``("cx", control, target)`` steps, ``2**m - 2`` CNOTs.

    Example:
        >>> sum(s[0] == "cx" for s in mcphase_ops(math.pi, [0, 1, 2]))
        6
    """
    qubits = list(qubits)
    m = len(qubits)
    scale = lam / (1 << (m - 1))
    out: list[tuple] = []
    for j in range(m):
        tj = qubits[j]
        prev = 0
        for i in range(1 << j):
            gray = i ^ (i >> 1)
            if i:
                out.append(("cx", qubits[(gray ^ prev).bit_length() - 1], tj))
            size = 1 + gray.bit_count()
            out.append(("p", tj, scale if size % 2 else -scale))
            prev = gray
        if j:
            out.append(("cx", qubits[j - 1], tj))  # the Gray code ends on {j-1}: undo it
    return out
