"""Numba kernels of the noisy backends: reduced density matrices and one-trajectory programs.

Conventions as ``_numba_sv``: a state is a C-contiguous vector of ``2**n`` amplitudes (complex128
or complex64), qubit ``k`` has weight ``2**k``, a matrix on ``qubits`` is little-endian over
them (``qubits[0]`` its least significant bit), and kernels work in place.

A *noisy program* extends ``_numba_sv.run_program``'s table: an int64 array ``(rows, 4)`` whose
row ``(code, q0, k, d0)`` acts on ``qubits[q0:q0+k]``. Codes below ``CH_MIXED`` are the gate
codes of ``run_program`` (their data in ``data`` as there). Three more codes:

* ``CH_MIXED``: a mixed-unitary channel ``rho -> sum_j p_j U_j rho U_j^dagger``; ``m =
  chan[r, 0]`` unitaries ``U_j`` (``2**k x 2**k``, row-major) at ``data[d0 + j*4**k ...]``,
  cumulative probabilities ``fdata[chan[r, 1] : chan[r, 1] + m]`` (the last is 1), and
  ``chan[r, 3]`` the index of a ``U_j`` that is exactly the identity (skipped), or -1.
* ``CH_GENERAL``: a Kraus channel with state-dependent probabilities; ``m = chan[r, 0]`` Kraus
  matrices ``K_j`` at ``data[d0 + j*4**k ...]`` and ``E_j = K_j^dagger K_j`` at
  ``data[chan[r, 2] + j*4**k ...]``.
* ``CH_PASS``: a step the caller handles (a measurement, reset or conditioned operation);
  ``run_branch`` stops there.

One trajectory (the quantum-trajectory unravelling of the channels, Dalibard, Castin and
Mølmer, PRL 68, 580 (1992)) draws one uniform per channel row: for a mixed-unitary channel it
picks ``U_j`` with probability ``p_j`` (no look at the state); for a general channel it picks
``K_j`` with the Born probability ``p_j = <psi|E_j|psi>`` (read from the reduced density matrix
of the channel's qubits, one pass over the state) and applies ``K_j / sqrt(p_j)``.

This module imports numba at its top (through ``_numba_sv``); nothing imports it until a noisy
simulation runs, so ``import kizuna`` stays free of numba. It imports nothing from Kizuna.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import refresh_numba_caches
from ._numba_sv import (
    _CHUNK_LOG,
    _PAR_MIN_LOG,
    _as_int64,
    _deposit,
    _num_qubits,
    _sorted_u64,
    apply_1q,
    apply_2q,
    apply_kq,
    run_program,
)

refresh_numba_caches()

__all__ = [
    "CH_GENERAL",
    "CH_MIXED",
    "CH_PASS",
    "binomial_inversion",
    "reduced_density_matrix",
    "run_branch",
]

_SERIAL = {"cache": True, "nogil": True, "fastmath": False}
_PARALLEL = {**_SERIAL, "parallel": True}

#: Row codes of a noisy program (gate codes of ``run_program`` are below these).
CH_MIXED = 16
CH_GENERAL = 17
CH_PASS = 18

_U1 = np.uint64(1)


# --- reduced density matrices -------------------------------------------------------------------


@njit(**_SERIAL)
def _run_rdm(state, pos, off, c0, count, out):
    # out[a, b] += sum over base counters c of psi[base + off[a]] * conj(psi[base + off[b]]).
    # Consecutive counters below bit pos[0] give consecutive bases: walk them in runs.
    dim = off.size
    lo = np.uint64(c0)
    hi = lo + np.uint64(count)
    run = min(hi - lo, _U1 << pos[0])
    if dim == 2:
        s00 = 0.0
        s11 = 0.0
        s10 = 0j
        o1 = off[1]
        for r0 in range(lo, hi, run):
            b0 = _deposit(r0, pos)
            for i in range(b0, b0 + run):
                x = state[i]
                y = state[i + o1]
                s00 += x.real * x.real + x.imag * x.imag
                s11 += y.real * y.real + y.imag * y.imag
                s10 += y * np.conj(x)
        out[0, 0] += s00
        out[1, 1] += s11
        out[1, 0] += s10
        out[0, 1] += np.conj(s10)
        return
    amp = np.empty(dim, np.complex128)
    for r0 in range(lo, hi, run):
        b0 = _deposit(r0, pos)
        for base in range(b0, b0 + run):
            for a in range(dim):
                amp[a] = state[base + off[a]]
            for a in range(dim):
                x = amp[a]
                for b in range(a + 1):
                    out[a, b] += x * np.conj(amp[b])
    for a in range(dim):
        for b in range(a):
            out[b, a] = np.conj(out[a, b])


@njit(**_SERIAL)
def _rdm_plan(state, qubits):
    """(sorted positions, offsets of the 2**k amplitudes, chunks, groups per chunk, zeroed
    per-chunk sums). Kept out of the parallel function: there numba would turn every array
    expression into a threaded loop."""
    qs = _as_int64(qubits, _num_qubits(state))
    k = qs.size
    dim = 1 << k
    pos = _sorted_u64(qs)
    off = np.zeros(dim, np.uint64)
    for a in range(dim):
        for b in range(k):
            if (a >> b) & 1:
                off[a] += _U1 << np.uint64(qs[b])
    total = state.size >> k
    if total < (1 << _PAR_MIN_LOG):
        nch = 1
        chunk = total
    else:
        chunk = 1 << _CHUNK_LOG
        nch = total >> _CHUNK_LOG
    part = np.zeros((nch, dim, dim), np.complex128)
    return pos, off, nch, chunk, part


@njit(**_SERIAL)
def _sum_parts(part):
    dim = part.shape[1]
    out = np.zeros((dim, dim), np.complex128)
    for ch in range(part.shape[0]):
        for a in range(dim):
            for b in range(dim):
                out[a, b] += part[ch, a, b]
    return out


@njit(**_PARALLEL)
def reduced_density_matrix(state, qubits):
    """The ``2**k x 2**k`` reduced density matrix of ``qubits`` (complex128), little-endian over
    ``qubits``: ``rho[a, b] = sum_rest psi[a, rest] conj(psi[b, rest])`` (not normalised).

    Partial sums are taken per fixed chunk and added in chunk order, so the result is bitwise
    the same for any thread count.

    Cost: one pass over the state, ``4**k`` complex multiply-adds per ``2**k`` amplitudes;
    O(4**k * 2**n / 4096) memory for the per-chunk sums.
    """
    pos, off, nch, chunk, part = _rdm_plan(state, qubits)
    if nch > 1:
        for ch in prange(nch):
            _run_rdm(state, pos, off, ch * chunk, chunk, part[ch])
    else:
        for ch in range(nch):
            _run_rdm(state, pos, off, ch * chunk, chunk, part[ch])
    return _sum_parts(part)


# --- noisy programs -----------------------------------------------------------------------------


@njit(**_SERIAL)
def _apply_dense(state, m, qs):
    k = qs.size
    if k == 1:
        apply_1q(state, m, qs[0])
    elif k == 2:
        apply_2q(state, m, qs[0], qs[1])
    else:
        apply_kq(state, m, qs)


@njit(**_SERIAL)
def _general_probabilities(state, qs, data, e0, m, dim):
    """p_j = Re tr(E_j rho) for the m matrices E_j stored from data[e0]."""
    rho = reduced_density_matrix(state, qs)
    p = np.empty(m, np.float64)
    dd = dim * dim
    for j in range(m):
        s = 0.0
        for a in range(dim):
            for b in range(dim):
                e = data[e0 + j * dd + a * dim + b]
                r = rho[b, a]
                s += float(e.real) * r.real - float(e.imag) * r.imag
        p[j] = max(s, 0.0)
    return p


@njit(**_SERIAL)
def _choose(p, x):
    """The index j with cumsum(p)[j-1] <= x * sum(p) < cumsum(p)[j]; never one with p_j = 0."""
    total = 0.0
    for j in range(p.size):
        total += p[j]
    t = x * total
    acc = 0.0
    last = -1
    for j in range(p.size):
        if p[j] > 0.0:
            last = j
            acc += p[j]
            if t < acc:
                return j
    return last


@njit(**_SERIAL)
def binomial_inversion(n, p, u):
    """A Binomial(n, p) draw from one uniform ``u`` by inverting the CDF: the smallest ``x``
    with ``CDF(x) > u`` (exact up to rounding), or -1 when ``(1 - min(p, 1 - p))**n`` would
    underflow (the caller draws it otherwise).

    Cost: O(1 + n * min(p, 1 - p)) steps on average.
    """
    if p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    flip = p > 0.5
    q = 1.0 - p if flip else p
    if flip:  # n - X' with X' ~ Binomial(n, 1 - p) drawn at 1 - u: still the quantile at u
        u = 1.0 - u
    log_f = n * np.log1p(-q)
    if log_f < -700.0:
        return -1
    f = np.exp(log_f)
    cdf = f
    ratio = q / (1.0 - q)
    x = 0
    while u >= cdf and x < n:
        f *= (n - x) / (x + 1.0) * ratio
        x += 1
        cdf += f
    return n - x if flip else x


@njit(**_SERIAL)
def _apply_scaled(state, src, dim, scale, qs):
    mat = np.empty((dim, dim), src.dtype)  # the state's dtype: one kernel specialisation
    for a in range(dim):
        for b in range(dim):
            mat[a, b] = src[a * dim + b] * scale
    _apply_dense(state, mat, qs)


@njit(**_SERIAL)
def run_branch(state, table, qubits, data, chan, fdata, start, shots, uniforms, p_out):
    """Run a branch of ``shots`` shots from row ``start``, in place, until it must split.

    Gate rows run as ``run_program`` (runs of consecutive gate rows in one call); each channel
    row consumes the next entry of ``uniforms`` (floats in [0, 1)).

    * One shot (a single trajectory): the uniform picks ``U_j`` (mixed) or ``K_j`` (general,
      Born probability from the reduced density matrix), which is applied (``K_j`` divided
      by ``sqrt(p_j)``). The branch never splits.
    * Several shots: ``j*`` is the identity of a mixed channel (else its most likely
      ``U_j``) or the most likely ``K_j`` of a general one; the uniform draws how many shots
      take ``j*`` (``binomial_inversion``). When all do, ``j*`` is applied and the run goes
      on; otherwise it stops at that row with the probabilities in ``p_out[:m]``.

    Stops at the first ``CH_PASS`` row, at a split, or at the end.

    Returns:
        ``(row, used, j_star, n_star)``: the row it stopped at (``table.shape[0]`` at the end),
        the uniforms consumed, and at a split the index ``j*`` and the number of shots that
        took it (-1: not drawn, the count underflowed); ``(-1, -1)`` otherwise.

    Raises:
        ValueError: ``uniforms`` ran out, or a general channel met a state of norm zero.
    """
    rows = table.shape[0]
    r = start
    u = 0
    while r < rows:
        code = table[r, 0]
        if code < CH_MIXED:
            s = r
            while r < rows and table[r, 0] < CH_MIXED:
                r += 1
            run_program(state, table[s:r], qubits, data)
            continue
        if code == CH_PASS:
            return r, u, -1, -1
        if u >= uniforms.size:
            raise ValueError("run_branch ran out of uniforms")
        x = uniforms[u]
        u += 1
        q0 = table[r, 1]
        k = table[r, 2]
        d0 = table[r, 3]
        qs = qubits[q0 : q0 + k]
        dim = 1 << k
        dd = dim * dim
        m = chan[r, 0]
        if code == CH_MIXED:
            f0 = chan[r, 1]
            ident = chan[r, 3]
            if shots == 1:
                j = 0
                while j < m - 1 and x >= fdata[f0 + j]:
                    j += 1
            else:
                best = 0
                prev = 0.0
                for i in range(m):
                    p_out[i] = fdata[f0 + i] - prev
                    prev = fdata[f0 + i]
                    if p_out[i] > p_out[best]:
                        best = i
                j = ident if ident >= 0 else best
                n_j = binomial_inversion(shots, p_out[j], x)
                if n_j != shots:
                    return r, u, j, n_j
            if j != ident:
                _apply_dense(state, data[d0 + j * dd : d0 + (j + 1) * dd].reshape((dim, dim)), qs)
        else:
            p = _general_probabilities(state, qs, data, chan[r, 2], m, dim)
            if shots == 1:
                j = _choose(p, x)
            else:
                total = 0.0
                j = 0
                for i in range(m):
                    total += p[i]
                    p_out[i] = p[i]
                    if p[i] > p[j]:
                        j = i
                if not total > 0.0:
                    raise ValueError("a noise channel met a state of norm zero")
                n_j = binomial_inversion(shots, p[j] / total, x)
                if n_j != shots:
                    return r, u, j, n_j
            if j < 0 or not p[j] > 0.0:
                raise ValueError("a noise channel met a state of norm zero")
            _apply_scaled(state, data[d0 + j * dd : d0 + (j + 1) * dd], dim, 1.0 / np.sqrt(p[j]), qs)
        r += 1
    return rows, u, -1, -1

