"""The gate table against Qiskit and against textbook identities.

References:
* Qiskit's gate classes (``qiskit.circuit.library``) and its OpenQASM 2 reader with the legacy
  qelib1.inc instructions (``qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS``), converted with
  ``qiskit.quantum_info.Operator`` — the peer the table must agree with, global phase included.
* OpenQASM 2 spec, Cross et al., arXiv:1707.03429, qelib1.inc (u1/u2/u3, cu3, rccx, rc3x,
  c3sqrtx definitions).
* Nielsen & Chuang, *Quantum Computation and Quantum Information* (2010), §4.2 (rotation
  operators R_n(θ) = exp(-iθ n·σ/2)) and §4.3 (controlled operations).
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
import qiskit.qasm2
from qiskit import QuantumCircuit
from qiskit.quantum_info import Operator
from scipy.linalg import expm

from kizuna.core.gates import GATES, embed, gate_matrix
from kizuna.errors import CircuitError

ALL = sorted(GATES)
PARAMETERISED = sorted(n for n, g in GATES.items() if g.num_params)


def _param_sets(name):
    """0, π, negative and seeded random values for every parameter of ``name``."""
    k = GATES[name].num_params
    if name == "u0":  # Qiskit's legacy u0 takes integer idle lengths; the matrix is 1 anyway
        return [[0.0], [3.0], [1.0]]
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # stable across runs
    sets = [[0.0] * k, [math.pi] * k, [-math.pi / 3] * k, [-2.5] * k]
    sets += [list(rng.uniform(-4 * math.pi, 4 * math.pi, k)) for _ in range(3)]
    if k > 1:  # mixed signs and specials in one call
        sets.append([(-1) ** i * (i + 1) * 0.7 for i in range(k)])
    return sets


X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1.0 + 0j, -1])
I2 = np.eye(2)


@pytest.mark.parametrize("name", ALL)
def test_every_table_gate_matches_qiskit_library_matrix(name, qiskit_gate):
    for ps in _param_sets(name):
        ours = gate_matrix(name, ps)
        theirs = Operator(qiskit_gate(name, ps)).data
        np.testing.assert_allclose(ours, theirs, atol=1e-12, err_msg=f"{name}{tuple(ps)}")


_LEGACY_NAMES = sorted({ci.name for ci in qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS} & set(GATES)
                       | {"cx", "u", "u3"} & set(GATES))


@pytest.mark.parametrize("name", _LEGACY_NAMES)
def test_table_gate_matches_qiskit_qasm2_qelib1_reading(name):
    """Second, independent route: the OpenQASM 2 text ``name(params) q[...]`` read by Qiskit."""
    spec = GATES[name]
    for ps in _param_sets(name):
        args = ",".join(repr(float(p)) if name != "u0" else str(int(p)) for p in ps)
        call = f"{name}({args})" if ps else name
        qargs = ",".join(f"q[{i}]" for i in range(spec.num_qubits))
        text = f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[{spec.num_qubits}];\n{call} {qargs};\n'
        qc = qiskit.qasm2.loads(text, custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
        np.testing.assert_allclose(gate_matrix(name, ps), Operator(qc).data, atol=1e-12,
                                   err_msg=f"{name}{tuple(ps)}")


def test_gate_table_holds_the_whole_qelib1_gate_set():
    qelib1 = {ci.name for ci in qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS} - {"delay"}
    assert qelib1 <= set(GATES), f"missing qelib1 gates: {qelib1 - set(GATES)}"


@pytest.mark.parametrize("name", ALL)
def test_gate_matrices_are_unitary_complex128_and_read_only(name):
    spec = GATES[name]
    for ps in _param_sets(name):
        m = gate_matrix(name, ps)
        assert m.shape == (2**spec.num_qubits,) * 2 and m.dtype == np.complex128
        np.testing.assert_allclose(m.conj().T @ m, np.eye(m.shape[0]), atol=1e-12)
        with pytest.raises(ValueError):
            m[0, 0] = 5  # shared table arrays must not be mutable by callers


@pytest.mark.parametrize("name", sorted(n for n, g in GATES.items() if g.inverse is not None))
def test_table_inverse_rule_gives_the_exact_inverse(name):
    spec = GATES[name]
    for ps in _param_sets(name):
        inv_name, inv_ps = spec.inverse(*ps)
        assert inv_name in GATES
        prod = gate_matrix(inv_name, inv_ps) @ gate_matrix(name, ps)
        # exact inverse, global phase included (the inverse must cancel e.g. cu's gamma too)
        np.testing.assert_allclose(prod, np.eye(prod.shape[0]), atol=1e-12, err_msg=f"{name}{ps}")


@pytest.mark.parametrize("name", sorted(n for n, g in GATES.items() if g.inverse is None))
def test_gates_without_an_inverse_rule_carry_a_definition(name):
    assert GATES[name].definition, f"{name} has neither an inverse rule nor a definition"


@pytest.mark.parametrize("name", sorted(n for n, g in GATES.items() if g.definition))
def test_definition_multiplies_to_the_gate_matrix(name, qiskit_gate):
    spec = GATES[name]
    total = np.eye(2**spec.num_qubits, dtype=complex)
    for step, qubits, params in spec.definition:
        assert GATES[step].num_qubits == len(qubits)
        total = embed(gate_matrix(step, params()), qubits, spec.num_qubits) @ total
    np.testing.assert_allclose(total, spec.matrix(), atol=1e-12)
    # and the same definition, run through Qiskit, gives Qiskit's gate (qelib1.inc bodies)
    qc = QuantumCircuit(spec.num_qubits)
    for step, qubits, params in spec.definition:
        qc.append(qiskit_gate(step, params()), list(qubits))
    np.testing.assert_allclose(Operator(qc).data, Operator(qiskit_gate(name)).data, atol=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_embed_matches_qiskit_operator_on_permuted_non_adjacent_qubits(name, qiskit_gate):
    spec = GATES[name]
    rng = np.random.default_rng(len(name) * 1000 + spec.num_qubits)
    ps = _param_sets(name)[-1]
    for n in sorted({spec.num_qubits, spec.num_qubits + 1, min(spec.num_qubits + 2, 6)}):
        for _ in range(3):
            qubits = [int(q) for q in rng.permutation(n)[: spec.num_qubits]]
            qc = QuantumCircuit(n)
            qc.append(qiskit_gate(name, ps), qubits)
            np.testing.assert_allclose(embed(gate_matrix(name, ps), qubits, n), Operator(qc).data,
                                       atol=1e-12, err_msg=f"{name} on {qubits} of {n}")


def test_embed_of_random_unitary_matches_qiskit_on_scattered_qubits():
    from scipy.stats import unitary_group

    rng = np.random.default_rng(7)
    for k, n in ((1, 4), (2, 5), (3, 5), (3, 6)):
        u = unitary_group.rvs(2**k, random_state=rng)
        qubits = [int(q) for q in rng.permutation(n)[:k]]
        qc = QuantumCircuit(n)
        qc.unitary(u, qubits)
        np.testing.assert_allclose(embed(u, qubits, n), Operator(qc).data, atol=1e-12)


def test_embed_puts_first_qubit_argument_on_the_least_significant_bit():
    m = embed(gate_matrix("cx"), [2, 0], 3)  # control qubit 2, target qubit 0
    # |q2 q1 q0> = |100> (index 4) -> |101> (index 5)
    assert m[5, 4] == 1 and m[4, 4] == 0
    assert m[1, 1] == 1  # control off: unchanged


@pytest.mark.parametrize(
    "qubits, n, match",
    [([0, 0], 2, "distinct"), ([0, 2], 2, "range"), ([-1, 0], 2, "range")],
)
def test_embed_rejects_repeated_or_out_of_range_qubits(qubits, n, match):
    with pytest.raises(CircuitError, match=match):
        embed(gate_matrix("cx"), qubits, n)


def test_embed_rejects_operator_of_the_wrong_shape():
    with pytest.raises(CircuitError, match=r"shape \(4, 4\).*1 qubit"):
        embed(gate_matrix("cx"), [0], 2)


def test_gate_matrix_rejects_unknown_gate_naming_it():
    with pytest.raises(CircuitError, match="unknown gate 'cnot'.*cx"):
        gate_matrix("cnot")


def test_gate_matrix_rejects_wrong_parameter_count_naming_the_parameters():
    with pytest.raises(CircuitError, match=r"'u3' takes 3 parameter.*theta.*got 1"):
        gate_matrix("u3", [0.1])
    with pytest.raises(CircuitError, match="'h' takes 0"):
        gate_matrix("h", [0.1])


# --- textbook identities (Nielsen & Chuang §4.2-4.3; OpenQASM 2 spec §3) -----------------------
@pytest.mark.parametrize("theta", [0.0, 0.4, -1.3, math.pi, 5.0])
def test_rotations_are_exponentials_of_paulis(theta):
    for name, pauli in (("rx", X), ("ry", Y), ("rz", Z)):
        np.testing.assert_allclose(gate_matrix(name, [theta]), expm(-0.5j * theta * pauli), atol=1e-12)
    # two-qubit rotations; np.kron(A, B) puts B on the first qubit argument (little-endian)
    for name, op in (("rxx", np.kron(X, X)), ("ryy", np.kron(Y, Y)), ("rzz", np.kron(Z, Z)),
                     ("rzx", np.kron(X, Z))):  # rzx: Z on the first argument, X on the second
        np.testing.assert_allclose(gate_matrix(name, [theta]), expm(-0.5j * theta * op), atol=1e-12)


@pytest.mark.parametrize("theta", [0.0, 0.9, -2.2])
def test_rz_equals_p_up_to_the_global_phase_in_the_conventions(theta):
    np.testing.assert_allclose(gate_matrix("rz", [theta]), np.exp(-0.5j * theta) * gate_matrix("p", [theta]),
                               atol=1e-12)
    np.testing.assert_allclose(gate_matrix("u1", [theta]), gate_matrix("p", [theta]), atol=0)


def test_clifford_and_t_relations():
    g = {n: gate_matrix(n) for n in ("x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "sxdg")}
    np.testing.assert_allclose(g["h"] @ g["x"] @ g["h"], g["z"], atol=1e-12)
    np.testing.assert_allclose(g["s"] @ g["s"], g["z"], atol=1e-12)
    np.testing.assert_allclose(g["t"] @ g["t"], g["s"], atol=1e-12)
    np.testing.assert_allclose(g["sx"] @ g["sx"], g["x"], atol=1e-12)
    np.testing.assert_allclose(g["sxdg"], g["sx"].conj().T, atol=1e-12)
    np.testing.assert_allclose(g["x"] @ g["y"], 1j * g["z"], atol=1e-12)


@pytest.mark.parametrize("phi, lam", [(0.0, 0.0), (0.3, -1.2), (math.pi, 2.0)])
def test_u2_is_u3_at_half_pi_and_u_is_u3(phi, lam):
    np.testing.assert_allclose(gate_matrix("u2", [phi, lam]), gate_matrix("u3", [math.pi / 2, phi, lam]),
                               atol=0)
    np.testing.assert_allclose(gate_matrix("u", [0.7, phi, lam]), gate_matrix("u3", [0.7, phi, lam]), atol=0)


def test_cu_carries_the_global_phase_gamma_only_on_the_controlled_block():
    t, f, lam, gamma = 0.4, -0.3, 1.1, 0.8
    m = gate_matrix("cu", [t, f, lam, gamma])
    block = np.exp(1j * gamma) * gate_matrix("u3", [t, f, lam])
    np.testing.assert_allclose(m[np.ix_([1, 3], [1, 3])], block, atol=1e-12)  # control = qubit 0
    np.testing.assert_allclose(m[np.ix_([0, 2], [0, 2])], np.eye(2), atol=0)


@pytest.mark.parametrize("name, base, controls", [
    ("cx", X, 1), ("cy", Y, 1), ("cz", Z, 1), ("ccx", X, 2), ("c3x", X, 3), ("c4x", X, 4),
])
def test_multi_controlled_gates_act_only_when_all_controls_are_one(name, base, controls):
    m = gate_matrix(name)
    dim = 2 ** (controls + 1)
    all_on = 2**controls - 1
    expected = np.eye(dim, dtype=complex)
    idx = [all_on, all_on + 2**controls]
    expected[np.ix_(idx, idx)] = base
    np.testing.assert_allclose(m, expected, atol=0)


def test_relative_phase_toffolis_equal_toffoli_on_basis_states_up_to_phases():
    for name, full in (("rccx", "ccx"), ("rc3x", "c3x")):
        a, b = gate_matrix(name), gate_matrix(full)
        np.testing.assert_allclose(np.abs(a), np.abs(b), atol=1e-12)
        assert not np.allclose(a, b)  # they do differ by relative phases
