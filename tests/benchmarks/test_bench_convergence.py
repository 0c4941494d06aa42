"""Learners that converge, full size (issue 10).

Run: ``pytest tests/benchmarks/test_bench_convergence.py -m benchmark --benchmark-enable -s``.

The held-out MDP is ``tasks.random_mdp(8, 3, successors=3, gamma=0.9, seed=10)`` with rewards
rescaled into [0, 1]: the learners' defaults were chosen on seeds 1-5 of the same family, never on
this one. Errors are measured here, from :func:`verify.solve`, so that the targets do not depend on
the measurement code of :mod:`verify.experiments`.
"""

import time

import numpy as np
import pytest

import tasks
import verify
from mechanism import MECHANISMS, TrainResult, train
from verify.claims import bids_converge
from verify.experiments import EXPERIMENTS, bid_task

HELD_OUT = 10
STEPS, SEEDS, EPISODES = 1_000_000, 10, 128
TOL = 0.01


def _errors(res: TrainResult, mdp: tasks.FiniteMDP) -> tuple[np.ndarray, np.ndarray]:
    """Per checkpoint and seed, max |bid − Q*| over reachable non-terminal (state, primitive); per seed, the
    largest V*(s) − V^π(s) of the final greedy policy over the same states."""
    sol = verify.solve(mdp)
    live = tasks.reachable(mdp) & ~np.asarray(mdp.terminal)
    error = np.abs(res.primitive_bids - sol.Q)[:, :, live].max(axis=(2, 3))
    gap = np.array([(sol.V - verify.evaluate(mdp, pi))[live].max() for pi in res.final_policy])
    return error, gap


def _steps_to(res: TrainResult, error: np.ndarray, eps: float) -> np.ndarray:
    """Per seed, the first checkpoint after which the error stays below eps (−1: never)."""
    last_bad = np.where(error >= eps, np.arange(len(res.steps))[:, None], -1).max(axis=0)
    return np.where(last_bad + 1 < len(res.steps), res.steps[np.minimum(last_bad + 1, len(res.steps) - 1)], -1)


@pytest.fixture(scope="module")
def held_out() -> tasks.FiniteMDP:
    return verify.rescale_rewards(tasks.random_mdp(8, 3, successors=3, gamma=0.9, seed=HELD_OUT), 0.0, 1.0)


@pytest.mark.parametrize("mechanism", ["ccv", "vickrey"])
def test_held_out_random_mdp_within_0_01_in_every_seed(benchmark, held_out, mechanism):
    # Measured (seed 10): max error per seed 0.0036-0.0093, value gap 0 in every seed, ~7.5 s for 10 seeds.
    res = benchmark.pedantic(
        lambda: train(held_out, mechanism, clones=2, steps=STEPS, seeds=SEEDS, episodes=EPISODES, checkpoints=10),
        rounds=1,
        iterations=1,
    )
    error, gap = _errors(res, held_out)
    print(f"\n{mechanism} x2, held-out random MDP, {int(res.steps[-1])} steps x {SEEDS} seeds in "
          f"{benchmark.stats.stats.max:.1f} s: max |bid - Q*| per seed {error[-1].round(4).tolist()}, "
          f"V* - V^pi per seed {gap.round(5).tolist()}, steps to 0.01 {_steps_to(res, error, TOL).tolist()}")
    assert (error[-1] <= TOL).all()
    assert (gap <= TOL).all()
    assert benchmark.stats.stats.max < 30.0


@pytest.mark.parametrize("episodes", [32, 64])  # train's default, and reproduce()'s
def test_duality_reaches_q_star_at_its_experiment_budget(episodes):
    # Duality at γ = 0.99, rescaled like the bid learners see it: deterministic, so the Kesten step stays on
    # its upper envelope while the values rise. Measured at 50k steps: 0.0004 (32 episodes), 0.004 (64).
    mdp = bid_task(tasks.make("duality/0"))
    res = train(mdp, "ccv", clones=2, steps=EXPERIMENTS["duality"].steps, episodes=episodes)
    error, gap = _errors(res, mdp)
    print(f"\nduality, ccv x2, {EXPERIMENTS['duality'].steps} steps, {episodes} episodes: max error per seed "
          f"{error[-1].round(5).tolist()}, value gap {gap.max():.2g}")
    assert (error[-1] <= TOL).all()
    assert (gap <= TOL).all()


def test_sample_efficiency_ratio_does_not_depend_on_the_budget():
    # At matched schedules (both in env steps, the same ε_t, steps and exploration budget) the society's
    # steps to 0.01 over Q-learning's stays near 1 whatever the run length; with ε annealed over the run
    # fraction it was 21.7x at 50k, 75.9x at 200k, 362.9x at 800k (issue 10). Measured: 1.04, 0.78.
    mdp = verify.rescale_rewards(tasks.random_mdp(4, 2, successors=2, gamma=0.9, seed=3), 0.0, 1.0)
    ratios = []
    for steps in (50_000, 200_000):
        marks = [int(x) for x in np.unique(np.geomspace(640, steps, 60).astype(int) // 32 * 32)]
        kw = dict(steps=steps, seeds=10, checkpoints=marks)
        society = train(mdp, "ccv", clones=2, **kw)
        q = train(mdp, "ccv", learner="q_learning", **kw)
        hit_s = _steps_to(society, _errors(society, mdp)[0], TOL)
        hit_q = _steps_to(q, _errors(q, mdp)[0], TOL)
        ratios.append(np.median(hit_s[hit_s > 0]) / np.median(hit_q[hit_q > 0]))
    print("\nsteps to 0.01, society / q-learning at 50k and 200k:", np.round(ratios, 2).tolist())
    assert max(ratios) / min(ratios) < 2.0
    assert max(ratios) < 3.0


@pytest.mark.parametrize(
    ("name", "clones", "holds"),
    [("ccv", 2, True), ("vickrey", 2, True), ("ccv", 1, True), ("env_reward", 2, False)],
)
def test_bids_converge_verdicts_at_the_default_budget(name, clones, holds):
    t0 = time.perf_counter()
    v = bids_converge(MECHANISMS[name], clones)
    seconds = time.perf_counter() - t0
    verdict = "holds" if v.holds else "fails"
    print(f"\nbids_converge {name} x{clones}: {verdict}, {v.examples_tried} MDPs, {seconds:.1f} s")
    assert v.holds == holds, v.counterexample
    assert seconds < 60.0
