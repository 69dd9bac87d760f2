"""Quantum networking: a discrete-event engine, hardware models, entangled-pair states and
repeater chains.

* ``Simulator`` -- the event engine (integer-picosecond clock, seeded, callbacks or generator
  processes);
* ``BellDiagonalState``, ``werner``, ``swap``, ``purify_bbpssw``, ``purify_dejmps``,
  ``teleportation_fidelity``, ``chsh_value`` -- pair states and the maps of the standard
  protocols, with density-matrix versions for what leaves the Bell-diagonal family;
* ``Fiber``, ``Memory``, ``Detector``, ``HeraldedLink``, ``barrett_kok``, ``single_click`` --
  hardware;
* ``RepeaterChain`` and ``simulate_chain`` -- swap-as-soon-as-possible repeater chains.

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
    barrett_kok,
    single_click,
)
from .states import (
    BellDiagonalState,
    chsh_value,
    dephasing_probability,
    fidelity,
    purify_bbpssw,
    purify_dejmps,
    swap,
    swap_density_matrices,
    teleportation_fidelity,
    werner,
)

__all__ = [
    "PS_PER_S",
    "BellDiagonalState",
    "ChainResult",
    "ClassicalChannel",
    "Detector",
    "Fiber",
    "HeraldedLink",
    "Memory",
    "RepeaterChain",
    "Signal",
    "Simulator",
    "barrett_kok",
    "chsh_value",
    "dephasing_probability",
    "fidelity",
    "purify_bbpssw",
    "purify_dejmps",
    "seconds_to_ps",
    "simulate_chain",
    "single_click",
    "swap",
    "swap_density_matrices",
    "teleportation_fidelity",
    "werner",
]
