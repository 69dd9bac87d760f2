"""Pair states: every Bell-diagonal shortcut against brute-force density matrices, and the
literature values of swapping, purification, teleportation, CHSH and memory decay."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.core.channels import depolarizing
from kizuna.errors import NetworkError
from kizuna.networking import (
    BellDiagonalState,
    Memory,
    chsh_value,
    fidelity,
    purify_bbpssw,
    purify_dejmps,
    swap,
    swap_density_matrices,
    teleportation_fidelity,
    werner,
)
from kizuna.networking.states import (
    _apply,
    apply_channel_density_matrix,
    bell_state_density_matrix,
    swap_superoperator,
)

I2 = np.eye(2)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Z = np.diag([1.0, -1.0]).astype(complex)


def embed(op, qubit, n):
    """A one-qubit operator on ``qubit`` of ``n`` (qubit 0 is bit 0 of the index)."""
    out = np.eye(1)
    for q in reversed(range(n)):
        out = np.kron(out, op if q == qubit else I2)
    return out


def cnot(control, target, n):
    dim = 1 << n
    u = np.zeros((dim, dim))
    for i in range(dim):
        j = i ^ (1 << target) if (i >> control) & 1 else i
        u[j, i] = 1
    return u


def ptrace_keep01(rho4):
    """Keep qubits 0 and 1 of a 4-qubit density matrix."""
    t = rho4.reshape(4, 4, 4, 4)  # (hi, lo, hi', lo')
    return np.einsum("ajak->jk", t)


def random_bell_diagonal(rng):
    return BellDiagonalState(tuple(rng.dirichlet(np.ones(4))))


def random_density_matrix(rng, dim=4):
    g = rng.normal(size=(dim, dim)) + 1j * rng.normal(size=(dim, dim))
    r = g @ g.conj().T
    return r / np.trace(r)


# --- swapping ----------------------------------------------------------------------------------
@pytest.mark.parametrize("f1,f2", [(0.99, 0.99), (0.9, 0.8), (0.7, 0.95), (1.0, 0.6)])
def test_swapping_werner_pairs_gives_the_textbook_fidelity(f1, f2):
    # F' = F1 F2 + (1 - F1)(1 - F2)/3 (Dür & Briegel, Rep. Prog. Phys. 70, 1381 (2007))
    expected = f1 * f2 + (1 - f1) * (1 - f2) / 3
    assert swap(werner(f1), werner(f2)).fidelity == pytest.approx(expected, abs=1e-14)
    rho = swap_density_matrices(werner(f1).density_matrix(), werner(f2).density_matrix())
    assert fidelity(rho) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("pg,e", [(0.0, 0.0), (0.05, 0.0), (0.0, 0.03), (0.2, 0.1)])
def test_bell_diagonal_swap_equals_brute_force_projection(pg, e):
    rng = np.random.default_rng(11)
    for _ in range(4):
        a, b = random_bell_diagonal(rng), random_bell_diagonal(rng)
        fast = swap(a, b, gate_depolarizing=pg, readout_error=e).density_matrix()
        slow = swap_density_matrices(a.density_matrix(), b.density_matrix(), gate_depolarizing=pg, readout_error=e)
        np.testing.assert_allclose(fast, slow, atol=1e-12)


def test_swap_superoperator_equals_the_projection_on_general_states():
    rng = np.random.default_rng(5)
    t = swap_superoperator(0.07, 0.02)
    for _ in range(3):
        a, b = random_density_matrix(rng), random_density_matrix(rng)
        vec = np.kron(a.reshape(16, order="F"), b.reshape(16, order="F"))  # column stacking
        np.testing.assert_allclose((t @ vec).reshape(4, 4, order="F"),
                                   swap_density_matrices(a, b, gate_depolarizing=0.07, readout_error=0.02),
                                   atol=1e-12)


@pytest.mark.parametrize("n,expected", [(2, 0.9801), (4, 0.9608), (8, 0.9236), (16, 0.8550)])
def test_chain_of_werner_links_follows_the_visibility_power_law(n, expected):
    # F_n = 1/4 + 3/4 p**n, p = (4F - 1)/3 (Dür & Briegel 2007); the table for F = 0.99
    state = werner(0.99)
    for _ in range(n - 1):
        state = swap(state, werner(0.99))
    p = (4 * 0.99 - 1) / 3
    assert state.fidelity == pytest.approx(0.25 + 0.75 * p**n, abs=1e-13)
    assert round(state.fidelity, 4) == expected


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.001, 1.0), min_size=8, max_size=8), st.floats(0, 1), st.floats(0, 0.5))
def test_swap_of_bell_diagonal_states_is_a_normalised_distribution(w, pg, e):
    a = BellDiagonalState(tuple(np.array(w[:4]) / sum(w[:4])))
    b = BellDiagonalState(tuple(np.array(w[4:]) / sum(w[4:])))
    out = swap(a, b, gate_depolarizing=pg, readout_error=e)
    assert min(out.coefficients) >= 0 and sum(out.coefficients) == pytest.approx(1, abs=1e-12)
    assert swap(b, a, gate_depolarizing=pg, readout_error=e).coefficients == pytest.approx(out.coefficients)
    rho = swap_density_matrices(a.density_matrix(), b.density_matrix(), gate_depolarizing=pg, readout_error=e)
    assert np.trace(rho).real == pytest.approx(1, abs=1e-12)
    assert np.linalg.eigvalsh(rho).min() > -1e-12


# --- purification ------------------------------------------------------------------------------
def _rx(theta):
    return np.cos(theta / 2) * I2 - 1j * np.sin(theta / 2) * X


def purify_brute_force(rho1, rho2, dejmps: bool):
    """Bilateral CNOT purification on the 4-qubit state: pair 1 = (A1=0, B1=1) kept, pair 2 =
    (A2=2, B2=3) measured in Z; success when the two outcomes agree."""
    rho = np.kron(rho2, rho1)
    if dejmps:  # Deutsch et al. 1996: rx(pi/2) on Alice's qubits, rx(-pi/2) on Bob's
        u = embed(_rx(np.pi / 2), 0, 4) @ embed(_rx(-np.pi / 2), 1, 4) @ embed(_rx(np.pi / 2), 2, 4) @ embed(
            _rx(-np.pi / 2), 3, 4)
        rho = u @ rho @ u.conj().T
    u = cnot(1, 3, 4) @ cnot(0, 2, 4)
    rho = u @ rho @ u.conj().T
    keep = np.zeros((16, 16))
    for i in range(16):
        if ((i >> 2) & 1) == ((i >> 3) & 1):
            keep[i, i] = 1
    kept = keep @ rho @ keep
    p = np.trace(kept).real
    return ptrace_keep01(kept) / p, p


def test_dejmps_map_equals_the_brute_force_protocol():
    rng = np.random.default_rng(2)
    for _ in range(5):
        a, b = random_bell_diagonal(rng), random_bell_diagonal(rng)
        out, p = purify_dejmps(a, b)
        rho, p_slow = purify_brute_force(a.density_matrix(), b.density_matrix(), dejmps=True)
        assert p == pytest.approx(p_slow, abs=1e-12)
        np.testing.assert_allclose(out.density_matrix(), rho, atol=1e-12)


def test_bbpssw_map_equals_the_brute_force_protocol_on_werner_pairs():
    for f1, f2 in [(0.75, 0.75), (0.9, 0.6), (0.99, 0.8)]:
        out, p = purify_bbpssw(werner(f1), werner(f2))
        rho, p_slow = purify_brute_force(werner(f1).density_matrix(), werner(f2).density_matrix(), dejmps=False)
        assert p == pytest.approx(p_slow, abs=1e-12)
        assert out.fidelity == pytest.approx(fidelity(rho), abs=1e-12)  # then twirled back to Werner


def test_purification_rounds_from_075_reach_the_published_fidelities():
    # from F = 0.75: DEJMPS 0.9995 and BBPSSW 0.9231 after five rounds of two identical pairs
    # (Deutsch et al., PRL 77, 2818 (1996), Fig. 1; Bennett et al., PRL 76, 722 (1996))
    d = b = werner(0.75)
    for _ in range(5):
        d, _ = purify_dejmps(d, d)
        b, _ = purify_bbpssw(b, b)
    assert round(d.fidelity, 4) == 0.9995
    assert round(b.fidelity, 4) == 0.9231


def test_entanglement_pumping_converges_below_one():
    # pumping a kept pair with fresh F=0.8 pairs (DEJMPS with unequal inputs): increases then
    # saturates at a fixed point below 1 (Dür et al., PRA 59, 169 (1999))
    fresh = werner(0.8)
    kept = fresh
    history = []
    for _ in range(30):
        kept, _ = purify_dejmps(kept, fresh)
        history.append(kept.fidelity)
    assert history[0] > 0.8 and history[-1] < 1 - 1e-3
    assert abs(history[-1] - history[-2]) < 1e-6


# --- teleportation, CHSH -----------------------------------------------------------------------
def teleport_brute_force(pair, psi):
    """Teleport |psi> (qubit 0) through pair (qubits 1=A, 2=B): Bell measurement on (0, 1),
    Pauli correction on 2; returns the averaged output state of qubit 2."""
    rho = np.kron(pair, np.outer(psi, psi.conj()))  # qubit 0 lowest
    out = np.zeros((2, 2), dtype=complex)
    paulis = [I2, X, X @ Z, Z]  # I, X, (i)Y, Z: P_k of the outcome (I x P_k)|Phi+>
    for k in range(4):
        b = np.kron(paulis[k], I2) @ np.array([1, 0, 0, 1]) / np.sqrt(2)  # on (0, 1): qubit 1 high
        proj = np.kron(I2, np.outer(b, b.conj()))
        branch = proj @ rho @ proj
        t = branch.reshape(2, 4, 2, 4)
        red = np.einsum("aibi->ab", t)
        corr = paulis[k]
        out += corr @ red @ corr.conj().T
    return out


def test_teleportation_average_fidelity_is_two_f_plus_one_over_three():
    # (2F + 1)/3 (Horodecki et al., PRA 60, 1888 (1999)); averaged over the six Pauli
    # eigenstates, a 2-design, so the average is exact
    states = [np.array(v, dtype=complex) / np.linalg.norm(v)
              for v in ([1, 0], [0, 1], [1, 1], [1, -1], [1, 1j], [1, -1j])]
    for f in (1.0, 0.9, 0.7):
        pair = werner(f).density_matrix()
        avg = np.mean([np.vdot(s, teleport_brute_force(pair, s) @ s).real for s in states])
        assert teleportation_fidelity(werner(f)) == pytest.approx((2 * f + 1) / 3, abs=1e-14)
        assert avg == pytest.approx((2 * f + 1) / 3, abs=1e-12)


@pytest.mark.parametrize("f", [1.0, 0.9, 0.8, 0.6])
def test_chsh_value_of_werner_states_is_two_root_two_times_visibility(f):
    p = (4 * f - 1) / 3
    assert chsh_value(werner(f)) == pytest.approx(2 * math.sqrt(2) * p, abs=1e-12)
    # explicit settings: A in {Z, X}, B in {(Z+X)/sqrt2, (Z-X)/sqrt2}
    rho = werner(f).density_matrix()
    b1, b2 = (Z + X) / math.sqrt(2), (Z - X) / math.sqrt(2)

    def corr(a, b):
        return np.trace(rho @ np.kron(b, a)).real  # A is qubit 0 (low)

    s = corr(Z, b1) + corr(Z, b2) + corr(X, b1) - corr(X, b2)
    assert s == pytest.approx(2 * math.sqrt(2) * p, abs=1e-12)


# --- memory decay ------------------------------------------------------------------------------
@pytest.mark.parametrize("t", [0.0, 1e-4, 1e-3, 5e-3])
def test_stored_half_of_a_bell_pair_dephases_as_one_plus_exp_over_two(t):
    mem = Memory(t2_s=1e-3)
    rho = apply_channel_density_matrix(bell_state_density_matrix(), mem.decay(t), 1)
    assert fidelity(rho) == pytest.approx((1 + math.exp(-t / 1e-3)) / 2, abs=1e-12)
    bd = werner(1.0).dephase(0.5 * (1 - math.exp(-t / 1e-3)))
    assert bd.fidelity == pytest.approx(fidelity(rho), abs=1e-12)


@pytest.mark.parametrize("t", [1e-4, 1e-3, 4e-3])
def test_t1_and_t2_together_give_the_amplitude_damping_fidelity(t):
    # one half of Phi+ through amplitude damping (gamma = 1 - e^{-t/T1}) with coherence
    # e^{-t/T2}: rho_00,00 = 1/2, rho_11,11 = e^{-t/T1}/2, rho_00,11 = e^{-t/T2}/2, so
    # F = (1 + e^{-t/T1} + 2 e^{-t/T2}) / 4 (Nielsen & Chuang section 8.3 for the channel)
    t1, t2 = 2e-3, 1.5e-3
    rho = apply_channel_density_matrix(bell_state_density_matrix(), Memory(t1_s=t1, t2_s=t2).decay(t), 0)
    assert fidelity(rho) == pytest.approx((1 + math.exp(-t / t1) + 2 * math.exp(-t / t2)) / 4, abs=1e-12)


def test_one_qubit_channels_on_either_half_of_a_bell_diagonal_state_agree():
    rng = np.random.default_rng(8)
    s = random_bell_diagonal(rng)
    for q in (0, 1):
        rho = _apply(s.density_matrix(), depolarizing(0.3).kraus, (q,), 2)
        np.testing.assert_allclose(rho, s.depolarize(0.3).density_matrix(), atol=1e-12)


def test_from_density_matrix_round_trips_and_json():
    s = BellDiagonalState((0.7, 0.1, 0.15, 0.05))
    assert BellDiagonalState.from_density_matrix(s.density_matrix()).coefficients == pytest.approx(s.coefficients)
    assert BellDiagonalState.from_dict(s.to_dict()) == s


@pytest.mark.parametrize("bad", [(0.5, 0.5, 0.5, -0.5), (0.5, 0.5), (1.0, 0, 0, 0.1), ("a", 0, 0, 1)])
def test_bad_coefficients_are_named_errors(bad):
    with pytest.raises(NetworkError, match="coefficients"):
        BellDiagonalState(bad)


def test_bad_parameters_are_named_errors():
    with pytest.raises(NetworkError, match="fidelity must be a probability"):
        werner(1.1)
    with pytest.raises(NetworkError, match="readout_error"):
        swap(werner(1), werner(1), readout_error=1.5)
    with pytest.raises(NetworkError, match="t2_s must be <= 2 \\* t1_s"):
        Memory(t1_s=1e-3, t2_s=3e-3)


@pytest.mark.parametrize("protocol", ["dejmps", "bbpssw"])
def test_density_matrix_purification_equals_the_bell_diagonal_maps(protocol):
    from kizuna.networking.states import purify_density_matrices

    rng = np.random.default_rng(6)
    fast = purify_dejmps if protocol == "dejmps" else purify_bbpssw
    for _ in range(4):
        a, b = random_bell_diagonal(rng), random_bell_diagonal(rng)
        out, p = fast(a, b)
        rho, q = purify_density_matrices(a.density_matrix(), b.density_matrix(), protocol)
        assert p == pytest.approx(q, abs=1e-12)
        np.testing.assert_allclose(out.density_matrix(), rho, atol=1e-12)


def test_teleport_equals_the_brute_force_protocol_and_degrades_with_readout_errors():
    from kizuna.networking.states import teleport

    rng = np.random.default_rng(12)
    for _ in range(4):
        pair = random_bell_diagonal(rng).density_matrix()
        v = rng.normal(size=2) + 1j * rng.normal(size=2)
        v /= np.linalg.norm(v)
        np.testing.assert_allclose(teleport(pair, v), teleport_brute_force(pair, v), atol=1e-12)
    # a perfect pair, each outcome bit misread with probability e: the Pauli channel
    # (X: e(1-e), Z: e(1-e), Y: e^2) of average fidelity 1 - 2/3 (2e - e^2)
    e = 0.05
    states = [np.array(v, dtype=complex) / np.linalg.norm(v)
              for v in ([1, 0], [0, 1], [1, 1], [1, -1], [1, 1j], [1, -1j])]
    avg = np.mean([np.vdot(s, teleport(werner(1.0), s, readout_error=e) @ s).real for s in states])
    assert avg == pytest.approx(1 - 2 / 3 * (2 * e - e * e), abs=1e-12)
    # a fully depolarizing Bell measurement teleports nothing: the output is I/2
    np.testing.assert_allclose(teleport(werner(1.0), states[2], gate_depolarizing=1.0), np.eye(2) / 2, atol=1e-12)
