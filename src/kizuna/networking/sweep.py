"""Sweeps of repeater-chain studies: rate and fidelity against one parameter, in parallel.

``sweep_chain("length_km", [10, 20, 50], duration_s=1, seed=7)`` builds one uniform
``RepeaterChain`` per value, gives each point its own seed (children of
``numpy.random.SeedSequence(seed)``, spawned in value order) and runs the points on an executor:
serially (``workers=1``), on a process pool (``workers=N``), or on any
``concurrent.futures.Executor`` you pass (a Dask cluster's ``client.get_executor()``). The result
does not depend on the executor or the number of workers: every chain is built (and checked) in
the calling process, and a point's result depends only on its chain, its seed and the duration.

**Two link models.** By default the links herald Werner pairs of ``link_fidelity``
(``RepeaterChain.uniform``). With ``source``, ``detector``, ``scheme`` or ``alpha`` given, or
when the swept parameter is one of ``HARDWARE_PARAMETERS``, the links are derived from the
hardware (``HeraldedLink.from_hardware``: success probability, heralded state, attempt period
and detector dead time), and the sweep may vary the source, the detector, the memory efficiency
or the single-click ``alpha``.

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
from .chain import RepeaterChain, simulate_chain, use_density_matrix
from .engine import PS_PER_S, seconds_to_ps
from .hardware import Detector, Fiber, HeraldedLink, Memory, PhotonSource

__all__ = ["ChainSweep", "link_figures", "sweep_chain"]

#: Hardware parameters a sweep can vary, and the model field each one sets: ``(section, field)``
#: with section ``source`` (``PhotonSource``), ``detector`` (``Detector``), ``memory``
#: (``Memory``) or ``link`` (``HeraldedLink.from_hardware``'s ``alpha``).
HARDWARE_PARAMETERS: dict[str, tuple[str, str]] = {
    "source_rate_hz": ("source", "rate_hz"),
    "source_efficiency": ("source", "efficiency"),
    "g2": ("source", "g2"),
    "indistinguishability": ("source", "indistinguishability"),
    "emission_fidelity": ("source", "emission_fidelity"),
    "detector_efficiency": ("detector", "efficiency"),
    "dark_count_rate_hz": ("detector", "dark_count_rate_hz"),
    "dead_time_s": ("detector", "dead_time_s"),
    "window_s": ("detector", "window_s"),
    "memory_efficiency": ("memory", "efficiency"),
    "alpha": ("link", "alpha"),
}

#: Parameters ``sweep_chain`` can vary. ``link_fidelity`` and ``success_probability`` belong to
#: the Werner link model only; the ``HARDWARE_PARAMETERS`` to the hardware-derived one.
PARAMETERS = ("length_km", "num_links", "link_fidelity", "t2_s", "t1_s", "cutoff_s", "success_probability",
              "loss_db_per_km", "swap_gate_depolarizing", "readout_error", *HARDWARE_PARAMETERS)

#: Options of the Werner link model that a hardware-derived link computes instead.
_WERNER_ONLY = ("link_fidelity", "success_probability")
#: ``RepeaterChain`` options fixed across a sweep (besides the link model's).
_CHAIN_OPTIONS = ("loss_db_per_km", "swap_gate_depolarizing", "readout_error", "protocol", "purification",
                  "purification_rounds")


@dataclass(frozen=True)
class ChainSweep:
    """Rows of a sweep: ``values[k]`` gave ``pairs_per_second[k]``, ``mean_fidelity[k]`` (with
    ``fidelity_standard_error[k]``) from ``delivered[k]`` pairs, simulated with ``seeds[k]``;
    ``link_figures[k]`` are the elementary link's figures at that point (``link_figures``:
    success probability, attempt period, heralded fidelity, dead-time-blocked attempts, ...)."""

    parameter: str
    values: tuple
    pairs_per_second: tuple[float, ...]
    mean_fidelity: tuple[float, ...]
    fidelity_standard_error: tuple[float, ...]
    delivered: tuple[int, ...]
    seeds: tuple[int, ...]
    seed: int | None
    link_figures: tuple = ()

    def to_dict(self) -> dict:
        def clean(xs):
            return [None if isinstance(x, float) and math.isnan(x) else x for x in xs]

        return {"parameter": self.parameter, "values": list(self.values),
                "pairs_per_second": list(self.pairs_per_second), "mean_fidelity": clean(self.mean_fidelity),
                "fidelity_standard_error": clean(self.fidelity_standard_error), "delivered": list(self.delivered),
                "seeds": list(self.seeds), "seed": self.seed, "link_figures": [dict(f) for f in self.link_figures]}


def link_figures(link: HeraldedLink) -> dict:
    """The figures of one elementary link, JSON-ready.

    Keys: ``success_probability`` (per attempt), ``attempt_period_s``, ``heralded_fidelity``
    (to ``Phi+``), ``click_probability`` (per attempt), ``dead_time_s``, ``blocked_attempts``
    (attempts lost after each click: ``max(1, ceil(dead_time / period)) - 1``) and
    ``success_rate_hz`` (heralds per second of the link attempting without a break:
    ``p / (T (1 + c (m - 1)))``, ``HeraldedLink.success_rate_hz``).

    Example:
        >>> link = HeraldedLink.from_hardware(Fiber(0.2), PhotonSource(rate_hz=2e6),
        ...                                   Detector(efficiency=0.5, dead_time_s=3e-6))
        >>> f = link_figures(link)
        >>> f["attempt_period_s"], f["blocked_attempts"], round(f["success_probability"], 4)
        (1e-06, 2, 0.1239)
    """
    return {
        "success_probability": link.success_probability,
        "attempt_period_s": link.attempt_duration_ps / PS_PER_S,
        "heralded_fidelity": link.fidelity,
        "click_probability": link.click_probability,
        "dead_time_s": link.dead_time_ps / PS_PER_S,
        "blocked_attempts": link.blocked_attempts,
        "success_rate_hz": link.success_rate_hz,
    }


def _model(cls, fields: dict, section: str):
    """``cls(**fields)``; an unknown field is a ``NetworkError`` that names the section."""
    try:
        return cls(**fields)
    except TypeError:
        names = {f for f in cls.__dataclass_fields__}
        extra = sorted(set(fields) - names)
        raise NetworkError(f"{section} has unknown field(s) {', '.join(map(str, extra))}; "
                           f"expected {', '.join(sorted(names))}") from None


def _build_chain(parameter: str, value, base: dict) -> RepeaterChain:
    """The chain of one sweep point: ``base`` (see ``sweep_chain``) with ``parameter`` set to
    ``value``."""
    opts = dict(base["options"])
    sections = {k: dict(base[k]) for k in ("memory", "source", "detector")}
    num_links, length_km, hw = base["num_links"], base["length_km"], base["hardware"]
    if parameter in HARDWARE_PARAMETERS:
        section, name = HARDWARE_PARAMETERS[parameter]
        if section == "link":
            hw = dict(hw, alpha=value)
        else:
            sections[section][name] = value
    elif parameter in ("t1_s", "t2_s", "cutoff_s"):
        sections["memory"][parameter] = value
    elif parameter == "num_links":
        num_links = value
    elif parameter == "length_km":
        length_km = value
    else:
        opts[parameter] = value
    memory = _model(Memory, sections["memory"], "memory")
    if hw is None:
        return RepeaterChain.uniform(num_links, length_km=length_km, memory=memory, **opts)
    if isinstance(num_links, bool) or not isinstance(num_links, (int, np.integer)) or num_links < 1:
        raise NetworkError(f"num_links must be a positive integer (got {num_links!r})")
    fiber = Fiber(length_km, opts.pop("loss_db_per_km", 0.2))
    link = HeraldedLink.from_hardware(fiber, _model(PhotonSource, sections["source"], "source"),
                                      _model(Detector, sections["detector"], "detector"), memory,
                                      scheme=hw["scheme"], alpha=hw["alpha"])
    if opts.get("purification") is None:
        opts.pop("purification_rounds", None)
    return RepeaterChain((link,) * int(num_links), memory=memory, **opts)


def _run_point(chain: RepeaterChain, duration_s: float, seed: int, representation: str):
    r = simulate_chain(chain, duration_s, seed=seed, representation=representation)
    return r.pairs_per_second, r.mean_fidelity, r.fidelity_standard_error, r.delivered


def sweep_chain(parameter: str, values, *, duration_s: float, seed=None, workers: int | None = 1,
                executor: cf.Executor | None = None, representation: str = "auto", num_links: int = 2,
                length_km: float = 10.0, memory: dict | None = None, source: dict | None = None,
                detector: dict | None = None, scheme: str | None = None, alpha: float | None = None,
                **chain_options) -> ChainSweep:
    """Simulate one uniform repeater chain per value of ``parameter``.

    Args:
        parameter: one of ``PARAMETERS``: memory times go to ``Memory``; the
            ``HARDWARE_PARAMETERS`` (``source_rate_hz``, ``source_efficiency``, ``g2``,
            ``indistinguishability``, ``emission_fidelity``, ``detector_efficiency``,
            ``dark_count_rate_hz``, ``dead_time_s``, ``window_s``, ``memory_efficiency``,
            ``alpha``) to the hardware models and make the links hardware-derived; the rest to
            the chain.
        values: the values, in order.
        duration_s: simulated seconds per point.
        seed: seeds the per-point seeds (``None``: fresh, recorded in the result).
        workers: processes (1: in this process; ``None``: one per core); ignored with ``executor``.
        executor: any ``concurrent.futures.Executor`` to run the points on.
        representation: as in ``simulate_chain``.
        num_links, length_km: the chain's links and the length of each (km).
        memory: ``Memory`` fields as a dict (``efficiency`` enters hardware-derived links only).
        source, detector: ``PhotonSource`` / ``Detector`` fields as dicts; either makes the links
            hardware-derived (``HeraldedLink.from_hardware`` over ``Fiber(length_km,
            loss_db_per_km)``).
        scheme: ``"barrett_kok"`` (default) or ``"single_click"``; makes the links
            hardware-derived.
        alpha: the single-click bright-state population (default 0.1); needs
            ``scheme="single_click"``.
        **chain_options: ``link_fidelity`` and ``success_probability`` (Werner links only),
            ``loss_db_per_km``, ``swap_gate_depolarizing``, ``readout_error``, ``protocol``,
            ``purification``, ``purification_rounds``; fixed across the sweep.

    Returns:
        A ``ChainSweep`` (with each point's ``link_figures``).

    Raises:
        NetworkError: an unknown parameter or option, a Werner-only option with a
            hardware-derived link, ``alpha`` without single-click, or a bad value (every point's
            chain is built, and checked, before any runs).

    Example:
        >>> s = sweep_chain("num_links", [1, 2, 4], duration_s=0.01, seed=1, link_fidelity=0.99,
        ...                 success_probability=0.3)
        >>> [round(f, 4) for f in s.mean_fidelity]
        [0.99, 0.9801, 0.9608]
        >>> d = sweep_chain("dead_time_s", [0.0, 3e-6], duration_s=0.01, seed=1, num_links=1,
        ...                 length_km=0.2, source={"rate_hz": 2e6}, detector={"efficiency": 0.5})
        >>> [f["blocked_attempts"] for f in d.link_figures], d.pairs_per_second[0] > d.pairs_per_second[1]
        ([0, 2], True)
    """
    if parameter not in PARAMETERS:
        raise NetworkError(f"parameter must be one of {', '.join(PARAMETERS)} (got {parameter!r})")
    values = list(values)
    if not values:
        raise NetworkError("values must not be empty")
    unknown = sorted(set(chain_options) - set(_WERNER_ONLY) - set(_CHAIN_OPTIONS))
    if unknown:
        raise NetworkError(f"unknown chain option(s) {', '.join(unknown)}; expected "
                           f"{', '.join(_WERNER_ONLY + _CHAIN_OPTIONS)}")
    for name, d in (("memory", memory), ("source", source), ("detector", detector)):
        if d is not None and not isinstance(d, dict):
            raise NetworkError(f"{name} must be a dict of {name} fields (got {d!r})")
    hardware = (source is not None or detector is not None or scheme is not None or alpha is not None
                or parameter in HARDWARE_PARAMETERS)
    hw = None
    if hardware:
        why = ", ".join([n for n, v in (("source", source), ("detector", detector), ("scheme", scheme),
                                        ("alpha", alpha)) if v is not None]
                        + ([f"parameter={parameter!r}"] if parameter in HARDWARE_PARAMETERS else []))
        werner = [n for n in _WERNER_ONLY if n in chain_options or parameter == n]
        if werner:
            raise NetworkError(f"{werner[0]} sets a Werner link; it cannot be combined with a hardware-derived "
                               f"link ({why}); drop one")
        scheme = "barrett_kok" if scheme is None else scheme
        if scheme not in ("barrett_kok", "single_click"):
            raise NetworkError(f"scheme must be 'barrett_kok' or 'single_click' (got {scheme!r})")
        if (alpha is not None or parameter == "alpha") and scheme != "single_click":
            raise NetworkError(f"alpha is the single-click bright-state population; it needs "
                               f"scheme='single_click' (got scheme={scheme!r})")
        hw = {"scheme": scheme, "alpha": 0.1 if alpha is None else alpha}
    end_ps = seconds_to_ps(duration_s, "duration_s")
    if end_ps == 0:
        raise NetworkError(f"duration_s must be > 0 (got {duration_s!r})")
    base = {"num_links": num_links, "length_km": length_km, "memory": dict(memory or {}),
            "source": dict(source or {}), "detector": dict(detector or {}), "hardware": hw,
            "options": dict(chain_options)}
    # every chain is built and checked here, so a bad value is one clear error (not one per
    # worker), and the workers get the very same objects whatever the executor
    chains = [_build_chain(parameter, v, base) for v in values]
    for chain in chains:
        use_density_matrix(representation, chain.memories)
    rng, recorded = resolve_seed(seed)
    entropy = recorded if recorded is not None else int(rng.integers(0, 2**63))
    children = np.random.SeedSequence(entropy).spawn(len(values))
    seeds = [int(c.generate_state(1, np.uint64)[0] >> 11) for c in children]
    args = [(c, duration_s, s, representation) for c, s in zip(chains, seeds)]
    if executor is not None:
        rows = list(executor.map(_run_point, *zip(*args)))
    elif workers == 1 or len(values) == 1:
        rows = [_run_point(*a) for a in args]
    else:
        n = workers or os.cpu_count() or 1
        with cf.ProcessPoolExecutor(max_workers=min(n, len(values))) as pool:
            rows = list(pool.map(_run_point, *zip(*args)))
    rate, fid, se, delivered = zip(*rows)
    return ChainSweep(parameter=parameter, values=tuple(values), pairs_per_second=rate, mean_fidelity=fid,
                      fidelity_standard_error=se, delivered=delivered, seeds=tuple(seeds), seed=recorded,
                      link_figures=tuple(link_figures(c.links[0]) for c in chains))
