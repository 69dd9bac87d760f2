"""Quantum channels in Kraus form and single-qubit readout errors.

A ``Channel`` on ``k`` qubits is a tuple of ``2**k x 2**k`` Kraus matrices ``K_i`` with
``sum_i K_i^dagger K_i = I`` (trace preserving; complete positivity is built into the Kraus
form). It maps ``rho -> sum_i K_i rho K_i^dagger``.

Conventions:

* **Qubit order.** A channel's matrices are little-endian over the qubits it is applied to:
  applied to ``(a, b)``, qubit ``a`` has weight 1 and ``b`` weight 2 in the matrix index (as
  gate matrices in ``kizuna.core.gates``). A Pauli label ``"XZ"`` puts ``Z`` on the first
  qubit (``a``) and ``X`` on the second (the label is read right to left, as Qiskit).
* **Vectorisation.** ``superop()`` acts on column-stacked density matrices,
  ``vec(rho)[i + d*j] = rho[i, j]``, so ``vec(K rho K^dagger) = (conj(K) ⊗ K) vec(rho)``
  (numpy ``kron``) -- the convention of ``qiskit.quantum_info.SuperOp``.
* **Choi matrix.** ``choi() = sum_ij |i><j| ⊗ E(|i><j|)``, input on the high index, output on
  the low one (``qiskit.quantum_info.Choi``); its trace is ``d``.
* **Readout.** ``ReadoutError.matrix[i, j] = P(record i | true outcome j)``; its columns sum
  to 1 (this is the transpose of Qiskit's ``ReadoutError.probabilities``).

Constructors: ``depolarizing``, ``pauli_channel``, ``bit_flip``, ``phase_flip``,
``amplitude_damping`` (optionally generalised, with an excited-state population),
``phase_damping``, ``thermal_relaxation`` (``T2 <= 2 T1`` enforced), ``reset_error`` and
``readout_error``. ``Channel.identity``, ``Channel.from_unitary``, ``Channel.from_choi`` and
``Channel.from_superop`` build channels from other representations.

This module imports numpy and ``kizuna.errors`` only.
"""

from __future__ import annotations

import functools
import itertools
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import ChannelError

__all__ = [
    "Channel",
    "ChannelError",
    "ReadoutError",
    "amplitude_damping",
    "bit_flip",
    "depolarizing",
    "pauli_channel",
    "phase_damping",
    "phase_flip",
    "readout_error",
    "reset_error",
    "thermal_relaxation",
]

#: Largest ``sum K^dagger K - I`` entry accepted as trace preserving.
TP_ATOL = 1e-9
#: Most negative Choi eigenvalue accepted as completely positive (scaled by the dimension).
CP_ATOL = 1e-9
#: The widest channel the Pauli-based constructors build (4**k Kraus matrices of 2**k x 2**k).
MAX_PAULI_QUBITS = 6


# --- small helpers ---------------------------------------------------------------------------
def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _real(value, name: str) -> float:
    """``value`` as a float, or a ChannelError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ChannelError(f"{name} must be a real number (got {value!r})")
    x = float(value)
    if math.isnan(x):
        raise ChannelError(f"{name} must be a real number (got nan)")
    return x


def _probability(value, name: str, upper: float = 1.0) -> float:
    x = _real(value, name)
    if not 0.0 <= x <= upper:
        raise ChannelError(f"{name} must be in [0, {upper:g}] (got {x!r})")
    return x


def _unvec(v: np.ndarray, d: int) -> np.ndarray:
    return v.reshape(d, d, order="F")


def _kraus_from_choi(choi: np.ndarray, d: int) -> list[np.ndarray]:
    """Orthogonal Kraus matrices (the fewest possible) from a Hermitian PSD Choi matrix."""
    w, v = np.linalg.eigh((choi + choi.conj().T) / 2)
    scale = max(float(w.max(initial=0.0)), 1.0)
    ops = [math.sqrt(lam) * _unvec(v[:, i], d) for i, lam in enumerate(w) if lam > 1e-14 * scale]
    return ops[::-1]  # largest weight first


def _prune(ops) -> list[np.ndarray]:
    """Drop exactly-zero (or negligibly small) Kraus matrices, keeping at least one."""
    kept = [k for k in ops if float(np.vdot(k, k).real) > 1e-28]
    return kept or list(ops[:1])


def _choi_of(ops: np.ndarray) -> np.ndarray:
    """``sum_i vec(K_i) vec(K_i)^dagger`` for a stack of Kraus matrices."""
    vs = ops.transpose(0, 2, 1).reshape(len(ops), -1)  # row i = column-stacked K_i
    return vs.T @ vs.conj()


_PAULI = {
    "I": np.eye(2, dtype=np.complex128),
    "X": np.array([[0, 1], [1, 0]], dtype=np.complex128),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=np.complex128),
    "Z": np.array([[1, 0], [0, -1]], dtype=np.complex128),
}


@functools.lru_cache(maxsize=4096)
def _pauli_matrix(label: str) -> np.ndarray:
    """The matrix of a Pauli label; ``label[-1]`` acts on qubit 0 (the least significant bit)."""
    out = np.ones((1, 1), dtype=np.complex128)
    for ch in label:  # numpy kron: the first factor is the most significant
        out = np.kron(out, _PAULI[ch])
    return _readonly(out)


def _check_pauli_qubits(num_qubits, what: str) -> int:
    if isinstance(num_qubits, bool) or not isinstance(num_qubits, numbers.Integral):
        raise ChannelError(f"num_qubits of {what} must be an integer (got {num_qubits!r})")
    if not 1 <= num_qubits <= MAX_PAULI_QUBITS:
        raise ChannelError(
            f"num_qubits of {what} must be in [1, {MAX_PAULI_QUBITS}] (got {num_qubits}); the "
            f"channel has 4**num_qubits Kraus matrices"
        )
    return int(num_qubits)


def _complex_to_json(m: np.ndarray) -> list:
    # "+ 0.0" turns -0.0 into 0.0, so equal matrices always print (and hash) the same
    return [[[z.real + 0.0, z.imag + 0.0] for z in row] for row in m.tolist()]


def _complex_from_json(data) -> np.ndarray:
    a = np.asarray(data, dtype=np.float64)
    if a.ndim != 3 or a.shape[2] != 2:
        raise ChannelError(f"a complex matrix is stored as rows of [re, im] pairs (got shape {a.shape})")
    out = np.empty(a.shape[:2], dtype=np.complex128)
    out.real, out.imag = a[..., 0], a[..., 1]
    return out


# --- the channel type ------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Channel:
    """A completely positive, trace-preserving map in Kraus form.

    The map is ``rho -> sum_i K_i rho K_i^dagger``, checked trace preserving on construction
    (``max |sum_i K_i^dagger K_i - I| <= 1e-9``). The Kraus matrices are stored as read-only
    complex128 arrays, little-endian over the qubits the channel is applied to.

    Attributes:
        kraus: the Kraus matrices, each ``2**num_qubits`` square complex128, little-endian over
            the qubits the channel acts on. A single 2-D array or a 3-D stack is accepted too.
        name: a short label (``"depolarizing(0.01)"``), kept through JSON.

    Raises:
        ChannelError: no matrices, shapes that are not ``2**k x 2**k`` (``k >= 1``) and equal,
            non-finite entries, or matrices that are not trace preserving (the message gives
            the deviation).

    Example:
        >>> import numpy as np
        >>> ch = Channel((np.sqrt(0.9) * np.eye(2), np.sqrt(0.1) * np.array([[0, 1], [1, 0]])),
        ...              name="bit_flip(0.1)")
        >>> ch.num_qubits, len(ch.kraus)
        (1, 2)
        >>> ch.apply(np.diag([1.0, 0.0])).real.round(3)
        array([[0.9, 0. ],
               [0. , 0.1]])
    """

    kraus: tuple[np.ndarray, ...]
    name: str = "kraus"
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        raw = self.kraus
        if isinstance(raw, np.ndarray):
            raw = (raw,) if raw.ndim == 2 else tuple(raw)
        try:
            ops = tuple(np.array(k, dtype=np.complex128) for k in raw)
        except (TypeError, ValueError) as exc:
            raise ChannelError(f"kraus must be a sequence of square complex matrices ({exc})") from None
        if not isinstance(self.name, str):
            raise ChannelError(f"channel name must be a string (got {self.name!r})")
        if not ops:
            raise ChannelError("a channel needs at least one Kraus matrix (got none)")
        dim = ops[0].shape[0] if ops[0].ndim == 2 else 0
        shapes = sorted({k.shape for k in ops})
        if dim < 2 or dim & (dim - 1) or any(k.shape != (dim, dim) for k in ops):
            raise ChannelError(
                f"Kraus matrices must all be 2**k x 2**k with k >= 1 (got shapes {shapes})"
            )
        stack = np.stack(ops)
        if not np.isfinite(stack).all():
            raise ChannelError(f"Kraus matrices of channel {self.name!r} hold non-finite entries")
        total = np.einsum("kai,kaj->ij", stack.conj(), stack)
        dev = float(np.abs(total - np.eye(dim)).max())
        if not dev <= TP_ATOL:
            raise ChannelError(
                f"channel {self.name!r} is not trace preserving: max |sum K^dagger K - I| = "
                f"{dev:.3g} (expected <= {TP_ATOL:g})"
            )
        object.__setattr__(self, "kraus", tuple(_readonly(k) for k in ops))

    # --- basic properties ---------------------------------------------------------------------
    @property
    def num_qubits(self) -> int:
        """How many qubits the channel acts on."""
        return self.kraus[0].shape[0].bit_length() - 1

    @property
    def dim(self) -> int:
        """The Hilbert-space dimension ``2**num_qubits``."""
        return self.kraus[0].shape[0]

    def __repr__(self) -> str:
        n = self.num_qubits
        return f"Channel({self.name!r}, {n} qubit{'s' if n != 1 else ''}, {len(self.kraus)} Kraus)"

    def __eq__(self, other) -> bool:
        """Same name and identical Kraus matrices (the representation, not just the map; see
        ``equiv`` for equality of maps)."""
        if not isinstance(other, Channel):
            return NotImplemented
        return (
            self.name == other.name
            and len(self.kraus) == len(other.kraus)
            and all(np.array_equal(a, b) for a, b in zip(self.kraus, other.kraus))
        )

    def __hash__(self) -> int:
        return hash((self.name, self.dim, len(self.kraus)))

    def equiv(self, other: Channel, atol: float = 1e-10) -> bool:
        """True when both channels are the same map (superoperators equal to ``atol``),
        whatever their Kraus representations."""
        if not isinstance(other, Channel):
            raise ChannelError(f"equiv needs a Channel (got {type(other).__name__})")
        return self.dim == other.dim and bool(np.allclose(self.superop(), other.superop(), atol=atol, rtol=0))

    # --- representations ----------------------------------------------------------------------
    def superop(self) -> np.ndarray:
        """The ``4**k x 4**k`` superoperator ``S = sum_i conj(K_i) ⊗ K_i`` (read-only).

        It acts on column-stacked density matrices: ``vec(rho)[i + d*j] = rho[i, j]`` and
        ``vec(E(rho)) = S @ vec(rho)`` (Qiskit's ``SuperOp`` convention). Cost: O(16**k) memory.

        Example:
            >>> depolarizing(0.3).superop().real.round(2)[0]
            array([0.85, 0.  , 0.  , 0.15])
        """
        s = self._cache.get("superop")
        if s is None:
            d = self.dim
            ks = np.stack(self.kraus)
            # kron(conj(K), K)[(j*d + i), (b*d + a)] = conj(K[j, b]) K[i, a]
            s = np.einsum("kjb,kia->jiba", ks.conj(), ks).reshape(d * d, d * d)
            self._cache["superop"] = s = _readonly(np.ascontiguousarray(s))
        return s

    def choi(self) -> np.ndarray:
        """The ``4**k x 4**k`` Choi matrix ``sum_ij |i><j| ⊗ E(|i><j|)`` (read-only).

        The input system is on the high half of the index, the output on the low half
        (``choi[a + d*b, a' + d*b'] = sum_i K_i[a, b] conj(K_i[a', b'])``, as Qiskit's ``Choi``).
        It is positive semidefinite with trace ``d``.

        Example:
            >>> float(np.trace(amplitude_damping(0.2).choi()).real)
            2.0
        """
        c = self._cache.get("choi")
        if c is None:
            self._cache["choi"] = c = _readonly(_choi_of(np.stack(self.kraus)))
        return c

    def apply(self, rho) -> np.ndarray:
        """``sum_i K_i rho K_i^dagger`` for a ``d x d`` density matrix on the channel's qubits.

        Raises:
            ChannelError: ``rho`` is not ``d x d``.
        """
        rho = np.asarray(rho, dtype=np.complex128)
        if rho.shape != (self.dim, self.dim):
            raise ChannelError(f"rho must be {self.dim}x{self.dim} for {self!r} (got shape {rho.shape})")
        return sum(k @ rho @ k.conj().T for k in self.kraus)

    @property
    def is_unitary(self) -> bool:
        """True when the channel is a single unitary conjugation (its Choi matrix has rank 1)."""
        w = np.linalg.eigvalsh(self.choi())
        return bool(np.count_nonzero(w > 1e-10 * self.dim) == 1)

    def is_identity(self, atol: float = 1e-12) -> bool:
        """True when the channel is the identity map (superoperator equal to I to ``atol``)."""
        return bool(np.allclose(self.superop(), np.eye(self.dim**2), atol=atol, rtol=0))

    def process_fidelity(self, target=None) -> float:
        """Process (entanglement) fidelity ``sum_i |tr(U^dagger K_i)|**2 / d**2`` to the unitary
        ``target`` (default: the identity).

        Raises:
            ChannelError: ``target`` is not a ``d x d`` unitary matrix.
        """
        d = self.dim
        if target is None:
            overlaps = [np.trace(k) for k in self.kraus]
        else:
            u = np.asarray(target, dtype=np.complex128)
            if u.shape != (d, d) or not np.allclose(u.conj().T @ u, np.eye(d), atol=1e-9):
                raise ChannelError(f"target must be a {d}x{d} unitary matrix (got shape {u.shape})")
            overlaps = [np.vdot(u, k) for k in self.kraus]  # tr(U^dagger K)
        return float(sum(abs(t) ** 2 for t in overlaps) / d**2)

    def average_gate_fidelity(self, target=None) -> float:
        """Average gate fidelity ``F_avg = (d F_pro + 1) / (d + 1)`` to the unitary ``target``
        (default: the identity) -- Horodecki et al., PRA 60, 1888 (1999); Nielsen, Phys. Lett.
        A 303, 249 (2002). The *average gate infidelity* reported by devices is ``1 - F_avg``.

        Example:
            >>> round(depolarizing(0.03).average_gate_fidelity(), 12)   # 1 - p (d-1)/d
            0.985
        """
        d = self.dim
        return (d * self.process_fidelity(target) + 1) / (d + 1)

    # --- algebra ------------------------------------------------------------------------------
    def compose(self, other: Channel) -> Channel:
        """The channel that applies ``self`` first, then ``other`` (on the same qubits).

        The Kraus matrices are the products ``B_j A_i``; exact zeros are dropped, and when
        there are more than ``d**2`` of them they are replaced by the (at most ``d**2``)
        orthogonal Kraus matrices of the Choi matrix.

        Raises:
            ChannelError: ``other`` is not a Channel on as many qubits.

        Example:
            >>> round(float(bit_flip(0.1).compose(bit_flip(0.1)).apply(np.diag([1, 0]))[1, 1].real), 6)
            0.18
        """
        if not isinstance(other, Channel):
            raise ChannelError(f"compose needs a Channel (got {type(other).__name__})")
        if other.dim != self.dim:
            raise ChannelError(
                f"cannot compose a {self.num_qubits}-qubit channel with a {other.num_qubits}-qubit one"
            )
        d = self.dim
        # products[i, j] = B_j A_i, kept in that order (self's index outermost)
        prods = (np.stack(other.kraus)[None, :] @ np.stack(self.kraus)[:, None]).reshape(-1, d, d)
        ops = _prune(prods)
        if len(ops) > d * d:
            ops = _kraus_from_choi(_choi_of(np.stack(ops)), d)
        return Channel(tuple(ops), name=f"compose({self.name}, {other.name})")

    def tensor(self, other: Channel) -> Channel:
        """``self`` on the low qubits and ``other`` on the high ones: applied to
        ``(q_0, ..., q_{k+m-1})``, ``self`` acts on the first ``k`` and ``other`` on the last
        ``m`` (Kraus matrices ``kron(B_j, A_i)``; like Qiskit's ``A.expand(B)``).

        Raises:
            ChannelError: ``other`` is not a Channel.

        Example:
            >>> ch = amplitude_damping(1.0).tensor(Channel.identity(1))
            >>> int(np.argmax(ch.apply(np.diag([0, 0, 0, 1.0])).diagonal().real))  # |11> -> |10>
            2
        """
        if not isinstance(other, Channel):
            raise ChannelError(f"tensor needs a Channel (got {type(other).__name__})")
        a, b = np.stack(self.kraus), np.stack(other.kraus)
        da, db = self.dim, other.dim
        # kron(B_j, A_i)[(r*da + s), (t*da + u)] = B_j[r, t] A_i[s, u]
        ops = np.einsum("jrt,isu->ijrstu", b, a).reshape(len(a) * len(b), da * db, da * db)
        return Channel(tuple(_prune(ops)), name=f"tensor({self.name}, {other.name})")

    def simplify(self) -> Channel:
        """The same map with the fewest Kraus matrices (orthogonal, from the Choi matrix)."""
        return Channel(tuple(_kraus_from_choi(self.choi(), self.dim)), name=self.name)

    # --- other constructors ------------------------------------------------------------------
    @classmethod
    def identity(cls, num_qubits: int = 1) -> Channel:
        """The identity channel on ``num_qubits`` qubits."""
        if isinstance(num_qubits, bool) or not isinstance(num_qubits, numbers.Integral) or num_qubits < 1:
            raise ChannelError(f"num_qubits must be a positive integer (got {num_qubits!r})")
        return cls((np.eye(1 << int(num_qubits), dtype=np.complex128),), name="identity")

    @classmethod
    def from_unitary(cls, matrix, name: str = "unitary") -> Channel:
        """The channel ``rho -> U rho U^dagger``.

        Raises:
            ChannelError: ``matrix`` is not a ``2**k`` square unitary.
        """
        u = np.asarray(matrix, dtype=np.complex128)
        if u.ndim != 2 or u.shape[0] != u.shape[1]:
            raise ChannelError(f"a unitary must be a square matrix (got shape {u.shape})")
        dev = float(np.abs(u.conj().T @ u - np.eye(u.shape[0])).max()) if u.size else 0.0
        if dev > TP_ATOL:
            raise ChannelError(f"matrix is not unitary: max |U^dagger U - I| = {dev:.3g}")
        return cls((u,), name=name)

    @classmethod
    def from_choi(cls, choi, name: str = "choi") -> Channel:
        """The channel of a Choi matrix (convention of ``choi()``), with a CPTP check.

        Raises:
            ChannelError: not square ``4**k``, not Hermitian, not positive semidefinite
                (completely positive), or its partial trace over the output is not ``I``.
        """
        c = np.asarray(choi, dtype=np.complex128)
        n2 = c.shape[0] if c.ndim == 2 else 0
        d = math.isqrt(n2)
        if c.ndim != 2 or c.shape[0] != c.shape[1] or d * d != n2 or d < 2 or d & (d - 1):
            raise ChannelError(f"a Choi matrix must be 4**k x 4**k with k >= 1 (got shape {c.shape})")
        if not np.isfinite(c).all():
            raise ChannelError("the Choi matrix holds non-finite entries")
        herm = float(np.abs(c - c.conj().T).max())
        if herm > CP_ATOL:
            raise ChannelError(f"the Choi matrix is not Hermitian: max |C - C^dagger| = {herm:.3g}")
        low = float(np.linalg.eigvalsh((c + c.conj().T) / 2).min())
        if low < -CP_ATOL * d:
            raise ChannelError(
                f"the map is not completely positive: Choi matrix eigenvalue {low:.3g} < 0"
            )
        return cls(tuple(_kraus_from_choi(c, d)), name=name)

    @classmethod
    def from_superop(cls, superop, name: str = "superop") -> Channel:
        """The channel of a superoperator (convention of ``superop()``), with a CPTP check.

        Raises:
            ChannelError: as ``from_choi``, for the reshuffled matrix.
        """
        s = np.asarray(superop, dtype=np.complex128)
        n2 = s.shape[0] if s.ndim == 2 else 0
        d = math.isqrt(n2)
        if s.ndim != 2 or s.shape[0] != s.shape[1] or d * d != n2:
            raise ChannelError(f"a superoperator must be 4**k x 4**k (got shape {s.shape})")
        # S[i + d j, a + d b] = sum K[i,a] conj(K[j,b]);  C[a + d b, a' + d b'] = S[a + d a', b + d b']
        choi = s.reshape(d, d, d, d).transpose(3, 1, 2, 0).reshape(n2, n2)
        return cls.from_choi(choi, name=name)

    # --- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-ready dictionary: the name and the Kraus matrices as rows of ``[re, im]``
        pairs (floats print exactly, so ``from_dict(to_dict())`` gives identical matrices)."""
        return {"name": self.name, "kraus": [_complex_to_json(k) for k in self.kraus]}

    @classmethod
    def from_dict(cls, data: Mapping) -> Channel:
        """The inverse of ``to_dict`` (the CPTP check runs again).

        Raises:
            ChannelError: a malformed dictionary or a map that is not CPTP.
        """
        try:
            kraus = tuple(_complex_from_json(k) for k in data["kraus"])
            name = data.get("name", "kraus")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ChannelError(f"not a channel dictionary: {exc!r}") from None
        return cls(kraus, name=name)


# --- readout errors --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ReadoutError:
    """A one-qubit classical assignment error.

    ``matrix[i, j] = P(record i | true outcome j)``: each column is a probability distribution
    (sums to 1). A perfect readout is the identity matrix. Qiskit's
    ``ReadoutError.probabilities`` is the transpose (rows are true outcomes).

    Attributes:
        matrix: a read-only 2x2 float64 array.

    Raises:
        ChannelError: not 2x2, non-finite, entries outside [0, 1] or columns not summing to 1.

    Example:
        >>> e = ReadoutError([[0.98, 0.05], [0.02, 0.95]])
        >>> e.p01, e.p10                      # P(read 1 | 0), P(read 0 | 1)
        (0.02, 0.05)
    """

    matrix: np.ndarray

    def __post_init__(self):
        try:
            m = np.array(self.matrix, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ChannelError(f"readout matrix must be a 2x2 real matrix ({exc})") from None
        if m.shape != (2, 2):
            raise ChannelError(f"readout matrix must be 2x2 (got shape {m.shape})")
        if not np.isfinite(m).all() or m.min() < 0 or m.max() > 1:
            raise ChannelError(f"readout matrix entries must be probabilities in [0, 1] (got {m.tolist()})")
        sums = m.sum(axis=0)
        if np.abs(sums - 1).max() > TP_ATOL:
            raise ChannelError(
                f"readout matrix columns must sum to 1 (matrix[i, j] = P(record i | true j)); "
                f"got column sums {sums.tolist()}"
            )
        object.__setattr__(self, "matrix", _readonly(m))

    @property
    def p01(self) -> float:
        """P(record 1 | true 0)."""
        return float(self.matrix[1, 0])

    @property
    def p10(self) -> float:
        """P(record 0 | true 1)."""
        return float(self.matrix[0, 1])

    @property
    def is_ideal(self) -> bool:
        """True for a perfect readout (the identity matrix)."""
        return self.p01 == 0.0 and self.p10 == 0.0

    def compose(self, other: ReadoutError) -> ReadoutError:
        """``self`` then ``other``: the matrix ``other.matrix @ self.matrix``."""
        if not isinstance(other, ReadoutError):
            raise ChannelError(f"compose needs a ReadoutError (got {type(other).__name__})")
        m = other.matrix @ self.matrix
        return ReadoutError(m / m.sum(axis=0))

    def __eq__(self, other) -> bool:
        if not isinstance(other, ReadoutError):
            return NotImplemented
        return bool(np.array_equal(self.matrix, other.matrix))

    def __hash__(self) -> int:
        return hash(self.matrix.tobytes())

    def __repr__(self) -> str:
        return f"ReadoutError(p01={self.p01:g}, p10={self.p10:g})"

    def to_dict(self) -> dict:
        """``{"matrix": [[m00, m01], [m10, m11]]}``."""
        return {"matrix": self.matrix.tolist()}

    @classmethod
    def from_dict(cls, data: Mapping) -> ReadoutError:
        """The inverse of ``to_dict``.

        Raises:
            ChannelError: a malformed dictionary or matrix.
        """
        try:
            return cls(data["matrix"])
        except (KeyError, TypeError) as exc:
            raise ChannelError(f"not a readout-error dictionary: {exc!r}") from None


def readout_error(p01: float, p10: float) -> ReadoutError:
    """A readout error from its two flip probabilities.

    Args:
        p01: P(record 1 | prepared 0), in [0, 1].
        p10: P(record 0 | prepared 1), in [0, 1].

    Returns:
        ``ReadoutError([[1 - p01, p10], [p01, 1 - p10]])``.

    Raises:
        ChannelError: a probability outside [0, 1].

    Example:
        >>> readout_error(0.02, 0.05).matrix.tolist()
        [[0.98, 0.05], [0.02, 0.95]]
    """
    a = _probability(p01, "p01")
    b = _probability(p10, "p10")
    return ReadoutError(np.array([[1 - a, b], [a, 1 - b]]))


# --- standard channels -----------------------------------------------------------------------
def pauli_channel(probabilities, name: str | None = None) -> Channel:
    """A Pauli channel ``rho -> sum_P p_P P rho P``.

    Args:
        probabilities: ``{label: probability}`` (or ``(label, probability)`` pairs) with labels
            of one length over ``I, X, Y, Z``; ``label[-1]`` acts on qubit 0 (``"XZ"``: Z on
            the channel's first qubit, X on its second). When the identity label is absent it
            takes ``1 - sum``; when present, the probabilities must sum to 1.
        name: a label (default ``"pauli(...)"``).

    Returns:
        A channel with one Kraus matrix ``sqrt(p) P`` per nonzero probability.

    Raises:
        ChannelError: bad labels, lengths, duplicates, or probabilities outside [0, 1] / not
            summing to 1.

    Example:
        >>> ch = pauli_channel({"X": 0.1, "Z": 0.2})
        >>> round(float(ch.apply(np.diag([1.0, 0])).real[1, 1]), 12)   # X and Y flip |0>
        0.1
    """
    items = list(probabilities.items()) if isinstance(probabilities, Mapping) else list(probabilities)
    if not items:
        raise ChannelError("pauli_channel needs at least one (label, probability) (got none)")
    probs: dict[str, float] = {}
    length = None
    for item in items:
        try:
            label, p = item
        except (TypeError, ValueError):
            raise ChannelError(f"pauli_channel takes (label, probability) pairs (got {item!r})") from None
        if not isinstance(label, str) or not label or set(label) - set("IXYZ"):
            raise ChannelError(f"Pauli label must be a non-empty string over 'IXYZ' (got {label!r})")
        if length is None:
            length = len(label)
        elif len(label) != length:
            raise ChannelError(f"Pauli labels must all have length {length} (got {label!r})")
        if label in probs:
            raise ChannelError(f"Pauli label {label!r} is given twice")
        probs[label] = _probability(p, f"probability of {label!r}")
    _check_pauli_qubits(length, "a Pauli channel")
    ident = "I" * length
    total = sum(probs.values())
    if ident in probs:
        if abs(total - 1) > TP_ATOL:
            raise ChannelError(f"Pauli probabilities including {ident!r} must sum to 1 (got {total:.12g})")
    else:
        if total > 1 + TP_ATOL:
            raise ChannelError(f"Pauli probabilities must sum to at most 1 (got {total:.12g})")
        probs = {ident: max(0.0, 1.0 - total), **probs}
    ops = [math.sqrt(p) * _pauli_matrix(lab) for lab, p in probs.items() if p > 0]
    if name is None:
        name = "pauli(" + ", ".join(f"{lab}={p:g}" for lab, p in probs.items() if lab != ident) + ")"
    return Channel(tuple(ops) or (np.eye(2**length),), name=name)


def bit_flip(p: float) -> Channel:
    """``rho -> (1 - p) rho + p X rho X``, ``p`` in [0, 1].

    Example:
        >>> bit_flip(0.25).name
        'bit_flip(0.25)'
    """
    p = _probability(p, "p")
    return pauli_channel({"X": p}, name=f"bit_flip({p:g})")


def phase_flip(p: float) -> Channel:
    """``rho -> (1 - p) rho + p Z rho Z``, ``p`` in [0, 1].

    Example:
        >>> round(float(phase_flip(0.25).apply(np.full((2, 2), 0.5))[0, 1].real), 12)   # (1 - 2p)/2
        0.25
    """
    p = _probability(p, "p")
    return pauli_channel({"Z": p}, name=f"phase_flip({p:g})")


def depolarizing(p: float, num_qubits: int = 1) -> Channel:
    """The depolarizing channel ``rho -> (1 - p) rho + p tr(rho) I / d`` (``d = 2**num_qubits``),
    as Qiskit Aer's ``depolarizing_error(p, num_qubits)``.

    Written as a Pauli channel: identity with probability ``1 - p (d**2 - 1) / d**2`` and each
    of the ``d**2 - 1`` other Pauli strings with ``p / d**2``. It is CPTP for
    ``0 <= p <= d**2 / (d**2 - 1)`` (4/3 for one qubit, 16/15 for two); ``p = 1`` is the
    completely depolarizing channel. Average gate fidelity: ``1 - p (d - 1) / d``.
    Cost: ``4**num_qubits`` Kraus matrices.

    Args:
        p: depolarizing probability, in ``[0, d**2 / (d**2 - 1)]``.
        num_qubits: 1 to 6.

    Raises:
        ChannelError: ``p`` outside its range or a bad ``num_qubits``.

    Example:
        >>> depolarizing(1.0).apply(np.diag([1.0, 0])).real.round(3)
        array([[0.5, 0. ],
               [0. , 0.5]])
    """
    n = _check_pauli_qubits(num_qubits, "depolarizing")
    d2 = 4**n
    pmax = d2 / (d2 - 1)
    x = _real(p, "p")
    if not 0.0 <= x <= pmax:
        raise ChannelError(
            f"depolarizing p must be in [0, {pmax:.6g}] (d**2/(d**2-1) for {n} qubit(s)) to be "
            f"CPTP (got {x!r})"
        )
    p_ident = max(0.0, 1.0 - x * (d2 - 1) / d2)
    ops = [math.sqrt(p_ident) * np.eye(1 << n, dtype=np.complex128)] if p_ident > 0 else []
    if x > 0:
        amp = math.sqrt(x / d2)
        for letters in itertools.product("IXYZ", repeat=n):
            label = "".join(letters)
            if label != "I" * n:
                ops.append(amp * _pauli_matrix(label))
    suffix = "" if n == 1 else f", {n}q"
    return Channel(tuple(ops), name=f"depolarizing({x:g}{suffix})")


def amplitude_damping(gamma: float, excited_population: float = 0.0) -> Channel:
    """Amplitude damping: energy decay ``|1> -> |0>`` with probability ``gamma``.

    With ``excited_population = 0`` (the usual case) the Kraus matrices are
    ``[[1, 0], [0, sqrt(1 - gamma)]]`` and ``[[0, sqrt(gamma)], [0, 0]]`` (Nielsen & Chuang
    §8.3.5). With ``excited_population = p1 > 0`` it is the *generalised* amplitude damping
    channel towards the thermal state ``diag(1 - p1, p1)`` (N&C §8.3.5; Qiskit Aer's
    ``amplitude_damping_error(gamma, p1)``): populations relax as
    ``rho_11 -> (1 - gamma) rho_11 + gamma p1``, coherences scale by ``sqrt(1 - gamma)``.

    Args:
        gamma: damping probability, in [0, 1].
        excited_population: the steady state's excited population ``p1``, in [0, 1].

    Raises:
        ChannelError: a parameter outside [0, 1].

    Example:
        >>> round(float(amplitude_damping(0.3).apply(np.diag([0, 1.0]))[1, 1].real), 12)
        0.7
    """
    g = _probability(gamma, "gamma")
    p1 = _probability(excited_population, "excited_population")
    a = np.array([[1, 0], [0, math.sqrt(1 - g)]], dtype=np.complex128)
    b = np.array([[0, math.sqrt(g)], [0, 0]], dtype=np.complex128)
    ops = [math.sqrt(1 - p1) * a, math.sqrt(1 - p1) * b]
    if p1 > 0:
        a2 = np.array([[math.sqrt(1 - g), 0], [0, 1]], dtype=np.complex128)
        b2 = np.array([[0, 0], [math.sqrt(g), 0]], dtype=np.complex128)
        ops += [math.sqrt(p1) * a2, math.sqrt(p1) * b2]
    name = f"amplitude_damping({g:g})" if p1 == 0 else f"amplitude_damping({g:g}, p1={p1:g})"
    return Channel(tuple(_prune(ops)), name=name)


def phase_damping(lam: float) -> Channel:
    """Phase damping: coherences scale by ``sqrt(1 - lam)``, populations unchanged.

    Kraus matrices ``[[1, 0], [0, sqrt(1 - lam)]]`` and ``[[0, 0], [0, sqrt(lam)]]``
    (Nielsen & Chuang §8.3.6; Qiskit Aer's ``phase_damping_error(lam)``). It equals a phase
    flip with ``p = (1 - sqrt(1 - lam)) / 2``.

    Args:
        lam: in [0, 1].

    Raises:
        ChannelError: ``lam`` outside [0, 1].

    Example:
        >>> round(float(phase_damping(0.75).apply(np.full((2, 2), 0.5))[0, 1].real), 12)
        0.25
    """
    x = _probability(lam, "lam")
    ops = [
        np.array([[1, 0], [0, math.sqrt(1 - x)]], dtype=np.complex128),
        np.array([[0, 0], [0, math.sqrt(x)]], dtype=np.complex128),
    ]
    return Channel(tuple(_prune(ops)), name=f"phase_damping({x:g})")


def _duration(value, name: str) -> float:
    x = _real(value, name)
    if x < 0 or math.isinf(x):
        raise ChannelError(f"{name} must be a finite time >= 0 in seconds (got {x!r})")
    return x


def thermal_relaxation(
    t1_s: float, t2_s: float, duration_s: float, excited_population: float = 0.0
) -> Channel:
    """Thermal relaxation of one qubit for ``duration_s`` seconds, from its T1 and T2.

    Populations relax towards ``diag(1 - p1, p1)`` (``p1 = excited_population``) at rate
    ``1/T1``: ``rho_11(t) = p1 + (rho_11(0) - p1) exp(-t/T1)``; coherences decay as
    ``rho_01(t) = rho_01(0) exp(-t/T2)`` (Nielsen & Chuang §8.3; as Qiskit Aer's
    ``thermal_relaxation_error``). Built as generalised amplitude damping with
    ``gamma = 1 - exp(-t/T1)`` followed by phase damping with
    ``1 - lam = exp(-2t/T2 + t/T1)``, which is a channel exactly when ``T2 <= 2 T1``.

    Args:
        t1_s: T1 in seconds, > 0 (``math.inf`` for no energy relaxation).
        t2_s: T2 in seconds, ``0 < T2 <= 2 T1``.
        duration_s: time in seconds, finite and >= 0.
        excited_population: the steady state's excited population, in [0, 1].

    Raises:
        ChannelError: ``T2 > 2 T1`` (not a physical channel), non-positive times, a negative
            duration, or ``excited_population`` outside [0, 1]; the message gives the values.

    Example:
        >>> ch = thermal_relaxation(t1_s=100e-6, t2_s=80e-6, duration_s=50e-6)
        >>> bool(np.isclose(ch.apply(np.diag([0, 1.0]))[1, 1].real, np.exp(-0.5)))
        True
        >>> thermal_relaxation(t1_s=10e-6, t2_s=30e-6, duration_s=1e-6)
        Traceback (most recent call last):
        ...
        kizuna.errors.ChannelError: t2_s must be <= 2 * t1_s = 2e-05 for a physical channel (got t2_s=3e-05, t1_s=1e-05)
    """
    t1 = _real(t1_s, "t1_s")
    t2 = _real(t2_s, "t2_s")
    t = _duration(duration_s, "duration_s")
    p1 = _probability(excited_population, "excited_population")
    if not t1 > 0:
        raise ChannelError(f"t1_s must be > 0 seconds (got {t1!r})")
    if not t2 > 0 or math.isinf(t2) and not math.isinf(t1):
        raise ChannelError(f"t2_s must be > 0 seconds and finite unless t1_s is (got {t2!r})")
    if t2 > 2 * t1:
        raise ChannelError(
            f"t2_s must be <= 2 * t1_s = {2 * t1:g} for a physical channel "
            f"(got t2_s={t2:g}, t1_s={t1:g})"
        )
    decay1 = math.exp(-t / t1)  # exp(-inf) == 0.0 and exp(-0/inf) == 1.0 as wanted
    # 1 - lam = exp(-2t/T2) / exp(-t/T1), computed in the exponent to avoid 0/0
    keep = min(1.0, math.exp(-2 * t / t2 + t / t1)) if t > 0 else 1.0
    gad = amplitude_damping(1.0 - decay1, p1)
    ch = gad.compose(phase_damping(1.0 - keep))
    label = f"thermal_relaxation(t1={t1:g}, t2={t2:g}, t={t:g}" + (f", p1={p1:g})" if p1 else ")")
    return Channel(ch.kraus, name=label)


def reset_error(p0: float, p1: float = 0.0) -> Channel:
    """With probability ``p0`` reset the qubit to ``|0>``, with ``p1`` to ``|1>``, else leave it
    (Qiskit Aer's ``reset_error(p0, p1)``).

    ``rho -> (1 - p0 - p1) rho + p0 |0><0| + p1 |1><1|``.

    Args:
        p0: probability of a reset to ``|0>``.
        p1: probability of a reset to ``|1>``; ``p0, p1 >= 0`` and ``p0 + p1 <= 1``.

    Raises:
        ChannelError: probabilities outside that range.

    Example:
        >>> reset_error(0.2, 0.1).apply(np.diag([0, 1.0])).real.diagonal().round(3)
        array([0.2, 0.8])
    """
    a = _probability(p0, "p0")
    b = _probability(p1, "p1")
    if a + b > 1 + 1e-12:
        raise ChannelError(f"p0 + p1 must be <= 1 (got p0={a!r}, p1={b!r})")
    keep = max(0.0, 1.0 - a - b)
    ops = [math.sqrt(keep) * np.eye(2, dtype=np.complex128)]
    for p, out in ((a, 0), (b, 1)):
        for src in (0, 1):
            k = np.zeros((2, 2), dtype=np.complex128)
            k[out, src] = math.sqrt(p)
            ops.append(k)
    return Channel(tuple(_prune(ops)), name=f"reset_error({a:g}, {b:g})")

