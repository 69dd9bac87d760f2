"""The stabilizer backend: tableau, frame sampling, branching, noise, expectation values.

References (each independent of the backend's code):

* Qiskit's ``Clifford(circuit)`` for the tableau (its destabilizer and stabilizer rows are the
  images of ``X_i`` and ``Z_i``, the rows Aaronson & Gottesman's tableau holds), and Qiskit's
  ``Statevector.expectation_value`` for Pauli observables.
* Exact outcome distributions enumerated here branch by branch with dense numpy algebra: state
  vectors (``np.tensordot``, up to 12 qubits) for ideal circuits with mid-circuit measurement,
  reset and conditions; density matrices (Kraus sums, ``kizuna.core.gates.embed``) for noisy
  ones, readout errors applied to the recorded bit. Samples are compared with Pearson's
  chi-square test (``assert_counts_match``).
* Stim's samples on 100-300 qubit circuits (noise, mid-circuit measurement, reset and
  classically controlled Paulis): the affine space the noiseless outcomes span, and per-bit and
  random-parity frequencies (two-sample z-tests with a Bonferroni bound).
* Analytic values: Bell and GHZ correlations; readout error rates.
* Hypothesis properties: after any sequence of Clifford gates and measurements the tableau
  stays a symplectic basis (stabilizers commute, each destabilizer anticommutes only with its
  own stabilizer) and an immediately repeated measurement is deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kizuna
from kizuna.computing._clifford import (
    clifford_map,
    gate_clifford_map,
    pauli_channel_probabilities,
)
from kizuna.computing.backends.stabilizer import (
    StabilizerBackend,
    compile_program,
    is_clifford,
)
from kizuna.computing.circuit import flatten
from kizuna.computing.noise import ChannelOp, NoiseModel
from kizuna.core import channels as ch
from kizuna.core.bits import bitstring
from kizuna.core.gates import GATES, embed, gate_matrix
from kizuna.errors import BackendError, SimulationError

# --- gates ---------------------------------------------------------------------------------------
#: Table gates that are Clifford at every (or no) angle, or at Clifford angles; angles for the
#: parameterised ones are drawn from multiples of pi/2 and kept only when Qiskit agrees the
#: instance is a Clifford.
CLIFFORD_POOL = [
    "id", "x", "y", "z", "h", "s", "sdg", "sx", "sxdg", "cx", "cy", "cz", "swap", "ecr",
    "rx", "ry", "rz", "p", "u1", "u2", "u3", "u", "crx", "cry", "crz", "cp", "cu1", "cu3", "cu",
    "rxx", "ryy", "rzz", "rzx",
]
FAST_POOL = ["h", "s", "sdg", "sx", "sxdg", "x", "y", "z", "cx", "cy", "cz", "swap"]


def _qiskit_is_clifford(qiskit_gate, name, params) -> bool:
    from qiskit import QuantumCircuit
    from qiskit.exceptions import QiskitError
    from qiskit.quantum_info import Clifford

    k = GATES[name].num_qubits
    qc = QuantumCircuit(k)
    qc.append(qiskit_gate(name, params), list(range(k)))
    try:
        Clifford(qc)
    except QiskitError:
        return False
    return True


def _random_clifford_pair(qiskit_gate, seed, n, num_gates, pool=CLIFFORD_POOL, unitary_prob=0.05):
    """A random Clifford circuit in Kizuna and (gate by gate) in Qiskit."""
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import random_clifford

    rng = np.random.default_rng(seed)
    kc, qc = kizuna.Circuit(n), QuantumCircuit(n)
    names = [g for g in pool if GATES[g].num_qubits <= n]
    added = 0
    while added < num_gates:
        if rng.random() < unitary_prob:
            k = int(rng.integers(1, min(3, n) + 1))
            qs = [int(q) for q in rng.permutation(n)[:k]]
            u = random_clifford(k, seed=int(rng.integers(1 << 30))).to_matrix()
            u = u * np.exp(1j * rng.uniform(0, 2 * math.pi))  # any global phase
            kc.unitary(u, qs)
            qc.unitary(u, qs)
            added += 1
            continue
        name = names[int(rng.integers(len(names)))]
        spec = GATES[name]
        params = [float(rng.integers(-4, 5)) * math.pi / 2 for _ in range(spec.num_params)]
        if params and not _qiskit_is_clifford(qiskit_gate, name, params):
            continue
        qs = [int(q) for q in rng.permutation(n)[: spec.num_qubits]]
        kc.gate(name, qs, params)
        qc.append(qiskit_gate(name, params), qs)
        added += 1
    return kc, qc


def _bit_circuit(n: int, nc: int) -> kizuna.Circuit:
    """``n`` qubits and ``nc`` one-bit classical registers ``b0, b1, ...`` (clbit ``i`` is
    register ``b{i}``, so a condition can read a single bit)."""
    c = kizuna.Circuit(n)
    for i in range(nc):
        c.add_creg(f"b{i}", 1)
    return c


def _conditioned(c: kizuna.Circuit, name, qubits, clbit, value, params=()):
    """``name`` on ``qubits`` only when clbit ``clbit`` (register ``b{clbit}``) reads ``value``."""
    with c.if_test(f"b{clbit}", value):
        c.gate(name, qubits, params)


def _random_dynamic_circuit(seed, n, num_ops, *, pool=FAST_POOL, conditioned_pauli=0.1,
                            conditioned_other=0.0, measure=0.12, reset=0.05):
    """A random Clifford circuit with mid-circuit measurements (into clbits ``n .. 2n-1``),
    resets and single-bit conditions; every qubit is measured at the end into clbit ``q``."""
    rng = np.random.default_rng(seed)
    nc = 2 * n
    c = _bit_circuit(n, nc)
    names = [g for g in pool if GATES[g].num_qubits <= n]
    for _ in range(num_ops):
        r = rng.random()
        q = int(rng.integers(n))
        if r < measure:
            c.measure(q, int(rng.integers(n, nc)))
        elif r < measure + reset:
            c.reset(q)
        elif r < measure + reset + conditioned_pauli + conditioned_other:
            params = ()
            if r < measure + reset + conditioned_pauli:  # Paulis, some only up to a phase
                name = ["x", "y", "z", "rx", "u"][int(rng.integers(5))]
                params = {"rx": (math.pi,), "u": (math.pi, 0.0, math.pi)}.get(name, ())
            else:
                name = [g for g in ("h", "s", "cx", "sx") if GATES[g].num_qubits <= n][int(rng.integers(4 if n > 1 else 3))]
            qs = [int(v) for v in rng.permutation(n)[: GATES[name].num_qubits]]
            _conditioned(c, name, qs, int(rng.integers(n, nc)), int(rng.integers(2)), params)
        else:
            name = names[int(rng.integers(len(names)))]
            qs = [int(v) for v in rng.permutation(n)[: GATES[name].num_qubits]]
            c.gate(name, qs)
    c.measure(list(range(n)), list(range(n)))
    return c


# --- exact references ----------------------------------------------------------------------------
def _apply(psi, u, qubits, n):
    """``u`` (little-endian over ``qubits``) on the flat state ``psi`` of ``n`` qubits."""
    k = len(qubits)
    t = psi.reshape((2,) * n)
    ut = np.asarray(u).reshape((2,) * (2 * k))
    axes = [n - 1 - q for q in qubits]
    res = np.tensordot(ut, t, axes=([2 * k - 1 - j for j in range(k)], axes))
    return np.moveaxis(res, [k - 1 - j for j in range(k)], axes).reshape(-1)


def _holds(ins, bits):
    c = ins.condition
    if c is None:
        return True
    return sum(((bits >> b) & 1) << i for i, b in enumerate(c.clbits)) == c.value


def _exact_statevector_distribution(circuit) -> dict[str, float]:
    """Exact outcome probabilities of an ideal circuit, one dense state vector per branch."""
    n, nc = circuit.num_qubits, circuit.num_clbits
    idx = np.arange(1 << n)
    psi0 = np.zeros(1 << n, complex)
    psi0[0] = 1
    out: dict[int, float] = {}
    stack = [(0, psi0, 0, 1.0)]
    flat = flatten(circuit)
    while stack:
        pc, psi, bits, prob = stack.pop()
        if prob < 1e-14:
            continue
        if pc == len(flat):
            out[bits] = out.get(bits, 0.0) + prob
            continue
        ins = flat[pc]
        if not _holds(ins, bits):
            stack.append((pc + 1, psi, bits, prob))
            continue
        if ins.name in ("measure", "reset"):
            q = ins.qubits[0]
            for o in (0, 1):
                proj = np.where(((idx >> q) & 1) == o, psi, 0)
                p = float(np.vdot(proj, proj).real)
                if p < 1e-14:
                    continue
                new = proj / math.sqrt(p)
                nb = bits
                if ins.name == "measure":
                    nb = (bits & ~(1 << ins.clbits[0])) | (o << ins.clbits[0])
                elif o:
                    new = new[idx ^ (1 << q)]
                stack.append((pc + 1, new, nb, prob * p))
            continue
        stack.append((pc + 1, _apply(psi, ins.to_matrix(), ins.qubits, n), bits, prob))
    return {bitstring(k, nc): v for k, v in out.items()}


def _exact_noisy_distribution(program, n, nc, readout=None) -> dict[str, float]:
    """Exact outcome probabilities of a noisy program: one unnormalised density matrix per
    distinct record (records that agree are merged: the map is linear), channels as Kraus
    sums, readout matrices on each recorded bit."""
    readout = readout or {}
    d = 1 << n
    idx = np.arange(d)
    rho0 = np.zeros((d, d), complex)
    rho0[0, 0] = 1
    states = {0: rho0}
    for item in program:
        new: dict[int, np.ndarray] = {}

        def add(bits, rho, new=new):
            new[bits] = new[bits] + rho if bits in new else rho

        for bits, rho in states.items():
            if not _holds(item, bits):
                add(bits, rho)
            elif isinstance(item, ChannelOp):
                ks = [embed(k, item.qubits, n) for k in item.channel.kraus]
                add(bits, sum(k @ rho @ k.conj().T for k in ks))
            elif item.name in ("measure", "reset"):
                q = item.qubits[0]
                parts = []
                for o in (0, 1):
                    proj = np.diag(((idx >> q) & 1) == o).astype(complex)
                    parts.append(proj @ rho @ proj)
                if item.name == "reset":
                    x = embed(gate_matrix("x"), [q], n)
                    add(bits, parts[0] + x @ parts[1] @ x)
                    continue
                m = readout.get(q, np.eye(2))
                b = item.clbits[0]
                for rec in (0, 1):
                    add((bits & ~(1 << b)) | (rec << b), m[rec, 0] * parts[0] + m[rec, 1] * parts[1])
            else:
                u = embed(item.to_matrix(), item.qubits, n)
                add(bits, u @ rho @ u.conj().T)
        states = new
    return {bitstring(k, nc): float(np.trace(r).real) for k, r in states.items()}


def _counts_str(counts: dict[int, int], nc: int) -> dict[str, int]:
    return {bitstring(k, nc): v for k, v in counts.items()}


def _sample(circuit_or_flat, n, shots, seed, **kw):
    flat = flatten(circuit_or_flat) if isinstance(circuit_or_flat, kizuna.Circuit) else circuit_or_flat
    return StabilizerBackend().sample(flat, n, shots, np.random.default_rng(seed), **kw)


# --- recognising Clifford gates ------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 3])
def test_clifford_maps_reproduce_the_conjugation_of_every_pauli(k):
    from qiskit.quantum_info import Pauli, random_clifford

    for seed in range(6):
        u = random_clifford(k, seed=seed).to_matrix()
        cm = clifford_map(u * np.exp(0.7j))
        assert cm is not None
        for v in range(4**k):
            x = sum(((v >> (2 * j)) & 1) << j for j in range(k))
            z = sum(((v >> (2 * j + 1)) & 1) << j for j in range(k))
            label = "".join("IXZY"[((x >> j) & 1) + 2 * ((z >> j) & 1)] for j in reversed(range(k)))
            out, sign = cm.image(v)
            xo = sum(((out >> (2 * j)) & 1) << j for j in range(k))
            zo = sum(((out >> (2 * j + 1)) & 1) << j for j in range(k))
            lo = "".join("IXZY"[((xo >> j) & 1) + 2 * ((zo >> j) & 1)] for j in reversed(range(k)))
            want = u @ Pauli(label).to_matrix() @ u.conj().T
            np.testing.assert_allclose(want, (1 - 2 * sign) * Pauli(lo).to_matrix(), atol=1e-12)


def test_clifford_recognition_agrees_with_qiskit_on_table_gates(qiskit_gate):
    rng = np.random.default_rng(3)
    for name, spec in GATES.items():
        if spec.num_qubits > 3:
            continue
        for _ in range(6 if spec.num_params else 1):
            params = [float(rng.integers(-4, 5)) * math.pi / 2 for _ in range(spec.num_params)]
            ours = gate_clifford_map(name, tuple(params)) is not None
            assert ours == _qiskit_is_clifford(qiskit_gate, name, params), (name, params)


def test_clifford_angles_are_recognised_to_1e_12_and_no_further():
    assert gate_clifford_map("rz", (math.pi / 2 + 1e-13,)) == gate_clifford_map("s")
    assert gate_clifford_map("rx", (-math.pi + 1e-13,)) == gate_clifford_map("x")
    assert gate_clifford_map("rz", (math.pi / 2 + 1e-8,)) is None
    assert gate_clifford_map("u", (0.0, math.pi / 4, math.pi / 4)) == gate_clifford_map("s")
    assert gate_clifford_map("t") is None


def test_pauli_channels_are_recognised_in_any_kraus_form():
    dep = pauli_channel_probabilities(ch.depolarizing(0.3).kraus)
    assert [(x, z) for x, z, _ in dep] == [(0, 0), (1, 0), (0, 1), (1, 1)]
    np.testing.assert_allclose([p for *_, p in dep], [1 - 0.3 * 3 / 4] + [0.3 / 4] * 3)
    # the same bit flip written with Kraus matrices that are not Pauli matrices:
    # K± = (sqrt(1-p) I ± sqrt(p) X) / sqrt(2)
    p = 0.2
    kp = (math.sqrt(1 - p) * np.eye(2) + math.sqrt(p) * gate_matrix("x")) / math.sqrt(2)
    km = (math.sqrt(1 - p) * np.eye(2) - math.sqrt(p) * gate_matrix("x")) / math.sqrt(2)
    got = pauli_channel_probabilities([kp, km])
    assert [(x, z) for x, z, _ in got] == [(0, 0), (1, 0)]
    np.testing.assert_allclose([q for *_, q in got], [0.8, 0.2])
    two = pauli_channel_probabilities(ch.depolarizing(0.1, 2).kraus)
    assert len(two) == 16 and abs(sum(q for *_, q in two) - 1) < 1e-12
    # phase damping is a phase flip with p = (1 - sqrt(1 - lambda)) / 2 (Nielsen & Chuang 8.3.6)
    pd = pauli_channel_probabilities(ch.phase_damping(0.2).kraus)
    assert [(x, z) for x, z, _ in pd] == [(0, 0), (0, 1)]
    assert pd[1][2] == pytest.approx((1 - math.sqrt(0.8)) / 2, abs=1e-12)
    for bad in (ch.amplitude_damping(0.1), ch.reset_error(0.1),
                ch.Channel.from_unitary(gate_matrix("h"))):
        assert pauli_channel_probabilities(bad.kraus) is None


# --- the tableau against Qiskit ---------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(8))
def test_tableau_rows_equal_qiskit_clifford(qiskit_gate, seed):
    from qiskit.quantum_info import Clifford

    n = 1 + seed % 12 if seed < 4 else 12 - seed % 4
    kc, qc = _random_clifford_pair(qiskit_gate, seed, n, 20 + 8 * n)
    destab, stab = StabilizerBackend().stabilizers(flatten(kc), n)
    cl = Clifford(qc)
    assert stab == list(cl.to_labels(mode="S"))
    assert destab == list(cl.to_labels(mode="D"))


def test_fast_gate_kernels_equal_their_generic_tables():
    # every named gate's hand-written kernel against the generic kernel fed the gate's table
    # (computed from its matrix), on random tableau bits
    from kizuna.computing.backends.stabilizer import NAMED_GATES, _kernels

    k = _kernels()
    rng = np.random.default_rng(0)
    for name, code in NAMED_GATES.items():
        cm = gate_clifford_map(name)
        nq = cm.num_qubits
        x, z, r = (rng.integers(0, 1 << 63, size=s, dtype=np.uint64) for s in ((3, 2), (3, 2), (2,)))
        qs = [2, 0][:nq]
        args = (np.array(qs, np.int64), np.array([0, nq], np.int64), np.array(cm.lin, np.int64),
                np.array(cm.monomials, np.int64), np.array([0, len(cm.monomials)], np.int64))
        xa, za, ra = x.copy(), z.copy(), r.copy()
        xb, zb, rb = x.copy(), z.copy(), r.copy()
        scratch = np.empty(16, np.uint64)
        k._gate(xa, za, ra, True, code, qs[0], qs[-1], 2, *args, scratch)
        k._gate(xb, zb, rb, True, 13, 0, 0, 2, *args, scratch)
        assert np.array_equal(xa, xb) and np.array_equal(za, zb) and np.array_equal(ra, rb), name


# --- exact distributions (state vector / density matrix) ----------------------------------------------
@pytest.mark.parametrize("seed", range(10))
def test_counts_match_exact_distribution_with_measurement_reset_and_conditions(
        seed, assert_counts_match):
    n = 2 + seed  # 2 .. 11 qubits
    c = _random_dynamic_circuit(seed, n, 10 + 4 * n, conditioned_pauli=0.12)
    counts, meta = _sample(c, n, 4000, seed)
    assert meta["method"] == "frames"
    assert_counts_match(_counts_str(counts, c.num_clbits), _exact_statevector_distribution(c), 4000)


@pytest.mark.parametrize("seed", range(4))
def test_conditioned_non_pauli_gates_branch_and_stay_exact(seed, assert_counts_match):
    n = 3 + seed
    c = _random_dynamic_circuit(100 + seed, n, 12 + 3 * n, conditioned_pauli=0.05,
                                conditioned_other=0.15)
    counts, meta = _sample(c, n, 3000, seed)
    assert meta["method"] == "branches"
    assert "conditioned" in meta["branch_reason"]
    assert_counts_match(_counts_str(counts, c.num_clbits), _exact_statevector_distribution(c), 3000)


def test_twelve_qubit_random_clifford_matches_the_state_vector(qiskit_gate, assert_counts_match):
    kc, _ = _random_clifford_pair(qiskit_gate, 42, 12, 150)
    kc.add_creg("c", 12)
    kc.measure(list(range(12)), list(range(12)))
    probs = np.abs(kizuna.statevector(kc)) ** 2
    exact = {bitstring(i, 12): float(p) for i, p in enumerate(probs) if p > 1e-12}
    counts, _ = _sample(kc, 12, 20000, 1)
    assert_counts_match(_counts_str(counts, 12), exact, 20000)


def _noise_model():
    return (NoiseModel()
            .add_all_qubit_error(ch.depolarizing(0.08), ["h", "s", "sx"])
            .add_all_qubit_error(ch.depolarizing(0.1, 2), ["cx", "cz"])
            .add_all_qubit_error(ch.pauli_channel({"X": 0.05, "Y": 0.02}), ["measure"])
            .add_all_qubit_error(ch.bit_flip(0.1), ["reset"])
            # conditioned gates carry conditioned noise
            .add_all_qubit_error(ch.pauli_channel({"X": 0.15, "Z": 0.05}), ["x", "y", "rx", "u"])
            .add_readout_error(ch.readout_error(0.03, 0.12)))


def test_noise_of_a_conditioned_gate_only_hits_shots_whose_condition_holds(assert_counts_match):
    # b0 is a fair coin; x on q1 runs when b0 = 1 and its error flips it back with p = 0.25:
    # P(q1 = 1 | b0 = 0) = 0 and P(q1 = 1 | b0 = 1) = 0.75
    c = _bit_circuit(2, 2).h(0).measure(0, 0)
    _conditioned(c, "x", [1], 0, 1)
    c.measure(1, 1)
    model = NoiseModel().add_all_qubit_error(ch.bit_flip(0.25), ["x"])
    counts, meta = _sample(c, 2, 20000, 8, noise=model)
    assert meta["method"] == "frames"
    assert_counts_match(_counts_str(counts, 2), {"00": 0.5, "01": 0.125, "11": 0.375}, 20000)


@pytest.mark.parametrize("seed", range(5))
def test_pauli_noise_and_readout_errors_match_the_exact_density_matrix(seed, assert_counts_match):
    n = 2 + seed % 4
    pool = ["h", "s", "sx", "cx", "cz", "x", "swap"]
    c = _random_dynamic_circuit(200 + seed, n, 8 + 2 * n, pool=pool, conditioned_pauli=0.3,
                                measure=0.15, reset=0.08)
    model = _noise_model()
    flat = flatten(c)
    counts, meta = StabilizerBackend().sample(flat, n, 5000, np.random.default_rng(seed), noise=model)
    assert meta["method"] == "frames"
    program = model.lower(flat, n)
    readout = {q: model.readout_error(q).matrix for q in range(n)}
    exact = _exact_noisy_distribution(program, n, c.num_clbits, readout)
    assert_counts_match(_counts_str(counts, c.num_clbits), exact, 5000)


def test_noisy_branching_matches_the_exact_density_matrix(assert_counts_match):
    c = _bit_circuit(3, 4).h(0).cx(0, 1).measure(0, 3)
    _conditioned(c, "h", [2], 3, 1)
    c.cx(1, 2).measure([0, 1, 2], [0, 1, 2])
    model = _noise_model()
    flat = flatten(c)
    # the lowered program with an explicit readout map (the form the run loop passes)
    program = model.lower(flat, 3)
    readout = {q: model.readout_error(q) for q in range(3)}
    counts, meta = StabilizerBackend().sample(program, 3, 6000, np.random.default_rng(5), readout=readout)
    assert meta["method"] == "branches" and meta["branches"] > 4
    exact = _exact_noisy_distribution(program, 3, 4, {q: e.matrix for q, e in readout.items()})
    assert_counts_match(_counts_str(counts, 4), exact, 6000)


def test_readout_error_rates_are_the_matrix_entries():
    # |0> read as 1 with p01 = 0.2, |1> read as 0 with p10 = 0.05 (binomial 5-sigma bounds)
    model = NoiseModel().add_readout_error(ch.readout_error(0.2, 0.05))
    c = kizuna.Circuit(2, 2).x(1).measure([0, 1], [0, 1])
    shots = 40000
    counts, _ = _sample(c, 2, shots, 11, noise=model)
    ones0 = sum(v for k, v in counts.items() if k & 1) / shots
    zeros1 = sum(v for k, v in counts.items() if not k & 2) / shots
    assert abs(ones0 - 0.2) < 5 * math.sqrt(0.2 * 0.8 / shots)
    assert abs(zeros1 - 0.05) < 5 * math.sqrt(0.05 * 0.95 / shots)


# --- Stim, on circuits too wide for a state vector --------------------------------------------------
def _stim_pair(seed, n, layers, *, noise: bool):
    """A layered random Clifford circuit with mid-circuit measurements, resets and a
    measurement-controlled Pauli, built in Kizuna and in Stim (which numbers measurements in
    order: Kizuna writes measurement ``m`` into clbit ``m``)."""
    import stim

    rng = np.random.default_rng(seed)
    sc = stim.Circuit()
    ops: list = []
    m = 0
    one_q = {"h": "H", "s": "S", "sdg": "S_DAG", "sx": "SQRT_X", "sxdg": "SQRT_X_DAG", "x": "X",
             "y": "Y", "z": "Z"}
    two_q = {"cx": "CX", "cy": "CY", "cz": "CZ", "swap": "SWAP"}
    p1, p2, pm = 0.01, 0.02, 0.03
    for layer in range(layers):
        for q in range(n):
            g = list(one_q)[int(rng.integers(len(one_q)))]
            ops.append((g, (q,)))
            sc.append(one_q[g], [q])
            if noise:
                ops.append(("dep1", (q,)))
                sc.append("DEPOLARIZE1", [q], p1)
        perm = rng.permutation(n)
        for i in range(0, n - 1, 2):
            g = list(two_q)[int(rng.integers(len(two_q)))]
            a, b = int(perm[i]), int(perm[i + 1])
            ops.append((g, (a, b)))
            sc.append(two_q[g], [a, b])
            if noise:
                ops.append(("dep2", (a, b)))
                sc.append("DEPOLARIZE2", [a, b], p2)
        if layer % 3 == 2:  # measure a few qubits, feed one result forward, reset another
            for q in rng.permutation(n)[:4].tolist():
                ops.append(("measure", (q, m)))
                sc.append("M", [q], pm) if noise else sc.append("M", [q])
                m += 1
            t = int(rng.integers(n))
            ops.append(("cx_rec", (t, m - 1)))
            sc.append("CX", [stim.target_rec(-1), t])
            r = int(rng.integers(n))
            ops.append(("reset", (r,)))
            sc.append("R", [r])
    for q in range(n):
        ops.append(("measure", (q, m)))
        sc.append("M", [q], pm) if noise else sc.append("M", [q])
        m += 1
    kc = _bit_circuit(n, m)
    for name, args in ops:
        if name in one_q or name in two_q:
            kc.gate(name, list(args))
        elif name == "measure":
            kc.measure(args[0], args[1])
        elif name == "reset":
            kc.reset(args[0])
        elif name == "cx_rec":
            _conditioned(kc, "x", [args[0]], args[1], 1)
    program = flatten(kc)
    if noise:  # the same channels in the same places, as a lowered program
        noisy = []
        k1, k2 = ch.depolarizing(p1 * 4 / 3), ch.depolarizing(p2 * 16 / 15, 2)
        it = iter(program)
        for name, args in ops:
            if name == "dep1":
                noisy.append(ChannelOp(k1, args))
            elif name == "dep2":
                noisy.append(ChannelOp(k2, args))
            else:
                noisy.append(next(it))
        program = noisy
    return kc, program, sc, m


def _bits(counts: dict[int, int], m: int) -> np.ndarray:
    """Counts as a (shots, m) 0/1 array."""
    rows = []
    for key, v in counts.items():
        row = np.array([(key >> b) & 1 for b in range(m)], dtype=np.uint8)
        rows.append(np.repeat(row[None, :], v, axis=0))
    return np.concatenate(rows)


def _gf2_rank(rows: np.ndarray) -> int:
    a = rows.copy() % 2
    rank = 0
    for col in range(a.shape[1]):
        piv = np.flatnonzero(a[rank:, col])
        if piv.size == 0:
            continue
        p = rank + piv[0]
        a[[rank, p]] = a[[p, rank]]
        others = np.flatnonzero(a[:, col])
        others = others[others != rank]
        a[others] ^= a[rank]
        rank += 1
        if rank == a.shape[0]:
            break
    return rank


def test_noiseless_outcomes_span_the_same_affine_space_as_stim():
    # Ideal Clifford outcomes are uniform over an affine space; both samplers must reach the
    # same one: every sample of each lies in the span of the other's, and per-bit frequencies
    # agree.
    pytest.importorskip("stim")
    n = 120
    _, program, sc, m = _stim_pair(1, n, 9, noise=False)
    ours = _bits(_sample(program, n, 3000, 3)[0], m)
    theirs = sc.compile_sampler(seed=4).sample(3000).astype(np.uint8)
    base = ours[0]
    r_ours = _gf2_rank(ours ^ base)
    assert r_ours == _gf2_rank(theirs ^ base)  # same dimension through a common point
    assert _gf2_rank(np.concatenate([ours ^ base, theirs ^ base])) == r_ours
    _assert_same_frequencies(ours, theirs, rng=np.random.default_rng(0))


def _assert_same_frequencies(a: np.ndarray, b: np.ndarray, rng, num_parities=60):
    """Two-sample z-tests on every bit's mean and on random parities, Bonferroni at 1e-3."""
    stats = [a.T, b.T]
    cols = [a, b]
    for _ in range(num_parities):
        subset = rng.random(a.shape[1]) < 0.1
        stats[0] = np.vstack([stats[0], cols[0][:, subset].sum(axis=1) % 2])
        stats[1] = np.vstack([stats[1], cols[1][:, subset].sum(axis=1) % 2])
    pa = stats[0].mean(axis=1)
    pb = stats[1].mean(axis=1)
    pooled = (pa * a.shape[0] + pb * b.shape[0]) / (a.shape[0] + b.shape[0])
    se = np.sqrt(pooled * (1 - pooled) * (1 / a.shape[0] + 1 / b.shape[0]))
    z = np.abs(pa - pb) / np.where(se > 0, se, 1)
    from scipy.stats import norm

    bound = norm.isf(1e-3 / (2 * len(z)))
    worst = int(np.argmax(z))
    assert z[worst] < bound, f"statistic {worst}: {pa[worst]:.4f} vs {pb[worst]:.4f} (z = {z[worst]:.2f})"
    assert np.all((se > 0) | (pa == pb))


def test_noisy_samples_agree_with_stim():
    pytest.importorskip("stim")
    n = 100
    _, program, sc, m = _stim_pair(2, n, 9, noise=True)
    model_readout = {q: ch.readout_error(0.03, 0.03) for q in range(n)}
    counts, meta = StabilizerBackend().sample(program, n, 6000, np.random.default_rng(5),
                                              readout=model_readout)
    assert meta["method"] == "frames"
    ours = _bits(counts, m)
    theirs = sc.compile_sampler(seed=6).sample(6000).astype(np.uint8)
    _assert_same_frequencies(ours, theirs, rng=np.random.default_rng(1), num_parities=120)


# --- analytic values, scale ---------------------------------------------------------------------------
def test_ghz_on_1000_qubits_is_all_zeros_or_all_ones():
    n = 1000
    c = kizuna.Circuit(n, n).h(0)
    for q in range(n - 1):
        c.cx(q, q + 1)
    c.measure(list(range(n)), list(range(n)))
    shots = 4000
    counts, meta = _sample(c, n, shots, 2)
    assert set(counts) <= {0, (1 << n) - 1}
    assert abs(counts.get(0, 0) - shots / 2) < 5 * math.sqrt(shots / 4)
    assert meta["reference_random_measurements"] == 1


def test_bell_pair_expectation_values():
    flat = flatten(kizuna.Circuit(2).h(0).cx(0, 1))
    b = StabilizerBackend()
    # XX = +1, YY = -1, ZZ = +1, ZI = 0, -2 * XX = -2
    assert b.expectation(flat, 2, [3], [0], [1.0]) == 1.0
    assert b.expectation(flat, 2, [3], [3], [1.0]) == -1.0
    assert b.expectation(flat, 2, [0], [3], [1.0]) == 1.0
    assert b.expectation(flat, 2, [0], [1], [1.0]) == 0.0
    assert b.expectation(flat, 2, [3, 0], [0, 3], [-2.0, 0.5]) == -1.5


@pytest.mark.parametrize("seed", range(4))
def test_expectation_values_match_qiskit_statevector(qiskit_gate, seed):
    from qiskit.quantum_info import SparsePauliOp, Statevector

    n = 3 + 2 * seed
    kc, qc = _random_clifford_pair(qiskit_gate, 50 + seed, n, 12 * n)
    sv = Statevector(qc)
    rng = np.random.default_rng(seed)
    b = StabilizerBackend()
    from kizuna.core.paulis import Pauli

    # random Paulis plus products of stabilizers (so that +-1 values are common)
    stab = b.stabilizers(flatten(kc), n)[1]
    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(10)]
    for _ in range(6):
        chosen = [s for s in stab if rng.random() < 0.5] or [stab[0]]
        prod = Pauli(chosen[0][1:]) * (1 if chosen[0][0] == "+" else -1)
        for s in chosen[1:]:
            prod = prod @ (Pauli(s[1:]) * (1 if s[0] == "+" else -1))
        labels.append(prod.label)
    for label in labels:
        p = Pauli(label)
        want = float(sv.expectation_value(SparsePauliOp(label)).real)
        got = b.expectation(flatten(kc), n, [p.x_mask], [p.z_mask], [1.0])
        assert got == pytest.approx(want, abs=1e-9), label


def test_expectation_on_1000_qubits_uses_wide_masks():
    n = 1000
    c = kizuna.Circuit(n).h(0)
    for q in range(n - 1):
        c.cx(q, q + 1)
    all_x = (1 << n) - 1
    b = StabilizerBackend()
    assert b.expectation(flatten(c), n, [all_x], [0], [1.0]) == 1.0
    assert b.expectation(flatten(c), n, [0, 0], [0b11 << 500, 1 << 999], [1.0, 1.0]) == 1.0


# --- properties -----------------------------------------------------------------------------------
def _anticommute(a: str, b: str) -> bool:
    count = 0
    for p, q in zip(a[1:], b[1:]):
        if p != "I" and q != "I" and p != q:
            count += 1
    return bool(count % 2)


_ops = st.lists(
    st.tuples(st.sampled_from(FAST_POOL + ["measure", "reset"]), st.integers(0, 4), st.integers(0, 4)),
    min_size=1, max_size=40,
)


@settings(max_examples=40, deadline=None)
@given(_ops)
def test_tableau_stays_a_symplectic_basis_and_repeated_measurement_agrees(ops):
    from kizuna.computing.backends.stabilizer import _kernels

    n = 5
    k = _kernels()
    flat_ops = []
    c = kizuna.Circuit(n, 2)
    for name, a, b in ops:
        if name == "measure":
            c.measure(a, 0)
        elif name == "reset":
            c.reset(a)
        elif GATES[name].num_qubits == 2:
            if a != b:
                c.gate(name, [a, b])
        else:
            c.gate(name, [a])
    flat_ops = flatten(c)
    prog = compile_program(flat_ops, n)
    b = StabilizerBackend()
    tab, _, _, _ = b._reference(prog)
    tx, tz, tr = tab
    wd = tx.shape[1] // 2

    def label(offset, i):
        bits = [((int(tx[q, offset + i // 64]) >> (i % 64)) & 1) + 2 * ((int(tz[q, offset + i // 64]) >> (i % 64)) & 1)
                for q in range(n)]
        return "+" + "".join("IXZY"[v] for v in reversed(bits))

    destab = [label(0, i) for i in range(n)]
    stab = [label(wd, i) for i in range(n)]
    for i in range(n):
        for j in range(n):
            assert not _anticommute(stab[i], stab[j])
            assert _anticommute(destab[i], stab[j]) == (i == j)
    lo, hi, mask = (np.empty(tx.shape[1], np.uint64) for _ in range(3))
    for q in range(n):
        first, _ = k.tab_measure(tx, tz, tr, n, q, 1, lo, hi, mask)
        again, was_random = k.tab_measure(tx, tz, tr, n, q, 0, lo, hi, mask)
        assert (again, was_random) == (first, False)


# --- determinism, options, errors ----------------------------------------------------------------
def test_same_seed_same_counts_for_any_thread_count():
    c = _random_dynamic_circuit(7, 40, 300, conditioned_pauli=0.1)
    flat = flatten(c)
    model = _noise_model()
    runs = [StabilizerBackend(num_threads=t).sample(flat, 40, 5000, np.random.default_rng(9), noise=model)[0]
            for t in (1, 2, 1)]
    assert runs[0] == runs[1] == runs[2]
    other = StabilizerBackend().sample(flat, 40, 5000, np.random.default_rng(10), noise=model)[0]
    assert other != runs[0]


def test_more_shots_than_one_chunk_and_more_than_64_clbits():
    from kizuna.computing.backends.stabilizer import CHUNK_SHOTS

    n = 70
    c = kizuna.Circuit(n, n).h(0)
    for q in range(n - 1):
        c.cx(q, q + 1)
    c.measure(list(range(n)), list(range(n)))
    shots = CHUNK_SHOTS + 1000
    counts, meta = _sample(c, n, shots, 4)
    assert set(counts) == {0, (1 << n) - 1} and sum(counts.values()) == shots
    assert meta["seed_units"] == -(-CHUNK_SHOTS // 1024) + 1
    assert abs(counts[0] - shots / 2) < 5 * math.sqrt(shots / 4)


def test_run_accepts_the_stabilizer_backend_when_registered():
    from kizuna.computing import backends

    if "stabilizer" not in backends.BACKENDS:
        backends.BACKENDS["stabilizer"] = StabilizerBackend  # as the lead will register it
        added = True
    else:
        added = False
    try:
        bell = kizuna.Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
        r = kizuna.run(bell, shots=500, seed=3, backend="stabilizer")
        assert r.backend == "stabilizer" and set(r.counts) == {"00", "11"}
        assert kizuna.run(bell, shots=500, seed=3, backend="stabilizer").counts == r.counts
    finally:
        if added:
            del backends.BACKENDS["stabilizer"]


@pytest.mark.parametrize(
    ("build", "needle"),
    [
        (lambda c: c.t(0), "t on qubits [0]"),
        (lambda c: c.rz(0.3, 1), "rz(0.3) on qubits [1]"),
        (lambda c: c.ccx(0, 1, 2), "ccx on qubits [0, 1, 2]"),
        (lambda c: c.unitary(gate_matrix("t"), [2]), "unitary on qubits [2]"),
        (lambda c: c.crz(math.pi / 2, 0, 1), "crz(π/2) on qubits [0, 1]"),
    ],
)
def test_a_non_clifford_gate_is_an_error_that_names_it(build, needle):
    c = kizuna.Circuit(3, 1).h(0)
    build(c)
    c.measure(0, 0)
    with pytest.raises(SimulationError, match="not a Clifford gate") as info:
        _sample(c, 3, 10, 0)
    assert needle in str(info.value)
    ok, reason = is_clifford(flatten(c))
    assert not ok and needle in reason


def test_a_non_pauli_channel_is_an_error_that_names_it():
    model = NoiseModel().add_all_qubit_error(ch.amplitude_damping(0.1), ["h"])
    c = kizuna.Circuit(1, 1).h(0).measure(0, 0)
    with pytest.raises(SimulationError, match=r"amplitude_damping\(0.1\).*not a Pauli channel"):
        _sample(c, 1, 10, 0, noise=model)
    ok, reason = is_clifford(model.lower(flatten(c), 1))
    assert not ok and "amplitude_damping" in reason


def test_options_and_arguments_are_validated():
    with pytest.raises(BackendError, match="unknown option.*fusion"):
        StabilizerBackend(fusion=True)
    with pytest.raises(BackendError, match="num_threads"):
        StabilizerBackend(num_threads=0)
    with pytest.raises(BackendError, match="precision"):
        StabilizerBackend(precision="half")
    b = StabilizerBackend()
    flat = flatten(kizuna.Circuit(2, 1).h(1).measure(1, 0))
    with pytest.raises(SimulationError, match="shots"):
        b.sample(flat, 2, 0, np.random.default_rng(0))
    with pytest.raises(SimulationError, match="outside range"):
        b.sample(flat, 1, 10, np.random.default_rng(0))
    with pytest.raises(SimulationError, match="mask"):
        b.expectation(flat, 2, [1 << 2], [0], [1.0])
    with pytest.raises(SimulationError, match="one entry per term"):
        b.expectation(flat, 2, [1], [0, 1], [1.0])
    with pytest.raises(SimulationError, match="not real"):
        b.expectation(flatten(kizuna.Circuit(1).h(0)), 1, [1], [0], [1j])
    with pytest.raises(SimulationError, match="depend on measurement outcomes"):
        b.expectation(flatten(kizuna.Circuit(1, 1).measure(0, 0).h(0)), 1, [1], [0], [1.0])
    assert b.options == {"num_threads": None, "kernels": "numba"}


def test_a_tableau_too_large_for_the_memory_limit_is_refused(monkeypatch):
    from kizuna.errors import MemoryLimitError

    monkeypatch.setenv("KIZUNA_MEMORY_LIMIT", "1MiB")  # a 2000-qubit tableau takes ~1 MB
    c = kizuna.Circuit(2000, 1).h(0).measure(0, 0)
    with pytest.raises(MemoryLimitError, match="2000 qubit") as info:
        _sample(c, 2000, 10, 0)
    assert info.value.bytes_needed > info.value.bytes_available == 1 << 20
    with pytest.raises(MemoryLimitError):
        StabilizerBackend().expectation(flatten(c), 2000, [1], [0], [1.0])
    monkeypatch.setenv("KIZUNA_MEMORY_LIMIT", "64MiB")
    counts, _ = _sample(c, 2000, 10, 0)
    assert sum(counts.values()) == 10
