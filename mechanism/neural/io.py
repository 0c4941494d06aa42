"""Save network parameters to ``.npz`` and load them back with every shape checked.

A file holds one array per parameter name (``W0``, ``b0``, …; prefix the names to keep a policy
and a critic in one file). It is written to a temporary file in the same folder and moved onto
its name with ``os.replace``, so a reader sees the old file or the new one, never half of one
(the same scheme as ``verify.records``, which ``mechanism`` may not import).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mechanism.neural.init import Array, Params

__all__ = ["load_params", "save_params"]


def save_params(path: str | Path, params: Mapping[str, Array]) -> Path:
    """Write ``params`` to ``path`` (``.npz``; the suffix is added if missing); returns the path."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    if not params or not all(isinstance(k, str) and k.isidentifier() for k in params):
        raise ValueError(f"params must be a non-empty dict with identifier names; got keys {list(params)}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            arrays: dict[str, Any] = {k: np.asarray(v) for k, v in params.items()}
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_params(path: str | Path, like: Mapping[str, Array | tuple[int, ...]]) -> Params:
    """Read parameters saved by :func:`save_params`, checking names and shapes against ``like``.

    Parameters
    ----------
    path : str or Path
        The ``.npz`` file.
    like : dict
        The expected parameters (arrays, e.g. a fresh ``MLP.init_params``) or their shapes
        (``MLP.param_shapes(batch_shape)``). A missing or extra name, or a shape that differs,
        raises ValueError naming it.
    """
    expected = {k: tuple(np.shape(v)) if not isinstance(v, tuple) else v for k, v in like.items()}
    with np.load(Path(path), allow_pickle=False) as data:
        stored = {k: data[k] for k in data.files}
    missing, extra = sorted(expected.keys() - stored.keys()), sorted(stored.keys() - expected.keys())
    if missing or extra:
        raise ValueError(f"{path}: parameter names differ from the network's: missing {missing}, unexpected {extra}.")
    for k, shape in expected.items():
        if stored[k].shape != shape:
            raise ValueError(
                f"{path}: parameter {k!r} has shape {stored[k].shape} but the network expects {shape}; "
                "build the network with the sizes and batch shape it was saved with."
            )
    return {k: stored[k] for k in expected}
