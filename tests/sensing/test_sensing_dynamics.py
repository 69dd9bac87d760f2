"""Lindblad evolution against QuTiP's ``mesolve`` (test-only reference), the analytic Ramsey
curve ``(1 + e^{-t/T2} cos(w t))/2``, and the three paths against each other.

The sensitivity ``d rho/d theta`` is checked against a central difference of two solves."""

from __future__ import annotations

import numpy as np
import pytest
import qutip
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna import PauliSum
from kizuna.sensing import EvolveOptions, Evolver, SensingError, evolve


def ghz(n):
    psi = np.zeros(1 << n, complex)
    psi[0] = psi[-1] = 2**-0.5
    return psi


def site_sum(n, letter, coeffs):
    return PauliSum.from_sparse_list([(letter, [k], c) for k, c in enumerate(coeffs)], n)


def lowering(n, k, rate):
    # sigma_- = (X + iY)/2 on qubit k with |1> the excited state in Kizuna's Z = diag(1, -1)?
    # any single-qubit operator is local; this one is (X - iY)/2 = |1><0| scaled by sqrt(rate)
    a = rate**0.5 / 2
    return PauliSum.from_sparse_list([("X", [k], a), ("Y", [k], -1j * a)], n)


def mesolve(h, rho0, times, c_ops, e_ops):
    q = lambda m: qutip.Qobj(m.to_matrix() if isinstance(m, PauliSum) else m)
    r = qutip.mesolve(q(h), qutip.Qobj(np.outer(rho0, rho0.conj()) if rho0.ndim == 1 else rho0),
                      times, [q(c) for c in c_ops], e_ops=[q(e) for e in e_ops],
                      options={"atol": 1e-13, "rtol": 1e-11, "nsteps": 100000})
    return np.array(r.expect)


@pytest.mark.parametrize("method", ["general", "local"])
def test_driven_dissipative_spins_match_mesolve(method):
    n = 3
    h = site_sum(n, "X", [0.7, 0.5, 0.9]) + site_sum(n, "Z", [0.3, -0.2, 0.6])
    c = [lowering(n, k, 0.15) for k in range(n)] + [site_sum(n, "Z", [0.2 if j == k else 0 for j in range(n)])
                                                      for k in range(n)]
    e = [site_sum(n, "X", [1, 1, 1]), PauliSum.from_sparse_list([("ZZ", [0, 2], 1.0)], n),
         site_sum(n, "Y", [0, 1, 0])]
    times = np.linspace(0, 6, 31)
    r = evolve(h, ghz(n), times, c, e_ops=e, options={"method": method})
    assert r.method == method
    ref = mesolve(h, ghz(n), times, c, e)
    assert np.max(np.abs(r.expect - ref)) < 1e-6


def test_interacting_driven_system_matches_mesolve_and_sensitivity_matches_difference():
    """Two coupled qubits (ZZ + XX) with drive, decay and a dense random Hermitian part: only
    the general path applies."""
    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    h = PauliSum({"ZZ": 0.8, "XX": 0.3, "IX": 0.5}).to_matrix() + 0.1 * (a + a.conj().T)
    c = [lowering(2, 0, 0.2).to_matrix(), lowering(2, 1, 0.1).to_matrix(), 0.3 * PauliSum({"ZI": 1}).to_matrix()]
    e = [PauliSum({"ZI": 1}).to_matrix(), PauliSum({"XY": 1}).to_matrix()]
    psi = np.array([1, 1, 0, 1j]) / 3**0.5
    times = np.array([0.0, 0.4, 1.1, 2.0, 3.7])  # non-uniform grid
    g = PauliSum({"ZZ": 1.0}).to_matrix()
    r = evolve(h, psi, times, c, e_ops=e, d_hamiltonian=g, options={"store_states": True})
    assert r.method == "general"
    assert np.max(np.abs(r.expect - mesolve(h, psi, times, c, e))) < 1e-6
    eps = 1e-5
    rp = evolve(h + eps * g, psi, times, c, options={"store_states": True})
    rm = evolve(h - eps * g, psi, times, c, options={"store_states": True})
    fd = (rp.states - rm.states) / (2 * eps)
    assert np.max(np.abs(r.derivatives - fd)) < 1e-7
    assert np.allclose(r.d_expect[0], np.einsum("ji,tij->t", e[0], r.derivatives).real, atol=1e-12)
    # states are density matrices: Hermitian, unit trace
    assert np.allclose(np.trace(r.states, axis1=1, axis2=2), 1, atol=1e-12)
    assert np.allclose(r.states, r.states.conj().transpose(0, 2, 1), atol=1e-12)


@pytest.mark.parametrize("t2", [1e-4, 3e-6])
def test_ramsey_curve_is_analytic(t2):
    w = 2 * np.pi * 50e3  # rad/s
    h = PauliSum({"Z": w / 2})  # e^{-i w t Z/2}: the phase w t between |0> and |1>
    c = [PauliSum({"Z": (1 / (2 * t2)) ** 0.5})]
    times = np.linspace(0, 3 * t2, 200)
    plus = np.array([1, 1]) / 2**0.5
    r = evolve(h, plus, times, c, e_ops=[PauliSum({"X": 1.0})])
    assert r.method == "diagonal"
    assert np.max(np.abs(r.expect[0] - np.exp(-times / t2) * np.cos(w * times))) < 1e-10
    rg = evolve(h, plus, times, c, e_ops=[PauliSum({"X": 1.0})], options={"method": "general"})
    assert np.max(np.abs(rg.expect[0] - np.exp(-times / t2) * np.cos(w * times))) < 1e-9


def test_diagonal_path_matches_general_path_with_derivatives():
    n = 3
    rng = np.random.default_rng(0)
    h = PauliSum({"ZZI": 0.4, "IZZ": -0.3, "IIZ": 1.1})
    c = [site_sum(n, "Z", [0.3, 0, 0]), PauliSum({"ZZI": 0.2})]
    a = rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8))
    rho = a @ a.conj().T
    rho /= np.trace(rho)
    times = np.linspace(0, 2, 9)
    g = site_sum(n, "Z", [0.5] * n)
    e = [site_sum(n, "X", [1, 1, 1])]
    rd = evolve(h, rho, times, c, e_ops=e, d_hamiltonian=g, options={"store_states": True})
    rg = evolve(h, rho, times, c, e_ops=e, d_hamiltonian=g, options={"method": "general", "store_states": True})
    assert rd.method == "diagonal" and rg.method == "general"
    assert np.max(np.abs(rd.states - rg.states)) < 1e-12
    assert np.max(np.abs(rd.derivatives - rg.derivatives)) < 1e-12
    assert np.max(np.abs(rd.expect - rg.expect)) < 1e-12
    assert np.max(np.abs(rd.d_expect - rg.d_expect)) < 1e-12


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_local_path_matches_general_path_on_random_single_spin_terms(seed):
    rng = np.random.default_rng(seed)
    n = 3
    h = sum((site_sum(n, p, rng.normal(size=n)) for p in "XYZ"), PauliSum({"III": 0.0}))
    c = [PauliSum.from_sparse_list([(p, [k], complex(*rng.normal(size=2)) * 0.3)], n)
         for k in range(n) for p in "XZ"]
    a = rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8))
    rho = a @ a.conj().T
    rho /= np.trace(rho)
    times = np.sort(rng.uniform(0, 2, 5))
    rl = evolve(h, rho, times, c, e_ops=[site_sum(n, "Y", [1, 2, 3])], options={"store_states": True})
    rg = evolve(h, rho, times, c, e_ops=[site_sum(n, "Y", [1, 2, 3])],
                options={"method": "general", "store_states": True})
    assert rl.method == "local"
    assert np.max(np.abs(rl.states - rg.states)) < 1e-10
    assert np.max(np.abs(rl.expect - rg.expect)) < 1e-10
    # trace preserved, Hermitian, positive
    assert np.allclose(np.trace(rl.states, axis1=1, axis2=2), 1, atol=1e-12)
    assert min(np.linalg.eigvalsh(s).min() for s in rl.states) > -1e-10


def test_evolver_is_reusable_and_options_are_checked():
    ev = Evolver(PauliSum({"X": 1.0}), options=EvolveOptions(method="general"))
    r1 = ev.run(np.array([1, 0]), [0, 1])
    r2 = ev.run(np.array([0, 1]), [0, 1])
    assert np.allclose(r1.states[-1] + r2.states[-1], np.eye(2), atol=1e-12)
    with pytest.raises(SensingError, match="unknown option"):
        evolve(PauliSum({"X": 1.0}), np.array([1, 0]), [0, 1], options={"metod": "general"})
    with pytest.raises(SensingError, match="method"):
        EvolveOptions(method="rk4")
    with pytest.raises(SensingError, match="method='diagonal'"):
        evolve(PauliSum({"X": 1.0}), np.array([1, 0]), [0, 1], options={"method": "diagonal"})


def test_bad_inputs():
    with pytest.raises(SensingError, match="hamiltonian must be Hermitian"):
        evolve(np.array([[0, 1], [0, 0]]), np.array([1, 0]), [0, 1])
    with pytest.raises(SensingError, match="not a density matrix"):
        evolve(np.eye(2), np.array([[0.5, 0.2], [0.1, 0.5]]), [0, 1])
    with pytest.raises(SensingError, match="trace must be 1"):
        evolve(np.eye(2), np.eye(2), [0, 1])
    with pytest.raises(SensingError, match="negative eigenvalue"):
        evolve(np.eye(2), np.diag([1.5, -0.5]), [0, 1])
    with pytest.raises(SensingError, match="non-decreasing"):
        evolve(np.eye(2), np.array([1, 0]), [1, 0])
    with pytest.raises(SensingError, match="c_ops\\[0\\] must have shape"):
        evolve(np.eye(2), np.array([1, 0]), [0, 1], [np.eye(3)])


def test_storing_states_that_cannot_fit_is_refused_before_solving(monkeypatch):
    from kizuna.errors import MemoryLimitError

    monkeypatch.setenv("KIZUNA_MEMORY_LIMIT", "100MiB")
    n = 8  # 200 states of 256 x 256 complex128 = 200 MiB
    h = site_sum(n, "Z", [1.0] * n)
    with pytest.raises(MemoryLimitError, match="store_states"):
        evolve(h, ghz(n), np.linspace(0, 1, 200), options={"store_states": True})
    r = evolve(h, ghz(n), np.linspace(0, 1, 200), e_ops=[h])  # expectations only: fine
    assert r.states is None and np.allclose(r.expect, 0, atol=1e-12)


def test_collective_model_in_the_dicke_basis_matches_the_full_space():
    """Superradiant decay plus a collective drive and one-axis twisting on N = 5 spins: the
    (N + 1)-dimensional Dicke-basis evolution equals the 2^N-dimensional one (collective
    operators keep a symmetric state symmetric)."""
    from kizuna.sensing import collective_spin, dicke_isometry, dicke_spin_operators

    n = 5
    jx, jy, jz = (collective_spin(n, a).to_matrix() for a in "xyz")
    dx, dy, dz = (m.toarray() for m in dicke_spin_operators(n))
    v = dicke_isometry(n)
    for full, dicke in ((jx, dx), (jy, dy), (jz, dz)):
        assert np.allclose(v.T @ full @ v, dicke, atol=1e-12)
    jm_full, jm_dicke = jx - 1j * jy, dx - 1j * dy  # J- lowers m
    h_full, h_dicke = 0.4 * jx + 0.3 * jz @ jz, 0.4 * dx + 0.3 * dz @ dz
    psi_dicke = np.zeros(n + 1, complex)
    psi_dicke[0] = 1.0  # all spins up: |J, J>
    times = np.linspace(0, 3, 16)
    full = evolve(h_full, v @ psi_dicke, times, [0.5 * jm_full], e_ops=[jz, jx])
    small = evolve(h_dicke, psi_dicke, times, [0.5 * jm_dicke], e_ops=[dz, dx])
    assert np.max(np.abs(full.expect - small.expect)) < 1e-10
    assert full.expect[0, -1] < 0  # it decayed
