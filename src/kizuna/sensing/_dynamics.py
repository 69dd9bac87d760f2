"""Lindblad master-equation evolution: ``evolve`` (one call) and ``Evolver`` (reusable).

The equation is ``d rho/dt = -i[H, rho] + sum_c (C rho C^dagger - {C^dagger C, rho}/2)``
(``hbar = 1``: ``H`` in rad/s, times in seconds). Density matrices are vectorised by column
stacking, ``vec(rho)[i + d*j] = rho[i, j]`` (as ``kizuna.core.channels``), so
``vec(A rho B) = (B^T kron A) vec(rho)``.

Three exact paths, chosen by ``EvolveOptions.method = "auto"`` in this order:

* ``"diagonal"``: ``H`` and every collapse operator diagonal (pure dephasing). The Liouvillian
  is diagonal in ``|i><j|``, so ``rho_ij(t) = rho_ij(0) e^{L_ij t}`` -- closed form, O(d^2) per
  time (expectation values only touch the entries where ``rho(0)`` and the observable overlap).
* ``"local"``: independent spins -- ``H`` a ``PauliSum`` of single-qubit terms and each collapse
  operator a ``PauliSum`` on one qubit. The propagator is a tensor product of 4x4 single-spin
  propagators; each is diagonalised once, so expectation values cost one contraction of
  ``4**n`` numbers per time (any initial state, entangled ones included).
* ``"general"``: the sparse ``d^2 x d^2`` Liouvillian with ``scipy.sparse.linalg.expm_multiply``
  (Al-Mohy & Higham's truncated Taylor series, accurate to double precision).

Permutation-symmetric ensembles with collective operators only (``H`` and collapse operators
functions of ``Jx, Jy, Jz``): pass the ``N + 1``-dimensional matrices of
``dicke_spin_operators`` and a state mapped with ``dicke_isometry`` -- the general path on the
Dicke basis is exact for them. With per-spin (local) dissipation as well, use
``kizuna.sensing.evolve_dicke`` (the block-diagonal ``(j, m, m')`` basis, module ``_dicke``).

A fourth, stochastic path is chosen only by name: ``"mc"``, quantum-jump trajectories
(``EvolveOptions.ntraj``, ``seed=``), returning trajectory means with standard errors
(``EvolveResult.expect_std_err``); each trajectory has its own spawned seed, so results are
reproducible bit for bit.

Sensitivities: with ``d_hamiltonian=G`` (``dH/dtheta``) the derivative ``d rho(t)/d theta`` is
computed in the same solve (the block system ``d/dt [rho, drho] = [[L, 0], [dL, L]] [rho, drho]``
in the general path, the closed form in the diagonal path, and in the local path -- where ``G``
must be a PauliSum of single-qubit terms -- the product rule over sites with the Daleckii–Krein
derivative of each ``e^{L_k t}``, O(n 4^n) per time), so that the Fisher information of a noisy
protocol follows from ``kizuna.sensing.qfi_from_derivative``.

This module imports numpy, scipy and ``kizuna.core``/``kizuna.errors`` only.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from ..core.paulis import PauliSum
from ..errors import SensingError

__all__ = ["EvolveOptions", "EvolveResult", "Evolver", "evolve"]



class _LazySparse:
    """``scipy.sparse``, imported on first use so that ``import kizuna.sensing`` stays light."""

    def __getattr__(self, name):
        from scipy import sparse as module

        return getattr(module, name)


sparse = _LazySparse()

_METHODS = ("auto", "diagonal", "local", "general", "mc")
#: Largest dimension for which the Monte-Carlo path diagonalises ``H_eff`` (dense O(d^3) once);
#: above it, each step is a sparse ``expm_multiply``.
_MC_DENSE_MAX = 1024
_HERM_ATOL = 1e-10
_PAULI = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}


@dataclass(frozen=True)
class EvolveOptions:
    """Options of ``evolve`` / ``Evolver``.

    Attributes:
        method: ``"auto"`` (default: the fastest exact path the inputs allow), ``"diagonal"``,
            ``"local"``, ``"general"`` (forcing a path the inputs do not allow raises), or
            ``"mc"``: quantum-jump trajectories (never chosen by ``"auto"``; no derivatives).
        store_states: keep ``rho(t)`` for every time (``d^2`` complex numbers each). Default:
            true when no ``e_ops`` are given.
        max_condition: the local path diagonalises each single-spin Liouvillian; above this
            condition number of the eigenvector matrix (near an exceptional point) it is not
            used (auto falls back to the general path).
        ntraj: number of quantum-jump trajectories of the ``"mc"`` method (default 500).
    """

    method: str = "auto"
    store_states: bool | None = None
    max_condition: float = 1e8
    ntraj: int = 500

    def __post_init__(self):
        if self.method not in _METHODS:
            raise SensingError(f"method must be one of {', '.join(_METHODS)} (got {self.method!r})")
        if self.store_states not in (None, True, False):
            raise SensingError(f"store_states must be True, False or None (got {self.store_states!r})")
        if not (isinstance(self.max_condition, numbers.Real) and self.max_condition > 1):
            raise SensingError(f"max_condition must be a number > 1 (got {self.max_condition!r})")
        if isinstance(self.ntraj, bool) or not isinstance(self.ntraj, numbers.Integral) or self.ntraj < 2:
            raise SensingError(f"ntraj must be an integer >= 2 (got {self.ntraj!r})")

    @classmethod
    def from_mapping(cls, options) -> EvolveOptions:
        if options is None:
            return cls()
        if isinstance(options, cls):
            return options
        if isinstance(options, dict):
            known = {f for f in cls.__dataclass_fields__}
            unknown = sorted(set(options) - known)
            if unknown:
                raise SensingError(f"unknown option(s) {', '.join(map(repr, unknown))}; "
                                   f"known: {', '.join(sorted(known))}")
            return cls(**options)
        raise SensingError(f"options must be an EvolveOptions or a dict (got {options!r})")


@dataclass(frozen=True)
class EvolveResult:
    """What ``evolve`` returns.

    Attributes:
        times: ``(T,)`` times in seconds (``rho0`` is the state at ``times[0]``).
        expect: ``(m, T)`` expectation values ``Tr(E_m rho(t))`` (real where every ``E_m`` is
            Hermitian, else complex); ``(0, T)`` without ``e_ops``. For ``"mc"``: the mean over
            trajectories.
        states: ``(T, d, d)`` density matrices, or ``None`` when not stored (``"mc"``: the
            trajectory average of ``|psi><psi|``).
        derivatives: ``(T, d, d)`` ``d rho(t) / d theta``, or ``None`` without ``d_hamiltonian``.
        d_expect: ``(m, T)`` ``d <E_m> / d theta``, or ``None`` without ``d_hamiltonian``.
        method: the path taken: ``"diagonal"``, ``"local"``, ``"general"``, ``"mc"`` or
            ``"dicke"``.
        expect_std_err: ``"mc"`` only: ``(m, T)`` standard errors of ``expect`` (sample standard
            deviation over trajectories / sqrt(ntraj), real and imaginary parts separately).
        ntraj: ``"mc"`` only: the number of trajectories.
        seed: ``"mc"`` only: the integer seed recorded (``None`` when a Generator was passed).
    """

    times: np.ndarray
    expect: np.ndarray
    states: np.ndarray | None = None
    derivatives: np.ndarray | None = None
    d_expect: np.ndarray | None = None
    method: str = field(default="general")
    expect_std_err: np.ndarray | None = None
    ntraj: int | None = None
    seed: int | None = None

    _ARRAYS = ("times", "expect", "states", "derivatives", "d_expect", "expect_std_err")

    def to_dict(self) -> dict:
        """A JSON-able dict: arrays as nested lists, complex arrays as ``{"real": ..., "imag": ...}``.

        Example:
            >>> import json, numpy as np
            >>> r = EvolveResult(times=np.array([0.0, 1.0]), expect=np.array([[1.0, 0.5]]), method="diagonal")
            >>> d = json.loads(json.dumps(r.to_dict()))
            >>> d["expect"], EvolveResult.from_dict(d).method
            ([[1.0, 0.5]], 'diagonal')
        """
        out: dict = {"method": self.method, "ntraj": self.ntraj, "seed": self.seed}
        for name in self._ARRAYS:
            a = getattr(self, name)
            if a is None:
                out[name] = None
            elif np.iscomplexobj(a):
                out[name] = {"real": np.asarray(a).real.tolist(), "imag": np.asarray(a).imag.tolist()}
            else:
                out[name] = np.asarray(a).tolist()
        return out

    @classmethod
    def from_dict(cls, data: dict) -> EvolveResult:
        """Inverse of ``to_dict``.

        Raises:
            SensingError: a dict without ``times`` or ``expect``.
        """
        if not isinstance(data, dict) or "times" not in data or "expect" not in data:
            raise SensingError(f"an EvolveResult dict needs 'times' and 'expect' (got {type(data).__name__})")
        kw = {}
        for name in cls._ARRAYS:
            v = data.get(name)
            if isinstance(v, dict):
                v = np.asarray(v["real"], dtype=np.float64) + 1j * np.asarray(v["imag"], dtype=np.float64)
            elif v is not None:
                v = np.asarray(v, dtype=np.float64)
            kw[name] = v
        if kw["expect"].size == 0:
            kw["expect"] = kw["expect"].reshape(0, kw["times"].size)
        return cls(method=data.get("method", "general"), ntraj=data.get("ntraj"), seed=data.get("seed"), **kw)


# --- input handling ------------------------------------------------------------------------
def _as_matrix(op, dim: int | None, what: str, *, hermitian: bool):
    """A dense or sparse complex matrix from a matrix, a sparse matrix or a PauliSum."""
    if isinstance(op, PauliSum):
        if hermitian and not op.is_hermitian():
            raise SensingError(f"{what} must be Hermitian (got {op!r})")
        m = op.to_sparse()
    elif hasattr(op, "tocsr") and hasattr(op, "shape"):
        m = sparse.csr_array(op, dtype=np.complex128)
    else:
        m = np.asarray(op)
        if not np.issubdtype(m.dtype, np.number) or np.issubdtype(m.dtype, np.bool_):
            raise SensingError(f"{what} must be a matrix, a sparse matrix or a PauliSum (got {op!r})")
        m = m.astype(np.complex128)
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise SensingError(f"{what} must be a square matrix (got shape {m.shape})")
        if not np.all(np.isfinite(m)):
            raise SensingError(f"{what} holds NaN or infinite entries")
    if dim is not None and m.shape != (dim, dim):
        raise SensingError(f"{what} must have shape {(dim, dim)} (got {m.shape})")
    if hermitian and not isinstance(op, PauliSum):
        diff = m - m.conj().T
        bad = float(abs(diff).max()) if (not sparse.issparse(diff) or diff.nnz) else 0.0
        scale = max(1.0, float(abs(m).max()) if (not sparse.issparse(m) or m.nnz) else 1.0)
        if bad > _HERM_ATOL * scale:
            raise SensingError(f"{what} must be Hermitian (max |H - H^dagger| = {bad:.3g})")
    return m


def _diagonal_of(m) -> np.ndarray | None:
    """The diagonal if ``m`` is diagonal, else ``None``."""
    if sparse.issparse(m):
        c = m.tocoo()
        off = c.row != c.col
        if np.any(c.data[off] != 0):
            return None
        return np.asarray(m.diagonal())
    d = np.diagonal(m)
    if np.count_nonzero(m) - np.count_nonzero(d):
        return None
    return d.copy()


def _check_times(times) -> np.ndarray:
    t = np.asarray(times, dtype=np.float64)
    if t.ndim == 0:
        t = t[None]
    if t.ndim != 1 or t.size == 0:
        raise SensingError(f"times must be a non-empty 1-D array (got shape {t.shape})")
    if not np.all(np.isfinite(t)):
        raise SensingError("times must be finite")
    if t.size > 1 and np.any(np.diff(t) < 0):
        raise SensingError("times must be non-decreasing")
    return t


def _check_rho0(rho0, dim: int) -> np.ndarray:
    a = np.asarray(rho0)
    if not np.issubdtype(a.dtype, np.number):
        raise SensingError(f"rho0 must hold numbers (got dtype {a.dtype})")
    a = a.astype(np.complex128)
    if a.ndim == 1:
        if a.shape != (dim,):
            raise SensingError(f"rho0 as a state vector must have length {dim} (got {a.shape[0]})")
        n = float(np.vdot(a, a).real)
        if abs(n - 1) > 1e-8:
            raise SensingError(f"rho0 must be a unit vector (got squared norm {n:.12g})")
        return np.outer(a, a.conj())
    if a.shape != (dim, dim):
        raise SensingError(f"rho0 must have shape {(dim,)} or {(dim, dim)} (got {a.shape})")
    bad = float(np.max(np.abs(a - a.conj().T)))
    if bad > 1e-8:
        raise SensingError(f"rho0 is not a density matrix: not Hermitian (max |rho - rho^dagger| = {bad:.3g})")
    tr = np.trace(a).real
    if abs(tr - 1) > 1e-8 * dim:
        raise SensingError(f"rho0 is not a density matrix: trace must be 1 (got {tr:.12g})")
    low = float(np.linalg.eigvalsh(a).min()) if dim <= 2048 else 0.0
    if low < -1e-8 * dim:
        raise SensingError(f"rho0 is not a density matrix: it has a negative eigenvalue {low:.3g}")
    return a


def _check_vector(psi, dim: int) -> np.ndarray:
    """A unit state vector of length ``dim`` (the Monte-Carlo path never forms ``|psi><psi|``)."""
    a = np.asarray(psi)
    if not np.issubdtype(a.dtype, np.number):
        raise SensingError(f"rho0 must hold numbers (got dtype {a.dtype})")
    a = a.astype(np.complex128)
    if a.shape != (dim,):
        raise SensingError(f"rho0 as a state vector must have length {dim} (got {a.shape[0]})")
    n = float(np.vdot(a, a).real)
    if abs(n - 1) > 1e-8:
        raise SensingError(f"rho0 must be a unit vector (got squared norm {n:.12g})")
    return a


def _check_output_memory(num_times: int, dim: int, copies: int) -> None:
    """Refuse to store ``copies`` stacks of ``num_times`` density matrices that cannot fit."""
    from ..core._memory import available_memory_bytes, format_bytes
    from ..errors import MemoryLimitError

    needed = copies * num_times * dim * dim * 16
    if needed <= 64 << 20:
        return
    available = available_memory_bytes()
    if available is not None and needed > available:
        raise MemoryLimitError(
            f"storing {num_times} density matrices of dimension {dim} needs {format_bytes(needed)}, but only "
            f"{format_bytes(available)} is available; pass e_ops with options={{'store_states': False}}",
            num_qubits=max(dim.bit_length() - 1, 0), bytes_needed=needed, bytes_available=available)


def _liouvillian(h, c_ops, dim: int):
    """Sparse column-stacking Liouvillian ``L`` (``d^2 x d^2``)."""
    eye = sparse.identity(dim, dtype=np.complex128, format="csr")
    hs = sparse.csr_array(h)
    lv = -1j * (sparse.kron(eye, hs) - sparse.kron(hs.T, eye))
    for c in c_ops:
        cs = sparse.csr_array(c)
        cdc = cs.conj().T @ cs
        lv = lv + sparse.kron(cs.conj(), cs) - 0.5 * sparse.kron(eye, cdc) - 0.5 * sparse.kron(cdc.T, eye)
    return sparse.csr_array(lv)


def _local_parts(op: PauliSum):
    """``{qubit: 2x2 matrix}`` of a PauliSum of weight <= 1 terms (identity terms dropped),
    or ``None`` if some term acts on two or more qubits."""
    parts: dict[int, np.ndarray] = {}
    for t in op.terms:
        sup = t.support
        if len(sup) > 1:
            return None
        if not sup or t.coeff == 0:
            continue
        k = sup[0]
        letter = t.label[::-1][k]
        parts[k] = parts.get(k, np.zeros((2, 2), complex)) + t.coeff * _PAULI[letter]
    return parts


def _site_liouvillian(h2, cs2) -> np.ndarray:
    eye = np.eye(2)
    lv = -1j * (np.kron(eye, h2) - np.kron(h2.T, eye))
    for c in cs2:
        cdc = c.conj().T @ c
        lv = lv + np.kron(c.conj(), c) - 0.5 * np.kron(eye, cdc) - 0.5 * np.kron(cdc.T, eye)
    return lv


def _apply_site(t: np.ndarray, m4: np.ndarray, k: int, n: int) -> np.ndarray:
    """Apply a 4x4 superoperator (index ``i + 2 j``) to the pair ``(i_k, j_k)`` of a
    ``(2,)*2n`` density-matrix tensor (C order: row bit k on axis ``n-1-k``, column bit k on
    axis ``2n-1-k``)."""
    m = m4.reshape(2, 2, 2, 2)  # [j', i', j, i]
    res = np.tensordot(m, t, axes=([3, 2], [n - 1 - k, 2 * n - 1 - k]))
    return np.moveaxis(res, [1, 0], [n - 1 - k, 2 * n - 1 - k])


class _JumpPropagator:
    """No-jump evolution ``psi -> e^{-i H_eff s} psi`` for many trajectories at once.

    Dense ``d <= _MC_DENSE_MAX`` with a well-conditioned eigenbasis: states are kept as
    coefficients ``c`` in the eigenbasis of ``-i H_eff`` (``psi = R c``), so a step is ``c e^{lambda s}``
    and the squared norm ``c^dagger (R^dagger R) c``. Otherwise states are vectors and a step is a
    sparse ``expm_multiply``."""

    def __init__(self, h_eff, d, max_condition):
        self.eig = None
        if d <= _MC_DENSE_MAX:
            a = -1j * h_eff.toarray()
            lam, r = np.linalg.eig(a)
            if np.linalg.cond(r) <= max_condition:
                self.eig = (lam, r, np.linalg.inv(r), r.conj().T @ r)
        self.a = -1j * sparse.csr_array(h_eff)

    def to_internal(self, psi):  # (k, d) rows
        if not self.eig:
            return psi
        return (self.eig[2] @ psi[0])[None, :] if psi.shape[0] == 1 else psi @ self.eig[2].T

    def to_state(self, x):
        if not self.eig:
            return x
        return (self.eig[1] @ x[0])[None, :] if x.shape[0] == 1 else x @ self.eig[1].T

    def advance(self, x, s):
        if self.eig:
            return x * np.exp(self.eig[0] * s)[None, :]
        from scipy.sparse.linalg import expm_multiply

        return expm_multiply(self.a * s, x.T).T

    def norm2(self, x):
        if self.eig:
            if x.shape[0] == 1:  # a matrix-vector product (gemv) is ~10x cheaper than a 1-row gemm
                return np.array([np.vdot(x[0], self.eig[3] @ x[0]).real])
            return np.sum((x.conj() @ self.eig[3]) * x, axis=1).real
        return np.einsum("ki,ki->k", x.conj(), x).real


class Evolver:
    """A Lindblad evolution set up once and run for many initial states, time grids and
    observables.

    Args:
        hamiltonian: ``H`` (rad/s): a Hermitian ``(d, d)`` matrix, sparse matrix or PauliSum.
        c_ops: collapse operators ``C`` (sqrt(rate) included, 1/sqrt(s)), same forms.
        d_hamiltonian: optional ``dH/dtheta`` for sensitivities (Hermitian, same forms).
        options: an ``EvolveOptions`` or a dict of its fields (unknown names raise).

    Raises:
        SensingError: a non-Hermitian ``H``, operators of different sizes, an unknown option, a
            forced method the inputs do not allow.

    Example:
        >>> import numpy as np
        >>> from kizuna import PauliSum
        >>> ev = Evolver(PauliSum({"Z": 0.5}), [PauliSum({"Z": 0.5})])  # w = 1 rad/s, T2 = 2 s
        >>> r = ev.run(np.array([1, 1]) / 2 ** 0.5, [0.0, 1.0], e_ops=[PauliSum({"X": 1.0})])
        >>> r.method, bool(abs(r.expect[0, 1] - np.exp(-0.5) * np.cos(1.0)) < 1e-12)
        ('diagonal', True)
    """

    def __init__(self, hamiltonian, c_ops=(), *, d_hamiltonian=None, options=None):
        self.options = EvolveOptions.from_mapping(options)
        h = _as_matrix(hamiltonian, None, "hamiltonian", hermitian=True)
        self.dim = dim = h.shape[0]
        cs = [_as_matrix(c, dim, f"c_ops[{i}]", hermitian=False) for i, c in enumerate(list(c_ops))]
        g = None if d_hamiltonian is None else _as_matrix(d_hamiltonian, dim, "d_hamiltonian", hermitian=True)
        self._h, self._cs, self._g = h, cs, g
        method = self.options.method
        self._diag = None
        self._local = None
        if method == "mc" and g is not None:
            raise SensingError("method='mc' does not compute d rho/d theta; drop d_hamiltonian or use "
                               "method='general'")
        if method in ("auto", "diagonal"):
            hd = _diagonal_of(h)
            cds = [_diagonal_of(c) for c in cs]
            gd = None if g is None else _diagonal_of(g)
            if hd is not None and all(c is not None for c in cds) and (g is None or gd is not None):
                self._diag = (hd, cds, gd)
                method = "diagonal"
            elif method == "diagonal":
                raise SensingError("method='diagonal' needs a diagonal hamiltonian, c_ops and d_hamiltonian")
        if method in ("auto", "local"):
            self._local = self._local_setup(hamiltonian, list(c_ops), d_hamiltonian)
            if self._local is not None:
                method = "local"
            elif method == "local":
                raise SensingError(
                    "method='local' needs a PauliSum hamiltonian (and d_hamiltonian, if given) of "
                    "single-qubit terms, PauliSum c_ops each on one qubit, and diagonalisable "
                    "single-spin Liouvillians")
        if method == "auto":
            method = "general"
        self.method = method
        self._lv = None

    def _local_setup(self, hamiltonian, c_ops, d_hamiltonian):
        if not isinstance(hamiltonian, PauliSum):
            return None
        if not all(isinstance(c, PauliSum) for c in c_ops):
            return None
        n = hamiltonian.num_qubits
        hp = _local_parts(hamiltonian)
        if hp is None:
            return None
        gp = None
        if d_hamiltonian is not None:
            if not isinstance(d_hamiltonian, PauliSum):
                return None
            gp = _local_parts(d_hamiltonian)
            if gp is None:
                return None
        site_c: dict[int, list[np.ndarray]] = {k: [] for k in range(n)}
        for c in c_ops:
            parts = _local_parts(c)
            if parts is None or len(parts) > 1:
                return None
            if not parts:  # identity collapse operator: no effect on the dynamics
                continue
            (k, m), = parts.items()
            site_c[k].append(m)
        sites = []
        for k in range(n):
            lv = _site_liouvillian(hp.get(k, np.zeros((2, 2), complex)), site_c[k])
            lam, r = np.linalg.eig(lv)
            if np.linalg.cond(r) > self.options.max_condition:
                return None
            rinv = np.linalg.inv(r)
            b = None
            if gp is not None and k in gp:  # dL_k = -i[G_k, .] in the eigenbasis of L_k
                g = gp[k]
                b = rinv @ (-1j * (np.kron(np.eye(2), g) - np.kron(g.T, np.eye(2)))) @ r
            sites.append((lam, r, rinv, b))
        return n, sites

    # --- paths -----------------------------------------------------------------------------
    def run(self, rho0, times, e_ops=(), *, seed=None) -> EvolveResult:
        """Evolve ``rho0`` (state vector or density matrix, the state at ``times[0]``) and
        return states and/or expectation values at ``times`` (seconds, non-decreasing).

        ``seed`` (int, ``numpy.random.Generator`` or None) drives the ``"mc"`` method (each
        trajectory gets its own ``SeedSequence.spawn`` child, so results are reproducible bit
        for bit); the exact paths ignore it.

        Raises:
            SensingError: ``rho0`` not a density matrix or of the wrong size, bad times or
                observables.
            MemoryLimitError: the states to store would not fit in memory.
        """
        t = _check_times(times)
        if self.method == "mc" and np.ndim(rho0) == 1:
            rho = _check_vector(rho0, self.dim)
        else:
            rho = _check_rho0(rho0, self.dim)
        ops = [_as_matrix(e, self.dim, f"e_ops[{i}]", hermitian=False) for i, e in enumerate(list(e_ops))]
        herm = all(
            (float(abs(e - e.conj().T).max()) if (not sparse.issparse(e) or (e - e.conj().T).nnz) else 0.0)
            <= _HERM_ATOL * max(1.0, float(abs(e).max()) if (not sparse.issparse(e) or e.nnz) else 1.0)
            for e in ops)
        store = self.options.store_states
        if store is None:
            store = not ops
        if store:
            _check_output_memory(t.size, self.dim, 2 if self._g is not None else 1)
        if self.method == "mc":
            return self._run_mc(rho, t, ops, store, herm, seed)
        if self.method == "diagonal":
            res = self._run_diagonal(rho, t, ops, store)
        elif self.method == "local":
            res = self._run_local(rho, t, ops, store)
        else:
            res = self._run_general(rho, t, ops, store)
        expect, states, derivs, dexp = res
        if herm:
            expect = expect.real
            dexp = None if dexp is None else dexp.real
        return EvolveResult(times=t, expect=expect, states=states, derivatives=derivs, d_expect=dexp,
                            method=self.method)

    def _run_mc(self, rho, t, ops, store, herm, seed):
        """Quantum-jump (Monte-Carlo wave-function) trajectories: the state evolves under
        ``H_eff = H - (i/2) sum C^dagger C`` until its squared norm falls to a uniform random
        ``r``, found by Brent's method to ``1e-13`` of the step; then jumps with ``C_k`` chosen
        with probability ``||C_k psi||^2 / sum``. Mixed ``rho0`` is sampled from its
        eigendecomposition. (Dalibard, Castin & Mølmer, PRL 68, 580 (1992).)"""
        from scipy.optimize import brentq

        from ..core.random import resolve_seed

        rng, recorded = resolve_seed(seed)
        entropy = recorded if recorded is not None else [int(x) for x in rng.integers(0, 2**63, size=4)]
        ntraj = int(self.options.ntraj)
        children = np.random.SeedSequence(entropy).spawn(ntraj)
        rngs = [np.random.default_rng(c) for c in children]
        d = self.dim
        cs = [sparse.csr_array(c) for c in self._cs]
        h_eff = sparse.csr_array(self._h) - 0.5j * sum((c.conj().T @ c for c in cs), sparse.csr_array((d, d)))
        prop = _JumpPropagator(h_eff, d, self.options.max_condition)

        u0 = np.array([g.random() for g in rngs])  # drawn for pure states too: one stream layout
        if rho.ndim == 1:
            state = prop.to_internal(np.repeat(rho[None, :], ntraj, axis=0))  # (ntraj, d)
        else:
            p, v = np.linalg.eigh(rho)
            p = np.clip(p, 0.0, None)
            p /= p.sum()
            cum = np.cumsum(p)
            picks = np.minimum(np.searchsorted(cum, u0 * cum[-1], side="right"), d - 1)
            state = prop.to_internal(v[:, picks].T.copy())
        r = np.array([g.random() for g in rngs])
        tau = t - t[0]
        mc_ops = [sparse.csr_array(e) if sparse.issparse(e) else e for e in ops]
        vals = np.empty((len(ops), ntraj, t.size), complex)
        states = np.zeros((t.size, d, d), complex) if store else None

        def record(i):
            psi = prop.to_state(state)
            psi = psi / np.linalg.norm(psi, axis=1, keepdims=True)  # not in place: it may be `state`
            for m, e in enumerate(mc_ops):
                vals[m, :, i] = np.sum(psi.conj() * (e @ psi.T).T, axis=1)
            if store:
                states[i] = psi.T @ psi.conj() / ntraj

        def jump(k, x):
            psi = prop.to_state(x[None, :])[0]
            out = [c @ psi for c in cs]
            w = np.array([np.vdot(o, o).real for o in out])
            j = int(np.searchsorted(np.cumsum(w), rngs[k].random() * w.sum(), side="right"))
            new = out[min(j, len(out) - 1)]
            return prop.to_internal((new / np.linalg.norm(new))[None, :])[0]

        record(0)
        for i in range(1, t.size):
            step = tau[i] - tau[i - 1]
            if step > 0:
                moved = prop.advance(state, step)
                low = np.nonzero(prop.norm2(moved) < r)[0] if cs else np.array([], dtype=int)
                for k in low:  # trajectories that jump in this step, one by one
                    x, left = state[k], step
                    while True:
                        y = prop.advance(x[None, :], left)[0]
                        if prop.norm2(y[None, :])[0] >= r[k]:
                            moved[k] = y
                            break
                        f = lambda s, x=x, k=k: prop.norm2(prop.advance(x[None, :], s))[0] - r[k]
                        s_jump = brentq(f, 0.0, left, xtol=1e-13 * max(left, 1e-300), rtol=1e-15)
                        x = jump(k, prop.advance(x[None, :], s_jump)[0])
                        left -= s_jump
                        r[k] = rngs[k].random()
                        if left <= 0:
                            moved[k] = x
                            break
                state = moved
            record(i)
        expect = vals.mean(axis=1)
        se = (vals.real.std(axis=1, ddof=1) + 1j * vals.imag.std(axis=1, ddof=1)) / np.sqrt(ntraj)
        if herm:
            expect, se = expect.real, se.real
        return EvolveResult(times=t, expect=expect, states=states, method="mc", expect_std_err=se,
                            ntraj=ntraj, seed=recorded)

    def _run_diagonal(self, rho, t, ops, store):
        hd, cds, gd = self._diag
        ld = -1j * (hd[:, None] - hd[None, :])
        for c in cds:
            ld = ld + c[:, None] * c.conj()[None, :] - 0.5 * (np.abs(c)[:, None] ** 2 + np.abs(c)[None, :] ** 2)
        dl = None if gd is None else -1j * (gd[:, None] - gd[None, :])
        tau = t - t[0]
        expect = np.zeros((len(ops), t.size), complex)
        dexp = None if gd is None else np.zeros((len(ops), t.size), complex)
        for m, e in enumerate(ops):
            ed = e.toarray() if sparse.issparse(e) else e
            w = ed.T * rho
            nz = np.nonzero(w)
            if not nz[0].size:
                continue
            wv, lv = w[nz], ld[nz]
            ex = np.exp(np.outer(tau, lv))  # (T, nnz)
            expect[m] = ex @ wv
            if dl is not None:
                dexp[m] = (ex * tau[:, None]) @ (wv * dl[nz])
        states = derivs = None
        if store:
            states = np.empty((t.size, self.dim, self.dim), complex)
            if dl is not None:
                derivs = np.empty_like(states)
            for i, s in enumerate(tau):
                states[i] = rho * np.exp(ld * s)
                if dl is not None:
                    derivs[i] = states[i] * (dl * s)
        return expect, states, derivs, dexp

    def _run_local(self, rho, t, ops, store):
        n, sites = self._local
        tau = t - t[0]
        shape = (2,) * (2 * n)
        rt = rho.reshape(shape)
        for k, (_, _, rinv, _) in enumerate(sites):
            rt = _apply_site(rt, rinv, k, n)
        # order the tensor as one 4-valued index per site: b_k = i_k + 2 j_k -> axes (j_k, i_k)
        order = []
        for k in range(n):
            order += [2 * n - 1 - k, n - 1 - k]
        expect = np.zeros((len(ops), t.size), complex)
        factors = [np.exp(np.outer(tau, lam)) for lam, _, _, _ in sites]  # (T, 4) each
        for m, e in enumerate(ops):
            ed = e.toarray() if sparse.issparse(e) else e
            et = np.ascontiguousarray(ed.T).reshape(shape)
            for k, (_, r, _, _) in enumerate(sites):
                et = _apply_site(et, r.T, k, n)
            w = (et * rt).transpose(order).reshape(4, -1)
            y = factors[0] @ w  # (T, 4^(n-1))
            for k in range(1, n):
                y = np.einsum("tb,tbr->tr", factors[k], y.reshape(t.size, 4, -1))
            expect[m] = y.reshape(t.size)
        states = derivs = dexp = None
        with_g = self._g is not None
        if store or with_g:
            # per time: rho(t) = (x) P_k rho0 and, with a generator, the sensitivity by the product
            # rule over sites (the P_k commute): (x, dx) -> (P_k x, P_k dx + D_k x), where
            # D_k = d e^{L_k t}/d theta = R (Phi o B) R^-1 (Daleckii–Krein), B = R^-1 dL_k R and
            # Phi_ab = (e^{l_a t} - e^{l_b t}) / (l_a - l_b)  (t e^{l_a t} when l_a = l_b)
            if store:
                states = np.empty((t.size, self.dim, self.dim), complex)
                if with_g:
                    derivs = np.empty_like(states)
            if with_g:
                dexp = np.zeros((len(ops), t.size), complex)
                dense = [np.ascontiguousarray((e.toarray() if sparse.issparse(e) else e).T) for e in ops]
            for i in range(t.size):
                x = rt
                dx = None
                for k, (lam, r, _, b) in enumerate(sites):
                    ex = np.exp(lam * tau[i])
                    if b is not None:
                        dlam = lam[:, None] - lam[None, :]
                        same = np.abs(dlam) * max(tau[i], 1e-300) < 1e-8
                        phi = np.where(same, tau[i] * np.exp(0.5 * (lam[:, None] + lam[None, :]) * tau[i]),
                                       (ex[:, None] - ex[None, :]) / np.where(same, 1.0, dlam))
                        dk = _apply_site(x, r @ (phi * b), k, n)
                    x_new = _apply_site(x, r * ex[None, :], k, n)
                    if dx is not None:
                        dx = _apply_site(dx, r * ex[None, :], k, n)
                    if b is not None:
                        dx = dk if dx is None else dx + dk
                    x = x_new
                if store:
                    states[i] = x.reshape(self.dim, self.dim)
                if with_g:
                    dm = np.zeros((self.dim, self.dim), complex) if dx is None else dx.reshape(self.dim, self.dim)
                    if store:
                        derivs[i] = dm
                    for m, e in enumerate(dense):
                        dexp[m, i] = np.sum(e * dm)
        return expect, states, derivs, dexp

    def _run_general(self, rho, t, ops, store):
        from scipy.sparse.linalg import expm_multiply

        d = self.dim
        if self._lv is None:
            lv = _liouvillian(self._h, self._cs, d)
            if self._g is not None:
                eye = sparse.identity(d, dtype=np.complex128, format="csr")
                gs = sparse.csr_array(self._g)
                dl = -1j * (sparse.kron(eye, gs) - sparse.kron(gs.T, eye))
                lv = sparse.block_array([[lv, None], [dl, lv]], format="csr")
            self._lv = lv
        v0 = rho.reshape(-1, order="F")
        if self._g is not None:
            v0 = np.concatenate([v0, np.zeros_like(v0)])
        tau = t - t[0]
        steps = np.diff(tau)
        if t.size == 1:
            vs = v0[None, :]
        elif np.allclose(steps, steps[0], rtol=1e-12, atol=0) and steps[0] > 0:
            vs = expm_multiply(self._lv, v0, start=0.0, stop=tau[-1], num=t.size, endpoint=True)
        else:
            vs = np.empty((t.size, v0.size), complex)
            vs[0] = v0
            for i, s in enumerate(steps):
                vs[i + 1] = vs[i] if s == 0 else expm_multiply(self._lv * s, vs[i])
        dd = d * d
        mats = vs[:, :dd].reshape(t.size, d, d).transpose(0, 2, 1)  # un-vec (column stacking)
        dmats = None if self._g is None else vs[:, dd:].reshape(t.size, d, d).transpose(0, 2, 1)
        expect = np.zeros((len(ops), t.size), complex)
        dexp = None if dmats is None else np.zeros_like(expect)
        for m, e in enumerate(ops):
            ed = e.toarray() if sparse.issparse(e) else e
            expect[m] = np.einsum("ji,tij->t", ed, mats)
            if dmats is not None:
                dexp[m] = np.einsum("ji,tij->t", ed, dmats)
        states = np.ascontiguousarray(mats) if store else None
        derivs = np.ascontiguousarray(dmats) if (store and dmats is not None) else None
        return expect, states, derivs, dexp


def evolve(hamiltonian, rho0, times, c_ops=(), *, e_ops=(), d_hamiltonian=None, options=None,
           seed=None) -> EvolveResult:
    """Solve the Lindblad master equation from ``rho0`` at ``times[0]`` (one call; see
    ``Evolver`` to reuse the set-up).

    Args:
        hamiltonian: ``H`` in rad/s (Hermitian matrix, sparse matrix or PauliSum).
        rho0: initial state vector or density matrix.
        times: ``(T,)`` non-decreasing times in seconds.
        c_ops: collapse operators (``sqrt(rate) * A``).
        e_ops: observables whose expectation values are returned in ``result.expect``.
        d_hamiltonian: ``dH/dtheta``; ``result.derivatives`` / ``d_expect`` then hold
            ``d rho/d theta`` and ``d <E>/d theta`` (``rho0`` independent of theta).
        options: ``EvolveOptions`` or a dict (``method``, ``store_states``, ``max_condition``,
            ``ntraj``).
        seed: int, ``numpy.random.Generator`` or None: the ``"mc"`` method's randomness
            (reproducible bit for bit; ignored by the exact paths).

    Returns:
        ``EvolveResult``.

    Cost: diagonal path O(T d^2) (O(T nnz) for expectations); local path O(4^n) per time for
    expectations (plus O(n 4^n) per time for stored states or derivatives); general path a few
    sparse products of the ``d^2 x d^2`` Liouvillian per time step; ``"mc"`` O(ntraj T d^2)
    (dense ``H_eff`` eigenbasis, ``d <= 1024``) plus a root search per jump.

    Raises:
        SensingError: a non-Hermitian Hamiltonian, ``rho0`` not a density matrix, bad shapes,
            times or options.

    Example:
        >>> import numpy as np
        >>> from kizuna import PauliSum
        >>> r = evolve(PauliSum({"X": 0.5}), np.array([1, 0]), [0, np.pi], e_ops=[PauliSum({"Z": 1.0})])
        >>> r.expect.round(12)  # a Rabi pi pulse (rate 1 rad/s)
        array([[ 1., -1.]])
    """
    return Evolver(hamiltonian, c_ops, d_hamiltonian=d_hamiltonian, options=options).run(rho0, times, e_ops,
                                                                                          seed=seed)
