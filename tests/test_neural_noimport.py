"""mechanism.neural runs without torch or JAX: a fresh interpreter imports it, runs a forward and a
backward pass and an Adam step, and neither ``torch`` nor ``jax`` appears in ``sys.modules``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import mechanism.neural as nn

    rng = np.random.default_rng(0)
    head = nn.BetaHead()
    net = nn.MLP((6, 16, 2), output_init="zeros", output_bias=tuple(head.initial_bias))
    params = net.init_params(rng, (4,))
    x = np.eye(6)[rng.integers(0, 6, (4, 32))]
    z, cache = net.forward(params, x)
    bids = head.sample(z, rng)
    ev = head.evaluate(z, bids)
    loss = nn.ppo_clip(ev.log_prob, ev.log_prob, rng.normal(size=bids.shape))
    grads = net.backward(params, cache, ev.input_grad(loss.grad, np.zeros_like(loss.grad))).params
    opt = nn.Adam(lr=1e-3, max_grad_norm=40.0)
    step = opt.update(params, grads, opt.init(params))
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "jax", "jaxlib"))
    print(json.dumps({"heavy": heavy, "finite": bool(all(np.isfinite(v).all() for v in step.params.values()))}))
    """
)


def test_neural_imports_neither_torch_nor_jax() -> None:
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=True, timeout=120)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["finite"]
    assert report["heavy"] == []
