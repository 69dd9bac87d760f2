"""``kizuna sense``: ``ramsey`` (optimal single-qubit Ramsey experiment, Cramér–Rao bound and a
seeded MLE check) and ``scaling`` (phase uncertainty against the number of spins for a probe,
with the standard-quantum-limit and Heisenberg lines) and ``nv`` (NV-centre DC/AC magnetometry
sensitivity in T/sqrt(Hz))."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from ._common import CliError, out

app = typer.Typer(
    name="sense",
    help="Quantum sensing: Ramsey budgets and probe scaling.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _parse_range(text: str) -> list[int]:
    """``"2:100"`` -> 2..100, ``"2:100:7"`` -> every 7th, ``"8"`` -> [8]."""
    parts = text.split(":")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        raise CliError(f"--n must look like 2:100 or 2:100:5 or 16 (got {text!r})") from None
    if len(nums) == 1:
        nums = [nums[0], nums[0], 1]
    elif len(nums) == 2:
        nums.append(1)
    elif len(nums) != 3:
        raise CliError(f"--n must look like 2:100 or 2:100:5 or 16 (got {text!r})")
    lo, hi, step = nums
    if lo < 1 or hi < lo or step < 1:
        raise CliError(f"--n needs 1 <= start <= stop and step >= 1 (got {text!r})")
    if (hi - lo) // step + 1 > 10_000:
        raise CliError(f"--n {text!r} asks for more than 10000 points; use a step")
    return list(range(lo, hi + 1, step))


@app.command("ramsey")
def ramsey(
    t2_s: Annotated[float, typer.Option("--t2-s", help="Coherence time T2 in seconds.")] = 1e-4,
    shots: Annotated[int, typer.Option("--shots", help="Shots per experiment.")] = 10_000,
    repetitions: Annotated[
        int, typer.Option("--repetitions", help="Seeded repetitions of the simulated MLE check (0: skip).")
    ] = 1000,
    seed: Annotated[
        int | None, typer.Option("--seed", "-s", min=0, help="Seed; same seed, same result. Default: fresh.",
                                 show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON document.")] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Save F(t)/t against t (PNG, PDF, SVG).", show_default=False)
    ] = None,
) -> None:
    """Optimal single-qubit Ramsey interrogation time (T2/2), Cramér–Rao bound, and an MLE check."""
    import numpy as np

    from kizuna.core.random import resolve_seed
    from kizuna.sensing import ramsey as ramsey_budget
    from kizuna.sensing import ramsey_mle, simulate_ramsey_counts

    if repetitions < 0:
        raise CliError(f"--repetitions must be >= 0 (got {repetitions})")
    result = ramsey_budget(t2_s, shots)
    doc = result.to_dict()
    if repetitions:
        rng, recorded = resolve_seed(seed)
        t = result.optimal_time_s
        omega = math.pi / 2 / t  # quadrature point of the fringe
        counts = simulate_ramsey_counts(omega, t, t2_s, shots, repetitions=repetitions, seed=rng)
        est = ramsey_mle(counts, shots, t, t2_s)
        std = float(est.std(ddof=1)) if repetitions > 1 else float("nan")
        doc["mle"] = {"true_detuning_rad_s": omega, "repetitions": repetitions, "seed": recorded,
                      "mean_rad_s": float(est.mean()), "std_rad_s": std,
                      "std_over_cramer_rao": std / result.frequency_uncertainty_rad_s}
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from kizuna.core._io import save_figure
        from kizuna.sensing import ramsey_fisher

        ts = np.linspace(0.01, 3.0, 300) * t2_s
        rate = [ramsey_fisher(x, t2_s, method="analytic") / x for x in ts]
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.plot(ts * 1e6, rate)
        ax.axvline(result.optimal_time_s * 1e6, ls="--", c="k", lw=0.8, label="T2/2")
        ax.set_xlabel("interrogation time (µs)")
        ax.set_ylabel("F(t)/t (s)")
        ax.legend()
        fig.tight_layout()
        save_figure(fig, plot)
        plt.close(fig)
    if as_json:
        out(json.dumps(doc))
        return
    out(f"Ramsey, T2 = {t2_s:g} s, {shots} shots")
    out(f"optimal interrogation time: {result.optimal_time_s:.6g} s (T2/2)")
    out(f"Fisher information per shot: {result.fisher_per_shot:.6g} s^2")
    out(f"Cramér-Rao bound: {result.frequency_uncertainty_rad_s:.6g} rad/s "
        f"({result.frequency_uncertainty_rad_s / (2 * math.pi):.6g} Hz)")
    out(f"sensitivity: {result.sensitivity_rad_s_per_sqrt_hz:.6g} rad/s/sqrt(Hz) (no overhead)")
    if repetitions:
        m = doc["mle"]
        out(f"MLE over {repetitions} seeded repetitions (seed {m['seed']}): std {m['std_rad_s']:.6g} rad/s "
            f"= {m['std_over_cramer_rao']:.4f} x bound")


@app.command("scaling")
def scaling(
    probe: Annotated[str, typer.Option("--probe", help="ghz, product or squeezed.")] = "ghz",
    n: Annotated[str, typer.Option("--n", help="Spin numbers: start:stop[:step] (inclusive).")] = "2:100",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON document.")] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Save precision against N, log-log (PNG, PDF, SVG).",
                                  show_default=False)
    ] = None,
) -> None:
    """Single-shot phase uncertainty against N with the standard quantum limit and Heisenberg lines."""
    from kizuna.sensing import phase_uncertainty

    if probe not in ("ghz", "product", "squeezed"):
        raise CliError(f"--probe must be ghz, product or squeezed (got {probe!r})")
    ns = _parse_range(n)
    if probe == "squeezed":
        ns = [k for k in ns if k >= 3]
        if not ns:
            raise CliError("--probe squeezed needs N >= 3")
    rows = [{"n": k, "delta_phi": phase_uncertainty(k, probe), "sql": 1 / math.sqrt(k), "heisenberg": 1 / k}
            for k in ns]
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from kizuna.core._io import save_figure

        fig, ax = plt.subplots(figsize=(5, 3.5))
        x = [r["n"] for r in rows]
        ax.loglog(x, [r["delta_phi"] for r in rows], "o-", ms=3, label=probe)
        ax.loglog(x, [r["sql"] for r in rows], "--", label="SQL 1/√N")
        ax.loglog(x, [r["heisenberg"] for r in rows], ":", label="Heisenberg 1/N")
        ax.set_xlabel("N")
        ax.set_ylabel("Δφ (rad, one shot)")
        ax.legend()
        fig.tight_layout()
        save_figure(fig, plot)
        plt.close(fig)
    if as_json:
        out(json.dumps({"probe": probe, "points": rows}))
        return
    out(f"{'N':>6} {'delta_phi':>12} {'SQL':>12} {'Heisenberg':>12}")
    for r in rows:
        out(f"{r['n']:>6} {r['delta_phi']:>12.6g} {r['sql']:>12.6g} {r['heisenberg']:>12.6g}")


@app.command("nv")
def nv(
    t2_s: Annotated[float, typer.Option("--t2-s", help="Coherence time: T2* for dc, T2 (echo) for ac (s).")] = 1e-6,
    mode: Annotated[str, typer.Option("--mode", help="dc (Ramsey) or ac (Hahn echo).")] = "dc",
    overhead_s: Annotated[float, typer.Option("--overhead-s", help="Initialisation + readout time per shot (s).")] = 0.0,
    readout_fidelity: Annotated[
        float | None, typer.Option("--readout-fidelity", help="Readout fidelity C in (0, 1] (default 1).",
                                   show_default=False)
    ] = None,
    photons_bright: Annotated[
        float | None, typer.Option("--photons-bright", help="Mean photons per readout from m_s=0 (sets C).",
                                   show_default=False)
    ] = None,
    photons_dark: Annotated[
        float | None, typer.Option("--photons-dark", help="Mean photons per readout from m_s=1 (sets C).",
                                   show_default=False)
    ] = None,
    stretch: Annotated[float, typer.Option("--stretch", help="Decay exponent p in e^{-(tau/T)^p}.")] = 1.0,
    tau_s: Annotated[
        float | None, typer.Option("--tau-s", help="Interrogation time (default: the optimum).", show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON document.")] = False,
) -> None:
    """Shot-noise sensitivity (T/sqrt(Hz)) of a single NV centre, DC (Ramsey) or AC (Hahn echo)."""
    from kizuna.sensing import nv_readout_fidelity, nv_sensitivity

    if (photons_bright is None) != (photons_dark is None):
        raise CliError("--photons-bright and --photons-dark go together")
    if photons_bright is not None:
        if readout_fidelity is not None:
            raise CliError("give --readout-fidelity or the photon counts, not both")
        readout_fidelity = nv_readout_fidelity(photons_bright, photons_dark)
    r = nv_sensitivity(t2_s, mode=mode, interrogation_time_s=tau_s, overhead_s=overhead_s,
                       readout_fidelity=1.0 if readout_fidelity is None else readout_fidelity, stretch=stretch)
    if as_json:
        out(json.dumps(r.to_dict()))
        return
    out(f"NV {mode} magnetometry, {'T2*' if mode == 'dc' else 'T2'} = {t2_s:g} s, overhead {overhead_s:g} s, "
        f"readout fidelity {r.readout_fidelity:.4g}")
    out(f"interrogation time: {r.interrogation_time_s:.6g} s")
    out(f"sensitivity: {r.sensitivity_t_per_sqrt_hz:.6g} T/sqrt(Hz) ({r.sensitivity_t_per_sqrt_hz * 1e9:.4g} nT/sqrt(Hz))")
