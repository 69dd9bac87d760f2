"""Device models: built-in lattices, calibration data, JSON files, bad input.

References:
* IBM's 127-qubit Eagle r3 coupling map, as published for ``ibm_sherbrooke`` in
  qiskit-ibm-runtime (``fake_provider/backends/sherbrooke/conf_sherbrooke.json``, "family:
  Eagle, revision: 3"): 127 qubits, 144 couplers. ``Device.heavy_hex_127`` must reproduce
  the edge set exactly.
* Heavy-hex lattice structure (Chamberland et al., PRX 10, 011022 (2020)): degree <= 3,
  bipartite, every face a 12-cycle (girth 12).
* Square-lattice, line and ring edge counts by counting: ``n - 1``, ``n``,
  ``r(c - 1) + c(r - 1)``.
* Hypothesis properties: every valid device round-trips through JSON unchanged.
"""

from __future__ import annotations

import json
import math
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna import Circuit
from kizuna.computing.device import Device, DeviceError, GateProperties, QubitProperties

# ibm_sherbrooke's coupling map (directed as calibrated; the device model is undirected)
SHERBROOKE_EDGES = [
    (1, 0), (1, 2), (3, 2), (4, 3), (4, 15), (5, 4), (6, 5), (7, 6), (8, 7), (8, 9), (10, 9),
    (10, 11), (11, 12), (12, 13), (14, 0), (14, 18), (16, 8), (17, 12), (17, 30), (18, 19),
    (19, 20), (20, 33), (21, 20), (21, 22), (22, 15), (23, 22), (23, 24), (25, 24), (26, 16),
    (26, 25), (26, 27), (28, 27), (29, 28), (29, 30), (31, 30), (31, 32), (32, 36), (33, 39),
    (34, 24), (35, 28), (35, 47), (36, 51), (37, 38), (38, 39), (40, 39), (41, 40), (41, 53),
    (42, 41), (43, 34), (43, 42), (43, 44), (45, 44), (45, 46), (47, 46), (47, 48), (49, 48),
    (49, 50), (50, 51), (52, 37), (53, 60), (54, 45), (55, 49), (56, 52), (56, 57), (57, 58),
    (59, 58), (59, 60), (61, 60), (61, 62), (63, 62), (63, 64), (64, 54), (64, 65), (66, 65),
    (67, 66), (68, 55), (68, 67), (69, 68), (69, 70), (71, 58), (71, 77), (72, 62), (73, 66),
    (73, 85), (74, 70), (75, 76), (77, 76), (78, 77), (78, 79), (79, 91), (80, 79), (80, 81),
    (81, 72), (81, 82), (82, 83), (84, 83), (85, 84), (86, 85), (86, 87), (87, 88), (89, 74),
    (89, 88), (90, 75), (90, 94), (92, 83), (92, 102), (93, 87), (93, 106), (95, 94), (95, 96),
    (97, 96), (97, 98), (98, 91), (99, 98), (99, 100), (101, 100), (101, 102), (102, 103),
    (104, 103), (105, 104), (106, 105), (107, 106), (107, 108), (109, 96), (110, 100),
    (110, 118), (111, 104), (112, 108), (112, 126), (113, 114), (114, 109), (114, 115),
    (116, 115), (117, 116), (117, 118), (119, 118), (119, 120), (120, 121), (121, 122),
    (122, 111), (123, 122), (124, 123), (125, 124), (126, 125),
]


def _adjacency(device):
    adj = {q: set() for q in range(device.num_qubits)}
    for a, b in device.coupling_map:
        adj[a].add(b)
        adj[b].add(a)
    return adj


def _bfs_colouring(adj):
    """Connectedness and bipartiteness by BFS 2-colouring."""
    colour = {0: 0}
    queue = deque([0])
    bipartite = True
    while queue:
        p = queue.popleft()
        for q in adj[p]:
            if q not in colour:
                colour[q] = 1 - colour[p]
                queue.append(q)
            elif colour[q] == colour[p]:
                bipartite = False
    return len(colour) == len(adj), bipartite


def _girth(adj):
    best = math.inf
    for s in adj:
        dist, parent = {s: 0}, {s: None}
        queue = deque([s])
        while queue:
            p = queue.popleft()
            for q in adj[p]:
                if q not in dist:
                    dist[q], parent[q] = dist[p] + 1, p
                    queue.append(q)
                elif parent[p] != q:
                    best = min(best, dist[p] + dist[q] + 1)
    return best


# --- built-in lattices ----------------------------------------------------------------------------
def test_heavy_hex_127_is_ibm_eagle_coupling_map():
    dev = Device.heavy_hex_127()
    assert dev.num_qubits == 127
    assert len(dev.coupling_map) == 144
    assert set(dev.coupling_map) == {(min(a, b), max(a, b)) for a, b in SHERBROOKE_EDGES}
    assert dev.basis_gates == ("ecr", "id", "rz", "sx", "x")  # ibm_sherbrooke's basis_gates


@pytest.mark.parametrize("rows, columns", [(7, 15), (2, 7), (3, 11), (4, 7), (5, 19)])
def test_heavy_hex_lattice_has_degree_three_and_twelve_cycles(rows, columns):
    dev = Device.heavy_hex(rows, columns)
    adj = _adjacency(dev)
    assert max(len(n) for n in adj.values()) == 3
    connected, bipartite = _bfs_colouring(adj)
    assert connected and bipartite
    assert _girth(adj) == 12
    # independent cycles = edges - vertices + 1: one per hexagonal cell
    cells = len(dev.coupling_map) - dev.num_qubits + 1
    assert cells == (rows - 1) * ((columns + 1) // 4 - 1)


def test_line_ring_grid_edges_by_counting():
    assert Device.line(5).coupling_map == ((0, 1), (1, 2), (2, 3), (3, 4))
    assert Device.ring(5).coupling_map == ((0, 1), (0, 4), (1, 2), (2, 3), (3, 4))
    g = Device.grid(3, 4)
    assert len(g.coupling_map) == 3 * 3 + 4 * 2
    assert (0, 1) in g.coupling_map and (0, 4) in g.coupling_map and (3, 4) not in g.coupling_map
    for dev in (Device.line(6), Device.ring(6), g):
        assert _bfs_colouring(_adjacency(dev))[0]


def test_generic_device_is_large_connected_and_seeded():
    a, b, c = Device.generic(120, seed=3), Device.generic(120, seed=3), Device.generic(120, seed=4)
    assert a.num_qubits == 120 and a == b and a != c
    assert _bfs_colouring(_adjacency(a))[0]
    assert Device.generic(133).num_qubits == 133
    for q in a.qubits:
        assert 50e-6 <= q.t1_s <= 300e-6 and 0 < q.t2_s <= 2 * q.t1_s
        assert all(0.005 <= p <= 0.05 for p in q.readout_error)
    two_q = [g for g in a.gates if g.name == "cx"]
    assert len(two_q) == len(a.coupling_map)
    assert all(3e-3 <= g.error <= 2e-2 for g in two_q)


def test_generic_gate_errors_are_not_below_relaxation_alone():
    # a gate cannot be better than T1/T2 relaxation over its duration allows; the reference
    # is the thermal-relaxation channel of kizuna.core.channels (checked there against Aer)
    from kizuna.core.channels import thermal_relaxation

    dev = Device.generic(100, seed=7)
    for g in dev.gates:
        if g.name != "sx":
            continue
        q = dev.qubits[g.qubits[0]]
        floor = 1 - thermal_relaxation(t1_s=q.t1_s, t2_s=q.t2_s, duration_s=g.duration_s).average_gate_fidelity()
        assert g.error >= floor


def test_builtin_calibration_covers_every_native_gate():
    dev = Device.heavy_hex_127()
    for q in (0, 63, 126):
        assert dev.gate("rz", q).error == 0 and dev.gate("rz", q).duration_s == 0  # virtual
        assert dev.gate("sx", [q]).error > 0
    for a, b in dev.coupling_map[:10]:
        assert dev.gate("ecr", (a, b)) is dev.gate("ecr", (b, a))
    assert dev.gate("cx", (0, 14)) is None  # not native
    assert dev.gate("ecr", (0, 2)) is None  # not coupled
    assert dev.gate("measure", 5).duration_s == 1.3e-6  # measure/reset: always available
    assert "measure" not in dev.basis_gates


def test_direction_specific_calibration_wins():
    fwd = GateProperties("cx", (0, 1), error=0.01, duration_s=3e-7)
    rev = GateProperties("cx", (1, 0), error=0.02, duration_s=4e-7)
    dev = Device("d", 2, ("rz", "sx", "cx"), ((1, 0),), gates=(fwd, rev))
    assert dev.coupling_map == ((0, 1),)
    assert dev.gate("cx", (0, 1)).error == 0.01 and dev.gate("cx", (1, 0)).error == 0.02


def test_default_qubits_are_ideal_and_infinite_times_serialise_as_null():
    dev = Device("ideal", 3, ("u3", "cx"), ((0, 1), (1, 2)))
    assert all(q.t1_s == math.inf and q.readout_error == (0.0, 0.0) for q in dev.qubits)
    d = dev.to_dict()
    assert d["qubits"][0]["t1_s"] is None
    json.dumps(d, allow_nan=False)
    assert Device.from_dict(json.loads(json.dumps(d))) == dev


# --- files ------------------------------------------------------------------------------------
def test_calibration_file_round_trip(tmp_path):
    dev = Device.generic(101, seed=11)
    path = tmp_path / "generic.json"
    dev.save(path)
    loaded = Device.load(path)
    assert loaded == dev
    assert loaded.sha256() == dev.sha256()
    assert [p.name for p in tmp_path.iterdir()] == ["generic.json"]  # no temporary left behind
    data = json.loads(path.read_text())
    assert data["format"] == "kizuna.device" and data["num_qubits"] == 101


def test_hand_written_calibration_file_without_optional_keys(tmp_path):
    path = tmp_path / "two.json"
    path.write_text(json.dumps({
        "name": "pair", "num_qubits": 2, "basis_gates": ["rz", "sx", "cz"],
        "coupling_map": [[1, 0]],
        "gates": [{"name": "cz", "qubits": [0, 1], "error": 0.01, "duration_s": 2e-7}],
    }))
    dev = Device.load(path)
    assert dev.coupling_map == ((0, 1),) and dev.gate("cz", (1, 0)).duration_s == 2e-7
    assert dev.qubits == (QubitProperties(), QubitProperties())


times = st.one_of(st.just(math.inf), st.floats(1e-6, 1e-3))
probabilities = st.floats(0.0, 1.0)


@st.composite
def devices(draw):
    n = draw(st.integers(1, 6))
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    edges = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    qubits = []
    for _ in range(n):
        t1 = draw(times)
        t2 = 2 * t1 if draw(st.booleans()) else draw(st.floats(1e-7, 1.0)) * min(t1, 1.0)
        freq = draw(st.one_of(st.none(), st.floats(1e9, 1e10)))
        qubits.append(QubitProperties(t1, t2, (draw(probabilities), draw(probabilities)), freq))
    basis = ("rz", "sx", "x", "ecr")
    gates = [GateProperties("sx", (q,), draw(probabilities), draw(st.floats(0, 1e-6))) for q in range(n)]
    gates += [GateProperties("ecr", e if draw(st.booleans()) else e[::-1], draw(probabilities), 5e-7) for e in edges]
    gates += [GateProperties("measure", (q,), draw(probabilities), 1e-6) for q in range(n) if draw(st.booleans())]
    return Device(draw(st.text("abcxyz_0123456789", min_size=1, max_size=8)), n, basis, tuple(edges),
                  tuple(qubits), tuple(gates))


@settings(max_examples=60, deadline=None)
@given(devices())
def test_every_device_round_trips_through_json(dev):
    text = dev.to_json()
    back = Device.from_dict(json.loads(text))
    assert back == dev
    assert back.to_json() == text


# --- bad input ------------------------------------------------------------------------------------
BAD = [
    (lambda: QubitProperties(t1_s=10e-6, t2_s=30e-6), "t2_s must be <= 2 * t1_s"),
    (lambda: QubitProperties(t1_s=-1e-6), "t1_s must be > 0 seconds (got -1e-06)"),
    (lambda: QubitProperties(t1_s=1e-4, t2_s=0.0), "t2_s must be > 0"),
    (lambda: QubitProperties(readout_error=(0.1, 1.2)), "readout_error probabilities must lie in [0, 1] (got (0.1, 1.2))"),
    (lambda: QubitProperties(readout_error=(0.1,)), "readout_error must be a pair"),
    (lambda: QubitProperties(frequency_hz=-5e9), "frequency_hz must be a positive"),
    (lambda: QubitProperties(t1_s="long"), "t1_s must be a real number (got 'long')"),
    (lambda: GateProperties("foo", (0,)), "gate name 'foo' is not a table gate"),
    (lambda: GateProperties("cx", (0,)), "gate 'cx' acts on 2 distinct qubit(s) (got qubits (0,))"),
    (lambda: GateProperties("measure", (0, 1)), "gate 'measure' acts on 1 distinct qubit(s) (got qubits (0, 1))"),
    (lambda: GateProperties("sx", (0,), error=1.5), "error must lie in [0, 1] (got 1.5)"),
    (lambda: GateProperties("sx", (0,), duration_s=-1.0), "duration_s must be finite and >= 0 (got -1.0)"),
    (lambda: Device("d", 0, ("cx",)), "num_qubits must be a positive integer (got 0)"),
    (lambda: Device("d", 2, ("cx", "foo")), "basis gate 'foo' is not a table gate"),
    (lambda: Device("d", 2, ("cx", "cx")), "basis_gates lists a gate twice"),
    (lambda: Device("d", 2, ("cx",), ((0, 2),)), "coupling_map edge (0, 2) must join two qubits in range(0, 2)"),
    (lambda: Device("d", 2, ("cx",), ((1, 1),)), "joins a qubit to itself"),
    (lambda: Device("d", 2, ("cx",), ((0, 1, 2),)), "coupling_map edge must be a pair"),
    (lambda: Device("d", 3, ("cx",), qubits=(QubitProperties(),)), "one QubitProperties per qubit: 3 (got 1)"),
    (lambda: Device("d", 3, ("cx",), ((0, 1),), gates=(GateProperties("cx", (0, 2)),)),
     "gate 'cx' on (0, 2): the qubits are not coupled"),
    (lambda: Device("d", 2, ("sx",), gates=(GateProperties("x", (0,)),)), "is not a basis gate of device 'd'"),
    (lambda: Device("d", 2, ("sx",), gates=(GateProperties("sx", (5,)),)), "qubit out of range(0, 2)"),
    (lambda: Device("d", 2, ("sx",), gates=(GateProperties("sx", (0,)),) * 2), "calibrated twice"),
    (lambda: Device.heavy_hex(3, 9), "heavy-hex columns must be 3 mod 4 (7, 11, 15, ...) (got 9)"),
    (lambda: Device.ring(2), "num_qubits must be an integer >= 3 (got 2)"),
    (lambda: Device.line(3, basis_gates=("rz", "zz")), "basis gate 'zz' is not a table gate"),
    (lambda: Device.from_dict({"name": "x", "num_qubits": 2}), "device description lacks 'basis_gates'"),
    (lambda: Device.from_dict({"name": "x", "num_qubits": 2, "basis_gates": ["cx"], "colour": 1}),
     "unknown device key(s) ['colour']"),
    (lambda: Device.from_dict({"format": "qiskit", "name": "x"}), "format 'qiskit'"),
]


@pytest.mark.parametrize("make, message", BAD, ids=[m for _, m in BAD])
def test_bad_device_data_is_refused_by_name(make, message):
    with pytest.raises(DeviceError) as info:
        make()
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_bad_calibration_file_names_the_file_and_place(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"name": "x",\n  "num_qubits": 2,,}')
    with pytest.raises(DeviceError, match=r"broken\.json:2:19: not valid JSON"):
        Device.load(path)
    path.write_text(json.dumps({"name": "x", "num_qubits": 2, "basis_gates": ["cx"], "coupling_map": [[0, 5]]}))
    with pytest.raises(DeviceError, match=r"broken\.json: coupling_map edge \(0, 5\)"):
        Device.load(path)


def test_check_circuit_names_the_offending_instruction():
    dev = Device.line(3)
    dev.check_circuit(Circuit(3, 1).sx(0).cx(1, 0).rz(0.3, 2).measure(2, 0).reset(1))
    with pytest.raises(DeviceError, match=r"instruction 1: 'h' on qubits \(2,\) is not a native gate"):
        dev.check_circuit(Circuit(3).x(0).h(2))
    with pytest.raises(DeviceError, match=r"'cx' on qubits \(2, 0\) .* not coupled"):
        dev.check_circuit(Circuit(3).cx(2, 0))
    with pytest.raises(DeviceError, match="circuit has 4 qubits but device 'line_3' has 3"):
        dev.check_circuit(Circuit(4))


@pytest.mark.parametrize(
    ("name", "num_qubits", "num_edges"),
    [("line-5", 5, 4), ("ring-8", 8, 8), ("grid-3x4", 12, 17), ("heavy-hex-127", 127, 144),
     ("generic-9", 9, 12), ("Heavy_Hex_127", 127, 144)],
)
def test_builtin_devices_by_name(name, num_qubits, num_edges):
    dev = Device.builtin(name)
    assert dev.num_qubits == num_qubits and len(dev.coupling_map) == num_edges


def test_unknown_builtin_name_lists_the_choices():
    with pytest.raises(DeviceError, match=r"unknown built-in device 'torus-9'; choose one of: line-5"):
        Device.builtin("torus-9")
