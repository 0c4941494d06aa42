r"""The noisy fixed point: what bidders converge to when every bid is drawn with noise.

Noisy bids (DESIGN §1). Bidder ``m`` plays primitive ``a = m % A`` and bids a random draw
``X_m`` around its *mean* ``μ_m(s)``; every bidder, clones included, draws independently:

* :class:`BetaNoise` ``(κ)``: ``X_m ~ Beta(μκ, (1 − μ)κ)``, mean μ ∈ (0, 1), concentration κ,
  variance ``μ(1 − μ)/(κ + 1)`` (:class:`mechanism.BetaBids`; the policy-gradient learner's bids
  with κ = softplus(θ₂), :mod:`mechanism.learners.policy_gradient`);
* :class:`GaussianNoise` ``(σ)``: ``X_m ~ N(μ, σ²)`` (:class:`mechanism.GaussianBids`).

The seller of ``s'`` is then credited, in expectation, the expected order statistic of the noisy
bids, ``E[X₍₁₎] ≥ max_m μ_m`` (vickrey, first price; Jensen) or ``E[X₍₂₎]`` (ccv). The *noisy fixed
point* is the mean profile at which every bidder's mean bid is its expected valuation,

    μ(s, m) = R[s, a] + γ · Σ_{s'} P[s, a, s'] · ℓ(s'),   ℓ(s') = E_noise[L(X(s'))],        (1)

with ``ℓ = 0`` at terminal states, ``a = m % A``; clones share the mean, so ``μ = Q[:, m % A]`` with
``Q`` of shape (S, A). Without noise (1) is the truthful fixed point of :mod:`verify.fixed_point`.

**Expected order statistics, exactly** (:func:`expected_order_statistics`). With ``F_m`` the
CDFs of M independent bids,

    P(X₍₁₎ ≤ x) = Π_m F_m(x),   P(X₍₂₎ ≤ x) = Π_m F_m(x) + Σ_m (1 − F_m(x)) Π_{j≠m} F_j(x)  (2)

(David & Nagaraja 2003, *Order Statistics*, §2.1 and §5.2), and ``E[X] = a + ∫_a^∞ P(X > x) dx``
when ``X ≥ a`` (Gaussian: up to the tails below). The integral is done by composite
Gauss–Legendre quadrature (``_NODES`` nodes a panel) on panels laid out per auction:

* *Beta*: in the logit variable ``u = log(x/(1 − x))``, ``∫_0^1 S(x) dx = ∫ S(σ(u)) σ(u)σ(−u) du``.
  The substitution moves the endpoint singularities of ``F(x) ~ x^α`` (shapes below 1) to
  ``u → ±∞``, where ``F(σ(u)) ~ e^{αu}`` is analytic; ``|u| ≤ 37`` is kept (``σ(−37) < 10⁻¹⁶``:
  the two dropped end pieces hold at most that much of ``S``, which lies in [0, 1]).
* Each bidder's *window* is its central ``1 − 2δ`` quantile range, ``δ = 10⁻¹⁷``
  (``scipy.special.betaincinv``, or ``μ ± 8.5σ``); outside it ``F_m`` is set to exactly 0 or 1,
  which moves ``S`` by at most ``δ`` per bidder: the rest of the support contributes its exact
  tail mass up to ``Mδ`` in all. Each window is cut into ``_WINDOW_PANELS`` equal panels (about
  two standard deviations each for the near-normal shapes of large κ, where every ``F_m`` is a
  smooth sigmoid at that scale), and for Beta a fixed logit grid (spacing at most 6, finer near 0)
  is added, which resolves ``σ(u)σ(−u)`` (poles at ``u = ±iπ``) and the wide windows of small κ.
  The breakpoints of every window are panel ends, so on each panel every ``F_m`` is either exactly
  constant or smooth on the scale of its own window (≥ ``_WINDOW_PANELS`` panel widths).

Error. The truncations above cost at most ``(M + 2)·10⁻¹⁶``. The Gauss–Legendre error on a panel
of an analytic integrand falls like ``ρ^{−2n}`` (Trefethen 2013, *Approximation Theory and
Approximation Practice*, Thm 19.3), with ``ρ`` the Bernstein-ellipse parameter of the panel; with
the panel sizes above ``ρ`` is at least about 3 and ``n = 12`` gives ``ρ^{−24} < 10⁻¹¹`` times
the integrand's size on the ellipse; the product of M CDFs in (2) gets sharper as M grows, so
``n`` grows by 4 for every doubling of M beyond 4 (measured: with 12 nodes the error reaches
10⁻¹¹ at M = 16 nearly tied bidders; with the rule it stays below 10⁻¹³ up to M = 128). That is
an estimate, not a proof; the bound actually used, :func:`quadrature_error` (10⁻¹³ for Beta,
10⁻¹³·K·σ for Gaussian), is checked in ``tests/test_noisy.py`` against ``scipy.integrate.quad``
(``epsabs = 10⁻¹⁷``, breakpoints at many quantiles) on random means, near-ties and
concentrations ``κ ∈ [0.05, 10⁵]``, where the largest error seen is a few 10⁻¹⁵.

**The fixed point** (:func:`noisy_fixed_point`). Write ``T`` for the map ``Q ↦`` right side of (1)
(then clipped into ``[ε, 1 − ε]`` for Beta noise, whose means must stay inside (0, 1)).

* *T is monotone.* An order statistic is nondecreasing in each of its arguments; Beta(μκ, (1−μ)κ)
  is stochastically increasing in μ (its likelihood ratio between μ' > μ is
  ``(x/(1−x))^{κ(μ'−μ)}``, increasing in x), and so is N(μ, σ²); so, coupling the draws through
  their quantile functions, ``ℓ`` is nondecreasing in every mean, and ``P ≥ 0``.
* *Gaussian noise: T is a γ-contraction* in the sup norm. ``X_m = μ_m + σZ_m`` with the same
  ``Z``: an order statistic is 1-Lipschitz in the sup norm (:mod:`verify.fixed_point`), so
  ``|ℓ(μ) − ℓ(μ')| ≤ E‖μ − μ'‖∞``; the fixed point is unique.
* *Beta noise: T is not a contraction in general.* Raising every mean by ``t`` moves ``E[X₍₁₎]``
  by about ``t·(1 + c_M·dsd/dμ)`` with ``sd = √(μ(1 − μ)/(κ + 1))`` and ``c_M > 0``, more than
  ``t`` below μ = ½ (and without bound near μ = 0 at small κ); the local modulus can exceed 1
  (on the chain under cloned ccv, about 1.1 at κ = 5 and 1.4 at κ = 10). Uniqueness is then
  not automatic: ``lipschitz`` reports the local modulus and ``check_unique`` decides it.

The iteration is a safeguarded Newton method on ``T(Q) − Q`` (the Jacobian of ℓ per state by
central differences, a backtracking line search on ``‖T(Q) − Q‖∞``, a plain sweep ``Q ← T(Q)``
when that fails), started at the noise-free truthful fixed point. It stops with a *certificate*,
not a contraction bound: with ``r = T(Q) − Q``, ``J`` the Jacobian estimate and ``v`` solving
``(I − J)v = 1``, it finds ``δ`` with

    T̃(Q + δv) ≤ Q + δv − η   and   T̃(Q − δv) ≥ Q − δv + η                                   (3)

entrywise (except where ``Q ± δv`` is already on the clip, which T cannot cross), with ``T̃`` the
computed map and ``η`` a bound on ``|T̃ − T|`` (quadrature and rounding), so that T itself maps
``Q + δv`` below itself and ``Q − δv`` above itself. A monotone map then sends the order
interval ``[Q − δv, Q + δv]`` into itself, so it has a fixed point there (Tarski 1955, "A
lattice-theoretical fixpoint theorem"): ``error_bound = δ·max v``. Nothing about ``J`` needs to
be exact, (3) is checked a posteriori. For Gaussian noise, contraction makes that fixed point the
only one; for Beta noise ``check_unique=True`` sweeps T from both corners of the box, which
brackets *every* fixed point (monotone iteration), until the bracket is within ``tol`` of ``Q``.
Failure to reach ``tol`` raises :class:`verify.fixed_point.FixedPointError`.

**Critical noise** (:func:`critical_noise`): the noisiest κ (or σ) at which the greedy policy of
the noisy fixed point is still optimal from the start distribution, by a walk on a log grid from
the least noisy end and bisection. On the paper's chain (``tasks.chain(6)``, γ = 0.99, cloned) it
is κ ≈ 2,570 for vickrey (a bubble of bids near 0.9 below it) and κ ≈ 244 for ccv
(``tests/test_noisy.py`` computes these).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar, Literal, NamedTuple

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import ArrayLike, NDArray
from scipy import special

from mechanism.market import Mechanism
from mechanism.society import primitive_of
from tasks.mdp import FiniteMDP
from verify.fixed_point import FixedPointError, solve_fixed_point, terminal_mask, validate_society
from verify.solve import solve
from verify.solvers import evaluate

__all__ = [
    "BID_CLIP",
    "QUADRATURE_ERROR",
    "BetaNoise",
    "CriticalNoise",
    "GaussianNoise",
    "Noise",
    "NoiseSide",
    "NoisyFixedPoint",
    "NoisyFixedPointWarning",
    "critical_noise",
    "expected_order_statistics",
    "noisy_fixed_point",
    "quadrature_error",
]

FloatArray = NDArray[np.float64]

#: Bound on the absolute quadrature error of one expected order statistic (Beta noise; for
#: Gaussian noise it is multiplied by K·σ, see :func:`quadrature_error`). Checked in tests.
QUADRATURE_ERROR = 1e-13
#: Beta means are iterated inside [BID_CLIP, 1 − BID_CLIP] (the policy-gradient learner's bid clip).
BID_CLIP = 1e-6

#: Gauss–Legendre nodes per panel for up to 4 bidders; 4 more for every doubling of M beyond
#: (the product of M CDFs in (2) gets sharper as M grows), see :func:`_nodes`.
_NODES = 12
#: Panels per bidder window.
_WINDOW_PANELS = 8
#: Tail mass left outside a bidder's window on each side.
_TAIL = 1e-17
#: Half-width of a Gaussian window in standard deviations: the normal quantile of 1 − _TAIL.
_Z = float(-special.ndtri(_TAIL))
#: The logit range kept for Beta noise: σ(−37) < 1e-16.
_U_MAX = 37.0
#: The fixed logit grid of Beta panels (finer near u = 0, where σ(u)σ(−u) is largest).
_LOGIT_GRID = np.array(sorted({0.0, *(s * v for s in (1.0, -1.0) for v in (1, 2, 3, 4, 6, 8, 11, 15, 20, 26, 31, 37))}))


# ---------------------------------------------------------------------------- noise records
def _positive(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a real number; got {value!r} of type {type(value).__name__}.")
    x = float(value)
    if not (math.isfinite(x) and x > 0.0):
        raise ValueError(f"{name} must be positive and finite; got {value!r}.")
    return x


@dataclass(frozen=True)
class BetaNoise:
    """Beta bid noise: a bidder with mean μ ∈ (0, 1) bids ``Beta(μκ, (1 − μ)κ)``.

    Parameters
    ----------
    concentration : float
        κ = α + β > 0, the same for every bidder. Variance ``μ(1 − μ)/(κ + 1)``: larger κ, less
        noise. κ = 2 at μ = ½ is the uniform Beta(1, 1) the authors' bidders start from (Chang et
        al. 2020, code ``BetaBidder``; :class:`mechanism.BetaBids`).
    """

    concentration: float
    family: ClassVar[str] = "beta"

    def __post_init__(self) -> None:
        object.__setattr__(self, "concentration", _positive(self.concentration, "BetaNoise concentration"))

    @property
    def level(self) -> float:
        """The parameter :func:`critical_noise` searches over: κ."""
        return self.concentration


@dataclass(frozen=True)
class GaussianNoise:
    """Gaussian bid noise: a bidder with mean μ bids ``N(μ, σ²)`` (any real μ).

    Parameters
    ----------
    sigma : float
        σ > 0, the standard deviation, the same for every bidder (:class:`mechanism.GaussianBids`).
    """

    sigma: float
    family: ClassVar[str] = "gaussian"

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigma", _positive(self.sigma, "GaussianNoise sigma"))

    @property
    def level(self) -> float:
        """The parameter :func:`critical_noise` searches over: σ."""
        return self.sigma


Noise = BetaNoise | GaussianNoise


def _check_noise(noise: object) -> Noise:
    if not isinstance(noise, BetaNoise | GaussianNoise):
        raise TypeError(
            "noise must be verify.noisy.BetaNoise(concentration) or GaussianNoise(sigma); "
            f"got {type(noise).__name__} {noise!r}."
        )
    return noise


# ---------------------------------------------------------------------------- quadrature
@lru_cache(maxsize=8)
def _gauss_legendre(n: int) -> tuple[FloatArray, FloatArray]:
    """Nodes in [0, 1] and weights summing to 1 of the n-point Gauss–Legendre rule."""
    x, w = np.polynomial.legendre.leggauss(n)
    return (x + 1.0) / 2.0, w / 2.0


def _nodes(n_bidders: int) -> int:
    """Gauss–Legendre nodes per panel for M bidders: 12 up to M = 4, then 4 more per doubling."""
    return _NODES + 4 * max(0, math.ceil(math.log2(n_bidders)) - 2)


def _panels(breaks: FloatArray, n_bidders: int) -> tuple[FloatArray, FloatArray]:
    """Composite Gauss–Legendre nodes and weights (N, Q) on the panels between sorted breakpoints (N, B)."""
    x0, w0 = _gauss_legendre(_nodes(n_bidders))
    left, width = breaks[:, :-1], np.diff(breaks, axis=1)
    nodes = (left[..., None] + width[..., None] * x0).reshape(breaks.shape[0], -1)
    weights = (width[..., None] * w0).reshape(breaks.shape[0], -1)
    return nodes, weights


def _window_breaks(lo: FloatArray, hi: FloatArray) -> FloatArray:
    """Each window [lo, hi] (N, K) cut into _WINDOW_PANELS equal panels: breakpoints (N, K·(panels + 1))."""
    t = np.linspace(0.0, 1.0, _WINDOW_PANELS + 1)
    return (lo[..., None] + (hi - lo)[..., None] * t).reshape(lo.shape[0], -1)


def _logit(x: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore"):
        return np.log(x) - np.log1p(-x)


def _beta_windows(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The logit windows [u_lo, u_hi] (N, K) holding all but δ of each Beta(a, b) law on each side."""
    # The upper quantile through the mirrored law: 1 − δ rounds to 1 in floating point.
    u_lo = np.clip(_logit(special.betaincinv(a, b, _TAIL)), -_U_MAX, _U_MAX)
    u_hi = np.clip(-_logit(special.betaincinv(b, a, _TAIL)), -_U_MAX, _U_MAX)
    return u_lo, u_hi


def _beta_cdfs(u: FloatArray, a: FloatArray, b: FloatArray, window: tuple[FloatArray, FloatArray]) -> FloatArray:
    """F_k(σ(u)) (N, Q, K) at nodes u (N, Q): exact inside window k, 0 below it and 1 above it."""
    u3, a3, b3 = u[..., None], a[:, None, :], b[:, None, :]
    lo3, hi3 = window[0][:, None, :], window[1][:, None, :]
    F = np.greater(u3, hi3).astype(np.float64)
    inside = np.greater_equal(u3, lo3) & np.less_equal(u3, hi3)
    # Below u = 0 the CDF at σ(u); above, one minus the mirrored CDF at σ(−u) (σ(u) rounds to 1).
    below, above = inside & (u3 <= 0.0), inside & (u3 > 0.0)
    ub, ab, bb = (np.broadcast_to(z, F.shape)[below] for z in (u3, a3, b3))
    F[below] = special.betainc(ab, bb, special.expit(ub))
    ua, aa, ba = (np.broadcast_to(z, F.shape)[above] for z in (u3, a3, b3))
    F[above] = 1.0 - special.betainc(ba, aa, special.expit(-ua))
    return F


def _beta_top_two(means: FloatArray, kappa: float, copies: int) -> tuple[FloatArray, FloatArray]:
    """E[X₍₁₎], E[X₍₂₎] for Beta bids, means (N, K) each standing for ``copies`` bidders; see the module."""
    a, b = means * kappa, (1.0 - means) * kappa
    window = _beta_windows(a, b)
    grid = np.broadcast_to(_LOGIT_GRID, (means.shape[0], _LOGIT_GRID.size))
    breaks = np.sort(np.concatenate([grid, _window_breaks(*window)], axis=1), axis=1)
    u, w = _panels(breaks, means.shape[1] * copies)
    w = w * special.expit(u) * special.expit(-u)  # dx = σ(u)σ(−u) du
    S1, S2 = _order_survivals(_beta_cdfs(u, a, b, window), copies)
    left = special.expit(-_U_MAX)  # the dropped piece x < σ(−37), where both survivals are 1 (up to δ)
    return left + np.sum(w * S1, axis=1), left + np.sum(w * S2, axis=1)


def _gaussian_top_two(means: FloatArray, sigma: float, copies: int) -> tuple[FloatArray, FloatArray]:
    """E[X₍₁₎], E[X₍₂₎] for Gaussian bids, means (N, K) each standing for ``copies`` bidders."""
    lo, hi = means - _Z * sigma, means + _Z * sigma
    breaks = np.sort(_window_breaks(lo, hi), axis=1)
    x, w = _panels(breaks, means.shape[1] * copies)
    F = special.ndtr((x[..., None] - means[:, None, :]) / sigma)
    S1, S2 = _order_survivals(F, copies)
    start = breaks[:, 0]
    return start + np.sum(w * S1, axis=1), start + np.sum(w * S2, axis=1)


def _order_survivals(F: FloatArray, copies: int) -> tuple[FloatArray, FloatArray]:
    """P(X₍₁₎ > x), P(X₍₂₎ > x) from the CDFs F (..., K) of K laws, each drawn ``copies`` times; (2)."""
    Fc = F**copies
    G1 = np.prod(Fc, axis=-1)
    # Π_{j≠k} F_j^c by prefix and suffix products (no division by a CDF that may be 0).
    ones = np.ones((*F.shape[:-1], 1))
    prefix = np.cumprod(np.concatenate([ones, Fc[..., :-1]], axis=-1), axis=-1)
    suffix = np.cumprod(np.concatenate([ones, Fc[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    exactly_one_above = copies * np.sum((1.0 - F) * F ** (copies - 1) * prefix * suffix, axis=-1)
    return 1.0 - G1, 1.0 - G1 - exactly_one_above


def expected_order_statistics(means: ArrayLike, noise: Noise, *, copies: int = 1) -> tuple[FloatArray, FloatArray]:
    """The expected largest and second-largest of independent noisy bids, by exact quadrature.

    ``E[X₍₁₎]`` and ``E[X₍₂₎]`` of the draws ``X_m`` (Beta(μ_mκ, (1 − μ_m)κ) or N(μ_m, σ²)),
    integrating the order-statistic CDFs (2) of the module docstring (not Monte Carlo); absolute
    error at most :func:`quadrature_error` (10⁻¹³ for Beta; for Gaussian 10⁻¹³·K·σ, plus the
    rounding of the means).

    Parameters
    ----------
    means : array (..., K)
        The mean bids; in the open interval (0, 1) for :class:`BetaNoise`.
    noise : BetaNoise or GaussianNoise
    copies : int
        Each column stands for ``copies`` bidders with that mean, drawing independently (clones):
        M = K·copies bids in all.

    Returns
    -------
    first, second : arrays (...)
        ``E[X₍₁₎] ≥ max μ`` and ``E[X₍₂₎] ≤ E[X₍₁₎]``. With a single bidder (M = 1) they are the
        mean and 0 (a lone bidder's second price is 0, :mod:`mechanism.rules`).

    Examples
    --------
    Two uniform bids (Beta(1, 1)): E[max] = 2/3, E[min] = 1/3.

    >>> first, second = expected_order_statistics([0.5, 0.5], BetaNoise(2.0))
    >>> round(float(first), 12), round(float(second), 12)
    (0.666666666667, 0.333333333333)
    """
    noise = _check_noise(noise)
    if isinstance(copies, bool) or not isinstance(copies, int | np.integer) or copies < 1:
        raise ValueError(f"copies must be an int >= 1 (bidders per column); got {copies!r}.")
    mu = np.asarray(means, dtype=np.float64)
    if mu.ndim == 0 or mu.shape[-1] == 0:
        raise ValueError(f"means must have shape (..., K) with K >= 1 columns; got shape {mu.shape}.")
    if not np.isfinite(mu).all():
        raise ValueError("means must be finite numbers.")
    if isinstance(noise, BetaNoise) and ((mu <= 0.0) | (mu >= 1.0)).any():
        bad = mu[(mu <= 0.0) | (mu >= 1.0)][0]
        raise ValueError(
            f"a Beta mean must lie strictly between 0 and 1; got {bad!r}. Rescale rewards into (0, 1) "
            "(verify.rescale_rewards) or use GaussianNoise."
        )
    lead, K = mu.shape[:-1], mu.shape[-1]
    flat = mu.reshape(-1, K)
    if K * int(copies) == 1:
        return flat[:, 0].reshape(lead).copy(), np.zeros(lead)
    if flat.shape[0] == 0:
        return np.zeros(lead), np.zeros(lead)
    if isinstance(noise, BetaNoise):
        first, second = _beta_top_two(flat, noise.concentration, int(copies))
    else:
        first, second = _gaussian_top_two(flat, noise.sigma, int(copies))
    return first.reshape(lead), second.reshape(lead)


def quadrature_error(noise: Noise, n_columns: int) -> float:
    """The bound on the quadrature error of :func:`expected_order_statistics` for K = ``n_columns`` means.

    :data:`QUADRATURE_ERROR` for Beta noise (bids in (0, 1)); ``QUADRATURE_ERROR·K·σ`` for Gaussian
    noise, whose quadrature runs over K windows of width about 17σ (the gaps between them hold
    exact constants). Floating-point rounding of the means themselves, about ``ε·max|μ|``, comes on
    top. Checked against ``scipy.integrate.quad`` in ``tests/test_noisy.py``.
    """
    noise = _check_noise(noise)
    if isinstance(noise, BetaNoise):
        return QUADRATURE_ERROR
    return QUADRATURE_ERROR * max(int(n_columns), 1) * noise.sigma


# ---------------------------------------------------------------------------- the fixed point
class NoisyFixedPointWarning(UserWarning):
    """The noisy fixed point of Beta bids hit the clip [ε, 1 − ε]: it solves the clipped map only."""


class NoisyFixedPoint(NamedTuple):
    """The noisy fixed point (1) with its certificate (3); see the module docstring.

    Attributes
    ----------
    bids : array (S, M)
        The mean bid of every bidder, ``Q[:, m % A]``; 0 at terminal states; NaN (no bid) where
        the bidder's action is unavailable.
    Q : array (S, A)
        The mean bid (expected valuation) per primitive; −inf where the action is unavailable.
    lookahead : array (S,)
        ℓ(s) = E_noise[L(X(s))] at the fixed point: what the seller of s is credited on average.
    policy : int array (S,)
        The greedy policy of the means, ``argmax_a Q[s, a]`` over the available actions (ties: lowest index).
    iterations : int
        Evaluations of the map T (Newton steps, their line searches and Jacobians included).
    error_bound : float
        A fixed point of T (exact expectations; clipped for Beta noise) lies within this sup-norm
        distance of ``Q``.
    residual : float
        ``‖T(Q) − Q‖∞`` as computed.
    lipschitz : float
        Sup-norm modulus of T: γ for Gaussian noise (proved); for Beta noise the norm of the
        Jacobian estimate at ``Q`` (local; above 1 the fixed point need not attract the iteration).
    unique : bool
        Whether every fixed point is proved to lie within ``tol`` of ``Q``: always for Gaussian
        noise (a contraction); for Beta noise only when ``check_unique=True`` established it
        (False otherwise, which does not mean another fixed point exists).
    clipped : int
        Entries where T(Q) was clipped into [ε, 1 − ε] (Beta noise); 0 means (1) holds exactly.
    noise : BetaNoise or GaussianNoise
    """

    bids: FloatArray
    Q: FloatArray
    lookahead: FloatArray
    policy: NDArray[np.int64]
    iterations: int
    error_bound: float
    residual: float
    lipschitz: float
    unique: bool
    clipped: int
    noise: Noise


class _Map:
    """The map T of (1) for one society and noise, counting its evaluations."""

    def __init__(self, mdp: FiniteMDP, mechanism: Mechanism, clones: int, noise: Noise) -> None:
        fast = mechanism.fast_path
        if fast is None:
            raise ValueError(
                f"mechanism {mechanism.name!r} declares no fast_path: only top-two lookaheads (b⁽¹⁾, b⁽²⁾ or none, "
                "mechanism.TopTwo) have an exact noisy lookahead (an expected order statistic). Build it with "
                "Mechanism.top_two(...) if it is one."
            )
        self.mdp, self.clones, self.noise, self.stat = mdp, clones, noise, fast.lookahead
        self.live = ~terminal_mask(mdp)
        # Live states grouped by their set of available actions: the auction of s' is among those only.
        avail = np.asarray(mdp.available)
        live_states = np.flatnonzero(self.live)
        patterns, group = np.unique(avail[live_states], axis=0, return_inverse=True)
        self.groups = [(live_states[group.ravel() == g], np.flatnonzero(p)) for g, p in enumerate(patterns)]
        self.shape = (mdp.n_states, mdp.n_actions)
        beta = isinstance(noise, BetaNoise)
        self.low, self.high = (BID_CLIP, 1.0 - BID_CLIP) if beta else (-np.inf, np.inf)
        self.evaluations = 0

    def lookahead(self, Q: FloatArray) -> FloatArray:
        """ℓ (..., S) for mean profiles Q (..., S, A); 0 at terminal states.

        At s' the order statistic is over the bidders of the actions available at s' only (an
        action mask, :mod:`mechanism.auction`); a lone bidder's second-highest bid is 0.
        """
        ell = np.zeros(Q.shape[:-1])
        if self.stat == "none" or not self.live.any():
            return ell
        for states, actions in self.groups:
            means = Q[..., states, :][..., actions]
            first, second = expected_order_statistics(means, self.noise, copies=self.clones)
            ell[..., states] = first if self.stat == "first" else second
        return ell

    def raw(self, Q: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(R + γ·P ℓ before the clip, ℓ) for Q (..., S, A); terminal rows 0."""
        self.evaluations += 1
        ell = self.lookahead(Q)
        S, A = self.shape
        flat = ell.reshape(-1, S).T  # (S, batch)
        KL = np.asarray(self.mdp.kernel @ flat).T.reshape((*ell.shape[:-1], S, A))
        TQ = np.where(self.live[:, None], self.mdp.R + self.mdp.gamma * KL, 0.0)
        return TQ, ell

    def clip(self, Q: FloatArray) -> FloatArray:
        """Q clipped into the box on live rows, 0 on terminal rows."""
        return np.where(self.live[:, None], np.clip(Q, self.low, self.high), 0.0)

    def error(self, Q: FloatArray) -> float:
        """η: a bound on |T̃(Q) − T(Q)| entrywise (quadrature, plus rounding of ℓ and of R + γPℓ)."""
        eps = float(np.finfo(np.float64).eps)
        scale = 1.0 + float(np.max(np.abs(self.mdp.R))) + float(np.max(np.abs(Q)))
        quad = QUADRATURE_ERROR
        if isinstance(self.noise, GaussianNoise) and self.live.any():
            rows = Q[self.live]
            span = float(np.max(rows.max(axis=1) - rows.min(axis=1))) + 2.0 * _Z * self.noise.sigma
            quad = quadrature_error(self.noise, rows.shape[1]) + 32.0 * eps * (scale + span)
        return self.mdp.gamma * quad + 16.0 * eps * scale

    def jacobian(self, Q: FloatArray, TQ: FloatArray) -> FloatArray | sp.csr_array:
        """J = ∂T/∂Q (S·A, S·A) at Q: γ·P[s, a, s']·∂ℓ(s')/∂Q[s', b] by central differences, 0 where clipped.

        ``TQ`` is the unclipped map at Q (it says where the clip is active).
        """
        S, A = self.shape
        # Beta: means stay inside (0, 1) from [ε, 1 − ε]; Gaussian: a step on the noise's scale, not below rounding.
        h = 1e-7 if isinstance(self.noise, BetaNoise) else max(1e-4 * self.noise.sigma, 1e-9)
        E = np.eye(A)
        pert = Q[None] + h * np.concatenate([E, -E])[:, None, :]  # (2A, S, A): ± h on column a
        self.evaluations += 2 * A
        ell = self.lookahead(pert)
        D = ((ell[:A] - ell[A:]) / (2.0 * h)).T  # D[s', b] = ∂ℓ(s')/∂Q[s', b]
        free = (self.live[:, None] & np.greater(TQ, self.low) & np.less(TQ, self.high)).ravel()
        K = self.mdp.kernel
        if isinstance(K, np.ndarray):
            return self.mdp.gamma * free[:, None] * (K[:, :, None] * D[None]).reshape(S * A, S * A)
        spread = sp.csr_array((D.ravel(), (np.repeat(np.arange(S), A), np.arange(S * A))), shape=(S, S * A))
        scaled = sp.diags_array(self.mdp.gamma * free.astype(np.float64)) @ sp.csr_array(K)
        return sp.csr_array(scaled @ spread)


def _solve(J: FloatArray | sp.csr_array, rhs: FloatArray) -> FloatArray:
    """x with (I − J)x = rhs; NaN where the system is singular."""
    n = rhs.size
    if isinstance(J, np.ndarray):
        try:
            return np.asarray(np.linalg.solve(np.eye(n) - J, rhs), dtype=np.float64)
        except np.linalg.LinAlgError:
            return np.full(n, np.nan)
    lhs = sp.csc_array(sp.identity(n, format="csc") - J)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", spla.MatrixRankWarning)
        return np.asarray(spla.spsolve(lhs, rhs), dtype=np.float64)


class _State(NamedTuple):
    """An iterate with its map value: Q, the unclipped T(Q), ℓ, the residual clip(T(Q)) − Q and its norm."""

    Q: FloatArray
    TQ: FloatArray
    ell: FloatArray
    r: FloatArray
    norm: float


def _state(T: _Map, Q: FloatArray) -> _State:
    TQ, ell = T.raw(Q)
    r = T.clip(TQ) - Q
    return _State(Q, TQ, ell, r, float(np.max(np.abs(r))))


def _newton(T: _Map, x: _State, max_iter: int) -> _State:
    """Safeguarded Newton on clip(T(Q)) − Q until the residual is at the map's error η.

    A step ``(I − J)Δ = r`` is halved until the residual falls (at most 10 times); if it never
    does, the plain sweep Q ← clip(T(Q)) is taken. Stops at ``max_iter`` evaluations of T, or
    after 10 steps in a row that do not lower the best residual (the rounding floor); returns the
    iterate with the smallest residual.
    """
    best, stalled = x, 0
    while T.evaluations < max_iter and best.norm > T.error(best.Q) and stalled < 10:
        step = _solve(T.jacobian(x.Q, x.TQ), x.r.ravel()).reshape(x.Q.shape)
        t, moved = 1.0, False
        while np.isfinite(step).all() and t > 1e-3 and T.evaluations < max_iter:
            trial = _state(T, T.clip(x.Q + t * step))
            if trial.norm < x.norm:
                x, moved = trial, True
                break
            t /= 2.0
        if not moved:
            x = _state(T, T.clip(x.TQ))
        best, stalled = (x, 0) if x.norm < best.norm else (best, stalled + 1)
    return best


def _certify(T: _Map, x: _State) -> tuple[float, float]:
    """(error bound, Lipschitz estimate) at x by the sub/super-solution test (3); bound inf if it fails."""
    J = T.jacobian(x.Q, x.TQ)
    live = np.broadcast_to(T.live[:, None], x.Q.shape)
    lipschitz = float(np.max(np.abs(J).sum(axis=1))) if J.shape[0] else 0.0
    v = _solve(J, live.ravel().astype(np.float64)).reshape(x.Q.shape)
    if not (np.isfinite(v).all() and (v[live] > 0).all()):
        v = live.astype(np.float64)  # no usable linearisation: try the sup-norm direction
    v = np.where(live, v, 0.0)
    eta = T.error(x.Q)
    delta = 1.25 * (x.norm + eta)
    for _ in range(60):
        hi, lo = T.clip(x.Q + delta * v), T.clip(x.Q - delta * v)
        TQ, _ell = T.raw(np.stack([hi, lo]))
        T_hi, T_lo = T.clip(TQ[0]), T.clip(TQ[1])
        ok_hi = (T_hi <= hi - eta) | (hi >= T.high)
        ok_lo = (T_lo >= lo + eta) | (lo <= T.low)
        if (ok_hi | ~live).all() and (ok_lo | ~live).all():
            return delta * float(np.max(v[live], initial=0.0)), lipschitz
        delta *= 2.0
    return np.inf, lipschitz


def _every_fixed_point_near(T: _Map, Q: FloatArray, tol: float, max_iter: int) -> bool:
    """Whether every fixed point of the clipped Beta map is proved to lie within ``tol`` of Q.

    T is monotone on the box [ε, 1 − ε], so the sweeps ``lo ← max(lo, T̃(lo) − η)`` from the
    bottom corner and ``hi ← min(hi, T̃(hi) + η)`` from the top one stay below, resp. above, every
    fixed point (induction: ``lo ≤ b*`` gives ``T(lo) ≤ T(b*) = b*``, and ``T̃ − η ≤ T``). Once
    ``[lo, hi] ⊂ [Q − tol, Q + tol]`` every fixed point is within ``tol`` of Q. Stops, False, at
    ``max_iter`` evaluations of T (each sweep evaluates the pair).
    """
    live = np.broadcast_to(T.live[:, None], Q.shape)
    lo, hi = T.clip(np.full(Q.shape, T.low)), T.clip(np.full(Q.shape, T.high))
    while True:
        if (hi - Q <= tol)[live].all() and (Q - lo <= tol)[live].all():
            return True
        if T.evaluations + 2 > max_iter:
            return False
        TQ, _ell = T.raw(np.stack([lo, hi]))
        T.evaluations += 1  # the pair is two profiles
        eta = max(T.error(lo), T.error(hi))
        lo = T.clip(np.maximum(lo, T.clip(TQ[0]) - eta))
        hi = T.clip(np.minimum(hi, T.clip(TQ[1]) + eta))


def noisy_fixed_point(
    mdp: FiniteMDP,
    mechanism: Mechanism,
    clones: int,
    noise: Noise,
    *,
    tol: float = 1e-10,
    max_iter: int = 2_000,
    initial: ArrayLike | None = None,
    check_unique: bool = False,
) -> NoisyFixedPoint:
    """The mean bids noisy bidders converge to: every mean bid is its expected valuation, (1).

    Parameters
    ----------
    mdp : FiniteMDP
        For Beta noise, Q* (and the fixed point) should lie inside (0, 1): rescale first, e.g.
        ``verify.rescale_rewards(mdp, 0.05, 0.95)`` (``(0, 1)`` itself puts the extremes on the clip).
    mechanism : Mechanism
        Must declare ``fast_path`` (a top-two rule): its lookahead "first" credits E[X₍₁₎],
        "second" E[X₍₂₎], "none" nothing.
    clones : int
        Bidders per primitive (M = A·clones); clones share the mean and draw their own noise.
    noise : BetaNoise or GaussianNoise
    tol : float
        Required certified sup-norm error of ``Q`` (``error_bound``), see (3).
    max_iter : int
        Evaluations of the map allowed.
    initial : array (S, A), optional
        Starting means; default the noise-free truthful fixed point (:mod:`verify.fixed_point`).
    check_unique : bool
        Beta noise only (Gaussian fixed points are unique, T being a contraction): also sweep T
        from both corners of the box [ε, 1 − ε] (monotone iteration, :func:`_every_fixed_point_near`)
        and set ``unique`` when every fixed point is proved within ``tol`` of ``Q``. It costs up to
        ``max_iter`` more evaluations (some hundreds on the chain at γ = 0.99); otherwise
        ``unique`` is False for Beta noise.

    Returns
    -------
    NoisyFixedPoint

    Raises
    ------
    ValueError
        A mechanism without a top-two ``fast_path``, or bad arguments.
    FixedPointError
        When no profile with a certified ``error_bound <= tol`` is found within ``max_iter``.

    Warns
    -----
    NoisyFixedPointWarning
        Beta noise whose fixed point leaves (0, 1): means are iterated clipped into
        [ε, 1 − ε] (ε = :data:`BID_CLIP`), and the answer solves the clipped equation only.
    """
    clones = validate_society(mdp, mechanism, clones)
    noise = _check_noise(noise)
    if not (isinstance(tol, int | float) and not isinstance(tol, bool) and tol > 0):
        raise ValueError(f"tol must be a positive number; got {tol!r}.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive int; got {max_iter!r}.")
    T = _Map(mdp, mechanism, clones, noise)
    avail = np.asarray(mdp.available)
    if initial is None:
        start = solve_fixed_point(mdp, mechanism, clones).Q
    else:
        start = np.asarray(initial, dtype=np.float64)
        if start.shape != T.shape or not np.isfinite(start[avail]).all():
            raise ValueError(
                f"initial must be an array of shape {T.shape} (S, A), finite on the available pairs; "
                f"got shape {start.shape}."
            )
    # An unavailable pair has no valuation (−inf); ℓ never reads its entry, which the map carries along.
    start = np.where(avail, start, 0.0)
    x = _newton(T, _state(T, T.clip(start)), max_iter)
    bound, lipschitz = _certify(T, x)
    unique = isinstance(noise, GaussianNoise)
    if unique:  # γ-contraction: ‖Q − Q*‖ ≤ ‖Q − TQ‖ + ‖TQ − TQ*‖ ≤ ‖r‖ + η + γ‖Q − Q*‖
        bound = min(bound, (x.norm + T.error(x.Q)) / (1.0 - mdp.gamma))
        lipschitz = mdp.gamma
    elif check_unique and bound <= tol:
        unique = _every_fixed_point_near(T, x.Q, tol, T.evaluations + max_iter)
    if not bound <= tol:
        raise FixedPointError(
            f"the noisy fixed point of {mechanism.name!r} (clones={clones}, {noise}) was not certified to "
            f"tol = {tol:g} after {T.evaluations} evaluations: residual ‖T(Q) − Q‖∞ = {x.norm:.3g}, certified "
            f"error bound {bound:.3g}, local Lipschitz estimate {lipschitz:.3g}; the rounding floor of the "
            f"certificate here is about η/(1 − γ) = {T.error(x.Q) / (1.0 - mdp.gamma):.3g}. Raise max_iter of "
            "verify.noisy_fixed_point, or tol "
            "(above that floor); a local modulus above 1 means the map does not settle near this profile."
        )
    return _record(T, x, bound, lipschitz, unique, mechanism)


def _record(T: _Map, x: _State, bound: float, lipschitz: float, unique: bool, mechanism: Mechanism) -> NoisyFixedPoint:
    """The :class:`NoisyFixedPoint` of a certified iterate; warns when the clip is active."""
    live = T.live[:, None]
    outside = live & (np.less(x.TQ, T.low) | np.greater(x.TQ, T.high))
    clipped = int(np.sum(outside))
    if clipped:
        s, a = (int(i) for i in np.argwhere(outside)[0])
        warnings.warn(
            f"the noisy fixed point of {mechanism.name!r} with {T.noise} hits the Beta clip [{T.low:g}, {T.high:g}] "
            f"at {clipped} (state, action) entries (e.g. its valuation at ({s}, {a}) is {float(x.TQ[s, a]):.6g}): "
            "it solves the clipped equation only. Rescale rewards well inside (0, 1) first, e.g. "
            "verify.rescale_rewards(mdp, 0.05, 0.95).",
            NoisyFixedPointWarning,
            stacklevel=3,
        )
    avail = np.asarray(T.mdp.available)
    Q = np.where(avail, np.where(live, x.Q, 0.0), -np.inf)
    prim = primitive_of(T.shape[1], T.clones)
    bids = np.where(avail[:, prim], Q[:, prim], np.nan)
    policy = np.argmax(Q, axis=1).astype(np.int64)
    return NoisyFixedPoint(
        bids, Q, x.ell, policy, T.evaluations, float(bound), x.norm, float(lipschitz), unique, clipped, T.noise
    )


# ---------------------------------------------------------------------------- critical noise
class NoiseSide(NamedTuple):
    """The verdict at one noise level: is the greedy policy of the noisy fixed point optimal?

    Attributes
    ----------
    level : float
        κ (Beta) or σ (Gaussian).
    policy : int array (S,)
        The greedy policy of the noisy fixed point's means.
    value : float
        Its value from the start distribution, ``start · V^π`` (:func:`verify.evaluate`).
    max_error : float
        ``max |Q − Q*|`` over non-terminal (state, action) entries.
    optimal : bool
        ``value >= start · V* − value_tol``.
    fixed_point : NoisyFixedPoint
    """

    level: float
    policy: NDArray[np.int64]
    value: float
    max_error: float
    optimal: bool
    fixed_point: NoisyFixedPoint


class CriticalNoise(NamedTuple):
    """Where noise starts to cost the society its optimal policy; see :func:`critical_noise`.

    Attributes
    ----------
    family : {"beta", "gaussian"}
    threshold : float
        The noisiest level found optimal: the smallest κ (Beta) or largest σ (Gaussian), to
        within the relative precision ``rtol``; the searched range's noisy end when every level is optimal.
    bracket : (float, float)
        Ascending (lower, upper) levels: one end is ``threshold`` (optimal), the other the nearest
        level found not optimal; both ``threshold`` when nothing in the range fails.
    optimal : NoiseSide
        The verdict at ``threshold``.
    failing : NoiseSide or None
        The verdict at the other end of the bracket; None when every searched level is optimal.
    optimal_value : float
        ``start · V*``.
    scanned : tuple of NoiseSide
        Every level evaluated, in the order evaluated (grid walk, then bisection).
    """

    family: str
    threshold: float
    bracket: tuple[float, float]
    optimal: NoiseSide
    failing: NoiseSide | None
    optimal_value: float
    scanned: tuple[NoiseSide, ...]


#: Default searched ranges: κ for Beta, σ for Gaussian (bids on the (0, 1) scale of the paper).
_DEFAULT_LEVELS: dict[str, tuple[float, float]] = {"beta": (1.0, 1e6), "gaussian": (1e-6, 1.0)}


def _side(
    mdp: FiniteMDP, mechanism: Mechanism, clones: int, noise: Noise, ctx: tuple[FloatArray, float, float, float]
) -> NoiseSide:
    """The verdict at one noise level; ``ctx`` = (Q*, start · V*, value_tol, tol of the fixed point)."""
    Q_star, best, value_tol, tol = ctx
    fp = noisy_fixed_point(mdp, mechanism, clones, noise, tol=tol)
    value = float(np.asarray(mdp.start) @ evaluate(mdp, fp.policy))
    live = ~terminal_mask(mdp)
    err = float(np.max(np.abs(fp.Q - Q_star)[live], initial=0.0))
    return NoiseSide(noise.level, fp.policy, value, err, value >= best - value_tol, fp)


def critical_noise(
    mdp: FiniteMDP,
    mechanism: Mechanism,
    clones: int,
    family: Literal["beta", "gaussian"] = "beta",
    *,
    levels: tuple[float, float] | None = None,
    per_decade: int = 1,
    rtol: float = 0.01,
    value_tol: float = 1e-9,
    tol: float = 1e-8,
) -> CriticalNoise:
    """The noisiest level at which the noisy fixed point's greedy policy is still optimal.

    Optimal means: its value from the start distribution is within ``value_tol`` of the optimal
    one, ``start · V^π >= start · V* − value_tol`` (:func:`verify.solve`, :func:`verify.evaluate`).
    The levels are walked on a log grid (``per_decade`` points a decade) from the least noisy end of
    ``levels`` (largest κ, smallest σ) towards the noisiest, stopping at the first level that is
    not optimal; the threshold is then bisected (geometric midpoints) between that level and the
    last optimal one until their ratio is below ``1 + rtol``. This assumes optimality is lost once
    along the walk; ``scanned`` lists every verdict, so a non-monotone case shows.

    Parameters
    ----------
    mdp, mechanism, clones
        As for :func:`noisy_fixed_point`.
    family : {"beta", "gaussian"}
        Searches κ of :class:`BetaNoise` or σ of :class:`GaussianNoise`.
    levels : (float, float), optional
        The searched range (low, high) of κ or σ; default (1, 10⁶) for κ, (10⁻⁶, 1) for σ.
    per_decade : int
        Grid points a decade.
    rtol : float
        Relative precision of the threshold.
    value_tol : float
        Tolerance on the start value.
    tol : float
        Certified error of each noisy fixed point (:func:`noisy_fixed_point`); looser than its
        default because noisy bids grow large (Gaussian bubbles) and only the greedy policy is used.

    Returns
    -------
    CriticalNoise

    Raises
    ------
    ValueError
        When even the least noisy level is not optimal (e.g. solitary ccv, whose noise-free fixed
        point need not be optimal): there is nothing to bracket.
    """
    if family not in _DEFAULT_LEVELS:
        raise ValueError(f"family must be 'beta' or 'gaussian'; got {family!r}.")
    lo, hi = (float(v) for v in (levels if levels is not None else _DEFAULT_LEVELS[family]))
    if not (0.0 < lo < hi and math.isfinite(hi)):
        raise ValueError(f"levels must be (low, high) with 0 < low < high finite; got {levels!r}.")
    if isinstance(per_decade, bool) or not isinstance(per_decade, int) or per_decade < 1:
        raise ValueError(f"per_decade must be a positive int; got {per_decade!r}.")
    if not (isinstance(rtol, int | float) and rtol > 0):
        raise ValueError(f"rtol must be a positive number; got {rtol!r}.")
    make = BetaNoise if family == "beta" else GaussianNoise
    sol = solve(mdp)
    ctx = (sol.Q, float(np.asarray(mdp.start) @ sol.V), float(value_tol), float(tol))
    grid = np.geomspace(lo, hi, max(2, math.ceil(per_decade * math.log10(hi / lo)) + 1))
    walk = grid[::-1] if family == "beta" else grid  # least noise first
    scanned: list[NoiseSide] = []
    good: NoiseSide | None = None
    bad: NoiseSide | None = None
    for level in walk:
        side = _side(mdp, mechanism, clones, make(float(level)), ctx)
        scanned.append(side)
        if not side.optimal:
            bad = side
            break
        good = side
    if good is None:
        raise ValueError(
            f"the greedy policy of the noisy fixed point of {mechanism.name!r} (clones={clones}) is not optimal even "
            f"at the least noisy level {family} {walk[0]:g} (value {scanned[0].value:.6g} < optimal {ctx[1]:.6g}); "
            "nothing to bracket. The noise-free fixed point itself need not be optimal (solitary ccv)."
        )
    while bad is not None and max(good.level, bad.level) / min(good.level, bad.level) > 1.0 + rtol:
        side = _side(mdp, mechanism, clones, make(math.sqrt(good.level * bad.level)), ctx)
        scanned.append(side)
        good, bad = (side, bad) if side.optimal else (good, side)
    ends = (good.level, good.level) if bad is None else (min(good.level, bad.level), max(good.level, bad.level))
    return CriticalNoise(family, good.level, ends, good, bad, ctx[1], tuple(scanned))
