"""The density-matrix backend: exact simulation of noisy circuits.

References, all independent of the code under test:

* Qiskit Aer's ``density_matrix`` method (``save_density_matrix``), fed the very same Kraus
  matrices (as ``Kraus`` instructions in the circuit, or as ``QuantumError``s of an Aer
  ``NoiseModel``) on seeded random circuits: fidelity >= 1 - 1e-9.
* A deliberately plain dense reference written here: ``2**n x 2**n`` matrices, every gate and
  Kraus matrix ``embed``-ded, one density matrix per recorded measurement history (for
  measurement, reset, conditions and readout errors).
* Analytic values: the depolarized Bell state (Nielsen & Chuang, *Quantum Computation and
  Quantum Information*, eq. 8.102: rho -> (1 - p) rho + p I/d gives fidelity 1 - p + p/d), the
  amplitude-damping population ``(1 - gamma)**m`` (N&C §8.3.5) and the dephasing of |+> under
  phase flips (coherence ``(1 - 2p) / 2``, N&C §8.3.3).
* hypothesis: the result is Hermitian, of trace one and positive semidefinite.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kizuna
from kizuna.computing.backends import choose_backend
from kizuna.computing.backends.density_matrix import (
    DensityMatrixBackend,
    check_program,
    fuse_superoperators,
)
from kizuna.computing.circuit import flatten
from kizuna.computing.execute import density_matrix
from kizuna.computing.noise import ChannelOp, NoiseModel
from kizuna.core.bits import registers_bitstring
from kizuna.core.channels import (
    Channel,
    amplitude_damping,
    bit_flip,
    depolarizing,
    pauli_channel,
    phase_flip,
    readout_error,
    thermal_relaxation,
)
from kizuna.core.gates import embed, gate_matrix
from kizuna.errors import BackendError, MemoryLimitError, SimulationError

aer = pytest.importorskip("qiskit_aer")
qiskit = pytest.importorskip("qiskit")
from qiskit import QuantumCircuit
from qiskit.quantum_info import DensityMatrix, Kraus, state_fidelity

#: Table gates Aer's density-matrix method runs natively under the same names (the random
#: circuits also carry random ``unitary`` blocks of up to 3 qubits).
AER_GATES = ["h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx", "sxdg", "rx", "ry", "rz", "p", "u",
             "u1", "u2", "u3", "cx", "cy", "cz", "swap", "cp", "cu1", "rxx", "ryy", "rzz", "rzx", "ecr",
             "ccx"]


def random_kraus(rng: np.random.Generator, num_qubits: int, rank: int) -> list[np.ndarray]:
    """Kraus matrices of a random CPTP map: the blocks of a random isometry (Stinespring)."""
    d = 1 << num_qubits
    g = rng.normal(size=(d * rank, d)) + 1j * rng.normal(size=(d * rank, d))
    v, _ = np.linalg.qr(g)
    return [v[i * d:(i + 1) * d, :] for i in range(rank)]


def aer_density_matrix(qc: QuantumCircuit, noise_model=None) -> np.ndarray:
    qc = qc.copy()
    qc.save_density_matrix()
    sim = aer.AerSimulator(method="density_matrix", noise_model=noise_model)
    return np.asarray(sim.run(qc).result().data()["density_matrix"])


def fidelity(a: np.ndarray, b: np.ndarray) -> float:
    return float(state_fidelity(DensityMatrix(np.ascontiguousarray(a)), DensityMatrix(b), validate=False))


# --- a plain dense reference ----------------------------------------------------------------------
def reference_ensemble(program, n: int, readout=None) -> dict[int, np.ndarray]:
    """{classical bits: unnormalised density matrix} after ``program``, every measurement kept."""
    readout = readout or {}
    rho0 = np.zeros((1 << n, 1 << n), dtype=complex)
    rho0[0, 0] = 1
    ens = {0: rho0}
    idx = np.arange(1 << n)
    for item in program:
        new: dict[int, np.ndarray] = {}
        for bits, rho in ens.items():
            cond = item.condition
            if cond is not None and sum(((bits >> b) & 1) << i for i, b in enumerate(cond.clbits)) != cond.value:
                new[bits] = new.get(bits, 0) + rho
                continue
            if isinstance(item, ChannelOp):
                ks = [embed(k, item.qubits, n) for k in item.channel.kraus]
                new[bits] = new.get(bits, 0) + sum(k @ rho @ k.conj().T for k in ks)
            elif item.name == "reset":
                q = item.qubits[0]
                k0 = embed(np.array([[1, 0], [0, 0]]), [q], n)
                k1 = embed(np.array([[0, 1], [0, 0]]), [q], n)
                new[bits] = new.get(bits, 0) + k0 @ rho @ k0.conj().T + k1 @ rho @ k1.conj().T
            elif item.name == "measure":
                q, b = item.qubits[0], item.clbits[0]
                a = readout.get(q, np.eye(2))
                for outcome in (0, 1):
                    proj = np.diag((((idx >> q) & 1) == outcome).astype(float))
                    part = proj @ rho @ proj
                    for rec in (0, 1):
                        w = a[rec, outcome]
                        if w:
                            key = (bits & ~(1 << b)) | (rec << b)
                            new[key] = new.get(key, 0) + w * part
            else:
                u = embed(item.to_matrix(), item.qubits, n)
                new[bits] = new.get(bits, 0) + u @ rho @ u.conj().T
        ens = new
    return ens


def reference_probabilities(program, n, readout=None) -> dict[int, float]:
    return {k: float(np.trace(r).real) for k, r in reference_ensemble(program, n, readout).items()
            if np.trace(r).real > 1e-14}


def dynamic_program(seed: int, n: int, *, mid_circuit: bool = True):
    """A seeded noisy program: random gates, random channels (1-2 qubits, some non-unital),
    mid-circuit measurements, resets, conditioned gates and channels; plus readout matrices."""
    rng = np.random.default_rng(seed)
    c = kizuna.Circuit(n, n)
    for step in range(14):
        r = rng.random()
        q = int(rng.integers(n))
        if mid_circuit and r < 0.12:
            c.measure(q, int(rng.integers(n)))
        elif mid_circuit and r < 0.18:
            c.reset(q)
        elif mid_circuit and r < 0.3:
            with c.if_test("c", int(rng.integers(1 << n))):
                c.rx(float(rng.uniform(0, 3)), q)
        elif r < 0.65 or n == 1:
            c.u(*rng.uniform(0, 6, 3), q)
        else:
            a, b = (int(x) for x in rng.permutation(n)[:2])
            c.cx(a, b)
    c.measure(list(range(n)), list(range(n)))
    flat = flatten(c)
    program = []
    for ins in flat:
        if ins.name == "measure" and rng.random() < 0.3:
            program.append(ChannelOp(Channel(random_kraus(rng, 1, 2)), ins.qubits, ins.condition))
        program.append(ins)
        if ins.name != "measure" and rng.random() < 0.7:
            k = len(ins.qubits)
            program.append(ChannelOp(Channel(random_kraus(rng, k, int(rng.integers(1, 4)))), ins.qubits, ins.condition))
    readout = {q: readout_error(*rng.uniform(0, 0.2, 2)).matrix for q in range(n) if rng.random() < 0.6}
    return c, program, readout


# --- against Qiskit Aer ---------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(8))
def test_final_state_matches_aer_with_the_same_kraus_channels(random_circuit_pair, seed):
    n = 2 + seed % 5
    kc, qc = random_circuit_pair(300 + seed, n, 40, gate_names=AER_GATES)
    flat = flatten(kc)
    ops = [ci for ci in qc.data if ci.operation.name != "barrier"]
    assert len(ops) == len(flat)
    rng = np.random.default_rng(seed)
    program = []
    noisy = QuantumCircuit(n)
    for ins, ci in zip(flat, ops):
        program.append(ins)
        noisy.append(ci.operation, ci.qubits)
        if rng.random() < 0.6:  # a channel on the gate's qubits or on random ones
            k = len(ins.qubits) if rng.random() < 0.7 else int(rng.integers(1, min(3, n) + 1))
            qs = ins.qubits if k == len(ins.qubits) else tuple(int(q) for q in rng.permutation(n)[:k])
            kraus = random_kraus(rng, k, int(rng.integers(1, 5)))
            program.append(ChannelOp(Channel(kraus), qs))
            noisy.append(Kraus(kraus), list(qs))
    ours = DensityMatrixBackend(max_fused_qubits=1 + seed % 3).final_state(program, n)
    theirs = aer_density_matrix(noisy)
    assert fidelity(ours, theirs) >= 1 - 1e-9
    np.testing.assert_allclose(ours, theirs, atol=1e-10)


def _channels(seed: int) -> dict[str, Channel]:
    rng = np.random.default_rng(seed)
    relax = thermal_relaxation(80e-6, 60e-6, 200e-9)
    return {
        "u": relax.compose(depolarizing(0.01)),
        "h": amplitude_damping(0.05),
        "rz": pauli_channel({"X": 0.01, "Y": 0.02, "Z": 0.03}),
        "cx": depolarizing(0.03, num_qubits=2).compose(relax.tensor(relax)),
        "cz": Channel(random_kraus(rng, 2, 3)),
    }


@pytest.mark.parametrize("seed", range(4))
def test_density_matrix_function_with_a_noise_model_matches_aer(seed):
    n = 3 + seed
    rng = np.random.default_rng(seed)
    channels = _channels(seed)
    model = NoiseModel()
    aer_model = aer.noise.NoiseModel()
    for name, ch in channels.items():
        model.add_all_qubit_error(ch, [name])
        aer_model.add_all_qubit_quantum_error(aer.noise.QuantumError(Kraus([np.asarray(k) for k in ch.kraus])), [name])
    model.add_readout_error(readout_error(0.05, 0.1))  # no effect on the state
    kc = kizuna.Circuit(n, n)
    qc = QuantumCircuit(n, n)
    for _ in range(30):
        name = ["u", "h", "rz", "cx", "cz"][int(rng.integers(5))]
        if name in ("cx", "cz"):
            a, b = (int(x) for x in rng.permutation(n)[:2])
            getattr(kc, name)(a, b)
            getattr(qc, name)(a, b)
        elif name == "u":
            q, ps = int(rng.integers(n)), rng.uniform(0, 6, 3)
            kc.u(*ps, q)
            qc.u(*ps, q)
        elif name == "rz":
            q, t = int(rng.integers(n)), float(rng.uniform(0, 6))
            kc.rz(t, q)
            qc.rz(t, q)
        else:
            q = int(rng.integers(n))
            kc.h(q)
            qc.h(q)
    kc.measure(list(range(n)), list(range(n)))  # terminal: ignored, as statevector() does
    ours = density_matrix(kc, model)
    theirs = aer_density_matrix(qc, aer_model)
    assert fidelity(ours, theirs) >= 1 - 1e-9
    np.testing.assert_allclose(ours, theirs, atol=1e-10)


def test_run_counts_agree_with_aer_counts_distribution(assert_counts_match):
    # Aer's own noisy sampling and Kizuna's exact distribution of the same model
    n = 3
    channels = _channels(7)
    model = NoiseModel()
    aer_model = aer.noise.NoiseModel()
    for name in ("u", "cx"):
        ch = channels[name]
        model.add_all_qubit_error(ch, [name])
        aer_model.add_all_qubit_quantum_error(aer.noise.QuantumError(Kraus([np.asarray(k) for k in ch.kraus])), [name])
    model.add_readout_error(readout_error(0.03, 0.08))
    aer_model.add_all_qubit_readout_error(aer.noise.ReadoutError([[0.97, 0.03], [0.08, 0.92]]))
    kc = kizuna.Circuit(n, n).u(0.3, 0.2, 0.1, 0).cx(0, 1).u(1.2, 0, 0, 2).cx(1, 2)
    kc.measure([0, 1, 2], [0, 1, 2])
    qc = QuantumCircuit(n, n)
    qc.u(0.3, 0.2, 0.1, 0)
    qc.cx(0, 1)
    qc.u(1.2, 0, 0, 2)
    qc.cx(1, 2)
    qc.measure([0, 1, 2], [0, 1, 2])
    shots = 20000
    aer_counts = aer.AerSimulator(method="density_matrix", noise_model=aer_model).run(
        qc, shots=shots, seed_simulator=11).result().get_counts()
    program = model.lower(flatten(kc), n)
    readout = {q: model.readout_error(q).matrix for q in range(n)}
    exact = DensityMatrixBackend().probabilities(program, n, readout)
    probs = {registers_bitstring(k, [n]): p for k, p in exact.items()}
    assert_counts_match(aer_counts, probs, shots)
    ours = kizuna.run(kc, shots=shots, seed=3, noise=model, backend="density_matrix")
    assert_counts_match(ours.counts, probs, shots)


# --- measurement, reset, conditions, readout --------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_probabilities_and_final_state_match_the_dense_reference(seed):
    n = 1 + seed % 3
    _, program, readout = dynamic_program(seed, n)
    backend = DensityMatrixBackend(max_fused_qubits=1 + seed % 2)
    exact = reference_probabilities(program, n, readout)
    ours = backend.probabilities(program, n, readout)
    assert set(ours) == set(exact)
    for k in exact:
        assert ours[k] == pytest.approx(exact[k], abs=1e-12)
    # the outcome-averaged state: the reference's ensemble summed, terminal measurements
    # dropped (density_matrix()'s convention)
    body = program[: max(i for i, x in enumerate(program) if getattr(x, "name", "") != "measure") + 1]
    rho = sum(reference_ensemble(body, n, readout).values())
    np.testing.assert_allclose(backend.final_state(body, n, readout), rho, atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_sampled_counts_follow_the_exact_distribution(seed, assert_counts_match):
    n = 2 + seed % 2
    _circuit, program, readout = dynamic_program(50 + seed, n)
    exact = reference_probabilities(program, n, readout)
    counts, meta = DensityMatrixBackend().sample(program, n, 20000, np.random.default_rng(seed), readout)
    assert sum(counts.values()) == 20000
    assert meta["branches"] >= 1
    fmt = lambda d: {registers_bitstring(k, [n]): v for k, v in d.items()}
    assert_counts_match(fmt(counts), fmt(exact), 20000)


def test_a_condition_reads_the_recorded_bit_after_its_readout_error(assert_counts_match):
    # X, measure into c0 with P(0|1) = 0.25 -> c0 = 0 a quarter of the time; then
    # if (c0 == 0) x q1: q1 ends 1 exactly when the *recorded* bit was 0
    c = kizuna.Circuit(2, 2).x(0).measure(0, 0)
    with c.if_test("c", 0):
        c.x(1)
    c.measure(1, 1)
    model = NoiseModel().add_readout_error(readout_error(0.0, 0.25), [0])
    r = kizuna.run(c, shots=8000, seed=5, noise=model, backend="density_matrix")
    assert_counts_match(r.counts, {"01": 0.75, "10": 0.25}, 8000)


def test_reset_is_a_channel_and_does_not_branch():
    c = kizuna.Circuit(1, 1).h(0).reset(0).measure(0, 0)
    r = kizuna.run(c, shots=500, seed=1, backend="density_matrix")
    assert r.counts == {"0": 500} and r.metadata["branches"] == 1


# --- analytic values ----------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 1.0])
def test_depolarized_bell_state_fidelity(p):
    model = NoiseModel().add_all_qubit_error(depolarizing(p, num_qubits=2), ["cx"])
    rho = density_matrix(kizuna.Circuit(2).h(0).cx(0, 1), model)
    bell = np.array([1, 0, 0, 1]) / math.sqrt(2)
    assert float(np.real(bell.conj() @ rho @ bell)) == pytest.approx(1 - p + p / 4, abs=1e-12)


@pytest.mark.parametrize("gamma, m", [(0.1, 1), (0.1, 5), (0.35, 7)])
def test_amplitude_damping_population_decays_geometrically(gamma, m):
    model = NoiseModel().add_all_qubit_error(amplitude_damping(gamma), ["id"])
    c = kizuna.Circuit(1).x(0)
    for _ in range(m):
        c.id(0)
    rho = density_matrix(c, model)
    assert rho[1, 1].real == pytest.approx((1 - gamma) ** m, abs=1e-12)
    assert abs(rho[0, 1]) < 1e-14


def test_twelve_qubits_dephased_plus_states():
    # |+> on 12 qubits, a phase flip of probability p on each: a product state whose corner
    # coherence is ((1 - 2p) / 2)**12; 256 MiB of density matrix
    n, p = 12, 0.1
    model = NoiseModel().add_all_qubit_error(phase_flip(p), ["h"])
    c = kizuna.Circuit(n)
    for q in range(n):
        c.h(q)
    rho = density_matrix(c, model)
    d = 1 << n
    assert rho.shape == (d, d)
    diag = np.diagonal(rho).real
    np.testing.assert_allclose(diag, 1 / d, atol=1e-15)
    assert rho[0, d - 1].real == pytest.approx(((1 - 2 * p) / 2) ** n, rel=1e-10)
    assert rho[d - 1, 0].real == pytest.approx(((1 - 2 * p) / 2) ** n, rel=1e-10)
    assert rho[5, 6].real == pytest.approx(((1 - 2 * p) / 2) ** 2 / 2 ** (n - 2), rel=1e-10)


# --- properties and configurations ----------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 4))
def test_result_is_hermitian_with_trace_one_and_positive(seed, n):
    _, program, readout = dynamic_program(seed, n)
    rho = np.asarray(DensityMatrixBackend().final_state(program, n, readout))
    np.testing.assert_allclose(rho, rho.conj().T, atol=1e-13)
    assert np.trace(rho).real == pytest.approx(1.0, abs=1e-12)
    assert np.linalg.eigvalsh(rho).min() >= -1e-12


@pytest.mark.parametrize("seed", range(3))
def test_numpy_path_fusion_and_precision_agree(seed):
    n = 4
    _, program, _readout = dynamic_program(900 + seed, n, mid_circuit=False)
    ref = np.asarray(DensityMatrixBackend().final_state(program, n))
    plain = DensityMatrixBackend(fusion=False)
    plain._kernels = None  # the numpy kernels
    np.testing.assert_allclose(plain.final_state(program, n), ref, atol=1e-12)
    for mq in (1, 3):
        np.testing.assert_allclose(DensityMatrixBackend(max_fused_qubits=mq).final_state(program, n), ref, atol=1e-12)
    single = DensityMatrixBackend(precision="single").final_state(program, n)
    assert single.dtype == np.complex64
    np.testing.assert_allclose(single, ref, atol=2e-6)


def test_fusion_merges_a_noisy_gate_with_its_neighbours():
    model = NoiseModel().add_all_qubit_error(depolarizing(0.01, 2), ["cx"])
    c = kizuna.Circuit(3).h(0).cx(0, 1).t(1).cx(1, 2).x(2)
    ops = fuse_superoperators(model.lower(flatten(c), 3), max_qubits=2)
    assert [(op.kind, op.qubits) for op in ops] == [("super", (0, 1)), ("super", (1, 2))]


# --- run(): provenance, determinism, backend choice, errors -----------------------------------
def test_run_records_the_backend_noise_model_and_seed():
    model = NoiseModel().add_all_qubit_error(bit_flip(0.2), ["x"])
    c = kizuna.Circuit(2, 2).x(0).cx(0, 1).measure([0, 1], [0, 1])
    a = kizuna.run(c, shots=300, seed=9, noise=model, backend="density_matrix", memory=True)
    b = kizuna.run(c, shots=300, seed=9, noise=model, backend="density_matrix", memory=True)
    assert a.backend == "density_matrix" == a.provenance["backend"]
    assert a.provenance["noise_model_sha256"] == model.sha256()
    assert a.seed == 9 and a.counts == b.counts and a.memory == b.memory
    assert set(a.counts) == {"00", "11"}
    ideal = kizuna.run(c, shots=10, seed=1)
    assert ideal.provenance["noise_model_sha256"] is None


def test_auto_picks_backends_by_the_documented_rule():
    model = NoiseModel().add_all_qubit_error(depolarizing(0.05), ["h"])
    small = kizuna.Circuit(3, 3).h(0).measure([0, 1, 2], [0, 1, 2])
    assert kizuna.run(small, shots=2000, seed=1, noise=model).backend == "density_matrix"
    # 2**3 = 8 > 1 + 10 * (3 * 0.05 / 4) expected distinct trajectories
    assert kizuna.run(small, shots=10, seed=1, noise=model).backend == "trajectories"
    big = kizuna.Circuit(16, 1).h(0).measure(0, 0)
    r = kizuna.run(big, shots=1000, seed=1, noise=model)
    assert r.backend == "trajectories" and "trajectories" in r.provenance["backend_reason"]
    assert kizuna.run(small, shots=100, seed=1).backend == "statevector"
    assert kizuna.run(small, shots=100, seed=1, noise=NoiseModel()).backend == "statevector"
    engine, reason = choose_backend("auto", small, program=model.lower(flatten(small), 3), shots=2000)
    assert engine.name == "density_matrix" and "2**3" in reason


def test_errors_name_the_problem(monkeypatch):
    model = NoiseModel().add_all_qubit_error(depolarizing(0.05), ["h"])
    c = kizuna.Circuit(1, 1).h(0).measure(0, 0)
    with pytest.raises(BackendError, match="ideal circuits only"):
        kizuna.run(c, shots=10, noise=model, backend="statevector")
    with pytest.raises(SimulationError, match="noise must be a kizuna NoiseModel"):
        kizuna.run(c, shots=10, noise="depolarizing")
    with pytest.raises(BackendError, match="max_fused_qubits"):
        DensityMatrixBackend(max_fused_qubits=4)
    with pytest.raises(BackendError, match="precision"):
        DensityMatrixBackend(precision="quad")
    with pytest.raises(SimulationError, match="entry 1 is a str"):
        check_program([flatten(c)[0], "noise"], 1)
    with pytest.raises(SimulationError, match=r"qubits \[3\]"):
        check_program([ChannelOp(bit_flip(0.1), (3,))], 2)
    monkeypatch.setenv("KIZUNA_MEMORY_LIMIT", "1MiB")
    with pytest.raises(MemoryLimitError, match="density matrix"):
        density_matrix(kizuna.Circuit(9).h(0), model)


def test_reference_helper_agrees_with_gate_matrices():
    # the dense reference itself: a Bell pair without noise is pure
    c = kizuna.Circuit(2).h(0).cx(0, 1)
    rho = reference_ensemble(flatten(c), 2)[0]
    psi = embed(gate_matrix("cx"), [0, 1], 2) @ embed(gate_matrix("h"), [0], 2) @ np.eye(4)[:, 0]
    np.testing.assert_allclose(rho, np.outer(psi, psi.conj()), atol=1e-15)
