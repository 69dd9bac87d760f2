"""Encoded gate programs (one numba call per gate run) and ``statevector(parameters=...)``.

References: Qiskit's ``Statevector`` (an independent simulator) on the same seeded circuits,
bound by Qiskit itself; the engine's fused path; ``assign_parameters`` followed by the plain
path. ``gate_matrices`` is checked against ``gate_matrix`` for every table gate.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit.quantum_info import Statevector

import kizuna
from kizuna import Circuit, Parameter
from kizuna.computing._fusion import fuse
from kizuna.computing.backends import _program
from kizuna.computing.backends._program import Program
from kizuna.computing.backends.statevector import (
    FUSION_MIN_QUBITS,
    StatevectorBackend,
    _fast_kernels,
)
from kizuna.computing.circuit import flatten
from kizuna.core.gates import GATES, gate_matrices, gate_matrix
from kizuna.errors import ParameterError, SimulationError

kernels = _fast_kernels()
needs_numba = pytest.mark.skipif(kernels is None, reason="numba kernels unavailable")


def _zero(n, dtype=np.complex128):
    s = np.zeros(1 << n, dtype)
    s[0] = 1
    return s


@pytest.mark.parametrize("name", sorted(GATES))
def test_gate_matrices_equal_gate_matrix_for_every_gate(name):
    rng = np.random.default_rng(len(name))
    params = rng.uniform(-7, 7, (6, GATES[name].num_params))
    batch = gate_matrices(name, params)
    assert batch.shape == (6,) + (1 << GATES[name].num_qubits,) * 2
    for row, m in zip(params, batch):
        np.testing.assert_allclose(m, gate_matrix(name, row), rtol=0, atol=2e-16)


def test_gate_matrices_rejects_wrong_parameter_shape():
    with pytest.raises(kizuna.errors.CircuitError, match=r"shape \(m, 1\)"):
        gate_matrices("rx", np.zeros((3, 2)))


@needs_numba
def test_op_codes_agree_with_the_kernel_module():
    k = kernels
    assert (_program._DENSE, _program._DIAG, _program._X, _program._CX, _program._SWAP, _program._MCX) == (
        k.OP_DENSE, k.OP_DIAG, k.OP_X, k.OP_CX, k.OP_SWAP, k.OP_MCX)


@needs_numba
@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_program_of_gates_and_of_fused_blocks_match_qiskit(random_circuit_pair, seed, dtype):
    n = 2 + seed % 7
    kc, qc = random_circuit_pair(seed, n, 70)
    expected = Statevector(qc).data
    flat = flatten(kc)
    atol = 1e-12 if dtype == np.complex128 else 2e-5
    for program in (Program.from_instructions(flat, dtype), Program.from_fused(fuse(flat, n, 4), dtype)):
        state = program.run(_zero(n, dtype), kernels)
        assert state.dtype == dtype
        np.testing.assert_allclose(state, expected, atol=atol)


@needs_numba
def test_program_refuses_measurements_and_unknown_op_codes():
    c = Circuit(1, 1).h(0).measure(0, 0)
    with pytest.raises(ValueError, match="cannot hold measurements"):
        Program.from_instructions(flatten(c), np.complex128)
    bad = np.array([[9, 0, 1, 0]], dtype=np.int64)
    with pytest.raises(ValueError, match="unknown op code"):
        kernels.run_program(_zero(1), bad, np.zeros(1, np.int64), np.zeros(4, np.complex128))


def test_fusion_auto_switches_on_at_the_documented_size(random_circuit_pair):
    # 'auto' gives the same state as forced fusion and as none, on both sides of the threshold
    for n in (FUSION_MIN_QUBITS - 1, FUSION_MIN_QUBITS):
        kc, _ = random_circuit_pair(n, n, 40, unitary_prob=0.0)
        flat = flatten(kc)
        states = [StatevectorBackend(fusion=f).final_state(flat, n) for f in ("auto", True, False)]
        np.testing.assert_allclose(states[0], states[1], atol=1e-12)
        np.testing.assert_allclose(states[0], states[2], atol=1e-12)


# --- statevector(parameters=...) -------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_parameters_argument_matches_qiskit_on_nested_composites(composite_circuit_pair, bind_qiskit, seed):
    kc, qc, values = composite_circuit_pair(seed)
    expected = Statevector(bind_qiskit(qc, values)).data
    np.testing.assert_allclose(kizuna.statevector(kc, parameters=values), expected, atol=1e-12)
    # in the order of circuit.parameters, and again with new values (the cached program rebinds)
    ordered = [values[p.name] for p in kc.parameters]
    np.testing.assert_allclose(kizuna.statevector(kc, parameters=ordered), expected, atol=1e-12)
    other = {k: v + 0.5 for k, v in values.items()}
    np.testing.assert_allclose(
        kizuna.statevector(kc, parameters=other), Statevector(bind_qiskit(qc, other)).data, atol=1e-12
    )


def _ansatz(n, layers):
    thetas = [Parameter(f"t{i:03d}") for i in range(n * layers)]
    c = Circuit(n)
    for layer in range(layers):
        for q in range(n):
            c.ry(thetas[layer * n + q], q).rz(0.5 * thetas[layer * n + q] - 0.1, q)
        for q in range(layer % 2, n - 1, 2):
            c.cx(q, q + 1)
        c.rzz(thetas[layer * n], 0, n - 1)
    return c, thetas


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-10, 10), min_size=12, max_size=12), st.sampled_from(["double", "single"]))
def test_parameters_argument_equals_assign_parameters(values, precision):
    c, thetas = _ansatz(4, 3)
    got = kizuna.statevector(c, parameters=values, precision=precision)
    want = kizuna.statevector(c.assign_parameters(dict(zip(thetas, values))), precision=precision)
    np.testing.assert_allclose(got, want, atol=1e-12 if precision == "double" else 2e-6)
    assert abs(np.linalg.norm(got) - 1) < (1e-12 if precision == "double" else 1e-5)


def test_cached_program_follows_changes_to_the_circuit():
    t = Parameter("t")
    c = Circuit(1).ry(t, 0)
    np.testing.assert_allclose(abs(kizuna.statevector(c, parameters=[math.pi])) ** 2, [0, 1], atol=1e-15)
    c.x(0)  # the circuit grew: the cached program must not be reused
    np.testing.assert_allclose(abs(kizuna.statevector(c, parameters=[math.pi])) ** 2, [1, 0], atol=1e-15)
    np.testing.assert_allclose(abs(kizuna.statevector(c, parameters={"t": 0.0})) ** 2, [0, 1], atol=1e-15)


def test_large_circuits_bind_then_fuse():
    # from FUSION_MIN_QUBITS on the engine binds and fuses per call; same answer as unfused
    c, thetas = _ansatz(FUSION_MIN_QUBITS, 1)
    values = np.linspace(-1, 1, len(thetas))
    got = kizuna.statevector(c, parameters=values)
    bound = c.assign_parameters(dict(zip(thetas, values)))
    want = StatevectorBackend(fusion=False).final_state(flatten(bound), c.num_qubits)
    np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"t000": 1.0}, "no value for parameter"),
        ([1.0, 2.0], "expected 12 parameter value"),
        (["a"] * 12, "must be real numbers"),
        ([float("nan")] * 12, "finite real numbers"),
    ],
)
def test_bad_parameter_values_are_named(values, message):
    c, _ = _ansatz(4, 3)
    with pytest.raises(ParameterError, match=message):
        kizuna.statevector(c, parameters=values)


def test_parameters_with_a_mid_circuit_measurement_is_refused():
    t = Parameter("t")
    c = Circuit(1, 1).ry(t, 0).measure(0, 0).x(0)
    with pytest.raises(SimulationError, match="use kizuna.run"):
        kizuna.statevector(c, parameters=[0.1])
