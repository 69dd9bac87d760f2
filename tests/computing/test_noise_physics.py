"""Noisy circuits reproduce textbook physics: T1 decay, Ramsey (T2) decay, randomized
benchmarking.

References: the amplitude-damping / dephasing solution of the Bloch equations (Nielsen &
Chuang, section 8.3.5-8.3.6: populations relax as exp(-t/T1), coherences as exp(-t/T2));
randomized benchmarking's decay F(m) = A f^m + B (Magesan, Gambetta & Emerson, PRL 106, 180504
(2011)), with f = 1 - p for a depolarizing channel rho -> (1-p) rho + p I/2 after each
Clifford. The idle noise comes from the noise model's schedule, not from hand-placed channels.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

import kizuna
from kizuna.computing.execute import density_matrix

T1, T2, GATE = 50e-6, 70e-6, 1e-6  # seconds


def _idle_model() -> kizuna.NoiseModel:
    return kizuna.NoiseModel().set_idle_relaxation(T1, T2).set_duration(["x", "h"], GATE)


def _wait(c: kizuna.Circuit, k: int) -> kizuna.Circuit:
    """Qubit 1 runs k + 1 gates of 1 us while qubit 0 (busy for its first 1 us gate) waits at
    the rzz(0) (an identity that takes no time but needs both qubits): qubit 0 idles k us."""
    for _ in range(k + 1):
        c.x(1)
    return c.rzz(0.0, 0, 1)


def _excited_population(k: int) -> float:
    c = _wait(kizuna.Circuit(2).x(0), k)
    rho = density_matrix(c, _idle_model())
    return rho[1, 1].real + rho[3, 3].real  # qubit 0 in |1>, either state of qubit 1


def _ramsey_ground_population(k: int) -> float:
    rho = density_matrix(_wait(kizuna.Circuit(2).h(0), k).h(0), _idle_model())
    return rho[0, 0].real + rho[2, 2].real


@pytest.mark.parametrize("k", [0, 3, 10, 40, 100])
def test_excited_qubit_decays_as_exp_minus_t_over_t1(k):
    assert _excited_population(k) == pytest.approx(math.exp(-k * GATE / T1), abs=1e-12)


@pytest.mark.parametrize("k", [0, 5, 20, 60])
def test_ramsey_fringe_decays_as_exp_minus_t_over_t2(k):
    assert _ramsey_ground_population(k) == pytest.approx(0.5 + 0.5 * math.exp(-k * GATE / T2), abs=1e-12)


def test_fitting_a_sweep_recovers_t1_and_t2():
    from scipy.optimize import curve_fit

    ks = range(0, 120, 10)
    t = np.array(ks) * GATE
    p1 = [_excited_population(k) for k in ks]
    ramsey = [_ramsey_ground_population(k) for k in ks]
    (t1,), _ = curve_fit(lambda t, a: np.exp(-t / a), t, p1, p0=(30e-6,))
    (t2,), _ = curve_fit(lambda t, a: 0.5 + 0.5 * np.exp(-t / a), t, ramsey, p0=(30e-6,))
    assert t1 == pytest.approx(T1, rel=1e-6)
    assert t2 == pytest.approx(T2, rel=1e-6)


def _example():
    path = Path(__file__).parents[2] / "examples" / "randomized_benchmarking.py"
    spec = importlib.util.spec_from_file_location("rb_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_clifford_group_has_24_distinct_elements():
    group = _example().clifford_group()
    assert len(group) == 24
    for g in group:
        np.testing.assert_allclose(g.conj().T @ g, np.eye(2), atol=1e-12)


@pytest.mark.parametrize("m", [0, 1, 7, 30])
def test_rb_survival_is_exactly_the_depolarizing_decay(m):
    # m Cliffords and the inverse: m + 1 depolarizing channels; a sequence is the identity, so
    # survival = 1/2 + (1 - p)^(m+1) / 2 for every sequence
    rb = _example()
    p = 0.03
    noise = kizuna.NoiseModel().add_all_qubit_error(kizuna.channels.depolarizing(p), ["unitary"])
    c = rb.rb_circuit(m, np.random.default_rng(m), rb.clifford_group())
    rho = density_matrix(c, noise)
    assert rho[0, 0].real == pytest.approx(0.5 + 0.5 * (1 - p) ** (m + 1), abs=1e-12)


def test_rb_example_recovers_the_depolarizing_rate_from_shots():
    result = _example().run_rb(0.02, [1, 5, 10, 20, 40, 80, 120], sequences=4, shots=5000, seed=11)
    # over 8 seeds this configuration gave p = 0.0200 +- 0.00044 (2.2%): allow 4.5 sigma
    assert result["p_fitted"] == pytest.approx(0.02, rel=0.1)
    assert result["error_per_clifford"] == pytest.approx(result["p_fitted"] / 2)
