"""Auctions as pure functions, societies of bidders, and the vectorised society simulator."""

from mechanism.auction import Auction, auction, auction_at, validate_for_mask, validate_mechanism
from mechanism.bidders import BetaBids, BidSource, GaussianBids, TableBids, as_bid_source
from mechanism.execute import Execution, executor
from mechanism.learners import LEARNERS, SOCIETY_LEARNERS
from mechanism.ledger import credit_gap, cumulative_discounts, ledger
from mechanism.market import Mechanism, MechanismError, TopTwo
from mechanism.registry import BUILTINS, EXAMPLES, MECHANISMS, reserve_vickrey, resolve_mechanism
from mechanism.rollout import Trajectories, rollout
from mechanism.rules import (
    first_price,
    highest_bid,
    highest_bidder,
    own_bid_payments,
    second_highest_bid,
    second_price,
    zero_price,
)
from mechanism.society import Society, bidder_mask, primitive_of
from mechanism.train import TrainConfig, TrainResult, train

__all__ = [
    "BUILTINS",
    "EXAMPLES",
    "LEARNERS",
    "MECHANISMS",
    "SOCIETY_LEARNERS",
    "Auction",
    "BetaBids",
    "BidSource",
    "Execution",
    "GaussianBids",
    "Mechanism",
    "MechanismError",
    "Society",
    "TableBids",
    "TopTwo",
    "TrainConfig",
    "TrainResult",
    "Trajectories",
    "as_bid_source",
    "auction",
    "auction_at",
    "bidder_mask",
    "credit_gap",
    "cumulative_discounts",
    "executor",
    "first_price",
    "highest_bid",
    "highest_bidder",
    "ledger",
    "own_bid_payments",
    "primitive_of",
    "reserve_vickrey",
    "resolve_mechanism",
    "rollout",
    "second_highest_bid",
    "second_price",
    "train",
    "validate_for_mask",
    "validate_mechanism",
    "zero_price",
]
