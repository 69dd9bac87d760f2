"""``Result``: what a circuit run returns — counts, memory, provenance.

This module imports ``core`` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import KizunaError

__all__ = ["Result"]


@dataclass(frozen=True)
class Result:
    """The outcome of ``kizuna.run``.

    Bit order: in every bitstring classical bit 0 is the **rightmost** character; with several
    classical registers the bits are grouped per register, separated by a space, the first
    register rightmost (Qiskit's format), e.g. ``"1 01"`` for ``creg a[2]; creg b[1];``.

    Attributes:
        counts: outcome bitstring -> number of shots, sorted by bitstring.
        shots: number of shots.
        memory: per-shot bitstrings in shot order when run with ``memory=True``, else ``None``.
        num_qubits, num_clbits: the circuit's sizes.
        registers: ``(name, size)`` of each classical register, in declaration order.
        backend: the backend that ran.
        seed: the integer seed that reproduces this result (``None`` if a Generator was given).
        provenance: kizuna version, backend and why it was chosen, seed, shots, options and the
            SHA-256 of the circuit (``circuit_sha256``).
        metadata: backend details (for example ``branches``: trajectories simulated).

    Example:
        >>> import kizuna
        >>> c = kizuna.Circuit(1, 1).x(0).measure(0, 0)
        >>> r = kizuna.run(c, shots=10, seed=1)
        >>> r.counts, r.probabilities()
        ({'1': 10}, {'1': 1.0})
    """

    counts: dict[str, int]
    shots: int
    memory: tuple[str, ...] | None
    num_qubits: int
    num_clbits: int
    registers: tuple[tuple[str, int], ...]
    backend: str
    seed: int | None
    provenance: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if sum(self.counts.values()) != self.shots and self.counts:
            raise KizunaError(f"counts add up to {sum(self.counts.values())}, not shots={self.shots}")
        if self.memory is not None and len(self.memory) != self.shots:
            raise KizunaError(f"memory holds {len(self.memory)} shots, not shots={self.shots}")

    def get_counts(self) -> dict[str, int]:
        """A copy of ``counts`` (Qiskit's spelling)."""
        return dict(self.counts)

    def get_memory(self) -> list[str]:
        """Per-shot outcomes; raises if the run was not asked for memory."""
        if self.memory is None:
            raise KizunaError("this result has no memory; run with memory=True")
        return list(self.memory)

    def probabilities(self) -> dict[str, float]:
        """Relative frequency of each outcome (``count / shots``), sorted by bitstring.

        These are estimates from the shots; for exact probabilities use
        ``kizuna.statevector`` on the circuit without its final measurements.
        """
        return {k: v / self.shots for k, v in self.counts.items()}

    def most_frequent(self) -> str:
        """The outcome seen most often (ties: the smallest bitstring)."""
        if not self.counts:
            raise KizunaError("the circuit measured nothing")
        return min(self.counts, key=lambda k: (-self.counts[k], k))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (``from_dict`` reads it back)."""
        return {
            "counts": dict(self.counts),
            "shots": self.shots,
            "memory": list(self.memory) if self.memory is not None else None,
            "num_qubits": self.num_qubits,
            "num_clbits": self.num_clbits,
            "registers": [[n, s] for n, s in self.registers],
            "backend": self.backend,
            "seed": self.seed,
            "provenance": dict(self.provenance),
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        """The inverse of ``to_dict``."""
        try:
            return cls(
                counts={str(k): int(v) for k, v in data["counts"].items()},
                shots=int(data["shots"]),
                memory=tuple(data["memory"]) if data.get("memory") is not None else None,
                num_qubits=int(data["num_qubits"]),
                num_clbits=int(data["num_clbits"]),
                registers=tuple((str(n), int(s)) for n, s in data["registers"]),
                backend=str(data["backend"]),
                seed=data.get("seed"),
                provenance=dict(data.get("provenance", {})),
                metadata=dict(data.get("metadata", {})),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise KizunaError(f"not a Kizuna result dictionary: {exc!r}") from None
