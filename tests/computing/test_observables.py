"""``expectation``: exact values against Qiskit and Qiskit Aer, shot estimates against exact
values and the sampling statistics of their standard errors.

References:
* ``qiskit.quantum_info.Statevector(qc).expectation_value(SparsePauliOp)`` on the same circuit
  built independently in Qiskit (``conftest.random_circuit_pair``).
* Qiskit Aer's density-matrix simulator with the same Kraus channels attached to the same
  gates (``qiskit_aer.noise.NoiseModel``, ``save_expectation_value``) for noisy exact values.
* Analytic values: amplitude damping after ``x`` gives ``<Z> = 2 gamma - 1`` (Nielsen & Chuang,
  *Quantum Computation and Quantum Information*, 2010, §8.3.5); a measured qubit dephases
  (``<X> = 0`` after measuring ``|+>``); a readout error flips a record with probability
  ``p(1|0)``, so ``|0>`` reads ``<Z> = 1 - 2 p(1|0)``.
* Sampling theory: the mean of ``N`` shots of a ``+-1`` variable has variance
  ``(1 - <P>^2)/N``; for a group of terms measured together the per-shot sum
  ``G = sum_t c_t P_t`` has variance ``<G^2> - <G>^2`` (``G^2`` computed with the Pauli algebra),
  so the standard error is ``sqrt(sum_g (<G_g^2> - <G_g>^2) / N)``; estimates are unbiased and
  their z-scores ``(estimate - exact) / standard_error`` have mean 0 and spread 1.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import kizuna
from kizuna import Circuit, Parameter
from kizuna.computing.noise import NoiseModel
from kizuna.computing.observables import (
    ExpectationResult,
    expectation,
    measurement_circuits,
)
from kizuna.core import channels
from kizuna.core.paulis import Pauli, PauliError, PauliSum
from kizuna.errors import BackendError, KizunaError, ParameterError, SimulationError

qi = pytest.importorskip("qiskit.quantum_info")


def random_sum(rng, n, terms):
    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(terms)]
    return PauliSum.from_list(list(zip(labels, rng.normal(size=terms).tolist())))


def qiskit_op(h: PauliSum):
    return qi.SparsePauliOp.from_list([(t.label, t.coeff) for t in h.terms], num_qubits=h.num_qubits)


def small_circuit(rng, n, layers=2):
    c = Circuit(n)
    for _ in range(layers):
        for q in range(n):
            c.ry(float(rng.uniform(0, math.pi)), q).rz(float(rng.uniform(0, 2 * math.pi)), q)
        for q in range(n - 1):
            c.cx(q, q + 1)
    return c


def exact_variance(h: PauliSum, psi) -> float:
    """``sum_g (<G^2> - <G>^2)`` over the qubit-wise groups ``G`` of ``h``'s non-identity terms."""
    total = 0.0
    for _, g in measurement_circuits(Circuit(h.num_qubits), h):
        mean = g.expectation_statevector(psi).real
        total += (g @ g).simplify().expectation_statevector(psi).real - mean**2
    return total


# --- exact values --------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(12))
def test_exact_value_matches_qiskit_statevector(seed, random_circuit_pair):
    n = 1 + seed % 6
    kc, qc = random_circuit_pair(seed, n, 8 * n)
    h = random_sum(np.random.default_rng(seed), n, 3 + 5 * n)
    got = expectation(kc, h)
    want = qi.Statevector(qc).expectation_value(qiskit_op(h))
    assert got.exact and got.backend == "statevector" and got.standard_error == 0.0
    assert abs(got.value - want.real) < 1e-10


def test_thousand_term_hamiltonian_on_twelve_qubits_matches_qiskit(random_circuit_pair):
    kc, qc = random_circuit_pair(1234, 12, 60)
    h = random_sum(np.random.default_rng(7), 12, 1000)
    got = expectation(kc, h)
    want = qi.Statevector(qc).expectation_value(qiskit_op(h)).real
    assert abs(got.value - want) < 1e-9
    assert got.metadata["num_terms"] == len(h.simplify())


def test_final_measurements_are_ignored():
    c = Circuit(3).h(0).cx(0, 1).ry(0.4, 2)
    h = PauliSum({"IXX": 1.0, "ZII": 0.5, "IZZ": -2.0})
    measured = c.copy()
    measured.measure_all()
    assert expectation(measured, h).value == expectation(c, h).value
    assert expectation(measured, h).backend == "statevector"


def test_mid_circuit_measurement_averages_over_outcomes_on_the_density_matrix():
    # |+> measured, then copied by cx: the mixture of |00> and |11> (no coherence left)
    c = Circuit(2, 1).h(0).measure(0, 0).cx(0, 1)
    r = expectation(c, {"ZZ": 1.0, "XX": 1.0, "IZ": 1.0})
    assert r.exact and r.backend == "density_matrix"
    assert abs(r.value - 1.0) < 1e-12  # <ZZ> = 1, <XX> = 0 (1 without the measurement), <Z0> = 0
    with pytest.raises(SimulationError, match="shots="):
        expectation(c, "XX", backend="statevector")
    # the shot estimate agrees: every shot gives ZZ = +1
    est = expectation(c, "ZZ", shots=50, seed=1)
    assert est.value == 1.0 and est.standard_error == 0.0


def test_reset_and_conditions_are_simulated_exactly():
    c = Circuit(2, 1).h(0).measure(0, 0)
    with c.if_test("c", 1):
        c.x(1)
    c.reset(0)
    r = expectation(c, {"ZI": 1.0, "IZ": 1.0, "ZZ": 1.0})
    # qubit 1 copies the outcome (Z1 = 0 on average), qubit 0 is reset to |0> (Z0 = 1)
    assert abs(r.value - 1.0) < 1e-12


def test_parameters_bind_on_every_path():
    theta, phi = Parameter("theta"), Parameter("phi")
    c = Circuit(2).ry(theta, 0).cx(0, 1).rx(phi, 1)
    h = PauliSum({"ZZ": 1.0, "XI": 0.5, "IY": -0.25})
    bound = c.assign_parameters({"phi": 0.3, "theta": 1.1})
    want = expectation(bound, h).value
    assert abs(expectation(c, h, parameters=[0.3, 1.1]).value - want) < 1e-12  # order: phi, theta
    assert abs(expectation(c, h, parameters={"theta": 1.1, "phi": 0.3}).value - want) < 1e-12
    assert expectation(c, h, parameters=[0.3, 1.1], backend="density_matrix").value == pytest.approx(want, abs=1e-12)
    a = expectation(c, h, parameters=[0.3, 1.1], shots=200, seed=3)
    b = expectation(bound, h, shots=200, seed=3)
    assert a.value == b.value and a.standard_error == b.standard_error
    with pytest.raises(ParameterError, match="expected 2 parameter value"):
        expectation(c, h, parameters=[0.3])
    with pytest.raises(ParameterError):
        expectation(c, h)


def test_single_precision_agrees_with_double():
    rng = np.random.default_rng(3)
    c = small_circuit(rng, 5)
    h = random_sum(rng, 5, 30)
    double = expectation(c, h).value
    assert abs(expectation(c, h, precision="single").value - double) < 1e-4
    assert abs(expectation(c, h, backend="density_matrix", precision="single").value - double) < 1e-4


def test_identity_terms_are_exact_constants():
    c = Circuit(2).h(0)
    r = expectation(c, {"II": 2.5}, shots=10, seed=1)
    assert r.value == 2.5 and r.standard_error == 0.0 and r.backend == "none"
    assert r.metadata["num_groups"] == 0 and r.metadata["total_shots"] == 0
    assert expectation(c, {"II": 2.5, "XI": 0.0}).value == 2.5
    assert expectation(c, PauliSum([], num_qubits=2)).value == 0.0


# --- noise, exact --------------------------------------------------------------------------------
def test_amplitude_damping_matches_the_analytic_value():
    gamma = 0.3
    model = NoiseModel().add_all_qubit_error(channels.amplitude_damping(gamma), ["x"])
    r = expectation(Circuit(1).x(0), "Z", noise=model)
    assert r.exact and r.backend == "density_matrix"
    assert abs(r.value - (2 * gamma - 1)) < 1e-12  # rho_11 -> (1 - gamma) rho_11 (N&C §8.3.5)
    assert r.provenance["noise_model_sha256"] == model.sha256()


def test_an_ideal_noise_model_takes_the_state_vector():
    r = expectation(Circuit(1).h(0), "X", noise=NoiseModel())
    assert r.backend == "statevector" and abs(r.value - 1) < 1e-12
    assert r.provenance["noise_model_sha256"] is None


def _noise_pair(aer_noise):
    """The same Kraus channels on the same gates, in Kizuna and in Qiskit Aer."""
    chans = {
        "cx": channels.depolarizing(0.04, num_qubits=2),
        "ry": channels.amplitude_damping(0.07),
        "rz": channels.phase_damping(0.05),
        "rx": channels.depolarizing(0.03),
    }
    ours = NoiseModel()
    theirs = aer_noise.NoiseModel(basis_gates=["cx", "rx", "ry", "rz", "h", "sdg"])
    for name, ch in chans.items():
        ours.add_all_qubit_error(ch, [name])
        theirs.add_all_qubit_quantum_error(aer_noise.QuantumError(qi.Kraus(list(ch.kraus))), [name])
    return ours, theirs


@pytest.mark.parametrize("seed", range(4))
def test_noisy_exact_value_matches_qiskit_aer_density_matrix(seed):
    aer = pytest.importorskip("qiskit_aer")
    aer_noise = pytest.importorskip("qiskit_aer.noise")
    from qiskit import QuantumCircuit

    rng = np.random.default_rng(500 + seed)
    n = 2 + seed % 3
    ours_noise, aer_model = _noise_pair(aer_noise)
    kc, qc = Circuit(n), QuantumCircuit(n)
    for _ in range(3 * n):
        kind = rng.integers(4)
        q = int(rng.integers(n))
        if kind == 0 and n > 1:
            a, b = (int(v) for v in rng.permutation(n)[:2])
            kc.cx(a, b)
            qc.cx(a, b)
        else:
            name = ["rx", "ry", "rz", "ry"][kind]
            angle = float(rng.uniform(-math.pi, math.pi))
            kc.gate(name, [q], [angle])
            getattr(qc, name)(angle, q)
    h = random_sum(rng, n, 12)
    got = expectation(kc, h, noise=ours_noise)
    qc.save_expectation_value(qiskit_op(h), list(range(n)))
    sim = aer.AerSimulator(method="density_matrix", noise_model=aer_model)
    want = sim.run(qc).result().data(0)["expectation_value"]
    assert got.backend == "density_matrix"
    assert abs(got.value - want) < 1e-10


# --- shots -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(4))
def test_shot_estimates_are_unbiased_within_four_standard_errors(seed):
    rng = np.random.default_rng(600 + seed)
    n = 2 + seed % 3
    c = small_circuit(rng, n)
    h = random_sum(rng, n, 10)
    exact = expectation(c, h).value
    est = expectation(c, h, shots=3000, seed=seed)
    assert not est.exact and est.shots == 3000 and est.standard_error > 0
    assert abs(est.value - exact) < 4 * est.standard_error, (est.value, exact, est.standard_error)
    groups = est.metadata["num_groups"]
    assert groups == len(measurement_circuits(c, h)) and est.metadata["total_shots"] == 3000 * groups


@pytest.mark.parametrize("backend", ["density_matrix", "trajectories"])
def test_noisy_shot_estimates_agree_with_the_noisy_exact_value(backend):
    aer_noise = pytest.importorskip("qiskit_aer.noise")
    model, _ = _noise_pair(aer_noise)  # no errors on h, sdg or measure, no readout error
    rng = np.random.default_rng(77)
    c = Circuit(3)
    for q in range(3):
        c.ry(float(rng.uniform(0, 3)), q)
    c.cx(0, 1).cx(1, 2).rx(0.7, 0).rz(0.4, 2)
    h = random_sum(rng, 3, 8)
    exact = expectation(c, h, noise=model).value
    assert abs(exact - expectation(c, h).value) > 0.01  # the noise matters
    est = expectation(c, h, noise=model, shots=4000, seed=11, backend=backend)
    assert est.backend == backend
    assert abs(est.value - exact) < 4 * est.standard_error


def test_readout_errors_enter_the_estimate_but_not_the_exact_value():
    p10 = 0.1  # P(read 1 | prepared 0)
    model = NoiseModel().add_readout_error(channels.readout_error(p10, 0.0))
    c = Circuit(1)
    assert expectation(c, "Z", noise=model).value == 1.0  # Tr(rho Z) before the measurement
    est = expectation(c, "Z", noise=model, shots=20000, seed=5)
    assert abs(est.value - (1 - 2 * p10)) < 4 * est.standard_error
    assert abs(est.value - 1.0) > 10 * est.standard_error


def test_standard_error_of_one_pauli_matches_the_binomial_formula():
    theta = 0.9
    c = Circuit(1).ry(theta, 0)
    shots = 40000
    for label, mean in (("X", math.sin(theta)), ("Z", math.cos(theta)), ("Y", 0.0)):
        est = expectation(c, {label: 2.0}, shots=shots, seed=21)
        want = 2.0 * math.sqrt((1 - mean**2) / shots)  # Var(c P) = c^2 (1 - <P>^2)
        assert abs(est.standard_error / want - 1) < 0.03, (label, est.standard_error, want)
        assert abs(est.value - 2 * mean) < 4 * want


def test_standard_error_scales_as_one_over_the_square_root_of_the_shots():
    rng = np.random.default_rng(9)
    c = small_circuit(rng, 3)
    h = random_sum(rng, 3, 6)
    small = expectation(c, h, shots=1000, seed=1).standard_error
    large = expectation(c, h, shots=16000, seed=2).standard_error
    assert 3.6 < small / large < 4.4


def test_correlated_terms_of_a_group_add_their_covariance():
    # Bell state: Z0 and Z1 are always equal, so ZI + IZ is +-2 each shot: variance 4, not 2
    c = Circuit(2).h(0).cx(0, 1)
    shots = 20000
    est = expectation(c, {"ZI": 1.0, "IZ": 1.0}, shots=shots, seed=4)
    assert est.metadata["num_groups"] == 1
    assert abs(est.standard_error**2 * shots / 4.0 - 1) < 0.05


@pytest.mark.parametrize("seed", range(3))
def test_standard_error_matches_the_exact_variance_of_each_group(seed):
    rng = np.random.default_rng(700 + seed)
    n = 3
    c = small_circuit(rng, n)
    h = random_sum(rng, n, 10).as_observable()
    shots = 20000
    est = expectation(c, h, shots=shots, seed=seed)
    want = exact_variance(h, kizuna.statevector(c)) / shots
    assert abs(est.standard_error**2 / want - 1) < 0.1, (est.standard_error**2, want)


def test_z_scores_of_repeated_estimates_have_unit_spread():
    c = Circuit(2).ry(1.2, 0).cx(0, 1).ry(0.5, 1)
    h = PauliSum({"ZI": 1.0, "IZ": 0.7, "ZZ": -0.5, "XX": 0.8, "XI": 0.3})
    exact = expectation(c, h).value
    z = np.array([(e.value - exact) / e.standard_error
                  for e in (expectation(c, h, shots=200, seed=s) for s in range(300))])
    assert abs(z.mean()) < 0.25
    assert 0.85 < z.std() < 1.15


def test_same_seed_same_result_and_seeds_are_spawned_per_group():
    rng = np.random.default_rng(8)
    c = small_circuit(rng, 3)
    h = random_sum(rng, 3, 8)
    a = expectation(c, h, shots=500, seed=123)
    b = expectation(c, h, shots=500, seed=123)
    assert (a.value, a.standard_error) == (b.value, b.standard_error)
    assert a.seed == 123 and a.provenance["seed"] == 123
    assert expectation(c, h, shots=500, seed=124).value != a.value
    # the documented recipe: group g runs with child g of SeedSequence(seed)
    groups = measurement_circuits(c, h)
    children = np.random.SeedSequence(123).spawn(len(groups))
    counts = [kizuna.run(circ, 500, seed=np.random.default_rng(ch)).counts for (circ, _), ch in zip(groups, children)]
    from kizuna.computing.observables import _group_estimate

    value = sum(_group_estimate(k, g, 500)[0] for k, (_, g) in zip(counts, groups))
    assert value == pytest.approx(a.value, abs=1e-12)
    fresh = expectation(c, h, shots=100)
    assert isinstance(fresh.seed, int)
    again = expectation(c, h, shots=100, seed=fresh.seed)
    assert again.value == fresh.value
    gen = expectation(c, h, shots=100, seed=np.random.default_rng(5))
    assert gen.seed is None
    assert gen.value == expectation(c, h, shots=100, seed=np.random.default_rng(5)).value


def test_measurement_circuits_rotate_each_letter_to_z():
    c = Circuit(3, 1).h(0).measure(0, 0)
    (circ, group), = measurement_circuits(c, {"YXZ": 1.0})
    assert group.labels == ("YXZ",)
    names = [(ins.name, ins.qubits) for ins in circ.instructions]
    assert names[:1] == [("h", (0,))]  # the final measurement of qubit 0 is gone
    assert ("h", (1,)) in names and ("sdg", (2,)) in names and names.index(("sdg", (2,))) < names.index(("h", (2,)))
    assert [r.name for r in circ.cregs] == ["c", "obs"]
    # the rotation makes the letter's +1 eigenstate read 0: |+i> on qubit 2 reads 0 after sdg, h
    plus_i = Circuit(3).h(2).s(2)
    (rot, _), = measurement_circuits(plus_i, {"YII": 1.0})
    assert kizuna.run(rot, 100, seed=1).counts == {"0": 100}
    (rot, _), = measurement_circuits(plus_i, {"ZII": 1.0})  # not an eigenstate of Z: both records
    assert sorted(kizuna.run(rot, 100, seed=1).counts) == ["0", "1"]


# --- results -------------------------------------------------------------------------------------------
def test_result_round_trips_through_json_and_carries_provenance():
    c = Circuit(2).h(0).cx(0, 1)
    h = PauliSum({"ZZ": 1.0, "XX": 0.5})
    for r in (expectation(c, h), expectation(c, h, shots=100, seed=2)):
        back = ExpectationResult.from_dict(json.loads(json.dumps(r.to_dict())))
        assert back == r
        assert float(r) == r.value
        p = r.provenance
        assert p["kizuna_version"] == kizuna.__version__
        assert p["circuit_sha256"] == c.sha256() and p["observable_sha256"] == h.sha256()
    with pytest.raises(KizunaError):
        ExpectationResult.from_dict({"value": 1.0})
    with pytest.raises(KizunaError, match="exact result"):
        ExpectationResult(value=1.0, standard_error=0.1, shots=None, exact=True, backend="x", seed=None)
    with pytest.raises(KizunaError, match="finite"):
        ExpectationResult(value=float("nan"), standard_error=0.0, shots=None, exact=True, backend="x", seed=None)


# --- bad input -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, error, match", [
    ({"observable": {"XX": 1j}}, PauliError, "Hermitian: term 'XX'"),
    ({"observable": PauliSum({"XZ": 1.0, "ZX": 0.5 + 0.5j})}, PauliError, "term 'ZX'"),
    ({"observable": "XXX"}, PauliError, "acts on 3 qubit.*circuit has 2"),
    ({"observable": "XQ"}, PauliError, "'Q' at position 1"),
    ({"observable": 5}, PauliError, "observable must be"),
    ({"shots": 0}, SimulationError, "shots must be a positive integer.*got 0"),
    ({"shots": -3}, SimulationError, "got -3"),
    ({"shots": 2.5}, SimulationError, "got 2.5"),
    ({"shots": True}, SimulationError, "got True"),
    ({"backend": "gpu"}, BackendError, "unknown backend 'gpu'"),
    ({"backend": "trajectories"}, BackendError, "pass shots="),
    ({"noise": "depolarizing"}, SimulationError, "noise must be a kizuna NoiseModel"),
    ({"seed": -1}, ValueError, "seed"),
])
def test_bad_input_raises_a_clear_error(kwargs, error, match):
    args = {"observable": "ZZ", **kwargs}
    with pytest.raises(error, match=match):
        expectation(Circuit(2).h(0), **args)


def test_statevector_backend_refuses_noise():
    model = NoiseModel().add_all_qubit_error(channels.depolarizing(0.1), ["h"])
    with pytest.raises(BackendError, match="ideal circuits only"):
        expectation(Circuit(1).h(0), "X", noise=model, backend="statevector")
    with pytest.raises(BackendError):
        expectation(Circuit(1).h(0), "X", noise=model, backend="statevector", shots=10, seed=1)


def test_a_circuit_is_required():
    with pytest.raises(SimulationError, match="expected a kizuna.Circuit"):
        expectation("h q[0];", "Z")
    with pytest.raises(SimulationError, match="expected a kizuna.Circuit"):
        measurement_circuits(None, Pauli("Z"))


def test_exact_expectation_of_a_large_clifford_circuit_uses_the_tableau_and_others_mps():
    from kizuna.core.paulis import PauliSum

    n = 40
    ghz = kizuna.Circuit(n).h(0)
    for q in range(n - 1):
        ghz.cx(q, q + 1)
    zz = PauliSum({"Z" * 2 + "I" * (n - 2): 1.0, "X" * n: 0.5})
    r = expectation(ghz, zz)
    assert r.backend == "stabilizer" and r.value == pytest.approx(1.5)
    tilted = kizuna.Circuit(n).ry(0.3, 0)
    for q in range(n - 1):
        tilted.cx(q, q + 1)
    r = expectation(tilted, PauliSum({"I" * (n - 1) + "Z": 1.0}))  # <Z_0> = cos(0.3)
    assert r.backend == "mps" and r.value == pytest.approx(math.cos(0.3), abs=1e-12)
