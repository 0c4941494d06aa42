"""The linear-programming formulation, solved by HiGHS: an independent cross-check."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from verify.bellman import Problem, greedy, policy_kernel, q_values
from verify.solution import Solution
from verify.solvers._common import check, finish, solve_policy_system

__all__ = ["linear_program"]


def linear_program(problem: Problem, tol: float) -> Solution:
    """V* as the solution of ``min Σ_s V(s)`` s.t. ``V(s) >= R(s, a) + β Σ_s' K(s·A + a, s') V(s')``.

    (d'Epenoux 1963; Puterman 1994, §6.9.) Solved with ``scipy.optimize.linprog(method="highs")``
    at feasibility tolerances 1e-10. The LP has one row per available pair (at most S·A) and S
    columns; HiGHS handles small and medium problems (thousands of states) well but it is far
    slower than :func:`pi`/:func:`mpi`, so use it as a cross-check, not a workhorse. At γ = 1 it
    runs on the weighted problem (:func:`verify.bellman.problem_from_mdp`): the variables are
    ``V/w``, and any positive objective weights have V* as the solution. When the LP's accuracy
    alone misses ``tol``, its greedy policy is evaluated exactly once (a polishing step; the policy
    still comes from the LP). ``iterations`` is HiGHS's iteration count.
    """
    S, A = problem.n_states, problem.n_actions
    R = problem.R.ravel()
    pairs = np.flatnonzero(np.isfinite(R))  # one constraint per available pair (R = −inf marks the others)
    E = sp.csr_array((np.ones(pairs.size), (np.arange(pairs.size), pairs // A)), shape=(pairs.size, S))
    K = sp.csr_array(problem.K)[pairs]
    A_ub = (problem.beta * K - E).tocsr()
    res = linprog(
        c=np.ones(S),
        A_ub=A_ub,
        b_ub=-R[pairs],
        bounds=(None, None),
        method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    if res.status != 0 or res.x is None:
        raise RuntimeError(f"linprog (HiGHS) failed on the Bellman LP: status {res.status}, {res.message}")
    V = np.asarray(res.x, dtype=np.float64)
    cert, problem = check(problem, V, q_values(problem, V), tol)
    if cert.error_bound > tol:
        _, policy = greedy(cert.Q)
        K_pi, R_pi = policy_kernel(problem, policy)
        V = solve_policy_system(K_pi, R_pi, problem, V, target=0.25 * tol)
        cert, problem = check(problem, V, q_values(problem, V), tol)
    return finish(cert, int(res.nit), "lp", tol, capped=False)
