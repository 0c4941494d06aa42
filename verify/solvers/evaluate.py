"""Exact value of a fixed policy, deterministic or stochastic."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from tasks.mdp import ROW_SUM_TOL, FiniteMDP
from verify.bellman import Kernel, policy_kernel, problem_from_mdp
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


def evaluate(mdp: FiniteMDP, policy: Any) -> NDArray[np.float64]:
    """The value ``V^π = (I − γ P_π)^{-1} R_π`` of a policy (Puterman 1994, Thm 6.1.1).

    Parameters
    ----------
    mdp : FiniteMDP
    policy : int array (S,) or float array (S, A)
        Deterministic: ``policy[s]`` is the action taken in ``s``. Stochastic: ``policy[s, a]`` is
        the probability of ``a`` in ``s``; rows sum to 1 within ``ROW_SUM_TOL``.

    Returns
    -------
    V : array (S,)
        Dense kernels: LU solve (exact to rounding). Sparse: Krylov to ``|V − V^π|_∞ <= 1e-12·(1 + |V|)``.
    """
    problem = problem_from_mdp(mdp)
    S, A = problem.n_states, problem.n_actions
    pi = _validate_policy(policy, S, A)
    K_pi: Kernel
    if pi.ndim == 1:
        K_pi, R_pi = policy_kernel(problem, pi.astype(np.int64))
    else:
        R_pi = (pi * problem.R).sum(axis=1)
        if isinstance(problem.K, np.ndarray):
            K_pi = np.einsum("sa,sat->st", pi, problem.K.reshape(S, A, S))
        else:
            W = sp.csr_array((pi.ravel(), (np.repeat(np.arange(S), A), np.arange(S * A))), shape=(S, S * A))
            K_pi = sp.csr_array(W @ problem.K)
    scale = 1.0 + float(np.abs(R_pi).max()) / (1.0 - problem.g_hi)
    return solve_policy_system(K_pi, R_pi, problem, None, target=1e-12 * scale)


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
