"""``kizuna qkd rate`` and ``kizuna qkd simulate``, in-process."""

from __future__ import annotations

import json

import pytest

from kizuna.cli import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_qkd_rate_json_has_points_and_max_distance(capsys):
    # GYS parameters, Ma et al., PRA 72, 012326 (2005): 2.23e-4 at 50 km, zero at 142.2 km
    code, out, err = run_cli(capsys, "qkd", "rate", "--protocol", "bb84-decoy", "--distance-km", "0:100:50",
                             "--preset", "gys", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert [p["distance_km"] for p in doc["points"]] == [0.0, 50.0, 100.0]
    assert set(doc["points"][1]) >= {"distance_km", "key_rate_bits_per_pulse", "mu", "plob_bits_per_use"}
    assert f"{doc['points'][1]['key_rate_bits_per_pulse']:.3g}" == "0.000223"
    assert doc["points"][0]["plob_bits_per_use"] is None  # infinite at 0 km
    assert f"{doc['points'][1]['plob_bits_per_use']:.3g}" == "0.135"  # -log2(1 - 10^-1.05)
    assert doc["max_distance_km"] == pytest.approx(142.2, abs=0.5)


def test_qkd_rate_every_link_parameter_is_an_option(capsys):
    # the modern link built from options equals the modern preset
    args = ["qkd", "rate", "-d", "50", "--json"]
    explicit = ["--preset", "gys", "--loss-db-per-km", "0.2", "--detector-efficiency", "0.6",
                "--dark-count-probability", "1e-7", "--misalignment", "0.01", "--ec-efficiency", "1.16"]
    a = json.loads(run_cli(capsys, *args)[1])
    b = json.loads(run_cli(capsys, *args, *explicit)[1])
    assert a == b and f"{a['points'][0]['key_rate_bits_per_pulse']:.3g}" == "0.00772"
    fixed = json.loads(run_cli(capsys, *args, "--mu", "0.3")[1])
    assert fixed["points"][0]["mu"] == 0.3
    assert fixed["points"][0]["key_rate_bits_per_pulse"] < a["points"][0]["key_rate_bits_per_pulse"]


def test_qkd_rate_table_and_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "rate.png"
    code, out, err = run_cli(capsys, "qkd", "rate", "-d", "0:300:100", "--plot", str(png))
    assert code == 0, err
    assert "PLOB" in out and "key rate reaches 0 at 281.8 km" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_qkd_simulate_json_reports_keys_and_rates(capsys):
    code, out, err = run_cli(capsys, "qkd", "simulate", "--protocol", "bb84-decoy", "--distance-km", "10",
                             "--duration-s", "0.05", "--seed", "1", "--json")
    assert code == 0, err
    doc = json.loads(out)
    for key in ("sifted_key_length", "final_key_length", "qber", "secret_key_rate_bps", "abort_reason"):
        assert key in doc
    assert doc["num_pulses"] == 4_000_000 and doc["provenance"]["seed"] == 1
    assert doc["abort_reason"] is None and doc["final_key_length"] > 0
    assert doc["secret_key_rate_bps"] == pytest.approx(doc["final_key_length"] / 0.05)
    again = json.loads(run_cli(capsys, "qkd", "simulate", "--distance-km", "10", "--duration-s", "0.05",
                               "--seed", "1", "--json")[1])
    doc.pop("wall_time_s"), again.pop("wall_time_s")
    assert doc == again


def test_qkd_simulate_intercept_resend_aborts_with_the_reason(capsys):
    code, out, err = run_cli(capsys, "qkd", "simulate", "--distance-km", "10", "--duration-s", "0.005",
                             "--seed", "2", "--attack", "intercept-resend")
    assert code == 0, err
    assert "aborted: QBER" in out and "final key length:  0" in out


def test_qkd_simulate_bbm92_prints_chsh(capsys):
    code, out, err = run_cli(capsys, "qkd", "simulate", "--protocol", "bbm92", "--distance-km", "0",
                             "--duration-s", "0.01", "--mu", "0.02", "--chsh-fraction", "0.3", "--seed", "3")
    assert code == 0, err
    assert "CHSH S:" in out


@pytest.mark.parametrize("args,needle", [
    (["simulate", "--distance-km", "-3"], "distance_km must be >= 0 (got -3)"),
    (["simulate", "--mu", "0"], "mu must be > 0 (got 0)"),
    (["simulate", "--protocol", "b99"], "unknown protocol 'b99'; choose one of"),
    (["rate", "--protocol", "b99"], "unknown protocol 'b99'"),
    (["rate", "--distance-km", "0:10:0"], "step must be > 0"),
    (["rate", "--distance-km", "abc"], "--distance-km must be numbers"),
    (["rate", "--preset", "lab"], "--preset must be one of modern, gys (got 'lab')"),
    (["rate", "--detector-efficiency", "1.5"], "detector_efficiency must be > 0 and <= 1 (got 1.5)"),
    (["simulate", "--duration-s", "0"], "--duration-s must be > 0"),
])
def test_qkd_bad_input_is_one_line_and_exit_1(capsys, args, needle):
    code, _out, err = run_cli(capsys, "qkd", *args)
    assert code == 1
    assert err.startswith("kizuna: error: ") and needle in err and err.count("\n") == 1
