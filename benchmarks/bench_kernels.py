"""Numba state-vector kernels: achieved memory bandwidth, beside a plain scale pass and numpy.

For each size it times every kernel of ``kizuna.core._kernels._numba_sv`` on a random state
(median of ``--repeat``) with each thread count of ``--threads``, and prints:

* GB/s: bytes the kernel must move (amplitudes read + written, each counted once; a kernel that
  touches half the state counts half) divided by its time;
* % bw: that figure over the bandwidth of an in-place numba ``state *= c`` pass measured in the
  same run with the same threads: the target is 100% (a memory-bound kernel cannot beat it;
  ``kq5`` does 32 complex multiply-adds per amplitude and is compute-bound on small machines);
* numpy ms and speed-up: ``statevector.apply_matrix`` (or the plain numpy equivalent) with the
  same operator, over the best numba time.

    python benchmarks/bench_kernels.py                 # 20, 22, 24 qubits; 1 and all threads
    python benchmarks/bench_kernels.py --large --json kernels.json   # adds 26 qubits (1 GiB)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import date

import numba
import numpy as np
from numba import njit, prange

from kizuna.core._kernels import _numba_sv as K
from kizuna.core._kernels import statevector as npsv
from kizuna.core.gates import gate_matrix


@njit(cache=True, nogil=True, parallel=True)
def _scale(state, c):
    # the streaming reference: one read and one write of every amplitude (uint64 indices, so
    # that the loop vectorises, as in the kernels)
    n = state.size
    chunk = min(1 << 12, n)
    for ch in prange(n // chunk):
        lo = np.uint64(ch * chunk)
        for i in range(lo, lo + np.uint64(chunk)):
            state[i] *= c


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def median_time(fn, repeat: int) -> float:
    fn()  # warm-up: compilation, page faults
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def random_unitary(k: int, rng) -> np.ndarray:
    a = rng.normal(size=(1 << k, 1 << k)) + 1j * rng.normal(size=(1 << k, 1 << k))
    q, r = np.linalg.qr(a)
    return q * (np.diag(r) / np.abs(np.diag(r)))


def controlled(u: np.ndarray) -> np.ndarray:
    """4x4 controlled-u with the control on the low bit (indices 1 and 3 hold the target)."""
    m = np.eye(4, dtype=np.complex128)
    m[np.ix_([1, 3], [1, 3])] = u
    return m


def kernel_cases(n: int, state: np.ndarray, rng):
    """(name, numba call, bytes moved, numpy call or None) for each kernel on ``state``."""
    dt = state.dtype
    nb = state.nbytes
    mid = n // 2
    u1 = random_unitary(1, rng)
    u2 = random_unitary(2, rng)
    d2 = np.exp(1j * rng.uniform(0, 2 * np.pi, 4))
    ph = np.exp(0.7j)
    cases = [
        ("1q q=0", lambda: K.apply_1q(state, u1.astype(dt), 0), 2 * nb, (u1, [0])),
        (
            f"1q q={mid}",
            lambda: K.apply_1q(state, u1.astype(dt), mid),
            2 * nb,
            (u1, [mid]),
        ),
        (
            f"1q q={n - 1}",
            lambda: K.apply_1q(state, u1.astype(dt), n - 1),
            2 * nb,
            (u1, [n - 1]),
        ),
        (
            "diag_1q rz q=0",
            lambda: K.apply_diag_1q(state, dt.type(ph.conjugate()), dt.type(ph), 0),
            2 * nb,
            (np.diag([ph.conjugate(), ph]), [0]),
        ),
        (
            f"diag_1q p q={mid}",
            lambda: K.apply_diag_1q(state, dt.type(1), dt.type(ph), mid),
            nb,
            (np.diag([1, ph]), [mid]),
        ),
        (
            f"diag rzz (0,{mid})",
            lambda: K.apply_diag(state, d2.astype(dt), np.array([0, mid])),
            2 * nb,
            (np.diag(d2), [0, mid]),
        ),
        (
            f"diag 2q ({mid},{n - 1})",
            lambda: K.apply_diag(state, d2.astype(dt), np.array([mid, n - 1])),
            2 * nb,
            (np.diag(d2), [mid, n - 1]),
        ),
        (
            f"controlled_1q c=0 t={mid}",
            lambda: K.apply_controlled_1q(state, u1.astype(dt), np.array([0]), mid),
            nb,
            (controlled(u1), [0, mid]),
        ),
        (
            f"2q (1,{mid})",
            lambda: K.apply_2q(state, u2.astype(dt), 1, mid),
            2 * nb,
            (u2, [1, mid]),
        ),
    ]
    for k, qs in (
        (2, [0, mid]),
        (3, [0, 3, mid]),
        (4, [0, 2, mid, n - 1]),
        (5, [0, 1, 4, mid, n - 1]),
    ):
        uk = random_unitary(k, rng).astype(dt)
        qa = np.array(qs, dtype=np.int64)
        cases.append(
            (
                f"kq k={k} {tuple(qs)}",
                lambda uk=uk, qa=qa: K.apply_kq(state, uk, qa),
                2 * nb,
                (uk, qs),
            )
        )
    uk = random_unitary(3, rng).astype(dt)
    qa = np.array([mid - 1, mid, mid + 1], dtype=np.int64)
    cases.append(
        (
            f"kq k=3 {tuple(qa.tolist())}",
            lambda: K.apply_kq(state, uk, qa),
            2 * nb,
            (uk, qa.tolist()),
        )
    )
    cases += [
        ("x q=0", lambda: K.apply_x(state, 0), 2 * nb, (gate_matrix("x"), [0])),
        (
            f"cx ({mid},0)",
            lambda: K.apply_cx(state, mid, 0),
            nb,
            (gate_matrix("cx"), [mid, 0]),
        ),
        (
            f"swap (0,{mid})",
            lambda: K.apply_swap(state, 0, mid),
            nb,
            (gate_matrix("swap"), [0, mid]),
        ),
        (
            f"ccx (0,1,{mid})",
            lambda: K.apply_mcx(state, np.array([0, 1]), mid),
            nb // 2,
            (gate_matrix("ccx"), [0, 1, mid]),
        ),
    ]
    return cases


def reduction_cases(n: int, state: np.ndarray, rng):
    nb = state.nbytes
    mid = n // 2
    shots = 1000
    u = np.sort(rng.random(shots))

    def np_sample():
        cum = np.cumsum(np.abs(state) ** 2)
        return np.minimum(np.searchsorted(cum, u, side="right"), state.size - 1)

    # a 200-term Hamiltonian-like sum: 20 distinct x-masks, 10 z-masks each
    xm = np.repeat(rng.integers(1, 1 << n, 20), 10).astype(np.int64)
    zm = rng.integers(0, 1 << n, 200).astype(np.int64)
    cf = rng.normal(size=200)
    x1, z1 = int(xm[0]), int(zm[0])
    out = np.empty(state.size, dtype=np.float64)
    return [
        (
            f"probability_one q={mid}",
            lambda: K.probability_one(state, mid),
            nb // 2,
            lambda: npsv.probability_one(state, mid),
        ),
        (
            "probabilities (new array)",
            lambda: K.probabilities(state),
            nb + nb // 2,
            lambda: np.abs(state) ** 2,
        ),
        (
            "probabilities (out=)",
            lambda: K.probabilities(state, out),
            nb + nb // 2,
            lambda: np.square(np.abs(state, out=out), out=out),
        ),
        (f"sample_indices {shots}", lambda: K.sample_indices(state, u), nb, np_sample),
        ("expectation_pauli", lambda: K.expectation_pauli(state, x1, z1), nb, None),
        (
            "pauli_sum 200 terms/20 x",
            lambda: K.expectation_pauli_sum(state, xm, zm, cf),
            20 * nb,
            None,
        ),
        (
            f"collapse q={mid}",
            lambda: K.collapse(state, mid, 0, 1.0),
            nb + nb // 2,
            lambda: npsv.collapse(state, mid, 0, 1.0),
        ),  # last: it zeroes half the state
    ]


def run_size(n: int, dt: np.dtype, args) -> dict:
    """Time every kernel on a random ``n``-qubit state; print a table; return the figures."""
    rng = np.random.default_rng(n)
    state = (rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)).astype(dt)
    state /= np.linalg.norm(state)
    one = dt.type(1.0)
    bw = {}
    for th in args.threads:
        K.set_num_threads(th)
        t = median_time(lambda: _scale(state, one), args.repeat)
        bw[th] = 2 * state.nbytes / t / 1e9
    print(
        f"\n{n} qubits, {args.dtype}, state {state.nbytes / 2**20:.0f} MiB; scale pass "
        + ", ".join(f"{bw[th]:.1f} GB/s ({th} thr)" for th in args.threads)
    )
    head = f"{'kernel':<28}{'MiB':>7}"
    for th in args.threads:
        head += f"{f'ms {th}t':>9}{f'GB/s {th}t':>10}{'% bw':>6}"
    head += f"{'numpy ms':>10}{'speed-up':>9}"
    print(head)
    print("-" * len(head))
    np_repeat = max(1, min(args.repeat, 3))
    rows = []
    cases = [(*c, "gate") for c in kernel_cases(n, state, rng)]
    cases += [(*c, "fn") for c in reduction_cases(n, state, rng)]
    for name, fn, nbytes, ref, kind in cases:
        if args.only and args.only not in name:
            continue
        row = {"kernel": name, "bytes": nbytes, "threads": {}}
        line = f"{name:<28}{nbytes / 2**20:>7.0f}"
        for th in args.threads:
            K.set_num_threads(th)
            t = median_time(fn, args.repeat)
            gbs = nbytes / t / 1e9
            row["threads"][th] = {
                "seconds": t,
                "gb_per_s": gbs,
                "fraction_of_scale_bw": gbs / bw[th],
            }
            line += f"{t * 1e3:>9.2f}{gbs:>10.1f}{100 * gbs / bw[th]:>5.0f}%"
        if ref is not None and not args.no_numpy:
            if kind == "gate":
                op, qs = np.asarray(ref[0], dtype=np.complex128), ref[1]
                t_np = median_time(
                    lambda op=op, qs=qs: npsv.apply_matrix(state, op, qs), np_repeat
                )
            else:
                t_np = median_time(ref, np_repeat)
            best = min(v["seconds"] for v in row["threads"].values())
            row["numpy_seconds"] = t_np
            row["speedup_vs_numpy"] = t_np / best
            line += f"{t_np * 1e3:>10.1f}{t_np / best:>8.1f}x"
        else:
            line += f"{'-':>10}{'-':>9}"
        print(line, flush=True)
        rows.append(row)
    return {"state_bytes": state.nbytes, "scale_pass_gb_per_s": bw, "kernels": rows}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qubits", type=int, nargs="+", default=[20, 22, 24])
    ap.add_argument("--large", action="store_true", help="add 26 qubits (1 GiB state)")
    ap.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=sorted({1, numba.config.NUMBA_NUM_THREADS}),
    )
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--dtype", choices=["complex128", "complex64"], default="complex128"
    )
    ap.add_argument("--no-numpy", action="store_true", help="skip the numpy comparison")
    ap.add_argument("--only", help="run only kernels whose name contains this text")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)
    sizes = list(args.qubits) + ([26] if args.large and 26 not in args.qubits else [])
    dt = np.dtype(args.dtype)
    print(
        f"{cpu_model()}, {os.cpu_count()} CPUs; numba {numba.__version__}, numpy {np.__version__};"
        f" threads {args.threads}; median of {args.repeat}; target: 100% of the scale pass"
    )

    report = {
        "benchmark": "bench_kernels",
        "date": date.today().isoformat(),
        "machine": {
            "platform": platform.platform(),
            "processor": cpu_model(),
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "numba": numba.__version__,
            "threading_layer": None,
        },
        "dtype": args.dtype,
        "repeat": args.repeat,
        "sizes": {},
    }
    for n in sizes:
        report["sizes"][n] = run_size(n, dt, args)
        try:
            report["machine"]["threading_layer"] = numba.threading_layer()
        except ValueError:
            pass
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(report, f, indent=1)
        os.replace(tmp, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
