"""KizunaBackend (Qiskit BackendV2) checked against Qiskit Aer's AerSimulator.

Counts are compared with a two-sample chi-square test of homogeneity (scipy's
``chi2_contingency``); every run is seeded, so each test is deterministic, and the threshold
p > 1e-3 would reject a correct simulator once in a thousand seeds.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("qiskit")
aer = pytest.importorskip("qiskit_aer")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit.random import random_circuit
from qiskit.providers import BackendV2, JobStatus
from qiskit.result import Result as QiskitResult
from scipy.stats import chi2_contingency

from kizuna.computing.device import Device
from kizuna.computing.noise import NoiseModel
from kizuna.core.channels import depolarizing, readout_error
from kizuna.errors import BackendError, InteropError
from kizuna.interop.qiskit import KizunaBackend

SHOTS = 4000


def _p_value(c1: dict, c2: dict) -> float:
    keys = sorted(set(c1) | set(c2))
    table = np.array([[c1.get(k, 0) for k in keys], [c2.get(k, 0) for k in keys]])
    return float(chi2_contingency(table)[1])


def _aer_counts(qc, seed, **kw):
    sim = aer.AerSimulator(seed_simulator=seed, **kw)
    return sim.run(transpile(qc, sim, seed_transpiler=seed), shots=SHOTS).result().get_counts()


def _measured_random_circuit(seed: int, n: int = 4) -> QuantumCircuit:
    qc = random_circuit(n, 6, max_operands=3, seed=seed)
    qc.measure_all()
    return qc


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_transpiled_counts_agree_with_aer(seed):
    backend = KizunaBackend()
    qc = _measured_random_circuit(seed)
    tqc = transpile(qc, backend, seed_transpiler=seed)
    ours = backend.run(tqc, shots=SHOTS, seed=seed).result().get_counts()
    theirs = _aer_counts(qc, seed)
    assert sum(ours.values()) == SHOTS
    assert _p_value(ours, theirs) > 1e-3


def test_chi_square_detects_a_different_circuit():
    backend = KizunaBackend()
    ours = backend.run(transpile(_measured_random_circuit(0), backend), shots=SHOTS, seed=1).result().get_counts()
    other = _aer_counts(_measured_random_circuit(1), 1)
    assert _p_value(ours, other) < 1e-6


def test_noisy_backend_agrees_with_aer_depolarizing():
    from qiskit_aer.noise import NoiseModel as AerNoiseModel
    from qiskit_aer.noise import ReadoutError, depolarizing_error

    p1, p2 = 0.05, 0.1
    ours_model = (
        NoiseModel()
        .add_all_qubit_error(depolarizing(p1), ["h", "sx", "x", "rz"])
        .add_all_qubit_error(depolarizing(p2, num_qubits=2), ["cx"])
        .add_readout_error(readout_error(0.02, 0.05))
    )
    aer_model = AerNoiseModel()
    aer_model.add_all_qubit_quantum_error(depolarizing_error(p1, 1), ["h", "sx", "x", "rz"])
    aer_model.add_all_qubit_quantum_error(depolarizing_error(p2, 2), ["cx"])
    aer_model.add_all_qubit_readout_error(ReadoutError([[0.98, 0.02], [0.05, 0.95]]))
    qc = QuantumCircuit(3, 3)
    qc.h(0)
    qc.cx(0, 1)
    qc.cx(1, 2)
    qc.sx(2)
    qc.measure([0, 1, 2], [0, 1, 2])
    backend = KizunaBackend(noise=ours_model, seed=5)
    ours = backend.run(qc, shots=SHOTS).result().get_counts()
    theirs = aer.AerSimulator(noise_model=aer_model, seed_simulator=5).run(qc, shots=SHOTS).result().get_counts()
    assert _p_value(ours, theirs) > 1e-3
    ideal = KizunaBackend(seed=5).run(qc, shots=SHOTS).result().get_counts()
    assert _p_value(ideal, theirs) < 1e-6  # the noise is visible


def test_conditionals_through_the_backend_agree_with_aer():
    qr, a, b = QuantumRegister(3), ClassicalRegister(2, "a"), ClassicalRegister(1, "b")
    qc = QuantumCircuit(qr, a, b)
    qc.h(0)
    qc.ry(0.9, 1)
    qc.measure([0, 1], [0, 1])
    with qc.if_test((a, 1)):
        qc.x(2)
    with qc.if_test((a[1], 1)):
        qc.h(2)
    qc.measure(2, b[0])
    backend = KizunaBackend()
    tqc = transpile(qc, backend, seed_transpiler=3)
    ours = backend.run(tqc, shots=SHOTS, seed=3).result().get_counts()
    theirs = aer.AerSimulator(seed_simulator=3).run(qc, shots=SHOTS).result().get_counts()
    assert all(" " in k for k in ours)  # per-register spacing, as Aer
    assert _p_value(ours, theirs) > 1e-3


def test_register_spacing_and_memory_match_aer_format():
    qc = QuantumCircuit(QuantumRegister(3), ClassicalRegister(1, "x"), ClassicalRegister(2, "y"))
    qc.x(0)
    qc.x(2)
    qc.measure([0, 1, 2], [0, 1, 2])
    result = KizunaBackend().run(qc, shots=10, memory=True, seed=1).result()
    aer_result = aer.AerSimulator().run(qc, shots=10, memory=True).result()
    assert result.get_counts() == aer_result.get_counts() == {"10 1": 10}
    assert result.get_memory() == aer_result.get_memory() == ["10 1"] * 10
    assert result.data()["counts"] == {"0x5": 10}


def test_memory_is_consistent_with_counts_and_reproducible():
    backend = KizunaBackend()
    qc = _measured_random_circuit(4)
    r1 = backend.run(qc, shots=500, memory=True, seed=9).result()
    r2 = backend.run(qc, shots=500, memory=True, seed=9).result()
    mem = r1.get_memory()
    assert len(mem) == 500
    assert {k: mem.count(k) for k in set(mem)} == r1.get_counts()
    assert mem == r2.get_memory()
    r3 = backend.run(qc, shots=500, memory=True, seed=10).result()
    assert r3.get_memory() != mem


def test_several_circuits_get_independent_reproducible_seeds():
    backend = KizunaBackend(seed=4)
    qc = QuantumCircuit(1, 1)
    qc.h(0)
    qc.measure(0, 0)
    job = backend.run([qc, qc], shots=200)
    assert isinstance(job.result(), QiskitResult)
    assert job.status() is JobStatus.DONE
    c0, c1 = job.result().get_counts(0), job.result().get_counts(1)
    assert c0 != c1  # different child seeds
    again = backend.run([qc, qc], shots=200).result()
    assert again.get_counts(0) == c0 and again.get_counts(1) == c1


def test_ideal_target_holds_kizuna_native_gates():
    backend = KizunaBackend(num_qubits=7)
    assert isinstance(backend, BackendV2)
    assert backend.num_qubits == 7
    names = set(backend.target.operation_names)
    assert {"cx", "u", "rzz", "ecr", "ccx", "cswap", "rcccx", "c3sx", "measure", "reset", "if_else"} <= names
    assert backend.coupling_map is None


def test_device_target_carries_coupling_map_errors_and_durations():
    device = Device.line(4)
    backend = KizunaBackend(device=device, noise=NoiseModel())
    target = backend.target
    assert target.num_qubits == 4
    edges = {tuple(e) for e in backend.coupling_map.get_edges()}
    expected = {(a, b) for a, b in device.coupling_map} | {(b, a) for a, b in device.coupling_map}
    assert edges == expected
    for name in device.basis_gates:
        assert name in target.operation_names
    for g in device.gates:
        if g.name in ("measure", "reset") or g.name not in target.operation_names:
            continue
        props = target[g.name][tuple(g.qubits)]
        assert props.error == pytest.approx(g.error)
        if g.duration_s:
            assert props.duration == pytest.approx(g.duration_s)
    q0 = device.qubits[0]
    assert target["measure"][(0,)].error == pytest.approx(sum(q0.readout_error) / 2)


def test_transpile_onto_a_large_device_simulates_only_the_used_qubits():
    device = Device.heavy_hex_127()
    backend = KizunaBackend(device=device, seed=2)
    qc = QuantumCircuit(3, 3)
    qc.h(0)
    qc.cx(0, 1)
    qc.cx(0, 2)
    qc.measure([0, 1, 2], [0, 1, 2])
    tqc = transpile(qc, backend, seed_transpiler=2)
    assert tqc.num_qubits == 127
    result = backend.run(tqc, shots=2000).result()
    counts = result.get_counts()
    assert result.results[0].metadata["simulated_qubits"] == 3
    # noisy (device calibration) but still mostly GHZ
    assert counts.get("000", 0) + counts.get("111", 0) > 0.8 * 2000
    assert counts.get("000", 0) + counts.get("111", 0) < 2000


def test_renamed_local_noise_matches_running_on_the_full_register():
    model = NoiseModel().add_quantum_error(depolarizing(0.3), ["x"], [2])
    qc = QuantumCircuit(4, 1)
    qc.x(2)
    qc.measure(2, 0)
    ours = KizunaBackend(noise=model, seed=1).run(qc, shots=SHOTS).result().get_counts()
    # depolarizing(0.3) after X: P(0) = 0.3 / 2 (Qiskit Aer's convention, as Kizuna's)
    p0 = ours.get("0", 0) / SHOTS
    assert abs(p0 - 0.15) < 4 * np.sqrt(0.15 * 0.85 / SHOTS)


def test_bad_options_are_named():
    backend = KizunaBackend()
    qc = QuantumCircuit(1, 1)
    with pytest.raises(BackendError, match="bogus"):
        backend.run(qc, bogus=1)
    with pytest.raises(BackendError, match="shots"):
        backend.run(qc, shots=0)
    with pytest.raises(BackendError, match="seed"):
        backend.run(qc, seed=-1)
    with pytest.raises(BackendError, match="noise"):
        KizunaBackend(noise="depolarizing")
    with pytest.raises(BackendError, match="num_qubits"):
        KizunaBackend(num_qubits=0)


def test_while_loop_is_an_interop_error_at_run():
    qc = QuantumCircuit(1, 1)
    with qc.while_loop((qc.clbits[0], 0)):
        qc.h(0)
        qc.measure(0, 0)
    with pytest.raises(InteropError, match="while_loop"):
        KizunaBackend().run(qc, shots=10)


def test_idle_qubit_removal_keeps_a_creg_named_q():
    qc = QuantumCircuit(QuantumRegister(3, "r"), ClassicalRegister(1, "q"))
    qc.x(2)
    qc.measure(2, 0)
    result = KizunaBackend().run(qc, shots=5, seed=0).result()
    assert result.get_counts() == {"1": 5}
    assert result.results[0].metadata["simulated_qubits"] == 1
