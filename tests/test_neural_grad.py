"""Gradient checks of mechanism.neural: every layer, activation, the MLP, every head and every loss.

Each hand-written gradient is compared with the five-point central difference
(``mechanism.neural.numerical_gradient``, Abramowitz & Stegun 25.3.6) of a scalar function, with
the elementwise relative error |a − b| / max(|a|, |b|, 1e−8) (the CS231n gradient-check
definition with a floor near zero); the bar is 1e−6 (issue 12), in float64. A planted bug (a sign
error in the Beta entropy gradient) must fail the same check. Closed forms are compared with
scipy.stats, GAE with its direct-sum definition, and the batched networks with a loop over single
ones. Optionally cross-checked with the ``autograd`` package (skipped when it is absent).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import special, stats

from mechanism import neural as nn
from mechanism.learners import policy_gradient as tabular
from mechanism.neural.layers import ACTIVATIONS

TOL = 1e-6  # issue 12: gradient checks at 1e-6 relative error


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def fd_error(f: Callable[[np.ndarray], float], x: np.ndarray, analytic: np.ndarray) -> float:
    """Max relative error between an analytic gradient and the central difference of f at x."""
    return nn.max_relative_error(analytic, nn.numerical_gradient(f, x))


def _beta_z(rng: np.random.Generator, shape: tuple[int, ...], sharp: bool = False) -> np.ndarray:
    """Beta-head inputs away from α = 1 or β = 1 (where some terms vanish): κ in [1, 4], or [200, 3000]."""
    z1 = rng.uniform(-1.5, 1.5, shape)
    z2 = rng.uniform(200.0, 3000.0, shape) if sharp else rng.uniform(0.5, 4.0, shape)
    return np.stack([z1, z2], axis=-1)


# --- the checker itself -------------------------------------------------------------------------


def test_relative_error_definition() -> None:
    assert nn.relative_error(np.array(2.0), np.array(2.0 + 2e-7)) == pytest.approx(1e-7, rel=1e-6)
    assert nn.relative_error(np.array(0.0), np.array(0.0)) == 0.0
    # both ~0: the floor 1e-8 keeps the ratio finite and small noise small
    assert nn.relative_error(np.array(1e-14), np.array(0.0)) == pytest.approx(1e-6)


def test_numerical_gradient_of_a_known_function() -> None:
    x, c = _rng().normal(size=(3, 4)), _rng(1).normal(size=(3, 4))
    # d/dx Σ c·sin(x) = c·cos(x)
    assert fd_error(lambda v: float((c * np.sin(v)).sum()), x, c * np.cos(x)) < 1e-9
    assert fd_error(lambda v: float((c * np.sin(v)).sum()), x, c * np.cos(x) * (1 + 1e-4)) > 5e-5


# --- activations, dense layers, MLP -------------------------------------------------------------


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_gradients(name: str) -> None:
    rng = _rng(2)
    x = rng.normal(size=(4, 5))
    x = np.where(np.abs(x) < 0.01, 0.5, x)  # away from ReLU's kink
    c = rng.normal(size=x.shape)
    analytic = nn.activation_backward(nn.activate(x.copy(), name), c, name)
    assert fd_error(lambda v: float((c * nn.activate(v.copy(), name)).sum()), x, analytic) < TOL


def _dense_loss(W: np.ndarray, b: np.ndarray, x: np.ndarray, c: np.ndarray, act: str) -> float:
    return float((c * nn.dense_forward(W, b, x, act)[0]).sum())


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("batch", [(3,), (2, 3)])
def test_dense_layer_gradients(act: str, batch: tuple[int, ...]) -> None:
    rng = _rng(3)
    W, b = nn.init_dense(rng, batch, 4, 5, "glorot")
    b = b + rng.normal(size=b.shape) * 0.1
    x, c = rng.normal(size=(*batch, 6, 4)), rng.normal(size=(*batch, 6, 5))
    _, cache = nn.dense_forward(W, b, x, act)
    g = nn.dense_backward(W, cache, c, act)
    assert g.x is not None
    assert fd_error(lambda v: _dense_loss(v, b, x, c, act), W, g.W) < TOL
    assert fd_error(lambda v: _dense_loss(W, v, x, c, act), b, g.b) < TOL
    assert fd_error(lambda v: _dense_loss(W, b, v, c, act), x, g.x) < TOL


def test_dense_layer_with_inputs_shared_by_all_networks() -> None:
    rng = _rng(4)
    W, b = nn.init_dense(rng, (3,), 4, 2, "uniform")
    x, c = rng.normal(size=(7, 4)), rng.normal(size=(3, 7, 2))  # one x for the three networks
    _, cache = nn.dense_forward(W, b, x, "tanh")
    g = nn.dense_backward(W, cache, c, "tanh")
    assert g.x is not None
    assert g.x.shape == x.shape
    assert fd_error(lambda v: _dense_loss(v, b, x, c, "tanh"), W, g.W) < TOL
    assert fd_error(lambda v: _dense_loss(W, b, v, c, "tanh"), x, g.x) < TOL


def _mlp_check(net: nn.MLP, params: nn.Params, x: np.ndarray, c: np.ndarray, h: float = 1e-4) -> float:
    _y, cache = net.forward(params, x)
    g = net.backward(params, cache, c, input_grad=True)
    assert g.x is not None
    assert g.params.keys() == params.keys()

    def loss(p: nn.Params) -> float:
        return float((c * net.apply(p, x)).sum())

    numeric = nn.numerical_param_gradients(loss, params, h)
    errors = [nn.max_relative_error(g.params[k], numeric[k]) for k in params]
    numeric_x = nn.numerical_gradient(lambda v: float((c * net.apply(params, v)).sum()), x, h)
    return max([*errors, nn.max_relative_error(g.x, numeric_x)])


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_mlp_gradients(act: str) -> None:
    rng = _rng(5)
    net = nn.MLP((4, 6, 5, 3), activation=act, output_activation="tanh")
    params = net.init_params(rng, (2, 2))
    x, c = rng.normal(size=(2, 2, 5, 4)), rng.normal(size=(2, 2, 5, 3))
    h = 1e-3  # smooth: a wide step keeps the rounding of f (|f| ~ 10) out of the tiny gradient entries
    if act == "relu":  # the differences must not cross ReLU's kink: every pre-activation stays > 1e-4 from 0
        pre = np.matmul(x, params["W0"]) + params["b0"][..., None, :]
        pre2 = np.matmul(np.maximum(pre, 0.0), params["W1"]) + params["b1"][..., None, :]
        assert min(np.abs(pre).min(), np.abs(pre2).min()) > 1e-4
        h = 1e-5  # so a step moves a pre-activation by at most ~6e-5
    assert _mlp_check(net, params, x, c, h) < TOL


def test_batched_networks_equal_a_loop_over_single_networks() -> None:
    rng = _rng(6)
    net = nn.MLP((3, 8, 2), activation="relu")
    params = net.init_params(rng, (5,))
    x, c = rng.normal(size=(5, 11, 3)), rng.normal(size=(5, 11, 2))
    y, cache = net.forward(params, x)
    grads = net.backward(params, cache, c, input_grad=True)
    for n in range(5):
        single = {k: v[n : n + 1] for k, v in params.items()}
        y_n, cache_n = net.forward(single, x[n : n + 1])
        g_n = net.backward(single, cache_n, c[n : n + 1], input_grad=True)
        np.testing.assert_allclose(y[n], y_n[0], rtol=1e-13, atol=1e-14)
        for k in params:
            np.testing.assert_allclose(grads.params[k][n], g_n.params[k][0], rtol=1e-12, atol=1e-14)


def test_float32_networks_agree_with_float64() -> None:
    rng = _rng(7)
    net64, net32 = nn.MLP((6, 16, 2)), nn.MLP((6, 16, 2), dtype=np.float32)
    p64 = net64.init_params(rng, (4,))
    p32 = nn.cast_params(p64, np.float32)
    x, c = rng.normal(size=(4, 50, 6)), rng.normal(size=(4, 50, 2))
    y64, k64 = net64.forward(p64, x)
    y32, k32 = net32.forward(p32, x)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, rtol=1e-5, atol=1e-6)
    g32, g64 = net32.backward(p32, k32, c).params, net64.backward(p64, k64, c).params
    for k in p64:
        assert g32[k].dtype == np.float32
        np.testing.assert_allclose(g32[k], g64[k], rtol=1e-4, atol=1e-4)


def test_mlp_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="sizes"):
        nn.MLP((4,))
    with pytest.raises(ValueError, match="activation"):
        nn.MLP((4, 2), activation="gelu")
    with pytest.raises(ValueError, match="output_bias"):
        nn.MLP((4, 2), output_bias=(0.0,))
    with pytest.raises(ValueError, match="dtype"):
        nn.MLP((4, 2), dtype=np.int64)
    net = nn.MLP((4, 2))
    with pytest.raises(ValueError, match="x must have shape"):
        net.forward(net.init_params(_rng(), (1,)), np.zeros((1, 3, 5)))
    with pytest.raises(TypeError, match="float32"):
        net.forward(nn.cast_params(net.init_params(_rng(), (1,)), np.float32), np.zeros((1, 3, 4)))


def test_lookup_gradient_and_equivalence_with_one_hot_inputs() -> None:
    rng = _rng(26)
    N, B, R = 3, 40, 5
    index = rng.integers(0, R, (N, B))
    table, c = rng.normal(size=(N, R, 2)), rng.normal(size=(N, B, 2))
    f = lambda t: float((c * nn.lookup(t, index)).sum())  # noqa: E731
    assert fd_error(f, table, nn.lookup_backward(c, index, R)) < TOL
    # the network on the R distinct one-hot rows + lookup = the network on every sample's one-hot row
    net = nn.MLP((R, 6, 2), activation="tanh")
    params = net.init_params(rng, (N,))
    y_all, cache_all = net.forward(params, np.eye(R)[index])
    y_rows, cache_rows = net.forward(params, np.eye(R))  # one input shared by the N networks
    np.testing.assert_allclose(nn.lookup(y_rows, index), y_all, rtol=1e-14)
    g_all = net.backward(params, cache_all, c).params
    g_rows = net.backward(params, cache_rows, nn.lookup_backward(c, index, R)).params
    for k in params:
        np.testing.assert_allclose(g_rows[k], g_all[k], rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        nn.lookup_backward(c, index + 1, R)


# --- heads --------------------------------------------------------------------------------------


def test_beta_log_prob_and_entropy_match_scipy() -> None:
    rng, head = _rng(8), nn.BetaHead()
    z = np.stack([rng.uniform(-4, 4, 3000), rng.uniform(-2, 8, 3000)], axis=-1)
    a, c = head.shape(z)
    x = head.sample(z, rng)
    ev = head.evaluate(z, x)
    # log p = (α−1)log b + (β−1)log(1−b) − log B(α, β); H = log B − (α−1)ψ(α) − (β−1)ψ(β) + (κ−2)ψ(κ)
    np.testing.assert_allclose(ev.log_prob, stats.beta.logpdf(x, a, c), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ev.entropy, stats.beta.entropy(a, c), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(head.entropy(z), ev.entropy, rtol=1e-14, atol=1e-14)


def test_beta_head_matches_the_tabular_learners_formulas() -> None:
    rng, head = _rng(9), nn.BetaHead()
    z = _beta_z(rng, (40,))
    x = head.sample(z, rng)
    ev = head.evaluate(z, x)
    t1, t2 = z[..., 0], z[..., 1]
    np.testing.assert_allclose(ev.log_prob, tabular.beta_log_prob(x, t1, t2), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(ev.entropy, tabular.beta_entropy(t1, t2), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(ev.d_log_prob, np.stack(tabular.beta_log_prob_grad(x, t1, t2), -1), rtol=1e-12)
    np.testing.assert_allclose(ev.d_entropy, np.stack(tabular.beta_entropy_grad(t1, t2), -1), rtol=1e-12)
    np.testing.assert_allclose(head.entropy_grad(z), ev.d_entropy, rtol=1e-14)


@pytest.mark.parametrize("sharp", [False, True])
def test_beta_head_gradients(sharp: bool) -> None:
    rng, head = _rng(10), nn.BetaHead()
    z = _beta_z(rng, (2, 6), sharp)
    x = head.sample(z, rng)
    w = rng.normal(size=x.shape)
    ev = head.evaluate(z, x)
    # sharp Betas: log p and H add terms of size κ·|log b| ~ 10³ that cancel to ~1, so their rounding
    # (~1e-13) limits the difference quotient; a wider step (1e-3) keeps it below 2e-7
    h = 1e-3 if sharp else 1e-4
    numeric_lp = nn.numerical_gradient(lambda v: float((w * head.log_prob(v, x)).sum()), z, h)
    numeric_h = nn.numerical_gradient(lambda v: float((w * head.entropy(v)).sum()), z, h)
    assert nn.max_relative_error(w[..., None] * ev.d_log_prob, numeric_lp) < TOL
    assert nn.max_relative_error(w[..., None] * ev.d_entropy, numeric_h) < TOL


def _planted_beta_entropy_grad(z: np.ndarray) -> np.ndarray:
    """The Beta entropy gradient with a planted sign error: +(α − 1)ψ₁(α) instead of −(α − 1)ψ₁(α)."""
    mu, kappa, dk = special.expit(z[..., 0]), np.logaddexp(0.0, z[..., 1]), special.expit(z[..., 1])
    a, c = mu * kappa, (1.0 - mu) * kappa
    t_k = (kappa - 2.0) * special.polygamma(1, kappa)
    d_a = +(a - 1.0) * special.polygamma(1, a) + t_k  # the planted bug
    d_c = -(c - 1.0) * special.polygamma(1, c) + t_k
    dmu = kappa * mu * (1.0 - mu)
    return np.stack([dmu * (d_a - d_c), dk * (mu * d_a + (1.0 - mu) * d_c)], axis=-1)


def test_planted_sign_error_in_the_beta_entropy_gradient_is_caught() -> None:
    rng, head = _rng(11), nn.BetaHead()
    z = _beta_z(rng, (3, 5))  # away from α = 1, where the wrong term vanishes

    def entropy_sum(v: np.ndarray) -> float:
        return float(head.entropy(v).sum())

    assert fd_error(entropy_sum, z, head.entropy_grad(z)) < TOL
    assert fd_error(entropy_sum, z, _planted_beta_entropy_grad(z)) > 1e-2


def test_beta_head_starts_at_beta_1_1() -> None:
    rng, head = _rng(12), nn.BetaHead()
    net = nn.MLP((6, 16, 2), output_init="zeros", output_bias=tuple(head.initial_bias))
    z = net.apply(net.init_params(rng, (3,)), rng.normal(size=(3, 20, 6)))
    a, c = head.shape(z)
    np.testing.assert_allclose(a, 1.0, rtol=1e-14)
    np.testing.assert_allclose(c, 1.0, rtol=1e-14)
    ev = head.evaluate(z, rng.uniform(0.01, 0.99, (3, 20)))
    np.testing.assert_allclose(ev.log_prob, 0.0, atol=1e-14)  # the uniform density is 1
    np.testing.assert_allclose(ev.entropy, 0.0, atol=1e-14)  # and its entropy 0


def test_gaussian_head_closed_forms_and_gradients() -> None:
    rng, head = _rng(13), nn.GaussianHead()
    z = np.stack([rng.normal(size=(3, 7)), rng.uniform(-1, 1, (3, 7))], axis=-1)
    x = head.sample(z, rng)
    ev = head.evaluate(z, x)
    mu, sd = z[..., 0], np.exp(z[..., 1])
    np.testing.assert_allclose(ev.log_prob, stats.norm.logpdf(x, mu, sd), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ev.entropy, stats.norm.entropy(mu, sd), rtol=1e-12, atol=1e-12)
    w = rng.normal(size=x.shape)
    assert fd_error(lambda v: float((w * head.log_prob(v, x)).sum()), z, w[..., None] * ev.d_log_prob) < TOL
    assert fd_error(lambda v: float((w * head.entropy(v)).sum()), z, w[..., None] * ev.d_entropy) < TOL


def test_categorical_head_closed_forms_and_gradients() -> None:
    rng, head = _rng(14), nn.CategoricalHead(4)
    z = rng.normal(size=(3, 6, 4))
    a = head.sample(z, rng)
    ev = head.evaluate(z, a)
    log_p = special.log_softmax(z, axis=-1)
    np.testing.assert_allclose(ev.log_prob, np.take_along_axis(log_p, a[..., None], -1)[..., 0], rtol=1e-13)
    np.testing.assert_allclose(ev.entropy, stats.entropy(np.exp(log_p), axis=-1), rtol=1e-12)
    w = rng.normal(size=a.shape)
    assert fd_error(lambda v: float((w * head.log_prob(v, a)).sum()), z, w[..., None] * ev.d_log_prob) < TOL
    assert fd_error(lambda v: float((w * head.entropy(v)).sum()), z, w[..., None] * ev.d_entropy) < TOL
    with pytest.raises(ValueError, match="integer actions"):
        head.evaluate(z, a.astype(float))
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\)"):
        head.evaluate(z[..., :3], a)


def test_value_head_gradient() -> None:
    rng, head = _rng(15), nn.ValueHead()
    z, target = rng.normal(size=(2, 5, 1)), rng.normal(size=(2, 5))
    lg = nn.value_mse(head.value(z), target)
    assert fd_error(lambda v: float(nn.value_mse(head.value(v), target).loss.sum()), z, head.input_grad(lg.grad)) < TOL


def test_sampling_is_reproducible_and_has_the_right_moments() -> None:
    beta, gauss, cat = nn.BetaHead(), nn.GaussianHead(), nn.CategoricalHead(3)
    zb, zg, zc = np.array([[0.4, 3.0]]), np.array([[0.3, -0.5]]), np.array([[0.1, -1.0, 0.7]])
    for head, z in ((beta, zb), (gauss, zg), (cat, zc)):
        first, second = head.sample(np.repeat(z, 50, 0), _rng(3)), head.sample(np.repeat(z, 50, 0), _rng(3))
        np.testing.assert_array_equal(first, second)
        assert not np.array_equal(first, head.sample(np.repeat(z, 50, 0), _rng(4)))
    n = 200_000
    a, c = beta.shape(zb)
    bids = beta.sample(np.repeat(zb, n, 0), _rng(5))
    mean, var = a / (a + c), a * c / ((a + c) ** 2 * (a + c + 1))  # Beta moments
    assert abs(bids.mean() - mean[0]) < 5 * np.sqrt(var[0] / n)
    x = gauss.sample(np.repeat(zg, n, 0), _rng(6))
    assert abs(x.mean() - 0.3) < 5 * np.exp(-0.5) / np.sqrt(n)
    assert abs(x.std() - np.exp(-0.5)) < 0.01
    counts = np.bincount(cat.sample(np.repeat(zc, n, 0), _rng(7)), minlength=3)
    p = cat.probs(zc)[0]
    assert np.all(np.abs(counts / n - p) < 5 * np.sqrt(p * (1 - p) / n))


# --- losses and advantages ----------------------------------------------------------------------


def _ppo_case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log π_old, log π and A with ratios in [0.5, 1.5] kept 0.01 from the clip edges 0.8 and 1.2, A of both signs."""
    ratio = rng.uniform(0.5, 1.5, (3, 40))
    for edge in (0.8, 1.2):
        ratio = np.where(np.abs(ratio - edge) < 0.01, edge + 0.05, ratio)
    old = rng.normal(size=ratio.shape) - 1.0
    adv = rng.normal(size=ratio.shape)
    adv = np.where(np.abs(adv) < 0.05, 0.5, adv)
    return old, old + np.log(ratio), adv


def _ppo_direct(log_prob: np.ndarray, old: np.ndarray, adv: np.ndarray, eps: float) -> np.ndarray:
    """−mean of min(ρA, clip(ρ)A), one sample at a time (Schulman et al. 2017, eq. 7)."""
    out = np.zeros(log_prob.shape[0])
    for n in range(log_prob.shape[0]):
        terms = []
        for lp, lo, a in zip(log_prob[n], old[n], adv[n], strict=True):
            r = float(np.exp(lp - lo))
            terms.append(min(r * a, min(max(r, 1 - eps), 1 + eps) * a))
        out[n] = -sum(terms) / len(terms)
    return out


def test_ppo_clip_loss_and_gradient_with_both_signs_and_the_clipped_region() -> None:
    old, log_prob, adv = _ppo_case(_rng(16))
    res = nn.ppo_clip(log_prob, old, adv, clip=0.2)
    np.testing.assert_allclose(res.loss, _ppo_direct(log_prob, old, adv, 0.2), rtol=1e-13)
    ratio = np.exp(log_prob - old)
    clipped_pos, clipped_neg = (adv > 0) & (ratio > 1.2), (adv < 0) & (ratio < 0.8)
    assert clipped_pos.sum() > 5
    assert clipped_neg.sum() > 5
    assert np.all(res.grad[clipped_pos | clipped_neg] == 0.0)
    inside = ~(clipped_pos | clipped_neg)
    assert np.all(res.grad[inside] != 0.0)
    np.testing.assert_allclose(res.clip_fraction, (clipped_pos | clipped_neg).mean(axis=-1))
    assert fd_error(lambda v: float(nn.ppo_clip(v, old, adv, 0.2).loss.sum()), log_prob, res.grad) < TOL


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_ppo_clip_gradient_for_each_sign_of_the_advantage(sign: float) -> None:
    old, log_prob, adv = _ppo_case(_rng(17))
    adv = sign * np.abs(adv)
    res = nn.ppo_clip(log_prob, old, adv, clip=0.2)
    assert np.any(res.grad == 0.0)
    assert np.any(res.grad != 0.0)
    assert fd_error(lambda v: float(nn.ppo_clip(v, old, adv, 0.2).loss.sum()), log_prob, res.grad) < TOL


def test_loss_weights_mask_samples_out() -> None:
    old, log_prob, adv = _ppo_case(_rng(18))
    mask = np.ones_like(adv)
    mask[0, 20:] = 0.0
    mask[2] = 0.0  # a network with no samples at all
    res = nn.ppo_clip(log_prob, old, adv, 0.2, weight=mask)
    np.testing.assert_allclose(res.loss[0], nn.ppo_clip(log_prob[:1, :20], old[:1, :20], adv[:1, :20]).loss[0])
    assert res.loss[2] == 0.0
    assert np.all(res.grad[mask == 0] == 0.0)
    f = lambda v: float(nn.ppo_clip(v, old, adv, 0.2, weight=mask).loss.sum())  # noqa: E731
    assert fd_error(f, log_prob, res.grad) < TOL


def test_reinforce_value_and_entropy_losses() -> None:
    rng = _rng(19)
    lp, adv, v, target, h = (rng.normal(size=(2, 9)) for _ in range(5))
    w = rng.uniform(0.0, 2.0, (2, 9))
    r = nn.reinforce(lp, adv, weight=w)
    np.testing.assert_allclose(r.loss, -(w * adv * lp).sum(-1) / w.sum(-1))
    assert fd_error(lambda x: float(nn.reinforce(x, adv, weight=w).loss.sum()), lp, r.grad) < TOL
    m = nn.value_mse(v, target)
    np.testing.assert_allclose(m.loss, ((v - target) ** 2).mean(-1))
    assert fd_error(lambda x: float(nn.value_mse(x, target).loss.sum()), v, m.grad) < TOL
    e = nn.entropy_bonus(h, 0.1)
    np.testing.assert_allclose(e.loss, -0.1 * h.mean(-1))
    assert fd_error(lambda x: float(nn.entropy_bonus(x, 0.1).loss.sum()), h, e.grad) < TOL


def test_l2_penalty_gradient() -> None:
    params = nn.MLP((3, 4, 2)).init_params(_rng(20), (2,))
    loss, grads = nn.l2_penalty(params, 1e-3)
    assert loss.shape == (2,)
    numeric = nn.numerical_param_gradients(lambda p: float(nn.l2_penalty(p, 1e-3)[0].sum()), params)
    assert max(nn.max_relative_error(grads[k], numeric[k]) for k in params) < TOL


def _gae_direct(r, v, v_next, gamma, lam, terminated, truncated) -> np.ndarray:
    """A_t = Σ_l (Π_{j<l} γ_{t+j} λ) δ_{t+l} within the episode (Schulman et al. 2016, eq. 16), one t at a time."""
    T = len(r)
    out = np.zeros(T)
    for t in range(T):
        total, coef = 0.0, 1.0
        for k in range(t, T):
            delta = r[k] + gamma[k] * (0.0 if terminated[k] else v_next[k]) - v[k]
            total += coef * delta
            if terminated[k] or truncated[k]:
                break
            coef *= gamma[k] * lam
        out[t] = total
    return out


def test_gae_matches_its_direct_sum_definition_across_episode_ends() -> None:
    rng = _rng(21)
    shape = (2, 3, 30)
    r, v, v_next = rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape)
    gamma = rng.uniform(0.8, 0.99, shape)  # per-step discounts (options: γ^τ)
    ends = rng.random(shape)
    terminated, truncated = ends < 0.1, (ends >= 0.1) & (ends < 0.2)
    assert terminated.any()
    assert truncated.any()
    res = nn.gae(r, v, v_next, gamma, 0.9, terminated, truncated)
    for idx in np.ndindex(shape[:-1]):
        direct = _gae_direct(r[idx], v[idx], v_next[idx], gamma[idx], 0.9, terminated[idx], truncated[idx])
        np.testing.assert_allclose(res.advantage[idx], direct, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.target, res.advantage + v)


def test_gae_limits_one_step_and_monte_carlo() -> None:
    rng = _rng(22)
    r, v, v_next = rng.normal(size=(4, 12)), rng.normal(size=(4, 12)), rng.normal(size=(4, 12))
    v_next[:, :-1] = v[:, 1:]  # V(s_{t+1}) of a consistent trajectory, so that Σ γ^l δ_{t+l} telescopes
    terminated = np.zeros((4, 12), bool)
    terminated[:, 5] = True
    # λ = 0 is the one-step advantage δ_t
    one = nn.one_step_advantage(r, v, v_next, 0.95, terminated)
    np.testing.assert_allclose(nn.gae(r, v, v_next, 0.95, 0.0, terminated).advantage, one.advantage, rtol=1e-14)
    # λ = 1: the discounted return to the episode's end (bootstrapped at the buffer's end) minus V
    mc = nn.gae(r, v, v_next, 0.95, 1.0, terminated).advantage
    for t in (0, 5, 6, 11):
        end = 5 if t <= 5 else 11
        ret = sum(0.95 ** (k - t) * r[:, k] for k in range(t, end + 1))
        ret = ret + (0.0 if end == 5 else 0.95 ** (end - t + 1) * v_next[:, end])
        np.testing.assert_allclose(mc[:, t], ret - v[:, t], rtol=1e-12)
    # the paper's memoryless primitives: A = U − V(s), the utility already holds γ·b_{t+1}
    np.testing.assert_allclose(nn.one_step_advantage(r, v).advantage, r - v)


def test_normalized_advantages() -> None:
    adv = _rng(23).normal(3.0, 2.0, (3, 100))
    out = nn.normalize_advantages(adv)
    np.testing.assert_allclose(out.mean(-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.std(-1), 1.0, rtol=1e-6)


def test_losses_reject_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="share one shape"):
        nn.ppo_clip(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="lam"):
        nn.gae(np.zeros(3), np.zeros(3), np.zeros(3), 0.9, 1.5)
    with pytest.raises(ValueError, match="terminated_t"):
        nn.gae(np.zeros(3), np.zeros(3), np.zeros(3), 0.9, 0.9, terminated_t=np.zeros(4, bool))


# --- a whole PPO update: network, head, GAE advantages, clipped loss, entropy, critic -----------


def test_end_to_end_ppo_gradients_through_mlp_beta_head_and_critic() -> None:
    rng = _rng(24)
    N, T, S, clones = 3, 8, 4, 2
    head = nn.BetaHead()
    policy = nn.MLP((S, 5, 2), activation="tanh")
    critic = nn.MLP((S, 5, 1), activation="tanh")  # smooth, so a wide difference step is safe
    p_pi, p_v = policy.init_params(rng, (N,)), critic.init_params(rng, (N,))
    states = np.eye(S)[rng.integers(0, S, (N, T + 1))]
    x = np.concatenate([states[:, :T]] * clones, axis=1)  # clones share the network, bid separately
    bids = head.sample(policy.apply(p_pi, x), rng)
    # log π_old − log π in {±0.05, ±0.5}: ratios 0.61, 0.95, 1.05, 1.65, clipped or not with either sign
    # of A, and at least 0.13 in log from the clip edges (a difference step moves log π by < 0.01)
    offset = rng.choice([-0.5, -0.05, 0.05, 0.5], bids.shape)
    old = head.evaluate(policy.apply(p_pi, x), bids).log_prob + offset
    v_all = critic.apply(p_v, states)[..., 0]
    r = rng.normal(size=(N, T))
    adv = nn.gae(r, v_all[:, :T], v_all[:, 1:], 0.99, 0.95, truncated_t=rng.random((N, T)) < 0.2)
    A = np.concatenate([nn.normalize_advantages(adv.advantage)] * clones, axis=1)

    def policy_loss(p: nn.Params) -> tuple[float, nn.Params]:
        z, cache = policy.forward(p, x)
        ev = head.evaluate(z, bids)
        pi, ent = nn.ppo_clip(ev.log_prob, old, A, 0.2), nn.entropy_bonus(ev.entropy, 0.1)
        return float((pi.loss + ent.loss).sum()), policy.backward(p, cache, ev.input_grad(pi.grad, ent.grad)).params

    def value_loss(p: nn.Params) -> tuple[float, nn.Params]:
        z, cache = critic.forward(p, states[:, :T])
        m = nn.value_mse(nn.ValueHead().value(z), adv.target)
        l2, g2 = nn.l2_penalty(p, 1e-3)
        grads = critic.backward(p, cache, nn.ValueHead().input_grad(m.grad)).params
        return float((m.loss + l2).sum()), {k: grads[k] + g2[k] for k in p}

    ratio = np.exp(head.evaluate(policy.apply(p_pi, x), bids).log_prob - old)
    assert np.any((A > 0) & (ratio > 1.2))  # both clipped regions take part
    assert np.any((A < 0) & (ratio < 0.8))
    for loss_fn, params in ((policy_loss, p_pi), (value_loss, p_v)):
        analytic = loss_fn(params)[1]
        numeric = nn.numerical_param_gradients(lambda p, f=loss_fn: f(p)[0], params, h=1e-3)
        assert max(nn.max_relative_error(analytic[k], numeric[k]) for k in params) < TOL


# --- optional: an independent automatic-differentiation cross-check -----------------------------


def test_autograd_cross_check() -> None:
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    asp = pytest.importorskip("autograd.scipy.special")
    rng, head = _rng(25), nn.BetaHead()
    z = _beta_z(rng, (2, 5))
    x = head.sample(z, rng)

    def beta_terms(v):
        mu, kappa = 1.0 / (1.0 + anp.exp(-v[..., 0])), anp.logaddexp(0.0, v[..., 1])
        a, c = mu * kappa, (1.0 - mu) * kappa
        log_b = asp.gammaln(a) + asp.gammaln(c) - asp.gammaln(kappa)
        lp = (a - 1.0) * anp.log(x) + (c - 1.0) * anp.log1p(-x) - log_b
        h = log_b - (a - 1.0) * asp.digamma(a) - (c - 1.0) * asp.digamma(c) + (kappa - 2.0) * asp.digamma(kappa)
        return lp, h

    ev = head.evaluate(z, x)
    g_lp = autograd.grad(lambda v: anp.sum(beta_terms(v)[0]))(z)
    g_h = autograd.grad(lambda v: anp.sum(beta_terms(v)[1]))(z)
    np.testing.assert_allclose(ev.d_log_prob, g_lp, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ev.d_entropy, g_h, rtol=1e-10, atol=1e-12)

    net = nn.MLP((3, 6, 2), activation="tanh")
    params = net.init_params(rng, (2,))
    xin, c = rng.normal(size=(2, 7, 3)), rng.normal(size=(2, 7, 2))

    def mlp_loss(W0, b0, W1, b1):
        h = anp.tanh(anp.matmul(xin, W0) + b0[:, None, :])
        return anp.sum(c * (anp.matmul(h, W1) + b1[:, None, :]))

    _, cache = net.forward(params, xin)
    ours = net.backward(params, cache, c).params
    keys = ("W0", "b0", "W1", "b1")
    for i, k in enumerate(keys):
        theirs = autograd.grad(mlp_loss, i)(*(params[key] for key in keys))
        np.testing.assert_allclose(ours[k], theirs, rtol=1e-12, atol=1e-13)
