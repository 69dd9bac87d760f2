"""OpenQASM 2: ``loads``/``load`` read a circuit, ``dumps``/``dump`` write one.

Errors are ``kizuna.QasmError`` with ``file:line:col``. See ``kizuna.computing.qasm2`` for the
details of the supported language.
"""

from .computing.qasm2 import dump, dumps, load, loads

__all__ = ["dump", "dumps", "load", "loads"]
