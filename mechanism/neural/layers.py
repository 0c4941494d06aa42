"""Dense layers over a batch of networks: forward with a cache, hand-written backward.

For networks n (any leading axes) and samples i, with the activation σ applied elementwise,

    h = x W + b,   y = σ(h),   x (*net, B, d_in), W (*net, d_in, d_out), b (*net, d_out),

one ``matmul`` for every network at once. Backward, given G = ∂L/∂y (*net, B, d_out) and
D = G ⊙ σ'(h):

    ∂L/∂W = xᵀ D,   ∂L/∂b = Σ_i D_i,   ∂L/∂x = D Wᵀ.

σ' is written in terms of the output y, so the cache holds only (x, y): identity 1, ReLU
1{y > 0}, tanh 1 − y² (d tanh/dh = sech² h = 1 − tanh² h). The input x may broadcast against
the network axes (one set of features shared by all networks, say); ∂L/∂x is then summed back to
x's shape.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mechanism.neural.init import Array

__all__ = [
    "ACTIVATIONS",
    "DenseCache",
    "DenseGrads",
    "activate",
    "activation_backward",
    "check_activation",
    "dense_backward",
    "dense_forward",
]

#: Activations by name.
ACTIVATIONS: tuple[str, ...] = ("identity", "relu", "tanh")


def check_activation(name: str, argument: str = "activation") -> None:
    """Raise a ValueError naming ``argument`` unless ``name`` is one of :data:`ACTIVATIONS`."""
    if name not in ACTIVATIONS:
        raise ValueError(f"{argument} must be one of {ACTIVATIONS}; got {name!r}.")


def activate(h: Array, name: str) -> Array:
    """σ(h) for σ in :data:`ACTIVATIONS` (``h`` may be overwritten: pass a fresh array)."""
    if name == "relu":
        return np.maximum(h, 0.0, out=h)
    if name == "tanh":
        return np.tanh(h, out=h)
    return h


def activation_backward(y: Array, dy: Array, name: str) -> Array:
    """∂L/∂h = ∂L/∂y ⊙ σ'(h), with σ' from the output y = σ(h) (module docstring)."""
    if name == "relu":
        return np.where(y > 0.0, dy, 0.0).astype(dy.dtype, copy=False)
    if name == "tanh":
        d = np.multiply(y, y)  # one temporary, reused: dy·(1 − y²)
        np.subtract(1.0, d, out=d)
        return np.multiply(d, dy, out=d)
    return dy


class DenseCache(NamedTuple):
    """What :func:`dense_backward` needs from the forward pass."""

    x: Array  #: the input (*net, B, d_in), possibly broadcast against the network axes
    y: Array  #: the output σ(x W + b), (*net, B, d_out)


class DenseGrads(NamedTuple):
    """Gradients of a loss with respect to a dense layer's parameters and input."""

    W: Array  #: (*net, d_in, d_out)
    b: Array  #: (*net, d_out)
    x: Array | None  #: (x's shape), or None when not asked for


def dense_forward(W: Array, b: Array, x: Array, activation: str = "identity") -> tuple[Array, DenseCache]:
    """y = σ(x W + b) for every network at once (module docstring); returns y and the cache."""
    y = activate(np.matmul(x, W) + b[..., None, :], activation)
    return y, DenseCache(x, y)


def _sum_to_shape(g: Array, shape: tuple[int, ...]) -> Array:
    """Sum a broadcast gradient back to the shape of the array that was broadcast."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead > 0 else g
    axes = tuple(k for k, n in enumerate(shape) if n == 1 and g.shape[k] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def dense_backward(
    W: Array, cache: DenseCache, dy: Array, activation: str = "identity", input_grad: bool = True
) -> DenseGrads:
    """(∂L/∂W, ∂L/∂b, ∂L/∂x) from ∂L/∂y (module docstring); ∂L/∂x only when ``input_grad``."""
    d = activation_backward(cache.y, dy, activation)
    dW = np.matmul(np.swapaxes(cache.x, -1, -2), d)
    if dW.shape != W.shape:  # x was shared by the networks but W was not broadcast: sum over x's extra axes
        dW = _sum_to_shape(dW, W.shape)
    dx = _sum_to_shape(np.matmul(d, np.swapaxes(W, -1, -2)), cache.x.shape) if input_grad else None
    return DenseGrads(dW, d.sum(axis=-2), dx)
