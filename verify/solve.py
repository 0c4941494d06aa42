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
from verify.solvers.hybrid import pi_cost, predicted_vi_sweeps, value_then_policy_iteration

__all__ = ["METHODS", "choose_method", "solve"]

_SOLVERS: dict[str, Callable[[Problem, float], Solution]] = {
    "pi": policy_iteration,
    "vi": value_iteration,
    "mpi": modified_policy_iteration,
    "lp": linear_program,
}

#: Every accepted ``method``: ``auto`` plus the methods it chooses among.
METHODS: tuple[str, ...] = ("auto", *_SOLVERS)

#: What ``auto`` may run: the methods above plus VI with a budget, then PI (:mod:`verify.solvers.hybrid`).
_AUTO_SOLVERS: dict[str, Callable[[Problem, float], Solution]] = {**_SOLVERS, "vi+pi": value_then_policy_iteration}

#: Sparse kernels with at most this many stored entries per row on average count as deterministic.
DETERMINISTIC_ENTRIES = 1.5

#: Dense problems with at most this many states are solved by PI (an LU of S×S is cheaper than sweeps).
PI_DENSE_MAX_STATES = 200


#: Dense kernels whose sampled rows are at most this full are converted to CSR by ``auto``.
SPARSE_DENSITY = 0.05


def compact(problem: Problem) -> Problem:
    """``auto``'s storage choice: a dense kernel that is mostly zeros is re-stored as CSR.

    A sample of about 32 rows estimates the density for free; only when it is at most
    ``SPARSE_DENSITY`` are the whole kernel's nonzeros found, from one boolean mask (3 ms for
    Taxi's 12 MB, against 7 ms by ``count_nonzero`` and ``argmax``). Taxi's dense kernel, for one,
    is 1/501 full; its sweeps then cost microseconds instead of a pass over 12 MB.
    """
    K = problem.K
    if not isinstance(K, np.ndarray) or problem.n_states <= PI_DENSE_MAX_STATES:
        return problem
    n_rows, S = K.shape
    step = max(1, n_rows // 32)
    if np.count_nonzero(K[::step]) > SPARSE_DENSITY * S * len(range(0, n_rows, step)):
        return problem
    nonzero = K != 0  # one pass; numpy's flatnonzero is 3x faster on a bool mask than on floats
    flat = np.flatnonzero(nonzero)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(nonzero.sum(axis=1), out=indptr[1:])
    return replace(problem, K=sp.csr_array((K.ravel()[flat], flat % S, indptr), shape=K.shape))


def choose_method(problem: Problem, tol: float = 1e-10) -> str:
    """The method ``auto`` uses for ``problem`` at tolerance ``tol``.

    Measured in ``tests/benchmarks/test_bench_solve.py``: the cost of every method is dominated by
    passes over the (S·A, S) kernel. The rule:

    1. Dense with at most ``PI_DENSE_MAX_STATES`` states: ``pi``. An exact LU of the S×S policy
       system costs less than the sweeps (FrozenLake 8x8, chain, bandit).
    2. Sparse with at most ``DETERMINISTIC_ENTRIES`` entries per row (deterministic, like Taxi; a
       dense kernel that is mostly zeros is stored as CSR first, :func:`compact`): no mixing, so
       partial evaluation gains nothing, and the choice is between VI and PI by their predicted
       costs in sweeps of the whole kernel. VI needs at most
       ``n_VI = 1 + log(tol / B_1) / log g`` sweeps (``B_1`` the McQueen bound after the first
       sweep, ``g`` the modulus; :func:`~verify.solvers.hybrid.predicted_vi_sweeps`), attained on
       long cycles: ~ 3·10^4 at γ = 0.999. PI costs about ``c_PI = 10·(1 + D/A)`` sweeps: ten
       improvements, each one sweep plus an exact evaluation by pointer doubling in ``D =
       log2(log ε / log g)`` passes over the S states (:func:`~verify.solvers.hybrid.pi_cost`).
       If ``n_VI <= c_PI``: ``vi``. Otherwise ``vi+pi``: VI for at most ``c_PI`` sweeps, since it
       often ends far sooner than ``n_VI`` (Taxi: values are exact once every path has reached the
       terminal state, 19 sweeps), then PI from VI's greedy policy; at most about twice the
       cheaper of the two (rent or buy).
    3. Otherwise (dense above ``PI_DENSE_MAX_STATES`` states, or sparse with several successors
       per row): ``mpi``. It touches the whole kernel once per improvement and evaluates on the
       ``S`` rows of the current policy only, with McQueen extrapolation removing the slow
       constant mode: fastest on dense random kernels (S = 2000) and sparse ones (S = 10^5 .. 10^6).
    """
    if not problem.is_sparse and problem.n_states <= PI_DENSE_MAX_STATES:
        return "pi"
    K = problem.K
    if not isinstance(K, np.ndarray) and K.nnz <= DETERMINISTIC_ENTRIES * problem.n_states * problem.n_actions:
        return "vi" if predicted_vi_sweeps(problem, tol) <= pi_cost(problem) else "vi+pi"
    return "mpi"


def solve(mdp: FiniteMDP, method: str = "auto", tol: float = 1e-10) -> Solution:
    """Solve a discounted MDP: V*, Q*, an optimal policy and a guaranteed bound on the error.

    Parameters
    ----------
    mdp : FiniteMDP
    method : {"auto", "pi", "vi", "mpi", "lp"}
        ``auto`` picks per problem (:func:`choose_method`) and records it as ``"auto:<method>"``:
        ``pi`` for dense problems with at most 200 states; for deterministic sparse kernels (at
        most 1.5 entries per row) ``vi`` when VI's worst-case sweep count ``1 + log(tol/B_1)/log γ``
        (``B_1`` its bound after one sweep) is at most PI's estimated cost ``10·(1 + D/A)`` sweeps
        (``D = log2(log ε / log γ)`` pointer-doubling passes per exact evaluation), else VI for at
        most that many sweeps and then PI from VI's greedy policy (recorded ``vi`` if VI finished,
        ``vi+pi`` if it switched); ``mpi`` for everything else (large dense, sparse with mixing).
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
        sol = _AUTO_SOLVERS[choose_method(problem, float(tol))](problem, float(tol))
        return sol._replace(method=f"auto:{sol.method}")
    return _SOLVERS[method](problem, float(tol))
