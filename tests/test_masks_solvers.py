"""Action sets that differ by state (``FiniteMDP.available``) in every solver.

The contract: an unavailable pair has ``Q = −inf`` in every returned ``Solution`` and
``HorizonSolution``, no policy takes it, the LP has no constraint for it, and ``evaluate`` refuses a
policy that uses it. V* of a masked MDP equals V* of the same MDP with those actions deleted,
built without any mask: each unavailable action replaced by a copy of an available one of the
same state (a copy adds no option), and equally with R = −inf (QuantEcon's product form).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import tasks
import verify
from tests.test_episodic import brute_force, proper_mdps

METHODS = ("pi", "vi", "mpi", "lp")


@st.composite
def masked_mdps(draw: st.DrawFn, max_states: int = 6) -> tasks.FiniteMDP:
    """A discounted MDP with a random mask (every state keeps one action), dense or CSR, or a proper γ = 1 one."""
    if draw(st.booleans()):
        return draw(proper_mdps(masked=True))
    S, A = draw(st.integers(2, max_states)), draw(st.integers(2, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    gamma = draw(st.sampled_from([0.0, 0.5, 0.9, 0.99]))
    W = rng.random((S, A, S)) * (rng.random((S, A, S)) < draw(st.sampled_from([1.0, 0.3])))
    W[np.arange(S)[:, None], np.arange(A)[None, :], rng.integers(0, S, (S, A))] += 1.0
    P = W / W.sum(axis=2, keepdims=True)
    # Unavailable actions keep their rows of P (only R is zeroed): a solver that ignored the mask could take them.
    available = rng.random((S, A)) < 0.5
    available[np.arange(S), rng.integers(0, A, S)] = True
    R = np.where(available, rng.uniform(-1.0, 1.0, (S, A)), 0.0)
    kernel = sp.csr_array(P.reshape(S * A, S)) if draw(st.booleans()) else P
    return tasks.FiniteMDP(kernel, R, gamma, available=available)


def copies_instead_of_mask(mdp: tasks.FiniteMDP) -> tasks.FiniteMDP:
    """The same MDP with each unavailable action replaced by a copy of the state's first available one, no mask."""
    S, A = mdp.n_states, mdp.n_actions
    first = np.argmax(mdp.available, axis=1)
    src = np.where(mdp.available, np.arange(A)[None, :], first[:, None])
    P = mdp.dense_P[np.arange(S)[:, None], src]
    R = mdp.R[np.arange(S)[:, None], src]
    return tasks.FiniteMDP(P, R, mdp.gamma, terminal=mdp.terminal)


def minus_inf_instead_of_mask(mdp: tasks.FiniteMDP) -> tasks.FiniteMDP:
    return tasks.FiniteMDP(mdp.P, np.where(mdp.available, mdp.R, -np.inf), mdp.gamma, terminal=mdp.terminal)


def solve_quietly(mdp: tasks.FiniteMDP, method: str) -> verify.Solution:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", verify.ConvergenceWarning)
        return verify.solve(mdp, method, tol=1e-10)


@given(mdp=masked_mdps())
def test_masked_v_star_equals_the_mdp_without_those_actions(mdp: tasks.FiniteMDP) -> None:
    V_ref, Q_ref = brute_force(mdp)
    scale = 1.0 + float(np.abs(V_ref).max())
    copies = solve_quietly(copies_instead_of_mask(mdp), "pi")
    np.testing.assert_allclose(copies.V, V_ref, atol=1e-8 * scale, rtol=0)
    inf_form = minus_inf_instead_of_mask(mdp)
    np.testing.assert_array_equal(inf_form.available, mdp.available)
    for method in (*METHODS, "auto"):
        for m in (mdp, inf_form):
            sol = solve_quietly(m, method)
            np.testing.assert_allclose(sol.V, V_ref, atol=1e-8 * scale, rtol=0)
            np.testing.assert_allclose(sol.Q, Q_ref, atol=1e-8 * scale, rtol=0)  # −inf exactly where unavailable
            assert np.isneginf(sol.Q[~mdp.available]).all()
            assert mdp.available[np.arange(mdp.n_states), sol.policy].all()
    hs = verify.solve_horizon(mdp, 5)
    assert np.isneginf(hs.Q[:, ~mdp.available]).all()
    assert mdp.available[np.arange(mdp.n_states)[None, :], hs.policy].all()


def test_an_unavailable_action_is_never_taken_even_when_it_would_pay() -> None:
    # State 0: action 0 ends the episode with reward 0; action 1 (unavailable) would move to state 1,
    # where staying pays 1 per step: V*(0) would be 1/(1 − γ) = 10 if the mask were ignored.
    P = np.zeros((3, 2, 3))
    P[0, 0, 2] = P[0, 1, 1] = 1.0
    P[1, :, 1] = 1.0
    P[2, :, 2] = 1.0
    R = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    available = np.array([[True, False], [True, True], [True, True]])
    mdp = tasks.FiniteMDP(P, R, 0.9, terminal=np.array([False, False, True]), available=available)
    for method in verify.METHODS:
        sol = verify.solve(mdp, method)
        assert sol.V[0] == pytest.approx(0.0, abs=1e-9)
        assert sol.policy[0] == 0
        assert sol.Q[0, 1] == -np.inf
    assert verify.solve_horizon(mdp, 3).V[3, 0] == 0.0


def test_evaluate_refuses_a_policy_that_takes_an_unavailable_action() -> None:
    available = np.array([[True, False], [True, True], [True, True]])
    P = np.zeros((3, 2, 3))
    P[:, :, 2] = 1.0
    mdp = tasks.FiniteMDP(P, np.zeros((3, 2)), 0.9, available=available)
    with pytest.raises(ValueError, match=r"action 1 in state 0.*available\[0, 1\] is False"):
        verify.evaluate(mdp, np.array([1, 0, 0]))
    with pytest.raises(ValueError, match=r"action 1 in state 0"):
        verify.evaluate(mdp, np.array([[0.5, 0.5], [1.0, 0.0], [1.0, 0.0]]))
    # Probability 0 on the unavailable action is fine (and its R = −inf contributes nothing).
    np.testing.assert_allclose(verify.evaluate(mdp, np.array([[1.0, 0.0], [0.5, 0.5], [1.0, 0.0]])), 0.0)


# QuantEcon's own test problem (quantecon/markov/tests/test_ddp.py, TestDiscreteDP; Puterman 2005,
# §3.1 and Example 6.2.1): two states, R = [[5, 10], [−1, −inf]], Q[0, 0] = (1/2, 1/2), Q[0, 1] = (0, 1),
# Q[1, 0] = (0, 1); action 1 is infeasible in state 1. For β = 0.95 > 10/11 the analytical solution is
# v* = ((5 − 5.5β)/((1 − 0.5β)(1 − β)), −1/(1 − β)) and σ* = (0, 0).
BETA = 0.95
V_STAR = np.array([(5 - 5.5 * BETA) / ((1 - 0.5 * BETA) * (1 - BETA)), -1 / (1 - BETA)])
R_PRODUCT = np.array([[5.0, 10.0], [-1.0, -np.inf]])
Q_PRODUCT = np.array([[[0.5, 0.5], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]])
S_INDICES, A_INDICES = [0, 0, 1], [0, 1, 0]
R_PAIRS = [5.0, 10.0, -1.0]
Q_PAIRS = np.array([[0.5, 0.5], [0.0, 1.0], [0.0, 1.0]])


def quantecon_forms() -> list[tasks.FiniteMDP]:
    """QuantEcon's three formulations of the problem: product form, and state-action pairs dense and sparse."""
    return [
        tasks.from_quantecon(R_PRODUCT, Q_PRODUCT, BETA),
        tasks.from_quantecon(R_PAIRS, Q_PAIRS, BETA, S_INDICES, A_INDICES),
        tasks.from_quantecon(R_PAIRS, sp.csr_matrix(Q_PAIRS), BETA, S_INDICES, A_INDICES),
    ]


@pytest.mark.parametrize("method", verify.METHODS)
def test_quantecon_state_action_pair_example(method: str) -> None:
    for mdp in quantecon_forms():
        np.testing.assert_array_equal(mdp.available, [[True, True], [True, False]])
        sol = verify.solve(mdp, method, tol=1e-10)
        np.testing.assert_allclose(sol.V, V_STAR, atol=1e-9, rtol=0)
        assert sol.policy.tolist() == [0, 0]
        assert sol.Q[1, 1] == -np.inf


def test_quantecon_example_agrees_with_quantecon_itself() -> None:
    qe = pytest.importorskip("quantecon")
    res = qe.markov.DiscreteDP(R_PRODUCT, Q_PRODUCT, BETA).solve(method="policy_iteration")
    for mdp in quantecon_forms():
        sol = verify.solve(mdp)
        np.testing.assert_allclose(sol.V, res.v, atol=1e-9, rtol=0)
        np.testing.assert_array_equal(sol.policy, res.sigma)
