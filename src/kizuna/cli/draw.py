"""``kizuna draw FILE.qasm``: print the circuit's text diagram."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from ._common import load_circuit, out


def draw(
    file: Annotated[Path, typer.Argument(help="OpenQASM 2 file.", metavar="FILE.qasm", show_default=False)],
    width: Annotated[
        int | None,
        typer.Option(
            "--width",
            "-w",
            min=0,
            help="Wrap the diagram at this many columns (0: never wrap). "
            "Default: the terminal's width, 80 when not a terminal.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Draw the circuit as text."""
    from kizuna.computing._draw import draw_text

    circuit = load_circuit(file)
    if width is None:
        width = shutil.get_terminal_size((80, 24)).columns
    out(draw_text(circuit, width=width or None))
