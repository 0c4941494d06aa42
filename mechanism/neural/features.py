"""State features for networks on a finite MDP: one row of inputs per state.

A learner on a finite MDP sees state indices s = 0 … S−1; its networks see a feature matrix
F (S, d) and state s enters as the row F[s]. Three ways to build F:

- ``"onehot"``: F = I_S (d = S), the authors' input (Chang et al. 2020: one-hot states); a
  network on it is a table in disguise (:mod:`mechanism.neural.lookup` runs it once per state).
- ``"coords"``: one input, the state index scaled to [0, 1], F[s] = s/(S − 1) (0 when S = 1):
  the position on a chain, where neighbouring states have neighbouring values; for a grid or
  anything else with geometry, pass a callable.
- a callable ``f(states) -> array``: given the int array ``arange(S)``, it returns the (S, d)
  matrix of finite features (a 1-d result is read as d = 1).

Because every feature is a function of the state index, a network's outputs per state can be
computed once (S rows) and gathered per sample, whatever the features.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np
from numpy.typing import DTypeLike, NDArray

from mechanism.neural.init import Array

__all__ = ["FEATURES", "Features", "check_features", "state_features"]

#: Feature constructions by name (a callable is accepted too; see the module docstring).
FEATURES: tuple[str, ...] = ("onehot", "coords")

#: What a learner's ``features`` may be.
Features = str | Callable[[NDArray[np.intp]], Any]


def check_features(features: Any) -> None:
    """Raise unless ``features`` is a name of :data:`FEATURES` or a callable (the argument named, the fix given)."""
    if isinstance(features, str):
        if features not in FEATURES:
            raise ValueError(
                f"features must be one of {FEATURES} or a callable states -> (S, d) array; got {features!r}."
            )
    elif not callable(features):
        raise TypeError(
            f"features must be one of {FEATURES} or a callable states -> (S, d) array; got {type(features).__name__}."
        )


def state_features(features: Features, n_states: int, dtype: DTypeLike = np.float64) -> Array:
    """The (S, d) feature matrix of ``features`` for states 0 … S−1 (module docstring).

    Raises
    ------
    ValueError, TypeError
        An unknown name, or a callable whose result is not a finite (S, d) numeric array.
    """
    check_features(features)
    if isinstance(n_states, bool) or not isinstance(n_states, int | np.integer) or n_states < 1:
        raise ValueError(f"n_states must be a positive int; got {n_states!r}.")
    S = int(n_states)
    if features == "onehot":
        return np.eye(S, dtype=dtype)
    if features == "coords":
        return (np.arange(S, dtype=np.float64) / max(S - 1, 1)).reshape(S, 1).astype(dtype)
    build = cast(Callable[[NDArray[np.intp]], Any], features)  # check_features: not a name, so a callable
    out = np.asarray(build(np.arange(S, dtype=np.intp)))
    if out.ndim == 1:
        out = out.reshape(-1, 1)
    if out.ndim != 2 or out.shape[0] != S or out.shape[1] < 1 or out.dtype.kind not in "biuf":
        raise ValueError(
            f"features(states) must return a numeric (S, d) = ({S}, d >= 1) array for states = arange({S}); "
            f"got {out.dtype} {out.shape}."
        )
    if not np.isfinite(out).all():
        raise ValueError("features(states) returned non-finite values; every feature must be a finite number.")
    return out.astype(dtype)
