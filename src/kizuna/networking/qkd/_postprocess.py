"""Classical post-processing of QKD keys: Cascade error correction, universal hashing
(verification and privacy amplification by Toeplitz matrices, through the FFT), confidence
intervals and finite-key lengths.

Keys are 1-D ``uint8`` arrays of 0/1. Toeplitz hashing: the ``m x n`` matrix
``T[i, j] = s[i - j + n - 1]`` of a seed ``s`` of ``n + m - 1`` bits maps ``x`` to
``T x mod 2``, computed as one real convolution (``scipy.fft``), ``O((n + m) log(n + m))``.

This module imports numpy and scipy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...errors import QKDError

__all__ = [
    "CascadeResult",
    "cascade",
    "finite_key_length_bb84_decoy",
    "finite_key_length_single_photon",
    "hoeffding_delta",
    "phase_error_deviation",
    "toeplitz_hash",
]


def _bits(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1:
        raise QKDError(f"{name} must be a 1-D array of bits (got shape {a.shape})")
    a = a.astype(np.uint8, copy=False)
    if a.size and a.max() > 1:
        raise QKDError(f"{name} must hold only 0 and 1 (got a {int(a.max())})")
    return a


def toeplitz_hash(key, seed_bits, output_length: int) -> np.ndarray:
    """``T x mod 2`` for the ``output_length x len(key)`` Toeplitz matrix of ``seed_bits``
    (``len(key) + output_length - 1`` bits, ``T[i, j] = seed_bits[i - j + n - 1]``).

    Toeplitz matrices form a two-universal family (Krawczyk, CRYPTO '94): the hash of two
    different keys collides with probability ``2**-output_length`` over the seed, which makes
    it both the verification tag and the privacy-amplification extractor.

    The product is one convolution in float64 through ``scipy.fft`` (exact: every sum is an
    integer below ``2**53``), ``O((n + m) log(n + m))``.

    Example:
        >>> toeplitz_hash([1, 0, 1], [1, 1, 0, 1], 2).tolist()
        [1, 0]
    """
    import scipy.fft

    x = _bits(key, "key")
    s = _bits(seed_bits, "seed_bits")
    n, m = x.size, int(output_length)
    if m < 0:
        raise QKDError(f"output_length must be >= 0 (got {output_length})")
    if s.size != n + m - 1 and not (m == 0 or n == 0):
        raise QKDError(f"seed_bits must hold len(key) + output_length - 1 = {n + m - 1} bits (got {s.size})")
    if m == 0 or n == 0:
        return np.zeros(m, dtype=np.uint8)
    # a circular convolution of length >= len(s) gives entries n-1 .. n+m-2 without wrap-around
    size = scipy.fft.next_fast_len(s.size, real=True)
    conv = scipy.fft.irfft(scipy.fft.rfft(s.astype(np.float64), size) * scipy.fft.rfft(x.astype(np.float64), size),
                           size)
    # y_i = sum_j s[i - j + n - 1] x_j = (s * x)[i + n - 1]
    y = np.rint(conv[n - 1:n - 1 + m]).astype(np.int64)
    return (y & 1).astype(np.uint8)


@dataclass(frozen=True)
class CascadeResult:
    """What Cascade did to Bob's key.

    Attributes:
        corrected: Bob's key after correction (``uint8`` 0/1).
        leaked_bits: parities disclosed (block parities and binary-search steps).
        errors_corrected: bits flipped.
        efficiency: ``leaked_bits / (n h(Q))`` with ``Q = errors_corrected / n`` (``nan`` at Q = 0).
        passes: passes run.
    """

    corrected: np.ndarray
    leaked_bits: int
    errors_corrected: int
    efficiency: float
    passes: int


def cascade(alice, bob, qber: float, *, passes: int = 4, seed=None) -> CascadeResult:
    """Correct Bob's key towards Alice's with Cascade (Brassard & Salvail, EUROCRYPT '93).

    Pass 1 splits the key into blocks of ``k1 = ceil(0.73 / qber)`` bits, pass ``i`` uses a
    public random permutation and blocks of ``k1 * 2**(i-1)``. Blocks whose parities differ are
    bisected (one disclosed parity per step) to a single error, which is flipped; the flip
    changes the parity of the blocks holding that bit in every other pass, and those are
    bisected in turn (the cascade) until every block of every pass run so far agrees. All the
    odd blocks of one pass are bisected together, vectorised: parities come from prefix sums
    of Alice's and Bob's permuted keys, the exchange the protocol runs.

    Args:
        alice, bob: the two keys, equal lengths. qber: the estimated error rate (sets ``k1``).
        passes: number of passes (4 is the usual choice). seed: the permutations' seed
            (public randomness: ``int``, ``Generator`` or ``None``).

    Returns:
        A ``CascadeResult``. Residual errors (an even number in every block) can remain, with a
        probability that falls with ``passes``: verification by hashing catches them.

    Example:
        >>> rng = np.random.default_rng(1)
        >>> a = rng.integers(0, 2, 10_000, dtype=np.uint8)
        >>> b = a ^ (rng.random(10_000) < 0.02).astype(np.uint8)
        >>> r = cascade(a, b, 0.02, seed=2)
        >>> bool((r.corrected == a).all()), 1.0 < r.efficiency < 1.3
        (True, True)
    """
    a = _bits(alice, "alice")
    b = _bits(bob, "bob").copy()
    if a.size != b.size:
        raise QKDError(f"alice and bob keys must have equal lengths (got {a.size} and {b.size})")
    q = float(qber)
    if not 0 <= q < 0.5:
        raise QKDError(f"qber must be in [0, 0.5) (got {qber!r})")
    if int(passes) < 1:
        raise QKDError(f"passes must be >= 1 (got {passes!r})")
    rng = np.random.default_rng(seed)
    n = a.size
    initial_errors = int(np.count_nonzero(a != b))
    if n == 0:
        return CascadeResult(b, 0, 0, math.nan, 0)
    k1 = max(2, math.ceil(0.73 / q)) if q > 0 else n
    perms, invs, sizes, odd = [], [], [], []
    leaked = 0
    flipped_total = 0

    def block_parity_diff(p: int) -> np.ndarray:
        e = (a ^ b)[perms[p]]
        starts = np.arange(0, n, sizes[p])
        return (np.add.reduceat(e, starts) & 1).astype(bool)

    def bisect(p: int, blocks: np.ndarray) -> np.ndarray:
        """Positions (in the key) of the error found in each of ``blocks`` of pass ``p``.

        Only the bits of those blocks are gathered (a ``len(blocks) x k`` table, padded past
        the key's end), so a late round of the cascade costs its blocks, not the key."""
        nonlocal leaked
        k = sizes[p]
        cols = np.arange(k)
        where = blocks[:, None] * k + cols[None, :]
        inside = where < n
        pos_table = perms[p][np.minimum(where, n - 1)]
        e = np.where(inside, a[pos_table] ^ b[pos_table], 0).astype(np.int32)
        cs = np.zeros((blocks.size, k + 1), dtype=np.int32)
        np.cumsum(e, axis=1, out=cs[:, 1:])
        rows = np.arange(blocks.size)
        lo = np.zeros(blocks.size, dtype=np.int64)
        hi = np.minimum(k, n - blocks * k)
        while True:
            active = hi - lo > 1
            if not active.any():
                break
            mid = (lo + hi) // 2
            # one parity of the left half disclosed per active block
            leaked += int(np.count_nonzero(active))
            left_odd = ((cs[rows, mid] - cs[rows, lo]) & 1).astype(bool)
            go_left = active & left_odd
            go_right = active & ~left_odd
            hi = np.where(go_left, mid, hi)
            lo = np.where(go_right, mid, lo)
        return pos_table[rows, lo]

    for p in range(int(passes)):
        size = min(n, k1 << p)
        perm = np.arange(n) if p == 0 else rng.permutation(n)
        inv = np.empty(n, dtype=np.int64)
        inv[perm] = np.arange(n)
        perms.append(perm)
        invs.append(inv)
        sizes.append(size)
        odd.append(block_parity_diff(p))
        leaked += int(odd[p].size)
        # correct: bisect the odd blocks of the pass with the smallest blocks first
        while True:
            pending = [i for i in range(p + 1) if odd[i].any()]
            if not pending:
                break
            i = pending[0]
            blocks = np.flatnonzero(odd[i])
            pos = bisect(i, blocks)
            b[pos] ^= 1
            flipped_total += pos.size
            odd[i][blocks] = False
            for j in range(p + 1):
                if j == i:
                    continue
                toggles = np.bincount(invs[j][pos] // sizes[j], minlength=odd[j].size) & 1
                odd[j] ^= toggles.astype(bool)
    q_true = initial_errors / n
    h = -q_true * math.log2(q_true) - (1 - q_true) * math.log2(1 - q_true) if 0 < q_true < 1 else 0.0
    eff = leaked / (n * h) if h > 0 else math.nan
    return CascadeResult(b, int(leaked), int(flipped_total), eff, int(passes))


def hoeffding_delta(n: float, epsilon: float) -> float:
    """``sqrt(n ln(1/epsilon) / 2)``: a count of ``n`` trials lies within this of its
    expectation except with probability ``epsilon`` (Hoeffding), as in Lim et al. 2014."""
    return math.sqrt(max(n, 0.0) / 2.0 * math.log(1.0 / epsilon))


def phase_error_deviation(epsilon: float, rate: float, n_sample: float, n_key: float) -> float:
    """``gamma(eps, lambda, n_Z, n_X)`` of Lim, Curty, Walenta, Xu & Zbinden, PRA 89, 022307
    (2014), eq. (B3): how far the error rate of ``n_key`` bits can lie above the rate ``lambda``
    seen on ``n_sample`` bits of the other basis, except with probability ``epsilon``."""
    c, d, b = float(n_sample), float(n_key), min(max(float(rate), 1e-12), 0.5)
    if c <= 0 or d <= 0:
        return math.inf
    arg = (c + d) / (c * d * (1 - b) * b) * (21.0 / epsilon) ** 2
    return math.sqrt((c + d) * (1 - b) * b / (c * d * math.log(2)) * math.log2(max(arg, 1.0)))


def _h(x: float) -> float:
    return 0.0 if x <= 0 or x >= 1 else -x * math.log2(x) - (1 - x) * math.log2(1 - x)


def finite_key_length_bb84_decoy(intensities, probabilities, n_x, n_z, m_z, *, leaked_ec_bits: int,
                                 epsilon_sec: float = 1e-9, epsilon_cor: float = 1e-15) -> dict:
    """The secret key length of decoy-state BB84 with three intensities, Lim et al., PRA 89,
    022307 (2014), eqs. (1)-(5) (``h`` the binary entropy):

    ``l = s_X0 + s_X1 (1 - h(phi_X)) - leak_EC - 6 log2(21/eps_sec) - log2(2/eps_cor)``.

    Args:
        intensities: ``(mu1, mu2, mu3)`` with ``mu1 > mu2 + mu3`` and ``mu2 > mu3 >= 0``.
        probabilities: the probability Alice sends each intensity.
        n_x, n_z: detections in the X (key) and Z (test) bases per intensity (both parties in
            that basis). m_z: bit errors in the Z basis per intensity.
        leaked_ec_bits: bits error correction disclosed.

    Returns:
        ``{"length", "s_x0", "s_x1", "v_z1", "s_z1", "phase_error_x"}`` with ``length`` the
        floor of ``l`` (negative: no key).
    """
    mu = [float(x) for x in intensities]
    p = [float(x) for x in probabilities]
    if len(mu) != 3 or not (mu[0] > mu[1] + mu[2] and mu[1] > mu[2] >= 0):
        raise QKDError(f"intensities must satisfy mu1 > mu2 + mu3, mu2 > mu3 >= 0 (got {tuple(mu)})")
    eps1 = epsilon_sec / 21.0

    def tau(k: int) -> float:
        return sum(pj * math.exp(-m) * m ** k / math.factorial(k) for m, pj in zip(mu, p, strict=True))

    def bounds(counts):
        total = float(sum(counts))
        d = hoeffding_delta(total, eps1)
        lo = [math.exp(m) / pj * (c - d) for m, pj, c in zip(mu, p, counts, strict=True)]
        hi = [math.exp(m) / pj * (c + d) for m, pj, c in zip(mu, p, counts, strict=True)]
        return lo, hi

    def s0_s1(counts):
        lo, hi = bounds(counts)
        m1, m2, m3 = mu
        s0 = max(0.0, tau(0) * (m2 * lo[2] - m3 * hi[1]) / (m2 - m3))
        s1 = tau(1) * m1 * (lo[1] - hi[2] - (m2 ** 2 - m3 ** 2) / m1 ** 2 * (hi[0] - s0 / tau(0))) / (
            m1 * (m2 - m3) - m2 ** 2 + m3 ** 2)
        return s0, max(0.0, s1)

    s_x0, s_x1 = s0_s1(n_x)
    _, s_z1 = s0_s1(n_z)
    lo_m, hi_m = bounds(m_z)
    v_z1 = max(0.0, tau(1) * (hi_m[1] - lo_m[2]) / (mu[1] - mu[2]))
    if s_z1 > 0 and s_x1 > 0:
        ratio = min(0.5, v_z1 / s_z1)
        phi = min(0.5, ratio + phase_error_deviation(epsilon_sec, ratio, s_z1, s_x1))
    else:
        phi = 0.5
    length = (s_x0 + s_x1 * (1 - _h(phi)) - leaked_ec_bits - 6 * math.log2(21 / epsilon_sec)
              - math.log2(2 / epsilon_cor))
    return {"length": math.floor(length), "s_x0": s_x0, "s_x1": s_x1, "v_z1": v_z1, "s_z1": s_z1,
            "phase_error_x": phi}


def finite_key_length_single_photon(n_x: int, n_z: int, m_z: int, *, leaked_ec_bits: int,
                                    epsilon_sec: float = 1e-9, epsilon_cor: float = 1e-15) -> dict:
    """The key length of BB84 with single photons (or of BBM92, where a squashed pair acts as
    one): the Lim et al. 2014 formula with every detection a single photon,
    ``l = n_X (1 - h(phi_X)) - leak_EC - 6 log2(21/eps_sec) - log2(2/eps_cor)``,
    ``phi_X = e_Z + gamma(eps_sec, e_Z, n_Z, n_X)``."""
    if n_z <= 0 or n_x <= 0:
        return {"length": -1, "phase_error_x": 0.5}
    e_z = m_z / n_z
    phi = min(0.5, e_z + phase_error_deviation(epsilon_sec, e_z, n_z, n_x))
    length = n_x * (1 - _h(phi)) - leaked_ec_bits - 6 * math.log2(21 / epsilon_sec) - math.log2(2 / epsilon_cor)
    return {"length": math.floor(length), "phase_error_x": phi}
