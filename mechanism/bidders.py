"""Bid sources: what every bidder bids at a batch of states, deterministic or random.

A bid source maps B current states to a (B, M) array of bids, one column per bidder
(:class:`BidSource`). Three are built in, each with parameters of shape (S, K):

* :class:`TableBids` — a deterministic table ``bids[s, k]``;
* :class:`BetaBids` — ``Beta(μκ, (1 − μ)κ)`` with mean μ and concentration κ, the authors'
  bid distribution (bids in (0, 1); Chang et al. 2020, code ``BetaBidder``);
* :class:`GaussianBids` — ``mean + std·N(0, 1)``.

A source's K columns are either one per *primitive* (K = N, shared by its clones) or one per
*bidder* (K = M). :meth:`TableBids.for_society` (and the same method on the other sources) turns
the first into the second by repeating primitive ``m % N`` for bidder m; random sources then draw
**independent noise for every bidder**, so twins share a distribution but not a sample
(DESIGN §1, "cloned vs solitary"). :func:`as_bid_source` does this conversion for
:func:`mechanism.rollout`, and accepts a plain array as a table.

Random sources draw a whole (K, B) batch with one generator call (``Generator.beta`` or
``Generator.standard_normal``) on parameters gathered column-major, so a sample is a transposed
view whose bidder axis is the slow one: the auction's reductions over bidders then run over
contiguous rows (see :func:`mechanism.rollout`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mechanism.society import Society
from tasks.mdp import as_float_array

__all__ = ["BetaBids", "BidSource", "GaussianBids", "TableBids", "as_bid_source"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


@runtime_checkable
class BidSource(Protocol):
    """Anything that bids: ``sample(states (B,) int, rng) -> bids (B, M)`` float64.

    A deterministic source ignores ``rng``; a random one draws from it only, so the same
    generator state gives the same bids, bit for bit.
    """

    def sample(self, states: IntArray, rng: np.random.Generator) -> FloatArray:
        """Bids of every bidder at each of the B states, shape (B, M)."""
        ...


# ---------------------------------------------------------------------------- validation
def _table(x: ArrayLike, name: str) -> FloatArray:
    arr = as_float_array(x, name)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"{name} must have shape (n_states, n_columns) with a column per primitive or per bidder; "
            f"got shape {arr.shape}."
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        s, k = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name}[{s}, {k}] = {float(arr[s, k])!r} is not finite; every bid parameter must be finite.")
    return arr


def _like(x: ArrayLike, shape: tuple[int, ...], name: str) -> FloatArray:
    scalar = np.ndim(x) == 0
    arr = as_float_array(x, name)
    if scalar:
        arr = np.full(shape, float(arr.reshape(())))
    if arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape}; it must be a scalar or have the mean's shape {shape}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} has a non-finite entry; every bid parameter must be finite.")
    return arr


def _states(states: ArrayLike, n_states: int) -> IntArray:
    s = np.asarray(states)
    if s.ndim != 1 or s.dtype.kind not in "iu":
        raise TypeError(f"states must be a 1-D int array; got dtype {s.dtype}, shape {s.shape}.")
    if s.size and (s.min() < 0 or s.max() >= n_states):
        raise ValueError(f"states must lie in [0, {n_states}); got values in [{s.min()}, {s.max()}].")
    return s.astype(np.intp, copy=False)


def _columns_for(n_columns: int, society: Society, what: str) -> IntArray:
    """The parameter column each bidder uses: identity for K = M, ``m % N`` for K = N."""
    if not isinstance(society, Society):
        raise TypeError(f"society must be a mechanism.Society; got {type(society).__name__}.")
    if n_columns == society.n_bidders:
        return np.arange(n_columns, dtype=np.intp)
    if n_columns == society.n_primitives:
        return society.primitive_of
    raise ValueError(
        f"{what} has {n_columns} columns but the society has {society.n_primitives} primitives and "
        f"{society.n_bidders} bidders; give one column per primitive (shared by its clones) or one per bidder."
    )


def _frozen(*arrays: np.ndarray) -> None:
    for a in arrays:
        a.setflags(write=False)


# ---------------------------------------------------------------------------- deterministic
@dataclass(frozen=True, eq=False)
class TableBids:
    """A deterministic bid table: bidder k bids ``table[s, k]`` at state s.

    Parameters
    ----------
    table : array (S, K)
        Finite bids, one column per bidder (or per primitive, before :meth:`for_society`).
    """

    table: FloatArray
    _by_column: FloatArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        table = _table(self.table, "table").copy()
        by_column = np.ascontiguousarray(table.T)
        _frozen(table, by_column)
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "_by_column", by_column)

    @property
    def n_states(self) -> int:
        """S, the number of states the table covers."""
        return int(self.table.shape[0])

    @property
    def n_bidders(self) -> int:
        """K, the number of columns of a sample."""
        return int(self.table.shape[1])

    def for_society(self, society: Society) -> TableBids:
        """One column per bidder: primitive columns repeated for every clone (K = N), or self (K = M)."""
        cols = _columns_for(self.n_bidders, society, "the bid table")
        return self if cols.size == self.n_bidders else TableBids(self.table[:, cols])

    def sample(self, states: IntArray, rng: np.random.Generator | None = None) -> FloatArray:
        """``table[states]``, shape (B, K); ``rng`` is not used."""
        s = _states(states, self.n_states)
        return np.take(self._by_column, s, axis=1).T


# ---------------------------------------------------------------------------- Beta
@dataclass(frozen=True, eq=False)
class BetaBids:
    """Beta-distributed bids: bidder k at state s bids ``Beta(μκ, (1 − μ)κ)`` with μ = mean[s, k].

    Parameters
    ----------
    mean : array (S, K)
        μ in the open interval (0, 1); the mean bid.
    concentration : float or array (S, K)
        κ > 0: α + β of the Beta distribution. κ = 2 with μ = 1/2 is Beta(1, 1), the uniform
        distribution the authors initialise with; larger κ, less noise (variance μ(1 − μ)/(κ + 1)).

    Notes
    -----
    One ``rng.beta`` call per sample, on the (K, B) parameters of the batch: every bidder, clones
    included, gets its own draw.
    """

    mean: FloatArray
    concentration: FloatArray | float
    _by_column: tuple[FloatArray, FloatArray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        mean = _table(self.mean, "mean").copy()
        if (mean <= 0).any() or (mean >= 1).any():
            s, k = (int(i) for i in np.argwhere((mean <= 0) | (mean >= 1))[0])
            raise ValueError(
                f"mean[{s}, {k}] = {float(mean[s, k])!r}; a Beta mean must lie strictly between 0 and 1. "
                "Rescale rewards into (0, 1) (tasks.rescale_rewards) or use GaussianBids."
            )
        kappa = _like(self.concentration, mean.shape, "concentration").copy()
        if (kappa <= 0).any():
            s, k = (int(i) for i in np.argwhere(kappa <= 0)[0])
            raise ValueError(f"concentration[{s}, {k}] = {float(kappa[s, k])!r}; it must be > 0.")
        alpha, beta = mean * kappa, (1.0 - mean) * kappa
        if (alpha <= 0).any() or (beta <= 0).any():
            raise ValueError(
                "mean·concentration underflows to 0; use a larger concentration or a mean further from 0 and 1."
            )
        by_column = (np.ascontiguousarray(alpha.T), np.ascontiguousarray(beta.T))
        _frozen(mean, kappa, *by_column)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "concentration", kappa)
        object.__setattr__(self, "_by_column", by_column)

    @property
    def n_states(self) -> int:
        """S, the number of states."""
        return int(self.mean.shape[0])

    @property
    def n_bidders(self) -> int:
        """K, the number of columns of a sample."""
        return int(self.mean.shape[1])

    @property
    def alpha(self) -> FloatArray:
        """The first Beta shape μκ, shape (S, K)."""
        return self.mean * np.asarray(self.concentration)

    @property
    def beta(self) -> FloatArray:
        """The second Beta shape (1 − μ)κ, shape (S, K)."""
        return (1.0 - self.mean) * np.asarray(self.concentration)

    def for_society(self, society: Society) -> BetaBids:
        """One column per bidder; clones share (μ, κ) and draw their own noise."""
        cols = _columns_for(self.n_bidders, society, "the Beta mean")
        if cols.size == self.n_bidders:
            return self
        return BetaBids(self.mean[:, cols], np.asarray(self.concentration)[:, cols])

    def sample(self, states: IntArray, rng: np.random.Generator) -> FloatArray:
        """Independent Beta bids for every bidder at each state, shape (B, K), in [0, 1] (tiny shapes round)."""
        s = _states(states, self.n_states)
        alpha_T, beta_T = self._by_column
        return rng.beta(np.take(alpha_T, s, axis=1), np.take(beta_T, s, axis=1)).T


# ---------------------------------------------------------------------------- Gaussian
@dataclass(frozen=True, eq=False)
class GaussianBids:
    """Gaussian bids: bidder k at state s bids ``mean[s, k] + std[s, k]·ε`` with ε ~ N(0, 1).

    Parameters
    ----------
    mean : array (S, K)
    std : float or array (S, K)
        Standard deviation >= 0 (0 gives the table ``mean``, still drawing noise).
    """

    mean: FloatArray
    std: FloatArray | float
    _by_column: tuple[FloatArray, FloatArray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        mean = _table(self.mean, "mean").copy()
        std = _like(self.std, mean.shape, "std").copy()
        if (std < 0).any():
            s, k = (int(i) for i in np.argwhere(std < 0)[0])
            raise ValueError(f"std[{s}, {k}] = {float(std[s, k])!r}; a standard deviation must be >= 0.")
        by_column = (np.ascontiguousarray(mean.T), np.ascontiguousarray(std.T))
        _frozen(mean, std, *by_column)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)
        object.__setattr__(self, "_by_column", by_column)

    @property
    def n_states(self) -> int:
        """S, the number of states."""
        return int(self.mean.shape[0])

    @property
    def n_bidders(self) -> int:
        """K, the number of columns of a sample."""
        return int(self.mean.shape[1])

    def for_society(self, society: Society) -> GaussianBids:
        """One column per bidder; clones share (mean, std) and draw their own noise."""
        cols = _columns_for(self.n_bidders, society, "the Gaussian mean")
        if cols.size == self.n_bidders:
            return self
        return GaussianBids(self.mean[:, cols], np.asarray(self.std)[:, cols])

    def sample(self, states: IntArray, rng: np.random.Generator) -> FloatArray:
        """Independent Gaussian bids for every bidder at each state, shape (B, K)."""
        s = _states(states, self.n_states)
        mean_T, std_T = self._by_column
        noise = rng.standard_normal((self.n_bidders, s.size))
        noise *= np.take(std_T, s, axis=1)
        noise += np.take(mean_T, s, axis=1)
        return noise.T


# ---------------------------------------------------------------------------- conversion
def as_bid_source(bidders: Any, society: Society, n_states: int) -> BidSource:
    """The bid source :func:`mechanism.rollout` uses: one column per bidder of ``society``.

    Parameters
    ----------
    bidders : array (S, N) or (S, M), or a bid source
        An array is a deterministic :class:`TableBids`. A source with a ``for_society`` method
        (the built-in ones) is bound to the society; any other :class:`BidSource` is used as is
        and must itself return (B, M) bids.
    society : Society
    n_states : int
        S of the MDP; a table or parametric source must cover exactly S states.
    """
    if isinstance(bidders, np.ndarray | list | tuple):
        bidders = TableBids(np.asarray(bidders))
    if not isinstance(bidders, BidSource):
        raise TypeError(
            f"bidders must be a bid table (S, N) or (S, M) or an object with sample(states, rng) -> (B, M); "
            f"got {type(bidders).__name__}."
        )
    n = getattr(bidders, "n_states", None)
    if n is not None and n != n_states:
        raise ValueError(f"the bid source covers {n} states but the MDP has {n_states}; give one row per state.")
    bind = getattr(bidders, "for_society", None)
    return bind(society) if callable(bind) else bidders
