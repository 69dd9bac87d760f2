"""Transpilation: synthesis pieces, equivalence on every built-in device, bad input.

References:
* Equivalence by state vector: ``kizuna.statevector`` of the input against that of the
  transpiled circuit read through the reported final layout (a plain index map written here,
  independent of ``TranspileResult.virtual_statevector``), up to global phase.
* Unitary-level equivalence against Qiskit: ``qiskit.quantum_info.Operator`` of the
  transpiled circuit (exported to OpenQASM 2, read by ``qiskit.qasm2``) equals
  ``P_final · U · P_initial†`` (Qiskit's own matrices for both sides).
* Minimal CNOT counts: Qiskit's ``TwoQubitBasisDecomposer(CXGate()).num_basis_gates``; the
  classification 0/1/2/3 CNOTs by Weyl coordinates (Shende, Markov, Bullock, PRA 69,
  062321 (2004); Vatan, Williams, PRA 69, 032315 (2004)).
* Multi-controlled phase cost ``2**m - 2`` CNOTs (Barenco et al., PRA 52, 3457 (1995)).
* Outcome distributions with mid-circuit measurement, reset and conditions:
  ``conftest.exact_distribution`` (branch enumeration with dense numpy vectors).
* Hypothesis properties: Euler and KAK reconstructions of drawn unitaries.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import unitary_group

import kizuna
from kizuna import Circuit, Parameter
from kizuna.computing import _synthesis as syn
from kizuna.computing.device import Device, DeviceError
from kizuna.computing.transpile import TranspileResult, transpile
from kizuna.core.gates import GATES, embed, gate_matrix
from kizuna.errors import ParameterError, SimulationError


# --- helpers --------------------------------------------------------------------------------------
def _equal_up_to_phase(a, b, atol=1e-9):
    i = np.unravel_index(np.argmax(np.abs(b)), b.shape)
    if abs(b[i]) < 1e-12:
        return np.allclose(a, b, atol=atol)
    phase = a[i] / b[i]
    return abs(abs(phase) - 1) < atol and np.allclose(a, phase * b, atol=atol)


def _to_virtual(state, layout):
    """Amplitude ``i`` of the virtual state sits at the physical index with bit ``layout[v]``
    set for every bit ``v`` of ``i``; all other qubits must be |0>."""
    n = len(layout)
    idx = np.array([sum(1 << layout[v] for v in range(n) if (i >> v) & 1) for i in range(1 << n)])
    sub = state[idx]
    assert np.vdot(sub, sub).real == pytest.approx(1.0, abs=1e-9), "weight outside the layout"
    return sub


def _assert_native(result, device):
    edges = set(device.coupling_map)
    for ins in result.circuit.instructions:
        if ins.name in ("measure", "reset", "barrier"):
            continue
        assert ins.name in device.basis_gates, ins
        if len(ins.qubits) == 2:
            assert (min(ins.qubits), max(ins.qubits)) in edges, ins
        assert len(ins.qubits) <= 2
    device.check_circuit(result.circuit)


def _compress(result):
    """The transpiled circuit on just the physical qubits it touches, in order (the others
    are never acted on, so they stay |0>), with its layout mapped along."""
    out = result.circuit
    used = sorted({q for ins in out.instructions for q in ins.qubits}
                  | set(result.final_layout) | set(result.initial_layout))
    index = {p: i for i, p in enumerate(used)}
    small = Circuit(len(used))
    for reg in out.cregs:
        small.add_creg(reg.name, reg.size)
    for ins in out.instructions:
        qs = [index[q] for q in ins.qubits]
        if ins.condition is not None:
            with small.if_test(ins.condition.register, ins.condition.value):
                _copy(small, ins, qs)
        else:
            _copy(small, ins, qs)
    return small, [index[p] for p in result.final_layout]


def _copy(small, ins, qs):
    if ins.name == "barrier":
        small.barrier(qs)
    elif ins.name == "measure":
        small.measure(qs[0], ins.clbits[0])
    elif ins.name == "reset":
        small.reset(qs[0])
    else:
        small.gate(ins.name, qs, ins.params)


def _assert_equivalent(circuit, result):
    small, final = _compress(result)
    want = kizuna.statevector(circuit)
    got = _to_virtual(kizuna.statevector(small), final)
    assert abs(np.vdot(want, got)) == pytest.approx(1.0, abs=1e-9)
    assert _equal_up_to_phase(got, want, atol=1e-8)


def _random_circuit(seed, n, num_gates, *, names=None, unitary_prob=0.1, barrier_prob=0.05):
    """Gates drawn from the whole table (those that fit), 1-2 qubit Haar unitaries, barriers."""
    rng = np.random.default_rng(seed)
    names = [g for g in (names or GATES) if GATES[g].num_qubits <= n]
    c = Circuit(n)
    for q in range(n):  # a generic product state first, so every gate acts on something
        c.u(*rng.uniform(-math.pi, math.pi, 3), q)
    for _ in range(num_gates):
        r = rng.random()
        if r < unitary_prob:
            k = int(rng.integers(1, min(2, n) + 1))
            c.unitary(unitary_group.rvs(1 << k, random_state=rng) if k > 1 else _haar2(rng),
                      [int(q) for q in rng.permutation(n)[:k]])
        elif r < unitary_prob + barrier_prob:
            c.barrier(sorted(int(q) for q in rng.permutation(n)[: int(rng.integers(1, n + 1))]))
        else:
            name = names[int(rng.integers(len(names)))]
            spec = GATES[name]
            c.gate(name, [int(q) for q in rng.permutation(n)[: spec.num_qubits]],
                   [float(x) for x in rng.uniform(-2 * math.pi, 2 * math.pi, spec.num_params)])
    return c


def _haar2(rng):
    z = (rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))) / math.sqrt(2)
    q, r = np.linalg.qr(z)
    return q * (np.diag(r) / np.abs(np.diag(r)))


def _rebuild_two_qubit(ops, entangler):
    u = np.eye(4, dtype=complex)
    swap = gate_matrix("swap")
    for op in ops:
        if op[0] == "1q":
            u = (np.kron(np.eye(2), op[2]) if op[1] == 0 else np.kron(op[2], np.eye(2))) @ u
        else:
            e = entangler if (op[1], op[2]) == (0, 1) else swap @ entangler @ swap
            u = e @ u
    return u


# --- single-qubit synthesis -----------------------------------------------------------------------
angles = st.floats(-4 * math.pi, 4 * math.pi, allow_nan=False)


@settings(max_examples=80, deadline=None)
@given(angles, angles, angles, angles, st.sampled_from(syn.EULER_BASES))
def test_euler_sequence_reproduces_the_unitary(t, p, lam, phase, kind):
    u = np.exp(1j * phase) * gate_matrix("rz", [p]) @ gate_matrix("ry", [t]) @ gate_matrix("rz", [lam])
    zgate = "u3" if kind == "U3" else "rz"
    ops = syn.euler_ops(u, kind, zgate, has_x=True)
    m = np.eye(2)
    for name, params in ops:
        m = gate_matrix(name, params) @ m
    assert _equal_up_to_phase(m, u, atol=1e-9)
    names = [n for n, _ in ops]
    if kind == "ZSX":
        assert names.count("sx") <= 2 and names.count("rz") <= 3 and len(names) <= 5
    if kind == "U3":
        assert len(names) <= 1


@pytest.mark.parametrize("name", [g for g in GATES if GATES[g].num_qubits == 1])
def test_each_single_qubit_table_gate_in_zsx(name):
    rng = np.random.default_rng(len(name))
    for params in ([0.0] * GATES[name].num_params, list(rng.uniform(-7, 7, GATES[name].num_params))):
        u = gate_matrix(name, params)
        for kind, z in (("ZSX", "rz"), ("ZSX", "p"), ("ZYZ", "rz"), ("ZXZ", "u1"), ("U3", "u")):
            ops = syn.euler_ops(u, kind, z, has_x=False)
            m = np.eye(2)
            for n, ps in ops:
                m = gate_matrix(n, ps) @ m
            assert _equal_up_to_phase(m, u), (name, kind)
    assert syn.euler_ops(gate_matrix("x"), "ZSX", has_x=True) == [("x", ())]
    assert syn.euler_ops(gate_matrix("sx"), "ZSX") == [("sx", ())]
    assert syn.euler_ops(gate_matrix("id"), "ZSX") == []


# --- two-qubit synthesis --------------------------------------------------------------------------
TWO_QUBIT = [g for g in GATES if GATES[g].num_qubits == 2]


def _special_two_qubit_unitaries():
    rng = np.random.default_rng(5)
    out = {f"haar{i}": unitary_group.rvs(4, random_state=rng) for i in range(6)}
    out["local"] = np.kron(_haar2(rng), _haar2(rng))
    out["iswap"] = gate_matrix("rxx", [-math.pi / 2]) @ gate_matrix("ryy", [-math.pi / 2])
    out["cx_dressed"] = np.kron(_haar2(rng), _haar2(rng)) @ gate_matrix("cx") @ np.kron(_haar2(rng), _haar2(rng))
    out["sqrt_swap"] = np.asarray(
        gate_matrix("rxx", [-math.pi / 4]) @ gate_matrix("ryy", [-math.pi / 4]) @ gate_matrix("rzz", [-math.pi / 4])
    )
    for g in TWO_QUBIT:
        out[g] = gate_matrix(g, list(rng.uniform(-7, 7, GATES[g].num_params)))
    return out


SPECIAL = _special_two_qubit_unitaries()


@pytest.mark.parametrize("label", sorted(SPECIAL))
def test_kak_reconstructs_and_counts_cnots_as_qiskit(label):
    qiskit = pytest.importorskip("qiskit")
    from qiskit.circuit.library import CXGate
    from qiskit.synthesis import TwoQubitBasisDecomposer

    u = SPECIAL[label]
    d = syn.kak(u)
    assert math.pi / 4 + 1e-12 >= d.a >= d.b - 1e-12 and d.b + 1e-12 >= abs(d.c)
    left = np.kron(d.left[1], d.left[0])
    right = np.kron(d.right[1], d.right[0])
    rebuilt = np.exp(1j * d.phase) * left @ syn.canonical_gate(d.a, d.b, d.c) @ right
    np.testing.assert_allclose(rebuilt, u, atol=1e-10)
    # Qiskit's matrices are little-endian too, so the same array is the same gate
    expected = TwoQubitBasisDecomposer(CXGate()).num_basis_gates(u)
    assert d.num_cx == expected, (label, d.a, d.b, d.c)
    assert qiskit  # the peer was imported


@pytest.mark.parametrize("entangler", ["cx", "cz", "ecr", "cy", "ch"])
def test_two_qubit_synthesis_through_each_entangler(entangler):
    e = gate_matrix(entangler)
    for label, u in SPECIAL.items():
        d = syn.kak(u)
        ops = syn.two_qubit_ops(u, e, d)
        assert sum(op[0] == "2q" for op in ops) == d.num_cx
        assert _equal_up_to_phase(_rebuild_two_qubit(ops, e), u, atol=1e-9), (label, entangler)
    # CX through the entangler with the hand-picked native locals
    assert _equal_up_to_phase(_rebuild_two_qubit(syn.cx_ops(e), e), gate_matrix("cx"))


@settings(max_examples=60, deadline=None)
@given(st.floats(-2, 2), st.floats(-2, 2), st.floats(-2, 2), st.integers(0, 2**32 - 1))
def test_kak_of_dressed_canonical_gates(a, b, c, seed):
    rng = np.random.default_rng(seed)
    u = (np.kron(_haar2(rng), _haar2(rng)) @ syn.canonical_gate(a, b, c) @ np.kron(_haar2(rng), _haar2(rng)))
    d = syn.kak(u)
    ops = syn.two_qubit_ops(u, None, d)
    assert _equal_up_to_phase(_rebuild_two_qubit(ops, gate_matrix("cx")), u, atol=1e-8)
    if abs(math.remainder(c, math.pi / 2)) < 1e-13 or abs(math.remainder(b, math.pi / 2)) < 1e-13:
        assert d.num_cx <= 2  # one coordinate vanishes: two CNOTs suffice


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5])
def test_multi_controlled_phase_network(m):
    lam = 0.7391
    steps = syn.mcphase_ops(lam, list(range(m)))
    assert sum(s[0] == "cx" for s in steps) == (1 << m) - 2
    u = np.eye(1 << m, dtype=complex)
    for s in steps:
        g = gate_matrix("p", [s[2]]) if s[0] == "p" else gate_matrix("cx")
        u = embed(g, s[1:] if s[0] == "cx" else [s[1]], m) @ u
    want = np.eye(1 << m, dtype=complex)
    want[-1, -1] = np.exp(1j * lam)
    np.testing.assert_allclose(u, want, atol=1e-12)


# --- whole-circuit equivalence --------------------------------------------------------------------
SMALL_DEVICES = {
    "line5": Device.line(5),
    "ring5": Device.ring(5),
    "grid2x3": Device.grid(2, 3),
    "heavyhex14": Device.heavy_hex(2, 7),
    "line6_cz_u3": Device.line(6, basis_gates=("u3", "cz")),
    "ring4_zyz": Device.ring(4, basis_gates=("rz", "ry", "cx")),
    "line4_zxz_ecr": Device.line(4, basis_gates=("p", "rx", "ecr")),
}


@pytest.mark.parametrize("device_name", sorted(SMALL_DEVICES))
@pytest.mark.parametrize("seed", range(3))
def test_random_circuit_over_the_gate_table_is_equivalent(device_name, seed):
    device = SMALL_DEVICES[device_name]
    n = min(device.num_qubits, 4 + seed % 2)
    circuit = _random_circuit(100 * seed + len(device_name), n, 18)
    result = transpile(circuit, device, seed=seed)
    _assert_native(result, device)
    _assert_equivalent(circuit, result)
    assert result.two_qubit_count == sum(1 for i in result.circuit.instructions if len(i.qubits) == 2 and i.name != "barrier")


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_every_optimization_level_is_equivalent(level):
    device = Device.line(5)
    circuit = _random_circuit(77 + level, 5, 25)
    result = transpile(circuit, device, seed=level, optimization_level=level)
    assert result.optimization_level == level
    _assert_native(result, device)
    _assert_equivalent(circuit, result)


@pytest.mark.parametrize("basis", [("rz", "sx", "x", "cx"), ("rz", "sx", "x", "ecr"), ("u", "cz")])
def test_each_table_gate_alone_on_a_line(basis):
    device = Device.line(6, basis_gates=basis)
    rng = np.random.default_rng(9)
    for name, spec in GATES.items():
        c = Circuit(spec.num_qubits + 1)
        for q in range(c.num_qubits):
            c.u(*rng.uniform(-3, 3, 3), q)
        c.gate(name, [int(q) for q in rng.permutation(c.num_qubits)[: spec.num_qubits]],
               [float(x) for x in rng.uniform(-5, 5, spec.num_params)])
        result = transpile(c, device, seed=1)
        _assert_native(result, device)
        _assert_equivalent(c, result)


def test_unitary_level_equivalence_against_qiskit():
    qiskit_qasm2 = pytest.importorskip("qiskit.qasm2")
    from qiskit.quantum_info import Operator

    device = Device.ring(4, basis_gates=("rz", "sx", "x", "ecr"))
    circuit = _random_circuit(4242, 4, 20, unitary_prob=0.0, barrier_prob=0.0)
    result = transpile(circuit, device, seed=3)
    n = 4

    def perm(layout):  # |x_0 .. x_{n-1}> -> physical bits at layout[v]
        p = np.zeros((1 << n, 1 << n))
        for i in range(1 << n):
            p[sum(1 << layout[v] for v in range(n) if (i >> v) & 1), i] = 1
        return p

    def to_qiskit(c):
        return qiskit_qasm2.loads(kizuna.qasm2.dumps(c), custom_instructions=qiskit_qasm2.LEGACY_CUSTOM_INSTRUCTIONS)

    v = Operator(to_qiskit(result.circuit)).data
    u = Operator(to_qiskit(circuit)).data
    want = perm(result.final_layout) @ u @ perm(result.initial_layout).T
    assert _equal_up_to_phase(v, want, atol=1e-8)


@pytest.mark.parametrize("seed", range(3))
def test_heavy_hex_127_reduced_state_matches(seed):
    device = Device.heavy_hex_127()
    circuit = _random_circuit(500 + seed, 4, 16)
    result = transpile(circuit, device, seed=seed)
    assert result.circuit.num_qubits == 127
    _assert_native(result, device)
    small, final = _compress(result)
    assert small.num_qubits <= 16
    got = _to_virtual(kizuna.statevector(small), final)
    assert _equal_up_to_phase(got, kizuna.statevector(circuit), atol=1e-8)


def test_ghz_and_a_line_of_cnots_need_no_swaps_on_heavy_hex():
    ghz = Circuit(12).h(0)
    for q in range(11):
        ghz.cx(q, q + 1)
    result = transpile(ghz, Device.heavy_hex_127(), seed=5)
    assert result.num_swaps == 0 and result.two_qubit_count == 11
    assert result.count_ops()["ecr"] == 11
    assert result.initial_layout == result.final_layout


def test_qft_on_a_line_is_equivalent_and_merges_swaps():
    n = 6
    qft = Circuit(n)
    for q in range(n):
        qft.x(q) if q % 2 else qft.h(q)
    for j in reversed(range(n)):
        qft.h(j)
        for k in reversed(range(j)):
            qft.cp(math.pi / 2 ** (j - k), k, j)
    device = Device.line(n)
    result = transpile(qft, device, seed=2)
    _assert_equivalent(qft, result)
    plain = transpile(qft, device, seed=2, optimization_level=0)
    _assert_equivalent(qft, plain)
    # a SWAP next to a cp on the same pair merges with it: fewer CNOTs than cp-by-cp routing
    assert result.two_qubit_count < plain.two_qubit_count


def test_swaps_of_untouched_qubits_only_change_the_initial_layout():
    # virtual qubit 2 has run nothing when cx(0, 2) needs it next to 0: moving it there is a
    # relabelling of the initial layout, not a SWAP
    c = Circuit(3).ry(0.4, 0).cx(0, 2).h(2).cx(2, 1).ry(0.3, 0).cx(0, 1)
    result = transpile(c, Device.line(3), seed=1, optimization_level=0)
    assert result.num_swaps == 1 and result.initial_layout == (0, 2, 1)
    _assert_equivalent(c, result)
    c = Circuit(3).ry(0.4, 0).ry(0.1, 2).cx(0, 1).cx(1, 2)
    result = transpile(c, Device.line(5), seed=1, layout=[0, 4, 2], optimization_level=0)
    assert result.initial_layout[1] != 4  # moved onto an unused qubit for free
    _assert_equivalent(c, result)


def test_consolidation_cancels_and_merges_blocks():
    device = Device.line(3)
    assert transpile(Circuit(2).cx(0, 1).cx(0, 1), device, seed=1).two_qubit_count == 0
    assert transpile(Circuit(2).cp(0.3, 0, 1).cp(0.4, 1, 0), device, seed=1).two_qubit_count == 2
    assert transpile(Circuit(2).cx(0, 1).swap(0, 1), device, seed=1).two_qubit_count == 2
    assert transpile(Circuit(2).swap(0, 1), device, seed=1, optimization_level=0).two_qubit_count == 3


# --- CNOT networks, controlled gates, gates passing through CNOTs -----------------------------
_CNOT_WORDS = {"cx01": ("cx", (0, 1)), "cx10": ("cx", (1, 0)), "swap": ("swap", (0, 1))}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(sorted(_CNOT_WORDS)), max_size=7))
def test_cnot_network_rewrites_any_product_of_cnots_and_swaps_minimally(words):
    from qiskit.circuit.library import CXGate
    from qiskit.synthesis import TwoQubitBasisDecomposer

    u = np.eye(4, dtype=complex)
    for w in words:
        name, qs = _CNOT_WORDS[w]
        u = embed(gate_matrix(name), qs, 2) @ u
    net = syn.cnot_network(u)
    assert net is not None
    rebuilt = np.eye(4, dtype=complex)
    for ctl, tgt in net:
        rebuilt = embed(gate_matrix("cx"), (ctl, tgt), 2) @ rebuilt
    np.testing.assert_allclose(rebuilt, u, atol=1e-12)
    assert len(net) == TwoQubitBasisDecomposer(CXGate()).num_basis_gates(u)  # Qiskit's count


@pytest.mark.parametrize("label", ["cz", "x_on_0", "iswap", "haar0", "cp"])
def test_cnot_network_refuses_what_is_not_a_linear_permutation(label):
    u = {"cz": gate_matrix("cz"), "x_on_0": embed(gate_matrix("x"), [0], 2), "iswap": SPECIAL["iswap"],
         "haar0": SPECIAL["haar0"], "cp": gate_matrix("cp", [0.4])}[label]
    assert syn.cnot_network(u) is None


@pytest.mark.parametrize("network", [("cx", "cx10"), ("cx", "cx10", "cx")], ids=["crossed", "swap"])
@pytest.mark.parametrize("entangler", ["cx", "ecr"])
def test_blocks_of_crossed_cnots_or_a_swap_dressed_in_local_gates_keep_a_bare_middle(network, entangler):
    # (A1⊗A0) N (B1⊗B0) for N = CX(0→1)·CX(1→0) or SWAP: with CNOT as the entangler the
    # synthesis writes N's CNOTs back to back; through ECR it keeps the general template
    rng = np.random.default_rng(len(network) + len(entangler))
    n = np.eye(4, dtype=complex)
    for w in network:
        n = (gate_matrix("cx") if w == "cx" else embed(gate_matrix("cx"), (1, 0), 2)) @ n
    u = np.kron(_haar2(rng), _haar2(rng)) @ n @ np.kron(_haar2(rng), _haar2(rng))
    e = gate_matrix(entangler)
    ops = syn.two_qubit_ops(u, e)
    assert _equal_up_to_phase(_rebuild_two_qubit(ops, e), u, atol=1e-9)
    two = [i for i, op in enumerate(ops) if op[0] == "2q"]
    assert len(two) == len(network)
    if entangler == "cx":  # nothing but identities between the CNOTs
        between = [op[2] for op in ops[two[0]:two[-1]] if op[0] == "1q"]
        assert all(_equal_up_to_phase(m, np.eye(2)) for m in between)


CONTROLLED = ["cp", "crx", "cry", "crz", "cu", "cu3", "cu1", "csx", "cy"]


@pytest.mark.parametrize("name", CONTROLLED)
@pytest.mark.parametrize("flip", [False, True], ids=["ctl0", "ctl1"])
def test_controlled_ops_rebuilds_controlled_gates_with_a_bare_control(name, flip):
    rng = np.random.default_rng(len(name))
    g = gate_matrix(name, list(rng.uniform(-3, 3, GATES[name].num_params)))
    v0 = _haar2(rng)  # a gate on the target first: still a controlled block
    u = g @ embed(v0, [1], 2)
    if flip:
        swap = gate_matrix("swap")
        u = swap @ u @ swap
    steps = syn.controlled_ops(u)
    assert steps is not None
    ctl = 1 if flip else 0
    rebuilt = np.eye(4, dtype=complex)
    for step in steps:
        if step[0] == "1q":
            if step[1] == ctl:  # the control only ever gets a diagonal (phase) gate
                assert abs(step[2][0, 1]) < 1e-12 and abs(step[2][1, 0]) < 1e-12
            rebuilt = embed(step[2], [step[1]], 2) @ rebuilt
        else:
            assert step[1:] == (ctl, 1 - ctl)
            rebuilt = embed(gate_matrix("cx"), step[1:], 2) @ rebuilt
    assert sum(s[0] == "cx" for s in steps) == 2
    assert _equal_up_to_phase(rebuilt, u, atol=1e-9)


@pytest.mark.parametrize("label", ["swap", "rxx", "haar1", "iswap"])
def test_controlled_ops_refuses_gates_without_a_control(label):
    u = {"swap": gate_matrix("swap"), "rxx": gate_matrix("rxx", [0.7]), "haar1": SPECIAL["haar1"],
         "iswap": SPECIAL["iswap"]}[label]
    assert syn.controlled_ops(u) is None


def _operator_check(circuit, result):
    """Unitary equivalence, with Qiskit's matrices: ``V = P_final U P_initial^T`` (all qubits of
    the device are in the layout here)."""
    qiskit_qasm2 = pytest.importorskip("qiskit.qasm2")
    from qiskit.quantum_info import Operator

    n = circuit.num_qubits
    assert result.circuit.num_qubits == n

    def perm(layout):
        p = np.zeros((1 << n, 1 << n))
        for i in range(1 << n):
            p[sum(1 << layout[v] for v in range(n) if (i >> v) & 1), i] = 1
        return p

    def op(c):
        return Operator(qiskit_qasm2.loads(kizuna.qasm2.dumps(c), custom_instructions=qiskit_qasm2.LEGACY_CUSTOM_INSTRUCTIONS)).data

    want = perm(result.final_layout) @ op(circuit) @ perm(result.initial_layout).T
    assert _equal_up_to_phase(op(result.circuit), want, atol=1e-9)


@pytest.mark.parametrize("build, cnots", [
    (lambda c: c.cx(0, 1).swap(0, 1), 2),
    (lambda c: c.swap(0, 1).cx(0, 1), 2),
    (lambda c: c.cx(1, 0).swap(0, 1), 2),
    (lambda c: c.cx(0, 1).swap(0, 1).cx(0, 1), 1),
    (lambda c: c.swap(0, 1).swap(0, 1), 0),
], ids=["cx_swap", "swap_cx", "cx10_swap", "cx_swap_cx", "swap_swap"])
def test_swap_next_to_a_cnot_cancels_into_bare_cnots_and_keeps_the_unitary(build, cnots):
    device = Device.line(2, basis_gates=("rz", "sx", "x", "cx"))
    circuit = build(Circuit(2))
    result = transpile(circuit, device, seed=1, layout=[0, 1])
    assert result.count_ops() == ({"cx": cnots} if cnots else {})  # no single-qubit gates at all
    _operator_check(circuit, result)


def test_routing_swaps_become_three_bare_cnots():
    device = Device.line(3, basis_gates=("rz", "sx", "x", "cx"))
    circuit = Circuit(3).h(0).cx(0, 2).h(1).cx(1, 2)
    result = transpile(circuit, device, seed=1, layout=[0, 1, 2], optimization_level=0)
    assert result.num_swaps == 1 and result.count_ops()["cx"] == 5
    assert result.count_ops().get("sx", 0) == 2  # the two h only
    _operator_check(circuit, result)


def test_z_rotations_pass_cnot_controls_and_x_passes_targets():
    device = Device.line(2, basis_gates=("rz", "sx", "x", "cx"))
    c = Circuit(2).rz(0.3, 0).cx(0, 1).rz(0.2, 0)
    r = transpile(c, device, seed=1, layout=[0, 1])
    assert r.count_ops() == {"cx": 1, "rz": 1}
    _operator_check(c, r)
    c = Circuit(2).x(1).cx(0, 1).x(1).cx(1, 0)
    r = transpile(c, device, seed=1, layout=[0, 1])
    assert r.count_ops() == {"cx": 2}  # x·CX·x = CX on the target: the two x cancel
    _operator_check(c, r)
    c = Circuit(2).rz(0.3, 1).cx(0, 1).rz(0.2, 1)  # z on a target does not pass
    r = transpile(c, device, seed=1, layout=[0, 1])
    assert r.count_ops() == {"cx": 1, "rz": 2}
    _operator_check(c, r)


@pytest.mark.parametrize("basis", [("rz", "sx", "x", "cx"), ("rz", "sx", "x", "ecr")], ids=["cx", "ecr"])
def test_controlled_phases_keep_their_control_shallow(basis):
    # cp·cp on one pair, each a controlled phase: two CNOTs and only z rotations in CX basis
    device = Device.line(2, basis_gates=basis)
    c = Circuit(2).h(0).h(1).cp(0.7, 0, 1).crz(0.4, 1, 0)
    r = transpile(c, device, seed=1, layout=[0, 1])
    _operator_check(c, r)
    assert r.two_qubit_count == 2
    if basis[-1] == "cx":
        assert r.count_ops()["sx"] == 2 and r.depth <= 7  # the two h, nothing else non-diagonal


# --- chains on devices without a path through every qubit -------------------------------------
def _shuffled_chain(n, seed):
    perm = [int(q) for q in np.random.default_rng(seed).permutation(n)]
    c = Circuit(n).h(perm[0])
    for k in range(n - 1):
        c.cx(perm[k], perm[k + 1])
    return c


@pytest.mark.parametrize("seed", range(2))
def test_chain_over_every_qubit_of_a_small_heavy_hex_pays_one_cnot_per_detour(seed):
    # heavy_hex(2, 7): 14 qubits, longest simple path 13 (exhaustive search in
    # test_routing.py), so a 13-CNOT chain over all 14 needs at least one more CNOT
    device = Device.heavy_hex(2, 7, basis_gates=("rz", "sx", "x", "cx"))
    circuit = _shuffled_chain(14, seed)
    result = transpile(circuit, device, seed=seed)
    _assert_native(result, device)
    assert result.two_qubit_count == 14 and result.num_swaps == 1
    assert result.depth <= 17  # h as rz·sx·rz, then the 14 CNOTs one after another
    _assert_equivalent(circuit, result)


@pytest.mark.parametrize("device", [Device.grid(3, 4), Device.ring(12)], ids=["grid3x4", "ring12"])
def test_chain_with_a_path_through_every_qubit_needs_no_swap(device):
    circuit = _shuffled_chain(12, 4)
    result = transpile(circuit, device, seed=2)
    assert result.num_swaps == 0 and result.two_qubit_count == 11
    _assert_equivalent(circuit, result)


def _stim_tableau(circuit):
    """The Clifford tableau (Stim) of a circuit of h, x, sx, cx and rz(kπ/2) (= S^k up to
    phase)."""
    stim = pytest.importorskip("stim")
    out = stim.Circuit()
    for ins in circuit.instructions:
        q = list(ins.qubits)
        if ins.name == "rz":
            k = ins.params[0] / (math.pi / 2)
            assert abs(k - round(k)) < 1e-9, ins
            for _ in range(round(k) % 4):
                out.append("S", q)
        else:
            out.append({"h": "H", "x": "X", "sx": "SQRT_X", "cx": "CX"}[ins.name], q)
    out.append("I", [circuit.num_qubits - 1])
    return stim.Tableau.from_circuit(out)


def test_ghz_over_all_of_eagle_beats_qiskit_in_the_cx_basis():
    # Qiskit 2.x transpile(optimization_level=1) needs 159 CNOTs (126 + 25 SWAPs, most merged;
    # benchmarks/bench_transpile.py --basis cx); the snake with 18 one-step detours needs 144
    stim = pytest.importorskip("stim")
    device = Device.heavy_hex_127(basis_gates=("cx", "id", "rz", "sx", "x"))
    ghz = Circuit(127).h(0)
    for q in range(126):
        ghz.cx(q, q + 1)
    result = transpile(ghz, device, seed=1)
    _assert_native(result, device)
    assert result.two_qubit_count <= 144 and result.depth <= 150
    # exact equivalence: V = P_final U P_initial^-1 as Clifford tableaux
    tv, tu = _stim_tableau(result.circuit), _stim_tableau(ghz)
    init, final = result.initial_layout, result.final_layout
    for v in range(127):
        for out_v, out_u in ((tv.x_output(init[v]), tu.x_output(v)), (tv.z_output(init[v]), tu.z_output(v))):
            moved = stim.PauliString(127)
            for u in range(127):
                moved[final[u]] = out_u[u]
            assert out_v == out_u.sign * moved


# --- measurement, reset, barriers, conditions -------------------------------------------------
def _dynamic_circuit(seed):
    rng = np.random.default_rng(seed)
    c = Circuit(4)
    a, b = c.add_creg("a", 2), c.add_creg("b", 2)
    for q in range(4):
        c.u(*rng.uniform(-3, 3, 3), q)
    c.cx(0, 3).ccx(1, 3, 2)
    c.measure(3, a[0])
    c.barrier(0, 1, 3)
    with c.if_test("a", 1):
        c.cx(1, 2)
        c.ry(0.7, 0)
    c.reset(3).h(3).cz(3, 0)
    c.measure(0, b[1])
    with c.if_test(b, 2):
        c.x(3)
    c.cry(1.1, 2, 0).swap(1, 3)
    c.measure([0, 1, 2], [a[1], b[0], b[1]])
    return c


@pytest.mark.parametrize("device", [Device.line(4), Device.grid(2, 3, basis_gates=("rz", "sx", "x", "ecr"))],
                         ids=["line4", "grid2x3_ecr"])
@pytest.mark.parametrize("seed", [0, 1])
def test_measure_reset_and_conditions_keep_their_distribution(device, seed, exact_distribution):
    circuit = _dynamic_circuit(seed)
    result = transpile(circuit, device, seed=seed)
    _assert_native(result, device)
    out = result.circuit
    assert [r.name for r in out.cregs] == ["a", "b"]
    assert out.count_ops()["measure"] == circuit.count_ops()["measure"]
    assert out.count_ops()["reset"] == 1 and out.count_ops()["barrier"] == 1
    want = exact_distribution(circuit)
    got = exact_distribution(_compress(result)[0])
    for key in set(got) | set(want):
        assert got.get(key, 0.0) == pytest.approx(want.get(key, 0.0), abs=1e-9), key
    conditioned = [i for i in out.instructions if i.condition is not None]
    assert {str(i.condition) for i in conditioned} == {"if(a==1)", "if(b==2)"}


def test_barrier_survives_on_the_qubits_it_spans():
    c = Circuit(3).h(0).barrier(0, 2).cx(0, 2).barrier().x(1)
    result = transpile(c, Device.line(3), seed=1, layout=[0, 1, 2])
    barriers = [i for i in result.circuit.instructions if i.name == "barrier"]
    assert len(barriers) == 2
    assert set(barriers[0].qubits) == {0, 2}  # placed before routing moved anything
    assert len(barriers[1].qubits) == 3


def test_composite_gates_expand_and_top_level_barriers_stay_in_place():
    theta = Parameter("theta")
    inner = Circuit(2, name="inner").h(0).barrier().crz(theta, 0, 1).to_gate(params=[theta])
    outer = Circuit(3, name="outer").append(inner, [2, 0], [theta * 2]).ccx(0, 1, 2)
    outer_gate = outer.to_gate(params=[theta])
    c = Circuit(4).ry(0.3, 1).append(outer_gate, [3, 1, 0], [0.4]).barrier(0, 3).append(inner, [1, 2], [1.1])
    result = transpile(c, Device.grid(2, 2), seed=2)
    _assert_native(result, Device.grid(2, 2))
    _assert_equivalent(c, result)
    names = [i.name for i in result.circuit.instructions]
    assert names.count("barrier") == 1  # the top-level one; barriers inside gates are dropped
    before = names[: names.index("barrier")]
    assert before.count("cx") >= 6  # the Toffoli inside outer ran before the barrier


def test_same_seed_same_circuit_and_seed_is_recorded():
    circuit = _random_circuit(8, 5, 30)
    device = Device.grid(2, 3)
    a, b = transpile(circuit, device, seed=123), transpile(circuit, device, seed=123)
    assert a.circuit == b.circuit and a.initial_layout == b.initial_layout and a.seed == 123
    fresh = transpile(circuit, device)
    assert isinstance(fresh.seed, int)
    assert transpile(circuit, device, seed=fresh.seed).circuit == fresh.circuit


def test_given_layout_is_used_and_the_result_round_trips_through_json():
    circuit = _random_circuit(31, 3, 12)
    device = Device.line(5)
    result = transpile(circuit, device, seed=4, layout=[4, 2, 0])
    assert result.initial_layout == (4, 2, 0)
    _assert_equivalent(circuit, result)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    back = TranspileResult.from_dict(data)
    assert back == result
    assert data["two_qubit_count"] == result.two_qubit_count and data["depth"] == result.depth


def test_virtual_statevector_reads_the_final_layout_and_checks_ancillas():
    circuit = Circuit(2).ry(0.3, 0).x(1)
    result = transpile(circuit, Device.line(4), seed=1, layout=[3, 1])
    state = kizuna.statevector(result.circuit)
    np.testing.assert_allclose(np.abs(result.virtual_statevector(state)),
                               np.abs(kizuna.statevector(circuit)), atol=1e-12)
    excited = np.zeros(16, dtype=complex)
    excited[1] = 1  # physical qubit 0 (outside the layout) in |1>
    with pytest.raises(SimulationError, match="qubits outside the final layout are not"):
        result.virtual_statevector(excited)


# --- bad input --------------------------------------------------------------------------------
def test_circuit_larger_than_the_device_is_refused():
    with pytest.raises(DeviceError, match="circuit has 6 qubits but device 'line_5' has only 5"):
        transpile(Circuit(6), Device.line(5))


@pytest.mark.parametrize("basis, circuit, message", [
    (("rz", "sx", "x"), Circuit(2).cx(0, 1),
     "device 'd' cannot run 'cx' on qubits (0, 1): its basis (rz, sx, x) has no two-qubit gate"),
    (("rz", "sx", "rzz"), Circuit(2).cp(0.1, 0, 1), "cannot run 'cp' on qubits (0, 1)"),
    (("rz", "cx"), Circuit(2).h(0), "cannot run 'h' on qubits (0,): its basis (rz, cx) has no universal single-qubit"),
])
def test_a_gate_the_device_cannot_run_is_named(basis, circuit, message):
    device = Device("d", 2, basis, ((0, 1),))
    with pytest.raises(DeviceError) as info:
        transpile(circuit, device, seed=1)
    assert message in str(info.value)


def test_native_gates_pass_even_without_a_universal_set():
    device = Device("d", 2, ("x", "cx"), ((0, 1),))
    result = transpile(Circuit(2).cx(0, 1).cx(1, 0), device, seed=1, layout=[0, 1])
    assert result.count_ops() == {"cx": 2}


@pytest.mark.parametrize("kwargs, message", [
    ({"layout": [0, 0]}, "layout must give each of the circuit's 2 qubits a distinct physical qubit"),
    ({"layout": [0, 9]}, "in range(0, 3) of device 'line_3' (got [0, 9])"),
    ({"layout": [0]}, "(got [0])"),
    ({"optimization_level": 4}, "optimization_level must be 0, 1, 2 or 3 (got 4)"),
])
def test_bad_options_are_named(kwargs, message):
    with pytest.raises(DeviceError) as info:
        transpile(Circuit(2).cx(0, 1), Device.line(3), **kwargs)
    assert message in str(info.value)


def test_other_bad_input():
    c3 = Circuit(3).unitary(unitary_group.rvs(8, random_state=1), [0, 1, 2])
    with pytest.raises(DeviceError, match="cannot transpile a 3-qubit 'unitary' on qubits"):
        transpile(c3, Device.line(3))
    with pytest.raises(DeviceError, match="transpile expects a kizuna.Circuit"):
        transpile("h q[0];", Device.line(3))
    with pytest.raises(DeviceError, match="transpile expects a kizuna Device"):
        transpile(Circuit(1), "line")
    with pytest.raises(ParameterError):
        transpile(Circuit(1).rx(Parameter("theta"), 0), Device.line(1))
    split = Device("split", 4, ("rz", "sx", "cx"), ((0, 1), (2, 3)))
    with pytest.raises(DeviceError, match="largest connected part of device 'split' has 2 qubits"):
        transpile(Circuit(3).cx(0, 1).cx(1, 2).cx(0, 2), split, seed=1)
    with pytest.raises(DeviceError, match="which no path of device 'split' joins"):
        transpile(Circuit(2).cx(0, 1), split, layout=[0, 3])
    # independent halves fit on the two components
    ok = transpile(Circuit(4).cx(0, 1).cx(2, 3), split, seed=1)
    _assert_native(ok, split)
