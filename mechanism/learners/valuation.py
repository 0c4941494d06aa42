"""Valuation bidders: bid what winning has been worth, with schedules that make the bids converge.

Each primitive i keeps, per seed and state, an estimate v(s, i) of its valuation: the revenue it
realises when it wins the auction at s,

    revenue_t = r_t + γ·L(b_{t+1})            (L the mechanism's lookahead; 0 after a terminal transition)

(for an option that ran τ steps, r_t = Σ_{k<τ} γ^k r_k and γ^τ in place of γ; :func:`mechanism.train`
computes the revenue, so the update below is the same), and moves the estimate towards it (Chang
et al. 2020, §4: bidding one's valuation is what the Vickrey auction rewards; the truthful fixed
point of cloned vickrey/ccv is Q*):

    v(s_t, i*) ← v(s_t, i*) + α_n·(revenue_t − v(s_t, i*)),    n = the visits of (seed, s_t, i*) so far.

Step sizes (``step_size``). Every schedule counts the visits n of each (seed, state, primitive)
cell. The Robbins–Monro family α_n = (h/(h + n − 1))^ω (:func:`~mechanism.learners.base.robbins_monro_step`)
satisfies Σ_n α_n = ∞ and Σ_n α_n² < ∞ for ω ∈ (1/2, 1]; with ω = 1 and h = 1/(1 − γ) it is the
"rescaled linear" step (Wainwright 2019; Li, Cai, Chen, Wei & Chi 2021), whose bias decays like
1/n and whose noise is the smallest of the family for the slowest mode of the bootstrap. The
default, ``"kesten"`` (:func:`~mechanism.learners.base.kesten_rate`; Kesten 1958), runs that
step on a clock that advances only when the cell's mean error changes sign, clipped between the
envelopes h/(h + n − 1) and (h/(h + n − 1))^0.6: while the bootstrapped targets still drift (the
error keeps its sign, as in a deterministic task whose values rise towards the fixed point) it
takes the large upper steps; once the error is noise it takes the rescaled linear ones. Measured:
duality (deterministic, γ = 0.99) within 0.0004 of Q* at 50k steps where the rescaled linear step
alone is 0.036 off; on stochastic random MDPs the two agree. The older settings stay by name: a
constant α (``step_size=0.1``, the old default) never stops moving, so the bids keep a noise of
order √(α·Var[revenue]); ``"1/n"`` (ω = 1, h = 1) satisfies the conditions but keeps the early,
non-stationary revenues in its average for ever, and its bias decays like n^{−(1−γ)}: a time
exponential in 1/(1 − γ) (Even-Dar & Mansour 2003, Thm 4). The k visits a cell gets in one round
(parallel episodes) move it by 1 − Π_j (1 − α_j) towards their mean revenue: k sequential steps
when the k revenues agree.

Exploration (``exploration``, scheduled in env steps). An exploring auction gives the win to a
uniformly random bidder without touching what the winner pays or what the previous winner is
credited. ``"swap"`` (the default): with probability ε_t the auction explores, a uniformly random
bidder j takes the top bid (raised to the next float, so it wins) and the top bidder gets j's bid:
the multiset of the other bids is unchanged, so b⁽²⁾, the price under vickrey and ccv and the
credit under ccv, is exactly the one the estimates give, in cloned and solitary societies alike,
and vickrey's credit b⁽¹⁾ is off by one float. ``"overbid"`` (every bidder explores with
probability ε, one of them bids the top + 1e−6·(high − low)) keeps b⁽²⁾ only when the top bid is
tied (cloned societies); in a solitary one it raises the credit to the top estimate.
``"uniform"`` (every bidder with probability ε bids uniformly on ``bid_range``, the old default)
biases the credit while ε > 0: ccv's b⁽²⁾ drops, vickrey's b⁽¹⁾ rises, and in a task that never
ends the bias is multiplied by up to 1/(1 − γ). ε follows
ε_t = ε_final + (ε − ε_final)·T/(T + t) in env steps t per seed (``schedule="steps"``, the
default, :func:`mechanism.learners.base.exploration_rate`), so that a short and a long run explore
alike at the same step; ``schedule="run_fraction"`` is the older linear annealing over the run.
With "swap" the society explores exactly as ε-greedy Q-learning with the same ε_t does: an
exploring auction applies a uniformly random primitive.

Why the bids converge (the argument, for any finite MDP). Write T for the map of the truthful
fixed point, (T v)(s, i) = R(s, i) + γ·Σ_{s'} P(s'|s, i)·L(v(s')) with L = 0 at terminal states
(:mod:`verify.fixed_point`). L is a k-th order statistic of the bids, 1-Lipschitz in the sup norm,
so T is a γ-contraction with a unique fixed point v*: Q* for cloned vickrey and ccv, the
second-best fixed point for solitary ccv, R for env_reward. The update is asynchronous stochastic
approximation of that fixed point, v ← v + α_n·(T v + w − v), where the noise
w = revenue − (T v)(s, i) has mean zero given the past — *provided* the credit is L of the
estimates themselves, which is what "swap" exploration keeps (and "overbid" in cloned
societies; "uniform" does not) — and variance at most C·(1 + ‖v‖²). Then v → v* with probability 1
if every cell's steps satisfy Σ α = ∞, Σ α² < ∞ (Jaakkola, Jordan & Singh 1994, Thm 1;
Tsitsiklis 1994, Thm 3, where steps may be random as long as they depend on the past only; the
asynchronous rates are Even-Dar & Mansour 2003): the Kesten step lies between a_n = h/(h + n − 1)
(Σ a_n = ∞) and b_n = a_n^0.6 (Σ b_n² < ∞), so it qualifies. That needs every
reachable (state, primitive) tried infinitely often: ε_final > 0 makes every primitive win an
auction with probability at least ε_final/A on every visit, and every reachable state is visited
infinitely often when episodes restart (terminal states, a time limit that leaves every reachable
state within reach) or the reachable states are recurrent. Noise in bids (``noise`` > 0) makes L an
expected order statistic of noisy bids: the learner then converges to the *noisy* fixed point, not
v*. Measured (tests/benchmarks/test_bench_convergence.py): on random 8-state, 3-action MDPs with 3
successors, γ = 0.9, rewards in [0, 1], cloned ccv and vickrey end within 0.003-0.014 of Q* after
10^6 env steps per seed (seeds 1-5 of the family, on which the defaults were chosen; 0.0036-0.0093
in 10 seeds on the held-out seed 10). What is left is the noise of the revenues, which the
bootstrap amplifies; the floor ε_final = 0.5 gives the rarely chosen primitives enough visits (a
per-bidder floor of 0.02 left 0.015-0.05).

The learner is not strategic: its bid ignores the price, so under ``first_price`` it bids its
valuation as it would under ``vickrey`` (shading needs a learner trained on the utility,
:mod:`mechanism.learners.policy_gradient`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from mechanism.learners.base import (
    EPSILON,
    EPSILON_FINAL,
    EPSILON_STEPS,
    STEP_OFFSET,
    STEP_POWER,
    STEP_SIZE,
    StepCounters,
    Transition,
    advance,
    available_table,
    check_exploration,
    check_step_size,
    exploration_rate,
    group_cells,
    horizon_gamma,
    masked_argmax,
    step_counters,
    tile_clones,
)
from mechanism.society import primitive_of

__all__ = ["EXPLORATIONS", "Valuation", "ValuationParams"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


#: What an exploring valuation bidder bids (see the module docstring).
EXPLORATIONS: tuple[str, ...] = ("swap", "overbid", "uniform")


class ValuationParams(NamedTuple):
    """Tables of the valuation learner, all (N, S, A), the clone count and the action mask."""

    v: FloatArray  #: valuation estimate per (seed, state, primitive)
    n: FloatArray  #: revenues realised so far (visits as the winner) per (seed, state, primitive)
    clones: int
    clock: FloatArray  #: Kesten's clock of the step size (:class:`~mechanism.learners.base.StepCounters`)
    sign: FloatArray  #: sign of the last mean error, for the clock
    #: (S, A) action mask, or None when every action is available: an unavailable primitive does not bid
    available: NDArray[np.bool_] | None = None


@dataclass(frozen=True)
class Valuation:
    """Valuation bidders (see the module docstring).

    Parameters
    ----------
    step_size : "kesten", "robbins_monro", "1/n" or float in (0, 1]
        The step of the estimate update: Kesten's step between two Robbins–Monro envelopes (the
        default), the per-cell α_n = (h/(h + n − 1))^ω on the cell's n-th visit, the running
        average ("1/n"), or a constant α (module docstring).
    step_power : float in (1/2, 1], optional
        ω: of the Robbins–Monro step (default 1), of the Kesten step's upper envelope (default 0.6).
    step_offset : float > 0, optional
        h of both; default 1/(1 − γ).
    epsilon, epsilon_final : float in [0, 1]
        The exploration probability ε_0 and its limit (``schedule="steps"``) or its value at the
        end of the run (``"run_fraction"``): per auction for "swap" (as ε-greedy Q-learning's
        per step), per bidder for "overbid" and "uniform" (an auction then explores with
        probability 1 − (1 − ε)^M).
    epsilon_steps : float > 0
        T of the env-step schedule: ε is halfway from ``epsilon`` to ``epsilon_final`` after T
        env steps per seed.
    schedule : {"steps", "run_fraction"}
        ε_t = ε_final + (ε_0 − ε_final)·T/(T + t) in env steps t per seed, or the older linear
        annealing over the fraction of the run.
    noise : float >= 0
        Standard deviation of Gaussian noise added to every bid.
    bid_range : (low, high)
        Uniform exploration bids are drawn on [low, high); the default (0, 1) is the paper's range.
    initial : float
        Initial estimate (forgotten at the first visit by "kesten", "robbins_monro" and "1/n").
    exploration : {"swap", "overbid", "uniform"}
        What an exploring bidder bids (module docstring): the top bid, taking it from its holder
        (the default: b⁽²⁾ is untouched, so neither price nor credit is biased); just above the
        top bid; or a uniform bid on ``bid_range`` (biases the credit while ε > 0).
    """

    step_size: float | str = STEP_SIZE
    step_power: float | None = STEP_POWER
    step_offset: float | None = STEP_OFFSET
    epsilon: float = EPSILON
    epsilon_final: float = EPSILON_FINAL
    epsilon_steps: float = EPSILON_STEPS
    schedule: str = "steps"
    noise: float = 0.0
    bid_range: tuple[float, float] = (0.0, 1.0)
    initial: float = 0.0
    exploration: str = "swap"
    name: str = "valuation"
    monolithic: bool = False

    def __post_init__(self) -> None:
        check_step_size(self.step_size, self.step_power, self.step_offset)
        check_exploration(self.epsilon, self.epsilon_final, self.epsilon_steps, self.schedule)
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
        self,
        n_seeds: int,
        n_states: int,
        n_primitives: int,
        clones: int,
        rng: np.random.Generator,
        available: NDArray[np.bool_] | None = None,
    ) -> ValuationParams:
        """Every estimate at ``initial``; the generator is not used. ``available``: the (S, A) action mask."""
        shape = (n_seeds, n_states, n_primitives)
        counters = step_counters(shape)
        mask = available_table(available, n_states, n_primitives)
        return ValuationParams(
            np.full(shape, float(self.initial)), counters.n, clones, counters.clock, counters.sign, mask
        )

    def epsilon_at(self, progress: float, env_steps: int) -> float:
        """The per-bidder exploration probability ε of a round (:func:`exploration_rate`)."""
        return exploration_rate(
            self.epsilon, self.epsilon_final, self.epsilon_steps, self.schedule, progress, env_steps
        )

    def sample(
        self,
        params: ValuationParams,
        seed: IntArray,
        s: IntArray,
        progress: float,
        rng: np.random.Generator,
        env_steps: int = 0,
    ) -> FloatArray:
        """Bids (..., M): the estimate, or with probability ε an exploration bid, per bidder.

        Under an action mask a bidder whose action is unavailable at s does not bid (NaN) and is
        never the explorer: exploration is among the bidders that take part.
        """
        _, S, A = params.v.shape
        prim = primitive_of(A, params.clones)
        cell = (np.asarray(seed) * S + np.asarray(s)) * A
        bids = params.v.reshape(-1)[cell[..., None] + prim]
        part = None if params.available is None else params.available[np.asarray(s)][..., prim]
        if part is not None:
            np.copyto(bids, np.nan, where=~part)
        eps = self.epsilon_at(progress, env_steps)
        if self.noise > 0:
            bids += self.noise * rng.standard_normal(bids.shape)
        if eps > 0 and self.exploration == "uniform":
            # One uniform per bidder: u < ε decides exploration, and given that, u/ε is uniform on [0, 1).
            u = rng.random(bids.shape)
            lo, hi = self.bid_range
            explore = u < eps if part is None else (u < eps) & part
            np.putmask(bids, explore, lo + ((hi - lo) / eps) * u)
        elif eps > 0:
            _take_the_top(bids, eps, self.exploration == "swap", self.bid_range, rng, part)
        return bids

    def update(self, params: ValuationParams, step: Transition) -> None:
        """Move the winner's estimate towards the revenue it realised (in place)."""
        _, S, A = params.v.shape
        cells, inverse, k = group_cells((step.seed * S + step.s_t) * A + step.a_t)
        v = params.v.reshape(-1)
        error = np.bincount(inverse, weights=step.revenue_t.reshape(-1)) / k - v[cells]
        counters = StepCounters(params.n, params.clock, params.sign)
        gamma = horizon_gamma(step)  # the MDP's γ: the horizon of the default step offset
        rate = advance(counters, self.step_size, self.step_power, self.step_offset, gamma, cells, k, error)
        v[cells] += rate * error

    def mean_bids(self, params: ValuationParams) -> FloatArray:
        """The estimates, per bidder: (N, S, M); NaN (no bid) where the primitive is unavailable."""
        return tile_clones(_no_bid(params.v, params.available), params.clones).copy()

    def bid_params(self, params: ValuationParams) -> dict[str, FloatArray]:
        """Every parameter of the bids, per primitive (N, S, A): the estimate and the visit count."""
        return {"estimate": params.v.copy(), "visits": params.n.copy()}

    def greedy(self, params: ValuationParams) -> IntArray:
        """The available primitive with the highest estimate (ties to the lowest index), (N, S)."""
        return masked_argmax(params.v, params.available)


def _no_bid(x: FloatArray, available: NDArray[np.bool_] | None) -> FloatArray:
    """``x`` (N, S, A) with NaN where the action is unavailable (a copy under a mask, else ``x`` itself)."""
    return x if available is None else np.where(available, x, np.nan)


def _take_the_top(
    bids: FloatArray,
    eps: float,
    swap: bool,
    bid_range: tuple[float, float],
    rng: np.random.Generator,
    part: NDArray[np.bool_] | None = None,
) -> None:
    """In place: an auction explores with probability p, and then a uniformly random bidder bids the top.

    ``swap``: the explorer takes the top bid, raised to the next float, and its holder gets the
    explorer's bid, so the multiset of the other bids, b⁽²⁾ among them, is unchanged. Otherwise
    ("overbid") the explorer bids the top bid + 1e−6·(high − low) and the holder keeps its bid.
    ``part`` (..., M): the bidders that take part (an action mask); explorer and top are among them.
    """
    M = bids.shape[-1]
    k: int | IntArray = M if part is None else part.reshape(-1, M).sum(axis=1)
    # "swap": ε is the probability that the auction explores; "overbid": every bidder explores with
    # probability ε, so the auction does when some bidder does, p = 1 − (1 − ε)^k.
    p = eps if swap or eps >= 1.0 else -np.expm1(k * np.log1p(-eps))
    # One uniform per auction: u < p decides, and given that, u/p picks the explorer uniformly.
    u = rng.random(bids.shape[:-1])
    explore = np.flatnonzero(u.reshape(-1) < p)
    if not explore.size:
        return
    flat = bids.reshape(-1, M)
    rows = flat[explore]
    p_x = p if np.ndim(p) == 0 else np.asarray(p)[explore]
    k_x = k if part is None else np.asarray(k)[explore]
    rank = np.minimum((u.reshape(-1)[explore] / p_x * k_x).astype(np.intp), k_x - 1)
    at = np.arange(explore.size)
    if part is None:
        who, top = rank, np.argmax(rows, axis=-1)
    else:
        taking = part.reshape(-1, M)[explore]
        who = np.argsort(~taking, axis=1, kind="stable")[at, rank]  # the rank-th bidder taking part
        top = np.argmax(np.where(taking, rows, -np.inf), axis=-1)
    best = rows[at, top]
    if swap:
        flat[explore, top] = rows[at, who]
        flat[explore, who] = np.nextafter(best, np.inf)
    else:
        lo, hi = bid_range
        flat[explore, who] = best + 1e-6 * (hi - lo)
