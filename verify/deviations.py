"""Candidate deviations: the finite sets of bids on which a bidder's best deviation is found.

Both equilibrium notions (:mod:`verify.exploitability`, the myopic one, and
:mod:`verify.best_response`, the farsighted one) ask for the supremum over a bid ``x`` of
something that depends on ``x`` only through the outcome of the auction ``(x, b_{−d})``: who
wins, what bidder ``d`` pays and the lookahead ``L`` credited to the state's seller. This module
holds the candidate sets and evaluates every candidate in one batch through
:func:`mechanism.auction`.

**Top-two rules (exact).** For a mechanism with a declared fast path
(:class:`mechanism.TopTwo`) and the others' bids ``c_1, …, c_{M−1}`` fixed, let ``o = max_j c_j``
and ``o₂`` the second-highest of the ``c_j`` (−∞ with fewer than two rivals). Bidder ``d`` wins
exactly when ``x > o``, or ``x = o`` and it is below the lowest index bidding ``o``. Between two
consecutive distinct ``c_j`` (and beyond the extreme ones) the winner is therefore constant, and

* winning: the payment is ``x`` (first price), ``o`` (second price; 0 alone) or 0, and the
  lookahead ``x`` (first), ``o`` (second; 0 alone) or 0;
* losing: the payment is 0 and the lookahead ``o`` (first), ``max(x, o₂)`` (second) or 0;

so on every open piece the outcome is constant except for terms linear in ``x`` with slope
(for a payoff ``f·L − payment`` with ``f`` in {0, 1})

    σ_win(f) = f·[L = first] − [price = first],      σ_lose(f, x) = f·[L = second]·[x > o₂].   (1)

A linear function's supremum over an interval is at an end: a range end (attained), a ``c_j``
itself (attained: the outcome at the tie point is what the tie rule gives), or the open end of a
piece, approached by the float neighbour ``nextafter(c_j, ±∞)``, which is inside the piece and
within one ulp of the end. So ``{range ends} ∪ {c_j, nextafter(c_j, ±∞) inside the range}`` (plus
the current bid, so that not deviating is a candidate) attains every piece's supremum up to one
ulp times the slope (|σ| ≤ 1). The neighbour stands for a *limit* exactly when (1) says the
payoff grows towards the breakpoint (:func:`limit_flags`): e.g. first price without tie priority,
where ``x ↓ o`` approaches but never attains ``v − o``.

**Any other mechanism (a search).** The same points plus the valuation (when there is one), 0,
every rival bid ± a relative step ``REL_STEP·span`` and a grid of ``SEARCH_GRID`` points over the
bid range (or, with no range, over ``[lo − span, hi + span]``, with ``lo, hi`` the extreme bids
and valuations of the auction and ``span = max(hi − lo, |lo|, |hi|, 1)``). It can miss a gain
hidden between candidates: a lower bound, recorded as ``exact = False`` by the callers.

**Action masks.** Where a bidder's action is unavailable it takes no part in the auction
(:mod:`mechanism.auction`): it is nobody's rival there (its bid adds no candidate and counts in no
order statistic, ``others`` holds −inf for it) and, as the deviator, it has one candidate only,
its "no bid": whatever it bids, it never wins, pays nothing and moves no lookahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, TypeVar

import numpy as np
from numpy.typing import NDArray

from mechanism.auction import auction
from mechanism.market import Mechanism, TopTwo

__all__ = ["REL_STEP", "SEARCH_GRID", "Candidates", "Outcomes", "candidates", "limit_flags", "others_of", "outcomes"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]
ScalarT = TypeVar("ScalarT", bound=np.generic)

#: Points of the grid a search lays over the bid range.
SEARCH_GRID = 41
#: The relative step a search adds to and subtracts from every rival bid (times the auction's span).
REL_STEP = 1e-6
#: Bid entries per call of :func:`mechanism.auction` (batches are cut along the auctions axis).
_BATCH_ENTRIES = 1 << 22


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate bids of every (auction, bidder) pair; arrays have shape (N, D, K).

    Column 0 is the bidder's current bid; a candidate outside the bid range is replaced by it.

    Attributes
    ----------
    bids : array (N, D, K)
    side : int8 array (N, D, K)
        +1 for a float neighbour just above a rival bid (the stand-in for ``x ↓ c``), −1 just below,
        0 for a point that is itself the answer (a range end, a rival bid, the current bid, ...).
    others : array (N, D, M − 1)
        The rival bids ``b_{−d}`` of each auction; −inf for a rival that takes no part.
    """

    bids: FloatArray
    side: NDArray[np.int8]
    others: FloatArray


def others_of(bids: NDArray[ScalarT], bidders: IntArray) -> NDArray[ScalarT]:
    """``b_{−d}``: every bid of each auction but bidder d's, shape (N, D, M − 1), in index order (any dtype)."""
    M = bids.shape[1]
    keep = np.arange(M)[None, :] != np.asarray(bidders)[:, None]  # (D, M)
    idx = np.nonzero(keep)[1].reshape(len(bidders), M - 1)
    return bids[:, idx]


class Outcomes(NamedTuple):
    """The auction of every candidate, seen from the deviating bidder; arrays have shape (N, D, K)."""

    winner: IntArray  #: who wins with the candidate bid
    won: BoolArray  #: whether the deviating bidder wins
    payment: FloatArray  #: what the deviating bidder pays (won or lost)
    value: FloatArray  #: L(b): the lookahead credited to the seller of the state


def _span(bids: FloatArray, extra: FloatArray | None) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per auction: the extreme bids (and valuations) ``lo, hi`` and ``span = max(hi − lo, |lo|, |hi|, 1)``.

    NaN entries (the bids and valuations of bidders that take no part) are left out.
    """
    pool = bids if extra is None else np.concatenate([bids, extra.reshape(bids.shape[0], -1)], axis=1)
    lo, hi = np.nanmin(pool, axis=1), np.nanmax(pool, axis=1)
    span = np.maximum.reduce([hi - lo, np.abs(lo), np.abs(hi), np.ones_like(lo)])
    return lo, hi, span


def candidates(
    bids: FloatArray,
    bidders: IntArray,
    *,
    extra: FloatArray | None = None,
    bid_range: tuple[float, float] | None = None,
    search: bool = False,
    available: BoolArray | None = None,
) -> Candidates:
    """The candidate bids of each bidder in ``bidders`` at each auction (module docstring).

    Parameters
    ----------
    bids : array (N, M)
        The profile of each auction.
    bidders : int array (D,)
        The deviating bidders.
    extra : array (N, D, E), optional
        Further points per (auction, bidder), e.g. the valuation.
    bid_range : (lo, hi), optional
        Deviations are confined to ``[lo, hi]`` (the current bid is always a candidate).
    search : bool
        Add the search points (0, rival bids ± a relative step, a grid): for mechanisms without a
        fast path.
    available : bool array (N, M), optional
        Who takes part in each auction (an action mask); default: everyone. A rival that takes no
        part adds no candidate; a deviator that takes none has its current bid only.

    Returns
    -------
    Candidates
        Column 0 is the current bid; the order of the columns is the tie-break order of the callers.
    """
    bidders = np.asarray(bidders, dtype=np.intp)
    N = bids.shape[0]
    D = bidders.size
    if available is not None:
        bids = np.where(available, bids, np.nan)  # "no bid": left out of the span, replaced below
        if extra is not None:
            extra = np.where(available[:, bidders][:, :, None], extra, np.nan)
    others = others_of(bids, bidders)
    current = bids[:, bidders][:, :, None]
    up, down = np.nextafter(others, np.inf), np.nextafter(others, -np.inf)
    cols = [current, others, up, down]
    side = [0, 0, 1, -1]
    rival = [False, True, True, True]  # the columns read off a rival's bid
    if extra is not None:
        cols.insert(1, np.broadcast_to(extra, (N, D, extra.shape[-1])))
        side.insert(1, 0)
        rival.insert(1, False)
    if bid_range is not None:
        cols.insert(1, np.broadcast_to(np.asarray(bid_range, dtype=np.float64), (N, D, 2)))
        side.insert(1, 0)
        rival.insert(1, False)
    if search:
        lo, hi, span = _span(bids, extra)
        step = (REL_STEP * span)[:, None, None]
        t = np.linspace(0.0, 1.0, SEARCH_GRID)
        if bid_range is None:
            grid = (lo - span)[:, None] + (hi - lo + 2 * span)[:, None] * t[None, :]
        else:
            grid = np.broadcast_to(bid_range[0] + (bid_range[1] - bid_range[0]) * t, (N, SEARCH_GRID))
        cols += [np.zeros((N, D, 1)), others + step, others - step, np.broadcast_to(grid[:, None, :], (N, D, t.size))]
        side += [0, 1, -1, 0]
        rival += [False, True, True, False]
    x = np.concatenate([np.broadcast_to(c, (N, D, c.shape[-1])) for c in cols], axis=2)
    marks = np.concatenate([np.full(c.shape[-1], s, dtype=np.int8) for c, s in zip(cols, side, strict=True)])
    sides = np.broadcast_to(marks, x.shape).copy()
    if bid_range is not None:
        out = (x < bid_range[0]) | (x > bid_range[1])
        out[..., 0] = False
        x = np.where(out, current, x)
        sides[out] = 0
    if available is not None:
        x, sides, others = _absent(x, sides, others, cols, rival, available, bidders)
    return Candidates(np.ascontiguousarray(x), sides, others)


def _absent(
    x: FloatArray,
    sides: NDArray[np.int8],
    others: FloatArray,
    cols: list[FloatArray],
    rival: list[bool],
    available: BoolArray,
    bidders: IntArray,
) -> tuple[FloatArray, NDArray[np.int8], FloatArray]:
    """Candidates under a mask: a column read off an absent rival, and every column of an absent deviator,
    become the current bid (side 0); absent rivals are −inf in ``others``."""
    N, D, _ = x.shape
    present = others_of(available, bidders)  # (N, D, M − 1): whether each rival takes part
    widths = [np.ones((N, D, c.shape[-1]), dtype=bool) for c in cols]
    keep = np.concatenate([present if is_rival else w for w, is_rival in zip(widths, rival, strict=True)], axis=2)
    keep &= available[:, bidders][:, :, None]
    return np.where(keep, x, x[..., :1]), np.where(keep, sides, 0).astype(np.int8), np.where(present, others, -np.inf)


def outcomes(
    mechanism: Mechanism, bids: FloatArray, bidders: IntArray, x: FloatArray, available: BoolArray | None = None
) -> Outcomes:
    """Hold the auction of every candidate: ``bids[n]`` with bidder ``bidders[i]``'s bid replaced by ``x[n, i, k]``.

    One (n, D, K, M) batch per call of :func:`mechanism.auction` (cut along n above about 4·10⁶
    bid entries), so user rules are called through their validating wrappers and a NaN or a
    wrong shape is a :class:`~mechanism.MechanismError`. ``available`` (N, M): who takes part in
    each auction (an action mask; default everyone).
    """
    bidders = np.asarray(bidders, dtype=np.intp)
    N, M = bids.shape
    D, K = x.shape[1], x.shape[2]
    winner = np.empty((N, D, K), dtype=np.intp)
    payment, value = np.empty((N, D, K)), np.empty((N, D, K))
    rows = max(1, _BATCH_ENTRIES // max(1, D * K * M))
    d_idx, k_idx = np.arange(D)[:, None], np.arange(K)[None, :]
    for start in range(0, N, rows):
        part = slice(start, min(N, start + rows))
        profiles = np.broadcast_to(bids[part, None, None, :], (part.stop - part.start, D, K, M)).copy()
        profiles[:, d_idx, k_idx, bidders[:, None]] = x[part]
        held = auction(mechanism, profiles, None if available is None else available[part, None, None, :])
        winner[part] = held.winner
        pick = np.broadcast_to(bidders[None, :, None, None], (*held.payments.shape[:-1], 1))
        payment[part] = np.take_along_axis(held.payments, pick, axis=-1)[..., 0]
        value[part] = held.value
    return Outcomes(winner, winner == bidders[None, :, None], payment, value)


def limit_flags(fast: TopTwo, cands: Candidates, won: BoolArray, f: int | FloatArray) -> BoolArray:
    """Whether each candidate only approaches its payoff ``f·L − payment`` as a limit, shape (N, D, K).

    A neighbour above a rival bid (``side = +1``) stands for ``x ↓ c``: a limit when the payoff
    falls with ``x`` on its piece, slope (1) of the module docstring ``< 0``; one below
    (``side = −1``) when it rises. ``f`` (0 or 1, or an array broadcasting to (N, D, K)) is the
    weight of the lookahead in the payoff: 0 in one auction, 1 for a bidder that sold the state.
    """
    others = cands.others
    if others.shape[-1] >= 2:
        o2 = np.sort(others, axis=-1)[..., -2]
    else:
        o2 = np.full(others.shape[:-1], -np.inf)
    first_la, second_la = float(fast.lookahead == "first"), float(fast.lookahead == "second")
    slope_win = f * first_la - float(fast.price == "first")
    slope_lose = f * second_la * (cands.bids > o2[..., None])
    slope = np.where(won, slope_win, slope_lose)
    return ((cands.side > 0) & (slope < 0)) | ((cands.side < 0) & (slope > 0))
