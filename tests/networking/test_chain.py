"""Repeater chains (swap as soon as possible) and heralded links, against closed forms."""

import math

import numpy as np
import pytest

from kizuna.errors import NetworkError
from kizuna.networking import (
    PS_PER_S,
    HeraldedLink,
    Memory,
    RepeaterChain,
    barrett_kok,
    fidelity,
    simulate_chain,
    single_click,
    werner,
)


@pytest.mark.parametrize("n", [1, 2, 4, 8])
def test_perfect_memories_deliver_the_visibility_power_law(n):
    chain = RepeaterChain.uniform(n, length_km=5, link_fidelity=0.99, success_probability=0.2)
    r = simulate_chain(chain, duration_s=0.02, seed=1)
    p = (4 * 0.99 - 1) / 3
    assert r.delivered > 10
    assert r.mean_fidelity == pytest.approx(0.25 + 0.75 * p**n, abs=1e-12)
    assert max(r.fidelities) - min(r.fidelities) < 1e-12


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_two_link_waiting_time_is_the_expected_maximum_of_two_geometrics(p):
    # E[max(G1, G2)] = (3 - 2p) / (p (2 - p)) attempts (e.g. Shchukin et al., PRA 100, 032322
    # (2019)); between deliveries add the classical delay from the middle node to the ends
    link = HeraldedLink(success_probability=p, attempt_duration_ps=1_000_000, state=werner(1.0),
                        classical_delay_ps=250_000)
    chain = RepeaterChain((link, link))
    mean_gap_s = ((3 - 2 * p) / (p * (2 - p)) * 1e-6 + 0.25e-6)
    r = simulate_chain(chain, duration_s=40_000 * mean_gap_s, seed=7)
    gaps = np.diff(np.concatenate([[0.0], r.delivery_times_s])) * PS_PER_S
    attempts = (gaps - link.classical_delay_ps) / link.attempt_duration_ps
    expected = (3 - 2 * p) / (p * (2 - p))
    assert r.delivered > 35_000
    assert np.mean(attempts) == pytest.approx(expected, rel=0.02)
    assert np.allclose(attempts, np.round(attempts))  # whole attempts


def test_dephasing_memories_agree_between_representations_and_with_a_closed_form():
    t2 = 2e-4
    link = HeraldedLink(success_probability=0.3, attempt_duration_ps=10_000_000, state=werner(1.0))
    chain = RepeaterChain((link, link), memory=Memory(t2_s=t2))
    bd = simulate_chain(chain, duration_s=0.1, seed=3, representation="bell_diagonal")
    dm = simulate_chain(chain, duration_s=0.1, seed=3, representation="density_matrix")
    assert bd.delivered == dm.delivered > 1000
    np.testing.assert_allclose(bd.fidelities, dm.fidelities, atol=1e-12)
    # one pair waited |G1 - G2| attempts with both halves dephasing: F = (1 + e^{-2 dt/T2}) / 2
    # per delivery; the mean over the geometric difference D has a closed form:
    # E[e^{-c D}] with P(D = 0) = p/(2-p), P(D = k) = 2 p (1-p)^k / (2-p) for k >= 1
    p, tau = 0.3, 1e-5
    c = 2 * tau / t2
    q = (1 - p) * math.exp(-c)
    mean_decay = p / (2 - p) + 2 * p / (2 - p) * q / (1 - q)
    assert bd.mean_fidelity == pytest.approx((1 + mean_decay) / 2, abs=4 * bd.fidelity_standard_error)


def test_finite_t1_runs_on_density_matrices_and_lowers_fidelity():
    base = RepeaterChain.uniform(3, length_km=10, link_fidelity=0.98, success_probability=0.2)
    t2_only = RepeaterChain(base.links, memory=Memory(t1_s=math.inf, t2_s=1e-3))
    both = RepeaterChain(base.links, memory=Memory(t1_s=5e-4, t2_s=1e-3))
    r2 = simulate_chain(t2_only, duration_s=0.2, seed=1)
    r12 = simulate_chain(both, duration_s=0.2, seed=1)
    assert r2.provenance["representation"] == "bell_diagonal"
    assert r12.provenance["representation"] == "density_matrix"
    assert r12.delivered == r2.delivered  # same seed: same link successes
    assert r12.mean_fidelity < r2.mean_fidelity
    with pytest.raises(NetworkError, match="relaxes pairs out of the Bell-diagonal family"):
        simulate_chain(both, duration_s=0.01, seed=1, representation="bell_diagonal")


def test_cutoff_discards_old_pairs_and_bounds_their_age():
    link = HeraldedLink(success_probability=0.05, attempt_duration_ps=10_000_000, state=werner(1.0))
    t2, cutoff = 1e-3, 1e-4
    free = simulate_chain(RepeaterChain((link,) * 3, memory=Memory(t2_s=t2)), duration_s=1.0, seed=2)
    cut = simulate_chain(RepeaterChain((link,) * 3, memory=Memory(t2_s=t2, cutoff_s=cutoff)), duration_s=1.0, seed=2)
    assert cut.discarded > 0 and free.discarded == 0
    assert cut.mean_fidelity > free.mean_fidelity
    # no qubit waited longer than the cutoff: the worst case dephases both halves of the oldest
    # pair for the cutoff, and the last swapped pair on top of that, for at most the cutoff too
    worst = (1 + math.exp(-4 * cutoff / t2)) / 2
    assert min(cut.fidelities) >= worst - 1e-12


def test_same_seed_same_result_and_json():
    chain = RepeaterChain.uniform(4, length_km=20, link_fidelity=0.97, memory=Memory(t2_s=0.01))
    a = simulate_chain(chain, duration_s=0.1, seed=9)
    b = simulate_chain(chain, duration_s=0.1, seed=9)
    assert a.fidelities == b.fidelities and a.delivery_times_s == b.delivery_times_s
    d = a.to_dict(include_samples=False)
    assert d["delivered"] == a.delivered and "fidelities" not in d and d["provenance"]["seed"] == 9


def test_longer_links_deliver_fewer_pairs():
    rates = [simulate_chain(RepeaterChain.uniform(2, length_km=L), duration_s=0.2, seed=1).pairs_per_second
             for L in (5, 25, 50)]
    assert rates[0] > rates[1] > rates[2] > 0


def test_barrett_kok_success_and_fidelity():
    # p = eta^2 / 2 (Barrett & Kok, PRA 71, 060310 (2005)); an ideal herald is a Bell state
    p, rho = barrett_kok(0.3)
    assert p == pytest.approx(0.045) and fidelity(rho) == pytest.approx(1.0)
    p, rho = barrett_kok(0.3, visibility=0.9)
    assert fidelity(rho) == pytest.approx(0.95)
    p_dark, rho_dark = barrett_kok(0.3, dark_count_probability=1e-3)
    assert p_dark > 0.045 and fidelity(rho_dark) < 1.0


def test_single_click_fidelity_is_one_minus_alpha_for_small_eta():
    # F ~ 1 - alpha, rate ~ 2 alpha eta (Humphreys et al., Nature 558, 268 (2018))
    for alpha in (0.05, 0.1, 0.2):
        p, rho = single_click(1e-4, alpha)
        assert p == pytest.approx(2 * alpha * 1e-4, rel=alpha + 1e-3)
        assert fidelity(rho) == pytest.approx(1 - alpha, abs=2e-4 + alpha**2)
        assert np.trace(rho).real == pytest.approx(1)


def test_link_from_fiber_uses_the_loss_to_the_midpoint():
    link = HeraldedLink.from_fiber(20.0)
    eta = 10 ** (-0.2 * 10 / 10)
    assert link.success_probability == pytest.approx(eta**2 / 2)
    assert link.attempt_duration_ps == 100_000_000  # 2 x 10 km x 5 us/km
    assert link.classical_delay_ps == 100_000_000


def test_bad_inputs_are_named_errors():
    with pytest.raises(NetworkError, match="num_links"):
        RepeaterChain.uniform(0, length_km=1)
    with pytest.raises(NetworkError, match="length_km must be >= 0"):
        RepeaterChain.uniform(2, length_km=-1)
    with pytest.raises(NetworkError, match="success_probability must be > 0"):
        HeraldedLink(success_probability=0, attempt_duration_ps=1, state=werner(1))
    with pytest.raises(NetworkError, match="duration_s"):
        simulate_chain(RepeaterChain.uniform(1, length_km=1), duration_s=-1)
    with pytest.raises(NetworkError, match="representation"):
        simulate_chain(RepeaterChain.uniform(1, length_km=1), duration_s=1, representation="mps")


def test_nested_swapping_delivers_the_same_fidelity_and_only_swaps_matching_halves():
    for n in (2, 3, 4, 8):
        chain = RepeaterChain.uniform(n, length_km=5, link_fidelity=0.99, success_probability=0.3, protocol="nested")
        r = simulate_chain(chain, duration_s=0.02, seed=4)
        p = (4 * 0.99 - 1) / 3
        assert r.delivered > 10 and r.mean_fidelity == pytest.approx(0.25 + 0.75 * p**n, abs=1e-12)
    # two links: nested and ASAP are the same protocol, event for event
    a = simulate_chain(RepeaterChain.uniform(2, length_km=5, memory=Memory(t2_s=1e-3)), duration_s=0.05, seed=1)
    b = simulate_chain(RepeaterChain.uniform(2, length_km=5, memory=Memory(t2_s=1e-3), protocol="nested"),
                       duration_s=0.05, seed=1)
    assert a.fidelities == b.fidelities


def test_nested_spans_split_the_chain_in_halves():
    from kizuna.networking.chain import _ChainSim
    from kizuna.networking.engine import Simulator

    proto = _ChainSim(RepeaterChain.uniform(8, length_km=1, protocol="nested"), Simulator(0), dm=False)
    assert proto.nested == {4: (0, 8), 2: (0, 4), 6: (4, 8), 1: (0, 2), 3: (2, 4), 5: (4, 6), 7: (6, 8)}


@pytest.mark.parametrize("method,rounds", [("dejmps", 1), ("dejmps", 3), ("bbpssw", 2)])
def test_link_pumping_delivers_the_iterated_purification_map(method, rounds):
    from kizuna.networking import purify_bbpssw, purify_dejmps

    link = HeraldedLink(success_probability=0.5, attempt_duration_ps=1_000_000, state=werner(0.85))
    chain = RepeaterChain((link,), purification=method, purification_rounds=rounds)
    r = simulate_chain(chain, duration_s=0.05, seed=2)
    step = purify_dejmps if method == "dejmps" else purify_bbpssw
    state = werner(0.85)
    for _ in range(rounds):
        state, _ = step(state, werner(0.85))
    assert r.delivered > 100
    assert r.mean_fidelity == pytest.approx(state.fidelity, abs=1e-12)
    assert r.mean_fidelity > 0.85
    if rounds == 1:  # each attempt succeeds with the map's probability N (Deutsch et al. 1996)
        _, n_success = step(werner(0.85), werner(0.85))
        fails = r.provenance["purification_failures"]
        assert r.delivered / (r.delivered + fails) == pytest.approx(n_success, abs=4 * math.sqrt(
            n_success * (1 - n_success) / (r.delivered + fails)))


def test_pumping_agrees_between_representations():
    chain = RepeaterChain.uniform(3, length_km=10, link_fidelity=0.9, success_probability=0.3,
                                  memory=Memory(t2_s=0.05), purification="dejmps", purification_rounds=1)
    a = simulate_chain(chain, duration_s=0.1, seed=1, representation="bell_diagonal")
    b = simulate_chain(chain, duration_s=0.1, seed=1, representation="density_matrix")
    assert a.delivered == b.delivered > 10
    np.testing.assert_allclose(a.fidelities, b.fidelities, atol=1e-12)


def test_bad_protocol_options_are_named():
    link = HeraldedLink(success_probability=0.5, attempt_duration_ps=1, state=werner(1))
    with pytest.raises(NetworkError, match="protocol must be 'asap' or 'nested'"):
        RepeaterChain((link,), protocol="fast")
    with pytest.raises(NetworkError, match="purification_rounds=2 needs purification"):
        RepeaterChain((link,), purification_rounds=2)
    with pytest.raises(NetworkError, match="purification must be"):
        RepeaterChain((link,), purification="magic", purification_rounds=1)


def test_sweeps_give_the_same_rows_on_any_number_of_workers():
    from kizuna.networking import sweep_chain

    kw = {"duration_s": 0.05, "seed": 3, "memory": {"t2_s": 0.01}}
    serial = sweep_chain("length_km", [5, 20, 60], workers=1, **kw)
    pooled = sweep_chain("length_km", [5, 20, 60], workers=2, **kw)
    assert serial == pooled
    assert serial.pairs_per_second[0] > serial.pairs_per_second[1] > serial.pairs_per_second[2]
    by_links = sweep_chain("num_links", [1, 2, 4], duration_s=0.01, seed=1, link_fidelity=0.99,
                           success_probability=0.3)
    assert [round(f, 4) for f in by_links.mean_fidelity] == [0.99, 0.9801, 0.9608]
    assert by_links.to_dict()["parameter"] == "num_links"
    with pytest.raises(NetworkError, match="parameter must be one of"):
        sweep_chain("colour", [1], duration_s=0.01)
    with pytest.raises(NetworkError, match="length_km must be >= 0"):
        sweep_chain("length_km", [-1], duration_s=0.01)
