"""Kizuna <-> Stim circuit conversion (``kizuna.interop.to_stim`` / ``from_stim``).

References (independent of Kizuna's code):

* Stim's tableaus (``stim.Tableau.from_named_gate``, ``Tableau.from_unitary_matrix``,
  ``Circuit.to_tableau``) for gate-by-gate equality up to global phase.
* Stim's ``TableauSimulator.state_vector(endian="little")`` for random Clifford circuits
  (``stim.Tableau.random``) against ``kizuna.statevector``.
* Stim's ``compile_sampler`` / ``compile_detector_sampler`` for measurement records and
  detection events, against Kizuna's stabilizer backend: per-bit and pairwise-parity
  frequencies with two-sample z-tests (Bonferroni bound), and Pearson chi-square on small
  outcome spaces.
* Stim's own ``detector_error_model`` of its generated QEC circuits.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency, norm

import kizuna
from kizuna.computing.circuit import flatten
from kizuna.computing.noise import NoiseModel
from kizuna.computing.qec import repetition_code_memory, surface_code_memory
from kizuna.core import channels as ch
from kizuna.core.gates import GATES, embed
from kizuna.errors import InteropError
from kizuna.interop import from_stim, to_stim

stim = pytest.importorskip("stim")


def kizuna_unitary(circuit: kizuna.Circuit) -> np.ndarray:
    n = circuit.num_qubits
    u = np.eye(2**n, dtype=np.complex128)
    for ins in flatten(circuit):
        u = embed(ins.to_matrix(), ins.qubits, n) @ u
    return u


def assert_equal_up_to_phase(a: np.ndarray, b: np.ndarray, atol: float = 1e-6) -> None:
    k = int(np.argmax(np.abs(b)))
    phase = a[k] / b[k]
    assert abs(abs(phase) - 1) < atol
    np.testing.assert_allclose(a, phase * b, atol=atol)


def assert_same_bit_statistics(ours: np.ndarray, theirs: np.ndarray, alpha: float = 1e-4) -> None:
    """Two-sample z-tests, Bonferroni-corrected, on every column's frequency and every pairwise
    XOR's frequency; a column or parity that is constant in one sample must be the same
    constant in the other (stabilizer outcomes are deterministic or fair coins)."""
    assert ours.shape[1] == theirs.shape[1]
    m = ours.shape[1]
    cols = [(i,) for i in range(m)] + [(i, j) for i in range(m) for j in range(i + 1, m)]
    z_max = norm.isf(alpha / (2 * len(cols)))
    for c in cols:
        a = np.bitwise_xor.reduce(ours[:, list(c)], axis=1)
        b = np.bitwise_xor.reduce(theirs[:, list(c)], axis=1)
        pa, pb = a.mean(), b.mean()
        if pa in (0.0, 1.0) or pb in (0.0, 1.0):
            assert pa == pb, f"records {c}: constant {pb} in Stim, frequency {pa} in Kizuna"
            continue
        p = (a.sum() + b.sum()) / (len(a) + len(b))
        z = (pa - pb) / math.sqrt(p * (1 - p) * (1 / len(a) + 1 / len(b)))
        assert abs(z) < z_max, f"records {c}: {pa:.4f} (Kizuna) vs {pb:.4f} (Stim), z = {z:.2f}"


def kizuna_records(circuit: kizuna.Circuit, shots: int, seed: int, noise=None) -> np.ndarray:
    from kizuna.computing.backends.stabilizer import StabilizerBackend

    rec = StabilizerBackend(num_threads=1).sample_records(
        flatten(circuit), circuit.num_qubits, shots, np.random.default_rng(seed), noise=noise)
    out = np.zeros((shots, circuit.num_clbits), dtype=bool)
    out[:, : rec.shape[1]] = rec[:, : circuit.num_clbits]
    return out


# --- gates, one by one ---------------------------------------------------------------------------
STIM_UNITARY = sorted(n for n, g in stim.gate_data().items() if g.is_unitary and not g.takes_pauli_targets and n != "II")


def random_stim_clifford(n: int, num_gates: int, seed: int) -> stim.Circuit:
    """A seeded random circuit over every named Stim unitary gate (``stim.Tableau.random``
    takes no seed)."""
    rng = np.random.default_rng(seed)
    gates = [g for g in STIM_UNITARY if not stim.gate_data(g).is_two_qubit_gate or n >= 2]
    c = stim.Circuit()
    for _ in range(num_gates):
        g = gates[rng.integers(len(gates))]
        k = 2 if stim.gate_data(g).is_two_qubit_gate else 1
        c.append(g, [int(q) for q in rng.permutation(n)[:k]])
    return c


@pytest.mark.parametrize("name", STIM_UNITARY)
def test_every_stim_unitary_gate_from_stim_has_stims_tableau(name):
    k = 2 if stim.gate_data(name).is_two_qubit_gate else 1
    c = stim.Circuit(f"{name} " + " ".join(map(str, range(k))))
    kc = from_stim(c)
    assert kc.num_qubits == k and kc.num_clbits == 0
    theirs = stim.Tableau.from_named_gate(name)
    assert stim.Tableau.from_unitary_matrix(kizuna_unitary(kc), endian="little") == theirs
    assert to_stim(kc).to_tableau() == theirs  # and back


@pytest.mark.parametrize("text", ["SPP X0*Y1*Z2", "SPP_DAG !Y2*X0", "SPP Z1 !X0", "SPP_DAG Y0\nSPP Z0*Z2"])
def test_pauli_product_phasing_from_stim_has_stims_tableau(text):
    c = stim.Circuit(text)
    k = from_stim(c)
    theirs = c.to_tableau()
    ours = stim.Tableau.from_unitary_matrix(kizuna_unitary(k), endian="little")
    assert ours == theirs


CLIFFORD_ANGLES = [k * math.pi / 2 for k in range(-3, 5)]


def clifford_instances():
    """Every table gate at parameters (multiples of pi/2) where it is a Clifford."""
    from kizuna.computing._clifford import gate_clifford_map

    rng = np.random.default_rng(7)
    out = []
    for name, spec in sorted(GATES.items()):
        for _ in range(6 if spec.num_params else 1):
            params = tuple(float(rng.choice(CLIFFORD_ANGLES)) for _ in range(spec.num_params))
            if gate_clifford_map(name, params) is not None and (name, params) not in out:
                out.append((name, params))
    return out


@pytest.mark.parametrize(("name", "params"), clifford_instances())
def test_every_clifford_table_gate_to_stim_has_its_tableau(name, params):
    spec = GATES[name]
    c = kizuna.Circuit(spec.num_qubits).gate(name, list(range(spec.num_qubits))[::-1], params)
    ours = stim.Tableau.from_unitary_matrix(kizuna_unitary(c), endian="little")
    assert to_stim(c).to_tableau() == ours


def test_clifford_unitary_instruction_to_stim():
    u = random_stim_clifford(3, 30, seed=5).to_tableau().to_unitary_matrix(endian="little")
    w, _, vh = np.linalg.svd(u.astype(np.complex128))
    u = w @ vh  # Stim's matrix is complex64: the nearest unitary in double precision
    c = kizuna.Circuit(4).unitary(u, [3, 0, 2])
    sim = stim.TableauSimulator()
    sim.do(to_stim(c))
    sim.set_num_qubits(4)
    assert_equal_up_to_phase(kizuna.statevector(c), sim.state_vector(endian="little"))


# --- random Clifford circuits, both ways ---------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 6))
def test_random_stim_clifford_from_stim_matches_stim_state_vector(seed, n):
    c = random_stim_clifford(n, 8 * n, seed)
    sim = stim.TableauSimulator()
    sim.do(c)
    sim.set_num_qubits(n)
    assert_equal_up_to_phase(kizuna.statevector(from_stim(c)), sim.state_vector(endian="little"))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 6))
def test_random_kizuna_clifford_to_stim_matches_kizuna_state_vector(seed, n):
    rng = np.random.default_rng(seed)
    pool = [(name, p) for name, p in clifford_instances() if GATES[name].num_qubits <= n]
    c = kizuna.Circuit(n)
    for _ in range(25):
        name, params = pool[rng.integers(len(pool))]
        qs = [int(q) for q in rng.permutation(n)[: GATES[name].num_qubits]]
        c.gate(name, qs, params)
    sim = stim.TableauSimulator()
    sim.do(to_stim(c))
    sim.set_num_qubits(n)
    assert_equal_up_to_phase(kizuna.statevector(c), sim.state_vector(endian="little"))


# --- measurement semantics ---------------------------------------------------------------------
MEASURE_ZOO = """
MPP X0*Y1*Z2
MPP !Z0*Z1 X3
MX 1
MY !2
MR 0
RX 1
RY 2
MZZ 1 2
MXX 0 1
MYY !0 2
CX rec[-1] 0
CZ 2 rec[-3]
XCZ 1 rec[-2]
CY rec[-4] 3
MRX !3
H 0 1 2
M 0 1 !2
MPAD 0
"""


def test_measurement_zoo_records_match_stims_sampler():
    c = random_stim_clifford(4, 40, seed=3) + stim.Circuit(MEASURE_ZOO)
    k = from_stim(c)
    assert [r.name for r in k.cregs] == ["rec"] and k.num_clbits == c.num_measurements
    shots = 4000
    ours = kizuna_records(k, shots, seed=1)
    theirs = c.compile_sampler(seed=1).sample(shots)
    assert_same_bit_statistics(ours, theirs)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_random_kizuna_circuits_with_mid_circuit_measurement_reset_and_feedback(seed):
    rng = np.random.default_rng(seed)
    n, m = 4, 8
    pool = [(name, p) for name, p in clifford_instances() if GATES[name].num_qubits <= 2]
    c = kizuna.Circuit(n)
    regs = [c.add_creg(f"r{j}", 1) for j in range(m)]
    written = []
    for j in range(m):
        for _ in range(6):
            name, params = pool[rng.integers(len(pool))]
            c.gate(name, [int(q) for q in rng.permutation(n)[: GATES[name].num_qubits]], params)
        q = int(rng.integers(n))
        c.measure(q, regs[j][0])
        written.append(j)
        if rng.random() < 0.3:
            c.reset(int(rng.integers(n)))
        if rng.random() < 0.5:  # a Pauli fed forward from an earlier record
            src = regs[int(rng.choice(written))]
            with c.if_test(src.name, int(rng.integers(2))):
                c.gate(["x", "y", "z"][rng.integers(3)], [int(rng.integers(n))])
    shots = 4000
    ours = kizuna_records(c, shots, seed=seed % 1000)
    theirs = to_stim(c).compile_sampler(seed=seed % 1000).sample(shots)
    assert_same_bit_statistics(ours, theirs)


def test_small_measurement_circuit_chi_square_against_stim():
    c = stim.Circuit("H 0\nCX 0 1\nMPP X0*X1 Z0*Z1\nMY 0\nMR 1\nCX rec[-2] 1\nM 1 0")
    k = from_stim(c)
    shots = 4000
    counts = kizuna.run(k, shots=shots, seed=4, backend="stabilizer").counts
    ref: dict = {}
    for row in c.compile_sampler(seed=4).sample(shots):
        key = "".join("1" if b else "0" for b in row[::-1])
        ref[key] = ref.get(key, 0) + 1
    keys = sorted(set(counts) | set(ref))
    assert set(counts) == set(ref)
    table = np.array([[counts.get(x, 0) for x in keys], [ref.get(x, 0) for x in keys]])
    assert chi2_contingency(table)[1] > 1e-3


def test_feedback_round_trips_through_kizuna_conditions():
    c = stim.Circuit("H 0\nM 0\nCX rec[-1] 1\nM 1")
    k = from_stim(c)
    cond = [i for i in k if i.condition is not None]
    assert len(cond) == 1 and cond[0].name == "x" and cond[0].condition.clbits == (0,)
    back = to_stim(k)
    assert str(back) == "H 0\nM 0\nCX rec[-1] 1\nM 1"
    # a condition on value 0 becomes X then feedback (X unless the record is 1)
    kc = kizuna.Circuit(2, 1).h(0).measure(0, 0)
    with kc.if_test("c", 0):
        kc.x(1)
    kc.measure(1, 0)
    rows = to_stim(kc).compile_sampler(seed=2).sample(500)
    assert (rows[:, 0] != rows[:, 1]).all()


def test_repeat_blocks_are_unrolled_and_shift_coords_applied():
    c = stim.Circuit("""
        QUBIT_COORDS(1, 2) 0
        R 0 1
        REPEAT 3 {
            H 0
            CX 0 1
            M 1
            DETECTOR(0, 0, 0) rec[-1]
            SHIFT_COORDS(0, 0, 1)
            TICK
        }
        M 0
        OBSERVABLE_INCLUDE(0) rec[-1] rec[-2]
    """)
    k = from_stim(c)
    assert k.count_ops()["measure"] == 4 and k.count_ops()["h"] == 3
    sp = from_stim(c, noise="program")
    assert sp.detectors == ((0,), (1,), (2,))
    assert sp.detector_coords == ((0.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.0, 0.0, 2.0))
    assert sp.observables == ((2, 3),)
    assert sp.qubit_coords == {0: (1.0, 2.0)}


# --- noise ---------------------------------------------------------------------------------
def test_noise_model_becomes_stim_pauli_noise():
    p = 0.03
    model = (NoiseModel()
             .add_all_qubit_error(ch.depolarizing(p), ["h"])
             .add_all_qubit_error(ch.depolarizing(p, 2), ["cx"])
             .add_all_qubit_error(ch.bit_flip(0.02), ["reset"])
             .add_all_qubit_error(ch.pauli_channel({"X": 0.01, "Z": 0.02}), ["s"])
             .add_readout_error(ch.readout_error(0.05, 0.05)))
    c = kizuna.Circuit(3, 3).reset(0).h(0).cx(0, 1).s(1).cx(1, 2).measure([0, 1, 2], [0, 1, 2])
    s = to_stim(c, noise=model)
    # Kizuna's depolarizing(p) is Stim's DEPOLARIZE1(3p/4) / DEPOLARIZE2(15p/16)
    names = [ins.name for ins in s]
    assert names.count("DEPOLARIZE2") == 2 and "X_ERROR" in names and "PAULI_CHANNEL_1" in names
    assert str(s[-1]) == "M(0.05) 0 1 2"
    dep1 = next(ins for ins in s if ins.name == "DEPOLARIZE1")
    dep2 = next(ins for ins in s if ins.name == "DEPOLARIZE2")
    assert dep1.gate_args_copy()[0] == pytest.approx(3 * p / 4, rel=1e-12)
    assert dep2.gate_args_copy()[0] == pytest.approx(15 * p / 16, rel=1e-12)
    shots = 20000
    ours = kizuna_records(c, shots, seed=9, noise=model)
    theirs = s.compile_sampler(seed=9).sample(shots)
    assert_same_bit_statistics(ours, theirs)


def test_correlated_errors_both_ways_match_stim_statistics():
    from kizuna.computing.circuit import Instruction
    from kizuna.computing.noise import ChannelOp

    # Kizuna -> Stim: a three-qubit Pauli channel becomes a CORRELATED_ERROR chain
    wide = ch.pauli_channel({"XXZ": 0.1, "ZYI": 0.2, "IIX": 0.05})  # label[-1] on the first qubit
    program = [Instruction("h", (0,)), Instruction("cx", (0, 1)), Instruction("h", (2,)),
               ChannelOp(wide, (0, 1, 2)), Instruction("h", (2,))]
    program += [Instruction("measure", (q,), clbits=(q,)) for q in range(3)]
    s = to_stim(program)
    assert [ins.name for ins in s].count("ELSE_CORRELATED_ERROR") == 2
    from kizuna.computing.backends.stabilizer import StabilizerBackend

    shots = 20000
    ours = StabilizerBackend(num_threads=1).sample_records(program, 3, shots, np.random.default_rng(3))
    assert_same_bit_statistics(ours, s.compile_sampler(seed=3).sample(shots))
    # Stim -> Kizuna: E(p) P becomes a Pauli channel on its qubits
    c = stim.Circuit("H 1\nE(0.2) X0 Z1 Y2\nH 1\nPAULI_CHANNEL_2(0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, "
                     "0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08) 2 0\nM 0 1 2")
    sp = from_stim(c, noise="program")
    assert_same_bit_statistics(sp.sample(shots, seed=4), c.compile_sampler(seed=4).sample(shots))


def test_non_pauli_noise_and_asymmetric_readout_are_interop_errors():
    c = kizuna.Circuit(1, 1).h(0).measure(0, 0)
    with pytest.raises(InteropError, match=r"amplitude_damping.*not a Pauli channel"):
        to_stim(c, noise=NoiseModel().add_all_qubit_error(ch.amplitude_damping(0.1), ["h"]))
    with pytest.raises(InteropError, match=r"asymmetric readout error \(p01=0.01, p10=0.02\)"):
        to_stim(c, noise=NoiseModel().add_readout_error(ch.readout_error(0.01, 0.02)))


def test_from_stim_noise_modes():
    c = stim.Circuit("H 0\nDEPOLARIZE1(0.1) 0\nM(0.2) 0")
    with pytest.raises(InteropError, match=r"instruction 1 \(DEPOLARIZE1\(0.1\) 0\).*noise='drop'"):
        from_stim(c)
    assert from_stim(c, noise="drop") == from_stim(stim.Circuit("H 0\nM 0"))
    sp = from_stim(c, noise="program")
    assert [type(x).__name__ for x in sp.program] == ["Instruction", "ChannelOp", "ChannelOp", "Instruction"]
    with pytest.raises(InteropError, match="noise must be one of"):
        from_stim(c, noise="keep")
    with pytest.raises(InteropError, match="used afterwards"):
        from_stim(stim.Circuit("M(0.1) 0\nH 0\nM 0"), noise="program")


@pytest.mark.parametrize("code", ["repetition_code:memory", "surface_code:rotated_memory_x",
                                  "surface_code:unrotated_memory_z", "color_code:memory_xyz"])
def test_generated_qec_circuits_round_trip_with_the_same_error_model(code):
    c = stim.Circuit.generated(code, distance=3, rounds=2, after_clifford_depolarization=0.01,
                               after_reset_flip_probability=0.02, before_measure_flip_probability=0.03,
                               before_round_data_depolarization=0.04)
    sp = from_stim(c, noise="program")
    assert len(sp.detectors) == c.num_detectors and len(sp.observables) == c.num_observables

    def errors(dem):
        return sorted(str(i) for i in dem.flattened() if i.type == "error")

    ours, theirs = errors(to_stim(sp).detector_error_model()), errors(c.detector_error_model())
    assert ours == theirs


def test_generated_surface_code_detection_rates_stim_vs_kizuna_sampler():
    c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=3,
                               after_clifford_depolarization=0.01, after_reset_flip_probability=0.01,
                               before_measure_flip_probability=0.01, before_round_data_depolarization=0.01)
    sp = from_stim(c, noise="program")
    shots = 20000
    ev, fl = sp.sample_detectors(shots, seed=1)
    sev, sfl = c.compile_detector_sampler(seed=1).sample(shots, separate_observables=True)
    assert_same_bit_statistics(np.hstack([ev, fl]), np.hstack([sev, sfl]))


def test_kizuna_surface_code_memory_to_stim_has_the_same_detector_statistics():
    exp = surface_code_memory(3, 3, 0.01)
    s = to_stim(exp)
    assert s.num_detectors == exp.num_detectors and s.num_observables == 1
    assert s.num_measurements == exp.num_measurements
    # without noise every detector is deterministic: Stim's error model builds, and is empty
    assert to_stim(surface_code_memory(3, 3, 0.0)).detector_error_model().num_errors == 0
    shots = 20000
    ev, fl = exp.sample(shots, seed=2)
    sev, sfl = s.compile_detector_sampler(seed=2).sample(shots, separate_observables=True)
    assert_same_bit_statistics(np.hstack([ev, fl]), np.hstack([sev, sfl]))


@pytest.mark.parametrize("basis", ["z", "x"])
def test_kizuna_surface_code_to_stim_has_stims_generated_error_probabilities(basis):
    # Kizuna places noise as Stim's generated circuits do (kizuna.computing._qec_codes): the
    # error mechanisms of both detector error models agree, up to the detectors' numbering
    exp = surface_code_memory(3, 3, 0.01, basis=basis)
    c = stim.Circuit.generated(f"surface_code:rotated_memory_{basis}", distance=3, rounds=3,
                               after_clifford_depolarization=0.01, after_reset_flip_probability=0.01,
                               before_measure_flip_probability=0.01, before_round_data_depolarization=0.01)

    def probabilities(dem):
        return sorted(round(i.args_copy()[0], 12) for i in dem.flattened() if i.type == "error")

    ours, theirs = to_stim(exp).detector_error_model(), c.detector_error_model()
    assert ours.num_detectors == theirs.num_detectors and ours.num_errors == theirs.num_errors
    assert probabilities(ours) == probabilities(theirs)


def test_repetition_code_memory_to_stim_coordinates_and_detectors():
    exp = repetition_code_memory(3, 2, 0.0)
    s = to_stim(exp)
    coords = s.get_detector_coordinates()
    assert [tuple(coords[d]) for d in range(exp.num_detectors)] == [tuple(map(float, x)) for x in exp.detector_coords]
    assert s.detector_error_model().num_errors == 0


# --- errors --------------------------------------------------------------------------------
def test_non_clifford_gate_to_stim_names_gate_and_position():
    c = kizuna.Circuit(2).h(0).cx(0, 1).t(1)
    with pytest.raises(InteropError, match=r"instruction 2 \(t on qubits \[1\]\) is not a Clifford gate"):
        to_stim(c)
    with pytest.raises(InteropError, match=r"rx\(0.3\) on qubits \[0\]"):
        to_stim(kizuna.Circuit(1).rx(0.3, 0))
    with pytest.raises(InteropError, match="unbound parameters"):
        to_stim(kizuna.Circuit(1).rx(kizuna.Parameter("a"), 0))


def test_conditions_stim_cannot_express_are_interop_errors():
    c = kizuna.Circuit(2, 2).h(0).measure(0, 0).measure(1, 1)
    with c.if_test("c", 3):
        c.x(1)
    with pytest.raises(InteropError, match="conditioned on 2 clbits"):
        to_stim(c)
    c = kizuna.Circuit(2, 1).h(0).measure(0, 0)
    with c.if_test("c", 1):
        c.h(1)
    with pytest.raises(InteropError, match="conditioned non-Pauli gate"):
        to_stim(c)


@pytest.mark.parametrize(("text", "match"), [
    ("MPAD 1", "MPAD 1"),
    ("HERALDED_ERASE(0.1) 0", "HERALDED_ERASE"),
    ("E(0.1) X0\nELSE_CORRELATED_ERROR(0.2) Z0", "ELSE_CORRELATED_ERROR"),
    ("MPP X0*Z0", "acting twice on one qubit"),
])
def test_stim_instructions_without_kizuna_form_are_interop_errors(text, match):
    with pytest.raises(InteropError, match=match):
        from_stim(stim.Circuit(text), noise="program")


def test_wrong_argument_types():
    with pytest.raises(InteropError, match="takes a stim.Circuit"):
        from_stim("H 0")
    with pytest.raises(InteropError, match="to_stim takes a kizuna Circuit"):
        to_stim(stim.Circuit("H 0"))
