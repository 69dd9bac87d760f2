"""Numba kernels of the stabilizer backend: a bit-packed Aaronson-Gottesman tableau and a
Pauli-frame sampler, both over 64-bit words.

Pauli strings are Hermitian: ``(-1)^r ⊗_q i^(x_q z_q) X^x_q Z^z_q`` (so ``x = z = 1`` is ``Y``).

**Tableau** (Aaronson & Gottesman, PRA 70, 052328 (2004)), stored by qubit (column-major):
``tx``, ``tz`` are uint64 arrays of shape ``(n, W)`` and ``tr`` of shape ``(W,)``; bit ``b`` of
``tx[q, w]`` is the X component on qubit ``q`` of row ``64 w + b``. With ``Wd = ceil(n / 64)``
and ``W = 2 Wd``, rows ``0 .. n-1`` are the destabilizers and rows ``64 Wd + i`` the stabilizers
(the rows between are identity padding, which every operation leaves alone). A gate on qubit
``q`` therefore touches ``tx[q]``, ``tz[q]`` and ``tr``: ``W`` words, 64 rows per instruction.
Row products (measurement) run over all rows of a word at once with bit-sliced mod-4 phase
counters.

**Frames** (as Stim's frame simulator, Gidney, Quantum 5, 497 (2021)): ``fx``, ``fz`` uint64
``(n, B)`` per block of ``64 B`` shots; bit ``s`` of word ``w`` is shot ``64 w + s`` of the block.
A shot's state is its frame (a Pauli, phases dropped) times the noiseless reference run's state.

**Programs** are int64 arrays of rows ``[code, a, b, aux, cond, 0]``:

* gate codes ``OP_I .. OP_SWAP`` on qubits ``a`` (and ``b``); ``OP_GENERIC``: a k-qubit
  Clifford ``aux`` of the tables ``gq/gqoff`` (qubits), ``glin`` (2k output masks per gate,
  offsets ``2 gqoff``), ``gmono/gmoff`` (sign monomials), encoded as
  ``kizuna.computing._clifford.CliffordMap``;
* ``OP_MEASURE`` qubit ``a`` into clbit ``b``, readout error ``aux`` (``-1``: none) of the
  tables ``ro_p01``, ``ro_p10`` (P(record 1 | 0), P(record 0 | 1));
* ``OP_RESET`` qubit ``a``;
* ``OP_CHANNEL``: Pauli channel ``aux``: qubits ``chq[chqoff[aux]:chqoff[aux+1]]``, error
  probability ``chperr[aux]``, and per non-identity Pauli ``e`` in ``chpoff[aux] ..``: its
  cumulative conditional probability ``chcum[e]`` and masks ``chpx[e]``, ``chpz[e]`` over the
  channel's qubits;
* ``cond >= 0``: the row runs only when clbits ``cbits[coff[cond]:coff[cond+1]]`` equal
  ``cwant[...]``.

Randomness of the frame sampler: each block of shots has its own xoshiro256** generator
(Blackman & Vigna, 2018), seeded by the caller from a numpy Generator in block order, so the
samples are the same bit for bit for any number of threads.

Kernels validate nothing (the backend does): out-of-range qubits would index outside arrays.
This module imports numba at its top; nothing imports it until the stabilizer backend runs.
It imports only the kernel package's cache guard and ``_numba_sv``'s bit helpers and thread
controls.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numba.core import types
from numba.extending import intrinsic

from . import refresh_numba_caches
from ._numba_sv import _popcount, get_num_threads, set_num_threads

refresh_numba_caches()

__all__ = [
    "BLOCK_WORDS",
    "OP_CHANNEL",
    "OP_GENERIC",
    "OP_MEASURE",
    "OP_RESET",
    "frames_run",
    "get_num_threads",
    "keys_from_records",
    "set_num_threads",
    "tab_apply_pauli",
    "tab_measure",
    "tab_new",
    "tab_pauli_sign",
    "tab_run",
    "words_to_shot_bytes",
]

OP_I, OP_X, OP_Y, OP_Z, OP_H, OP_S, OP_SDG, OP_SX, OP_SXDG = 0, 1, 2, 3, 4, 5, 6, 7, 8
OP_CX, OP_CY, OP_CZ, OP_SWAP, OP_GENERIC = 9, 10, 11, 12, 13
OP_MEASURE, OP_RESET, OP_CHANNEL = 14, 15, 16

#: Words (of 64 shots) per block of the frame sampler: the unit of parallel work and of seeding.
BLOCK_WORDS = 16

_SERIAL = {"cache": True, "nogil": True}
_U0 = np.uint64(0)
_U1 = np.uint64(1)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


# --- bit helpers ---------------------------------------------------------------------------------
@intrinsic
def _ctz(typingctx, x):
    """Trailing zero bits of a nonzero integer (LLVM cttz)."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        return builder.cttz(args[0], context.get_constant(types.boolean, True))

    return x(x), codegen


@njit(**_SERIAL)
def _bit(v, b):
    """Bit ``b`` (int) of the uint64 ``v`` as a uint64 0 or 1."""
    return (v >> np.uint64(b)) & _U1


@njit(**_SERIAL)
def _exclusive_prefix_parity(v):
    """Bit ``b`` of the result is the XOR of bits ``0 .. b-1`` of ``v``."""
    y = v
    y ^= y << np.uint64(1)
    y ^= y << np.uint64(2)
    y ^= y << np.uint64(4)
    y ^= y << np.uint64(8)
    y ^= y << np.uint64(16)
    y ^= y << np.uint64(32)
    return y << np.uint64(1)


# --- xoshiro256** ------------------------------------------------------------------------------
@njit(**_SERIAL)
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(**_SERIAL)
def _next(s):
    """The next 64 random bits of the generator state ``s`` (uint64[4], not all zero)."""
    s0, s1, s2, s3 = s[0], s[1], s[2], s[3]
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    s[0], s[1], s[2], s[3] = s0, s1, s2, s3
    return result


@njit(**_SERIAL)
def _uniform_open0(s):
    """A uniform double in (0, 1] (53 random bits)."""
    return (float(_next(s) >> np.uint64(11)) + 1.0) * (1.0 / 9007199254740992.0)


@njit(**_SERIAL)
def _uniform(s):
    """A uniform double in [0, 1) (53 random bits)."""
    return float(_next(s) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(**_SERIAL)
def _bernoulli_mask(out, nbits, p, s):
    """``out[w]`` bit ``b`` set with probability ``p`` independently for the first ``nbits``
    bits, the rest zero. Small ``p`` jumps between set bits with geometric gaps (exact:
    P(gap = g) = (1-p)^g p up to rounding); large ``p`` draws each bit."""
    for w in range(out.size):
        out[w] = _U0
    if p <= 0.0 or nbits <= 0:
        return
    if p >= 1.0:
        for i in range(nbits):
            out[i >> 6] |= _U1 << np.uint64(i & 63)
        return
    if p < 0.2:
        logq = math.log1p(-p)
        i = -1
        while True:
            g = math.log(_uniform_open0(s)) / logq
            if g >= nbits:
                break
            i += int(g) + 1
            if i >= nbits:
                break
            out[i >> 6] |= _U1 << np.uint64(i & 63)
        return
    for i in range(nbits):
        if _uniform(s) < p:
            out[i >> 6] |= _U1 << np.uint64(i & 63)


# --- conditions ----------------------------------------------------------------------------------
@njit(**_SERIAL)
def _cond_holds(clbits, ci, cbits, cwant, coff):
    for e in range(coff[ci], coff[ci + 1]):
        if clbits[cbits[e]] != cwant[e]:
            return False
    return True


@njit(**_SERIAL)
def _cond_mask(c, w, ci, cbits, cwant, coff):
    """Shots (bits of word ``w``) of the classical records ``c`` for which condition ``ci``
    holds."""
    h = _ALL
    for e in range(coff[ci], coff[ci + 1]):
        v = c[cbits[e], w]
        h &= v if cwant[e] else ~v
    return h


# --- gates on column-major bit planes ---------------------------------------------------------
# The same code serves the tableau (``signs`` = the row signs, ``with_signs`` true) and the
# frames (phases dropped): conjugation P -> G P G^dagger of 64 rows (or shots) per word.


@njit(**_SERIAL)
def _gate(x, z, r, with_signs, code, a, b, nw, gq, gqoff, glin, gmono, gmoff, scratch):
    if code == OP_H:
        for w in range(nw):
            xa, za = x[a, w], z[a, w]
            if with_signs:
                r[w] ^= xa & za
            x[a, w] = za
            z[a, w] = xa
    elif code == OP_S or code == OP_SDG:
        for w in range(nw):
            xa, za = x[a, w], z[a, w]
            if with_signs:
                r[w] ^= (xa & za) if code == OP_S else (xa & ~za)
            z[a, w] = za ^ xa
    elif code == OP_SX or code == OP_SXDG:
        for w in range(nw):
            xa, za = x[a, w], z[a, w]
            if with_signs:
                r[w] ^= (za & ~xa) if code == OP_SX else (xa & za)
            x[a, w] = xa ^ za
    elif code == OP_CX:
        for w in range(nw):
            xc, zc, xt, zt = x[a, w], z[a, w], x[b, w], z[b, w]
            if with_signs:
                r[w] ^= xc & zt & ~(xt ^ zc)
            x[b, w] = xt ^ xc
            z[a, w] = zc ^ zt
    elif code == OP_CZ:
        for w in range(nw):
            xa, za, xb, zb = x[a, w], z[a, w], x[b, w], z[b, w]
            if with_signs:
                r[w] ^= xa & xb & (za ^ zb)
            z[a, w] = za ^ xb
            z[b, w] = zb ^ xa
    elif code == OP_CY:  # CY = S_t CX S_t^dagger: Sdg on t, CX, S on t
        for w in range(nw):
            xc, zc, xt, zt = x[a, w], z[a, w], x[b, w], z[b, w]
            if with_signs:
                r[w] ^= xt & ~zt
            zt ^= xt
            if with_signs:
                r[w] ^= xc & zt & ~(xt ^ zc)
            xt ^= xc
            zc ^= zt
            if with_signs:
                r[w] ^= xt & zt
            zt ^= xt
            x[b, w] = xt
            z[b, w] = zt
            z[a, w] = zc
    elif code == OP_SWAP:
        for w in range(nw):
            xa, za = x[a, w], z[a, w]
            x[a, w] = x[b, w]
            z[a, w] = z[b, w]
            x[b, w] = xa
            z[b, w] = za
    elif code == OP_X:
        if with_signs:
            for w in range(nw):
                r[w] ^= z[a, w]
    elif code == OP_Z:
        if with_signs:
            for w in range(nw):
                r[w] ^= x[a, w]
    elif code == OP_Y:
        if with_signs:
            for w in range(nw):
                r[w] ^= x[a, w] ^ z[a, w]
    elif code == OP_GENERIC:
        _generic(x, z, r, with_signs, a, nw, gq, gqoff, glin, gmono, gmoff, scratch)


@njit(**_SERIAL)
def _generic(x, z, r, with_signs, g, nw, gq, gqoff, glin, gmono, gmoff, scratch):
    """A k-qubit Clifford from its tables (``scratch`` holds at least 4k words)."""
    q0 = gqoff[g]
    k = gqoff[g + 1] - q0
    l0 = 2 * q0
    for w in range(nw):
        for j in range(k):
            scratch[2 * j] = x[gq[q0 + j], w]
            scratch[2 * j + 1] = z[gq[q0 + j], w]
        if with_signs:
            flip = _U0
            for m in range(gmoff[g], gmoff[g + 1]):
                mono = gmono[m]
                t = _ALL
                for a in range(2 * k):
                    if (mono >> a) & 1:
                        t &= scratch[a]
                flip ^= t
            r[w] ^= flip
        for o in range(2 * k):
            mask = glin[l0 + o]
            v = _U0
            for a in range(2 * k):
                if (mask >> a) & 1:
                    v ^= scratch[a]
            scratch[2 * k + o] = v
        for j in range(k):
            x[gq[q0 + j], w] = scratch[2 * k + 2 * j]
            z[gq[q0 + j], w] = scratch[2 * k + 2 * j + 1]


# --- tableau -------------------------------------------------------------------------------------
@njit(**_SERIAL)
def tab_new(n):
    """The tableau of |0...0>: destabilizer ``i`` is ``X_i``, stabilizer ``i`` is ``Z_i``.

    Returns ``(tx, tz, tr)`` (see the module docstring for the layout).
    """
    wd = (n + 63) // 64
    tx = np.zeros((n, 2 * wd), np.uint64)
    tz = np.zeros((n, 2 * wd), np.uint64)
    tr = np.zeros(2 * wd, np.uint64)
    for i in range(n):
        bit = _U1 << np.uint64(i & 63)
        tx[i, i >> 6] |= bit
        tz[i, wd + (i >> 6)] |= bit
    return tx, tz, tr


@njit(**_SERIAL)
def _product_exponent(tx, tz, tr, n, wd, sel):
    """``e`` (mod 4) with ``prod_{i in sel} S_i = i^e * (a Hermitian Pauli)``: the ordered
    product of the stabilizers ``i`` whose bit is set in ``sel`` (``wd`` words).

    Per qubit column the product of single-qubit Paulis ``σ_1 ... σ_k`` (``σ = i^(xz) X^x Z^z``)
    is ``i^(Σ x_i z_i + 2 Σ_{a<b} z_a x_b - (⊕x)(⊕z))`` times the Hermitian Pauli of
    ``(⊕x, ⊕z)``; the pair count uses prefix parities within and across words.
    """
    e = 0
    for w in range(wd):
        e += 2 * _popcount(tr[wd + w] & sel[w])
    for j in range(n):
        carry = _U0
        px = _U0
        pz = _U0
        for w in range(wd):
            s = sel[w]
            if s == _U0:
                continue
            xs = tx[j, wd + w] & s
            zs = tz[j, wd + w] & s
            e += _popcount(xs & zs)
            pre = _exclusive_prefix_parity(zs) ^ carry
            e += 2 * _popcount(xs & pre)
            if _popcount(zs) & _U1:
                carry = ~carry
            px ^= _popcount(xs) & _U1
            pz ^= _popcount(zs) & _U1
        e += 3 * (px & pz)
    return e % 4


@njit(**_SERIAL)
def tab_pauli_sign(tx, tz, tr, n, xw, zw):
    """``<P>`` of the tableau's state for the Hermitian Pauli with qubit masks ``xw``, ``zw``
    (uint64 words, qubit ``q`` is bit ``q % 64`` of word ``q // 64``): 0 when ``P``
    anticommutes with a stabilizer, else +1 or -1 (``P`` is then plus or minus the product
    of the stabilizers whose destabilizers anticommute with it).

    Cost: O(n W) word operations.
    """
    nw = tx.shape[1]
    wd = nw // 2
    acc = np.zeros(nw, np.uint64)
    for j in range(n):
        px = _bit(xw[j >> 6], j & 63)
        pz = _bit(zw[j >> 6], j & 63)
        if px:
            for w in range(nw):
                acc[w] ^= tz[j, w]
        if pz:
            for w in range(nw):
                acc[w] ^= tx[j, w]
    for w in range(wd, nw):
        if acc[w] != _U0:
            return 0
    e = _product_exponent(tx, tz, tr, n, wd, acc[:wd])
    if e == 0:
        return 1
    if e == 2:
        return -1
    raise RuntimeError("stabilizer product is not Hermitian (corrupt tableau)")


@njit(**_SERIAL)
def tab_measure(tx, tz, tr, n, q, outcome_if_random, lo, hi, mask):
    """Measure qubit ``q`` in the Z basis; returns ``(outcome, was_random)``.

    A random outcome (some stabilizer has X or Y on ``q``) is ``outcome_if_random``; the
    tableau is collapsed accordingly (Aaronson-Gottesman: every other row with X on ``q`` is
    multiplied by the pivot stabilizer ``p``, the pivot's destabilizer becomes the old pivot,
    the pivot becomes ``±Z_q``). ``lo``, ``hi``, ``mask`` are scratch arrays of ``W`` words.

    Cost: O(n W) word operations (random) or O(n Wd) (deterministic).
    """
    nw = tx.shape[1]
    wd = nw // 2
    p = -1
    for w in range(wd, nw):
        v = tx[q, w]
        if v != _U0:
            p = w * 64 + int(_ctz(v))
            break
    if p < 0:
        e = _product_exponent(tx, tz, tr, n, wd, tx[q, :wd])
        if e == 1 or e == 3:
            raise RuntimeError("stabilizer product is not Hermitian (corrupt tableau)")
        return (1 if e == 2 else 0), False
    pw = p >> 6
    pbit = _U1 << np.uint64(p & 63)
    d = p - 64 * wd
    dw = d >> 6
    dbit = _U1 << np.uint64(d & 63)
    for w in range(nw):
        mask[w] = tx[q, w]
        lo[w] = _U0
        hi[w] = _U0
    mask[pw] &= ~pbit
    mask[dw] &= ~dbit
    rp = (tr[pw] & pbit) != _U0
    for j in range(n):
        xp = (tx[j, pw] & pbit) != _U0
        zp = (tz[j, pw] & pbit) != _U0
        if not (xp or zp):
            continue
        # phase of row_h <- row_p * row_h, g(x1 z1; x2 z2) of Aaronson-Gottesman with row p's
        # letter fixed per column; only the stabilizer rows' signs matter
        if xp and zp:
            for w in range(wd, nw):
                x2, z2, m = tx[j, w], tz[j, w], mask[w]
                plus = z2 & ~x2 & m
                minus = x2 & ~z2 & m
                hi[w] ^= (lo[w] & plus) | (~lo[w] & minus)
                lo[w] ^= plus | minus
        elif xp:
            for w in range(wd, nw):
                x2, z2, m = tx[j, w], tz[j, w], mask[w]
                plus = z2 & x2 & m
                minus = z2 & ~x2 & m
                hi[w] ^= (lo[w] & plus) | (~lo[w] & minus)
                lo[w] ^= plus | minus
        else:
            for w in range(wd, nw):
                x2, z2, m = tx[j, w], tz[j, w], mask[w]
                plus = x2 & ~z2 & m
                minus = x2 & z2 & m
                hi[w] ^= (lo[w] & plus) | (~lo[w] & minus)
                lo[w] ^= plus | minus
        if xp:
            for w in range(nw):
                tx[j, w] ^= mask[w]
        if zp:
            for w in range(nw):
                tz[j, w] ^= mask[w]
    for w in range(wd, nw):
        if lo[w] & mask[w]:
            raise RuntimeError("odd phase in a stabilizer product (corrupt tableau)")
        tr[w] ^= hi[w] ^ (mask[w] if rp else _U0)
    # destabilizer d <- old pivot row; pivot <- (-1)^outcome Z_q
    for j in range(n):
        xb = (tx[j, pw] & pbit) != _U0
        zb = (tz[j, pw] & pbit) != _U0
        tx[j, dw] = (tx[j, dw] | dbit) if xb else (tx[j, dw] & ~dbit)
        tz[j, dw] = (tz[j, dw] | dbit) if zb else (tz[j, dw] & ~dbit)
        tx[j, pw] &= ~pbit
        tz[j, pw] &= ~pbit
    tr[dw] = (tr[dw] | dbit) if rp else (tr[dw] & ~dbit)
    tz[q, pw] |= pbit
    tr[pw] = (tr[pw] | pbit) if outcome_if_random else (tr[pw] & ~pbit)
    return outcome_if_random, True


@njit(**_SERIAL)
def tab_apply_pauli(tx, tz, tr, xw, zw, n):
    """Apply the Pauli with qubit masks ``xw``, ``zw`` (words) to the state: every row that
    anticommutes with it changes sign."""
    nw = tx.shape[1]
    for j in range(n):
        if _bit(xw[j >> 6], j & 63):
            for w in range(nw):
                tr[w] ^= tz[j, w]
        if _bit(zw[j >> 6], j & 63):
            for w in range(nw):
                tr[w] ^= tx[j, w]


@njit(**_SERIAL)
def tab_run(tx, tz, tr, n, ops, start, stop, gq, gqoff, glin, gmono, gmoff,
            cbits, cwant, coff, clbits, ref_meas, ref_cond):
    """Run program rows ``start .. stop-1`` on the tableau as the noiseless reference: random
    measurement outcomes are 0, channels are skipped, conditions read ``clbits`` (uint8, one
    per clbit, updated by measurements).

    Records each measurement's outcome in ``ref_meas[i]`` and each condition's truth in
    ``ref_cond[i]`` (uint8 per row). Returns the number of random measurements and resets.
    """
    nw = tx.shape[1]
    lo = np.empty(nw, np.uint64)
    hi = np.empty(nw, np.uint64)
    mask = np.empty(nw, np.uint64)
    scratch = np.empty(4 * 64, np.uint64)
    if gqoff.size > 1:
        kmax = 0
        for g in range(gqoff.size - 1):
            kmax = max(kmax, gqoff[g + 1] - gqoff[g])
        scratch = np.empty(4 * kmax + 4, np.uint64)
    randoms = 0
    for i in range(start, stop):
        code = ops[i, 0]
        ci = ops[i, 4]
        if ci >= 0:
            holds = _cond_holds(clbits, ci, cbits, cwant, coff)
            ref_cond[i] = 1 if holds else 0
            if not holds:
                continue
        a = ops[i, 1]
        if code <= OP_GENERIC:
            g = ops[i, 3] if code == OP_GENERIC else a
            _gate(tx, tz, tr, True, code, g, ops[i, 2], nw, gq, gqoff, glin, gmono, gmoff, scratch)
        elif code == OP_MEASURE:
            out, rnd = tab_measure(tx, tz, tr, n, a, 0, lo, hi, mask)
            randoms += rnd
            ref_meas[i] = out
            clbits[ops[i, 2]] = out
        elif code == OP_RESET:
            out, rnd = tab_measure(tx, tz, tr, n, a, 0, lo, hi, mask)
            randoms += rnd
            if out:
                for w in range(nw):
                    tr[w] ^= tz[a, w]
    return randoms


# --- frames --------------------------------------------------------------------------------------
@njit(**_SERIAL)
def _frame_clifford(fx, fz, code, a, b, g, w0, w1, gq, gqoff, glin, gmono, gmoff, scratch, dummy):
    """A gate on the frames of words ``w0 .. w1-1`` (phases dropped)."""
    if code == OP_H:
        for w in range(w0, w1):
            t = fx[a, w]
            fx[a, w] = fz[a, w]
            fz[a, w] = t
    elif code == OP_S or code == OP_SDG:
        for w in range(w0, w1):
            fz[a, w] ^= fx[a, w]
    elif code == OP_CX:
        for w in range(w0, w1):
            fx[b, w] ^= fx[a, w]
            fz[a, w] ^= fz[b, w]
    elif code == OP_CZ:
        for w in range(w0, w1):
            fz[a, w] ^= fx[b, w]
            fz[b, w] ^= fx[a, w]
    elif code == OP_SX or code == OP_SXDG:
        for w in range(w0, w1):
            fx[a, w] ^= fz[a, w]
    elif code == OP_SWAP:
        for w in range(w0, w1):
            t = fx[a, w]
            fx[a, w] = fx[b, w]
            fx[b, w] = t
            t = fz[a, w]
            fz[a, w] = fz[b, w]
            fz[b, w] = t
    elif code == OP_CY:
        for w in range(w0, w1):
            zt = fz[b, w] ^ fx[b, w]
            xt = fx[b, w] ^ fx[a, w]
            fz[a, w] ^= zt
            fz[b, w] = zt ^ xt
            fx[b, w] = xt
    elif code == OP_GENERIC:
        _generic(fx[:, w0:w1], fz[:, w0:w1], dummy, False, g, w1 - w0, gq, gqoff, glin, gmono,
                 gmoff, scratch)


@njit(**_SERIAL)
def _frames_block(fx, fz, c, bw, unit_bits, states, ops, gq, gqoff, glin, gmono, gmoff, cbits,
                  cwant, coff, chq, chqoff, chperr, chcum, chpx, chpz, chpoff, ro_p01, ro_p10,
                  ref_meas, ref_cond, m1, m2, scratch):
    """Run the program on one block of frames: ``bw`` words made of seeding units of
    ``BLOCK_WORDS`` words, unit ``u`` holding ``unit_bits[u]`` valid shots and drawing only from
    its own generator ``states[u]`` (so the samples do not depend on how units form blocks)."""
    n = fx.shape[0]
    nu = states.shape[0]
    for u in range(nu):
        s = states[u]
        for q in range(n):
            for w in range(u * BLOCK_WORDS, min(bw, (u + 1) * BLOCK_WORDS)):
                fz[q, w] = _next(s)  # |0> is invariant under Z: random Z frames make outcomes random
    for i in range(ops.shape[0]):
        code = ops[i, 0]
        a = ops[i, 1]
        if code == OP_H:  # the commonest gates first, inline
            for w in range(bw):
                t = fx[a, w]
                fx[a, w] = fz[a, w]
                fz[a, w] = t
            continue
        if code == OP_CX:
            b = ops[i, 2]
            for w in range(bw):
                fx[b, w] ^= fx[a, w]
                fz[a, w] ^= fz[b, w]
            continue
        if code == OP_S or code == OP_SDG:
            for w in range(bw):
                fz[a, w] ^= fx[a, w]
            continue
        ci = ops[i, 4]
        if code <= OP_Z:
            if ci < 0 or code == OP_I:
                continue  # the reference applied it; frames ignore signs
            # a conditioned Pauli: the frame changes where the shot's condition differs from
            # the reference's
            flip = _ALL if ref_cond[i] else _U0
            for w in range(bw):
                h = _cond_mask(c, w, ci, cbits, cwant, coff) ^ flip
                if code != OP_Z:
                    fx[a, w] ^= h
                if code != OP_X:
                    fz[a, w] ^= h
        elif code <= OP_GENERIC:
            _frame_clifford(fx, fz, code, a, ops[i, 2], ops[i, 3], 0, bw, gq, gqoff, glin, gmono,
                            gmoff, scratch, m2)
        elif code == OP_MEASURE:
            b = ops[i, 2]
            ro = ops[i, 3]
            ref = _ALL if ref_meas[i] else _U0
            if ro >= 0:
                for u in range(nu):
                    u0 = u * BLOCK_WORDS
                    u1 = min(bw, u0 + BLOCK_WORDS)
                    _bernoulli_mask(m1[u0:u1], unit_bits[u], ro_p01[ro], states[u])
                    _bernoulli_mask(m2[u0:u1], unit_bits[u], ro_p10[ro], states[u])
                for w in range(bw):
                    true = ref ^ fx[a, w]
                    c[b, w] = true ^ ((m1[w] & ~true) | (m2[w] & true))
            else:
                for w in range(bw):
                    c[b, w] = ref ^ fx[a, w]
            for u in range(nu):
                s = states[u]
                for w in range(u * BLOCK_WORDS, min(bw, (u + 1) * BLOCK_WORDS)):
                    fz[a, w] ^= _next(s)  # the measured qubit's Z is a stabilizer now
        elif code == OP_RESET:
            for u in range(nu):
                s = states[u]
                for w in range(u * BLOCK_WORDS, min(bw, (u + 1) * BLOCK_WORDS)):
                    fx[a, w] = _U0
                    fz[a, w] = _next(s)
        elif code == OP_CHANNEL:
            h = ops[i, 3]
            for u in range(nu):
                u0 = u * BLOCK_WORDS
                u1 = min(bw, u0 + BLOCK_WORDS)
                _bernoulli_mask(m1[u0:u1], unit_bits[u], chperr[h], states[u])
            if ci >= 0:
                for w in range(bw):
                    m1[w] &= _cond_mask(c, w, ci, cbits, cwant, coff)
            q0 = chqoff[h]
            k = chqoff[h + 1] - q0
            e0 = chpoff[h]
            e1 = chpoff[h + 1]
            for w in range(bw):
                v = m1[w]
                s = states[w // BLOCK_WORDS]
                while v != _U0:
                    bit = _ctz(v)
                    v &= v - _U1
                    x = _uniform(s)
                    e = e0
                    while e < e1 - 1 and x >= chcum[e]:
                        e += 1
                    one = _U1 << bit
                    for j in range(k):
                        if (chpx[e] >> j) & 1:
                            fx[chq[q0 + j], w] ^= one
                        if (chpz[e] >> j) & 1:
                            fz[chq[q0 + j], w] ^= one


@njit(parallel=True, cache=True, nogil=True)
def frames_run(ops, n, num_clbits, shots, seeds, units_per_block, gq, gqoff, glin, gmono, gmoff,
               cbits, cwant, coff, chq, chqoff, chperr, chcum, chpx, chpz, chpoff, ro_p01, ro_p10,
               ref_meas, ref_cond):
    """Sample ``shots`` shots of a program by Pauli-frame propagation around a reference run.

    The shots are cut into seeding units of ``BLOCK_WORDS`` words (1024 shots); ``seeds`` holds
    one xoshiro256** state (uint64[4]) per unit, and every random draw of a unit's shots comes
    from its own generator in program order, so the samples depend only on the seeds, not on
    ``units_per_block`` (the units run together on one thread) or the number of threads.
    Per shot: frames start as random Z (|0...0> is invariant under them); gates conjugate the
    frames; a measurement records ``reference outcome XOR frame X bit`` (then flips it by the
    readout error drawn for the true value) and randomises the qubit's Z frame; a reset clears
    the X frame and randomises Z; a Pauli channel multiplies the frames of the shots it hits
    (drawn with geometric gaps) by one of its Paulis; a conditioned Pauli multiplies the frames
    where the shot's condition differs from the reference's.

    Returns:
        ``c``: uint64 ``(num_clbits, ceil(shots / 64))``, bit ``s % 64`` of ``c[b, s // 64]``
        is clbit ``b`` of shot ``s`` (bits past ``shots`` are garbage).
    """
    sw = (shots + 63) // 64
    nunits = (sw + BLOCK_WORDS - 1) // BLOCK_WORDS
    nblocks = (nunits + units_per_block - 1) // units_per_block
    c = np.zeros((num_clbits, sw), np.uint64)
    kmax = 1
    for g in range(gqoff.size - 1):
        kmax = max(kmax, gqoff[g + 1] - gqoff[g])
    for blk in prange(nblocks):
        u0 = blk * units_per_block
        u1 = min(nunits, u0 + units_per_block)
        w0 = u0 * BLOCK_WORDS
        w1 = min(sw, u1 * BLOCK_WORDS)
        bw = w1 - w0
        states = seeds[u0:u1].copy()
        unit_bits = np.empty(u1 - u0, np.int64)
        for u in range(u1 - u0):
            first = 64 * (w0 + u * BLOCK_WORDS)
            unit_bits[u] = min(shots - first, 64 * BLOCK_WORDS)
            if states[u, 0] == _U0 and states[u, 1] == _U0 and states[u, 2] == _U0 and states[u, 3] == _U0:
                states[u, 0] = _U1
        fx = np.zeros((n, bw), np.uint64)
        fz = np.empty((n, bw), np.uint64)
        cb = np.zeros((num_clbits, bw), np.uint64)
        m1 = np.empty(bw, np.uint64)
        m2 = np.empty(bw, np.uint64)
        scratch = np.empty(4 * kmax + 4, np.uint64)
        _frames_block(fx, fz, cb, bw, unit_bits, states, ops, gq, gqoff, glin, gmono, gmoff, cbits,
                      cwant, coff, chq, chqoff, chperr, chcum, chpx, chpz, chpoff, ro_p01, ro_p10,
                      ref_meas, ref_cond, m1, m2, scratch)
        for b in range(num_clbits):
            for w in range(bw):
                c[b, w0 + w] = cb[b, w]
    return c


@njit(**_SERIAL)
def _transpose64(a):
    """Transpose the 64x64 bit matrix whose row ``i`` is ``a[i]`` (bit ``j`` = column ``j``),
    in place, by swapping ever smaller off-diagonal blocks."""
    j = 32
    m = np.uint64(0x00000000FFFFFFFF)
    while j != 0:
        k = 0
        while k < 64:
            t = ((a[k] >> np.uint64(j)) ^ a[k + j]) & m
            a[k] ^= t << np.uint64(j)
            a[k + j] ^= t
            k = (k + j + 1) & ~j
        j >>= 1
        m ^= m << np.uint64(j)


@njit(parallel=True, cache=True, nogil=True)
def keys_from_records(c, shots):
    """Per-shot records as rows of words: ``out[s, b // 64]`` bit ``b % 64`` is clbit ``b`` of
    shot ``s`` (the transpose of ``frames_run``'s output, by 64x64 bit blocks)."""
    nc = c.shape[0]
    kw = max(1, (nc + 63) // 64)
    out = np.zeros((shots, kw), np.uint64)
    sw = (shots + 63) // 64
    for w in prange(sw):
        a = np.empty(64, np.uint64)
        s0 = 64 * w
        top = min(64, shots - s0)
        for col in range(kw):
            for t in range(64):
                b = 64 * col + t
                a[t] = c[b, w] if b < nc else _U0
            _transpose64(a)
            for t in range(top):
                out[s0 + t, col] = a[t]
    return out


@njit(**_SERIAL)
def words_to_shot_bytes(c, shots):
    """``frames_run``'s layout transposed to shot-major bytes, on one thread: ``out[s, b // 8]``
    bit ``b % 8`` is row ``b`` of shot ``s`` (Stim's ``b8`` format, pymatching's
    ``bit_packed_shots``), for a ``(rows, ceil(shots / 64))`` uint64 ``c``.

    Serial on purpose: it is called once per small batch, where a thread pool's wake-up costs
    more than the 64 x 64 bit-block transpositions (``O(rows * shots / 64)`` word operations).
    """
    nc = c.shape[0]
    nbytes = (nc + 7) // 8
    out = np.zeros((shots, nbytes), np.uint8)
    a = np.empty(64, np.uint64)
    for w in range((shots + 63) // 64):
        s0 = 64 * w
        top = min(64, shots - s0)
        for col in range((nc + 63) // 64):
            for t in range(64):
                b = 64 * col + t
                a[t] = c[b, w] if b < nc else _U0
            _transpose64(a)
            for t in range(top):
                v = a[t]
                for j in range(min(8, nbytes - 8 * col)):
                    out[s0 + t, 8 * col + j] = np.uint8((v >> np.uint64(8 * j)) & np.uint64(255))
    return out
