"""The memory guard: refuse a state before allocating it when it cannot fit.

The limit is the smaller of the memory the operating system reports available
(``MemAvailable`` in ``/proc/meminfo``, and the cgroup limit where one is set) and the
environment variable ``KIZUNA_MEMORY_LIMIT`` (bytes, or with a unit: ``512MiB``, ``8GB``).

This module imports nothing from Kizuna but ``errors``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import MemoryLimitError

__all__ = ["available_memory_bytes", "check_state_memory", "format_bytes"]

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _parse_bytes(text: str) -> int:
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"KIZUNA_MEMORY_LIMIT must be a size like 2GiB or 500000000 (got {text!r})")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup_available() -> int | None:
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        return max(int(limit) - used, 0)
    except (OSError, ValueError):
        return None


#: Requests up to this size are not checked against the OS figures (only against an explicit
#: ``KIZUNA_MEMORY_LIMIT``): reading them costs more than simulating a small circuit.
_SMALL_BYTES = 16 << 20


def available_memory_bytes() -> int | None:
    """Bytes a new allocation may use, or ``None`` when nothing can be read."""
    found = [v for v in (_meminfo_available(), _cgroup_available()) if v is not None]
    env = os.environ.get("KIZUNA_MEMORY_LIMIT")
    if env:
        found.append(_parse_bytes(env))
    return min(found) if found else None


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``; beyond 1024 YiB, a power of two (``'2^1100 bytes'``: the
    state of a thousand qubits overflows a float)."""
    if n >= 1 << 90:
        return f"2^{int(n).bit_length() - 1} bytes"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"):
        if abs(n) < 1024 or unit == "YiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


def check_state_memory(num_qubits: int, *, copies: int = 2, bytes_per_amplitude: int = 16,
                       what: str = "state vector", budget: int | None = None) -> int:
    """Raise ``MemoryLimitError`` unless ``copies`` arrays of ``2**num_qubits`` amplitudes fit.

    Args:
        budget: the bytes allowed, read once by the caller before it allocated anything
            (``available_memory_bytes()``); by default it is read now.

    Returns:
        The bytes needed.
    """
    needed = copies * bytes_per_amplitude * (1 << num_qubits)
    if budget is None and needed <= _SMALL_BYTES and not os.environ.get("KIZUNA_MEMORY_LIMIT"):
        return needed  # too small to matter: skip reading /proc and cgroup files (~0.1 ms)
    available = available_memory_bytes() if budget is None else budget
    if available is not None and needed > available:
        raise MemoryLimitError(
            f"a {num_qubits}-qubit {what} needs {format_bytes(needed)} "
            f"({copies} x 2^{num_qubits} amplitudes of {bytes_per_amplitude} bytes), "
            f"but only {format_bytes(available)} is available",
            num_qubits=num_qubits,
            bytes_needed=needed,
            bytes_available=available,
        )
    return needed
