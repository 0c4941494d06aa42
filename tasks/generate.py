"""Random MDPs, dense or sparse, seeded: the instances of the property tests and benchmarks.

Rows are drawn from the flat Dirichlet distribution (normalised standard exponentials), over all
states (dense) or over ``k`` distinct successors per state-action pair. The sparse path builds the
CSR arrays ``indptr, indices, data`` directly with vectorised numpy, so S = 10^6, A = 4, k = 8
(32·10^6 non-zeros) takes seconds and about 0.5 GB.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from tasks.mdp import FiniteMDP

__all__ = ["random_mdp"]

#: Above this many (S·A)·S entries the distinct-successor draw uses rejection, not a full shuffle.
_SHUFFLE_LIMIT = 4_000_000


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int or a numpy.random.Generator; got {seed!r}.")
    return np.random.default_rng(int(seed))


def _distinct_successors(rng: np.random.Generator, rows: int, S: int, k: int) -> NDArray[np.integer]:
    """``k`` distinct states per row, sorted, shape (rows, k), uniform over k-subsets of range(S)."""
    if rows * S <= _SHUFFLE_LIMIT or 4 * k > S:
        # Small or dense-ish: the k smallest of S uniform keys are a uniform k-subset.
        keys = rng.random((rows, S))
        idx = np.argpartition(keys, k - 1, axis=1)[:, :k] if k < S else np.tile(np.arange(S), (rows, 1))
        return np.sort(idx, axis=1).astype(np.int32)
    # Large and sparse: draw with replacement, redraw the rows that repeat a state. A row repeats
    # with probability < k²/(2S) <= k/8, so each pass shrinks the redraw set geometrically.
    idx = np.sort(rng.integers(0, S, size=(rows, k), dtype=np.int32), axis=1)
    bad = np.flatnonzero((idx[:, 1:] == idx[:, :-1]).any(axis=1))
    while bad.size:
        redo = np.sort(rng.integers(0, S, size=(bad.size, k), dtype=np.int32), axis=1)
        idx[bad] = redo
        bad = bad[(redo[:, 1:] == redo[:, :-1]).any(axis=1)]
    return idx


def random_mdp(
    n_states: int,
    n_actions: int,
    gamma: float = 0.99,
    successors: int | None = None,
    seed: int | np.random.Generator = 0,
    sparse: bool = False,
    terminal_fraction: float = 0.0,
) -> FiniteMDP:
    """A random MDP with flat-Dirichlet transition rows and rewards uniform in [0, 1).

    Parameters
    ----------
    n_states, n_actions : int
        S and A.
    gamma : float
        Discount in [0, 1).
    successors : int or None
        None: every row is a Dirichlet(1, ..., 1) draw over all S states. ``k``: exactly ``k``
        distinct successors per (s, a), uniform over k-subsets, with Dirichlet(1, ..., 1) weights.
    seed : int or numpy.random.Generator
        Same seed, same MDP, bit for bit.
    sparse : bool
        Store the kernel as CSR of shape (S·A, S) (row ``s·A + a``) instead of dense (S, A, S).
    terminal_fraction : float in [0, 1)
        Fraction of states (rounded down, at most S − 1) made absorbing terminal states with zero
        reward; they are chosen uniformly and still appear as successors of other states.

    Returns
    -------
    FiniteMDP
        Start distribution uniform over the non-terminal states.
    """
    S = _positive_int(n_states, "n_states")
    A = _positive_int(n_actions, "n_actions")
    if successors is not None:
        k = _positive_int(successors, "successors")
        if k > S:
            raise ValueError(f"successors = {k} exceeds n_states = {S}; a row cannot have more distinct successors.")
    terminal_fraction = float(terminal_fraction)
    if not 0.0 <= terminal_fraction < 1.0:
        raise ValueError(f"terminal_fraction must lie in [0, 1); got {terminal_fraction}.")
    rng = _rng(seed)

    n_term = min(int(terminal_fraction * S), S - 1)
    terminal = np.zeros(S, dtype=bool)
    if n_term:
        terminal[rng.choice(S, size=n_term, replace=False)] = True
    term_rows = np.repeat(terminal, A)  # row s·A + a belongs to state s

    SA = S * A
    k_row = S if successors is None else int(successors)
    idx: NDArray[np.integer]
    if successors is None:
        idx = np.broadcast_to(np.arange(S, dtype=np.int32), (SA, S))
    else:
        idx = _distinct_successors(rng, SA, S, k_row)
    w = rng.standard_exponential((SA, k_row))
    w /= w.sum(axis=1, keepdims=True)
    R = rng.random((S, A))
    R[terminal] = 0.0

    if sparse:
        # Terminal rows keep one entry (s -> s, weight 1); the others keep their k.
        keep = np.ones((SA, k_row), dtype=bool)
        keep[term_rows, 1:] = False
        counts = np.where(term_rows, 1, k_row)
        indptr = np.zeros(SA + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        indices = np.ascontiguousarray(idx)
        data = w
        if n_term:
            indices = indices.copy()
            indices[term_rows, 0] = np.repeat(np.flatnonzero(terminal), A)
            data[term_rows, 0] = 1.0
            indices, data = indices[keep], data[keep]
        else:
            indices, data = indices.ravel(), data.ravel()
        if indptr[-1] < np.iinfo(np.int32).max:
            indptr = indptr.astype(np.int32)
        P: NDArray[np.float64] | sp.csr_array = sp.csr_array((data, indices, indptr), shape=(SA, S))
    else:
        if successors is None:
            dense = w
        else:
            dense = np.zeros((SA, S))
            np.put_along_axis(dense, np.asarray(idx, dtype=np.intp), w, axis=1)
        P = dense.reshape(S, A, S)
        t_states = np.flatnonzero(terminal)
        P[t_states] = 0.0
        P[t_states[:, None], np.arange(A)[None, :], t_states[:, None]] = 1.0
    name = f"random(S={S}, A={A}, k={successors}, {'sparse' if sparse else 'dense'})"
    return FiniteMDP(P, R, gamma, terminal=terminal, name=name)


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be a positive int; got {value!r}.")
    if value < 1:
        raise ValueError(f"{name} must be >= 1; got {value}.")
    return int(value)
