"""Transpilation quality: Kizuna's two-qubit count and depth beside ``qiskit.transpile``.

Both tools map the same circuits onto IBM's 127-qubit heavy-hex (Eagle) coupling map with the
same native gates (``ecr, id, rz, sx, x`` by default; ``--basis cx`` for ``cx, id, rz, sx,
x``). Qiskit runs ``transpile(..., optimization_level=1, seed_transpiler=s)``; Kizuna runs
``kizuna.transpile(..., optimization_level=1, seed=s)``; each figure is the mean over
``--seeds`` seeds. Circuits (built gate by gate identically in both tools):

* ``qft`` — textbook QFT: ``h``, controlled phases ``cp(π/2^k)``, final swaps;
* ``random`` — ``n`` layers: random qubit pairs, each pair a random two-qubit table gate
  (cx, cz, cp, crx, rzz, swap, ch, cu3) with probability 1/2, a random ``u3`` on the others;
* ``ghz`` — ``h`` and a CNOT chain (127 qubits: the whole device, which has no Hamiltonian
  path, so some SWAPs are unavoidable);
* ``adder`` — Cuccaro et al.'s ripple-carry adder (arXiv:quant-ph/0410184), ``2n + 2`` qubits,
  MAJ/UMA blocks with Toffolis.

Reported: two-qubit gate count, depth (every gate a layer, as ``QuantumCircuit.depth()``),
two-qubit depth (only two-qubit gates count) and wall time. Ratio = Kizuna / Qiskit (< 1:
Kizuna uses fewer). Target (issue 4): two-qubit count no worse
than Qiskit's, i.e. ratio <= 1 on every row.

    python benchmarks/bench_transpile.py --seeds 3 --json transpile.json
    python benchmarks/bench_transpile.py --basis cx --circuits ghz --sizes 127
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time

from _common import write_json


def gate_list(kind: str, n: int, seed: int) -> list[tuple[str, tuple, tuple]]:
    """``[(name, qubits, params)]`` of table gates; qubit ``k`` has weight ``2**k``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out: list[tuple[str, tuple, tuple]] = []
    if kind == "qft":
        for j in reversed(range(n)):
            out.append(("h", (j,), ()))
            for k in reversed(range(j)):
                out.append(("cp", (k, j), (math.pi / 2 ** (j - k),)))
        for q in range(n // 2):
            out.append(("swap", (q, n - 1 - q), ()))
    elif kind == "random":
        two = ["cx", "cz", "cp", "crx", "rzz", "swap", "ch", "cu3"]
        nparams = {"cp": 1, "crx": 1, "rzz": 1, "cu3": 3}
        for _ in range(n):
            perm = [int(x) for x in rng.permutation(n)]
            for i in range(0, n - 1, 2):
                a, b = perm[i], perm[i + 1]
                if rng.random() < 0.5:
                    g = two[int(rng.integers(len(two)))]
                    out.append((g, (a, b), tuple(float(x) for x in rng.uniform(0, 2 * math.pi, nparams.get(g, 0)))))
                else:
                    for q in (a, b):
                        out.append(("u3", (q,), tuple(float(x) for x in rng.uniform(0, 2 * math.pi, 3))))
    elif kind == "ghz":
        out.append(("h", (0,), ()))
        out += [("cx", (q, q + 1), ()) for q in range(n - 1)]
    elif kind == "adder":
        # Cuccaro ripple-carry adder on m = (n - 2) / 2 bits: qubit 0 = carry in, a_i = 2i + 2,
        # b_i = 2i + 1, last qubit = carry out.
        m = (n - 2) // 2
        a = [2 * i + 2 for i in range(m)]
        b = [2 * i + 1 for i in range(m)]
        cin, cout = 0, n - 1

        def maj(x, y, z):
            return [("cx", (z, y), ()), ("cx", (z, x), ()), ("ccx", (x, y, z), ())]

        def uma(x, y, z):
            return [("ccx", (x, y, z), ()), ("cx", (z, x), ()), ("cx", (x, y), ())]

        for q in a + b:  # a random input
            if rng.random() < 0.5:
                out.append(("x", (q,), ()))
        out += maj(cin, b[0], a[0])
        for i in range(1, m):
            out += maj(a[i - 1], b[i], a[i])
        out.append(("cx", (a[-1], cout), ()))
        for i in reversed(range(1, m)):
            out += uma(a[i - 1], b[i], a[i])
        out += uma(cin, b[0], a[0])
    else:
        raise ValueError(kind)
    return out


def kizuna_circuit(n, gates):
    import kizuna

    c = kizuna.Circuit(n)
    for name, qs, ps in gates:
        c.gate(name, qs, ps)
    return c


def qiskit_circuit(n, gates):
    from qiskit import QuantumCircuit
    from qiskit.circuit import library as lib

    classes = {
        "h": lib.HGate, "x": lib.XGate, "u3": lib.UGate, "cx": lib.CXGate, "cz": lib.CZGate,
        "cp": lib.CPhaseGate, "crx": lib.CRXGate, "rzz": lib.RZZGate, "swap": lib.SwapGate,
        "ch": lib.CHGate, "cu3": lib.CU3Gate, "ccx": lib.CCXGate,
    }
    qc = QuantumCircuit(n)
    for name, qs, ps in gates:
        qc.append(classes[name](*ps), list(qs))
    return qc


CASES = {
    "qft": (5, 10, 15, 20),
    "random": (5, 10, 15, 20),
    "ghz": (10, 40, 100, 127),
    "adder": (6, 10, 18, 50),
}


def run_case(kind, n, seeds, basis):
    from qiskit import transpile as qtranspile
    from qiskit.transpiler import CouplingMap

    from kizuna.computing.device import Device
    from kizuna.computing.transpile import transpile

    device = Device.heavy_hex_127(basis_gates=basis)
    edges = [list(e) for e in device.coupling_map] + [[b, a] for a, b in device.coupling_map]
    cmap = CouplingMap(edges)
    rows = []
    for s in seeds:
        gates = gate_list(kind, n, 1000 + s)
        kc, qc = kizuna_circuit(n, gates), qiskit_circuit(n, gates)
        t0 = time.perf_counter()
        r = transpile(kc, device, seed=s, optimization_level=1)
        tk = time.perf_counter() - t0
        device.check_circuit(r.circuit)  # native gates on coupled pairs only
        t0 = time.perf_counter()
        qt = qtranspile(qc, coupling_map=cmap, basis_gates=list(basis), optimization_level=1, seed_transpiler=s)
        tq = time.perf_counter() - t0
        q2 = sum(1 for ins in qt.data if ins.operation.num_qubits == 2)
        q2depth = qt.depth(lambda ins: ins.operation.num_qubits == 2)
        rows.append((r.two_qubit_count, r.depth, tk, q2, qt.depth(), tq, _two_qubit_depth(r.circuit), q2depth))
    mean = [statistics.mean(col) for col in zip(*rows)]
    return {
        "circuit": kind, "qubits": n, "input_2q": sum(1 for g in gate_list(kind, n, 1000 + seeds[0]) if len(g[1]) == 2),
        "kizuna_2q": mean[0], "kizuna_depth": mean[1], "kizuna_s": mean[2],
        "qiskit_2q": mean[3], "qiskit_depth": mean[4], "qiskit_s": mean[5],
        "kizuna_2q_depth": mean[6], "qiskit_2q_depth": mean[7],
    }


def _two_qubit_depth(circuit) -> int:
    """Depth counting only two-qubit gates (Qiskit's ``depth(filter_function)``)."""
    level = [0] * circuit.num_qubits
    for ins in circuit.instructions:
        if ins.name == "barrier" or len(ins.qubits) != 2:
            continue
        d = max(level[q] for q in ins.qubits) + 1
        for q in ins.qubits:
            level[q] = d
    return max(level, default=0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="seeds per circuit (default 3)")
    ap.add_argument("--basis", choices=["ecr", "cx"], default="ecr")
    ap.add_argument("--circuits", nargs="*", default=list(CASES), choices=list(CASES))
    ap.add_argument("--sizes", nargs="*", type=int, help="only these qubit counts (default: all of each circuit's)")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)
    try:
        import qiskit
    except ImportError:
        print("qiskit is needed for the comparison: pip install 'kizuna[bench]'", file=sys.stderr)
        return 2
    basis = ("ecr", "id", "rz", "sx", "x") if args.basis == "ecr" else ("cx", "id", "rz", "sx", "x")
    seeds = list(range(1, args.seeds + 1))
    rows = []
    print(f"heavy-hex 127 (Eagle), basis {', '.join(basis)}; mean over seeds {seeds}; "
          "ratio = Kizuna / Qiskit level 1 (target: 2q ratio <= 1)")
    print(f"{'circuit':8} {'n':>4} {'in 2q':>6} | {'Kizuna 2q':>9} {'Qiskit 2q':>9} {'ratio':>6} | "
          f"{'K depth':>8} {'Q depth':>8} {'ratio':>6} | {'K 2q-d':>7} {'Q 2q-d':>7} {'ratio':>6} | "
          f"{'K s':>6} {'Q s':>6}")
    for kind in args.circuits:
        for n in CASES[kind]:
            if args.sizes and n not in args.sizes:
                continue
            row = run_case(kind, n, seeds, basis)
            rows.append(row)
            r2 = row["kizuna_2q"] / row["qiskit_2q"] if row["qiskit_2q"] else math.nan
            rd = row["kizuna_depth"] / row["qiskit_depth"] if row["qiskit_depth"] else math.nan
            r2d = row["kizuna_2q_depth"] / row["qiskit_2q_depth"] if row["qiskit_2q_depth"] else math.nan
            flag = "" if r2 <= 1 + 1e-9 else "  <- above target"
            print(f"{kind:8} {n:>4} {row['input_2q']:>6} | {row['kizuna_2q']:>9.1f} {row['qiskit_2q']:>9.1f} "
                  f"{r2:>6.3f} | {row['kizuna_depth']:>8.1f} {row['qiskit_depth']:>8.1f} {rd:>6.3f} | "
                  f"{row['kizuna_2q_depth']:>7.1f} {row['qiskit_2q_depth']:>7.1f} {r2d:>6.3f} | "
                  f"{row['kizuna_s']:>6.2f} {row['qiskit_s']:>6.2f}{flag}", flush=True)
    ratios = [r["kizuna_2q"] / r["qiskit_2q"] for r in rows if r["qiskit_2q"]]
    if ratios:
        geo = math.exp(statistics.mean(math.log(x) for x in ratios))
        print(f"geometric mean 2q ratio: {geo:.3f}; rows above target: "
              f"{sum(x > 1 + 1e-9 for x in ratios)} of {len(ratios)}")
    if args.json:
        write_json(args.json, rows, qiskit=qiskit.__version__, basis=list(basis), seeds=seeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
