"""Auction rules as pure functions over bid arrays: the pieces the registered mechanisms are made of.

At every step the state is auctioned among M bidders. With b⁽¹⁾ the highest bid and b⁽²⁾ the
highest *other* bid (a clone counts as another bidder), the paper's mechanisms give the winner
``revenue − price`` and every loser 0 (DESIGN §1; Chang et al. 2020, §4; the records and the
registry are in :mod:`mechanism.market` and :mod:`mechanism.registry`):

========================  ============================  ===========  =====================
registry name             revenue                       price        paper name
========================  ============================  ===========  =====================
``vickrey``               r_t + γ^τ·b⁽¹⁾_{t+1}          b⁽²⁾_t       Vickrey (V)
``ccv``                   r_t + γ^τ·b⁽²⁾_{t+1}          b⁽²⁾_t       Credit Conserving Vickrey
``first_price``           r_t + γ^τ·b⁽¹⁾_{t+1}          b⁽¹⁾_t       Bucket Brigade (BB)
``env_reward``            r_t                           0            Environment Reward
========================  ============================  ===========  =====================

Conventions, stated once:

* **Ties** go to the lowest index (the authors' code does the same); pass a
  ``numpy.random.Generator`` to :func:`highest_bidder` for a uniformly random tie-break.
* **A single bidder** has no rival, so the second price b⁽²⁾ is 0 by convention (a reserve
  price of 0), and so is a second-price lookahead. Negative bids are allowed and keep their sign.
* Every rule is vectorised over leading axes: ``bids`` has shape (..., M), ``winner`` shape (...).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "first_price",
    "highest_bid",
    "highest_bidder",
    "own_bid_payments",
    "second_highest_bid",
    "second_price",
    "zero_price",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


def _first_true(mask: NDArray[np.bool_]) -> IntArray:
    """Index of the first True along the last axis (every row holds one).

    ``M − max_j(mask_j·(M − j))`` uses only elementwise products and a max, which stay fast when
    the bidder axis is the slow one in memory (the layout :func:`mechanism.rollout` keeps); the
    weights use the narrowest unsigned type that holds M (one byte up to 255 bidders).
    """
    M = mask.shape[-1]
    weights = np.arange(M, 0, -1, dtype=np.min_scalar_type(M))
    return M - (mask * weights).max(axis=-1).astype(np.intp)


def _check_bids(bids: FloatArray) -> FloatArray:
    bids = np.asarray(bids, dtype=np.float64)
    if bids.ndim == 0 or bids.shape[-1] == 0:
        raise ValueError(f"bids must have shape (..., M) with M >= 1 bidders; got shape {bids.shape}.")
    return bids


def highest_bidder(bids: FloatArray, rng: np.random.Generator | None = None) -> IntArray:
    """Winner of each auction: the highest bid; ties to the lowest index, or uniformly at random.

    Parameters
    ----------
    bids : array (..., M)
        Bids; NaN is refused.
    rng : numpy.random.Generator, optional
        When given, a tie among the highest bids is broken uniformly at random.

    Returns
    -------
    winner : int array (...)
    """
    bids = _check_bids(bids)
    top = bids.max(axis=-1, keepdims=True)
    if np.isnan(top).any():
        raise ValueError("bids contain NaN; every bid must be a number (check the bid source).")
    tied = bids == top
    if rng is not None:
        # Random keys on the tied entries only; the largest key is uniform among them.
        keys = np.where(tied, rng.random(bids.shape), -1.0)
        tied = keys == keys.max(axis=-1, keepdims=True)
    return _first_true(tied)


def highest_bid(bids: FloatArray) -> FloatArray:
    """b⁽¹⁾: the highest bid of each auction, shape (...)."""
    return np.max(bids, axis=-1)


def _top_two(bids: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(b⁽¹⁾, b⁽²⁾) of bids (..., M) with M >= 2, in one pass over the bidders.

    Bidder by bidder: b⁽²⁾ ← max(b⁽²⁾, min(b⁽¹⁾, bⱼ)), then b⁽¹⁾ ← max(b⁽¹⁾, bⱼ); a bid equal to
    the current top lifts b⁽²⁾ to it, so a tied twin counts. 3(M − 1) elementwise operations on
    arrays of shape (...), contiguous in the layout :func:`mechanism.rollout` keeps; a NaN bid
    makes both NaN.
    """
    first = bids[..., 0].copy()
    second = np.full(first.shape, -np.inf)
    low = np.empty_like(first)
    for j in range(1, bids.shape[-1]):
        b_j = bids[..., j]
        np.minimum(first, b_j, out=low)
        np.maximum(second, low, out=second)
        np.maximum(first, b_j, out=first)
    return first, second


def second_highest_bid(bids: FloatArray) -> FloatArray:
    """b⁽²⁾: the second-highest bid (a tied twin counts), shape (...); 0 when M = 1 by convention."""
    bids = _check_bids(bids)
    if bids.shape[-1] < 2:
        return np.zeros(bids.shape[:-1])
    return _top_two(bids)[1]


def _others_best(bids: FloatArray, winner: IntArray) -> FloatArray:
    """max_{j ≠ winner} b_j: the highest bid of everyone but the winner; 0 when M = 1.

    If the winner holds the top bid, everyone else's best is b⁽²⁾ (a tied twin counts);
    otherwise it is b⁽¹⁾.
    """
    bids = _check_bids(bids)
    if bids.shape[-1] < 2:
        return np.zeros(bids.shape[:-1])
    w = np.asarray(winner)
    own = np.take_along_axis(bids, w[..., None], axis=-1)[..., 0]
    top, second = _top_two(bids)
    return np.where(own == top, second, top)


def second_price(bids: FloatArray, winner: IntArray) -> FloatArray:
    """Vickrey price: the winner pays max_{j≠i*} bʲ_t, the highest bid but its own (= b⁽²⁾_t)."""
    return _others_best(bids, winner)


def first_price(bids: FloatArray, winner: IntArray) -> FloatArray:
    """First-price (bucket brigade) price: the winner pays its own bid b^{i*}_t."""
    return np.take_along_axis(np.asarray(bids, dtype=np.float64), np.asarray(winner)[..., None], -1)[..., 0]


def zero_price(bids: FloatArray, winner: IntArray) -> FloatArray:
    """No payment: the environment-reward society pays nothing for the state."""
    return np.zeros(np.shape(winner))


def own_bid_payments(bids: FloatArray, winner: IntArray) -> FloatArray:
    """All-pay: every bidder pays its own bid, winner or not, shape (..., M)."""
    return np.array(bids, dtype=np.float64)
