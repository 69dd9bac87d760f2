"""QKD speed: one second of an 80 MHz decoy-BB84 link with full post-processing, and Cascade.

Part ``link`` -- ``run_qkd("bb84-decoy", 50 km, duration_s=1)`` at 80 MHz (8e7 pulses, each
drawn on its own: intensity, photon click, dark count), then sifting, parameter estimation,
Cascade, verification hash, finite-key length (Lim et al. 2014) and Toeplitz privacy
amplification, on the modern link (0.2 dB/km, detector 60%, Y0 1e-7, e_d 1%). Wall time of the
whole run (median of ``--repeat``), with its stages timed separately. Target: <= 5 s on one core
(issue 7; SeQUeNCe is quoted there at about 420 s per simulated second at 10 km, not measured
here).

Part ``cascade`` -- Cascade (4 passes) on random keys of ``--cascade-bits`` bits with 1-5%
independent errors: throughput in Mbit/s of corrected key and the efficiency ``f`` (leaked bits
over ``n h(Q)``).

Part ``sequence`` -- the peer: SeQUeNCe's BB84 + Cascade stack (``QKDNode`` with
``stack_size=2``, its defaults: 80 MHz polarization source of mean photon number 0.1, ideal
detectors) over ``--sequence-km`` of 0.2 dB/km fiber, run for ``--sequence-duration-s``
simulated seconds (SeQUeNCe has no decoys and no privacy amplification), against Kizuna's
``run_qkd`` (decoy BB84, full post-processing) for one second of the same length. Figure: wall
seconds per simulated second; ratio = SeQUeNCe's over Kizuna's. Skipped when ``sequence`` (the
``bench`` extra) is missing.

``--one-core`` (default on Linux) pins the process to one CPU before anything runs.
Run: ``python benchmarks/bench_qkd.py [--json out.json]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
from _common import write_json

LINK_TARGET_S = 5.0


def part_link(args) -> list[dict]:
    from kizuna.networking.qkd import run_qkd

    run_qkd("bb84-decoy", args.distance_km, num_pulses=10_000, seed=0)  # imports, scipy warm-up
    times, result = [], None
    for i in range(args.repeat):
        t0 = time.perf_counter()
        result = run_qkd("bb84-decoy", args.distance_km, duration_s=args.duration_s,
                         repetition_rate_hz=args.rate_hz, seed=args.seed + i, keep_keys=False)
        times.append(time.perf_counter() - t0)
    wall = statistics.median(times)
    return [{"part": "link", "tool": "kizuna", "seconds": wall, "target_s": LINK_TARGET_S,
             "ratio": wall / LINK_TARGET_S, "pulses": result.num_pulses, "distance_km": args.distance_km,
             "sifted_key_length": result.sifted_key_length, "final_key_length": result.final_key_length,
             "qber": result.qber, "ec_efficiency": result.ec_efficiency, "aborted": result.aborted,
             "all_seconds": times}]


def report_link(rows) -> None:
    for r in rows:
        print(f"link: {r['pulses']:.3g} pulses at {r['distance_km']:g} km: {r['seconds']:.2f} s wall "
              f"(target <= {r['target_s']:g} s, {r['ratio']:.2f}x of it); sifted {r['sifted_key_length']}, "
              f"final key {r['final_key_length']} bits, QBER {r['qber']:.3%}, f {r['ec_efficiency']:.3f}")


def part_cascade(args) -> list[dict]:
    from kizuna.networking.qkd import cascade

    rows = []
    rng = np.random.default_rng(1)
    n = args.cascade_bits
    for q in args.cascade_qber:
        a = rng.integers(0, 2, n, dtype=np.uint8)
        b = a ^ (rng.random(n) < q).astype(np.uint8)
        times = []
        for i in range(args.repeat):
            t0 = time.perf_counter()
            r = cascade(a, b, q, seed=i)
            times.append(time.perf_counter() - t0)
        wall = statistics.median(times)
        rows.append({"part": "cascade", "tool": "kizuna", "qber": q, "bits": n, "seconds": wall,
                     "mbit_per_s": n / wall / 1e6, "efficiency": r.efficiency,
                     "residual_errors": int(np.count_nonzero(r.corrected != a)), "ratio": None})
    return rows


def report_cascade(rows) -> None:
    print(f"{'QBER':>6} {'bits':>10} {'seconds':>8} {'Mbit/s':>7} {'f':>6} {'residual':>8}")
    for r in rows:
        print(f"{r['qber']:>6.2%} {r['bits']:>10} {r['seconds']:>8.3f} {r['mbit_per_s']:>7.2f} "
              f"{r['efficiency']:>6.3f} {r['residual_errors']:>8}")


def part_sequence(args) -> list[dict]:
    try:
        from sequence.components.optical_channel import ClassicalChannel, QuantumChannel
        from sequence.kernel.timeline import Timeline
        from sequence.qkd.BB84 import pair_bb84_protocols
        from sequence.qkd.cascade import pair_cascade_protocols
        from sequence.topology.node import QKDNode
    except ImportError:
        print("sequence: not installed (pip install 'kizuna[bench]'); skipped")
        return []
    from kizuna.networking.qkd import run_qkd

    stop_ps = round(args.sequence_duration_s * 1e12)
    tl = Timeline(stop_time=stop_ps)
    alice, bob = QKDNode("alice", tl, stack_size=2, seed=1), QKDNode("bob", tl, stack_size=2, seed=2)
    pair_bb84_protocols(alice.protocol_stack[0], bob.protocol_stack[0])
    pair_cascade_protocols(alice.protocol_stack[1], bob.protocol_stack[1])
    metres = args.sequence_km * 1e3
    for name, src, dst in (("qc_ab", alice, bob), ("qc_ba", bob, alice)):
        QuantumChannel(name, tl, attenuation=0.0002, distance=metres).set_ends(src, dst.name)
    for name, src, dst in (("cc_ab", alice, bob), ("cc_ba", bob, alice)):
        ClassicalChannel(name, tl, distance=metres).set_ends(src, dst.name)
    tl.init()
    alice.protocol_stack[1].push(256, 10**9, stop_ps)
    t0 = time.perf_counter()
    tl.run()
    seq_per_s = (time.perf_counter() - t0) / args.sequence_duration_s
    run_qkd("bb84-decoy", args.sequence_km, num_pulses=10_000, seed=0)
    t0 = time.perf_counter()
    r = run_qkd("bb84-decoy", args.sequence_km, duration_s=1.0, seed=args.seed, keep_keys=False)
    kiz_per_s = time.perf_counter() - t0
    return [{"part": "sequence", "tool": "sequence", "distance_km": args.sequence_km,
             "simulated_s": args.sequence_duration_s, "seconds_per_simulated_s": seq_per_s,
             "ratio": seq_per_s / kiz_per_s},
            {"part": "sequence", "tool": "kizuna", "distance_km": args.sequence_km, "simulated_s": 1.0,
             "seconds_per_simulated_s": kiz_per_s, "final_key_length": r.final_key_length, "ratio": 1.0}]


def report_sequence(rows) -> None:
    for r in rows:
        print(f"{r['tool']:>9}: {r['seconds_per_simulated_s']:10.2f} s wall per simulated second at "
              f"{r['distance_km']:g} km ({r['simulated_s']:g} s simulated); ratio {r['ratio']:.0f}")


PARTS = {"link": (part_link, report_link), "cascade": (part_cascade, report_cascade),
         "sequence": (part_sequence, report_sequence)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", nargs="+", default=list(PARTS), choices=list(PARTS))
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each row (median)")
    ap.add_argument("--distance-km", type=float, default=50.0)
    ap.add_argument("--duration-s", type=float, default=1.0)
    ap.add_argument("--rate-hz", type=float, default=80e6)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cascade-bits", type=int, default=1_000_000)
    ap.add_argument("--cascade-qber", type=float, nargs="+", default=[0.01, 0.02, 0.03, 0.05])
    ap.add_argument("--sequence-km", type=float, default=10.0)
    ap.add_argument("--sequence-duration-s", type=float, default=0.002, help="SeQUeNCe's simulated time")
    ap.add_argument("--one-core", action=argparse.BooleanOptionalAction, default=sys.platform.startswith("linux"))
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)
    if args.one_core and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    all_rows = []
    for name in args.part:
        run, report = PARTS[name]
        rows = run(args)
        report(rows)
        all_rows += rows
    if args.json:
        write_json(args.json, all_rows, load_average=os.getloadavg(), **{k: v for k, v in vars(args).items()
                                                                        if k != "json"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
