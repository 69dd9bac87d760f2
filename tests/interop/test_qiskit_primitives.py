"""Kizuna's Qiskit ``SamplerV2`` / ``EstimatorV2`` against Qiskit's own primitives.

References: ``qiskit.primitives.StatevectorSampler`` / ``StatevectorEstimator`` (shapes,
register names, BitArray layout, exact values), ``qiskit.quantum_info.Statevector`` (exact
outcome probabilities for chi-square tests), ``qiskit_aer.primitives.EstimatorV2`` with a
density-matrix ``AerSimulator`` (noisy expectation values) and numpy's ``eigvalsh`` (the VQE
ground energy).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

qiskit = pytest.importorskip("qiskit")

from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Parameter, ParameterVector
from qiskit.primitives import (
    BaseEstimatorV2,
    BaseSamplerV2,
    StatevectorEstimator,
    StatevectorSampler,
)
from qiskit.quantum_info import SparseObservable, SparsePauliOp, Statevector

from kizuna.computing.noise import NoiseModel
from kizuna.core.channels import amplitude_damping, depolarizing
from kizuna.errors import BackendError, InteropError
from kizuna.interop._qiskit_primitives import EstimatorV2, SamplerV2


# --- circuits ------------------------------------------------------------------------------------
def bell_measure_all() -> QuantumCircuit:
    qc = QuantumCircuit(2, name="bell")
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    return qc


def one_parameter() -> QuantumCircuit:
    theta = Parameter("theta")
    qc = QuantumCircuit(2, 2)
    qc.ry(theta, 0)
    qc.cx(0, 1)
    qc.rx(2 * theta + 0.3, 1)
    qc.measure([0, 1], [0, 1])
    return qc


def two_registers() -> QuantumCircuit:
    """Three parameters (a ParameterVector: names that are not identifiers) and two named
    classical registers written out of order."""
    a = ParameterVector("a", 3)
    qr = QuantumRegister(3, "q")
    alpha = ClassicalRegister(2, "alpha")
    beta = ClassicalRegister(1, "beta")
    qc = QuantumCircuit(qr, alpha, beta, name="regs")
    qc.h(0)
    qc.ry(a[0], 1)
    qc.cx(0, 2)
    qc.rz(a[1], 2)
    qc.crx(a[2], 1, 0)
    qc.h(2)
    qc.measure(2, alpha[0])
    qc.measure(0, alpha[1])
    qc.measure(1, beta[0])
    return qc


def unmeasured(qc: QuantumCircuit) -> QuantumCircuit:
    return qc.remove_final_measurements(inplace=False)


def exact_register_counts(qc: QuantumCircuit, values, register: str) -> dict[str, float]:
    """Exact probabilities of ``register``'s bitstrings (bit 0 rightmost) from Qiskit's
    Statevector of the bound circuit without its final measurements."""
    bound = qc.assign_parameters(values) if qc.num_parameters else qc
    where = {}
    for ci in bound.data:
        if ci.operation.name == "measure":
            where[bound.find_bit(ci.clbits[0]).index] = bound.find_bit(ci.qubits[0]).index
    reg = next(r for r in bound.cregs if r.name == register)
    clbits = [bound.find_bit(b).index for b in reg]
    qubits = [where[c] for c in clbits]
    probs = Statevector(unmeasured(bound)).probabilities_dict(qargs=qubits)
    return probs  # qargs order: qubits[0] is the rightmost character, as clbit 0 of the register


def _chi_square_p(counts: dict[str, int], probabilities: dict[str, float], shots: int) -> float:
    from scipy.stats import chisquare

    assert all(probabilities.get(k, 0.0) > 1e-12 for k in counts), (counts, probabilities)
    keys = [k for k, p in probabilities.items() if p * shots >= 5]
    rest = 1.0 - sum(probabilities[k] for k in keys)
    obs = [counts.get(k, 0) for k in keys]
    exp = [probabilities[k] * shots for k in keys]
    if rest * shots >= 1e-9:
        obs.append(shots - sum(obs))
        exp.append(rest * shots)
    if len(obs) < 2:
        return 1.0
    exp = np.array(exp) * (shots / sum(exp))
    return float(chisquare(obs, exp).pvalue)


def total_variation(a: dict[str, int], b: dict[str, int]) -> float:
    na, nb = sum(a.values()), sum(b.values())
    return 0.5 * sum(abs(a.get(k, 0) / na - b.get(k, 0) / nb) for k in set(a) | set(b))


RNG = np.random.default_rng(20261125)
VALUES_5 = RNG.uniform(-math.pi, math.pi, size=(5, 1))
VALUES_23 = RNG.uniform(-math.pi, math.pi, size=(2, 3, 3))


def sampler_pubs():
    return [
        (bell_measure_all(),),
        (one_parameter(), VALUES_5),
        (two_registers(), VALUES_23),
    ]


# --- SamplerV2 -----------------------------------------------------------------------------------
def test_sampler_is_a_qiskit_base_sampler():
    assert isinstance(SamplerV2(), BaseSamplerV2)
    assert isinstance(EstimatorV2(), BaseEstimatorV2)


def test_sampler_shapes_registers_and_bitarrays_match_statevector_sampler():
    pubs = sampler_pubs()
    ours = SamplerV2(seed=1).run(pubs, shots=300).result()
    ref = StatevectorSampler(seed=1).run(pubs, shots=300).result()
    assert len(ours) == len(ref) == 3
    for mine, theirs in zip(ours, ref):
        assert sorted(mine.data.keys()) == sorted(theirs.data.keys())
        assert mine.data.shape == theirs.data.shape
        for name in theirs.data:
            a, b = mine.data[name], theirs.data[name]
            assert a.shape == b.shape
            assert a.num_bits == b.num_bits and a.num_shots == b.num_shots == 300
            assert a.array.dtype == b.array.dtype == np.uint8
            assert a.array.shape == b.array.shape
        assert mine.metadata["shots"] == 300
        assert mine.metadata["circuit_metadata"] == theirs.metadata["circuit_metadata"]
        assert mine.metadata["kizuna"]["seed"] == 1
        assert mine.metadata["kizuna"]["backend"] == "statevector"
    assert [r.data.shape for r in ours] == [(), (5,), (2, 3)]
    # a PUB's own shots win over run's
    own = SamplerV2(seed=1).run([(one_parameter(), VALUES_5, 17)], shots=300).result()[0]
    assert own.data.c.num_shots == 17 and own.metadata["shots"] == 17
    assert sorted(ours[2].data.keys()) == ["alpha", "beta"]
    assert ours.metadata["version"] == 2


def test_sampler_distributions_pass_chi_square_against_exact_probabilities():
    shots = 4000
    pubs = sampler_pubs()
    result = SamplerV2(seed=11).run(pubs, shots=shots).result()
    pvalues = []
    for (qc, *rest), pub_result in zip(pubs, result):
        values = rest[0] if rest else None
        for name in pub_result.data:
            bits = pub_result.data[name]
            for index in np.ndindex(*bits.shape):
                binding = None if values is None else values[index]
                exact = exact_register_counts(qc, binding, name)
                pvalues.append(_chi_square_p(bits.get_counts(index), exact, shots))
    # 1 + 5 + 2*6 register distributions at a fixed seed: none may be far off
    assert len(pvalues) == 18
    assert min(pvalues) > 1e-4, pvalues


def test_sampler_agrees_with_statevector_sampler_in_total_variation():
    shots = 4000
    pub = (two_registers(), VALUES_23)
    ours = SamplerV2(seed=3).run([pub], shots=shots).result()[0].data
    ref = StatevectorSampler(seed=3).run([pub], shots=shots).result()[0].data
    for index in np.ndindex(2, 3):
        for name in ("alpha", "beta"):
            # two independent samples of <= 4 outcomes: TV ~ 0.01 expected, 0.05 is >5 sigma
            assert total_variation(ours[name].get_counts(index), ref[name].get_counts(index)) < 0.05


def test_sampler_bit_layout_is_identical_to_statevector_sampler_for_deterministic_outcomes():
    """Basis-state circuits: every shot is fixed, so the packed bytes must agree exactly.
    A 10-bit register spans two bytes; clbits are written out of order, one is never written
    and one register is measured into twice."""
    qc = QuantumCircuit(QuantumRegister(6, "q"), ClassicalRegister(10, "wide"), ClassicalRegister(3, "small"))
    for q in (0, 2, 3, 5):
        qc.x(q)
    qc.measure([0, 1, 2, 3, 4, 5], [9, 0, 8, 2, 5, 1])
    qc.measure([3, 4, 0], [10, 11, 12])
    ours = SamplerV2(seed=0).run([qc], shots=7).result()[0].data
    ref = StatevectorSampler(seed=0).run([qc], shots=7).result()[0].data
    for name in ("wide", "small"):
        np.testing.assert_array_equal(ours[name].array, ref[name].array)
    assert ours.wide.get_counts() == {"1100000110": 7}  # clbits 9, 8, 2, 1 (qubits 0, 2, 3, 5)
    assert ours.small.get_counts() == {"101": 7}


def test_sampler_same_seed_same_bits_and_generator_seed_is_recorded():
    pubs = sampler_pubs()
    a = SamplerV2(seed=42).run(pubs, shots=64).result()
    b = SamplerV2(seed=42).run(pubs, shots=64).result()
    c = SamplerV2(seed=43).run(pubs, shots=64).result()
    for x, y in zip(a, b):
        for name in x.data:
            np.testing.assert_array_equal(x.data[name].array, y.data[name].array)
    assert any(not np.array_equal(x.data[n].array, y.data[n].array) for x, y in zip(a, c) for n in x.data)
    sampler = SamplerV2(seed=np.random.default_rng(5))
    first = sampler.run(pubs, shots=64).result()
    entropy = first.metadata["kizuna"]["seed"]
    again = SamplerV2(seed=entropy).run(pubs, shots=64).result()
    for x, y in zip(first, again):
        for name in x.data:
            np.testing.assert_array_equal(x.data[name].array, y.data[name].array)


def test_sampler_binding_samples_do_not_depend_on_other_bindings():
    """Child seeds are spawned per binding in C order: a prefix of the bindings gives a prefix
    of the samples."""
    qc = one_parameter()
    full = SamplerV2(seed=9).run([(qc, VALUES_5)], shots=50).result()[0].data.c
    head = SamplerV2(seed=9).run([(qc, VALUES_5[:2])], shots=50).result()[0].data.c
    np.testing.assert_array_equal(full.array[:2], head.array)


def test_sampler_mid_circuit_measurement_and_reset_follow_the_branch_distribution():
    """h; measure -> c0; reset; ry(0.8); measure -> c1; c0 is a fair coin, c1 is 1 with
    probability sin(0.4)**2, independent of c0."""
    qc = QuantumCircuit(1, 2)
    qc.h(0)
    qc.measure(0, 0)
    qc.reset(0)
    qc.ry(0.8, 0)
    qc.measure(0, 1)
    shots = 4000
    res = SamplerV2(seed=5).run([qc], shots=shots).result()[0]
    assert res.metadata["kizuna"]["backend"] != "none"
    p1 = math.sin(0.4) ** 2
    exact = {"00": 0.5 * (1 - p1), "01": 0.5 * (1 - p1), "10": 0.5 * p1, "11": 0.5 * p1}
    assert _chi_square_p(res.data.c.get_counts(), exact, shots) > 1e-4


def test_sampler_density_matrix_backend_with_noise_matches_depolarizing_formula():
    """Depolarizing(p) after each of two ``h`` on |0> (rho -> (1-p) rho + p I/2, Aer's and
    Kizuna's convention): P(1) = (1 - (1 - p)**2) / 2."""
    p = 0.3
    noise = NoiseModel().add_all_qubit_error(depolarizing(p), ["h"])
    qc = QuantumCircuit(1, 1)
    qc.h(0)
    qc.h(0)
    qc.measure(0, 0)
    shots = 4000
    for backend in ("density_matrix", "trajectories", "auto"):
        res = SamplerV2(seed=2, noise=noise, backend=backend).run([qc], shots=shots).result()[0]
        # each depolarizing step shrinks the Bloch vector by (1 - p): <Z> = (1 - p)**2
        exact_p1 = (1 - (1 - p) ** 2) / 2
        assert _chi_square_p(res.data.c.get_counts(), {"0": 1 - exact_p1, "1": exact_p1}, shots) > 1e-4
        assert res.metadata["kizuna"]["noise_model_sha256"] == noise.sha256()


def test_sampler_circuit_without_registers_gives_empty_databin():
    qc = QuantumCircuit(1)
    qc.h(0)
    with pytest.warns(UserWarning):
        StatevectorSampler().run([qc])  # Qiskit warns; we return the same empty data
    with pytest.warns(UserWarning, match="no classical registers"):
        res = SamplerV2(seed=0).run([qc], shots=10).result()[0]
    assert list(res.data.keys()) == [] and res.data.shape == ()


@settings(max_examples=15, deadline=None)
@given(shape=st.lists(st.integers(1, 3), min_size=0, max_size=3), shots=st.integers(1, 20))
def test_sampler_result_shape_is_the_bindings_shape(shape, shots):
    qc = one_parameter()
    values = np.linspace(0, 1, math.prod(shape)).reshape(tuple(shape) + (1,))
    res = SamplerV2(seed=0).run([(qc, values)], shots=shots).result()[0]
    assert res.data.c.shape == tuple(shape)
    assert res.data.c.num_shots == shots and res.data.c.num_bits == 2


def test_each_circuit_is_converted_once_per_run(monkeypatch):
    import kizuna.interop._qiskit_primitives as prims

    calls = []
    original = prims.from_qiskit

    def counting(qc, **kw):
        calls.append(qc.name)
        return original(qc, **kw)

    monkeypatch.setattr(prims, "from_qiskit", counting)
    qc = one_parameter()
    SamplerV2(seed=0).run([(qc, VALUES_5), (qc, VALUES_5[:2])], shots=5).result()
    assert len(calls) == 1
    EstimatorV2().run([(unmeasured(qc), [["ZZ"], ["XX"]], VALUES_5)]).result()
    assert len(calls) == 2


def test_sampler_rejects_bad_arguments_with_named_values():
    with pytest.raises(InteropError, match="default_shots"):
        SamplerV2(default_shots=0)
    with pytest.raises(BackendError, match="'qpu'"):
        SamplerV2(backend="qpu")
    with pytest.raises(InteropError, match="seed"):
        SamplerV2(seed=-1)
    with pytest.raises(InteropError, match="noise"):
        SamplerV2(noise="depolarizing")
    with pytest.raises(InteropError, match="iterable of PUBs"):
        SamplerV2().run(bell_measure_all())
    with pytest.raises(ValueError):
        SamplerV2().run([bell_measure_all()], shots=0)


# --- EstimatorV2 ---------------------------------------------------------------------------------
H = SparsePauliOp(["ZZI", "XIX", "IYY"], [1.0, 0.5, -0.25])
OBS_3 = [H, "IIZ", {"ZII": 2.0, "IXI": 0.5}]
OBS_21 = [["XXX"], [SparsePauliOp(["ZIZ", "III"], [0.7, 0.1])]]


def estimator_pubs():
    regs = unmeasured(two_registers())
    return [
        (unmeasured(bell_measure_all()), ["ZZ", "XX", "YY", "IZ"]),
        (unmeasured(one_parameter()), "XY", VALUES_5),
        (regs, OBS_3, VALUES_23),
        (regs, OBS_21, VALUES_23),
    ]


def test_estimator_values_and_shapes_match_statevector_estimator():
    pubs = estimator_pubs()
    ours = EstimatorV2().run(pubs).result()
    ref = StatevectorEstimator().run(pubs).result()
    assert [r.data.evs.shape for r in ours] == [(4,), (5,), (2, 3), (2, 3)]
    for mine, theirs in zip(ours, ref):
        assert mine.data.shape == theirs.data.shape
        np.testing.assert_allclose(mine.data.evs, theirs.data.evs, rtol=0, atol=1e-10)
        np.testing.assert_array_equal(mine.data.stds, np.zeros(mine.data.shape))
        assert mine.metadata["target_precision"] == 0.0
        assert mine.metadata["kizuna"]["backend"] == "statevector"
    np.testing.assert_allclose(ours[0].data.evs, [1.0, 1.0, -1.0, 0.0], atol=1e-12)


def test_estimator_label_rightmost_character_is_qubit_zero():
    qc = QuantumCircuit(3)
    qc.x(0)
    evs = EstimatorV2().run([(qc, ["IIZ", "ZII", "IZI", SparseObservable("II1"), SparseObservable("0II")])]).result()[0].data.evs
    np.testing.assert_allclose(evs, [-1.0, 1.0, 1.0, 1.0, 1.0], atol=1e-12)


def test_estimator_precision_adds_seeded_gaussian_noise_of_that_width():
    qc = unmeasured(bell_measure_all())
    obs = ["ZZ"] * 2000
    est = EstimatorV2(seed=123)
    a = est.run([(qc, obs)], precision=0.05).result()[0]
    b = EstimatorV2(seed=123).run([(qc, obs)], precision=0.05).result()[0]
    np.testing.assert_array_equal(a.data.evs, b.data.evs)
    np.testing.assert_array_equal(a.data.stds, np.full(2000, 0.05))
    assert a.metadata["target_precision"] == 0.05
    dev = a.data.evs - 1.0
    # sample mean within 5 standard errors of 0; sample std within 5% of 0.05 (its relative
    # standard error is 1/sqrt(2 * 2000) = 1.6%)
    assert abs(dev.mean()) < 5 * 0.05 / math.sqrt(2000)
    assert abs(dev.std(ddof=1) / 0.05 - 1) < 0.05


def test_estimator_with_noise_matches_aer_density_matrix_estimator():
    aer = pytest.importorskip("qiskit_aer")
    from qiskit_aer.noise import NoiseModel as AerNoiseModel
    from qiskit_aer.noise import amplitude_damping_error, depolarizing_error
    from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2

    p1, p2, gamma = 0.02, 0.05, 0.1
    ours_noise = (
        NoiseModel()
        .add_all_qubit_error(depolarizing(p1), ["h", "ry", "rz"])
        .add_all_qubit_error(depolarizing(p2, num_qubits=2), ["cx"])
        .add_all_qubit_error(amplitude_damping(gamma), ["x"])
    )
    aer_noise = AerNoiseModel()
    aer_noise.add_all_qubit_quantum_error(depolarizing_error(p1, 1), ["h", "ry", "rz"])
    aer_noise.add_all_qubit_quantum_error(depolarizing_error(p2, 2), ["cx"])
    aer_noise.add_all_qubit_quantum_error(amplitude_damping_error(gamma), ["x"])

    theta = ParameterVector("t", 2)
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.x(2)
    qc.ry(theta[0], 1)
    qc.cx(0, 1)
    qc.rz(theta[1], 1)
    qc.cx(1, 2)
    qc.ry(0.7, 2)
    values = np.array([[0.3, -1.1], [2.0, 0.4], [-0.7, 2.9]])
    # (4,) observables against (3, 1) bindings -> (3, 4); ideal values up to 0.96 in size
    pub = (qc, ["ZZI", "XIZ", "IZZ", "IIX"], values[:, None, :])
    ours = EstimatorV2(noise=ours_noise).run([pub]).result()[0]
    ref = AerEstimatorV2(options={"backend_options": {"method": "density_matrix", "noise_model": aer_noise}}).run(
        [pub]).result()[0]
    assert ours.data.evs.shape == ref.data.evs.shape == (3, 4)
    np.testing.assert_allclose(ours.data.evs, ref.data.evs, rtol=0, atol=1e-8)
    assert ours.metadata["kizuna"]["backend"] == "density_matrix"
    ideal = EstimatorV2().run([pub]).result()[0].data.evs
    assert np.abs(ideal - ours.data.evs).min() > 1e-3  # the noise moved every value
    del aer


def test_estimator_averages_mid_circuit_measurements_exactly():
    """h; measure; the post-measurement state is |0> or |1> with probability 1/2: <Z> = 0 and
    <X> = 0 exactly (StatevectorEstimator would draw one branch)."""
    qc = QuantumCircuit(1, 1)
    qc.h(0)
    qc.measure(0, 0)
    qc.ry(0.5, 0)
    evs = EstimatorV2().run([(qc, ["Z", "X"])]).result()[0].data.evs
    np.testing.assert_allclose(evs, [0.0, 0.0], atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(
    pshape=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    oshape=st.lists(st.integers(1, 3), min_size=0, max_size=2),
)
def test_estimator_broadcasts_observables_against_bindings(pshape, oshape):
    pshape, oshape = tuple(pshape), tuple(oshape)
    try:
        shape = np.broadcast_shapes(pshape, oshape)
    except ValueError:
        return
    qc = unmeasured(one_parameter())
    values = np.linspace(-1, 1, math.prod(pshape)).reshape(pshape + (1,))
    labels = np.array(["ZZ", "XI", "IY", "XX", "YZ", "ZI", "II", "XY", "YY"][: math.prod(oshape)]
                      ).reshape(oshape).tolist()
    pub = (qc, labels, values)
    ours = EstimatorV2().run([pub]).result()[0].data.evs
    ref = StatevectorEstimator().run([pub]).result()[0].data.evs
    assert ours.shape == ref.shape == shape
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_estimator_rejects_bad_arguments():
    with pytest.raises(InteropError, match="default_precision"):
        EstimatorV2(default_precision=-0.1)
    with pytest.raises(BackendError, match="precision"):
        EstimatorV2(precision="half")
    with pytest.raises(ValueError):  # Qiskit's coercion: observable width != circuit width
        EstimatorV2().run([(QuantumCircuit(2), "ZZZ")]).result()
    with pytest.raises(ValueError):  # missing parameter values
        EstimatorV2().run([(unmeasured(one_parameter()), "ZZ")]).result()


# --- a VQE loop ----------------------------------------------------------------------------------
def test_vqe_with_scipy_reaches_the_exact_h2_ground_energy():
    """H2 at 0.735 A in the STO-3G basis, parity mapping with two-qubit reduction (the
    Hamiltonian of Qiskit's VQE tutorials / Kandala et al., Nature 549, 242 (2017)); the
    exact ground energy is the lowest eigenvalue of its matrix."""
    from scipy.optimize import minimize

    h2 = SparsePauliOp.from_list([
        ("II", -1.052373245772859),
        ("IZ", 0.39793742484318045),
        ("ZI", -0.39793742484318045),
        ("ZZ", -0.01128010425623538),
        ("XX", 0.18093119978423156),
    ])
    exact = float(np.linalg.eigvalsh(h2.to_matrix())[0])
    theta = ParameterVector("θ", 4)
    ansatz = QuantumCircuit(2)
    ansatz.ry(theta[0], 0)
    ansatz.ry(theta[1], 1)
    ansatz.cx(0, 1)
    ansatz.ry(theta[2], 0)
    ansatz.ry(theta[3], 1)
    estimator = EstimatorV2()

    def energy(x):
        return float(estimator.run([(ansatz, h2, x)]).result()[0].data.evs)

    best = minimize(energy, x0=np.array([0.1, -0.2, 0.3, 0.05]), method="BFGS", options={"gtol": 1e-9})
    assert abs(best.fun - exact) < 1e-6, (best.fun, exact)
    # the sampler sees the same state: the ground state's dominant outcome
    measured = ansatz.measure_all(inplace=False)
    counts = SamplerV2(seed=0).run([(measured, best.x)], shots=2000).result()[0].data.meas.get_counts()
    probs = Statevector(ansatz.assign_parameters(best.x)).probabilities_dict()
    assert _chi_square_p(counts, probs, 2000) > 1e-4
