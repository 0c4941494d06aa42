"""Learning experiments against the exact solution: how close do learned bids get to Q*?

:func:`mechanism.train` records bids and greedy policies at checkpoints without solving the MDP
(``mechanism`` may not import ``verify``). :func:`assess` wraps a :class:`~mechanism.TrainResult`
with the exact solution (:func:`verify.solve`), the mechanism's truthful fixed point
(:func:`verify.fixed_point.truthful_fixed_point`) and the exact value of every recorded greedy
policy (:func:`verify.evaluate`), and measures, per checkpoint and seed:

* the error of every primitive's mean bid (averaged over its clones) against Q*(s, i); its max
  and mean over the **reachable, non-terminal states only** (``tasks.reachable`` from ``start``;
  terminal states are never auctioned, unreachable ones never visited), over all primitives and
  over the optimal primitive argmax_i Q*(s, i) alone (the bid that sets the credit);
* the same max error against the mechanism's own truthful fixed point (for solitary ccv the
  second-best fixed point, which differs from Q*; for env_reward the one-step reward);
* the spread of the bids across seeds (standard deviation) and across clones (max − min);
* the start value of the greedy policy, start·V^π, against start·V*;
* the env steps from which on the max error stays <= ε (ε = 0.05 and 0.01), −1 if it never does.

:func:`reproduce` runs the paper's bandit, chain and duality experiments for every built-in
mechanism, cloned and solitary, with both bid learners, and returns tidy rows (one per mechanism ×
clones × learner × seed × checkpoint). Bid learners bid in (0, 1) (the paper's range), so a task
whose Q* leaves (0, 1) (duality) is used through ``tasks.rescale_rewards(mdp, 0.1, 0.9)`` (see
:func:`bid_task`): Q* of the rescaled task is an affine image of the original (same optimal
policy), and every error is measured against the rescaled Q*.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

import tasks
from mechanism import BUILTINS, MECHANISMS
from mechanism.train import TrainResult, train
from tasks.mdp import FiniteMDP
from verify.fixed_point import FixedPointError, truthful_fixed_point
from verify.solve import solve
from verify.solvers import evaluate

__all__ = [
    "BID_RANGE",
    "EPSILONS",
    "EXPERIMENTS",
    "Assessment",
    "Experiment",
    "assess",
    "bid_task",
    "reproduce",
    "steps_until",
]

FloatArray = NDArray[np.float64]

#: The thresholds of "env steps until max error <= ε".
EPSILONS: tuple[float, ...] = (0.05, 0.01)
#: Q* of every task is mapped onto this range for the bid learners (inside the Beta's (0, 1)).
BID_RANGE: tuple[float, float] = (0.1, 0.9)


def bid_task(mdp: FiniteMDP) -> FiniteMDP:
    """``mdp`` as the bid learners see it: as is when Q* lies in (0, 1), else rescaled onto :data:`BID_RANGE`.

    Only reachable, non-terminal states count (terminal states are never auctioned). The bandit
    and the chain keep the paper's units; duality (Q* from −99 to 50) is rescaled.
    """
    Q = solve(mdp).Q[tasks.reachable(mdp) & ~np.asarray(mdp.terminal)]
    if Q.size and Q.min() > 0.0 and Q.max() < 1.0:
        return mdp
    return tasks.rescale_rewards(mdp, *BID_RANGE)


def steps_until(steps: NDArray[np.integer], error: FloatArray, eps: float) -> NDArray[np.int64]:
    """Env steps from which on ``error`` stays <= eps, per seed; −1 when it is above eps at the end.

    Parameters
    ----------
    steps : int array (C,)
    error : array (C, N)

    Returns
    -------
    int array (N,)
    """
    ok = error <= eps
    # The last checkpoint that fails; the next one is where the error settles below eps.
    fails = np.where(~ok, np.arange(len(steps))[:, None], -1).max(axis=0)
    out = np.where(fails + 1 < len(steps), np.asarray(steps)[np.minimum(fails + 1, len(steps) - 1)], -1)
    return out.astype(np.int64)


@dataclass(frozen=True, eq=False)
class Assessment:
    """A training run measured against the exact solution (see the module docstring).

    Shapes: C checkpoints, N seeds, S states, A primitives.
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
    value: FloatArray  #: (C, N) start·V^π of the greedy policy
    v_star: float  #: start·V*
    steps_to: dict[float, NDArray[np.int64]]  #: ε -> (N,) env steps until max error stays <= ε

    def rows(self, every: bool = True) -> list[dict[str, Any]]:
        """Tidy rows, one per seed × checkpoint (only the final checkpoint when ``every`` is False)."""
        from verify.records import environment

        res, cfg = self.result, self.result.config.as_dict()
        env = environment()
        bids = res.primitive_bids
        out = []
        C, N = self.max_error.shape
        for c in range(C) if every else [C - 1]:
            for n in range(N):
                row: dict[str, Any] = {
                    **cfg,
                    "seed": cfg["seeds"][n],
                    "checkpoint": c,
                    "env_steps": int(res.steps[c]),
                    "final": c == C - 1,
                    "max_error": float(self.max_error[c, n]),
                    "mean_error": float(self.mean_error[c, n]),
                    "max_error_optimal": float(self.max_error_optimal[c, n]),
                    "max_error_fixed_point": float(self.max_error_fixed_point[c, n]),
                    "max_spread_clones": float(self.spread_clones[c, n][self.reachable].max()),
                    "max_spread_seeds": float(self.spread_seeds[c][self.reachable].max()),
                    "value": float(self.value[c, n]),
                    "v_star": self.v_star,
                    "regret": self.v_star - float(self.value[c, n]),
                    "policy": res.policy[c, n].tolist(),
                    "bids": bids[c, n].tolist(),
                    "q_star": self.Q.tolist(),
                    "reachable": self.reachable.tolist(),
                    "start_state": int(np.argmax(np.asarray(self.mdp.start))),
                }
                for eps, hit in self.steps_to.items():
                    row[f"steps_to_{eps:g}"] = int(hit[n])
                row.pop("seeds")
                out.append({**row, **env})
        return out


def assess(result: TrainResult, mdp: FiniteMDP, epsilons: Sequence[float] = EPSILONS) -> Assessment:
    """Measure ``result`` (trained on ``mdp``) against the exact solution; see the module docstring.

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
    err = bids - Q
    abs_live = np.abs(err)[:, :, live, :]  # (C, N, S_live, A)
    best = np.argmax(Q, axis=1)
    opt = np.abs(np.take_along_axis(err, best[None, None, :, None], axis=3)[..., 0])[:, :, live]
    fixed: FloatArray | None = None
    fp_err = np.full((C, N), np.nan)
    cfg = result.config
    if cfg.mechanism in MECHANISMS:
        try:
            fp = truthful_fixed_point(mdp, MECHANISMS[cfg.mechanism], cfg.clones)
            fixed = fp.reshape(S, cfg.clones, A).mean(axis=1)
            fp_err = np.abs(bids - fixed)[:, :, live, :].max(axis=(2, 3))
        except FixedPointError:
            fixed = None
    M = result.bids.shape[-1]
    per_clone = result.bids.reshape(C, N, S, M // A, A)
    start = np.asarray(mdp.start)
    cache: dict[bytes, float] = {}
    value = np.empty((C, N))
    for c in range(C):
        for n in range(N):
            pi = result.policy[c, n]
            key = pi.tobytes()
            if key not in cache:
                cache[key] = float(start @ evaluate(mdp, pi))
            value[c, n] = cache[key]
    max_error = abs_live.max(axis=(2, 3))
    return Assessment(
        result=result,
        mdp=mdp,
        Q=Q,
        fixed_point=fixed,
        reachable=live,
        error=err,
        max_error=max_error,
        mean_error=abs_live.mean(axis=(2, 3)),
        max_error_optimal=opt.max(axis=2),
        max_error_fixed_point=fp_err,
        spread_seeds=bids.std(axis=1),
        spread_clones=per_clone.max(axis=3) - per_clone.min(axis=3),
        value=value,
        v_star=float(start @ sol.V),
        steps_to={float(e): steps_until(result.steps, max_error, float(e)) for e in epsilons},
    )


@dataclass(frozen=True)
class Experiment:
    """One of the paper's learning experiments: the task and the budget that runs it in seconds."""

    name: str
    build: Callable[[], FiniteMDP]
    steps: int
    paper: str  #: what the paper found (PAPER.md)


#: The paper's experiments (Chang et al. 2020, §7; PAPER.md "Experiments and numbers").
EXPERIMENTS: dict[str, Experiment] = {
    "bandit": Experiment(
        "bandit",
        lambda: tasks.bandit(4),
        20_000,
        "cloned Vickrey closest to Q*; solitary bids more spread; first price shades below Q*; "
        "environment reward does not pin the bids",
    ),
    "chain": Experiment("chain", lambda: tasks.chain(), 50_000, "CCV's bids closest to Q* (against BB and V)"),
    "duality": Experiment(
        "duality", lambda: tasks.duality(), 50_000, "the optimal policy alternates 0 <-> 1 (values outside (0, 1))"
    ),
}


def reproduce(
    name: str,
    seeds: int | Sequence[int] = 10,
    steps: int | None = None,
    learners: Sequence[str] = ("valuation", "policy_gradient"),
    mechanisms: Sequence[str] = BUILTINS,
    clones: Sequence[int] = (2, 1),
    checkpoints: int = 20,
    episodes: int = 64,
    progress: bool | None = False,
) -> tuple[list[Assessment], list[dict[str, Any]]]:
    """Run one of :data:`EXPERIMENTS` for every mechanism × clones × learner, all seeds in lockstep.

    Parameters
    ----------
    name : str
        "bandit", "chain" or "duality".
    seeds, steps, checkpoints, episodes
        Passed to :func:`mechanism.train`; ``steps`` defaults to the experiment's budget.

    Returns
    -------
    assessments : list of Assessment
        One per configuration.
    rows : list of dict
        Tidy rows, one per mechanism × clones × learner × seed × checkpoint, each carrying the
        configuration, the seed and the versions.
    """
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose one of {sorted(EXPERIMENTS)} (or 'all').")
    exp = EXPERIMENTS[name]
    mdp = bid_task(exp.build())
    budget = exp.steps if steps is None else steps
    assessments: list[Assessment] = []
    rows: list[dict[str, Any]] = []
    for learner in learners:
        for mech in mechanisms:
            for k in clones:
                res = train(
                    mdp,
                    mech,
                    clones=k,
                    learner=learner,
                    steps=budget,
                    seeds=seeds,
                    checkpoints=checkpoints,
                    episodes=episodes,
                    progress=progress,
                )
                a = assess(res, mdp)
                assessments.append(a)
                rows.extend({"experiment": name, **r} for r in a.rows())
    return assessments, rows
