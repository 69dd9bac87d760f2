"""Hypothesis properties: norm, inverse, unitarity, counts, expression printing.

Settings are ``derandomize=True`` with a fixed example budget, so CI sees the same examples on
every run. The circuits come from ``conftest.random_circuit_pair`` (the whole gate table plus
Haar-random ``unitary`` blocks).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import kizuna
from kizuna import Circuit, Parameter
from kizuna.computing import parameters as kp
from kizuna.computing.backends._reference import reference_unitary
from kizuna.core._kernels import statevector as sv
from kizuna.core.gates import GATES, embed, gate_matrix
from kizuna.errors import ParameterError


def props(max_examples: int):
    """Fixed examples for CI: derandomized, no example database, no deadline."""
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


PROPS = props(60)

seeds = st.integers(min_value=0, max_value=2**32 - 1)


@PROPS
@given(seed=seeds, n=st.integers(1, 8), num_gates=st.integers(0, 40))
def test_statevector_norm_is_preserved(seed, n, num_gates, random_circuit_pair):
    kc, _ = random_circuit_pair(seed, n, num_gates)
    state = kizuna.statevector(kc)
    assert abs(np.linalg.norm(state) - 1) < 1e-12


@PROPS
@given(seed=seeds, n=st.integers(1, 7), num_gates=st.integers(1, 30))
def test_circuit_followed_by_its_inverse_returns_to_zero_state(seed, n, num_gates, random_circuit_pair):
    kc, _ = random_circuit_pair(seed, n, num_gates, barrier_prob=0.1)
    state = kizuna.statevector(kc.compose(kc.inverse()))
    expected = np.zeros(2**n)
    expected[0] = 1
    np.testing.assert_allclose(state, expected, atol=1e-10)


@props(25)
@given(seed=seeds, n=st.integers(1, 5), num_gates=st.integers(1, 25))
def test_circuit_times_inverse_is_the_identity_on_random_inputs(seed, n, num_gates, random_circuit_pair):
    kc, _ = random_circuit_pair(seed, n, num_gates)
    u = reference_unitary(kc.compose(kc.inverse()))
    rng = np.random.default_rng(seed)
    for _ in range(3):
        psi = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
        psi /= np.linalg.norm(psi)
        np.testing.assert_allclose(u @ psi, psi, atol=1e-10)
    np.testing.assert_allclose(u, np.eye(2**n), atol=1e-10)


@props(12)
@given(seed=st.integers(0, 10_000))
def test_composite_circuit_followed_by_its_inverse_is_the_identity(seed, composite_circuit_pair):
    kc, _, values = composite_circuit_pair(seed)
    both = kc.compose(kc.inverse()).assign_parameters(values)
    np.testing.assert_allclose(reference_unitary(both), np.eye(2**kc.num_qubits), atol=1e-10)


angles = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)


@st.composite
def gate_and_params(draw):
    name = draw(st.sampled_from(sorted(GATES)))
    params = draw(st.lists(angles, min_size=GATES[name].num_params, max_size=GATES[name].num_params))
    return name, params


@props(200)
@given(gp=gate_and_params())
def test_every_gate_matrix_is_unitary_and_its_inverse_rule_holds(gp):
    name, params = gp
    m = gate_matrix(name, params)
    np.testing.assert_allclose(m.conj().T @ m, np.eye(m.shape[0]), atol=1e-12)
    spec = GATES[name]
    if spec.inverse is not None:
        inv_name, inv_params = spec.inverse(*params)
        np.testing.assert_allclose(gate_matrix(inv_name, inv_params) @ m, np.eye(m.shape[0]), atol=1e-10)


@props(80)
@given(gp=gate_and_params(), extra=st.integers(0, 2), seed=seeds)
def test_state_kernel_agrees_with_embedded_matrix(gp, extra, seed):
    """The fast kernel ``apply_matrix`` against the slow ``embed`` on a random state."""
    name, params = gp
    k = GATES[name].num_qubits
    n = k + extra
    rng = np.random.default_rng(seed)
    qubits = [int(q) for q in rng.permutation(n)[:k]]
    psi = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    m = gate_matrix(name, params)
    np.testing.assert_allclose(sv.apply_matrix(psi, m, qubits), embed(m, qubits, n) @ psi, atol=1e-10)


@props(40)
@given(seed=seeds, n=st.integers(1, 5), shots=st.integers(1, 3000), dynamic=st.booleans())
def test_result_counts_sum_to_shots_and_memory_matches(seed, n, shots, dynamic, random_circuit_pair):
    kc, _ = random_circuit_pair(seed, n, 3 * n, measure_prob=0.2 if dynamic else 0.0)
    if not dynamic:
        kc.add_creg("c", n)
    kc.measure(range(n), range(n))
    if dynamic:
        kc.reset(0)
        with kc.if_test("c", 1):
            kc.x(0)
        kc.measure(0, 0)
    r = kizuna.run(kc, shots=shots, seed=seed, memory=True)
    assert sum(r.counts.values()) == shots
    assert all(v > 0 for v in r.counts.values())
    assert all(len(k) == n for k in r.counts)
    assert Counter(r.memory) == Counter(r.counts)


# --- expression printing ---------------------------------------------------------------------------
THETA, PHI = Parameter("theta"), Parameter("phi")
_UNARY = {"sin": kp.sin, "cos": kp.cos, "tan": kp.tan, "exp": kp.exp, "ln": kp.ln, "sqrt": kp.sqrt,
          "asin": kp.asin, "acos": kp.acos, "atan": kp.atan, "neg": lambda x: -x}
_BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
           "/": lambda a, b: a / b, "^": lambda a, b: a**b}

numbers_ = st.one_of(
    st.floats(min_value=-20, max_value=20, allow_nan=False, allow_infinity=False),
    st.sampled_from([math.pi, -math.pi, 0.0, -0.0, 0.5, 2.0, 1e-7, -3.0]),
)


class _Domain(Exception):
    """A number-only subtree that plain Python cannot evaluate to a real float."""


def _build(tree):
    """Build a hypothesis-drawn tree with Kizuna's operators (ParameterError on domain errors).

    Number-only subtrees are plain Python arithmetic (Kizuna is not involved); they raise
    ``_Domain`` where Python fails or leaves the reals.
    """
    if not isinstance(tree, tuple):
        return tree
    op, *args = tree
    vals = [_build(a) for a in args]
    fn = _UNARY[op] if op in _UNARY else _BINARY[op]
    if any(isinstance(v, kp.ParameterExpression) for v in vals):
        return fn(*vals)
    try:
        out = fn(*vals)
    except (ArithmeticError, ValueError, ParameterError) as exc:
        raise _Domain(str(exc)) from None
    if not isinstance(out, float) or not math.isfinite(out):
        raise _Domain(repr(out))
    return out


trees = st.recursive(
    st.one_of(st.just(THETA), st.just(PHI), numbers_),
    lambda sub: st.one_of(
        st.tuples(st.sampled_from(sorted(_UNARY)), sub),
        st.tuples(st.sampled_from(sorted(_BINARY)), sub, sub),
    ),
    max_leaves=8,
)

_EVAL_NAMES = {"sin": math.sin, "cos": math.cos, "tan": math.tan, "exp": math.exp, "ln": math.log,
               "sqrt": math.sqrt, "asin": math.asin, "acos": math.acos, "atan": math.atan, "pi": math.pi}


@props(200)
@given(tree=trees, t=st.floats(-5, 5), p=st.floats(-5, 5))
def test_str_of_an_expression_re_evaluates_to_the_same_value(tree, t, p):
    try:
        expr = _build(tree)
        value = expr.bind({"theta": t, "phi": p}) if isinstance(expr, kp.ParameterExpression) else expr
    except (ParameterError, _Domain):
        assume(False)  # outside the functions' domain (ln(0), sqrt(-1), overflow)
    assume(isinstance(expr, kp.ParameterExpression))
    text = str(expr)
    again = eval(text.replace("^", "**"), {"__builtins__": {}}, dict(_EVAL_NAMES, theta=t, phi=p))  # noqa: S307
    assert isinstance(again, float), f"{text!r} evaluated to {again!r}"
    assert again == value or math.isclose(again, value, rel_tol=1e-12, abs_tol=1e-300), text


@props(80)
@given(tree=trees)
def test_expressions_equal_themselves_rebuilt_and_hash_alike(tree):
    try:
        a, b = _build(tree), _build(tree)
    except (ParameterError, _Domain):
        assume(False)
    assert a == b and hash(a) == hash(b)


@props(40)
@given(n=st.integers(1, 6), index=st.integers(0, 63))
def test_basis_state_preparation_puts_qubit_k_on_weight_two_to_the_k(n, index):
    index %= 2**n
    c = Circuit(n)
    for q in range(n):
        if (index >> q) & 1:
            c.x(q)
    state = kizuna.statevector(c)
    assert int(np.argmax(np.abs(state))) == index
