"""Saving and loading every public value type (``kizuna._files``).

Every public class of the public modules is either registered or excluded with a reason
(``test_every_public_class_is_registered_or_excluded``); every registered type has a fixture
below, and ``load(save(x))`` must give back ``x`` field by field, arrays bit for bit (dtype,
shape and bytes, ``nan`` and ``-0.0`` included). The reference for "same" is the object itself
(an exact round trip); the physics of the fixtures is checked by the modules' own tests.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import math
import os
import pkgutil
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kizuna
from kizuna import (
    Circuit,
    Condition,
    Device,
    GateProperties,
    NoiseModel,
    Parameter,
    ParameterExpression,
    Pauli,
    PauliSum,
    QubitProperties,
    Register,
)
from kizuna._files import (
    EXCLUDED,
    INLINE_MAX,
    FileFormatError,
    from_json,
    load,
    registered_types,
    save,
    to_json,
)
from kizuna.computing import parameters as P
from kizuna.core import channels as ch
from kizuna.errors import KizunaError

# --- what "the same" means --------------------------------------------------------------------


def assert_same(a, b, where: str = "obj") -> None:
    """``a`` and ``b`` are the same value: same types all the way down, floats and arrays bit
    for bit. Dataclasses compare by their fields; a ``Circuit`` by registers, name and
    instructions; other objects by ``==``."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype, f"{where}: dtype {a.dtype} != {b.dtype}"
        assert a.shape == b.shape, f"{where}: shape {a.shape} != {b.shape}"
        assert a.tobytes() == b.tobytes(), f"{where}: bits differ"  # C order, whatever the layout
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), f"{where}: {a!r} != {b!r}"
    elif isinstance(a, float):
        assert struct.pack("<d", a) == struct.pack("<d", b), f"{where}: {a!r} != {b!r}"
    elif isinstance(a, complex):
        assert_same(a.real, b.real, f"{where}.real")
        assert_same(a.imag, b.imag, f"{where}.imag")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{where}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, Circuit):
        assert a.name == b.name, f"{where}.name: {a.name!r} != {b.name!r}"
        assert_same(a.qregs, b.qregs, f"{where}.qregs")
        assert_same(a.cregs, b.cregs, f"{where}.cregs")
        assert_same(a.instructions, b.instructions, f"{where}.instructions")
        assert a == b
    elif isinstance(a, ParameterExpression):
        assert a == b and str(a) == str(b), f"{where}: {a!r} != {b!r}"
    elif isinstance(a, NoiseModel):
        assert a == b and a.to_dict() == b.to_dict(), f"{where}: noise models differ"
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            if f.init:
                assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


# --- fixtures: one non-trivial instance per registered type -----------------------------------


def _circuit() -> Circuit:
    theta, phi = Parameter("theta"), Parameter("phi")
    sub = Circuit(2, name="entangle").ry(P.cos(theta) / 2, 0).cx(0, 1).rzz(-phi, 0, 1)
    inner = sub.to_gate(params=[phi, theta])
    outer = Circuit(3, name="outer").h(2)
    outer.append(inner, [0, 2], [theta, 0.25])
    outer_gate = outer.to_gate(params=[theta])
    c = Circuit(0, name="fixture")
    c.add_qreg("a", 2)
    c.add_qreg("b", 2)
    c.add_creg("m", 2)
    c.add_creg("flag", 1)
    c.h(0).rx(2 * theta + 1, 1).u(math.pi, -0.0, 1e-300, 2).cx(0, 3)
    c.unitary(np.array([[0, 1j], [1j, 0]]), [3])
    c.unitary(np.kron([[0, 1], [1, 0]], np.eye(2)), [1, 2])
    c.append(inner, [2, 3], [0.5, phi ** 2])
    c.append(outer_gate, [0, 1, 2], [P.sqrt(theta + 3)])
    c.barrier(0, 2).reset(1)
    c.measure([0, 1], [0, 1])
    with c.if_test("m", 2):
        c.x(3)
        c.measure(3, 2)
    with c.if_test("flag", 1):
        c.append(inner, [0, 1], [theta, phi])
    # a condition on bits that are not one register (compose keeps it)
    part = Circuit(1, 2)
    with part.if_test("c", 3):
        part.z(0)
    c = c.compose(part, qubits=[3], clbits=[1, 2])
    c.measure_all()
    return c


def _result():
    c = Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
    return kizuna.run(c, shots=40, seed=5, memory=True)


def _expectation():
    c = Circuit(2).h(0).cx(0, 1).ry(0.3, 1)
    return kizuna.expectation(c, PauliSum({"ZZ": 1.0, "XI": 0.5}), shots=200, seed=3)


def _device():
    return Device.generic(6, seed=2)


def _noise_model():
    m = NoiseModel()
    m.add_all_qubit_error(ch.depolarizing(0.01), ["sx", "x"])
    m.add_quantum_error(ch.amplitude_damping(0.05).compose(ch.phase_damping(0.02)), "h", [1])
    m.add_readout_error(ch.readout_error(0.02, 0.05), 0)
    m.set_idle_relaxation(50e-6, 30e-6)
    m.set_idle_relaxation(math.inf, 70e-6, 1)
    m.set_duration("cx", 300e-9)
    return m


def _transpile_result():
    c = Circuit(3, 3).h(0).cx(0, 2).cx(1, 2).measure([0, 1, 2], [0, 1, 2])
    return kizuna.transpile(c, Device.line(4), seed=1)


def _memory_experiment():
    from kizuna.computing.qec import repetition_code_memory

    return repetition_code_memory(3, 2, 0.01)


def _memory_result():
    from kizuna.computing.qec import MemoryResult

    return MemoryResult("surface", 3, 3, 0.005, "z", 10_000, 300, seed=11, elapsed_s=0.5,
                        provenance={"kizuna_version": "0.1.0", "grid": (3, 5), "decoder": "pymatching"})


def _threshold_sweep():
    from kizuna.computing.qec import MemoryResult, ThresholdSweep

    rows = tuple(MemoryResult("surface", d, d, p, "z", 10_000, e)
                 for d, p, e in [(3, 0.005, 300), (3, 0.01, 1000), (5, 0.005, 200), (5, 0.01, 2000)])
    return ThresholdSweep("surface", "z", rows, seed=4, elapsed_s=1.5, provenance={"shots": 10_000})


def _networking():
    from kizuna import networking as n

    return n


def _chain():
    n = _networking()
    return n.RepeaterChain.uniform(2, length_km=5, link_fidelity=0.97, success_probability=0.3,
                                   memory=n.Memory(0.9, 1.0, 0.5, 0.01))


def _scenario():
    n = _networking()
    return n.Scenario.from_dict({
        "name": "tiny", "seed": 3, "duration_s": 0.002,
        "hardware": {"memory": {"t2_s": 0.1}, "link": {"fidelity": 0.98, "success_probability": 0.4}},
        "nodes": ["a", {"name": "b", "memories": 4}, "c"],
        "links": [{"nodes": ["a", "b"], "length_km": 2}, {"nodes": ["b", "c"], "length_km": 3}],
        "requests": [{"source": "a", "target": "c"}],
    })


def _qkd():
    from kizuna.networking import qkd

    return qkd


def _sensing():
    from kizuna import sensing

    return sensing


def _evolve_result():
    s = _sensing()
    z = PauliSum({"Z": 0.5})
    return s.evolve(z, np.array([1, 1j]) / 2 ** 0.5, np.linspace(0, 1, 5), [PauliSum({"Z": 0.3})],
                    e_ops=[PauliSum({"X": 1.0})], d_hamiltonian=z, options={"store_states": True})


FIXTURES = {
    "kizuna.Circuit": _circuit,
    "kizuna.CompositeGate": lambda: _circuit().instructions[7].definition,
    "kizuna.Condition": lambda: Condition("m", (0, 1), 2),
    "kizuna.Instruction": lambda: _circuit().instructions[8],
    "kizuna.Register": lambda: Register("b", 2, 2),
    "kizuna.Parameter": lambda: Parameter("theta_1"),
    "kizuna.ParameterExpression": lambda: (P.atan(Parameter("x")) - (2 - Parameter("y") / 3)) ** -1.5,
    "kizuna.Result": _result,
    "kizuna.ExpectationResult": _expectation,
    "kizuna.TranspileResult": _transpile_result,
    "kizuna.NoiseModel": _noise_model,
    "kizuna.Device": _device,
    "kizuna.GateProperties": lambda: GateProperties("cx", (1, 0), 0.012, 3.1e-7),
    "kizuna.QubitProperties": lambda: QubitProperties(1e-4, 0.7e-4, (0.01, 0.03), 5.1e9),
    "kizuna.computing.noise.ChannelOp": lambda: __import__("kizuna.computing.noise", fromlist=["x"]).ChannelOp(
        ch.bit_flip(0.1), (3,), Condition("c", (0,), 1)),
    "kizuna.computing.qec.MemoryResult": _memory_result,
    "kizuna.computing.qec.ThresholdSweep": _threshold_sweep,
    "kizuna.computing.qec.MemoryExperiment": _memory_experiment,
    "kizuna.computing.qec.DetectorErrorModel": lambda: _memory_experiment().detector_error_model(),
    "kizuna.Pauli": lambda: Pauli("XYZI", -0.5j),
    "kizuna.PauliSum": lambda: PauliSum({"ZZI": 1.0, "XIX": -0.25, "IYY": 0.1 + 0.2j}),
    "kizuna.core.channels.Channel": lambda: ch.amplitude_damping(0.1).tensor(ch.depolarizing(0.2)),
    "kizuna.core.channels.ReadoutError": lambda: ch.readout_error(0.02, 0.07),
    "kizuna.networking.BellDiagonalState": lambda: _networking().werner(0.9).dephase(0.013),
    "kizuna.networking.Fiber": lambda: _networking().Fiber(50.5, 0.18, depolarizing_per_km=1e-3),
    "kizuna.networking.ClassicalChannel": lambda: _networking().ClassicalChannel(12.0, 4.9e-6),
    "kizuna.networking.Memory": lambda: _networking().Memory(0.9, 1.0, 0.5, 0.01),
    "kizuna.networking.Detector": lambda: _networking().Detector(0.8, 100.0, 1e-8, 2e-9),
    "kizuna.networking.HeraldedLink": lambda: _networking().HeraldedLink.from_fiber(20.0),
    "kizuna.networking.PhotonSource": lambda: importlib.import_module("kizuna.networking.hardware").PhotonSource(
        rate_hz=1e6, efficiency=0.5, g2=0.02, indistinguishability=0.95),
    "kizuna.networking.RepeaterChain": _chain,
    "kizuna.networking.ChainResult": lambda: _networking().simulate_chain(_chain(), 0.01, seed=2),
    "kizuna.networking.ChainSweep": lambda: _networking().sweep_chain(
        "length_km", [2.0, 5.0], duration_s=0.003, seed=1, link_fidelity=0.95, success_probability=0.5),
    "kizuna.networking.Scenario": _scenario,
    "kizuna.networking.NetworkResult": lambda: _networking().run_scenario(_scenario()),
    "kizuna.networking.scenario.RequestResult": lambda: _networking().run_scenario(_scenario()).requests[0],
    "kizuna.networking.qkd.QKDLink": lambda: _qkd().QKDLink.gys(),
    "kizuna.networking.qkd.QKDResult": lambda: _qkd().run_qkd("bb84-decoy", 10.0, num_pulses=200_000, seed=3),
    "kizuna.networking.qkd.RatePoint": lambda: _qkd().key_rate("bb84-decoy", 300.0),
    "kizuna.networking.qkd.CascadeResult": lambda: _cascade(),
    "kizuna.sensing.EvolveOptions": lambda: _sensing().EvolveOptions("general", True, 1e6),
    "kizuna.sensing.EvolveResult": _evolve_result,
    "kizuna.sensing.GridPosterior": lambda: _sensing().ramsey_bayes(
        [[50, 30], [48, 35]], 100, [1e-5, 2e-5], 1e-4, np.linspace(0, 3e5, 101)),
    "kizuna.sensing.PhaseEstimationResult": lambda: _sensing().adaptive_phase_estimation(
        repetitions=3, num_rounds=3, seed=4),
    "kizuna.sensing.ParticlePosterior": lambda: _sensing().ParticlePosterior(
        np.random.default_rng(6).normal(1e5, 1e3, (2, 50)), np.full((2, 50), 0.02), np.array([1e5, 1.01e5]),
        np.array([1e3, 9e2]), np.array([3, 4]), 6),
    "kizuna.sensing.RamseyResult": lambda: _sensing().ramsey(1e-4, shots=500),
    "kizuna.sensing.NVResult": lambda: _sensing().nv_sensitivity(2e-6, mode="ac", overhead_s=1e-6,
                                                                 readout_fidelity=0.03),
    "kizuna.sensing.SqueezingResult": lambda: _sensing().optimal_squeezing(10),
    "numpy.ndarray": lambda: kizuna.statevector(Circuit(3).h(0).cx(0, 1).ry(0.2, 2)),
}


def _cascade():
    rng = np.random.default_rng(1)
    alice = rng.integers(0, 2, 400, dtype=np.uint8)
    bob = alice ^ (rng.random(400) < 0.03).astype(np.uint8)
    return _qkd().cascade(alice, bob, 0.03, seed=2)


_CACHE: dict = {}


def fixture(name: str):
    if name not in _CACHE:
        _CACHE[name] = FIXTURES[name]()
    return _CACHE[name]


# --- the registry covers the public surface ---------------------------------------------------

# The packages whose values are saved: the quantum core and the three pillars. (cli and
# interop hold functions; service, above files in the layer order, holds server objects.)
_PACKAGES = ("kizuna.computing", "kizuna.core", "kizuna.networking", "kizuna.sensing")


def _public_classes() -> dict[str, type]:
    """Every class named in an ``__all__`` of a public module, by its home (the first public
    module that names it)."""
    found: dict[type, str] = {}
    modules = ["kizuna"] + [m.name for m in pkgutil.walk_packages(kizuna.__path__, "kizuna.")]
    for name in modules:
        parts = name.split(".")
        if any(p.startswith("_") for p in parts[1:]) or not (name == "kizuna" or name.startswith(_PACKAGES)):
            continue
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr, None)
            if inspect.isclass(obj) and not issubclass(obj, BaseException):
                found.setdefault(obj, f"{name}.{attr}")
    return {v: k for k, v in found.items()}


def _registered_classes() -> dict[type, str]:
    from kizuna import _files

    return {_files._class_of(_files._CODECS[n]): n for n in registered_types()}


def test_every_public_class_is_registered_or_excluded():
    registered = _registered_classes()
    excluded = {}
    for name in EXCLUDED:
        module, attr = name.rsplit(".", 1)
        excluded[getattr(importlib.import_module(module), attr)] = name
    missing = [home for home, cls in _public_classes().items() if cls not in registered and cls not in excluded]
    assert not missing, (
        f"public classes that kizuna.save cannot write: {missing}. Register each in "
        "kizuna/_files.py (_entries) with a fixture in tests/test_files.py (FIXTURES), or list it "
        "in _files.EXCLUDED with the reason it is not a value"
    )
    assert not set(registered) & set(excluded)


def test_every_registered_type_has_a_fixture():
    assert set(FIXTURES) == set(registered_types())


def test_registered_names_name_the_class():
    for cls, name in _registered_classes().items():
        assert name.rsplit(".", 1)[1] == cls.__name__


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_save_load_round_trip_json(name, tmp_path):
    obj = fixture(name)
    path = tmp_path / "obj.json"
    save(obj, path)
    doc = json.loads(path.read_text())
    assert doc["type"] == name and doc["kizuna_format"] == 1
    assert doc["kizuna_version"] == kizuna.__version__
    assert_same(load(path), obj)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_save_load_round_trip_npz(name, tmp_path):
    obj = fixture(name)
    path = tmp_path / "obj.npz"
    save(obj, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["obj.npz"]
    assert_same(load(path), obj)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_to_json_from_json_round_trip(name):
    obj = fixture(name)
    text = to_json(obj)
    assert "npz" not in json.loads(text).get("arrays", {})
    assert_same(from_json(text), obj)


def test_equal_objects_give_equal_data():
    """Two independently built equal objects save to the same document (but for the time)."""
    for name in ("kizuna.Circuit", "kizuna.NoiseModel", "kizuna.networking.Scenario"):
        a, b = json.loads(to_json(FIXTURES[name]())), json.loads(to_json(FIXTURES[name]()))
        a.pop("saved_utc"), b.pop("saved_utc")
        assert a == b


def test_loaded_circuit_simulates_like_the_original():
    """Not just equal: a reloaded circuit bound and run gives the same state vector."""
    theta = Parameter("theta")
    sub = Circuit(2, name="blk").ry(P.cos(theta), 0).cx(0, 1)
    g = Circuit(3).h(0).unitary(np.array([[0, 1j], [1j, 0]]), [2]).rx(2 * theta + 1, 1)
    g.append(sub.to_gate(), [2, 0], [theta / 3])
    back = from_json(to_json(g))
    bound = {theta: 0.37}
    np.testing.assert_array_equal(
        kizuna.statevector(back.assign_parameters(bound)), kizuna.statevector(g.assign_parameters(bound))
    )


def test_provenance_and_metadata_kept_verbatim(tmp_path):
    r = _result()
    prov = {**r.provenance, "options": {"tuple": (1, 2.5), "nan": math.nan, "inf": -math.inf,
                                        "ints": {1: "one", (2, 3): "pair"}, "set": frozenset({"a"}),
                                        "np": np.float32(0.1), "arr": np.arange(3, dtype=np.int16),
                                        "big": 2**80, "neg0": -0.0, "c": 1 - 2j, "$odd": "key"}}
    r2 = dataclasses.replace(r, provenance=prov, metadata={"branches": 3, "layout": [0, 2]})
    path = tmp_path / "r.json"
    save(r2, path)
    back = load(path)
    assert_same(back.provenance, r2.provenance)
    assert_same(back.metadata, r2.metadata)


def test_large_arrays_go_to_the_sidecar_small_ones_inline(tmp_path):
    s = _sensing()
    big = s.evolve(PauliSum({"Z": 0.5, "X": 0.1}), np.array([1, 0]), np.linspace(0, 1, 40),
                   options={"store_states": True})
    path = tmp_path / "ev.json"
    save(big, path)
    side = tmp_path / "ev.json.npz"
    assert side.exists()
    doc = json.loads(path.read_text())
    assert doc["arrays"]["file"] == "ev.json.npz"
    states = doc["data"]["states"]["$array"]
    assert states["npz"] and states["shape"] == [40, 2, 2] and "data" not in states
    times = doc["data"]["times"]["$array"]
    assert len(times["data"]) == 40 <= INLINE_MAX
    with np.load(side, allow_pickle=False) as z:
        np.testing.assert_array_equal(z[states["npz"]], big.states)
    assert_same(load(path), big)


def test_inline_arrays_are_exact_for_awkward_values():
    a = np.array([[np.nan, -0.0, np.inf], [-np.inf, 5e-324, 1.7976931348623157e308]])
    with np.errstate(all="ignore"):  # the casts overflow on purpose
        payload = struct.unpack("<d", struct.pack("<Q", 0xFFF8000000000123))[0]  # a NaN with bits
        awkward = [a, -a, np.array([payload, -payload]), a.astype(np.float32), a.astype(np.float16), a + 1j * a[::-1],
                   (a + 1j).astype(np.complex64)]
    for arr in awkward + [np.array([True, False]), np.arange(-3, 3, dtype=np.int8),
                          np.array([2**64 - 1], dtype=np.uint64), np.array(["ab", "ü"]), np.zeros((0, 3)),
                          np.array(3.5), np.asfortranarray(np.arange(6.0).reshape(2, 3)), a.astype(">f8")]:
        assert_same(from_json(to_json(arr)), arr)


def test_npz_only_dtypes_are_refused_inline_but_saved_to_npz(tmp_path):
    a = np.array([1.5, 2.5], dtype=np.longdouble)
    if a.dtype.itemsize <= 8:
        pytest.skip("long double is double on this platform")
    with pytest.raises(FileFormatError, match="inline"):
        to_json(a)
    save(a, tmp_path / "a.npz")
    assert_same(load(tmp_path / "a.npz"), a)


# --- failures ---------------------------------------------------------------------------------


def test_unsavable_object_is_refused_with_its_place(tmp_path):
    r = dataclasses.replace(_result(), metadata={"handle": object()})
    path = tmp_path / "r.json"
    with pytest.raises(FileFormatError, match=r"builtins\.object at data\.metadata\.handle"):
        save(r, path)
    assert not path.exists()
    with pytest.raises(FileFormatError, match="not a value type"):
        save(kizuna.networking.Simulator(), path)
    with pytest.raises(FileFormatError, match="object array"):
        to_json(np.array([1, "a"], dtype=object))


def test_failed_save_leaves_the_existing_file_untouched(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    result = fixture("kizuna.Result")
    save(result, path)
    before = path.read_bytes()
    # an encoding failure: nothing is written
    with pytest.raises(FileFormatError):
        save(dataclasses.replace(_result(), metadata={"x": object()}), path)
    assert path.read_bytes() == before
    # a failure while writing (the disk): the old file stays, no temporary file is left
    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save(_noise_model(), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
    assert_same(load(path), result)


def test_corrupt_file_names_the_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"kizuna_format": 1, "type": "kizuna.Result", "data": {')
    with pytest.raises(FileFormatError, match=r"bad\.json:1:\d+: not valid JSON"):
        load(path)
    path.write_text('{"hello": 1}')
    with pytest.raises(FileFormatError, match=r"bad\.json: not a Kizuna file"):
        load(path)
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(FileFormatError, match=r"bad\.json"):
        load(path)
    npz = tmp_path / "bad.npz"
    npz.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(FileFormatError, match=r"bad\.npz: not a readable \.npz"):
        load(npz)
    np.savez(npz, x=np.arange(3))
    with pytest.raises(FileFormatError, match=r"bad\.npz: not a Kizuna archive"):
        load(npz)


def test_broken_content_names_the_file_and_the_type(tmp_path):
    path = tmp_path / "fiber.json"
    save(kizuna.networking.Fiber(10.0), path)
    doc = json.loads(path.read_text())
    doc["data"]["length_km"] = -3.0
    path.write_text(json.dumps(doc))
    with pytest.raises(FileFormatError, match=r"fiber\.json: data: cannot rebuild kizuna\.networking\.Fiber.*"
                                              r"length_km must be >= 0") as info:
        load(path)
    assert isinstance(info.value, KizunaError) and isinstance(info.value, ValueError)
    assert isinstance(info.value.__cause__, kizuna.errors.NetworkError)


def test_unknown_type_and_newer_format_are_refused(tmp_path):
    path = tmp_path / "x.json"
    save(Pauli("XZ"), path)
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "type": "kizuna.Teleporter"}))
    with pytest.raises(FileFormatError, match=r"x\.json: unknown type 'kizuna\.Teleporter'"):
        load(path)
    path.write_text(json.dumps({**doc, "kizuna_format": 2, "kizuna_version": "9.0"}))
    with pytest.raises(FileFormatError, match=r"x\.json: written in Kizuna file format 2 by Kizuna 9\.0.*upgrade"):
        load(path)
    nested = {**doc, "data": {"$type": "kizuna.Nope", "data": {}}}
    with pytest.raises(FileFormatError, match=r"<string>: data: unknown type 'kizuna\.Nope'"):
        from_json(json.dumps(nested))


def test_missing_or_stale_sidecar_names_both_files(tmp_path):
    path = tmp_path / "sv.json"
    big = np.arange(INLINE_MAX + 1, dtype=np.complex128) * (1 + 2j)
    save(big, path)
    side = tmp_path / "sv.json.npz"
    blob = side.read_bytes()
    side.unlink()
    with pytest.raises(FileFormatError, match=r"sv\.json: its arrays file sv\.json\.npz is missing"):
        load(path)
    side.write_bytes(blob)
    assert_same(load(path), big)
    save(big * 2, tmp_path / "other.json")
    (tmp_path / "other.json.npz").replace(side)  # a sidecar of another save
    with pytest.raises(FileFormatError, match=r"sv\.json: its arrays file sv\.json\.npz does not match"):
        load(path)
    with pytest.raises(FileFormatError, match="sidecar of sv.json"):
        load(side)
    with pytest.raises(FileFormatError, match="came without"):
        from_json(path.read_text())


@pytest.mark.parametrize("seed", range(4))
def test_reloaded_composite_circuit_matches_qiskit(seed, composite_circuit_pair, bind_qiskit):
    """Independent reference: nested composite gates with parameter expressions, saved,
    reloaded, bound and simulated, against Qiskit's own build of the same circuit."""
    from qiskit.quantum_info import Statevector

    c, qc, values = composite_circuit_pair(seed)
    back = from_json(to_json(c))
    assert_same(back, c)
    state = kizuna.statevector(back.assign_parameters(values))
    ref = Statevector(bind_qiskit(qc, values)).data
    assert abs(abs(np.vdot(ref, state)) - 1) < 1e-10


@pytest.mark.parametrize("seed", range(3))
def test_whole_gate_table_and_dynamic_circuits_round_trip(seed, random_circuit_pair, random_dynamic_circuit,
                                                         tmp_path):
    c, _ = random_circuit_pair(seed, 5, 60, measure_prob=0.1)
    d = random_dynamic_circuit(np.random.default_rng(seed), 4, 30)
    for circuit in (c, d):
        save(circuit, tmp_path / "c.json")
        assert_same(load(tmp_path / "c.json"), circuit)


# --- property: random circuits ----------------------------------------------------------------

_ONE = ["h", "x", "s", "t", "sx", "rx", "ry", "rz", "p", "u"]
_TWO = ["cx", "cz", "swap", "crz", "rzz", "cu"]


@st.composite
def circuits(draw):
    n = draw(st.integers(1, 4))
    c = Circuit(n, draw(st.integers(0, 3)), name=draw(st.none() | st.text("abc_", min_size=1, max_size=4)))
    names = ["alpha", "beta"]
    angle = st.floats(-10, 10, allow_nan=False) | st.sampled_from(names).map(Parameter) \
        | st.tuples(st.sampled_from(names), st.floats(-3, 3, allow_nan=False)).map(
            lambda t: P.sin(Parameter(t[0])) * t[1] - 0.5)
    from kizuna.core.gates import GATES

    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["one", "two", "unitary", "measure", "reset", "barrier", "cond"]))
        qs = draw(st.permutations(range(n)))
        if kind == "one":
            name = draw(st.sampled_from(_ONE))
            c.gate(name, [qs[0]], [draw(angle) for _ in range(GATES[name].num_params)])
        elif kind == "two" and n >= 2:
            name = draw(st.sampled_from(_TWO))
            c.gate(name, qs[:2], [draw(angle) for _ in range(GATES[name].num_params)])
        elif kind == "unitary":
            seed = draw(st.integers(0, 2**16))
            q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(2, 2))
                                + 1j * np.random.default_rng(seed + 1).normal(size=(2, 2)))
            c.unitary(q, [qs[0]])
        elif kind == "measure" and c.num_clbits:
            c.measure(qs[0], draw(st.integers(0, c.num_clbits - 1)))
        elif kind == "reset":
            c.reset(qs[0])
        elif kind == "barrier":
            c.barrier(*qs[: draw(st.integers(1, n))])
        elif kind == "cond" and c.num_clbits:
            with c.if_test("c", draw(st.integers(0, 2 ** c.num_clbits - 1))):
                c.x(qs[0])
    return c


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(circuits())
def test_random_circuits_round_trip(c):
    assert_same(from_json(to_json(c)), c)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(circuits())
def test_random_circuits_round_trip_through_files(tmp_path, c):
    path = tmp_path / "c.npz"
    save(c, path)
    assert_same(load(path), c)


_scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True)
            | st.complex_numbers(allow_nan=True) | st.text(max_size=5))
_keys = st.text(max_size=4) | st.integers(-5, 5) | st.tuples(st.integers(0, 3), st.text(max_size=2))
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.lists(inner, max_size=4).map(tuple)
    | st.dictionaries(_keys, inner, max_size=4) | st.frozensets(st.integers(-9, 9), max_size=4),
    max_leaves=20,
)


@settings(max_examples=80, deadline=None)
@given(_values)
def test_any_metadata_value_round_trips(value):
    """Provenance and metadata are kept verbatim, whatever JSON cannot say by itself
    (tuples, non-string keys, ``nan``, complex numbers, big integers, sets)."""
    r = dataclasses.replace(fixture("kizuna.Result"), metadata={"value": value})
    assert_same(from_json(to_json(r)).metadata, r.metadata)
