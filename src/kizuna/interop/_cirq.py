"""Convert circuits between Kizuna and Cirq: ``from_cirq`` and ``to_cirq``.

Bit order. Kizuna gives qubit ``k`` the weight ``2**k`` in a basis-state index; Cirq's
``final_state_vector(circuit, qubit_order=qs)`` gives ``qs[0]`` the *highest* weight
(big-endian). Kizuna qubit ``k`` is ``qs[k]`` (``LineQubit(k)`` for ``to_cirq``), so the two
state vectors are the same tensor with its axes reversed::

    kizuna_state = cirq_state.reshape((2,) * n).transpose(range(n - 1, -1, -1)).reshape(-1)

Gates. Every Kizuna table gate maps to Cirq gates with exactly the same matrix (``u3`` becomes
``Z**(λ/π)``, ``Ry(θ)``, ``Z**(φ/π)``; ``rxx`` is ``XXPowGate(exponent=θ/π,
global_shift=-0.5)``; the few gates Cirq lacks, such as ``ecr`` and ``rccx``, become a
``MatrixGate``). Cirq's gates come back as Kizuna table gates, exactly where the matrices agree
(``cirq.rx``/``ry``/``rz``, ``X``, ``Z**t``, ``CZ**t``, ``FSimGate``, ``ISWAP**t``, ...), and up to
a global phase where they differ only by one: ``XPowGate(t)`` is ``e^{iπt/2} rx(πt)``,
``XXPowGate(t)`` is ``e^{iπt/2} rxx(πt)``, ``SWAP**t`` is ``e^{iπt/4}`` times three rotations.
Under a control such a phase is observable, and it is kept: a controlled gate with phase ``α``
becomes the controlled Kizuna gate and ``p(α)`` on the control. Any other operation with a
known unitary (``MatrixGate``, ``PhasedISwapPowGate``, multi-controlled gates, ...) becomes an
exact ``unitary`` instruction; operations without one are decomposed with
``cirq.decompose_once`` where Cirq knows how.

Parameters. A ``sympy`` symbol becomes a Kizuna ``Parameter`` of the same name; exponents and
angles must be *linear* in the symbols (``2*a + 0.5``), anything else is an ``InteropError``.
Kizuna parameter expressions become ``sympy`` expressions in ``to_cirq``.

Measurements. A Cirq measurement key names a Kizuna classical register: key ``m`` on ``k``
qubits measures into ``m[0..k-1]`` (``m[i]`` holds the measurement's ``i``-th qubit, column
``i`` of Cirq's ``result.measurements["m"]``); a key written ``name[i]`` measures into bit
``i`` of register ``name``. Keys that are not identifiers are changed into ones (``q(0)``
becomes ``q_0_``). A key measured again overwrites the register (Kizuna keeps the last
record; Cirq keeps all, and its conditions read the last one too). ``to_cirq`` measures a
whole register written in one run of measurements in order under the register's name, and
any other measurement under ``name[i]``.

Classical control. ``with_classical_controls(key)`` (Cirq: "the key's value is not 0") and a
``SympyCondition`` on one key become Kizuna conditions on that register: one conditioned copy
of the operation per register value that satisfies the condition (at most ``2**10``).
Conditions on several keys, or on one bit of a wider register, raise ``InteropError``.

This module imports ``cirq`` and ``sympy`` only when called (``pip install 'kizuna[cirq]'``);
it imports ``kizuna.computing`` and nothing above ``interop``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from .._optional import require
from ..computing.circuit import Circuit, Instruction, flatten
from ..computing.parameters import Parameter, ParameterExpression
from ..errors import InteropError

__all__ = ["from_cirq", "to_cirq"]

_PI = math.pi
#: Most register values a condition is expanded over (one conditioned copy per value).
MAX_CONDITION_BITS = 10
_KEY_BIT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[(\d+)\]$")
_ATOL = 1e-12


def _cirq():
    return require("cirq", "cirq")


# =============================================================================================
# from_cirq
# =============================================================================================
class _Op:
    """One Kizuna operation to emit: a table gate, ``unitary``, ``measure`` or ``reset``."""

    __slots__ = ("clbits", "matrix", "name", "params", "qubits")

    def __init__(self, name, qubits, params=(), matrix=None, clbits=()):
        self.name = name
        self.qubits = tuple(qubits)
        self.params = tuple(params)
        self.matrix = matrix
        self.clbits = tuple(clbits)


def _is_symbolic(x) -> bool:
    return isinstance(x, ParameterExpression) or (
        not isinstance(x, (int, float, complex, np.number)) and bool(getattr(x, "free_symbols", None))
    )


class _Converter:
    """State of one ``from_cirq`` call: qubit map, registers, the circuit being built."""

    def __init__(self, cirq, qubit_index: dict, num_qubits: int):
        self.cirq = cirq
        self.qindex = qubit_index
        self.out = Circuit(num_qubits)
        self.keys: dict[str, tuple[str, int | None]] = {}  # key -> (register, bit or None=whole)
        self.where = ""

    # --- errors and numbers ---------------------------------------------------------------
    def fail(self, msg: str) -> InteropError:
        return InteropError(f"{self.where}: {msg}")

    def angle(self, x, scale: float = 1.0):
        """``scale * x`` as a float or a Kizuna expression (``x`` a number or a linear sympy
        expression)."""
        if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
            return float(x) * scale
        free = getattr(x, "free_symbols", None)
        if free is None:
            raise self.fail(f"parameter {x!r} is neither a number nor a sympy expression")
        if not free:
            try:
                return float(x) * scale
            except TypeError:
                raise self.fail(f"parameter {x!r} is not a real number") from None
        import sympy

        const = float(x.subs({s: 0 for s in free})) * scale
        out = None
        for s in sorted(free, key=lambda s: s.name):
            coef = sympy.diff(x, s)
            if coef.free_symbols:
                raise self.fail(
                    f"parameter {x} is not linear in its symbols (d/d{s.name} = {coef}); "
                    "Kizuna takes linear expressions of sympy symbols only (resolve it first "
                    "with cirq.resolve_parameters)"
                )
            if not s.name.isidentifier():
                raise self.fail(f"sympy symbol {s.name!r} is not an identifier, so not a Kizuna Parameter name")
            c = float(coef) * scale
            if c:
                term = c * Parameter(s.name) if c != 1.0 else Parameter(s.name)
                out = term if out is None else out + term
        if out is None:
            return const
        return out + const if const else out

    @staticmethod
    def is_int_mod(t, k: float, period: float = 2.0) -> bool:
        """Whether the number ``t`` equals ``k`` modulo ``period`` (never for symbols)."""
        if _is_symbolic(t):
            return False
        r = (float(t) - k) % period
        return min(r, period - r) < _ATOL

    # --- qubits and keys ------------------------------------------------------------------
    def qubit(self, q) -> int:
        try:
            return self.qindex[q]
        except KeyError:
            raise self.fail(f"qubit {q!r} is not in qubit_order") from None

    def register_keys(self, circuit) -> None:
        """Create one classical register per measurement key (pass 1)."""
        cirq = self.cirq
        sizes: dict[str, int] = {}
        whole: dict[str, int] = {}
        taken: set[str] = set()
        raw_to_reg: dict[str, tuple[str, int | None]] = {}
        for op in circuit.all_operations():
            inner = op.without_classical_controls() if isinstance(op, cirq.ClassicallyControlledOperation) else op
            if not isinstance(inner.gate, cirq.MeasurementGate):
                continue
            key = str(inner.gate.key)
            n = len(inner.qubits)
            m = _KEY_BIT.match(key)
            if m and n == 1:
                reg, bit = m.group(1), int(m.group(2))
                sizes[reg] = max(sizes.get(reg, 0), bit + 1)
                raw_to_reg[key] = (reg, bit)
                taken.add(reg)
                continue
            if key in raw_to_reg:
                reg = raw_to_reg[key][0]
            else:
                reg = _identifier(key, taken)
                taken.add(reg)
                raw_to_reg[key] = (reg, None)
            if reg in whole and whole[reg] != n:
                raise InteropError(
                    f"measurement key {key!r} is used on {whole[reg]} and on {n} qubits; Kizuna "
                    "gives a key one register of one size"
                )
            whole[reg] = n
            sizes[reg] = max(sizes.get(reg, 0), n)
        for reg, n in whole.items():
            if sizes[reg] != n:
                raise InteropError(
                    f"measurement key {reg!r} measures {n} qubit(s) but keys {reg}[i] reach "
                    f"bit {sizes[reg] - 1}"
                )
        for reg, size in sizes.items():
            self.out.add_creg(reg, size)
        self.keys = raw_to_reg

    # --- gates ----------------------------------------------------------------------------
    def one_qubit(self, gate, q: int):
        """``(ops, alpha)``: Kizuna ops on qubit ``q`` whose product is ``e^{-i alpha}`` times
        the gate's matrix, or ``None`` when the gate is not one handled by name."""
        cirq = self.cirq
        t = getattr(gate, "exponent", None)
        s = getattr(gate, "global_shift", 0.0)
        if isinstance(gate, cirq.IdentityGate):
            return [_Op("id", (q,))], 0.0
        if isinstance(gate, (cirq.XPowGate, cirq.YPowGate)):
            is_x = isinstance(gate, cirq.XPowGate)
            names = ((1.0, "x"), (0.5, "sx"), (-0.5, "sxdg")) if is_x else ((1.0, "y"),)
            for k, name in names:
                if self.is_int_mod(t, k):
                    return [_Op(name, (q,))], self.angle(t, _PI * float(s))
            rot = "rx" if is_x else "ry"
            return [_Op(rot, (q,), (self.angle(t, _PI),))], self.angle(t, _PI * (float(s) + 0.5))
        if isinstance(gate, cirq.ZPowGate):
            if not _is_symbolic(s) and abs(float(s) + 0.5) < _ATOL:
                return [_Op("rz", (q,), (self.angle(t, _PI),))], 0.0
            for k, name in ((1.0, "z"), (0.5, "s"), (-0.5, "sdg"), (0.25, "t"), (-0.25, "tdg"), (0.0, "id")):
                if self.is_int_mod(t, k):
                    return [_Op(name, (q,))], self.angle(t, _PI * float(s))
            return [_Op("p", (q,), (self.angle(t, _PI),))], self.angle(t, _PI * float(s))
        if isinstance(gate, cirq.HPowGate):
            alpha = self.angle(t, _PI * float(s))
            if self.is_int_mod(t, 1.0):
                return [_Op("h", (q,))], alpha
            # H = Ry(π/4) Z Ry(-π/4) and H**t shares the eigenphases of Z**t
            return [_Op("ry", (q,), (-_PI / 4,)), _Op("p", (q,), (self.angle(t, _PI),)),
                    _Op("ry", (q,), (_PI / 4,))], alpha
        if type(gate) is cirq.PhasedXPowGate:
            p = gate.phase_exponent
            inner = cirq.XPowGate(exponent=gate.exponent, global_shift=gate.global_shift)
            ops, alpha = self.one_qubit(inner, q)
            return [_Op("p", (q,), (self.angle(p, -_PI),)), *ops, _Op("p", (q,), (self.angle(p, _PI),))], alpha
        if type(gate) is cirq.PhasedXZGate:
            a, x, z = gate.axis_phase_exponent, gate.x_exponent, gate.z_exponent
            ops, alpha = self.one_qubit(cirq.XPowGate(exponent=x), q)
            last = self.angle(a, _PI) + self.angle(z, _PI)
            return [_Op("p", (q,), (self.angle(a, -_PI),)), *ops, _Op("p", (q,), (last,))], alpha
        return None

    def two_qubit(self, gate, a: int, b: int):
        """As ``one_qubit`` for the two-qubit gates handled by name."""
        cirq = self.cirq
        typ = next((k for k in (cirq.CZPowGate, cirq.CXPowGate, cirq.XXPowGate, cirq.YYPowGate,
                                 cirq.ZZPowGate, cirq.SwapPowGate, cirq.ISwapPowGate, cirq.FSimGate)
                    if isinstance(gate, k)), None)
        t = getattr(gate, "exponent", None)
        s = getattr(gate, "global_shift", 0.0)
        if typ is cirq.CZPowGate:
            if self.is_int_mod(t, 1.0):
                return [_Op("cz", (a, b))], self.angle(t, _PI * float(s))
            return [_Op("cp", (a, b), (self.angle(t, _PI),))], self.angle(t, _PI * float(s))
        if typ is cirq.CXPowGate:
            if self.is_int_mod(t, 1.0):
                return [_Op("cx", (a, b))], self.angle(t, _PI * float(s))
            return [_Op("h", (b,)), _Op("cp", (a, b), (self.angle(t, _PI),)), _Op("h", (b,))], \
                self.angle(t, _PI * float(s))
        if typ in (cirq.XXPowGate, cirq.YYPowGate, cirq.ZZPowGate):
            name = {cirq.XXPowGate: "rxx", cirq.YYPowGate: "ryy", cirq.ZZPowGate: "rzz"}[typ]
            return [_Op(name, (a, b), (self.angle(t, _PI),))], self.angle(t, _PI * (float(s) + 0.5))
        if typ is cirq.SwapPowGate:
            if self.is_int_mod(t, 1.0):
                return [_Op("swap", (a, b))], self.angle(t, _PI * float(s))
            th = self.angle(t, _PI / 2)
            return [_Op("rxx", (a, b), (th,)), _Op("ryy", (a, b), (th,)), _Op("rzz", (a, b), (th,))], \
                self.angle(t, _PI * (float(s) + 0.25))
        if typ is cirq.ISwapPowGate:
            th = self.angle(t, -_PI / 2)
            return [_Op("rxx", (a, b), (th,)), _Op("ryy", (a, b), (th,))], self.angle(t, _PI * float(s))
        if typ is cirq.FSimGate:
            th = self.angle(gate.theta)
            return [_Op("rxx", (a, b), (th,)), _Op("ryy", (a, b), (th,)),
                    _Op("cp", (a, b), (self.angle(gate.phi, -1.0),))], 0.0
        return None

    def gate_ops(self, gate, qubits: tuple[int, ...], op):
        """``(ops, alpha)`` for any gate: by name, else its exact unitary (alpha 0)."""
        cirq = self.cirq
        got = None
        if len(qubits) == 1:
            got = self.one_qubit(gate, qubits[0])
        elif len(qubits) == 2:
            got = self.two_qubit(gate, *qubits)
        elif len(qubits) == 3 and not cirq.is_parameterized(gate):
            if isinstance(gate, cirq.CCXPowGate) and self.is_int_mod(gate.exponent, 1.0) and gate.global_shift == 0:
                got = [_Op("ccx", qubits)], 0.0
            elif isinstance(gate, cirq.CCZPowGate) and self.is_int_mod(gate.exponent, 1.0) and gate.global_shift == 0:
                tg = qubits[2]
                got = [_Op("h", (tg,)), _Op("ccx", qubits), _Op("h", (tg,))], 0.0
            elif isinstance(gate, cirq.CSwapGate):
                got = [_Op("cswap", qubits)], 0.0
        if got is None and isinstance(gate, cirq.ControlledGate):
            got = self.controlled(gate.sub_gate, qubits[: gate.num_controls()],
                                  qubits[gate.num_controls():], gate.control_values, op)
        if got is not None:
            return got
        return self.exact_unitary(op, qubits), 0.0

    def exact_unitary(self, op, qubits):
        cirq = self.cirq
        if cirq.is_parameterized(op):
            raise self.fail(
                f"{op!r} has symbolic parameters and no Kizuna gate of its form; resolve them "
                "first with cirq.resolve_parameters"
            )
        if not cirq.has_unitary(op):
            return None
        u = np.asarray(cirq.unitary(op), dtype=np.complex128)
        # cirq's matrix is big-endian over op.qubits: little-endian over them reversed
        return [_Op("unitary", tuple(reversed(qubits)), matrix=u)]

    def controlled(self, sub_gate, controls, targets, control_values, op):
        """Ops of a controlled gate: controlled Kizuna gates where the sub-gate maps to one
        (its phase becomes ``p`` on the control), else ``None`` (exact unitary)."""
        values = list(control_values.expand())
        if len(values) != 1:
            return None  # a sum of products: take the unitary
        (vals,) = values
        flips = [_Op("x", (c,)) for c, v in zip(controls, vals) if v == 0]
        if any(v not in (0, 1) for v in vals):
            return None
        cirq = self.cirq
        body = None
        if len(controls) == 1:
            (c,) = controls
            if len(targets) == 1:
                inner = self.one_qubit(sub_gate, targets[0])
                if inner is not None:
                    body = self.control_ops(inner, c)
            elif len(targets) == 2 and isinstance(sub_gate, cirq.SwapPowGate) and self.is_int_mod(sub_gate.exponent, 1.0) \
                    and sub_gate.global_shift == 0:
                body = [_Op("cswap", (c, *targets))]
        elif len(targets) == 1 and isinstance(sub_gate, cirq.XPowGate) and sub_gate.global_shift == 0 \
                and self.is_int_mod(sub_gate.exponent, 1.0) and len(controls) <= 4:
            name = {2: "ccx", 3: "c3x", 4: "c4x"}[len(controls)]
            body = [_Op(name, (*controls, targets[0]))]
        if body is None:
            return None
        return flips + body + flips, 0.0

    def control_ops(self, inner, c: int):
        ops, alpha = inner
        out = []
        for o in ops:
            q = o.qubits[0]
            if o.name == "id":
                continue
            if o.name in ("x", "y", "z", "h", "sx"):
                out.append(_Op("c" + o.name, (c, q)))
            elif o.name in ("rx", "ry", "rz"):
                out.append(_Op("c" + o.name, (c, q), o.params))
            elif o.name in ("p", "s", "sdg", "t", "tdg"):
                lam = {"s": _PI / 2, "sdg": -_PI / 2, "t": _PI / 4, "tdg": -_PI / 4}.get(o.name)
                out.append(_Op("cp", (c, q), o.params if lam is None else (lam,)))
            elif o.name == "sxdg":
                out.append(_Op("crx", (c, q), (-_PI / 2,)))
                out.append(_Op("p", (c,), (-_PI / 4,)))  # sxdg = e^{-iπ/4} rx(-π/2)
            else:  # pragma: no cover - one_qubit yields only the names above
                return None
        if _is_symbolic(alpha) or abs(float(alpha)) > _ATOL:
            out.append(_Op("p", (c,), (alpha,)))
        return out

    # --- operations -----------------------------------------------------------------------
    def op_list(self, op) -> list[_Op]:
        cirq = self.cirq
        if isinstance(op, cirq.ClassicallyControlledOperation):
            raise self.fail("nested classical control")  # handled by emit
        gate = op.gate
        qubits = tuple(self.qubit(q) for q in op.qubits)
        if isinstance(gate, cirq.MeasurementGate):
            if gate.confusion_map:
                raise self.fail(f"measurement {op!r} has a confusion map; Kizuna measurements have none")
            key = str(gate.key)
            reg, bit = self.keys[key]
            r = self.out.creg(reg)
            bits = [r[bit]] if bit is not None else list(r.indices)
            inv = tuple(gate.full_invert_mask()) if hasattr(gate, "full_invert_mask") else ()
            flips = [_Op("x", (q,)) for q, f in zip(qubits, inv) if f]
            return flips + [_Op("measure", (q,), clbits=(b,)) for q, b in zip(qubits, bits)] + flips
        if isinstance(gate, cirq.ResetChannel):
            return [_Op("reset", qubits)]
        if isinstance(gate, cirq.GlobalPhaseGate) or (not op.qubits and cirq.has_unitary(op)):
            return []  # a global phase is not observable
        if isinstance(op, cirq.ControlledOperation):
            controls = tuple(self.qubit(q) for q in op.controls)
            sub = op.sub_operation
            targets = tuple(self.qubit(q) for q in sub.qubits)
            if sub.gate is not None:
                got = self.controlled(sub.gate, controls, targets, op.control_values, op)
                if got is not None:
                    return got[0]
            ops = self.exact_unitary(op, qubits)
            if ops is None:
                raise self.fail(f"cannot convert the controlled operation {op!r}")
            return ops
        if gate is not None and (cirq.has_unitary(gate) or cirq.is_parameterized(gate)):
            ops, _ = self.gate_ops(gate, qubits, op)
            if ops is not None:
                return ops
        if cirq.has_unitary(op) and not cirq.is_parameterized(op):
            return self.exact_unitary(op, qubits)
        if isinstance(gate, cirq.IdentityGate):
            return [_Op("id", (q,)) for q in qubits]
        sub_ops = cirq.decompose_once(op, default=None)
        if sub_ops is None:
            raise self.fail(
                f"cannot convert {op!r}: no Kizuna equivalent, no unitary and no decomposition "
                "(noise channels and other non-unitary operations besides measure and reset "
                "are not converted)"
            )
        out: list[_Op] = []
        for sub in sub_ops:
            if isinstance(sub, cirq.ClassicallyControlledOperation):
                raise self.fail(f"the decomposition of {op!r} holds classical control")
            out.extend(self.op_list(sub))
        return out

    def emit(self, ops: list[_Op]) -> None:
        c = self.out
        for o in ops:
            if o.name == "measure":
                c.measure(o.qubits[0], o.clbits[0])
            elif o.name == "reset":
                c.reset(list(o.qubits))
            elif o.name == "unitary":
                c.unitary(o.matrix, list(o.qubits))
            else:
                c.gate(o.name, list(o.qubits), list(o.params))

    def condition_values(self, conditions) -> tuple[str, list[int]]:
        """``(register, values)``: the operation runs when the register holds one of values.

        Every key the condition reads must be a measurement into one register (the whole of
        it, or single bits ``name[i]``); the condition is evaluated for every value of that
        register."""
        cirq = self.cirq
        if len(conditions) != 1:
            raise self.fail(f"{len(conditions)} classical conditions; Kizuna takes one condition per operation")
        (cond,) = conditions
        keys = [str(k) for k in cond.keys]
        for key in keys:
            if key not in self.keys:
                raise self.fail(f"condition {cond} reads key {key!r}, which no measurement writes")
        regs = sorted({self.keys[k][0] for k in keys})
        if len(regs) != 1:
            raise self.fail(
                f"condition {cond} reads {len(keys)} measurement keys of registers {regs}; a Kizuna "
                "condition reads one register"
            )
        reg = regs[0]
        n = self.out.creg(reg).size
        if n > MAX_CONDITION_BITS:
            raise self.fail(f"condition on a {n}-bit register: more than 2**{MAX_CONDITION_BITS} values to expand")

        def key_value(key: str, v: int) -> int:
            bit = self.keys[key][1]
            # cirq reads a key as a big-endian integer of its qubits; Kizuna's bit 0 is the
            # least significant
            return _reverse_bits(v, n) if bit is None else (v >> bit) & 1

        if isinstance(cond, cirq.KeyCondition):
            if cond.index != -1:
                raise self.fail(f"condition {cond} reads record {cond.index} of a repeated key; Kizuna keeps the last")
            return reg, [v for v in range(1 << n) if key_value(keys[0], v) != 0]
        if isinstance(cond, cirq.SympyCondition):
            symbols = {str(s): s for s in cond.expr.free_symbols}
            values = []
            for v in range(1 << n):
                subs = {symbols[k]: key_value(k, v) for k in keys if k in symbols}
                if bool(cond.expr.subs(subs)):
                    values.append(v)
            return reg, values
        raise self.fail(f"unsupported classical condition {cond!r}")

    def convert(self, circuit) -> Circuit:
        cirq = self.cirq
        for mi, moment in enumerate(circuit):
            for op in moment.operations:
                self.where = f"moment {mi}, operation {op!r}"
                if isinstance(op, cirq.ClassicallyControlledOperation):
                    reg, values = self.condition_values(op.classical_controls)
                    ops = self.op_list(op.without_classical_controls())
                    for v in values:
                        with self.out.if_test(reg, v):
                            self.emit(ops)
                    continue
                self.emit(self.op_list(op))
        return self.out


def _reverse_bits(v: int, n: int) -> int:
    return int(format(v, f"0{n}b")[::-1], 2) if n else 0


def _identifier(key: str, taken: set[str]) -> str:
    name = re.sub(r"\W", "_", key)
    if not name or not (name[0].isalpha() or name[0] == "_"):
        name = "m_" + name
    base, i = name, 1
    while name in taken:
        name = f"{base}_{i}"
        i += 1
    return name


def from_cirq(circuit, *, qubit_order: Sequence | None = None) -> Circuit:
    """A Kizuna ``Circuit`` from a ``cirq.Circuit``.

    Args:
        circuit: a ``cirq.Circuit`` (or ``FrozenCircuit``); ``CircuitOperation``s are unrolled.
        qubit_order: the Cirq qubits in Kizuna order (qubit ``k`` is ``qubit_order[k]``).
            Default: ``LineQubit(k)`` is qubit ``k`` when every qubit is a ``LineQubit`` (so
            ``from_cirq(to_cirq(c))`` keeps idle qubits), else Cirq's sorted order.

    Returns:
        The circuit. ``statevector(from_cirq(c, qubit_order=qs))`` equals
        ``cirq.final_state_vector(c, qubit_order=qs)`` with its qubit axes reversed (see the
        module docstring), up to a global phase where a gate is converted up to one.

    Raises:
        InteropError: an operation Kizuna cannot represent (a noise channel, a condition on
            several keys, a non-linear symbolic parameter, ...), named with its moment; a
            qubit missing from ``qubit_order``; or cirq is not installed.

    Example:
        >>> import cirq, numpy as np, kizuna
        >>> a, b = cirq.LineQubit.range(2)
        >>> c = from_cirq(cirq.Circuit(cirq.H(a), cirq.CNOT(a, b), cirq.measure(a, b, key="m")))
        >>> [(i.name, i.qubits) for i in c], [r.name for r in c.cregs]
        ([('h', (0,)), ('cx', (0, 1)), ('measure', (0,)), ('measure', (1,))], ['m'])
    """
    cirq = _cirq()
    if not isinstance(circuit, cirq.AbstractCircuit):
        raise InteropError(f"from_cirq takes a cirq.Circuit (got {type(circuit).__name__})")
    circuit = cirq.unroll_circuit_op(circuit, deep=True, tags_to_check=None)
    qubits = sorted(circuit.all_qubits())
    if qubit_order is None:
        if all(isinstance(q, cirq.LineQubit) and q.x >= 0 for q in qubits):
            index = {q: q.x for q in qubits}
            n = max((q.x for q in qubits), default=-1) + 1
        else:
            index = {q: k for k, q in enumerate(qubits)}
            n = len(qubits)
    else:
        order = list(qubit_order)
        if len(set(order)) != len(order):
            raise InteropError(f"qubit_order repeats a qubit (got {order})")
        index = {q: k for k, q in enumerate(order)}
        missing = [q for q in qubits if q not in index]
        if missing:
            raise InteropError(f"qubit_order misses qubit(s) {missing} of the circuit")
        n = len(order)
    conv = _Converter(cirq, index, n)
    conv.register_keys(circuit)
    return conv.convert(circuit)


# =============================================================================================
# to_cirq
# =============================================================================================
def _to_sympy(p):
    """A Kizuna parameter expression as a sympy expression (numbers pass through)."""
    if not isinstance(p, ParameterExpression):
        return float(p)
    import sympy

    if isinstance(p, Parameter):
        return sympy.Symbol(p.name)
    args = [_to_sympy(a) for a in p._args]
    op = p._op
    binary = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
              "/": lambda a, b: a / b, "^": lambda a, b: a**b}
    if op in binary:
        return binary[op](*args)
    if op == "neg":
        return -args[0]
    funcs = {"sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "exp": sympy.exp,
             "ln": sympy.log, "sqrt": sympy.sqrt, "asin": sympy.asin, "acos": sympy.acos,
             "atan": sympy.atan}
    return funcs[op](args[0])


def _over_pi(x):
    """``x / π`` for a float or sympy expression (Cirq's exponents count half-turns)."""
    if isinstance(x, float):
        return x / _PI
    import sympy

    return x / sympy.pi


def _table_gate_ops(cirq, ins: Instruction, qs: list):
    """Cirq operations with exactly the matrix of the Kizuna table gate ``ins``."""
    name = ins.name
    p = [_to_sympy(x) for x in ins.params]
    one = {"id": cirq.I, "x": cirq.X, "y": cirq.Y, "z": cirq.Z, "h": cirq.H, "s": cirq.S,
           "sdg": cirq.S**-1, "t": cirq.T, "tdg": cirq.T**-1, "sx": cirq.XPowGate(exponent=0.5),
           "sxdg": cirq.XPowGate(exponent=-0.5)}
    if name in one:
        return [one[name].on(*qs)]
    if name in ("rx", "ry", "rz"):
        return [getattr(cirq, name)(p[0]).on(*qs)]
    if name in ("p", "u1"):
        return [cirq.ZPowGate(exponent=_over_pi(p[0])).on(*qs)]
    if name == "u0":
        return [cirq.I.on(*qs)]
    if name in ("u2", "u3", "u"):
        theta, phi, lam = ([_PI / 2] + p) if name == "u2" else p
        # u3(θ, φ, λ) = p(φ) ry(θ) p(λ) exactly
        return [cirq.ZPowGate(exponent=_over_pi(lam)).on(*qs), cirq.ry(theta).on(*qs),
                cirq.ZPowGate(exponent=_over_pi(phi)).on(*qs)]
    two = {"cx": cirq.CNOT, "cz": cirq.CZ, "swap": cirq.SWAP, "cy": cirq.ControlledGate(cirq.Y),
           "ch": cirq.ControlledGate(cirq.H), "csx": cirq.ControlledGate(cirq.XPowGate(exponent=0.5)),
           "ccx": cirq.CCX, "cswap": cirq.CSWAP, "c3x": cirq.ControlledGate(cirq.X, num_controls=3),
           "c4x": cirq.ControlledGate(cirq.X, num_controls=4)}
    if name in two:
        return [two[name].on(*qs)]
    if name in ("crx", "cry", "crz"):
        return [cirq.ControlledGate(getattr(cirq, name[1:])(p[0])).on(*qs)]
    if name in ("cp", "cu1"):
        return [cirq.CZPowGate(exponent=_over_pi(p[0])).on(*qs)]
    if name in ("cu3", "cu"):
        theta, phi, lam = p[:3]
        c, t = qs
        ops = [cirq.CZPowGate(exponent=_over_pi(lam)).on(c, t), cirq.ControlledGate(cirq.ry(theta)).on(c, t),
               cirq.CZPowGate(exponent=_over_pi(phi)).on(c, t)]
        if name == "cu":  # e^{iγ} on the controlled block is p(γ) on the control
            ops.append(cirq.ZPowGate(exponent=_over_pi(p[3])).on(c))
        return ops
    if name in ("rxx", "ryy", "rzz"):
        cls = {"rxx": cirq.XXPowGate, "ryy": cirq.YYPowGate, "rzz": cirq.ZZPowGate}[name]
        return [cls(exponent=_over_pi(p[0]), global_shift=-0.5).on(*qs)]
    if name == "rzx":  # exp(-iθ/2 Z_a X_b) = H_b exp(-iθ/2 Z_a Z_b) H_b
        a, b = qs
        return [cirq.H(b), cirq.ZZPowGate(exponent=_over_pi(p[0]), global_shift=-0.5).on(a, b), cirq.H(b)]
    if any(isinstance(x, ParameterExpression) for x in ins.params):  # pragma: no cover - all parametric gates above
        raise InteropError(f"gate {ins.label()} with symbolic parameters has no Cirq form")
    # ecr, rccx, rc3x, c3sqrtx: no Cirq gate of their own; little-endian over qs is
    # big-endian over reversed(qs)
    return [cirq.MatrixGate(np.asarray(ins.to_matrix())).on(*reversed(qs))]


def _sympy_constant(c):
    """``c`` when it is a constant sympy boolean (``sympy.true``/``sympy.false``), else None."""
    import sympy

    return c if isinstance(c, sympy.logic.boolalg.BooleanAtom) else None


def _condition(cirq, cond, writers: dict):
    """A Cirq condition for a Kizuna ``Condition``; ``writers[b]`` is ``(key, index, size)`` of
    the measurement that last wrote clbit ``b``."""
    import sympy

    src = [writers.get(b) for b in cond.clbits]
    n = len(cond.clbits)
    keys = {w[0] for w in src if w is not None}
    if len(keys) == 1 and all(w is not None for w in src):
        (key,) = keys
        if n == 1 and src[0][2] == 1 and cond.value == 1:
            return cirq.KeyCondition(cirq.MeasurementKey(key))
        size = src[0][2]
        if size == n and [w[1] for w in src] == list(range(n)):
            return sympy.Eq(sympy.Symbol(key), _reverse_bits(cond.value, n))
    # general: the register's value from the digits of each writer's key
    total = 0
    for j, w in enumerate(src):
        if w is None:
            continue  # never measured: the bit is 0
        key, idx, size = w
        digit = sympy.Mod(sympy.floor(sympy.Symbol(key) / 2 ** (size - 1 - idx)), 2)
        total = total + 2**j * digit
    return sympy.Eq(total, cond.value)


def to_cirq(circuit: Circuit):
    """A ``cirq.Circuit`` on ``LineQubit(k)`` for Kizuna qubit ``k``.

    Every table gate becomes Cirq gates with exactly its matrix (global phase included);
    composite gates are expanded; symbolic parameters become sympy expressions. Measurements
    take the register name as key when one run of measurements writes a whole register in
    order, else ``name[i]`` (see the module docstring); conditions become ``KeyCondition`` or
    ``SympyCondition``. Barriers are dropped.

    Raises:
        InteropError: cirq is not installed, or ``circuit`` is not a Kizuna ``Circuit``.

    Example:
        >>> import cirq
        >>> from kizuna import Circuit
        >>> c = to_cirq(Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1]))
        >>> print(c)
        0: ───H───@───M('c')───
                  │   │
        1: ───────X───M────────
    """
    cirq = _cirq()
    if not isinstance(circuit, Circuit):
        raise InteropError(f"to_cirq takes a kizuna Circuit (got {type(circuit).__name__})")
    qs = cirq.LineQubit.range(circuit.num_qubits)
    reg_of = {}
    for r in circuit.cregs:
        for i, b in enumerate(r.indices):
            reg_of[b] = (r, i)
    flat = flatten(circuit, symbolic=True)
    ops = []
    writers: dict[int, tuple[str, int, int]] = {}
    i = 0
    while i < len(flat):
        ins = flat[i]
        cond = ins.condition
        if ins.name == "measure" and cond is None:
            reg, pos = reg_of[ins.clbits[0]]
            run = flat[i:i + reg.size]
            if pos == 0 and len(run) == reg.size and all(
                m.name == "measure" and m.condition is None and m.clbits[0] == reg.indices[j]
                for j, m in enumerate(run)
            ) and len({m.qubits[0] for m in run}) == reg.size:
                ops.append(cirq.measure(*(qs[m.qubits[0]] for m in run), key=reg.name))
                for j, b in enumerate(reg.indices):
                    writers[b] = (reg.name, j, reg.size)
                i += reg.size
                continue
            key = f"{reg.name}[{pos}]"
            ops.append(cirq.measure(qs[ins.qubits[0]], key=key))
            writers[ins.clbits[0]] = (key, 0, 1)
            i += 1
            continue
        if ins.name == "measure":
            reg, pos = reg_of[ins.clbits[0]]
            key = f"{reg.name}[{pos}]"
            new = [cirq.measure(qs[ins.qubits[0]], key=key)]
        elif ins.name == "reset":
            new = [cirq.ResetChannel().on(qs[q]) for q in ins.qubits]
        elif ins.name == "unitary":
            new = [cirq.MatrixGate(np.asarray(ins.matrix)).on(*(qs[q] for q in reversed(ins.qubits)))]
        else:
            new = _table_gate_ops(cirq, ins, [qs[q] for q in ins.qubits])
        if cond is not None:
            c = _condition(cirq, cond, writers)
            if c is True or c is False or c is _sympy_constant(c):
                # no measurement wrote the bits yet: they read 0, and the condition is constant
                new = new if bool(c) else []
            else:
                new = [op.with_classical_controls(c) for op in new]
        if ins.name == "measure":
            # a conditioned measurement may or may not overwrite the bit; later conditions
            # read this key (Cirq's records of an unexecuted measurement stay unset)
            writers[ins.clbits[0]] = (key, 0, 1)
        ops.extend(new)
        i += 1
    return cirq.Circuit(ops)
