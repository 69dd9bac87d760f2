"""Job specs: check them at submission (``normalize_spec``) and run them (``execute``) by calling
Kizuna's public functions, the way the ``kizuna run / net / qkd / sense`` commands do.

A spec is a JSON object with a ``kind``:

* ``circuit``: ``qasm`` (OpenQASM 2 text), ``shots`` (default 1024), ``backend`` ("auto"),
  ``noise`` (a ``NoiseModel.to_dict()``) or ``device`` (a built-in device name, e.g.
  ``"line-5"``: transpile onto it and simulate its noise), ``memory``, ``max_bond``, ``seed``.
  Runs ``kizuna.run``; the result is ``Result.to_dict()``.
* ``network``: ``scenario`` (YAML or JSON text, or an object; see
  ``kizuna.networking.scenario``), optional ``duration_s``, ``seed``. Runs ``run_scenario``.
* ``qkd``: ``mode`` ``"simulate"`` (``run_qkd``: ``protocol``, ``distance_km``, ``link``,
  ``preset``, ``options``) or ``"rate"`` (``key_rate`` over a list of ``distance_km`` and
  ``max_distance_km``).
* ``sensing``: ``protocol`` ``"ramsey"`` (budget + seeded MLE check, as ``kizuna sense
  ramsey``), ``"nv"`` (``nv_sensitivity``) or ``"scaling"`` (``phase_uncertainty``), with
  ``params``.

Every spec carries a ``seed`` (the server draws one when the submitter gives none), so a
job that runs twice (its worker died) gives the same result. Results are made JSON-clean:
numpy scalars become Python numbers, ``nan`` and infinities become ``None``.

This module imports Kizuna's pillars lazily, inside the functions.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from ..errors import ServiceError

__all__ = ["KINDS", "Limits", "SpecError", "SpecTooLarge", "execute", "normalize_spec"]

KINDS = ("circuit", "network", "qkd", "sensing")

#: Largest signed 32-bit integer: seeds fit a portable INTEGER column.
MAX_SEED = 2**31 - 1


class SpecError(ServiceError):
    """A job spec that is malformed or asks for more than the server allows (HTTP 422)."""

    status_code = 422


class SpecTooLarge(ServiceError):
    """A job spec whose text is over the size limit (HTTP 413)."""

    status_code = 413


@dataclass(frozen=True)
class Limits:
    """Server-wide limits on what one job may ask for (a project's ``max_qubits`` can only
    lower ``max_qubits``).

    Attributes:
        max_qasm_bytes: UTF-8 bytes of OpenQASM text (413 above it).
        max_scenario_bytes: bytes of a network scenario (413 above it).
        max_qubits: qubits of a circuit (422 above it).
        max_shots: shots of a circuit (422 above it).
        max_qkd_pulses: pulses of a simulated QKD session.
        max_time_limit_s, default_time_limit_s: a job's wall-time limit, seconds.
    """

    max_qasm_bytes: int = 256_000
    max_scenario_bytes: int = 256_000
    max_qubits: int = 30
    max_shots: int = 1_000_000
    max_qkd_pulses: float = 2e9
    max_time_limit_s: float = 3600.0
    default_time_limit_s: float = 600.0


_CIRCUIT_KEYS = {"kind", "qasm", "shots", "backend", "noise", "device", "memory", "max_bond", "seed"}
_NETWORK_KEYS = {"kind", "scenario", "duration_s", "seed"}
_QKD_KEYS = {"kind", "mode", "protocol", "distance_km", "link", "preset", "options", "seed"}
_QKD_SIM_OPTIONS = {"duration_s", "num_pulses", "repetition_rate_hz", "mu", "weak_intensity", "vacuum_intensity",
                    "x_basis_probability", "chsh_fraction", "attack", "attack_fraction", "qber_threshold",
                    "epsilon_sec", "epsilon_cor"}
_QKD_RATE_OPTIONS = {"mu", "nu"}
_SENSING_KEYS = {"kind", "protocol", "params", "seed"}
_SENSING_PARAMS = {
    "ramsey": {"t2_s", "shots", "repetitions"},
    "nv": {"coherence_time_s", "mode", "interrogation_time_s", "overhead_s", "readout_fidelity", "stretch"},
    "scaling": {"probe", "n"},
}


def _check_keys(spec: dict, allowed: set, where: str) -> None:
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}; "
                        f"expected some of {', '.join(sorted(allowed))}")


def _int(spec: dict, key: str, default, lo: int, hi: int, where: str):
    value = spec.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{where}: {key} must be an integer (got {value!r})")
    if not lo <= value <= hi:
        raise SpecError(f"{where}: {key} must be in [{lo}, {hi}] (got {value})")
    return value


def _number(value, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(f"{where}: {key} must be a finite number (got {value!r})")
    return float(value)


def normalize_spec(spec, limits: Limits, *, max_qubits: int | None = None) -> tuple[dict, int]:
    """Check a submitted spec; return ``(spec, num_qubits)`` with defaults filled in (the seed
    stays ``None`` when not given; the caller draws it).

    Raises:
        SpecTooLarge: QASM or scenario text over the byte limit.
        SpecError: an unknown kind or field, a bad value, more qubits or shots than allowed,
            QASM that does not parse (the message carries ``line:col``).
    """
    if not isinstance(spec, dict):
        raise SpecError(f"a job spec must be a JSON object (got {type(spec).__name__})")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise SpecError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
    out = dict(spec)
    out["seed"] = _int(spec, "seed", None, 0, MAX_SEED, kind)
    cap = limits.max_qubits if max_qubits is None else min(max_qubits, limits.max_qubits)
    if kind == "circuit":
        return _normalize_circuit(out, limits, cap)
    if kind == "network":
        _check_keys(spec, _NETWORK_KEYS, "network")
        scenario = spec.get("scenario")
        text = scenario if isinstance(scenario, str) else json.dumps(scenario)
        if len(text.encode("utf-8")) > limits.max_scenario_bytes:
            raise SpecTooLarge(f"network: scenario is {len(text.encode('utf-8'))} bytes; "
                               f"at most {limits.max_scenario_bytes}")
        if spec.get("duration_s") is not None:
            d = _number(spec["duration_s"], "duration_s", "network")
            if d <= 0:
                raise SpecError(f"network: duration_s must be > 0 (got {d!r})")
        _load_scenario(out)  # raises SpecError naming the field
        return out, 0
    if kind == "qkd":
        return _normalize_qkd(out, limits), 0
    _check_keys(spec, _SENSING_KEYS, "sensing")
    protocol = spec.get("protocol")
    if protocol not in _SENSING_PARAMS:
        raise SpecError(f"sensing: protocol must be one of {', '.join(_SENSING_PARAMS)} (got {protocol!r})")
    params = spec.get("params") or {}
    if not isinstance(params, dict):
        raise SpecError(f"sensing: params must be an object (got {params!r})")
    _check_keys(params, _SENSING_PARAMS[protocol], f"sensing {protocol} params")
    if protocol == "ramsey":
        _int(params, "shots", 10_000, 1, limits.max_shots, "sensing ramsey")
        _int(params, "repetitions", 1000, 0, 100_000, "sensing ramsey")
    out["params"] = params
    return out, 0


def _normalize_circuit(out: dict, limits: Limits, cap: int) -> tuple[dict, int]:
    import kizuna
    from kizuna.errors import KizunaError

    _check_keys(out, _CIRCUIT_KEYS, "circuit")
    qasm = out.get("qasm")
    if not isinstance(qasm, str):
        raise SpecError(f"circuit: qasm must be OpenQASM 2 text (got {type(qasm).__name__})")
    size = len(qasm.encode("utf-8"))
    if size > limits.max_qasm_bytes:
        raise SpecTooLarge(f"circuit: qasm is {size} bytes; at most {limits.max_qasm_bytes}")
    out["shots"] = _int(out, "shots", 1024, 1, limits.max_shots, "circuit")
    out["max_bond"] = _int(out, "max_bond", None, 1, 1 << 20, "circuit")
    out.setdefault("backend", "auto")
    out["memory"] = bool(out.get("memory", False))
    if out.get("noise") is not None and out.get("device") is not None:
        raise SpecError("circuit: give noise or device, not both (a device brings its own noise)")
    try:
        circuit = kizuna.qasm2.loads(qasm)
    except KizunaError as exc:
        raise SpecError(f"circuit: {exc}") from None
    if circuit.num_qubits > cap:
        raise SpecError(f"circuit: {circuit.num_qubits} qubits; this project may use at most {cap}")
    if circuit.num_clbits == 0:
        raise SpecError("circuit: it has no classical bits, so there is nothing to count; measure into a creg")
    try:
        if out.get("noise") is not None:
            kizuna.NoiseModel.from_dict(out["noise"])
        if out.get("device") is not None:
            device = kizuna.Device.builtin(str(out["device"]))
            if device.num_qubits > 4 * cap:
                raise SpecError(f"circuit: device {out['device']!r} has {device.num_qubits} qubits; at most "
                                f"{4 * cap}")
    except KizunaError as exc:
        raise SpecError(f"circuit: {exc}") from None
    return out, circuit.num_qubits


def _normalize_qkd(out: dict, limits: Limits) -> dict:
    from kizuna.networking.qkd import PROTOCOLS

    _check_keys(out, _QKD_KEYS, "qkd")
    mode = out.setdefault("mode", "simulate")
    if mode not in ("simulate", "rate"):
        raise SpecError(f"qkd: mode must be 'simulate' or 'rate' (got {mode!r})")
    protocol = out.setdefault("protocol", "bb84-decoy")
    if protocol not in PROTOCOLS:
        raise SpecError(f"qkd: protocol must be one of {', '.join(PROTOCOLS)} (got {protocol!r})")
    if out.setdefault("preset", "modern") not in ("modern", "gys"):
        raise SpecError(f"qkd: preset must be 'modern' or 'gys' (got {out['preset']!r})")
    link = out.get("link") or {}
    if not isinstance(link, dict):
        raise SpecError(f"qkd: link must be an object of QKDLink fields (got {link!r})")
    options = out.get("options") or {}
    if not isinstance(options, dict):
        raise SpecError(f"qkd: options must be an object (got {options!r})")
    _check_keys(options, _QKD_SIM_OPTIONS if mode == "simulate" else _QKD_RATE_OPTIONS, f"qkd {mode} options")
    out["link"], out["options"] = link, options
    try:
        _qkd_link(out)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"qkd: link: {exc}") from None
    distance = out.setdefault("distance_km", 50.0 if mode == "simulate" else [0.0, 50.0, 100.0])
    if mode == "rate":
        if not isinstance(distance, list) or not 1 <= len(distance) <= 10_000:
            raise SpecError(f"qkd rate: distance_km must be a list of 1 to 10000 numbers (got {distance!r})")
        for d in distance:
            _number(d, "distance_km", "qkd rate")
    else:
        _number(distance, "distance_km", "qkd")
        pulses = options.get("num_pulses")
        if pulses is None:
            pulses = _number(options.get("duration_s", 1.0), "duration_s", "qkd") * _number(
                options.get("repetition_rate_hz", 80e6), "repetition_rate_hz", "qkd")
        if not 0 < pulses <= limits.max_qkd_pulses:
            raise SpecError(f"qkd: {pulses:.3g} pulses; must be > 0 and at most {limits.max_qkd_pulses:.3g}")
    return out


def _qkd_link(spec: dict):
    import dataclasses

    from kizuna.networking.qkd import QKDLink

    base = QKDLink.gys() if spec.get("preset") == "gys" else QKDLink.modern()
    return dataclasses.replace(base, **(spec.get("link") or {}))


def _load_scenario(spec: dict):
    import dataclasses

    from kizuna.errors import KizunaError
    from kizuna.networking.scenario import Scenario

    data = spec.get("scenario")
    if isinstance(data, str):
        import yaml

        try:
            data = yaml.safe_load(data)
        except yaml.YAMLError as exc:
            raise SpecError(f"network: scenario is not valid YAML or JSON: {str(exc).splitlines()[0]}") from None
    try:
        scenario = Scenario.from_dict(data, source="scenario")
    except (KizunaError, TypeError, AttributeError) as exc:
        raise SpecError(f"network: {exc}") from None
    if spec.get("duration_s") is not None:
        scenario = dataclasses.replace(scenario, duration_s=float(spec["duration_s"]))
    return scenario


def clean_json(value):
    """``value`` with numpy scalars and arrays as Python values and non-finite floats as ``None``.

    Example:
        >>> clean_json({"a": float("nan"), "b": (1, 2.5)})
        {'a': None, 'b': [1, 2.5]}
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if tolist is not None:
        return clean_json(tolist())
    return str(value)


#: Circuit jobs of more shots than this run as chunks of this many shots, each with a seed
#: spawned in chunk order (``kizuna.run_batch``), on the worker's Dask cluster when it has one,
#: else one after another: the counts depend on the seed only, never on where chunks ran.
SHOT_CHUNK = 100_000


def execute(spec: dict, progress=None, executor=None) -> tuple[dict, dict]:
    """Run a normalized spec; return ``(result, provenance)``, both JSON-clean.

    ``progress`` (optional) is called with a fraction in [0, 1] where the job reports it.
    ``executor`` (optional, e.g. a Dask ``client.get_executor()``) takes the shot chunks of a
    circuit job of more than ``SHOT_CHUNK`` shots.

    Raises:
        KizunaError: whatever the underlying function raises for bad parameters.
    """
    kind = spec["kind"]
    seed = spec.get("seed")
    if kind == "circuit":
        import kizuna

        circuit = kizuna.qasm2.loads(spec["qasm"])
        model = kizuna.NoiseModel.from_dict(spec["noise"]) if spec.get("noise") is not None else None
        transpiled = None
        if spec.get("device") is not None:
            device = kizuna.Device.builtin(spec["device"])
            transpiled = kizuna.transpile(circuit, device, seed=seed)
            circuit = transpiled.compact()
            model = kizuna.NoiseModel.from_device(device.subset(transpiled.active_qubits))
        options = {"max_bond": spec["max_bond"]} if spec.get("max_bond") is not None else None
        run_options = {"memory": spec.get("memory", False), "backend": spec.get("backend", "auto"),
                       "noise": model, "backend_options": options}
        if spec["shots"] > SHOT_CHUNK:
            (result,) = kizuna.run_batch(circuit, spec["shots"], seed, shots_per_task=SHOT_CHUNK,
                                         executor=executor, **run_options)
        else:
            result = kizuna.run(circuit, shots=spec["shots"], seed=seed, **run_options)
        doc = result.to_dict()
        if transpiled is not None:
            doc["transpiled"] = {k: v for k, v in transpiled.to_dict().items() if k != "circuit_qasm"}
        return clean_json(doc), {"backend": result.backend}
    if kind == "network":
        from kizuna.networking.scenario import run_scenario

        result = run_scenario(_load_scenario(spec), seed=seed, progress=progress)
        return clean_json(result.to_dict()), {"backend": "networking.run_scenario"}
    if kind == "qkd":
        from kizuna.networking.qkd import key_rate, max_distance_km, run_qkd

        link = _qkd_link(spec)
        options = dict(spec.get("options") or {})
        if spec["mode"] == "rate":
            points = [key_rate(spec["protocol"], float(d), link, **options).to_dict() for d in spec["distance_km"]]
            reach = max_distance_km(spec["protocol"], link, **options)
            doc = {"protocol": spec["protocol"], "link": link.to_dict(), "points": points, "max_distance_km": reach}
            return clean_json(doc), {"backend": "networking.qkd.key_rate"}
        result = run_qkd(spec["protocol"], float(spec["distance_km"]), link, keep_keys=False, seed=seed, **options)
        return clean_json(result.to_dict()), {"backend": "networking.qkd.run_qkd"}
    return _execute_sensing(spec), {"backend": f"sensing.{spec['protocol']}"}


def _execute_sensing(spec: dict) -> dict:
    from kizuna import sensing

    params = dict(spec.get("params") or {})
    protocol = spec["protocol"]
    if protocol == "nv":
        return clean_json(sensing.nv_sensitivity(params.pop("coherence_time_s", 1e-6), **params).to_dict())
    if protocol == "scaling":
        probe = params.get("probe", "ghz")
        ns = params.get("n", [2, 4, 8, 16])
        return clean_json({"probe": probe, "points": [
            {"n": k, "delta_phi": sensing.phase_uncertainty(int(k), probe), "sql": 1 / math.sqrt(k),
             "heisenberg": 1 / k} for k in ns]})
    t2_s = params.get("t2_s", 1e-4)
    shots = params.get("shots", 10_000)
    repetitions = params.get("repetitions", 1000)
    budget = sensing.ramsey(t2_s, shots)
    doc = budget.to_dict()
    if repetitions:
        import numpy as np

        t = budget.optimal_time_s
        omega = math.pi / 2 / t  # the fringe's quadrature point, as `kizuna sense ramsey`
        rng = np.random.default_rng(spec.get("seed"))
        counts = sensing.simulate_ramsey_counts(omega, t, t2_s, shots, repetitions=repetitions, seed=rng)
        est = sensing.ramsey_mle(counts, shots, t, t2_s)
        std = float(est.std(ddof=1)) if repetitions > 1 else float("nan")
        doc["mle"] = {"true_detuning_rad_s": omega, "repetitions": repetitions, "seed": spec.get("seed"),
                      "mean_rad_s": float(est.mean()), "std_rad_s": std,
                      "std_over_cramer_rao": std / budget.frequency_uncertainty_rad_s}
    return clean_json(doc)
