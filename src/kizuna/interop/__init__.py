"""Move work in and out of Kizuna: Qiskit, Cirq and Stim circuits, and Qiskit's primitives.

Every converter imports its peer package only when called; a missing package is one
``InteropError`` naming the extra to install (``pip install 'kizuna[qiskit]'``, ``[cirq]``,
``[stim]``). Bit order: Kizuna and Qiskit give qubit ``k`` weight ``2**k`` (bitstrings print
bit 0 rightmost); Cirq orders qubits big-endian, and ``to_cirq``/``from_cirq`` reverse it so
state vectors agree after the conversion.

- ``from_qiskit`` / ``to_qiskit``: ``qiskit.QuantumCircuit`` (parameters, registers,
  conditionals, custom gates).
- ``from_cirq`` / ``to_cirq``: ``cirq.Circuit`` over ``LineQubit``s.
- ``from_stim`` / ``to_stim``: Clifford circuits with Pauli noise, ``stim.Circuit``;
  ``from_stim(c, noise="program")`` gives a ``StimProgram`` (circuit, noisy program, detectors,
  observables) that samples on Kizuna's stabilizer backend.
- ``kizuna.interop.qiskit``: ``SamplerV2``, ``EstimatorV2`` and ``KizunaBackend`` for code written
  against Qiskit's primitives and ``BackendV2``.
"""

from __future__ import annotations

import importlib

__all__ = ["StimProgram", "from_cirq", "from_qiskit", "from_stim", "to_cirq", "to_qiskit", "to_stim"]

_HOMES = {
    "from_qiskit": "._qiskit_convert",
    "to_qiskit": "._qiskit_convert",
    "from_cirq": "._cirq",
    "to_cirq": "._cirq",
    "from_stim": "._stim",
    "to_stim": "._stim",
    "StimProgram": "._stim",
}


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'kizuna.interop' has no attribute {name!r}")
    return getattr(importlib.import_module(home, __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
