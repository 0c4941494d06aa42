"""Result records of the exact solvers, and the warning they raise when a tolerance is missed."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["ConvergenceWarning", "HorizonSolution", "Solution"]


class ConvergenceWarning(UserWarning):
    """A solver stopped (iteration cap, or floating-point floor) before its bound met ``tol``.

    The result it returns is still usable: its ``error_bound`` is the bound actually reached.
    """


class Solution(NamedTuple):
    """The solution of a discounted MDP, with a guaranteed error bound.

    Attributes
    ----------
    V : array (S,)
        Approximate optimal values V*.
    Q : array (S, A)
        Approximate optimal action values Q*(s, a) = R(s, a) + γ Σ_s' P(s'|s, a) V*(s').
    policy : int array (S,)
        A policy greedy with respect to ``Q`` (ties: the lowest action index, or the incumbent
        action for policy iteration).
    iterations : int
        Outer iterations of the method (Bellman sweeps for ``vi``; policy improvements for
        ``pi`` and ``mpi``; simplex/IPM iterations reported by HiGHS for ``lp``).
    error_bound : float
        A bound on both ``max|V − V*|`` and ``max|Q − Q*|``, derived from a final Bellman
        residual (McQueen–Porteus bounds, Puterman 1994 §6.6.3), valid in exact arithmetic,
        plus an allowance for the rounding of that residual.
    method : str
        The method that produced it (``auto`` records which method it chose, e.g. ``auto:mpi``).
    """

    V: NDArray[np.float64]
    Q: NDArray[np.float64]
    policy: NDArray[np.int64]
    iterations: int
    error_bound: float
    method: str


class HorizonSolution(NamedTuple):
    """The solution of the finite-horizon problem with ``H`` decisions left, by backward induction.

    ``V[h]`` is the optimal value with ``h`` steps to go (``V[0] = 0``);
    ``Q[h - 1]`` is Q*_h = R + γ·P V[h − 1], the action values with ``h`` steps to go, so
    ``Q[0] = R``; ``policy[h - 1] = argmax_a Q[h - 1]`` (lowest index on ties).

    Attributes
    ----------
    V : array (H + 1, S)
    Q : array (H, S, A)
    policy : int array (H, S)
    horizon : int
    """

    V: NDArray[np.float64]
    Q: NDArray[np.float64]
    policy: NDArray[np.int64]
    horizon: int
