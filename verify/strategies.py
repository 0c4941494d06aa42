"""Hypothesis strategies for the claim checker's search: small MDPs and bid profiles, valid by construction.

Every strategy draws raw numbers and then normalises them (no ``.filter`` loops), so every draw
is a valid input and shrinking moves towards fewer states, fewer actions, zero rewards and
self-loops: the shrunk counterexample is small enough to check by hand. Values come from small
grids so that ties (the interesting case of every auction rule) are common.

``tests/strategies.py`` re-exports these for the test suite (``verify`` cannot import ``tests``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

from tasks.mdp import FiniteMDP

__all__ = [
    "BID_GRID",
    "REWARD_GRID",
    "WEIGHT_MAX",
    "bid_profiles",
    "finite_mdps",
    "valuations",
]

#: Bids and valuations are drawn from this grid (first entry = what shrinking moves towards).
BID_GRID: tuple[float, ...] = (0.0, 1.0, 0.5, 0.25, 0.75)
#: Rewards R[s, a] are drawn from this grid.
REWARD_GRID: tuple[float, ...] = (0.0, 1.0, 0.5, 0.25, 0.75, -0.5)
#: Transition weights are integers in 0..WEIGHT_MAX before normalisation.
WEIGHT_MAX = 3
#: Time limits a generated MDP may carry (None: episodes end only at terminal states).
TIME_LIMITS: tuple[int | None, ...] = (None, 1, 2, 3, 5)


def _gamma_grid(lo: float, hi: float) -> tuple[float, ...]:
    if not (0.0 <= lo <= hi < 1.0):
        raise ValueError(f"gamma must be a range (lo, hi) with 0 <= lo <= hi < 1; got {(lo, hi)}.")
    grid = [round(g, 4) for g in np.arange(lo, hi + 1e-12, 0.05)]
    if grid[-1] != round(hi, 4):
        grid.append(round(hi, 4))
    return tuple(grid)


@st.composite
def finite_mdps(
    draw: Any,
    dense: bool | st.SearchStrategy[bool] | None = True,
    terminals: bool = True,
    gamma: tuple[float, float] = (0.5, 0.95),
    max_states: int = 4,
    max_actions: int = 3,
    min_actions: int = 1,
    time_limits: bool = False,
    rewards: tuple[float, ...] = REWARD_GRID,
) -> FiniteMDP:
    """A small valid :class:`~tasks.mdp.FiniteMDP`.

    Parameters
    ----------
    dense : bool, strategy of bool, or None
        Dense (S, A, S) kernel, sparse CSR (S·A, S), a strategy choosing, or None for either.
    terminals : bool
        Whether states other than 0 may be terminal (absorbing, zero reward).
    gamma : (lo, hi)
        γ is drawn from a 0.05-step grid in [lo, hi] (shrinks towards lo).
    max_states, max_actions, min_actions : int
        Bounds on S and A.
    time_limits : bool
        Whether the MDP may carry a time limit (drawn from 1, 2, 3, 5) for truncated rollouts.
    rewards : tuple of float
        The grid ``R[s, a]`` is drawn from.

    Notes
    -----
    Construction: integer weights ``W[s, a, s']`` in 0..3; a row with no weight gets a self-loop;
    rows are normalised. Terminal rows become self-loops with zero reward. State 0 is never
    terminal and is the start state.
    """
    S = draw(st.integers(1, max_states))
    A = draw(st.integers(min_actions, max_actions))
    g = draw(st.sampled_from(_gamma_grid(*gamma)))
    W = draw(hnp.arrays(np.int64, (S, A, S), elements=st.integers(0, WEIGHT_MAX))).astype(np.float64)
    R = draw(hnp.arrays(np.float64, (S, A), elements=st.sampled_from(rewards)))
    term = np.zeros(S, dtype=bool)
    if terminals and S > 1:
        term[1:] = draw(hnp.arrays(np.bool_, (S - 1,), elements=st.booleans()))
    empty = W.sum(axis=2) == 0
    W[empty, :] = 0.0
    s_idx, a_idx = np.nonzero(empty)
    W[s_idx, a_idx, s_idx] = 1.0
    P = W / W.sum(axis=2, keepdims=True)
    P[term] = 0.0
    for s in np.flatnonzero(term):
        P[s, :, s] = 1.0
    R[term] = 0.0
    R = R + 0.0  # no negative zeros in printed counterexamples
    if isinstance(dense, st.SearchStrategy):
        is_dense = draw(dense)
    elif dense is None:
        is_dense = draw(st.booleans())
    else:
        is_dense = bool(dense)
    kernel: Any = P if is_dense else sp.csr_array(P.reshape(S * A, S))
    limit = draw(st.sampled_from(TIME_LIMITS)) if time_limits else None
    start = np.zeros(S)
    start[0] = 1.0
    return FiniteMDP(kernel, R, g, start=start, terminal=term, time_limit=limit, name="generated")


def bid_profiles(
    n_states: int, n_bidders: int, grid: tuple[float, ...] = BID_GRID
) -> st.SearchStrategy[NDArray[np.float64]]:
    """Bid tables ``bids[s, m]`` of shape (n_states, n_bidders) from a small grid, so ties are common."""
    return hnp.arrays(np.float64, (n_states, n_bidders), elements=st.sampled_from(grid))


def valuations(n: int, grid: tuple[float, ...] = BID_GRID) -> st.SearchStrategy[NDArray[np.float64]]:
    """Valuations of ``n`` primitives for winning one auction, shape (n,), from a small grid."""
    return hnp.arrays(np.float64, (n,), elements=st.sampled_from(grid))
