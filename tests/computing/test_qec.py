"""Error correction: memory experiments, detector error models, decoding, threshold sweeps.

References (each independent of the code under test):

* Stim's generated circuits ``surface_code:rotated_memory_z/x`` and ``repetition_code:memory``
  with the same four noise knobs at ``p``: their detector counts, their detector error models
  (``detector_error_model(decompose_errors=False)``) and their logical error rates, decoded by
  pymatching from Stim's own DEM (two-proportion z-tests at a two-sided false-alarm rate of
  1e-3, |z| < 3.29; the seeds are fixed, so a run is reproducible).
* Kizuna's circuits re-written instruction by instruction as Stim circuits (here, with Stim's
  own gate and noise instructions), whose Stim DEM must equal the error model Kizuna finds by
  its own fault propagation, mechanism by mechanism, to 1e-12.
* Hand-derived formulas: the first-order rate of raw observable flips of the repetition code
  (every single fault that flips the last data qubit's final bit), the Wilson interval (scipy's
  ``binomtest(...).proportion_ci(method="wilson")``), the eigenvalues of Pauli channels.
* Literature: thresholds of the rotated surface code under circuit-level depolarizing noise
  with minimum-weight matching: about 0.5-1% read off per-shot curves of ``rounds = d``
  experiments (Fowler et al., PRA 86, 032324 (2012): 0.57% with idle noise; sinter-style
  per-shot plots of Stim's generated circuits: about 0.7%), and 1.1-1.4% per round (Wang,
  Fowler & Hollenberg, PRA 83, 020302(R) (2011)).
"""

from __future__ import annotations

import math
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pymatching
import pytest
import stim
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from kizuna import Circuit
from kizuna.computing import qec
from kizuna.computing._clifford import pauli_channel_probabilities
from kizuna.computing._qec_codes import depolarize
from kizuna.computing._qec_dem import decompose, independent_mechanisms
from kizuna.computing.backends.stabilizer import StabilizerBackend, compile_program
from kizuna.computing.circuit import flatten
from kizuna.computing.noise import ChannelOp
from kizuna.core import channels as ch
from kizuna.errors import QECError, SimulationError

#: Two-sided false-alarm rate 1e-3 for the z-tests against Stim.
Z_CRIT = 3.29


# --- references ------------------------------------------------------------------------------
def stim_generated(code: str, d: int, r: int, p: float, basis: str = "z") -> stim.Circuit:
    name = "repetition_code:memory" if code == "repetition" else f"surface_code:rotated_memory_{basis}"
    return stim.Circuit.generated(name, distance=d, rounds=r, after_clifford_depolarization=p,
                                  after_reset_flip_probability=p, before_measure_flip_probability=p,
                                  before_round_data_depolarization=p)


def stim_mechanisms(circuit: stim.Circuit) -> dict:
    """``{(detectors, observables): p}`` of Stim's undecomposed DEM (repeats XOR-combined:
    Stim does not merge mechanisms across REPEAT blocks)."""
    out: dict = {}
    for inst in circuit.detector_error_model(decompose_errors=False).flattened():
        if inst.type != "error":
            continue
        targets = inst.targets_copy()
        key = (tuple(sorted(t.val for t in targets if t.is_relative_detector_id())),
               tuple(sorted(t.val for t in targets if t.is_logical_observable_id())))
        q = inst.args_copy()[0]
        p0 = out.get(key, 0.0)
        out[key] = p0 + q - 2 * p0 * q
    return out


def to_stim(exp: qec.MemoryExperiment) -> stim.Circuit:
    """Kizuna's noisy program written out with Stim's own instructions (not Kizuna code)."""
    s = stim.Circuit()
    names = {"h": "H", "cx": "CX", "measure": "M", "reset": "R"}
    for item in exp.program:
        if isinstance(item, ChannelOp):
            terms = [t for t in pauli_channel_probabilities(item.channel.kraus) if t[0] or t[1]]
            total = sum(t[2] for t in terms)
            if len(item.qubits) == 1 and [t[:2] for t in terms] == [(1, 0)]:
                s.append("X_ERROR", item.qubits, total)
            elif len(item.qubits) == 1 and [t[:2] for t in terms] == [(0, 1)]:
                s.append("Z_ERROR", item.qubits, total)
            elif len(item.qubits) == 1 and len(terms) == 3:
                s.append("DEPOLARIZE1", item.qubits, total)
            elif len(item.qubits) == 2 and len(terms) == 15:
                s.append("DEPOLARIZE2", item.qubits, total)
            else:
                raise AssertionError(f"unexpected channel {item.channel.name}")
        else:
            if item.name == "measure":  # records must be clbits in program order
                assert item.clbits[0] == s.num_measurements
            s.append(names[item.name], item.qubits)
    m = s.num_measurements
    assert m == exp.num_measurements
    for det in exp.detectors:
        s.append("DETECTOR", [stim.target_rec(k - m) for k in det])
    for j, obs in enumerate(exp.observables):
        s.append("OBSERVABLE_INCLUDE", [stim.target_rec(k - m) for k in obs], j)
    return s


def stim_logical_errors(circuit: stim.Circuit, shots: int, seed: int) -> int:
    dem = circuit.detector_error_model(decompose_errors=True)
    matching = pymatching.Matching.from_detector_error_model(dem)
    det, obs = circuit.compile_detector_sampler(seed=seed).sample(shots, separate_observables=True)
    pred = matching.decode_batch(det)
    return int(np.count_nonzero(np.any(pred != obs, axis=1)))


def two_proportion_z(k1: int, k2: int, n: int) -> float:
    pooled = (k1 + k2) / (2 * n)
    sd = math.sqrt(pooled * (1 - pooled) * 2 / n)
    return 0.0 if sd == 0 else (k1 - k2) / n / sd


def graph_distance(dem) -> int:
    """Fewest edges of the matching graph whose detectors cancel and whose observables flip:
    breadth-first search over (node, observable parity), the boundary one node."""
    boundary = dem.num_detectors
    adj: dict[int, list] = {}
    for a, b, obs, _ in dem.edges:
        b = boundary if b < 0 else b
        flip = len(obs) % 2
        adj.setdefault(a, []).append((b, flip))
        adj.setdefault(b, []).append((a, flip))
    start = (boundary, 0)
    seen = {start: 0}
    queue = deque([start])
    while queue:
        node, par = queue.popleft()
        for nxt, flip in adj.get(node, ()):
            state = (nxt, par ^ flip)
            if state not in seen:
                seen[state] = seen[(node, par)] + 1
                queue.append(state)
    return seen[(boundary, 1)]


# --- building -------------------------------------------------------------------------------
@pytest.mark.parametrize("d,r,basis", [(3, 1, "z"), (3, 3, "z"), (5, 2, "z"), (3, 3, "x"), (5, 5, "x")])
def test_surface_code_has_stims_detector_count_and_qubits(d, r, basis):
    exp = qec.surface_code_memory(d, r, 0.001, basis=basis)
    ref = stim_generated("surface", d, r, 0.001, basis)
    assert exp.num_detectors == ref.num_detectors
    assert exp.num_measurements == ref.num_measurements
    assert exp.num_qubits == 2 * d * d - 1 == len(exp.qubit_coords)
    assert exp.num_observables == ref.num_observables == 1
    assert len(exp.observables[0]) == d


@pytest.mark.parametrize("d,r", [(2, 1), (3, 2), (5, 4)])
def test_repetition_code_has_stims_detectors(d, r):
    exp = qec.repetition_code_memory(d, r, 0.01)
    ref = stim_generated("repetition", d, r, 0.01)
    assert exp.num_detectors == ref.num_detectors
    assert exp.num_measurements == ref.num_measurements


@pytest.mark.parametrize("builder,d,r,basis", [
    (qec.repetition_code_memory, 3, 3, "z"), (qec.repetition_code_memory, 6, 2, "z"),
    (qec.surface_code_memory, 3, 1, "z"), (qec.surface_code_memory, 5, 4, "z"),
    (qec.surface_code_memory, 3, 2, "x"), (qec.surface_code_memory, 5, 3, "x"),
])
def test_noiseless_detectors_are_all_zero(builder, d, r, basis):
    exp = builder(d, r, 0.0, basis=basis)
    assert not any(isinstance(x, ChannelOp) for x in exp.program)
    events, flips = exp.sample(3000, seed=4)
    assert events.shape == (3000, exp.num_detectors)
    assert not events.any() and not flips.any()
    result = exp.run(5000, seed=1)
    assert result.logical_errors == 0 and result.num_edges == 0


def test_first_round_detectors_skip_the_random_stabilizers():
    # a Z memory starts in |0...0>: its X-type stabilizers come out at random in the first
    # round, so only the Z-type ancillas get a first-round detector
    exp = qec.surface_code_memory(3, 2, 0.0)
    records = StabilizerBackend().sample_records(exp.program, exp.num_qubits, 4000,
                                                 np.random.default_rng(3))
    a = len(exp.ancilla_qubits)
    kinds = [b for b, c in zip(exp.detector_basis, exp.detector_coords) if c[2] == 1]  # per ancilla
    assert len(kinds) == a
    means = records[:, :a].mean(axis=0)
    for kind, m in zip(kinds, means):
        assert (0.45 < m < 0.55) if kind == "X" else m == 0
    first = [b for b, c in zip(exp.detector_basis, exp.detector_coords) if c[2] == 0]
    assert first == ["Z"] * kinds.count("Z")


def test_noisy_program_places_noise_as_stims_generated_circuit():
    p = 0.002
    exp = qec.surface_code_memory(3, 2, p)
    ops = {}
    for item in exp.program:
        if isinstance(item, ChannelOp):
            ops[item.channel.name] = ops.get(item.channel.name, 0) + 1
    ref = stim_generated("surface", 3, 2, p).flattened()
    counts = {name: sum(len(i.targets_copy()) for i in ref if i.name == name)
              for name in ("DEPOLARIZE1", "DEPOLARIZE2", "X_ERROR")}
    assert ops[f"depolarize1({p:g})"] == counts["DEPOLARIZE1"]
    assert 2 * ops[f"depolarize2({p:g})"] == counts["DEPOLARIZE2"]
    assert ops[f"bit_flip({p:g})"] == counts["X_ERROR"]


# --- detector error model ------------------------------------------------------------------------
@pytest.mark.parametrize("builder,d,r,p,basis", [
    (qec.repetition_code_memory, 3, 2, 0.003, "z"),
    (qec.repetition_code_memory, 5, 4, 0.01, "z"),
    (qec.surface_code_memory, 3, 3, 0.003, "z"),
    (qec.surface_code_memory, 3, 2, 0.02, "x"),
    (qec.surface_code_memory, 5, 2, 0.001, "z"),
])
def test_error_model_equals_stims_for_the_same_circuit(builder, d, r, p, basis):
    exp = builder(d, r, p, basis=basis)
    ours = {(dets, obs): q for dets, obs, q in exp.detector_error_model().mechanisms}
    ref = stim_mechanisms(to_stim(exp))
    assert set(ours) == set(ref)
    worst = max(abs(ours[k] - ref[k]) for k in ref)
    assert worst < 1e-12


def test_repetition_error_model_equals_stims_generated_one():
    # same layout, CX order, detector order and observable as Stim's generator: identical DEMs
    exp = qec.repetition_code_memory(3, 2, 0.003)
    ours = {(dets, obs): q for dets, obs, q in exp.detector_error_model().mechanisms}
    ref = stim_mechanisms(stim_generated("repetition", 3, 2, 0.003))
    assert set(ours) == set(ref)
    assert max(abs(ours[k] - ref[k]) for k in ref) < 1e-12
    # the matching graph has Stim's edges (Stim also splits some two-detector faults into
    # boundary halves, so the probabilities differ there, but only modestly)
    ms = pymatching.Matching.from_detector_error_model(
        stim_generated("repetition", 3, 2, 0.003).detector_error_model(decompose_errors=True))
    stim_edges = {(a, -1) if b is None else (min(a, b), max(a, b)): data["error_probability"]
                  for a, b, data in ms.edges()}
    our_edges = {(a, b): q for a, b, _, q in exp.detector_error_model().edges}
    assert set(our_edges) == set(stim_edges)
    for k, q in our_edges.items():
        assert abs(q - stim_edges[k]) < 0.5 * stim_edges[k]


@pytest.mark.parametrize("d,r,basis", [(3, 3, "z"), (5, 2, "x")])
def test_surface_error_model_has_stims_mechanism_probabilities(d, r, basis):
    # our layout numbers detectors differently; the multiset of mechanism probabilities and
    # the total error mass must still be Stim's
    ours = sorted(q for _, _, q in qec.surface_code_memory(d, r, 0.004, basis=basis)
                  .detector_error_model().mechanisms)
    ref = sorted(stim_mechanisms(stim_generated("surface", d, r, 0.004, basis)).values())
    assert len(ours) == len(ref)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("builder,d", [(qec.surface_code_memory, 3), (qec.surface_code_memory, 5),
                                       (qec.repetition_code_memory, 4)])
def test_matching_graph_distance_is_the_code_distance(builder, d):
    # hook errors of a bad CX order would give a shorter logical path; Stim agrees on the circuit
    exp = builder(d, d, 0.001)
    assert graph_distance(exp.detector_error_model()) == d
    assert len(to_stim(exp).shortest_graphlike_error()) == d


def test_every_edge_is_graphlike_and_every_detector_is_reached():
    dem = qec.surface_code_memory(5, 5, 0.002).detector_error_model()
    assert dem.conflicts == 0 and dem.undetectable_probability == 0
    assert all(0 < q < 0.5 for *_, q in dem.edges)
    nodes = {a for a, *_ in dem.edges} | {b for _, b, *_ in dem.edges if b >= 0}
    assert nodes == set(range(dem.num_detectors))
    assert dem.num_edges == qec.surface_code_memory(5, 5, 0.002).matching().num_edges
    # more than two detectors in a mechanism (Y errors, two-qubit faults) exist and were split
    assert max(len(dets) for dets, _, _ in dem.mechanisms) > 2


def test_decompose_splits_hyperedges_into_known_edges_or_says_why():
    # a three-detector fault made of a known pair and a known boundary edge (which flips the
    # observable): its probability joins both, p = p1 (1 - p2) + p2 (1 - p1)
    mech = [((0, 1), (), 0.01), ((2,), (0,), 0.02), ((0, 1, 2), (0,), 0.001)]
    dem = decompose(mech, 3, 1, ("Z",) * 3, ("Z",), num_faults=3)
    edges = {(a, b): (obs, q) for a, b, obs, q in dem.edges}
    assert set(edges) == {(0, 1), (2, -1)}
    assert edges[(0, 1)][0] == () and edges[(2, -1)][0] == (0,)
    assert edges[(0, 1)][1] == pytest.approx(0.01 + 0.001 - 2 * 0.01 * 0.001)
    assert edges[(2, -1)][1] == pytest.approx(0.02 + 0.001 - 2 * 0.02 * 0.001)
    # split by basis first: a Y-like fault on an X and a Z detector is two boundary edges
    dem = decompose([((0, 1), (0,), 0.01)], 2, 1, ("Z", "X"), ("Z",), num_faults=1)
    assert {(a, b, obs) for a, b, obs, _ in dem.edges} == {(0, -1, (0,)), (1, -1, ())}
    with pytest.raises(QECError, match=r"detectors \[0, 1, 2\].*does not split into edges"):
        decompose([((0, 1, 2), (), 0.01)], 3, 0, ("Z",) * 3, (), num_faults=1)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=3, max_size=3), st.floats(0.0, 0.4), st.booleans())
def test_independent_mechanisms_are_exact_or_the_disjoint_first_order(weights, total, symmetric):
    # a Pauli P has eigenvalue sum_E p_E (-1)^<P,E> under the channel and, under independent
    # errors, the product of (1 - 2 q_E) over the E that anticommute with P
    w = np.ones(3) if symmetric else np.array(weights) + 1e-3
    probs = dict(zip("XYZ", (total * w / w.sum()).tolist()))
    terms = pauli_channel_probabilities(ch.pauli_channel(probs).kraus)
    mech = independent_mechanisms(terms, 1)

    def anti(px, pz, x, z):
        return ((px & z) ^ (pz & x)) & 1

    exact = [sum(p * (-1) ** anti(px, pz, x, z) for x, z, p in terms) for px, pz in ((1, 0), (0, 1), (1, 1))]
    product = [math.prod(1 - 2 * q for x, z, q in mech if anti(px, pz, x, z))
               for px, pz in ((1, 0), (0, 1), (1, 1))]
    disjoint = sorted((x, z, p) for x, z, p in terms if x or z)
    assert all(0 <= q < 0.5 for *_, q in mech)
    if symmetric or len(disjoint) <= 1:  # depolarizing, a single flip: always a product
        assert product == pytest.approx(exact, abs=1e-12)
    else:
        assert product == pytest.approx(exact, abs=1e-12) or sorted(mech) == disjoint


def test_depolarizing_mechanisms_use_stims_conversion():
    p = 0.05
    mech = independent_mechanisms(pauli_channel_probabilities(depolarize(p, 2).kraus), 2)
    assert len(mech) == 15
    expected = 0.5 - 0.5 * (1 - 16 * p / 15) ** 0.125  # Stim's depolarize2 conversion
    assert all(q == pytest.approx(expected, rel=1e-12) for *_, q in mech)


# --- sampling and decoding against Stim ------------------------------------------------------------
@pytest.mark.parametrize("code,d,r,p,basis,shots", [
    ("surface", 3, 3, 0.006, "z", 40_000),
    ("surface", 3, 3, 0.006, "x", 40_000),
    ("repetition", 5, 5, 0.03, "z", 40_000),
])
def test_logical_error_rate_agrees_with_stim(code, d, r, p, basis, shots):
    builder = qec.surface_code_memory if code == "surface" else qec.repetition_code_memory
    ours = builder(d, r, p, basis=basis).run(shots, seed=101)
    theirs = stim_logical_errors(stim_generated(code, d, r, p, basis), shots, seed=202)
    assert ours.logical_errors > 200 and theirs > 200  # sensitive: ~7% relative resolution
    assert abs(two_proportion_z(ours.logical_errors, theirs, shots)) < Z_CRIT


@pytest.mark.slow
@pytest.mark.parametrize("d,p", [(5, 0.005), (5, 0.001), (7, 0.007)])
def test_logical_error_rate_agrees_with_stim_on_bigger_codes(d, p):
    shots = 300_000
    ours = qec.surface_code_memory(d, d, p).run(shots, seed=7, workers=2)
    theirs = stim_logical_errors(stim_generated("surface", d, d, p), shots, seed=8)
    assert abs(two_proportion_z(ours.logical_errors, theirs, shots)) < Z_CRIT


def test_raw_observable_flips_match_the_first_order_fault_count():
    # the repetition code's observable is the last data qubit's final bit. To first order in p
    # it flips when: its reset's X_ERROR (p), its final X_ERROR (p), and each round its
    # DEPOLARIZE1 (X or Y: 2p/3) and the DEPOLARIZE2 after the one CX it controls (8 of the
    # 15 Paulis put X or Y on the control: 8p/15). Total p (2 + r (2/3 + 8/15)) + O(p^2).
    p, r, shots = 0.001, 5, 200_000
    result = qec.repetition_code_memory(3, r, p).run(shots, seed=5, decoder="none")
    first_order = p * (2 + r * (2 / 3 + 8 / 15))
    sd = math.sqrt(first_order * (1 - first_order) / shots)
    assert abs(result.logical_error_rate - first_order) < 4 * sd + first_order**2 * 10


def test_repetition_code_suppresses_errors_with_distance():
    # below threshold each extra pair of data qubits costs one more fault: P_L falls with d
    rates = [qec.repetition_code_memory(d, 3, 0.01).run(20_000, seed=d).logical_error_rate for d in (3, 5, 7)]
    assert rates[0] > 2 * rates[1] > 0 and rates[1] > rates[2]


@pytest.mark.slow
def test_repetition_code_rate_is_second_order_in_p_for_distance_3():
    # P_L = A p^2 + O(p^3) for d = 3 (two faults are needed): doubling p multiplies it by ~4
    lo = qec.repetition_code_memory(3, 3, 0.0015).run(1_000_000, seed=1, workers=2)
    hi = qec.repetition_code_memory(3, 3, 0.003).run(1_000_000, seed=2, workers=2)
    ratio = hi.logical_error_rate / lo.logical_error_rate
    assert 3.0 < ratio < 4.8


# --- threshold ---------------------------------------------------------------------------------------
def test_distance_5_beats_distance_3_below_threshold_and_loses_above():
    sweep = qec.threshold_sweep("surface", (3, 5), (0.002, 0.025), shots=20_000, seed=3, workers=1)
    below = {r.distance: r for r in sweep.rows if r.p == 0.002}
    above = {r.distance: r for r in sweep.rows if r.p == 0.025}
    assert below[5].interval_per_round[1] < below[3].interval_per_round[0]
    assert above[5].interval_per_round[0] > above[3].interval_per_round[1]
    t = sweep.estimate_threshold()
    assert t is not None and 0.002 < t < 0.025


@pytest.mark.slow
def test_surface_code_threshold_lies_in_the_published_range():
    sweep = qec.threshold_sweep("surface", (3, 5, 7), (0.005, 0.006, 0.007, 0.008, 0.01, 0.012, 0.014),
                                shots=50_000, seed=2)
    per_shot = sweep.estimate_threshold(per_round=False)
    per_round = sweep.estimate_threshold()
    assert 0.005 <= per_shot <= 0.01
    assert 0.01 <= per_round <= 0.015
    # every pair of neighbouring distances crosses near the same place
    for pair in ((3, 5), (5, 7)):
        assert 0.005 <= sweep.estimate_threshold(pair, per_round=False) <= 0.01


def test_estimate_threshold_is_none_without_a_crossing():
    sweep = qec.ThresholdSweep("surface", "z", tuple(
        qec.MemoryResult("surface", d, d, p, "z", 1000, e)
        for d, p, e in [(3, 0.001, 10), (3, 0.002, 40), (5, 0.001, 2), (5, 0.002, 8)]))
    assert sweep.estimate_threshold() is None
    with pytest.raises(QECError, match=r"\(3, 9\)"):
        sweep.estimate_threshold((3, 9))


# --- reproducibility ------------------------------------------------------------------------------------
def test_same_seed_same_result_in_process_and_on_an_executor():
    exp = qec.surface_code_memory(3, 3, 0.01)
    shots = 3 * qec.BATCH_SHOTS + 123
    a = exp.run(shots, seed=9, workers=1)
    c = exp.run(shots, seed=9, executor=ThreadPoolExecutor(3))  # batches finish out of order
    assert a.logical_errors == c.logical_errors and c.shots == shots


@pytest.mark.slow  # two spawned processes start Python, numba and pymatching: ~10 s when loaded
def test_same_seed_same_result_for_one_and_two_workers():
    exp = qec.surface_code_memory(3, 3, 0.01)
    shots = 3 * qec.BATCH_SHOTS + 123
    a = exp.run(shots, seed=9, workers=1)
    b = exp.run(shots, seed=9, workers=2)
    assert a.logical_errors == b.logical_errors and b.shots == shots
    sweep_kw = {"code": "repetition", "distances": (3, 5), "ps": (0.02, 0.05), "shots": 5000, "seed": 4}
    one = qec.threshold_sweep(workers=1, **sweep_kw)
    two = qec.threshold_sweep(workers=2, **sweep_kw)
    assert [r.logical_errors for r in one.rows] == [r.logical_errors for r in two.rows]


def test_sweep_is_the_same_in_process_and_on_a_pool():
    kw = {"code": "repetition", "distances": (3, 5), "ps": (0.02, 0.05), "shots": 5000, "seed": 4}
    one = qec.threshold_sweep(workers=1, **kw)
    pool = qec.threshold_sweep(executor=ThreadPoolExecutor(2), **kw)
    assert [(r.distance, r.p, r.logical_errors) for r in one.rows] == \
           [(r.distance, r.p, r.logical_errors) for r in pool.rows]
    # a one-point sweep is the same computation as MemoryExperiment.run
    single = qec.threshold_sweep("repetition", (5,), (0.05,), shots=5000, seed=4, workers=1)
    assert single.rows[0].logical_errors == qec.repetition_code_memory(5, 5, 0.05).run(5000, seed=4).logical_errors


def test_progress_reports_every_batch():
    seen = []
    qec.repetition_code_memory(3, 3, 0.01).run(2 * qec.BATCH_SHOTS + 5, seed=1,
                                               progress=lambda done, total: seen.append((done, total)))
    total = 2 * qec.BATCH_SHOTS + 5
    assert seen == [(qec.BATCH_SHOTS, total), (2 * qec.BATCH_SHOTS, total), (total, total)]


def test_sample_records_are_the_same_for_any_thread_count_and_layout():
    exp = qec.surface_code_memory(3, 2, 0.02)
    shots = 70_000  # two chunks of the frame sampler
    outs = [StabilizerBackend(num_threads=t).sample_records(exp.program, exp.num_qubits, shots,
                                                            np.random.default_rng(6)) for t in (1, 2)]
    assert np.array_equal(outs[0], outs[1])
    backend = StabilizerBackend()
    b8 = backend.sample_records(exp.program, exp.num_qubits, shots, np.random.default_rng(6), layout="b8")
    assert np.array_equal(np.packbits(outs[0], axis=1, bitorder="little"), b8)
    compiled = compile_program(list(exp.program), exp.num_qubits)
    words = backend.sample_records(compiled, exp.num_qubits, shots, np.random.default_rng(6), layout="ptb64")
    bits = np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")
    assert np.array_equal(bits[:, :shots].T, outs[0]) and not bits[:, shots:].any()
    # the records' histogram is sample()'s counts for the same seed
    counts, _ = backend.sample(exp.program, exp.num_qubits, shots, np.random.default_rng(6))
    keys = np.packbits(outs[0], axis=1, bitorder="little")
    values, mult = np.unique(keys.view(np.dtype((np.void, keys.shape[1]))).ravel(), return_counts=True)
    ours = {int.from_bytes(v.tobytes(), "little"): int(m) for v, m in zip(values, mult)}
    assert ours == counts


def test_sample_records_refuses_programs_that_need_branching():
    c = Circuit(2, 2).h(0).measure(0, 0)
    with c.if_test("c", 1):
        c.h(1)
    c.measure(1, 1)
    with pytest.raises(SimulationError, match="branching"):
        StabilizerBackend().sample_records(flatten(c), 2, 10, np.random.default_rng(1))
    with pytest.raises(SimulationError, match="layout"):
        StabilizerBackend().sample_records(flatten(Circuit(1, 1).measure(0, 0)), 1, 10,
                                           np.random.default_rng(1), layout="rows")


# --- results ---------------------------------------------------------------------------------------------
def test_wilson_interval_matches_scipy():
    for k, n in ((0, 100), (3, 1000), (500, 1000), (1000, 1000)):
        ref = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        lo, hi = qec.wilson_interval(k, n)
        assert lo == pytest.approx(ref.low, abs=1e-12) and hi == pytest.approx(ref.high, abs=1e-12)


def test_result_rates_intervals_and_json_round_trip():
    r = qec.surface_code_memory(3, 3, 0.01).run(4000, seed=12)
    assert r.logical_error_rate == r.logical_errors / r.shots
    lo, hi = r.interval
    assert lo <= r.logical_error_rate <= hi
    # per round: (1 - 2 P_round)^r = 1 - 2 P_L, on the rate and on both interval ends
    assert (1 - 2 * r.logical_error_rate_per_round) ** 3 == pytest.approx(1 - 2 * r.logical_error_rate)
    for a, b in zip(r.interval, r.interval_per_round):
        assert (1 - 2 * b) ** 3 == pytest.approx(1 - 2 * a)
    doc = r.to_dict()
    assert qec.MemoryResult.from_dict(doc) == r
    prov = doc["provenance"]
    assert prov["seed"] == 12 and prov["distance"] == 3 and prov["kizuna_version"]
    assert prov["circuit_sha256"] == qec.surface_code_memory(3, 3, 0.01).circuit.sha256()
    merged = r + r
    assert merged.shots == 8000 and merged.logical_errors == 2 * r.logical_errors
    with pytest.raises(QECError, match="same experiment"):
        r + qec.surface_code_memory(3, 3, 0.02).run(100, seed=1)


def test_sweep_json_round_trip():
    sweep = qec.threshold_sweep("repetition", (3, 5), (0.02, 0.2), shots=2000, seed=1, workers=1)
    doc = sweep.to_dict()
    back = qec.ThresholdSweep.from_dict(doc)
    assert back.rows == sweep.rows and back.estimate_threshold() == sweep.estimate_threshold()
    assert doc["threshold"] == sweep.estimate_threshold()


def test_fresh_seed_is_recorded_and_reproduces():
    exp = qec.repetition_code_memory(3, 3, 0.05)
    first = exp.run(3000)
    assert isinstance(first.seed, int)
    assert exp.run(3000, seed=first.seed).logical_errors == first.logical_errors
    gen = exp.run(3000, seed=np.random.default_rng(1))
    assert gen.seed is None


# --- errors ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call,match", [
    (lambda: qec.surface_code_memory(4, 3, 0.01), r"odd \(got 4\)"),
    (lambda: qec.surface_code_memory(1, 3, 0.01), r">= 2 \(got 1\)"),
    (lambda: qec.repetition_code_memory(1, 3, 0.01), r">= 2 \(got 1\)"),
    (lambda: qec.repetition_code_memory(2.5, 3, 0.01), r"got 2.5"),
    (lambda: qec.repetition_code_memory(True, 3, 0.01), r"got True"),
    (lambda: qec.surface_code_memory(3, 0, 0.01), r"rounds must be an integer >= 1 \(got 0\)"),
    (lambda: qec.surface_code_memory(3, 3, -0.1), r"\[0, 0.5\].*got -0.1"),
    (lambda: qec.surface_code_memory(3, 3, 0.6), r"got 0.6"),
    (lambda: qec.surface_code_memory(3, 3, float("nan")), r"got nan"),
    (lambda: qec.surface_code_memory(3, 3, "0.1"), r"got '0.1'"),
    (lambda: qec.surface_code_memory(3, 3, 0.01, basis="y"), r"'z' or 'x' \(got 'y'\)"),
    (lambda: qec.repetition_code_memory(3, 3, 0.01, basis="x"), r"Z-basis memory only"),
    (lambda: qec.repetition_code_memory(3, 3, 0.01).run(0), r"shots must be a positive integer \(got 0\)"),
    (lambda: qec.repetition_code_memory(3, 3, 0.01).run(10, decoder="bp"), r"got 'bp'"),
    (lambda: qec.repetition_code_memory(3, 3, 0.01).run(10, workers=0), r"got 0"),
    (lambda: qec.repetition_code_memory(3, 3, 0.01).run(10, seed=-1), r"got -1"),
    (lambda: qec.threshold_sweep("toric"), r"got 'toric'"),
    (lambda: qec.threshold_sweep("surface", (), (0.01,)), r"at least one"),
    (lambda: qec.threshold_sweep("surface", (3, 3), (0.01,)), r"must not repeat"),
    (lambda: qec.threshold_sweep("surface", (3, 6), (0.01,)), r"odd \(got 6\)"),
    (lambda: qec.plot_threshold("sweep"), r"ThresholdSweep \(got str\)"),
])
def test_bad_input_raises_a_clear_error(call, match):
    with pytest.raises(QECError, match=match):
        call()


def test_qec_error_is_a_value_error():
    assert issubclass(QECError, ValueError)


# --- plotting --------------------------------------------------------------------------------------------
def test_plot_threshold_writes_a_png(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    sweep = qec.threshold_sweep("repetition", (3, 5), (0.02, 0.1, 0.3), shots=2000, seed=2, workers=1)
    path = tmp_path / "threshold.png"
    ax = qec.plot_threshold(sweep, path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert len(ax.get_legend().get_texts()) >= 2
    assert not list(tmp_path.glob(".threshold.png.*"))  # no temporary file left behind
    from matplotlib.figure import Figure

    own = Figure().subplots()
    assert qec.plot_threshold(sweep, ax=own, per_round=False) is own
