"""Exact parameter-shift circuit QFI (against analytic values and the finite-difference path)
and the Liu–West particle filter (against the grid posterior and by frequentist coverage)."""

from __future__ import annotations

import numpy as np
import pytest

import kizuna
from kizuna.sensing import (
    SensingError,
    circuit_qfi,
    ramsey_bayes,
    ramsey_smc,
    simulate_ramsey_counts,
)


def test_shift_qfi_of_ghz_phase_is_n_squared_exactly():
    t = kizuna.Parameter("t")
    n = 4
    c = kizuna.Circuit(n).h(0)
    for k in range(n - 1):
        c.cx(k, k + 1)
    for k in range(n):
        c.rz(t, k)
    f = circuit_qfi(c, {"t": 0.37}, method="shift")
    assert abs(f[0, 0] - n * n) < 1e-12  # GHZ under sum_k Z_k / 2 = Jz: N^2


def test_shift_qfi_matrix_of_a_bloch_state_is_analytic():
    """|psi> = rz(phi) ry(theta)|0>: the Fubini–Study metric gives F = diag(1, sin^2 theta)."""
    th, ph = kizuna.Parameter("theta"), kizuna.Parameter("phi")
    c = kizuna.Circuit(1).ry(th, 0).rz(ph, 0)
    theta = 0.9
    f = circuit_qfi(c, {"theta": theta, "phi": 0.4}, [th, ph], method="shift")
    assert np.allclose(f, np.diag([1.0, np.sin(theta) ** 2]), atol=1e-13)


def test_shift_matches_finite_difference_with_repeated_and_affine_parameters():
    t, u = kizuna.Parameter("t"), kizuna.Parameter("u")
    c = (kizuna.Circuit(3).h(0).cx(0, 1).cx(1, 2).rz(t, 0).rz(2 * t + 0.1, 1).ry(u, 2)
         .rzz(0.5 * u, 0, 1).rx(t, 2).rxx(-u, 1, 2))
    vals = {"t": 0.3, "u": 0.7}
    shift = circuit_qfi(c, vals, method="shift")
    fd = circuit_qfi(c, vals, method="finite_difference")
    assert np.max(np.abs(shift - fd)) < 1e-8
    assert np.allclose(circuit_qfi(c, vals), shift, atol=0)  # auto takes the shift rule here


def test_other_gates_fall_back_to_finite_difference_or_raise_when_shift_is_forced():
    t = kizuna.Parameter("t")
    c = kizuna.Circuit(1).h(0).p(t, 0)
    assert abs(circuit_qfi(c, {"t": 0.2})[0, 0] - 1.0) < 1e-8  # p(t) = phase e^{i t |1><1|}: F = 1
    with pytest.raises(SensingError, match="shift"):
        circuit_qfi(c, {"t": 0.2}, method="shift")
    with pytest.raises(SensingError, match="method"):
        circuit_qfi(c, {"t": 0.2}, method="adjoint")


# --- sequential Monte Carlo ------------------------------------------------------------------
T2, TIMES, SHOTS, GRID = 1e-4, np.array([1e-5, 2e-5, 4e-5]), 100, np.linspace(0, 3e5, 30001)


def counts_for(omega, seed):
    return np.array([simulate_ramsey_counts(omega, t, T2, SHOTS, seed=seed * 10 + m) for m, t in enumerate(TIMES)])


def test_particle_posterior_matches_the_grid_posterior():
    counts = counts_for(1.2e5, 0)
    grid = ramsey_bayes(counts, SHOTS, TIMES, T2, GRID)
    smc = ramsey_smc(counts, SHOTS, TIMES, T2, (0.0, 3e5), num_particles=4000, seed=3)
    assert abs(smc.mean_rad_s - grid.mean_rad_s) < 0.1 * grid.std_rad_s
    assert abs(smc.std_rad_s / grid.std_rad_s - 1) < 0.1
    assert smc.resamples >= 1 and np.isclose(smc.weights.sum(), 1)


def test_particle_filter_is_calibrated_and_agrees_with_the_grid_over_repetitions():
    reps = 150
    truth = np.random.default_rng(1).uniform(0.2e5, 2.8e5, reps)
    counts = np.stack([counts_for(w, 100 + r) for r, w in enumerate(truth)])
    smc = ramsey_smc(counts, SHOTS, TIMES, T2, (0.0, 3e5), num_particles=1000, seed=4)
    grid = ramsey_bayes(counts, SHOTS, TIMES, T2, GRID)
    # 95% credible intervals (Gaussian approximation) cover the truth ~95% of the time; with
    # 150 repetitions the binomial standard deviation is 1.8%, so [0.88, 0.995] is >= 3.5 sigma
    cover = np.mean(np.abs(smc.mean_rad_s - truth) < 1.96 * smc.std_rad_s)
    assert 0.88 <= cover <= 0.995
    assert np.median(np.abs(smc.mean_rad_s - grid.mean_rad_s) / grid.std_rad_s) < 0.1
    assert np.median(np.abs(smc.std_rad_s / grid.std_rad_s - 1)) < 0.1


def test_particle_filter_is_seeded_and_checks_inputs():
    counts = counts_for(1e5, 5)
    a = ramsey_smc(counts, SHOTS, TIMES, T2, (0.0, 3e5), num_particles=300, seed=9)
    b = ramsey_smc(counts, SHOTS, TIMES, T2, (0.0, 3e5), num_particles=300, seed=9)
    assert np.array_equal(a.particles_rad_s, b.particles_rad_s) and a.mean_rad_s == b.mean_rad_s
    with pytest.raises(SensingError, match="prior_bounds"):
        ramsey_smc(counts, SHOTS, TIMES, T2, (3e5, 0.0))
    with pytest.raises(SensingError, match="liu_west_a"):
        ramsey_smc(counts, SHOTS, TIMES, T2, (0.0, 3e5), liu_west_a=1.5)
    with pytest.raises(SensingError, match="counts"):
        ramsey_smc(counts[:2], SHOTS, TIMES, T2, (0.0, 3e5))
    with pytest.raises(SensingError, match="num_particles"):
        ramsey_smc(counts, SHOTS, TIMES, T2, (0.0, 3e5), num_particles=1)
    with pytest.raises(SensingError, match="t2_s"):
        ramsey_smc(counts, SHOTS, TIMES, -1.0, (0.0, 3e5))
