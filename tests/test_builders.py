"""The paper's tasks against closed forms (PAPER.md), and the grid world's dynamics."""

from __future__ import annotations

import numpy as np
import pytest

from tasks import GRID_ACTIONS, Grid, bandit, chain, duality, gridworld

GAMMA = 0.99


def bellman_optimality_residual(mdp, Q):
    """max |Q − (R + γ·P·max_a Q)|: zero exactly at Q* (the Bellman optimality operator is a γ-contraction)."""
    TQ = mdp.R + mdp.gamma * (mdp.kernel @ Q.max(axis=1)).reshape(mdp.R.shape)
    return float(np.abs(Q - TQ).max())


def evaluate(mdp, pi):
    """V^π by one direct linear solve, (I − γ P_π) V = R_π; an independent check of any solver."""
    S = mdp.n_states
    rows = np.arange(S)
    P_pi = mdp.P[rows, pi]
    return np.linalg.solve(np.eye(S) - mdp.gamma * P_pi, mdp.R[rows, pi])


# ------------------------------------------------------------------ bandit
def test_bandit_paper_arms():
    mdp = bandit()
    assert (mdp.n_states, mdp.n_actions) == (2, 4)
    assert mdp.time_limit == 1
    np.testing.assert_array_equal(mdp.terminal, [False, True])
    np.testing.assert_array_equal(mdp.start, [1.0, 0.0])
    # PAPER.md "Bandit": arm k pays (k+1)/5 = 0.2, 0.4, 0.6, 0.8 = Q*; the episode ends after one pull.
    Q = np.array([[0.2, 0.4, 0.6, 0.8], [0.0] * 4])
    assert bellman_optimality_residual(mdp, Q) < 1e-15
    np.testing.assert_allclose(mdp.R[0], [0.2, 0.4, 0.6, 0.8], atol=1e-15)


def test_bandit_k_arms_evenly_spaced_in_unit_interval():
    mdp = bandit(10)
    np.testing.assert_allclose(mdp.R[0], np.arange(1, 11) / 11, atol=1e-15)
    assert 0 < mdp.R[0].min() < mdp.R[0].max() < 1


@pytest.mark.parametrize(("k", "err"), [(0, ValueError), (2.0, TypeError), (True, TypeError)])
def test_bandit_bad_k(k, err):
    with pytest.raises(err, match="k must be"):
        bandit(k)


# ------------------------------------------------------------------ chain
def chain_q_star(n, reward=0.8, gamma=GAMMA):
    """Closed form of the chain's Q* (derived from PAPER.md's dynamics, independent of the builder).

    Going right from s reaches the goal after n−1−s steps, the last one paying ``reward``:
    Q*(s, right) = reward·γ^(n−2−s). Going left costs one step back to max(s−1, 0), after which
    the optimal policy goes right: Q*(s, left) = γ·V*(max(s−1, 0)) with V*(s) = Q*(s, right).
    The terminal goal n−1 has Q* = 0.
    """
    s = np.arange(n - 1)
    right = reward * gamma ** (n - 2 - s)
    left = gamma * right[np.maximum(s - 1, 0)]
    return np.vstack([np.column_stack([left, right]), [0.0, 0.0]])


def test_chain_paper_table():
    mdp = chain()
    assert (mdp.n_states, mdp.n_actions) == (6, 2)
    assert mdp.time_limit == 20
    np.testing.assert_array_equal(mdp.terminal, [False] * 5 + [True])
    np.testing.assert_array_equal(mdp.start, [1, 0, 0, 0, 0, 0])
    Q = chain_q_star(6)
    # The closed form is the builder's fixed point (so it is its Q*, by uniqueness) ...
    assert bellman_optimality_residual(mdp, Q) < 1e-15
    # ... and equals PAPER.md's Q* table at γ = 0.99 (printed to 6 decimals).
    paper = np.array(
        [
            [0.760792, 0.768477],
            [0.760792, 0.776239],
            [0.768477, 0.784080],
            [0.776239, 0.792000],
            [0.784080, 0.800000],
        ]
    )
    np.testing.assert_allclose(Q[:5], paper, atol=1e-6)


@pytest.mark.parametrize("n", [2, 10, 20])
def test_chain_closed_form_other_lengths(n):
    mdp = chain(n)
    Q = chain_q_star(n)
    assert bellman_optimality_residual(mdp, Q) < 1e-14
    # the always-right policy attains it, by a direct linear solve
    V = evaluate(mdp, np.ones(n, dtype=int))
    np.testing.assert_allclose(V, Q.max(axis=1), atol=1e-12)


def test_chain_moves():
    mdp = chain(6)
    assert mdp.P[0, 0, 0] == 1.0  # left at 0 stays
    assert mdp.P[3, 0, 2] == 1.0
    assert mdp.P[3, 1, 4] == 1.0
    assert mdp.R[4, 1] == 0.8
    assert mdp.R.sum() == 0.8  # only entering the goal pays


def test_chain_custom_reward_and_time_limit():
    mdp = chain(4, reward=2.0, time_limit=None)
    assert mdp.time_limit is None
    assert bellman_optimality_residual(mdp, chain_q_star(4, 2.0)) < 1e-14


def test_chain_too_short():
    with pytest.raises(ValueError, match="n must be >= 2"):
        chain(1)


# ------------------------------------------------------------------ duality
def test_duality_paper_values():
    mdp = duality()
    assert (mdp.n_states, mdp.n_actions) == (3, 2)
    assert mdp.time_limit == 10
    assert not mdp.terminal.any()  # state 2 is absorbing but not terminal (its reward is −1)
    np.testing.assert_array_equal(mdp.start, [1, 0, 0])
    # Optimal: alternate 0 -> 1 -> 0 (action 1 at 0, action 0 at 1); V by one linear solve.
    V = evaluate(mdp, np.array([1, 0, 0]))
    Q = mdp.R + GAMMA * (mdp.kernel @ V).reshape(3, 2)
    # PAPER.md "Duality": Q*(0,·) = (−99, 50), Q*(1,·) = (50, 49.8), V*(2) = −100.
    np.testing.assert_allclose(Q[0], [-99.0, 50.0], atol=1e-9)
    np.testing.assert_allclose(Q[1], [50.0, 49.8], atol=1e-9)
    assert V[2] == pytest.approx(-100.0, abs=1e-9)
    # and this Q is optimal: it is the Bellman optimality fixed point
    assert bellman_optimality_residual(mdp, Q) < 1e-10


# ------------------------------------------------------------------ grid world
LAYOUT = ("S..", ".#.", "..G")


def test_grid_mapping_round_trip():
    grid = Grid.from_ascii(LAYOUT)
    assert grid.n_states == 8
    assert (1, 1) not in grid.cells
    for s, cell in enumerate(grid.cells):
        assert grid.state(*cell) == s
        assert grid.cell(s) == cell
    assert grid.state(2, 2) == 7
    with pytest.raises(ValueError, match=r"\(1, 1\) is not an open cell"):
        grid.state(1, 1)
    with pytest.raises(ValueError, match="state 8 is out of range"):
        grid.cell(8)


def test_gridworld_deterministic_moves_and_goal():
    grid = Grid.from_ascii(LAYOUT)
    mdp = gridworld(LAYOUT)
    assert (mdp.n_states, mdp.n_actions) == (8, 4)
    assert GRID_ACTIONS == ("left", "down", "right", "up")
    goal = grid.state(2, 2)
    np.testing.assert_array_equal(np.flatnonzero(mdp.terminal), [goal])
    np.testing.assert_array_equal(np.flatnonzero(mdp.start), [grid.state(0, 0)])
    s01 = grid.state(0, 1)
    assert mdp.P[s01, 1, s01] == 1.0  # down into the wall (1, 1): stay
    assert mdp.P[s01, 3, s01] == 1.0  # up off the grid: stay
    assert mdp.P[s01, 2, grid.state(0, 2)] == 1.0
    assert mdp.P[s01, 0, grid.state(0, 0)] == 1.0
    assert mdp.R[grid.state(1, 2), 1] == 1.0  # down into the goal pays 1
    assert mdp.R[grid.state(2, 1), 2] == 1.0
    assert mdp.R.sum() == 2.0
    # Shortest path from S is 4 steps: V*(S) = γ^3 (the 4th step pays 1).
    Q = mdp.R.copy()
    for _ in range(200):
        Q = mdp.R + GAMMA * (mdp.kernel @ Q.max(axis=1)).reshape(Q.shape)
    assert Q.max(axis=1)[grid.state(0, 0)] == pytest.approx(GAMMA**3, abs=1e-12)


def test_gridworld_slip_probabilities():
    grid = Grid.from_ascii(LAYOUT)
    slip = 0.3
    mdp = gridworld(LAYOUT, slip=slip, step_reward=-0.1)
    s = grid.state(1, 0)  # left column, middle row: up (0,0), down (2,0), right is the wall
    right = 2
    # intended right (blocked: stay) 0.7, perpendicular up and down 0.15 each
    assert mdp.P[s, right, s] == pytest.approx(1 - slip)
    assert mdp.P[s, right, grid.state(0, 0)] == pytest.approx(slip / 2)
    assert mdp.P[s, right, grid.state(2, 0)] == pytest.approx(slip / 2)
    # goal reward weighted by the chance of entering it, plus the step reward
    g_from = grid.state(1, 2)
    assert mdp.R[g_from, 1] == pytest.approx(-0.1 + (1 - slip))
    assert mdp.R[g_from, 0] == pytest.approx(-0.1 + slip / 2)
    assert (mdp.R[mdp.terminal] == 0).all()


def test_gridworld_from_rows_cols_matches_ascii():
    a = gridworld(LAYOUT, slip=0.2)
    b = gridworld(rows=3, cols=3, walls=[(1, 1)], goals={(2, 2): 1.0}, start=[(0, 0)], slip=0.2)
    np.testing.assert_array_equal(a.P, b.P)
    np.testing.assert_array_equal(a.R, b.R)
    np.testing.assert_array_equal(a.start, b.start)
    np.testing.assert_array_equal(a.terminal, b.terminal)


def test_gridworld_negative_goal_and_default_start():
    mdp = gridworld(rows=1, cols=3, goals={(0, 0): -1.0, (0, 2): 1.0})
    np.testing.assert_array_equal(mdp.terminal, [True, False, True])
    np.testing.assert_array_equal(mdp.start, [0, 1, 0])
    np.testing.assert_array_equal(mdp.R[1], [-1.0, 0.0, 1.0, 0.0])


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"layout": ["S.", "..."]}, "row 1 has 3 characters"),
        ({"layout": ["S?"]}, r"layout\[0\]\[1\] = '\?'"),
        ({"layout": []}, "layout is empty"),
        ({"layout": ["S.G"], "slip": 1.5}, "slip must be a probability"),
        ({"rows": 2, "cols": 2, "goals": {(2, 0): 1.0}}, r"goals cell \(2, 0\) lies outside"),
        ({"rows": 2, "cols": 2, "walls": [(0, 0)], "start": [(0, 0)]}, r"cell \(0, 0\) is both a wall"),
        ({"rows": 1, "cols": 1, "walls": [(0, 0)]}, "every cell is a wall"),
        ({"layout": ["S.G"], "rows": 1, "cols": 3}, "either a layout or rows/cols"),
        ({"layout": ["S.G"], "walls": [(0, 1)]}, "come from the layout"),
        ({}, "give a layout"),
    ],
)
def test_gridworld_bad_input(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        gridworld(**kwargs)
