"""``sweep_chain`` over the hardware of hardware-derived links (source, detector, memory, alpha).

References, independent of the code under test:

* Barrett-Kok success probability ``eta**2 / 2`` and heralded state ``(1 + V)/2 Phi+ +
  (1 - V)/2 Phi-`` (Barrett & Kok, PRA 71, 060310(R) (2005)), with the first-order HOM
  visibility ``V = M - (1 + M) g2`` (Ollivier et al., PRL 126, 063602 (2021));
* the non-paralyzable dead-time rate ``p / (T (1 + c (m - 1)))``: ``R_obs = R / (1 + R tau)``
  with ``R = c / T`` and ``tau = (m - 1) T`` (Knoll, *Radiation Detection and Measurement*,
  ch. 4), heralds the fraction ``p / c`` of the clicks.
"""

from __future__ import annotations

import concurrent.futures as cf
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.errors import NetworkError
from kizuna.networking import (
    Detector,
    Fiber,
    HeraldedLink,
    Memory,
    RepeaterChain,
    simulate_chain,
    sweep_chain,
)
from kizuna.networking.hardware import PhotonSource

# One link of 0.2 km: the midpoint round trip (2 x 0.1 km x 5 us/km) and the two emissions of a
# 2 MHz source both take T = 1 us.
SHORT = {"num_links": 1, "length_km": 0.2, "source": {"rate_hz": 2e6, "efficiency": 0.5},
         "detector": {"efficiency": 0.9}}
T_S = 1e-6
ETA = 0.5 * 0.9 * 10 ** (-0.2 * 0.1 / 10)  # source x detector x fiber to the midpoint


def _renewal_tolerance(rate: float, duration_s: float, cv: float = 1.0, sigmas: float = 4.0) -> float:
    """Relative tolerance of a measured renewal rate: ``sigmas`` standard errors,
    ``cv / sqrt(N)`` with ``N = rate * duration`` events and ``cv`` the gaps' sd / mean (< 1
    here: the gaps are geometric plus a fixed dead-time offset)."""
    return sigmas * cv / math.sqrt(rate * duration_s)


def test_dead_time_sweep_follows_the_non_paralyzable_rate():
    deads = [0.0, 0.9e-6, 2.5e-6, 4.5e-6, 9.5e-6]
    s = sweep_chain("dead_time_s", deads, duration_s=0.05, seed=3, **SHORT)
    p, c = ETA**2 / 2, 1 - (1 - ETA) ** 2
    for dead, fig, rate in zip(deads, s.link_figures, s.pairs_per_second):
        m = max(1, math.ceil(round(dead / T_S, 9)))
        expected = p / (T_S * (1 + c * (m - 1)))
        assert fig["blocked_attempts"] == m - 1 and fig["attempt_period_s"] == T_S
        assert fig["success_probability"] == pytest.approx(p, rel=1e-12)
        assert fig["click_probability"] == pytest.approx(c, rel=1e-12)
        assert fig["success_rate_hz"] == pytest.approx(expected, rel=1e-12)
        assert rate == pytest.approx(expected, rel=_renewal_tolerance(expected, 0.05))
    # a dead time within one attempt costs nothing (same seed, same run as without it); beyond
    # it, the rate falls
    no_dead = HeraldedLink.from_hardware(Fiber(0.2), PhotonSource(rate_hz=2e6, efficiency=0.5), Detector(efficiency=0.9))
    assert simulate_chain(RepeaterChain((no_dead,)), 0.05, seed=s.seeds[1]).delivered == s.delivered[1]
    assert s.pairs_per_second[1] > s.pairs_per_second[2] > s.pairs_per_second[3] > s.pairs_per_second[4]


def test_hardware_sweep_rows_do_not_depend_on_the_executor():
    kw = {"duration_s": 0.02, "seed": 9, "num_links": 3, "length_km": 0.4,
          "memory": {"t2_s": 0.01, "efficiency": 0.9}, "source": {"rate_hz": 1e6, "efficiency": 0.6},
          "detector": {"dark_count_rate_hz": 1e4, "window_s": 1e-8}, "swap_gate_depolarizing": 0.01}
    values = [0.0, 3e-6, 7e-6]
    serial = sweep_chain("dead_time_s", values, workers=1, **kw)
    with cf.ThreadPoolExecutor(max_workers=3) as pool:
        threaded = sweep_chain("dead_time_s", values, executor=pool, **kw)
    pooled = sweep_chain("dead_time_s", values, workers=2, **kw)
    assert serial == threaded == pooled
    assert min(serial.delivered) > 10
    assert serial.to_dict()["link_figures"][2]["blocked_attempts"] == 3   # ceil(7 us / 2 us) - 1


def test_each_point_is_the_library_chain_with_its_seed():
    s = sweep_chain("g2", [0.0, 0.05], duration_s=0.02, seed=1, num_links=2, length_km=0.4, scheme="single_click",
                    alpha=0.08, source={"indistinguishability": 0.95, "rate_hz": 1e6},
                    detector={"efficiency": 0.8, "dead_time_s": 3e-6}, memory={"t2_s": 0.05},
                    readout_error=0.01)
    for g2, seed, rate, fid in zip(s.values, s.seeds, s.pairs_per_second, s.mean_fidelity):
        mem = Memory(t2_s=0.05)
        link = HeraldedLink.from_hardware(
            Fiber(0.4), PhotonSource(rate_hz=1e6, g2=g2, indistinguishability=0.95),
            Detector(efficiency=0.8, dead_time_s=3e-6), mem, scheme="single_click", alpha=0.08)
        r = simulate_chain(RepeaterChain((link, link), memory=mem, readout_error=0.01), 0.02, seed=seed)
        assert (r.pairs_per_second, r.mean_fidelity) == (rate, fid)
    assert s.mean_fidelity[0] > s.mean_fidelity[1]     # multi-photon emission lowers the visibility


def test_detector_efficiency_g2_and_source_rate_enter_as_the_textbook_formulas():
    eff = sweep_chain("detector_efficiency", [0.2, 0.5, 1.0], duration_s=0.01, seed=1, **SHORT)
    for de, fig in zip(eff.values, eff.link_figures):
        eta = 0.5 * de * 10 ** (-0.2 * 0.1 / 10)
        assert fig["success_probability"] == pytest.approx(eta**2 / 2, rel=1e-12)
    m = 0.9
    g2 = sweep_chain("g2", [0.0, 0.02, 0.1], duration_s=0.01, seed=1, **SHORT | {
        "source": {"rate_hz": 2e6, "efficiency": 0.5, "indistinguishability": m}})
    for g, fig, fid in zip(g2.values, g2.link_figures, g2.mean_fidelity):
        v = m - (1 + m) * g
        assert fig["heralded_fidelity"] == pytest.approx((1 + v) / 2, abs=1e-12)
        assert fid == pytest.approx((1 + v) / 2, abs=1e-12)    # one link, perfect memories
    rate = sweep_chain("source_rate_hz", [1e5, 1e6, 1e8], duration_s=0.01, seed=1, num_links=1, length_km=2.0)
    # the period is the longer of two emissions (Barrett-Kok) and the 2 x 1 km x 5 us/km round trip
    assert [f["attempt_period_s"] for f in rate.link_figures] == [2e-5, 1e-5, 1e-5]


def test_single_click_alpha_and_memory_efficiency_sweeps():
    a = sweep_chain("alpha", [0.05, 0.2], duration_s=0.02, seed=2, num_links=1, length_km=1.0, scheme="single_click")
    # ideal hardware (Cabrillo et al., PRA 59, 1025): one photon, 2 alpha (1 - alpha) eta, heralds
    # Psi+ (Phi+ after the correction); two, alpha**2 (1 - (1 - eta)**2), herald a product state
    # orthogonal to Phi+: F = p_one / p
    eta = 10 ** (-0.2 * 0.5 / 10)
    for alpha, fig in zip(a.values, a.link_figures):
        p_psi, p_11 = 2 * alpha * (1 - alpha) * eta, alpha**2 * (1 - (1 - eta) ** 2)
        assert fig["success_probability"] == pytest.approx(p_psi + p_11, rel=1e-12)
        assert fig["heralded_fidelity"] == pytest.approx(p_psi / (p_psi + p_11), rel=1e-12)
    assert a.mean_fidelity[0] > a.mean_fidelity[1] and a.pairs_per_second[0] < a.pairs_per_second[1]
    me = sweep_chain("memory_efficiency", [0.5, 1.0], duration_s=0.01, seed=2, **SHORT)
    assert me.link_figures[0]["success_probability"] == pytest.approx(me.link_figures[1]["success_probability"] / 4)


def test_hardware_sweep_errors_name_the_value():
    with pytest.raises(NetworkError, match="link_fidelity sets a Werner link; it cannot be combined with a "
                                           "hardware-derived link \\(parameter='dead_time_s'\\)"):
        sweep_chain("dead_time_s", [1e-6], duration_s=0.01, link_fidelity=0.9)
    with pytest.raises(NetworkError, match="success_probability sets a Werner link.*\\(source\\)"):
        sweep_chain("length_km", [1], duration_s=0.01, source={"g2": 0.1}, success_probability=0.1)
    with pytest.raises(NetworkError, match="alpha is the single-click .* needs scheme='single_click' "
                                           "\\(got scheme='barrett_kok'\\)"):
        sweep_chain("alpha", [0.1], duration_s=0.01)
    with pytest.raises(NetworkError, match="scheme must be 'barrett_kok' or 'single_click' \\(got 'two_click'\\)"):
        sweep_chain("length_km", [1], duration_s=0.01, scheme="two_click")
    with pytest.raises(NetworkError, match="g2 must be <= 1 \\(got 2\\)"):
        sweep_chain("g2", [0.0, 2], duration_s=1e3)   # the bad point fails before any simulation
    with pytest.raises(NetworkError, match="source has unknown field\\(s\\) colour"):
        sweep_chain("dead_time_s", [0.0], duration_s=0.01, source={"colour": "red"})
    with pytest.raises(NetworkError, match="unknown chain option\\(s\\) flux"):
        sweep_chain("length_km", [1], duration_s=0.01, flux=3)
    with pytest.raises(NetworkError, match="duration_s must be > 0"):
        sweep_chain("dead_time_s", [0.0], duration_s=0)
    with pytest.raises(NetworkError, match="never heralds"):
        sweep_chain("source_efficiency", [0.5, 0.0], duration_s=0.01)


@settings(max_examples=30, deadline=None)
@given(dead_periods=st.floats(0.0, 12.0), eff=st.floats(0.05, 1.0), dark=st.floats(0.0, 1e6))
def test_link_figures_satisfy_the_dead_time_identities(dead_periods, eff, dark):
    s = sweep_chain("dead_time_s", [0.0, dead_periods * T_S], duration_s=1e-4, seed=0, num_links=1, length_km=0.2,
                    source={"rate_hz": 2e6}, detector={"efficiency": eff, "dark_count_rate_hz": dark,
                                                       "window_s": 1e-7})
    free, dead = s.link_figures
    dead_ps = Detector(dead_time_s=dead_periods * T_S).dead_time_ps     # the clock's integer picoseconds
    m = max(1, math.ceil(dead_ps / 1_000_000))
    assert dead["blocked_attempts"] == m - 1 and free["blocked_attempts"] == 0
    for k in ("success_probability", "click_probability", "heralded_fidelity", "attempt_period_s"):
        assert dead[k] == free[k]                 # dead time changes only the rate
    p, c = free["success_probability"], free["click_probability"]
    assert p <= c <= 1
    assert free["success_rate_hz"] == pytest.approx(p / T_S, rel=1e-12)
    assert dead["success_rate_hz"] == pytest.approx(p / (T_S * (1 + c * (m - 1))), rel=1e-12)
    assert dead["success_rate_hz"] <= free["success_rate_hz"]


def test_werner_sweeps_gain_link_figures_and_swap_parameters():
    s = sweep_chain("swap_gate_depolarizing", [0.0, 0.1], duration_s=0.01, seed=1, num_links=2,
                    link_fidelity=0.99, success_probability=0.3)
    assert [f["heralded_fidelity"] for f in s.link_figures] == pytest.approx([0.99, 0.99], abs=1e-12)
    assert s.link_figures[0]["blocked_attempts"] == 0
    # one swap with a two-qubit depolarizing gate of probability q: Werner p -> p**2 (1 - q)
    pw = (4 * 0.99 - 1) / 3
    assert s.mean_fidelity[1] == pytest.approx(0.25 + 0.75 * pw**2 * 0.9, abs=1e-12)
    assert np.isfinite(s.mean_fidelity).all()
