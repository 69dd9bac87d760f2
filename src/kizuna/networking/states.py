"""Entangled pairs of a quantum network: Bell-diagonal states and their density matrices.

Two representations that give the same answers (``tests/networking/test_states.py`` checks
every shortcut against the brute-force density matrix):

* ``BellDiagonalState``: four probabilities, fast. A pair of qubits (A, B) is the mixture
  ``sum_P lambda_P (I (x) P)|Phi+><Phi+|(I (x) P)`` over the Paulis ``P = I, X, Y, Z`` on
  qubit B, i.e. the Bell states ``Phi+, Psi+, Psi-, Phi-`` in that order. Pauli noise, Pauli
  twirls, entanglement swapping and the recurrence purification protocols keep a state
  Bell-diagonal, so a repeater chain with depolarizing links, dephasing memories and noisy
  Bell measurements never needs more.
* A 4 x 4 density matrix (``numpy`` complex128, little-endian: qubit A is bit 0 of the basis
  index, as everywhere in Kizuna), for what leaves the Bell-diagonal family, such as energy
  relaxation (T1) of a stored qubit: the ``*_density_matrix`` functions apply the core's
  channels (``kizuna.core.channels``) and project explicitly.

Conventions: fidelities are with ``|Phi+> = (|00> + |11>) / sqrt(2)``; probabilities are in
[0, 1]; times are in seconds.

This module imports ``core`` only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..core.channels import Channel, depolarizing
from ..errors import NetworkError

__all__ = [
    "BellDiagonalState",
    "bell_state_density_matrix",
    "chsh_value",
    "dephasing_probability",
    "fidelity",
    "purify_bbpssw",
    "purify_dejmps",
    "purify_density_matrices",
    "swap",
    "swap_density_matrices",
    "swap_superoperator",
    "teleport",
    "teleportation_fidelity",
    "werner",
]

# Paulis I, X, Y, Z as (x, z) bits: their product up to phase is the XOR
_XZ = (0, 1, 3, 2)  # I=00, X=01, Y=11, Z=10 (bit 0: x, bit 1: z); the map is its own inverse
_PAULI = (
    np.eye(2, dtype=np.complex128),
    np.array([[0, 1], [1, 0]], dtype=np.complex128),
    np.array([[0, -1j], [1j, 0]], dtype=np.complex128),
    np.array([[1, 0], [0, -1]], dtype=np.complex128),
)
#: ``_PRODUCT[i][j]``: the index of ``P_i P_j`` up to phase.
_PRODUCT = tuple(tuple(_XZ[_XZ[i] ^ _XZ[j]] for j in range(4)) for i in range(4))


def _probability(value, name: str) -> float:
    try:
        p = float(value)
    except (TypeError, ValueError):
        raise NetworkError(f"{name} must be a probability in [0, 1] (got {value!r})") from None
    if not 0.0 <= p <= 1.0:
        raise NetworkError(f"{name} must be a probability in [0, 1] (got {value!r})")
    return p


@dataclass(frozen=True)
class BellDiagonalState:
    """A two-qubit state diagonal in the Bell basis.

    Attributes:
        coefficients: probabilities of ``(Phi+, Psi+, Psi-, Phi-)``, i.e. of the Pauli
            ``I, X, Y, Z`` on qubit B applied to ``Phi+``; non-negative, summing to 1 (within
            1e-9; stored renormalised).

    Raises:
        NetworkError: not four finite non-negative numbers summing to 1.

    Example:
        >>> s = werner(0.9)
        >>> round(s.fidelity, 6), [round(c, 6) for c in s.coefficients]
        (0.9, [0.9, 0.033333, 0.033333, 0.033333])
        >>> round(swap(s, s).fidelity, 6)    # F1 F2 + (1 - F1)(1 - F2) / 3
        0.813333
    """

    coefficients: tuple[float, float, float, float]

    def __post_init__(self):
        try:
            c = np.asarray(self.coefficients, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise NetworkError(f"coefficients must be four probabilities (got {self.coefficients!r})") from None
        if c.shape != (4,) or not np.isfinite(c).all() or c.min() < -1e-12 or abs(c.sum() - 1) > 1e-9:
            raise NetworkError(
                "coefficients must be four non-negative probabilities of (Phi+, Psi+, Psi-, Phi-) "
                f"summing to 1 (got {self.coefficients!r})"
            )
        if c.min() < 0 or abs(c.sum() - 1) > 8 * np.finfo(np.float64).eps:
            c = np.clip(c, 0.0, None)
            c = c / c.sum()
        # coefficients already normalised to rounding stay as given (saved files reload exactly)
        object.__setattr__(self, "coefficients", tuple(float(v) for v in c))

    @property
    def fidelity(self) -> float:
        """``<Phi+|rho|Phi+>``."""
        return self.coefficients[0]

    @classmethod
    def from_density_matrix(cls, rho) -> BellDiagonalState:
        """The Bell-basis diagonal of ``rho`` (the state after a Bell-diagonal twirl; equal to
        ``rho`` when ``rho`` is Bell-diagonal)."""
        rho = _check_pair_matrix(rho)
        return cls(tuple(float(np.vdot(b, rho @ b).real) for b in _bell_vectors()))

    def density_matrix(self) -> np.ndarray:
        """The 4 x 4 density matrix (qubit A is bit 0 of the index)."""
        return sum(c * np.outer(b, b.conj()) for c, b in zip(self.coefficients, _bell_vectors()))

    def apply_pauli_channel(self, px: float = 0.0, py: float = 0.0, pz: float = 0.0) -> BellDiagonalState:
        """The state after the Pauli channel ``(1-px-py-pz) rho + px X rho X + ...`` on one
        qubit (on either: for a Bell-diagonal state the two give the same state)."""
        probs = (1.0 - px - py - pz, px, py, pz)
        if min(probs) < -1e-12:
            raise NetworkError(f"Pauli channel probabilities must be >= 0 and sum to <= 1 (got {px}, {py}, {pz})")
        return _trusted(_convolve(self.coefficients, probs))

    def dephase(self, p: float) -> BellDiagonalState:
        """The state after a Z error with probability ``p`` on one qubit (Z swaps Phi+ with
        Phi- and Psi+ with Psi-)."""
        p = _probability(p, "p")
        i, x, y, z = self.coefficients
        q = 1.0 - p
        return _trusted((q * i + p * z, q * x + p * y, q * y + p * x, q * z + p * i))

    def depolarize(self, p: float) -> BellDiagonalState:
        """``(1 - p) rho + p I/2 (x) tr_q(rho)`` on one qubit: Bell-diagonal ``(1-p) lambda + p/4``."""
        p = _probability(p, "p")
        return _trusted(tuple((1 - p) * c + p / 4 for c in self.coefficients))

    def to_dict(self) -> dict:
        return {"coefficients": list(self.coefficients)}

    @classmethod
    def from_dict(cls, data: dict) -> BellDiagonalState:
        try:
            return cls(tuple(data["coefficients"]))
        except (KeyError, TypeError) as exc:
            raise NetworkError(f"not a Bell-diagonal state dictionary: {exc!r}") from None


def _read_probability(outcome: int, read: int, e: float) -> float:
    """Probability that Bell-measurement outcome ``outcome`` (a Pauli index I, X, Y, Z) is read
    as ``read`` when each of its two bits (x and z) is misread with probability ``e``."""
    diff = _XZ[outcome] ^ _XZ[read]
    return (e if diff & 1 else 1 - e) * (e if diff & 2 else 1 - e)


def _trusted(coefficients) -> BellDiagonalState:
    """A ``BellDiagonalState`` from coefficients this module computed (valid by construction:
    skips the checks, which cost more than the arithmetic in a repeater chain's inner loop)."""
    s = object.__new__(BellDiagonalState)
    object.__setattr__(s, "coefficients", tuple(coefficients))
    return s


def werner(fidelity: float) -> BellDiagonalState:
    """The Werner state of fidelity ``F``: ``Phi+`` with probability ``F``, each other Bell state
    ``(1 - F)/3`` (the twirl of any state of that fidelity; ``F = 1/4`` is maximally mixed,
    entangled for ``F > 1/2``)."""
    f = _probability(fidelity, "fidelity")
    r = (1.0 - f) / 3.0
    return BellDiagonalState((f, r, r, r))


def _convolve(a, b) -> tuple[float, ...]:
    """Composition of two Pauli-error distributions over (I, X, Y, Z): ``out[k] = sum over
    P_i P_j = P_k`` (up to phase) of ``a[i] b[j]``; written out, it runs in every swap."""
    a0, a1, a2, a3 = a
    b0, b1, b2, b3 = b
    return (a0 * b0 + a1 * b1 + a2 * b2 + a3 * b3,
            a0 * b1 + a1 * b0 + a2 * b3 + a3 * b2,
            a0 * b2 + a2 * b0 + a1 * b3 + a3 * b1,
            a0 * b3 + a3 * b0 + a1 * b2 + a2 * b1)


def dephasing_probability(t_s: float, t2_s: float) -> float:
    """The Z-flip probability ``(1 - exp(-t/T2)) / 2`` of a qubit stored ``t_s`` seconds in a
    memory of coherence time ``t2_s`` (pure dephasing; ``math.inf`` means none)."""
    if not t_s >= 0:
        raise NetworkError(f"storage time must be >= 0 s (got {t_s!r})")
    if not t2_s > 0:
        raise NetworkError(f"t2_s must be > 0 seconds (got {t2_s!r})")
    return 0.5 * (1.0 - math.exp(-t_s / t2_s))


def swap(a: BellDiagonalState, b: BellDiagonalState, *, gate_depolarizing: float = 0.0,
         readout_error: float = 0.0) -> BellDiagonalState:
    """Entanglement swapping: a Bell measurement on B of pair (A, B) and C of pair (C, D), then
    the Pauli correction on D; returns the (A, D) state, averaged over the four outcomes.

    A perfect Bell measurement composes the Pauli errors (``lambda'_k = sum_{P_i P_j = P_k}
    lambda_i mu_j``), so for Werner pairs ``F' = F1 F2 + (1 - F1)(1 - F2)/3`` (Dür & Briegel,
    Rep. Prog. Phys. 70, 1381 (2007)). Noise: the two measured qubits are first depolarized
    by ``depolarizing(gate_depolarizing, 2)`` (a noisy CNOT), and each of the two outcome bits
    is misread with probability ``readout_error``, which applies the wrong X (Z) correction.
    This is the noisy Bell measurement of Briegel, Dür, Cirac & Zoller, PRL 81, 5932 (1998)
    and Dür et al., PRA 59, 169 (1999), with their gate reliability ``p2 = 1 -
    gate_depolarizing`` and measurement reliability ``eta = 1 - readout_error``; the map is
    exact for Bell-diagonal inputs (``tests/networking/test_hardware_models.py`` checks it
    against the swap circuit on Kizuna's density-matrix simulator to 1e-12).
    """
    return _swap_bd(a, b, _probability(gate_depolarizing, "gate_depolarizing"),
                    _probability(readout_error, "readout_error"))


def _swap_bd(a: BellDiagonalState, b: BellDiagonalState, pg: float, e: float) -> BellDiagonalState:
    """``swap`` with checked probabilities (the repeater chain's inner loop)."""
    out = _convolve(a.coefficients, b.coefficients)
    if pg:
        out = tuple((1 - pg) * c + pg / 4 for c in out)
    if e:  # the correction applied is off by P with the probability that outcome I reads as P
        out = _convolve(out, tuple(_read_probability(0, p, e) for p in range(4)))
    return _trusted(out)


def purify_bbpssw(a: BellDiagonalState, b: BellDiagonalState) -> tuple[BellDiagonalState, float]:
    """One round of BBPSSW purification (Bennett et al., PRL 76, 722 (1996)): both pairs are
    twirled to Werner states, bilateral CNOTs, the target pair measured in Z; kept when the
    outcomes agree. Returns the kept pair (a Werner state again) and the success probability:
    ``F' = (F1 F2 + (1-F1)(1-F2)/9) / N``, ``N = F1 F2 + F1 (1-F2)/3 + (1-F1) F2/3 +
    5 (1-F1)(1-F2)/9``."""
    f1, f2 = a.fidelity, b.fidelity
    g1, g2 = (1 - f1) / 3, (1 - f2) / 3
    n = f1 * f2 + f1 * g2 + g1 * f2 + 5 * g1 * g2
    return werner((f1 * f2 + g1 * g2) / n), n


def purify_dejmps(a: BellDiagonalState, b: BellDiagonalState) -> tuple[BellDiagonalState, float]:
    """One round of DEJMPS purification (Deutsch et al., PRL 77, 2818 (1996)): local
    ``rx(pi/2)``/``rx(-pi/2)`` rotations, bilateral CNOTs, the target pair measured in Z; kept
    when the outcomes agree. With ``(A, B, C, D)`` the weights of ``(Phi+, Psi-, Psi+, Phi-)``:
    ``A' = (A1 A2 + B1 B2)/N``, ``B' = (C1 D2 + D1 C2)/N``, ``C' = (C1 C2 + D1 D2)/N``,
    ``D' = (A1 B2 + B1 A2)/N``, ``N = (A1 + B1)(A2 + B2) + (C1 + D1)(C2 + D2)``. Returns the
    kept pair and the success probability ``N``. Different inputs (``a`` the kept pair, ``b``
    a fresh one) give entanglement pumping."""
    a1, c1, b1, d1 = a.coefficients  # stored order: Phi+, Psi+, Psi-, Phi-
    a2, c2, b2, d2 = b.coefficients
    n = (a1 + b1) * (a2 + b2) + (c1 + d1) * (c2 + d2)
    A = (a1 * a2 + b1 * b2) / n
    B = (c1 * d2 + d1 * c2) / n
    C = (c1 * c2 + d1 * d2) / n
    D = (a1 * b2 + b1 * a2) / n
    return _trusted((A, C, B, D)), n


def teleportation_fidelity(state) -> float:
    """The average fidelity of teleporting a qubit through ``state`` (a ``BellDiagonalState`` or
    a 4 x 4 density matrix) with the standard protocol: ``(2 F + 1) / 3`` with ``F`` the
    fidelity to ``Phi+`` (Horodecki et al., PRA 60, 1888 (1999))."""
    return (2.0 * fidelity(state) + 1.0) / 3.0


def teleport(pair, qubit_state, *, gate_depolarizing: float = 0.0, readout_error: float = 0.0) -> np.ndarray:
    """Teleport a one-qubit state through ``pair`` (A with the sender, B with the receiver):
    a Bell measurement of (input, A) -- after ``depolarizing(gate_depolarizing, 2)`` on those
    two qubits, each outcome bit misread with probability ``readout_error`` -- and the Pauli
    correction for the outcome read, on B. Returns B's 2 x 2 state averaged over the outcomes.

    Args:
        pair: a ``BellDiagonalState`` or a 4 x 4 density matrix (A bit 0).
        qubit_state: a length-2 state vector or a 2 x 2 density matrix.

    Example:
        >>> out = teleport(werner(1.0), np.array([0.6, 0.8]))
        >>> bool(np.allclose(out, [[0.36, 0.48], [0.48, 0.64]]))
        True
    """
    pg = _probability(gate_depolarizing, "gate_depolarizing")
    e = _probability(readout_error, "readout_error")
    rho_pair = pair.density_matrix() if isinstance(pair, BellDiagonalState) else _check_pair_matrix(pair)
    psi = np.asarray(qubit_state, dtype=np.complex128)
    if psi.shape == (2,):
        psi = np.outer(psi, psi.conj()) / np.vdot(psi, psi).real
    if psi.shape != (2, 2) or abs(np.trace(psi) - 1) > 1e-8:
        raise NetworkError(f"qubit_state must be a 2-vector or a 2 x 2 density matrix (got shape {psi.shape})")
    rho = np.kron(rho_pair, psi)  # input bit 0, A bit 1, B bit 2
    if pg:
        rho = _apply(rho, depolarizing(pg, 2).kraus, (0, 1), 3)
    t = rho.reshape([2] * 6)  # axes: B, A, in | B', A', in'
    out = np.zeros((2, 2), dtype=np.complex128)
    for k, b in enumerate(_bell_vectors()):  # on (in, A): in is bit 0
        bv = b.reshape(2, 2)  # axes (A, in)
        branch = np.einsum("ai,baiBAI,AI->bB", bv.conj(), t, bv)
        for read in range(4):
            prob = _read_probability(k, read, e)
            if prob:
                c = _PAULI[read]
                out += prob * (c @ branch @ c.conj().T)
    return out


def fidelity(state) -> float:
    """``<Phi+|rho|Phi+>`` of a ``BellDiagonalState`` or a 4 x 4 density matrix."""
    if isinstance(state, BellDiagonalState):
        return state.fidelity
    rho = _check_pair_matrix(state)
    # <Phi+|rho|Phi+> = (rho00 + rho33 + rho03 + rho30) / 2
    return float(0.5 * (rho[0, 0] + rho[3, 3] + rho[0, 3] + rho[3, 0]).real)


def chsh_value(state) -> float:
    """The largest CHSH value ``S`` any measurement settings reach on ``state``: ``2 sqrt(t1**2
    + t2**2)`` with ``t1 >= t2`` the two largest singular values of the correlation matrix
    ``T_ij = tr(rho sigma_i (x) sigma_j)`` (Horodecki, Horodecki & Horodecki, Phys. Lett. A
    200, 340 (1995)). For a Werner state of visibility ``p = (4F - 1)/3``: ``2 sqrt(2) p``."""
    rho = state.density_matrix() if isinstance(state, BellDiagonalState) else _check_pair_matrix(state)
    t = np.array([[np.trace(rho @ np.kron(_PAULI[j], _PAULI[i])).real for j in (1, 2, 3)] for i in (1, 2, 3)])
    s = np.linalg.svd(t, compute_uv=False)
    return float(2.0 * math.sqrt(s[0] ** 2 + s[1] ** 2))


# --- the density-matrix path ------------------------------------------------------------------
@lru_cache(maxsize=1)
def _bell_vectors() -> tuple[np.ndarray, ...]:
    """``(I (x) P)|Phi+>`` for P = I, X, Y, Z; qubit A is bit 0 of the index, B bit 1
    (computed once; read-only)."""
    phi = np.zeros(4, dtype=np.complex128)
    phi[0] = phi[3] = 1 / math.sqrt(2)
    # kron(P_B, I_A): B is the high bit
    out = tuple(np.kron(p, np.eye(2)) @ phi for p in _PAULI)
    for v in out:
        v.setflags(write=False)
    return out


def bell_state_density_matrix(which: str = "phi+") -> np.ndarray:
    """``|b><b|`` for ``which`` in ``phi+``, ``psi+``, ``psi-``, ``phi-``."""
    names = ("phi+", "psi+", "psi-", "phi-")
    if which not in names:
        raise NetworkError(f"which must be one of {', '.join(names)} (got {which!r})")
    b = _bell_vectors()[names.index(which)]
    return np.outer(b, b.conj())


def _check_pair_matrix(rho) -> np.ndarray:
    try:
        m = np.asarray(rho, dtype=np.complex128)
    except (TypeError, ValueError):
        raise NetworkError(f"expected a 4 x 4 density matrix (got {type(rho).__name__})") from None
    if m.shape != (4, 4) or not np.isfinite(m).all() or abs(np.trace(m) - 1) > 1e-8:
        raise NetworkError(f"expected a 4 x 4 density matrix of trace 1 (got shape {m.shape})")
    return m


def _apply(rho: np.ndarray, kraus, qubits: tuple[int, ...], n: int) -> np.ndarray:
    """``sum_k K rho K^dagger`` with each ``K`` (little-endian over ``qubits``) acting on the
    given qubits of an ``n``-qubit density matrix."""
    k = len(qubits)
    t = rho.reshape((2,) * (2 * n))
    # axis of qubit q in the row index: n - 1 - q (big-endian reshape of a little-endian index)
    rows = [n - 1 - q for q in reversed(qubits)]
    cols = [2 * n - 1 - q for q in reversed(qubits)]
    out = np.zeros_like(t)
    for op in kraus:
        m = np.asarray(op).reshape((2,) * (2 * k))
        x = np.tensordot(m, t, axes=(list(range(k, 2 * k)), rows))
        x = np.moveaxis(x, list(range(k)), rows)
        x = np.tensordot(x, m.conj(), axes=(cols, list(range(k, 2 * k))))
        x = np.moveaxis(x, list(range(2 * n - k, 2 * n)), cols)
        out += x
    return out.reshape(rho.shape)


def apply_channel_density_matrix(rho, channel: Channel, qubit: int) -> np.ndarray:
    """A one-qubit ``Channel`` of the core applied to qubit ``qubit`` (0 = A, 1 = B) of a pair."""
    rho = _check_pair_matrix(rho)
    if channel.num_qubits != 1 or qubit not in (0, 1):
        raise NetworkError(f"expected a one-qubit channel on qubit 0 or 1 (got {channel!r} on {qubit!r})")
    return _apply(rho, channel.kraus, (qubit,), 2)


def swap_density_matrices(rho_ab, rho_cd, *, gate_depolarizing: float = 0.0,
                          readout_error: float = 0.0) -> np.ndarray:
    """Entanglement swapping on density matrices, by brute force: the four-qubit state
    ``rho_ab (x) rho_cd`` (qubits A=0, B=1, C=2, D=3), ``depolarizing(gate_depolarizing, 2)``
    on (B, C), projection onto each Bell state of (B, C), each outcome bit misread with
    probability ``readout_error``, the Pauli correction for the outcome *read* applied to D,
    and the four branches summed. Returns the 4 x 4 state of (A, D) (A bit 0)."""
    pg = _probability(gate_depolarizing, "gate_depolarizing")
    e = _probability(readout_error, "readout_error")
    return _swap_raw(_check_pair_matrix(rho_ab), _check_pair_matrix(rho_cd), pg, e)


def _swap_raw(r1: np.ndarray, r2: np.ndarray, pg: float, e: float) -> np.ndarray:
    """``swap_density_matrices`` without the checks (bilinear in ``r1``, ``r2``)."""
    rho = np.kron(r2, r1)  # index = ab + 4 * cd: A bit 0, B bit 1, C bit 2, D bit 3
    if pg:
        rho = _apply(rho, depolarizing(pg, 2).kraus, (1, 2), 4)
    out = np.zeros((4, 4), dtype=np.complex128)
    t = rho.reshape([2] * 8)  # axes: D, C, B, A | D', C', B', A'
    for k, b in enumerate(_bell_vectors()):  # on (B, C), B as bit 0 of the Bell vector
        bv = b.reshape(2, 2)  # axes (C, B): C is the high bit
        branch = np.einsum("cb,dcbaDCBA,CB->daDA", bv.conj(), t, bv).reshape(4, 4)  # (A, D), D high
        for read in range(4):
            prob = _read_probability(k, read, e)
            if prob == 0.0:
                continue
            # the outcome leaves P_k on D (up to phase); correct with the P that was read
            corr = np.kron(_PAULI[read], np.eye(2))
            out += prob * (corr @ branch @ corr.conj().T)
    return out


def _cnot(control: int, target: int, n: int) -> np.ndarray:
    dim = 1 << n
    idx = np.arange(dim)
    out = np.where((idx >> control) & 1, idx ^ (1 << target), idx)
    u = np.zeros((dim, dim))
    u[out, idx] = 1.0
    return u


def _one_qubit_on(op: np.ndarray, qubit: int, n: int) -> np.ndarray:
    out = np.eye(1, dtype=np.complex128)
    for q in reversed(range(n)):
        out = np.kron(out, op if q == qubit else np.eye(2))
    return out


def purify_density_matrices(rho_kept, rho_sacrificed, protocol: str = "dejmps") -> tuple[np.ndarray, float]:
    """One purification round on density matrices, by brute force: pair 1 = (A1, B1) is kept,
    pair 2 = (A2, B2) measured. ``"dejmps"``: ``rx(pi/2)`` on A1, A2 and ``rx(-pi/2)`` on B1, B2
    first (Deutsch et al. 1996); ``"bbpssw"``: both pairs are first twirled to Werner states
    (Bennett et al. 1996). Then CNOT A1->A2 and B1->B2, Z measurements of A2 and B2, kept when
    they agree. Returns the kept 4 x 4 state (normalised) and the success probability; equals
    ``purify_dejmps``/``purify_bbpssw`` on Bell-diagonal inputs."""
    if protocol not in ("dejmps", "bbpssw"):
        raise NetworkError(f"protocol must be 'dejmps' or 'bbpssw' (got {protocol!r})")
    r1, r2 = _check_pair_matrix(rho_kept), _check_pair_matrix(rho_sacrificed)
    if protocol == "bbpssw":
        r1 = werner(fidelity(r1)).density_matrix()
        r2 = werner(fidelity(r2)).density_matrix()
    rho = np.kron(r2, r1)  # A1 bit 0, B1 bit 1, A2 bit 2, B2 bit 3
    u = _cnot(1, 3, 4) @ _cnot(0, 2, 4)
    if protocol == "dejmps":
        c, s_ = math.cos(math.pi / 4), math.sin(math.pi / 4)
        plus = np.array([[c, -1j * s_], [-1j * s_, c]])   # rx(pi/2)
        minus = plus.conj()                               # rx(-pi/2)
        u = u @ _one_qubit_on(plus, 0, 4) @ _one_qubit_on(minus, 1, 4) @ _one_qubit_on(plus, 2, 4) @ _one_qubit_on(
            minus, 3, 4)
    rho = u @ rho @ u.conj().T
    idx = np.arange(16)
    keep = ((idx >> 2) & 1) == ((idx >> 3) & 1)
    kept = rho[np.ix_(keep, keep)]
    kept_idx = idx[keep]
    p = float(np.trace(kept).real)
    out = np.zeros((4, 4), dtype=np.complex128)
    low = kept_idx & 3
    for i, a in enumerate(low):
        for j, b in enumerate(low):
            if (kept_idx[i] >> 2) == (kept_idx[j] >> 2):
                out[a, b] += kept[i, j]
    if protocol == "bbpssw":
        out = werner(fidelity(out / p)).density_matrix() * p
    return out / p, p


@lru_cache(maxsize=64)
def swap_superoperator(gate_depolarizing: float = 0.0, readout_error: float = 0.0) -> np.ndarray:
    """The bilinear map of ``swap_density_matrices`` as a ``16 x 256`` matrix ``T``:
    ``vec(rho_ad) = T @ kron(vec(rho_ab), vec(rho_cd))`` with Kizuna's column-stacking ``vec``
    (``vec(rho)[i + 4 j] = rho[i, j]``, ``rho.reshape(16, order="F")``); applying it costs
    4096 multiply-adds.

    Built from two brute-force projections (cached): the depolarizing channel is affine in its
    probability, ``T(p_g) = (1 - p_g) T(0) + p_g T(1)``, and a misread outcome bit leaves the
    wrong Pauli on D, so the readout errors are the Pauli channel ``sum_s q_s P_s . P_s`` on D
    after the swap (``q_s``: the probability outcome I is read as ``s``)."""
    pg = _probability(gate_depolarizing, "gate_depolarizing")
    e = _probability(readout_error, "readout_error")
    t = (1.0 - pg) * _swap_superoperator_base(False) + pg * _swap_superoperator_base(True) if pg else (
        _swap_superoperator_base(False))
    if e:
        s = sum(_read_probability(0, k, e) * np.kron(np.kron(_PAULI[k], np.eye(2)).conj(),
                                                     np.kron(_PAULI[k], np.eye(2))) for k in range(4))
        t = s @ t
    t = np.ascontiguousarray(t)
    t.setflags(write=False)
    return t


@lru_cache(maxsize=2)
def _swap_superoperator_base(depolarized: bool) -> np.ndarray:
    """``swap_superoperator(1 if depolarized else 0, 0)`` by brute force, on all 256 pairs of
    basis matrices at once (the projection of ``_swap_raw``, batched)."""
    eye16 = np.eye(16, dtype=np.complex128)
    basis = np.stack([eye16[i].reshape(4, 4, order="F") for i in range(16)])
    # rho[u, v] = kron(E_v, E_u): A bit 0, B bit 1 (pair 1 = E_u), C bit 2, D bit 3 (pair 2 = E_v)
    rho = np.einsum("vij,ukl->uvikjl", basis, basis).reshape(16, 16, 16, 16)
    t = rho.reshape((16, 16) + (2,) * 8)  # u, v, D C B A | D' C' B' A'
    if depolarized:  # completely depolarize (B, C): I/4 (x) tr_BC
        red = np.einsum("uvdcbaDcbA->uvdaDA", t)
        delta = np.eye(2)
        t = np.einsum("uvdaDA,cC,bB->uvdcbaDCBA", red, delta, delta) / 4.0
    out = np.zeros((16, 16, 4, 4), dtype=np.complex128)
    for k, b in enumerate(_bell_vectors()):
        bv = b.reshape(2, 2)  # axes (C, B)
        branch = np.einsum("cb,uvdcbaDCBA,CB->uvdaDA", bv.conj(), t, bv).reshape(16, 16, 4, 4)
        corr = np.kron(_PAULI[k], np.eye(2))
        out += corr @ branch @ corr.conj().T
    # column 16 u + v holds vec(out[u, v]) (column-stacking: the transpose, row-major)
    return out.transpose(0, 1, 3, 2).reshape(256, 16).T.copy()
