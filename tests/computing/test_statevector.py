"""Exact state vectors against Qiskit and against the dense reference.

Peers and references:
* ``qiskit.quantum_info.Statevector`` of the same circuit built independently in Qiskit
  (``conftest.random_circuit_pair`` / ``composite_circuit_pair``), fidelity >= 1 - 1e-10 and every
  amplitude to 1e-10 (Qiskit tracks global phase exactly, so phase is compared too).
* ``kizuna.computing.backends._reference.reference_statevector`` (dense ``embed`` products),
  every amplitude to 1e-10, global phase included — the quimb-style cross-engine check.
* Literature states: Bell/GHZ (Greenberger, Horne, Zeilinger 1989) and the quantum Fourier
  transform as the unitary DFT (Nielsen & Chuang §5.1, eq. 5.2).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector
from scipy.stats import unitary_group

import kizuna
from kizuna import Circuit, Parameter
from kizuna.computing.backends._reference import reference_statevector
from kizuna.core.gates import GATES
from kizuna.errors import SimulationError

NUM_RANDOM = 200
#: 1..10 qubits, cycling; gates per circuit grow with the width
RANDOM_CASES = [(seed, 1 + seed % 10) for seed in range(NUM_RANDOM)]


def _assert_states_equal(ours, theirs, what=""):
    fidelity = abs(np.vdot(theirs, ours)) ** 2
    assert fidelity >= 1 - 1e-10, f"{what}: fidelity {fidelity}"
    np.testing.assert_allclose(ours, theirs, atol=1e-10, err_msg=what)


def _random_product_prefix(rng, n):
    """u3 on every qubit, so that gates act on a generic state rather than |0...0>."""
    kc, qc = Circuit(n), QuantumCircuit(n)
    for q in range(n):
        ps = [float(x) for x in rng.uniform(-math.pi, math.pi, 3)]
        kc.u3(*ps, q)
        qc.u(*ps, q)
    return kc, qc


@pytest.mark.parametrize("name", sorted(GATES))
def test_each_gate_on_random_qubit_placements_matches_qiskit(name, qiskit_gate, random_params):
    spec = GATES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    for n in (spec.num_qubits, spec.num_qubits + 2):
        for _ in range(3):
            kc, qc = _random_product_prefix(rng, n)
            # entangle the prefix a little so phases between branches matter
            if n > 1:
                kc.cx(0, n - 1)
                qc.cx(0, n - 1)
            qubits = [int(q) for q in rng.permutation(n)[: spec.num_qubits]]
            ps = random_params(rng, name)
            kc.gate(name, qubits, ps)
            qc.append(qiskit_gate(name, ps), qubits)
            _assert_states_equal(kizuna.statevector(kc), Statevector(qc).data, f"{name}{ps} on {qubits}")


@pytest.mark.parametrize("seed, n", RANDOM_CASES)
def test_random_circuit_matches_qiskit_statevector(seed, n, random_circuit_pair):
    kc, qc = random_circuit_pair(seed, n, 3 * n + 6)
    _assert_states_equal(kizuna.statevector(kc), Statevector(qc).data, f"seed {seed}, {n} qubits")


@pytest.mark.parametrize("seed, n", [c for c in RANDOM_CASES if c[1] <= 8])
def test_random_circuit_matches_dense_reference(seed, n, random_circuit_pair):
    kc, _ = random_circuit_pair(seed, n, 3 * n + 6)
    np.testing.assert_allclose(kizuna.statevector(kc), reference_statevector(kc), atol=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("seed, n", [c for c in RANDOM_CASES if c[1] > 8])
def test_wide_random_circuit_matches_dense_reference(seed, n, random_circuit_pair):
    kc, _ = random_circuit_pair(seed, n, 3 * n + 6)
    np.testing.assert_allclose(kizuna.statevector(kc), reference_statevector(kc), atol=1e-10)


@pytest.mark.parametrize("seed", [9, 19])
def test_ten_qubit_random_circuit_matches_dense_reference(seed, random_circuit_pair):
    kc, _ = random_circuit_pair(seed, 10, 20)
    np.testing.assert_allclose(kizuna.statevector(kc), reference_statevector(kc), atol=1e-10)


def test_random_corpus_draws_every_gate_of_the_table_and_random_unitaries(random_circuit_pair):
    seen: set[str] = set()
    for seed, n in RANDOM_CASES:
        kc, _ = random_circuit_pair(seed, n, 3 * n + 6)
        seen |= {ins.name for ins in kc}
    assert set(GATES) <= seen, f"never drawn: {set(GATES) - seen}"
    assert {"unitary", "barrier"} <= seen


@pytest.mark.parametrize("k, n", [(1, 1), (1, 4), (2, 2), (2, 5), (3, 3), (3, 6), (4, 6)])
def test_unitary_instruction_with_haar_random_matrices_matches_qiskit(k, n):
    rng = np.random.default_rng(100 * k + n)
    kc, qc = _random_product_prefix(rng, n)
    for _ in range(3):
        u = unitary_group.rvs(2**k, random_state=rng)
        qubits = [int(q) for q in rng.permutation(n)[:k]]
        kc.unitary(u, qubits)
        qc.unitary(u, qubits)
    _assert_states_equal(kizuna.statevector(kc), Statevector(qc).data)
    np.testing.assert_allclose(kizuna.statevector(kc), reference_statevector(kc), atol=1e-10)


@pytest.mark.parametrize("seed", range(24))
def test_nested_composite_gates_with_expressions_assigned_later_match_qiskit(
    seed, bind_qiskit, composite_circuit_pair,
):
    kc, qc, values = composite_circuit_pair(seed)
    assert {p.name for p in kc.parameters} == {"theta", "phi"}
    with pytest.raises(kizuna.ParameterError):
        kizuna.statevector(kc)
    bound = kc.assign_parameters(values)
    ours = kizuna.statevector(bound)
    _assert_states_equal(ours, Statevector(bind_qiskit(qc, values)).data, f"composite seed {seed}")
    np.testing.assert_allclose(ours, reference_statevector(bound), atol=1e-10)


def test_composite_corpus_uses_every_expression_function(composite_circuit_pair):
    text = ""
    for seed in range(24):
        kc, _, _ = composite_circuit_pair(seed)
        for ins in kc:
            d = ins.definition
            while d is not None:
                for b in d.body:
                    text += " ".join(str(p) for p in b.params) + " "
                    if b.definition is not None:
                        for bb in b.definition.body:
                            text += " ".join(str(p) for p in bb.params) + " "
                d = None
            text += " ".join(str(p) for p in ins.params) + " "
    for token in ("sin(", "cos(", "sqrt(", "^", "exp(", "ln(", "/"):
        assert token in text, f"no composite gate in the corpus uses {token!r}"


def test_symbolic_parameters_assigned_later_match_qiskit_on_a_sweep():
    t, p = Parameter("t"), Parameter("p")
    from qiskit.circuit import Parameter as QP

    qt, qp = QP("t"), QP("p")
    kc = Circuit(3).h(0).crx(t, 0, 1).ryy(2 * p - t, 1, 2).cu(t, p, -t, p / 2, 2, 0).rzx(t * p, 0, 2)
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.crx(qt, 0, 1)
    qc.ryy(2 * qp - qt, 1, 2)
    qc.cu(qt, qp, -qt, qp / 2, 2, 0)
    qc.rzx(qt * qp, 0, 2)
    for tv, pv in ((0.0, 0.0), (math.pi, -math.pi), (-0.4, 2.1), (1.7, -3.3)):
        ours = kizuna.statevector(kc.assign_parameters({t: tv, "p": pv}))
        theirs = Statevector(qc.assign_parameters({qt: tv, qp: pv})).data
        _assert_states_equal(ours, theirs)


# --- literature states ------------------------------------------------------------------------------
def test_bell_state():
    np.testing.assert_allclose(kizuna.statevector(Circuit(2).h(0).cx(0, 1)),
                               np.array([1, 0, 0, 1]) / math.sqrt(2), atol=1e-15)


@pytest.mark.parametrize("n", [3, 7])
def test_ghz_state(n):
    c = Circuit(n).h(0)
    for q in range(n - 1):
        c.cx(q, q + 1)
    expected = np.zeros(2**n)
    expected[[0, -1]] = 1 / math.sqrt(2)
    np.testing.assert_allclose(kizuna.statevector(c), expected, atol=1e-15)


@pytest.mark.parametrize("n, j", [(3, 5), (4, 11), (5, 1)])
def test_qft_of_a_basis_state_is_the_dft_column(n, j):
    c = Circuit(n)
    for q in range(n):
        if (j >> q) & 1:
            c.x(q)
    # textbook QFT (N&C Fig. 5.1) on little-endian qubits: most significant first, then swaps
    for target in reversed(range(n)):
        c.h(target)
        for k, control in enumerate(reversed(range(target)), start=2):
            c.cp(2 * math.pi / 2**k, control, target)
    for q in range(n // 2):
        c.swap(q, n - 1 - q)
    N = 2**n
    expected = np.exp(2j * math.pi * j * np.arange(N) / N) / math.sqrt(N)
    np.testing.assert_allclose(kizuna.statevector(c), expected, atol=1e-12)


# --- what statevector accepts -----------------------------------------------------------------------
def test_terminal_measurements_are_ignored():
    c = Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1]).barrier()
    np.testing.assert_allclose(kizuna.statevector(c), kizuna.statevector(Circuit(2).h(0).cx(0, 1)))


@pytest.mark.parametrize("build, match", [
    (lambda: Circuit(1, 1).h(0).measure(0, 0).h(0), r"instruction 1 \('measure' on qubits \[0\]\)"),
    (lambda: Circuit(2).h(0).reset(0), "'reset'"),
])
def test_mid_circuit_measurement_or_reset_is_refused_pointing_to_run(build, match):
    with pytest.raises(SimulationError, match=match + ".*use kizuna.run"):
        kizuna.statevector(build())


def test_conditioned_gate_is_refused_by_statevector():
    c = Circuit(2, 1).h(0)
    with c.if_test("c", 1):
        c.x(1)
    with pytest.raises(SimulationError, match=r"instruction 1 \(conditioned x.*use kizuna.run"):
        kizuna.statevector(c)


def test_statevector_refuses_a_non_circuit():
    with pytest.raises(SimulationError, match="expected a kizuna.Circuit"):
        kizuna.statevector(QuantumCircuit(1))


def test_empty_and_zero_qubit_circuits():
    np.testing.assert_array_equal(kizuna.statevector(Circuit(3)), np.eye(8)[0])
    np.testing.assert_array_equal(kizuna.statevector(Circuit(0)), np.array([1.0 + 0j]))


def test_statevector_is_complex128_and_writable_copy():
    s = kizuna.statevector(Circuit(1).h(0))
    assert s.dtype == np.complex128 and s.shape == (2,)
    s[0] = 0  # the caller owns the array
    assert kizuna.statevector(Circuit(1).h(0))[0] != 0
