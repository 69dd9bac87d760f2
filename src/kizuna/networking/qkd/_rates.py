"""Analytic (asymptotic) key-rate models of QKD over fiber, and the repeaterless bounds.

Conventions: a link is a ``QKDLink`` (fiber attenuation in dB/km, Bob's detection efficiency,
the dark-count probability ``Y0`` per pulse, the misalignment error ``e_d`` and the
error-correction efficiency ``f``); rates are secret bits per pulse (per channel use), with the
BB84 sifting factor ``q = 1/2``. The channel transmittance is ``Fiber(L).transmissivity`` times
the detector efficiency.

Models (each cited where it is defined): Shor-Preskill, GLLP with infinite decoys and with
vacuum + weak decoys (Ma, Qi, Zhao & Lo, PRA 72, 012326 (2005)), GLLP without decoys, an ideal
single-photon source, entanglement-based BBM92 with a Poisson pair source at the midpoint, and
the PLOB (Pirandola et al., Nat. Commun. 8, 15043 (2017)) and TGW (Takeoka, Guha & Wilde,
Nat. Commun. 5, 5235 (2014)) bounds.

This module imports ``core``, ``networking.hardware`` and scipy only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ...errors import QKDError
from ..hardware import Fiber

__all__ = [
    "PROTOCOLS",
    "QKDLink",
    "RatePoint",
    "binary_entropy",
    "key_rate",
    "max_distance_km",
    "plob_bound",
    "shor_preskill_rate",
    "tgw_bound",
]

#: Protocols the rate models and the simulator know.
PROTOCOLS = ("bb84-decoy", "bb84-decoy-vacuum-weak", "bb84", "bb84-single-photon", "bbm92")

#: Intrinsic error of a dark count (a random bit).
E0 = 0.5


def _shown(value) -> str:
    """A value as an error message shows it: ``-3`` for ``-3.0``, ``0.7`` for ``0.7``."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        return f"{value:g}"
    return repr(value)


def _number(value, name: str, *, low: float = 0.0, high: float | None = None, open_low: bool = False) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise QKDError(f"{name} must be a number (got {value!r})") from None
    if math.isnan(x) or math.isinf(x) or x < low or (open_low and x == low) or (high is not None and x > high):
        if open_low:
            raise QKDError(f"{name} must be > {low:g}{'' if high is None else f' and <= {high:g}'} "
                               f"(got {_shown(value)})")
        raise QKDError(f"{name} must be >= {low:g}{'' if high is None else f' and <= {high:g}'} "
                           f"(got {_shown(value)})")
    return x


def check_protocol(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        raise QKDError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    return protocol


def binary_entropy(p):
    """The binary entropy ``h(p) = -p log2 p - (1 - p) log2 (1 - p)`` in bits (``h(0) = h(1) = 0``).

    Works on scalars and arrays; ``p`` is clipped to [0, 1].

    Example:
        >>> binary_entropy(0.5), round(float(binary_entropy(0.11)), 4)
        (1.0, 0.4999)
    """
    x = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -x * np.log2(x) - (1 - x) * np.log2(1 - x)
    out = np.where((x == 0) | (x == 1), 0.0, out)
    return float(out) if out.ndim == 0 else out


def shor_preskill_rate(qber: float, ec_efficiency: float = 1.0) -> float:
    """Secret fraction ``1 - f h(Q) - h(Q)`` of ideal single-photon BB84 (Shor & Preskill, PRL 85,
    441 (2000)), not clipped at 0; with ``f = 1`` it reaches 0 at ``Q = 11.0%``.

    Example:
        >>> round(shor_preskill_rate(0.0), 3), shor_preskill_rate(0.11) < 0.01
        (1.0, True)
    """
    q = _number(qber, "qber", high=1.0)
    f = _number(ec_efficiency, "ec_efficiency", low=1.0)
    return 1.0 - (f + 1.0) * binary_entropy(q)


def plob_bound(transmissivity: float) -> float:
    """The PLOB bound ``-log2(1 - eta)`` on the secret bits per use of a pure-loss channel of
    transmissivity ``eta`` (Pirandola, Laurenza, Ottaviani & Banchi, Nat. Commun. 8, 15043 (2017)).

    Example:
        >>> round(plob_bound(0.1), 3)
        0.152
    """
    eta = _number(transmissivity, "transmissivity", high=1.0)
    return math.inf if eta == 1.0 else -math.log2(1.0 - eta)


def tgw_bound(transmissivity: float) -> float:
    """The TGW bound ``log2((1 + eta)/(1 - eta))`` (Takeoka, Guha & Wilde, Nat. Commun. 5, 5235
    (2014)): looser than PLOB by about a factor 2 at high loss.

    Example:
        >>> round(tgw_bound(0.001) / plob_bound(0.001), 2)
        2.0
    """
    eta = _number(transmissivity, "transmissivity", high=1.0)
    return math.inf if eta == 1.0 else math.log2((1.0 + eta) / (1.0 - eta))


@dataclass(frozen=True)
class QKDLink:
    """The physical parameters of a fiber QKD link (Alice's source, the fiber, Bob's detectors).

    Attributes:
        loss_db_per_km: fiber attenuation in dB/km (telecom C band: 0.2).
        detector_efficiency: Bob's overall detection efficiency, in (0, 1] (his optics included).
        dark_count_probability: ``Y0``, the probability of a click with no photon, per pulse.
        misalignment: ``e_d``, the probability a detected photon gives the wrong bit.
        ec_efficiency: ``f >= 1``, error-correction leakage over the Shannon limit ``h(E)``.

    ``QKDLink.gys()`` gives the GYS experiment's parameters as used by Ma et al. (PRA 72, 012326
    (2005)); ``QKDLink.modern()`` a present-day link (SNSPD-class detectors).

    Example:
        >>> QKDLink.gys().transmittance(0)
        0.045
    """

    loss_db_per_km: float = 0.2
    detector_efficiency: float = 0.6
    dark_count_probability: float = 1e-7
    misalignment: float = 0.01
    ec_efficiency: float = 1.16

    def __post_init__(self):
        object.__setattr__(self, "loss_db_per_km", _number(self.loss_db_per_km, "loss_db_per_km"))
        object.__setattr__(self, "detector_efficiency",
                           _number(self.detector_efficiency, "detector_efficiency", high=1.0, open_low=True))
        object.__setattr__(self, "dark_count_probability",
                           _number(self.dark_count_probability, "dark_count_probability", high=1.0))
        object.__setattr__(self, "misalignment", _number(self.misalignment, "misalignment", high=0.5))
        object.__setattr__(self, "ec_efficiency", _number(self.ec_efficiency, "ec_efficiency", low=1.0))

    @classmethod
    def gys(cls) -> QKDLink:
        """GYS (Gobby, Yuan & Shields, APL 84, 3762 (2004)) as in Ma et al. 2005: 0.21 dB/km,
        detector 4.5%, ``Y0 = 1.7e-6``, ``e_d = 3.3%``, ``f = 1.22``."""
        return cls(0.21, 0.045, 1.7e-6, 0.033, 1.22)

    @classmethod
    def modern(cls) -> QKDLink:
        """0.2 dB/km, detector 60%, ``Y0 = 1e-7``, ``e_d = 1%``, ``f = 1.16`` (the defaults)."""
        return cls()

    def fiber(self, distance_km: float) -> Fiber:
        """The ``Fiber`` of this link's attenuation and ``distance_km``."""
        return Fiber(length_km=_number(distance_km, "distance_km"), loss_db_per_km=self.loss_db_per_km)

    def transmittance(self, distance_km: float) -> float:
        """``eta``: fiber transmissivity times detector efficiency."""
        return self.fiber(distance_km).transmissivity * self.detector_efficiency

    def to_dict(self) -> dict:
        return asdict(self)


# --- gains and error rates of a weak coherent pulse (Ma et al. 2005, eqs. 4-9) ---------------
def wcp_gain(mu: float, eta: float, y0: float) -> float:
    """``Q_mu = Y0 + 1 - exp(-eta mu)``: probability a pulse of mean photon number ``mu`` clicks."""
    return y0 + 1.0 - math.exp(-eta * mu)


def wcp_error_gain(mu: float, eta: float, y0: float, e_d: float) -> float:
    """``E_mu Q_mu = e0 Y0 + e_d (1 - exp(-eta mu))``."""
    return E0 * y0 + e_d * (1.0 - math.exp(-eta * mu))


def _rate_infinite_decoy(mu, eta, link: QKDLink) -> float:
    y0, e_d, f = link.dark_count_probability, link.misalignment, link.ec_efficiency
    q = wcp_gain(mu, eta, y0)
    e = wcp_error_gain(mu, eta, y0, e_d) / q
    y1 = y0 + eta
    e1 = (E0 * y0 + e_d * eta) / y1
    q1 = y1 * mu * math.exp(-mu)
    return 0.5 * (-q * f * binary_entropy(e) + q1 * (1.0 - binary_entropy(e1)))


def _rate_vacuum_weak(mu, eta, link: QKDLink, nu: float) -> float:
    """Vacuum + weak decoy bounds of Ma et al. 2005, eqs. (34) and (37)."""
    y0, e_d, f = link.dark_count_probability, link.misalignment, link.ec_efficiency
    if not nu < mu:
        return -math.inf
    q_mu, q_nu = wcp_gain(mu, eta, y0), wcp_gain(nu, eta, y0)
    eq_nu = wcp_error_gain(nu, eta, y0, e_d)
    e_mu = wcp_error_gain(mu, eta, y0, e_d) / q_mu
    y1_low = mu / (mu * nu - nu * nu) * (q_nu * math.exp(nu) - q_mu * math.exp(mu) * nu * nu / (mu * mu)
                                         - (mu * mu - nu * nu) / (mu * mu) * y0)
    if y1_low <= 0:
        return -math.inf
    e1_up = min(0.5, (eq_nu * math.exp(nu) - E0 * y0) / (y1_low * nu))
    q1 = y1_low * mu * math.exp(-mu)
    return 0.5 * (-q_mu * f * binary_entropy(e_mu) + q1 * (1.0 - binary_entropy(e1_up)))


def _rate_no_decoy(mu, eta, link: QKDLink) -> float:
    """GLLP with every multi-photon pulse assumed known to Eve (Gottesman, Lo, Lutkenhaus &
    Preskill, QIC 4, 325 (2004)): ``Q [-f h(E) + Omega (1 - h(E/Omega))]`` with
    ``Omega = 1 - P_multi/Q`` the fraction of detections from single (or no) photons."""
    y0, e_d, f = link.dark_count_probability, link.misalignment, link.ec_efficiency
    q = wcp_gain(mu, eta, y0)
    e = wcp_error_gain(mu, eta, y0, e_d) / q
    p_multi = 1.0 - math.exp(-mu) * (1.0 + mu)
    omega = 1.0 - p_multi / q
    if omega <= 0 or e / omega >= 0.5:
        return -math.inf
    return 0.5 * q * (-f * binary_entropy(e) + omega * (1.0 - binary_entropy(e / omega)))


def single_photon_gain_qber(eta: float, link: QKDLink) -> tuple[float, float]:
    """``(Y1, e1)`` of an ideal single-photon source."""
    y1 = link.dark_count_probability + eta
    return y1, (E0 * link.dark_count_probability + link.misalignment * eta) / y1


def _rate_single_photon(eta, link: QKDLink) -> float:
    y1, e1 = single_photon_gain_qber(eta, link)
    return 0.5 * y1 * (1.0 - (link.ec_efficiency + 1.0) * binary_entropy(e1))


def bbm92_gain_qber(mu: float, eta_a: float, eta_b: float, y0: float, e_d: float) -> tuple[float, float]:
    """``(Q, E)`` of coincidences for a midpoint source emitting Poisson(``mu``) pairs per slot.

    The pairs split (Poisson thinning) into ``N_AB ~ Poi(mu eta_a eta_b)`` seen on both sides,
    ``N_A ~ Poi(mu eta_a (1 - eta_b))`` and ``N_B ~ Poi(mu (1 - eta_a) eta_b)``; a side clicks on
    any photon or a dark count (probability ``Y0``). A coincidence from exactly one pair and
    nothing else errs with probability ``e_d``; every other coincidence is a random bit. The
    structure follows Ma, Fung & Lo, PRA 76, 012307 (2007), with Poisson instead of thermal
    pair statistics (a many-mode source).
    """
    no_a = (1.0 - y0) * math.exp(-mu * eta_a)
    no_b = (1.0 - y0) * math.exp(-mu * eta_b)
    none = (1.0 - y0) ** 2 * math.exp(-mu * (eta_a + eta_b - eta_a * eta_b))
    q = 1.0 - no_a - no_b + none
    good = mu * eta_a * eta_b * none
    if q <= 0:
        return 0.0, E0
    return q, (e_d * good + E0 * (q - good)) / q


def _rate_bbm92(mu, eta_a, eta_b, link: QKDLink) -> float:
    q, e = bbm92_gain_qber(mu, eta_a, eta_b, link.dark_count_probability, link.misalignment)
    return 0.5 * q * (1.0 - (link.ec_efficiency + 1.0) * binary_entropy(e))


@dataclass(frozen=True)
class RatePoint:
    """The asymptotic key rate at one distance.

    Attributes:
        distance_km: Alice-Bob fiber length.
        key_rate_bits_per_pulse: secret bits per pulse (0 where no key is possible).
        mu: signal intensity used (mean photons per pulse, or pairs per slot for BBM92); ``None``
            for the single-photon source, and where ``mu`` was optimised and no key is possible.
        transmissivity: the fiber's transmissivity (the channel the bounds are for).
        plob_bits_per_use: the PLOB bound of that fiber (``inf`` at 0 km).
    """

    distance_km: float
    key_rate_bits_per_pulse: float
    mu: float | None
    transmissivity: float
    plob_bits_per_use: float

    def to_dict(self) -> dict:
        return asdict(self)


def _rate_at(protocol: str, mu: float, distance_km: float, link: QKDLink, nu: float) -> float:
    if protocol == "bbm92":
        half = link.fiber(distance_km / 2).transmissivity * link.detector_efficiency
        return _rate_bbm92(mu, half, half, link)
    eta = link.transmittance(distance_km)
    if protocol == "bb84-decoy":
        return _rate_infinite_decoy(mu, eta, link)
    if protocol == "bb84-decoy-vacuum-weak":
        return _rate_vacuum_weak(mu, eta, link, nu)
    if protocol == "bb84":
        return _rate_no_decoy(mu, eta, link)
    return _rate_single_photon(eta, link)


def _optimal_mu(protocol: str, distance_km: float, link: QKDLink, nu: float) -> tuple[float, float | None]:
    from scipy.optimize import minimize_scalar

    # a log grid finds the basin (the no-decoy optimum sits near eta, far below 1), Brent polishes
    grid = np.geomspace(1e-6, 2.0, 161)
    if protocol == "bb84-decoy-vacuum-weak":
        grid = grid[grid > nu * 1.0001]
    values = np.array([_rate_at(protocol, m, distance_km, link, nu) for m in grid])
    i = int(np.argmax(values))
    if not values[i] > 0:
        return 0.0, None
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    res = minimize_scalar(lambda m: -_rate_at(protocol, m, distance_km, link, nu), bounds=(lo, hi),
                          method="bounded", options={"xatol": 1e-10 * hi})
    if -res.fun >= values[i]:
        return float(-res.fun), float(res.x)
    return float(values[i]), float(grid[i])


def key_rate(protocol: str, distance_km: float, link: QKDLink | None = None, *, mu: float | None = None,
             nu: float = 0.1) -> RatePoint:
    """The asymptotic secret key rate of ``protocol`` over ``distance_km`` of fiber.

    Args:
        protocol: one of ``PROTOCOLS``: ``bb84-decoy`` (GLLP, infinite decoys), ``bb84-decoy-vacuum-weak``
            (GLLP with a vacuum and a weak decoy of intensity ``nu``, Ma et al. 2005 sec. V),
            ``bb84`` (weak coherent pulses, no decoys), ``bb84-single-photon`` and ``bbm92``
            (pair source at the midpoint; ``mu`` is the mean number of pairs per slot).
        distance_km: Alice-Bob fiber length, >= 0.
        link: the link's parameters (default ``QKDLink()``, the modern link).
        mu: signal intensity; ``None`` optimises it (scipy's bounded Brent after a grid).
        nu: weak-decoy intensity for ``bb84-decoy-vacuum-weak``.

    Returns:
        A ``RatePoint``; ``key_rate_bits_per_pulse`` is clipped at 0.

    Raises:
        QKDError: an unknown protocol, a negative distance, ``mu <= 0``.

    Example:
        >>> p = key_rate("bb84-decoy", 50, QKDLink.gys())
        >>> f"{p.key_rate_bits_per_pulse:.3g}", round(p.mu, 2)
        ('0.000223', 0.48)
    """
    check_protocol(protocol)
    distance_km = _number(distance_km, "distance_km")
    link = QKDLink() if link is None else link
    nu = _number(nu, "nu", open_low=True)
    fiber = link.fiber(distance_km)
    if protocol == "bb84-single-photon":
        rate, used = _rate_at(protocol, 1.0, distance_km, link, nu), None
    elif mu is None:
        rate, used = _optimal_mu(protocol, distance_km, link, nu)
    else:
        used = _number(mu, "mu", open_low=True)
        if protocol == "bb84-decoy-vacuum-weak" and not nu < used:
            raise QKDError(f"nu must be < mu for the vacuum + weak decoy bounds (got nu={nu:g}, mu={used:g})")
        rate = _rate_at(protocol, used, distance_km, link, nu)
    return RatePoint(distance_km, max(0.0, float(rate)), used, fiber.transmissivity,
                     plob_bound(fiber.transmissivity))


def max_distance_km(protocol: str, link: QKDLink | None = None, *, mu: float | None = None, nu: float = 0.1,
                    upper_km: float = 2000.0, tol_km: float = 1e-3) -> float:
    """The distance where the key rate of ``protocol`` reaches 0, by bisection (the rate falls
    with distance); 0 if no key at 0 km, ``upper_km`` if still positive there.

    Example:
        >>> round(max_distance_km("bb84-decoy", QKDLink.gys()), 1)
        142.2
    """
    link = QKDLink() if link is None else link

    def positive(d: float) -> bool:
        return key_rate(protocol, d, link, mu=mu, nu=nu).key_rate_bits_per_pulse > 0

    if not positive(0.0):
        return 0.0
    if positive(upper_km):
        return float(upper_km)
    lo, hi = 0.0, float(upper_km)
    while hi - lo > tol_km:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if positive(mid) else (lo, mid)
    return 0.5 * (lo + hi)
