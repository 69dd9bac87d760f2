"""Network simulation speed: Kizuna's event engine and repeater chains beside SeQUeNCe.

Each part is one function ``part_<name>(args) -> list[row]`` registered in ``PARTS`` with a
report that prints its table; a row is a dict with at least ``part``, ``tool``, ``seconds``
(wall time) and ``ratio``. Add a part by writing its two functions, its options in
``add_arguments`` and one ``PARTS`` entry. Peers are run in this process, side by side; SeQUeNCe
(``sequence``, from the ``bench`` extra) is skipped when missing.

Part ``engine`` -- trivial events per second of the bare schedulers. Every event does the same
work in every tool: take the next delay from a shared, pre-drawn list and schedule its successor
(so random-number generation is not timed). Two workloads:

* ``chain``: one event chain, N events of 1 ps each (the heap never holds more than one event);
* ``concurrent``: K self-rescheduling processes (default 10,000) with uniform random delays of
  1 ps .. 1 us, so every push and pop works on a heap of K events.

Tools: a bare ``heapq`` loop over ``(time, seq, fn, args)`` tuples, the entries Kizuna's
``Simulator`` keeps (the ceiling for any Python engine built on ``heapq``); Kizuna ``Simulator``
with callbacks (``schedule``) and with generator processes (``process``: the process yields its
delays); SeQUeNCe 0.8.5's ``Timeline`` with an ``Event(time, Process(owner, "tick", []))`` per
event -- its own kernel objects, compared in Python by ``Event.__lt__``, with the debug-log
f-string ``Timeline.run`` formats for every event. SeQUeNCe runs fewer events
(``--engine-events-sequence``): events/s does not depend on the count once the heap is full.
Ratio = events/s over SeQUeNCe's on the same workload; target: Kizuna >= 30x.

Part ``chain`` -- the same repeater chain in both tools (default 2 and 4 links of 20 km, as in
SeQUeNCe's ``example/SC24`` swapping configuration; 0.2 dB/km; perfect memories, detectors and
gates; Barrett-Kok generation; no purification; each node swaps as soon as it holds the two
pairs its protocol asks for; ``--chain-duration-s`` simulated seconds):

* ``sequence``: ``RouterNetTopo`` from a generated JSON configuration (``QuantumRouter`` nodes
  with two memories, ``meet_in_the_middle`` links with a ``SingleAtomBSM`` midpoint, classical
  connections of 5 us/km between every pair of routers) and a ``RequestApp`` asking the end
  nodes for one memory at target fidelity 0.1 (below any pair: no purification). Its reservation
  protocol writes rules for generation and for swapping, in the doubling order of
  ``ResourceManager.generate_load_rules`` (node 2 of 0..4 swaps only [0, 2] with [2, 4]). A pair
  counts as delivered when the initiator's app receives a memory entangled with the responder
  (``RequestApp.memory_counter``); its fidelity is read from the quantum manager's kets at that
  moment (the best overlap with the four Bell states: the far end may not yet have applied its
  Pauli correction), because SeQUeNCe's own ``memory.fidelity`` is bookkeeping (the raw
  fidelity times a 0.95 "degradation" per swap, while its ket stays exact); both are reported.
* ``kizuna (matched)``: ``simulate_chain`` on links with SeQUeNCe's measured single-link
  figures: a one-link SeQUeNCe run (``--calib-duration-s``) counts the Barrett-Kok attempts and
  successes at one end, which gives the success probability per attempt and the mean simulated
  time per attempt (SeQUeNCe's attempt is two emission rounds, each negotiated over the classical
  channel, plus the resource manager's request/response before the protocol starts: about
  5.5 one-way delays of the link, against Kizuna's round trip to the midpoint). Swap order
  ``protocol="nested"``: the same doubling order as SeQUeNCe's for 2, 4, 8 ... links (for
  other link counts the two split the chain differently).
* ``kizuna (own model)``: ``RepeaterChain.uniform`` on the same fiber: Kizuna's Barrett-Kok
  success probability ``eta**2 / 2`` and attempts of one round trip to the midpoint; swap as
  soon as possible.

The two simulators do not model the same events. SeQUeNCe simulates every attempt: photon
emission, the photon in the fiber, the detectors, each classical message of the generation,
resource-manager and swapping protocols, each quantum operation on its kets (through qutip
circuits). Kizuna draws the number of failed attempts of a link from the geometric distribution
and runs about one event per successful link, one per swap and one per delivery. Events/s is
therefore not like for like (a SeQUeNCe event is smaller): the fair figure is **wall time per
delivered end-to-end pair**, at the same pair rate per simulated second -- the pair rates of both
tools are printed so a reader can see whether they model the same thing. Targets: Kizuna >= 30x
SeQUeNCe's events/s and >= 30x less wall time per delivered pair (the matched row).

Part ``large`` -- Kizuna alone: repeater chains of 1,000 and 10,000 nodes (``--large-nodes``)
with 1 km links: wall time, events, events/s, delivered pairs, pair rate and peak RSS. Each
runs in a fresh process so that its peak RSS is its own (``VmHWM`` of ``/proc/self/status``;
``resource.getrusage`` where there is none: on Linux its ``ru_maxrss`` carries the parent's RSS
over fork + exec). The end-to-end classical delay is 5 us/km (50 ms for 10,000 km), so a
delivery needs more than that of simulated time; with swap-as-soon-as-possible every link
regenerates as soon as its node has swapped, so the events per simulated second grow as
``nodes * p / attempt``: the default ``--large-p`` (0.005; e.g. 10 % emission-and-collection
efficiency per memory, ``p = eta**2/2``) keeps the 10,000-node run under a minute on a loaded 2-core machine.

    python benchmarks/bench_network.py --json /tmp/bench_network.json
    python benchmarks/bench_network.py --part chain --chain-links 2 4 8 --chain-duration-s 2
    python benchmarks/bench_network.py --part large --large-nodes 100 1000 --large-p 0.5

Timings: Kizuna rows are the median of ``--repeat`` runs after one warm-up; SeQUeNCe rows the
median of ``--sequence-repeat`` runs (default 1: they take seconds to minutes). Topology
construction is excluded from every timing; only the event loop is timed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time

try:
    import kizuna  # noqa: F401 - only to see whether src/ is on the path
except ImportError:  # run from a checkout without PYTHONPATH=src
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from _common import write_json

#: Kizuna must be this many times faster than SeQUeNCe (events/s and wall time per pair).
TARGET_VS_SEQUENCE = 30.0
#: Light in fiber, picoseconds per metre (5 us/km), in both tools.
PS_PER_M = 5_000


def median_time(fn, repeat: int, warmup: bool = True):
    """Median of the ``seconds`` that ``fn()`` reports over ``repeat`` runs (after one warm-up
    run if ``warmup``); returns ``(seconds, last result)``. ``fn`` returns ``(seconds, result)``
    so it can leave its own set-up out of the timing."""
    if warmup:
        fn()
    times, out = [], None
    for _ in range(max(1, repeat)):
        t, out = fn()
        times.append(t)
    return statistics.median(times), out


def _have_sequence() -> bool:
    try:
        import sequence  # noqa: F401
    except ImportError:
        print("# sequence (SeQUeNCe) not installed; its rows are skipped", file=sys.stderr)
        return False
    return True


# --- part: engine --------------------------------------------------------------------------------
def _delays(variant: str, n: int, processes: int, seed: int = 7) -> tuple[int, list[int]]:
    """``(processes, delays)``: the workload's concurrency and its ``n`` pre-drawn delays (ps)."""
    import numpy as np

    if variant == "chain":
        return 1, [1] * n
    return processes, np.random.default_rng(seed).integers(1, 1_000_001, n).tolist()


def engine_heapq(k: int, delays: list[int]):
    """The ceiling: a bare heapq loop over ``(time, seq, fn, args)``."""
    import heapq

    heap: list = []
    push, pop = heapq.heappush, heapq.heappop
    it = iter(delays)
    clock = [0, 0]  # now, seq

    def tick():
        d = next(it, None)
        if d is not None:
            clock[1] += 1
            push(heap, (clock[0] + d, clock[1], tick, ()))

    for _ in range(k):
        clock[1] += 1
        push(heap, (next(it), clock[1], tick, ()))
    n = 0
    start = time.perf_counter()
    while heap:
        t, _seq, fn, args = pop(heap)
        clock[0] = t
        n += 1
        fn(*args)
    return time.perf_counter() - start, n


def _simulator_class(core: str):
    from kizuna.networking import engine

    return engine._PythonSimulator if core == "python" else engine.Simulator


def engine_kizuna_callbacks(k: int, delays: list[int], core: str = "compiled"):
    sim = _simulator_class(core)(seed=0)
    it = iter(delays)

    def tick():
        d = next(it, None)
        if d is not None:
            sim.schedule(d, tick)

    for _ in range(k):
        sim.schedule(next(it), tick)
    start = time.perf_counter()
    sim.run()
    return time.perf_counter() - start, sim.events_processed


def engine_kizuna_processes(k: int, delays: list[int], core: str = "compiled"):
    sim = _simulator_class(core)(seed=0)
    it = iter(delays)

    def proc():
        yield from it  # every process pulls the next delay of the shared list

    for _ in range(k):
        sim.process(proc())
    start = time.perf_counter()
    sim.run()
    return time.perf_counter() - start, sim.events_processed


def engine_sequence(k: int, delays: list[int]):
    from sequence.kernel.event import Event
    from sequence.kernel.process import Process
    from sequence.kernel.timeline import Timeline

    tl = Timeline()
    it = iter(delays)

    class Ticker:  # the owner a SeQUeNCe Process calls by method name
        def tick(self):
            d = next(it, None)
            if d is not None:
                tl.schedule(Event(tl.time + d, Process(self, "tick", [])))

    owner = Ticker()
    for _ in range(k):
        tl.schedule(Event(next(it), Process(owner, "tick", [])))
    start = time.perf_counter()
    tl.run()
    return time.perf_counter() - start, tl.run_counter


def part_engine(args) -> list[dict]:
    tools = [("heapq (ceiling)", engine_heapq, "bare heapq loop, same entries as Kizuna's"),
             ("kizuna", engine_kizuna_callbacks, "Simulator.schedule callbacks"),
             ("kizuna processes", engine_kizuna_processes, "Simulator.process generators"),
             ("kizuna python", lambda k, d: engine_kizuna_callbacks(k, d, "python"),
              "callbacks on the pure-Python core (the fallback)")]
    from kizuna.networking import engine

    if engine.ENGINE_CORE != "compiled":
        print("note: the compiled event core is not built; 'kizuna' rows run the pure-Python core",
              file=sys.stderr)
    if _have_sequence():
        tools.append(("sequence", engine_sequence, "Timeline + Event(Process(owner, 'tick'))"))
    rows = []
    for variant in ("chain", "concurrent"):
        for name, fn, what in tools:
            n = args.engine_events_sequence if name == "sequence" else args.engine_events
            k, delays = _delays(variant, n, args.engine_processes)
            repeat = args.sequence_repeat if name == "sequence" else args.repeat
            seconds, events = median_time(lambda fn=fn, k=k, d=delays: fn(k, d), repeat,
                                          warmup=name != "sequence")
            rows.append({"part": "engine", "variant": variant, "tool": name, "seconds": seconds,
                         "events": events, "events_per_s": events / seconds, "processes": k,
                         "what": what})
        base = {r["tool"]: r["events_per_s"] for r in rows if r["variant"] == variant}.get("sequence")
        for r in rows:
            if r["variant"] == variant:
                r["ratio"] = r["events_per_s"] / base if base else None
    return rows


def report_engine(rows: list[dict]) -> None:
    print(f"{'workload':<20}{'tool':<18}{'events':>10}{'seconds':>9}{'events/s':>12}{'x SeQUeNCe':>12}  what")
    for r in rows:
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.1f}"
        label = r["variant"] if r["variant"] == "chain" else f"{r['variant']} ({r['processes']:,})"
        print(f"{label:<20}{r['tool']:<18}{r['events']:>10,}{r['seconds']:>9.3f}{r['events_per_s']:>12,.0f}"
              f"{ratio:>12}  {r['what']}")
    for variant in ("chain", "concurrent"):
        by = {r["tool"]: r for r in rows if r["variant"] == variant}
        if "sequence" in by:
            for tool in ("kizuna", "kizuna processes"):
                x = by[tool]["ratio"]
                verdict = "met" if x >= TARGET_VS_SEQUENCE else "MISSED"
                print(f"{variant}: {tool} / sequence events/s = {x:.1f}x "
                      f"(target >= {TARGET_VS_SEQUENCE:g}x: {verdict})")
        ceiling = by["heapq (ceiling)"]["events_per_s"]
        print(f"{variant}: kizuna reaches {by['kizuna']['events_per_s'] / ceiling:.0%} of the bare heapq loop")


# --- part: chain ---------------------------------------------------------------------------------
def _bell_fidelity(qm, key_a: int, key_b: int) -> float:
    """Largest overlap of the (A, B) reduced state of SeQUeNCe's quantum manager with the four
    Bell states (the fidelity up to the Pauli frame the swap outcomes define)."""
    import numpy as np

    def reduced(st, wanted):
        keys = list(st.keys)
        n = len(keys)
        a = np.asarray(st.state, dtype=complex)
        rho = np.outer(a, a.conj()) if a.ndim == 1 else a
        row = [chr(97 + i) for i in range(n)]
        col = [chr(97 + n + i) for i in range(n)]
        keep = [keys.index(k) for k in wanted]
        for i in range(n):
            if i not in keep:
                col[i] = row[i]
        spec = "".join(row) + "".join(col) + "->" + "".join(row[i] for i in keep) + "".join(col[i] for i in keep)
        d = 2 ** len(keep)
        return np.einsum(spec, rho.reshape((2,) * (2 * n))).reshape(d, d)

    sa = qm.get(key_a)
    if key_b in sa.keys:
        rho = reduced(sa, [key_a, key_b])
    else:  # the two memories hold a product state
        rho = np.kron(reduced(sa, [key_a]), reduced(qm.get(key_b), [key_b]))
    s = 1 / math.sqrt(2)
    bells = np.array([[s, 0, 0, s], [s, 0, 0, -s], [0, s, s, 0], [0, s, -s, 0]])
    return float(max((b @ rho @ b).real for b in bells))


def _sequence_topology(num_links: int, length_m: float, stop_ps: int, seed: int):
    """SeQUeNCe's RouterNetTopo for a chain r0 .. rN (see the module docstring)."""
    import tempfile

    from sequence.topology.router_net_topo import RouterNetTopo

    names = [f"r{i}" for i in range(num_links + 1)]
    detector = {"efficiency": 1, "dark_count": 0, "time_resolution": 1, "count_rate": 1e11}
    config = {
        "nodes": [{"name": n, "type": "QuantumRouter", "seed": seed + i, "memo_size": 2, "template": "router"}
                  for i, n in enumerate(names)],
        "qconnections": [{"node1": names[i], "node2": names[i + 1], "attenuation": 0.0002,  # dB/m
                          "distance": length_m, "type": "meet_in_the_middle", "seed": seed + 1000 + i,
                          "template": "bsm"} for i in range(num_links)],
        "cconnections": [{"node1": names[i], "node2": names[j], "delay": round((j - i) * length_m * PS_PER_M)}
                         for i in range(len(names)) for j in range(i + 1, len(names))],
        "stop_time": stop_ps,
        "templates": {
            # coherence_time -1: no decoherence and no expiry; fidelity: the raw (link) fidelity
            "router": {"MemoryArray": {"frequency": 2e8, "coherence_time": -1, "efficiency": 1, "fidelity": 1}},
            "bsm": {"SingleAtomBSM": {"detectors": [detector, detector]}},
        },
    }
    fd, path = tempfile.mkstemp(suffix=".json", prefix="bench_network_")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(config, fh)
        topo = RouterNetTopo(path)
    finally:
        os.unlink(path)
    routers = {r.name: r for r in topo.get_nodes_by_type(RouterNetTopo.QUANTUM_ROUTER)}
    return topo, [routers[n] for n in names]


def sequence_chain(num_links: int, length_km: float, duration_s: float, seed: int = 1) -> dict:
    """Run SeQUeNCe's chain; returns its figures (wall time of ``Timeline.run`` only)."""
    from sequence.app.request_app import RequestApp

    length_m = length_km * 1000
    # the reservation must reach the responder and come back before it starts
    start_ps = 4 * num_links * round(length_m * PS_PER_M) + 10**6
    stop_ps = start_ps + round(duration_s * 1e12)
    topo, routers = _sequence_topology(num_links, length_m, stop_ps + 1, seed)
    tl = topo.get_timeline()
    qm = tl.quantum_manager
    fidelities, bookkept, pending = [], [], set()

    class CountingApp(RequestApp):
        """RequestApp that also reads each delivered pair's state (once per pair: at whichever
        end sees it first, before that end resets its memory)."""

        def get_memory(self, info):
            res = self.memo_to_reservation.get(info.index)
            if info.state == "ENTANGLED" and res is not None and info.fidelity >= res.fidelity:
                other = res.responder if self.node.name == res.initiator else res.initiator
                if info.remote_node == other:
                    me = info.memory.name
                    if me in pending:
                        pending.discard(me)
                    else:
                        remote = tl.get_entity_by_name(info.remote_memo)
                        fidelities.append(_bell_fidelity(qm, info.memory.qstate_key, remote.qstate_key))
                        bookkept.append(info.fidelity)
                        pending.add(info.remote_memo)
            super().get_memory(info)

    app = CountingApp(routers[0])
    CountingApp(routers[-1])
    tl.init()
    app.start(routers[-1].name, start_ps, stop_ps, 1, 0.1)
    start = time.perf_counter()
    tl.run()
    wall = time.perf_counter() - start
    return {"seconds": wall, "events": tl.run_counter, "delivered": app.memory_counter,
            "duration_s": duration_s, "fidelities": fidelities, "bookkept_fidelities": bookkept}


def sequence_link_calibration(length_km: float, duration_s: float, seed: int = 1) -> dict:
    """One SeQUeNCe link: Barrett-Kok attempts and successes at node r0, hence the success
    probability per attempt and the mean simulated time per attempt."""
    from sequence.entanglement_management.generation.barret_kok import BarretKokA

    counts = {"success": 0, "fail": 0}
    orig_s, orig_f = BarretKokA._entanglement_succeed, BarretKokA._entanglement_fail

    def succeed(self):
        if self.owner.name == "r0":
            counts["success"] += 1
        return orig_s(self)

    def fail(self):
        if self.owner.name == "r0":
            counts["fail"] += 1
        return orig_f(self)

    BarretKokA._entanglement_succeed, BarretKokA._entanglement_fail = succeed, fail
    try:
        out = sequence_chain(1, length_km, duration_s, seed)
    finally:
        BarretKokA._entanglement_succeed, BarretKokA._entanglement_fail = orig_s, orig_f
    attempts = counts["success"] + counts["fail"]
    p = counts["success"] / attempts
    out.update(attempts=attempts, successes=counts["success"], success_probability=p,
               success_probability_se=math.sqrt(p * (1 - p) / attempts),
               attempt_s=duration_s / attempts)
    return out


def kizuna_chain(chain, duration_s: float, repeat: int, seed: int = 1) -> dict:
    from kizuna.networking import simulate_chain

    def once():
        start = time.perf_counter()
        r = simulate_chain(chain, duration_s, seed=seed)
        return time.perf_counter() - start, r

    seconds, r = median_time(once, repeat)
    return {"seconds": seconds, "events": r.events, "delivered": r.delivered, "duration_s": duration_s,
            "fidelities": list(r.fidelities)}


def _chain_row(tool: str, num_links: int, out: dict, what: str) -> dict:
    k = out["delivered"]
    f = out["fidelities"]
    row = {"part": "chain", "tool": tool, "links": num_links, "nodes": num_links + 1,
           "seconds": out["seconds"], "events": out["events"], "events_per_s": out["events"] / out["seconds"],
           "delivered": k, "simulated_s": out["duration_s"], "pairs_per_simulated_s": k / out["duration_s"],
           "seconds_per_pair": out["seconds"] / k if k else None,
           "mean_fidelity": statistics.fmean(f) if f else None, "what": what}
    if out.get("bookkept_fidelities"):
        row["sequence_bookkept_fidelity"] = statistics.fmean(out["bookkept_fidelities"])
    return row


def part_chain(args) -> list[dict]:
    import dataclasses

    from kizuna.networking import (
        Fiber,
        HeraldedLink,
        RepeaterChain,
        barrett_kok,
        werner,
    )

    rows = []
    length_km, duration = args.chain_length_km, args.chain_duration_s
    has_sequence = _have_sequence()
    has_nested = "protocol" in {f.name for f in dataclasses.fields(RepeaterChain)}
    eta = Fiber(length_km / 2).transmissivity
    p_model = barrett_kok(eta)[0]
    calib = None
    if has_sequence:
        calib = sequence_link_calibration(length_km, args.calib_duration_s)
        rows.append({"part": "chain", "tool": "sequence 1-link calibration", "links": 1, "nodes": 2,
                     "seconds": calib["seconds"], "events": calib["events"],
                     "events_per_s": calib["events"] / calib["seconds"], "delivered": calib["delivered"],
                     "simulated_s": args.calib_duration_s,
                     "pairs_per_simulated_s": calib["delivered"] / args.calib_duration_s,
                     "attempts": calib["attempts"], "success_probability": calib["success_probability"],
                     "success_probability_se": calib["success_probability_se"],
                     "model_success_probability": p_model, "attempt_s": calib["attempt_s"],
                     "what": "Barrett-Kok attempts counted at r0"})
    for n in args.chain_links:
        group = []
        if has_sequence:
            runs = [sequence_chain(n, length_km, duration, seed=1) for _ in range(args.sequence_repeat)]
            out = sorted(runs, key=lambda o: o["seconds"])[len(runs) // 2]
            group.append(_chain_row("sequence", n, out, "RouterNetTopo + RequestApp, doubling swap order"))
            link = HeraldedLink(success_probability=calib["success_probability"],
                                attempt_duration_ps=round(calib["attempt_s"] * 1e12), state=werner(1.0),
                                classical_delay_ps=round(length_km * 1000 * PS_PER_M))
            proto = {"protocol": "nested"} if has_nested else {}
            chain = RepeaterChain((link,) * n, **proto)
            group.append(_chain_row("kizuna (matched)", n, kizuna_chain(chain, duration, args.repeat),
                                    f"SeQUeNCe's p and attempt time, {proto.get('protocol', 'asap')} swaps"))
        chain = RepeaterChain.uniform(n, length_km=length_km, link_fidelity=1.0)
        group.append(_chain_row("kizuna (own model)", n, kizuna_chain(chain, duration, args.repeat),
                                f"p = eta^2/2 = {p_model:.3f}, attempt = round trip to midpoint, asap swaps"))
        seq = next((r for r in group if r["tool"] == "sequence"), None)
        for r in group:
            r["ratio"] = (seq["seconds_per_pair"] / r["seconds_per_pair"]
                          if seq and seq["seconds_per_pair"] and r["seconds_per_pair"] else None)
            r["events_ratio"] = r["events_per_s"] / seq["events_per_s"] if seq else None
        rows += group
    for r in rows:
        r.setdefault("ratio", None)
    return rows


def report_chain(rows: list[dict]) -> None:
    print("Events are not like for like: SeQUeNCe simulates every attempt (photons, detectors, each classical\n"
          "message, qutip circuits); Kizuna draws the attempts of a link geometrically and runs about one\n"
          "event per link success, swap and delivery. The fair figure is wall time per delivered pair.")
    calib = next((r for r in rows if r["tool"] == "sequence 1-link calibration"), None)
    if calib:
        print(f"SeQUeNCe one link ({calib['simulated_s']:g} simulated s, {calib['attempts']:,} attempts): "
              f"p = {calib['success_probability']:.3f} +- {calib['success_probability_se']:.3f} per attempt "
              f"(Kizuna's Barrett-Kok eta^2/2: {calib['model_success_probability']:.3f}), "
              f"{calib['attempt_s'] * 1e6:.0f} us of simulated time per attempt")
    print(f"{'tool':<21}{'links':>5}{'wall s':>9}{'events':>9}{'events/s':>10}{'pairs':>7}{'pairs/sim s':>12}"
          f"{'wall/pair':>11}{'mean F':>8}{'x SeQ/pair':>11}{'x SeQ ev/s':>11}")
    for r in rows:
        if r["tool"] == "sequence 1-link calibration":
            continue
        spp = "-" if r["seconds_per_pair"] is None else _fmt_s(r["seconds_per_pair"])
        f = "-" if r["mean_fidelity"] is None else f"{r['mean_fidelity']:.4f}"
        x = "" if r["ratio"] is None else f"{r['ratio']:.0f}"
        xe = "" if r.get("events_ratio") is None else f"{r['events_ratio']:.1f}"
        print(f"{r['tool']:<21}{r['links']:>5}{r['seconds']:>9.3f}{r['events']:>9,}{r['events_per_s']:>10,.0f}"
              f"{r['delivered']:>7,}{r['pairs_per_simulated_s']:>12.1f}{spp:>11}{f:>8}{x:>11}{xe:>11}")
    for r in rows:
        if r["tool"] == "sequence" and "sequence_bookkept_fidelity" in r:
            print(f"sequence, {r['links']} links: mean F read from its kets {r['mean_fidelity']:.4f}; its own "
                  f"memory.fidelity bookkeeping says {r['sequence_bookkept_fidelity']:.4f} (0.95 per swap)")
    for r in rows:
        if r["tool"] == "kizuna (matched)" and r["ratio"] is not None:
            seq = next(s for s in rows if s["tool"] == "sequence" and s["links"] == r["links"])
            ok = "met" if r["ratio"] >= TARGET_VS_SEQUENCE else "MISSED"
            oke = "met" if r["events_ratio"] >= TARGET_VS_SEQUENCE else "MISSED"
            print(f"{r['links']} links: wall/pair SeQUeNCe / Kizuna = {r['ratio']:.0f}x (target >= "
                  f"{TARGET_VS_SEQUENCE:g}x: {ok}); events/s {r['events_ratio']:.1f}x ({oke}); pair rates "
                  f"{seq['pairs_per_simulated_s']:.0f} vs {r['pairs_per_simulated_s']:.0f} per simulated s")


def _fmt_s(s: float) -> str:
    return f"{s * 1e3:.2f} ms" if s >= 1e-3 else f"{s * 1e6:.1f} us"


# --- part: large ---------------------------------------------------------------------------------
def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB: ``VmHWM`` of ``/proc/self/status`` where
    there is one, else ``resource.getrusage``. (On Linux ``ru_maxrss`` survives fork + exec, so
    a spawned child would report at least its parent's RSS at the fork; ``VmHWM`` belongs to
    the process's own address space.)"""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def large_run(num_nodes: int, length_km: float, success_probability: float, duration_s: float,
              seed: int = 1) -> dict:
    """One large chain, meant to run in a fresh process (its peak RSS is then its own)."""
    from kizuna.networking import HeraldedLink, RepeaterChain, simulate_chain

    rss0 = peak_rss_mb()  # the interpreter with numpy and kizuna imported
    link = HeraldedLink.from_fiber(length_km, success_probability=success_probability)
    chain = RepeaterChain((link,) * (num_nodes - 1))
    start = time.perf_counter()
    r = simulate_chain(chain, duration_s, seed=seed)
    wall = time.perf_counter() - start
    return {"seconds": wall, "events": r.events, "delivered": r.delivered, "mean_fidelity": r.mean_fidelity,
            "first_delivery_s": r.delivery_times_s[0] if r.delivered else None,
            "peak_rss_mb": peak_rss_mb(), "rss_after_import_mb": rss0}


def part_large(args) -> list[dict]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    rows = []
    ctx = multiprocessing.get_context("spawn")
    for i, nodes in enumerate(args.large_nodes):
        if nodes < 2:
            raise SystemExit(f"--large-nodes must be >= 2 (got {nodes})")
        durations = args.large_duration_s
        duration = durations[min(i, len(durations) - 1)] if durations else _large_default_duration(nodes, args)
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            out = pool.submit(large_run, nodes, args.large_length_km, args.large_p, duration).result()
        k = out["delivered"]
        rows.append({"part": "large", "tool": "kizuna", "nodes": nodes, "links": nodes - 1,
                     "length_km": args.large_length_km, "success_probability": args.large_p,
                     "simulated_s": duration, "seconds": out["seconds"], "events": out["events"],
                     "events_per_s": out["events"] / out["seconds"], "delivered": k,
                     "pairs_per_simulated_s": k / duration, "first_delivery_s": out["first_delivery_s"],
                     "mean_fidelity": None if math.isnan(out["mean_fidelity"]) else out["mean_fidelity"],
                     "peak_rss_mb": out["peak_rss_mb"], "rss_after_import_mb": out["rss_after_import_mb"],
                     "ratio": None, "what": "swap asap, perfect memories, fresh process"})
        print(f"# large: {nodes:,} nodes done in {out['seconds']:.1f} s", file=sys.stderr)
    return rows


def _large_default_duration(nodes: int, args) -> float:
    """Twice the end-to-end classical delay plus 20 ms for the links to come up, at least 0.1 s."""
    return round(max(0.1, 2 * (nodes - 1) * args.large_length_km * 5e-6 + 0.02), 6)


def report_large(rows: list[dict]) -> None:
    print(f"{'nodes':>8}{'km':>8}{'p':>7}{'sim s':>8}{'wall s':>9}{'events':>11}{'events/s':>10}{'pairs':>7}"
          f"{'first at':>10}{'pairs/sim s':>12}{'peak RSS':>10}")
    for r in rows:
        first = "-" if r["first_delivery_s"] is None else f"{r['first_delivery_s'] * 1e3:.1f} ms"
        print(f"{r['nodes']:>8,}{r['links'] * r['length_km']:>8,.0f}{r['success_probability']:>7g}"
              f"{r['simulated_s']:>8.3f}{r['seconds']:>9.2f}{r['events']:>11,}{r['events_per_s']:>10,.0f}"
              f"{r['delivered']:>7,}{first:>10}{r['pairs_per_simulated_s']:>12.1f}{r['peak_rss_mb']:>7.0f} MB")
    if rows:
        print(f"(peak RSS of each run's own fresh process; {rows[0]['rss_after_import_mb']:.0f} MB of it is the "
              "interpreter with numpy and kizuna imported, before the chain is built)")


# --- registry ------------------------------------------------------------------------------------
#: part name -> (run(args) -> rows, report(rows) -> None)
PARTS = {
    "engine": (part_engine, report_engine),
    "chain": (part_chain, report_chain),
    "large": (part_large, report_large),
}


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--engine-events", type=int, default=1_000_000, help="events per Kizuna/heapq engine run")
    ap.add_argument("--engine-events-sequence", type=int, default=200_000,
                    help="events per SeQUeNCe engine run (events/s does not depend on it)")
    ap.add_argument("--engine-processes", type=int, default=10_000,
                    help="concurrent self-rescheduling processes of the 'concurrent' workload")
    ap.add_argument("--chain-links", type=int, nargs="+", default=[2, 4])
    ap.add_argument("--chain-length-km", type=float, default=20.0)
    ap.add_argument("--chain-duration-s", type=float, default=1.0, help="simulated seconds of each chain run")
    ap.add_argument("--calib-duration-s", type=float, default=0.5,
                    help="simulated seconds of the one-link SeQUeNCe calibration run")
    ap.add_argument("--large-nodes", type=int, nargs="+", default=[1_000, 10_000])
    ap.add_argument("--large-length-km", type=float, default=1.0)
    ap.add_argument("--large-p", type=float, default=0.005, help="success probability per attempt of each link")
    ap.add_argument("--large-duration-s", type=float, nargs="+",
                    help="simulated seconds per --large-nodes entry (default: twice the end-to-end "
                         "classical delay + 20 ms, at least 0.1 s)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", nargs="+", default=list(PARTS), choices=list(PARTS))
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each Kizuna row (median)")
    ap.add_argument("--sequence-repeat", type=int, default=1, help="timed runs of each SeQUeNCe row (median)")
    ap.add_argument("--json", help="write the figures to this file")
    add_arguments(ap)
    args = ap.parse_args(argv)

    all_rows = []
    for name in args.part:
        run, report = PARTS[name]
        rows = run(args)
        print(f"\n== {name} ==")
        report(rows)
        all_rows += rows
    if args.json:
        options = {k: v for k, v in vars(args).items() if k != "json"}
        from importlib.metadata import PackageNotFoundError, version

        try:
            options["sequence_version"] = version("sequence")
        except PackageNotFoundError:
            pass
        write_json(args.json, all_rows, load_average=os.getloadavg(), **options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
