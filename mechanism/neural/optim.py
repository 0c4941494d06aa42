"""Adam with optional gradient clipping by global norm, and learning-rate schedules.

Adam (Kingma & Ba 2015, Algorithm 1), for every parameter array θ with gradient g at step t ≥ 1:

    m ← β₁ m + (1 − β₁) g,   v ← β₂ v + (1 − β₂) g²,
    m̂ = m / (1 − β₁ᵗ),        v̂ = v / (1 − β₂ᵗ),        θ ← θ − η_t m̂ / (√v̂ + ε).

Clipping by global norm (Pascanu et al. 2013; PyTorch's ``clip_grad_norm_``, which the authors call
with 40): each *network* n of the batch has its own norm ‖g_n‖ = √(Σ over its parameters of Σ g²),
and its gradients are scaled by min(1, c/‖g_n‖) before Adam sees them, so one network's large
gradient never shrinks another's step.

Schedules give η_t from the number of updates t done so far, over ``steps`` updates (held at
``end`` after them): constant η₀; linear η₀ + (η₁ − η₀)·p; cosine η₁ + (η₀ − η₁)(1 + cos πp)/2
(Loshchilov & Hutter 2017, eq. 5), with p = min(t/steps, 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from mechanism.learners.base import linear_schedule
from mechanism.neural.init import Array, Params, ParamsLike

__all__ = ["SCHEDULES", "Adam", "AdamState", "AdamUpdate", "Schedule", "clip_by_global_norm", "global_norm"]

#: Schedule kinds by name.
SCHEDULES: tuple[str, ...] = ("constant", "linear", "cosine")


@dataclass(frozen=True)
class Schedule:
    """A learning rate (or any coefficient) as a function of the update count (module docstring)."""

    start: float
    end: float | None = None
    steps: int = 1
    kind: str = "constant"

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise ValueError(f"kind must be one of {SCHEDULES}; got {self.kind!r}.")
        if not isinstance(self.steps, int | np.integer) or self.steps < 1:
            raise ValueError(f"steps must be a positive int (updates over which to anneal); got {self.steps!r}.")
        if not (np.isfinite(self.start) and (self.end is None or np.isfinite(self.end))):
            raise ValueError(f"start and end must be finite; got {self.start!r}, {self.end!r}.")

    def __call__(self, step: int) -> float:
        end = self.start if self.end is None else self.end
        p = min(max(step, 0) / self.steps, 1.0)
        if self.kind == "linear":
            return linear_schedule(self.start, end, p)
        if self.kind == "cosine":
            return float(end + (self.start - end) * 0.5 * (1.0 + np.cos(np.pi * p)))
        return float(self.start)


def global_norm(grads: ParamsLike, batch_ndim: int = 1) -> Array:
    """‖g_n‖ for every network n: the norm over all its parameters, shape = the network axes."""
    total = sum(np.square(g).sum(axis=tuple(range(batch_ndim, g.ndim))) for g in grads.values())
    return np.sqrt(np.asarray(total))


def clip_by_global_norm(grads: ParamsLike, max_norm: float, batch_ndim: int = 1) -> tuple[Params, Array]:
    """Scale each network's gradients by min(1, max_norm/‖g_n‖); returns them and the norms before clipping."""
    if not max_norm > 0:
        raise ValueError(f"max_norm must be > 0; got {max_norm!r}.")
    norm = global_norm(grads, batch_ndim)
    scale = np.where(norm > max_norm, max_norm / np.where(norm > 0, norm, 1.0), 1.0)
    out = {k: g * scale.reshape(scale.shape + (1,) * (g.ndim - batch_ndim)).astype(g.dtype) for k, g in grads.items()}
    return out, norm


class AdamState(NamedTuple):
    """Adam's step count and moment estimates (same keys and shapes as the parameters)."""

    step: int
    m: Params
    v: Params


class AdamUpdate(NamedTuple):
    """The parameters after one Adam step, the new state, and each network's gradient norm before clipping."""

    params: Params
    state: AdamState
    grad_norm: Array


@dataclass(frozen=True)
class Adam:
    """Adam over a batch of networks (module docstring).

    Parameters
    ----------
    lr : float or Schedule
        η, or η_t from the number of updates done.
    b1, b2, eps : float
        β₁, β₂ in [0, 1) and ε > 0 of Algorithm 1 (defaults 0.9, 0.999, 1e−8 as there).
    max_grad_norm : float, optional
        Clip each network's gradient to this global norm first (the authors: 40 for the policy).
    batch_ndim : int
        How many leading axes of every parameter index networks.
    """

    lr: float | Schedule = 1e-3
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    max_grad_norm: float | None = None
    batch_ndim: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.lr, Schedule) and not float(self.lr) > 0:
            raise ValueError(f"lr must be > 0 or a Schedule; got {self.lr!r}.")
        for key in ("b1", "b2"):
            if not 0.0 <= float(getattr(self, key)) < 1.0:
                raise ValueError(f"{key} must lie in [0, 1); got {getattr(self, key)!r}.")
        if not float(self.eps) > 0:
            raise ValueError(f"eps must be > 0; got {self.eps!r}.")
        if self.max_grad_norm is not None and not float(self.max_grad_norm) > 0:
            raise ValueError(f"max_grad_norm must be > 0 or None; got {self.max_grad_norm!r}.")
        if not isinstance(self.batch_ndim, int) or self.batch_ndim < 0:
            raise ValueError(f"batch_ndim must be an int >= 0; got {self.batch_ndim!r}.")

    def init(self, params: ParamsLike) -> AdamState:
        """Step 0, zero moments."""
        zeros = {k: np.zeros_like(p) for k, p in params.items()}
        return AdamState(0, zeros, {k: np.zeros_like(p) for k, p in params.items()})

    def learning_rate(self, step: int) -> float:
        """η for the update that follows ``step`` completed ones."""
        return self.lr(step) if isinstance(self.lr, Schedule) else float(self.lr)

    def update(self, params: ParamsLike, grads: ParamsLike, state: AdamState) -> AdamUpdate:
        """One Adam step on every network (a new parameter dict; the inputs are not modified)."""
        if grads.keys() != params.keys():
            raise ValueError(f"grads must have the keys of params {sorted(params)}; got {sorted(grads)}.")
        if self.max_grad_norm is not None:
            grads, norm = clip_by_global_norm(grads, float(self.max_grad_norm), self.batch_ndim)
        else:
            norm = global_norm(grads, self.batch_ndim)
        t = state.step + 1
        lr = self.learning_rate(state.step)
        c1, c2 = 1.0 - self.b1**t, 1.0 - self.b2**t
        new: Params = {}
        m: Params = {}
        v: Params = {}
        for k, g in grads.items():
            m[k] = self.b1 * state.m[k] + (1.0 - self.b1) * g
            v[k] = self.b2 * state.v[k] + (1.0 - self.b2) * (g * g)
            new[k] = params[k] - (lr / c1) * m[k] / (np.sqrt(v[k] / c2) + self.eps)
        return AdamUpdate(new, AdamState(t, m, v), norm)
