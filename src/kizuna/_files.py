"""Save and load Kizuna's value types: one JSON document per object, NumPy arrays inline or in
an ``.npz``.

``save(obj, path)`` writes, atomically (a temporary file, then a rename)::

    {"kizuna_format": 1, "type": "kizuna.Result", "kizuna_version": "0.1.0",
     "numpy_version": "2.4.6", "saved_utc": "2026-11-25T20:15:00+00:00", "data": {...}}

``type`` is the object's public name (``kizuna.Circuit``, ``kizuna.networking.Fiber``,
``kizuna.sensing.EvolveResult``...; ``registered_types()`` lists them). ``data`` holds the
object's fields; provenance and metadata dictionaries are kept verbatim.

Where the arrays go (one rule, chosen by the path's suffix):

* ``path`` ends in ``.npz``: one NumPy archive holds everything: the JSON document (entry
  ``kizuna.json``, UTF-8 bytes) and every array, whatever its size (entries ``a0``, ``a1``, ...).
* any other suffix (``.json`` by convention): a JSON text file. Arrays of at most
  ``INLINE_MAX`` elements are written inline, as flat row-major lists (complex numbers as
  ``[re, im]`` pairs); larger ones go to a sidecar archive ``<path>.npz`` (``results.json`` ->
  ``results.json.npz``), written atomically *before* the JSON, whose SHA-256 the JSON records:
  a reader never sees a JSON that names a missing or stale sidecar without being told so.
  A save without large arrays leaves an old sidecar alone (the new JSON does not name it).

Every value comes back identical: floats print with ``repr`` (exact), ``nan`` (sign and
payload kept), ``inf`` and complex numbers, tuples, sets, non-string dictionary keys and NumPy scalars are tagged
(``{"$tuple": [...]}``, ...), arrays keep their dtype, shape and bits. ``to_json(obj)`` and
``from_json(text)`` do the same with every array inline, for small objects.

Errors name the file: a file that is not JSON, not a Kizuna document, of a newer format or of
an unknown type, or whose sidecar is missing or stale raises ``FileFormatError``.

This module imports ``core``, ``errors`` and NumPy at import time; each pillar's module is
imported only when a value of it is saved or loaded.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import importlib
import io
import json
import math
import os
import struct
import sys
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import errors as _errors
from .core._io import atomic_write_bytes, atomic_write_text
from .errors import FileFormatError

__all__ = [
    "EXCLUDED",
    "FORMAT",
    "INLINE_MAX",
    "FileFormatError",
    "from_json",
    "load",
    "registered_types",
    "save",
    "to_json",
]

#: Version of the document layout; a file of a larger number is refused with a clear error.
FORMAT = 1
#: Arrays of at most this many elements are written inline in a JSON file (every array is,
#: by ``to_json``); larger ones go to the ``.npz`` sidecar.
INLINE_MAX = 64
_JSON_ENTRY = "kizuna.json"
_TAGS = ("$tuple", "$set", "$frozenset", "$dict", "$float", "$complex", "$array", "$scalar", "$type")

# --- the registry ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Codec:
    name: str  # the public name written as "type"
    module: str  # where the class is imported from (a public module)
    attr: str
    encode: Callable[[Any], Any]
    decode: Callable[[type, Any], Any]


def _fields_encode(obj) -> dict:
    """A dataclass's constructor arguments, by name (``init=False`` fields are derived)."""
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.init}


def _fields_decode(cls, data):
    return cls(**data)


def _dict_encode(obj) -> dict:
    return obj.to_dict()


def _dict_decode(cls, data):
    return cls.from_dict(data)


_FIELDS = (_fields_encode, _fields_decode)
_TO_DICT = (_dict_encode, _dict_decode)


# Parameter expressions: the tree is rebuilt with the public operators and functions.
def _expr_encode(expr) -> dict:
    # ParameterExpression has no public accessor of its tree yet (public ``op``/``args`` are
    # requested); str() is no substitute: it drops brackets, so a + (b + c) reads back as
    # (a + b) + c, a different (unequal) tree.
    return {"op": expr.op, "args": list(expr.args)}


def _expr_decode(cls, data):
    from .computing import parameters as P

    op, args = data["op"], data["args"]
    binary = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b,
        "^": lambda a, b: a**b,
    }
    if op in binary and len(args) == 2:
        a, b = args
        if not isinstance(a, P.ParameterExpression) and not isinstance(b, P.ParameterExpression):
            return cls(op, (float(a), float(b)))  # an unfolded node, as it was saved
        return binary[op](a, b)
    if op == "neg" and len(args) == 1:
        return -args[0]
    if op in ("sin", "cos", "tan", "exp", "ln", "sqrt", "asin", "acos", "atan") and len(args) == 1:
        return getattr(P, op)(args[0])
    raise ValueError(f"unknown parameter-expression operation {op!r} with {len(args)} argument(s)")


def _param_encode(p) -> dict:
    return {"name": p.name}


def _param_decode(cls, data):
    return cls(data["name"])


# Circuits: registers, a table of composite-gate definitions, then the instructions, rebuilt
# with the circuit's public builders (every instruction is validated again on load).
def _circuit_encode(circuit) -> dict:
    # expressions and matrices kept whole (encoded exactly further down); composite gates by
    # index in "gates", so two different bodies under one name stay apart
    defs: list[dict] = []
    index: dict = {}

    def gate(g, ins_dict) -> int:
        found = index.get(g)
        if found is None:
            body = [ins_dict(b) for b in g.body]  # nested definitions first
            found = index[g] = len(defs)
            defs.append({"name": g.name, "num_qubits": g.num_qubits,
                         "params": [p.name for p in g.params], "body": body})
        return found

    d = circuit.describe(param=lambda p: p, matrix=lambda m: m, gate=gate)
    d["gates"] = defs
    return d


def _circuit_decode(cls, data):
    from .computing.circuit import CompositeGate, Condition, Instruction
    from .computing.parameters import Parameter

    gates: list = []

    def body_instruction(d) -> Instruction:
        matrix = d.get("matrix")
        if matrix is not None:
            matrix = np.array(matrix, dtype=np.complex128)
            matrix.setflags(write=False)
        cond = d.get("condition")
        return Instruction(
            d["name"], tuple(d["qubits"]), tuple(d.get("params", ())), tuple(d.get("clbits", ())),
            None if cond is None else Condition(cond["register"], tuple(cond["clbits"]), cond["value"]),
            matrix, None if d.get("gate") is None else gates[d["gate"]],
        )

    for g in data["gates"]:
        gates.append(CompositeGate(g["name"], g["num_qubits"], tuple(Parameter(p) for p in g["params"]),
                                   tuple(body_instruction(b) for b in g["body"])))
    circuit = cls(0, 0, name=data["name"])
    for name, size in data["qregs"]:
        circuit.add_qreg(name, size)
    for name, size in data["cregs"]:
        circuit.add_creg(name, size)
    for d in data["instructions"]:
        cond = d.get("condition")
        if cond is None:
            _append(circuit, d, gates)
            continue
        reg = next((r for r in circuit.cregs if r.name == cond["register"]), None)
        if reg is not None and list(reg.indices) == list(cond["clbits"]):
            with circuit.if_test(reg.name, cond["value"]):
                _append(circuit, d, gates)
        else:
            # a condition on bits that are not one register (as compose() can make): build the
            # instruction on a scratch circuit whose one register has those bits, compose it in
            bits = list(cond["clbits"])
            scratch = cls(0, 0)
            scratch.add_qreg("q", circuit.num_qubits)
            scratch.add_creg(cond["register"], len(bits))
            with scratch.if_test(cond["register"], cond["value"]):
                _append(scratch, d, gates)
            circuit = circuit.compose(scratch, clbits=bits)
    return circuit


def _append(circuit, d: dict, gates: list) -> None:
    name, qubits, params = d["name"], d["qubits"], d.get("params", ())
    if d.get("gate") is not None:
        circuit.append(gates[d["gate"]], qubits, params)
    elif name == "unitary":
        # checked when it was first built; a saved matrix is taken as it is
        circuit.unitary(d["matrix"], qubits, atol=math.inf)
    elif name == "measure":
        circuit.measure(qubits, d["clbits"])
    elif name == "reset":
        circuit.reset(qubits)
    elif name == "barrier":
        circuit.barrier(*qubits)
    else:
        circuit.gate(name, qubits, params)


def _array_encode(a):
    return a


def _array_decode(cls, data):
    if not isinstance(data, np.ndarray):
        raise TypeError(f"expected an array (got {type(data).__name__})")
    return data


def _entries() -> list[_Codec]:
    """Every registered type: (public name, public module, class name, codec)."""
    k, c, n, q, s = "kizuna", "kizuna.computing", "kizuna.networking", "kizuna.networking.qkd", "kizuna.sensing"
    spec = [
        # computing
        ("kizuna.Circuit", k, "Circuit", (_circuit_encode, _circuit_decode)),
        ("kizuna.CompositeGate", k, "CompositeGate", _FIELDS),
        ("kizuna.Condition", k, "Condition", _FIELDS),
        ("kizuna.Instruction", k, "Instruction", _FIELDS),
        ("kizuna.Register", k, "Register", _FIELDS),
        ("kizuna.Parameter", k, "Parameter", (_param_encode, _param_decode)),
        ("kizuna.ParameterExpression", k, "ParameterExpression", (_expr_encode, _expr_decode)),
        ("kizuna.Result", k, "Result", _TO_DICT),
        ("kizuna.ExpectationResult", k, "ExpectationResult", _TO_DICT),
        ("kizuna.TranspileResult", k, "TranspileResult", _FIELDS),  # to_dict goes through QASM
        ("kizuna.NoiseModel", k, "NoiseModel", _TO_DICT),
        ("kizuna.Device", k, "Device", _TO_DICT),
        ("kizuna.GateProperties", k, "GateProperties", _TO_DICT),
        ("kizuna.QubitProperties", k, "QubitProperties", _TO_DICT),
        ("kizuna.computing.noise.ChannelOp", f"{c}.noise", "ChannelOp", _FIELDS),
        ("kizuna.computing.qec.MemoryResult", f"{c}.qec", "MemoryResult", _TO_DICT),
        ("kizuna.computing.qec.ThresholdSweep", f"{c}.qec", "ThresholdSweep", _TO_DICT),
        ("kizuna.computing.qec.MemoryExperiment", f"{c}.qec", "MemoryExperiment", _FIELDS),
        ("kizuna.computing.qec.DetectorErrorModel", f"{c}.qec", "DetectorErrorModel", _FIELDS),
        # core
        ("kizuna.Pauli", k, "Pauli", _TO_DICT),
        ("kizuna.PauliSum", k, "PauliSum", _TO_DICT),
        # Channel.to_dict prints -0.0 as 0.0 (for its hash): the fields keep every bit
        ("kizuna.core.channels.Channel", "kizuna.core.channels", "Channel", _FIELDS),
        ("kizuna.core.channels.ReadoutError", "kizuna.core.channels", "ReadoutError", _TO_DICT),
        # networking
        ("kizuna.networking.BellDiagonalState", n, "BellDiagonalState", (_fields_encode, _fields_decode)),
        ("kizuna.networking.Fiber", n, "Fiber", _FIELDS),
        ("kizuna.networking.ClassicalChannel", n, "ClassicalChannel", _FIELDS),
        ("kizuna.networking.Memory", n, "Memory", _FIELDS),
        ("kizuna.networking.Detector", n, "Detector", _FIELDS),
        ("kizuna.networking.HeraldedLink", n, "HeraldedLink", _FIELDS),
        ("kizuna.networking.PhotonSource", f"{n}.hardware", "PhotonSource", _FIELDS),
        ("kizuna.networking.RepeaterChain", n, "RepeaterChain", _FIELDS),
        ("kizuna.networking.ChainResult", n, "ChainResult", _FIELDS),
        ("kizuna.networking.ChainSweep", n, "ChainSweep", _FIELDS),
        ("kizuna.networking.Scenario", n, "Scenario", _FIELDS),
        ("kizuna.networking.NetworkResult", n, "NetworkResult", _FIELDS),
        ("kizuna.networking.scenario.RequestResult", f"{n}.scenario", "RequestResult", _FIELDS),
        ("kizuna.networking.qkd.QKDLink", q, "QKDLink", _FIELDS),
        ("kizuna.networking.qkd.QKDResult", q, "QKDResult", _FIELDS),
        ("kizuna.networking.qkd.RatePoint", q, "RatePoint", _FIELDS),
        ("kizuna.networking.qkd.CascadeResult", q, "CascadeResult", _FIELDS),
        # sensing
        ("kizuna.sensing.EvolveOptions", s, "EvolveOptions", _FIELDS),
        ("kizuna.sensing.EvolveResult", s, "EvolveResult", _FIELDS),
        ("kizuna.sensing.GridPosterior", s, "GridPosterior", _FIELDS),
        ("kizuna.sensing.PhaseEstimationResult", s, "PhaseEstimationResult", _FIELDS),
        ("kizuna.sensing.ParticlePosterior", s, "ParticlePosterior", _FIELDS),
        ("kizuna.sensing.RamseyResult", s, "RamseyResult", _FIELDS),
        ("kizuna.sensing.NVResult", s, "NVResult", _FIELDS),
        ("kizuna.sensing.SqueezingResult", s, "SqueezingResult", _FIELDS),
        # plain arrays (state vectors, density matrices)
        ("numpy.ndarray", "numpy", "ndarray", (_array_encode, _array_decode)),
    ]
    return [_Codec(name, mod, attr, enc, dec) for name, mod, attr, (enc, dec) in spec]


#: Public classes that are not values, and why; ``tests/test_files.py`` checks that every
#: public class is registered or listed here.
EXCLUDED: dict[str, str] = {
    "kizuna.networking.Simulator": "a running discrete-event engine (a clock, a queue of callbacks)",
    "kizuna.networking.Signal": "an engine event hook bound to a running Simulator",
    "kizuna.sensing.Evolver": "a solver set up for reuse (factorised operators); save its inputs",
    "kizuna.computing.backends.density_matrix.DensityMatrixBackend": "a simulator, not a value",
    "kizuna.computing.backends.mps.MPSBackend": "a simulator, not a value",
    "kizuna.computing.backends.stabilizer.StabilizerBackend": "a simulator, not a value",
    "kizuna.computing.backends.trajectories.TrajectoriesBackend": "a simulator, not a value",
    "kizuna.core.gates.GateSpec": "an entry of the built-in gate table (holds functions); saved "
                                  "circuits refer to gates by name",
}

_CODECS: dict[str, _Codec] = {e.name: e for e in _entries()}
_BY_CLASS: dict[type, _Codec] = {}


def registered_types() -> tuple[str, ...]:
    """The public names of every type ``save`` writes, sorted."""
    return tuple(sorted(_CODECS))


def _class_of(codec: _Codec) -> type:
    return getattr(importlib.import_module(codec.module), codec.attr)


def _codec_for(obj) -> _Codec | None:
    cls = type(obj)
    found = _BY_CLASS.get(cls)
    if found is not None:
        return found
    # classes of modules already imported first: saving a Circuit must not import every pillar
    for pass_ in (0, 1):
        for codec in _CODECS.values():
            if pass_ == 0 and codec.module not in sys.modules:
                continue
            try:
                klass = _class_of(codec)
            except ImportError:  # pragma: no cover - a pillar that fails to import
                continue
            _BY_CLASS.setdefault(klass, codec)
        found = _BY_CLASS.get(cls)
        if found is not None:
            return found
    return None


# --- values <-> JSON -------------------------------------------------------------------------
_INLINE_KINDS = "biufcU"


class _Writer:
    """Encodes values; arrays of more than ``inline_max`` elements (or that JSON cannot hold
    exactly) are collected for an ``.npz``. ``inline_max=None``: every array inline;
    ``-1``: every array to the ``.npz``."""

    def __init__(self, inline_max: int | None):
        self.inline_max = inline_max
        self.arrays: dict[str, np.ndarray] = {}

    def value(self, v, where: str):
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, np.ndarray):
            return {"$array": self.array(v, where)}
        if isinstance(v, np.generic):
            return {"$scalar": self.scalar(v, where)}
        if isinstance(v, int):
            return int(v)
        if isinstance(v, float):
            return _float_out(v)
        if isinstance(v, complex):
            return {"$complex": [_float_out(v.real), _float_out(v.imag)]}
        if isinstance(v, list):
            return [self.value(x, f"{where}[{i}]") for i, x in enumerate(v)]
        if isinstance(v, tuple) and type(v) is tuple:
            return {"$tuple": [self.value(x, f"{where}[{i}]") for i, x in enumerate(v)]}
        if isinstance(v, (set, frozenset)):
            tag = "$frozenset" if isinstance(v, frozenset) else "$set"
            return {tag: [self.value(x, f"{where}{{}}") for x in v]}
        if type(v) is dict:
            if all(isinstance(key, str) and not key.startswith("$") for key in v):
                return {key: self.value(x, f"{where}.{key}") for key, x in v.items()}
            return {"$dict": [[self.value(key, f"{where}{{key}}"), self.value(x, f"{where}[{key!r}]")]
                              for key, x in v.items()]}
        codec = _codec_for(v)
        if codec is None:
            raise FileFormatError(
                f"cannot save {type(v).__module__}.{type(v).__qualname__} at {where}: not a "
                f"value type Kizuna saves (see kizuna._files.registered_types())"
            )
        return {"$type": codec.name, "data": self.value(codec.encode(v), f"{where}<{codec.name}>")}

    def scalar(self, v: np.generic, where: str) -> dict:
        if not _inlinable(v.dtype):
            raise FileFormatError(f"cannot save the NumPy scalar {v!r} (dtype {v.dtype}) at {where}")
        return {"dtype": v.dtype.str, "value": _flat_out(np.asarray(v).reshape(1), v.dtype)[0]}

    def array(self, a: np.ndarray, where: str) -> dict:
        dt = a.dtype
        if dt.kind == "O" or dt.hasobject:
            raise FileFormatError(f"cannot save an object array at {where} (dtype {dt}): store numbers")
        inlinable = _inlinable(dt)
        head = {"dtype": dt.str if dt.fields is None else dt.descr, "shape": list(a.shape)}
        if self.inline_max is None or (inlinable and a.size <= self.inline_max):
            if not inlinable:
                raise FileFormatError(
                    f"cannot write the {dt} array at {where} inline in JSON: save to a .npz path"
                )
            return {**head, "data": _flat_out(a.reshape(-1), dt)}
        key = f"a{len(self.arrays)}"
        self.arrays[key] = a
        return {**head, "npz": key}


def _inlinable(dt: np.dtype) -> bool:
    """Whether JSON numbers hold every value of ``dt`` exactly (no long double, no bytes)."""
    if dt.kind not in _INLINE_KINDS or dt.fields is not None:
        return False
    return dt.kind == "U" or dt.itemsize <= (16 if dt.kind == "c" else 8)


def _float_out(x: float):
    x = float(x)
    if math.isfinite(x):
        return x
    return {"$float": _non_finite(x)}


_QUIET_NAN = 0x7FF8000000000000


def _non_finite(x: float) -> str:
    """``"inf"``, ``"-inf"``, ``"nan"``, ``"-nan"``, or ``"nan:<16 hex digits>"`` (the IEEE bits
    of a NaN with a payload): every bit of a float comes back."""
    if not math.isnan(x):
        return "inf" if x > 0 else "-inf"
    bits = struct.unpack("<Q", struct.pack("<d", x))[0]
    if bits & ~(1 << 63) == _QUIET_NAN:
        return "-nan" if bits >> 63 else "nan"
    return f"nan:{bits:016x}"


def _float_in(x) -> float:
    if isinstance(x, str):
        if x.startswith("nan:"):
            return struct.unpack("<d", struct.pack("<Q", int(x[4:], 16)))[0]
        return float(x)  # "nan", "-nan", "inf", "-inf"
    return float(x)


def _flat_out(flat: np.ndarray, dt: np.dtype) -> list:
    kind = dt.kind
    if kind == "c":
        return [[_num_out(z.real), _num_out(z.imag)] for z in flat.tolist()]
    if kind == "f":
        return [_num_out(x) for x in flat.tolist()]
    return flat.tolist()  # bool, int, uint, str: exact as JSON


def _num_out(x: float):
    # inside arrays a non-finite float is the bare string of _non_finite (no tag per element)
    return x if math.isfinite(x) else _non_finite(x)


class _Reader:
    def __init__(self, source: str, npz: Mapping[str, np.ndarray] | None, npz_name: str | None):
        self.source = source
        self.npz = npz
        self.npz_name = npz_name

    def fail(self, where: str, message: str):
        raise FileFormatError(f"{self.source}: {where}: {message}")

    def value(self, v, where: str):
        if v is None or isinstance(v, (bool, str, int, float)):
            return v
        if isinstance(v, list):
            return [self.value(x, f"{where}[{i}]") for i, x in enumerate(v)]
        if not isinstance(v, dict):  # pragma: no cover - json gives no other type
            self.fail(where, f"unexpected JSON value {v!r}")
        tag = next((t for t in _TAGS if t in v), None)
        if tag is None:
            return {key: self.value(x, f"{where}.{key}") for key, x in v.items()}
        body = v[tag]
        try:
            if tag == "$tuple":
                return tuple(self.value(x, f"{where}[{i}]") for i, x in enumerate(body))
            if tag in ("$set", "$frozenset"):
                items = [self.value(x, f"{where}{{}}") for x in body]
                return frozenset(items) if tag == "$frozenset" else set(items)
            if tag == "$dict":
                return {self.value(key, f"{where}{{key}}"): self.value(x, f"{where}[{key!r}]") for key, x in body}
            if tag == "$float":
                return _float_in(body)
            if tag == "$complex":
                re, im = body
                return complex(_float_in(self.value(re, where)), _float_in(self.value(im, where)))
            if tag == "$scalar":
                dt = np.dtype(body["dtype"])
                return _flat_in([body["value"]], dt, (1,))[0]
            if tag == "$array":
                return self.array(body, where)
        except FileFormatError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            self.fail(where, f"malformed {tag} entry ({exc})")
        return self.obj(v, where)

    def array(self, body: dict, where: str) -> np.ndarray:
        descr = body["dtype"]
        dt = np.dtype(descr if isinstance(descr, str) else [tuple(f) for f in descr])
        shape = tuple(int(n) for n in body["shape"])
        if "npz" in body:
            if self.npz is None:
                self.fail(where, f"the array {body['npz']!r} lives in an .npz this document came without "
                                 "(read the file with kizuna.load, next to its .npz)")
            try:
                a = self.npz[body["npz"]]
            except KeyError:
                self.fail(where, f"array {body['npz']!r} is missing from {self.npz_name}")
            if a.dtype != dt or a.shape != shape:
                self.fail(where, f"array {body['npz']!r} in {self.npz_name} has dtype {a.dtype} and shape "
                                 f"{a.shape}, the document says {dt} and {shape}")
            return a
        return _flat_in(body["data"], dt, shape)

    def obj(self, v: dict, where: str):
        name = v["$type"]
        codec = _CODECS.get(name)
        if codec is None:
            self.fail(where, f"unknown type {name!r} (this Kizuna reads {', '.join(registered_types())})")
        data = self.value(v.get("data"), f"{where}<{name}>")
        return _decode(codec, data, self.source, where)


def _decode(codec: _Codec, data, source: str, where: str):
    try:
        return codec.decode(_class_of(codec), data)
    except FileFormatError:
        raise
    except (_errors.KizunaError, TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        raise FileFormatError(f"{source}: {where}: cannot rebuild {codec.name}: "
                              f"{type(exc).__name__}: {exc}") from exc


def _flat_in(data, dt: np.dtype, shape: tuple) -> np.ndarray:
    kind = dt.kind
    if kind == "c":
        flat = np.array([complex(_float_in(re), _float_in(im)) for re, im in data], dtype=dt)
    elif kind == "f":
        flat = np.array([_float_in(x) for x in data], dtype=dt)
    else:
        flat = np.array(data, dtype=dt)
    if flat.size != math.prod(shape):
        raise ValueError(f"{flat.size} values for shape {shape}")
    return flat.reshape(shape)


# --- documents -------------------------------------------------------------------------------
def _document(obj, writer: _Writer) -> dict:
    from . import __version__

    codec = _codec_for(obj)
    if codec is None:
        raise FileFormatError(
            f"cannot save a {type(obj).__module__}.{type(obj).__qualname__}: not a value type Kizuna "
            f"saves (types: {', '.join(registered_types())})"
        )
    data = writer.value(codec.encode(obj), "data")
    return {
        "kizuna_format": FORMAT,
        "type": codec.name,
        "kizuna_version": __version__,
        "numpy_version": np.__version__,
        "saved_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "data": data,
    }


def _dumps(doc: dict) -> str:
    return _pretty(doc, 0) + "\n"


def _pretty(v, depth: int) -> str:
    """JSON with one entry per line, except that a value printing in at most 100 characters
    (a row of numbers, a short instruction) stays on one line: readable and diffable."""
    flat = json.dumps(v, allow_nan=False, ensure_ascii=False, separators=(", ", ": "))
    if len(flat) + depth <= 100 or not isinstance(v, (dict, list)) or not v:
        return flat
    pad = " " * (depth + 1)
    if isinstance(v, dict):
        items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {_pretty(x, depth + 1)}" for k, x in v.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * depth + "}"
    items = [f"{pad}{_pretty(x, depth + 1)}" for x in v]
    return "[\n" + ",\n".join(items) + "\n" + " " * depth + "]"


def _read_document(doc, source: str, npz, npz_name):
    if not isinstance(doc, dict) or "kizuna_format" not in doc or "type" not in doc:
        raise FileFormatError(f"{source}: not a Kizuna file (no kizuna_format and type fields)")
    fmt = doc["kizuna_format"]
    if isinstance(fmt, bool) or not isinstance(fmt, int):
        raise FileFormatError(f"{source}: kizuna_format must be an integer (got {fmt!r})")
    if fmt > FORMAT:
        raise FileFormatError(
            f"{source}: written in Kizuna file format {fmt} by Kizuna {doc.get('kizuna_version', '?')}; "
            f"this Kizuna reads format {FORMAT} and older: upgrade kizuna"
        )
    name = doc["type"]
    codec = _CODECS.get(name)
    if codec is None:
        raise FileFormatError(f"{source}: unknown type {name!r} (this Kizuna reads {', '.join(registered_types())})")
    reader = _Reader(source, npz, npz_name)
    return _decode(codec, reader.value(doc.get("data"), "data"), source, "data")


def to_json(obj) -> str:
    """The JSON document of ``obj`` with every array inline (for small objects).

    Raises:
        FileFormatError: ``obj`` (or a value inside it) is not a type Kizuna saves.

    Example:
        >>> from kizuna import Circuit
        >>> from kizuna._files import from_json, to_json
        >>> c = Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
        >>> from_json(to_json(c)) == c
        True
    """
    return _dumps(_document(obj, _Writer(None)))


def from_json(text: str, *, source: str = "<string>"):
    """The object of a JSON document written by ``to_json`` (or a ``.json`` file of ``save``
    without a sidecar).

    Raises:
        FileFormatError: not JSON, not a Kizuna document, a newer format, an unknown type,
            or arrays that live in an ``.npz`` (use ``load``); the message starts with ``source``.
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"{source}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    return _read_document(doc, source, None, None)


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".npz")


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def save(obj, path: str | os.PathLike) -> None:
    """Write ``obj`` (any type of ``registered_types()``) to ``path``, atomically.

    ``path`` ending in ``.npz``: one archive with the JSON document and every array. Any other
    suffix: a JSON file, with arrays larger than ``INLINE_MAX`` elements in ``<path>.npz``,
    written first (see the module docstring). The object is encoded completely before anything
    is written: a save that fails leaves the existing files as they were.

    Raises:
        FileFormatError: ``obj`` (or a value inside it) is not a type Kizuna saves.
        OSError: the folder is not writable.

    Example:
        >>> import pathlib, tempfile, kizuna
        >>> from kizuna._files import load, save
        >>> r = kizuna.run(kizuna.Circuit(1, 1).h(0).measure(0, 0), shots=100, seed=7)
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "result.json"
        >>> save(r, p)
        >>> load(p) == r
        True
    """
    path = Path(path)
    if path.suffix.lower() == ".npz":
        writer = _Writer(-1)  # every array into the archive
        doc = _document(obj, writer)
        entries = dict(writer.arrays)
        entries[_JSON_ENTRY] = np.frombuffer(_dumps(doc).encode("utf-8"), dtype=np.uint8)
        atomic_write_bytes(path, _npz_bytes(entries))
        return
    writer = _Writer(INLINE_MAX)
    doc = _document(obj, writer)
    if writer.arrays:
        blob = _npz_bytes(writer.arrays)
        side = _sidecar(path)
        doc["arrays"] = {"file": side.name, "sha256": hashlib.sha256(blob).hexdigest(),
                         "entries": sorted(writer.arrays)}
        text = _dumps(doc)  # encoded before the first write
        atomic_write_bytes(side, blob)
        atomic_write_text(path, text)
    else:
        atomic_write_text(path, _dumps(doc))


def _open_npz(blob: bytes, source: str) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            return {key: z[key] for key in z.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise FileFormatError(f"{source}: not a readable .npz archive ({exc})") from None


def load(path: str | os.PathLike):
    """Read back an object written by ``save`` (its type is in the file).

    Raises:
        FileFormatError: a file that is not JSON (or not an ``.npz`` of ``save``), not a
            Kizuna document, of a newer format or an unknown type, whose ``.npz`` sidecar is
            missing or does not match, or whose content does not rebuild the object; the
            message names the file.
        FileNotFoundError: no file at ``path``.
    """
    path = Path(path)
    source = str(path)
    if path.suffix.lower() == ".npz":
        entries = _open_npz(path.read_bytes(), source)
        if _JSON_ENTRY not in entries:
            hint = ""
            if path.name.endswith(".npz") and Path(str(path)[: -len(".npz")]).exists():
                hint = f"; it is the arrays sidecar of {path.name[: -len('.npz')]}: load that file"
            raise FileFormatError(f"{source}: not a Kizuna archive (no {_JSON_ENTRY} entry{hint})")
        raw = entries.pop(_JSON_ENTRY)
        try:
            doc = json.loads(raw.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FileFormatError(f"{source}: its {_JSON_ENTRY} entry is not valid JSON ({exc})") from None
        return _read_document(doc, source, entries, source)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"{source}: not a text file ({exc})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"{source}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    npz = npz_name = None
    arrays = doc.get("arrays") if isinstance(doc, dict) else None
    if arrays is not None:
        if not isinstance(arrays, dict) or not isinstance(arrays.get("file"), str):
            raise FileFormatError(f"{source}: malformed 'arrays' field {arrays!r}")
        side = path.with_name(Path(arrays["file"]).name)
        npz_name = str(side)
        try:
            blob = side.read_bytes()
        except FileNotFoundError:
            raise FileFormatError(
                f"{source}: its arrays file {side.name} is missing (it must sit next to {path.name})"
            ) from None
        if hashlib.sha256(blob).hexdigest() != arrays.get("sha256"):
            raise FileFormatError(
                f"{source}: its arrays file {side.name} does not match (changed or written by another "
                "save); the saved arrays are lost"
            )
        npz = _open_npz(blob, npz_name)
    return _read_document(doc, source, npz, npz_name)
