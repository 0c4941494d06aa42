"""A multilayer perceptron over a batch of networks: a stack of :mod:`mechanism.neural.layers`.

With sizes (d₀, d₁, …, d_L), layer ℓ = 0 … L−1 maps (*net, B, d_ℓ) to (*net, B, d_{ℓ+1}):

    x_{ℓ+1} = σ_ℓ(x_ℓ W_ℓ + b_ℓ),   σ_ℓ = ``activation`` for hidden layers, ``output_activation`` last,

and the backward pass runs the layers' backward in reverse (the chain rule). Parameters are a dict
``{"W0": (*net, d₀, d₁), "b0": (*net, d₁), "W1": …}``: the same keys for the gradients, the Adam
moments and the ``.npz`` files of :mod:`mechanism.neural.io`.

The authors' bidders (Chang et al. 2020, their ``SimpleBetaMeanPolicy``): an "encoder" Linear(S, 16)
with no activation after it, then a Linear(16, 2) whose weights start at 0 and whose bias starts
at the head's ``initial_bias``; i.e. ``MLP((S, 16, 2), activation="identity", output_init="zeros",
output_bias=BetaHead().initial_bias)``. Their value function: ``MLP((S, 16, 1), activation="relu")``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import numpy as np
from numpy.typing import DTypeLike, NDArray

from mechanism.neural.init import INITS, Array, Params, ParamsLike, Rng, init_dense
from mechanism.neural.layers import DenseCache, check_activation, dense_backward, dense_forward

__all__ = ["MLP", "MLPGrads", "cast_params"]

_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


class MLPGrads(NamedTuple):
    """∂L/∂parameters (same keys and shapes as the parameters) and ∂L/∂input (or None)."""

    params: Params
    x: Array | None


@dataclass(frozen=True)
class MLP:
    """A batch of identical-architecture MLPs (module docstring).

    Parameters
    ----------
    sizes : tuple of int
        (d_in, *hidden, d_out), at least two entries.
    activation : {"tanh", "relu", "identity"}
        Hidden layers' activation.
    output_activation : {"identity", "tanh", "relu"}
        The last layer's (heads apply their own link functions, so usually identity).
    init, output_init : str
        Schemes of :func:`mechanism.neural.init.init_dense` for the hidden layers and the last one
        (``output_init=None``: same as ``init``).
    output_bias : sequence of float, optional
        If given, the last layer's bias starts at this value in every network (a head's
        ``initial_bias``: with ``output_init="zeros"`` the head starts at its initial distribution
        whatever the input).
    dtype : numpy dtype
        float64 (default) or float32 for parameters, activations and gradients.
    """

    sizes: tuple[int, ...]
    activation: str = "tanh"
    output_activation: str = "identity"
    init: str = "uniform"
    output_init: str | None = None
    output_bias: Sequence[float] | NDArray[np.float64] | None = None
    dtype: Any = np.float64

    def __post_init__(self) -> None:
        sizes = tuple(int(d) for d in self.sizes) if isinstance(self.sizes, Sequence) else ()
        if len(sizes) < 2 or min(sizes) < 1 or sizes != tuple(self.sizes):
            raise ValueError(f"sizes must be (d_in, *hidden, d_out): two or more positive ints; got {self.sizes!r}.")
        object.__setattr__(self, "sizes", sizes)
        check_activation(self.activation, "activation")
        check_activation(self.output_activation, "output_activation")
        for key in ("init", "output_init"):
            value = getattr(self, key)
            if value is not None and value not in INITS:
                raise ValueError(f"{key} must be one of {INITS}; got {value!r}.")
        if self.output_bias is not None:
            bias = tuple(float(v) for v in self.output_bias)
            if len(bias) != sizes[-1]:
                raise ValueError(f"output_bias must have d_out = {sizes[-1]} entries; got {len(bias)}.")
            object.__setattr__(self, "output_bias", bias)
        if np.dtype(self.dtype) not in _DTYPES:
            raise ValueError(f"dtype must be float64 or float32; got {self.dtype!r}.")
        object.__setattr__(self, "dtype", np.dtype(self.dtype))

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    def _activation(self, layer: int) -> str:
        return self.output_activation if layer == self.n_layers - 1 else self.activation

    def param_shapes(self, batch_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        """The shape of every parameter for networks of ``batch_shape`` (for checked loading)."""
        shapes: dict[str, tuple[int, ...]] = {}
        for k, (d_in, d_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:], strict=True)):
            shapes[f"W{k}"], shapes[f"b{k}"] = (*batch_shape, d_in, d_out), (*batch_shape, d_out)
        return shapes

    def init_params(self, rng: Rng, batch_shape: tuple[int, ...] = (1,)) -> Params:
        """Fresh parameters for networks of ``batch_shape``, drawn from ``rng`` (see ``init_dense``)."""
        params: Params = {}
        for k, (d_in, d_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:], strict=True)):
            last = k == self.n_layers - 1
            scheme = self.output_init if last and self.output_init is not None else self.init
            W, b = init_dense(rng, tuple(batch_shape), d_in, d_out, scheme, dtype=self.dtype)
            if last and self.output_bias is not None:
                b[...] = np.asarray(self.output_bias, dtype=self.dtype)
            params[f"W{k}"], params[f"b{k}"] = W, b
        return params

    def _input(self, params: ParamsLike, x: Array) -> Array:
        x = np.asarray(x)
        if x.ndim < 2 or x.shape[-1] != self.sizes[0]:
            raise ValueError(f"x must have shape (*net, B, {self.sizes[0]}); got {x.shape}.")
        if params["W0"].dtype != self.dtype:
            raise TypeError(f"params are {params['W0'].dtype} but the MLP is {self.dtype}; init or cast them.")
        return x.astype(self.dtype, copy=False)

    def forward(self, params: ParamsLike, x: Array) -> tuple[Array, tuple[DenseCache, ...]]:
        """Outputs (*net, B, d_out) of every network for inputs x (*net, B, d_in), and the cache."""
        h = self._input(params, x)
        caches = []
        for k in range(self.n_layers):
            h, cache = dense_forward(params[f"W{k}"], params[f"b{k}"], h, self._activation(k))
            caches.append(cache)
        return h, tuple(caches)

    def apply(self, params: ParamsLike, x: Array) -> Array:
        """The outputs alone (no cache kept)."""
        return self.forward(params, x)[0]

    def backward(
        self, params: ParamsLike, cache: tuple[DenseCache, ...], dy: Array, input_grad: bool = False
    ) -> MLPGrads:
        """∂L/∂params from ∂L/∂outputs ``dy`` (*net, B, d_out); ∂L/∂x too when ``input_grad``."""
        grads: Params = {}
        g = np.asarray(dy, dtype=self.dtype)
        dx: Array | None = None
        for k in reversed(range(self.n_layers)):
            out = dense_backward(params[f"W{k}"], cache[k], g, self._activation(k), input_grad=k > 0 or input_grad)
            grads[f"W{k}"], grads[f"b{k}"] = out.W, out.b
            if k > 0:
                g = cast(Array, out.x)  # asked for above: never None here
            else:
                dx = out.x
        return MLPGrads({key: grads[key] for key in sorted(grads, key=_param_order)}, dx)


def _param_order(key: str) -> tuple[int, str]:
    return int(key[1:]), key[0]


def cast_params(params: ParamsLike, dtype: DTypeLike) -> Params:
    """The same parameters in another float dtype (e.g. float64 -> float32)."""
    return {k: v.astype(dtype) for k, v in params.items()}
