"""Symbolic gate parameters: ``Parameter`` and arithmetic expressions of them.

A ``Parameter`` is a named symbol; two parameters with the same name are the same parameter
(names are the identity, so circuits written to a file and read back compare equal).
Expressions are immutable trees built with ``+ - * / **``, unary minus and the functions
``sin cos tan exp ln sqrt`` of this module (the OpenQASM 2 set, plus ``asin acos atan``).
``str(expr)`` prints OpenQASM 2 syntax.

This module imports nothing from Kizuna but ``errors``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

from ..errors import ParameterError

__all__ = [
    "Parameter",
    "ParameterExpression",
    "acos",
    "asin",
    "atan",
    "cos",
    "exp",
    "ln",
    "sin",
    "sqrt",
    "tan",
]

_BINARY = {
    "+": (lambda a, b: a + b, 1),
    "-": (lambda a, b: a - b, 1),
    "*": (lambda a, b: a * b, 2),
    "/": (lambda a, b: a / b, 2),
    "^": (lambda a, b: a**b, 4),
}
_FUNCS = {
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "exp": math.exp,
    "ln": math.log,
    "sqrt": math.sqrt,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
}
_PREC_UNARY = 3
_PREC_ATOM = 5


def _fmt_number(x: float) -> str:
    if x == math.pi:
        return "pi"
    r = repr(float(x))
    return r


class ParameterExpression:
    """An arithmetic expression of ``Parameter`` symbols and numbers.

    Build one with operators (``2 * theta + 0.1``) and this module's functions
    (``kizuna.computing.parameters.cos(theta)``). Immutable and hashable.

    Example:
        >>> from kizuna import Parameter
        >>> theta = Parameter("theta")
        >>> e = 2 * theta + 1
        >>> str(e), e.bind({"theta": 0.25})
        ('2.0*theta + 1.0', 1.5)
    """

    __slots__ = ("_op", "_args", "_hash")

    def __init__(self, op: str, args: tuple):
        self._op = op
        self._args = args
        self._hash = None

    # --- structure -------------------------------------------------------------------------
    @property
    def op(self) -> str:
        """The operation at the root of the expression tree (``"add"``, ``"mul"``, ``"neg"``,
        ``"cos"``, ...; ``"param"`` for a ``Parameter``)."""
        return self._op

    @property
    def args(self) -> tuple:
        """The operands of ``op``: numbers and sub-expressions, in order."""
        return self._args

    @property
    def parameters(self) -> frozenset[Parameter]:
        """The free ``Parameter`` symbols this expression depends on."""
        out: set[Parameter] = set()
        for a in self._args:
            if isinstance(a, ParameterExpression):
                out |= a.parameters
        return frozenset(out)

    def bind(self, values: Mapping, *, strict: bool = False) -> ParameterExpression | float:
        """Substitute numbers (or expressions) for parameters.

        Args:
            values: mapping from ``Parameter`` or parameter name to a number or expression.
            strict: if true, every free parameter must be given.

        Returns:
            A float when no free parameter is left, else a new expression.

        Raises:
            ParameterError: ``strict`` and a parameter is missing, or the expression cannot
                be evaluated there (``ln(0)``, division by zero).
        """
        args = []
        for a in self._args:
            if isinstance(a, ParameterExpression):
                a = a.bind(values, strict=strict)
            args.append(a)
        return _make(self._op, tuple(args))

    def __float__(self) -> float:
        free = self.parameters
        if free:
            names = ", ".join(sorted(p.name for p in free))
            raise ParameterError(f"expression {self} has unbound parameter(s): {names}")
        return float(self.bind({}))

    # --- printing ---------------------------------------------------------------------------
    def _prec(self) -> int:
        if self._op in _BINARY:
            return _BINARY[self._op][1]
        if self._op == "neg":
            return _PREC_UNARY
        return _PREC_ATOM

    def __str__(self) -> str:
        op, args = self._op, self._args
        if op in _FUNCS:
            return f"{op}({_str(args[0], 0)})"
        if op == "neg":
            return "-" + _str(args[0], _PREC_UNARY + 1)
        prec = _BINARY[op][1]
        if op == "^":  # right-associative
            return f"{_str(args[0], prec + 1)}^{_str(args[1], prec)}"
        # left-associative: the right operand of - and / needs brackets at equal precedence
        right_prec = prec + 1 if op in "-/" else prec
        sep = f" {op} " if op in "+-" else op
        return f"{_str(args[0], prec)}{sep}{_str(args[1], right_prec)}"

    def __repr__(self) -> str:
        return f"ParameterExpression({str(self)!r})"

    # --- equality ---------------------------------------------------------------------------
    def __eq__(self, other) -> bool:
        if isinstance(other, ParameterExpression):
            return type(self) is type(other) and self._op == other._op and self._args == other._args
        return NotImplemented

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((self._op, self._args))
        return self._hash

    # --- arithmetic -------------------------------------------------------------------------
    def __add__(self, o):
        return _binary("+", self, o)

    def __radd__(self, o):
        return _binary("+", o, self)

    def __sub__(self, o):
        return _binary("-", self, o)

    def __rsub__(self, o):
        return _binary("-", o, self)

    def __mul__(self, o):
        return _binary("*", self, o)

    def __rmul__(self, o):
        return _binary("*", o, self)

    def __truediv__(self, o):
        return _binary("/", self, o)

    def __rtruediv__(self, o):
        return _binary("/", o, self)

    def __pow__(self, o):
        return _binary("^", self, o)

    def __rpow__(self, o):
        return _binary("^", o, self)

    def __neg__(self):
        return _make("neg", (self,))

    def __pos__(self):
        return self


class Parameter(ParameterExpression):
    """A named symbolic angle for gates (radians once bound).

    Args:
        name: an identifier (letters, digits and ``_``, not starting with a digit).

    Example:
        >>> from kizuna import Circuit, Parameter
        >>> theta = Parameter("theta")
        >>> c = Circuit(1).rx(theta, 0)
        >>> c.parameters
        (Parameter('theta'),)
        >>> c.assign_parameters({theta: 0.5}).instructions[0].params
        (0.5,)
    """

    __slots__ = ("name",)

    def __init__(self, name: str):
        if not isinstance(name, str) or not name.isidentifier():
            raise ParameterError(f"parameter name must be an identifier (got {name!r})")
        super().__init__("param", ())
        self.name = name

    @property
    def parameters(self) -> frozenset[Parameter]:
        return frozenset((self,))

    def bind(self, values: Mapping, *, strict: bool = False):
        for key in (self, self.name):
            if key in values:
                v = values[key]
                if isinstance(v, ParameterExpression):
                    return v
                return _as_float(v, self.name)
        if strict:
            raise ParameterError(f"no value given for parameter {self.name!r}")
        return self

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"Parameter({self.name!r})"

    def __eq__(self, other) -> bool:
        if isinstance(other, Parameter):
            return self.name == other.name
        if isinstance(other, ParameterExpression):
            return False
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("param", self.name))

    def __lt__(self, other: Parameter) -> bool:  # sorted() orders parameters by name
        return self.name < other.name

    def __reduce__(self):
        return (Parameter, (self.name,))


def _as_float(v, name) -> float:
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        return float(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ParameterError(f"value for parameter {name!r} must be a real number (got {v!r})") from None


def _str(a, min_prec: int) -> str:
    if isinstance(a, ParameterExpression):
        s = str(a)
        return f"({s})" if a._prec() < min_prec else s
    s = _fmt_number(a)
    if a < 0 and min_prec > 1:
        return f"({s})"
    return s


def _check_operand(x):
    if isinstance(x, ParameterExpression):
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return float(x)
    raise TypeError(f"cannot combine a parameter expression with {type(x).__name__} {x!r}")


def _binary(op, a, b):
    return _make(op, (_check_operand(a), _check_operand(b)))


def _make(op: str, args: tuple):
    """Build a node, folding it to a float when every argument is a number."""
    if all(not isinstance(a, ParameterExpression) for a in args):
        try:
            if op in _BINARY:
                v = _BINARY[op][0](*args)
            elif op == "neg":
                v = -args[0]
            else:
                v = _FUNCS[op](args[0])
        except (ZeroDivisionError, ValueError, OverflowError) as exc:
            shown = str(ParameterExpression(op, args))
            raise ParameterError(f"cannot evaluate {shown}: {exc}") from None
        if isinstance(v, complex):
            raise ParameterError(f"{ParameterExpression(op, args)} is not a real number")
        return float(v)
    return ParameterExpression(op, args)


def _func(name):
    def f(x):
        return _make(name, (_check_operand(x),))

    f.__name__ = name
    f.__doc__ = f"``{name}`` of a number or parameter expression (radians)."
    return f


sin = _func("sin")
cos = _func("cos")
tan = _func("tan")
exp = _func("exp")
ln = _func("ln")
sqrt = _func("sqrt")
asin = _func("asin")
acos = _func("acos")
atan = _func("atan")


def evaluate(value, where: str = "parameter") -> float:
    """A number from a float or a fully bound expression; a clear error otherwise."""
    if isinstance(value, ParameterExpression):
        free = value.parameters
        if free:
            names = ", ".join(sorted(p.name for p in free))
            raise ParameterError(
                f"{where} has unbound parameter(s) {names}; bind them with "
                f"circuit.assign_parameters({{...}}) before simulating"
            )
        return float(value)
    return float(value)
