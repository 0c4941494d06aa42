"""Finite-horizon backward induction against QuantEcon and pymdptoolbox on their own examples, and γ = 1.

``solve_horizon`` indexes by steps to go: ``V[h]``, ``policy[h − 1]`` with ``h`` decisions left,
``V[0] = v_term``. The peers index by period ``t = H − h``: QuantEcon's ``vs[t] = V[H − t]``,
``sigmas[t] = policy[H − t − 1]``; pymdptoolbox's ``V[:, t]``, ``policy[:, t]`` likewise. So
``V[::-1]`` and ``policy[::-1]`` are QuantEcon's arrays, and their transposes pymdptoolbox's.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import tasks
import verify
from tests.test_episodic import lazy_chain

# quantecon/markov/tests/test_ddp.py, TestFiniteHorizon (from Puterman 2005, §3.2 and §4.6.1, the
# "single-product stochastic inventory control" problem) in the state-action-pair form, β = 1, T = 3.
INVENTORY_S = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3]
INVENTORY_A = [0, 1, 2, 3, 0, 1, 2, 0, 1, 0]
INVENTORY_R = [0.0, -1.0, -2.0, -5.0, 5.0, 0.0, -3.0, 6.0, -1.0, 5.0]
INVENTORY_Q = [
    [1.0, 0.0, 0.0, 0.0],
    [0.75, 0.25, 0.0, 0.0],
    [0.25, 0.5, 0.25, 0.0],
    [0.0, 0.25, 0.5, 0.25],
    [0.75, 0.25, 0.0, 0.0],
    [0.25, 0.5, 0.25, 0.0],
    [0.0, 0.25, 0.5, 0.25],
    [0.25, 0.5, 0.25, 0.0],
    [0.0, 0.25, 0.5, 0.25],
    [0.0, 0.25, 0.5, 0.25],
]
# The test's documented answer: vs[t] for t = 0..3 (vs[3] = v_term = 0) and sigmas[t] for t = 0..2.
INVENTORY_VS = [[67 / 16, 129 / 16, 194 / 16, 227 / 16], [2, 25 / 4, 10, 21 / 2], [0, 5, 6, 5], [0, 0, 0, 0]]
INVENTORY_SIGMAS = [[3, 0, 0, 0], [2, 0, 0, 0], [0, 0, 0, 0]]


def inventory() -> tasks.FiniteMDP:
    # β = 1 in QuantEcon. FiniteMDP refuses γ = 1 here (ordering nothing in state 0 keeps it there
    # forever: no episode ends), so the MDP carries some γ < 1 and the recursion takes gamma=1.0.
    return tasks.from_quantecon(INVENTORY_R, np.array(INVENTORY_Q), 0.95, INVENTORY_S, INVENTORY_A)


def test_quantecon_inventory_example_undiscounted() -> None:
    hs = verify.solve_horizon(inventory(), 3, gamma=1.0)
    np.testing.assert_allclose(hs.V[::-1], INVENTORY_VS, atol=1e-12, rtol=0)
    np.testing.assert_array_equal(hs.policy[::-1], INVENTORY_SIGMAS)
    # Infeasible pairs (state 3 orders nothing but 0) are −inf and never chosen.
    assert np.isneginf(hs.Q[:, 3, 1:]).all()


@pytest.mark.filterwarnings("ignore:infinite horizon solution methods are disabled with beta=1")
def test_quantecon_backward_induction_with_a_terminal_value() -> None:
    qe = pytest.importorskip("quantecon")
    ddp = qe.markov.DiscreteDP(INVENTORY_R, np.array(INVENTORY_Q), 1, INVENTORY_S, INVENTORY_A)
    v_term = np.array([0.0, 2.0, 4.0, 6.0])
    vs, sigmas = qe.markov.backward_induction(ddp, 5, v_term=v_term)
    hs = verify.solve_horizon(inventory(), 5, v_term, gamma=1.0)
    np.testing.assert_allclose(hs.V[::-1], vs, atol=1e-12, rtol=0)
    np.testing.assert_array_equal(hs.policy[::-1], sigmas)
    # QuantEcon's discounted test problem (TestDiscreteDP, β = 0.95, R = −inf for an infeasible pair).
    R, Q = np.array([[5.0, 10.0], [-1.0, -np.inf]]), np.array([[[0.5, 0.5], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]])
    vs, sigmas = qe.markov.backward_induction(qe.markov.DiscreteDP(R, Q, 0.95), 7, v_term=np.array([1.0, -3.0]))
    hs = verify.solve_horizon(tasks.from_quantecon(R, Q, 0.95), 7, [1.0, -3.0])
    np.testing.assert_allclose(hs.V[::-1], vs, atol=1e-12, rtol=0)
    np.testing.assert_array_equal(hs.policy[::-1], sigmas)


# pymdptoolbox's FiniteHorizon docstring (mdptoolbox/mdp.py): forest(), discount 0.9, N = 3,
#   fh.V = [[2.6973, 0.81, 0, 0], [5.9373, 3.24, 1, 0], [9.9373, 7.24, 4, 0]],
#   fh.policy = [[0, 0, 0], [0, 0, 1], [0, 0, 0]]   (printed to 4 decimals).
FOREST_V = [[2.6973, 0.81, 0.0, 0.0], [5.9373, 3.24, 1.0, 0.0], [9.9373, 7.24, 4.0, 0.0]]
FOREST_POLICY = [[0, 0, 0], [0, 0, 1], [0, 0, 0]]


def forest(gamma: float = 0.9) -> tasks.FiniteMDP:
    # mdptoolbox.example.forest() with its defaults S = 3, r1 = 4, r2 = 2, p = 0.1 (P[a, s, s'], R[s, a]).
    P = np.array([[[0.1, 0.9, 0.0], [0.1, 0.0, 0.9], [0.1, 0.0, 0.9]], [[1.0, 0.0, 0.0]] * 3])
    R = np.array([[0.0, 0.0], [0.0, 1.0], [4.0, 2.0]])
    return tasks.from_mdptoolbox(P, R, gamma)


def test_pymdptoolbox_finite_horizon_forest_example() -> None:
    hs = verify.solve_horizon(forest(), 3)
    np.testing.assert_allclose(hs.V[::-1].T, FOREST_V, atol=5e-5, rtol=0)
    np.testing.assert_array_equal(hs.policy[::-1].T, FOREST_POLICY)


def test_pymdptoolbox_finite_horizon_with_terminal_reward_h() -> None:
    pytest.importorskip("mdptoolbox")
    import mdptoolbox.example
    import mdptoolbox.mdp

    P, R = mdptoolbox.example.forest()
    np.testing.assert_array_equal(tasks.to_mdptoolbox(forest())[0], P)
    for gamma, h in ((0.9, np.array([3.0, -1.0, 0.5])), (1.0, np.array([0.0, 5.0, 2.0]))):
        fh = mdptoolbox.mdp.FiniteHorizon(P, R, gamma, 6, h=h)
        fh.run()
        hs = verify.solve_horizon(forest(), 6, h, gamma=gamma)
        np.testing.assert_allclose(hs.V[::-1].T, fh.V, atol=1e-12, rtol=0)
        np.testing.assert_array_equal(hs.policy[::-1].T, fh.policy)


def test_gymnasium_frozen_lake_documented_optimum_within_the_step_limit() -> None:
    # gymnasium/envs/__init__.py registers FrozenLake-v1 (4x4, max_episode_steps=100) with the comment
    # "optimum = 0.74" and FrozenLake8x8-v1 (200 steps) with "optimum = 0.91": the largest probability
    # of reaching the goal within the limit, the undiscounted finite-horizon value of the start state.
    for name, limit, optimum in (("4x4", 100, 0.74), ("8x8", 200, 0.91)):
        mdp = tasks.frozen_lake(name)
        assert mdp.time_limit == limit
        hs = verify.solve_horizon(mdp, limit, gamma=1.0)
        assert round(float(hs.V[limit] @ mdp.start), 2) == optimum


def test_undiscounted_episodic_horizon_reaches_v_star_after_the_longest_path() -> None:
    # The lazy chain (every step −1, n steps to the end at best): with h steps left, V_h(s) = −min(h, n − s);
    # from h = n on it is V* = −(n − s), the infinite-horizon solution at γ = 1.
    n = 7
    mdp = lazy_chain(n, sparse=True)
    hs = verify.solve_horizon(mdp, 10)
    s = np.arange(n + 1)
    for h in range(11):
        np.testing.assert_allclose(hs.V[h], -np.minimum(h, n - s), atol=1e-12)
    np.testing.assert_allclose(hs.V[10], verify.solve(mdp).V, atol=1e-9)


def test_horizon_ignores_the_mdp_discount_only_when_asked() -> None:
    mdp = tasks.random_mdp(10, 3, gamma=0.5, seed=1)
    np.testing.assert_array_equal(verify.solve_horizon(mdp, 4).V, verify.solve_horizon(mdp, 4, gamma=0.5).V)
    assert not np.array_equal(verify.solve_horizon(mdp, 4).V, verify.solve_horizon(mdp, 4, gamma=1.0).V)


def test_solve_horizon_validates_terminal_value_and_gamma() -> None:
    mdp = tasks.chain()  # S = 6
    with pytest.raises(ValueError, match=r"terminal_value has shape \(5,\).*\(6,\)"):
        verify.solve_horizon(mdp, 2, np.zeros(5))
    with pytest.raises(ValueError, match=r"terminal_value\[1\] = nan"):
        verify.solve_horizon(mdp, 2, [0.0, np.nan, 0, 0, 0, 0])
    with pytest.raises(TypeError, match="terminal_value"):
        verify.solve_horizon(mdp, 2, ["a"] * 6)
    for bad in (1.5, -0.1, float("nan")):
        with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\]"):
            verify.solve_horizon(mdp, 2, gamma=bad)
    with pytest.raises(TypeError, match="gamma"):
        verify.solve_horizon(mdp, 2, gamma="1")
    with pytest.raises(TypeError, match="FiniteMDP"):
        verify.solve_horizon(sp.csr_array(np.eye(2)), 2)  # type: ignore[arg-type]
