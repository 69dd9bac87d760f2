"""State-vector speed: Kizuna's engine beside its peers, in one process.

Circuit: the random layered circuit of issue 3 — on every qubit a random u3, then a CNOT
brickwork (even then odd pairs), repeated ``--layers`` times. Prints seconds (median of
``--repeat``) and the ratio peer/Kizuna (> 1 means Kizuna is faster), and writes JSON.

    python benchmarks/bench_statevector.py --qubits 12 16 20 --layers 20 --json out.json

Peers run when installed: qiskit (``Statevector``) and qiskit-aer (``statevector`` method,
double precision). Set threads with OMP_NUM_THREADS / the peers' own options.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from datetime import date

import numpy as np

import kizuna


def random_layers(num_qubits: int, layers: int, seed: int) -> kizuna.Circuit:
    rng = np.random.default_rng(seed)
    c = kizuna.Circuit(num_qubits)
    for _ in range(layers):
        for q in range(num_qubits):
            c.u3(*rng.uniform(0, 2 * np.pi, 3), q)
        for start in (0, 1):
            for q in range(start, num_qubits - 1, 2):
                c.cx(q, q + 1)
    return c


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qubits", type=int, nargs="+", default=[12, 16, 20])
    ap.add_argument("--layers", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)

    peers = {}
    try:
        from qiskit import qasm2 as qk_qasm2
        from qiskit.quantum_info import Statevector

        def qiskit_sv(c):
            qc = qk_qasm2.loads(kizuna.qasm2.dumps(c))
            return lambda: Statevector(qc)

        peers["qiskit Statevector"] = qiskit_sv
    except ImportError:
        pass
    try:
        from qiskit import qasm2 as qk_qasm2
        from qiskit_aer import AerSimulator

        sim = AerSimulator(method="statevector")

        def aer_sv(c):
            qc = qk_qasm2.loads(kizuna.qasm2.dumps(c))
            qc.save_statevector()
            return lambda: sim.run(qc).result()

        peers["qiskit-aer"] = aer_sv
    except ImportError:
        pass

    rows = []
    print(f"{'qubits':>6} {'kizuna s':>10} " + " ".join(f"{p + ' s':>22} {'ratio':>7}" for p in peers))
    for n in args.qubits:
        c = random_layers(n, args.layers, seed=n)
        t_k = median_time(lambda: kizuna.statevector(c), args.repeat)
        row = {"qubits": n, "layers": args.layers, "kizuna_s": t_k}
        line = f"{n:>6} {t_k:>10.4f} "
        for name, make in peers.items():
            fn = make(c)
            t_p = median_time(fn, args.repeat)
            row[name] = t_p
            line += f"{t_p:>22.4f} {t_p / t_k:>7.2f}"
        print(line)
        rows.append(row)
    if args.json:
        meta = {
            "date": date.today().isoformat(),
            "machine": platform.processor() or platform.machine(),
            "python": sys.version.split()[0],
            "kizuna": kizuna.__version__,
        }
        with open(args.json, "w") as fh:
            json.dump({"meta": meta, "rows": rows}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
