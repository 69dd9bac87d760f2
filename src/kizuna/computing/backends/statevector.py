"""The exact state-vector backend (numpy).

Runs a flat instruction list on a ``2**n`` complex128 vector. Sampling is exact:

* Measurements that nothing later depends on (no later gate on their qubit, no later
  condition reading their bit) are *deferred*: the state is evolved once and all shots are
  drawn from its final distribution.
* Any other measurement or reset branches the run: the shots still to be drawn split between
  the two outcomes by a binomial draw, and each branch continues with its collapsed state
  (depth first, so at most one pending copy per branching point is alive; the memory guard
  counts those copies before each split). Conditions are
  evaluated per branch. Every shot therefore follows its own exact trajectory, at the cost of
  one simulation per distinct measurement history rather than per shot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core import _memory
from ...core._kernels import statevector as sv
from ...core.gates import gate_matrix
from ...errors import SimulationError
from ..circuit import Instruction


def _matrix(ins: Instruction) -> np.ndarray:
    return ins.matrix if ins.name == "unitary" else gate_matrix(ins.name, ins.params)


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


class StatevectorBackend:
    """Exact state-vector simulation in complex128 (16 bytes per amplitude)."""

    name = "statevector"

    def final_state(self, flat: list[Instruction], num_qubits: int) -> np.ndarray:
        """The state before the deferred (terminal) measurements.

        Raises:
            SimulationError: a mid-circuit measurement, a reset or a condition (the state
                would depend on measurement outcomes; use ``run`` for those).
        """
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
        _memory.check_state_memory(num_qubits, copies=3)
        state = sv.zero_state(num_qubits)
        for i, ins in enumerate(flat):
            if i not in deferred:
                state = sv.apply_matrix(state, _matrix(ins), ins.qubits)
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
            ``(counts, metadata)`` where metadata holds ``branches`` (trajectories simulated)
            and ``deferred_measurements``.
        """
        deferred = deferred_measurements(flat)
        tail = [flat[i] for i in sorted(deferred)]
        body_measures = any(
            (ins.name in ("measure", "reset")) and i not in deferred for i, ins in enumerate(flat)
        )
        # Read the budget once, before allocating: later checks must not count our own states
        # twice (the OS figure shrinks as we allocate).
        budget = _memory.available_memory_bytes()
        _memory.check_state_memory(num_qubits, copies=4 if body_measures else 3, budget=budget)
        counts: dict[int, int] = {}
        stack = [_Branch(0, sv.zero_state(num_qubits), 0, shots)]
        branches = 0
        while stack:
            br = stack.pop()
            state, clbits, k = br.state, br.clbits, br.shots
            pc = br.pc
            while pc < len(flat):
                ins = flat[pc]
                pc += 1
                if pc - 1 in deferred or not _condition_holds(ins, clbits):
                    continue
                if ins.name not in ("measure", "reset"):
                    state = sv.apply_matrix(state, _matrix(ins), ins.qubits)
                    continue
                q = ins.qubits[0]
                p1 = min(max(sv.probability_one(state, q), 0.0), 1.0)
                k1 = int(rng.binomial(k, p1))
                outcomes = [o for o, m in ((0, k - k1), (1, k1)) if m]
                if len(outcomes) == 2:  # split: the outcome-1 branch waits on the stack
                    if budget is not None:  # pending branches + the working state and temporaries
                        _memory.check_state_memory(
                            num_qubits,
                            copies=len(stack) + 4,
                            budget=budget,
                            what=f"state vector with {len(stack) + 1} pending measurement branch(es)",
                        )
                    other = state.copy()
                    sv.collapse(other, q, 1, p1)
                    other_bits = clbits
                    if ins.name == "measure":
                        other_bits = _set_bit(clbits, ins.clbits[0], 1)
                    else:
                        sv.flip(other, q)
                    stack.append(_Branch(pc, other, other_bits, k1))
                    outcome, k = 0, k - k1
                else:
                    outcome = outcomes[0]
                sv.collapse(state, q, outcome, p1 if outcome else 1.0 - p1)
                if ins.name == "measure":
                    clbits = _set_bit(clbits, ins.clbits[0], outcome)
                elif outcome:
                    sv.flip(state, q)
            branches += 1
            self._sample_tail(state, tail, clbits, k, rng, counts)
        return counts, {"branches": branches, "deferred_measurements": len(tail)}

    @staticmethod
    def _sample_tail(state, tail, clbits, shots, rng, counts) -> None:
        if not tail:
            counts[clbits] = counts.get(clbits, 0) + shots
            return
        qubits = sorted({ins.qubits[0] for ins in tail})
        position = {q: i for i, q in enumerate(qubits)}
        p = sv.probabilities(state, qubits)
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
