"""Neural PPO bidders: the paper's learner, one Beta-bid network per primitive, on :func:`mechanism.train`.

Chang et al. (2020, §6 and their code) give every primitive a bid network ψⁱ(s): a Beta with
mean sigmoid(z₁) and concentration softplus(z₂), z = MLP(features(s)), starting at Beta(1, 1),
trained by PPO on the primitive's own auction utility, one step at a time ("memoryless"):

    Uᵢ,t = 1[i wins]·(r_t + γ·L(b_{t+1})) − payment_i,t,    Â = U − V_i(s_t),

(γ^τ in place of γ for an option that ran τ steps, with r_t its discounted reward)

with a critic V_i per primitive and Â normalised over the buffer (losers' zero utilities
included). Clones share their primitive's network and draw their own bids; all their samples
train it. Here every network of a society, for every seed, lives in one batch (N seeds x A
primitives) and runs in one array op (:mod:`mechanism.neural`, :mod:`mechanism.learners.ppo_core`).

The training loop calls :meth:`PPO.update` once per round of E parallel episodes; the learner
stores the round and, once it holds ``epoch_steps`` env steps per seed (⌈epoch_steps/E⌉ rounds),
makes one PPO update of every network and empties the buffer. Between updates the networks are
fixed, so their Beta parameters are computed once per state after each update and bids are drawn
from that table. *When* the update is made matters: ``train`` draws the bids of round k + 1 before
it calls ``update`` with round k, and draws the bids of the episodes a time limit restarts after
it. So the update is made at the next draw of a whole round (``s`` of the rounds' shape (N, E)),
before it: every round's bids then come from one policy, and the one round that straddles the
update (drawn before it, delivered after it) keeps the log-probabilities of the policy that drew
it. Every sample's behaviour log-probability is stored when its round is delivered, so PPO's ratio
π_θ/π_old is the exact importance ratio of every sample. (An update that falls due at the very end
of a run is not made: no round is drawn after it.)

**Dropout** (``dropout = p``). At every auction each primitive sits out with probability p (all
its clones), except that one primitive always stays (the one with the largest of the uniforms
drawn). A primitive that sits out bids exactly 0: under every top-two rule (the built-in
mechanisms) it then neither wins
nor sets a price or a lookahead that a real bid (at least 1e−6) would not set, so the auction is
that of the others; its samples carry no gradient. Without dropout a primitive that loses at a
state wins only by noise, pays more than it is worth, and its bids there sink; with it, it
regularly faces only its twin, and its utility pins its bid. The cost: a lookahead at a state
whose best primitive sat out credits the next best one's bids.

**Non-memoryless** (``memoryless=False``): GAE(λ) along each bidder's sequence of utilities in
the society's episodes, bootstrapping V_i(s_{t+1}) with the transition's discount (γ^τ after an
option of τ steps); an episode ends where it terminated or where
the next round's state is not the state it reached (a restart after a time limit; a restart at the
very state reached is taken for the episode going on, which changes only the λ-tail of its last
step's advantage).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import betaln, expit

from mechanism.learners.base import Transition, available_table, exploration_rate, masked_argmax, tile_clones
from mechanism.learners.policy_gradient import BID_EPS
from mechanism.learners.ppo_core import Batch, Networks, PPOStats, TrainState, at_states, link_bias, ppo_update
from mechanism.learners.ppo_settings import PPOHyperparameters, check_dropout_and_link
from mechanism.neural import MLP, Adam, BetaHead, ValueHead, gae, normalize_advantages, one_step_advantage
from mechanism.neural.features import state_features
from mechanism.neural.init import Array
from mechanism.society import primitive_of

__all__ = ["PPO", "PPOParams"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


class PPOParams:
    """The state of a society of PPO bidders: networks, their per-state Beta table, the epoch buffer.

    Updated in place by :meth:`PPO.update` (the training loop's contract for ``params``).
    """

    __slots__ = (
        "alpha", "alpha_m", "available", "beta", "beta_m", "buffer", "clones", "features", "fill", "kappa", "mean",
        "nets", "pending", "previous", "rng", "round_shape", "stats", "straddle", "train", "updates",
    )

    def __init__(self, nets: Networks, train: TrainState, features: Array, clones: int,
                 available: NDArray[np.bool_] | None, rng: np.random.Generator) -> None:
        self.nets, self.train, self.features, self.clones, self.available, self.rng = (
            nets, train, features, clones, available, rng
        )
        self.buffer: dict[str, NDArray[Any]] | None = None
        self.round_shape: tuple[int, ...] = ()
        self.fill = 0
        self.updates = 0
        #: c_H of the update due at the next whole-round draw, or None
        self.pending: float | None = None
        #: (α, β) per bidder of the policy before the last update, and whether the next round delivered was drawn by it
        self.previous: tuple[FloatArray, FloatArray] | None = None
        self.straddle = False
        self.stats: PPOStats | None = None
        self.mean: FloatArray = np.empty(0)
        self.kappa: FloatArray = np.empty(0)
        self.alpha: FloatArray = np.empty(0)
        self.beta: FloatArray = np.empty(0)
        #: α and β per bidder, (N, S, M): what bids are drawn from
        self.alpha_m: FloatArray = np.empty(0)
        self.beta_m: FloatArray = np.empty(0)
        refresh(self)


def refresh(params: PPOParams) -> None:
    """Recompute the Beta of every (seed, state, primitive), (N, S, A), from the current networks."""
    nets = params.nets
    z, _ = nets.head_input(nets.policy.apply(params.train.policy, params.features))  # (N, A, S, 2)
    alpha, beta = nets.head.shape(z)  # type: ignore[union-attr]  # a BetaHead
    params.alpha = np.swapaxes(alpha, 1, 2).astype(np.float64)
    params.beta = np.swapaxes(beta, 1, 2).astype(np.float64)
    params.kappa = params.alpha + params.beta
    prim = primitive_of(params.alpha.shape[-1], params.clones)
    params.alpha_m, params.beta_m = params.alpha[..., prim], params.beta[..., prim]
    params.mean = expit(np.swapaxes(z[..., 0], 1, 2)).astype(np.float64)


@dataclass(frozen=True)
class PPO(PPOHyperparameters):
    """Neural Beta bidders trained by PPO (module docstring; shared hyperparameters in
    :class:`mechanism.learners.ppo_settings.PPOHyperparameters`).

    Parameters
    ----------
    memoryless : bool
        Advantage U − V(s) (the paper's) or GAE(λ) over the society's episodes.
    dropout : float in [0, 1)
        Chance that a primitive sits an auction out (module docstring).
    concentration : {"softplus", "log"}
        How the network's second output sets the Beta's concentration
        (:func:`mechanism.learners.ppo_core.beta_link`): the paper's softplus, or log κ.
    max_concentration : float
        κ is capped there (inf: no cap).
    """

    memoryless: bool = None  # type: ignore[assignment]  # None: from settings
    max_concentration: float = None  # type: ignore[assignment]  # None: from settings
    dropout: float = None  # type: ignore[assignment]  # None: from settings
    concentration: str = None  # type: ignore[assignment]  # None: from settings
    name: str = "ppo"
    monolithic: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        check_dropout_and_link(self.dropout, self.concentration, self.memoryless, self.max_concentration)

    def networks(self, n_features: int) -> Networks:
        """The policy and critic architectures and optimisers for ``n_features`` inputs."""
        head = BetaHead()
        policy = MLP((n_features, *self.hidden, head.n_inputs), activation=self.activation,
                     output_init="zeros", output_bias=link_bias(self.concentration))
        value = MLP((n_features, *self.value_hidden, ValueHead().n_inputs), activation=self.value_activation)
        return Networks(
            policy, value, head, Adam(self.lr, max_grad_norm=self.max_grad_norm, batch_ndim=2),
            Adam(self.value_lr, batch_ndim=2), self.concentration, self.clip, self.value_l2, self.minibatch,
            self.epochs, self.max_concentration,
        )

    def init(
        self,
        n_seeds: int,
        n_states: int,
        n_primitives: int,
        clones: int,
        rng: np.random.Generator,
        available: NDArray[np.bool_] | None = None,
    ) -> PPOParams:
        """Fresh networks for every (seed, primitive): Beta(1, 1) at every state; ``available`` the (S, A) mask."""
        features = state_features(self.features, n_states)
        nets = self.networks(features.shape[1])
        train = nets.init(rng, (n_seeds, n_primitives))
        return PPOParams(nets, train, features, clones, available_table(available, n_states, n_primitives),
                         np.random.default_rng(rng.integers(2**63)))

    def sample(
        self, params: PPOParams, seed: IntArray, s: IntArray, progress: float, rng: np.random.Generator,
        env_steps: int = 0,
    ) -> FloatArray:
        """Bids (..., M): one Beta draw per bidder, clones from their primitive's Beta; 0 for a primitive
        that sits the auction out (dropout); NaN where its action is unavailable. A due update is made
        first when ``s`` is a whole round (module docstring)."""
        s = np.asarray(s)
        if params.pending is not None and s.shape == params.round_shape:
            self._step(params)
        A = params.alpha.shape[-1]
        prim = primitive_of(A, params.clones)
        bids = np.clip(rng.beta(params.alpha_m[seed, s], params.beta_m[seed, s]), BID_EPS, 1.0 - BID_EPS)
        if self.dropout:
            u = rng.random((*s.shape, A))
            if params.available is not None:
                u = np.where(params.available[s], u, -1.0)
            keep = (u >= self.dropout) | (u == u.max(axis=-1, keepdims=True))  # the largest u always stays
            bids = np.where(keep[..., prim], bids, 0.0)
        if params.available is not None:
            bids = np.where(params.available[s][..., prim], bids, np.nan)
        return bids

    def update(self, params: PPOParams, step: Transition) -> None:
        """Store the round with its behaviour log-probabilities; a full buffer makes an update due (in place)."""
        N, E = step.s_t.shape
        if params.pending is not None:  # no whole round was drawn since the buffer filled: update now
            self._step(params)
        if params.buffer is None:
            params.buffer = _empty_buffer(-(-self.epoch_steps // E), N, E, step.bids_t.shape[-1])
            params.round_shape = (N, E)
        buf, k = params.buffer, params.fill
        M = step.bids_t.shape[-1]
        utility = np.where(np.arange(M) == step.winner[..., None], step.revenue_t[..., None], 0.0) - step.payments_t
        drawn_by = params.previous if params.straddle and params.previous is not None else None
        alpha, beta = drawn_by if drawn_by is not None else (params.alpha_m, params.beta_m)
        params.straddle = False
        b = np.where(np.isfinite(step.bids_t) & (step.bids_t > 0.0), step.bids_t, 0.5)
        a, c = alpha[step.seed, step.s_t], beta[step.seed, step.s_t]
        buf["log_prob"][k] = (a - 1.0) * np.log(b) + (c - 1.0) * np.log1p(-b) - betaln(a, c)
        buf["s"][k], buf["s_tp1"][k], buf["terminated"][k] = step.s_t, step.s_tp1, step.terminated
        buf["bids"][k], buf["utility"][k], buf["discount"][k] = step.bids_t, utility, step.discount_t
        params.fill += 1
        if params.fill == buf["s"].shape[0]:
            params.pending = exploration_rate(self.entropy, self.entropy_final, self.entropy_steps, "steps",
                                              step.progress, step.env_steps + E)

    def _step(self, params: PPOParams) -> None:
        """The due PPO update of every network from the full buffer; the buffer is emptied."""
        if params.pending is None or params.buffer is None:
            return
        c_H = params.pending
        batch = self.batch(params, params.buffer, params.buffer["discount"])
        params.stats = ppo_update(params.nets, params.train, params.features, batch, params.rng, c_H)
        params.previous, params.straddle = (params.alpha_m, params.beta_m), True
        params.pending, params.fill = None, 0
        params.updates += 1
        refresh(params)

    def batch(self, params: PPOParams, buf: dict[str, NDArray[Any]], gamma: float | FloatArray) -> Batch:
        """A full buffer as one batch per primitive network (N, A, B), B = rounds·E·clones, time last.

        ``gamma`` discounts V(s_{t+1}) in GAE: the buffer's γ^τ per (round, seed, episode), shape
        (R, N, E) (options run τ steps), or one γ for every sample.
        """
        R, N, E, _ = buf["bids"].shape
        A, C = params.alpha.shape[-1], params.clones

        def per_network(x: Array) -> Array:  # (R, N, E, M) -> (N, A, E, C, R)
            return np.transpose(x.reshape(R, N, E, C, A), (1, 4, 2, 3, 0))

        def per_state(x: NDArray[Any]) -> NDArray[Any]:  # (R, N, E) -> (N, A, E, C, R)
            return np.broadcast_to(np.transpose(x, (1, 2, 0))[:, None, :, None, :], (N, A, E, C, R))

        bids, utility, s_t = per_network(buf["bids"]), per_network(buf["utility"]), per_state(buf["s"])
        weight = (np.isfinite(bids) & (bids > 0.0)).astype(np.float64)
        bids = np.where(weight > 0, bids, 0.5)
        nets, train, flat = params.nets, params.train, (N, A, E * C * R)
        v_t = at_states(nets.value, train.value, params.features, s_t.reshape(flat))[0][..., 0].reshape(s_t.shape)
        if self.memoryless:
            adv = one_step_advantage(utility, v_t)
        else:
            s_tp1 = per_state(buf["s_tp1"]).reshape(flat)
            v_tp1 = at_states(nets.value, train.value, params.features, s_tp1)[0][..., 0].reshape(s_t.shape)
            discount = per_state(np.broadcast_to(gamma, buf["s"].shape))
            adv = gae(utility, v_t, v_tp1, discount, self.lam, per_state(buf["terminated"]), per_state(_cut(buf)))
        log_old = per_network(buf["log_prob"]).reshape(flat)
        advantage = adv.advantage.reshape(flat)
        if self.normalize:
            advantage = normalize_advantages(advantage, weight.reshape(flat))
        return Batch(s_t.reshape(flat), bids.reshape(flat), weight.reshape(flat), log_old, advantage,
                     adv.target.reshape(flat), np.zeros(flat, dtype=np.intp))

    def bid_params(self, params: PPOParams) -> dict[str, FloatArray]:
        """The Beta of every (seed, state, primitive), (N, S, A) each: mean μ and concentration κ = α + β."""
        return {"mean": params.mean.copy(), "concentration": params.kappa.copy()}

    def mean_bids(self, params: PPOParams) -> FloatArray:
        """The Beta means per bidder, (N, S, M); NaN (no bid) where the primitive is unavailable."""
        mean = params.mean if params.available is None else np.where(params.available, params.mean, np.nan)
        return tile_clones(mean, params.clones)

    def greedy(self, params: PPOParams) -> IntArray:
        """The available primitive with the highest mean bid (ties to the lowest index), (N, S)."""
        return masked_argmax(params.mean, params.available)


def _empty_buffer(R: int, N: int, E: int, M: int) -> dict[str, NDArray[Any]]:
    """Room for R rounds of N x E auctions among M bidders."""
    return {
        "s": np.empty((R, N, E), np.intp), "s_tp1": np.empty((R, N, E), np.intp),
        "terminated": np.empty((R, N, E), bool), "bids": np.empty((R, N, E, M)), "utility": np.empty((R, N, E, M)),
        "log_prob": np.empty((R, N, E, M)), "discount": np.empty((R, N, E)),
    }


def _cut(buf: dict[str, NDArray[Any]]) -> NDArray[np.bool_]:
    """(R, N, E): the episode was cut after this round without terminating (the next round's state is
    not the one reached: a restart after a time limit); the buffer's last round is cut too."""
    cut = np.ones(buf["s"].shape, dtype=bool)
    cut[:-1] = buf["s"][1:] != buf["s_tp1"][:-1]
    return cut & ~buf["terminated"]


def mean_bids_at(params: PPOParams, features: Array) -> FloatArray:
    """The Beta mean bid of every (seed, primitive) network on the rows of another feature matrix, (N, S', A).

    The networks' outputs z at ``features`` (S', d), read as :func:`refresh` reads them at the
    task's own rows: mean = sigmoid(z₁) (the Beta head of Chang et al. 2020). With ``features =
    params.features`` it is ``params.mean``. Its argmax over primitives is the society's greedy
    policy on states the networks never saw (held-out inputs of the same kind).

    Raises
    ------
    ValueError
        When ``features`` is not a finite (S', d) array with the d inputs the networks take.
    """
    x = np.asarray(features, dtype=params.features.dtype)
    d = params.features.shape[1]
    if x.ndim != 2 or x.shape[1] != d or x.shape[0] < 1 or not np.isfinite(x).all():
        raise ValueError(f"features must be a finite (S', {d}) array, one row per state; got shape {x.shape}.")
    nets = params.nets
    z, _ = nets.head_input(nets.policy.apply(params.train.policy, x))  # (N, A, S', 2)
    return expit(np.swapaxes(z[..., 0], 1, 2)).astype(np.float64)
