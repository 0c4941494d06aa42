"""Options and their exact semi-MDP (tasks.options), and every analysis run on it unchanged."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings

import tasks
import verify
from mechanism import BUILTINS, MECHANISMS
from tests.strategies import finite_mdps
from tests.test_claims import DESIGN_TABLE, SMALL
from verify.bellman import problem_from_mdp
from verify.claims import DEFAULT_CLAIMS
from verify.search import chain_options
from verify.strategies import options_mdps

GAMMA = 0.99


def _go_right(n: int) -> tasks.Option:
    return tasks.Option(np.ones(n, dtype=np.intp), np.zeros(n), name="right until the wall")


# ------------------------------------------------------------------------------------------ closed forms
@pytest.mark.parametrize("n", [2, 3, 6, 9])
def test_go_right_until_the_wall_on_the_chain_matches_its_closed_form(n: int) -> None:
    # From s < n-1 the option runs tau = n-1-s steps to the goal and is paid 0.8 on the last one
    # (tasks.chain's docstring), so M[s, goal] = gamma^tau, i.e. P = M/gamma = gamma^(n-2-s), and
    # R[s] = 0.8 * gamma^(n-2-s) = V*(s) of the chain (the option plays the optimal policy).
    mdp = tasks.chain(n)
    smdp = tasks.options_mdp(mdp, [_go_right(n)])
    s = np.arange(n - 1)
    P = smdp.dense_P[:, 0, :]
    np.testing.assert_allclose(P[s, n - 1], GAMMA ** (n - 2 - s), rtol=1e-13)
    assert np.count_nonzero(P[s]) == s.size  # it can stop only at the goal
    np.testing.assert_allclose(smdp.R[s, 0], 0.8 * GAMMA ** (n - 2 - s), rtol=1e-13)
    np.testing.assert_allclose(verify.solve(smdp).V, verify.solve(mdp).V, atol=1e-12)
    assert smdp.substochastic
    assert isinstance(smdp, tasks.FiniteMDP)


def test_an_option_that_stops_with_probability_one_half_has_a_geometric_duration() -> None:
    # One state, one action looping with reward 1, beta = 1/2: tau ~ Geometric(1/2), so
    # N = E[gamma^(tau-1)] = sum_k (1/2)^k gamma^(k-1) (1/2)... = (1/2) / (1 - gamma/2), and
    # R = E[sum_{k<tau} gamma^k] = 1 / (1 - gamma/2) (continue with probability 1/2 per step).
    g = 0.9
    mdp = tasks.FiniteMDP(np.ones((1, 1, 1)), np.ones((1, 1)), g)
    smdp = tasks.options_mdp(mdp, [tasks.Option(np.zeros(1, dtype=np.intp), np.array([0.5]))])
    assert smdp.P[0, 0, 0] == pytest.approx(0.5 / (1 - g / 2), rel=1e-14)
    assert smdp.R[0, 0] == pytest.approx(1 / (1 - g / 2), rel=1e-14)
    # The semi-MDP's value is the base MDP's: looping forever pays 1/(1 - gamma) either way.
    assert verify.solve(smdp).V[0] == pytest.approx(1 / (1 - g), rel=1e-9)


def test_gamma_one_on_a_proper_base_gives_stochastic_rows() -> None:
    # States 0, 1, 2 (terminal). Action 0 moves right with probability 1/2 (else stays), action 1
    # moves right; entering 2 pays 1. Every policy is proper, so at gamma = 1 every option ends
    # (rows of N sum to 1) and V* = 1 from every live state.
    P = np.zeros((3, 2, 3))
    for s in (0, 1):
        P[s, 0, s] = P[s, 0, s + 1] = 0.5
        P[s, 1, s + 1] = 1.0
    P[2, :, 2] = 1.0
    R = np.array([[0.0, 0.0], [0.5, 1.0], [0.0, 0.0]])
    mdp = tasks.FiniteMDP(P, R, 1.0, terminal=np.array([False, False, True]))
    slow = tasks.Option(np.zeros(3, dtype=np.intp), np.zeros(3), name="action 0 until the goal")
    smdp = tasks.options_mdp(mdp, [*tasks.one_step_options(mdp), slow])
    np.testing.assert_allclose(smdp.kernel.sum(axis=1), 1.0, atol=1e-14)
    np.testing.assert_allclose(smdp.R[:2, 2], 1.0, atol=1e-14)  # it always ends by entering the goal
    np.testing.assert_allclose(verify.solve(smdp).V, [1.0, 1.0, 0.0], atol=1e-10)


# ------------------------------------------------------------------------------------------ one-step options
@settings(max_examples=40, deadline=None)
@given(finite_mdps(dense=None, terminals=True, masks=True, max_states=5))
def test_one_step_options_are_the_base_mdp(mdp: tasks.FiniteMDP) -> None:
    smdp = tasks.options_mdp(mdp, tasks.one_step_options(mdp))
    K = smdp.kernel.toarray() if smdp.is_sparse else smdp.kernel
    base = mdp.kernel.toarray() if mdp.is_sparse else mdp.kernel
    live = np.repeat(np.asarray(mdp.available).ravel(), 1)
    np.testing.assert_allclose(K[live], base[live], atol=1e-15)
    np.testing.assert_allclose(smdp.R[mdp.available], mdp.R[mdp.available], atol=1e-15)
    np.testing.assert_allclose(verify.solve(smdp).Q, verify.solve(mdp).Q, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(options_mdps(dense=True, terminals=True, max_states=5))
def test_dense_and_sparse_bases_give_the_same_semi_mdp(smdp: tasks.OptionsMDP) -> None:
    base = smdp.base
    sparse = tasks.FiniteMDP(
        sp.csr_array(base.kernel), base.R, base.gamma, start=base.start, terminal=base.terminal,
        available=base.available,
    )
    other = tasks.options_mdp(sparse, smdp.options)
    assert other.is_sparse
    np.testing.assert_allclose(other.kernel.toarray(), smdp.kernel, atol=1e-13)
    np.testing.assert_allclose(other.R, smdp.R, atol=1e-13)


@settings(max_examples=20, deadline=None)
@given(options_mdps(dense=True, terminals=True, max_states=5))
def test_the_sparse_lu_path_gives_the_dense_solve(smdp: tasks.OptionsMDP) -> None:
    # Large sparse bases take the sparse LU (above tasks.options.DENSE_SOLVE_UP_TO states): forced here.
    base = smdp.base
    sparse = tasks.FiniteMDP(
        sp.csr_array(base.kernel), base.R, base.gamma, start=base.start, terminal=base.terminal,
        available=base.available,
    )
    limit = tasks.options.DENSE_SOLVE_UP_TO
    try:
        tasks.options.DENSE_SOLVE_UP_TO = 0
        lu = tasks.options_mdp(sparse, smdp.options)
    finally:
        tasks.options.DENSE_SOLVE_UP_TO = limit
    np.testing.assert_allclose(lu.kernel.toarray(), smdp.kernel, atol=1e-13)
    np.testing.assert_allclose(lu.R, smdp.R, atol=1e-13)


# ------------------------------------------------------------------------------------------ Monte Carlo
def _simulate(smdp: tasks.OptionsMDP, s0: int, o: int, n: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Independent Monte Carlo of one option: estimates of M[s0, o, :] = E[gamma^tau 1{s_tau = .}] and R[s0, o]."""
    base, pi, beta = smdp.base, smdp.option_policies[o], smdp.option_terminations[o]
    P, R, g = base.dense_P, base.R, base.gamma
    s = np.full(n, s0)
    running = np.ones(n, dtype=bool)
    disc, ret = np.ones(n), np.zeros(n)
    while running.any():
        idx = np.flatnonzero(running)
        a = (rng.random(idx.size)[:, None] > np.cumsum(pi[s[idx]], axis=1)).sum(axis=1)
        ret[idx] += disc[idx] * R[s[idx], a]
        nxt = (rng.random(idx.size)[:, None] > np.cumsum(P[s[idx], a], axis=1)).sum(axis=1)
        s[idx] = nxt
        disc[idx] *= g
        running[idx] = rng.random(idx.size) >= beta[nxt]
    M = np.bincount(s, weights=disc, minlength=base.n_states) / n
    return M, float(ret.mean())


def test_the_exact_kernel_agrees_with_monte_carlo_to_1e3() -> None:
    rng = np.random.default_rng(7)
    S, A = 4, 2
    P = rng.dirichlet(np.ones(S), size=(S, A))
    P[3] = 0.0
    P[3, :, 3] = 1.0  # terminal
    R = np.round(rng.uniform(-1, 1, (S, A)), 2)
    R[3] = 0.0
    terminal = np.array([False, False, False, True])
    mdp = tasks.FiniteMDP(P, R, 0.9, terminal=terminal)
    pi = np.array([[0.3, 0.7], [1.0, 0.0], [0.5, 0.5], [1.0, 0.0]])
    smdp = tasks.options_mdp(mdp, [tasks.Option(pi, np.array([0.2, 0.6, 0.0, 1.0]))])
    n = 400_000  # standard error of each entry <= 0.5/sqrt(n) < 8e-4/3
    for s0 in range(3):
        M, ret = _simulate(smdp, s0, 0, n, rng)
        np.testing.assert_allclose(M, 0.9 * smdp.dense_P[s0, 0], atol=1e-3)
        assert ret == pytest.approx(smdp.R[s0, 0], abs=3e-3 * max(1.0, abs(ret)))


# ------------------------------------------------------------------------------------------ solvers
@settings(max_examples=30, deadline=None)
@given(options_mdps(dense=None, terminals=True, max_states=5))
def test_solvers_certify_semi_mdps_against_a_direct_solve(smdp: tasks.OptionsMDP) -> None:
    sol = verify.solve(smdp, tol=1e-10)
    S = smdp.n_states
    pi = np.asarray(sol.policy)
    K = smdp.dense_P[np.arange(S), pi]  # (S, S) of the greedy policy
    V = np.linalg.solve(np.eye(S) - smdp.gamma * K, smdp.R[np.arange(S), pi])
    assert np.max(np.abs(V - sol.V)) <= sol.error_bound + 1e-12
    problem = problem_from_mdp(smdp)
    rows = smdp.kernel.sum(axis=1)
    assert problem.rowsum_lo <= rows[np.asarray(smdp.available).ravel()].min() + 1e-15


def test_a_semi_mdp_kernel_is_validated() -> None:
    P = np.array([[[0.5, 0.3]], [[0.0, 1.0]]])
    with pytest.raises(ValueError, match=r"sums to 0\.8"):
        tasks.FiniteMDP(P, np.zeros((2, 1)), 0.9)  # an MDP's rows must sum to 1
    ok = tasks.FiniteMDP(P, np.zeros((2, 1)), 0.9, substochastic=True)
    assert ok.kernel.sum(axis=1)[0] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="above 1"):
        tasks.FiniteMDP(P * 1.5, np.zeros((2, 1)), 0.9, substochastic=True)
    with pytest.raises(ValueError, match="semi-MDP"):
        verify.solve_average(chain_options())


def test_bad_options_are_refused_naming_the_option() -> None:
    mdp = tasks.chain(4)
    with pytest.raises(ValueError, match=r"options\[1\].policy has shape"):
        tasks.options_mdp(mdp, [_go_right(4), tasks.Option(np.ones((4, 3)) / 3, np.ones(4))])
    with pytest.raises(ValueError, match="stop probability"):
        tasks.Option(np.zeros(4, dtype=np.intp), np.full(4, 1.5))
    with pytest.raises(TypeError, match="action indices"):
        tasks.Option(np.zeros(4), np.ones(4))
    with pytest.raises(TypeError, match=r"tasks\.Option"):
        tasks.options_mdp(mdp, ["right"])  # type: ignore[list-item]
    masked = tasks.FiniteMDP(mdp.P, mdp.R, mdp.gamma, terminal=mdp.terminal, available=np.array([[1, 0]] * 4, bool))
    with pytest.raises(ValueError, match="unavailable"):
        tasks.options_mdp(masked, [_go_right(4)])
    late = tasks.Option(np.ones(4, dtype=np.intp), np.ones(4), initiation=np.array([0, 1, 1, 1], bool))
    with pytest.raises(ValueError, match="no option may start at state 0"):
        tasks.options_mdp(mdp, [late])


def test_rescaling_a_semi_mdp_rescales_its_base_consistently() -> None:
    smdp = chain_options()
    scaled = verify.rescale_rewards(smdp, 0.1, 0.9)
    Q, Q2 = verify.solve(smdp).Q[:5], verify.solve(scaled).Q[:5]
    a = (Q2.max() - Q2.min()) / (Q.max() - Q.min())
    np.testing.assert_allclose(Q2, a * Q + (0.1 - a * Q.min()), atol=1e-10)
    assert isinstance(scaled, tasks.OptionsMDP)
    rebuilt = tasks.options_mdp(scaled.base, scaled.options)
    np.testing.assert_allclose(rebuilt.R, scaled.R, atol=1e-15)  # the simulator's rewards match the model's


# ------------------------------------------------------------------------------------------ societies, exactly
@pytest.mark.parametrize("name", ["ccv", "vickrey", "first_price"])
def test_cloned_truthful_fixed_point_of_an_option_society_is_q_star(name: str) -> None:
    # DESIGN §1: cloned vickrey, ccv and first price have Q* as their truthful fixed point; with
    # options the lookahead is discounted by gamma^tau, i.e. by the semi-MDP's kernel gamma*P.
    smdp = chain_options()
    bids = verify.truthful_fixed_point(smdp, MECHANISMS[name], clones=2)
    np.testing.assert_allclose(bids[:, :3], verify.solve(smdp).Q, atol=1e-10)
    assert verify.exploitability(smdp, bids, MECHANISMS[name], clones=2).value <= 1e-12


def test_vickrey_self_credit_shows_up_with_options_and_ccv_has_none() -> None:
    smdp = chain_options()
    for name, expected in (("ccv", 0.0), ("vickrey", None)):
        m = MECHANISMS[name]
        nc = verify.nash_conv(smdp, verify.truthful_fixed_point(smdp, m, clones=2), m, clones=2)
        if expected is None:
            assert nc.max_gain > 0.1  # inflating its bid at the next state pays the seller (DESIGN §1)
        else:
            assert nc.max_gain <= 1e-12


# ------------------------------------------------------------------------------------------ claims
def test_the_options_domain_reproduces_the_design_table() -> None:
    # DESIGN §1's verdicts hold for primitives that run tau >= 1 steps: the same table, computed on
    # semi-MDPs of generated options, with one cell the default search does not reach (next test).
    for name in BUILTINS:
        for v in verify.check(name, clones=(1, 2), budget=SMALL, domain="options"):
            assert v.ran, v.error
            assert v.domain == "options"
            assert "domain options" in v.searched
            expected = DESIGN_TABLE[(name, v.clones)][list(DEFAULT_CLAIMS).index(v.claim)]
            if (name, v.clones, v.claim) == ("ccv", 1, "fixed_point_optimal"):
                continue
            assert v.holds == expected, f"{name} x{v.clones} {v.claim}: {v.counterexample}"
            if not v.holds and v.claim != "truthful":
                assert v.counterexample is not None
                assert v.counterexample.mdp.substochastic


def test_solitary_ccv_is_suboptimal_on_options_too_with_a_larger_search() -> None:
    # README: 100 generated option MDPs (the default budget) hold no counterexample; 300 do.
    v = verify.check("ccv", clones=[1], claims=["fixed_point_optimal"], budget=300, domain="options")[0]
    assert not v.holds
    assert v.counterexample is not None
    assert v.counterexample.numbers["shortfall"] > 0.1


def test_a_planted_self_crediting_mechanism_is_caught_on_options() -> None:
    # vickrey is ccv with the lookahead b(1) instead of b(2): the farsighted claim must catch the
    # self-credit on the options domain as on literal actions.
    v = verify.check("vickrey", clones=[2], claims=["q_star_farsighted_equilibrium"], budget=20, domain="options")[0]
    assert not v.holds
    assert v.error is None
    assert v.counterexample is not None


def test_an_unknown_domain_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown domain 'semi'"):
        verify.check("ccv", domain="semi")


@settings(max_examples=30, deadline=None)
@given(options_mdps(dense=None, terminals=True, time_limits=True, masks=True, max_options=3))
def test_generated_option_mdps_are_valid_semi_mdps(smdp: tasks.OptionsMDP) -> None:
    rows = np.asarray(smdp.kernel.sum(axis=1)).ravel()
    assert np.all(rows <= 1.0 + 1e-12)
    assert np.all(rows >= 0.0)
    assert 2 <= smdp.n_actions <= 3
    assert smdp.base.n_states == smdp.n_states
    assert np.asarray(smdp.available)[:, 0].all()  # option 0 may start everywhere
