"""``kizuna run FILE.qasm``: sample a circuit and show the counts (a table, or ``--json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ._common import CliError, load_circuit, note, out

#: Characters of the longest histogram bar.
BAR_WIDTH = 30


def _bar(fraction: float) -> str:
    """A bar of ``fraction * BAR_WIDTH`` cells drawn with eighth blocks."""
    eighths = round(fraction * BAR_WIDTH * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + ("" if part == 0 else " ▏▎▍▌▋▊▉"[part])


def _load_device(spec: str):
    """A built-in device by name, or a calibration JSON file."""
    import kizuna

    path = Path(spec)
    if spec.endswith(".json") or path.exists():
        if not path.exists():
            raise CliError(f"{spec}: no such file")
        return kizuna.Device.load(path)
    return kizuna.Device.builtin(spec)


def sorted_outcomes(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Outcomes by count, most frequent first; ties by bitstring."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def run(
    file: Annotated[Path, typer.Argument(help="OpenQASM 2 file.", metavar="FILE.qasm", show_default=False)],
    shots: Annotated[int, typer.Option("--shots", "-n", min=1, help="Number of shots.")] = 1024,
    seed: Annotated[
        int | None,
        typer.Option("--seed", "-s", min=0, help="Seed; same seed, same counts. Default: fresh.", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON document.")] = False,
    memory: Annotated[bool, typer.Option("--memory", help="Also report every shot's outcome, in order.")] = False,
    backend: Annotated[
        str,
        typer.Option("--backend", "-b", help="Simulator backend: auto, statevector, density_matrix, trajectories, "
                     "stabilizer or mps."),
    ] = "auto",
    max_bond: Annotated[
        int | None,
        typer.Option("--max-bond", min=1, help="MPS: cap the bond dimension (truncates; the fidelity estimate "
                     "is reported). With --backend auto it applies only if MPS is picked.", show_default=False),
    ] = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Show the N most frequent outcomes (0: all).")] = 32,
    noise: Annotated[
        Path | None,
        typer.Option("--noise", help="Noise model JSON file (NoiseModel.save).", show_default=False),
    ] = None,
    device: Annotated[
        str | None,
        typer.Option(
            "--device",
            "-d",
            help="Transpile onto this device (a built-in name, see 'kizuna devices', or a "
            "calibration JSON file) and simulate it with the device's noise.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run a circuit SHOTS times and count the outcomes."""
    import kizuna

    circuit = load_circuit(file)
    if circuit.num_clbits == 0:
        raise CliError(
            f"{file} has no classical bits, so there is nothing to count; "
            "measure into a creg (e.g. 'creg c[n]; measure q -> c;', or Circuit.measure_all())"
        )
    model = None
    if noise is not None:
        if device is not None:
            raise CliError("give --noise or --device, not both (a device brings its own noise)")
        model = kizuna.NoiseModel.load(noise)
    transpiled = None
    if device is not None:
        dev = _load_device(device)
        transpiled = kizuna.transpile(circuit, dev, seed=seed)
        # simulate the qubits the transpiled circuit uses, with their calibrations only
        circuit = transpiled.compact()
        model = kizuna.NoiseModel.from_device(dev.subset(transpiled.active_qubits))
    options = {"max_bond": max_bond} if max_bond is not None else None
    result = kizuna.run(circuit, shots=shots, seed=seed, memory=memory, backend=backend, noise=model,
                        backend_options=options)

    if as_json:
        doc = result.to_dict()
        doc["file"] = str(file)
        if transpiled is not None:
            doc["transpiled"] = {k: v for k, v in transpiled.to_dict().items() if k != "circuit_qasm"}
        out(json.dumps(doc))
        return

    from rich.console import Console
    from rich.table import Table

    if transpiled is not None:
        out(
            f"transpiled onto {transpiled.device}: {transpiled.two_qubit_count} two-qubit gates, "
            f"depth {transpiled.depth}, physical qubits {list(transpiled.active_qubits)}"
        )
    noisy = "" if model is None else f", noise model {model.sha256()[:12]}"
    if result.backend == "mps" and result.metadata.get("truncated"):
        noisy += f", MPS truncated (fidelity estimate {result.metadata['fidelity_estimate']:.4f})"
    out(
        f"{file}: {circuit.num_qubits} qubits, {circuit.num_clbits} clbits, "
        f"{result.shots} shots, seed {result.seed}, backend {result.backend}{noisy}"
    )
    rows = sorted_outcomes(result.counts)
    shown = rows if top == 0 else rows[:top]
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("outcome", no_wrap=True)
    table.add_column("count", justify="right")
    table.add_column("probability", justify="right")
    table.add_column("", no_wrap=True)
    most = rows[0][1] if rows else 1
    for bits, n in shown:
        table.add_row(bits, str(n), f"{n / result.shots:.4f}", _bar(n / most))
    Console(highlight=False, soft_wrap=False).print(table)
    if len(rows) > len(shown):
        rest = len(rows) - len(shown)
        note(f"({rest} more outcome{'s' if rest > 1 else ''}; --top 0 shows all {len(rows)})")
    if memory and result.memory is not None:
        out("memory (shot order):")
        out(" ".join(result.memory))
