"""The Mechanism record: construction checks, and every user rule validated where Agora calls it.

A broken rule must never turn into a number: NaN, a wrong shape, a float or out-of-range winner,
a rule that raises or answers differently on the same bids are each a ``MechanismError`` naming
the function and what it returned, in the simulator, the training loop and the analyses alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tasks
from mechanism import (
    MECHANISMS,
    Mechanism,
    MechanismError,
    Society,
    TopTwo,
    auction,
    highest_bid,
    rollout,
    second_price,
    train,
    validate_mechanism,
)
from verify import truthful_fixed_point

CHAIN = tasks.chain(6)


def nan_price(bids: np.ndarray, winner: np.ndarray) -> np.ndarray:
    return np.full(np.shape(winner), np.nan)


def wrong_shape_price(bids: np.ndarray, winner: np.ndarray) -> np.ndarray:
    return np.zeros(bids.shape)  # one per bidder instead of one per auction


def raising_price(bids: np.ndarray, winner: np.ndarray) -> np.ndarray:
    raise ZeroDivisionError("boom")


def nan_when_tied(bids: np.ndarray, winner: np.ndarray) -> np.ndarray:
    """Fine except where the top two bids tie: the failure hides in a corner of the bid space."""
    top = np.sort(bids, axis=-1)
    return np.where(top[..., -1] == top[..., -2], np.nan, top[..., -2])


_calls = {"n": 0}


def random_price(bids: np.ndarray, winner: np.ndarray) -> np.ndarray:
    _calls["n"] += 1
    return second_price(bids, winner) + 1e-3 * _calls["n"]


def allocate_to(value: Any) -> Any:
    def allocate(bids: np.ndarray) -> np.ndarray:
        return np.full(bids.shape[:-1], value)

    allocate.__qualname__ = f"allocate_to_{value}"
    return allocate


BROKEN = {
    "nan": (Mechanism("nan", price=nan_price, lookahead=highest_bid), r"nan_price returned .*nan"),
    "shape": (Mechanism("shape", price=wrong_shape_price, lookahead=highest_bid), r"wrong_shape_price returned shape"),
    "raises": (Mechanism("raises", price=raising_price, lookahead=highest_bid), r"raising_price raised ZeroDivision"),
    "tied": (Mechanism("tied", price=nan_when_tied, lookahead=highest_bid), r"nan_when_tied returned"),
    "minus_one": (
        Mechanism("minus_one", price=second_price, lookahead=highest_bid, allocate=allocate_to(-1)),
        r"allocate_to_-1 returned winner -1",
    ),
    "ninety_nine": (
        Mechanism("ninety_nine", price=second_price, lookahead=highest_bid, allocate=allocate_to(99)),
        r"allocate_to_99 returned winner 99",
    ),
    "float": (
        Mechanism("float", price=second_price, lookahead=highest_bid, allocate=allocate_to(0.0)),
        r"allocate_to_0.0 returned dtype float64",
    ),
    "random": (Mechanism("random", price=random_price, lookahead=highest_bid), r"not a function of the bids"),
    "lookahead": (
        Mechanism("lookahead", price=second_price, lookahead=lambda b: np.full(b.shape[:-1], np.inf)),
        r"lookahead function .*<lambda> returned .*inf",
    ),
}


@pytest.mark.parametrize("name", BROKEN)
def test_contract_check_names_the_broken_function(name: str) -> None:
    mech, message = BROKEN[name]
    with pytest.raises(MechanismError, match=message):
        validate_mechanism(mech, 4)


@pytest.mark.parametrize("name", [n for n in BROKEN if n not in ("random", "tied")])
@pytest.mark.parametrize(
    "use",
    [
        lambda m: rollout(CHAIN, np.full((6, 4), 0.5), m, Society(2, 2), episodes=3, time_limit=5, seed=0),
        lambda m: train(CHAIN, m, clones=2, steps=200, seeds=1),
        lambda m: truthful_fixed_point(CHAIN, m, 2),
        lambda m: auction(m, np.array([[0.1, 0.9, 0.3, 0.2]])),
    ],
    ids=["rollout", "train", "fixed_point", "auction"],
)
def test_every_entry_point_refuses_a_broken_rule(name: str, use: Any) -> None:
    mech, message = BROKEN[name]
    with pytest.raises(MechanismError, match=message):
        use(mech)


def test_a_rule_that_fails_only_on_ties_is_caught_before_any_run() -> None:
    """The probe batch holds ties, so the corner is found up front rather than mid-run (or never)."""
    mech, _ = BROKEN["tied"]
    for use in (
        lambda: rollout(CHAIN, np.full((6, 4), 0.5), mech, Society(2, 2), episodes=1, time_limit=3, seed=0),
        lambda: train(CHAIN, mech, clones=2, steps=100, seeds=1),
    ):
        with pytest.raises(MechanismError, match="nan_when_tied"):
            use()


def test_construction_refuses_what_is_not_a_rule() -> None:
    with pytest.raises(TypeError, match=r"price must be a function .* got int 42"):
        Mechanism("x", price=42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="lookahead must be a function"):
        Mechanism("x", price=second_price, lookahead="max")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"needs price= .* or payments="):
        Mechanism("x", lookahead=highest_bid)
    with pytest.raises(TypeError, match="non-empty str"):
        Mechanism("", price=second_price)
    with pytest.raises(TypeError, match=r"fast_path must be a mechanism\.TopTwo"):
        Mechanism("x", price=second_price, fast_path="second")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="TopTwo price must be one of"):
        TopTwo("third", "first")


def test_a_false_fast_path_declaration_is_caught() -> None:
    """Declaring a top-two rule whose functions say otherwise would make the fast path lie."""
    liar = Mechanism("liar", price=second_price, lookahead=highest_bid, fast_path=TopTwo("first", "first"))
    with pytest.raises(MechanismError, match=r"declares fast_path=.* disagree on the price"):
        validate_mechanism(liar, 3)
    honest = Mechanism("honest", price=second_price, lookahead=highest_bid, fast_path=TopTwo("second", "first"))
    assert validate_mechanism(honest, 3) is honest


def test_price_and_payments_must_agree_at_the_winner() -> None:
    both = Mechanism("both", price=second_price, payments=lambda b, w: b, lookahead=highest_bid)
    with pytest.raises(MechanismError, match="says the winner pays"):
        validate_mechanism(both, 3)


def test_a_rule_vectorised_for_two_axes_only_is_caught() -> None:
    """train calls rules on (seeds, episodes, M) batches; a rule that assumes (N, M) must not slip through."""

    def two_d_only(bids: np.ndarray, winner: np.ndarray) -> np.ndarray:
        return np.sort(bids, axis=1)[:, -2]  # axis 1 is the bidder axis only for 2-d input

    mech = Mechanism("two_d", price=two_d_only, lookahead=highest_bid)
    with pytest.raises(MechanismError, match="two_d_only"):
        validate_mechanism(mech, 3)


def test_user_mechanism_with_loser_payments_runs_in_both_simulators() -> None:
    """An entry fee: every bidder pays 0.01 to take part, the winner also pays the second price."""

    def entry_fee(bids: np.ndarray, winner: np.ndarray) -> np.ndarray:
        pay = np.full(bids.shape, 0.01)
        np.put_along_axis(pay, winner[..., None], second_price(bids, winner)[..., None] + 0.01, axis=-1)
        return pay

    fee = Mechanism("entry_fee", payments=entry_fee, lookahead=highest_bid)
    traj = rollout(CHAIN, np.full((6, 4), 0.5), fee, Society(2, 2), episodes=2, time_limit=4, seed=0)
    losers = traj.payments[traj.mask] * (np.arange(4) != traj.winners[traj.mask][:, None])
    np.testing.assert_allclose(losers.sum(axis=1), 0.03)  # three losers pay 0.01 each
    res = train(CHAIN, fee, clones=2, learner="policy_gradient", steps=640, seeds=1)
    assert np.isfinite(res.final_bids).all()
    assert MECHANISMS["all_pay"].charge(np.array([0.2, 0.4]), np.asarray(1)).tolist() == [0.2, 0.4]
