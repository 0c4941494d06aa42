"""Helpers shared by the solvers: tolerance checks, policy evaluation kernels, the final record."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import NDArray
from scipy.linalg import lapack

from verify.bellman import Certificate, Kernel, Problem, certify, with_exact_rowsums
from verify.solution import ConvergenceWarning, Solution
from verify.solvers._doubling import evaluate_functional, is_functional
from verify.solvers._policy import sweep_policy

_EPS = float(np.finfo(np.float64).eps)

__all__ = ["at_floor", "check", "finish", "solve_policy_system"]

#: Above this many states a sparse direct factorisation is not attempted (fill-in on random sparsity).
DIRECT_SPARSE_MAX = 20_000

#: Dense policy systems with more states than this try McQueen-extrapolated sweeps before an LU.
DENSE_LU_MAX = 500


def check(
    problem: Problem, V: NDArray[np.float64], Q_V: NDArray[np.float64], tol: float
) -> tuple[Certificate, Problem]:
    """:func:`certify`, tightened with exact row sums when the ≈1 row-sum assumption alone misses ``tol``."""
    cert = certify(problem, V, Q_V)
    if cert.error_bound > tol and problem.rowsums is None and cert.error_bound - cert.rowsum_slack <= tol:
        problem = with_exact_rowsums(problem)
        cert = certify(problem, V, Q_V)
    if not np.isfinite(cert.error_bound):
        raise FloatingPointError(
            "the Bellman residual is not finite: the iteration diverged or the rewards overflow; "
            f"contraction modulus {problem.g_hi!r}. Check R for huge values."
        )
    return cert, problem


def at_floor(cert: Certificate) -> bool:
    """Whether the bound is dominated by rounding: further iterations cannot certify less."""
    return cert.error_bound <= 4.0 * cert.rounding


def finish(cert: Certificate, iterations: int, method: str, tol: float, *, capped: bool) -> Solution:
    """The :class:`Solution` of a certificate; warns when ``tol`` was not met, saying what was reached."""
    if cert.error_bound > tol:
        why = "hit its iteration cap" if capped else "reached the floating-point floor of this problem"
        advice = "loosen tol, or use method='pi' (exact evaluation)" if capped and method != "pi" else "loosen tol"
        warnings.warn(
            f"solve(method={method!r}) {why} after {iterations} iterations with a guaranteed error bound "
            f"{cert.error_bound:.3g} > tol = {tol:.3g}; the returned values are within that bound. To meet tol, "
            f"{advice} (the rounding floor here is about {cert.rounding:.3g}).",
            ConvergenceWarning,
            stacklevel=4,
        )
    V, Q = cert.in_mdp_units()
    return Solution(V, Q, cert.policy.astype(np.int64), int(iterations), float(cert.error_bound), method)


def solve_policy_system(
    K_pi: Kernel, R_pi: NDArray[np.float64], problem: Problem, V0: NDArray[np.float64] | None, target: float
) -> NDArray[np.float64]:
    """Solve ``(I − β K_π) V = R_π``.

    Dense: LU (LAPACK ``dgesv`` on a Fortran-ordered copy, no other copy or check); above
    ``DENSE_LU_MAX`` states, McQueen-extrapolated sweeps first (:func:`_solve_dense`). Sparse
    with at most one entry per row (a deterministic policy): exact pointer doubling in
    O(S·log(1/(1 − γ))) (:func:`evaluate_functional`), where Krylov methods would need
    ~1/(1 − γ) iterations on a long cycle. Other sparse: BiCGSTAB warm-started at ``V0``, kept
    when its residual ``max|R_π − (I − β K_π) V|`` is at most ``target·(1 − g)`` (so
    ``|V − V^π|_∞ <= target``) or at the rounding floor of the residual, ``16ε·(max|R_π| +
    2·max|V|)``, below which no method (a direct solve included) can push it; then GMRES, then a
    direct ``splu`` for at most ``DIRECT_SPARSE_MAX`` states, then McQueen-extrapolated sweeps
    (always convergent, a contraction). A blind ``spsolve`` on random sparsity fills in and is never used.
    """
    S = R_pi.shape[0]
    beta = problem.beta
    if isinstance(K_pi, np.ndarray):
        return _solve_dense(K_pi, R_pi, problem, V0, target)
    K_pi = sp.csr_array(K_pi)
    if is_functional(K_pi):
        return evaluate_functional(K_pi, R_pi, beta)
    op = spla.LinearOperator((S, S), matvec=lambda x: x - beta * (K_pi @ x), dtype=np.float64)
    atol = max(target * (1.0 - problem.g_hi), 1e-300)
    x0 = np.zeros(S) if V0 is None else V0

    r_max = float(np.abs(R_pi).max(initial=0.0))

    def good(x: NDArray[np.float64]) -> bool:
        if not np.all(np.isfinite(x)):
            return False
        floor = 16.0 * _EPS * (r_max + 2.0 * float(np.abs(x).max(initial=0.0)))
        return float(np.abs(R_pi - op.matvec(x)).max()) <= max(atol, floor)

    x, _ = spla.bicgstab(op, R_pi, x0=x0, rtol=0.0, atol=atol, maxiter=10 * int(np.sqrt(S)) + 200)
    if good(x):
        return x
    x, _ = spla.gmres(op, R_pi, x0=x0, rtol=0.0, atol=atol, restart=50, maxiter=50)
    if good(x):
        return x
    if S <= DIRECT_SPARSE_MAX:
        A = (sp.identity(S, format="csc") - beta * K_pi).tocsc()
        return np.asarray(spla.splu(A).solve(R_pi))
    V, _, _ = sweep_policy(K_pi, R_pi, problem, x0, target, max_sweeps=100_000)
    return V


def _solve_dense(
    K_pi: NDArray[np.float64],
    R_pi: NDArray[np.float64],
    problem: Problem,
    V0: NDArray[np.float64] | None,
    target: float,
) -> NDArray[np.float64]:
    """``(I − β K_π)^{-1} R_π`` for a dense ``K_π``: sweeps when they are cheaper, else an LU.

    An LU costs ``(2/3)·S³`` flops, a sweep ``2·S²`` flops read from memory: about ``S/24`` sweeps
    per LU. Above ``DENSE_LU_MAX`` states, up to ``S/48`` McQueen-extrapolated sweeps
    (:func:`~verify.solvers._policy.sweep_policy`) are tried first, at most half an LU: a mixing
    kernel (random dense ones, the fixed points' selections) is done in a few; a slowly mixing
    one falls through to the LU having lost at most that half.
    """
    S = R_pi.shape[0]
    if S > DENSE_LU_MAX:
        start = np.zeros(S) if V0 is None else V0
        V, bound, _ = sweep_policy(K_pi, R_pi, problem, start, target, max_sweeps=S // 48)
        if bound <= target:
            return V
    M = np.multiply(K_pi, -problem.beta, order="F")  # LAPACK's layout: dgesv then works in place
    M.T.reshape(-1)[:: S + 1] += 1.0  # the diagonal, through a flat view
    _, _, V, info = lapack.dgesv(M, R_pi, overwrite_a=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"I − β·K_π is singular (LAPACK dgesv info = {info}); β·K_π has a unit eigenvalue.")
    return np.asarray(V, dtype=np.float64)
