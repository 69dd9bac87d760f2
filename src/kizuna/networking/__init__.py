"""Quantum networking: a discrete-event engine, hardware models, entangled-pair states and
repeater chains.

* ``Simulator`` -- the event engine (integer-picosecond clock, seeded, callbacks or generator
  processes);
* ``BellDiagonalState``, ``werner``, ``swap``, ``purify_bbpssw``, ``purify_dejmps``,
  ``teleportation_fidelity``, ``chsh_value`` -- pair states and the maps of the standard
  protocols, with density-matrix versions for what leaves the Bell-diagonal family;
* ``Fiber``, ``PhotonSource``, ``Memory``, ``Detector``, ``HeraldedLink`` (``from_hardware``
  derives a link's success probability, heralded state, attempt period and detector dead time),
  ``barrett_kok``, ``single_click`` -- hardware;
* ``RepeaterChain`` and ``simulate_chain`` -- repeater chains (swap as soon as possible or
  nested, link-level entanglement pumping, memory cutoffs); ``sweep_chain`` -- rate and
  fidelity against one parameter (hardware ones too: source, detector, dead time), on any
  executor, seeds spawned per point; ``link_figures`` -- a heralded link's derived figures;
* ``Scenario`` and ``run_scenario`` -- YAML/JSON network scenarios: a topology, hardware and
  requests, routed on the topology's graph (``kizuna net run``);
* ``kizuna.networking.qkd`` -- quantum key distribution: key-rate models (GLLP decoy BB84,
  BBM92, PLOB/TGW bounds), pulse-level BB84/BBM92 simulation with attacks, and the full
  post-processing (``run_qkd``, ``key_rate``; ``kizuna qkd``).

Units: seconds, km, dB/km in the models; integer picoseconds on the engine's clock.
This package imports ``core`` only (and networkx where topologies need it).
"""

from .chain import ChainResult, RepeaterChain, simulate_chain
from .engine import PS_PER_S, Signal, Simulator, seconds_to_ps
from .hardware import (
    ClassicalChannel,
    Detector,
    Fiber,
    HeraldedLink,
    Memory,
    PhotonSource,
    barrett_kok,
    single_click,
)
from .scenario import NetworkResult, Scenario, run_scenario
from .states import (
    BellDiagonalState,
    chsh_value,
    dephasing_probability,
    fidelity,
    purify_bbpssw,
    purify_dejmps,
    purify_density_matrices,
    swap,
    swap_density_matrices,
    teleport,
    teleportation_fidelity,
    werner,
)
from .sweep import ChainSweep, link_figures, sweep_chain

__all__ = [
    "PS_PER_S",
    "BellDiagonalState",
    "ChainResult",
    "ChainSweep",
    "ClassicalChannel",
    "Detector",
    "Fiber",
    "HeraldedLink",
    "Memory",
    "NetworkResult",
    "PhotonSource",
    "RepeaterChain",
    "Scenario",
    "Signal",
    "Simulator",
    "barrett_kok",
    "chsh_value",
    "dephasing_probability",
    "fidelity",
    "link_figures",
    "purify_bbpssw",
    "purify_dejmps",
    "purify_density_matrices",
    "run_scenario",
    "seconds_to_ps",
    "simulate_chain",
    "single_click",
    "swap",
    "swap_density_matrices",
    "sweep_chain",
    "teleport",
    "teleportation_fidelity",
    "werner",
]
