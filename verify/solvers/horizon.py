"""Finite-horizon backward induction."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from tasks.mdp import FiniteMDP, as_float_array
from verify.bellman import greedy, q_values, stated_problem
from verify.solution import HorizonSolution

__all__ = ["solve_horizon"]


def _terminal_value(value: Any, S: int) -> NDArray[np.float64]:
    if value is None:
        return np.zeros(S)
    v = as_float_array(value, "terminal_value")
    if v.shape != (S,):
        raise ValueError(f"terminal_value has shape {v.shape}; it must be one value per state, shape ({S},).")
    if not np.isfinite(v).all():
        s = int(np.argmax(~np.isfinite(v)))
        raise ValueError(f"terminal_value[{s}] = {float(v[s])!r} is not finite.")
    return v


def _gamma(gamma: Any) -> float | None:
    if gamma is None:
        return None
    if isinstance(gamma, bool) or not isinstance(gamma, int | float | np.integer | np.floating):
        raise TypeError(f"gamma must be a real number in [0, 1] or None (the MDP's own); got {gamma!r}.")
    if not 0.0 <= float(gamma) <= 1.0:
        raise ValueError(f"gamma must lie in [0, 1]; got {float(gamma)!r}.")
    return float(gamma)


def solve_horizon(mdp: FiniteMDP, horizon: Any, terminal_value: Any = None, *, gamma: Any = None) -> HorizonSolution:
    """Q*_h for every ``h = 1..H`` steps to go, by backward induction (Puterman 1994, §4.5).

    ``V_0 = v_term``, ``Q_h = R + γ P V_{h-1}``, ``V_h = max_a Q_h`` over the available actions;
    so with ``v_term = 0``, ``Q_1 = R`` and ``|V_H − V*| <= γ^H |V*|`` (Puterman 1994, Thm 6.3.1),
    converging to the discounted solution. Exact in ``H`` sweeps: no tolerance, no bound, and no
    contraction needed, so any γ in [0, 1] works, γ = 1 included.

    Parameters
    ----------
    mdp : FiniteMDP
    horizon : int >= 1
        ``H``, the number of decisions.
    terminal_value : array (S,), optional
        ``v_term``, the value received in the state reached after the last decision (default 0):
        QuantEcon's ``backward_induction(ddp, T, v_term)``, pymdptoolbox's ``FiniteHorizon(..., h=)``.
    gamma : float in [0, 1], optional
        The discount of the recursion; default ``mdp.gamma``. ``FiniteMDP`` accepts γ = 1 only when
        every policy ends (an infinite-horizon value must exist); a finite horizon needs no such
        condition, so an undiscounted finite-horizon problem on any MDP (QuantEcon's inventory
        example, gymnasium's FrozenLake with its step limit) is ``solve_horizon(mdp, H, gamma=1.0)``.

    Returns
    -------
    HorizonSolution
        ``V[h]`` (h = 0..H) the optimal value with ``h`` decisions left (``V[0] = v_term``),
        ``Q[h − 1]`` and ``policy[h − 1]`` the action values and greedy actions with ``h`` left.
        Against the peers, indexed by the period ``t = H − h`` (time elapsed) instead:

        - QuantEcon ``vs, sigmas = backward_induction(ddp, H, v_term)``: ``vs[t] = V[H − t]``
          (``vs[H] = v_term``) and ``sigmas[t] = policy[H − t − 1]``, for ``t = 0..H − 1``.
        - pymdptoolbox ``FiniteHorizon(P, R, γ, H, h=v_term)``: ``fh.V[:, t] = V[H − t]``
          (``fh.V[:, H] = v_term``) and ``fh.policy[:, t] = policy[H − t − 1]``.

        In one line: ``V[::-1]`` is QuantEcon's ``vs`` and ``policy[::-1]`` its ``sigmas``
        (transpose both for pymdptoolbox). Ties go to the lowest action index, as in both.
    """
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer):
        raise TypeError(f"horizon must be an int >= 1; got {horizon!r}.")
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1; got {horizon}.")
    problem = stated_problem(mdp, _gamma(gamma))
    H, S, A = int(horizon), problem.n_states, problem.n_actions
    V = np.empty((H + 1, S))
    V[0] = _terminal_value(terminal_value, S)
    Q = np.empty((H, S, A))
    policy = np.empty((H, S), dtype=np.int64)
    for h in range(1, H + 1):
        Q[h - 1] = q_values(problem, V[h - 1])
        V[h], policy[h - 1] = greedy(Q[h - 1])
    return HorizonSolution(V, Q, policy, H)
