"""A society: N primitives, each played by ``clones`` bidders that share its parameters.

Bidder m plays primitive ``m % n_primitives`` (DESIGN §1; Chang et al. 2020, §5 "cloning"), so
the first N bidders are the originals and every further block of N is one set of clones:

=========  ============================  =====================================
clones     bidders M                     what it models
=========  ============================  =====================================
1          N                             the *solitary* society
2          2N                            the *cloned* society: every primitive has a twin
k          kN                            redundancy k (the authors' ``redundancy``)
=========  ============================  =====================================

Clones share a bid table or a bid distribution but draw their own noise (see
:mod:`mechanism.bidders`); a clone is a separate bidder in the auction, so when twins bid the
same, the second price equals the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["Society", "bidder_mask", "primitive_of"]


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be a positive int; got {value!r} of type {type(value).__name__}.")
    if value < 1:
        raise ValueError(f"{name} must be >= 1; got {value}. A society needs at least one primitive and one copy.")
    return int(value)


@lru_cache(maxsize=64)
def primitive_of(n_primitives: int, clones: int) -> NDArray[np.intp]:
    """The primitive each bidder plays: ``m % n_primitives`` for m = 0..n_primitives·clones − 1.

    Bidder m plays primitive m % n_primitives, so clone c of primitive i is bidder c·n_primitives + i.
    Cached and read-only: the learners index with it at every step.
    """
    p = np.arange(n_primitives * clones, dtype=np.intp) % n_primitives
    p.setflags(write=False)
    return p


def bidder_mask(available: ArrayLike | None, clones: int) -> NDArray[np.bool_] | None:
    """Which bidders take part in the auction of each state: ``available[s, m % A]``, bool (S, M); None if all do.

    ``available`` is an MDP's (S, A) action mask (:attr:`tasks.FiniteMDP.available`); a bidder takes
    part at s exactly when its primitive's action is available there, clones included (DESIGN §1,
    the auction rule of :mod:`mechanism.auction`). Returns None when every action is available
    everywhere, so that callers keep the unmasked path (and its speed) for unmasked MDPs.
    """
    if available is None:
        return None
    mask = np.asarray(available)
    if mask.dtype != bool or mask.ndim != 2:
        raise TypeError(f"available must be a boolean (S, A) action mask; got dtype {mask.dtype}, shape {mask.shape}.")
    if mask.all():
        return None
    out = mask[:, primitive_of(mask.shape[1], clones)]
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class Society:
    """N primitives, each played by ``clones`` bidders; M = N·clones bidders in every auction.

    Parameters
    ----------
    n_primitives : int
        N >= 1, the number of primitives (for literal actions: the number of actions).
    clones : int
        Copies of each primitive, >= 1; 1 is the solitary society, 2 (the default) the cloned one.

    Examples
    --------
    >>> s = Society(3, clones=2)
    >>> s.n_bidders, s.primitive_of.tolist()
    (6, [0, 1, 2, 0, 1, 2])
    """

    n_primitives: int
    clones: int = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_primitives", _positive_int(self.n_primitives, "n_primitives"))
        object.__setattr__(self, "clones", _positive_int(self.clones, "clones"))

    @property
    def n_bidders(self) -> int:
        """M = n_primitives·clones, the number of bidders in every auction."""
        return self.n_primitives * self.clones

    @property
    def primitive_of(self) -> NDArray[np.intp]:
        """Which primitive each bidder plays, int array (M,): ``m % n_primitives`` (read-only)."""
        return primitive_of(self.n_primitives, self.clones)

    @property
    def clone_of(self) -> NDArray[np.intp]:
        """Which copy each bidder is, int array (M,): ``m // n_primitives`` (0 for the originals)."""
        c = np.arange(self.n_bidders, dtype=np.intp) // self.n_primitives
        c.setflags(write=False)
        return c

    def bidder_mask(self, available: ArrayLike | None) -> NDArray[np.bool_] | None:
        """Which of the M bidders take part at each state under an (S, A) action mask; see :func:`bidder_mask`."""
        mask = bidder_mask(available, self.clones)
        if mask is not None and mask.shape[1] != self.n_bidders:
            raise ValueError(
                f"the action mask has {mask.shape[1] // self.clones} actions but the society has "
                f"{self.n_primitives} primitives; with literal actions primitive i plays action i."
            )
        return mask

    @property
    def solitary(self) -> bool:
        """Whether every primitive bids alone (``clones == 1``)."""
        return self.clones == 1
