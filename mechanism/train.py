"""Train a society of bidders on a finite MDP, every seed in lockstep.

At every round each of N seeds runs E parallel episodes. In each episode the state s_t is
auctioned: every bidder submits a bid, the mechanism picks the winner i* and its price, the
winner's primitive acts, the environment pays r_t and moves to s_{t+1}, and the bids at s_{t+1}
are drawn. Those bids are what the next auction is held with, and they set the winner's revenue
(Chang et al. 2020, §4; DESIGN §1):

    revenue_t = r_t + γ·lookahead(b_{t+1}),   utility_t = revenue_t − price(b_t, i*)

with lookahead 0 after a *terminal* transition and the bids at the state reached after a
*truncation* (a time limit bootstraps; it does not terminate). Then every seed's learner updates
from the round, the finished episodes restart from ``mdp.start``, and the loop goes on. Arrays
carry a seed axis and an episode axis; the only Python loop is over rounds.

Layering: ``mechanism`` imports ``tasks`` only, so :func:`train` records what it can see without
solving the MDP: at every checkpoint the mean bid of every (seed, state, bidder), the society's
greedy policy (the primitive of the highest mean bid) and the environment steps used. The exact
value of those greedy policies and the error of the bids against Q* are computed in
:mod:`verify.experiments`, which wraps a :class:`TrainResult` with the exact solution.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mechanism.learners import LEARNERS, Learner, Transition
from mechanism.rules import (
    Mechanism,
    _top_two,
    first_price,
    highest_bid,
    resolve_mechanism,
    second_highest_bid,
    second_price,
    zero_price,
)
from mechanism.society import Society
from tasks.mdp import FiniteMDP

__all__ = ["TrainConfig", "TrainResult", "agora_version", "train"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: Rounds above which the progress bar shows by default (on a TTY).
_PROGRESS_MIN_ROUNDS = 20_000


def agora_version() -> str:
    """The installed agora-rl version ("unknown" when running from an uninstalled tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("agora-rl")
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (with the code version, its result, bit for bit).

    ``steps`` is the number of environment steps per seed actually run: the requested budget
    rounded down to a multiple of ``episodes`` (the parallel episodes per seed).
    """

    task: str
    mechanism: str
    clones: int
    learner: str
    steps: int
    seeds: tuple[int, ...]
    episodes: int
    time_limit: int | None
    hyperparameters: tuple[tuple[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        """A flat, JSON-friendly view (hyperparameters as their own keys, prefixed ``hp_``)."""
        out = {k: v for k, v in dataclasses.asdict(self).items() if k != "hyperparameters"}
        out["seeds"] = list(self.seeds)
        out.update({f"hp_{k}": (list(v) if isinstance(v, tuple) else v) for k, v in self.hyperparameters})
        return out


@dataclass(frozen=True, eq=False)
class TrainResult:
    """What :func:`train` returns: the bids of every seed at checkpoints, and the configuration.

    Attributes
    ----------
    config : TrainConfig
    primitive_of : int array (M,)
        The primitive each bidder plays (m % A).
    steps : int array (C,)
        Environment steps per seed at each checkpoint (the first is 0 when requested).
    bids : float array (C, N, S, M)
        Mean bid of every (seed, state, bidder) at each checkpoint: the Beta mean for
        policy-gradient bidders, the estimate for valuation bidders, the action-value estimate
        for the monolithic baselines.
    policy : int array (C, N, S)
        Greedy policy of every seed at each checkpoint: the primitive of the highest mean bid
        (for the monolithic softmax agent, its most likely action).
    version : str
        The agora-rl version that produced it.
    """

    config: TrainConfig
    primitive_of: IntArray
    steps: IntArray
    bids: FloatArray
    policy: IntArray
    version: str

    @property
    def final_bids(self) -> FloatArray:
        """Mean bids at the end of training, (N, S, M)."""
        return self.bids[-1]

    @property
    def final_policy(self) -> IntArray:
        """Greedy policy at the end of training, (N, S)."""
        return self.policy[-1]

    @property
    def primitive_bids(self) -> FloatArray:
        """Mean bid per primitive (averaged over its clones), (C, N, S, A)."""
        A = int(self.primitive_of.max()) + 1
        C, N, S, M = self.bids.shape
        return self.bids.reshape(C, N, S, M // A, A).mean(axis=3)


# ---------------------------------------------------------------------------- validation
def _resolve_learner(learner: str | Learner, kwargs: Mapping[str, Any]) -> Learner:
    if isinstance(learner, str):
        if learner not in LEARNERS:
            raise ValueError(f"learner {learner!r} is not known; choose one of {sorted(LEARNERS)}.")
        cls = LEARNERS[learner]
        fields = {f.name for f in dataclasses.fields(cls) if f.init} - {"name", "monolithic"}
        unknown = sorted(set(kwargs) - fields)
        if unknown:
            raise TypeError(f"learner {learner!r} takes no hyperparameter {unknown}; it accepts {sorted(fields)}.")
        return cls(**kwargs)
    if kwargs:
        raise TypeError(
            "pass hyperparameters either to the learner object or as keywords with a learner name, not both."
        )
    for attr in ("init", "sample", "update", "mean_bids", "greedy", "name"):
        if not hasattr(learner, attr):
            raise TypeError(
                f"learner must be a registry name or implement mechanism.learners.Learner; it lacks {attr!r}."
            )
    return learner


def _positive_int(x: Any, name: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int | np.integer):
        raise TypeError(f"{name} must be a positive int; got {x!r}.")
    if x < 1:
        raise ValueError(f"{name} must be >= 1; got {x}.")
    return int(x)


def _resolve_seeds(seeds: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(seeds, int | np.integer) and not isinstance(seeds, bool):
        return tuple(range(_positive_int(seeds, "seeds")))
    if isinstance(seeds, str) or not isinstance(seeds, Sequence | np.ndarray):
        raise TypeError(f"seeds must be a count (int) or a sequence of non-negative ints; got {seeds!r}.")
    out = tuple(seeds)
    if not out:
        raise ValueError("seeds is empty; pass a count or at least one seed.")
    for x in out:
        if isinstance(x, bool) or not isinstance(x, int | np.integer) or x < 0:
            raise ValueError(f"seeds must be non-negative ints; got {x!r} in {list(out)!r}.")
    return tuple(int(x) for x in out)


def _checkpoint_rounds(checkpoints: int | Sequence[int], rounds: int, episodes: int) -> IntArray:
    """Rounds after which to record: 0 and ``checkpoints`` evenly spaced ones, or the given env steps."""
    if isinstance(checkpoints, int | np.integer) and not isinstance(checkpoints, bool):
        n = _positive_int(checkpoints, "checkpoints")
        return np.unique(np.round(np.linspace(0, rounds, n + 1)).astype(np.intp))
    if isinstance(checkpoints, str) or not isinstance(checkpoints, Sequence | np.ndarray):
        raise TypeError(f"checkpoints must be a count or a sequence of env step counts; got {checkpoints!r}.")
    steps = np.asarray(checkpoints)
    if steps.size == 0 or steps.dtype.kind not in "iu" or (steps < 0).any() or (steps > rounds * episodes).any():
        raise ValueError(
            f"checkpoints must be env step counts in [0, steps = {rounds * episodes}]; got {list(checkpoints)!r}."
        )
    return np.unique(steps // episodes).astype(np.intp)


# ---------------------------------------------------------------------------- environment sampling
def _successor_tables(mdp: FiniteMDP) -> tuple[IntArray, FloatArray]:
    """Per (s, a): the successors with positive probability and their cumulative probabilities, padded."""
    P = mdp.dense_P
    K = max(1, int((P > 0).sum(axis=2).max()))
    order = np.argsort(-P, axis=2, kind="stable")[:, :, :K]
    probs = np.take_along_axis(P, order, axis=2)
    cdf = np.cumsum(probs, axis=2)
    cdf[:, :, -1] = np.inf  # rounding: the last successor catches every u in [0, 1)
    return order.astype(np.intp), cdf


def _draw(cdf: FloatArray, u: FloatArray) -> IntArray:
    """Inverse-CDF draw: the first k with u < cdf[..., k]."""
    return (u[..., None] >= cdf).sum(axis=-1)


class _Environment:
    """Successor and restart draws on flat (s·A + a) indices; no random numbers where nothing is random.

    A deterministic successor (one per (s, a), the chain and the bandit) or a deterministic start
    is looked up, not drawn, which keeps the generator for what is random.
    """

    def __init__(self, mdp: FiniteMDP) -> None:
        succ, cdf = _successor_tables(mdp)
        S, A, K = succ.shape
        self.succ = succ.reshape(S * A, K)
        self.cdf = cdf.reshape(S * A, K)
        self.deterministic = K == 1
        start = np.asarray(mdp.start, dtype=np.float64)
        self.start_cdf = np.cumsum(start)
        self.start_cdf[-1] = np.inf
        support = np.flatnonzero(start > 0)
        self.start_state = int(support[0]) if support.size == 1 else -1
        self._starts: IntArray | None = None

    def successor(self, sa: IntArray, rng: np.random.Generator) -> IntArray:
        if self.deterministic:
            return self.succ[sa, 0]
        k = _draw(self.cdf[sa], rng.random(sa.shape))
        return self.succ[sa, k]

    def restart(self, shape: tuple[int, ...], rng: np.random.Generator) -> IntArray:
        if self.start_state >= 0:
            if self._starts is None or self._starts.shape != shape:
                self._starts = np.full(shape, self.start_state, dtype=np.intp)
                self._starts.setflags(write=False)
            return self._starts
        return _draw(self.start_cdf, rng.random(shape))


# ---------------------------------------------------------------------------- auction statistics
class _Market:
    """The mechanism's winner, price and credit, with the built-in rules computed from one pass.

    For the built-in rules (highest bidder wins, ties to the lowest index; price b⁽²⁾, b⁽¹⁾ or 0;
    lookahead b⁽¹⁾, b⁽²⁾ or none) the winner is ``argmax`` (the first maximal bid, as
    :func:`mechanism.rules.highest_bidder`), the second price is b⁽²⁾ (the winner holds b⁽¹⁾) and
    b⁽¹⁾, b⁽²⁾ of a bid array are computed once and serve both as the credit of the round that
    reaches it and as the price of the round that auctions it. Any other mechanism goes through
    its own functions. Both give the same numbers.
    """

    def __init__(self, mech: Mechanism, n_bidders: int) -> None:
        self.mech = mech
        prices: dict[Any, str] = {second_price: "second", first_price: "first", zero_price: "zero"}
        looks: dict[Any, str] = {highest_bid: "first", second_highest_bid: "second", None: "zero"}
        price, look = prices.get(mech.price), looks.get(mech.lookahead)
        self.fast = mech.allocate is None and price is not None and look is not None
        self.price_kind, self.look_kind = price, look
        self.single = n_bidders < 2

    def stats(self, bids: FloatArray) -> tuple[FloatArray, FloatArray] | None:
        """(b⁽¹⁾, b⁽²⁾) for the fast path (b⁽²⁾ = 0 for a single bidder); None otherwise."""
        if not self.fast:
            return None
        if self.single:
            return bids[..., 0], np.zeros(bids.shape[:-1])
        return _top_two(bids)

    def winner(self, bids: FloatArray) -> IntArray:
        return np.argmax(bids, axis=-1) if self.fast else self.mech.winner(bids)

    def _pick(self, kind: str | None, top: tuple[FloatArray, FloatArray], shape: tuple[int, ...]) -> FloatArray:
        if kind == "first":
            return top[0]
        if kind == "second":
            return top[1]
        return np.zeros(shape)

    def price(self, bids: FloatArray, winner: IntArray, top: tuple[FloatArray, FloatArray] | None) -> FloatArray:
        if top is None:
            return np.asarray(self.mech.price(bids, winner), dtype=np.float64)
        return self._pick(self.price_kind, top, winner.shape)

    def credit(self, next_bids: FloatArray, top: tuple[FloatArray, FloatArray] | None) -> FloatArray:
        if top is None:
            return self.mech.credit(next_bids)
        return self._pick(self.look_kind, top, next_bids.shape[:-1])


# ---------------------------------------------------------------------------- the loop
def train(
    mdp: FiniteMDP,
    mechanism: Mechanism | str,
    clones: int = 2,
    learner: str | Learner = "valuation",
    steps: int = 100_000,
    seeds: int | Sequence[int] = 10,
    time_limit: int | None = None,
    checkpoints: int | Sequence[int] = 20,
    episodes: int = 32,
    progress: bool | None = None,
    **learner_kwargs: Any,
) -> TrainResult:
    """Train a society (or a monolithic baseline) on ``mdp``, all seeds in lockstep.

    Parameters
    ----------
    mdp : tasks.FiniteMDP
    mechanism : Mechanism or str
        The auction (a registry name from ``mechanism.MECHANISMS`` or a :class:`Mechanism`).
        Monolithic learners act without an auction; it is validated and recorded, not used.
    clones : int
        Bidders per primitive (2: cloned, 1: solitary); M = A·clones bidders, bidder m plays
        primitive m % A. Monolithic learners always run with one "bidder" per action.
    learner : str or Learner
        ``"valuation"``, ``"policy_gradient"``, ``"q_learning"`` or ``"softmax_pg"`` (see
        :data:`mechanism.learners.LEARNERS`), or a learner object.
    steps : int
        Environment steps per seed (rounded down to a multiple of ``episodes``).
    seeds : int or sequence of int
        A count (seeds 0..n−1) or the seeds themselves. One generator, seeded from the whole
        tuple, drives every seed's episodes; the same tuple gives the same result bit for bit.
    time_limit : int, optional
        Episode length after which an episode is truncated (bootstrapped). Default:
        ``mdp.time_limit``; with neither, episodes end only at terminal states.
    checkpoints : int or sequence of int
        How many evenly spaced checkpoints to record after the start (the start is recorded
        too), or the env step counts (per seed) to record at.
    episodes : int
        Parallel episodes per seed (E); their visits to a cell within a round are aggregated.
    progress : bool, optional
        Show a tqdm bar (only ever on a terminal); default: for long runs.
    **learner_kwargs
        Hyperparameters of the named learner (e.g. ``step_size``, ``epsilon``, ``lr``).

    Returns
    -------
    TrainResult
        Mean bids (C, N, S, M), greedy policies (C, N, S) and env steps (C,) at the checkpoints,
        with the configuration and the version. ``final_bids`` is (N, S, M).

    Raises
    ------
    ValueError, TypeError
        For an unknown mechanism or learner, a bad count, or hyperparameters the learner lacks.
    """
    if not isinstance(mdp, FiniteMDP):
        raise TypeError(f"mdp must be a tasks.FiniteMDP; got {type(mdp).__name__}.")
    mech = resolve_mechanism(mechanism)
    clones = _positive_int(clones, "clones")
    agent = _resolve_learner(learner, learner_kwargs)
    steps = _positive_int(steps, "steps")
    seed_tuple = _resolve_seeds(seeds)
    episodes = min(_positive_int(episodes, "episodes"), steps)
    limit = mdp.time_limit if time_limit is None else _positive_int(time_limit, "time_limit")
    rounds = steps // episodes
    record_at = _checkpoint_rounds(checkpoints, rounds, episodes)
    if agent.monolithic:
        clones = 1

    S, A, N, E = mdp.n_states, mdp.n_actions, len(seed_tuple), episodes
    gamma = mdp.gamma
    R = np.ascontiguousarray(mdp.R, dtype=np.float64).reshape(-1)
    terminal = np.asarray(mdp.terminal)
    env = _Environment(mdp)
    market = _Market(mech, A * clones)

    rng = np.random.default_rng(np.random.SeedSequence(list(seed_tuple)))
    params = agent.init(N, S, A, clones, rng)
    seed = np.repeat(np.arange(N), E).reshape(N, E)
    s = env.restart((N, E), rng)
    t_ep = np.zeros((N, E), dtype=np.intp)
    no_truncation = np.zeros((N, E), dtype=bool)
    bids = agent.sample(params, seed, s, 0.0, rng)
    top = market.stats(bids)

    hist_bids, hist_policy = [], []
    bar = _progress_bar(progress, rounds, episodes)
    chunk = max(1, rounds // 100)
    record = set(record_at.tolist())
    for k in range(rounds + 1):
        if k in record:
            hist_bids.append(agent.mean_bids(params))
            hist_policy.append(agent.greedy(params))
        if k == rounds:
            break
        frac = k / rounds
        if agent.monolithic:
            a = agent.act(params, seed, s, frac, rng)  # type: ignore[attr-defined]
            winner = a
        else:
            winner = market.winner(bids)
            a = winner % A
        sa = s * A + a
        r = R[sa]
        s_tp1 = env.successor(sa, rng)
        terminated = terminal[s_tp1]
        t_ep += 1
        truncated = (t_ep >= limit) & ~terminated if limit is not None else no_truncation
        # The next auction is at s_tp1, or at a fresh start state where the episode ended. A
        # terminated episode needs no bids at s_tp1 (its credit is 0), so one draw covers it; a
        # truncated one needs the bids at s_tp1 for the bootstrap and a second draw at its restart.
        restart = env.restart((N, E), rng)
        s_next = np.where(terminated, restart, s_tp1)
        bids_next = agent.sample(params, seed, s_next, frac, rng)
        if agent.monolithic:
            credit = price = np.zeros((N, E))
            top_next = None
        else:
            top_next = market.stats(bids_next)
            credit = np.where(terminated, 0.0, market.credit(bids_next, top_next))
            price = market.price(bids, winner, top)
        revenue = r + gamma * credit
        agent.update(
            params,
            Transition(seed, s, bids, winner, a, r, s_tp1, terminated, gamma, credit, revenue, price, frac),
        )
        if truncated.any():
            s_next[truncated] = restart[truncated]
            bids_next[truncated] = agent.sample(params, seed[truncated], restart[truncated], frac, rng)
            top_next = market.stats(bids_next) if top_next is not None else None
        t_ep[terminated | truncated] = 0
        s, bids, top = s_next, bids_next, top_next
        if bar is not None and (k + 1) % chunk == 0:
            bar.update(chunk * episodes)
    if bar is not None:
        bar.close()

    hyper = tuple(
        (f.name, getattr(agent, f.name))
        for f in dataclasses.fields(agent)
        if f.name not in ("name", "monolithic")
    ) if dataclasses.is_dataclass(agent) else ()
    config = TrainConfig(
        task=mdp.name,
        mechanism="monolithic" if agent.monolithic else mech.name,
        clones=clones,
        learner=agent.name,
        steps=rounds * episodes,
        seeds=seed_tuple,
        episodes=episodes,
        time_limit=limit,
        hyperparameters=hyper,
    )
    return TrainResult(
        config=config,
        primitive_of=np.asarray(Society(A, clones).primitive_of, dtype=np.intp),
        steps=record_at * episodes,
        bids=np.stack(hist_bids),
        policy=np.stack(hist_policy),
        version=agora_version(),
    )


def _progress_bar(progress: bool | None, rounds: int, episodes: int) -> Any:
    # Off when asked, and off when stderr is not a terminal (logs, CI); on a terminal, on when asked or long.
    if progress is False or not sys.stderr.isatty() or (progress is None and rounds < _PROGRESS_MIN_ROUNDS):
        return None
    from tqdm import tqdm

    return tqdm(total=rounds * episodes, unit="step", desc="train", leave=False)
