"""Hardware models in the simulations: photon sources, detectors with dark counts and dead time,
links derived from the hardware, per-node memories and noisy Bell measurements.

References used below:
* entanglement swapping of Werner pairs, F' = F1 F2 + (1 - F1)(1 - F2)/3 (Dür & Briegel,
  Rep. Prog. Phys. 70, 1381 (2007)) -- the spin-photon pairs of two sources swapped at the
  midpoint station;
* HOM visibility of imperfect sources, V = M - (1 + M) g2 to first order (Ollivier et al.,
  PRL 126, 063602 (2021));
* non-paralyzable dead time, R_obs = R / (1 + R tau) (Knoll, Radiation Detection and
  Measurement, ch. 4; Müller, NIM 112, 47 (1973));
* the noisy Bell measurement of Briegel, Dür, Cirac & Zoller, PRL 81, 5932 (1998) and Dür et al.,
  PRA 59, 169 (1999): depolarizing two-qubit gate, then each outcome bit misread -- checked
  against Kizuna's density-matrix circuit simulator running the actual swap circuit.
"""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna import Circuit
from kizuna.computing.execute import density_matrix
from kizuna.computing.noise import NoiseModel
from kizuna.core.channels import (
    amplitude_damping,
    depolarizing,
    pauli_channel,
    readout_error,
)
from kizuna.errors import NetworkError
from kizuna.networking import (
    PS_PER_S,
    BellDiagonalState,
    Detector,
    Fiber,
    HeraldedLink,
    Memory,
    PhotonSource,
    RepeaterChain,
    simulate_chain,
    swap,
    swap_density_matrices,
    werner,
)
from kizuna.networking.hardware import attempts_until_success, barrett_kok, single_click


# --- photon sources ---------------------------------------------------------------------------
def test_source_visibility_follows_the_first_order_hom_formula():
    for m, g2 in [(1.0, 0.0), (0.95, 0.02), (0.8, 0.1)]:
        v = PhotonSource(indistinguishability=m, g2=g2).visibility
        assert v == pytest.approx(m - (1 + m) * g2, abs=1e-15)
        assert (v + g2) / (1 - g2) == pytest.approx(m, abs=(1 + m) * g2**2 + 1e-15)  # Ollivier et al.
    assert PhotonSource(indistinguishability=0.1, g2=0.5).visibility == 0.0


@pytest.mark.parametrize("bad,message", [
    ({"rate_hz": 0}, "rate_hz must be > 0"),
    ({"efficiency": 1.5}, "efficiency must be <= 1"),
    ({"g2": -0.1}, "g2 must be >= 0"),
    ({"emission_fidelity": 0.2}, "emission_fidelity must be in [0.25, 1]"),
    ({"indistinguishability": "x"}, "indistinguishability must be a number"),
])
def test_bad_source_fields_are_named(bad, message):
    with pytest.raises(NetworkError, match=message.replace("[", r"\[")):
        PhotonSource(**bad)


# --- links from the hardware ------------------------------------------------------------------
def test_ideal_hardware_gives_the_barrett_kok_probability_and_round_trip():
    link = HeraldedLink.from_hardware(Fiber(40, 0.2), PhotonSource(efficiency=0.6), Detector(efficiency=0.8),
                                      Memory(efficiency=0.9))
    eta = 0.9 * 0.6 * 10 ** (-0.2 * 20 / 10) * 0.8
    assert link.success_probability == pytest.approx(eta**2 / 2, rel=1e-14)
    assert link.attempt_duration_ps == 2 * 20 * 5_000_000  # round trip to the midpoint, 5 us/km
    assert link.classical_delay_ps == 40 * 5_000_000
    assert link.fidelity == pytest.approx(1.0, abs=1e-14)
    assert link.click_probability == pytest.approx(1 - (1 - eta) ** 2, rel=1e-14)


def test_slow_source_sets_the_attempt_period():
    # Barrett-Kok fires twice per attempt; 100 kHz -> 20 us, longer than the 10 us round trip
    link = HeraldedLink.from_hardware(Fiber(2), PhotonSource(rate_hz=1e5))
    assert link.attempt_duration_ps == 20_000_000
    sc = HeraldedLink.from_hardware(Fiber(2), PhotonSource(rate_hz=1e5), scheme="single_click")
    assert sc.attempt_duration_ps == 10_000_000


@pytest.mark.parametrize("f_e", [1.0, 0.97, 0.9, 0.6])
def test_emission_fidelity_enters_as_the_swap_of_two_werner_spin_photon_pairs(f_e):
    link = HeraldedLink.from_hardware(Fiber(10), PhotonSource(emission_fidelity=f_e))
    # the station's photonic Bell measurement swaps the two spin-photon Werner pairs
    assert link.fidelity == pytest.approx(f_e * f_e + (1 - f_e) ** 2 / 3, abs=1e-12)
    bd = BellDiagonalState.from_density_matrix(link.state)
    np.testing.assert_allclose(bd.density_matrix(), link.state, atol=1e-12)  # stays Bell-diagonal


def test_fiber_depolarization_and_source_noise_compose_per_side():
    f = Fiber(30, depolarizing_per_km=0.002)
    link = HeraldedLink.from_hardware(f, PhotonSource(emission_fidelity=0.98))
    q = (1 - 4 * (1 - 0.98) / 3) * (1 - 0.002) ** 15  # visibility left on each side
    assert link.fidelity == pytest.approx(0.25 + 0.75 * q * q, abs=1e-12)


def test_visibility_and_dark_counts_set_the_barrett_kok_state():
    src = PhotonSource(indistinguishability=0.9, g2=0.03)
    det = Detector(efficiency=0.7, dark_count_rate_hz=2e4, window_s=5e-8)
    link = HeraldedLink.from_hardware(Fiber(50), src, det)
    eta = 10 ** (-0.2 * 25 / 10) * 0.7
    d = -math.expm1(-2e4 * 5e-8)
    v = 0.9 - 1.9 * 0.03
    p_true, p_false = eta**2 / 2, 2 * (eta / 2) * d * 2 * (1 - eta / 2)
    assert link.success_probability == pytest.approx(p_true + p_false, rel=1e-13)
    expected_f = (p_true * (1 + v) / 2 + p_false / 4) / (p_true + p_false)
    assert link.fidelity == pytest.approx(expected_f, abs=1e-13)
    assert link.click_probability == pytest.approx(1 - (1 - eta) ** 2 * (1 - d) ** 4, rel=1e-13)


def test_unequal_sides_multiply_in_barrett_kok_and_unbalance_single_click():
    p, _ = barrett_kok(0.3, eta_b=0.1)
    assert p == pytest.approx(0.3 * 0.1 / 2)
    # single click, no dark counts: the one-photon branch sqrt(ea)|10> + sqrt(eb)|01> has
    # fidelity (1 + 2 V sqrt(ea eb) / (ea + eb)) / 2 with Psi+ (Phi+ after the X on B)
    ea, eb, a, v = 0.3, 0.1, 0.05, 0.9
    p, rho = single_click(ea, a, eta_b=eb, visibility=v)
    p_psi, p_11 = a * (1 - a) * (ea + eb), a * a * (1 - (1 - ea) * (1 - eb))
    assert p == pytest.approx(p_psi + p_11)
    f_branch = 0.5 * (1 + 2 * v * math.sqrt(ea * eb) / (ea + eb))
    phi = np.array([1, 0, 0, 1]) / math.sqrt(2)
    assert float(np.real(phi @ rho @ phi)) == pytest.approx(p_psi * f_branch / p, abs=1e-14)
    p_eq, rho_eq = single_click(0.2, a, eta_b=0.2, visibility=v)
    p_old, rho_old = single_click(0.2, a, visibility=v)
    assert p_eq == p_old and np.allclose(rho_eq, rho_old, atol=1e-15)


def test_from_hardware_rejects_bad_input():
    with pytest.raises(NetworkError, match="scheme must be 'barrett_kok' or 'single_click'"):
        HeraldedLink.from_hardware(Fiber(1), scheme="dlcz")
    with pytest.raises(NetworkError, match="never heralds"):
        HeraldedLink.from_hardware(Fiber(1), PhotonSource(efficiency=0.0))
    with pytest.raises(NetworkError, match="fiber must be a Fiber"):
        HeraldedLink.from_hardware(10)
    with pytest.raises(NetworkError, match="click_probability must be >= success_probability"):
        HeraldedLink(0.5, 10, werner(1.0), click_probability=0.2)


@settings(max_examples=40, deadline=None)
@given(length=st.floats(0, 200), eff=st.floats(0.05, 1), g2=st.floats(0, 0.3), m=st.floats(0, 1),
       f_e=st.floats(0.25, 1), dark=st.floats(0, 1e6), scheme=st.sampled_from(["barrett_kok", "single_click"]),
       alpha=st.floats(0.01, 0.5))
def test_derived_links_are_valid_states_and_probabilities(length, eff, g2, m, f_e, dark, scheme, alpha):
    link = HeraldedLink.from_hardware(
        Fiber(length), PhotonSource(efficiency=eff, g2=g2, indistinguishability=m, emission_fidelity=f_e),
        Detector(efficiency=0.9, dark_count_rate_hz=dark, window_s=1e-9), scheme=scheme, alpha=alpha)
    rho = link.state
    assert 0 < link.success_probability <= link.click_probability <= 1
    assert abs(np.trace(rho) - 1) < 1e-12 and np.allclose(rho, rho.conj().T, atol=1e-14)
    assert np.linalg.eigvalsh(rho).min() > -1e-12
    assert link.attempt_duration_ps >= 1


# --- detector dead time -----------------------------------------------------------------------
def _brute_force_gaps(p, c, period_slots_dead, attempts, rng):
    """Attempt by attempt: each live slot heralds with p, clicks without heralding with c - p;
    any click blinds the station for the next ``period_slots_dead`` slots. Returns the number
    of slots between consecutive heralds (a link that restarts at once, like a one-link chain)."""
    u = rng.random(attempts)
    gaps, last, k, dead_until = [], 0, 0, 0
    while k < attempts:
        if k >= dead_until and u[k] < c:
            dead_until = k + 1 + period_slots_dead
            if u[k] < p:
                gaps.append(k + 1 - last)
                last = k + 1
        k += 1
    return np.array(gaps)


@pytest.mark.parametrize("p,c,dead_ps", [(0.05, 0.3, 3_500_000), (0.2, 0.2, 2_000_000), (0.1, 0.6, 1_000_000)])
def test_dead_time_rate_matches_brute_force_and_the_non_paralyzable_formula(p, c, dead_ps):
    period = 1_000_000
    link = HeraldedLink(p, period, werner(1.0), click_probability=c, dead_time_ps=dead_ps)
    m = max(1, math.ceil(dead_ps / period))
    assert link.blocked_attempts == m - 1
    # analytic: R = c / T clicks per second without dead time, tau = (m - 1) T lost per click
    r_true = c / (period / PS_PER_S)
    tau = (m - 1) * period / PS_PER_S
    assert link.success_rate_hz == pytest.approx(p / c * r_true / (1 + r_true * tau), rel=1e-12)
    sim = simulate_chain(RepeaterChain((link,)), duration_s=0.4, seed=5)
    gaps = np.diff(np.concatenate([[0.0], sim.delivery_times_s])) * PS_PER_S / period
    assert np.allclose(gaps, np.round(gaps))  # whole attempt periods
    gaps = np.round(gaps)
    se = gaps.std() / math.sqrt(gaps.size)
    expected_gap = PS_PER_S / period / link.success_rate_hz
    assert gaps.mean() == pytest.approx(expected_gap, abs=4 * se)
    brute = _brute_force_gaps(p, c, m - 1, 600_000, np.random.default_rng(9))
    se2 = math.hypot(se, brute.std() / math.sqrt(brute.size))
    assert gaps.mean() == pytest.approx(brute.mean(), abs=4 * se2)
    # the distributions agree too: P(gap = g) for the first few values
    for g in range(1, 6):
        a, b = np.mean(gaps == g), np.mean(brute == g)
        assert a == pytest.approx(b, abs=5 * math.sqrt(max(a, 1e-4) / gaps.size) + 5 * math.sqrt(max(b, 1e-4) / brute.size))


def test_short_attempts_approach_the_continuous_time_dead_time_formula():
    # a fixed click rate R and dead time tau; attempts ever shorter: R_obs -> R / (1 + R tau)
    r, tau, frac = 2e5, 3e-6, 0.25  # clicks per second, seconds, heralds per click
    for period_ps, tol in [(100_000, 0.03), (10_000, 3e-3), (1_000, 3e-4)]:
        t = period_ps / PS_PER_S
        link = HeraldedLink(frac * r * t, period_ps, werner(1.0), click_probability=r * t,
                            dead_time_ps=round(tau * PS_PER_S))
        assert link.success_rate_hz == pytest.approx(frac * r / (1 + r * tau), rel=tol)


def test_attempt_draws_without_dead_time_are_the_plain_geometric_stream():
    link = HeraldedLink(0.1, 1000, werner(1.0), click_probability=0.5)  # no dead time
    a = attempts_until_success(np.random.default_rng(3), link, 1000)
    b = np.random.default_rng(3).geometric(0.1, 1000)
    assert np.array_equal(a, b)
    # click-free failures with dead time: also no extra draws
    quiet = HeraldedLink(0.1, 1000, werner(1.0), dead_time_ps=10_000)
    assert np.array_equal(attempts_until_success(np.random.default_rng(3), quiet, 1000), b)


def test_dead_time_shorter_than_the_restart_gap_costs_nothing():
    # two links; a link restarts only after delivery, one classical delay (10 us) after the
    # swap; heralds have no failed clicks, so a dead time below the gap changes nothing
    base = HeraldedLink(0.2, 1_000_000, werner(0.99), classical_delay_ps=10_000_000)
    dead = dataclasses.replace(base, dead_time_ps=8_000_000)
    r0 = simulate_chain(RepeaterChain((base, base)), duration_s=0.2, seed=2)
    r1 = simulate_chain(RepeaterChain((dead, dead)), duration_s=0.2, seed=2)
    assert r0.delivered > 1000 and r0.delivery_times_s == r1.delivery_times_s
    # longer than the gap: the restarted link waits for the detectors
    long = dataclasses.replace(base, dead_time_ps=40_000_000)
    r2 = simulate_chain(RepeaterChain((long, long)), duration_s=0.2, seed=2)
    assert r2.delivered < 0.9 * r0.delivered
    assert r2.provenance["dead_time_ps"] == [40_000_000, 40_000_000]


def test_derived_link_with_dead_time_runs_in_a_chain_at_its_analytic_rate():
    det = Detector(efficiency=0.9, dark_count_rate_hz=1e6, window_s=1e-7, dead_time_s=2.5e-6)
    link = HeraldedLink.from_hardware(Fiber(0.1), PhotonSource(rate_hz=2e6), det)  # 1 us attempts
    assert link.attempt_duration_ps == 1_000_000 and link.blocked_attempts == 2
    r = simulate_chain(RepeaterChain((link,)), duration_s=0.05, seed=1)
    gaps = np.diff(np.concatenate([[0.0], r.delivery_times_s]))
    assert 1 / gaps.mean() == pytest.approx(link.success_rate_hz, rel=4 * gaps.std() / gaps.mean() / math.sqrt(gaps.size))


# --- per-node hardware in chains --------------------------------------------------------------
def test_each_node_uses_its_own_memory_and_bell_measurement():
    # links herald at once (p = 1) at 1 us; node 1 swaps at once; the end qubits then wait the
    # classical delay to the far end (30 us) in their own memories before delivery
    l0 = HeraldedLink(1.0, 1_000_000, werner(1.0), classical_delay_ps=30_000_000)
    l1 = HeraldedLink(1.0, 1_000_000, werner(1.0), classical_delay_ps=10_000_000)
    t2a, t2b, pg, pm = 1e-4, 3e-4, 0.04, 0.02
    chain = RepeaterChain((l0, l1), memory=Memory(t2_s=1e-9),  # the default would ruin everything
                          node_memories=(Memory(t2_s=t2a), Memory(t2_s=1e-9), Memory(t2_s=t2b)),
                          node_swap_errors=((0.5, 0.5), (pg, pm), (0.5, 0.5)))
    r = simulate_chain(chain, duration_s=1e-3, seed=1)
    wait = 30e-6
    za, zb = (0.5 * (1 - math.exp(-wait / t)) for t in (t2a, t2b))
    z = za * (1 - zb) + zb * (1 - za)  # one net Z flip on the pair
    # readout errors leave Phi+ with (1-pm)^2 and Phi- (wrong Z correction) with pm (1-pm);
    # the depolarized gate mixes in pg/4 of each Bell state
    f_swap = (1 - pg) * (1 - pm) ** 2 + pg / 4
    phim = (1 - pg) * pm * (1 - pm) + pg / 4
    expected = f_swap * (1 - z) + phim * z
    assert r.delivered >= 20
    assert max(abs(f - expected) for f in r.fidelities) < 1e-12
    dm = simulate_chain(chain, duration_s=1e-3, seed=1, representation="density_matrix")
    np.testing.assert_allclose(dm.fidelities, r.fidelities, atol=1e-12)
    assert r.provenance["node_swap_errors"][1] == [pg, pm]


def test_per_node_t1_picks_density_matrices_and_per_node_cutoff_discards():
    link = HeraldedLink(0.05, 1_000_000, werner(1.0))
    mems = (Memory(), Memory(t1_s=1e-4, t2_s=1e-4, cutoff_s=20e-6), Memory())
    r = simulate_chain(RepeaterChain((link, link), node_memories=mems), duration_s=0.002, seed=4)
    assert r.provenance["representation"] == "density_matrix"
    assert r.discarded > 0
    assert max(r.delivery_times_s) > 0  # still delivers
    with pytest.raises(NetworkError, match="node_memories must hold one Memory per node"):
        RepeaterChain((link, link), node_memories=(Memory(),))
    with pytest.raises(NetworkError, match=r"node_swap_errors\[1\] gate_depolarizing must be a probability"):
        RepeaterChain((link, link), node_swap_errors=((0, 0), (1.5, 0), (0, 0)))


# --- the noisy Bell measurement against a circuit ---------------------------------------------
def _swap_circuit(prep_ab, prep_cd, pg, pm):
    """Density matrix of (A, D) after the real swap circuit on Kizuna's density-matrix
    simulator: Phi+ on (A=0, B=1) and (C=2, D=3), noise on B and D (through ``id`` gates),
    CNOT B->C with two-qubit depolarizing, H on B, both measured with readout errors, and
    X^{m_C} Z^{m_B} on D conditioned on the recorded bits."""
    c = Circuit(4)
    c.add_creg("mz", 1)
    c.add_creg("mx", 1)
    c.h(0).cx(0, 1).h(2).cx(2, 3).id(1).id(3)
    c.cx(1, 2).h(1)
    c.measure(1, c.creg("mz").indices[0])
    c.measure(2, c.creg("mx").indices[0])
    with c.if_test("mx", 1):
        c.x(3)
    with c.if_test("mz", 1):
        c.z(3)
    noise = NoiseModel()
    noise.add_quantum_error(prep_ab, ["id"], [1])
    noise.add_quantum_error(prep_cd, ["id"], [3])
    if pg:
        noise.add_quantum_error(depolarizing(pg, 2), ["cx"], [1, 2])
    if pm:
        noise.add_readout_error(readout_error(pm, pm), [1, 2])
    rho = np.asarray(density_matrix(c, noise)).reshape([2] * 8)  # axes D C B A | D' C' B' A'
    return np.einsum("dcbaDcbA->daDA", rho).reshape(4, 4)  # (A, D), A bit 0


@pytest.mark.parametrize("pg,pm", [(0.0, 0.0), (0.1, 0.0), (0.0, 0.07), (0.13, 0.05), (1.0, 0.5)])
def test_noisy_bell_measurement_equals_the_swap_circuit(pg, pm):
    rng = np.random.default_rng(int(1000 * pg + 100 * pm))
    lam, mu = rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(4))
    ref = _swap_circuit(pauli_channel(dict(zip("IXYZ", lam))), pauli_channel(dict(zip("IXYZ", mu))), pg, pm)
    ours = swap(BellDiagonalState(tuple(lam)), BellDiagonalState(tuple(mu)), gate_depolarizing=pg, readout_error=pm)
    np.testing.assert_allclose(ours.density_matrix(), ref, atol=1e-12)


@pytest.mark.parametrize("pg,pm", [(0.0, 0.0), (0.08, 0.03)])
def test_noisy_swap_of_relaxed_pairs_equals_the_swap_circuit(pg, pm):
    # amplitude damping on B leaves the Bell-diagonal family: the density-matrix swap (used by
    # chains with finite T1) must still equal the circuit
    ref = _swap_circuit(amplitude_damping(0.3), amplitude_damping(0.1), pg, pm)

    def damped(gamma):
        phi = np.zeros((4, 4), dtype=complex)
        phi[np.ix_([0, 3], [0, 3])] = 0.5
        k0 = np.kron(np.array([[1, 0], [0, math.sqrt(1 - gamma)]]), np.eye(2))  # on B (bit 1)
        k1 = np.kron(np.array([[0, math.sqrt(gamma)], [0, 0]]), np.eye(2))
        return k0 @ phi @ k0.T + k1 @ phi @ k1.T

    ours = swap_density_matrices(damped(0.3), damped(0.1), gate_depolarizing=pg, readout_error=pm)
    np.testing.assert_allclose(ours, ref, atol=1e-12)
