"""Monolithic baselines on the learners' interface: tabular Q-learning and a softmax actor-critic.

One agent per seed chooses the action itself; there is no auction, so :func:`mechanism.train`
ignores the mechanism for them and runs them with one "bidder" per action. Their "bids", what
:func:`mechanism.train` records, are their action-value estimates Q(s, a), so the same error
against Q* measures them.

*Q-learning* (Watkins 1989; Sutton & Barto 2018, eq. 6.8), ε-greedy:

    Q(s_t, a_t) ← Q(s_t, a_t) + α_n·(r_t + γ·(1 − terminated)·max_a Q(s_{t+1}, a) − Q(s_t, a_t)).

On a semi-MDP of options (:class:`tasks.OptionsMDP`) this is SMDP Q-learning (Bradtke & Duff
1995; Sutton, Precup & Singh 1999, eq. 12): a_t is an option, r_t the discounted reward it
collected over its τ steps and γ is γ^τ, the transition's ``discount_t``; likewise in the critic
below.

Its schedules are the valuation bidders' (:mod:`mechanism.learners.base`), with the same defaults,
so that sample-efficiency comparisons are made at matched schedules: the per-cell Kesten step
between the Robbins–Monro envelopes h/(h + n − 1) and (h/(h + n − 1))^0.6 on the n-th visit of
(s, a), h = 1/(1 − γ) (``step_size="robbins_monro"``, ``0.1`` or ``"1/n"`` by name), and ε in env
steps per seed,
ε_t = ε_final + (ε − ε_final)·T/(T + t) (``schedule="run_fraction"``: the older linear annealing
over the run). With the valuation bidders' default ``exploration="swap"`` the society explores an
auction with probability ε_t and then applies a uniformly random primitive: exactly ε-greedy
Q-learning's exploration at the same ε_t. Q-learning with these steps converges to Q* with
probability 1 when every (s, a) is tried infinitely often (Watkins & Dayan 1992; Jaakkola, Jordan
& Singh 1994; Tsitsiklis 1994), which ε_final > 0 ensures on every state the agent can reach.

*Softmax policy gradient* (one-step actor-critic, Sutton & Barto 2018, §13.5, with an expected
SARSA critic): π(a|s) = softmax(z(s))_a, the critic Q(s, a) learns

    Q(s_t, a_t) ← Q(s_t, a_t) + α_Q·(r_t + γ·(1 − terminated)·Σ_a π(a|s_{t+1}) Q(s_{t+1}, a) − Q(s_t, a_t))

and the logits follow the all-actions policy gradient with an entropy bonus,

    z(s_t) ← z(s_t) + lr·(π ⊙ (Q(s_t) − π·Q(s_t)) + c_H·∇_z H(π)),

∇_z H = −π ⊙ (log π + H). Its greedy policy is argmax π. Truncation bootstraps from s_{t+1}.
The k visits a cell gets in one round count as k sequential updates towards their mean target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy.special import softmax

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
    scatter_mean,
    step_counters,
)
from mechanism.rules import highest_bidder

__all__ = ["QLearning", "SoftmaxPolicyGradient", "TableParams"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


class TableParams(NamedTuple):
    """A monolithic agent's tables, all (N, S, A): Q, the softmax agent's logits z, the visits of each cell."""

    Q: FloatArray
    z: FloatArray
    n: FloatArray
    clock: FloatArray  #: Kesten's clock of Q-learning's step size
    sign: FloatArray  #: sign of the last mean TD error, for the clock
    #: (S, A) action mask, or None when every action is available: an unavailable action is never taken
    available: NDArray[np.bool_] | None = None


def _batched_step(x: FloatArray, target: FloatArray, cell: IntArray, alpha: float) -> None:
    """x[cell] moves towards the mean target of its k visits with step 1 − (1 − α)^k (in place)."""
    flat = x.reshape(-1)
    cells, mean, k = scatter_mean(target, cell)
    rate = -np.expm1(k * np.log1p(-alpha)) if alpha < 1 else 1.0
    flat[cells] += rate * (mean - flat[cells])


def _check_unit(value: float, name: str, low_open: bool = False) -> None:
    ok = (0.0 < value <= 1.0) if low_open else (0.0 <= value <= 1.0)
    if not ok:
        raise ValueError(f"{name} must lie in {'(0, 1]' if low_open else '[0, 1]'}; got {value!r}.")


class _ActionValueBids:
    """What both baselines share: their "bids" are their action-value estimates Q(s, ·)."""

    def sample(
        self, params: TableParams, seed: IntArray, s: IntArray, progress: float, rng: np.random.Generator
    ) -> FloatArray:
        """The agent's Q(s, ·), (..., A): what it would "bid" (NaN for an unavailable action)."""
        Q = params.Q[seed, s]
        return Q if params.available is None else np.where(params.available[s], Q, np.nan)

    def mean_bids(self, params: TableParams) -> FloatArray:
        """Q of every (seed, state, action), a copy: (N, S, A); NaN where the action is unavailable."""
        return params.Q.copy() if params.available is None else np.where(params.available, params.Q, np.nan)


def _tables(n_seeds: int, n_states: int, n_primitives: int, initial: float, available: object = None) -> TableParams:
    """Q = ``initial``, logits z = 0 (−inf for an unavailable action: probability 0) and no visits, all (N, S, A)."""
    shape = (n_seeds, n_states, n_primitives)
    counters = step_counters(shape)
    mask = available_table(available, n_states, n_primitives)
    z = np.zeros(shape) if mask is None else np.where(mask, 0.0, -np.inf) * np.ones(shape)
    return TableParams(np.full(shape, float(initial)), z, counters.n, counters.clock, counters.sign, mask)


def _nth_available(available: NDArray[np.bool_], s: IntArray, u: FloatArray) -> IntArray:
    """For u uniform on [0, 1) per entry of ``s``: a uniformly random action among those available at s."""
    part = available[s]
    k = part.sum(axis=-1)
    rank = np.minimum((u * k).astype(np.intp), k - 1)
    order = np.argsort(~part, axis=-1, kind="stable")
    return np.take_along_axis(order, rank[..., None], axis=-1)[..., 0]


@dataclass(frozen=True)
class QLearning(_ActionValueBids):
    """Tabular ε-greedy Q-learning (see the module docstring).

    Parameters
    ----------
    step_size : "kesten", "robbins_monro", "1/n" or float in (0, 1]
        Kesten's step (default), the per-cell α_n = (h/(h + n − 1))^ω on the n-th visit, the
        running average, or a constant α (the older default was 0.1); see
        :mod:`mechanism.learners.valuation`.
    step_power, step_offset : float, optional
        ω ∈ (1/2, 1] (default 1, or 0.6 for Kesten's upper envelope) and h > 0 (default 1/(1 − γ)).
    epsilon, epsilon_final : float in [0, 1]
        Probability of a uniformly random action: ε_0 and its limit (``schedule="steps"``) or its
        value at the end of the run (``"run_fraction"``).
    epsilon_steps : float > 0
        T: ε is halfway from ``epsilon`` to ``epsilon_final`` after T env steps per seed.
    schedule : {"steps", "run_fraction"}
        Exploration in env steps per seed (default) or annealed linearly over the run.
    initial : float
        Initial Q (forgotten at the first visit by "robbins_monro" and "1/n").
    """

    step_size: float | str = STEP_SIZE
    step_power: float | None = STEP_POWER
    step_offset: float | None = STEP_OFFSET
    epsilon: float = EPSILON
    epsilon_final: float = EPSILON_FINAL
    epsilon_steps: float = EPSILON_STEPS
    schedule: str = "steps"
    initial: float = 0.0
    name: str = "q_learning"
    monolithic: bool = True

    def __post_init__(self) -> None:
        check_step_size(self.step_size, self.step_power, self.step_offset)
        check_exploration(self.epsilon, self.epsilon_final, self.epsilon_steps, self.schedule)

    def init(
        self,
        n_seeds: int,
        n_states: int,
        n_primitives: int,
        clones: int,
        rng: np.random.Generator,
        available: NDArray[np.bool_] | None = None,
    ) -> TableParams:
        """Q = ``initial``, no visits; ``available``: the (S, A) action mask (None: every action)."""
        return _tables(n_seeds, n_states, n_primitives, self.initial, available)

    def act(
        self,
        params: TableParams,
        seed: IntArray,
        s: IntArray,
        progress: float,
        rng: np.random.Generator,
        env_steps: int = 0,
    ) -> IntArray:
        """ε-greedy actions; ties among the greedy actions broken uniformly at random.

        Random tie-breaking matters: from Q = 0 with ties to the lowest index, the chain's
        agent would walk left forever and never see the reward.
        """
        eps = exploration_rate(
            self.epsilon, self.epsilon_final, self.epsilon_steps, self.schedule, progress, env_steps
        )
        Q = params.Q[seed, s]
        mask = params.available
        greedy = highest_bidder(Q if mask is None else np.where(mask[s], Q, -np.inf), rng)
        u = rng.random(np.shape(s))
        A = params.Q.shape[-1]
        # One uniform: u < ε explores, and given that, u/ε picks the action uniformly (among the available ones).
        if mask is None:
            return np.where(u < eps, np.minimum((u / max(eps, 1e-300) * A).astype(np.intp), A - 1), greedy)
        return np.where(u < eps, _nth_available(mask, s, np.minimum(u / max(eps, 1e-300), 1.0)), greedy)

    def update(self, params: TableParams, step: Transition) -> None:
        _, S, A = params.Q.shape
        Q_tp1 = params.Q[step.seed, step.s_tp1]
        if params.available is not None:  # the max over the actions available at s_{t+1}
            Q_tp1 = np.where(params.available[step.s_tp1], Q_tp1, -np.inf)
        boot = np.where(step.terminated, 0.0, Q_tp1.max(axis=-1))
        target = step.r_t + step.discount_t * boot
        cells, inverse, k = group_cells((step.seed * S + step.s_t) * A + step.a_t)
        Q = params.Q.reshape(-1)
        error = np.bincount(inverse, weights=target.reshape(-1)) / k - Q[cells]
        counters = StepCounters(params.n, params.clock, params.sign)
        gamma = horizon_gamma(step)  # the MDP's γ: the horizon of the default step offset
        rate = advance(counters, self.step_size, self.step_power, self.step_offset, gamma, cells, k, error)
        Q[cells] += rate * error

    def bid_params(self, params: TableParams) -> dict[str, FloatArray]:
        """Q and the visit count of every (seed, state, action), (N, S, A) each."""
        return {"Q": params.Q.copy(), "visits": params.n.copy()}

    def greedy(self, params: TableParams) -> IntArray:
        """The available action of highest Q (ties to the lowest index), (N, S)."""
        return masked_argmax(params.Q, params.available)


@dataclass(frozen=True)
class SoftmaxPolicyGradient(_ActionValueBids):
    """Tabular softmax actor-critic (see the module docstring).

    Parameters
    ----------
    lr : float > 0
        Step size of the logits.
    critic_step : float in (0, 1]
        Step size of the Q critic.
    entropy : float >= 0
        Entropy bonus c_H.
    """

    lr: float = 0.5
    critic_step: float = 0.1
    entropy: float = 0.001
    name: str = "softmax_pg"
    monolithic: bool = True

    def __post_init__(self) -> None:
        if not float(self.lr) > 0:
            raise ValueError(f"lr must be > 0; got {self.lr!r}.")
        _check_unit(self.critic_step, "critic_step", low_open=True)
        if not float(self.entropy) >= 0:
            raise ValueError(f"entropy must be >= 0; got {self.entropy!r}.")

    def init(
        self,
        n_seeds: int,
        n_states: int,
        n_primitives: int,
        clones: int,
        rng: np.random.Generator,
        available: NDArray[np.bool_] | None = None,
    ) -> TableParams:
        """Q = 0, logits 0 (−inf, probability 0, for an action unavailable in the (S, A) mask ``available``)."""
        return _tables(n_seeds, n_states, n_primitives, 0.0, available)

    def act(
        self, params: TableParams, seed: IntArray, s: IntArray, progress: float, rng: np.random.Generator
    ) -> IntArray:
        """Actions drawn from π(·|s) by inverse CDF (an unavailable action has probability 0)."""
        cdf = np.cumsum(softmax(params.z[seed, s], axis=-1), axis=-1)
        if params.available is not None:
            # Exactly 1 from the last available action on, so u < 1 never lands on a trailing unavailable one.
            cdf /= cdf[..., -1:]
        u = rng.random(np.shape(s))
        return np.minimum((u[..., None] >= cdf).sum(axis=-1), params.z.shape[-1] - 1)

    def update(self, params: TableParams, step: Transition) -> None:
        N, S, A = params.Q.shape
        pi_tp1 = softmax(params.z[step.seed, step.s_tp1], axis=-1)
        v_tp1 = (pi_tp1 * params.Q[step.seed, step.s_tp1]).sum(axis=-1)
        target = step.r_t + step.discount_t * np.where(step.terminated, 0.0, v_tp1)
        _batched_step(params.Q, target, (step.seed * S + step.s_t) * A + step.a_t, float(self.critic_step))
        # All-actions gradient at each visited state (once per round, whatever the visit count).
        state_cell = np.unique(np.ravel(step.seed * S + step.s_t))
        z, Q = params.z.reshape(N * S, A), params.Q.reshape(N * S, A)
        pi = softmax(z[state_cell], axis=-1)
        adv = Q[state_cell] - (pi * Q[state_cell]).sum(axis=-1, keepdims=True)
        log_pi = np.log(np.maximum(pi, 1e-300))
        H = -(pi * log_pi).sum(axis=-1, keepdims=True)
        z[state_cell] += self.lr * (pi * adv + self.entropy * (-pi * (log_pi + H)))

    def greedy(self, params: TableParams) -> IntArray:
        return np.argmax(params.z, axis=-1)
