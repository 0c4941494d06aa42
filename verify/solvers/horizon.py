"""Finite-horizon backward induction."""

from __future__ import annotations

from typing import Any

import numpy as np

from tasks.mdp import FiniteMDP
from verify.bellman import greedy, problem_from_mdp, q_values
from verify.solution import HorizonSolution

__all__ = ["solve_horizon"]


def solve_horizon(mdp: FiniteMDP, horizon: Any) -> HorizonSolution:
    """Q*_h for every ``h = 1..H`` steps to go, by backward induction (Puterman 1994, §4.5).

    ``V_0 = 0``, ``Q_h = R + γ P V_{h-1}``, ``V_h = max_a Q_h``; so ``Q_1 = R`` and
    ``|V_H − V*| <= γ^H |V*|`` (Puterman 1994, Thm 6.3.1), converging to the discounted solution.
    Exact in ``H`` sweeps: no tolerance, no bound needed.

    Parameters
    ----------
    mdp : FiniteMDP
    horizon : int >= 1
        ``H``, the number of decisions.
    """
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer):
        raise TypeError(f"horizon must be an int >= 1; got {horizon!r}.")
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1; got {horizon}.")
    problem = problem_from_mdp(mdp)
    H, S, A = int(horizon), problem.n_states, problem.n_actions
    V = np.zeros((H + 1, S))
    Q = np.empty((H, S, A))
    policy = np.empty((H, S), dtype=np.int64)
    for h in range(1, H + 1):
        Q[h - 1] = q_values(problem, V[h - 1])
        V[h], policy[h - 1] = greedy(Q[h - 1])
    return HorizonSolution(V, Q, policy, H)
