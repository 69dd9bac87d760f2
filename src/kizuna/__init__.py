"""Kizuna (絆): one workbench for quantum computing, networking and sensing.

The public surface is small: build or load a ``Circuit``, simulate it exactly with
``statevector`` or sample it with ``run``::

    >>> import kizuna
    >>> bell = kizuna.Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
    >>> sorted(kizuna.run(bell, shots=1000, seed=1).counts)
    ['00', '11']

Conventions: qubit ``k`` has weight ``2**k`` in a basis-state index; bitstrings print
classical bit 0 rightmost (as Qiskit). ``import kizuna`` stays light: numba, matplotlib and
the CLI libraries load only when used.
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import qasm2, qasm3
from ._files import from_json, load, save, to_json
from .computing.batch import run_batch
from .computing.circuit import Circuit, CompositeGate, Condition, Instruction, Register
from .computing.device import Device, GateProperties, QubitProperties
from .computing.execute import density_matrix, run, statevector
from .computing.noise import NoiseModel
from .computing.observables import ExpectationResult, expectation
from .computing.parameters import Parameter, ParameterExpression
from .computing.result import Result
from .computing.transpile import TranspileResult, transpile
from .core import channels
from .core.paulis import Pauli, PauliSum
from .errors import (
    BackendError,
    ChannelError,
    CircuitError,
    DeviceError,
    FileFormatError,
    KizunaError,
    MemoryLimitError,
    NoiseModelError,
    ParameterError,
    PauliError,
    QasmError,
    SimulationError,
)

__all__ = [
    "BackendError",
    "ChannelError",
    "Circuit",
    "CircuitError",
    "CompositeGate",
    "Condition",
    "Device",
    "DeviceError",
    "ExpectationResult",
    "FileFormatError",
    "GateProperties",
    "Instruction",
    "KizunaError",
    "MemoryLimitError",
    "NoiseModel",
    "NoiseModelError",
    "Parameter",
    "ParameterError",
    "ParameterExpression",
    "Pauli",
    "PauliError",
    "PauliSum",
    "QasmError",
    "QubitProperties",
    "Register",
    "Result",
    "SimulationError",
    "TranspileResult",
    "__version__",
    "channels",
    "density_matrix",
    "expectation",
    "from_json",
    "load",
    "qasm2",
    "qasm3",
    "run",
    "run_batch",
    "save",
    "statevector",
    "to_json",
    "transpile",
]
