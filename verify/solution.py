"""Result records of the exact solvers, and the warning they raise when a tolerance is missed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["AverageSolution", "ConvergenceWarning", "HorizonSolution", "Solution"]


class ConvergenceWarning(UserWarning):
    """A solver stopped (iteration cap, or floating-point floor) before its bound met ``tol``.

    The result it returns is still usable: its ``error_bound`` is the bound actually reached.
    """


class Solution(NamedTuple):
    """The solution of a discounted MDP, with a guaranteed error bound.

    Attributes
    ----------
    V : array (S,)
        Approximate optimal values V*.
    Q : array (S, A)
        Approximate optimal action values Q*(s, a) = R(s, a) + γ Σ_s' P(s'|s, a) V*(s'); ``−inf``
        where ``mdp.available[s, a]`` is False, so that no argmax or comparison takes it for an option.
    policy : int array (S,)
        A policy greedy with respect to ``Q`` (ties: the lowest action index, or the incumbent
        action for policy iteration).
    iterations : int
        Outer iterations of the method (Bellman sweeps for ``vi``; policy improvements for
        ``pi`` and ``mpi``; simplex/IPM iterations reported by HiGHS for ``lp``).
    error_bound : float
        A bound on both ``max|V − V*|`` and ``max|Q − Q*|``, derived from a final Bellman
        residual (McQueen–Porteus bounds, Puterman 1994 §6.6.3), valid in exact arithmetic,
        plus an allowance for the rounding of that residual.
    method : str
        The method that produced it (``auto`` records which method it chose, e.g. ``auto:mpi``).
    """

    V: NDArray[np.float64]
    Q: NDArray[np.float64]
    policy: NDArray[np.int64]
    iterations: int
    error_bound: float
    method: str


class HorizonSolution(NamedTuple):
    """The solution of the finite-horizon problem with ``H`` decisions left, by backward induction.

    ``V[h]`` is the optimal value with ``h`` steps to go (``V[0] = v_term``, the terminal value, 0
    by default); ``Q[h - 1]`` is Q*_h = R + γ·P V[h − 1], the action values with ``h`` steps to go,
    so ``Q[0] = R`` when ``v_term = 0``; ``policy[h - 1] = argmax_a Q[h - 1]`` over the available
    actions (lowest index on ties; ``Q = −inf`` at unavailable pairs).

    Indexed by steps to go, not by period: QuantEcon's ``backward_induction`` returns ``vs[t] =
    V[H − t]`` and ``sigmas[t] = policy[H − t − 1]`` for the period ``t``, i.e. ``V[::-1]`` and
    ``policy[::-1]``; pymdptoolbox's ``FiniteHorizon`` has ``V[:, t] = V[H − t]`` and
    ``policy[:, t] = policy[H − t − 1]`` (:func:`verify.solve_horizon`).

    Attributes
    ----------
    V : array (H + 1, S)
    Q : array (H, S, A)
    policy : int array (H, S)
    horizon : int
    """

    V: NDArray[np.float64]
    Q: NDArray[np.float64]
    policy: NDArray[np.int64]
    horizon: int


@dataclass(frozen=True, eq=False)
class AverageSolution:
    """The solution of an MDP under the average-reward criterion (:func:`verify.solve_average`).

    The discount ``mdp.gamma`` plays no part. ``(gain, bias)`` solve the multichain optimality
    equations (Puterman 1994, §9.1, eqs. 9.1.1-9.1.2)

        max_a Σ_j P(j|s, a) g(j) − g(s) = 0,
        max_{a ∈ B_s} [r(s, a) + Σ_j P(j|s, a) h(j)] − g(s) − h(s) = 0,   B_s = argmax_a Σ_j P(j|s, a) g(j),

    up to ``residual``.

    Attributes
    ----------
    gain : array (S,)
        Optimal gain g*(s), the long-run average reward from ``s`` (state-dependent when the MDP is
        multichain; 0 at terminal states).
    bias : array (S,)
        The bias h_π = Σ_t (P_π^t − P*_π) r_π (Cesàro sum) of ``policy``: the solution of
        g + h = r_π + P_π h with P*_π h = 0 (Puterman 1994, §8.2). It is the ``h`` of the Laurent
        expansion V_γ^π = g/(1 − γ) + h + O(1 − γ) of that policy's discounted value.
    policy : int array (S,)
        A deterministic stationary gain-optimal policy; it also attains the max in the second
        equation (ties keep the incumbent action of policy iteration).
    iterations : int
        Policy evaluations for ``pi``; HiGHS iterations (plus evaluations) for ``lp``.
    method : str
        ``pi``; ``lp`` when the LP's policy was gain-optimal (policy iteration from it may still
        change actions for the bias); ``lp+pi`` when policy iteration had to raise its gain.
    residual : float
        The largest violation of the two optimality equations by ``(gain, bias)`` (``B_s`` taken
        within a rounding tolerance).
    error_bound : float
        A guaranteed bound on ``max_s |g*(s) − gain(s)|`` (up to rounding): ``gain`` is the gain of
        ``policy``, so gain <= g*, and g*(s) <= the max of r(j, a) + Σ P(·|j, a) h − h(j) over the
        end-component pairs (j, a) reachable from s, tightened by ``U ← min(U, max_a P_a U)``.
        Tight (about ``residual``) when g* is constant (unichain, communicating MDPs) and on most
        multichain ones; loose, never wrong, when a state of a low-gain end component can leave
        it for a better one.
    recurrent_classes : tuple of int arrays
        The closed communicating classes of the chain of ``policy``, each sorted, ordered by their
        smallest state. States in none of them are transient under ``policy``.
    """

    gain: NDArray[np.float64]
    bias: NDArray[np.float64]
    policy: NDArray[np.int64]
    iterations: int
    method: str
    residual: float
    error_bound: float
    recurrent_classes: tuple[NDArray[np.int64], ...]

    @property
    def unichain(self) -> bool:
        """Whether the chain of ``policy`` has a single recurrent class (then its gain is constant)."""
        return len(self.recurrent_classes) == 1
