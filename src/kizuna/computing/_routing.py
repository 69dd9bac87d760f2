"""Layout and routing on a coupling map: distances, a perfect-layout search and SABRE.

The router works on an abstract program: node ``i`` acts on virtual qubits ``qubits[i]`` and
classical bits ``clbits[i]`` (written or read), and ``needs_edge[i]`` says it is a two-qubit
gate whose qubits must sit on coupled physical qubits when it runs. Nodes depend on the
previous node of each of their qubits and bits. A layout is a list ``v2p``: virtual qubit
``v`` sits on physical qubit ``v2p[v]``.

SABRE (Li, Ding, Xie, ASPLOS 2019, arXiv:1809.02573): keep the front layer of two-qubit
gates that cannot run yet; run everything else that is ready; when stuck, insert the SWAP on
an edge next to the front layer that minimises
``max(decay[p], decay[q]) * (sum of front distances + 0.5 * mean extended-set distance
- bonus)`` (the scaling Qiskit's SabreSwap uses: front summed, lookahead averaged), with ties
broken by the seeded generator. ``bonus`` (``ABSORB_BONUS``) rewards a SWAP on the pair of
the two-qubit gate that just ran there, when it also brings the front closer: the
transpiler merges the two into one block (``cx`` then SWAP is 2 CNOTs, not 4). A SWAP of
two qubits nothing has acted on yet costs nothing: it only changes the initial layout.
With ``depth_ties`` the router breaks remaining ties towards the SWAP on the least busy
qubits (fewest two-qubit layers so far).

Layouts come from forward-backward passes (the final layout of routing the reversed program
is a good initial layout of the forward one), started from random compact patches or from a
greedy placement grown along the interaction graph (``greedy_start``), and from a line:
``path_starts`` lays the virtual qubits in ``linear_order`` along ``path_sequence``, a long
path of the device (``long_path``) with the qubits next to it inserted as detours. A chain
of gates over a device with no path through every qubit then pays one merged SWAP (one
CNOT) per detour, where the SABRE layouts strand qubits in pockets that cost several SWAPs
each.

This module imports numpy only.
"""

from __future__ import annotations

from collections import deque

import numpy as np

__all__ = [
    "build_dag",
    "compact_start",
    "components",
    "distance_matrix",
    "greedy_start",
    "linear_order",
    "long_path",
    "path_sequence",
    "path_starts",
    "perfect_layout",
    "sabre_layout",
    "sabre_route",
]

#: Distance between qubits in different connected components.
UNREACHABLE = 1 << 30

EXTENDED_SET_SIZE = 20
EXTENDED_SET_WEIGHT = 0.5
DECAY_DELTA = 0.001
DECAY_RESET = 5
ABSORB_BONUS = 1.0


def distance_matrix(num_qubits: int, neighbors) -> np.ndarray:
    """All-pairs hop distances by breadth-first search; ``UNREACHABLE`` between components.

    Cost: O(n·(n + edges)).

    Example:
        >>> distance_matrix(3, [[1], [0, 2], [1]]).tolist()
        [[0, 1, 2], [1, 0, 1], [2, 1, 0]]
    """
    dist = np.full((num_qubits, num_qubits), UNREACHABLE, dtype=np.int64)
    for s in range(num_qubits):
        row = dist[s]
        row[s] = 0
        frontier = [s]
        d = 0
        while frontier:
            d += 1
            nxt = []
            for p in frontier:
                for q in neighbors[p]:
                    if row[q] == UNREACHABLE:
                        row[q] = d
                        nxt.append(q)
            frontier = nxt
    return dist


def components(num_qubits: int, neighbors) -> list[list[int]]:
    """Connected components, each sorted, largest first (ties: lowest qubit first)."""
    seen = [False] * num_qubits
    out = []
    for s in range(num_qubits):
        if seen[s]:
            continue
        comp, stack = [], [s]
        seen[s] = True
        while stack:
            p = stack.pop()
            comp.append(p)
            for q in neighbors[p]:
                if not seen[q]:
                    seen[q] = True
                    stack.append(q)
        out.append(sorted(comp))
    out.sort(key=lambda c: (-len(c), c[0]))
    return out


def build_dag(qubits, clbits=None) -> tuple[list[list[int]], list[int]]:
    """Successor lists and in-degrees: each node follows the last node on each of its wires."""
    succ: list[list[int]] = [[] for _ in qubits]
    indeg = [0] * len(qubits)
    last_q: dict[int, int] = {}
    last_c: dict[int, int] = {}
    for i, qs in enumerate(qubits):
        preds = set()
        for q in qs:
            if q in last_q:
                preds.add(last_q[q])
            last_q[q] = i
        if clbits is not None:
            for b in clbits[i]:
                if b in last_c:
                    preds.add(last_c[b])
                last_c[b] = i
        for p in sorted(preds):
            succ[p].append(i)
        indeg[i] = len(preds)
    return succ, indeg


def sabre_route(
    qubits,
    needs_edge,
    dag,
    layout,
    num_physical: int,
    neighbors,
    dist,
    rng: np.random.Generator,
    *,
    record: bool = True,
    transparent=None,
    absorb_bonus: float = ABSORB_BONUS,
    depth_ties: bool = False,
):
    """Route one program from ``layout``; ``dist`` is ``distance_matrix(...).tolist()`` (plain
    lists: element reads in the inner loop are several times faster than numpy's).

    ``transparent[i]`` (optional) is 1 for an unconditioned single-qubit gate and 2 for an
    unconditioned two-qubit gate: a later SWAP on the same pair merges with the latter into
    one two-qubit block (costing 0-1 extra CNOTs instead of 3), so such a SWAP's score is
    lowered by ``absorb_bonus`` when it also brings the front layer closer.

    ``depth_ties``: among equally scored SWAPs take one whose busier qubit has run the
    fewest two-qubit layers (then at random), which shortens the circuit; without it, at
    random. Neither wins on every circuit, so the transpiler tries both.

    A SWAP of two physical qubits nothing has acted on yet is not inserted: it changes the
    initial layout instead (both hold |0> or a virtual qubit that has run nothing). (Scoring
    such SWAPs better was tried and made layouts worse: it scrambles the planned layout.)

    Returns:
        ``(events, final_layout, num_swaps, initial_layout)``: ``events`` (when ``record``)
        lists node indices in execution order with ``("swap", p, q)`` tuples where a SWAP on
        physical ``(p, q)`` runs; ``final_layout`` is ``v2p`` after the last SWAP;
        ``initial_layout`` is ``layout`` with the free SWAPs applied (replay ``events`` from
        it).
    """
    succ, indeg0 = dag
    indeg = list(indeg0)
    v2p = list(layout)
    p2v = [-1] * num_physical
    for v, p in enumerate(v2p):
        p2v[p] = v
    drow = dist
    events: list = []
    ready = deque(i for i in range(len(qubits)) if indeg[i] == 0)
    front: dict[int, tuple[int, int]] = {}
    front_of: dict[int, int] = {}
    # last[p]: the mergeable two-qubit node that last touched physical qubit p, if nothing
    # but single-qubit gates followed it there
    last: list = [None] * num_physical
    # fresh[p]: nothing has acted on physical qubit p yet, so it still holds |0> (its virtual
    # qubit, if any, has run no operation): a SWAP of two fresh qubits is free, it just
    # changes the initial layout
    fresh = [True] * num_physical
    init = list(layout)
    num_swaps = 0
    decay = [1.0] * num_physical
    # busy[p]: two-qubit layers on physical qubit p so far; among equally good SWAPs the
    # router takes one on the least busy qubits, which keeps the circuit shallow
    busy = [0] * num_physical
    since_reset = 0
    since_progress = 0
    valve = 10 * max(len(v2p), 1) + 50

    def run_ready() -> bool:
        progressed = False
        while ready:
            i = ready.popleft()
            qs = qubits[i]
            if needs_edge[i]:
                a, b = qs
                pa, pb = v2p[a], v2p[b]
                if drow[pa][pb] != 1:
                    front[i] = (a, b)
                    front_of[a] = i
                    front_of[b] = i
                    continue
                token = i if transparent is not None and transparent[i] == 2 else None
                last[pa] = last[pb] = token
                busy[pa] = busy[pb] = max(busy[pa], busy[pb]) + 1
            elif transparent is None or transparent[i] != 1:
                for v in qs:
                    last[v2p[v]] = None
            for v in qs:
                fresh[v2p[v]] = False
            if record:
                events.append(i)
            progressed = True
            for s in succ[i]:
                indeg[s] -= 1
                if indeg[s] == 0:
                    ready.append(s)
        return progressed

    def apply_swap(p: int, q: int) -> None:
        nonlocal num_swaps
        va, vb = p2v[p], p2v[q]
        p2v[p], p2v[q] = vb, va
        if va >= 0:
            v2p[va] = q
        if vb >= 0:
            v2p[vb] = p
        if fresh[p] and fresh[q]:  # free: place the two qubits the other way round from the start
            if va >= 0:
                init[va] = q
            if vb >= 0:
                init[vb] = p
        else:
            fresh[p] = fresh[q] = False
            last[p] = last[q] = None
            busy[p] = busy[q] = max(busy[p], busy[q]) + 1
            num_swaps += 1
            if record:
                events.append(("swap", p, q))
        for v in (va, vb):
            if v < 0:
                continue
            i = front_of.get(v)
            if i is None:
                continue
            a, b = front[i]
            if drow[v2p[a]][v2p[b]] == 1:
                del front[i]
                del front_of[a]
                del front_of[b]
                ready.append(i)

    def extended_set() -> list[int]:
        ext: list[int] = []
        seen = set(front)
        queue = deque(sorted(front))
        while queue and len(ext) < EXTENDED_SET_SIZE:
            i = queue.popleft()
            for s in succ[i]:
                if s in seen:
                    continue
                seen.add(s)
                if needs_edge[s]:
                    ext.append(s)
                    if len(ext) >= EXTENDED_SET_SIZE:
                        break
                queue.append(s)
        return ext

    run_ready()
    ext: list[int] = []
    partners: dict[int, list[int]] = {}
    dirty = True
    while front:
        if dirty:
            ext = extended_set()
            partners = {}
            for i in ext:
                a, b = qubits[i]
                partners.setdefault(a, []).append(b)
                partners.setdefault(b, []).append(a)
            dirty = False
        if since_progress > valve:
            # release valve: walk the closest front gate's first qubit along a shortest path
            i = min(front, key=lambda k: (drow[v2p[front[k][0]]][v2p[front[k][1]]], k))
            a, b = front[i]
            while i in front:
                p, t = v2p[a], v2p[b]
                nb = min(x for x in neighbors[p] if drow[x][t] == drow[p][t] - 1)
                apply_swap(min(p, nb), max(p, nb))
            run_ready()
            since_progress = 0
            decay = [1.0] * num_physical
            dirty = True
            continue
        f_sum = 0
        for a, b in front.values():
            f_sum += drow[v2p[a]][v2p[b]]
        e_sum = 0
        for i in ext:
            a, b = qubits[i]
            e_sum += drow[v2p[a]][v2p[b]]
        ne = len(ext)
        e_weight = EXTENDED_SET_WEIGHT / ne if ne else 0.0
        candidates = set()
        for a, b in front.values():
            for v in (a, b):
                p = v2p[v]
                for q in neighbors[p]:
                    candidates.add((p, q) if p < q else (q, p))
        best = None
        best_pairs: list[tuple[int, int]] = []
        for p, q in sorted(candidates):
            df = 0
            de = 0
            rp, rq = drow[p], drow[q]
            for v, other, src, dst in ((p2v[p], p2v[q], rp, rq), (p2v[q], p2v[p], rq, rp)):
                if v < 0:
                    continue
                i = front_of.get(v)
                if i is not None:
                    a, b = front[i]
                    w = b if a == v else a
                    if w != other:
                        pw = v2p[w]
                        df += dst[pw] - src[pw]
                for w in partners.get(v, ()):
                    if w != other:
                        pw = v2p[w]
                        de += dst[pw] - src[pw]
            score = (f_sum + df) + e_weight * (e_sum + de)
            if df < 0 and last[p] is not None and last[p] == last[q]:
                score -= absorb_bonus
            score *= max(decay[p], decay[q])
            if best is None or score < best - 1e-12:
                best = score
                best_pairs = [(p, q)]
            elif score <= best + 1e-12:
                best_pairs.append((p, q))
        if depth_ties and len(best_pairs) > 1:
            soonest = min(max(busy[p], busy[q]) for p, q in best_pairs)
            best_pairs = [(p, q) for p, q in best_pairs if max(busy[p], busy[q]) == soonest]
        p, q = best_pairs[int(rng.integers(len(best_pairs)))] if len(best_pairs) > 1 else best_pairs[0]
        apply_swap(p, q)
        since_progress += 1
        decay[p] += DECAY_DELTA
        decay[q] += DECAY_DELTA
        since_reset += 1
        if since_reset >= DECAY_RESET:
            decay = [1.0] * num_physical
            since_reset = 0
        if ready and run_ready():
            since_progress = 0
            decay = [1.0] * num_physical
            since_reset = 0
            dirty = True
    return events, v2p, num_swaps, init


def sabre_layout(pairs, layout, num_physical, neighbors, dist, rng, iterations: int, *, depth_ties: bool = False):
    """Refine ``layout`` by ``iterations`` forward-backward routing passes over the two-qubit
    gate sequence ``pairs`` (``depth_ties`` as ``sabre_route``); returns the refined layout."""
    qubits = [tuple(p) for p in pairs]
    needs = [True] * len(qubits)
    fwd = build_dag(qubits)
    rev_q = qubits[::-1]
    bwd = build_dag(rev_q)
    v2p = list(layout)
    merge = [2] * len(qubits)
    for _ in range(iterations):
        for prog, dag in ((qubits, fwd), (rev_q, bwd)):
            _, v2p, _, _ = sabre_route(
                prog, needs, dag, v2p, num_physical, neighbors, dist, rng, record=False, transparent=merge,
                depth_ties=depth_ties,
            )
    return v2p


def compact_start(num_virtual: int, component: list[int], neighbors, rng) -> list[int]:
    """A random layout on a connected patch: breadth-first from a random root of
    ``component`` (neighbours in random order), virtual qubits shuffled onto the first
    ``num_virtual`` qubits reached."""
    root = component[int(rng.integers(len(component)))]
    order, seen = [root], {root}
    k = 0
    while len(order) < num_virtual and k < len(order):
        nbrs = list(neighbors[order[k]])
        rng.shuffle(nbrs)
        for q in nbrs:
            if q not in seen:
                seen.add(q)
                order.append(q)
        k += 1
    patch = order[:num_virtual]
    perm = rng.permutation(num_virtual)
    return [patch[int(i)] for i in perm]


def greedy_start(num_virtual: int, pairs, component: list[int], neighbors, dist, rng) -> list[int]:
    """A layout grown one qubit at a time: the unplaced virtual qubit with the most gates to
    placed ones goes to the free physical qubit of ``component`` minimising the gate-weighted
    distance to them (ties: the qubit with the fewest free neighbours, as Warnsdorff's rule
    for knight's tours, then at random); the first goes to a random qubit of maximal degree.
    Chains become snakes; the router fixes the dead ends."""
    weight: list[dict[int, int]] = [{} for _ in range(num_virtual)]
    for a, b in pairs:
        weight[a][b] = weight[a].get(b, 0) + 1
        weight[b][a] = weight[b].get(a, 0) + 1
    free = set(component)
    top = max(len(neighbors[p]) for p in component)
    roots = [p for p in component if len(neighbors[p]) == top]
    v2p = [-1] * num_virtual
    pull = [0] * num_virtual  # gates to placed qubits
    unplaced = set(range(num_virtual))
    first = max(unplaced, key=lambda v: (sum(weight[v].values()), -v))
    order_first = True
    while unplaced:
        if order_first:
            v = first
            p = roots[int(rng.integers(len(roots)))]
            order_first = False
        else:
            # most gates to placed qubits first; among those, the one with the fewest partners
            # still to place (a chain's end qubit takes the spot next to its partner now)
            v = max(unplaced, key=lambda u: (pull[u], -sum(1 for x in weight[u] if v2p[x] < 0), -u))
            placed = [(v2p[u], w) for u, w in weight[v].items() if v2p[u] >= 0]
            if placed:
                costs = {q: sum(w * dist[q][pu] for pu, w in placed) for q in free}
            else:  # nothing to be near: stay close to what is placed already
                anchor = [v2p[u] for u in range(num_virtual) if v2p[u] >= 0]
                costs = {q: min(dist[q][pu] for pu in anchor) for q in free}
            # ties: fewest free neighbours first (Warnsdorff's rule: do not strand free qubits)
            key = {q: (c, sum(1 for x in neighbors[q] if x in free)) for q, c in costs.items()}
            low = min(key.values())
            ties = sorted(q for q, k in key.items() if k == low)
            p = ties[int(rng.integers(len(ties)))]
        v2p[v] = p
        free.discard(p)
        unplaced.discard(v)
        for u, w in weight[v].items():
            pull[u] += w
    return v2p


def perfect_layout(num_virtual: int, pairs, num_physical: int, neighbors, *, max_steps: int = 20000):
    """A layout putting every interacting virtual pair on a coupled physical pair (a subgraph
    monomorphism of the interaction graph into the coupling graph), or ``None`` if none was
    found within ``max_steps`` backtracking steps. Qubits without two-qubit gates go to the
    lowest free physical qubits."""
    vadj = [set() for _ in range(num_virtual)]
    for a, b in pairs:
        vadj[a].add(b)
        vadj[b].add(a)
    pdeg = [len(n) for n in neighbors]
    if any(len(s) > max(pdeg, default=0) for s in vadj):
        return None
    nadj = [set(n) for n in neighbors]
    # order: components of the interaction graph, largest first; inside, most-constrained next
    order: list[int] = []
    placed = set()
    active = [v for v in range(num_virtual) if vadj[v]]
    while len(placed) < len(active):
        start = max((v for v in active if v not in placed), key=lambda v: (len(vadj[v]), -v))
        comp = [start]
        placed.add(start)
        cand = set(vadj[start])
        while cand:
            v = max(cand, key=lambda x: (sum(1 for w in vadj[x] if w in placed), len(vadj[x]), -x))
            cand.discard(v)
            placed.add(v)
            comp.append(v)
            cand |= {w for w in vadj[v] if w not in placed}
        order += comp
    v2p = [-1] * num_virtual
    used = set()
    steps = 0
    pos = {v: i for i, v in enumerate(order)}

    def candidates(v):
        mapped = [v2p[w] for w in vadj[v] if pos[w] < pos[v]]
        if mapped:
            cs = set(nadj[mapped[0]])
            for p in mapped[1:]:
                cs &= nadj[p]
        else:
            cs = set(range(num_physical))
        return sorted(p for p in cs if p not in used and pdeg[p] >= len(vadj[v]))

    stack = [iter(candidates(order[0]))] if order else []
    depth = 0
    while 0 <= depth < len(order):
        steps += 1
        if steps > max_steps:
            return None
        v = order[depth]
        if v2p[v] >= 0:
            used.discard(v2p[v])
            v2p[v] = -1
        nxt = next(stack[depth], None)
        if nxt is None:
            stack.pop()
            depth -= 1
            continue
        v2p[v] = nxt
        used.add(nxt)
        depth += 1
        if depth < len(order):
            stack.append(iter(candidates(order[depth])))
    if order and depth < 0:
        return None
    free = (p for p in range(num_physical) if p not in used)
    for v in range(num_virtual):
        if v2p[v] < 0:
            v2p[v] = next(free)
    return v2p


# --- line-shaped layouts ------------------------------------------------------------------------
#: Coverage cost of a qubit off a path (``long_path``): one next to the path is visited by a
#: detour that costs one CNOT (the SWAP back merges with the gate just run); one farther
#: away needs at least one unmerged SWAP (3 CNOTs) more.
PENDANT_COST = 1
FAR_COST = 4


def _greedy_extend(path: list[int], on: set[int], neighbors) -> None:
    """Extend ``path`` from its end in place: always to the free neighbour with the fewest
    free neighbours of its own (Warnsdorff's rule), dead ends (none) last, ties to the lowest
    index."""
    while True:
        best, best_key = -1, 0
        for q in neighbors[path[-1]]:
            if q in on:
                continue
            k = sum(1 for x in neighbors[q] if x not in on) or UNREACHABLE
            if best < 0 or k < best_key:
                best, best_key = q, k
        if best < 0:
            return
        path.append(best)
        on.add(best)


def _coverage_cost(on: set[int], component, neighbors) -> int:
    cost = 0
    for q in component:
        if q not in on:
            cost += PENDANT_COST if any(x in on for x in neighbors[q]) else FAR_COST
    return cost


def long_path(component, neighbors, rng: np.random.Generator, *, num_starts: int = 4) -> list[int]:
    """A long simple path through ``component`` whose neighbours cover the rest: the path
    that minimises the coverage cost (``PENDANT_COST`` per qubit off the path but next to
    it, ``FAR_COST`` per qubit farther away; then the longest).

    A one-level nested Monte Carlo search: the path grows one qubit at a time; where its
    end has several free neighbours, each is scored by the path that a greedy Warnsdorff
    extension (``_greedy_extend``) then completes, and the search follows the best path
    seen so far (so it never ends worse than any completion it scored); then the same from
    the path's other end, so neither end has a free neighbour. Tried from
    ``num_starts`` start qubits (lowest degree first: corners and path ends; the rest drawn
    with ``rng``), stopping early at a path through every qubit; the cheapest path wins. On
    IBM's 127-qubit heavy-hex it finds the 109-qubit snake through all seven rows whose 18
    other qubits (bridges) all sit next to it. There is no guarantee of the optimum.

    Cost: O(num_starts · n² · degree²) for ``n`` qubits in ``component`` (about 40 ms on
    127 heavy-hex qubits, 0.5 s on 433), O(n · degree²) when the first greedy completion
    already visits every qubit (grids, rings).

    Example:
        >>> star = [[1], [0, 2, 3], [1], [1]]  # qubit 1 in the middle: one of 0, 2, 3 is left over
        >>> path = long_path([0, 1, 2, 3], star, np.random.default_rng(1))
        >>> len(path), path[1]
        (3, 1)
    """
    comp = sorted(component)
    deg = {p: len(neighbors[p]) for p in comp}
    by_degree = sorted(comp, key=lambda p: (deg[p], p))
    starts = by_degree[: max(1, num_starts // 2)]
    rest = [p for p in comp if p not in starts]
    while len(starts) < num_starts and rest:
        starts.append(rest.pop(int(rng.integers(len(rest)))))
    best_key, best_path = None, [comp[0]]
    for s in starts:
        path, on = [s], {s}
        for _ in range(2):  # grow from the start qubit, then on from the path's other end
            path.reverse()
            inc_key, inc = None, None  # the best completion seen, which extends `path`
            while True:
                cands = [q for q in neighbors[path[-1]] if q not in on]
                if not cands:
                    break
                if inc is None or len(cands) > 1:
                    for c in cands:
                        trial, trial_on = [*path, c], on | {c}
                        _greedy_extend(trial, trial_on, neighbors)
                        key = (_coverage_cost(trial_on, comp, neighbors), -len(trial))
                        if inc_key is None or key < inc_key:
                            inc_key, inc = key, trial
                    if inc_key[0] == 0:  # it visits every qubit: nothing can beat it
                        path, on = inc, set(inc)
                        break
                path.append(inc[len(path)])
                on.add(path[-1])
        key = (_coverage_cost(on, comp, neighbors), -len(path))
        if best_key is None or key < best_key:
            best_key, best_path = key, path
        if best_key[0] == 0:
            break
    return best_path


def path_sequence(path, component, neighbors, dist, length: int | None = None) -> list[int]:
    """Every qubit of ``component`` once, the first ``length`` (default: all) in an order
    for a chain of interactions to follow: ``path`` in order, with qubits off it inserted
    right after their first neighbour on the path (a detour: the chain steps out and its
    next gate, after a SWAP that merges with the gate just run, continues along the path),
    and qubits farther away after the path qubit nearest to them. The first ``length`` use
    as few detours as they can: ``path[:length]`` when the path is that long, else the path
    and the earliest detours (next to the path before farther ones); the unused qubits
    follow.

    Example:
        >>> star = [[1], [0, 2, 3], [1], [1]]
        >>> dist = distance_matrix(4, star).tolist()
        >>> path_sequence([0, 1, 2], range(4), star, dist), path_sequence([0, 1, 2], range(4), star, dist, 3)
        ([0, 1, 3, 2], [0, 1, 2, 3])
    """
    pos = {p: i for i, p in enumerate(path)}
    pendants: list[tuple[int, int]] = []  # (anchor position, qubit)
    far: list[tuple[int, int]] = []
    for q in component:
        if q in pos:
            continue
        anchors = [pos[x] for x in neighbors[q] if x in pos]
        if anchors:
            pendants.append((min(anchors), q))
        else:
            row = dist[q]
            far.append((min(range(len(path)), key=lambda i: (row[path[i]], i)), q))
    pendants.sort()
    far.sort()
    length = len(pos) + len(pendants) + len(far) if length is None else length
    if length <= len(path):
        return list(path[:length]) + [q for _, q in pendants + far] + list(path[length:])
    chosen = (pendants + far)[: length - len(path)]
    after: dict[int, list[int]] = {}
    for i, q in chosen:
        after.setdefault(i, []).append(q)
    seq: list[int] = []
    for i, p in enumerate(path):
        seq.append(p)
        seq += after.get(i, ())
    return seq + [q for _, q in (pendants + far)[len(chosen):]]


def linear_order(num_virtual: int, pairs) -> list[int]:
    """The virtual qubits in a line that keeps interacting qubits close: start from the
    least-connected qubit of the earliest gate, then repeatedly take the unplaced qubit
    most tied to the last few placed ones (each gate's weight halves per position back);
    ties go to the qubit that interacts first. A chain of gates comes out in chain order.
    Qubits without two-qubit gates come last.

    Example:
        >>> linear_order(4, [(2, 1), (1, 0), (0, 3)])
        [2, 1, 0, 3]
    """
    weight: list[dict[int, int]] = [{} for _ in range(num_virtual)]
    first: dict[int, int] = {}
    for k, (a, b) in enumerate(pairs):
        weight[a][b] = weight[a].get(b, 0) + 1
        weight[b][a] = weight[b].get(a, 0) + 1
        first.setdefault(a, 2 * k)
        first.setdefault(b, 2 * k + 1)
    order: list[int] = []
    placed: dict[int, int] = {}
    pull = [0.0] * num_virtual
    todo = set(first)
    while todo:
        if any(pull[v] > 0 for v in todo):
            v = max(todo, key=lambda u: (pull[u], -first[u]))
        else:  # a new connected group of the interaction graph: start at its loosest end
            v = min(todo, key=lambda u: (sum(weight[u].values()), first[u]))
        placed[v] = len(order)
        order.append(v)
        todo.discard(v)
        for u in todo:
            pull[u] *= 0.5
        for u, w in weight[v].items():
            if u in todo:
                pull[u] += w
    return order + [v for v in range(num_virtual) if v not in placed]


def path_starts(num_virtual: int, pairs, component, neighbors, dist, rng) -> list[list[int]]:
    """Layouts laying ``linear_order`` along ``path_sequence(long_path(...))`` in both
    directions of the path; qubits without two-qubit gates take the places left over."""
    order = linear_order(num_virtual, pairs)
    active = {v for pair in pairs for v in pair}
    num_active = sum(1 for v in order if v in active)
    path = long_path(component, neighbors, rng)
    out = []
    for way in (path, path[::-1]):
        seq = path_sequence(way, component, neighbors, dist, num_active)
        v2p = [-1] * num_virtual
        for v, p in zip(order[:num_active], seq):
            v2p[v] = p
        spare = iter(seq[num_active:])
        for v in order[num_active:]:
            v2p[v] = next(spare)
        out.append(v2p)
    return out
