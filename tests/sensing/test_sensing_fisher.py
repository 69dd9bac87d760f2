"""Fisher information: analytic literature values, an independent SLD solve, properties.

References:
* GHZ_N under e^{-i phi Jz}: F_Q = N^2 (Giovannetti, Lloyd, Maccone, PRL 96, 010401 (2006)).
* p GHZ + (1 - p) I/d: F_Q = p^2 N^2 / (p + 2 (1 - p)/d): the SLD sum over the GHZ 2-level block
  (eigenvalues p + (1-p)/d and (1-p)/d, |<+|Jz|->|^2 = N^2/4), derived in the test docstring.
* Dephased GHZ (coherence e^{-N gamma t}): F_Q(phi) = N^2 e^{-2 N gamma t}
  (Huelga et al., PRL 79, 3865 (1997)).
* The SLD L solves d rho = (L rho + rho L)/2 and F = Tr(rho L^2) (Braunstein & Caves, PRL 72, 3439
  (1994)); scipy's Sylvester solver gives it independently of the eigen-sum formula.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import unitary_group

import kizuna
from kizuna.sensing import (
    SensingError,
    cfi,
    circuit_qfi,
    collective_spin,
    cramer_rao_bound,
    povm_cfi,
    qfi,
    qfi_from_derivative,
    qfi_matrix,
)


def ghz(n: int) -> np.ndarray:
    psi = np.zeros(1 << n, dtype=complex)
    psi[0] = psi[-1] = 2**-0.5
    return psi


def jz_diag(n: int) -> np.ndarray:
    idx = np.arange(1 << n)
    ones = np.array([int(i).bit_count() for i in idx])
    return (n - 2 * ones) / 2.0  # Z = +1 on |0>


def random_density_matrix(rng, d: int, rank: int | None = None) -> np.ndarray:
    a = rng.normal(size=(d, rank or d)) + 1j * rng.normal(size=(d, rank or d))
    rho = a @ a.conj().T
    return rho / np.trace(rho).real


def random_hermitian(rng, d: int) -> np.ndarray:
    a = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    return (a + a.conj().T) / 2


def sld_qfi_reference(rho: np.ndarray, g: np.ndarray) -> float:
    """Full-rank rho: solve rho L + L rho = 2 drho with drho = -i[G, rho]; F = Tr(rho L^2)."""
    drho = -1j * (g @ rho - rho @ g)
    sld = scipy.linalg.solve_sylvester(rho, rho, 2 * drho)
    return float(np.trace(rho @ sld @ sld).real)


@pytest.mark.parametrize("n", [1, 2, 5, 10, 16, 20])
def test_ghz_qfi_is_n_squared_pure_path(n):
    f = qfi(ghz(n), collective_spin(n, "z"))
    assert abs(f - n * n) <= 1e-12 * n * n


def test_ghz_qfi_with_diagonal_and_dense_generators_agree():
    n = 6
    psi = ghz(n)
    f_diag = qfi(psi, jz_diag(n))
    f_dense = qfi(psi, np.diag(jz_diag(n)))
    f_rho = qfi(np.outer(psi, psi.conj()), collective_spin(n, "z"))
    assert abs(f_diag - 36) < 1e-12 and abs(f_dense - 36) < 1e-12 and abs(f_rho - 36) < 1e-10


def test_product_state_qfi_is_n():
    n = 8
    plus = np.full(1 << n, 2 ** (-n / 2), dtype=complex)
    assert abs(qfi(plus, collective_spin(n, "z")) - n) < 1e-12
    assert abs(qfi(plus, collective_spin(n, "x"))) < 1e-12  # eigenstate of Jx


@pytest.mark.parametrize("n", [1, 2, 4, 7, pytest.param(10, marks=pytest.mark.slow)])
@pytest.mark.parametrize("p", [0.05, 0.3, 0.8, 0.999])
def test_noisy_ghz_qfi_matches_closed_form(n, p):
    """Eigenvalues p + (1-p)/d on |GHZ+>, (1-p)/d elsewhere; only the |GHZ+>, |GHZ-> pair
    contributes: 2 (p)^2 / (p + 2 (1-p)/d) * 2 |<+|Jz|->|^2 with <+|Jz|-> = N/2, so
    F = p^2 N^2 / (p + 2 (1-p)/d)."""
    d = 1 << n
    psi = ghz(n)
    rho = p * np.outer(psi, psi.conj()) + (1 - p) * np.eye(d) / d
    expected = p * p * n * n / (p + 2 * (1 - p) / d)
    assert abs(qfi(rho, collective_spin(n, "z")) - expected) <= 1e-10 * max(1.0, expected)


def test_noisy_ghz_qfi_at_ten_qubits():
    """The same closed form at N = 10 (d = 1024: one eigh; the other p values run with -m slow)."""
    test_noisy_ghz_qfi_matches_closed_form(10, 0.3)


@pytest.mark.parametrize("n", [1, 3, 6])
@pytest.mark.parametrize("gamma_t", [0.0, 0.05, 0.4, 1.5])
def test_dephased_ghz_qfi(n, gamma_t):
    d = 1 << n
    psi = ghz(n)
    rho = np.outer(psi, psi.conj())
    rho[0, -1] *= np.exp(-n * gamma_t)
    rho[-1, 0] *= np.exp(-n * gamma_t)
    assert abs(qfi(rho, collective_spin(n, "z")) - n * n * np.exp(-2 * n * gamma_t)) < 1e-10
    assert rho.shape == (d, d)


@pytest.mark.parametrize("seed", range(4))
def test_mixed_qfi_matches_sylvester_sld(seed):
    rng = np.random.default_rng(seed)
    d = 6
    rho, g = random_density_matrix(rng, d), random_hermitian(rng, d)
    ref = sld_qfi_reference(rho, g)
    assert abs(qfi(rho, g) - ref) < 1e-9 * max(1, ref)
    drho = -1j * (g @ rho - rho @ g)
    assert abs(qfi_from_derivative(rho, drho) - ref) < 1e-9 * max(1, ref)


def test_qfi_matrix_diagonal_matches_qfi_and_pure_equals_mixed():
    rng = np.random.default_rng(5)
    d = 8
    psi = rng.normal(size=d) + 1j * rng.normal(size=d)
    psi /= np.linalg.norm(psi)
    gens = [random_hermitian(rng, d) for _ in range(3)]
    fp = qfi_matrix(psi, gens)
    fm = qfi_matrix(np.outer(psi, psi.conj()), gens)
    assert np.allclose(fp, fm, atol=1e-9)
    assert np.allclose(np.diag(fp), [qfi(psi, g) for g in gens], atol=1e-12)
    assert np.allclose(fp, fp.T)
    assert np.linalg.eigvalsh(fp).min() > -1e-10


def test_cfi_of_optimal_measurement_reaches_qfi_and_bounds():
    # |+> rotated by e^{-i phi Z/2}, measured in X: CFI = 1 = QFI
    phi = 0.83
    psi = np.array([np.exp(-0.5j * phi), np.exp(0.5j * phi)]) / 2**0.5
    dpsi = np.array([-0.5j * np.exp(-0.5j * phi), 0.5j * np.exp(0.5j * phi)]) / 2**0.5
    plus = np.full((2, 2), 0.5)
    assert abs(povm_cfi(psi, dpsi, [plus, np.eye(2) - plus]) - 1.0) < 1e-12
    # measuring Z gives nothing
    assert abs(povm_cfi(psi, dpsi, [np.diag([1.0, 0]), np.diag([0, 1.0])])) < 1e-12
    assert cramer_rao_bound(1.0, shots=4) == 0.25
    assert np.allclose(cramer_rao_bound(np.diag([2.0, 4.0])), np.diag([0.5, 0.25]))
    assert cramer_rao_bound(0.0) == np.inf
    fm = cfi([0.5, 0.5], [[0.5, -0.5], [0.1, -0.1]])
    assert np.allclose(fm, [[1.0, 0.2], [0.2, 0.04]])


def test_circuit_qfi_of_ghz_circuit_and_product_circuit():
    t = kizuna.Parameter("t")
    n = 4
    c = kizuna.Circuit(n).h(0)
    for k in range(1, n):
        c.cx(0, k)
    for k in range(n):
        c.rz(t, k)  # e^{-i t Z/2} on each: generator Jz
    assert np.allclose(circuit_qfi(c, {"t": 0.37}), [[n * n]], atol=1e-8)
    a, b = kizuna.Parameter("a"), kizuna.Parameter("b")
    c2 = kizuna.Circuit(1).ry(a, 0).rz(b, 0)
    # |psi> = Rz(b) Ry(a)|0>: F_aa = 1, F_bb = sin^2 a, F_ab = 0 (Bloch-sphere metric)
    f = circuit_qfi(c2, {"a": 0.6, "b": 1.1})
    assert np.allclose(f, [[1.0, 0.0], [0.0, np.sin(0.6) ** 2]], atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(2, 6), rank=st.integers(1, 6))
def test_qfi_properties(seed, d, rank):
    """0 <= F <= 4 Var(G); convexity: F(mix) <= mean of F over the pure components."""
    rng = np.random.default_rng(seed)
    rank = min(rank, d)
    g = random_hermitian(rng, d)
    rho = random_density_matrix(rng, d, rank)
    f = qfi(rho, g, threshold=1e-10)
    var = np.trace(rho @ g @ g).real - np.trace(rho @ g).real ** 2
    assert f >= 0 and f <= 4 * var + 1e-8
    w, v = np.linalg.eigh(rho)
    pure = sum(wk * qfi(v[:, k], g) for k, wk in enumerate(w) if wk > 1e-14)
    assert f <= pure + 1e-8
    # unitary invariance: F(U rho U^dag, U G U^dag) = F(rho, G)
    u = unitary_group.rvs(d, random_state=seed % 2**31)
    assert abs(qfi(u @ rho @ u.conj().T, u @ g @ u.conj().T, threshold=1e-10) - f) < 1e-7 * max(1, f)


def test_bad_inputs_raise_clear_errors():
    psi = np.array([1.0, 0.0])
    with pytest.raises(SensingError, match="Hermitian"):
        qfi(psi, np.array([[0, 1], [0, 0]]))
    with pytest.raises(SensingError, match="unit vector"):
        qfi(np.array([1.0, 1.0]), np.eye(2))
    with pytest.raises(SensingError, match="trace must be 1"):
        qfi(np.eye(2), np.eye(2))
    with pytest.raises(SensingError, match="negative eigenvalue"):
        qfi(np.array([[1.5, 0], [0, -0.5]]), np.eye(2))
    with pytest.raises(SensingError, match="not Hermitian"):
        qfi(np.array([[0.5, 0.3], [0.0, 0.5]]), np.eye(2))
    with pytest.raises(SensingError, match="acts on 2 qubit"):
        qfi(psi, collective_spin(2))
    with pytest.raises(SensingError, match="shape"):
        qfi(psi, np.eye(3))
    with pytest.raises(SensingError, match="sum to 1"):
        cfi([0.5, 0.6], [0, 0])
    with pytest.raises(SensingError, match="shots"):
        cramer_rao_bound(1.0, shots=0)
    with pytest.raises(SensingError, match="threshold"):
        qfi(psi, np.eye(2), threshold=-1)
    with pytest.raises(ValueError):  # SensingError is a ValueError
        qfi(psi, "Z")
