"""Auctions as pure functions, societies of bidders, and the vectorised society simulator."""

from mechanism.rules import (
    BUILTINS,
    MECHANISMS,
    Mechanism,
    first_price,
    highest_bid,
    highest_bidder,
    second_highest_bid,
    second_price,
    zero_price,
)

__all__ = [
    "BUILTINS",
    "MECHANISMS",
    "Mechanism",
    "first_price",
    "highest_bid",
    "highest_bidder",
    "second_highest_bid",
    "second_price",
    "zero_price",
]
