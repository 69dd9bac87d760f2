"""Convert Clifford circuits between Kizuna and Stim: ``to_stim`` and ``from_stim``.

Bit order. Kizuna qubit ``k`` is Stim qubit ``k``; both give it the weight ``2**k`` in a
basis-state index (``stim.TableauSimulator.state_vector(endian="little")``). Measurement
records: Stim's record ``m`` is the ``m``-th measurement of the Kizuna program, in program
order. ``from_stim`` writes record ``m`` into clbit ``m`` of one classical register ``rec``;
for Kizuna's QEC experiments (``kizuna.computing.qec``) clbit ``m`` already is record ``m``.

``to_stim(circuit, noise)``: Clifford gates (every table gate at angles where it is a Clifford,
``unitary`` Clifford matrices) become Stim gates with the same tableau (equal up to a global
phase, which a stabilizer simulation does not track); ``measure`` is ``M``, ``reset`` is ``R``.
With a ``NoiseModel``, its Pauli gate errors become ``X_ERROR``/``Z_ERROR``/``Y_ERROR``,
``DEPOLARIZE1``/``DEPOLARIZE2`` (Kizuna's ``depolarizing(p)`` is Stim's ``DEPOLARIZE1(3p/4)``
and ``DEPOLARIZE2(15p/16)``: Stim's argument is the total probability of a non-identity Pauli),
``PAULI_CHANNEL_1``/``PAULI_CHANNEL_2``, or a chain of ``CORRELATED_ERROR``/
``ELSE_CORRELATED_ERROR`` for wider Pauli channels; a symmetric readout error
(``p01 == p10 == p``) becomes ``M(p)``. A ``MemoryExperiment`` converts with its own noise,
``QUBIT_COORDS``, ``DETECTOR`` (placed after the last measurement it reads, with its
coordinates) and ``OBSERVABLE_INCLUDE``. A condition on one clbit that a measurement wrote,
on a Pauli gate, becomes Stim feedback (``CX rec[-k] q``). Everything else -- a non-Clifford
gate, a non-Pauli channel, an asymmetric readout error, a condition on several bits or on a
non-Pauli gate -- raises ``InteropError`` naming it and its position.

``from_stim(stim_circuit, noise=...)``: ``REPEAT`` blocks are unrolled and ``SHIFT_COORDS``
applied (``stim.Circuit.flattened``). Stim gates become Kizuna table gates where one has the
same tableau (``SQRT_Y`` is ``ry(π/2)``, ``SQRT_XX`` is ``rxx(π/2)``, ``XCZ a b`` is
``cx(b, a)``) and exact Clifford ``unitary`` matrices otherwise (``C_XYZ``, ``ISWAP``, ...).
``MX``/``MY``/``RX``/``RY`` and the ``MR`` family are conjugated by basis changes; ``MPP``,
``MXX``, ``MYY``, ``MZZ`` measure Pauli products with a ladder of CX onto the product's last
qubit (non-destructive and exact), and ``SPP``/``SPP_DAG`` put ``s``/``sdg`` inside the same
ladder; an inverted target ``!q`` is an X before and after the
measurement; ``MPAD 0`` is a record that stays 0. Feedback ``CX rec[-k] q`` (also ``CY``, ``CZ``,
``XCZ``, ``YCZ``) is a Kizuna ``x``/``y``/``z`` conditioned on clbit ``rec[k]``. ``TICK`` and
``QUBIT_COORDS`` are dropped from the ``Circuit``. Noise:

* ``noise="error"`` (default): a noise channel, or a measurement with a flip probability, raises
  ``InteropError``;
* ``noise="drop"``: noise is ignored (the ideal circuit);
* ``noise="program"``: a ``StimProgram`` comes back: the ideal ``circuit``, the noisy flat
  ``program`` (its instructions with ``ChannelOp`` noise, what ``StabilizerBackend`` samples, as
  ``MemoryExperiment.program``), the ``detectors`` and ``observables`` as record indices, and the
  coordinates. ``M(p)`` becomes a flip before the measurement, which is exact only when the
  qubit is reset or unused afterwards (else ``InteropError``). ``ELSE_CORRELATED_ERROR`` and the
  heralded channels have no Kizuna form and raise.

This module imports ``stim`` only when called (``pip install 'kizuna[stim]'``); it imports
``kizuna.computing`` and nothing above ``interop``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache

import numpy as np

from .._optional import require
from ..computing._clifford import (
    clifford_map,
    gate_clifford_map,
    pauli_channel_probabilities,
)
from ..computing.circuit import Circuit, Condition, Instruction, flatten
from ..computing.noise import ChannelOp
from ..computing.parameters import ParameterExpression
from ..core.channels import pauli_channel
from ..core.random import SeedLike, resolve_seed
from ..errors import InteropError

__all__ = ["StimProgram", "from_stim", "to_stim"]

_PI = math.pi
_NOISE_MODES = ("error", "drop", "program")


def _stim():
    return require("stim", "stim")


# =============================================================================================
# to_stim
# =============================================================================================
#: Kizuna table gates that are one Stim gate by name.
_TO_STIM_NAMES = {
    "id": "I", "x": "X", "y": "Y", "z": "Z", "h": "H", "s": "S", "sdg": "S_DAG", "sx": "SQRT_X",
    "sxdg": "SQRT_X_DAG", "cx": "CX", "cy": "CY", "cz": "CZ", "swap": "SWAP",
}


@lru_cache(maxsize=1)
def _stim_gate_by_tableau() -> dict:
    """``str(tableau) -> stim gate name`` for Stim's one- and two-qubit unitary gates (first
    name wins, simple names first)."""
    stim = _stim()
    out: dict[str, str] = {}
    preferred = ["I", "X", "Y", "Z", "H", "S", "S_DAG", "SQRT_X", "SQRT_X_DAG", "SQRT_Y",
                 "SQRT_Y_DAG", "CX", "CY", "CZ", "SWAP"]
    names = preferred + sorted(n for n, g in stim.gate_data().items() if g.is_unitary and n not in preferred)
    for name in names:
        g = stim.gate_data(name)
        if not g.is_unitary or g.takes_pauli_targets:
            continue
        t = g.tableau
        out.setdefault(f"{len(t)}:{t}", name)
    return out


def _stim_ops_for_matrix(stim, u: np.ndarray, qubits: tuple[int, ...]) -> list[tuple[str, list[int]]]:
    """Stim gates (name, targets) with the tableau of the Clifford unitary ``u`` (little-endian
    over ``qubits``)."""
    t = stim.Tableau.from_unitary_matrix(_snap_clifford(u), endian="little")
    name = _stim_gate_by_tableau().get(f"{len(t)}:{t}")
    if name is not None:
        return [(name, list(qubits))]
    out = []
    for ins in t.to_circuit(method="elimination"):
        out.append((ins.name, [qubits[tg.value] for tg in ins.targets_copy()]))
    return out


def _snap_clifford(u: np.ndarray) -> np.ndarray:
    """``u`` with its global phase fixed and entries rounded to the values a Clifford matrix
    takes (0, ±1, ±1/√2, ±1/2 in each part), so Stim's exact recogniser accepts it."""
    u = np.asarray(u, dtype=np.complex128)
    k = int(np.argmax(np.abs(u.ravel())))
    z = u.ravel()[k]
    u = u * (abs(z) / z)
    grid = np.array([0.0, 0.5, 1 / math.sqrt(2), 1.0])

    def snap(x):
        s = np.sign(x)
        a = np.abs(x)
        idx = np.argmin(np.abs(a[..., None] - grid), axis=-1)
        return s * grid[idx]

    return snap(u.real) + 1j * snap(u.imag)


def _pauli_label_stim(x: int, z: int, k: int) -> list[str]:
    """Per-qubit Pauli letters (index j: the channel's qubit j) of the mask pair."""
    out = []
    for j in range(k):
        xb, zb = (x >> j) & 1, (z >> j) & 1
        out.append("IXZY"[xb | (zb << 1)])
    return out


def _emit_pauli_channel(stim, c, probs, qubits, where: str) -> None:
    """Append Stim noise for a Pauli channel ``[(x, z, p), ...]`` on ``qubits``."""
    k = len(qubits)
    errs = {"".join(_pauli_label_stim(x, z, k)): p for x, z, p in probs if (x or z)}
    errs = {lab: p for lab, p in errs.items() if p > 0}
    if not errs:
        return
    if k == 1:
        px, py, pz = (errs.get(s, 0.0) for s in "XYZ")
        if list(errs) == ["X"]:
            c.append("X_ERROR", qubits, [px])
        elif list(errs) == ["Z"]:
            c.append("Z_ERROR", qubits, [pz])
        elif list(errs) == ["Y"]:
            c.append("Y_ERROR", qubits, [py])
        elif len(errs) == 3 and math.isclose(px, py, rel_tol=1e-12) and math.isclose(px, pz, rel_tol=1e-12):
            c.append("DEPOLARIZE1", qubits, [px + py + pz])
        else:
            c.append("PAULI_CHANNEL_1", qubits, [px, py, pz])
        return
    if k == 2:
        labels = ["".join(t) for t in itertools.product("IXYZ", repeat=2)][1:]
        ps = [errs.get(lab, 0.0) for lab in labels]
        if len(errs) == 15 and max(ps) - min(ps) <= 1e-12 * max(ps):
            c.append("DEPOLARIZE2", qubits, [sum(ps)])
        else:
            c.append("PAULI_CHANNEL_2", qubits, ps)
        return
    # wider: E(p1) P1; ELSE_CORRELATED_ERROR(p2 / (1 - p1)) P2; ... is exactly the mixture
    rest = 1.0
    first = True
    for lab, p in errs.items():
        targets = [stim.target_x(q) if s == "X" else stim.target_y(q) if s == "Y" else stim.target_z(q)
                   for s, q in zip(lab, qubits) if s != "I"]
        c.append("CORRELATED_ERROR" if first else "ELSE_CORRELATED_ERROR", targets, [min(1.0, p / rest)])
        rest -= p
        first = False


def _program_of(circuit, noise):
    """``(program, num_qubits, readout per qubit, experiment or None)``."""
    exp = None
    if all(hasattr(circuit, a) for a in ("program", "detectors", "observables", "circuit", "detector_coords")):
        exp = circuit
        if noise is not None:
            raise InteropError("to_stim takes no noise= with a MemoryExperiment (it carries its own)")
        return list(exp.program), exp.num_qubits, {}, exp
    if isinstance(circuit, Circuit):
        flat = flatten(circuit, symbolic=True)  # unbound parameters: named below, as InteropError
        n = circuit.num_qubits
        if noise is None:
            return flat, n, {}, None
        for attr in ("lower", "readout_error", "is_ideal"):
            if not hasattr(noise, attr):
                raise InteropError(f"noise must be a kizuna NoiseModel or None (got {type(noise).__name__})")
        program = noise.lower(flat, n)
        readout = {}
        for q in range(n):
            err = noise.readout_error(q)
            if err is not None and not err.is_ideal:
                readout[q] = err
        return program, n, readout, None
    if isinstance(circuit, (list, tuple)):
        if noise is not None:
            raise InteropError("to_stim takes no noise= with a lowered program (it holds its noise)")
        n = 1 + max((q for item in circuit for q in getattr(item, "qubits", ())), default=-1)
        return list(circuit), n, {}, None
    raise InteropError(
        "to_stim takes a kizuna Circuit, a MemoryExperiment or a lowered program (list of "
        f"Instruction and ChannelOp) (got {type(circuit).__name__})"
    )


def to_stim(circuit, noise=None):
    """A ``stim.Circuit`` of a Clifford circuit, with Pauli noise.

    Args:
        circuit: a Kizuna ``Circuit`` (composite gates expanded, barriers dropped), a
            ``MemoryExperiment`` of ``kizuna.computing.qec`` (its noisy program, detectors,
            observables and coordinates), or a lowered program (``NoiseModel.lower`` output).
        noise: a ``NoiseModel`` with Pauli gate errors and symmetric readout errors, for a
            ``Circuit`` only.

    Returns:
        The Stim circuit on the same qubit indices; record ``m`` is the ``m``-th measurement.

    Raises:
        InteropError: a non-Clifford gate, a non-Pauli channel (idle relaxation included), an
            asymmetric readout error or a condition Stim feedback cannot express, naming it and
            its position; or stim is not installed.

    Example:
        >>> from kizuna import Circuit
        >>> print(to_stim(Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])))
        H 0
        CX 0 1
        M 0 1
    """
    stim = _stim()
    program, _, readout, exp = _program_of(circuit, noise)
    c = stim.Circuit()
    if exp is not None:
        coords = exp.qubit_coords
        items = coords.items() if isinstance(coords, Mapping) else enumerate(coords)
        for q, xy in sorted(items):
            c.append("QUBIT_COORDS", [q], list(xy))
        next_detector = 0  # detectors keep their indices: each goes in once it and all
        # before it can be (their records measured)
    record_of: dict[int, int] = {}  # clbit -> record of the measurement that last wrote it
    num_records = 0
    unitary_cache: dict = {}
    channel_cache: dict = {}
    for i, item in enumerate(program):
        if isinstance(item, ChannelOp):
            where = f"item {i} (channel {item.channel.name!r} on qubits {list(item.qubits)})"
            if item.condition is not None:
                raise InteropError(f"{where} is conditioned; Stim noise cannot be")
            key = id(item.channel)  # programs share one channel object across many places
            if key not in channel_cache:
                channel_cache[key] = (item.channel, pauli_channel_probabilities(item.channel.kraus))
            probs = channel_cache[key][1]
            if probs is None:
                raise InteropError(f"{where} is not a Pauli channel; to_stim converts Pauli noise only")
            _emit_pauli_channel(stim, c, probs, list(item.qubits), where)
            continue
        if not isinstance(item, Instruction):
            raise InteropError(f"item {i} of the program is not an Instruction or ChannelOp (got {item!r})")
        ins = item
        where = f"instruction {i} ({ins.label()} on qubits {list(ins.qubits)})"
        if ins.name == "barrier":
            continue
        if ins.name == "measure":
            if ins.condition is not None:
                raise InteropError(f"{where} is a conditioned measurement; Stim has none")
            q = ins.qubits[0]
            err = readout.get(q)
            if err is not None:
                if not math.isclose(err.p01, err.p10, rel_tol=1e-12, abs_tol=1e-15):
                    raise InteropError(
                        f"{where}: qubit {q} has an asymmetric readout error (p01={err.p01:g}, "
                        f"p10={err.p10:g}); Stim's M(p) flips both outcomes with one probability"
                    )
                c.append("M", [q], [err.p01])
            else:
                c.append("M", [q])
            record_of[ins.clbits[0]] = num_records
            num_records += 1
            while exp is not None and next_detector < len(exp.detectors) and \
                    max(exp.detectors[next_detector], default=-1) < num_records:
                recs = exp.detectors[next_detector]
                c.append("DETECTOR", [stim.target_rec(r - num_records) for r in recs],
                         list(exp.detector_coords[next_detector]))
                next_detector += 1
            continue
        if ins.name == "reset":
            if ins.condition is not None:
                raise InteropError(f"{where} is a conditioned reset; Stim has none")
            c.append("R", list(ins.qubits))
            continue
        # a gate
        if ins.name == "unitary":
            m = np.asarray(ins.matrix)
            key = (m.shape, m.tobytes())
            if key not in unitary_cache:
                unitary_cache[key] = clifford_map(m)
            cm = unitary_cache[key]
        else:
            if any(isinstance(p, ParameterExpression) for p in ins.params):
                raise InteropError(f"{where} has unbound parameters; bind them first")
            cm = gate_clifford_map(ins.name, tuple(float(p) for p in ins.params))
        if cm is None:
            raise InteropError(f"{where} is not a Clifford gate; to_stim converts Clifford circuits only")
        if ins.condition is not None:
            _emit_feedback(stim, c, ins, cm, record_of, num_records, where)
            continue
        if ins.name in _TO_STIM_NAMES:
            c.append(_TO_STIM_NAMES[ins.name], list(ins.qubits))
            continue
        for name, targets in _stim_ops_for_matrix(stim, ins.to_matrix(), ins.qubits):
            c.append(name, targets)
    if exp is not None:
        for d in range(next_detector, len(exp.detectors)):  # detectors reading no record
            c.append("DETECTOR", [stim.target_rec(r - num_records) for r in exp.detectors[d]],
                     list(exp.detector_coords[d]))
        for k, recs in enumerate(exp.observables):
            c.append("OBSERVABLE_INCLUDE", [stim.target_rec(r - num_records) for r in recs], [k])
    return c


def _emit_feedback(stim, c, ins, cm, record_of, num_records, where) -> None:
    cond = ins.condition
    if len(cond.clbits) != 1:
        raise InteropError(
            f"{where} is conditioned on {len(cond.clbits)} clbits ({cond}); Stim feedback reads "
            "one measurement record"
        )
    if not cm.is_pauli:
        raise InteropError(f"{where} is a conditioned non-Pauli gate; Stim feedback applies Paulis only")
    x, z = cm.pauli()
    letters = _pauli_label_stim(x, z, len(ins.qubits))
    (b,) = cond.clbits
    rec = record_of.get(b)
    if rec is None:  # never measured: the bit is 0
        if cond.value == 0:
            for s, q in zip(letters, ins.qubits):
                if s != "I":
                    c.append(s, [q])
        return
    for s, q in zip(letters, ins.qubits):
        if s == "I":
            continue
        if cond.value == 0:  # apply unless the record is 1: P, then P controlled by the record
            c.append(s, [q])
        c.append("C" + s, [stim.target_rec(rec - num_records), q])


# =============================================================================================
# from_stim
# =============================================================================================
@dataclass(frozen=True)
class StimProgram:
    """What ``from_stim(..., noise="program")`` returns.

    Attributes:
        circuit: the ideal Kizuna ``Circuit``; clbit ``m`` of register ``rec`` is record ``m``.
        program: the noisy flat program: ``circuit``'s instructions with ``ChannelOp`` noise,
            what ``StabilizerBackend.sample``/``sample_records`` take.
        detectors: per ``DETECTOR``, the record indices whose XOR it is.
        observables: per observable index, the record indices whose XOR it is.
        qubit_coords: ``{qubit: coordinates}`` from ``QUBIT_COORDS``.
        detector_coords: per detector, its coordinates (``SHIFT_COORDS`` applied).
    """

    circuit: Circuit = field(repr=False)
    program: tuple = field(repr=False)
    detectors: tuple[tuple[int, ...], ...] = field(repr=False)
    observables: tuple[tuple[int, ...], ...] = field(repr=False)
    qubit_coords: Mapping[int, tuple[float, ...]] = field(repr=False)
    detector_coords: tuple[tuple[float, ...], ...] = field(repr=False)

    @property
    def num_qubits(self) -> int:
        return self.circuit.num_qubits

    @property
    def num_measurements(self) -> int:
        return self.circuit.num_clbits

    def sample(self, shots: int, seed: SeedLike = None) -> np.ndarray:
        """Measurement records of ``shots`` noisy shots from Kizuna's stabilizer backend: a bool
        array ``(shots, num_measurements)``, ``out[s, m]`` is record ``m`` of shot ``s``."""
        from ..computing.backends.stabilizer import StabilizerBackend

        rng, _ = resolve_seed(seed)
        rec = StabilizerBackend(num_threads=1).sample_records(list(self.program), self.num_qubits, shots, rng)
        out = np.zeros((rec.shape[0], self.num_measurements), dtype=bool)
        out[:, : rec.shape[1]] = rec[:, : self.num_measurements]
        return out

    def sample_detectors(self, shots: int, seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
        """``(detection_events, observable_flips)`` of ``shots`` noisy shots: bool arrays
        ``(shots, len(detectors))`` and ``(shots, len(observables))``, as Stim's
        ``compile_detector_sampler().sample(shots, separate_observables=True)``."""
        rec = self.sample(shots, seed)

        def xor(groups):
            out = np.zeros((rec.shape[0], len(groups)), dtype=bool)
            for j, g in enumerate(groups):
                if g:
                    out[:, j] = np.bitwise_xor.reduce(rec[:, list(g)], axis=1)
            return out

        return xor(self.detectors), xor(self.observables)


_FROM_STIM_1Q = {
    "I": ("id", ()), "X": ("x", ()), "Y": ("y", ()), "Z": ("z", ()), "H": ("h", ()),
    "S": ("s", ()), "S_DAG": ("sdg", ()), "SQRT_X": ("sx", ()), "SQRT_X_DAG": ("sxdg", ()),
    "SQRT_Y": ("ry", (_PI / 2,)), "SQRT_Y_DAG": ("ry", (-_PI / 2,)),
}
_FROM_STIM_2Q = {
    "CX": ("cx", (), False), "CY": ("cy", (), False), "CZ": ("cz", (), False),
    "SWAP": ("swap", (), False), "XCZ": ("cx", (), True), "YCZ": ("cy", (), True),
    "SQRT_XX": ("rxx", (_PI / 2,), False), "SQRT_XX_DAG": ("rxx", (-_PI / 2,), False),
    "SQRT_YY": ("ryy", (_PI / 2,), False), "SQRT_YY_DAG": ("ryy", (-_PI / 2,), False),
    "SQRT_ZZ": ("rzz", (_PI / 2,), False), "SQRT_ZZ_DAG": ("rzz", (-_PI / 2,), False),
}
#: Feedback gates: name -> (Pauli applied, position of the classical control in the pair).
_FEEDBACK = {"CX": ("x", 0), "CY": ("y", 0), "CZ": ("z", 0), "XCZ": ("x", 1), "YCZ": ("y", 1)}
_NOISE_1Q = ("X_ERROR", "Y_ERROR", "Z_ERROR", "DEPOLARIZE1", "PAULI_CHANNEL_1")
_NOISE_2Q = ("DEPOLARIZE2", "PAULI_CHANNEL_2")


@cache
def _stim_unitary(name: str) -> np.ndarray:
    """Stim gate ``name``'s unitary (little-endian), snapped to exact Clifford entries."""
    stim = _stim()
    m = _snap_clifford(stim.Tableau.from_named_gate(name).to_unitary_matrix(endian="little"))
    m.setflags(write=False)
    return m


class _FromStim:
    def __init__(self, stim, flat, mode: str):
        self.stim = stim
        self.flat = flat
        self.mode = mode
        self.n = flat.num_qubits
        self.num_meas = flat.num_measurements
        self.out = Circuit(self.n)
        if self.num_meas:
            self.out.add_creg("rec", self.num_meas)
        self.program: list = []
        self.done = 0  # instructions of self.out already copied into program
        self.rec = 0
        self.detectors: list[tuple[int, ...]] = []
        self.detector_coords: list[tuple[float, ...]] = []
        self.observables: dict[int, set[int]] = {}
        self.qubit_coords: dict[int, tuple[float, ...]] = {}
        self.where = ""
        self.pos = 0

    def fail(self, msg):
        return InteropError(f"{self.where}: {msg}")

    # --- program bookkeeping ------------------------------------------------------------------
    def sync(self):
        ins = self.out.instructions
        self.program.extend(ins[self.done:])
        self.done = len(ins)

    def noise(self, channel, qubits):
        if self.mode == "error":
            raise self.fail(
                "a noise channel; pass noise='drop' to ignore noise or noise='program' to get the "
                "noisy program (see from_stim)"
            )
        if self.mode == "program":
            self.sync()
            self.program.append(ChannelOp(channel, tuple(qubits)))

    # --- measurement helpers ------------------------------------------------------------------
    def measure_z(self, q: int, invert: bool, flip_p: float, then_reset: bool):
        c = self.out
        if flip_p > 0:
            if self.mode == "error":
                raise self.fail(f"a measurement flip probability {flip_p:g}; pass noise='drop' or noise='program'")
            if self.mode == "program" and not then_reset and not self.unused_after(q):
                raise self.fail(
                    f"M({flip_p:g}) flips the record of qubit {q}, which is used afterwards: Kizuna "
                    "programs flip the state before a measurement, exact only when the qubit is "
                    "reset or unused afterwards"
                )
        if invert:
            c.x(q)
        if flip_p > 0:
            from ..core.channels import bit_flip

            self.noise(bit_flip(flip_p), (q,))
        c.measure(q, self.rec)
        self.rec += 1
        if invert and not then_reset:
            c.x(q)

    def unused_after(self, q: int) -> bool:
        """Whether qubit ``q`` is reset, or not touched again, after instruction ``pos``."""
        for ins in self.flat[self.pos + 1:]:
            g = self.stim.gate_data(ins.name)
            if ins.name in ("DETECTOR", "OBSERVABLE_INCLUDE", "QUBIT_COORDS", "TICK", "SHIFT_COORDS"):
                continue
            qs = [t.qubit_value for t in ins.targets_copy() if t.qubit_value is not None]
            if q in qs:
                return g.is_reset and not g.produces_measurements
        return True

    def basis_in(self, basis: str, q: int):
        """Rotate ``basis`` to Z on ``q`` (before a Z measurement)."""
        if basis == "X":
            self.out.h(q)
        elif basis == "Y":
            self.out.sdg(q).h(q)

    def basis_out(self, basis: str, q: int):
        if basis == "X":
            self.out.h(q)
        elif basis == "Y":
            self.out.h(q).s(q)

    def pauli_product(self, factors, invert: bool, flip_p: float):
        """Measure the product of ``[(letter, qubit)]`` non-destructively."""
        qs = [q for _, q in factors]
        if len(set(qs)) != len(qs):
            raise self.fail(f"a Pauli product acting twice on one qubit ({factors}); not converted")
        c = self.out
        for s, q in factors:
            self.basis_in(s, q)
        last = qs[-1]
        for q in qs[:-1]:
            c.cx(q, last)
        if flip_p > 0 and self.mode == "error":
            raise self.fail(f"a measurement flip probability {flip_p:g}; pass noise='drop' or noise='program'")
        if invert:
            c.x(last)
        if flip_p > 0 and self.mode == "program":
            raise self.fail("a Pauli-product measurement with a flip probability; Kizuna programs cannot flip only the record")
        c.measure(last, self.rec)
        self.rec += 1
        if invert:
            c.x(last)
        for q in reversed(qs[:-1]):
            c.cx(q, last)
        for s, q in reversed(factors):
            self.basis_out(s, q)

    def pauli_phase(self, factors, dagger: bool):
        """Stim's ``SPP``: phase the -1 eigenspace of the product by ``i`` (``-i`` for
        ``dagger``), as S on the product's last qubit inside the same CX ladder."""
        qs = [q for _, q in factors]
        if len(set(qs)) != len(qs):
            raise self.fail(f"a Pauli product acting twice on one qubit ({factors}); not converted")
        c = self.out
        for s, q in factors:
            self.basis_in(s, q)
        last = qs[-1]
        for q in qs[:-1]:
            c.cx(q, last)
        if dagger:
            c.sdg(last)
        else:
            c.s(last)
        for q in reversed(qs[:-1]):
            c.cx(q, last)
        for s, q in reversed(factors):
            self.basis_out(s, q)

    # --- the walk -----------------------------------------------------------------------------
    def run(self):
        stim = self.stim
        for pos, ins in enumerate(self.flat):
            self.pos = pos
            self.where = f"instruction {pos} ({ins})"
            name = stim.gate_data(ins.name).name
            args = ins.gate_args_copy()
            targets = ins.targets_copy()
            g = stim.gate_data(name)
            if name in ("TICK", "SHIFT_COORDS"):
                continue
            if name == "QUBIT_COORDS":
                for t in targets:
                    self.qubit_coords[t.value] = tuple(args)
                continue
            if name == "DETECTOR":
                self.detectors.append(tuple(self.absolute(t) for t in targets))
                self.detector_coords.append(tuple(args))
                continue
            if name == "OBSERVABLE_INCLUDE":
                k = int(args[0]) if args else 0
                obs = self.observables.setdefault(k, set())
                for t in targets:
                    if not t.is_measurement_record_target:
                        raise self.fail("OBSERVABLE_INCLUDE of Pauli targets has no Kizuna form")
                    obs.symmetric_difference_update({self.absolute(t)})
                continue
            if g.is_unitary and not g.takes_pauli_targets:
                self.unitary(name, g, targets)
            elif name in ("M", "MX", "MY", "MR", "MRX", "MRY"):
                basis = name[-1] if name[-1] in "XY" else "Z"
                reset = name.startswith("MR")
                p = args[0] if args else 0.0
                for t in targets:
                    q = t.value
                    self.basis_in(basis, q)
                    self.measure_z(q, t.is_inverted_result_target, p, reset)
                    if reset:
                        self.out.reset(q)
                    self.basis_out(basis, q)
            elif name in ("R", "RX", "RY"):
                for t in targets:
                    self.out.reset(t.value)
                    self.basis_out(name[-1] if name[-1] in "XY" else "Z", t.value)
            elif name in ("MXX", "MYY", "MZZ"):
                p = args[0] if args else 0.0
                for a, b in zip(targets[::2], targets[1::2]):
                    inv = a.is_inverted_result_target ^ b.is_inverted_result_target
                    self.pauli_product([(name[1], a.value), (name[1], b.value)], inv, p)
            elif name == "MPP":
                p = args[0] if args else 0.0
                for factors, inv in _products(targets):
                    self.pauli_product(factors, inv, p)
            elif name in ("SPP", "SPP_DAG"):
                for factors, inv in _products(targets):
                    self.pauli_phase(factors, (name == "SPP_DAG") ^ inv)
            elif name == "MPAD":
                for t in targets:
                    if t.value != 0:
                        raise self.fail("MPAD 1 (a record that is always 1) has no Kizuna form")
                    self.rec += 1  # the clbit is never written: it reads 0
            elif name in _NOISE_1Q or name in _NOISE_2Q or name in ("E", "I_ERROR", "II_ERROR"):
                self.noise_op(name, args, targets)
            else:
                raise self.fail(f"Stim instruction {name} has no Kizuna form")
        self.sync()
        return self

    def absolute(self, t) -> int:
        if not t.is_measurement_record_target:
            raise self.fail(f"target {t} is not a measurement record")
        return self.rec + t.value

    def unitary(self, name, g, targets):
        c = self.out
        if not g.is_two_qubit_gate:
            kz = _FROM_STIM_1Q.get(name)
            for t in targets:
                q = t.value
                if kz is not None:
                    c.gate(kz[0], [q], list(kz[1]))
                else:
                    c.unitary(_stim_unitary(name), [q])
            return
        if name == "II":
            return
        for a, b in zip(targets[::2], targets[1::2]):
            if a.is_sweep_bit_target or b.is_sweep_bit_target:
                raise self.fail("sweep-bit controls have no Kizuna form")
            rec_a, rec_b = a.is_measurement_record_target, b.is_measurement_record_target
            if rec_a or rec_b:
                self.feedback(name, a, b)
                continue
            kz = _FROM_STIM_2Q.get(name)
            if kz is not None:
                qs = [b.value, a.value] if kz[2] else [a.value, b.value]
                c.gate(kz[0], qs, list(kz[1]))
            else:
                c.unitary(_stim_unitary(name), [a.value, b.value])

    def feedback(self, name, a, b):
        if a.is_measurement_record_target and b.is_measurement_record_target:
            return  # classical-classical: Stim ignores it
        if name == "CZ" and b.is_measurement_record_target:
            a, b = b, a
            name = "CZ"
        spec = _FEEDBACK.get(name)
        if spec is None or not (a, b)[spec[1]].is_measurement_record_target:
            raise self.fail(f"{name} with a measurement-record target has no Kizuna form")
        pauli, pos = spec
        rec_t, q_t = ((a, b) if pos == 0 else (b, a))
        clbit = self.absolute(rec_t)
        if clbit < 0:
            raise self.fail(f"{rec_t} reaches before the first measurement")
        # Circuit.if_test compares whole registers; one clbit of 'rec' needs a Condition of its own
        ins = Instruction(pauli, (q_t.value,), condition=Condition("rec", (clbit,), 1))
        self.out.append_instruction(ins)

    def noise_op(self, name, args, targets):
        if name in ("I_ERROR", "II_ERROR"):
            return
        if name == "E":
            factors = [(("X" if t.is_x_target else "Y" if t.is_y_target else "Z"), t.value) for t in targets]
            qs = [q for _, q in factors]
            if len(set(qs)) != len(qs):
                raise self.fail("a correlated error acting twice on one qubit")
            label = "".join(s for s, _ in reversed(factors))  # Kizuna labels: qubit 0 rightmost
            if args[0] > 0:
                self.noise(pauli_channel({label: args[0]}), qs)
            return
        if all(a == 0 for a in args):
            return
        if name in _NOISE_1Q:
            if name == "PAULI_CHANNEL_1":
                probs = dict(zip("XYZ", args))
            elif name == "DEPOLARIZE1":
                probs = {s: args[0] / 3 for s in "XYZ"}
            else:
                probs = {name[0]: args[0]}
            ch = pauli_channel(probs, name=f"{name}({', '.join(f'{a:g}' for a in args)})")
            for t in targets:
                self.noise(ch, (t.value,))
            return
        labels = ["".join(t) for t in itertools.product("IXYZ", repeat=2)][1:]  # Stim: first letter on first target
        ps = [args[0] / 15] * 15 if name == "DEPOLARIZE2" else list(args)
        ch = pauli_channel({lab[::-1]: p for lab, p in zip(labels, ps)},
                           name=f"{name}({', '.join(f'{a:g}' for a in args)})")
        for a, b in zip(targets[::2], targets[1::2]):
            self.noise(ch, (a.value, b.value))


def _products(targets):
    """``[(factors, inverted)]`` of an MPP target list: factors ``[(letter, qubit)]``."""
    out = []
    cur: list = []
    inv = False
    expect_more = False
    for t in targets:
        if t.is_combiner:
            expect_more = True
            continue
        if cur and not expect_more:
            out.append((cur, inv))
            cur, inv = [], False
        letter = "X" if t.is_x_target else "Y" if t.is_y_target else "Z"
        cur.append((letter, t.value))
        inv ^= t.is_inverted_result_target
        expect_more = False
    if cur:
        out.append((cur, inv))
    return out


def from_stim(stim_circuit, *, noise: str = "error"):
    """A Kizuna circuit from a ``stim.Circuit`` (see the module docstring for the mapping).

    Args:
        stim_circuit: the Stim circuit (``REPEAT`` blocks are unrolled).
        noise: ``"error"`` (noise raises), ``"drop"`` (noise ignored) or ``"program"`` (return
            a ``StimProgram`` with the noisy program, detectors and observables).

    Returns:
        A ``Circuit`` whose clbit ``m`` (register ``rec``) is record ``m``; a ``StimProgram``
        for ``noise="program"``.

    Raises:
        InteropError: an instruction with no Kizuna form (``MPAD 1``, heralded noise,
            ``ELSE_CORRELATED_ERROR``, sweep-bit controls), noise with
            ``noise="error"``, a bad ``noise`` value, or stim is not installed; the message names
            the instruction and its position in the flattened circuit.

    Example:
        >>> import stim
        >>> c = from_stim(stim.Circuit("H 0\\nCNOT 0 1\\nM 0 1\\nCX rec[-1] 2"))
        >>> [(i.name, i.qubits, str(i.condition) if i.condition else "") for i in c]
        [('h', (0,), ''), ('cx', (0, 1), ''), ('measure', (0,), ''), ('measure', (1,), ''), ('x', (2,), 'if(rec==1)')]
    """
    stim = _stim()
    if not isinstance(stim_circuit, stim.Circuit):
        raise InteropError(f"from_stim takes a stim.Circuit (got {type(stim_circuit).__name__})")
    if noise not in _NOISE_MODES:
        raise InteropError(f"noise must be one of {', '.join(map(repr, _NOISE_MODES))} (got {noise!r})")
    conv = _FromStim(stim, stim_circuit.flattened(), noise).run()
    if noise != "program":
        return conv.out
    k = 1 + max(conv.observables, default=-1)
    return StimProgram(
        circuit=conv.out,
        program=tuple(conv.program),
        detectors=tuple(conv.detectors),
        observables=tuple(tuple(sorted(conv.observables.get(j, ()))) for j in range(k)),
        qubit_coords=dict(conv.qubit_coords),
        detector_coords=tuple(conv.detector_coords),
    )
