"""Sampling with ``kizuna.run``: distributions, reproducibility, result format, memory guard.

Distributions are checked with Pearson's chi-square test (``scipy.stats.chisquare``,
p > 1e-3) at fixed seeds, so each test is deterministic. The exact distributions come from:
* ``qiskit.quantum_info.Statevector`` of the same circuit built in Qiskit (terminal
  measurements);
* closed forms: teleportation (Bennett et al., PRL 70, 1895 (1993)) gives the teleported
  qubit 1 with probability sin²(θ/2) for ry(θ)|0>, independently of the two Bell-measurement
  bits, which are uniform;
* ``conftest.exact_distribution``: every measurement/reset branch enumerated by hand with dense
  numpy vectors (Qiskit Aer is not available as a peer here).
Counts keys follow Qiskit's format, checked against ``qiskit.result.postprocess.format_counts_memory``
on registers read by ``qiskit.qasm2.loads``.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter

import numpy as np
import pytest
import qiskit.qasm2
from qiskit.quantum_info import Statevector
from qiskit.result.postprocess import format_counts_memory

import kizuna
from kizuna import Circuit, MemoryLimitError, Result
from kizuna.core import _memory
from kizuna.core._kernels import statevector as sv_kernels
from kizuna.errors import BackendError, KizunaError, SimulationError


# --- terminal measurements ----------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(10))
def test_terminal_measurement_counts_follow_qiskit_probabilities(
    seed, assert_counts_match, random_circuit_pair,
):
    n = 2 + seed % 5
    kc, qc = random_circuit_pair(seed + 7000, n, 4 * n)
    kc.add_creg("c", n)
    perm = [int(b) for b in np.random.default_rng(seed).permutation(n)]
    kc.measure(list(range(n)), perm)  # qubit q -> clbit perm[q]
    probs_by_index = Statevector(qc).probabilities()
    exact: dict[str, float] = {}
    for i, p in enumerate(probs_by_index):
        value = sum(((i >> q) & 1) << perm[q] for q in range(n))
        key = format(value, f"0{n}b")
        exact[key] = exact.get(key, 0.0) + float(p)
    shots = 5000
    r = kizuna.run(kc, shots=shots, seed=100 + seed)
    assert_counts_match(r.counts, exact, shots)
    assert r.metadata["branches"] == 1  # terminal measurements: one evolution, then sampling


def test_deterministic_circuit_gives_one_outcome():
    c = Circuit(3, 3).x([0, 2]).measure([0, 1, 2], [0, 1, 2])
    assert kizuna.run(c, shots=100, seed=1).counts == {"101": 100}


# --- mid-circuit measurement, reset, conditionals ----------------------------------------------
def _teleport(theta: float) -> Circuit:
    c = Circuit(3)
    c.add_creg("a", 1)  # Bell-measurement bit of the input qubit (q0)
    c.add_creg("b", 1)  # Bell-measurement bit of Alice's half (q1)
    c.add_creg("r", 1)  # Bob's qubit after correction (q2)
    c.ry(theta, 0)
    c.h(1).cx(1, 2)
    c.cx(0, 1).h(0)
    c.measure(0, 0).measure(1, 1)
    with c.if_test("b", 1):
        c.x(2)
    with c.if_test("a", 1):
        c.z(2)
    return c.measure(2, 2)


@pytest.mark.parametrize("theta", [0.0, 0.7, math.pi / 2, 2.4, math.pi])
def test_teleportation_of_ry_state_gives_sin_squared_and_uniform_bell_bits(
    theta, assert_counts_match, exact_distribution,
):
    p1 = math.sin(theta / 2) ** 2
    exact = {f"{r} {b} {a}": (p1 if r else 1 - p1) / 4 for r in (0, 1) for a in (0, 1) for b in (0, 1)}
    shots = 8000
    res = kizuna.run(_teleport(theta), shots=shots, seed=11)
    assert_counts_match(res.counts, exact, shots)
    # the branch oracle agrees with the closed form
    oracle = exact_distribution(_teleport(theta))
    for k, v in exact.items():
        assert oracle.get(k, 0.0) == pytest.approx(v, abs=1e-12)
    assert res.metadata["branches"] <= 4  # one simulation per Bell outcome, not per shot


def test_reset_after_entangling_leaves_the_partner_mixed(assert_counts_match):
    c = Circuit(2, 2).h(0).cx(0, 1).reset(0).measure([0, 1], [0, 1])
    shots = 4000
    r = kizuna.run(c, shots=shots, seed=5)
    assert_counts_match(r.counts, {"00": 0.5, "10": 0.5}, shots)
    # copy the (classically correlated) partner back: q0 equals q1 after reset + cx
    c2 = Circuit(2, 2).h(0).cx(0, 1).reset(0).cx(1, 0).measure([0, 1], [0, 1])
    r2 = kizuna.run(c2, shots=shots, seed=6)
    assert_counts_match(r2.counts, {"00": 0.5, "11": 0.5}, shots)


def test_reset_of_excited_qubit_gives_zero():
    c = Circuit(1, 1).x(0).reset(0).measure(0, 0)
    assert kizuna.run(c, shots=200, seed=0).counts == {"0": 200}


@pytest.mark.parametrize("theta", [math.pi / 2, 1.1])
def test_measurement_feeding_if_flips_another_qubit(theta, assert_counts_match):
    c = Circuit(2)
    c.add_creg("m", 1)
    c.add_creg("t", 1)
    c.ry(theta, 0).measure(0, 0)
    with c.if_test("m", 1):
        c.x(1)
    c.measure(1, 1)
    p1 = math.sin(theta / 2) ** 2
    shots = 4000
    r = kizuna.run(c, shots=shots, seed=3)
    assert_counts_match(r.counts, {"0 0": 1 - p1, "1 1": p1}, shots)


def test_condition_on_a_multi_bit_register_value(assert_counts_match):
    c = Circuit(3)
    c.add_creg("m", 2)
    c.add_creg("f", 1)
    c.h([0, 1]).measure([0, 1], [0, 1])
    with c.if_test("m", 2):  # m[1]=1, m[0]=0
        c.x(2)
    c.measure(2, 2)
    shots = 4000
    exact = {"0 00": 0.25, "0 01": 0.25, "1 10": 0.25, "0 11": 0.25}
    assert_counts_match(kizuna.run(c, shots=shots, seed=8).counts, exact, shots)


@pytest.mark.parametrize("between", ["nothing", "z", "barrier"])
def test_repeated_measurement_of_a_qubit_gives_the_same_bit(between, assert_counts_match):
    c = Circuit(1, 2).ry(1.1, 0).measure(0, 0)
    if between == "z":
        c.z(0)  # commutes with the measurement; forces the branching path
    elif between == "barrier":
        c.barrier()
    c.measure(0, 1)
    p1 = math.sin(0.55) ** 2
    shots = 4000
    r = kizuna.run(c, shots=shots, seed=21)
    assert_counts_match(r.counts, {"00": 1 - p1, "11": p1}, shots)


def test_measuring_into_the_same_clbit_twice_keeps_the_last(assert_counts_match):
    last_one = Circuit(2, 1).x(1).measure(0, 0).measure(1, 0)
    assert kizuna.run(last_one, shots=100, seed=1).counts == {"1": 100}
    last_zero = Circuit(2, 1).x(1).measure(1, 0).measure(0, 0)
    assert kizuna.run(last_zero, shots=100, seed=1).counts == {"0": 100}
    # on the branching path: the first write is random, the second is always 1
    mixed = Circuit(2, 2).h(0).measure(0, 0).h(0).x(1).measure(1, 0).measure(0, 1)
    shots = 2000
    assert_counts_match(kizuna.run(mixed, shots=shots, seed=4).counts, {"01": 0.5, "11": 0.5}, shots)


def _random_dynamic_circuit(seed: int, random_dynamic_circuit) -> Circuit:
    """Random gates with mid-circuit measurements, resets and conditionals on 2-4 qubits."""
    rng = np.random.default_rng(seed)
    return random_dynamic_circuit(rng, int(rng.integers(2, 5)), 20, p_measure=0.2, p_reset=0.1)


@pytest.mark.parametrize("seed", range(20))
def test_random_dynamic_circuits_follow_the_enumerated_branch_distribution(
    seed, assert_counts_match, exact_distribution, random_dynamic_circuit,
):
    c = _random_dynamic_circuit(seed, random_dynamic_circuit)
    exact = exact_distribution(c)
    assert sum(exact.values()) == pytest.approx(1.0, abs=1e-12)
    shots = 4000
    assert_counts_match(kizuna.run(c, shots=shots, seed=seed).counts, exact, shots)


@pytest.mark.parametrize("kind", ["terminal", "dynamic"])
def test_chi_square_p_values_are_uniform_over_many_seeds(
    kind, assert_counts_match, exact_distribution, random_circuit_pair, random_dynamic_circuit,
):
    """A sampler with a small bias passes one chi-square test but not a hundred: the p-values
    of independent seeds must look uniform (Kolmogorov-Smirnov, p > 1e-3)."""
    from scipy.stats import kstest

    if kind == "terminal":
        c, _ = random_circuit_pair(7008, 5, 20)
        c.add_creg("c", 5)
        c.measure(range(5), range(5))
    else:
        c = _random_dynamic_circuit(3, random_dynamic_circuit)
    exact = exact_distribution(c)
    pvalues = [assert_counts_match(kizuna.run(c, shots=2000, seed=s).counts, exact, 2000, p_min=0.0)
               for s in range(150)]
    assert kstest(pvalues, "uniform").pvalue > 1e-3


# --- reproducibility and memory -----------------------------------------------------------------
def _wide():
    return Circuit(5, 5).h(range(5)).cx(0, 1).measure(range(5), range(5))


def test_same_seed_gives_identical_counts_and_memory():
    a = kizuna.run(_wide(), shots=500, seed=42, memory=True)
    b = kizuna.run(_wide(), shots=500, seed=42, memory=True)
    assert a.counts == b.counts and a.memory == b.memory
    dyn = _teleport(1.0)
    first = kizuna.run(dyn, 300, seed=9, memory=True)
    assert first.memory == kizuna.run(dyn, 300, seed=9, memory=True).memory


def test_different_seeds_give_different_samples():
    a = kizuna.run(_wide(), shots=500, seed=1, memory=True)
    b = kizuna.run(_wide(), shots=500, seed=2, memory=True)
    assert a.memory != b.memory and a.counts != b.counts


def test_memory_lists_every_shot_consistently_with_counts():
    for c in (_wide(), _teleport(0.9)):
        r = kizuna.run(c, shots=777, seed=3, memory=True)
        assert len(r.memory) == 777 and r.get_memory() == list(r.memory)
        assert Counter(r.memory) == Counter(r.counts)
    with pytest.raises(KizunaError, match="memory=True"):
        kizuna.run(_wide(), shots=5, seed=1).get_memory()


def test_memory_is_shuffled_not_grouped_by_outcome():
    r = kizuna.run(Circuit(1, 1).h(0).measure(0, 0), shots=200, seed=0, memory=True)
    runs = sum(1 for x, y in zip(r.memory[:-1], r.memory[1:], strict=True) if x != y)
    assert runs > 50  # a sorted list would change value once


def test_seed_none_records_a_seed_that_reproduces_the_run():
    first = kizuna.run(_teleport(1.3), shots=400, memory=True)
    assert isinstance(first.seed, int) and first.provenance["seed"] == first.seed
    again = kizuna.run(_teleport(1.3), shots=400, memory=True, seed=first.seed)
    assert again.counts == first.counts and again.memory == first.memory


def test_generator_seed_is_accepted_and_recorded_as_none():
    r = kizuna.run(_wide(), shots=10, seed=np.random.default_rng(0))
    assert r.seed is None and sum(r.counts.values()) == 10


# --- result format ------------------------------------------------------------------------------
QASM_REGISTERS = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[5];
creg a[2];
creg b[1];
creg d[2];
x q[0];
x q[3];
x q[4];
measure q[0] -> a[0];
measure q[1] -> a[1];
measure q[2] -> b[0];
measure q[3] -> d[1];
measure q[4] -> d[0];
"""


def test_multiple_registers_print_space_separated_last_register_leftmost_like_qiskit():
    qc = qiskit.qasm2.loads(QASM_REGISTERS)
    header = {"creg_sizes": [[r.name, r.size] for r in qc.cregs], "memory_slots": qc.num_clbits}
    # the outcome, read from Qiskit's circuit: every measured qubit is |1> iff it got an x
    flipped = {qc.find_bit(i.qubits[0]).index for i in qc.data if i.operation.name == "x"}
    value = 0
    for ins in qc.data:
        if ins.operation.name == "measure" and qc.find_bit(ins.qubits[0]).index in flipped:
            value |= 1 << qc.find_bit(ins.clbits[0]).index
    expected = format_counts_memory(hex(value), header)
    # the same circuit in Kizuna
    c = Circuit(5)
    for name, size in header["creg_sizes"]:
        c.add_creg(name, size)
    c.x([0, 3, 4]).measure([0, 1, 2, 3, 4], [0, 1, 2, 4, 3])
    r = kizuna.run(c, shots=10, seed=0)
    assert r.counts == {expected: 10}
    assert expected == "11 0 01"
    assert r.registers == (("a", 2), ("b", 1), ("d", 2))


def test_register_keys_for_every_outcome_match_qiskit_formatter():
    c = Circuit(3)
    c.add_creg("x", 1)
    c.add_creg("y", 2)
    c.h(range(3)).measure([0, 1, 2], [0, 1, 2])
    header = {"creg_sizes": [["x", 1], ["y", 2]], "memory_slots": 3}
    r = kizuna.run(c, shots=2000, seed=1)
    assert set(r.counts) == {format_counts_memory(hex(v), header) for v in range(8)}


def test_provenance_names_version_backend_seed_and_circuit_hash():
    c = _wide()
    r = kizuna.run(c, shots=64, seed=5)
    p = r.provenance
    assert p["kizuna_version"] == kizuna.__version__
    assert p["backend"] == r.backend == "statevector"
    assert p["seed"] == 5 and p["shots"] == 64
    assert p["circuit_sha256"] == c.sha256() and len(p["circuit_sha256"]) == 64
    assert p["options"]["memory"] is False and p["options"]["backend"] == "auto"
    assert p["options"]["precision"] == "double" and p["options"]["kernels"] in ("numba", "numpy")


def test_result_round_trips_through_json():
    for r in (kizuna.run(_teleport(0.4), shots=100, seed=1, memory=True),
              kizuna.run(_wide(), shots=50, seed=None),
              kizuna.run(Circuit(1).h(0), shots=3, seed=2)):
        text = json.dumps(r.to_dict())
        back = Result.from_dict(json.loads(text))
        assert back == r
        assert back.counts == r.counts and back.memory == r.memory


def test_result_from_a_bad_dictionary_is_refused():
    with pytest.raises(KizunaError, match="not a Kizuna result"):
        Result.from_dict({"counts": {}})


def test_result_checks_counts_and_memory_add_up():
    with pytest.raises(KizunaError, match="add up to 3, not shots=4"):
        Result(counts={"0": 3}, shots=4, memory=None, num_qubits=1, num_clbits=1,
               registers=(("c", 1),), backend="statevector", seed=0)
    with pytest.raises(KizunaError, match="memory holds 1 shots"):
        Result(counts={"0": 2}, shots=2, memory=("0",), num_qubits=1, num_clbits=1,
               registers=(("c", 1),), backend="statevector", seed=0)


def test_result_helpers():
    r = kizuna.run(Circuit(2, 2).x(0).h(1).measure([0, 1], [0, 1]), shots=1000, seed=3)
    assert sum(r.probabilities().values()) == pytest.approx(1.0)
    assert r.most_frequent() in {"01", "11"}
    assert r.get_counts() == r.counts and r.get_counts() is not r.counts
    assert list(r.counts) == sorted(r.counts)


def test_circuit_without_classical_bits_runs_with_empty_counts():
    r = kizuna.run(Circuit(2).h(0), shots=5, seed=0, memory=True)
    assert r.counts == {} and r.memory == ("",) * 5
    with pytest.raises(KizunaError, match="measured nothing"):
        r.most_frequent()


@pytest.mark.parametrize("shots", [0, -3, 2.5, True, "10"])
def test_bad_shot_counts_are_refused(shots):
    with pytest.raises(SimulationError, match="shots must be a positive integer"):
        kizuna.run(_wide(), shots=shots, seed=0)


def test_unknown_backend_is_refused_listing_the_choices():
    with pytest.raises(BackendError, match="unknown backend 'gpu'.*auto, statevector"):
        kizuna.run(_wide(), shots=5, seed=0, backend="gpu")
    explicit = kizuna.run(_wide(), shots=5, seed=0, backend="statevector")
    assert explicit.provenance["backend_reason"] == "requested"


# --- memory guard ----------------------------------------------------------------------------------
def _forbid_allocation(monkeypatch):
    def boom(n):
        raise AssertionError(f"allocated a {n}-qubit state before checking memory")

    monkeypatch.setattr(sv_kernels, "zero_state", boom)


@pytest.mark.parametrize("entry", ["statevector", "run"])
def test_memory_guard_refuses_a_20_qubit_state_under_a_1mib_limit_before_allocating(monkeypatch, entry):
    monkeypatch.setenv("KIZUNA_MEMORY_LIMIT", "1MiB")
    _forbid_allocation(monkeypatch)
    # (backend="statevector": auto would take the MPS backend, which needs far less memory)
    c = Circuit(20, 20).h(range(20)).t(0).measure(range(20), range(20))
    start = time.perf_counter()
    with pytest.raises(MemoryLimitError) as info:
        if entry == "statevector":
            kizuna.statevector(c)
        else:
            kizuna.run(c, shots=10, seed=0, backend="statevector")
    assert time.perf_counter() - start < 2.0
    err = info.value
    assert err.num_qubits == 20 and err.bytes_available == 2**20 and err.bytes_needed >= 16 * 2**20
    msg = str(err)
    assert "20-qubit" in msg
    assert _memory.format_bytes(err.bytes_needed) in msg and "1.0 MiB" in msg


@pytest.mark.parametrize("entry", ["statevector", "run"])
def test_memory_guard_refuses_a_40_qubit_state_without_a_limit_set(monkeypatch, entry):
    monkeypatch.delenv("KIZUNA_MEMORY_LIMIT", raising=False)
    _forbid_allocation(monkeypatch)
    c = Circuit(40, 1).h(0).t(0).measure(0, 0)  # backend="statevector": auto would take MPS
    with pytest.raises(MemoryLimitError, match="40-qubit.*TiB") as info:
        if entry == "statevector":
            kizuna.statevector(c)
        else:
            kizuna.run(c, shots=10, seed=0, backend="statevector")
    assert info.value.bytes_needed > info.value.bytes_available


def test_auto_runs_a_large_non_clifford_circuit_on_mps_with_a_reason():
    c = Circuit(40, 40).h(range(40)).t(range(40))
    for q in range(39):
        c.cx(q, q + 1)
    r = kizuna.run(c.measure(range(40), range(40)), shots=50, seed=3)
    assert r.backend == "mps" and "state vector needs" in r.provenance["backend_reason"]
    assert r.metadata["truncated"] is False


def test_auto_runs_a_large_clifford_circuit_on_the_stabilizer_backend():
    c = Circuit(40, 40).h(0)
    for q in range(39):
        c.cx(q, q + 1)
    r = kizuna.run(c.measure(range(40), range(40)), shots=200, seed=3)
    assert r.backend == "stabilizer" and "Clifford" in r.provenance["backend_reason"]
    assert set(r.counts) == {"0" * 40, "1" * 40}


def test_memory_guard_lets_small_states_through_under_the_limit(monkeypatch):
    monkeypatch.setenv("KIZUNA_MEMORY_LIMIT", "1MiB")
    assert kizuna.run(Circuit(10, 1).x(9).measure(9, 0), shots=5, seed=0).counts == {"1": 5}


def _ten_splits(n):
    c = Circuit(n, 10)
    for k in range(10):
        c.h(0).measure(0, k)  # each measurement splits the shots; branches stay pending
    return c.h(0).measure(0, 0)


def test_memory_guard_counts_the_pending_branches_of_mid_circuit_measurements(monkeypatch):
    """14 qubits = 256 KiB per state; ten splitting measurements keep up to ten copies pending."""
    monkeypatch.setenv("KIZUNA_MEMORY_LIMIT", "1536KiB")  # the up-front check (4 copies) passes
    with pytest.raises(MemoryLimitError, match="14-qubit state vector with .* pending measurement"):
        kizuna.run(_ten_splits(14), shots=100_000, seed=1)


def test_memory_guard_budget_bounds_the_memory_really_used(monkeypatch):
    import tracemalloc

    monkeypatch.setenv("KIZUNA_MEMORY_LIMIT", "4MiB")  # 14 states of 256 KiB = 3.5 MiB at most
    tracemalloc.start()
    try:
        r = kizuna.run(_ten_splits(14), shots=20_000, seed=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.metadata["branches"] == 1024
    assert peak <= 4 * 2**20, f"used {peak / 2**20:.2f} MiB under a 4 MiB limit"


def test_run_refuses_a_non_circuit():
    with pytest.raises(SimulationError, match="expected a kizuna.Circuit"):
        kizuna.run("OPENQASM 2.0;", shots=1)
