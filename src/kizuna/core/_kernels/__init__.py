"""Private array kernels: they take and return numpy arrays, nothing else.

``statevector`` holds the plain numpy versions; faster (numba) kernels sit beside them and are
tested against them. ``numba_sv()`` loads the numba state-vector kernels on first use.

Every numba module here calls ``refresh_numba_caches()`` before it defines a kernel. numba's
``cache=True`` checks only the file a kernel is written in, but ``_numba_dm`` and
``_numba_stab`` compile in functions of ``_numba_sv``: after an edit there their cached machine
code is stale (a segmentation fault was seen). The guard fingerprints all the kernel sources
and, when the fingerprint changed, drops every cached kernel of this folder once, so they
recompile together.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def refresh_numba_caches() -> None:
    """Drop this folder's numba caches when any ``_numba_*.py`` changed since they were
    written (see the module docstring). Cost: a few ``stat`` calls, once per process."""
    drop_stale_caches(Path(__file__).resolve().parent)


def drop_stale_caches(folder: Path) -> bool:
    """Delete ``folder/__pycache__/_numba_*.nb[ci]`` unless the fingerprint of
    ``folder/_numba_*.py`` (names, mtimes, sizes) equals the one stored beside them; store it.
    Returns whether caches were dropped.

    Only numba's default in-tree cache (``__pycache__``) is handled; an install that cannot
    write there (read-only site-packages) comes from one release and needs none.
    """
    cache = folder / "__pycache__"
    try:
        stamp = "\n".join(
            f"{p.name} {p.stat().st_mtime_ns} {p.stat().st_size}" for p in sorted(folder.glob("_numba_*.py"))
        )
        marker = cache / "kernel-sources.stamp"
        if marker.is_file() and marker.read_text() == stamp:
            return False
        if cache.is_dir():
            for f in cache.glob("_numba_*.nb[ci]"):
                f.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        marker.write_text(stamp)
    except OSError:
        return False
    return True


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
