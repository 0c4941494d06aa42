"""Speed of the noisy fixed point (verify.noisy): the quadrature, one fixed point, the chain's critical κ.

Run: ``pytest tests/benchmarks/test_bench_noisy.py -m benchmark --benchmark-enable``. Measured on
a 2-core machine: about 2 ms for the expected order statistics of the chain's 5 live states
(2 primitives × 2 clones, Beta κ = 10⁴), 0.05-0.15 s for one certified noisy fixed point of the
chain, about 1.5 s for its critical κ under cloned vickrey.
"""

from __future__ import annotations

import numpy as np
import pytest

import tasks
from mechanism import MECHANISMS
from verify.noisy import BetaNoise, critical_noise, expected_order_statistics, noisy_fixed_point


def test_expected_order_statistics_of_a_chain_profile(benchmark: pytest.FixtureRequest) -> None:
    means = np.random.default_rng(0).uniform(0.76, 0.8, size=(5, 2))
    first, _ = benchmark(expected_order_statistics, means, BetaNoise(1e4), copies=2)
    assert np.all(first >= means.max(axis=1))
    assert benchmark.stats.stats.median < 0.05


def test_one_noisy_fixed_point(benchmark: pytest.FixtureRequest) -> None:
    mdp = tasks.chain(6)
    fp = benchmark(noisy_fixed_point, mdp, MECHANISMS["vickrey"], 2, BetaNoise(1000.0))
    assert fp.error_bound <= 1e-10
    assert benchmark.stats.stats.median < 2.0


def test_critical_concentration_of_the_chain(benchmark: pytest.FixtureRequest) -> None:
    mdp = tasks.chain(6)
    result = benchmark.pedantic(critical_noise, args=(mdp, MECHANISMS["vickrey"], 2, "beta"), rounds=1, iterations=1)
    assert 2_000 <= result.threshold <= 3_000
    assert benchmark.stats.stats.max < 20.0
