"""Parameter initialisation for batches of dense layers, drawn from numpy Generators.

A batch of networks stores each parameter with leading "network" axes: the weight of a layer of
N independent networks is one array (N, d_in, d_out) and its bias (N, d_out), so that one matmul
serves every network of a society (seeds x primitives). With fan_in = d_in, fan_out = d_out:

- ``"uniform"``: W, b ~ U(−1/√fan_in, 1/√fan_in), PyTorch's ``nn.Linear`` default (its
  ``kaiming_uniform_(a=√5)``, He et al. 2015 eq. 16 with that gain, reduces to this bound); the
  authors' networks start from it.
- ``"glorot"``: W ~ U(−√(6/(fan_in + fan_out)), +√(6/(fan_in + fan_out))), b = 0 (Glorot &
  Bengio 2010, eq. 16).
- ``"orthogonal"``: W = Q with orthonormal columns (rows when d_in < d_out), Q from the QR
  decomposition of a standard Gaussian matrix with its columns' signs fixed by diag(R) so that Q
  is Haar-distributed (Saxe et al. 2014; Mezzadri 2007, §5), b = 0.
- ``"zeros"``: W = 0, b = 0: the authors' output layer of the Beta head, whose bias then sets
  the starting distribution.

Every scheme multiplies W by ``gain``. The randomness comes only from the Generator(s) passed in.
With a sequence of Generators, one per entry of the first network axis (one per seed, say),
entry k is drawn from Generator k alone, so a seed's networks do not depend on how many seeds
are initialised together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

__all__ = ["INITS", "Array", "Params", "ParamsLike", "as_generators", "init_dense"]

#: A float array of any precision (float64 by default, float32 where asked).
Array = NDArray[np.floating[Any]]
#: The parameters of one network batch: name -> array with leading network axes.
Params = dict[str, Array]
#: What functions accept as parameters (any mapping; they return :data:`Params`).
ParamsLike = Mapping[str, Array]

#: Initialisation schemes by name (module docstring).
INITS: tuple[str, ...] = ("uniform", "glorot", "orthogonal", "zeros")

Rng = np.random.Generator | Sequence[np.random.Generator]
_Draw = Callable[[np.random.Generator, tuple[int, ...]], NDArray[np.float64]]


def as_generators(rng: Rng, batch_shape: tuple[int, ...]) -> list[np.random.Generator] | None:
    """``None`` for one Generator; else the sequence, checked to have one Generator per ``batch_shape[0]``."""
    if isinstance(rng, np.random.Generator):
        return None
    rngs = list(rng)
    if not all(isinstance(g, np.random.Generator) for g in rngs):
        raise TypeError("rng must be a numpy.random.Generator or a sequence of them; use np.random.default_rng(seed).")
    if not batch_shape or len(rngs) != batch_shape[0]:
        raise ValueError(
            f"rng: {len(rngs)} Generators for network batch shape {batch_shape}; pass one per entry of the "
            "first network axis (one per seed), or a single Generator."
        )
    return rngs


def _draw(rng: Rng, batch_shape: tuple[int, ...], shape: tuple[int, ...], draw: _Draw) -> NDArray[np.float64]:
    if isinstance(rng, np.random.Generator):
        return draw(rng, batch_shape + shape)
    return np.stack([draw(g, batch_shape[1:] + shape) for g in as_generators(rng, batch_shape) or ()])


def _orthogonal(g: np.random.Generator, shape: tuple[int, ...]) -> NDArray[np.float64]:
    d_in, d_out = shape[-2:]
    tall = d_in >= d_out
    a = g.standard_normal(shape if tall else (*shape[:-2], d_out, d_in))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]
    return q if tall else np.swapaxes(q, -1, -2)


def _check(d_in: int, d_out: int, scheme: str, batch_shape: tuple[int, ...]) -> None:
    if scheme not in INITS:
        raise ValueError(f"scheme must be one of {INITS}; got {scheme!r}.")
    for name, d in (("d_in", d_in), ("d_out", d_out)):
        if not isinstance(d, int | np.integer) or d < 1:
            raise ValueError(f"{name} must be a positive int; got {d!r}.")
    if any(not isinstance(n, int | np.integer) or n < 1 for n in batch_shape):
        raise ValueError(f"batch_shape must hold positive ints (networks per axis); got {batch_shape!r}.")


def init_dense(
    rng: Rng,
    batch_shape: tuple[int, ...],
    d_in: int,
    d_out: int,
    scheme: str = "uniform",
    gain: float = 1.0,
    dtype: DTypeLike = np.float64,
) -> tuple[Array, Array]:
    """Weights (*batch_shape, d_in, d_out) and biases (*batch_shape, d_out) of a batch of dense layers.

    Parameters
    ----------
    rng : numpy.random.Generator or sequence of them
        The only source of randomness; a sequence holds one Generator per ``batch_shape[0]``.
    batch_shape : tuple of int
        The network axes, e.g. ``(seeds, primitives)`` or ``(N,)``.
    d_in, d_out : int
        Fan-in and fan-out.
    scheme : {"uniform", "glorot", "orthogonal", "zeros"}
        See the module docstring.
    gain : float
        Multiplies W.
    dtype : numpy dtype
        float64 (default) or float32; the draws are made in float64 and then cast.
    """
    batch_shape = tuple(batch_shape)
    _check(d_in, d_out, scheme, batch_shape)
    shape_w, shape_b = (d_in, d_out), (d_out,)
    if scheme == "zeros":
        W, b = np.zeros(batch_shape + shape_w), np.zeros(batch_shape + shape_b)
    elif scheme == "uniform":
        bound = 1.0 / np.sqrt(d_in)
        W = _draw(rng, batch_shape, shape_w, lambda g, s: g.uniform(-bound, bound, s))
        b = _draw(rng, batch_shape, shape_b, lambda g, s: g.uniform(-bound, bound, s))
    elif scheme == "glorot":
        bound = np.sqrt(6.0 / (d_in + d_out))
        W = _draw(rng, batch_shape, shape_w, lambda g, s: g.uniform(-bound, bound, s))
        b = np.zeros(batch_shape + shape_b)
    else:
        W, b = _draw(rng, batch_shape, shape_w, _orthogonal), np.zeros(batch_shape + shape_b)
    return (gain * W).astype(dtype), b.astype(dtype)
