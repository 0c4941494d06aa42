"""Neural PPO bidders and the monolithic PPO baseline (mechanism.learners.ppo, ppo_monolithic, ppo_core).

What is checked, and against what:

- the gradient of the PPO loss through the concentration link and the lookup of per-state rows
  equals the five-point central difference of the loss (the bar of issue 12, 1e−6), and one
  update lowers the loss on a fixed batch;
- clones share their primitive's network (identical Beta) and draw their own bids;
- dropout: a primitive sits out with the probability of its rule, p − p²/2 for two primitives
  (it sits out when its uniform is below p and below the other's), never all at once, and its
  samples carry no weight;
- the behaviour log-probability stored with every sample is that of the policy that drew it, also
  for the round that straddles an update (a planted variant that uses the current policy is caught);
- the same seeds give the same run bit for bit; features and settings by name; bad input errors;
- a short bandit run: the best arm's bid near 0.8 = Q* (a loose bound; the 0.02 target is in
  tests/benchmarks/test_bench_ppo.py), and the monolithic baseline's greedy policy on the chain.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from scipy import stats
from scipy.special import betaln

import mechanism
import tasks
from mechanism import neural as nn
from mechanism.learners.ppo import PPO, PPOParams, refresh
from mechanism.learners.ppo_core import Batch, beta_link, policy_gradient, policy_loss, ppo_update
from mechanism.learners.ppo_monolithic import MonolithicPPO
from mechanism.learners.ppo_settings import PPO_SETTINGS
from mechanism.neural.features import state_features

TOL = 1e-6  # issue 12: gradient checks at 1e-6 relative error


def _batch(learner: PPO, rng: np.random.Generator, N: int = 2, A: int = 2, S: int = 5, B: int = 64) -> Any:
    """Networks from ``learner`` (moved off their zero start) and a random batch of B samples per network."""
    features = state_features(learner.features, S)
    nets = learner.networks(features.shape[1])
    state = nets.init(rng, (N, A))
    state.policy = {k: v + rng.normal(0.0, 0.3, v.shape) for k, v in state.policy.items()}
    states = rng.integers(0, S, (N, A, B))
    z = nets.head_input(nets.policy.apply(state.policy, features))[0]
    zs = nn.lookup(z, states)
    bids = nets.head.sample(zs, rng)
    log_old = nets.head.evaluate(zs, bids).log_prob + rng.normal(0.0, 0.1, bids.shape)  # ratios away from 1
    weight = (rng.random(bids.shape) < 0.8).astype(float)
    batch = Batch(states, bids, weight, log_old, rng.normal(size=bids.shape), rng.normal(size=bids.shape),
                  np.zeros(bids.shape, dtype=np.intp))
    return nets, state, features, batch


@pytest.mark.parametrize("concentration", ["softplus", "log"])
def test_policy_gradient_matches_central_differences(concentration: str) -> None:
    rng = np.random.default_rng(1)
    learner = PPO(concentration=concentration, clip=0.3, hidden=(5,), activation="tanh")
    nets, state, features, batch = _batch(learner, rng)
    _, grads = policy_gradient(nets, state, features, batch, 0.05)

    def total(params: nn.Params) -> float:
        state.policy, saved = dict(params), state.policy
        try:
            return float(policy_loss(nets, state, features, batch, 0.05).sum())
        finally:
            state.policy = saved

    numeric = nn.numerical_param_gradients(total, state.policy, h=1e-5)
    for key in grads:
        assert nn.max_relative_error(grads[key], numeric[key]) < TOL, key


def test_log_concentration_link_and_its_jacobian() -> None:
    rng = np.random.default_rng(2)
    z = np.stack([rng.normal(size=50), rng.uniform(-3.0, 9.0, 50)], axis=-1)
    head, jac = beta_link(z, "log")
    assert jac is not None
    # softplus(z₂) of the head's input is e^u: the concentration is e^u exactly
    np.testing.assert_allclose(np.logaddexp(0.0, head[..., 1]), np.exp(z[..., 1]), rtol=1e-12)
    numeric = np.array([nn.numerical_gradient(lambda x: float(beta_link(np.array([[0.0, x[0]]]), "log")[0][0, 1]),
                                              np.array([u])) for u in z[:, 1]])[:, 0]
    assert nn.max_relative_error(jac[:, 1], numeric) < TOL
    capped, jac_cap = beta_link(np.array([[0.0, 12.0]]), "log", max_concentration=1e3)
    assert np.logaddexp(0.0, capped[0, 1]) == pytest.approx(1e3, rel=1e-12)
    assert jac_cap is not None
    assert jac_cap[0, 1] == 0.0


def test_one_update_lowers_the_loss_on_a_fixed_batch() -> None:
    rng = np.random.default_rng(3)
    learner = PPO(lr=1e-3, minibatch=64, epochs=1)
    nets, state, features, batch = _batch(learner, rng)
    before = policy_loss(nets, state, features, batch, 0.01)
    ppo_update(nets, state, features, batch, np.random.default_rng(0), 0.01)  # one minibatch = the batch
    after = policy_loss(nets, state, features, batch, 0.01)
    assert (after < before).all(), (before, after)


def _params(learner: PPO, N: int = 2, S: int = 4, A: int = 2, clones: int = 2, **kw: Any) -> PPOParams:
    return learner.init(N, S, A, clones, np.random.default_rng(0), **kw)


def test_clones_share_the_network_and_draw_their_own_bids() -> None:
    learner = PPO(dropout=0.0)
    params = _params(learner, clones=3)
    params.train.policy["b1"] = params.train.policy["b1"] + np.array([[[0.3, 0.5], [-0.4, 0.8]]])  # per primitive
    refresh(params)
    A = 2
    for m in range(6):  # bidder m plays primitive m % A: same Beta as its primitive
        np.testing.assert_array_equal(params.alpha_m[..., m], params.alpha[..., m % A])
    s = np.zeros((2, 4000), dtype=np.intp)
    seed = np.repeat(np.arange(2), 4000).reshape(2, 4000)
    bids = learner.sample(params, seed, s, 0.0, np.random.default_rng(1))
    assert not np.array_equal(bids[..., 0], bids[..., 2])  # clones 0 and 1 of primitive 0 draw apart
    for m in range(6):  # ... from the same Beta (Kolmogorov-Smirnov against it)
        a, b = params.alpha[0, 0, m % A], params.beta[0, 0, m % A]
        assert stats.kstest(bids[0, :, m], stats.beta(a, b).cdf).pvalue > 1e-3
    means = learner.mean_bids(params)
    np.testing.assert_array_equal(means[..., :2], means[..., 2:4])


def test_dropout_rate_and_masks() -> None:
    p = 0.3
    learner = PPO(dropout=p)
    params = _params(learner, N=1, S=2, clones=2)
    s = np.zeros((1, 20_000), dtype=np.intp)
    bids = learner.sample(params, np.zeros_like(s), s, 0.0, np.random.default_rng(4))
    out = bids == 0.0
    np.testing.assert_array_equal(out[..., :2], out[..., 2:])  # a primitive sits out with all its clones
    assert not out.all(axis=-1).any()  # someone always bids
    # P(primitive 0 out) = P(u₀ < p, u₀ < u₁) = ∫_0^p (1 − u) du = p − p²/2
    rate = out[..., 0].mean()
    assert rate == pytest.approx(p - p * p / 2, abs=4 * np.sqrt(0.25 / out[..., 0].size))


def test_dropout_respects_the_action_mask_and_weights_nothing_it_drops() -> None:
    mdp = tasks.make("chain/0")
    available = np.ones((mdp.n_states, mdp.n_actions), dtype=bool)
    available[2, 0] = False
    learner = PPO(dropout=0.9, epoch_steps=64)
    params = _params(learner, N=1, S=mdp.n_states, clones=2, available=available)
    s = np.full((1, 5000), 2)
    bids = learner.sample(params, np.zeros_like(s), s, 0.0, np.random.default_rng(5))
    assert np.isnan(bids[..., [0, 2]]).all()  # the unavailable primitive takes no part ...
    assert (bids[..., [1, 3]] > 0).all()  # ... so the available one always stays
    run = mechanism.train(mdp, "ccv", clones=2, learner=PPO(dropout=0.5, epoch_steps=64), steps=256, seeds=1,
                          episodes=16, checkpoints=1)
    assert np.isfinite(run.final_bids).all()


def test_a_dropped_or_absent_bidder_has_weight_zero_in_the_batch() -> None:
    learner = PPO(dropout=0.5, epoch_steps=32)
    mdp = tasks.make("bandit/0")
    params: list[PPOParams] = []

    class Spy(PPO):
        def batch(self, p: PPOParams, buf: dict[str, Any], gamma: float) -> Batch:
            out = super().batch(p, buf, gamma)
            params.append(p)
            bids = np.transpose(buf["bids"].reshape(*buf["bids"].shape[:3], 2, 4), (1, 4, 2, 3, 0)).reshape(
                out.weight.shape)
            np.testing.assert_array_equal(out.weight, (bids > 0).astype(float))
            assert 0.3 < 1.0 - out.weight.mean() < 0.6  # dropout 0.5 with four primitives
            return out

    spy = Spy(**{f: getattr(learner, f) for f in ("dropout", "epoch_steps")})
    mechanism.train(mdp, "vickrey", clones=2, learner=spy, steps=256, seeds=1, episodes=32, checkpoints=1)
    assert params


class _Recorder(PPO):
    """PPO that records, per sample call, the policy version that drew it, and checks every stored
    behaviour log-probability against the Beta of that version (an independent recomputation)."""

    def __init__(self, planted: bool = False, **kw: Any) -> None:
        super().__init__(**kw)
        object.__setattr__(self, "_log", {"version": [], "tables": {}, "checked": 0, "planted": planted})

    def sample(self, params: PPOParams, seed: Any, s: Any, progress: float, rng: Any, env_steps: int = 0) -> Any:
        bids = super().sample(params, seed, s, progress, rng, env_steps)
        log = self._log  # type: ignore[attr-defined]
        log["tables"][params.updates] = (params.alpha_m.copy(), params.beta_m.copy())
        if np.shape(s) == params.round_shape or not params.round_shape:
            log["version"].append(params.updates)  # the version that drew the next round delivered
        return bids

    def update(self, params: PPOParams, step: Any) -> None:
        log = self._log  # type: ignore[attr-defined]
        if log["planted"]:
            params.straddle = False  # the bug: the straddling round scored with the current policy
        k = params.fill if params.pending is None else 0
        super().update(params, step)
        drawn_by = log["version"][-2]  # the round delivered was drawn at the previous whole-round call
        a, c = log["tables"][drawn_by]
        a, c = a[step.seed, step.s_t], c[step.seed, step.s_t]
        b = step.bids_t
        expected = (a - 1.0) * np.log(b) + (c - 1.0) * np.log1p(-b) - betaln(a, c)
        assert params.buffer is not None
        np.testing.assert_allclose(params.buffer["log_prob"][k], expected, rtol=1e-12, atol=1e-12)
        log["checked"] += 1


def test_behaviour_log_probs_are_those_of_the_policy_that_drew_the_bids() -> None:
    mdp = tasks.make("chain/0")  # time limit 20: restarts after truncation are drawn mid-round
    kw: dict[str, Any] = {"epoch_steps": 64, "dropout": 0.0, "lr": 0.05}
    recorder = _Recorder(**kw)
    mechanism.train(mdp, "ccv", clones=2, learner=recorder, steps=2048, seeds=2, episodes=16, checkpoints=1)
    assert recorder._log["checked"] == 128  # type: ignore[attr-defined]
    with pytest.raises(AssertionError):
        mechanism.train(mdp, "ccv", clones=2, learner=_Recorder(planted=True, **kw), steps=2048, seeds=2,
                        episodes=16, checkpoints=1)


def test_same_seeds_same_run_bit_for_bit() -> None:
    mdp = tasks.make("chain/0")

    def run() -> mechanism.TrainResult:
        return mechanism.train(mdp, "ccv", clones=2, learner=PPO(epoch_steps=256), steps=2048, seeds=[3, 4],
                               episodes=32, checkpoints=4)

    first, second = run(), run()
    np.testing.assert_array_equal(first.bids, second.bids)
    np.testing.assert_array_equal(first.bid_params["concentration"], second.bid_params["concentration"])
    assert not np.array_equal(first.bids[-1, 0], first.bids[-1, 1])  # the two seeds differ


def test_features_by_name_and_callable() -> None:
    np.testing.assert_array_equal(state_features("onehot", 3), np.eye(3))
    np.testing.assert_array_equal(state_features("coords", 3), [[0.0], [0.5], [1.0]])
    np.testing.assert_array_equal(state_features(lambda s: np.stack([s, s * s], -1), 3), [[0, 0], [1, 1], [2, 4]])
    mdp = tasks.make("chain/0")
    for features in ("coords", lambda s: np.stack([s % 2, s // 2], -1)):
        run = mechanism.train(mdp, "ccv", clones=2, learner=PPO(features=features, epoch_steps=128), steps=512,
                              seeds=1, episodes=32, checkpoints=1)
        assert run.final_bids.shape == (1, mdp.n_states, 4)
        assert np.isfinite(run.final_bids).all()


def test_bad_inputs_raise_named_errors() -> None:
    with pytest.raises(ValueError, match="features must be one of"):
        PPO(features="pixels")
    with pytest.raises(TypeError, match="features must be one of"):
        PPO(features=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"features\(states\) must return"):
        state_features(lambda s: np.zeros((2, 2)), 3)
    with pytest.raises(ValueError, match="non-finite"):
        state_features(lambda s: np.full(3, np.nan), 3)
    with pytest.raises(ValueError, match="settings must be one of"):
        PPO(settings="authors")
    with pytest.raises(ValueError, match="lr must be a positive"):
        PPO(lr=-1.0)
    with pytest.raises(ValueError, match="dropout must lie in"):
        PPO(dropout=1.0)
    with pytest.raises(ValueError, match="concentration must be one of"):
        PPO(concentration="exp")
    with pytest.raises(ValueError, match="hidden must be a non-empty"):
        PPO(hidden=())
    with pytest.raises(ValueError, match="activation must be one of"):
        MonolithicPPO(activation="gelu")
    with pytest.raises(ValueError, match="lam must lie in"):
        MonolithicPPO(lam=1.5)


def test_settings_by_name_and_explicit_values_win() -> None:
    paper = PPO(settings="paper")
    for key, value in PPO_SETTINGS["paper"].items():
        assert getattr(paper, key) == value, key
    assert (paper.lr, paper.value_lr, paper.entropy, paper.clip, paper.lam) == (4e-5, 5e-3, 0.1, 0.2, 0.95)
    assert (paper.epoch_steps, paper.minibatch, paper.hidden) == (4096, 256, (16,))
    assert PPO(settings="paper", lr=1e-3).lr == 1e-3
    assert PPO().settings == "agora"
    assert PPO().concentration == PPO_SETTINGS["agora"]["concentration"]


def test_short_bandit_run_bids_near_the_best_arm_value() -> None:
    # bandit/0: Q* = (0.2, 0.4, 0.6, 0.8) (PAPER.md); cloned vickrey: the winner's twin sets its price
    mdp = tasks.make("bandit/0")
    run = mechanism.train(mdp, "vickrey", clones=2, learner=PPO(), steps=24_576, seeds=1, episodes=64,
                          checkpoints=1)
    best = run.primitive_bids[-1, 0, 0]
    assert int(np.argmax(best)) == 3
    assert abs(best[3] - 0.8) < 0.05


def test_monolithic_baseline_finds_the_chain_policy() -> None:
    mdp = tasks.make("chain/0")
    run = mechanism.train(mdp, "ccv", learner=MonolithicPPO(), steps=40_960, seeds=2, episodes=64, checkpoints=1)
    assert run.config.clones == 1
    assert run.config.mechanism == "monolithic"
    np.testing.assert_array_equal(run.final_policy[:, :5], 1)  # right, everywhere before the goal
    q_right = np.array([0.768477, 0.776239, 0.784080, 0.792000, 0.800000])  # PAPER.md's Q*(s, right)
    assert np.abs(run.final_bids[:, :5, 1] - q_right).max() < 0.05
    probs = run.bid_params["probability"][-1]
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-12)


def test_monolithic_baseline_never_takes_an_unavailable_action() -> None:
    mdp = tasks.make("chain/0")
    available = np.ones((mdp.n_states, mdp.n_actions), dtype=bool)
    available[1, 1] = False
    learner = MonolithicPPO()
    params = learner.init(1, mdp.n_states, 2, 1, np.random.default_rng(0), available=available)
    s = np.ones((1, 2000), dtype=np.intp)
    assert (learner.act(params, np.zeros_like(s), s, 0.0, np.random.default_rng(1)) == 0).all()
    assert np.isnan(learner.mean_bids(params)[0, 1, 1])
    assert learner.greedy(params)[0, 1] == 0


def test_registered_names_pass_features_and_settings_through_train() -> None:
    mdp = tasks.make("chain/0")
    run = mechanism.train(mdp, "ccv", learner="ppo", features="coords", settings="paper", steps=512, seeds=1,
                          checkpoints=1)
    hp = dict(run.config.hyperparameters)
    assert (hp["features"], hp["settings"], hp["lr"], hp["epoch_steps"]) == ("coords", "paper", 4e-5, 4096)
    assert set(run.bid_params) == {"mean", "concentration"}
    np.testing.assert_array_equal(run.bid_params["concentration"][0], 2.0)  # Beta(1, 1) at the start
    mono = mechanism.train(mdp, "ccv", learner="ppo_monolithic", steps=512, seeds=1, checkpoints=1)
    assert set(mono.bid_params) == {"Q", "probability"}
    with pytest.raises(TypeError, match="takes no hyperparameter"):
        mechanism.train(mdp, "ccv", learner="ppo", step_size=0.1, steps=512, seeds=1)


def test_training_under_an_action_mask() -> None:
    mdp = tasks.make("chain/0")
    mask = np.ones((mdp.n_states, mdp.n_actions), dtype=bool)
    mask[2, 0] = False  # no "left" at state 2
    masked = dataclasses.replace(mdp, available=mask)
    for name in ("ppo", "ppo_monolithic"):
        run = mechanism.train(masked, "ccv", learner=name, steps=2048, seeds=1, checkpoints=1)
        bids = run.final_bids[0]  # (S, M), bidder m plays m % 2
        absent = np.zeros(bids.shape, dtype=bool)
        absent[2, 0::2] = True
        assert np.isnan(bids[absent]).all()
        assert np.isfinite(bids[~absent]).all()
        assert (run.final_policy[:, 2] == 1).all()


def test_gae_advantages_follow_each_bidders_episodes() -> None:
    # memoryless=False: A_t = δ_t + γλ(1 − end_t)·A_{t+1}, δ_t = U_t + γ(1 − terminated_t)·V(s_{t+1}) − V(s_t)
    # (Schulman et al. 2016, eq. 16) along each bidder's rounds, recomputed here by a plain loop.
    mdp, gamma, lam = tasks.make("chain/0"), 0.99, 0.9
    seen: list[tuple[Any, Batch, Any]] = []

    class Spy(PPO):
        def batch(self, p: PPOParams, buf: dict[str, Any], g: float) -> Batch:
            V = p.nets.value.apply(p.train.value, p.features)[..., 0]  # (N, A, S)
            seen.append(({k: v.copy() for k, v in buf.items()}, super().batch(p, buf, g), V))
            return seen[-1][1]

    learner = Spy(memoryless=False, lam=lam, normalize=False, epoch_steps=400, dropout=0.0)
    mechanism.train(mdp, "ccv", clones=2, learner=learner, steps=800, seeds=1, episodes=4, checkpoints=1, time_limit=8)
    buf, batch, V = seen[0]
    R, N, E, M = buf["bids"].shape
    cut = (buf["s"][1:] != buf["s_tp1"][:-1]) & ~buf["terminated"][:-1]
    assert cut.any()
    assert buf["terminated"].any()
    A = 2
    adv = batch.advantage.reshape(N, A, E, 2, R)
    for n, e, m in np.ndindex(N, E, M):
        running = 0.0
        for k in reversed(range(R)):
            s, s1, term = buf["s"][k, n, e], buf["s_tp1"][k, n, e], buf["terminated"][k, n, e]
            end = term or k == R - 1 or buf["s"][k + 1, n, e] != s1
            v = V[n, m % A]
            delta = buf["utility"][k, n, e, m] + gamma * (0.0 if term else v[s1]) - v[s]
            running = delta + (0.0 if end else gamma * lam * running)
            assert adv[n, m % A, e, m // A, k] == pytest.approx(running, abs=1e-12)
