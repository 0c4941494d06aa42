"""Hypothesis strategies for the claim checker's search: small MDPs, bid profiles and one-shot auctions.

Every strategy draws raw numbers and then normalises them (no ``.filter`` loops), so every draw
is a valid input and shrinking moves towards fewer states, fewer actions, zero rewards and
self-loops: the shrunk counterexample is small enough to check by hand. Grid values come from
small grids so that ties (the interesting case of every auction rule) are common.

*Cheap draws.* A hypothesis draw costs about the same whatever it holds, so the entries of an
array on a grid are drawn as one byte string (one draw) and decoded, byte ``c`` → ``grid[c % len(grid)]``;
shrinking a byte towards 0 moves the entry towards ``grid[0]``. Generating 100 small MDPs this way
takes about a quarter of the time an array of per-entry draws does, and shrinking replays cost the
same less.

``tests/strategies.py`` re-exports these for the test suite (``verify`` cannot import ``tests``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st
from numpy.typing import NDArray

from tasks.mdp import FiniteMDP
from tasks.options import Option, OptionsMDP, options_mdp

__all__ = [
    "BID_GRID",
    "NUMBER_SPAN",
    "REWARD_GRID",
    "STEPS",
    "WEIGHT_MAX",
    "OneAuction",
    "bid_profiles",
    "finite_mdps",
    "numbers",
    "one_auctions",
    "options_mdps",
    "valuations",
]

FloatArray = NDArray[np.float64]

#: Bids and valuations are drawn from this grid (first entry = what shrinking moves towards).
BID_GRID: tuple[float, ...] = (0.0, 1.0, 0.5, 0.25, 0.75)
#: Rewards R[s, a] are drawn from this grid.
REWARD_GRID: tuple[float, ...] = (0.0, 1.0, 0.5, 0.25, 0.75, -0.5)
#: Transition weights are integers in 0..WEIGHT_MAX before normalisation.
WEIGHT_MAX = 3
#: Time limits a generated MDP may carry (None: episodes end only at terminal states).
TIME_LIMITS: tuple[int | None, ...] = (None, 1, 2, 3, 5)
#: The interval continuous bids and valuations are drawn from (negative and above 1 included).
NUMBER_SPAN: tuple[float, float] = (-2.0, 2.0)
#: Stop probabilities β(s) of generated options (first entry, where shrinking goes: a one-step option).
TERMINATION_GRID: tuple[float, ...] = (1.0, 0.0, 0.5)
#: Steps a drawn point may sit away from a rival's bid: where a price rule's breakpoints hide.
STEPS: tuple[float, ...] = (1e-3, 1e-6, 0.01)
#: A byte below this picks a grid value; at or above it, the continuous draw (about half of them).
_GRID_BYTES = 128


def _gamma_grid(lo: float, hi: float) -> tuple[float, ...]:
    if not (0.0 <= lo <= hi < 1.0):
        raise ValueError(f"gamma must be a range (lo, hi) with 0 <= lo <= hi < 1; got {(lo, hi)}.")
    grid = [round(g, 4) for g in np.arange(lo, hi + 1e-12, 0.05)]
    if grid[-1] != round(hi, 4):
        grid.append(round(hi, 4))
    return tuple(grid)


def _codes(draw: Any, n: int) -> NDArray[np.uint8]:
    """``n`` small codes in one draw (a byte string); shrinking moves each towards 0."""
    if n == 0:
        return np.zeros(0, dtype=np.uint8)
    return np.frombuffer(draw(st.binary(min_size=n, max_size=n)), dtype=np.uint8)


def _on_grid(codes: NDArray[np.uint8], grid: tuple[float, ...]) -> FloatArray:
    return np.asarray(grid, dtype=np.float64)[codes % len(grid)]


@st.composite
def finite_mdps(
    draw: Any,
    dense: bool | st.SearchStrategy[bool] | None = True,
    terminals: bool = True,
    gamma: tuple[float, float] = (0.5, 0.95),
    max_states: int = 4,
    max_actions: int = 3,
    min_actions: int = 1,
    time_limits: bool = False,
    rewards: tuple[float, ...] = REWARD_GRID,
    masks: bool = False,
) -> FiniteMDP:
    """A small valid :class:`~tasks.mdp.FiniteMDP`.

    Parameters
    ----------
    dense : bool, strategy of bool, or None
        Dense (S, A, S) kernel, sparse CSR (S·A, S), a strategy choosing, or None for either.
    terminals : bool
        Whether states other than 0 may be terminal (absorbing, zero reward).
    gamma : (lo, hi)
        γ is drawn from a 0.05-step grid in [lo, hi] (shrinks towards lo).
    max_states, max_actions, min_actions : int
        Bounds on S and A.
    time_limits : bool
        Whether the MDP may carry a time limit (drawn from 1, 2, 3, 5) for truncated rollouts.
    rewards : tuple of float
        The grid ``R[s, a]`` is drawn from.
    masks : bool
        Whether actions may be unavailable in some states (``FiniteMDP.available``): each (s, a)
        is unavailable with probability about 1/4, shrinking towards available, and action 0 stays
        available where a state would have none.

    Notes
    -----
    Construction: integer weights ``W[s, a, s']`` in 0..3 (drawn for the largest MDP and cut to
    S states and A actions); a row with no weight gets a self-loop; rows are normalised. Terminal
    rows become self-loops with zero reward. State 0 is never terminal and is the start state.
    """
    S = draw(st.integers(1, max_states))
    A = draw(st.integers(min_actions, max_actions))
    g = draw(st.sampled_from(_gamma_grid(*gamma)))
    # Drawn at the largest size and cut to (S, A): when shrinking removes a state or an action, the
    # rest of the MDP keeps its numbers, so the smaller MDP is likely to fail in the same way.
    shape = (max_states, max_actions, max_states)
    W = (_codes(draw, int(np.prod(shape))) % (WEIGHT_MAX + 1)).reshape(shape)[:S, :A, :S].astype(np.float64)
    R = _on_grid(_codes(draw, max_states * max_actions), rewards).reshape(max_states, max_actions)[:S, :A]
    term = np.zeros(S, dtype=bool)
    if terminals and max_states > 1:
        term[1:] = (_codes(draw, max_states - 1) % 2 == 1)[: S - 1]
    empty = W.sum(axis=2) == 0
    s_idx, a_idx = np.nonzero(empty)
    W[s_idx, a_idx, s_idx] = 1.0
    P = W / W.sum(axis=2, keepdims=True)
    P[term] = 0.0
    for s in np.flatnonzero(term):
        P[s, :, s] = 1.0
    R[term] = 0.0
    R = R + 0.0  # no negative zeros in printed counterexamples
    if isinstance(dense, st.SearchStrategy):
        is_dense = draw(dense)
    elif dense is None:
        is_dense = draw(st.booleans())
    else:
        is_dense = bool(dense)
    kernel: Any = P if is_dense else sp.csr_array(P.reshape(S * A, S))
    limit = draw(st.sampled_from(TIME_LIMITS)) if time_limits else None
    start = np.zeros(S)
    start[0] = 1.0
    available = None
    if masks:
        codes = _codes(draw, max_states * max_actions).reshape(max_states, max_actions)[:S, :A]
        available = codes % 4 != 3  # code 0, where shrinking goes, is "available"
        available[~available.any(axis=1), 0] = True
    return FiniteMDP(
        kernel, R, g, start=start, terminal=term, time_limit=limit, name="generated", available=available
    )


@st.composite
def bid_profiles(draw: Any, n_states: int, n_bidders: int, grid: tuple[float, ...] = BID_GRID) -> FloatArray:
    """Bid tables ``bids[s, m]`` of shape (n_states, n_bidders) from a small grid, so ties are common."""
    return _on_grid(_codes(draw, n_states * n_bidders), grid).reshape(n_states, n_bidders)


def valuations(n: int, grid: tuple[float, ...] = BID_GRID) -> st.SearchStrategy[FloatArray]:
    """Valuations of ``n`` primitives for winning one auction, shape (n,), from a small grid."""
    return bid_profiles(1, n, grid).map(lambda v: v[0])


@st.composite
def numbers(
    draw: Any, n: int, grid: tuple[float, ...] = BID_GRID, span: tuple[float, float] | None = NUMBER_SPAN
) -> FloatArray:
    """``n`` numbers, shape (n,): about half from ``grid`` (ties stay common), half floats in ``span``.

    With ``span=None`` every number is on the grid. The floats are hypothesis floats (bounds,
    zero, tiny and "nasty" values included), drawn only where a float is used, so shrinking never
    spends time on a value the case does not hold; shrinking moves every entry towards ``grid[0]``.
    """
    codes = _codes(draw, n)
    out = _on_grid(codes, grid)
    if span is not None:
        for i in np.flatnonzero(codes >= _GRID_BYTES):
            out[i] = draw(st.floats(*span, allow_nan=False)) + 0.0  # + 0.0: no negative zeros
    return out


def _point(draw: Any, rivals: FloatArray, grid: tuple[float, ...], span: tuple[float, float] | None) -> float:
    """A number (:func:`numbers`), or a point at a rival bid r: r itself, its float neighbours, or r ± a small step.

    The rival is the k-th highest (k drawn, shrinking towards the highest: the bid most prices depend on).
    """
    kind = draw(st.integers(0, 5))
    if kind == 0 or rivals.size == 0:
        return float(draw(numbers(1, grid, span))[0])
    r = float(np.sort(rivals)[::-1][draw(st.integers(0, rivals.size - 1))])
    if kind == 1:
        return r
    if kind in (2, 3):
        return float(np.nextafter(r, np.inf if kind == 2 else -np.inf))
    step = draw(st.sampled_from(STEPS))
    return r + step if kind == 4 else r - step


class OneAuction(NamedTuple):
    """One auction of M = A·clones bidders, every bidder bidding its valuation for winning."""

    bids: FloatArray  #: (M,) every bid, which is also the bidder's valuation
    bidder: int  #: the bidder whose valuation was drawn at a rival's bid, and whose ``deviation`` is tried
    deviation: float  #: a drawn alternative bid for ``bidder``


@st.composite
def one_auctions(
    draw: Any,
    clones: int,
    min_primitives: int = 1,
    max_primitives: int = 4,
    grid: tuple[float, ...] = BID_GRID,
    span: tuple[float, float] | None = NUMBER_SPAN,
) -> OneAuction:
    """A one-shot auction in which every bidder bids its valuation, and a deviation to try.

    The bids come from :func:`numbers` (grid values mixed with floats in ``span``), except that of
    ``bidder``, which is such a number or a point at a rival's bid (the bid, its ``np.nextafter``
    neighbours, or the bid ± a step of :data:`STEPS`); so is its drawn ``deviation``. The
    breakpoints of a price rule are therefore reachable: a valuation just above the price a
    rounded or reserve rule charges, a bid just below a rival's.
    """
    M = draw(st.integers(min_primitives, max_primitives)) * clones
    m = draw(st.integers(0, M - 1))
    rivals = draw(numbers(M - 1, grid, span))
    v_m = _point(draw, rivals, grid, span)
    deviation = _point(draw, rivals, grid, span)
    return OneAuction(np.insert(rivals, m, v_m), int(m), deviation)


@st.composite
def options_mdps(draw: Any, max_options: int = 3, **base: Any) -> OptionsMDP:
    """The semi-MDP of 2..``max_options`` generated options over a :func:`finite_mdps` base MDP.

    ``base`` is passed to :func:`finite_mdps` (its defaults otherwise). Option k plays at each
    state an action drawn among the available ones, deterministic or (about a third of the
    states) a uniform mix of two, and stops on reaching a state with β from
    :data:`TERMINATION_GRID`; option 0 may start everywhere, the others on a drawn initiation set.
    Shrinking goes towards one-step options (β = 1) of action 0 that may start everywhere: the
    base MDP itself (``tasks.one_step_options``).
    """
    mdp = draw(finite_mdps(**base))
    S, A = mdp.n_states, mdp.n_actions
    O = draw(st.integers(2, max(2, max_options)))
    available = np.asarray(mdp.available)
    options = []
    for k in range(O):
        codes = _codes(draw, 3 * S).reshape(3, S).astype(np.intp)
        pi = np.zeros((S, A))
        for s in range(S):
            acts = np.flatnonzero(available[s])
            first, second = acts[codes[0, s] % acts.size], acts[codes[1, s] % acts.size]
            mixed = codes[2, s] % 3 == 2
            pi[s, first] += 0.5 if mixed else 1.0
            pi[s, second] += 0.5 if mixed else 0.0
        beta = np.asarray(_on_grid(_codes(draw, S), TERMINATION_GRID))
        init = None if k == 0 else _codes(draw, S) % 4 != 3
        options.append(Option(pi, beta, initiation=init, name=f"option {k}"))
    return options_mdp(mdp, options, name="generated options")
