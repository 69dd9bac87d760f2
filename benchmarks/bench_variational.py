"""Per-call overhead: one small parameterised circuit simulated many times with new values.

The loop of variational algorithms (VQE, QAOA, QML): a 10-qubit hardware-efficient ansatz of
100 parameterised RY gates and 45 CNOTs (10 layers: RY on every qubit, then a CNOT brickwork),
run ``--calls`` times, each time with fresh random angles, to the final state. Each tool uses
its own parameter-update API:

* Kizuna: ``kizuna.statevector(circuit, parameters=values)`` (compiled once, rebound per call);
* qulacs: ``ParametricQuantumCircuit.set_parameter`` + ``update_quantum_state``;
* qsim: ``QSimSimulator.simulate(circuit, param_resolver=...)`` (sympy symbols).

Prints milliseconds per call and each peer's time divided by Kizuna's (> 1: Kizuna is faster).
Issue 3's target: faster than qsim and qulacs. Every final state is checked against Kizuna's.

Usage: ``python benchmarks/bench_variational.py [--qubits 10] [--layers 10] [--calls 1000]
[--threads 1] [--json out.json]``. Peers come from the ``bench`` extra; missing ones are skipped.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from _common import write_json


def kizuna_loop(n, layers, threads):
    import kizuna

    thetas = [kizuna.Parameter(f"t{i:04d}") for i in range(n * layers)]
    c = kizuna.Circuit(n)
    for layer in range(layers):
        for q in range(n):
            c.ry(thetas[layer * n + q], q)
        for q in range(layer % 2, n - 1, 2):
            c.cx(q, q + 1)

    def call(values):
        return kizuna.statevector(c, parameters=values, num_threads=threads)

    return call


def qulacs_loop(n, layers, threads):
    from qulacs import ParametricQuantumCircuit, QuantumState

    pc = ParametricQuantumCircuit(n)
    for layer in range(layers):
        for q in range(n):
            pc.add_parametric_RY_gate(q, 0.0)
        for q in range(layer % 2, n - 1, 2):
            pc.add_CNOT_gate(q, q + 1)
    state = QuantumState(n)

    def call(values):
        for i, v in enumerate(values):
            pc.set_parameter(i, -float(v))  # qulacs's RY(t) is exp(+i t Y / 2)
        state.set_zero_state()
        pc.update_quantum_state(state)
        return state.get_vector()

    return call


def qsim_loop(n, layers, threads):
    import cirq
    import qsimcirq
    import sympy

    qubits = cirq.LineQubit.range(n)
    symbols = sympy.symbols(f"t0:{n * layers}")
    c = cirq.Circuit()
    for layer in range(layers):
        c.append(cirq.ry(symbols[layer * n + q]).on(qubits[q]) for q in range(n))
        c.append(cirq.CNOT(qubits[q], qubits[q + 1]) for q in range(layer % 2, n - 1, 2))
    sim = qsimcirq.QSimSimulator(qsimcirq.QSimOptions(cpu_threads=threads))

    def call(values):
        r = sim.simulate(c, param_resolver=dict(zip(symbols, values)), qubit_order=qubits[::-1])
        return r.final_state_vector

    return call


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qubits", type=int, default=10)
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)
    n, layers, calls = args.qubits, args.layers, args.calls
    rng = np.random.default_rng(2026)
    values = rng.uniform(-np.pi, np.pi, (calls, n * layers))
    tools = {"kizuna": kizuna_loop, "qulacs": qulacs_loop, "qsim": qsim_loop}
    rows = {}
    reference = None
    for name, make in tools.items():
        try:
            call = make(n, layers, args.threads)
        except ImportError as exc:
            print(f"{name}: skipped ({exc})", file=sys.stderr)
            continue
        first = np.asarray(call(values[0]), dtype=np.complex128)  # warm-up (and compile)
        if reference is None:
            reference = first
        fidelity = abs(np.vdot(reference, first)) ** 2
        start = time.perf_counter()
        for v in values:
            call(v)
        per_call = (time.perf_counter() - start) / calls
        rows[name] = {"ms_per_call": per_call * 1e3, "fidelity_vs_kizuna": fidelity}
    base = rows["kizuna"]["ms_per_call"]
    print(f"{n} qubits, {n * layers} RY + CNOT brickwork, {calls} calls, {args.threads} thread(s)")
    print(f"{'tool':8} {'ms/call':>9} {'tool/kizuna':>12} {'fidelity':>9}")
    for name, row in rows.items():
        row["ratio_to_kizuna"] = row["ms_per_call"] / base
        print(f"{name:8} {row['ms_per_call']:9.3f} {row['ratio_to_kizuna']:12.2f} {row['fidelity_vs_kizuna']:9.6f}")
    if args.json:
        write_json(args.json, rows, qubits=n, layers=layers, calls=calls, threads=args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
