"""Numpy kernels on state vectors of ``2**n`` complex128 amplitudes.

Qubit ``k`` has weight ``2**k`` in an index. A ``k``-qubit matrix acting on ``qubits`` is
little-endian over them (``qubits[0]`` its least significant bit).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def num_qubits_of(state: np.ndarray) -> int:
    return state.size.bit_length() - 1


def zero_state(num_qubits: int) -> np.ndarray:
    """|0...0> as a complex128 vector."""
    state = np.zeros(1 << num_qubits, dtype=np.complex128)
    state[0] = 1.0
    return state


def apply_matrix(state: np.ndarray, matrix: np.ndarray, qubits: Sequence[int]) -> np.ndarray:
    """``matrix`` applied to ``qubits`` of ``state``; returns a new contiguous vector.

    Cost: O(2**n * 2**k) time, one temporary the size of the state.
    """
    n = num_qubits_of(state)
    k = len(qubits)
    psi = state.reshape((2,) * n)
    # numpy axis a holds qubit n-1-a; the matrix's input axes k..2k-1 hold qubits[k-1]..qubits[0]
    axes = [n - 1 - q for q in reversed(qubits)]
    out = np.tensordot(matrix.reshape((2,) * (2 * k)), psi, axes=(list(range(k, 2 * k)), axes))
    return np.ascontiguousarray(np.moveaxis(out, list(range(k)), axes)).reshape(-1)


def _split(state: np.ndarray, qubit: int) -> np.ndarray:
    """A view of shape (high, 2, low) whose middle axis is ``qubit``."""
    return state.reshape(-1, 2, 1 << qubit)


def probability_one(state: np.ndarray, qubit: int) -> float:
    """Probability that measuring ``qubit`` gives 1."""
    half = _split(state, qubit)[:, 1, :]
    return float(np.vdot(half, half).real)


def collapse(state: np.ndarray, qubit: int, outcome: int, probability: float) -> None:
    """Project ``qubit`` onto ``outcome`` (in place) and renormalise by ``probability``."""
    v = _split(state, qubit)
    v[:, 1 - outcome, :] = 0
    state *= 1.0 / np.sqrt(probability)


def flip(state: np.ndarray, qubit: int) -> None:
    """Pauli X on ``qubit``, in place."""
    v = _split(state, qubit)
    v[:, [0, 1], :] = v[:, [1, 0], :]


def probabilities(state: np.ndarray, qubits: Sequence[int] | None = None) -> np.ndarray:
    """Outcome probabilities of measuring ``qubits`` (all when ``None``).

    The result has ``2**len(qubits)`` entries; entry ``j`` has bit ``i`` equal to the outcome
    of ``sorted(qubits)[i]``.
    """
    p = np.abs(state) ** 2
    return p if qubits is None else marginal(p, qubits)


def marginal(p: np.ndarray, qubits: Sequence[int]) -> np.ndarray:
    """Sum the basis-state probabilities ``p`` over every qubit not in ``qubits``; bit ``i`` of
    an entry's index is the outcome of ``sorted(qubits)[i]``."""
    n = num_qubits_of(p)
    keep = set(qubits)
    others = tuple(n - 1 - q for q in range(n) if q not in keep)
    if others:
        p = p.reshape((2,) * n).sum(axis=others).reshape(-1)
    return p
