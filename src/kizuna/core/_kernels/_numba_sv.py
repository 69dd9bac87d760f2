"""Numba kernels on state vectors: gates in place, measurement, sampling, Pauli expectations.

A state is a 1-D C-contiguous array of ``2**n`` amplitudes, ``complex128`` or ``complex64``.
Qubit ``k`` has weight ``2**k`` in an index; a ``k``-qubit matrix acting on ``qubits`` is
little-endian over them (``qubits[0]`` is its least significant bit), exactly as
``statevector.apply_matrix``. Every gate kernel works **in place** and allocates nothing the size
of the state. Matrices and diagonals must already have the state's dtype: numba compiles one
specialisation per dtype, and a complex128 matrix on a complex64 state would compute in double
and round on every store. Qubit lists may be tuples or int64 arrays; Pauli strings are int masks.

Parallelism: the index space of a kernel is cut into fixed chunks of ``2**_CHUNK_LOG`` groups run
by ``prange`` on numba's threads (``set_num_threads``); states with fewer than
``2**_PAR_MIN_LOG`` groups run serially, without waking the thread pool. Reductions (a qubit's
probability, Pauli expectations) add per-chunk partial sums in chunk order, so their results are
bitwise the same for any thread count.

Kernels check that qubit indices are in range and distinct (O(k^2)) because an out-of-range index
would write outside the array; they validate nothing else (the public classes do).

Implementation notes (measured, see ``benchmarks/bench_kernels.py``):

* Inner loops index with ``uint64``. With signed indices numba emits a negative-index
  wrap-around on every access, which stops LLVM from vectorising any loop; with unsigned ones
  the loops over contiguous runs of amplitudes compile to AVX2 code. (Mixing int64 and uint64 in
  numba arithmetic gives float64, so the bodies convert everything at their top.)
* ``fastmath`` is off: every sum is evaluated in the order written, so results do not depend on
  the compiler's choices. Reductions keep four interleaved partial sums (independent add chains).

This module imports numba at its top: nothing imports it until a fast kernel is needed, so
``import kizuna`` stays free of numba. It imports nothing from Kizuna but the kernel package's
cache guard (``refresh_numba_caches``).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange
from numba.core import types
from numba.extending import intrinsic

from . import refresh_numba_caches

refresh_numba_caches()

__all__ = [
    "apply_1q",
    "apply_2q",
    "apply_controlled_1q",
    "apply_cx",
    "apply_diag",
    "apply_diag_1q",
    "apply_kq",
    "apply_mcx",
    "apply_swap",
    "apply_x",
    "collapse",
    "expectation_pauli",
    "expectation_pauli_sum",
    "get_num_threads",
    "probabilities",
    "probability_one",
    "run_program",
    "sample_indices",
    "set_num_threads",
]

_SERIAL = {"cache": True, "nogil": True, "fastmath": False}
_PARALLEL = {**_SERIAL, "parallel": True}

# A chunk of 2**12 groups (64 KiB of complex128 for a 1-qubit gate) amortises the scheduling of a
# prange task. Below 2**15 groups (n < 16 for a 1-qubit gate) a pass takes tens of microseconds
# and waking the threads costs as much on an idle machine; on a busy one (other processes on the
# cores) each wake can stall for milliseconds: a 15-qubit, 690-gate circuit took 66 ms on one
# thread and 159 ms on two with a threshold of 2**13.
_CHUNK_LOG = 12
_PAR_MIN_LOG = 15
# apply_kq multiplies batches of this many base indices at once (its vector loops' length).
_KQ_BATCH = 64
# expectation_pauli_sum: chunks of 2**_WHT_LOG amplitude products; a group of terms sharing an
# x-mask with more than _WHT_MIN_TERMS terms goes through Walsh-Hadamard transforms of blocks of
# up to 2**_WHT_LOG products.
_WHT_LOG = 12
_WHT_MIN_TERMS = 4
# apply_diag: below this many contiguous amplitudes per diagonal entry, look entries up through a
# table over the low _DIAG_TABLE_LOG bits.
_DIAG_TABLE_LOG = 5

_U0 = np.uint64(0)
_U1 = np.uint64(1)
_UKQ = np.uint64(_KQ_BATCH)


def set_num_threads(n: int) -> None:
    """Set the number of threads the parallel kernels use: ``n``, capped at numba's pool
    (``numba.config.NUMBA_NUM_THREADS``)."""
    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))


def get_num_threads() -> int:
    """The number of threads the parallel kernels use now."""
    return int(numba.get_num_threads())


# --- helpers ------------------------------------------------------------------------------------


@intrinsic
def _popcount(typingctx, x):
    """Number of set bits of an integer (LLVM ctpop)."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        return builder.ctpop(args[0])

    return x(x), codegen


@njit(**_SERIAL)
def _insert_zero(c, q):
    """``c`` with a zero bit inserted at position ``q`` (bits >= q move up); uint64 in and out."""
    return ((c >> q) << (q + _U1)) | (c & ((_U1 << q) - _U1))


@njit(**_SERIAL)
def _deposit(c, pos):
    """``c`` with zero bits inserted at the ascending uint64 positions ``pos`` (a bit deposit)."""
    for j in range(pos.size):
        c = _insert_zero(c, pos[j])
    return c


@njit(**_SERIAL)
def _num_qubits(state):
    n = 0
    while (1 << n) < state.size:
        n += 1
    if (1 << n) != state.size:
        raise ValueError("state must have 2**n amplitudes")
    return n


@njit(**_SERIAL)
def _as_int64(qubits, n):
    """Qubits (tuple or array) as an int64 array, checked in range and distinct."""
    k = len(qubits)
    a = np.empty(k, np.int64)
    for j in range(k):
        q = qubits[j]
        if q < 0 or q >= n:
            raise ValueError("qubit index out of range for this state")
        for i in range(j):
            if a[i] == q:
                raise ValueError("qubit indices must be distinct")
        a[j] = q
    return a


@njit(**_SERIAL)
def _sorted_u64(a):
    """An ascending uint64 copy of a short int64 array (insertion sort: compiles fast)."""
    out = np.empty(a.size, np.uint64)
    for j in range(a.size):
        v = np.uint64(a[j])
        i = j - 1
        while i >= 0 and out[i] > v:
            out[i + 1] = out[i]
            i -= 1
        out[i + 1] = v
    return out


@njit(**_SERIAL)
def _bitmask(qs, count):
    """OR of ``1 << qs[j]`` for ``j < count``, as uint64."""
    m = _U0
    for j in range(count):
        m |= _U1 << np.uint64(qs[j])
    return m


@njit(**_SERIAL)
def _check_qubit(q, n):
    if q < 0 or q >= n:
        raise ValueError("qubit index out of range for this state")


@njit(**_SERIAL)
def _chunks(total):
    """(number of chunks, groups per chunk) for ``total`` groups; depends only on ``total``."""
    if total < (1 << _PAR_MIN_LOG):
        return 1, total
    return total >> _CHUNK_LOG, 1 << _CHUNK_LOG


# --- single-qubit gates -------------------------------------------------------------------------


@njit(**_SERIAL)
def _run_1q(state, m00, m01, m10, m11, q, c0, count):
    # Pair counters [c0, c0+count) -> amplitudes i = insert_zero(c, q) and i + 2**q. A chunk is
    # aligned to its power-of-two size, so it splits into contiguous runs of min(count, 2**q).
    q = np.uint64(q)
    lo = np.uint64(c0)
    hi = lo + np.uint64(count)
    if q == _U0:
        for j in range(lo, hi):
            i = j + j
            a = state[i]
            b = state[i + _U1]
            state[i] = m00 * a + m01 * b
            state[i + _U1] = m10 * a + m11 * b
        return
    stride = _U1 << q
    run = min(hi - lo, stride)
    for r0 in range(lo, hi, run):
        i0 = _insert_zero(r0, q)
        for i in range(i0, i0 + run):
            a = state[i]
            b = state[i + stride]
            state[i] = m00 * a + m01 * b
            state[i + stride] = m10 * a + m11 * b


@njit(**_PARALLEL)
def apply_1q(state, m, q):
    """Apply the 2x2 matrix ``m`` to qubit ``q`` of ``state``, in place.

    Cost: O(2**n) time (one read and one write of every amplitude), O(1) memory.
    """
    _check_qubit(q, _num_qubits(state))
    m00, m01, m10, m11 = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
    nch, chunk = _chunks(state.size >> 1)
    if nch > 1:
        for ch in prange(nch):
            _run_1q(state, m00, m01, m10, m11, q, ch * chunk, chunk)
    else:
        for ch in range(nch):
            _run_1q(state, m00, m01, m10, m11, q, ch * chunk, chunk)


@njit(**_SERIAL)
def _run_diag_1q(state, d0, d1, q, c0, count, skip0):
    q = np.uint64(q)
    lo = np.uint64(c0)
    hi = lo + np.uint64(count)
    stride = _U1 << q
    run = min(hi - lo, stride)
    for r0 in range(lo, hi, run):
        i0 = _insert_zero(r0, q)
        if not skip0:
            for i in range(i0, i0 + run):
                state[i] *= d0
        for i in range(i0 + stride, i0 + stride + run):
            state[i] *= d1


@njit(**_PARALLEL)
def apply_diag_1q(state, d0, d1, q):
    """Multiply the amplitudes with qubit ``q`` = 0 by ``d0`` and those with ``q`` = 1 by ``d1``.

    In place. When ``d0 == 1`` (p, s, t, u1) only the half with ``q`` = 1 is touched. Pass ``d0``
    and ``d1`` as scalars of the state's dtype.

    Cost: O(2**n) time (O(2**(n-1)) when ``d0 == 1``), O(1) memory.
    """
    _check_qubit(q, _num_qubits(state))
    skip0 = d0 == 1
    nch, chunk = _chunks(state.size >> 1)
    if nch > 1:
        for ch in prange(nch):
            _run_diag_1q(state, d0, d1, q, ch * chunk, chunk, skip0)
    else:
        for ch in range(nch):
            _run_diag_1q(state, d0, d1, q, ch * chunk, chunk, skip0)


# --- diagonal over k qubits ---------------------------------------------------------------------


@njit(**_SERIAL)
def _diag_index(i, qs):
    d = _U0
    for b in range(qs.size):
        d |= ((i >> qs[b]) & _U1) << np.uint64(b)
    return d


@njit(**_SERIAL)
def _run_diag(state, diag, qs, run_log, low_tab, hi_qs, hi_bits, c0, count):
    lo = np.uint64(c0)
    hi = lo + np.uint64(count)
    if low_tab.size == 0:
        # every aligned run of 2**run_log amplitudes (run_log <= min(qs)) shares one entry
        run = min(hi - lo, _U1 << np.uint64(run_log))
        for i0 in range(lo, hi, run):
            d = diag[_diag_index(i0, qs)]
            if d != 1:
                for i in range(i0, i0 + run):
                    state[i] *= d
        return
    # aligned blocks of low_tab.size amplitudes: entry = diag[high part | low_tab[offset]]
    blk = np.uint64(low_tab.size)
    for i0 in range(lo, hi, blk):
        h = _U0
        for b in range(hi_qs.size):
            h |= ((i0 >> hi_qs[b]) & _U1) << hi_bits[b]
        for t in range(blk):
            state[i0 + t] *= diag[h | low_tab[t]]


@njit(**_SERIAL)
def _diag_plan(qs, n, chunk):
    """(run_log, low_tab, hi_qs, hi_bits) for apply_diag; low_tab is empty for the run path."""
    k = qs.size
    run_log = n
    for b in range(k):
        run_log = min(run_log, qs[b])
    empty = np.zeros(0, np.uint64)
    if run_log >= _DIAG_TABLE_LOG or chunk < (1 << _DIAG_TABLE_LOG):
        return run_log, empty, empty, empty
    blk = 1 << _DIAG_TABLE_LOG
    low_tab = np.zeros(blk, np.uint64)
    n_hi = 0
    for b in range(k):
        if qs[b] >= _DIAG_TABLE_LOG:
            n_hi += 1
    hi_qs = np.empty(n_hi, np.uint64)
    hi_bits = np.empty(n_hi, np.uint64)
    j = 0
    for b in range(k):
        if qs[b] >= _DIAG_TABLE_LOG:
            hi_qs[j] = qs[b]
            hi_bits[j] = b
            j += 1
        else:
            for t in range(blk):
                low_tab[t] |= np.uint64(((t >> qs[b]) & 1) << b)
    return run_log, low_tab, hi_qs, hi_bits


@njit(**_PARALLEL)
def apply_diag(state, diag, qubits):
    """Multiply every amplitude by ``diag[j]``, ``j`` the bits of its index at ``qubits``, in place.

    ``diag`` has ``2**k`` entries, little-endian over ``qubits`` (``qubits[0]`` is bit 0 of ``j``):
    rz, p, cz, cp, rzz, crz and fused runs of diagonal gates. When ``min(qubits) >= 5``, runs of
    amplitudes whose entry is exactly 1 are skipped.

    Cost: O(2**n) time, O(2**k) memory.
    """
    n = _num_qubits(state)
    qs = _as_int64(qubits, n)
    if diag.size != (1 << qs.size):
        raise ValueError("diag must have 2**len(qubits) entries")
    nch, chunk = _chunks(state.size)
    run_log, low_tab, hi_qs, hi_bits = _diag_plan(qs, n, chunk)
    uqs = qs.astype(np.uint64)
    if nch > 1:
        for ch in prange(nch):
            _run_diag(
                state, diag, uqs, run_log, low_tab, hi_qs, hi_bits, ch * chunk, chunk
            )
    else:
        for ch in range(nch):
            _run_diag(
                state, diag, uqs, run_log, low_tab, hi_qs, hi_bits, ch * chunk, chunk
            )


# --- controlled and two-qubit gates -------------------------------------------------------------


@njit(**_SERIAL)
def _run_controlled_1q(state, m00, m01, m10, m11, pos, cmask, stride, c0, count):
    lo = np.uint64(c0)
    hi = lo + np.uint64(count)
    run = min(hi - lo, _U1 << pos[0])
    for r0 in range(lo, hi, run):
        i0 = _deposit(r0, pos) | cmask
        for i in range(i0, i0 + run):
            a = state[i]
            b = state[i + stride]
            state[i] = m00 * a + m01 * b
            state[i + stride] = m10 * a + m11 * b


@njit(**_SERIAL)
def _controlled_plan(controls, target, n):
    """(sorted positions of controls and target, mask of the controls) as uint64."""
    nc = len(controls)
    allq = np.empty(nc + 1, np.int64)
    for j in range(nc):
        allq[j] = controls[j]
    allq[nc] = target
    allq = _as_int64(allq, n)
    return _sorted_u64(allq), _bitmask(allq, nc)


@njit(**_PARALLEL)
def apply_controlled_1q(state, m, controls, target):
    """Apply the 2x2 matrix ``m`` to ``target`` where every qubit of ``controls`` is 1, in place.

    Only the ``2**(n-c-1)`` pairs with all ``c`` controls set are read and written.

    Cost: O(2**(n-c)) time, O(c) memory.
    """
    pos, cmask = _controlled_plan(controls, target, _num_qubits(state))
    stride = _U1 << np.uint64(target)
    m00, m01, m10, m11 = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
    nch, chunk = _chunks(state.size >> pos.size)
    if nch > 1:
        for ch in prange(nch):
            _run_controlled_1q(
                state, m00, m01, m10, m11, pos, cmask, stride, ch * chunk, chunk
            )
    else:
        for ch in range(nch):
            _run_controlled_1q(
                state, m00, m01, m10, m11, pos, cmask, stride, ch * chunk, chunk
            )


@njit(**_SERIAL)
def _run_2q(state, m, pos, s0, s1, c0, count):
    m00, m01, m02, m03 = m[0, 0], m[0, 1], m[0, 2], m[0, 3]
    m10, m11, m12, m13 = m[1, 0], m[1, 1], m[1, 2], m[1, 3]
    m20, m21, m22, m23 = m[2, 0], m[2, 1], m[2, 2], m[2, 3]
    m30, m31, m32, m33 = m[3, 0], m[3, 1], m[3, 2], m[3, 3]
    s01 = s0 + s1
    lo = np.uint64(c0)
    hi = lo + np.uint64(count)
    run = min(hi - lo, _U1 << pos[0])
    for r0 in range(lo, hi, run):
        i0 = _deposit(r0, pos)
        for i in range(i0, i0 + run):
            a0 = state[i]
            a1 = state[i + s0]
            a2 = state[i + s1]
            a3 = state[i + s01]
            state[i] = m00 * a0 + m01 * a1 + m02 * a2 + m03 * a3
            state[i + s0] = m10 * a0 + m11 * a1 + m12 * a2 + m13 * a3
            state[i + s1] = m20 * a0 + m21 * a1 + m22 * a2 + m23 * a3
            state[i + s01] = m30 * a0 + m31 * a1 + m32 * a2 + m33 * a3


@njit(**_PARALLEL)
def apply_2q(state, m, q0, q1):
    """Apply the 4x4 matrix ``m`` to qubits ``(q0, q1)`` (``q0`` its low bit), in place.

    Cost: 4 complex multiply-adds per amplitude; one read and one write of every amplitude.
    """
    qs = _as_int64((q0, q1), _num_qubits(state))
    pos = _sorted_u64(qs)
    s0 = _U1 << np.uint64(q0)
    s1 = _U1 << np.uint64(q1)
    nch, chunk = _chunks(state.size >> 2)
    if nch > 1:
        for ch in prange(nch):
            _run_2q(state, m, pos, s0, s1, ch * chunk, chunk)
    else:
        for ch in range(nch):
            _run_2q(state, m, pos, s0, s1, ch * chunk, chunk)


# --- dense k-qubit matrix -----------------------------------------------------------------------


@njit(**_SERIAL)
def _run_kq(state, mr, mi, off, pos, c0, count):
    # Batches of B base indices: gather the 2**k amplitudes of each into (re, im) planes
    # vr/vi[c, t]; each row r of m times the batch runs with the lane loop t innermost, which
    # vectorises without reassociating a sum; scatter row r back. Needs k >= 2.
    dim = np.uint64(off.size)
    vr = np.zeros((off.size, _KQ_BATCH), mr.dtype)
    vi = np.zeros((off.size, _KQ_BATCH), mr.dtype)
    ar = np.empty(_KQ_BATCH, mr.dtype)
    ai = np.empty(_KQ_BATCH, mr.dtype)
    bases = np.empty(_KQ_BATCH, np.uint64)
    lo = np.uint64(c0)
    hi = lo + np.uint64(count)
    contiguous = (_U1 << pos[0]) >= _UKQ
    for b0 in range(lo, hi, _UKQ):
        nb = min(_UKQ, hi - b0)
        if contiguous:
            base = _deposit(b0, pos)
            for t in range(nb):
                bases[t] = base + t
            for c in range(dim):
                o = base + off[c]
                for t in range(nb):
                    z = state[o + t]
                    vr[c, t] = z.real
                    vi[c, t] = z.imag
        else:
            for t in range(nb):
                bases[t] = _deposit(b0 + t, pos)
            for c in range(dim):
                o = off[c]
                for t in range(nb):
                    z = state[bases[t] + o]
                    vr[c, t] = z.real
                    vi[c, t] = z.imag
        for r in range(dim):
            for t in range(_UKQ):
                ar[t] = 0
                ai[t] = 0
            # four columns per pass over the accumulators: a quarter of their loads and stores
            for c in range(_U0, dim, np.uint64(4)):
                c1 = c + _U1
                c2 = c1 + _U1
                c3 = c2 + _U1
                a0, b0 = mr[r, c], mi[r, c]
                a1, b1 = mr[r, c1], mi[r, c1]
                a2, b2 = mr[r, c2], mi[r, c2]
                a3, b3 = mr[r, c3], mi[r, c3]
                for t in range(_UKQ):
                    x0, y0 = vr[c, t], vi[c, t]
                    x1, y1 = vr[c1, t], vi[c1, t]
                    x2, y2 = vr[c2, t], vi[c2, t]
                    x3, y3 = vr[c3, t], vi[c3, t]
                    ar[t] += ((a0 * x0 - b0 * y0) + (a1 * x1 - b1 * y1)) + (
                        (a2 * x2 - b2 * y2) + (a3 * x3 - b3 * y3)
                    )
                    ai[t] += ((a0 * y0 + b0 * x0) + (a1 * y1 + b1 * x1)) + (
                        (a2 * y2 + b2 * x2) + (a3 * y3 + b3 * x3)
                    )
            o = off[r]
            for t in range(nb):
                state[bases[t] + o] = complex(ar[t], ai[t])


@njit(**_SERIAL)
def _kq_plan(m, qubits, n):
    """(sorted qubits, offsets of the 2**k amplitudes from a base index, re(m), im(m))."""
    qs = _as_int64(qubits, n)
    k = qs.size
    if k == 0:
        raise ValueError("apply_kq needs at least one qubit")
    dim = 1 << k
    if m.shape[0] != dim or m.shape[1] != dim:
        raise ValueError("m must be 2**len(qubits) square")
    off = np.zeros(dim, np.uint64)
    for r in range(dim):
        for b in range(k):
            if (r >> b) & 1:
                off[r] += _U1 << np.uint64(qs[b])
    return _sorted_u64(qs), off, m.real.copy(), m.imag.copy()


@njit(**_PARALLEL)
def apply_kq(state, m, qubits):
    """Apply the dense ``2**k x 2**k`` matrix ``m`` to ``qubits`` (k = 1..5, or more), in place.

    The hot path of fused circuits. Each of the ``2**(n-k)`` base indices (the ``k`` bits zero:
    a bit deposit of a counter) gathers its ``2**k`` amplitudes into a small local buffer, which
    is multiplied and scattered back; base indices go in batches of 64 so the arithmetic runs on
    vector lanes.

    Cost: ``2**k`` complex multiply-adds per amplitude; one read and one write of every
    amplitude; O(2**k) memory per thread.
    """
    pos, off, mr, mi = _kq_plan(m, qubits, _num_qubits(state))
    if pos.size == 1:  # (the batched product below takes 4 columns at a time)
        apply_1q(state, m, np.int64(pos[0]))
        return
    # chunks of about 2**(_CHUNK_LOG+2) amplitudes (at least one batch), parallel from the same
    # state size as a 1-qubit gate: a group here is 2**k amplitudes and 2**k times the work
    total = state.size >> pos.size
    chunk = 1 << max(6, _CHUNK_LOG + 2 - pos.size)
    nch = total // chunk
    if state.size < (2 << _PAR_MIN_LOG) or nch < 2:
        nch = 1
        chunk = total
    if nch > 1:
        for ch in prange(nch):
            _run_kq(state, mr, mi, off, pos, ch * chunk, chunk)
    else:
        for ch in range(nch):
            _run_kq(state, mr, mi, off, pos, ch * chunk, chunk)


# --- permutations -------------------------------------------------------------------------------


@njit(**_SERIAL)
def _run_swap_pairs(state, pos, setmask, da, db, c0, count):
    # for every base i (zeros at pos, setmask or-ed in): swap amplitudes i+da and i+db
    lo = np.uint64(c0)
    hi = lo + np.uint64(count)
    run = min(hi - lo, _U1 << pos[0])
    for r0 in range(lo, hi, run):
        i0 = _deposit(r0, pos) | setmask
        for i in range(i0, i0 + run):
            a = state[i + da]
            state[i + da] = state[i + db]
            state[i + db] = a


@njit(**_PARALLEL)
def _permute(state, pos, setmask, da, db):
    nch, chunk = _chunks(state.size >> pos.size)
    if nch > 1:
        for ch in prange(nch):
            _run_swap_pairs(state, pos, setmask, da, db, ch * chunk, chunk)
    else:
        for ch in range(nch):
            _run_swap_pairs(state, pos, setmask, da, db, ch * chunk, chunk)


@njit(**_SERIAL)
def apply_x(state, q):
    """Pauli X on qubit ``q``, in place (a permutation: no arithmetic).

    Cost: O(2**n) time, O(1) memory.
    """
    qs = _as_int64((q,), _num_qubits(state))
    pos = _sorted_u64(qs)
    _permute(state, pos, _U0, _U0, _bitmask(qs, 1))


@njit(**_SERIAL)
def apply_cx(state, control, target):
    """CNOT ``cx(control, target)``, in place: touches only the half with ``control`` = 1.

    Cost: O(2**(n-1)) time, O(1) memory.
    """
    qs = _as_int64((control, target), _num_qubits(state))
    _permute(state, _sorted_u64(qs), _bitmask(qs, 1), _U0, _U1 << np.uint64(target))


@njit(**_SERIAL)
def apply_swap(state, a, b):
    """SWAP of qubits ``a`` and ``b``, in place.

    Reads and writes only the ``2**(n-1)`` amplitudes whose bits ``a`` and ``b`` differ.

    Cost: O(2**(n-1)) time, O(1) memory.
    """
    qs = _as_int64((a, b), _num_qubits(state))
    _permute(state, _sorted_u64(qs), _U0, _U1 << np.uint64(a), _U1 << np.uint64(b))


@njit(**_SERIAL)
def apply_mcx(state, controls, target):
    """Multi-controlled X (ccx, c3x, c4x, ...), in place; ``controls`` a tuple or int64 array.

    Cost: O(2**(n-c)) time for ``c`` controls, O(c) memory.
    """
    pos, cmask = _controlled_plan(controls, target, _num_qubits(state))
    _permute(state, pos, cmask, _U0, _U1 << np.uint64(target))


# --- programs: many gates in one call -------------------------------------------------------------

#: Op codes of ``run_program``'s table (column 0).
OP_DENSE = 0
OP_DIAG = 1
OP_X = 2
OP_CX = 3
OP_SWAP = 4
OP_MCX = 5


@njit(**_SERIAL)
def run_program(state, table, qubits, data):
    """Apply a whole gate sequence in one call (no Python between the gates), in place.

    ``table`` is an int64 array ``(num_ops, 4)``; row ``(code, q0, k, d0)`` is one op on the
    ``k`` qubits ``qubits[q0:q0+k]``:

    * ``OP_DENSE``: the ``2**k x 2**k`` matrix stored row-major in ``data[d0:d0+4**k]``;
    * ``OP_DIAG``: the diagonal ``data[d0:d0+2**k]``;
    * ``OP_X``, ``OP_CX``, ``OP_SWAP``, ``OP_MCX`` (controls first, target last): permutations,
      no data.

    ``data`` has the state's dtype. Each op runs the kernel of this module that ``apply_*``
    would (threaded where that kernel is). Cost: the sum of the ops' costs; the per-op
    overhead is well under a microsecond, against several for a call from Python.
    """
    for r in range(table.shape[0]):
        code = table[r, 0]
        q0 = table[r, 1]
        k = table[r, 2]
        d0 = table[r, 3]
        qs = qubits[q0 : q0 + k]
        if code == OP_DENSE:
            dim = 1 << k
            m = data[d0 : d0 + dim * dim].reshape((dim, dim))
            if k == 1:
                apply_1q(state, m, qs[0])
            elif k == 2:
                apply_2q(state, m, qs[0], qs[1])
            else:
                apply_kq(state, m, qs)
        elif code == OP_DIAG:
            if k == 1:
                apply_diag_1q(state, data[d0], data[d0 + 1], qs[0])
            else:
                apply_diag(state, data[d0 : d0 + (1 << k)], qs)
        elif code == OP_X:
            apply_x(state, qs[0])
        elif code == OP_CX:
            apply_cx(state, qs[0], qs[1])
        elif code == OP_SWAP:
            apply_swap(state, qs[0], qs[1])
        elif code == OP_MCX:
            apply_mcx(state, qs[: k - 1], qs[k - 1])
        else:
            raise ValueError("unknown op code in program table")


# --- measurement --------------------------------------------------------------------------------


@njit(**_SERIAL)
def _abs2(a):
    return float(a.real) * float(a.real) + float(a.imag) * float(a.imag)


@njit(**_SERIAL)
def _run_prob_one(state, q, c0, count):
    # sum of |a|^2 over the half with bit q set, in four interleaved partial sums (fixed order):
    # independent add chains instead of one chain bound by the add latency
    q = np.uint64(q)
    lo = np.uint64(c0)
    hi = lo + np.uint64(count)
    stride = _U1 << q
    run = min(hi - lo, stride)
    s0 = s1 = s2 = s3 = 0.0
    for r0 in range(lo, hi, run):
        i1 = _insert_zero(r0, q) + stride
        i = i1
        end = i1 + run
        while i + np.uint64(4) <= end:
            s0 += _abs2(state[i])
            s1 += _abs2(state[i + _U1])
            s2 += _abs2(state[i + np.uint64(2)])
            s3 += _abs2(state[i + np.uint64(3)])
            i += np.uint64(4)
        while i < end:
            s0 += _abs2(state[i])
            i += _U1
    return (s0 + s1) + (s2 + s3)


@njit(**_PARALLEL)
def probability_one(state, q):
    """Probability (float) that measuring qubit ``q`` gives 1: the sum of |a|^2 with bit q set.

    Cost: O(2**(n-1)) time, O(2**n / 4096) memory for the per-chunk partial sums.
    """
    _check_qubit(q, _num_qubits(state))
    nch, chunk = _chunks(state.size >> 1)
    part = np.empty(nch, np.float64)
    if nch > 1:
        for ch in prange(nch):
            part[ch] = _run_prob_one(state, q, ch * chunk, chunk)
    else:
        for ch in range(nch):
            part[ch] = _run_prob_one(state, q, ch * chunk, chunk)
    s = 0.0
    for ch in range(nch):
        s += part[ch]
    return s


@njit(**_SERIAL)
def _run_collapse(state, q, outcome, scale, c0, count):
    q = np.uint64(q)
    lo = np.uint64(c0)
    hi = lo + np.uint64(count)
    stride = _U1 << q
    run = min(hi - lo, stride)
    keep = stride if outcome == 1 else _U0
    drop = stride - keep
    for r0 in range(lo, hi, run):
        i0 = _insert_zero(r0, q)
        for i in range(i0 + keep, i0 + keep + run):
            state[i] *= scale
        for i in range(i0 + drop, i0 + drop + run):
            state[i] = 0


@njit(**_PARALLEL)
def collapse(state, q, outcome, probability):
    """Project qubit ``q`` onto ``outcome`` (0 or 1) and scale by ``1/sqrt(probability)``, in place.

    ``probability`` is that of ``outcome`` (as ``probability_one`` gives for 1); the amplitudes of
    the other outcome are set to zero.

    Cost: O(2**n) time, O(1) memory.
    """
    _check_qubit(q, _num_qubits(state))
    if outcome != 0 and outcome != 1:
        raise ValueError("outcome must be 0 or 1")
    if not probability > 0:
        raise ValueError("probability must be > 0")
    scale = 1.0 / np.sqrt(probability)
    nch, chunk = _chunks(state.size >> 1)
    if nch > 1:
        for ch in prange(nch):
            _run_collapse(state, q, outcome, scale, ch * chunk, chunk)
    else:
        for ch in range(nch):
            _run_collapse(state, q, outcome, scale, ch * chunk, chunk)


@njit(**_SERIAL)
def _run_probs(state, out, c0, count):
    lo = np.uint64(c0)
    for i in range(lo, lo + np.uint64(count)):
        out[i] = _abs2(state[i])


@njit(**_PARALLEL)
def probabilities(state, out=None):
    """|a|^2 of every amplitude as float64 (entry i is basis state i).

    Writes into ``out`` (float64, same length) when given, else into a new array; a reused
    ``out`` saves the page faults of a fresh allocation, which cost as much as the pass itself.

    Cost: O(2**n) time; a float64 array of 2**n entries.
    """
    if out is None:
        res = np.empty(state.size, np.float64)
    else:
        res = out
        if res.size != state.size:
            raise ValueError("out must have one entry per amplitude")
    nch, chunk = _chunks(state.size)
    if nch > 1:
        for ch in prange(nch):
            _run_probs(state, res, ch * chunk, chunk)
    else:
        for ch in range(nch):
            _run_probs(state, res, ch * chunk, chunk)
    return res


@njit(**_SERIAL)
def sample_indices(state, uniforms_sorted):
    """Basis indices drawn with probabilities |a|^2, one per uniform, in one pass over ``state``.

    ``uniforms_sorted`` holds ascending floats in [0, 1); the draw for ``u`` is the first index
    whose running sum of |a|^2 exceeds ``u``, so an amplitude of probability zero is never drawn.
    A ``u`` at or beyond the total (rounding; a norm a little below 1) gets the last index of
    nonzero probability. The output follows the order of ``uniforms_sorted``: shuffle it for a
    memory of shots in random order.

    Cost: O(2**n + shots) time, serial (a running sum, taken over blocks of 8 amplitudes; it
    stops after the last draw); an int64 array of ``shots`` entries.

    Raises:
        ValueError: when every amplitude is zero.
    """
    shots = uniforms_sorted.size
    out = np.empty(shots, np.int64)
    if shots == 0:
        return out
    size = state.size
    j = 0
    cum = 0.0
    last_nonzero = -1
    i0 = 0
    while i0 < size:
        # a block of 8 is summed first (two add chains); it is walked amplitude by amplitude
        # only when the next uniform may fall inside it. The walk sets cum to its own running
        # sum, so the index drawn for u always has p > 0 and u < cum just after it.
        end = min(i0 + 8, size)
        b0 = 0.0
        b1 = 0.0
        block_last = -1
        for i in range(i0, end, 2):
            p0 = _abs2(state[i])
            p1 = _abs2(state[i + 1]) if i + 1 < end else 0.0
            b0 += p0
            b1 += p1
            if p0 > 0.0:
                block_last = i
            if p1 > 0.0:
                block_last = i + 1
        if block_last >= 0:
            last_nonzero = block_last
            if uniforms_sorted[j] < cum + (b0 + b1) * (1.0 + 1e-12):
                for i in range(i0, end):
                    p = _abs2(state[i])
                    if p > 0.0:
                        cum += p
                        while j < shots and uniforms_sorted[j] < cum:
                            out[j] = i
                            j += 1
                        if j == shots:
                            return out
            else:
                cum += b0 + b1
        i0 = end
    if last_nonzero < 0:
        raise ValueError("cannot sample from a state whose amplitudes are all zero")
    for jj in range(j, shots):
        out[jj] = last_nonzero
    return out


# --- Pauli expectation values -------------------------------------------------------------------
#
# P = i^ny X^x Z^z (Y = iXZ on each of the ny = popcount(x & z) qubits with both bits), so
# <psi|P|psi> = i^ny * S with S = sum_i conj(psi[i^x]) (-1)^popcount(i & z) psi[i]. For x != 0,
# pair i (bit h = top bit of x clear) with i^x: with w_i = conj(psi[i^x]) psi[i],
# S = sum_i s_i (w_i + (-1)^ny conj(w_i)) = 2 sum s_i Re w_i (ny even) or 2i sum s_i Im w_i (ny
# odd), and i^ny * S is real. The sums run over the counter c of the pairs (i = insert_zero(c, h))
# with z compressed the same way, so that sum_c (-1)^popcount(c & z') w_c over a power-of-two
# aligned chunk is one entry of the chunk's Walsh-Hadamard transform.


@njit(**_SERIAL)
def _compress(z, h):
    """``z`` with bit ``h`` removed (bits above move down); uint64."""
    return (z & ((_U1 << h) - _U1)) | ((z >> (h + _U1)) << h)


@njit(**_SERIAL)
def _top_bit(x):
    h = _U0
    while (x >> (h + _U1)) != _U0:
        h += _U1
    return h


@njit(**_SERIAL)
def _fwht_blocks(a, blk):
    """In place, the Walsh-Hadamard transform of each aligned block of ``blk`` (a power of two)
    entries: a[b + u] <- sum_t (-1)^popcount(t & u) a[b + t] (the first log2(blk) stages of the
    transform of the whole array)."""
    size = np.uint64(a.size)
    h = _U1
    while h < blk:
        for i0 in range(_U0, size, h + h):
            for i in range(i0, i0 + h):
                u = a[i]
                v = a[i + h]
                a[i] = u + v
                a[i + h] = u - v
        h += h


@njit(**_SERIAL)
def _signed_sum(buf, c0, z):
    """sum_t (-1)^popcount((c0 + t) & z) buf[t], in four interleaved partial sums (fixed order)."""
    count = np.uint64(buf.size)
    s0 = s1 = s2 = s3 = 0.0
    t = _U0
    while t + np.uint64(4) <= count:
        c = c0 + t
        v0 = buf[t]
        v1 = buf[t + _U1]
        v2 = buf[t + np.uint64(2)]
        v3 = buf[t + np.uint64(3)]
        s0 += -v0 if _popcount(c & z) & _U1 else v0
        s1 += -v1 if _popcount((c + _U1) & z) & _U1 else v1
        s2 += -v2 if _popcount((c + np.uint64(2)) & z) & _U1 else v2
        s3 += -v3 if _popcount((c + np.uint64(3)) & z) & _U1 else v3
        t += np.uint64(4)
    while t < count:
        v = buf[t]
        s0 += -v if _popcount((c0 + t) & z) & _U1 else v
        t += _U1
    return (s0 + s1) + (s2 + s3)


@njit(**_SERIAL)
def _group_chunk(state, x, h, zc, cr, ci, need_i, wht_log, c0, count):
    """Chunk [c0, c0+count) of an x-group's counter: sum_k cr[k]*Sr_k + ci[k]*Si_k.

    Sr_k = sum_c (-1)^popcount(c & zc[k]) Re w(c), Si_k the same with Im w(c); for x != 0 the
    counter c runs over the pairs (i = insert_zero(c, h)), for x == 0 over all indices with
    w = |psi_i|^2.
    """
    lo = np.uint64(c0)
    n_c = np.uint64(count)
    bufr = np.empty(count, np.float64)
    bufi = np.zeros(count, np.float64)
    if x == _U0:
        for t in range(n_c):
            bufr[t] = _abs2(state[lo + t])
    else:
        run = min(n_c, _U1 << h)
        for r0 in range(_U0, n_c, run):
            i0 = _insert_zero(lo + r0, h)
            for t in range(run):
                a = state[i0 + t]
                b = state[(i0 + t) ^ x]
                ar = float(a.real)
                ai = float(a.imag)
                br = float(b.real)
                bi = float(b.imag)
                bufr[r0 + t] = br * ar + bi * ai
                bufi[r0 + t] = br * ai - bi * ar
    acc = 0.0
    if wht_log > 0:
        # blocks of blk counters, aligned (c0 and count are multiples of blk): parity(c & z) =
        # parity(block start & z) xor parity(t & z), t the offset in the block, so after the
        # blocks' transforms each term reads one entry per block.
        blk = min(n_c, _U1 << np.uint64(wht_log))
        _fwht_blocks(bufr, blk)
        if need_i:
            _fwht_blocks(bufi, blk)
        low = blk - _U1
        for b0 in range(_U0, n_c, blk):
            cb = lo + b0
            for k in range(zc.size):
                zk = zc[k]
                j = b0 + (zk & low)
                v = cr[k] * bufr[j] + ci[k] * bufi[j]
                acc += -v if _popcount(cb & zk) & _U1 else v
        return acc
    for k in range(zc.size):
        v = 0.0
        if cr[k] != 0:
            v += cr[k] * _signed_sum(bufr, lo, zc[k])
        if ci[k] != 0:
            v += ci[k] * _signed_sum(bufi, lo, zc[k])
        acc += v
    return acc


@njit(**_SERIAL)
def _any_nonzero(a):
    for j in range(a.size):
        if a[j] != 0:
            return True
    return False


@njit(**_PARALLEL)
def _expectation_group(state, x_mask, zs, coeffs):
    """sum_t coeffs[t] <psi| P(x_mask, zs[t]) |psi> for terms sharing one x-mask; one pass."""
    x = np.uint64(x_mask)
    nt = zs.size
    # np.empty + explicit zeroing: in a parallel function np.zeros becomes a parallel loop that
    # wakes the thread pool once per group (thousands of times for a large Hamiltonian)
    zc = np.empty(nt, np.uint64)
    cr = np.empty(nt, np.float64)
    ci = np.empty(nt, np.float64)
    for k in range(nt):
        cr[k] = 0.0
        ci[k] = 0.0
    h = _U0
    total = state.size
    if x == _U0:
        for k in range(nt):
            zc[k] = np.uint64(zs[k])
            cr[k] = coeffs[k]
    else:
        h = _top_bit(x)
        total = state.size >> 1
        for k in range(nt):
            z = np.uint64(zs[k])
            zc[k] = _compress(z, h)
            ny = _popcount(x & z) & np.uint64(3)
            # i^ny * S: ny=0 -> 2 Sr; 1 -> i * 2i Si = -2 Si; 2 -> -2 Sr; 3 -> -i * 2i Si = 2 Si
            if ny == 0:
                cr[k] = 2.0 * coeffs[k]
            elif ny == 1:
                ci[k] = -2.0 * coeffs[k]
            elif ny == 2:
                cr[k] = -2.0 * coeffs[k]
            else:
                ci[k] = 2.0 * coeffs[k]
    need_i = _any_nonzero(ci)
    # direct signed sums for a few terms; else Walsh-Hadamard blocks of about 4 * terms entries
    # (log2 of that many stages per product, and one read per term and block)
    wht_log = 0
    if nt > _WHT_MIN_TERMS:
        wht_log = 2
        while (1 << wht_log) < 4 * nt and wht_log < _WHT_LOG:
            wht_log += 1
    if total <= (1 << _WHT_LOG):
        nch = 1
        chunk = total
    else:
        chunk = 1 << _WHT_LOG
        nch = total >> _WHT_LOG
    part = np.empty(nch, np.float64)
    if nch > 1:
        for ch in prange(nch):
            part[ch] = _group_chunk(
                state, x, h, zc, cr, ci, need_i, wht_log, ch * chunk, chunk
            )
    else:
        for ch in range(nch):
            part[ch] = _group_chunk(
                state, x, h, zc, cr, ci, need_i, wht_log, ch * chunk, chunk
            )
    s = 0.0
    for ch in range(nch):
        s += part[ch]
    return s


@njit(**_SERIAL)
def expectation_pauli(state, x_mask, z_mask):
    """<psi|P|psi> (complex, imaginary part 0) for the Pauli string with masks ``x_mask``, ``z_mask``.

    Qubit q carries X when bit q is set in ``x_mask`` only, Z in ``z_mask`` only, Y in both
    (Y = iXZ). One pass over the state, no copy; ``psi`` need not be normalised.

    Cost: O(2**n) time, O(2**n / 4096) memory for per-chunk partial sums.
    """
    n = _num_qubits(state)
    if x_mask < 0 or z_mask < 0 or (x_mask >> n) != 0 or (z_mask >> n) != 0:
        raise ValueError(
            "Pauli masks must be non-negative and act on the state's qubits"
        )
    zs = np.full(1, z_mask, np.int64)
    cs = np.ones(1, np.float64)
    return complex(_expectation_group(state, np.int64(x_mask), zs, cs), 0.0)


@njit(**_SERIAL)
def _expectation_groups(state, x_unique, starts, zs, cs):
    # group g: terms starts[g] .. starts[g+1]-1 of zs/cs, all with x-mask x_unique[g]
    total = 0.0
    for g in range(x_unique.size):
        lo = starts[g]
        hi = starts[g + 1]
        total += _expectation_group(state, x_unique[g], zs[lo:hi], cs[lo:hi])
    return total


def expectation_pauli_sum(state, x_masks, z_masks, coeffs) -> float:
    """sum_t coeffs[t] <psi|P_t|psi> for Pauli strings given by bit masks (as ``expectation_pauli``).

    Terms are grouped by x-mask; each distinct x-mask costs one pass over the state. Within a
    group of t > 4 terms, the amplitude products go through Walsh-Hadamard transforms of blocks
    of about 4t entries (at most 4096), after which a term costs one read per block instead of a
    pass: the thousands of terms of a VQE Hamiltonian cost about as much as their distinct
    x-masks. ``coeffs`` are real; a Pauli string's expectation is real.

    Cost: O(2**n * log2(4t)) time per group of t terms (O(2**n * t) for t <= 4); O(terms)
    memory plus 64 KiB per thread.
    """
    x = np.asarray(x_masks, dtype=np.int64).reshape(-1)
    z = np.asarray(z_masks, dtype=np.int64).reshape(-1)
    c = np.asarray(coeffs, dtype=np.float64).reshape(-1)
    if not x.size == z.size == c.size:
        raise ValueError(
            f"x_masks, z_masks and coeffs must have one length (got {x.size}, {z.size}, {c.size})"
        )
    n = int(state.size).bit_length() - 1
    if x.size and (x.min() < 0 or z.min() < 0 or (x.max() >> n) or (z.max() >> n)):
        raise ValueError(
            f"Pauli masks must be non-negative and act on the state's {n} qubits"
        )
    if x.size == 0:
        return 0.0
    order = np.argsort(x, kind="stable")
    xs, zs, cs = x[order], z[order], c[order]
    first = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    starts = np.append(first, xs.size).astype(np.int64)
    return float(_expectation_groups(state, xs[first], starts, zs, cs))
