"""The slow, obvious reference: dense ``2**n x 2**n`` matrices built with ``embed``.

Every fast backend is tested against this. Cost: O(4**n) per gate — up to ~10 qubits.
"""

from __future__ import annotations

import numpy as np

from ...core.gates import embed
from ...errors import SimulationError
from ..circuit import Circuit, flatten


def reference_unitary(circuit: Circuit) -> np.ndarray:
    """The circuit's unitary, product of embedded gate matrices (no measure/reset/condition)."""
    n = circuit.num_qubits
    u = np.eye(1 << n, dtype=np.complex128)
    for ins in flatten(circuit):
        if ins.name in ("measure", "reset") or ins.condition is not None:
            raise SimulationError(f"the reference unitary cannot hold {ins.name!r}")
        u = embed(ins.to_matrix(), ins.qubits, n) @ u
    return u


def reference_statevector(circuit: Circuit) -> np.ndarray:
    """``reference_unitary(circuit.remove_final_measurements()) |0...0>``."""
    return reference_unitary(circuit.remove_final_measurements())[:, 0].copy()
