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

Part (b), ``mps`` (issue 5): matrix product states on two circuits, every qubit measured at the
end, 1000 shots (``--mps-shots``):

* ``ghz``: a 100-qubit GHZ state (``h(0)``, then ``cx(q, q + 1)`` down the chain);
* ``brickwork``: 50 qubits, depth 10, a random SU(4) (Haar, determinant 1, seeded) on every
  neighbouring pair ``(i, i + 1)`` with ``i = layer mod 2``; bond dimension up to ~900.

Timed per tool, median of ``--mps-repeat`` runs (default 1, no warm-up: nothing to compile),
circuit construction excluded, no truncation on either side (threshold 1e-16, no bond cap):

* ``kizuna``: ``MPSBackend(num_threads=--threads).sample`` on the flat instruction list: the
  gates (SVDs and QRs) and the batched sampling sweep; ``kizuna 1 shot`` runs the same with
  one shot, which is the gate part alone (the difference is the sampling);
* ``kizuna run()`` (GHZ only): ``kizuna.run(circuit, backend="mps")`` end to end;
* ``aer``: ``AerSimulator(method="matrix_product_state", max_parallel_threads=--threads,
  mps_omp_threads=--threads)``, ``run(qc, shots).result().get_counts()``. Aer measures a copy
  of the MPS shot by shot, 0.24-0.4 s a shot on the brickwork (its 1000 shots took ~492 s on
  the 2-core machine, 380 s of them sampling), so there it is timed at ``--mps-aer-shots 10
  100`` and its time at 1000 shots extrapolated linearly from the two points (``t0 + slope *
  (1000 - s0)``; marked EXTRAPOLATED in the table); ``--mps-aer-shots 1000`` times it for real.
  The GHZ circuit runs in full.

Checks, so no tool is timed on a wrong answer: GHZ -- only the all-0 and all-1 outcomes, each
about half (5 sigma); brickwork -- every qubit's frequency of 1 agrees between Kizuna and Aer
(two-sample z-score below 5; Aer's fewer shots set the resolution) and, with
``--mps-exact-marginals`` (one more simulation), with Kizuna's exact ``<Z_q>``
(``MPSBackend.expectation_values``). Target: Kizuna faster than Aer on both circuits.

    python benchmarks/bench_scale.py --part mps --threads 1 --mps-exact-marginals --json out.json

Measured so (2026-11, the shared 2-core machine under load, one thread each): GHZ 0.05 s vs
Aer 0.46 s; brickwork 55 s (41 s gates, 14 s sampling) vs Aer ~398 s (157 s + 0.24 s a shot,
EXTRAPOLATED). With ``--threads 2`` Kizuna's brickwork took 49 s at one moment and 230 s at
another, when other jobs loaded the cores (OpenBLAS threads spin waiting for each other); on a
shared machine ``--threads 1`` gives the steadier figure.

Peers come from the ``bench`` extra (stim, qiskit-aer) and are skipped when missing.
"""

from __future__ import annotations

import argparse
import math
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


# --- part (b): mps -------------------------------------------------------------------------------
MPS_TARGET_VS_AER = 1.0


def brickwork_unitaries(n: int, depth: int, seed: int):
    """[(4x4 unitary, (i, i + 1))]: per layer a Haar SU(4) on every pair ``i = layer mod 2, +2``."""
    import numpy as np
    from scipy.stats import unitary_group

    rng = np.random.default_rng(seed)
    out = []
    for layer in range(depth):
        for i in range(layer % 2, n - 1, 2):
            u = unitary_group.rvs(4, random_state=rng)
            out.append((u / np.linalg.det(u) ** 0.25, (i, i + 1)))
    return out


def _mps_circuits(case: str, n: int, depth: int):
    """``(kizuna circuit, qiskit circuit or None)`` for ``case`` ("ghz" or "brickwork")."""
    import kizuna

    kc = kizuna.Circuit(n, n)
    ops = [("h", (0,))] + [("cx", (q, q + 1)) for q in range(n - 1)] if case == "ghz" else None
    if case == "ghz":
        for name, qs in ops:
            kc.gate(name, qs)
    else:
        ops = brickwork_unitaries(n, depth, seed=1)
        for u, qs in ops:
            kc.unitary(u, list(qs))
    kc.measure(list(range(n)), list(range(n)))
    try:
        from qiskit import QuantumCircuit
    except ImportError:
        return kc, None
    qc = QuantumCircuit(n, n)
    for op, qs in ops:
        if isinstance(op, str):
            getattr(qc, op)(*qs)
        else:
            qc.unitary(op, list(qs))
    qc.measure(range(n), range(n))
    return kc, qc


def _timed(fn, repeat: int):
    """Median wall time of ``fn()`` over ``repeat`` runs (no warm-up) and the last result."""
    times, out = [], None
    for _ in range(max(repeat, 1)):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def _ones_fraction(counts: dict, n: int):
    """Per-qubit frequency of 1 from counts keyed by int or by bitstring (qubit 0 rightmost)."""
    import numpy as np

    ones, total = np.zeros(n), 0
    for key, v in counts.items():
        k = int(key.replace(" ", ""), 2) if isinstance(key, str) else int(key)
        ones += v * np.array([(k >> q) & 1 for q in range(n)])
        total += v
    return ones / total, total


def part_mps(args) -> list[dict]:
    cases = [("ghz", args.mps_ghz_qubits, 1), ("brickwork", args.mps_brick_qubits, args.mps_brick_depth)]
    rows = []
    for case, n, depth in cases:
        rows += _mps_case(args, case, n, depth)
    return rows


def _mps_case(args, case: str, n: int, depth: int) -> list[dict]:
    import numpy as np

    import kizuna
    from kizuna.computing.backends.mps import MPSBackend
    from kizuna.computing.circuit import flatten

    shots = args.mps_shots
    label = f"{case}-{n}" if case == "ghz" else f"{case}-{n}x{depth}"
    kc, qc = _mps_circuits(case, n, depth)
    flat = flatten(kc)
    engine = MPSBackend(num_threads=args.threads)
    t_k, (counts, meta) = _timed(lambda: engine.sample(flat, n, shots, np.random.default_rng(7)),
                                 args.mps_repeat)
    print(f"# kizuna {label}: {t_k:.2f} s, max bond {meta['max_bond_reached']}, "
          f"{meta['svds']} SVDs, truncation error {meta['truncation_error']:.1e}", file=sys.stderr)
    case_rows = [{"tool": "kizuna", "seconds": t_k,
                  "what": f"gates + sampling (max bond {meta['max_bond_reached']}, "
                          f"{meta['svds']} SVDs)",
                  "max_bond_reached": meta["max_bond_reached"],
                  "truncation_error": meta["truncation_error"]}]
    t_1, _ = _timed(lambda: engine.sample(flat, n, 1, np.random.default_rng(7)), args.mps_repeat)
    case_rows.append({"tool": "kizuna 1 shot", "seconds": t_1,
                      "what": f"the gates alone: sampling {shots} shots took ~{max(t_k - t_1, 0):.2f} s"})
    if case == "ghz":
        t_run, _ = _timed(lambda: kizuna.run(kc, shots=shots, seed=7, backend="mps",
                                             num_threads=args.threads), args.mps_repeat)
        case_rows.append({"tool": "kizuna run()", "seconds": t_run,
                          "what": "flatten + sample + Result"})
    ours, _ = _ones_fraction(counts, n)
    if case == "ghz":
        bad = sorted(set(counts) - {0, (1 << n) - 1})
        k1 = counts.get((1 << n) - 1, 0)
        z = abs(k1 - shots / 2) / math.sqrt(shots / 4)
        if bad or z > 5:
            print(f"# WARNING: kizuna GHZ samples wrong: {len(bad)} other outcome(s), "
                  f"all-ones z = {z:.1f}", file=sys.stderr)
        case_rows[0]["check"] = f"2 outcomes, all-ones {k1}/{shots} (z = {z:.1f})"
    if args.mps_exact_marginals and case == "brickwork":
        exact = (1 - engine.expectation_values(flat, n, [0] * n, [1 << q for q in range(n)])) / 2
        se = np.sqrt(np.maximum(exact * (1 - exact), 1e-12) / shots)
        worst = float((np.abs(ours - exact) / se).max())
        case_rows[0]["max_z_vs_exact"] = worst
        if worst > 5:
            print(f"# WARNING: kizuna marginals differ from its exact <Z> (max z = {worst:.1f})",
                  file=sys.stderr)
    if qc is not None:
        try:
            from qiskit_aer import AerSimulator
        except ImportError:
            print("# qiskit-aer not installed; skipped", file=sys.stderr)
        else:
            sim = AerSimulator(method="matrix_product_state", max_parallel_threads=args.threads,
                               mps_omp_threads=args.threads)
            aer_shots = [shots] if case == "ghz" else sorted(set(args.mps_aer_shots))
            points, aer_counts = [], {}
            for s_ in aer_shots:
                t = time.perf_counter()
                aer_counts = sim.run(qc, shots=s_, seed_simulator=7).result().get_counts()
                points.append((s_, time.perf_counter() - t))
                print(f"# aer {label}: {s_} shots in {points[-1][1]:.2f} s", file=sys.stderr)
            if any(p == shots for p, _ in points):
                t_a, what = dict(points)[shots], "run(method='matrix_product_state') + get_counts"
            elif len(points) >= 2:
                (s0, t0), (s1, t1) = points[0], points[-1]
                slope = (t1 - t0) / (s1 - s0)
                t_a = t0 + slope * (shots - s0)
                what = (f"EXTRAPOLATED from {s0} and {s1} shots ({t0:.1f} s, {t1:.1f} s): "
                        f"{t0 - slope * s0:.1f} s + {slope:.3f} s/shot")
            else:
                t_a = points[0][1] * shots / points[0][0]
                what = f"EXTRAPOLATED proportionally from {points[0][0]} shots"
            theirs, m = _ones_fraction(aer_counts, n)
            se = np.sqrt(np.maximum(ours * (1 - ours), theirs * (1 - theirs)) * (1 / shots + 1 / m))
            worst = float((np.abs(ours - theirs) / np.where(se > 0, se, 1)).max())
            row = {"tool": "aer", "seconds": t_a, "what": what, "measured": points,
                   "max_z_vs_kizuna": worst}
            if case == "ghz":
                bad = {int(k.replace(" ", ""), 2) for k in aer_counts} - {0, (1 << n) - 1}
                row["check"] = f"{len(aer_counts)} outcome(s), {len(bad)} unexpected"
            case_rows.append(row)
            if worst > 5:
                print(f"# WARNING: kizuna and aer qubit frequencies differ (max z = {worst:.1f})",
                      file=sys.stderr)
    base = case_rows[0]["seconds"]
    for r in case_rows:
        r.update(part="mps", circuit=label, tool=f"{r['tool']} [{label}]", qubits=n, depth=depth,
                 shots=shots, ratio=r["seconds"] / base)
    return case_rows


def report_mps(rows: list[dict]) -> None:
    for circuit in dict.fromkeys(r["circuit"] for r in rows):
        by = {r["tool"].split(" [")[0]: r for r in rows if r["circuit"] == circuit}
        k = by["kizuna"]["seconds"]
        for r in by.values():
            if "check" in r:
                print(f"{circuit}: {r['tool']}: {r['check']}")
        if "aer" in by:
            a = by["aer"]["seconds"]
            verdict = "met" if k / a < MPS_TARGET_VS_AER else "MISSED"
            print(f"{circuit}: kizuna / aer = {k / a:.3g} (Aer {a / k:.1f}x slower; target < "
                  f"{MPS_TARGET_VS_AER:g}: {verdict}); qubit frequencies max z = "
                  f"{by['aer']['max_z_vs_kizuna']:.1f}")


# --- registry ------------------------------------------------------------------------------------
#: part name -> (run(args) -> rows, report(rows) -> None)
PARTS = {
    "stabilizer": (part_stabilizer, report_stabilizer),
    "mps": (part_mps, report_mps),
}


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--stab-qubits", type=int, default=1000)
    ap.add_argument("--stab-depth", type=int, default=100)
    ap.add_argument("--stab-shots", type=int, default=10_000)
    ap.add_argument("--aer-shots", type=int, nargs="+", default=[20, 200],
                    help="shot counts Aer is timed at (one run each); its time at --stab-shots "
                         "is extrapolated linearly unless that count is among them (Aer samples "
                         "shot by shot: about 0.4 s a shot at 1000 qubits)")
    ap.add_argument("--mps-shots", type=int, default=1000)
    ap.add_argument("--mps-ghz-qubits", type=int, default=100)
    ap.add_argument("--mps-brick-qubits", type=int, default=50)
    ap.add_argument("--mps-brick-depth", type=int, default=10)
    ap.add_argument("--mps-repeat", type=int, default=1)
    ap.add_argument("--mps-aer-shots", type=int, nargs="+", default=[10, 100],
                    help="shot counts Aer is timed at on the brickwork (one run each); its time at "
                         "--mps-shots is extrapolated linearly unless that count is among them")
    ap.add_argument("--mps-exact-marginals", action="store_true",
                    help="also check Kizuna's brickwork samples against its exact <Z_q> (one more "
                         "simulation)")


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
        width = max([14] + [len(r["tool"]) + 2 for r in rows])
        print(f"{'tool':<{width}}{'seconds':>11}{'ratio':>11}  what")
        for r in rows:
            print(f"{r['tool']:<{width}}{r['seconds']:>11.3f}{r['ratio']:>11.2f}  {r['what']}")
        report(rows)
        all_rows += rows
    if args.json:
        write_json(args.json, all_rows, threads=args.threads, repeat=args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
