"""Policy-gradient losses with their gradients, and advantage estimators.

Every loss is a weighted mean over the last (sample) axis, one loss per network:

    L_n = Σ_i w_ni ℓ_ni / Σ_i w_ni     (w = 1 by default; 0/1 weights mask absent samples;
                                        a network with Σ w = 0 gets L = 0 and no gradient),

returned with ∂(Σ_n L_n)/∂input, the same shape as the input (networks share no parameters, so
the gradient of the sum is each network's own). Losses are to be *minimised*:

- PPO-clip (Schulman et al. 2017, eq. 7): ℓ = −min(ρA, clip(ρ, 1 − ε, 1 + ε)A) with
  ρ = exp(log π − log π_old); ∂ℓ/∂log π = −ρA where the unclipped term is the minimum, else 0
  (A > 0 and ρ > 1 + ε, or A < 0 and ρ < 1 − ε).
- REINFORCE (Williams 1992): ℓ = −A log π, ∂ℓ/∂log π = −A.
- Value: ℓ = (v − target)², ∂ℓ/∂v = 2(v − target) (the authors' ``(values_pred − returns)²``).
- Entropy bonus: ℓ = −c·H, ∂ℓ/∂H = −c.
- L2 penalty on parameters: c·Σ θ² (the authors add 1e−3·Σ θ² to their value loss).

Advantages (no gradient flows through them):

- GAE(λ) (Schulman et al. 2016, eq. 16): δ_t = r_t + γ_t (1 − terminated_t) V(s_{t+1}) − V(s_t),
  A_t = Σ_l (γλ)^l δ_{t+l} summed within the episode, by the recursion
  A_t = δ_t + γ_t λ (1 − end_t) A_{t+1}, end_t = terminated_t or truncated_t. A terminated step
  does not bootstrap; a truncated one does (V of the observation where it was cut), and the end of
  the buffer is a truncation. λ-return targets: A + V.
- One step (λ = 0): A_t = δ_t. The paper's "memoryless" primitives (the authors' ``--memoryless``
  stores every transition with mask 0) use A_t = U_t − V(s_t): the utility U_t already holds the
  γ·b_{t+1} the winner is credited, so nothing more is bootstrapped: call it without ``v_tp1``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mechanism.neural.init import Array, Params, ParamsLike

__all__ = [
    "Advantages",
    "LossGrad",
    "PPOClipLoss",
    "entropy_bonus",
    "gae",
    "l2_penalty",
    "normalize_advantages",
    "one_step_advantage",
    "ppo_clip",
    "reinforce",
    "value_mse",
]


class LossGrad(NamedTuple):
    """A loss per network (*net,) and its gradient with respect to the input (the input's shape)."""

    loss: Array
    grad: Array


class PPOClipLoss(NamedTuple):
    """PPO-clip loss, its gradient w.r.t. log π, and the fraction of samples with zero gradient (clipped)."""

    loss: Array
    grad: Array
    clip_fraction: Array  #: (*net,)


class Advantages(NamedTuple):
    """Advantage estimates and the value targets that go with them (A + V), both like r_t."""

    advantage: Array
    target: Array


def _same_shape(**arrays: Array) -> tuple[int, ...]:
    shapes = {name: np.shape(a) for name, a in arrays.items()}
    first = next(iter(shapes.values()))
    if any(s != first for s in shapes.values()) or len(first) < 1:
        raise ValueError(f"{', '.join(shapes)} must share one shape (*net, B); got {shapes}.")
    return first


def _mean_weights(shape: tuple[int, ...], weight: ArrayLike | None, dtype: np.dtype) -> Array:
    """w / Σ_i w over the last axis, broadcast to ``shape`` (an all-zero row stays zero)."""
    if weight is None:
        return np.full(shape, 1.0 / shape[-1], dtype=dtype)
    w = np.broadcast_to(np.asarray(weight, dtype=dtype), shape)
    if np.any(w < 0):
        raise ValueError("weight must be >= 0 (a 0/1 mask or sample weights).")
    total = w.sum(axis=-1, keepdims=True)
    return w / np.where(total > 0, total, 1.0)


def ppo_clip(
    log_prob: Array, log_prob_old: Array, advantage: Array, clip: float = 0.2, weight: ArrayLike | None = None
) -> PPOClipLoss:
    """PPO's clipped surrogate as a loss (module docstring); inputs (*net, B)."""
    shape = _same_shape(log_prob=log_prob, log_prob_old=log_prob_old, advantage=advantage)
    if not clip > 0:
        raise ValueError(f"clip must be > 0; got {clip!r}.")
    w = _mean_weights(shape, weight, np.asarray(log_prob).dtype)
    ratio = np.exp(log_prob - log_prob_old)
    surrogate = ratio * advantage
    clipped = np.clip(ratio, 1.0 - clip, 1.0 + clip) * advantage
    active = surrogate <= clipped  # the unclipped term is the minimum: it carries the gradient
    loss = -(w * np.minimum(surrogate, clipped)).sum(axis=-1)
    grad = np.where(active, -w * surrogate, 0.0)
    present = w > 0
    fraction = (~active & present).sum(axis=-1) / np.maximum(present.sum(axis=-1), 1)
    return PPOClipLoss(loss, grad, fraction)


def reinforce(log_prob: Array, advantage: Array, weight: ArrayLike | None = None) -> LossGrad:
    """The REINFORCE loss −mean(A log π) and its gradient w.r.t. log π; inputs (*net, B)."""
    shape = _same_shape(log_prob=log_prob, advantage=advantage)
    w = _mean_weights(shape, weight, np.asarray(log_prob).dtype)
    return LossGrad(-(w * advantage * log_prob).sum(axis=-1), -w * advantage)


def value_mse(value: Array, target: Array, weight: ArrayLike | None = None) -> LossGrad:
    """mean((v − target)²) and its gradient w.r.t. v; inputs (*net, B)."""
    shape = _same_shape(value=value, target=target)
    w = _mean_weights(shape, weight, np.asarray(value).dtype)
    diff = value - target
    return LossGrad((w * diff * diff).sum(axis=-1), 2.0 * w * diff)


def entropy_bonus(entropy: Array, coef: float, weight: ArrayLike | None = None) -> LossGrad:
    """−c·mean(H) (a loss: minimising it raises the entropy) and its gradient w.r.t. H; H (*net, B)."""
    if not coef >= 0:
        raise ValueError(f"coef must be >= 0; got {coef!r}.")
    w = _mean_weights(_same_shape(entropy=entropy), weight, np.asarray(entropy).dtype)
    return LossGrad(-coef * (w * entropy).sum(axis=-1), -coef * w)


def l2_penalty(params: ParamsLike, coef: float, batch_ndim: int = 1) -> tuple[Array, Params]:
    """c·Σ θ² per network (summed over every parameter's non-network axes) and its gradient 2cθ."""
    if not coef >= 0:
        raise ValueError(f"coef must be >= 0; got {coef!r}.")
    loss = sum(np.square(p).sum(axis=tuple(range(batch_ndim, p.ndim))) for p in params.values())
    return coef * np.asarray(loss), {k: 2.0 * coef * p for k, p in params.items()}


def normalize_advantages(advantage: Array, weight: ArrayLike | None = None, eps: float = 1e-8) -> Array:
    """(A − mean A)/(std A + eps) per network over the last axis (weighted; the authors normalise each buffer)."""
    w = _mean_weights(np.shape(advantage), weight, np.asarray(advantage).dtype)
    mean = (w * advantage).sum(axis=-1, keepdims=True)
    std = np.sqrt((w * np.square(advantage - mean)).sum(axis=-1, keepdims=True))
    return (advantage - mean) / (std + eps)


def _flags(flag: ArrayLike | None, shape: tuple[int, ...], name: str) -> NDArray[np.bool_]:
    if flag is None:
        return np.zeros(shape, dtype=bool)
    f = np.asarray(flag)
    if f.shape != shape:
        raise ValueError(f"{name} must have the shape of r_t, {shape}; got {f.shape}.")
    return f.astype(bool)


def one_step_advantage(
    r_t: Array,
    v_t: Array,
    v_tp1: Array | None = None,
    gamma: ArrayLike = 0.99,
    terminated_t: ArrayLike | None = None,
) -> Advantages:
    """δ_t = r_t + γ_t (1 − terminated_t) V(s_{t+1}) − V(s_t); without ``v_tp1``, r_t − V(s_t) (memoryless)."""
    shape = _same_shape(r_t=r_t, v_t=v_t) if v_tp1 is None else _same_shape(r_t=r_t, v_t=v_t, v_tp1=v_tp1)
    if v_tp1 is None:
        return Advantages(r_t - v_t, np.array(r_t, copy=True))
    target = r_t + np.broadcast_to(gamma, shape) * ~_flags(terminated_t, shape, "terminated_t") * v_tp1
    return Advantages(target - v_t, target)


def gae(
    r_t: Array,
    v_t: Array,
    v_tp1: Array,
    gamma: ArrayLike = 0.99,
    lam: float = 0.95,
    terminated_t: ArrayLike | None = None,
    truncated_t: ArrayLike | None = None,
) -> Advantages:
    """GAE(λ) along the last (time) axis of (*net, T) arrays (module docstring).

    ``v_tp1[..., t]`` is V(s_{t+1}), the value of the observation after step t (at a truncation,
    of the observation where the episode was cut, not of the next episode's start); ``gamma``
    a float or per-step discounts (γ^τ for an option that lasted τ steps).
    """
    shape = _same_shape(r_t=r_t, v_t=v_t, v_tp1=v_tp1)
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must lie in [0, 1]; got {lam!r}.")
    terminated = _flags(terminated_t, shape, "terminated_t")
    end = terminated | _flags(truncated_t, shape, "truncated_t")
    g = np.broadcast_to(np.asarray(gamma, dtype=np.asarray(r_t).dtype), shape)
    delta = r_t + g * ~terminated * v_tp1 - v_t
    decay = np.moveaxis(g * lam * ~end, -1, 0).copy()
    delta_tm = np.moveaxis(delta, -1, 0)
    adv = np.empty_like(delta_tm)
    running = np.zeros(shape[:-1], dtype=adv.dtype)
    for t in range(shape[-1] - 1, -1, -1):  # a loop over time, vectorised over every network
        running = delta_tm[t] + decay[t] * running
        adv[t] = running
    advantage = np.moveaxis(adv, 0, -1)
    return Advantages(advantage, advantage + v_t)
