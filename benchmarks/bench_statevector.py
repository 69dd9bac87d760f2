"""State-vector speed: Kizuna beside qsim, qulacs and Qiskit Aer, in one process.

Circuits (issue 3): ``random`` — 20 layers of a random u3 on every qubit followed by a CNOT
brickwork (even pairs, then odd pairs); ``qft`` — the textbook QFT (h, controlled phases,
final swaps) on a random basis state. Every tool builds the same gate list; the timing covers
simulation to the final state (not circuit construction), median of ``--repeat`` runs after
one warm-up (numba compilation and the peers' first-call costs are excluded). Each peer's
final state is checked against Kizuna's (fidelity printed) so no tool is timed on a wrong
answer.

    python benchmarks/bench_statevector.py --qubits 20 22 24 --threads 2 --json out.json

Threads: Kizuna and Aer take them per run; qulacs reads ``OMP_NUM_THREADS`` once at start, so
this script sets it from ``--threads`` before importing qulacs — run the script once per
thread count. Peers come from the ``bench`` extra and are skipped when missing.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time

from _common import write_json


def gate_list(kind: str, n: int, seed: int, layers: int = 20):
    """[(name, qubits, params)] with names u3, cx, h, cp, x, swap; qubit k has weight 2**k."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    if kind == "random":
        for _ in range(layers):
            for q in range(n):
                out.append(("u3", (q,), tuple(rng.uniform(0, 2 * math.pi, 3))))
            for start in (0, 1):
                for q in range(start, n - 1, 2):
                    out.append(("cx", (q, q + 1), ()))
    elif kind == "qft":
        for q in range(n):
            if rng.random() < 0.5:
                out.append(("x", (q,), ()))
        for j in reversed(range(n)):
            out.append(("h", (j,), ()))
            for k in reversed(range(j)):
                out.append(("cp", (k, j), (math.pi / 2 ** (j - k),)))
        for q in range(n // 2):
            out.append(("swap", (q, n - 1 - q), ()))
    else:
        raise ValueError(kind)
    return out


def _u3(t, p, l):
    import numpy as np

    c, s = math.cos(t / 2), math.sin(t / 2)
    return np.array([[c, -np.exp(1j * l) * s], [np.exp(1j * p) * s, np.exp(1j * (p + l)) * c]])


# --- one runner per tool: build(gates, n) -> callable returning the final state ------------------
def kizuna_runner(precision: str, threads: int):
    import kizuna

    def build(gates, n):
        c = kizuna.Circuit(n)
        for name, qs, ps in gates:
            c.gate(name, qs, ps)
        return lambda: kizuna.statevector(c, precision=precision, num_threads=threads)

    return build


def aer_runner(precision: str, threads: int):
    from qiskit import QuantumCircuit
    from qiskit_aer import AerSimulator

    sim = AerSimulator(method="statevector", precision=precision, max_parallel_threads=threads)

    def build(gates, n):
        qc = QuantumCircuit(n)
        for name, qs, ps in gates:
            {"u3": lambda: qc.u(*ps, qs[0]), "cx": lambda: qc.cx(*qs), "h": lambda: qc.h(qs[0]),
             "cp": lambda: qc.cp(ps[0], *qs), "x": lambda: qc.x(qs[0]),
             "swap": lambda: qc.swap(*qs)}[name]()  # fmt: skip
        qc.save_statevector()
        return lambda: sim.run(qc).result().get_statevector().data

    return build


def qulacs_runner(precision: str, threads: int):
    import numpy as np
    import qulacs
    from qulacs.circuit import QuantumCircuitOptimizer
    from qulacs.gate import DenseMatrix

    def build(gates, n):
        qc = qulacs.QuantumCircuit(n)
        for name, qs, ps in gates:
            if name == "u3":
                qc.add_dense_matrix_gate(qs[0], _u3(*ps))
            elif name == "cx":
                qc.add_CNOT_gate(*qs)
            elif name == "h":
                qc.add_H_gate(qs[0])
            elif name == "x":
                qc.add_X_gate(qs[0])
            elif name == "swap":
                qc.add_SWAP_gate(*qs)
            elif name == "cp":
                g = DenseMatrix(qs[1], np.diag([1, np.exp(1j * ps[0])]))
                g.add_control_qubit(qs[0], 1)
                qc.add_gate(g)
        QuantumCircuitOptimizer().optimize_light(qc)

        def run():
            state = qulacs.QuantumState(n)
            qc.update_quantum_state(state)
            return state.get_vector()

        return run

    return build


def qsim_runner(precision: str, threads: int):
    import cirq
    import numpy as np
    import qsimcirq

    sim = qsimcirq.QSimSimulator(qsimcirq.QSimOptions(cpu_threads=threads))

    def build(gates, n):
        qubits = cirq.LineQubit.range(n)
        lq = lambda q: qubits[n - 1 - q]
        ops = []
        for name, qs, ps in gates:
            if name == "u3":  # u3(t, p, l) = rz(p) ry(t) rz(l) up to a global phase; native to qsim
                t, p, l = ps
                q = lq(qs[0])
                ops += [cirq.rz(l).on(q), cirq.ry(t).on(q), cirq.rz(p).on(q)]
            elif name == "cx":
                ops.append(cirq.CNOT(lq(qs[0]), lq(qs[1])))
            elif name == "h":
                ops.append(cirq.H(lq(qs[0])))
            elif name == "x":
                ops.append(cirq.X(lq(qs[0])))
            elif name == "swap":
                ops.append(cirq.SWAP(lq(qs[0]), lq(qs[1])))
            elif name == "cp":
                ops.append(cirq.CZPowGate(exponent=ps[0] / math.pi).on(lq(qs[0]), lq(qs[1])))
        circuit = cirq.Circuit(ops)
        return lambda: np.asarray(sim.simulate(circuit, qubit_order=qubits).final_state_vector)

    return build


def median_time(fn, repeat: int) -> tuple[float, object]:
    out = fn()  # warm-up: compilation, caches, first-touch of memory
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qubits", type=int, nargs="+", default=[20, 22, 24])
    ap.add_argument("--large", action="store_true", help="also 26 and 28 qubits")
    ap.add_argument("--circuits", nargs="+", default=["random", "qft"])
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--precision", nargs="+", default=["double", "single"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # qulacs reads it at import
    import numpy as np


    qubits = list(args.qubits) + ([26, 28] if args.large else [])
    tools = {"kizuna": kizuna_runner}
    for name, runner, module in (("qsim", qsim_runner, "qsimcirq"), ("qulacs", qulacs_runner, "qulacs"),
                                 ("aer", aer_runner, "qiskit_aer")):
        try:
            __import__(module)
            tools[name] = runner
        except ImportError:
            print(f"# {name} not installed ({module}); skipped", file=sys.stderr)
    # qsim is single precision only, qulacs double only
    supports = {"qsim": {"single"}, "qulacs": {"double"}}

    rows = []
    header = f"{'circuit':>7} {'n':>3} {'prec':>6} {'thr':>3} {'tool':>7} {'seconds':>9} {'vs kizuna':>9} {'fidelity':>10}"
    print(header)
    for kind in args.circuits:
        for n in qubits:
            gates = gate_list(kind, n, seed=n)
            for precision in args.precision:
                reference = None
                t_kizuna = None
                for tool, runner in tools.items():
                    if precision not in supports.get(tool, {"single", "double"}):
                        continue
                    fn = runner(precision, args.threads)(gates, n)
                    seconds, state = median_time(fn, args.repeat)
                    state = np.asarray(state, dtype=np.complex128)
                    if reference is None:
                        reference, t_kizuna = state, seconds
                    fid = abs(np.vdot(reference, state)) ** 2
                    ratio = seconds / t_kizuna
                    del state
                    print(f"{kind:>7} {n:>3} {precision:>6} {args.threads:>3} {tool:>7} {seconds:>9.3f} "
                          f"{ratio:>8.2f}x {fid:>10.6f}", flush=True)
                    rows.append({"circuit": kind, "qubits": n, "precision": precision,
                                 "threads": args.threads, "tool": tool, "seconds": seconds,
                                 "ratio_to_kizuna": ratio, "fidelity_to_kizuna": fid})
                del reference
    if args.json:
        write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
