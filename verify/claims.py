"""The claims of DESIGN §1, each checked by computation: a verdict with a shrunk counterexample or a search count.

Every claim is a :class:`~verify.verdicts.Claim` in :data:`CLAIMS` whose ``check`` is a function
``(mechanism, clones, budget, seed) -> Verdict``. It searches generated inputs for a case that
breaks the claim (:mod:`verify.search`: hypothesis as the engine, ``budget`` generated cases,
seeded by ``seed``); the first such case is *shrunk* (fewer states, fewer actions, zero rewards,
self-loops, bids from the front of the grid), and the verdict carries it as a
:class:`~verify.verdicts.Counterexample` that prints the MDP, the bids, the deviation and the
numbers. A claim that holds reports how many distinct cases were examined and what the search
space was. Claims over MDPs also run a fixed battery of the paper's tasks.

A claim first validates the mechanism (:func:`verify.verdicts.mechanism_fault`): a rule that
raises, returns NaN, a wrong shape, an invalid winner, or is not a function of the bids raises
:class:`~mechanism.MechanismError`, which :func:`verify.check` records as an error verdict.

Tolerances (stated once; ``scale`` makes them relative):

* ``truthful``: a gain counts when it exceeds ``1e-9·max(1, max|v|, max|b|, |x|)``;
* ``conserves_credit``: a credit gap counts when ``|gap| > 1e-9·max(1, max|R|, max|b|)/(1 − γ)``;
* ``q_star_equilibrium``, ``q_star_farsighted_equilibrium`` and ``fixed_point_optimal``: a gain,
  or a value shortfall ``V*(s) − V^π(s)``, counts when it exceeds ``1e-8·max(1, max|R|)/(1 − γ)``:
  well above the 1e-10 error bounds of the solver and of the fixed point, amplified by at most
  1/(1 − γ);
* ``bids_converge`` (trained societies, not among the default claims): a bid error or a value
  gap counts when it exceeds :data:`CONVERGE_TOL` = 0.05, absolute, on the task rescaled so that
  the truthful fixed point spans [0, 1]: a statement about learning at a stated budget, so its
  tolerance is the noise the learners leave, not rounding.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, NamedTuple

import numpy as np
from hypothesis import strategies as st
from numpy.typing import NDArray

import tasks
from mechanism.auction import auction
from mechanism.market import Mechanism
from mechanism.society import bidder_mask, primitive_of
from tasks.mdp import FiniteMDP
from verify.domains import current_domain, generated_mdps
from verify.exploitability import auction_gains, exploitability, is_exact
from verify.fixed_point import terminal_mask, truthful_fixed_point
from verify.search import (
    DEFAULT_BUDGET,
    Space,
    check_budget,
    check_society,
    make_verdict,
    search,
    search_mdps,
    value_scale,
)
from verify.solve import solve
from verify.solvers.evaluate import evaluate, evaluate_policies
from verify.strategies import BID_GRID, NUMBER_SPAN, STEPS, OneAuction, bid_profiles, one_auctions
from verify.transform import rescale_rewards
from verify.verdicts import Claim, Counterexample, Verdict, format_counterexample, mechanism_fault

__all__ = [
    "CLAIMS",
    "DEFAULT_BUDGET",
    "DEFAULT_CLAIMS",
    "FARSIGHTED_BID_RANGE",
    "Claim",
    "Counterexample",
    "Verdict",
    "bids_converge",
    "conserves_credit",
    "explorable_mdps",
    "fixed_point_optimal",
    "fixed_point_scaled",
    "fixed_point_shortfall",
    "format_counterexample",
    "greedy_policy",
    "q_star_equilibrium",
    "q_star_farsighted_equilibrium",
    "revisitable",
    "truthful",
]

FloatArray = NDArray[np.float64]

#: Relative tolerances (see the module docstring).
TOL_AUCTION = 1e-9
TOL_CREDIT = 1e-9
TOL_VALUE = 1e-8
#: Episodes per generated rollout, and the episode cap when the MDP has no time limit.
ROLLOUT_EPISODES = 4
ROLLOUT_TIME_LIMIT = 6
#: The range bids are restricted to in the farsighted claim; its MDPs have Q* in this range.
FARSIGHTED_BID_RANGE = (0.0, 1.0)


def _start(mechanism: Mechanism, clones: int, budget: int, seed: int) -> tuple[int, int, int, float]:
    """Check the arguments and the mechanism's rules (raising its MechanismError); return them and the start time."""
    clones = check_society(mechanism, clones)
    budget, seed = check_budget(budget, seed)
    fault = mechanism_fault(mechanism, clones)
    if fault is not None:
        raise fault
    return clones, budget, seed, time.perf_counter()


# ---------------------------------------------------------------------------------------------- truthful
def _utilities(mechanism: Mechanism, profiles: FloatArray, value: float, m: int) -> FloatArray:
    """Bidder m's utility in each auction of ``profiles`` (K, M): ``value`` if it wins, minus what it pays."""
    out = auction(mechanism, profiles)
    return np.where(out.winner == m, value, 0.0) - out.payments[:, m]


def _truthful_counterexample(mechanism: Mechanism, case: OneAuction) -> Counterexample | None:
    """The largest gain of a bidder over bidding its valuation, if it counts.

    Every bidder j values winning at its bid b_j; :func:`auction_gains` searches each one's best
    deviation, and ``case.bidder`` also tries the drawn ``case.deviation``.
    """
    bids, m, x = case
    res = auction_gains(bids[None, :], bids[None, :], mechanism)
    drawn = bids.copy()
    drawn[m] = x
    u_m, u_x = _utilities(mechanism, np.stack([bids, drawn]), float(bids[m]), m)
    gains = res.gain[0].copy()
    by_drawn = float(u_x - u_m) > gains[m]
    gains[m] = max(gains[m], float(u_x - u_m))
    j = int(np.argmax(gains))
    gain = float(gains[j])
    if not gain > TOL_AUCTION * max(1.0, float(np.max(np.abs(bids))), abs(x)):
        return None
    by_drawn = by_drawn and j == m
    dev = x if by_drawn else float(res.deviation[0, j])
    limit = bool(res.limit[0, j]) and not by_drawn
    now = auction(mechanism, bids[None, :])
    winner, pays = int(now.winner[0]), float(now.payments[0, j])
    u0 = (float(bids[j]) if winner == j else 0.0) - pays
    how = "as its bid decreases towards" if limit else "by bidding"
    return Counterexample(
        claim="truthful",
        description=(
            f"In one {mechanism.name} auction where every bidder bids its valuation, bidder {j} values winning at "
            f"{float(bids[j])!r}; it gets utility {u0:.6g} (winner {winner}, bidder {j} pays {pays:.10g}), but {how} "
            f"{dev!r} it gets {u0 + gain:.6g}: truthful bidding is not dominant."
        ),
        bids=bids[None, :].copy(),
        state=0,
        bidder=j,
        deviation=dev,
        numbers={
            "valuation": float(bids[j]),
            "truthful_utility": u0,
            "deviation_utility": u0 + gain,
            "gain": gain,
            "limit": limit,
            "found_by": "drawn deviation" if by_drawn else "auction_gains",
            "exact": res.exact and not by_drawn,
        },
    )


def truthful(
    mechanism: Mechanism,
    clones: int,
    budget: int = DEFAULT_BUDGET,
    seed: int = 0,
    *,
    span: tuple[float, float] | None = NUMBER_SPAN,
) -> Verdict:
    """Truthful bidding is dominant in one auction: no bid beats bidding one's valuation, whatever the others bid.

    Search space (:func:`~verify.strategies.one_auctions`): auctions of 1-4 primitives (2-4 when
    solitary, so there is a rival) × ``clones`` bidders, every bidder bidding its valuation; bids
    from the grid :data:`~verify.strategies.BID_GRID` mixed with floats in ``span`` (None: the
    grid only), one bidder's at a rival's bid (the bid, its float neighbours, or ± a small step).
    Each bidder's best deviation comes from :func:`~verify.exploitability.auction_gains` (exact for
    top-two rules, a candidate search otherwise); that one bidder also tries a drawn bid, a number
    or a point at a rival's bid, so that a price rule's breakpoints (rounding, reserves, posted
    prices) are candidates.
    """
    clones, budget, seed, t0 = _start(mechanism, clones, budget, seed)
    lo_A = 1 if clones > 1 else 2
    space = Space(("one_auction", clones, lo_A, span), lambda: one_auctions(clones, lo_A, 4, BID_GRID, span))
    found = search(space, lambda case: _truthful_counterexample(mechanism, case), budget, seed)
    numbers = f"floats in [{span[0]:g}, {span[1]:g}] mixed with the grid {BID_GRID}" if span else f"the grid {BID_GRID}"
    searched = (
        f"{found.tried} distinct one-shot auctions, every bidder bidding its valuation: {lo_A}-4 primitives x "
        f"{clones} clone(s), bids from {numbers}, one at a rival's bid, its float neighbours or +-"
        f"{', '.join(f'{s:g}' for s in STEPS)}, with a drawn deviation there too; every bidder's best deviation "
        f"{'exact (breakpoint analysis)' if is_exact(mechanism) else 'by candidate search'}"
    )
    return make_verdict(CLAIMS["truthful"], mechanism, clones, found, budget, seed, TOL_AUCTION, searched, t0)


# ---------------------------------------------------------------------------------------------- credit
@st.composite
def _credit_cases(draw: Any, clones: int) -> tuple[FiniteMDP, FloatArray, int]:
    mdp = draw(generated_mdps(dense=None, terminals=True, time_limits=True, max_states=4, max_actions=3))
    bids = draw(bid_profiles(mdp.n_states, mdp.n_actions * clones))
    return mdp, bids, draw(st.integers(0, 2**16))


def _credit_counterexample(
    mechanism: Mechanism, clones: int, case: tuple[FiniteMDP, FloatArray, int]
) -> Counterexample | None:
    """The episode of a rollout whose credit gap exceeds the tolerance, if one does."""
    from mechanism import Society, credit_gap, rollout

    mdp, bids, rollout_seed = case
    limit = mdp.time_limit or ROLLOUT_TIME_LIMIT
    society = Society(mdp.n_actions, clones=clones)
    traj = rollout(mdp, bids, mechanism, society, episodes=ROLLOUT_EPISODES, time_limit=limit, seed=rollout_seed)
    gap = np.asarray(credit_gap(traj), dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(mdp.R))), float(np.max(np.abs(bids)))) / (1.0 - mdp.gamma)
    e = int(np.argmax(np.abs(gap)))
    if not abs(gap[e]) > TOL_CREDIT * scale:
        return None
    mask = np.asarray(traj.mask[e], dtype=bool)
    ended = "terminated" if bool(np.any(traj.terminated[e])) else "truncated"
    steps = {k: np.asarray(getattr(traj, k)[e])[mask] for k in ("states", "winners", "rewards", "prices", "credits")}
    return Counterexample(
        claim="conserves_credit",
        description=(
            f"Episode {e} of a {mechanism.name} rollout ({ended} after {int(mask.sum())} steps) has credit gap "
            f"{gap[e]:.6g}: the discounted utilities do not sum to the discounted rewards minus the first price "
            "(plus the bootstrapped credit of a truncation)."
        ),
        mdp=mdp,
        bids=bids,
        numbers={
            "credit_gap": float(gap[e]),
            "rollout_seed": rollout_seed,
            "time_limit_used": limit,
            **steps,
            "ended": ended,
        },
    )


def conserves_credit(mechanism: Mechanism, clones: int, budget: int = DEFAULT_BUDGET, seed: int = 0) -> Verdict:
    """Credit is conserved: ``mechanism.credit_gap`` is 0 on every trajectory, terminated or truncated.

    Search space: generated MDPs (1-4 states, 1-3 actions, dense or sparse, terminal states,
    time limits 1-5 or none, then capped at 6 steps), deterministic bid tables from the grid, and
    4 episodes of :func:`mechanism.rollout` per case with a generated seed.
    """
    clones, budget, seed, t0 = _start(mechanism, clones, budget, seed)
    space = Space(("credit", clones, current_domain().name), lambda: _credit_cases(clones))
    found = search(space, lambda case: _credit_counterexample(mechanism, clones, case), budget, seed)
    searched = (
        f"{found.tried} distinct generated (MDP, bid table) pairs x {ROLLOUT_EPISODES} episodes: 1-4 states, "
        f"1-3 actions, dense or sparse, terminal states, time limits (1, 2, 3, 5 or {ROLLOUT_TIME_LIMIT}), "
        f"bids from {BID_GRID}"
    )
    return make_verdict(CLAIMS["conserves_credit"], mechanism, clones, found, budget, seed, TOL_CREDIT, searched, t0)


# ---------------------------------------------------------------------------------------------- equilibrium
def _q_star_bids(mdp: FiniteMDP, clones: int) -> tuple[FloatArray, FloatArray]:
    """Q* and the profile "every bidder bids Q*(s, its primitive)", shape (S, A·clones)."""
    Q = solve(mdp).Q
    return Q, Q[:, primitive_of(mdp.n_actions, clones)]


def _myopic_counterexample(mechanism: Mechanism, clones: int, mdp: FiniteMDP, source: str) -> Counterexample | None:
    Q, bids = _q_star_bids(mdp, clones)
    ex = exploitability(mdp, bids, mechanism, clones)
    if not ex.value > TOL_VALUE * value_scale(mdp):
        return None
    how = "as its bid decreases towards" if ex.limit else "by bidding"
    return Counterexample(
        claim="q_star_equilibrium",
        description=(
            f"Every bidder bids Q*(s, its primitive) under {mechanism.name} with {clones} clone(s). At state "
            f"{ex.state}, bidder {ex.bidder} (primitive {ex.bidder % mdp.n_actions}) bids {ex.bid:.6g}, values "
            f"winning at {ex.valuation:.6g} and faces a top rival bid of {ex.others_best:.6g}; {how} "
            f"{ex.deviation:.10g} it gains {ex.value:.6g} in that auction: the Q* profile is not a myopic equilibrium."
        ),
        mdp=mdp,
        bids=bids,
        state=ex.state,
        bidder=ex.bidder,
        deviation=ex.deviation,
        numbers={
            "gain": ex.value,
            "valuation": ex.valuation,
            "bid": ex.bid,
            "others_best": ex.others_best,
            "Q_star": Q,
            "gain_by_state": ex.gain_by_state,
            "limit": ex.limit,
            "exact": ex.exact,
        },
        source=source,
    )


def q_star_equilibrium(mechanism: Mechanism, clones: int, budget: int = DEFAULT_BUDGET, seed: int = 0) -> Verdict:
    """The profile "every bidder bids Q*(s, its primitive)" is a myopic equilibrium: exploitability 0.

    Myopic (the paper's notion): no bidder gains *in the auction at hand* by changing its bid,
    every other bid now and later fixed. Battery: bandit, chain, duality (raw rewards) and duality
    rescaled to [0, 1]; then generated MDPs (1-4 states, 2-3 actions, dense or sparse, terminal
    states, γ in 0.5..0.95). Exploitability by :func:`~verify.exploitability.exploitability` (exact
    for the built-in rules).
    """
    clones, budget, seed, t0 = _start(mechanism, clones, budget, seed)
    battery = ("bandit", "chain", "duality", "duality-rescaled")
    found, notes = search_mdps(
        lambda mdp, source: _myopic_counterexample(mechanism, clones, mdp, source),
        battery,
        ("exploitability", "gain"),
        budget,
        seed,
    )
    searched = (
        f"battery (bandit, chain, duality, duality rescaled) + {found.tried} distinct generated MDPs: 1-4 states, "
        "2-3 actions, dense or sparse, terminal states, gamma 0.5-0.95, rewards from a grid; exploitability "
        f"{'exact' if is_exact(mechanism) else 'by candidate search'}"
    )
    claim = CLAIMS["q_star_equilibrium"]
    return make_verdict(claim, mechanism, clones, found, budget, seed, TOL_VALUE, searched, t0, notes)


# ---------------------------------------------------------------------------------------------- farsighted
def _farsighted_counterexample(mechanism: Mechanism, clones: int, mdp: FiniteMDP, source: str) -> Counterexample | None:
    """The largest best-response gain against the Q* profile (bids clipped to the range), if it counts."""
    from verify.best_response import nash_conv

    if source == "search":
        mdp = rescale_rewards(mdp, *FARSIGHTED_BID_RANGE)
    Q, bids = _q_star_bids(mdp, clones)
    bids = np.clip(bids, *FARSIGHTED_BID_RANGE)  # Q* is in range up to the solver's 1e-10
    nc = nash_conv(mdp, bids, mechanism, clones, bid_range=FARSIGHTED_BID_RANGE)
    if not nc.worst > TOL_VALUE * value_scale(mdp):
        return None
    s, m = int(nc.worst_state), int(nc.worst_bidder)
    k = int(np.flatnonzero(np.asarray(nc.best.bidders) == m)[0])
    dev = np.asarray(nc.best.deviation[k, s], dtype=np.float64)
    value, current = float(nc.best.value[k, s]), float(nc.best.current[k, s])
    return Counterexample(
        claim="q_star_farsighted_equilibrium",
        description=(
            f"Every bidder bids Q*(s, its primitive) under {mechanism.name} with {clones} clone(s), bids in "
            f"{list(FARSIGHTED_BID_RANGE)}. Bidder {m} (primitive {m % mdp.n_actions}), in episodes that start at "
            f"state {s}, earns {current:.10g} in expected discounted utility; by changing its bids (at state {s}: "
            f"{dev[0]:.10g} when it did not sell the state, {dev[1]:.10g} when it did) it earns {value:.10g}, "
            f"a gain of {nc.worst:.6g}: the Q* profile is not a farsighted equilibrium."
        ),
        mdp=mdp,
        bids=bids,
        state=s,
        bidder=m,
        deviation=dev,
        numbers={
            "gain": float(nc.worst),
            "deviation_value": value,
            "current_value": current,
            "deviation_bids_at_state": dev,
            "nash_conv": float(nc.nash_conv),
            "Q_star": Q,
            "gain_by_state": np.asarray(nc.best.gain_by_state[k]),
            "exact": bool(nc.exact),
        },
        source=source,
    )


def q_star_farsighted_equilibrium(
    mechanism: Mechanism, clones: int, budget: int = DEFAULT_BUDGET, seed: int = 0
) -> Verdict:
    """The Q* profile is a farsighted equilibrium: no bidder gains over whole episodes by changing its bids.

    Every bidder bids Q*(s, its primitive); bids are restricted to :data:`FARSIGHTED_BID_RANGE`
    and the MDPs have Q* in it. A bidder's best response (:func:`verify.best_response.nash_conv`)
    may change its bid at every state, depending on whether it sold that state, every other bid
    fixed; the gain is the largest over bidders and states, each state as the first of an
    episode. Under vickrey the seller is credited the highest bid, its own included, so a bidder
    that wins consecutive states gains by inflating its bid (self-credit); the myopic claim
    (``q_star_equilibrium``) does not see this. Battery: bandit, chain, duality rescaled to [0, 1];
    then generated MDPs (as ``q_star_equilibrium``'s) rescaled by :func:`verify.rescale_rewards`.
    """
    clones, budget, seed, t0 = _start(mechanism, clones, budget, seed)
    battery = ("bandit", "chain", "duality-rescaled")
    found, notes = search_mdps(
        lambda mdp, source: _farsighted_counterexample(mechanism, clones, mdp, source),
        battery,
        ("best-response gain", "gain"),
        budget,
        seed,
    )
    searched = (
        f"battery (bandit, chain, duality rescaled) + {found.tried} distinct generated MDPs rescaled to Q* in "
        f"{list(FARSIGHTED_BID_RANGE)}: 1-4 states, 2-3 actions, dense or sparse, terminal states, gamma 0.5-0.95; "
        "every bidder's best response over whole episodes, bids in the same range"
    )
    claim = CLAIMS["q_star_farsighted_equilibrium"]
    return make_verdict(claim, mechanism, clones, found, budget, seed, TOL_VALUE, searched, t0, notes)


# ---------------------------------------------------------------------------------------------- optimality
def greedy_policy(
    bids: FloatArray, mechanism: Mechanism, n_actions: int, clones: int, available: Any = None
) -> NDArray[np.int64]:
    """The society's policy: the primitive of each state's auction winner, shape (S,).

    ``available`` (S, A), the MDP's action mask: each auction is held among the bidders whose
    primitive is available there (:func:`mechanism.auction`); default every bidder everywhere.
    """
    winners = np.asarray(auction(mechanism, np.asarray(bids, dtype=np.float64), bidder_mask(available, clones)).winner)
    return primitive_of(n_actions, clones)[winners].astype(np.int64)


def fixed_point_shortfall(mdp: FiniteMDP, mechanism: Mechanism, clones: int) -> dict[str, Any]:
    """Compare the greedy policy of the truthful fixed point with V*: the numbers behind ``fixed_point_optimal``.

    Returns a dict with ``bids``, ``policy``, ``V_pi``, ``V_star``, ``Q_star``, ``shortfall`` (S,) =
    V* − V^π on non-terminal states (0 on terminal ones), ``start_shortfall`` = start·(V* − V^π)
    and ``top_margin`` (S,): at each non-terminal state the best primitive's bid minus the best bid
    of any other primitive (clones of one primitive bid alike), +inf on terminal states and with
    one action. A margin of 0 is a tie, which the mechanism breaks towards the lower index.
    """
    bids = truthful_fixed_point(mdp, mechanism, clones)
    pi = greedy_policy(bids, mechanism, mdp.n_actions, clones, mdp.available)
    V_pi = evaluate(mdp, pi)
    sol = solve(mdp)
    terminal = terminal_mask(mdp)
    short = np.where(terminal, 0.0, sol.V - V_pi)
    # bids = b(s, m % A): columns 0..A-1 cover them; an unavailable primitive (NaN, no bid) is no rival
    per_primitive = np.sort(np.where(np.asarray(mdp.available), bids[:, : mdp.n_actions], -np.inf), axis=1)
    margin = per_primitive[:, -1] - per_primitive[:, -2] if mdp.n_actions > 1 else np.full(mdp.n_states, np.inf)
    return {
        "bids": bids,
        "policy": pi,
        "V_pi": V_pi,
        "V_star": sol.V,
        "Q_star": sol.Q,
        "shortfall": short,
        "start_shortfall": float(np.asarray(mdp.start, dtype=np.float64) @ (sol.V - V_pi)),
        "top_margin": np.where(terminal, np.inf, margin),
    }


def _optimality_counterexample(
    mechanism: Mechanism, clones: int, strict_ties: bool, mdp: FiniteMDP, source: str
) -> Counterexample | None:
    res = fixed_point_shortfall(mdp, mechanism, clones)
    short = res["shortfall"]
    s = int(np.argmax(short))
    tol = TOL_VALUE * value_scale(mdp)
    if not short[s] > tol:
        return None
    if strict_ties and not res["top_margin"].min() > tol:
        return None
    strict = {"Q_star": res["Q_star"], "top_margin": res["top_margin"]} if strict_ties else {}
    return Counterexample(
        claim="fixed_point_optimal",
        description=(
            f"At the truthful fixed point of {mechanism.name} with {clones} clone(s) the society plays "
            f"{res['policy'].tolist()} (winner's primitive per state"
            f"{', every top bid unique' if strict_ties else ''}); from state {s} it earns "
            f"{res['V_pi'][s]:.6g} but V*({s}) = {res['V_star'][s]:.6g}: short by {short[s]:.6g}."
        ),
        mdp=mdp,
        bids=res["bids"],
        state=s,
        numbers={
            "shortfall": float(short[s]),
            "policy": res["policy"],
            "V_pi": res["V_pi"],
            "V_star": res["V_star"],
            "start_shortfall": res["start_shortfall"],
            **strict,
        },
        source=source,
    )


def fixed_point_optimal(
    mechanism: Mechanism, clones: int, budget: int = DEFAULT_BUDGET, seed: int = 0, *, strict_ties: bool = False
) -> Verdict:
    """The greedy policy of the truthful fixed point achieves V* at every non-terminal state.

    Battery: bandit, chain, duality; then generated MDPs (1-4 states, 2-3 actions, dense or
    sparse, terminal states, γ in 0.5..0.95). V* from :func:`verify.solve`, V^π from
    :func:`verify.evaluate`.

    With ``strict_ties=True`` a shortfall counts only where no tie-break decides the policy: the
    fixed point's top bid must be unique at every non-terminal state, its ``top_margin`` (see
    :func:`fixed_point_shortfall`) above the value tolerance ``1e-8·max(1, max|R|)/(1 − γ)``. The
    counterexample then also carries Q* and the margins.
    """
    claim = CLAIMS["fixed_point_optimal"]
    clones, budget, seed, t0 = _start(mechanism, clones, budget, seed)
    found, notes = search_mdps(
        lambda mdp, source: _optimality_counterexample(mechanism, clones, strict_ties, mdp, source),
        ("bandit", "chain", "duality"),
        ("shortfall", "shortfall"),
        budget,
        seed,
    )
    searched = (
        f"battery (bandit, chain, duality) + {found.tried} distinct generated MDPs: 1-4 states, 2-3 actions, dense "
        "or sparse, terminal states, gamma 0.5-0.95, rewards from a grid; V^pi compared with V* at every non-terminal "
        f"state{'; only fixed points with a unique top bid at every non-terminal state' if strict_ties else ''}"
    )
    return make_verdict(claim, mechanism, clones, found, budget, seed, TOL_VALUE, searched, t0, notes)


# ---------------------------------------------------------------------------------------------- learning
#: ``bids_converge``: the tolerance on bids and on values, env steps per seed, training seeds,
#: generated MDPs when no budget is given, parallel episodes, checkpoints, γ range, time limits
#: (as multiples of the state count; None: none, when every reachable state can be revisited).
CONVERGE_TOL = 0.05
CONVERGE_STEPS = 64_000
CONVERGE_SEEDS = 2
CONVERGE_BUDGET = 8
CONVERGE_EPISODES = 64
CONVERGE_CHECKPOINTS = 10
CONVERGE_GAMMA = (0.5, 0.9)
CONVERGE_TIME_LIMITS: tuple[int | None, ...] = (None, 1, 2, 4)
#: What the learned greedy policy is compared with: V* ("optimal") or the value of the truthful
#: fixed point's own greedy policy ("fixed_point").
CONVERGE_TARGETS: tuple[str, ...] = ("optimal", "fixed_point")


def revisitable(mdp: FiniteMDP) -> bool:
    """Whether every reachable non-terminal state can be visited again and again by a society that explores.

    Episodes restart at ``start`` after a terminal state or a time limit. A reachable state that
    can reach neither a terminal state nor a start state, in an MDP without a time limit, is left
    for good once an episode passes it (say a start state that nothing leads back to): a learner
    sees it at most once per parallel episode, and no schedule makes its bids converge.
    """
    if mdp.time_limit is not None:
        return True
    term = np.asarray(mdp.terminal, dtype=bool)
    back = term | (np.asarray(mdp.start) > 0)
    return all(bool((tasks.reachable(mdp, [s]) & back).any()) for s in np.flatnonzero(tasks.reachable(mdp) & ~term))


@st.composite
def explorable_mdps(draw: Any) -> FiniteMDP:
    """A small MDP every reachable state of which a society can explore: 2-4 states, 2-3 actions, γ 0.5-0.9.

    Dense or sparse, with terminal states, with or without a time limit: the limit is drawn as a
    multiple (1, 2 or 4) of the state count S, so that every reachable state (at most S − 1 steps
    from the start) is auctioned within an episode; a state beyond a shorter limit would only ever
    be bootstrapped from, never learned. An MDP drawn without a limit whose reachable states cannot
    all be revisited (:func:`revisitable`) gets the limit S.
    """
    mdp = draw(
        generated_mdps(dense=None, terminals=True, gamma=CONVERGE_GAMMA, max_states=4, max_actions=3, min_actions=2)
        .filter(lambda m: m.n_states >= 2)
    )
    times = draw(st.sampled_from(CONVERGE_TIME_LIMITS))
    limit = None if times is None else times * mdp.n_states
    out = dataclasses.replace(mdp, time_limit=limit)
    return out if revisitable(out) else dataclasses.replace(mdp, time_limit=mdp.n_states)


def fixed_point_scaled(mdp: FiniteMDP, mechanism: Mechanism, clones: int) -> FiniteMDP:
    """``mdp`` with rewards mapped so that its truthful fixed point spans [0, 1] on non-terminal states.

    :func:`verify.rescale_rewards` maps Q* affinely, Q*' = a·Q* + b (potential-based shaping);
    the truthful fixed point of any order-statistic lookahead moves by the same map, since
    L(a·x + b) = a·L(x) + b for a > 0 (the proof of ``rescale_rewards`` goes through with L in
    place of max). So a = 1/(f_max − f_min), b = −a·f_min with f the fixed point puts it on
    [0, 1], the paper's bid range. A constant fixed point is moved to 0.5 at its own scale.
    """
    live = ~np.asarray(mdp.terminal, dtype=bool)
    fp = truthful_fixed_point(mdp, mechanism, clones)[live]
    Q = solve(mdp).Q[live]
    f_lo, f_hi, q_lo, q_hi = float(fp.min()), float(fp.max()), float(Q.min()), float(Q.max())
    if q_hi - q_lo <= 1e-12 * max(1.0, abs(q_hi)):
        return mdp  # every policy is optimal; nothing to rescale by
    a = 1.0 / (f_hi - f_lo) if f_hi - f_lo > 1e-9 * max(1.0, abs(f_hi)) else 1.0
    b = 0.5 - a * (f_lo + f_hi) / 2.0
    return rescale_rewards(mdp, a * q_lo + b, a * q_hi + b)


class _Learned(NamedTuple):
    """A training run measured against the targets of ``bids_converge``, per checkpoint (C) and seed (N)."""

    steps: NDArray[np.int64]  #: (C,) env steps per seed
    bid_error: FloatArray  #: (C, N) max |bid − fixed point| over reachable non-terminal (state, primitive)
    value_gap: FloatArray  #: (C, N) max over reachable non-terminal states of V_target − V^π
    bids: FloatArray  #: (N, S, A) final mean bids per primitive
    policy: NDArray[np.intp]  #: (N, S) final greedy policies
    visits: FloatArray | None  #: (N, S, A) final visits per cell (valuation learner), else None


def _learn(
    mdp: FiniteMDP, mechanism: Mechanism, clones: int, learner: str, steps: int, seeds: tuple[int, ...], against: str
) -> tuple[_Learned, FloatArray, FloatArray]:
    """Train on ``mdp`` and measure every checkpoint; also return the fixed point (S, A) and the target values (S,)."""
    from mechanism.train import train

    A = mdp.n_actions
    bids = truthful_fixed_point(mdp, mechanism, clones)
    fp = bids[:, :A]
    live = tasks.reachable(mdp) & ~np.asarray(mdp.terminal, dtype=bool)
    if against == "optimal":
        target = solve(mdp).V
    else:
        target = evaluate(mdp, greedy_policy(bids, mechanism, A, clones, mdp.available))
    res = train(
        mdp, mechanism, clones=clones, learner=learner, steps=steps, seeds=seeds,
        checkpoints=CONVERGE_CHECKPOINTS, episodes=CONVERGE_EPISODES, progress=False,
    )
    bids = res.primitive_bids  # (C, N, S, A)
    error = np.abs(bids - fp)[:, :, live].max(axis=(2, 3))
    gap = (target - evaluate_policies(mdp, res.policy))[..., live].max(axis=-1)  # (C, N)
    visits = res.bid_params.get("visits")
    learned = _Learned(
        res.steps.astype(np.int64), error, gap, bids[-1], res.policy[-1], None if visits is None else visits[-1]
    )
    return learned, fp, target


def _converge_counterexample(
    mechanism: Mechanism, clones: int, options: dict[str, Any], mdp: FiniteMDP
) -> Counterexample | None:
    """The worst seed whose final bids or greedy policy miss the targets by more than ``tol``, if one does."""
    tol, against = float(options["tol"]), str(options["against"])
    scaled = fixed_point_scaled(mdp, mechanism, clones)
    run, fp, target = _learn(
        scaled, mechanism, clones, options["learner"], options["steps"], options["seeds"], against
    )
    miss = np.maximum(run.bid_error[-1], run.value_gap[-1])
    n = int(np.argmax(miss))
    if not miss[n] > tol:
        return None
    live = tasks.reachable(scaled) & ~np.asarray(scaled.terminal, dtype=bool)
    err = np.where(live[:, None], np.abs(run.bids[n] - fp), 0.0)
    s, a = (int(x) for x in np.unravel_index(np.argmax(err), err.shape))
    V_pi = evaluate(scaled, run.policy[n])
    worst_value = int(np.argmax(np.where(live, target - V_pi, -np.inf)))
    which = "bids" if run.bid_error[-1, n] > tol else "policy"
    what = (
        f"its bid for primitive {a} at state {s} is {run.bids[n, s, a]:.6g} against the fixed point's "
        f"{fp[s, a]:.6g}" if which == "bids" else
        f"its bids are within {run.bid_error[-1, n]:.3g} of the fixed point, but its greedy policy "
        f"{run.policy[n].tolist()} earns {V_pi[worst_value]:.6g} from state {worst_value} against "
        f"{'V*' if against == 'optimal' else 'the fixed point policy'} {target[worst_value]:.6g}"
    )
    return Counterexample(
        claim="bids_converge",
        description=(
            f"A {options['learner']} society under {mechanism.name} with {clones} clone(s), trained for "
            f"{int(run.steps[-1])} env steps per seed, misses the tolerance {tol:g} in seed {options['seeds'][n]}: "
            f"{what}. Max bid error {run.bid_error[-1, n]:.4g}, value gap {run.value_gap[-1, n]:.4g}."
        ),
        mdp=scaled,
        bids=run.bids[n],
        state=s if which == "bids" else worst_value,
        numbers={
            "seed": options["seeds"][n],
            "failed": which,
            "max_bid_error": float(run.bid_error[-1, n]),
            "value_gap": float(run.value_gap[-1, n]),
            "learning_curve_steps": run.steps,
            "learning_curve_max_error": run.bid_error[:, n],
            "learning_curve_value_gap": run.value_gap[:, n],
            "fixed_point": fp,
            "policy": run.policy[n],
            "V_pi": V_pi,
            "V_target": target,
            "target": against,
            **({} if run.visits is None else {"visits": run.visits[n]}),
        },
    )


def bids_converge(
    mechanism: Mechanism,
    clones: int,
    budget: int = CONVERGE_BUDGET,
    seed: int = 0,
    *,
    learner: str = "valuation",
    tol: float = CONVERGE_TOL,
    steps: int = CONVERGE_STEPS,
    seeds: int = CONVERGE_SEEDS,
    against: str = "optimal",
) -> Verdict:
    """Trained bidders reach the truthful fixed point, and their greedy policy is optimal, within ``tol``.

    Over generated MDPs (:func:`explorable_mdps`: 2-4 states, 2-3 actions, dense or sparse,
    terminal states, time limits of 1, 2 or 4 times the state count or none, γ 0.5-0.9, rewards
    from a grid, then mapped by :func:`fixed_point_scaled` so that the mechanism's truthful fixed
    point spans [0, 1]), a society of ``learner`` bidders (:func:`mechanism.train`, its default
    hyperparameters, ``steps`` env steps per seed, ``seeds`` seeds) must end, in every seed, with

    * every mean bid within ``tol`` of :func:`verify.truthful_fixed_point` (Q* for cloned vickrey
      and ccv, the second-best fixed point for solitary ccv, R for env_reward) at every reachable
      (:func:`tasks.reachable`) non-terminal state, and
    * its greedy policy π within ``tol`` of the target at every such state: V* − V^π
      (``against="optimal"``) or V^{π_fp} − V^π, π_fp the fixed point's greedy policy
      (``against="fixed_point"``: learning reaches what the fixed point plays).

    Otherwise the counterexample is the shrunk MDP, the seed, the final bids and policy and the
    learning curve (max bid error and value gap at each of 10 checkpoints).

    What the theory says (:mod:`mechanism.learners.valuation`): valuation bidders converge to the
    truthful fixed point on every MDP whose reachable states they can revisit, so cloned vickrey
    and cloned ccv hold (their fixed point is Q*); env_reward's fixed point is the one-step reward,
    whose greedy policy is not optimal in general, so it fails on the policy; solitary ccv's bids
    reach its second-best fixed point, whose greedy policy is optimal only on some MDPs: it holds
    ``against="fixed_point"``, and against V* it fails where ``fixed_point_optimal`` does. At the
    default seed and budget it holds against V* too (none of the 8 MDPs drawn is such a case); with
    ``budget=40`` the 35th MDP is one (the fixed point bids 0 for every primitive at a state whose
    best primitive leads to a state where only one primitive bids above 0).

    Budget and cost (measured on a shared 2-core machine): the default 8 MDPs x 2 seeds x 64k env
    steps per seed take 4-5 s per society that holds; a society that fails adds hypothesis's
    shrinking (at most :func:`~verify.search.shrink_budget` more trainings), env_reward 20-26 s in
    all. Training is the cost, so this claim is not among bare ``agora check``'s
    (``Claim.default`` is False): run it with ``agora check --claims bids_converge``. The
    tolerance 0.05 leaves room for the noise the estimates keep at this budget: over 60 generated
    MDPs cloned ccv's final max error is at most 0.022 (median below 1e-4; deterministic MDPs are
    exact). The held-out 8-state benchmark (tests/benchmarks/test_bench_convergence.py) asks 0.01
    at 10^6 steps.
    """
    clones, budget, seed, t0 = _start(mechanism, clones, budget, seed)
    if against not in CONVERGE_TARGETS:
        raise ValueError(f"against must be one of {CONVERGE_TARGETS}; got {against!r}.")
    seed_tuple = tuple(range(seed * seeds, seed * seeds + seeds))
    options = {"tol": tol, "learner": learner, "steps": steps, "seeds": seed_tuple, "against": against}
    space = Space(("explorable_mdps", current_domain().name), explorable_mdps)
    found = search(space, lambda mdp: _converge_counterexample(mechanism, clones, options, mdp), budget, seed)
    searched = (
        f"{found.tried} distinct generated MDPs (2-4 states, 2-3 actions, dense or sparse, terminal states, time "
        f"limits of 1, 2 or 4 x S or none, gamma {CONVERGE_GAMMA[0]}-{CONVERGE_GAMMA[1]}), rewards mapped so the "
        f"truthful fixed point spans [0, 1]; {learner} bidders trained {steps} env steps per seed, seeds "
        f"{list(seed_tuple)}; bids against the truthful fixed point and the greedy policy against "
        f"{'V*' if against == 'optimal' else 'the fixed point policy'} at every reachable non-terminal state"
    )
    return make_verdict(CLAIMS["bids_converge"], mechanism, clones, found, budget, seed, tol, searched, t0)


#: Every claim, in the column order of DESIGN §1's table. Names are a public contract (records, CLI).
CLAIMS: dict[str, Claim] = {
    c.name: c
    for c in (
        Claim(
            "truthful",
            "truthful bid is dominant (one auction)",
            truthful,
            "no bid beats bidding one's valuation in one auction, whatever the others bid",
        ),
        Claim(
            "conserves_credit",
            "credit conserved",
            conserves_credit,
            "what the winner at t is credited for its state is what the winner at t+1 pays for it",
        ),
        Claim(
            "q_star_equilibrium",
            "Q* profile: myopic equilibrium",
            q_star_equilibrium,
            "bidding Q*(s, own primitive): no bidder gains in the auction at hand by changing its bid",
        ),
        Claim(
            "q_star_farsighted_equilibrium",
            "Q* profile: farsighted equilibrium",
            q_star_farsighted_equilibrium,
            "bidding Q*(s, own primitive): no bidder gains over whole episodes by changing its bids",
        ),
        Claim(
            "fixed_point_optimal",
            "truthful fixed point is optimal",
            fixed_point_optimal,
            "the greedy policy of the truthful fixed point achieves V*",
        ),
        Claim(
            "bids_converge",
            "learned bids converge",
            bids_converge,
            "trained bidders end within a tolerance of the truthful fixed point and of V*",
            default=False,
            budget=CONVERGE_BUDGET,
        ),
    )
}
#: The claims bare ``agora check`` and ``verify.check(m)`` run: DESIGN §1's table, in its order.
DEFAULT_CLAIMS: tuple[str, ...] = tuple(name for name, claim in CLAIMS.items() if claim.default)
