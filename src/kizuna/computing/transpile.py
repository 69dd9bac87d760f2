"""``transpile(circuit, device)``: a circuit rewritten in a device's native gates on its
coupling map.

The passes, in order:

1. **Lower.** Composite gates are expanded; gates on three or more qubits become CNOTs and
   single-qubit gates (``ccx``, ``c3x``, ``c4x``, ``c3sqrtx`` through a Gray-code
   multi-controlled phase, ``cswap`` as ``cx·ccx·cx``, ``rccx``/``rc3x`` through their
   OpenQASM 2 definitions); every other gate and ``unitary`` on one or two qubits becomes its
   matrix. Measurements, resets, barriers and classical conditions are kept in place.
2. **Consolidate** (``optimization_level >= 1``). Runs of unconditioned gates confined to one
   qubit pair are multiplied into one 4x4 block when its minimal CNOT count (0-3, from its
   KAK coordinates) is below the cost of its gates one by one: ``cx·cx`` vanishes,
   ``cp(a)·cp(b)`` costs 2; otherwise the gates stay as written.
3. **Layout.** A given ``layout``; else ``optimization_level 0``: the trivial layout; else a
   layout putting every interacting pair on an edge when one exists (a backtracking
   subgraph search), else the best of several candidates, each routed and judged by the
   final two-qubit count (then two-qubit depth): the interacting qubits laid in a line
   (``_routing.linear_order``) along a long path of the device (``_routing.long_path``),
   with the qubits next to the path as one-step detours, both ways, as they are and
   refined; and SABRE layouts (forward-backward routing passes) from greedy placements
   grown along the interaction graph and from random compact patches. A chain of gates
   over every qubit of a device without a path through all of them (IBM's heavy-hex)
   then costs one extra CNOT per detour.
4. **Route** with SABRE (Li, Ding, Xie, arXiv:1809.02573): SWAPs inserted where needed; among
   equally useful SWAPs the router prefers one on the pair of the two-qubit gate just run,
   which step 5 merges into that gate, and (in every other pair of trials) one on the
   least busy qubits, which keeps the circuit shallow. The chosen layout is then
   hill-climbed (exchange two qubits, or move one to a neighbour) while the routed cost
   drops, within a budget.
5. **Consolidate again** (``>= 1``): a SWAP next to a gate on the same pair merges with it
   (``cx`` then SWAP costs 2 CNOTs, not 4).
6. **Synthesise.** Each two-qubit block becomes the device's entangling gate (``cx``, ``cz``,
   ``ecr`` or any native gate locally equivalent to CNOT); native two-qubit gates pass
   through. A block of CNOTs and SWAPs becomes CNOTs alone (``cx`` then SWAP: two CNOTs, no
   single-qubit gate); a two-CNOT controlled gate (``cp``, ``crz``, ``cry``, ...) keeps its
   control free of all but a phase gate; any other block takes the KAK templates of
   ``_synthesis``. Each run of single-qubit gates becomes one Euler sequence:
   ``rz·sx·rz·sx·rz`` (ZSX, with ``x`` for π rotations), ``rz·ry·rz`` (ZYZ), ``rz·rx·rz``
   (ZXZ) or one ``u3``; a run's last z rotation passes through a following gate it
   commutes with (a CNOT's control, a CZ) and a lone ``x`` through a CNOT's or ECR's target,
   to merge with the run after it. Nothing merges across a barrier, a measurement, a reset
   or a conditioned gate; identities (``id``, ``u0``) vanish, so idle timing is not kept.

The result is exact up to global phase (blocks snapped to a special Weyl-chamber point are off
by at most ~1e-10) and deterministic for a given seed.

This module imports ``core`` and ``computing``; nothing above.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from ..core.gates import GATES, gate_matrix
from ..core.random import SeedLike, resolve_seed
from ..errors import SimulationError
from . import _routing
from ._synthesis import (
    cnot_network,
    controlled_ops,
    cx_ops,
    euler_basis_for,
    euler_ops,
    kak,
    kak_cached,
    mcphase_ops,
    two_qubit_ops,
)
from .circuit import Circuit, Instruction, flatten
from .device import Device, DeviceError

__all__ = ["TranspileResult", "transpile"]

_SWAP = gate_matrix("swap")
_I2 = np.eye(2, dtype=np.complex128)

#: optimization_level -> (layout trials, most trials, forward-backward layout iterations);
#: small circuits get more trials (about TRIAL_BUDGET two-qubit gates routed per level).
_LEVELS = {0: (0, 0, 0), 1: (4, 16, 2), 2: (8, 32, 3), 3: (16, 64, 4)}
TRIAL_BUDGET = 4000
#: layout hill-climbing: about LOCAL_BUDGET two-qubit gates routed per level, at most
#: MAX_LOCAL_EVALS evaluations per level
LOCAL_BUDGET = 3000
MAX_LOCAL_EVALS = 100


# --- the result -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TranspileResult:
    """A transpiled circuit and where its qubits went.

    **What "equal up to the final layout" means.** Let ``U`` be the input circuit (``n``
    virtual qubits) and ``V = result.circuit`` (``N = device.num_qubits`` physical qubits). For
    every ``n``-qubit state ``|ψ>``, up to a global phase,
    ``V (P_initial |ψ> ⊗ |0...0>) = P_final (U |ψ>) ⊗ |0...0>``, where ``P_initial`` puts
    virtual qubit ``v`` on physical qubit ``initial_layout[v]`` and ``P_final`` puts it on
    ``final_layout[v]``; the physical qubits outside the layout start and end in ``|0>``.
    So ``statevector(result.circuit)`` holds virtual qubit ``v`` on physical qubit
    ``final_layout[v]`` (``virtual_statevector`` undoes the placement). Measurements write the
    same classical bits as in the input and conditions read the same registers, so outcome
    distributions are identical.

    Attributes:
        circuit: the physical circuit: one register ``q`` of ``device.num_qubits`` qubits
            (``q_phys`` if a classical register is called ``q``), the input's classical
            registers, only native gates, measure, reset and barriers, every two-qubit gate on
            a coupled pair.
        initial_layout: ``initial_layout[v]`` is the physical qubit holding virtual qubit
            ``v`` when the circuit starts.
        final_layout: ``final_layout[v]`` is the physical qubit holding virtual qubit ``v``
            at the end (after the routing SWAPs).
        device: the device's name.
        num_swaps: SWAPs the router inserted (before they merged with neighbouring gates).
        optimization_level: the level used.
        seed: the integer seed that reproduces this result (``None`` if a Generator was given).

    Example:
        >>> import kizuna
        >>> from kizuna.computing.device import Device
        >>> from kizuna.computing.transpile import transpile
        >>> r = transpile(kizuna.Circuit(3).h(0).cx(0, 1).cx(0, 2), Device.line(3), seed=1)
        >>> r.two_qubit_count, sorted(r.count_ops())
        (2, ['cx', 'rz', 'sx'])
    """

    circuit: Circuit
    initial_layout: tuple[int, ...]
    final_layout: tuple[int, ...]
    device: str
    num_swaps: int = 0
    optimization_level: int = 1
    seed: int | None = None

    def __post_init__(self):
        if not isinstance(self.circuit, Circuit):
            raise DeviceError(f"circuit must be a kizuna.Circuit (got {type(self.circuit).__name__})")
        n_phys = self.circuit.num_qubits
        for name in ("initial_layout", "final_layout"):
            lay = tuple(int(p) for p in getattr(self, name))
            if len(set(lay)) != len(lay) or any(not 0 <= p < n_phys for p in lay):
                raise DeviceError(f"{name} must list distinct physical qubits in range(0, {n_phys}) (got {lay})")
            object.__setattr__(self, name, lay)
        if len(self.initial_layout) != len(self.final_layout):
            raise DeviceError(
                f"initial_layout and final_layout differ in length "
                f"({len(self.initial_layout)} != {len(self.final_layout)})"
            )

    @property
    def depth(self) -> int:
        """Depth of the physical circuit (``Circuit.depth``)."""
        return self.circuit.depth()

    @property
    def two_qubit_count(self) -> int:
        """Number of two-qubit gates in the physical circuit."""
        return sum(1 for ins in self.circuit.instructions if ins.is_gate and len(ins.qubits) == 2)

    def count_ops(self) -> dict[str, int]:
        """Instruction counts of the physical circuit by name, most frequent first."""
        return self.circuit.count_ops()

    @property
    def active_qubits(self) -> tuple[int, ...]:
        """The physical qubits the circuit uses (the layout's and any an instruction touches),
        ascending."""
        used = set(self.initial_layout) | set(self.final_layout)
        for ins in self.circuit.instructions:
            used.update(ins.qubits)
        return tuple(sorted(used))

    def compact(self) -> Circuit:
        """The physical circuit on its active qubits only, physical qubit ``active_qubits[i]``
        renamed ``i`` (same classical registers and conditions): what a simulator runs, with a
        device restricted the same way (``Device.subset(result.active_qubits)``).

        Example:
            >>> from kizuna import Circuit, Device, transpile
            >>> r = transpile(Circuit(2).h(0).cx(0, 1), Device.heavy_hex_127(), seed=1)
            >>> r.compact().num_qubits
            2
        """
        used = self.active_qubits
        index = {p: i for i, p in enumerate(used)}
        out = Circuit(0, name=self.circuit.name)
        out.add_qreg("q", len(used))
        for reg in self.circuit.cregs:
            out.add_creg(reg.name, reg.size)
        for ins in self.circuit.instructions:
            out._add(ins.replace(qubits=tuple(index[q] for q in ins.qubits)))
        return out

    def virtual_statevector(self, state: np.ndarray, *, atol: float = 1e-8) -> np.ndarray:
        """The ``2**n``-amplitude state of the virtual qubits from a ``2**N`` physical state
        (for example ``kizuna.statevector(result.circuit)``): amplitude ``i`` has virtual
        qubit ``v`` equal to bit ``v`` of ``i``, read from physical qubit ``final_layout[v]``.

        Cost: O(2**N) time and memory.

        Raises:
            SimulationError: the state has the wrong size, or weight above ``atol`` where a
                physical qubit outside the layout is not ``|0>``.
        """
        n_phys = self.circuit.num_qubits
        state = np.asarray(state)
        if state.shape != (1 << n_phys,):
            raise SimulationError(f"state must have 2**{n_phys} amplitudes (got shape {state.shape})")
        lay = self.final_layout
        n = len(lay)
        t = state.reshape((2,) * n_phys) if n_phys else state.reshape(())
        index = tuple(slice(None) if p in lay else 0 for p in reversed(range(n_phys)))
        sub = t[index]
        kept = float(np.vdot(sub, sub).real)
        total = float(np.vdot(state, state).real)
        if total - kept > atol:
            raise SimulationError(
                f"the state has weight {total - kept:.3g} where qubits outside the final layout "
                "are not |0>; it is not a state this transpiled circuit produces"
            )
        remaining = sorted(lay, reverse=True)  # the axes of `sub`
        axes = [remaining.index(lay[n - 1 - j]) for j in range(n)]
        return np.ascontiguousarray(sub.transpose(axes)).reshape(-1)

    def to_dict(self) -> dict:
        """JSON-ready: the circuit as OpenQASM 2 (exact floats), layouts, counts for reading."""
        from .qasm2 import dumps

        return {
            "circuit_qasm": dumps(self.circuit),
            "initial_layout": list(self.initial_layout),
            "final_layout": list(self.final_layout),
            "device": self.device,
            "num_swaps": self.num_swaps,
            "optimization_level": self.optimization_level,
            "seed": self.seed,
            "depth": self.depth,
            "two_qubit_count": self.two_qubit_count,
            "count_ops": self.count_ops(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> TranspileResult:
        """The inverse of ``to_dict`` (the derived counts are recomputed, not read)."""
        from .qasm2 import loads

        try:
            return cls(
                circuit=loads(data["circuit_qasm"]),
                initial_layout=tuple(data["initial_layout"]),
                final_layout=tuple(data["final_layout"]),
                device=str(data["device"]),
                num_swaps=int(data.get("num_swaps", 0)),
                optimization_level=int(data.get("optimization_level", 1)),
                seed=data.get("seed"),
            )
        except (KeyError, TypeError) as exc:
            raise DeviceError(f"not a transpile result dictionary: {exc!r}") from None


# --- the internal program ------------------------------------------------------------------------
class _Op:
    """One step of the program between passes: ``kind`` is ``"u"`` (a 1-2 qubit unitary with
    ``matrix``; ``name``/``params`` when it is one table gate), ``"measure"``, ``"reset"`` or
    ``"barrier"``."""

    __slots__ = ("clbits", "condition", "kak", "kind", "matrix", "name", "params", "qubits")

    def __init__(self, kind, qubits, matrix=None, name=None, params=(), clbits=(), condition=None, kak=None):
        self.kind = kind
        self.qubits = tuple(qubits)
        self.matrix = matrix
        self.name = name
        self.params = tuple(params)
        self.clbits = tuple(clbits)
        self.condition = condition
        self.kak = kak

    def on(self, qubits) -> _Op:
        return _Op(self.kind, qubits, self.matrix, self.name, self.params, self.clbits, self.condition, self.kak)


def _gate_op(name, qubits, params=(), condition=None) -> _Op:
    return _Op("u", qubits, gate_matrix(name, params), name, params, condition=condition)


def _controlled_phase_x(lam: float, qubits) -> list[tuple]:
    """H on the target, C^{k}P(λ) on all, H: C^{k}X for λ = π, C^{k}SX for λ = π/2."""
    t = qubits[-1]
    out = [("h", (t,), ())]
    for step in mcphase_ops(lam, qubits):
        if step[0] == "p":
            out.append(("p", (step[1],), (step[2],)))
        else:
            out.append(("cx", (step[1], step[2]), ()))
    out.append(("h", (t,), ()))
    return out


def _expand(name: str, qubits: tuple[int, ...]) -> list[tuple]:
    """A gate on 3+ qubits as ``(name, qubits, params)`` gates on 1-2 qubits."""
    if name in ("ccx", "c3x", "c4x"):
        return _controlled_phase_x(math.pi, qubits)
    if name == "c3sqrtx":
        return _controlled_phase_x(math.pi / 2, qubits)
    if name == "cswap":
        c, a, b = qubits
        return [("cx", (b, a), ()), *_controlled_phase_x(math.pi, (c, a, b)), ("cx", (b, a), ())]
    if name == "rccx":  # qelib1.inc: Toffoli up to relative phases, 3 CNOTs
        c0, c1, t = qubits
        return [
            ("h", (t,), ()), ("t", (t,), ()), ("cx", (c1, t), ()), ("tdg", (t,), ()),
            ("cx", (c0, t), ()), ("t", (t,), ()), ("cx", (c1, t), ()), ("tdg", (t,), ()),
            ("h", (t,), ()),
        ]
    spec = GATES[name]
    if spec.definition is None:  # pragma: no cover - every table gate is covered above
        raise DeviceError(f"transpile has no decomposition of the {spec.num_qubits}-qubit gate {name!r}")
    out = []
    for sub, positions, params in spec.definition:
        sub_q = tuple(qubits[i] for i in positions)
        if GATES[sub].num_qubits > 2:
            out += _expand(sub, sub_q)
        else:
            out.append((sub, sub_q, tuple(params())))
    return out


def _num_primitives(ins: Instruction) -> int:
    """How many instructions ``flatten`` makes of ``ins`` (barriers make none)."""
    if ins.name == "barrier":
        return 0
    if ins.definition is None:
        return 1
    return sum(_num_primitives(sub) for sub in ins.definition.body)


def _with_barriers(circuit: Circuit) -> list[Instruction]:
    """``flatten(circuit)`` with the top-level barriers put back in place."""
    flat = flatten(circuit)
    out: list[Instruction] = []
    k = 0
    for top in circuit.instructions:
        if top.name == "barrier":
            out.append(top)
            continue
        m = _num_primitives(top)
        out.extend(flat[k : k + m])
        k += m
    return out


def _lower(circuit: Circuit) -> list[_Op]:
    ops: list[_Op] = []
    for ins in _with_barriers(circuit):
        cond = ins.condition
        if ins.name == "barrier":
            ops.append(_Op("barrier", ins.qubits))
        elif ins.name == "measure":
            ops.append(_Op("measure", ins.qubits, clbits=ins.clbits, condition=cond))
        elif ins.name == "reset":
            ops.append(_Op("reset", ins.qubits, condition=cond))
        elif ins.name == "unitary":
            k = len(ins.qubits)
            if k > 2:
                raise DeviceError(
                    f"cannot transpile a {k}-qubit 'unitary' on qubits {ins.qubits}: unitaries "
                    "are synthesised on 1 or 2 qubits only; write it as smaller gates"
                )
            ops.append(_Op("u", ins.qubits, np.asarray(ins.matrix, dtype=np.complex128), condition=cond))
        elif GATES[ins.name].num_qubits <= 2:
            ops.append(_gate_op(ins.name, ins.qubits, ins.params, cond))
        else:
            for name, qs, params in _expand(ins.name, ins.qubits):
                ops.append(_gate_op(name, qs, params, cond))
    return ops


def _block_matrix(a: int, b: int, ops: list[_Op]) -> np.ndarray:
    m = np.eye(4, dtype=np.complex128)
    for op in ops:
        if len(op.qubits) == 1:
            g = np.kron(_I2, op.matrix) if op.qubits[0] == a else np.kron(op.matrix, _I2)
        elif op.qubits == (a, b):
            g = op.matrix
        else:
            g = _SWAP @ op.matrix @ _SWAP
        m = g @ m
    return m


def _op_cost(op: _Op, basis) -> int:
    """Two-qubit gates ``op`` costs on its own: 1 when native, else its minimal CNOT count."""
    if op.name is not None and op.name in basis:
        return 1
    return (op.kak or kak_cached(op.matrix)).num_cx


def _consolidate(ops: list[_Op], basis=frozenset()) -> list[_Op]:
    """Merge runs of unconditioned gates confined to one qubit pair into single 4x4 blocks
    when that saves two-qubit gates (``basis``: the native gate names, each costing 1);
    blocks that are local (0 CNOTs) become two single-qubit gates."""
    out: list = []
    blocks: list[tuple[tuple[int, int], list[_Op]]] = []
    open_on: dict[int, int] = {}

    def close(q):
        bi = open_on.pop(q, None)
        if bi is not None:
            for x in blocks[bi][0]:
                open_on.pop(x, None)

    for op in ops:
        if op.kind == "u" and op.condition is None:
            if len(op.qubits) == 2:
                a, b = op.qubits
                bi = open_on.get(a)
                if bi is not None and open_on.get(b) == bi:
                    blocks[bi][1].append(op)
                    continue
                close(a)
                close(b)
                blocks.append(((a, b), [op]))
                open_on[a] = open_on[b] = len(blocks) - 1
                out.append(len(blocks) - 1)
                continue
            bi = open_on.get(op.qubits[0])
            if bi is not None:
                blocks[bi][1].append(op)
            else:
                out.append(op)
            continue
        for q in op.qubits:
            close(q)
        out.append(op)
    result: list[_Op] = []
    for item in out:
        if isinstance(item, _Op):
            result.append(item)
            continue
        (a, b), bops = blocks[item]
        two = [o for o in bops if len(o.qubits) == 2]
        if len(two) == 1:
            result.extend(bops)
            continue
        m = _block_matrix(a, b, bops)
        d = kak_cached(m)
        if d.num_cx >= sum(_op_cost(o, basis) for o in two):
            result.extend(bops)  # merging would not save a two-qubit gate: keep the gates as written
        elif d.num_cx == 0:
            result.append(_Op("u", (a,), d.left[0] @ d.right[0]))
            result.append(_Op("u", (b,), d.left[1] @ d.right[1]))
        else:
            result.append(_Op("u", (a, b), m, kak=d))
    return result


# --- layout and routing -------------------------------------------------------------------------
class _Target:
    """What the passes need to know about the device, computed once."""

    def __init__(self, device: Device):
        self.device = device
        self.n = device.num_qubits
        self.neighbors = [device.neighbors(q) for q in range(self.n)]
        self._dist = None
        self._components = None
        self.basis = set(device.basis_gates)
        self.euler = euler_basis_for(device.basis_gates)
        self.has_x = "x" in self.basis
        self.entangler = None
        for g in device.basis_gates:
            spec = GATES[g]
            if spec.num_qubits == 2 and spec.num_params == 0 and kak(gate_matrix(g)).num_cx == 1:
                self.entangler = g
                self.entangler_matrix = gate_matrix(g)
                break

    @property
    def dist(self):
        if self._dist is None:
            self._dist = _routing.distance_matrix(self.n, self.neighbors).tolist()
        return self._dist

    @property
    def components(self):
        if self._components is None:
            self._components = _routing.components(self.n, self.neighbors)
        return self._components


def _check_layout(layout, num_virtual: int, target: _Target) -> list[int]:
    try:
        lay = [int(p) for p in layout]
        bad = any(not isinstance(p, numbers.Integral) or isinstance(p, bool) for p in layout)
    except (TypeError, ValueError):
        raise DeviceError(f"layout must be a sequence of physical qubit indices (got {layout!r})") from None
    if bad or len(lay) != num_virtual or len(set(lay)) != len(lay) or any(not 0 <= p < target.n for p in lay):
        raise DeviceError(
            f"layout must give each of the circuit's {num_virtual} qubits a distinct physical qubit "
            f"in range(0, {target.n}) of device {target.device.name!r} (got {list(layout)!r})"
        )
    return lay


def _check_reachable(layout, pairs, target: _Target) -> None:
    for a, b in pairs:
        if target.dist[layout[a]][layout[b]] >= _routing.UNREACHABLE:
            raise DeviceError(
                f"virtual qubits {a} and {b} interact but sit on physical qubits {layout[a]} and "
                f"{layout[b]}, which no path of device {target.device.name!r} joins"
            )


def _apply_events(ops: list[_Op], events, layout, num_physical: int) -> list[_Op]:
    v2p = list(layout)
    p2v = [-1] * num_physical
    for v, p in enumerate(v2p):
        p2v[p] = v
    out = []
    for ev in events:
        if isinstance(ev, tuple):
            _, p, q = ev
            out.append(_Op("u", (p, q), _SWAP, "swap"))
            va, vb = p2v[p], p2v[q]
            p2v[p], p2v[q] = vb, va
            if va >= 0:
                v2p[va] = q
            if vb >= 0:
                v2p[vb] = p
        else:
            op = ops[ev]
            out.append(op.on(tuple(v2p[v] for v in op.qubits)))
    return out


def _two_qubit_cost(ops: list[_Op], target: _Target) -> int:
    return sum(_op_cost(op, target.basis) for op in ops if op.kind == "u" and len(op.qubits) == 2)


def _two_qubit_depth(ops: list[_Op]) -> int:
    """Layers of two-qubit operations (a merged block counts as one)."""
    layer: dict[int, int] = {}
    for op in ops:
        if len(op.qubits) == 2 and op.kind == "u":
            a, b = op.qubits
            layer[a] = layer[b] = max(layer.get(a, 0), layer.get(b, 0)) + 1
    return max(layer.values(), default=0)


def _place_and_route(ops, num_virtual, target: _Target, level: int, layout, rng):
    qubits = [op.qubits for op in ops]
    clbits = [op.clbits + (op.condition.clbits if op.condition is not None else ()) for op in ops]
    needs = [op.kind == "u" and len(op.qubits) == 2 for op in ops]
    # For the router: 1 = an unconditioned single-qubit gate (a SWAP can merge across it),
    # 2 = an unconditioned two-qubit gate a following SWAP on its pair merges with (the
    # post-routing consolidation of level >= 1 does the merging), 0 = anything else.
    transparent = []
    for op in ops:
        mergeable = op.kind == "u" and op.condition is None
        if mergeable and len(op.qubits) == 1:
            transparent.append(1)
        elif mergeable and level >= 1:
            transparent.append(2)
        else:
            transparent.append(0)
    pairs = [q for q, nd in zip(qubits, needs) if nd]
    dag = _routing.build_dag(qubits, clbits)
    base, most, iterations = _LEVELS[level]
    trials = min(most, max(base, TRIAL_BUDGET // max(1, len(pairs))))
    starts: list[list[int]] = []
    raw: list[list[int]] = []  # starts also tried without the forward-backward refinement
    refine = False
    if layout is not None:
        starts = [layout]
    elif level == 0:
        starts = [list(range(num_virtual))]
    else:
        perfect = _routing.perfect_layout(num_virtual, pairs, target.n, target.neighbors)
        if perfect is not None:
            starts = [perfect]
        else:
            comps = [c for c in target.components if len(c) >= num_virtual]
            if not comps:
                raise DeviceError(
                    f"the circuit's {num_virtual} qubits interact, but the largest connected part of "
                    f"device {target.device.name!r} has {len(target.components[0])} qubits"
                )
            # one start per trial, on components in turn (most devices have one): even trials
            # grow a layout greedily from the interactions, odd ones take a random compact patch
            starts = [
                _routing.greedy_start(num_virtual, pairs, comps[t % len(comps)], target.neighbors, target.dist, rng)
                if t % 2 == 0
                else _routing.compact_start(num_virtual, comps[t % len(comps)], target.neighbors, rng)
                for t in range(trials)
            ]
            refine = bool(pairs)
            if refine:
                # the interactions laid in a line along a long path of the largest component,
                # both ways, as they are (no SWAP at all for a chain when the path is long
                # enough; one merged SWAP per detour otherwise) and refined like the others
                raw = _routing.path_starts(num_virtual, pairs, comps[0], target.neighbors, target.dist, rng)
                starts = raw + starts

    def attempt(init, trial_rng, depth_ties):
        events, final, swaps, init = _routing.sabre_route(
            qubits, needs, dag, init, target.n, target.neighbors, target.dist, trial_rng,
            transparent=transparent, depth_ties=depth_ties,
        )
        phys = _apply_events(ops, events, init, target.n)
        if level >= 1:
            phys = _consolidate(phys, target.basis)
        # fewest two-qubit gates first, then the shallowest in two-qubit gates
        cost = (_two_qubit_cost(phys, target), _two_qubit_depth(phys), swaps)
        return cost, phys, init, final, swaps, depth_ties

    best = None
    for k, start in enumerate(starts):
        trial_rng = np.random.default_rng(int(rng.integers(1 << 62)))
        # every other pair of trials breaks ties between equally good SWAPs towards shallow
        # circuits, the others at random: each wins on some circuits (QFT, random circuits)
        depth_ties = (k // 2) % 2 == 1
        init = start
        if refine and k < len(raw):
            result = attempt(init, np.random.default_rng(int(rng.integers(1 << 62))), depth_ties)
            if best is None or result[0] < best[0]:
                best = result
        if refine:
            init = _routing.sabre_layout(
                pairs, start, target.n, target.neighbors, target.dist, trial_rng, iterations, depth_ties=depth_ties
            )
        _check_reachable(init, pairs, target)
        result = attempt(init, trial_rng, depth_ties)
        if best is None or result[0] < best[0]:
            best = result
    if refine:
        best = _improve_layout(best, attempt, pairs, target, rng, level)
    _, phys, init, final, swaps, _ = best
    return phys, init, final, swaps


def _improve_layout(best, attempt, pairs, target: _Target, rng, level: int):
    """Hill-climb on the layout: exchange two interacting virtual qubits, or move one to a
    neighbouring physical qubit; keep the first move that lowers the routed two-qubit count,
    until no move helps or the evaluation budget (about ``LOCAL_BUDGET`` gates routed per
    level, at most ``MAX_LOCAL_EVALS`` evaluations per level) is spent. Every evaluation
    routes with the same seed, so costs compare like with like."""
    budget = min(MAX_LOCAL_EVALS * level, LOCAL_BUDGET * level // max(1, len(pairs)))
    if budget <= 0:
        return best
    seed = int(rng.integers(1 << 62))
    active = sorted({v for pair in pairs for v in pair})
    evals = 0
    while evals < budget:
        cur = best[2]
        occupant = {p: v for v, p in enumerate(cur)}
        moves = []  # exchange two interacting qubits, or move one onto a neighbouring qubit
        for i, v in enumerate(active):
            moves += [(v, cur[w]) for w in active[i + 1 :]]
            moves += [(v, q) for q in target.neighbors[cur[v]] if occupant.get(q) not in active]
        improved = False
        for v, q in moves:
            new = list(cur)
            w = occupant.get(q)
            if w is not None:
                new[w] = cur[v]
            new[v] = q
            result = attempt(new, np.random.default_rng(seed), best[5])
            evals += 1
            if result[0] < best[0]:
                best = result
                improved = True
                break
            if evals >= budget:
                break
        if not improved:
            break
    return best


# --- synthesis ------------------------------------------------------------------------------------
def _no_euler(target: _Target) -> DeviceError:
    return DeviceError(
        f"device {target.device.name!r} has no universal single-qubit gate set in its basis "
        f"({', '.join(target.device.basis_gates)}): it needs u3 or u, or a z rotation (rz, p, u1) "
        "with sx, ry or rx"
    )


_PAULI_Z = np.diag([1.0, -1.0]).astype(np.complex128)
_PAULI_X = np.array([[0, 1], [1, 0]], dtype=np.complex128)
#: Z on the gate's first qubit (local qubit 0), Z on its second, X on the first, X on the second
_LOCAL_PAULIS = tuple(np.kron(_I2, p) if low else np.kron(p, _I2)
                      for p in (_PAULI_Z, _PAULI_X) for low in (True, False))
_COMMUTES: dict[bytes, tuple[bool, ...]] = {}


def _commutes(m: np.ndarray) -> tuple[bool, bool, bool, bool]:
    """Whether a z rotation on the first / second qubit of the two-qubit gate ``m``, then an
    x rotation on the first / second, commutes with it (``cx``: z on the control, x on the
    target; ``cz``: z on both; ``ecr``: x on the second)."""
    key = np.ascontiguousarray(m, dtype=np.complex128).tobytes()
    hit = _COMMUTES.get(key)
    if hit is None:
        hit = tuple(bool(np.allclose(p @ m, m @ p, atol=1e-12)) for p in _LOCAL_PAULIS)
        if len(_COMMUTES) < 256:
            _COMMUTES[key] = hit
    return hit


def _cx_steps(ctl: int, tgt: int, entangler: np.ndarray) -> list[tuple]:
    """``cx_ops`` for a CNOT from local qubit ``ctl`` to ``tgt``."""
    role = (ctl, tgt)
    return [
        ("1q", role[s[1]], s[2]) if s[0] == "1q" else ("2q", role[s[1]], role[s[2]])
        for s in cx_ops(entangler)
    ]


def _two_qubit_steps(op: _Op, target: _Target) -> list[tuple]:
    """A non-native two-qubit ``op`` as ``("1q", q, m)`` / ``("2q", q0, q1)`` steps over its
    local qubits, with its minimal count of entangling gates, and the fewest single-qubit
    gates of three writings: CNOTs alone for a product of CNOTs and SWAPs (no single-qubit
    gates); a controlled gate's two CNOTs with a phase gate on its control (a controlled
    phase or rotation, and blocks such as ``cx·crz``); else the general KAK template."""
    e = target.entangler_matrix
    network = ((0, 1),) if op.name == "cx" else cnot_network(op.matrix)
    if network is not None:
        return [step for ctl, tgt in network for step in _cx_steps(ctl, tgt, e)]
    d = op.kak or kak_cached(op.matrix)
    if d.num_cx == 2:
        ctrl = controlled_ops(op.matrix)
        if ctrl is not None:
            return [s for step in ctrl for s in (_cx_steps(step[1], step[2], e) if step[0] == "cx" else [step])]
    return two_qubit_ops(op.matrix, e, d)


def _synthesise(ops: list[_Op], target: _Target) -> list[tuple]:
    """Native instructions ``(name, qubits, params, clbits, condition)`` in order."""
    out: list[tuple] = []
    pending: dict[int, np.ndarray] = {}
    kind, zgate = target.euler if target.euler is not None else (None, None)

    def emit_1q(q, m, cond):
        if kind is None:
            raise _no_euler(target)
        for name, params in euler_ops(m, kind, zgate, has_x=target.has_x):
            out.append((name, (q,), params, (), cond))

    def flush(q):
        m = pending.pop(q, None)
        if m is not None:
            emit_1q(q, m, None)

    def flush_into(q, z_passes: bool, x_passes: bool):
        """Flush ``q`` before a two-qubit gate. When a z rotation on ``q`` commutes with that
        gate (the control of a CNOT, either side of a CZ), the run's last z rotation waits
        and merges into the run after the gate instead; when an x rotation does (the target
        of a CNOT or of an ECR), a run ``x·rz(c)`` is written ``rz(-c)·x`` and the ``x``
        waits (two such ``x`` around a gate cancel)."""
        m = pending.pop(q, None)
        if m is None:
            return
        if kind is None:
            raise _no_euler(target)
        seq = euler_ops(m, kind, zgate, has_x=target.has_x)
        if kind != "U3" and seq:
            if z_passes and seq[-1][0] == zgate:
                name, params = seq.pop()
                pending[q] = gate_matrix(name, params)
            elif x_passes and seq[0][0] == "x" and len(seq) <= 2:
                # x then rz(c) equals rz(-c) then x (up to global phase)
                seq = [(zgate, (-seq[1][1][0],))] if len(seq) == 2 else []
                pending[q] = gate_matrix("x")
        for name, params in seq:
            out.append((name, (q,), params, (), None))

    def entangle(name, qubits, params, cond, matrix):
        za, zb, xa, xb = _commutes(matrix) if cond is None else (False,) * 4
        flush_into(qubits[0], za, xa)
        flush_into(qubits[1], zb, xb)
        out.append((name, qubits, params, (), cond))

    def one_qubit(q, m, cond):
        if cond is None:
            prev = pending.get(q)
            pending[q] = m if prev is None else m @ prev
        else:
            flush(q)
            emit_1q(q, m, cond)

    for op in ops:
        if op.kind == "u" and len(op.qubits) == 1:
            one_qubit(op.qubits[0], op.matrix, op.condition)
            continue
        if op.kind == "u":
            a, b = op.qubits
            if op.name is not None and op.name in target.basis:
                entangle(op.name, op.qubits, op.params, op.condition, op.matrix)
                continue
            if target.entangler is None:
                raise DeviceError(
                    f"device {target.device.name!r} cannot run {op.name or 'a two-qubit unitary'!r} on "
                    f"qubits {op.qubits}: its basis ({', '.join(target.device.basis_gates)}) has no "
                    "two-qubit gate locally equivalent to CNOT (cx, cz, ecr, ...)"
                )
            local = (a, b)
            steps = _two_qubit_steps(op, target)
            for step in steps:
                if step[0] == "1q":
                    one_qubit(local[step[1]], step[2], op.condition)
                else:
                    qa, qb = local[step[1]], local[step[2]]
                    entangle(target.entangler, (qa, qb), (), op.condition, target.entangler_matrix)
            continue
        for q in op.qubits:
            flush(q)
        out.append((op.kind, op.qubits, (), op.clbits, op.condition))
    for q in sorted(pending):
        flush(q)
    return out


def _check_gates(ops: list[_Op], target: _Target) -> None:
    """Fail early, naming the gate, when the device cannot express the program."""
    for op in ops:
        if op.kind != "u":
            continue
        native = op.name is not None and op.name in target.basis
        if len(op.qubits) == 2 and not native and target.entangler is None:
            raise DeviceError(
                f"device {target.device.name!r} cannot run {op.name or 'unitary'!r} on qubits "
                f"{op.qubits}: its basis ({', '.join(target.device.basis_gates)}) has no two-qubit "
                "gate locally equivalent to CNOT (cx, cz, ecr, ...)"
            )
        if target.euler is None and not native:
            raise DeviceError(
                f"device {target.device.name!r} cannot run {op.name or 'unitary'!r} on qubits "
                f"{op.qubits}: its basis ({', '.join(target.device.basis_gates)}) has no universal "
                "single-qubit gate set (u3 or u, or a z rotation rz/p/u1 with sx, ry or rx)"
            )


def _build(circuit: Circuit, natives: list[tuple], num_physical: int) -> Circuit:
    creg_names = {r.name for r in circuit.cregs}
    qname = "q" if "q" not in creg_names else "q_phys"
    out = Circuit(name=circuit.name)
    out.add_qreg(qname, num_physical)
    for r in circuit.cregs:
        out.add_creg(r.name, r.size)
    for name, qubits, params, clbits, cond in natives:
        if cond is not None:
            reg = out.creg(cond.register)
            if tuple(reg.indices) != tuple(cond.clbits):  # pragma: no cover - conditions read whole registers
                raise DeviceError(f"condition {cond} does not read the whole register {cond.register!r}")
            with out.if_test(cond.register, cond.value):
                _emit(out, name, qubits, params, clbits)
        else:
            _emit(out, name, qubits, params, clbits)
    return out


def _emit(out: Circuit, name, qubits, params, clbits) -> None:
    if name == "measure":
        out.measure(qubits[0], clbits[0])
    elif name == "reset":
        out.reset(qubits[0])
    elif name == "barrier":
        out.barrier(list(qubits))
    else:
        out.gate(name, qubits, [float(p) for p in params])


# --- the entry point ------------------------------------------------------------------------------
def transpile(
    circuit: Circuit,
    device: Device,
    *,
    seed: SeedLike = None,
    layout=None,
    optimization_level: int = 1,
) -> TranspileResult:
    """Rewrite ``circuit`` for ``device``: native gates only, two-qubit gates on coupled pairs.

    Args:
        circuit: the circuit (parameters bound); at most ``device.num_qubits`` qubits.
        device: the target ``Device``.
        seed: integer, Generator or ``None`` (fresh entropy, recorded in the result); layout
            search and tie-breaking in routing use it, so the same seed gives the same circuit.
        layout: optional initial layout, ``layout[v]`` = physical qubit of virtual qubit ``v``
            (used as given; no layout search).
        optimization_level: 0 (trivial layout, one routing pass, gate-by-gate synthesis);
            1 (default: perfect-layout search, else a line layout along a long path of
            the device and 4-16 SABRE layout trials of 2 forward-backward passes, more for
            smaller circuits, then a layout hill-climb; two-qubit block consolidation
            before and after routing); 2 (8-32 trials of 3 passes, twice the hill-climb
            budget); 3 (16-64 trials of 4 passes, three times).

    Returns:
        A ``TranspileResult`` (see it for what "equal up to the final layout" means), with the
        physical circuit, layouts, depth, two-qubit count and operation counts.

    Raises:
        DeviceError: the circuit has more qubits than the device; the device's basis cannot
            express a gate of the circuit (no entangling gate, no universal single-qubit set);
            a ``unitary`` on 3+ qubits; a bad ``layout``; interacting qubits that the coupling
            map cannot join.
        ParameterError: unbound parameters.

    Cost: polynomial: O(gates · front-layer size · degree) per routing pass, tens of routing
    passes per level, and a few hundred microseconds per new two-qubit block for its KAK
    decomposition (cached by matrix). Pure Python: about 0.1-2 s for 5-20 qubit circuits of
    up to a few hundred two-qubit gates on the 127-qubit heavy-hex device at level 1 (a
    127-qubit GHZ chain: under 1 s).

    Example:
        >>> import kizuna
        >>> from kizuna.computing.device import Device
        >>> from kizuna.computing.transpile import transpile
        >>> ghz = kizuna.Circuit(4).h(0).cx(0, 1).cx(1, 2).cx(2, 3)
        >>> r = transpile(ghz, Device.heavy_hex_127(), seed=7)
        >>> r.two_qubit_count, r.count_ops()["ecr"], r.num_swaps
        (3, 3, 0)
    """
    if not isinstance(circuit, Circuit):
        raise DeviceError(f"transpile expects a kizuna.Circuit (got {type(circuit).__name__})")
    if not isinstance(device, Device):
        raise DeviceError(f"transpile expects a kizuna Device (got {type(device).__name__})")
    if (
        isinstance(optimization_level, bool)
        or not isinstance(optimization_level, numbers.Integral)
        or optimization_level not in _LEVELS
    ):
        raise DeviceError(f"optimization_level must be 0, 1, 2 or 3 (got {optimization_level!r})")
    level = int(optimization_level)
    n = circuit.num_qubits
    if n > device.num_qubits:
        raise DeviceError(
            f"circuit has {n} qubits but device {device.name!r} has only {device.num_qubits}"
        )
    rng, recorded_seed = resolve_seed(seed)
    target = _Target(device)
    lay = _check_layout(layout, n, target) if layout is not None else None
    ops = _lower(circuit)
    _check_gates(ops, target)
    if level >= 1:
        ops = _consolidate(ops, target.basis)
    phys, init, final, swaps = _place_and_route(ops, n, target, level, lay, rng)
    natives = _synthesise(phys, target)
    out = _build(circuit, natives, device.num_qubits)
    return TranspileResult(
        circuit=out,
        initial_layout=tuple(init),
        final_layout=tuple(final),
        device=device.name,
        num_swaps=swaps,
        optimization_level=level,
        seed=recorded_seed,
    )

