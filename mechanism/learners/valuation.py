"""Valuation bidders: bid what winning has been worth, plus exploration.

Each primitive i keeps, per seed and state, an estimate v(s, i) of its valuation: the revenue it
realises when it wins the auction at s,

    revenue_t = r_t + γ·lookahead(b_{t+1})            (0 lookahead after a terminal transition)

and moves the estimate towards it (Chang et al. 2020, §4: bidding one's valuation is what the
Vickrey auction rewards, and the truthful fixed point of cloned vickrey/ccv is Q*):

    v(s_t, i*) ← v(s_t, i*) + α·(revenue_t − v(s_t, i*)).

With a constant ``step_size`` α the k visits a cell gets in one round (parallel episodes) count as
k sequential updates towards their mean, an effective step 1 − (1 − α)^k; with
``step_size="1/n"`` the estimate is the plain running average of every revenue realised.

The bid is the estimate, and exploration is drawn independently by every bidder, clones
included (clones share the estimate, not the noise): with probability ε (annealed linearly from
``epsilon`` to ``epsilon_final`` over the run) a bidder bids uniformly in ``bid_range``;
otherwise it bids v + ``noise``·N(0, 1). These are real bids: the mechanism prices them and
credits the previous winner with their lookahead, so exploration biases the credit while it
lasts (vickrey's b⁽¹⁾ upwards, ccv's b⁽²⁾ downwards); annealing ε is what removes the bias.

``exploration="overbid"`` keeps the price and the credit clean: every bidder still draws its
exploration independently with probability ε, and when any does, a uniformly random one of those
that did bids just above the highest estimate at the state (by ``1e−6·(high − low)``), so it wins
and pays, and credits the previous winner with, the truthful top bid: b⁽²⁾ is then the best
estimate max_i v(s, i), the max that Q-learning backs up. The auction explores with probability
p = 1 − (1 − ε)^M and then applies a uniformly random primitive, as ε-greedy Q-learning does with
ε = p (the same exploration budget).

The learner is not strategic: its bid ignores the price, so under ``first_price`` it bids its
valuation as it would under ``vickrey`` (shading needs a learner trained on the utility,
:mod:`mechanism.learners.policy_gradient`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from mechanism.learners.base import Transition, group_cells, linear_schedule, tile_clones
from mechanism.society import primitive_of

__all__ = ["EXPLORATIONS", "Valuation", "ValuationParams"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


#: What an exploring valuation bidder bids (see the module docstring).
EXPLORATIONS: tuple[str, ...] = ("uniform", "overbid")


class ValuationParams(NamedTuple):
    """Tables of the valuation learner, all (N, S, A)."""

    v: FloatArray  #: valuation estimate per (seed, state, primitive)
    n: FloatArray  #: revenues realised so far per (seed, state, primitive)
    clones: int


@dataclass(frozen=True)
class Valuation:
    """Valuation bidders (see the module docstring).

    Parameters
    ----------
    step_size : float in (0, 1], or "1/n"
        α of the estimate update; "1/n" averages every revenue realised.
    epsilon, epsilon_final : float in [0, 1]
        Per-bidder probability of an exploration bid, annealed linearly from the first to the
        second over the run.
    noise : float >= 0
        Standard deviation of Gaussian noise added to every other bid.
    bid_range : (low, high)
        Exploration bids are uniform on [low, high); the default (0, 1) is the paper's bid range.
    initial : float
        Initial estimate.
    exploration : {"uniform", "overbid"}
        What an exploring bidder bids: uniform on ``bid_range`` (each bidder on its own), or just
        above the highest estimate (one explorer per auction; the price and credit stay truthful).
    """

    step_size: float | str = 0.1
    epsilon: float = 0.2
    epsilon_final: float = 0.0
    noise: float = 0.0
    bid_range: tuple[float, float] = (0.0, 1.0)
    initial: float = 0.0
    exploration: str = "uniform"
    name: str = "valuation"
    monolithic: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.step_size, str):
            if self.step_size != "1/n":
                raise ValueError(f"step_size must be a float in (0, 1] or '1/n'; got {self.step_size!r}.")
        elif not 0.0 < float(self.step_size) <= 1.0:
            raise ValueError(f"step_size must lie in (0, 1]; got {self.step_size!r}.")
        for key in ("epsilon", "epsilon_final"):
            if not 0.0 <= float(getattr(self, key)) <= 1.0:
                raise ValueError(f"{key} must lie in [0, 1]; got {getattr(self, key)!r}.")
        if not float(self.noise) >= 0.0:
            raise ValueError(f"noise must be >= 0; got {self.noise!r}.")
        lo, hi = self.bid_range
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(f"bid_range must be finite (low, high) with low < high; got {self.bid_range!r}.")
        if self.exploration not in EXPLORATIONS:
            raise ValueError(f"exploration must be one of {EXPLORATIONS}; got {self.exploration!r}.")
        if not np.isfinite(self.initial):
            raise ValueError(f"initial must be finite; got {self.initial!r}.")

    def init(
        self, n_seeds: int, n_states: int, n_primitives: int, clones: int, rng: np.random.Generator
    ) -> ValuationParams:
        """Every estimate at ``initial``; the generator is not used."""
        shape = (n_seeds, n_states, n_primitives)
        return ValuationParams(np.full(shape, float(self.initial)), np.zeros(shape), clones)

    def sample(
        self, params: ValuationParams, seed: IntArray, s: IntArray, progress: float, rng: np.random.Generator
    ) -> FloatArray:
        """Bids (..., M): the estimate, or with probability ε a uniform exploration bid, per bidder."""
        _, S, A = params.v.shape
        cell = (np.asarray(seed) * S + np.asarray(s)) * A
        bids = params.v.reshape(-1)[cell[..., None] + primitive_of(A, params.clones)]
        eps = linear_schedule(self.epsilon, self.epsilon_final, progress)
        if self.noise > 0:
            bids += self.noise * rng.standard_normal(bids.shape)
        if eps > 0 and self.exploration == "overbid":
            lo, hi = self.bid_range
            M = bids.shape[-1]
            p = -np.expm1(M * np.log1p(-eps))  # P(some bidder explores) = 1 − (1 − ε)^M
            # One uniform per auction: u < p decides, and given that, u/p picks the explorer uniformly.
            u = rng.random(bids.shape[:-1])
            explore = np.flatnonzero(u < p)
            if explore.size:
                flat = bids.reshape(-1, M)
                who = np.minimum((u.reshape(-1)[explore] / p * M).astype(np.intp), M - 1)
                flat[explore, who] = flat[explore].max(axis=-1) + 1e-6 * (hi - lo)
        elif eps > 0:
            # One uniform per bidder: u < ε decides exploration, and given that, u/ε is uniform on [0, 1).
            u = rng.random(bids.shape)
            lo, hi = self.bid_range
            np.putmask(bids, u < eps, lo + ((hi - lo) / eps) * u)
        return bids

    def update(self, params: ValuationParams, step: Transition) -> None:
        """Move the winner's estimate towards the revenue it realised (in place)."""
        _, S, A = params.v.shape
        cells, inverse, k = group_cells((step.seed * S + step.s_t) * A + step.a_t)
        total = np.bincount(inverse, weights=step.revenue_t.reshape(-1))
        v, n = params.v.reshape(-1), params.n.reshape(-1)
        n[cells] += k
        if isinstance(self.step_size, str):  # "1/n": the running average, v += (total − k·v)/n
            rate = k / n[cells]
        elif self.step_size < 1:  # k sequential steps towards the mean: 1 − (1 − α)^k
            rate = -np.expm1(k * np.log1p(-float(self.step_size)))
        else:
            rate = np.ones_like(k)
        v[cells] += rate * (total / k - v[cells])

    def mean_bids(self, params: ValuationParams) -> FloatArray:
        """The estimates, per bidder: (N, S, M)."""
        return tile_clones(params.v, params.clones).copy()

    def greedy(self, params: ValuationParams) -> IntArray:
        """The primitive with the highest estimate (ties to the lowest index), (N, S)."""
        return np.argmax(params.v, axis=-1)
