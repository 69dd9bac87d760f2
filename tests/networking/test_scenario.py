"""Scenario files: validation with named fields, capacity-aware routing, and runs that agree
with the chain simulator."""

import dataclasses
import json
import math

import numpy as np
import pytest

from kizuna.errors import NetworkError
from kizuna.networking import RepeaterChain, simulate_chain
from kizuna.networking.scenario import Scenario, route, run_scenario

BASE = {
    "duration_s": 0.05,
    "seed": 3,
    "hardware": {"link": {"fidelity": 0.99, "success_probability": 0.2}},
    "nodes": ["A", "B", "C"],
    "links": [{"nodes": ["A", "B"], "length_km": 10}, {"nodes": ["B", "C"], "length_km": 10}],
    "requests": [{"source": "A", "target": "C"}],
}


def scenario(**changes):
    return Scenario.from_dict({**BASE, **changes}, source="test.yaml")


def test_a_two_link_scenario_equals_the_chain_simulation():
    result = run_scenario(scenario())
    (req,) = result.requests
    chain = RepeaterChain.uniform(2, length_km=10, link_fidelity=0.99, success_probability=0.2)
    direct = simulate_chain(chain, duration_s=0.05, seed=3)
    assert req.path == ("A", "B", "C") and req.routed
    assert req.delivered == direct.delivered > 0
    assert req.fidelities == direct.fidelities
    p = (4 * 0.99 - 1) / 3
    assert req.mean_fidelity == pytest.approx(0.25 + 0.75 * p**2, abs=1e-12)


def test_routing_takes_the_shortest_path_and_respects_memories():
    data = {
        **BASE,
        "nodes": ["A", "B", "C", "D", {"name": "M", "memories": 2}],
        "links": [{"nodes": ["A", "M"], "length_km": 1}, {"nodes": ["M", "D"], "length_km": 1},
                  {"nodes": ["A", "B"], "length_km": 5}, {"nodes": ["B", "C"], "length_km": 5},
                  {"nodes": ["C", "D"], "length_km": 5}],
        "requests": [{"source": "A", "target": "D"}, {"source": "A", "target": "D"}],
    }
    routes = route(Scenario.from_dict(data))
    assert routes[0][0] == ["A", "M", "D"]            # shortest by length
    assert routes[1][0] == ["A", "B", "C", "D"]       # M's two memories are taken
    hops = route(Scenario.from_dict({**data, "routing": "fewest_hops"}))
    assert hops[0][0] == ["A", "M", "D"]
    data["nodes"] = ["A", "B", "C", {"name": "D", "memories": 1}, {"name": "M", "memories": 2}]
    second = route(Scenario.from_dict(data))[1]
    assert second[0] is None and "no free memory at target 'D'" in second[1]


def test_unconnected_request_is_reported_not_routed():
    data = {**BASE, "nodes": ["A", "B", "C", "Z"], "requests": [{"source": "A", "target": "Z"}]}
    (req,) = run_scenario(Scenario.from_dict(data)).requests
    assert not req.routed and req.delivered == 0 and "not connected" in req.reason
    assert math.isnan(req.mean_fidelity)
    assert req.to_dict()["mean_fidelity"] is None


def test_yaml_and_json_files_load_the_same(tmp_path):
    import yaml
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(BASE))
    (tmp_path / "s.json").write_text(json.dumps(BASE))
    a, b = Scenario.load(tmp_path / "s.yaml"), Scenario.load(tmp_path / "s.json")
    assert run_scenario(a).requests[0].fidelities == run_scenario(b).requests[0].fidelities


def test_infinite_times_in_yaml_and_null_in_json(tmp_path):
    text = "duration_s: 0.01\nhardware: {memory: {t2_s: .inf, cutoff_s: .inf}}\nnodes: [A, B]\n" \
           "links: [{nodes: [A, B], length_km: 1}]\nrequests: [{source: A, target: B}]\n"
    (tmp_path / "s.yaml").write_text(text)
    assert Scenario.load(tmp_path / "s.yaml").memory.t2_s == math.inf
    data = {**BASE, "hardware": {"memory": {"t2_s": None, "cutoff_s": 0.01}}}
    assert Scenario.from_dict(data).memory.t2_s == math.inf


@pytest.mark.parametrize("change,message", [
    ({"links": [{"nodes": ["A", "B"], "length_km": -3}]}, "test.yaml: links[0]: length_km must be >= 0"),
    ({"requests": [{"source": "A", "target": "Q"}]}, "test.yaml: requests[0].target: unknown node 'Q'"),
    ({"hardware": {"memory": {"t1_s": 1e-3, "t2_s": 5e-3}}}, "test.yaml: hardware.memory.t2_s: memory t2_s must be <= 2 * t1_s"),
    ({"duration_s": 0}, "test.yaml: duration_s: must be > 0"),
    ({"routing": "random"}, "test.yaml: routing: must be one of shortest, fewest_hops"),
    ({"links": [{"nodes": ["A", "A"], "length_km": 1}]}, "links[0].nodes: a link joins two different nodes"),
    ({"links": [{"nodes": ["A", "B"], "length_km": 1, "colour": "red"}]}, "links[0]: unknown field(s) colour"),
    ({"hardware": {"link": {"fidelity": 1.2}}}, "links[0]: fidelity must be a probability"),
    ({"nodes": ["A", {"name": "B", "memories": 0}, "C"]}, "nodes[1].memories: must be a positive integer"),
    ({"extra": 1}, "unknown field(s) extra"),
])
def test_bad_scenarios_name_the_field(change, message):
    with pytest.raises(NetworkError) as info:
        scenario(**change)
    assert message in str(info.value)


def test_missing_required_field_and_bad_yaml(tmp_path):
    with pytest.raises(NetworkError, match="requests: is required"):
        Scenario.from_dict({k: v for k, v in BASE.items() if k != "requests"})
    (tmp_path / "bad.yaml").write_text("nodes: [A, B\nlinks: 3\n")
    with pytest.raises(NetworkError, match=r"bad.yaml:\d+:\d+: not valid YAML"):
        Scenario.load(tmp_path / "bad.yaml")
    (tmp_path / "bad.json").write_text('{"nodes": [1,]}')
    with pytest.raises(NetworkError, match=r"bad.json:1:\d+: not valid JSON"):
        Scenario.load(tmp_path / "bad.json")


def test_plot_requests_draws_one_box_per_request(tmp_path):
    from kizuna.core._io import save_figure
    from kizuna.networking.scenario import plot_requests

    ax = plot_requests(run_scenario(scenario()))
    assert len(ax.get_xticklabels()) == 1
    save_figure(ax.figure, tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


# --- per-node and per-link hardware -----------------------------------------------------------
def test_per_node_hardware_runs_as_the_chain_with_node_arrays():
    from kizuna.networking import HeraldedLink, Memory, werner

    data = {**BASE, "hardware": {"memory": {"t2_s": 0.01}, "swap": {"gate_depolarizing": 0.01},
                                 "link": {"fidelity": 0.99, "success_probability": 0.2}},
            "nodes": ["A", {"name": "B", "memory": {"t2_s": 0.001}, "swap": {"readout_error": 0.05}}, "C"]}
    s = Scenario.from_dict(data, source="test.yaml")
    assert s.memory_of("B").t2_s == 0.001 and s.memory_of("A").t2_s == 0.01
    assert s.swap_of("B") == (0.01, 0.05) and s.swap_of("C") == (0.01, 0.0)  # fields merge over defaults
    (req,) = run_scenario(s).requests
    link = HeraldedLink.from_fiber(10, state=werner(0.99), success_probability=0.2)
    chain = RepeaterChain((link, link), node_memories=(Memory(t2_s=0.01), Memory(t2_s=0.001), Memory(t2_s=0.01)),
                          node_swap_errors=((0.01, 0.0), (0.01, 0.05), (0.01, 0.0)))
    direct = simulate_chain(chain, duration_s=0.05, seed=3)
    assert req.delivered == direct.delivered > 0 and req.fidelities == direct.fidelities
    # the same scenario without B's own hardware delivers better pairs
    plain = run_scenario(scenario(hardware=data["hardware"])).requests[0]
    assert plain.mean_fidelity > req.mean_fidelity + 0.01


def test_links_with_source_and_detector_are_derived_from_the_hardware():
    from kizuna.networking import Detector, Fiber, HeraldedLink, Memory, PhotonSource

    hw = {"memory": {"efficiency": 0.8},
          "source": {"rate_hz": 1e6, "efficiency": 0.5, "emission_fidelity": 0.98},
          "detector": {"efficiency": 0.9, "dead_time_s": 2e-5}}
    data = {**BASE, "hardware": hw,
            "nodes": ["A", {"name": "B", "memory": {"efficiency": 0.5}}, "C"],
            "links": [{"nodes": ["A", "B"], "length_km": 10},
                      {"nodes": ["B", "C"], "length_km": 4, "scheme": "single_click", "alpha": 0.1,
                       "detector": {"dark_count_rate_hz": 100}, "source": {"g2": 0.02}}]}
    s = Scenario.from_dict(data)
    from kizuna.networking.scenario import _build_link

    ab = _build_link(s.links[0], s.memory_of("A"), s.memory_of("B"))
    ref = HeraldedLink.from_hardware(Fiber(10), PhotonSource(1e6, 0.5, emission_fidelity=0.98),
                                     Detector(0.9, dead_time_s=2e-5), (Memory(0.8), Memory(0.5)))
    assert ab == dataclasses.replace(ref, state=ab.state) and np.allclose(ab.state, ref.state, atol=0)
    assert ab.success_probability == pytest.approx((0.8 * 0.5 * 0.5 * 0.5 * 10 ** -0.2 * 0.9**2) / 2, rel=1e-12)
    bc = _build_link(s.links[1], s.memory_of("B"), s.memory_of("C"))
    ref_bc = HeraldedLink.from_hardware(Fiber(4), PhotonSource(1e6, 0.5, g2=0.02, emission_fidelity=0.98),
                                        Detector(0.9, dark_count_rate_hz=100, dead_time_s=2e-5),
                                        (Memory(0.5), Memory(0.8)), scheme="single_click", alpha=0.1)
    assert bc.success_probability == ref_bc.success_probability and bc.dead_time_ps == 20_000_000
    (req,) = run_scenario(s).requests
    assert req.delivered > 0 and 0.5 < req.mean_fidelity < 1


@pytest.mark.parametrize("change,message", [
    ({"nodes": ["A", {"name": "B", "memory": {"t1_s": 1e-3, "t2_s": 5e-3}}, "C"]},
     "test.yaml: nodes[1].memory.t2_s: memory t2_s must be <= 2 * t1_s"),
    ({"hardware": {"memory": {"t1_s": 1e-3, "t2_s": 1e-3}}, "nodes": ["A", "B", {"name": "C", "memory": {"t2_s": 0.01}}]},
     "test.yaml: nodes[2].memory.t2_s: memory t2_s must be <= 2 * t1_s"),
    ({"nodes": ["A", {"name": "B", "memory": {"cutoff_s": -1}}, "C"]}, "nodes[1].memory.cutoff_s: cutoff_s must be"),
    ({"nodes": ["A", {"name": "B", "swap": {"readout_error": 2}}, "C"]}, "nodes[1].swap.readout_error: must be a probability"),
    ({"nodes": ["A", {"name": "B", "memory": {"t3_s": 1}}, "C"]}, "nodes[1].memory: unknown field(s) t3_s"),
    ({"links": [{"nodes": ["A", "B"], "length_km": 1, "source": {"g2": 3}}]}, "links[0].source.g2: g2 must be <= 1"),
    ({"links": [{"nodes": ["A", "B"], "length_km": 1, "detector": {"dead_time_s": -1}}]},
     "links[0].detector.dead_time_s: dead_time_s must be >= 0"),
    ({"links": [{"nodes": ["A", "B"], "length_km": 1, "scheme": "dlcz"}]}, "links[0].scheme: must be 'barrett_kok'"),
    ({"hardware": {"source": {"colour": 1}}}, "hardware.source: unknown field(s) colour"),
    ({"hardware": {"detector": {"efficiency": 1.5}}}, "hardware.detector.efficiency: efficiency must be <= 1"),
])
def test_bad_node_and_link_hardware_names_the_field(change, message):
    with pytest.raises(NetworkError) as info:
        scenario(**change)
    assert message in str(info.value)


def test_example_scenarios_load_and_the_metro_one_has_per_node_hardware():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "examples"
    metro = Scenario.load(root / "metro_network.yaml")
    assert set(metro.node_memories) == {"DataCentre", "Hub", "East"} and set(metro.node_swap) == {"Hub", "East"}
    assert any(link.get("scheme") == "single_click" for link in metro.links)
    assert all("source" in link and "detector" in link for link in metro.links)
    chain = Scenario.load(root / "repeater_chain.yaml")
    assert not chain.node_memories and all("source" not in link for link in chain.links)
    short = dataclasses.replace(metro, duration_s=0.05)
    result = run_scenario(short)
    assert sum(r.delivered for r in result.requests) > 0
