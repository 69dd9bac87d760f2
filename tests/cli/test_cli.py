"""The ``kizuna`` command, run in-process through ``kizuna.cli.main`` (plus one real process)."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import kizuna
from kizuna.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BELL = str(EXAMPLES / "bell.qasm")


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_error_line(err: str) -> None:
    assert err.startswith("kizuna: error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


# --- run -----------------------------------------------------------------------------------------
def test_run_bell_shows_only_correlated_outcomes(capsys):
    code, out, err = run_cli(capsys, "run", BELL, "--shots", "500", "--seed", "1")
    assert code == 0, err
    header, *rest = out.splitlines()
    assert "bell.qasm" in header and "2 qubits" in header and "500 shots" in header and "seed 1" in header
    outcomes = {ln.split()[0] for ln in rest[1:] if ln.strip()}
    assert outcomes == {"00", "11"}


def test_run_json_is_one_document_with_counts_and_provenance(capsys):
    code, out, _ = run_cli(capsys, "run", BELL, "--shots", "300", "--seed", "5", "--json")
    assert code == 0
    doc = json.loads(out)  # the whole of stdout is one JSON document
    assert sum(doc["counts"].values()) == 300
    assert set(doc["counts"]) <= {"00", "11"}
    assert doc["file"] == BELL
    prov = doc["provenance"]
    assert prov["seed"] == 5 and prov["shots"] == 300
    assert prov["circuit_sha256"] == kizuna.qasm2.load(BELL).sha256()


def test_run_json_matches_the_library_result(capsys):
    _, out, _ = run_cli(capsys, "run", BELL, "--shots", "64", "--seed", "9", "--json")
    expected = kizuna.run(kizuna.qasm2.load(BELL), shots=64, seed=9).to_dict()
    doc = json.loads(out)
    assert doc.pop("file") == BELL
    assert doc["counts"] == expected["counts"]
    assert doc.keys() == expected.keys()


def test_run_same_seed_same_json(capsys):
    args = ("run", str(EXAMPLES / "ghz.qasm"), "--shots", "200", "--seed", "42", "--json", "--memory")
    _, first, _ = run_cli(capsys, *args)
    _, second, _ = run_cli(capsys, *args)
    a, b = json.loads(first), json.loads(second)
    for d in (a, b):  # wall-clock timings, if recorded, may differ
        for block in (d, d.get("provenance", {}), d.get("metadata", {})):
            for key in [k for k in block if "time" in k or "elapsed" in k or "date" in k]:
                block.pop(key)
    assert a == b


def test_run_memory(capsys):
    _, out, _ = run_cli(capsys, "run", BELL, "--shots", "20", "--seed", "3", "--json", "--memory")
    doc = json.loads(out)
    assert len(doc["memory"]) == 20 and set(doc["memory"]) <= {"00", "11"}
    code, out, _ = run_cli(capsys, "run", BELL, "--shots", "20", "--seed", "3", "--memory")
    assert code == 0
    shots = out.split("memory (shot order):\n")[1].split()
    assert shots == doc["memory"]


def test_run_top_limits_rows_and_notes_the_rest_on_stderr(capsys):
    qft = str(EXAMPLES / "qft.qasm")  # about uniform over 16 outcomes
    code, out, err = run_cli(capsys, "run", qft, "--shots", "2000", "--seed", "1", "--top", "3")
    assert code == 0
    rows = [ln for ln in out.splitlines()[2:] if ln.strip()]
    assert len(rows) == 3
    assert "13 more outcomes" in err
    counts = [int(r.split()[1]) for r in rows]
    assert counts == sorted(counts, reverse=True)
    _, out, err = run_cli(capsys, "run", qft, "--shots", "2000", "--seed", "1", "--top", "0")
    assert len([ln for ln in out.splitlines()[2:] if ln.strip()]) == 16 and err == ""


def test_run_teleportation_recovers_the_state(capsys):
    code, out, _ = run_cli(capsys, "run", str(EXAMPLES / "teleportation.qasm"), "--shots", "4000", "--seed", "3", "--json")
    assert code == 0
    counts = json.loads(out)["counts"]
    ones = sum(n for key, n in counts.items() if key.split(" ")[0] == "1")  # register c2
    assert abs(ones / 4000 - 0.75) < 0.03


def test_run_reads_openqasm_3_files(capsys, tmp_path):
    # examples/teleportation.qasm3 moves ry(0.7)|0> to q[2]: P(out = 1) = sin^2(0.35)
    code, out, _ = run_cli(capsys, "run", str(EXAMPLES / "teleportation.qasm3"), "--shots", "20000", "--seed", "3",
                           "--json")
    assert code == 0
    counts = json.loads(out)["counts"]
    ones = sum(n for key, n in counts.items() if key.split(" ")[0] == "1")  # register out (declared last)
    p = math.sin(0.35) ** 2
    assert abs(ones / 20000 - p) < 4 * math.sqrt(p * (1 - p) / 20000)
    # detected by the header too, whatever the suffix; errors keep file:line:col
    bad = tmp_path / "bad.qasm"
    bad.write_text("// a comment first\nOPENQASM 3.0;\nqubit[1] q;\nh q[0]\nbit b;\n")
    code, _, err = run_cli(capsys, "run", str(bad))
    assert code == 1
    assert_one_error_line(err)
    assert f"{bad}:5:" in err or f"{bad}:4:" in err


def test_run_grover_finds_the_marked_item(capsys):
    _, out, _ = run_cli(capsys, "run", str(EXAMPLES / "grover.qasm"), "--shots", "2000", "--seed", "5", "--json")
    counts = json.loads(out)["counts"]
    assert max(counts, key=counts.get) == "101"
    assert counts["101"] / 2000 > 0.9


def test_run_without_classical_bits_is_an_error(capsys, tmp_path):
    f = tmp_path / "nomeas.qasm"
    f.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0];\n')
    code, out, err = run_cli(capsys, "run", str(f))
    assert code == 1 and out == ""
    assert_one_error_line(err)
    assert "measure_all" in err


# --- info and draw ---------------------------------------------------------------------------------
def test_info_json_numbers(capsys):
    code, out, _ = run_cli(capsys, "info", BELL, "--json")
    assert code == 0
    d = json.loads(out)
    assert d["num_qubits"] == 2 and d["num_clbits"] == 2
    assert d["qregs"] == {"q": 2} and d["cregs"] == {"c": 2}
    assert d["depth"] == 3 and d["size"] == 4
    assert d["count_ops"] == {"measure": 2, "h": 1, "cx": 1}
    assert d["num_parameters"] == 0


def test_info_human_output(capsys):
    code, out, _ = run_cli(capsys, "info", str(EXAMPLES / "grover.qasm"))
    assert code == 0
    fields = dict(ln.split(None, 1) for ln in out.splitlines())
    assert fields["qubits"].startswith("3") and fields["clbits"].startswith("3")
    assert "oracle: 2" in fields["gates"] and "diffuser: 2" in fields["gates"]


def test_draw_prints_the_diagram(capsys):
    code, out, _ = run_cli(capsys, "draw", BELL)
    assert code == 0
    assert out == str(kizuna.qasm2.load(BELL)) + "\n"
    assert "q_0: ┤ h ├" in out


def test_draw_width(capsys):
    qft = str(EXAMPLES / "qft.qasm")
    _, narrow, _ = run_cli(capsys, "draw", qft, "--width", "40")
    _, whole, _ = run_cli(capsys, "draw", qft, "--width", "0")
    assert "\n\n" in narrow and "\n\n" not in whole
    assert all(len(ln) <= 40 for ln in narrow.splitlines())


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.qasm")), ids=lambda p: p.name)
def test_every_example_loads_draws_and_runs(capsys, path):
    for args in (["info", str(path)], ["draw", str(path)], ["run", str(path), "--shots", "50", "--seed", "1"]):
        code, _, err = run_cli(capsys, *args)
        assert code == 0, err


# --- version and errors -----------------------------------------------------------------------------
def test_version(capsys):
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and out == f"kizuna {kizuna.__version__}\n"


def test_missing_file_is_one_error_line(capsys, tmp_path):
    missing = tmp_path / "nope.qasm"
    for cmd in ("run", "draw", "info"):
        code, out, err = run_cli(capsys, cmd, str(missing))
        assert code == 1 and out == ""
        assert_one_error_line(err)
        assert "nope.qasm" in err


def test_bad_qasm_reports_file_line_col(capsys, tmp_path):
    bad = tmp_path / "bad.qasm"
    bad.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0]\ncx q[0], q[1];\n')
    code, out, err = run_cli(capsys, "run", str(bad))
    assert code == 1 and out == ""
    assert_one_error_line(err)
    with pytest.raises(kizuna.QasmError) as info:
        kizuna.qasm2.load(bad)
    assert err == f"kizuna: error: {info.value}\n"
    assert f"{bad}:" in err or "bad.qasm:" in err
    assert info.value.line is not None and f":{info.value.line}:" in err


def test_directory_is_not_a_file(capsys, tmp_path):
    code, _, err = run_cli(capsys, "info", str(tmp_path))
    assert code == 1
    assert_one_error_line(err)


def test_kizuna_errors_from_the_run_are_one_line(capsys):
    code, out, err = run_cli(capsys, "run", BELL, "--backend", "no-such-backend")
    assert code == 1 and out == ""
    assert_one_error_line(err)


def test_oversized_circuit_is_one_error_line(capsys, tmp_path):
    big = tmp_path / "big.qasm"
    big.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[60];\ncreg c[60];\nh q;\nt q;\nh q;\nmeasure q -> c;\n')
    code, out, err = run_cli(capsys, "run", str(big), "--shots", "1", "--backend", "statevector")
    assert code == 1 and out == ""
    assert_one_error_line(err)


@pytest.mark.parametrize(
    "argv",
    [["run", BELL, "--bogus"], ["run", BELL, "--shots", "many"], ["run", BELL, "--shots", "0"], ["frobnicate"], ["run"]],
)
def test_usage_errors_exit_2(capsys, argv):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert "Usage:" in err and "Traceback" not in err
    assert out == ""


def test_help_exits_0(capsys):
    code, out, _ = run_cli(capsys, "run", "--help")
    assert code == 0 and "--shots" in out


# --- a real process --------------------------------------------------------------------------------
def test_command_runs_as_a_process():
    if shutil.which("kizuna"):
        cmd, env = ["kizuna"], None
    else:
        src = str(Path(kizuna.__file__).resolve().parents[1])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
        cmd = [sys.executable, "-m", "kizuna.cli"]
    proc = subprocess.run(
        [*cmd, "run", BELL, "--shots", "100", "--seed", "2", "--json"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert sum(json.loads(proc.stdout)["counts"].values()) == 100
    proc = subprocess.run([*cmd, "run", "missing.qasm"], capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("kizuna: error:") and "Traceback" not in proc.stderr


# --- noise and devices ---------------------------------------------------------------------------
def test_devices_lists_the_builtins(capsys):
    code, out, err = run_cli(capsys, "devices", "--json")
    assert code == 0, err
    rows = {r["builtin"]: r for r in json.loads(out)}
    assert rows["heavy-hex-127"]["num_qubits"] == 127 and rows["heavy-hex-127"]["num_edges"] == 144
    code, out, _ = run_cli(capsys, "devices", "--show", "line-3")
    assert code == 0 and json.loads(out)["num_qubits"] == 3


def test_run_with_a_noise_model_file_flips_bits(capsys, tmp_path):
    model = kizuna.NoiseModel().add_readout_error(kizuna.channels.readout_error(0.5, 0.5))
    path = tmp_path / "noise.json"
    model.save(path)
    code, out, err = run_cli(capsys, "run", BELL, "--shots", "4000", "--seed", "2", "--noise", str(path), "--json")
    assert code == 0, err
    doc = json.loads(out)
    # a readout flip with probability 1/2 makes all four outcomes equally likely
    assert set(doc["counts"]) == {"00", "01", "10", "11"}
    assert all(800 < v < 1200 for v in doc["counts"].values())
    assert doc["provenance"]["noise_model_sha256"] == model.sha256()


def test_run_on_a_device_transpiles_and_adds_its_noise(capsys):
    code, out, err = run_cli(capsys, "run", BELL, "--shots", "2000", "--seed", "4", "--device", "heavy-hex-127",
                             "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["transpiled"]["device"] == "heavy_hex_127"
    assert doc["transpiled"]["two_qubit_count"] >= 1
    counts = doc["counts"]
    assert counts.get("00", 0) + counts.get("11", 0) > 1800  # mostly correlated ...
    assert counts.get("01", 0) + counts.get("10", 0) > 0  # ... but noisy
    assert doc["provenance"]["noise_model_sha256"] is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--device", "torus-9"], "unknown built-in device 'torus-9'"),
        (["--device", "nowhere.json"], "nowhere.json: no such file"),
        (["--device", "line-5", "--noise", "x.json"], "give --noise or --device, not both"),
        (["--device", "line-1"], "line_1"),
    ],
)
def test_bad_noise_and_device_options_give_one_line(capsys, args, message):
    code, _, err = run_cli(capsys, "run", BELL, *args)
    assert code == 1
    assert_one_error_line(err)
    assert message in err
