"""Sensing protocols: Ramsey interferometry with dephasing, and one-axis-twisted spin squeezing.

Ramsey model: ``N`` spins, each dephasing so that its coherence decays as ``e^{-t/T2}``
(collapse operators ``sqrt(1/(2 T2)) Z_k``), accumulate a phase ``omega t`` under ``omega J_z``;
``omega`` (rad/s) is estimated. The Fisher information is per shot, in s^2 (units of 1/omega^2).

Dynamical decoupling: ``decoupled_coherence`` gives the coherence ``e^{-chi(t)}`` of a qubit
under Gaussian Ornstein–Uhlenbeck frequency noise (``<dw(t) dw(0)> = sigma^2 e^{-|t|/tau_c}``)
for free induction (Ramsey), a Hahn echo, CPMG or any pi-pulse times, exactly.

NV magnetometry: an NV centre's ``m_s = 0 <-> 1`` transition shifts by ``gamma B`` with
``gamma = g mu_B / hbar`` (``g = 2.0028``); the shot-noise sensitivity of Ramsey (DC) and
Hahn-echo (AC) magnetometry with readout fidelity ``C`` and overhead time ``t_O`` follows Barry et
al., Rev. Mod. Phys. 92, 015004 (2020), sec. IV (SI units, scipy.constants).

Squeezing: one-axis twisting ``H = chi J_z^2`` applied for a twisting strength
``mu = 2 chi t`` to the coherent spin state along +x (Kitagawa & Ueda, PRA 47, 5138 (1993)).
The Kitagawa–Ueda parameter is ``xi_S^2 = 4 min(Var J_perp) / N`` and the Wineland parameter
``xi_R^2 = N min(Var J_perp) / |<J>|^2`` (Wineland et al., PRA 50, 67 (1994)). The
permutation-symmetric (Dicke) basis ``|J = N/2, m>`` has ``N + 1`` states, so ``N = 10^4`` costs
O(N) per evaluation.

This module imports numpy, scipy and the sensing modules only.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import SensingError

__all__ = [
    "NVResult",
    "RamseyResult",
    "SqueezingResult",
    "decoupled_coherence",
    "dicke_isometry",
    "dicke_spin_operators",
    "nv_readout_fidelity",
    "nv_sensitivity",
    "one_axis_twisted_state",
    "optimal_ramsey_time",
    "optimal_squeezing",
    "phase_uncertainty",
    "ramsey",
    "ramsey_fisher",
    "ramsey_probability",
    "squeezing_parameters",
]

_PROBES = ("product", "ghz")


def _positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0 < value < math.inf):
        raise SensingError(f"{name} must be > 0 and finite (got {value!r})")
    return float(value)


def _num(value, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise SensingError(f"{name} must be an integer >= {low} (got {value!r})")
    return int(value)


def _probe(probe: str) -> str:
    if probe not in _PROBES:
        raise SensingError(f"probe must be one of {', '.join(_PROBES)} (got {probe!r})")
    return probe


# --- Ramsey --------------------------------------------------------------------------------
def ramsey_probability(time_s, detuning_rad_s: float, t2_s: float, phase: float = 0.0) -> np.ndarray:
    """Probability of the ``|0>`` outcome of a single-qubit Ramsey sequence:
    ``(1 + e^{-t/T2} cos(omega t + phase)) / 2``.

    Raises:
        SensingError: ``t2_s <= 0`` or negative times.

    Example:
        >>> float(ramsey_probability(0.0, 1.0, 1e-4))
        1.0
    """
    t2 = _positive(t2_s, "t2_s")
    t = np.asarray(time_s, dtype=np.float64)
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise SensingError(f"time_s must be >= 0 and finite (got {time_s!r})")
    return 0.5 * (1.0 + np.exp(-t / t2) * np.cos(detuning_rad_s * t + phase))


def _ramsey_model(time_s: float, t2_s: float, num_qubits: int, probe: str):
    """(rho(t), d rho/d omega) from one ``evolve`` solve (the diagonal path)."""
    from ..core.paulis import PauliSum
    from ._dynamics import evolve
    from ._fisher import collective_spin

    n = num_qubits
    d = 1 << n
    if probe == "ghz":
        psi = np.zeros(d, complex)
        psi[0] = psi[-1] = 2**-0.5
    else:
        psi = np.full(d, 2 ** (-n / 2), dtype=complex)
    jz = collective_spin(n, "z")
    rate = math.sqrt(1.0 / (2.0 * t2_s))
    c_ops = [PauliSum.from_sparse_list([("Z", [k], rate)], n) for k in range(n)]
    r = evolve(0.0 * jz, psi, [0.0, time_s], c_ops, d_hamiltonian=jz, options={"store_states": True})
    return r.states[-1], r.derivatives[-1]


def ramsey_fisher(time_s: float, t2_s: float, *, num_qubits: int = 1, probe: str = "product",
                  method: str = "exact") -> float:
    """Quantum Fisher information about the frequency ``omega`` (rad/s) of ``N`` dephasing spins
    after an interrogation of ``time_s``, per shot (s^2).

    ``method="exact"`` solves the Lindblad equation with its sensitivity (``evolve``) and takes
    the SLD QFI of ``rho(t)`` (O(4**N): keep ``N`` small); ``method="analytic"`` returns
    ``N t^2 e^{-2t/T2}`` (product) or ``N^2 t^2 e^{-2Nt/T2}`` (GHZ) (Huelga et al., PRL 79, 3865
    (1997)).

    Raises:
        SensingError: non-positive time or T2, an unknown probe or method.

    Example:
        >>> f = ramsey_fisher(0.5e-4, 1e-4, num_qubits=2, probe="ghz")
        >>> bool(abs(f - ramsey_fisher(0.5e-4, 1e-4, num_qubits=2, probe="ghz", method="analytic")) < 1e-18)
        True
    """
    t = _positive(time_s, "time_s")
    t2 = _positive(t2_s, "t2_s")
    n = _num(num_qubits, "num_qubits")
    probe = _probe(probe)
    if method == "analytic":
        k = n if probe == "ghz" else 1
        return (n * k) * t * t * math.exp(-2.0 * k * t / t2)
    if method != "exact":
        raise SensingError(f"method must be 'exact' or 'analytic' (got {method!r})")
    from ._fisher import qfi_from_derivative

    rho, drho = _ramsey_model(t, t2, n, probe)
    return qfi_from_derivative(rho, drho, threshold=1e-14)


def optimal_ramsey_time(t2_s: float, *, num_qubits: int = 1, probe: str = "product",
                        method: str = "analytic") -> tuple[float, float]:
    """The interrogation time maximising the Fisher information per unit time ``F(t)/t`` (the
    figure of merit for a fixed total time), and that maximum.

    Analytic optimum (Huelga et al., PRL 79, 3865 (1997)): ``t = T2/2`` (product) or
    ``T2/(2N)`` (GHZ), and ``max F/t = N T2 / (2e)`` for both. Found here by a bounded scalar
    search on ``ramsey_fisher(..., method=method)``, to a relative ``1e-9`` in ``t``.

    Returns:
        ``(optimal_time_s, fisher_per_second)`` (s and s^2 / s).

    Example:
        >>> t, f = optimal_ramsey_time(1e-4)
        >>> round(t / 1e-4, 6)
        0.5
    """
    from scipy.optimize import minimize_scalar

    t2 = _positive(t2_s, "t2_s")
    n = _num(num_qubits, "num_qubits")
    probe = _probe(probe)
    scale = t2 / (n if probe == "ghz" else 1)

    def neg(x: float) -> float:  # x = t / scale, O(1) numbers for the optimiser
        return -ramsey_fisher(x * scale, t2, num_qubits=n, probe=probe, method=method) / (x * scale) / scale

    r = minimize_scalar(neg, bounds=(1e-3, 5.0), method="bounded", options={"xatol": 1e-10})
    return float(r.x * scale), float(-r.fun * scale)


@dataclass(frozen=True)
class RamseyResult:
    """A single-qubit Ramsey sensitivity budget.

    Attributes:
        t2_s: coherence time (s).
        shots: repetitions.
        optimal_time_s: interrogation time maximising ``F/t`` (``T2/2``).
        fisher_per_shot: ``F(t_opt)`` about ``omega`` (s^2).
        frequency_uncertainty_rad_s: Cramér–Rao bound ``1/sqrt(shots F)`` (rad/s).
        sensitivity_rad_s_per_sqrt_hz: ``1/sqrt(F/t)``, the uncertainty times sqrt(total time)
            without overhead.
    """

    t2_s: float
    shots: int
    optimal_time_s: float
    fisher_per_shot: float
    frequency_uncertainty_rad_s: float
    sensitivity_rad_s_per_sqrt_hz: float

    def to_dict(self) -> dict:
        return asdict(self)


def ramsey(t2_s: float, shots: int = 10_000) -> RamseyResult:
    """The optimal single-qubit Ramsey experiment for a coherence time ``t2_s`` and its
    Cramér–Rao frequency uncertainty.

    Raises:
        SensingError: ``t2_s <= 0`` or ``shots < 1`` (naming the value).

    Example:
        >>> r = ramsey(1e-4, shots=10_000)
        >>> round(r.optimal_time_s * 1e6, 3), round(r.frequency_uncertainty_rad_s, 3)
        (50.0, 329.744)
    """
    t2 = _positive(t2_s, "t2_s")
    shots = _num(shots, "shots")
    t, rate = optimal_ramsey_time(t2)
    f = ramsey_fisher(t, t2, method="analytic")
    return RamseyResult(t2_s=t2, shots=shots, optimal_time_s=t, fisher_per_shot=f,
                        frequency_uncertainty_rad_s=1.0 / math.sqrt(shots * f),
                        sensitivity_rad_s_per_sqrt_hz=1.0 / math.sqrt(rate))


# --- spin squeezing --------------------------------------------------------------------------
def dicke_spin_operators(num_spins: int):
    """``(Jx, Jy, Jz)`` on the symmetric subspace ``|J = N/2, m>``, ``m = J, J-1, ..., -J``
    (index ``k = J - m``), as ``scipy.sparse`` CSR matrices of size ``N + 1``.

    Example:
        >>> jx, jy, jz = dicke_spin_operators(2)
        >>> jz.diagonal().real.tolist()
        [1.0, 0.0, -1.0]
    """
    from scipy import sparse

    n = _num(num_spins, "num_spins")
    j = n / 2
    m = j - np.arange(n + 1)
    # J+ |m> = sqrt(J(J+1) - m(m+1)) |m+1>: from index k+1 (m-1) to k (m)
    up = np.sqrt(np.maximum(j * (j + 1) - m[1:] * (m[1:] + 1), 0.0))
    jp = sparse.diags(up, 1, shape=(n + 1, n + 1), format="csr", dtype=np.complex128)
    jm = jp.conj().T.tocsr()
    jx = ((jp + jm) * 0.5).tocsr()
    jy = ((jp - jm) * (-0.5j)).tocsr()
    jz = sparse.diags(m.astype(np.complex128), 0, format="csr")
    return jx, jy, jz


def dicke_isometry(num_spins: int) -> np.ndarray:
    """The ``2**N x (N + 1)`` isometry ``V`` whose column ``k`` is the Dicke state
    ``|J, m = J - k>``: the equal superposition of the basis states with ``k`` qubits in ``|1>``
    (``Z = +1`` on ``|0>``, so ``Jz = sum_k Z_k / 2`` has eigenvalue ``m``).

    ``V^dagger J_a V`` are ``dicke_spin_operators``; a collective model (``H`` and collapse
    operators functions of ``Jx, Jy, Jz``) started in a symmetric state stays in the span of
    ``V``, so ``evolve`` on the ``N + 1``-dimensional Dicke matrices is exact for it.

    Cost: ``16 * 2**N * (N + 1)`` bytes.

    Example:
        >>> dicke_isometry(2).round(3).T.tolist()[1]  # |J=1, m=0> = (|01> + |10>)/sqrt(2)
        [0.0, 0.707, 0.707, 0.0]
    """
    n = _num(num_spins, "num_spins")
    if n > 20:
        raise SensingError(f"num_spins must be <= 20 for the dense isometry (got {n})")
    idx = np.arange(1 << n)
    ones = np.bitwise_count(idx)
    v = np.zeros((1 << n, n + 1))
    v[idx, ones] = 1.0
    return v / np.sqrt(v.sum(axis=0))[None, :]


def one_axis_twisted_state(num_spins: int, mu: float) -> np.ndarray:
    """``e^{-i mu Jz^2 / 2}`` applied to the coherent spin state along +x, in the Dicke basis
    (index ``k = J - m``); amplitudes from log-binomials, so ``N = 10^5`` is fine.

    Example:
        >>> psi = one_axis_twisted_state(4, 0.0)
        >>> (abs(psi) ** 2).round(4).tolist()  # binomial(4, k) / 16
        [0.0625, 0.25, 0.375, 0.25, 0.0625]
    """
    from scipy.special import gammaln

    n = _num(num_spins, "num_spins")
    if not isinstance(mu, numbers.Real) or not math.isfinite(mu):
        raise SensingError(f"mu must be a finite real number (got {mu!r})")
    k = np.arange(n + 1)
    m = n / 2 - k
    logamp = 0.5 * (gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)) - 0.5 * n * math.log(2.0)
    return np.exp(logamp) * np.exp(-0.5j * mu * m * m)


def squeezing_parameters(state, num_spins: int) -> tuple[float, float]:
    """``(xi_S^2, xi_R^2)`` of a symmetric ``N``-spin state given in the Dicke basis.

    The minimum variance is taken over directions perpendicular to the mean spin
    (the smaller eigenvalue of the symmetrised covariance in that plane).

    Raises:
        SensingError: a state of the wrong length or not normalised; a state with zero mean
            spin (the perpendicular plane is undefined).

    Example:
        >>> xs, xr = squeezing_parameters(one_axis_twisted_state(10, 0.0), 10)
        >>> round(xs, 12), round(xr, 12)  # coherent state: 1, 1
        (1.0, 1.0)
    """
    n = _num(num_spins, "num_spins")
    psi = np.asarray(state, dtype=np.complex128)
    if psi.shape != (n + 1,):
        raise SensingError(f"state must have length num_spins + 1 = {n + 1} (got shape {psi.shape})")
    norm = float(np.vdot(psi, psi).real)
    if abs(norm - 1) > 1e-8:
        raise SensingError(f"state must be normalised (got squared norm {norm:.12g})")
    ops = dicke_spin_operators(n)
    v = np.stack([op @ psi for op in ops])  # (3, N+1)
    mean = (v @ psi.conj()).real
    cov = (v.conj() @ v.T).real - np.outer(mean, mean)  # Re<JaJb> = symmetrised
    length = float(np.linalg.norm(mean))
    if length < 1e-12 * n:
        raise SensingError("the state's mean spin is zero: squeezing parameters are undefined")
    axis = mean / length
    helper = np.array([0.0, 0.0, 1.0]) if abs(axis[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = np.cross(axis, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(axis, e1)
    basis = np.stack([e1, e2])
    vmin = float(np.linalg.eigvalsh(basis @ cov @ basis.T)[0])
    return 4.0 * vmin / n, n * vmin / length**2


def _oat_analytic(n: int, mu: float) -> tuple[float, float]:
    """Kitagawa–Ueda closed forms (PRA 47, 5138, eqs. for A, B): ``(xi_S^2, xi_R^2)``."""
    a = 1.0 - math.cos(mu) ** (n - 2)
    b = 4.0 * math.sin(mu / 2) * math.cos(mu / 2) ** (n - 2)
    vmin = n / 4.0 * (1.0 + (n - 1) / 4.0 * (a - math.sqrt(a * a + b * b)))
    jx = n / 2.0 * math.cos(mu / 2) ** (n - 1)
    return 4.0 * vmin / n, n * vmin / (jx * jx)


@dataclass(frozen=True)
class SqueezingResult:
    """The best one-axis-twisting squeezing for ``num_spins`` spins.

    Attributes:
        num_spins: N.
        parameter: ``"kitagawa_ueda"`` (xi_S^2) or ``"wineland"`` (xi_R^2).
        xi2: the minimum over the twisting strength.
        mu: the twisting strength ``2 chi t`` at the minimum.
        method: ``"dicke"`` (numerical, Dicke basis) or ``"analytic"`` (closed form).
    """

    num_spins: int
    parameter: str
    xi2: float
    mu: float
    method: str

    def to_dict(self) -> dict:
        return asdict(self)


def optimal_squeezing(num_spins: int, parameter: str = "kitagawa_ueda", *, method: str = "dicke") -> SqueezingResult:
    """Minimise ``xi_S^2`` or ``xi_R^2`` of the one-axis-twisted state over the twisting
    strength ``mu`` (bounded search on ``log mu`` around Kitagawa–Ueda's
    ``mu_opt ~ 24^{1/6} (N/2)^{-2/3}``).

    Cost: ``method="dicke"`` O(N) per evaluation (about 40 evaluations); ``"analytic"`` O(1).

    Raises:
        SensingError: ``num_spins < 3``, an unknown parameter or method.

    Example:
        >>> r = optimal_squeezing(100)
        >>> round(r.xi2, 5)  # Kitagawa-Ueda at N = 100
        0.04794
    """
    from scipy.optimize import minimize_scalar

    n = _num(num_spins, "num_spins", low=3)
    if parameter not in ("kitagawa_ueda", "wineland"):
        raise SensingError(f"parameter must be 'kitagawa_ueda' or 'wineland' (got {parameter!r})")
    if method not in ("dicke", "analytic"):
        raise SensingError(f"method must be 'dicke' or 'analytic' (got {method!r})")
    which = 0 if parameter == "kitagawa_ueda" else 1
    if method == "dicke":
        def f(mu: float) -> float:
            return squeezing_parameters(one_axis_twisted_state(n, mu), n)[which]
    else:
        def f(mu: float) -> float:
            return _oat_analytic(n, mu)[which]
    mu0 = 24 ** (1 / 6) * (n / 2) ** (-2 / 3)
    lo, hi = math.log(mu0 / 8), math.log(min(mu0 * 8, 1.5))
    r = minimize_scalar(lambda x: f(math.exp(x)), bounds=(lo, hi), method="bounded", options={"xatol": 1e-9})
    return SqueezingResult(num_spins=n, parameter=parameter, xi2=float(r.fun), mu=float(math.exp(r.x)),
                           method=method)


def phase_uncertainty(num_spins: int, probe: str = "product") -> float:
    """Single-shot phase uncertainty ``Delta phi`` of an ``N``-spin probe under ``e^{-i phi Jz}``
    without noise, computed in the Dicke basis (O(N)).

    * ``"product"``: the coherent spin state along +x, ``1/sqrt(F_Q)`` with ``F_Q = 4 Var(Jz) = N``
      (the standard quantum limit);
    * ``"ghz"``: ``(|J, J> + |J, -J>)/sqrt(2)``, ``F_Q = N^2`` (the Heisenberg limit);
    * ``"squeezed"``: the best one-axis-twisted state read out by its mean spin,
      ``xi_R / sqrt(N)`` with ``xi_R^2`` minimised over the twist (Wineland et al., PRA 50, 67).

    Raises:
        SensingError: an unknown probe, ``num_spins < 1`` (``< 3`` for ``"squeezed"``).

    Example:
        >>> round(phase_uncertainty(16, "ghz"), 12), round(phase_uncertainty(16, "product"), 12)
        (0.0625, 0.25)
    """
    if probe not in ("product", "ghz", "squeezed"):
        raise SensingError(f"probe must be one of product, ghz, squeezed (got {probe!r})")
    if probe == "squeezed":
        n = _num(num_spins, "num_spins", low=3)
        return math.sqrt(optimal_squeezing(n, "wineland").xi2 / n)
    n = _num(num_spins, "num_spins")
    if probe == "product":
        psi = one_axis_twisted_state(n, 0.0)
    else:
        psi = np.zeros(n + 1, complex)
        psi[0] = psi[-1] = 2**-0.5
    m = n / 2 - np.arange(n + 1)
    w = np.abs(psi) ** 2
    var = float(w @ m**2 - (w @ m) ** 2)
    return 1.0 / math.sqrt(4.0 * var)


# --- NV-centre magnetometry -------------------------------------------------------------------
def nv_readout_fidelity(photons_bright: float, photons_dark: float) -> float:
    """Readout fidelity ``C = (1 + 2 (a0 + a1) / (a0 - a1)^2)^{-1/2}`` of a photon-counting
    readout detecting on average ``a0`` (``m_s = 0``) and ``a1`` (``m_s = 1``) photons per shot
    (Taylor et al., Nat. Phys. 4, 810 (2008); Barry et al. 2020). ``C = 1`` is projection-noise
    limited; ``1/C`` is the noise relative to spin projection noise.

    Raises:
        SensingError: negative counts, or ``a0 <= a1``.

    Example:
        >>> round(nv_readout_fidelity(0.03, 0.021), 4)
        0.0282
    """
    a0 = float(photons_bright)
    a1 = float(photons_dark)
    if not (a0 > a1 >= 0 and math.isfinite(a0)):
        raise SensingError(f"need photons_bright > photons_dark >= 0 (got {photons_bright!r}, {photons_dark!r})")
    return 1.0 / math.sqrt(1.0 + 2.0 * (a0 + a1) / (a0 - a1) ** 2)


@dataclass(frozen=True)
class NVResult:
    """An NV magnetometry sensitivity budget.

    Attributes:
        mode: ``"dc"`` (Ramsey, coherence ``T2*``) or ``"ac"`` (Hahn echo, ``T2``, a sinusoid of
            period equal to the echo time, phase-matched).
        coherence_time_s: ``T2*`` (dc) or ``T2`` (ac).
        interrogation_time_s: ``tau``, the free-evolution time per shot.
        overhead_s: initialisation + readout time per shot.
        readout_fidelity: ``C``.
        stretch: exponent ``p`` of the decay ``e^{-(tau/T)^p}``.
        sensitivity_t_per_sqrt_hz: ``eta`` in T/sqrt(Hz).
        gyromagnetic_ratio_rad_s_t: ``gamma`` in rad/(s T).
    """

    mode: str
    coherence_time_s: float
    interrogation_time_s: float
    overhead_s: float
    readout_fidelity: float
    stretch: float
    sensitivity_t_per_sqrt_hz: float
    gyromagnetic_ratio_rad_s_t: float

    def to_dict(self) -> dict:
        return asdict(self)


NV_G_FACTOR = 2.0028


def _nv_eta(tau, t, overhead, c, p, gamma, mode):
    factor = math.pi / 2 if mode == "ac" else 1.0  # echo phase of a matched sinusoid: 2 gamma b tau / pi
    return factor * math.sqrt(tau + overhead) / (c * gamma * tau * math.exp(-((tau / t) ** p)))


def nv_sensitivity(coherence_time_s: float, *, mode: str = "dc", interrogation_time_s: float | None = None,
                   overhead_s: float = 0.0, readout_fidelity: float = 1.0, stretch: float = 1.0,
                   g_factor: float = NV_G_FACTOR) -> NVResult:
    """Shot-noise-limited magnetic sensitivity of a single NV centre (T/sqrt(Hz)).

    ``eta = k sqrt(tau + t_O) / (C gamma tau e^{-(tau/T)^p})`` with ``k = 1`` (dc, Ramsey) or
    ``pi/2`` (ac, Hahn echo) -- Barry et al., RMP 92, 015004 (2020), eqs. for Ramsey and echo
    sensitivity with ``Delta m_s = 1``, one spin. Without ``interrogation_time_s`` the ``tau``
    minimising ``eta`` is found by a bounded search (``T/2`` for ``p = 1``, ``t_O = 0``).

    Raises:
        SensingError: non-positive coherence time, negative overhead, ``C`` outside ``(0, 1]``,
            an unknown mode (each names the value).

    Example:
        >>> r = nv_sensitivity(1e-6, readout_fidelity=0.03, overhead_s=1e-6)
        >>> round(r.sensitivity_t_per_sqrt_hz * 1e9, 1), round(r.interrogation_time_s * 1e9)  # nT/sqrt(Hz), ns
        (706.2, 781)
    """
    from scipy import constants
    from scipy.optimize import minimize_scalar

    t = _positive(coherence_time_s, "coherence_time_s")
    if mode not in ("dc", "ac"):
        raise SensingError(f"mode must be 'dc' or 'ac' (got {mode!r})")
    if isinstance(overhead_s, bool) or not isinstance(overhead_s, numbers.Real) or not (0 <= overhead_s < math.inf):
        raise SensingError(f"overhead_s must be >= 0 and finite (got {overhead_s!r})")
    if not isinstance(readout_fidelity, numbers.Real) or not (0 < readout_fidelity <= 1):
        raise SensingError(f"readout_fidelity must be in (0, 1] (got {readout_fidelity!r})")
    p = _positive(stretch, "stretch")
    gamma = _positive(g_factor, "g_factor") * constants.physical_constants["Bohr magneton"][0] / constants.hbar
    c, oh = float(readout_fidelity), float(overhead_s)
    if interrogation_time_s is None:
        r = minimize_scalar(lambda x: math.log(_nv_eta(math.exp(x) * t, t, oh, c, p, gamma, mode)),
                            bounds=(math.log(1e-4), math.log(3.0)), method="bounded", options={"xatol": 1e-10})
        tau = math.exp(r.x) * t
    else:
        tau = _positive(interrogation_time_s, "interrogation_time_s")
    return NVResult(mode=mode, coherence_time_s=t, interrogation_time_s=tau, overhead_s=oh, readout_fidelity=c,
                    stretch=p, sensitivity_t_per_sqrt_hz=_nv_eta(tau, t, oh, c, p, gamma, mode),
                    gyromagnetic_ratio_rad_s_t=gamma)


# --- dynamical decoupling under Ornstein–Uhlenbeck noise ------------------------------------------
def _switching_segments(sequence: str, num_pulses: int, pulse_fractions) -> np.ndarray:
    """Segment boundaries as fractions of the total time (0 ... 1) of the switching function."""
    if pulse_fractions is not None:
        f = np.asarray(pulse_fractions, dtype=np.float64)
        if f.ndim != 1 or np.any(f <= 0) or np.any(f >= 1) or np.any(np.diff(f) <= 0):
            raise SensingError(f"pulse_fractions must increase strictly inside (0, 1) (got {pulse_fractions!r})")
    elif sequence == "ramsey":
        f = np.empty(0)
    elif sequence == "hahn":
        f = np.array([0.5])
    elif sequence == "cpmg":
        n = _num(num_pulses, "num_pulses")
        f = (np.arange(1, n + 1) - 0.5) / n
    else:
        raise SensingError(f"sequence must be 'ramsey', 'hahn' or 'cpmg' (got {sequence!r})")
    return np.concatenate([[0.0], f, [1.0]])


def decoupled_coherence(times_s, *, sigma_rad_s: float, correlation_time_s: float, sequence: str = "ramsey",
                        num_pulses: int = 1, pulse_fractions=None) -> np.ndarray:
    """Coherence ``|<sigma_+>| / |<sigma_+>|_0 = e^{-chi(t)}`` of a qubit whose frequency carries
    Gaussian Ornstein–Uhlenbeck noise, under instantaneous pi pulses.

    ``chi = <phi^2>/2`` with ``phi = int y(t) dw(t) dt`` and ``y = +-1`` flipping at each pulse;
    the double integral of ``sigma^2 e^{-|t1 - t2|/tau_c}`` over each pair of segments is done in
    closed form, so the result is exact. Free induction gives the Klauder–Anderson
    ``chi = sigma^2 tau_c^2 (t/tau_c - 1 + e^{-t/tau_c})``; a Hahn echo
    ``sigma^2 tau_c^2 (t/tau_c - 3 + 4 e^{-t/(2 tau_c)} - e^{-t/tau_c})``.

    Args:
        times_s: total sequence times (s).
        sigma_rad_s: noise amplitude (rad/s).
        correlation_time_s: ``tau_c`` (s).
        sequence: ``"ramsey"``, ``"hahn"`` or ``"cpmg"`` (pulses at ``(j - 1/2)/n`` of the time).
        num_pulses: CPMG pulse count.
        pulse_fractions: explicit pulse times as fractions of the total (overrides ``sequence``;
            e.g. Uhrig's ``sin^2(pi j / (2n + 2))``).

    Raises:
        SensingError: non-positive noise parameters, negative times, bad pulse positions.

    Example:
        >>> kw = dict(sigma_rad_s=1e6, correlation_time_s=1e-3)  # nearly static noise, sigma t = 1
        >>> round(float(decoupled_coherence(1e-6, **kw)), 4), round(float(decoupled_coherence(1e-6, sequence="hahn", **kw)), 4)
        (0.6066, 0.9999)
    """
    sigma = _positive(sigma_rad_s, "sigma_rad_s")
    tc = _positive(correlation_time_s, "correlation_time_s")
    t = np.asarray(times_s, dtype=np.float64)
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise SensingError(f"times_s must be >= 0 and finite (got {times_s!r})")
    edges = _switching_segments(sequence, num_pulses, pulse_fractions)
    signs = (-1.0) ** np.arange(edges.size - 1)
    tt = t.reshape(-1)[:, None]
    a0, a1 = edges[:-1][None, :] * tt, edges[1:][None, :] * tt  # (T, S)
    length = a1 - a0
    x = length / tc
    # same segment: 2 tc (L - tc (1 - e^{-L/tc}))
    chi = np.sum(2 * tc * (length - tc * (-np.expm1(-x))), axis=1)
    # ordered pairs a < b: tc^2 (1 - e^{-La/tc}) (1 - e^{-Lb/tc}) e^{-(b0 - a1)/tc}, counted twice
    seg = edges.size - 1
    for i in range(seg):
        for j in range(i + 1, seg):
            gap = (a0[:, j] - a1[:, i]) / tc
            chi += 2 * signs[i] * signs[j] * tc * tc * (-np.expm1(-x[:, i])) * (-np.expm1(-x[:, j])) * np.exp(-gap)
    out = np.exp(-0.5 * sigma * sigma * chi)
    return out.reshape(t.shape)

