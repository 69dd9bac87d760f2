"""Kizuna inside Qiskit: ``SamplerV2`` / ``EstimatorV2`` primitives and a ``KizunaBackend``.

Importing this module imports Qiskit (``pip install 'kizuna[qiskit]'``). The primitives follow
Qiskit's ``BaseSamplerV2`` / ``BaseEstimatorV2`` contracts (PUBs with parameter broadcasting,
``BitArray`` results per classical register, ``evs`` and ``stds``) and run on Kizuna's
simulators, noise included; ``KizunaBackend`` is a ``BackendV2`` with a ``Target``, so
``qiskit.transpile(circuit, KizunaBackend())`` and ``backend.run`` work unchanged.

Seeds: a primitive's ``run`` records its integer seed in ``metadata["kizuna"]["seed"]``; PUB i
samples with child i of ``SeedSequence(seed)`` and each parameter binding with a grandchild (C
order), so passing the seed back repeats the run bit for bit. ``EstimatorV2`` with
``precision > 0`` reports ``stds == precision`` (as Aer's Estimator does; Qiskit's
``StatevectorEstimator`` reports 0); a circuit that measures mid-way is averaged exactly over
its outcomes (``StatevectorEstimator`` draws one branch).
"""

from __future__ import annotations

from .._optional import require

require("qiskit", "qiskit")

from ._qiskit_backend import KizunaBackend, KizunaJob
from ._qiskit_convert import from_qiskit, kizuna_parameter_name, to_qiskit
from ._qiskit_primitives import EstimatorV2, SamplerV2

__all__ = ["EstimatorV2", "KizunaBackend", "KizunaJob", "SamplerV2", "from_qiskit", "kizuna_parameter_name",
           "to_qiskit"]
