"""Hardware models of a quantum network: fiber, photon sources, quantum memories, detectors,
heralded links.

Units: lengths in km (``length_km``), attenuation in dB/km (``loss_db_per_km``), times in
seconds (``t1_s``, ``cutoff_s``) in these models and in integer picoseconds on the engine's
clock (``delay_ps``), rates in hertz. Every model is a frozen dataclass that checks its fields
and names the bad one.

Heralded entanglement generation (``barrett_kok``, ``single_click``) returns the success
probability of one attempt and the heralded pair's density matrix, from the link's
efficiencies; ``HeraldedLink`` bundles what a repeater chain needs, and
``HeraldedLink.from_hardware`` derives it from a ``Fiber``, a ``PhotonSource``, a ``Detector`` and
the two end ``Memory`` models (success probability, heralded state, attempt period, and the
detector dead time that the repeater chain then applies exactly, attempt by attempt).

This module imports ``core`` and ``networking.states`` only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.channels import thermal_relaxation
from ..errors import NetworkError
from .engine import PS_PER_S
from .states import BellDiagonalState, _apply, bell_state_density_matrix

__all__ = [
    "ClassicalChannel",
    "Detector",
    "Fiber",
    "HeraldedLink",
    "Memory",
    "PhotonSource",
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

    @property
    def dead_time_ps(self) -> int:
        """The dead time in integer picoseconds (the engine's clock)."""
        return round(self.dead_time_s * PS_PER_S)


@dataclass(frozen=True)
class PhotonSource:
    """The photon emission of a node: how often it can fire, how likely a photon enters the
    fiber, and how good that photon is.

    For memory-based heralding (Barrett-Kok, single-click) the "source" is the memory's
    spin-photon emission and its coupling into the fiber; the memory's own ``efficiency``
    multiplies ``efficiency`` here.

    Attributes:
        rate_hz: the highest trigger (emission) rate in hertz; one emission takes
            ``1 / rate_hz`` seconds (``math.inf``: no limit).
        efficiency: probability one trigger puts a photon into the fiber (emission x
            collection x coupling), in [0, 1].
        g2: second-order autocorrelation at zero delay, ``g2(0)`` in [0, 1]: the multi-photon
            part of the emission (0 for a perfect single-photon source).
        indistinguishability: mean wave-packet overlap ``M`` of photons from two such
            sources, in [0, 1].
        emission_fidelity: fidelity of the emitted spin-photon state to the ideal Bell state,
            in [1/4, 1]; the rest is modelled as depolarizing noise (a Werner spin-photon
            state).

    Example:
        >>> s = PhotonSource(rate_hz=1e6, efficiency=0.5, g2=0.02, indistinguishability=0.95)
        >>> s.period_ps, round(s.visibility, 4)
        (1000000, 0.911)
    """

    rate_hz: float = math.inf
    efficiency: float = 1.0
    g2: float = 0.0
    indistinguishability: float = 1.0
    emission_fidelity: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "rate_hz", _positive(self.rate_hz, "rate_hz"))
        object.__setattr__(self, "efficiency", _nonneg(self.efficiency, "efficiency", upper=1.0))
        object.__setattr__(self, "g2", _nonneg(self.g2, "g2", upper=1.0))
        object.__setattr__(self, "indistinguishability",
                           _nonneg(self.indistinguishability, "indistinguishability", upper=1.0))
        f = _nonneg(self.emission_fidelity, "emission_fidelity", upper=1.0)
        if f < 0.25:
            raise NetworkError(f"emission_fidelity must be in [0.25, 1] (got {self.emission_fidelity!r})")
        object.__setattr__(self, "emission_fidelity", f)

    @property
    def period_ps(self) -> int:
        """The shortest time between two emissions, integer picoseconds (0 without a limit)."""
        return 0 if math.isinf(self.rate_hz) else max(1, round(PS_PER_S / self.rate_hz))

    @property
    def visibility(self) -> float:
        """Two-photon (Hong-Ou-Mandel) interference visibility of photons from two such
        sources: ``M - (1 + M) g2`` (first order in ``g2``; Ollivier et al., PRL 126, 063602
        (2021): ``M = (V + g2) / (1 - g2)``), clipped at 0."""
        m = self.indistinguishability
        return max(0.0, m - (1.0 + m) * self.g2)

    @property
    def depolarizing_probability(self) -> float:
        """The one-qubit depolarizing probability ``p`` (``rho -> (1-p) rho + p I/2``) that
        turns the ideal spin-photon Bell state into one of fidelity ``emission_fidelity``:
        ``4 (1 - F) / 3``."""
        return 4.0 * (1.0 - self.emission_fidelity) / 3.0


def barrett_kok(eta: float, *, dark_count_probability: float = 0.0, visibility: float = 1.0,
                eta_b: float | None = None) -> tuple[float, np.ndarray]:
    """One attempt of Barrett-Kok (double-click) heralded entanglement.

    Each node entangles its memory with a photon; the photons meet on a beam splitter at the
    midpoint; two rounds with a pi pulse between; a click in each round heralds ``Psi+/-``
    (corrected to ``Phi+``). Barrett & Kok, PRA 71, 060310(R) (2005).

    Model: a photon reaches a detector with probability ``eta`` (emission x fiber to the
    midpoint x detection); a true herald has probability ``eta**2 / 2``; a false one, a real
    click in one round and a dark count in the other, ``2 * (eta / 2) * d`` to first order in
    the dark-count probability ``d`` (two detectors per round), and leaves a maximally mixed
    pair. Partial photon indistinguishability (``visibility`` V) turns a true herald into
    ``(1 + V)/2 Phi+ + (1 - V)/2 Phi-``. With ``eta_b`` (node B's photon, when the two sides
    differ) a true herald has probability ``eta * eta_b / 2`` and the false-herald term uses
    the mean of the two.

    Returns:
        ``(success probability per attempt, 4 x 4 density matrix of the heralded pair)``.

    Example:
        >>> p, rho = barrett_kok(0.5)
        >>> p, round(float(rho[0, 0].real + rho[3, 3].real), 6)
        (0.125, 1.0)
    """
    eta = _nonneg(eta, "eta", upper=1.0)
    eb = eta if eta_b is None else _nonneg(eta_b, "eta_b", upper=1.0)
    d = _nonneg(dark_count_probability, "dark_count_probability", upper=1.0)
    v = _nonneg(visibility, "visibility", upper=1.0)
    mean = 0.5 * (eta + eb)
    p_true = 0.5 * eta * eb
    p_false = 2.0 * (0.5 * mean) * d * 2.0 * (1.0 - 0.5 * mean)
    p = p_true + p_false
    if p == 0.0:
        return 0.0, np.eye(4, dtype=np.complex128) / 4
    good = (1 + v) / 2 * bell_state_density_matrix("phi+") + (1 - v) / 2 * bell_state_density_matrix("phi-")
    rho = (p_true * good + p_false * np.eye(4) / 4) / p
    return p, rho


def single_click(eta: float, alpha: float, *, dark_count_probability: float = 0.0,
                 visibility: float = 1.0, eta_b: float | None = None) -> tuple[float, np.ndarray]:
    """One attempt of single-click heralded entanglement (Cabrillo et al., PRA 59, 1025 (1999);
    Humphreys et al., Nature 558, 268 (2018)).

    Each node prepares ``sqrt(1 - alpha)|0> + sqrt(alpha)|1>`` (``|1>`` emits a photon); one
    click at the midpoint heralds. With ``eta`` the probability an emitted photon clicks: a
    single photon emitted and detected, ``2 alpha (1 - alpha) eta``, heralds ``Psi+``; both
    emitted and at least one detected, ``alpha**2 (1 - (1 - eta)**2)``, heralds ``|11>``; a
    dark count with nothing else, ``2 d (1 - alpha)**2 ...`` to first order, heralds ``|00>``.
    The ``Psi+`` branch has coherence ``visibility``. The heralded pair is returned after the
    local X on B that maps ``Psi+`` to ``Phi+`` (so ``|11>`` becomes ``|10>``). With ``eta_b``
    (node B's photon, when the sides differ) the one-photon branch is ``sqrt(eta)|10> +
    sqrt(eta_b)|01>`` (normalised; coherence times ``visibility``), heralded with probability
    ``alpha (1 - alpha) (eta + eta_b)``.

    Returns:
        ``(success probability, 4 x 4 density matrix)``; fidelity ``~ 1 - alpha`` for small
        ``eta``.
    """
    eta = _nonneg(eta, "eta", upper=1.0)
    eb = eta if eta_b is None else _nonneg(eta_b, "eta_b", upper=1.0)
    a = _nonneg(alpha, "alpha", upper=1.0)
    d = _nonneg(dark_count_probability, "dark_count_probability", upper=1.0)
    v = _nonneg(visibility, "visibility", upper=1.0)
    p_psi = a * (1 - a) * (eta + eb)
    p_11 = a * a * (1 - (1 - eta) * (1 - eb))
    p_00 = (1 - a) ** 2 * 2 * d
    p = p_psi + p_11 + p_00
    if p == 0.0:
        return 0.0, np.eye(4, dtype=np.complex128) / 4
    # after X on B: A's photon (|A=1, B=0>) -> |11> (index 3), B's (|A=0, B=1>) -> |00>
    psi_branch = np.zeros((4, 4), dtype=np.complex128)
    if eta + eb > 0:
        psi_branch[3, 3], psi_branch[0, 0] = eta / (eta + eb), eb / (eta + eb)
        psi_branch[0, 3] = psi_branch[3, 0] = v * math.sqrt(eta * eb) / (eta + eb)
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
        click_probability: probability an attempt makes at least one click at the station
            (a success always does; dark counts and failed attempts may), in
            [``success_probability``, 1]; ``None``: equal to ``success_probability``.
        dead_time_ps: after a click the station's detectors are blind for this long (integer
            picoseconds); the attempts that start while they are blind cannot herald (see
            ``blocked_attempts``). 0: no dead time.

    Dead-time model (slotted, non-paralyzable): attempt ``k`` occupies
    ``[t0 + (k-1) T, t0 + k T)`` with ``T = attempt_duration_ps``; a click in it blinds the
    station until ``t0 + (k-1) T + dead_time_ps``, so the next usable attempt is
    ``m = max(1, ceil(dead_time_ps / T))`` periods later (``m - 1`` attempts lost). A link that
    attempts without a break then heralds at ``success_rate_hz``; ``chain.py`` applies the
    model exactly, also across the gaps while memories are busy.
    """

    success_probability: float
    attempt_duration_ps: int
    state: object
    classical_delay_ps: int = 0
    click_probability: float | None = None
    dead_time_ps: int = 0

    def __post_init__(self):
        p = _nonneg(self.success_probability, "success_probability", upper=1.0)
        if p == 0:
            raise NetworkError("success_probability must be > 0: the link would never deliver a pair (got 0)")
        object.__setattr__(self, "success_probability", p)
        for name in ("attempt_duration_ps", "classical_delay_ps", "dead_time_ps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise NetworkError(f"{name} must be a non-negative integer number of picoseconds (got {v!r})")
            object.__setattr__(self, name, int(v))
        if self.attempt_duration_ps == 0:
            raise NetworkError("attempt_duration_ps must be > 0 (got 0)")
        c = p if self.click_probability is None else _nonneg(self.click_probability, "click_probability", upper=1.0)
        if c < p:
            raise NetworkError(f"click_probability must be >= success_probability = {p:g} "
                               f"(got {self.click_probability!r})")
        object.__setattr__(self, "click_probability", c)
        if not isinstance(self.state, BellDiagonalState):
            m = np.asarray(self.state, dtype=np.complex128)
            if m.shape != (4, 4):
                raise NetworkError(f"state must be a BellDiagonalState or a 4 x 4 density matrix (got shape {m.shape})")

    @property
    def blocked_attempts(self) -> int:
        """Attempts lost after a click: ``max(1, ceil(dead_time_ps / T)) - 1``."""
        return max(1, -(-self.dead_time_ps // self.attempt_duration_ps)) - 1

    @property
    def success_rate_hz(self) -> float:
        """Heralds per second of a link that attempts without a break (a single-link chain):
        ``p / (T (1 + c (m - 1)))`` with ``c`` the click probability and ``m - 1 =
        blocked_attempts``. In rates this is the non-paralyzable dead-time correction
        ``R_obs = R / (1 + R tau)`` (e.g. Knoll, *Radiation Detection and Measurement*, ch. 4;
        Müller, NIM 112, 47 (1973)) with ``R = c / T`` the click rate of a detector that never
        dies and ``tau = (m - 1) T`` the time lost per click; heralds are the fraction ``p / c``
        of the clicks.

        Example:
            >>> link = HeraldedLink(0.01, 1_000_000, BellDiagonalState((1, 0, 0, 0)),
            ...                     click_probability=0.1, dead_time_ps=5_000_000)
            >>> round(link.success_rate_hz, 3)     # 0.01 / (1e-6 * (1 + 0.1 * 4))
            7142.857
        """
        t = self.attempt_duration_ps / PS_PER_S
        return self.success_probability / (t * (1.0 + self.click_probability * self.blocked_attempts))

    @property
    def fidelity(self) -> float:
        """Fidelity of the heralded pair to ``Phi+``."""
        if isinstance(self.state, BellDiagonalState):
            return self.state.fidelity
        b = np.zeros(4)
        b[0] = b[3] = 1 / math.sqrt(2)
        return float(np.real(b @ np.asarray(self.state) @ b))

    @classmethod
    def from_fiber(cls, length_km: float, *, state=None, loss_db_per_km: float = 0.2,
                   memory_efficiency: float = 1.0, detector_efficiency: float = 1.0,
                   success_probability: float | None = None) -> HeraldedLink:
        """A link of ``length_km`` with a midpoint station (Barrett-Kok): attempts last the
        round trip to the midpoint (``length_km * 5 us/km``); success ``eta**2 / 2`` with
        ``eta = memory_efficiency * 10**(-loss * L/2 / 10) * detector_efficiency`` unless
        ``success_probability`` is given; ``state`` defaults to the Barrett-Kok pair.
        (``from_hardware`` adds sources, dark counts and dead time.)"""
        fiber = Fiber(_nonneg(length_km, "length_km") / 2, loss_db_per_km)  # to the midpoint
        eta = (_nonneg(memory_efficiency, "memory_efficiency", upper=1.0) * fiber.transmissivity
               * _nonneg(detector_efficiency, "detector_efficiency", upper=1.0))
        p, rho = barrett_kok(eta)
        if success_probability is not None:
            p = success_probability
        full = Fiber(length_km, loss_db_per_km)
        return cls(success_probability=p, attempt_duration_ps=max(1, 2 * fiber.delay_ps),
                   state=rho if state is None else state, classical_delay_ps=full.delay_ps)

    @classmethod
    def from_hardware(cls, fiber: Fiber, source: PhotonSource | None = None, detector: Detector | None = None,
                      memory: Memory | tuple[Memory, Memory] | None = None, *, scheme: str = "barrett_kok",
                      alpha: float = 0.1) -> HeraldedLink:
        """A link over ``fiber`` (its whole length, a station at the midpoint) from the hardware
        at its ends.

        Derived:

        * per side, the probability a trigger clicks the station's detector:
          ``eta = memory.efficiency * source.efficiency * T(L/2) * detector.efficiency``
          (``T`` the fiber transmissivity over half the length);
        * success probability and heralded pair from ``barrett_kok`` or ``single_click`` with
          the detector's dark-count probability per window and the source's two-photon
          ``visibility``; then each qubit goes through the depolarizing channels of the
          source's ``emission_fidelity`` and of the fiber's ``depolarizing_probability``
          (both twirled spin-photon noise carried through the photonic Bell measurement);
        * the attempt period: the longest of the source's emissions per attempt (two for
          Barrett-Kok, one for single-click, ``source.period_ps`` each) and the round trip to
          the station (``2 * fiber(L/2).delay_ps``); at least 1 ps;
        * the click probability per attempt (station-level, any detector, dark counts
          included): ``1 - (1 - eta_a)(1 - eta_b)(1 - d)**4`` for Barrett-Kok (two detectors,
          two rounds), ``1 - (1 - alpha eta_a)(1 - alpha eta_b)(1 - d)**2`` for single-click,
          never below the success probability; with ``detector.dead_time_s`` it sets the
          attempts lost to dead time (see the class docstring).

        Args:
            fiber: the link's fiber (its full length between the two nodes).
            source: the photon source of each node (default: ideal).
            detector: the station's detectors (default: ideal).
            memory: the memories at both ends, or a pair ``(memory_a, memory_b)`` (default:
                ideal); only their efficiencies enter here.
            scheme: ``"barrett_kok"`` or ``"single_click"``.
            alpha: the single-click bright-state population (ignored by Barrett-Kok).

        Returns:
            A ``HeraldedLink`` with a 4 x 4 density-matrix ``state``.

        Raises:
            NetworkError: a bad model or scheme, or a link that can never herald.

        Example:
            >>> link = HeraldedLink.from_hardware(Fiber(20), PhotonSource(efficiency=0.5),
            ...                                   Detector(efficiency=0.9, dead_time_s=1e-6))
            >>> round(link.success_probability, 5), link.attempt_duration_ps
            (0.04031, 100000000)
        """
        if not isinstance(fiber, Fiber):
            raise NetworkError(f"fiber must be a Fiber (got {type(fiber).__name__})")
        source = PhotonSource() if source is None else source
        detector = Detector() if detector is None else detector
        if not isinstance(source, PhotonSource):
            raise NetworkError(f"source must be a PhotonSource (got {type(source).__name__})")
        if not isinstance(detector, Detector):
            raise NetworkError(f"detector must be a Detector (got {type(detector).__name__})")
        mems = (Memory(), Memory()) if memory is None else (memory, memory) if isinstance(memory, Memory) else memory
        if len(mems) != 2 or not all(isinstance(m, Memory) for m in mems):
            raise NetworkError(f"memory must be a Memory or a pair of Memory (got {memory!r})")
        if scheme not in ("barrett_kok", "single_click"):
            raise NetworkError(f"scheme must be 'barrett_kok' or 'single_click' (got {scheme!r})")
        half = Fiber(fiber.length_km / 2, fiber.loss_db_per_km, fiber.delay_s_per_km, fiber.depolarizing_per_km)
        eta_a, eta_b = (m.efficiency * source.efficiency * half.transmissivity * detector.efficiency for m in mems)
        d = detector.dark_count_probability
        v = source.visibility
        if scheme == "barrett_kok":
            p, rho = barrett_kok(eta_a, eta_b=eta_b, dark_count_probability=d, visibility=v)
            click = 1.0 - (1.0 - eta_a) * (1.0 - eta_b) * (1.0 - d) ** 4
            emissions = 2
        else:
            a = _nonneg(alpha, "alpha", upper=1.0)
            p, rho = single_click(eta_a, a, eta_b=eta_b, dark_count_probability=d, visibility=v)
            click = 1.0 - (1.0 - a * eta_a) * (1.0 - a * eta_b) * (1.0 - d) ** 2
            emissions = 1
        if p <= 0.0:
            raise NetworkError(f"this link never heralds a pair (eta_a={eta_a:g}, eta_b={eta_b:g}, "
                               f"dark_count_probability={d:g})")
        noise = 1.0 - (1.0 - source.depolarizing_probability) * (1.0 - half.depolarizing_probability)
        if noise > 0.0:
            rho = _depolarize_both(rho, noise)
        period = max(1, emissions * source.period_ps, 2 * half.delay_ps)
        return cls(success_probability=p, attempt_duration_ps=period, state=rho,
                   classical_delay_ps=fiber.delay_ps, click_probability=min(1.0, max(p, click)),
                   dead_time_ps=detector.dead_time_ps)


def _depolarize_both(rho: np.ndarray, p: float) -> np.ndarray:
    """``rho -> (1-p) rho + p I/2 (x) tr_q rho`` on each qubit of a pair, as Kraus operators
    ``sqrt(1 - 3p/4) I, sqrt(p/4) X, Y, Z``."""
    from .states import _PAULI

    kraus = [math.sqrt(1.0 - 0.75 * p) * _PAULI[0]] + [math.sqrt(p / 4.0) * q for q in _PAULI[1:]]
    for q in (0, 1):
        rho = _apply(rho, kraus, (q,), 2)
    return rho


def attempts_until_success(rng: np.random.Generator, link: HeraldedLink, size: int) -> np.ndarray:
    """``size`` draws of the number of attempt periods from the first usable attempt to the
    end of the heralding one, dead time included: ``G + K (m - 1)`` with ``G`` geometric
    (``success_probability``), ``K`` binomial (``G - 1``, ``(c - p) / (1 - p)``) the failed
    attempts that clicked, ``m - 1`` the attempts each of them blinds. Without dead time (or
    without failed clicks) only ``G`` is drawn, so the random stream is the plain geometric one.
    """
    p = link.success_probability
    g = rng.geometric(p, size)
    blocked = link.blocked_attempts
    if blocked and link.click_probability > p and p < 1.0:
        q = min(1.0, (link.click_probability - p) / (1.0 - p))
        g = g + blocked * rng.binomial(g - 1, q)
    return g
