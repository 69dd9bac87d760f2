"""Every error Kizuna raises on purpose.

Each error names the argument, the value and what was expected. Where a built-in exception
type describes the failure too (a bad value is a ``ValueError``), the Kizuna error subclasses
it as well, so ``except ValueError`` keeps working.

The tree::

    KizunaError (Exception)
    ├── CircuitError (ValueError)         a circuit built or used wrongly
    │   └── ParameterError                an unbound or unknown symbolic parameter
    ├── QasmError (ValueError)            OpenQASM text that is malformed; file:line:col
    ├── SimulationError (ValueError)      a circuit a backend cannot run as asked
    │   └── MemoryLimitError (MemoryError) a state that would not fit in memory
    ├── BackendError (ValueError)         an unknown backend or option
    ├── ChannelError (ValueError)         a channel that is not CPTP, or bad channel parameters
    ├── DeviceError (ValueError)          a bad device description, or a circuit it cannot run
    ├── NetworkError (ValueError)         a bad network model, scenario or protocol parameter
    │   └── QKDError                      a bad QKD protocol, attack or post-processing parameter
    ├── NoiseModelError (ValueError)      a noise model built, loaded or used wrongly
    ├── PauliError (ValueError)           a malformed Pauli label, sum or observable
    ├── SensingError (ValueError)         a bad sensing input: not a density matrix, a
    │                                     non-Hermitian generator or Hamiltonian, T2 <= 0
    ├── QECError (ValueError)             a bad code or experiment parameter; an error model
    │                                     a matching decoder cannot take
    ├── InteropError (ValueError)         an object of another tool Kizuna cannot represent (or
    │                                     back), or a missing optional package
    ├── ServiceError (ValueError)         a job-service request that cannot be served
    └── FileFormatError (ValueError)      a saved Kizuna file that cannot be read, or an
                                          object that cannot be saved

This module imports nothing from Kizuna.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "ChannelError",
    "CircuitError",
    "DeviceError",
    "FileFormatError",
    "InteropError",
    "KizunaError",
    "MemoryLimitError",
    "NetworkError",
    "NoiseModelError",
    "ParameterError",
    "PauliError",
    "QECError",
    "QKDError",
    "QasmError",
    "SensingError",
    "ServiceError",
    "SimulationError",
]


class KizunaError(Exception):
    """Base class of every error Kizuna raises on purpose."""


class CircuitError(KizunaError, ValueError):
    """A circuit was built or used wrongly (bad qubit index, wrong arity, ...)."""


class ParameterError(CircuitError):
    """A symbolic parameter is unbound, unknown, or cannot be evaluated."""


class SimulationError(KizunaError, ValueError):
    """A backend cannot run the circuit as asked."""


class MemoryLimitError(SimulationError, MemoryError):
    """The state a simulation needs would not fit in the memory available.

    Attributes:
        num_qubits: qubits of the state that was refused.
        bytes_needed: bytes the simulation would allocate.
        bytes_available: bytes the guard allowed.
    """

    def __init__(self, message: str, *, num_qubits: int, bytes_needed: int, bytes_available: int):
        super().__init__(message)
        self.num_qubits = num_qubits
        self.bytes_needed = bytes_needed
        self.bytes_available = bytes_available


class BackendError(KizunaError, ValueError):
    """An unknown backend name or an option a backend does not take."""


class QasmError(KizunaError, ValueError):
    """Malformed OpenQASM, with the place it was found.

    ``str(error)`` reads ``file:line:col: message`` (``<string>`` when parsed from text).
    Lines and columns count from 1.

    Attributes:
        message: the sentence without the position.
        filename: the file the text came from, or ``"<string>"``.
        line: line number (1-based), or ``None`` when the error has no single place.
        column: column number (1-based), or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        filename: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ):
        self.message = message
        self.filename = filename or "<string>"
        self.line = line
        self.column = column
        super().__init__(self._format())

    def _format(self) -> str:
        where = self.filename
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"

    def __reduce__(self):  # keep the keyword-only fields through pickling (process pools)
        return (_rebuild_qasm_error, (self.message, self.filename, self.line, self.column))


def _rebuild_qasm_error(message, filename, line, column):
    return QasmError(message, filename=filename, line=line, column=column)


class ChannelError(KizunaError, ValueError):
    """A channel that is not completely positive and trace preserving, or bad parameters."""


class NoiseModelError(KizunaError, ValueError):
    """A noise model built, loaded or used wrongly (unknown gate, wrong width, bad file...)."""


class PauliError(KizunaError, ValueError):
    """A malformed Pauli label or coefficient, mismatched qubit counts, or a Pauli sum used
    where it does not fit (a non-Hermitian observable, a state of the wrong size)."""


class DeviceError(KizunaError, ValueError):
    """An invalid device description, or a circuit a device cannot run."""


class NetworkError(KizunaError, ValueError):
    """A bad network model, scenario file or protocol parameter (names the field and value)."""


class QKDError(NetworkError):
    """A bad QKD protocol, attack or post-processing parameter."""


class SensingError(KizunaError, ValueError):
    """A bad sensing input: a state that is not a density matrix, a non-Hermitian generator or
    Hamiltonian, a non-positive T2, mismatched shapes, an unknown option."""


class QECError(KizunaError, ValueError):
    """A bad error-correction parameter (distance, rounds, physical error rate, basis, shots)
    or a detector error model a matching decoder cannot take (a fault that does not split
    into edges)."""


class InteropError(KizunaError, ValueError):
    """A circuit, file or object from another tool (Qiskit, Cirq, Stim, OpenQASM 3) that Kizuna
    cannot represent, or a Kizuna object the other tool cannot; or an optional package that is
    missing (the message says which ``pip install 'kizuna[...]'`` brings it)."""


class ServiceError(KizunaError, ValueError):
    """A job-service request that cannot be served: bad credentials, a quota exceeded, an
    unknown job, a server that cannot be reached (the message names the job, project or URL)."""


class FileFormatError(KizunaError, ValueError):
    """A Kizuna file that cannot be read (not JSON, not a Kizuna document, a newer format, an
    unknown type, a missing or stale ``.npz``), or an object that cannot be saved; the message
    names the file and the problem."""
