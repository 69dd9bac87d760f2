"""Estimating a Ramsey frequency from counts: simulated shots, maximum likelihood, Bayesian grid.

Adaptive phase estimation (``adaptive_phase_estimation``) follows the Higgins–Berry scheme: a
phase ``phi`` is probed with ``p = 2^k`` passes (``P(+1) = (1 + cos(p phi - theta))/2``),
rounds of increasing ``p`` with ``M + G (K - 1 - k)`` measurements each, and a feedback phase
``theta`` chosen greedily to maximise the expected sharpness of the posterior.

Model (one qubit, see ``ramsey_probability``): after an interrogation of ``t`` seconds the
``|0>`` outcome has probability ``p(omega) = (1 + e^{-t/T2} cos(omega t + phase)) / 2``. Counts
are numbers of ``|0>`` outcomes out of ``shots``. All functions are vectorised over
repetitions; every stochastic one takes ``seed`` (an int, a ``numpy.random.Generator`` or None)
and is reproducible bit for bit.

This module imports numpy, scipy and the sensing modules only.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from ..core.random import resolve_seed
from ..errors import SensingError
from ._protocols import _positive, ramsey_probability

__all__ = [
    "GridPosterior",
    "ParticlePosterior",
    "PhaseEstimationResult",
    "adaptive_phase_estimation",
    "ramsey_bayes",
    "ramsey_fisher_classical",
    "ramsey_mle",
    "ramsey_smc",
    "simulate_ramsey_counts",
]


def _shots(shots) -> int:
    if isinstance(shots, bool) or not isinstance(shots, numbers.Integral) or shots < 1:
        raise SensingError(f"shots must be an integer >= 1 (got {shots!r})")
    return int(shots)


def simulate_ramsey_counts(detuning_rad_s: float, time_s: float, t2_s: float, shots: int, *,
                           repetitions: int | None = None, phase: float = 0.0, seed=None) -> np.ndarray:
    """Binomially sampled ``|0>`` counts of a Ramsey experiment.

    Returns:
        An int64 count (``repetitions=None``) or a ``(repetitions,)`` array of counts.

    Raises:
        SensingError: ``t2_s <= 0``, ``time_s < 0``, ``shots < 1``, ``repetitions < 1``.

    Example:
        >>> simulate_ramsey_counts(0.0, 0.0, 1e-4, 100, seed=1)  # p = 1 at t = 0
        100
    """
    shots = _shots(shots)
    p = float(ramsey_probability(time_s, detuning_rad_s, t2_s, phase))
    rng, _ = resolve_seed(seed)
    if repetitions is None:
        return int(rng.binomial(shots, min(max(p, 0.0), 1.0)))
    if isinstance(repetitions, bool) or not isinstance(repetitions, numbers.Integral) or repetitions < 1:
        raise SensingError(f"repetitions must be an integer >= 1 (got {repetitions!r})")
    return rng.binomial(shots, min(max(p, 0.0), 1.0), size=int(repetitions))


def ramsey_mle(counts, shots: int, time_s: float, t2_s: float, *, phase: float = 0.0) -> np.ndarray:
    """Maximum-likelihood frequency (rad/s) from Ramsey counts at one interrogation time.

    The binomial likelihood is maximal at ``p(omega) = counts/shots``; inverting the fringe on
    the branch ``omega t + phase`` in ``[0, pi]`` gives
    ``omega = (arccos(clip((2 k/n - 1) e^{t/T2}, -1, 1)) - phase) / t`` (clipped where the
    observed contrast exceeds the model's). Vectorised over ``counts``.

    Raises:
        SensingError: counts outside ``[0, shots]``, non-positive time or T2.

    Example:
        >>> round(float(ramsey_mle(50, 100, 1e-5, 1e-4)), 6)  # p = 1/2: omega t = pi/2
        157079.632679
    """
    shots = _shots(shots)
    t = _positive(time_s, "time_s")
    t2 = _positive(t2_s, "t2_s")
    k = np.asarray(counts, dtype=np.float64)
    if np.any(k < 0) or np.any(k > shots):
        raise SensingError(f"counts must lie in [0, shots={shots}] (got values from {k.min():g} to {k.max():g})")
    c = np.clip((2.0 * k / shots - 1.0) * math.exp(t / t2), -1.0, 1.0)
    return (np.arccos(c) - phase) / t


def ramsey_fisher_classical(detuning_rad_s: float, time_s: float, t2_s: float, *, phase: float = 0.0) -> float:
    """Classical Fisher information (s^2, per shot) of the Ramsey fringe about ``omega``:
    ``(dp/domega)^2 / (p (1 - p))``.

    Example:
        >>> f = ramsey_fisher_classical(math.pi / 1e-4, 0.5e-4, 1e-4)  # quadrature, t = T2/2
        >>> bool(abs(f / (0.5e-4 ** 2 * math.exp(-1)) - 1) < 1e-12)
        True
    """
    t = _positive(time_s, "time_s")
    t2 = _positive(t2_s, "t2_s")
    p = float(ramsey_probability(t, detuning_rad_s, t2, phase))
    dp = -0.5 * math.exp(-t / t2) * math.sin(detuning_rad_s * t + phase) * t
    denom = p * (1.0 - p)
    return 0.0 if denom <= 0 else dp * dp / denom


@dataclass(frozen=True)
class GridPosterior:
    """A posterior on a grid of frequencies.

    Attributes:
        grid_rad_s: ``(G,)`` grid points (rad/s).
        posterior: ``(G,)`` normalised posterior probabilities (or ``(R, G)`` for ``R``
            repetitions).
        mean_rad_s: posterior mean(s).
        std_rad_s: posterior standard deviation(s).
    """

    grid_rad_s: np.ndarray
    posterior: np.ndarray
    mean_rad_s: np.ndarray | float
    std_rad_s: np.ndarray | float


def ramsey_bayes(counts, shots: int, times_s, t2_s: float, grid_rad_s, *, phase: float = 0.0,
                 prior=None) -> GridPosterior:
    """Bayesian grid estimate of ``omega`` from counts at one or several interrogation times.

    Args:
        counts: ``(M,)`` counts at the ``M`` times, or ``(R, M)`` for ``R`` repetitions.
        shots: shots per time.
        times_s: ``(M,)`` interrogation times (s).
        t2_s: coherence time (s).
        grid_rad_s: ``(G,)`` increasing grid of candidate frequencies (rad/s).
        prior: ``(G,)`` prior weights (default uniform).

    Returns:
        ``GridPosterior`` (log-likelihoods summed in float64 and normalised with log-sum-exp).

    Raises:
        SensingError: mismatched shapes, counts out of range, a non-positive prior.

    Example:
        >>> grid = np.linspace(0, 3e5, 3001)
        >>> post = ramsey_bayes([50], 100, [1e-5], 1e-4, grid)
        >>> bool(abs(grid[np.argmax(post.posterior)] - 1.5708e5) < 200)
        True
    """
    shots = _shots(shots)
    t2 = _positive(t2_s, "t2_s")
    times = np.atleast_1d(np.asarray(times_s, dtype=np.float64))
    if np.any(times < 0):
        raise SensingError(f"times_s must be >= 0 (got {times_s!r})")
    k = np.asarray(counts, dtype=np.float64)
    single = k.ndim <= 1
    k = np.atleast_2d(k)
    if k.shape[-1] != times.size:
        raise SensingError(f"counts must have {times.size} column(s), one per time (got shape {k.shape})")
    if np.any(k < 0) or np.any(k > shots):
        raise SensingError(f"counts must lie in [0, shots={shots}]")
    grid = np.asarray(grid_rad_s, dtype=np.float64)
    if grid.ndim != 1 or grid.size < 2 or np.any(np.diff(grid) <= 0):
        raise SensingError("grid_rad_s must be an increasing 1-D array of at least 2 points")
    p = ramsey_probability(times[None, :], grid[:, None], t2, phase)  # (G, M)
    p = np.clip(p, 1e-300, 1.0 - 1e-16)
    logl = k @ np.log(p).T + (shots - k) @ np.log1p(-p).T  # (R, G)
    if prior is not None:
        pr = np.asarray(prior, dtype=np.float64)
        if pr.shape != grid.shape or np.any(pr < 0) or not np.any(pr > 0):
            raise SensingError("prior must be non-negative weights on the grid, not all zero")
        with np.errstate(divide="ignore"):
            logl = logl + np.log(pr)[None, :]
    logl -= logl.max(axis=1, keepdims=True)
    post = np.exp(logl)
    post /= post.sum(axis=1, keepdims=True)
    mean = post @ grid
    std = np.sqrt(np.maximum(post @ grid**2 - mean**2, 0.0))
    if single:
        return GridPosterior(grid, post[0], float(mean[0]), float(std[0]))
    return GridPosterior(grid, post, mean, std)


@dataclass(frozen=True)
class ParticlePosterior:
    """A posterior held by weighted particles (``ramsey_smc``).

    Attributes:
        particles_rad_s: ``(P,)`` particle positions (rad/s), or ``(R, P)`` for ``R`` repetitions.
        weights: normalised weights, same shape.
        mean_rad_s: posterior mean(s).
        std_rad_s: posterior standard deviation(s).
        resamples: how many Liu–West resampling steps were taken (per repetition).
        seed: the integer seed recorded (``None`` when a Generator was passed).
    """

    particles_rad_s: np.ndarray
    weights: np.ndarray
    mean_rad_s: np.ndarray | float
    std_rad_s: np.ndarray | float
    resamples: np.ndarray | int
    seed: int | None


def ramsey_smc(counts, shots: int, times_s, t2_s: float, prior_bounds_rad_s, *, phase: float = 0.0,
               num_particles: int = 2000, liu_west_a: float = 0.98, resample_threshold: float = 0.5,
               batch_shots: int = 10, seed=None) -> ParticlePosterior:
    """Sequential Monte Carlo (particle filter) estimate of ``omega`` from Ramsey counts, with
    Liu–West resampling.

    Particles start uniform on ``prior_bounds_rad_s``. The data are taken time by time, each
    time's ``(counts, shots)`` in sub-batches of at most ``batch_shots`` shots (the product of the
    sub-batch binomial likelihoods is the full one, so this is exact and keeps the weights from
    collapsing in one step). After each update, rows whose effective sample size
    ``1 / sum w^2`` falls below ``resample_threshold * P`` are resampled systematically and moved
    with the Liu–West kernel ``x -> a x + (1 - a) mean + sqrt(1 - a^2) std N(0, 1)``
    (Liu & West, in *Sequential Monte Carlo Methods in Practice*, Springer 2001; as used for
    Hamiltonian learning by Granade et al., NJP 14, 103013 (2012)), which keeps the first two
    moments and refreshes the particle set.

    Args:
        counts: ``(M,)`` counts of ``|0>`` at the ``M`` times, or ``(R, M)`` for ``R`` repetitions
            (processed together, vectorised).
        shots: shots per time.
        times_s: ``(M,)`` interrogation times (s), processed in this order.
        t2_s: coherence time (s).
        prior_bounds_rad_s: ``(low, high)`` of the uniform prior (rad/s).
        num_particles: ``P``.
        liu_west_a: the Liu–West shrinkage ``a`` in ``(0, 1]`` (1: plain bootstrap resampling).
        resample_threshold: ESS fraction in ``(0, 1]`` below which a row is resampled.
        batch_shots: largest sub-batch of shots per likelihood update.
        seed: int, Generator or None (reproducible bit for bit).

    Returns:
        ``ParticlePosterior``.

    Cost: ``O(R P M shots / batch_shots)``.

    Raises:
        SensingError: counts out of range or mismatched, bad bounds, ``a`` or threshold out of
            range, ``P < 2``.

    Example:
        >>> post = ramsey_smc([50], 100, [1e-5], 1e-4, (0.0, 3e5), seed=1)
        >>> bool(abs(post.mean_rad_s - 1.5708e5) < 3 * post.std_rad_s), post.seed
        (True, 1)
    """
    shots = _shots(shots)
    t2 = _positive(t2_s, "t2_s")
    times = np.atleast_1d(np.asarray(times_s, dtype=np.float64))
    if times.ndim != 1 or np.any(times < 0) or not np.all(np.isfinite(times)):
        raise SensingError(f"times_s must be finite times >= 0 (got {times_s!r})")
    k = np.asarray(counts, dtype=np.float64)
    single = k.ndim <= 1
    k = np.atleast_2d(k)
    if k.shape[-1] != times.size or k.ndim != 2:
        raise SensingError(f"counts must have {times.size} column(s), one per time (got shape {k.shape})")
    if np.any(k < 0) or np.any(k > shots) or np.any(k != np.round(k)):
        raise SensingError(f"counts must be integers in [0, shots={shots}]")
    try:
        low, high = (float(b) for b in prior_bounds_rad_s)
    except (TypeError, ValueError):
        raise SensingError(f"prior_bounds_rad_s must be (low, high) (got {prior_bounds_rad_s!r})") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise SensingError(f"prior_bounds_rad_s must be finite with low < high (got {prior_bounds_rad_s!r})")
    for name, value, lo in (("num_particles", num_particles, 2), ("batch_shots", batch_shots, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lo:
            raise SensingError(f"{name} must be an integer >= {lo} (got {value!r})")
    if not (isinstance(liu_west_a, numbers.Real) and 0 < liu_west_a <= 1):
        raise SensingError(f"liu_west_a must lie in (0, 1] (got {liu_west_a!r})")
    if not (isinstance(resample_threshold, numbers.Real) and 0 < resample_threshold <= 1):
        raise SensingError(f"resample_threshold must lie in (0, 1] (got {resample_threshold!r})")
    rng, recorded = resolve_seed(seed)
    reps, npart = k.shape[0], int(num_particles)
    a = float(liu_west_a)
    h = math.sqrt(max(1.0 - a * a, 0.0))
    x = rng.uniform(low, high, size=(reps, npart))
    logw = np.zeros((reps, npart))
    resamples = np.zeros(reps, dtype=np.int64)
    for m, tm in enumerate(times):
        done = np.zeros(reps)
        for start in range(0, shots, int(batch_shots)):
            stop = min(start + int(batch_shots), shots)
            kk = np.floor(k[:, m] * stop / shots + 1e-9) - done  # counts in this sub-batch
            done += kk
            nn = stop - start
            p = np.clip(ramsey_probability(tm, x, t2, phase), 1e-300, 1.0 - 1e-16)
            logw += kk[:, None] * np.log(p) + (nn - kk)[:, None] * np.log1p(-p)
            logw -= logw.max(axis=1, keepdims=True)
            w = np.exp(logw)
            w /= w.sum(axis=1, keepdims=True)
            ess = 1.0 / np.sum(w * w, axis=1)
            low_rows = np.nonzero(ess < resample_threshold * npart)[0]
            if low_rows.size:
                wr, xr = w[low_rows], x[low_rows]
                mean = np.sum(wr * xr, axis=1, keepdims=True)
                std = np.sqrt(np.maximum(np.sum(wr * (xr - mean) ** 2, axis=1, keepdims=True), 0.0))
                # systematic resampling, all rows at once: row r's cumulative weights live in (r, r+1]
                r_off = np.arange(low_rows.size)[:, None]
                cw = np.cumsum(wr, axis=1)
                cw[:, -1] = 1.0
                u = (rng.random((low_rows.size, 1)) + np.arange(npart)[None, :]) / npart
                idx = np.searchsorted((cw + r_off).ravel(), (u + r_off).ravel(), side="right").reshape(u.shape)
                idx = np.minimum(idx - r_off * npart, npart - 1)
                picked = np.take_along_axis(xr, idx, axis=1)
                x[low_rows] = a * picked + (1 - a) * mean + h * std * rng.standard_normal(picked.shape)
                logw[low_rows] = 0.0
                resamples[low_rows] += 1
    w = np.exp(logw - logw.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    mean = np.sum(w * x, axis=1)
    std = np.sqrt(np.maximum(np.sum(w * (x - mean[:, None]) ** 2, axis=1), 0.0))
    if single:
        return ParticlePosterior(x[0], w[0], float(mean[0]), float(std[0]), int(resamples[0]), recorded)
    return ParticlePosterior(x, w, mean, std, resamples, recorded)


@dataclass(frozen=True)
class PhaseEstimationResult:
    """Outcome of ``adaptive_phase_estimation`` over ``R`` repetitions.

    Attributes:
        phases: ``(R,)`` true phases (rad).
        estimates: ``(R,)`` estimates ``arg <e^{i phi}>`` of the final posteriors (rad).
        resources: total passes ``N = sum_k p_k m_k`` per repetition (the phase is applied
            ``N`` times).
        measurements: single-shot measurements per repetition.
        seed: the integer seed recorded (``None`` when a Generator was passed).
    """

    phases: np.ndarray
    estimates: np.ndarray
    resources: int
    measurements: int
    seed: int | None

    @property
    def holevo_variance(self) -> float:
        """``|<e^{i (phi_est - phi)}>|^{-2} - 1`` over the repetitions."""
        s = abs(np.mean(np.exp(1j * (self.estimates - self.phases))))
        return float(s**-2 - 1) if s > 0 else math.inf


def adaptive_phase_estimation(phase=None, *, repetitions: int = 1, num_rounds: int = 9,
                              base_measurements: int = 1, growth: int = 3, feedback_angles: int = 32,
                              seed=None) -> PhaseEstimationResult:
    """Adaptive Bayesian phase estimation with greedy expected-sharpness feedback.

    Schedule (Higgins et al., Nature 450, 393 (2007); Berry et al., PRA 80, 052114 (2009)):
    rounds ``k = 0, ..., K-1`` use ``p = 2^k`` passes and ``M + G (K - 1 - k)`` measurements,
    ``N = sum_k 2^k (M + G (K - 1 - k))`` passes in all. The posterior is kept exactly as its
    Fourier moments ``b_m = int post(phi) e^{i m phi}`` (a measurement with outcome ``s`` maps
    ``b_m -> b_m/2 + s (e^{-i theta} b_{m+p} + e^{i theta} b_{m-p})/4``), so no grid error enters;
    ``theta`` maximises ``E[sharpness] = sum_s |b_1'(s)| / b_0`` over ``feedback_angles`` values.
    Vectorised over repetitions (chunks of 256).

    Args:
        phase: the true phase (rad), an ``(R,)`` array, or ``None`` for phases drawn uniformly
            from ``[0, 2 pi)`` (the Holevo variance is then the Bayesian average).
        repetitions: ``R`` when ``phase`` is a scalar or ``None``.
        num_rounds, base_measurements, growth: ``K``, ``M``, ``G``.
        feedback_angles: candidate feedback phases per measurement.
        seed: int, Generator or None.

    Returns:
        ``PhaseEstimationResult`` (``holevo_variance``; Heisenberg scaling means
        ``V_H N^2 / pi^2`` of order 1).

    Cost: O(R N) per measurement, ``K M + G K (K - 1)/2`` measurements.

    Raises:
        SensingError: non-positive counts, ``M < 1``, ``G < 0``.

    Example:
        >>> r = adaptive_phase_estimation(1.0, repetitions=4, num_rounds=4, seed=3)
        >>> r.resources, bool(np.all(np.abs(np.angle(np.exp(1j * (r.estimates - 1.0)))) < 0.3))
        (48, True)
    """
    for name, value, low in (("repetitions", repetitions, 1), ("num_rounds", num_rounds, 1),
                             ("base_measurements", base_measurements, 1), ("growth", growth, 0),
                             ("feedback_angles", feedback_angles, 2)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise SensingError(f"{name} must be an integer >= {low} (got {value!r})")
    rng, recorded = resolve_seed(seed)
    if phase is None:
        phases = rng.uniform(0.0, 2 * math.pi, int(repetitions))
    else:
        phases = np.atleast_1d(np.asarray(phase, dtype=np.float64))
        if phases.ndim != 1 or not np.all(np.isfinite(phases)):
            raise SensingError(f"phase must be a finite number or 1-D array (got {phase!r})")
        if phases.size == 1:
            phases = np.full(int(repetitions), float(phases[0]))
    k_rounds = int(num_rounds)
    schedule = [(1 << k, int(base_measurements) + int(growth) * (k_rounds - 1 - k)) for k in range(k_rounds)]
    resources = sum(p * m for p, m in schedule)
    measurements = sum(m for _, m in schedule)
    thetas = np.linspace(0.0, 2 * math.pi, int(feedback_angles), endpoint=False)
    rot = np.exp(-1j * thetas)[None, :]
    half = resources + 2
    off = half
    estimates = np.empty_like(phases)
    for start in range(0, phases.size, 256):
        phi = phases[start:start + 256]
        r = phi.size
        b = np.zeros((r, 2 * half + 1), dtype=np.complex128)
        b[:, off] = 1.0
        for p, m in schedule:
            for _ in range(m):
                a = b[:, off + 1, None] / 2
                bb = (rot * b[:, off + 1 + p, None] + rot.conj() * b[:, off + 1 - p, None]) / 4
                th = thetas[np.argmax(np.abs(a + bb) + np.abs(a - bb), axis=1)]
                plus = 0.5 * (1.0 + np.cos(p * phi - th))
                s = np.where(rng.random(r) < plus, 1.0, -1.0)
                e = (np.exp(-1j * th) * s / 4)[:, None]
                nb = b / 2
                nb[:, :-p] += e * b[:, p:]
                nb[:, p:] += e.conj() * b[:, :-p]
                b = nb / nb[:, off:off + 1].real
        estimates[start:start + r] = np.angle(b[:, off + 1])
    return PhaseEstimationResult(phases=phases, estimates=np.mod(estimates, 2 * math.pi), resources=resources,
                                 measurements=measurements, seed=recorded)

