"""Hardware models of a quantum network: fiber, quantum memories, detectors, heralded links.

Units: lengths in km (``length_km``), attenuation in dB/km (``loss_db_per_km``), times in
seconds (``t1_s``, ``cutoff_s``) in these models and in integer picoseconds on the engine's
clock (``delay_ps``), rates in hertz. Every model is a frozen dataclass that checks its fields
and names the bad one.

Heralded entanglement generation (``barrett_kok``, ``single_click``) returns the success
probability of one attempt and the heralded pair's density matrix, from the link's
efficiencies; ``HeraldedLink`` bundles what a repeater chain needs.

This module imports ``core`` and ``networking.states`` only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.channels import thermal_relaxation
from ..errors import NetworkError
from .engine import PS_PER_S
from .states import BellDiagonalState, bell_state_density_matrix

__all__ = [
    "ClassicalChannel",
    "Detector",
    "Fiber",
    "HeraldedLink",
    "Memory",
    "barrett_kok",
    "single_click",
]

#: Light in standard fiber: about 5 microseconds per km (group index ~1.47).
FIBER_DELAY_S_PER_KM = 5e-6


def _nonneg(value, name: str, *, upper: float | None = None, allow_inf: bool = False) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise NetworkError(f"{name} must be a number (got {value!r})") from None
    if math.isnan(x) or x < 0 or (math.isinf(x) and not allow_inf):
        raise NetworkError(f"{name} must be >= 0{'' if allow_inf else ' and finite'} (got {value!r})")
    if upper is not None and x > upper:
        raise NetworkError(f"{name} must be <= {upper:g} (got {value!r})")
    return x


def _positive(value, name: str) -> float:
    x = _nonneg(value, name, allow_inf=True)
    if x == 0:
        raise NetworkError(f"{name} must be > 0 (got {value!r})")
    return x


@dataclass(frozen=True)
class Fiber:
    """Optical fiber: loss, delay and (optional) depolarization of a photonic qubit.

    Attributes:
        length_km: length in km (>= 0).
        loss_db_per_km: attenuation in dB/km (telecom C band: 0.2).
        delay_s_per_km: propagation delay in s/km (default 5e-6).
        depolarizing_per_km: probability per km that a transmitted qubit is depolarized
            (``1 - (1 - d)**length_km`` over the fiber).

    Example:
        >>> f = Fiber(length_km=50)
        >>> round(f.transmissivity, 4), f.delay_ps
        (0.1, 250000000)
    """

    length_km: float
    loss_db_per_km: float = 0.2
    delay_s_per_km: float = FIBER_DELAY_S_PER_KM
    depolarizing_per_km: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "length_km", _nonneg(self.length_km, "length_km"))
        object.__setattr__(self, "loss_db_per_km", _nonneg(self.loss_db_per_km, "loss_db_per_km"))
        object.__setattr__(self, "delay_s_per_km", _nonneg(self.delay_s_per_km, "delay_s_per_km"))
        object.__setattr__(self, "depolarizing_per_km",
                           _nonneg(self.depolarizing_per_km, "depolarizing_per_km", upper=1.0))

    @property
    def transmissivity(self) -> float:
        """Probability a photon survives: ``10**(-loss_db_per_km * length_km / 10)``."""
        return 10.0 ** (-self.loss_db_per_km * self.length_km / 10.0)

    @property
    def delay_ps(self) -> int:
        """One-way delay in picoseconds."""
        return round(self.length_km * self.delay_s_per_km * PS_PER_S)

    @property
    def depolarizing_probability(self) -> float:
        """Probability the transmitted qubit is depolarized over the whole length."""
        return 1.0 - (1.0 - self.depolarizing_per_km) ** self.length_km


@dataclass(frozen=True)
class ClassicalChannel:
    """A classical link: messages arrive after ``length_km * delay_s_per_km``."""

    length_km: float
    delay_s_per_km: float = FIBER_DELAY_S_PER_KM

    def __post_init__(self):
        object.__setattr__(self, "length_km", _nonneg(self.length_km, "length_km"))
        object.__setattr__(self, "delay_s_per_km", _nonneg(self.delay_s_per_km, "delay_s_per_km"))

    @property
    def delay_ps(self) -> int:
        return round(self.length_km * self.delay_s_per_km * PS_PER_S)


@dataclass(frozen=True)
class Memory:
    """A quantum memory: photon emission/retrieval efficiency, T1, T2 and a cutoff time.

    Decoherence is applied exactly for the time a qubit was stored, when it is next touched:
    ``decay(duration_s)`` is ``core.channels.thermal_relaxation(t1_s, t2_s, duration_s)``
    (populations relax at 1/T1, coherences decay as ``exp(-t/T2)``).

    Attributes:
        efficiency: probability the memory emits (or absorbs) its photon, in [0, 1].
        t1_s: energy relaxation time in seconds (``math.inf``: none).
        t2_s: coherence time in seconds, ``<= 2 * t1_s`` (``math.inf``: none).
        cutoff_s: a stored qubit older than this is discarded (``math.inf``: never).

    Raises:
        NetworkError: ``t2_s > 2 * t1_s`` (unphysical) or another bad field.
    """

    efficiency: float = 1.0
    t1_s: float = math.inf
    t2_s: float = math.inf
    cutoff_s: float = math.inf

    def __post_init__(self):
        object.__setattr__(self, "efficiency", _nonneg(self.efficiency, "efficiency", upper=1.0))
        t1 = _positive(self.t1_s, "t1_s")
        t2 = _positive(self.t2_s, "t2_s")
        if t2 > 2 * t1:
            raise NetworkError(f"memory t2_s must be <= 2 * t1_s = {2 * t1:g} s (got t2_s={t2:g}, t1_s={t1:g})")
        object.__setattr__(self, "t1_s", t1)
        object.__setattr__(self, "t2_s", t2)
        object.__setattr__(self, "cutoff_s", _positive(self.cutoff_s, "cutoff_s"))

    @property
    def is_perfect(self) -> bool:
        return math.isinf(self.t1_s) and math.isinf(self.t2_s)

    @property
    def dephasing_only(self) -> bool:
        """True when storage only dephases (no T1): Bell-diagonal states stay Bell-diagonal."""
        return math.isinf(self.t1_s)

    def decay(self, duration_s: float):
        """The core channel of storing one qubit for ``duration_s`` seconds."""
        return thermal_relaxation(self.t1_s, self.t2_s, duration_s)


@dataclass(frozen=True)
class Detector:
    """A single-photon detector.

    Attributes:
        efficiency: probability a photon that arrives clicks, in [0, 1].
        dark_count_rate_hz: dark counts per second.
        dead_time_s: time after a click during which it cannot click again.
        window_s: the detection window of one attempt (dark counts in it are clicks).
    """

    efficiency: float = 1.0
    dark_count_rate_hz: float = 0.0
    dead_time_s: float = 0.0
    window_s: float = 1e-9

    def __post_init__(self):
        object.__setattr__(self, "efficiency", _nonneg(self.efficiency, "efficiency", upper=1.0))
        object.__setattr__(self, "dark_count_rate_hz", _nonneg(self.dark_count_rate_hz, "dark_count_rate_hz"))
        object.__setattr__(self, "dead_time_s", _nonneg(self.dead_time_s, "dead_time_s"))
        object.__setattr__(self, "window_s", _nonneg(self.window_s, "window_s"))

    @property
    def dark_count_probability(self) -> float:
        """Probability of at least one dark count in a window: ``1 - exp(-rate * window)``."""
        return -math.expm1(-self.dark_count_rate_hz * self.window_s)


def barrett_kok(eta: float, *, dark_count_probability: float = 0.0, visibility: float = 1.0
                ) -> tuple[float, np.ndarray]:
    """One attempt of Barrett-Kok (double-click) heralded entanglement.

    Each node entangles its memory with a photon; the photons meet on a beam splitter at the
    midpoint; two rounds with a pi pulse between; a click in each round heralds ``Psi+/-``
    (corrected to ``Phi+``). Barrett & Kok, PRA 71, 060310(R) (2005).

    Model: a photon reaches a detector with probability ``eta`` (emission x fiber to the
    midpoint x detection); a true herald has probability ``eta**2 / 2``; a false one, a real
    click in one round and a dark count in the other, ``2 * (eta / 2) * d`` to first order in
    the dark-count probability ``d`` (two detectors per round), and leaves a maximally mixed
    pair. Partial photon indistinguishability (``visibility`` V) turns a true herald into
    ``(1 + V)/2 Phi+ + (1 - V)/2 Phi-``.

    Returns:
        ``(success probability per attempt, 4 x 4 density matrix of the heralded pair)``.

    Example:
        >>> p, rho = barrett_kok(0.5)
        >>> p, round(float(rho[0, 0].real + rho[3, 3].real), 6)
        (0.125, 1.0)
    """
    eta = _nonneg(eta, "eta", upper=1.0)
    d = _nonneg(dark_count_probability, "dark_count_probability", upper=1.0)
    v = _nonneg(visibility, "visibility", upper=1.0)
    p_true = 0.5 * eta * eta
    p_false = 2.0 * (0.5 * eta) * d * 2.0 * (1.0 - 0.5 * eta)
    p = p_true + p_false
    if p == 0.0:
        return 0.0, np.eye(4, dtype=np.complex128) / 4
    good = (1 + v) / 2 * bell_state_density_matrix("phi+") + (1 - v) / 2 * bell_state_density_matrix("phi-")
    rho = (p_true * good + p_false * np.eye(4) / 4) / p
    return p, rho


def single_click(eta: float, alpha: float, *, dark_count_probability: float = 0.0,
                 visibility: float = 1.0) -> tuple[float, np.ndarray]:
    """One attempt of single-click heralded entanglement (Cabrillo et al., PRA 59, 1025 (1999);
    Humphreys et al., Nature 558, 268 (2018)).

    Each node prepares ``sqrt(1 - alpha)|0> + sqrt(alpha)|1>`` (``|1>`` emits a photon); one
    click at the midpoint heralds. With ``eta`` the probability an emitted photon clicks: a
    single photon emitted and detected, ``2 alpha (1 - alpha) eta``, heralds ``Psi+``; both
    emitted and at least one detected, ``alpha**2 (1 - (1 - eta)**2)``, heralds ``|11>``; a
    dark count with nothing else, ``2 d (1 - alpha)**2 ...`` to first order, heralds ``|00>``.
    The ``Psi+`` branch has coherence ``visibility``. The heralded pair is returned after the
    local X on B that maps ``Psi+`` to ``Phi+`` (so ``|11>`` becomes ``|10>``).

    Returns:
        ``(success probability, 4 x 4 density matrix)``; fidelity ``~ 1 - alpha`` for small
        ``eta``.
    """
    eta = _nonneg(eta, "eta", upper=1.0)
    a = _nonneg(alpha, "alpha", upper=1.0)
    d = _nonneg(dark_count_probability, "dark_count_probability", upper=1.0)
    v = _nonneg(visibility, "visibility", upper=1.0)
    p_psi = 2 * a * (1 - a) * eta
    p_11 = a * a * (1 - (1 - eta) ** 2)
    p_00 = (1 - a) ** 2 * 2 * d
    p = p_psi + p_11 + p_00
    if p == 0.0:
        return 0.0, np.eye(4, dtype=np.complex128) / 4
    phi = bell_state_density_matrix("phi+")
    phim = bell_state_density_matrix("phi-")
    psi_branch = (1 + v) / 2 * phi + (1 - v) / 2 * phim
    e10 = np.zeros((4, 4), dtype=np.complex128)
    e10[1, 1] = 1.0  # |A=1, B=0>: |11> after X on B
    e01 = np.zeros((4, 4), dtype=np.complex128)
    e01[2, 2] = 1.0  # |A=0, B=1>: |00> after X on B
    rho = (p_psi * psi_branch + p_11 * e10 + p_00 * e01) / p
    return p, rho


@dataclass(frozen=True)
class HeraldedLink:
    """An elementary link of a repeater: attempts of heralded generation, repeated until one
    succeeds.

    Attributes:
        success_probability: probability one attempt heralds a pair, in (0, 1].
        attempt_duration_ps: time of one attempt (emission, travel to the midpoint station and
            the herald back), integer picoseconds, > 0.
        state: the heralded pair (``BellDiagonalState``, or a 4 x 4 density matrix).
        classical_delay_ps: one-way classical delay between the link's two nodes.
    """

    success_probability: float
    attempt_duration_ps: int
    state: object
    classical_delay_ps: int = 0

    def __post_init__(self):
        p = _nonneg(self.success_probability, "success_probability", upper=1.0)
        if p == 0:
            raise NetworkError("success_probability must be > 0: the link would never deliver a pair (got 0)")
        object.__setattr__(self, "success_probability", p)
        for name in ("attempt_duration_ps", "classical_delay_ps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise NetworkError(f"{name} must be a non-negative integer number of picoseconds (got {v!r})")
        if self.attempt_duration_ps == 0:
            raise NetworkError("attempt_duration_ps must be > 0 (got 0)")
        if not isinstance(self.state, BellDiagonalState):
            m = np.asarray(self.state, dtype=np.complex128)
            if m.shape != (4, 4):
                raise NetworkError(f"state must be a BellDiagonalState or a 4 x 4 density matrix (got shape {m.shape})")

    @classmethod
    def from_fiber(cls, length_km: float, *, state=None, loss_db_per_km: float = 0.2,
                   memory_efficiency: float = 1.0, detector_efficiency: float = 1.0,
                   success_probability: float | None = None) -> HeraldedLink:
        """A link of ``length_km`` with a midpoint station (Barrett-Kok): attempts last the
        round trip to the midpoint (``length_km * 5 us/km``); success ``eta**2 / 2`` with
        ``eta = memory_efficiency * 10**(-loss * L/2 / 10) * detector_efficiency`` unless
        ``success_probability`` is given; ``state`` defaults to the Barrett-Kok pair."""
        fiber = Fiber(_nonneg(length_km, "length_km") / 2, loss_db_per_km)  # to the midpoint
        eta = (_nonneg(memory_efficiency, "memory_efficiency", upper=1.0) * fiber.transmissivity
               * _nonneg(detector_efficiency, "detector_efficiency", upper=1.0))
        p, rho = barrett_kok(eta)
        if success_probability is not None:
            p = success_probability
        full = Fiber(length_km, loss_db_per_km)
        return cls(success_probability=p, attempt_duration_ps=max(1, 2 * fiber.delay_ps),
                   state=rho if state is None else state, classical_delay_ps=full.delay_ps)
