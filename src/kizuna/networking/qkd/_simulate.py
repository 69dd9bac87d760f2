"""Pulse-level simulation of QKD links, vectorised over pulses with numpy.

Every pulse (every slot of the pair source) gets its intensity, and its fate in the fiber and
the detector, drawn from one seeded ``numpy.random.Generator``, in chunks of
``CHUNK`` pulses (a result depends on the seed, never on memory). What matters for the keys
is only drawn for the pulses that click -- bases, bits and photon numbers are independent of
the click, so drawing them after it changes no distribution and keeps an 8e7-pulse second
cheap.

Physics (the conventions of the rate models, ``_rates``):

* weak coherent pulses: Poisson photon numbers of mean ``mu_k`` for intensity ``k``; each photon
  survives the fiber and is detected with ``eta = T * eta_det``, so a pulse gives a photon
  click with ``1 - exp(-eta mu_k)`` (Poisson thinning; the detected and undetected photon
  numbers are independent Poisson variables, which gives each clicking pulse its photon number);
* dark counts: probability ``Y0`` per pulse, in a random one of Bob's two detectors; a dark
  count alone gives a random bit, a dark count in the other detector than a photon's a double
  click, squashed to a random bit;
* a detected photon measured in Alice's basis is wrong with probability ``e_d`` (misalignment);
  in the other basis it is random;
* BBM92: a midpoint source emits Poisson(``mu``) pairs per slot, each photon reaching its side
  with ``eta`` of half the fiber; a coincidence from one pair alone has correlation
  ``(1 - 2 e_d) cos(theta_a - theta_b)`` for measurement angles ``theta`` in the X-Z plane of the
  Bloch sphere (a Werner pair of visibility ``1 - 2 e_d``), any other coincidence is random.

Attacks: ``intercept-resend`` (Eve, at Bob's end of the fiber, measures a fraction of the
pulses in a random basis with a perfect detector and resends one photon in the state she
found: a 25% error rate on what she touched) and ``pns`` (photon-number splitting at Alice's
output: Eve blocks every single-photon pulse, keeps one photon of every multi-photon pulse and
forwards the rest over a lossless line, blocking just enough of them that the signal gain
matches an honest link's; decoy intensities then show gains no honest link gives).

This module imports ``core``, ``networking.hardware`` and ``networking.qkd._rates`` only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...errors import QKDError
from ._rates import QKDLink, _number, check_protocol

__all__ = ["ATTACKS", "RawRecord", "simulate_pulses"]

ATTACKS = ("none", "intercept-resend", "pns")

#: Pulses per vectorised chunk.
CHUNK = 1 << 22

#: Measurement angles in the X-Z plane of the Bloch sphere: Z, X, and Bob's two CHSH settings.
ANGLES = np.array([0.0, math.pi / 2, math.pi / 4, -math.pi / 4])


@dataclass
class RawRecord:
    """The clicks of one run, one entry per pulse (slot) that clicked, in pulse order.

    Attributes:
        protocol: the protocol simulated. num_pulses: pulses (slots) sent.
        intensities: the intensities (mean photon numbers; pairs per slot for BBM92).
        pulses_per_intensity: how many pulses of each intensity Alice sent.
        pulse: index of each clicking pulse. intensity: its intensity class (``uint8``).
        alice_basis, bob_basis: 0 = Z, 1 = X (BBM92's Bob also 2, 3: the CHSH settings
            ``+-pi/4``). alice_bit, bob_bit: the raw bits (``uint8``).
        photon_number: photons Alice's pulse held (``-1`` where not tracked: pulses Eve
            intercepted and resent, BBM92).
        attacked: whether Eve acted on the pulse.
        pns_forward_probability: the forwarding probability Eve's PNS attack used (or ``None``).
    """

    protocol: str
    num_pulses: int
    intensities: tuple[float, ...]
    pulses_per_intensity: np.ndarray
    pulse: np.ndarray
    intensity: np.ndarray
    alice_basis: np.ndarray
    alice_bit: np.ndarray
    bob_basis: np.ndarray
    bob_bit: np.ndarray
    photon_number: np.ndarray
    attacked: np.ndarray
    pns_forward_probability: float | None = None

    @property
    def num_clicks(self) -> int:
        return int(self.pulse.size)


def _truncated_poisson(rng: np.random.Generator, lam: float, size: int) -> np.ndarray:
    """Poisson(``lam``) conditioned on >= 1, by inverse transform over a table."""
    if size == 0:
        return np.zeros(0, dtype=np.int64)
    kmax = int(lam + 12 * math.sqrt(lam) + 30)
    k = np.arange(1, kmax + 1)
    logp = k * math.log(lam) - lam - np.cumsum(np.log(k))
    p = np.exp(logp)
    cdf = np.cumsum(p) / p.sum()
    return np.minimum(np.searchsorted(cdf, rng.random(size)), kmax - 1) + 1


def _sparse_bernoulli(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    """Sorted indices in ``range(n)`` of independent events of probability ``p`` (exact: the
    gaps between events are geometric)."""
    if p <= 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    if p > 0.05:
        return np.flatnonzero(rng.random(n) < p)
    expected = n * p
    out = []
    pos = -1
    while True:
        gaps = rng.geometric(p, size=int(expected + 6 * math.sqrt(expected) + 16))
        idx = pos + np.cumsum(gaps)
        out.append(idx[idx < n])
        if idx[-1] >= n:
            break
        pos = int(idx[-1])
    return np.concatenate(out).astype(np.int64)


def _merge_sorted(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The sorted union of two sorted index arrays (``np.union1d`` hashes, which is slower)."""
    out = np.concatenate([a, b])
    out.sort(kind="stable")
    if out.size:
        out = out[np.concatenate(([True], out[1:] != out[:-1]))]
    return out


def _pns_click_probability(mu: float, eta_det: float, forward: float) -> float:
    """Bob's photon-click probability under the PNS attack: ``forward * sum_{n>=2} P(n)
    (1 - (1 - eta_det)**(n - 1))``."""
    if mu == 0:
        return 0.0
    x = 1.0 - eta_det
    multi = 1.0 - math.exp(-mu) * (1.0 + mu)
    if x == 0:
        tail = 0.0
    else:
        tail = math.exp(-mu) / x * (math.expm1(mu * x) - mu * x)
    return forward * (multi - tail)


def _outcomes(rng, alice_bit, correlation):
    """Bob's bits: equal to Alice's with probability ``(1 + correlation)/2``."""
    flip = rng.random(alice_bit.size) >= 0.5 * (1.0 + correlation)
    return (alice_bit ^ flip).astype(np.uint8)


def simulate_pulses(protocol: str, distance_km: float, link: QKDLink, num_pulses: int, *,
                    intensities=(0.5, 0.2, 0.0), intensity_probabilities=(0.6, 0.25, 0.15),
                    x_basis_probability: float = 0.5, chsh_fraction: float = 0.1,
                    attack: str = "none", attack_fraction: float = 1.0,
                    rng: np.random.Generator) -> RawRecord:
    """Send ``num_pulses`` pulses (slots) over the link and record every click.

    Args:
        protocol: ``bb84-decoy``/``bb84-decoy-vacuum-weak`` (three intensities), ``bb84`` and
            ``bb84-single-photon`` (one), ``bbm92`` (``intensities[0]`` pairs per slot).
        intensities, intensity_probabilities: mean photon numbers and how often each is sent
            (protocols with one intensity use the first).
        x_basis_probability: probability each party picks the X basis.
        chsh_fraction: BBM92: the fraction of slots Bob measures at a CHSH angle (``+-pi/4``).
        attack: ``none``, ``intercept-resend`` or ``pns``; attack_fraction: intercept-resend:
            fraction of pulses Eve intercepts.
        rng: the generator every draw comes from.

    Cost: ``O(num_pulses)`` time in chunks of ``CHUNK``; memory ``O(CHUNK + clicks)``.
    """
    check_protocol(protocol)
    if attack not in ATTACKS:
        raise QKDError(f"unknown attack {attack!r}; choose one of {', '.join(ATTACKS)}")
    if isinstance(num_pulses, bool) or int(num_pulses) != num_pulses or num_pulses < 0:
        raise QKDError(f"num_pulses must be a non-negative integer (got {num_pulses!r})")
    num_pulses = int(num_pulses)
    p_x = _number(x_basis_probability, "x_basis_probability", high=1.0)
    frac = _number(attack_fraction, "attack_fraction", high=1.0)
    if protocol == "bbm92":
        if attack == "pns":
            raise QKDError("attack 'pns' applies to weak coherent pulses, not to bbm92")
        return _simulate_bbm92(distance_km, link, num_pulses, float(intensities[0]), p_x,
                               _number(chsh_fraction, "chsh_fraction", high=1.0), attack, frac, rng)
    if protocol in ("bb84-decoy", "bb84-decoy-vacuum-weak"):
        mus = tuple(_number(m, "intensity") for m in intensities)
        probs = tuple(_number(p, "intensity probability", high=1.0) for p in intensity_probabilities)
        if len(mus) != len(probs) or not mus:
            raise QKDError(f"intensities and intensity_probabilities must have equal, non-zero lengths "
                               f"(got {len(mus)} and {len(probs)})")
        if abs(sum(probs) - 1.0) > 1e-9:
            raise QKDError(f"intensity_probabilities must sum to 1 (got {sum(probs):g})")
    elif protocol == "bb84-single-photon":
        if attack == "pns":
            raise QKDError("attack 'pns' needs multi-photon pulses; bb84-single-photon has none")
        mus, probs = (1.0,), (1.0,)
    else:
        mus, probs = (_number(intensities[0], "mu", open_low=True),), (1.0,)
    single = protocol == "bb84-single-photon"
    if mus[0] <= 0:
        raise QKDError(f"mu must be > 0 (got {mus[0]!r})")
    t = link.fiber(distance_km).transmissivity
    eta_d = link.detector_efficiency
    eta = t * eta_d
    mu_arr = np.array(mus)
    cum = np.cumsum(probs)[:-1].astype(np.float32)
    if single:
        p_honest = np.array([eta])
        p_ir = np.array([eta_d])  # Eve at Bob's end: photon arrives w.p. T, she resends one
        p_ir = p_ir * t
    else:
        p_honest = -np.expm1(-eta * mu_arr)
        p_ir = -np.expm1(-t * mu_arr) * eta_d
    forward = None
    if attack == "pns":
        # forward just enough multi-photon pulses that the signal gain matches an honest link
        full = _pns_click_probability(mus[0], eta_d, 1.0)
        forward = min(1.0, p_honest[0] / full) if full > 0 else 0.0
    p_dark = link.dark_count_probability

    parts = {k: [] for k in ("pulse", "cls", "ph", "dark", "n", "att")}
    counts = np.zeros(len(mus), dtype=np.int64)
    kk = len(mus)
    # honest link, one uniform per pulse: [0, 1) is cut into "class k, photon click" segments,
    # then "class k, no photon click" ones, so that u decides both and a click is u < edges[kk-1]
    seg_p = np.concatenate([np.array(probs) * p_honest, np.array(probs) * (1.0 - p_honest)])
    edges = np.cumsum(seg_p)
    edges[-1] = np.inf
    for start in range(0, num_pulses, CHUNK):
        c = min(CHUNK, num_pulses - start)
        att = None
        n_all = None
        dark_idx = _sparse_bernoulli(rng, c, p_dark)
        if attack == "none":
            u = rng.random(c)
            ph_idx = np.flatnonzero(u < edges[kk - 1])
            below = [ph_idx.size] + [int(np.count_nonzero(u < e)) for e in edges[kk:2 * kk - 1]] + [c]
            clicks_per_class = np.bincount(np.searchsorted(edges, u[ph_idx], side="right"), minlength=kk)[:kk]
            counts += clicks_per_class + np.diff(below)
            idx = _merge_sorted(ph_idx, dark_idx)
            seg = np.searchsorted(edges, u[idx], side="right")
            cls_idx = (seg % kk).astype(np.uint8)
            ph_sel = seg < kk
            pos = np.minimum(np.searchsorted(dark_idx, idx), max(dark_idx.size - 1, 0))
            dark_sel = dark_idx[pos] == idx if dark_idx.size else np.zeros(idx.size, dtype=bool)
        else:
            if kk > 1:
                u32 = rng.random(c, dtype=np.float32)
                cls = np.zeros(c, dtype=np.uint8)
                for b in cum:
                    cls += u32 >= b
            else:
                cls = np.zeros(c, dtype=np.uint8)
            counts += np.bincount(cls, minlength=kk)
            if attack == "pns":
                n_all = rng.poisson(mu_arr[cls])
                v = rng.random(c)
                keep = (n_all >= 2) & (rng.random(c) < forward)
                ph = keep & (v < -np.expm1(np.log1p(-eta_d) * (n_all - 1)) if eta_d < 1 else keep)
                att = np.ones(c, dtype=bool)
            else:
                prob = p_honest[cls]
                if frac > 0:
                    att = rng.random(c, dtype=np.float32) < frac
                    prob = np.where(att, p_ir[cls], prob)
                # float64: a float32 draw's 2**-24 grain would bias clicks of probability ~1e-5
                ph = rng.random(c) < prob
            dark = np.zeros(c, dtype=bool)
            dark[dark_idx] = True
            idx = np.flatnonzero(ph | dark)
            cls_idx, ph_sel, dark_sel = cls[idx], ph[idx], dark[idx]
        parts["pulse"].append(idx + start)
        parts["cls"].append(cls_idx)
        parts["ph"].append(ph_sel)
        parts["dark"].append(dark_sel)
        parts["att"].append(att[idx] if att is not None else np.zeros(idx.size, dtype=bool))
        if n_all is not None:
            parts["n"].append(n_all[idx])
        else:
            n = np.full(idx.size, -1, dtype=np.int64)
            ci, phi = cls_idx, ph_sel
            honest = ~parts["att"][-1]
            for k, m in enumerate(mus):
                if single:
                    n[(ci == k) & honest] = 1
                    continue
                sel = (ci == k) & honest
                det = sel & phi
                nd = np.zeros(idx.size, dtype=np.int64)
                nd[det] = _truncated_poisson(rng, eta * m, int(det.sum())) if m > 0 else 0
                n[sel] = nd[sel] + rng.poisson((1.0 - eta) * m, int(sel.sum()))
            parts["n"].append(n)
    pulse = np.concatenate(parts["pulse"]) if parts["pulse"] else np.zeros(0, np.int64)
    cls = np.concatenate(parts["cls"]) if parts["cls"] else np.zeros(0, np.uint8)
    ph = np.concatenate(parts["ph"]) if parts["ph"] else np.zeros(0, bool)
    dark = np.concatenate(parts["dark"]) if parts["dark"] else np.zeros(0, bool)
    att = np.concatenate(parts["att"]) if parts["att"] else np.zeros(0, bool)
    nph = np.concatenate(parts["n"]) if parts["n"] else np.zeros(0, np.int64)
    m = pulse.size
    a_basis = (rng.random(m) < p_x).astype(np.uint8)
    b_basis = (rng.random(m) < p_x).astype(np.uint8)
    a_bit = rng.integers(0, 2, m, dtype=np.uint8)
    # the correlation between Alice's bit and Bob's
    vis = 1.0 - 2.0 * link.misalignment
    corr = np.where(a_basis == b_basis, vis, 0.0)
    if attack == "intercept-resend":
        e_basis = rng.integers(0, 2, m, dtype=np.uint8)
        corr = np.where(att, np.where((e_basis == a_basis) & (e_basis == b_basis), vis, 0.0), corr)
    # a dark count alone, or in the other detector than the photon's (double click): random
    other = rng.random(m) < 0.5
    random_bit = ~ph | (dark & other)
    corr = np.where(random_bit, 0.0, corr)
    b_bit = _outcomes(rng, a_bit, corr)
    return RawRecord(protocol, num_pulses, tuple(float(x) for x in mus), counts, pulse, cls, a_basis, a_bit,
                     b_basis, b_bit, nph, att, forward)


def _simulate_bbm92(distance_km, link: QKDLink, num_slots: int, mu: float, p_x: float, chsh_fraction: float,
                    attack: str, frac: float, rng: np.random.Generator) -> RawRecord:
    if not mu > 0:
        raise QKDError(f"mu must be > 0 (got {mu!r})")
    half = link.fiber(_number(distance_km, "distance_km") / 2).transmissivity * link.detector_efficiency
    a = mu * half * (1 - half)  # pairs seen by Alice only
    b = mu * (1 - half) * half  # by Bob only
    c = mu * half * half        # by both
    # slot categories: 0 no photon detected, 1 Alice only, 2 Bob only, 3 both, one pair alone,
    # 4 both otherwise (Poisson thinning: N_AB, N_A, N_B independent)
    p_none = math.exp(-(a + b + c))
    p_a = math.exp(-(b + c)) * -math.expm1(-a)
    p_b = math.exp(-(a + c)) * -math.expm1(-b)
    p_good = c * p_none
    edges = np.cumsum([p_none, p_a, p_b, p_good])
    y0 = link.dark_count_probability
    parts_idx, parts_cat, parts_dark = [], [], []
    for start in range(0, num_slots, CHUNK):
        n = min(CHUNK, num_slots - start)
        cat = np.searchsorted(edges, rng.random(n), side="right").astype(np.uint8)
        dark_a = np.zeros(n, dtype=bool)
        dark_b = np.zeros(n, dtype=bool)
        dark_a[_sparse_bernoulli(rng, n, y0)] = True
        dark_b[_sparse_bernoulli(rng, n, y0)] = True
        click_a = (cat == 1) | (cat >= 3) | dark_a
        click_b = (cat == 2) | (cat >= 3) | dark_b
        idx = np.flatnonzero(click_a & click_b)
        parts_idx.append(idx + start)
        parts_cat.append(cat[idx])
        parts_dark.append(dark_a[idx] | dark_b[idx])
    pulse = np.concatenate(parts_idx) if parts_idx else np.zeros(0, np.int64)
    cat = np.concatenate(parts_cat) if parts_cat else np.zeros(0, np.uint8)
    dark = np.concatenate(parts_dark) if parts_dark else np.zeros(0, bool)
    m = pulse.size
    a_basis = (rng.random(m) < p_x).astype(np.uint8)
    u = rng.random(m)
    b_basis = np.where(u < chsh_fraction, np.where(u < chsh_fraction / 2, 2, 3),
                       (rng.random(m) < p_x).astype(np.int64)).astype(np.uint8)
    a_bit = rng.integers(0, 2, m, dtype=np.uint8)
    vis = 1.0 - 2.0 * link.misalignment
    ta, tb = ANGLES[a_basis], ANGLES[b_basis]
    att = np.zeros(m, dtype=bool)
    if attack == "intercept-resend" and frac > 0:
        att = rng.random(m) < frac
        te = ANGLES[rng.integers(0, 2, m)]
        corr = np.where(att, vis * np.cos(ta - te) * np.cos(te - tb), vis * np.cos(ta - tb))
    else:
        corr = vis * np.cos(ta - tb)
    corr = np.where((cat == 3) & ~dark, corr, 0.0)
    b_bit = _outcomes(rng, a_bit, corr)
    return RawRecord("bbm92", num_slots, (mu,), np.array([num_slots]), pulse, np.zeros(m, np.uint8), a_basis, a_bit,
                     b_basis, b_bit, np.full(m, -1, np.int64), att, None)
