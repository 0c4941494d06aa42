"""Auction rules as pure functions over bid arrays, and the registry of built-in mechanisms.

At every step the state is auctioned among M bidders. With b⁽¹⁾ the highest bid and b⁽²⁾ the
highest *other* bid (a clone counts as another bidder), the winner's utility is
``revenue − price`` and every loser gets 0 (DESIGN §1; Chang et al. 2020, §4):

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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "BUILTINS",
    "MECHANISMS",
    "Mechanism",
    "first_price",
    "highest_bid",
    "highest_bidder",
    "resolve_mechanism",
    "second_highest_bid",
    "second_price",
    "zero_price",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
PriceFn = Callable[[FloatArray, IntArray], FloatArray]
LookaheadFn = Callable[[FloatArray], FloatArray]
AllocateFn = Callable[[FloatArray], IntArray]


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


@dataclass(frozen=True)
class Mechanism:
    """An auction mechanism: who wins, what the winner pays, and what the next state is worth.

    Parameters
    ----------
    name : str
        Registry name.
    price : callable (bids (..., M), winner (...)) -> (...)
        The price the winner pays for the current state.
    lookahead : callable (bids (..., M)) -> (...), or None
        The value credited for the state reached; the revenue is ``r + γ^τ·lookahead(b_{t+1})``
        (0 after a terminal transition). ``None``: no lookahead, revenue = r.
    allocate : callable (bids (..., M)) -> (...), optional
        The winner; default :func:`highest_bidder` with ties to the lowest index.
    paper_name, doc : str
        The name used in Chang et al. (2020) and a one-line description.

    Examples
    --------
    A third-price rule in one line:

    >>> import numpy as np
    >>> third = Mechanism("third_price", price=lambda b, w: np.sort(b, -1)[..., -3],
    ...                   lookahead=lambda b: b.max(-1))
    >>> float(third.utility(np.array([0.3, 0.7, 0.5, 0.69]), 1, 0.1, 0.99, np.array([0.9, 0.8])))
    0.491
    """

    name: str
    price: PriceFn
    lookahead: LookaheadFn | None
    allocate: AllocateFn | None = None
    paper_name: str = ""
    doc: str = ""

    def winner(self, bids: FloatArray) -> IntArray:
        """The winner of each auction, shape (...)."""
        return (self.allocate or highest_bidder)(bids)

    def credit(self, next_bids: FloatArray) -> FloatArray:
        """lookahead(b_{t+1}): the value credited for the state reached (0 when there is none)."""
        if self.lookahead is None:
            return np.zeros(np.shape(next_bids)[:-1])
        return np.asarray(self.lookahead(next_bids), dtype=np.float64)

    def utility(
        self,
        bids: FloatArray,
        winner: IntArray | int,
        reward: FloatArray | float,
        discount: FloatArray | float,
        next_bids: FloatArray,
        terminated: NDArray[np.bool_] | bool = False,
    ) -> FloatArray:
        """The winner's utility U = r + γ^τ·lookahead(b_{t+1})·(1 − terminated) − price(b_t).

        ``discount`` is γ^τ of the step (γ for a literal action).
        """
        bids = np.asarray(bids, dtype=np.float64)
        winner = np.asarray(winner)
        credit = np.where(terminated, 0.0, self.credit(np.asarray(next_bids, dtype=np.float64)))
        revenue = np.asarray(reward) + np.asarray(discount) * credit
        return revenue - np.asarray(self.price(bids, winner), dtype=np.float64)

    def __repr__(self) -> str:
        return f"Mechanism({self.name!r})"


MECHANISMS: dict[str, Mechanism] = {
    "vickrey": Mechanism(
        "vickrey",
        price=second_price,
        lookahead=highest_bid,
        paper_name="Vickrey (V)",
        doc="revenue r + γ^τ·b⁽¹⁾_{t+1}, price b⁽²⁾_t: truthful, creates credit b⁽¹⁾ − b⁽²⁾",
    ),
    "ccv": Mechanism(
        "ccv",
        price=second_price,
        lookahead=second_highest_bid,
        paper_name="Credit Conserving Vickrey (CCV)",
        doc="revenue r + γ^τ·b⁽²⁾_{t+1}, price b⁽²⁾_t: truthful one-shot and credit conserving",
    ),
    "first_price": Mechanism(
        "first_price",
        price=first_price,
        lookahead=highest_bid,
        paper_name="Bucket Brigade (BB)",
        doc="revenue r + γ^τ·b⁽¹⁾_{t+1}, price b⁽¹⁾_t: conserving, not truthful (shading pays)",
    ),
    "env_reward": Mechanism(
        "env_reward",
        price=zero_price,
        lookahead=None,
        paper_name="Environment Reward",
        doc="revenue r_t, price 0: no market at all",
    ),
}
#: The distinct built-in mechanisms, in table order (the registry also holds aliases).
BUILTINS: tuple[str, ...] = tuple(MECHANISMS)
#: Holland's (1985) name for the first-price rule.
MECHANISMS["bucket_brigade"] = MECHANISMS["first_price"]


def resolve_mechanism(mechanism: Mechanism | str) -> Mechanism:
    """A :class:`Mechanism` from itself or its name in :data:`MECHANISMS` (aliases included)."""
    if isinstance(mechanism, Mechanism):
        return mechanism
    if isinstance(mechanism, str):
        if mechanism not in MECHANISMS:
            raise ValueError(
                f"unknown mechanism {mechanism!r}; registered: {', '.join(MECHANISMS)} "
                "(or pass a mechanism.Mechanism object)."
            )
        return MECHANISMS[mechanism]
    raise TypeError(f"mechanism must be a mechanism.Mechanism or a registry name; got {type(mechanism).__name__}.")
