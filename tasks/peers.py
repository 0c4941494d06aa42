"""MDPs from the peers' array layouts: QuantEcon's ``DiscreteDP`` and pymdptoolbox's ``(P, R)``.

Neither package is imported: the importers read the layouts their constructors accept, following
their own rules (QuantEcon 0.11, ``quantecon/markov/ddp.py``, ``DiscreteDP.__init__``;
pymdptoolbox 4.0b3, ``mdptoolbox/util.py``, ``check``, and ``mdptoolbox/mdp.py``,
``MDP._computeTransition`` and ``MDP._computeReward``). A pair that a peer marks infeasible
becomes an unavailable action of the :class:`~tasks.mdp.FiniteMDP` (``available[s, a]`` False).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from tasks.mdp import FiniteMDP, as_float_array

__all__ = ["from_mdptoolbox", "from_quantecon", "to_mdptoolbox"]

FloatArray = NDArray[np.float64]
Matrix: TypeAlias = FloatArray | sp.csr_array


# ---------------------------------------------------------------------- QuantEcon's DiscreteDP
def _indices(x: Any, name: str, L: int) -> NDArray[np.intp]:
    """``s_indices`` / ``a_indices`` as a non-negative int array of length L."""
    if x is None:
        raise ValueError(f"{name} must be supplied in the state-action-pair form (R of shape (L,), Q of shape (L, n)).")
    arr = np.asarray(x)
    if arr.ndim != 1 or arr.shape[0] != L:
        raise ValueError(f"{name} has shape {arr.shape}; it must list one index per state-action pair, shape ({L},).")
    if arr.size and arr.dtype.kind not in "iu":
        raise TypeError(f"{name} has dtype {arr.dtype}; it must hold integer indices.")
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} holds {int(arr.min())}; indices must be non-negative.")
    return arr.astype(np.intp)


def _pair_form(
    R: FloatArray, Q: Any, s_indices: Any, a_indices: Any, sparse: bool
) -> tuple[FloatArray | sp.csr_array, FloatArray]:
    """(P, R) of the FiniteMDP from QuantEcon's state-action-pair form (R (L,), Q (L, n))."""
    L, n = Q.shape
    if R.shape != (L,):
        raise ValueError(
            f"R has shape {R.shape} but Q has shape {Q.shape}; the state-action-pair form needs R of shape ({L},)."
        )
    s_idx, a_idx = _indices(s_indices, "s_indices", L), _indices(a_indices, "a_indices", L)
    if L and s_idx.max() >= n:
        raise ValueError(f"s_indices holds {int(s_idx.max())}; states are 0..{n - 1} (Q has {n} columns).")
    A = int(a_idx.max()) + 1 if L else 1
    seen = np.zeros((n, A), dtype=np.int64)
    np.add.at(seen, (s_idx, a_idx), 1)
    if (seen > 1).any():
        s, a = (int(i) for i in np.argwhere(seen > 1)[0])
        raise ValueError(f"the state-action pair ({s}, {a}) is listed more than once in (s_indices, a_indices).")
    missing = ~(seen > 0).any(axis=1)
    if missing.any():
        s = int(np.argmax(missing))
        raise ValueError(f"state {s} has no state-action pair; for every state at least one action must be available.")
    R_sa = np.full((n, A), -np.inf)  # a missing pair is unavailable
    R_sa[s_idx, a_idx] = R
    rows = s_idx * A + a_idx
    feasible = ~np.isneginf(R)  # a listed pair with R = -inf is infeasible too: its row is never read
    K = sp.csr_array(sp.csr_array(Q)[np.flatnonzero(feasible)], dtype=np.float64)
    K = sp.csr_array((K.data, K.indices, K.indptr), shape=(int(feasible.sum()), n))
    lift = sp.csr_array((np.ones(K.shape[0]), (rows[feasible], np.arange(K.shape[0]))), shape=(n * A, K.shape[0]))
    P = sp.csr_array(lift @ K)
    return (P if sparse else P.toarray().reshape(n, A, n)), R_sa


def from_quantecon(
    R: ArrayLike,
    Q: Any,
    beta: float,
    s_indices: ArrayLike | None = None,
    a_indices: ArrayLike | None = None,
    *,
    start: ArrayLike | None = None,
    terminal: ArrayLike | None = None,
    time_limit: int | None = None,
    sparse: bool | None = None,
    name: str = "quantecon",
) -> FiniteMDP:
    """Build a FiniteMDP from the arguments of QuantEcon's ``DiscreteDP(R, Q, beta, s_indices, a_indices)``.

    Two forms, as QuantEcon reads them:

    * *product form*: ``R`` (n, m) and ``Q`` (n, m, n) dense, ``Q[s, a, s']`` the transition
      probability. ``R[s, a] = -inf`` marks an infeasible action: it becomes unavailable
      (``available[s, a]`` False) and its row of ``Q`` is not read.
    * *state-action-pair form*: ``R`` (L,), ``Q`` (L, n) dense or scipy sparse (a sparse ``Q``
      always means this form), and ``s_indices``, ``a_indices`` (L,) naming the pair of each row.
      Actions are labels: the MDP has ``A = max(a_indices) + 1`` actions and ``available[s, a]``
      says whether ``(s, a)`` is listed (with a reward above -inf); labels need not be
      contiguous nor the pairs sorted (QuantEcon sorts them). Duplicate pairs, negative or
      out-of-range indices and a state with no pair are refused, as QuantEcon refuses them.

    Parameters
    ----------
    R, Q, beta, s_indices, a_indices
        As for ``quantecon.markov.DiscreteDP``; ``beta`` is the discount γ, checked by
        :class:`~tasks.mdp.FiniteMDP`.
    start, terminal, time_limit
        Passed to :class:`~tasks.mdp.FiniteMDP` (QuantEcon has none of them).
    sparse : bool, optional
        Store the kernel as CSR; default: when ``Q`` is a scipy sparse matrix.
    name : str
        Label of the result.

    Returns
    -------
    FiniteMDP
        ``policy[s]`` of its solution is QuantEcon's ``sigma[s]``: the action label.

    Raises
    ------
    ValueError, TypeError
        For shapes or indices QuantEcon refuses, naming the argument.
    """
    R_arr = np.asarray(R)
    if R_arr.dtype.kind not in "iuf":
        raise TypeError(f"R has dtype {R_arr.dtype}; pass real numbers (-inf marks an infeasible action).")
    R_arr = R_arr.astype(np.float64)
    if sp.issparse(Q):
        if Q.ndim != 2:
            raise ValueError(f"a sparse Q must have shape (L, n) (the state-action-pair form); got {Q.shape}.")
        P, R_sa = _pair_form(R_arr, Q, s_indices, a_indices, True if sparse is None else bool(sparse))
    else:
        Q_arr = as_float_array(Q, "Q")
        if Q_arr.ndim == 2:
            P, R_sa = _pair_form(R_arr, Q_arr, s_indices, a_indices, bool(sparse))
        elif Q_arr.ndim == 3:
            n, m = Q_arr.shape[:2]
            if R_arr.shape != (n, m) or Q_arr.shape != (n, m, n):
                raise ValueError(
                    f"shapes of R and Q must be (n, m) and (n, m, n) in the product form; got {R_arr.shape} "
                    f"and {Q_arr.shape}."
                )
            R_sa = R_arr
            P = np.where(np.isneginf(R_sa)[:, :, None], 0.0, Q_arr)  # an infeasible row is not read
            if sparse:
                P = sp.csr_array(P.reshape(n * m, n))
        else:
            raise ValueError(f"Q must be 2-dimensional (L, n) or 3-dimensional (n, m, n); got shape {Q_arr.shape}.")
    start_arr = None if start is None else as_float_array(start, "start")
    terminal_arr = None if terminal is None else np.asarray(terminal)
    return FiniteMDP(
        P, R_sa, beta, start=start_arr, terminal=terminal_arr, time_limit=time_limit, name=name,
        available=~np.isneginf(R_sa),
    )


# ---------------------------------------------------------------------- pymdptoolbox
_P_LAYOUTS = (
    "pymdptoolbox's layouts for P are: an array (A, S, S); a list, tuple or 1-D object array of A matrices "
    "(S, S), dense or scipy sparse; or a dict {a: (S, S) matrix} with keys 0..A-1"
)
_R_LAYOUTS = (
    "pymdptoolbox's layouts for R are: an array (S,) (per state), (S, A) (per state and action) or "
    "(A, S, S) (per transition); or a list, tuple, 1-D object array or dict {a: matrix} of A (S, S) "
    "matrices, dense or scipy sparse (per transition)"
)


def _by_action(x: Any, what: str) -> list[Any] | None:
    """The A per-action entries of a list-like layout (list, tuple, 1-D object array, dict keyed 0..A-1), or None."""
    if isinstance(x, Mapping):
        keys = list(x)
        if not keys or set(keys) != set(range(len(keys))):
            raise ValueError(
                f"{what} is a dict with keys {sorted(keys, key=repr)[:10]}; its keys must be the actions 0..A-1."
            )
        return [x[a] for a in range(len(keys))]
    if isinstance(x, np.ndarray) and x.dtype == object:
        if x.ndim != 1:
            raise TypeError(f"{what} is an object array of shape {x.shape}; it must be 1-D, one matrix per action.")
        return list(x)
    if isinstance(x, list | tuple):
        return list(x)
    return None


def _matrix(m: Any, name: str) -> Matrix:
    """One (S, S) matrix of a list-like layout: CSR if sparse, float64 dense otherwise."""
    if sp.issparse(m):
        if m.ndim != 2:
            raise ValueError(f"{name} has shape {m.shape}; it must be a square matrix (S, S).")
        return sp.csr_array(m, dtype=np.float64)
    arr = as_float_array(np.asarray(m), name)
    if arr.ndim != 2:
        raise ValueError(f"{name} has shape {arr.shape}; it must be a square matrix (S, S).")
    return arr


def _transitions(P: Any) -> list[Matrix]:
    """The A matrices P[a] (S, S) of any of pymdptoolbox's layouts for P."""
    listed = _by_action(P, "P")
    if listed is None:
        if sp.issparse(P) or not isinstance(P, np.ndarray):
            raise TypeError(f"P is a {type(P).__name__}; {_P_LAYOUTS}.")
        if P.ndim != 3:
            raise ValueError(f"P has shape {P.shape}; {_P_LAYOUTS}.")
        listed = list(as_float_array(P, "P"))
    if not listed:
        raise ValueError(f"P has no actions; {_P_LAYOUTS}.")
    mats = [_matrix(m, f"P[{a}]") for a, m in enumerate(listed)]
    S = mats[0].shape[0]
    for a, m in enumerate(mats):
        if m.shape != (S, S):
            raise ValueError(f"P[{a}] has shape {m.shape}; every P[a] must be square (S, S) = ({S}, {S}) like P[0].")
    return mats


def _expected(P_a: Matrix, R_a: Matrix) -> FloatArray:
    """Σ_s' P[a, s, s']·R[a, s, s'] per state: action a's expected reward (pymdptoolbox's ``_computeMatrixReward``)."""
    if sp.issparse(P_a) or sp.issparse(R_a):
        prod = sp.csr_array(P_a).multiply(sp.csr_array(R_a)) if sp.issparse(P_a) else sp.csr_array(R_a).multiply(P_a)
        return np.asarray(prod.sum(axis=1), dtype=np.float64).ravel()
    return np.einsum("st,st->s", P_a, R_a)


def _rewards(R: Any, mats: list[Matrix]) -> FloatArray:
    """R[s, a] from any of pymdptoolbox's layouts for R, given the A transition matrices."""
    A, S = len(mats), mats[0].shape[0]
    listed = _by_action(R, "R")
    if listed is not None and len(listed) == A and all(sp.issparse(r) or np.ndim(r) == 2 for r in listed):
        per = [_matrix(r, f"R[{a}]") for a, r in enumerate(listed)]
        for a, r in enumerate(per):
            if r.shape != (S, S):
                raise ValueError(f"R[{a}] has shape {r.shape}; a per-transition reward matrix is (S, S) = ({S}, {S}).")
        return np.stack([_expected(mats[a], per[a]) for a in range(A)], axis=1)
    if isinstance(R, Mapping):
        raise TypeError(f"R is a dict whose values are not A = {A} matrices (S, S); {_R_LAYOUTS}.")
    arr = as_float_array(R.toarray() if sp.issparse(R) else np.asarray(R), "R")
    if arr.shape == (S,):
        return np.repeat(arr[:, None], A, axis=1)
    if arr.shape == (S, A):
        return arr
    if arr.shape == (A, S, S):
        return np.stack([_expected(mats[a], arr[a]) for a in range(A)], axis=1)
    raise ValueError(f"R has shape {arr.shape} with S = {S}, A = {A}; {_R_LAYOUTS}.")


def _kernel(mats: list[Matrix], sparse: bool) -> FloatArray | sp.csr_array:
    """The FiniteMDP kernel from P[a] (S, S): dense (S, A, S), or CSR (S·A, S) with row s·A + a."""
    A, S = len(mats), mats[0].shape[0]
    if not sparse:
        return np.stack([m if isinstance(m, np.ndarray) else m.toarray() for m in mats], axis=1)
    stacked = sp.csr_array(sp.vstack([sp.csr_array(m) for m in mats], format="csr"))  # row a·S + s
    order = (np.arange(S)[:, None] + S * np.arange(A)[None, :]).ravel()  # row s·A + a ← a·S + s
    return sp.csr_array(stacked[order])


def from_mdptoolbox(
    P: Any,
    R: Any,
    discount: float,
    *,
    start: ArrayLike | None = None,
    terminal: ArrayLike | None = None,
    time_limit: int | None = None,
    sparse: bool | None = None,
    name: str = "mdptoolbox",
) -> FiniteMDP:
    """Build a FiniteMDP from every layout of ``(P, R)`` that pymdptoolbox's ``MDP`` takes.

    ``P``: an array (A, S, S), ``P[a, s, s']``; a list, tuple or 1-D object array of A matrices
    (S, S), dense or scipy sparse (``mdptoolbox.example.forest(is_sparse=True)`` and
    ``example.rand(..., is_sparse=True)`` give lists of CSR matrices); or a dict ``{a: P[a]}`` with
    keys 0..A-1, which pymdptoolbox reads as ``P[a] for a in range(A)`` (``util.check`` and
    ``_computeTransition`` index it so).

    ``R``: (S,), a reward per state, the same for every action; (S, A) per state and action
    (a numpy matrix or scipy sparse matrix too, which pymdptoolbox itself refuses with
    ``NotImplementedError``); (A, S, S), or A matrices (S, S) dense or sparse in a list, tuple,
    object array or dict keyed 0..A-1, per transition, reduced as pymdptoolbox's
    ``_computeMatrixReward`` does to ``R[s, a] = Σ_s' P[a, s, s']·R[a, s, s']``. (pymdptoolbox's
    ``check`` accepts a dict of reward matrices, but its ``_computeReward`` then iterates the dict's
    *keys* and silently computes wrong rewards; here a dict is read by key, as ``check`` reads it.)
    A list of S numbers is a reward per state.

    pymdptoolbox has no terminal states or start distribution: pass them here if the task has
    them. ``discount`` is γ, checked by :class:`~tasks.mdp.FiniteMDP`.

    Parameters
    ----------
    sparse : bool, optional
        Store the kernel as CSR; default: when some ``P[a]`` is a scipy sparse matrix.

    Raises
    ------
    TypeError, ValueError
        For any other layout, naming the argument and the layouts accepted.
    """
    mats = _transitions(P)
    R_sa = _rewards(R, mats)
    kernel = _kernel(mats, any(sp.issparse(m) for m in mats) if sparse is None else bool(sparse))
    start_arr = None if start is None else as_float_array(start, "start")
    terminal_arr = None if terminal is None else np.asarray(terminal)
    return FiniteMDP(kernel, R_sa, discount, start=start_arr, terminal=terminal_arr, time_limit=time_limit, name=name)


def to_mdptoolbox(mdp: FiniteMDP) -> tuple[FloatArray, FloatArray]:
    """``(P, R)`` in pymdptoolbox's layout: P dense (A, S, S) and R (S, A).

    Raises
    ------
    ValueError
        For an MDP with unavailable actions: pymdptoolbox has no action sets (an R of -inf there
        is not safe with all of its solvers: ``PolicyIterationModified`` does not terminate).
    """
    if not np.asarray(mdp.available).all():
        s, a = (int(i) for i in np.argwhere(~np.asarray(mdp.available))[0])
        raise ValueError(
            f"{mdp!r} has unavailable actions (e.g. action {a} at state {s}); pymdptoolbox has no action sets. "
            "Export an MDP where every action is available everywhere."
        )
    return np.ascontiguousarray(mdp.dense_P.transpose(1, 0, 2)), np.array(mdp.R)
