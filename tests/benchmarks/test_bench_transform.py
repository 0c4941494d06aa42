"""No slow corner around the solvers (issue 11 §4): rescaling rewards, and the fixed points' selection step.

Run: ``pytest tests/benchmarks/test_bench_transform.py -m benchmark --benchmark-enable -s``.

Both used to carry a linear solver of their own; both now call the project's one policy
evaluator and solver (:func:`verify.solvers.evaluate`, :func:`verify.solve`). Measured on a
shared 2-core machine (medians):

- ``verify.rescale_rewards`` on a sparse random MDP with 10^4 states (4 actions, 8 successors,
  γ = 0.99): 0.04 s (target < 1 s). The removed ``tasks.rescale_rewards`` solved Q* by its own policy
  iteration with ``scipy.sparse.linalg.spsolve``: 0.5-1.2 s at 1,000 states, 4-12.5 s at 2,000
  (fill-in), against 0.002-0.004 s for ``verify.solve`` on the same MDP.
- ``verify.fixed_point.solve_fixed_point`` on a sparse random MDP with 3,000 states (solitary ccv,
  γ = 0.99): 0.03-0.05 s, where the selection step's own ``spsolve`` made it 6.3-8.7 s (the same
  25 sweeps, the same fixed point to 2e-12); with 5% terminal states 0.3 s against 35-46 s.
"""

from __future__ import annotations

import numpy as np
import pytest

import tasks
import verify
from mechanism import MECHANISMS
from verify.fixed_point import solve_fixed_point


def test_rescale_rewards_sparse_ten_thousand_states(benchmark: pytest.FixtureRequest) -> None:
    mdp = tasks.random_mdp(10_000, 4, gamma=0.99, successors=8, seed=0, sparse=True)
    out = benchmark.pedantic(verify.rescale_rewards, args=(mdp, 0.0, 1.0), rounds=3, iterations=1)
    Q = verify.solve(out, tol=1e-10).Q
    assert abs(Q.min()) < 1e-8
    assert abs(Q.max() - 1.0) < 1e-8
    print(f"\nrescale_rewards, S = 10^4 sparse: median {benchmark.stats.stats.median:.3f} s")
    assert benchmark.stats.stats.median < 1.0


def test_fixed_point_selection_step_sparse_three_thousand_states(benchmark: pytest.FixtureRequest) -> None:
    mdp = tasks.random_mdp(3000, 4, gamma=0.99, successors=8, seed=0, sparse=True)
    fp = benchmark.pedantic(solve_fixed_point, args=(mdp, MECHANISMS["ccv"], 1), rounds=3, iterations=1)
    assert fp.error_bound <= 1e-10
    assert fp.iterations == 25  # the first selection step is certified: no sweeps beyond the first block
    print(f"\nsolitary ccv fixed point, S = 3000 sparse: median {benchmark.stats.stats.median:.3f} s")
    assert benchmark.stats.stats.median < 1.0
    sol = verify.solve(mdp)
    cloned = solve_fixed_point(mdp, MECHANISMS["ccv"], 2)
    assert np.abs(cloned.Q - sol.Q).max() <= cloned.error_bound + sol.error_bound
