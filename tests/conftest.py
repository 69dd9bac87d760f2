"""Shared fixtures for the independent-reference suite.

The peer oracle is Qiskit (``qiskit.circuit.library`` gate classes, ``QuantumCircuit.to_gate``,
``qiskit.quantum_info.Statevector``/``Operator``): every Kizuna circuit the fixtures build is
built a second time, gate by gate, as a Qiskit circuit, without going through any Kizuna code
(the Qiskit side maps names to Qiskit's own classes; composite gates use Qiskit's own
``to_gate`` with Qiskit ``Parameter`` objects and Qiskit's expression arithmetic).

Fixtures:

* ``qiskit_gate(name, params)`` -> the Qiskit gate object for a Kizuna table gate.
* ``random_circuit_pair(seed, num_qubits, num_gates, ...)`` -> ``(kizuna_circuit, qiskit_circuit)``
  drawing from the whole gate table, plus random ``unitary`` blocks (scipy's Haar
  ``unitary_group``), barriers and (optionally) measurements.
* ``composite_circuit_pair(seed)`` -> ``(kizuna_circuit, qiskit_circuit, values)``: nested
  composite gates whose bodies use parameter expressions (sin, cos, sqrt, ^, exp, ln, /), in a
  circuit whose own parameters are still free; bind with ``values`` (a ``{name: float}``).
* ``exact_distribution(circuit)`` -> ``{counts key: probability}`` by enumerating every
  measurement/reset branch with dense numpy vectors (the hand-written branch oracle for
  mid-circuit measurement, reset and conditionals).
* ``assert_counts_match(counts, probabilities, shots)``: Pearson chi-square test
  (``scipy.stats.chisquare``), p > 1e-3, with zero-probability outcomes forbidden outright.
* ``random_params(rng, name)``, ``bind_qiskit(qc, values)``, ``qiskit_names`` (Kizuna name ->
  Qiskit instruction name where they differ).

Test files take these as fixtures (module-level constants only come from Kizuna itself).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import qiskit.qasm2
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter as QParameter
from qiskit.circuit import library as qlib
from scipy.stats import chisquare, unitary_group

from kizuna import Circuit, Parameter
from kizuna.computing import parameters as kp
from kizuna.core.bits import registers_bitstring
from kizuna.core.gates import GATES, embed, gate_matrix

# --- the Qiskit side of the gate table ---------------------------------------------------------
_LEGACY = {ci.name: ci for ci in qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS}

#: Kizuna table name -> Qiskit gate class (u0 is Qiskit's legacy qelib1 ``u0``, which only
#: accepts integer "delay lengths"; the fixtures draw integer angles for it).
QISKIT_GATE_CLASSES: dict[str, Callable] = {
    "id": qlib.IGate,
    "x": qlib.XGate,
    "y": qlib.YGate,
    "z": qlib.ZGate,
    "h": qlib.HGate,
    "s": qlib.SGate,
    "sdg": qlib.SdgGate,
    "t": qlib.TGate,
    "tdg": qlib.TdgGate,
    "sx": qlib.SXGate,
    "sxdg": qlib.SXdgGate,
    "rx": qlib.RXGate,
    "ry": qlib.RYGate,
    "rz": qlib.RZGate,
    "p": qlib.PhaseGate,
    "u1": qlib.U1Gate,
    "u0": _LEGACY["u0"].constructor,
    "u2": qlib.U2Gate,
    "u3": qlib.U3Gate,
    "u": qlib.UGate,
    "cx": qlib.CXGate,
    "cy": qlib.CYGate,
    "cz": qlib.CZGate,
    "ch": qlib.CHGate,
    "swap": qlib.SwapGate,
    "csx": qlib.CSXGate,
    "crx": qlib.CRXGate,
    "cry": qlib.CRYGate,
    "crz": qlib.CRZGate,
    "cp": qlib.CPhaseGate,
    "cu1": qlib.CU1Gate,
    "cu3": qlib.CU3Gate,
    "cu": qlib.CUGate,
    "rxx": qlib.RXXGate,
    "ryy": qlib.RYYGate,
    "rzz": qlib.RZZGate,
    "rzx": qlib.RZXGate,
    "ecr": qlib.ECRGate,
    "ccx": qlib.CCXGate,
    "cswap": qlib.CSwapGate,
    "rccx": qlib.RCCXGate,
    "c3x": qlib.C3XGate,
    "rc3x": qlib.RC3XGate,
    "c3sqrtx": qlib.C3SXGate,
    "c4x": qlib.C4XGate,
}

#: Where Qiskit's instruction name differs from the OpenQASM 2 name Kizuna uses.
QISKIT_NAMES = {"c3x": "mcx", "c4x": "mcx", "rc3x": "rcccx", "c3sqrtx": "c3sx"}

SPECIAL_ANGLES = (0.0, math.pi, -math.pi, math.pi / 2, -math.pi / 4, 2 * math.pi)


def qiskit_gate(name: str, params=()):
    """The Qiskit gate object for the Kizuna table gate ``name`` at ``params``."""
    if name == "u0":
        return QISKIT_GATE_CLASSES[name](*(int(p) for p in params))
    return QISKIT_GATE_CLASSES[name](*params)


def random_params(rng: np.random.Generator, name: str) -> list[float]:
    """Angles for gate ``name``: sometimes special values, mostly uniform in (-2π, 2π)."""
    spec = GATES[name]
    if name == "u0":  # Qiskit's legacy u0 takes integer idle lengths only
        return [float(rng.integers(0, 4)) for _ in range(spec.num_params)]
    out = []
    for _ in range(spec.num_params):
        if rng.random() < 0.2:
            out.append(float(SPECIAL_ANGLES[rng.integers(len(SPECIAL_ANGLES))]))
        else:
            out.append(float(rng.uniform(-2 * math.pi, 2 * math.pi)))
    return out


def build_random_pair(
    seed: int,
    num_qubits: int,
    num_gates: int,
    *,
    unitary_prob: float = 0.08,
    barrier_prob: float = 0.05,
    measure_prob: float = 0.0,
    gate_names=None,
) -> tuple[Circuit, QuantumCircuit]:
    """A seeded random circuit built twice: in Kizuna and (independently) in Qiskit.

    Gates are drawn uniformly from ``gate_names`` (default: the whole table, restricted to
    gates that fit on ``num_qubits``) on random, randomly ordered qubits. With
    ``measure_prob > 0`` the circuits get ``num_qubits`` clbits and random measurements.
    """
    rng = np.random.default_rng(seed)
    names = [g for g in (gate_names or GATES) if GATES[g].num_qubits <= num_qubits]
    n = num_qubits
    nc = n if measure_prob > 0 else 0
    kc = Circuit(n, nc, name=f"random{seed}")
    qc = QuantumCircuit(n, nc) if nc else QuantumCircuit(n)
    for _ in range(num_gates):
        r = rng.random()
        if r < unitary_prob:
            k = int(rng.integers(1, min(3, n) + 1))
            qs = [int(q) for q in rng.permutation(n)[:k]]
            u = unitary_group.rvs(1 << k, random_state=rng) if k > 1 else _haar_1q(rng)
            kc.unitary(u, qs)
            qc.unitary(u, qs)
        elif r < unitary_prob + barrier_prob:
            k = int(rng.integers(1, n + 1))
            qs = sorted(int(q) for q in rng.permutation(n)[:k])
            kc.barrier(qs)
            qc.barrier(qs)
        elif r < unitary_prob + barrier_prob + measure_prob:
            q, b = int(rng.integers(n)), int(rng.integers(nc))
            kc.measure(q, b)
            qc.measure(q, b)
        else:
            name = names[int(rng.integers(len(names)))]
            spec = GATES[name]
            qs = [int(q) for q in rng.permutation(n)[: spec.num_qubits]]
            ps = random_params(rng, name)
            kc.gate(name, qs, ps)
            qc.append(qiskit_gate(name, ps), qs)
    return kc, qc


def _haar_1q(rng):
    # scipy's unitary_group needs dim >= 2; for one qubit draw a 2x2 Haar unitary the same way
    return unitary_group.rvs(2, random_state=rng)


# --- composite gates with parameter expressions ----------------------------------------------
def random_expression_pair(rng: np.random.Generator, leaves: list[tuple], depth: int = 2):
    k, q = _random_expression_pair(rng, leaves, depth)
    # Qiskit folds e.g. ``c - c`` to a symbolic zero that still lists ``c`` as a parameter and
    # then refuses to bind it into a gate; hand it the number instead (Kizuna keeps the tree).
    if not isinstance(q, float):
        try:
            q = float(q)
        except TypeError:
            pass
    return k, q


def _random_expression_pair(rng: np.random.Generator, leaves: list[tuple], depth: int = 2):
    """A random expression built identically in Kizuna and in Qiskit.

    ``leaves`` holds ``(kizuna_symbol, qiskit_symbol)`` pairs. Every operation keeps the value
    finite and real for all real leaf values: sqrt and ln only see ``x^2 + c`` with ``c > 0``,
    division is by ``x^2 + c``, exp by a bounded argument (``sin``).
    """
    if depth == 0 or rng.random() < 0.25:
        if rng.random() < 0.8:
            return leaves[int(rng.integers(len(leaves)))]
        # never 0: Qiskit folds ``0*b`` to a symbolic zero that still lists ``b`` and then
        # refuses to bind it into a gate
        v = float(np.round(rng.uniform(0.1, 2), 3) * rng.choice([-1, 1]))
        return v, v
    a, qa = _random_expression_pair(rng, leaves, depth - 1)
    b, qb = _random_expression_pair(rng, leaves, depth - 1)
    op = int(rng.integers(11))
    if op == 0:
        return a + b, qa + qb
    if op == 1:
        return a - b, qa - qb
    if op == 2:
        return a * b, qa * qb
    if op == 3:  # a / (b^2 + 1)
        return a / (b**2 + 1), qa / (qb**2 + 1)
    if op == 4:
        return kp.sin(a), _qfun(qa, "sin")
    if op == 5:
        return kp.cos(a), _qfun(qa, "cos")
    if op == 6:  # sqrt(a^2 + 0.5): Kizuna's sqrt against Qiskit's **0.5
        return kp.sqrt(a**2 + 0.5), (qa**2 + 0.5) ** 0.5
    if op == 7:
        return a ** 3, qa ** 3
    if op == 8:
        return kp.exp(kp.sin(a)), _qfun(_qfun(qa, "sin"), "exp")
    if op == 9:
        return kp.ln(a**2 + 1.5), _qfun(qa**2 + 1.5, "log")
    return -a, -qa


def _qfun(x, name):
    if isinstance(x, float):
        return {"sin": math.sin, "cos": math.cos, "exp": math.exp, "log": math.log}[name](x)
    return getattr(x, name)()


def build_composite_pair(seed: int) -> tuple[Circuit, QuantumCircuit, dict[str, float]]:
    """A circuit using two levels of composite gates, built in Kizuna and in Qiskit.

    ``inner(a)`` (2 qubits) uses expressions of ``a``; ``outer(b, c)`` (3 qubits) applies
    ``inner`` twice with expressions of ``b, c`` and a fixed random unitary; the top circuit
    (4-6 qubits) applies both with expressions of its own free parameters ``theta, phi``, which
    stay unbound: the caller assigns ``values`` later.
    """
    rng = np.random.default_rng(10_000 + seed)
    a, qa = Parameter("a"), QParameter("a")
    b, qb = Parameter("b"), QParameter("b")
    c, qcp = Parameter("c"), QParameter("c")
    theta, qtheta = Parameter("theta"), QParameter("theta")
    phi, qphi = Parameter("phi"), QParameter("phi")

    def pair(leaves, depth=2):
        return random_expression_pair(rng, leaves, depth)

    # inner(a) on 2 qubits
    k_in = Circuit(2, name="inner")
    q_in = QuantumCircuit(2, name="inner")
    for name, qs in (("rx", [0]), ("ry", [1]), ("cx", [0, 1]), ("u", [1]), ("crz", [1, 0]), ("rzx", [0, 1])):
        ps = [pair([(a, qa)]) for _ in range(GATES[name].num_params)]
        # make sure each formal parameter really appears
        if ps:
            ps[0] = (ps[0][0] + a, ps[0][1] + qa) if not _uses(ps[0][0], a) else ps[0]
        kc_ps, qc_ps = [p[0] for p in ps], [p[1] for p in ps]
        k_in.gate(name, qs, kc_ps)
        q_in.append(qiskit_gate(name, qc_ps), qs)
    inner = k_in.to_gate(params=[a])

    # outer(b, c) on 3 qubits: inner twice, a fixed unitary, a table gate with expressions
    k_out = Circuit(3, name="outer")
    q_out = QuantumCircuit(3, name="outer")
    for qs in ([2, 0], [1, 2]):
        e, qe = pair([(b, qb), (c, qcp)])
        k_out.append(inner, qs, [e])
        q_out.append(q_in.assign_parameters({qa: qe}).to_gate(), qs)
    u = unitary_group.rvs(4, random_state=rng)
    k_out.unitary(u, [0, 2])
    q_out.unitary(u, [0, 2])
    cu_ps = [pair([(b, qb), (c, qcp)]) for _ in range(4)]
    cu_ps[0] = (cu_ps[0][0] + b * c, cu_ps[0][1] + qb * qcp)
    k_out.cu(*[p[0] for p in cu_ps], 1, 0)
    q_out.append(qlib.CUGate(*[p[1] for p in cu_ps]), [1, 0])
    outer = k_out.to_gate(params=[b, c])

    n = int(rng.integers(4, 7))
    k_top = Circuit(n, name="top")
    q_top = QuantumCircuit(n, name="top")
    for step in range(6):
        r = step % 3
        if r == 0:
            qs = [int(q) for q in rng.permutation(n)[:3]]
            (e1, qe1), (e2, qe2) = pair([(theta, qtheta), (phi, qphi)]), pair([(theta, qtheta), (phi, qphi)])
            e1, qe1 = e1 + theta, qe1 + qtheta
            k_top.append(outer, qs, [e1, e2])
            q_top.append(q_out.assign_parameters({qb: qe1, qcp: qe2}, strict=False).to_gate(), qs)
        elif r == 1:
            qs = [int(q) for q in rng.permutation(n)[:2]]
            e, qe = pair([(theta, qtheta), (phi, qphi)])
            e, qe = e + phi, qe + qphi
            k_top.append(inner, qs, [e])
            q_top.append(q_in.assign_parameters({qa: qe}).to_gate(), qs)
        else:
            name = ["h", "sx", "cx", "ry", "cp", "ccx"][int(rng.integers(6))]
            spec = GATES[name]
            qs = [int(q) for q in rng.permutation(n)[: spec.num_qubits]]
            ps = [pair([(theta, qtheta), (phi, qphi)]) for _ in range(spec.num_params)]
            k_top.gate(name, qs, [p[0] for p in ps])
            q_top.append(qiskit_gate(name, [p[1] for p in ps]), qs)
    values = {"theta": float(rng.uniform(-3, 3)), "phi": float(rng.uniform(-3, 3))}
    return k_top, q_top, values


def _uses(expr, p) -> bool:
    return isinstance(expr, kp.ParameterExpression) and p in expr.parameters


def bind_qiskit(qc: QuantumCircuit, values: dict[str, float]) -> QuantumCircuit:
    """``qc`` with its free parameters bound by name."""
    return qc.assign_parameters({p: values[p.name] for p in qc.parameters})


# --- exact outcome distributions by branch enumeration ------------------------------------------
def exact_distribution(circuit: Circuit) -> dict[str, float]:
    """Every classical outcome's exact probability, by enumerating measurement branches.

    Deliberately plain: a dense vector per branch, projectors ``|o><o|`` built with numpy,
    each gate applied as its full ``embed``-ded matrix, the condition evaluated per branch.
    Keys are formatted like ``Result.counts`` (registers last-first, space separated).
    """
    from kizuna.computing.circuit import flatten

    n = circuit.num_qubits
    sizes = [r.size for r in circuit.cregs]
    dist: dict[int, float] = {}
    state0 = np.zeros(1 << n, dtype=complex)
    state0[0] = 1
    idx = np.arange(1 << n)
    flat = flatten(circuit)
    stack = [(0, state0, 0, 1.0)]
    while stack:
        pc, psi, bits, prob = stack.pop()
        if prob < 1e-15:
            continue
        if pc == len(flat):
            dist[bits] = dist.get(bits, 0.0) + prob
            continue
        ins = flat[pc]
        cond = ins.condition
        if cond is not None:
            value = sum(((bits >> b) & 1) << i for i, b in enumerate(cond.clbits))
            if value != cond.value:
                stack.append((pc + 1, psi, bits, prob))
                continue
        if ins.name in ("measure", "reset"):
            q = ins.qubits[0]
            for outcome in (0, 1):
                mask = ((idx >> q) & 1) == outcome
                proj = psi * mask
                p = float(np.vdot(proj, proj).real)
                if p < 1e-15:
                    continue
                new = proj / math.sqrt(p)
                new_bits = bits
                if ins.name == "measure":
                    b = ins.clbits[0]
                    new_bits = (bits & ~(1 << b)) | (outcome << b)
                elif outcome == 1:
                    new = embed(gate_matrix("x"), [q], n) @ new
                stack.append((pc + 1, new, new_bits, prob * p))
            continue
        m = ins.matrix if ins.name == "unitary" else gate_matrix(ins.name, ins.params)
        stack.append((pc + 1, embed(m, ins.qubits, n) @ psi, bits, prob))
    return {registers_bitstring(k, sizes): v for k, v in dist.items()}


def assert_counts_match(counts: dict[str, int], probabilities: dict[str, float], shots: int,
                        *, p_min: float = 1e-3) -> float:
    """Chi-square goodness of fit of ``counts`` to exact ``probabilities``; returns the p-value.

    Outcomes with probability < 1e-12 must never be seen. Expected counts below 5 are pooled
    into one bin (the usual validity condition of Pearson's test).
    """
    impossible = {k: v for k, v in counts.items() if probabilities.get(k, 0.0) < 1e-12}
    assert not impossible, f"outcomes with zero probability were sampled: {impossible}"
    assert sum(counts.values()) == shots
    keys = sorted(k for k, p in probabilities.items() if p >= 1e-12)
    obs, exp = [], []
    pool_o, pool_e = 0, 0.0
    for k in keys:
        e = probabilities[k] * shots
        if e < 5:
            pool_o += counts.get(k, 0)
            pool_e += e
        else:
            obs.append(counts.get(k, 0))
            exp.append(e)
    if pool_e > 0:
        obs.append(pool_o)
        exp.append(pool_e)
    if len(obs) < 2:
        return 1.0
    exp = np.array(exp) * (sum(obs) / sum(exp))  # absorb rounding of the probabilities
    p = float(chisquare(obs, exp).pvalue)
    assert p > p_min, f"chi-square p = {p:.2e}; observed {obs}, expected {np.round(exp, 1)}"
    return p


def random_dynamic_circuit(rng: np.random.Generator, num_qubits: int, steps: int, *,
                           p_measure: float = 0.2, p_reset: float = 0.1):
    """A Kizuna circuit of ``num_qubits`` qubits that starts in superposition (so measurements
    have something to decide), then ``steps`` random operations: mid-circuit measurements into
    3 classical bits (probability ``p_measure``), resets (``p_reset``), else a random table
    gate of any arity on random qubits, a quarter of them conditioned on register ``m`` (2
    bits) or ``k`` (1 bit); finally qubits 0-2 are measured into the 3 bits."""
    from kizuna import Circuit

    n = num_qubits
    c = Circuit(n)
    c.add_creg("m", 2)
    c.add_creg("k", 1)
    names = [g for g in GATES if GATES[g].num_qubits <= n]
    c.h(range(n))
    for _ in range(steps):
        r = rng.random()
        if r < p_measure:
            c.measure(int(rng.integers(n)), int(rng.integers(3)))
        elif r < p_measure + p_reset:
            c.reset(int(rng.integers(n)))
        else:
            name = names[int(rng.integers(len(names)))]
            qs = [int(q) for q in rng.permutation(n)[: GATES[name].num_qubits]]
            ps = random_params(rng, name)
            if rng.random() < 0.25:
                reg, size = ("m", 2) if rng.random() < 0.6 else ("k", 1)
                with c.if_test(reg, int(rng.integers(2**size))):
                    c.gate(name, qs, ps)
            else:
                c.gate(name, qs, ps)
    c.measure(list(range(min(n, 3))), list(range(min(n, 3))))
    return c


# --- fixtures ---------------------------------------------------------------------------------
# Test files take these helpers as (session-scoped) fixtures rather than importing this module:
# pytest does not make conftest modules importable reliably once several exist.
def _provide(name, value, doc):
    def fixture():
        return value

    fixture.__doc__ = doc
    fixture.__name__ = f"_fixture_{name}"
    return pytest.fixture(scope="session", name=name)(fixture)


qiskit_gate_fixture = _provide("qiskit_gate", qiskit_gate,
                               "``qiskit_gate(name, params)``: the Qiskit gate for a Kizuna table gate.")
qiskit_names_fixture = _provide("qiskit_names", QISKIT_NAMES,
                                "Kizuna name -> Qiskit instruction name where they differ.")
random_params_fixture = _provide("random_params", random_params,
                                 "``random_params(rng, name)``: angles for a table gate.")
random_dynamic_circuit_fixture = _provide(
    "random_dynamic_circuit", random_dynamic_circuit,
    "``random_dynamic_circuit(rng, num_qubits, steps, p_measure=, p_reset=)``: random gates with "
    "mid-circuit measurements, resets and conditions.")
random_circuit_pair_fixture = _provide(
    "random_circuit_pair", build_random_pair,
    "``build(seed, num_qubits, num_gates, **options) -> (kizuna_circuit, qiskit_circuit)``.")
composite_circuit_pair_fixture = _provide(
    "composite_circuit_pair", build_composite_pair,
    "``build(seed) -> (kizuna_circuit, qiskit_circuit, values)`` with nested composite gates.")
bind_qiskit_fixture = _provide("bind_qiskit", bind_qiskit, "``bind_qiskit(qc, {name: value})``.")
exact_distribution_fixture = _provide(
    "exact_distribution", exact_distribution,
    "``exact_distribution(circuit) -> {key: probability}`` by branch enumeration.")
assert_counts_match_fixture = _provide(
    "assert_counts_match", assert_counts_match,
    "``assert_counts_match(counts, probabilities, shots)``: chi-square, p > 1e-3.")


# --- a throwaway PostgreSQL server for the job-service tests ---------------------------------

def _postgres_bin(name: str) -> str | None:
    import glob
    import shutil

    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@pytest.fixture(scope="session")
def postgres_url():
    """A SQLAlchemy URL of an empty database on a PostgreSQL server started for this session on
    loopback (``initdb`` in a temporary folder, trust authentication, a free port), stopped at
    the end. ``KIZUNA_TEST_DATABASE_URL`` points the tests at an existing server instead.
    Without PostgreSQL installed the tests that need it skip, except under CI (``CI`` set),
    where ``.ci/run`` installs it and a missing server is a failure."""
    import os
    import shutil
    import socket
    import subprocess
    import tempfile

    given = os.environ.get("KIZUNA_TEST_DATABASE_URL")
    if given:
        yield given
        return
    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    if not (initdb and pg_ctl):
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL (initdb, pg_ctl) is not installed; .ci/run installs it")
        pytest.skip("PostgreSQL is not installed here (the CI run installs it)")
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    data = tempfile.mkdtemp(prefix="kizuna-pg-")
    if as_root:
        shutil.chown(data, "postgres", "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = dict(check=True, capture_output=True, text=True, timeout=120)
    try:
        subprocess.run([*prefix, initdb, "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"], **run)
        subprocess.run([*prefix, pg_ctl, "-D", data, "-l", f"{data}/server.log", "-w", "-o",
                        f"-h 127.0.0.1 -p {port} -k {data} -F", "start"], **run)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(data, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc.stderr or exc.stdout}")
    try:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE kizuna_test")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/kizuna_test"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60, check=False)
        shutil.rmtree(data, ignore_errors=True)
