"""Noisy simulation speed: Kizuna's density-matrix and trajectory backends beside Qiskit Aer.

Circuit: ``layers`` layers of a random ``u`` on every qubit followed by a CNOT brickwork (even
pairs, then odd pairs), then every qubit measured. Noise, identical in both tools (each Aer
error is built from the very Kraus matrices of the Kizuna channel, so the models cannot drift):

* ``depolarizing`` -- depolarizing(1e-3) after every ``u``, two-qubit depolarizing(1e-2) after
  every ``cx`` (mixed-unitary channels);
* ``device`` -- thermal relaxation (T1 = 100 us, T2 = 80 us; 50 ns ``u``, 300 ns ``cx``)
  composed with the same depolarizing errors, and readout errors P(1|0) = 0.02, P(0|1) = 0.04
  on every qubit (non-unital channels: the trajectories read Born probabilities).

Backends: Kizuna ``density_matrix`` beside Aer ``method="density_matrix"``, and Kizuna
``trajectories`` beside Aer ``method="statevector"`` (Aer's per-shot noise sampling). The timing
covers ``run`` with ``--shots`` shots (median of ``--repeat`` runs after one warm-up, so numba
compilation and Aer's first-call costs are excluded). Agreement is checked, not assumed:
the density-matrix rows compare the exact final density matrices of both tools (the circuit
without its measurements, Aer ``save_density_matrix``: ``|1-F|`` with F the Uhlmann fidelity,
up to 10 qubits, and the largest entry of the difference), every
row prints the total variation distance between Kizuna's and Aer's counts. That distance is
mostly sampling noise: with ``2**n`` outcomes spread over ``shots`` shots two samples of the
same distribution differ by about ``sqrt(2**n / (pi * shots))`` while that is below 1 (0.14
at 6 qubits and 1000 shots, 0.57 at 10; near 1 beyond), so it flags gross disagreement only.

    python benchmarks/bench_noise.py --threads 2 --json noise.json
    python benchmarks/bench_noise.py --dm-qubits 6 8 10 12 --traj-qubits 10 14 18 20

Ratio = Aer seconds / Kizuna seconds (> 1: Kizuna is faster). Target: > 1 on every row.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time

import numpy as np
from _common import write_json


def gate_list(n: int, layers: int, seed: int):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(layers):
        for q in range(n):
            out.append(("u", (q,), tuple(float(x) for x in rng.uniform(0, 2 * math.pi, 3))))
        for start in (0, 1):
            for q in range(start, n - 1, 2):
                out.append(("cx", (q, q + 1), ()))
    return out


def kizuna_noise(kind: str):
    """(NoiseModel, {gate: Channel}, readout (p01, p10) or None)."""
    from kizuna.computing.noise import NoiseModel
    from kizuna.core.channels import depolarizing, readout_error, thermal_relaxation

    dep1, dep2 = depolarizing(1e-3), depolarizing(1e-2, num_qubits=2)
    if kind == "depolarizing":
        channels = {"u": dep1, "cx": dep2}
        readout = None
    elif kind == "device":
        t1, t2 = 100e-6, 80e-6
        relax1 = thermal_relaxation(t1, t2, 50e-9)
        relax2 = thermal_relaxation(t1, t2, 300e-9)
        channels = {"u": relax1.compose(dep1), "cx": relax2.tensor(relax2).compose(dep2)}
        readout = (0.02, 0.04)
    else:
        raise ValueError(kind)
    model = NoiseModel()
    for gate, ch in channels.items():
        model.add_all_qubit_error(ch, [gate])
    if readout is not None:
        model.add_readout_error(readout_error(*readout))
    return model, channels, readout


def aer_noise(channels, readout):
    from qiskit.quantum_info import Kraus
    from qiskit_aer.noise import NoiseModel, QuantumError, ReadoutError

    model = NoiseModel()
    for gate, ch in channels.items():
        # both tools write Kraus matrices little-endian (qubit 0 least significant)
        model.add_all_qubit_quantum_error(QuantumError(Kraus([np.asarray(k) for k in ch.kraus])), [gate])
    if readout is not None:
        p01, p10 = readout
        model.add_all_qubit_readout_error(ReadoutError([[1 - p01, p01], [p10, 1 - p10]]))
    return model


def kizuna_circuit(gates, n, measure=True):
    import kizuna

    c = kizuna.Circuit(n, n if measure else 0)
    for name, qs, ps in gates:
        c.gate(name, qs, ps)
    if measure:
        c.measure(list(range(n)), list(range(n)))
    return c


def aer_circuit(gates, n, measure=True):
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(n, n if measure else 0)
    for name, qs, ps in gates:
        if name == "u":
            qc.u(*ps, qs[0])
        else:
            qc.cx(*qs)
    if measure:
        qc.measure(range(n), range(n))
    return qc


def median_time(fn, repeat: int):
    out = fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def tvd(a: dict, b: dict) -> float:
    sa, sb = sum(a.values()), sum(b.values())
    return 0.5 * sum(abs(a.get(k, 0) / sa - b.get(k, 0) / sb) for k in set(a) | set(b))


def dm_agreement(gates, n, model, aer_model, threads) -> tuple[float | None, float]:
    """``(|1 - F|, max |rho_kizuna - rho_aer|)`` of the exact final density matrices (no
    measurements); F, the Uhlmann fidelity, costs matrix square roots of ``2**n x 2**n``
    matrices and is skipped (``None``) above 10 qubits."""
    from qiskit.quantum_info import DensityMatrix, state_fidelity
    from qiskit_aer import AerSimulator

    from kizuna.computing.execute import density_matrix

    ours = np.ascontiguousarray(density_matrix(kizuna_circuit(gates, n, False), model, num_threads=threads))
    qc = aer_circuit(gates, n, False)
    qc.save_density_matrix()
    sim = AerSimulator(method="density_matrix", noise_model=aer_model, max_parallel_threads=threads)
    theirs = np.asarray(sim.run(qc).result().data()["density_matrix"])
    diff = float(np.abs(ours - theirs).max())
    if n > 10:
        return None, diff
    fid = float(state_fidelity(DensityMatrix(ours), DensityMatrix(theirs), validate=False))
    return abs(1 - fid), diff


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dm-qubits", type=int, nargs="*", default=[6, 8, 10, 12])
    ap.add_argument("--traj-qubits", type=int, nargs="*", default=[10, 14, 18])
    ap.add_argument("--noise", nargs="+", default=["depolarizing", "device"])
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--shots", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-aer", action="store_true", help="time Kizuna only")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)

    import kizuna

    have_aer = False
    if not args.no_aer:
        try:
            from qiskit_aer import AerSimulator

            have_aer = True
        except ImportError:
            print("# qiskit-aer not installed; Kizuna only", file=sys.stderr)

    rows = []
    print(f"{'noise':>12} {'backend':>15} {'n':>3} {'kizuna s':>9} {'aer s':>9} {'ratio':>7} "
          f"{'tvd':>6} {'|1-F|':>8} {'max|drho|':>9} {'branches':>8}")
    plan = [("density_matrix", "density_matrix", n) for n in args.dm_qubits]
    plan += [("trajectories", "statevector", n) for n in args.traj_qubits]
    for kind in args.noise:
        model, channels, readout = kizuna_noise(kind)
        aer_model = aer_noise(channels, readout) if have_aer else None
        for backend, aer_method, n in plan:
            gates = gate_list(n, args.layers, seed=n)
            circuit = kizuna_circuit(gates, n)
            seeds = iter(range(10**6))

            def run_kizuna(circuit=circuit, seeds=seeds, model=model, backend=backend):
                return kizuna.run(circuit, shots=args.shots, seed=next(seeds), noise=model, backend=backend,
                                  num_threads=args.threads)

            t_k, res = median_time(run_kizuna, args.repeat)
            row = {"noise": kind, "backend": backend, "qubits": n, "layers": args.layers, "shots": args.shots,
                   "threads": args.threads, "kizuna_s": t_k, "branches": res.metadata.get("branches")}
            if have_aer:
                qc = aer_circuit(gates, n)
                sim = AerSimulator(method=aer_method, noise_model=aer_model, max_parallel_threads=args.threads)

                def run_aer(sim=sim, qc=qc, seeds=seeds):
                    return sim.run(qc, shots=args.shots, seed_simulator=next(seeds)).result().get_counts()

                t_a, aer_counts = median_time(run_aer, args.repeat)
                row.update(aer_s=t_a, ratio=t_a / t_k, tvd=tvd(res.counts, aer_counts))
                if backend == "density_matrix":
                    row["one_minus_fidelity"], row["max_abs_diff"] = dm_agreement(gates, n, model, aer_model,
                                                                                  args.threads)
            rows.append(row)
            fid, diff = row.get("one_minus_fidelity"), row.get("max_abs_diff")
            print(f"{kind:>12} {backend:>15} {n:>3} {t_k:>9.3f} {row.get('aer_s', float('nan')):>9.3f} "
                  f"{row.get('ratio', float('nan')):>6.2f}x {row.get('tvd', float('nan')):>6.3f} "
                  f"{'' if fid is None else f'{fid:.1e}':>8} {'' if diff is None else f'{diff:.1e}':>9} "
                  f"{row['branches']!s:>8}", flush=True)
    if args.json:
        write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
