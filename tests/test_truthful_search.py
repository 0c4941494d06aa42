"""The ``truthful`` claim searches the continuum: breakpoints of price rules are found, not stepped over."""

import numpy as np
import pytest

from mechanism import MECHANISMS, Mechanism, auction
from tests.planted import NOT_TRUTHFUL, ROUNDED
from verify import search
from verify.claims import DEFAULT_BUDGET, truthful
from verify.strategies import BID_GRID


def _utility(mech: Mechanism, bids: np.ndarray, bidder: int, value: float) -> float:
    out = auction(mech, bids[None, :])
    return float((value if out.winner[0] == bidder else 0.0) - out.payments[0, bidder])


@pytest.mark.parametrize("clones", [1, 2])
@pytest.mark.parametrize("mech", NOT_TRUTHFUL, ids=lambda m: m.name)
def test_non_truthful_price_rules_fail_at_the_default_budget(mech: Mechanism, clones: int) -> None:
    v = truthful(mech, clones)
    assert v.ran
    assert not v.holds, f"{mech.name} x{clones} passed {v.examples_tried} auctions"
    cx = v.counterexample
    assert cx is not None
    # Re-derive the gain from the printed numbers: the bidder's valuation is its bid.
    bids, j, x = cx.bids[0], cx.bidder, float(cx.deviation)
    assert bids[j] == cx.numbers["valuation"]
    deviated = bids.copy()
    deviated[j] = x
    if not cx.numbers["limit"]:
        gain = _utility(mech, deviated, j, bids[j]) - _utility(mech, bids, j, bids[j])
        assert gain == pytest.approx(cx.numbers["gain"])
        assert gain > 1e-9


@pytest.mark.parametrize("clones", [1, 2])
def test_vickrey_and_ccv_hold_and_first_price_fails(clones: int) -> None:
    for name in ("vickrey", "ccv"):
        v = truthful(MECHANISMS[name], clones)
        assert v.holds, str(v.counterexample)
        assert v.examples_tried == DEFAULT_BUDGET  # the budget counts distinct auctions
    assert not truthful(MECHANISMS["first_price"], clones).holds


@pytest.mark.parametrize("clones", [1, 2])
def test_planted_bug_a_grid_only_search_misses_the_rounded_price(clones: int) -> None:
    # On the grid (0, .25, .5, .75, 1) the rounded second price is the second price: nothing to find there.
    on_grid = truthful(ROUNDED, clones, span=None)
    assert on_grid.holds
    assert f"the grid {BID_GRID}" in on_grid.searched
    assert not truthful(ROUNDED, clones).holds


def test_the_rounded_price_counterexample_sits_between_a_bid_and_its_rounding() -> None:
    cx = truthful(ROUNDED, 1).counterexample
    assert cx is not None
    bids, j = cx.bids[0], cx.bidder
    others = np.delete(bids, j)
    price = np.ceil(others.max() * 4) / 4
    assert others.max() <= bids[j] < price  # wins (ties to the lower index) and pays more than it is worth
    assert cx.numbers["truthful_utility"] < 0


@pytest.mark.parametrize("mech", [ROUNDED, MECHANISMS["first_price"]], ids=lambda m: m.name)
def test_same_seed_same_verdict_bit_for_bit(mech: Mechanism) -> None:
    a = truthful(mech, 2, 60, 7)
    search._POOLS.clear()  # generate the cases again
    b = truthful(mech, 2, 60, 7)
    assert {**a.to_dict(), "seconds": 0} == {**b.to_dict(), "seconds": 0}
    assert np.array_equal(a.counterexample.bids, b.counterexample.bids)
    assert a.counterexample.deviation == b.counterexample.deviation


def test_the_search_space_reaches_negative_large_and_neighbouring_bids() -> None:
    from verify.strategies import one_auctions

    space = search.Space(("test-one-auctions", 2), lambda: one_auctions(2))
    cases = [case for _, case in search.generate(space, 200, 0)]
    bids = np.concatenate([c.bids for c in cases])
    assert (bids < 0).any()
    assert (bids > 1).any()
    assert not np.isin(bids, BID_GRID).all()  # floats off the grid
    assert np.isin(bids, BID_GRID).mean() > 0.3  # and grid values, so ties stay common
    nudged = [c for c in cases if np.any(np.delete(c.bids, c.bidder) == np.nextafter(c.bids[c.bidder], np.inf))]
    assert nudged  # a valuation one float below a rival's bid
