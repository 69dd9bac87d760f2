"""Ramsey and one-axis-twisting protocols against literature values.

* Huelga et al., PRL 79, 3865 (1997): with independent dephasing, max over t of F(t)/t is
  N T2 / (2e) for both the product and the GHZ probe (at t = T2/2 and T2/(2N)).
* Single-qubit Ramsey: F(t) = t^2 e^{-2t/T2}, so F/t peaks at T2/2.
* Dephased GHZ: F = N^2 t^2 e^{-2Nt/T2}.
* Kitagawa & Ueda, PRA 47, 5138 (1993), one-axis twisting at N = 100: min xi_S^2 = 0.04794;
  Wineland et al., PRA 50, 67 (1994) xi_R^2 minimised over the twist: 0.06295; xi_S^2 ~ N^{-2/3}.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from kizuna.sensing import (
    SensingError,
    dicke_spin_operators,
    one_axis_twisted_state,
    optimal_ramsey_time,
    optimal_squeezing,
    ramsey,
    ramsey_fisher,
    ramsey_probability,
    squeezing_parameters,
)

T2 = 1e-4


@pytest.mark.parametrize("probe", ["product", "ghz"])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_huelga_optimum_of_fisher_per_time_is_n_t2_over_2e(n, probe):
    t, rate = optimal_ramsey_time(T2, num_qubits=n, probe=probe, method="exact")
    assert rate == pytest.approx(n * T2 / (2 * math.e), rel=1e-6)
    expected_t = T2 / 2 if probe == "product" else T2 / (2 * n)
    assert t == pytest.approx(expected_t, rel=1e-3)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
@pytest.mark.parametrize("t_over_t2", [0.01, 0.1, 0.37, 1.2])
def test_dephased_ghz_fisher_from_one_solve(n, t_over_t2):
    t = t_over_t2 * T2
    f = ramsey_fisher(t, T2, num_qubits=n, probe="ghz")
    assert f == pytest.approx(n * n * t * t * math.exp(-2 * n * t / T2), rel=1e-9)
    fp = ramsey_fisher(t, T2, num_qubits=n, probe="product")
    assert fp == pytest.approx(n * t * t * math.exp(-2 * t / T2), rel=1e-9)


def test_single_qubit_ramsey_optimum_is_t2_over_2():
    t, _ = optimal_ramsey_time(T2, method="exact")
    assert abs(t / (T2 / 2) - 1) < 1e-3
    r = ramsey(T2, shots=10_000)
    assert abs(r.optimal_time_s / (T2 / 2) - 1) < 1e-3
    f = (T2 / 2) ** 2 * math.exp(-1)
    assert r.frequency_uncertainty_rad_s == pytest.approx(1 / math.sqrt(1e4 * f), rel=1e-6)
    # the classical Fisher information of the fringe at the quadrature point equals the QFI
    w = math.pi / 2 / r.optimal_time_s
    p = ramsey_probability(r.optimal_time_s, w, T2)
    dp = -0.5 * math.exp(-0.5) * math.sin(w * r.optimal_time_s) * r.optimal_time_s
    assert dp**2 / (p * (1 - p)) == pytest.approx(r.fisher_per_shot, rel=1e-9)


@pytest.mark.parametrize("method", ["dicke", "analytic"])
def test_one_axis_twisting_at_100_spins(method):
    ku = optimal_squeezing(100, "kitagawa_ueda", method=method)
    wi = optimal_squeezing(100, "wineland", method=method)
    assert abs(ku.xi2 - 0.04794) < 1e-4
    assert abs(wi.xi2 - 0.06295) < 1e-4


def test_dicke_moments_match_closed_form_at_fixed_twist():
    for n, mu in [(10, 0.3), (100, 0.1), (1000, 0.02)]:
        xs, xr = squeezing_parameters(one_axis_twisted_state(n, mu), n)
        a = 1 - math.cos(mu) ** (n - 2)
        b = 4 * math.sin(mu / 2) * math.cos(mu / 2) ** (n - 2)
        ref = 1 + (n - 1) / 4 * (a - math.sqrt(a * a + b * b))
        assert xs == pytest.approx(ref, rel=1e-9)
        jx = n / 2 * math.cos(mu / 2) ** (n - 1)
        assert xr == pytest.approx(n * (n / 4) * ref / jx**2, rel=1e-9)


def test_squeezing_scales_as_n_to_minus_two_thirds():
    ns = np.array([1000, 2000, 4000, 10000])
    xi = [optimal_squeezing(int(n), method="dicke").xi2 for n in ns]
    slope = np.polyfit(np.log(ns), np.log(xi), 1)[0]
    assert abs(slope + 2 / 3) < 0.01


def test_dicke_operators_satisfy_spin_algebra():
    jx, jy, jz = (m.toarray() for m in dicke_spin_operators(5))
    assert np.allclose(jx @ jy - jy @ jx, 1j * jz)
    assert np.allclose(jx @ jx + jy @ jy + jz @ jz, 2.5 * 3.5 * np.eye(6))


def test_bad_inputs():
    with pytest.raises(SensingError, match=r"t2_s must be > 0 and finite \(got -1"):
        ramsey(-1.0)
    with pytest.raises(SensingError, match="t2_s"):
        ramsey_fisher(1e-5, 0.0)
    with pytest.raises(SensingError, match="probe"):
        optimal_ramsey_time(T2, probe="noon")
    with pytest.raises(SensingError, match="shots"):
        ramsey(T2, shots=0)
    with pytest.raises(SensingError, match="num_spins"):
        optimal_squeezing(2)
    with pytest.raises(SensingError, match="length"):
        squeezing_parameters(np.ones(3) / 3**0.5, 5)


# --- NV magnetometry (Barry et al., RMP 92, 015004 (2020); Taylor et al., Nat. Phys. 4, 810 (2008))
GAMMA_NV = 2.0028 * 9.2740100783e-24 / 1.054571817e-34  # g mu_B / hbar (CODATA 2018 values), rad/(s T)


def test_nv_dc_sensitivity_is_the_ramsey_budget_divided_by_gamma():
    from kizuna.sensing import nv_sensitivity

    r = nv_sensitivity(T2)  # C = 1, no overhead, p = 1
    assert r.gyromagnetic_ratio_rad_s_t == pytest.approx(GAMMA_NV, rel=1e-7)  # CODATA 2018 vs 2022
    assert r.interrogation_time_s == pytest.approx(T2 / 2, rel=1e-4)
    assert r.sensitivity_t_per_sqrt_hz == pytest.approx(ramsey(T2).sensitivity_rad_s_per_sqrt_hz / GAMMA_NV, rel=1e-8)


def test_nv_optimum_with_overhead_solves_the_stationarity_condition():
    from scipy.optimize import brentq

    from kizuna.sensing import nv_sensitivity

    t2s, oh = 1e-6, 3e-6
    r = nv_sensitivity(t2s, overhead_s=oh, readout_fidelity=0.03)
    # d/dtau log(sqrt(tau + tO) / (tau e^{-tau/T})) = 1/(2(tau + tO)) - 1/tau + 1/T = 0
    tau = brentq(lambda x: 1 / (2 * (x + oh)) - 1 / x + 1 / t2s, 1e-9, 10 * t2s)
    assert r.interrogation_time_s == pytest.approx(tau, rel=1e-4)
    expected = math.sqrt(tau + oh) / (0.03 * GAMMA_NV * tau * math.exp(-tau / t2s))
    assert r.sensitivity_t_per_sqrt_hz == pytest.approx(expected, rel=1e-8)
    ac = nv_sensitivity(t2s, mode="ac", overhead_s=oh, readout_fidelity=0.03)
    assert ac.sensitivity_t_per_sqrt_hz == pytest.approx(math.pi / 2 * expected, rel=1e-8)


def test_nv_readout_fidelity_and_bad_inputs():
    from kizuna.sensing import nv_readout_fidelity, nv_sensitivity

    assert nv_readout_fidelity(0.03, 0.021) == pytest.approx((1 + 2 * 0.051 / 0.009**2) ** -0.5, rel=1e-12)
    assert nv_readout_fidelity(1e6, 0.0) == pytest.approx(1.0, abs=1e-5)  # photon-rich: projection limited
    with pytest.raises(SensingError, match="coherence_time_s must be > 0"):
        nv_sensitivity(0.0)
    with pytest.raises(SensingError, match="readout_fidelity"):
        nv_sensitivity(1e-6, readout_fidelity=1.5)
    with pytest.raises(SensingError, match="overhead_s"):
        nv_sensitivity(1e-6, overhead_s=-1e-6)
    with pytest.raises(SensingError, match="photons"):
        nv_readout_fidelity(0.01, 0.02)


# --- dynamical decoupling: Klauder & Anderson, Phys. Rev. 125, 912 (1962) closed forms for OU noise;
# CPMG against the filter-function integral chi = (1/2) int dw/(2 pi) S(w) |Y(w)|^2 with
# S(w) = 2 sigma^2 tau_c / (1 + w^2 tau_c^2) (Cywinski et al., PRB 77, 174509 (2008)).
def test_ramsey_and_echo_match_klauder_anderson():
    from kizuna.sensing import decoupled_coherence

    sigma, tc = 2e5, 3e-6
    t = np.linspace(0, 40e-6, 41)
    fid = decoupled_coherence(t, sigma_rad_s=sigma, correlation_time_s=tc)
    echo = decoupled_coherence(t, sigma_rad_s=sigma, correlation_time_s=tc, sequence="hahn")
    x = t / tc
    assert np.allclose(fid, np.exp(-(sigma * tc) ** 2 * (x - 1 + np.exp(-x))), rtol=1e-12, atol=0)
    assert np.allclose(echo, np.exp(-(sigma * tc) ** 2 * (x - 3 + 4 * np.exp(-x / 2) - np.exp(-x))), rtol=1e-12)
    assert np.all(echo[1:] > fid[1:])  # the echo refocuses slow noise


@pytest.mark.parametrize("n", [2, 4, 7])
def test_cpmg_matches_filter_function_integral(n):
    from scipy.integrate import quad

    from kizuna.sensing import decoupled_coherence

    sigma, tc, t = 1e5, 2e-6, 10e-6
    edges = np.concatenate([[0.0], (np.arange(1, n + 1) - 0.5) / n * t, [t]])
    signs = (-1.0) ** np.arange(edges.size - 1)

    def y2(w):  # |Y(w)|^2 of the piecewise +-1 switching function
        if w == 0:
            return float(np.sum(signs * np.diff(edges))) ** 2
        y = np.sum(signs * (np.exp(1j * w * edges[1:]) - np.exp(1j * w * edges[:-1])) / (1j * w))
        return abs(y) ** 2

    # chi = int_0^inf dw/(2 pi) S |Y|^2; with w = tan(u)/tc, S dw = 2 sigma^2 du
    chi = sigma**2 / np.pi * quad(lambda u: y2(np.tan(u) / tc), 0, np.pi / 2, limit=5000,
                                  epsabs=1e-22, epsrel=1e-12)[0]
    got = decoupled_coherence(t, sigma_rad_s=sigma, correlation_time_s=tc, sequence="cpmg", num_pulses=n)
    assert float(got) == pytest.approx(math.exp(-chi), rel=1e-7)
    # explicit pulse fractions reproduce the CPMG row
    same = decoupled_coherence(t, sigma_rad_s=sigma, correlation_time_s=tc,
                               pulse_fractions=(np.arange(1, n + 1) - 0.5) / n)
    assert float(same) == pytest.approx(float(got), rel=1e-14)


def test_decoupling_bad_inputs():
    from kizuna.sensing import decoupled_coherence

    with pytest.raises(SensingError, match="correlation_time_s"):
        decoupled_coherence(1e-6, sigma_rad_s=1.0, correlation_time_s=0.0)
    with pytest.raises(SensingError, match="sequence"):
        decoupled_coherence(1e-6, sigma_rad_s=1.0, correlation_time_s=1.0, sequence="xy8")
    with pytest.raises(SensingError, match="pulse_fractions"):
        decoupled_coherence(1e-6, sigma_rad_s=1.0, correlation_time_s=1.0, pulse_fractions=[0.6, 0.4])
