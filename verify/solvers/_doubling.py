"""Exact evaluation of a policy whose kernel has at most one entry per row, by pointer doubling."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

__all__ = ["doubling_rounds", "evaluate_functional", "is_functional"]

_EPS = float(np.finfo(np.float64).eps)


def doubling_rounds(g: float) -> int:
    """Rounds of pointer doubling until ``g^(2^rounds)`` is below machine epsilon (at least 1)."""
    if not 0.0 < g < 1.0 or g <= _EPS:
        return 1
    return max(1, math.ceil(math.log2(math.log(_EPS) / math.log(g))))


def is_functional(K_pi: object) -> bool:
    """Whether ``K_π`` is a CSR matrix with at most one stored entry per row (a deterministic policy kernel)."""
    if not isinstance(K_pi, sp.csr_array | sp.csr_matrix) or K_pi.shape[0] != K_pi.shape[1]:
        return False
    return K_pi.nnz <= K_pi.shape[0] and bool((np.diff(K_pi.indptr) <= 1).all())


def evaluate_functional(
    K_pi: sp.csr_array | sp.csr_matrix, R_pi: NDArray[np.float64], beta: float
) -> NDArray[np.float64]:
    """``V = (I − β K_π)^{-1} R_π`` when each row of ``K_π`` has at most one entry (:func:`is_functional`).

    Then ``V(s) = R_π(s) + c(s)·V(σ(s))`` with ``σ(s)`` the one successor and ``c(s) = β·K_π[s, σ(s)]``
    (``c = 0`` for an empty row): the policy's graph is functional, cycles with trees hanging on them.
    Pointer doubling (Wyllie 1979; the "path doubling" of parallel prefix sums) keeps the invariant
    ``V = a + c·V∘σ`` and squares the map each round:

        a ← a + c·a∘σ,    c ← c·c∘σ,    σ ← σ∘σ,

    so after ``j`` rounds ``a`` sums the first ``2^j`` discounted rewards along every path and
    ``c <= g^(2^j)`` with ``g = β·max K_π``. It stops when ``c`` is below machine epsilon, about
    ``log2(log ε / log g)`` rounds (16 at g = 0.999), each O(S): exact to rounding at any γ, where
    sweeps and Krylov methods need ``~ 1/(1 − γ)`` steps on a long cycle (no mixing to exploit).

    With ``g = 1`` (γ = 1, an episodic policy) the system is solvable when no path enters a cycle of
    weight 1: a path that ends at an empty row (a terminal state) does so within ``S`` steps, so ``c``
    is exactly 0 there after ``ceil(log2 S)`` rounds; a cycle of weight 1 (an improper policy) raises
    ``ValueError``.
    """
    S = R_pi.shape[0]
    counts = np.diff(K_pi.indptr)
    sigma = np.arange(S)
    c = np.zeros(S)
    has = counts > 0
    sigma[has] = K_pi.indices[K_pi.indptr[:-1][has]]
    c[has] = beta * K_pi.data[K_pi.indptr[:-1][has]]
    a = np.array(R_pi, dtype=np.float64)
    g = float(c.max(initial=0.0))
    if g <= 0.0:
        return a
    if g > 1.0:
        raise ValueError(f"the policy's discounted kernel has an entry beta * K = {g!r} > 1; it is not a contraction.")
    if g < 1.0:
        for _ in range(doubling_rounds(g)):
            a += c * a[sigma]
            c *= c[sigma]
            sigma = sigma[sigma]
    else:
        # Paths that end do so within S steps; cycles of weight w < 1 then need log2(log ε / log w) more rounds.
        for _ in range(max(1, S - 1).bit_length() + 64):
            if float(c.max()) <= _EPS:
                break
            a += c * a[sigma]
            c *= c[sigma]
            sigma = sigma[sigma]
        if float(c.max()) > _EPS:
            s = int(np.argmax(c))
            raise ValueError(
                f"the policy never ends from state {s}: its path enters a cycle of weight 1 (an improper "
                "policy), so (I − K_π) V = R_π has no solution."
            )
    # The remainder c·V∘σ is at most ε·max|V|; one more term halves it again.
    a += c * a[sigma]
    return a
