"""Quantum sensing: Fisher information, open-system dynamics, protocols and estimation.

The public surface of the sensing pillar (modules below are private):

* Fisher information (``_fisher``): ``qfi``, ``qfi_matrix``, ``qfi_from_derivative``, ``cfi``,
  ``povm_cfi``, ``cramer_rao_bound``, ``circuit_qfi``, ``collective_spin``.
* Protocols (``_protocols``): ``ramsey``, ``ramsey_fisher``, ``optimal_ramsey_time``,
  ``ramsey_probability``; one-axis twisting ``one_axis_twisted_state``, ``squeezing_parameters``,
  ``optimal_squeezing``, ``dicke_spin_operators``, ``dicke_isometry``, ``phase_uncertainty``;
  dynamical decoupling ``decoupled_coherence`` (Ramsey, Hahn echo, CPMG); NV magnetometry
  ``nv_sensitivity`` (``NVResult``), ``nv_readout_fidelity``.
* Estimation (``_estimation``): ``simulate_ramsey_counts``, ``ramsey_mle``, ``ramsey_bayes``
  (``GridPosterior``), ``ramsey_smc`` (``ParticlePosterior``, Liu–West particle filter),
  ``ramsey_fisher_classical``, ``adaptive_phase_estimation``
  (``PhaseEstimationResult``).
* Lindblad dynamics (``_dynamics``): ``evolve``, ``Evolver``, ``EvolveOptions``, ``EvolveResult``
  (exact paths and ``method="mc"`` quantum-jump trajectories); ``evolve_dicke`` (``_dicke``):
  permutation-symmetric ensembles with per-spin dissipation in the ``(j, m, m')`` Dicke basis.

Conventions: a parameter ``theta`` is encoded as ``e^{-i theta G}``; times in seconds,
frequencies in rad/s; qubit ``k`` has weight ``2**k`` in a basis-state index.

This package imports ``kizuna.core`` and ``kizuna.errors`` (and ``kizuna.computing`` lazily,
for circuits); nothing below ``kizuna.cli`` imports it.
"""

from __future__ import annotations

from ..errors import SensingError
from ._dicke import evolve_dicke
from ._dynamics import EvolveOptions, Evolver, EvolveResult, evolve
from ._estimation import (
    GridPosterior,
    ParticlePosterior,
    PhaseEstimationResult,
    adaptive_phase_estimation,
    ramsey_bayes,
    ramsey_fisher_classical,
    ramsey_mle,
    ramsey_smc,
    simulate_ramsey_counts,
)
from ._fisher import (
    cfi,
    circuit_qfi,
    collective_spin,
    cramer_rao_bound,
    povm_cfi,
    qfi,
    qfi_from_derivative,
    qfi_matrix,
)
from ._protocols import (
    NVResult,
    RamseyResult,
    SqueezingResult,
    decoupled_coherence,
    dicke_isometry,
    dicke_spin_operators,
    nv_readout_fidelity,
    nv_sensitivity,
    one_axis_twisted_state,
    optimal_ramsey_time,
    optimal_squeezing,
    phase_uncertainty,
    ramsey,
    ramsey_fisher,
    ramsey_probability,
    squeezing_parameters,
)

__all__ = [
    "EvolveOptions",
    "EvolveResult",
    "Evolver",
    "GridPosterior",
    "NVResult",
    "ParticlePosterior",
    "PhaseEstimationResult",
    "RamseyResult",
    "SensingError",
    "SqueezingResult",
    "adaptive_phase_estimation",
    "cfi",
    "circuit_qfi",
    "collective_spin",
    "cramer_rao_bound",
    "decoupled_coherence",
    "dicke_isometry",
    "dicke_spin_operators",
    "evolve",
    "evolve_dicke",
    "nv_readout_fidelity",
    "nv_sensitivity",
    "one_axis_twisted_state",
    "optimal_ramsey_time",
    "optimal_squeezing",
    "phase_uncertainty",
    "povm_cfi",
    "qfi",
    "qfi_from_derivative",
    "qfi_matrix",
    "ramsey",
    "ramsey_bayes",
    "ramsey_fisher",
    "ramsey_fisher_classical",
    "ramsey_mle",
    "ramsey_probability",
    "ramsey_smc",
    "simulate_ramsey_counts",
    "squeezing_parameters",
]
