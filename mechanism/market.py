"""A mechanism: who wins the state, what every bidder pays, and what the state is worth to its seller.

A :class:`Mechanism` is a record of pure functions over bid arrays ``bids`` of shape (..., M):

* ``allocate(bids) -> winner (...)``: the bidder whose primitive acts (default: the highest bid,
  ties to the lowest index, :func:`mechanism.rules.highest_bidder`);
* ``price(bids, winner) -> (...)``: what the winner pays, and/or
  ``payments(bids, winner) -> (..., M)``: what *every* bidder pays (a loser may pay, as in an
  all-pay auction or an entry fee, or be paid, as with a rebate). Given only ``price``, the winner
  pays it and every loser pays 0;
* ``lookahead(bids) -> (...)``: L(b), the value credited to whoever sold the state auctioned
  with ``bids`` (the revenue of the previous winner is r + γ^τ·L(b_{t+1})); ``None``: no credit.

Bidder m's utility in the auction at s_t is therefore
``1{m = i*}·(r_t + γ^τ·L(b_{t+1})) − payments_m(b_t, i*)`` (DESIGN §1).

**Validation at the boundary.** The methods :meth:`Mechanism.winner`, :meth:`Mechanism.charge`
and :meth:`Mechanism.credit` are the only way Agora calls a user's function; every answer is
checked there, once: its shape, its dtype, finiteness, and (for the allocation) that it is a
valid bidder index. A function that raises, or returns something else, becomes a
:class:`MechanismError` that names the function and what it returned: a verification verdict
built on it is an *error*, never a pass. :func:`mechanism.validate_mechanism` also checks, once per
mechanism and bidder count, that the rules are functions of the bids (two calls, one answer),
vectorised over leading axes, and that a declared fast path agrees with them.

**The fast path.** The paper's mechanisms are *top-two* rules: the highest bid wins (ties to the
lowest index), the winner pays b⁽¹⁾ (its own bid), b⁽²⁾ or nothing, losers pay nothing, and the
lookahead is b⁽¹⁾, b⁽²⁾ or none. A mechanism declares this with ``fast_path=TopTwo(...)``
(:meth:`Mechanism.top_two` builds one); the simulator then computes everything from b⁽¹⁾, b⁽²⁾ of
each bid array in one pass, and the analyses use exact breakpoint arguments. Nothing is inferred
from a function's identity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mechanism.rules import (
    first_price,
    highest_bid,
    highest_bidder,
    second_highest_bid,
    second_price,
    zero_price,
)

__all__ = ["Mechanism", "MechanismError", "TopTwo"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
PriceFn = Callable[[FloatArray, IntArray], FloatArray]
PaymentsFn = Callable[[FloatArray, IntArray], FloatArray]
LookaheadFn = Callable[[FloatArray], FloatArray]
AllocateFn = Callable[[FloatArray], IntArray]


class MechanismError(ValueError):
    """A mechanism's rule raised, returned something unusable, or contradicts itself or its declaration."""


#: The order statistics a top-two rule may use, and the built-in function of each.
_TOP_TWO_PRICES: dict[str, PriceFn] = {"first": first_price, "second": second_price, "zero": zero_price}
_TOP_TWO_LOOKAHEADS: dict[str, LookaheadFn | None] = {
    "first": highest_bid,
    "second": second_highest_bid,
    "none": None,
}


@dataclass(frozen=True)
class TopTwo:
    """Declares a mechanism's fast path: a *top-two* rule, computable from b⁽¹⁾ and b⁽²⁾ alone.

    The highest bid wins with ties to the lowest index; the winner pays ``price`` ("first": its own
    bid b⁽¹⁾, "second": the highest other bid b⁽²⁾, "zero": nothing); losers pay nothing; the state
    is worth ``lookahead`` ("first": b⁽¹⁾, "second": b⁽²⁾, "none": no credit) to its seller. With one
    bidder, b⁽²⁾ is 0 (the conventions of :mod:`mechanism.rules`).
    """

    price: str
    lookahead: str

    def __post_init__(self) -> None:
        if self.price not in _TOP_TWO_PRICES:
            raise ValueError(f"TopTwo price must be one of {sorted(_TOP_TWO_PRICES)}; got {self.price!r}.")
        if self.lookahead not in _TOP_TWO_LOOKAHEADS:
            raise ValueError(f"TopTwo lookahead must be one of {sorted(_TOP_TWO_LOOKAHEADS)}; got {self.lookahead!r}.")


def _describe(fn: Any) -> str:
    """A function as a user recognises it: ``module.qualname``."""
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    module = getattr(fn, "__module__", None)
    return f"{module}.{name}" if module and module != "builtins" else str(name)


@dataclass(frozen=True)
class Mechanism:
    """An auction mechanism; see the module docstring for the rules and how they are validated.

    Parameters
    ----------
    name : str
        Registry name.
    price : callable (bids (..., M), winner (...)) -> (...), optional
        What the winner pays. Give ``price``, ``payments`` or both (then they must agree at the winner).
    lookahead : callable (bids (..., M)) -> (...), or None
        The value credited to the seller of the state auctioned with ``bids``; ``None``: none.
    allocate : callable (bids (..., M)) -> int (...), optional
        The winner; default :func:`mechanism.rules.highest_bidder` (ties to the lowest index).
    paper_name, doc : str
        The name used in Chang et al. (2020) and a one-line description.
    payments : callable (bids (..., M), winner (...)) -> (..., M), optional
        What every bidder pays; default: the winner pays ``price``, the others nothing.
    fast_path : TopTwo, optional
        The declaration that the rules are a top-two rule (checked against the functions).

    Examples
    --------
    A third-price rule in one line:

    >>> import numpy as np
    >>> third = Mechanism("third_price", price=lambda b, w: np.sort(b, -1)[..., -3],
    ...                   lookahead=lambda b: b.max(-1))
    >>> float(third.utility(np.array([0.3, 0.7, 0.5, 0.69]), 1, 0.1, 0.99, np.array([0.9, 0.8])))
    0.491

    An all-pay auction: every bidder pays its own bid.

    >>> all_pay = Mechanism("all_pay", payments=lambda b, w: b, lookahead=lambda b: b.max(-1))
    >>> all_pay.charge(np.array([0.3, 0.7]), np.asarray(1)).tolist()
    [0.3, 0.7]
    """

    name: str
    price: PriceFn | None = None
    lookahead: LookaheadFn | None = None
    allocate: AllocateFn | None = None
    paper_name: str = ""
    doc: str = ""
    payments: PaymentsFn | None = None
    fast_path: TopTwo | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"Mechanism name must be a non-empty str; got {self.name!r}.")
        for field, sig in (
            ("price", "(bids, winner) -> prices"),
            ("lookahead", "(bids) -> values"),
            ("allocate", "(bids) -> winners"),
            ("payments", "(bids, winner) -> payments of every bidder"),
        ):
            fn = getattr(self, field)
            if fn is not None and not callable(fn):
                raise TypeError(
                    f"Mechanism({self.name!r}): {field} must be a function {sig} or None; "
                    f"got {type(fn).__name__} {fn!r}."
                )
        if self.price is None and self.payments is None:
            raise ValueError(
                f"Mechanism({self.name!r}) needs price= (what the winner pays) or payments= (what every bidder pays)."
            )
        if self.fast_path is not None and not isinstance(self.fast_path, TopTwo):
            raise TypeError(f"Mechanism({self.name!r}): fast_path must be a mechanism.TopTwo or None.")
        for field in ("paper_name", "doc"):
            if not isinstance(getattr(self, field), str):
                raise TypeError(f"Mechanism({self.name!r}): {field} must be a str.")

    @classmethod
    def top_two(cls, name: str, price: str, lookahead: str, *, paper_name: str = "", doc: str = "") -> Mechanism:
        """A top-two mechanism from its order statistics, with its fast path declared (see :class:`TopTwo`)."""
        fast = TopTwo(price, lookahead)
        return cls(
            name,
            price=_TOP_TWO_PRICES[price],
            lookahead=_TOP_TWO_LOOKAHEADS[lookahead],
            paper_name=paper_name,
            doc=doc,
            fast_path=fast,
        )

    # ------------------------------------------------------------------ validated calls
    def _call(self, role: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except MechanismError:
            raise
        except Exception as err:
            shape = np.shape(args[0])
            raise MechanismError(
                f"mechanism {self.name!r}: its {role} function {_describe(fn)} raised {type(err).__name__}: {err} "
                f"(called on bids of shape {shape})."
            ) from err

    def _fail(self, role: str, fn: Any, what: str, bids: FloatArray, fix: str) -> MechanismError:
        return MechanismError(
            f"mechanism {self.name!r}: its {role} function {_describe(fn)} {what} for bids of shape "
            f"{np.shape(bids)}; {fix}"
        )

    def _real(self, role: str, fn: Any, out: Any, shape: tuple[int, ...], bids: FloatArray) -> FloatArray:
        arr = np.asarray(out)
        if arr.shape != shape:
            raise self._fail(role, fn, f"returned shape {arr.shape}", bids, f"it must return shape {shape}.")
        if arr.dtype.kind not in "iuf":
            raise self._fail(
                role, fn, f"returned dtype {arr.dtype}", bids, "it must return real numbers (float or int)."
            )
        arr = arr.astype(np.float64, copy=False)
        bad = ~np.isfinite(arr)
        if bad.any():
            at = tuple(int(i) for i in np.argwhere(bad)[0])
            row = np.asarray(bids)[at[:-1] if role == "payments" else at]  # the auction's bids
            raise self._fail(
                role, fn, f"returned {arr[at]!r} at index {at} (bids there: {np.round(row, 6).tolist()})",
                bids, "every value must be a finite number.",
            )
        return arr

    def winner(self, bids: FloatArray) -> IntArray:
        """The winner of each auction, int array (...), validated: an index in 0..M−1."""
        bids = np.asarray(bids, dtype=np.float64)
        if self.allocate is None:
            return highest_bidder(bids)
        out = np.asarray(self._call("allocate", self.allocate, bids))
        shape, M = bids.shape[:-1], bids.shape[-1]
        if out.shape != shape:
            raise self._fail("allocate", self.allocate, f"returned shape {out.shape}", bids,
                             f"it must return one winner per auction, shape {shape}.")
        if out.dtype.kind not in "iu":
            raise self._fail("allocate", self.allocate, f"returned dtype {out.dtype} ({out.ravel()[:4].tolist()})",
                             bids, "it must return integer bidder indices.")
        if out.size and (out.min() < 0 or out.max() >= M):
            bad = out[(out < 0) | (out >= M)].ravel()[0]
            raise self._fail("allocate", self.allocate, f"returned winner {int(bad)}", bids,
                             f"a winner must be a bidder index in 0..{M - 1}.")
        return out.astype(np.intp, copy=False)

    def charge(self, bids: FloatArray, winner: IntArray) -> FloatArray:
        """What every bidder pays in each auction, float array (..., M), validated.

        ``payments(bids, winner)`` when the mechanism has it; otherwise the winner pays ``price``
        and every loser pays 0.
        """
        bids = np.asarray(bids, dtype=np.float64)
        winner = np.asarray(winner)
        if self.payments is not None:
            out = self._call("payments", self.payments, bids, winner)
            return self._real("payments", self.payments, out, bids.shape, bids)
        price = self.winner_price(bids, winner)
        pay = np.zeros(bids.shape)
        np.put_along_axis(pay, winner[..., None].astype(np.intp), price[..., None], axis=-1)
        return pay

    def winner_price(self, bids: FloatArray, winner: IntArray) -> FloatArray:
        """What the winner of each auction pays, float array (...), validated.

        ``price(bids, winner)`` when the mechanism has it, else the winner's entry of ``payments``
        (:func:`mechanism.validate_mechanism` checks that the two agree when both are given).
        """
        bids = np.asarray(bids, dtype=np.float64)
        winner = np.asarray(winner)
        if self.price is not None:
            out = self._call("price", self.price, bids, winner)
            return self._real("price", self.price, out, winner.shape, bids)
        pay = self.charge(bids, winner)
        return np.take_along_axis(pay, winner[..., None].astype(np.intp), axis=-1)[..., 0]

    def credit(self, bids: FloatArray) -> FloatArray:
        """L(b): what the state auctioned with ``bids`` is worth to its seller, float array (...), validated."""
        bids = np.asarray(bids, dtype=np.float64)
        if self.lookahead is None:
            return np.zeros(bids.shape[:-1])
        out = self._call("lookahead", self.lookahead, bids)
        return self._real("lookahead", self.lookahead, out, bids.shape[:-1], bids)

    def utility(
        self,
        bids: FloatArray,
        winner: IntArray | int,
        reward: FloatArray | float,
        discount: FloatArray | float,
        next_bids: FloatArray,
        terminated: NDArray[np.bool_] | bool = False,
    ) -> FloatArray:
        """The winner's utility U = r + γ^τ·lookahead(b_{t+1})·(1 − terminated) − its payment.

        ``discount`` is γ^τ of the step (γ for a literal action). A loser's utility is minus its
        payment (:meth:`charge`).
        """
        credit = np.where(terminated, 0.0, self.credit(next_bids))
        revenue = np.asarray(reward) + np.asarray(discount) * credit
        return revenue - self.winner_price(bids, np.asarray(winner))

    def __repr__(self) -> str:
        return f"Mechanism({self.name!r})"
