"""Policy iteration (Howard 1960) with exact policy evaluation."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from verify.bellman import Problem, greedy, policy_kernel, q_values
from verify.solution import Solution
from verify.solvers._common import check, finish, solve_policy_system

__all__ = ["policy_iteration"]


def policy_iteration(
    problem: Problem,
    tol: float,
    max_iter: int = 10_000,
    policy: NDArray[np.int64] | None = None,
    V: NDArray[np.float64] | None = None,
) -> Solution:
    """Evaluate the policy exactly, improve it greedily, until it is stable and the bound meets ``tol``.

    Evaluation solves ``(I − β K_π) V = R_π`` (:func:`~verify.solvers._common.solve_policy_system`:
    LU when dense, pointer doubling when every row of ``K_π`` has one entry, else Krylov
    warm-started from the previous ``V``). Improvement keeps the
    incumbent action unless another is strictly better, so the sequence cannot cycle between
    equally good policies (Puterman 1994, §6.4). Iterations count evaluations.

    ``policy`` (default: greedy for ``R``) and ``V`` (a Krylov start) warm-start it, e.g. from value iteration.
    """
    S = problem.n_states
    rows = np.arange(S)
    if policy is None:
        _, policy = greedy(problem.R)
    for k in range(1, max_iter + 1):
        K_pi, R_pi = policy_kernel(problem, policy)
        V = solve_policy_system(K_pi, R_pi, problem, V, target=0.25 * tol)
        Q_V = q_values(problem, V)
        cert, problem = check(problem, V, Q_V, tol)
        TV, best = cert.TV, cert.policy  # greedy(Q_V), computed by the certificate
        improve = Q_V[rows, policy] + 1e-12 * (1.0 + np.abs(TV)) < TV
        if not improve.any():
            return finish(cert, k, "pi", tol, capped=False)
        policy = np.where(improve, best, policy)
    return finish(cert, max_iter, "pi", tol, capped=True)
