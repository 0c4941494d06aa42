"""verify.rescale_rewards: Q*' = a·Q* + b on non-terminal states, range [low, high], same optimal policy."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tasks
import verify
from tasks import FiniteMDP, chain, duality, random_mdp
from verify import rescale_rewards


def q_star(mdp: FiniteMDP) -> np.ndarray:
    """Q* by value iteration to round-off: independent of verify.solve, which rescale_rewards uses.

    Sweeps until the sup-norm change is below 1e-13·(1 − γ)/γ, so ||Q − Q*|| < 1e-13 (the
    γ/(1−γ)·||TQ − Q|| bound).
    """
    S, A, g = mdp.n_states, mdp.n_actions, mdp.gamma
    Q = np.zeros((S, A))
    tol = 1e-13 * (1 - g) / max(g, 1e-12) * max(1.0, float(np.abs(mdp.R).max()))
    for _ in range(200_000):
        V = np.where(mdp.available, Q, -np.inf).max(axis=1)  # over the available actions only
        Q_new = mdp.R + g * np.asarray(mdp.kernel @ V).reshape(S, A)
        if np.abs(Q_new - Q).max() <= tol:
            return Q_new
        Q = Q_new
    raise AssertionError("value iteration did not converge")


def affine_fit(Q, Q_new, live):
    """(a, b, worst residual) of the least-squares fit Q_new ≈ a·Q + b over non-terminal states."""
    x, y = Q[live].ravel(), Q_new[live].ravel()
    a, b = np.polyfit(x, y, 1) if np.ptp(x) > 0 else (1.0, float(y.mean() - x.mean()))
    return a, b, float(np.abs(a * x + b - y).max())


def check_rescaled(mdp, low, high, tol=1e-7, transform=rescale_rewards):
    """Every property rescale_rewards promises, checked from the outside; returns a failure or None."""
    out = transform(mdp, low, high)
    Q, Q2 = q_star(mdp), q_star(out)
    live = ~mdp.terminal
    scale = max(1.0, high - low)
    if Q2[live].min() < low - tol * scale or Q2[live].max() > high + tol * scale:
        return f"Q*' range [{Q2[live].min()}, {Q2[live].max()}] leaves [{low}, {high}]"
    if np.ptp(Q[live]) > 1e-9:
        if abs(Q2[live].min() - low) > tol * scale or abs(Q2[live].max() - high) > tol * scale:
            return "min/max not attained"
        a, _, resid = affine_fit(Q, Q2, live)
        if a <= 0 or resid > tol * scale:
            return f"Q*' is not a positive affine map of Q* (a = {a}, residual {resid})"
        # the optimal action sets agree (compare on clear gaps, not round-off ties)
        best = Q.max(axis=1, keepdims=True)
        best2 = Q2.max(axis=1, keepdims=True)
        opt = (best - Q) < 1e-9 * max(1.0, np.abs(Q).max())
        opt2 = (best2 - Q2) < 1e-9 * a * max(1.0, np.abs(Q).max())
        if not (opt[live] == opt2[live]).all():
            return "the optimal policy changed"
    return None


mdps = st.builds(
    random_mdp,
    n_states=st.integers(2, 9),
    n_actions=st.integers(1, 4),
    gamma=st.sampled_from([0.0, 0.5, 0.9, 0.99]),
    seed=st.integers(0, 2**32 - 1),
    terminal_fraction=st.sampled_from([0.0, 0.3, 0.6]),
)
ranges = st.tuples(st.floats(-50, 50), st.floats(0.01, 100)).map(lambda t: (t[0], t[0] + t[1]))


@given(mdps, ranges)
def test_rescaled_q_star_in_range_affine_and_same_policy(mdp, bounds):
    assert check_rescaled(mdp, *bounds) is None


@given(st.integers(2, 12), st.sampled_from([0.5, 0.9, 0.99]))
def test_chains_with_terminal(n, gamma):
    assert check_rescaled(chain(n, gamma=gamma), 0.0, 1.0) is None


def test_sparse_mdp_with_terminals():
    mdp = random_mdp(60, 3, successors=4, seed=3, sparse=True, terminal_fraction=0.3)
    assert check_rescaled(mdp, 0.1, 0.9) is None


def test_duality_into_unit_interval():
    out = rescale_rewards(duality())
    Q = q_star(out)
    # Q* spans [−100, 50] (PAPER.md): a = 1/150, b = 100/150; Q*(0,·) = (−99, 50) -> (1/150, 1)
    np.testing.assert_allclose(Q[0], [1 / 150, 1.0], atol=1e-10)
    np.testing.assert_allclose(Q[1], [1.0, 149.8 / 150], atol=1e-10)
    np.testing.assert_allclose(Q[2], [0.0, 0.0], atol=1e-10)
    assert out.name == "duality|rescaled[0,1]"
    assert out.time_limit == 10
    np.testing.assert_array_equal(out.P, duality().P)


def test_metadata_kept():
    mdp = chain(5)
    out = rescale_rewards(mdp, 0.2, 0.7)
    np.testing.assert_array_equal(out.P, mdp.P)
    np.testing.assert_array_equal(out.start, mdp.start)
    np.testing.assert_array_equal(out.terminal, mdp.terminal)
    assert out.time_limit == mdp.time_limit
    assert out.gamma == mdp.gamma
    assert (out.R[mdp.terminal] == 0).all()


def test_degenerate_all_equal_goes_to_midpoint():
    # one state, two identical actions: every Q* equals 1/(1−γ)
    P = np.ones((1, 2, 1))
    mdp = FiniteMDP(P, np.ones((1, 2)), 0.5)
    out = rescale_rewards(mdp, 0.0, 1.0)
    np.testing.assert_allclose(q_star(out), 0.5, atol=1e-12)


@pytest.mark.parametrize(("low", "high"), [(1.0, 1.0), (2.0, 1.0), (0.0, float("inf"))])
def test_bad_range(low, high):
    with pytest.raises(ValueError, match="need finite low < high"):
        rescale_rewards(chain(), low, high)


# ------------------------------------------------------------------ planted bug
def naive_rescale(mdp, low=0.0, high=1.0):
    """The tempting wrong map: a·R + b on every non-terminal reward, with no shaping correction."""
    Q = q_star(mdp)
    live = ~mdp.terminal
    a = (high - low) / np.ptp(Q[live])
    b = low - a * Q[live].min()
    R = np.where(live[:, None], a * mdp.R + b, 0.0)
    return dataclasses.replace(mdp, R=R)


def test_planted_naive_shift_is_caught_on_a_chain_with_terminal():
    mdp = chain(6)
    Q = q_star(mdp)
    live = ~mdp.terminal
    # Adding b per step adds b·(1 − γ^τ)/(1 − γ), τ = steps to termination, not b: Q*' leaves [0, 1]
    # (here it reaches about −44) and is not the intended a·Q* + b.
    failure = check_rescaled(mdp, 0.0, 1.0, transform=naive_rescale)
    assert failure is not None
    assert "leaves [0.0, 1.0]" in failure
    a = 1.0 / np.ptp(Q[live])
    b = -a * Q[live].min()
    bad = q_star(naive_rescale(mdp))
    assert np.abs(bad[live] - (a * Q[live] + b)).max() > 1.0
    good = q_star(rescale_rewards(mdp))
    assert np.abs(good[live] - (a * Q[live] + b)).max() < 1e-9
    assert check_rescaled(mdp, 0.0, 1.0) is None


def test_planted_naive_shift_is_caught_by_the_property_test():
    """The hypothesis property, run on the naive map over MDPs with terminals, finds a failure."""
    failures = [
        check_rescaled(random_mdp(6, 2, seed=seed, terminal_fraction=0.5), 0.0, 1.0, transform=naive_rescale)
        for seed in range(5)
    ]
    assert any(f is not None for f in failures)


def test_planted_naive_shift_can_flip_the_policy():
    """With a positive shift b the naive map pays for staying alive: bouncing left forever
    (b/(1−γ)) beats reaching the goal, so the optimal action flips. b = low − a·q_min > 0 when
    low/(high − low) > q_min/(q_max − q_min) ≈ 19.4 on this chain, e.g. [20, 21]."""
    mdp = chain(6)
    Q = q_star(mdp)
    live = ~mdp.terminal
    naive = q_star(naive_rescale(mdp, low=20.0, high=21.0))
    assert (Q[live].argmax(axis=1) == 1).all()  # right everywhere
    assert (naive[live].argmax(axis=1) == 0).any()  # the naive map changes it
    good = q_star(rescale_rewards(mdp, low=20.0, high=21.0))
    assert (good[live].argmax(axis=1) == 1).all()


# ------------------------------------------------------------------ the move from tasks to verify
def old_tasks_rescale(mdp: FiniteMDP, low: float, high: float) -> np.ndarray:
    """The rewards of the removed ``tasks.rescale_rewards`` (commit 743bc25, tasks/transform.py), verbatim:
    Q* by its private Howard policy iteration with dense LU, then the same affine shaping."""
    S, A, gamma = mdp.n_states, mdp.n_actions, mdp.gamma
    K = mdp.kernel.toarray() if mdp.is_sparse else mdp.kernel
    R, rows, pi = mdp.R, np.arange(S), np.argmax(mdp.R, axis=1)
    for _ in range(10_000):
        V = np.linalg.solve(np.eye(S) - gamma * K[rows * A + pi], R[rows, pi])
        Q = R + gamma * (K @ V).reshape(S, A)
        best = np.argmax(Q, axis=1)
        improve = Q[rows, best] - Q[rows, pi] > 1e-12 * (1.0 + np.abs(Q[rows, pi]))
        if not improve.any():
            break
        pi = np.where(improve, best, pi)
    live = ~mdp.terminal
    q_min, q_max = Q[live].min(), Q[live].max()
    a, b = ((high - low) / (q_max - q_min), 0.0) if q_max > q_min else (1.0, 0.5 * (low + high) - q_min)
    b = low - a * q_min if q_max > q_min else b
    R_new = a * R + b - gamma * b * (K @ live.astype(float)).reshape(S, A)
    R_new[mdp.terminal] = 0.0
    return R_new


@pytest.mark.parametrize("task", sorted(tasks.TASKS))
def test_equals_the_old_tasks_rescale_on_every_registry_task(task: str) -> None:
    mdp = tasks.make(task)
    new = rescale_rewards(mdp, 0.1, 0.9)
    old = old_tasks_rescale(mdp, 0.1, 0.9)
    # Both are exact to rounding: a and b agree to ~1e-13 of the value scale. The old one knew no
    # action masks: an unavailable action's reward is never used, and a FiniteMDP stores it as 0.
    available = np.asarray(mdp.available)
    np.testing.assert_allclose(new.R[available], old[available], rtol=0, atol=1e-11)
    np.testing.assert_array_equal(new.R[~available], 0.0)
    np.testing.assert_array_equal(new.terminal, mdp.terminal)


def test_sparse_q_star_is_the_affine_map_with_the_closed_form_coefficients() -> None:
    """On a sparse MDP with 2000 states (where the old private solver took seconds): Q*' = a·Q* + b with
    a = (high − low)/(q_max − q_min), b = low − a·q_min (the docstring's proof), so the range is exactly
    [low, high]; Q* from an independent method (this file's value iteration)."""
    mdp = random_mdp(2000, 3, gamma=0.95, successors=5, seed=11, sparse=True, terminal_fraction=0.05)
    low, high = -2.0, 3.0
    out = rescale_rewards(mdp, low, high)
    Q, Q2 = q_star(mdp), q_star(out)
    live = ~mdp.terminal
    a = (high - low) / (Q[live].max() - Q[live].min())
    b = low - a * Q[live].min()
    np.testing.assert_allclose(Q2[live], a * Q[live] + b, rtol=0, atol=1e-8)
    assert abs(Q2[live].min() - low) < 1e-8
    assert abs(Q2[live].max() - high) < 1e-8
    np.testing.assert_allclose(Q2[~live], 0.0, atol=1e-8)


def test_unavailable_actions_do_not_set_the_range() -> None:
    """An unavailable action's Q* (here the best-paying one) is left out of [q_min, q_max]."""
    mdp = random_mdp(6, 3, gamma=0.9, seed=5)
    R = mdp.R.copy()
    R[2, 1] = 50.0  # would dominate the range if counted
    available = np.ones((6, 3), dtype=bool)
    available[2, 1] = False
    masked = FiniteMDP(mdp.P, R, mdp.gamma, available=available)
    out = rescale_rewards(masked, 0.0, 1.0)
    Q2 = q_star(out)
    assert np.isclose(Q2[available].min(), 0.0, atol=1e-9)
    assert np.isclose(Q2[available].max(), 1.0, atol=1e-9)


def test_tasks_no_longer_has_a_solver() -> None:
    """One home: the map lives in verify (it needs Q*), and tasks imports nothing from verify."""
    assert not hasattr(tasks, "rescale_rewards")
    assert verify.rescale_rewards is rescale_rewards
