"""The transition graph of an MDP: for drawing (networkx) and for reachability (scipy csgraph)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.csgraph import breadth_first_order

from tasks.mdp import FiniteMDP

__all__ = ["reachable", "to_graph"]


def _support(mdp: FiniteMDP, root_to: NDArray[np.int64]) -> sp.csr_array:
    """The (S+1, S+1) matrix with an edge s → s' when some action reaches s' with positive probability,
    plus a root node S with an edge to every state in ``root_to``."""
    S, A = mdp.n_states, mdp.n_actions
    K = mdp.kernel
    if isinstance(K, np.ndarray):
        rows, cols = np.nonzero(K > 0)
    else:
        K = sp.csr_array(K)
        rows = np.repeat(np.arange(S * A, dtype=np.int64), np.diff(K.indptr))
        cols = K.indices
        positive = K.data > 0
        rows, cols = rows[positive], cols[positive]
    rows = np.concatenate([rows // A, np.full(root_to.size, S)])
    cols = np.concatenate([cols, root_to])
    return sp.csr_array((np.ones(rows.size, dtype=np.int32), (rows, cols)), shape=(S + 1, S + 1))


def to_graph(mdp: FiniteMDP) -> nx.MultiDiGraph:
    """The MDP as a networkx ``MultiDiGraph`` (a subclass of ``DiGraph``), one edge per (s, a, s').

    Nodes are the states 0..S-1 with attributes ``terminal`` (bool) and ``start`` (the start
    probability). For every (s, a) and every s' with ``P[s, a, s'] > 0`` there is an edge
    s → s' with key ``a`` and attributes ``action = a``, ``probability = P[s, a, s']`` and
    ``reward = R[s, a]`` (the expected reward of the pair; the MDP stores no per-successor reward).
    ``G[s][t]`` maps action → attributes; ``nx.DiGraph(G)`` collapses it to plain s → s' edges.
    Meant for task-sized MDPs; for reachability on large ones use :func:`reachable`.
    """
    S, A = mdp.n_states, mdp.n_actions
    terminal = np.zeros(S, dtype=bool) if mdp.terminal is None else mdp.terminal
    start = np.zeros(S) if mdp.start is None else mdp.start
    G = nx.MultiDiGraph(name=mdp.name)
    G.add_nodes_from((s, {"terminal": bool(terminal[s]), "start": float(start[s])}) for s in range(S))
    K = sp.csr_array(mdp.kernel)
    for row in range(S * A):
        s, a = divmod(row, A)
        lo, hi = K.indptr[row], K.indptr[row + 1]
        for p, t in zip(K.data[lo:hi], K.indices[lo:hi], strict=True):
            if p > 0:
                G.add_edge(s, int(t), key=a, action=a, probability=float(p), reward=float(mdp.R[s, a]))
    return G


def reachable(mdp: FiniteMDP, sources: ArrayLike | None = None) -> NDArray[np.bool_]:
    """Mask (S,) of the states reachable, under some policy, from the support of ``start``.

    A breadth-first search (``scipy.sparse.csgraph.breadth_first_order``) on the support of the
    kernel aggregated over actions, from a virtual root linked to every source state; linear in
    the number of non-zeros, so it handles sparse MDPs of 10^6 states.

    Parameters
    ----------
    mdp : FiniteMDP
    sources : int array or bool mask (S,), optional
        Start the search here instead of at ``mdp.start > 0``.
    """
    S = mdp.n_states
    if sources is None:
        start = np.zeros(S) if mdp.start is None else mdp.start
        src = np.flatnonzero(start > 0)
    else:
        arr = np.asarray(sources)
        if arr.dtype == bool:
            if arr.shape != (S,):
                raise ValueError(f"sources mask has shape {arr.shape}; it must be ({S},).")
            src = np.flatnonzero(arr)
        elif arr.dtype.kind in "iu":
            src = arr.ravel().astype(np.int64)
            if src.size and (src.min() < 0 or src.max() >= S):
                raise ValueError(f"sources holds state indices outside 0..{S - 1}.")
        else:
            raise TypeError(f"sources must be state indices or a boolean mask; got dtype {arr.dtype}.")
    # A root node S with an edge to every source: one search covers all of them.
    H = _support(mdp, src)
    order = breadth_first_order(H, S, directed=True, return_predecessors=False)
    mask = np.zeros(S + 1, dtype=bool)
    mask[order] = True
    return mask[:S]
