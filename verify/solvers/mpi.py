"""Modified policy iteration (Puterman & Shin 1978) with McQueen-extrapolated partial evaluation."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from verify.bellman import Kernel, Problem, policy_kernel, q_values
from verify.solution import Solution
from verify.solvers._common import at_floor, check, finish, sweep_policy

__all__ = ["modified_policy_iteration"]

#: Partial evaluation stops at this fraction of the current bound (times 1 − g); measured, see solve.choose_method.
EVAL_RATIO = 1e-4


def modified_policy_iteration(problem: Problem, tol: float, max_iter: int = 100_000, max_sweeps: int = 200) -> Solution:
    """Alternate one Bellman sweep (improvement, and the certificate) with cheap partial evaluation.

    Each outer iteration: ``Q_V = R + βKV`` (the only pass over the whole kernel), the greedy
    policy π and the McQueen bound; stop when the bound meets ``tol``. Otherwise evaluate π
    approximately by sweeps ``V ← R_π + β K_π V`` on the ``S`` rows of π only (``1/A`` of the
    kernel), extrapolated by McQueen's bound for ``T_π``, until ``|V − V^π|`` is below a target
    that tightens with the outer bound (about ``(1 − g)·tol/4`` at the end, since
    ``|TV − V*| <~ 2|V − V^π|/(1 − g)`` once π is optimal). ``K_π`` is re-gathered only on the rows
    whose action changed. Converges for any start (Puterman 1994, Thm 6.5.5); iterations count sweeps
    of the whole kernel.
    """
    S, A = problem.n_states, problem.n_actions
    V = np.zeros(S)
    Q_V = problem.R.copy()  # R + βK·0: the first sweep is free
    policy: NDArray[np.int64] | None = None
    K_pi: Kernel | None = None
    K = problem.K
    fixed_k = False
    if isinstance(K, sp.csr_array | sp.csr_matrix) and K.shape[0] and K.nnz % K.shape[0] == 0:
        n_per_row = K.nnz // K.shape[0]
        fixed_k = n_per_row > 0 and bool((np.diff(K.indptr) == n_per_row).all())
        if fixed_k:
            K_data, K_indices = K.data.reshape(-1, n_per_row), K.indices.reshape(-1, n_per_row)
    for k in range(1, max_iter + 1):
        cert, problem = check(problem, V, Q_V, tol)
        if cert.error_bound <= tol or at_floor(cert):
            return finish(cert, k, "mpi", tol, capped=False)
        if K_pi is None or policy is None:
            K_pi, R_pi = policy_kernel(problem, cert.policy)
            if isinstance(K_pi, np.ndarray) and not K_pi.flags.writeable:
                K_pi = np.array(K_pi)
            elif fixed_k:
                K_pi = sp.csr_array(K_pi, copy=True)  # owned, so the in-place updates below are safe
        else:
            changed = np.flatnonzero(cert.policy != policy)
            if changed.size and isinstance(K_pi, np.ndarray):
                K_pi[changed] = problem.K[changed * A + cert.policy[changed]]
                R_pi = problem.R[np.arange(S), cert.policy]
            elif changed.size and fixed_k and isinstance(K_pi, sp.csr_array):
                # Every row holds k entries: K_π's data and indices are (S, k) blocks, updated in place.
                rows = changed * A + cert.policy[changed]
                K_pi.data.reshape(S, -1)[changed] = K_data[rows]
                K_pi.indices.reshape(S, -1)[changed] = K_indices[rows]
                R_pi = problem.R[np.arange(S), cert.policy]
            elif changed.size:
                K_pi, R_pi = policy_kernel(problem, cert.policy)
        policy = cert.policy
        target = max(0.25 * (1.0 - problem.g_hi) * tol, EVAL_RATIO * (1.0 - problem.g_hi) * cert.error_bound)
        V, _, _ = sweep_policy(K_pi, R_pi, problem, cert.V if problem.uniform_rows else cert.TV, target, max_sweeps)
        Q_V = q_values(problem, V)
    return finish(cert, max_iter, "mpi", tol, capped=True)
