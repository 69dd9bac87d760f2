"""OpenQASM 3: read a program into a ``Circuit`` (``loads``/``load``) and write one (``dumps``/``dump``).

Parsing is the reference parser's (``openqasm3.parse``, ANTLR; the optional extra ``qasm3``,
imported on first use); this module walks its AST. The subset that circuit files use is read:

* ``OPENQASM 3.0;`` (or ``3``, ``3.1``), ``include "stdgates.inc";`` (every gate of it; other
  ``include`` files are read from disk), ``qubit[n] q;``, ``qubit q;``, ``bit[n] c;``, ``bit c;``,
  ``output bit[n] c;``, the old ``qreg``/``creg``; physical qubits ``$k`` (in a program that
  declares none) become qubit ``k`` of a register ``q``;
* gate calls with register broadcasting, ``U(θ, φ, λ)``, ``gphase(γ)``, ``gate`` definitions
  with parameters (they become ``CompositeGate``), the modifiers ``ctrl @``, ``ctrl(n) @``,
  ``negctrl @``, ``inv @`` and ``pow(k) @``;
* ``measure`` in the forms ``c = measure q;``, ``c[0] = measure q[0];``, ``bit[2] c = measure
  q;`` and ``measure q -> c;``, ``reset``, ``barrier``;
* ``if (c == k)``, ``if (c[0])``, ``if (!c[0])``, ``if (c[0] == 1)`` with one statement or a
  block, ``else`` where the condition reads one bit; ``for`` loops over ``[a:b]``,
  ``[a:step:b]`` (both ends included) and ``{a, b, ...}`` are unrolled;
* ``const`` and classical variables whose values are known when the file is read; arithmetic
  with ``+ - * / % **``, ``pi``/``π``, ``tau``/``τ``, ``euler``/``ℇ``, ``sin cos tan arcsin
  arccos arctan exp log sqrt``, casts;
* ``input float[64] theta;`` (or ``angle``) becomes the free ``Parameter("theta")`` unless
  ``inputs={"theta": value}`` binds it; ``input int``/``bool`` must be given in ``inputs``.

Timing (``delay``, ``box``, ``duration``, ``stretch``), ``while``, ``switch``, ``def``
subroutines, ``extern``, ``cal``/``defcal``, ``let`` and classical bit arithmetic raise
``QasmError`` ("... is not supported") at their ``file:line:col``, as do syntax errors.

Phases. OpenQASM 3.0 defines ``U(θ, φ, λ)`` as the matrix ``[[cos θ/2, -e^{iλ} sin θ/2],
[e^{iφ} sin θ/2, e^{i(φ+λ)} cos θ/2]]``: Kizuna's (and Qiskit's) ``u``/``u3`` exactly, and
``e^{i(φ+λ)/2}`` times OpenQASM 2's ``U = Rz(φ) Ry(θ) Rz(λ)``. OpenQASM 3.1 multiplied ``U`` by
``e^{iθ/2}`` (its ``stdgates.inc`` adds ``gphase`` corrections so that ``x``, ``h``, ``rx``, ...
keep their matrices); a file that says ``OPENQASM 3.1`` (or later) is read that way. In both
versions ``stdgates.inc``'s ``u3(θ, φ, λ)`` is OpenQASM 2's ``U``, ``e^{-i(φ+λ)/2}`` times
Kizuna's ``u3`` (and ``u2(φ, λ)`` likewise ``e^{-i(φ+λ)/2}`` times Kizuna's ``u2``). A Kizuna
circuit has no global phase: a top-level ``gphase`` and the global phase of each gate are
dropped (measurement statistics and states up to phase are unchanged). Under ``ctrl @`` a
phase becomes relative and is kept exactly: ``ctrl @ gphase(γ)`` is ``p(γ)`` on the control,
``ctrl @ u3(θ, φ, λ)`` is ``cu(θ, φ, λ, -(φ+λ)/2)``, ``ctrl @ U(...)`` is ``cu(..., 0)``.
(Qiskit's importer maps ``u3`` to its phase-free ``U3Gate``, so it differs here.)

Modifiers. ``ctrl``/``negctrl`` map gates to Kizuna's controlled table gates (``ctrl @ x`` is
``cx``, ``ctrl @ ctrl @ x`` is ``ccx``, ``ctrl @ rz`` is ``crz``, any one-qubit gate to ``cu``);
what has no controlled table gate is rewritten exactly (``cu``, ``cp``, ``swap``, ... into
gates that have one), and numeric leftovers become ``unitary`` instructions. ``inv`` and integer
``pow(k)`` invert and repeat the gate's definition; ``pow(k)`` with a non-integer ``k`` takes
the principal matrix power (eigenvalues ``e^{iα}``, ``α`` in ``(-π, π]``, raised to
``e^{ikα}``, as Qiskit's ``Gate.power``), applying the modifiers from the gate outwards
(``pow(0.5) @ inv @ z`` is ``s``, ``inv @ pow(0.5) @ z`` is ``sdg``). It needs numeric
parameters; a one-qubit result is a named gate when one matches (``pow(0.5) @ x`` is ``sx``),
else ``u`` and a global phase (relative under ``ctrl``); a larger one is a ``unitary``.
The reference parser is imported lazily through ``kizuna._optional.require``, whose error
names the pip extra.

``dumps`` writes ``OPENQASM 3.0`` that ``openqasm3.parse`` and ``qiskit.qasm3.loads`` read and
that ``loads`` reads back to an equal circuit: table gates outside ``stdgates.inc`` are written
as ``gate`` definitions, which ``loads`` maps back to the table gate when the body's matrix
equals it up to a global phase. ``unitary`` instructions cannot be written.

This module imports ``core``, ``errors``, ``kizuna._optional`` (lazily) and its siblings
``circuit`` and ``parameters``.
"""

from __future__ import annotations

import cmath
import contextlib
import io
import math
import numbers
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core._io import atomic_write_text
from ..core.gates import GATES, embed, gate_matrix
from ..errors import CircuitError, QasmError
from . import parameters as _pm
from .circuit import Circuit, CompositeGate, Condition, Instruction
from .parameters import Parameter, ParameterExpression

__all__ = ["dump", "dumps", "load", "loads"]

_PI = math.pi

# --- stdgates.inc --------------------------------------------------------------------------------


def _u3_phase(theta, phi, lam):
    return -(phi + lam) / 2


def _u2_phase(phi, lam):
    return -(phi + lam) / 2


#: ``stdgates.inc`` name -> (Kizuna table gate, number of parameters, number of qubits, extra
#: global phase as a function of the parameters, or None).
_STDGATES: dict[str, tuple] = {
    "p": ("p", 1, 1, None),
    "x": ("x", 0, 1, None),
    "y": ("y", 0, 1, None),
    "z": ("z", 0, 1, None),
    "h": ("h", 0, 1, None),
    "s": ("s", 0, 1, None),
    "sdg": ("sdg", 0, 1, None),
    "t": ("t", 0, 1, None),
    "tdg": ("tdg", 0, 1, None),
    "sx": ("sx", 0, 1, None),
    "rx": ("rx", 1, 1, None),
    "ry": ("ry", 1, 1, None),
    "rz": ("rz", 1, 1, None),
    "cx": ("cx", 0, 2, None),
    "cy": ("cy", 0, 2, None),
    "cz": ("cz", 0, 2, None),
    "cp": ("cp", 1, 2, None),
    "crx": ("crx", 1, 2, None),
    "cry": ("cry", 1, 2, None),
    "crz": ("crz", 1, 2, None),
    "ch": ("ch", 0, 2, None),
    "swap": ("swap", 0, 2, None),
    "ccx": ("ccx", 0, 3, None),
    "cswap": ("cswap", 0, 3, None),
    "cu": ("cu", 4, 2, None),
    "CX": ("cx", 0, 2, None),
    "phase": ("p", 1, 1, None),
    "cphase": ("cp", 1, 2, None),
    "id": ("id", 0, 1, None),
    "u1": ("u1", 1, 1, None),
    "u2": ("u2", 2, 1, _u2_phase),
    "u3": ("u3", 3, 1, _u3_phase),
}

#: Names ``dumps`` may write as they are (same matrix as Kizuna's, up to a global phase).
_WRITE_AS_IS = frozenset(
    "id x y z h s sdg t tdg sx rx ry rz p cx cy cz cp crx cry crz ch swap ccx cswap cu u1 u2 u3".split()  # noqa: SIM905
)
#: Kizuna table gates written with a modifier or another stdgate name (exactly the same matrix).
_WRITE_AS = {
    "u": ("U", ""),
    "csx": ("sx", "ctrl @ "),
    "sxdg": ("sx", "inv @ "),
    "c3x": ("x", "ctrl(3) @ "),
    "c4x": ("x", "ctrl(4) @ "),
}
#: Definitions ``dumps`` writes for table gates ``stdgates.inc`` lacks; ``loads`` maps a gate so
#: defined back to the table gate (its matrix equals the table's up to a global phase).
_EXTRA_DEFINITIONS = {
    "rxx": "gate rxx(theta) a, b { h a; h b; cx a, b; rz(theta) b; cx a, b; h a; h b; }",
    "ryy": "gate ryy(theta) a, b { rx(pi/2) a; rx(pi/2) b; cx a, b; rz(theta) b; cx a, b; "
    "rx(-pi/2) a; rx(-pi/2) b; }",
    "rzz": "gate rzz(theta) a, b { cx a, b; rz(theta) b; cx a, b; }",
    "rzx": "gate rzx(theta) a, b { h b; cx a, b; rz(theta) b; cx a, b; h b; }",
    "ecr": "gate ecr a, b { h b; cx a, b; rz(pi/4) b; cx a, b; h b; x a; h b; cx a, b; "
    "rz(-pi/4) b; cx a, b; h b; }",
    "rccx": "gate rccx a, b, c { u2(0, pi) c; u1(pi/4) c; cx b, c; u1(-pi/4) c; cx a, c; "
    "u1(pi/4) c; cx b, c; u1(-pi/4) c; u2(0, pi) c; }",
    # parameters named in alphabetical order: qiskit-qasm3-import 0.6 binds them in that order
    "cu3": "gate cu3(a, b, c) x, y { cu(a, b, c, 0) x, y; }",
    "cu1": "gate cu1(lambda) a, b { cp(lambda) a, b; }",
    "u0": "gate u0(gamma) a { }",
}

_KEYWORDS = frozenset((
    "OPENQASM", "include", "defcalgrammar", "def", "cal", "defcal", "gate", "extern", "box",
    "let", "break", "continue", "if", "else", "end", "return", "for", "while", "in", "switch",
    "case", "default", "input", "output", "const", "readonly", "mutable", "qreg", "qubit", "creg",
    "bool", "bit", "int", "uint", "float", "angle", "complex", "array", "void", "duration",
    "stretch", "gphase", "inv", "pow", "ctrl", "negctrl", "delay", "reset", "measure", "barrier",
    "true", "false", "pi", "tau", "euler", "im", "dim", "durationof", "sizeof", "U",
))  # fmt: skip
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PHYSICAL = re.compile(r"\$([0-9]+)\Z")

_CONSTANTS = {"pi": _PI, "π": _PI, "tau": 2 * _PI, "τ": 2 * _PI, "euler": math.e, "ℇ": math.e}
_FUNCS = {
    "sin": "sin", "cos": "cos", "tan": "tan", "arcsin": "asin", "arccos": "acos",
    "arctan": "atan", "exp": "exp", "log": "ln", "sqrt": "sqrt",
}  # fmt: skip

_UNSUPPORTED = {
    "WhileLoop": "'while' loops are",
    "SubroutineDefinition": "'def' subroutines are",
    "ExternDeclaration": "'extern' declarations are",
    "CalibrationDefinition": "'defcal' calibrations are",
    "CalibrationStatement": "'cal' blocks are",
    "CalibrationGrammarDeclaration": "'defcalgrammar' is",
    "DelayInstruction": "'delay' (timing) is",
    "Box": "'box' (timing) is",
    "SwitchStatement": "'switch' is",
    "BreakStatement": "'break' is",
    "ContinueStatement": "'continue' is",
    "EndStatement": "'end' is",
    "ReturnStatement": "'return' is",
    "AliasStatement": "'let' aliases are",
    "ExpressionStatement": "an expression as a statement (a subroutine call) is",
}


# --- operations: Kizuna instructions plus global phases -------------------------------------------


@dataclass(frozen=True)
class _Phase:
    """A global phase ``e^{i angle}`` (``gphase``): dropped at top level, relative under ``ctrl``."""

    angle: object


class _NeedsNumbers(Exception):
    """A modifier needs numeric parameters (a matrix), but the gate has a free parameter."""


def _is_num(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _num(v) -> bool:
    return not isinstance(v, ParameterExpression)


def _ins(name: str, qubits, params=()) -> Instruction:
    return Instruction(name, tuple(qubits), tuple(p if isinstance(p, ParameterExpression) else float(p) for p in params))


def _ops_matrix(ops, qubits) -> np.ndarray:
    """The matrix of ``ops`` (phases included) on ``qubits`` (``qubits[0]`` least significant)."""
    pos = {q: i for i, q in enumerate(qubits)}
    n = len(qubits)
    u = np.eye(1 << n, dtype=np.complex128)
    for op in ops:
        if isinstance(op, _Phase):
            if not _num(op.angle):
                raise _NeedsNumbers(f"gphase({op.angle})")
            u = cmath.exp(1j * float(op.angle)) * u
            continue
        if op.name == "barrier":
            continue
        if op.name == "unitary":
            m = op.matrix
        else:
            if not all(_num(p) for p in op.params):
                raise _NeedsNumbers(op.label())
            m = gate_matrix(op.name, op.params)
        u = embed(m, [pos[q] for q in op.qubits], n) @ u
    return u


def _matrix_power(m: np.ndarray, k: float) -> np.ndarray:
    """Principal power of a unitary: eigenphases in (-π, π] times ``k``."""
    import scipy.linalg

    t, z = scipy.linalg.schur(m, output="complex")
    ev = np.diag(t)
    ang = np.angle(ev)
    ang = np.where(ang <= -_PI + 1e-12, _PI, ang)  # -π and π are one eigenvalue: take +π
    return (z * np.exp(1j * k * ang)) @ z.conj().T


def _matrix_ops(m: np.ndarray, qubits) -> list:
    """Operations with the matrix ``m`` exactly: a named gate, ``u`` and a phase, or ``unitary``."""
    if not qubits:
        return [_Phase(cmath.phase(m[0, 0]))]
    if len(qubits) == 1:
        for name in ("x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "sxdg"):
            if np.allclose(m, gate_matrix(name), rtol=0, atol=1e-12):
                return [_ins(name, qubits)]
        t, f, lam, a = _zyz(m)
        return [_ins("u", qubits, (t, f, lam)), _Phase(a)]
    return [_unitary(m, qubits)]


def _controlled_matrix(m: np.ndarray) -> np.ndarray:
    """Controlled-``m`` with the control as the least significant qubit."""
    d = m.shape[0]
    out = np.eye(2 * d, dtype=np.complex128)
    idx = 1 + 2 * np.arange(d)
    out[np.ix_(idx, idx)] = m
    return out


def _unitary(m: np.ndarray, qubits) -> Instruction:
    m = np.array(m, dtype=np.complex128)
    m.setflags(write=False)
    return Instruction("unitary", tuple(qubits), matrix=m)


def _zyz(m: np.ndarray) -> tuple[float, float, float, float]:
    """(θ, φ, λ, α) with ``m = e^{iα} u3(θ, φ, λ)`` for a 2x2 unitary."""
    c, s = abs(m[0, 0]), abs(m[1, 0])
    theta = 2 * math.atan2(s, c)
    if c > 1e-12:
        alpha = cmath.phase(m[0, 0])
        if s > 1e-12:
            phi = cmath.phase(m[1, 0]) - alpha
            lam = cmath.phase(-m[0, 1]) - alpha
        else:
            phi, lam = 0.0, cmath.phase(m[1, 1]) - alpha
    else:
        alpha = cmath.phase(m[1, 0])
        phi, lam = 0.0, cmath.phase(-m[0, 1]) - alpha
    return theta, phi, lam, alpha


#: One extra control turns these table gates into these (controls come first).
_CTRL_DIRECT = {
    "x": "cx", "y": "cy", "z": "cz", "h": "ch", "sx": "csx", "swap": "cswap", "rx": "crx",
    "ry": "cry", "rz": "crz", "p": "cp", "u1": "cp", "cx": "ccx", "ccx": "c3x", "c3x": "c4x",
}  # fmt: skip
_CTRL_P = {"s": _PI / 2, "sdg": -_PI / 2, "t": _PI / 4, "tdg": -_PI / 4, "z": _PI}
#: Two-qubit controlled gates as cu(θ, φ, λ, γ) (exactly).
_AS_CU = {
    "crx": lambda t: (t, -_PI / 2, _PI / 2, 0.0),
    "cry": lambda t: (t, 0.0, 0.0, 0.0),
    "crz": lambda t: (0.0, 0.0, t, -t / 2),
    "ch": lambda: (_PI / 2, 0.0, _PI, 0.0),
    "csx": lambda: (_PI / 2, -_PI / 2, _PI / 2, _PI / 4),
    "cu3": lambda t, f, l: (t, f, l, 0.0),
    "cu": lambda t, f, l, g: (t, f, l, g),
    "cy": lambda: (_PI, _PI / 2, _PI / 2, 0.0),
}


def _decompose(ins: Instruction) -> list | None:
    """An exact (phase included) rewrite of a gate into gates that take one more control."""
    q = ins.qubits
    p = ins.params
    if ins.name in ("cp", "cu1"):
        (lam,) = p
        a, b = q
        return [_ins("p", [a], [lam / 2]), _ins("cx", [a, b]), _ins("p", [b], [-lam / 2]), _ins("cx", [a, b]), _ins("p", [b], [lam / 2])]
    if ins.name == "cz":
        a, b = q
        return [_ins("h", [b]), _ins("cx", [a, b]), _ins("h", [b])]
    if ins.name in _AS_CU:
        t, f, lam, g = _AS_CU[ins.name](*p)
        a, b = q
        return [
            _ins("p", [a], [g + (lam + f) / 2]),
            _ins("p", [b], [(lam - f) / 2]),
            _ins("cx", [a, b]),
            _ins("u3", [b], [-t / 2, 0.0, -(f + lam) / 2]),
            _ins("cx", [a, b]),
            _ins("u3", [b], [t / 2, f, 0.0]),
        ]
    if ins.name == "swap":
        a, b = q
        return [_ins("cx", [a, b]), _ins("cx", [b, a]), _ins("cx", [a, b])]
    if ins.name == "cswap":
        c, a, b = q
        return [_ins("cx", [b, a]), _ins("ccx", [c, a, b]), _ins("cx", [b, a])]
    return None


def _control_op(op, c: int) -> list:
    """``op`` with the extra control qubit ``c``, exactly (a global phase becomes relative)."""
    if isinstance(op, _Phase):
        return [_ins("p", [c], [op.angle])]
    name = op.name
    if name == "barrier":
        return [op]
    if name == "unitary":
        return [_unitary(_controlled_matrix(op.matrix), (c,) + op.qubits)]
    if op.definition is not None:
        raise CircuitError(f"internal: composite gate {name!r} under a modifier")
    if name in ("id", "u0"):
        return []
    if name in _CTRL_DIRECT:
        return [_ins(_CTRL_DIRECT[name], (c,) + op.qubits, op.params)]
    if name in _CTRL_P:
        return [_ins("cp", (c,) + op.qubits, [_CTRL_P[name]])]
    if name in ("u", "u3"):
        return [_ins("cu", (c,) + op.qubits, tuple(op.params) + (0.0,))]
    if name == "u2":
        return [_ins("cu", (c,) + op.qubits, (_PI / 2,) + tuple(op.params) + (0.0,))]
    dec = _decompose(op)
    if dec is not None:
        return [x for d in dec for x in _control_op(d, c)]
    if not all(_num(p) for p in op.params):
        raise _NeedsNumbers(f"ctrl @ {op.label()}")
    m = gate_matrix(name, op.params)
    if len(op.qubits) == 1:
        t, f, lam, a = _zyz(m)
        return [_ins("cu", (c,) + op.qubits, (t, f, lam, a))]
    return [_unitary(_controlled_matrix(m), (c,) + op.qubits)]


def _merge_phases(ops: list) -> list:
    """Fold ``p(δ)`` on the control of an adjacent ``cu`` into its phase γ (``cu(θ,φ,λ,γ+δ)``)."""
    out: list = []
    for op in ops:
        if out and isinstance(op, Instruction) and op.name == "p":
            prev = out[-1]
            if isinstance(prev, Instruction) and prev.name == "cu" and prev.qubits[0] == op.qubits[0]:
                t, f, lam, g = prev.params
                out[-1] = _ins("cu", prev.qubits, (t, f, lam, g + op.params[0]))
                continue
        out.append(op)
    return out


def _invert_ops(ops: list) -> list:
    out = []
    for op in reversed(ops):
        if isinstance(op, _Phase):
            out.append(_Phase(-op.angle))
        elif op.name == "barrier":
            out.append(op)
        elif op.name == "unitary":
            out.append(_unitary(op.matrix.conj().T, op.qubits))
        else:
            spec = GATES[op.name]
            if spec.inverse is not None:
                name, params = spec.inverse(*op.params)
                out.append(_ins(name, op.qubits, params))
            else:  # csx, rc3x, c3sqrtx: invert their definition
                body = [_ins(n, [op.qubits[i] for i in qs], pf()) for n, qs, pf in spec.definition]
                out.extend(_invert_ops(body))
    return out


# --- reading -----------------------------------------------------------------------------------------


@dataclass
class _UserGate:
    name: str
    params: list[str]
    qubits: list[str]
    body: list
    node: object
    filename: str
    lines: list[str]
    table: str | None = None
    composite: CompositeGate | None = None
    built: bool = False


@dataclass
class _Sym:
    kind: str  # "qreg", "creg", "value", "gate-param"
    indices: list[int] = field(default_factory=list)
    single: bool = False
    value: object = None
    reg: str = ""


class _Reader:
    def __init__(self, filename: str, base_dir: Path | None, inputs: Mapping | None):
        self.circuit = Circuit()
        self.filename = filename
        self.base_dir = base_dir
        self.lines: list[str] = []
        self.inputs = dict(inputs or {})
        self.used_inputs: set[str] = set()
        self.scopes: list[dict[str, _Sym]] = [{}]
        self.gates: dict[str, object] = {}
        self.stdgates = False
        self.u_theta_phase = False
        self.global_phase = 0.0
        self.current = None
        self.physical: _Sym | None = None
        self.include_stack: list[Path] = []

    # --- errors ----------------------------------------------------------------------------
    def error(self, message: str, node=None) -> QasmError:
        line = col = None
        span = self._span_of(node) or self._span_of(self.current)
        if span is not None:
            line, col = span
        return QasmError(message, filename=self.filename, line=line, column=col)

    def _span_of(self, node):
        span = getattr(node, "span", None)
        if span is None:
            return None
        line, col = span.start_line, span.start_column
        # The reference parser gives some identifiers a wrong column; check it against the text.
        name = getattr(node, "name", None)
        if type(node).__name__ == "Identifier" and isinstance(name, str):
            text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
            if text[col : col + len(name)] != name:
                return None
        return line, col + 1

    def unsupported(self, what: str, node) -> QasmError:
        return self.error(f"{what} not supported by Kizuna's OpenQASM 3 reader", node)

    # --- symbols ----------------------------------------------------------------------------
    def lookup(self, name: str):
        for frame in reversed(self.scopes):
            if name in frame:
                return frame[name]
        return None

    def declare(self, name: str, sym: _Sym, node) -> None:
        if name in self.scopes[-1] or (len(self.scopes) == 1 and name in self.gates):
            raise self.error(f"'{name}' is already declared", node)
        if name in _CONSTANTS:
            raise self.error(f"'{name}' is a built-in constant and cannot be redeclared", node)
        self.scopes[-1][name] = sym

    # --- driving ----------------------------------------------------------------------------
    def run(self, text: str) -> None:
        program = _parse(text, self.filename)
        self.lines = text.split("\n")
        version = getattr(program, "version", None)
        if version is not None:
            try:
                major, _, minor = str(version).partition(".")
                v = (int(major), int(minor or 0))
            except ValueError:
                raise self.error(f"cannot read the version {version!r}") from None
            if v[0] != 3:
                raise QasmError(
                    f"only OpenQASM 3 can be read here (this file says {version}); use kizuna.qasm2 for OpenQASM 2",
                    filename=self.filename,
                    line=1,
                    column=1,
                )
            self.u_theta_phase = v >= (3, 1)
        self.scan_physical(program)
        for st in program.statements:
            self.statement(st, None)

    def scan_physical(self, program) -> None:
        highest = -1
        declared = None
        for node in _walk(program.statements):
            kind = type(node).__name__
            if kind == "QubitDeclaration" and declared is None:
                declared = node
            if kind == "Identifier":
                m = _PHYSICAL.match(node.name)
                if m:
                    highest = max(highest, int(m.group(1)))
        if highest < 0:
            return
        if declared is not None:
            raise self.error(
                "a program that declares qubits cannot also use physical qubits like $0 "
                "(Kizuna maps $k to qubit k only when no qubit is declared)",
                declared,
            )
        reg = self.circuit.add_qreg("q", highest + 1)
        self.physical = _Sym("qreg", list(reg.indices))

    def statement(self, st, cond) -> None:
        kind = type(st).__name__
        outer = self.current
        self.current = st
        try:
            handler = getattr(self, "st_" + kind, None)
            if handler is None:
                if kind in _UNSUPPORTED:
                    raise self.unsupported(_UNSUPPORTED[kind], st)
                if "Duration" in kind or "Stretch" in kind:
                    raise self.unsupported("timing (durations, stretch) is", st)
                raise self.unsupported(f"the statement {kind} is", st)
            handler(st, cond)
        except CircuitError as exc:
            raise self.error(str(exc), st) from None
        finally:
            self.current = outer

    # --- declarations -----------------------------------------------------------------------
    def st_Include(self, st, cond) -> None:
        name = st.filename
        if name == "stdgates.inc":
            if self.stdgates:
                return
            for g in _STDGATES:
                if g in self.gates:
                    raise self.error(f"stdgates.inc defines '{g}', which is already defined", st)
            self.stdgates = True
            for g in _STDGATES:
                self.gates[g] = g
            return
        path = Path(name)
        if not path.is_absolute():
            path = (self.base_dir or Path.cwd()) / path
        if not path.is_file():
            raise self.error(f"cannot find include file '{name}' (looked in {path.parent})", st)
        resolved = path.resolve()
        if resolved in self.include_stack:
            raise self.error(f"include cycle: '{name}' includes itself", st)
        text = path.read_text(encoding="utf-8")
        outer = (self.filename, self.base_dir, self.lines)
        self.include_stack.append(resolved)
        self.filename, self.base_dir = str(path), path.parent
        try:
            program = _parse(text.lstrip("\ufeff"), self.filename)
            self.lines = text.split("\n")
            for s in program.statements:
                self.statement(s, None)
        finally:
            self.filename, self.base_dir, self.lines = outer
            self.include_stack.pop()

    def st_Pragma(self, st, cond) -> None:
        return

    def global_only(self, st, what):
        if len(self.scopes) > 1:
            raise self.error(f"{what} may be declared only at the top level of the program", st)

    def st_QubitDeclaration(self, st, cond) -> None:
        self.global_only(st, "qubits")
        name = st.qubit.name
        size = 1 if st.size is None else self.int_value(st.size, "a qubit register size")
        if size < 1:
            raise self.error(f"qubit register '{name}' must have at least one qubit (got size {size})", st)
        self.check_name(name, st)
        reg = self.circuit.add_qreg(name, size)
        self.declare(name, _Sym("qreg", list(reg.indices), single=st.size is None), st)

    def check_name(self, name, st) -> None:
        if self.lookup(name) is not None or name in self.gates:
            raise self.error(f"'{name}' is already declared", st)

    def add_bits(self, name, type_node, st) -> _Sym:
        self.global_only(st, "bits")
        size_node = getattr(type_node, "size", None)
        size = 1 if size_node is None else self.int_value(size_node, "a bit register size")
        if size < 1:
            raise self.error(f"bit register '{name}' must have at least one bit (got size {size})", st)
        self.check_name(name, st)
        reg = self.circuit.add_creg(name, size)
        sym = _Sym("creg", list(reg.indices), single=size_node is None, reg=name)
        self.declare(name, sym, st)
        return sym

    def st_ClassicalDeclaration(self, st, cond) -> None:
        tname = type(st.type).__name__
        name = st.identifier.name
        init = st.init_expression
        if tname == "BitType":
            sym = self.add_bits(name, st.type, st)
            if init is None:
                return
            if type(init).__name__ != "QuantumMeasurement":
                raise self.unsupported("initialising bits from a classical value is", st)
            self.measure_into(init.qubit, sym.indices, sym.single, st, cond)
            return
        if tname in ("DurationType", "StretchType"):
            raise self.unsupported("timing (durations, stretch) is", st)
        if tname not in ("IntType", "UintType", "FloatType", "AngleType", "BoolType"):
            raise self.unsupported(f"a classical variable of type {tname} is", st)
        value = None if init is None else self.eval(init)
        self.check_name(name, st)
        self.declare(name, _Sym("value", value=self.cast(tname, value, st)), st)

    def st_ConstantDeclaration(self, st, cond) -> None:
        tname = type(st.type).__name__
        if tname in ("DurationType", "StretchType"):
            raise self.unsupported("timing (durations, stretch) is", st)
        value = self.eval(st.init_expression)
        if isinstance(value, ParameterExpression):
            raise self.error(f"const '{st.identifier.name}' must have a value known when the file is read", st)
        self.check_name(st.identifier.name, st)
        self.declare(st.identifier.name, _Sym("value", value=self.cast(tname, value, st)), st)

    def cast(self, tname, value, st):
        if value is None or isinstance(value, ParameterExpression):
            return value
        if tname in ("IntType", "UintType"):
            if isinstance(value, float) and not value.is_integer():
                return int(value)  # OpenQASM truncates floats cast to int
            return int(value)
        if tname == "BoolType":
            return bool(value)
        if tname in ("FloatType", "AngleType"):
            return float(value)
        return value

    def st_IODeclaration(self, st, cond) -> None:
        name = st.identifier.name
        tname = type(st.type).__name__
        if st.io_identifier.name == "output":
            if tname != "BitType":
                raise self.unsupported(f"'output' of type {tname} is", st)
            self.add_bits(name, st.type, st)
            return
        self.check_name(name, st)
        if name in self.inputs:
            self.used_inputs.add(name)
            value = self.inputs[name]
            if not (_is_num(value) or isinstance(value, bool | ParameterExpression)):
                raise self.error(f"inputs[{name!r}] must be a number (got {value!r})", st)
            self.declare(name, _Sym("value", value=self.cast(tname, value, st)), st)
            return
        if tname not in ("FloatType", "AngleType"):
            raise self.error(
                f"input '{name}' of type {tname} needs a value: pass inputs={{'{name}': ...}} "
                "(only float and angle inputs become free parameters)",
                st,
            )
        self.declare(name, _Sym("value", value=Parameter(name)), st)

    def st_ClassicalAssignment(self, st, cond) -> None:
        target = st.lvalue
        sym = self.lookup(getattr(target, "name", ""))
        if type(target).__name__ != "Identifier" or sym is None or sym.kind != "value":
            raise self.unsupported("assigning to classical bits or arrays is", st)
        op = st.op.name
        value = self.eval(st.rvalue)
        if op != "=":
            bin_op = op.removesuffix("=")
            value = self.binary(bin_op.replace("_", ""), sym.value, value, st)
        sym.value = value

    # --- gate definitions -------------------------------------------------------------------
    def st_QuantumGateDefinition(self, st, cond) -> None:
        if len(self.scopes) > 1:
            raise self.error("gates may be defined only at the top level of the program", st)
        name = st.name.name
        if name in self.gates:
            raise self.error(f"gate '{name}' is already defined", st)
        if self.lookup(name) is not None:
            raise self.error(f"cannot define gate '{name}': a variable of that name exists", st)
        params = [a.name for a in st.arguments]
        qubits = [q.name for q in st.qubits]
        seen = set()
        for n in params + qubits:
            if n in seen:
                raise self.error(f"'{n}' is declared twice in gate '{name}'", st)
            seen.add(n)
        if not qubits:
            raise self.error(f"gate '{name}' needs at least one qubit", st)
        g = _UserGate(name, params, qubits, list(st.body), st, self.filename, self.lines)
        self.gates[name] = g
        spec = GATES.get(name)
        if (
            spec is not None
            and (len(qubits), len(params)) == (spec.num_qubits, spec.num_params)
            and self.body_matches_table(g, name)
        ):
            g.table = name

    def body_matches_table(self, g: _UserGate, table: str) -> bool:
        probes = ((0.731, 1.927, -0.417, 2.521), (-1.234, 0.319, 2.871, -2.05))
        for probe in probes:
            vals = list(probe[: len(g.params)])
            qs = list(range(len(g.qubits)))
            try:
                ops = self.expand_user(g, vals, qs, deep=True)
                mine = _ops_matrix(ops, qs)
            except (QasmError, CircuitError, _NeedsNumbers):
                return False
            if not _same_up_to_phase(mine, gate_matrix(table, vals)):
                return False
        return True

    def composite_of(self, g: _UserGate) -> CompositeGate | None:
        if g.built:
            return g.composite
        g.built = True
        formal = [Parameter(p) for p in g.params]
        try:
            ops = self.expand_user(g, formal, list(range(len(g.qubits))), deep=False)
        except _NeedsNumbers:
            return None
        body = tuple(op for op in ops if not isinstance(op, _Phase))
        name = g.name
        if name in GATES or name in ("measure", "reset", "barrier", "unitary") or not name.isidentifier():
            base = f"{name}_custom" if name.isidentifier() else "gate_custom"
            name, k = base, 1
            while name in GATES or name in self.gates:
                k += 1
                name = f"{base}{k}"
        g.composite = CompositeGate(name, len(g.qubits), tuple(formal), body)
        return g.composite

    def expand_user(self, g: _UserGate, values, qubits, deep: bool) -> list:
        """The body of ``g`` on ``qubits`` at parameter ``values``, as operations."""
        frame = {p: _Sym("value", value=v) for p, v in zip(g.params, values)}
        for qn, q in zip(g.qubits, qubits):
            frame[qn] = _Sym("qreg", [q], single=True)
        saved = (self.scopes, self.filename, self.lines, self.current)
        self.scopes = [{n: s for n, s in self.scopes[0].items() if s.kind == "value" and _is_const(s)}, frame]
        self.filename, self.lines = g.filename, g.lines
        out: list = []
        try:
            for st in g.body:
                self.current = st
                self.body_statement(st, g, out, deep)
        finally:
            self.scopes, self.filename, self.lines, self.current = saved
        return out

    def body_statement(self, st, g: _UserGate, out: list, deep: bool) -> None:
        kind = type(st).__name__
        if kind == "QuantumGate":
            out.extend(self.gate_ops(st, deep))
        elif kind == "QuantumPhase":
            out.extend(self.phase_ops(st))
        elif kind == "QuantumBarrier":
            qs = [q for node in st.qubits for q in self.qarg(node)[0]]
            out.append(Instruction("barrier", tuple(dict.fromkeys(qs))))
        elif kind == "ForInLoop":
            for _ in self.loop(st):
                for s in st.block:
                    self.body_statement(s, g, out, deep)
        else:
            raise self.error(f"only gate calls, gphase, barriers and for loops may appear inside gate '{g.name}' (found {kind})", st)

    # --- operations -------------------------------------------------------------------------
    def st_QuantumGate(self, st, cond) -> None:
        self.emit(self.gate_ops(st, deep=False), cond, st)

    def st_QuantumPhase(self, st, cond) -> None:
        self.emit(self.phase_ops(st), cond, st)

    def phase_ops(self, st) -> list:
        gamma = self.eval(st.argument)
        self.check_angle(gamma, st.argument)
        mods = self.modifiers(st)
        qs_all = [q for node in st.qubits for q in self.qarg(node)[0]]
        num_ctrl = sum(v for k, v in mods if k in ("ctrl", "negctrl"))
        if len(qs_all) != num_ctrl:
            raise self.error(f"gphase takes only control qubits ({num_ctrl}), got {len(qs_all)} qubit(s)", st)
        return self.apply("gphase", [gamma], qs_all, mods, st, deep=True)

    def gate_ops(self, st, deep: bool) -> list:
        name = st.name.name
        if getattr(st, "duration", None) is not None:
            raise self.unsupported("gate durations are", st)
        mods = self.modifiers(st)
        num_ctrl = sum(v for k, v in mods if k in ("ctrl", "negctrl"))
        gate = self.gates.get(name)
        if name == "U":
            num_params, num_qubits = 3, 1
        elif name == "gphase":
            num_params, num_qubits = 1, 0
        elif gate is None:
            hint = ""
            if name in _STDGATES:
                hint = ' (it is in stdgates.inc: add include "stdgates.inc";)'
            elif self.lookup(name) is not None:
                hint = f" ('{name}' is a variable or register)"
            raise self.error(f"unknown gate '{name}'{hint}", st)
        elif isinstance(gate, str):
            _, num_params, num_qubits, _ = _STDGATES[gate]
        else:
            num_params, num_qubits = len(gate.params), len(gate.qubits)
        args = [self.eval(a) for a in st.arguments]
        for a, node in zip(args, st.arguments):
            self.check_angle(a, node)
        if len(args) != num_params:
            raise self.error(f"gate '{name}' takes {num_params} parameter(s), got {len(args)}", st)
        operands = [self.qarg(q) for q in st.qubits]
        if len(operands) != num_ctrl + num_qubits:
            extra = f" ({num_ctrl} control(s) + {num_qubits})" if num_ctrl else ""
            raise self.error(
                f"gate '{name}' takes {num_ctrl + num_qubits} qubit argument(s){extra}, got {len(operands)}", st
            )
        out: list = []
        for qs in self.broadcast(operands, name, st):
            if len(set(qs)) != len(qs):
                raise self.error(f"a qubit is used twice in one call of '{name}' (qubits {qs})", st)
            out.extend(self.apply(name, args, qs, mods, st, deep))
        return out

    def check_angle(self, v, node) -> None:
        if isinstance(v, bool) or not (_is_num(v) or isinstance(v, ParameterExpression)):
            raise self.error(f"a gate parameter must be a number (got {v!r})", node)
        if _is_num(v) and not math.isfinite(v):
            raise self.error(f"a gate parameter must be finite (got {v!r})", node)

    def modifiers(self, st) -> list[tuple[str, object]]:
        out = []
        for m in st.modifiers:
            kind = m.modifier.name
            if kind in ("ctrl", "negctrl"):
                n = 1 if m.argument is None else self.int_value(m.argument, f"the argument of {kind}")
                if n < 1:
                    raise self.error(f"{kind}({n}) needs a positive number of controls", m)
                out.append((kind, n))
            elif kind == "inv":
                out.append(("inv", -1))
            else:
                k = self.eval(m.argument)
                if not _is_num(k):
                    raise self.error(f"pow() needs a number known when the file is read (got {k})", m)
                out.append(("pow", int(k) if float(k).is_integer() else float(k)))
        return out

    def base_ops(self, name, args, qs, deep) -> list:
        if name == "gphase":
            return [_Phase(args[0])]
        if name == "U":
            ops = [_ins("u", qs, args)]
            if self.u_theta_phase:
                ops.append(_Phase(args[0] / 2))
            return ops
        gate = self.gates[name]
        if isinstance(gate, str):
            table, _, _, phase = _STDGATES[gate]
            ops = [_ins(table, qs, args)]
            if phase is not None:
                ops.append(_Phase(phase(*args)))
            return ops
        if deep:
            return self.expand_user(gate, args, qs, deep=True)
        if gate.table is not None:
            return [_ins(gate.table, qs, args)]
        comp = self.composite_of(gate)
        if comp is None:
            return self.expand_user(gate, args, qs, deep=True)
        return [Instruction(comp.name, tuple(qs), tuple(float(a) if _is_num(a) else a for a in args), definition=comp)]

    def apply(self, name, args, qs, mods, st, deep) -> list:
        if not mods:
            return self.base_ops(name, args, qs, deep)
        num_ctrl = sum(v for k, v in mods if k in ("ctrl", "negctrl"))
        ctrl_qs, targets = list(qs[:num_ctrl]), list(qs[num_ctrl:])
        controls: list[tuple[int, bool]] = []
        exps = []
        for kind, v in mods:
            if kind in ("ctrl", "negctrl"):
                controls += [(ctrl_qs.pop(0), kind == "ctrl") for _ in range(v)]
            else:
                exps.append(v)
        try:
            core = self.base_ops(name, args, targets, deep=True)
            if all(isinstance(e, int) for e in exps):
                k = math.prod(exps)
                if k < 0:
                    core = _invert_ops(core)
                core = core * abs(k)
            else:
                m = _ops_matrix(core, targets)
                for e in reversed(exps):
                    m = m.conj().T if e == -1 else _matrix_power(m, e)
                core = _matrix_ops(m, targets)
            for c, positive in reversed(controls):
                inner = _merge_phases([x for op in core for x in _control_op(op, c)])
                core = inner if positive else [_ins("x", [c])] + inner + [_ins("x", [c])]
        except _NeedsNumbers as exc:
            raise self.error(
                f"cannot apply these modifiers to '{name}' with a free parameter ({exc}): Kizuna "
                "needs its matrix; bind the input with inputs={...}",
                st,
            ) from None
        return core

    def emit(self, ops, cond, st) -> None:
        for op in ops:
            if isinstance(op, _Phase):
                if cond is None and _num(op.angle):
                    self.global_phase += float(op.angle)
                continue
            if op.name == "barrier":
                if cond is None:
                    self.circuit.append_instruction(op)
                continue
            if cond is not None:
                op = op.replace(condition=cond)
            self.circuit.append_instruction(op)

    def st_QuantumBarrier(self, st, cond) -> None:
        qs = [q for node in st.qubits for q in self.qarg(node)[0]]
        if not st.qubits:
            qs = list(range(self.circuit.num_qubits))
        if cond is None and qs:
            self.circuit.barrier(list(dict.fromkeys(qs)))

    def st_QuantumReset(self, st, cond) -> None:
        qs, _ = self.qarg(st.qubits)
        for q in qs:
            self.emit([Instruction("reset", (q,))], cond, st)

    def st_QuantumMeasurementStatement(self, st, cond) -> None:
        if st.target is None:
            raise self.unsupported("a measurement without a target bit ('measure q;') is", st)
        bits, single = self.carg(st.target)
        self.measure_into(st.measure.qubit, bits, single, st, cond)

    def measure_into(self, qnode, bits, single_bit, st, cond) -> None:
        qs, _ = self.qarg(qnode)
        if len(qs) != len(bits):
            raise self.error(f"measure: {len(qs)} qubit(s) into {len(bits)} bit(s); the sizes must match", st)
        for q, b in zip(qs, bits):
            self.emit([Instruction("measure", (q,), clbits=(b,))], cond, st)

    # --- control flow -----------------------------------------------------------------------
    def st_BranchingStatement(self, st, cond) -> None:
        if cond is not None:
            raise self.unsupported("an 'if' inside an 'if' (Kizuna has one condition per operation) is", st)
        c = self.condition(st.condition)
        self.block(st.if_block, c)
        if st.else_block:
            if len(c.clbits) != 1:
                raise self.unsupported(
                    "'else' after a condition on a register of several bits (Kizuna conditions test equality) is", st
                )
            self.block(st.else_block, Condition(c.register, c.clbits, 1 - c.value))

    def block(self, statements, cond) -> None:
        self.scopes.append({})
        try:
            for s in statements:
                self.statement(s, cond)
        finally:
            self.scopes.pop()

    def condition(self, node) -> Condition:
        kind = type(node).__name__
        if kind == "UnaryExpression" and node.op.name == "!":
            c = self.condition(node.expression)
            if len(c.clbits) != 1:
                raise self.unsupported("'!' of a register of several bits in a condition is", node)
            return Condition(c.register, c.clbits, 1 - c.value)
        if kind == "BinaryExpression" and node.op.name in ("==", "!="):
            lhs, rhs = node.lhs, node.rhs
            bits = self.cond_bits(lhs)
            if bits is None:
                lhs, rhs = rhs, lhs
                bits = self.cond_bits(lhs)
            if bits is None:
                raise self.unsupported("this condition (Kizuna compares bits or a bit register with a number) is", node)
            value = self.eval(rhs)
            if isinstance(value, bool):
                value = int(value)
            if not isinstance(value, int) or value < 0 or value >= (1 << len(bits[1])):
                raise self.error(f"condition value {value!r} does not fit in {bits[0]} ({len(bits[1])} bit(s))", rhs)
            if node.op.name == "!=":
                if len(bits[1]) != 1:
                    raise self.unsupported("'!=' on a register of several bits is", node)
                value = 1 - value
            return Condition(bits[0], tuple(bits[1]), value)
        bits = self.cond_bits(node)
        if bits is not None and len(bits[1]) == 1:
            return Condition(bits[0], tuple(bits[1]), 1)
        raise self.unsupported("this condition (Kizuna compares bits or a bit register with a number) is", node)

    def cond_bits(self, node):
        kind = type(node).__name__
        if kind == "Identifier":
            sym = self.lookup(node.name)
            if sym is not None and sym.kind == "creg":
                return sym.reg, sym.indices
            return None
        if kind == "IndexExpression" and type(node.collection).__name__ == "Identifier":
            sym = self.lookup(node.collection.name)
            if sym is None or sym.kind != "creg":
                return None
            idx = self.indices(node.index, sym, node)
            if len(idx) != 1:
                return None
            return f"{sym.reg}[{sym.indices.index(idx[0])}]", idx
        return None

    def st_ForInLoop(self, st, cond) -> None:
        for _ in self.loop(st):
            self.block(st.block, cond)

    def loop(self, st):
        values = self.loop_values(st.set_declaration)
        name = st.identifier.name
        frame: dict[str, _Sym] = {}
        self.scopes.append(frame)
        try:
            for v in values:
                frame[name] = _Sym("value", value=v)
                yield v
        finally:
            self.scopes.pop()

    def loop_values(self, node) -> list:
        kind = type(node).__name__
        if kind == "RangeDefinition":
            start = self.int_value(node.start, "a range start")
            end = self.int_value(node.end, "a range end")
            step = 1 if node.step is None else self.int_value(node.step, "a range step")
            if step == 0:
                raise self.error("a range step cannot be 0", node)
            return list(range(start, end + (1 if step > 0 else -1), step))
        if kind == "DiscreteSet":
            return [self.eval(v) for v in node.values]
        raise self.unsupported("looping over this kind of set is", node)

    # --- arguments --------------------------------------------------------------------------
    def qarg(self, node) -> tuple[list[int], bool]:
        """Qubits of an argument and whether it is a register (broadcast)."""
        kind = type(node).__name__
        if kind == "Identifier":
            if _PHYSICAL.match(node.name):
                return [int(node.name[1:])], False
            sym = self.lookup(node.name)
            if sym is None or sym.kind != "qreg":
                what = "is not a qubit or qubit register" if sym is not None else "is not declared"
                raise self.error(f"'{node.name}' {what}", node)
            return list(sym.indices), not sym.single
        if kind == "IndexedIdentifier":
            sym = self.lookup(node.name.name)
            if sym is None or sym.kind != "qreg":
                raise self.error(f"'{node.name.name}' is not a qubit register", node)
            if len(node.indices) != 1:
                raise self.unsupported("multi-dimensional indexing is", node)
            index = node.indices[0]
            idx = self.indices(index, sym, node)
            items = index if isinstance(index, list) else [index]
            many = len(items) != 1 or type(items[0]).__name__ in ("RangeDefinition", "DiscreteSet")
            return idx, many
        raise self.unsupported(f"this qubit argument ({kind}) is", node)

    def carg(self, node) -> tuple[list[int], bool]:
        kind = type(node).__name__
        if kind == "Identifier":
            sym = self.lookup(node.name)
            if sym is None or sym.kind != "creg":
                raise self.error(f"'{node.name}' is not a bit register", node)
            return list(sym.indices), sym.single
        if kind == "IndexedIdentifier":
            sym = self.lookup(node.name.name)
            if sym is None or sym.kind != "creg":
                raise self.error(f"'{node.name.name}' is not a bit register", node)
            if len(node.indices) != 1:
                raise self.unsupported("multi-dimensional indexing is", node)
            return self.indices(node.indices[0], sym, node), False
        raise self.unsupported(f"this bit argument ({kind}) is", node)

    def indices(self, index_list, sym: _Sym, node) -> list[int]:
        if not isinstance(index_list, list):  # DiscreteSet as the whole index
            index_list = [index_list]
        out = []
        size = len(sym.indices)
        for item in index_list:
            kind = type(item).__name__
            if kind == "RangeDefinition":
                start = 0 if item.start is None else self.int_value(item.start, "a range start")
                end = size - 1 if item.end is None else self.int_value(item.end, "a range end")
                step = 1 if item.step is None else self.int_value(item.step, "a range step")
                if step == 0:
                    raise self.error("a range step cannot be 0", item)
                start, end = start % size if start < 0 else start, end % size if end < 0 else end
                positions = list(range(start, end + (1 if step > 0 else -1), step))
            elif kind == "DiscreteSet":
                positions = [self.int_value(v, "an index") for v in item.values]
            else:
                positions = [self.int_value(item, "an index")]
            for i in positions:
                if not -size <= i < size:
                    raise self.error(f"index {i} out of range for a register of size {size}", item)
                out.append(sym.indices[i])
        return out

    def broadcast(self, operands, name, st) -> list[tuple[int, ...]]:
        sizes = {len(qs) for qs, many in operands if many}
        if not sizes:
            return [tuple(qs[0] for qs, _ in operands)]
        if len(sizes) > 1:
            raise self.error(f"registers of different sizes {sorted(sizes)} in one call of '{name}'", st)
        (n,) = sizes
        return [tuple(qs[i] if many else qs[0] for qs, many in operands) for i in range(n)]

    # --- expressions ------------------------------------------------------------------------
    def int_value(self, node, what: str) -> int:
        v = self.eval(node)
        if isinstance(v, bool) or not isinstance(v, int | float) or (isinstance(v, float) and not v.is_integer()):
            raise self.error(f"{what} must be an integer known when the file is read (got {v!r})", node)
        return int(v)

    def eval(self, node):
        kind = type(node).__name__
        if kind == "IntegerLiteral":
            return int(node.value)
        if kind == "FloatLiteral":
            return float(node.value)
        if kind == "BooleanLiteral":
            return bool(node.value)
        if kind == "BitstringLiteral":
            return int(node.value)
        if kind == "Identifier":
            name = node.name
            sym = self.lookup(name)
            if sym is not None and sym.kind == "value":
                if sym.value is None:
                    raise self.error(f"variable '{name}' is used before it has a value", node)
                return sym.value
            if name in _CONSTANTS:
                return _CONSTANTS[name]
            if sym is not None:
                raise self.unsupported(f"using the {sym.kind} '{name}' as a value is", node)
            raise self.error(f"unknown name '{name}'", node)
        if kind == "UnaryExpression":
            v = self.eval(node.expression)
            op = node.op.name
            if op == "-":
                return -v
            if op == "!":
                return not v
            if op == "~" and isinstance(v, int):
                return ~v
            raise self.unsupported(f"the operator {op!r} here is", node)
        if kind == "BinaryExpression":
            return self.binary(node.op.name, self.eval(node.lhs), self.eval(node.rhs), node)
        if kind == "FunctionCall":
            fname = node.name.name
            args = [self.eval(a) for a in node.arguments]
            if fname in _FUNCS and len(args) == 1:
                a = args[0]
                f = getattr(_pm, _FUNCS[fname])
                if isinstance(a, ParameterExpression):
                    return f(a)
                try:
                    return _pm._FUNCS[_FUNCS[fname]](float(a))
                except (ValueError, OverflowError):
                    raise self.error(f"cannot take {fname}({a!r})", node) from None
            if fname == "mod" and len(args) == 2:
                return self.binary("%", args[0], args[1], node)
            if fname == "pow" and len(args) == 2:
                return self.binary("**", args[0], args[1], node)
            raise self.unsupported(f"the function '{fname}' with {len(args)} argument(s) is", node)
        if kind == "Cast":
            return self.cast(type(node.type).__name__, self.eval(node.argument), node)
        if kind == "IndexExpression":
            raise self.unsupported("reading bits as values outside an 'if' condition is", node)
        if kind == "DurationLiteral":
            raise self.unsupported("timing (durations) is", node)
        if kind == "QuantumMeasurement":
            raise self.unsupported("a measurement inside an expression is", node)
        raise self.unsupported(f"the expression {kind} is", node)

    def binary(self, op, a, b, node):
        sym = isinstance(a, ParameterExpression) or isinstance(b, ParameterExpression)
        try:
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            if op == "/":
                if not sym and isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool):
                    return a // b if a % b == 0 else a / b
                return a / b
            if op == "**":
                return a**b
            if sym:
                raise self.unsupported(f"the operator {op!r} on a free parameter is", node)
            if op == "%":
                return a % b
            comparisons = {
                "==": lambda: a == b, "!=": lambda: a != b, "<": lambda: a < b, ">": lambda: a > b,
                "<=": lambda: a <= b, ">=": lambda: a >= b, "&&": lambda: bool(a) and bool(b),
                "||": lambda: bool(a) or bool(b),
            }  # fmt: skip
            if op in comparisons:
                return comparisons[op]()
            if isinstance(a, int) and isinstance(b, int):
                ints = {"&": a & b, "|": a | b, "^": a ^ b}
                if op in ints:
                    return ints[op]
                if op in ("<<", ">>"):
                    return a << b if op == "<<" else a >> b
        except ZeroDivisionError:
            raise self.error("division by zero", node) from None
        except (OverflowError, ValueError) as exc:
            raise self.error(f"cannot compute {a!r} {op} {b!r} ({exc})", node) from None
        raise self.unsupported(f"the operator {op!r} on {a!r} and {b!r} is", node)


def _is_const(sym: _Sym) -> bool:
    return sym.value is not None


def _same_up_to_phase(a: np.ndarray, b: np.ndarray, atol: float = 1e-9) -> bool:
    k = int(np.argmax(np.abs(b)))
    bk = b.flat[k]
    if abs(bk) < 1e-12:
        return False
    phase = a.flat[k] / bk
    if abs(abs(phase) - 1) > 1e-9:
        return False
    return bool(np.allclose(a, phase * b, rtol=0, atol=atol))


def _walk(nodes):
    """Every AST node under ``nodes`` (lists and dataclass fields, depth first)."""
    stack = list(nodes)[::-1]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node[::-1])
            continue
        if not hasattr(node, "__dataclass_fields__"):
            continue
        yield node
        for name in node.__dataclass_fields__:
            if name == "span":
                continue
            v = getattr(node, name, None)
            if isinstance(v, list) or hasattr(v, "__dataclass_fields__"):
                stack.append(v)


def _openqasm3():
    from .._optional import require

    require("openqasm3", "qasm3")
    return require("openqasm3.parser", "qasm3")


def _parse(text: str, filename: str):
    parser = _openqasm3()
    try:
        # ANTLR's default listener prints lexer errors to stderr; the error raised says it all.
        with contextlib.redirect_stderr(io.StringIO()):
            return parser.parse(text)
    except parser.QASM3ParsingError as exc:
        raise _syntax_error(exc, text, filename) from None
    except RecursionError:
        raise QasmError("the program is nested too deeply", filename=filename) from None


def _syntax_error(exc, text: str, filename: str) -> QasmError:
    m = re.match(r"L(\d+):C(\d+): (.*)", str(exc))
    if m:  # the lexer's message: a character no token starts with
        msg = m.group(3).replace("token recognition error at:", "unexpected character")
        return QasmError(msg, filename=filename, line=int(m.group(1)), column=int(m.group(2)) + 1)
    cause = exc.__cause__
    inner = cause.args[0] if cause is not None and cause.args else cause
    tok = getattr(inner, "offendingToken", None)
    if tok is None:
        return QasmError(f"syntax error ({exc or type(exc).__name__})", filename=filename)
    found = "the end of the file" if tok.type == -1 else f"'{tok.text}'"
    expected = ""
    recognizer = getattr(inner, "recognizer", None)
    with contextlib.suppress(Exception):
        toks = inner.getExpectedTokens()
        names = [recognizer.literalNames[t] if 0 <= t < len(recognizer.literalNames) and recognizer.literalNames[t] != "<INVALID>" else recognizer.symbolicNames[t] for t in toks.toList()]
        names = [n for n in names if n]
        if 0 < len(names) <= 6:
            expected = "; expected " + " or ".join(names)
    line, col = tok.line, tok.column + 1
    hint = ""
    # A missing ';' is found only at the next token, often on the next line: say so.
    if tok.line > 1 and "';'" in expected and text.split("\n")[tok.line - 1][: tok.column].strip() == "":
        hint = " (is a ';' missing at the end of the previous line?)"
    return QasmError(f"syntax error: unexpected {found}{expected}{hint}", filename=filename, line=line, column=col)


def loads(text: str, *, filename: str | None = None, inputs: Mapping | None = None) -> Circuit:
    """Read an OpenQASM 3 program into a ``Circuit``.

    Args:
        text: the program.
        filename: a name for error messages (default ``"<string>"``); relative ``include``
            files other than ``stdgates.inc`` are looked up in the current directory.
        inputs: values for ``input`` declarations, ``{name: number}``. A float or angle input
            not given becomes a free ``Parameter`` of that name; int and bool inputs must be
            given.

    Returns:
        The circuit: registers in declaration order, one instruction per broadcast element,
        ``gate`` definitions as ``CompositeGate`` (modified calls expanded), loops unrolled.
        Global phases are dropped (see the module docstring).

    Raises:
        QasmError: a syntax error, a name or size that is wrong, or a feature Kizuna does not
            support; ``str(error)`` reads ``file:line:col: message``.
        InteropError: the ``openqasm3`` parser is not installed (``pip install
            'kizuna[qasm3]'``).

    Example:
        >>> from kizuna import qasm3
        >>> c = qasm3.loads('OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; bit[2] c; '
        ...                  'h q[0]; ctrl @ x q[0], q[1]; c = measure q;')
        >>> [ins.name for ins in c]
        ['h', 'cx', 'measure', 'measure']
    """
    if not isinstance(text, str):
        raise TypeError(f"loads takes the program as str (got {type(text).__name__}); use load() for a path")
    if inputs is not None and not isinstance(inputs, Mapping):
        raise TypeError(f"inputs must be a mapping of names to numbers (got {type(inputs).__name__})")
    return _read(text.lstrip("\ufeff"), filename or "<string>", None, inputs)


def load(path: str | os.PathLike, *, inputs: Mapping | None = None) -> Circuit:
    """Read an OpenQASM 3 file into a ``Circuit`` named after the file's stem.

    Args:
        path: the file (UTF-8); errors name it as given. Relative includes are looked up in
            its folder.
        inputs: values for ``input`` declarations (see ``loads``).

    Raises:
        QasmError: see ``loads``.
        OSError: the file cannot be read.

    Example:
        >>> import pathlib, tempfile
        >>> from kizuna import qasm3
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.qasm3"
        >>> _ = p.write_text('OPENQASM 3.0; include "stdgates.inc"; qubit q; x q;')
        >>> qasm3.load(p).count_ops()
        {'x': 1}
    """
    from .qasm2 import _read_source

    p = Path(path)
    circuit = _read(_read_source(path), os.fspath(path), p.parent, inputs)
    circuit.name = p.stem
    return circuit


def _read(text: str, filename: str, base_dir, inputs) -> Circuit:
    reader = _Reader(filename, base_dir, inputs)
    try:
        reader.run(text)
    except QasmError:
        raise
    except RecursionError:
        raise reader.error("the program is nested too deeply") from None
    except Exception as exc:
        if type(exc).__module__.startswith("kizuna") and not isinstance(exc, CircuitError):
            raise
        raise reader.error(f"internal error while reading this statement ({type(exc).__name__}: {exc}); please report it") from exc
    unused = sorted(set(reader.inputs) - reader.used_inputs)
    if unused:
        raise QasmError(f"inputs {unused} are not declared as 'input' in the program", filename=filename)
    return reader.circuit


# --- writing -----------------------------------------------------------------------------------------

_PM_FUNCS_OUT = {"ln": "log", "asin": "arcsin", "acos": "arccos", "atan": "arctan"}


def _fmt_number(x: float) -> str:
    x = float(x)
    if not math.isfinite(x):
        raise CircuitError(f"cannot write the non-finite parameter {x!r} in OpenQASM 3")
    return "pi" if x == _PI else repr(x)


def _fmt_expr(p) -> str:
    if not isinstance(p, ParameterExpression):
        return _fmt_number(p)
    if isinstance(p, Parameter):
        return p.name
    op, args = p._op, p._args
    if op == "neg":
        return f"-({_fmt_expr(args[0])})"
    if op in ("+", "-", "*", "/", "^"):
        sym = "**" if op == "^" else op
        return f"({_fmt_expr(args[0])} {sym} {_fmt_expr(args[1])})"
    return f"{_PM_FUNCS_OUT.get(op, op)}({_fmt_expr(args[0])})"


def _check_identifier(name: str, what: str) -> None:
    if not _IDENT.match(name) or name in _KEYWORDS or name in _STDGATES:
        raise CircuitError(
            f"cannot write {what} '{name}' in OpenQASM 3: a name must be an identifier that is "
            "not a keyword or a stdgates.inc gate"
        )


def _call_text(ins: Instruction, qubit_text, allowed: frozenset | None) -> str:
    def param(p):
        if isinstance(p, ParameterExpression) and allowed is not None and not p.parameters <= allowed:
            extra = ", ".join(sorted(x.name for x in p.parameters - allowed))
            raise CircuitError(f"parameter(s) {extra} are not parameters of the gate being written")
        return _fmt_expr(p)

    qs = ", ".join(qubit_text(q) for q in ins.qubits)
    if ins.name in ("reset", "barrier"):
        return f"{ins.name} {qs};"
    name, prefix = ins.name, ""
    params = list(ins.params)
    if ins.name in _WRITE_AS:
        name, prefix = _WRITE_AS[ins.name]
    ps = f"({', '.join(param(p) for p in params)})" if params else ""
    return f"{prefix}{name}{ps} {qs};"


def dumps(circuit: Circuit) -> str:
    """Write a circuit as an OpenQASM 3 program.

    The text starts with ``OPENQASM 3.0;`` and ``include "stdgates.inc";``, then an ``input
    float[64]`` line per free parameter, definitions of the composite gates used (dependencies
    first) and of the table gates ``stdgates.inc`` lacks (``rxx ryy rzz rzx ecr rccx rc3x
    c3sqrtx cu1 cu3 u0``), then ``qubit[n]``/``bit[n]`` per register and one statement per instruction.
    Floats are written with ``repr`` (``pi`` for exactly ``math.pi``). Gates ``stdgates.inc``
    has under another spelling are written so: ``u`` as ``U``, ``csx`` as
    ``ctrl @ sx``, ``sxdg`` as ``inv @ sx``, ``c3x``/``c4x`` as ``ctrl(3) @ x``/``ctrl(4) @ x``.
    ``u2``/``u3`` are written by name: in OpenQASM 3 they carry
    a global phase ``e^{-i(φ+λ)/2}`` more than Kizuna's (irrelevant outside ``ctrl``).

    A composite gate keeps its parameter names (so that ``loads`` gives an equal gate back).
    Note that qiskit-qasm3-import (0.6) binds a user gate's arguments to its parameters in the
    alphabetical order of their names, so it misreads gates whose parameters are declared in
    another order; name them ``p0, p1, ...`` or ``a, b, ...`` when Qiskit must read the file.

    Args:
        circuit: the circuit to write.

    Returns:
        The program text, ending with a newline.

    Raises:
        CircuitError: OpenQASM 3 cannot express the circuit: a ``unitary`` instruction, a
            condition that reads neither one whole register nor one bit, names that are not
            identifiers or clash with keywords, or two different gates of one name.

    Example:
        >>> from kizuna import Circuit
        >>> from kizuna import qasm3
        >>> print(qasm3.dumps(Circuit(2, 2).h(0).cx(0, 1).measure(1, 1)), end="")
        OPENQASM 3.0;
        include "stdgates.inc";
        qubit[2] q;
        bit[2] c;
        h q[0];
        cx q[0], q[1];
        c[1] = measure q[1];
    """
    composites: dict[str, CompositeGate] = {}
    extra: set[str] = set()

    def visit(ins: Instruction) -> None:
        if ins.name == "unitary":
            raise CircuitError(
                "OpenQASM 3 cannot express a 'unitary' instruction (an explicit matrix); decompose it into gates first"
            )
        if ins.definition is not None:
            g = ins.definition
            seen = composites.get(g.name)
            if seen is not None:
                if seen is not g and seen != g:
                    raise CircuitError(f"two different gates are called '{g.name}'; OpenQASM 3 needs one name per gate")
                return
            for b in g.body:
                visit(b)
            composites[g.name] = g
        elif ins.name in _EXTRA_DEFINITIONS:
            extra.add(ins.name)
        elif ins.name not in _WRITE_AS_IS and ins.name not in _WRITE_AS and ins.name not in ("measure", "reset", "barrier"):
            spec = GATES.get(ins.name)
            if spec is None or spec.definition is None:
                raise CircuitError(f"no OpenQASM 3 spelling is known for gate '{ins.name}'")
            for n, qs, pf in spec.definition:
                visit(_ins(n, qs, pf()))
            extra.add(ins.name)

    for ins in circuit.instructions:
        visit(ins)

    out = ["OPENQASM 3.0;", 'include "stdgates.inc";']
    taken = set(composites) | set(extra)
    for p in circuit.parameters:
        _check_identifier(p.name, "parameter")
        out.append(f"input float[64] {p.name};")
    taken |= {p.name for p in circuit.parameters}
    for name in sorted(extra, key=lambda n: (n not in _EXTRA_DEFINITIONS, n)):  # dependencies first
        if name in _EXTRA_DEFINITIONS:
            out.append(_EXTRA_DEFINITIONS[name])
        else:  # a table gate with a definition (rc3x): write that definition
            spec = GATES[name]
            qn = [f"q{i}" for i in range(spec.num_qubits)]
            body = " ".join(
                _call_text(_ins(n, qs, pf()), qn.__getitem__, frozenset()) for n, qs, pf in spec.definition
            )
            out.append(f"gate {name} {', '.join(qn)} {{ {body} }}")
    for g in composites.values():
        out.append(_gate_definition(g))

    qname: list[str] = []
    for r in circuit.qregs:
        _check_identifier(r.name, "register")
        if r.name in taken:
            raise CircuitError(f"cannot write register '{r.name}': a gate or parameter of that name is written too")
        out.append(f"qubit[{r.size}] {r.name};")
        qname += [f"{r.name}[{i}]" for i in range(r.size)]
    cname: list[str] = []
    cregs: dict[tuple, str] = {}
    for r in circuit.cregs:
        _check_identifier(r.name, "register")
        if r.name in taken:
            raise CircuitError(f"cannot write register '{r.name}': a gate or parameter of that name is written too")
        out.append(f"bit[{r.size}] {r.name};")
        cname += [f"{r.name}[{i}]" for i in range(r.size)]
        cregs[tuple(r.indices)] = r.name

    for ins in circuit.instructions:
        if ins.name == "measure":
            text = f"{cname[ins.clbits[0]]} = measure {qname[ins.qubits[0]]};"
        else:
            text = _call_text(ins, lambda q: qname[q], None)
        cond = ins.condition
        if cond is not None:
            reg = cregs.get(tuple(cond.clbits))
            if reg is not None:
                test = f"{reg} == {cond.value}"
            elif len(cond.clbits) == 1:  # a bit compares with a bool (Qiskit insists)
                test = f"{cname[cond.clbits[0]]} == {'true' if cond.value else 'false'}"
            else:
                raise CircuitError(
                    f"OpenQASM 3 output conditions on one whole register or one bit; {ins.label()} is "
                    f"conditioned on clbits {list(cond.clbits)}"
                )
            text = f"if ({test}) {{ {text} }}"
        out.append(text)
    return "\n".join(out) + "\n"


def _gate_definition(g: CompositeGate) -> str:
    _check_identifier(g.name, "gate")
    params = [p.name for p in g.params]
    for p in params:
        _check_identifier(p, f"parameter of gate '{g.name}',")
    qubits = []
    for i in range(g.num_qubits):
        q = f"q{i}"
        while q in params:
            q += "_"
        qubits.append(q)
    allowed = frozenset(g.params)
    body = " ".join(_call_text(ins, lambda q: qubits[q], allowed) for ins in g.body)
    head = f"gate {g.name}({', '.join(params)})" if params else f"gate {g.name}"
    return f"{head} {', '.join(qubits)} {{ {body} }}" if body else f"{head} {', '.join(qubits)} {{ }}"


def dump(circuit: Circuit, path: str | os.PathLike) -> None:
    """Write a circuit to an OpenQASM 3 file, atomically (temporary file, then rename).

    Raises:
        CircuitError: OpenQASM 3 cannot express the circuit (see ``dumps``); nothing is written.
        OSError: the folder is not writable.

    Example:
        >>> import pathlib, tempfile
        >>> from kizuna import Circuit
        >>> from kizuna import qasm3
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "bell.qasm3"
        >>> qasm3.dump(Circuit(2).h(0).cx(0, 1), p)
        >>> qasm3.load(p) == Circuit(2).h(0).cx(0, 1)
        True
    """
    atomic_write_text(path, dumps(circuit))
