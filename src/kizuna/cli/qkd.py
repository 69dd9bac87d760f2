"""``kizuna qkd``: ``rate`` (analytic key rate against distance, with the PLOB bound) and
``simulate`` (one pulse-level QKD session with full post-processing).

Every link parameter is an option of both commands; ``--preset gys`` starts from the GYS
parameters of Ma et al. (2005) instead of the modern defaults, and explicit options override it.
A QKD abort (QBER above threshold, no Bell violation, no finite key) is a result, not an error:
it prints the reason and exits 0.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from ._common import CliError, out

app = typer.Typer(
    name="qkd",
    help="Quantum key distribution: key-rate models and pulse-level simulations.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_PROTOCOL_HELP = "bb84-decoy, bb84-decoy-vacuum-weak, bb84, bb84-single-photon or bbm92."

ProtocolOpt = Annotated[str, typer.Option("--protocol", "-p", help=_PROTOCOL_HELP)]
PresetOpt = Annotated[str, typer.Option("--preset", help="Starting link parameters: modern or gys.")]
LossOpt = Annotated[float | None, typer.Option("--loss-db-per-km", help="Fiber attenuation in dB/km [0.2].",
                                                show_default=False)]
DetOpt = Annotated[float | None, typer.Option("--detector-efficiency", help="Bob's detection efficiency [0.6].",
                                               show_default=False)]
DarkOpt = Annotated[float | None, typer.Option("--dark-count-probability",
                                                help="Dark-count probability Y0 per pulse [1e-7].",
                                                show_default=False)]
MisOpt = Annotated[float | None, typer.Option("--misalignment", help="Misalignment error e_d [0.01].",
                                               show_default=False)]
FOpt = Annotated[float | None, typer.Option("--ec-efficiency", help="Error-correction efficiency f [1.16].",
                                             show_default=False)]
MuOpt = Annotated[float | None, typer.Option("--mu", help="Signal intensity (pairs per slot for bbm92); "
                                                          "omit to optimise it.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as one JSON document.")]


def _link(preset, loss, det, dark, mis, f):
    import dataclasses

    from kizuna.networking.qkd import QKDLink

    presets = {"modern": QKDLink.modern, "gys": QKDLink.gys}
    if preset not in presets:
        raise CliError(f"--preset must be one of {', '.join(presets)} (got {preset!r})")
    given = {"loss_db_per_km": loss, "detector_efficiency": det, "dark_count_probability": dark,
             "misalignment": mis, "ec_efficiency": f}
    return dataclasses.replace(presets[preset](), **{k: v for k, v in given.items() if v is not None})


def _distances(spec: str) -> list[float]:
    """``start:stop:step`` (stop included), a comma list, or one number."""
    def num(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            raise CliError(f"--distance-km must be numbers, 'a,b,c' or 'start:stop:step' (got {spec!r})") from None
        if not math.isfinite(x):
            raise CliError(f"--distance-km must be finite (got {text!r})")
        return x

    spec = spec.strip()
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) != 3:
            raise CliError(f"--distance-km range must be start:stop:step (got {spec!r})")
        start, stop, step = (num(p) for p in parts)
        if step <= 0:
            raise CliError(f"--distance-km step must be > 0 (got {step:g})")
        if stop < start:
            raise CliError(f"--distance-km stop must be >= start (got {spec!r})")
        count = math.floor((stop - start) / step + 1e-9) + 1
        if count > 100_000:
            raise CliError(f"--distance-km range has {count} points; at most 100000")
        return [round(start + i * step, 12) for i in range(count)]
    return [num(p) for p in spec.split(",") if p.strip()]


@app.command("rate")
def rate(
    protocol: ProtocolOpt = "bb84-decoy",
    distance_km: Annotated[str, typer.Option("--distance-km", "-d",
                                             help="Distances: 'start:stop:step' (stop included), 'a,b,c' or one.")
                           ] = "0:300:10",
    preset: PresetOpt = "modern",
    loss_db_per_km: LossOpt = None,
    detector_efficiency: DetOpt = None,
    dark_count_probability: DarkOpt = None,
    misalignment: MisOpt = None,
    ec_efficiency: FOpt = None,
    mu: MuOpt = None,
    nu: Annotated[float, typer.Option("--nu", help="Weak-decoy intensity (bb84-decoy-vacuum-weak).")] = 0.1,
    as_json: JsonOpt = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="Save rate vs distance with the PLOB bound "
                                                             "(PNG, PDF, SVG).", show_default=False)] = None,
) -> None:
    """Asymptotic secret key rate against distance, with the PLOB bound and the maximum distance."""
    from kizuna.networking.qkd import key_rate, max_distance_km

    link = _link(preset, loss_db_per_km, detector_efficiency, dark_count_probability, misalignment, ec_efficiency)
    distances = _distances(distance_km)
    if plot is not None and plot.parent and not plot.parent.exists():
        raise CliError(f"{plot}: folder {plot.parent} does not exist")
    points = [key_rate(protocol, d, link, mu=mu, nu=nu) for d in distances]
    reach = max_distance_km(protocol, link, mu=mu, nu=nu)
    if plot is not None:
        from kizuna.core._io import save_figure
        from kizuna.networking.qkd import plot_key_rates

        ax = plot_key_rates({protocol: points})
        save_figure(ax.figure, plot)
    if as_json:
        out(json.dumps({"protocol": protocol, "link": link.to_dict(),
                        "points": [{"distance_km": p.distance_km, "key_rate_bits_per_pulse": p.key_rate_bits_per_pulse,
                                    "mu": p.mu,
                                    "plob_bits_per_use": p.plob_bits_per_use if math.isfinite(p.plob_bits_per_use)
                                    else None,
                                    "transmissivity": p.transmissivity} for p in points],
                        "max_distance_km": reach}))
        return
    out(f"{protocol}: loss {link.loss_db_per_km:g} dB/km, detector {link.detector_efficiency:g}, "
        f"Y0 {link.dark_count_probability:g}, e_d {link.misalignment:g}, f {link.ec_efficiency:g}")
    out(f"{'distance_km':>11}  {'bits/pulse':>11}  {'mu':>7}  {'PLOB':>11}")
    for p in points:
        m = "-" if p.mu is None else f"{p.mu:.4f}"
        out(f"{p.distance_km:>11g}  {p.key_rate_bits_per_pulse:>11.4e}  {m:>7}  {p.plob_bits_per_use:>11.4e}")
    out(f"key rate reaches 0 at {reach:.1f} km")


@app.command("simulate")
def simulate(
    protocol: ProtocolOpt = "bb84-decoy",
    distance_km: Annotated[float, typer.Option("--distance-km", "-d", help="Fiber length in km.")] = 50.0,
    duration_s: Annotated[float, typer.Option("--duration-s", "-t", help="Simulated time in seconds.")] = 1.0,
    repetition_rate_hz: Annotated[float, typer.Option("--repetition-rate-hz", help="Pulses per second.")] = 80e6,
    seed: Annotated[int | None, typer.Option("--seed", "-s", min=0, help="Seed; same seed, same keys.",
                                             show_default=False)] = None,
    preset: PresetOpt = "modern",
    loss_db_per_km: LossOpt = None,
    detector_efficiency: DetOpt = None,
    dark_count_probability: DarkOpt = None,
    misalignment: MisOpt = None,
    ec_efficiency: FOpt = None,
    mu: MuOpt = None,
    weak_intensity: Annotated[float, typer.Option("--weak-intensity", help="Weak decoy intensity.")] = 0.2,
    vacuum_intensity: Annotated[float, typer.Option("--vacuum-intensity", help="Vacuum decoy intensity.")] = 0.0,
    x_basis_probability: Annotated[float, typer.Option("--x-basis-probability",
                                                       help="Probability of the X (key) basis.")] = 0.5,
    chsh_fraction: Annotated[float, typer.Option("--chsh-fraction", help="bbm92: slots for the CHSH test.")] = 0.1,
    attack: Annotated[str, typer.Option("--attack", help="none, intercept-resend or pns.")] = "none",
    attack_fraction: Annotated[float, typer.Option("--attack-fraction",
                                                   help="Fraction of pulses intercepted.")] = 1.0,
    qber_threshold: Annotated[float, typer.Option("--qber-threshold", help="Abort above this QBER.")] = 0.11,
    epsilon_sec: Annotated[float, typer.Option("--epsilon-sec", help="Secrecy parameter.")] = 1e-9,
    epsilon_cor: Annotated[float, typer.Option("--epsilon-cor", help="Correctness parameter.")] = 1e-15,
    as_json: JsonOpt = False,
) -> None:
    """Simulate a QKD session pulse by pulse, post-process it and report the final key."""
    from kizuna.networking.qkd import run_qkd

    link = _link(preset, loss_db_per_km, detector_efficiency, dark_count_probability, misalignment, ec_efficiency)
    if not 0 < duration_s < math.inf:
        raise CliError(f"--duration-s must be > 0 and finite (got {duration_s!r})")
    if duration_s * repetition_rate_hz > 2e9:
        raise CliError(f"--duration-s x --repetition-rate-hz = {duration_s * repetition_rate_hz:.3g} pulses; "
                       "at most 2e9 in one run")
    r = run_qkd(protocol, distance_km, link, duration_s=duration_s, repetition_rate_hz=repetition_rate_hz, mu=mu,
                weak_intensity=weak_intensity, vacuum_intensity=vacuum_intensity,
                x_basis_probability=x_basis_probability, chsh_fraction=chsh_fraction, attack=attack,
                attack_fraction=attack_fraction, qber_threshold=qber_threshold, epsilon_sec=epsilon_sec,
                epsilon_cor=epsilon_cor, keep_keys=False, seed=seed)
    if as_json:
        out(json.dumps(r.to_dict()))
        return
    out(f"{protocol} over {distance_km:g} km, {r.num_pulses} pulses ({r.duration_s:g} s at "
        f"{r.repetition_rate_hz:.4g} Hz), attack {attack}, seed {r.provenance['seed']}")
    out(f"detections:        {r.detections}")
    out(f"sifted key length: {r.sifted_key_length} ({r.key_bits} key-basis, {r.test_bits} test-basis bits)")
    if not math.isnan(r.qber):
        out(f"QBER:              {r.qber:.4%} (interval {r.qber_interval[0]:.4%} - {r.qber_interval[1]:.4%})")
    if r.chsh is not None:
        out(f"CHSH S:            {r.chsh:.4f} +- {r.chsh_standard_error:.4f}")
    if r.ec_efficiency is not None:
        out(f"error correction:  {r.leaked_bits_ec} bits leaked, f = {r.ec_efficiency:.3f}, "
            f"{r.errors_corrected} errors corrected")
    out(f"final key length:  {r.final_key_length}")
    out(f"secret key rate:   {r.secret_key_rate_bps:.6g} bits/s ({r.secret_key_rate_bits_per_pulse:.4g} bits/pulse)")
    if r.aborted:
        out(f"aborted: {r.abort_reason}")
    out(f"wall time {r.wall_time_s:.3f} s")
