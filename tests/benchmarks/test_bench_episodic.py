"""γ = 1 at scale: the properness check at construction, and the weighted problem (issue 11 §3).

Run: ``pytest tests/benchmarks/test_bench_episodic.py -m benchmark --benchmark-enable -s``.

Measured on a shared 2-core machine, sparse, 10^5 states, 4 actions, 8 random successors plus a
5% chance of ending per step: the end-component check (``tasks.episodic.check_proper``) 0.11 s
(median); building the FiniteMDP (0.5 s, the check included), the expected steps ξ by policy
iteration and the change of units 2.6 s in all. A lazy chain of 10^5 states (ξ_max = 2·10^5) takes
0.4 s for ξ (a sparse LU without fill-in).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import tasks
from tasks.episodic import check_proper
from verify.episodic import episodic_problem


def episodic_random(S: int = 100_000, A: int = 4, k: int = 8, end: float = 0.05) -> tasks.FiniteMDP:
    """A sparse random MDP whose every action ends the episode with probability ``end`` (state S − 1 terminal)."""
    base = tasks.random_mdp(S, A, gamma=0.9, successors=k, sparse=True, seed=0)
    rows = np.arange(S * A)
    K = sp.csr_array(sp.csr_array(base.kernel) * (1.0 - end)) + sp.csr_array(
        (np.full(S * A, end), (rows, np.full(S * A, S - 1))), shape=(S * A, S)
    )
    K = sp.csr_array(sp.diags_array((rows // A != S - 1).astype(float)) @ K) + sp.csr_array(
        (np.ones(A), (rows[-A:], np.full(A, S - 1))), shape=(S * A, S)
    )
    R = np.array(base.R)
    R[-1] = 0.0
    return tasks.FiniteMDP(K, R, 1.0, terminal=np.arange(S) == S - 1)


def test_properness_check_sparse_hundred_thousand_states(benchmark: pytest.FixtureRequest) -> None:
    mdp = episodic_random()
    benchmark.pedantic(check_proper, args=(mdp.kernel, mdp.available, mdp.terminal), rounds=3, iterations=1)
    print(f"\ncheck_proper, S = 10^5 sparse: median {benchmark.stats.stats.median:.3f} s")
    assert benchmark.stats.stats.median < 1.0


def test_weighted_problem_sparse_hundred_thousand_states(benchmark: pytest.FixtureRequest) -> None:
    mdp = episodic_random()
    R = np.array(mdp.R)

    def build() -> float:
        fresh = tasks.FiniteMDP(mdp.P, R, 1.0, terminal=mdp.terminal)  # a new MDP: no cached problem
        return episodic_problem(fresh, R).g_hi

    g = benchmark.pedantic(build, rounds=3, iterations=1)
    print(f"\nexpected steps and units, S = 10^5 sparse: median {benchmark.stats.stats.median:.3f} s, modulus {g:.4f}")
    assert g == pytest.approx(0.95, abs=1e-6)
