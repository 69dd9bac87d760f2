"""The exact state-vector backend.

Runs a flat instruction list on a vector of ``2**n`` amplitudes (complex128, or complex64 with
``precision="single"``).

Execution: from ``FUSION_MIN_QUBITS`` qubits on, gates are fused into blocks of up to
``max_fused_qubits`` qubits (``_fusion``) and each block is one in-place pass of a numba kernel
over the state (``core._kernels._numba_sv``, threaded over the state); smaller states take one
pass per gate. Each run of gates between measurements, resets and conditions is encoded as one
``Program`` and runs in a single kernel call (``_program``). Without numba (or with ``KIZUNA_NUMBA=0``) the plain numpy kernels
run instead, with the same results.

Sampling is exact:

* Measurements that nothing later depends on (no later gate on their qubit, no later
  condition reading their bit) are *deferred*: the state is evolved once and all shots are
  drawn from its final distribution.
* Any other measurement or reset branches the run: the shots still to be drawn split between
  the two outcomes by a binomial draw, and each branch continues with its collapsed state
  (depth first, so at most one pending copy per branching point is alive; the memory guard
  counts those copies before each split). Conditions are evaluated per branch. Every shot
  therefore follows its own exact trajectory, at the cost of one simulation per distinct
  measurement history rather than per shot.
"""

from __future__ import annotations

import contextlib
import numbers
import os
from dataclasses import dataclass

import numpy as np

from ...core import _memory
from ...core._kernels import numba_sv
from ...core._kernels import statevector as sv
from ...errors import BackendError, SimulationError
from .._fusion import FusedOp, fuse
from ..circuit import Instruction
from ._program import Program

_PRECISIONS = {"double": np.complex128, "single": np.complex64}

#: Fusion starts at this many qubits. Below it the state sits in the CPU caches, a pass costs
#: its arithmetic rather than its memory traffic, and one pass per gate is fastest. Measured
#: with the numba kernels (1 thread) on the benchmark's random and QFT circuits: at 8-18
#: qubits unfused passes took 0.8-1.0x the time of fused blocks of up to 2, 3 or 4 qubits; at
#: 20 and 22 qubits fused blocks took 0.72-0.85x the unfused time.
FUSION_MIN_QUBITS = 19


def resolve_threads(num_threads) -> int | None:
    """``num_threads`` checked and capped at the cores (``None``: ``KIZUNA_NUM_THREADS``, else
    all cores, left to numba). Every backend with threads takes its option through this."""
    if num_threads is None and os.environ.get("KIZUNA_NUM_THREADS"):
        text = os.environ["KIZUNA_NUM_THREADS"]
        try:
            num_threads = int(text)
        except ValueError:
            raise BackendError(f"KIZUNA_NUM_THREADS must be a positive integer (got {text!r})") from None
    if num_threads is not None and (
        isinstance(num_threads, bool) or not isinstance(num_threads, numbers.Integral) or num_threads < 1
    ):
        raise BackendError(f"num_threads must be a positive integer (got {num_threads!r})")
    if num_threads is not None:
        num_threads = min(int(num_threads), os.cpu_count() or int(num_threads))
    return num_threads


#: The numba kernel module, or ``None`` (numba missing or ``KIZUNA_NUMBA=0``).
_fast_kernels = numba_sv


def deferred_measurements(flat: list[Instruction]) -> set[int]:
    """Indices of measurements that can move to the end of the circuit unchanged: no later
    non-deferred instruction acts on their qubit, reads their bit in a condition, or writes
    their bit."""
    touched_q: set[int] = set()
    read_c: set[int] = set()
    written_c: set[int] = set()
    deferred: set[int] = set()
    for i in range(len(flat) - 1, -1, -1):
        ins = flat[i]
        if (
            ins.name == "measure"
            and ins.condition is None
            and ins.qubits[0] not in touched_q
            and ins.clbits[0] not in read_c
            and ins.clbits[0] not in written_c
        ):
            deferred.add(i)
            continue
        touched_q.update(ins.qubits)
        if ins.condition is not None:
            read_c.update(ins.condition.clbits)
        written_c.update(ins.clbits)
    return deferred


def _condition_holds(ins: Instruction, clbits: int) -> bool:
    c = ins.condition
    if c is None:
        return True
    value = 0
    for i, b in enumerate(c.clbits):
        value |= ((clbits >> b) & 1) << i
    return value == c.value


def _set_bit(value: int, bit: int, outcome: int) -> int:
    return value | (1 << bit) if outcome else value & ~(1 << bit)


@dataclass
class _Branch:
    pc: int
    state: np.ndarray
    clbits: int
    shots: int


class _NumpyOps:
    """Applies fused ops with the plain numpy kernels (each pass returns a new vector)."""

    copies = 3  # the state, tensordot's result and its contiguous copy

    def __init__(self, dtype):
        self.dtype = dtype

    def apply(self, state, op: FusedOp):
        return sv.apply_matrix(state, op.to_matrix().astype(self.dtype, copy=False), op.qubits)

    def apply_gate(self, state, ins: Instruction):
        return sv.apply_matrix(state, ins.to_matrix().astype(self.dtype, copy=False), ins.qubits)

    probability_one = staticmethod(sv.probability_one)
    collapse = staticmethod(sv.collapse)
    flip = staticmethod(sv.flip)

    probabilities = staticmethod(sv.probabilities)


class _NumbaOps:
    """Applies fused ops in place with the numba kernels."""

    copies = 1  # in place

    def __init__(self, dtype, kernels):
        self.dtype = dtype
        self.k = kernels

    def _dense(self, state, m, qubits):
        k = self.k
        m = np.ascontiguousarray(m, dtype=self.dtype)
        if len(qubits) == 1:
            k.apply_1q(state, m, qubits[0])
        elif len(qubits) == 2:
            k.apply_2q(state, m, qubits[0], qubits[1])
        else:
            k.apply_kq(state, m, np.asarray(qubits, dtype=np.int64))
        return state

    def apply(self, state, op: FusedOp | Program):
        k = self.k
        if isinstance(op, Program):
            return op.run(state, k)
        if op.kind == "diag":
            d = np.ascontiguousarray(op.diag, dtype=self.dtype)
            if len(op.qubits) == 1:
                k.apply_diag_1q(state, d[0], d[1], op.qubits[0])
            else:
                k.apply_diag(state, d, np.asarray(op.qubits, dtype=np.int64))
            return state
        if op.kind == "perm":
            name, qs = op.instruction.name, op.instruction.qubits
            if name == "x":
                k.apply_x(state, qs[0])
            elif name == "cx":
                k.apply_cx(state, qs[0], qs[1])
            elif name == "swap":
                k.apply_swap(state, qs[0], qs[1])
            elif name in ("ccx", "c3x", "c4x"):
                k.apply_mcx(state, np.asarray(qs[:-1], dtype=np.int64), qs[-1])
            else:
                self._dense(state, op.matrix, op.qubits)
            return state
        return self._dense(state, op.to_matrix(), op.qubits)

    def apply_gate(self, state, ins: Instruction):
        return self._dense(state, ins.to_matrix(), ins.qubits)

    def probability_one(self, state, q):
        return float(self.k.probability_one(state, q))

    def collapse(self, state, q, outcome, p):
        self.k.collapse(state, q, outcome, p)

    def flip(self, state, q):
        self.k.apply_x(state, q)

    def probabilities(self, state):
        return self.k.probabilities(state)


@contextlib.contextmanager
def _threads(kernels, num_threads):
    if kernels is None or num_threads is None:
        yield
        return
    before = kernels.get_num_threads()
    kernels.set_num_threads(num_threads)
    try:
        yield
    finally:
        kernels.set_num_threads(before)


class StatevectorBackend:
    """Exact state-vector simulation.

    Args:
        precision: ``"double"`` (complex128, 16 bytes per amplitude; default) or ``"single"``
            (complex64, 8 bytes; about 1e-6 relative accuracy).
        num_threads: threads for the kernels (default: all cores, or ``KIZUNA_NUM_THREADS``).
        fusion: ``"auto"`` (default: merge gates into blocks from ``FUSION_MIN_QUBITS``
            qubits on), ``True`` (always) or ``False`` (never).
        max_fused_qubits: largest fused block, 1..5.
    """

    name = "statevector"

    def __init__(
        self,
        precision: str = "double",
        num_threads: int | None = None,
        fusion: bool | str = "auto",
        max_fused_qubits: int = 4,
    ):
        if precision not in _PRECISIONS:
            raise BackendError(f"precision must be 'double' or 'single' (got {precision!r})")
        self.precision = precision
        self.dtype = _PRECISIONS[precision]
        self.num_threads = resolve_threads(num_threads)
        if fusion not in (True, False, "auto"):
            raise BackendError(f"fusion must be True, False or 'auto' (got {fusion!r})")
        self.fusion = fusion
        self.max_fused_qubits = max_fused_qubits
        kernels = _fast_kernels()
        self._kernels = kernels
        self._ops = _NumbaOps(self.dtype, kernels) if kernels is not None else _NumpyOps(self.dtype)

    @property
    def options(self) -> dict:
        """The options that shape results, for provenance."""
        return {
            "precision": self.precision,
            "num_threads": self.num_threads,
            "fusion": self.fusion,
            "max_fused_qubits": self.max_fused_qubits,
            "kernels": "numba" if self._kernels is not None else "numpy",
        }

    def _fuses(self, num_qubits: int) -> bool:
        if self.fusion == "auto":
            return num_qubits >= FUSION_MIN_QUBITS
        return self.fusion

    def _compile(self, body: list[Instruction], num_qubits: int) -> list[FusedOp | Program]:
        """The passes for ``body``: fused blocks (from ``FUSION_MIN_QUBITS`` qubits on) or one
        pass per gate; with the numba kernels, each run of gates between measurements, resets
        and conditions becomes one ``Program`` (a single kernel call)."""
        if self._fuses(num_qubits):
            ops = fuse(body, num_qubits, self.max_fused_qubits)
        else:
            ops = []
            for ins in body:
                if ins.name in ("measure", "reset") or ins.condition is not None:
                    ops.append(FusedOp("passthrough", ins.qubits, instruction=ins))
                elif self._kernels is not None:
                    ops.append(ins)  # encoded straight into a Program below
                else:
                    ops.append(FusedOp("dense", ins.qubits, matrix=ins.to_matrix()))
        if self._kernels is None:
            return ops
        out: list[FusedOp | Program] = []
        run: list = []

        def close():
            if run:
                if isinstance(run[0], Instruction):
                    out.append(Program.from_instructions(run, self.dtype))
                else:
                    out.append(Program.from_fused(run, self.dtype))
                run.clear()

        for op in ops:
            if isinstance(op, FusedOp) and op.kind == "passthrough":
                close()
                out.append(op)
            else:
                run.append(op)
        close()
        return out

    def parametric_program(self, flat: list[Instruction], num_qubits: int) -> Program | None:
        """A reusable ``Program`` for ``flat`` (from ``flatten(circuit, symbolic=True)``) whose
        parameters are bound per call with ``Program.bind``; ``None`` where this engine would
        rather bind and fuse per call (no numba kernels, or a state large enough to fuse).

        Raises:
            SimulationError: a mid-circuit measurement, reset or condition (as ``final_state``).
        """
        body = self._unitary_body(flat)
        if self._kernels is None or self._fuses(num_qubits):
            return None
        return Program.from_instructions(body, self.dtype)

    def run_program(self, program: Program, num_qubits: int) -> np.ndarray:
        """Run a bound ``parametric_program`` from |0...0>."""
        self._check_memory(num_qubits, self._ops.copies)
        state = self._zero_state(num_qubits)
        with _threads(self._kernels, self.num_threads):
            return program.run(state, self._kernels)

    def _zero_state(self, num_qubits):
        state = np.zeros(1 << num_qubits, dtype=self.dtype)
        state[0] = 1
        return state

    def _check_memory(self, num_qubits, copies, budget=None, what="state vector"):
        return _memory.check_state_memory(
            num_qubits,
            copies=copies,
            bytes_per_amplitude=np.dtype(self.dtype).itemsize,
            budget=budget,
            what=what,
        )

    @staticmethod
    def _unitary_body(flat: list[Instruction]) -> list[Instruction]:
        """``flat`` without its deferred measurements; an error if anything else in it makes
        the state depend on measurement outcomes."""
        deferred = deferred_measurements(flat)
        for i, ins in enumerate(flat):
            if i in deferred:
                continue
            if ins.name in ("measure", "reset") or ins.condition is not None:
                what = f"conditioned {ins.label()}" if ins.condition is not None else f"{ins.name!r}"
                raise SimulationError(
                    f"instruction {i} ({what} on qubits {list(ins.qubits)}) makes the state "
                    "depend on measurement outcomes; use kizuna.run(...) to sample it"
                )
        return [ins for i, ins in enumerate(flat) if i not in deferred]

    def final_state(self, flat: list[Instruction], num_qubits: int) -> np.ndarray:
        """The state before the deferred (terminal) measurements.

        Raises:
            SimulationError: a mid-circuit measurement, a reset or a condition (the state
                would depend on measurement outcomes; use ``run`` for those).
        """
        body = self._unitary_body(flat)
        self._check_memory(num_qubits, self._ops.copies)
        ops = self._compile(body, num_qubits)
        state = self._zero_state(num_qubits)
        with _threads(self._kernels, self.num_threads):
            for op in ops:
                state = self._ops.apply(state, op)
        return state

    def sample(
        self,
        flat: list[Instruction],
        num_qubits: int,
        shots: int,
        rng: np.random.Generator,
    ) -> tuple[dict[int, int], dict]:
        """Counts of classical-register values (clbit ``k`` is bit ``k`` of the key).

        Returns:
            ``(counts, metadata)`` where metadata holds ``branches`` (trajectories simulated),
            ``deferred_measurements`` and ``passes`` (fused operations per trajectory).
        """
        deferred = deferred_measurements(flat)
        tail = [flat[i] for i in sorted(deferred)]
        body = [ins for i, ins in enumerate(flat) if i not in deferred]
        ops = self._compile(body, num_qubits)
        splits = any(ins.name in ("measure", "reset") for ins in body)
        # Read the budget once, before allocating: later checks must not count our own states
        # twice (the OS figure shrinks as we allocate).
        budget = _memory.available_memory_bytes()
        # + 1: the float64 probabilities that sampling the deferred measurements allocates
        self._check_memory(num_qubits, self._ops.copies + 1 + (1 if splits else 0), budget)
        counts: dict[int, int] = {}
        stack = [_Branch(0, self._zero_state(num_qubits), 0, shots)]
        branches = 0
        o = self._ops
        with _threads(self._kernels, self.num_threads):
            while stack:
                br = stack.pop()
                state, clbits, k = br.state, br.clbits, br.shots
                pc = br.pc
                while pc < len(ops):
                    op = ops[pc]
                    pc += 1
                    if isinstance(op, Program) or op.kind != "passthrough":
                        state = o.apply(state, op)
                        continue
                    ins = op.instruction
                    if not _condition_holds(ins, clbits):
                        continue
                    if ins.name not in ("measure", "reset"):
                        state = o.apply_gate(state, ins)
                        continue
                    q = ins.qubits[0]
                    p1 = min(max(o.probability_one(state, q), 0.0), 1.0)
                    k1 = int(rng.binomial(k, p1))
                    if 0 < k1 < k:  # split: the outcome-1 branch waits on the stack
                        if budget is not None:  # pending branches + the working state
                            self._check_memory(
                                num_qubits,
                                len(stack) + 2 + o.copies,
                                budget,
                                what=f"state vector with {len(stack) + 1} pending measurement branch(es)",
                            )
                        other = state.copy()
                        o.collapse(other, q, 1, p1)
                        other_bits = clbits
                        if ins.name == "measure":
                            other_bits = _set_bit(clbits, ins.clbits[0], 1)
                        else:
                            o.flip(other, q)
                        stack.append(_Branch(pc, other, other_bits, k1))
                        outcome, k = 0, k - k1
                    else:
                        outcome = 1 if k1 else 0
                    o.collapse(state, q, outcome, p1 if outcome else 1.0 - p1)
                    if ins.name == "measure":
                        clbits = _set_bit(clbits, ins.clbits[0], outcome)
                    elif outcome:
                        o.flip(state, q)
                branches += 1
                self._sample_tail(state, tail, clbits, k, rng, counts)
        passes = sum(op.num_ops if isinstance(op, Program) else 1 for op in ops)
        meta = {"branches": branches, "deferred_measurements": len(tail), "passes": passes}
        meta.update(self.options)
        return counts, meta

    def _sample_tail(self, state, tail, clbits, shots, rng, counts) -> None:
        if not tail:
            counts[clbits] = counts.get(clbits, 0) + shots
            return
        qubits = sorted({ins.qubits[0] for ins in tail})
        position = {q: i for i, q in enumerate(qubits)}
        p = sv.marginal(np.asarray(self._ops.probabilities(state), dtype=np.float64), qubits)
        total = p.sum()
        if not np.isfinite(total) or total <= 0:
            raise SimulationError("the state lost its norm during simulation")
        cdf = np.cumsum(p / total)
        cdf[np.flatnonzero(p)[-1]:] = 1.0  # rounding never selects a zero-probability outcome
        draws = np.searchsorted(cdf, rng.random(shots), side="right")
        values, multiplicity = np.unique(draws, return_counts=True)
        for v, m in zip(values.tolist(), multiplicity.tolist()):
            key = clbits
            for ins in tail:
                key = _set_bit(key, ins.clbits[0], (v >> position[ins.qubits[0]]) & 1)
            counts[key] = counts.get(key, 0) + m
