"""Finite-difference gradients and a relative error robust near zero, for checking backward passes.

The numerical derivative is the fourth-order central difference (the five-point stencil,
Abramowitz & Stegun 1964, 25.3.6; Fornberg 1988)

    f'(x) ≈ (f(x − 2h) − 8 f(x − h) + 8 f(x + h) − f(x + 2h)) / (12 h),

whose truncation error is h⁴ f⁽⁵⁾/30 and whose rounding error is about 1.5·u·|f|/h (u = 2⁻⁵²):
with h = 1e−4, about 1e−12·|f|, far below the 1e−6 the checks ask for. The comparison is the
elementwise relative error

    err(a, b) = |a − b| / max(|a|, |b|, floor),   floor = 1e−8,

(the CS231n "gradient check" definition, with a floor so that two gradients that are both ~0 do
not divide by 0): an error well below 1e−6 means the two agree to about six significant digits.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from mechanism.neural.init import Array, Params, ParamsLike

__all__ = ["max_relative_error", "numerical_gradient", "numerical_param_gradients", "relative_error"]


def relative_error(a: Array, b: Array, floor: float = 1e-8) -> NDArray[np.float64]:
    """|a − b| / max(|a|, |b|, floor), elementwise (module docstring)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), floor)


def max_relative_error(a: Array, b: Array, floor: float = 1e-8) -> float:
    """The largest :func:`relative_error` over all elements (0 for empty arrays)."""
    err = relative_error(a, b, floor)
    return float(err.max()) if err.size else 0.0


def numerical_gradient(f: Callable[[Array], float], x: Array, h: float = 1e-4) -> NDArray[np.float64]:
    """∂f/∂x of a scalar function by the five-point central difference, one element at a time.

    The step for element i is h·max(1, |x_i|) (relative for large entries, where an absolute
    step would drown in the rounding of f).

    ``x`` is not modified; ``f`` receives a perturbed float64 copy.
    """
    point = np.array(x, dtype=np.float64)
    grad = np.zeros(point.shape)
    flat, gflat = point.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        x0 = flat[i]
        h_i = h * max(1.0, abs(x0))
        values = []
        for step in (-2.0, -1.0, 1.0, 2.0):
            flat[i] = x0 + step * h_i
            values.append(float(f(point)))
        flat[i] = x0
        # differences first, so that a function flat in x[i] gives exactly 0
        gflat[i] = (8.0 * (values[2] - values[1]) - (values[3] - values[0])) / (12.0 * h_i)
    return grad


def numerical_param_gradients(f: Callable[[Params], float], params: ParamsLike, h: float = 1e-4) -> Params:
    """:func:`numerical_gradient` for every array of a parameter dict (the others held fixed)."""
    out: Params = {}
    for key in params:

        def f_key(value: Array, key: str = key) -> float:
            return f({**params, key: value})

        out[key] = numerical_gradient(f_key, params[key], h)
    return out
