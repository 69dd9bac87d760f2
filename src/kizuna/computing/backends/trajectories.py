"""The quantum-trajectory backend: noisy circuits sampled on the fast state-vector engine.

Each shot follows one trajectory of the noise (the Monte-Carlo wave-function method of Dalibard,
Castin and Mølmer, PRL 68, 580 (1992); Plenio and Knight, RMP 70, 101 (1998)): at a channel
with Kraus matrices ``K_j`` the state ``psi`` becomes ``K_j psi / ||K_j psi||`` with the Born
probability ``p_j = ||K_j psi||^2``. Averaged over trajectories this is exactly the channel, so
the counts are an unbiased sample of the noisy circuit (the same distribution as the
density-matrix backend, without its ``4**n`` memory).

Shots that share a history share one simulation. The run starts as one branch holding every
shot; at a channel its ``k`` shots split by a multinomial draw over the ``p_j`` and each group
continues as its own branch (the largest in place, the others on copies), as measurements split
the shots of the state-vector backend. With weak noise most shots never leave the error-free
branch, so a run costs about one simulation per *distinct* error history, not one per shot.

* With the numba kernels a branch runs in one call (``_numba_dm.run_branch``) up to its next
  split, measurement, reset or condition: per channel one uniform draws how many of its ``k``
  shots take the most likely branch ``j*`` (the identity of a mixed-unitary channel) by
  inverting the binomial CDF; only when some shot does not is Python back to split them.
  A branch of one shot is a single trajectory that runs to the end in that call.
* Mixed-unitary channels (every ``K_j^dagger K_j`` proportional to the identity: Pauli,
  depolarizing, bit and phase flips, coherent errors) have state-independent ``p_j`` and
  their identity is never applied; other channels (amplitude damping, thermal relaxation)
  read ``p_j = tr(E_j rho_Q)`` from the reduced density matrix of their qubits
  (``E_j = K_j^dagger K_j``; one pass over the state) and apply ``K_j / sqrt(p_j)``.

* A channel that follows its gate on the same qubits (as ``NoiseModel.lower`` places gate
  errors) absorbs it: ``K_j G`` and ``G^dagger E_j G`` are precomputed, so a noisy gate is
  one read of the state (the Born probabilities) and one pass, not three.

Randomness and threads: the root branch draws from the run's generator; a branch that splits
off gets either a block of uniforms drawn from its parent (a single shot) or a child of its
parent's ``numpy.random.SeedSequence`` (``spawn``, in a fixed order). Every branch's draws are
therefore fixed when it is created, so the counts are the same bit for bit whichever worker
runs which branch, and for any number of workers. Below ``PARALLEL_MIN_QUBITS`` qubits the
branches run on ``num_threads`` Python threads, each with serial kernels (the numba calls
release the GIL); from it on one thread runs them and the kernels are threaded.

Measurements, resets, conditions and readout errors behave as in the density-matrix backend
(deferred terminal measurements, binomial splits, readout flips drawn per shot).

Cost: O(passes * 2**n) time per distinct trajectory. Memory: ``2**n`` amplitudes per live
branch; branches run depth first (the children of a split before the branch that continues),
so the live ones are those along the current chain of splits and their waiting siblings,
counted against the memory guard.

This module imports ``core`` and ``computing``; nothing above.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ...core import _memory
from ...core._kernels import statevector as sv
from ...errors import SimulationError
from ..circuit import Instruction
from ..noise import ChannelOp
from .density_matrix import (
    basis_sampler,
    check_program,
    measurement_groups,
    prune_unobserved_channels,
    record_shots,
    split_program,
)
from .statevector import (
    StatevectorBackend,
    _condition_holds,
    _set_bit,
    _threads,
    resolve_threads,
)

__all__ = ["PARALLEL_MIN_QUBITS", "TrajectoriesBackend"]

#: From this many qubits on, a pass over the state is threaded inside the kernels and the
#: branches run one at a time; below it they run on a pool of threads, each kernel serial.
#: Threads inside a kernel meet at a barrier on every pass; on a loaded 2-core machine one
#: late thread made a 14- to 18-qubit pass 5-100x slower (measured), while branches on
#: separate threads never wait for each other.
PARALLEL_MIN_QUBITS = 20
#: A channel is mixed-unitary when every ``K_j^dagger K_j`` is within this of ``p_j I``.
_MIXED_ATOL = 1e-12

# row codes of the noisy program (see core._kernels._numba_dm; that module imports numba)
_CH_MIXED, _CH_GENERAL, _CH_PASS = 16, 17, 18


# --- channels -----------------------------------------------------------------------------------


@dataclass(eq=False)
class _ChannelInfo:
    """A channel prepared for sampling.

    ``mixed``: ``ops`` are unitaries with fixed probabilities ``probs``; ``identity`` is the
    index of one that is the identity up to a phase (-1: none). Otherwise ``ops`` are the Kraus
    matrices and ``effects`` the ``E_j = K_j^dagger K_j``.
    """

    qubits: tuple[int, ...]
    mixed: bool
    ops: list[np.ndarray]
    probs: np.ndarray | None
    effects: list[np.ndarray] | None
    identity: int

    @classmethod
    def of(cls, kraus: Sequence[np.ndarray], qubits) -> _ChannelInfo:
        ks = [np.asarray(k, dtype=np.complex128) for k in kraus]
        ks = [k for k in ks if np.any(k)]
        d = ks[0].shape[0]
        effects = [k.conj().T @ k for k in ks]
        weights = [float(np.trace(e).real) / d for e in effects]
        eye = np.eye(d)
        if all(np.abs(e - w * eye).max() <= _MIXED_ATOL for e, w in zip(effects, weights)):
            unitaries = [k / np.sqrt(w) for k, w in zip(ks, weights)]
            identity = -1
            for j, u in enumerate(unitaries):
                if np.abs(u - u[0, 0] * eye).max() <= _MIXED_ATOL:
                    identity = j
                    break
            probs = np.array(weights) / sum(weights)
            return cls(tuple(qubits), True, unitaries, probs, None, identity)
        return cls(tuple(qubits), False, ks, None, effects, -1)

    def after(self, gate: np.ndarray) -> _ChannelInfo:
        """This channel with ``gate`` (a unitary on the same qubits) applied first: ops
        ``K_j G``, effects ``G^dagger E_j G`` (the Born probabilities read before the gate), so
        a noisy gate costs one read of the state and one pass instead of three."""
        ops = [k @ gate for k in self.ops]
        if self.mixed:
            return _ChannelInfo(self.qubits, True, ops, self.probs, None, -1)
        effects = [gate.conj().T @ e @ gate for e in self.effects]
        return _ChannelInfo(self.qubits, False, ops, None, effects, -1)

    def probabilities(self, rho: np.ndarray) -> np.ndarray:
        """Born probabilities for a (reduced) density matrix of the channel's qubits."""
        if self.mixed:
            return self.probs
        p = np.array([float(np.real(np.sum(e * rho.T))) for e in self.effects])
        return np.maximum(p, 0.0)

    def choose(self, p: np.ndarray, x: float) -> int:
        """The index a uniform ``x`` selects: the first ``j`` with ``x * sum(p) < cumsum(p)[j]``,
        never one of probability zero (the rule of ``_numba_dm``)."""
        t = x * float(p.sum())
        acc = 0.0
        last = -1
        for j, pj in enumerate(p.tolist()):
            if pj > 0.0:
                last = j
                acc += pj
                if t < acc:
                    return j
        return last

    def choose_mixed(self, x: float) -> int:
        cum = np.cumsum(self.probs)
        j = 0
        while j < len(cum) - 1 and x >= cum[j]:
            j += 1
        return j


# --- randomness ---------------------------------------------------------------------------------


class _Draws:
    """A branch's random numbers: a block of uniforms drawn for it by its parent, then a
    generator made from its own ``SeedSequence`` (created only if the block runs out)."""

    __slots__ = ("buf", "gen", "pos", "seed_seq")

    def __init__(self, gen=None, seed_seq=None, buf=None):
        self.gen = gen
        self.seed_seq = seed_seq if seed_seq is not None or gen is None else gen.bit_generator.seed_seq
        self.buf = buf
        self.pos = 0

    def generator(self) -> np.random.Generator:
        if self.gen is None:
            self.gen = np.random.default_rng(self.seed_seq)
        return self.gen

    def random(self, size) -> np.ndarray:
        """Uniforms in [0, 1) of shape ``size`` (an int or a tuple)."""
        m = size if isinstance(size, int) else size[0] * size[1]
        if self.buf is not None and self.pos + m <= self.buf.size:
            out = self.buf[self.pos : self.pos + m]
            self.pos += m
            return out.reshape(size)
        self.buf = None
        return self.generator().random(size)

    def binomial(self, n: int, p: float) -> int:
        if n == 1:
            return int(self.random(1)[0] < p)
        return int(self.generator().binomial(n, p))

    def child(self, shots: int, uniforms: int) -> _Draws:
        """The draws of a branch split off now with ``shots`` shots."""
        if self.seed_seq is None:  # a user's Generator without a seed sequence
            self.seed_seq = np.random.SeedSequence(int(self.generator().integers(1 << 63)))
        ss = self.seed_seq.spawn(1)[0]
        if shots == 1:
            return _Draws(seed_seq=ss, buf=self.generator().random(uniforms))
        return _Draws(seed_seq=ss)


# --- the compiled program -----------------------------------------------------------------------


@dataclass(eq=False)
class _Step:
    kind: str  # "gates", "channel", "pass"
    ops: list | None = None  # gates: the engine's passes (numpy path)
    info: _ChannelInfo | None = None  # channel, or a conditioned channel / reset (pass)
    item: object = None  # pass: the instruction or ChannelOp
    row: int = 0  # first row in the numba table


class _Tape:
    """A noisy program body as Python steps and (with numba) the table of ``_numba_dm``."""

    def __init__(self, body: list, num_qubits: int, engine: StatevectorBackend):
        self.steps: list[_Step] = []
        run: list[Instruction] = []
        self.kernels = engine._kernels
        dtype = engine.dtype
        rows: list[tuple] = []
        chan: list[tuple] = []
        qubits: list[int] = []
        data: list[np.ndarray] = []
        fdata: list[float] = []
        size = [0]

        def put(values) -> int:
            off = size[0]
            flat = np.ascontiguousarray(values, dtype=dtype).reshape(-1)
            data.append(flat)
            size[0] += flat.size
            return off

        def close_run():
            if not run:
                return
            ops = engine._compile(list(run), num_qubits)
            step = _Step("gates", ops=ops, row=len(rows))
            if self.kernels is not None:
                for prog in ops:
                    q_off, d_off = len(qubits), size[0]
                    for code, q0, k, d0 in prog.table.tolist():
                        rows.append((code, q0 + q_off, k, d0 + d_off))
                        chan.append((0, 0, 0, -1))
                    qubits.extend(prog.qubits.tolist())
                    if prog.data.size:
                        put(prog.data)
            self.steps.append(step)
            run.clear()

        infos: dict[int, tuple] = {}  # id(channel) -> (channel, info): a model reuses a few

        def info_of(op: ChannelOp) -> _ChannelInfo:
            hit = infos.get(id(op.channel))
            if hit is None:
                hit = infos[id(op.channel)] = (op.channel, _ChannelInfo.of(op.channel.kraus, ()))
            base = hit[1]
            return _ChannelInfo(tuple(op.qubits), base.mixed, base.ops, base.probs, base.effects, base.identity)

        for item in body:
            if isinstance(item, Instruction) and item.name not in ("measure", "reset") and item.condition is None:
                run.append(item)
                continue
            gate = None
            if isinstance(item, ChannelOp) and item.condition is None and run and run[-1].qubits == item.qubits:
                gate = run.pop()  # the noisy gate itself: absorbed into the channel's matrices
            close_run()
            if isinstance(item, ChannelOp) and item.condition is None:
                info = info_of(item)
                if gate is not None:
                    info = info.after(np.asarray(gate.to_matrix(), dtype=np.complex128))
                step = _Step("channel", info=info, row=len(rows))
                m = len(info.ops)
                d0 = put(np.stack(info.ops))
                if info.mixed:
                    f0 = len(fdata)
                    cum = np.cumsum(info.probs)
                    cum[-1] = 1.0
                    fdata.extend(cum.tolist())
                    rows.append((_CH_MIXED, len(qubits), len(info.qubits), d0))
                    chan.append((m, f0, 0, info.identity))
                else:
                    e0 = put(np.stack(info.effects))
                    rows.append((_CH_GENERAL, len(qubits), len(info.qubits), d0))
                    chan.append((m, 0, e0, -1))
                qubits.extend(info.qubits)
                self.steps.append(step)
                continue
            info = info_of(item) if isinstance(item, ChannelOp) else None
            self.steps.append(_Step("pass", item=item, info=info, row=len(rows)))
            rows.append((_CH_PASS, 0, 0, 0))
            chan.append((0, 0, 0, -1))
        close_run()
        self.num_rows = len(rows)
        self.table = np.array(rows, dtype=np.int64).reshape(-1, 4)
        self.chan = np.array(chan, dtype=np.int64).reshape(-1, 4)
        self.qubits = np.array(qubits, dtype=np.int64)
        self.data = np.concatenate(data) if data else np.zeros(1, dtype)
        self.fdata = np.array(fdata + [1.0], dtype=np.float64)
        n_steps = len(self.steps)
        self.step_of_row = np.zeros(self.num_rows + 1, dtype=np.int64)
        for i, st in enumerate(self.steps):
            end = self.steps[i + 1].row if i + 1 < n_steps else self.num_rows
            self.step_of_row[st.row : end] = i
        self.step_of_row[self.num_rows] = n_steps
        # channels from each step to the next pass step (uniforms a one-shot branch needs)
        self.channels_ahead = [0] * (n_steps + 1)
        for i in range(n_steps - 1, -1, -1):
            kind = self.steps[i].kind
            self.channels_ahead[i] = 0 if kind == "pass" else self.channels_ahead[i + 1] + (kind == "channel")
        self.num_channels = sum(st.kind == "channel" for st in self.steps)
        self.max_kraus = max([len(st.info.ops) for st in self.steps if st.info is not None] + [1])


# --- the backend --------------------------------------------------------------------------------


@dataclass
class _Branch:
    step: int
    state: np.ndarray
    clbits: int
    shots: int
    pending: dict
    draws: _Draws


class TrajectoriesBackend:
    """Monte-Carlo wave-function simulation of noisy programs (see the module docstring).

    Args:
        precision: ``"double"`` (complex128, default) or ``"single"`` (complex64).
        num_threads: threads (default: all cores, or ``KIZUNA_NUM_THREADS``): kernel threads
            from ``PARALLEL_MIN_QUBITS`` qubits on, else workers running branches. Counts do
            not depend on it.
        fusion: gate fusion of the state-vector engine (``"auto"``, ``True``, ``False``).
        max_fused_qubits: largest fused gate block, 1..5.

    Raises:
        BackendError: a bad option.

    Example:
        >>> import numpy as np
        >>> from kizuna import Circuit
        >>> from kizuna.computing.circuit import flatten
        >>> from kizuna.computing.noise import NoiseModel
        >>> from kizuna.core.channels import depolarizing
        >>> noise = NoiseModel().add_all_qubit_error(depolarizing(0.01, 2), ["cx"])
        >>> ghz = Circuit(3, 3).h(0).cx(0, 1).cx(1, 2).measure([0, 1, 2], [0, 1, 2])
        >>> counts, meta = TrajectoriesBackend().sample(noise.lower(flatten(ghz), 3), 3, 1000,
        ...                                             np.random.default_rng(1))
        >>> sum(counts.values()), meta["branches"] < 100   # shots share error-free histories
        (1000, True)
    """

    name = "trajectories"

    def __init__(self, precision: str = "double", num_threads: int | None = None, fusion="auto",
                 max_fused_qubits: int = 4):
        self.num_threads = resolve_threads(num_threads)
        self._engine = StatevectorBackend(precision=precision, num_threads=self.num_threads, fusion=fusion,
                                          max_fused_qubits=max_fused_qubits)
        self.precision = precision
        self.dtype = self._engine.dtype
        self._kernels = self._engine._kernels
        self._dm = None
        if self._kernels is not None:
            from ...core._kernels import _numba_dm

            self._dm = _numba_dm

    @property
    def options(self) -> dict:
        """The options that shape results, for provenance."""
        return dict(self._engine.options)

    def workers(self, num_qubits: int) -> int:
        """Threads that run branches for a register of ``num_qubits`` qubits."""
        import os

        if num_qubits >= PARALLEL_MIN_QUBITS:
            return 1
        return self.num_threads or os.cpu_count() or 1

    # --- one branch ------------------------------------------------------------------------------
    def _apply_op(self, state, op, qubits):
        o = self._engine._ops
        if self._kernels is None:
            return sv.apply_matrix(state, np.ascontiguousarray(op, dtype=self.dtype), list(qubits))
        return o._dense(state, op, list(qubits))

    def _rdm(self, state, qubits, n):
        if self._dm is not None:
            return self._dm.reduced_density_matrix(state, np.asarray(qubits, dtype=np.int64))
        psi = state.reshape((2,) * n)
        k = len(qubits)
        a = np.moveaxis(psi, [n - 1 - q for q in reversed(qubits)], list(range(k))).reshape(1 << k, -1)
        return a @ a.conj().T

    def _apply_choice(self, state, info: _ChannelInfo, j: int, p: float):
        if info.mixed:
            if j != info.identity:
                state = self._apply_op(state, info.ops[j], info.qubits)
            return state
        return self._apply_op(state, info.ops[j] / np.sqrt(p), info.qubits)

    def _channel(self, br: _Branch, info: _ChannelInfo, ctx) -> list[_Branch]:
        """Apply a channel to ``br``; returns the branches it split off."""
        if info.mixed:
            p = info.probs
        else:
            p = info.probabilities(self._rdm(br.state, info.qubits, ctx.n))
        if br.shots == 1:
            x = float(br.draws.random(1)[0])
            j = info.choose_mixed(x) if info.mixed else info.choose(p, x)
            if j < 0:
                raise SimulationError("a noise channel met a state of norm zero")
            br.state = self._apply_choice(br.state, info, j, float(p[j]))
            return []
        total = float(p.sum())
        counts = br.draws.generator().multinomial(br.shots, p / total)
        return self._split_channel(br, info, counts, p / total, ctx)

    def _split_channel(self, br: _Branch, info: _ChannelInfo, counts, p, ctx) -> list[_Branch]:
        groups = [(j, int(c)) for j, c in enumerate(counts.tolist()) if c]
        main = max(range(len(groups)), key=lambda g: (groups[g][1], -g))
        children = []
        for g, (j, c) in enumerate(groups):
            if g == main:
                continue
            ctx.reserve()
            child = _Branch(br.step, br.state.copy(), br.clbits, c, br.pending,
                            br.draws.child(c, ctx.uniforms_for(br.step)))
            child.state = self._apply_choice(child.state, info, j, float(p[j]))
            children.append(child)
        j, br.shots = groups[main]
        br.state = self._apply_choice(br.state, info, j, float(p[j]))
        return children

    def _mixed_stretch(self, br: _Branch, ctx) -> list[_Branch]:
        """From a gate or mixed-channel step with several shots: draw the error counts of the
        channels up to the next other step, run the gates to the first channel where a shot
        errs (one kernel call), and split there."""
        tape = ctx.tape
        steps = tape.steps
        end = br.step
        mixed_at = []
        while end < len(steps) and (steps[end].kind == "gates" or (steps[end].kind == "channel" and steps[end].info.mixed)):
            if steps[end].kind == "channel":
                mixed_at.append(end)
            end += 1
        stop = end
        errs = None
        if mixed_at:
            p_id = np.array([
                steps[i].info.probs[steps[i].info.identity] if steps[i].info.identity >= 0 else 0.0
                for i in mixed_at
            ])
            errs = br.draws.generator().binomial(br.shots, np.clip(1.0 - p_id, 0.0, 1.0))
            hit = np.flatnonzero(errs)
            if hit.size:
                stop = mixed_at[int(hit[0])]
        self._run_gates(br, br.step, stop, ctx)
        br.step = stop
        if stop == end:
            return []
        info = steps[stop].info
        n_err = int(errs[int(hit[0])])
        probs = info.probs.copy()
        if info.identity >= 0:
            probs[info.identity] = 0.0
        counts = br.draws.generator().multinomial(n_err, probs / probs.sum())
        if info.identity >= 0:
            counts[info.identity] = br.shots - n_err
        br.step = stop + 1
        return self._split_channel(br, info, counts, info.probs, ctx)

    def _run_gates(self, br: _Branch, start: int, stop: int, ctx) -> None:
        """Apply the gate steps in ``[start, stop)`` (channels there drew the identity)."""
        for st in ctx.tape.steps[start:stop]:
            if st.kind == "gates":
                for op in st.ops:
                    br.state = self._engine._ops.apply(br.state, op)

    def _pass(self, br: _Branch, step: _Step, ctx) -> list[_Branch]:
        """A measurement, reset or conditioned operation."""
        item = step.item
        if not _condition_holds(item, br.clbits):
            return []
        if isinstance(item, ChannelOp):
            return self._channel(br, step.info, ctx)
        o = self._engine._ops
        if item.name not in ("measure", "reset"):
            br.state = o.apply_gate(br.state, item)
            return []
        q = item.qubits[0]
        p1 = min(max(o.probability_one(br.state, q), 0.0), 1.0)
        if item.name == "reset":
            k1 = br.draws.binomial(br.shots, p1)
            groups = [(o_, o_, c) for o_, c in ((0, br.shots - k1), (1, k1)) if c]
        else:
            b = item.clbits[0]
            a = ctx.readout.get(q)
            now = id(item) in ctx.resolve_now
            groups = measurement_groups(br.shots, p1, a, now, br.draws)
            if a is not None and not now:
                br.pending = {**br.pending, b: a}
            elif b in br.pending:
                br.pending = {c: v for c, v in br.pending.items() if c != b}
        main = max(range(len(groups)), key=lambda g: (groups[g][2], -g))
        children = []
        for g, (outcome, recorded, c) in enumerate(groups):
            if g == main:
                continue
            ctx.reserve()
            child = _Branch(br.step, br.state.copy(), br.clbits, c, br.pending,
                            br.draws.child(c, ctx.uniforms_for(br.step)))
            self._collapse(child, item, outcome, recorded, p1)
            children.append(child)
        outcome, recorded, br.shots = groups[main]
        self._collapse(br, item, outcome, recorded, p1)
        return children

    def _collapse(self, br: _Branch, item: Instruction, outcome: int, recorded: int, p1: float) -> None:
        o = self._engine._ops
        q = item.qubits[0]
        o.collapse(br.state, q, outcome, p1 if outcome else 1.0 - p1)
        if item.name == "measure":
            br.clbits = _set_bit(br.clbits, item.clbits[0], recorded)
        elif outcome:
            o.flip(br.state, q)

    def _advance(self, br: _Branch, ctx) -> list[_Branch] | None:
        """Run ``br`` until it splits (returns the new branches, ``br`` last) or ends
        (records its shots, returns ``None``)."""
        steps = ctx.tape.steps
        step_once = self._step_numba if self._dm is not None else self._step_numpy
        while br.step < len(steps):
            children = step_once(br, ctx)
            if children:
                return children + [br]
        self._finish(br, ctx)
        return None

    def _step_numba(self, br: _Branch, ctx) -> list[_Branch]:
        """One numba call: run ``br`` to its next split, pass step or the end; handle it."""
        tape = ctx.tape
        u = br.draws.random(tape.channels_ahead[br.step])
        p_out = ctx.p_out()
        try:
            row, _, j_star, n_star = self._dm.run_branch(
                br.state, tape.table, tape.qubits, tape.data, tape.chan, tape.fdata, tape.steps[br.step].row,
                br.shots, np.ascontiguousarray(u), p_out,
            )
        except ValueError as exc:  # a state of norm zero: a bug or a non-CPTP input
            raise SimulationError(f"trajectory simulation failed: {exc}") from None
        i = int(tape.step_of_row[row])
        br.step = i
        if i == len(tape.steps):
            return []
        step = tape.steps[i]
        br.step = i + 1
        if step.kind == "pass":
            return self._pass(br, step, ctx)
        # a channel where the shots split: j_star took n_star of them
        info = step.info
        m = len(info.ops)
        p = p_out[:m].copy()
        p /= p.sum()
        gen = br.draws.generator()
        if n_star < 0:
            n_star = int(gen.binomial(br.shots, p[j_star]))
        rest = p.copy()
        rest[j_star] = 0.0
        counts = np.zeros(m, dtype=np.int64)
        if br.shots - n_star:
            counts = gen.multinomial(br.shots - n_star, rest / rest.sum())
        counts[j_star] = n_star
        return self._split_channel(br, info, counts, p, ctx)

    def _step_numpy(self, br: _Branch, ctx) -> list[_Branch]:
        """One step with the numpy kernels."""
        step = ctx.tape.steps[br.step]
        if step.kind == "pass":
            br.step += 1
            return self._pass(br, step, ctx)
        if br.shots > 1 and (step.kind == "gates" or step.info.mixed):
            return self._mixed_stretch(br, ctx)
        if step.kind == "gates":
            self._run_gates(br, br.step, br.step + 1, ctx)
            br.step += 1
            return []
        br.step += 1
        return self._channel(br, step.info, ctx)

    def _finish(self, br: _Branch, ctx) -> None:
        state = br.state
        if self._kernels is not None:
            def draw(u):
                return self._kernels.sample_indices(state, np.sort(u))
        else:
            def draw(u):
                return basis_sampler(sv.probabilities(state))(u)
        record_shots(ctx.counts(), draw, ctx.tail, br.clbits, br.pending, br.shots, br.draws, ctx.readout)
        ctx.done()

    # --- the run ---------------------------------------------------------------------------------
    def sample(
        self,
        program: Sequence,
        num_qubits: int,
        shots: int,
        rng: np.random.Generator,
        readout: Mapping[int, np.ndarray] | None = None,
    ) -> tuple[dict[int, int], dict]:
        """Counts of classical-register values (clbit ``k`` is bit ``k`` of the key).

        Args:
            program: the noisy program (``NoiseModel.lower(flatten(circuit), n)``, or the flat
                instructions of an ideal circuit).
            num_qubits: register width.
            shots: number of shots.
            rng: the run's generator (the root branch draws from it; the others from seeds
                spawned from its ``SeedSequence``).
            readout: qubit -> 2x2 readout assignment matrix (``A[i, j] = P(record i | true j)``).

        Returns:
            ``(counts, metadata)``; metadata holds ``branches`` (trajectories simulated to the
            end; shots that share a history share one), ``channels``, ``workers`` and
            ``deferred_measurements``.
        """
        program = prune_unobserved_channels(check_program(program, num_qubits))
        body, tail, resolve_now = split_program(program)
        tape = _Tape(body, num_qubits, self._engine)
        workers = self.workers(num_qubits)
        ctx = _Context(self, tape, tail, resolve_now, dict(readout or {}), num_qubits, workers)
        root = _Branch(0, self._engine._zero_state(num_qubits), 0, shots, {}, _Draws(gen=rng))
        if workers == 1:
            with _threads(self._kernels, self.num_threads):
                ctx.run_serial(root)
        else:
            ctx.run_parallel(root)
        meta = {
            "branches": ctx.finished,
            "channels": tape.num_channels,
            "workers": workers,
            "deferred_measurements": len(tail),
        }
        meta.update(self.options)
        return ctx.merged(), meta


class _Context:
    """The shared state of one run: the tape, the branch stack, counts and the memory guard."""

    def __init__(self, backend, tape, tail, resolve_now, readout, n, workers):
        self.backend = backend
        self.tape = tape
        self.tail = tail
        self.resolve_now = resolve_now
        self.readout = readout
        self.n = n
        self.workers = workers
        self.finished = 0
        self.live = 1
        self._lock = threading.Lock()
        self._local = threading.local()
        self._all_counts: list[dict] = []
        copies = backend._engine._ops.copies
        budget = _memory.available_memory_bytes()
        item = np.dtype(backend.dtype).itemsize
        # + 1: the float64 probabilities the tail sampling allocates
        backend._engine._check_memory(n, copies + 1, budget)
        self.max_live = None if budget is None else max(1, budget // (item * (1 << n)) - copies)
        self._uniform_extra = 2 + 2 * len(tail)

    def p_out(self) -> np.ndarray:
        """A per-thread scratch array for the probabilities ``run_branch`` reports."""
        buf = getattr(self._local, "p_out", None)
        if buf is None:
            buf = self._local.p_out = np.zeros(self.tape.max_kraus, dtype=np.float64)
        return buf

    def uniforms_for(self, step: int) -> int:
        """Uniforms to pre-draw for a one-shot branch starting at ``step``."""
        return self.tape.channels_ahead[step] + self._uniform_extra

    def reserve(self) -> None:
        with self._lock:
            if self.max_live is not None and self.live + 1 > self.max_live:
                raise _memory.MemoryLimitError(
                    f"the trajectory backend needs more than {self.live} live {self.n}-qubit states "
                    f"at once ({_memory.format_bytes(self.live * (1 << self.n) * np.dtype(self.backend.dtype).itemsize)})",
                    num_qubits=self.n,
                    bytes_needed=(self.live + 1) * (1 << self.n) * np.dtype(self.backend.dtype).itemsize,
                    bytes_available=self.max_live * (1 << self.n) * np.dtype(self.backend.dtype).itemsize,
                )
            self.live += 1

    def done(self) -> None:
        with self._lock:
            self.live -= 1
            self.finished += 1

    def counts(self) -> dict:
        c = getattr(self._local, "counts", None)
        if c is None:
            c = self._local.counts = {}
            with self._lock:
                self._all_counts.append(c)
        return c

    def merged(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for c in self._all_counts:
            for k, v in c.items():
                out[k] = out.get(k, 0) + v
        return dict(sorted(out.items()))

    def run_serial(self, root: _Branch) -> None:
        # depth first: a split pushes the continuing branch, then its children; the children
        # run first, so about one state per nesting level is alive
        stack = [root]
        while stack:
            br = stack.pop()
            new = self.backend._advance(br, self)
            if new:
                stack.append(new[-1])
                stack.extend(reversed(new[:-1]))

    def run_parallel(self, root: _Branch) -> None:
        stack = [root]
        cond = threading.Condition()
        state = {"active": 0, "error": None}

        def worker():
            kernels = self.backend._kernels
            if kernels is not None:
                kernels.set_num_threads(1)  # numba's thread count is per thread
            while True:
                with cond:
                    while not stack and state["active"] and state["error"] is None:
                        cond.wait()
                    if state["error"] is not None or not stack:
                        cond.notify_all()
                        return
                    br = stack.pop()
                    state["active"] += 1
                try:
                    while br is not None:
                        new = self.backend._advance(br, self)
                        br = None
                        if new:
                            # keep the first child, share the rest and the continuing branch
                            br = new[0]
                            with cond:
                                stack.append(new[-1])
                                stack.extend(reversed(new[1:-1]))
                                cond.notify_all()
                except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
                    with cond:
                        state["error"] = exc
                        cond.notify_all()
                    return
                finally:
                    with cond:
                        state["active"] -= 1
                        cond.notify_all()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if state["error"] is not None:
            raise state["error"]
