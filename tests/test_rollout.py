"""The society simulator: determinism, bootstrap at truncation, zero lookahead at termination,
transition frequencies, dense = sparse, and the step record against the rules."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import scipy.sparse as sp

import tasks
from mechanism import MECHANISMS, BetaBids, GaussianBids, Society, Trajectories, rollout, second_highest_bid
from mechanism.transitions import transitions
from tasks import FiniteMDP

transitions_module = importlib.import_module("mechanism.transitions")

FIELDS = (
    "states", "bids", "winners", "primitives", "rewards", "taus", "discounts", "prices", "credits",
    "revenues", "utilities", "terminated", "truncated", "mask", "final_states", "final_bids",
)

CHAIN = tasks.chain(6)  # 0..5, action 0 left, 1 right, 5 terminal, reward 0.8 on entering 5, limit 20
RIGHT = np.tile([0.2, 0.6], (6, 1))  # everyone prefers "right": the chain is walked in 5 steps
LEFT = np.tile([0.6, 0.2], (6, 1))


def _assert_same(a: Trajectories, b: Trajectories) -> None:
    for f in FIELDS:
        assert np.array_equal(getattr(a, f), getattr(b, f)), f


def test_same_seed_same_bits() -> None:
    mdp = tasks.random_mdp(5, 3, seed=1)
    src = BetaBids(np.full((5, 3), 0.4), 4.0)
    a = rollout(mdp, src, "ccv", Society(3, 2), episodes=64, time_limit=8, seed=11)
    _assert_same(a, rollout(mdp, src, "ccv", Society(3, 2), episodes=64, time_limit=8, seed=11))
    _assert_same(a, rollout(mdp, src, "ccv", Society(3, 2), episodes=64, time_limit=8, seed=np.random.default_rng(11)))
    c = rollout(mdp, src, "ccv", Society(3, 2), episodes=64, time_limit=8, seed=12)
    assert not np.array_equal(a.bids, c.bids)


def test_terminal_transition_credits_zero() -> None:
    traj = rollout(CHAIN, RIGHT, "vickrey", Society(2, 2), episodes=3, seed=0)
    assert traj.horizon == 5  # everyone terminated at step 4: the loop stops there
    assert traj.lengths.tolist() == [5, 5, 5]
    assert traj.states[0].tolist() == [0, 1, 2, 3, 4]
    assert traj.primitives[0].tolist() == [1] * 5
    assert traj.terminated[:, 4].all()
    assert not traj.truncated.any()
    assert traj.credits[:, 4].tolist() == [0.0] * 3  # terminal: no lookahead
    assert traj.revenues[:, 4].tolist() == [0.8] * 3
    # Earlier steps are credited the next state's top bid (vickrey): 0.6.
    assert np.all(traj.credits[:, :4] == 0.6)
    assert traj.final_states.tolist() == [5, 5, 5]
    assert traj.episode_terminated.all()


@pytest.mark.parametrize("name", ["vickrey", "ccv", "first_price"])
def test_truncation_bootstraps(name: str) -> None:
    """Chain with time limit 3 (the goal needs 5 steps): the last revenue includes γ·lookahead."""
    bids = np.array([[0.1, 0.5], [0.2, 0.6], [0.3, 0.7], [0.4, 0.8], [0.5, 0.9], [0.0, 0.0]])
    mech = MECHANISMS[name]
    traj = rollout(CHAIN, bids, mech, Society(2, 1), episodes=2, time_limit=3, seed=0)
    assert traj.horizon == 3
    assert traj.truncated[:, 2].all()
    assert not traj.terminated.any()
    assert traj.final_states.tolist() == [3, 3]
    expected = float(mech.credit(bids[3]))  # lookahead of the bids at the state reached
    assert expected != 0.0
    assert traj.credits[:, 2].tolist() == [expected] * 2
    assert np.array_equal(traj.final_bids, np.tile(bids[3], (2, 1)))
    assert traj.revenues[:, 2] == pytest.approx(0.0 + 0.99 * expected)
    assert traj.episode_truncated.all()


def test_env_reward_truncation_has_no_lookahead() -> None:
    traj = rollout(CHAIN, RIGHT, "env_reward", Society(2, 2), episodes=1, time_limit=2, seed=0)
    assert traj.truncated[0, 1]
    assert traj.credits[0, 1] == 0.0
    assert traj.utilities[0].tolist() == [0.0, 0.0]


def test_step_record_matches_the_rules() -> None:
    mdp = tasks.random_mdp(6, 3, seed=4, terminal_fraction=0.34)
    soc = Society(3, 2)
    src = GaussianBids(np.random.default_rng(0).normal(size=(6, 3)), 0.3)
    mech = MECHANISMS["ccv"]
    traj = rollout(mdp, src, mech, soc, episodes=200, time_limit=6, seed=3)
    m = traj.mask
    b = traj.bids[m]
    assert np.array_equal(traj.winners[m], np.argmax(b, axis=1))
    assert np.array_equal(traj.primitives[m], traj.winners[m] % 3)
    assert np.array_equal(traj.rewards[m], mdp.R[traj.states[m], traj.primitives[m]])
    assert np.array_equal(traj.prices[m], second_highest_bid(b))
    assert np.all(traj.taus[m] == 1)
    assert np.all(traj.discounts[m] == mdp.gamma)
    assert np.allclose(traj.utilities[m], traj.revenues[m] - traj.prices[m], atol=0, rtol=0)
    # Credit of step t = lookahead of the bids of step t + 1 (same draw), unless terminal.
    nxt = m[:, 1:]
    assert np.array_equal(traj.credits[:, :-1][nxt], second_highest_bid(traj.bids[:, 1:][nxt]))
    assert np.all(traj.credits[traj.terminated] == 0.0)
    # Padding.
    assert np.all(traj.winners[~m] == -1)
    assert np.all(traj.utilities[~m] == 0.0)
    assert np.all(traj.bids[~m] == 0.0)


def test_transition_frequencies_match_P() -> None:
    P = np.array([[[0.1, 0.6, 0.3], [0.5, 0.0, 0.5]], [[0, 1, 0], [0, 0, 1]], [[1, 0, 0], [0, 1, 0]]], dtype=float)
    mdp = FiniteMDP(P, np.zeros((3, 2)), 0.9, start=np.array([1.0, 0, 0]), time_limit=1)
    n = 40_000
    for action, bids in ((0, [[1.0, 0.0]] * 3), (1, [[0.0, 1.0]] * 3)):
        traj = rollout(mdp, np.array(bids), "ccv", Society(2, 1), episodes=n, seed=action)
        freq = np.bincount(traj.final_states, minlength=3) / n
        p = P[0, action]
        # Binomial: |f − p| < 5·sqrt(p(1 − p)/n) (≈ 0.0125 at most); impossible successors never appear.
        assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / n))


def test_start_distribution() -> None:
    mdp = FiniteMDP(np.full((3, 1, 3), 1 / 3), np.zeros((3, 1)), 0.5, start=np.array([0.2, 0.0, 0.8]), time_limit=1)
    traj = rollout(mdp, np.zeros((3, 1)), "ccv", Society(1, 1), episodes=20_000, seed=9)
    freq = np.bincount(traj.states[:, 0], minlength=3) / 20_000
    assert freq[1] == 0.0
    assert abs(freq[0] - 0.2) < 5 * np.sqrt(0.16 / 20_000)


def test_dense_and_sparse_give_identical_trajectories() -> None:
    dense = tasks.random_mdp(7, 3, seed=2, successors=3, terminal_fraction=0.3)
    S, A = dense.n_states, dense.n_actions
    sparse = FiniteMDP(
        sp.csr_array(dense.P.reshape(S * A, S)), dense.R, dense.gamma, start=dense.start, terminal=dense.terminal
    )
    src = BetaBids(np.random.default_rng(1).uniform(0.1, 0.9, (S, A)), 5.0)
    for name in ("vickrey", "first_price"):
        a = rollout(dense, src, name, Society(A, 2), episodes=300, time_limit=10, seed=5)
        b = rollout(sparse, src, name, Society(A, 2), episodes=300, time_limit=10, seed=5)
        _assert_same(a, b)


def test_zero_length_episodes_start_in_a_terminal_state() -> None:
    P = np.zeros((2, 1, 2))
    P[:, 0, 1] = 1.0
    mdp = FiniteMDP(P, np.zeros((2, 1)), 0.9, start=np.array([0.5, 0.5]), terminal=np.array([False, True]))
    traj = rollout(mdp, np.ones((2, 1)), "ccv", Society(1, 2), episodes=100, time_limit=4, seed=0)
    starts_done = traj.states[:, 0] == 1
    assert 20 < starts_done.sum() < 80
    assert np.all(traj.lengths[starts_done] == 0)
    assert np.all(traj.lengths[~starts_done] == 1)
    assert np.all(traj.final_states == 1)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="no time limit"):
        rollout(tasks.random_mdp(3, 2), np.zeros((3, 2)), "ccv", Society(2), episodes=1, seed=0)
    with pytest.raises(ValueError, match="2 actions"):
        rollout(CHAIN, np.zeros((6, 3)), "ccv", Society(3), episodes=1, seed=0)
    with pytest.raises(ValueError, match="unknown mechanism"):
        rollout(CHAIN, RIGHT, "dutch", Society(2), episodes=1, seed=0)
    with pytest.raises(ValueError, match="episodes must be >= 1"):
        rollout(CHAIN, RIGHT, "ccv", Society(2), episodes=0, seed=0)
    with pytest.raises(TypeError, match="time_limit"):
        rollout(CHAIN, RIGHT, "ccv", Society(2), episodes=1, time_limit=2.5, seed=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="covers 5 states"):
        rollout(CHAIN, RIGHT[:5], "ccv", Society(2), episodes=1, seed=0)

    class Wrong:
        def sample(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            return np.zeros((states.size, 3))

    with pytest.raises(ValueError, match=r"must return \(B, M\)"):
        rollout(CHAIN, Wrong(), "ccv", Society(2), episodes=2, seed=0)


def test_left_walkers_never_terminate() -> None:
    traj = rollout(CHAIN, LEFT, "first_price", Society(2, 2), episodes=4, seed=0)
    assert traj.horizon == 20
    assert traj.truncated[:, -1].all()
    assert np.all(traj.states == 0)


def _first_above(mdp: FiniteMDP, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Reference inverse transform, one row at a time: the first successor whose running sum of the
    dense row exceeds u (zero-probability successors skipped; the last positive one takes the rest)."""
    P = mdp.dense_P.reshape(mdp.n_states * mdp.n_actions, mdp.n_states)
    out = np.empty(rows.size, dtype=np.intp)
    for i, (r, x) in enumerate(zip(rows, u, strict=True)):
        positive = np.flatnonzero(P[r] > 0)
        cum = np.cumsum(P[r])[positive]
        cum[-1] = np.inf
        out[i] = positive[np.searchsorted(cum, x, side="right")]
    return out


def _crowded() -> FiniteMDP:
    """Rows with 200 probabilities of 1e-6 packed into one guide cell: the guide falls back to bisection."""
    p = np.r_[0.3, np.full(200, 1e-6), 0.7 - 200e-6]
    return FiniteMDP(np.tile(p, (p.size, 1, 1)).reshape(p.size, 1, p.size), np.zeros((p.size, 1)), 0.9)


@pytest.mark.parametrize(
    "mdp",
    [
        tasks.random_mdp(40, 3, seed=0),
        tasks.random_mdp(30, 2, seed=1, successors=5, terminal_fraction=0.2),
        tasks.random_mdp(30, 2, seed=2, successors=4, sparse=True),
        CHAIN,
        _crowded(),
    ],
    ids=["dense", "successors", "sparse", "chain", "crowded"],
)
def test_guide_table_sampler_is_an_exact_inverse_transform(mdp: FiniteMDP) -> None:
    """The guide-table search returns the same successor as a plain search of each row, bit for bit,
    including at the guide's cell edges j/G and next to the row's own cumulative sums."""
    step = transitions(mdp).sampler
    rng = np.random.default_rng(0)
    n_rows = mdp.n_states * mdp.n_actions
    rows = rng.integers(0, n_rows, 3_000)
    u = rng.random(3_000)
    u[:500] = rng.integers(0, 1024, 500) / 1024  # exact cell edges (G_r is a power of two <= 1024 here)
    near = step.cum[np.isfinite(step.cum)]
    if near.size:  # right at, and one ulp below, cumulative sums of the rows
        pick = rng.integers(0, near.size, 500)
        u[500:1000] = near[pick]
        u[1000:1500] = np.nextafter(near[pick], 0.0)
    u = np.minimum(u, np.nextafter(1.0, 0.0))
    assert np.array_equal(step(rows, u), _first_above(mdp, rows, u))
    assert transitions(mdp).sampler is step  # built once per MDP


def test_guide_of_a_large_kernel_has_one_cell_per_successor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the size limit the guide has G_r >= width cells (span larger); same successors."""
    mdp = tasks.random_mdp(40, 3, seed=0)
    monkeypatch.setattr(transitions_module, "_GUIDE_SPREAD_UP_TO", 0)
    step = transitions_module._build_sampler(mdp)
    assert step.cells.max() == 64  # width 40 -> 64 cells instead of 256
    rng = np.random.default_rng(1)
    rows, u = rng.integers(0, 120, 3_000), rng.random(3_000)
    assert np.array_equal(step(rows, u), _first_above(mdp, rows, u))


def test_crowded_rows_use_bisection() -> None:
    step = transitions(_crowded()).sampler
    assert step.span > 2 * step.span.bit_length()  # the bisection branch is the one taken above


def test_the_authors_truncation_zeroes_only_the_credit_a_time_limit_cuts() -> None:
    """truncation="zero" (the authors' semantics) differs from the default only at truncated steps."""
    from mechanism import credit_gap

    mdp = tasks.random_mdp(6, 2, seed=3, terminal_fraction=0.3)
    table = np.random.default_rng(0).uniform(0.0, 1.0, size=(6, 4))
    args = dict(episodes=64, time_limit=4, seed=5)
    boot = rollout(mdp, table, MECHANISMS["ccv"], Society(2, 2), **args)
    zero = rollout(mdp, table, MECHANISMS["ccv"], Society(2, 2), truncation="zero", **args)
    cut = boot.truncated
    assert cut.any()
    assert (boot.credits[cut] > 0).any()
    np.testing.assert_array_equal(zero.credits[cut], 0.0)
    np.testing.assert_array_equal(zero.credits[~cut], boot.credits[~cut])
    np.testing.assert_array_equal(zero.revenues[cut], zero.rewards[cut])
    np.testing.assert_allclose(credit_gap(zero), 0.0, atol=1e-12)  # ccv still conserves: nothing outstanding
    with pytest.raises(ValueError, match="truncation must be one of"):
        rollout(mdp, table, MECHANISMS["ccv"], Society(2, 2), truncation="terminal", **args)
