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


def load_circuit(path: Path):
    """Read an OpenQASM 2 file into a ``Circuit``.

    Raises:
        CliError: the file is missing or unreadable.
        QasmError: the text is not valid OpenQASM 2 (``file:line:col: message``).
    """
    import kizuna

    if not path.exists():
        raise CliError(f"{path}: no such file")
    if path.is_dir():
        raise CliError(f"{path}: is a directory, expected an OpenQASM 2 file")
    if not os.access(path, os.R_OK):
        raise CliError(f"{path}: permission denied")
    try:
        return kizuna.qasm2.load(path)
    except UnicodeDecodeError as e:
        raise CliError(f"{path}: not a UTF-8 text file ({e.reason} at byte {e.start})") from e
    except OSError as e:
        raise CliError(f"{path}: cannot read: {e.strerror or e}") from e
