"""``kizuna net``: ``chain`` (a repeater chain of equal links) and ``run`` (a scenario file):
simulate quantum networks and report delivered pairs per second and fidelity."""

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


@app.command("chain")
def chain(
    links: Annotated[int, typer.Option("--links", "-n", min=1, help="Number of equal elementary links.")] = 4,
    link_fidelity: Annotated[
        float, typer.Option("--link-fidelity", "-f", help="Fidelity of each heralded link (a Werner state).")
    ] = 1.0,
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
                          "loss, 0.2 dB/km).", show_default=False),
    ] = None,
    loss_db_per_km: Annotated[float, typer.Option("--loss-db-per-km", help="Fiber attenuation.")] = 0.2,
    swap_depolarizing: Annotated[
        float, typer.Option("--swap-depolarizing", help="Two-qubit depolarizing probability of a Bell measurement.")
    ] = 0.0,
    readout_error: Annotated[
        float, typer.Option("--readout-error", help="Probability each Bell-measurement bit is misread.")
    ] = 0.0,
    representation: Annotated[
        str, typer.Option("--representation", help="auto, bell_diagonal or density_matrix.")
    ] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON document.")] = False,
    samples: Annotated[bool, typer.Option("--samples", help="With --json: include every pair's fidelity.")] = False,
) -> None:
    """Simulate a repeater chain (swap as soon as possible) and report pairs per second and fidelity."""
    from kizuna.networking import Memory, RepeaterChain, simulate_chain

    memory = Memory(t1_s=t1_s, t2_s=t2_s, cutoff_s=cutoff_s)
    spec = RepeaterChain.uniform(links, length_km=length_km, link_fidelity=link_fidelity,
                                 success_probability=success_probability, memory=memory,
                                 loss_db_per_km=loss_db_per_km, swap_gate_depolarizing=swap_depolarizing,
                                 readout_error=readout_error)
    bar, update = _progress_bar()
    with bar:
        result = simulate_chain(spec, duration_s, seed=seed, representation=representation, progress=update)
    if as_json:
        out(json.dumps(result.to_dict(include_samples=samples)))
        return
    f = "n/a" if result.delivered == 0 else f"{result.mean_fidelity:.6f} ± {result.fidelity_standard_error:.6f}"
    out(f"repeater chain: {links} link(s) of {length_km:g} km, link fidelity {link_fidelity:g}, "
        f"success probability {spec.links[0].success_probability:.4g} per attempt, seed {result.provenance['seed']}")
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
