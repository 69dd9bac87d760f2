"""Kizuna <-> Cirq circuit conversion (``kizuna.interop.from_cirq`` / ``to_cirq``).

References (independent of Kizuna's code):

* Cirq's own simulator: ``cirq.final_state_vector`` (big-endian in ``qubit_order``) for gates
  and random circuits, ``cirq.Simulator().run`` for measurement, reset and classical control
  (two-sample chi-square tests against ``kizuna.run``).
* Cirq's ``resolve_parameters`` for symbolic circuits.

Bit order: Kizuna qubit ``k`` is ``qubit_order[k]``; Cirq's vector gives ``qubit_order[0]`` the
highest weight, so ``kizuna = cirq.reshape((2,)*n).transpose(reversed).reshape(-1)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency, chisquare

import kizuna
from kizuna.core.gates import GATES
from kizuna.errors import InteropError
from kizuna.interop import from_cirq, to_cirq

cirq = pytest.importorskip("cirq")
sympy = pytest.importorskip("sympy")

Q = cirq.LineQubit.range(6)


def cirq_state(circuit, n: int, qubits=None) -> np.ndarray:
    """Cirq's final state in Kizuna's bit order (qubit k weight 2**k)."""
    order = list(qubits) if qubits is not None else Q[:n]
    psi = cirq.final_state_vector(circuit, qubit_order=order, dtype=np.complex128)
    return psi.reshape((2,) * n).transpose(range(n - 1, -1, -1)).reshape(-1)


def assert_equal_up_to_phase(a: np.ndarray, b: np.ndarray, atol: float = 1e-9) -> None:
    k = int(np.argmax(np.abs(b)))
    phase = a[k] / b[k]
    assert abs(abs(phase) - 1) < atol, f"norms differ: |phase| = {abs(phase)}"
    np.testing.assert_allclose(a, phase * b, atol=atol)


def prep(n: int) -> list:
    """A generic entangled start state, so every gate acts on non-trivial amplitudes."""
    ops = []
    for k in range(n):
        ops += [cirq.H(Q[k]), cirq.rz(0.3 + 0.4 * k)(Q[k]), cirq.ry(0.2 * k + 0.1)(Q[k])]
    ops += [cirq.CNOT(Q[k], Q[k + 1]) for k in range(n - 1)]
    return ops


def kizuna_prep(c: kizuna.Circuit) -> kizuna.Circuit:
    for k in range(c.num_qubits):
        c.h(k).rz(0.3 + 0.4 * k, k).ry(0.2 * k + 0.1, k)
    for k in range(c.num_qubits - 1):
        c.cx(k, k + 1)
    return c


def cirq_distribution(c, order: list[str]) -> dict[str, float]:
    """Exact outcome probabilities of Cirq circuit ``c`` from Cirq alone: classical control and
    mid-circuit measurement deferred onto ancillas (``cirq.defer_measurements``), the final
    density matrix (``cirq.final_density_matrix``: resets are channels), read in the basis.

    Keys are Kizuna counts keys for the registers named in ``order`` (first rightmost, bit i of
    a register is column i of Cirq's measurement, printed rightmost-first)."""
    d = cirq.defer_measurements(c)
    meas = [op for op in d.all_operations() if cirq.is_measurement(op)]
    body = cirq.Circuit(op for op in d.all_operations() if not cirq.is_measurement(op))
    qubits = sorted(d.all_qubits())
    pos = {q: i for i, q in enumerate(qubits)}
    rho = cirq.final_density_matrix(body, qubit_order=qubits, dtype=np.complex128)
    probs = np.real(np.diag(rho))
    n = len(qubits)
    out: dict[str, float] = {}
    for idx in np.flatnonzero(probs > 1e-12):
        bits = [(int(idx) >> (n - 1 - i)) & 1 for i in range(n)]  # Cirq: qubits[0] most significant
        values = {}
        for op in meas:
            mask = op.gate.full_invert_mask()
            values[str(op.gate.key)] = [bits[pos[q]] ^ int(f) for q, f in zip(op.qubits, mask)]
        key = " ".join("".join(map(str, values[k][::-1])) for k in reversed(order))
        out[key] = out.get(key, 0.0) + float(probs[idx])
    return out


def assert_counts_follow(counts: dict, probs: dict, shots: int) -> None:
    """Pearson chi-square goodness of fit (p > 1e-3); outcomes of probability 0 are forbidden."""
    assert set(counts) <= set(probs), f"impossible outcomes {set(counts) - set(probs)}"
    keys = sorted(probs)
    observed = np.array([counts.get(k, 0) for k in keys])
    p = np.array([probs[k] for k in keys])
    assert observed.sum() == shots
    if len(keys) > 1:
        assert chisquare(observed, p / p.sum() * shots).pvalue > 1e-3


def two_sample_p(counts_a: dict, counts_b: dict) -> float:
    keys = sorted(set(counts_a) | set(counts_b))
    if len(keys) == 1:
        return 1.0
    table = np.array([[counts_a.get(k, 0) for k in keys], [counts_b.get(k, 0) for k in keys]])
    return float(chi2_contingency(table)[1])


# --- bit order -------------------------------------------------------------------------------
def test_bit_order_line_qubit_k_is_kizuna_qubit_k_and_cirq_is_big_endian():
    c = cirq.Circuit(cirq.X(Q[0]))
    k = from_cirq(c, qubit_order=Q[:3])
    assert k.num_qubits == 3
    psi_k = kizuna.statevector(k)
    psi_c = cirq.final_state_vector(c, qubit_order=Q[:3], dtype=np.complex128)
    assert np.argmax(np.abs(psi_k)) == 1  # qubit 0 has weight 1 in Kizuna ...
    assert np.argmax(np.abs(psi_c)) == 4  # ... and weight 2**(n-1) in Cirq
    np.testing.assert_allclose(psi_k, cirq_state(c, 3), atol=1e-12)


def test_default_qubit_map_keeps_line_qubit_indices_and_sorts_other_qubits():
    c = cirq.Circuit(cirq.X(Q[2]))
    assert from_cirq(c).num_qubits == 3  # LineQubit(2) is qubit 2; qubits 0, 1 idle
    g = cirq.GridQubit.rect(1, 3)
    c = cirq.Circuit(cirq.X(g[2]), cirq.H(g[0]))
    k = from_cirq(c)
    assert [(i.name, i.qubits) for i in k] == [("x", (1,)), ("h", (0,))]  # the used qubits, sorted
    np.testing.assert_allclose(kizuna.statevector(k), cirq_state(c, 2, [g[0], g[2]]), atol=1e-12)


def test_custom_qubit_order_reorders_and_validates():
    a, b = cirq.NamedQubit("a"), cirq.NamedQubit("b")
    c = cirq.Circuit(cirq.H(a), cirq.CNOT(a, b), cirq.ry(0.4)(b))
    k = from_cirq(c, qubit_order=[b, a])
    np.testing.assert_allclose(kizuna.statevector(k), cirq_state(c, 2, [b, a]), atol=1e-12)
    with pytest.raises(InteropError, match="misses qubit"):
        from_cirq(c, qubit_order=[a])
    with pytest.raises(InteropError, match="repeats"):
        from_cirq(c, qubit_order=[a, a, b])


# --- Kizuna table gates to Cirq ----------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(GATES))
def test_every_table_gate_to_cirq_has_exactly_its_matrix(name):
    spec = GATES[name]
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    c = kizuna_prep(kizuna.Circuit(5))
    c.gate(name, list(range(spec.num_qubits))[::-1], list(rng.uniform(-3, 3, spec.num_params)))
    psi = kizuna.statevector(c)
    # global phase included: every table gate maps to Cirq gates of the same matrix
    np.testing.assert_allclose(cirq_state(to_cirq(c), 5), psi, atol=1e-10)
    np.testing.assert_allclose(kizuna.statevector(from_cirq(to_cirq(c))), psi, atol=1e-10)


def test_unitary_and_composite_gates_to_cirq():
    rng = np.random.default_rng(3)
    from scipy.stats import unitary_group

    u = unitary_group.rvs(8, random_state=rng)
    theta = kizuna.Parameter("theta")
    body = kizuna.Circuit(2, name="blk").rx(theta, 0).cx(0, 1).ry(2 * theta, 1)
    g = body.to_gate()
    c = kizuna_prep(kizuna.Circuit(4)).unitary(u, [3, 0, 2]).append(g, [1, 3], [0.7])
    psi = kizuna.statevector(c)
    np.testing.assert_allclose(cirq_state(to_cirq(c), 4), psi, atol=1e-10)
    np.testing.assert_allclose(kizuna.statevector(from_cirq(to_cirq(c))), psi, atol=1e-10)


# --- Cirq gates to Kizuna ----------------------------------------------------------------------
EXACT = [
    cirq.X, cirq.Y, cirq.Z, cirq.H, cirq.S, cirq.T, cirq.S**-1, cirq.T**-1, cirq.X**0.5,
    cirq.X**-0.5, cirq.Z**0.11, cirq.H**0.4, cirq.rx(0.4), cirq.ry(1.1), cirq.rz(-0.3),
    cirq.CZ, cirq.CZ**0.3, cirq.CNOT, cirq.CNOT**0.4, cirq.SWAP, cirq.ISWAP, cirq.ISWAP**0.3,
    cirq.ISWAP**-1, cirq.FSimGate(0.3, 0.9), cirq.CCX, cirq.CCZ, cirq.CSWAP,
    cirq.MatrixGate(cirq.testing.random_unitary(4, random_state=1)),
    cirq.MatrixGate(cirq.testing.random_unitary(8, random_state=2)),
    cirq.ControlledGate(cirq.rx(0.3)), cirq.ControlledGate(cirq.X**0.3),
    cirq.ControlledGate(cirq.H**0.3), cirq.ControlledGate(cirq.XPowGate(exponent=-0.5)),
    cirq.ControlledGate(cirq.S), cirq.ControlledGate(cirq.Y**0.5, num_controls=2, control_values=[1, 0]),
    cirq.ControlledGate(cirq.ZPowGate(exponent=0.3, global_shift=0.1)),
    cirq.ControlledGate(cirq.PhasedXPowGate(phase_exponent=0.3, exponent=0.7)),
    cirq.ControlledGate(cirq.X, num_controls=3), cirq.ControlledGate(cirq.SWAP),
    cirq.ControlledGate(cirq.ry(0.9), control_values=[0]),
    cirq.PhasedISwapPowGate(phase_exponent=0.2, exponent=0.3), cirq.CCZ**0.3,
    cirq.IdentityGate(2),
]
UP_TO_PHASE = [
    cirq.X**0.3, cirq.Y**0.37, cirq.XPowGate(exponent=0.3, global_shift=0.2),
    cirq.PhasedXPowGate(phase_exponent=0.3, exponent=0.7),
    cirq.PhasedXZGate(x_exponent=0.2, z_exponent=0.3, axis_phase_exponent=0.6),
    cirq.SWAP**0.3, cirq.XX**0.3, cirq.YY**0.2, cirq.ZZ**0.7, cirq.CZPowGate(exponent=0.3, global_shift=0.1),
]


@pytest.mark.parametrize("gate", EXACT, ids=str)
def test_cirq_gate_from_cirq_is_exact(gate):
    n = cirq.num_qubits(gate)
    c = cirq.Circuit(prep(4) + [gate.on(*Q[:n][::-1])])
    np.testing.assert_allclose(kizuna.statevector(from_cirq(c, qubit_order=Q[:4])), cirq_state(c, 4), atol=1e-10)


@pytest.mark.parametrize("gate", UP_TO_PHASE, ids=str)
def test_cirq_gate_from_cirq_up_to_global_phase_and_exact_under_control(gate):
    n = cirq.num_qubits(gate)
    c = cirq.Circuit(prep(4) + [gate.on(*Q[:n])])
    assert_equal_up_to_phase(kizuna.statevector(from_cirq(c, qubit_order=Q[:4])), cirq_state(c, 4))
    # the phase Kizuna's gate drops becomes p(alpha) on the control: exact when controlled
    c = cirq.Circuit(prep(4) + [cirq.ControlledGate(gate).on(Q[3], *Q[:n])])
    np.testing.assert_allclose(kizuna.statevector(from_cirq(c, qubit_order=Q[:4])), cirq_state(c, 4), atol=1e-10)


def test_controlled_operation_and_global_phase_op():
    c = cirq.Circuit(prep(3) + [cirq.Y(Q[0]).controlled_by(Q[1], Q[2], control_values=[0, 1]),
                                cirq.rx(0.3)(Q[2]).controlled_by(Q[0]), cirq.global_phase_operation(1j)])
    assert_equal_up_to_phase(kizuna.statevector(from_cirq(c)), cirq_state(c, 3))


def test_circuit_operation_is_unrolled():
    sub = cirq.FrozenCircuit(cirq.H(Q[0]), cirq.CNOT(Q[0], Q[1]))
    c = cirq.Circuit(cirq.CircuitOperation(sub, repetitions=3), cirq.T(Q[1]))
    k = from_cirq(c)
    assert k.count_ops() == {"h": 3, "cx": 3, "t": 1}
    np.testing.assert_allclose(kizuna.statevector(k), cirq_state(c, 2), atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 5))
def test_random_cirq_circuits_match_cirq_state_vector(seed, n):
    c = cirq.testing.random_circuit(Q[:n], n_moments=12, op_density=0.8, random_state=seed)
    assert_equal_up_to_phase(kizuna.statevector(from_cirq(c, qubit_order=Q[:n])), cirq_state(c, n))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_random_kizuna_circuits_round_trip_exactly(seed):
    rng = np.random.default_rng(seed)
    names = sorted(GATES)
    c = kizuna.Circuit(4)
    for _ in range(15):
        name = names[rng.integers(len(names))]
        spec = GATES[name]
        if spec.num_qubits > 4:
            continue
        qs = [int(q) for q in rng.permutation(4)[: spec.num_qubits]]
        c.gate(name, qs, list(rng.uniform(-math.pi, math.pi, spec.num_params)))
    psi = kizuna.statevector(c)
    np.testing.assert_allclose(cirq_state(to_cirq(c), 4), psi, atol=1e-10)
    np.testing.assert_allclose(kizuna.statevector(from_cirq(to_cirq(c))), psi, atol=1e-10)


# --- parameters --------------------------------------------------------------------------------
def test_linear_sympy_parameters_become_kizuna_parameters():
    a, b = sympy.symbols("a b")
    c = cirq.Circuit(prep(2) + [cirq.rx(2 * a + 0.5)(Q[0]), cirq.ZPowGate(exponent=b - a)(Q[1]),
                                cirq.ControlledGate(cirq.X**a)(Q[0], Q[1]), cirq.FSimGate(a, 3 * b)(Q[0], Q[1])])
    k = from_cirq(c)
    assert [p.name for p in k.parameters] == ["a", "b"]
    values = {"a": 0.37, "b": -1.2}
    expected = cirq_state(cirq.resolve_parameters(c, values), 2)
    np.testing.assert_allclose(kizuna.statevector(k, parameters=values), expected, atol=1e-10)
    # and back: Kizuna expressions become sympy expressions
    back = to_cirq(k)
    assert {s.name for s in cirq.parameter_symbols(back)} == {"a", "b"}
    np.testing.assert_allclose(cirq_state(cirq.resolve_parameters(back, values), 2), expected, atol=1e-10)


def test_kizuna_expressions_to_sympy():
    th = kizuna.Parameter("th")
    from kizuna.computing.parameters import cos, sqrt

    c = kizuna.Circuit(2).h(0).rx(cos(th) * 2 + sqrt(th) / 3, 0).cp(th**2 - 1, 0, 1).u(th, -th, 2 * th, 1)
    v = 0.81
    back = cirq.resolve_parameters(to_cirq(c), {"th": v})
    np.testing.assert_allclose(cirq_state(back, 2), kizuna.statevector(c, parameters={"th": v}), atol=1e-10)


def test_nonlinear_sympy_parameter_is_an_interop_error():
    a, b = sympy.symbols("a b")
    with pytest.raises(InteropError, match=r"moment 1.*not linear"):
        from_cirq(cirq.Circuit(cirq.H(Q[0]), cirq.rx(a * b)(Q[0])))
    with pytest.raises(InteropError, match="not linear"):
        from_cirq(cirq.Circuit(cirq.rx(sympy.sin(a))(Q[0])))


# --- measurements, reset, classical control ----------------------------------------------------
def test_measurement_keys_become_registers():
    c = cirq.Circuit(cirq.H(Q[0]), cirq.measure(Q[0], Q[2], key="m"), cirq.measure(Q[1], key="q(1)"),
                     cirq.measure(Q[1], key="r[2]"))
    k = from_cirq(c)
    regs = {r.name: r for r in k.cregs}
    assert {n: r.size for n, r in regs.items()} == {"m": 2, "q_1_": 1, "r": 3}
    writes = {(i.qubits[0], i.clbits[0]) for i in k if i.name == "measure"}
    assert writes == {(0, regs["m"][0]), (2, regs["m"][1]), (1, regs["q_1_"][0]), (1, regs["r"][2])}


def test_inverted_measurement_reset_and_sampling_match_cirq():
    c = cirq.Circuit(
        cirq.H(Q[0]), cirq.CNOT(Q[0], Q[1]), cirq.ry(0.7)(Q[2]),
        cirq.measure(Q[0], Q[1], Q[2], key="m", invert_mask=(False, True, False)),
        cirq.reset(Q[0]), cirq.X(Q[1]) ** 0.5, cirq.measure(Q[0], Q[1], key="z"),
    )
    k = from_cirq(c)
    assert [r.name for r in k.cregs] == ["m", "z"]
    shots = 4000
    probs = cirq_distribution(c, ["m", "z"])
    assert len(probs) == 8
    assert_counts_follow(kizuna.run(k, shots=shots, seed=11).counts, probs, shots)


def test_classical_control_key_and_sympy_conditions_match_cirq():
    m = sympy.Symbol("m")
    c = cirq.Circuit(
        cirq.H(Q[0]), cirq.ry(1.1)(Q[1]), cirq.measure(Q[0], Q[1], key="m"),
        cirq.X(Q[2]).with_classical_controls("m"),            # m != 0
        cirq.X(Q[3]).with_classical_controls(sympy.Eq(m, 2)),  # cirq's m is big-endian: Q0 = 1
        cirq.measure(Q[2], Q[3], key="out"),
    )
    k = from_cirq(c)
    conds = sorted({str(i.condition) for i in k if i.condition is not None})
    assert conds == ["if(m==1)", "if(m==2)", "if(m==3)"]
    probs = cirq_distribution(c, ["m", "out"])
    # out[1] is set iff Q0 = 1 and Q1 = 0 (Kizuna m == 1), out[0] iff m != 0
    assert set(probs) == {"00 00", "11 01", "01 10", "01 11"}
    shots = 4000
    assert_counts_follow(kizuna.run(k, shots=shots, seed=5).counts, probs, shots)


def test_to_cirq_measurement_keys_and_conditions_run_in_cirq():
    c = kizuna.Circuit(3, 2).h(0).ry(0.9, 1).measure([0, 1], [0, 1])  # one run over c: key "c"
    flag = c.add_creg("f", 1)
    with c.if_test("c", 2):
        c.x(2)
    c.measure(2, flag[0])
    cc = to_cirq(c)
    assert sorted(str(k) for k in cirq.measurement_key_names(cc)) == ["c", "f"]
    probs = cirq_distribution(cc, ["c", "f"])
    assert set(probs) == {"0 00", "0 01", "1 10", "0 11"}
    shots = 4000
    ours = kizuna.run(c, shots=shots, seed=3).counts
    assert_counts_follow(ours, probs, shots)
    back = from_cirq(cc)
    assert [(r.name, r.size) for r in back.cregs] == [("c", 2), ("f", 1)]
    assert kizuna.run(back, shots=shots, seed=3).counts == ours


def test_to_cirq_partial_register_measurements_use_indexed_keys():
    c = kizuna.Circuit(2, 3).x(0).measure(0, 2).measure(1, 0)
    with c.if_test("c", 4):
        c.x(1)
    cc = to_cirq(c)
    assert sorted(cirq.measurement_key_names(cc)) == ["c[0]", "c[2]"]
    res = cirq.Simulator().run(cc, repetitions=5)
    assert (res.measurements["c[2]"] == 1).all()
    back = from_cirq(cc)  # keys c[0], c[2] measure into bits of one register c
    assert [(r.name, r.size) for r in back.cregs] == [("c", 3)]


def test_to_cirq_condition_on_bits_never_measured_is_constant():
    c = kizuna.Circuit(2, 2).h(0)
    with c.if_test("c", 0):  # clbits start at 0: always true
        c.x(1)
    with c.if_test("c", 1):  # never true
        c.x(0)
    cc = to_cirq(c)
    assert not any(isinstance(op, cirq.ClassicallyControlledOperation) for op in cc.all_operations())
    np.testing.assert_allclose(cirq_state(cc, 2), kizuna.statevector(kizuna.Circuit(2).h(0).x(1)), atol=1e-12)


# --- errors --------------------------------------------------------------------------------
def test_noise_channel_is_an_interop_error_naming_moment_and_operation():
    c = cirq.Circuit(cirq.H(Q[0]), cirq.depolarize(0.1)(Q[0]))
    with pytest.raises(InteropError, match=r"moment 1, operation cirq.depolarize"):
        from_cirq(c)


def test_unsupported_conditions_and_measurements_are_interop_errors():
    c = cirq.Circuit(cirq.measure(Q[0], key="a"), cirq.measure(Q[1], key="b"),
                     cirq.X(Q[2]).with_classical_controls("a", "b"))
    with pytest.raises(InteropError, match="2 classical conditions"):
        from_cirq(c)
    a, b = sympy.symbols("a b")
    c = cirq.Circuit(cirq.measure(Q[0], key="a"), cirq.measure(Q[1], key="b"),
                     cirq.X(Q[2]).with_classical_controls(sympy.Eq(a + b, 1)))
    with pytest.raises(InteropError, match="reads 2 measurement keys of registers"):
        from_cirq(c)
    c = cirq.Circuit(cirq.measure(Q[0], key="a", confusion_map={(0,): np.array([[0.9, 0.1], [0.1, 0.9]])}))
    with pytest.raises(InteropError, match="confusion map"):
        from_cirq(c)
    c = cirq.Circuit(cirq.measure(Q[0], key="a"), cirq.measure(Q[0], Q[1], key="a"))
    with pytest.raises(InteropError, match="one register of one size"):
        from_cirq(c)


def test_wrong_argument_types():
    with pytest.raises(InteropError, match="takes a cirq.Circuit"):
        from_cirq(kizuna.Circuit(1))
    with pytest.raises(InteropError, match="takes a kizuna Circuit"):
        to_cirq(cirq.Circuit())
