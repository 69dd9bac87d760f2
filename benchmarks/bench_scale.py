"""Scale: simulators for circuits far beyond a state vector, beside their peers, in one process.

Each part is one function ``part_<name>(args) -> list[row]`` registered in ``PARTS``; a row is
a dict with at least ``part``, ``tool``, ``seconds`` and ``ratio`` (to Kizuna). Add a part by
writing its function, its options in ``add_arguments`` and one ``PARTS`` entry.

Part (a), ``stabilizer`` (issue 5): 1000 qubits, depth 100 random Clifford circuit (per layer
a random H or S on every qubit, then CX on a random perfect matching), every qubit measured
once at the end, 10,000 shots. Timed per tool, median of ``--repeat`` runs after one warm-up
(numba compilation excluded), circuit construction excluded:

* ``kizuna``: ``StabilizerBackend.sample`` on the flat instruction list -- compiling it to
  kernel arrays, the tableau reference run, Pauli-frame sampling, and the counts;
* ``kizuna run()``: ``kizuna.run(circuit, backend="stabilizer")`` end to end, which adds
  ``flatten`` and the bitstring formatting of ``Result`` (shown for honesty, not the target);
* ``stim``: ``circuit.compile_sampler()`` + ``sampler.sample(shots, bit_packed=True)``;
* ``aer``: ``AerSimulator(method="stabilizer").run(qc, shots).result().get_counts()``. Aer
  measures the tableau again for every shot (about 0.4 s a shot here), so by default it is
  timed at ``--aer-shots 20 200`` and its time at 10,000 shots extrapolated linearly (marked
  EXTRAPOLATED in the table); ``--aer-shots 10000`` times it for real (over an hour).

Targets: Kizuna within 3x of Stim (compile + sample), and faster than Aer. Kizuna's samples are
checked against Stim's (every bit's frequency, 5 sigma) so no tool is timed on a wrong answer.

    python benchmarks/bench_scale.py --part stabilizer --threads 2 --json out.json

Peers come from the ``bench`` extra (stim, qiskit-aer) and are skipped when missing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from _common import write_json


def median_time(fn, repeat: int) -> tuple[float, object]:
    """Median wall time of ``fn()`` over ``repeat`` runs after one warm-up run."""
    out = fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


# --- part (a): stabilizer ------------------------------------------------------------------------
STABILIZER_TARGET_VS_STIM = 3.0


def clifford_layers(n: int, depth: int, seed: int) -> list[tuple[str, tuple[int, ...]]]:
    """[(name, qubits)]: per layer a random h or s on every qubit, then cx on a random perfect
    matching (``n`` even)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    gates = []
    for _ in range(depth):
        for q, g in enumerate(rng.integers(0, 2, n).tolist()):
            gates.append(("h" if g == 0 else "s", (q,)))
        perm = rng.permutation(n).tolist()
        for i in range(0, n - 1, 2):
            gates.append(("cx", (perm[i], perm[i + 1])))
    return gates


def _kizuna_circuit(gates, n):
    import kizuna

    c = kizuna.Circuit(n, n)
    for name, qs in gates:
        c.gate(name, qs)
    c.measure(list(range(n)), list(range(n)))
    return c


def _stim_circuit(gates, n):
    import stim

    c = stim.Circuit()
    for name, qs in gates:
        c.append({"h": "H", "s": "S", "cx": "CX"}[name], list(qs))
    c.append("M", list(range(n)))
    return c


def _aer_circuit(gates, n):
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(n, n)
    for name, qs in gates:
        getattr(qc, name)(*qs)
    qc.measure(range(n), range(n))
    return qc


def _bit_means_from_counts(counts: dict[int, int], n: int, shots: int):
    import numpy as np

    ones = np.zeros(n)
    for key, v in counts.items():
        bits = np.array([(key >> b) & 1 for b in range(n)])
        ones += v * bits
    return ones / shots


def part_stabilizer(args) -> list[dict]:
    import numpy as np

    import kizuna
    from kizuna.computing import backends
    from kizuna.computing.backends.stabilizer import StabilizerBackend
    from kizuna.computing.circuit import flatten

    n, depth, shots = args.stab_qubits, args.stab_depth, args.stab_shots
    gates = clifford_layers(n, depth, seed=1)
    rows = []

    kc = _kizuna_circuit(gates, n)
    flat = flatten(kc)
    engine = StabilizerBackend(num_threads=args.threads)
    t_k, (counts, meta) = median_time(lambda: engine.sample(flat, n, shots, np.random.default_rng(7)),
                                      args.repeat)
    t_flat, _ = median_time(lambda: flatten(kc), 1)
    rows.append({"part": "stabilizer", "tool": "kizuna", "seconds": t_k,
                 "what": f"compile + reference + frames ({meta['method']}) + counts",
                 "distinct": len(counts)})
    registered = "stabilizer" in backends.BACKENDS
    if not registered:  # until kizuna.run registers the backend
        backends.BACKENDS["stabilizer"] = StabilizerBackend
    try:
        t_run, _ = median_time(lambda: kizuna.run(kc, shots=shots, seed=7, backend="stabilizer",
                                                  num_threads=args.threads), 1)
        rows.append({"part": "stabilizer", "tool": "kizuna run()", "seconds": t_run,
                     "what": f"flatten ({t_flat:.3f} s) + sample + Result", "distinct": len(counts)})
    except Exception as exc:  # noqa: BLE001 - run() may not take the backend yet
        print(f"# kizuna.run(backend='stabilizer') failed: {exc}", file=sys.stderr)
    finally:
        if not registered:
            del backends.BACKENDS["stabilizer"]

    ours = _bit_means_from_counts(counts, n, shots)
    try:
        import stim

        sc = _stim_circuit(gates, n)

        def stim_run():
            return sc.compile_sampler(seed=7).sample(shots, bit_packed=True)

        t_s, packed = median_time(stim_run, args.repeat)
        bits = np.unpackbits(packed, axis=1, bitorder="little")[:, :n]
        theirs = bits.mean(axis=0)
        se = np.sqrt(np.maximum(ours * (1 - ours), theirs * (1 - theirs)) * 2 / shots)
        worst = float((np.abs(ours - theirs) / np.where(se > 0, se, 1)).max())
        rows.append({"part": "stabilizer", "tool": "stim", "seconds": t_s,
                     "what": "compile_sampler + sample(bit_packed)",
                     "distinct": len({r.tobytes() for r in packed}), "max_z_vs_kizuna": worst})
        if worst > 5:
            print(f"# WARNING: kizuna and stim bit frequencies differ (max z = {worst:.1f})",
                  file=sys.stderr)
        del stim
    except ImportError:
        print("# stim not installed; skipped", file=sys.stderr)
    try:
        from qiskit_aer import AerSimulator

        qc = _aer_circuit(gates, n)
        sim = AerSimulator(method="stabilizer", max_parallel_threads=args.threads)
        points = []
        for aer_shots in sorted(set(args.aer_shots)):  # no warm-up: nothing to compile
            t = time.perf_counter()
            aer_counts = sim.run(qc, shots=aer_shots, seed_simulator=7).result().get_counts()
            points.append((aer_shots, time.perf_counter() - t))
            print(f"# aer: {aer_shots} shots in {points[-1][1]:.2f} s ({len(aer_counts)} distinct)",
                  file=sys.stderr)
        if any(p == shots for p, _ in points):
            t_a = dict(points)[shots]
            what = "run(method='stabilizer') + get_counts"
        elif len(points) >= 2:  # Aer samples shot by shot: a + b * shots, fitted
            (s0, t0), (s1, t1) = points[0], points[-1]
            slope = (t1 - t0) / (s1 - s0)
            t_a = t0 + slope * (shots - s0)
            what = (f"EXTRAPOLATED from {s0} and {s1} shots ({t0:.1f} s, {t1:.1f} s): "
                    f"{t0 - slope * s0:.1f} s + {slope:.3f} s/shot")
        else:
            t_a = points[0][1] * shots / points[0][0]
            what = f"EXTRAPOLATED proportionally from {points[0][0]} shots"
        rows.append({"part": "stabilizer", "tool": "aer", "seconds": t_a, "what": what,
                     "measured": points})
    except ImportError:
        print("# qiskit-aer not installed; skipped", file=sys.stderr)
    base = rows[0]["seconds"]
    for r in rows:
        r.update(qubits=n, depth=depth, shots=shots, ratio=r["seconds"] / base)
    return rows


def report_stabilizer(rows: list[dict]) -> None:
    by = {r["tool"]: r["seconds"] for r in rows}
    k = by["kizuna"]
    if "stim" in by:
        ratio = k / by["stim"]
        verdict = "met" if ratio <= STABILIZER_TARGET_VS_STIM else "MISSED"
        print(f"kizuna / stim = {ratio:.2f} (target <= {STABILIZER_TARGET_VS_STIM:g}: {verdict})")
    if "aer" in by:
        ratio = k / by["aer"]
        print(f"kizuna / aer  = {ratio:.2g} (Aer {by['aer'] / k:.0f}x slower; target < 1: "
              f"{'met' if ratio < 1 else 'MISSED'})")


# --- registry ------------------------------------------------------------------------------------
#: part name -> (run(args) -> rows, report(rows) -> None)
PARTS = {
    "stabilizer": (part_stabilizer, report_stabilizer),
}


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--stab-qubits", type=int, default=1000)
    ap.add_argument("--stab-depth", type=int, default=100)
    ap.add_argument("--stab-shots", type=int, default=10_000)
    ap.add_argument("--aer-shots", type=int, nargs="+", default=[20, 200],
                    help="shot counts Aer is timed at (one run each); its time at --stab-shots "
                         "is extrapolated linearly unless that count is among them (Aer samples "
                         "shot by shot: about 0.4 s a shot at 1000 qubits)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", nargs="+", default=list(PARTS), choices=list(PARTS))
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="write the figures to this file")
    add_arguments(ap)
    args = ap.parse_args(argv)

    all_rows = []
    for name in args.part:
        run, report = PARTS[name]
        rows = run(args)
        print(f"\n== {name} ==")
        print(f"{'tool':<14}{'seconds':>11}{'ratio':>11}  what")
        for r in rows:
            print(f"{r['tool']:<14}{r['seconds']:>11.3f}{r['ratio']:>11.2f}  {r['what']}")
        report(rows)
        all_rows += rows
    if args.json:
        write_json(args.json, all_rows, threads=args.threads, repeat=args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
