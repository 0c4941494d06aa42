"""Auctions as pure functions, societies of bidders, and the vectorised society simulator."""

from mechanism.bidders import BetaBids, BidSource, GaussianBids, TableBids, as_bid_source
from mechanism.learners import LEARNERS, SOCIETY_LEARNERS
from mechanism.ledger import credit_gap, cumulative_discounts, ledger
from mechanism.rollout import Trajectories, rollout
from mechanism.rules import (
    BUILTINS,
    MECHANISMS,
    Mechanism,
    first_price,
    highest_bid,
    highest_bidder,
    resolve_mechanism,
    second_highest_bid,
    second_price,
    zero_price,
)
from mechanism.society import Society, primitive_of
from mechanism.train import TrainConfig, TrainResult, train

__all__ = [
    "BUILTINS",
    "LEARNERS",
    "MECHANISMS",
    "SOCIETY_LEARNERS",
    "BetaBids",
    "BidSource",
    "GaussianBids",
    "Mechanism",
    "Society",
    "TableBids",
    "TrainConfig",
    "TrainResult",
    "Trajectories",
    "as_bid_source",
    "credit_gap",
    "cumulative_discounts",
    "first_price",
    "highest_bid",
    "highest_bidder",
    "ledger",
    "primitive_of",
    "resolve_mechanism",
    "rollout",
    "second_highest_bid",
    "second_price",
    "train",
    "zero_price",
]
