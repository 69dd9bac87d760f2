"""``evolve_dicke`` (per-spin dissipation in the block (j, m, m') Dicke basis) against the full
2^N Lindblad solution (Kizuna's general path, itself checked against QuTiP's mesolve), against
QuTiP's PIQS (Shammah et al., PRA 98, 063815 (2018)) and against independent-spin closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.sensing import (
    SensingError,
    collective_spin,
    dicke_isometry,
    evolve,
    evolve_dicke,
    one_axis_twisted_state,
)

SM = np.array([[0, 0], [1, 0]], complex)  # |0> (spin up) -> |1>: lowers m
SP = SM.T.copy()
SZ = np.diag([1.0, -1.0]).astype(complex)


def on_every_spin(n, a):
    # qubit k has weight 2**k: kron order is (qubit n-1, ..., qubit 0)
    return [np.kron(np.kron(np.eye(2 ** (n - 1 - k)), a), np.eye(2**k)) for k in range(n)]


E_OPS = [lambda x, y, z: z, lambda x, y, z: x, lambda x, y, z: x @ y + y @ x,
         lambda x, y, z: x @ x + y @ y + z @ z, lambda x, y, z: z @ z @ x + x @ z @ z]


@pytest.mark.parametrize("n", [1, 2, 3, 5, pytest.param(6, marks=pytest.mark.slow)])
def test_local_and_collective_dissipation_match_the_full_space(n):
    rng = np.random.default_rng(n)
    generic = 0.3 * (rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2)))
    local = [0.3**0.5 * SM, 0.2**0.5 * SP, 0.25**0.5 * SZ, generic]
    h = lambda x, y, z: 0.7 * x + 0.3 * z + 0.2 * z @ z  # one-axis twisting + drive
    coll = [lambda x, y, z: 0.4 * (x - 1j * y)]
    jx, jy, jz = (collective_spin(n, a).to_matrix() for a in "xyz")
    c_full = [op for a in local for op in on_every_spin(n, a)] + [f(jx, jy, jz) for f in coll]
    psi = one_axis_twisted_state(n, 0.4)
    times = np.linspace(0, 3, 7)
    r = evolve_dicke(n, psi, times, hamiltonian=h, local_c_ops=local, collective_c_ops=coll, e_ops=E_OPS)
    ref = evolve(h(jx, jy, jz), dicke_isometry(n) @ psi, times, c_full, e_ops=[f(jx, jy, jz) for f in E_OPS])
    assert r.method == "dicke" and ref.method == "general"
    assert np.max(np.abs(r.expect - ref.expect)) < 1e-8


def test_matches_qutip_piqs():
    pytest.importorskip("qutip")
    from qutip import piqs

    n = 7
    jx, _, jz = piqs.jspin(n)
    # PIQS: emission sqrt(g) sigma_-, dephasing sqrt(g) sigma_z / 2, pumping sqrt(g) sigma_+ per spin
    system = piqs.Dicke(n, hamiltonian=0.7 * jx + 0.3 * jz, emission=0.3, dephasing=0.4, pumping=0.1,
                        collective_emission=0.2)
    psi = one_axis_twisted_state(n, 0.4)
    nds = piqs.num_dicke_states(n)
    rho = np.zeros((nds, nds), complex)
    rho[: n + 1, : n + 1] = np.outer(psi, psi.conj())
    times = np.linspace(0, 2, 5)
    # PIQS's Liouvillian, integrated exactly (expm_multiply) rather than with an ODE tolerance
    from scipy.sparse.linalg import expm_multiply

    lv = system.liouvillian().data_as("csr_matrix")
    vs = expm_multiply(lv, rho.reshape(-1, order="F"), start=0, stop=2, num=5, endpoint=True)
    ref = [[np.trace(op.full() @ v.reshape(nds, nds, order="F")).real for v in vs] for op in (jz, jx, jx * jx)]
    r = evolve_dicke(n, psi, times, hamiltonian=lambda x, y, z: 0.7 * x + 0.3 * z,
                     local_c_ops=[0.3**0.5 * SM, 0.1**0.5 * SP, 0.4**0.5 * SZ / 2],
                     collective_c_ops=[lambda x, y, z: 0.2**0.5 * (x - 1j * y)],
                     e_ops=[lambda x, y, z: z, lambda x, y, z: x, lambda x, y, z: x @ x])
    # PIQS's own Liouvillian differs from the exact 2^N solution by ~3e-8 here (ours: 1e-14 at
    # N <= 6, test above), so the tolerance is PIQS's, not ours
    assert np.max(np.abs(r.expect - np.array(ref))) < 1e-6


@pytest.mark.parametrize("n", [5, 16])
def test_independent_spins_follow_the_single_spin_closed_form(n):
    """Coherent spin state along x, H = w Jz, local dephasing (rate g_phi on sigma_z) and
    emission (g_down): each spin's <sigma_x> = e^{-(2 g_phi + g_down/2) t} cos(w t) and, from
    <sigma_z>(0) = 0, <sigma_z>(t) = -(1 - e^{-g_down t}) (Bloch equations)."""
    w, g_phi, g_down = 1.3, 0.05, 0.02
    times = np.linspace(0, 10, 11)
    r = evolve_dicke(n, one_axis_twisted_state(n, 0.0), times, hamiltonian=lambda x, y, z: w * z,
                     local_c_ops=[g_phi**0.5 * SZ, g_down**0.5 * SM],
                     e_ops=[lambda x, y, z: x, lambda x, y, z: z, lambda x, y, z: np.eye(x.shape[0])])
    sx = np.exp(-(2 * g_phi + g_down / 2) * times) * np.cos(w * times)
    sz = -(1 - np.exp(-g_down * times))
    assert np.max(np.abs(r.expect[0] - n * sx / 2)) < 1e-9 * n
    assert np.max(np.abs(r.expect[1] - n * sz / 2)) < 1e-9 * n
    assert np.max(np.abs(r.expect[2] - 1)) < 1e-10  # trace


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 5), seed=st.integers(0, 2**31 - 1))
def test_trace_is_kept_and_block_populations_stay_a_distribution(n, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))
    v = rng.normal(size=n + 1) + 1j * rng.normal(size=n + 1)
    # <J^2> = sum_j j(j+1) P_j lies between the smallest and largest j(j+1)
    r = evolve_dicke(n, v / np.linalg.norm(v), [0, 0.5, 2.0], local_c_ops=[a],
                     e_ops=[lambda x, y, z: np.eye(x.shape[0]), lambda x, y, z: x @ x + y @ y + z @ z])
    assert np.allclose(r.expect[0], 1, atol=1e-10)
    jmin = 0 if n % 2 == 0 else 0.5
    assert np.all(r.expect[1] >= jmin * (jmin + 1) - 1e-9)
    assert np.all(r.expect[1] <= n / 2 * (n / 2 + 1) + 1e-9)


def test_bad_inputs_name_the_value():
    psi = one_axis_twisted_state(3, 0.0)
    with pytest.raises(SensingError, match="num_spins"):
        evolve_dicke(0, psi, [0, 1])
    with pytest.raises(SensingError, match="length 4"):
        evolve_dicke(3, psi[:3], [0, 1])
    with pytest.raises(SensingError, match="trace"):
        evolve_dicke(3, 2 * np.outer(psi, psi.conj()), [0, 1])
    with pytest.raises(SensingError, match="Hermitian"):
        evolve_dicke(3, psi, [0, 1], hamiltonian=lambda x, y, z: x + 1j * z)
    with pytest.raises(SensingError, match="2x2"):
        evolve_dicke(3, psi, [0, 1], local_c_ops=[np.eye(3)])
    with pytest.raises(SensingError, match="callable"):
        evolve_dicke(3, psi, [0, 1], e_ops=[np.eye(4)])
    with pytest.raises(SensingError, match="raised"):
        evolve_dicke(3, psi, [0, 1], e_ops=[lambda x, y, z: x @ np.eye(2)])
