"""Hypothesis strategies for the test suite, valid by construction (draw, then normalise; no ``.filter``).

The MDP, bid-profile and valuation strategies live in :mod:`verify.strategies` (the claim checker
searches the same space; ``verify`` cannot import ``tests``) and are re-exported here, as is the
built-in mechanisms' strategy (:func:`verify.testing.mechanisms`, the one users get), with the
strategy only tests need: societies.
"""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from mechanism import Society
from verify.strategies import BID_GRID, REWARD_GRID, bid_profiles, finite_mdps, valuations
from verify.testing import mechanisms

__all__ = [
    "BID_GRID",
    "REWARD_GRID",
    "bid_profiles",
    "examples",
    "finite_mdps",
    "mechanisms",
    "societies",
    "valuations",
]


@st.composite
def societies(draw: Any, max_primitives: int = 4, clones: tuple[int, ...] = (1, 2)) -> Society:
    """A :class:`mechanism.Society` with 1..max_primitives primitives and a clone setting from ``clones``."""
    return Society(draw(st.integers(1, max_primitives)), clones=draw(st.sampled_from(clones)))


#: ``max_examples`` of the ``ci`` profile (tests/conftest.py): the unit that per-test budgets scale.
_CI_EXAMPLES = 40


def examples(n: int) -> int:
    """A per-test example budget that grows with the active hypothesis profile.

    ``n`` is the budget under the ``ci`` profile; ``dev`` (or any profile with more examples) scales
    it by the same factor, so ``--hypothesis-profile dev`` searches every property harder.
    """
    return max(1, round(n * settings.default.max_examples / _CI_EXAMPLES))
