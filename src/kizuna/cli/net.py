"""``kizuna net``: ``chain`` (a repeater chain of equal links: Werner links, or links derived
from the source, fiber, detector and memory hardware) and ``run`` (a scenario file): simulate
quantum networks and report delivered pairs per second and fidelity."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Annotated

import typer

from ._common import CliError, note, out

app = typer.Typer(
    name="net",
    help="Quantum network simulations.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _progress_bar():
    """A rich progress bar on stderr and its update callable; ``(nullcontext, None)`` when stderr
    is not a terminal (pipes and logs get no control characters)."""
    import contextlib
    import sys

    if not sys.stderr.isatty():
        return contextlib.nullcontext(), None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                   TimeElapsedColumn(), console=Console(stderr=True), transient=True)
    task = bar.add_task("chain", total=1.0)
    return bar, (lambda frac: bar.update(task, completed=frac))


#: The hardware options of ``net chain``: option -> (model section, field). Any of them (or
#: ``--scheme``) makes the links hardware-derived (``HeraldedLink.from_hardware``).
_HARDWARE_OPTIONS = {
    "--source-rate-hz": ("source", "rate_hz"),
    "--source-efficiency": ("source", "efficiency"),
    "--g2": ("source", "g2"),
    "--indistinguishability": ("source", "indistinguishability"),
    "--emission-fidelity": ("source", "emission_fidelity"),
    "--detector-efficiency": ("detector", "efficiency"),
    "--dark-count-rate-hz": ("detector", "dark_count_rate_hz"),
    "--dead-time-s": ("detector", "dead_time_s"),
    "--window-s": ("detector", "window_s"),
    "--memory-efficiency": ("memory", "efficiency"),
    "--alpha": ("link", "alpha"),
}
_SCHEMES = {"barrett-kok": "barrett_kok", "barrett_kok": "barrett_kok", "single-click": "single_click",
            "single_click": "single_click"}


def _model(cls, fields: dict, options: dict):
    """``cls(**fields)``; an error is prefixed with the option it is about (``options``:
    field -> option name), so ``efficiency`` of the source and of the detector are told apart."""
    from kizuna.errors import KizunaError

    try:
        return cls(**fields)
    except KizunaError as exc:
        msg = str(exc)
        hits = sorted((msg.find(f), opt) for f, opt in options.items() if f in msg)
        raise CliError(f"{hits[0][1]}: {msg}" if hits else msg) from None


def _hardware_chain(links: int, length_km: float, loss_db_per_km: float, given: dict, scheme: str | None,
                    t1_s: float, t2_s: float, cutoff_s: float, swap_depolarizing: float, readout_error: float):
    """The hardware-derived chain of ``net chain`` (``given``: hardware option -> value, for the
    options on the command line)."""
    from kizuna.networking import (
        Detector,
        Fiber,
        HeraldedLink,
        Memory,
        PhotonSource,
        RepeaterChain,
    )

    if scheme is not None and scheme not in _SCHEMES:
        raise CliError(f"--scheme must be barrett-kok or single-click (got {scheme!r})")
    scheme = _SCHEMES[scheme or "barrett-kok"]
    if "--alpha" in given and scheme != "single_click":
        raise CliError("--alpha is the single-click bright-state population; it needs --scheme single-click")
    fields: dict = {"source": {}, "detector": {}, "memory": {}, "link": {}}
    names: dict = {"source": {}, "detector": {}, "memory": {}, "link": {}}
    for option, value in given.items():
        section, name = _HARDWARE_OPTIONS[option]
        fields[section][name] = value
        names[section][name] = option
    names["memory"] |= {"t1_s": "--t1-s", "t2_s": "--t2-s", "cutoff_s": "--cutoff-s"}
    source = _model(PhotonSource, fields["source"], names["source"])
    detector = _model(Detector, fields["detector"], names["detector"])
    memory = _model(Memory, {**fields["memory"], "t1_s": t1_s, "t2_s": t2_s, "cutoff_s": cutoff_s}, names["memory"])
    fiber = Fiber(length_km, loss_db_per_km)
    link = _model(lambda **kw: HeraldedLink.from_hardware(fiber, source, detector, memory, scheme=scheme, **kw),
                  fields["link"], {"alpha": "--alpha"})
    chain = RepeaterChain((link,) * links, memory=memory, swap_gate_depolarizing=swap_depolarizing,
                          readout_error=readout_error)
    return chain, scheme


@app.command("chain")
def chain(
    links: Annotated[int, typer.Option("--links", "-n", min=1, help="Number of equal elementary links.")] = 4,
    link_fidelity: Annotated[
        float | None,
        typer.Option("--link-fidelity", "-f", help="Fidelity of each heralded link (a Werner state). Default: 1. "
                                                  "Not with the hardware options.", show_default=False)
    ] = None,
    length_km: Annotated[float, typer.Option("--length-km", "-L", help="Length of each link in km.")] = 10.0,
    duration_s: Annotated[float, typer.Option("--duration-s", "-t", help="Simulated time in seconds.")] = 1.0,
    seed: Annotated[
        int | None, typer.Option("--seed", "-s", min=0, help="Seed; same seed, same result. Default: fresh.",
                                 show_default=False)
    ] = None,
    t2_s: Annotated[float, typer.Option("--t2-s", help="Memory coherence time T2 in seconds.")] = math.inf,
    t1_s: Annotated[float, typer.Option("--t1-s", help="Memory relaxation time T1 in seconds.")] = math.inf,
    cutoff_s: Annotated[float, typer.Option("--cutoff-s", help="Discard pairs stored longer than this (s).")] = math.inf,
    success_probability: Annotated[
        float | None,
        typer.Option("--success-probability", "-p",
                     help="Success probability of one link attempt (default: Barrett-Kok over the fiber's "
                          "loss, 0.2 dB/km). Not with the hardware options.", show_default=False),
    ] = None,
    loss_db_per_km: Annotated[float, typer.Option("--loss-db-per-km", help="Fiber attenuation.")] = 0.2,
    swap_depolarizing: Annotated[
        float, typer.Option("--swap-depolarizing", "--swap-gate-error",
                            help="Two-qubit depolarizing probability of a Bell measurement.")
    ] = 0.0,
    readout_error: Annotated[
        float, typer.Option("--readout-error", "--measurement-error",
                            help="Probability each Bell-measurement bit is misread.")
    ] = 0.0,
    representation: Annotated[
        str, typer.Option("--representation", help="auto, bell_diagonal or density_matrix.")
    ] = "auto",
    scheme: Annotated[
        str | None,
        typer.Option("--scheme", help="Derive the links from the hardware with this heralding scheme: barrett-kok "
                                      "or single-click (default barrett-kok when another hardware option is given).",
                     show_default=False, rich_help_panel="Hardware-derived links"),
    ] = None,
    source_rate_hz: Annotated[
        float | None, typer.Option("--source-rate-hz", help="Photon source trigger rate in Hz. Default: no limit.",
                                   show_default=False, rich_help_panel="Hardware-derived links")
    ] = None,
    source_efficiency: Annotated[
        float | None, typer.Option("--source-efficiency", help="Probability a trigger puts a photon in the fiber. "
                                   "Default: 1.", show_default=False, rich_help_panel="Hardware-derived links")
    ] = None,
    g2: Annotated[
        float | None, typer.Option("--g2", help="Source g2(0). Default: 0.", show_default=False,
                                   rich_help_panel="Hardware-derived links")
    ] = None,
    indistinguishability: Annotated[
        float | None, typer.Option("--indistinguishability", help="Photon indistinguishability M. Default: 1.",
                                   show_default=False, rich_help_panel="Hardware-derived links")
    ] = None,
    emission_fidelity: Annotated[
        float | None, typer.Option("--emission-fidelity", help="Fidelity of the spin-photon state. Default: 1.",
                                   show_default=False, rich_help_panel="Hardware-derived links")
    ] = None,
    detector_efficiency: Annotated[
        float | None, typer.Option("--detector-efficiency", help="Detector efficiency. Default: 1.",
                                   show_default=False, rich_help_panel="Hardware-derived links")
    ] = None,
    dark_count_rate_hz: Annotated[
        float | None, typer.Option("--dark-count-rate-hz", help="Dark counts per second. Default: 0.",
                                   show_default=False, rich_help_panel="Hardware-derived links")
    ] = None,
    dead_time_s: Annotated[
        float | None, typer.Option("--dead-time-s", help="Detector dead time after a click, seconds. Default: 0.",
                                   show_default=False, rich_help_panel="Hardware-derived links")
    ] = None,
    window_s: Annotated[
        float | None, typer.Option("--window-s", help="Detection window of one attempt, seconds. Default: 1e-9.",
                                   show_default=False, rich_help_panel="Hardware-derived links")
    ] = None,
    alpha: Annotated[
        float | None, typer.Option("--alpha", help="Single-click bright-state population. Default: 0.1.",
                                   show_default=False, rich_help_panel="Hardware-derived links")
    ] = None,
    memory_efficiency: Annotated[
        float | None, typer.Option("--memory-efficiency", help="Memory photon emission efficiency. Default: 1.",
                                   show_default=False, rich_help_panel="Hardware-derived links")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON document.")] = False,
    samples: Annotated[bool, typer.Option("--samples", help="With --json: include every pair's fidelity.")] = False,
) -> None:
    """Simulate a repeater chain (swap as soon as possible) and report pairs per second and fidelity.

    The links herald Werner pairs of --link-fidelity, or, with --scheme or any other hardware
    option, are derived from the source, fiber, detector and memories (success probability,
    heralded state, attempt period, detector dead time)."""
    from kizuna.networking import Memory, RepeaterChain, simulate_chain
    from kizuna.networking.sweep import link_figures

    values = {"--source-rate-hz": source_rate_hz, "--source-efficiency": source_efficiency, "--g2": g2,
              "--indistinguishability": indistinguishability, "--emission-fidelity": emission_fidelity,
              "--detector-efficiency": detector_efficiency, "--dark-count-rate-hz": dark_count_rate_hz,
              "--dead-time-s": dead_time_s, "--window-s": window_s, "--alpha": alpha,
              "--memory-efficiency": memory_efficiency}
    given = {k: v for k, v in values.items() if v is not None}
    hardware = scheme is not None or bool(given)
    if hardware:
        named = (["--scheme"] if scheme is not None else []) + list(given)
        for option, value in (("--link-fidelity", link_fidelity), ("--success-probability", success_probability)):
            if value is not None:
                raise CliError(f"{option} sets a Werner link; it cannot be combined with the hardware-derived link "
                               f"of {', '.join(named)} (drop one)")
        spec, scheme = _hardware_chain(links, length_km, loss_db_per_km, given, scheme, t1_s, t2_s, cutoff_s,
                                       swap_depolarizing, readout_error)
    else:
        memory = Memory(t1_s=t1_s, t2_s=t2_s, cutoff_s=cutoff_s)
        spec = RepeaterChain.uniform(links, length_km=length_km,
                                     link_fidelity=1.0 if link_fidelity is None else link_fidelity,
                                     success_probability=success_probability, memory=memory,
                                     loss_db_per_km=loss_db_per_km, swap_gate_depolarizing=swap_depolarizing,
                                     readout_error=readout_error)
    bar, update = _progress_bar()
    with bar:
        result = simulate_chain(spec, duration_s, seed=seed, representation=representation, progress=update)
    link = spec.links[0]
    figures = link_figures(link)
    if as_json:
        doc = result.to_dict(include_samples=samples)
        doc["link"] = {"model": "hardware" if hardware else "werner",
                       "scheme": scheme.replace("_", "-") if hardware else None, **figures}
        out(json.dumps(doc))
        return
    f = "n/a" if result.delivered == 0 else f"{result.mean_fidelity:.6f} ± {result.fidelity_standard_error:.6f}"
    if hardware:
        out(f"repeater chain: {links} link(s) of {length_km:g} km, {scheme.replace('_', '-')} links from the "
            f"hardware, seed {result.provenance['seed']}")
        out(f"link: success probability {link.success_probability:.4g} per attempt, attempt period "
            f"{figures['attempt_period_s']:.4g} s, heralded fidelity {link.fidelity:.6f}")
        out(f"      click probability {link.click_probability:.4g}, dead time {figures['dead_time_s']:g} s blocks "
            f"{link.blocked_attempts} attempt(s) per click; alone {link.success_rate_hz:.6g} heralds per second")
    else:
        lf = 1.0 if link_fidelity is None else link_fidelity
        out(f"repeater chain: {links} link(s) of {length_km:g} km, link fidelity {lf:g}, "
            f"success probability {link.success_probability:.4g} per attempt, seed {result.provenance['seed']}")
    out(f"delivered pairs:  {result.delivered} in {result.duration_s:g} s ({result.pairs_per_second:.6g} per second)")
    out(f"mean fidelity:    {f}")
    if result.discarded:
        out(f"discarded (cutoff): {result.discarded}")
    out(f"events: {result.events}, wall time {result.wall_time_s:.3f} s ({result.provenance['representation']})")


@app.command("run")
def run(
    scenario: Annotated[
        Path, typer.Argument(help="Scenario file (.yaml, .yml or .json).", metavar="SCENARIO", show_default=False)
    ],
    seed: Annotated[
        int | None, typer.Option("--seed", "-s", min=0, help="Seed (overrides the file's).", show_default=False)
    ] = None,
    duration_s: Annotated[
        float | None, typer.Option("--duration-s", "-t", help="Simulated time (overrides the file's).",
                                   show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON document.")] = False,
    samples: Annotated[bool, typer.Option("--samples", help="With --json: include every pair's fidelity.")] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Save a plot of the fidelity distributions (PNG, PDF, SVG).",
                                  show_default=False)
    ] = None,
) -> None:
    """Simulate a network scenario: route its requests and report pairs per second and fidelity per request."""
    from kizuna.networking.scenario import Scenario, plot_requests, run_scenario

    if not scenario.exists():
        raise CliError(f"{scenario}: no such file")
    spec = Scenario.load(scenario)
    if duration_s is not None:
        if not 0 < duration_s < math.inf:
            raise CliError(f"--duration-s must be > 0 and finite (got {duration_s!r})")
        spec = dataclasses.replace(spec, duration_s=duration_s)
    bar, update = _progress_bar()
    with bar:
        result = run_scenario(spec, seed=seed, progress=update)
    if plot is not None:
        from kizuna.core._io import save_figure

        ax = plot_requests(result)
        save_figure(ax.figure, plot)
    if as_json:
        out(json.dumps(result.to_dict(include_samples=samples)))
        return
    from rich.console import Console
    from rich.table import Table

    out(f"{spec.name}: {len(spec.nodes)} nodes, {len(spec.links)} links, {len(spec.requests)} request(s), "
        f"{result.duration_s:g} s simulated, seed {result.provenance['seed']}")
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("request", "hops", "pairs", "pairs/s", "fidelity", "± s.e.", "p5", "p50", "p95"):
        table.add_column(col, justify="left" if col == "request" else "right", no_wrap=True)
    unrouted = []
    for r in result.requests:
        name = f"{r.source} -> {r.target}"
        if not r.routed:
            table.add_row(name, "-", "0", "0", "not routed", "", "", "", "")
            unrouted.append(f"{name}: not routed: {r.reason}")
            continue
        pct = r.fidelity_percentiles
        cells = [r.mean_fidelity, r.fidelity_standard_error, pct.get("p5"), pct.get("p50"), pct.get("p95")]
        cells = [f"{v:.4f}" if r.delivered else "n/a" for v in cells]
        table.add_row(name, str(len(r.path) - 1), str(r.delivered), f"{r.pairs_per_second:.4g}", *cells)
    Console(highlight=False, soft_wrap=False, width=max(100, len(max(unrouted, default="")))).print(table)
    for line in unrouted:
        out(line)
    note(f"events: {result.events}, wall time {result.wall_time_s:.3f} s")
