"""Value iteration with a sweep budget, then policy iteration: ``auto``'s method for deterministic kernels."""

from __future__ import annotations

import math

import numpy as np

from verify.bellman import Problem, mcqueen_offsets, q_values, with_exact_rowsums
from verify.solution import Solution
from verify.solvers._common import at_floor, check, finish
from verify.solvers._doubling import doubling_rounds
from verify.solvers.pi import policy_iteration

__all__ = ["PI_ITERATIONS", "pi_cost", "predicted_vi_sweeps", "value_then_policy_iteration"]

#: Policy improvements a policy iteration typically needs on the benchmark tasks (FrozenLake 10, Taxi 16).
PI_ITERATIONS = 10


def predicted_vi_sweeps(problem: Problem, tol: float) -> float:
    """Sweeps value iteration needs in the worst case: ``log(tol / B_1) / log g``.

    ``B_1`` is the McQueen bound after the first sweep from ``V = 0`` (``TV = max_a R``, so it costs
    no pass over the kernel), and later bounds shrink at least like ``g^n`` (Puterman 1994, Thm
    6.3.1). Mixing kernels do far better (the span contracts with the subdominant eigenvalue);
    a deterministic kernel with long cycles attains it, e.g. ~ 3·10^4 sweeps at γ = 0.999.
    """
    lo, hi = mcqueen_offsets(problem.R.max(axis=1), problem.g_lo, problem.g_hi)
    b_1 = 0.5 * (hi - lo)
    if b_1 <= tol or problem.g_hi <= 0.0:
        return 1.0
    return 1.0 + math.log(tol / b_1) / math.log(problem.g_hi)


def pi_cost(problem: Problem) -> float:
    """The cost of policy iteration on a deterministic kernel, in Bellman sweeps of the whole kernel.

    Each of about ``PI_ITERATIONS`` improvements costs one sweep plus an exact evaluation by pointer
    doubling: ``D = log2(log ε / log g)`` rounds of gathers over the ``S`` states, about ``D/A`` sweeps.
    """
    return PI_ITERATIONS * (1.0 + doubling_rounds(problem.g_hi) / problem.n_actions)


def value_then_policy_iteration(problem: Problem, tol: float, budget: int | None = None) -> Solution:
    """Value iteration for at most ``budget`` sweeps (default :func:`pi_cost`), then policy iteration.

    A rent-or-buy rule (Karlin et al. 1988): VI is cheap when it ends early, which
    :func:`predicted_vi_sweeps` cannot foresee (values become exact once every path has reached an
    absorbing state, as in Taxi), but it crawls on long cycles with γ near 1. Spending at most what
    PI would cost on VI first, then switching to PI warm-started from VI's greedy policy, costs at
    most about twice the better of the two. Records ``method`` as ``"vi"`` when VI met ``tol``
    within the budget, else ``"vi+pi"``; ``iterations`` counts VI sweeps plus PI improvements.
    """
    budget = max(1, math.ceil(pi_cost(problem))) if budget is None else int(budget)
    problem = with_exact_rowsums(problem)
    V = np.zeros(problem.n_states)
    for k in range(1, budget + 1):
        cert, problem = check(problem, V, q_values(problem, V), tol)
        if cert.error_bound <= tol or at_floor(cert):
            return finish(cert, k, "vi", tol, capped=False)
        V = cert.TV
    sol = policy_iteration(problem, tol, policy=cert.policy, V=cert.V)
    return sol._replace(iterations=budget + sol.iterations, method="vi+pi")
