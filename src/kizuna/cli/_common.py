"""Helpers shared by the ``kizuna`` subcommands: loading a circuit file, error type, output.

Data goes to stdout, notes and errors to stderr. This module may import anything in Kizuna;
nothing in Kizuna imports it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["CliError", "load_circuit", "note", "out"]


class CliError(Exception):
    """A failure the CLI reports as ``kizuna: error: <message>`` with exit status 1."""


def out(text: str = "") -> None:
    """Write one line of data to stdout."""
    sys.stdout.write(text + "\n")


def note(text: str) -> None:
    """Write one line of commentary to stderr."""
    sys.stderr.write(text + "\n")


def _starts_with_openqasm3(path: Path) -> bool:
    import re

    with open(path, "rb") as f:
        head = f.read(4096).decode("utf-8", "replace")
    head = re.sub(r"//[^\n]*|/\*.*?\*/", "", head, flags=re.DOTALL)
    return re.match(r"\s*OPENQASM\s+3", head) is not None


def load_circuit(path: Path):
    """Read an OpenQASM file into a ``Circuit``: OpenQASM 3 when the name ends in ``.qasm3`` or
    the text starts with ``OPENQASM 3`` (needs the ``qasm3`` extra), else OpenQASM 2.

    Raises:
        CliError: the file is missing or unreadable, or OpenQASM 3's parser is not installed.
        QasmError: the text is not valid OpenQASM (``file:line:col: message``).
    """
    import kizuna

    if not path.exists():
        raise CliError(f"{path}: no such file")
    if path.is_dir():
        raise CliError(f"{path}: is a directory, expected an OpenQASM 2 file")
    if not os.access(path, os.R_OK):
        raise CliError(f"{path}: permission denied")
    try:
        if path.suffix == ".qasm3" or _starts_with_openqasm3(path):
            try:
                return kizuna.qasm3.load(path)
            except kizuna.errors.InteropError as e:
                raise CliError(f"{path}: {e}") from e
        return kizuna.qasm2.load(path)
    except UnicodeDecodeError as e:
        raise CliError(f"{path}: not a UTF-8 text file ({e.reason} at byte {e.start})") from e
    except OSError as e:
        raise CliError(f"{path}: cannot read: {e.strerror or e}") from e
