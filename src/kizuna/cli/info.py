"""``kizuna info FILE.qasm``: sizes, registers, depth and gate counts of a circuit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ._common import load_circuit, out


def circuit_info(circuit, file: Path) -> dict:
    """The facts ``info`` reports, as a JSON-ready dict."""
    return {
        "file": str(file),
        "num_qubits": circuit.num_qubits,
        "num_clbits": circuit.num_clbits,
        "qregs": {r.name: r.size for r in circuit.qregs},
        "cregs": {r.name: r.size for r in circuit.cregs},
        "depth": circuit.depth(),
        "size": circuit.size(),
        "count_ops": circuit.count_ops(),
        "num_parameters": len(circuit.parameters),
        "parameters": [p.name for p in circuit.parameters],
        "sha256": circuit.sha256(),
    }


def _regs(regs: dict) -> str:
    return ", ".join(f"{name}[{size}]" for name, size in regs.items()) or "none"


def info(
    file: Annotated[Path, typer.Argument(help="OpenQASM 2 file.", metavar="FILE.qasm", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Describe a circuit: qubits, clbits, registers, depth, size, gate counts."""
    d = circuit_info(load_circuit(file), file)
    if as_json:
        out(json.dumps(d))
        return
    ops = ", ".join(f"{k}: {v}" for k, v in d["count_ops"].items()) or "none"
    params = str(d["num_parameters"])
    if d["parameters"]:
        params += f" ({', '.join(d['parameters'])})"
    rows = [
        ("file", d["file"]),
        ("qubits", f"{d['num_qubits']} ({_regs(d['qregs'])})"),
        ("clbits", f"{d['num_clbits']} ({_regs(d['cregs'])})"),
        ("depth", str(d["depth"])),
        ("size", str(d["size"])),
        ("gates", ops),
        ("parameters", params),
        ("sha256", d["sha256"]),
    ]
    w = max(len(k) for k, _ in rows)
    for k, v in rows:
        out(f"{k.ljust(w)}  {v}")
