"""Noise models: gate errors, idle relaxation and readout errors, and their lowering onto a
flat instruction list.

A ``NoiseModel`` holds

* **gate errors** -- a ``Channel`` attached to a gate name on every qubit tuple
  (``add_all_qubit_error``) or on given qubits (``add_quantum_error``). A channel on given
  qubits replaces the all-qubit channel of that gate there (as in Qiskit Aer). The names are
  the gate table's (``kizuna.core.gates.GATES``), ``"unitary"`` (per width) and the two
  non-unitary operations ``"measure"`` (the channel acts just *before* the measurement) and
  ``"reset"`` (just *after* it);
* **readout errors** -- a ``ReadoutError`` per qubit or for every qubit, applied by the
  backends to each recorded bit of a measurement on that qubit;
* **idle relaxation** -- T1/T2 per qubit (or for every qubit) and gate durations: ``lower``
  schedules the program as soon as possible and inserts ``thermal_relaxation`` over every gap
  in which a qubit waits for the others (see ``NoiseModel.lower``).

``NoiseModel.lower(flatten(circuit), num_qubits)`` turns a circuit into the noisy program the
backends run: the same instructions in order with ``ChannelOp`` entries inserted.
``NoiseModel.from_device(device)`` builds the usual model of a calibrated device (as Qiskit
Aer's ``NoiseModel.from_backend``). Models round-trip through JSON (``to_dict``/``save``) and
carry a content hash (``sha256``) for result provenance.

This module imports ``core`` and ``computing.circuit``; nothing above.
"""

from __future__ import annotations

import copy as _copy
import hashlib
import json
import math
import numbers
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core._io import atomic_write_text
from ..core.channels import (
    Channel,
    ChannelError,
    ReadoutError,
    depolarizing,
    readout_error,
    thermal_relaxation,
)
from ..core.gates import GATES
from ..errors import NoiseModelError
from .circuit import Condition, Instruction

__all__ = ["ChannelOp", "NoiseModel", "NoiseModelError"]

#: Names of the operations that are not table gates but may carry errors.
_EXTRA_NAMES = ("measure", "reset", "unitary")
#: Idle gaps shorter than this (seconds) are float round-off of the schedule, not idling.
MIN_IDLE_S = 1e-15
#: Planck constant over Boltzmann constant, in kelvin seconds (both exact in the SI).
_H_OVER_KB = 6.62607015e-34 / 1.380649e-23

_FORMAT = "kizuna.noise_model"
_VERSION = 1


@dataclass(frozen=True)
class ChannelOp:
    """A noise channel applied to ``qubits`` at one point of a noisy program.

    ``channel.num_qubits == len(qubits)``; the channel's matrices are little-endian over
    ``qubits``. ``condition`` (as on an ``Instruction``) applies it only when the classical
    condition holds (the noise of a conditioned gate).

    Raises:
        NoiseModelError: a width mismatch or bad qubit indices.

    Example:
        >>> from kizuna.core.channels import bit_flip
        >>> ChannelOp(bit_flip(0.1), (3,))
        ChannelOp(channel=Channel('bit_flip(0.1)', 1 qubit, 2 Kraus), qubits=(3,), condition=None)
    """

    channel: Channel
    qubits: tuple[int, ...]
    condition: Condition | None = None

    def __post_init__(self):
        if not isinstance(self.channel, Channel):
            raise NoiseModelError(f"ChannelOp needs a Channel (got {type(self.channel).__name__})")
        qubits = _qubit_tuple(self.qubits, "ChannelOp qubits")
        if len(qubits) != self.channel.num_qubits:
            raise NoiseModelError(
                f"channel {self.channel.name!r} acts on {self.channel.num_qubits} qubit(s) but "
                f"ChannelOp qubits are {list(qubits)}"
            )
        if self.condition is not None and not isinstance(self.condition, Condition):
            raise NoiseModelError(f"condition must be a Condition or None (got {self.condition!r})")
        object.__setattr__(self, "qubits", qubits)


# --- validation helpers ----------------------------------------------------------------------
def _qubit_tuple(qubits, what: str) -> tuple[int, ...]:
    if type(qubits) is tuple and all(type(q) is int and q >= 0 for q in qubits) and len(set(qubits)) == len(qubits):
        return qubits  # the common case, from Instructions: nothing to convert
    if isinstance(qubits, numbers.Integral) and not isinstance(qubits, bool):
        qubits = (qubits,)
    try:
        out = tuple(qubits)
    except TypeError:
        raise NoiseModelError(f"{what} must be a sequence of qubit indices (got {qubits!r})") from None
    for q in out:
        if isinstance(q, bool) or not isinstance(q, numbers.Integral) or q < 0:
            raise NoiseModelError(f"{what} must be non-negative integers (got {list(out)!r})")
    out = tuple(int(q) for q in out)
    if len(set(out)) != len(out):
        raise NoiseModelError(f"{what} must be distinct (got {list(out)})")
    return out


def _names(gate_names) -> list[str]:
    if isinstance(gate_names, str):
        gate_names = [gate_names]
    try:
        names = list(gate_names)
    except TypeError:
        raise NoiseModelError(f"gate_names must be a name or a list of names (got {gate_names!r})") from None
    if not names:
        raise NoiseModelError("gate_names is empty; name at least one gate")
    for n in names:
        if not isinstance(n, str) or (n not in GATES and n not in _EXTRA_NAMES):
            raise NoiseModelError(
                f"unknown gate name {n!r} in gate_names; expected a gate of kizuna.core.gates.GATES "
                f"or one of {', '.join(_EXTRA_NAMES)} (noise attaches to flattened circuits, so "
                f"composite gates are seen as their table gates)"
            )
    return names


def _arity(name: str) -> int | None:
    """Qubits of a named operation; ``None`` for ``unitary`` (any width)."""
    if name in ("measure", "reset"):
        return 1
    if name == "unitary":
        return None
    return GATES[name].num_qubits


def _check_width(name: str, channel: Channel) -> None:
    k = _arity(name)
    if k is not None and channel.num_qubits != k:
        raise NoiseModelError(
            f"gate {name!r} acts on {k} qubit(s) but channel {channel.name!r} acts on "
            f"{channel.num_qubits}; use channel.tensor(...) to build a {k}-qubit channel"
        )


def _seconds(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise NoiseModelError(f"{name} must be a number of seconds (got {value!r})")
    x = float(value)
    if not (math.isfinite(x) and x >= 0):
        raise NoiseModelError(f"{name} must be a finite time >= 0 in seconds (got {x!r})")
    return x


def _time_to_json(x: float):
    return "inf" if math.isinf(x) else x


def _time_from_json(x) -> float:
    return math.inf if x == "inf" else float(x)


@dataclass(frozen=True)
class _Relaxation:
    t1_s: float
    t2_s: float
    excited_population: float


# --- the model -------------------------------------------------------------------------------
class NoiseModel:
    """Gate, idle and readout errors for noisy simulation.

    A noise model is built step by step, as in Qiskit Aer (``add_*`` methods change it in
    place and return it, so calls chain); ``copy()`` gives an independent one. Equality,
    ``sha256`` and JSON depend on the content only, not on the order of the calls that built it.

    Example:
        >>> import kizuna
        >>> from kizuna.core import channels
        >>> model = (NoiseModel()
        ...          .add_all_qubit_error(channels.depolarizing(0.01, num_qubits=2), ["cx"])
        ...          .add_readout_error(channels.readout_error(0.02, 0.05)))
        >>> program = model.lower(kizuna.computing.circuit.flatten(kizuna.Circuit(2).h(0).cx(0, 1)), 2)
        >>> [getattr(op, "name", None) or op.channel.name for op in program]
        ['h', 'cx', 'depolarizing(0.01, 2q)']
        >>> model.readout_error(1).p10
        0.05
    """

    def __init__(self):
        # (gate name, width) -> channel; width only varies for "unitary"
        self._all_qubit: dict[tuple[str, int], Channel] = {}
        # (gate name, qubits) -> channel
        self._local: dict[tuple[str, tuple[int, ...]], Channel] = {}
        self._readout_all: ReadoutError | None = None
        self._readout_local: dict[int, ReadoutError] = {}
        self._relax_all: _Relaxation | None = None
        self._relax_local: dict[int, _Relaxation] = {}
        self._duration_all: dict[str, float] = {}
        self._duration_local: dict[tuple[str, tuple[int, ...]], float] = {}

    # --- building -----------------------------------------------------------------------------
    def add_all_qubit_error(self, channel: Channel, gate_names) -> NoiseModel:
        """Attach ``channel`` after every application of the named gates, on any qubits.

        The channel's matrices are little-endian over the gate's qubits in argument order
        (``cx(c, t)``: ``c`` is the low qubit). Adding a second channel to the same gate
        composes it after the first. ``"measure"`` channels act before the measurement,
        ``"reset"`` channels after the reset; a ``"unitary"`` channel applies to unitary
        instructions of its own width.

        Args:
            channel: the error channel; as wide as the gates.
            gate_names: a name or a list of names (``"cx"``, ``["sx", "x"]``, ``"measure"``).

        Returns:
            This model.

        Raises:
            NoiseModelError: an unknown gate name or a channel of the wrong width.
        """
        channel = self._check_channel(channel)
        for name in _names(gate_names):
            _check_width(name, channel)
            key = (name, channel.num_qubits)
            old = self._all_qubit.get(key)
            self._all_qubit[key] = channel if old is None else old.compose(channel)
        return self

    def add_quantum_error(self, channel: Channel, gate_names, qubits: Sequence[int]) -> NoiseModel:
        """Attach ``channel`` after the named gates applied to exactly ``qubits`` (in that
        order: ``cx(0, 1)`` and ``cx(1, 0)`` are different). It replaces the all-qubit error
        of those gates there, as in Qiskit Aer; a second channel on the same gate and qubits
        composes after the first.

        Args:
            channel: the error channel, little-endian over ``qubits``.
            gate_names: a name or a list of names.
            qubits: the gate's qubits, ``len(qubits) == channel.num_qubits``.

        Returns:
            This model.

        Raises:
            NoiseModelError: unknown gate, a width mismatch, or bad qubit indices.
        """
        channel = self._check_channel(channel)
        qs = _qubit_tuple(qubits, "qubits")
        if len(qs) != channel.num_qubits:
            raise NoiseModelError(
                f"channel {channel.name!r} acts on {channel.num_qubits} qubit(s) but qubits "
                f"are {list(qs)}"
            )
        for name in _names(gate_names):
            _check_width(name, channel)
            old = self._local.get((name, qs))
            self._local[(name, qs)] = channel if old is None else old.compose(channel)
        return self

    def add_readout_error(self, error: ReadoutError, qubits: Iterable[int] | int | None = None) -> NoiseModel:
        """Attach a readout error to every qubit (``qubits=None``) or to each listed qubit.

        A qubit's own error replaces the every-qubit one; a second error on the same qubit(s)
        composes after the first (``matrix = new @ old``).

        Args:
            error: a ``ReadoutError`` (one qubit; ``readout_error(p01, p10)`` builds one).
            qubits: ``None``, a qubit index, or qubit indices.

        Returns:
            This model.

        Raises:
            NoiseModelError: not a ``ReadoutError`` or bad qubit indices.
        """
        if not isinstance(error, ReadoutError):
            raise NoiseModelError(
                f"error must be a ReadoutError (got {type(error).__name__}); build one with "
                f"kizuna.core.channels.readout_error(p01, p10)"
            )
        if qubits is None:
            old = self._readout_all
            self._readout_all = error if old is None else old.compose(error)
            return self
        for q in _qubit_tuple(qubits, "qubits"):
            old = self._readout_local.get(q)
            self._readout_local[q] = error if old is None else old.compose(error)
        return self

    def set_idle_relaxation(
        self,
        t1_s: float,
        t2_s: float,
        qubits: Iterable[int] | int | None = None,
        *,
        excited_population: float = 0.0,
    ) -> NoiseModel:
        """Let idle qubits relax with ``T1``, ``T2`` (seconds): ``lower`` inserts
        ``thermal_relaxation(t1_s, t2_s, gap)`` over every gap a qubit waits in the schedule.

        Gate durations come from ``set_duration``; a model without durations has no gaps.
        Setting it again replaces the values (a qubit's own values replace the every-qubit ones).

        Args:
            t1_s: T1 in seconds (> 0; ``math.inf`` for none).
            t2_s: T2 in seconds, ``T2 <= 2 T1``.
            qubits: ``None`` (every qubit), a qubit index, or qubit indices.
            excited_population: the thermal excited population, in [0, 1].

        Returns:
            This model.

        Raises:
            ChannelError: ``T2 > 2 T1`` or other values that make no channel.
            NoiseModelError: bad qubit indices.
        """
        thermal_relaxation(t1_s, t2_s, 0.0, excited_population)  # validates, names the values
        relax = _Relaxation(float(t1_s), float(t2_s), float(excited_population))
        if qubits is None:
            self._relax_all = relax
        else:
            for q in _qubit_tuple(qubits, "qubits"):
                self._relax_local[q] = relax
        return self

    def set_duration(self, gate_names, duration_s: float, qubits: Sequence[int] | None = None) -> NoiseModel:
        """The time (seconds) the named operations take, on every qubit tuple or on ``qubits``.

        Durations only place operations in time for idle relaxation; operations without one
        take no time (as virtual ``rz`` gates). Gate errors are separate (``add_*_error``).

        Args:
            gate_names: a name or a list of names (``"measure"`` and ``"reset"`` included).
            duration_s: seconds, finite and >= 0.
            qubits: ``None`` or the exact qubit tuple.

        Returns:
            This model.

        Raises:
            NoiseModelError: unknown names, a bad duration or qubits of the wrong width.
        """
        t = _seconds(duration_s, "duration_s")
        names = _names(gate_names)
        if qubits is None:
            for name in names:
                self._duration_all[name] = t
            return self
        qs = _qubit_tuple(qubits, "qubits")
        for name in names:
            k = _arity(name)
            if k is not None and k != len(qs):
                raise NoiseModelError(f"gate {name!r} acts on {k} qubit(s) (got qubits {list(qs)})")
            self._duration_local[(name, qs)] = t
        return self

    @staticmethod
    def _check_channel(channel) -> Channel:
        if not isinstance(channel, Channel):
            raise NoiseModelError(
                f"channel must be a kizuna.core.channels.Channel (got {type(channel).__name__})"
            )
        return channel

    # --- queries ------------------------------------------------------------------------------
    @property
    def is_ideal(self) -> bool:
        """True when the model holds no gate error, readout error or idle relaxation."""
        return not (
            self._all_qubit or self._local or self._readout_all or self._readout_local
            or self._relax_all or self._relax_local
        )

    def gate_error(self, name: str, qubits: Sequence[int]) -> Channel | None:
        """The channel ``lower`` attaches to gate ``name`` on ``qubits`` (``None``: none).

        Example:
            >>> from kizuna.core.channels import depolarizing
            >>> m = NoiseModel().add_all_qubit_error(depolarizing(0.1), "x")
            >>> m.add_quantum_error(depolarizing(0.2), "x", [3]).gate_error("x", [3]).name
            'depolarizing(0.2)'
        """
        qs = tuple(int(q) for q in qubits)
        ch = self._local.get((name, qs))
        return ch if ch is not None else self._all_qubit.get((name, len(qs)))

    def readout_error(self, qubit: int) -> ReadoutError | None:
        """The readout error of ``qubit`` (its own, else the every-qubit one), or ``None``."""
        err = self._readout_local.get(int(qubit))
        return err if err is not None else self._readout_all

    def duration(self, name: str, qubits: Sequence[int]) -> float:
        """Seconds operation ``name`` takes on ``qubits`` (0.0 when not set)."""
        t = self._duration_local.get((name, tuple(int(q) for q in qubits)))
        return t if t is not None else self._duration_all.get(name, 0.0)

    def idle_channel(self, qubit: int, duration_s: float) -> Channel | None:
        """The relaxation ``qubit`` suffers idling for ``duration_s`` seconds (``None``: none)."""
        relax = self._relax_local.get(int(qubit), self._relax_all)
        if relax is None:
            return None
        return thermal_relaxation(relax.t1_s, relax.t2_s, duration_s, relax.excited_population)

    # --- lowering -----------------------------------------------------------------------------
    def lower(self, instructions: Sequence[Instruction], num_qubits: int) -> list[Instruction | ChannelOp]:
        """The noisy program: ``instructions`` in order, with ``ChannelOp`` entries inserted.

        * A gate's error (``gate_error(name, qubits)``) follows the gate and carries its
          condition. ``"measure"`` errors come just before the measurement (one per measured
          qubit), ``"reset"`` errors just after the reset; both carry the condition too.
        * Idle relaxation (when the model has T1/T2): operations are scheduled as soon as
          possible -- each starts when all its qubits are free and, if conditioned, when the
          measurements writing its condition bits have ended; every qubit starts free at time
          0. Final measurements (no later operation touches their qubit or reads their bit)
          are read out together, as hardware does and as ``measure_all``'s barrier asks:
          they all start at the latest of their as-soon-as-possible starts. A qubit that
          waits ``gap > 0`` seconds before its next operation gets
          ``thermal_relaxation(T1, T2, gap)`` (unconditioned) just before that operation
          (before a measurement's own error). Time after a qubit's last operation is not
          simulated (nothing could observe it); a conditioned operation occupies its slot
          whether or not it runs. Barriers, if present, align their qubits and pass through.

        A model without errors returns the instructions unchanged (a new list of the same
        objects).

        Args:
            instructions: ``flatten(circuit)`` -- table gates, ``unitary``, ``measure`` and
                ``reset``, each possibly conditioned.
            num_qubits: the register width; every instruction's qubits must be below it.

        Returns:
            A list of ``Instruction`` and ``ChannelOp``.

        Raises:
            NoiseModelError: an instruction that is not flattened (a composite gate) or a
                qubit out of range.

        Example:
            >>> from kizuna import Circuit
            >>> from kizuna.computing.circuit import flatten
            >>> m = NoiseModel().set_idle_relaxation(50e-6, 70e-6).set_duration("x", 35e-9)
            >>> ops = m.lower(flatten(Circuit(2).x(0).x(0).cx(0, 1)), 2)
            >>> [type(op).__name__ for op in ops]
            ['Instruction', 'Instruction', 'ChannelOp', 'Instruction']
            >>> ops[2].qubits, ops[2].channel.name      # qubit 1 waited for the two x gates
            ((1,), 'thermal_relaxation(t1=5e-05, t2=7e-05, t=7e-08)')
        """
        if isinstance(num_qubits, bool) or not isinstance(num_qubits, numbers.Integral) or num_qubits < 0:
            raise NoiseModelError(f"num_qubits must be a non-negative integer (got {num_qubits!r})")
        program = list(instructions)
        for ins in program:
            if not isinstance(ins, Instruction):
                raise NoiseModelError(
                    f"lower() takes flatten(circuit) -- Instructions (got {type(ins).__name__})"
                )
            if ins.name not in GATES and ins.name not in ("unitary", "measure", "reset", "barrier"):
                raise NoiseModelError(
                    f"instruction {ins.name!r} is not a table gate, unitary, measure or reset; "
                    f"pass flatten(circuit) to lower()"
                )
            bad = [q for q in ins.qubits if not 0 <= q < num_qubits]
            if bad:
                raise NoiseModelError(
                    f"instruction {ins.name!r} acts on qubit(s) {bad} outside range(0, {num_qubits})"
                )
        if self.is_ideal:
            return program

        starts = self._schedule(program, num_qubits) if self._has_relaxation else None
        clock = [0.0] * num_qubits
        relax_cache: dict = {}
        out: list[Instruction | ChannelOp] = []
        for i, ins in enumerate(program):
            if starts is not None and ins.qubits:
                for q in ins.qubits:
                    gap = starts[i] - clock[q]
                    if gap > MIN_IDLE_S:
                        ch = self._idle(q, gap, relax_cache)
                        if ch is not None:
                            out.append(ChannelOp(ch, (q,)))
                end = starts[i] + self._op_duration(ins)
                for q in ins.qubits:
                    clock[q] = end
            if ins.name == "barrier":
                out.append(ins)
            elif ins.name in ("measure", "reset"):
                errs = [(q, self.gate_error(ins.name, (q,))) for q in ins.qubits]
                errs = [ChannelOp(ch, (q,), ins.condition) for q, ch in errs if ch is not None]
                if ins.name == "measure":
                    out.extend(errs)
                    out.append(ins)
                else:
                    out.append(ins)
                    out.extend(errs)
            else:
                out.append(ins)
                ch = self.gate_error(ins.name, ins.qubits)
                if ch is not None:
                    out.append(ChannelOp(ch, ins.qubits, ins.condition))
        return out

    @property
    def _has_relaxation(self) -> bool:
        return self._relax_all is not None or bool(self._relax_local)

    def _op_duration(self, ins: Instruction) -> float:
        return 0.0 if ins.name == "barrier" else self.duration(ins.name, ins.qubits)

    def _schedule(self, program: list[Instruction], num_qubits: int) -> list[float]:
        """Start time (seconds) of every instruction: as soon as possible, final measurements
        aligned at the latest of their own as-soon-as-possible starts."""
        clock = [0.0] * num_qubits
        clbit_ready: dict[int, float] = {}
        starts: list[float] = []
        for ins in program:
            start = max((clock[q] for q in ins.qubits), default=0.0)
            if ins.condition is not None:
                start = max([start] + [clbit_ready.get(b, 0.0) for b in ins.condition.clbits])
            starts.append(start)
            end = start + self._op_duration(ins)
            for q in ins.qubits:
                clock[q] = end
            if ins.name == "measure":
                for b in ins.clbits:
                    clbit_ready[b] = end
        # A final measurement: nothing later acts on its qubit or reads its clbit in a condition.
        final: list[int] = []
        touched: set[int] = set()
        read: set[int] = set()
        for i in range(len(program) - 1, -1, -1):
            ins = program[i]
            if (
                ins.name == "measure"
                and ins.condition is None
                and not touched.intersection(ins.qubits)
                and not read.intersection(ins.clbits)
            ):
                final.append(i)
            touched.update(ins.qubits)
            if ins.condition is not None:
                read.update(ins.condition.clbits)
        if final:
            t_final = max(starts[i] for i in final)
            for i in final:
                starts[i] = t_final
        return starts

    def _idle(self, qubit: int, gap: float, cache: dict) -> Channel | None:
        relax = self._relax_local.get(qubit, self._relax_all)
        if relax is None:
            return None
        if math.isinf(relax.t1_s) and math.isinf(relax.t2_s):
            return None  # nothing relaxes
        key = (relax, gap)
        ch = cache.get(key)
        if ch is None:
            cache[key] = ch = thermal_relaxation(relax.t1_s, relax.t2_s, gap, relax.excited_population)
        return ch

    # --- devices ------------------------------------------------------------------------------
    @classmethod
    def from_device(
        cls,
        device,
        *,
        gate_errors: bool = True,
        readout_errors: bool = True,
        thermal_relaxation: bool = True,
        temperature_k: float = 0.0,
    ) -> NoiseModel:
        """The standard noise model of a calibrated device (as Qiskit Aer's
        ``NoiseModel.from_backend`` / ``basic_device_gate_errors``).

        For each gate the device lists (``device.gates``: ``name``, ``qubits``, ``error`` =
        average gate infidelity, ``duration_s``) the gate error is a depolarizing channel
        followed by thermal relaxation over the gate's duration (the tensor product of each
        qubit's ``thermal_relaxation(T1, T2, duration)``). The depolarizing parameter is the
        one that makes the composition's average gate infidelity equal the device's error:
        ``p = d (e - r) / (d F_R - 1)`` with ``F_R = 1 - r`` the relaxation's average gate
        fidelity (the composition's average fidelity is ``F_R - p (d F_R - 1)/d`` in either
        order; the channel itself depends on the order, and Aer's is kept). When relaxation alone
        exceeds the reported error, the gate gets relaxation only (a ``RuntimeWarning`` says
        how many gates); errors above ``d/(d+1)`` are capped there. A two-qubit gate listed in
        one direction also gets the mirrored error in the other (native two-qubit gates may
        act either way). ``measure`` entries give the measurement's duration but no quantum
        error (readout errors model it); ``reset`` entries get relaxation over their duration
        only (as Aer, which depolarizes gates only). Readout errors come from each qubit's
        ``readout_error = (P(1|0), P(0|1))``; idle relaxation from its T1/T2 and the gate
        durations. A missing T1 counts as infinite, a missing T2 as ``2 T1``.

        Args:
            device: a ``kizuna.computing.device.Device`` or any object with ``num_qubits``,
                ``qubits`` (``t1_s``, ``t2_s``, ``readout_error``, optional ``frequency_hz``)
                and ``gates`` (``name``, ``qubits``, ``error``, ``duration_s``).
            gate_errors: include the depolarizing part of gate errors.
            readout_errors: include readout errors.
            thermal_relaxation: include relaxation during gates and while idle.
            temperature_k: qubit temperature in kelvin; with ``frequency_hz`` known, the
                relaxation's excited population is ``1 / (1 + exp(h f / (k_B T)))``.

        Returns:
            A new model.

        Raises:
            NoiseModelError: a device without those attributes or with impossible values
                (``T2 > 2 T1``, an error outside [0, 1], an unknown gate), naming the entry.

        Example:
            >>> from types import SimpleNamespace as NS
            >>> dev = NS(num_qubits=1, qubits=(NS(t1_s=100e-6, t2_s=80e-6, readout_error=(0.01, 0.02)),),
            ...          gates=(NS(name="sx", qubits=(0,), error=3e-4, duration_s=35e-9),))
            >>> m = NoiseModel.from_device(dev)
            >>> round(1 - m.gate_error("sx", [0]).average_gate_fidelity(), 12)
            0.0003
        """
        try:
            n = int(device.num_qubits)
            qubit_props = tuple(device.qubits)
            gates = tuple(device.gates)
        except (AttributeError, TypeError) as exc:
            raise NoiseModelError(
                f"from_device needs num_qubits, qubits and gates on the device ({exc})"
            ) from None
        if len(qubit_props) != n:
            raise NoiseModelError(f"device lists {len(qubit_props)} qubit properties for {n} qubits")
        temp = float(temperature_k)
        if not (math.isfinite(temp) and temp >= 0):
            raise NoiseModelError(f"temperature_k must be a finite temperature >= 0 kelvin (got {temp!r})")

        model = cls()
        relax: list[_Relaxation | None] = []
        for q, props in enumerate(qubit_props):
            try:
                t1 = getattr(props, "t1_s", None)
                t2 = getattr(props, "t2_s", None)
                t1 = math.inf if t1 is None else float(t1)
                t2 = 2 * t1 if t2 is None else float(t2)
                p1 = 0.0
                freq = getattr(props, "frequency_hz", None)
                if temp > 0 and freq is not None and math.isfinite(float(freq)):
                    p1 = 1.0 / (1.0 + math.exp(_H_OVER_KB * float(freq) / temp))
                if thermal_relaxation and not (math.isinf(t1) and math.isinf(t2)):
                    model.set_idle_relaxation(t1, t2, q, excited_population=p1)
                    relax.append(_Relaxation(t1, t2, p1))
                else:
                    relax.append(None)
                if readout_errors:
                    p01, p10 = getattr(props, "readout_error", (0.0, 0.0)) or (0.0, 0.0)
                    if p01 or p10:
                        model.add_readout_error(readout_error(p01, p10), q)
            except (ChannelError, TypeError, ValueError) as exc:
                raise NoiseModelError(f"device qubit {q}: {exc}") from None

        listed = {(g.name, tuple(g.qubits)) for g in gates}
        seen: set[tuple[str, tuple[int, ...]]] = set()
        relax_only = 0
        for g in gates:
            name, qs = g.name, tuple(int(q) for q in g.qubits)
            where = f"device gate {name!r} on qubits {list(qs)}"
            if (name, qs) in seen:
                raise NoiseModelError(f"{where}: listed twice")
            seen.add((name, qs))
            if name not in GATES and name not in ("measure", "reset"):
                raise NoiseModelError(f"{where}: unknown gate name (expected a gate of kizuna.core.gates.GATES)")
            if any(not 0 <= q < n for q in qs):
                raise NoiseModelError(f"{where}: qubits outside range(0, {n})")
            duration = 0.0 if g.duration_s is None else _seconds(g.duration_s, f"{where}: duration_s")
            error = 0.0 if g.error is None else float(g.error)
            if not 0.0 <= error <= 1.0:
                raise NoiseModelError(f"{where}: error must be an average gate infidelity in [0, 1] (got {error!r})")
            directions = [qs]
            if len(qs) == 2 and (name, qs[::-1]) not in listed:
                directions.append(qs[::-1])
            for order in directions:
                model.set_duration(name, duration, order)
                if name == "measure":
                    continue
                try:
                    ch, capped = _device_gate_channel(
                        name, order, error if gate_errors and name != "reset" else 0.0, duration,
                        [relax[q] for q in order] if thermal_relaxation else None,
                    )
                except ChannelError as exc:
                    raise NoiseModelError(f"{where}: {exc}") from None
                relax_only += capped
                if ch is not None:
                    model.add_quantum_error(ch, name, order)
        if relax_only:
            warnings.warn(
                f"{relax_only} device gate(s) have less error than thermal relaxation over their "
                f"duration alone; their noise is that relaxation only",
                RuntimeWarning,
                stacklevel=2,
            )
        return model

    # --- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-ready dictionary in a canonical order (``from_dict`` reads it back)."""
        gate_errors = [
            {"gate": name, "qubits": None, "channel": ch.to_dict()}
            for (name, _), ch in sorted(self._all_qubit.items())
        ] + [
            {"gate": name, "qubits": list(qs), "channel": ch.to_dict()}
            for (name, qs), ch in sorted(self._local.items())
        ]
        readout = ([{"qubit": None, **self._readout_all.to_dict()}] if self._readout_all else []) + [
            {"qubit": q, **e.to_dict()} for q, e in sorted(self._readout_local.items())
        ]

        def relax_dict(q, r: _Relaxation) -> dict:
            return {"qubit": q, "t1_s": _time_to_json(r.t1_s), "t2_s": _time_to_json(r.t2_s),
                    "excited_population": r.excited_population}

        idle = ([relax_dict(None, self._relax_all)] if self._relax_all else []) + [
            relax_dict(q, r) for q, r in sorted(self._relax_local.items())
        ]
        durations = [
            {"gate": name, "qubits": None, "duration_s": t} for name, t in sorted(self._duration_all.items())
        ] + [
            {"gate": name, "qubits": list(qs), "duration_s": t}
            for (name, qs), t in sorted(self._duration_local.items())
        ]
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "gate_errors": gate_errors,
            "readout_errors": readout,
            "idle_relaxation": idle,
            "durations": durations,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> NoiseModel:
        """The inverse of ``to_dict``; every channel and value is validated again.

        Raises:
            NoiseModelError: not a noise-model dictionary, an unsupported version, or invalid
                content (the message names the entry).
        """
        if not isinstance(data, Mapping) or data.get("format") != _FORMAT:
            raise NoiseModelError(f"not a Kizuna noise-model dictionary (expected format {_FORMAT!r})")
        if data.get("version") != _VERSION:
            raise NoiseModelError(
                f"unsupported noise-model version {data.get('version')!r} (this Kizuna reads {_VERSION})"
            )
        model = cls()
        section = "?"
        try:
            section = "gate_errors"
            for e in data.get("gate_errors", []):
                ch = Channel.from_dict(e["channel"])
                if e["qubits"] is None:
                    model.add_all_qubit_error(ch, e["gate"])
                else:
                    model.add_quantum_error(ch, e["gate"], e["qubits"])
            section = "readout_errors"
            for e in data.get("readout_errors", []):
                model.add_readout_error(ReadoutError.from_dict(e), e["qubit"])
            section = "idle_relaxation"
            for e in data.get("idle_relaxation", []):
                model.set_idle_relaxation(
                    _time_from_json(e["t1_s"]), _time_from_json(e["t2_s"]), e["qubit"],
                    excited_population=e.get("excited_population", 0.0),
                )
            section = "durations"
            for e in data.get("durations", []):
                model.set_duration(e["gate"], e["duration_s"], e["qubits"])
        except NoiseModelError as exc:
            raise NoiseModelError(f"noise-model {section}: {exc}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise NoiseModelError(f"noise-model {section}: malformed entry ({exc!r})") from None
        return model

    def sha256(self) -> str:
        """SHA-256 (hex) of the canonical JSON of ``to_dict()`` -- the model's identity in
        result provenance.

        Example:
            >>> NoiseModel().sha256() == NoiseModel().sha256()
            True
        """
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def save(self, path: str | os.PathLike) -> None:
        """Write the model as JSON, atomically (a temporary file in the same folder, then
        ``os.replace``): a failure never leaves a half-written file.

        Raises:
            OSError: the folder is not writable.

        Example:
            >>> import pathlib, tempfile
            >>> from kizuna.core.channels import depolarizing
            >>> p = pathlib.Path(tempfile.mkdtemp()) / "noise.json"
            >>> m = NoiseModel().add_all_qubit_error(depolarizing(0.01), ["sx", "x"])
            >>> m.save(p)
            >>> NoiseModel.load(p) == m
            True
        """
        atomic_write_text(path, json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> NoiseModel:
        """Read a model written by ``save``.

        Raises:
            NoiseModelError: the file is not JSON or not a valid noise model (the message
                names the file).
            OSError: the file cannot be read.
        """
        text = Path(path).read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise NoiseModelError(f"{path}: not JSON ({exc})") from None
        try:
            return cls.from_dict(data)
        except NoiseModelError as exc:
            raise NoiseModelError(f"{path}: {exc}") from None

    # --- misc -----------------------------------------------------------------------------
    def copy(self) -> NoiseModel:
        """An independent copy (channels are immutable and shared)."""
        new = NoiseModel()
        for k, v in vars(self).items():
            setattr(new, k, _copy.copy(v))
        return new

    def __eq__(self, other) -> bool:
        if not isinstance(other, NoiseModel):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # mutable

    def __repr__(self) -> str:
        if self.is_ideal:
            return "NoiseModel(ideal)"
        gates = sorted({name for name, _ in self._all_qubit} | {name for name, _ in self._local})
        parts = [f"gate errors on {', '.join(gates)}"] if gates else []
        nro = len(self._readout_local) + (self._readout_all is not None)
        if nro:
            parts.append("readout errors" + (" on all qubits" if self._readout_all else f" on {nro} qubit(s)"))
        if self._relax_all or self._relax_local:
            parts.append("idle relaxation")
        return f"NoiseModel({'; '.join(parts)})"


def _device_gate_channel(name, qubits, error, duration, relax) -> tuple[Channel | None, int]:
    """Depolarizing then relaxation for one device gate; ``(channel, 1 if relaxation-only)``."""
    k = len(qubits)
    d = 2**k
    relax_ch = None
    if relax is not None and duration > 0 and any(r is not None for r in relax):
        for r in relax:
            one = (
                Channel.identity(1)
                if r is None
                else thermal_relaxation(r.t1_s, r.t2_s, duration, r.excited_population)
            )
            relax_ch = one if relax_ch is None else relax_ch.tensor(one)
    f_relax = 1.0 if relax_ch is None else relax_ch.average_gate_fidelity()
    dep_ch = None
    capped = 0
    if error > 0:
        e = min(error, d / (d + 1))
        if e > 1 - f_relax:
            p = d * (e - (1 - f_relax)) / (d * f_relax - 1)
            p = min(p, d * d / (d * d - 1))
            dep_ch = depolarizing(p, k)
        else:
            capped = 1
    if dep_ch is None:
        return relax_ch, capped
    if relax_ch is None:
        return dep_ch, capped
    ch = dep_ch.compose(relax_ch)
    return Channel(ch.kraus, name=f"device({name}, e={error:g}, t={duration:g})"), capped
