"""Permutation-symmetric ensembles with per-spin (local) dissipation, exactly, in the Dicke basis.

``N`` identical spins whose Hamiltonian and collapse operators are invariant under permuting the
spins -- a collective ``H(Jx, Jy, Jz)``, collective collapse operators ``C(Jx, Jy, Jz)`` and the
same single-spin collapse operator ``A`` on every spin (``sum_k D[A_k]``: local emission, pumping,
dephasing) -- keep a permutation-invariant state permutation invariant. Such a state is
block diagonal in the coupled basis ``|j, m, alpha>`` and the identity on the multiplicity label
``alpha``: ``rho = sum_j q_j (x) I_{d_j} / d_j`` with ``q_j`` a ``(2j+1) x (2j+1)`` matrix
(index ``k = j - m``, as ``dicke_spin_operators``) and ``d_j`` the multiplicity of spin ``j``
among ``N`` spin-1/2s. The ``q_j`` carry the block weights (``Tr rho = sum_j Tr q_j``), so no
``2^N``-sized number appears. There are ``sum_j (2j+1)^2 ~ N^3/6`` unknowns instead of ``4^N``
(Chase & Geremia, PRA 78, 052101 (2008); Shammah et al., PRA 98, 063815 (2018), QuTiP's PIQS).

Local dissipation moves weight between neighbouring blocks. The sandwich term is derived here
by splitting off one spin, ``|j m (j', alpha')> = sum_s <j' m-s; 1/2 s|j m> |j' m-s, alpha'> |s>``
(``j' = j -+ 1/2`` of the other ``N - 1`` spins), which gives
``sum_k A_k (q_j (x) I/d_j) A_k^dagger -> sum_{J, j'} N d^{N-1}_{j'} / d^N_j  K q_j K^dagger`` on
block ``J`` in ``{j-1, j, j+1}``, with the ``(2J+1) x (2j+1)`` matrix
``K[M, m] = sum_{s,t} <j' M-t; 1/2 t|J M> <j' m-s; 1/2 s|j m> <t|A|s>`` (``M - t = m - s``).
The anticommutator ``sum_k A_k^dagger A_k`` is linear in ``J`` and acts inside each block.

Spin ``s = +1/2`` is the qubit state ``|0>`` (``Z = +1``), so ``A`` is a 2x2 matrix in Kizuna's
qubit basis: local emission (``|0> -> |1>``, lowering ``m``) is ``sqrt(gamma) [[0, 0], [1, 0]]``.

This module imports numpy, scipy and ``kizuna.errors`` / the sensing modules only.
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction

import numpy as np

from ..errors import SensingError
from ._dynamics import EvolveResult, _check_times

__all__ = ["evolve_dicke"]

_MAX_SPINS = 400


def _spin_matrices(two_j: int):
    """``(Jx, Jy, Jz)`` of spin ``j = two_j / 2`` (dense, index ``k = j - m``)."""
    j = two_j / 2
    m = j - np.arange(two_j + 1)
    up = np.sqrt(np.maximum(j * (j + 1) - m[1:] * (m[1:] + 1), 0.0))
    jp = np.diag(up.astype(complex), 1)
    jm = jp.conj().T
    return (jp + jm) / 2, (jp - jm) / 2j, np.diag(m.astype(complex))


def _multiplicity(n: int, two_j: int) -> int:
    """How many times spin ``two_j / 2`` occurs among ``n`` spin-1/2s."""
    k = (n - two_j) // 2
    if two_j < 0 or two_j > n or (n - two_j) % 2:
        return 0
    return math.comb(n, k) - (math.comb(n, k - 1) if k >= 1 else 0)


def _cg_half(two_jp: int, two_j: int, two_m: np.ndarray, two_s: int) -> np.ndarray:
    """``<j' m-s; 1/2 s | j m>`` for ``j = j' +- 1/2`` (Condon–Shortley), vectorised over ``m``;
    zero where ``|m - s| > j'`` or ``|m| > j``."""
    jp = two_jp / 2
    m = two_m / 2
    if two_j == two_jp + 1:
        num = jp + m + 0.5 if two_s > 0 else jp - m + 0.5
        sign = 1.0
    else:
        num = jp - m + 0.5 if two_s > 0 else jp + m + 0.5
        sign = -1.0 if two_s > 0 else 1.0
    val = sign * np.sqrt(np.clip(num, 0.0, None) / (2 * jp + 1))
    valid = (np.abs(two_m - two_s) <= two_jp) & (np.abs(two_m) <= two_j)
    return np.where(valid, val, 0.0)


def _transfer(two_jp: int, two_j: int, two_big_j: int, a: np.ndarray) -> np.ndarray:
    """``K[M, m]`` from block ``j`` to block ``J`` through ``j'`` (see the module docstring)."""
    dj, dbig = two_j + 1, two_big_j + 1
    two_m = two_j - 2 * np.arange(dj)
    k = np.zeros((dbig, dj), dtype=complex)
    for two_s, si in ((1, 0), (-1, 1)):
        c_in = _cg_half(two_jp, two_j, two_m, two_s)
        for two_t, ti in ((1, 0), (-1, 1)):
            if a[ti, si] == 0:
                continue
            two_big_m = two_m - two_s + two_t
            rows = (two_big_j - two_big_m) // 2
            ok = (np.abs(two_big_m) <= two_big_j) & (c_in != 0)
            c_out = _cg_half(two_jp, two_big_j, two_big_m, two_t)
            np.add.at(k, (rows[ok], np.nonzero(ok)[0]), (c_out * c_in)[ok] * a[ti, si])
    return k


def _block_liouvillian(h, cs, anti):
    """Sparse column-stacking Liouvillian of one block (``anti``: an extra ``-{K, rho}/2``)."""
    from scipy import sparse

    d = h.shape[0]
    eye = sparse.identity(d, dtype=complex, format="csr")
    sp = sparse.csr_array
    lv = -1j * (sparse.kron(eye, sp(h)) - sparse.kron(sp(h.T), eye))
    for c in cs:
        cdc = c.conj().T @ c
        lv = lv + sparse.kron(sp(c.conj()), sp(c)) - 0.5 * sparse.kron(eye, sp(cdc)) - 0.5 * sparse.kron(sp(cdc.T), eye)
    if anti is not None:
        lv = lv - 0.5 * sparse.kron(eye, sp(anti)) - 0.5 * sparse.kron(sp(anti.T), eye)
    return sparse.coo_array(lv)


def _collective(fn, jx, jy, jz, what: str, *, hermitian: bool) -> np.ndarray:
    try:
        m = fn(jx, jy, jz)
    except Exception as exc:  # a user callable: say which one failed and why
        raise SensingError(f"{what} raised {type(exc).__name__}: {exc}") from exc
    if hasattr(m, "toarray"):
        m = m.toarray()
    m = np.asarray(m, dtype=complex)
    d = jx.shape[0]
    if m.ndim == 0:
        m = m * np.eye(d)
    if m.shape != (d, d):
        raise SensingError(f"{what} must return a ({d}, {d}) matrix for spin {(d - 1) / 2} (got shape {m.shape})")
    if hermitian and float(np.max(np.abs(m - m.conj().T), initial=0.0)) > 1e-10 * max(1.0, float(np.abs(m).max())):
        raise SensingError(f"{what} must be Hermitian (it is not for spin {(d - 1) / 2})")
    return m


def _local_op(a, what: str) -> np.ndarray:
    m = np.asarray(a)
    if not np.issubdtype(m.dtype, np.number) or m.shape != (2, 2):
        raise SensingError(f"{what} must be a 2x2 single-spin matrix (got {a!r})")
    m = m.astype(complex)
    if not np.all(np.isfinite(m)):
        raise SensingError(f"{what} holds NaN or infinite entries")
    return m


def _callable(f, what: str):
    if not callable(f):
        raise SensingError(f"{what} must be a callable (jx, jy, jz) -> matrix (got {f!r})")
    return f


def evolve_dicke(num_spins: int, rho0, times, *, hamiltonian=None, local_c_ops=(), collective_c_ops=(),
                 e_ops=()) -> EvolveResult:
    """Lindblad evolution of ``N`` identical spins with collective and per-spin dissipation,
    exact, in the ``O(N^3)``-dimensional permutation-symmetric (Dicke ``j, m, m'``) space.

    The master equation is ``d rho/dt = -i[H, rho] + sum_C D[C] rho + sum_k sum_A D[A_k] rho``,
    ``D[C] rho = C rho C^dagger - {C^dagger C, rho}/2``, with collective ``H`` and ``C`` and each
    single-spin ``A`` acting on every spin ``k`` (units: rad/s and 1/sqrt(s), ``hbar = 1``).

    Args:
        num_spins: ``N`` (1 to 400).
        rho0: a symmetric initial state in the Dicke basis of ``dicke_spin_operators`` (index
            ``k = N/2 - m``): an ``(N+1,)`` vector or ``(N+1, N+1)`` density matrix (e.g.
            ``dicke_isometry(N).T @ psi`` or ``one_axis_twisted_state``).
        times: ``(T,)`` non-decreasing times in seconds (``rho0`` at ``times[0]``).
        hamiltonian: ``None`` or a callable ``(jx, jy, jz) -> H`` building the collective
            Hamiltonian from the spin-``j`` matrices (it is called once per block ``j``).
        local_c_ops: 2x2 single-spin collapse operators in the qubit basis (``|0>`` = spin up),
            each applied to every spin: ``sqrt(g) [[0, 0], [1, 0]]`` emission,
            ``sqrt(g) [[0, 1], [0, 0]]`` pumping, ``sqrt(g) diag(1, -1)`` dephasing (coherence
            ``e^{-2 g t}``).
        collective_c_ops: callables ``(jx, jy, jz) -> C`` (e.g. ``lambda x, y, z: g**0.5 * (x - 1j*y)``
            for collective emission ``J-``).
        e_ops: callables ``(jx, jy, jz) -> E`` of collective observables; ``<E> = sum_j Tr(E_j q_j)``.

    Returns:
        ``EvolveResult`` with ``expect`` (``(m, T)``; real where every ``E`` is Hermitian),
        ``states = None`` and ``method = "dicke"``.

    Cost: ``n_b = sum_j (2j+1)^2 ~ N^3/6`` unknowns (1771 at N = 20, 10^5 near N = 80); a sparse
    Liouvillian with ``O(N n_b)`` entries (dense per-block parts), integrated by
    ``scipy.sparse.linalg.expm_multiply``.

    Raises:
        SensingError: ``N`` out of range, ``rho0`` not a density matrix of size ``N + 1``, a
            callable that fails or returns a non-Hermitian ``H``, a bad local operator.

    Example:
        >>> import numpy as np
        >>> g = 0.5  # local emission from the fully excited state: <Jz> = -N/2 + N e^{-g t}
        >>> r = evolve_dicke(4, np.eye(5)[0], [0.0, 1.0], local_c_ops=[g**0.5 * np.array([[0, 0], [1, 0]])],
        ...                  e_ops=[lambda jx, jy, jz: jz])
        >>> bool(abs(r.expect[0, 1] - (-2 + 4 * np.exp(-g))) < 1e-10)
        True
    """
    from scipy import sparse
    from scipy.sparse.linalg import expm_multiply

    if isinstance(num_spins, bool) or not isinstance(num_spins, numbers.Integral) or not 1 <= num_spins <= _MAX_SPINS:
        raise SensingError(f"num_spins must be an integer in [1, {_MAX_SPINS}] (got {num_spins!r})")
    n = int(num_spins)
    t = _check_times(times)
    a_ops = [_local_op(a, f"local_c_ops[{i}]") for i, a in enumerate(list(local_c_ops))]
    c_fns = [_callable(c, f"collective_c_ops[{i}]") for i, c in enumerate(list(collective_c_ops))]
    e_fns = [_callable(e, f"e_ops[{i}]") for i, e in enumerate(list(e_ops))]
    h_fn = None if hamiltonian is None else _callable(hamiltonian, "hamiltonian")

    # initial state: the j = N/2 block
    r0 = np.asarray(rho0)
    if not np.issubdtype(r0.dtype, np.number):
        raise SensingError(f"rho0 must hold numbers (got dtype {r0.dtype})")
    r0 = r0.astype(complex)
    if r0.ndim == 1:
        if r0.shape != (n + 1,):
            raise SensingError(f"rho0 as a Dicke-basis vector must have length {n + 1} (got {r0.shape[0]})")
        nrm = float(np.vdot(r0, r0).real)
        if abs(nrm - 1) > 1e-8:
            raise SensingError(f"rho0 must be a unit vector (got squared norm {nrm:.12g})")
        r0 = np.outer(r0, r0.conj())
    elif r0.shape != (n + 1, n + 1):
        raise SensingError(f"rho0 must have shape {(n + 1,)} or {(n + 1, n + 1)} (got {r0.shape})")
    else:
        bad = float(np.max(np.abs(r0 - r0.conj().T)))
        if bad > 1e-8:
            raise SensingError(f"rho0 is not a density matrix: not Hermitian (max |rho - rho^dagger| = {bad:.3g})")
        tr = float(np.trace(r0).real)
        if abs(tr - 1) > 1e-8 * (n + 1):
            raise SensingError(f"rho0 is not a density matrix: trace must be 1 (got {tr:.12g})")
        low = float(np.linalg.eigvalsh(r0).min())
        if low < -1e-8 * (n + 1):
            raise SensingError(f"rho0 is not a density matrix: it has a negative eigenvalue {low:.3g}")

    two_js = list(range(n, -1, -2))  # j = N/2, N/2 - 1, ..., 0 or 1/2
    offsets, off = {}, 0
    for tj in two_js:
        offsets[tj] = off
        off += (tj + 1) ** 2
    size = off

    # single-spin parts: sum_k (A^dagger A)_k = c0 N + 2 (cx Jx + cy Jy + cz Jz)
    paulis = (np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.diag([1.0, -1.0]))
    anti = np.zeros(4, dtype=complex)
    for a in a_ops:
        m = a.conj().T @ a
        anti += [np.trace(m) / 2] + [np.trace(m @ p) / 2 for p in paulis]

    blocks, rows, cols, vals = [], [], [], []
    e_blocks = [[] for _ in e_fns]
    for tj in two_js:
        jx, jy, jz = _spin_matrices(tj)
        d = tj + 1
        h = np.zeros((d, d), complex) if h_fn is None else _collective(h_fn, jx, jy, jz, "hamiltonian", hermitian=True)
        cs = [_collective(c, jx, jy, jz, f"collective_c_ops[{i}]", hermitian=False) for i, c in enumerate(c_fns)]
        k_anti = None
        if a_ops:
            k_anti = anti[0] * n * np.eye(d) + 2 * (anti[1] * jx + anti[2] * jy + anti[3] * jz)
        blocks.append(_block_liouvillian(h, cs, k_anti))
        for i, e in enumerate(e_fns):
            e_blocks[i].append(_collective(e, jx, jy, jz, f"e_ops[{i}]", hermitian=False))
        if not a_ops:
            continue
        # sandwich terms: block j -> blocks J in {j-1, j, j+1} through j' = j -+ 1/2 of N-1 spins
        d_src = _multiplicity(n, tj)
        for tjp in (tj - 1, tj + 1):
            mult = _multiplicity(n - 1, tjp)
            if mult == 0:
                continue
            w = float(Fraction(n * mult, d_src))
            for tbig in (tjp - 1, tjp + 1):
                if tbig < 0 or tbig > n or tbig not in offsets:
                    continue
                for a in a_ops:
                    kk = _transfer(tjp, tj, tbig, a)
                    if not np.any(kk):
                        continue
                    ks = sparse.csr_array(kk)
                    sup = sparse.coo_array(w * sparse.kron(ks.conj(), ks))
                    rows.append(sup.row + offsets[tbig])
                    cols.append(sup.col + offsets[tj])
                    vals.append(sup.data)
    lv = sparse.block_diag(blocks, format="coo")
    if rows:
        lv = lv + sparse.coo_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                                   shape=(size, size))
    lv = sparse.csr_array(lv)

    v0 = np.zeros(size, complex)
    v0[: (n + 1) ** 2] = r0.reshape(-1, order="F")
    tau = t - t[0]
    steps = np.diff(tau)
    if t.size == 1:
        vs = v0[None, :]
    elif np.allclose(steps, steps[0], rtol=1e-12, atol=0) and steps[0] > 0:
        vs = expm_multiply(lv, v0, start=0.0, stop=tau[-1], num=t.size, endpoint=True)
    else:
        vs = np.empty((t.size, size), complex)
        vs[0] = v0
        for i, s in enumerate(steps):
            vs[i + 1] = vs[i] if s == 0 else expm_multiply(lv * s, vs[i])
    expect = np.zeros((len(e_fns), t.size), complex)
    for i, eb in enumerate(e_blocks):
        for tj, e in zip(two_js, eb):
            d = tj + 1
            q = vs[:, offsets[tj]:offsets[tj] + d * d].reshape(t.size, d, d).transpose(0, 2, 1)
            expect[i] += np.einsum("ji,tij->t", e, q)
    herm = all(float(np.max(np.abs(e - e.conj().T))) <= 1e-10 * max(1.0, float(np.abs(e).max()))
               for eb in e_blocks for e in eb)
    if herm:
        expect = expect.real
    return EvolveResult(times=t, expect=expect, states=None, method="dicke")
