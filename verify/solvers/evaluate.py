"""Exact value of a fixed policy, deterministic or stochastic."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from tasks.mdp import ROW_SUM_TOL, FiniteMDP
from verify.bellman import Kernel, policy_kernel, problem_from_mdp, to_mdp_units
from verify.solvers._common import solve_policy_system

__all__ = ["evaluate", "evaluate_policies"]


def _validate_policy(policy: Any, S: int, A: int) -> NDArray[np.int64] | NDArray[np.float64]:
    pi = np.asarray(policy)
    if pi.shape == (S,):
        if pi.dtype.kind not in "iu":
            raise TypeError(
                f"a deterministic policy must be an integer array of shape ({S},) (one action per state); "
                f"got dtype {pi.dtype}. Pass e.g. np.asarray(actions, dtype=int)."
            )
        bad = (pi < 0) | (pi >= A)
        if bad.any():
            s = int(np.argmax(bad))
            raise ValueError(f"policy[{s}] = {int(pi[s])} is not an action; actions are 0..{A - 1}.")
        return pi.astype(np.int64)
    if pi.shape == (S, A):
        if pi.dtype.kind not in "fiu" or pi.dtype == bool:
            raise TypeError(f"a stochastic policy must be a float array of shape ({S}, {A}); got dtype {pi.dtype}.")
        pi = pi.astype(np.float64)
        if not np.isfinite(pi).all():
            s, a = map(int, np.argwhere(~np.isfinite(pi))[0])
            raise ValueError(f"policy[{s}, {a}] = {pi[s, a]!r} is not finite.")
        if (pi < 0).any():
            s, a = map(int, np.argwhere(pi < 0)[0])
            raise ValueError(
                f"policy[{s}, {a}] = {pi[s, a]!r} is negative; each row must be a distribution over actions."
            )
        dev = np.abs(pi.sum(axis=1) - 1.0)
        if dev.max() > ROW_SUM_TOL:
            s = int(np.argmax(dev))
            raise ValueError(
                f"policy[{s}, :] sums to {pi[s].sum()!r}, not 1 (tolerance {ROW_SUM_TOL:g}); "
                "normalise: pi / pi.sum(axis=1, keepdims=True)."
            )
        return pi
    raise ValueError(
        f"policy has shape {pi.shape}; pass a deterministic policy of shape ({S},) (int actions) "
        f"or a stochastic one of shape ({S}, {A}) (rows are distributions over actions)."
    )


def _check_available(pi: NDArray[np.int64] | NDArray[np.float64], available: NDArray[np.bool_]) -> None:
    """Refuse a policy that takes an action where ``available[s, a]`` is False."""
    if pi.ndim == 1:
        bad = ~available[np.arange(pi.shape[0]), pi]
        s = int(np.argmax(bad))
        a = int(pi[s])
    else:
        uses = (pi > 0) & ~available
        bad = uses.any(axis=1)
        s = int(np.argmax(bad))
        a = int(np.argmax(uses[s]))
    if bad.any():
        raise ValueError(
            f"the policy takes action {a} in state {s}, where it is not available (mdp.available[{s}, {a}] is False); "
            "choose among the available actions."
        )


def evaluate(mdp: FiniteMDP, policy: Any, *, tol: float | None = None) -> NDArray[np.float64]:
    """The value ``V^π = (I − γ P_π)^{-1} R_π`` of a policy (Puterman 1994, Thm 6.1.1).

    The one policy evaluator of the project: every solve of ``(I − γ P_π) V = R_π`` (policy
    iteration, the fixed points' selection step) goes through
    :func:`~verify.solvers._common.solve_policy_system`, as this does.

    Parameters
    ----------
    mdp : FiniteMDP
    policy : int array (S,) or float array (S, A)
        Deterministic: ``policy[s]`` is the action taken in ``s``. Stochastic: ``policy[s, a]`` is
        the probability of ``a`` in ``s``; rows sum to 1 within ``ROW_SUM_TOL``.
    tol : float > 0, optional
        A bound on ``max|V − V^π|`` for the iterative routes (Krylov, sweeps); default
        ``1e-12·(1 + max|R_π| / (1 − γ))``. A bound below what the residual's rounding allows
        gets the rounding-floor solution, as a direct solve would.

    Returns
    -------
    V : array (S,)
        Dense kernels up to 500 states: LU solve (exact to rounding). Larger dense ones: sweeps
        when they mix fast, else LU. Sparse: pointer doubling for a deterministic policy, else
        Krylov, to ``|V − V^π|_∞ <= tol``.
    """
    if tol is not None and (isinstance(tol, bool) or not isinstance(tol, int | float) or not 0 < tol < np.inf):
        raise ValueError(f"tol must be a finite number > 0 (a bound on max|V − V^π|); got {tol!r}.")
    problem = problem_from_mdp(mdp)
    S, A = problem.n_states, problem.n_actions
    pi = _validate_policy(policy, S, A)
    _check_available(pi, np.asarray(mdp.available))
    K_pi: Kernel
    if pi.ndim == 1:
        K_pi, R_pi = policy_kernel(problem, pi.astype(np.int64))
    else:
        R_pi = (pi * np.where(pi > 0, problem.R, 0.0)).sum(axis=1)  # R = −inf at unavailable pairs, weight 0
        if isinstance(problem.K, np.ndarray):
            K_pi = np.einsum("sa,sat->st", pi, problem.K.reshape(S, A, S))
        else:
            W = sp.csr_array((pi.ravel(), (np.repeat(np.arange(S), A), np.arange(S * A))), shape=(S, S * A))
            K_pi = sp.csr_array(W @ problem.K)
    target = 1e-12 * (1.0 + float(np.abs(R_pi).max()) / (1.0 - problem.g_hi)) if tol is None else float(tol)
    return to_mdp_units(problem, solve_policy_system(K_pi, R_pi, problem, None, target=target))


def evaluate_policies(mdp: FiniteMDP, policies: Any) -> NDArray[np.float64]:
    """V^π of every deterministic policy in ``policies`` (..., S), shape (..., S); each distinct one solved once.

    Learning runs record a greedy policy per checkpoint and seed, and most of them repeat: this
    evaluates every distinct policy exactly once with :func:`evaluate`.
    """
    stack = np.asarray(policies)
    flat = stack.reshape(-1, mdp.n_states)
    cache: dict[bytes, NDArray[np.float64]] = {}
    out = np.empty(flat.shape, dtype=np.float64)
    for k, pi in enumerate(flat):
        key = pi.tobytes()
        if key not in cache:
            cache[key] = evaluate(mdp, pi)
        out[k] = cache[key]
    return out.reshape(stack.shape)
