"""The credit ledger: who earned what, and whether the market created or destroyed credit.

Notation for one episode of L steps (auctions; DESIGN §1): r_t the reward collected at step t
(for an option, Σ_{k<τ} γ^k r over the τ_t base steps it ran), γ_t = γ^{τ_t} its discount
(``Trajectories.discounts``), c_t = Π_{k<t} γ_k the cumulative discount *before* step t (c_0 = 1;
γ^t for literal actions, γ^{τ_0 + … + τ_{t−1}} for options: the discount at the base step where
auction t is held), p^m_t what bidder m paid at step t and P_t = Σ_m p^m_t the total paid for
s_t (the winner's price alone in the paper's mechanisms), κ_t the credit of step t (the
lookahead of the bids at s_{t+1}; 0 after a terminal transition). The winner's utility is
r_t + γ_t·κ_t − p^{i*}_t and a loser's −p^m_t, so the society's total utility at step t is
U_t = r_t + γ_t·κ_t − P_t.

**The conservation identity.** Summing U_t with weights c_t and using c_{t+1} = c_t·γ_t,

    Σ_{t<L} c_t·U_t = Σ_{t<L} c_t·r_t − P_0 + Σ_{t=1}^{L−1} c_t·(κ_{t−1} − P_t) + c_L·κ_{L−1}.

The last term is 0 for a terminated episode (κ_{L−1} = 0) and the bootstrap c_L·L(b(s_L)) for a
truncated one: what the last winner is credited for a state nobody in the episode buys. Hence

    credit_gap = Σ_t c_t·U_t − (Σ_t c_t·r_t − P_0 + [truncated]·c_L·L(b(s_L)))
               = Σ_{t=1}^{L−1} c_t·(κ_{t−1} − P_t),

the credit created at every later auction: what the seller of s_t was credited minus everything
that was paid for s_t. A mechanism conserves credit when the two are equal at every auction:
revenue_{t−1} − r_{t−1} = γ_{t−1}·P_t (DESIGN §1, with payments by every bidder counted). The
paper's mechanisms allocate to a highest bidder and charge only the winner, and the bids that
value s_t are the bids of auction t, so with b⁽¹⁾_t, b⁽²⁾_t the top two bids at s_t:

* ``ccv``: κ_{t−1} = b⁽²⁾_t and P_t = max_{j≠i*} bʲ_t = b⁽²⁾_t (the winner holds b⁽¹⁾_t, so
  everyone else's best is b⁽²⁾_t): every term is 0, **credit_gap = 0**.
* ``first_price``: κ_{t−1} = b⁽¹⁾_t = b^{i*}_t = P_t: **credit_gap = 0**.
* ``env_reward``: κ ≡ 0 and P ≡ 0, so U_t = r_t; the P_0 term is 0 (nobody pays for the start
  state) and the bootstrap term is 0 (no lookahead, even at a truncation): **credit_gap = 0**.
* ``vickrey``: κ_{t−1} = b⁽¹⁾_t and P_t = b⁽²⁾_t: **credit_gap = Σ_{t=1}^{L−1} c_t·(b⁽¹⁾_t − b⁽²⁾_t)**,
  i.e. Σ_t c_{t+1}·(b⁽¹⁾ − b⁽²⁾)_{t+1} over the later auctions. It is ≥ 0 when M ≥ 2 and 0
  exactly when the top two bids tie at every later auction (e.g. cloned twins bidding the
  same); with a single bidder b⁽²⁾ = 0 by convention, so each term is that bidder's bid.
* ``all_pay`` (every bidder pays its own bid, the seller is credited b⁽¹⁾):
  **credit_gap = −Σ_{t≥1} c_t·(Σ_m bᵐ_t − b⁽¹⁾_t)**: it destroys what the losers pay.

Floating-point: the prices and credits are the same bid entries, so the only error is the
rounding of the sums (|gap| ≲ 1e-12 for bids and rewards of order 1).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from mechanism.rollout import Trajectories

__all__ = ["credit_gap", "cumulative_discounts", "ledger"]

FloatArray = NDArray[np.float64]


def _check(traj: Trajectories) -> Trajectories:
    if not isinstance(traj, Trajectories):
        raise TypeError(f"traj must be a mechanism.Trajectories from rollout(); got {type(traj).__name__}.")
    return traj


def cumulative_discounts(traj: Trajectories) -> FloatArray:
    """c_t = Π_{k<t} γ^{τ_k}, the discount before step t, shape (E, T); c_0 = 1.

    After an episode has ended, c stays at its final value c_L (padding steps count as γ^0).
    """
    traj = _check(traj)
    d = np.where(traj.mask, traj.discounts, 1.0)
    c = np.ones_like(d)
    np.cumprod(d[:, :-1], axis=1, out=c[:, 1:])
    return c


def ledger(traj: Trajectories, *, discounted: bool = False) -> FloatArray:
    """Each bidder's cumulative wealth after every step, shape (E, T, M).

    wealth[e, t, m] = Σ_{k≤t} w_k·(1{i*_k = m}·revenue_k − p^m_k): the revenues of the auctions
    bidder m won minus everything it paid, won or lost (0 for a loser in the paper's mechanisms),
    with w_k = 1 (``discounted=False``, the default: money as paid) or w_k = c_k
    (``discounted=True``: valued at the start of the episode, the weights of the conservation
    identity; see the module docstring). Padding steps add nothing.
    """
    traj = _check(traj)
    won = traj.winners[:, :, None] == np.arange(traj.n_bidders)
    flow = won * traj.revenues[:, :, None] - traj.payments
    if discounted:
        flow = flow * cumulative_discounts(traj)[:, :, None]
    return np.cumsum(flow, axis=1)


def credit_gap(traj: Trajectories) -> FloatArray:
    """Credit the market created in each episode, shape (E,); 0 for a credit-conserving mechanism.

    credit_gap = Σ_t c_t·U_t − (Σ_t c_t·r_t − P_0 + [truncated]·c_L·lookahead(b(s_L))),
    with U_t the society's total utility at step t (the winner's revenue minus what every bidder
    paid), P_0 the total paid for the start state, c_t the product of the discounts before step
    t, and the last term only for an episode cut by the time limit (the bootstrapped credit nobody
    inside the episode pays). It is 0 for ``ccv``, ``first_price`` and ``env_reward`` on every
    trajectory, terminated or truncated, and Σ_{t≥1} c_t·(b⁽¹⁾_t − b⁽²⁾_t) for ``vickrey``;
    proof in the module docstring.
    """
    traj = _check(traj)
    c = cumulative_discounts(traj)
    paid_t = traj.payments.sum(axis=2)
    total = traj.revenues - paid_t
    earned = (c * traj.rewards).sum(axis=1)
    bootstrap = (traj.truncated * c * traj.discounts * traj.credits).sum(axis=1)
    return (c * total).sum(axis=1) - (earned - paid_t[:, 0] + bootstrap)
