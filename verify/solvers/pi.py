"""Policy iteration (Howard 1960) with exact policy evaluation."""

from __future__ import annotations

import numpy as np

from verify.bellman import Problem, greedy, policy_kernel, q_values
from verify.solution import Solution
from verify.solvers._common import check, finish, solve_policy_system

__all__ = ["policy_iteration"]


def policy_iteration(problem: Problem, tol: float, max_iter: int = 10_000) -> Solution:
    """Evaluate the policy exactly, improve it greedily, until it is stable and the bound meets ``tol``.

    Evaluation solves ``(I − β K_π) V = R_π`` (:func:`~verify.solvers._common.solve_policy_system`:
    LU when dense, Krylov warm-started from the previous ``V`` when sparse). Improvement keeps the
    incumbent action unless another is strictly better, so the sequence cannot cycle between
    equally good policies (Puterman 1994, §6.4). Iterations count evaluations.
    """
    S = problem.n_states
    rows = np.arange(S)
    _, policy = greedy(problem.R)
    V: np.ndarray | None = None
    for k in range(1, max_iter + 1):
        K_pi, R_pi = policy_kernel(problem, policy)
        V = solve_policy_system(K_pi, R_pi, problem, V, target=0.25 * tol)
        Q_V = q_values(problem, V)
        cert, problem = check(problem, V, Q_V, tol)
        TV, best = greedy(Q_V)
        improve = Q_V[rows, policy] + 1e-12 * (1.0 + np.abs(TV)) < TV
        if not improve.any():
            return finish(cert, k, "pi", tol, capped=False)
        policy = np.where(improve, best, policy)
    return finish(cert, max_iter, "pi", tol, capped=True)
