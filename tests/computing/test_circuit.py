"""The circuit IR: building, errors, inverse, compose, depth, counts, parameters, composites.

Peer: Qiskit's ``QuantumCircuit`` (``depth``, ``count_ops``, ``inverse``, ``compose``,
``measure_all``, ``remove_final_measurements``) and ``qiskit.quantum_info.Operator`` for the
unitaries; the dense reference ``reference_unitary`` for Kizuna's side.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Operator
from scipy.stats import unitary_group

import kizuna
from kizuna import Circuit, CompositeGate, Parameter
from kizuna.computing import parameters as kp
from kizuna.computing.backends._reference import reference_unitary
from kizuna.computing.circuit import flatten
from kizuna.core.gates import GATES
from kizuna.errors import CircuitError, ParameterError

theta = Parameter("theta")


def _unitary_close(a, b, atol=1e-10):
    np.testing.assert_allclose(a, b, atol=atol)


# --- building and broadcasting ---------------------------------------------------------------------
def test_single_qubit_gate_broadcasts_over_a_sequence():
    c = Circuit(3).h([0, 1, 2])
    assert [ins.qubits for ins in c] == [(0,), (1,), (2,)]
    c = Circuit(3).h(range(3))
    assert len(c) == 3


def test_two_qubit_gate_zips_sequences_and_repeats_single_indices():
    c = Circuit(4).cx([0, 1], [2, 3]).cx(0, [1, 2])
    assert [ins.qubits for ins in c] == [(0, 2), (1, 3), (0, 1), (0, 2)]


def test_measure_and_reset_broadcast_like_openqasm_registers():
    c = Circuit(3, 3).measure([0, 1, 2], [2, 1, 0]).reset([0, 1])
    assert [(ins.name, ins.qubits, ins.clbits) for ins in c] == [
        ("measure", (0,), (2,)), ("measure", (1,), (1,)), ("measure", (2,), (0,)),
        ("reset", (0,), ()), ("reset", (1,), ()),
    ]


def test_broadcast_of_unequal_sequences_is_refused_naming_the_lengths():
    with pytest.raises(CircuitError, match=r"cx.*\[2, 3\]"):
        Circuit(5).cx([0, 1], [2, 3, 4])


def test_barrier_without_arguments_spans_all_qubits_and_flattens_sequences():
    c = Circuit(3).barrier().barrier([0, 2], 1)
    assert [ins.qubits for ins in c] == [(0, 1, 2), (0, 2, 1)]


def test_registers_index_to_global_qubits():
    c = Circuit()
    a = c.add_qreg("a", 2)
    b = c.add_qreg("b", 3)
    assert (a[0], a[1], b[0], b[-1]) == (0, 1, 2, 4)
    assert c.num_qubits == 5
    with pytest.raises(CircuitError, match=r"index 3 out of range for register a\[2\]"):
        a[3]


def test_generic_gate_method_equals_the_named_method():
    assert Circuit(2).gate("cu3", [1, 0], [0.1, 0.2, 0.3]) == Circuit(2).cu3(0.1, 0.2, 0.3, 1, 0)


# --- errors with clear messages -------------------------------------------------------------------
@pytest.mark.parametrize("build, match", [
    (lambda: Circuit(2).h(2), r"qubit 2 out of range: the circuit has 2 qubit"),
    (lambda: Circuit(2).h(-1), r"qubit -1 out of range"),
    (lambda: Circuit(2).h(1.5), r"integer.*1\.5"),
    (lambda: Circuit(2).h(True), r"integer.*True"),
    (lambda: Circuit(2).h("a"), r"qubit index must be an integer \(got 'a'\)"),
    (lambda: Circuit(2, 1).measure(0, 1), r"clbit 1 out of range: the circuit has 1 clbit"),
])
def test_bad_qubit_or_clbit_index_is_refused_naming_it(build, match):
    with pytest.raises(CircuitError, match=match):
        build()


@pytest.mark.parametrize("build", [
    lambda: Circuit(2).cx(1, 1),
    lambda: Circuit(3).ccx(0, 2, 0),
    lambda: Circuit(2).barrier(0, 0),
    lambda: Circuit(2).unitary(np.eye(4), [1, 1]),
])
def test_repeated_qubits_are_refused(build):
    with pytest.raises(CircuitError, match="repeated|distinct"):
        build()


def test_wrong_parameter_or_qubit_count_is_refused_naming_the_gate():
    with pytest.raises(CircuitError, match=r"'rx' takes 1 parameter\(s\) \('theta',\), got 0"):
        Circuit(1).gate("rx", [0], [])
    with pytest.raises(CircuitError, match=r"'cx' acts on 2 qubit\(s\), got 1"):
        Circuit(2).gate("cx", [0])
    with pytest.raises(CircuitError, match="unknown gate 'foo'"):
        Circuit(1).gate("foo", [0])


@pytest.mark.parametrize("bad", [math.inf, math.nan, "0.5", None, True])
def test_non_finite_or_non_numeric_angle_is_refused(bad):
    with pytest.raises(CircuitError, match="'rx' parameter must be"):
        Circuit(1).rx(bad, 0)


def test_non_unitary_or_misshapen_matrix_is_refused():
    with pytest.raises(CircuitError, match="not unitary"):
        Circuit(1).unitary([[1, 1], [0, 1]], [0])
    with pytest.raises(CircuitError, match=r"needs a 4x4 matrix \(got shape \(2, 2\)\)"):
        Circuit(2).unitary(np.eye(2), [0, 1])


def test_unknown_register_is_refused_listing_the_known_ones():
    c = Circuit(1, 1)
    with pytest.raises(CircuitError, match=r"no classical register named 'nope' \(registers: c\)"):
        with c.if_test("nope", 1):
            c.x(0)
    with pytest.raises(CircuitError, match="registers: none"):
        Circuit(1).creg("c")


def test_unbound_parameter_at_simulation_names_it_and_says_how_to_bind():
    c = Circuit(1, 1).rx(theta * 2, 0).measure(0, 0)
    with pytest.raises(ParameterError, match=r"unbound parameter\(s\) theta.*assign_parameters"):
        kizuna.statevector(c)
    with pytest.raises(ParameterError, match="theta"):
        kizuna.run(c, shots=10, seed=1)


@pytest.mark.parametrize("args, match", [
    ((-1,), "num_qubits must be a non-negative integer"),
    ((2, 1.5), "num_clbits must be a non-negative integer"),
])
def test_bad_circuit_sizes_are_refused(args, match):
    with pytest.raises(CircuitError, match=match):
        Circuit(*args)


def test_register_names_must_be_unique_identifiers():
    c = Circuit(1, 1)
    with pytest.raises(CircuitError, match="already exists"):
        c.add_qreg("c", 1)
    with pytest.raises(CircuitError, match="identifier"):
        c.add_creg("2x", 1)
    with pytest.raises(CircuitError, match="positive integer"):
        c.add_qreg("r", 0)


# --- conditions -----------------------------------------------------------------------------------
def test_if_test_conditions_every_instruction_in_the_block_only():
    c = Circuit(2)
    c.add_creg("a", 2)
    c.h(0)
    with c.if_test("a", 3):
        c.x(1).z(0)
    c.y(1)
    conds = [ins.condition for ins in c]
    assert conds[0] is None and conds[3] is None
    assert conds[1] == conds[2] and conds[1].clbits == (0, 1) and conds[1].value == 3
    assert str(conds[1]) == "if(a==3)"


def test_conditions_refuse_values_too_large_nesting_and_barriers():
    c = Circuit(1, 2)
    with pytest.raises(CircuitError, match=r"value 4 does not fit in register c\[2\]"):
        with c.if_test("c", 4):
            pass
    with pytest.raises(CircuitError, match="non-negative"):
        with c.if_test("c", -1):
            pass
    with pytest.raises(CircuitError, match="do not nest"):
        with c.if_test("c", 1):
            with c.if_test("c", 0):
                pass
    with pytest.raises(CircuitError, match="barrier cannot be conditioned"):
        with c.if_test("c", 1):
            c.barrier()
    c.x(0)
    assert c.instructions[-1].condition is None  # the failed blocks left no condition behind


# --- inverse ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(12))
def test_inverse_of_random_circuit_is_the_adjoint_and_matches_qiskit(seed, random_circuit_pair):
    n = 1 + seed % 5
    kc, qc = random_circuit_pair(seed + 500, n, 12, barrier_prob=0.1)
    inv = kc.inverse()
    u = reference_unitary(kc)
    _unitary_close(reference_unitary(inv), u.conj().T)
    _unitary_close(reference_unitary(inv), Operator(qc.inverse()).data)


@pytest.mark.parametrize("name", ["csx", "rc3x", "c3sqrtx"])
def test_gates_without_inverse_rule_invert_through_their_definition(name, qiskit_gate):
    spec = GATES[name]
    qubits = list(range(spec.num_qubits))[::-1]  # reversed placement
    c = Circuit(spec.num_qubits).gate(name, qubits)
    inv = c.inverse()
    (ins,) = inv.instructions
    assert ins.definition is not None and ins.name == f"{name}_dg"
    _unitary_close(reference_unitary(inv), reference_unitary(c).conj().T, atol=1e-12)
    qc = QuantumCircuit(spec.num_qubits)
    qc.append(qiskit_gate(name), qubits)
    _unitary_close(reference_unitary(inv), Operator(qc.inverse()).data, atol=1e-12)


def test_inverse_of_composite_gate_with_parameters_is_the_adjoint_after_binding():
    a = Parameter("a")
    body = Circuit(2, name="blk").rx(a, 0).cu(a, 2 * a, kp.sin(a), a / 3, 0, 1).csx(1, 0).u2(a, -a, 1)
    g = body.to_gate()
    c = Circuit(3).append(g, [2, 0], [theta ** 2]).append(g, [0, 1], [kp.cos(theta)])
    inv = c.inverse()
    assert [ins.name for ins in inv] == ["blk_dg", "blk_dg"]
    values = {"theta": 0.83}
    _unitary_close(reference_unitary(inv.assign_parameters(values)),
                   reference_unitary(c.assign_parameters(values)).conj().T)


def test_inverse_of_unitary_instruction_is_its_adjoint_and_keeps_barriers():
    u = unitary_group.rvs(4, random_state=np.random.default_rng(3))
    c = Circuit(2).unitary(u, [1, 0]).barrier().h(0)
    inv = c.inverse()
    assert [ins.name for ins in inv] == ["h", "barrier", "unitary"]
    np.testing.assert_allclose(inv.instructions[2].matrix, u.conj().T)


def test_double_inverse_restores_the_unitary(random_circuit_pair):
    kc, _ = random_circuit_pair(77, 4, 20)
    _unitary_close(reference_unitary(kc.inverse().inverse()), reference_unitary(kc))


@pytest.mark.parametrize("build, match", [
    (lambda: Circuit(1, 1).measure(0, 0), "cannot invert a circuit that holds 'measure'"),
    (lambda: Circuit(1).reset(0), "'reset'"),
])
def test_inverse_refuses_non_unitary_operations(build, match):
    with pytest.raises(CircuitError, match=match):
        build().inverse()


def test_inverse_refuses_conditioned_operations():
    c = Circuit(1, 1)
    with c.if_test("c", 1):
        c.x(0)
    with pytest.raises(CircuitError, match=r"conditioned operation x if\(c==1\)"):
        c.inverse()


# --- compose -------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_compose_with_qubit_map_matches_qiskit(seed, random_circuit_pair):
    base_k, base_q = random_circuit_pair(seed + 900, 5, 10)
    sub_k, sub_q = random_circuit_pair(seed + 950, 3, 10)
    qmap = [int(q) for q in np.random.default_rng(seed).permutation(5)[:3]]
    out = base_k.compose(sub_k, qubits=qmap)
    _unitary_close(reference_unitary(out), Operator(base_q.compose(sub_q, qubits=qmap)).data)
    assert len(base_k) + len(sub_k) == len(out)  # the original is not modified
    assert reference_unitary(base_k).shape == (32, 32)


def test_compose_maps_clbits_and_renames_conditions_to_the_target_register():
    sub = Circuit(2, 2).h(0).measure([0, 1], [0, 1])
    with sub.if_test("c", 2):
        sub.x(0)
    top = Circuit(3)
    top.add_creg("a", 1)
    top.add_creg("b", 2)
    out = top.compose(sub, qubits=[2, 0], clbits=[1, 2])
    assert [(i.name, i.qubits, i.clbits) for i in out][:3] == [
        ("h", (2,), ()), ("measure", (2,), (1,)), ("measure", (0,), (2,))]
    last = out.instructions[-1]
    assert last.qubits == (2,) and last.condition.register == "b"
    assert last.condition.clbits == (1, 2) and last.condition.value == 2


def test_compose_refuses_wrong_or_repeated_maps():
    sub = Circuit(2, 1)
    top = Circuit(3, 2)
    with pytest.raises(CircuitError, match="2 distinct target qubits"):
        top.compose(sub, qubits=[0])
    with pytest.raises(CircuitError, match="2 distinct target qubits"):
        top.compose(sub, qubits=[1, 1])
    with pytest.raises(CircuitError, match="qubit 3 out of range"):
        top.compose(sub, qubits=[0, 3])
    with pytest.raises(CircuitError, match="1 distinct target clbits"):
        top.compose(sub, qubits=[0, 1], clbits=[0, 1])


# --- depth and counts ----------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(40))
def test_depth_matches_qiskit_on_random_circuits_with_barriers_and_measurements(seed, random_circuit_pair):
    n = 1 + seed % 7
    kc, qc = random_circuit_pair(seed + 3000, n, 4 + 3 * n, barrier_prob=0.15, measure_prob=0.15)
    assert kc.depth() == qc.depth()


def test_depth_literature_examples():
    assert Circuit(3).depth() == 0
    assert Circuit(3).h([0, 1, 2]).depth() == 1
    assert Circuit(3).h(0).cx(0, 1).cx(1, 2).depth() == 3
    # a barrier adds no layer but lines the qubits up (as Qiskit)
    assert Circuit(2).h(0).barrier().h(1).depth() == 2
    assert Circuit(2).h(0).barrier(0).h(1).depth() == 1
    # a condition occupies the bits it reads: x waits for the measurement of qubit 0
    c = Circuit(2, 1).h(0).h(0).measure(0, 0)
    with c.if_test("c", 1):
        c.x(1)
    assert c.depth() == 4


@pytest.mark.parametrize("seed", range(10))
def test_count_ops_matches_qiskit(seed, qiskit_names, random_circuit_pair):
    kc, qc = random_circuit_pair(seed + 4000, 5, 30, barrier_prob=0.1, measure_prob=0.1)
    ours: dict[str, int] = {}
    for name, k in kc.count_ops().items():
        key = qiskit_names.get(name, name)
        ours[key] = ours.get(key, 0) + k
    assert ours == dict(qc.count_ops())
    counts = list(kc.count_ops().values())
    assert counts == sorted(counts, reverse=True)  # most frequent first
    assert kc.size() == len(kc) - kc.count_ops().get("barrier", 0)


# --- copy and equality ---------------------------------------------------------------------------
def test_copy_is_independent_of_the_original():
    c = Circuit(2, 1, name="orig").h(0)
    d = c.copy()
    d.cx(0, 1)
    assert len(c) == 1 and len(d) == 2
    d.add_qreg("extra", 1)
    assert c.num_qubits == 2
    assert c.copy(name="other").name == "other"


def test_equality_compares_registers_and_instructions_but_not_the_name():
    a = Circuit(2, name="x").rx(0.5, 0).cx(0, 1)
    assert a == Circuit(2, name="y").rx(0.5, 0).cx(0, 1)
    assert a != Circuit(2).rx(0.5000001, 0).cx(0, 1)
    assert a != Circuit(2).rx(0.5, 0).cx(1, 0)
    assert a != Circuit(2, 1).rx(0.5, 0).cx(0, 1)
    assert Circuit(1).rx(theta, 0) != Circuit(1).rx(0.5, 0)
    assert Circuit(1).rx(theta + 1, 0) == Circuit(1).rx(theta + 1, 0)
    u = unitary_group.rvs(2, random_state=np.random.default_rng(1))
    assert Circuit(1).unitary(u, [0]) == Circuit(1).unitary(u.copy(), [0])
    assert Circuit(1).unitary(u, [0]) != Circuit(1).unitary(u @ u, [0])
    assert (a == "circuit") is False


# --- measure_all and remove_final_measurements ---------------------------------------------------
def test_measure_all_adds_a_meas_register_and_barrier_like_qiskit():
    c = Circuit(3).h(0).cx(0, 1).measure_all()
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    assert [(r.name, r.size) for r in c.cregs] == [(r.name, r.size) for r in qc.cregs]
    assert c.count_ops() == dict(qc.count_ops())
    ops = [(i.name, i.qubits, i.clbits) for i in c][-3:]
    assert ops == [("measure", (k,), (k,)) for k in range(3)]
    assert kizuna.run(c, shots=50, seed=2).counts.keys() <= {"000", "011"}


def test_measure_all_into_existing_clbits_needs_enough_of_them():
    c = Circuit(2, 2).x(1).measure_all(add_register=False)
    assert c.num_clbits == 2 and kizuna.run(c, shots=5, seed=0).counts == {"10": 5}
    with pytest.raises(CircuitError, match="measure_all needs 3 clbits, the circuit has 1"):
        Circuit(3, 1).measure_all(add_register=False)


@pytest.mark.parametrize("seed", range(10))
def test_remove_final_measurements_keeps_mid_circuit_ones_like_qiskit(
    seed, qiskit_names, random_circuit_pair,
):
    kc, qc = random_circuit_pair(seed + 5000, 4, 25, barrier_prob=0.1, measure_prob=0.2)
    kc.measure_all(add_register=False)
    qc.barrier()
    qc.measure(range(4), range(4))
    out = kc.remove_final_measurements()
    theirs = dict(qc.remove_final_measurements(inplace=False).count_ops())
    ours = {qiskit_names.get(k, k): v for k, v in out.count_ops().items()}
    assert ours.get("measure", 0) == theirs.get("measure", 0)
    assert ours.get("barrier", 0) == theirs.get("barrier", 0)
    assert kc.num_clbits == out.num_clbits  # registers are kept


def test_remove_final_measurements_keeps_a_measurement_a_later_condition_reads():
    c = Circuit(2, 1).h(0).measure(0, 0)
    with c.if_test("c", 1):
        c.x(1)
    assert c.remove_final_measurements().count_ops().get("measure") == 1
    c2 = Circuit(2, 2).h(0).measure(0, 0).x(1).measure(1, 1)
    assert c2.remove_final_measurements().count_ops() == {"h": 1, "x": 1}


# --- parameters ----------------------------------------------------------------------------------
def test_assign_parameters_returns_a_bound_copy_by_name_or_parameter():
    phi = Parameter("phi")
    c = Circuit(2).rx(theta, 0).cp(theta * phi, 0, 1)
    b1 = c.assign_parameters({"theta": 0.5, phi: 2.0})
    assert b1.parameters == () and b1.instructions[1].params == (1.0,)
    assert c.parameters == (phi, theta)  # the original keeps its symbols
    part = c.assign_parameters({"theta": 0.5})
    assert part.parameters == (phi,)
    chained = c.assign_parameters({theta: 2 * phi}).assign_parameters({"phi": 0.25})
    assert chained.instructions[0].params == (0.5,)


def test_assign_parameters_is_strict_about_unknown_names():
    c = Circuit(1).rx(theta, 0)
    with pytest.raises(ParameterError, match=r"no parameter\(s\) thetta \(it has: theta\)"):
        c.assign_parameters({"thetta": 1.0})
    assert c.assign_parameters({"thetta": 1.0, "theta": 2.0}, strict=False).parameters == ()


def test_assign_parameters_binds_composite_gate_arguments():
    a = Parameter("a")
    g = Circuit(1, name="g").rx(a, 0).to_gate()
    c = Circuit(1).append(g, [0], [theta + 1])
    bound = c.assign_parameters({"theta": 0.5})
    assert bound.instructions[0].params == (1.5,)
    assert flatten(bound)[0].params == (1.5,)


# --- to_gate / append ----------------------------------------------------------------------------
def test_to_gate_and_append_expand_to_the_body_with_substituted_parameters():
    a, b = Parameter("a"), Parameter("b")
    g = Circuit(2, name="ent").ry(a, 0).cx(0, 1).rz(b - a, 1).to_gate()
    assert g.params == (a, b)  # default order: sorted by name
    c = Circuit(3).append(g, [2, 0], [0.3, 1.0])
    flat = flatten(c)
    assert [(i.name, i.qubits, i.params) for i in flat] == [
        ("ry", (2,), (0.3,)), ("cx", (2, 0), ()), ("rz", (0,), (1.0 - 0.3,))]


def test_to_gate_takes_an_explicit_parameter_order():
    a, b = Parameter("a"), Parameter("b")
    g = Circuit(1, name="g").rx(a, 0).ry(b, 0).to_gate(params=[b, a])
    flat = flatten(Circuit(1).append(g, [0], [1.0, 2.0]))
    assert [(i.name, i.params) for i in flat] == [("rx", (2.0,)), ("ry", (1.0,))]


def test_append_broadcasts_over_qubit_sequences():
    g = Circuit(2, name="pair").cx(0, 1).to_gate()
    c = Circuit(4).append(g, [[0, 2], [1, 3]])
    assert [i.qubits for i in c] == [(0, 1), (2, 3)]


@pytest.mark.parametrize("build, match", [
    (lambda: Circuit(1).h(0).to_gate(), "to_gate needs a name"),
    (lambda: Circuit(1, 1, name="m").measure(0, 0).to_gate(), "may hold only gates"),
    (lambda: Circuit(1, name="r").reset(0).to_gate(), "may hold only gates"),
    (lambda: Circuit(1, name="h").x(0).to_gate(), "taken by a built-in"),
    (lambda: Circuit(1, name="bad name").x(0).to_gate(), "identifier"),
    (lambda: Circuit(1, name="g").rx(theta, 0).to_gate(params=[]), "miss theta"),
    (lambda: Circuit(1, name="g").rx(theta, 0).to_gate(params=["theta"]), "Parameter objects"),
])
def test_to_gate_refusals(build, match):
    with pytest.raises(CircuitError, match=match):
        build()


def test_composite_gate_refuses_undeclared_parameters():
    body = Circuit(1).rx(theta, 0).instructions
    with pytest.raises(CircuitError, match="undeclared parameter.*theta"):
        CompositeGate("g", 1, (), body)


def test_append_refusals():
    g = Circuit(2, name="g").cx(0, 1).to_gate()
    with pytest.raises(CircuitError, match="takes a CompositeGate"):
        Circuit(2).append("cx", [0, 1])
    with pytest.raises(CircuitError, match=r"'g' acts on 2 qubit\(s\), got 3"):
        Circuit(3).append(g, [0, 1, 2])
    with pytest.raises(CircuitError, match=r"'g' takes 0 parameter\(s\), got 1"):
        Circuit(2).append(g, [0, 1], [0.5])
    with pytest.raises(CircuitError, match="repeated qubits"):
        Circuit(2).append(g, [1, 1])
    other = Circuit(2, name="g").cz(0, 1).to_gate()
    with pytest.raises(CircuitError, match="already uses a different gate named 'g'"):
        Circuit(2).append(g, [0, 1]).append(other, [0, 1])


def test_nested_composite_gates_flatten_recursively_and_conditions_propagate():
    a = Parameter("a")
    inner = Circuit(1, name="inner").rx(2 * a, 0).to_gate()
    b = Parameter("b")
    outer = Circuit(2, name="outer").append(inner, [1], [b + 1]).cx(0, 1).to_gate()
    c = Circuit(3, 1)
    with c.if_test("c", 1):
        c.append(outer, [2, 0], [0.25])
    flat = flatten(c)
    assert [(i.name, i.qubits, i.params) for i in flat] == [("rx", (0,), (2.5,)), ("cx", (2, 0), ())]
    assert all(i.condition is not None and i.condition.value == 1 for i in flat)


# --- hashing of circuits for provenance -----------------------------------------------------------
def test_sha256_ignores_the_name_and_changes_with_content():
    a = Circuit(2, 2, name="a").h(0).cx(0, 1).measure([0, 1], [0, 1])
    b = Circuit(2, 2, name="b").h(0).cx(0, 1).measure([0, 1], [0, 1])
    assert a.sha256() == b.sha256() and len(a.sha256()) == 64
    assert a.sha256() != Circuit(2, 2).h(1).cx(0, 1).measure([0, 1], [0, 1]).sha256()
    assert Circuit(1).rx(0.1, 0).sha256() != Circuit(1).rx(0.1 + 1e-15, 0).sha256()


def test_instruction_matrix_is_the_table_matrix_and_refuses_what_has_none():
    import numpy as np

    from kizuna.core.gates import gate_matrix

    c = kizuna.Circuit(2, 1).crx(0.3, 0, 1).rz(kizuna.Parameter("t"), 0).measure(0, 0)
    crx, rz, meas = c.instructions
    np.testing.assert_array_equal(crx.to_matrix(), gate_matrix("crx", [0.3]))
    with pytest.raises(kizuna.ParameterError, match="unbound"):
        rz.to_matrix()
    with pytest.raises(kizuna.CircuitError, match="'measure'.*no matrix"):
        meas.to_matrix()
    g = kizuna.Circuit(1, name="g").h(0).to_gate()
    with pytest.raises(kizuna.CircuitError, match="flatten"):
        kizuna.Circuit(1).append(g, [0]).instructions[0].to_matrix()


def test_sha256_is_cached_but_follows_every_change():
    c = Circuit(2).h(0)
    first = c.sha256()
    assert c.sha256() == first
    c.cx(0, 1)
    second = c.sha256()
    assert second != first
    c.add_creg("extra", 1)
    assert c.sha256() not in (first, second)
    assert Circuit(2).h(0).sha256() == first  # same content, same hash
