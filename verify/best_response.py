r"""Farsighted best responses and NashConv of a bid profile (DESIGN §1, "Equilibrium, two notions").

Fix a profile ``b[s, m]`` of ``M = A·clones`` bidders (bidder ``m`` plays primitive ``m % A``) and
let one bidder ``d`` change its bids, every other bid fixed at every state, now and later. This
module computes ``d``'s best response over whole episodes, exactly, and the gain it brings: the
*farsighted* notion of equilibrium. The *myopic* notion (one auction at a time, the paper's) is
:func:`verify.exploitability.exploitability`; the two differ.

**The deviator's problem.** A strategy of ``d`` picks a bid ``x_t`` at each step (it may use the
whole history). The auction of ``(x_t, b_{−d}(s_t))`` (:func:`mechanism.auction`) gives the winner
``w_t``, ``d``'s payment ``p_t`` (won or lost) and the lookahead ``ℓ_t = L(x_t, b_{−d}(s_t))``
credited to whoever sold ``s_t``; then ``s_{t+1} ~ P(· | s_t, prim(w_t))``. With ``T`` the terminal
states and ``τ`` the first time ``s_t ∈ T`` (∞ if never), ``d``'s utility at step t is

.. math:: U_t = 1\{w_t = d\}\,(R[s_t, \mathrm{prim}(d)] + γ\,1\{s_{t+1} \notin T\}\,ℓ_{t+1}) − p_t     (1)

and its objective is ``J = E[Σ_{t<τ} γ^t U_t]``. The MDP's time limit is ignored on purpose: a
truncation bootstraps (the last winner is credited the lookahead of the state reached, DESIGN §1),
i.e. it values the rest of the episode at its continuation value, so the stationary discounted
problem is the one a truncated episode estimates.

**Proposition 1 (its own earlier sale is part of the state).** Let ``f_t = 1{w_{t−1} = d}``
(``f_0 = 0``: nobody sold the first state). Then

.. math:: J = E\Big[\sum_{t<τ} γ^t\, r(s_t, f_t, x_t)\Big], \qquad
          r(s, f, x) = f·L(x, b_{−d}(s)) + 1\{w(x) = d\}·R[s, \mathrm{prim}(d)] − p_d(x, b_{−d}(s)),  (2)

and ``(s_t, f_t)`` is a controlled Markov chain with
``P̃(s', f' | s, f, x) = P(s' | s, prim(w(x)))·1{f' = 1{w(x) = d}}``; the pairs ``(s, f)``, ``s ∈ T``,
are absorbing with reward 0.

*Proof.* The credit term of (1) at step t is
``γ^t·1{w_t = d}·γ·1{s_{t+1} ∉ T}·ℓ_{t+1} = γ^{t+1}·f_{t+1}·1{s_{t+1} ∉ T}·ℓ_{t+1}``. Summed over
``t < τ`` and re-indexed (``t + 1 → t``) it is ``Σ_{1 ≤ t < τ} γ^t f_t ℓ_t``: the term ``t = τ`` has
``s_τ ∈ T`` and vanishes, and ``f_0 = 0`` adds the term ``t = 0`` for free. Every term is bounded
and ``γ < 1``, so the series converge absolutely and may be regrouped, which gives (2). The next
state depends on ``(s_t, x_t)`` only through ``w_t``, and ``f_{t+1}`` is a function of ``w_t``. ∎

At ``(s, 1)`` the bid ``x`` sets the credit ``d`` receives for the state it sold itself: under
vickrey (``L = b⁽¹⁾``, price ``b⁽²⁾``) a bidder that wins ``s`` and ``s_{t+1}`` raises its own credit by
bidding high at ``s_{t+1}`` and still pays only ``b⁽²⁾``; a one-auction analysis cannot see this.

**Corollary.** Knowing ``f_t`` (did I win the last auction?) is part of ``d``'s history, so every
strategy of ``d`` is a policy of the MDP (2) and conversely. With bounded rewards its optimal
value ``V*`` over all history-dependent randomised policies is the fixed point of the Bellman
optimality operator, and deterministic stationary policies on ``(s, f)`` attain it when the action
sets are finite (Puterman 1994, Thm 6.2.10; ε-optimal ones in general, Thm 6.2.12). The value of
the current bids is that of the policy "bid ``b[s, d]``", ``V^b = (I − γP̃_b)^{-1} r_b``
(Puterman 1994, Thm 6.1.1). The gain from ``s`` is ``V*(s, 0) − V^b(s, 0) ≥ 0``; it bounds the gain
of any change of ``d``'s bids as a function of ``s`` alone.

**Proposition 2 (finitely many candidate bids; top-two rules).** For a mechanism with a
:class:`mechanism.TopTwo` fast path and bids confined to ``[lo, hi]``, let
``C(s) = {lo, hi} ∪ {c, nextafter(c, ±∞): c a rival bid at s, inside [lo, hi]} ∪ {b[s, d]}``. For
every ``V``, ``sup_{x ∈ [lo, hi]} r(s, f, x) + γ·Σ P̃ V`` and the same maximum over ``C(s)`` differ
by at most ``δ = max_c ulp(c)``.

*Proof.* Between consecutive distinct rival bids the winner is constant (:mod:`verify.deviations`),
hence so is the transition term, and ``r`` is linear in ``x`` with slope
``σ ∈ {f·[L = first] − [price = first], f·[L = second]·[x > o₂]} ⊂ [−1, 1]`` (eq. 1 there). The
supremum of a linear function on an interval is at an end: a range end or a rival bid ``c``
(both in ``C(s)``, attained: the outcome at ``c`` is whatever the tie rule gives), or an open end,
approached from inside the piece, where ``nextafter(c, ±∞)`` is the nearest float and its value is
within ``|σ|·ulp(c) ≤ δ`` of the limit. ∎ Both Bellman operators are γ-contractions, so their fixed
points differ by at most ``δ/(1 − γ)`` (Puterman 1994, Thm 6.2.3). The augmented MDP (2) on ``2S``
states with the actions ``C(s)`` (padded with copies of the current bid, column 0) is solved by
:func:`verify.solve` and the current bids evaluated by :func:`verify.evaluate`: exact up to
``δ/(1 − γ)`` and the solver's error bound. A neighbour that only approaches its value is
flagged ``limit`` (e.g. first price without tie priority, ``x ↓ o``).

**Proposition 3 (no bid range: when is the gain infinite).** With ``bid_range=None`` the two
extreme pieces are unbounded. Above every rival bid ``d`` wins and ``r`` has slope
``σ₊(f) = f·[L = first] − [price = first]``; below every rival bid ``d`` loses and the slope is
``f·[L = second]·[M = 2] ≥ 0``; a lone bidder (``M = 1``) always wins, slope ``σ₊(f)`` everywhere.
Call a non-terminal ``(s, f)`` *unbounded* when ``σ₊(f) > 0``, or ``M = 1`` and ``σ₊(f) < 0``. Then
``V*(s, f) = +∞`` iff an unbounded pair is reachable from ``(s, f)`` in the graph with an edge
wherever some bid moves there with positive probability; otherwise ``C(s)`` without range ends is
exact as in Proposition 2.

*Proof.* (⇐) Some finite-bid stationary policy reaches the unbounded pair in ``n`` steps with
probability ``p > 0`` (``C(s)`` holds a bid of every piece, so it realises every edge); bidding
``x`` there, towards the unbounded end, gives a value ``≥ c + γ^n·p·|σ|·|x| → ∞``. (⇒) The pairs
reachable from ``(s, f)`` form a set closed under every policy and holding no unbounded pair; on
it every extreme piece's slope points away from its infinite end, so each piece's supremum is at
its finite end, or the slope is 0 and any point of the piece attains it: Proposition 2 applies. ∎
Vickrey has ``σ₊(1) = 1``: a bidder that can sell a state to itself gains without bound (hence the
default range ``(0, 1)``, the paper's bids); a lone first-price bidder has ``σ₊(0) = −1``, as in the
myopic notion. A deviation at an unbounded pair is reported as ``±inf``; elsewhere on a path to one,
as the candidate bid that takes the first step.

**Other mechanisms: a search.** The same construction with the search candidates of
:func:`verify.deviations.candidates` (rival bids, their neighbours and ± a relative step, 0, a grid
over the range): the gain found is a lower bound, ``exact = False``.

**Action masks.** Where the deviator's action is unavailable it takes no part in the auction of
``s`` (:mod:`mechanism.auction`): its only "bid" there is none, so it never wins, pays nothing and
moves no lookahead, while as the seller of ``s`` (``f = 1``) it is still credited ``L`` of the
auction among the bidders that take part. The augmented MDP (2) then has, at those ``(s, f)``,
one action repeated (the current one), and Proposition 3's unbounded pairs are the ``(s, f)`` where
the deviator takes part, with ``M`` read as the number of bidders taking part at ``s``. A deviation
therefore never makes an unavailable primitive win.

**NashConv** (Lanctot et al. 2017; OpenSpiel, ``open_spiel/python/algorithms/exploitability.py``)
is ``Σ_d (max J_d − J_d(b))`` from the start distribution, the *sum* over bidders of their
best-response gains; it is 0 exactly when no bidder gains by any change of its bids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from mechanism.market import Mechanism, TopTwo
from mechanism.society import primitive_of
from tasks.mdp import FiniteMDP
from verify.deviations import Candidates, Outcomes, candidates, limit_flags, outcomes
from verify.exploitability import check_bid_range
from verify.fixed_point import check_profile, takes_part, terminal_mask, validate_society
from verify.solve import solve
from verify.solvers.evaluate import evaluate

__all__ = ["BestResponse", "NashConv", "best_response", "nash_conv"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]

#: Largest dense augmented kernel, in entries (2S·K·2S); above it the kernel is stored as CSR.
_DENSE_MAX = 1 << 21
#: Relative tolerance of the solver and of "as good as the current bid" (times max(1, |r|)/(1 − γ)).
_TOL = 1e-11


@dataclass(frozen=True, eq=False)
class BestResponse:
    """The best response of each bidder in ``bidders`` to the rest of the profile (module docstring).

    Attributes
    ----------
    bidders : int array (K,)
        The deviating bidders.
    gain : array (K,)
        ``start · (V*(·, 0) − V^b(·, 0))``: what each gains, from the start distribution, by its
        best change of bids (``inf`` when unbounded; >= 0 up to the solver's tolerance).
    gain_by_state : array (K, S)
        The same from each non-terminal state taken as the first state of an episode (0 at
        terminal states).
    value, current : array (K, S)
        ``V*(s, 0)`` and ``V^b(s, 0)``: the best and the current discounted utility from ``s``.
    value_sold, current_sold : array (K, S)
        The same at ``(s, 1)``: when the bidder sold ``s`` (won the previous auction), the credit
        for that sale included (Proposition 1).
    deviation : array (K, S, 2)
        The best bid at ``(s, f)`` (``f = 1``: the bidder sold ``s``); the current bid where no
        candidate is better; ``±inf`` at an unbounded pair (Proposition 3).
    limit : bool array (K, S, 2)
        The deviation is a float neighbour of a rival bid standing for a limit, not attained.
    exact : bool
        True for top-two rules (Proposition 2); False for a candidate search (a lower bound).
    bid_range : (lo, hi) or None
        The range deviations were confined to (the current bid always allowed).
    """

    bidders: IntArray
    gain: FloatArray
    gain_by_state: FloatArray
    value: FloatArray
    current: FloatArray
    value_sold: FloatArray
    current_sold: FloatArray
    deviation: FloatArray
    limit: BoolArray
    exact: bool
    bid_range: tuple[float, float] | None

    @property
    def largest(self) -> tuple[int, int, float]:
        """``(bidder, state, gain)`` of the largest ``gain_by_state`` (first in bidder-major order)."""
        i, s = np.unravel_index(int(np.argmax(self.gain_by_state)), self.gain_by_state.shape)
        return int(self.bidders[i]), int(s), float(self.gain_by_state[i, s])


@dataclass(frozen=True, eq=False)
class NashConv:
    """NashConv of a profile (OpenSpiel's convention) and its worst case.

    Attributes
    ----------
    nash_conv : float
        ``Σ_m gain_m``: the sum over all bidders of their best-response gains from the start.
    max_gain : float
        ``max_m gain_m``, attained by ``bidder``.
    bidder : int
    worst : float
        The largest gain over bidders and non-terminal first states (``gain_by_state``), attained
        by ``worst_bidder`` from ``worst_state``.
    worst_state, worst_bidder : int
    by_bidder : array (M,)
        Each bidder's gain from the start.
    best : BestResponse
        The best responses of all bidders.
    exact : bool
        True for top-two rules; False when the gains come from a search (lower bounds).
    """

    nash_conv: float
    max_gain: float
    bidder: int
    worst: float
    worst_state: int
    worst_bidder: int
    by_bidder: FloatArray
    best: BestResponse
    exact: bool


# ---------------------------------------------------------------------------- arguments
def _check_bidder(bidder: Any, M: int) -> IntArray:
    if bidder is None:
        return np.arange(M, dtype=np.intp)
    if isinstance(bidder, bool) or not isinstance(bidder, int | np.integer):
        raise TypeError(f"bidder must be an int in 0..{M - 1} (or None for every bidder); got {bidder!r}.")
    if not 0 <= bidder < M:
        raise ValueError(f"bidder = {bidder} is out of range; the society has bidders 0..{M - 1}.")
    return np.array([int(bidder)], dtype=np.intp)


# ---------------------------------------------------------------------------- the augmented MDP
def _seller_credit(value: FloatArray, f: int) -> FloatArray:
    """``f·L``: what the bidder is credited for the state it sold itself (Proposition 1)."""
    return f * value


def _rewards(R_d: FloatArray, won: BoolArray, payment: FloatArray, value: FloatArray, term: BoolArray) -> FloatArray:
    """``r(s, f, x)`` of (2), shape (2, S, K): the seller's credit, the reward if it wins, minus its payment."""
    r = np.stack([_seller_credit(value, f) for f in (0, 1)]) + np.where(won, R_d[:, None], 0.0) - payment
    r[:, term] = 0.0
    return r


def _augmented_mdp(mdp: FiniteMDP, act: IntArray, won: BoolArray, r: FloatArray) -> FiniteMDP:
    """The MDP (2) on the pairs (s, f), state ``f·S + s``; action k at (s, f) is the candidate bid k at s.

    ``act[s, k]`` is the primitive of the winner, ``won[s, k]`` whether the deviator wins (its next
    ``f``); terminal pairs loop with reward 0. Dense when small, CSR (2S·K, 2S) otherwise.
    """
    S, K = act.shape
    term = terminal_mask(mdp)
    chosen = sp.coo_array(sp.csr_array(mdp.kernel)[(np.arange(S)[:, None] * mdp.n_actions + act).ravel()])
    row, col, p = chosen.row, chosen.col, chosen.data
    keep = ~term[row // K] & (p > 0)
    row, p = row[keep], p[keep]
    col = col[keep] + S * won.ravel()[row]
    ts = np.flatnonzero(term)
    loop_rows, loop_cols = (ts[:, None] * K + np.arange(K)).ravel(), np.repeat(ts, K)
    rows = [f * S * K + x for f in (0, 1) for x in (row, loop_rows)]
    cols = [c for f in (0, 1) for c in (col, f * S + loop_cols)]
    data = [d for _ in (0, 1) for d in (p, np.ones(loop_rows.size))]
    kernel: Any = sp.csr_array(
        (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))), shape=(2 * S * K, 2 * S)
    )
    if 4 * S * S * K <= _DENSE_MAX:
        kernel = kernel.toarray().reshape(2 * S, K, 2 * S)
    start = np.concatenate([mdp.start, np.zeros(S)])
    return FiniteMDP(
        kernel, r.reshape(2 * S, K), mdp.gamma, start=start, terminal=np.tile(term, 2), substochastic=mdp.substochastic
    )


def _unbounded(
    fast: TopTwo, alone: BoolArray, present: BoolArray, aug: FiniteMDP
) -> tuple[BoolArray, IntArray, FloatArray]:
    """Proposition 3: the pairs of infinite value, the action that steps towards an unbounded pair, and ±inf there.

    ``alone`` (S,): the deviator would bid alone at s (one bidder takes part); ``present`` (S,): it
    takes part at s (an action mask; where it does not, it has no bid to push). Returns ``reach``
    (2S,), ``step`` (2S,) (the candidate taking the first step, where reached through others) and
    ``direction`` (2S,): the deviation at an unbounded pair, NaN elsewhere.
    """
    S2, K = aug.R.shape
    S = S2 // 2
    slope = np.array([f * (fast.lookahead == "first") - (fast.price == "first") for f in (0, 1)], dtype=np.float64)
    unb = present[None, :] & ((slope[:, None] > 0) | (alone[None, :] & (slope[:, None] < 0)))  # (2, S)
    reach = unb.ravel() & ~np.asarray(aug.terminal, dtype=bool)
    direction = np.where(reach, np.repeat(np.where(slope > 0, np.inf, -np.inf), S), np.nan)
    step = np.zeros(S2, dtype=np.intp)
    kernel = sp.csr_array(aug.kernel)
    while True:
        hits = np.asarray(kernel @ reach.astype(np.float64)).reshape(S2, K) > 0
        new = hits.any(axis=1) & ~reach
        if not new.any():
            return reach, step, direction
        step[new] = np.argmax(hits[new], axis=1)
        reach |= new


def _respond(
    mdp: FiniteMDP,
    x: FloatArray,
    act: IntArray,
    out: Outcomes,
    lim: BoolArray,
    R_d: FloatArray,
    ends: tuple[TopTwo, BoolArray, BoolArray] | None,
) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray]:
    """One bidder: ``V*``, ``V^b``, the best bid and its limit flag at every pair (f, s), each shape (2, S).

    ``x`` (S, K) are its candidate bids (column 0 the current one), ``act`` (S, K) the primitive
    that acts after each, ``out`` their auctions (S, K), ``lim`` (2, S, K) their limit flags,
    ``R_d`` (S,) the reward of its primitive; ``ends``: the fast path, whether it bids alone and
    whether it takes part at each state, to apply Proposition 3 (no bid range), or None.
    """
    S, K = x.shape
    r = _rewards(R_d, out.won, out.payment, out.value, terminal_mask(mdp))
    aug = _augmented_mdp(mdp, act, out.won, r)
    tol = _TOL * max(1.0, float(np.abs(r).max())) / (1.0 - mdp.gamma)
    sol = solve(aug, tol=tol)
    V_cur = evaluate(aug, np.zeros(2 * S, dtype=np.int64))
    V = np.maximum(sol.V, V_cur)  # the current bids are a policy of the MDP: V* >= V^b up to rounding
    tie = max(tol, 2.0 * sol.error_bound)
    good = sol.Q >= sol.Q.max(axis=1, keepdims=True) - tie  # noqa: SIM300
    better = V - V_cur > tie
    k = np.where(better, np.argmax(good, axis=1), 0)  # the first best candidate; the current bid if no better
    rows = np.arange(2 * S)
    x2 = np.tile(x, (2, 1))
    dev = x2[rows, k]
    limit = lim.reshape(2 * S, K)[rows, k] & better
    if ends is not None:
        reach, step, direction = _unbounded(*ends, aug)
        V = np.where(reach, np.inf, V)
        dev = np.where(reach, np.where(np.isnan(direction), x2[rows, step], direction), dev)
        limit &= ~reach
    return V.reshape(2, S), V_cur.reshape(2, S), dev.reshape(2, S), limit.reshape(2, S)


# ---------------------------------------------------------------------------- public
def best_response(
    mdp: FiniteMDP,
    bids: FloatArray,
    mechanism: Mechanism,
    clones: int,
    *,
    bidder: int | None = None,
    bid_range: tuple[float, float] | None = (0.0, 1.0),
) -> BestResponse:
    """The farsighted best response of one bidder (or each) to the rest of a bid profile.

    The bidder changes its bids, every other bid fixed at every state, to maximise its expected
    discounted utility over whole episodes; the exact construction (an MDP on (state, "I sold
    it")) and its proof are in the module docstring.

    Parameters
    ----------
    mdp : FiniteMDP
    bids : array (S, M)
        The profile, ``M = n_actions · clones``; bidder ``m`` plays primitive ``m % n_actions``.
        Where its action is unavailable a bidder takes no part (its entry is not read: NaN, "no
        bid", as the fixed points give) and cannot deviate there (module docstring).
    mechanism : Mechanism
    clones : int
    bidder : int, optional
        The deviating bidder; default: every bidder, one at a time.
    bid_range : (lo, hi) or None
        Deviations are confined to ``[lo, hi]`` (the current bid is always allowed); default
        ``(0, 1)``, the paper's bids. ``None``: any real bid (gains may be ``inf``, Proposition 3).

    Returns
    -------
    BestResponse
        Gains from the start and from each state, values, best bids at every (s, f).

    Raises
    ------
    TypeError, ValueError
        For a bad argument, naming it.
    MechanismError
        When the mechanism's rules fail their contract for M bidders.

    Examples
    --------
    >>> import numpy as np, tasks, verify, mechanism
    >>> from verify.best_response import best_response
    >>> mdp = tasks.chain(6)
    >>> b = verify.solve(mdp).Q[:, np.arange(4) % 2]
    >>> br = best_response(mdp, b, mechanism.MECHANISMS["vickrey"], 2, bidder=1)
    >>> bool(br.gain[0] > 0), float(br.deviation[0, 2, 1])  # it sold state 2 to itself: bid the top
    (True, 1.0)
    """
    clones = validate_society(mdp, mechanism, clones)  # the mechanism's contract check included
    S, A = mdp.n_states, mdp.n_actions
    M = A * clones
    part = takes_part(mdp, M)
    bids = check_profile(bids, S, M, part)
    bid_range = check_bid_range(bid_range)
    bidders = _check_bidder(bidder, M)
    fast = mechanism.fast_path
    cands: Candidates = candidates(bids, bidders, bid_range=bid_range, search=fast is None, available=part)
    out = outcomes(mechanism, bids, bidders, cands.bids, part)
    if fast is not None:
        lim = np.stack([limit_flags(fast, cands, out.won, f) for f in (0, 1)])
    else:
        lim = np.zeros((2, *cands.bids.shape), dtype=bool)
    prim = primitive_of(A, clones)
    present = np.ones((S, M), dtype=bool) if part is None else part
    alone = present.sum(axis=1) == 1
    parts = [
        _respond(
            mdp,
            cands.bids[:, i],
            prim[out.winner[:, i]],
            Outcomes(out.winner[:, i], out.won[:, i], out.payment[:, i], out.value[:, i]),
            lim[:, :, i],
            mdp.R[:, prim[d]],
            (fast, alone, present[:, d]) if fast is not None and bid_range is None else None,
        )
        for i, d in enumerate(bidders)
    ]
    V, V_cur, dev, limit = (np.stack(z) for z in zip(*parts, strict=True))  # each (K, 2, S)
    live = ~terminal_mask(mdp)
    start = np.asarray(mdp.start, dtype=np.float64)
    gain_by_state = np.where(live, V[:, 0] - V_cur[:, 0], 0.0)
    on = start > 0  # 0·inf is not 0: sum over the start's support only
    return BestResponse(
        bidders=bidders,
        gain=(start[on] * gain_by_state[:, on]).sum(axis=1),
        gain_by_state=gain_by_state,
        value=V[:, 0],
        current=V_cur[:, 0],
        value_sold=V[:, 1],
        current_sold=V_cur[:, 1],
        deviation=dev.transpose(0, 2, 1),
        limit=limit.transpose(0, 2, 1),
        exact=fast is not None,
        bid_range=bid_range,
    )


def nash_conv(
    mdp: FiniteMDP,
    bids: FloatArray,
    mechanism: Mechanism,
    clones: int,
    *,
    bid_range: tuple[float, float] | None = (0.0, 1.0),
) -> NashConv:
    """NashConv of a bid profile: the sum over bidders of their farsighted best-response gains, and the max.

    ``NashConv(b) = Σ_m (max_π J_m(π, b_{−m}) − J_m(b))`` from the start distribution (Lanctot et al.
    2017; OpenSpiel's ``exploitability.py``), with ``J_m`` bidder m's expected discounted utility
    (module docstring). 0 exactly when no bidder gains by any change of its bids; ``worst`` is the
    largest gain from any non-terminal first state, the quantity to compare with a tolerance.

    Parameters
    ----------
    mdp, bids, mechanism, clones, bid_range
        As for :func:`best_response`.

    Returns
    -------
    NashConv
    """
    best = best_response(mdp, bids, mechanism, clones, bid_range=bid_range)
    by_bidder = best.gain
    worst_bidder, worst_state, worst = best.largest
    b = int(np.argmax(by_bidder))
    return NashConv(
        nash_conv=float(by_bidder.sum()),
        max_gain=float(by_bidder[b]),
        bidder=b,
        worst=worst,
        worst_state=worst_state,
        worst_bidder=worst_bidder,
        by_bidder=by_bidder,
        best=best,
        exact=best.exact,
    )
