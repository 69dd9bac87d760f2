"""Repeater chains: heralded links, swap as soon as possible, memory decoherence and cutoffs.

A chain of ``N`` links joins nodes ``0 .. N``; node ``i`` holds one memory facing each
neighbour. Link ``i`` (between nodes ``i`` and ``i + 1``) runs heralded attempts whenever both
of its memories are free; the attempt that succeeds is drawn at once from the geometric
distribution (one event per success, not per attempt). A node that holds two pairs swaps them at
once (**swap as soon as possible**) with the node's noisy Bell measurement; the outcome travels
to the segment's end nodes over classical fiber. When a segment spans the whole chain and both
ends have heard every outcome, the pair is **delivered**: its fidelity is recorded, its end
memories are freed, and the end links start again.

Decoherence is applied exactly for the time each qubit was stored, when it is next touched
(swap, delivery): dephasing only (``Memory.t1_s`` infinite) keeps pairs Bell-diagonal;
with finite T1 the pairs are held as 4 x 4 density matrices and stored qubits go through the
core's ``thermal_relaxation`` channel (``representation="auto"`` picks this; both
representations can be forced and give the same answers where both apply).

A cutoff (``Memory.cutoff_s``) discards a stored pair whose oldest qubit has waited longer than
that, freeing its memories.

**Per-node hardware.** ``RepeaterChain.node_memories`` gives each node its own memory (the
qubit a node stores decays with that node's T1/T2; a pair's cutoff is the shorter of its two end
nodes' cutoffs) and ``node_swap_errors`` each node its own noisy Bell measurement
(``(gate_depolarizing, readout_error)``); without them every node uses ``memory`` and the
chain-wide swap errors.

**Detector dead time.** A link whose ``HeraldedLink.dead_time_ps`` exceeds its attempt period
loses attempts after every click (``HeraldedLink.blocked_attempts``); the number of periods to a
herald is drawn exactly (``hardware.attempts_until_success``), and a link that restarts while its
station is still blind waits for the first attempt slot after the dead time ends.

This module imports ``core`` and ``networking`` only.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..core.random import SeedLike
from ..errors import NetworkError
from .engine import PS_PER_S, Simulator, seconds_to_ps
from .hardware import HeraldedLink, Memory, attempts_until_success
from .states import (
    BellDiagonalState,
    _swap_bd,
    fidelity,
    purify_bbpssw,
    purify_dejmps,
    purify_density_matrices,
    swap_superoperator,
)

__all__ = ["ChainResult", "RepeaterChain", "simulate_chain"]


@dataclass(frozen=True)
class RepeaterChain:
    """A repeater chain of identical or individual links.

    Attributes:
        links: the elementary links, in order (``HeraldedLink``; at least one).
        memory: the memories of every node.
        swap_gate_depolarizing: two-qubit depolarizing probability of a node's Bell
            measurement (its CNOT).
        readout_error: probability each of the Bell measurement's two bits is misread.
        protocol: ``"asap"`` (a node swaps as soon as it holds two pairs) or ``"nested"``
            (the doubling scheme of Briegel et al., PRL 81, 5932 (1998): the chain is split in
            halves recursively and node ``m``, the middle of segment ``[l, r]``, swaps only a
            pair spanning ``[l, m]`` with one spanning ``[m, r]``).
        purification: ``None``, ``"dejmps"`` or ``"bbpssw"``: link-level entanglement pumping
            (Dür et al., PRA 59, 169 (1999)) -- each link keeps its first pair, generates
            another, purifies the kept one with it and waits one classical delay for the
            outcome; ``purification_rounds`` successes make the link's pair; a failure loses
            both and starts over. The pumping pair uses a second memory at each end.
        purification_rounds: successful rounds per link (0: no purification).
        node_memories: ``None`` (every node has ``memory``) or one ``Memory`` per node
            ``0 .. num_links``.
        node_swap_errors: ``None`` (every node swaps with ``swap_gate_depolarizing`` and
            ``readout_error``) or one ``(gate_depolarizing, readout_error)`` per node
            ``0 .. num_links`` (the end nodes' entries are not used).

    Example:
        >>> chain = RepeaterChain.uniform(4, length_km=10, link_fidelity=0.99, success_probability=0.1)
        >>> r = simulate_chain(chain, duration_s=0.05, seed=1)
        >>> round(r.mean_fidelity, 4)     # 1/4 + 3/4 p**4, p = (4F - 1)/3 (no memory noise)
        0.9608
    """

    links: tuple[HeraldedLink, ...]
    memory: Memory = field(default_factory=Memory)
    swap_gate_depolarizing: float = 0.0
    readout_error: float = 0.0
    protocol: str = "asap"
    purification: str | None = None
    purification_rounds: int = 0
    node_memories: tuple | None = None
    node_swap_errors: tuple | None = None

    def __post_init__(self):
        links = tuple(self.links) if not isinstance(self.links, HeraldedLink) else (self.links,)
        if not links or not all(isinstance(x, HeraldedLink) for x in links):
            raise NetworkError(f"links must be a non-empty sequence of HeraldedLink (got {self.links!r})")
        object.__setattr__(self, "links", links)
        if not isinstance(self.memory, Memory):
            raise NetworkError(f"memory must be a Memory (got {type(self.memory).__name__})")
        for name in ("swap_gate_depolarizing", "readout_error"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                raise NetworkError(f"{name} must be a probability in [0, 1] (got {v!r})")
        if self.protocol not in ("asap", "nested"):
            raise NetworkError(f"protocol must be 'asap' or 'nested' (got {self.protocol!r})")
        if self.purification not in (None, "dejmps", "bbpssw"):
            raise NetworkError(f"purification must be None, 'dejmps' or 'bbpssw' (got {self.purification!r})")
        r = self.purification_rounds
        if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 0:
            raise NetworkError(f"purification_rounds must be a non-negative integer (got {r!r})")
        if r and self.purification is None:
            raise NetworkError(f"purification_rounds={r} needs purification='dejmps' or 'bbpssw'")
        nodes = len(links) + 1
        if self.node_memories is not None:
            mems = tuple(self.node_memories)
            if len(mems) != nodes or not all(isinstance(m, Memory) for m in mems):
                raise NetworkError(f"node_memories must hold one Memory per node ({nodes}; got {self.node_memories!r})")
            object.__setattr__(self, "node_memories", mems)
        if self.node_swap_errors is not None:
            errs = []
            for k, item in enumerate(self.node_swap_errors):
                try:
                    pg, pm = item
                except (TypeError, ValueError):
                    raise NetworkError(f"node_swap_errors[{k}] must be a pair (gate_depolarizing, readout_error) "
                                       f"(got {item!r})") from None
                for name, v in (("gate_depolarizing", pg), ("readout_error", pm)):
                    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                        raise NetworkError(f"node_swap_errors[{k}] {name} must be a probability in [0, 1] (got {v!r})")
                errs.append((float(pg), float(pm)))
            if len(errs) != nodes:
                raise NetworkError(f"node_swap_errors must hold one pair per node ({nodes}; got {len(errs)})")
            object.__setattr__(self, "node_swap_errors", tuple(errs))

    @property
    def memories(self) -> tuple[Memory, ...]:
        """The memory of each node ``0 .. num_links``."""
        return self.node_memories if self.node_memories is not None else (self.memory,) * (self.num_links + 1)

    @property
    def swap_errors(self) -> tuple[tuple[float, float], ...]:
        """``(gate_depolarizing, readout_error)`` of each node's Bell measurement."""
        if self.node_swap_errors is not None:
            return self.node_swap_errors
        return ((float(self.swap_gate_depolarizing), float(self.readout_error)),) * (self.num_links + 1)

    @classmethod
    def uniform(cls, num_links: int, *, length_km: float, link_fidelity: float = 1.0,
                success_probability: float | None = None, memory: Memory | None = None,
                loss_db_per_km: float = 0.2, swap_gate_depolarizing: float = 0.0,
                readout_error: float = 0.0, protocol: str = "asap", purification: str | None = None,
                purification_rounds: int = 0) -> RepeaterChain:
        """``num_links`` equal links of ``length_km`` each, heralding Werner pairs of
        ``link_fidelity``; the success probability is the Barrett-Kok one of the fiber
        (``HeraldedLink.from_fiber``) unless given."""
        from .states import werner

        if isinstance(num_links, bool) or not isinstance(num_links, (int, np.integer)) or num_links < 1:
            raise NetworkError(f"num_links must be a positive integer (got {num_links!r})")
        link = HeraldedLink.from_fiber(length_km, state=werner(link_fidelity), loss_db_per_km=loss_db_per_km,
                                       success_probability=success_probability)
        return cls((link,) * int(num_links), memory or Memory(), swap_gate_depolarizing, readout_error, protocol,
                   purification, int(purification_rounds) if purification else 0)

    @property
    def num_links(self) -> int:
        return len(self.links)


@dataclass(frozen=True)
class ChainResult:
    """What a repeater-chain simulation delivered.

    Attributes:
        delivered: end-to-end pairs delivered.
        duration_s: simulated time in seconds.
        pairs_per_second: ``delivered / duration_s``.
        fidelities: fidelity of each delivered pair, in delivery order.
        delivery_times_s: when each was delivered (seconds since the start).
        mean_fidelity, fidelity_standard_error: their mean and the standard error of the mean
            (``nan`` without deliveries; 0 with one).
        discarded: pairs dropped by the memory cutoff.
        events: engine events run. wall_time_s: real seconds the simulation took.
        provenance: kizuna version, seed, representation and the chain's parameters.
    """

    delivered: int
    duration_s: float
    pairs_per_second: float
    fidelities: tuple[float, ...]
    delivery_times_s: tuple[float, ...]
    mean_fidelity: float
    fidelity_standard_error: float
    discarded: int
    events: int
    wall_time_s: float
    provenance: dict

    def to_dict(self, include_samples: bool = True) -> dict:
        """A JSON-ready dictionary (per-pair samples left out with ``include_samples=False``)."""
        d = {k: getattr(self, k) for k in ("delivered", "duration_s", "pairs_per_second", "mean_fidelity",
                                           "fidelity_standard_error", "discarded", "events", "wall_time_s")}
        d = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}
        if include_samples:
            d["fidelities"] = list(self.fidelities)
            d["delivery_times_s"] = list(self.delivery_times_s)
        d["provenance"] = dict(self.provenance)
        return d


class _Pair:
    """A stored pair spanning nodes ``left .. right``. ``t_left``/``t_right``: when the decay
    of each end qubit was last applied; ``born``: creation of its oldest qubit; ``ready``: when
    both ends know every swap outcome inside it (all picoseconds)."""

    __slots__ = ("alive", "born", "cutoff_event", "left", "level", "ready", "right", "state", "t_left", "t_right")

    def __init__(self, left: int, right: int, state, now: int, born: int, ready: int):
        self.left, self.right, self.state = left, right, state
        self.t_left = self.t_right = now
        self.born, self.ready = born, ready
        self.alive = True
        self.cutoff_event = 0
        self.level = 0  # purification rounds won (link-level pumping)


#: Marks a memory reserved by a link that is attempting generation.
_PENDING = object()


class _ChainSim:
    """The protocol's event handlers (see the module docstring)."""

    def __init__(self, chain: RepeaterChain, sim: Simulator, dm: bool):
        # several chains may share one simulator (a network's requests); each draws from sim.rng
        self.chain, self.sim, self.dm = chain, sim, dm
        self.n = n = chain.num_links
        self.mems = chain.memories
        self.swap_err = chain.swap_errors
        self.perfect = all(m.is_perfect for m in self.mems)
        cut = [None if math.isinf(m.cutoff_s) else seconds_to_ps(m.cutoff_s, "cutoff_s") for m in self.mems]
        self.node_cutoff_ps = cut
        # the chain-wide cutoff (pumping; "is any cutoff set"): the shortest of the nodes'
        self.cutoff_ps = min((c for c in cut if c is not None), default=None)
        # holding[node] = [left-facing memory, right-facing memory]: None, _PENDING or a _Pair
        self.holding: list[list] = [[None, None] for _ in range(n + 1)]
        self.pos = [0]  # classical delay from node 0 to node k
        for link in chain.links:
            self.pos.append(self.pos[-1] + link.classical_delay_ps)
        self.states = [self._as_state(link.state) for link in chain.links]
        self.fidelities: list[float] = []
        self.times: list[int] = []
        self.discarded = 0
        self.purification_failures = 0
        self._decay_cache: dict[int, object] = {}
        self._attempts: list[list[int]] = [[] for _ in range(n)]
        self._attempt_ps = [link.attempt_duration_ps for link in chain.links]
        self._dead_ps = [link.dead_time_ps if link.blocked_attempts else 0 for link in chain.links]
        self._dead_until = [0] * n  # per link: when its station's detectors are live again
        self.rounds = chain.purification_rounds
        self.pumped: list = [None] * n  # per link: the kept pair while pumping
        self.nested = None
        if chain.protocol == "nested":
            self.nested = {}
            stack = [(0, n)]
            while stack:
                lo, hi = stack.pop()
                if hi - lo >= 2:
                    mid = (lo + hi) // 2
                    self.nested[mid] = (lo, hi)
                    stack += [(lo, mid), (mid, hi)]

    def start(self) -> None:
        """Start every link (call once, before the simulator runs)."""
        for i in range(self.n):
            self.maybe_start(i)

    def _as_state(self, s):
        if self.dm:
            return s.density_matrix() if isinstance(s, BellDiagonalState) else np.asarray(s, dtype=np.complex128)
        return s if isinstance(s, BellDiagonalState) else BellDiagonalState.from_density_matrix(s)

    # --- decoherence ----------------------------------------------------------------------
    def _decay(self, state, dt_ps: int, qubit: int, mem: Memory):
        if dt_ps <= 0 or mem.is_perfect:
            return state
        t = dt_ps / PS_PER_S
        if not self.dm:
            return state.dephase(0.5 * (1.0 - math.exp(-t / mem.t2_s)))
        key = (dt_ps, qubit, mem)
        ops = self._decay_cache.get(key)
        if ops is None:
            if len(self._decay_cache) > 4096:
                self._decay_cache.clear()
            eye = np.eye(2)
            # qubit A is bit 0 (the fast index): kron(I, K) acts on A, kron(K, I) on B
            ops = self._decay_cache[key] = [
                np.kron(eye, k) if qubit == 0 else np.kron(k, eye) for k in mem.decay(t).kraus]
        return sum(k @ state @ k.conj().T for k in ops)

    def _bring_to_now(self, pair: _Pair) -> None:
        now = self.sim.now_ps
        if self.perfect:
            pair.t_left = pair.t_right = now
            return
        state = self._decay(pair.state, now - pair.t_left, 0, self.mems[pair.left])
        pair.state = self._decay(state, now - pair.t_right, 1, self.mems[pair.right])
        pair.t_left = pair.t_right = now

    # --- links ------------------------------------------------------------------------------
    def maybe_start(self, i: int) -> None:
        """Start link ``i`` if both of its memories are free."""
        if 0 <= i < self.n and self.holding[i][1] is None and self.holding[i + 1][0] is None:
            self.holding[i][1] = self.holding[i + 1][0] = _PENDING
            self._generate(i)

    def _generate(self, i: int) -> None:
        buf = self._attempts[i]
        if not buf:
            # attempts until success, drawn 256 at a time per link (in the order links need
            # them, so a seed still fixes every draw)
            buf.extend(attempts_until_success(self.sim.rng, self.chain.links[i], 256).tolist()[::-1])
        period = self._attempt_ps[i]
        dead = self._dead_ps[i]
        if not dead:
            self.sim.schedule(buf.pop() * period, self._link_up, i)
            return
        # the first usable slot starts when the detectors are live again
        now = self.sim.now_ps
        wait = self._dead_until[i] - now
        offset = -(-wait // period) * period if wait > 0 else 0
        delay = offset + buf.pop() * period
        self._dead_until[i] = now + delay - period + dead  # the herald's click opened the last slot
        self.sim.schedule(delay, self._link_up, i)

    def _link_up(self, i: int) -> None:
        now = self.sim.now_ps
        fresh = _Pair(i, i + 1, self.states[i], now, now, now)
        if not self.rounds:
            self._place(fresh)
            return
        kept = self.pumped[i]
        cutoff = self._cutoff(i, i + 1)
        if kept is None or (cutoff is not None and now - kept.born > cutoff):
            if kept is not None:
                self.discarded += 1
            fresh.level = 0
            self.pumped[i] = fresh
            self._generate(i)
            return
        self._bring_to_now(kept)
        state, p = self._purify(kept.state, fresh.state)
        ok = self.sim.rng.random() < p
        # both ends learn both outcomes after one classical delay; the kept pair waits
        kept.state = state if ok else None
        self.sim.schedule(self.chain.links[i].classical_delay_ps, self._purified, i, kept)

    def _purify(self, kept, fresh):
        if self.dm:
            return purify_density_matrices(kept, fresh, self.chain.purification)
        fn = purify_dejmps if self.chain.purification == "dejmps" else purify_bbpssw
        return fn(kept, fresh)

    def _purified(self, i: int, kept: _Pair) -> None:
        if kept.state is None:
            self.purification_failures += 1
            self.pumped[i] = None
        else:
            kept.level += 1
            if kept.level == self.rounds:
                self.pumped[i] = None
                self._place(kept)
                return
        self._generate(i)

    def _place(self, pair: _Pair) -> None:
        """Put ``pair`` in its end memories, then swap (as soon as possible) or deliver what
        can be; a worklist, not recursion, so a cascade of swaps along a long chain is safe."""
        work = [pair]
        while work:
            pair = work.pop()
            self.holding[pair.left][1] = pair
            self.holding[pair.right][0] = pair
            if pair.left == 0 and pair.right == self.n:
                self.sim.schedule(max(0, pair.ready - self.sim.now_ps), self._deliver, pair)
                continue
            if self.cutoff_ps is not None:
                cutoff = self._cutoff(pair.left, pair.right)
                if cutoff is not None:
                    pair.cutoff_event = self.sim.schedule(max(0, pair.born + cutoff - self.sim.now_ps),
                                                          self._cut, pair)
            for node in (pair.left, pair.right):
                if 0 < node < self.n:
                    a, b = self.holding[node]
                    if isinstance(a, _Pair) and isinstance(b, _Pair) and (
                            self.nested is None or self.nested[node] == (a.left, b.right)):
                        work.append(self._swap(node, a, b))
                        break  # pair is consumed; the merged one is checked next

    def _cutoff(self, left: int, right: int):
        """The cutoff (ps) of a pair held at nodes ``left`` and ``right``: the shorter of
        theirs (``None``: neither has one)."""
        cl, cr = self.node_cutoff_ps[left], self.node_cutoff_ps[right]
        return cl if cr is None else cr if cl is None else min(cl, cr)

    def _swap(self, node: int, a: _Pair, b: _Pair) -> _Pair:
        """Swap the two pairs at ``node``; returns the merged pair (not yet placed)."""
        self._bring_to_now(a)
        self._bring_to_now(b)
        pg, pm = self.swap_err[node]
        if self.dm:
            # einsum, not a BLAS matrix-vector product: multi-threaded BLAS on a 16 x 256
            # operand is up to 100x slower on a loaded machine
            t = swap_superoperator(pg, pm).reshape(16, 16, 16)
            state = np.einsum("kij,i,j->k", t, a.state.reshape(16, order="F"),
                              b.state.reshape(16, order="F")).reshape(4, 4, order="F")
        else:
            state = _swap_bd(a.state, b.state, pg, pm)
        for p in (a, b):
            p.alive = False
            if p.cutoff_event:
                self.sim.cancel(p.cutoff_event)
        now = self.sim.now_ps
        heard = now + max(self.pos[node] - self.pos[a.left], self.pos[b.right] - self.pos[node])
        self.holding[node] = [None, None]
        # the swapping node's memories are free: its links may start if their far ends are
        self.maybe_start(node - 1)
        self.maybe_start(node)
        return _Pair(a.left, b.right, state, now, min(a.born, b.born), max(a.ready, b.ready, heard))

    def _cut(self, pair: _Pair) -> None:
        if pair.alive:
            self.discarded += 1
            self._release(pair)

    def _deliver(self, pair: _Pair) -> None:
        self._bring_to_now(pair)
        self.fidelities.append(fidelity(pair.state))
        self.times.append(self.sim.now_ps)
        self._release(pair)

    def _release(self, pair: _Pair) -> None:
        """Free the end memories of ``pair`` and restart the links they serve."""
        pair.alive = False
        self.holding[pair.left][1] = None
        self.holding[pair.right][0] = None
        self.maybe_start(pair.left)
        self.maybe_start(pair.right - 1)


def simulate_chain(chain: RepeaterChain, duration_s: float, seed: SeedLike = None, *,
                   representation: str = "auto", progress=None) -> ChainResult:
    """Simulate ``chain`` with swap-as-soon-as-possible for ``duration_s`` seconds.

    Args:
        chain: the ``RepeaterChain``.
        duration_s: simulated time in seconds (> 0).
        seed: seeds the simulation's one generator; same seed, same result bit for bit.
        representation: ``"bell_diagonal"`` (fast; memories must not have a finite T1),
            ``"density_matrix"`` (4 x 4 per pair, any memory), or ``"auto"`` (Bell-diagonal
            unless T1 is finite).
        progress: ``None``, or a callable given the fraction of the simulated time done (0 to
            1), called about 100 times (for progress bars).

    Returns:
        A ``ChainResult``.

    Raises:
        NetworkError: a bad duration or representation, or Bell-diagonal with finite T1.

    Cost: about four engine events per elementary pair; a delivered pair of an ``N``-link
    chain with success probability ``p`` takes ``O(N / p)`` link attempts, drawn in one step
    each.
    """
    if not isinstance(chain, RepeaterChain):
        raise NetworkError(f"chain must be a RepeaterChain (got {type(chain).__name__})")
    dm = use_density_matrix(representation, chain.memories)
    end_ps = seconds_to_ps(duration_s, "duration_s")
    if end_ps == 0:
        raise NetworkError(f"duration_s must be > 0 (got {duration_s!r})")
    sim = Simulator(seed)
    proto = _ChainSim(chain, sim, dm)
    start = time.perf_counter()
    proto.start()
    run_until(sim, end_ps, progress)
    wall = time.perf_counter() - start
    k = len(proto.fidelities)
    mean, se = mean_and_standard_error(proto.fidelities)
    from .. import __version__

    duration = end_ps / PS_PER_S
    provenance = {
        "kizuna_version": __version__,
        "seed": sim.seed,
        "representation": "density_matrix" if dm else "bell_diagonal",
        "num_links": chain.num_links,
        "success_probabilities": [link.success_probability for link in chain.links],
        "attempt_durations_ps": [link.attempt_duration_ps for link in chain.links],
        "memory": _memory_dict(chain.memory),
        "swap_gate_depolarizing": chain.swap_gate_depolarizing,
        "readout_error": chain.readout_error,
        "protocol": chain.protocol,
        "purification": chain.purification,
        "purification_rounds": chain.purification_rounds,
        "purification_failures": proto.purification_failures,
    }
    if any(link.blocked_attempts for link in chain.links):
        provenance["dead_time_ps"] = [link.dead_time_ps for link in chain.links]
        provenance["click_probabilities"] = [link.click_probability for link in chain.links]
    if chain.node_memories is not None:
        provenance["node_memories"] = [_memory_dict(m) for m in chain.node_memories]
    if chain.node_swap_errors is not None:
        provenance["node_swap_errors"] = [list(e) for e in chain.node_swap_errors]
    return ChainResult(delivered=k, duration_s=duration, pairs_per_second=k / duration,
                       fidelities=tuple(proto.fidelities), delivery_times_s=tuple(t / PS_PER_S for t in proto.times),
                       mean_fidelity=mean, fidelity_standard_error=se, discarded=proto.discarded,
                       events=sim.events_processed, wall_time_s=wall, provenance=provenance)


def use_density_matrix(representation: str, memory) -> bool:
    """Whether pairs are held as density matrices: ``representation`` checked against the
    memory, or every memory of an iterable (finite T1 leaves the Bell-diagonal family;
    ``"auto"`` then picks matrices)."""
    if representation not in ("auto", "bell_diagonal", "density_matrix"):
        raise NetworkError(
            f"representation must be 'auto', 'bell_diagonal' or 'density_matrix' (got {representation!r})"
        )
    mems = (memory,) if isinstance(memory, Memory) else tuple(memory)
    relaxing = [m for m in mems if not m.dephasing_only]
    if representation == "bell_diagonal" and relaxing:
        raise NetworkError(
            f"memory t1_s={relaxing[0].t1_s:g} s relaxes pairs out of the Bell-diagonal family; "
            "use representation='density_matrix' (or 'auto')"
        )
    return representation == "density_matrix" or bool(relaxing)


def run_until(sim: Simulator, end_ps: int, progress=None) -> None:
    """``sim.run(until_ps=end_ps)``, in 100 slices that report to ``progress`` when given."""
    if progress is None:
        sim.run(until_ps=end_ps)
        return
    for k in range(1, 101):
        sim.run(until_ps=end_ps * k // 100)
        progress(k / 100)


def mean_and_standard_error(values) -> tuple[float, float]:
    """The mean and the standard error of the mean (``nan`` for no values, 0 for one)."""
    f = np.asarray(values, dtype=np.float64)
    if f.size == 0:
        return math.nan, math.nan
    return float(f.mean()), float(f.std(ddof=1) / math.sqrt(f.size)) if f.size > 1 else 0.0


def _memory_dict(m: Memory) -> dict:
    return {"efficiency": m.efficiency, "t1_s": _json_float(m.t1_s), "t2_s": _json_float(m.t2_s),
            "cutoff_s": _json_float(m.cutoff_s)}


def _json_float(x: float):
    return None if math.isinf(x) else x
