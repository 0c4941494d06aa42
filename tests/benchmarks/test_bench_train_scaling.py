"""Training cost per environment step does not grow with the size of the MDP (issue 9).

``train`` shares the simulator's transition sampler (never densifies a sparse kernel) and every
learner updates only the cells a round visited, so the cost of a step depends on the bidders per
auction, not on S·A. Run: ``pytest tests/benchmarks/test_bench_train_scaling.py -m benchmark
--benchmark-enable -s``. The two per-step costs are measured side by side in one run.
"""

import time

import tasks
from mechanism import train

STEPS, SEEDS = 64_000, 10


def _per_step(task: str, learner: str) -> float:
    mdp = tasks.make(task)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        train(mdp, "ccv", clones=2, learner=learner, steps=STEPS, seeds=SEEDS, checkpoints=1)
        best = min(best, time.perf_counter() - t0)
    return best / (STEPS * SEEDS)


def test_taxi_step_costs_within_3x_of_the_chain(benchmark):
    """taxi/0: 501 states, 12 bidders per auction; chain/0: 6 states, 4 bidders."""

    def ratios():
        return {
            learner: (_per_step("chain/0", learner), _per_step("taxi/0", learner))
            for learner in ("valuation", "policy_gradient")
        }

    out = benchmark.pedantic(ratios, rounds=1, iterations=1)
    for learner, (chain, taxi) in out.items():
        print(f"{learner}: chain {chain * 1e9:.0f} ns, taxi {taxi * 1e9:.0f} ns per env step, ratio {taxi / chain:.2f}")
    assert out["valuation"][1] <= 3.0 * out["valuation"][0]


def test_sparse_society_of_a_hundred_thousand_states_trains(benchmark):
    mdp = tasks.random_mdp(10**5, 4, successors=8, sparse=True, seed=0)
    res = benchmark.pedantic(
        lambda: train(mdp, "ccv", clones=2, steps=64_000, seeds=2, checkpoints=1, time_limit=100),
        rounds=1,
        iterations=1,
    )
    assert res.final_bids.shape == (2, 10**5, 8)
    print(f"sparse S = 1e5, 64k steps x 2 seeds: {benchmark.stats.stats.max:.2f} s")
