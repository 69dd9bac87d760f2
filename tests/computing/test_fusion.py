"""Gate fusion (``kizuna.computing._fusion``) against the unfused state-vector engine.

Oracle: ``kizuna.statevector`` (one pass per gate, ``apply_matrix``) on the same circuit; the
fused ops are applied by a tiny test-local simulator built on ``apply_matrix`` alone (dense
and perm ops as their matrices, diag ops as ``np.diag``; perm ops also through their index
map). Amplitudes agree to 1e-12, global phase included.

Circuits with measurement, reset and conditions are compared branch by branch: a test-local
branch simulator projects (without renormalising) onto a fixed sequence of outcomes, in the
original list and in the fused list, and the unnormalised branch states must agree.

Hypothesis settings are ``derandomize=True``, ``deadline=None``, no example database.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import unitary_group

import kizuna
from kizuna import Circuit, Parameter
from kizuna.computing._fusion import DIAGONAL_GATES, PERMUTATION_GATES, FusedOp, fuse
from kizuna.computing.circuit import flatten
from kizuna.core._kernels.statevector import apply_matrix, zero_state
from kizuna.core.gates import GATES
from kizuna.errors import BackendError, CircuitError

ATOL = 1e-12


def props(max_examples: int):
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


# --- test-local circuits ---------------------------------------------------------------------
def _angles(rng, name):
    special = (0.0, math.pi, -math.pi / 2, math.pi / 4)
    return [float(special[rng.integers(4)]) if rng.random() < 0.2 else float(rng.uniform(-7, 7))
            for _ in range(GATES[name].num_params)]


def _random_unitary(rng, k, diagonal=False):
    if diagonal:
        return np.diag(np.exp(1j * rng.uniform(-math.pi, math.pi, 1 << k)))
    return unitary_group.rvs(1 << k, random_state=rng)


def _composite(rng):
    """A 3-qubit composite gate with a formal parameter, nesting a 2-qubit one."""
    a, b = Parameter("a"), Parameter("b")
    inner = Circuit(2, name="inner").ry(a, 0).cx(0, 1).rz(a * 2, 1).to_gate(params=[a])
    body = Circuit(3, name="outer").h(0).append(inner, [0, 2], [b + 0.5]).cp(b, 2, 1).sx(1)
    return body.to_gate(params=[b])


def random_circuit(seed, n, num_gates, *, max_width=5, unitary_prob=0.1, composite_prob=0.05,
                   measure_prob=0.0, reset_prob=0.0, condition_prob=0.0):
    """A seeded circuit over the whole gate table (gates up to ``max_width`` qubits), Haar and
    diagonal ``unitary`` blocks, a composite gate, and optionally measure/reset/conditions."""
    rng = np.random.default_rng(seed)
    names = [g for g in GATES if GATES[g].num_qubits <= min(n, max_width)]
    nc = 2 if (measure_prob or condition_prob) else 0
    c = Circuit(n, nc)
    comp = _composite(rng) if n >= 3 and max_width >= 3 else None
    for _ in range(num_gates):
        r = rng.random()
        if r < measure_prob:
            c.measure(int(rng.integers(n)), int(rng.integers(nc)))
            continue
        r -= measure_prob
        if r < reset_prob:
            c.reset(int(rng.integers(n)))
            continue
        r -= reset_prob
        conditioned = rng.random() < condition_prob
        ctx = c.if_test("c", int(rng.integers(4))) if conditioned else None
        if ctx is not None:
            ctx.__enter__()
        try:
            if r < unitary_prob:
                k = int(rng.integers(1, min(3, n, max_width) + 1))
                qs = [int(q) for q in rng.permutation(n)[:k]]
                c.unitary(_random_unitary(rng, k, diagonal=rng.random() < 0.3), qs)
            elif comp is not None and r < unitary_prob + composite_prob:
                qs = [int(q) for q in rng.permutation(n)[:3]]
                c.append(comp, qs, [float(rng.uniform(-3, 3))])
            else:
                name = names[int(rng.integers(len(names)))]
                qs = [int(q) for q in rng.permutation(n)[: GATES[name].num_qubits]]
                c.gate(name, qs, _angles(rng, name))
        finally:
            if ctx is not None:
                ctx.__exit__(None, None, None)
    return c


def brickwork(n, layers, seed=0):
    """u3 on every qubit, then a CNOT brickwork layer (even pairs, then odd pairs)."""
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for layer in range(layers):
        for q in range(n):
            c.u3(*rng.uniform(-math.pi, math.pi, 3), q)
        for q in range(layer % 2, n - 1, 2):
            c.cx(q, q + 1)
    return c


def qft(n):
    c = Circuit(n)
    for j in reversed(range(n)):
        c.h(j)
        for k in reversed(range(j)):
            c.cp(math.pi / 2 ** (j - k), k, j)
    for i in range(n // 2):
        c.swap(i, n - 1 - i)
    return c


# --- test-local simulators -------------------------------------------------------------------
def apply_op(state, op: FusedOp):
    if op.kind == "diag":
        return apply_matrix(state, np.diag(op.diag), op.qubits)
    if op.kind == "perm":
        # Through the index map, independently of the matrix.
        n = state.size.bit_length() - 1
        k = len(op.qubits)
        perm = op.permutation
        idx = np.arange(state.size)
        local = np.zeros_like(idx)
        for j, q in enumerate(op.qubits):
            local |= ((idx >> q) & 1) << j
        target = idx.copy()
        new_local = perm[local]
        for j, q in enumerate(op.qubits):
            target &= ~(1 << q)
            target |= ((new_local >> j) & 1) << q
        out = np.empty_like(state)
        out[target] = state
        assert k <= n
        return out
    assert op.kind == "dense"
    return apply_matrix(state, op.matrix, op.qubits)


def fused_state(ops, n):
    state = zero_state(n)
    for op in ops:
        assert op.kind != "passthrough"
        state = apply_op(state, op)
    return state


def _project(state, q, outcome):
    v = state.reshape(-1, 2, 1 << q).copy()
    v[:, 1 - outcome, :] = 0
    return v.reshape(-1)


def _holds(ins, clbits):
    c = ins.condition
    return c is None or sum(((clbits >> b) & 1) << i for i, b in enumerate(c.clbits)) == c.value


def _nonunitary(ins, state, clbits, outcomes):
    """Apply a measure/reset/conditioned instruction on a fixed outcome branch."""
    if not _holds(ins, clbits):
        return state, clbits
    if ins.name in ("measure", "reset"):
        o = outcomes.pop(0)
        q = ins.qubits[0]
        state = _project(state, q, o)
        if ins.name == "measure":
            clbits = clbits | (1 << ins.clbits[0]) if o else clbits & ~(1 << ins.clbits[0])
        elif o:
            state = apply_matrix(state, GATES["x"].matrix(), (q,))
        return state, clbits
    m = ins.matrix if ins.name == "unitary" else GATES[ins.name].matrix(*ins.params)
    return apply_matrix(state, m, ins.qubits), clbits


def branch_unfused(flat, n, outcomes):
    state, clbits, outcomes = zero_state(n), 0, list(outcomes)
    for ins in flat:
        if ins.condition is None and ins.name not in ("measure", "reset"):
            m = ins.matrix if ins.name == "unitary" else GATES[ins.name].matrix(*ins.params)
            state = apply_matrix(state, m, ins.qubits)
        else:
            state, clbits = _nonunitary(ins, state, clbits, outcomes)
    return state, clbits


def branch_fused(ops, n, outcomes):
    state, clbits, outcomes = zero_state(n), 0, list(outcomes)
    for op in ops:
        if op.kind == "passthrough":
            state, clbits = _nonunitary(op.instruction, state, clbits, outcomes)
        else:
            state = apply_op(state, op)
    return state, clbits


# --- fused state == unfused state ------------------------------------------------------------
RANDOM_CASES = [(seed, 1 + seed % 10, 1 + seed % 5) for seed in range(300)]


@pytest.mark.parametrize("seed,n,max_qubits", RANDOM_CASES)
def test_fused_state_matches_unfused_statevector(seed, n, max_qubits):
    c = random_circuit(seed, n, 6 * n + 10)
    ops = fuse(flatten(c), n, max_qubits)
    np.testing.assert_allclose(fused_state(ops, n), kizuna.statevector(c), rtol=0, atol=ATOL)


@pytest.mark.parametrize("max_qubits", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("n", [6, 9])
def test_fused_brickwork_and_qft_match_unfused(n, max_qubits):
    for c in (brickwork(n, 12, seed=n), qft(n)):
        ops = fuse(flatten(c), n, max_qubits)
        np.testing.assert_allclose(fused_state(ops, n), kizuna.statevector(c), rtol=0, atol=ATOL)


def test_custom_cost_model_still_exact_and_changes_blocking():
    n = 10
    c = brickwork(n, 20, seed=3)
    flat = flatten(c)
    default = fuse(flat, n, max_qubits=5)
    cheap5 = fuse(flat, n, max_qubits=5, cost={5: 1.5})
    assert max(op.num_qubits for op in default) <= 4  # a 5-qubit pass costs 3.0 by default
    assert max(op.num_qubits for op in cheap5) == 5
    assert len(cheap5) < len(default)
    for ops in (default, cheap5, fuse(flat, n, 3, cost={1: 0.5, 2: 2.0, "perm": 0.1})):
        np.testing.assert_allclose(fused_state(ops, n), kizuna.statevector(c), rtol=0, atol=ATOL)


# --- measurement, reset and conditions ---------------------------------------------------------
@pytest.mark.parametrize("seed", range(80))
def test_branches_and_passthrough_order_survive_fusion(seed):
    n = 2 + seed % 5
    c = random_circuit(seed, n, 8 * n, max_width=4, measure_prob=0.08, reset_prob=0.05,
                       condition_prob=0.15)
    flat = flatten(c)
    ops = fuse(flat, n, 1 + seed % 4)
    barriers = [ins for ins in flat
                if ins.name in ("measure", "reset") or ins.condition is not None]
    passed = [op.instruction for op in ops if op.kind == "passthrough"]
    assert len(passed) == len(barriers)
    assert all(a is b for a, b in zip(passed, barriers))
    num_outcomes = sum(ins.name in ("measure", "reset") for ins in flat)
    rng = np.random.default_rng(seed)
    for _ in range(4):
        outcomes = [int(o) for o in rng.integers(0, 2, num_outcomes)]
        want, want_bits = branch_unfused(flat, n, outcomes)
        got, got_bits = branch_fused(ops, n, outcomes)
        assert got_bits == want_bits
        np.testing.assert_allclose(got, want, rtol=0, atol=ATOL)


def test_barrier_qubits_close_blocks_while_others_stay_open():
    c = Circuit(3, 1).h(0).h(1).cx(0, 1).h(2).measure(0, 0).cx(1, 2)
    with c.if_test("c", 1):
        c.x(2)
    c.h(1).reset(0).h(0)
    ops = fuse(flatten(c), 3)
    summary = [(op.kind, op.qubits) for op in ops]
    # h0 h1 cx01 close at the measurement of qubit 0; h2 and the later cx12 fuse across it;
    # the conditioned x(2) closes that block; h1 and h0 open fresh blocks, emitted at the end
    # (blocks still open at the end are disjoint; they come out by lowest qubit).
    assert summary == [
        ("dense", (0, 1)),
        ("passthrough", (0,)),
        ("dense", (1, 2)),
        ("passthrough", (2,)),
        ("passthrough", (0,)),
        ("dense", (0,)),
        ("dense", (1,)),
    ]


def test_terminal_measurements_pass_through_after_the_gates():
    c = brickwork(4, 3).measure_all()
    ops = fuse(flatten(c), 4)
    kinds = [op.kind for op in ops]
    assert kinds[-4:] == ["passthrough"] * 4
    assert "passthrough" not in kinds[:-4]


# --- kinds ---------------------------------------------------------------------------------------
def test_lone_permutation_gates_become_perm_ops_with_their_instruction():
    for name in sorted(PERMUTATION_GATES):
        k = GATES[name].num_qubits
        qs = list(range(k))[::-1]
        c = Circuit(5).gate(name, qs)
        (op,) = fuse(flatten(c), 5, max_qubits=5)
        assert op.kind == "perm" and op.instruction.name == name
        assert op.qubits == tuple(qs)
        np.testing.assert_array_equal(op.matrix, GATES[name].matrix())
        assert sorted(op.permutation.tolist()) == list(range(1 << k))


def test_diagonal_gates_and_diagonal_products_become_diag_ops():
    for name in sorted(DIAGONAL_GATES - {"id", "u0"}):
        k = GATES[name].num_qubits
        params = [0.3] * GATES[name].num_params
        (op,) = fuse(flatten(Circuit(2).gate(name, list(range(k)), params)), 2)
        assert op.kind == "diag" and op.matrix is None
        np.testing.assert_allclose(op.diag, np.diagonal(GATES[name].matrix(*params)), atol=0)
    c = Circuit(3).t(0).cz(0, 1).rz(0.4, 1).rzz(0.2, 1, 2).unitary(np.diag([1, 1j]), [2])
    (op,) = fuse(flatten(c), 3)
    assert op.kind == "diag" and op.qubits == (0, 1, 2)
    # a non-diagonal product that comes out exactly diagonal
    (op,) = fuse(flatten(Circuit(2).cx(0, 1).cx(0, 1)), 2)
    assert op.kind == "diag"
    np.testing.assert_array_equal(op.diag, np.ones(4))


def test_identity_gates_are_dropped_and_dense_blocks_are_sorted():
    c = Circuit(3).id(0).gate("u0", [1], [2.0]).h(2).cx(2, 0)
    (op,) = fuse(flatten(c), 3)
    assert op.kind == "dense" and op.qubits == (0, 2)
    assert op.matrix.dtype == np.complex128
    assert fuse(flatten(Circuit(2).id(0).id(1)), 2) == []


def test_a_gate_wider_than_max_qubits_is_emitted_alone():
    wide = unitary_group.rvs(8, random_state=1)
    c = Circuit(5).h(0).c4x(0, 1, 2, 3, 4).h(4).unitary(wide, [3, 1, 0])
    ops = fuse(flatten(c), 5, max_qubits=2)
    assert [(op.kind, op.qubits) for op in ops][:3] == [
        ("dense", (0,)), ("perm", (0, 1, 2, 3, 4)), ("dense", (3, 1, 0))]
    np.testing.assert_allclose(fused_state(ops, 5), kizuna.statevector(c), rtol=0, atol=ATOL)


# --- hypothesis properties -------------------------------------------------------------------
@props(100)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8), num_gates=st.integers(0, 60),
       max_qubits=st.integers(1, 5))
def test_every_op_is_small_unitary_and_well_formed(seed, n, num_gates, max_qubits):
    c = random_circuit(seed, n, num_gates, max_width=max_qubits, measure_prob=0.05,
                       condition_prob=0.05)
    flat = flatten(c)
    ops = fuse(flat, n, max_qubits)
    gates = [ins for ins in flat if ins.condition is None and ins.name not in ("measure", "reset")]
    assert sum(op.kind != "passthrough" for op in ops) <= len(gates)
    for op in ops:
        assert len(set(op.qubits)) == len(op.qubits) and all(0 <= q < n for q in op.qubits)
        if op.kind == "passthrough":
            assert op.matrix is None and op.diag is None
            continue
        assert 1 <= op.num_qubits <= max_qubits
        dim = 1 << op.num_qubits
        if op.kind == "diag":
            assert op.diag.dtype == np.complex128 and op.diag.shape == (dim,)
            np.testing.assert_allclose(np.abs(op.diag), 1, atol=ATOL)
            continue
        m = op.matrix
        assert m.dtype == np.complex128 and m.shape == (dim, dim)
        np.testing.assert_allclose(m @ m.conj().T, np.eye(dim), atol=ATOL)
        if op.kind == "perm":
            assert set(np.unique(m).tolist()) <= {0, 1}


@props(80)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 7), num_gates=st.integers(1, 50),
       max_qubits=st.integers(1, 5))
def test_fusion_preserves_the_state_property(seed, n, num_gates, max_qubits):
    c = random_circuit(seed, n, num_gates)
    ops = fuse(flatten(c), n, max_qubits)
    np.testing.assert_allclose(fused_state(ops, n), kizuna.statevector(c), rtol=0, atol=ATOL)


# --- pass counts and speed -------------------------------------------------------------------
def test_random_20_qubit_brickwork_needs_several_times_fewer_passes():
    n = 20
    flat = flatten(brickwork(n, 20, seed=0))
    ops = fuse(flat, n, max_qubits=4)
    # 20 layers x (20 u3 + 9 or 10 cx) = 590 gates -> 81 passes (3- and 4-qubit blocks).
    assert len(flat) == 590
    assert len(ops) * 5 <= len(flat), (len(flat), len(ops))
    assert all(op.num_qubits <= 4 for op in ops)


def test_qft_20_qubits_fuses_its_phase_ladders():
    flat = flatten(qft(20))
    ops = fuse(flat, 20, max_qubits=4)
    assert len(flat) == 220
    assert len(ops) * 2 <= len(flat)
    assert sum(op.kind == "diag" for op in ops) >= len(ops) // 2


# --- arguments -------------------------------------------------------------------------------
@pytest.mark.parametrize("max_qubits", [0, 6, 2.0, True])
def test_bad_max_qubits_is_refused(max_qubits):
    with pytest.raises(BackendError, match="max_qubits"):
        fuse([], 1, max_qubits)


@pytest.mark.parametrize(
    "cost", [{6: 1.0}, {"dense": 1.0}, {2: 0}, {3: -1}, {4: float("nan")}, [1, 2]]
)
def test_bad_cost_is_refused(cost):
    with pytest.raises(BackendError, match="cost"):
        fuse([], 1, cost=cost)


def test_unflattened_or_out_of_range_instructions_are_refused():
    comp = Circuit(1, name="g").h(0).to_gate()
    c = Circuit(2).append(comp, [1])
    with pytest.raises(CircuitError, match="flatten"):
        fuse(list(c.instructions), 2)
    with pytest.raises(CircuitError, match="outside range"):
        fuse(flatten(Circuit(3).cx(0, 2)), 2)


def test_fused_op_validates_its_fields():
    with pytest.raises(ValueError, match="kind"):
        FusedOp("sparse", (0,))
    with pytest.raises(ValueError, match="matrix"):
        FusedOp("dense", (0, 1), matrix=np.eye(2))
    with pytest.raises(ValueError, match="diagonal"):
        FusedOp("diag", (0,), diag=np.ones(4))
    with pytest.raises(ValueError, match="instruction"):
        FusedOp("passthrough", (0,))
