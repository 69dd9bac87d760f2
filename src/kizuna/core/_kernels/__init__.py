"""Private array kernels: they take and return numpy arrays, nothing else.

``statevector`` holds the plain numpy versions; faster (numba) kernels sit beside them and are
tested against them. ``numba_sv()`` loads the numba state-vector kernels on first use.
"""

from __future__ import annotations

import os
from functools import lru_cache


@lru_cache(maxsize=1)
def numba_sv():
    """The numba state-vector kernel module, or ``None`` when numba is missing or the
    environment sets ``KIZUNA_NUMBA=0`` (then callers use the numpy kernels, same results)."""
    if os.environ.get("KIZUNA_NUMBA", "1").strip() == "0":
        return None
    try:
        from . import _numba_sv
    except ImportError:
        return None
    return _numba_sv
