"""Modified policy iteration (Puterman & Shin 1978) with McQueen-extrapolated partial evaluation."""

from __future__ import annotations

import numpy as np

from verify.bellman import Problem, q_values
from verify.solution import Solution
from verify.solvers._common import at_floor, check, finish, solve_policy_system
from verify.solvers._policy import PolicyKernel, sweep_policy

__all__ = ["modified_policy_iteration"]

#: While the policy still changes, partial evaluation stops once its bound on ``|V − V^π|`` is this
#: fraction of the outer bound. Measured on random sparse kernels (S = 10^5, A = 4, k = 8,
#: γ = 0.99): 0.01 .. 0.1 all need about 7 improvements and 40 .. 50 evaluation sweeps; 10^-6
#: (evaluating each policy almost exactly) needs 120 sweeps, 0.3 needs twice the improvements.
EVAL_RATIO = 0.03

#: An improvement that changes at most this fraction of the actions counts as (nearly) stable: its
#: policy is evaluated to the final target at once (on random kernels the last change is ~10 of 10^5
#: states; this saves an improvement, and the change moves V by little if another follows).
FEW_CHANGES = 1e-3

#: Once the policy is stable, it is evaluated to this fraction of ``tol``: the next Bellman sweep's
#: McQueen bound is then about the contraction factor times the evaluation's bound, below ``tol``.
FINAL_RATIO = 0.5


def modified_policy_iteration(problem: Problem, tol: float, max_iter: int = 100_000, max_sweeps: int = 500) -> Solution:
    """Alternate one Bellman sweep (improvement, and the certificate) with cheap partial evaluation.

    Each outer iteration: ``Q_V = R + βKV`` (the only pass over the whole kernel), the greedy
    policy π and the McQueen bound; stop when the bound meets ``tol``. Otherwise evaluate π
    approximately by sweeps ``V ← R_π + β K_π V`` on the ``S`` rows of π only (``1/A`` of the
    kernel), extrapolated by McQueen's bound for ``T_π``. The number of sweeps adapts: while π
    still changes, until the evaluation's bound on ``|V − V^π|`` falls below ``EVAL_RATIO`` times
    the outer bound (a rough evaluation suffices to improve π further); once π is unchanged by an
    improvement, until it falls below ``FINAL_RATIO·tol``, so that the next sweep certifies. ``K_π``
    is re-gathered only on the rows whose action changed. Converges for any start (Puterman 1994,
    Thm 6.5.5); iterations count sweeps of the whole kernel. When π is stable but the sweeps
    stop short (capped at ``max_sweeps`` on a slowly mixing kernel, or at the rounding floor), π
    is evaluated exactly (:func:`~verify.solvers._common.solve_policy_system`); if the bound
    still misses ``tol`` it is returned with a :class:`~verify.ConvergenceWarning`.
    """
    V = np.zeros(problem.n_states)
    Q_V = problem.R.copy()  # R + βK·0: the first sweep is free
    kernel: PolicyKernel | None = None
    stuck = False  # whether sweeps stopped short of their target: capped, or at the rounding floor
    exact = False  # whether V is the exact value of the current, stable π
    stable_bound = np.inf  # the bound after the last evaluation of the current π, while π is stable
    for k in range(1, max_iter + 1):
        cert, problem = check(problem, V, Q_V, tol)
        if cert.error_bound <= tol or at_floor(cert):
            return finish(cert, k, "mpi", tol, capped=False)
        changed = problem.n_states if kernel is None else kernel.update(cert.policy)
        if kernel is None:
            kernel = PolicyKernel(problem, cert.policy)
        start = cert.V if problem.uniform_rows else cert.TV
        if changed > FEW_CHANGES * problem.n_states:
            target = max(FINAL_RATIO * tol, EVAL_RATIO * cert.error_bound)
            stable_bound, exact = np.inf, False
        elif changed:
            target = FINAL_RATIO * tol
            stable_bound, exact = np.inf, False
        else:
            if exact:  # π is stable and V is its exact value: nothing left to gain
                return finish(cert, k, "mpi", tol, capped=False)
            target = FINAL_RATIO * tol
            if stuck or cert.error_bound >= stable_bound:
                # Sweeps mix too slowly (long cycles, γ near 1) or sit at a rounding limit cycle
                # (|d| ~ ulp(V)/(1 − β) on periodic kernels): evaluate π exactly instead.
                V, exact = solve_policy_system(kernel.K_pi, kernel.R_pi, problem, start, target), True
                Q_V = q_values(problem, V)
                continue
            stable_bound = cert.error_bound
        V, eval_bound, _ = sweep_policy(kernel.K_pi, kernel.R_pi, problem, start, target, max_sweeps)
        stuck = eval_bound > target
        Q_V = q_values(problem, V)
    return finish(cert, max_iter, "mpi", tol, capped=True)
