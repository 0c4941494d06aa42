"""The PPO machinery shared by the neural bidders and the monolithic baseline: networks, one epoch's batch, the update.

Networks come in a batch with network axes (N, K): N seeds and K = A primitives for a society,
K = 1 for a monolithic agent; one array op runs them all (:mod:`mechanism.neural`). Every input
is a state s of a finite MDP, fed as the row F[s] of the feature matrix
(:mod:`mechanism.neural.features`); when the batch is at least as long as the number of states,
each network runs once on the S rows and every sample picks its row (:mod:`mechanism.neural.lookup`:
the same gradients at a fraction of the cost), else it runs on every sample's row.

One update (Schulman et al. 2017, Algorithm 1, as the authors run it) goes over a buffer of B
samples per network in ``epochs`` passes of shuffled minibatches; on each minibatch

1. the critic takes one Adam step on mean (v − target)² + c_L2·Σθ² (the authors' ``l2_reg``);
2. the policy takes one Adam step on the PPO-clip loss minus c_H times the mean entropy, its
   gradient clipped to a global norm per network (the authors: 40).

The behaviour ("old") log-probabilities come with the batch: the learners store those of the
policy that drew each sample (:mod:`mechanism.learners.ppo`), so the ratio π_θ/π_old is the exact
importance ratio. Samples of weight 0 (a bidder that took no part in an auction) count nowhere.

**Concentration link** (Beta heads). The head reads z = (z₁, z₂) as mean sigmoid(z₁) and
concentration κ = softplus(z₂) (:class:`mechanism.neural.BetaHead`, the paper's). With
``concentration="log"`` the network's second output u is log κ instead: the head gets
z₂ = softplus⁻¹(e^u) = log(e^{e^u} − 1), computed as y + log(−expm1(−y)) with y = e^u, whose
derivative is dz₂/du = y/(−expm1(−y)). Adam moves every parameter by at most about its learning
rate per step, so in softplus units κ grows additively, by ~lr per update, and the ~10³ that
sharp bids need (a cloned ccv chain's noisy fixed point has the optimal greedy policy from
κ ≈ 250; :mod:`verify.noisy`) takes ~10⁶ updates; in log units κ grows geometrically, as the
natural gradient grows it (:mod:`mechanism.learners.policy_gradient`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from mechanism.neural import (
    MLP,
    Adam,
    AdamState,
    BetaHead,
    CategoricalHead,
    Params,
    entropy_bonus,
    l2_penalty,
    lookup,
    lookup_backward,
    ppo_clip,
    value_mse,
)
from mechanism.neural.init import Array

__all__ = [
    "CONCENTRATIONS",
    "Batch",
    "Networks",
    "PPOStats",
    "TrainState",
    "at_states",
    "beta_link",
    "policy_gradient",
    "policy_loss",
    "ppo_update",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: How a Beta head's second network output is read (module docstring).
CONCENTRATIONS: tuple[str, ...] = ("softplus", "log")
#: The largest log-ratio log π − log π_old a sample is given (:func:`policy_loss`).
LOG_RATIO_MAX = 50.0
#: log κ of Beta(1, 1) (κ = 2).
LOG2 = float(np.log(2.0))
#: u = log κ is kept in [−30, 30] (κ from 10⁻¹³ to 10¹³) so that e^u neither underflows nor overflows.
_U_RANGE = 30.0


def beta_link(z: Array, concentration: str, max_concentration: float = np.inf) -> tuple[Array, Array | None]:
    """The Beta head's input from the network output, and ∂(head input)/∂(output) (None: the identity).

    ``"softplus"``: z itself. ``"log"``: (z₁, softplus⁻¹(e^u)) with Jacobian (1, e^u/(−expm1(−e^u))).
    Either way κ is capped at ``max_concentration`` (where the cap binds, the output has no gradient).
    """
    if concentration == "softplus":
        cap = float(max_concentration)
        if not np.isfinite(cap) or not (z[..., 1] > cap).any():  # softplus(z₂) <= z₂ + log 2: cap z₂ itself
            return z, None
        jac = np.ones_like(z)
        jac[..., 1] = z[..., 1] <= cap
        return np.stack([z[..., 0], np.minimum(z[..., 1], cap)], axis=-1), jac
    top = min(float(np.log(max_concentration)), _U_RANGE)
    u = np.clip(z[..., 1], -_U_RANGE, top)
    y = np.exp(u)
    tail = -np.expm1(-y)
    head = np.stack([z[..., 0], y + np.log(tail)], axis=-1)
    inside = (z[..., 1] > -_U_RANGE) & (z[..., 1] < top)
    jac = np.stack([np.ones_like(y), np.where(inside, y / tail, 0.0)], axis=-1)
    return head, jac


def link_bias(concentration: str) -> tuple[float, float]:
    """The output bias that starts a Beta head at Beta(1, 1) under a concentration link."""
    return (0.0, float(BetaHead().initial_bias[1])) if concentration == "softplus" else (0.0, LOG2)


def at_states(net: MLP, params: Params, features: Array, states: IntArray) -> tuple[Array, Callable[[Array], Params]]:
    """Outputs (N, K, B, k) of every network at the states (N, K, B), and the map ∂L/∂outputs -> ∂L/∂params.

    Runs the networks on the S feature rows and gathers when B >= S, else on every sample's row.
    """
    S = features.shape[0]
    if states.shape[-1] >= S:
        rows, cache = net.forward(params, features)
        return lookup(rows, states), lambda dz: net.backward(params, cache, lookup_backward(dz, states, S)).params
    z, cache = net.forward(params, features[states])
    return z, lambda dz: net.backward(params, cache, dz).params


class Batch(NamedTuple):
    """One epoch's samples, every array (N, K, B): B samples for each of the N·K networks."""

    states: IntArray  #: the state the sample was drawn at
    actions: NDArray[Any]  #: the bid (Beta head, in (0, 1)) or the action (categorical head)
    weight: Array  #: 1 for a sample that counts, 0 for none (a bidder that took no part)
    log_prob_old: Array  #: log π_old(action | state)
    advantage: Array  #: normalised (or not) advantage
    target: Array  #: the critic's regression target
    column: IntArray  #: which critic output is regressed (0; the action for a Q critic)

    def take(self, index: IntArray) -> Batch:
        """The samples at ``index`` (along B) of every network."""
        return Batch._make(a[..., index] for a in self)


class PPOStats(NamedTuple):
    """Per network (N, K), averaged over the update's minibatches."""

    policy_loss: FloatArray
    value_loss: FloatArray
    clip_fraction: FloatArray
    entropy: FloatArray
    grad_norm: FloatArray  #: the policy gradient's global norm before clipping


@dataclass(frozen=True, eq=False)
class Networks:
    """The architecture and the optimisers of a batch of actor-critic networks (module docstring)."""

    policy: MLP
    value: MLP
    head: BetaHead | CategoricalHead
    policy_opt: Adam
    value_opt: Adam
    concentration: str = "softplus"
    clip: float = 0.2
    value_l2: float = 0.0
    minibatch: int = 256
    epochs: int = 1
    max_concentration: float = np.inf
    #: (S, k) added to the head's input at each state: −1e30 masks an unavailable action of a categorical head
    offset: Array | None = None

    def init(self, rng: np.random.Generator, batch_shape: tuple[int, int]) -> TrainState:
        """Fresh parameters (policy first, then critic, from ``rng``) and Adam states."""
        pol = self.policy.init_params(rng, batch_shape)
        val = self.value.init_params(rng, batch_shape)
        return TrainState(pol, val, self.policy_opt.init(pol), self.value_opt.init(val))

    def head_input(self, z: Array) -> tuple[Array, Array | None]:
        """The head's input from the policy network's output (the concentration link for a Beta head)."""
        if isinstance(self.head, BetaHead):
            return beta_link(z, self.concentration, self.max_concentration)
        return z, None


class TrainState:
    """Parameters and Adam states of a batch of networks; :func:`ppo_update` replaces them in place."""

    __slots__ = ("policy", "policy_opt", "value", "value_opt")

    def __init__(self, policy: Params, value: Params, policy_opt: AdamState, value_opt: AdamState) -> None:
        self.policy, self.value, self.policy_opt, self.value_opt = policy, value, policy_opt, value_opt


def _policy_terms(nets: Networks, state: TrainState, features: Array, mb: Batch, c_H: float) -> Any:
    z, backward = at_states(nets.policy, state.policy, features, mb.states)
    zh, jac = nets.head_input(z)
    if nets.offset is not None:
        zh = zh + nets.offset[mb.states]
    ev = nets.head.evaluate(zh, mb.actions)
    # A sample of weight 0 gets ratio 1 (its placeholder action may be far in a sharp Beta's tail, where
    # exp(log π − log π_old) overflows and inf·0 is NaN); a ratio above e^LOG_RATIO_MAX is held there: it is
    # clipped anyway for A > 0, and for A < 0 its gradient is cut by the norm clip.
    old = np.where(mb.weight > 0, np.maximum(mb.log_prob_old, ev.log_prob - LOG_RATIO_MAX), ev.log_prob)
    pi = ppo_clip(ev.log_prob, old, mb.advantage, nets.clip, mb.weight)
    ent = entropy_bonus(ev.entropy, c_H, mb.weight)
    return ev, pi, ent, backward, jac


def policy_loss(nets: Networks, state: TrainState, features: Array, batch: Batch, c_H: float) -> FloatArray:
    """PPO-clip loss minus c_H·mean entropy of every network (N, K) on ``batch`` (no step taken)."""
    _, pi, ent, _, _ = _policy_terms(nets, state, features, batch, c_H)
    return np.asarray(pi.loss + ent.loss)


def policy_gradient(nets: Networks, state: TrainState, features: Array, mb: Batch, c_H: float) -> tuple[Array, Params]:
    """The loss of :func:`policy_loss` (N, K) and its gradient with respect to every policy parameter."""
    ev, pi, ent, backward, jac = _policy_terms(nets, state, features, mb, c_H)
    dz = ev.input_grad(pi.grad, ent.grad)
    return pi.loss + ent.loss, backward(dz if jac is None else dz * jac)


def _policy_step(nets: Networks, state: TrainState, features: Array, mb: Batch, c_H: float) -> tuple[Array, ...]:
    ev, pi, ent, backward, jac = _policy_terms(nets, state, features, mb, c_H)
    dz = ev.input_grad(pi.grad, ent.grad)
    step = nets.policy_opt.update(state.policy, backward(dz if jac is None else dz * jac), state.policy_opt)
    state.policy, state.policy_opt = step.params, step.state
    w = mb.weight / np.maximum(mb.weight.sum(axis=-1, keepdims=True), 1.0)
    return pi.loss + ent.loss, pi.clip_fraction, (w * ev.entropy).sum(axis=-1), step.grad_norm


def _value_step(nets: Networks, state: TrainState, features: Array, mb: Batch) -> Array:
    z, backward = at_states(nets.value, state.value, features, mb.states)
    if z.shape[-1] == 1:  # a state-value critic
        loss = value_mse(z[..., 0], mb.target, mb.weight)
        dz = loss.grad[..., None]
    else:  # a Q critic: the taken action's column
        loss = value_mse(np.take_along_axis(z, mb.column[..., None], axis=-1)[..., 0], mb.target, mb.weight)
        dz = np.where(np.arange(z.shape[-1]) == mb.column[..., None], loss.grad[..., None], 0.0)
    grads = backward(dz)
    total = loss.loss
    if nets.value_l2 > 0:
        penalty, g2 = l2_penalty(state.value, nets.value_l2, batch_ndim=2)
        grads, total = {k: g + g2[k] for k, g in grads.items()}, total + penalty
    step = nets.value_opt.update(state.value, grads, state.value_opt)
    state.value, state.value_opt = step.params, step.state
    return total


def ppo_update(
    nets: Networks, state: TrainState, features: Array, batch: Batch, rng: np.random.Generator, c_H: float
) -> PPOStats:
    """``nets.epochs`` passes of shuffled minibatches over ``batch``: a critic step, then a policy step, on each.

    One permutation per pass, drawn from ``rng``, shuffles every network's samples alike.
    """
    B = batch.states.shape[-1]
    size = max(1, min(int(nets.minibatch), B))
    sums: list[Array] = [np.zeros(batch.states.shape[:-1]) for _ in range(5)]
    count = 0
    for _ in range(int(nets.epochs)):
        shuffled = batch.take(rng.permutation(B))  # one gather per pass; the minibatches are views
        for start in range(0, B, size):
            mb = Batch._make(a[..., start : start + size] for a in shuffled)
            sums[1] += _value_step(nets, state, features, mb)
            loss, clipped, entropy, norm = _policy_step(nets, state, features, mb, c_H)
            sums[0] += loss
            sums[2] += clipped
            sums[3] += entropy
            sums[4] += norm
            count += 1
    return PPOStats(*(s / count for s in sums))
