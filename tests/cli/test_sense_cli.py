"""``kizuna sense ramsey`` and ``kizuna sense scaling``, in-process.

References: single-qubit Ramsey with e^{-t/T2} coherence has its F/t optimum at T2/2 with
F = t^2 e^{-1} (Huelga et al., PRL 79, 3865 (1997)); GHZ phase uncertainty 1/N (Heisenberg),
product 1/sqrt(N) (standard quantum limit)."""

from __future__ import annotations

import json
import math

import pytest

from kizuna.cli import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_sense_ramsey_json_reports_t2_over_2_and_the_bound(capsys):
    code, out, err = run_cli(capsys, "sense", "ramsey", "--t2-s", "1e-4", "--shots", "10000", "--seed", "4",
                             "--repetitions", "2000", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["optimal_time_s"] == pytest.approx(5e-5, rel=1e-3)
    assert doc["frequency_uncertainty_rad_s"] == pytest.approx(1 / math.sqrt(1e4 * 25e-10 * math.exp(-1)), rel=1e-6)
    assert abs(doc["mle"]["std_over_cramer_rao"] - 1) < 0.05
    assert doc["mle"]["seed"] == 4
    again = json.loads(run_cli(capsys, "sense", "ramsey", "--t2-s", "1e-4", "--shots", "10000", "--seed", "4",
                               "--repetitions", "2000", "--json")[1])
    assert again == doc


def test_sense_ramsey_text_and_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "ramsey.png"
    code, out, err = run_cli(capsys, "sense", "ramsey", "--t2-s", "2e-3", "--repetitions", "0",
                             "--plot", str(target))
    assert code == 0, err
    assert "optimal interrogation time: 0.001 s" in out
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sense_ramsey_rejects_non_positive_t2(capsys):
    code, out, err = run_cli(capsys, "sense", "ramsey", "--t2-s", "-1e-4")
    assert code == 1 and out == ""
    assert "t2_s must be > 0" in err and "-0.0001" in err


@pytest.mark.parametrize(("probe", "law"), [("ghz", lambda n: 1 / n), ("product", lambda n: 1 / math.sqrt(n))])
def test_sense_scaling_follows_heisenberg_and_sql(capsys, probe, law):
    code, out, err = run_cli(capsys, "sense", "scaling", "--probe", probe, "--n", "2:100:7", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert [p["n"] for p in doc["points"]] == list(range(2, 101, 7))
    for p in doc["points"]:
        assert p["delta_phi"] == pytest.approx(law(p["n"]), rel=1e-12)


def test_sense_scaling_squeezed_beats_sql_and_plots(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "scaling.png"
    code, out, err = run_cli(capsys, "sense", "scaling", "--probe", "squeezed", "--n", "2:100:14",
                             "--plot", str(target))
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].split() == ["N", "delta_phi", "SQL", "Heisenberg"]
    rows = [list(map(float, line.split())) for line in lines[1:]]
    assert rows[0][0] == 16  # N = 2 is below the squeezed probe's minimum of 3
    for n, dphi, sql, hl in rows:
        assert hl < dphi < sql
    n100 = next(r for r in rows if r[0] == 100)
    assert n100[1] == pytest.approx(math.sqrt(0.06295 / 100), rel=2e-3)  # Wineland xi_R^2 at N = 100
    assert target.stat().st_size > 0


def test_sense_scaling_bad_arguments(capsys):
    code, _, err = run_cli(capsys, "sense", "scaling", "--probe", "noon")
    assert code == 1 and "--probe" in err and "noon" in err
    code, _, err = run_cli(capsys, "sense", "scaling", "--n", "10:2")
    assert code == 1 and "10:2" in err
    code, _, err = run_cli(capsys, "sense", "scaling", "--n", "a:b")
    assert code == 1 and "a:b" in err


def test_sense_nv_json_and_text(capsys):
    code, out, err = run_cli(capsys, "sense", "nv", "--t2-s", "1e-6", "--overhead-s", "1e-6",
                             "--photons-bright", "0.03", "--photons-dark", "0.021", "--json")
    assert code == 0, err
    doc = json.loads(out)
    c = (1 + 2 * 0.051 / 0.009**2) ** -0.5
    assert doc["readout_fidelity"] == pytest.approx(c, rel=1e-12)
    gamma = doc["gyromagnetic_ratio_rad_s_t"]
    tau = doc["interrogation_time_s"]
    assert doc["sensitivity_t_per_sqrt_hz"] == pytest.approx(
        math.sqrt(tau + 1e-6) / (c * gamma * tau * math.exp(-tau / 1e-6)), rel=1e-9)
    code, out, err = run_cli(capsys, "sense", "nv", "--mode", "ac", "--t2-s", "1e-4")
    assert code == 0, err
    assert "interrogation time: 5e-05 s" in out and "T/sqrt(Hz)" in out
    code, _, err = run_cli(capsys, "sense", "nv", "--t2-s", "0")
    assert code == 1 and "coherence_time_s must be > 0" in err
    code, _, err = run_cli(capsys, "sense", "nv", "--photons-bright", "0.03")
    assert code == 1 and "go together" in err
