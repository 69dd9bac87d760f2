"""OpenQASM 3: ``loads``/``load`` read a circuit, ``dumps``/``dump`` write one.

Reading needs the optional extra ``qasm3`` (``pip install 'kizuna[qasm3]'``: the reference
parser ``openqasm3[parser]``). Errors are ``kizuna.QasmError`` with ``file:line:col``. See
``kizuna.computing._qasm3`` for the supported subset and how global phases are handled (the
reader follows the specification: OpenQASM 3.0's ``U`` is ``u3``; ``stdgates.inc``'s ``u2``/``u3``
carry their phase under ``ctrl``; ``OPENQASM 3.1`` files read ``U`` as 3.1 redefined it; a
top-level global phase is dropped).

The implementation loads on first use, so ``import kizuna`` stays quick.
"""

from __future__ import annotations

__all__ = ["dump", "dumps", "load", "loads"]


def loads(text, *, filename=None, inputs=None):
    """Read an OpenQASM 3 program into a ``Circuit`` (see ``kizuna.computing._qasm3.loads``)."""
    from .computing import _qasm3

    return _qasm3.loads(text, filename=filename, inputs=inputs)


def load(path, *, inputs=None):
    """Read an OpenQASM 3 file into a ``Circuit`` (see ``kizuna.computing._qasm3.load``)."""
    from .computing import _qasm3

    return _qasm3.load(path, inputs=inputs)


def dumps(circuit) -> str:
    """Write a circuit as an OpenQASM 3 program (see ``kizuna.computing._qasm3.dumps``).

    Example:
        >>> import kizuna
        >>> print(dumps(kizuna.Circuit(1, 1).h(0).measure(0, 0)).splitlines()[0])
        OPENQASM 3.0;
    """
    from .computing import _qasm3

    return _qasm3.dumps(circuit)


def dump(circuit, path) -> None:
    """Write a circuit to an OpenQASM 3 file, atomically (see ``kizuna.computing._qasm3.dump``)."""
    from .computing import _qasm3

    _qasm3.dump(circuit, path)
