"""The learners' maths: Beta log-density and entropy gradients, batched updates, schedules."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special, stats

from mechanism.learners import (
    LEARNERS,
    PolicyGradient,
    Valuation,
    beta_entropy,
    beta_entropy_grad,
    beta_fisher,
    beta_log_prob,
    beta_log_prob_grad,
    beta_shape,
    scatter_mean,
)
from mechanism.learners.policy_gradient import THETA2_UNIFORM

thetas = st.tuples(st.floats(-4, 4), st.floats(-2, 6))


def test_initial_bids_are_uniform():
    # Beta(1, 1) at theta1 = 0, softplus(theta2) = 2 (the paper's initialisation).
    a, b = beta_shape(np.array(0.0), np.array(THETA2_UNIFORM))
    assert a == pytest.approx(1.0)
    assert b == pytest.approx(1.0)


@given(thetas, st.floats(0.01, 0.99))
def test_log_prob_and_entropy_match_scipy(theta, bid):
    t1, t2 = np.array(theta[0]), np.array(theta[1])
    a, b = beta_shape(t1, t2)
    assert beta_log_prob(np.array(bid), t1, t2) == pytest.approx(stats.beta.logpdf(bid, a, b), rel=1e-9, abs=1e-9)
    assert beta_entropy(t1, t2) == pytest.approx(stats.beta.entropy(a, b), rel=1e-9, abs=1e-9)


@given(thetas, st.floats(0.01, 0.99))
def test_gradients_match_central_differences(theta, bid):
    # Independent check of the closed forms in the module docstring: d/dθ by central differences.
    t1, t2, b, h = np.array(theta[0]), np.array(theta[1]), np.array(bid), 1e-6
    g1, g2 = beta_log_prob_grad(b, t1, t2)
    fd1 = (beta_log_prob(b, t1 + h, t2) - beta_log_prob(b, t1 - h, t2)) / (2 * h)
    fd2 = (beta_log_prob(b, t1, t2 + h) - beta_log_prob(b, t1, t2 - h)) / (2 * h)
    assert g1 == pytest.approx(fd1, rel=1e-4, abs=1e-5)
    assert g2 == pytest.approx(fd2, rel=1e-4, abs=1e-5)
    e1, e2 = beta_entropy_grad(t1, t2)
    assert e1 == pytest.approx((beta_entropy(t1 + h, t2) - beta_entropy(t1 - h, t2)) / (2 * h), rel=1e-4, abs=1e-5)
    assert e2 == pytest.approx((beta_entropy(t1, t2 + h) - beta_entropy(t1, t2 - h)) / (2 * h), rel=1e-4, abs=1e-5)


def test_score_has_zero_mean():
    # E[∇ log p(b)] = 0: a sign error in either component would show here.
    rng = np.random.default_rng(0)
    t1, t2 = np.array(0.7), np.array(2.5)
    a, b = beta_shape(t1, t2)
    bids = rng.beta(a, b, 200_000)
    g1, g2 = beta_log_prob_grad(bids, t1, t2)
    assert abs(g1.mean()) < 0.02
    assert abs(g2.mean()) < 0.02
    # A planted bug (the wrong sign on log(1 − b)) is caught by the same test.
    wrong = np.log(bids) + np.log1p(-bids)
    assert abs(wrong.mean() - (np.log(bids).mean() - np.log1p(-bids).mean())) > 0.1


def test_fisher_is_the_score_covariance():
    # F = Cov[(∂ log p/∂α, ∂ log p/∂β)], estimated from 400k draws; the closed form uses trigammas.
    rng = np.random.default_rng(1)
    a, b = 2.5, 0.8
    x = rng.beta(a, b, 400_000)
    psi = special.digamma
    score = np.stack([np.log(x) - psi(a) + psi(a + b), np.log1p(-x) - psi(b) + psi(a + b)])
    F_aa, F_bb, F_ab = beta_fisher(np.array(a), np.array(b))
    np.testing.assert_allclose(np.cov(score), [[F_aa, F_ab], [F_ab, F_bb]], rtol=0.03)


def _beta_kl(a1, b1, a2, b2):
    # KL(Beta(a1, b1) || Beta(a2, b2)), the closed form.
    psi = special.digamma
    return (special.betaln(a2, b2) - special.betaln(a1, b1) + (a1 - a2) * psi(a1) + (b1 - b2) * psi(b1)
            + (a2 - a1 + b2 - b1) * psi(a1 + b1))


def _one_cell_round(learner, params, rng, lanes=64):
    # One solitary bidder in one state, utility 10·b: the gradient pushes the mean bid up.
    from mechanism.learners.base import Transition

    z = np.zeros((1, lanes), dtype=np.intp)
    bids = learner.sample(params, z, z, 0.0, rng)
    return Transition(z, z, bids, z, z, np.zeros((1, lanes)), z, np.zeros((1, lanes), bool), 0.9,
                      np.zeros((1, lanes)), 10 * bids[..., 0], np.zeros((1, lanes)), 0.0, np.zeros(bids.shape))


@pytest.mark.parametrize("kl_max", [0.001, 0.01])
def test_natural_step_stays_in_its_trust_region(kl_max):
    rng = np.random.default_rng(0)
    for optimizer, lr, inside in [("natural", 1e6, True), ("sgd", 1.0, False)]:
        learner = PolicyGradient(optimizer=optimizer, lr=lr, kl_max=kl_max, entropy=0.0)
        p = learner.init(1, 1, 1, 1, rng)
        for _ in range(5):
            before = beta_shape(p.theta1[0, 0, 0], p.theta2[0, 0, 0])
            learner.update(p, _one_cell_round(learner, p, rng))
            after = beta_shape(p.theta1[0, 0, 0], p.theta2[0, 0, 0])
            kl = _beta_kl(*before, *after)
            # The bound is on the second-order estimate ½ΔᵀFΔ; the exact KL may exceed it slightly.
            assert (kl <= 1.2 * kl_max) == inside, (optimizer, kl)
        assert special.expit(p.theta1[0, 0, 0]) > 0.5  # the mean bid went up


def test_scatter_mean():
    cells, mean, count = scatter_mean(np.array([1.0, 3.0, 5.0, 7.0]), np.array([7, 0, 7, 2]))
    np.testing.assert_array_equal(cells, [0, 2, 7])  # only the visited cells, sorted
    np.testing.assert_array_equal(mean, [3.0, 7.0, 3.0])
    np.testing.assert_array_equal(count, [1.0, 1.0, 2.0])


def test_batched_constant_step_equals_sequential_updates():
    # k visits with the same target in one round = k sequential steps: v = r·(1 − (1 − α)^k).
    from mechanism.learners.base import Transition

    learner = Valuation(step_size=0.1)
    p = learner.init(1, 1, 2, 1, np.random.default_rng(0))
    z = np.zeros((1, 5), dtype=np.intp)
    step = Transition(z, z, np.zeros((1, 5, 2)), z, z, np.zeros((1, 5)), z, np.zeros((1, 5), bool), 0.9,
                      np.zeros((1, 5)), np.full((1, 5), 0.5), np.zeros((1, 5)), 0.0, np.zeros((1, 5, 2)))
    learner.update(p, step)
    assert p.v[0, 0, 0] == pytest.approx(0.5 * (1 - 0.9**5), rel=1e-12)
    assert p.v[0, 0, 1] == 0.0


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (Valuation, {"step_size": 0.0}),
        (Valuation, {"step_size": "1/t"}),
        (Valuation, {"epsilon": 1.5}),
        (Valuation, {"bid_range": (1.0, 0.0)}),
        (Valuation, {"exploration": "softmax"}),
        (Valuation, {"step_power": 0.5}),
        (Valuation, {"step_power": 1.5}),
        (Valuation, {"step_offset": 0.0}),
        (Valuation, {"schedule": "linear"}),
        (Valuation, {"epsilon_steps": 0}),
        (Valuation, {"epsilon_final": -0.1}),
        (LEARNERS["q_learning"], {"step_size": "1/t"}),
        (LEARNERS["q_learning"], {"schedule": "episodes"}),
        (PolicyGradient, {"lr": -1.0}),
        (PolicyGradient, {"baseline_step": 0.0}),
        (PolicyGradient, {"optimizer": "rmsprop"}),
        (PolicyGradient, {"kl_max": 0.0}),
        (PolicyGradient, {"entropy_final": -1.0}),
        (LEARNERS["q_learning"], {"step_size": 2.0}),
        (LEARNERS["softmax_pg"], {"entropy": -0.1}),
    ],
)
def test_bad_hyperparameters_are_refused(cls, kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        cls(**kwargs)


def test_trigamma_matches_scipy_polygamma() -> None:
    """The learner's branch-free ψ₁ (A&S 6.4.6 recurrence + 6.4.12 series) against scipy's Hurwitz-zeta route."""
    from mechanism.learners.policy_gradient import trigamma

    x = np.concatenate([np.geomspace(1e-6, 1e6, 2001), np.linspace(0.01, 30.0, 1001), [1.0, 0.5]])
    np.testing.assert_allclose(trigamma(x), special.polygamma(1, x), rtol=1e-13)
    assert trigamma(np.array([1.0]))[0] == pytest.approx(np.pi**2 / 6, rel=1e-14)  # ψ₁(1) = ζ(2), A&S 6.4.2
