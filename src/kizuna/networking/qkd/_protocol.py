"""End-to-end QKD runs: simulated pulses, then the classical post-processing real systems run.

``run_qkd`` sends the pulses (``_simulate``), sifts, estimates the error rate on the disclosed
Z-basis bits (with a Clopper-Pearson interval), checks the CHSH value (BBM92), corrects the
X-basis key with Cascade, verifies it with a Toeplitz hash, computes the finite-key length
(Lim et al., PRA 89, 022307 (2014)) and extracts the final keys by Toeplitz hashing. The key
comes from the X basis of every intensity, the Z basis is the test basis, as in Lim et al.
Public randomness (permutations, hash seeds) comes from the same seeded generator, so a run is
reproducible bit for bit.

This module imports ``core`` and ``networking`` only.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ...core.random import resolve_seed
from ...errors import QKDError
from ._postprocess import (
    cascade,
    finite_key_length_bb84_decoy,
    finite_key_length_single_photon,
    phase_error_deviation,
    toeplitz_hash,
)
from ._rates import (
    QKDLink,
    _number,
    bbm92_gain_qber,
    check_protocol,
    key_rate,
    single_photon_gain_qber,
    wcp_error_gain,
    wcp_gain,
)
from ._simulate import ATTACKS, simulate_pulses

__all__ = ["QKDResult", "expected_gain_qber", "run_qkd"]

_DECOY = ("bb84-decoy", "bb84-decoy-vacuum-weak")


def expected_gain_qber(protocol: str, distance_km: float, link: QKDLink | None = None, mu: float = 0.5
                       ) -> tuple[float, float]:
    """The analytic gain (clicks per pulse; coincidences per slot for BBM92) and error rate of an
    honest link, the values a long simulation approaches.

    Example:
        >>> q, e = expected_gain_qber("bb84-single-photon", 0, QKDLink(dark_count_probability=0))
        >>> q, round(e, 3)
        (0.6, 0.01)
    """
    check_protocol(protocol)
    link = QKDLink() if link is None else link
    distance_km = _number(distance_km, "distance_km")
    if protocol == "bbm92":
        half = link.fiber(distance_km / 2).transmissivity * link.detector_efficiency
        return bbm92_gain_qber(_number(mu, "mu", open_low=True), half, half, link.dark_count_probability,
                               link.misalignment)
    eta = link.transmittance(distance_km)
    if protocol == "bb84-single-photon":
        return single_photon_gain_qber(eta, link)
    m = _number(mu, "mu")
    q = wcp_gain(m, eta, link.dark_count_probability)
    return q, wcp_error_gain(m, eta, link.dark_count_probability, link.misalignment) / q


def _clopper_pearson(k: int, n: int, confidence: float) -> tuple[float, float]:
    # the beta quantile from scipy.special: scipy.stats costs a second to import
    from scipy.special import betaincinv

    if n == 0:
        return 0.0, 1.0
    a = 1.0 - confidence
    lo = 0.0 if k == 0 else float(betaincinv(k, n - k + 1, a / 2))
    hi = 1.0 if k == n else float(betaincinv(k + 1, n - k, 1 - a / 2))
    return lo, hi


@dataclass(frozen=True)
class QKDResult:
    """What one simulated QKD session produced.

    Attributes:
        protocol, attack, distance_km, num_pulses, duration_s, repetition_rate_hz: the run.
        intensities: mean photon numbers (pairs per slot for BBM92); the first is the signal.
        detections: pulses that clicked (coincidences for BBM92).
        sifted_key_length: detections where Alice's and Bob's bases agree (both bases).
        key_bits, test_bits: sifted bits in the X (key) and Z (disclosed test) bases.
        qber: errors over test bits (the signal intensity's for decoy BB84); qber_interval: its
            Clopper-Pearson interval at ``confidence``.
        qber_key: the X-basis error rate Cascade found (``None`` if the run stopped before).
        gains, qber_per_intensity: detections per pulse and Z-basis error rate per intensity.
        y1_lower_bound: decoy BB84: the single-photon yield ``Y1`` bounded below from the
            observed signal, weak and vacuum gains (Ma et al. 2005, eq. 34; asymptotic, no
            finite-size correction); an honest link gives about ``eta``, a PNS attack ~0 or less.
        chsh, chsh_standard_error: BBM92's CHSH value ``S`` and its standard error.
        leaked_bits_ec, ec_efficiency, errors_corrected: Cascade's disclosure, ``f`` and flips.
        verified: the verification hashes agreed.
        finite_key: the terms of the finite-key bound.
        final_key_length: bits of each final key (0 after an abort).
        secret_key_rate_bps, secret_key_rate_bits_per_pulse: final bits per second, per pulse.
        aborted, abort_reason: whether the run stopped without a key, and why.
        alice_key, bob_key: the final keys (``uint8``), equal bit for bit; not serialised.
        wall_time_s: real seconds the run took. provenance: version, seed and parameters.
    """

    protocol: str
    attack: str
    distance_km: float
    num_pulses: int
    duration_s: float
    repetition_rate_hz: float
    intensities: tuple[float, ...]
    detections: int
    sifted_key_length: int
    key_bits: int
    test_bits: int
    qber: float
    qber_interval: tuple[float, float]
    qber_key: float | None
    gains: tuple[float, ...]
    qber_per_intensity: tuple[float | None, ...]
    y1_lower_bound: float | None
    chsh: float | None
    chsh_standard_error: float | None
    leaked_bits_ec: int
    ec_efficiency: float | None
    errors_corrected: int
    verified: bool
    finite_key: dict
    final_key_length: int
    secret_key_rate_bps: float
    secret_key_rate_bits_per_pulse: float
    aborted: bool
    abort_reason: str | None
    alice_key: np.ndarray | None
    bob_key: np.ndarray | None
    wall_time_s: float
    provenance: dict

    def to_dict(self) -> dict:
        """A JSON-ready dictionary (the keys themselves left out; ``nan`` becomes ``None``)."""

        def clean(v):
            if isinstance(v, float | np.floating):
                v = float(v)
                return None if math.isnan(v) else v
            if isinstance(v, np.integer):
                return int(v)
            if isinstance(v, tuple | list):
                return [clean(x) for x in v]
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            return v

        skip = ("alice_key", "bob_key")
        return {k: clean(getattr(self, k)) for k in self.__dataclass_fields__ if k not in skip}


def _chsh(a_basis, b_basis, a_bit, b_bit) -> tuple[float | None, float | None]:
    """``S = E(Z, +) + E(Z, -) + E(X, +) - E(X, -)`` with ``+-`` Bob's ``+-pi/4`` settings."""
    s, var = 0.0, 0.0
    for a, b, sign in ((0, 2, 1), (0, 3, 1), (1, 2, 1), (1, 3, -1)):
        sel = (a_basis == a) & (b_basis == b)
        n = int(sel.sum())
        if n == 0:
            return None, None
        e = 1.0 - 2.0 * float(np.mean(a_bit[sel] != b_bit[sel]))
        s += sign * e
        var += (1.0 - e * e) / n
    return s, math.sqrt(var)


def run_qkd(protocol: str = "bb84-decoy", distance_km: float = 50.0, link: QKDLink | None = None, *,
            duration_s: float | None = None, num_pulses: int | None = None, repetition_rate_hz: float = 80e6,
            mu: float | None = None, weak_intensity: float = 0.2, vacuum_intensity: float = 0.0,
            intensity_probabilities=(0.6, 0.25, 0.15), x_basis_probability: float = 0.5,
            chsh_fraction: float = 0.1, attack: str = "none", attack_fraction: float = 1.0,
            qber_threshold: float = 0.11, epsilon_sec: float = 1e-9, epsilon_cor: float = 1e-15,
            confidence: float = 0.999, cascade_passes: int = 4, keep_keys: bool = True,
            seed=None) -> QKDResult:
    """Simulate a QKD session pulse by pulse and post-process it into final keys.

    Args:
        protocol: ``bb84-decoy`` (signal ``mu``, weak ``weak_intensity``, vacuum
            ``vacuum_intensity``), ``bb84-decoy-vacuum-weak`` (the same simulation), ``bb84``,
            ``bb84-single-photon`` or ``bbm92``.
        distance_km: Alice-Bob fiber length. link: the hardware (default ``QKDLink()``).
        duration_s: simulated time (``num_pulses = round(duration_s * repetition_rate_hz)``),
            or num_pulses directly (one of the two).
        mu: signal intensity; ``None``: the asymptotically optimal one for ``protocol``.
        intensity_probabilities: how often each of signal, weak and vacuum is sent (decoy BB84).
        x_basis_probability: probability each party picks X (the key basis).
        chsh_fraction: BBM92: fraction of slots Bob measures at a CHSH setting.
        attack: ``none``, ``intercept-resend`` or ``pns``; attack_fraction: intercepted fraction.
        qber_threshold: abort above this test-basis error rate.
        epsilon_sec, epsilon_cor: secrecy and correctness parameters of the finite-key bound.
        confidence: confidence of the reported QBER interval.
        cascade_passes: passes of Cascade. keep_keys: keep the final keys in the result.
        seed: ``int``, ``Generator`` or ``None`` (fresh, recorded in the provenance).

    Returns:
        A ``QKDResult``; ``alice_key`` equals ``bob_key`` bit for bit, of ``final_key_length``
        bits, unless the run aborted (``abort_reason`` says why).

    Raises:
        QKDError: an unknown protocol or attack, a negative distance, ``mu <= 0``...

    Example:
        >>> r = run_qkd("bb84-decoy", 10, num_pulses=4_000_000, seed=1)
        >>> r.aborted, r.final_key_length > 0, bool(np.array_equal(r.alice_key, r.bob_key))
        (False, True, True)
    """
    from ... import __version__

    t0 = time.perf_counter()
    check_protocol(protocol)
    if attack not in ATTACKS:
        raise QKDError(f"unknown attack {attack!r}; choose one of {', '.join(ATTACKS)}")
    link = QKDLink() if link is None else link
    distance_km = _number(distance_km, "distance_km")
    rate_hz = _number(repetition_rate_hz, "repetition_rate_hz", open_low=True)
    if (duration_s is None) == (num_pulses is None):
        raise QKDError("give exactly one of duration_s and num_pulses")
    if duration_s is not None:
        d = _number(duration_s, "duration_s", open_low=True)
        num_pulses = round(d * rate_hz)
    else:
        if isinstance(num_pulses, bool) or int(num_pulses) != num_pulses or num_pulses <= 0:
            raise QKDError(f"num_pulses must be a positive integer (got {num_pulses!r})")
        num_pulses = int(num_pulses)
        d = num_pulses / rate_hz
    threshold = _number(qber_threshold, "qber_threshold", high=0.5)
    if mu is not None:
        mu = _number(mu, "mu", open_low=True)
    elif protocol != "bb84-single-photon":
        mu = key_rate(protocol if protocol != "bb84-decoy-vacuum-weak" else "bb84-decoy", distance_km, link).mu
        if not mu or mu <= 0:
            mu = 0.5
    rng, recorded = resolve_seed(seed)
    if protocol in _DECOY:
        intensities = (mu, _number(weak_intensity, "weak_intensity", open_low=True),
                       _number(vacuum_intensity, "vacuum_intensity"))
        if not (intensities[0] > intensities[1] + intensities[2] and intensities[1] > intensities[2]):
            raise QKDError(f"decoy intensities must satisfy mu > weak + vacuum and weak > vacuum "
                               f"(got mu={intensities[0]:g}, weak={intensities[1]:g}, vacuum={intensities[2]:g})")
        probs = tuple(intensity_probabilities)
    else:
        intensities, probs = ((mu,) if mu is not None else (1.0,)), (1.0,)
    raw = simulate_pulses(protocol, distance_km, link, num_pulses, intensities=intensities,
                          intensity_probabilities=probs, x_basis_probability=x_basis_probability,
                          chsh_fraction=chsh_fraction, attack=attack, attack_fraction=attack_fraction, rng=rng)
    k = len(raw.intensities)
    match = (raw.alice_basis == raw.bob_basis) & (raw.bob_basis < 2)
    key_sel = match & (raw.alice_basis == 1)
    test_sel = match & (raw.alice_basis == 0)
    err = raw.alice_bit != raw.bob_bit
    n_x = np.bincount(raw.intensity[key_sel], minlength=k)
    n_z = np.bincount(raw.intensity[test_sel], minlength=k)
    m_z = np.bincount(raw.intensity[test_sel & err], minlength=k)
    gains = tuple(float(c) / max(int(s), 1) for c, s in zip(np.bincount(raw.intensity, minlength=k),
                                                           raw.pulses_per_intensity, strict=True))
    qber_k = tuple(float(m) / n if n else None for m, n in zip(m_z, n_z, strict=True))
    # the QBER that gates the run: the signal's in decoy BB84, everything's otherwise
    n_test, m_test = (int(n_z[0]), int(m_z[0])) if protocol in _DECOY else (int(n_z.sum()), int(m_z.sum()))
    qber = m_test / n_test if n_test else math.nan
    interval = _clopper_pearson(m_test, n_test, _number(confidence, "confidence", high=1.0))
    y1_low = None
    if protocol in _DECOY:
        (q_mu, q_nu, q_0), (m1, m2, _m3) = gains, raw.intensities
        # Ma et al. 2005 eq. (34) with the vacuum gain for Y0 (the weak and vacuum bounds)
        y1_low = m1 / (m1 * m2 - m2 * m2) * (q_nu * math.exp(m2) - q_mu * math.exp(m1) * m2 * m2 / (m1 * m1)
                                             - (m1 * m1 - m2 * m2) / (m1 * m1) * q_0)
    chsh = chsh_se = None
    if protocol == "bbm92":
        chsh, chsh_se = _chsh(raw.alice_basis, raw.bob_basis, raw.alice_bit, raw.bob_bit)

    alice = raw.alice_bit[key_sel]
    bob = raw.bob_bit[key_sel]
    state = {"leaked": 0, "eff": None, "flips": 0, "verified": False, "finite": {}, "length": 0,
             "qber_key": None, "keys": (None, None)}

    def finish(reason: str | None) -> QKDResult:
        length = state["length"] if reason is None else 0
        provenance = {"kizuna_version": __version__, "seed": recorded, "link": link.to_dict(),
                      "intensity_probabilities": list(probs), "x_basis_probability": x_basis_probability,
                      "attack_fraction": attack_fraction, "epsilon_sec": epsilon_sec, "epsilon_cor": epsilon_cor,
                      "qber_threshold": threshold, "cascade_passes": cascade_passes,
                      "pns_forward_probability": raw.pns_forward_probability}
        if protocol == "bbm92":
            provenance["chsh_fraction"] = chsh_fraction
        ka, kb = state["keys"] if (reason is None and keep_keys) else (None, None)
        return QKDResult(
            protocol=protocol, attack=attack, distance_km=distance_km, num_pulses=num_pulses, duration_s=d,
            repetition_rate_hz=rate_hz, intensities=raw.intensities, detections=raw.num_clicks,
            sifted_key_length=int(match.sum()), key_bits=int(alice.size), test_bits=int(n_z.sum()), qber=qber,
            qber_interval=interval, qber_key=state["qber_key"], gains=gains, qber_per_intensity=qber_k,
            y1_lower_bound=y1_low, chsh=chsh, chsh_standard_error=chsh_se, leaked_bits_ec=state["leaked"], ec_efficiency=state["eff"],
            errors_corrected=state["flips"], verified=state["verified"], finite_key=state["finite"],
            final_key_length=length, secret_key_rate_bps=length / d, secret_key_rate_bits_per_pulse=length / num_pulses,
            aborted=reason is not None, abort_reason=reason, alice_key=ka, bob_key=kb,
            wall_time_s=time.perf_counter() - t0, provenance=provenance)

    if alice.size == 0 or n_test == 0:
        return finish(f"no sifted bits to work with (key basis {alice.size}, test basis {n_test}): "
                      "send more pulses or shorten the link")
    if qber > threshold:
        return finish(f"QBER {qber:.2%} (interval {interval[0]:.2%}-{interval[1]:.2%}) is above the threshold "
                      f"{threshold:.2%}: an eavesdropper or a broken link; no key")
    if chsh is not None and not chsh > 2.0:
        return finish(f"CHSH S = {chsh:.3f} +- {chsh_se:.3f} does not violate the local bound 2: no key")
    res = cascade(alice, bob, min(max(qber, 1e-3), 0.25), passes=cascade_passes, seed=rng)
    state.update(leaked=res.leaked_bits, eff=res.efficiency, flips=res.errors_corrected,
                 qber_key=res.errors_corrected / alice.size)
    tag_bits = max(1, math.ceil(math.log2(1.0 / epsilon_cor)))
    tag_seed = rng.integers(0, 2, alice.size + tag_bits - 1, dtype=np.uint8)
    verified = bool(np.array_equal(toeplitz_hash(alice, tag_seed, tag_bits),
                                   toeplitz_hash(res.corrected, tag_seed, tag_bits)))
    state["verified"] = verified
    if not verified:
        return finish("verification failed: Alice's and Bob's keys still differ after error correction")
    if protocol in _DECOY:
        finite = finite_key_length_bb84_decoy(raw.intensities, probs, n_x, n_z, m_z, leaked_ec_bits=res.leaked_bits,
                                              epsilon_sec=epsilon_sec, epsilon_cor=epsilon_cor)
    elif protocol == "bb84":
        finite = _finite_key_no_decoy(raw, gains[0], int(n_x.sum()), int(n_z.sum()), int(m_z.sum()), res.leaked_bits,
                                      epsilon_sec, epsilon_cor)
    else:
        finite = finite_key_length_single_photon(int(n_x.sum()), int(n_z.sum()), int(m_z.sum()),
                                                 leaked_ec_bits=res.leaked_bits, epsilon_sec=epsilon_sec,
                                                 epsilon_cor=epsilon_cor)
    state["finite"] = finite
    length = min(int(finite["length"]), int(alice.size))
    if length <= 0:
        why = ""
        if protocol in _DECOY:
            why = f" (single-photon detections bounded below by s_X1 = {finite['s_x1']:.1f})"
        return finish(f"the finite-key bound leaves no secret key: l = {finite['length']}{why}")
    state["length"] = length
    pa_seed = rng.integers(0, 2, alice.size + length - 1, dtype=np.uint8)
    state["keys"] = (toeplitz_hash(alice, pa_seed, length), toeplitz_hash(res.corrected, pa_seed, length))
    return finish(None)


def _finite_key_no_decoy(raw, gain: float, n_x: int, n_z: int, m_z: int, leaked: int, eps_sec: float,
                         eps_cor: float) -> dict:
    """GLLP without decoys, with finite statistics: at most ``P_multi`` of the pulses were
    multi-photon, so at least ``Omega = 1 - P_multi / Q`` of the detections are single photons
    (or vacuum); their phase error is at most ``e_Z / Omega`` plus the sampling deviation
    ``gamma`` of Lim et al. 2014, and
    ``l = Omega n_X (1 - h(phi)) - leak - 6 log2(21/eps_sec) - log2(2/eps_cor)``."""
    mu = raw.intensities[0]
    p_multi = 1.0 - math.exp(-mu) * (1.0 + mu)
    omega = 1.0 - p_multi / gain if gain > 0 else 0.0
    if omega <= 0 or n_z == 0 or n_x == 0:
        return {"length": -1, "omega": omega, "phase_error_x": 0.5}
    e = min(0.5, m_z / n_z / omega)
    phi = min(0.5, e + phase_error_deviation(eps_sec, e, omega * n_z, omega * n_x))
    h = 0.0 if phi <= 0 or phi >= 1 else -phi * math.log2(phi) - (1 - phi) * math.log2(1 - phi)
    length = omega * n_x * (1 - h) - leaked - 6 * math.log2(21 / eps_sec) - math.log2(2 / eps_cor)
    return {"length": math.floor(length), "omega": omega, "phase_error_x": phi}
