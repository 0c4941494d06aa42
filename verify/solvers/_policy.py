"""The kernel of the current policy, kept up to date across policy changes, and its evaluation sweeps."""

from __future__ import annotations

from typing import cast

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from verify.bellman import Kernel, Problem, policy_kernel, row_length

__all__ = ["PolicyKernel", "sweep_floor", "sweep_policy"]

_EPS = float(np.finfo(np.float64).eps)


class PolicyKernel:
    """``(K_π, R_π)``: the rows ``s·A + π(s)`` of ``K`` for the current policy ``π``.

    :meth:`update` re-gathers only the rows whose action changed, in place: a dense ``K_π`` row
    by row, a CSR one through its (S, k) data and index blocks when every row of ``K`` stores the
    same number ``k`` of entries (random kernels); other CSR kernels are re-gathered whole.
    """

    def __init__(self, problem: Problem, policy: NDArray[np.int64]) -> None:
        self._problem = problem
        self._k = row_length(problem.K)
        # policy_kernel gathers new arrays (np.take, fancy indexing): owned and writeable, no copy needed.
        self.K_pi: Kernel
        self.K_pi, self.R_pi = policy_kernel(problem, policy)
        self.policy = np.array(policy, dtype=np.int64)

    def update(self, policy: NDArray[np.int64]) -> int:
        """Switch to ``policy``; returns the number of states whose action changed."""
        problem = self._problem
        S, A = problem.n_states, problem.n_actions
        changed = np.flatnonzero(policy != self.policy)
        if changed.size == 0:
            return 0
        rows = changed * A + policy[changed]
        if isinstance(self.K_pi, np.ndarray):
            self.K_pi[changed] = np.take(problem.K, rows, axis=0)
        elif self._k is not None:
            # K_π's data and indices are (S, k) blocks, like K's: update the changed rows in place.
            k = self._k
            K, K_pi = cast(sp.csr_array, problem.K), cast(sp.csr_array, self.K_pi)
            K_pi.data.reshape(S, k)[changed] = K.data.reshape(-1, k)[rows]
            K_pi.indices.reshape(S, k)[changed] = K.indices.reshape(-1, k)[rows]
        else:
            self.K_pi, _ = policy_kernel(problem, policy)
        self.R_pi[changed] = problem.R[changed, policy[changed]]
        self.policy[changed] = policy[changed]
        return int(changed.size)


def sweep_floor(R_pi: NDArray[np.float64], V: NDArray[np.float64], g_hi: float) -> float:
    """The rounding floor of the McQueen bound of a policy sweep: sweeps cannot certify less."""
    return 8.0 * _EPS * (float(np.abs(R_pi).max(initial=0.0)) + float(np.abs(V).max(initial=0.0))) / (1.0 - g_hi)


def sweep_policy(
    K_pi: Kernel, R_pi: NDArray[np.float64], problem: Problem, V: NDArray[np.float64], target: float, max_sweeps: int
) -> tuple[NDArray[np.float64], float, int]:
    """Iterate ``V ← R_π + β K_π V`` until the McQueen bound on ``|V − V^π|`` is at most ``target``.

    With ``d = T_π V − V`` the bound brackets ``V^π − T_π V`` in ``[lo, hi]`` (:mod:`verify.bellman`);
    each iterate is shifted by the midpoint (McQueen extrapolation), which removes the constant
    mode that contracts only at the rate β. Kernels with unequal row sums (an SMDP) keep the plain
    iterate and the one-sided bound ``max(|lo|, |hi|)``. ``target`` is raised to the rounding
    floor of the residual (:func:`sweep_floor`), below which more sweeps cannot shrink the bound.

    Returns ``(V, bound on |V − V^π|, sweeps)``; the caller's ``V`` is never written.
    """
    beta, g_lo, g_hi = problem.beta, problem.g_lo, problem.g_hi
    target = max(target, sweep_floor(R_pi, V, g_hi))
    extrapolate = problem.uniform_rows
    d = np.empty_like(V)
    TV, bound = V, np.inf
    for n in range(1, max_sweeps + 1):
        TV = K_pi @ V
        TV *= beta
        TV += R_pi
        np.subtract(TV, V, out=d)
        m, M = float(d.min()), float(d.max())
        g_m = g_lo if m >= 0 else g_hi
        g_M = g_hi if M >= 0 else g_lo
        lo, hi = m * g_m / (1.0 - g_m), M * g_M / (1.0 - g_M)
        if extrapolate:
            TV += 0.5 * (lo + hi)
        bound = 0.5 * (hi - lo) if extrapolate else max(abs(lo), abs(hi))
        if bound <= target:
            return TV, bound, n
        V = TV
    return TV, bound, max_sweeps
