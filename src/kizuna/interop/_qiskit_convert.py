"""Convert circuits between Kizuna and Qiskit: ``from_qiskit`` and ``to_qiskit``.

Both directions keep qubit and clbit indices (qubit ``k`` has weight ``2**k`` in Kizuna and in
Qiskit), register names and sizes, symbolic parameters (names kept) and custom gate names.

What maps to what:

* Every gate of Kizuna's table (``kizuna.core.gates.GATES``) maps to the Qiskit standard gate of
  the same matrix, exactly (no global phase is lost): ``u1``/``U1Gate``, ``u3``/``U3Gate``,
  ``u``/``UGate``, ``p``/``PhaseGate``, ``cu``/``CUGate`` (with its ``gamma``), ``c3x``/
  ``C3XGate``, ``rc3x``/``RC3XGate``, ``c3sqrtx``/``C3SXGate`` and so on. The legacy idle gate
  ``u0(gamma)`` (an identity) becomes a Qiskit ``Gate`` named ``u0`` with an empty definition,
  and comes back as ``u0``. Qiskit's multi-controlled ``MCXGate`` with 1 to 4 closed controls
  becomes ``cx``/``ccx``/``c3x``/``c4x``; a controlled gate with open controls (``ctrl_state``)
  goes through its definition.
* Other Qiskit gates with a definition (custom gates from ``QuantumCircuit.to_gate``, library
  gates Kizuna has no row for, such as ``iswap``, ``dcx``, ``ccz``, ``xx_plus_yy``, and
  ``ControlledGate``s) become ``CompositeGate``s, recursively, so their names survive. A
  composite's formal parameters are the free parameters its body uses (sorted by name), and the
  instruction passes those same parameters, so binding the circuit binds the body. When two
  different bodies share one name (the same custom gate at two bound angles), the second is
  renamed ``name_1`` (then ``name_2``, ...). A name that is not an identifier or that a built-in
  gate owns is made one (``"my gate"`` -> ``my_gate``, ``cx`` -> ``cx_custom``). A parameterised
  Qiskit *standard* gate without a table row (``r``, ``xx_plus_yy``, ``cu_o0``) becomes one
  composite with formal parameters ``_p0, _p1, ...`` shared by all its instances, and
  ``to_qiskit`` turns exactly that composite back into the Qiskit standard gate.
* A Qiskit ``Operation`` that is not an ``Instruction``: a ``Clifford`` (anything with
  ``to_circuit()``) becomes a composite of its circuit; an ``AnnotatedOperation`` (``control``/
  ``inverse``/``power`` modifiers) becomes ``unitary`` from Qiskit's ``Operator``.
* An opaque Qiskit gate (no definition) that has a matrix, and ``UnitaryGate``, become
  ``unitary``; the matrix is little-endian over the gate's qubits in both tools.
* ``measure``, ``reset``, ``barrier`` map one to one; ``delay`` is dropped (Kizuna has no
  timing in the circuit); a non-gate instruction with a definition (``Initialize``) is inlined:
  ``Initialize`` becomes its resets followed by a ``state_preparation`` composite gate, which
  is Qiskit's own exact decomposition (so the prepared state is exact up to a global phase).
* Conditions: Qiskit's ``if_test`` on a classical register or on one clbit becomes a Kizuna
  ``Condition`` on every instruction of its body (the body may not write the bits it is
  conditioned on, nor hold control flow). An ``else`` branch is accepted only for a one-clbit
  condition (it becomes the opposite condition). A ``box`` is inlined. ``while``, ``for``,
  ``switch``, ``break``/``continue``, classical expressions (``expr``) and ``store`` raise
  ``InteropError`` naming the instruction. Back to Qiskit, each conditioned instruction becomes
  its own ``if_test`` block on the register (or on the single clbit).
* Global phase: a Kizuna circuit carries none. ``from_qiskit`` drops ``QuantumCircuit.
  global_phase``, ``GlobalPhaseGate`` and the global phase of every definition it expands, so
  the Kizuna circuit's state vector equals Qiskit's up to a global phase; probabilities,
  counts and expectation values are unchanged. Gates of the table carry no hidden phase, so a
  circuit made only of them converts exactly.
* Parameters: a Qiskit ``Parameter`` becomes a Kizuna ``Parameter`` of the same name when the
  name is an identifier; otherwise the name is made one by ``kizuna_parameter_name``
  (``theta[3]`` from a ``ParameterVector`` becomes ``theta_3``). Expressions built from
  ``+ - * / **``, ``sin cos tan asin acos atan exp log`` convert both ways; anything else (``abs``,
  ``sign``, complex values) raises ``InteropError``.

This module imports Qiskit (through ``_optional.require``) when it is imported; ``kizuna.interop``
imports it only on first use of ``from_qiskit``/``to_qiskit``.
"""

from __future__ import annotations

import numbers
import re

import numpy as np

from .._optional import require
from ..computing.circuit import (
    NON_GATES,
    Circuit,
    CompositeGate,
    Condition,
    Instruction,
)
from ..computing.parameters import Parameter as KParameter
from ..computing.parameters import ParameterExpression as KExpression
from ..computing.parameters import acos as _kacos
from ..computing.parameters import asin as _kasin
from ..computing.parameters import atan as _katan
from ..computing.parameters import cos as _kcos
from ..computing.parameters import exp as _kexp
from ..computing.parameters import ln as _kln
from ..computing.parameters import sin as _ksin
from ..computing.parameters import tan as _ktan
from ..core.gates import GATES
from ..errors import InteropError

qiskit = require("qiskit", "qiskit")

from qiskit import QuantumCircuit
from qiskit.circuit import (
    BoxOp,
    CircuitInstruction,
    ClassicalRegister,
    Clbit,
    ControlFlowOp,
    Gate,
    IfElseOp,
    QuantumRegister,
)
from qiskit.circuit import Parameter as QParameter
from qiskit.circuit import ParameterExpression as QExpression
from qiskit.circuit import library as qlib

__all__ = ["from_qiskit", "kizuna_parameter_name", "to_qiskit"]

# Kizuna table name -> Qiskit gate class (same matrix, same parameter order).
_TO_QISKIT_CLASS = {
    "id": qlib.IGate,
    "x": qlib.XGate,
    "y": qlib.YGate,
    "z": qlib.ZGate,
    "h": qlib.HGate,
    "s": qlib.SGate,
    "sdg": qlib.SdgGate,
    "t": qlib.TGate,
    "tdg": qlib.TdgGate,
    "sx": qlib.SXGate,
    "sxdg": qlib.SXdgGate,
    "rx": qlib.RXGate,
    "ry": qlib.RYGate,
    "rz": qlib.RZGate,
    "p": qlib.PhaseGate,
    "u1": qlib.U1Gate,
    "u2": qlib.U2Gate,
    "u3": qlib.U3Gate,
    "u": qlib.UGate,
    "cx": qlib.CXGate,
    "cy": qlib.CYGate,
    "cz": qlib.CZGate,
    "ch": qlib.CHGate,
    "swap": qlib.SwapGate,
    "csx": qlib.CSXGate,
    "crx": qlib.CRXGate,
    "cry": qlib.CRYGate,
    "crz": qlib.CRZGate,
    "cp": qlib.CPhaseGate,
    "cu1": qlib.CU1Gate,
    "cu3": qlib.CU3Gate,
    "cu": qlib.CUGate,
    "rxx": qlib.RXXGate,
    "ryy": qlib.RYYGate,
    "rzz": qlib.RZZGate,
    "rzx": qlib.RZXGate,
    "ecr": qlib.ECRGate,
    "ccx": qlib.CCXGate,
    "cswap": qlib.CSwapGate,
    "rccx": qlib.RCCXGate,
    "c3x": qlib.C3XGate,
    "rc3x": qlib.RC3XGate,
    "c3sqrtx": qlib.C3SXGate,
    "c4x": qlib.C4XGate,
}
_FROM_QISKIT_CLASS = {cls: name for name, cls in _TO_QISKIT_CLASS.items()}
_MCX_NAMES = {1: "cx", 2: "ccx", 3: "c3x", 4: "c4x"}

_IDENT = re.compile(r"[^0-9A-Za-z_]")


def kizuna_parameter_name(name: str) -> str:
    """The Kizuna parameter name ``from_qiskit`` gives a Qiskit parameter called ``name``.

    Identifiers are kept; other characters become ``_`` and trailing ``_`` are dropped, so a
    ``ParameterVector`` element ``theta[3]`` becomes ``theta_3``; a leading digit gets a ``p_``
    prefix.

    Example:
        >>> kizuna_parameter_name("theta"), kizuna_parameter_name("theta[3]")
        ('theta', 'theta_3')
    """
    if name.isidentifier():
        return name
    out = _IDENT.sub("_", name).rstrip("_") or "p"
    if not out.isidentifier():
        out = "p_" + out
    return out


def _identifier(name: str, fallback: str) -> str:
    if isinstance(name, str) and name.isidentifier():
        return name
    out = _IDENT.sub("_", str(name or "")).strip("_") or fallback
    return out if out.isidentifier() else f"{fallback}_{out}"


# --- parameters: Qiskit -> Kizuna ---------------------------------------------------------------
class _FromQiskit:
    """State of one ``from_qiskit`` conversion: parameter names and composite gates."""

    def __init__(self):
        self.params: dict[str, tuple[object, KParameter]] = {}  # kizuna name -> (qiskit param, kizuna)
        self.gates: dict[str, list[CompositeGate]] = {}  # base name -> gates made under it
        self.sympy = None
        self.formal: set = set()  # formal parameters of symbolic standard gates (local names)
        self.symbolic: dict = {}  # (name, qubits, params, ctrl_state) -> CompositeGate

    # parameters ------------------------------------------------------------------------------
    def parameter(self, qp) -> KParameter:
        if qp in self.formal:
            return KParameter(qp.name)
        kname = kizuna_parameter_name(qp.name)
        known = self.params.get(kname)
        if known is not None:
            if known[0] != qp:
                raise InteropError(
                    f"Qiskit parameters {known[0].name!r} and {qp.name!r} would both be named "
                    f"{kname!r} in Kizuna; rename one"
                )
            return known[1]
        kp = KParameter(kname)
        self.params[kname] = (qp, kp)
        return kp

    def value(self, p, where: str):
        """A float or Kizuna expression from a Qiskit gate parameter."""
        if isinstance(p, QExpression):
            if not p.parameters:
                try:
                    z = complex(p)
                except (TypeError, ValueError):
                    raise InteropError(f"{where}: cannot evaluate parameter {p}") from None
                if abs(z.imag) > 1e-12:
                    raise InteropError(f"{where}: parameter {p} is complex, Kizuna angles are real")
                return float(z.real)
            if isinstance(p, QParameter):
                return self.parameter(p)
            return self.expression(p, where)
        if isinstance(p, numbers.Real) and not isinstance(p, bool):
            return float(p)
        if isinstance(p, numbers.Complex) and abs(complex(p).imag) <= 1e-12:
            return float(complex(p).real)
        raise InteropError(f"{where}: parameter {p!r} ({type(p).__name__}) is not a real angle")

    def expression(self, expr, where: str):
        sympy = self.sympy = self.sympy or require("sympy", "qiskit")
        symbols = {}
        for qp in expr.parameters:
            symbols[qp.name] = self.parameter(qp)
        try:
            tree = expr.sympify()
        except Exception as exc:  # noqa: BLE001 - Qiskit raises several types here
            raise InteropError(f"{where}: cannot read parameter expression {expr} ({exc})") from None
        return _from_sympy(sympy, tree, symbols, f"{where}: parameter expression {expr}")

    # gates ----------------------------------------------------------------------------------
    def composite(self, name: str, num_qubits: int, body: list[Instruction]) -> CompositeGate:
        base = _identifier(name, "gate")
        if base in GATES or base in NON_GATES or base == "unitary":
            base = f"{base}_custom"
        free: set[KParameter] = set()
        for ins in body:
            for p in ins.params:
                if isinstance(p, KExpression):
                    free |= p.parameters
        made = self.gates.setdefault(base, [])
        gate = CompositeGate(base, num_qubits, tuple(sorted(free)), tuple(body))
        for i, g in enumerate(made):
            candidate = gate if i == 0 else CompositeGate(g.name, num_qubits, gate.params, gate.body)
            if g == candidate:
                return g
        if made:
            gate = CompositeGate(f"{base}_{len(made)}", num_qubits, gate.params, gate.body)
        made.append(gate)
        return gate


def _from_sympy(sympy, node, symbols: dict, where: str):
    """A Kizuna expression (or float) from a SymPy tree of Qiskit's parameter expression."""
    if node.is_Symbol:
        return symbols[node.name]
    if node.is_Number or node is sympy.pi or node is sympy.E:
        z = complex(node.evalf())
        if z.imag:
            raise InteropError(f"{where} holds the complex number {node}; Kizuna angles are real")
        return z.real
    args = [_from_sympy(sympy, a, symbols, where) for a in node.args]
    if node.is_Add:
        out = args[0]
        for a in args[1:]:
            out = out + a
        return out
    if node.is_Mul:
        out = args[0]
        for a in args[1:]:
            out = out * a
        return out
    if node.is_Pow:
        base, expo = args
        if expo == -1.0:
            return 1.0 / base
        if expo == 0.5:
            return base**0.5
        return base**expo
    funcs = {
        sympy.sin: _ksin,
        sympy.cos: _kcos,
        sympy.tan: _ktan,
        sympy.asin: _kasin,
        sympy.acos: _kacos,
        sympy.atan: _katan,
        sympy.exp: _kexp,
        sympy.log: _kln,
    }
    f = funcs.get(node.func)
    if f is not None and len(args) == 1:
        return f(args[0])
    raise InteropError(f"{where} uses {node.func.__name__}, which Kizuna expressions do not have")


# --- Qiskit -> Kizuna -----------------------------------------------------------------------
def _partition(bits, registers) -> list[tuple[str, int]] | None:
    """``registers`` as ``(name, size)`` when they cover ``bits`` once each, in order."""
    out, i = [], 0
    for reg in registers:
        if list(reg) != list(bits[i : i + len(reg)]):
            return None
        out.append((reg.name, len(reg)))
        i += len(reg)
    return out if i == len(bits) else None


def from_qiskit(qc, *, name=None) -> Circuit:
    """A Kizuna ``Circuit`` equal to the Qiskit ``QuantumCircuit`` ``qc``.

    Qubit ``k`` and clbit ``k`` of ``qc`` (its ``qubits``/``clbits`` order) become qubit and
    clbit ``k``. Registers keep their names and sizes when they cover the bits in order without
    overlap (names that are not identifiers get ``_`` for the odd characters); otherwise the
    qubits form one register ``q`` and the clbits one register ``c``. The module docstring lists
    how each kind of instruction maps; the global phase is dropped (see there).

    Args:
        qc: a ``qiskit.QuantumCircuit``.
        name: the Kizuna circuit's name (default: ``qc.name``).

    Returns:
        A new ``kizuna.Circuit``.

    Raises:
        InteropError: ``qc`` is not a ``QuantumCircuit``, or holds something Kizuna cannot
            represent (``while``/``for``/``switch`` loops, classical expressions, a gate with
            neither a definition nor a matrix, a complex parameter); the message names the
            instruction and its position.

    Example:
        >>> from qiskit import QuantumCircuit
        >>> qc = QuantumCircuit(2, 2)
        >>> _ = qc.h(0); _ = qc.cx(0, 1); _ = qc.measure([0, 1], [0, 1])
        >>> c = from_qiskit(qc)
        >>> c.count_ops(), [r.name for r in c.qregs + c.cregs]
        ({'measure': 2, 'h': 1, 'cx': 1}, ['q', 'c'])
    """
    if not isinstance(qc, QuantumCircuit):
        raise InteropError(f"from_qiskit expects a qiskit.QuantumCircuit (got {type(qc).__name__})")
    out = Circuit(name=qc.name if name is None else name)
    used: set[str] = set()

    def add(kind, regs, fallback, bits):
        layout = _partition(bits, regs)
        if layout is None:
            layout = [(fallback, len(bits))] if bits else []
        for rname, size in layout:
            rname = _identifier(rname, fallback)
            while rname in used:
                rname = f"{rname}_"
            used.add(rname)
            (out.add_qreg if kind == "q" else out.add_creg)(rname, size)

    add("q", qc.qregs, "q", qc.qubits)
    add("c", qc.cregs, "c", qc.clbits)
    state = _FromQiskit()
    qidx = {b: i for i, b in enumerate(qc.qubits)}
    cidx = {b: i for i, b in enumerate(qc.clbits)}
    instructions: list[Instruction] = []
    for pos, ci in enumerate(qc.data):
        _convert_instruction(
            state,
            ci.operation,
            tuple(qidx[q] for q in ci.qubits),
            tuple(cidx[b] for b in ci.clbits),
            instructions,
            f"instruction {pos} ({ci.operation.name!r})",
            out,
            qc,
        )
    for ins in instructions:
        out.append_instruction(ins)
    return out


def _convert_instruction(state, op, qubits, clbits, out, where, kcirc, qcirc, condition=None):
    """Append the Kizuna instructions for Qiskit operation ``op`` on ``qubits``/``clbits`` (Kizuna
    indices) to ``out``. ``kcirc``/``qcirc`` are the top-level circuits (for condition registers),
    ``None`` inside a gate body."""
    name = op.name

    def emit(ins: Instruction):
        if condition is not None:
            if ins.name == "barrier":
                return
            ins = ins.replace(condition=condition)
        out.append(ins)

    if isinstance(op, ControlFlowOp):
        _convert_control_flow(state, op, qubits, clbits, out, where, kcirc, qcirc, condition)
        return
    if name == "measure":
        emit(Instruction("measure", qubits, clbits=clbits))
        return
    if name == "reset":
        emit(Instruction("reset", qubits))
        return
    if name == "barrier":
        emit(Instruction("barrier", qubits))
        return
    if name in ("delay", "global_phase"):
        return  # no timing in a Kizuna circuit; global phase is dropped (module docstring)
    if name == "store" or name in ("break_loop", "continue_loop"):
        raise InteropError(f"{where}: Kizuna circuits have no {name!r} (classical control)")
    base = getattr(op, "base_class", type(op))
    table = _FROM_QISKIT_CLASS.get(base)
    if base is qlib.MCXGate or isinstance(op, qlib.MCXGate):
        table = _MCX_NAMES.get(op.num_ctrl_qubits)
    if table is not None and getattr(op, "ctrl_state", None) not in (None, (1 << getattr(op, "num_ctrl_qubits", 0)) - 1):
        table = None  # open controls: use the definition
    if table is not None and len(qubits) == GATES[table].num_qubits:
        emit(Instruction(table, qubits, tuple(state.value(p, where) for p in op.params)))
        return
    if name == "u0" and len(qubits) == 1 and len(op.params) == 1 and not (op.definition and len(op.definition.data)):
        emit(Instruction("u0", qubits, (state.value(op.params[0], where),)))
        return
    if isinstance(op, qlib.UnitaryGate):
        emit(_unitary(op, qubits, where))
        return
    if isinstance(op, Gate) and op.params and getattr(op, "_standard_gate", None) is not None:
        gate = _symbolic_standard_gate(state, op, where)
        if gate is not None:
            emit(Instruction(gate.name, qubits, tuple(state.value(p, where) for p in op.params), definition=gate))
            return
    definition = None
    if not hasattr(op, "definition"):  # an Operation that is not an Instruction
        _convert_operation(state, op, qubits, where, emit)
        return
    try:
        definition = op.definition
    except Exception as exc:  # noqa: BLE001 - a broken _define is the gate's bug, say so
        raise InteropError(f"{where}: Qiskit could not build the definition of {name!r} ({exc})") from None
    if definition is not None:
        body: list[Instruction] = []
        dq = {b: i for i, b in enumerate(definition.qubits)}
        dc = {b: i for i, b in enumerate(definition.clbits)}
        for j, sub in enumerate(definition.data):
            _convert_instruction(
                state,
                sub.operation,
                tuple(qubits[dq[q]] if not isinstance(op, Gate) else dq[q] for q in sub.qubits),
                tuple(clbits[dc[b]] for b in sub.clbits) if not isinstance(op, Gate) else (),
                body,
                f"{where} -> {sub.operation.name!r} [{j}] of its definition",
                kcirc if not isinstance(op, Gate) else None,
                qcirc if not isinstance(op, Gate) else None,
            )
        if not isinstance(op, Gate):  # an instruction (Initialize): inline its body
            for ins in body:
                emit(ins)
            return
        gate = state.composite(name, len(qubits), body)
        emit(Instruction(gate.name, qubits, gate.params, definition=gate))
        return
    if isinstance(op, Gate):
        try:
            matrix = op.to_matrix()
        except Exception:  # noqa: BLE001 - an opaque gate without a matrix
            matrix = None
        if matrix is not None:
            return emit(_unitary(op, qubits, where, matrix))
    raise InteropError(
        f"{where}: Kizuna cannot represent {name!r} ({type(op).__name__}): it has no definition "
        f"and no matrix"
    )


def _convert_operation(state, op, qubits, where, emit) -> None:
    """A Qiskit ``Operation`` that is no ``Instruction`` (``Clifford``, ``AnnotatedOperation``):
    its circuit (``to_circuit()``) as a composite gate of its name, else its matrix as
    ``unitary``."""
    to_circuit = getattr(op, "to_circuit", None)
    if callable(to_circuit):
        body_qc = to_circuit()
        body: list[Instruction] = []
        dq = {b: i for i, b in enumerate(body_qc.qubits)}
        for j, sub in enumerate(body_qc.data):
            _convert_instruction(
                state, sub.operation, tuple(dq[q] for q in sub.qubits), (), body,
                f"{where} -> {sub.operation.name!r} [{j}] of its circuit", None, None,
            )
        gate = state.composite(op.name, len(qubits), body)
        emit(Instruction(gate.name, qubits, gate.params, definition=gate))
        return
    try:
        from qiskit.quantum_info import Operator

        matrix = Operator(op).data
    except Exception as exc:  # noqa: BLE001 - Qiskit raises several types here
        raise InteropError(
            f"{where}: Kizuna cannot represent {op.name!r} ({type(op).__name__}): no circuit and no "
            f"matrix ({exc})"
        ) from None
    emit(_unitary(op, qubits, where, matrix))


def _symbolic_standard_gate(state, op, where) -> CompositeGate | None:
    """A parameterised Qiskit standard gate Kizuna has no row for (``r``, ``xx_plus_yy``, a
    ``cu`` with an open control) as one composite gate with formal parameters, shared by all
    its instances whatever their angles; ``None`` if Qiskit cannot build it symbolically."""
    key = (op.name, op.num_qubits, len(op.params), getattr(op, "ctrl_state", None))
    cached = state.symbolic.get(key)
    if cached is not None:
        return cached
    formal = [QParameter(f"_p{i}") for i in range(len(op.params))]
    kwargs = {"ctrl_state": op.ctrl_state} if getattr(op, "ctrl_state", None) is not None else {}
    try:
        symbolic = op.base_class(*formal, **kwargs)
        definition = symbolic.definition
    except Exception:  # noqa: BLE001 - not constructible from symbols: fall back to the instance
        return None
    if symbolic.name != op.name or definition is None:
        return None
    state.formal.update(formal)
    body: list[Instruction] = []
    dq = {b: i for i, b in enumerate(definition.qubits)}
    for j, sub in enumerate(definition.data):
        _convert_instruction(
            state, sub.operation, tuple(dq[q] for q in sub.qubits), (), body,
            f"{where} -> {sub.operation.name!r} [{j}] of its definition", None, None,
        )
    params = tuple(KParameter(p.name) for p in formal)
    name = _identifier(op.name, "gate")
    if name in GATES or name in NON_GATES or name == "unitary":
        name = f"{name}_custom"
    made = state.gates.setdefault(name, [])
    gate = CompositeGate(name if not made else f"{name}_{len(made)}", op.num_qubits, params, tuple(body))
    made.append(gate)
    state.symbolic[key] = gate
    return gate


def _unitary(op, qubits, where, matrix=None) -> Instruction:
    m = np.array(op.to_matrix() if matrix is None else matrix, dtype=np.complex128)
    if m.shape != (1 << len(qubits),) * 2:
        raise InteropError(f"{where}: matrix of shape {m.shape} does not act on {len(qubits)} qubit(s)")
    err = np.abs(m.conj().T @ m - np.eye(len(m))).max()
    if err > 1e-8:
        raise InteropError(f"{where}: the matrix of {op.name!r} is not unitary (max |U†U - I| = {err:.1e})")
    m.setflags(write=False)
    return Instruction("unitary", qubits, matrix=m)


def _convert_condition(cond, clbits, block_clbits, where, kcirc, qcirc) -> tuple[Condition, bool]:
    """``(Condition, is_one_bit)`` for a Qiskit ``(Clbit | ClassicalRegister, value)``."""
    if not isinstance(cond, tuple):
        raise InteropError(
            f"{where}: Kizuna conditions compare one register or clbit with an integer; "
            f"the classical expression {cond} has no Kizuna form"
        )
    target, value = cond
    if qcirc is None:
        raise InteropError(f"{where}: a condition inside a gate definition")
    cidx = {b: i for i, b in enumerate(qcirc.clbits)}
    if isinstance(target, Clbit):
        bit = cidx[target]
        reg = next((r for r in kcirc.cregs if bit in r.indices), None)
        label = reg.name if reg is not None and reg.size == 1 else (f"{reg.name}_{bit - reg.start}" if reg else "c")
        return Condition(label if label.isidentifier() else "c", (bit,), int(bool(value))), True
    if isinstance(target, ClassicalRegister):
        bits = tuple(cidx[b] for b in target)
        reg = next((r for r in kcirc.cregs if tuple(r.indices) == bits), None)
        label = reg.name if reg is not None else _identifier(target.name, "c")
        return Condition(label, bits, int(value)), len(bits) == 1
    raise InteropError(f"{where}: unsupported condition target {target!r}")


def _convert_control_flow(state, op, qubits, clbits, out, where, kcirc, qcirc, condition):
    if condition is not None:
        raise InteropError(f"{where}: nested control flow ({op.name!r} inside a condition) has no Kizuna form")
    if isinstance(op, BoxOp):
        body = op.blocks[0]
        _convert_block(state, body, qubits, clbits, out, where, kcirc, qcirc, None)
        return
    if not isinstance(op, IfElseOp):
        raise InteropError(
            f"{where}: Kizuna cannot represent the control-flow operation {op.name!r} "
            f"({type(op).__name__}); it takes only if_test on a register or clbit"
        )
    if kcirc is None:
        raise InteropError(f"{where}: control flow inside a gate definition")
    true_body = op.blocks[0]
    false_body = op.blocks[1] if len(op.blocks) > 1 else None
    cond, one_bit = _convert_condition(op.condition, clbits, None, where, kcirc, qcirc)
    if false_body is not None and len(false_body.data) and not one_bit:
        raise InteropError(
            f"{where}: an if_test with an else branch on a multi-bit register has no Kizuna form "
            f"(Kizuna conditions test equality only)"
        )
    _convert_block(state, true_body, qubits, clbits, out, where, kcirc, qcirc, cond)
    if false_body is not None and len(false_body.data):
        negated = Condition(cond.register, cond.clbits, 1 - cond.value)
        _convert_block(state, false_body, qubits, clbits, out, where + " (else)", kcirc, qcirc, negated)


def _convert_block(state, block, qubits, clbits, out, where, kcirc, qcirc, cond):
    bq = {b: qubits[i] for i, b in enumerate(block.qubits)}
    bc = {b: clbits[i] for i, b in enumerate(block.clbits)}
    for j, sub in enumerate(block.data):
        sq = tuple(bq[q] for q in sub.qubits)
        sc = tuple(bc[b] for b in sub.clbits)
        if cond is not None and set(sc) & set(cond.clbits):
            raise InteropError(
                f"{where}: the body writes clbit(s) {sorted(set(sc) & set(cond.clbits))} that its own "
                f"condition reads; Kizuna tests the condition before each instruction"
            )
        _convert_instruction(
            state, sub.operation, sq, sc, out, f"{where} -> {sub.operation.name!r} [{j}]", kcirc, qcirc, cond
        )


# --- Kizuna -> Qiskit -----------------------------------------------------------------------
class _ToQiskit:
    def __init__(self):
        self.params: dict[str, QParameter] = {}
        self.bodies: dict[int, tuple[CompositeGate, QuantumCircuit, list]] = {}

    def parameter(self, p: KParameter) -> QParameter:
        q = self.params.get(p.name)
        if q is None:
            q = self.params[p.name] = QParameter(p.name)
        return q

    def value(self, p):
        if not isinstance(p, KExpression):
            return float(p)
        return _to_qiskit_expr(self, p)

    def gate_body(self, gate: CompositeGate):
        cached = self.bodies.get(id(gate))
        if cached is not None and cached[0] is gate:
            return cached[1], cached[2]
        body = QuantumCircuit(gate.num_qubits, name=gate.name)
        for ins in gate.body:
            _append(self, body, ins, body.qubits, [])
        formal = [self.parameter(p) for p in gate.params]
        self.bodies[id(gate)] = (gate, body, formal)
        return body, formal


def _to_qiskit_expr(state: _ToQiskit, e):
    if not isinstance(e, KExpression):
        return float(e)
    if isinstance(e, KParameter):
        return state.parameter(e)
    op, args = e._op, [_to_qiskit_expr(state, a) for a in e._args]
    binary = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b,
        "^": lambda a, b: a**b,
    }
    if op in binary:
        return binary[op](*args)
    if op == "neg":
        return -args[0]
    (a,) = args
    if not isinstance(a, QExpression):  # cannot happen for folded trees; keep numbers numeric
        return _to_qiskit_expr(state, e.bind({}))
    method = {
        "sin": "sin",
        "cos": "cos",
        "tan": "tan",
        "asin": "arcsin",
        "acos": "arccos",
        "atan": "arctan",
        "exp": "exp",
        "ln": "log",
    }.get(op)
    if method is not None:
        return getattr(a, method)()
    if op == "sqrt":
        return a**0.5
    raise InteropError(f"parameter expression {e} uses {op!r}, which has no Qiskit form")


def _append(state: _ToQiskit, qc: QuantumCircuit, ins: Instruction, qbits, cbits, fast: bool = True) -> None:
    qargs = [qbits[q] for q in ins.qubits]
    cargs = [cbits[b] for b in ins.clbits]
    if ins.name == "measure":
        qc.measure(qargs[0], cargs[0])
    elif ins.name == "reset":
        qc.reset(qargs[0])
    elif ins.name == "barrier":
        qc.barrier(*qargs)
    elif ins.name == "unitary":
        qc.append(qlib.UnitaryGate(np.asarray(ins.matrix), check_input=False), qargs)
    elif ins.definition is not None and (std := _standard_twin(ins.definition)) is not None:
        qc.append(std(*[state.value(p) for p in ins.params]), qargs)
    elif ins.definition is not None:
        body, formal = state.gate_body(ins.definition)
        actual = [state.value(p) for p in ins.params]
        gate = Gate(ins.definition.name, ins.definition.num_qubits, actual)
        gate.definition = body.assign_parameters(dict(zip(formal, actual)), inplace=False) if formal else body
        qc.append(gate, qargs)
    elif ins.name == "u0":
        g = Gate("u0", 1, [state.value(ins.params[0])])
        g.definition = QuantumCircuit(1, name="u0")
        qc.append(g, qargs)
    elif ins.name in _TO_QISKIT_CLASS and not fast:
        qc.append(_TO_QISKIT_CLASS[ins.name](*[state.value(p) for p in ins.params]), qargs)
    elif ins.name in _TO_QISKIT_CLASS:
        # QuantumCircuit._append is Qiskit's documented fast path (qubits known valid); it
        # bypasses the control-flow builder, so conditioned instructions take append()
        qc._append(CircuitInstruction(_TO_QISKIT_CLASS[ins.name](*[state.value(p) for p in ins.params]), qargs))
    else:
        raise InteropError(f"to_qiskit: no Qiskit form for Kizuna instruction {ins.label()!r}")


_TWINS: dict[tuple, object] = {}


def _standard_twin(gate: CompositeGate):
    """The Qiskit standard gate class ``from_qiskit`` made ``gate`` from, or ``None``: the gate
    must be exactly the composite that class converts to (name, formal parameters, body), so a
    user's own gate that happens to share a name stays a custom gate."""
    key = (gate.name, gate.num_qubits, len(gate.params))
    if key not in _TWINS:
        _TWINS[key] = None
        template = qlib.get_standard_gate_name_mapping().get(gate.name)
        if template is not None and template.num_qubits == gate.num_qubits and len(template.params) == len(
            gate.params
        ):
            qc = QuantumCircuit(gate.num_qubits)
            qc.append(type(template)(*[QParameter(f"_t{i}") for i in range(len(template.params))]), qc.qubits)
            try:
                made = from_qiskit(qc).instructions[0].definition
            except InteropError:
                made = None
            if made is not None:
                _TWINS[key] = (made, template.base_class)
    twin = _TWINS[key]
    if twin is None or twin[0] != gate:
        return None
    return twin[1]


def to_qiskit(circuit: Circuit):
    """A Qiskit ``QuantumCircuit`` equal to the Kizuna ``circuit``.

    Registers keep their names, sizes and order; table gates become Qiskit standard gates of
    the same matrix (exact, no global phase), composite gates become Qiskit ``Gate``s of the
    same name with a definition, ``unitary`` becomes ``UnitaryGate``, and each conditioned
    instruction becomes an ``if_test`` block on its register (or on its one clbit). Parameters
    become Qiskit ``Parameter``s of the same names. The Qiskit circuit's ``global_phase`` is 0.

    Args:
        circuit: a ``kizuna.Circuit``.

    Returns:
        A new ``qiskit.QuantumCircuit`` named as ``circuit``.

    Raises:
        InteropError: ``circuit`` is not a Kizuna circuit.

    Example:
        >>> import kizuna
        >>> qc = to_qiskit(kizuna.Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1]))
        >>> qc.count_ops()["measure"], [r.name for r in qc.qregs + qc.cregs]
        (2, ['q', 'c'])
    """
    if not isinstance(circuit, Circuit):
        raise InteropError(f"to_qiskit expects a kizuna.Circuit (got {type(circuit).__name__})")
    qregs = [QuantumRegister(r.size, r.name) for r in circuit.qregs]
    cregs = [ClassicalRegister(r.size, r.name) for r in circuit.cregs]
    qc = QuantumCircuit(*qregs, *cregs, name=circuit.name)
    qbits, cbits = list(qc.qubits), list(qc.clbits)
    by_bits = {tuple(r.indices): creg for r, creg in zip(circuit.cregs, cregs)}
    state = _ToQiskit()
    for ins in circuit.instructions:
        cond = ins.condition
        if cond is None:
            _append(state, qc, ins, qbits, cbits)
            continue
        if len(cond.clbits) == 1:
            target = (cbits[cond.clbits[0]], bool(cond.value))
        else:
            reg = by_bits.get(tuple(cond.clbits))
            if reg is None:
                name = f"{cond.register}_cond"
                while any(r.name == name for r in qc.cregs):
                    name += "_"
                reg = ClassicalRegister(name=name, bits=[cbits[b] for b in cond.clbits])
                qc.add_register(reg)
                by_bits[tuple(cond.clbits)] = reg
            target = (reg, cond.value)
        with qc.if_test(target):
            _append(state, qc, ins, qbits, cbits, fast=False)
    return qc
