"""`solve(mdp)`: the public entry point to the exact solvers, and `auto`'s choice of method."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from tasks.mdp import FiniteMDP
from verify.bellman import Problem, problem_from_mdp
from verify.solution import Solution
from verify.solvers import linear_program, modified_policy_iteration, policy_iteration, value_iteration

__all__ = ["METHODS", "choose_method", "solve"]

_SOLVERS: dict[str, Callable[[Problem, float], Solution]] = {
    "pi": policy_iteration,
    "vi": value_iteration,
    "mpi": modified_policy_iteration,
    "lp": linear_program,
}

#: Every accepted ``method``: ``auto`` plus the methods it chooses among.
METHODS: tuple[str, ...] = ("auto", *_SOLVERS)

#: Dense problems with at most this many states are solved by PI (an LU of S×S is cheaper than sweeps).
PI_DENSE_MAX_STATES = 200


#: Dense kernels whose sampled rows are at most this full are converted to CSR by ``auto``.
SPARSE_DENSITY = 0.05


def compact(problem: Problem) -> Problem:
    """``auto``'s storage choice: a dense kernel that is mostly zeros is re-stored as CSR.

    A sample of about 32 rows estimates the density for free; only when it is at most
    ``SPARSE_DENSITY`` are the whole kernel's nonzeros found (deterministic rows, one nonzero
    each, by ``count_nonzero`` and ``argmax``: two passes). Taxi's dense kernel, for one, is
    1/501 full; its sweeps then cost microseconds instead of a pass over 12 MB.
    """
    K = problem.K
    if not isinstance(K, np.ndarray) or problem.n_states <= PI_DENSE_MAX_STATES:
        return problem
    n_rows, S = K.shape
    step = max(1, n_rows // 32)
    if np.count_nonzero(K[::step]) > SPARSE_DENSITY * S * len(range(0, n_rows, step)):
        return problem
    counts = np.count_nonzero(K, axis=1)
    if (counts == 1).all():
        cols = np.argmax(K, axis=1)
        data = K[np.arange(n_rows), cols]
        indptr = np.arange(n_rows + 1)
    else:
        flat = np.flatnonzero(K)
        cols = flat % S
        data = K.ravel()[flat]
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
    return replace(problem, K=sp.csr_array((data, cols, indptr), shape=K.shape))


def choose_method(problem: Problem) -> str:
    """The method ``auto`` uses for ``problem``.

    Measured in ``tests/benchmarks/test_bench_solve.py``: the cost of every method is dominated by
    passes over the (S·A, S) kernel. Modified PI touches the whole kernel once per improvement and
    evaluates on the ``S`` rows of the current policy only, with McQueen extrapolation removing the
    slow constant mode, so it is the fastest on dense random kernels (S = 2000) and on sparse
    ones (S = 10^5 .. 10^6). For tiny dense problems an exact LU of the S×S policy system costs
    less than the sweeps, so PI wins there (FrozenLake 8x8, chain, bandit). On (nearly)
    deterministic sparse kernels (Taxi) partial evaluation gains nothing (no mixing for McQueen's
    extrapolation to exploit) and plain VI, whose values become exact once every path has reached
    a terminal state, needs the fewest passes. Limitation: a deterministic kernel with long cycles
    and γ near 1 makes VI slow (about log(tol)/log(γ) sweeps); pass ``method="pi"`` there.
    """
    if not problem.is_sparse and problem.n_states <= PI_DENSE_MAX_STATES:
        return "pi"
    K = problem.K
    if not isinstance(K, np.ndarray) and K.nnz <= 1.5 * problem.n_states * problem.n_actions:
        return "vi"
    return "mpi"


def solve(mdp: FiniteMDP, method: str = "auto", tol: float = 1e-10) -> Solution:
    """Solve a discounted MDP: V*, Q*, an optimal policy and a guaranteed bound on the error.

    Parameters
    ----------
    mdp : FiniteMDP
    method : {"auto", "pi", "vi", "mpi", "lp"}
        ``auto`` picks per problem (:func:`choose_method`) and records it as ``"auto:<method>"``.
        ``pi`` policy iteration, ``vi`` value iteration, ``mpi`` modified policy iteration,
        ``lp`` the linear program via HiGHS (small and medium problems; a cross-check).
    tol : float > 0
        Target for ``error_bound``, a guaranteed bound on ``max|V − V*|`` and ``max|Q − Q*|``.
        A method that cannot meet it (iteration cap, floating-point floor) warns with
        :class:`verify.ConvergenceWarning` and returns the bound it did reach.

    Returns
    -------
    Solution
        ``(V (S,), Q (S, A), policy (S,), iterations, error_bound, method)``.

    Examples
    --------
    >>> import numpy as np, tasks, verify
    >>> P = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]])
    >>> sol = verify.solve(tasks.FiniteMDP(P, np.array([[0.0, 1.0], [0.0, 0.0]]), 0.9))
    >>> sol.Q.round(6).tolist(), sol.policy.tolist()
    ([[0.9, 1.0], [0.0, 0.0]], [1, 0])
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}.")
    if isinstance(tol, bool) or not isinstance(tol, int | float | np.integer | np.floating):
        raise TypeError(f"tol must be a positive number; got {tol!r}.")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a finite number > 0; got {tol!r}.")
    problem = problem_from_mdp(mdp)
    if method == "auto":
        problem = compact(problem)
        chosen = choose_method(problem)
        return _SOLVERS[chosen](problem, float(tol))._replace(method=f"auto:{chosen}")
    return _SOLVERS[method](problem, float(tol))
