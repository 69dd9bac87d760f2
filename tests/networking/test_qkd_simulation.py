"""Pulse-level QKD simulation against the analytic models: gains, sifted rates, QBERs and
photon-number statistics within 3 sigma; CHSH = 2 sqrt(2) p for Werner pairs; attacks."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.errors import QKDError
from kizuna.networking import chsh_value, werner
from kizuna.networking.qkd import QKDLink, expected_gain_qber, run_qkd
from kizuna.networking.qkd._simulate import simulate_pulses


def within_3_sigma(observed, expected, sigma):
    assert abs(observed - expected) <= 3 * sigma, f"{observed} vs {expected} +- {sigma}"


def binomial_sigma(p, n):
    return math.sqrt(p * (1 - p) / n)


@pytest.fixture(scope="module")
def decoy_run():
    return run_qkd("bb84-decoy", 25, num_pulses=3_000_000, mu=0.6, weak_intensity=0.2, seed=11)


def test_decoy_bb84_gains_sifted_rate_and_qber_match_gllp(decoy_run):
    r, link = decoy_run, QKDLink()
    probs = r.provenance["intensity_probabilities"]
    sifted = 0.0
    for k, mu in enumerate(r.intensities):
        q, e = expected_gain_qber("bb84-decoy", 25, link, mu)
        sent = r.num_pulses * probs[k]  # the realised counts differ from this by O(sqrt(N)); the gain is per sent
        within_3_sigma(r.gains[k], q, binomial_sigma(q, sent) + 1e-12)
        sifted += probs[k] * q / 2
        if r.qber_per_intensity[k] is not None and mu > 0:
            n_test = sent * q / 4  # Z test bits of this intensity (both parties in Z: 1/4)
            within_3_sigma(r.qber_per_intensity[k], e, binomial_sigma(e, n_test))
    within_3_sigma(r.sifted_key_length / r.num_pulses, sifted, binomial_sigma(sifted, r.num_pulses))


def test_decoy_bb84_final_keys_equal_with_the_finite_key_length(decoy_run):
    r = decoy_run
    assert not r.aborted and r.verified
    assert r.final_key_length == r.finite_key["length"] > 0
    assert r.alice_key.size == r.bob_key.size == r.final_key_length
    assert np.array_equal(r.alice_key, r.bob_key)
    assert r.leaked_bits_ec > 0 and 1.0 < r.ec_efficiency < 1.4
    # error correction found the X-basis error rate the test basis estimated
    assert r.qber_interval[0] <= r.qber_key <= r.qber_interval[1]


def test_decoy_lower_bound_holds_for_the_true_single_photon_count():
    # the simulator knows each clicking pulse's photon number: the decoy bound on the single-photon
    # detections (Lim et al. 2014) must lie below the true count, and the photon numbers follow
    # Poisson thinning: P(n = 1 | click, mu) = (Y0 + eta) mu e^-mu / Q_mu (Ma et al. 2005, eq. 7)
    link = QKDLink()
    raw = simulate_pulses("bb84-decoy", 25, link, 3_000_000, intensities=(0.6, 0.2, 0.0),
                          intensity_probabilities=(0.6, 0.25, 0.15), rng=np.random.default_rng(3))
    eta = link.transmittance(25)
    sig = raw.intensity == 0
    n = int(sig.sum())
    q, _ = expected_gain_qber("bb84-decoy", 25, link, 0.6)
    p1 = (link.dark_count_probability + eta) * 0.6 * math.exp(-0.6) / q
    within_3_sigma(np.mean(raw.photon_number[sig] == 1), p1, binomial_sigma(p1, n))
    from kizuna.networking.qkd import finite_key_length_bb84_decoy

    match = raw.alice_basis == raw.bob_basis
    xs, zs = match & (raw.alice_basis == 1), match & (raw.alice_basis == 0)
    err = raw.alice_bit != raw.bob_bit
    n_x = np.bincount(raw.intensity[xs], minlength=3)
    n_z = np.bincount(raw.intensity[zs], minlength=3)
    m_z = np.bincount(raw.intensity[zs & err], minlength=3)
    fk = finite_key_length_bb84_decoy((0.6, 0.2, 0.0), (0.6, 0.25, 0.15), n_x, n_z, m_z, leaked_ec_bits=0)
    true_single_x = int(np.count_nonzero(xs & (raw.photon_number == 1)))
    assert 0 < fk["s_x1"] <= true_single_x


@pytest.mark.parametrize("protocol,mu", [("bb84-single-photon", None), ("bb84", 0.3)])
def test_single_intensity_protocols_match_their_gain_and_qber(protocol, mu):
    link = QKDLink(misalignment=0.02, dark_count_probability=1e-5)
    r = run_qkd(protocol, 40, link, num_pulses=1_000_000, mu=mu, seed=5)
    q, e = expected_gain_qber(protocol, 40, link, mu or 1.0)
    within_3_sigma(r.gains[0], q, binomial_sigma(q, r.num_pulses))
    within_3_sigma(r.sifted_key_length / r.num_pulses, q / 2, binomial_sigma(q / 2, r.num_pulses))
    within_3_sigma(r.qber, e, binomial_sigma(e, r.test_bits))


def test_bbm92_coincidences_qber_and_chsh_of_werner_pairs():
    link = QKDLink(dark_count_probability=1e-6, misalignment=0.04)
    r = run_qkd("bbm92", 10, link, num_pulses=3_000_000, mu=0.02, chsh_fraction=0.5, seed=2)
    q, e = expected_gain_qber("bbm92", 10, link, 0.02)
    within_3_sigma(r.gains[0], q, binomial_sigma(q, r.num_pulses))
    within_3_sigma(r.qber, e, binomial_sigma(e, r.test_bits))
    # every coincidence is a Werner pair of visibility p = 1 - 2E; CHSH S = 2 sqrt(2) p
    # (Horodecki 1995), the value networking.states.chsh_value gives for werner((1 + 3p)/4)
    p = 1 - 2 * e
    assert chsh_value(werner((1 + 3 * p) / 4)) == pytest.approx(2 * math.sqrt(2) * p, rel=1e-12)
    within_3_sigma(r.chsh, 2 * math.sqrt(2) * p, r.chsh_standard_error)
    assert r.chsh > 2.5 and not r.aborted and np.array_equal(r.alice_key, r.bob_key)


def test_intercept_resend_gives_25_percent_and_aborts():
    # Eve measures every pulse in a random basis: on the sifted bits she disturbs a quarter
    clean = QKDLink(dark_count_probability=0.0, misalignment=0.0)
    r = run_qkd("bb84-decoy", 10, clean, num_pulses=500_000, attack="intercept-resend", seed=4)
    within_3_sigma(r.qber, 0.25, binomial_sigma(0.25, r.test_bits))
    assert r.aborted and "above the threshold" in r.abort_reason and r.final_key_length == 0
    assert r.alice_key is None


def test_partial_intercept_resend_scales_the_qber():
    clean = QKDLink(dark_count_probability=0.0, misalignment=0.0)
    r = run_qkd("bb84-single-photon", 10, clean, num_pulses=500_000, attack="intercept-resend",
                attack_fraction=0.2, seed=4)
    within_3_sigma(r.qber, 0.05, binomial_sigma(0.05, r.test_bits))


def test_intercept_resend_breaks_the_bell_violation():
    link = QKDLink(dark_count_probability=0.0, misalignment=0.0)
    r = run_qkd("bbm92", 0, link, num_pulses=1_000_000, mu=0.02, chsh_fraction=0.5, attack="intercept-resend",
                seed=6)
    # Eve's Z or X measurement leaves E(a, b) = cos(a - e) cos(e - b): S = sqrt(2) on average
    within_3_sigma(r.chsh, math.sqrt(2), r.chsh_standard_error)
    assert r.aborted


def test_pns_attack_keeps_qber_and_signal_gain_but_decoys_expose_it():
    link = QKDLink()
    # at 60 km Eve's lossless line can match the signal gain with multi-photon pulses alone
    honest_signal, _ = expected_gain_qber("bb84-decoy", 60, link, 0.6)
    honest_weak, _ = expected_gain_qber("bb84-decoy", 60, link, 0.2)
    r = run_qkd("bb84-decoy", 60, link, num_pulses=4_000_000, mu=0.6, attack="pns", seed=8)
    within_3_sigma(r.gains[0], honest_signal, binomial_sigma(honest_signal, r.num_pulses * 0.6))
    assert r.qber < 0.02
    assert r.gains[1] < 0.5 * honest_weak  # the weak decoy, mostly single photons, is starved
    assert r.aborted and "s_X1" in r.abort_reason
    # the decoy estimate of the single-photon yield (Ma et al. 2005, eq. 34): about eta honestly,
    # about nothing under the attack, which blocks every single photon
    eta = link.transmittance(60)
    honest = run_qkd("bb84-decoy", 60, link, num_pulses=4_000_000, mu=0.6, seed=8)
    assert 0.8 * eta < honest.y1_lower_bound <= 1.1 * eta
    assert r.y1_lower_bound < 0.1 * eta


def test_same_seed_same_keys_bit_for_bit():
    a = run_qkd("bb84-single-photon", 30, num_pulses=400_000, seed=21)
    b = run_qkd("bb84-single-photon", 30, num_pulses=400_000, seed=21)
    c = run_qkd("bb84-single-photon", 30, num_pulses=400_000, seed=22)
    assert a.final_key_length > 0 and np.array_equal(a.alice_key, b.alice_key)
    da, db = a.to_dict(), b.to_dict()
    da.pop("wall_time_s"), db.pop("wall_time_s")
    assert da == db
    assert not (c.final_key_length == a.final_key_length and np.array_equal(a.alice_key, c.alice_key))


def test_too_few_pulses_abort_with_a_reason():
    r = run_qkd("bb84-decoy", 200, num_pulses=1000, seed=1)
    assert r.aborted and "no sifted bits" in r.abort_reason


@pytest.mark.parametrize("kwargs,needle", [
    ({"distance_km": -3}, "distance_km must be >= 0 (got -3)"),
    ({"mu": 0}, "mu must be > 0 (got 0)"),
    ({"protocol": "b99"}, "unknown protocol 'b99'"),
    ({"attack": "magic"}, "unknown attack 'magic'"),
    ({"num_pulses": 10, "duration_s": 1.0}, "exactly one of duration_s and num_pulses"),
    ({"protocol": "bb84-single-photon", "attack": "pns"}, "needs multi-photon pulses"),
    ({"weak_intensity": 0.9, "mu": 0.5}, "mu > weak + vacuum"),
])
def test_bad_input_names_the_value(kwargs, needle):
    args = {"protocol": "bb84-decoy", "distance_km": 10, "num_pulses": 1000, "seed": 1} | kwargs
    if "duration_s" in kwargs:
        args["num_pulses"] = kwargs["num_pulses"]
    with pytest.raises(QKDError) as info:
        run_qkd(**args)
    assert needle in str(info.value)


@pytest.mark.parametrize("k,n", [(0, 10), (3, 100), (50, 100), (100, 100), (1234, 100_000)])
def test_qber_interval_is_clopper_pearson(k, n):
    from scipy.stats import binomtest

    from kizuna.networking.qkd._protocol import _clopper_pearson

    ref = binomtest(k, n).proportion_ci(0.999, "exact")
    assert _clopper_pearson(k, n, 0.999) == pytest.approx((ref.low, ref.high), abs=1e-9)


@settings(max_examples=8, deadline=None)
@given(st.sampled_from(["bb84-decoy", "bb84-single-photon", "bbm92"]), st.floats(0.0, 40.0),
       st.integers(0, 2**32 - 1))
def test_a_run_either_aborts_with_a_reason_or_ends_with_equal_keys_of_the_bound(protocol, distance, seed):
    r = run_qkd(protocol, distance, num_pulses=300_000, mu=0.05 if protocol == "bbm92" else None, seed=seed)
    if r.aborted:
        assert r.abort_reason and r.final_key_length == 0 and r.alice_key is None
    else:
        assert r.verified and r.final_key_length == r.finite_key["length"] > 0
        assert r.final_key_length <= r.key_bits - r.leaked_bits_ec
        assert np.array_equal(r.alice_key, r.bob_key)
