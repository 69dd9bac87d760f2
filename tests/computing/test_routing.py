"""Line-shaped layouts of the router (``kizuna.computing._routing``): long paths of a coupling
map, the detour sequence built on them, and the line order of a circuit's interactions.

References:
* Longest simple paths and the existence of a Hamiltonian path: an exhaustive depth-first
  enumeration of every simple path, written here (small graphs only).
* Hamiltonian paths that exist by construction: a line, a ring, and the boustrophedon of a
  ``rows x columns`` grid.
* IBM's 127-qubit Eagle heavy-hex: seven rows of 14, 15, 15, 15, 15, 15 and 14 qubits (103)
  joined by 24 bridge qubits, four between each pair of neighbouring rows; a snake through
  all seven rows uses six bridges (109 qubits) and leaves 18 bridges, each next to the snake.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.computing import _routing as routing
from kizuna.computing.device import Device


def _neighbors(device):
    return [device.neighbors(q) for q in range(device.num_qubits)]


def _is_simple_path(path, neighbors):
    return len(set(path)) == len(path) and all(path[i + 1] in neighbors[path[i]] for i in range(len(path) - 1))


def _longest_path_length(neighbors) -> int:
    """Exhaustive search over all simple paths (exponential: small graphs only)."""
    n = len(neighbors)
    best = 0
    stack = [(s, 1 << s, 1) for s in range(n)]
    while stack:
        p, seen, length = stack.pop()
        best = max(best, length)
        for q in neighbors[p]:
            if not seen >> q & 1:
                stack.append((q, seen | 1 << q, length + 1))
    return best


DEVICES = {
    "line7": Device.line(7),
    "ring9": Device.ring(9),
    "grid4x5": Device.grid(4, 5),
    "heavyhex14": Device.heavy_hex(2, 7),
    "heavyhex127": Device.heavy_hex_127(),
}


@pytest.mark.parametrize("name", sorted(DEVICES))
def test_long_path_is_a_simple_path_of_coupled_qubits(name):
    device = DEVICES[name]
    nb = _neighbors(device)
    path = routing.long_path(range(device.num_qubits), nb, np.random.default_rng(3))
    assert _is_simple_path(path, nb)
    # maximal: neither end has a free neighbour
    on = set(path)
    assert all(q in on for q in nb[path[0]]) and all(q in on for q in nb[path[-1]])


@pytest.mark.parametrize("name", ["line7", "ring9", "grid4x5"])
def test_long_path_visits_every_qubit_when_a_hamiltonian_path_exists(name):
    device = DEVICES[name]
    path = routing.long_path(range(device.num_qubits), _neighbors(device), np.random.default_rng(0))
    assert sorted(path) == list(range(device.num_qubits))


def test_long_path_matches_exhaustive_search_on_small_heavy_hex():
    device = Device.heavy_hex(2, 7)
    nb = _neighbors(device)
    longest = _longest_path_length(nb)
    assert longest == device.num_qubits - 1  # no Hamiltonian path: the exhaustive reference
    for seed in range(3):
        path = routing.long_path(range(device.num_qubits), nb, np.random.default_rng(seed))
        assert len(path) == longest


def test_long_path_on_eagle_is_the_seven_row_snake_with_every_bridge_beside_it():
    device = Device.heavy_hex_127()
    nb = _neighbors(device)
    path = routing.long_path(range(127), nb, np.random.default_rng(1))
    on = set(path)
    assert _is_simple_path(path, nb) and len(path) >= 109
    off = [q for q in range(127) if q not in on]
    assert all(any(x in on for x in nb[q]) for q in off)  # every qubit off it is one step away
    assert routing._coverage_cost(on, range(127), nb) == len(off) <= 18


@settings(max_examples=40, deadline=None)
@given(st.integers(4, 9), st.integers(0, 2**32 - 1), st.floats(0.0, 0.6), st.integers(1, 9))
def test_path_sequence_is_every_qubit_once_with_detours_after_their_anchor(n, seed, extra, length):
    rng = np.random.default_rng(seed)
    # a random connected graph: a random spanning tree plus extra edges
    edges = {(int(rng.integers(k)), k) for k in range(1, n)}
    edges |= {(a, b) for a in range(n) for b in range(a + 1, n) if rng.random() < extra}
    nb = [[] for _ in range(n)]
    for a, b in edges:
        nb[a].append(b)
        nb[b].append(a)
    dist = routing.distance_matrix(n, nb).tolist()
    path = routing.long_path(range(n), nb, rng)
    assert _is_simple_path(path, nb)
    assert len(path) <= _longest_path_length(nb)
    seq = routing.path_sequence(path, range(n), nb, dist)
    assert sorted(seq) == list(range(n))
    on = set(path)
    assert [q for q in seq if q in on] == path  # the path keeps its order
    for i, q in enumerate(seq):
        if q in on:
            continue
        anchor = next(p for p in reversed(seq[:i]) if p in on)
        if any(x in on for x in nb[q]):  # a detour: right after a path qubit next to it
            assert q in nb[anchor]
    # a prefix of `length` qubits: the path's start if it is long enough, else all the path
    # and as few detours as possible, in the same order
    length = min(length, n)
    head = routing.path_sequence(path, range(n), nb, dist, length)
    assert sorted(head) == list(range(n))
    if length <= len(path):
        assert head[:length] == path[:length]
    else:
        assert [q for q in head[:length] if q in on] == path
        assert [q for q in seq if q in set(head[:length])] == head[:length]


@settings(max_examples=40, deadline=None)
@given(st.permutations(list(range(9))))
def test_linear_order_follows_a_chain_under_any_labels(perm):
    pairs = [(perm[k], perm[k + 1]) for k in range(8)]
    assert routing.linear_order(9, pairs) == list(perm)


def test_linear_order_puts_idle_qubits_last():
    assert routing.linear_order(5, [(3, 1), (1, 4)]) == [3, 1, 4, 0, 2]


def test_chains_shorter_than_eagle_pay_only_for_the_detours_they_need():
    # the snake holds 109 qubits: a chain of n > 109 needs n - 109 one-CNOT detours
    from kizuna import Circuit, transpile

    device = Device.heavy_hex_127(basis_gates=("rz", "sx", "x", "cx"))
    for n in (109, 112):
        chain = Circuit(n)
        for q in range(n - 1):
            chain.cx(q, q + 1)
        result = transpile(chain, device, seed=1)
        assert result.two_qubit_count == n - 1 + max(0, n - 109)


def test_path_starts_lay_a_chain_along_the_path_both_ways():
    device = Device.grid(3, 4)
    nb = _neighbors(device)
    dist = routing.distance_matrix(12, nb).tolist()
    perm = list(np.random.default_rng(5).permutation(12))
    pairs = [(int(perm[k]), int(perm[k + 1])) for k in range(11)]
    starts = routing.path_starts(12, pairs, range(12), nb, dist, np.random.default_rng(2))
    assert len(starts) == 2
    for v2p in starts:
        assert sorted(v2p) == list(range(12))
        assert all(v2p[b] in nb[v2p[a]] for a, b in pairs)  # a perfect layout for the chain
