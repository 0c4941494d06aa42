"""A monolithic PPO baseline: one network per seed chooses the action, on the same :func:`mechanism.train` interface.

The paper's comparison for its societies is a monolithic PPO agent over the same primitives
(Chang et al. 2020, §7). Here one actor-critic per seed, batched over seeds (network axes (N, 1)):

    π(a | s) = softmax(MLP_π(F[s]))_a,      Q(s, ·) = MLP_Q(F[s])  (A outputs),
    V(s) = Σ_a π(a | s)·Q(s, a),

trained every ``epoch_steps`` env steps per seed by PPO-clip (:mod:`mechanism.learners.ppo_core`)
with GAE(λ) advantages from V (Schulman et al. 2016, eq. 16): δ_t = r_t + γ(1 − terminated)·V(s_{t+1})
− V(s_t) (on options: r_t the option's discounted reward and γ^τ, the transition's discount, for γ:
the semi-MDP's advantage), an episode ending where it terminated or was cut (a restart after a time limit is seen as
a next round's state that is not the state reached; the cut step bootstraps). The critic regresses
Q(s_t, a_t) on the λ-return Â_t + V(s_t), an estimate of Q^π(s_t, a_t), so its Q table is what the
baseline "bids": :class:`mechanism.TrainResult` compares it with Q* as it does the tabular
baselines' estimates (:mod:`mechanism.learners.baselines`). Its greedy policy is the most likely
action. An unavailable action (the MDP's mask) has logit −10³⁰: probability exactly 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import log_softmax, softmax

from mechanism.learners.base import Transition, available_table, exploration_rate, masked_argmax
from mechanism.learners.ppo_core import Batch, Networks, PPOStats, TrainState, ppo_update
from mechanism.learners.ppo_settings import PPOHyperparameters
from mechanism.neural import MLP, Adam, CategoricalHead, gae, normalize_advantages
from mechanism.neural.features import state_features
from mechanism.neural.init import Array

__all__ = ["MonolithicPPO", "MonolithicParams"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: The logit of an unavailable action.
MASKED_LOGIT = -1e30


class MonolithicParams:
    """Networks of every seed, their per-state tables (logits, π, Q) and the epoch buffer; updated in place."""

    __slots__ = ("Q", "available", "buffer", "features", "fill", "logits", "nets", "probs", "rng", "stats", "train",
                 "updates")

    def __init__(self, nets: Networks, train: TrainState, features: Array, available: NDArray[np.bool_] | None,
                 rng: np.random.Generator) -> None:
        self.nets, self.train, self.features, self.available, self.rng = nets, train, features, available, rng
        self.buffer: dict[str, NDArray[Any]] | None = None
        self.fill = 0
        self.updates = 0
        self.stats: PPOStats | None = None
        self.logits: FloatArray = np.empty(0)
        self.probs: FloatArray = np.empty(0)
        self.Q: FloatArray = np.empty(0)
        refresh(self)


def refresh(params: MonolithicParams) -> None:
    """Logits, π and Q of every (seed, state), (N, S, A), from the current networks."""
    nets = params.nets
    logits = nets.policy.apply(params.train.policy, params.features)[:, 0].astype(np.float64)
    params.logits = logits if nets.offset is None else logits + nets.offset
    params.probs = softmax(params.logits, axis=-1)
    params.Q = nets.value.apply(params.train.value, params.features)[:, 0].astype(np.float64)


@dataclass(frozen=True)
class MonolithicPPO(PPOHyperparameters):
    """One PPO actor-critic per seed choosing the actions itself (module docstring; hyperparameters in
    :class:`mechanism.learners.ppo_settings.PPOHyperparameters`)."""

    name: str = "ppo_monolithic"
    monolithic: bool = True

    def init(
        self,
        n_seeds: int,
        n_states: int,
        n_primitives: int,
        clones: int,
        rng: np.random.Generator,
        available: NDArray[np.bool_] | None = None,
    ) -> MonolithicParams:
        """Fresh networks for every seed: uniform π over the available actions; ``available`` the (S, A) mask."""
        features = state_features(self.features, n_states)
        mask = available_table(available, n_states, n_primitives)
        head = CategoricalHead(n_primitives)
        d = features.shape[1]
        nets = Networks(
            MLP((d, *self.hidden, n_primitives), activation=self.activation, output_init="zeros"),
            MLP((d, *self.value_hidden, n_primitives), activation=self.value_activation),
            head, Adam(self.lr, max_grad_norm=self.max_grad_norm, batch_ndim=2), Adam(self.value_lr, batch_ndim=2),
            clip=self.clip, value_l2=self.value_l2, minibatch=self.minibatch, epochs=self.epochs,
            offset=None if mask is None else np.where(mask, 0.0, MASKED_LOGIT),
        )
        return MonolithicParams(nets, nets.init(rng, (n_seeds, 1)), features, mask,
                                np.random.default_rng(rng.integers(2**63)))

    def act(
        self, params: MonolithicParams, seed: IntArray, s: IntArray, progress: float, rng: np.random.Generator,
        env_steps: int = 0,
    ) -> IntArray:
        """Actions drawn from π(· | s) (inverse CDF; an unavailable action has probability 0)."""
        return np.asarray(params.nets.head.sample(params.logits[seed, s], rng), dtype=np.intp)

    def sample(
        self, params: MonolithicParams, seed: IntArray, s: IntArray, progress: float, rng: np.random.Generator,
        env_steps: int = 0,
    ) -> FloatArray:
        """Q(s, ·), (..., A): what the agent would "bid" (NaN for an unavailable action)."""
        Q = params.Q[seed, s]
        return Q if params.available is None else np.where(params.available[s], Q, np.nan)

    def update(self, params: MonolithicParams, step: Transition) -> None:
        """Store the round; after ``epoch_steps`` env steps per seed, one PPO update (in place)."""
        N, E = step.s_t.shape
        if params.buffer is None:
            R = -(-self.epoch_steps // E)
            params.buffer = {key: np.empty((R, N, E), dtype) for key, dtype in
                             (("s", np.intp), ("a", np.intp), ("r", np.float64), ("s_tp1", np.intp),
                              ("terminated", bool), ("discount", np.float64))}
        buf, k = params.buffer, params.fill
        buf["s"][k], buf["a"][k], buf["r"][k] = step.s_t, step.a_t, step.r_t
        buf["s_tp1"][k], buf["terminated"][k], buf["discount"][k] = step.s_tp1, step.terminated, step.discount_t
        params.fill += 1
        if params.fill < buf["s"].shape[0]:
            return
        c_H = exploration_rate(self.entropy, self.entropy_final, self.entropy_steps, "steps", step.progress,
                               step.env_steps + E)
        batch = self.batch(params, buf, buf["discount"])
        params.stats = ppo_update(params.nets, params.train, params.features, batch, params.rng, c_H)
        params.fill = 0
        params.updates += 1
        refresh(params)

    def batch(self, params: MonolithicParams, buf: dict[str, NDArray[Any]], gamma: float | FloatArray) -> Batch:
        """A full buffer as one batch per seed's network (N, 1, B), B = rounds·E, each episode's steps in order.

        ``gamma`` discounts V(s_{t+1}) in GAE: γ^τ per (round, seed, episode), shape (R, N, E), or one γ.
        """
        R, N, E = buf["s"].shape

        def per_network(x: NDArray[Any]) -> NDArray[Any]:  # (R, N, E) -> (N, 1, E, R): time last
            return np.transpose(x, (1, 2, 0))[:, None]

        rows = np.arange(N)[:, None, None, None]
        V = (params.probs * params.Q).sum(axis=-1)  # (N, S)
        s_t, a_t = per_network(buf["s"]), per_network(buf["a"])
        v_t, v_tp1 = V[rows, s_t], V[rows, per_network(buf["s_tp1"])]
        cut = np.ones((R, N, E), dtype=bool)
        cut[:-1] = buf["s"][1:] != buf["s_tp1"][:-1]
        terminated = per_network(buf["terminated"])
        discount = per_network(np.broadcast_to(gamma, (R, N, E)))
        adv = gae(per_network(buf["r"]), v_t, v_tp1, discount, self.lam, terminated, per_network(cut) & ~terminated)
        flat = (N, 1, E * R)
        log_old = np.take_along_axis(log_softmax(params.logits, axis=-1)[rows, s_t], a_t[..., None], axis=-1)[..., 0]
        advantage = adv.advantage.reshape(flat)
        if self.normalize:
            advantage = normalize_advantages(advantage)
        return Batch(s_t.reshape(flat), a_t.reshape(flat), np.ones(flat), log_old.reshape(flat), advantage,
                     adv.target.reshape(flat), a_t.reshape(flat))

    def bid_params(self, params: MonolithicParams) -> dict[str, FloatArray]:
        """Q and π of every (seed, state, action), (N, S, A) each."""
        return {"Q": params.Q.copy(), "probability": params.probs.copy()}

    def mean_bids(self, params: MonolithicParams) -> FloatArray:
        """Q of every (seed, state, action), (N, S, A); NaN where the action is unavailable."""
        return params.Q.copy() if params.available is None else np.where(params.available, params.Q, np.nan)

    def greedy(self, params: MonolithicParams) -> IntArray:
        """The most likely available action (ties to the lowest index), (N, S)."""
        return masked_argmax(params.probs, params.available)
