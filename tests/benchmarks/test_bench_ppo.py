"""Speed, accuracy and memory of the neural PPO bidders (issue 12).

Targets:

- a 4,096-step epoch of the chain society (2 primitives x 2 clones, PPO update included) at least
  35x faster than the authors' ~7 s on one core: under 0.2 s of CPU time, measured with the
  paper's settings (one PPO update per 4,096 env steps) and with Agora's (sixteen smaller ones);
- the chain (``tasks.make("chain/0")``), cloned ccv, Agora's defaults: the winning primitive's
  bids within 0.07 of Q* and the greedy policy optimal, in each of 3 seeds, each run within 2
  minutes of wall time;
- the bandit (``tasks.make("bandit/0")``), cloned vickrey: the best arm's bid within 0.02 of 0.8;
- one society of 10 seeds trains in under 500 MB (peak resident memory of a fresh process).

The machine these run on may be shared: every timing prints CPU time (``time.process_time``) next to
wall time, and the speed targets are asserted on CPU time. What Agora's settings change from the
paper's, and why (measured on the chain, cloned ccv, 3 seeds, max error of the winning bids):

- the concentration in log units (``concentration="log"``): κ grows geometrically, so bids get
  sharp (κ ~10⁴) within ~40k steps; in softplus units Adam grows κ by ~lr per update;
- one update every 256 env steps, not 4,096: PPO's clip moves a bid by about one sd per update, so
  sharp bids need many updates (max error after 409,600 steps with 4,096 and one pass: 0.22, one
  seed; 512 and two passes: 0.035-0.04 from 256k on; 256 and one pass: 0.03-0.04 from 77k on;
  each with dropout 0.2 and κ up to 10⁴);
- policy lr 3e-3 (paper 4e-5), value lr 1e-2, entropy 0.01 decaying to 0;
- dropout 0.1 per primitive per auction: without it the winning bids err by 0.005-0.015 but the
  losing primitive's die (0.26-0.33 against Q* ≈ 0.76; all pairs 0.5-0.74), with it all pairs
  are within 0.012-0.023 (10 seeds, 102,400 steps);
- κ capped at 3·10⁴: twins' noise biases ccv's credit by about 0.56 sd per step down the chain
  (dropout 0.1; cap 10⁴: max error 0.018-0.022; 3·10⁴: 0.015-0.02; 3 seeds, 204,800 steps).

Run: ``pytest tests/benchmarks/test_bench_ppo.py -m benchmark --benchmark-enable -s``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from typing import Any

import numpy as np
import pytest

import tasks
from mechanism import MECHANISMS, train
from mechanism.learners.ppo import PPO
from mechanism.learners.ppo_monolithic import MonolithicPPO
from verify.experiments import assess
from verify.noisy import BetaNoise, noisy_fixed_point

AUTHORS_EPOCH_S = 7.0  # the authors' code, one 4,096-step epoch of the chain with its PPO update (issue 12)
SPEEDUP = 35.0


def _timed(fn: Any) -> tuple[Any, float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - cpu, time.perf_counter() - wall


@pytest.mark.parametrize("settings", ["paper", "agora"])
@pytest.mark.parametrize("seeds", [1, 10])
def test_chain_epoch_time(benchmark: Any, settings: str, seeds: int) -> None:
    mdp, epochs = tasks.make("chain/0"), 8
    learner = PPO(settings=settings)

    def run() -> Any:
        return train(mdp, "ccv", clones=2, learner=learner, steps=4096 * epochs, seeds=seeds, checkpoints=1)

    _, cpu, wall = _timed(lambda: benchmark.pedantic(run, rounds=1, iterations=1))
    per_epoch = cpu / epochs / seeds
    print(f"\n{settings}, {seeds} seed(s): {cpu / epochs:.3f} s CPU ({wall / epochs:.3f} s wall) per 4,096-step epoch "
          f"of all seeds; {per_epoch:.3f} s CPU per seed-epoch, {AUTHORS_EPOCH_S / per_epoch:.0f}x the authors'")
    assert per_epoch < AUTHORS_EPOCH_S / SPEEDUP


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_chain_cloned_ccv_neural_within_0_07(benchmark: Any, seed: int) -> None:
    mdp = tasks.make("chain/0")

    def run() -> Any:
        return train(mdp, "ccv", clones=2, learner="ppo", steps=102_400, seeds=[seed], checkpoints=20)

    res, cpu, wall = _timed(lambda: benchmark.pedantic(run, rounds=1, iterations=1))
    a = assess(res, mdp)
    err, everywhere = float(a.max_error_optimal[-1, 0]), float(a.max_error[-1, 0])
    kappa = res.bid_params["concentration"][-1, 0, :5]
    # The noisy fixed point of the run's own noise: every bidder at the median learned κ (verify.noisy).
    noisy = noisy_fixed_point(mdp, MECHANISMS["ccv"], 2, BetaNoise(float(np.median(kappa)))).Q
    vs_noisy = float(np.abs(res.primitive_bids[-1, 0, :5] - noisy[:5]).max())
    print(f"\nseed {seed}: winning bids' max error {err:.4f} (all pairs {everywhere:.4f}; against the noisy fixed "
          f"point at the median κ {np.median(kappa):.0f}: {vs_noisy:.4f}), start value {a.value[-1, 0]:.4f} / V* "
          f"{a.v_star:.4f}; {cpu:.1f} s CPU, {wall:.1f} s wall; steps to 0.05: {a.steps_to_optimal[0.05][0]}")
    assert err <= 0.07
    assert a.value[-1, 0] == pytest.approx(a.v_star, abs=1e-9)  # the greedy policy is optimal
    assert wall < 120.0


def test_bandit_cloned_vickrey_neural_best_arm_within_0_02(benchmark: Any) -> None:
    mdp = tasks.make("bandit/0")
    res = benchmark.pedantic(lambda: train(mdp, "vickrey", clones=2, learner="ppo", steps=51_200, seeds=5),
                             rounds=1, iterations=1)
    bids = res.primitive_bids[-1][:, 0]  # (seeds, arms) at the one non-terminal state
    print("\nbandit cloned vickrey, best arm's bid per seed:", bids[:, 3].round(4), "seed 0:", bids[0].round(3))
    assert (np.argmax(bids, axis=1) == 3).all()
    assert np.abs(bids[:, 3] - 0.8).max() <= 0.02


def test_ten_seeds_train_in_under_500_mb() -> None:
    script = textwrap.dedent(
        """
        import json, resource, time
        import tasks
        from mechanism import MECHANISMS, train
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.process_time()
        train(tasks.make("chain/0"), "ccv", clones=2, learner="ppo", steps=102_400, seeds=10, checkpoints=20)
        print(json.dumps({"peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "base_kb": base,
                          "cpu": time.process_time() - t}))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=600)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    peak, base = report["peak_kb"] / 1024, report["base_kb"] / 1024
    print(f"\n10 seeds x 102,400 steps: peak RSS {peak:.0f} MB (interpreter and imports {base:.0f} MB), "
          f"{report['cpu']:.1f} s CPU")
    assert peak < 500.0


def test_paper_settings_and_monolithic_baseline_for_comparison(benchmark: Any) -> None:
    # Reported, not asserted: the paper's settings on the same budget as Agora's, and the monolithic
    # PPO baseline (its "bids" are its Q critic).
    mdp = tasks.make("chain/0")
    paper = benchmark.pedantic(
        lambda: train(mdp, "ccv", clones=2, learner=PPO(settings="paper"), steps=102_400, seeds=3), rounds=1,
        iterations=1,
    )
    mono = train(mdp, "ccv", learner=MonolithicPPO(), steps=102_400, seeds=3)
    for name, res in (("paper settings", paper), ("monolithic PPO", mono)):
        a = assess(res, mdp)
        print(f"\n{name}: winning bids' max error {a.max_error_optimal[-1].round(3)}, start value "
              f"{a.value[-1].round(4)} / V* {a.v_star:.4f}")
