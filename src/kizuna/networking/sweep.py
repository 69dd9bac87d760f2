"""Sweeps of repeater-chain studies: rate and fidelity against one parameter, in parallel.

``sweep_chain("length_km", [10, 20, 50], duration_s=1, seed=7)`` builds one
``RepeaterChain.uniform`` per value, gives each point its own seed (children of
``numpy.random.SeedSequence(seed)``, spawned in value order) and runs the points on an executor:
serially (``workers=1``), on a process pool (``workers=N``), or on any
``concurrent.futures.Executor`` you pass (a Dask cluster's ``client.get_executor()``). The result
does not depend on the executor or the number of workers.

This module imports ``core`` and ``networking`` only.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import os
from dataclasses import dataclass

import numpy as np

from ..core.random import resolve_seed
from ..errors import NetworkError
from .chain import RepeaterChain, simulate_chain
from .hardware import Memory

__all__ = ["ChainSweep", "sweep_chain"]

#: Parameters ``sweep_chain`` can vary, and where each goes.
PARAMETERS = ("length_km", "num_links", "link_fidelity", "t2_s", "t1_s", "cutoff_s", "success_probability")


@dataclass(frozen=True)
class ChainSweep:
    """Rows of a sweep: ``values[k]`` gave ``pairs_per_second[k]``, ``mean_fidelity[k]`` (with
    ``fidelity_standard_error[k]``) from ``delivered[k]`` pairs, simulated with ``seeds[k]``."""

    parameter: str
    values: tuple
    pairs_per_second: tuple[float, ...]
    mean_fidelity: tuple[float, ...]
    fidelity_standard_error: tuple[float, ...]
    delivered: tuple[int, ...]
    seeds: tuple[int, ...]
    seed: int | None

    def to_dict(self) -> dict:
        def clean(xs):
            return [None if isinstance(x, float) and math.isnan(x) else x for x in xs]

        return {"parameter": self.parameter, "values": list(self.values),
                "pairs_per_second": list(self.pairs_per_second), "mean_fidelity": clean(self.mean_fidelity),
                "fidelity_standard_error": clean(self.fidelity_standard_error), "delivered": list(self.delivered),
                "seeds": list(self.seeds), "seed": self.seed}


def _point(parameter: str, value, base: dict, duration_s: float, seed: int, representation: str):
    kwargs = dict(base)
    mem = dict(kwargs.pop("memory", {}))
    if parameter in ("t1_s", "t2_s", "cutoff_s"):
        mem[parameter] = value
    elif parameter == "num_links":
        kwargs["num_links"] = value
    else:
        kwargs[parameter] = value
    n = kwargs.pop("num_links", 2)
    chain = RepeaterChain.uniform(n, memory=Memory(**mem), **kwargs)
    r = simulate_chain(chain, duration_s, seed=seed, representation=representation)
    return r.pairs_per_second, r.mean_fidelity, r.fidelity_standard_error, r.delivered


def sweep_chain(parameter: str, values, *, duration_s: float, seed=None, workers: int | None = 1,
                executor: cf.Executor | None = None, representation: str = "auto", num_links: int = 2,
                length_km: float = 10.0, memory: dict | None = None, **chain_options) -> ChainSweep:
    """Simulate one uniform repeater chain per value of ``parameter``.

    Args:
        parameter: one of ``PARAMETERS`` (memory times go to ``Memory``, the rest to
            ``RepeaterChain.uniform``).
        values: the values, in order.
        duration_s: simulated seconds per point.
        seed: seeds the per-point seeds (``None``: fresh, recorded in the result).
        workers: processes (1: in this process; ``None``: one per core); ignored with ``executor``.
        executor: any ``concurrent.futures.Executor`` to run the points on.
        representation: as in ``simulate_chain``.
        num_links, length_km, memory (``Memory`` fields as a dict), **chain_options: the other
            ``RepeaterChain.uniform`` arguments, fixed across the sweep.

    Returns:
        A ``ChainSweep``.

    Example:
        >>> s = sweep_chain("num_links", [1, 2, 4], duration_s=0.01, seed=1, link_fidelity=0.99,
        ...                 success_probability=0.3)
        >>> [round(f, 4) for f in s.mean_fidelity]
        [0.99, 0.9801, 0.9608]
    """
    if parameter not in PARAMETERS:
        raise NetworkError(f"parameter must be one of {', '.join(PARAMETERS)} (got {parameter!r})")
    values = list(values)
    if not values:
        raise NetworkError("values must not be empty")
    rng, recorded = resolve_seed(seed)
    entropy = recorded if recorded is not None else int(rng.integers(0, 2**63))
    children = np.random.SeedSequence(entropy).spawn(len(values))
    seeds = [int(c.generate_state(1, np.uint64)[0] >> 11) for c in children]
    base = {"num_links": num_links, "length_km": length_km, "memory": dict(memory or {}), **chain_options}
    # validate once, here, so a bad option is one clear error rather than one per worker
    _point(parameter, values[0], base, 1e-12, 0, representation)
    args = [(parameter, v, base, duration_s, s, representation) for v, s in zip(values, seeds)]
    if executor is not None:
        rows = list(executor.map(_point, *zip(*args)))
    elif workers == 1 or len(values) == 1:
        rows = [_point(*a) for a in args]
    else:
        n = workers or os.cpu_count() or 1
        with cf.ProcessPoolExecutor(max_workers=min(n, len(values))) as pool:
            rows = list(pool.map(_point, *zip(*args)))
    rate, fid, se, delivered = zip(*rows)
    return ChainSweep(parameter=parameter, values=tuple(values), pairs_per_second=rate, mean_fidelity=fid,
                      fidelity_standard_error=se, delivered=delivered, seeds=tuple(seeds), seed=recorded)
