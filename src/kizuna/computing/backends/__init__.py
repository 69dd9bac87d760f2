"""Simulation backends, chosen by name in ``kizuna.run(..., backend=...)``.

Each backend consumes the flat, validated instruction list of ``circuit.flatten`` and offers
``final_state`` (exact state) and ``sample`` (counts of classical outcomes).

This package imports ``core`` and ``computing.circuit``; nothing above ``computing``.
"""

from __future__ import annotations

from ...errors import BackendError
from .statevector import StatevectorBackend

__all__ = ["BACKENDS", "choose_backend"]

#: Backends by name.
BACKENDS = {"statevector": StatevectorBackend}


def choose_backend(name: str, circuit, **options) -> tuple[object, str]:
    """The backend object for ``name`` (built with ``options``) and the reason it was chosen.

    ``"auto"`` picks the best available backend for the circuit (today: the exact state-vector
    engine for every circuit).
    """
    if name == "auto":
        reason = f"auto: exact state vector for {circuit.num_qubits} qubit(s)"
        return StatevectorBackend(**options), reason
    try:
        cls = BACKENDS[name]
    except (KeyError, TypeError):
        raise BackendError(
            f"unknown backend {name!r}; choose one of: auto, {', '.join(BACKENDS)}"
        ) from None
    return cls(**options), "requested"
