"""Value iteration with McQueen–Porteus error bounds."""

from __future__ import annotations

import numpy as np

from verify.bellman import Problem, q_values, with_exact_rowsums
from verify.solution import Solution
from verify.solvers._common import at_floor, check, finish

__all__ = ["value_iteration"]


def value_iteration(problem: Problem, tol: float, max_iter: int = 100_000) -> Solution:
    """Iterate ``V ← TV`` from ``V = 0`` until the guaranteed bound on ``|V − V*|`` is ``<= tol``.

    The stopping rule is the McQueen–Porteus bound (Puterman 1994, Thm 6.6.6; :mod:`verify.bellman`),
    never larger than the textbook ``g/(1 − g)·||TV − V||`` (Puterman 1994, Thm 6.3.1); the value
    returned is the midpoint estimate and ``error_bound`` its half-width plus rounding. At γ = 1
    (an episodic MDP) the problem is in the units of its weighted-norm contraction, modulus at most
    ``1 − 1/ξ_max`` (``ξ`` the expected steps to termination; :func:`verify.bellman.problem_from_mdp`),
    and the bound is that norm's, valid in the MDP's units. Iterations count Bellman sweeps. At
    the cap, a :class:`~verify.ConvergenceWarning` carries the bound reached.
    """
    problem = with_exact_rowsums(problem)  # tight g_lo, g_hi: VI's V is far from V* early on
    V = np.zeros(problem.n_states)
    for k in range(1, max_iter + 1):
        cert, problem = check(problem, V, q_values(problem, V), tol)
        if cert.error_bound <= tol or at_floor(cert):
            return finish(cert, k, "vi", tol, capped=False)
        V = cert.TV
    return finish(cert, max_iter, "vi", tol, capped=True)
