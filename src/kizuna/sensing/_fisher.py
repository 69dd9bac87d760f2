"""Quantum and classical Fisher information and Cramér–Rao bounds.

Conventions: a parameter ``theta`` is encoded as ``rho(theta) = e^{-i theta G} rho e^{i theta G}``
with a Hermitian generator ``G``. For a pure state the quantum Fisher information (QFI) is
``4 Var(G)``; for a mixed state ``rho = sum_k p_k |k><k|`` it is the symmetric-logarithmic-
derivative (SLD) form ``F = 2 sum_{k,l: p_k + p_l > threshold} (p_k - p_l)^2 / (p_k + p_l) |G_kl|^2``
(Braunstein & Caves, PRL 72, 3439 (1994)), computed from one ``numpy.linalg.eigh``.

Generators may be dense matrices, 1-D arrays (the diagonal of a diagonal generator),
``scipy.sparse`` matrices or ``kizuna.PauliSum`` (a sum of Z strings is kept diagonal, so a
collective ``Jz`` on 20 qubits costs O(2**20)).

This module imports numpy, scipy and ``kizuna.core``/``kizuna.errors`` only.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from ..core.paulis import PauliSum
from ..errors import SensingError

__all__ = [
    "cfi",
    "circuit_qfi",
    "collective_spin",
    "cramer_rao_bound",
    "povm_cfi",
    "qfi",
    "qfi_from_derivative",
    "qfi_matrix",
]

#: Default eigenvalue-sum threshold of the mixed-state QFI: pairs with ``p_k + p_l`` below it
#: are dropped (they carry no population; keeping them only amplifies rounding noise).
DEFAULT_THRESHOLD = 1e-12
#: Tolerance of the state checks (norm, trace, Hermiticity, positivity), scaled by the dimension.
STATE_ATOL = 1e-8


# --- inputs --------------------------------------------------------------------------------
def _check_state(state, what: str = "state") -> np.ndarray:
    """A state vector (1-D, unit norm) or a density matrix (Hermitian, unit trace, PSD up to
    tolerance); returned as complex128. The PSD check is done where an eigendecomposition is
    computed anyway."""
    a = np.asarray(state)
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.bool_):
        raise SensingError(f"{what} must hold numbers (got dtype {a.dtype})")
    a = a.astype(np.complex128, copy=False)
    if a.ndim == 1:
        if a.size == 0:
            raise SensingError(f"{what} must not be empty")
        if not np.all(np.isfinite(a)):
            raise SensingError(f"{what} holds NaN or infinite amplitudes")
        norm = float(np.vdot(a, a).real)
        if abs(norm - 1.0) > STATE_ATOL * max(1, a.size) ** 0.5:
            raise SensingError(f"{what} must be a unit vector (got squared norm {norm:.12g})")
        return a
    if a.ndim == 2:
        if a.shape[0] != a.shape[1] or a.shape[0] == 0:
            raise SensingError(f"{what} as a density matrix must be square (got shape {a.shape})")
        if not np.all(np.isfinite(a)):
            raise SensingError(f"{what} holds NaN or infinite entries")
        herm = float(np.max(np.abs(a - a.conj().T)))
        if herm > STATE_ATOL:
            raise SensingError(f"{what} is not a density matrix: not Hermitian (max |rho - rho^dagger| = {herm:.3g})")
        tr = complex(np.trace(a))
        if abs(tr - 1.0) > STATE_ATOL * a.shape[0]:
            raise SensingError(f"{what} is not a density matrix: trace must be 1 (got {tr.real:.12g})")
        return a
    raise SensingError(f"{what} must be a state vector (1-D) or a density matrix (2-D) (got {a.ndim}-D)")


def _check_spectrum(p: np.ndarray, what: str) -> None:
    low = float(p.min())
    if low < -STATE_ATOL * p.size:
        raise SensingError(f"{what} is not a density matrix: it has a negative eigenvalue {low:.3g}")


class _Op:
    """A Hermitian operator as a diagonal (1-D), a sparse matrix or a dense matrix."""

    __slots__ = ("diag", "mat")

    def __init__(self, diag=None, mat=None):
        self.diag, self.mat = diag, mat

    def apply(self, v: np.ndarray) -> np.ndarray:
        """``G @ v`` (``v`` a vector or a matrix of column vectors)."""
        if self.diag is not None:
            return self.diag[:, None] * v if v.ndim == 2 else self.diag * v
        return self.mat @ v

    def dense(self) -> np.ndarray:
        if self.diag is not None:
            return np.diag(self.diag)
        m = self.mat
        return m.toarray() if hasattr(m, "toarray") else np.asarray(m)

    def in_basis(self, v: np.ndarray) -> np.ndarray:
        """``V^dagger G V``."""
        return v.conj().T @ self.apply(v)


def _as_generator(generator, dim: int, what: str = "generator") -> _Op:
    """Validate ``generator`` as a Hermitian ``dim x dim`` operator."""
    if isinstance(generator, PauliSum):
        if (1 << generator.num_qubits) != dim:
            raise SensingError(
                f"{what} acts on {generator.num_qubits} qubit(s) but the state has dimension {dim}"
            )
        if not generator.is_hermitian():
            raise SensingError(f"{what} must be Hermitian (got {generator!r})")
        if all(t.x_mask == 0 for t in generator.terms):
            # a sum of Z strings: keep only the diagonal
            _, cols = generator._column_values()
            d = cols.get(0, np.zeros(dim, dtype=np.complex128))
            return _Op(diag=np.ascontiguousarray(d.real))
        return _Op(mat=generator.to_sparse())
    if hasattr(generator, "tocsr") and hasattr(generator, "shape"):  # scipy.sparse
        m = generator.tocsr().astype(np.complex128)
        if m.shape != (dim, dim):
            raise SensingError(f"{what} must have shape {(dim, dim)} (got {m.shape})")
        diff = abs(m - m.conj().T)
        bad = float(diff.max()) if diff.nnz else 0.0
        if bad > STATE_ATOL * max(1.0, float(abs(m).max()) if m.nnz else 1.0):
            raise SensingError(f"{what} must be Hermitian (max |G - G^dagger| = {bad:.3g})")
        return _Op(mat=m)
    g = np.asarray(generator)
    if not np.issubdtype(g.dtype, np.number) or np.issubdtype(g.dtype, np.bool_):
        raise SensingError(f"{what} must be a matrix, a diagonal, a sparse matrix or a PauliSum (got {generator!r})")
    if g.ndim == 1:
        if g.shape != (dim,):
            raise SensingError(f"{what} as a diagonal must have length {dim} (got {g.shape[0]})")
        if np.iscomplexobj(g) and float(np.max(np.abs(g.imag))) > STATE_ATOL:
            raise SensingError(f"{what} must be Hermitian: its diagonal has imaginary parts "
                               f"(max {float(np.max(np.abs(g.imag))):.3g})")
        return _Op(diag=np.ascontiguousarray(g.real, dtype=np.float64))
    if g.ndim != 2 or g.shape != (dim, dim):
        raise SensingError(f"{what} must have shape {(dim, dim)} (got {g.shape})")
    g = g.astype(np.complex128, copy=False)
    if not np.all(np.isfinite(g)):
        raise SensingError(f"{what} holds NaN or infinite entries")
    bad = float(np.max(np.abs(g - g.conj().T)))
    if bad > STATE_ATOL * max(1.0, float(np.max(np.abs(g)))):
        raise SensingError(f"{what} must be Hermitian (max |G - G^dagger| = {bad:.3g})")
    return _Op(mat=g)


def _check_threshold(threshold) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not (threshold >= 0):
        raise SensingError(f"threshold must be a real number >= 0 (got {threshold!r})")
    return float(threshold)


def _sld_weights(p: np.ndarray, threshold: float) -> np.ndarray:
    """``w_kl = 2 (p_k - p_l)^2 / (p_k + p_l)`` where ``p_k + p_l > threshold``, else 0."""
    s = p[:, None] + p[None, :]
    d = p[:, None] - p[None, :]
    keep = s > threshold
    w = np.zeros_like(s)
    np.divide(2.0 * d * d, s, out=w, where=keep)
    return w


def _eigh(rho: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    p, v = np.linalg.eigh(rho)
    _check_spectrum(p, what)
    return np.clip(p, 0.0, None), v


# --- QFI -----------------------------------------------------------------------------------
def qfi(state, generator, *, threshold: float = DEFAULT_THRESHOLD) -> float:
    """Quantum Fisher information of ``state`` for the encoding ``e^{-i theta G}``.

    Args:
        state: a state vector (``(d,)``, unit norm) or a density matrix (``(d, d)``, Hermitian,
            unit trace, positive semidefinite).
        generator: the Hermitian generator ``G``: a ``(d, d)`` matrix, a ``(d,)`` diagonal, a
            ``scipy.sparse`` matrix or a ``kizuna.PauliSum``.
        threshold: mixed states only: eigenvalue pairs with ``p_k + p_l <= threshold`` are
            left out of the SLD sum.

    Returns:
        ``F_Q`` in units of 1/theta^2: ``4 Var(G)`` for a pure state, the SLD QFI for a mixed one.

    Cost: pure states O(d) for a diagonal generator, O(nnz) sparse, O(d^2) dense; mixed states
    one ``eigh`` of ``rho`` (O(d^3)) and ``V^dagger G V``.

    Raises:
        SensingError: a state that is not a unit vector or a density matrix (names the defect);
            a generator that is not Hermitian or has the wrong size.

    Example:
        >>> import numpy as np
        >>> ghz = np.zeros(8); ghz[[0, 7]] = 2 ** -0.5
        >>> round(qfi(ghz, collective_spin(3, "z")), 12)  # Heisenberg: N^2
        9.0
    """
    psi = _check_state(state)
    threshold = _check_threshold(threshold)
    g = _as_generator(generator, psi.shape[0])
    if psi.ndim == 1:
        gp = g.apply(psi)
        mean = np.vdot(psi, gp).real
        return float(max(4.0 * (np.vdot(gp, gp).real - mean * mean), 0.0))
    p, v = _eigh(psi, "state")
    gk = g.in_basis(v)
    return float(np.sum(_sld_weights(p, threshold) * (gk.real**2 + gk.imag**2)))


def qfi_matrix(state, generators: Sequence, *, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """The QFI matrix for the multi-parameter encoding generated by ``generators`` (each
    ``G_a`` taken separately, as ``e^{-i theta_a G_a}`` applied to ``state``).

    ``F_ab = 4 Re(<G_a G_b> - <G_a><G_b>)`` for a pure state and
    ``F_ab = 2 sum (p_k - p_l)^2/(p_k + p_l) Re(G_a,kl G_b,lk)`` for a mixed one.

    Returns:
        A real symmetric ``(m, m)`` array; its diagonal is ``qfi`` of each generator.

    Raises:
        SensingError: as ``qfi``; an empty list of generators.

    Example:
        >>> import numpy as np
        >>> plus = np.array([1, 1]) / 2 ** 0.5
        >>> qfi_matrix(plus, [np.diag([0.5, -0.5]), np.array([[0, 0.5], [0.5, 0]])]).round(12) + 0.0
        array([[1., 0.],
               [0., 0.]])
    """
    psi = _check_state(state)
    threshold = _check_threshold(threshold)
    gens = list(generators)
    if not gens:
        raise SensingError("generators must hold at least one generator (got none)")
    ops = [_as_generator(g, psi.shape[0], f"generators[{i}]") for i, g in enumerate(gens)]
    m = len(ops)
    if psi.ndim == 1:
        gp = np.stack([op.apply(psi) for op in ops])  # (m, d)
        means = gp @ psi.conj()
        f = 4.0 * ((gp.conj() @ gp.T).real - np.outer(means, means).real)
    else:
        p, v = _eigh(psi, "state")
        w = _sld_weights(p, threshold)
        gk = [op.in_basis(v) for op in ops]
        f = np.empty((m, m))
        for a in range(m):
            for b in range(a, m):
                f[a, b] = f[b, a] = float(np.sum(w * (gk[a] * gk[b].T).real))
    return (f + f.T) / 2


def qfi_from_derivative(state, derivative, *, threshold: float = DEFAULT_THRESHOLD) -> float:
    """QFI from a state and its derivative ``d state / d theta`` (any encoding, noisy too).

    Pure: ``4 (<dpsi|dpsi> - |<psi|dpsi>|^2)``. Mixed: ``2 sum |<k|drho|l>|^2 / (p_k + p_l)``
    over pairs with ``p_k + p_l > threshold``.

    Raises:
        SensingError: as ``qfi``; a derivative of another shape, or not Hermitian (mixed).

    Example:
        >>> import numpy as np
        >>> t, rho = 0.3, np.eye(2) / 2
        >>> rho = rho + 0.5 * np.exp(-1.0) * np.array([[0, 1], [1, 0]])  # dephased |+><+|
        >>> drho = np.zeros((2, 2), complex)
        >>> drho[0, 1], drho[1, 0] = -0.5j * np.exp(-1.0), 0.5j * np.exp(-1.0)  # Jz phase
        >>> bool(abs(qfi_from_derivative(rho, drho) - np.exp(-2.0)) < 1e-12)
        True
    """
    psi = _check_state(state)
    threshold = _check_threshold(threshold)
    d = np.asarray(derivative, dtype=np.complex128)
    if d.shape != psi.shape:
        raise SensingError(f"derivative must have the state's shape {psi.shape} (got {d.shape})")
    if psi.ndim == 1:
        ov = np.vdot(psi, d)
        return float(max(4.0 * (np.vdot(d, d).real - abs(ov) ** 2), 0.0))
    bad = float(np.max(np.abs(d - d.conj().T)))
    if bad > STATE_ATOL * max(1.0, float(np.max(np.abs(d)))):
        raise SensingError(f"derivative of a density matrix must be Hermitian (max |D - D^dagger| = {bad:.3g})")
    p, v = _eigh(psi, "state")
    dk = v.conj().T @ d @ v
    s = p[:, None] + p[None, :]
    w = np.zeros_like(s)
    np.divide(2.0, s, out=w, where=s > threshold)
    return float(np.sum(w * (dk.real**2 + dk.imag**2)))


# --- classical Fisher information ----------------------------------------------------------
def cfi(probabilities, derivatives, *, threshold: float = 0.0) -> float | np.ndarray:
    """Classical Fisher information ``sum_k (d p_k)^2 / p_k`` of an outcome distribution.

    Args:
        probabilities: ``(K,)`` outcome probabilities (non-negative, summing to 1).
        derivatives: ``(K,)`` derivatives ``d p_k / d theta``, or ``(m, K)`` for ``m``
            parameters (then the ``(m, m)`` Fisher matrix is returned).
        threshold: outcomes with ``p_k <= threshold`` are left out (their terms are 0/0 in the
            limit for smooth families).

    Raises:
        SensingError: negative probabilities, a sum away from 1, mismatched shapes.

    Example:
        >>> import numpy as np
        >>> phi = 0.7  # Ramsey fringe p0 = (1 + cos phi)/2: CFI = 1 at every phase
        >>> round(cfi([(1 + np.cos(phi)) / 2, (1 - np.cos(phi)) / 2], [-np.sin(phi) / 2, np.sin(phi) / 2]), 12)
        1.0
    """
    p = np.asarray(probabilities, dtype=np.float64)
    dp = np.asarray(derivatives, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise SensingError(f"probabilities must be a non-empty 1-D array (got shape {p.shape})")
    if dp.shape[-1:] != p.shape or dp.ndim > 2:
        raise SensingError(f"derivatives must have shape {p.shape} or (m, {p.size}) (got {dp.shape})")
    if float(p.min()) < -STATE_ATOL:
        raise SensingError(f"probabilities must be >= 0 (got {float(p.min()):.3g})")
    if abs(float(p.sum()) - 1.0) > 1e-6:
        raise SensingError(f"probabilities must sum to 1 (got {float(p.sum()):.12g})")
    threshold = _check_threshold(threshold)
    keep = p > threshold
    w = np.zeros_like(p)
    np.divide(1.0, p, out=w, where=keep)
    if dp.ndim == 1:
        return float(np.sum(w * dp * dp))
    return (dp * w) @ dp.T


def povm_cfi(state, derivative, povm: Sequence, *, threshold: float = 0.0) -> float:
    """Classical Fisher information of measuring ``povm`` on a state family, from the state
    and its derivative: ``p_k = Tr(E_k rho)``, ``dp_k = Tr(E_k drho)`` (pure states:
    ``<psi|E_k|psi>`` and ``2 Re <dpsi|E_k|psi>``).

    Args:
        state: state vector or density matrix at the true parameter.
        derivative: ``d state / d theta``, same shape.
        povm: effects ``E_k`` (``(d, d)`` positive matrices summing to the identity).

    Raises:
        SensingError: as ``qfi``; effects that do not sum to the identity.

    Example:
        >>> import numpy as np
        >>> phi = 0.4; psi = np.array([1, np.exp(1j * phi)]) / 2 ** 0.5
        >>> dpsi = np.array([0, 1j * np.exp(1j * phi)]) / 2 ** 0.5
        >>> plus = np.full((2, 2), 0.5)
        >>> round(povm_cfi(psi, dpsi, [plus, np.eye(2) - plus]), 12)
        1.0
    """
    psi = _check_state(state)
    d = np.asarray(derivative, dtype=np.complex128)
    if d.shape != psi.shape:
        raise SensingError(f"derivative must have the state's shape {psi.shape} (got {d.shape})")
    dim = psi.shape[0]
    effects = [np.asarray(e, dtype=np.complex128) for e in povm]
    if not effects:
        raise SensingError("povm must hold at least one effect (got none)")
    for i, e in enumerate(effects):
        if e.shape != (dim, dim):
            raise SensingError(f"povm[{i}] must have shape {(dim, dim)} (got {e.shape})")
    total = sum(effects)
    bad = float(np.max(np.abs(total - np.eye(dim))))
    if bad > 1e-8:
        raise SensingError(f"povm effects must sum to the identity (max deviation {bad:.3g})")
    e = np.stack(effects)
    if psi.ndim == 1:
        ep = e @ psi
        p = (ep @ psi.conj()).real
        dp = 2.0 * (ep @ d.conj()).real
    else:
        p = np.einsum("kij,ji->k", e, psi).real
        dp = np.einsum("kij,ji->k", e, d).real
    return cfi(np.clip(p, 0.0, None) / np.clip(p, 0.0, None).sum(), dp, threshold=threshold)


def cramer_rao_bound(fisher, shots: int = 1) -> float | np.ndarray:
    """The Cramér–Rao bound ``1 / (shots * F)`` on the variance of an unbiased estimator
    (``inv(F) / shots`` for a Fisher matrix); ``inf`` where ``F = 0``.

    Raises:
        SensingError: a negative Fisher information, or ``shots < 1``.

    Example:
        >>> cramer_rao_bound(4.0, shots=100)
        0.0025
    """
    if isinstance(shots, bool) or not isinstance(shots, numbers.Integral) or shots < 1:
        raise SensingError(f"shots must be an integer >= 1 (got {shots!r})")
    f = np.asarray(fisher, dtype=np.float64)
    if f.ndim == 0:
        v = float(f)
        if not v >= 0:
            raise SensingError(f"fisher must be >= 0 (got {v!r})")
        return math.inf if v == 0 else 1.0 / (shots * v)
    if f.ndim != 2 or f.shape[0] != f.shape[1]:
        raise SensingError(f"fisher must be a number or a square matrix (got shape {f.shape})")
    return np.linalg.pinv(f) / shots


# --- generators and circuits ----------------------------------------------------------------
def collective_spin(num_qubits: int, axis: str = "z") -> PauliSum:
    """The collective spin ``J_axis = (1/2) sum_k sigma_axis^(k)`` as a ``PauliSum``.

    ``J_z`` is a sum of Z strings, which ``qfi`` keeps diagonal (O(2**n) memory).

    Raises:
        SensingError: ``axis`` not one of ``"x"``, ``"y"``, ``"z"``; ``num_qubits < 1``.

    Example:
        >>> collective_spin(2, "x")
        PauliSum([('IX', 0.5), ('XI', 0.5)])
    """
    if axis not in ("x", "y", "z"):
        raise SensingError(f"axis must be 'x', 'y' or 'z' (got {axis!r})")
    if isinstance(num_qubits, bool) or not isinstance(num_qubits, numbers.Integral) or num_qubits < 1:
        raise SensingError(f"num_qubits must be an integer >= 1 (got {num_qubits!r})")
    return PauliSum.from_sparse_list([(axis.upper(), [k], 0.5) for k in range(num_qubits)], int(num_qubits))


_FD_STEP = 1e-3
_FD_WEIGHTS = ((-2, 1 / 12), (-1, -8 / 12), (1, 8 / 12), (2, -1 / 12))
#: Gates ``e^{-i theta P / 2}`` with ``P^2 = I``: ``dU/dtheta = U(theta + pi) / 2`` exactly.
_SHIFT_GATES = frozenset({"rx", "ry", "rz", "rxx", "ryy", "rzz", "rzx"})


def _expr_derivative(expr, name: str, vals: dict) -> float:
    """``d expr / d name`` at ``vals`` (a fourth-order stencil on the scalar expression: exact
    to rounding for the affine angles ``a theta + b`` that circuits use)."""
    out = 0.0
    for k, w in _FD_WEIGHTS:
        shifted = dict(vals)
        shifted[name] = vals[name] + k * _FD_STEP
        out += w * float(expr.bind(shifted))
    return out / _FD_STEP


def circuit_qfi(circuit, values, parameters=None, *, method: str = "auto") -> np.ndarray:
    """The QFI matrix of a parameterised circuit's output state ``|psi(theta)>`` from |0...0>.

    ``F_ab = 4 Re(<d_a psi|d_b psi> - <d_a psi|psi><psi|d_b psi>)``. The state derivatives come
    from ``kizuna.statevector`` in one of two ways:

    * ``"shift"`` (exact): every occurrence ``g`` of a parameter sits in a gate
      ``e^{-i alpha P/2}`` with ``P^2 = I`` (``rx, ry, rz, rxx, ryy, rzz, rzx``), where
      ``dU/dalpha = U(alpha + pi)/2``; so ``|d_a psi> = sum_g (d alpha_g/d theta_a) |psi_g^{+pi}>/2``
      with ``|psi_g^{+pi}>`` the output with only occurrence ``g`` shifted by ``pi`` (the state-level
      parameter-shift rule; ``d alpha_g/d theta_a`` is exact for affine angles).
    * ``"finite_difference"``: a fourth-order central stencil (step 1e-3 rad), QFI accurate to
      about 1e-9.

    Args:
        circuit: a ``kizuna.Circuit`` with free parameters and no mid-circuit measurement.
        values: ``{Parameter or name: float}`` for every free parameter.
        parameters: the parameters to differentiate (default: all, in ``circuit.parameters``
            order).
        method: ``"auto"`` (``"shift"`` where every occurrence is in a shift gate, else
            ``"finite_difference"``), ``"shift"`` or ``"finite_difference"``.

    Returns:
        ``(m, m)`` real symmetric array.

    Cost: ``"shift"``: ``1 + (occurrences)`` state-vector simulations; ``"finite_difference"``:
    ``1 + 4 m``.

    Raises:
        SensingError: a parameter that is not in ``values``; ``method="shift"`` with a parameter
            in another gate; an unknown method.
        ParameterError, SimulationError: as ``kizuna.statevector``.

    Example:
        >>> import kizuna
        >>> t = kizuna.Parameter("t")
        >>> c = kizuna.Circuit(2).h(0).cx(0, 1).rz(t, 0).rz(t, 1)
        >>> circuit_qfi(c, {"t": 0.3}).round(12)  # GHZ_2 under 2 Jz: N^2 = 4 (parameter shift)
        array([[4.]])
    """
    from ..computing.execute import statevector
    from ..computing.parameters import ParameterExpression

    if method not in ("auto", "shift", "finite_difference"):
        raise SensingError(f"method must be 'auto', 'shift' or 'finite_difference' (got {method!r})")
    vals = {(k.name if hasattr(k, "name") else str(k)): float(v) for k, v in dict(values).items()}
    names = [p.name for p in circuit.parameters] if parameters is None else [
        (p.name if hasattr(p, "name") else str(p)) for p in parameters]
    for n in [p.name for p in circuit.parameters]:
        if n not in vals:
            raise SensingError(f"values has no value for parameter {n!r}")
    for n in names:
        if n not in vals:
            raise SensingError(f"parameter {n!r} is not a parameter of the circuit")
    # occurrences: (instruction index, param index, expression) of each differentiated name
    occ: dict[str, list] = {n: [] for n in names}
    shiftable = True
    for i, ins in enumerate(circuit.instructions):
        for j, p in enumerate(ins.params):
            if isinstance(p, ParameterExpression):
                hit = [n for n in names if n in {q.name for q in p.parameters}]
                for n in hit:
                    occ[n].append((i, j, p))
                if hit and (ins.name not in _SHIFT_GATES or ins.condition is not None):
                    shiftable = False
    if method == "shift" and not shiftable:
        raise SensingError("method='shift' needs every differentiated parameter inside rx, ry, rz, rxx, ryy, "
                           "rzz or rzx gates (unconditioned); use method='finite_difference'")
    psi = statevector(circuit, parameters=vals)
    derivs = []
    if method != "finite_difference" and shiftable:
        bound = circuit.assign_parameters(vals)
        for n in names:
            d = np.zeros_like(psi)
            for i, j, expr in occ[n]:
                slope = _expr_derivative(expr, n, vals)
                if slope == 0.0:
                    continue
                shifted = bound.copy()
                ins = shifted._instructions[i]
                params = list(ins.params)
                params[j] = float(params[j]) + math.pi
                shifted._instructions[i] = ins.replace(params=tuple(params))
                d += (0.5 * slope) * statevector(shifted)
            derivs.append(d)
    else:
        for n in names:
            d = np.zeros_like(psi)
            for k, w in _FD_WEIGHTS:
                shifted = dict(vals)
                shifted[n] = vals[n] + k * _FD_STEP
                d += w * statevector(circuit, parameters=shifted)
            derivs.append(d / _FD_STEP)
    dm = np.stack(derivs)  # (m, d)
    ov = dm.conj() @ psi  # <d_a psi|psi>
    f = 4.0 * ((dm.conj() @ dm.T).real - np.outer(ov, ov.conj()).real)
    return (f + f.T) / 2
