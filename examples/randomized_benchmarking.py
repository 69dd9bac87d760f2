"""Single-qubit randomized benchmarking on a noisy simulator: recover the error put in.

Each sequence is ``m`` uniformly random single-qubit Cliffords followed by the Clifford that
inverts them, then a measurement; every Clifford is one ``unitary`` instruction followed by
the noise model's depolarizing channel ``rho -> (1 - p) rho + p I/2``. The survival
probability (outcome 0) decays as ``F(m) = A f**m + B`` (Magesan, Gambetta & Emerson, PRL 106,
180504 (2011)), and for this noise ``f = 1 - p``, so the fit returns the depolarizing
probability that was put in, and the error per Clifford ``r = (1 - f) / 2``.

Run: ``python examples/randomized_benchmarking.py [--p 0.02] [--shots 2000] [--seed 7]``.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

import kizuna

_H = np.array([[1, 1], [1, -1]], dtype=complex) / np.sqrt(2)
_S = np.diag([1, 1j])


def clifford_group() -> list[np.ndarray]:
    """The 24 single-qubit Cliffords (up to global phase), generated from H and S."""
    group = [np.eye(2, dtype=complex)]
    frontier = list(group)
    while frontier:
        new = []
        for g in frontier:
            for gen in (_H, _S):
                h = gen @ g
                if not any(_same_up_to_phase(h, k) for k in group):
                    group.append(h)
                    new.append(h)
        frontier = new
    return group


def _same_up_to_phase(a: np.ndarray, b: np.ndarray) -> bool:
    return abs(abs(np.trace(a.conj().T @ b)) - 2) < 1e-9


def rb_circuit(length: int, rng: np.random.Generator, group: list[np.ndarray]) -> kizuna.Circuit:
    """``length`` random Cliffords, their inverse, and a measurement of qubit 0."""
    c = kizuna.Circuit(1, 1)
    total = np.eye(2, dtype=complex)
    for _ in range(length):
        g = group[int(rng.integers(len(group)))]
        c.unitary(g, [0])
        total = g @ total
    c.unitary(total.conj().T, [0])
    return c.measure(0, 0)


def run_rb(p: float, lengths, sequences: int, shots: int, seed: int) -> dict:
    """Survival probabilities per length and the fitted decay (see the module docstring)."""
    from scipy.optimize import curve_fit

    noise = kizuna.NoiseModel().add_all_qubit_error(kizuna.channels.depolarizing(p), ["unitary"])
    rng = np.random.default_rng(seed)
    group = clifford_group()
    survival = []
    for m in lengths:
        zeros = 0
        for _ in range(sequences):
            c = rb_circuit(m, rng, group)
            counts = kizuna.run(c, shots=shots, seed=rng, noise=noise, backend="density_matrix").counts
            zeros += counts.get("0", 0)
        survival.append(zeros / (sequences * shots))
    (a, f, b), _ = curve_fit(lambda m, a, f, b: a * f**m + b, np.asarray(lengths, float), survival,
                             p0=(0.5, 0.95, 0.5), bounds=([0, 0, 0], [1, 1, 1]))
    return {
        "p_input": p,
        "lengths": list(lengths),
        "survival": survival,
        "fit": {"A": a, "f": f, "B": b},
        "p_fitted": 1 - f,
        "error_per_clifford": (1 - f) / 2,
    }


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--p", type=float, default=0.02, help="depolarizing probability per Clifford")
    ap.add_argument("--shots", type=int, default=2000)
    ap.add_argument("--sequences", type=int, default=10)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    result = run_rb(args.p, [1, 5, 10, 20, 40, 80, 120], args.sequences, args.shots, args.seed)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
