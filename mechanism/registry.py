"""The registry of mechanisms: the paper's four (and an alias), and two examples of payments by every bidder.

=====================  ==============================  ===============================  =============
registry name          revenue of the winner           payments                          paper name
=====================  ==============================  ===============================  =============
``vickrey``            r_t + γ^τ·b⁽¹⁾_{t+1}            winner pays b⁽²⁾_t               Vickrey (V)
``ccv``                r_t + γ^τ·b⁽²⁾_{t+1}            winner pays b⁽²⁾_t               CCV
``first_price``        r_t + γ^τ·b⁽¹⁾_{t+1}            winner pays b⁽¹⁾_t               Bucket Brigade
``env_reward``         r_t                             nothing                          Env. Reward
``all_pay``            r_t + γ^τ·b⁽¹⁾_{t+1}            every bidder pays its own bid    (example)
``reserve_vickrey``    r_t + γ^τ·b⁽¹⁾_{t+1}            winner pays max(b⁽²⁾_t, 0.1)     (example)
=====================  ==============================  ===============================  =============

``BUILTINS`` are the paper's four, in table order: what bare ``agora check`` checks. The two
examples show what the :class:`~mechanism.market.Mechanism` record can express beyond them; their
verdicts are computed like any user mechanism's (README, "Mechanisms beyond the paper").
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType

import numpy as np
from numpy.typing import NDArray

from mechanism.market import Mechanism
from mechanism.rules import highest_bid, own_bid_payments, second_price

__all__ = ["BUILTINS", "EXAMPLES", "MECHANISMS", "import_user_module", "reserve_vickrey", "resolve_mechanism"]


def reserve_vickrey(reserve: float = 0.1, name: str | None = None) -> Mechanism:
    """Vickrey with a reserve price: the highest bidder wins and pays max(b⁽²⁾, reserve).

    A society must act at every state, so the state is always sold: the reserve is a floor on the
    price, not a refusal to sell. A winner that values the state between the rival's bid and the
    reserve then pays more than it is worth, so truthful bidding stops being dominant.
    """
    reserve = float(reserve)
    if not np.isfinite(reserve):
        raise ValueError(f"reserve must be a finite number; got {reserve!r}.")

    def reserve_price(bids: NDArray[np.float64], winner: NDArray[np.intp]) -> NDArray[np.float64]:
        return np.maximum(second_price(bids, winner), reserve)

    return Mechanism(
        name or f"reserve_vickrey({reserve:g})",
        price=reserve_price,
        lookahead=highest_bid,
        doc=f"vickrey whose winner pays at least {reserve:g}",
    )


MECHANISMS: dict[str, Mechanism] = {
    "vickrey": Mechanism.top_two(
        "vickrey",
        price="second",
        lookahead="first",
        paper_name="Vickrey (V)",
        doc="revenue r + γ^τ·b⁽¹⁾_{t+1}, price b⁽²⁾_t: truthful, creates credit b⁽¹⁾ − b⁽²⁾",
    ),
    "ccv": Mechanism.top_two(
        "ccv",
        price="second",
        lookahead="second",
        paper_name="Credit Conserving Vickrey (CCV)",
        doc="revenue r + γ^τ·b⁽²⁾_{t+1}, price b⁽²⁾_t: truthful one-shot and credit conserving",
    ),
    "first_price": Mechanism.top_two(
        "first_price",
        price="first",
        lookahead="first",
        paper_name="Bucket Brigade (BB)",
        doc="revenue r + γ^τ·b⁽¹⁾_{t+1}, price b⁽¹⁾_t: conserving, not truthful (shading pays)",
    ),
    "env_reward": Mechanism.top_two(
        "env_reward",
        price="zero",
        lookahead="none",
        paper_name="Environment Reward",
        doc="revenue r_t, price 0: no market at all",
    ),
}
#: The paper's distinct mechanisms, in table order (the registry also holds an alias and examples).
BUILTINS: tuple[str, ...] = tuple(MECHANISMS)
#: Holland's (1985) name for the first-price rule.
MECHANISMS["bucket_brigade"] = MECHANISMS["first_price"]
MECHANISMS["all_pay"] = Mechanism(
    "all_pay",
    payments=own_bid_payments,
    lookahead=highest_bid,
    doc="every bidder pays its own bid, win or lose; the seller is credited b⁽¹⁾",
)
MECHANISMS["reserve_vickrey"] = reserve_vickrey(0.1, name="reserve_vickrey")
#: The registered examples beyond the paper.
EXAMPLES: tuple[str, ...] = ("all_pay", "reserve_vickrey")


def resolve_mechanism(mechanism: Mechanism | str) -> Mechanism:
    """A :class:`Mechanism` from itself or its name in :data:`MECHANISMS` (aliases included)."""
    if isinstance(mechanism, Mechanism):
        return mechanism
    if isinstance(mechanism, str):
        if mechanism not in MECHANISMS:
            raise ValueError(
                f"unknown mechanism {mechanism!r}; registered: {', '.join(MECHANISMS)} "
                "(or pass a mechanism.Mechanism object, or package.module:NAME on the command line)."
            )
        return MECHANISMS[mechanism]
    raise TypeError(f"mechanism must be a mechanism.Mechanism or a registry name; got {type(mechanism).__name__}.")


def import_user_module(module_name: str) -> ModuleType:
    """Import a user's module by name, the working directory on the path for the import only.

    How ``package.module:NAME`` is found everywhere (`agora check --mechanism`, the reports'
    source hashes): like ``python -m``, a module beside the user's shell is importable without
    installing it, and ``sys.path`` is left as it was. Raises whatever the import raises.
    """
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module_name)
    finally:
        if added:
            sys.path.remove(cwd)
