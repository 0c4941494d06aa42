"""γ = 1: the Bellman problem of an episodic MDP, made a contraction by a change of units.

With γ = 1 and every policy proper (:mod:`tasks.episodic` checks it at construction), the terminal
states have value 0, so their columns drop out of the kernel: ``K₀`` is ``K`` without them, and
``Q = R + K₀ V`` on the non-terminal states. ``K₀`` is substochastic but some of its rows may still
sum to 1 (an action that cannot end the episode in one step), so ``T`` is not a contraction in the
sup norm. It is in a weighted one (Bertsekas & Tsitsiklis 1996, Neuro-Dynamic Programming, Prop.
2.2; Bertsekas 2012, Dynamic Programming and Optimal Control vol. II, §2.1): with ``ξ(s)`` the
largest expected number of steps to termination from ``s`` over all policies,

    ξ(s) = 1 + max_a Σ_s' K₀(s·A + a, s') ξ(s'),    so    Σ_s' K₀(s·A + a, s') ξ(s') <= ξ(s) − 1 <= ρ·ξ(s)

with ``ρ = max_s (ξ(s) − 1)/ξ(s) < 1``, and ``T`` contracts by ``ρ`` in ``||V||_ξ = max_s |V(s)|/ξ(s)``.
The same holds after the diagonal similarity ``D = diag(w)``, ``w = ξ / max ξ``:

    K' = D⁻¹ K₀ D,    R' = D⁻¹ R,    V = D V',    Q(s, a) = w(s)·Q'(s, a),

a problem whose rows sum to at most ρ, i.e. the unequal-row-sum problem an SMDP already is
(:class:`verify.bellman.Problem`), on which every solver and its McQueen–Porteus bounds run
unchanged. Since ``w <= 1``, a bound on ``|V' − V'*|`` bounds ``|V − V*|`` and ``|Q − Q*|`` too:
the solvers' ``tol`` and ``error_bound`` keep their meaning in the MDP's own units.

``ξ`` is computed once, by policy iteration on the reward 1 per step (Howard 1960), each policy
evaluated exactly: LU when dense, pointer doubling when the policy is deterministic and the kernel
sparse, a sparse LU otherwise (above ``DIRECT_SPARSE_MAX`` states BiCGSTAB first, for at most
``KRYLOV_ITERATIONS``: mixing kernels converge fast, and long chains, which do not, factor without
fill-in). Its accuracy only affects the modulus: the row sums of ``K'`` are computed and must be
below 1, which is checked.
"""

from __future__ import annotations

import weakref

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import NDArray

from tasks.mdp import FiniteMDP
from verify.bellman import Kernel, Problem, with_exact_rowsums
from verify.solvers._common import DIRECT_SPARSE_MAX
from verify.solvers._doubling import evaluate_functional, is_functional

__all__ = ["episodic_problem", "expected_steps"]

#: Policy improvements allowed for ξ; policy iteration needs a handful on the benchmark tasks.
MAX_IMPROVEMENTS = 1_000

#: Iterations of BiCGSTAB for one evaluation of ξ above ``DIRECT_SPARSE_MAX`` states before a sparse LU.
KRYLOV_ITERATIONS = 300

_CACHE: weakref.WeakKeyDictionary[FiniteMDP, Problem] = weakref.WeakKeyDictionary()


def _drop_columns(K: Kernel, keep: NDArray[np.float64], row_scale: NDArray[np.float64]) -> Kernel:
    """``diag(row_scale) · K · diag(keep)`` as a new array (dense) or CSR without explicit zeros."""
    if isinstance(K, np.ndarray):
        return K * keep[None, :] * row_scale[:, None]
    K = sp.csr_array(K)
    rows = np.repeat(np.arange(K.shape[0]), np.diff(K.indptr))
    out = sp.csr_array((K.data * keep[K.indices] * row_scale[rows], K.indices.copy(), K.indptr.copy()), shape=K.shape)
    out.eliminate_zeros()
    return out


def _steps_of_policy(K_pi: Kernel, live: NDArray[np.float64], x0: NDArray[np.float64]) -> NDArray[np.float64]:
    """The expected steps to termination of a proper policy: ``(I − K₀π) x = 1`` on the live states."""
    S = live.shape[0]
    if isinstance(K_pi, np.ndarray):
        A = -K_pi
        A.flat[:: S + 1] += 1.0
        return np.asarray(np.linalg.solve(A, live), dtype=np.float64)
    K_pi = sp.csr_array(K_pi)
    if is_functional(K_pi):
        return evaluate_functional(K_pi, live, 1.0)
    A = sp.csr_array(sp.identity(S, format="csr") - K_pi)
    if S > DIRECT_SPARSE_MAX:
        # Mixing kernels converge in tens of iterations; long chains do not, but their LU has no fill-in.
        x, info = spla.bicgstab(A, live, x0=x0, rtol=1e-11, maxiter=KRYLOV_ITERATIONS)
        if info == 0 and np.isfinite(x).all():
            return np.asarray(x)
    return np.asarray(spla.splu(A.tocsc()).solve(live))


def expected_steps(K0: Kernel, available: NDArray[np.bool_], live: NDArray[np.bool_]) -> NDArray[np.float64]:
    """``ξ(s) = max_π E_π[steps before termination from s]`` (module docstring); 1 at terminal states.

    Parameters
    ----------
    K0 : array or CSR (S·A, S)
        The kernel without the terminal columns (terminal rows are then empty).
    available : bool array (S, A)
    live : bool array (S,)
        The non-terminal states.
    """
    S, A = available.shape
    one = live.astype(np.float64)
    r = np.where(available, one[:, None], -np.inf)
    states = np.arange(S)
    policy = np.argmax(available, axis=1)
    x = np.zeros(S)
    for _ in range(MAX_IMPROVEMENTS):
        rows = states * A + policy
        K_pi = np.take(K0, rows, axis=0) if isinstance(K0, np.ndarray) else sp.csr_array(K0[rows])
        x = _steps_of_policy(K_pi, one, x)
        Q = r + np.asarray(K0 @ x).reshape(S, A)
        best = np.argmax(Q, axis=1)
        improve = Q[states, best] > Q[states, policy] + 1e-9 * (1.0 + np.abs(x))  # above Krylov's noise
        if not improve.any():
            break
        policy = np.where(improve, best, policy)
    xi = Q.max(axis=1)  # one more Bellman step: a supersolution up to rounding, whatever the evaluation's accuracy
    xi[~live] = 1.0
    return np.maximum(xi, 1.0)


def episodic_problem(mdp: FiniteMDP, R: NDArray[np.float64]) -> Problem:
    """The γ = 1 problem of a proper MDP in the units ``w = ξ / max ξ`` (module docstring); cached per MDP.

    ``R`` is the MDP's reward with ``−inf`` at unavailable pairs. Its ``weights`` are ``w``: a
    solver's ``V'``, ``Q'`` are ``V / w``, ``Q / w`` (:meth:`verify.bellman.Certificate.in_mdp_units`).
    """
    cached = _CACHE.get(mdp)
    if cached is not None:
        return cached
    S, A = mdp.n_states, mdp.n_actions
    live = ~np.asarray(mdp.terminal)
    available = np.asarray(mdp.available)
    K0 = _drop_columns(mdp.kernel, live.astype(np.float64), np.ones(S * A))
    xi = expected_steps(K0, available, live)
    w = xi / xi.max()
    K = _drop_columns(mdp.kernel, np.where(live, w, 0.0), np.repeat(1.0 / w, A))
    try:
        problem = with_exact_rowsums(Problem(R / w[:, None], K, 1.0, 0.0, 1.0, weights=w))
    except ValueError as err:
        raise ValueError(
            f"gamma = 1: a policy may take up to {xi.max():.6g} expected steps to end, too many to certify a "
            "contraction in floating point (the weighted modulus 1 − 1/ξ rounds to 1). Use gamma < 1."
        ) from err
    _CACHE[mdp] = problem
    return problem
