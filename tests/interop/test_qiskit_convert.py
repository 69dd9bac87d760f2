"""from_qiskit / to_qiskit, checked against Qiskit's own ``Statevector`` and Qiskit Aer.

References: ``qiskit.quantum_info.Statevector`` (an independent simulator) for every state
comparison; ``qiskit_aer.AerSimulator`` for the counts of circuits with conditions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("qiskit")

from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Gate, ParameterVector
from qiskit.circuit import Parameter as QParameter
from qiskit.circuit import library as qlib
from qiskit.circuit.random import random_circuit
from qiskit.quantum_info import Statevector

import kizuna
from kizuna.computing.circuit import Circuit
from kizuna.computing.parameters import Parameter, cos, exp, ln, sin, sqrt
from kizuna.core.gates import GATES
from kizuna.errors import InteropError
from kizuna.interop import from_qiskit, to_qiskit
from kizuna.interop._qiskit_convert import kizuna_parameter_name

ATOL = 1e-10


def _qiskit_state(qc: QuantumCircuit) -> np.ndarray:
    return Statevector(qc.remove_final_measurements(inplace=False)).data


def _assert_equal_up_to_phase(a, b, atol=ATOL):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    k = int(np.argmax(np.abs(b)))
    phase = a[k] / b[k]
    assert abs(abs(phase) - 1) < 1e-8
    np.testing.assert_allclose(a, phase * b, atol=atol)


def _prepare(c: Circuit, rng) -> Circuit:
    """A generic entangled start state, so that every matrix entry of the gate matters."""
    n = c.num_qubits
    for q in range(n):
        c.u3(*rng.uniform(-math.pi, math.pi, 3), q)
    for q in range(n - 1):
        c.cx(q, q + 1)
    for q in range(n):
        c.ry(rng.uniform(-math.pi, math.pi), q)
    return c


# --- every table gate, both ways, exactly -------------------------------------------------------
@pytest.mark.parametrize("name", sorted(GATES))
def test_table_gate_round_trip_matches_qiskit_statevector_exactly(name):
    spec = GATES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    n = spec.num_qubits + 1
    c = _prepare(Circuit(n), rng)
    qubits = list(rng.permutation(n)[: spec.num_qubits])
    c.gate(name, [int(q) for q in qubits], list(rng.uniform(-math.pi, math.pi, spec.num_params)))
    qc = to_qiskit(c)
    assert qc.global_phase == 0
    # exact: Kizuna's table gates map to Qiskit gates of the same matrix, no global phase
    np.testing.assert_allclose(kizuna.statevector(c), _qiskit_state(qc), atol=ATOL)
    back = from_qiskit(qc)
    assert back == c
    if name != "u0":
        assert qc.data[-1].operation.name == (
            {"c3x": "mcx", "c4x": "mcx", "rc3x": "rcccx", "c3sqrtx": "c3sx"}.get(name, name)
        )


#: Qiskit names of the gates in Kizuna's table (C3X/C4X are "mcx", which the mapping lacks).
TABLE_QISKIT_NAMES = (set(GATES) - {"c3x", "c4x", "rc3x", "c3sqrtx", "u0"}) | {"rcccx", "c3sx"}


def _standard_gates():
    out = []
    for name, gate in qlib.get_standard_gate_name_mapping().items():
        if name in ("measure", "reset", "delay", "global_phase") or not isinstance(gate, Gate):
            continue
        out.append(name)
    return sorted(out)


@pytest.mark.parametrize("name", _standard_gates())
def test_qiskit_standard_gate_from_qiskit_matches_statevector(name):
    template = qlib.get_standard_gate_name_mapping()[name]
    rng = np.random.default_rng(sum(map(ord, name)) + 1)
    gate = type(template)(*rng.uniform(-math.pi, math.pi, len(template.params)))
    n = gate.num_qubits + 1
    qc = to_qiskit(_prepare(Circuit(n), rng))
    qc.append(gate, [int(q) for q in rng.permutation(n)[: gate.num_qubits]])
    c = from_qiskit(qc)
    sv, ref = kizuna.statevector(c), _qiskit_state(qc)
    if name in TABLE_QISKIT_NAMES:
        np.testing.assert_allclose(sv, ref, atol=ATOL)  # a table gate: exact
        assert c.instructions[-1].definition is None
    else:
        _assert_equal_up_to_phase(sv, ref)  # a composite: its definition's global phase is dropped
        assert c.instructions[-1].name == name  # the name survives
        back = to_qiskit(c)
        _assert_equal_up_to_phase(_qiskit_state(back), ref)
        assert back.data[-1].operation.name == name
        assert back.data[-1].operation.base_class is template.base_class  # the standard gate again
        assert from_qiskit(back) == c


def test_parameterised_library_gate_is_one_composite_for_all_angles():
    from qiskit.circuit.library import XXPlusYYGate

    beta = QParameter("beta")
    qc = QuantumCircuit(2)
    qc.h(0)
    for i in range(4):
        qc.r(0.1 * i, 0.3, 0)
        qc.append(XXPlusYYGate(0.2 * i + 0.1, beta), [0, 1])
    c = from_qiskit(qc)
    assert c.count_ops() == {"r": 4, "xx_plus_yy": 4, "h": 1}
    assert len({id(ins.definition) for ins in c.instructions if ins.name == "r"}) == 1
    ref = Statevector(qc.assign_parameters({beta: 0.7})).data
    _assert_equal_up_to_phase(kizuna.statevector(c.assign_parameters({"beta": 0.7})), ref)
    back = to_qiskit(c)
    assert [type(ci.operation).__name__ for ci in back.data[1:3]] == ["RGate", "XXPlusYYGate"]
    assert from_qiskit(back) == c


def test_user_gate_sharing_a_library_name_stays_custom():
    fake = Circuit(2).cx(0, 1).to_gate("iswap")
    c = Circuit(2).append(fake, [0, 1])
    qc = to_qiskit(c)
    assert type(qc.data[0].operation) is Gate
    np.testing.assert_allclose(Statevector(qc).data, kizuna.statevector(c), atol=ATOL)


def test_mcx_with_open_controls_goes_through_its_definition():
    qc = QuantumCircuit(3)
    qc.h([0, 1])
    qc.append(qlib.XGate().control(2, ctrl_state="01", annotated=False), [0, 1, 2])
    qc.append(qlib.CXGate(ctrl_state=0), [2, 0])
    c = from_qiskit(qc)
    # open controls are not the table's ccx/cx: both come through their definitions
    assert [ins.definition is not None for ins in c.instructions[2:]] == [True, True]
    _assert_equal_up_to_phase(kizuna.statevector(c), _qiskit_state(qc))


# --- random circuits, both ways -----------------------------------------------------------------
def _random_kizuna(seed: int, n: int = 4, depth: int = 20) -> Circuit:
    rng = np.random.default_rng(seed)
    names = sorted(n_ for n_, s in GATES.items() if s.num_qubits <= n)
    c = Circuit(n)
    for _ in range(depth):
        name = names[rng.integers(len(names))]
        spec = GATES[name]
        qs = [int(q) for q in rng.permutation(n)[: spec.num_qubits]]
        c.gate(name, qs, list(rng.uniform(-2 * math.pi, 2 * math.pi, spec.num_params)))
    return c


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_random_kizuna_circuit_to_qiskit_is_exact(seed):
    c = _random_kizuna(seed)
    qc = to_qiskit(c)
    np.testing.assert_allclose(kizuna.statevector(c), Statevector(qc).data, atol=ATOL)
    assert from_qiskit(qc) == c


@pytest.mark.parametrize("seed", range(8))
def test_random_qiskit_circuit_from_qiskit_agrees_up_to_global_phase(seed):
    qc = random_circuit(5, 8, max_operands=3, seed=seed)
    c = from_qiskit(qc)
    _assert_equal_up_to_phase(kizuna.statevector(c), Statevector(qc).data)
    _assert_equal_up_to_phase(Statevector(to_qiskit(c)).data, Statevector(qc).data)


def test_global_phase_is_dropped_exactly():
    qc = QuantumCircuit(2, global_phase=0.7)
    qc.h(0)
    qc.cx(0, 1)
    sv = kizuna.statevector(from_qiskit(qc))
    np.testing.assert_allclose(sv * np.exp(0.7j), Statevector(qc).data, atol=ATOL)


# --- parameters ---------------------------------------------------------------------------------
def test_parameters_bound_before_or_after_conversion_agree():
    a, b = QParameter("alpha"), QParameter("beta")
    v = ParameterVector("th", 2)
    qc = QuantumCircuit(3)
    qc.h([0, 1, 2])
    qc.rx(2 * a + 0.5, 0)
    qc.ry(a.sin() * b - b.cos() / 3, 1)
    qc.rz(a.exp() + (b**2) ** 0.5 - a.log(), 2)
    qc.crx(v[0] * v[1] - a.tan(), 0, 2)
    qc.u(a.arcsin(), b.arccos(), v[0].arctan(), 1)
    qc.rzz(-a / b, 1, 2)
    c = from_qiskit(qc)
    assert [p.name for p in c.parameters] == ["alpha", "beta", "th_0", "th_1"]
    values = {a: 0.3, b: 0.7, v[0]: -0.4, v[1]: 1.1}
    ref = Statevector(qc.assign_parameters(values)).data
    bound_after = c.assign_parameters({kizuna_parameter_name(p.name): x for p, x in values.items()})
    np.testing.assert_allclose(kizuna.statevector(bound_after), ref, atol=ATOL)
    np.testing.assert_allclose(kizuna.statevector(from_qiskit(qc.assign_parameters(values))), ref, atol=ATOL)


def test_kizuna_expressions_to_qiskit_keep_names_and_values():
    t, s = Parameter("theta"), Parameter("phi")
    c = Circuit(2).h(0).rx(2 * t + 1, 0).ry(sin(t) * s - cos(s) / 3, 1).rz(exp(t) + sqrt(s) - ln(s), 0)
    c.cp(-t / s, 0, 1).u(t**2, s, 0.25, 1)
    qc = to_qiskit(c)
    assert sorted(p.name for p in qc.parameters) == ["phi", "theta"]
    vals = {"theta": 0.4, "phi": 1.3}
    ref = Statevector(qc.assign_parameters({p: vals[p.name] for p in qc.parameters})).data
    np.testing.assert_allclose(kizuna.statevector(c.assign_parameters(vals)), ref, atol=ATOL)
    back = from_qiskit(qc)
    np.testing.assert_allclose(
        kizuna.statevector(back.assign_parameters(vals)), kizuna.statevector(c.assign_parameters(vals)), atol=ATOL
    )


def test_parameter_name_collision_is_an_error():
    qc = QuantumCircuit(1)
    qc.rx(QParameter("a[0]"), 0)
    qc.ry(QParameter("a_0"), 0)
    with pytest.raises(InteropError, match="a_0"):
        from_qiskit(qc)


def test_expression_kizuna_lacks_is_an_error():
    qc = QuantumCircuit(1)
    qc.rx(abs(QParameter("y")), 0)
    with pytest.raises(InteropError, match="Abs"):
        from_qiskit(qc)


# --- registers ----------------------------------------------------------------------------------
def test_registers_keep_names_and_sizes_both_ways():
    qc = QuantumCircuit(QuantumRegister(2, "data"), QuantumRegister(3, "anc"),
                        ClassicalRegister(1, "flag"), ClassicalRegister(4, "syn"))
    c = from_qiskit(qc)
    assert [(r.name, r.size) for r in c.qregs] == [("data", 2), ("anc", 3)]
    assert [(r.name, r.size) for r in c.cregs] == [("flag", 1), ("syn", 4)]
    back = to_qiskit(c)
    assert [(r.name, r.size) for r in back.qregs] == [("data", 2), ("anc", 3)]
    assert [(r.name, r.size) for r in back.cregs] == [("flag", 1), ("syn", 4)]


def test_out_of_order_registers_fall_back_to_one_register():
    q = QuantumRegister(2, "q")
    c1 = ClassicalRegister(2, "c")
    qc = QuantumCircuit(q, c1)
    alias = ClassicalRegister(name="alias", bits=[c1[1], c1[0]])
    qc.add_register(alias)
    c = from_qiskit(qc)
    assert [(r.name, r.size) for r in c.cregs] == [("c", 2)]


# --- measure, reset, conditions -----------------------------------------------------------------
def _conditional_circuit() -> QuantumCircuit:
    qr, a, b = QuantumRegister(3, "q"), ClassicalRegister(2, "a"), ClassicalRegister(1, "b")
    qc = QuantumCircuit(qr, a, b)
    qc.h(0)
    qc.ry(1.1, 1)
    qc.measure(0, a[0])
    qc.measure(1, a[1])
    with qc.if_test((a, 3)):
        qc.x(2)
    with qc.if_test((a[0], 0)) as else_:
        qc.h(2)
    with else_:
        qc.rx(0.6, 2)
    qc.reset(0)
    qc.h(0)
    qc.measure(2, b[0])
    qc.measure(0, a[0])
    return qc


def _two_sample_chi2_p(c1: dict, c2: dict) -> float:
    from scipy.stats import chi2_contingency

    keys = sorted(set(c1) | set(c2))
    table = np.array([[c1.get(k, 0) for k in keys], [c2.get(k, 0) for k in keys]])
    return float(chi2_contingency(table)[1])


def test_conditionals_give_aer_counts_distribution():
    aer = pytest.importorskip("qiskit_aer")
    qc = _conditional_circuit()
    c = from_qiskit(qc)
    assert sum(ins.condition is not None for ins in c.instructions) == 3
    shots = 4000
    ours = kizuna.run(c, shots=shots, seed=11).counts
    theirs = aer.AerSimulator(seed_simulator=11).run(qc, shots=shots).result().get_counts()
    assert {k for k, v in ours.items() if v > 40} <= set(theirs)
    # Same seeds every run, so the test is deterministic; under the null hypothesis a p-value
    # below 1e-3 would happen once in a thousand seeds.
    assert _two_sample_chi2_p(ours, theirs) > 1e-3
    # and the test can fail: a circuit without the conditions is told apart
    plain = kizuna.run(from_qiskit(_strip_conditions(qc)), shots=shots, seed=11).counts
    assert _two_sample_chi2_p(plain, theirs) < 1e-6


def _strip_conditions(qc: QuantumCircuit) -> QuantumCircuit:
    out = qc.copy_empty_like()
    for ci in qc.data:
        if ci.operation.name != "if_else":
            out.append(ci.operation, ci.qubits, ci.clbits)
    return out


def test_conditions_round_trip_to_qiskit():
    c = from_qiskit(_conditional_circuit())
    back = to_qiskit(c)
    assert back.count_ops()["if_else"] == 3
    assert from_qiskit(back) == c


def test_condition_on_bits_that_are_not_a_register_gets_an_alias_register():
    c = Circuit(2, 3).h(0).measure(0, 0).measure(1, 2)
    from kizuna.computing.circuit import Condition, Instruction

    c._add(Instruction("x", (1,), condition=Condition("c", (0, 2), 1)))
    qc = to_qiskit(c)
    assert qc.data[-1].operation.name == "if_else"
    assert from_qiskit(qc).instructions[-1].condition.clbits == (0, 2)


@pytest.mark.parametrize("kind", ["while", "for", "switch", "else_on_register", "writes_condition", "expr"])
def test_control_flow_kizuna_cannot_represent_raises_interop_error(kind):
    from qiskit.circuit.classical import expr

    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.measure(0, 0)
    if kind == "while":
        with qc.while_loop((qc.clbits[0], 1)):
            qc.h(0)
            qc.measure(0, 0)
        match = "while_loop"
    elif kind == "for":
        with qc.for_loop(range(3)):
            qc.x(1)
        match = "for_loop"
    elif kind == "switch":
        with qc.switch(qc.cregs[0]) as case:
            with case(0):
                qc.x(1)
            with case(case.DEFAULT):
                qc.h(1)
        match = "switch_case"
    elif kind == "else_on_register":
        with qc.if_test((qc.cregs[0], 1)) as else_:
            qc.x(1)
        with else_:
            qc.h(1)
        match = "else"
    elif kind == "writes_condition":
        with qc.if_test((qc.clbits[0], 1)):
            qc.measure(1, 0)
        match = "reads"
    else:
        with qc.if_test(expr.logic_and(qc.clbits[0], qc.clbits[1])):
            qc.x(1)
        match = "expression"
    with pytest.raises(InteropError, match=match) as info:
        from_qiskit(qc)
    assert "instruction 2" in str(info.value)


# --- custom gates, unitaries, state preparation -------------------------------------------------
def test_custom_gate_names_survive_a_round_trip():
    theta = QParameter("theta")
    inner = QuantumCircuit(2, name="entangle")
    inner.h(0)
    inner.crz(theta, 0, 1)
    outer = QuantumCircuit(3, name="block")
    outer.append(inner.to_gate(), [0, 2])
    outer.sx(1)
    qc = QuantumCircuit(3)
    qc.append(outer.to_gate(), [2, 0, 1])
    qc.append(inner.to_gate().control(1, annotated=False), [0, 1, 2])
    c = from_qiskit(qc)
    assert c.instructions[0].name == "block"
    assert c.instructions[0].definition.body[0].name == "entangle"
    back = to_qiskit(c)
    assert back.data[0].operation.name == "block"
    assert back.data[0].operation.definition.data[0].operation.name == "entangle"
    assert from_qiskit(back).instructions[0].name == "block"
    vals = {"theta": 0.9}
    ref = Statevector(qc.assign_parameters({theta: 0.9})).data
    _assert_equal_up_to_phase(kizuna.statevector(c.assign_parameters(vals)), ref)
    _assert_equal_up_to_phase(Statevector(back.assign_parameters({back.parameters[0]: 0.9})).data, ref)


def test_same_name_different_bodies_get_distinct_names():
    qc = QuantumCircuit(1)
    for angle in (0.1, 0.2, 0.1):
        g = QuantumCircuit(1, name="rot")
        g.rx(angle, 0)
        qc.append(g.to_gate(), [0])
    c = from_qiskit(qc)
    assert [ins.name for ins in c.instructions] == ["rot", "rot_1", "rot"]
    _assert_equal_up_to_phase(kizuna.statevector(c), Statevector(qc).data)


def test_odd_custom_names_become_identifiers():
    g = QuantumCircuit(1, name="my gate")
    g.x(0)
    h = QuantumCircuit(1, name="cx")
    h.h(0)
    qc = QuantumCircuit(1)
    qc.append(g.to_gate(), [0])
    qc.append(h.to_gate(), [0])
    assert [ins.name for ins in from_qiskit(qc).instructions] == ["my_gate", "cx_custom"]


def test_unitary_gate_and_opaque_gate_with_matrix_become_unitary():
    from qiskit.quantum_info import random_unitary

    u = random_unitary(4, seed=3)
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.append(qlib.UnitaryGate(u), [2, 0])

    class Opaque(Gate):
        def __init__(self):
            super().__init__("opaque", 1, [])

        def __array__(self, dtype=None, copy=None):
            return np.array([[0, 1j], [1j, 0]], dtype=dtype)

    qc.append(Opaque(), [1])
    c = from_qiskit(qc)
    assert [ins.name for ins in c.instructions] == ["h", "unitary", "unitary"]
    np.testing.assert_allclose(kizuna.statevector(c), Statevector(qc).data, atol=ATOL)
    np.testing.assert_allclose(Statevector(to_qiskit(c)).data, Statevector(qc).data, atol=ATOL)


def test_opaque_gate_without_matrix_is_an_interop_error():
    qc = QuantumCircuit(1)
    qc.append(Gate("mystery", 1, []), [0])
    with pytest.raises(InteropError, match="mystery"):
        from_qiskit(qc)


def test_initialize_becomes_resets_and_exact_state_preparation():
    rng = np.random.default_rng(5)
    amps = rng.normal(size=8) + 1j * rng.normal(size=8)
    amps /= np.linalg.norm(amps)
    qc = QuantumCircuit(4)
    qc.x(3)
    qc.initialize(amps, [0, 1, 2])
    c = from_qiskit(qc)
    assert c.count_ops()["reset"] == 3
    assert c.instructions[-1].name == "state_preparation"
    # the resets make it a mixed-state simulation; the state is still pure and exact
    target = np.kron([0, 1], amps)
    rho = kizuna.computing.execute.density_matrix(c)
    np.testing.assert_allclose(rho, np.outer(target, target.conj()), atol=1e-9)


def test_u0_round_trip():
    c = Circuit(1).h(0).gate("u0", [0], [3.0])
    qc = to_qiskit(c)
    assert qc.data[-1].operation.name == "u0"
    assert from_qiskit(qc) == c


def test_delay_and_barrier():
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.barrier()
    qc.delay(100, 1)
    c = from_qiskit(qc)
    assert [ins.name for ins in c.instructions] == ["h", "barrier"]


def test_bad_inputs_name_the_type():
    with pytest.raises(InteropError, match="str"):
        from_qiskit("not a circuit")
    with pytest.raises(InteropError, match="QuantumCircuit"):
        to_qiskit(QuantumCircuit(1))


def test_name_argument_and_default():
    qc = QuantumCircuit(1, name="mine")
    assert from_qiskit(qc).name == "mine"
    assert from_qiskit(qc, name="other").name == "other"


def _library_operations():
    from qiskit.circuit import AnnotatedOperation
    from qiskit.circuit.annotated_operation import ControlModifier, InverseModifier
    from qiskit.quantum_info import SparsePauliOp, random_clifford

    return {
        "pauli": (qlib.PauliGate("XYZ"), [0, 1, 2]),
        "clifford": (random_clifford(2, seed=1), [0, 2]),
        "linear_function": (qlib.LinearFunction([[1, 1], [0, 1]]), [0, 1]),
        "permutation": (qlib.PermutationGate([2, 0, 1]), [0, 1, 2]),
        "qft": (qlib.QFTGate(3), [2, 0, 1]),
        "pauli_evolution": (qlib.PauliEvolutionGate(SparsePauliOp(["XX", "ZZ"], [0.3, 0.2]), time=0.5), [0, 1]),
        "annotated": (AnnotatedOperation(qlib.SGate(), [InverseModifier(), ControlModifier(1)]), [0, 1]),
        "mcmt": (qlib.MCMTGate(qlib.YGate(), 1, 2), [0, 1, 2]),
        "diagonal": (qlib.DiagonalGate([1, 1j, -1, 1]), [0, 1]),
        "power": (qlib.SXGate().power(0.3), [1]),
        "inverse": (qlib.QFTGate(2).inverse(), [0, 2]),
        "controlled": (qlib.RYGate(0.4).control(2, ctrl_state="10", annotated=False), [2, 0, 1]),
        "controlled_annotated": (qlib.RYGate(0.4).control(2, ctrl_state="10", annotated=True), [2, 0, 1]),
    }


@pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")  # inside Qiskit's expm
@pytest.mark.parametrize("label", sorted(_library_operations()))
def test_library_operations_convert_up_to_global_phase(label):
    op, qargs = _library_operations()[label]
    qc = QuantumCircuit(3)
    qc.h([0, 1, 2])
    qc.t(0)
    qc.s(1)
    qc.append(op, qargs)
    c = from_qiskit(qc)
    _assert_equal_up_to_phase(kizuna.statevector(c), Statevector(qc).data)
    _assert_equal_up_to_phase(Statevector(to_qiskit(c)).data, Statevector(qc).data)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(24))
def test_many_random_qiskit_circuits_with_measurements_and_conditions(seed):
    aer = pytest.importorskip("qiskit_aer")
    from qiskit import transpile

    qc = random_circuit(6, 12, max_operands=4, measure=True, conditional=True, reset=True, seed=seed)
    c = from_qiskit(qc)
    assert from_qiskit(to_qiskit(c)) == c
    sim = aer.AerSimulator(seed_simulator=seed)
    theirs = sim.run(transpile(qc, sim, seed_transpiler=seed), shots=2000).result().get_counts()
    ours = kizuna.run(c, shots=2000, seed=seed).counts
    assert _two_sample_chi2_p(ours, theirs) > 1e-4
    unitary_part = random_circuit(6, 12, max_operands=4, seed=seed)
    _assert_equal_up_to_phase(kizuna.statevector(from_qiskit(unitary_part)), Statevector(unitary_part).data)
