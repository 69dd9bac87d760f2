"""``kizuna net chain``, in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kizuna.cli import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_net_chain_json_reports_rate_and_the_textbook_fidelity(capsys):
    code, out, err = run_cli(capsys, "net", "chain", "--links", "4", "--link-fidelity", "0.99", "--length-km", "10",
                             "--success-probability", "0.2", "--duration-s", "0.05", "--seed", "3", "--json")
    assert code == 0, err
    doc = json.loads(out)
    p = (4 * 0.99 - 1) / 3
    assert doc["mean_fidelity"] == pytest.approx(0.25 + 0.75 * p**4, abs=1e-12)
    assert doc["pairs_per_second"] == pytest.approx(doc["delivered"] / 0.05)
    assert doc["delivered"] > 0 and doc["provenance"]["seed"] == 3 and "fidelities" not in doc


def test_net_chain_same_seed_same_json_and_memory_decay_lowers_fidelity(capsys):
    args = ["net", "chain", "--links", "3", "--link-fidelity", "0.98", "--duration-s", "0.05", "--seed", "5", "--json"]
    first = json.loads(run_cli(capsys, *args)[1])
    again = json.loads(run_cli(capsys, *args)[1])
    decayed = json.loads(run_cli(capsys, *args, "--t2-s", "0.001")[1])
    for d in (first, again):
        d.pop("wall_time_s")
    assert first == again
    assert decayed["mean_fidelity"] < first["mean_fidelity"]


def test_net_chain_table_output(capsys):
    code, out, err = run_cli(capsys, "net", "chain", "--links", "2", "--duration-s", "0.01", "--seed", "1")
    assert code == 0, err
    assert "delivered pairs:" in out and "mean fidelity:" in out


@pytest.mark.parametrize("args,needle", [
    (["--length-km", "-3"], "length_km must be >= 0"),
    (["--t1-s", "1", "--t2-s", "3"], "t2_s must be <= 2 * t1_s"),
    (["--link-fidelity", "1.5"], "fidelity must be a probability"),
    (["--duration-s", "0"], "duration_s must be > 0"),
])
def test_net_chain_bad_input_is_one_line_and_exit_1(capsys, args, needle):
    code, _out, err = run_cli(capsys, "net", "chain", *args)
    assert code == 1
    assert err.startswith("kizuna: error: ") and needle in err and err.count("\n") == 1


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("name", ["repeater_chain.yaml", "metro_network.yaml"])
def test_net_run_bundled_examples(capsys, name, tmp_path):
    png = tmp_path / "out.png"
    code, out, err = run_cli(capsys, "net", "run", str(EXAMPLES / name), "--duration-s", "0.05", "--json",
                             "--plot", str(png))
    assert code == 0, err
    doc = json.loads(out)
    routed = [r for r in doc["requests"] if r["routed"]]
    assert routed and all(r["delivered"] > 0 and 0.5 < r["mean_fidelity"] < 1 for r in routed)
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_net_run_table_lists_every_request(capsys):
    code, out, err = run_cli(capsys, "net", "run", str(EXAMPLES / "metro_network.yaml"), "--duration-s", "0.02")
    assert code == 0, err
    assert "University -> Bank" in out and "not routed: no path through nodes with two free memories" in out


def test_net_run_bad_scenario_is_one_line(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("duration_s: 1\nnodes: [A, B]\nlinks: [{nodes: [A, B], length_km: -1}]\n"
                   "requests: [{source: A, target: B}]\n")
    code, _out, err = run_cli(capsys, "net", "run", str(bad))
    assert code == 1 and "bad.yaml: links[0]: length_km must be >= 0" in err and err.count("\n") == 1
    code, _out, err = run_cli(capsys, "net", "run", str(tmp_path / "missing.yaml"))
    assert code == 1 and "no such file" in err
