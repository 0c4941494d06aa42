"""Reward transformations that keep the optimal policy: rescaling Q* into a bid range.

The paper's bidders bid in (0, 1) (Beta distributions), but Q* of a task can lie anywhere, e.g.
the duality task's Q* spans [−100, 50]. :func:`rescale_rewards` maps the rewards so that every
Q*(s, a) of a non-terminal state lands in [low, high] by an affine map of Q*, which keeps the
optimal policy (PAPER.md, "Duality": "an affine map r' = a·r + b keeps the optimal policy").
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import NDArray

from tasks.mdp import FiniteMDP

__all__ = ["rescale_rewards"]


def rescale_rewards(mdp: FiniteMDP, low: float = 0.0, high: float = 1.0) -> FiniteMDP:
    r"""Map rewards so that Q*' = a·Q* + b on non-terminal states, with range exactly [low, high].

    With ``q_min, q_max`` the smallest and largest Q*(s, a) over non-terminal states,
    ``a = (high − low) / (q_max − q_min) > 0`` and ``b = low − a·q_min``; the new rewards are

    .. math:: R'(s, a) = a·R(s, a) + b − γ·b·P(s' \notin T \mid s, a)

    for non-terminal s, and 0 on terminal states T. This is potential-based shaping (Ng, Harada
    & Russell 1999, "Policy invariance under reward transformations", Theorem 1) of the scaled
    reward a·R with the potential Φ(s) = −b off T and Φ = 0 on T:
    F(s, a, s') = γ·Φ(s') − Φ(s) = b − γ·b·1{s' ∉ T} for s ∉ T.

    *Proof that Q*' = a·Q* + b on non-terminal states.* Let V'(s) = a·V*(s) + b·1{s ∉ T}
    (so V' = 0 on T, as required of terminal states) and Q'(s, a) = R'(s, a) + γ·Σ P(s'|s,a) V'(s').
    For s ∉ T,
    Q'(s, a) = a·R + b − γ·b·P(T^c|s,a) + γ·a·Σ P V* + γ·b·P(T^c|s,a) = a·(R + γ·P V*) + b
    = a·Q*(s, a) + b. Since a > 0, max_a Q'(s, a) = a·V*(s) + b = V'(s), so V' satisfies the
    Bellman optimality equation of the new MDP; its solution is unique (γ < 1, a contraction),
    hence V' = V*', Q' = Q*', and argmax_a Q*' = argmax_a Q*: the optimal policies coincide.

    Adding a constant b to every reward instead would *not* shift Q* by a constant when episodes
    can terminate: the added value b·(1 − γ^τ)/(1 − γ) depends on the time τ to termination.

    Terminal states keep Q* = 0, which may lie outside [low, high]; they are never auctioned.

    Degenerate case: when every non-terminal Q*(s, a) is the same value q (every policy is
    optimal), the scale is kept (a = 1) and b = (low + high)/2 − q, so every Q*' is the midpoint.

    Parameters
    ----------
    mdp : FiniteMDP
    low, high : float
        The target range, ``low < high`` (the paper's bids live in (0, 1)).

    Returns
    -------
    FiniteMDP
        Same kernel, start, terminal mask and time limit; name suffixed with the range.

    Notes
    -----
    Q*'s range is computed here by a small exact policy iteration (``numpy.linalg.solve``, or a
    sparse LU for sparse kernels), used for the bounds only; it is meant for task-sized MDPs,
    not for the 10^6-state benchmarks (use ``verify.solve`` and apply the map yourself there).
    """
    low, high = float(low), float(high)
    if not (np.isfinite(low) and np.isfinite(high)) or not low < high:
        raise ValueError(f"need finite low < high; got low = {low}, high = {high}.")
    Q = _q_star(mdp)
    terminal = np.zeros(mdp.n_states, dtype=bool) if mdp.terminal is None else mdp.terminal
    live = ~terminal
    q_min, q_max = float(Q[live].min()), float(Q[live].max())
    if q_max > q_min:
        a = (high - low) / (q_max - q_min)
        b = low - a * q_min
    else:
        a, b = 1.0, 0.5 * (low + high) - q_min
    S, A = mdp.n_states, mdp.n_actions
    p_live = np.asarray(mdp.kernel @ live.astype(np.float64)).reshape(S, A)
    R_new = a * mdp.R + b - mdp.gamma * b * p_live
    R_new[terminal] = 0.0
    name = f"{mdp.name or 'mdp'}|rescaled[{low:g},{high:g}]"
    return dataclasses.replace(mdp, R=R_new, name=name)


def _q_star(mdp: FiniteMDP, max_iter: int = 10_000) -> NDArray[np.float64]:
    """Exact Q* by Howard's policy iteration; for :func:`rescale_rewards`'s bounds only."""
    S, A, gamma = mdp.n_states, mdp.n_actions, mdp.gamma
    K = mdp.kernel
    R = mdp.R
    rows = np.arange(S)
    pi = np.argmax(R, axis=1)
    for _ in range(max_iter):
        sel = rows * A + pi
        if isinstance(K, np.ndarray):
            V = np.linalg.solve(np.eye(S) - gamma * K[sel], R[rows, pi])
        else:
            M = (sp.identity(S, format="csc") - gamma * sp.csr_matrix(K[sel])).tocsc()
            V = spla.spsolve(M, R[rows, pi])
        Q = R + gamma * np.asarray(K @ V).reshape(S, A)
        # Switch only on a clear improvement, so round-off cannot make the policy cycle.
        best = np.argmax(Q, axis=1)
        gain = Q[rows, best] - Q[rows, pi]
        improve = gain > 1e-12 * (1.0 + np.abs(Q[rows, pi]))
        if not improve.any():
            return np.asarray(Q, dtype=np.float64)
        pi = np.where(improve, best, pi)
    raise RuntimeError(f"policy iteration did not converge in {max_iter} iterations; Q*'s range is unknown.")
