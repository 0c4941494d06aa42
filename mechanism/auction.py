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

**Action masks: who takes part** (the one home of the rule; DESIGN §1). When an MDP's action ``a``
is unavailable at s (:attr:`tasks.FiniteMDP.available`), every bidder of primitive ``a``, clones
included, takes no part in the auction of s. ``auction(mechanism, bids, available=takes_part)``
holds each auction among the bidders that take part, in their index order, and calls the
mechanism on *their bids only* (an array (..., k), k the number taking part), so:

* a bidder that takes no part never wins, pays nothing and is not seen by the mechanism: its
  entry of ``bids`` is never read (Agora writes NaN there, "no bid"), and no NaN or −inf reaches
  a user's rule;
* ties, prices and the lookahead are those of the smaller auction: b⁽¹⁾ and b⁽²⁾ are taken over
  the bidders that take part, so the seller of s is credited L(available bids at s);
* with ``clones >= 2`` every available primitive has a twin, so every auction has k >= 2;
* a *lone bidder* (k = 1: a solitary society with one available action at s) holds an auction
  without a competitor, exactly as a one-bidder society does (:mod:`mechanism.rules`): it wins,
  a second price is 0 (a reserve price of 0), and so is a second-price lookahead (ccv credits 0
  for a state with one available action); a first price is its own bid, a first-price lookahead
  its own bid. A user's rule is called on the (..., 1) array and must handle it;
  :func:`validate_for_mask` checks this once for every auction size a mask holds.

Callers get the (S, M) mask of who takes part from :func:`mechanism.society.bidder_mask` (the
(S, A) action mask expanded to the bidders, ``available[s, m % A]``) and pass its rows for the
states auctioned. Without a mask (``available=None``, or every action available) nothing changes.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mechanism.market import Mechanism, MechanismError, TopTwo, _describe
from mechanism.rules import _first_true, _top_two

__all__ = ["Auction", "auction", "auction_at", "validate_for_mask", "validate_mechanism"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


class Auction(NamedTuple):
    """The outcome of the auctions of a batch of bid arrays (..., M)."""

    winner: IntArray  #: (...) the winning bidder
    price: FloatArray  #: (...) what the winner pays
    payments: FloatArray  #: (..., M) what every bidder pays (the winner's entry is ``price``)
    value: FloatArray  #: (...) L(b), the credit the seller of this state receives


def _top_two_auction(fast: TopTwo, bids: FloatArray, lone: NDArray[np.bool_] | None = None) -> Auction:
    """The fast path: everything from b⁽¹⁾ and b⁽²⁾ of each bid array, computed once.

    ``lone`` marks auctions with a single bidder taking part (the others' bids set to −inf by
    :func:`auction`): their b⁽²⁾ is 0, the one-bidder convention.
    """
    if bids.shape[-1] == 1:
        first, second = bids[..., 0], np.zeros(bids.shape[:-1])
    else:
        first, second = _top_two(bids)
        if lone is not None:
            second = np.where(lone, 0.0, second)
    if np.isnan(first).any():
        raise ValueError("bids contain NaN; every bid must be a number (check the bid source).")
    winner = _first_true(bids == first[..., None])
    stats = {"first": first, "second": second}
    zero = np.zeros(bids.shape[:-1])
    price = stats.get(fast.price, zero)
    payments = np.zeros(bids.shape)
    np.put_along_axis(payments, winner[..., None], price[..., None], axis=-1)
    return Auction(winner, price, payments, stats.get(fast.lookahead, zero))


def _held(mechanism: Mechanism, bids: FloatArray) -> Auction:
    """The auctions of ``bids`` (..., M) with every bidder taking part."""
    if mechanism.fast_path is not None:
        return _top_two_auction(mechanism.fast_path, bids)
    winner = mechanism.winner(bids)
    payments = mechanism.charge(bids, winner)
    price = np.take_along_axis(payments, winner[..., None], axis=-1)[..., 0]
    return Auction(winner, price, payments, mechanism.credit(bids))


def _participants(available: ArrayLike, shape: tuple[int, ...]) -> NDArray[np.bool_]:
    """``available`` as a bool mask of the bids' shape, each auction with at least one bidder taking part."""
    mask = np.asarray(available)
    if mask.dtype != bool:
        raise TypeError(f"available must be a boolean mask of who takes part in each auction; got dtype {mask.dtype}.")
    try:
        mask = np.broadcast_to(mask, shape)
    except ValueError as err:
        raise ValueError(f"available has shape {mask.shape}; it must broadcast to the bids' shape {shape}.") from err
    if not mask.any(axis=-1).all():
        at = tuple(int(i) for i in np.argwhere(~mask.any(axis=-1))[0])
        raise ValueError(
            f"the auction at index {at} has no bidder taking part (available is all False there); every "
            "state needs an available action (tasks.FiniteMDP guarantees one)."
        )
    return mask


def _grouped(mechanism: Mechanism, bids: FloatArray, part: NDArray[np.bool_]) -> Auction:
    """Masked auctions through the mechanism's own rules, one call per number k of bidders taking part.

    The k bidders of each auction keep their index order (a stable sort puts them first), so a
    rule's tie-break among them is unchanged; results are mapped back to the M bidders.
    """
    M = bids.shape[-1]
    flat, part2 = bids.reshape(-1, M), part.reshape(-1, M)
    counts = part2.sum(axis=1)
    order = np.argsort(~part2, axis=1, kind="stable")
    n = flat.shape[0]
    winner, price, value = np.empty(n, dtype=np.intp), np.empty(n), np.empty(n)
    payments = np.zeros((n, M))
    for k in np.unique(counts):
        rows = np.flatnonzero(counts == k)
        cols = order[rows, :k]
        held = _held(mechanism, np.take_along_axis(flat[rows], cols, axis=1))
        winner[rows] = np.take_along_axis(cols, held.winner[:, None], axis=1)[:, 0]
        price[rows], value[rows] = held.price, held.value
        payments[rows[:, None], cols] = held.payments
    lead = bids.shape[:-1]
    return Auction(winner.reshape(lead), price.reshape(lead), payments.reshape(bids.shape), value.reshape(lead))


def auction(mechanism: Mechanism, bids: FloatArray, available: ArrayLike | None = None) -> Auction:
    """Hold the auctions of ``bids`` (..., M) under ``mechanism``: winner, payments and the seller's credit.

    Every user function is called through the validating methods of :class:`Mechanism`, so a
    rule that raises or returns NaN, a wrong shape or an invalid winner is a
    :class:`~mechanism.market.MechanismError` naming it.

    Parameters
    ----------
    mechanism : Mechanism
    bids : array (..., M)
    available : bool array broadcasting to (..., M), optional
        Which bidders take part in each auction (an action mask expanded to the bidders, module
        docstring); the others' bids are never read and they win and pay nothing. Default: all.
    """
    bids = np.asarray(bids, dtype=np.float64)
    if bids.ndim == 0 or bids.shape[-1] == 0:
        raise ValueError(f"bids must have shape (..., M) with M >= 1 bidders; got shape {bids.shape}.")
    if available is None:
        return _held(mechanism, bids)
    part = _participants(available, bids.shape)
    if part.all():
        return _held(mechanism, bids)
    if mechanism.fast_path is not None:
        # −inf never wins nor ties a finite top bid; an auction left with one bidder has b⁽²⁾ = 0.
        lone = part.sum(axis=-1) == 1
        return _top_two_auction(mechanism.fast_path, np.where(part, bids, -np.inf), lone)
    return _grouped(mechanism, bids, part)


def auction_at(
    mechanism: Mechanism, bids: FloatArray, states: NDArray[np.intp], takes_part: NDArray[np.bool_] | None
) -> Auction:
    """The auctions of the states ``states`` (...) with bids (..., M), under an (S, M) mask of who takes part.

    The simulator's and the training loop's auction step. With a mask (:func:`mechanism.society.bidder_mask`;
    None: everyone takes part) the bids of the bidders that take no part are overwritten with NaN
    *in place* (what Agora records for them: no bid; ``bids`` must be writeable) and the auction
    is held among the others (module docstring).
    """
    if takes_part is None:
        return auction(mechanism, bids)
    part = takes_part[states]
    np.copyto(bids, np.nan, where=~part)
    return auction(mechanism, bids, part)


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


def validate_for_mask(mechanism: Mechanism, takes_part: NDArray[np.bool_] | None, n_bidders: int) -> Mechanism:
    """:func:`validate_mechanism` for ``n_bidders`` and for every smaller auction an action mask holds.

    ``takes_part`` (S, M) says which bidders take part at each state (:func:`mechanism.society.bidder_mask`;
    None: all). Under a mask the mechanism is called on the bids of the k bidders that take part
    (module docstring), so its rules must work for every such k; a rule that does not is a
    :class:`MechanismError` naming a state that needs it.
    """
    validate_mechanism(mechanism, n_bidders)
    if takes_part is None:
        return mechanism
    counts = np.asarray(takes_part).sum(axis=1)
    for k in np.unique(counts[counts != n_bidders]):
        try:
            validate_mechanism(mechanism, int(k))
        except MechanismError as err:
            s = int(np.argmax(counts == k))
            raise MechanismError(
                f"{err} (The MDP's action mask leaves {int(k)} of {n_bidders} bidders in the auction at state {s}: "
                "the mechanism is called on the bids of the bidders that take part only.)"
            ) from err
    return mechanism
