"""Quantum key distribution: asymptotic key-rate models, pulse-level simulation of BB84 (weak
coherent pulses with decoys, single photons) and BBM92 with a CHSH test, eavesdropping attacks,
and the full classical post-processing (sifting, parameter estimation, Cascade, verification,
Toeplitz privacy amplification, finite-key lengths).

* ``key_rate``, ``max_distance_km``, ``QKDLink``, ``RatePoint`` -- the rate models
  (GLLP decoy BB84 with infinite or vacuum + weak decoys, BB84 without decoys, single photons,
  BBM92); ``binary_entropy``, ``shor_preskill_rate``, ``plob_bound``, ``tgw_bound``;
* ``run_qkd`` -> ``QKDResult`` -- one simulated session, end to end; ``expected_gain_qber`` --
  the analytic gain and QBER the simulation approaches;
* ``cascade``, ``toeplitz_hash``, ``finite_key_length_bb84_decoy``,
  ``finite_key_length_single_photon`` -- the post-processing steps on their own;
* ``plot_key_rates`` -- rate against distance with the PLOB bound (matplotlib).

Rates are bits per pulse (sifting factor 1/2 in the models); lengths in km, attenuation in
dB/km, as in ``networking.hardware``. Bad parameters raise ``QKDError`` naming the value.
This package imports ``core`` and ``networking`` only.
"""

from ._plot import plot_key_rates
from ._postprocess import (
    CascadeResult,
    cascade,
    finite_key_length_bb84_decoy,
    finite_key_length_single_photon,
    toeplitz_hash,
)
from ._protocol import QKDResult, expected_gain_qber, run_qkd
from ._rates import (
    PROTOCOLS,
    QKDLink,
    RatePoint,
    binary_entropy,
    key_rate,
    max_distance_km,
    plob_bound,
    shor_preskill_rate,
    tgw_bound,
)
from ._simulate import ATTACKS

__all__ = [
    "ATTACKS",
    "PROTOCOLS",
    "CascadeResult",
    "QKDLink",
    "QKDResult",
    "RatePoint",
    "binary_entropy",
    "cascade",
    "expected_gain_qber",
    "finite_key_length_bb84_decoy",
    "finite_key_length_single_photon",
    "key_rate",
    "max_distance_km",
    "plob_bound",
    "plot_key_rates",
    "run_qkd",
    "shor_preskill_rate",
    "tgw_bound",
    "toeplitz_hash",
]
