"""Seed handling: every stochastic function in Kizuna takes ``seed`` and normalises it here.

This module imports nothing from Kizuna.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["SeedLike", "resolve_seed"]

SeedLike = int | np.random.Generator | None


def resolve_seed(seed: SeedLike) -> tuple[np.random.Generator, int | None]:
    """A generator for ``seed`` and the integer seed to record in provenance.

    Args:
        seed: a non-negative integer (reproducible), ``None`` (fresh entropy, drawn here and
            returned so that the run can be repeated exactly), or a ``numpy.random.Generator``
            (used as is; its seed cannot be recorded, so ``None`` is returned).

    Returns:
        ``(generator, recorded_seed)``.

    Raises:
        ValueError: a negative or non-integer seed.

    Example:
        >>> rng, s = resolve_seed(7)
        >>> s, rng.integers(100) == resolve_seed(7)[0].integers(100)
        (7, np.True_)
    """
    if isinstance(seed, np.random.Generator):
        return seed, None
    if seed is None:
        # 53 bits: fresh enough, and exact in every JSON reader (JavaScript numbers included)
        seed = int(np.random.SeedSequence().entropy) % (1 << 53)
    elif isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, a numpy Generator or None (got {seed!r})")
    seed = int(seed)
    return np.random.default_rng(seed), seed
