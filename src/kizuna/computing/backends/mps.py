"""The matrix-product-state (MPS) backend: ideal circuits on many qubits with bounded entanglement.

**State.** ``n`` qubits are a chain of ``n`` site tensors ``A[k]`` of shape
``(chi_{k-1}, 2, chi_k)`` (``chi_{-1} = chi_{n-1} = 1``), complex128 (complex64 with
``precision="single"``). Qubit ``k`` is site ``k``; the amplitude of basis state ``i`` -- qubit
``k`` is bit ``k`` of ``i``, little-endian as everywhere in Kizuna -- is the matrix product
``A[0][:, b_0, :] @ A[1][:, b_1, :] @ ... @ A[n-1][:, b_{n-1}, :]``. ``chi_k`` is the bond
dimension between qubits ``k`` and ``k + 1``: the Schmidt rank of the cut there (Vidal, PRL 91,
147902 (2003)).

The chain is kept in **mixed canonical form** (Schollwöck, Ann. Phys. 326, 96 (2011), sec. 4.4):
one site, the orthogonality centre, carries the norm; the sites left of it are left-orthonormal
(``sum_{l,b} conj(A[l,b,r']) A[l,b,r] = delta``) and those right of it right-orthonormal. The
centre moves one site per QR decomposition.

**Gates.**

* One-qubit gates are contracted into their site (a unitary on the physical leg keeps a site
  orthonormal, so the centre does not move). Runs of one-qubit gates are first multiplied into
  the next multi-qubit gate on their qubit.
* A gate on ``k >= 2`` neighbouring qubits: the centre moves into the block, the ``k`` sites are
  contracted into one tensor ``(chi_l, 2**k, chi_r)``, the ``2**k x 2**k`` matrix is applied,
  and ``k - 1`` SVDs split it back (LAPACK ``gesdd``; ``gesvd`` if that fails to converge),
  each truncated (below) and leaving the centre at the end of the block the next gate is nearer
  to. With the centre in the block, the discarded Schmidt weight is exactly the squared norm of
  the error, so each truncation is the optimal one for that bond (Schollwöck sec. 4.5).
* Gates on qubits that are not neighbours (``cx(0, 7)``), and gates of 3+ qubits (``ccx``,
  ``cswap``, ``c3x``, ``c4x``, ``rccx``, any ``unitary``): adjacent swaps (each an exact two-site
  operation with its own SVD) bring the qubits next to each other around their median qubit, the
  gate is applied as above, and the swaps are undone in reverse order. So qubit ``k`` is always
  at site ``k`` (no permutation is carried between gates); the ``swaps`` metadata counts them.
* Scheduling: within a run of gates with no measurement, reset or condition between them, gates
  on disjoint qubits commute; they are applied by layer (as soon as possible) and, within a
  layer, nearest the centre first, so a brickwork layer is one sweep and the next layer sweeps
  back, instead of a QR sweep back to the start. Without truncation this changes nothing but
  rounding.

**Truncation.** After each SVD the smallest singular values are dropped while their summed
squared weight, relative to the block's total, stays at or below ``truncation_threshold``
(default ``1e-16``, as Qiskit Aer), and at most ``max_bond`` are kept (``None``: no cap). The
kept values are rescaled to unit norm. Each truncation that drops a weight ``w_i`` adds to the
metadata:

* ``truncation_error = sum_i w_i`` (the accumulated discarded weight);
* ``fidelity_estimate = prod_i (1 - w_i)``. For one truncation it is exactly the fidelity
  ``|<psi_exact|psi_mps>|**2``; for many, it is the standard estimate (exact when each
  discarded piece is orthogonal to the earlier errors as the gates carried them; Zhou,
  Stoudenmire & Waintal, PRX 10, 041038 (2020)) -- a lower-bound-style estimate, not a
  guarantee: on 60 random 8-12-qubit brickworks with estimates between 0.7 and 0.995, the true
  fidelity lay within 0.015 below to 0.03 above it (the infidelity at most 1.07 times the
  estimated one);
* ``fidelity_lower_bound = cos(min(pi/2, sum_i asin(sqrt(w_i))))**2``: a rigorous bound (the
  Fubini-Study angle is a metric that unitaries preserve, and a truncation turns the state by
  ``asin(sqrt(w_i))``);
* ``truncated``: the discarded weight exceeds rounding (``1e-12``; ``1e-8`` in single
  precision); ``max_bond_reached``: the largest bond dimension the run held; ``svds``.

With mid-circuit measurements, these figures are those of the worst measurement branch.

**Measurement.** As the state-vector backend (its module docstring): measurements that nothing
later depends on are deferred and sampled from the final state; any other measurement or reset
splits the shots still to be drawn by a binomial draw, each branch continuing with its
collapsed state (the centre is moved to the qubit, whose site gives ``P(1)``; branches share
their unchanged site tensors). Conditions are evaluated per branch.

**Sampling** the deferred measurements: the centre is moved to site 0 (every other site is then
right-orthonormal) and the sites are swept left to right once for all shots together: each shot
(or group of shots with the same outcomes so far, split by binomial draws) carries its
normalised left vector ``L`` (length ``chi``); ``V = L @ A[k]`` for all of them in one matrix
product gives the conditional probabilities ``|V_b|**2 / (|V_0|**2 + |V_1|**2)`` of the next bit,
and the drawn half becomes the new ``L``. Cost ``O(n * shots * chi**2)`` flops in BLAS GEMMs;
sites after the last measured qubit are never touched. (Qiskit Aer instead measures a copy of
the MPS shot by shot.)

**Expectation values** of Pauli strings (``expectation``, ``expectation_values``) contract the
final MPS with each string over its support (transfer matrices, ``O(chi**3)`` per site), with
no dense vector; ``final_state`` contracts the dense vector, for small registers.

**Cost.** Memory ``O(n chi**2)`` (16 bytes an entry); a two-qubit gate costs ``O(chi**3)`` (an
SVD of a ``2 chi x 2 chi`` matrix and a QR to move the centre). The linear algebra is numpy's
(OpenBLAS): matrices with a side below 512 run on one thread, larger ones on up to
``num_threads``. ``chi`` grows at most by a factor 4 per two-qubit gate
across a cut and is at most ``2**min(k + 1, n - k - 1)`` at bond ``k``: exact simulation of deep
random circuits is exponential, as always; ``max_bond`` trades accuracy for a polynomial cost.
Before each SVD the MPS and the SVD's work space are checked against the memory guard
(``core._memory``); ``MemoryLimitError`` names the bond dimension and a ``max_bond`` that fits.

This module imports ``core`` and ``computing``; nothing above (scipy only if gesdd fails).
"""

from __future__ import annotations

import bisect
import ctypes
import functools
import heapq
import math
import numbers
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core import _memory
from ...core.gates import GATES
from ...errors import BackendError, MemoryLimitError, SimulationError
from ..circuit import Instruction
from .statevector import (
    StatevectorBackend,
    _condition_holds,
    _set_bit,
    deferred_measurements,
    resolve_threads,
)

__all__ = ["DEFAULT_TRUNCATION_THRESHOLD", "MPSBackend"]

_PRECISIONS = {"double": np.complex128, "single": np.complex64}
#: Default relative discarded weight per SVD (Qiskit Aer's ``matrix_product_state_truncation_threshold``).
DEFAULT_TRUNCATION_THRESHOLD = 1e-16
#: Accumulated discarded weight above which a run reports ``truncated`` (rounding stays below).
_ROUNDING_WEIGHT = {"double": 1e-12, "single": 1e-8}
#: Bytes the sampler's per-shot vectors may take at once; more shots are sampled in chunks.
_SAMPLE_CHUNK_BYTES = 256 << 20
_SWAP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=np.complex128)
_I2 = np.eye(2, dtype=np.complex128)


# --- linear algebra ------------------------------------------------------------------------------
def _svd(m: np.ndarray):
    """``u, s, vh`` of ``m`` (economy size): LAPACK gesdd through numpy (the same OpenBLAS as the
    QRs and matrix products, so one thread pool), scipy's gesvd where gesdd does not converge."""
    try:
        return np.linalg.svd(m, full_matrices=False)
    except np.linalg.LinAlgError:
        import scipy.linalg

        return scipy.linalg.svd(m, full_matrices=False, lapack_driver="gesvd", check_finite=False)


@functools.lru_cache(maxsize=1)
def _openblas_thread_controls() -> tuple:
    """``(get, set)`` thread-count functions of the OpenBLAS libraries loaded in this process
    (found in ``/proc/self/maps``, so Linux only; empty elsewhere or for another BLAS)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return ()
    paths = sorted({line.split()[-1] for line in maps.splitlines()
                    if "openblas" in line.lower() and line.split()[-1].startswith("/")})
    found = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for stem in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                get = getattr(lib, f"{stem}_get_num_threads{suffix}", None)
                put = getattr(lib, f"{stem}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    get.restype = ctypes.c_int
                    put.argtypes = [ctypes.c_int]
                    found.append((get, put))
                    break
            else:
                continue
            break
    return tuple(found)


#: Matrices with a shorter side than this are factorised and multiplied on one BLAS thread: at
#: these sizes threads gain little and, on a loaded machine, OpenBLAS threads spinning for a
#: descheduled partner made SVDs 10-40 times slower (2 cores shared with other jobs, measured).
_THREADED_MIN_DIM = 512


class _BlasThreads:
    """numpy's OpenBLAS thread count per operation: one thread for matrices smaller than
    ``_THREADED_MIN_DIM``, ``limit`` (default: the library's own count) for larger ones; the
    original count is restored on exit. A no-op where the library cannot be found."""

    def __init__(self, limit: int | None):
        self.controls = _openblas_thread_controls()
        self.before = [get() for get, _ in self.controls]
        self.limit = limit if limit is not None else max(self.before, default=1)
        self.current = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        for (_, put), n in zip(self.controls, self.before):
            put(n)

    def use(self, dim: int) -> None:
        want = 1 if dim < _THREADED_MIN_DIM else self.limit
        if want != self.current:
            for _, put in self.controls:
                put(want)
            self.current = want


def _site_matrix(matrix: np.ndarray, order: list[int]) -> np.ndarray:
    """``matrix`` (little-endian over the gate's qubits) re-indexed for a block of sites whose
    site ``j`` holds the gate's qubit ``order[j]``, site 0 the most significant (C order)."""
    k = len(order)
    if k == 1:
        return matrix
    t = np.asarray(matrix).reshape((2,) * (2 * k))
    # axis a of the reshaped matrix is gate qubit k-1-a (out), 2k-1-a (in)
    axes = [k - 1 - m for m in order] + [2 * k - 1 - m for m in order]
    return t.transpose(axes).reshape(1 << k, 1 << k)


def _apply_pauli(letter: int, a: np.ndarray) -> np.ndarray:
    """``P`` on the physical leg of site ``a`` (letter 0 I, 1 X, 2 Z, 3 Y)."""
    if letter == 0:
        return a
    if letter == 1:
        return a[:, ::-1, :]
    if letter == 2:
        out = a.copy()
        out[:, 1, :] *= -1
        return out
    out = np.empty_like(a)  # Y|0> = i|1>, Y|1> = -i|0>
    out[:, 0, :] = -1j * a[:, 1, :]
    out[:, 1, :] = 1j * a[:, 0, :]
    return out


# --- the state -----------------------------------------------------------------------------------
class _MPS:
    """A chain of site tensors in mixed canonical form, with its truncation record.

    Site arrays are never written in place (they are made read-only), so a measurement branch
    copies only the list."""

    __slots__ = ("angle", "center", "discarded", "fidelity", "max_bond", "nbytes", "sites")

    def __init__(self, num_qubits: int, dtype):
        site = np.zeros((1, 2, 1), dtype=dtype)
        site[0, 0, 0] = 1
        site.flags.writeable = False
        self.sites = [site] * num_qubits
        self.center = 0
        self.nbytes = num_qubits * site.nbytes
        self.discarded = 0.0
        self.fidelity = 1.0
        self.angle = 0.0
        self.max_bond = 1

    def copy(self) -> _MPS:
        other = object.__new__(_MPS)
        for name in self.__slots__:
            setattr(other, name, getattr(self, name))
        other.sites = list(self.sites)
        return other

    def set(self, k: int, a: np.ndarray) -> None:
        if not a.flags.c_contiguous:
            a = np.ascontiguousarray(a)
        a.flags.writeable = False
        self.nbytes += a.nbytes - self.sites[k].nbytes
        self.sites[k] = a


@dataclass
class _Gate:
    """A gate of a schedulable run: ``matrix`` little-endian over ``qubits``."""

    qubits: tuple[int, ...]
    matrix: np.ndarray
    lo: int
    hi: int


@dataclass
class _Branch:
    pc: int
    mps: _MPS
    clbits: int
    shots: int
    pending: int = 0  # bytes counted in _Sim.pending_bytes while it waits on the stack


class _Sim:
    """One call's engine: options, memory budget and counters, applied to ``_MPS`` states."""

    def __init__(self, backend: MPSBackend, num_qubits: int, budget: int | None, blas: _BlasThreads):
        self.blas = blas
        self.n = num_qubits
        self.dtype = backend.dtype
        self.real = np.finfo(backend.dtype).dtype
        self.itemsize = np.dtype(backend.dtype).itemsize
        self.max_bond = backend.max_bond
        self.threshold = backend.truncation_threshold
        self.budget = budget
        self.pending_bytes = 0  # site tensors of measurement branches waiting on the stack
        self.svds = 0
        self.swaps = 0

    # --- memory ---------------------------------------------------------------------------------
    def suggest_max_bond(self) -> int:
        """The largest power of two ``chi`` whose MPS (``n`` sites at ``chi``) and SVD work space
        fit the budget."""
        per = self.itemsize * (2 * max(self.n, 1) + 16) + 8 * 20
        chi = math.isqrt(max(int(self.budget or 0) - self.pending_bytes, 0) // per)
        return 1 << max(chi.bit_length() - 1, 0) if chi >= 1 else 1

    def check_svd(self, mps: _MPS, rows: int, cols: int, t: int) -> None:
        if self.budget is None:
            return
        k = min(rows, cols)
        # the matrix and gesdd's copy of it, U, Vh, the real work arrays (about 5 k**2 + 7 k)
        work = self.itemsize * (2 * rows * cols + rows * k + k * cols) + 8 * (5 * k * k + 7 * k)
        needed = mps.nbytes + self.pending_bytes + work
        if needed > self.budget:
            raise MemoryLimitError(
                f"the {self.n}-qubit MPS needs bond dimension up to {k} between qubits {t} and "
                f"{t + 1} ({_memory.format_bytes(needed)} with the SVD work space), but only "
                f"{_memory.format_bytes(self.budget)} is available; pass "
                f"max_bond={self.suggest_max_bond()} (or lower) to truncate the state",
                num_qubits=self.n,
                bytes_needed=int(needed),
                bytes_available=int(self.budget),
            )

    # --- canonical form -------------------------------------------------------------------------
    def move_center(self, mps: _MPS, target: int) -> None:
        """Move the orthogonality centre to site ``target`` by QR decompositions."""
        c = mps.center
        s = mps.sites
        while c < target:
            a = s[c]
            lft, _, r = a.shape
            self.blas.use(min(lft * 2, r))
            q, rr = np.linalg.qr(a.reshape(lft * 2, r))
            chi = q.shape[1]
            mps.set(c, q.reshape(lft, 2, chi))
            b = s[c + 1]
            mps.set(c + 1, (rr @ b.reshape(r, -1)).reshape(chi, 2, -1))
            c += 1
        while c > target:
            a = s[c]
            lft, _, r = a.shape
            self.blas.use(min(lft, 2 * r))
            # LQ of the (l, 2r) matrix from the QR of its adjoint
            q, rr = np.linalg.qr(a.reshape(lft, 2 * r).conj().T)
            chi = q.shape[1]
            mps.set(c, q.conj().T.reshape(chi, 2, r))
            b = s[c - 1]
            mps.set(c - 1, (b.reshape(-1, lft) @ rr.conj().T).reshape(-1, 2, chi))
            c -= 1
        mps.center = c

    def truncated_svd(self, mps: _MPS, m: np.ndarray, t: int):
        """``u, s, vh`` of the centre block ``m`` (the cut between sites ``t`` and ``t + 1``),
        truncated and with ``s`` rescaled to unit norm; the record of ``mps`` updated."""
        self.check_svd(mps, m.shape[0], m.shape[1], t)
        self.blas.use(min(m.shape))
        u, s, vh = _svd(m)
        self.svds += 1
        w = s.astype(np.float64) ** 2
        total = float(w.sum())
        if not math.isfinite(total) or total <= 0.0:
            raise SimulationError(f"the state lost its norm during simulation (at qubits {t}, {t + 1})")
        tail = np.cumsum(w[::-1])[::-1]  # tail[i]: weight of singular values i, i+1, ...
        keep = max(int(np.count_nonzero(tail > self.threshold * total)), 1)
        if self.max_bond is not None and keep > self.max_bond:
            keep = self.max_bond
        if keep < s.size:
            dropped = min(float(tail[keep]) / total, 1.0)
            if dropped > 0.0:
                mps.discarded += dropped
                mps.fidelity *= 1.0 - dropped
                mps.angle += math.asin(math.sqrt(dropped))
            u, s, vh = u[:, :keep], s[:keep], vh[:keep]
            total = float(w[:keep].sum())
        s = s * (1.0 / math.sqrt(total))
        mps.max_bond = max(mps.max_bond, keep)
        return u, s, vh

    # --- gates ----------------------------------------------------------------------------------
    def apply_1q(self, mps: _MPS, q: int, matrix: np.ndarray) -> None:
        m = np.asarray(matrix, dtype=self.dtype)
        mps.set(q, np.matmul(m, mps.sites[q]))

    def apply_block(self, mps: _MPS, t: int, k: int, g: np.ndarray, to_right: bool) -> None:
        """Apply ``g`` (site order, ``2**k`` square) to sites ``t .. t+k-1``; the centre ends
        at the block's right end if ``to_right``, else its left end."""
        if mps.center < t:
            self.move_center(mps, t)
        elif mps.center > t + k - 1:
            self.move_center(mps, t + k - 1)
        s = mps.sites
        lft = s[t].shape[0]
        r = s[t + k - 1].shape[2]
        self.blas.use(2 * min(lft, r))
        theta = s[t].reshape(lft * 2, -1)
        for j in range(1, k):
            b = s[t + j]
            theta = (theta @ b.reshape(b.shape[0], -1)).reshape(-1, b.shape[2])
        theta = np.matmul(np.asarray(g, dtype=self.dtype), theta.reshape(lft, 1 << k, r))
        if to_right:
            left = lft
            for j in range(k - 1):
                u, sv, vh = self.truncated_svd(mps, theta.reshape(left * 2, -1), t + j)
                chi = sv.size
                mps.set(t + j, u.reshape(left, 2, chi))
                theta = sv[:, None] * vh
                left = chi
            mps.set(t + k - 1, theta.reshape(left, 2, r))
            mps.center = t + k - 1
        else:
            right = r
            for j in range(k - 1, 0, -1):
                u, sv, vh = self.truncated_svd(mps, theta.reshape(-1, 2 * right), t + j - 1)
                chi = sv.size
                mps.set(t + j, vh.reshape(chi, 2, right))
                theta = u * sv[None, :]
                right = chi
            mps.set(t, theta.reshape(lft, 2, right))
            mps.center = t

    def apply_gate(self, mps: _MPS, qubits, matrix, after: tuple[int, int] | None) -> None:
        """Apply ``matrix`` (little-endian over ``qubits``); ``after``: the sites ``(lo, hi)`` of
        the next gate, which the centre is left nearer to."""
        k = len(qubits)
        if k == 1:
            self.apply_1q(mps, qubits[0], matrix)
            return
        s = sorted(qubits)
        if s[-1] - s[0] == k - 1:
            swaps: list[int] = []
            t0 = s[0]
        else:
            swaps, t0 = _route(s)
        order = [qubits.index(q) for q in s]  # block site j holds s[j]
        g = _site_matrix(np.asarray(matrix), order)
        steps = [(t, t + 1, None) for t in swaps] + [(t0, t0 + k - 1, g)]
        steps += [(t, t + 1, None) for t in reversed(swaps)]
        for i, (a, b, m) in enumerate(steps):
            nxt = (steps[i + 1][0], steps[i + 1][1]) if i + 1 < len(steps) else after
            to_right = True if nxt is None else (nxt[0] + nxt[1]) >= (a + b)
            if m is None:
                self.swaps += 1
                self.apply_block(mps, a, 2, _SWAP, to_right)
            else:
                self.apply_block(mps, a, k, m, to_right)

    def run_gates(self, mps: _MPS, gates: list[_Gate]) -> None:
        """Apply a run of gates: as-soon-as-possible layers, nearest the centre first."""
        count = len(gates)
        layer = [0] * count
        waiting = [0] * count
        succ: list[list[int]] = [[] for _ in range(count)]
        last: dict[int, int] = {}
        for i, g in enumerate(gates):
            preds = {last[q] for q in g.qubits if q in last}
            waiting[i] = len(preds)
            layer[i] = 1 + max((layer[p] for p in preds), default=0)
            for p in preds:
                succ[p].append(i)
            for q in g.qubits:
                last[q] = i
        singles: list[int] = []
        by_layer: dict[int, list[tuple[int, int]]] = {}
        layers: list[int] = []

        def add(i):
            if len(gates[i].qubits) == 1:
                singles.append(i)
                return
            lst = by_layer.get(layer[i])
            if lst is None:
                lst = by_layer[layer[i]] = []
                heapq.heappush(layers, layer[i])
            bisect.insort(lst, (gates[i].lo, i))

        def finish(i):
            for j in succ[i]:
                waiting[j] -= 1
                if waiting[j] == 0:
                    add(j)

        def pick(a, b):
            """The ready gate of the lowest layer nearest the sites ``a .. b``."""
            while layers and not by_layer[layers[0]]:
                del by_layer[heapq.heappop(layers)]
            if not layers:
                return None
            lst = by_layer[layers[0]]
            j = bisect.bisect_left(lst, (a, -1))
            best = None
            for lo, i in lst[max(j - 2, 0): j + 2]:
                d = (max(0, lo - b, a - gates[i].hi), i)
                if best is None or d < best:
                    best = d
            return best[1]

        for i in range(count):
            if waiting[i] == 0:
                add(i)
        cur = None
        while True:
            while singles:
                i = singles.pop()
                self.apply_1q(mps, gates[i].qubits[0], gates[i].matrix)
                finish(i)
            if cur is None:
                cur = pick(mps.center, mps.center)
                if cur is None:
                    break
            g = gates[cur]
            by_layer[layer[cur]].remove((g.lo, cur))
            finish(cur)
            nxt = pick(g.lo, g.hi)
            after = None if nxt is None else (gates[nxt].lo, gates[nxt].hi)
            self.apply_gate(mps, g.qubits, g.matrix, after)
            cur = nxt

    # --- measurement ----------------------------------------------------------------------------
    def probability_one(self, mps: _MPS, q: int) -> float:
        self.move_center(mps, q)
        a = mps.sites[q]
        w = np.einsum("lbr,lbr->b", a.conj(), a).real
        total = float(w.sum())
        if not math.isfinite(total) or total <= 0:
            raise SimulationError("the state lost its norm during simulation")
        return min(max(float(w[1]) / total, 0.0), 1.0)

    def collapse(self, mps: _MPS, q: int, outcome: int, flip: bool) -> None:
        """Project qubit ``q`` (the centre) on ``outcome``, renormalise, and with ``flip`` apply
        X (a reset to |0>)."""
        self.move_center(mps, q)
        a = mps.sites[q]
        out = np.zeros_like(a)
        part = a[:, outcome, :]
        norm = float(np.linalg.norm(part))
        if norm == 0.0:
            raise SimulationError(f"measurement outcome {outcome} of qubit {q} has probability 0")
        out[:, 1 - outcome if flip else outcome, :] = part * (1.0 / norm)
        mps.set(q, out)

    # --- sampling -------------------------------------------------------------------------------
    def sample_bits(self, mps: _MPS, qubits: list[int], shots: int, rng) -> tuple[np.ndarray, np.ndarray]:
        """``(bits, multiplicity)``: distinct outcomes of ``qubits`` (sorted; ``bits[g, j]`` is
        the value of ``qubits[j]`` in group ``g``) and their shot counts, drawn from the state's
        Born distribution by one left-to-right sweep (module docstring)."""
        self.move_center(mps, 0)
        last = qubits[-1]
        column = {q: j for j, q in enumerate(qubits)}
        chi = max([a.shape[2] for a in mps.sites[:last + 1]] + [1])
        chunk = max(1, min(shots, _SAMPLE_CHUNK_BYTES // (4 * chi * self.itemsize)))
        all_bits, all_mult = [], []
        done = 0
        while done < shots:
            size = min(chunk, shots - done)
            left = np.ones((1, 1), dtype=self.dtype)
            mult = np.array([size], dtype=np.int64)
            bits = np.zeros((1, len(qubits)), dtype=np.uint8)
            for k in range(last + 1):
                a = mps.sites[k]
                lft, _, r = a.shape
                self.blas.use(min(left.shape[0], lft, r))
                v = (left @ a.reshape(lft, 2 * r)).reshape(-1, 2, r)
                w = np.einsum("gbr,gbr->gb", v.conj(), v).real.astype(np.float64)
                tot = w.sum(axis=1)
                if not np.all(tot > 0):
                    raise SimulationError("the state lost its norm during sampling")
                p1 = np.clip(w[:, 1] / tot, 0.0, 1.0)
                ones = rng.binomial(mult, p1)
                zeros = mult - ones
                g0 = np.flatnonzero(zeros)
                g1 = np.flatnonzero(ones)
                parent = np.concatenate([g0, g1])
                b = np.concatenate([np.zeros(g0.size, np.intp), np.ones(g1.size, np.intp)])
                mult = np.concatenate([zeros[g0], ones[g1]])
                norms = np.sqrt(w[parent, b]).astype(self.real)
                left = v[parent, b, :] / norms[:, None]
                bits = bits[parent]
                if k in column:
                    bits[:, column[k]] = b
            all_bits.append(bits)
            all_mult.append(mult)
            done += size
        return np.concatenate(all_bits), np.concatenate(all_mult)

    def pauli_values(self, mps: _MPS, x_masks: list[int], z_masks: list[int], skip=None) -> np.ndarray:
        """``<P_t>`` for every term by transfer matrices over its support (``MPSBackend
        .expectation_values``); terms where ``skip[t]`` is true are left 0."""
        terms = []
        for t, (x, z) in enumerate(zip(x_masks, z_masks)):
            if skip is not None and skip[t]:
                continue
            support = x | z
            lo = (support & -support).bit_length() - 1 if support else -1
            terms.append((lo, t, x, z))
        terms.sort()
        values = np.zeros(len(x_masks), dtype=np.complex128)
        for lo, t, x, z in terms:
            if lo < 0:  # the identity: the state is normalised
                values[t] = 1.0
                continue
            hi = (x | z).bit_length() - 1
            self.move_center(mps, lo)
            env = None
            for k in range(lo, hi + 1):
                a = mps.sites[k]
                lft, _, r = a.shape
                self.blas.use(min(lft, r))
                pa = _apply_pauli(((x >> k) & 1) | (((z >> k) & 1) << 1), a)
                if env is None:
                    right = pa.reshape(lft * 2, r)
                else:
                    right = (env @ pa.reshape(lft, 2 * r)).reshape(lft * 2, r)
                env = a.reshape(lft * 2, r).conj().T @ right
            values[t] = complex(np.trace(env))
        return values


def _route(s: list[int]) -> tuple[list[int], int]:
    """Adjacent swaps (site ``t`` swaps sites ``t`` and ``t + 1``) that bring the sorted sites
    ``s`` next to each other around their median, and the block's first site."""
    k = len(s)
    m = k // 2
    anchor = s[m]
    pos = list(s)
    swaps: list[int] = []
    for j in range(m - 1, -1, -1):
        target = anchor - (m - j)
        swaps.extend(range(pos[j], target))
        pos[j] = target
    for j in range(m + 1, k):
        target = anchor + (j - m)
        swaps.extend(range(pos[j] - 1, target - 1, -1))
        pos[j] = target
    return swaps, anchor - m


# --- the backend ---------------------------------------------------------------------------------
class MPSBackend:
    """Matrix-product-state simulation of ideal circuits (see the module docstring).

    Args:
        max_bond: the largest bond dimension kept (a positive integer), or ``None`` (default:
            no cap; only ``truncation_threshold`` truncates).
        truncation_threshold: per SVD, the largest relative squared weight of the smallest
            singular values that may be discarded, in ``[0, 1)`` (default ``1e-16``).
        precision: ``"double"`` (complex128, default) or ``"single"`` (complex64).
        num_threads: the most threads numpy's OpenBLAS may use for a matrix of ``512`` or more
            rows and columns (smaller ones run on one thread); default: ``KIZUNA_NUM_THREADS``,
            else the library's own setting (all cores). Set through the library's
            ``openblas_set_num_threads`` on Linux, elsewhere only recorded. On a loaded machine
            fewer threads can be much faster (OpenBLAS threads spin while they wait). The same
            seed and ``num_threads`` give the same counts bit for bit; another thread count
            can change rounding, and so, rarely, a draw.

    Raises:
        BackendError: a bad value for an option, or an unknown option (named).

    Cost: ``O(n chi**2)`` memory, ``O(chi**3)`` per two-qubit gate and ``O(n shots chi**2)``
    to sample, for bond dimension ``chi``. Measured (``benchmarks/bench_scale.py --part mps``,
    a shared 2-core machine under load, one BLAS thread, 1000 shots): a 100-qubit GHZ state in
    0.05 s (Qiskit Aer's MPS: 0.46 s); a 50-qubit depth-10 brickwork of random SU(4) gates
    (bond dimension 873) in 55 s, 41 s of it the gates (Aer: about 400 s, 157 s + 0.24 s a
    shot; extrapolated from 10 and 100 shots); 24 s in single precision.

    Example:
        >>> import numpy as np
        >>> from kizuna import Circuit
        >>> from kizuna.computing.circuit import flatten
        >>> ghz = Circuit(50, 50).h(0)
        >>> for q in range(49):
        ...     _ = ghz.cx(q, q + 1)
        >>> _ = ghz.measure(list(range(50)), list(range(50)))
        >>> counts, meta = MPSBackend().sample(flatten(ghz), 50, 1000, np.random.default_rng(7))
        >>> sorted(counts) == [0, 2**50 - 1], meta["max_bond_reached"], meta["truncated"]
        (True, 2, False)
    """

    name = "mps"

    def __init__(
        self,
        max_bond: int | None = None,
        truncation_threshold: float = DEFAULT_TRUNCATION_THRESHOLD,
        precision: str = "double",
        num_threads: int | None = None,
        **unknown,
    ):
        if unknown:
            raise BackendError(
                f"unknown option(s) for backend 'mps': {', '.join(sorted(unknown))}; it takes "
                "max_bond, truncation_threshold, precision and num_threads"
            )
        if max_bond is not None and (
            isinstance(max_bond, bool) or not isinstance(max_bond, numbers.Integral) or max_bond < 1
        ):
            raise BackendError(f"max_bond must be a positive integer or None (got {max_bond!r})")
        if (
            isinstance(truncation_threshold, bool)
            or not isinstance(truncation_threshold, numbers.Real)
            or not 0 <= truncation_threshold < 1
        ):
            raise BackendError(
                f"truncation_threshold must be a real number in [0, 1) (got {truncation_threshold!r})"
            )
        if precision not in _PRECISIONS:
            raise BackendError(f"precision must be 'double' or 'single' (got {precision!r})")
        self.max_bond = None if max_bond is None else int(max_bond)
        self.truncation_threshold = float(truncation_threshold)
        self.precision = precision
        self.dtype = _PRECISIONS[precision]
        self.num_threads = resolve_threads(num_threads)

    @property
    def options(self) -> dict:
        """The options that shape results, for provenance."""
        return {
            "max_bond": self.max_bond,
            "truncation_threshold": self.truncation_threshold,
            "precision": self.precision,
            "num_threads": self.num_threads,
        }

    # --- helpers ----------------------------------------------------------------------------------
    @staticmethod
    def _check_num_qubits(num_qubits) -> int:
        if isinstance(num_qubits, bool) or not isinstance(num_qubits, numbers.Integral) or num_qubits < 0:
            raise SimulationError(f"num_qubits must be a non-negative integer (got {num_qubits!r})")
        return int(num_qubits)

    @staticmethod
    def _check_program(flat: list, num_qubits: int) -> None:
        for i, ins in enumerate(flat):
            if not isinstance(ins, Instruction):
                raise SimulationError(
                    f"item {i} ({type(ins).__name__}) is not a flattened instruction; the mps "
                    "backend simulates ideal circuits only (use backend='density_matrix' or "
                    "'trajectories' for noise)"
                )
            if ins.name not in GATES and ins.name not in ("unitary", "measure", "reset"):
                raise SimulationError(
                    f"instruction {i} ({ins.name!r}) is not a primitive instruction; pass "
                    "flatten(circuit)"
                )
            bad = [q for q in ins.qubits if not 0 <= q < num_qubits]
            if bad:
                raise SimulationError(
                    f"instruction {i} ({ins.label()}) acts on qubit {bad[0]}, outside a register "
                    f"of {num_qubits} qubit(s)"
                )

    def _compile(self, body: list[Instruction]) -> list:
        """``body`` as runs of schedulable gates (``list[_Gate]``, one-qubit gates multiplied
        into the next multi-qubit gate on their qubit) and single instructions (measure, reset,
        conditioned gates)."""
        ops: list = []
        run: list[_Gate] = []
        pending: dict[int, np.ndarray] = {}

        def close():
            for q in sorted(pending):
                run.append(_Gate((q,), pending[q], q, q))
            pending.clear()
            if run:
                ops.append(list(run))
                run.clear()

        for ins in body:
            if ins.name in ("measure", "reset") or ins.condition is not None:
                close()
                ops.append(ins)
                continue
            if ins.name in ("id", "u0"):
                continue
            m = np.asarray(ins.to_matrix(), dtype=np.complex128)
            qs = tuple(ins.qubits)
            if len(qs) == 1:
                p = pending.get(qs[0])
                pending[qs[0]] = m if p is None else m @ p
                continue
            if any(q in pending for q in qs):
                before = np.ones((1, 1), dtype=np.complex128)
                for q in reversed(qs):  # qubits[0] is the least significant factor
                    p = pending.pop(q, _I2)
                    before = (before[:, None, :, None] * p[None, :, None, :]).reshape(
                        before.shape[0] * 2, before.shape[1] * 2)  # np.kron, without its overhead
                m = m @ before
            run.append(_Gate(qs, m, min(qs), max(qs)))
        close()
        return ops

    def _final_mps(self, flat, num_qubits: int, blas: _BlasThreads) -> tuple[_MPS, _Sim]:
        n = self._check_num_qubits(num_qubits)
        flat = list(flat)
        self._check_program(flat, n)
        body = StatevectorBackend._unitary_body(flat)
        sim = _Sim(self, n, _memory.available_memory_bytes(), blas)
        mps = _MPS(n, self.dtype)
        for op in self._compile(body):
            sim.run_gates(mps, op)
        return mps, sim

    def _metadata(self, sim: _Sim, states: list[_MPS], **extra) -> dict:
        worst = min(states, key=lambda s: (s.fidelity, -s.discarded)) if states else _MPS(0, self.dtype)
        discarded = max((s.discarded for s in states), default=0.0)
        angle = max((s.angle for s in states), default=0.0)
        meta = dict(extra)
        meta.update(
            max_bond_reached=int(max((s.max_bond for s in states), default=1)),
            truncation_error=float(discarded),
            fidelity_estimate=float(worst.fidelity),
            fidelity_lower_bound=float(math.cos(min(angle, math.pi / 2)) ** 2),
            truncated=bool(discarded > _ROUNDING_WEIGHT[self.precision]),
            swaps=int(sim.swaps),
            svds=int(sim.svds),
        )
        meta.update(self.options)
        return meta

    # --- public ---------------------------------------------------------------------------------
    def sample(
        self,
        flat: list[Instruction],
        num_qubits: int,
        shots: int,
        rng: np.random.Generator,
    ) -> tuple[dict[int, int], dict]:
        """Counts of classical-register values (clbit ``k`` is bit ``k`` of the key).

        Returns:
            ``(counts, metadata)``; metadata holds ``branches`` (measurement histories
            simulated), ``deferred_measurements``, the truncation record (``max_bond_reached``,
            ``truncation_error``, ``fidelity_estimate``, ``fidelity_lower_bound``,
            ``truncated``; of the worst branch), ``swaps``, ``svds`` and the options.

        Raises:
            SimulationError: bad shots or rng, noise channels in ``flat``, qubits out of range.
            MemoryLimitError: the MPS would outgrow the memory guard (pass ``max_bond``).
        """
        n = self._check_num_qubits(num_qubits)
        if isinstance(shots, bool) or not isinstance(shots, numbers.Integral) or shots < 1:
            raise SimulationError(f"shots must be a positive integer (got {shots!r})")
        if not isinstance(rng, np.random.Generator):
            raise SimulationError(f"rng must be a numpy Generator (got {type(rng).__name__})")
        with _BlasThreads(self.num_threads) as blas:
            return self._sample(list(flat), n, int(shots), rng, blas)

    def _sample(self, flat: list, n: int, shots: int, rng, blas) -> tuple[dict[int, int], dict]:
        self._check_program(flat, n)
        deferred = deferred_measurements(flat)
        tail = [flat[i] for i in sorted(deferred)]
        ops = self._compile([ins for i, ins in enumerate(flat) if i not in deferred])
        sim = _Sim(self, n, _memory.available_memory_bytes(), blas)
        counts: dict[int, int] = {}
        stack = [_Branch(0, _MPS(n, self.dtype), 0, shots)]
        finished: list[_MPS] = []
        while stack:
            br = stack.pop()
            sim.pending_bytes -= br.pending
            mps, clbits, k, pc = br.mps, br.clbits, br.shots, br.pc
            while pc < len(ops):
                op = ops[pc]
                pc += 1
                if isinstance(op, list):
                    sim.run_gates(mps, op)
                    continue
                if not _condition_holds(op, clbits):
                    continue
                if op.name not in ("measure", "reset"):
                    sim.apply_gate(mps, op.qubits, op.to_matrix(), None)
                    continue
                q = op.qubits[0]
                p1 = sim.probability_one(mps, q)
                k1 = int(rng.binomial(k, p1))
                reset = op.name == "reset"
                if 0 < k1 < k:  # split: the outcome-1 branch waits on the stack
                    other = mps.copy()
                    sim.collapse(other, q, 1, flip=reset)
                    other_bits = clbits if reset else _set_bit(clbits, op.clbits[0], 1)
                    stack.append(_Branch(pc, other, other_bits, k1, other.nbytes))
                    sim.pending_bytes += other.nbytes
                    outcome, k = 0, k - k1
                else:
                    outcome = 1 if k1 else 0
                sim.collapse(mps, q, outcome, flip=reset and outcome == 1)
                if not reset:
                    clbits = _set_bit(clbits, op.clbits[0], outcome)
            finished.append(mps)
            self._sample_tail(sim, mps, tail, clbits, k, rng, counts)
        meta = self._metadata(sim, finished, branches=len(finished), deferred_measurements=len(tail))
        return counts, meta

    @staticmethod
    def _sample_tail(sim: _Sim, mps: _MPS, tail, clbits: int, shots: int, rng, counts) -> None:
        if not tail:
            counts[clbits] = counts.get(clbits, 0) + shots
            return
        qubits = sorted({ins.qubits[0] for ins in tail})
        column = {q: j for j, q in enumerate(qubits)}
        bits, mult = sim.sample_bits(mps, qubits, shots, rng)
        width = max(max(ins.clbits[0] for ins in tail) + 1, clbits.bit_length(), 1)
        keys = np.zeros((bits.shape[0], width), dtype=np.uint8)
        keys[:] = [(clbits >> b) & 1 for b in range(width)]
        for ins in tail:  # in program order: a later measurement into the same bit wins
            keys[:, ins.clbits[0]] = bits[:, column[ins.qubits[0]]]
        packed = np.packbits(keys, axis=1, bitorder="little")
        for row, m in zip(packed, mult.tolist()):
            key = int.from_bytes(row.tobytes(), "little")
            counts[key] = counts.get(key, 0) + m

    def final_state(self, flat: list[Instruction], num_qubits: int, *, return_metadata: bool = False):
        """The dense state before the deferred (terminal) measurements, contracted from the MPS.

        Amplitude ``i`` belongs to the basis state whose bit ``k`` is qubit ``k`` (as
        ``kizuna.statevector``). Meant for tests and small registers: the contraction needs
        ``2 * 16 * 2**n`` bytes, checked before allocating.

        Args:
            return_metadata: also return the truncation record (as ``sample``'s metadata).

        Returns:
            The complex vector (``dtype`` of the precision), or ``(vector, metadata)``.

        Raises:
            SimulationError: a mid-circuit measurement, reset or condition.
            MemoryLimitError: the dense vector (or the MPS) does not fit.
        """
        n = self._check_num_qubits(num_qubits)
        itemsize = np.dtype(self.dtype).itemsize
        if n > 64:  # beyond any memory (and beyond the guard's float formatting)
            raise MemoryLimitError(
                f"a dense {n}-qubit state vector needs 2^{n + itemsize.bit_length() - 1} bytes; "
                "use sample() or expectation(), which work on the MPS itself",
                num_qubits=n, bytes_needed=itemsize << n,
                bytes_available=int(_memory.available_memory_bytes() or 0))
        _memory.check_state_memory(n, copies=2, bytes_per_amplitude=itemsize,
                                   what="state vector (contracted from the MPS)")
        with _BlasThreads(self.num_threads) as blas:
            mps, sim = self._final_mps(flat, n, blas)
        psi = np.ones((1, 1), dtype=self.dtype)
        for a in mps.sites:
            psi = (psi @ a.reshape(a.shape[0], -1)).reshape(-1, a.shape[2])
        # C order puts qubit 0 first (most significant); reverse to little-endian
        psi = psi.reshape((2,) * n).transpose(tuple(range(n - 1, -1, -1))).reshape(-1) if n else psi.reshape(-1)
        psi = np.ascontiguousarray(psi)
        if return_metadata:
            return psi, self._metadata(sim, [mps])
        return psi

    @staticmethod
    def _masks(x_masks, z_masks, num_qubits: int) -> tuple[list[int], list[int]]:
        x_masks = [int(x) for x in x_masks]
        z_masks = [int(z) for z in z_masks]
        if len(x_masks) != len(z_masks):
            raise SimulationError(
                f"x_masks and z_masks must have one entry per term (got lengths {len(x_masks)}, "
                f"{len(z_masks)})"
            )
        for x, z in zip(x_masks, z_masks):
            if x < 0 or z < 0 or (x | z) >> num_qubits:
                raise SimulationError(
                    f"Pauli masks x={x:#x}, z={z:#x} reach outside a register of {num_qubits} qubit(s)"
                )
        return x_masks, z_masks

    def expectation_values(self, flat: list[Instruction], num_qubits: int, x_masks, z_masks, *,
                           return_metadata: bool = False):
        """``<P_t>`` of each Pauli string on the final MPS of ``flat`` (one simulation for all).

        ``P_t = i**popcount(x & z) X**x Z**z`` is the Hermitian string of ``kizuna.core.paulis``
        (bit ``q`` of ``x_masks[t]`` is X or Y on qubit ``q``, of ``z_masks[t]`` Z or Y), so
        each value is real. Terminal measurements are ignored, as ``statevector`` does.

        Cost: the simulation, then per term a move of the orthogonality centre to the term's
        lowest qubit (terms are taken in that order) and a transfer matrix over its support,
        ``O(chi**3)`` per site; no dense vector.

        Args:
            flat: ``flatten(circuit)``: gates and terminal measurements.
            num_qubits: the register width.
            x_masks, z_masks: one integer per term (Python ints of any width or an array).
            return_metadata: also return the truncation record (as ``sample``'s metadata).

        Returns:
            A float64 array of one value per term, or ``(values, metadata)``.

        Raises:
            SimulationError: a mid-circuit measurement, reset or condition, masks outside the
                register, or lengths that differ.

        Example:
            >>> from kizuna import Circuit
            >>> from kizuna.computing.circuit import flatten
            >>> ghz = flatten(Circuit(3).h(0).cx(0, 1).cx(1, 2))
            >>> MPSBackend().expectation_values(ghz, 3, [0b111, 0, 0b001], [0, 0b101, 0]).round(12)
            array([1., 1., 0.])
        """
        n = self._check_num_qubits(num_qubits)
        x_masks, z_masks = self._masks(x_masks, z_masks, n)
        with _BlasThreads(self.num_threads) as blas:
            mps, sim = self._final_mps(flat, n, blas)
            values = sim.pauli_values(mps, x_masks, z_masks).real.copy()
        if return_metadata:
            return values, self._metadata(sim, [mps])
        return values

    def expectation(self, flat: list[Instruction], num_qubits: int, x_masks, z_masks, coeffs, *,
                    return_metadata: bool = False):
        """``sum_t coeffs[t] <P_t>`` on the final MPS of ``flat``, without a dense vector.

        The terms as in ``expectation_values`` (which gives them one by one); terms with a zero
        coefficient are skipped.

        Args:
            flat: ``flatten(circuit)``: gates and terminal measurements.
            num_qubits: the register width.
            x_masks, z_masks: one integer per term (Python ints of any width or an array).
            coeffs: one (real or complex) coefficient per term.
            return_metadata: also return the truncation record (as ``sample``'s metadata).

        Returns:
            The real value of the sum, or ``(value, metadata)``.

        Raises:
            SimulationError: a mid-circuit measurement, reset or condition, masks outside the
                register, lengths that differ, or a non-real sum (a non-Hermitian observable).

        Example:
            >>> from kizuna import Circuit
            >>> from kizuna.computing.circuit import flatten
            >>> bell = flatten(Circuit(2).h(0).cx(0, 1))
            >>> round(MPSBackend().expectation(bell, 2, [0b11, 0b00, 0b01], [0b00, 0b11, 0b00],
            ...                                [1.0, 0.5, 2.0]), 12)    # XX, ZZ, IX
            1.5
        """
        n = self._check_num_qubits(num_qubits)
        coeffs = np.asarray(coeffs, dtype=np.complex128).ravel()
        x_masks, z_masks = self._masks(x_masks, z_masks, n)
        if coeffs.size != len(x_masks):
            raise SimulationError(
                f"x_masks, z_masks and coeffs must have one entry per term (got lengths "
                f"{len(x_masks)}, {len(z_masks)}, {coeffs.size})"
            )
        with _BlasThreads(self.num_threads) as blas:
            mps, sim = self._final_mps(flat, n, blas)
            values = sim.pauli_values(mps, x_masks, z_masks, skip=coeffs == 0)
        total = complex(coeffs @ values)
        scale = max(1.0, float(np.abs(coeffs).sum()))
        tol = (1e-10 if self.precision == "double" else 1e-4) * scale
        if abs(total.imag) > tol:
            raise SimulationError(
                f"the observable's expectation value is not real ({total:.6g}); give Hermitian "
                "terms (real coefficients on Hermitian Pauli strings)"
            )
        if return_metadata:
            return float(total.real), self._metadata(sim, [mps])
        return float(total.real)
