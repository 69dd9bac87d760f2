"""Basis-state indices, bits and bitstrings: the one bit-order convention.

Qubit (or classical bit) ``k`` has weight ``2**k`` in an index. Bitstrings print bit 0
**rightmost** (as Qiskit's counts); registers are separated by a space, the first register
rightmost.

This module imports nothing from Kizuna.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["bitstring", "index_to_bits", "bits_to_index", "registers_bitstring"]


def index_to_bits(index: int, num_bits: int) -> list[int]:
    """``[bit 0, bit 1, ...]`` of ``index``.

    Example:
        >>> index_to_bits(6, 3)
        [0, 1, 1]
    """
    return [(index >> k) & 1 for k in range(num_bits)]


def bits_to_index(bits: Sequence[int]) -> int:
    """The index whose bit ``k`` is ``bits[k]``.

    Example:
        >>> bits_to_index([0, 1, 1])
        6
    """
    return sum(int(b) << k for k, b in enumerate(bits))


def bitstring(index: int, num_bits: int) -> str:
    """``index`` as ``num_bits`` characters, bit 0 rightmost.

    Example:
        >>> bitstring(1, 3)
        '001'
    """
    return format(index, f"0{num_bits}b") if num_bits else ""


def registers_bitstring(index: int, sizes: Sequence[int]) -> str:
    """``index`` over consecutive registers of ``sizes`` (the first holds the lowest bits),
    printed last register first, separated by spaces.

    Example:
        >>> registers_bitstring(0b101, [1, 2])   # reg0 = 1, reg1 = 0b10
        '10 1'
    """
    parts = []
    shift = 0
    for size in sizes:
        parts.append(bitstring((index >> shift) & ((1 << size) - 1), size))
        shift += size
    return " ".join(reversed(parts))
