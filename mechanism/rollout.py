"""The society simulator: many episodes of auctions in lockstep, as arrays.

At every step t of every episode the state s_t is auctioned (DESIGN §1): the bidders bid
b_t = ψ(s_t), the mechanism picks the winner i*, the winner's primitive acts (a literal action:
τ = 1), the environment pays r_t and moves to s_{t+1} ~ P(· | s_t, a), and the bids
b_{t+1} = ψ(s_{t+1}) are drawn. The winner's utility is

    U_t = r_t + γ^τ·L(b_{t+1}) − price(b_t, i*)

with L the mechanism's lookahead, set to 0 after a *terminal* transition. After a *truncation*
(the time limit) the lookahead is kept: the state reached is still worth L(b_{t+1}), so the
last winner is credited a bootstrap, never 0 (the authors' code zeroes it, treating the time
limit as termination).

All episodes advance together: one Python iteration per time step, numpy over episodes and
bidders. The next state is drawn by inverse transform from the row's cumulative transition
probabilities with one uniform per episode: the kernel, dense or CSR, is compressed once per MDP
into its non-zero support per (s, a) row, and a guide table (a few vectorised steps instead of a
binary search over the row) finds the first cumulative value above the uniform. Dense and sparse
forms of the same kernel therefore give the same trajectories for the same seed, bit for bit.

Per step the work is a handful of numpy passes over (M, E) bids and (E,) episodes; with Beta bids
from the default quantile sampler (:class:`mechanism.BetaBids`) drawing the bids is about half
of it. Measured figures: ``tests/benchmarks/test_bench_rollout.py``.
"""

from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from mechanism.bidders import as_bid_source
from mechanism.rules import Mechanism, resolve_mechanism
from mechanism.society import Society
from tasks.mdp import FiniteMDP

__all__ = ["Trajectories", "rollout"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Trajectories:
    """A batch of society episodes; every per-step array has shape (episodes, T).

    T is the number of steps simulated: the time limit, or fewer when every episode terminated
    earlier. Entries where ``mask`` is False (after an episode ended) are padding: 0 for numbers,
    False for flags, -1 for ``winners`` and ``primitives``; ``states`` keep the final state.

    Attributes
    ----------
    states : int (E, T)
        s_t, the state auctioned at step t.
    bids : float (E, T, M)
        b_t, every bidder's bid for s_t.
    winners, primitives : int (E, T)
        i*, the winning bidder, and the primitive it plays (the action taken).
    rewards : float (E, T)
        The discounted reward the winning transformation collected, Σ_{k<τ} γ^k r_{t+k}
        (= r_t for a literal action).
    taus : int (E, T)
        τ, the number of environment steps the transformation took (1 for a literal action).
    discounts : float (E, T)
        γ^τ of the step.
    prices : float (E, T)
        What the winner paid for s_t.
    credits : float (E, T)
        L(b_{t+1}), the lookahead value credited for the state reached: 0 after a terminal
        transition, the bootstrap at a truncation.
    revenues, utilities : float (E, T)
        r_t + γ^τ·credit_t, and revenue − price (the winner's; losers get 0).
    terminated, truncated : bool (E, T)
        The step entered a terminal state / the step was cut by the time limit.
    mask : bool (E, T)
        Whether the step took place.
    final_states : int (E,)
        The state each episode ended in (after its last step).
    final_bids : float (E, M)
        The bids drawn at the final state (the ones the bootstrap credit was computed from).
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


# ---------------------------------------------------------------------------- transitions
@dataclass(frozen=True)
class _Sampler:
    """Inverse-transform sampling of s' ~ P(· | row) with a guide table (Chen & Asau 1974).

    Per (s, a) row r: the successors with positive probability and their cumulative sums
    ``cum[indptr[r]:indptr[r+1]]``, non-decreasing, the last set to +inf so that a uniform that
    rounding leaves above the row's sum (1 − ε) still lands on the last successor. The sample for
    u ∈ [0, 1) is the first position k of the row with ``cum[k] > u``.

    The guide splits [0, 1) into G_r = 2^g ≥ 4·width cells (≥ width for very large kernels);
    ``guide[start[r] + j]`` is the first k with cum[k] > j/G_r, where every u of cell
    j = ⌊u·G_r⌋ starts its search (G_r·u and j/G_r are exact in floating point, so the answer is
    the same as a binary search over the whole row, bit for bit). The answer lies at most
    ``span`` positions further; a cell rarely holds more than a few cumulative sums, so ``span``
    forward steps ``k += cum[k] <= u`` finish the search (or a binary search between consecutive
    guide entries, when a row crowds many tiny probabilities into one cell and that is cheaper).
    """

    cum: FloatArray
    successors: IntArray
    cells: FloatArray  # G_r per row
    start: IntArray  # where row r's G_r + 1 guide entries start
    guide: IntArray
    span: int

    def __call__(self, rows: IntArray, u: FloatArray) -> IntArray:
        """The first position k in each row's slice with cum[k] > u: s' ~ P(· | row)."""
        j = np.take(self.cells, rows)
        j *= u
        cell = j.astype(np.intp)  # ⌊G_r·u⌋, exact
        cell += np.take(self.start, rows)
        k = np.take(self.guide, cell)
        depth = _depth(self.span)
        if self.span <= 2 * depth:
            for _ in range(self.span):
                k += self.cum[k] <= u
        else:
            hi = np.take(self.guide, cell + 1)
            for _ in range(depth):
                mid = (k + hi) >> 1
                right = self.cum[mid] <= u
                k = np.where(right, mid + 1, k)
                hi = np.where(right, hi, mid)
        return np.take(self.successors, k)


def _depth(span: int) -> int:
    """Bisection steps that shrink an interval of ``span + 1`` candidates to one."""
    return int(span).bit_length()


def _row_cumsum(indptr: IntArray, data: FloatArray) -> FloatArray:
    """Sequential cumulative sum within each CSR row (exact: the same additions as np.cumsum)."""
    cum = np.empty_like(data)
    for lo, hi in itertools.pairwise(indptr):
        np.cumsum(data[lo:hi], out=cum[lo:hi])
    return cum


#: Kernels with at most this many non-zeros get G_r >= 4·width guide cells per row (a span of a few
#: steps); larger ones G_r >= width, so that the guide stays within 2 entries per non-zero.
_GUIDE_SPREAD_UP_TO = 2**22

#: One sampler per MDP, built on first use and kept while the MDP lives (a FiniteMDP is immutable).
_SAMPLERS: weakref.WeakKeyDictionary[FiniteMDP, _Sampler] = weakref.WeakKeyDictionary()


def _sampler(mdp: FiniteMDP) -> _Sampler:
    """The transition sampler of ``mdp`` (cached)."""
    cached = _SAMPLERS.get(mdp)
    if cached is None:
        cached = _SAMPLERS[mdp] = _build_sampler(mdp)
    return cached


def _build_sampler(mdp: FiniteMDP) -> _Sampler:
    K = sp.csr_array(mdp.kernel, copy=True)
    K.eliminate_zeros()
    K.sort_indices()
    indptr = np.asarray(K.indptr, dtype=np.intp)
    data = np.asarray(K.data, dtype=np.float64)
    if mdp.is_sparse:
        cum = _row_cumsum(indptr, data)
    else:
        # A dense row's cumsum equals the cumsum of its non-zeros at their positions: x + 0.0 == x.
        dense = mdp.kernel
        cum = np.cumsum(dense, axis=1)[dense > 0]
    cum[indptr[1:] - 1] = np.inf

    # The guide: row r owns entries start[r] .. start[r] + G_r. Entry j < G_r is indptr[r] plus the
    # number of the row's sums with cum[k] <= j/G_r, i.e. with ⌈G_r·cum[k]⌉ <= j; entry G_r is the
    # row's last position (its +inf). Built as one cumulative sum of its increments.
    width = np.diff(indptr)
    spread = 4 if cum.size <= _GUIDE_SPREAD_UP_TO else 1
    cells = np.left_shift(1, np.ceil(np.log2(spread * width)).astype(np.intp))
    start = np.concatenate([[0], np.cumsum(cells + 1)[:-1]])
    last = start + cells
    first = np.ceil(cum * np.repeat(cells, width))  # the first cell each sum counts in (+inf: none)
    counted = first < np.repeat(cells, width)
    at = np.repeat(start, width)[counted] + first[counted].astype(np.intp)
    increments = np.bincount(at, minlength=int(last[-1]) + 1)
    increments[start[1:]] += 1  # from the previous row's last position to this row's start
    increments[last] = width - 1 - np.add.reduceat(counted, indptr[:-1])
    guide = np.cumsum(increments)
    steps = np.diff(guide)
    steps[last[:-1]] = 0  # from a row's last entry to the next row's first: not a cell
    span = int(steps.max()) if steps.size else 0
    return _Sampler(cum, np.asarray(K.indices, dtype=np.intp), cells.astype(np.float64), start, guide, span)


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
) -> Trajectories:
    """Run ``episodes`` episodes of the society on ``mdp``, all in lockstep.

    Parameters
    ----------
    mdp : tasks.FiniteMDP
        Primitive i plays action i (literal actions), so ``society.n_primitives`` must equal
        the number of actions.
    bidders : array (S, N) or (S, M), or a bid source
        A deterministic bid table (one column per primitive, shared by its clones, or one per
        bidder), or a :class:`mechanism.BidSource` such as :class:`mechanism.BetaBids`;
        see :func:`mechanism.as_bid_source`.
    mechanism : Mechanism or str
        A :class:`mechanism.Mechanism` or a name in :data:`mechanism.MECHANISMS`.
    society : Society
    episodes : int
        E >= 1, the number of episodes run side by side.
    time_limit : int, optional
        Steps per episode before truncation; default ``mdp.time_limit`` (one of the two is needed).
    seed : int or numpy.random.Generator
        The only source of randomness: start states, bids and transitions.

    Returns
    -------
    Trajectories
        Arrays of shape (E, T); see :class:`Trajectories`.

    Notes
    -----
    Per step, in this order: the auction on b_t (winner, price), one ``rng.random(E)`` for the
    transitions, then the bids b_{t+1} at the states reached, which are the credit of step t
    (through the lookahead) and the bids of auction t + 1. Episodes that have ended keep
    being stepped (they sit in an absorbing terminal state) and are masked out; the loop stops
    as soon as every episode has ended.
    """
    if not isinstance(mdp, FiniteMDP):
        raise TypeError(f"mdp must be a tasks.FiniteMDP; got {type(mdp).__name__}.")
    if not isinstance(society, Society):
        raise TypeError(f"society must be a mechanism.Society; got {type(society).__name__}.")
    if society.n_primitives != mdp.n_actions:
        raise ValueError(
            f"the society has {society.n_primitives} primitives but the MDP has {mdp.n_actions} actions; "
            "with literal actions primitive i plays action i, so use Society(mdp.n_actions, clones)."
        )
    mech = resolve_mechanism(mechanism)
    source = as_bid_source(bidders, society, mdp.n_states)
    T = _horizon(time_limit, mdp)
    E = _episodes(episodes)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    A, M = mdp.n_actions, society.n_bidders
    step = _sampler(mdp)
    R = mdp.R.ravel()
    terminal = np.asarray(mdp.terminal)
    primitive_of = society.primitive_of

    # Time-major buffers; bids are stored bidder-major per step, (M, E), so that the auction's
    # reductions over bidders run over contiguous rows of the transposed view (E, M).
    states = np.empty((T + 1, E), dtype=np.intp)
    bids = np.empty((T + 1, M, E))
    winners = np.empty((T, E), dtype=np.intp)
    rewards = np.empty((T, E))
    prices = np.empty((T, E))
    credits = np.empty((T, E))
    terminated = np.zeros((T, E), dtype=bool)
    mask = np.zeros((T, E), dtype=bool)

    start = np.asarray(mdp.start)
    start_cum = np.cumsum(start)
    start_cum[np.flatnonzero(start > 0)[-1] :] = np.inf
    states[0] = np.searchsorted(start_cum, rng.random(E), side="right")
    bids[0].T[...] = _draw(source, states[0], rng, M)
    alive = ~terminal[states[0]]
    n_steps = T
    for t in range(T):
        s_t, b_t = states[t], bids[t].T
        mask[t] = alive
        w = np.asarray(mech.winner(b_t), dtype=np.intp)
        winners[t] = w
        row = s_t * A + primitive_of[w]
        np.take(R, row, out=rewards[t])
        prices[t] = mech.price(b_t, w)
        s_tp1 = step(row, rng.random(E))
        states[t + 1] = s_tp1
        bids[t + 1].T[...] = _draw(source, s_tp1, rng, M)
        ends = terminal[s_tp1]
        credits[t] = mech.credit(bids[t + 1].T)
        np.copyto(credits[t], 0.0, where=ends)
        np.logical_and(alive, ends, out=terminated[t])
        alive &= ~ends
        if not alive.any():
            n_steps = t + 1
            break
    truncated = np.zeros((n_steps, E), dtype=bool)
    if n_steps == T:
        truncated[T - 1] = alive

    # Padding, in place on the time-major buffers; the record holds transposed views of them.
    mask_t = mask[:n_steps]
    off = ~mask_t
    lengths = mask_t.sum(axis=0)
    cols = np.arange(E)
    final_states = states[lengths, cols]
    final_bids = np.ascontiguousarray(bids[lengths, :, cols])
    discounts = np.where(mask_t, mdp.gamma, 0.0)
    taus = mask_t.astype(np.intp)
    winners_t = winners[:n_steps]
    primitives_t = np.take(primitive_of, winners_t)
    np.copyto(winners_t, -1, where=off)
    np.copyto(primitives_t, -1, where=off)
    states_t = states[:n_steps]
    np.copyto(states_t, final_states[None, :], where=off)
    for x in (rewards, prices, credits):
        np.copyto(x[:n_steps], 0.0, where=off)
    bids_t = bids[:n_steps]
    np.copyto(bids_t, 0.0, where=off[:, None, :])
    revenues = rewards[:n_steps] + discounts * credits[:n_steps]
    utilities = revenues - prices[:n_steps]

    arrays = {
        "states": states_t.T,
        "bids": bids_t.transpose(2, 0, 1),
        "winners": winners_t.T,
        "primitives": primitives_t.T,
        "rewards": rewards[:n_steps].T,
        "taus": taus.T,
        "discounts": discounts.T,
        "prices": prices[:n_steps].T,
        "credits": credits[:n_steps].T,
        "revenues": revenues.T,
        "utilities": utilities.T,
        "terminated": terminated[:n_steps].T,
        "truncated": truncated.T,
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
