"""Auction rules: the hand-worked table, tie conventions, and cross-checks against np.sort/argmax."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mechanism.market as market
from mechanism import (
    BUILTINS,
    MECHANISMS,
    Mechanism,
    first_price,
    highest_bid,
    highest_bidder,
    resolve_mechanism,
    second_highest_bid,
    second_price,
)

# The worked example of the issue: bids (0.3, 0.7, 0.5, 0.69), bidder 1 wins, r = 0.1, γ = 0.99,
# next auction b⁽¹⁾ = 0.9, b⁽²⁾ = 0.8. Utilities by hand (DESIGN §1 table):
#   vickrey     0.1 + 0.99·0.9 − 0.69 = 0.301
#   ccv         0.1 + 0.99·0.8 − 0.69 = 0.202
#   first_price 0.1 + 0.99·0.9 − 0.70 = 0.291
#   env_reward  0.1
BIDS = np.array([0.3, 0.7, 0.5, 0.69])
NEXT = np.array([0.8, 0.1, 0.9])
HAND = {"vickrey": 0.301, "ccv": 0.202, "first_price": 0.291, "bucket_brigade": 0.291, "env_reward": 0.1}


@pytest.mark.parametrize(("name", "expected"), HAND.items())
def test_hand_worked_utilities(name: str, expected: float) -> None:
    m = MECHANISMS[name]
    assert int(m.winner(BIDS)) == 1
    assert float(m.utility(BIDS, 1, 0.1, 0.99, NEXT)) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("name", "price", "credit"), [
    ("vickrey", 0.69, 0.9), ("ccv", 0.69, 0.8), ("first_price", 0.7, 0.9), ("env_reward", 0.0, 0.0),
])
def test_hand_worked_prices_and_credits(name: str, price: float, credit: float) -> None:
    m = MECHANISMS[name]
    assert float(m.price(BIDS, np.asarray(1))) == price
    assert float(m.credit(NEXT)) == credit


@pytest.mark.parametrize("name", BUILTINS)
def test_terminal_transition_has_no_lookahead(name: str) -> None:
    m = MECHANISMS[name]
    price = float(m.price(BIDS, np.asarray(1)))
    assert float(m.utility(BIDS, 1, 0.1, 0.99, NEXT, terminated=True)) == pytest.approx(0.1 - price, abs=1e-15)


def test_registry() -> None:
    assert BUILTINS == ("vickrey", "ccv", "first_price", "env_reward")
    assert MECHANISMS["bucket_brigade"] is MECHANISMS["first_price"]
    assert MECHANISMS["env_reward"].lookahead is None


def test_two_top_bids_tie() -> None:
    b = np.array([0.5, 0.7, 0.7])
    assert int(highest_bidder(b)) == 1  # ties to the lowest index
    assert float(second_highest_bid(b)) == 0.7  # the tied twin counts
    assert float(second_price(b, np.asarray(1))) == 0.7
    assert float(second_price(b, np.asarray(2))) == 0.7
    assert float(MECHANISMS["vickrey"].utility(b, 1, 0.0, 0.9, b)) == pytest.approx(0.9 * 0.7 - 0.7)


def test_all_bids_equal() -> None:
    b = np.full(4, 0.25)
    assert int(highest_bidder(b)) == 0
    assert float(second_highest_bid(b)) == 0.25
    assert float(second_price(b, np.asarray(0))) == 0.25 == float(first_price(b, np.asarray(0)))


def test_single_bidder_second_price_is_zero() -> None:
    # Convention (rules.py docstring): with M = 1 there is no rival, b⁽²⁾ = 0 (a zero reserve price).
    b = np.array([[0.4], [-0.3]])
    assert highest_bidder(b).tolist() == [0, 0]
    assert second_highest_bid(b).tolist() == [0.0, 0.0]
    assert second_price(b, np.zeros(2, dtype=np.intp)).tolist() == [0.0, 0.0]
    assert float(MECHANISMS["ccv"].utility(b[0], 0, 0.1, 0.5, b[0])) == pytest.approx(0.1)


def test_negative_bids_keep_their_sign() -> None:
    b = np.array([-0.5, -0.2, -0.9])
    assert int(highest_bidder(b)) == 1
    assert float(second_price(b, np.asarray(1))) == -0.5
    assert float(first_price(b, np.asarray(1))) == -0.2
    assert float(second_highest_bid(b)) == -0.5
    assert float(highest_bid(b)) == -0.2


def test_price_of_a_non_top_winner() -> None:
    # A custom allocation may pick a low bidder: everyone else's best is then b⁽¹⁾.
    b = np.array([0.3, 0.7, 0.5])
    assert float(second_price(b, np.asarray(0))) == 0.7
    assert float(second_price(b, np.asarray(1))) == 0.5


def test_random_tie_break_is_uniform_and_seeded() -> None:
    b = np.tile(np.array([0.7, 0.2, 0.7, 0.7]), (30_000, 1))
    w = highest_bidder(b, np.random.default_rng(3))
    assert np.array_equal(w, highest_bidder(b, np.random.default_rng(3)))
    assert not np.array_equal(w, highest_bidder(b, np.random.default_rng(4)))
    freq = np.bincount(w, minlength=4) / w.size
    assert freq[1] == 0.0  # only tied top bidders can win
    # Each of the 3 tied bidders wins with probability 1/3; binomial sd = sqrt(2/9/30000) ≈ 0.0027, 5 sd.
    assert np.abs(freq[[0, 2, 3]] - 1 / 3).max() < 5 * np.sqrt(2 / 9 / w.size)


def test_nan_bids_are_refused() -> None:
    with pytest.raises(ValueError, match="NaN"):
        highest_bidder(np.array([0.1, np.nan]))
    with pytest.raises(ValueError, match="M >= 1"):
        highest_bidder(np.zeros((3, 0)))


def test_mechanism_doctests() -> None:
    result = doctest.testmod(market, verbose=False)
    assert result.attempted >= 3
    assert result.failed == 0


def test_third_price_prototype() -> None:
    third = Mechanism("third_price", price=lambda b, w: np.sort(b, -1)[..., -3], lookahead=lambda b: b.max(-1))
    # 0.1 + 0.99·0.9 − 0.5 (third-highest of 0.3, 0.7, 0.5, 0.69) = 0.491
    assert float(third.utility(BIDS, 1, 0.1, 0.99, NEXT)) == pytest.approx(0.491, abs=1e-12)


GRID = (0.0, 0.25, 0.5, 0.75, 1.0, -0.5)


@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.integers(1, 5)),
        elements=st.sampled_from(GRID),
    ),
    st.booleans(),
)
def test_rules_match_sorting(bids: np.ndarray, transposed: bool) -> None:
    """Cross-check against np.argmax and np.sort, in either memory layout."""
    if transposed:
        bids = np.ascontiguousarray(bids.T).T
    w = highest_bidder(bids)
    assert np.array_equal(w, np.argmax(bids, axis=-1))
    srt = np.sort(bids, axis=-1)
    assert np.array_equal(highest_bid(bids), srt[:, -1])
    second = srt[:, -2] if bids.shape[1] > 1 else np.zeros(bids.shape[0])
    assert np.array_equal(second_highest_bid(bids), second)
    assert np.array_equal(second_price(bids, w), second)
    assert np.array_equal(first_price(bids, w), srt[:, -1])
    for j in range(bids.shape[1]):
        others = np.delete(bids, j, axis=1)
        expect = others.max(axis=1) if others.shape[1] else np.zeros(bids.shape[0])
        assert np.array_equal(second_price(bids, np.full(bids.shape[0], j)), expect)


@pytest.mark.parametrize("M", [255, 256, 300])
def test_many_bidders(M: int) -> None:
    """Past 255 bidders the winner's weights need two bytes; 3-D bids, ties at the top and below."""
    bids = np.random.default_rng(M).random((2, 3, M))
    bids[..., [M - 40, M - 2]] = 2.0  # tied top: the lower index wins, the second price is the twin's
    bids[..., 7] = 1.5
    assert np.array_equal(highest_bidder(bids), np.full((2, 3), M - 40))
    assert np.array_equal(second_highest_bid(bids), np.full((2, 3), 2.0))
    bids[..., M - 2] = 0.0
    assert np.array_equal(second_highest_bid(bids), np.full((2, 3), 1.5))
    assert np.array_equal(second_price(bids, np.full((2, 3), M - 40)), np.full((2, 3), 1.5))


def test_resolve_mechanism_by_name_alias_or_object() -> None:
    """One resolver serves rollout, train and check: names and aliases map to the registry, objects pass."""
    assert resolve_mechanism("ccv") is MECHANISMS["ccv"]
    assert resolve_mechanism("bucket_brigade") is MECHANISMS["first_price"]
    own = Mechanism("own", price=first_price, lookahead=highest_bid)
    assert resolve_mechanism(own) is own
    with pytest.raises(ValueError, match="unknown mechanism 'nope'"):
        resolve_mechanism("nope")
    with pytest.raises(TypeError, match="registry name"):
        resolve_mechanism(3)  # type: ignore[arg-type]
