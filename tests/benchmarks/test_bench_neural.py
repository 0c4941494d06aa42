"""Forward + backward of the paper's bidder networks, all at once, in float64 and float32.

Setting of issue 12: the chain society, 2 primitives x 2 clones x 10 seeds, one 4,096-step epoch.
Clones share their primitive's network, so there are N = 10 x 2 = 20 networks, each seeing
B = 2 x 4,096 = 8,192 bids (one per clone per step) on one-hot states (6 inputs), through a
[16]-hidden tanh MLP and the Beta head; one pass computes log-probabilities and entropies, the
PPO-clip and entropy losses and every parameter's gradient. Two ways to feed the states:

- ``per-sample``: each sample's one-hot row goes through the MLP (any features would do);
- ``distinct-states``: the MLP runs on the 6 one-hot rows once and each sample picks its row
  (:mod:`mechanism.neural.lookup`); same gradients (tests/test_neural_grad.py), far less work.

Each is timed on the whole batch at once and as the paper's 32 minibatches of 256 samples per
network. Reported, not asserted: the times, the float32/float64 ratio, and (in CPU time, which a
loaded machine inflates less than wall time) the split between the MLP and the Beta head.

Run: ``OPENBLAS_NUM_THREADS=1 taskset -c 0 pytest tests/benchmarks/test_bench_neural.py -m benchmark
--benchmark-enable -s`` (add ``--benchmark-timer=time.process_time`` on a shared, loaded machine).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import numpy as np
import pytest

from mechanism import neural as nn

SEEDS, PRIMITIVES, CLONES, STEPS, STATES, HIDDEN = 10, 2, 2, 4096, 6, 16
MINIBATCH = 256


class Batch(NamedTuple):
    net: nn.MLP
    params: nn.Params
    states: np.ndarray  #: (N, B) state of each sample
    bids: np.ndarray  #: (N, B)
    old: np.ndarray  #: (N, B) log-probabilities when the bids were drawn
    adv: np.ndarray  #: (N, B)


def _batch(dtype: Any) -> Batch:
    rng = np.random.default_rng(0)
    head = nn.BetaHead()
    net = nn.MLP((STATES, HIDDEN, 2), activation="tanh", output_bias=tuple(head.initial_bias), dtype=dtype)
    params = net.init_params(rng, (SEEDS * PRIMITIVES,))
    states = np.tile(rng.integers(0, STATES - 1, (SEEDS * PRIMITIVES, STEPS)), CLONES)
    z = net.apply(params, np.eye(STATES, dtype=dtype)[states])
    bids = head.sample(z, rng)
    return Batch(net, params, states, bids, head.evaluate(z, bids).log_prob, rng.normal(size=bids.shape).astype(dtype))


def _losses(z: np.ndarray, b: Batch, sl: slice) -> np.ndarray:
    """∂(PPO-clip + entropy bonus)/∂z."""
    ev = nn.BetaHead().evaluate(z, b.bids[:, sl])
    pi, ent = nn.ppo_clip(ev.log_prob, b.old[:, sl], b.adv[:, sl], 0.2), nn.entropy_bonus(ev.entropy, 0.1)
    return ev.input_grad(pi.grad, ent.grad)


def _per_sample(b: Batch, sl: slice) -> nn.Params:
    x = np.eye(STATES, dtype=b.net.dtype)[b.states[:, sl]]
    z, cache = b.net.forward(b.params, x)
    return b.net.backward(b.params, cache, _losses(z, b, sl)).params


def _distinct_states(b: Batch, sl: slice) -> nn.Params:
    rows, cache = b.net.forward(b.params, np.eye(STATES, dtype=b.net.dtype))
    index = b.states[:, sl]
    dz = _losses(nn.lookup(rows, index), b, sl)
    return b.net.backward(b.params, cache, nn.lookup_backward(dz, index, STATES)).params


PATHS = {"per-sample": _per_sample, "distinct-states": _distinct_states}


def _epoch(path: str, dtype: Any, minibatch: bool) -> Callable[[], nn.Params]:
    b, step = _batch(np.dtype(dtype)), PATHS[path]
    size = MINIBATCH if minibatch else b.states.shape[1]
    cuts = [slice(i, i + size) for i in range(0, b.states.shape[1], size)]

    def run() -> nn.Params:
        grads: nn.Params = {}
        for sl in cuts:
            grads = step(b, sl)
        return grads

    return run


def _mlp_pass(b: Batch, x: np.ndarray, dz: np.ndarray) -> nn.Params:
    return b.net.backward(b.params, b.net.forward(b.params, x)[1], dz).params


def _best_cpu(fn: Callable[[], Any], repeats: int = 5) -> float:
    best = np.inf
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return float(best)


@pytest.mark.parametrize("minibatch", [False, True], ids=["full-batch", "minibatch-256"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("path", list(PATHS))
def test_forward_backward_beta_bidders(benchmark: Any, path: str, dtype: str, minibatch: bool) -> None:
    grads = benchmark.pedantic(_epoch(path, dtype, minibatch), rounds=5, iterations=1, warmup_rounds=1)
    assert all(g.dtype == np.dtype(dtype) and np.isfinite(g).all() for g in grads.values())
    seconds = benchmark.stats.stats.min
    benchmark.extra_info.update(seconds=seconds, networks=SEEDS * PRIMITIVES, samples_per_network=CLONES * STEPS)
    print(f"\n{path} {dtype} {'minibatches of 256' if minibatch else 'full batch'}: {seconds * 1e3:.1f} ms per epoch")


def test_float32_against_float64_and_breakdown() -> None:
    """Prints CPU times, the float32/float64 ratio and where the time goes; asserts only agreement."""
    full = slice(None)
    for path in PATHS:
        g64, g32 = PATHS[path](_batch(np.float64), full), PATHS[path](_batch(np.float32), full)
        for k in g64:
            np.testing.assert_allclose(g32[k], g64[k], rtol=2e-3, atol=2e-3 * np.abs(g64[k]).max())
    totals = {}
    for dtype in (np.float64, np.float32):
        b, name = _batch(dtype), np.dtype(dtype).name
        x = np.eye(STATES, dtype=dtype)[b.states]
        z, _ = b.net.forward(b.params, x)
        mlp = _best_cpu(partial(_mlp_pass, b, x, z))
        head = _best_cpu(partial(nn.BetaHead().evaluate, z, b.bids))
        for path in PATHS:
            totals[path, name] = _best_cpu(partial(PATHS[path], b, full))
        print(
            f"\n{name} CPU ms per epoch: per-sample {totals['per-sample', name] * 1e3:.1f} "
            f"(MLP fwd+bwd {mlp * 1e3:.1f}, Beta head {head * 1e3:.1f}), "
            f"distinct-states {totals['distinct-states', name] * 1e3:.1f}"
        )
    for path in PATHS:
        print(f"{path}: float32 / float64 CPU time {totals[path, 'float32'] / totals[path, 'float64']:.2f}")
    print(f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
