"""QKD post-processing: Toeplitz hashing against an explicit matrix, Cascade corrects and leaks
no less than the Shannon limit, finite-key lengths tend to the asymptotic rates."""

import math

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import entropy

from kizuna.errors import QKDError
from kizuna.networking.qkd import (
    cascade,
    finite_key_length_bb84_decoy,
    finite_key_length_single_photon,
    toeplitz_hash,
)
from kizuna.networking.qkd._postprocess import phase_error_deviation


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 300), st.integers(1, 120), st.integers(0, 2**32 - 1))
def test_toeplitz_hash_equals_the_explicit_matrix_product(n, m, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, n, dtype=np.uint8)
    s = rng.integers(0, 2, n + m - 1, dtype=np.uint8)
    # T[i, j] = s[i - j + n - 1]: first column s[n-1:], first row s[n-1::-1]
    t = scipy.linalg.toeplitz(s[n - 1:], s[n - 1::-1])
    assert t.shape == (m, n)
    assert np.array_equal(toeplitz_hash(x, s, m), (t.astype(np.int64) @ x) % 2)


def test_toeplitz_hash_is_exact_on_a_long_key():
    rng = np.random.default_rng(7)
    n, m = 1 << 20, 300
    x = rng.integers(0, 2, n, dtype=np.uint8)
    s = rng.integers(0, 2, n + m - 1, dtype=np.uint8)
    rows = [0, 17, 299]
    ref = [int(np.dot(s[i - np.arange(n) + n - 1].astype(np.int64), x) % 2) for i in rows]
    assert toeplitz_hash(x, s, m)[rows].tolist() == ref


def test_toeplitz_collisions_are_rare():
    # two-universal: distinct keys collide with probability 2^-m over the seed
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2, 64, dtype=np.uint8)
    y = x.copy()
    y[5] ^= 1
    same = sum(np.array_equal(toeplitz_hash(x, s, 4), toeplitz_hash(y, s, 4))
               for s in rng.integers(0, 2, (2000, 67), dtype=np.uint8))
    assert abs(same / 2000 - 1 / 16) < 3 * math.sqrt(1 / 16 * 15 / 16 / 2000)


@settings(max_examples=20, deadline=None)
@given(st.floats(0.005, 0.08), st.integers(2_000, 60_000), st.integers(0, 2**32 - 1))
def test_cascade_corrects_and_leaks_at_least_the_shannon_limit(qber, n, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n, dtype=np.uint8)
    b = a ^ (rng.random(n) < qber).astype(np.uint8)
    errors = int(np.count_nonzero(a != b))
    r = cascade(a, b, qber, seed=seed)
    residual = int(np.count_nonzero(r.corrected != a))
    assert residual % 2 == 0  # what Cascade misses hides in even numbers
    assert residual <= 2 or residual < 0.01 * errors
    if errors:
        q = errors / n
        # Slepian-Wolf: no protocol discloses fewer than n h(Q) bits (give 10% for small samples)
        assert r.leaked_bits >= 0.9 * n * entropy([q, 1 - q], base=2)
    # every flip Cascade makes is on a bit where the keys differed or one it flips back
    assert r.errors_corrected >= errors - residual


@pytest.mark.parametrize("qber", [0.01, 0.02, 0.05])
def test_cascade_efficiency_is_that_of_original_cascade(qber):
    # four-pass Cascade leaks 1.1-1.25 times n h(Q) at 1-5% (Brassard & Salvail 1993; Martinez-Mateo
    # et al., QIC 15, 453 (2015), Fig. 3)
    rng = np.random.default_rng(3)
    n = 200_000
    a = rng.integers(0, 2, n, dtype=np.uint8)
    b = a ^ (rng.random(n) < qber).astype(np.uint8)
    r = cascade(a, b, qber, seed=4)
    assert np.array_equal(r.corrected, a)
    assert 1.05 < r.efficiency < 1.3


def test_cascade_bad_input():
    with pytest.raises(QKDError, match=r"equal lengths \(got 3 and 2\)"):
        cascade([0, 1, 0], [0, 1], 0.1)
    with pytest.raises(QKDError, match=r"qber must be in \[0, 0.5\) \(got 0.6\)"):
        cascade([0, 1], [0, 1], 0.6)
    with pytest.raises(QKDError, match="only 0 and 1"):
        cascade([0, 2], [0, 1], 0.1)


def test_phase_error_deviation_shrinks_as_one_over_sqrt_n():
    g1 = phase_error_deviation(1e-9, 0.02, 1e4, 1e4)
    g2 = phase_error_deviation(1e-9, 0.02, 1e6, 1e6)
    assert g2 < g1
    assert g1 / g2 == pytest.approx(10.0, rel=0.3)


def test_single_photon_finite_key_tends_to_shor_preskill():
    # n (1 - h(e) - f h(e)) per sifted bit as n -> infinity
    e, f = 0.02, 1.1
    h = entropy([e, 1 - e], base=2)
    for n in (10**6, 10**9):
        out = finite_key_length_single_photon(n, n, round(e * n), leaked_ec_bits=round(f * h * n))
        assert out["length"] < n * (1 - h - f * h)
    assert out["length"] / n == pytest.approx(1 - h - f * h, abs=2e-3)


def test_decoy_finite_key_tends_to_the_gllp_single_photon_terms():
    # expected counts of a huge block: the bounds of Lim et al. (2014) approach the
    # asymptotic s_X1 = N p_X^2 Y1 sum_k p_k mu_k e^-mu_k (Ma et al. 2005)
    mus, ps, px, n = (0.5, 0.1, 0.0), (0.7, 0.2, 0.1), 0.5, 1e15
    eta, y0, ed = 1e-2, 1e-7, 0.01

    def gain(m):
        return y0 + 1 - math.exp(-eta * m)

    def egain(m):
        return 0.5 * y0 + ed * (1 - math.exp(-eta * m))

    n_x = [n * p * px * px * gain(m) for m, p in zip(mus, ps, strict=True)]
    n_z = [n * p * (1 - px) ** 2 * gain(m) for m, p in zip(mus, ps, strict=True)]
    m_z = [n * p * (1 - px) ** 2 * egain(m) for m, p in zip(mus, ps, strict=True)]
    out = finite_key_length_bb84_decoy(mus, ps, n_x, n_z, m_z, leaked_ec_bits=0)
    s1 = n * px * px * (y0 + eta) * sum(p * m * math.exp(-m) for m, p in zip(mus, ps, strict=True))
    assert out["s_x1"] <= s1
    assert out["s_x1"] == pytest.approx(s1, rel=0.05)
    e1 = (0.5 * y0 + ed * eta) / (y0 + eta)
    assert e1 <= out["phase_error_x"] < e1 + 0.01


def test_decoy_finite_key_rejects_bad_intensities():
    with pytest.raises(QKDError, match="mu1 > mu2 \\+ mu3"):
        finite_key_length_bb84_decoy((0.2, 0.3, 0.0), (0.5, 0.3, 0.2), [1, 1, 1], [1, 1, 1], [0, 0, 0],
                                     leaked_ec_bits=0)
