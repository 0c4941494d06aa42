"""Adam, clipping by global norm, learning-rate schedules, initialisation and .npz files of mechanism.neural.

Adam is checked against Algorithm 1 of Kingma & Ba (2015): two steps on f(θ) = θ² worked by hand,
an independent per-network loop, and convergence on a convex quadratic. Clipping is per network
(a planted "one norm for the whole batch" variant is caught).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mechanism import neural as nn

# --- Adam ---------------------------------------------------------------------------------------


def test_adam_two_steps_by_hand() -> None:
    # f(θ) = θ², θ₀ = 1, η = 0.1, β₁ = 0.9, β₂ = 0.999, ε = 1e-8 (Kingma & Ba 2015, Algorithm 1):
    # step 1: g = 2, m = 0.2, v = 0.004, m̂ = 2, v̂ = 4, θ₁ = 1 − 0.1·2/(2 + 1e-8) = 0.9 + 5e-10
    # step 2: g = 1.8, m = 0.9·0.2 + 0.1·1.8 = 0.36, v = 0.999·0.004 + 0.001·3.24 = 0.007236,
    #         m̂ = 0.36/0.19 = 1.894737, v̂ = 0.007236/0.001999 = 3.619810, θ₂ = 0.9 − 0.1·1.894737/1.902580 = 0.800412
    opt = nn.Adam(lr=0.1)
    params = {"theta": np.array([1.0])}
    state = opt.init(params)
    expected = (0.9 + 5e-10, 0.8004122287)
    for k in range(2):
        step = opt.update(params, {"theta": 2.0 * params["theta"]}, state)
        params, state = step.params, step.state
        assert params["theta"][0] == pytest.approx(expected[k], abs=1e-10)
    assert state.step == 2
    assert state.m["theta"][0] == pytest.approx(0.36, abs=1e-9)
    assert state.v["theta"][0] == pytest.approx(0.007236, abs=1e-11)


def _adam_loop(theta: float, grads: list[float], lr: float, b1: float, b2: float, eps: float) -> float:
    """Algorithm 1 for one scalar, written out."""
    m = v = 0.0
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        theta -= lr * (m / (1 - b1**t)) / (math.sqrt(v / (1 - b2**t)) + eps)
    return theta


def test_adam_on_a_batch_of_networks_equals_algorithm_1_per_scalar() -> None:
    rng = np.random.default_rng(0)
    opt = nn.Adam(lr=0.01, b1=0.8, b2=0.99, eps=1e-6)
    params = nn.MLP((3, 2)).init_params(rng, (4,))
    grads_seq = [{k: rng.normal(size=p.shape) for k, p in params.items()} for _ in range(5)]
    state, current = opt.init(params), params
    for g in grads_seq:
        current, state, _ = opt.update(current, g, state)
    for k, p in params.items():
        for idx in np.ndindex(p.shape):
            ref = _adam_loop(float(p[idx]), [float(g[k][idx]) for g in grads_seq], 0.01, 0.8, 0.99, 1e-6)
            assert current[k][idx] == pytest.approx(ref, rel=1e-12, abs=1e-14)


def test_adam_minimises_a_convex_quadratic() -> None:
    rng = np.random.default_rng(1)
    N, d = 3, 5
    Q = np.linalg.qr(rng.normal(size=(N, d, d)))[0]
    A = Q @ (np.linspace(1.0, 10.0, d)[:, None] * np.swapaxes(Q, -1, -2))  # SPD, condition number 10
    target = rng.normal(size=(N, d))
    opt = nn.Adam(lr=nn.Schedule(0.05, 0.0, 3000, "cosine"))
    params = {"theta": np.zeros((N, d))}
    state = opt.init(params)

    def loss(theta: np.ndarray) -> np.ndarray:
        e = theta - target
        return 0.5 * np.einsum("ni,nij,nj->n", e, A, e)  # ½(θ − θ*)ᵀA(θ − θ*), minimum 0 at θ*

    start = loss(params["theta"])
    for _ in range(3000):
        grad = np.einsum("nij,nj->ni", A, params["theta"] - target)
        params, state, _ = opt.update(params, {"theta": grad}, state)
    assert np.all(loss(params["theta"]) < 1e-8 * start)
    np.testing.assert_allclose(params["theta"], target, atol=1e-4)


def test_adam_uses_the_schedule_at_each_step() -> None:
    sched = nn.Schedule(0.1, 0.0, 4, "linear")
    opt = nn.Adam(lr=sched)
    assert [opt.learning_rate(t) for t in range(6)] == pytest.approx([0.1, 0.075, 0.05, 0.025, 0.0, 0.0])
    params = {"x": np.array([0.0])}
    state = opt.init(params)
    for t in range(3):
        before = params["x"][0]
        params, state, _ = opt.update(params, {"x": np.array([1.0])}, state)
        # a constant gradient makes m̂/√v̂ = 1/(1 + ε): the step is the learning rate itself
        assert before - params["x"][0] == pytest.approx(sched(t) / (1 + 1e-8), rel=1e-12)


def test_adam_rejects_bad_arguments() -> None:
    for kwargs in ({"lr": 0.0}, {"b1": 1.0}, {"b2": -0.1}, {"eps": 0.0}, {"max_grad_norm": 0.0}, {"batch_ndim": -1}):
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            nn.Adam(**kwargs)
    opt = nn.Adam()
    params = {"a": np.zeros(2)}
    with pytest.raises(ValueError, match="keys"):
        opt.update(params, {"b": np.zeros(2)}, opt.init(params))


# --- clipping by global norm --------------------------------------------------------------------


def _grads() -> nn.Params:
    # network 0: ‖(3, 4)‖ = 5; network 1: ‖(0.3, 0.4)‖ = 0.5
    return {"W": np.array([[[3.0]], [[0.3]]]), "b": np.array([[4.0], [0.4]])}


def _clip_whole_batch(grads: nn.Params, max_norm: float) -> nn.Params:
    """Planted bug: one norm over every network of the batch, as if they were one network."""
    norm = math.sqrt(sum(float(np.square(g).sum()) for g in grads.values()))
    return {k: g * min(1.0, max_norm / norm) for k, g in grads.items()}


def _check_clipped(clipped: nn.Params) -> None:
    np.testing.assert_allclose(clipped["W"][:, 0, 0], [0.6, 0.3], rtol=1e-14)  # network 0 scaled to norm 1
    np.testing.assert_allclose(clipped["b"][:, 0], [0.8, 0.4], rtol=1e-14)  # network 1 (norm 0.5) untouched


def test_clipping_is_per_network_and_the_planted_batch_wide_clip_is_caught() -> None:
    clipped, norm = nn.clip_by_global_norm(_grads(), 1.0)
    np.testing.assert_allclose(norm, [5.0, 0.5], rtol=1e-14)
    np.testing.assert_allclose(nn.global_norm(clipped), [1.0, 0.5], rtol=1e-14)
    _check_clipped(clipped)
    with pytest.raises(AssertionError):
        _check_clipped(_clip_whole_batch(_grads(), 1.0))


def test_adam_with_clipping_is_adam_on_clipped_gradients() -> None:
    params = {"W": np.ones((2, 1, 1)), "b": np.ones((2, 1))}
    clipped_opt, plain = nn.Adam(lr=0.1, max_grad_norm=1.0, b1=0.5), nn.Adam(lr=0.1, b1=0.5)
    s1, s2 = clipped_opt.init(params), plain.init(params)
    p1, p2 = params, params
    for scale in (1.0, 3.0, 0.1):
        g = {k: scale * v for k, v in _grads().items()}
        p1, s1, norm = clipped_opt.update(p1, g, s1)
        p2, s2, _ = plain.update(p2, nn.clip_by_global_norm(g, 1.0)[0], s2)
        np.testing.assert_allclose(norm, scale * np.array([5.0, 0.5]), rtol=1e-14)  # reported before clipping
    for k in params:
        np.testing.assert_allclose(p1[k], p2[k], rtol=1e-15)


# --- schedules ----------------------------------------------------------------------------------


def test_schedules() -> None:
    assert nn.Schedule(0.3)(1000) == 0.3
    lin = nn.Schedule(1.0, 0.2, 10, "linear")
    assert [lin(0), lin(5), lin(10), lin(20)] == pytest.approx([1.0, 0.6, 0.2, 0.2])
    cos = nn.Schedule(1.0, 0.2, 10, "cosine")
    # η₁ + (η₀ − η₁)(1 + cos πp)/2: 1 at p = 0, the midpoint 0.6 at p = ½, 0.2 at p = 1
    assert [cos(0), cos(5), cos(10), cos(30)] == pytest.approx([1.0, 0.6, 0.2, 0.2], abs=1e-15)
    assert cos(2) == pytest.approx(0.2 + 0.8 * (1 + math.cos(math.pi * 0.2)) / 2)
    with pytest.raises(ValueError, match="kind"):
        nn.Schedule(1.0, kind="step")
    with pytest.raises(ValueError, match="steps"):
        nn.Schedule(1.0, 0.0, 0, "linear")


# --- initialisation -----------------------------------------------------------------------------


def test_init_is_reproducible_and_per_seed_generators_are_independent_of_the_batch() -> None:
    net = nn.MLP((4, 8, 2))
    a = net.init_params(np.random.default_rng(7), (3, 2))
    b = net.init_params(np.random.default_rng(7), (3, 2))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    seeds = [np.random.default_rng(s) for s in (10, 11, 12)]
    together = net.init_params(seeds, (3, 2))
    alone = net.init_params(np.random.default_rng(11), (2,))  # seed 11 on its own
    for k in together:
        np.testing.assert_array_equal(together[k][1], alone[k])
    with pytest.raises(ValueError, match="one per entry"):
        net.init_params([np.random.default_rng(0)], (3, 2))


def test_init_schemes() -> None:
    rng = np.random.default_rng(3)
    W, b = nn.init_dense(rng, (50,), 16, 4, "uniform")
    assert np.abs(W).max() <= 0.25
    assert np.abs(b).max() <= 0.25
    assert np.abs(W).max() > 0.24  # and fills the range
    W, b = nn.init_dense(rng, (50,), 16, 4, "glorot")
    assert np.abs(W).max() <= math.sqrt(6 / 20)
    assert not b.any()
    for d_in, d_out in ((8, 3), (3, 8)):
        W, b = nn.init_dense(rng, (5, 2), d_in, d_out, "orthogonal", gain=2.0)
        gram = np.swapaxes(W, -1, -2) @ W if d_in >= d_out else W @ np.swapaxes(W, -1, -2)
        np.testing.assert_allclose(gram, np.broadcast_to(4.0 * np.eye(min(d_in, d_out)), gram.shape), atol=1e-12)
    W, b = nn.init_dense(rng, (2,), 3, 3, "zeros", dtype=np.float32)
    assert W.dtype == np.float32
    assert not W.any()
    assert not b.any()
    with pytest.raises(ValueError, match="scheme"):
        nn.init_dense(rng, (2,), 3, 3, "he")
    with pytest.raises(ValueError, match="d_in"):
        nn.init_dense(rng, (2,), 0, 3)


# --- .npz files ---------------------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    net = nn.MLP((6, 16, 2), dtype=np.float32)
    params = net.init_params(np.random.default_rng(0), (10, 2))
    path = nn.save_params(tmp_path / "policy", params)
    assert path.name == "policy.npz"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy.npz"]
    for like in (params, net.param_shapes((10, 2))):
        loaded = nn.load_params(path, like)
        for k in params:
            assert loaded[k].dtype == np.float32
            np.testing.assert_array_equal(loaded[k], params[k])


def test_load_checks_names_and_shapes(tmp_path: Path) -> None:
    net = nn.MLP((6, 16, 2))
    path = nn.save_params(tmp_path / "p.npz", net.init_params(np.random.default_rng(0), (4,)))
    with pytest.raises(ValueError, match=r"'W0' has shape \(4, 6, 16\) but the network expects \(3, 6, 16\)"):
        nn.load_params(path, net.param_shapes((3,)))
    with pytest.raises(ValueError, match=r"missing \['W2', 'b2'\]"):
        nn.load_params(path, nn.MLP((6, 16, 8, 2)).param_shapes((4,)))
    with pytest.raises(ValueError, match="identifier"):
        nn.save_params(tmp_path / "q.npz", {})
