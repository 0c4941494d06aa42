"""Planted mechanisms: rules with a known defect, for the tests of the claim checker.

Each is a :class:`mechanism.Mechanism` whose verdicts the tests know by construction. Broken
ones (NaN prices, invalid winners, random rules) must give *error* verdicts, never ✓ or ✗;
non-truthful price rules must be caught by the ``truthful`` search. Importable from the command
line as ``tests.planted:NAME``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from mechanism import Mechanism, highest_bid, highest_bidder, second_highest_bid, second_price

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


def _nan_price(bids: FloatArray, winner: IntArray) -> FloatArray:
    return np.full(np.shape(winner), np.nan)


def _minus_one(bids: FloatArray) -> IntArray:
    return np.full(bids.shape[:-1], -1, dtype=np.intp)


def _ninety_nine(bids: FloatArray) -> IntArray:
    return np.full(bids.shape[:-1], 99, dtype=np.intp)


def _float_winner(bids: FloatArray) -> FloatArray:
    return highest_bidder(bids).astype(np.float64)


def _random_price(bids: FloatArray, winner: IntArray) -> FloatArray:
    return second_price(bids, winner) + np.random.default_rng().uniform(0.0, 0.1, size=np.shape(winner))


def _rounded_price(bids: FloatArray, winner: IntArray) -> FloatArray:
    """The second price rounded up to the next multiple of 0.25."""
    return np.ceil(second_price(bids, winner) * 4.0) / 4.0


def _favouritism(bids: FloatArray, winner: IntArray) -> FloatArray:
    """Second price, except that bidder 0 pays nothing when it wins."""
    return np.where(winner == 0, 0.0, second_price(bids, winner))


def _reserve(bids: FloatArray, winner: IntArray) -> FloatArray:
    return np.maximum(second_price(bids, winner), 0.3)


def _posted(bids: FloatArray, winner: IntArray) -> FloatArray:
    return np.full(np.shape(winner), 0.5)


def _median(bids: FloatArray, winner: IntArray) -> FloatArray:
    return np.median(bids, axis=-1)


def _third_highest(bids: FloatArray, winner: IntArray) -> FloatArray:
    """b⁽³⁾, 0 with fewer than three bidders (the reserve-price convention of mechanism.rules)."""
    if bids.shape[-1] < 3:
        return np.zeros(bids.shape[:-1])
    return np.sort(bids, axis=-1)[..., -3]


NAN_PRICE = Mechanism("nan_price", price=_nan_price, lookahead=highest_bid)
ALLOCATE_MINUS_ONE = Mechanism("allocate_minus_one", price=second_price, lookahead=highest_bid, allocate=_minus_one)
ALLOCATE_99 = Mechanism("allocate_99", price=second_price, lookahead=highest_bid, allocate=_ninety_nine)
ALLOCATE_FLOAT = Mechanism("allocate_float", price=second_price, lookahead=highest_bid, allocate=_float_winner)  # type: ignore[arg-type]
RANDOM_PRICE = Mechanism("random_price", price=_random_price, lookahead=highest_bid)

ROUNDED = Mechanism("rounded_vickrey", price=_rounded_price, lookahead=highest_bid)
FAVOURITISM = Mechanism("favouritism", price=_favouritism, lookahead=highest_bid)
RESERVE = Mechanism("reserve_0.3", price=_reserve, lookahead=highest_bid)
POSTED = Mechanism("posted_0.5", price=_posted, lookahead=highest_bid)
MEDIAN = Mechanism("median_price", price=_median, lookahead=highest_bid)
THIRD_PRICE = Mechanism("third_price", price=_third_highest, lookahead=highest_bid)

#: Vickrey's price with a second-price lookahead: conserves credit like ccv.
VICKREY_2ND_LOOKAHEAD = Mechanism("vickrey_2nd_lookahead", price=second_price, lookahead=second_highest_bid)
#: ccv's price with a first-price lookahead: vickrey by another name, so it creates credit and self-credit pays.
CCV_1ST_LOOKAHEAD = Mechanism("ccv_1st_lookahead", price=second_price, lookahead=highest_bid)

#: The non-truthful price rules the ``truthful`` search must catch at its default budget.
NOT_TRUTHFUL = (ROUNDED, FAVOURITISM, RESERVE, POSTED, MEDIAN)
#: Rules that cannot be evaluated: every verdict depending on them must be an error.
BROKEN = (NAN_PRICE, ALLOCATE_MINUS_ONE, ALLOCATE_99, ALLOCATE_FLOAT, RANDOM_PRICE)
