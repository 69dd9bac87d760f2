"""The state-vector engine's options: precision, threads, fusion and kernel choice.

References: Qiskit's ``Statevector`` (independent simulator) for every configuration; the
engine's own numpy path for the numba path (QuTiP's practice: every specialised kernel is
checked against a plain NumPy version).
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import Statevector

import kizuna
from kizuna.computing.backends.statevector import StatevectorBackend, _fast_kernels, _NumpyOps
from kizuna.computing.circuit import flatten
from kizuna.errors import BackendError

SEEDS = range(12)


def _fidelity(a, b) -> float:
    a = np.asarray(a, dtype=np.complex128)
    b = np.asarray(b, dtype=np.complex128)
    return abs(np.vdot(a, b)) ** 2 / (np.vdot(a, a).real * np.vdot(b, b).real)


def _numpy_backend(**options) -> StatevectorBackend:
    backend = StatevectorBackend(**options)
    backend._kernels = None
    backend._ops = _NumpyOps(backend.dtype)
    return backend


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("num_threads", [1, 2])
@pytest.mark.parametrize("fusion", [True, False])
def test_double_precision_matches_qiskit_with_any_threads_and_fusion(random_circuit_pair, seed, num_threads, fusion):
    kc, qc = random_circuit_pair(seed, 2 + seed % 8, 60)
    backend = StatevectorBackend(num_threads=num_threads, fusion=fusion)
    ours = backend.final_state(flatten(kc), kc.num_qubits)
    assert ours.dtype == np.complex128
    np.testing.assert_allclose(ours, Statevector(qc).data, atol=1e-10)


@pytest.mark.parametrize("seed", SEEDS)
def test_single_precision_agrees_to_1e_5(random_circuit_pair, seed):
    kc, qc = random_circuit_pair(100 + seed, 2 + seed % 8, 60)
    ours = kizuna.statevector(kc, precision="single")
    assert ours.dtype == np.complex64
    np.testing.assert_allclose(ours, Statevector(qc).data, atol=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
def test_numba_and_numpy_paths_agree(random_circuit_pair, seed):
    kc, _ = random_circuit_pair(200 + seed, 3 + seed % 8, 80)
    flat = flatten(kc)
    fast = StatevectorBackend().final_state(flat, kc.num_qubits)
    plain = _numpy_backend().final_state(flat, kc.num_qubits)
    np.testing.assert_allclose(fast, plain, atol=1e-12)


def test_fused_and_unfused_agree_on_a_17_qubit_circuit(random_circuit_pair):
    # large enough that the kernels' threaded paths run (2**15 groups and more)
    kc, _ = random_circuit_pair(7, 17, 150)
    flat = flatten(kc)
    a = StatevectorBackend(fusion=True, num_threads=2).final_state(flat, 17)
    b = StatevectorBackend(fusion=False, num_threads=1).final_state(flat, 17)
    np.testing.assert_allclose(a, b, atol=1e-12)


def _mid_circuit(n: int) -> kizuna.Circuit:
    c = kizuna.Circuit(n, n)
    for q in range(n):
        c.ry(0.3 + 0.2 * q, q)
    for q in range(n - 1):
        c.cx(q, q + 1)
    c.measure(0, 0)
    with c.if_test("c", 1):
        c.x(n - 1)
    c.reset(1)
    c.h(range(n)).measure(range(n), range(n))
    return c


@pytest.mark.parametrize("precision", ["double", "single"])
def test_counts_do_not_depend_on_thread_count_or_kernels(precision):
    c = _mid_circuit(15)
    runs = [
        kizuna.run(c, shots=3000, seed=42, precision=precision, num_threads=t).counts for t in (1, 2)
    ]
    assert runs[0] == runs[1]
    if precision == "double":
        flat = flatten(c)
        rng = np.random.default_rng(42)
        plain, _ = _numpy_backend().sample(flat, c.num_qubits, 3000, rng)
        rng = np.random.default_rng(42)
        fast, _ = StatevectorBackend().sample(flat, c.num_qubits, 3000, rng)
        assert plain == fast


def test_provenance_records_engine_options():
    r = kizuna.run(_mid_circuit(3), shots=10, seed=1, precision="single", num_threads=1)
    opts = r.provenance["options"]
    assert opts["precision"] == "single" and opts["num_threads"] == 1 and opts["fusion"] == "auto"
    assert opts["kernels"] == ("numba" if _fast_kernels() is not None else "numpy")
    assert r.metadata["passes"] >= 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"precision": "half"}, "precision must be 'double' or 'single'"),
        ({"num_threads": 0}, "num_threads must be a positive integer"),
        ({"num_threads": 1.5}, "num_threads must be a positive integer"),
        ({"fusion": "yes"}, "fusion must be True, False or 'auto'"),
    ],
)
def test_bad_engine_options_are_refused(options, message):
    with pytest.raises(BackendError, match=message):
        StatevectorBackend(**options)


def test_thread_count_from_environment_is_validated(monkeypatch):
    monkeypatch.setenv("KIZUNA_NUM_THREADS", "many")
    with pytest.raises(BackendError, match="KIZUNA_NUM_THREADS"):
        StatevectorBackend()
    monkeypatch.setenv("KIZUNA_NUM_THREADS", "1")
    assert StatevectorBackend().num_threads == 1


def test_single_precision_halves_the_memory_needed(monkeypatch):
    # 20 qubits: 16 MiB per complex128 state, 8 MiB per complex64 state
    monkeypatch.setenv("KIZUNA_MEMORY_LIMIT", "12MiB")
    c = kizuna.Circuit(20).h(0)
    with pytest.raises(kizuna.MemoryLimitError, match="20-qubit"):
        kizuna.statevector(c)
    if _fast_kernels() is not None:  # in place: one state and nothing else
        assert kizuna.statevector(c, precision="single").dtype == np.complex64
