"""Train a society of bidders on a finite MDP, every seed in lockstep.

At every round each of N seeds runs E parallel episodes. In each episode the state s_t is
auctioned: every bidder submits a bid, the mechanism picks the winner i* and its price, the
winner's primitive acts, the environment pays r_t and moves to s_{t+1}, and the bids at s_{t+1}
are drawn. Those bids are what the next auction is held with, and they set the winner's revenue
(Chang et al. 2020, §4; DESIGN §1):

    revenue_t = r_t + γ·lookahead(b_{t+1}),   utility_t = revenue_t − price(b_t, i*)

with lookahead 0 after a *terminal* transition and the bids at the state reached after a
*truncation* (a time limit bootstraps; it does not terminate).

Then every seed's learner updates from the round, the finished episodes restart from
``mdp.start``, and the loop goes on. Arrays carry a seed axis and an episode axis; the only
Python loop is over rounds.

Options. On a :class:`tasks.OptionsMDP` (:func:`tasks.options_mdp`) primitive i is option i and
a round is still one auction per episode: the winner's option runs in the base MDP until it stops
(:func:`mechanism.execute.executor`, τ base steps), r_t is the discounted reward it collected,
Σ_{k<τ} γ^k r_k, and γ^τ replaces γ in the revenue; the :class:`~mechanism.learners.Transition`
carries γ^τ per episode (``discount_t``), which every learner bootstraps with. The time limit
counts base steps (an episode's clock advances by τ; the option running at the limit is cut,
a truncation).

Layering: ``mechanism`` imports ``tasks`` only, so :func:`train` records what it can see without
solving the MDP: at every checkpoint the mean bid of every (seed, state, bidder), the full bid
parameters of every (seed, state, primitive) (estimates and visit counts, or Beta means and
concentrations), the society's greedy policy (the primitive of the highest mean bid) and the
environment steps used. The exact value of those greedy policies and the error of the bids
against Q* are computed in :mod:`verify.experiments`, which wraps a :class:`TrainResult` with the
exact solution.

Clocks. Every round the learners see two: ``progress``, the fraction of the run done (the older
run-fraction schedules), and ``env_steps``, the env steps each seed has taken (k·E after k rounds),
which the default schedules use, so that a run of 50k steps and the first 50k steps of a run of
800k steps explore alike (:func:`mechanism.learners.base.exploration_rate`). On an OptionsMDP a
"step" of these clocks, of ``steps=`` and of :attr:`TrainResult.steps` is a *decision* (an
auction, one option run), as in SMDP learning; the base steps those decisions took are recorded
at every checkpoint, per seed, in :attr:`TrainResult.base_steps`.
"""

from __future__ import annotations

import copy
import dataclasses
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mechanism.auction import Auction, auction_at, validate_for_mask
from mechanism.execute import executor
from mechanism.learners import LEARNERS, Learner, Transition
from mechanism.learners.base import accepts_env_steps, accepts_keyword
from mechanism.market import Mechanism
from mechanism.registry import resolve_mechanism
from mechanism.rollout import truncation_credit_is_zero
from mechanism.society import Society, bidder_mask
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
    truncation: str = "bootstrap"

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
        Environment steps per seed at each checkpoint (the first is 0 when requested): auctions
        (decisions), which on a :class:`tasks.OptionsMDP` are option runs (see ``base_steps``).
    bids : float array (C, N, S, M)
        Mean bid of every (seed, state, bidder) at each checkpoint: the Beta mean for
        policy-gradient bidders, the estimate for valuation bidders, the action-value estimate
        for the monolithic baselines; NaN (no bid) where the bidder's action is unavailable.
    policy : int array (C, N, S)
        Greedy policy of every seed at each checkpoint: the primitive of the highest mean bid
        (for the monolithic softmax agent, its most likely action).
    version : str
        The agora-rl version that produced it.
    bid_params : dict of str to float array (C, N, S, A)
        Every parameter of the bid distributions at each checkpoint, per (seed, state,
        primitive), for learners with a ``bid_params`` method (empty otherwise): valuation bidders
        ``"estimate"`` and ``"visits"``; policy-gradient bidders ``"mean"`` and
        ``"concentration"`` of the Beta (so a run can be set against the noisy fixed point of the
        noise it learned); Q-learning ``"Q"`` and ``"visits"``. Recorded only at checkpoints.
    base_steps : int array (C, N)
        Environment (base) steps each seed had taken at each checkpoint: ``steps`` for literal
        actions; on a :class:`tasks.OptionsMDP`, where a step is a decision (one option run), the
        base steps those decisions took (Σ τ), which differ between seeds.
    params : object
        The learner's state at the end of the run (what its ``init`` returned, updated in place):
        pass it as ``train(..., warm_start=result.params)`` to go on learning on another task
        (transfer), or read a network's weights from it. Not written to records.
    """

    config: TrainConfig
    primitive_of: IntArray
    steps: IntArray
    bids: FloatArray
    policy: IntArray
    version: str
    bid_params: dict[str, FloatArray] = dataclasses.field(default_factory=dict)
    params: Any = dataclasses.field(default=None, repr=False)
    base_steps: IntArray = dataclasses.field(default_factory=lambda: np.zeros((0, 0), dtype=np.intp))

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


def _no_auction(bids: FloatArray) -> Auction:
    """What a monolithic learner's round records in place of an auction: nobody pays, nothing is credited."""
    zero = np.zeros(bids.shape[:-1])
    return Auction(np.zeros(bids.shape[:-1], dtype=np.intp), zero, np.zeros(bids.shape), zero)


def _restarted(held: Auction, fresh: Auction, where: NDArray[np.bool_]) -> Auction:
    """``held`` with the auctions at ``where`` replaced by ``fresh`` (the auctions of restarted episodes)."""
    out = []
    for old, new in zip(held, fresh, strict=True):
        merged = np.array(old, copy=True)
        merged[where] = new
        out.append(merged)
    return Auction(*out)


def _with_env_steps(method: Any) -> Any:
    """``method`` called as ``(params, seed, s, progress, rng, env_steps)``, whether or not it takes ``env_steps``.

    A learner written against the older protocol (no ``env_steps`` keyword) gets the five
    arguments it knows; see :class:`mechanism.learners.Learner`.
    """
    if accepts_env_steps(method):
        return lambda params, seed, s, progress, rng, t: method(params, seed, s, progress, rng, env_steps=t)
    return lambda params, seed, s, progress, rng, t: method(params, seed, s, progress, rng)


def _checked_bids(sample: Any, name: str, n_bidders: int) -> Any:
    """``sample`` whose every answer must be a real array of shape s.shape + (M,): a learner that returns
    another shape would otherwise be auctioned with the wrong bidders, silently."""

    def checked(params: Any, seed: IntArray, s: IntArray, progress: float, rng: Any, t: int) -> FloatArray:
        bids = np.asarray(sample(params, seed, s, progress, rng, t))
        want = (*np.shape(s), n_bidders)
        if bids.shape != want or bids.dtype.kind not in "iuf":
            raise ValueError(
                f"learner {name!r}: sample returned {bids.dtype} bids of shape {bids.shape} for states of shape "
                f"{np.shape(s)}; it must return real bids of shape {want}, one per bidder (M = A·clones)."
            )
        bids = bids.astype(np.float64, copy=False)
        # The auction step writes "no bid" (NaN) for the bidders that take no part: it needs its own array.
        return bids if bids.flags.writeable else bids.copy()

    return checked


class _History:
    """What :func:`train` records at every checkpoint: mean bids, greedy policies, the full bid parameters."""

    def __init__(self, agent: Learner) -> None:
        self.agent = agent
        self.bids: list[FloatArray] = []
        self.policy: list[IntArray] = []
        self.base_steps: list[IntArray] = []
        self.params: dict[str, list[FloatArray]] = {}
        self._bid_params = getattr(agent, "bid_params", None)

    def record(self, params: Any, base_steps: IntArray) -> None:
        self.base_steps.append(np.array(base_steps, dtype=np.intp))
        self.bids.append(self.agent.mean_bids(params))
        self.policy.append(self.agent.greedy(params))
        if self._bid_params is not None:
            for key, value in self._bid_params(params).items():
                self.params.setdefault(key, []).append(np.array(value, dtype=np.float64))


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
    truncation: str = "bootstrap",
    warm_start: Any = None,
    **learner_kwargs: Any,
) -> TrainResult:
    """Train a society (or a monolithic baseline) on ``mdp``, all seeds in lockstep.

    Parameters
    ----------
    mdp : tasks.FiniteMDP
        Literal actions, or a :class:`tasks.OptionsMDP` whose options the primitives run (module
        docstring; a substochastic ``FiniteMDP`` without options cannot be simulated: ValueError).
        Under an action mask (``mdp.available``; for options, their initiation sets) every auction
        is held among the available primitives only (:mod:`mechanism.auction`): an unavailable
        primitive never wins, so a learner never updates from a win with it; its bid is recorded
        as NaN (no bid), and the mask reaches the learner's ``init`` as ``available=`` (see
        :class:`mechanism.learners.Learner`).
    mechanism : Mechanism or str
        The auction (a registry name from ``mechanism.MECHANISMS`` or a :class:`Mechanism`).
        Monolithic learners act without an auction; it is validated and recorded, not used.
    clones : int
        Bidders per primitive (2: cloned, 1: solitary); M = A·clones bidders, bidder m plays
        primitive m % A. Monolithic learners always run with one "bidder" per action.
    learner : str or Learner
        ``"valuation"``, ``"policy_gradient"``, ``"ppo"`` (neural bidders; ``features=`` and
        ``settings=`` among their keywords), ``"q_learning"``, ``"softmax_pg"`` or ``"ppo_monolithic"``
        (see :data:`mechanism.learners.LEARNERS`), or a learner object.
    steps : int
        Environment steps per seed (rounded down to a multiple of ``episodes``); decisions (option
        runs) on an OptionsMDP.
    seeds : int or sequence of int
        A count (seeds 0..n−1) or the seeds themselves. One generator, seeded from the whole
        tuple, drives every seed's episodes; the same tuple gives the same result bit for bit.
    time_limit : int, optional
        Episode length, in environment (base) steps, after which an episode is truncated
        (bootstrapped; an option still running is cut). Default: ``mdp.time_limit``; with neither,
        episodes end only at terminal states.
    checkpoints : int or sequence of int
        How many evenly spaced checkpoints to record after the start (the start is recorded
        too), or the env step counts (per seed) to record at.
    episodes : int
        Parallel episodes per seed (E); their visits to a cell within a round are aggregated.
    progress : bool, optional
        Show a tqdm bar (only ever on a terminal); default: for long runs.
    truncation : {"bootstrap", "zero"}
        The credit of a step a time limit cuts: the lookahead of the state reached (default,
        right for the MDP) or 0, the authors' semantics (see :func:`mechanism.rollout`).
    warm_start : object, optional
        A learner state to start from instead of a fresh ``init``: ``TrainResult.params`` of an
        earlier run of the same learner with the same seeds, states, primitives and clones
        (pretrain on one task, transfer to another with the same state and primitive sets). It is
        copied, never changed. Default: a fresh state.
    **learner_kwargs
        Hyperparameters of the named learner (e.g. ``step_size``, ``epsilon``, ``schedule``,
        ``exploration``, ``lr``). The defaults converge (:mod:`mechanism.learners.valuation`);
        ``mechanism.learners.LEGACY[name]`` restores the older ones bit for bit.

    Returns
    -------
    TrainResult
        Mean bids (C, N, S, M), greedy policies (C, N, S), env steps (C,), base steps (C, N) and the
        full bid parameters (``bid_params``, each (C, N, S, A)) at the checkpoints, with the configuration
        and the version. ``final_bids`` is (N, S, M).

    Notes
    -----
    Every round the learner's ``sample`` (and a monolithic learner's ``act``) gets the run
    fraction ``progress`` and, when it accepts the keyword, ``env_steps`` (k·E after k rounds);
    its ``update`` gets both in the :class:`~mechanism.learners.Transition`. A run of n steps is
    then, bit for bit, the first n steps of a longer run with the same seeds whenever the
    learner's schedules are in env steps (the defaults), not in run fractions.

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
    zero_at_limit = truncation_credit_is_zero(truncation)
    rounds = steps // episodes
    record_at = _checkpoint_rounds(checkpoints, rounds, episodes)
    if agent.monolithic:
        clones = 1

    S, A, N, E = mdp.n_states, mdp.n_actions, len(seed_tuple), episodes
    terminal = np.asarray(mdp.terminal)
    run = executor(mdp)  # literal actions, or the options of an OptionsMDP
    env = run.env
    society = not agent.monolithic
    takes_part = bidder_mask(mdp.available, clones)  # who takes part in the auction of each state
    if society:
        validate_for_mask(mech, takes_part, A * clones)

    def held_at(b: FloatArray, states: IntArray) -> Auction:
        return auction_at(mech, b, states, takes_part) if society else _no_auction(b)

    rng = np.random.default_rng(np.random.SeedSequence(list(seed_tuple)))
    if warm_start is None:
        params = _init(agent, (N, S, A, clones), rng, mdp.available if takes_part is not None else None)
    else:
        params = copy.deepcopy(warm_start)  # the caller's pretrained state stays as it was
    sample = _checked_bids(_with_env_steps(agent.sample), agent.name, A * clones)
    act = _with_env_steps(agent.act) if agent.monolithic else None  # type: ignore[attr-defined]
    seed = np.repeat(np.arange(N), E).reshape(N, E)
    s = env.start((N, E), rng)
    t_ep = np.zeros((N, E), dtype=np.intp)  # base steps into each episode
    no_truncation = np.zeros((N, E), dtype=bool)
    base_steps = np.zeros(N, dtype=np.intp)  # base steps each seed has taken (options only; literal: k·E)
    bids = sample(params, seed, s, 0.0, rng, 0)
    held = held_at(bids, s)

    history = _History(agent)
    bar = _progress_bar(progress, rounds, episodes)
    chunk = max(1, rounds // 100)
    record = set(record_at.tolist())
    for k in range(rounds + 1):
        if k in record:
            history.record(params, base_steps if not run.literal else np.full(N, k * episodes, dtype=np.intp))
        if k == rounds:
            break
        frac, t = k / rounds, k * episodes
        winner = held.winner if act is None else act(params, seed, s, frac, rng, t)
        a = winner % A
        if act is not None and takes_part is not None:
            _check_available(agent.name, mdp.available, s, a)
        budget = None if run.literal or limit is None else limit - t_ep
        done = run(s, a, rng, budget)
        r, s_tp1, discount = done.reward, done.s_tau, done.discount
        terminated = terminal[s_tp1]
        t_ep += done.tau
        if not run.literal:
            base_steps += done.tau.sum(axis=1)
        truncated = (t_ep >= limit) & ~terminated if limit is not None else no_truncation
        # The next auction is at s_tp1, or at a fresh start state where the episode ended. A
        # terminated episode needs no bids at s_tp1 (its credit is 0), so one draw covers it; a
        # truncated one needs the bids at s_tp1 for the bootstrap and a second draw at its restart.
        restart = env.start((N, E), rng)
        s_next = np.where(terminated, restart, s_tp1)
        bids_next = sample(params, seed, s_next, frac, rng, t)
        held_next = held_at(bids_next, s_next)
        credit = np.where(terminated | (truncated & zero_at_limit), 0.0, held_next.value)
        revenue = r + discount * credit
        agent.update(
            params,
            Transition(
                seed, s, bids, winner, a, r, s_tp1, terminated, discount, credit, revenue, held.price, frac,
                held.payments, t, mdp.gamma,
            ),
        )
        if truncated.any():
            s_next[truncated] = restart[truncated]
            fresh = sample(params, seed[truncated], restart[truncated], frac, rng, t)
            if society:
                held_next = _restarted(held_next, held_at(fresh, restart[truncated]), truncated)
            bids_next[truncated] = fresh
        t_ep[terminated | truncated] = 0
        s, bids, held = s_next, bids_next, held_next
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
        truncation=truncation,
    )
    return TrainResult(
        config=config,
        primitive_of=np.asarray(Society(A, clones).primitive_of, dtype=np.intp),
        steps=record_at * episodes,
        bids=np.stack(history.bids),
        policy=np.stack(history.policy),
        version=agora_version(),
        bid_params={key: np.stack(v) for key, v in history.params.items()},
        params=params,
        base_steps=np.stack(history.base_steps),
    )


def _init(agent: Learner, shape: tuple[int, int, int, int], rng: np.random.Generator, available: Any) -> Any:
    """``agent.init(N, S, A, clones, rng)``, with the (S, A) action mask as ``available=`` when there is one.

    A learner whose ``init`` takes no ``available`` keyword still trains on a masked MDP: the
    auctions hold out the unavailable primitives whatever it bids, and a monolithic one that acts
    with an unavailable action is refused (:func:`_check_available`).
    """
    if available is not None and accepts_keyword(agent.init, "available"):
        return agent.init(*shape, rng, available=available)  # type: ignore[call-arg]  # checked just above
    return agent.init(*shape, rng)


def _check_available(name: str, available: Any, s: IntArray, a: IntArray) -> None:
    """Refuse a monolithic learner's action that is unavailable in its state."""
    bad = ~np.asarray(available)[s, a]
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"learner {name!r} chose action {int(a[at])} at state {int(s[at])}, where it is unavailable "
            "(mdp.available); a learner must act with available actions only (take the mask in its init as "
            "available=)."
        )


def _progress_bar(progress: bool | None, rounds: int, episodes: int) -> Any:
    # Off when asked, and off when stderr is not a terminal (logs, CI); on a terminal, on when asked or long.
    if progress is False or not sys.stderr.isatty() or (progress is None and rounds < _PROGRESS_MIN_ROUNDS):
        return None
    from tqdm import tqdm

    return tqdm(total=rounds * episodes, unit="step", desc="train", leave=False)
