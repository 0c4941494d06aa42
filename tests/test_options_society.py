"""Societies whose primitives are options: the executor, option rollouts, the credit identity with the
cumulative discount, and learners on a semi-MDP (mechanism/execute.py, rollout.py, ledger.py, train.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mechanism.execute
import tasks
import verify
from mechanism import MECHANISMS, BetaBids, Society, Trajectories, credit_gap, cumulative_discounts, rollout, train
from mechanism.execute import execute, executor
from mechanism.learners import PPO, MonolithicPPO, QLearning, Valuation
from mechanism.learners.ppo import PPOParams
from mechanism.learners.ppo_core import Batch
from mechanism.learners.ppo_monolithic import MonolithicParams
from mechanism.transitions import transitions
from tests.strategies import bid_profiles
from verify.strategies import options_mdps

#: |credit gap| of a conserving mechanism: only the rounding of the sums (mechanism/ledger.py).
GAP_TOL = 1e-12


# ------------------------------------------------------------------------------------------ test MDPs
def _noisy_base(gamma: float = 0.5) -> tasks.FiniteMDP:
    """Three states, 2 terminal; both actions stochastic, rewards in [0, 0.4]."""
    P = np.array([
        [[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]],
        [[0.4, 0.4, 0.2], [0.7, 0.1, 0.2]],
        [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]],
    ])
    R = np.array([[0.1, 0.4], [0.3, 0.0], [0.0, 0.0]])
    return tasks.FiniteMDP(P, R, gamma, terminal=np.array([False, False, True]), time_limit=6)


def _noisy_options(base: tasks.FiniteMDP) -> list[tasks.Option]:
    """A stochastic policy with fractional stops, and a deterministic one with fractional stops."""
    wander = tasks.Option(np.array([[0.3, 0.7], [0.6, 0.4], [0.5, 0.5]]), np.array([0.3, 0.6, 1.0]), name="wander")
    stay = tasks.Option(np.array([1, 0, 0]), np.array([0.5, 0.25, 1.0]), name="stay")
    return [wander, stay]


def _go_right(n: int) -> tasks.Option:
    """Right until the wall (the goal): β = 0 before it."""
    return tasks.Option(np.ones(n, dtype=np.intp), np.zeros(n), name="right until the wall")


def _two_right(n: int) -> tasks.Option:
    """Right until an even state: two steps from an even state, one from an odd one (or into the goal)."""
    return tasks.Option(np.ones(n, dtype=np.intp), (np.arange(n) % 2 == 0).astype(float), name="right to even")


def _chain_two(n: int = 6, gamma: float = 0.9) -> tasks.OptionsMDP:
    """The chain with left, right, and "right to an even state": an option that ends where it must bootstrap."""
    base = tasks.chain(n, gamma=gamma)
    return tasks.options_mdp(base, [*tasks.one_step_options(base), _two_right(n)])


# ------------------------------------------------------------------------------------------ (a) the executor
def test_executor_monte_carlo_matches_the_exact_semi_mdp() -> None:
    # E[γ^τ·1{s_τ = s'}] = γ·P[s, o, s'] and E[Σ_{k<τ} γ^k r_k] = R[s, o] (tasks/options.py, from
    # Sutton, Precup & Singh 1999, eqs. 8-9, by a linear solve) against 10^6 executions per (s, o).
    # γ = 0.5 keeps the variance of γ^τ·1{...} low: the standard error is <= 2.2e-4 per entry.
    base = _noisy_base(0.5)
    smdp = tasks.options_mdp(base, _noisy_options(base))
    s0, o0 = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    rng, chunk, rounds = np.random.default_rng(2024), 100_000, 10  # chunks: arrays that stay in cache
    M, reward, longest = np.zeros((4, 3)), np.zeros(4), 0
    for _ in range(rounds):
        done = execute(smdp, np.repeat(s0, chunk), np.repeat(o0, chunk), rng)
        cell = np.repeat(np.arange(4), chunk) * 3 + done.s_tau
        M += np.bincount(cell, weights=done.discount, minlength=12).reshape(4, 3)
        reward += done.reward.reshape(4, chunk).sum(axis=1)
        np.testing.assert_allclose(done.discount, smdp.gamma**done.tau, rtol=1e-15)
        assert not done.cut.any()
        longest = max(longest, int(done.tau.max()))
    M, reward = M / (chunk * rounds), reward / (chunk * rounds)
    assert np.abs(M - smdp.gamma * smdp.dense_P[s0, o0]).max() < 1e-3  # measured: 3.5e-4
    assert np.abs(reward - smdp.R[s0, o0]).max() < 1e-3  # measured: 3.5e-4
    assert longest >= 10
    # Planted: the kernel without its γ (E[γ^(τ−1)·1{...}], the stored P) is far outside the tolerance.
    assert np.abs(M - smdp.dense_P[s0, o0]).max() > 0.1


@pytest.mark.parametrize("n", [3, 6])
def test_go_right_until_the_wall_runs_its_closed_form(n: int) -> None:
    # tasks.chain: from s the option runs n−1−s steps into the goal and is paid 0.8 on the last one,
    # so reward = 0.8·γ^(n−2−s) and discount = γ^(n−1−s).
    base = tasks.chain(n)
    smdp = tasks.options_mdp(base, [_go_right(n)])
    s = np.arange(n - 1)
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    done = execute(smdp, s, np.zeros_like(s), rng)
    assert rng.bit_generator.state == before  # deterministic policy, β in {0, 1}, deterministic base: no draws
    np.testing.assert_array_equal(done.tau, n - 1 - s)
    np.testing.assert_array_equal(done.s_tau, n - 1)
    np.testing.assert_allclose(done.reward, 0.8 * base.gamma ** (n - 2 - s), rtol=1e-14)
    np.testing.assert_allclose(done.discount, base.gamma ** (n - 1 - s), rtol=1e-14)
    assert not done.cut.any()
    # A budget of one step cuts every run that needs more: it stops one cell to the right, unpaid.
    cut = execute(smdp, s, np.zeros_like(s), rng, budget=1)
    np.testing.assert_array_equal(cut.cut, n - 1 - s > 1)
    np.testing.assert_array_equal(cut.s_tau, s + 1)
    np.testing.assert_array_equal(cut.tau, 1)
    np.testing.assert_allclose(cut.reward, np.where(s == n - 2, 0.8, 0.0))


def test_literal_actions_draw_exactly_the_transition_sampler() -> None:
    mdp = tasks.random_mdp(7, 3, seed=4)
    s, a = np.arange(7).repeat(3), np.tile(np.arange(3), 7)
    done = execute(mdp, s, a, np.random.default_rng(5))
    np.testing.assert_array_equal(done.s_tau, transitions(mdp).successor(s * 3 + a, np.random.default_rng(5)))
    np.testing.assert_array_equal(done.reward, mdp.R[s, a])
    np.testing.assert_array_equal(done.discount, mdp.gamma)
    np.testing.assert_array_equal(done.tau, 1)
    assert not done.cut.any()


def test_what_cannot_be_executed_is_refused() -> None:
    base = _noisy_base()
    smdp = tasks.options_mdp(base, _noisy_options(base))
    bare = tasks.FiniteMDP(smdp.P, smdp.R, smdp.gamma, terminal=smdp.terminal, substochastic=True, time_limit=6)
    for run in (
        lambda: executor(bare),
        lambda: rollout(bare, np.zeros((3, 2)), "ccv", Society(2, 1), episodes=2, seed=0),
        lambda: train(bare, "ccv", steps=64, seeds=1, episodes=8),
    ):
        with pytest.raises(ValueError, match=r"tasks\.options_mdp"):
            run()
    with pytest.raises(ValueError, match="budget"):
        execute(smdp, np.zeros(2, dtype=int), np.zeros(2, dtype=int), np.random.default_rng(0), budget=0)
    with pytest.raises(ValueError, match="primitives"):
        execute(smdp, np.zeros(2, dtype=int), np.full(2, 2), np.random.default_rng(0))


def test_an_option_that_never_stops_needs_a_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = tasks.FiniteMDP(np.ones((1, 1, 1)), np.ones((1, 1)), 0.9)
    smdp = tasks.options_mdp(loop, [tasks.Option(np.zeros(1, dtype=np.intp), np.zeros(1))])
    monkeypatch.setattr(mechanism.execute, "MAX_OPTION_STEPS", 50)
    with pytest.raises(ValueError, match="time limit"):
        execute(smdp, np.zeros(3, dtype=int), np.zeros(3, dtype=int), np.random.default_rng(0))
    done = execute(smdp, np.zeros(3, dtype=int), np.zeros(3, dtype=int), np.random.default_rng(0), budget=[1, 4, 7])
    np.testing.assert_array_equal(done.tau, [1, 4, 7])
    assert done.cut.all()
    np.testing.assert_allclose(done.reward, (1 - 0.9 ** done.tau) / (1 - 0.9), rtol=1e-14)  # Σ_{k<τ} γ^k


# ------------------------------------------------------------------------------------------ (b) one-step options
@pytest.mark.parametrize("clones", [1, 2])
def test_one_step_options_roll_out_as_the_base_mdp(clones: int) -> None:
    # One-step options are the base MDP (Sutton, Precup & Singh 1999, §3): the same Q* fixed-point bids,
    # and the executor draws one successor per auction, as a literal action does, so the same seed
    # gives the same episodes, bit for bit, with noisy Beta bids on a stochastic MDP.
    base = tasks.random_mdp(6, 3, gamma=0.9, seed=3, terminal_fraction=0.2)
    smdp = tasks.options_mdp(base, tasks.one_step_options(base))
    ccv = MECHANISMS["ccv"]
    b_base = verify.truthful_fixed_point(base, ccv, clones=clones)
    np.testing.assert_allclose(verify.truthful_fixed_point(smdp, ccv, clones=clones), b_base, atol=1e-9)
    bids = BetaBids(np.clip(b_base[:, : base.n_actions] / max(1.0, b_base.max()), 0.05, 0.95), 20.0)
    runs = [rollout(m, bids, "ccv", Society(3, clones), episodes=256, time_limit=12, seed=7) for m in (base, smdp)]
    for key in ("states", "winners", "rewards", "discounts", "taus", "revenues", "utilities", "truncated", "mask"):
        np.testing.assert_array_equal(getattr(runs[0], key), getattr(runs[1], key), err_msg=key)
    assert runs[0].episode_truncated.any()
    assert runs[0].episode_terminated.any()
    # And the greedy path of the fixed point (deterministic table bids) is the same.
    paths = [rollout(m, b_base, "ccv", Society(3, clones), episodes=4, time_limit=12, seed=1) for m in (base, smdp)]
    np.testing.assert_array_equal(paths[0].primitives, paths[1].primitives)


# ------------------------------------------------------------------------------------------ option rollouts
def test_the_go_right_option_wins_and_is_paid_its_closed_form() -> None:
    # Options: left, right until the wall. At the cloned-ccv fixed point (Q*) the option outbids
    # left everywhere; from 0 it runs 5 steps: reward 0.8·γ^4, discount γ^5, terminal, credit 0.
    n, base = 6, tasks.chain(6)
    smdp = tasks.options_mdp(base, [tasks.one_step_options(base)[0], _go_right(n)])
    g = base.gamma
    b = verify.truthful_fixed_point(smdp, MECHANISMS["ccv"], clones=2)
    np.testing.assert_allclose(b[:5, 1], 0.8 * g ** (n - 2 - np.arange(5)), rtol=1e-12)
    t = rollout(smdp, b, "ccv", Society(2, 2), episodes=3, time_limit=20, seed=0)
    assert t.horizon == 1
    assert t.episode_terminated.all()
    np.testing.assert_array_equal(t.taus[:, 0], 5)
    np.testing.assert_allclose(t.rewards[:, 0], 0.8 * g**4, rtol=1e-14)
    np.testing.assert_allclose(t.discounts[:, 0], g**5, rtol=1e-14)
    np.testing.assert_allclose(t.revenues[:, 0], 0.8 * g**4, rtol=1e-14)
    # A time limit of 3 base steps cuts it at state 3: a truncation, bootstrapped with the bids there
    # (b⁽²⁾ = Q*(3, right) = 0.8·γ), so the revenue is γ^3·0.8·γ: the value of the uncut run.
    t = rollout(smdp, b, "ccv", Society(2, 2), episodes=3, time_limit=3, seed=0)
    assert t.episode_truncated.all()
    assert not t.episode_terminated.any()
    np.testing.assert_array_equal(t.final_states, 3)
    np.testing.assert_array_equal(t.taus[:, 0], 3)
    np.testing.assert_allclose(t.rewards[:, 0], 0.0)
    np.testing.assert_allclose(t.credits[:, 0], 0.8 * g, rtol=1e-14)
    np.testing.assert_allclose(t.revenues[:, 0], 0.8 * g**4, rtol=1e-14)
    zero = rollout(smdp, b, "ccv", Society(2, 2), episodes=3, time_limit=3, seed=0, truncation="zero")
    np.testing.assert_array_equal(zero.credits, 0.0)


def _option_rollout(mech: str, clones: int, seed: int = 1, time_limit: int = 6) -> Trajectories:
    base = _noisy_base(0.9)
    smdp = tasks.options_mdp(base, [*tasks.one_step_options(base), *_noisy_options(base)])
    mean = np.random.default_rng(0).uniform(0.2, 0.8, (3, 4))
    mean[:, 2:] += 0.15  # the options win often
    return rollout(smdp, BetaBids(mean, 5.0), mech, Society(4, clones), episodes=500, time_limit=time_limit, seed=seed)


def test_option_rollouts_count_base_steps_against_the_time_limit() -> None:
    t = _option_rollout("ccv", 2)
    base_steps = (t.taus * t.mask).sum(axis=1)
    assert (base_steps <= 6).all()
    np.testing.assert_array_equal(base_steps[t.episode_truncated], 6)  # cut exactly at the limit
    assert t.episode_terminated.any()
    assert t.episode_truncated.any()
    assert (t.taus[t.mask] > 1).any()
    assert (t.lengths < 6).any()
    np.testing.assert_allclose(t.discounts[t.mask], t.gamma ** t.taus[t.mask], rtol=1e-14)
    np.testing.assert_allclose(t.revenues, t.rewards + t.discounts * t.credits, rtol=0, atol=0)


# ------------------------------------------------------------------------------------------ (c) credit identity
@pytest.mark.parametrize("clones", [1, 2])
@pytest.mark.parametrize("mech", ["ccv", "first_price", "env_reward"])
def test_conserving_mechanisms_conserve_credit_on_option_rollouts(mech: str, clones: int) -> None:
    t = _option_rollout(mech, clones)
    assert t.episode_terminated.any()  # both endings, and the bootstrap term
    assert t.episode_truncated.any()
    assert np.abs(credit_gap(t)).max() <= GAP_TOL


def _vickrey_created(t: Trajectories) -> np.ndarray:
    """Σ_{t≥1} Γ_t·(b⁽¹⁾_t − b⁽²⁾_t) with Γ_t = Π_{k<t} γ^{τ_k}, from the recorded bids by np.sort."""
    srt = np.sort(np.where(np.isnan(t.bids), -np.inf, t.bids), axis=-1)  # NaN: took no part
    second = srt[..., -2] if t.n_bidders > 1 else np.zeros(srt.shape[:-1])
    spread = srt[..., -1] - np.where(np.isfinite(second), second, 0.0)  # a lone bidder: b⁽²⁾ = 0
    gamma_t = np.cumprod(np.where(t.mask, t.discounts, 1.0), axis=1) / np.where(t.mask, t.discounts, 1.0)
    return np.where(t.mask, gamma_t * spread, 0.0)[:, 1:].sum(axis=1)


@pytest.mark.parametrize("clones", [1, 2])
def test_vickrey_creates_the_discounted_spread_on_option_rollouts(clones: int) -> None:
    t = _option_rollout("vickrey", clones)
    gap = credit_gap(t)
    np.testing.assert_allclose(gap, _vickrey_created(t), rtol=0, atol=GAP_TOL)
    assert gap.max() > 0.1
    assert (gap >= -GAP_TOL).all()


@given(
    smdp=options_mdps(dense=None, masks=True, time_limits=True),
    clones=st.integers(1, 2),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_credit_identity_holds_on_generated_option_societies(
    smdp: tasks.OptionsMDP, clones: int, seed: int, data: Any
) -> None:
    society = Society(smdp.n_actions, clones)
    table = data.draw(bid_profiles(smdp.n_states, society.n_bidders))
    limit = smdp.time_limit or 5
    for mech in ("ccv", "first_price"):
        t = rollout(smdp, table, mech, society, episodes=6, time_limit=limit, seed=seed)
        assert np.abs(credit_gap(t)).max() <= 1e-9
    t = rollout(smdp, table, "vickrey", society, episodes=6, time_limit=limit, seed=seed)
    np.testing.assert_allclose(credit_gap(t), _vickrey_created(t), rtol=0, atol=1e-9)


def test_planted_bugs_break_the_identity_on_options_only() -> None:
    t = _option_rollout("ccv", 2)
    # A ledger that weights auction t by γ^t (the literal-action discount) instead of Γ_t ...
    assert np.abs(_gap_with_plain_powers(t)).max() > 1e-3
    # ... agrees with the true one on literal actions, where Γ_t = γ^t: only options tell them apart.
    lit = rollout(tasks.chain(6), np.full((6, 4), 0.5), "ccv", Society(2, 2), episodes=8, time_limit=20, seed=0)
    np.testing.assert_allclose(_gap_with_plain_powers(lit), credit_gap(lit), atol=GAP_TOL)
    # A rollout that credits γ·L(b) instead of γ^τ·L(b) creates credit whenever τ > 1.
    rev = t.rewards + t.gamma * t.credits * t.mask
    bad = dataclasses.replace(t, revenues=rev, utilities=rev - t.prices)
    assert np.abs(credit_gap(bad)).max() > 1e-3


def _gap_with_plain_powers(t: Trajectories) -> np.ndarray:
    """credit_gap with c_t = γ^t (the planted bug), the same formula as mechanism.ledger otherwise."""
    c = np.broadcast_to(t.gamma ** np.arange(t.horizon), t.mask.shape)
    paid = t.payments.sum(axis=2)
    boot = (t.truncated * c * t.discounts * t.credits).sum(axis=1)
    return (c * (t.revenues - paid)).sum(axis=1) - ((c * t.rewards).sum(axis=1) - paid[:, 0] + boot)


def test_cumulative_discounts_are_products_of_gamma_to_the_tau() -> None:
    t = _option_rollout("ccv", 1)
    c = cumulative_discounts(t)
    elapsed = np.cumsum(t.taus, axis=1) - t.taus  # base steps before each auction
    np.testing.assert_allclose(c[t.mask], (t.gamma**elapsed)[t.mask], rtol=1e-13)


# ------------------------------------------------------------------------------------------ (d) learners
class _GammaNotGammaTau(Valuation):
    """Planted: a valuation bidder whose revenue credits γ·L(b) instead of γ^τ·L(b)."""

    def update(self, params: Any, step: Any) -> None:
        super().update(params, step._replace(revenue_t=step.r_t + step.gamma * step.credit_t))


class _QWithScalarGamma(QLearning):
    """Planted: Q-learning that bootstraps with γ instead of the transition's γ^τ."""

    def update(self, params: Any, step: Any) -> None:
        super().update(params, step._replace(discount_t=step.gamma))


@pytest.mark.parametrize(
    ("learner", "planted"), [("valuation", _GammaNotGammaTau()), ("q_learning", _QWithScalarGamma())]
)
def test_tabular_learners_converge_to_the_semi_mdp_q_star(learner: str, planted: Any) -> None:
    # Cloned ccv's truthful fixed point is Q* (DESIGN §1), here the semi-MDP's (verify.solve on the
    # OptionsMDP); Q-learning on options is SMDP Q-learning, whose fixed point is the same Q*.
    smdp = _chain_two()
    Q = verify.solve(smdp).Q
    run = train(smdp, "ccv", clones=2, learner=learner, steps=10_000, seeds=3, episodes=16, checkpoints=1)
    live = ~np.asarray(smdp.terminal)
    assert np.abs(run.primitive_bids[-1][:, live] - Q[live]).max() < 1e-6  # measured: 2e-16
    # Decisions are counted as steps; the base steps they took are more (the option runs 2 steps).
    assert run.base_steps.shape == (2, 3)
    assert (run.base_steps[-1] > run.steps[-1]).all()
    wrong = train(smdp, "ccv", clones=2, learner=planted, steps=10_000, seeds=3, episodes=16, checkpoints=1)
    assert np.abs(wrong.primitive_bids[-1][:, live] - Q[live]).max() > 0.05  # measured: 0.12


@pytest.mark.parametrize(("learner", "steps"), [("policy_gradient", 6000), ("ppo", 8000), ("ppo_monolithic", 4000)])
def test_policy_learners_find_an_optimal_policy_of_the_semi_mdp(learner: str, steps: int) -> None:
    smdp = _chain_two()
    Q = verify.solve(smdp).Q
    run = train(smdp, "ccv", clones=2, learner=learner, steps=steps, seeds=3, episodes=16, checkpoints=1)
    live = np.flatnonzero(~np.asarray(smdp.terminal))
    chosen = Q[live, run.final_policy[:, live]]
    assert (chosen >= Q[live].max(axis=1) - 1e-9).all()


def test_base_steps_are_the_decisions_on_literal_actions() -> None:
    run = train(tasks.chain(6), "ccv", steps=640, seeds=2, episodes=16, checkpoints=4)
    np.testing.assert_array_equal(run.base_steps, np.repeat(run.steps[:, None], 2, axis=1))


def test_train_cuts_options_at_the_time_limit_in_base_steps() -> None:
    # Every episode's base steps (Σ τ since its start) stay within the limit, reach it, and sum to
    # the recorded base steps; τ is read back from the discount, γ^τ.
    base = tasks.chain(8, gamma=0.9)
    smdp = tasks.options_mdp(base, [tasks.one_step_options(base)[0], _go_right(8)])
    seen: list[Any] = []

    class Spy(Valuation):  # records every Transition
        def update(self, params: Any, step: Any) -> None:
            seen.append(step)
            super().update(params, step)

    limit = 4
    spy: Any = Spy()
    run = train(smdp, "ccv", learner=spy, steps=4000, seeds=2, episodes=8, checkpoints=1, time_limit=limit)
    taus = np.stack([np.rint(np.log(s.discount_t) / np.log(0.9)).astype(int) for s in seen])  # (rounds, N, E)
    np.testing.assert_allclose(np.stack([s.discount_t for s in seen]), 0.9**taus, rtol=1e-12)
    assert taus.max() == limit  # the option from 0 needs 7 steps: it is cut at 4
    np.testing.assert_array_equal(run.base_steps[-1], taus.sum(axis=(0, 2)))
    clock = np.zeros(taus.shape[1:], dtype=int)
    for step, tau in zip(seen, taus, strict=True):
        clock += tau
        assert (clock <= limit).all()
        clock[step.terminated | (clock == limit)] = 0


def _expected_gae(utility: np.ndarray, s: np.ndarray, s1: np.ndarray, term: np.ndarray, V: np.ndarray,
                  discount: Any, lam: float) -> np.ndarray:
    """GAE(λ) along rounds, plain loop (Schulman et al. 2016, eq. 16), δ = U + d·(1 − term)·V(s') − V(s)."""
    R = utility.shape[0]
    adv = np.zeros(R)
    running = 0.0
    for k in reversed(range(R)):
        end = term[k] or k == R - 1 or s[k + 1] != s1[k]
        d = discount[k] if np.ndim(discount) else discount
        delta = utility[k] + d * (0.0 if term[k] else V[s1[k]]) - V[s[k]]
        running = delta + (0.0 if end else d * lam * running)
        adv[k] = running
    return adv


def _tau_of(s: np.ndarray, s1: np.ndarray) -> np.ndarray:
    """τ on the chain with left/right/right-to-even: the cells moved right, or 1 (independent of the learner)."""
    return np.maximum(s1 - s, 1)


@pytest.mark.parametrize("monolithic", [False, True])
def test_ppo_advantages_discount_by_gamma_to_the_tau(monolithic: bool) -> None:
    smdp, lam, g = _chain_two(), 0.9, 0.9
    seen: list[tuple[Any, Batch, Any]] = []

    def spy_batch(parent: Any) -> Any:
        def batch(self: Any, p: Any, buf: dict[str, Any], gamma: Any) -> Batch:
            out = parent.batch(self, p, buf, gamma)
            if isinstance(p, MonolithicParams):
                V = (p.probs * p.Q).sum(axis=-1)  # (N, S)
            else:
                assert isinstance(p, PPOParams)
                V = p.nets.value.apply(p.train.value, p.features)[..., 0]  # (N, A, S)
            seen.append(({k: v.copy() for k, v in buf.items()}, out, V))
            return out
        return batch

    parent: Any = MonolithicPPO if monolithic else PPO
    Spy = type("Spy", (parent,), {"batch": spy_batch(parent)})
    kw: dict[str, Any] = {"lam": lam, "normalize": False, "epoch_steps": 200}
    learner = Spy(**kw) if monolithic else Spy(memoryless=False, dropout=0.0, **kw)
    train(smdp, "ccv", clones=2, learner=learner, steps=400, seeds=1, episodes=4, checkpoints=1, time_limit=8)
    buf, batch, V = seen[0]
    np.testing.assert_allclose(buf["discount"], g ** _tau_of(buf["s"], buf["s_tp1"]), rtol=1e-14)
    assert (buf["discount"] < g - 1e-12).any()  # the option ran two steps somewhere
    R, N, E = buf["s"].shape
    A = smdp.n_actions
    worst_right, worst_scalar = 0.0, 0.0
    for e in range(E):
        s, s1, term, d = buf["s"][:, 0, e], buf["s_tp1"][:, 0, e], buf["terminated"][:, 0, e], buf["discount"][:, 0, e]
        lanes = [(buf["r"][:, 0, e], V[0], batch.advantage[0, 0].reshape(E, R)[e])] if monolithic else [
            (buf["utility"][:, 0, e, m], V[0, m % A], batch.advantage.reshape(N, A, E, 2, R)[0, m % A, e, m // A])
            for m in range(buf["utility"].shape[-1])
        ]
        for utility, v, got in lanes:
            worst_right = max(worst_right, np.abs(got - _expected_gae(utility, s, s1, term, v, d, lam)).max())
            worst_scalar = max(worst_scalar, np.abs(got - _expected_gae(utility, s, s1, term, v, g, lam)).max())
    assert worst_right < 1e-12
    assert worst_scalar > 1e-6  # planted: GAE with a scalar γ is told apart
