"""The TwoRooms transfer study (Chang et al. 2020, §7; PAPER.md claim 7), computed.

Every learner is pretrained on TwoRooms with the green goal and then trained on the blue goal from
its pretrained state (``mechanism.train(..., warm_start=pretrained.params)``, the same seeds), and,
as a reference, trained on blue from scratch with the same budget:

(a) the cloned CCV society over the three options (:func:`tasks.tworooms.tworooms_options`),
    tabular (``valuation`` bidders: under cloned CCV their truthful fixed point is Q* of the
    semi-MDP and their bids converge with the default schedules, :mod:`mechanism.learners.valuation`;
    the Beta-bid ``policy_gradient`` learner does not pin the bids that lose) and neural (``ppo``,
    one Beta-bid network per option, Agora's settings);
(b) hierarchical monolithic learners over the same options: ``q_learning`` with textbook
    ε-greedy exploration (a constant ε = 0.1, Sutton & Barto 2018 §2.2) and ``ppo_monolithic``;
(c) the same monolithic Q-learner with the society's exploration: ε_t = ε_f + (ε_0 − ε_f)·T/(T + t),
    ε_0 = 1, ε_f = 0.5, T = 10⁴ steps (``q_learning``'s defaults, the valuation bidders' own), a
    uniformly random option when it explores, which is what the valuation society's default
    "swap" exploration does per auction (:mod:`mechanism.learners.valuation`). No new learner is
    needed: the two then differ in their credit only, and under cloned CCV the credit b⁽²⁾ of
    twins is max_i v(s', i), Q-learning's target, so they differ in nothing but the tie rule
    (lowest index in the auction, uniform in Q-learning);
(d) flat learners over the literal actions on the base MDP: ``q_learning`` (ε = 0.1),
    ``ppo_monolithic`` and the tabular society;
(e) an ablation of the neural society's exploration: ``ppo`` bidders without primitive dropout
    (Agora's settings drop each primitive from an auction with probability 0.1; the Beta noise
    of the bids stays).

Neural learners see :func:`tworooms_features` (one-hot state and (row, col, door)).

**Success** of a recorded greedy policy (``TrainResult.policy``, per checkpoint and seed) is
computed exactly, not by rollouts (:func:`success_rate`): the probability, over the start
distribution (uniform over the left room with the door closed), that the greedy policy reaches
the task's goal within the time limit in *base* steps, by propagating the distribution over
(state, running option) through the base MDP step by step. The options are deterministic, so
for one start cell this is 0 or 1, and the rate is the share of start cells that succeed. (With
the options in :data:`tasks.tworooms.TWOROOMS_OPTIONS` order, the greedy policy of an all-equal
table, ties to the lowest available index, is "open door, then reach green": it solves green
before any learning, never blue.)

**Sample efficiency**: *base* env steps per seed (on an options MDP ``TrainResult.base_steps``, the
Σ τ of the decisions taken, so options and actions are counted alike) after the transfer until
the success stays at or above 90 % (:func:`steps_to_threshold`: :func:`verify.experiments.steps_until`
on 0.9 − success per seed, at the recorded checkpoints, so the resolution is one checkpoint
interval: one round of E decisions per seed over options), and its lower median over the seeds
that got there with their count (:func:`verify.experiments.reach`).

**Weights moved** (neural learners): from the parameters before and after the transfer, per seed,
the fraction of the policy networks' weights (and biases) with |Δw| > :data:`MOVED` and the
relative norm ‖Δw‖/‖w_before‖ (every network of the seed together: one per option for the
society, one for a monolithic learner); the same for the critics in the records.

Budget (:class:`StudyConfig`, measured on one core of the development machine): the default study
(rooms of side 5, 5 seeds) takes about 70 s, :data:`QUICK` a few seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mechanism.train import TrainResult, train
from tasks.mdp import FiniteMDP
from tasks.options import OptionsMDP, options_mdp
from tasks.tworooms import TwoRooms, tworooms, tworooms_options
from verify.experiments import Reach, reach, steps_until

__all__ = [
    "CONTENDERS",
    "MOVED",
    "THRESHOLD",
    "Contender",
    "LearnerRun",
    "StudyConfig",
    "WeightsMoved",
    "contenders",
    "run_contender",
    "run_study",
    "steps_to_threshold",
    "success_rate",
    "tworooms_features",
    "weights_moved",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: Success rate that counts as "learned" after the transfer.
THRESHOLD = 0.9
#: |Δw| above which a weight counts as moved during the transfer.
MOVED = 1e-2


# ---------------------------------------------------------------------------------------------- success
def _option_chain(mdp: FiniteMDP) -> tuple[FiniteMDP, FloatArray, FloatArray]:
    """(base MDP, T (O, S, S) with T[o, s, s'] = Σ_a π_o(a|s) P(s'|s, a), β (O, S)) of ``mdp``'s primitives.

    On a flat MDP the primitives are its actions, one-step options (β = 1).
    """
    if isinstance(mdp, OptionsMDP):
        base = mdp.base
        pi, beta = mdp.option_policies, mdp.option_terminations
    else:
        base = mdp
        A = mdp.n_actions
        pi = np.broadcast_to(np.eye(A)[:, None, :], (A, mdp.n_states, A))
        beta = np.ones((A, mdp.n_states))
    return base, np.einsum("osa,sat->ost", pi, base.dense_P), beta


def success_rate(mdp: FiniteMDP, policy: Any, goal: Any, horizon: int | None = None) -> FloatArray:
    """Exact probability that the greedy policy reaches ``goal`` within ``horizon`` base steps from the start.

    The policy picks a primitive (an option of an :class:`~tasks.OptionsMDP`, an action of a flat
    MDP) at every decision; the option runs until it stops (β) and the policy picks again where it
    stopped. With p_t[o, s] the probability of being at s at base step t with option o running,

        q[o, s'] = Σ_s p_t[o, s]·T_o[s, s'],    T_o[s, s'] = Σ_a π_o(a|s)·P(s'|s, a),
        p_{t+1}[o, s'] = q[o, s']·(1 − β_o(s')) + 1{o = policy(s')}·Σ_{o'} q[o', s']·β_{o'}(s'),

    and the mass that enters a terminal state leaves (counted as success when it is a goal state).

    Parameters
    ----------
    mdp : FiniteMDP or OptionsMDP
    policy : int array (..., S)
        A primitive per state (any leading batch axes: checkpoints, seeds).
    goal : bool array (S,)
        The states that count as success (terminal states of ``mdp``).
    horizon : int, optional
        Base steps; default the MDP's time limit.

    Returns
    -------
    float array (...)
        The success probability of every policy in the batch.
    """
    base, T, beta = _option_chain(mdp)
    S, O = base.n_states, T.shape[0]
    pol = np.asarray(policy)
    if pol.shape[-1:] != (S,) or pol.dtype.kind not in "iu" or pol.min() < 0 or pol.max() >= O:
        raise ValueError(f"policy must be ints in 0..{O - 1} of shape (..., {S}); got {pol.dtype} {pol.shape}.")
    avail = np.asarray(mdp.available)
    bad = ~avail[np.arange(S), pol] & ~np.asarray(base.terminal)
    if bad.any():
        s = int(np.argwhere(bad)[0][-1])
        raise ValueError(f"policy picks a primitive unavailable at state {s} (mdp.available); pass a greedy policy "
                         "over the available primitives, e.g. TrainResult.policy.")
    goal = np.asarray(goal, dtype=bool)
    H = base.time_limit if horizon is None else int(horizon)
    if H is None:
        raise ValueError("the MDP has no time limit; pass horizon (base steps).")
    batch = pol.shape[:-1]
    # Checkpoints often repeat a policy: propagate each distinct one once.
    g, inverse = np.unique(pol.reshape(-1, S), axis=0, return_inverse=True)
    B = g.shape[0]
    pick = np.zeros((B, O, S))
    pick[np.arange(B)[:, None], g, np.arange(S)[None, :]] = 1.0  # 1{o = policy(s)}
    terminal = np.asarray(base.terminal)
    p = pick * np.where(terminal, 0.0, np.asarray(base.start))[None, None, :]
    live = (~terminal).astype(np.float64)
    done = np.zeros(B)
    for _ in range(H):
        q = np.einsum("bos,ost->bot", p, T)
        done += (q * goal).sum(axis=(1, 2))
        q *= live
        stopped = (q * beta).sum(axis=1)
        p = q * (1.0 - beta) + pick * stopped[:, None, :]
    return done[inverse.reshape(-1)].reshape(batch)


# ---------------------------------------------------------------------------------------------- weights
# ---------------------------------------------------------------------------------------------- weights
@dataclass(frozen=True)
class WeightsMoved:
    """How much of a network batch changed between two parameter sets, per seed (arrays (N,)).

    ``fraction``: the share of weights (and biases) with |Δw| > ``threshold``; ``relative``:
    ‖Δw‖ / ‖w_before‖ (Euclidean over every weight of the seed's networks).
    """

    fraction: FloatArray
    relative: FloatArray
    threshold: float


def weights_moved(before: Any, after: Any, threshold: float = MOVED) -> WeightsMoved:
    """:class:`WeightsMoved` between two ``{name: array (N, ...)}`` parameter dicts (leading seed axis).

    Raises ValueError when the two do not hold the same arrays (names and shapes).
    """
    if set(before) != set(after) or any(np.shape(before[k]) != np.shape(after[k]) for k in before):
        raise ValueError("before and after must hold the same parameter arrays (names and shapes).")
    keys = sorted(before)
    N = np.shape(before[keys[0]])[0]
    w0 = np.concatenate([np.asarray(before[k], dtype=np.float64).reshape(N, -1) for k in keys], axis=1)
    w1 = np.concatenate([np.asarray(after[k], dtype=np.float64).reshape(N, -1) for k in keys], axis=1)
    delta = w1 - w0
    norm = np.linalg.norm(w0, axis=1)
    return WeightsMoved(
        (np.abs(delta) > threshold).mean(axis=1),
        np.linalg.norm(delta, axis=1) / np.where(norm > 0, norm, 1.0),
        float(threshold),
    )


def _networks(params: Any) -> dict[str, dict[str, FloatArray]] | None:
    """The ``policy`` and ``value`` parameter dicts of a neural learner's state (None for a tabular one)."""
    state = getattr(params, "train", None)
    if state is None or not hasattr(state, "policy"):
        return None
    return {"policy": dict(state.policy), "value": dict(state.value)}


# ---------------------------------------------------------------------------------------------- learners
def tworooms_features(size: int) -> Callable[[IntArray], FloatArray]:
    """Network inputs per state: a one-hot of the state and (row/(n − 1), col/(2n), door open).

    The one-hot part lets a network represent any per-state policy (with the PPO learners'
    linear encoder, coordinates alone cannot: measured, monolithic PPO over actions stayed at the
    0.2 success of "always left" on green); the coordinates are shared by every state, so what a
    network learns at one cell moves its outputs at the others. Returns a callable
    ``states -> (S, S + 3)``, the form :func:`mechanism.neural.features.state_features` takes.
    """
    geo = TwoRooms(size)
    coords = np.array([(r / (geo.size - 1), c / (2 * geo.size), float(d)) for r, c, d in geo.states])
    table = np.concatenate([np.eye(geo.n_states), coords], axis=1)

    def features(states: IntArray) -> FloatArray:
        return table[np.asarray(states)]

    features.__qualname__ = f"tworooms_features({geo.size})"
    return features


@dataclass(frozen=True)
class Contender:
    """One learner of the study: what it is, over which primitives, with which hyperparameters."""

    key: str  #: short id, e.g. ``"society_valuation"``
    label: str  #: for tables and figures
    group: str  #: "society", "ablation" (a society with part of its exploration off), "hierarchical",
    #: "exploration-matched" or "flat"
    over: str  #: "options" (the semi-MDP of the three options) or "actions" (the base MDP)
    learner: str  #: a name of mechanism.LEARNERS
    mechanism: str = "ccv"
    clones: int = 2
    hyper: tuple[tuple[str, Any], ...] = ()

    @property
    def neural(self) -> bool:
        return self.learner in ("ppo", "ppo_monolithic")


#: Textbook ε-greedy (Sutton & Barto 2018, §2.2): a constant ε = 0.1.
TEXTBOOK = (("epsilon", 0.1), ("epsilon_final", 0.1))

CONTENDERS: tuple[Contender, ...] = (
    Contender("society_valuation", "cloned CCV society, valuation bidders (options)", "society", "options",
              "valuation"),
    Contender("society_ppo", "cloned CCV society, PPO bidders (options)", "society", "options", "ppo"),
    Contender("society_ppo_no_dropout", "cloned CCV society, PPO bidders without dropout (options)", "ablation",
              "options", "ppo", hyper=(("dropout", 0.0),)),
    Contender("hier_q", "Q-learning, ε = 0.1 (options)", "hierarchical", "options", "q_learning", hyper=TEXTBOOK),
    Contender("hier_ppo", "monolithic PPO (options)", "hierarchical", "options", "ppo_monolithic"),
    Contender("hier_q_society_exploration", "Q-learning with the society's exploration (options)",
              "exploration-matched", "options", "q_learning"),
    Contender("flat_q", "Q-learning, ε = 0.1 (actions)", "flat", "actions", "q_learning", hyper=TEXTBOOK),
    Contender("flat_ppo", "monolithic PPO (actions)", "flat", "actions", "ppo_monolithic"),
    Contender("flat_society", "cloned CCV society, valuation bidders (actions)", "flat", "actions", "valuation"),
)


def contenders(keys: Sequence[str] | None = None) -> tuple[Contender, ...]:
    """The contenders with these keys (all by default), in :data:`CONTENDERS` order."""
    if keys is None:
        return CONTENDERS
    known = {c.key for c in CONTENDERS}
    unknown = sorted(set(keys) - known)
    if unknown:
        raise ValueError(f"unknown contender keys {unknown}; choose from {sorted(known)}.")
    return tuple(c for c in CONTENDERS if c.key in keys)


@dataclass(frozen=True)
class StudyConfig:
    """The study's budget: room size, steps per seed for each phase and kind of learner, checkpoints, episodes.

    Steps are what :func:`mechanism.train` counts: base steps for learners over actions, decisions
    (option runs, several base steps each) for learners over options; every measurement is then
    reported in base steps (``TrainResult.base_steps``). Each budget is ``(pretrain, transfer)``.
    """

    size: int = 5
    tabular_options: tuple[int, int] = (6_000, 6_000)
    tabular_actions: tuple[int, int] = (50_000, 100_000)
    neural_options: tuple[int, int] = (20_000, 40_000)
    neural_actions: tuple[int, int] = (100_000, 300_000)
    checkpoints: int = 25
    transfer_checkpoints: int = 200
    episodes: int = 32
    threshold: float = THRESHOLD
    moved: float = MOVED

    def steps(self, contender: Contender) -> tuple[int, int]:
        """(pretrain, transfer) steps per seed for ``contender``."""
        kind = ("neural_" if contender.neural else "tabular_") + contender.over
        pre, post = getattr(self, kind)
        return int(pre), int(post)


#: A few seconds in all: for tests.
QUICK = StudyConfig(size=3, tabular_options=(600, 600), tabular_actions=(2_000, 2_000),
                                    neural_options=(512, 512), neural_actions=(1_024, 1_024), checkpoints=4,
                    transfer_checkpoints=8, episodes=16)


# ---------------------------------------------------------------------------------------------- the study
@dataclass(frozen=True, eq=False)
class LearnerRun:
    """One contender pretrained on green and transferred to blue (and trained on blue from scratch), all seeds.

    Attributes
    ----------
    contender : Contender
    seeds : tuple of int
    pre_steps, post_steps, scratch_steps : int arrays (C, N)
        Base env steps of every seed at the recorded checkpoints of pretraining (green), of the
        transfer (blue, from the pretrained state) and of training on blue from scratch (over
        options they differ between seeds: each decision runs an option for τ base steps).
    pre_success, post_success, scratch_success : float arrays (C, N)
        Exact success rate of the greedy policy (:func:`success_rate`) at those checkpoints, on
        the task being trained.
    steps_to, scratch_steps_to : tuple of int or None
        Per seed, base steps after the transfer (from scratch) until the success stays >= the
        threshold (None: not within the run).
    moved : dict of str to WeightsMoved, or None
        For neural learners, ``"policy"`` and ``"value"`` networks: weights moved during the transfer.
    pretrain, transfer, scratch : TrainResult
    seconds : float
        Wall time of the three runs and the success computations.
    """

    contender: Contender
    seeds: tuple[int, ...]
    pre_steps: IntArray
    pre_success: FloatArray
    post_steps: IntArray
    post_success: FloatArray
    scratch_steps: IntArray
    scratch_success: FloatArray
    steps_to: tuple[int | None, ...]
    scratch_steps_to: tuple[int | None, ...]
    moved: dict[str, WeightsMoved] | None
    pretrain: TrainResult
    transfer: TrainResult
    scratch: TrainResult
    seconds: float

    @property
    def reach(self) -> Reach:
        """Steps to the threshold after the transfer over seeds: lower median of the seeds that got there, how many."""
        return reach(self.steps_to)


def _base_steps(result: TrainResult) -> IntArray:
    """Base env steps of every seed at the checkpoints, (C, N): ``result.base_steps``, else ``steps`` for each seed."""
    base = np.asarray(getattr(result, "base_steps", np.zeros((0, 0))))
    if base.size:
        return base.astype(np.int64)
    return np.repeat(np.asarray(result.steps, dtype=np.int64)[:, None], len(result.config.seeds), axis=1)


def steps_to_threshold(base_steps: IntArray, success: FloatArray, threshold: float) -> tuple[int | None, ...]:
    """Per seed, the base steps (on that seed's own clock) after which success stays >= ``threshold``; None: never.

    :func:`verify.experiments.steps_until` on ``threshold − success``, one seed at a time
    (``base_steps`` and ``success`` are (C, N)).
    """
    return tuple(
        steps_until(base_steps[:, i], threshold - success[:, i], 1e-9)[0] for i in range(success.shape[1])
    )


def tasks_for(contender: Contender, size: int) -> tuple[FiniteMDP, FiniteMDP]:
    """(green, blue) MDPs the contender learns on: the base MDPs, or their semi-MDPs of the three options."""
    green, blue = tworooms("green", size), tworooms("blue", size)
    if contender.over == "actions":
        return green, blue
    options = tworooms_options(green)
    return options_mdp(green, options), options_mdp(blue, options)


def _train_kwargs(contender: Contender, config: StudyConfig, seeds: Sequence[int]) -> dict[str, Any]:
    kwargs = dict(contender.hyper)
    if contender.neural:
        kwargs["features"] = tworooms_features(config.size)
    return {"clones": contender.clones, "learner": contender.learner, "seeds": tuple(seeds),
            "episodes": config.episodes, **kwargs}


def run_contender(contender: Contender, config: StudyConfig, seeds: Sequence[int]) -> LearnerRun:
    """Pretrain ``contender`` on green, transfer it to blue, train it on blue from scratch, and measure.

    The transfer and the run from scratch have the same budget and checkpoints; the weights moved
    compare the pretrained parameters with those at the end of the transfer.
    """
    start = time.perf_counter()
    green, blue = tasks_for(contender, config.size)
    geo = TwoRooms(config.size)
    common = _train_kwargs(contender, config, seeds)
    pre_n, post_n = config.steps(contender)
    later = {"steps": post_n, "checkpoints": config.transfer_checkpoints, **common}
    pre = train(green, contender.mechanism, steps=pre_n, checkpoints=config.checkpoints, **common)
    post = train(blue, contender.mechanism, warm_start=pre.params, **later)
    scratch = train(blue, contender.mechanism, **later)
    at = {name: _base_steps(r) for name, r in (("pre", pre), ("post", post), ("scratch", scratch))}
    success = {"pre": success_rate(green, pre.policy, geo.is_goal("green")),
               "post": success_rate(blue, post.policy, geo.is_goal("blue")),
               "scratch": success_rate(blue, scratch.policy, geo.is_goal("blue"))}
    before, after = _networks(pre.params), _networks(post.params)
    moved = None
    if before is not None and after is not None:
        moved = {k: weights_moved(before[k], after[k], config.moved) for k in before}
    return LearnerRun(
        contender, tuple(seeds), at["pre"], success["pre"], at["post"], success["post"], at["scratch"],
        success["scratch"], steps_to_threshold(at["post"], success["post"], config.threshold),
        steps_to_threshold(at["scratch"], success["scratch"], config.threshold), moved, pre, post, scratch,
        time.perf_counter() - start,
    )


def run_study(
    config: StudyConfig = StudyConfig(), seeds: Sequence[int] = range(5), keys: Sequence[str] | None = None
) -> list[LearnerRun]:
    """Every contender (or those with ``keys``) pretrained on green and transferred to blue, with ``seeds``."""
    return [run_contender(c, config, tuple(seeds)) for c in contenders(keys)]
