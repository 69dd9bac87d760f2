"""Quantum channels against Qiskit Aer, textbook formulas and CPTP properties.

References:
* Qiskit Aer's standard errors (``qiskit_aer.noise``: ``depolarizing_error``,
  ``amplitude_damping_error``, ``phase_damping_error``, ``thermal_relaxation_error``,
  ``pauli_error``, ``reset_error``, ``ReadoutError``) turned into matrices by
  ``qiskit.quantum_info.SuperOp`` / ``Choi`` -- the peer every constructor must match to 1e-12.
  Both use column-stacking vectorisation and little-endian qubit order, so the matrices compare
  entry by entry with no reshuffling.
* Nielsen & Chuang, *Quantum Computation and Quantum Information* (2010), §8.3.3 (depolarizing:
  ``rho -> p I/2 + (1-p) rho``, Bloch vector shrinks by ``1-p``), §8.3.5 (amplitude damping,
  ``rho_11 -> (1-gamma) rho_11``, coherence ``* sqrt(1-gamma)``; generalised amplitude damping),
  §8.3.6 (phase damping), §8.4 (T1/T2: populations relax as ``exp(-t/T1)``, coherences decay as
  ``exp(-t/T2)``, with ``T2 <= 2 T1``).
* Average gate fidelity ``F_avg = (d F_pro + 1)/(d + 1)``: Horodecki, Horodecki & Horodecki,
  PRA 60, 1888 (1999); Nielsen, Phys. Lett. A 303, 249 (2002). For depolarizing with parameter
  ``p``: ``F_avg = 1 - p (d - 1)/d``.
* Choi's theorem (Choi 1975): a map is completely positive iff its Choi matrix is PSD.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.core import channels as kc
from kizuna.core.channels import Channel, ChannelError, ReadoutError

aer_noise = pytest.importorskip("qiskit_aer.noise")
qi = pytest.importorskip("qiskit.quantum_info")

ATOL = 1e-12
FAST = settings(max_examples=40, deadline=None)


def _superop_diff(ours: Channel, theirs) -> float:
    return float(np.abs(ours.superop() - qi.SuperOp(theirs).data).max())


def _random_density_matrix(rng: np.random.Generator, d: int) -> np.ndarray:
    g = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    rho = g @ g.conj().T
    return rho / np.trace(rho)


def _assert_cptp(ch: Channel, rng=None) -> None:
    d = ch.dim
    total = sum(k.conj().T @ k for k in ch.kraus)
    np.testing.assert_allclose(total, np.eye(d), atol=1e-10)
    choi = ch.choi()
    np.testing.assert_allclose(choi, choi.conj().T, atol=1e-12)
    assert np.linalg.eigvalsh(choi).min() > -1e-10, "Choi matrix not PSD"
    assert abs(np.trace(choi) - d) < 1e-10
    # partial trace of the Choi matrix over the output (low index) is the identity on the input
    np.testing.assert_allclose(np.einsum("iaja->ij", choi.reshape(d, d, d, d)), np.eye(d), atol=1e-10)
    rng = rng or np.random.default_rng(0)
    out = ch.apply(_random_density_matrix(rng, d))
    assert abs(np.trace(out) - 1) < 1e-10
    assert np.linalg.eigvalsh((out + out.conj().T) / 2).min() > -1e-10


# --- agreement with Qiskit Aer's standard errors ----------------------------------------------------
AER_CASES = [
    ("depolarizing 1q", lambda: kc.depolarizing(0.07), lambda: aer_noise.depolarizing_error(0.07, 1)),
    ("depolarizing 1q max", lambda: kc.depolarizing(4 / 3), lambda: aer_noise.depolarizing_error(4 / 3, 1)),
    ("depolarizing 2q", lambda: kc.depolarizing(0.2, 2), lambda: aer_noise.depolarizing_error(0.2, 2)),
    ("depolarizing 2q max", lambda: kc.depolarizing(16 / 15, 2), lambda: aer_noise.depolarizing_error(16 / 15, 2)),
    ("depolarizing 3q", lambda: kc.depolarizing(0.5, 3), lambda: aer_noise.depolarizing_error(0.5, 3)),
    ("amplitude damping", lambda: kc.amplitude_damping(0.37), lambda: aer_noise.amplitude_damping_error(0.37)),
    ("amplitude damping 1", lambda: kc.amplitude_damping(1.0), lambda: aer_noise.amplitude_damping_error(1.0)),
    ("generalised amp. damping", lambda: kc.amplitude_damping(0.3, 0.2),
     lambda: aer_noise.amplitude_damping_error(0.3, 0.2)),
    ("phase damping", lambda: kc.phase_damping(0.42), lambda: aer_noise.phase_damping_error(0.42)),
    ("thermal T2<T1", lambda: kc.thermal_relaxation(50e-6, 30e-6, 20e-6),
     lambda: aer_noise.thermal_relaxation_error(50e-6, 30e-6, 20e-6)),
    ("thermal T1<T2<2T1", lambda: kc.thermal_relaxation(50e-6, 90e-6, 35e-9),
     lambda: aer_noise.thermal_relaxation_error(50e-6, 90e-6, 35e-9)),
    ("thermal T2=2T1", lambda: kc.thermal_relaxation(40e-6, 80e-6, 10e-6),
     lambda: aer_noise.thermal_relaxation_error(40e-6, 80e-6, 10e-6)),
    ("thermal excited", lambda: kc.thermal_relaxation(60e-6, 70e-6, 100e-6, 0.15),
     lambda: aer_noise.thermal_relaxation_error(60e-6, 70e-6, 100e-6, 0.15)),
    ("thermal long", lambda: kc.thermal_relaxation(1e-6, 0.5e-6, 1.0),
     lambda: aer_noise.thermal_relaxation_error(1e-6, 0.5e-6, 1.0)),
    ("pauli 1q", lambda: kc.pauli_channel({"X": 0.1, "Y": 0.05, "Z": 0.2}),
     lambda: aer_noise.pauli_error([("X", 0.1), ("Y", 0.05), ("Z", 0.2), ("I", 0.65)])),
    ("pauli 2q labels", lambda: kc.pauli_channel({"XZ": 0.1, "YI": 0.2, "II": 0.7}),
     lambda: aer_noise.pauli_error([("XZ", 0.1), ("YI", 0.2), ("II", 0.7)])),
    ("pauli 3q pairs", lambda: kc.pauli_channel([("IZX", 0.25), ("YYI", 0.05)]),
     lambda: aer_noise.pauli_error([("IZX", 0.25), ("YYI", 0.05), ("III", 0.7)])),
    ("bit flip", lambda: kc.bit_flip(0.3), lambda: aer_noise.pauli_error([("X", 0.3), ("I", 0.7)])),
    ("phase flip", lambda: kc.phase_flip(0.3), lambda: aer_noise.pauli_error([("Z", 0.3), ("I", 0.7)])),
    ("reset", lambda: kc.reset_error(0.2, 0.1), lambda: aer_noise.reset_error(0.2, 0.1)),
    ("reset to 0", lambda: kc.reset_error(1.0), lambda: aer_noise.reset_error(1.0, 0.0)),
]


@pytest.mark.parametrize("ours, theirs", [c[1:] for c in AER_CASES], ids=[c[0] for c in AER_CASES])
def test_standard_channels_match_qiskit_aer_superoperators(ours, theirs):
    ch, err = ours(), theirs()
    assert ch.num_qubits == err.num_qubits
    assert _superop_diff(ch, err) < ATOL
    np.testing.assert_allclose(ch.choi(), qi.Choi(err).data, atol=ATOL, rtol=0)
    assert abs(ch.average_gate_fidelity() - qi.average_gate_fidelity(err)) < ATOL


def test_compose_and_tensor_match_qiskit_compose_and_expand():
    a, qa = kc.amplitude_damping(0.3), aer_noise.amplitude_damping_error(0.3)
    b, qb = kc.depolarizing(0.2), aer_noise.depolarizing_error(0.2, 1)
    c, qc = kc.thermal_relaxation(30e-6, 50e-6, 7e-6), aer_noise.thermal_relaxation_error(30e-6, 50e-6, 7e-6)
    assert _superop_diff(a.compose(b), qa.compose(qb)) < ATOL  # a first, then b
    assert _superop_diff(b.compose(a), qb.compose(qa)) < ATOL
    assert not a.compose(b).equiv(b.compose(a))  # amplitude damping is not unital: order matters
    # tensor: self on the low qubit (Qiskit's expand puts `other` on the high qubits)
    assert _superop_diff(a.tensor(c), qa.expand(qc)) < ATOL
    assert _superop_diff(a.tensor(b).tensor(c), qa.expand(qb).expand(qc)) < ATOL
    two = kc.depolarizing(0.1, 2)
    assert _superop_diff(two.compose(a.tensor(c)), aer_noise.depolarizing_error(0.1, 2).compose(qa.expand(qc))) < ATOL


def test_compose_keeps_at_most_d_squared_kraus_matrices():
    ch = kc.depolarizing(0.3).compose(kc.thermal_relaxation(10e-6, 12e-6, 3e-6, 0.1))
    assert len(ch.kraus) <= 4
    assert _superop_diff(ch, aer_noise.depolarizing_error(0.3, 1).compose(
        aer_noise.thermal_relaxation_error(10e-6, 12e-6, 3e-6, 0.1))) < ATOL


def test_average_gate_fidelity_against_a_target_unitary_matches_qiskit():
    u = qi.random_unitary(4, seed=7).data
    ch = Channel.from_unitary(u).compose(kc.depolarizing(0.05, 2)).compose(
        kc.amplitude_damping(0.1).tensor(kc.phase_damping(0.2)))
    err = qi.Kraus(list(ch.kraus))
    target = qi.Operator(u)
    assert abs(ch.average_gate_fidelity(u) - qi.average_gate_fidelity(err, target)) < ATOL
    assert abs(ch.process_fidelity(u) - qi.process_fidelity(err, target)) < ATOL


def test_readout_error_is_the_transpose_of_qiskit_probabilities():
    ours = kc.readout_error(0.02, 0.07)
    theirs = aer_noise.ReadoutError([[0.98, 0.02], [0.07, 0.93]])  # rows: true outcome
    np.testing.assert_allclose(ours.matrix, np.asarray(theirs.probabilities).T, atol=1e-15, rtol=0)
    assert ours.p01 == 0.02 and ours.p10 == 0.07
    np.testing.assert_allclose(ours.matrix.sum(axis=0), [1.0, 1.0], atol=1e-15, rtol=0)


# --- textbook formulas -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "p, num_qubits",
    [(0.0, 1), (0.01, 1), (0.5, 1), (1.0, 1), (4 / 3, 1), (0.0, 2), (0.01, 2), (1.0, 2), (16 / 15, 2), (0.3, 3)],
)
def test_depolarizing_average_gate_fidelity_is_one_minus_p_times_d_minus_1_over_d(p, num_qubits):
    d = 2**num_qubits
    ch = kc.depolarizing(p, num_qubits)
    assert abs(ch.average_gate_fidelity() - (1 - p * (d - 1) / d)) < ATOL
    # rho -> (1 - p) rho + p I/d on a random state (N&C §8.3.3)
    rho = _random_density_matrix(np.random.default_rng(1), d)
    np.testing.assert_allclose(ch.apply(rho), (1 - p) * rho + p * np.eye(d) / d, atol=ATOL)


def test_amplitude_damping_moves_excited_population_down():
    rng = np.random.default_rng(2)
    rho = _random_density_matrix(rng, 2)
    for gamma in (0.0, 0.2, 0.9, 1.0):
        out = kc.amplitude_damping(gamma).apply(rho)
        assert abs(out[1, 1] - (1 - gamma) * rho[1, 1]) < ATOL  # N&C (8.108)
        assert abs(out[0, 0] - (rho[0, 0] + gamma * rho[1, 1])) < ATOL
        assert abs(out[0, 1] - math.sqrt(1 - gamma) * rho[0, 1]) < ATOL


def test_generalised_amplitude_damping_fixes_the_thermal_state():
    p1 = 0.23
    ch = kc.amplitude_damping(0.4, p1)
    thermal = np.diag([1 - p1, p1]).astype(complex)
    np.testing.assert_allclose(ch.apply(thermal), thermal, atol=ATOL)
    out = ch.apply(np.diag([0, 1.0]))
    assert abs(out[1, 1] - (0.6 * 1 + 0.4 * p1)) < ATOL


def test_phase_damping_scales_coherence_by_sqrt_one_minus_lambda():
    rho = np.full((2, 2), 0.5, dtype=complex)
    for lam in (0.0, 0.3, 1.0):
        out = kc.phase_damping(lam).apply(rho)
        assert abs(out[0, 1] - 0.5 * math.sqrt(1 - lam)) < ATOL
        assert abs(out[0, 0] - 0.5) < ATOL


@pytest.mark.parametrize("t1, t2", [(50e-6, 20e-6), (50e-6, 70e-6), (50e-6, 100e-6), (math.inf, 30e-6)])
def test_thermal_relaxation_decays_as_exp_t_over_t1_and_t2(t1, t2):
    # N&C §8.4: <1|rho|1> decays as exp(-t/T1), the coherence <0|rho|1> as exp(-t/T2)
    plus = np.full((2, 2), 0.5, dtype=complex)
    for t in (0.0, 1e-6, 17e-6, 80e-6):
        ch = kc.thermal_relaxation(t1, t2, t)
        excited = ch.apply(np.diag([0, 1.0]))
        assert abs(excited[1, 1] - math.exp(-t / t1)) < ATOL
        assert abs(ch.apply(plus)[0, 1] - 0.5 * math.exp(-t / t2)) < ATOL


def test_thermal_relaxation_with_excited_population_relaxes_to_it():
    p1, t1, t2, t = 0.1, 40e-6, 50e-6, 25e-6
    ch = kc.thermal_relaxation(t1, t2, t, excited_population=p1)
    for start in (0.0, 1.0, 0.4):
        out = ch.apply(np.diag([1 - start, start]))
        assert abs(out[1, 1] - (p1 + (start - p1) * math.exp(-t / t1))) < ATOL
    assert abs(ch.apply(np.full((2, 2), 0.5))[0, 1] - 0.5 * math.exp(-t / t2)) < ATOL
    assert abs(kc.thermal_relaxation(t1, t2, 1.0, p1).apply(np.diag([1.0, 0]))[1, 1] - p1) < 1e-9


def test_thermal_relaxation_of_zero_duration_is_the_identity():
    assert kc.thermal_relaxation(10e-6, 15e-6, 0.0).is_identity()
    assert kc.thermal_relaxation(math.inf, math.inf, 5.0).is_identity()


def test_reset_error_mixes_in_the_reset_states():
    rho = _random_density_matrix(np.random.default_rng(3), 2)
    out = kc.reset_error(0.2, 0.3).apply(rho)
    np.testing.assert_allclose(out, 0.5 * rho + np.diag([0.2, 0.3]), atol=ATOL)


def test_pauli_label_puts_the_last_letter_on_the_first_qubit():
    # "IX": X on qubit 0 (low bit) -- |00> (index 0) goes to |01> (index 1)
    out = kc.pauli_channel({"IX": 1.0}).apply(np.diag([1.0, 0, 0, 0]))
    assert abs(out[1, 1] - 1) < ATOL
    out = kc.pauli_channel({"XI": 1.0}).apply(np.diag([1.0, 0, 0, 0]))
    assert abs(out[2, 2] - 1) < ATOL


def test_unitary_channels_are_unitary_and_noisy_ones_are_not():
    u = qi.random_unitary(2, seed=3).data
    assert Channel.from_unitary(u).is_unitary
    assert kc.depolarizing(0.0).is_unitary
    assert not kc.depolarizing(0.1).is_unitary
    assert not kc.amplitude_damping(0.5).is_unitary
    ch = Channel.from_unitary(u)
    assert abs(ch.average_gate_fidelity(u) - 1) < ATOL


# --- representations and JSON -----------------------------------------------------------------------
def test_superop_and_choi_round_trip_to_the_same_channel():
    ch = kc.amplitude_damping(0.3, 0.1).tensor(kc.depolarizing(0.2)).compose(kc.pauli_channel({"XY": 0.1}))
    assert Channel.from_superop(ch.superop()).equiv(ch, atol=ATOL)
    assert Channel.from_choi(ch.choi()).equiv(ch, atol=ATOL)
    simple = ch.simplify()
    assert simple.equiv(ch, atol=ATOL)
    assert len(simple.kraus) == np.linalg.matrix_rank(ch.choi(), tol=1e-10)


def test_superop_acts_on_column_stacked_density_matrices():
    ch = kc.thermal_relaxation(20e-6, 25e-6, 4e-6, 0.05).tensor(kc.depolarizing(0.3))
    rho = _random_density_matrix(np.random.default_rng(4), 4)
    vec = rho.reshape(-1, order="F")
    np.testing.assert_allclose((ch.superop() @ vec).reshape(4, 4, order="F"), ch.apply(rho), atol=ATOL)


def test_channel_json_round_trip_is_exact():
    for ch in (kc.depolarizing(0.013, 2), kc.thermal_relaxation(50e-6, 70e-6, 33e-9, 0.02),
               Channel.from_unitary(qi.random_unitary(4, seed=1).data, name="haar")):
        back = Channel.from_dict(json.loads(json.dumps(ch.to_dict())))
        assert back == ch
        assert back.name == ch.name
    err = kc.readout_error(0.013, 0.2)
    assert ReadoutError.from_dict(json.loads(json.dumps(err.to_dict()))) == err


def test_kraus_matrices_are_read_only():
    ch = kc.bit_flip(0.2)
    with pytest.raises(ValueError):
        ch.kraus[0][0, 0] = 2
    with pytest.raises(ValueError):
        ch.superop()[0, 0] = 2
    with pytest.raises(ValueError):
        kc.readout_error(0.1, 0.1).matrix[0, 0] = 0


def test_readout_errors_compose_as_stochastic_matrices():
    a, b = kc.readout_error(0.1, 0.2), kc.readout_error(0.05, 0.0)
    np.testing.assert_allclose(a.compose(b).matrix, b.matrix @ a.matrix, atol=ATOL)


# --- hypothesis: every constructor is CPTP over its whole range --------------------------------------
unit = st.floats(0.0, 1.0)


@FAST
@given(p=st.floats(0.0, 4 / 3))
def test_depolarizing_1q_is_cptp_over_its_range(p):
    _assert_cptp(kc.depolarizing(p))


@FAST
@given(p=st.floats(0.0, 16 / 15))
def test_depolarizing_2q_is_cptp_over_its_range(p):
    _assert_cptp(kc.depolarizing(p, 2))


@FAST
@given(gamma=unit, p1=unit, lam=unit)
def test_damping_channels_are_cptp(gamma, p1, lam):
    _assert_cptp(kc.amplitude_damping(gamma, p1))
    _assert_cptp(kc.phase_damping(lam))


@FAST
@given(t1=st.floats(1e-7, 1e-3), ratio=st.floats(1e-3, 2.0), t=st.floats(0.0, 1e-2), p1=unit)
def test_thermal_relaxation_is_cptp_whenever_t2_le_2t1(t1, ratio, t, p1):
    t2 = min(ratio * t1, 2 * t1)
    _assert_cptp(kc.thermal_relaxation(t1, t2, t, p1))


@FAST
@given(ps=st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3), scale=unit)
def test_pauli_channels_are_cptp(ps, scale):
    total = sum(ps)
    probs = [scale * x / total for x in ps] if total > 0 else [0.0, 0.0, 0.0]
    _assert_cptp(kc.pauli_channel(dict(zip("XYZ", probs))))


@FAST
@given(p0=unit, frac=unit)
def test_reset_errors_are_cptp(p0, frac):
    _assert_cptp(kc.reset_error(p0, (1 - p0) * frac))


_one_qubit = st.one_of(
    st.floats(0.0, 4 / 3).map(kc.depolarizing),
    st.tuples(unit, unit).map(lambda a: kc.amplitude_damping(*a)),
    unit.map(kc.phase_damping),
    st.tuples(unit, unit).map(lambda a: kc.reset_error(a[0], (1 - a[0]) * a[1])),
    st.integers(0, 2**31).map(lambda s: Channel.from_unitary(qi.random_unitary(2, seed=s).data)),
)


@FAST
@given(a=_one_qubit, b=_one_qubit, c=_one_qubit, seed=st.integers(0, 2**31))
def test_compose_and_tensor_stay_cptp(a, b, c, seed):
    rng = np.random.default_rng(seed)
    ab = a.compose(b)
    _assert_cptp(ab, rng)
    _assert_cptp(a.tensor(b), rng)
    _assert_cptp(ab.tensor(c).compose(kc.depolarizing(0.05, 2)), rng)
    # composition is associative and agrees with applying one after the other
    assert ab.compose(c).equiv(a.compose(b.compose(c)), atol=1e-10)
    rho = _random_density_matrix(rng, 2)
    np.testing.assert_allclose(ab.apply(rho), b.apply(a.apply(rho)), atol=1e-12)
    # tensor puts `a` on the low qubit: tracing out the high qubit leaves a(rho_low)
    rho2 = np.kron(_random_density_matrix(rng, 2), rho)
    low = np.einsum("aiaj->ij", a.tensor(b).apply(rho2).reshape(2, 2, 2, 2))
    np.testing.assert_allclose(low, a.apply(rho), atol=1e-12)


# --- bad input ---------------------------------------------------------------------------------------
def test_non_trace_preserving_kraus_matrices_are_refused_with_the_deviation():
    with pytest.raises(ChannelError, match=r"not trace preserving: max \|sum K\^dagger K - I\| = 0\.2"):
        Channel((np.sqrt(1.2) * np.eye(2),), name="gain")


@pytest.mark.parametrize(
    "kraus, pattern",
    [
        ((), "at least one Kraus"),
        ((np.eye(3),), r"2\*\*k x 2\*\*k"),
        ((np.eye(2), np.eye(4)), r"shapes \[\(2, 2\), \(4, 4\)\]"),
        ((np.ones((1, 1)),), r"2\*\*k x 2\*\*k"),
        ((np.array([[np.nan, 0], [0, 1]]),), "non-finite"),
    ],
)
def test_malformed_kraus_matrices_are_refused(kraus, pattern):
    with pytest.raises(ChannelError, match=pattern):
        Channel(kraus)


def test_t2_above_twice_t1_is_refused_naming_the_values():
    with pytest.raises(ChannelError, match=r"t2_s must be <= 2 \* t1_s = 0\.0001 .*t2_s=0\.00025, t1_s=5e-05"):
        kc.thermal_relaxation(t1_s=50e-6, t2_s=250e-6, duration_s=1e-6)
    with pytest.raises(ChannelError, match=r"duration_s .* \(got -1e-06\)"):
        kc.thermal_relaxation(50e-6, 50e-6, -1e-6)
    with pytest.raises(ChannelError, match=r"t1_s must be > 0 .*\(got 0\.0\)"):
        kc.thermal_relaxation(0.0, 50e-6, 1e-6)


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: kc.depolarizing(1.4), r"p must be in \[0, 1\.33333\] .*got 1\.4"),
        (lambda: kc.depolarizing(1.1, num_qubits=2), r"p must be in \[0, 1\.06667\] .*got 1\.1"),
        (lambda: kc.depolarizing(-0.1), r"got -0\.1"),
        (lambda: kc.depolarizing(0.1, num_qubits=0), r"num_qubits .* \(got 0\)"),
        (lambda: kc.amplitude_damping(1.5), r"gamma must be in \[0, 1\] \(got 1\.5\)"),
        (lambda: kc.amplitude_damping(0.1, -0.2), r"excited_population .* \(got -0\.2\)"),
        (lambda: kc.phase_damping(float("nan")), r"lam must be a real number \(got nan\)"),
        (lambda: kc.phase_damping("0.1"), r"lam must be a real number \(got '0\.1'\)"),
        (lambda: kc.pauli_channel({"XA": 0.1}), r"over 'IXYZ' \(got 'XA'\)"),
        (lambda: kc.pauli_channel({"X": 0.1, "XX": 0.1}), r"length 1 \(got 'XX'\)"),
        (lambda: kc.pauli_channel({"X": 0.7, "Z": 0.6}), r"sum to at most 1 \(got 1\.3"),
        (lambda: kc.pauli_channel({"I": 0.5, "Z": 0.2}), r"must sum to 1 \(got 0\.7"),
        (lambda: kc.reset_error(0.6, 0.5), r"p0 \+ p1 must be <= 1 \(got p0=0\.6, p1=0\.5\)"),
        (lambda: kc.readout_error(0.1, 1.2), r"p10 must be in \[0, 1\] \(got 1\.2\)"),
        (lambda: ReadoutError([[0.9, 0.1], [0.2, 0.9]]), r"columns must sum to 1.*\[1\.1, 1\.0\]"),
        (lambda: ReadoutError(np.eye(3)), r"2x2 \(got shape \(3, 3\)\)"),
        (lambda: Channel.from_unitary([[1, 1], [0, 1]]), "not unitary"),
        (lambda: Channel.from_choi(np.diag([1.0, -0.5, 0, 1.5])), r"not completely positive: Choi matrix eigenvalue -0\.5"),
        (lambda: kc.bit_flip(0.1).compose(kc.depolarizing(0.1, 2)), "1-qubit channel with a 2-qubit"),
    ],
)
def test_bad_parameters_raise_channel_errors_naming_the_value(call, pattern):
    with pytest.raises(ChannelError, match=pattern):
        call()


def test_channel_errors_are_kizuna_and_value_errors():
    from kizuna.errors import KizunaError

    assert issubclass(ChannelError, KizunaError) and issubclass(ChannelError, ValueError)
