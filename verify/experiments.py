"""Learning experiments against the exact solution: how close do learned bids get to Q*?

:func:`mechanism.train` records bids and greedy policies at checkpoints without solving the MDP
(``mechanism`` may not import ``verify``). :func:`assess` wraps a :class:`~mechanism.TrainResult`
with the exact solution (:func:`verify.solve`), the mechanism's truthful fixed point
(:func:`verify.fixed_point.truthful_fixed_point`) and the exact value of the recorded greedy
policies (:func:`verify.evaluate`), and measures, per checkpoint and seed:

* the error of every primitive's mean bid (averaged over its clones) against Q*(s, i); its max
  and mean over the **reachable, non-terminal states only** (``tasks.reachable`` from ``start``;
  terminal states are never auctioned, unreachable ones never visited), over all primitives and
  over the optimal primitive argmax_i Q*(s, i) alone (the bid that sets the credit);
* the same max error against the mechanism's own truthful fixed point (for solitary ccv the
  second-best fixed point, which differs from Q*; for env_reward the one-step reward);
* the spread of the bids across seeds (standard deviation) and across clones (max − min);
* the start value of the greedy policy, start·V^π, against start·V*, at :data:`RECORDED`
  evenly spaced checkpoints (the ones written to the records);
* **steps to ε** (:func:`steps_until`): the first env step after which the max error stays below
  ε (ε = 0.05 and 0.01), or None ("never") when it is not below ε at the end of the run;
* **win rates** (:func:`win_rates`): the share of auctions each primitive wins at each state in
  an evaluation rollout (:func:`mechanism.rollout`) of the final mean bids.

*Resolution of "steps to ε".* :func:`mechanism.train` updates every learner once per round of E
parallel episodes (E env steps per seed) and the bids change only there, so the error as a
function of env steps is a step function that can change only at multiples of E. Recording after
every round (:func:`measurement_grid`, what :func:`run_experiment` and :func:`reproduce` do)
therefore sees every value the error takes, and the measured step is exact. When a run is too
large to record every round (more than :data:`GRID_BYTES` of bids), every k-th round is recorded
and the result is exact only to k·E steps (and assumes no excursion above ε between two
measurements); :attr:`Assessment.resolution` and :attr:`Assessment.exact` say which.

*Comparing societies* (:func:`compare`): a percentile bootstrap over seeds of the difference of
the mean final errors (:data:`RESAMPLES` resamples, :data:`CONFIDENCE` confidence). One society is
closer than another only when the whole interval lies below −tolerance; an interval inside
[−tolerance, tolerance], or identical errors in every seed, is a tie; anything else is no
conclusion.

:func:`reproduce` runs the paper's bandit, chain and duality experiments for every built-in
mechanism, cloned and solitary, with both bid learners, plus a sample-efficiency study against
tabular Q-learning over :data:`BUDGETS`, and returns tidy records (:mod:`verify.records`). Bid
learners bid in (0, 1) (the paper's range), so a task whose Q* leaves (0, 1) (duality) is used
through ``verify.rescale_rewards(mdp, 0.1, 0.9)`` (see :func:`bid_task`): Q* of the rescaled task is
an affine image of the original (same optimal policy), and every error is measured against the
rescaled Q*. Each of its runs (:func:`reproduction_jobs`) is trained and recorded by
:func:`reproduction_run`, which the sweep runner's ``reproduce`` cells (:mod:`verify.jobs`) call too.

The same experiments with neural bidders (``bandit-neural``, ``chain-neural``: PPO with Agora's
settings, :mod:`mechanism.learners.ppo`) are registered next to them, with fewer seeds and no
sample-efficiency study by default; :data:`GROUPS` names ``all`` (the tabular ones) and ``neural``.
"""

from __future__ import annotations

import math
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

import tasks
from mechanism import BUILTINS, MECHANISMS, SOCIETY_LEARNERS
from mechanism.market import Mechanism
from mechanism.rollout import rollout
from mechanism.society import Society
from mechanism.train import TrainResult, train
from tasks.mdp import FiniteMDP
from verify.fixed_point import FixedPointError, truthful_fixed_point
from verify.records import LearningRecords, environment
from verify.solve import solve
from verify.solvers import evaluate_policies
from verify.transform import rescale_rewards

__all__ = [
    "BASELINE",
    "BIDS_EVERY_STATE_UP_TO",
    "BID_RANGE",
    "BUDGETS",
    "CONFIDENCE",
    "DIGITS",
    "EPSILONS",
    "EXPERIMENTS",
    "GRID_BYTES",
    "GROUPS",
    "RECORDED",
    "RESAMPLES",
    "SAMPLE_SOCIETIES",
    "Assessment",
    "Comparison",
    "Experiment",
    "Job",
    "Reach",
    "WinRates",
    "assess",
    "bid_task",
    "compare",
    "experiment_names",
    "measurement_grid",
    "nullable",
    "pool_win_rates",
    "reach",
    "reproduce",
    "reproduction_jobs",
    "reproduction_run",
    "run_experiment",
    "steps_until",
    "win_rates",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
#: Steps to ε per seed: env steps, or None when the run never got (and stayed) there.
Steps = tuple[int | None, ...]

#: The thresholds of "env steps until max error stays below ε".
EPSILONS: tuple[float, ...] = (0.05, 0.01)
#: Q* of every task is mapped onto this range for the bid learners (inside the Beta's (0, 1)).
BID_RANGE: tuple[float, float] = (0.1, 0.9)
#: The tabular bid learners that `agora reproduce` runs on the paper's tasks (the neural ``ppo`` has its own
#: experiments).
TABULAR_LEARNERS: tuple[str, ...] = ("valuation", "policy_gradient")
#: Budgets (env steps per seed) of the sample-efficiency study.
BUDGETS: tuple[int, ...] = (50_000, 200_000, 800_000)
#: The monolithic baseline of the sample-efficiency study.
BASELINE = "q_learning"
#: The societies (mechanism, clones, learner) set against the baseline.
SAMPLE_SOCIETIES: tuple[tuple[str, int, str], ...] = (("ccv", 2, "valuation"), ("ccv", 2, "policy_gradient"))
#: Confidence level and resamples of the bootstrap in :func:`compare`.
CONFIDENCE = 0.95
RESAMPLES = 10_000
#: Most bytes of bid history a run may record for steps to ε; beyond it the grid thins out.
GRID_BYTES = 256 * 2**20
#: Checkpoints (after the start) at which greedy policies are evaluated and records are written.
RECORDED = 20
#: Significant digits of the numbers in checkpoint rows.
DIGITS = 6
#: Checkpoint rows hold the bids at every state for MDPs with at most this many states.
BIDS_EVERY_STATE_UP_TO = 64


def bid_task(mdp: FiniteMDP) -> FiniteMDP:
    """``mdp`` as the bid learners see it: as is when Q* lies in (0, 1), else rescaled onto :data:`BID_RANGE`.

    Only reachable, non-terminal states count (terminal states are never auctioned). The bandit
    and the chain keep the paper's units; duality (Q* from −99 to 50) is rescaled.
    """
    Q = solve(mdp).Q[tasks.reachable(mdp) & ~np.asarray(mdp.terminal)]
    if Q.size and Q.min() > 0.0 and Q.max() < 1.0:
        return mdp
    return rescale_rewards(mdp, *BID_RANGE)


# ---------------------------------------------------------------------------- steps to ε
def steps_until(steps: Sequence[int] | NDArray[np.integer], error: Any, eps: float) -> Steps:
    """Per seed, the first measured env step after which ``error`` stays below ``eps``; None if it never does.

    A curve that dips below ε and comes back above is not "there" at the dip: the answer is the
    measurement after the *last* one at or above ε (the first one when none is), and None when
    the last measurement is at or above ε (or NaN).

    Parameters
    ----------
    steps : int array (C,)
        Env steps per seed of the measurements, increasing.
    error : array (C, N) or (C,)
        The error at each measurement, per seed (a single curve counts as one seed).
    eps : float

    Returns
    -------
    tuple of int or None, one per seed
    """
    steps = np.asarray(steps)
    err = np.asarray(error, dtype=float)
    err = err[:, None] if err.ndim == 1 else err
    if err.ndim != 2 or err.shape[0] != steps.shape[0] or steps.ndim != 1:
        raise ValueError(f"error must be (C, N) with C = len(steps) = {steps.shape[0]}; got {err.shape}.")
    C = err.shape[0]
    below = err < eps  # NaN compares False: not below
    last_fail = np.where(~below, np.arange(C)[:, None], -1).max(axis=0)
    return tuple(None if f == C - 1 else int(steps[f + 1]) for f in last_fail)


class Reach(NamedTuple):
    """Steps to ε summarised over seeds: the median over the seeds that got there, and how many did."""

    median: int | None  #: the lower median (a step some seed reached); None when none did
    reached: int
    total: int

    def __str__(self) -> str:
        if self.median is None:
            return f"never (0 of {self.total} seeds)"
        rest = self.total - self.reached
        return f"{self.median:,} over {self.reached} of {self.total}" + (f"; {rest} never" if rest else "")


def reach(values: Sequence[int | None]) -> Reach:
    """:class:`Reach` of per-seed steps to ε: "never" (None) is counted, never used as a number.

    The median is :func:`statistics.median_low` of the seeds that got there, so it is always a
    step count that some seed has.
    """
    hit = [int(v) for v in values if v is not None]
    return Reach(statistics.median_low(hit) if hit else None, len(hit), len(values))


def measurement_grid(steps: int, episodes: int, cells: int, max_bytes: int = GRID_BYTES) -> IntArray:
    """Env steps per seed at which to record bids so that steps to ε is exact (see the module docstring).

    Parameters
    ----------
    steps, episodes : int
        As passed to :func:`mechanism.train` (E = min(episodes, steps) env steps per round).
    cells : int
        Numbers recorded per checkpoint: seeds × states × bidders.
    max_bytes : int
        Budget for the recorded bids, the bid parameters :func:`mechanism.train` records with them and the
        arrays :func:`assess` derives from them (48 bytes a recorded bid in all).

    Returns
    -------
    int array
        Every round's env steps (0, E, 2E, ..., rounds·E) when it fits, else every k-th round and
        the last one.
    """
    E = max(1, min(int(episodes), int(steps)))
    rounds = int(steps) // E
    fits = max(2, int(max_bytes) // max(1, 48 * int(cells)))
    every = max(1, math.ceil((rounds + 1) / fits))
    grid = np.arange(0, rounds + 1, every)
    if grid[-1] != rounds:
        grid = np.append(grid, rounds)
    return (grid * E).astype(np.int64)


# ---------------------------------------------------------------------------- comparisons
@dataclass(frozen=True)
class Comparison:
    """Final errors of two societies compared over seeds (:func:`compare`).

    ``outcome`` is "lower" (the first is closer to Q*: the interval lies below −tolerance),
    "higher" (the second is closer), "tie" (identical errors in every seed, or the interval
    inside [−tolerance, tolerance]) or "inconclusive" (the interval straddles).
    """

    difference: float  #: mean(a) − mean(b)
    low: float  #: lower end of the bootstrap interval
    high: float
    n_a: int
    n_b: int
    confidence: float
    tolerance: float
    resamples: int
    outcome: str
    identical: bool = False  #: the two groups hold the same values (an exact tie)

    @property
    def method(self) -> str:
        """How the interval was computed, in words."""
        return (
            f"percentile bootstrap over seeds of the difference of mean final errors ({self.n_a} and {self.n_b} "
            f"seeds, {self.resamples:,} resamples, {self.confidence:.0%} confidence, differences within "
            f"{self.tolerance:g} count as ties)"
        )

    def __str__(self) -> str:
        if self.identical:
            return "identical values in every seed"
        return f"{self.difference:+.3f} ({self.confidence:.0%} CI [{self.low:+.3f}, {self.high:+.3f}])"


def compare(
    a: Sequence[float] | FloatArray,
    b: Sequence[float] | FloatArray,
    confidence: float = CONFIDENCE,
    tolerance: float = 0.0,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Comparison:
    """Is ``a`` (final errors, one per seed) lower than ``b``, beyond the spread over seeds?

    Percentile bootstrap (Efron & Tibshirani 1993, §13.3): each group's seeds are resampled with
    replacement, independently, ``resamples`` times; the interval is the (1 ∓ confidence)/2
    quantiles of mean(a*) − mean(b*). Deterministic for a given ``seed``.

    Raises
    ------
    ValueError
        For an empty group, NaN errors, or a confidence outside (0, 1).
    """
    x, y = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if x.size == 0 or y.size == 0 or np.isnan(x).any() or np.isnan(y).any():
        raise ValueError(f"compare needs non-empty groups of numbers; got {x.size} and {y.size} values (NaN refused).")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1); got {confidence}.")
    rng = np.random.default_rng(seed)
    boot = x[rng.integers(0, x.size, (resamples, x.size))].mean(axis=1)
    boot -= y[rng.integers(0, y.size, (resamples, y.size))].mean(axis=1)
    low, high = np.quantile(boot, [(1 - confidence) / 2, (1 + confidence) / 2])
    identical = x.size == y.size and np.array_equal(np.sort(x), np.sort(y))
    if identical or (-tolerance <= low and high <= tolerance):
        outcome = "tie"
    elif high < -tolerance:
        outcome = "lower"
    elif low > tolerance:
        outcome = "higher"
    else:
        outcome = "inconclusive"
    return Comparison(
        float(x.mean() - y.mean()), float(low), float(high), x.size, y.size, confidence, tolerance, resamples, outcome,
        bool(identical),
    )


# ---------------------------------------------------------------------------- win rates
class WinRates(NamedTuple):
    """Who wins the auctions of an evaluation rollout of the final mean bids."""

    rate: FloatArray  #: (S, A) share of the auctions at s won by primitive i, mean over seeds visiting s; NaN if none
    visits: IntArray  #: (S,) auctions held at s, all seeds together
    optimal_share: FloatArray  #: (N,) share of a seed's auctions won by an optimal primitive (argmax Q*)


def win_rates(
    mdp: FiniteMDP,
    bids: FloatArray,
    clones: int,
    mechanism: Mechanism | str,
    optimal: NDArray[np.bool_],
    episodes: int = 16,
    seed: int = 0,
) -> WinRates:
    """Roll out every seed's mean bids (deterministic bid tables) with :func:`mechanism.rollout`.

    Parameters
    ----------
    bids : array (N, S, M)
        Mean bid of every (seed, state, bidder); bidder m plays primitive m % A.
    clones : int
    mechanism : Mechanism or str
        Picks each auction's winner (a monolithic baseline's Q table goes through a highest-bid
        auction, i.e. its greedy policy).
    optimal : bool array (S, A)
        Whether primitive i is optimal at s (Q*(s, i) = V*(s)).
    episodes : int
        Evaluation episodes per seed, each cut at the MDP's time limit (10·S steps, at most
        1,000, when it has none).
    """
    N, S, _ = bids.shape
    A = mdp.n_actions
    society = Society(A, clones)
    horizon = mdp.time_limit or min(1000, 10 * S)
    per_seed = np.full((N, S, A), np.nan)
    visits = np.zeros((N, S), dtype=np.int64)
    share = np.full(N, np.nan)
    for n in range(N):
        tr = rollout(mdp, bids[n], mechanism, society, episodes=episodes, time_limit=horizon,
                     seed=np.random.default_rng([seed, n]))
        s, p = tr.states[tr.mask], tr.primitives[tr.mask]
        wins = np.zeros((S, A))
        np.add.at(wins, (s, p), 1.0)
        visits[n] = wins.sum(axis=1).astype(np.int64)
        seen = visits[n] > 0
        per_seed[n, seen] = wins[seen] / visits[n, seen, None]
        share[n] = float(optimal[s, p].mean()) if s.size else np.nan
    return WinRates(pool_win_rates(per_seed), visits.sum(axis=0), share)


def pool_win_rates(per_seed: Any) -> FloatArray:
    """Win rates (S, A) pooled over seeds: the mean over the seeds that visit s; NaN where none does.

    ``per_seed`` is (N, S, A), NaN at states a seed never visits: rate(s, i) = Σ_n w_n(s, i) / #{n :
    s visited by seed n}. The one pooling rule of :func:`win_rates` and of a run merged from
    single-seed runs (:func:`verify.jobs.merge_seed_runs`).
    """
    per_seed = np.asarray(per_seed, dtype=float)
    counted = (~np.isnan(per_seed)).sum(axis=0)
    return np.where(counted > 0, np.nansum(per_seed, axis=0) / np.maximum(counted, 1), np.nan)


# ---------------------------------------------------------------------------- assessment
def nullable(x: Any) -> Any:
    """Nested lists of floats with NaN as None (JSON has no NaN)."""
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 0:
        return None if math.isnan(float(arr)) else float(arr)
    obj = arr.astype(object)
    obj[np.isnan(arr)] = None
    return obj.tolist()


def _sig(x: float) -> float:
    """``x`` to :data:`DIGITS` significant digits."""
    return float(f"{float(x):.{DIGITS}g}")


def _record_indices(steps: NDArray[np.integer], k: int) -> IntArray:
    """Indices of the checkpoints nearest (at or after) ``k`` + 1 evenly spaced env steps; first and last kept."""
    steps = np.asarray(steps)
    targets = np.linspace(steps[0], steps[-1], max(1, k) + 1)
    return np.unique(np.clip(np.searchsorted(steps, targets), 0, len(steps) - 1)).astype(np.int64)


@dataclass(frozen=True, eq=False)
class Assessment:
    """A training run measured against the exact solution (see the module docstring).

    Shapes: C checkpoints, K recorded checkpoints, N seeds, S states, A primitives.
    """

    result: TrainResult
    mdp: FiniteMDP
    Q: FloatArray  #: (S, A) Q*
    fixed_point: FloatArray | None  #: (S, A) the mechanism's truthful fixed point; None for monolithic runs
    reachable: NDArray[np.bool_]  #: (S,) reachable, non-terminal: the states that count
    error: FloatArray  #: (C, N, S, A) mean bid − Q*
    max_error: FloatArray  #: (C, N) over reachable (state, primitive) pairs
    mean_error: FloatArray  #: (C, N)
    max_error_optimal: FloatArray  #: (C, N) over (s, argmax_i Q*(s, i)), s reachable
    max_error_fixed_point: FloatArray  #: (C, N) against the truthful fixed point (NaN when none)
    spread_seeds: FloatArray  #: (C, S, A) standard deviation of the mean bid across seeds
    spread_clones: FloatArray  #: (C, N, S, A) max − min of the bids of a primitive's clones
    recorded: IntArray  #: (K,) the checkpoints evaluated and written to the records (first and last included)
    value: FloatArray  #: (K, N) start·V^π of the greedy policy at the recorded checkpoints
    v_star: float  #: start·V*
    steps_to: dict[float, Steps]  #: ε -> per seed, env steps until max error stays below ε (None: never)
    steps_to_optimal: dict[float, Steps]  #: the same for the optimal primitive's error (max_error_optimal)
    resolution: int  #: largest gap, in env steps per seed, between two measurements of the error
    exact: bool  #: measured after every learner update from step 0: steps to ε is exact
    wins: WinRates  #: evaluation rollout of the final mean bids

    @property
    def start_state(self) -> int:
        """The most likely start state (where the bids-over-training figure looks)."""
        return int(np.argmax(np.asarray(self.mdp.start)))

    def run_record(self, run: str, task: str | None = None, **extra: Any) -> dict[str, Any]:
        """The run's row of ``runs.jsonl`` (schema: :mod:`verify.records`); ``extra`` adds fields."""
        res = self.result
        name, _, transform = res.config.task.partition("|")
        cfg = res.config.as_dict()
        del cfg["task"]
        final = -1
        row: dict[str, Any] = {"run": run, "experiment": None, "studies": ["main"], "task": task or name,
                               "transform": transform or None, **cfg, **extra, "agora_version": res.version}
        row.update({k: v for k, v in environment().items() if k != "agora_version"})
        row.update(
            gamma=self.mdp.gamma, n_states=self.mdp.n_states, n_actions=self.mdp.n_actions,
            start_state=self.start_state, reachable=self.reachable.tolist(),
            terminal=np.asarray(self.mdp.terminal, dtype=bool).tolist(), q_star=self.Q.tolist(),
            v_star=self.v_star, fixed_point=None if self.fixed_point is None else self.fixed_point.tolist(),
            epsilons=list(self.steps_to), resolution=self.resolution, exact=self.exact,
            steps_to={f"{e:g}": list(v) for e, v in self.steps_to.items()},
            steps_to_optimal={f"{e:g}": list(v) for e, v in self.steps_to_optimal.items()},
            final_max_error=self.max_error[final].tolist(), final_mean_error=self.mean_error[final].tolist(),
            final_max_error_optimal=self.max_error_optimal[final].tolist(),
            final_max_error_fixed_point=nullable(self.max_error_fixed_point[final]),
            final_value=self.value[final].tolist(), final_regret=(self.v_star - self.value[final]).tolist(),
            final_spread_clones=self.spread_clones[final][:, self.reachable].max(axis=(1, 2)).tolist(),
            final_spread_seeds=float(self.spread_seeds[final][self.reachable].max()),
            final_policy=res.policy[final].tolist(), final_bids=res.primitive_bids[final].tolist(),
            win_rate=nullable(self.wins.rate), win_visits=self.wins.visits.tolist(),
            optimal_win_share=nullable(self.wins.optimal_share),
        )
        return row

    def checkpoint_records(self, run: str) -> list[dict[str, Any]]:
        """The run's rows of ``checkpoints.jsonl``: one per (seed, recorded checkpoint).

        Numbers are kept to :data:`DIGITS` significant digits (the curves' resolution; the run row
        keeps full precision); regret is v_star − value with the run's ``v_star``. ``bids`` (S, A),
        every primitive's mean bid at every state (None where it has no bid), is recorded for MDPs of
        up to :data:`BIDS_EVERY_STATE_UP_TO` states (the per-state figures); ``bids_start`` always.
        """
        res, s0 = self.result, self.start_state
        bids = res.primitive_bids
        every_state = self.mdp.n_states <= BIDS_EVERY_STATE_UP_TO
        clones = self.spread_clones[:, :, self.reachable].max(axis=(2, 3))
        out = []
        for k, c in enumerate(self.recorded):
            for n, seed in enumerate(res.config.seeds):
                fp = self.max_error_fixed_point[c, n]
                out.append({
                    "run": run, "seed": seed, "checkpoint": k, "env_steps": int(res.steps[c]),
                    "max_error": _sig(self.max_error[c, n]), "mean_error": _sig(self.mean_error[c, n]),
                    "max_error_optimal": _sig(self.max_error_optimal[c, n]),
                    "max_error_fixed_point": None if np.isnan(fp) else _sig(fp),
                    "max_spread_clones": _sig(clones[c, n]), "value": _sig(self.value[k, n]),
                    "bids_start": [_sig(b) for b in bids[c, n, s0]],
                    **({"bids": nullable([[_sig(b) for b in row] for row in bids[c, n]])} if every_state else {}),
                })
        return out


def _fixed_point(mdp: FiniteMDP, result: TrainResult, mechanism: Mechanism | None) -> FloatArray | None:
    """The mechanism's truthful fixed point per primitive (S, A), or None (monolithic, unknown, no fixed point)."""
    cfg = result.config
    mech = mechanism if mechanism is not None else MECHANISMS.get(cfg.mechanism)
    if mech is None or cfg.mechanism == "monolithic":
        return None
    try:
        fp = truthful_fixed_point(mdp, mech, cfg.clones)
    except FixedPointError:
        return None
    return np.asarray(fp).reshape(mdp.n_states, cfg.clones, mdp.n_actions).mean(axis=1)


def assess(
    result: TrainResult,
    mdp: FiniteMDP,
    epsilons: Sequence[float] = EPSILONS,
    recorded: int = RECORDED,
    mechanism: Mechanism | None = None,
) -> Assessment:
    """Measure ``result`` (trained on ``mdp``) against the exact solution; see the module docstring.

    ``recorded`` is how many evenly spaced checkpoints (after the start) get their greedy policy
    evaluated and a row in the records; ``mechanism`` is needed only for a mechanism that is not
    in the registry (its fixed point and its winners in the evaluation rollout).

    Raises
    ------
    ValueError
        When ``mdp`` does not match the result's shape.
    """
    bids = result.primitive_bids  # (C, N, S, A)
    C, N, S, A = bids.shape
    if (mdp.n_states, mdp.n_actions) != (S, A):
        raise ValueError(
            f"mdp has (S, A) = {(mdp.n_states, mdp.n_actions)} but the run's bids are for {(S, A)}; "
            "pass the MDP the run was trained on (the rescaled one for bid learners)."
        )
    sol = solve(mdp)
    Q = sol.Q
    live = tasks.reachable(mdp) & ~np.asarray(mdp.terminal)
    # The errors count the live (state, action) cells whose action is available: elsewhere the bid
    # is "no bid" (NaN) and Q* is -inf.
    avail = np.asarray(mdp.available)
    cells = live[:, None] & avail
    err = bids - Q
    abs_live = np.abs(err)[:, :, cells]
    best = np.argmax(Q, axis=1)
    opt = np.abs(np.take_along_axis(err, best[None, None, :, None], axis=3)[..., 0])[:, :, live]
    fixed = _fixed_point(mdp, result, mechanism)
    fp_err = np.full((C, N), np.nan) if fixed is None else np.abs(bids - fixed)[:, :, cells].max(axis=2)
    per_clone = result.bids.reshape(C, N, S, result.bids.shape[-1] // A, A)
    rec = _record_indices(result.steps, recorded)
    max_error, max_opt = abs_live.max(axis=2), opt.max(axis=2)
    steps = np.asarray(result.steps)
    gaps = np.diff(steps)
    # A monolithic baseline acts greedily on its Q table: a highest-bid auction picks the same action.
    name = result.config.mechanism
    mech: Mechanism | str = mechanism if mechanism is not None else name if name in MECHANISMS else "vickrey"
    optimal = np.isclose(Q, sol.V[:, None], rtol=0.0, atol=1e-9 * max(1.0, float(np.abs(sol.V).max())))
    return Assessment(
        result=result, mdp=mdp, Q=Q, fixed_point=fixed, reachable=live, error=err, max_error=max_error,
        mean_error=abs_live.mean(axis=2), max_error_optimal=max_opt, max_error_fixed_point=fp_err,
        spread_seeds=bids.std(axis=1), recorded=rec,
        spread_clones=np.where(avail, per_clone.max(axis=3) - per_clone.min(axis=3), 0.0),
        value=evaluate_policies(mdp, result.policy[rec]) @ np.asarray(mdp.start),
        v_star=float(np.asarray(mdp.start) @ sol.V),
        steps_to={float(e): steps_until(steps, max_error, float(e)) for e in epsilons},
        steps_to_optimal={float(e): steps_until(steps, max_opt, float(e)) for e in epsilons},
        resolution=int(gaps.max()) if gaps.size else 0,
        exact=bool(steps[0] == 0 and (gaps <= result.config.episodes).all()),
        wins=win_rates(mdp, result.bids[-1], result.config.clones, mech, optimal),
    )


def run_experiment(
    mdp: FiniteMDP,
    mechanism: Mechanism | str,
    clones: int = 2,
    learner: str = "valuation",
    steps: int = 100_000,
    seeds: int | Sequence[int] = 10,
    episodes: int = 32,
    recorded: int = RECORDED,
    progress: bool | None = False,
    **learner_kwargs: Any,
) -> Assessment:
    """:func:`mechanism.train` with the bids recorded on :func:`measurement_grid`, then :func:`assess`.

    Steps to ε is then exact (one measurement per learner update) unless the run is too large
    for :data:`GRID_BYTES`; ``Assessment.exact`` and ``Assessment.resolution`` say which.
    """
    n = seeds if isinstance(seeds, int) else len(seeds)
    width = mdp.n_actions * (1 if learner not in SOCIETY_LEARNERS else clones)
    grid = measurement_grid(steps, episodes, n * mdp.n_states * width)
    res = train(mdp, mechanism, clones=clones, learner=learner, steps=steps, seeds=seeds, checkpoints=grid.tolist(),
                episodes=episodes, progress=progress, **learner_kwargs)
    return assess(res, mdp, recorded=recorded, mechanism=mechanism if isinstance(mechanism, Mechanism) else None)


# ---------------------------------------------------------------------------- the paper's experiments
@dataclass(frozen=True)
class Experiment:
    """One of the paper's learning experiments: the task, its learners and the budget that runs it in seconds.

    ``learners`` are the bid learners of the main grid (every mechanism × {cloned, solitary});
    ``seeds`` the default seeds; ``budgets``, ``societies`` and ``baseline`` the default
    sample-efficiency study (``budgets=()``: none); ``group`` the name that runs it with others
    (:data:`GROUPS`).
    """

    name: str
    task: str  #: registry id (``tasks.TASKS``)
    steps: int
    paper: str  #: what the paper found (PAPER.md)
    learners: tuple[str, ...] = TABULAR_LEARNERS
    seeds: int = 10
    budgets: tuple[int, ...] = BUDGETS
    societies: tuple[tuple[str, int, str], ...] = SAMPLE_SOCIETIES
    baseline: str = BASELINE
    group: str = "all"

    def build(self) -> FiniteMDP:
        """The task, named by its registry id."""
        return tasks.make(self.task)


#: What the authors' neural bidders reached (issue 12, from running their code): ~1,500 env steps/s, a
#: 4,096-step epoch with its PPO update in ~7 s, and after ~27 minutes bids still this far from Q*.
_AUTHORS_NEURAL = "the authors' PPO bidders: after ~27 min (~7 s per 4,096-step epoch) bids still {gap} from Q*"

#: The paper's experiments (Chang et al. 2020, §7; PAPER.md "Experiments and numbers"), with tabular bid
#: learners (group "all") and with neural PPO bidders (group "neural", Agora's settings: mechanism.learners.ppo).
#: The neural budgets are those of tests/benchmarks/test_bench_ppo.py: the chain's cloned ccv within 0.07 of Q*
#: with an optimal greedy policy after 102,400 env steps per seed, the bandit's cloned vickrey within 0.02 of
#: 0.8 after 51,200; every run of both takes about 3 s of CPU time (all seeds in lockstep).
EXPERIMENTS: dict[str, Experiment] = {
    "bandit": Experiment(
        "bandit",
        "bandit/0",
        20_000,
        "cloned Vickrey closest to Q*; solitary bids more spread; first price shades below Q*; "
        "environment reward does not pin the bids",
    ),
    "chain": Experiment("chain", "chain/0", 50_000, "CCV's bids closest to Q* (against BB and V)"),
    "duality": Experiment(
        "duality", "duality/0", 50_000, "the optimal policy alternates 0 <-> 1 (values outside (0, 1))"
    ),
    "bandit-neural": Experiment(
        "bandit-neural", "bandit/0", 51_200,
        "cloned Vickrey closest to Q*; " + _AUTHORS_NEURAL.format(gap="0.33"),
        learners=("ppo",), seeds=5, budgets=(), societies=(("vickrey", 2, "ppo"),), baseline="ppo_monolithic",
        group="neural",
    ),
    "chain-neural": Experiment(
        "chain-neural", "chain/0", 102_400,
        "CCV's bids closest to Q* (against BB and V); " + _AUTHORS_NEURAL.format(gap="0.63"),
        learners=("ppo",), seeds=3, budgets=(), societies=(("ccv", 2, "ppo"),), baseline="ppo_monolithic",
        group="neural",
    ),
}

#: Names that run several experiments: ``all`` the tabular ones (seconds each), ``neural`` the PPO ones.
GROUPS: dict[str, tuple[str, ...]] = {
    g: tuple(n for n, e in EXPERIMENTS.items() if e.group == g) for g in ("all", "neural")
}


def experiment_names(names: str | Sequence[str]) -> list[str]:
    """Experiment names of ``names`` (experiments or :data:`GROUPS`), groups expanded, each once, in order.

    Raises
    ------
    ValueError
        For a name that is neither an experiment nor a group.
    """
    out: list[str] = []
    for name in [names] if isinstance(names, str) else names:
        if name not in EXPERIMENTS and name not in GROUPS:
            raise ValueError(f"unknown experiment {name!r}; choose from {sorted(EXPERIMENTS)} or a group "
                             f"{sorted(GROUPS)} ('all': the tabular ones, 'neural': the PPO ones).")
        out += [n for n in GROUPS.get(name, (name,)) if n not in out]
    return out


class Job(NamedTuple):
    """One training run of an experiment: the learner, its society and its env steps per seed."""

    learner: str
    mechanism: str  #: a registry name, or "monolithic" for the baseline (trained through "ccv", never auctioned)
    clones: int
    steps: int


def _experiment(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose one of {sorted(EXPERIMENTS)}.")
    return EXPERIMENTS[name]


def reproduction_jobs(
    name: str,
    steps: int | None = None,
    learners: Sequence[str] | None = None,
    mechanisms: Sequence[str] = BUILTINS,
    clones: Sequence[int] = (2, 1),
    budgets: Sequence[int] | None = None,
    societies: Sequence[tuple[str, int, str]] | None = None,
    baseline: str | None = None,
) -> dict[Job, list[str]]:
    """Every training run of experiment ``name``, with the studies it serves ("main", "sample_efficiency").

    The main grid (learners × mechanisms × clones at ``steps``, default the experiment's budget)
    first, then each budget's societies and baseline; a run that serves both studies is listed
    once (see :func:`reproduce` for the parameters). ``None`` is the experiment's own
    (:class:`Experiment`: a neural experiment's learner is ``ppo`` and its baseline ``ppo_monolithic``).
    """
    exp = _experiment(name)
    budget = exp.steps if steps is None else steps
    jobs: dict[Job, list[str]] = {}
    for learner in exp.learners if learners is None else learners:
        for mech in mechanisms:
            for k in clones:
                jobs.setdefault(Job(learner, mech, k, budget), []).append("main")
    for b in exp.budgets if budgets is None else budgets:
        for mech, k, learner in exp.societies if societies is None else societies:
            jobs.setdefault(Job(learner, mech, k, b), []).append("sample_efficiency")
        jobs.setdefault(Job(exp.baseline if baseline is None else baseline, "monolithic", 1, b), []).append(
            "sample_efficiency")
    return jobs


def reproduction_run(
    name: str,
    job: Job,
    studies: Sequence[str],
    seeds: int | Sequence[int] | None = None,
    episodes: int = 64,
    recorded: int = RECORDED,
    command: str | None = None,
    mdp: FiniteMDP | None = None,
) -> tuple[Assessment, LearningRecords]:
    """Train and measure one run of experiment ``name``: its ``runs.jsonl`` row and its checkpoint rows.

    The one home of a reproduction cell: :func:`reproduce` runs each of its jobs through it, and
    so does the sweep runner's ``reproduce`` kind (:mod:`verify.jobs`), one job per cell. ``mdp``
    is the experiment's task as the bid learners see it (:func:`bid_task`), built when not given.
    The run id is ``name:learner:mechanism:clones:steps``; ``seeds`` None is the experiment's count.
    """
    exp = _experiment(name)
    seeds = exp.seeds if seeds is None else seeds
    mdp = bid_task(exp.build()) if mdp is None else mdp
    mech = "ccv" if job.mechanism == "monolithic" else job.mechanism  # a baseline records "monolithic"
    a = run_experiment(mdp, mech, clones=job.clones, learner=job.learner, steps=job.steps, seeds=seeds,
                       episodes=episodes, recorded=recorded)
    cfg = a.result.config
    run = f"{name}:{cfg.learner}:{cfg.mechanism}:{cfg.clones}:{cfg.steps}"
    row = a.run_record(run, task=exp.task, experiment=name, studies=list(studies), budget=job.steps, command=command)
    return a, LearningRecords([row], a.checkpoint_records(run))


def _bar(progress: bool | None, total: int, desc: str) -> Any:
    """A tqdm bar over env steps, only when asked and on a terminal."""
    if not progress or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="step", unit_scale=True, desc=desc, leave=False)


def reproduce(
    name: str,
    seeds: int | Sequence[int] | None = None,
    steps: int | None = None,
    learners: Sequence[str] | None = None,
    mechanisms: Sequence[str] = BUILTINS,
    clones: Sequence[int] = (2, 1),
    recorded: int = RECORDED,
    episodes: int = 64,
    budgets: Sequence[int] | None = None,
    societies: Sequence[tuple[str, int, str]] | None = None,
    baseline: str | None = None,
    progress: bool | None = False,
    command: str | None = None,
    callback: Callable[[str], None] | None = None,
) -> LearningRecords:
    """Run one of :data:`EXPERIMENTS`: every mechanism × clones × learner, and the sample-efficiency study.

    Parameters
    ----------
    name : str
        One of :data:`EXPERIMENTS`: "bandit", "chain", "duality" (tabular learners), "bandit-neural",
        "chain-neural" (PPO bidders).
    seeds, episodes
        Passed to :func:`mechanism.train`; all seeds run in lockstep. ``seeds`` None: the
        experiment's (10 tabular, 5 bandit-neural, 3 chain-neural).
    steps : int, optional
        Env steps per seed of the main runs; defaults to the experiment's budget.
    budgets, societies, baseline
        The sample-efficiency study: each society (mechanism, clones, learner) and the monolithic
        ``baseline`` at every budget; ``budgets=()`` skips it. A run that serves both studies
        (same configuration and budget) is trained once. None: the experiment's (:data:`BUDGETS`
        for the tabular ones, none for the neural ones, whose society is PPO's and baseline
        ``ppo_monolithic``).
    recorded : int
        Checkpoints written per run (steps to ε is measured at every update regardless).
    progress : bool, optional
        A tqdm bar over env steps (only on a terminal).
    command : str, optional
        The command line recorded with every run (default: this call, in Python).
    callback : callable, optional
        Called with a one-line summary after every run.
    learners, mechanisms, clones
        The main grid (every combination, at ``steps``); ``learners`` None: the experiment's.

    Returns
    -------
    LearningRecords
        ``runs`` (one row per run) and ``checkpoints`` (one per run × seed × recorded checkpoint).
    """
    exp = _experiment(name)
    mdp = bid_task(exp.build())
    seeds = exp.seeds if seeds is None else seeds
    learners = exp.learners if learners is None else learners
    budgets = exp.budgets if budgets is None else budgets
    societies = exp.societies if societies is None else societies
    baseline = exp.baseline if baseline is None else baseline
    jobs = reproduction_jobs(name, steps, learners, mechanisms, clones, budgets, societies, baseline)
    command = command or (
        f"verify.experiments.reproduce({name!r}, seeds={seeds!r}, steps={steps!r}, learners={tuple(learners)!r}, "
        f"mechanisms={tuple(mechanisms)!r}, clones={tuple(clones)!r}, recorded={recorded!r}, episodes={episodes!r}, "
        f"budgets={tuple(budgets)!r}, societies={tuple(societies)!r}, baseline={baseline!r})"
    )
    bar = _bar(progress, sum(j.steps for j in jobs), name)
    runs: list[dict[str, Any]] = []
    checkpoints: list[dict[str, Any]] = []
    for job, studies in jobs.items():
        if bar is not None:
            bar.set_postfix_str(f"{job.learner} {job.mechanism} x{job.clones} {job.steps:,}")
        a, rec = reproduction_run(name, job, studies, seeds, episodes, recorded, command, mdp=mdp)
        runs += rec.runs
        checkpoints += rec.checkpoints
        if bar is not None:
            bar.update(job.steps)
        if callback is not None:
            callback(f"{rec.runs[0]['run']}: final max error median {np.median(a.max_error[-1]):.3f}")
    if bar is not None:
        bar.close()
    return LearningRecords(runs, checkpoints)
