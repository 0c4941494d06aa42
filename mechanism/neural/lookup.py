"""Inputs given as row indices: one-hot features without the matmul, and its backward pass.

A network on one-hot states computes the same output for every sample of the same state, so for a
tabular task it is cheaper to run it once on the R distinct feature rows (``x = eye(R)``, shared by
all networks) and to pick each sample's row:

    out[n, i] = table[n, index[n, i]],      table (*net, R, k), index (*net, B) -> out (*net, B, k),

whose backward pass sums the samples' gradients per row:

    ∂L/∂table[n, r] = Σ_{i: index[n, i] = r} ∂L/∂out[n, i].

Feed that sum to the MLP's backward pass on the R rows: the gradients are those of the per-sample
network, at R/B of the cost.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from mechanism.neural.init import Array

__all__ = ["lookup", "lookup_backward"]


def lookup(table: Array, index: NDArray[np.integer]) -> Array:
    """``table[n, index[n, i]]`` for every network n and sample i: (*net, B, k)."""
    index = np.asarray(index)
    if not np.issubdtype(index.dtype, np.integer) or index.ndim != table.ndim - 1:
        raise ValueError(
            f"index must be integers of shape (*net, B) for a table {table.shape}; got {index.dtype} {index.shape}."
        )
    return np.take_along_axis(table, index[..., None], axis=-2)


def lookup_backward(grad: Array, index: NDArray[np.integer], n_rows: int) -> Array:
    """Σ of ``grad`` (*net, B, k) over the samples of each row: (*net, n_rows, k) (module docstring)."""
    index = np.broadcast_to(np.asarray(index), grad.shape[:-1])
    if index.size and (index.min() < 0 or index.max() >= n_rows):
        raise ValueError(f"index must lie in [0, {n_rows}); got values in [{index.min()}, {index.max()}].")
    net, k = grad.shape[:-2], grad.shape[-1]
    n_net = int(np.prod(net))
    flat = (np.arange(n_net)[:, None] * n_rows + index.reshape(n_net, -1)).ravel()
    g = grad.reshape(-1, k)
    out = np.stack([np.bincount(flat, weights=g[:, j], minlength=n_net * n_rows) for j in range(k)], axis=-1)
    return out.reshape(*net, n_rows, k).astype(grad.dtype, copy=False)
