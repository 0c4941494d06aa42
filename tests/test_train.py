"""mechanism.train: convergence on small budgets, determinism, finiteness, validation."""

import numpy as np
import pytest

import tasks
import verify
from mechanism import MECHANISMS, TrainResult, train

# Q* of the chain at γ = 0.99 (PAPER.md table): Q*(s, right) = 0.8·γ^(4−s), Q*(s, left) = γ·V*(s−1).
CHAIN_RIGHT = 0.8 * 0.99 ** np.arange(4, -1, -1)


@pytest.fixture(scope="module")
def chain():
    return tasks.chain()


@pytest.fixture(scope="module")
def bandit():
    return tasks.bandit(4)


def test_result_shapes_and_config(chain):
    res = train(chain, "ccv", clones=2, steps=640, seeds=3, checkpoints=4, episodes=32)
    assert isinstance(res, TrainResult)
    C = len(res.steps)
    assert res.bids.shape == (C, 3, 6, 4)
    assert res.policy.shape == (C, 3, 6)
    assert res.final_bids.shape == (3, 6, 4)
    assert res.steps[0] == 0
    assert res.steps[-1] == 640
    assert res.primitive_of.tolist() == [0, 1, 0, 1]
    assert res.config.seeds == (0, 1, 2)
    assert res.config.mechanism == "ccv"
    assert res.config.steps == 640
    hyper = dict(res.config.hyperparameters)
    assert (hyper["step_size"], hyper["schedule"], hyper["exploration"]) == ("kesten", "steps", "swap")
    # The full bid parameters, per primitive, at every checkpoint.
    assert set(res.bid_params) == {"estimate", "visits"}
    assert res.bid_params["estimate"].shape == res.bid_params["visits"].shape == (C, 3, 6, 2)
    np.testing.assert_array_equal(res.bid_params["estimate"], res.primitive_bids)
    assert res.bid_params["visits"][-1].sum() == 3 * 640  # one winner per env step


def test_valuation_bandit_reaches_the_rewards_exactly(bandit):
    # One-step bandit: the revenue is the deterministic reward (k+1)/5 (PAPER.md), so every arm's
    # estimate is r·(1 − 0.9^n) after n wins; 8000 steps give each arm hundreds of wins.
    res = train(bandit, "vickrey", clones=2, steps=8_000, seeds=3)
    np.testing.assert_allclose(res.primitive_bids[-1][:, 0], np.tile([0.2, 0.4, 0.6, 0.8], (3, 1)), atol=1e-6)
    assert (res.final_policy[:, 0] == 3).all()


def test_valuation_chain_cloned_ccv_converges(chain):
    res = train(chain, "ccv", clones=2, steps=40_000, seeds=3)
    bids = res.primitive_bids[-1][:, :5]
    # Stated tolerance for this budget: 0.02 (the 200k-step benchmark asks 0.01).
    np.testing.assert_allclose(bids[:, :, 1], np.tile(CHAIN_RIGHT, (3, 1)), atol=0.02)
    np.testing.assert_allclose(bids[:, 1:, 0], 0.99 * bids[:, :-1, 1], atol=0.02)
    assert (res.final_policy[:, :5] == 1).all()


def test_overbid_and_swap_exploration_keep_the_credit_clean(chain):
    # One explorer per auction takes (swap) or tops (overbid) the best estimate: it wins, and the
    # price and the ccv credit stay at the truthful top bid, so the estimates reach Q* to rounding at
    # 20k steps; uniform exploration bids (the old default) corrupt the credit (b⁽²⁾ drops) and one
    # seed is still 0.19 away.
    from mechanism.learners import LEGACY
    from verify.experiments import assess

    kw = dict(clones=2, steps=20_000, seeds=2, checkpoints=1)
    legacy = LEGACY["valuation"]
    overbid = assess(train(chain, "ccv", **{**legacy, "exploration": "overbid"}, **kw), chain)
    swap = assess(train(chain, "ccv", **kw), chain)
    uniform = assess(train(chain, "ccv", **legacy, **kw), chain)
    assert overbid.max_error[-1].max() <= 1e-9
    assert swap.max_error[-1].max() <= 1e-9
    assert uniform.max_error[-1].max() > 0.1


def test_q_learning_baseline_converges(chain):
    res = train(chain, "ccv", learner="q_learning", steps=20_000, seeds=2)
    assert res.config.mechanism == "monolithic"
    assert res.config.clones == 1
    np.testing.assert_allclose(res.final_bids[:, :5, 1], np.tile(CHAIN_RIGHT, (2, 1)), atol=1e-3)
    assert set(res.bid_params) == {"Q", "visits"}
    np.testing.assert_array_equal(res.bid_params["Q"], res.bids)


def test_policy_gradient_records_its_beta():
    res = train(tasks.bandit(3), "ccv", clones=2, learner="policy_gradient", steps=640, seeds=2, checkpoints=2)
    assert set(res.bid_params) == {"mean", "concentration"}
    assert res.bid_params["mean"].shape == (len(res.steps), 2, 2, 3)  # (C, N, S, A): the bandit has 2 states
    np.testing.assert_allclose(res.bid_params["mean"], res.primitive_bids)
    np.testing.assert_allclose(res.bid_params["concentration"][0], 2.0)  # Beta(1, 1) at the start
    # A learner without ``bid_params`` records none.
    assert train(tasks.bandit(3), "ccv", learner="softmax_pg", steps=64, seeds=1).bid_params == {}


def test_first_price_solitary_policy_gradient_shades(bandit):
    # A solitary first-price winner gains by shading (DESIGN §1): the top bids come from the two
    # best arms (0.6 and 0.8 compete, Bertrand-like), and the best arm bids clearly below 0.8.
    # Tolerances for 20k steps; the benchmark asks the seed-mean ranking at 100k steps.
    res = train(bandit, "first_price", clones=1, learner="policy_gradient", steps=20_000, seeds=2)
    bids = res.final_bids[:, 0]
    assert set(np.argmax(bids, axis=1).tolist()) <= {2, 3}
    assert (bids[:, 3] < 0.8 - 0.05).all()


def test_policy_gradient_rescaled_chain_needs_the_natural_step():
    # Q* spread over [0, 1]. Utility-only training pins the optimal primitive's bids (they win and
    # set the credit); the natural step sharpens them, so the ccv credit E[b⁽²⁾] loses its noise bias.
    # Stated tolerance for 100k steps: 0.06 (the 200k-step benchmark asks 0.05 in 10 seeds); the
    # same budget with Adam stays above 0.1 (its concentration grows only additively).
    from verify.experiments import assess

    mdp = verify.rescale_rewards(tasks.chain(6), 0.0, 1.0)
    kw = dict(clones=2, learner="policy_gradient", steps=100_000, seeds=2, checkpoints=1)
    natural = assess(train(mdp, "ccv", **kw), mdp)
    adam = assess(train(mdp, "ccv", optimizer="adam", lr=0.1, **kw), mdp)
    assert (natural.max_error_optimal[-1] <= 0.06).all(), natural.max_error_optimal[-1]
    assert (adam.max_error_optimal[-1] > 0.1).all(), adam.max_error_optimal[-1]
    assert (natural.result.final_policy[:, :5] == 1).all()


def test_same_seeds_same_bits(chain):
    kw = dict(steps=2_000, seeds=[4, 7], learner="policy_gradient")
    a, b = train(chain, "ccv", **kw), train(chain, "ccv", **kw)
    np.testing.assert_array_equal(a.bids, b.bids)
    np.testing.assert_array_equal(a.policy, b.policy)
    c = train(chain, "ccv", steps=2_000, seeds=[4, 8], learner="policy_gradient")
    assert not np.array_equal(a.bids, c.bids)


@pytest.mark.parametrize("learner", ["valuation", "policy_gradient", "q_learning", "softmax_pg"])
@pytest.mark.parametrize("mechanism", sorted(set(MECHANISMS)))
def test_learners_never_produce_nan(chain, learner, mechanism):
    res = train(chain, mechanism, clones=1, learner=learner, steps=1_000, seeds=2, checkpoints=2)
    assert np.isfinite(res.bids).all()


def test_truncation_bootstraps():
    # A one-state, never-terminating task cut every step: with bootstrapping the cloned ccv
    # estimate tends to r/(1 − γ) = 0.5/(1 − 0.5) = 1; treating truncation as termination gives 0.5.
    mdp = tasks.FiniteMDP(np.ones((1, 1, 1)), np.array([[0.5]]), 0.5, time_limit=1)
    # A constant step: on this deterministic task the estimate contracts geometrically to its limit.
    res = train(mdp, "ccv", clones=2, steps=20_000, seeds=1, epsilon=0.0, epsilon_final=0.0, step_size=0.5)
    assert res.final_bids[0, 0, 0] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"mechanism": "dutch"}, ValueError, "mechanism 'dutch'"),
        ({"mechanism": 3}, TypeError, "mechanism must be"),
        ({"learner": "sarsa"}, ValueError, "learner 'sarsa'"),
        ({"lr": 0.1}, TypeError, "takes no hyperparameter"),
        ({"steps": 0}, ValueError, "steps"),
        ({"seeds": []}, ValueError, "seeds"),
        ({"seeds": [-1]}, ValueError, "seeds"),
        ({"clones": 0}, ValueError, "clones"),
        ({"checkpoints": [10**9]}, ValueError, "checkpoints"),
        ({"time_limit": True}, TypeError, "time_limit"),
    ],
)
def test_validation(chain, kwargs, error, match):
    args = {"mechanism": "ccv", "steps": 100, "seeds": 1, **kwargs}
    with pytest.raises(error, match=match):
        train(chain, **args)


def test_mdp_must_be_finite_mdp():
    with pytest.raises(TypeError, match="FiniteMDP"):
        train("chain", "ccv")


def test_the_authors_truncation_credits_nothing_at_a_time_limit() -> None:
    """Chain, time limit 1: every step is cut, state 1 is reached but never auctioned, so its bids
    stay at the initial 1. Bootstrapping credits the ccv lookahead at every cut: "right" reaches
    state 1 (credit 1, estimate γ = 0.99), "left" stays at 0 (credit 0.99, the second-highest bid
    there; estimate γ·0.99 = 0.9801). The authors' semantics credits nothing: every estimate goes to 0."""
    import tasks

    mdp = tasks.chain(6)
    kw = dict(clones=2, steps=6_400, seeds=2, time_limit=1, step_size=0.5, initial=1.0)
    zero = train(mdp, "ccv", truncation="zero", **kw)
    boot = train(mdp, "ccv", **kw)
    assert zero.config.truncation == "zero"
    assert np.abs(zero.final_bids[:, 0]).max() < 1e-6
    np.testing.assert_allclose(boot.final_bids[:, 0], [[0.9801, 0.99, 0.9801, 0.99]] * 2, atol=1e-6)
    with pytest.raises(ValueError, match="truncation must be one of"):
        train(mdp, "ccv", truncation="end", **kw)


def test_a_learner_that_bids_for_the_wrong_bidders_is_refused() -> None:
    """Bids of shape (..., 3) for a society of 4 bidders would be auctioned silently; they are an error."""
    import tasks
    from mechanism.learners import LEARNERS

    class ThreeBids(LEARNERS["valuation"]):  # type: ignore[misc, valid-type]
        def sample(self, params, seed, s, progress, rng, env_steps=0):  # type: ignore[no-untyped-def]
            return super().sample(params, seed, s, progress, rng, env_steps=env_steps)[..., :3]

    with pytest.raises(ValueError, match=r"sample returned float64 bids of shape \(10, 32, 3\).*\(10, 32, 4\)"):
        train(tasks.chain(6), "ccv", clones=2, learner=ThreeBids(), steps=640, seeds=10)
