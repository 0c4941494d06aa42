"""MentalRotation by computation: the exact optimum, and societies of bidders measured against it.

The task (:mod:`tasks.rotation`) is a finite, deterministic two-step MDP, so everything the paper
estimates by sampling can be computed here:

* **The optimum by brute force** (:func:`brute_force`): every one of the 6² = 36 primitive
  sequences is applied to every distorted start image and the frozen classifier is asked; the
  optimal mean reward is the share of images some sequence fixes. It is computed from the images,
  not from the MDP's reward table, so it checks the MDP's wiring: :func:`check_optimum` sets it
  against :func:`verify.solve` (V*(root i) = γ·max_{a,b} correct[i, a, b] and Q*(after a, b) =
  correct[i, a, b] at every state, exactly up to rounding).
* **A society's mean reward** (:func:`mean_reward`): the exact value of its final greedy policy
  (the primitive of the highest mean bid at every state), start·V^π/γ, since an episode pays once,
  at its second step (:func:`verify.solvers.evaluate_policies`). No rollout, no sampling error.
* **The mechanism's prediction** (:func:`fixed_point_reward`): the mean reward of the greedy policy
  of its truthful fixed point (:func:`verify.truthful_fixed_point`): the optimum for cloned ccv and
  vickrey (Q*), and the second-best fixed point's for solitary ccv, which credits the
  second-highest bid of the next state: 0 after a first step that only one primitive completes.
* **Generalisation** (neural bidders only): the networks trained on the training images bid on
  the held-out images' states (:func:`mechanism.learners.ppo.mean_bids_at`); the greedy policy of
  those bids is evaluated exactly on the held-out MDP. A tabular society has no bid at a state it
  never saw, so it has no held-out number.

:func:`run_study` runs every society of a :class:`StudyConfig` for every seed and returns a
:class:`RotationStudy`; :mod:`reports.studies.rotation` writes it as records, a table and figures.
The paper's number, :data:`PAPER_MEAN_REWARD` (cloned ccv on MNIST, Chang et al. 2020, §6), is a
reference, not a target: its digits, classifier and evaluation (sampled bids) differ.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mechanism import MECHANISMS
from mechanism.learners.ppo import mean_bids_at
from mechanism.train import TrainResult, train
from tasks.glyphs import apply_sequence
from tasks.rotation import RotationTask, rotation_task
from verify.fixed_point import truthful_fixed_point
from verify.solve import solve
from verify.solvers import evaluate_policies

__all__ = [
    "PAPER_MEAN_REWARD",
    "QUICK",
    "SOCIETIES",
    "BruteForce",
    "OptimumCheck",
    "RotationStudy",
    "Society",
    "SocietyRun",
    "StudyConfig",
    "brute_force",
    "check_optimum",
    "fixed_point_reward",
    "mean_reward",
    "run_society",
    "run_study",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: Cloned ccv's mean reward on MentalRotation in the paper (Chang et al. 2020, §6; PAPER.md).
PAPER_MEAN_REWARD = 0.933
#: Largest |V* − brute force| tolerated as rounding (values are γ·{0, 1} and {0, 1}).
OPTIMUM_TOL = 1e-12


@dataclass(frozen=True)
class Society:
    """A society of the study: mechanism, clones per primitive and learner (``"ppo"``: neural bidders)."""

    mechanism: str
    clones: int
    learner: str

    @property
    def neural(self) -> bool:
        """Whether its bidders are networks on the pixel features."""
        return self.learner == "ppo"

    @property
    def label(self) -> str:
        """``"ccv cloned, valuation"``."""
        kind = "cloned" if self.clones == 2 else "solitary" if self.clones == 1 else f"x{self.clones}"
        return f"{self.mechanism} {kind}, {self.learner}"


#: The study's societies: tabular valuation and policy-gradient bidders (cloned ccv and vickrey, solitary ccv)
#: and neural PPO bidders on pixels (cloned ccv, the paper's, and cloned vickrey).
SOCIETIES: tuple[Society, ...] = (
    Society("ccv", 2, "valuation"), Society("vickrey", 2, "valuation"), Society("ccv", 1, "valuation"),
    Society("ccv", 2, "policy_gradient"), Society("vickrey", 2, "policy_gradient"),
    Society("ccv", 1, "policy_gradient"),
    Society("ccv", 2, "ppo"), Society("vickrey", 2, "ppo"),
)


@dataclass(frozen=True)
class StudyConfig:
    """What a study runs: the images, the seeds, the budgets and the societies.

    ``steps`` is the env steps per seed of the tabular societies, ``neural_steps`` of the PPO ones;
    the learners' seeds are ``seed, seed + 1, …, seed + seeds − 1``; ``task_seed`` draws the images.
    The defaults run in about 50 s on one core with one BLAS thread (``OPENBLAS_NUM_THREADS=1``; measured
    2026-12: 48 s, the PPO societies 16-18 s each); with two BLAS threads on a loaded two-core machine, 206 s.
    """

    n_images: int = 100
    n_heldout: int = 200
    seeds: int = 5
    seed: int = 0
    steps: int = 51_200
    neural_steps: int = 51_200
    episodes: int = 32
    checkpoints: int = 10
    task_seed: int = 0
    societies: tuple[Society, ...] = SOCIETIES

    def __post_init__(self) -> None:
        for key in ("n_images", "n_heldout", "seeds", "steps", "neural_steps", "episodes", "checkpoints"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{key} must be a positive int; got {value!r}.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an int >= 0 (the first learner seed); got {self.seed!r}.")
        if not self.societies:
            raise ValueError("societies is empty; name at least one Society(mechanism, clones, learner).")

    @property
    def seed_tuple(self) -> tuple[int, ...]:
        """The learners' seeds."""
        return tuple(range(self.seed, self.seed + self.seeds))


#: The quick study (tests, a smoke run): few images, a few thousand steps, two seeds, one society of each kind.
QUICK = StudyConfig(
    n_images=20, n_heldout=40, seeds=2, steps=4_000, neural_steps=4_000, checkpoints=2,
    societies=(Society("ccv", 2, "valuation"), Society("ccv", 1, "valuation"), Society("ccv", 2, "ppo")),
)


# ---------------------------------------------------------------------------- exact analysis
@dataclass(frozen=True, eq=False)
class BruteForce:
    """Every primitive sequence on every start image.

    Attributes
    ----------
    table : bool array (n, 6, 6)
        ``table[i, a, b]``: the classifier is right on start image i after primitive a, then b.
    solved : bool array (n,)
        Some sequence fixes image i.
    best : int array (n, 2)
        The first (lexicographic) sequence that fixes it ((0, 0) when none does).
    inverse : bool array (n,)
        The exact inverse of the distortion (translate back, then rotate back) fixes it.
    """

    table: NDArray[np.bool_]
    solved: NDArray[np.bool_]
    best: IntArray
    inverse: NDArray[np.bool_]

    @property
    def optimum(self) -> float:
        """The optimal mean reward: the share of images some sequence fixes."""
        return float(self.solved.mean())

    @property
    def inverse_rate(self) -> float:
        """The mean reward of always playing the distortion's exact inverse."""
        return float(self.inverse.mean())


def brute_force(task: RotationTask) -> BruteForce:
    """Apply all 36 primitive sequences to every start image and classify (module docstring).

    Computed from the images and the classifier alone, never from ``task.mdp`` or ``task.correct``.
    """
    n = task.n_images
    start = task.images[:n]
    A = task.mdp.n_actions
    table = np.empty((n, A, A), dtype=bool)
    for a, b in itertools.product(range(A), repeat=2):
        table[:, a, b] = task.classifier.predict(apply_sequence(start, (a, b), task.angle, task.shift)) == task.labels
    flat = table.reshape(n, A * A)
    best = np.stack(np.divmod(np.argmax(flat, axis=1), A), axis=1).astype(np.intp)
    undo = np.array([1, 0, 3, 2, 5, 4])[task.distortion]  # (n, 2): undo of (rotation, translation)
    inverse = table[np.arange(n), undo[:, 1], undo[:, 0]]
    return BruteForce(table, np.asarray(flat.any(axis=1)), best, np.asarray(inverse, dtype=bool))


@dataclass(frozen=True)
class OptimumCheck:
    """:func:`verify.solve` against the brute force: their optimal mean rewards and the largest gap per state."""

    brute_force: float  #: share of images some sequence fixes
    solved: float  #: start·V*/γ
    max_gap: float  #: max over states and actions of |Q* − brute-force value|
    state: int  #: where it is attained
    action: int

    @property
    def agree(self) -> bool:
        """Whether every Q* equals its brute-force value up to :data:`OPTIMUM_TOL`."""
        return self.max_gap <= OPTIMUM_TOL


def check_optimum(task: RotationTask, brute: BruteForce | None = None) -> OptimumCheck:
    """Set the exact solution of the MDP against the brute force, state by state.

    Q*(root i, a) = γ·max_b table[i, a, b] and Q*(after a at i, b) = table[i, a, b]; a wrong reward
    or transition wiring of the MDP shows as a gap at the state it breaks.
    """
    brute = brute_force(task) if brute is None else brute
    mdp, n = task.mdp, task.n_images
    sol = solve(mdp)
    table = brute.table.astype(np.float64)
    expect = np.concatenate([mdp.gamma * table.max(axis=2), table.reshape(n * mdp.n_actions, mdp.n_actions)])
    gap = np.abs(sol.Q[: 7 * n] - expect)
    s, a = np.unravel_index(int(np.argmax(gap)), gap.shape)
    return OptimumCheck(brute.optimum, float(np.asarray(mdp.start) @ sol.V / mdp.gamma), float(gap[s, a]), int(s),
                        int(a))


def mean_reward(task: RotationTask, policies: Any) -> FloatArray:
    """Exact mean reward start·V^π/γ of every deterministic policy in ``policies`` (..., S), shape (...)."""
    mdp = task.mdp
    return evaluate_policies(mdp, policies) @ np.asarray(mdp.start) / mdp.gamma


def greedy_of(bids: FloatArray, clones: int, n_actions: int) -> IntArray:
    """The primitive of the highest bid per state (ties to the lowest primitive) of bids (..., S, A·clones)."""
    per_primitive = bids.reshape(*bids.shape[:-1], clones, n_actions).mean(axis=-2)
    return np.argmax(per_primitive, axis=-1).astype(np.intp)


def fixed_point_reward(task: RotationTask, society: Society) -> float:
    """Mean reward of the greedy policy of the mechanism's truthful fixed point (module docstring)."""
    bids = truthful_fixed_point(task.mdp, MECHANISMS[society.mechanism], society.clones)
    return float(mean_reward(task, greedy_of(bids, society.clones, task.mdp.n_actions)))


# ---------------------------------------------------------------------------- societies
@dataclass(frozen=True, eq=False)
class SocietyRun:
    """One society trained with every seed in lockstep, measured exactly.

    Shapes: N seeds, C checkpoints, S (S_h) states of the training (held-out) MDP.
    """

    society: Society
    seeds: tuple[int, ...]
    steps: int  #: env steps per seed
    hyperparameters: dict[str, Any]
    train: FloatArray  #: (N,) mean reward of the final greedy policy on the training images
    heldout: FloatArray | None  #: (N,) on the held-out images (neural societies), else None
    fixed_point: float  #: the mechanism's truthful fixed point's mean reward (training images)
    policy: IntArray  #: (N, S) final greedy policies
    heldout_policy: IntArray | None  #: (N, S_h)
    curve_steps: IntArray  #: (C,) env steps per seed at the checkpoints
    curve: FloatArray  #: (C, N) mean reward of the greedy policy at each checkpoint
    wall_s: float  #: training and measuring, every seed


def _hyperparameters(result: TrainResult) -> dict[str, Any]:
    """The learner's hyperparameters as JSON values (a feature callable by its repr)."""
    out: dict[str, Any] = {}
    for key, value in result.config.hyperparameters:
        ok = isinstance(value, int | float | str | bool | type(None)) or (
            isinstance(value, tuple) and all(isinstance(v, int | float | str) for v in value)
        )
        out[key] = (list(value) if isinstance(value, tuple) else value) if ok else repr(value)
    return out


def run_society(task: RotationTask, heldout: RotationTask, society: Society, config: StudyConfig) -> SocietyRun:
    """Train ``society`` on ``task`` for every seed of ``config`` and measure it (module docstring)."""
    t0 = time.perf_counter()
    steps = config.neural_steps if society.neural else config.steps
    extra: dict[str, Any] = {"features": task.feature_fn()} if society.neural else {}
    result = train(task.mdp, society.mechanism, clones=society.clones, learner=society.learner, steps=steps,
                   seeds=config.seed_tuple, checkpoints=config.checkpoints, episodes=config.episodes, progress=False,
                   **extra)
    curve = mean_reward(task, result.policy)
    held_policy: IntArray | None = None
    held: FloatArray | None = None
    if society.neural:
        held_policy = np.argmax(mean_bids_at(result.params, heldout.features), axis=-1).astype(np.intp)
        held = mean_reward(heldout, held_policy)
    return SocietyRun(
        society, config.seed_tuple, int(result.config.steps), _hyperparameters(result), curve[-1], held,
        fixed_point_reward(task, society), result.final_policy, held_policy, np.asarray(result.steps), curve,
        time.perf_counter() - t0,
    )


@dataclass(frozen=True, eq=False)
class RotationStudy:
    """Everything :func:`run_study` measured."""

    config: StudyConfig
    task: RotationTask
    heldout: RotationTask
    brute: BruteForce
    brute_heldout: BruteForce
    check: OptimumCheck
    runs: tuple[SocietyRun, ...]
    wall_s: float

    @property
    def classifier_accuracy(self) -> float:
        """The frozen classifier's accuracy on held-out upright glyphs."""
        return self.task.classifier.accuracy


def build_tasks(config: StudyConfig) -> tuple[RotationTask, RotationTask]:
    """The training and held-out tasks of ``config``."""
    return (rotation_task(config.n_images, config.task_seed, "train"),
            rotation_task(config.n_heldout, config.task_seed, "heldout"))


def run_study(config: StudyConfig = StudyConfig(), societies: Sequence[Society] | None = None) -> RotationStudy:
    """Build the tasks, brute-force and solve them, train and measure every society.

    Raises
    ------
    RuntimeError
        When :func:`verify.solve` and the brute force disagree (the MDP is wired wrong).
    """
    t0 = time.perf_counter()
    task, heldout = build_tasks(config)
    brute, brute_held = brute_force(task), brute_force(heldout)
    check = check_optimum(task, brute)
    if not check.agree:
        raise RuntimeError(
            f"verify.solve and the brute force disagree by {check.max_gap:g} at state {check.state}, action "
            f"{check.action}: the rotation MDP's rewards or transitions do not match its images."
        )
    runs = tuple(run_society(task, heldout, s, config) for s in (config.societies if societies is None else societies))
    return RotationStudy(config, task, heldout, brute, brute_held, check, runs, time.perf_counter() - t0)
