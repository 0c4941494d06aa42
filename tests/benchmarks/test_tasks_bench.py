"""Speed and memory of task generation at the benchmark scale: S = 10^6, A = 4, 8 successors.

Run: ``pytest tests/benchmarks/test_tasks_bench.py -m benchmark --benchmark-enable``.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

from tasks import random_mdp, reachable

S, A, K = 10**6, 4, 8


def test_random_sparse_mdp_million_states(benchmark):
    tracemalloc.start()
    t0 = time.perf_counter()
    mdp = benchmark.pedantic(random_mdp, args=(S, A), kwargs={"successors": K, "sparse": True}, rounds=1)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"random_mdp({S}, {A}, k={K}, sparse): {seconds:.2f} s, peak {peak / 2**30:.2f} GiB")
    assert mdp.kernel.nnz == S * A * K
    np.testing.assert_array_equal(np.diff(mdp.kernel.indptr[:1000]), K)
    assert seconds < 10.0
    assert peak < 2 * 2**30


def test_reachable_million_states(benchmark):
    mdp = random_mdp(S, A, successors=K, sparse=True, seed=1)
    t0 = time.perf_counter()
    mask = benchmark.pedantic(reachable, args=(mdp,), rounds=1)
    seconds = time.perf_counter() - t0
    print(f"reachable on S = {S}: {seconds:.2f} s")
    assert mask.all()  # uniform start over every state
    assert seconds < 10.0
