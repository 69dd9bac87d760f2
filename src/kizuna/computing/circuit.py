"""The circuit IR: ``Circuit``, ``Instruction``, ``CompositeGate`` and classical conditions.

A circuit is a list of instructions over integer-indexed qubits and classical bits, grouped
into named registers (OpenQASM 2's ``qreg``/``creg``; registers take indices in the order they
are added). Bit order follows Kizuna's one convention: qubit ``k`` has weight ``2**k`` in a
basis-state index, classical bit 0 prints rightmost.

Simulators never walk this structure directly: they take ``flatten(circuit)``, a flat list of
validated primitive instructions (table gates, ``unitary``, ``measure``, ``reset``) with numeric
parameters and composite gates expanded.

This module imports ``core`` and its sibling ``parameters``; nothing above ``computing``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import numbers
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..core.gates import GATES, gate_matrix
from ..errors import CircuitError, ParameterError
from .parameters import Parameter, ParameterExpression, evaluate

__all__ = [
    "Circuit",
    "CompositeGate",
    "Condition",
    "Instruction",
    "Register",
    "flatten",
]

#: Instruction names that are not unitary gates.
NON_GATES = frozenset({"measure", "reset", "barrier"})

ParamValue = float | ParameterExpression


@dataclass(frozen=True)
class Register:
    """A named run of consecutive qubit or clbit indices: ``indices == range(start, start+size)``."""

    name: str
    size: int
    start: int

    @property
    def indices(self) -> range:
        return range(self.start, self.start + self.size)

    def __getitem__(self, i: int) -> int:
        if not -self.size <= i < self.size:
            raise CircuitError(f"index {i} out of range for register {self.name}[{self.size}]")
        return self.start + (i % self.size)

    def __len__(self) -> int:
        return self.size


@dataclass(frozen=True)
class Condition:
    """OpenQASM 2's ``if(creg == value)``: the instruction runs only when the integer read from
    ``clbits`` (``clbits[0]`` the least significant bit) equals ``value``.

    ``register`` is the creg's name, kept for printing and export.
    """

    register: str
    clbits: tuple[int, ...]
    value: int

    def __post_init__(self):
        if not 0 <= self.value < (1 << len(self.clbits)):
            raise CircuitError(
                f"condition value {self.value} does not fit in register "
                f"{self.register}[{len(self.clbits)}]"
            )

    def __str__(self) -> str:
        return f"if({self.register}=={self.value})"


@dataclass(frozen=True, eq=False)
class CompositeGate:
    """A user-defined gate: a named body of gates on ``num_qubits`` qubits with formal
    parameters (OpenQASM 2's ``gate name(params) qargs { body }``).

    Body instructions act on qubits ``0 .. num_qubits-1`` and may use the formal parameters in
    their angles. Make one with ``Circuit.to_gate`` and apply it with ``Circuit.append``.
    """

    name: str
    num_qubits: int
    params: tuple[Parameter, ...]
    body: tuple[Instruction, ...]

    def __post_init__(self):
        if not self.name.isidentifier():
            raise CircuitError(f"gate name must be an identifier (got {self.name!r})")
        if self.name in GATES or self.name in NON_GATES or self.name == "unitary":
            raise CircuitError(f"gate name {self.name!r} is taken by a built-in instruction")
        formal = set(self.params)
        for ins in self.body:
            if ins.name in ("measure", "reset") or ins.condition is not None:
                raise CircuitError(
                    f"gate {self.name!r} may hold only gates and barriers (found {ins.name!r})"
                )
            for p in ins.params:
                if isinstance(p, ParameterExpression) and not p.parameters <= formal:
                    extra = ", ".join(sorted(x.name for x in p.parameters - formal))
                    raise CircuitError(f"gate {self.name!r} uses undeclared parameter(s) {extra}")

    def __eq__(self, other) -> bool:
        if not isinstance(other, CompositeGate):
            return NotImplemented
        return (
            self.name == other.name
            and self.num_qubits == other.num_qubits
            and self.params == other.params
            and self.body == other.body
        )

    def __hash__(self) -> int:
        return hash((self.name, self.num_qubits, self.params, len(self.body)))

    def __repr__(self) -> str:
        ps = ",".join(p.name for p in self.params)
        return f"CompositeGate({self.name}({ps}), {self.num_qubits} qubits, {len(self.body)} ops)"


@dataclass(frozen=True, eq=False)
class Instruction:
    """One operation of a circuit.

    Attributes:
        name: a table gate name (``"cx"``), ``"unitary"``, ``"measure"``, ``"reset"``,
            ``"barrier"`` or a composite gate's name.
        qubits: qubit indices, in the gate's argument order (controls first).
        params: angles in radians, floats or ``ParameterExpression``.
        clbits: for ``measure``, the classical bit written (one per qubit).
        condition: a ``Condition`` or ``None``.
        matrix: for ``unitary``, the matrix (little-endian over ``qubits``).
        definition: for composite gates, the ``CompositeGate``.
    """

    name: str
    qubits: tuple[int, ...]
    params: tuple[ParamValue, ...] = ()
    clbits: tuple[int, ...] = ()
    condition: Condition | None = None
    matrix: np.ndarray | None = field(default=None, repr=False)
    definition: CompositeGate | None = field(default=None, repr=False)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Instruction):
            return NotImplemented
        if (
            self.name != other.name
            or self.qubits != other.qubits
            or self.clbits != other.clbits
            or self.condition != other.condition
            or len(self.params) != len(other.params)
            or any(not _param_eq(a, b) for a, b in zip(self.params, other.params))
            or self.definition != other.definition
        ):
            return False
        if (self.matrix is None) != (other.matrix is None):
            return False
        return self.matrix is None or bool(np.array_equal(self.matrix, other.matrix))

    def __hash__(self) -> int:
        return hash((self.name, self.qubits, self.clbits))

    @property
    def is_gate(self) -> bool:
        """True for unitary operations (table gates, ``unitary`` and composite gates)."""
        return self.name not in NON_GATES

    def replace(self, **changes) -> Instruction:
        kw = {"name": self.name, "qubits": self.qubits, "params": self.params, "clbits": self.clbits,
              "condition": self.condition, "matrix": self.matrix, "definition": self.definition}
        kw.update(changes)
        return Instruction(**kw)

    def to_matrix(self) -> np.ndarray:
        """The matrix of a table gate (numeric parameters) or ``unitary``, little-endian over
        ``qubits``.

        Raises:
            CircuitError: a composite gate (flatten the circuit first), a non-unitary
                instruction, or unbound parameters.
        """
        if self.name == "unitary":
            return self.matrix
        if self.name not in GATES:
            hint = "; flatten(circuit) expands composite gates" if self.definition is not None else ""
            raise CircuitError(f"instruction {self.name!r} on qubits {list(self.qubits)} has no matrix{hint}")
        if any(isinstance(p, ParameterExpression) for p in self.params):
            raise ParameterError(f"gate {self.label()} has unbound parameters")
        return gate_matrix(self.name, self.params)

    def label(self) -> str:
        """``name(p1,p2)`` with parameters printed briefly (for diagrams and messages)."""
        if not self.params:
            return self.name
        return f"{self.name}({','.join(_short(p) for p in self.params)})"


def _param_eq(a, b) -> bool:
    if isinstance(a, ParameterExpression) or isinstance(b, ParameterExpression):
        return isinstance(a, ParameterExpression) and isinstance(b, ParameterExpression) and a == b
    return float(a) == float(b)


def _short(p) -> str:
    if isinstance(p, ParameterExpression):
        return str(p)
    p = float(p)
    for k, txt in ((1, "π"), (-1, "-π")):
        if p == k * math.pi:
            return txt
    for d in (2, 3, 4, 8):
        if math.isclose(p, math.pi / d, rel_tol=0, abs_tol=1e-12):
            return f"π/{d}"
        if math.isclose(p, -math.pi / d, rel_tol=0, abs_tol=1e-12):
            return f"-π/{d}"
    return f"{p:.4g}"


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


class Circuit:
    """A quantum circuit: qubits, classical bits, registers and a list of instructions.

    Args:
        num_qubits: qubits in a register named ``q`` (none if 0; add registers with
            ``add_qreg``).
        num_clbits: classical bits in a register named ``c`` (none if 0).
        name: an optional name, used in diagrams and as a composite gate's default name.

    Gate methods take angles first, then qubits, in OpenQASM 2 order (``cx(control, target)``,
    ``crx(theta, control, target)``, ``u(theta, phi, lam, qubit)``), and return the circuit so
    calls chain. A qubit argument may be a sequence: the gate is then applied to each element
    (arguments of equal length are zipped, single indices repeat), as OpenQASM 2 broadcasts
    registers.

    Example:
        >>> from kizuna import Circuit
        >>> bell = Circuit(2, 2, name="bell").h(0).cx(0, 1).measure([0, 1], [0, 1])
        >>> bell.count_ops()
        {'measure': 2, 'h': 1, 'cx': 1}
        >>> bell.depth()
        3
    """

    def __init__(self, num_qubits: int = 0, num_clbits: int = 0, name: str | None = None):
        for arg, v in (("num_qubits", num_qubits), ("num_clbits", num_clbits)):
            if not _is_int(v) or v < 0:
                raise CircuitError(f"{arg} must be a non-negative integer (got {v!r})")
        self.name = name
        self._qregs: list[Register] = []
        self._cregs: list[Register] = []
        self._num_qubits = 0
        self._num_clbits = 0
        self._instructions: list[Instruction] = []
        self._condition: Condition | None = None
        if num_qubits:
            self.add_qreg("q", num_qubits)
        if num_clbits:
            self.add_creg("c", num_clbits)

    # --- registers ---------------------------------------------------------------------------
    def _structure_key(self) -> tuple[int, int]:
        """Changes whenever the instruction list does (it only ever grows, or is replaced)."""
        return (id(self._instructions), len(self._instructions))

    def add_qreg(self, name: str, size: int) -> Register:
        """Add a quantum register of ``size`` new qubits; returns it (index it for qubits)."""
        reg = self._new_register(name, size, self._num_qubits, "qreg")
        self._qregs.append(reg)
        self._num_qubits += size
        return reg

    def add_creg(self, name: str, size: int) -> Register:
        """Add a classical register of ``size`` new bits; returns it."""
        reg = self._new_register(name, size, self._num_clbits, "creg")
        self._cregs.append(reg)
        self._num_clbits += size
        return reg

    def _new_register(self, name, size, start, kind) -> Register:
        if not isinstance(name, str) or not name.isidentifier():
            raise CircuitError(f"{kind} name must be an identifier (got {name!r})")
        if any(r.name == name for r in self._qregs + self._cregs):
            raise CircuitError(f"a register named {name!r} already exists")
        if not _is_int(size) or size < 1:
            raise CircuitError(f"{kind} {name!r} size must be a positive integer (got {size!r})")
        return Register(name, int(size), start)

    @property
    def num_qubits(self) -> int:
        return self._num_qubits

    @property
    def num_clbits(self) -> int:
        return self._num_clbits

    @property
    def qregs(self) -> tuple[Register, ...]:
        return tuple(self._qregs)

    @property
    def cregs(self) -> tuple[Register, ...]:
        return tuple(self._cregs)

    def creg(self, name: str) -> Register:
        """The classical register called ``name``."""
        for r in self._cregs:
            if r.name == name:
                return r
        known = ", ".join(r.name for r in self._cregs) or "none"
        raise CircuitError(f"no classical register named {name!r} (registers: {known})")

    @property
    def instructions(self) -> tuple[Instruction, ...]:
        return tuple(self._instructions)

    def __len__(self) -> int:
        return len(self._instructions)

    def __iter__(self) -> Iterator[Instruction]:
        return iter(self._instructions)

    # --- building ------------------------------------------------------------------------------
    def _check_qubit(self, q) -> int:
        if not _is_int(q):
            raise CircuitError(f"qubit index must be an integer (got {q!r})")
        if not 0 <= q < self._num_qubits:
            raise CircuitError(f"qubit {q} out of range: the circuit has {self._num_qubits} qubit(s)")
        return int(q)

    def _check_clbit(self, b) -> int:
        if not _is_int(b):
            raise CircuitError(f"clbit index must be an integer (got {b!r})")
        if not 0 <= b < self._num_clbits:
            raise CircuitError(f"clbit {b} out of range: the circuit has {self._num_clbits} clbit(s)")
        return int(b)

    def _add(self, ins: Instruction) -> Circuit:
        if self._condition is not None:
            if ins.name == "barrier":
                raise CircuitError("a barrier cannot be conditioned")
            ins = ins.replace(condition=self._condition)
        self._instructions.append(ins)
        return self

    def append_instruction(self, ins: Instruction) -> Circuit:
        """Append a ready-made ``Instruction`` (what converters from other tools build), after
        checking that its qubits are distinct and in range and that its clbits and condition
        bits exist. A condition may read any clbits, e.g. one bit of a register. Inside an
        ``if_test`` block the block's condition replaces the instruction's.

        Raises:
            CircuitError: not an Instruction, or an index out of range or repeated.

        Example:
            >>> from kizuna import Circuit
            >>> from kizuna.computing.circuit import Condition, Instruction
            >>> c = Circuit(2, 2).h(0).measure(0, 1)
            >>> _ = c.append_instruction(Instruction("x", (1,), condition=Condition("c", (1,), 1)))
            >>> str(c.instructions[-1].condition)
            'if(c==1)'
        """
        if not isinstance(ins, Instruction):
            raise CircuitError(f"append_instruction needs an Instruction (got {type(ins).__name__})")
        for q in ins.qubits:
            self._check_qubit(q)
        if len(set(ins.qubits)) != len(ins.qubits):
            raise CircuitError(f"{ins.name} acts on repeated qubits {ins.qubits}")
        for b in ins.clbits + (ins.condition.clbits if ins.condition is not None else ()):
            self._check_clbit(b)
        return self._add(ins)

    @staticmethod
    def _broadcast(args: Sequence, what: str) -> list[tuple]:
        """Zip sequence arguments, repeating single ones (OpenQASM 2 register broadcasting)."""
        for a in args:
            if not _is_int(a) and not hasattr(a, "__len__"):
                raise CircuitError(
                    f"{what}: a qubit or clbit argument must be an integer or a sequence of "
                    f"integers (got {a!r})"
                )
        lengths = {len(a) for a in args if not _is_int(a)}
        if not lengths:
            return [tuple(args)]
        if len(lengths) > 1:
            raise CircuitError(f"{what}: sequence arguments differ in length {sorted(lengths)}")
        (n,) = lengths
        return [tuple(a if _is_int(a) else a[i] for a in args) for i in range(n)]

    def _check_params(self, name, params) -> tuple[ParamValue, ...]:
        out = []
        for p in params:
            if isinstance(p, ParameterExpression):
                out.append(p)
            elif isinstance(p, numbers.Real) and not isinstance(p, bool):
                v = float(p)
                if not math.isfinite(v):
                    raise CircuitError(f"gate {name!r} parameter must be finite (got {p!r})")
                out.append(v)
            else:
                raise CircuitError(f"gate {name!r} parameter must be a number or Parameter (got {p!r})")
        return tuple(out)

    def _gate(self, name: str, params: Sequence, qubits: Sequence) -> Circuit:
        spec = GATES[name]
        params = self._check_params(name, params)
        for qs in self._broadcast(list(qubits), name):
            qs = tuple(self._check_qubit(q) for q in qs)
            if len(set(qs)) != len(qs):
                raise CircuitError(f"gate {name!r} got repeated qubits {qs}")
            assert len(qs) == spec.num_qubits
            self._add(Instruction(name, qs, params))
        return self

    def gate(self, name: str, qubits: Sequence[int], params: Sequence = ()) -> Circuit:
        """Apply the table gate called ``name`` (see ``kizuna.core.gates.GATES``)."""
        spec = GATES.get(name)
        if spec is None:
            raise CircuitError(f"unknown gate {name!r}; known gates: {', '.join(GATES)}")
        qubits = (qubits,) if _is_int(qubits) else tuple(qubits)
        params = tuple(params)
        if len(params) != spec.num_params:
            raise CircuitError(
                f"gate {name!r} takes {spec.num_params} parameter(s) {spec.param_names}, "
                f"got {len(params)}"
            )
        if len(qubits) != spec.num_qubits:
            raise CircuitError(f"gate {name!r} acts on {spec.num_qubits} qubit(s), got {len(qubits)}")
        return self._gate(name, params, qubits)

    # one qubit, no parameters
    def id(self, q):  # OpenQASM's name
        """Identity."""
        return self._gate("id", (), (q,))

    def x(self, q):
        """Pauli X."""
        return self._gate("x", (), (q,))

    def y(self, q):
        """Pauli Y."""
        return self._gate("y", (), (q,))

    def z(self, q):
        """Pauli Z."""
        return self._gate("z", (), (q,))

    def h(self, q):
        """Hadamard."""
        return self._gate("h", (), (q,))

    def s(self, q):
        """S = diag(1, i)."""
        return self._gate("s", (), (q,))

    def sdg(self, q):
        """S† = diag(1, -i)."""
        return self._gate("sdg", (), (q,))

    def t(self, q):
        """T = diag(1, e^{iπ/4})."""
        return self._gate("t", (), (q,))

    def tdg(self, q):
        """T† = diag(1, e^{-iπ/4})."""
        return self._gate("tdg", (), (q,))

    def sx(self, q):
        """√X."""
        return self._gate("sx", (), (q,))

    def sxdg(self, q):
        """√X†."""
        return self._gate("sxdg", (), (q,))

    # one qubit, parameterised
    def rx(self, theta, q):
        """exp(-iθX/2)."""
        return self._gate("rx", (theta,), (q,))

    def ry(self, theta, q):
        """exp(-iθY/2)."""
        return self._gate("ry", (theta,), (q,))

    def rz(self, phi, q):
        """exp(-iφZ/2) = diag(e^{-iφ/2}, e^{iφ/2})."""
        return self._gate("rz", (phi,), (q,))

    def p(self, lam, q):
        """Phase gate diag(1, e^{iλ})."""
        return self._gate("p", (lam,), (q,))

    def u1(self, lam, q):
        """diag(1, e^{iλ}) (OpenQASM 2 name of ``p``)."""
        return self._gate("u1", (lam,), (q,))

    def u2(self, phi, lam, q):
        """u3(π/2, φ, λ)."""
        return self._gate("u2", (phi, lam), (q,))

    def u3(self, theta, phi, lam, q):
        """The general single-qubit gate of OpenQASM 2."""
        return self._gate("u3", (theta, phi, lam), (q,))

    def u(self, theta, phi, lam, q):
        """Same matrix as ``u3``."""
        return self._gate("u", (theta, phi, lam), (q,))

    # two qubits
    def cx(self, control, target):
        """Controlled X (CNOT)."""
        return self._gate("cx", (), (control, target))

    def cy(self, control, target):
        """Controlled Y."""
        return self._gate("cy", (), (control, target))

    def cz(self, control, target):
        """Controlled Z."""
        return self._gate("cz", (), (control, target))

    def ch(self, control, target):
        """Controlled Hadamard."""
        return self._gate("ch", (), (control, target))

    def swap(self, a, b):
        """Exchange two qubits."""
        return self._gate("swap", (), (a, b))

    def csx(self, control, target):
        """Controlled √X."""
        return self._gate("csx", (), (control, target))

    def crx(self, theta, control, target):
        """Controlled rx."""
        return self._gate("crx", (theta,), (control, target))

    def cry(self, theta, control, target):
        """Controlled ry."""
        return self._gate("cry", (theta,), (control, target))

    def crz(self, theta, control, target):
        """Controlled rz."""
        return self._gate("crz", (theta,), (control, target))

    def cp(self, lam, control, target):
        """Controlled phase."""
        return self._gate("cp", (lam,), (control, target))

    def cu1(self, lam, control, target):
        """Controlled u1 (= cp)."""
        return self._gate("cu1", (lam,), (control, target))

    def cu3(self, theta, phi, lam, control, target):
        """Controlled u3."""
        return self._gate("cu3", (theta, phi, lam), (control, target))

    def cu(self, theta, phi, lam, gamma, control, target):
        """Controlled e^{iγ}·u3(θ, φ, λ)."""
        return self._gate("cu", (theta, phi, lam, gamma), (control, target))

    def rxx(self, theta, a, b):
        """exp(-iθ X⊗X/2)."""
        return self._gate("rxx", (theta,), (a, b))

    def ryy(self, theta, a, b):
        """exp(-iθ Y⊗Y/2)."""
        return self._gate("ryy", (theta,), (a, b))

    def rzz(self, theta, a, b):
        """exp(-iθ Z⊗Z/2)."""
        return self._gate("rzz", (theta,), (a, b))

    def rzx(self, theta, a, b):
        """exp(-iθ X_b Z_a/2): Z on ``a``, X on ``b`` (as Qiskit's ``rzx``)."""
        return self._gate("rzx", (theta,), (a, b))

    def ecr(self, a, b):
        """Echoed cross-resonance, (IX - XY)/√2 with X/Y on ``b`` (as Qiskit's ``ecr``)."""
        return self._gate("ecr", (), (a, b))

    # three and more qubits
    def ccx(self, c1, c2, target):
        """Toffoli."""
        return self._gate("ccx", (), (c1, c2, target))

    def cswap(self, control, a, b):
        """Fredkin (controlled swap)."""
        return self._gate("cswap", (), (control, a, b))

    def rccx(self, c1, c2, target):
        """Toffoli up to relative phases (OpenQASM 2's ``rccx``)."""
        return self._gate("rccx", (), (c1, c2, target))

    def c3x(self, c1, c2, c3, target):
        """Three-controlled X."""
        return self._gate("c3x", (), (c1, c2, c3, target))

    def rc3x(self, c1, c2, c3, target):
        """Three-controlled X up to relative phases."""
        return self._gate("rc3x", (), (c1, c2, c3, target))

    def c3sqrtx(self, c1, c2, c3, target):
        """Three-controlled √X."""
        return self._gate("c3sqrtx", (), (c1, c2, c3, target))

    def c4x(self, c1, c2, c3, c4, target):
        """Four-controlled X."""
        return self._gate("c4x", (), (c1, c2, c3, c4, target))

    def unitary(self, matrix, qubits: Sequence[int], *, atol: float = 1e-10) -> Circuit:
        """Apply an arbitrary unitary ``matrix`` to ``qubits``.

        ``qubits[0]`` is the matrix's least significant bit (as for table gates).

        Raises:
            CircuitError: the matrix is not square of size ``2**len(qubits)`` or not unitary
                within ``atol``.
        """
        m = np.array(matrix, dtype=np.complex128)
        qs = tuple(self._check_qubit(q) for q in ((qubits,) if _is_int(qubits) else qubits))
        k = len(qs)
        if len(set(qs)) != k or k == 0:
            raise CircuitError(f"unitary needs distinct qubits (got {qs})")
        if m.shape != (1 << k, 1 << k):
            raise CircuitError(f"unitary on {k} qubit(s) needs a {1 << k}x{1 << k} matrix (got shape {m.shape})")
        err = np.abs(m.conj().T @ m - np.eye(1 << k)).max()
        if err > atol:
            raise CircuitError(f"matrix is not unitary (max |U†U - I| = {err:.2e} > {atol:g})")
        m.setflags(write=False)
        return self._add(Instruction("unitary", qs, matrix=m))

    def append(self, gate: CompositeGate, qubits: Sequence[int], params: Sequence = ()) -> Circuit:
        """Apply a ``CompositeGate`` (a user-defined gate) to ``qubits`` with ``params``."""
        if not isinstance(gate, CompositeGate):
            raise CircuitError(f"append takes a CompositeGate (got {type(gate).__name__}); use gate() for table gates")
        existing = self._gate_definitions().get(gate.name)
        if existing is not None and existing is not gate and existing != gate:
            raise CircuitError(f"the circuit already uses a different gate named {gate.name!r}")
        if len(params) != len(gate.params):
            raise CircuitError(f"gate {gate.name!r} takes {len(gate.params)} parameter(s), got {len(params)}")
        params = self._check_params(gate.name, params)
        for qs in self._broadcast(list(qubits), gate.name):
            if len(qs) != gate.num_qubits:
                raise CircuitError(f"gate {gate.name!r} acts on {gate.num_qubits} qubit(s), got {len(qs)}")
            qs = tuple(self._check_qubit(q) for q in qs)
            if len(set(qs)) != len(qs):
                raise CircuitError(f"gate {gate.name!r} got repeated qubits {qs}")
            self._add(Instruction(gate.name, qs, params, definition=gate))
        return self

    def _gate_definitions(self) -> dict[str, CompositeGate]:
        """Composite gates applied at top level, by name. The instruction list only grows in
        place (transformations build new lists), so the scan resumes where it stopped."""
        cache = getattr(self, "_defs_cache", None)
        if cache is None or cache[2] is not self._instructions:
            cache = (0, {}, self._instructions)
        start, defs, _ = cache
        for ins in self._instructions[start:]:
            if ins.definition is not None:
                defs.setdefault(ins.definition.name, ins.definition)
        self._defs_cache = (len(self._instructions), defs, self._instructions)
        return defs

    def measure(self, qubit, clbit) -> Circuit:
        """Measure ``qubit`` in the Z basis into ``clbit`` (sequences broadcast)."""
        for q, b in self._broadcast([qubit, clbit], "measure"):
            self._add(Instruction("measure", (self._check_qubit(q),), clbits=(self._check_clbit(b),)))
        return self

    def measure_all(self, add_register: bool = True) -> Circuit:
        """Measure every qubit: qubit ``k`` into bit ``k`` of a new register ``meas`` (or of the
        existing clbits when ``add_register`` is false), after a barrier."""
        if add_register:
            reg = self.add_creg("meas", self._num_qubits)
            targets = list(reg.indices)
        else:
            if self._num_clbits < self._num_qubits:
                raise CircuitError(f"measure_all needs {self._num_qubits} clbits, the circuit has {self._num_clbits}")
            targets = list(range(self._num_qubits))
        self.barrier()
        return self.measure(list(range(self._num_qubits)), targets)

    def reset(self, qubit) -> Circuit:
        """Reset ``qubit`` to |0> (sequences broadcast)."""
        for (q,) in self._broadcast([qubit], "reset"):
            self._add(Instruction("reset", (self._check_qubit(q),)))
        return self

    def barrier(self, *qubits) -> Circuit:
        """A barrier on ``qubits`` (all qubits when none given); sequences are flattened."""
        flat: list[int] = []
        for q in qubits:
            flat.extend([q] if _is_int(q) else list(q))
        if not flat:
            flat = list(range(self._num_qubits))
        qs = tuple(self._check_qubit(q) for q in flat)
        if len(set(qs)) != len(qs):
            raise CircuitError(f"barrier got repeated qubits {qs}")
        return self._add(Instruction("barrier", qs))

    @contextlib.contextmanager
    def if_test(self, register: str | Register, value: int):
        """Condition every instruction added inside the ``with`` block on ``register == value``
        (OpenQASM 2's ``if``; bit 0 of the register is the least significant).

        Example:
            >>> from kizuna import Circuit
            >>> c = Circuit(2, 1).h(0).measure(0, 0)
            >>> with c.if_test("c", 1):
            ...     _ = c.x(1)
            >>> str(c.instructions[-1].condition)
            'if(c==1)'
        """
        reg = self.creg(register.name if isinstance(register, Register) else register)
        if not _is_int(value) or value < 0:
            raise CircuitError(f"condition value must be a non-negative integer (got {value!r})")
        if self._condition is not None:
            raise CircuitError("conditions do not nest (OpenQASM 2 has one condition per operation)")
        self._condition = Condition(reg.name, tuple(reg.indices), int(value))
        try:
            yield self
        finally:
            self._condition = None

    # --- composite gates -----------------------------------------------------------------------
    def to_gate(self, name: str | None = None, params: Sequence[Parameter] | None = None) -> CompositeGate:
        """This circuit as a ``CompositeGate`` called ``name`` (default: the circuit's name).

        ``params`` orders the gate's formal parameters (default: the free parameters sorted by
        name). The circuit may hold only gates and barriers.
        """
        name = name or self.name
        if not name:
            raise CircuitError("to_gate needs a name (pass name= or give the circuit one)")
        free = self.parameters
        formal = tuple(params) if params is not None else free
        if any(not isinstance(p, Parameter) for p in formal):
            raise CircuitError("to_gate params must be Parameter objects")
        missing = set(free) - set(formal)
        if missing:
            raise CircuitError(f"to_gate params miss {', '.join(sorted(p.name for p in missing))}")
        return CompositeGate(name, self._num_qubits, formal, tuple(self._instructions))

    # --- parameters ----------------------------------------------------------------------------
    @property
    def parameters(self) -> tuple[Parameter, ...]:
        """Free parameters, sorted by name."""
        out: set[Parameter] = set()
        for ins in self._instructions:
            for p in ins.params:
                if isinstance(p, ParameterExpression):
                    out |= p.parameters
        return tuple(sorted(out))

    def assign_parameters(self, values: Mapping, *, strict: bool = True) -> Circuit:
        """A copy with parameters replaced by numbers (or expressions).

        Args:
            values: ``{Parameter or name: value}``.
            strict: if true, every key must name a parameter of the circuit.
        """
        names = {p.name for p in self.parameters}
        if strict:
            unknown = [k for k in values if (k.name if isinstance(k, Parameter) else k) not in names]
            if unknown:
                raise ParameterError(
                    f"circuit has no parameter(s) {', '.join(map(str, unknown))} "
                    f"(it has: {', '.join(sorted(names)) or 'none'})"
                )
        out = self.copy()
        out._instructions = [
            ins.replace(params=tuple(p.bind(values) if isinstance(p, ParameterExpression) else p for p in ins.params))
            if ins.params
            else ins
            for ins in self._instructions
        ]
        return out

    # --- transformations -----------------------------------------------------------------------
    def copy(self, name: str | None = None) -> Circuit:
        """A copy (instructions are immutable and shared)."""
        out = Circuit.__new__(Circuit)
        out.name = self.name if name is None else name
        out._qregs = list(self._qregs)
        out._cregs = list(self._cregs)
        out._num_qubits = self._num_qubits
        out._num_clbits = self._num_clbits
        out._instructions = list(self._instructions)
        out._condition = None
        return out

    def copy_empty(self) -> Circuit:
        """Same registers, no instructions."""
        out = self.copy()
        out._instructions = []
        return out

    def inverse(self) -> Circuit:
        """The inverse circuit: instructions reversed, each replaced by its inverse.

        Raises:
            CircuitError: the circuit measures, resets or holds conditioned operations.
        """
        out = self.copy_empty()
        out.name = f"{self.name}_dg" if self.name else None
        out._instructions = [_inverse_instruction(ins) for ins in reversed(self._instructions)]
        return out

    def compose(
        self,
        other: Circuit,
        qubits: Sequence[int] | None = None,
        clbits: Sequence[int] | None = None,
    ) -> Circuit:
        """A new circuit: this one followed by ``other`` with its qubit ``i`` on ``qubits[i]``
        and clbit ``j`` on ``clbits[j]`` (default: the first qubits and clbits in order)."""
        qmap = list(range(other.num_qubits)) if qubits is None else [self._check_qubit(q) for q in qubits]
        cmap = list(range(other.num_clbits)) if clbits is None else [self._check_clbit(b) for b in clbits]
        if len(qmap) != other.num_qubits or len(set(qmap)) != len(qmap):
            raise CircuitError(f"compose needs {other.num_qubits} distinct target qubits (got {qmap})")
        if len(cmap) != other.num_clbits or len(set(cmap)) != len(cmap):
            raise CircuitError(f"compose needs {other.num_clbits} distinct target clbits (got {cmap})")
        for q in qmap:
            self._check_qubit(q)
        for b in cmap:
            self._check_clbit(b)
        out = self.copy()
        for ins in other._instructions:
            cond = ins.condition
            if cond is not None:
                bits = tuple(cmap[b] for b in cond.clbits)
                reg = next((r.name for r in self._cregs if tuple(r.indices) == bits), cond.register)
                cond = Condition(reg, bits, cond.value)
            out._instructions.append(
                ins.replace(
                    qubits=tuple(qmap[q] for q in ins.qubits),
                    clbits=tuple(cmap[b] for b in ins.clbits),
                    condition=cond,
                )
            )
        return out

    def remove_final_measurements(self) -> Circuit:
        """A copy without the measurements (and barriers) that nothing follows on their qubits.

        A measurement whose bit a later condition reads is not final and is kept."""
        busy: set[int] = set()
        read: set[int] = set()
        keep: list[Instruction] = []
        for ins in reversed(self._instructions):
            if (
                ins.name == "measure"
                and ins.condition is None
                and ins.qubits[0] not in busy
                and ins.clbits[0] not in read
            ):
                continue
            if ins.name == "barrier" and not busy.intersection(ins.qubits):
                continue
            busy.update(ins.qubits)
            if ins.condition is not None:
                read.update(ins.condition.clbits)
            keep.append(ins)
        out = self.copy()
        out._instructions = keep[::-1]
        return out

    # --- inspection ----------------------------------------------------------------------------
    def depth(self) -> int:
        """Length of the critical path, as Qiskit's ``QuantumCircuit.depth()``: a barrier adds
        no layer but lines up the qubits it spans; a condition occupies the bits it reads."""
        level_q = [0] * self._num_qubits
        level_c = [0] * self._num_clbits
        depth = 0
        for ins in self._instructions:
            cbits = set(ins.clbits)
            if ins.condition is not None:
                cbits.update(ins.condition.clbits)
            d = max([level_q[q] for q in ins.qubits] + [level_c[b] for b in cbits], default=0)
            if ins.name != "barrier":
                d += 1
            for q in ins.qubits:
                level_q[q] = d
            for b in cbits:
                level_c[b] = d
            depth = max(depth, d)
        return depth

    def count_ops(self) -> dict[str, int]:
        """Instruction counts by name, most frequent first."""
        return dict(Counter(ins.name for ins in self._instructions).most_common())

    def size(self) -> int:
        """Number of instructions other than barriers."""
        return sum(1 for ins in self._instructions if ins.name != "barrier")

    def __eq__(self, other) -> bool:
        if not isinstance(other, Circuit):
            return NotImplemented
        return (
            self._qregs == other._qregs
            and self._cregs == other._cregs
            and self._instructions == other._instructions
        )

    __hash__ = None  # mutable

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return f"<Circuit{name}: {self._num_qubits} qubits, {self._num_clbits} clbits, {len(self._instructions)} instructions>"

    def __str__(self) -> str:
        from ._draw import draw_text

        return draw_text(self)

    def draw(self) -> str:
        """A text diagram of the circuit (also ``str(circuit)``)."""
        return str(self)

    def describe(self, *, param, matrix, gate) -> dict:
        """The circuit as plain data, each value turned into JSON by the callers' functions:
        ``param(p)`` for every gate parameter, ``matrix(m)`` for every ``unitary`` matrix, and
        ``gate(definition, describe_instruction)`` for every composite gate use (it records the
        definition where it likes and returns the reference to store under ``"gate"``, or
        ``None`` for none). ``to_dict`` (the hash form) and ``kizuna.save`` (the file form)
        are the two users."""

        def ins_dict(ins: Instruction) -> dict:
            d: dict = {"name": ins.name, "qubits": list(ins.qubits)}
            if ins.params:
                d["params"] = [param(p) for p in ins.params]
            if ins.clbits:
                d["clbits"] = list(ins.clbits)
            if ins.condition is not None:
                c = ins.condition
                d["condition"] = {"register": c.register, "clbits": list(c.clbits), "value": c.value}
            if ins.matrix is not None:
                d["matrix"] = matrix(ins.matrix)
            if ins.definition is not None:
                ref = gate(ins.definition, ins_dict)
                if ref is not None:
                    d["gate"] = ref
            return d

        return {
            "name": self.name,
            "qregs": [[r.name, r.size] for r in self._qregs],
            "cregs": [[r.name, r.size] for r in self._cregs],
            "instructions": [ins_dict(ins) for ins in self._instructions],
        }

    def to_dict(self) -> dict:
        """A JSON-ready description (used for the circuit's SHA-256 in result provenance):
        expressions as text, matrices as ``[re, im]`` pairs, composite gates by name."""
        defs: dict[str, dict] = {}

        def gate(g: CompositeGate, ins_dict) -> None:
            if g.name not in defs:
                defs[g.name] = {}  # reserve the name before recursing
                defs[g.name] = {"num_qubits": g.num_qubits, "params": [p.name for p in g.params],
                                "body": [ins_dict(b) for b in g.body]}

        d = self.describe(
            param=lambda p: str(p) if isinstance(p, ParameterExpression) else p,
            matrix=lambda m: [[[z.real, z.imag] for z in row] for row in m.tolist()],
            gate=gate,
        )
        d["gates"] = defs
        return d

    def sha256(self) -> str:
        """SHA-256 (hex) of the circuit's canonical JSON, name excluded (cached until the
        circuit changes)."""
        cached = self.__dict__.get("_sha256")
        key = (self._structure_key(), len(self._qregs), len(self._cregs))
        if cached is not None and cached[0] == key:
            return cached[1]
        d = self.to_dict()
        d.pop("name")
        blob = json.dumps(d, sort_keys=True, separators=(",", ":"), allow_nan=False)
        digest = hashlib.sha256(blob.encode()).hexdigest()
        self.__dict__["_sha256"] = (key, digest)
        return digest


# --- inverse ------------------------------------------------------------------------------------
def _inverse_instruction(ins: Instruction) -> Instruction:
    if ins.name in ("measure", "reset"):
        raise CircuitError(f"cannot invert a circuit that holds {ins.name!r} (not unitary)")
    if ins.condition is not None:
        raise CircuitError(f"cannot invert the conditioned operation {ins.label()} {ins.condition}")
    if ins.name == "barrier":
        return ins
    if ins.name == "unitary":
        m = ins.matrix.conj().T.copy()
        m.setflags(write=False)
        return ins.replace(matrix=m)
    if ins.definition is not None:
        return ins.replace(name=f"{ins.name}_dg", definition=_inverse_gate(ins.definition))
    spec = GATES[ins.name]
    if spec.inverse is not None:
        name, params = spec.inverse(*ins.params)
        return ins.replace(name=name, params=tuple(params))
    body = tuple(
        _inverse_instruction(Instruction(n, tuple(qs), tuple(pf())))
        for n, qs, pf in reversed(spec.definition)
    )
    inv = CompositeGate(f"{ins.name}_dg", spec.num_qubits, (), body)
    return Instruction(inv.name, ins.qubits, (), definition=inv)


def _inverse_gate(gate: CompositeGate) -> CompositeGate:
    body = tuple(_inverse_instruction(ins) for ins in reversed(gate.body))
    return CompositeGate(f"{gate.name}_dg", gate.num_qubits, gate.params, body)


# --- flattening for simulators -----------------------------------------------------------------
def flatten(circuit: Circuit, *, symbolic: bool = False) -> list[Instruction]:
    """The circuit as primitive instructions for a simulator.

    Composite gates are expanded recursively (their parameters substituted), parameters are
    evaluated to floats, barriers are dropped. What remains is table gates, ``unitary``,
    ``measure`` and ``reset``, each possibly conditioned.

    Args:
        symbolic: keep free parameters as expressions instead of requiring numbers (for
            simulators that bind values later).

    Raises:
        ParameterError: an unbound parameter remains (and ``symbolic`` is false).
    """
    out: list[Instruction] = []
    for ins in circuit.instructions:
        _flatten_into(ins, out, ins.qubits, ins.condition, {}, symbolic)
    return out


def _flatten_into(ins: Instruction, out: list, qubits: tuple, condition, scope: Mapping, symbolic: bool) -> None:
    if ins.name == "barrier":
        return
    if (
        ins.definition is None
        and qubits is ins.qubits
        and condition is ins.condition
        and all(type(p) is float for p in ins.params)
    ):
        out.append(ins)  # already primitive: instructions are immutable, share it
        return
    params = tuple(
        _param_value(p.bind(scope) if isinstance(p, ParameterExpression) else p, ins, symbolic)
        for p in ins.params
    )
    if ins.definition is not None:
        gate = ins.definition
        inner_scope = dict(zip(gate.params, params))
        for sub in gate.body:
            _flatten_into(sub, out, tuple(qubits[q] for q in sub.qubits), condition, inner_scope, symbolic)
        return
    out.append(ins.replace(qubits=qubits, params=params, condition=condition))


def _param_value(p, ins: Instruction, symbolic: bool):
    if not isinstance(p, ParameterExpression):
        return float(p)
    if symbolic and p.parameters:
        return p
    return evaluate(p, f"gate {ins.label()}")
