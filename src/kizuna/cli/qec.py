"""``kizuna qec surface|repetition``: memory experiments of error-correcting codes.

One distance and one ``--p`` run one experiment; several (``--distance 3,5,7 --p
0.005,0.01``, or the options repeated) run a threshold sweep over the grid, and ``--plot
out.png`` draws it. A progress bar (shots done) goes to stderr; the table, or with ``--json``
one JSON document (``ThresholdSweep.to_dict``), to stdout.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from ._common import CliError, note, out

app = typer.Typer(
    name="qec",
    help="Quantum error correction: repetition- and surface-code memory experiments.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _numbers(values: list[str] | None, what: str, kind):
    """Repeated and comma-separated option values as numbers of ``kind``."""
    items = []
    for v in values or []:
        for part in str(v).split(","):
            part = part.strip()
            if not part:
                continue
            try:
                x = kind(part)
            except ValueError:
                noun = "an integer" if kind is int else "a number"
                raise CliError(f"{what} must be {noun} (got {part!r})") from None
            items.append(x)
    if not items:
        raise CliError(f"{what} needs at least one value")
    seen = set()
    unique = [x for x in items if not (x in seen or seen.add(x))]
    return unique


def _interval(lo: float, hi: float) -> str:
    return f"[{lo:.2e}, {hi:.2e}]"


def _run(code: str, distance, rounds, p, shots, seed, workers, basis, as_json, plot, progress):
    from kizuna.computing import qec

    distances = _numbers(distance, "--distance", int)
    ps = _numbers(p, "--p", float)
    if plot is not None and plot.parent and not plot.parent.exists():
        raise CliError(f"{plot}: folder {plot.parent} does not exist")
    # check every parameter before the progress bar starts (an error is then one line)
    builder = qec.surface_code_memory if code == "surface" else qec.repetition_code_memory
    for d in distances:
        for x in ps:
            builder(d, rounds or d, x, basis=basis)
    bar = None
    if progress:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = Console(stderr=True)
        if console.is_terminal:  # a bar in a log file is noise
            bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TextColumn("shots"), TimeElapsedColumn(), TimeRemainingColumn(),
                           console=console, transient=True)
    try:
        if bar is None:
            sweep = qec.threshold_sweep(code, distances, ps, rounds=rounds, shots=shots, seed=seed,
                                        workers=workers, basis=basis)
        else:
            with bar:
                task = bar.add_task(f"{code} d={','.join(map(str, distances))}",
                                    total=shots * len(distances) * len(ps))
                sweep = qec.threshold_sweep(
                    code, distances, ps, rounds=rounds, shots=shots, seed=seed, workers=workers,
                    basis=basis, progress=lambda done, total: bar.update(task, completed=done))
    except ImportError as e:  # pymatching missing: say how to install it, in one line
        raise CliError(str(e)) from None
    if plot is not None:
        try:
            qec.plot_threshold(sweep, plot)
        except ImportError as e:
            raise CliError(str(e)) from None
    if as_json:
        doc = sweep.to_dict()
        if plot is not None:
            doc["plot"] = str(plot)
        out(json.dumps(doc))
        return
    from rich.console import Console
    from rich.table import Table

    out(f"{code} code, memory {sweep.basis.upper()}: {shots} shots per point, seed {sweep.seed}, "
        f"circuit-level depolarizing noise p, decoder pymatching")
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("d", "rounds", "p", "shots", "errors", "P_L (shot)", "95% CI", "P_L (round)",
                "95% CI ", "time (s)"):
        table.add_column(col, justify="right")
    for r in sweep.rows:
        table.add_row(str(r.distance), str(r.rounds), f"{r.p:g}", str(r.shots),
                      str(r.logical_errors), f"{r.logical_error_rate:.3e}", _interval(*r.interval),
                      f"{r.logical_error_rate_per_round:.3e}", _interval(*r.interval_per_round),
                      f"{r.sampling_s + r.decoding_s:.2f}")
    Console(highlight=False, soft_wrap=True, width=200).print(table)
    if len(sweep.distances) > 1 and len(sweep.ps) > 1:
        t_round = sweep.estimate_threshold()
        t_shot = sweep.estimate_threshold(per_round=False)
        fmt = (lambda t: "no crossing in the grid" if t is None else f"{t:.4f}")
        out(f"threshold estimate (d={sweep.distances[0]} vs d={sweep.distances[-1]}): per round "
            f"{fmt(t_round)}, per shot {fmt(t_shot)}")
    if plot is not None:
        note(f"plot written to {plot}")


_Distance = Annotated[
    list[str] | None,
    typer.Option("--distance", "-d", help="Code distance(s): repeat or comma-separate (3,5,7).",
                 show_default=False),
]
_Rounds = Annotated[
    int | None,
    typer.Option("--rounds", "-r", min=1, help="Rounds of stabilizer measurement. Default: the distance.",
                 show_default=False),
]
_P = Annotated[
    list[str] | None,
    typer.Option("--p", "-p", help="Physical error rate(s) in [0, 0.5]: repeat or comma-separate.",
                 show_default=False),
]
_Shots = Annotated[int, typer.Option("--shots", "-n", min=1, help="Shots per (distance, p).")]
_Seed = Annotated[
    int | None,
    typer.Option("--seed", "-s", min=0, help="Seed; same seed, same result. Default: fresh.", show_default=False),
]
_Workers = Annotated[
    int | None,
    typer.Option("--workers", "-w", min=1, help="Worker processes (results do not depend on it). "
                 "Default: all cores for a sweep of 200,000 shots or more, else 1.",
                 show_default=False),
]
_Json = Annotated[bool, typer.Option("--json", help="Print the result as one JSON document.")]
_Plot = Annotated[
    Path | None,
    typer.Option("--plot", help="Save the threshold plot (PNG, PDF, SVG by suffix).", show_default=False),
]
_Progress = Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar on stderr.")]


def _workers(workers, distance, p, shots):
    """``--workers`` or, by default, all cores once the grid holds enough shots to repay
    starting worker processes (a few seconds each), else 1."""
    if workers is not None:
        return workers
    points = len(_numbers(distance, "--distance", int)) * len(_numbers(p, "--p", float))
    return (os.cpu_count() or 1) if points > 1 and points * shots >= _POOL_SHOTS else 1


#: Shots in a sweep from which ``--workers`` defaults to all cores.
_POOL_SHOTS = 200_000


@app.command("surface")
def surface(
    distance: _Distance = None,
    rounds: _Rounds = None,
    p: _P = None,
    shots: _Shots = 10_000,
    seed: _Seed = None,
    workers: _Workers = None,
    basis: Annotated[str, typer.Option("--basis", help="Memory basis: z or x.")] = "z",
    as_json: _Json = False,
    plot: _Plot = None,
    progress: _Progress = True,
) -> None:
    """Rotated surface code memory experiment (or a threshold sweep)."""
    distance = distance or ["3"]
    p = p or ["0.001"]
    _run("surface", distance, rounds, p, shots, seed, _workers(workers, distance, p, shots), basis,
         as_json, plot, progress)


@app.command("repetition")
def repetition(
    distance: _Distance = None,
    rounds: _Rounds = None,
    p: _P = None,
    shots: _Shots = 10_000,
    seed: _Seed = None,
    workers: _Workers = None,
    as_json: _Json = False,
    plot: _Plot = None,
    progress: _Progress = True,
) -> None:
    """Bit-flip repetition code memory experiment (or a sweep)."""
    distance = distance or ["3"]
    p = p or ["0.01"]
    _run("repetition", distance, rounds, p, shots, seed, _workers(workers, distance, p, shots), "z",
         as_json, plot, progress)
