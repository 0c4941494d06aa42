"""The society simulator: many episodes of auctions in lockstep, as arrays.

At every auction t of every episode the state s_t is auctioned (DESIGN §1): the bidders bid
b_t = ψ(s_t), the mechanism picks the winner i*, the winner's primitive runs from s_t until it
stops (a literal action: one step; an option: τ >= 1 steps of the base MDP), the environment pays
it the discounted reward it collected, r_t = Σ_{k<τ} γ^k r_{t,k}, the state reached s_{t+1} is
auctioned next and the bids b_{t+1} = ψ(s_{t+1}) are drawn. The winner's utility is

    U_t = r_t + γ^τ·L(b_{t+1}) − price(b_t, i*)

with L the mechanism's lookahead, set to 0 after a *terminal* transition. After a *truncation*
(the time limit) the lookahead is kept: the state reached is still worth L(b_{t+1}), so the
last winner is credited a bootstrap, never 0 (the authors' code zeroes it, treating the time
limit as termination).

Primitives and time. On a plain :class:`tasks.FiniteMDP` primitive i is action i (τ = 1). On a
:class:`tasks.OptionsMDP` (:func:`tasks.options_mdp`) primitive i is option i, run in the base MDP
for its τ steps; the time limit counts *base* steps, so an episode holds at most ``time_limit``
auctions, and the option running when the limit is reached is cut there: a truncation at the state
it reached (bootstrapped, or credited 0 with ``truncation="zero"``). The record keeps each auction's
τ and γ^τ (``taus``, ``discounts``); the credit identity weights auction t by the cumulative
discount Γ_t = Π_{k<t} γ^{τ_k} (:mod:`mechanism.ledger`).

All episodes advance together: one Python iteration per auction, numpy over episodes and
bidders. Each auction is :func:`mechanism.auction` (the one auction step: winner, every bidder's
payment, and the value L(b) credited to the seller of the state); the winner's primitive is run by
:func:`mechanism.execute.executor` (the one executor, shared with :func:`mechanism.train`), which
draws successors with :func:`mechanism.transitions.transitions` (the one transition sampler):
dense and sparse forms of the same kernel give the same trajectories for the same seed, bit for
bit, and literal actions draw exactly what they drew before options existed.

Per step the work is a handful of numpy passes over (M, E) bids and (E,) episodes; with Beta bids
from the default quantile sampler (:class:`mechanism.BetaBids`) drawing the bids is about half
of it. Measured figures: ``tests/benchmarks/test_bench_rollout.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mechanism.auction import auction_at, validate_for_mask
from mechanism.bidders import TableBids, as_bid_source
from mechanism.execute import executor
from mechanism.market import Mechanism
from mechanism.registry import resolve_mechanism
from mechanism.society import Society
from tasks.mdp import FiniteMDP

__all__ = ["TRUNCATIONS", "Trajectories", "rollout", "truncation_credit_is_zero"]

#: What the step cut by a time limit is credited: the lookahead of the state reached, or nothing.
TRUNCATIONS: tuple[str, ...] = ("bootstrap", "zero")

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Trajectories:
    """A batch of society episodes; every per-step array has shape (episodes, T).

    A step is one auction (and the run of its winner's primitive: one action, or an option's τ
    base steps). T is the number of auctions simulated: the time limit, or fewer when every
    episode ended earlier (with options, an episode reaches the limit, in base steps, after at
    most that many auctions). Entries where ``mask`` is False (after an episode ended) are padding: 0 for numbers,
    False for flags, -1 for ``winners`` and ``primitives``; ``states`` keep the final state.

    Attributes
    ----------
    states : int (E, T)
        s_t, the state auctioned at step t.
    bids : float (E, T, M)
        b_t, every bidder's bid for s_t; NaN ("no bid") for a bidder whose primitive's action is
        unavailable at s_t: it took no part in the auction (:mod:`mechanism.auction`).
    winners, primitives : int (E, T)
        i*, the winning bidder, and the primitive it plays (the action taken, or the option run).
    rewards : float (E, T)
        The discounted reward the winning transformation collected, Σ_{k<τ} γ^k r_{t,k} over its
        base steps k (= r_t for a literal action; for a cut option, over the steps it ran).
    taus : int (E, T)
        τ, the number of environment (base) steps the transformation took (1 for a literal action).
    discounts : float (E, T)
        γ^τ of the step: the discount of the credit, and the factor by which the cumulative
        discount Γ_{t+1} = Γ_t·γ^τ of the next auction shrinks (:mod:`mechanism.ledger`).
    prices : float (E, T)
        What the winner paid for s_t.
    payments : float (E, T, M)
        What every bidder paid for s_t (the winner's entry is ``prices``; losers pay 0 in the
        paper's mechanisms, their own bid in an all-pay auction).
    credits : float (E, T)
        L(b_{t+1}), the lookahead value credited for the state reached: 0 after a terminal
        transition, the bootstrap at a truncation (0 there with ``truncation="zero"``).
    revenues, utilities : float (E, T)
        r_t + γ^τ·credit_t, and the winner's utility revenue − price (a loser's is −payment).
    terminated, truncated : bool (E, T)
        The step entered a terminal state / the step reached the time limit (in base steps)
        without entering one: it ends the episode on a bootstrap (an option still running there
        is cut).
    mask : bool (E, T)
        Whether the step took place.
    final_states : int (E,)
        The state each episode ended in (after its last step).
    final_bids : float (E, M)
        The bids drawn at the final state (the ones the bootstrap credit was computed from), NaN
        for the bidders that take no part there.
    gamma : float
        The MDP's discount factor.
    mechanism : str
        The mechanism's name.
    """

    states: IntArray
    bids: FloatArray
    winners: IntArray
    primitives: IntArray
    rewards: FloatArray
    taus: IntArray
    discounts: FloatArray
    prices: FloatArray
    payments: FloatArray
    credits: FloatArray
    revenues: FloatArray
    utilities: FloatArray
    terminated: BoolArray
    truncated: BoolArray
    mask: BoolArray
    final_states: IntArray
    final_bids: FloatArray
    gamma: float
    mechanism: str

    @property
    def episodes(self) -> int:
        """E, the number of episodes."""
        return int(self.mask.shape[0])

    @property
    def horizon(self) -> int:
        """T, the number of steps simulated."""
        return int(self.mask.shape[1])

    @property
    def n_bidders(self) -> int:
        """M, the number of bidders."""
        return int(self.bids.shape[2])

    @property
    def lengths(self) -> IntArray:
        """The number of steps of each episode, shape (E,)."""
        return self.mask.sum(axis=1)

    @property
    def episode_terminated(self) -> BoolArray:
        """Whether each episode ended in a terminal state, shape (E,)."""
        return np.asarray(self.terminated.any(axis=1))

    @property
    def episode_truncated(self) -> BoolArray:
        """Whether each episode was cut by the time limit, shape (E,)."""
        return np.asarray(self.truncated.any(axis=1))

    @property
    def steps(self) -> int:
        """The number of auctions held (valid steps over all episodes)."""
        return int(self.mask.sum())


# ---------------------------------------------------------------------------- validation
def _horizon(time_limit: Any, mdp: FiniteMDP) -> int:
    T = mdp.time_limit if time_limit is None else time_limit
    if T is None:
        raise ValueError(
            f"no time limit: {mdp!r} has time_limit=None and none was passed; "
            "give rollout(..., time_limit=T) so that episodes end (a truncation bootstraps)."
        )
    if isinstance(T, bool) or not isinstance(T, int | np.integer):
        raise TypeError(f"time_limit must be a positive int; got {T!r}.")
    if T < 1:
        raise ValueError(f"time_limit must be >= 1; got {T}.")
    return int(T)


def truncation_credit_is_zero(truncation: Any) -> bool:
    """Whether ``truncation`` ("bootstrap" or "zero") sets the credit at a time limit to 0."""
    if truncation not in TRUNCATIONS:
        raise ValueError(
            f"truncation must be one of {TRUNCATIONS}; got {truncation!r}. \"bootstrap\" credits the state a time "
            "limit reaches (right for the MDP); \"zero\" treats the limit as termination (the authors' code)."
        )
    return bool(truncation == "zero")


def _episodes(episodes: Any) -> int:
    if isinstance(episodes, bool) or not isinstance(episodes, int | np.integer):
        raise TypeError(f"episodes must be a positive int; got {episodes!r}.")
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1; got {episodes}.")
    return int(episodes)


def _frozen(*arrays: np.ndarray) -> None:
    for a in arrays:
        a.setflags(write=False)


# ---------------------------------------------------------------------------- the simulator
def rollout(
    mdp: FiniteMDP,
    bidders: Any,
    mechanism: Mechanism | str,
    society: Society,
    *,
    episodes: int,
    time_limit: int | None = None,
    seed: int | np.random.Generator,
    truncation: str = "bootstrap",
) -> Trajectories:
    """Run ``episodes`` episodes of the society on ``mdp``, all in lockstep.

    Parameters
    ----------
    mdp : tasks.FiniteMDP
        Primitive i plays action i (literal actions), so ``society.n_primitives`` must equal
        the number of actions. On a :class:`tasks.OptionsMDP` (:func:`tasks.options_mdp`) its
        "actions" are options: primitive i runs option i in the base MDP until it stops (module
        docstring). Where action (option) i is unavailable (``mdp.available[s, i]`` False: for an
        option, s is outside its initiation set), the bidders of primitive i, clones included,
        take no part in the auction of s: they never win there (the rule of :mod:`mechanism.auction`).
        A substochastic ``FiniteMDP`` that is not an ``OptionsMDP`` cannot be simulated (ValueError).
    bidders : array (S, N) or (S, M), or a bid source
        A deterministic bid table (one column per primitive, shared by its clones, or one per
        bidder; NaN, "no bid", only where the primitive is unavailable), or a
        :class:`mechanism.BidSource` such as :class:`mechanism.BetaBids`; see
        :func:`mechanism.as_bid_source`. What a source draws for a bidder that takes no part is
        never used (it is recorded as NaN).
    mechanism : Mechanism or str
        A :class:`mechanism.Mechanism` or a name in :data:`mechanism.MECHANISMS`.
    society : Society
    episodes : int
        E >= 1, the number of episodes run side by side.
    time_limit : int, optional
        Environment steps per episode before truncation (base steps for options: an option running
        at the limit is cut); default ``mdp.time_limit`` (one of the two is needed).
    seed : int or numpy.random.Generator
        The only source of randomness: start states, bids and transitions.
    truncation : {"bootstrap", "zero"}
        The credit of the step a time limit cuts: ``"bootstrap"`` (default, right for the MDP) the
        lookahead of the bids at the state reached; ``"zero"`` none, as if the time limit were
        a terminal state (the authors' code does this; offered to reproduce their setting).

    Returns
    -------
    Trajectories
        Arrays of shape (E, T); see :class:`Trajectories`.

    Notes
    -----
    Per step, in this order: the auction on b_t (winner, payments), the winners' primitives run
    (:func:`mechanism.execute.executor`: for literal actions one ``rng.random(E)`` for the
    transitions, none when every (s, a) has a single successor; for options the draws of their
    inner steps), then the bids b_{t+1} at the states reached, whose auction gives the credit of
    step t (its value L(b_{t+1})) and is auction t + 1. A mechanism is validated once
    (:func:`mechanism.validate_mechanism`). Episodes that have ended keep being stepped (one base
    step per auction) and are masked out; the loop stops as soon as every episode has ended.
    """
    if not isinstance(mdp, FiniteMDP):
        raise TypeError(f"mdp must be a tasks.FiniteMDP; got {type(mdp).__name__}.")
    if not isinstance(society, Society):
        raise TypeError(f"society must be a mechanism.Society; got {type(society).__name__}.")
    if society.n_primitives != mdp.n_actions:
        raise ValueError(
            f"the society has {society.n_primitives} primitives but the MDP has {mdp.n_actions} actions; "
            "primitive i plays action i (option i of an OptionsMDP), so use Society(mdp.n_actions, clones)."
        )
    mech = resolve_mechanism(mechanism)
    source = as_bid_source(bidders, society, mdp.n_states)
    T = _horizon(time_limit, mdp)
    zero_at_limit = truncation_credit_is_zero(truncation)
    E = _episodes(episodes)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    M = society.n_bidders
    takes_part = society.bidder_mask(mdp.available)
    validate_for_mask(mech, takes_part, M)
    _check_no_bids(source, takes_part)
    run = executor(mdp)
    env = run.env  # the transitions of the MDP the primitives act in (the base MDP for options)
    terminal = np.asarray(mdp.terminal)
    primitive_of = society.primitive_of

    # Time-major buffers; bids and payments are stored bidder-major per step, (M, E), so that the
    # auction's reductions over bidders run over contiguous rows of the transposed view (E, M).
    states = np.empty((T + 1, E), dtype=np.intp)
    bids = np.empty((T + 1, M, E))
    payments = np.zeros((T, M, E))
    winners = np.empty((T, E), dtype=np.intp)
    rewards = np.empty((T, E))
    discounts = np.empty((T, E))
    taus = np.empty((T, E), dtype=np.intp)
    prices = np.empty((T, E))
    credits = np.empty((T, E))
    terminated = np.zeros((T, E), dtype=bool)
    truncated = np.zeros((T, E), dtype=bool)
    mask = np.zeros((T, E), dtype=bool)

    states[0] = env.start((E,), rng)
    bids[0].T[...] = _draw(source, states[0], rng, M)
    held = auction_at(mech, bids[0].T, states[0], takes_part)
    alive = ~terminal[states[0]]
    clock = np.zeros(E, dtype=np.intp)  # base steps each episode has taken
    n_steps = T
    for t in range(T):  # every auction takes >= 1 base step, so T auctions reach the limit
        mask[t] = alive
        winners[t] = held.winner
        budget = None if run.literal else np.maximum(T - clock, 1)  # an ended episode idles one step at a time
        done = run(states[t], primitive_of[held.winner], rng, budget)
        rewards[t], discounts[t], taus[t] = done.reward, done.discount, done.tau
        prices[t] = held.price
        payments[t].T[...] = held.payments
        s_tp1 = done.s_tau
        states[t + 1] = s_tp1
        bids[t + 1].T[...] = _draw(source, s_tp1, rng, M)
        held = auction_at(mech, bids[t + 1].T, s_tp1, takes_part)  # auction t + 1, and the credit of step t
        ends = terminal[s_tp1]
        np.copyto(credits[t], held.value)
        np.copyto(credits[t], 0.0, where=ends)
        np.logical_and(alive, ends, out=terminated[t])
        alive &= ~ends
        clock += done.tau
        np.logical_and(alive, clock >= T, out=truncated[t])  # the limit cuts the episode: a bootstrap
        if zero_at_limit:
            np.copyto(credits[t], 0.0, where=truncated[t])
        alive &= ~truncated[t]
        if not alive.any():
            n_steps = t + 1
            break

    # Padding, in place on the time-major buffers; the record holds transposed views of them.
    mask_t = mask[:n_steps]
    off = ~mask_t
    lengths = mask_t.sum(axis=0)
    cols = np.arange(E)
    final_states = states[lengths, cols]
    final_bids = np.ascontiguousarray(bids[lengths, :, cols])
    discounts_t, taus_t = discounts[:n_steps], taus[:n_steps]
    np.copyto(discounts_t, 0.0, where=off)
    np.copyto(taus_t, 0, where=off)
    winners_t = winners[:n_steps]
    primitives_t = np.take(primitive_of, winners_t)
    np.copyto(winners_t, -1, where=off)
    np.copyto(primitives_t, -1, where=off)
    states_t = states[:n_steps]
    np.copyto(states_t, final_states[None, :], where=off)
    for x in (rewards, prices, credits):
        np.copyto(x[:n_steps], 0.0, where=off)
    bids_t, payments_t = bids[:n_steps], payments[:n_steps]
    np.copyto(bids_t, 0.0, where=off[:, None, :])
    np.copyto(payments_t, 0.0, where=off[:, None, :])
    revenues = rewards[:n_steps] + discounts_t * credits[:n_steps]
    utilities = revenues - prices[:n_steps]

    arrays = {
        "states": states_t.T,
        "bids": bids_t.transpose(2, 0, 1),
        "winners": winners_t.T,
        "primitives": primitives_t.T,
        "rewards": rewards[:n_steps].T,
        "taus": taus_t.T,
        "discounts": discounts_t.T,
        "prices": prices[:n_steps].T,
        "payments": payments_t.transpose(2, 0, 1),
        "credits": credits[:n_steps].T,
        "revenues": revenues.T,
        "utilities": utilities.T,
        "terminated": terminated[:n_steps].T,
        "truncated": truncated[:n_steps].T,
        "mask": mask_t.T,
        "final_states": final_states,
        "final_bids": final_bids,
    }
    _frozen(*arrays.values())
    return Trajectories(**arrays, gamma=mdp.gamma, mechanism=mech.name)


def _draw(source: Any, states: IntArray, rng: np.random.Generator, M: int) -> FloatArray:
    b = source.sample(states, rng)
    if b.shape != (states.size, M):
        raise ValueError(
            f"the bid source returned shape {b.shape} for {states.size} states; it must return (B, M) = "
            f"({states.size}, {M}), one column per bidder of the society."
        )
    return b


def _check_no_bids(source: Any, takes_part: BoolArray | None) -> None:
    """A bid table may say "no bid" (NaN) only for a bidder that takes no part at that state."""
    if not isinstance(source, TableBids):
        return
    missing = np.isnan(source.table)
    if takes_part is not None:
        missing &= takes_part
    if missing.any():
        s, m = (int(i) for i in np.argwhere(missing)[0])
        raise ValueError(
            f"the bid table has no bid (NaN) for bidder {m} at state {s}, where its primitive's action is available; "
            "NaN is only for a bidder whose action is unavailable there (mdp.available). Give every "
            "available (state, bidder) a finite bid."
        )
