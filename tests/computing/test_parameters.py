"""Symbolic parameters and expressions.

References: OpenQASM 2 expression syntax and precedence (Cross et al., arXiv:1707.03429,
§3: ``^`` binds tighter than unary minus, right-associative; functions sin cos tan exp ln
sqrt); Qiskit's ``ParameterExpression`` as a numeric peer for bound values.
"""

from __future__ import annotations

import math
import pickle

import pytest
from qiskit.circuit import Parameter as QParameter

from kizuna import Circuit, Parameter, ParameterExpression
from kizuna.computing import parameters as kp
from kizuna.errors import ParameterError

theta = Parameter("theta")
phi = Parameter("phi")


def test_parameters_with_the_same_name_are_the_same_parameter():
    assert Parameter("theta") == theta
    assert hash(Parameter("theta")) == hash(theta)
    assert len({Parameter("a"), Parameter("a"), Parameter("b")}) == 2
    assert theta != phi


def test_parameter_is_not_equal_to_an_expression_or_number():
    assert theta != theta + 0
    assert (theta + 0) != theta
    assert theta != 1.0


@pytest.mark.parametrize("bad", ["", "1x", "a-b", "a b", 3, None])
def test_parameter_name_must_be_an_identifier(bad):
    with pytest.raises(ParameterError, match="identifier"):
        Parameter(bad)


def test_parameter_survives_pickling():
    assert pickle.loads(pickle.dumps(theta)) == theta
    e = kp.sin(theta) * 2 + phi
    back = pickle.loads(pickle.dumps(e))
    assert back == e and back.bind({"theta": 0.3, "phi": 1.0}) == e.bind({"theta": 0.3, "phi": 1.0})


@pytest.mark.parametrize("expr, text", [
    (2 * theta + 1, "2.0*theta + 1.0"),
    (theta - (phi - 1), "theta - (phi - 1.0)"),
    ((theta - phi) - 1, "theta - phi - 1.0"),
    (theta / (phi * 2), "theta/(phi*2.0)"),
    (theta ** phi ** 2, "theta^phi^2.0"),
    ((theta ** phi) ** 2, "(theta^phi)^2.0"),
    (-(theta ** 2), "-theta^2.0"),
    ((-theta) ** 2, "(-theta)^2.0"),
    (-(theta + phi), "-(theta + phi)"),
    (kp.sin(theta) * kp.cos(phi), "sin(theta)*cos(phi)"),
    (kp.sqrt(theta + math.pi), "sqrt(theta + pi)"),
    (theta * -2, "theta*(-2.0)"),
    (kp.ln(kp.exp(theta)), "ln(exp(theta))"),
])
def test_str_prints_openqasm2_syntax_with_minimal_brackets(expr, text):
    assert str(expr) == text


@pytest.mark.parametrize("expr, expected", [
    (2 * theta + 1, 2 * 0.3 + 1),
    (theta ** phi ** 2, 0.3 ** (1.7 ** 2)),
    (-(theta ** 2), -(0.3 ** 2)),
    (kp.sin(theta) * kp.cos(phi) - kp.tan(phi), math.sin(0.3) * math.cos(1.7) - math.tan(1.7)),
    (kp.sqrt(theta) + kp.exp(phi) / kp.ln(phi), math.sqrt(0.3) + math.exp(1.7) / math.log(1.7)),
    (kp.asin(theta) + kp.acos(theta) + kp.atan(phi), math.asin(0.3) + math.acos(0.3) + math.atan(1.7)),
    (1 / theta - phi, 1 / 0.3 - 1.7),
])
def test_bind_evaluates_like_python_math(expr, expected):
    assert expr.bind({"theta": 0.3, phi: 1.7}) == pytest.approx(expected, rel=1e-14)


def test_bound_values_agree_with_qiskit_parameter_expressions():
    qt, qp = QParameter("theta"), QParameter("phi")
    ours = kp.sin(theta * phi) + kp.cos(phi) ** 2 - kp.exp(theta / 3) + kp.sqrt(phi ** 2 + 1)
    theirs = (qt * qp).sin() + qp.cos() ** 2 - (qt / 3).exp() + (qp ** 2 + 1) ** 0.5
    for t, p in ((0.1, 0.2), (-1.3, 2.5), (3.0, -0.7)):
        assert ours.bind({"theta": t, "phi": p}) == pytest.approx(
            float(theirs.assign(qt, t).assign(qp, p)), rel=1e-13)


def test_partial_bind_keeps_an_expression_with_the_remaining_parameter():
    e = theta * phi + 1
    half = e.bind({"theta": 2.0})
    assert isinstance(half, ParameterExpression)
    assert half.parameters == frozenset({phi})
    assert half.bind({"phi": 3.0}) == 7.0


def test_bind_may_substitute_an_expression():
    e = (theta + 1).bind({theta: 2 * phi})
    assert e.parameters == frozenset({phi})
    assert e.bind({phi: 0.5}) == 2.0


def test_strict_bind_names_the_missing_parameter():
    with pytest.raises(ParameterError, match="'phi'"):
        (theta + phi).bind({"theta": 1.0}, strict=True)


def test_float_of_an_unbound_expression_names_its_parameters():
    with pytest.raises(ParameterError, match="phi, theta"):
        float(theta * phi)


@pytest.mark.parametrize("expr, values", [
    (kp.ln(theta), {"theta": 0.0}),
    (1 / theta, {"theta": 0.0}),
    (kp.sqrt(theta), {"theta": -1.0}),
    (theta ** 0.5, {"theta": -1.0}),  # would be complex in Python
    (kp.asin(theta), {"theta": 2.0}),
])
def test_evaluating_outside_the_domain_raises_parameter_error_showing_the_expression(expr, values):
    with pytest.raises(ParameterError, match="cannot evaluate|not a real number"):
        expr.bind(values)


def test_numbers_fold_to_floats_immediately():
    assert kp.sin(0.0) == 0.0 and isinstance(kp.cos(0), float)
    assert kp.sqrt(4) == 2.0


def test_bind_value_must_be_a_real_number():
    with pytest.raises(ParameterError, match="'theta' must be a real number"):
        theta.bind({"theta": "abc"})


def test_combining_with_a_non_number_is_a_type_error():
    with pytest.raises(TypeError, match="cannot combine"):
        theta + "x"
    with pytest.raises(TypeError, match="cannot combine"):
        theta * True


def test_expressions_are_hashable_and_compare_structurally():
    assert (theta + 1) == (theta + 1)
    assert hash(theta + 1) == hash(theta + 1)
    assert (theta + 1) != (1 + theta)  # structural, not algebraic
    assert {theta + 1: "a"}[theta + 1] == "a"


def test_circuit_parameters_are_collected_sorted_by_name():
    c = Circuit(2).rx(theta, 0).cp(kp.cos(phi) + theta, 0, 1).rz(Parameter("alpha") * 2, 1)
    assert [p.name for p in c.parameters] == ["alpha", "phi", "theta"]
