"""``kizuna qec``, run in-process through ``kizuna.cli.main`` (small shot counts).

The reference for the numbers is the library (``kizuna.computing.qec``, itself tested against
Stim in ``tests/computing/test_qec.py``): the command must report exactly what the library
computes for the same seed.
"""

from __future__ import annotations

import json

import pytest

from kizuna.cli import main
from kizuna.computing import qec


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_error_line(err: str) -> None:
    assert err.startswith("kizuna: error: "), err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_surface_json_matches_the_library(capsys):
    code, out, err = run_cli(capsys, "qec", "surface", "--distance", "3", "--rounds", "2", "--p",
                             "0.01", "--shots", "3000", "--seed", "5", "--json")
    assert code == 0, err
    doc = json.loads(out)  # the whole of stdout is one JSON document
    (row,) = doc["rows"]
    expected = qec.surface_code_memory(3, 2, 0.01).run(3000, seed=5)
    assert row["logical_errors"] == expected.logical_errors
    assert (row["distance"], row["rounds"], row["p"], row["shots"]) == (3, 2, 0.01, 3000)
    assert row["interval"] == list(expected.interval)
    assert row["provenance"]["seed"] == 5 and doc["seed"] == 5
    assert doc["threshold"] is None


def test_surface_table_shows_rates_and_intervals(capsys):
    code, out, err = run_cli(capsys, "qec", "surface", "-d", "3", "-p", "0.005", "-n", "2000",
                             "-s", "1", "--no-progress")
    assert code == 0, err
    header, columns, row = out.splitlines()[:3]
    assert "surface code" in header and "2000 shots" in header and "seed 1" in header
    assert "P_L (round)" in columns and "95% CI" in columns
    fields = row.split()
    assert fields[:4] == ["3", "3", "0.005", "2000"]
    errors = qec.surface_code_memory(3, 3, 0.005).run(2000, seed=1).logical_errors
    assert fields[4] == str(errors)


def test_sweep_prints_every_point_and_writes_the_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "sweep.png"
    code, out, err = run_cli(capsys, "qec", "repetition", "--distance", "3,5", "--p", "0.02",
                             "--p", "0.3", "--shots", "1500", "--seed", "2", "--workers", "1",
                             "--plot", str(plot))
    assert code == 0, err
    lines = out.splitlines()
    assert len([ln for ln in lines if ln.split()[:1] in (["3"], ["5"])]) == 4
    assert any(ln.startswith("threshold estimate") for ln in lines)
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert str(plot) in err


def test_sweep_json_has_the_threshold_fields(capsys):
    code, out, _ = run_cli(capsys, "qec", "repetition", "-d", "3", "-d", "5", "-p", "0.02,0.3",
                           "-n", "1000", "-s", "3", "-w", "1", "--json")
    assert code == 0
    doc = json.loads(out)
    assert [(r["distance"], r["p"]) for r in doc["rows"]] == [(3, 0.02), (3, 0.3), (5, 0.02), (5, 0.3)]
    assert "threshold" in doc and "threshold_per_shot" in doc


@pytest.mark.parametrize("argv,needle", [
    (["surface", "--distance", "4"], "odd (got 4)"),
    (["surface", "--p", "0.7"], "got 0.7"),
    (["surface", "--p", "abc"], "--p must be a number (got 'abc')"),
    (["surface", "--distance", "three"], "--distance must be an integer (got 'three')"),
    (["surface", "--basis", "y"], "got 'y'"),
    (["repetition", "--distance", "1"], ">= 2 (got 1)"),
    (["surface", "--plot", "/no/such/folder/x.png"], "does not exist"),
])
def test_bad_input_is_one_readable_line(capsys, argv, needle):
    code, out, err = run_cli(capsys, "qec", *argv, "--shots", "10")
    assert code == 1
    assert out == ""
    assert_one_error_line(err)
    assert needle in err


def test_usage_errors_exit_2(capsys):
    code, _, err = run_cli(capsys, "qec", "surface", "--shots", "0")
    assert code == 2 and "shots" in err
    code, out, _ = run_cli(capsys, "qec", "--help")
    assert code == 0 and "surface" in out and "repetition" in out
