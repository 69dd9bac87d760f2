"""Scenario files: validation with named fields, capacity-aware routing, and runs that agree
with the chain simulator."""

import json
import math

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
    ({"hardware": {"memory": {"t1_s": 1e-3, "t2_s": 5e-3}}}, "test.yaml: hardware.memory: memory t2_s must be <= 2 * t1_s"),
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
