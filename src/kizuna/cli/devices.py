"""``kizuna devices``: list the built-in device models (or show one with ``--show NAME``)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ._common import out


def _summary(dev) -> dict:
    two_qubit = [g.error for g in dev.gates if len(g.qubits) == 2]
    t1 = [q.t1_s for q in dev.qubits]
    return {
        "name": dev.name,
        "num_qubits": dev.num_qubits,
        "num_edges": len(dev.coupling_map),
        "basis_gates": list(dev.basis_gates),
        "median_t1_us": sorted(t1)[len(t1) // 2] * 1e6 if t1 else None,
        "median_2q_error": sorted(two_qubit)[len(two_qubit) // 2] if two_qubit else None,
    }


def devices(
    show: Annotated[
        str | None,
        typer.Option("--show", help="Print one device's full calibration as JSON.", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as one JSON document.")] = False,
) -> None:
    """List the built-in devices that 'kizuna run --device NAME' accepts."""
    from kizuna.computing.device import BUILTIN_EXAMPLES, Device

    if show is not None:
        out(Device.builtin(show).to_json())
        return
    rows = [_summary(Device.builtin(name)) | {"builtin": name} for name in BUILTIN_EXAMPLES]
    if as_json:
        out(json.dumps(rows))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("name", "qubits", "edges", "basis gates", "median T1 (us)", "median 2q error"):
        table.add_column(col, justify="left" if col in ("name", "basis gates") else "right")
    for r in rows:
        t1 = "inf" if r["median_t1_us"] in (None, float("inf")) else f"{r['median_t1_us']:.0f}"
        err = "-" if r["median_2q_error"] is None else f"{r['median_2q_error']:.2e}"
        table.add_row(r["builtin"], str(r["num_qubits"]), str(r["num_edges"]), " ".join(r["basis_gates"]), t1, err)
    Console(highlight=False, soft_wrap=False).print(table)
    out("line-N, ring-N, grid-RxC, heavy-hex-RxC and generic-N take any size.")
