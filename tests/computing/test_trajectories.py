"""The trajectory backend: Monte-Carlo wave functions that converge to the density matrix.

References:

* The exact distribution of the same noisy program from the density-matrix backend (itself
  checked against Qiskit Aer in ``test_density_matrix.py``): the trajectory counts must pass a
  Pearson chi-square test against it (p > 1e-3, seeded) and expectation values must lie within
  five standard errors. The unravelling is that of Dalibard, Castin and Mølmer, PRL 68, 580
  (1992): unbiased, so any systematic deviation fails these tests.
* scipy's binomial quantile function for the CDF-inversion sampler, Qiskit's ``partial_trace``
  for the reduced-density-matrix kernel.
* Analytic values: amplitude damping leaves |1> with probability 1 - gamma, a bit flip of
  probability p flips with probability p (Nielsen & Chuang §8.3).
"""

from __future__ import annotations

import numpy as np
import pytest

import kizuna
from kizuna.computing.backends.density_matrix import DensityMatrixBackend
from kizuna.computing.backends.statevector import _NumpyOps
from kizuna.computing.backends.trajectories import (
    PARALLEL_MIN_QUBITS,
    TrajectoriesBackend,
)
from kizuna.computing.circuit import flatten
from kizuna.computing.noise import ChannelOp, NoiseModel
from kizuna.core.bits import registers_bitstring
from kizuna.core.channels import (
    Channel,
    amplitude_damping,
    bit_flip,
    depolarizing,
    pauli_channel,
    readout_error,
    thermal_relaxation,
)


def random_kraus(rng: np.random.Generator, num_qubits: int, rank: int) -> list[np.ndarray]:
    d = 1 << num_qubits
    g = rng.normal(size=(d * rank, d)) + 1j * rng.normal(size=(d * rank, d))
    v, _ = np.linalg.qr(g)
    return [v[i * d:(i + 1) * d, :] for i in range(rank)]


def noisy_program(seed: int, n: int, *, dynamic: bool, strength: float = 0.1):
    """A seeded noisy program mixing mixed-unitary channels (Pauli, depolarizing) and general
    ones (random Kraus maps, thermal relaxation), with (``dynamic``) mid-circuit
    measurements, resets and conditioned gates and channels; plus readout matrices."""
    rng = np.random.default_rng(seed)
    c = kizuna.Circuit(n, n)
    for _ in range(12):
        r = rng.random()
        q = int(rng.integers(n))
        if dynamic and r < 0.12:
            c.measure(q, int(rng.integers(n)))
        elif dynamic and r < 0.18:
            c.reset(q)
        elif dynamic and r < 0.3:
            with c.if_test("c", int(rng.integers(1 << n))):
                c.ry(float(rng.uniform(0, 3)), q)
        elif r < 0.65 or n == 1:
            c.u(*rng.uniform(0, 6, 3), q)
        else:
            a, b = (int(x) for x in rng.permutation(n)[:2])
            c.cx(a, b)
    c.measure(list(range(n)), list(range(n)))
    program = []
    relax = thermal_relaxation(50e-6, 40e-6, 5e-6)
    for ins in flatten(c):
        program.append(ins)
        if ins.name == "measure" or rng.random() > 0.8:
            continue
        k = len(ins.qubits)
        kind = rng.integers(4)
        if kind == 0:
            ch = depolarizing(strength, num_qubits=k)
        elif kind == 1 and k == 1:
            ch = pauli_channel({"X": strength / 3, "Y": strength / 2, "Z": strength})
        elif kind == 2 and k == 1:
            ch = relax
        else:
            ch = Channel(random_kraus(rng, k, int(rng.integers(1, 4))))
        program.append(ChannelOp(ch, ins.qubits, ins.condition))
    readout = {q: readout_error(*rng.uniform(0, 0.15, 2)).matrix for q in range(n) if rng.random() < 0.6}
    return program, readout


def keyed(d: dict, n: int) -> dict:
    return {registers_bitstring(k, [n]): v for k, v in d.items()}


def numpy_backend(**options) -> TrajectoriesBackend:
    backend = TrajectoriesBackend(**options)
    backend._engine._kernels = None
    backend._engine._ops = _NumpyOps(backend.dtype)
    backend._kernels = None
    backend._dm = None
    return backend


# --- convergence to the density matrix ----------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_counts_converge_to_the_density_matrix_distribution(seed, assert_counts_match):
    n = 2 + seed % 3
    program, readout = noisy_program(seed, n, dynamic=False)
    exact = DensityMatrixBackend().probabilities(program, n, readout)
    shots = 20000
    counts, meta = TrajectoriesBackend().sample(program, n, shots, np.random.default_rng(seed), readout)
    assert 1 <= meta["branches"] <= shots
    assert_counts_match(keyed(counts, n), keyed(exact, n), shots)


@pytest.mark.parametrize("seed", range(6))
def test_mid_circuit_measurement_reset_and_conditions_converge(seed, assert_counts_match):
    n = 1 + seed % 3
    program, readout = noisy_program(100 + seed, n, dynamic=True)
    exact = DensityMatrixBackend().probabilities(program, n, readout)
    shots = 20000
    counts, _ = TrajectoriesBackend().sample(program, n, shots, np.random.default_rng(seed), readout)
    assert_counts_match(keyed(counts, n), keyed(exact, n), shots)


@pytest.mark.parametrize("seed", range(3))
def test_numpy_kernels_converge_too(seed, assert_counts_match):
    n = 2 + seed
    program, readout = noisy_program(200 + seed, n, dynamic=seed > 0)
    exact = DensityMatrixBackend().probabilities(program, n, readout)
    counts, _ = numpy_backend().sample(program, n, 5000, np.random.default_rng(seed), readout)
    assert_counts_match(keyed(counts, n), keyed(exact, n), 5000)


def test_parity_expectation_within_five_standard_errors():
    n, shots = 4, 40000
    program, readout = noisy_program(7, n, dynamic=False, strength=0.2)
    exact = DensityMatrixBackend().probabilities(program, n, readout)
    parity = {k: 1 - 2 * ((k).bit_count() % 2) for k in range(1 << n)}
    mean = sum(p * parity[k] for k, p in exact.items())
    counts, _ = TrajectoriesBackend().sample(program, n, shots, np.random.default_rng(1), readout)
    estimate = sum(c * parity[k] for k, c in counts.items()) / shots
    stderr = np.sqrt(max(1 - mean**2, 1e-12) / shots)
    assert abs(estimate - mean) < 5 * stderr


def test_analytic_damping_and_flip_probabilities(assert_counts_match):
    # amplitude damping: P(1) = 1 - gamma from |1>; bit flip p on |0>: P(1) = p
    gamma, p = 0.3, 0.15
    model = (NoiseModel().add_all_qubit_error(amplitude_damping(gamma), ["x"])
             .add_all_qubit_error(bit_flip(p), ["id"]))
    c = kizuna.Circuit(2, 2).x(0).id(1).measure([0, 1], [0, 1])
    shots = 20000
    r = kizuna.run(c, shots=shots, seed=4, noise=model, backend="trajectories")
    assert r.backend == "trajectories"
    expect = {"01": (1 - gamma) * (1 - p), "00": gamma * (1 - p), "11": (1 - gamma) * p, "10": gamma * p}
    assert_counts_match(r.counts, expect, shots)


# --- determinism ------------------------------------------------------------------------------
@pytest.mark.parametrize("dynamic", [False, True])
def test_same_seed_same_counts_for_any_thread_count(dynamic):
    n = 4
    program, readout = noisy_program(31, n, dynamic=dynamic)
    runs = []
    for threads in (1, 2, 2):
        backend = TrajectoriesBackend(num_threads=threads)
        counts, meta = backend.sample(program, n, 3000, np.random.default_rng(123), readout)
        runs.append(counts)
        assert meta["workers"] == threads
    assert runs[0] == runs[1] == runs[2]
    other, _ = TrajectoriesBackend().sample(program, n, 3000, np.random.default_rng(124), readout)
    assert other != runs[0]


def test_run_is_reproducible_with_memory_and_provenance():
    model = NoiseModel().add_all_qubit_error(depolarizing(0.1, 2), ["cx"]).add_readout_error(readout_error(0.05, 0.05))
    c = kizuna.Circuit(3, 3).h(0).cx(0, 1).cx(1, 2).measure([0, 1, 2], [0, 1, 2])
    a = kizuna.run(c, shots=500, seed=77, noise=model, backend="trajectories", memory=True)
    b = kizuna.run(c, shots=500, seed=77, noise=model, backend="trajectories", memory=True, num_threads=1)
    assert a.counts == b.counts and a.memory == b.memory
    assert a.provenance["noise_model_sha256"] == model.sha256()
    assert a.provenance["backend"] == "trajectories"


def test_shots_sharing_a_history_share_a_simulation():
    c = kizuna.Circuit(3, 3).h(0).cx(0, 1).cx(1, 2).measure([0, 1, 2], [0, 1, 2])
    none = kizuna.run(c, shots=5000, seed=1, backend="trajectories")
    assert none.metadata["branches"] == 1
    weak = NoiseModel().add_all_qubit_error(depolarizing(0.001, 2), ["cx"])
    r = kizuna.run(c, shots=5000, seed=1, noise=weak, backend="trajectories")
    # about 5000 * 2 * 0.001 * 15/16 ~ 9 shots err; each error history is one branch
    assert 1 < r.metadata["branches"] < 40


@pytest.mark.parametrize("n", [14, PARALLEL_MIN_QUBITS])
def test_a_large_register_runs(n):
    # from PARALLEL_MIN_QUBITS on, branches run one at a time and the kernels are threaded.
    # Product state: qubit q rotated by ry(theta_q), then flipped with probability p ->
    # P(q = 1) = (1 - p) s + p (1 - s), s = sin^2(theta_q / 2); marginals within 5 sigma
    p, shots = 0.02, 1000
    model = NoiseModel().add_all_qubit_error(bit_flip(p), ["ry"])
    thetas = np.linspace(0.2, 2.9, n)
    c = kizuna.Circuit(n, n)
    for q, t in enumerate(thetas):
        c.ry(float(t), q)
    c.measure(list(range(n)), list(range(n)))
    r = kizuna.run(c, shots=shots, seed=3, noise=model, backend="trajectories", num_threads=2)
    assert r.metadata["workers"] == (1 if n >= PARALLEL_MIN_QUBITS else 2)
    for q, t in enumerate(thetas):
        s = np.sin(t / 2) ** 2
        expect = (1 - p) * s + p * (1 - s)
        ones = sum(v for k, v in r.counts.items() if k[n - 1 - q] == "1")
        assert abs(ones / shots - expect) < 5 * np.sqrt(expect * (1 - expect) / shots)


@pytest.mark.slow  # compiles the complex64 kernels (about a minute on a cold numba cache)
def test_single_precision(assert_counts_match):
    n = 3
    program, readout = noisy_program(5, n, dynamic=True)
    exact = DensityMatrixBackend().probabilities(program, n, readout)
    counts, meta = TrajectoriesBackend(precision="single").sample(program, n, 8000, np.random.default_rng(2), readout)
    assert meta["precision"] == "single"
    assert_counts_match(keyed(counts, n), keyed(exact, n), 8000)


# --- kernels ------------------------------------------------------------------------------------
def test_binomial_inversion_matches_scipy_quantiles():
    stats = pytest.importorskip("scipy.stats")
    from kizuna.core._kernels._numba_dm import binomial_inversion

    rng = np.random.default_rng(0)
    for _ in range(400):
        n = int(rng.integers(1, 600))
        p = float(rng.choice([rng.uniform(0, 1), rng.uniform(0, 1e-3), 1 - rng.uniform(0, 1e-3)]))
        u = float(rng.random())
        # smallest x with CDF(x) > u; scipy's ppf gives the smallest with CDF(x) >= u
        assert binomial_inversion(n, p, u) == int(stats.binom.ppf(u, n, p)), (n, p, u)
    assert binomial_inversion(5000, 0.5, 0.3) == -1  # (1/2)**5000 underflows: drawn elsewhere
    assert binomial_inversion(7, 0.0, 0.9) == 0 and binomial_inversion(7, 1.0, 0.1) == 7


def test_reduced_density_matrix_matches_qiskit_partial_trace():
    qi = pytest.importorskip("qiskit.quantum_info")
    from kizuna.core._kernels._numba_dm import reduced_density_matrix

    rng = np.random.default_rng(1)
    for n, qubits in ((3, [1]), (5, [4, 0]), (15, [2, 9]), (15, [0]), (6, [5, 1, 3])):
        psi = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
        psi /= np.linalg.norm(psi)
        traced = [q for q in range(n) if q not in qubits]
        ref = qi.partial_trace(qi.Statevector(psi), traced).data  # remaining qubits ascending
        # reorder ours (little-endian over `qubits`) to ascending qubit order
        ours = reduced_density_matrix(psi, np.array(qubits))
        order = np.argsort(qubits)
        k = len(qubits)
        t = ours.reshape((2,) * (2 * k))
        axes = [k - 1 - int(i) for i in order[::-1]]
        t = t.transpose(axes + [a + k for a in axes])
        np.testing.assert_allclose(t.reshape(1 << k, 1 << k), ref, atol=1e-13)
