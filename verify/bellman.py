"""The Bellman core on the (S·A, S) kernel, shared by every solver.

A discounted decision problem is ``(R, K, β)``: ``R`` (S, A) rewards, ``K`` the (S·A, S)
nonnegative kernel with row ``s·A + a`` (dense ndarray or CSR) and ``β`` a discount. The Bellman
operator is

    (T V)(s) = max_a Q_V(s, a),    Q_V = R + β·K V           (Puterman 1994, eq. 6.2.2)

For an MDP, ``K = P`` and ``β = γ``. A semi-MDP of options plugs in with its discounted kernel
``M[s, o, s'] = E[γ^τ 1{s_τ = s'}]`` and ``β = 1`` (Sutton, Precup & Singh 1999, eq. 8), so the
contraction modulus is not assumed to be γ: it is ``g = β·max_row Σ_s' K`` (row sums of ``M`` are
``E[γ^τ] < 1``).

Error bounds (McQueen 1966; Porteus 1971; Puterman 1994 §6.6.3). ``T`` is monotone and, for a
scalar ``x``, ``T(V + x) − TV`` lies between ``g_lo·x`` and ``g_hi·x`` (``g_lo``, ``g_hi`` the
smallest and largest ``β``-scaled row sums). With ``d = TV − V``, ``m = min d``, ``M = max d``,
summing the geometric series gives

    m·g_m / (1 − g_m)  <=  V* − TV  <=  M·g_M / (1 − g_M)

with ``g_m = g_lo`` if ``m >= 0`` else ``g_hi`` and ``g_M = g_hi`` if ``M >= 0`` else ``g_lo``. The
midpoint is the estimate of V*, the half-width its guaranteed sup-norm error: never larger than the
textbook ``g/(1 − g)·||TV − V||`` and far smaller when ``d`` is nearly constant. The same bound
holds for a policy's operator ``T_π`` and its value ``V^π``.

Action sets: an unavailable pair carries ``R = −inf`` (so ``Q = −inf``, never a greedy choice).
Episodic MDPs at γ = 1 enter as the same kind of unequal-row-sum problem, after a change of units
(:func:`problem_from_mdp`, :mod:`verify.episodic`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import NamedTuple, TypeAlias

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from tasks.mdp import ROW_SUM_TOL, FiniteMDP

__all__ = [
    "Certificate",
    "Problem",
    "certify",
    "discounted_problem",
    "greedy",
    "mcqueen_offsets",
    "policy_kernel",
    "problem_from_mdp",
    "q_values",
    "row_length",
    "stated_problem",
    "to_mdp_units",
    "with_exact_rowsums",
]

Kernel: TypeAlias = NDArray[np.float64] | sp.csr_array | sp.csr_matrix

_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True, eq=False)
class Problem:
    """A discounted decision problem ``Q = R + β·K V`` on the (S·A, S) kernel.

    Attributes
    ----------
    R : array (S, A)
    K : array or CSR (S·A, S), nonnegative, rows s-major.
    beta : float
        Discount applied to ``K`` (γ for an MDP, 1 for an SMDP's discounted kernel).
    rowsum_lo, rowsum_hi : float
        Bounds on the row sums of ``K``; ``g_lo = β·rowsum_lo`` and ``g_hi = β·rowsum_hi``.
    rowsums : array (S·A,) or None
        The exact row sums when known; ``None`` means "1 within ``rowsum_lo..hi``" (an MDP).
    weights : array (S,) or None
        ``None`` for a problem in the MDP's own units. For an episodic MDP at γ = 1, the units
        ``w = ξ / max ξ`` of its weighted-norm contraction (:mod:`verify.episodic`): the MDP's values
        are ``V = w·V'`` and ``Q(s, a) = w(s)·Q'(s, a)`` (:meth:`Certificate.in_mdp_units`).

    Notes
    -----
    An action that is not available in a state (``FiniteMDP.available``) has ``R[s, a] = −inf``
    here, so ``Q[s, a] = −inf``: no greedy step, certificate or policy ever picks it, and the row of
    ``K`` it would use is ignored by ``rowsum_lo``/``rowsum_hi``.
    """

    R: NDArray[np.float64]
    K: Kernel
    beta: float
    rowsum_lo: float
    rowsum_hi: float
    rowsums: NDArray[np.float64] | None = None
    weights: NDArray[np.float64] | None = None

    @property
    def n_states(self) -> int:
        return int(self.R.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.R.shape[1])

    @property
    def is_sparse(self) -> bool:
        return not isinstance(self.K, np.ndarray)

    @property
    def uniform_rows(self) -> bool:
        """Whether every row of ``K`` sums to the same value (an MDP): then McQueen extrapolation,
        ``V ← TV + midpoint``, removes the constant mode exactly and is safe to iterate; with
        unequal row sums (an SMDP) it may expand, so iterates are left unshifted."""
        return self.rowsum_hi - self.rowsum_lo <= 1e-6

    @cached_property
    def r_max(self) -> float:
        """``max|R|`` over the available pairs, computed once (the rounding allowance of every certificate uses it)."""
        r = float(np.abs(self.R).max(initial=0.0))
        return r if np.isfinite(r) else float(np.abs(self.R[np.isfinite(self.R)]).max(initial=0.0))

    @property
    def g_lo(self) -> float:
        return self.beta * self.rowsum_lo

    @property
    def g_hi(self) -> float:
        """The contraction modulus ``β·max_row Σ K`` (an upper bound on it)."""
        return self.beta * self.rowsum_hi


def _check_mdp(mdp: object) -> FiniteMDP:
    if not isinstance(mdp, FiniteMDP):
        raise TypeError(
            f"mdp must be a tasks.FiniteMDP; got {type(mdp).__name__}. Build one with tasks.FiniteMDP(P, R, gamma)."
        )
    return mdp


def _masked_rewards(mdp: FiniteMDP) -> NDArray[np.float64]:
    """``R`` with ``−inf`` at the pairs that are not available (the MDP's own array when all are)."""
    available = np.asarray(mdp.available)
    return mdp.R if available.all() else np.where(available, mdp.R, -np.inf)


def stated_problem(mdp: FiniteMDP, gamma: float | None = None) -> Problem:
    """The MDP's Bellman problem as stated, ``K = P`` and ``β = γ`` (or ``gamma``), with no contraction check.

    For finite-horizon backward induction, which needs none (any γ in [0, 1]); the infinite-horizon
    solvers use :func:`problem_from_mdp`.
    """
    beta = float(_check_mdp(mdp).gamma if gamma is None else gamma)
    problem = Problem(_masked_rewards(mdp), mdp.kernel, beta, *_rowsum_range(mdp))
    return with_exact_rowsums(problem) if mdp.substochastic else problem


def _rowsum_range(mdp: FiniteMDP) -> tuple[float, float]:
    """Bounds on the kernel's row sums known without a pass over it: ``1 ± ROW_SUM_TOL``, or [0, 1] for a semi-MDP."""
    return (0.0, 1.0 + ROW_SUM_TOL) if mdp.substochastic else (1.0 - ROW_SUM_TOL, 1.0 + ROW_SUM_TOL)


def problem_from_mdp(mdp: FiniteMDP) -> Problem:
    """The Bellman problem of an MDP, with a contraction modulus below 1.

    γ < 1: ``K = P`` (validated rows sum to 1 within ``ROW_SUM_TOL``) and ``β = γ``, in the MDP's
    units (``weights = None``). A semi-MDP (``mdp.substochastic``, :func:`tasks.options_mdp`) has
    rows summing to ``E[γ^(τ−1)] <= 1``: its row sums are measured (one pass), so that the
    McQueen–Porteus bounds use the real range of ``γ·K``'s row sums.

    γ = 1 (an episodic MDP, every policy proper, checked by ``FiniteMDP``): the terminal states'
    columns are dropped (their value is 0) and the problem is put in the units ``w = ξ / max ξ``
    of its weighted sup-norm contraction, ``ξ(s)`` the largest expected number of steps to
    termination from ``s`` (Bertsekas & Tsitsiklis 1996, Neuro-Dynamic Programming, Prop. 2.2;
    Bertsekas 2012, DP and Optimal Control vol. II, §2.1): ``K' = D⁻¹ K₀ D``, ``R' = D⁻¹ R`` with
    ``D = diag(w)``. Its rows sum to at most ``ρ = max (ξ − 1)/ξ < 1``, so every solver and its
    McQueen–Porteus bound apply as for an SMDP's unequal row sums; the solution returns to the MDP's
    units by ``V = w·V'`` (:meth:`Certificate.in_mdp_units`), and since ``w <= 1`` the bound in the
    problem's units bounds the MDP's error too. ``ξ`` is computed once per MDP, by policy
    iteration on the reward 1 per step (:mod:`verify.episodic`), and the modulus is then measured
    from the row sums of ``K'``, so that an inexact ``ξ`` costs tightness, never validity.

    Unavailable pairs have ``R = −inf`` (:class:`Problem`).
    """
    R = _masked_rewards(_check_mdp(mdp))
    if mdp.gamma == 1.0:
        from verify.episodic import episodic_problem  # verify.episodic imports the solvers, which import this module

        return episodic_problem(mdp, R)
    problem = Problem(R, mdp.kernel, float(mdp.gamma), *_rowsum_range(mdp))
    if problem.g_hi >= 1.0 or mdp.substochastic:
        return with_exact_rowsums(problem)
    return problem


def _rowsums(K: Kernel) -> NDArray[np.float64]:
    return np.asarray(K @ np.ones(K.shape[1])).ravel()


def with_exact_rowsums(problem: Problem) -> Problem:
    """The same problem with the row sums of ``K`` computed (one pass over ``K``), for tight bounds.

    ``rowsum_lo``/``rowsum_hi`` range over the rows of available pairs (finite ``R``) only.
    """
    if problem.rowsums is not None:
        return problem
    rs = _rowsums(problem.K)
    available = np.isfinite(problem.R.ravel())
    used = rs if available.all() else rs[available]
    # The computed sums carry rounding of a few ulps; widen the range by that much.
    slack = 4 * _EPS * max(1.0, float(used.max(initial=0.0)))
    lo, hi = max(0.0, float(used.min()) - slack), float(used.max()) + slack
    out = replace(problem, rowsums=rs, rowsum_lo=lo, rowsum_hi=hi)
    if out.g_hi >= 1.0:
        raise ValueError(
            f"the contraction modulus beta * max row sum of K = {out.g_hi!r} is not below 1; the Bellman "
            "operator is not a contraction. Use a discount beta < 1 or a kernel whose rows sum to less than 1/beta."
        )
    return out


def discounted_problem(R: NDArray[np.float64], K: Kernel, beta: float = 1.0) -> Problem:
    """A problem from a discounted kernel, e.g. an SMDP's ``M[s·A + o, s'] = E[γ^τ 1{s_τ = s'}]`` with ``β = 1``.

    Parameters
    ----------
    R : array (S, A)
        Expected discounted reward of each (state, option).
    K : array or CSR (S·A, S)
        Nonnegative kernel; its row sums times ``beta`` must stay below 1.
    beta : float
        Extra discount on ``K`` (default 1).
    """
    R = np.ascontiguousarray(R, dtype=np.float64)
    if R.ndim != 2:
        raise ValueError(f"R must have shape (S, A); got shape {R.shape}.")
    S, A = R.shape
    if sp.issparse(K):
        K = sp.csr_array(K, dtype=np.float64)
        negative = K.data.size > 0 and float(K.data.min()) < 0
    else:
        K = np.ascontiguousarray(K, dtype=np.float64)
        if K.ndim == 3:
            K = K.reshape(S * A, -1)
        negative = bool((K < 0).any())
    if K.shape != (S * A, S):
        raise ValueError(f"K has shape {K.shape}; it must be (S·A, S) = {(S * A, S)} to match R {R.shape}.")
    if negative:
        raise ValueError("K has a negative entry; a discounted kernel is nonnegative.")
    if not (np.isfinite(beta) and beta >= 0):
        raise ValueError(f"beta must be a finite number >= 0; got {beta!r}.")
    return with_exact_rowsums(Problem(R, K, float(beta), 0.0, 1.0))


def q_values(problem: Problem, V: NDArray[np.float64]) -> NDArray[np.float64]:
    """``Q_V = R + β·K V`` as an (S, A) array: one pass over ``K`` (a GEMV, or scipy's CSR matvec)."""
    KV = problem.K @ V
    KV *= problem.beta
    Q = KV.reshape(problem.n_states, problem.n_actions)
    Q += problem.R
    return Q


def greedy(Q: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """``(max_a Q, argmax_a Q)``; ties go to the lowest action index."""
    S, A = Q.shape
    if A > 16 or A == 1 or S * A <= 4096:
        # Small Q (FrozenLake, the paper's tasks): two numpy calls beat the column loop below.
        policy = np.argmax(Q, axis=1)
        return Q.reshape(-1)[np.arange(S) * A + policy], policy
    # numpy's reductions along a short last axis are slow (~20 ns per row), and so is every
    # elementwise op on a strided column; one transposed copy makes the A columns contiguous.
    QT = np.ascontiguousarray(Q.T)
    V = QT[0].copy()
    for a in range(1, A):
        np.maximum(V, QT[a], out=V)
    # The lowest index attaining the max: scan the columns downwards, the last match wins. Arithmetic
    # on int8, not a boolean-mask store (np.where/putmask on random masks are ~10x slower).
    policy8 = np.full(S, A - 1, dtype=np.int8)
    hit = np.empty(S, dtype=np.bool_)
    for a in range(A - 2, -1, -1):
        np.equal(QT[a], V, out=hit)
        policy8 -= hit * (policy8 - a)
    return V, policy8.astype(np.int64)


def mcqueen_offsets(d: NDArray[np.float64], g_lo: float, g_hi: float) -> tuple[float, float]:
    """Bounds ``(lo, hi)`` with ``lo <= V* − TV <= hi`` elementwise, from ``d = TV − V`` (module docstring)."""
    return _offsets(float(d.min()), float(d.max()), g_lo, g_hi)


def _offsets(m: float, M: float, g_lo: float, g_hi: float) -> tuple[float, float]:
    g_m = g_lo if m >= 0 else g_hi
    g_M = g_hi if M >= 0 else g_lo
    return m * g_m / (1.0 - g_m), M * g_M / (1.0 - g_M)


class Certificate(NamedTuple):
    """What one Bellman sweep proves about V* (see :func:`certify`)."""

    V: NDArray[np.float64]
    Q: NDArray[np.float64]
    policy: NDArray[np.int64]
    error_bound: float
    rounding: float
    rowsum_slack: float
    TV: NDArray[np.float64]
    residual: float
    weights: NDArray[np.float64] | None = None

    def in_mdp_units(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(V̂, Q̂)`` in the MDP's units: ``w·V̂`` and ``w(s)·Q̂(s, a)`` for a γ = 1 problem (:class:`Problem`).

        ``error_bound`` needs no conversion: ``w <= 1``.
        """
        if self.weights is None:
            return self.V, self.Q
        return self.V * self.weights, self.Q * self.weights[:, None]


def to_mdp_units(problem: Problem, V: NDArray[np.float64]) -> NDArray[np.float64]:
    """Values of ``problem`` in the MDP's units: ``w·V`` for a γ = 1 problem, ``V`` itself otherwise."""
    return V if problem.weights is None else V * problem.weights


def certify(problem: Problem, V: NDArray[np.float64], Q_V: NDArray[np.float64]) -> Certificate:
    """Estimates of V*, Q* and a guaranteed bound on both errors, from ``V`` and ``Q_V = R + β K V``.

    ``V̂ = TV + (lo + hi)/2`` with ``|V̂ − V*| <= (hi − lo)/2`` (McQueen–Porteus). With ``s`` the
    midpoint of ``d`` plus that shift, ``Q̂ = Q_V + β·s·rowsum(K)`` equals ``R + β K V̂`` up to
    ``g_hi·span(d)/2`` (``+ β|s|·max|rowsum − 1|`` when the row sums are only known to be ≈ 1), and
    ``|Q* − R − βKV̂| <= g_hi·|V* − V̂|``. The returned bound covers both ``V̂`` and ``Q̂``, plus a
    rounding allowance ``2ε(|R| + |V|)/(1 − g_hi)`` for the floating-point residual.
    """
    TV, policy = greedy(Q_V)
    d = TV - V
    g_lo, g_hi = problem.g_lo, problem.g_hi
    m, M = float(d.min()), float(d.max())
    lo, hi = _offsets(m, M, g_lo, g_hi)
    shift = 0.5 * (lo + hi)
    V_hat = TV + shift
    s = 0.5 * (m + M) + shift
    if problem.rowsums is None:
        Q_hat = Q_V + problem.beta * s
        dev = max(problem.rowsum_hi - 1.0, 1.0 - problem.rowsum_lo)
    else:
        Q_hat = Q_V + (problem.beta * s) * problem.rowsums.reshape(Q_V.shape)
        dev = 0.0
    bound_V = 0.5 * (hi - lo)
    bound_Q = g_hi * (bound_V + 0.5 * (M - m)) + problem.beta * abs(s) * dev
    scale = problem.r_max + float(np.abs(V_hat).max())
    rounding = 2.0 * _EPS * scale / (1.0 - g_hi)
    bound = max(bound_V, bound_Q) + rounding
    # What the "row sums are 1 within ROW_SUM_TOL" assumption alone adds to the bound.
    slack = 0.0
    if problem.rowsums is None:
        lo_1, hi_1 = _offsets(m, M, problem.beta, problem.beta)
        slack = max(0.0, bound_V - 0.5 * (hi_1 - lo_1)) + problem.beta * abs(s) * dev
    return Certificate(V_hat, Q_hat, policy, bound, rounding, slack, TV, float(np.abs(d).max()), problem.weights)


def row_length(K: Kernel) -> int | None:
    """``k`` when every row of a CSR ``K`` stores exactly ``k`` entries (random kernels), else ``None``."""
    if isinstance(K, np.ndarray) or K.shape[0] == 0 or K.nnz == 0 or K.nnz % K.shape[0]:
        return None
    k = K.nnz // K.shape[0]
    return k if np.array_equal(K.indptr, np.arange(0, K.nnz + 1, k)) else None


def policy_kernel(problem: Problem, policy: NDArray[np.int64]) -> tuple[Kernel, NDArray[np.float64]]:
    """``(K_π, R_π)`` of a deterministic policy: the rows ``s·A + π(s)`` of ``K`` and ``R[s, π(s)]``."""
    S, A = problem.n_states, problem.n_actions
    rows = np.arange(S) * A + policy
    K = problem.K
    K_pi = np.take(K, rows, axis=0) if isinstance(K, np.ndarray) else sp.csr_array(K[rows])
    return K_pi, problem.R[np.arange(S), policy]
