"""What every tabular learner shares: the transition record, the interface, and table scatters.

Every learner holds its tables with a leading *seed* axis, shape (N, S, A) for N seeds, S states
and A primitives (actions), so that :func:`mechanism.train` advances all seeds in lockstep with
no Python loop over seeds or bidders. Within a round, each seed runs E parallel episodes; the
visits of one round to the same (seed, state, primitive) cell are aggregated before the update
(:func:`scatter_mean`), which is what makes the batched update well defined.

Bidder m plays primitive ``m % A`` (clone ``m // A``), the :class:`mechanism.Society`
convention, so a table over primitives becomes a table over bidders with ``np.tile(x, clones)``.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = ["Learner", "Transition", "group_cells", "linear_schedule", "scatter_mean", "tile_clones"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


class Transition(NamedTuple):
    """One round of every seed's E parallel auctions, the data a learner updates from.

    All arrays have the batch shape (N, E) unless stated; ``seed`` is the seed row of each
    entry, so ``(seed, s_t)`` indexes the learner's (N, S, ·) tables.
    """

    seed: IntArray  #: (N, E) seed row
    s_t: IntArray  #: (N, E) state auctioned
    bids_t: FloatArray  #: (N, E, M) bids submitted at s_t
    winner: IntArray  #: (N, E) winning bidder
    a_t: IntArray  #: (N, E) primitive (action) applied, winner % A
    r_t: FloatArray  #: (N, E) environment reward
    s_tp1: IntArray  #: (N, E) state reached
    terminated: NDArray[np.bool_]  #: (N, E) the transition entered a terminal state
    discount_t: float  #: γ (literal actions: τ = 1)
    credit_t: FloatArray  #: (N, E) lookahead(b_{t+1}) at s_tp1, 0 after termination
    revenue_t: FloatArray  #: (N, E) r_t + γ·credit_t
    price_t: FloatArray  #: (N, E) what the winner pays
    progress: float  #: fraction of the run completed, in [0, 1), for schedules
    payments_t: FloatArray  #: (N, E, M) what every bidder pays (the winner's entry is ``price_t``)


class Learner(Protocol):
    """The interface :func:`mechanism.train` drives; every learner is a frozen dataclass of hyperparameters.

    ``params`` is a NamedTuple of arrays with a leading seed axis; :meth:`update` changes them in
    place (the training loop is the only caller, and copying tables every round would dominate
    its cost). ``monolithic`` learners choose the action themselves and ignore the auction.
    """

    name: str
    monolithic: bool

    def init(self, n_seeds: int, n_states: int, n_primitives: int, clones: int, rng: np.random.Generator) -> Any:
        """Fresh tables for every seed."""
        ...

    def sample(self, params: Any, seed: IntArray, s: IntArray, progress: float, rng: np.random.Generator) -> FloatArray:
        """Bids (..., M) of every bidder at states ``s`` (...) of seed rows ``seed`` (...)."""
        ...

    def update(self, params: Any, step: Transition) -> None:
        """Learn from one round, in place."""
        ...

    def mean_bids(self, params: Any) -> FloatArray:
        """The mean bid of every (seed, state, bidder), shape (N, S, M)."""
        ...

    def greedy(self, params: Any) -> IntArray:
        """The greedy policy of every seed, shape (N, S): the primitive the learner would apply."""
        ...


def tile_clones(x: FloatArray, clones: int) -> FloatArray:
    """A per-primitive array (..., A) as a per-bidder one (..., A·clones): bidder m plays m % A."""
    return np.tile(x, clones) if clones > 1 else x


def linear_schedule(start: float, end: float, progress: float) -> float:
    """``start + (end − start)·progress``: a linearly annealed hyperparameter."""
    return float(start + (end - start) * progress)


def group_cells(index: IntArray) -> tuple[IntArray, IntArray, FloatArray]:
    """The distinct flat cells of ``index``, each entry's position among them, and the visits per cell.

    Work is O(n log n) in the n entries of one round, never O(table size): a round of N·E auctions
    touches at most N·E·M cells however many states the MDP has.

    Returns
    -------
    cells : int array (K,)
        The distinct cells, sorted.
    inverse : int array (n,)
        ``cells[inverse] == index.ravel()``.
    count : float array (K,)
        How many entries landed in each cell.
    """
    cells, inverse = np.unique(np.ravel(index), return_inverse=True)
    return cells, inverse.reshape(-1), np.bincount(inverse.reshape(-1)).astype(np.float64)


def scatter_mean(values: FloatArray, index: IntArray) -> tuple[IntArray, FloatArray, FloatArray]:
    """Per visited cell, the mean and the count of ``values`` scattered to flat cells ``index``.

    Parameters
    ----------
    values, index : arrays of the same shape
        What to add, and the flat cell (e.g. ``(seed·S + s)·A + a``) it goes to.

    Returns
    -------
    cells, mean, count : arrays (K,)
        The K distinct cells visited, the mean of the values that landed in each, and how many did.
    """
    cells, inverse, count = group_cells(index)
    return cells, np.bincount(inverse, weights=np.ravel(values)) / count, count
