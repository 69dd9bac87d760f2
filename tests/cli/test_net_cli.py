"""``kizuna net chain``, in-process."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
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


# --- hardware-derived links ------------------------------------------------------------------
README_HARDWARE = ["net", "chain", "--links", "4", "--length-km", "25", "--scheme", "single-click", "--alpha", "0.05",
                   "--source-efficiency", "0.4", "--detector-efficiency", "0.9", "--dark-count-rate-hz", "10",
                   "--t2-s", "0.05", "--duration-s", "1", "--seed", "7"]
README_DEAD_TIME = ["net", "chain", "--links", "1", "--length-km", "0.2", "--source-rate-hz", "2e6",
                    "--source-efficiency", "0.5", "--dead-time-s", "4.5e-6", "--duration-s", "0.1", "--seed", "1",
                    "--json"]


def _library_chain(scheme, *, links, length_km, source, detector, memory, alpha=0.1, swap=(0.0, 0.0)):
    from kizuna.networking import (
        Detector,
        Fiber,
        HeraldedLink,
        Memory,
        PhotonSource,
        RepeaterChain,
    )

    link = HeraldedLink.from_hardware(Fiber(length_km, 0.2), PhotonSource(**source), Detector(**detector),
                                      Memory(**memory), scheme=scheme, alpha=alpha)
    return RepeaterChain((link,) * links, memory=Memory(**memory), swap_gate_depolarizing=swap[0],
                         readout_error=swap[1])


@pytest.mark.parametrize("scheme,extra,alpha", [
    ("barrett_kok", [], 0.1),
    ("single_click", ["--alpha", "0.07"], 0.07),
])
def test_net_chain_hardware_json_equals_the_library_call_bit_for_bit(capsys, scheme, extra, alpha):
    from kizuna.networking import simulate_chain

    code, out, err = run_cli(
        capsys, "net", "chain", "--links", "3", "--length-km", "0.4", "--scheme", scheme.replace("_", "-"), *extra,
        "--source-rate-hz", "1e6", "--source-efficiency", "0.6", "--g2", "0.02", "--indistinguishability", "0.93",
        "--emission-fidelity", "0.99", "--detector-efficiency", "0.85", "--dark-count-rate-hz", "2e4",
        "--window-s", "5e-8", "--dead-time-s", "5.5e-6", "--memory-efficiency", "0.9", "--t2-s", "0.02",
        "--cutoff-s", "0.01", "--swap-gate-error", "0.01", "--measurement-error", "0.005",
        "--duration-s", "0.02", "--seed", "11", "--json", "--samples")
    assert code == 0, err
    doc = json.loads(out)
    chain = _library_chain(
        scheme, links=3, length_km=0.4, alpha=alpha, swap=(0.01, 0.005),
        source={"rate_hz": 1e6, "efficiency": 0.6, "g2": 0.02, "indistinguishability": 0.93, "emission_fidelity": 0.99},
        detector={"efficiency": 0.85, "dark_count_rate_hz": 2e4, "window_s": 5e-8, "dead_time_s": 5.5e-6},
        memory={"efficiency": 0.9, "t2_s": 0.02, "cutoff_s": 0.01})
    lib = simulate_chain(chain, 0.02, seed=11).to_dict(include_samples=True)
    link = doc.pop("link")
    for d in (doc, lib):
        d.pop("wall_time_s")
    assert doc["delivered"] > 10 and doc == json.loads(json.dumps(lib))   # every field, every bit
    ref = chain.links[0]
    assert link == {"model": "hardware", "scheme": scheme.replace("_", "-"),
                    "success_probability": ref.success_probability, "attempt_period_s": ref.attempt_duration_ps / 1e12,
                    "heralded_fidelity": ref.fidelity, "click_probability": ref.click_probability,
                    "dead_time_s": 5.5e-6, "blocked_attempts": ref.blocked_attempts,
                    "success_rate_hz": ref.success_rate_hz}
    # 1 MHz source: Barrett-Kok needs two emissions per attempt (2 us), single-click one (1 us;
    # the 0.4 km round trip to the midpoint is 2 us either way)
    assert link["attempt_period_s"] == 2e-6 and link["blocked_attempts"] == 2


def test_dead_time_longer_than_the_attempt_period_lowers_pairs_per_second_as_predicted(capsys):
    # One link, 0.2 km: the midpoint round trip and two emissions of a 2 MHz source both take
    # T = 1 us. Independent reference (Barrett & Kok, PRA 71, 060310; non-paralyzable dead time,
    # Knoll ch. 4): eta = 0.5 * 0.9 * 10**(-0.2 * 0.1 / 10), p = eta**2 / 2, click probability
    # c = 1 - (1 - eta)**2, m = ceil(4.5 us / T) = 5, rate = p / (T (1 + c (m - 1))).
    base = ["net", "chain", "--links", "1", "--length-km", "0.2", "--source-rate-hz", "2e6", "--source-efficiency",
            "0.5", "--detector-efficiency", "0.9", "--duration-s", "0.1", "--seed", "4", "--json", "--samples"]
    eta = 0.5 * 0.9 * 10 ** (-0.2 * 0.1 / 10)
    p, c, t = eta**2 / 2, 1 - (1 - eta) ** 2, 1e-6
    rates = {}
    for dead, m in ((None, 1), ("4.5e-6", 5)):
        code, out, err = run_cli(capsys, *base, *(["--dead-time-s", dead] if dead else []))
        assert code == 0, err
        doc = json.loads(out)
        expected = p / (t * (1 + c * (m - 1)))
        assert doc["link"]["blocked_attempts"] == m - 1
        assert doc["link"]["success_rate_hz"] == pytest.approx(expected, rel=1e-12)
        # tolerance: 4 standard errors of a renewal-process rate, (sd/mean of the gaps) / sqrt(N)
        gaps = np.diff([0.0, *doc["delivery_times_s"]])
        rel = 4 * gaps.std() / gaps.mean() / math.sqrt(gaps.size)
        assert doc["pairs_per_second"] == pytest.approx(expected, rel=rel)
        rates[m] = doc["pairs_per_second"]
    assert rates[5] < 0.5 * rates[1]     # the analytic ratio is 1 / (1 + 4c) = 0.26


def test_net_chain_hardware_table_output(capsys):
    code, out, err = run_cli(capsys, *README_HARDWARE)
    assert code == 0, err
    assert "single-click links from the hardware" in out and "heralded fidelity" in out
    assert "delivered pairs:" in out and "mean fidelity:" in out


def test_readme_hardware_examples_run(capsys):
    code, out, err = run_cli(capsys, *README_DEAD_TIME)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["link"]["blocked_attempts"] == 4 and doc["link"]["attempt_period_s"] == 1e-6
    assert doc["pairs_per_second"] < doc["link"]["success_probability"] / 1e-6


def test_swap_error_aliases_are_the_same_options(capsys):
    args = ["net", "chain", "--links", "3", "--link-fidelity", "0.98", "--duration-s", "0.02", "--seed", "2", "--json"]
    a = json.loads(run_cli(capsys, *args, "--swap-depolarizing", "0.02", "--readout-error", "0.01")[1])
    b = json.loads(run_cli(capsys, *args, "--swap-gate-error", "0.02", "--measurement-error", "0.01")[1])
    for d in (a, b):
        d.pop("wall_time_s")
    assert a == b and a["link"]["model"] == "werner" and a["link"]["scheme"] is None
    assert a["link"]["heralded_fidelity"] == pytest.approx(0.98, abs=1e-12)


@pytest.mark.parametrize("args,needle", [
    (["--link-fidelity", "0.9", "--scheme", "single-click"],
     "--link-fidelity sets a Werner link; it cannot be combined with the hardware-derived link of --scheme"),
    (["--success-probability", "0.1", "--dead-time-s", "1e-6"],
     "--success-probability sets a Werner link; it cannot be combined with the hardware-derived link of --dead-time-s"),
    (["--alpha", "0.1"], "--alpha is the single-click bright-state population; it needs --scheme single-click"),
    (["--scheme", "barrett-kok", "--alpha", "0.1"], "it needs --scheme single-click"),
    (["--scheme", "two-click"], "--scheme must be barrett-kok or single-click (got 'two-click')"),
    (["--source-efficiency", "1.5"], "--source-efficiency: efficiency must be <= 1 (got 1.5)"),
    (["--detector-efficiency", "-0.1"], "--detector-efficiency: efficiency must be >= 0"),
    (["--dead-time-s", "-1e-6"], "--dead-time-s: dead_time_s must be >= 0"),
    (["--g2", "2"], "--g2: g2 must be <= 1 (got 2.0)"),
    (["--source-rate-hz", "0"], "--source-rate-hz: rate_hz must be > 0"),
    (["--scheme", "single-click", "--alpha", "1.5"], "--alpha: alpha must be <= 1"),
    (["--source-efficiency", "0"], "this link never heralds a pair"),
    (["--g2", "0.1", "--t1-s", "1", "--t2-s", "3"], "--t2-s: memory t2_s must be <= 2 * t1_s"),
])
def test_net_chain_bad_hardware_input_is_one_line_and_exit_1(capsys, args, needle):
    code, out, err = run_cli(capsys, "net", "chain", "--duration-s", "0.01", *args)
    assert code == 1 and out == ""
    assert err.startswith("kizuna: error: ") and needle in err and err.count("\n") == 1
