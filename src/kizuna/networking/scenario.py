"""Network scenarios: a topology, its hardware and entanglement requests, from a YAML or JSON file.

A scenario file (YAML or JSON; see ``examples/*.yaml``)::

    name: metro                     # optional
    seed: 7                         # optional; --seed overrides
    duration_s: 1.0                 # simulated time, seconds
    hardware:                       # defaults for every node and link (all optional)
      memory: {t1_s: .inf, t2_s: 0.01, cutoff_s: 0.005, efficiency: 1.0}
      swap: {gate_depolarizing: 0.0, readout_error: 0.0}
      link: {fidelity: 0.99, loss_db_per_km: 0.2, detector_efficiency: 1.0}
      source: {rate_hz: 1.0e+6, efficiency: 0.5, g2: 0.01, indistinguishability: 0.95,
               emission_fidelity: 0.99}          # optional: derive links from the hardware
      detector: {efficiency: 0.9, dark_count_rate_hz: 10, dead_time_s: 1.0e-6, window_s: 1.0e-8}
    routing: shortest               # "shortest" (by length_km) or "fewest_hops"
    protocol: asap                  # "asap" or "nested" swapping (RepeaterChain)
    purification: {method: dejmps, rounds: 1}   # optional link-level pumping
    nodes:
      - A                           # a name, or {name: B, memories: 4}
      - {name: B, memories: 4, memory: {t2_s: 0.1}, swap: {gate_depolarizing: 0.02}}
      - C
    links:
      - {nodes: [A, B], length_km: 12.5}           # any link field may override the defaults,
      - {nodes: [B, C], length_km: 20, fidelity: 0.97, success_probability: 0.05}
      - {nodes: [A, C], length_km: 30, scheme: single_click, alpha: 0.05, detector: {dead_time_s: 1.0e-5}}
    requests:
      - {source: A, target: C}

Times in seconds (``.inf`` in YAML, or ``null`` in JSON, for "never"), lengths in km, loss in
dB/km, rates in Hz. (Write exponents with a dot, ``1.0e-6``: YAML 1.1 reads ``1e-6`` as text.)

**Per-node and per-link hardware.** A node may carry its own ``memory`` and ``swap`` sections;
their fields override ``hardware.memory`` / ``hardware.swap`` for that node (its stored qubits
decay with its T1/T2 and cutoff, it swaps with its own Bell-measurement errors). A link may carry
its own ``source`` and ``detector`` sections (over ``hardware.source`` / ``hardware.detector``),
``scheme`` (``barrett_kok`` or ``single_click``) and ``alpha`` (single-click).

**Links.** A link with no source, detector or scheme anywhere is the simple model: Werner pairs
of ``fidelity`` (default 1), success per attempt from its fiber (Barrett-Kok through a midpoint
station with the end memories' efficiencies, ``HeraldedLink.from_fiber``) unless
``success_probability`` is given. A link with any of them is derived from the hardware
(``HeraldedLink.from_hardware``: success probability, heralded state, attempt period, detector
dead time); ``fidelity`` or ``success_probability``, when given, then override the derived
state (as a Werner state) or probability.

**Routing.** Requests are routed in file order on the ``networkx`` graph of the links, each on
the shortest path (by ``length_km``, or by hops) through nodes that still have free memories:
an end node uses one memory per request, an intermediate node two (one per side); a node
without ``memories`` has as many as it needs. A request with no such path is reported as not
routed, with the reason. Routed requests run at the same time on one simulator, each as a
swap-as-soon-as-possible repeater chain on its own memories (``chain.py``); links shared by
several requests are multiplexed (each request's memories make their own attempts).

Errors name the file and the field: ``metro.yaml: links[2]: length_km must be >= 0 (got -3)``,
``metro.yaml: nodes[3].memory.t2_s: memory t2_s must be <= 2 * t1_s ...``.

This module imports ``core``, ``networking`` and networkx / PyYAML (the latter only to read YAML).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import KizunaError, NetworkError
from .chain import (
    RepeaterChain,
    _ChainSim,
    mean_and_standard_error,
    run_until,
    use_density_matrix,
)
from .engine import PS_PER_S, Simulator, seconds_to_ps
from .hardware import Detector, Fiber, HeraldedLink, Memory, PhotonSource
from .states import werner

__all__ = ["NetworkResult", "RequestResult", "Scenario", "run_scenario"]

_ROUTING = ("shortest", "fewest_hops")
_TOP_KEYS = {"name", "seed", "duration_s", "hardware", "routing", "protocol", "purification", "nodes", "links",
             "requests"}
_MEMORY_KEYS = {"t1_s", "t2_s", "cutoff_s", "efficiency"}
_SWAP_KEYS = {"gate_depolarizing", "readout_error"}
_SOURCE_KEYS = {"rate_hz", "efficiency", "g2", "indistinguishability", "emission_fidelity"}
_DETECTOR_KEYS = {"efficiency", "dark_count_rate_hz", "dead_time_s", "window_s"}
_LINK_KEYS = {"fidelity", "loss_db_per_km", "detector_efficiency", "success_probability", "scheme", "alpha",
              "source", "detector"}
_NODE_KEYS = {"name", "memories", "memory", "swap"}
#: Fields read as times/rates, where ``null`` (JSON) means infinity.
_INF_KEYS = {"t1_s", "t2_s", "cutoff_s", "rate_hz"}


def _time(value):
    """``None`` (JSON's stand-in for infinity) -> inf."""
    return math.inf if value is None else value


@dataclass(frozen=True)
class Scenario:
    """A validated network scenario (see the module docstring for the file format).

    Attributes:
        nodes: ``{name: memories or None}`` in file order.
        links: ``({"nodes": (a, b), "length_km": ..., link fields...}, ...)``.
        requests: ``((source, target), ...)``.
        duration_s, seed, name, routing, memory (``Memory``), swap (its two probabilities),
        link_defaults: as in the file.
        node_memories: ``{name: Memory}`` for nodes with their own memory section (the others
            use ``memory``); node_swap: ``{name: {gate_depolarizing, readout_error}}`` likewise.
        source: where it was read from (for messages).
    """

    nodes: dict
    links: tuple
    requests: tuple
    duration_s: float
    memory: Memory = field(default_factory=Memory)
    swap: dict = field(default_factory=lambda: {"gate_depolarizing": 0.0, "readout_error": 0.0})
    link_defaults: dict = field(default_factory=dict)
    routing: str = "shortest"
    protocol: str = "asap"
    purification: str | None = None
    purification_rounds: int = 0
    seed: int | None = None
    name: str = "network"
    source: str = "<scenario>"
    node_memories: dict = field(default_factory=dict)
    node_swap: dict = field(default_factory=dict)

    def memory_of(self, node: str) -> Memory:
        """The memory of ``node`` (its own, else the scenario's)."""
        return self.node_memories.get(node, self.memory)

    def swap_of(self, node: str) -> tuple[float, float]:
        """``(gate_depolarizing, readout_error)`` of ``node``'s Bell measurement."""
        d = self.node_swap.get(node, self.swap)
        return float(d["gate_depolarizing"]), float(d["readout_error"])

    # --- reading ------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        """Read a ``.yaml``/``.yml`` or ``.json`` scenario file.

        Raises:
            NetworkError: unreadable text or an invalid field (``file: field: message``).
            FileNotFoundError: no such file.
        """
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
                problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
                raise NetworkError(f"{path}{where}: not valid YAML: {problem}") from None
        else:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise NetworkError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data, source: str = "<scenario>") -> Scenario:
        """Validate a scenario dictionary (as read from a file)."""
        def fail(where: str, message: str):
            raise NetworkError(f"{source}: {where}{': ' if where else ''}{message}")

        if not isinstance(data, dict):
            fail("", f"a scenario must be a mapping of fields (got {type(data).__name__})")
        unknown = set(data) - _TOP_KEYS
        if unknown:
            fail("", f"unknown field(s) {', '.join(sorted(map(str, unknown)))}; expected {', '.join(sorted(_TOP_KEYS))}")
        for key in ("duration_s", "nodes", "links", "requests"):
            if key not in data:
                fail(key, "is required")
        try:
            duration = float(data["duration_s"])
        except (TypeError, ValueError):
            fail("duration_s", f"must be a number of seconds (got {data['duration_s']!r})")
        if not 0 < duration < math.inf:
            fail("duration_s", f"must be > 0 and finite (got {data['duration_s']!r})")
        seed = data.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            fail("seed", f"must be a non-negative integer (got {seed!r})")
        routing = data.get("routing", "shortest")
        if routing not in _ROUTING:
            fail("routing", f"must be one of {', '.join(_ROUTING)} (got {routing!r})")

        protocol = data.get("protocol", "asap")
        if protocol not in ("asap", "nested"):
            fail("protocol", f"must be 'asap' or 'nested' (got {protocol!r})")
        pur = data.get("purification") or {}
        if not isinstance(pur, dict) or set(pur) - {"method", "rounds"}:
            fail("purification", f"must be a mapping with method and rounds (got {pur!r})")
        method, rounds = pur.get("method"), pur.get("rounds", 1 if pur else 0)
        if pur and method not in ("dejmps", "bbpssw"):
            fail("purification.method", f"must be 'dejmps' or 'bbpssw' (got {method!r})")
        if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 0:
            fail("purification.rounds", f"must be a non-negative integer (got {rounds!r})")

        hw = data.get("hardware") or {}
        if not isinstance(hw, dict) or set(hw) - {"memory", "swap", "link", "source", "detector"}:
            fail("hardware", "must be a mapping with optional memory, swap, link, source and detector sections")
        mem_d = _section(hw, "memory", _MEMORY_KEYS, fail, "hardware.memory")
        memory = _model(Memory, mem_d, "hardware.memory", fail)
        swap = _swap_section({"gate_depolarizing": 0.0, "readout_error": 0.0},
                             _section(hw, "swap", _SWAP_KEYS, fail, "hardware.swap"), "hardware.swap", fail)
        link_defaults = _section(hw, "link", _LINK_KEYS - {"source", "detector"}, fail, "hardware.link")
        source_defaults = _section(hw, "source", _SOURCE_KEYS, fail, "hardware.source")
        detector_defaults = _section(hw, "detector", _DETECTOR_KEYS, fail, "hardware.detector")
        _model(PhotonSource, source_defaults, "hardware.source", fail)
        _model(Detector, detector_defaults, "hardware.detector", fail)
        node_memories: dict = {}
        node_swap: dict = {}

        nodes: dict = {}
        raw_nodes = data["nodes"]
        if not isinstance(raw_nodes, list) or not raw_nodes:
            fail("nodes", "must be a non-empty list of names or {name, memories} mappings")
        for i, item in enumerate(raw_nodes):
            where = f"nodes[{i}]"
            if isinstance(item, dict):
                if set(item) - _NODE_KEYS or "name" not in item:
                    fail(where, f"must have a name and optionally memories, memory and swap (got {sorted(item)})")
                name, mems = item["name"], item.get("memories")
            else:
                name, mems = item, None
            if not isinstance(name, (str, int)) or isinstance(name, bool):
                fail(where, f"node name must be a string (got {name!r})")
            name = str(name)
            if name in nodes:
                fail(where, f"duplicate node name {name!r}")
            if mems is not None and (isinstance(mems, bool) or not isinstance(mems, int) or mems < 1):
                fail(f"{where}.memories", f"must be a positive integer (got {mems!r})")
            nodes[name] = mems
            if isinstance(item, dict) and item.get("memory") is not None:
                own = _section(item, "memory", _MEMORY_KEYS, fail, f"{where}.memory")
                node_memories[name] = _model(Memory, mem_d | own, f"{where}.memory", fail)
            if isinstance(item, dict) and item.get("swap") is not None:
                own = _section(item, "swap", _SWAP_KEYS, fail, f"{where}.swap")
                node_swap[name] = _swap_section(dict(swap), own, f"{where}.swap", fail)

        def node_name(value, where):
            key = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
            if key not in nodes:
                shown = ", ".join(list(nodes)[:10]) + (", ..." if len(nodes) > 10 else "")
                fail(where, f"unknown node {value!r} (nodes: {shown})")
            return key

        links = []
        seen = set()
        if not isinstance(data["links"], list) or not data["links"]:
            fail("links", "must be a non-empty list of {nodes: [a, b], length_km: ...}")
        for i, item in enumerate(data["links"]):
            where = f"links[{i}]"
            if not isinstance(item, dict):
                fail(where, f"must be a mapping (got {item!r})")
            extra = set(item) - _LINK_KEYS - {"nodes", "length_km"}
            if extra:
                fail(where, f"unknown field(s) {', '.join(sorted(extra))}")
            ends = item.get("nodes")
            if not isinstance(ends, list) or len(ends) != 2:
                fail(f"{where}.nodes", f"must be a list of two node names (got {ends!r})")
            a, b = node_name(ends[0], f"{where}.nodes[0]"), node_name(ends[1], f"{where}.nodes[1]")
            if a == b:
                fail(f"{where}.nodes", f"a link joins two different nodes (got {a!r} twice)")
            if frozenset((a, b)) in seen:
                fail(f"{where}.nodes", f"duplicate link {a!r}-{b!r}")
            seen.add(frozenset((a, b)))
            if "length_km" not in item:
                fail(f"{where}.length_km", "is required")
            spec = dict(link_defaults) | {k: v for k, v in item.items() if k not in ("nodes", "source", "detector")}
            if source_defaults or "source" in item:
                spec["source"] = source_defaults | _section(item, "source", _SOURCE_KEYS, fail, f"{where}.source")
                _model(PhotonSource, spec["source"], f"{where}.source", fail)
            if detector_defaults or "detector" in item:
                spec["detector"] = detector_defaults | _section(item, "detector", _DETECTOR_KEYS, fail,
                                                                f"{where}.detector")
                _model(Detector, spec["detector"], f"{where}.detector", fail)
            if "scheme" in spec and spec["scheme"] not in ("barrett_kok", "single_click"):
                fail(f"{where}.scheme", f"must be 'barrett_kok' or 'single_click' (got {spec['scheme']!r})")
            try:
                _build_link(spec, node_memories.get(a, memory), node_memories.get(b, memory))
            except KizunaError as exc:
                fail(where, str(exc))
            links.append({"nodes": (a, b), **spec})

        requests = []
        if not isinstance(data["requests"], list) or not data["requests"]:
            fail("requests", "must be a non-empty list of {source, target}")
        for i, item in enumerate(data["requests"]):
            where = f"requests[{i}]"
            if not isinstance(item, dict) or set(item) != {"source", "target"}:
                fail(where, f"must be a mapping with source and target (got {item!r})")
            s, t = node_name(item["source"], f"{where}.source"), node_name(item["target"], f"{where}.target")
            if s == t:
                fail(where, f"source and target must differ (got {s!r} twice)")
            requests.append((s, t))
        return cls(nodes=nodes, links=tuple(links), requests=tuple(requests), duration_s=duration,
                   memory=memory, swap=swap, link_defaults=dict(link_defaults), routing=routing,
                   protocol=protocol, purification=method if rounds else None, purification_rounds=rounds if method else 0,
                   seed=seed, name=str(data.get("name", "network")), source=source,
                   node_memories=node_memories, node_swap=node_swap)

    def graph(self):
        """The ``networkx.Graph`` of the links (edge attribute ``length_km``)."""
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(self.nodes)
        for link in self.links:
            g.add_edge(*link["nodes"], length_km=float(link["length_km"]), spec=link)
        return g


def _section(parent: dict, name: str, keys: set, fail, where: str) -> dict:
    d = parent.get(name) or {}
    if not isinstance(d, dict):
        fail(where, f"must be a mapping (got {d!r})")
    extra = set(d) - keys
    if extra:
        fail(where, f"unknown field(s) {', '.join(sorted(map(str, extra)))}; expected {', '.join(sorted(keys))}")
    return dict(d)


def _model(cls, fields: dict, where: str, fail):
    """``cls(**fields)`` (``null`` times read as infinite); an error names the field it is
    about (``where.field``: the field named first in the model's message)."""
    try:
        return cls(**{k: _time(v) if k in _INF_KEYS else v for k, v in fields.items()})
    except KizunaError as exc:
        msg = str(exc)
        hits = [(msg.find(k), k) for k in fields if k in msg]
        fail(f"{where}.{min(hits)[1]}" if hits else where, msg)


def _swap_section(base: dict, own: dict, where: str, fail) -> dict:
    out = dict(base)
    for k, v in own.items():
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v <= 1:
            fail(f"{where}.{k}", f"must be a probability in [0, 1] (got {v!r})")
        out[k] = float(v)
    return out


def _build_link(spec: dict, memory_a: Memory, memory_b: Memory) -> HeraldedLink:
    """The ``HeraldedLink`` of a link's spec between nodes with these memories (see the
    module docstring: the simple model, or derived from the hardware)."""
    if not any(k in spec for k in ("source", "detector", "scheme")):
        return HeraldedLink.from_fiber(
            spec["length_km"], state=werner(spec.get("fidelity", 1.0)), loss_db_per_km=spec.get("loss_db_per_km", 0.2),
            memory_efficiency=math.sqrt(memory_a.efficiency * memory_b.efficiency),  # p = eta_a eta_b / 2
            detector_efficiency=spec.get("detector_efficiency", 1.0),
            success_probability=spec.get("success_probability"),
        )
    fiber = Fiber(spec["length_km"], spec.get("loss_db_per_km", 0.2))
    det = dict(spec.get("detector", {}))
    if "detector_efficiency" in spec:
        det.setdefault("efficiency", spec["detector_efficiency"])
    source = PhotonSource(**{k: _time(v) if k in _INF_KEYS else v for k, v in spec.get("source", {}).items()})
    link = HeraldedLink.from_hardware(fiber, source, Detector(**det), (memory_a, memory_b),
                                      scheme=spec.get("scheme", "barrett_kok"), alpha=spec.get("alpha", 0.1))
    changes = {}
    if "fidelity" in spec:
        changes["state"] = werner(spec["fidelity"])
    if spec.get("success_probability") is not None:
        p = spec["success_probability"]
        changes["success_probability"] = p
        changes["click_probability"] = max(link.click_probability, float(p)) if isinstance(p, (int, float)) else None
    return dataclasses.replace(link, **changes) if changes else link


@dataclass(frozen=True)
class RequestResult:
    """One request's outcome. ``path`` is empty and ``reason`` says why when it was not routed.
    Fidelity statistics are ``nan`` (``None`` in JSON) without deliveries."""

    source: str
    target: str
    path: tuple[str, ...]
    routed: bool
    reason: str
    delivered: int
    pairs_per_second: float
    mean_fidelity: float
    fidelity_standard_error: float
    fidelity_percentiles: dict
    discarded: int
    fidelities: tuple[float, ...] = ()

    def to_dict(self, include_samples: bool = False) -> dict:
        d = {k: getattr(self, k) for k in ("source", "target", "routed", "reason", "delivered", "pairs_per_second",
                                           "mean_fidelity", "fidelity_standard_error", "discarded")}
        d["path"] = list(self.path)
        d["fidelity_percentiles"] = dict(self.fidelity_percentiles)
        d = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}
        if include_samples:
            d["fidelities"] = list(self.fidelities)
        return d


@dataclass(frozen=True)
class NetworkResult:
    """The outcome of ``run_scenario``: one ``RequestResult`` per request, in file order."""

    name: str
    requests: tuple[RequestResult, ...]
    duration_s: float
    events: int
    wall_time_s: float
    provenance: dict

    def to_dict(self, include_samples: bool = False) -> dict:
        return {"name": self.name, "duration_s": self.duration_s, "events": self.events,
                "wall_time_s": self.wall_time_s,
                "requests": [r.to_dict(include_samples) for r in self.requests],
                "provenance": dict(self.provenance)}


def route(scenario: Scenario, graph=None) -> list[tuple[list[str] | None, str]]:
    """``[(path or None, reason)]`` per request (see the module docstring); ``graph``:
    ``scenario.graph()`` if the caller has it."""
    import networkx as nx

    g = scenario.graph() if graph is None else graph
    free = {n: (math.inf if m is None else m) for n, m in scenario.nodes.items()}
    weight = "length_km" if scenario.routing == "shortest" else None
    out = []
    for s, t in scenario.requests:
        if free[s] < 1 or free[t] < 1:
            out.append((None, (f"no free memory at {'source' if free[s] < 1 else 'target'} "
                              f"{s if free[s] < 1 else t!r}")))
            continue
        usable = g.subgraph([n for n in g if free[n] >= 2 or n in (s, t)])
        try:
            path = nx.shortest_path(usable, s, t, weight=weight)
        except nx.NetworkXNoPath:
            reason = ("no path: the nodes are not connected" if not nx.has_path(g, s, t)
                      else "no path through nodes with two free memories")
            out.append((None, reason))
            continue
        free[s] -= 1
        free[t] -= 1
        for n in path[1:-1]:
            free[n] -= 2
        out.append((path, ""))
    return out


def run_scenario(scenario: Scenario, seed=None, *, progress=None, representation: str = "auto") -> NetworkResult:
    """Route and simulate every request of ``scenario`` on one simulator.

    Args:
        scenario: a ``Scenario``.
        seed: overrides the scenario's seed (``None``: the file's, else fresh entropy).
        progress: ``None`` or a callable given the fraction of simulated time done.
        representation: as in ``simulate_chain``.

    Returns:
        A ``NetworkResult``.
    """
    if not isinstance(scenario, Scenario):
        raise NetworkError(f"scenario must be a Scenario (got {type(scenario).__name__})")
    sim = Simulator(seed if seed is not None else scenario.seed)
    dm = use_density_matrix(representation, (scenario.memory, *scenario.node_memories.values()))
    g = scenario.graph()
    routes = route(scenario, g)
    protos = []
    for path, _ in routes:
        if path is None:
            protos.append(None)
            continue
        links = tuple(_build_link(g.edges[a, b]["spec"], scenario.memory_of(a), scenario.memory_of(b))
                      for a, b in itertools.pairwise(path))
        per_node = any(n in scenario.node_memories or n in scenario.node_swap for n in path)
        chain = RepeaterChain(links, scenario.memory, scenario.swap["gate_depolarizing"], scenario.swap["readout_error"],
                              scenario.protocol, scenario.purification, scenario.purification_rounds,
                              node_memories=tuple(scenario.memory_of(n) for n in path) if per_node else None,
                              node_swap_errors=tuple(scenario.swap_of(n) for n in path) if per_node else None)
        proto = _ChainSim(chain, sim, dm)
        protos.append(proto)
    for proto in protos:
        if proto is not None:
            proto.start()
    end_ps = seconds_to_ps(scenario.duration_s, "duration_s")
    start = time.perf_counter()
    run_until(sim, end_ps, progress)
    wall = time.perf_counter() - start
    duration = end_ps / PS_PER_S
    results = []
    for (s, t), (path, reason), proto in zip(scenario.requests, routes, protos):
        f = proto.fidelities if proto is not None else []
        mean, se = mean_and_standard_error(f)
        pct = ({f"p{q}": float(np.percentile(f, q)) for q in (5, 25, 50, 75, 95)} if f else {})
        results.append(RequestResult(source=s, target=t, path=tuple(path or ()), routed=path is not None,
                                     reason=reason, delivered=len(f), pairs_per_second=len(f) / duration,
                                     mean_fidelity=mean, fidelity_standard_error=se, fidelity_percentiles=pct,
                                     discarded=proto.discarded if proto is not None else 0, fidelities=tuple(f)))
    from .. import __version__

    provenance = {"kizuna_version": __version__, "seed": sim.seed, "source": scenario.source,
                  "representation": "density_matrix" if dm else "bell_diagonal", "routing": scenario.routing,
                  "protocol": scenario.protocol, "purification": scenario.purification,
                  "purification_rounds": scenario.purification_rounds}
    return NetworkResult(name=scenario.name, requests=tuple(results), duration_s=duration,
                         events=sim.events_processed, wall_time_s=wall, provenance=provenance)


def plot_requests(result: NetworkResult, ax=None):
    """Fidelity distribution of each request's delivered pairs (box plot, rate in the label);
    returns the matplotlib ``Axes``."""
    try:
        import matplotlib

        if ax is None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        raise NetworkError("plotting needs matplotlib: pip install 'kizuna[plot]'") from None
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 1.8 * len(result.requests) + 1.5), 3.8))
    data = [r.fidelities if r.fidelities else [math.nan] for r in result.requests]
    labels = [f"{r.source}\n-> {r.target}\n{r.pairs_per_second:.4g}/s" for r in result.requests]
    ax.boxplot(data, showfliers=False)
    ax.set_xticks(range(1, len(labels) + 1), labels)
    ax.set_ylabel("fidelity of delivered pairs")
    ax.set_title(f"{result.name}: {result.duration_s:g} s simulated")
    ax.figure.tight_layout()
    return ax
