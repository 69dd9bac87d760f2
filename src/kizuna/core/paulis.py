"""Pauli strings and weighted sums of them: ``Pauli``, ``PauliSum``.

Conventions:

* **Labels** follow Qiskit: the **rightmost** character acts on qubit 0, so ``"XYZ"`` is
  ``X`` on qubit 2, ``Y`` on qubit 1 and ``Z`` on qubit 0. A label may start with a phase:
  ``"-XZ"``, ``"iXZ"``, ``"-iXZ"`` (``j`` works for ``i``); it is folded into ``coeff``, and
  ``label`` keeps only the letters ``I``, ``X``, ``Y``, ``Z``.
* **Masks.** A string is also two integers: bit ``q`` of ``x_mask`` is set where qubit ``q``
  carries ``X`` or ``Y``, bit ``q`` of ``z_mask`` where it carries ``Z`` or ``Y``. With
  ``ny = popcount(x_mask & z_mask)`` (the number of ``Y``), the string is
  ``i**ny * X**x_mask * Z**z_mask`` (``Y = iXZ``); these are the masks the numba kernel
  ``expectation_pauli_sum`` takes.
* **Matrices** are little-endian: qubit ``q`` has weight ``2**q`` in a row or column index,
  so ``Pauli("XZ").to_matrix() == np.kron(X, Z)`` (Qiskit's ``Pauli.to_matrix``). In a basis
  state, ``P |i> = coeff * i**ny * (-1)**popcount(i & z_mask) |i ^ x_mask>``.
* **Products.** ``p @ q`` and ``p * q`` are the operator product ``p·q`` (``p`` applied after
  ``q``), phases included: ``Pauli("X") @ Pauli("Y") == Pauli("iZ")``. A number times a
  ``Pauli`` scales its coefficient; ``+`` and ``-`` build a ``PauliSum``.

A ``PauliSum`` keeps its terms as given (like Qiskit's ``SparsePauliOp``); ``simplify()``
merges equal labels and drops negligible coefficients. Expectation values of a state vector
or a density matrix are computed from the masks, without building any ``2**n x 2**n``
matrix: ``PauliSum.expectation_statevector`` and ``PauliSum.expectation_density_matrix``.

This module imports numpy and ``kizuna.errors`` (plus ``core._memory``); scipy and the numba
kernels are imported inside the functions that need them. It knows nothing of circuits.
"""

from __future__ import annotations

import cmath
import functools
import hashlib
import json
import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import PauliError
from . import _memory
from ._kernels import numba_sv

__all__ = ["Pauli", "PauliError", "PauliSum"]

#: ``simplify`` drops terms whose ``|coeff|`` is below this; ``is_hermitian`` accepts
#: imaginary parts up to it.
DEFAULT_ATOL = 1e-12

_LABEL_RE = re.compile(r"([+-]?)([ij]?)([IXYZ]*)")
_PHASES = (1 + 0j, 1j, -1 + 0j, -1j)
_X_BITS = str.maketrans("IXYZ", "0110")
_Z_BITS = str.maketrans("IXYZ", "0011")
_LETTERS = "IXZY"  # index: x_bit + 2 * z_bit


# --- helpers ---------------------------------------------------------------------------------
def _coeff(value, what: str = "coeff") -> complex:
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        raise PauliError(f"{what} must be a number (got {value!r})")
    try:
        c = complex(value)
    except (TypeError, ValueError):
        raise PauliError(f"{what} must be a number (got {value!r})") from None
    if not cmath.isfinite(c):
        raise PauliError(f"{what} must be finite (got {value!r})")
    # "+ 0.0" turns -0.0 into 0.0: equal coefficients compare, print and hash the same
    return complex(c.real + 0.0, c.imag + 0.0)


def _parse_label(label) -> tuple[str, complex]:
    """``(letters, phase)`` of a label with an optional phase prefix."""
    if not isinstance(label, str):
        raise PauliError(f"a Pauli label must be a string such as 'XIZ' (got {label!r})")
    m = _LABEL_RE.fullmatch(label)
    if m is None:
        start = len(_LABEL_RE.match(label).group(0))
        bad = label[start:]
        pos = start + next(i for i, ch in enumerate(bad) if ch not in "IXYZ")
        raise PauliError(
            f"Pauli label {label!r} has {label[pos]!r} at position {pos}; expected the letters "
            f"I, X, Y, Z after an optional phase (+, -, i, -i)"
        )
    sign, imag, letters = m.groups()
    k = (2 if sign == "-" else 0) + (1 if imag else 0)
    return letters, _PHASES[k % 4]


def _letters_from_masks(x: int, z: int, num_qubits: int) -> str:
    return "".join(_LETTERS[((x >> q) & 1) | (((z >> q) & 1) << 1)] for q in range(num_qubits - 1, -1, -1))


def _check_num_qubits(value, what: str = "num_qubits") -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise PauliError(f"{what} must be a non-negative integer (got {value!r})")
    return int(value)


def _fmt_coeff(c: complex) -> str:
    return repr(c.real) if c.imag == 0 else repr(c)


def _coeff_json(c: complex) -> list[float]:
    return [c.real + 0.0, c.imag + 0.0]


def _coeff_from_json(data, what: str) -> complex:
    if isinstance(data, (list, tuple)) and len(data) == 2:
        return _coeff(complex(float(data[0]), float(data[1])), what)
    return _coeff(data, what)


def _mask_array(values: list[int], num_qubits: int) -> np.ndarray:
    # int64 holds masks of up to 63 qubits (every state that fits in memory); wider sums keep
    # Python ints
    a = np.array(values, dtype=np.int64 if num_qubits <= 63 else object)
    a.setflags(write=False)
    return a


#: States up to this many amplitudes take the numba kernel on one thread by default.
_SERIAL_AMPLITUDES = 1 << 13


def _numba_max_threads() -> int:
    """numba's thread-pool size (``NUMBA_NUM_THREADS``); only called once numba is loaded."""
    import numba

    return int(numba.config.NUMBA_NUM_THREADS)


#: The numba state-vector kernels, or ``None`` (numba missing or ``KIZUNA_NUMBA=0``).
_numba_kernels = numba_sv


def _fwht(a: np.ndarray) -> None:
    """In place, the unnormalised Walsh-Hadamard transform ``a[z] <- sum_i (-1)**popcount(i & z) a[i]``."""
    h = 1
    while h < a.size:
        v = a.reshape(-1, 2, h)
        t = v[:, 1, :].copy()
        v[:, 1, :] = v[:, 0, :]
        v[:, 1, :] -= t
        v[:, 0, :] += t
        h *= 2


def _signed_sums(d: np.ndarray, idx: np.ndarray, zs: list[int]) -> np.ndarray:
    """``S[k] = sum_i (-1)**popcount(i & zs[k]) d[i]`` for each ``k``.

    Few masks: one masked sum each (O(2**n) per mask). Many: one Walsh-Hadamard transform of
    ``d`` (O(n 2**n)) gives ``S`` for every mask at once.
    """
    n = d.size.bit_length() - 1
    if 2 * len(zs) > n:
        w = d.astype(np.complex128, copy=True)
        _fwht(w)
        return w[np.asarray(zs, dtype=np.int64)]
    total = d.sum()
    out = np.empty(len(zs), dtype=np.complex128)
    for k, z in enumerate(zs):
        odd = (np.bitwise_count(idx & z) & 1).astype(bool)
        out[k] = total - 2 * d[odd].sum()
    return out


def _pauli_traces(pair_products, dim: int, x_masks, z_masks) -> np.ndarray:
    """``Tr(rho P_t)`` for the Hermitian strings ``P_t`` of the masks (coefficient 1).

    ``pair_products(x, idx)`` returns ``d[i] = rho[i, i ^ x]`` for every basis index ``i``;
    then ``Tr(rho P) = i**ny * sum_i (-1)**popcount(i & z) d[i]`` (see ``PauliSum``). Terms
    are grouped by x-mask: each distinct x-mask costs one gather of ``2**n`` entries.
    """
    xs = [int(x) for x in x_masks]
    zs = [int(z) for z in z_masks]
    out = np.zeros(len(xs), dtype=np.complex128)
    if not xs:
        return out
    idx = np.arange(dim, dtype=np.int64)
    groups: dict[int, list[int]] = {}
    for t, x in enumerate(xs):
        groups.setdefault(x, []).append(t)
    for x, members in groups.items():
        d = pair_products(x, idx)
        sums = _signed_sums(d, idx, [zs[t] for t in members])
        for t, s in zip(members, sums):
            out[t] = _PHASES[(x & zs[t]).bit_count() % 4] * s
    return out


# --- Pauli -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pauli:
    """A Pauli string with a complex coefficient: ``coeff * P_{n-1} ⊗ ... ⊗ P_0``.

    Args:
        label: letters ``I``, ``X``, ``Y``, ``Z``, the rightmost acting on qubit 0 (Qiskit's
            order), optionally after a phase ``+``, ``-``, ``i``, ``-i`` (or ``j``), which is
            multiplied into ``coeff``.
        coeff: a finite complex number (default 1).

    Attributes:
        label: the letters only (the phase moved into ``coeff``).
        coeff: the coefficient, a Python ``complex``.

    Raises:
        PauliError: a label with other characters, or a coefficient that is not a finite
            number.

    Example:
        >>> p = Pauli("-iXYZ")
        >>> p.label, p.coeff, p.num_qubits, p.weight
        ('XYZ', -1j, 3, 3)
        >>> bin(p.x_mask), bin(p.z_mask)           # qubit 0 carries Z, 1 Y, 2 X
        ('0b110', '0b11')
        >>> Pauli("X") @ Pauli("Y")
        Pauli('Z', coeff=1j)
        >>> Pauli("XX").commutes(Pauli("ZZ")), Pauli("XX").qubitwise_commutes(Pauli("ZZ"))
        (True, False)
    """

    label: str
    coeff: complex = 1

    def __post_init__(self):
        letters, phase = _parse_label(self.label)
        object.__setattr__(self, "label", letters)
        object.__setattr__(self, "coeff", _coeff(_coeff(self.coeff) * phase))

    # --- constructors -------------------------------------------------------------------------
    @classmethod
    def from_sparse(cls, paulis: Mapping[int, str], num_qubits: int, coeff: complex = 1) -> Pauli:
        """The string with ``paulis[q]`` on qubit ``q`` and ``I`` elsewhere.

        Args:
            paulis: ``{qubit: "X" | "Y" | "Z" | "I"}``.
            num_qubits: the string's length.
            coeff: its coefficient.

        Raises:
            PauliError: a qubit out of range or a letter that is not I, X, Y, Z.

        Example:
            >>> Pauli.from_sparse({0: "Z", 3: "X"}, 5)
            Pauli('IXIIZ')
        """
        n = _check_num_qubits(num_qubits)
        if not isinstance(paulis, Mapping):
            raise PauliError(f"paulis must be a mapping {{qubit: letter}} (got {paulis!r})")
        chars = ["I"] * n
        for q, letter in paulis.items():
            if isinstance(q, bool) or not isinstance(q, numbers.Integral) or not 0 <= q < n:
                raise PauliError(f"qubit {q!r} is out of range for a {n}-qubit Pauli")
            if not isinstance(letter, str) or letter not in ("I", "X", "Y", "Z"):
                raise PauliError(f"qubit {q} must carry one of I, X, Y, Z (got {letter!r})")
            chars[n - 1 - int(q)] = letter
        return cls("".join(chars), coeff)

    @classmethod
    def from_masks(cls, x_mask: int, z_mask: int, num_qubits: int, coeff: complex = 1) -> Pauli:
        """The string whose qubit ``q`` carries X (bit ``q`` of ``x_mask``), Z (of ``z_mask``)
        or Y (both).

        Example:
            >>> Pauli.from_masks(0b110, 0b011, 3)
            Pauli('XYZ')
        """
        n = _check_num_qubits(num_qubits)
        for what, m in (("x_mask", x_mask), ("z_mask", z_mask)):
            if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 0 or int(m) >> n:
                raise PauliError(f"{what} must be a non-negative integer below 2**{n} (got {m!r})")
        return cls(_letters_from_masks(int(x_mask), int(z_mask), n), coeff)

    # --- properties ---------------------------------------------------------------------------
    @property
    def num_qubits(self) -> int:
        return len(self.label)

    @functools.cached_property
    def x_mask(self) -> int:
        """Bit ``q`` set where qubit ``q`` carries X or Y."""
        return int(self.label.translate(_X_BITS) or "0", 2)

    @functools.cached_property
    def z_mask(self) -> int:
        """Bit ``q`` set where qubit ``q`` carries Z or Y."""
        return int(self.label.translate(_Z_BITS) or "0", 2)

    @property
    def weight(self) -> int:
        """Number of qubits that do not carry I."""
        return (self.x_mask | self.z_mask).bit_count()

    @property
    def support(self) -> tuple[int, ...]:
        """The qubits that do not carry I, in increasing order."""
        m = self.x_mask | self.z_mask
        return tuple(q for q in range(self.num_qubits) if (m >> q) & 1)

    # --- algebra ------------------------------------------------------------------------------
    def _same_width(self, other: Pauli, op: str) -> None:
        if other.num_qubits != self.num_qubits:
            raise PauliError(
                f"cannot {op} a {self.num_qubits}-qubit Pauli ({self.label!r}) and a "
                f"{other.num_qubits}-qubit one ({other.label!r})"
            )

    def compose(self, other: Pauli) -> Pauli:
        """The operator product ``self · other`` (``other`` acts first), phases included.

        With ``ny = popcount(x & z)``: ``P1 P2 = i**(ny1 + ny2 - ny3) (-1)**popcount(z1 & x2) P3``
        where ``P3`` has masks ``x1 ^ x2``, ``z1 ^ z2`` (moving ``Z**z1`` past ``X**x2``).

        Example:
            >>> Pauli("YX").compose(Pauli("ZX"))
            Pauli('XI', coeff=1j)
        """
        if not isinstance(other, Pauli):
            raise PauliError(f"compose takes a Pauli (got {type(other).__name__})")
        self._same_width(other, "multiply")
        x1, z1, x2, z2 = self.x_mask, self.z_mask, other.x_mask, other.z_mask
        x3, z3 = x1 ^ x2, z1 ^ z2
        k = (x1 & z1).bit_count() + (x2 & z2).bit_count() - (x3 & z3).bit_count()
        k += 2 * (z1 & x2).bit_count()
        return Pauli(_letters_from_masks(x3, z3, self.num_qubits), self.coeff * other.coeff * _PHASES[k % 4])

    def commutes(self, other: Pauli) -> bool:
        """Whether ``self`` and ``other`` commute as operators (an even number of qubits where
        both act with different non-identity letters)."""
        if not isinstance(other, Pauli):
            raise PauliError(f"commutes takes a Pauli (got {type(other).__name__})")
        self._same_width(other, "compare")
        return ((self.x_mask & other.z_mask) ^ (self.z_mask & other.x_mask)).bit_count() % 2 == 0

    def qubitwise_commutes(self, other: Pauli) -> bool:
        """Whether on every qubit one of the two carries I or both carry the same letter (then
        one measurement basis serves both)."""
        if not isinstance(other, Pauli):
            raise PauliError(f"qubitwise_commutes takes a Pauli (got {type(other).__name__})")
        self._same_width(other, "compare")
        both = (self.x_mask | self.z_mask) & (other.x_mask | other.z_mask)
        return ((self.x_mask ^ other.x_mask) | (self.z_mask ^ other.z_mask)) & both == 0

    def adjoint(self) -> Pauli:
        """The Hermitian conjugate (the coefficient conjugated; the letters are Hermitian)."""
        return Pauli(self.label, self.coeff.conjugate())

    def tensor(self, other: Pauli) -> Pauli:
        """``self ⊗ other``: ``other`` on the low qubits (labels concatenate, as Qiskit).

        Example:
            >>> Pauli("X").tensor(Pauli("-Z"))
            Pauli('XZ', coeff=-1.0)
        """
        if not isinstance(other, Pauli):
            raise PauliError(f"tensor takes a Pauli (got {type(other).__name__})")
        return Pauli(self.label + other.label, self.coeff * other.coeff)

    def is_hermitian(self, atol: float = DEFAULT_ATOL) -> bool:
        """Whether the coefficient is real (to ``atol``)."""
        return abs(self.coeff.imag) <= atol

    def __matmul__(self, other):
        if isinstance(other, Pauli):
            return self.compose(other)
        if isinstance(other, PauliSum):
            return PauliSum([self]) @ other
        return NotImplemented

    def __mul__(self, other):
        if isinstance(other, (Pauli, PauliSum)):
            return self @ other
        if isinstance(other, numbers.Number) and not isinstance(other, bool):
            return Pauli(self.label, self.coeff * _coeff(other, "scalar"))
        return NotImplemented

    def __rmul__(self, other):
        if isinstance(other, numbers.Number) and not isinstance(other, bool):
            return Pauli(self.label, _coeff(other, "scalar") * self.coeff)
        return NotImplemented

    def __truediv__(self, other):
        if isinstance(other, numbers.Number) and not isinstance(other, bool):
            c = _coeff(other, "divisor")
            if c == 0:
                raise PauliError("cannot divide a Pauli by zero")
            return Pauli(self.label, self.coeff / c)
        return NotImplemented

    def __neg__(self) -> Pauli:
        return Pauli(self.label, -self.coeff)

    def __add__(self, other):
        return PauliSum([self]) + other

    def __radd__(self, other):
        return other + PauliSum([self])

    def __sub__(self, other):
        return PauliSum([self]) - other

    def __rsub__(self, other):
        return other - PauliSum([self])

    # --- matrices -----------------------------------------------------------------------------
    def to_matrix(self) -> np.ndarray:
        """The dense ``2**n x 2**n`` complex128 matrix (little-endian, see the module).

        Cost: ``16 * 4**n`` bytes (checked against the memory guard).
        """
        return PauliSum([self]).to_matrix()

    def to_sparse(self):
        """The matrix as a ``scipy.sparse.csr_array`` (one entry per column)."""
        return PauliSum([self]).to_sparse()

    # --- serialisation --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """``{"label": ..., "coeff": [re, im]}`` (JSON-ready; ``from_dict`` reads it back)."""
        return {"label": self.label, "coeff": _coeff_json(self.coeff)}

    @classmethod
    def from_dict(cls, data: Mapping) -> Pauli:
        """The inverse of ``to_dict``."""
        if not isinstance(data, Mapping) or "label" not in data:
            raise PauliError(f"a Pauli dictionary needs a 'label' (got {data!r})")
        try:
            coeff = _coeff_from_json(data.get("coeff", 1), "coeff")
        except (TypeError, ValueError) as exc:
            raise PauliError(f"bad Pauli coeff {data.get('coeff')!r}: {exc}") from None
        return cls(data["label"], coeff)

    def __str__(self) -> str:
        c = self.coeff
        prefix = {1: "", -1: "-", 1j: "i", -1j: "-i"}.get(c)
        if prefix is not None:
            return prefix + self.label
        return f"{_fmt_coeff(c) if c.imag == 0 else repr(c)}*{self.label}"

    def __repr__(self) -> str:
        if self.coeff == 1:
            return f"Pauli({self.label!r})"
        return f"Pauli({self.label!r}, coeff={_fmt_coeff(self.coeff)})"


# --- PauliSum ------------------------------------------------------------------------------------
def _to_term(item, what: str) -> Pauli:
    if isinstance(item, Pauli):
        return item
    if isinstance(item, str):
        return Pauli(item)
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
        return Pauli(item[0], _coeff(item[1], f"coefficient of {item[0]!r}"))
    raise PauliError(
        f"{what} must hold Pauli objects, labels or (label, coeff) pairs (got {item!r})"
    )


@dataclass(frozen=True)
class PauliSum:
    """A weighted sum of Pauli strings on ``num_qubits`` qubits: ``sum_t coeff_t P_t``.

    Terms are kept as given (equal labels are merged by ``simplify``); equality (``==``) is
    structural -- same terms in the same order -- and ``equiv`` compares operators.

    Args:
        terms: a ``Pauli``, a label, a ``PauliSum``, a mapping ``{label: coeff}``, or an
            iterable of ``Pauli`` objects, labels and ``(label, coeff)`` pairs.
        num_qubits: the width; needed only for an empty (zero) sum, else checked against
            the terms.

    Raises:
        PauliError: terms of different widths, a width that disagrees with ``num_qubits``,
            bad labels or coefficients, or an empty sum without ``num_qubits``.

    Example:
        >>> h = PauliSum({"ZZ": -1.0, "XI": 0.5, "IX": 0.5})
        >>> h.num_qubits, len(h), h.is_hermitian()
        (2, 3, True)
        >>> (h @ h).simplify()
        PauliSum([('II', 1.5), ('XX', 0.5)])
        >>> h.expectation_statevector(np.array([1, 0, 0, 0]))  # <00|h|00>
        (-1+0j)
    """

    terms: tuple[Pauli, ...]
    num_qubits: int | None = None

    def __post_init__(self):
        raw = self.terms
        if isinstance(raw, PauliSum):
            terms = raw.terms
        elif isinstance(raw, (Pauli, str)):
            terms = (_to_term(raw, "terms"),)
        elif isinstance(raw, Mapping):
            terms = tuple(Pauli(k, _coeff(v, f"coefficient of {k!r}")) for k, v in raw.items())
        elif isinstance(raw, Iterable):
            terms = tuple(_to_term(t, "terms") for t in raw)
        else:
            raise PauliError(
                f"terms must be a Pauli, a label, a mapping {{label: coeff}} or an iterable of "
                f"Paulis (got {raw!r})"
            )
        widths = {t.num_qubits for t in terms}
        if len(widths) > 1:
            first = terms[0]
            odd = next(t for t in terms if t.num_qubits != first.num_qubits)
            raise PauliError(
                f"all terms of a PauliSum must act on the same number of qubits; {first.label!r} "
                f"has {first.num_qubits} and {odd.label!r} has {odd.num_qubits}"
            )
        n = self.num_qubits
        if n is not None:
            n = _check_num_qubits(n)
            if widths and widths != {n}:
                raise PauliError(f"num_qubits={n} disagrees with the terms, which act on {widths.pop()} qubit(s)")
        elif widths:
            n = widths.pop()
        else:
            raise PauliError("an empty PauliSum needs num_qubits")
        object.__setattr__(self, "terms", terms)
        object.__setattr__(self, "num_qubits", n)

    # --- constructors -------------------------------------------------------------------------
    @classmethod
    def from_list(cls, pairs: Iterable[tuple[str, complex]], num_qubits: int | None = None) -> PauliSum:
        """From ``[(label, coeff), ...]`` (Qiskit's ``SparsePauliOp.from_list``).

        Example:
            >>> PauliSum.from_list([("XX", 1), ("ZZ", -0.5j)])
            PauliSum([('XX', 1.0), ('ZZ', -0.5j)])
        """
        terms = []
        for item in pairs:
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                raise PauliError(f"from_list takes (label, coeff) pairs (got {item!r})")
            terms.append(Pauli(item[0], _coeff(item[1], f"coefficient of {item[0]!r}")))
        return cls(tuple(terms), num_qubits)

    @classmethod
    def from_sparse_list(cls, triples: Iterable, num_qubits: int) -> PauliSum:
        """From ``[(letters, qubits, coeff), ...]``: ``letters[k]`` acts on ``qubits[k]``
        (Qiskit's ``SparsePauliOp.from_sparse_list``).

        Example:
            >>> PauliSum.from_sparse_list([("ZX", [1, 4], 2.0)], num_qubits=5)
            PauliSum([('XIIZI', 2.0)])
        """
        n = _check_num_qubits(num_qubits)
        terms = []
        for item in triples:
            if not (isinstance(item, (tuple, list)) and len(item) == 3):
                raise PauliError(f"from_sparse_list takes (letters, qubits, coeff) triples (got {item!r})")
            letters, qubits, coeff = item
            if not isinstance(letters, str):
                raise PauliError(f"letters must be a string (got {letters!r})")
            qubits = list(qubits)
            if len(qubits) != len(letters):
                raise PauliError(f"letters {letters!r} and qubits {qubits} differ in length")
            if len(set(qubits)) != len(qubits):
                raise PauliError(f"qubits {qubits} repeat a qubit")
            terms.append(Pauli.from_sparse(dict(zip(qubits, letters)), n, coeff))
        return cls(tuple(terms), n)

    # --- inspection ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.terms)

    def __iter__(self):
        return iter(self.terms)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(t.label for t in self.terms)

    @functools.cached_property
    def coeffs(self) -> np.ndarray:
        """The coefficients, a read-only complex128 array."""
        a = np.array([t.coeff for t in self.terms], dtype=np.complex128)
        a.setflags(write=False)
        return a

    @functools.cached_property
    def x_masks(self) -> np.ndarray:
        """Each term's x-mask, a read-only int64 array (object array above 63 qubits)."""
        return _mask_array([t.x_mask for t in self.terms], self.num_qubits)

    @functools.cached_property
    def z_masks(self) -> np.ndarray:
        """Each term's z-mask, a read-only int64 array (object array above 63 qubits)."""
        return _mask_array([t.z_mask for t in self.terms], self.num_qubits)

    # --- algebra ------------------------------------------------------------------------------
    def _coerce(self, other, op: str):
        """``other`` as a PauliSum of this width (a number is that multiple of the identity;
        0 is the empty sum, so ``sum(terms)`` adds no identity term); ``None`` if unsupported."""
        if isinstance(other, PauliSum):
            out = other
        elif isinstance(other, Pauli):
            out = PauliSum([other])
        elif isinstance(other, numbers.Number) and not isinstance(other, bool):
            c = _coeff(other, "scalar")
            terms = (Pauli("I" * self.num_qubits, c),) if c != 0 else ()
            out = PauliSum(terms, self.num_qubits)
        else:
            return None
        if out.num_qubits != self.num_qubits:
            raise PauliError(
                f"cannot {op} a {self.num_qubits}-qubit PauliSum and a {out.num_qubits}-qubit operator"
            )
        return out

    def __add__(self, other):
        o = self._coerce(other, "add")
        if o is None:
            return NotImplemented
        return PauliSum(self.terms + o.terms, self.num_qubits)

    def __radd__(self, other):
        o = self._coerce(other, "add")
        if o is None:
            return NotImplemented
        return PauliSum(o.terms + self.terms, self.num_qubits)

    def __sub__(self, other):
        o = self._coerce(other, "subtract")
        if o is None:
            return NotImplemented
        return self + (-o)

    def __rsub__(self, other):
        o = self._coerce(other, "subtract")
        if o is None:
            return NotImplemented
        return o + (-self)

    def __neg__(self) -> PauliSum:
        return PauliSum(tuple(-t for t in self.terms), self.num_qubits)

    def __mul__(self, other):
        if isinstance(other, (Pauli, PauliSum)):
            return self @ other
        if isinstance(other, numbers.Number) and not isinstance(other, bool):
            c = _coeff(other, "scalar")
            return PauliSum(tuple(Pauli(t.label, t.coeff * c) for t in self.terms), self.num_qubits)
        return NotImplemented

    def __rmul__(self, other):
        if isinstance(other, numbers.Number) and not isinstance(other, bool):
            return self * other
        return NotImplemented

    def __truediv__(self, other):
        if isinstance(other, numbers.Number) and not isinstance(other, bool):
            c = _coeff(other, "divisor")
            if c == 0:
                raise PauliError("cannot divide a PauliSum by zero")
            return self * (1 / c)
        return NotImplemented

    def __matmul__(self, other):
        o = self._coerce(other, "multiply") if isinstance(other, (Pauli, PauliSum)) else None
        if o is None:
            return NotImplemented
        return PauliSum(tuple(a.compose(b) for a in self.terms for b in o.terms), self.num_qubits)

    def __rmatmul__(self, other):
        if isinstance(other, Pauli):
            return PauliSum([other]) @ self
        return NotImplemented

    def compose(self, other) -> PauliSum:
        """The operator product ``self · other`` (every pair of terms; not simplified)."""
        out = self @ other
        if out is NotImplemented:
            raise PauliError(f"compose takes a Pauli or PauliSum (got {type(other).__name__})")
        return out

    def tensor(self, other) -> PauliSum:
        """``self ⊗ other``: ``other`` on the low qubits."""
        o = PauliSum(other) if isinstance(other, Pauli) else other
        if not isinstance(o, PauliSum):
            raise PauliError(f"tensor takes a Pauli or PauliSum (got {type(other).__name__})")
        return PauliSum(tuple(a.tensor(b) for a in self.terms for b in o.terms),
                        self.num_qubits + o.num_qubits)

    def adjoint(self) -> PauliSum:
        """The Hermitian conjugate (every coefficient conjugated)."""
        return PauliSum(tuple(t.adjoint() for t in self.terms), self.num_qubits)

    def simplify(self, atol: float = DEFAULT_ATOL) -> PauliSum:
        """Equal labels merged (in order of first appearance) and terms with ``|coeff| <= atol``
        dropped. A sum that cancels entirely is the empty (zero) sum.

        Example:
            >>> (Pauli("XZ") + Pauli("ZZ") - Pauli("XZ")).simplify()
            PauliSum([('ZZ', 1.0)])
        """
        merged: dict[str, complex] = {}
        for t in self.terms:
            merged[t.label] = merged.get(t.label, 0) + t.coeff
        return PauliSum(
            tuple(Pauli(k, c) for k, c in merged.items() if abs(c) > atol), self.num_qubits
        )

    def equiv(self, other, atol: float = DEFAULT_ATOL) -> bool:
        """Whether ``self`` and ``other`` are the same operator (coefficients to ``atol``)."""
        o = self._coerce(other, "compare")
        if o is None:
            raise PauliError(f"equiv takes a Pauli, PauliSum or number (got {type(other).__name__})")
        return len((self - o).simplify(atol)) == 0

    def is_hermitian(self, atol: float = DEFAULT_ATOL) -> bool:
        """Whether every coefficient is real to ``atol`` after ``simplify`` (Pauli strings are
        Hermitian, so this is Hermiticity of the operator)."""
        return bool(np.all(np.abs(self.simplify(atol).coeffs.imag) <= atol))

    def as_observable(self) -> PauliSum:
        """The sum simplified (``simplify()``) with real coefficients: the form expectation
        values take. Cached on the instance, so repeated expectation values of one sum pay
        for it once.

        Raises:
            PauliError: a term whose coefficient is not real after merging equal labels
                (imaginary part above ``1e-12 * max(1, max |coeff|)``); the error names it.

        Example:
            >>> PauliSum({"XY": 1 + 1e-17j, "ZZ": 2.0}).as_observable()
            PauliSum([('XY', 1.0), ('ZZ', 2.0)])
        """
        form = self._observable_form
        if isinstance(form, Pauli):
            raise PauliError(
                f"an observable must be Hermitian: term {form.label!r} has the non-real "
                f"coefficient {form.coeff!r} after simplify() (expected real coefficients)"
            )
        return form

    def split_identity(self) -> tuple[complex, PauliSum]:
        """``(c, rest)``: the summed coefficient of the identity terms and the other terms (in
        order). Cached on the instance.

        Example:
            >>> PauliSum({"II": 1.5, "XZ": 2.0, "-II": 0.5}).split_identity()
            ((1+0j), PauliSum([('XZ', 2.0)]))
        """
        return self._identity_split

    @functools.cached_property
    def _identity_split(self) -> tuple[complex, PauliSum]:
        constant = complex(sum((t.coeff for t in self.terms if not (t.x_mask | t.z_mask)), 0j))
        rest = tuple(t for t in self.terms if t.x_mask | t.z_mask)
        return constant, PauliSum(rest, self.num_qubits)

    @functools.cached_property
    def _observable_form(self):
        s = self.simplify()
        scale = max([1.0] + [abs(t.coeff) for t in s.terms])
        for t in s.terms:
            if abs(t.coeff.imag) > DEFAULT_ATOL * scale:
                return t
        return PauliSum(tuple(Pauli(t.label, t.coeff.real) for t in s.terms), self.num_qubits)

    # --- grouping -----------------------------------------------------------------------------
    def group_indices(self, qubit_wise: bool = True) -> list[list[int]]:
        """Term indices in groups of mutually commuting terms (greedy colouring).

        Terms are taken in order of decreasing weight (ties: by index) and each joins the
        first group it commutes with -- qubit-wise (``qubitwise_commutes``: one product
        basis measures the whole group) or as operators (``commutes``). Deterministic: the
        same sum gives the same groups. Cost: O(terms * groups) mask operations (times the
        group size for ``qubit_wise=False``).

        Example:
            >>> PauliSum(["ZZ", "XX", "ZI", "YY", "IX"]).group_indices()
            [[0, 2], [1, 4], [3]]
            >>> PauliSum(["ZZ", "XX", "ZI", "YY", "IX"]).group_indices(qubit_wise=False)
            [[0, 1, 3], [2, 4]]
        """
        xs = [t.x_mask for t in self.terms]
        zs = [t.z_mask for t in self.terms]
        order = sorted(range(len(xs)), key=lambda t: (-(xs[t] | zs[t]).bit_count(), t))
        groups: list[list[int]] = []
        # qubit-wise: a group is one letter per qubit, kept as masks (gx, gz)
        basis: list[tuple[int, int]] = []
        for t in order:
            x, z = xs[t], zs[t]
            placed = False
            for g, members in enumerate(groups):
                if qubit_wise:
                    gx, gz = basis[g]
                    if ((x ^ gx) | (z ^ gz)) & (x | z) & (gx | gz) == 0:
                        basis[g] = (gx | x, gz | z)
                        members.append(t)
                        placed = True
                        break
                elif all(((x & zs[u]) ^ (z & xs[u])).bit_count() % 2 == 0 for u in members):
                    members.append(t)
                    placed = True
                    break
            if not placed:
                groups.append([t])
                basis.append((x, z))
        for members in groups:
            members.sort()
        groups.sort(key=lambda m: m[0])
        return groups

    def group_commuting(self, qubit_wise: bool = True) -> list[PauliSum]:
        """The terms split into commuting groups, as ``PauliSum`` objects (see
        ``group_indices``; Qiskit's ``SparsePauliOp.group_commuting``)."""
        return [PauliSum(tuple(self.terms[t] for t in g), self.num_qubits)
                for g in self.group_indices(qubit_wise)]

    # --- matrices -----------------------------------------------------------------------------
    def _column_values(self):
        """``{x: v}`` with ``v[i] = sum_t coeff_t i**ny_t (-1)**popcount(i & z_t)`` over the
        terms of x-mask ``x``: the operator maps ``|i>`` to ``sum_x v[i] |i ^ x>``."""
        n = self.num_qubits
        idx = np.arange(1 << n, dtype=np.int64)
        cols: dict[int, np.ndarray] = {}
        for t in self.terms:
            x, z = t.x_mask, t.z_mask
            sign = 1 - 2 * (np.bitwise_count(idx & z) & 1).astype(np.float64)
            v = (t.coeff * _PHASES[(x & z).bit_count() % 4]) * sign
            if x in cols:
                cols[x] += v
            else:
                cols[x] = v.astype(np.complex128)
        return idx, cols

    def to_matrix(self) -> np.ndarray:
        """The dense ``2**n x 2**n`` complex128 matrix (little-endian: qubit 0 is the least
        significant bit of a row or column index, as Qiskit's ``SparsePauliOp.to_matrix``).

        Cost: ``16 * 4**n`` bytes (checked against the memory guard) and O(terms * 2**n) time.

        Example:
            >>> PauliSum({"XZ": 1.0}).to_matrix().real
            array([[ 0.,  0.,  1.,  0.],
                   [ 0.,  0.,  0., -1.],
                   [ 1.,  0.,  0.,  0.],
                   [ 0., -1.,  0.,  0.]])
        """
        n = self.num_qubits
        _memory.check_state_memory(2 * n, copies=1, what="dense Pauli-sum matrix")
        out = np.zeros((1 << n, 1 << n), dtype=np.complex128)
        idx, cols = self._column_values()
        for x, v in cols.items():
            out[idx ^ x, idx] += v
        return out

    def to_sparse(self):
        """The matrix as a ``scipy.sparse.csr_array`` (complex128), one diagonal-like band of
        ``2**n`` entries per distinct x-mask.

        Cost: about ``32 * 2**n`` bytes per distinct x-mask (checked against the memory guard).
        """
        from scipy import sparse

        n = self.num_qubits
        idx, cols = self._column_values()
        _memory.check_state_memory(n, copies=max(len(cols), 1), bytes_per_amplitude=32,
                                   what="sparse Pauli-sum matrix")
        dim = 1 << n
        if not cols:
            return sparse.csr_array((dim, dim), dtype=np.complex128)
        rows = np.concatenate([idx ^ x for x in cols])
        data = np.concatenate(list(cols.values()))
        columns = np.tile(idx, len(cols))
        m = sparse.coo_array((data, (rows, columns)), shape=(dim, dim)).tocsr()
        m.sum_duplicates()
        m.eliminate_zeros()
        return m

    # --- expectation values -------------------------------------------------------------------
    def _check_state(self, array, ndim: int, what: str) -> np.ndarray:
        a = np.asarray(array)
        dim = 1 << self.num_qubits
        if a.ndim != ndim or a.shape != (dim,) * ndim:
            raise PauliError(
                f"{what} of a {self.num_qubits}-qubit operator must have shape {(dim,) * ndim} "
                f"(got {a.shape})"
            )
        if not (np.issubdtype(a.dtype, np.number) and not np.issubdtype(a.dtype, np.bool_)):
            raise PauliError(f"{what} must hold numbers (got dtype {a.dtype})")
        return a

    def term_expectations_density_matrix(self, rho) -> np.ndarray:
        """``Tr(rho P_t)`` for each term's Pauli string ``P_t`` (without its coefficient).

        Derivation: ``P |i> = i**ny (-1)**popcount(i & z) |i ^ x>`` (``ny = popcount(x & z)``,
        the Y count), so ``P[i ^ x, i] = i**ny (-1)**popcount(i & z)`` and

            Tr(rho P) = sum_i rho[i, i ^ x] * i**ny * (-1)**popcount(i & z).

        For each distinct x-mask the ``2**n`` entries ``rho[i, i ^ x]`` are gathered once;
        the signed sums over ``i`` take one masked sum per term, or one Walsh-Hadamard
        transform of the gathered entries for a group of many terms.

        Cost: O(distinct x-masks * 2**n * min(n, terms)) time, O(2**n) extra memory; no
        dense Pauli matrix is built.
        """
        rho = self._check_state(rho, 2, "rho")
        return _pauli_traces(lambda x, idx: rho[idx, idx ^ x], rho.shape[0], self.x_masks, self.z_masks)

    def expectation_density_matrix(self, rho) -> complex:
        """``Tr(rho H)`` for this sum ``H`` and a ``2**n x 2**n`` matrix ``rho``.

        ``rho`` is taken as it is (not normalised). For a Hermitian ``H`` and a density
        matrix the value is real up to rounding. See ``term_expectations_density_matrix``
        for the formula and the cost.

        Raises:
            PauliError: ``rho`` of the wrong shape or not numeric.

        Example:
            >>> rho = np.diag([0.75, 0.25])               # 1 qubit, P(1) = 0.25
            >>> PauliSum({"Z": 2.0, "X": 1.0}).expectation_density_matrix(rho)
            (1+0j)
        """
        if not len(self):
            self._check_state(rho, 2, "rho")
            return 0j
        return complex(np.dot(self.term_expectations_density_matrix(rho), self.coeffs))

    def term_expectations_statevector(self, state) -> np.ndarray:
        """``<psi|P_t|psi>`` for each term's Pauli string (without its coefficient), real.

        Plain numpy, as ``term_expectations_density_matrix`` with ``rho[i, i ^ x] =
        psi[i] * conj(psi[i ^ x])``: O(2**n) extra memory per distinct x-mask.
        """
        psi = self._check_state(state, 1, "state")
        traces = _pauli_traces(lambda x, idx: psi * psi[idx ^ x].conj(), psi.size, self.x_masks, self.z_masks)
        return traces.real.copy()

    def expectation_statevector(self, state, *, num_threads: int | None = None) -> complex:
        """``<psi|H|psi>`` for this sum ``H`` and a vector of ``2**n`` amplitudes.

        Uses the numba kernel ``expectation_pauli_sum`` (one pass over the state per distinct
        x-mask, Walsh-Hadamard blocks for many terms sharing one, no copy of a complex128 or
        complex64 C-contiguous state); without numba (or with ``KIZUNA_NUMBA=0``) the numpy
        routine of ``term_expectations_statevector``. The state is not normalised. Complex
        coefficients are allowed: the real and imaginary parts of the coefficients are summed
        separately (Pauli strings have real expectations).

        Threads: ``num_threads`` kernel threads; by default one for states of up to
        ``2**13`` amplitudes (the kernel's chunks run serially there anyway, and waking the
        thread pool for every x-mask's setup cost about 10 ms per x-mask on a loaded two-core
        machine, against 3 us of work), else numba's current setting.

        Cost: O(2**n * log2(terms per x-mask)) time per distinct x-mask.

        Raises:
            PauliError: a state of the wrong size or not numeric, or a bad ``num_threads``.

        Example:
            >>> plus = np.array([1, 1]) / np.sqrt(2)
            >>> round(PauliSum({"X": 1.0, "Z": 3.0}).expectation_statevector(plus).real, 12)
            1.0
        """
        psi = self._check_state(state, 1, "state")
        if not len(self):
            return 0j
        kernels = _numba_kernels()
        if kernels is None:
            return complex(np.dot(self.term_expectations_statevector(psi), self.coeffs))
        if psi.dtype not in (np.complex128, np.complex64) or not psi.flags.c_contiguous:
            psi = np.ascontiguousarray(psi, dtype=np.complex128)
        if num_threads is not None and (
            isinstance(num_threads, bool) or not isinstance(num_threads, numbers.Integral) or num_threads < 1
        ):
            raise PauliError(f"num_threads must be a positive integer or None (got {num_threads!r})")
        if num_threads is None and psi.size <= _SERIAL_AMPLITUDES:
            num_threads = 1
        before = kernels.get_num_threads()
        if num_threads is not None:
            kernels.set_num_threads(min(int(num_threads), _numba_max_threads()))
        try:
            c = self.coeffs
            real = kernels.expectation_pauli_sum(psi, self.x_masks, self.z_masks, c.real)
            imag = 0.0
            if np.any(c.imag):
                imag = kernels.expectation_pauli_sum(psi, self.x_masks, self.z_masks, c.imag)
        finally:
            kernels.set_num_threads(before)
        return complex(real, imag)

    # --- serialisation --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """``{"num_qubits": n, "terms": [[label, [re, im]], ...]}`` (JSON-ready)."""
        return {"num_qubits": self.num_qubits,
                "terms": [[t.label, _coeff_json(t.coeff)] for t in self.terms]}

    @classmethod
    def from_dict(cls, data: Mapping) -> PauliSum:
        """The inverse of ``to_dict``."""
        if not isinstance(data, Mapping) or "terms" not in data or "num_qubits" not in data:
            raise PauliError(f"a PauliSum dictionary needs 'num_qubits' and 'terms' (got {data!r})")
        terms = []
        for item in data["terms"]:
            if not (isinstance(item, (list, tuple)) and len(item) == 2):
                raise PauliError(f"a PauliSum term is stored as [label, [re, im]] (got {item!r})")
            try:
                coeff = _coeff_from_json(item[1], f"coefficient of {item[0]!r}")
            except (TypeError, ValueError) as exc:
                raise PauliError(f"bad coefficient {item[1]!r}: {exc}") from None
            terms.append(Pauli(item[0], coeff))
        return cls(tuple(terms), data["num_qubits"])

    def sha256(self) -> str:
        """SHA-256 (hex) of the canonical JSON of ``to_dict`` (term order counts); computed
        once per instance."""
        return self._sha256

    @functools.cached_property
    def _sha256(self) -> str:
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def __str__(self) -> str:
        if not self.terms:
            return f"0 (on {self.num_qubits} qubits)"
        out = str(self.terms[0])
        for t in self.terms[1:]:
            s = str(t)
            out += f" - {s[1:]}" if s.startswith("-") else f" + {s}"
        return out

    def __repr__(self) -> str:
        items = ", ".join(f"({t.label!r}, {_fmt_coeff(t.coeff)})" for t in self.terms)
        if not self.terms:
            return f"PauliSum([], num_qubits={self.num_qubits})"
        return f"PauliSum([{items}])"
