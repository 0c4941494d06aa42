"""One auction step, the only one in Agora: bids in, winner, every bidder's payment and the seller's credit out.

``auction(mechanism, bids)`` is used by the simulator (:func:`mechanism.rollout`), the training
loop (:func:`mechanism.train`) and the analyses (exploitability, best responses, claims). For the
bids b of the state s auctioned at step t it returns

* ``winner`` i*: whose primitive acts at s;
* ``payments`` (..., M): what every bidder pays for s (``price`` is the winner's);
* ``value`` L(b): what s is worth to the bidder that sold it, i.e. the credit of step t − 1. The
  revenue of the winner at t − 1 is r_{t−1} + γ^τ·L(b_t), 0 lookahead after a terminal transition.

Computing the credit of s from the same call that auctions s is what lets a top-two rule get b⁽¹⁾,
b⁽²⁾ once per bid array. :func:`validate_mechanism` is the one-time contract check of a mechanism.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from mechanism.market import Mechanism, MechanismError, TopTwo, _describe
from mechanism.rules import _first_true, _top_two

__all__ = ["Auction", "auction", "validate_mechanism"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


class Auction(NamedTuple):
    """The outcome of the auctions of a batch of bid arrays (..., M)."""

    winner: IntArray  #: (...) the winning bidder
    price: FloatArray  #: (...) what the winner pays
    payments: FloatArray  #: (..., M) what every bidder pays (the winner's entry is ``price``)
    value: FloatArray  #: (...) L(b), the credit the seller of this state receives


def _top_two_auction(fast: TopTwo, bids: FloatArray) -> Auction:
    """The fast path: everything from b⁽¹⁾ and b⁽²⁾ of each bid array, computed once."""
    if bids.shape[-1] == 1:
        first, second = bids[..., 0], np.zeros(bids.shape[:-1])
    else:
        first, second = _top_two(bids)
    if np.isnan(first).any():
        raise ValueError("bids contain NaN; every bid must be a number (check the bid source).")
    winner = _first_true(bids == first[..., None])
    stats = {"first": first, "second": second}
    zero = np.zeros(bids.shape[:-1])
    price = stats.get(fast.price, zero)
    payments = np.zeros(bids.shape)
    np.put_along_axis(payments, winner[..., None], price[..., None], axis=-1)
    return Auction(winner, price, payments, stats.get(fast.lookahead, zero))


def auction(mechanism: Mechanism, bids: FloatArray) -> Auction:
    """Hold the auctions of ``bids`` (..., M) under ``mechanism``: winner, payments and the seller's credit.

    Every user function is called through the validating methods of :class:`Mechanism`, so a
    rule that raises or returns NaN, a wrong shape or an invalid winner is a
    :class:`~mechanism.market.MechanismError` naming it.
    """
    bids = np.asarray(bids, dtype=np.float64)
    if bids.ndim == 0 or bids.shape[-1] == 0:
        raise ValueError(f"bids must have shape (..., M) with M >= 1 bidders; got shape {bids.shape}.")
    if mechanism.fast_path is not None:
        return _top_two_auction(mechanism.fast_path, bids)
    winner = mechanism.winner(bids)
    payments = mechanism.charge(bids, winner)
    price = np.take_along_axis(payments, winner[..., None], axis=-1)[..., 0]
    return Auction(winner, price, payments, mechanism.credit(bids))


# ---------------------------------------------------------------------------- the contract check
#: Auctions in the probe batch that :func:`validate_mechanism` runs every rule on.
_PROBE_AUCTIONS = 48


def _probe_bids(n_bidders: int) -> FloatArray:
    """A fixed batch of bid arrays (48, M): spread, negative, large, tied, all equal, zeros."""
    rng = np.random.default_rng(20200702)
    b = rng.uniform(-1.0, 2.0, size=(_PROBE_AUCTIONS, n_bidders))
    b[8:16] = np.round(b[8:16] * 4) / 4  # a coarse grid: ties between bidders
    b[16:20] = b[16:20, :1]  # all bids equal
    b[20:24] = 0.0
    b[24:28] *= 100.0
    if n_bidders > 1:
        b[28:36, 1] = b[28:36, 0]  # the top two may tie
    return b


def _disagree(a: FloatArray, b: FloatArray) -> int | None:
    """The first auction (row of the flattened batch) where a and b differ by more than rounding, or None."""
    a2 = np.asarray(a, dtype=np.float64).reshape(_PROBE_AUCTIONS, -1)
    b2 = np.asarray(b, dtype=np.float64).reshape(_PROBE_AUCTIONS, -1)
    bad = ~np.isclose(a2, b2, rtol=1e-12, atol=1e-12).all(axis=1)
    return int(np.argmax(bad)) if bad.any() else None


@lru_cache(maxsize=256)
def validate_mechanism(mechanism: Mechanism, n_bidders: int) -> Mechanism:
    """Check once that ``mechanism``'s rules can be used with ``n_bidders`` bidders; return it.

    On a fixed batch of bid arrays (spread, negative, large, tied), every rule must return valid
    output (see :class:`Mechanism`), the same output when called twice (a rule must be a function
    of the bids: a random rule would make every analysis contradict itself), the same output on the
    batch reshaped to (2, 24, M) (it is vectorised over leading axes, as the simulator calls it),
    ``price`` must equal ``payments`` at the winner when both are given, and a declared fast path
    must agree with the functions. Cached per (mechanism, n_bidders).

    Raises
    ------
    MechanismError
        Naming the rule and the auction where it fails.
    """
    if not isinstance(mechanism, Mechanism):
        raise TypeError(f"mechanism must be a mechanism.Mechanism; got {type(mechanism).__name__}.")
    bids = _probe_bids(n_bidders)
    slow = Mechanism(
        mechanism.name, mechanism.price, mechanism.lookahead, mechanism.allocate, payments=mechanism.payments
    )
    first = auction(slow, bids)
    again = auction(slow, bids)
    folded = auction(slow, bids.reshape(2, _PROBE_AUCTIONS // 2, n_bidders))
    rules = {
        "winner": (mechanism.allocate, "allocate"),
        "payments": (mechanism.payments or mechanism.price, "payments" if mechanism.payments else "price"),
        "value": (mechanism.lookahead, "lookahead"),
    }
    for field, (fn, role) in rules.items():
        for other, why in ((again, "a second call on the same bids"), (folded, "the same bids as a (2, 24, M) batch")):
            k = _disagree(getattr(first, field), getattr(other, field))
            if k is not None:
                raise MechanismError(
                    f"mechanism {mechanism.name!r}: its {role} function {_describe(fn)} is not a function of the bids: "
                    f"on bids {np.round(bids[k], 6).tolist()} it returned {getattr(first, field)[k]!r} and, on "
                    f"{why}, {getattr(other, field).reshape(first.winner.size, -1)[k]!r}. Agora's analyses need "
                    "deterministic rules vectorised over leading axes (draw any randomness from the bids' values)."
                )
    if mechanism.price is not None and mechanism.payments is not None:
        stated = mechanism.winner_price(bids, first.winner)
        k = _disagree(stated, first.price)
        if k is not None:
            raise MechanismError(
                f"mechanism {mechanism.name!r}: its price function {_describe(mechanism.price)} says the winner pays "
                f"{stated[k]:.6g} but its payments function says {first.price[k]:.6g} (bids "
                f"{np.round(bids[k], 6).tolist()}); give one of the two, or make them agree."
            )
    if mechanism.fast_path is not None:
        fast = _top_two_auction(mechanism.fast_path, bids)
        for field in Auction._fields:
            k = _disagree(getattr(first, field), getattr(fast, field))
            if k is not None:
                raise MechanismError(
                    f"mechanism {mechanism.name!r} declares fast_path={mechanism.fast_path} but its rules disagree "
                    f"on the {field}: {getattr(first, field)[k]!r} against {getattr(fast, field)[k]!r} for bids "
                    f"{np.round(bids[k], 6).tolist()}. Drop the declaration or fix the rules."
                )
    return mechanism
