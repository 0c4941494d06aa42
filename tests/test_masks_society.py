"""Action masks in societies and analyses: an unavailable action's primitive never wins that state.

The rule (mechanism.auction, "Action masks"): the auction of s is held among the bidders whose
action is available at s, clones included; a lone bidder's second price and second-price
lookahead are 0. Cross-checks: the masked society against the same MDP with the masked action
deleted (possible when the same action is missing in every state), the fixed points against the
solver's Q* and an independent value iteration, and a rollout that ignores the mask is caught.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tasks
import verify
from mechanism import (
    MECHANISMS,
    BetaBids,
    Mechanism,
    MechanismError,
    Society,
    auction,
    highest_bid,
    rollout,
    second_price,
    train,
    validate_for_mask,
)
from mechanism.learners import QLearning, Valuation
from tasks import FiniteMDP
from tests.strategies import finite_mdps
from verify.best_response import best_response, nash_conv
from verify.deviations import candidates, outcomes
from verify.exploitability import exploitability
from verify.fixed_point import solve_fixed_point
from verify.noisy import BetaNoise, GaussianNoise, noisy_fixed_point

rollout_module = importlib.import_module("mechanism.rollout")

#: Every registered mechanism with a distinct rule (the alias bucket_brigade is first_price).
NAMES = ("vickrey", "ccv", "first_price", "env_reward", "all_pay", "reserve_vickrey")


# ---------------------------------------------------------------------------- MDPs
def random_masked(S: int, A: int, seed: int, p: float = 0.6) -> FiniteMDP:
    """A random MDP whose actions are available with probability p per (s, a), at least one per state."""
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S)) ** 3
    P /= P.sum(axis=-1, keepdims=True)
    avail = rng.random((S, A)) < p
    avail[np.arange(S), rng.integers(0, A, S)] = True
    return FiniteMDP(P, rng.random((S, A)), 0.9, available=avail, name=f"masked({seed})")


def without_action(S: int, A: int, j: int, seed: int) -> tuple[FiniteMDP, FiniteMDP, list[int]]:
    """The same MDP twice: action j unavailable in every state, and action j deleted (an independent build)."""
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S)) ** 2
    P /= P.sum(axis=-1, keepdims=True)
    R = rng.random((S, A))
    terminal = np.zeros(S, dtype=bool)
    terminal[-1] = True
    P[-1] = 0.0
    P[-1, :, -1] = 1.0
    R[-1] = 0.0
    avail = np.ones((S, A), dtype=bool)
    avail[:, j] = False
    keep = [a for a in range(A) if a != j]
    masked = FiniteMDP(P, R, 0.9, terminal=terminal, available=avail)
    small = FiniteMDP(P[:, keep], R[:, keep], 0.9, terminal=terminal)
    return masked, small, keep


def bidder_map(A: int, keep: list[int], clones: int) -> np.ndarray:
    """For each bidder of the smaller society, its bidder in the masked one (same primitive, same clone)."""
    n = len(keep)
    return np.array([c * A + keep[i] for c in range(clones) for i in range(n)])


def masked_grid() -> FiniteMDP:
    """A 3x3 gridworld (goal at the corner (2, 2)) whose moves into the boundary are no actions at all,
    with two more moves removed: right at (2, 1) and down at (1, 1), so the goal is entered from above."""
    g = tasks.gridworld(rows=3, cols=3, goals={(2, 2): 1.0}, start=[(0, 0)], time_limit=30)
    P = g.dense_P
    avail = ~((P[np.arange(9), :, np.arange(9)] == 1.0) & ~g.terminal[:, None])
    avail[7, 2] = avail[4, 1] = False
    return FiniteMDP(P, g.R, g.gamma, start=g.start, terminal=g.terminal, time_limit=30, available=avail, name="grid")


def reference_q(mdp: FiniteMDP, sweeps: int = 3000) -> np.ndarray:
    """Q* by plain value iteration over the available actions, independent of verify (γ^3000 < 1e-100)."""
    avail, live = np.asarray(mdp.available), ~np.asarray(mdp.terminal)
    V = np.zeros(mdp.n_states)
    for _ in range(sweeps):
        Q = np.where(avail, mdp.R + mdp.gamma * mdp.dense_P @ V, -np.inf)
        V = np.where(live, Q.max(axis=1), 0.0)
    return np.where(live[:, None] | ~avail, Q, 0.0)


def unavailable_win(traj, available: np.ndarray) -> tuple[int, int] | None:
    """The first (state, primitive) where an unavailable primitive won in a rollout, or None."""
    s, p = traj.states[traj.mask], traj.primitives[traj.mask]
    bad = ~available[s, p]
    return (int(s[bad][0]), int(p[bad][0])) if bad.any() else None


# ---------------------------------------------------------------------------- the auction step
@given(
    name=st.sampled_from(NAMES),
    M=st.integers(1, 5),
    codes=st.lists(st.integers(0, 255), min_size=60, max_size=60),
)
def test_masked_auction_fast_path_equals_the_rules(name, M, codes):
    mech = MECHANISMS[name]
    rules = Mechanism(mech.name, mech.price, mech.lookahead, mech.allocate, payments=mech.payments)
    c = np.resize(np.array(codes), (12, M, 2))
    bids = np.array([0.0, 0.25, 0.5, 0.75, 1.0])[c[..., 0] % 5]  # a coarse grid: ties are common
    part = c[..., 1] % 3 != 0
    part[np.arange(12), c[:, 0, 1] % M] = True  # every auction has a bidder
    fast = auction(mech, np.where(part, bids, np.nan), part)
    slow = auction(rules, np.where(part, bids, 1e9), part)  # what stands for "no bid" is never read
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    assert part[np.arange(12), fast.winner].all()
    assert (fast.payments[~part] == 0).all()


def test_a_lone_bidder_is_an_auction_without_a_competitor():
    bids, part = np.array([[np.nan, 0.3, np.nan]]), np.array([[False, True, False]])
    expect = {  # (price, lookahead): a second price and a second-price lookahead are 0
        "vickrey": (0.0, 0.3), "ccv": (0.0, 0.0), "first_price": (0.3, 0.3), "env_reward": (0.0, 0.0),
        "reserve_vickrey": (0.1, 0.3),
    }
    for name, (price, value) in expect.items():
        held = auction(MECHANISMS[name], bids, part)
        assert (int(held.winner[0]), float(held.price[0]), float(held.value[0])) == (1, price, value), name


def test_a_user_rule_sees_only_the_bidders_that_take_part():
    seen: list[tuple[int, ...]] = []

    def price(b: np.ndarray, w: np.ndarray) -> np.ndarray:
        assert np.isfinite(b).all()  # no NaN, no −inf ever reaches a user's rule
        seen.append(b.shape)
        return second_price(b, w)

    mech = Mechanism("spy", price=price, lookahead=highest_bid)
    part = np.array([[True, False, True], [False, True, False]])
    held = auction(mech, np.array([[0.2, np.nan, 0.7], [np.nan, 0.4, np.nan]]), part)
    assert held.winner.tolist() == [2, 1]
    assert held.price.tolist() == [0.2, 0.0]
    assert sorted(seen) == [(1, 1), (1, 2)]


def test_a_rule_that_cannot_hold_a_smaller_auction_is_named():
    def third(b: np.ndarray, w: np.ndarray) -> np.ndarray:
        return np.sort(b, axis=-1)[..., -3]  # needs three bidders

    mech = Mechanism("third", price=third, lookahead=highest_bid)
    part = np.ones((4, 6), dtype=bool)
    part[2, [1, 4]] = False  # primitive 1 unavailable at state 2: 4 of 6 bidders
    validate_for_mask(mech, part, 6)  # four bidders are enough
    part[3] = [True, False, False, True, False, False]
    with pytest.raises(MechanismError, match="leaves 2 of 6 bidders in the auction at state 3"):
        validate_for_mask(mech, part, 6)


# ---------------------------------------------------------------------------- the simulator
@given(
    mdp=finite_mdps(masks=True, max_states=5, max_actions=4, time_limits=True),
    name=st.sampled_from(NAMES),
    clones=st.sampled_from([1, 2]),
    seed=st.integers(0, 2**16),
)
def test_rollout_never_lets_an_unavailable_primitive_win(mdp, name, clones, seed):
    S, A = mdp.n_states, mdp.n_actions
    mean = np.random.default_rng(seed).uniform(0.05, 0.95, size=(S, A))
    traj = rollout(mdp, BetaBids(mean, 3.0), name, Society(A, clones), episodes=16, time_limit=6, seed=seed)
    assert unavailable_win(traj, mdp.available) is None
    takes_part = mdp.available[:, np.arange(A * clones) % A]
    on = traj.mask
    np.testing.assert_array_equal(np.isnan(traj.bids[on]), ~takes_part[traj.states[on]])  # "no bid" recorded


def test_planted_rollout_that_ignores_the_mask_is_caught(monkeypatch):
    # The unavailable primitive bids highest everywhere: a rollout that auctions among every
    # bidder lets it win, and the check finds it; the real rollout never does.
    mdp = random_masked(5, 3, seed=4)
    table = np.where(mdp.available, 0.3, 0.9)
    kw = dict(episodes=32, time_limit=8, seed=0)
    assert unavailable_win(rollout(mdp, table, "ccv", Society(3, 2), **kw), mdp.available) is None
    monkeypatch.setattr(rollout_module, "auction_at", lambda mech, bids, states, takes_part: auction(mech, bids))
    found = unavailable_win(rollout(mdp, table, "ccv", Society(3, 2), **kw), mdp.available)
    assert found is not None
    assert not mdp.available[found]


def test_a_bid_table_says_no_bid_only_where_the_action_is_unavailable():
    mdp = random_masked(4, 3, seed=1)
    s, a = (int(i) for i in np.argwhere(mdp.available)[0])
    table = np.where(mdp.available, 0.5, np.nan)
    rollout(mdp, table, "vickrey", Society(3, 1), episodes=2, time_limit=3, seed=0)  # NaN where unavailable: fine
    table[s, a] = np.nan
    with pytest.raises(ValueError, match=f"no bid \\(NaN\\) for bidder {a} at state {s}"):
        rollout(mdp, table, "vickrey", Society(3, 1), episodes=2, time_limit=3, seed=0)


# ---------------------------------------------------------------------------- fixed points
def _society_policy(bids: np.ndarray, A: int) -> np.ndarray:
    """The primitive of the highest bid at each state (no bid: never), ties to the lowest bidder."""
    return np.argmax(np.where(np.isnan(bids), -np.inf, bids), axis=1) % A


@pytest.mark.parametrize("mdp", [random_masked(8, 4, s) for s in range(4)] + [masked_grid()], ids=lambda m: m.name)
@pytest.mark.parametrize("name", ["vickrey", "ccv"])
def test_cloned_fixed_points_are_q_star_on_the_available_pairs(mdp, name):
    fp = solve_fixed_point(mdp, MECHANISMS[name], 2)
    sol = verify.solve(mdp)
    avail = np.asarray(mdp.available)
    np.testing.assert_allclose(fp.Q[avail], sol.Q[avail], rtol=0, atol=1e-9)
    np.testing.assert_allclose(fp.Q[avail], reference_q(mdp)[avail], rtol=0, atol=1e-9)
    assert np.isneginf(fp.Q[~avail]).all()
    np.testing.assert_array_equal(np.isnan(fp.bids), ~avail[:, np.arange(2 * mdp.n_actions) % mdp.n_actions])
    policy = _society_policy(fp.bids, mdp.n_actions)
    assert avail[np.arange(mdp.n_states), policy].all()
    live = ~np.asarray(mdp.terminal)
    # the society acts optimally: its choice attains V*, and is the solver's wherever the optimum is unique
    np.testing.assert_allclose(sol.Q[np.arange(mdp.n_states), policy][live], sol.V[live], atol=1e-8)
    unique = (np.isclose(sol.Q, sol.V[:, None], atol=1e-8).sum(axis=1) == 1) & live
    np.testing.assert_array_equal(policy[unique], sol.policy[unique])


@given(mdp=finite_mdps(masks=True, max_states=4, max_actions=3))
def test_cloned_ccv_fixed_point_is_q_star_on_generated_masks(mdp):
    fp = solve_fixed_point(mdp, MECHANISMS["ccv"], 2)
    avail = np.asarray(mdp.available)
    np.testing.assert_allclose(fp.Q[avail], reference_q(mdp)[avail], rtol=0, atol=1e-8)


@pytest.mark.parametrize("name", ["ccv", "vickrey", "first_price", "env_reward"])
@pytest.mark.parametrize("clones", [1, 2])
def test_fixed_points_match_the_mdp_without_the_action(name, clones):
    masked, small, keep = without_action(6, 3, 1, seed=2)
    a = solve_fixed_point(masked, MECHANISMS[name], clones)
    b = solve_fixed_point(small, MECHANISMS[name], clones)
    np.testing.assert_allclose(a.Q[:, keep], b.Q, rtol=0, atol=1e-9)
    np.testing.assert_allclose(a.bids[:, bidder_map(3, keep, clones)], b.bids, rtol=0, atol=1e-9)


# ---------------------------------------------------------------------------- exploitability and best responses
def _profiles(small: FiniteMDP, clones: int, seed: int) -> list[np.ndarray]:
    """Q* per bidder (clipped into [0, 1]) and two random grid profiles of the smaller society."""
    rng = np.random.default_rng(seed)
    M = small.n_actions * clones
    q = np.clip(verify.solve(small).Q[:, np.arange(M) % small.n_actions], 0.0, 1.0)
    return [q] + [rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], size=(small.n_states, M)) for _ in range(2)]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("clones", [1, 2])
@pytest.mark.parametrize("bid_range", [None, (0.0, 1.0)], ids=["unbounded", "range"])
def test_analyses_match_the_mdp_without_the_action(name, clones, bid_range):
    masked, small, keep = without_action(5, 3, 1, seed=7)
    mech, A = MECHANISMS[name], 3
    to_masked = bidder_map(A, keep, clones)
    absent = np.setdiff1d(np.arange(A * clones), to_masked)
    for b_small in _profiles(small, clones, seed=clones):
        b = np.full((masked.n_states, A * clones), np.nan)
        b[:, to_masked] = b_small
        e, e_small = exploitability(masked, b, mech, clones, bid_range=bid_range), exploitability(
            small, b_small, mech, clones, bid_range=bid_range
        )
        np.testing.assert_allclose(e.gain_by_state, e_small.gain_by_state, rtol=0, atol=1e-12)
        assert e.value == pytest.approx(e_small.value, abs=1e-12)
        if mech.fast_path is None and bid_range is None:
            continue  # a best-response search needs a bid range
        br, br_small = best_response(masked, b, mech, clones, bid_range=bid_range), best_response(
            small, b_small, mech, clones, bid_range=bid_range
        )
        np.testing.assert_allclose(br.gain_by_state[to_masked], br_small.gain_by_state, rtol=0, atol=1e-9)
        np.testing.assert_allclose(br.value[to_masked], br_small.value, rtol=0, atol=1e-9)
        assert np.abs(br.gain_by_state[absent]).max() <= 1e-12  # a bidder that never takes part has no deviation
        nc, nc_small = nash_conv(masked, b, mech, clones, bid_range=bid_range), nash_conv(
            small, b_small, mech, clones, bid_range=bid_range
        )
        assert nc.nash_conv == pytest.approx(nc_small.nash_conv, abs=1e-9)


@pytest.mark.parametrize("name", ["vickrey", "ccv", "first_price", "all_pay"])
def test_entries_of_absent_bidders_are_not_read_and_never_win(name):
    mdp = random_masked(6, 3, seed=9)
    mech, clones, M = MECHANISMS[name], 2, 6
    part = np.asarray(mdp.available)[:, np.arange(M) % 3]
    rng = np.random.default_rng(0)
    b = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], size=(6, M))
    runs = []
    for filler in (np.nan, 1e6, -3.0):
        profile = np.where(part, b, filler)
        runs.append((exploitability(mdp, profile, mech, clones), best_response(mdp, profile, mech, clones)))
    for e, br in runs[1:]:
        np.testing.assert_array_equal(e.gain_by_state, runs[0][0].gain_by_state)
        np.testing.assert_array_equal(br.gain_by_state, runs[0][1].gain_by_state)
    br = runs[0][1]
    assert np.isnan(br.deviation[~part.T]).all()  # deviation (bidder, state, f): an absent bidder has no bid
    # every candidate bid of an absent deviator loses and pays nothing
    cands = candidates(np.where(part, b, np.nan), np.arange(M), bid_range=(0.0, 1.0), available=part)
    out = outcomes(mech, np.where(part, b, np.nan), np.arange(M), cands.bids, part)
    absent = ~part[:, :, None] & np.ones(out.won.shape, dtype=bool)
    assert not out.won[absent].any()
    assert (out.payment[absent] == 0).all()


def test_q_star_is_a_myopic_equilibrium_of_the_cloned_masked_society():
    for seed in range(3):
        mdp = random_masked(6, 3, seed)
        for name in ("vickrey", "ccv", "first_price"):
            fp = solve_fixed_point(mdp, MECHANISMS[name], 2)
            assert exploitability(mdp, fp.bids, MECHANISMS[name], 2).value <= 1e-9


# ---------------------------------------------------------------------------- training
@pytest.mark.parametrize("name", ["ccv", "vickrey"])
def test_valuation_learns_the_optimal_policy_of_the_masked_grid(name):
    mdp = masked_grid()
    sol = verify.solve(mdp)
    unmasked = verify.solve(tasks.gridworld(rows=3, cols=3, goals={(2, 2): 1.0}, start=[(0, 0)], time_limit=30))
    assert sol.policy[3] != unmasked.policy[3]  # the mask changes the optimal route
    res = train(mdp, name, clones=2, learner="valuation", steps=20_000, seeds=2, checkpoints=1)
    live = ~np.asarray(mdp.terminal)
    avail = np.asarray(mdp.available)
    for policy in res.final_policy:
        assert avail[np.arange(9), policy].all()
        np.testing.assert_allclose(sol.Q[np.arange(9), policy][live], sol.V[live], atol=1e-9)
    M = 8
    np.testing.assert_array_equal(np.isnan(res.final_bids), np.broadcast_to(~avail[:, np.arange(M) % 4], (2, 9, M)))
    np.testing.assert_allclose(res.primitive_bids[-1][:, avail], np.broadcast_to(sol.Q[avail], (2, avail.sum())),
                               atol=1e-6)


@pytest.mark.parametrize("learner", ["policy_gradient", "q_learning", "softmax_pg"])
def test_every_learner_acts_and_reports_within_the_mask(learner):
    mdp = masked_grid()
    avail = np.asarray(mdp.available)
    res = train(mdp, "ccv", clones=2, learner=learner, steps=4_000, seeds=2, checkpoints=2)
    M = res.final_bids.shape[-1]
    assert avail[np.arange(9), res.policy].all()  # every recorded greedy policy
    np.testing.assert_array_equal(np.isnan(res.bids), np.broadcast_to(~avail[:, np.arange(M) % 4], res.bids.shape))


def test_a_learner_blind_to_the_mask_still_never_wins_with_an_unavailable_primitive():
    winners: list[np.ndarray] = []

    class Blind(Valuation):
        def init(self, n_seeds, n_states, n_primitives, clones, rng):  # no available= keyword
            return super().init(n_seeds, n_states, n_primitives, clones, rng)

        def update(self, params, step):
            winners.append(np.stack([step.s_t, step.a_t]))
            super().update(params, step)

    mdp = masked_grid()
    train(mdp, "ccv", clones=1, learner=Blind(initial=5.0), steps=2_000, seeds=1, checkpoints=1)
    s, a = np.concatenate(winners, axis=-1).reshape(2, -1)
    assert mdp.available[s, a].all()

    class BlindQ(QLearning):
        def init(self, n_seeds, n_states, n_primitives, clones, rng):
            return super().init(n_seeds, n_states, n_primitives, clones, rng)

    with pytest.raises(ValueError, match="where it is unavailable"):
        train(mdp, "ccv", learner=BlindQ(), steps=2_000, seeds=1)


# ---------------------------------------------------------------------------- noisy bids
@pytest.mark.parametrize("noise", [BetaNoise(20.0), GaussianNoise(0.05)], ids=["beta", "gaussian"])
@pytest.mark.parametrize("name", ["ccv", "vickrey"])
@pytest.mark.parametrize("clones", [1, 2])
def test_noisy_fixed_point_matches_the_mdp_without_the_action(noise, name, clones):
    masked, small, keep = without_action(5, 3, 0, seed=5)
    masked = tasks.FiniteMDP(masked.P, masked.R * 0.05 + 0.02 * ~masked.terminal[:, None], 0.9,
                             terminal=masked.terminal, available=masked.available)
    small = tasks.FiniteMDP(small.P, small.R * 0.05 + 0.02 * ~small.terminal[:, None], 0.9, terminal=small.terminal)
    a = noisy_fixed_point(masked, MECHANISMS[name], clones, noise)
    b = noisy_fixed_point(small, MECHANISMS[name], clones, noise)
    np.testing.assert_allclose(a.Q[:, keep], b.Q, rtol=0, atol=1e-9)
    assert np.isneginf(a.Q[:, 0]).all()
    np.testing.assert_array_equal(np.asarray(keep)[b.policy], a.policy)


def test_assessment_of_a_masked_run_is_finite_and_counts_available_cells_only():
    # Unavailable cells hold "no bid" (NaN) against Q* = -inf: the errors must skip them, not turn NaN.
    from verify.experiments import assess

    mdp = masked_grid()
    res = train(mdp, "ccv", clones=2, learner="valuation", steps=3000, seeds=2)
    a = assess(res, mdp)
    assert np.isfinite(a.max_error).all()
    assert np.isfinite(a.mean_error).all()
    assert np.isfinite(a.spread_clones).all()
    live = a.reachable[:, None] & mdp.available
    final = np.abs(res.primitive_bids[-1] - a.Q)[:, live]
    np.testing.assert_allclose(a.max_error[-1], final.max(axis=1))
