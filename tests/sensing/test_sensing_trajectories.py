"""Quantum-jump trajectories (``method="mc"``) against the master equation (Kizuna's exact
paths, QuTiP's mesolve and mcsolve), within stated statistical tolerances; local-path
sensitivities against the general path and finite differences; ``EvolveResult`` JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kizuna import PauliSum
from kizuna.sensing import EvolveResult, SensingError, collective_spin, evolve
from kizuna.sensing import (
    _dynamics as dynamics_module,  # to force the sparse propagator
)

SX = np.array([[0, 1], [1, 0]], complex)
SZ = np.diag([1.0, -1.0]).astype(complex)
SM = np.array([[0, 0], [1, 0]], complex)
H = 0.8 * SX + 0.3 * SZ
C_OPS = [0.5 * SM, 0.3 * SZ]
TIMES = np.linspace(0, 5, 26)
# 5 standard errors per point: over ~50 points a false failure has probability ~3e-5
Z_MAX = 5.0


def test_trajectory_means_match_the_master_equation_within_standard_errors():
    exact = evolve(H, np.array([1, 0]), TIMES, C_OPS, e_ops=[SZ, SX])
    mc = evolve(H, np.array([1, 0]), TIMES, C_OPS, e_ops=[SZ, SX], options={"method": "mc", "ntraj": 600},
                seed=11)
    assert mc.method == "mc" and mc.ntraj == 600 and mc.seed == 11
    se = mc.expect_std_err
    assert se.shape == mc.expect.shape and np.all(se[:, 1:] > 0)
    assert np.max(np.abs(mc.expect - exact.expect) / np.maximum(se, 1e-3)) < Z_MAX
    assert np.max(se) < 0.05  # ~1/sqrt(600): the test can fail


def test_trajectories_are_reproducible_bit_for_bit_and_depend_on_the_seed():
    opts = {"method": "mc", "ntraj": 50}
    a = evolve(H, np.array([1, 0]), TIMES, C_OPS, e_ops=[SZ], options=opts, seed=3)
    b = evolve(H, np.array([1, 0]), TIMES, C_OPS, e_ops=[SZ], options=opts, seed=3)
    c = evolve(H, np.array([1, 0]), TIMES, C_OPS, e_ops=[SZ], options=opts, seed=4)
    g = evolve(H, np.array([1, 0]), TIMES, C_OPS, e_ops=[SZ], options=opts, seed=np.random.default_rng(3))
    assert np.array_equal(a.expect, b.expect) and np.array_equal(a.expect_std_err, b.expect_std_err)
    assert not np.array_equal(a.expect, c.expect)
    assert g.seed is None and np.all(np.isfinite(g.expect))


def test_mixed_initial_state_and_stored_states_on_three_qubits_match_mesolve():
    qutip = pytest.importorskip("qutip")
    n = 3
    h = collective_spin(n, "x") + 0.4 * PauliSum.from_sparse_list([("ZZ", [0, 1], 1.0)], n)
    a = 0.2**0.5 / 2
    c = [PauliSum.from_sparse_list([("X", [k], a), ("Y", [k], -1j * a)], n) for k in range(n)]
    rho0 = np.diag(np.r_[0.7, np.full(7, 0.3 / 7)]).astype(complex)
    times = np.linspace(0, 3, 7)
    e = [collective_spin(n, "z"), collective_spin(n, "x")]
    mc = evolve(h, rho0, times, c, e_ops=e, options={"method": "mc", "ntraj": 400, "store_states": True}, seed=5)
    q = lambda m: qutip.Qobj(m.to_matrix())
    ref = qutip.mesolve(q(h), qutip.Qobj(rho0), times, [q(x) for x in c], e_ops=[q(x) for x in e],
                        options={"atol": 1e-12, "rtol": 1e-10})
    assert np.max(np.abs(mc.expect - np.array(ref.expect)) / np.maximum(mc.expect_std_err, 1e-3)) < Z_MAX
    assert mc.states.shape == (7, 8, 8)
    assert np.allclose(np.trace(mc.states, axis1=1, axis2=2), 1, atol=1e-12)
    jz = e[0].to_matrix()
    assert np.allclose(np.einsum("ij,tji->t", jz, mc.states).real, mc.expect[0], atol=1e-12)


@pytest.mark.slow
def test_trajectory_means_agree_with_qutip_mcsolve():
    qutip = pytest.importorskip("qutip")
    ntraj = 500
    ours = evolve(H, np.array([1, 0]), TIMES, C_OPS, e_ops=[SZ], options={"method": "mc", "ntraj": ntraj}, seed=1)
    theirs = qutip.mcsolve(qutip.Qobj(H), qutip.basis(2, 0), TIMES, [qutip.Qobj(c) for c in C_OPS],
                           e_ops=[qutip.Qobj(SZ)], ntraj=ntraj, options={"progress_bar": False}, seeds=1)
    diff = ours.expect[0] - np.array(theirs.expect[0])
    # two independent estimates of one mean: their difference has std ~ sqrt(2) * SE
    assert np.max(np.abs(diff) / (np.sqrt(2) * np.maximum(ours.expect_std_err[0], 1e-3))) < Z_MAX


def test_sparse_propagator_path_matches_the_eigenbasis_path(monkeypatch):
    exact = evolve(H, np.array([1, 0]), TIMES[:8], C_OPS, e_ops=[SZ])
    monkeypatch.setattr(dynamics_module, "_MC_DENSE_MAX", 0)
    mc = evolve(H, np.array([1, 0]), TIMES[:8], C_OPS, e_ops=[SZ], options={"method": "mc", "ntraj": 120}, seed=2)
    assert np.max(np.abs(mc.expect - exact.expect) / np.maximum(mc.expect_std_err, 1e-3)) < Z_MAX


def test_no_collapse_operators_give_the_exact_unitary_result():
    mc = evolve(H, np.array([1, 0]), TIMES, [], e_ops=[SZ], options={"method": "mc", "ntraj": 4}, seed=0)
    exact = evolve(H, np.array([1, 0]), TIMES, [], e_ops=[SZ])
    assert np.max(np.abs(mc.expect - exact.expect)) < 1e-10
    assert np.max(mc.expect_std_err) < 1e-10


def test_mc_rejects_bad_options():
    with pytest.raises(SensingError, match="ntraj"):
        evolve(H, np.array([1, 0]), TIMES, C_OPS, options={"method": "mc", "ntraj": 1})
    with pytest.raises(SensingError, match="d_hamiltonian"):
        evolve(H, np.array([1, 0]), TIMES, C_OPS, d_hamiltonian=SZ, options={"method": "mc"})
    with pytest.raises(ValueError, match="seed"):
        evolve(H, np.array([1, 0]), TIMES, C_OPS, options={"method": "mc"}, seed=-1)
    with pytest.raises(SensingError, match="unit vector"):
        evolve(H, np.array([1, 1]), TIMES, C_OPS, options={"method": "mc"})
    with pytest.raises(SensingError, match="length 2"):
        evolve(H, np.array([1, 0, 0]), TIMES, C_OPS, options={"method": "mc"})


# --- sensitivities on the independent-spin path ---------------------------------------------
def _local_model(n):
    h = (PauliSum.from_sparse_list([("X", [k], c) for k, c in enumerate([0.7, 0.5, 0.9][:n])], n)
         + PauliSum.from_sparse_list([("Z", [k], c) for k, c in enumerate([0.3, -0.2, 0.6][:n])], n))
    a = 0.15**0.5 / 2
    c = [PauliSum.from_sparse_list([("X", [k], a), ("Y", [k], -1j * a)], n) for k in range(n)]
    c += [PauliSum.from_sparse_list([("Z", [k], 0.2)], n) for k in range(n)]
    g = collective_spin(n, "z") + 0.3 * PauliSum.from_sparse_list([("X", [1], 1.0)], n)
    return h, c, g


def test_local_path_derivatives_match_general_path_and_finite_differences():
    n = 3
    h, c, g = _local_model(n)
    psi = np.zeros(8, complex)
    psi[0] = psi[-1] = 2**-0.5
    times = np.linspace(0, 4, 9)
    e = [collective_spin(n, "x"), collective_spin(n, "y")]
    opts = {"method": "local", "store_states": True}
    loc = evolve(h, psi, times, c, e_ops=e, d_hamiltonian=g, options=opts)
    gen = evolve(h, psi, times, c, e_ops=e, d_hamiltonian=g, options={"method": "general", "store_states": True})
    assert loc.method == "local"
    assert np.max(np.abs(loc.derivatives - gen.derivatives)) < 1e-10
    assert np.max(np.abs(loc.d_expect - gen.d_expect)) < 1e-10
    eps = 1e-5
    rp = evolve(h + eps * g, psi, times, c, e_ops=e, options=opts)
    rm = evolve(h - eps * g, psi, times, c, e_ops=e, options=opts)
    assert np.max(np.abs((rp.states - rm.states) / (2 * eps) - loc.derivatives)) < 1e-8
    assert np.max(np.abs((rp.expect - rm.expect) / (2 * eps) - loc.d_expect)) < 1e-8
    # auto now keeps the local path when the generator is local
    assert evolve(h, psi, times, c, e_ops=e, d_hamiltonian=g).method == "local"


def test_dephased_ramsey_fisher_information_from_the_local_path():
    """n independent spins, |+>^n, H = w Jz, dephasing sqrt(1/(2 T2)) Z: F_Q(t) about w is
    n t^2 e^{-2t/T2} (Huelga et al., PRL 79, 3865 (1997))."""
    from kizuna.sensing import qfi_from_derivative

    n, w, t2 = 2, 1.0, 2.0
    h = w * collective_spin(n, "z") + 0.0 * collective_spin(n, "x")
    c = [PauliSum.from_sparse_list([("Z", [k], (1 / (2 * t2)) ** 0.5)], n) for k in range(n)]
    plus = np.full(1 << n, 2 ** (-n / 2), complex)
    times = np.array([0.0, 0.5, 1.0, 2.0])
    r = evolve(h, plus, times, c, d_hamiltonian=collective_spin(n, "z"),
               options={"method": "local", "store_states": True})
    f = [qfi_from_derivative(s, d) for s, d in zip(r.states[1:], r.derivatives[1:])]
    assert np.allclose(f, n * times[1:] ** 2 * np.exp(-2 * times[1:] / t2), rtol=1e-9)


# --- JSON ------------------------------------------------------------------------------------
def test_evolve_result_round_trips_through_json():
    mc = evolve(H, np.array([1, 0]), TIMES[:4], C_OPS, e_ops=[SZ, SM], options={"method": "mc", "ntraj": 10},
                seed=7)
    back = EvolveResult.from_dict(json.loads(json.dumps(mc.to_dict())))
    assert back.method == "mc" and back.ntraj == 10 and back.seed == 7
    assert np.array_equal(back.expect, mc.expect) and np.array_equal(back.expect_std_err, mc.expect_std_err)
    assert np.iscomplexobj(back.expect)  # SM is not Hermitian
    ex = evolve(H, np.array([1, 0]), TIMES[:3], C_OPS, d_hamiltonian=SZ, options={"store_states": True})
    back = EvolveResult.from_dict(json.loads(json.dumps(ex.to_dict())))
    assert np.array_equal(back.states, ex.states) and np.array_equal(back.derivatives, ex.derivatives)
    assert back.expect.shape == (0, 3)
    with pytest.raises(SensingError, match="times"):
        EvolveResult.from_dict({"expect": []})
