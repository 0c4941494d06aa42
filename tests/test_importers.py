"""Importers: gymnasium tables and pymdptoolbox arrays round-trip; FrozenLake and Taxi match gymnasium."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import tasks
import verify
from tasks import (
    chain,
    duality,
    from_gymnasium,
    from_mdptoolbox,
    frozen_lake,
    frozen_lake_dict,
    random_mdp,
    reachable,
    taxi,
    taxi_dict,
    to_gymnasium,
    to_mdptoolbox,
)


def same_mdp(a, b):
    np.testing.assert_array_equal(a.dense_P, b.dense_P)
    # R goes out as a reward on every listed transition and comes back as Σ p·r: equal to round-off
    np.testing.assert_allclose(a.R, b.R, rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(a.terminal, b.terminal)
    np.testing.assert_array_equal(a.start, b.start)
    assert a.gamma == b.gamma


def linear_solve_value(mdp, pi):
    """V^π by (I − γ P_π) V = R_π, independent of verify."""
    S = mdp.n_states
    rows = np.arange(S)
    return np.linalg.solve(np.eye(S) - mdp.gamma * mdp.dense_P[rows, pi], mdp.R[rows, pi])


def optimality_residual(mdp, V):
    Q = mdp.R + mdp.gamma * (mdp.dense_P @ V)
    return float(np.abs(Q.max(axis=1) - V).max())


# ------------------------------------------------------------------ gymnasium round trips
@pytest.mark.parametrize(
    "mdp",
    [chain(6), duality(), random_mdp(7, 3, seed=4, terminal_fraction=0.4), random_mdp(9, 2, successors=3, seed=1)],
    ids=["chain", "duality", "random-terminal", "random-k3"],
)
def test_mdp_to_gymnasium_and_back(mdp):
    back = from_gymnasium(to_gymnasium(mdp), mdp.gamma, start=mdp.start, time_limit=mdp.time_limit)
    same_mdp(mdp, back)
    assert back.n_states == mdp.n_states  # terminal states are reused, none added
    assert back.time_limit == mdp.time_limit


def test_dict_to_mdp_to_dict_to_mdp():
    table = frozen_lake_dict("4x4")
    once = from_gymnasium(table, 0.99)
    twice = from_gymnasium(to_gymnasium(once), 0.99)
    same_mdp(once, twice)


def test_sparse_output_matches_dense():
    table = frozen_lake_dict("4x4")
    dense = from_gymnasium(table, 0.9)
    sparse = from_gymnasium(table, 0.9, sparse=True)
    assert sparse.is_sparse
    same_mdp(dense, sparse)


def test_expected_reward_duplicates_and_added_terminal():
    # state 0: action 0 lists successor 1 twice (merged), action 1 terminates into state 1,
    # which is not absorbing, so an extra terminal state 2 is added.
    table = {
        0: {0: [(0.25, 1, 2.0, False), (0.25, 1, 4.0, False), (0.5, 0, 0.0, False)], 1: [(1.0, 1, 5.0, True)]},
        1: {0: [(1.0, 0, -1.0, False)], 1: [(1.0, 1, 0.0, False)]},
    }
    mdp = from_gymnasium(table, 0.9, start=[1.0, 0.0])
    assert mdp.n_states == 3
    np.testing.assert_array_equal(mdp.terminal, [False, False, True])
    np.testing.assert_array_equal(mdp.P[0, 0], [0.5, 0.5, 0.0])  # 0.25 + 0.25 merged
    np.testing.assert_array_equal(mdp.P[0, 1], [0.0, 0.0, 1.0])  # terminated -> added terminal
    np.testing.assert_array_equal(mdp.R[0], [0.25 * 2 + 0.25 * 4, 5.0])  # R = Σ p·r
    np.testing.assert_array_equal(mdp.R[2], [0.0, 0.0])
    np.testing.assert_array_equal(mdp.start, [1.0, 0.0, 0.0])


@pytest.mark.parametrize(
    ("table", "err", "pattern"),
    [
        ([[(1.0, 0, 0.0, False)]], TypeError, "P_dict must be a mapping"),
        ({}, ValueError, "keys must be the states"),
        ({0: {0: [(1.0, 0, 0.0, False)]}, 2: {0: [(1.0, 0, 0.0, False)]}}, ValueError, "keys must be the states 0..1"),
        ({0: [(1.0, 0, 0.0, False)]}, TypeError, r"P_dict\[0\] must map actions"),
        ({0: {}}, ValueError, r"P_dict\[0\] has no actions"),
        (
            {0: {0: [(1.0, 1, 0.0, False)]}, 1: {1: [(1.0, 1, 0.0, False)]}},
            ValueError,
            r"P_dict\[1\] has actions \[1\]; expected 0..0",
        ),
        ({0: {0: []}}, ValueError, r"P_dict\[0\]\[0\] must be a non-empty list"),
        ({0: {0: [(1.0, 0, 0.0)]}}, ValueError, r"P_dict\[0\]\[0\]\[0\] = \(1.0, 0, 0.0\); each transition"),
        ({0: {0: [(-1.0, 0, 0.0, False), (2.0, 0, 0.0, False)]}}, ValueError, r"P_dict\[0\]\[0\]\[0\] has probability"),
        ({0: {0: [(1.0, 3, 0.0, False)]}}, ValueError, r"P_dict\[0\]\[0\]\[0\] has next state 3"),
        ({0: {0: [(1.0, 0, float("nan"), False)]}}, ValueError, r"P_dict\[0\]\[0\]\[0\] has reward nan"),
        ({0: {0: [(1.0, 0, 0.0, "yes")]}}, ValueError, r"P_dict\[0\]\[0\]\[0\] has terminated = 'yes'"),
        ({0: {0: [(0.5, 0, 0.0, False)]}}, ValueError, r"P_dict\[0\]\[0\] probabilities sum to 0.5"),
    ],
)
def test_malformed_tables_name_the_key(table, err, pattern):
    with pytest.raises(err, match=pattern):
        from_gymnasium(table, 0.9)


def test_start_of_wrong_length():
    with pytest.raises(ValueError, match=r"start has shape \(3,\)"):
        from_gymnasium(frozen_lake_dict("4x4"), 0.9, start=np.ones(3) / 3)


# ------------------------------------------------------------------ pymdptoolbox
@pytest.mark.parametrize("mdp", [chain(5), random_mdp(6, 3, seed=2, terminal_fraction=0.3)], ids=["chain", "random"])
def test_mdptoolbox_round_trip(mdp):
    P, R = to_mdptoolbox(mdp)
    assert P.shape == (mdp.n_actions, mdp.n_states, mdp.n_states)
    assert R.shape == (mdp.n_states, mdp.n_actions)
    back = from_mdptoolbox(P, R, mdp.gamma, start=mdp.start, terminal=mdp.terminal)
    same_mdp(mdp, back)


def test_mdptoolbox_reward_layouts():
    mdp = random_mdp(4, 2, seed=9)
    P, _ = to_mdptoolbox(mdp)
    r_state = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(from_mdptoolbox(P, r_state, 0.9).R, np.repeat(r_state[:, None], 2, axis=1))
    rng = np.random.default_rng(0)
    r_sas = rng.random((2, 4, 4))
    expected = np.stack([(P[a] * r_sas[a]).sum(axis=1) for a in range(2)], axis=1)  # Σ_s' P·R per (s, a)
    np.testing.assert_allclose(from_mdptoolbox(P, r_sas, 0.9).R, expected, rtol=1e-14)
    # pymdptoolbox also accepts lists of (sparse) matrices
    listed = from_mdptoolbox([sp.csr_matrix(P[0]), sp.csr_matrix(P[1])], [sp.csr_matrix(r) for r in r_sas], 0.9)
    np.testing.assert_allclose(listed.R, expected, rtol=1e-14)
    assert listed.is_sparse  # sparse P[a] in, a CSR kernel out
    np.testing.assert_array_equal(listed.dense_P, mdp.P)


@pytest.mark.parametrize(
    ("P", "R", "pattern"),
    [
        (np.ones((2, 2)) / 2, np.zeros(2), r"P has shape \(2, 2\); pymdptoolbox's layouts for P are: an array"),
        ([np.eye(2), np.eye(3)], np.zeros(2), r"P\[1\] has shape \(3, 3\)"),
        (np.stack([np.eye(2)] * 2), np.zeros((3, 3)), r"R has shape \(3, 3\) with S = 2, A = 2; pymdptoolbox"),
        ([], np.zeros(2), "P has no actions"),
    ],
)
def test_mdptoolbox_bad_shapes(P, R, pattern):
    with pytest.raises(ValueError, match=pattern):
        from_mdptoolbox(P, R, 0.9)


# ------------------------------------------------------------------ FrozenLake
def test_frozen_lake_4x4_facts():
    mdp = frozen_lake("4x4")
    assert (mdp.n_states, mdp.n_actions) == (16, 4)
    # gymnasium's 4x4 map "SFFF / FHFH / FFFH / HFFG": holes 5, 7, 11, 12 and goal 15 end the episode.
    np.testing.assert_array_equal(np.flatnonzero(mdp.terminal), [5, 7, 11, 12, 15])
    np.testing.assert_array_equal(mdp.start, np.eye(16)[0])
    assert mdp.time_limit == 100
    # slippery: from 0 pressing right (2) goes right, down, or up (off the map: stay), 1/3 each
    np.testing.assert_allclose(mdp.P[0, 2, [0, 1, 4]], [1 / 3, 1 / 3, 1 / 3])
    # entering the goal pays 1: from 14 pressing right reaches 15 with 1/3
    assert mdp.R[14, 2] == pytest.approx(1 / 3)
    # 14 is the goal's only non-terminal neighbour (11 is a hole): down, right, up each reach it w.p. 1/3
    np.testing.assert_allclose(mdp.R[14], [0.0, 1 / 3, 1 / 3, 1 / 3])
    assert mdp.R.sum() == pytest.approx(1.0)


def test_frozen_lake_4x4_optimal_value():
    """V*(0) ≈ 0.542 at γ = 0.99 (slippery): the greedy policy of verify.solve, evaluated by our own
    linear solve, satisfies the Bellman optimality equation (so it is V*) and gives 0.54203."""
    mdp = frozen_lake("4x4", gamma=0.99)
    pi = verify.solve(mdp).policy
    V = linear_solve_value(mdp, pi)
    assert optimality_residual(mdp, V) < 1e-10
    assert V[0] == pytest.approx(0.542026, abs=1e-6)


def test_frozen_lake_deterministic_and_8x8():
    det = frozen_lake("4x4", is_slippery=False)
    assert det.P.max() == 1.0
    assert (det.P.max(axis=2) == 1.0).all()
    # shortest route to the goal takes 6 steps: V*(0) = γ^5
    V = linear_solve_value(det, verify.solve(det).policy)
    assert optimality_residual(det, V) < 1e-12
    assert V[0] == pytest.approx(0.99**5, abs=1e-12)
    big = frozen_lake()
    assert (big.n_states, big.n_actions, big.time_limit) == (64, 4, 200)
    assert big.terminal.sum() == 11  # 10 holes and the goal in gymnasium's 8x8 map


def test_frozen_lake_bad_map():
    with pytest.raises(ValueError, match="map_name = '5x5'"):
        frozen_lake("5x5")


# ------------------------------------------------------------------ Taxi
def taxi_state(row, col, pass_loc, dest):
    return ((row * 5 + col) * 5 + pass_loc) * 4 + dest  # gymnasium's encoding


def test_taxi_table():
    table = taxi_dict()
    assert len(table) == 500
    assert all(len(table[s]) == 6 for s in table)
    s = taxi_state(0, 0, 4, 0)  # at R with the passenger aboard, destination R
    assert table[s][5] == [(1.0, taxi_state(0, 0, 0, 0), 20.0, True)]
    s = taxi_state(2, 2, 1, 3)
    assert table[s][4] == [(1.0, s, -10.0, False)]  # illegal pickup
    assert table[s][5] == [(1.0, s, -10.0, False)]  # illegal dropoff
    assert table[taxi_state(0, 1, 1, 3)][2][0][1] == taxi_state(0, 1, 1, 3)  # wall east of (0, 1)
    assert table[taxi_state(0, 0, 1, 3)][2][0][1] == taxi_state(0, 1, 1, 3)  # open east of (0, 0)
    assert table[taxi_state(4, 4, 1, 3)][0][0][1] == taxi_state(4, 4, 1, 3)  # south edge
    # dropoff at a wrong station leaves the passenger there, −1
    assert table[taxi_state(4, 3, 4, 0)][5] == [(1.0, taxi_state(4, 3, 3, 0), -1.0, False)]


def test_taxi_mdp_facts():
    mdp = taxi()
    assert (mdp.n_states, mdp.n_actions, mdp.time_limit) == (501, 6, 200)
    np.testing.assert_array_equal(np.flatnonzero(mdp.terminal), [500])
    assert (mdp.start > 0).sum() == 300  # passenger at a station, destination elsewhere
    # gymnasium's docs: 400 states can be reached in an episode (plus our terminal)
    assert reachable(mdp).sum() == 401


def test_taxi_optimal_value_closed_form():
    """Taxi at R with the passenger at R, destination G: pick up (1 step), drive 8 steps around the
    wall ((0,0) (0,1) (1,1) (2,1) (2,2) (1,2) (0,2) (0,3) (0,4), counted on the map), drop off.
    V* = −(1 − γ^9)/(1 − γ) + 20·γ^9."""
    mdp = taxi(gamma=0.99)
    V = linear_solve_value(mdp, verify.solve(mdp).policy)
    assert optimality_residual(mdp, V) < 1e-9
    g = 0.99
    assert V[taxi_state(0, 0, 0, 1)] == pytest.approx(-(1 - g**9) / (1 - g) + 20 * g**9, abs=1e-9)
    assert V[taxi_state(0, 4, 4, 1)] == pytest.approx(20.0, abs=1e-12)
    sparse = taxi(sparse=True)
    same_mdp(mdp, sparse)


# ------------------------------------------------------------------ pymdptoolbox: every layout it takes
def _small():
    """mdptoolbox.example.small(), written out: P (A, S, S) and R (S, A)."""
    P = np.array([[[0.5, 0.5], [0.8, 0.2]], [[0.0, 1.0], [0.1, 0.9]]])
    R = np.array([[5.0, 10.0], [-1.0, 2.0]])
    return P, R


def _objects(items):
    out = np.empty(len(items), dtype=object)
    for k, x in enumerate(items):
        out[k] = x
    return out


@pytest.mark.parametrize(
    "layout",
    ["array", "object-dense", "object-sparse", "list-sparse", "tuple-dense", "dict", "dict-sparse"],
)
def test_mdptoolbox_transition_layouts(layout):
    # Every P layout of mdptoolbox.util.check: (A, S, S), a 1-D object array / list / tuple of A
    # matrices (dense or sparse), and a dict keyed by action (check and _computeTransition index P[a]).
    P, R = _small()
    mats = {"array": P, "object-dense": _objects(list(P)), "object-sparse": _objects([sp.csr_matrix(p) for p in P]),
            "list-sparse": [sp.csr_matrix(p) for p in P], "tuple-dense": tuple(P), "dict": {0: P[0], 1: P[1]},
            "dict-sparse": {1: sp.csr_matrix(P[1]), 0: sp.csr_matrix(P[0])}}[layout]
    mdp = from_mdptoolbox(mats, R, 0.9)
    np.testing.assert_array_equal(mdp.dense_P, P.transpose(1, 0, 2))
    np.testing.assert_array_equal(mdp.R, R)
    assert mdp.is_sparse == ("sparse" in layout)
    # mdptoolbox.mdp.ValueIteration docstring (small(), discount 0.9): policy (1, 0).
    np.testing.assert_array_equal(verify.solve(mdp).policy, [1, 0])


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # numpy.matrix, one of the layouts
def test_mdptoolbox_reward_layouts_all():
    P, R = _small()
    r_sas = np.random.default_rng(3).random((2, 2, 2))
    per_transition = np.stack([(P[a] * r_sas[a]).sum(axis=1) for a in range(2)], axis=1)  # Σ_s' P·R
    cases = {
        "state list": ([1.0, 2.0], [[1.0, 1.0], [2.0, 2.0]]),  # a list of S numbers: a reward per state
        "matrix (S, A)": (np.asmatrix(R), R),
        "sparse (S, A)": (sp.csr_matrix(R), R),  # pymdptoolbox itself raises NotImplementedError here
        "object dense": (_objects(list(r_sas)), per_transition),
        "object sparse": (_objects([sp.csr_matrix(r) for r in r_sas]), per_transition),
        "list mixed": ([r_sas[0], sp.csr_matrix(r_sas[1])], per_transition),
        "dict": ({0: r_sas[0], 1: r_sas[1]}, per_transition),
    }
    for name, (R_layout, expected) in cases.items():
        np.testing.assert_allclose(from_mdptoolbox(P, R_layout, 0.9).R, expected, rtol=1e-14, err_msg=name)


def test_mdptoolbox_dict_reward_is_read_by_key():
    # pymdptoolbox's check accepts a dict of reward matrices, but MDP._computeReward then maps over the
    # dict's keys and computes Σ_s' P[a]·a (its action index) instead of the rewards: with R[0] = 1 and
    # R[1] = 0 everywhere it finds the reward 1 for action 1 and 0 for action 0. Agora reads R[a] by key.
    mdptoolbox = pytest.importorskip("mdptoolbox.mdp")
    P, _ = _small()
    R_dict = {0: np.ones((2, 2)), 1: np.zeros((2, 2))}
    mdp = from_mdptoolbox(P, R_dict, 0.9)
    np.testing.assert_array_equal(mdp.R, [[1.0, 0.0], [1.0, 0.0]])
    listed = mdptoolbox.PolicyIteration(P, [R_dict[0], R_dict[1]], 0.9)
    listed.run()
    np.testing.assert_allclose(verify.solve(mdp).V, listed.V, rtol=1e-9)  # 1/(1 − 0.9) = 10 everywhere
    misread = mdptoolbox.PolicyIteration(P, R_dict, 0.9)
    misread.run()
    assert tuple(misread.policy) == (1, 1)  # pymdptoolbox's reading prefers the action its keys reward


@pytest.mark.parametrize(
    ("P", "R", "error", "pattern"),
    [
        ({0: np.eye(2), 2: np.eye(2)}, np.zeros(2), ValueError, r"keys must be the actions 0\.\.A-1"),
        ("P", np.zeros(2), TypeError, "P is a str; pymdptoolbox's layouts for P"),
        (sp.csr_matrix(np.eye(2)), np.zeros(2), TypeError, "P is a csr_matrix"),
        (_objects([np.eye(2), np.eye(2)]).reshape(1, 2), np.zeros(2), TypeError, "object array of shape"),
        (np.stack([np.eye(2)] * 2), {0: 1.0, 1: 2.0}, TypeError, "R is a dict whose values are not A = 2 matrices"),
        (np.stack([np.eye(2)] * 2), [np.eye(2), np.eye(3)], ValueError, r"R\[1\] has shape \(3, 3\)"),
    ],
)
def test_mdptoolbox_layouts_refused(P, R, error, pattern):
    with pytest.raises(error, match=pattern):
        from_mdptoolbox(P, R, 0.9)


def test_exporters_refuse_masked_mdps():
    # gymnasium tables and pymdptoolbox arrays have no action sets: exporting would silently change the problem.
    mdp = chain(4)
    mask = np.array([[True, True]] * 3 + [[True, False]])
    masked = tasks.FiniteMDP(mdp.P, mdp.R, mdp.gamma, terminal=mdp.terminal, available=mask)
    with pytest.raises(ValueError, match="action 1 at state 3"):
        to_mdptoolbox(masked)
    with pytest.raises(ValueError, match="toy-text table lists every action"):
        to_gymnasium(masked)
