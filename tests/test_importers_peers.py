"""QuantEcon's and pymdptoolbox's layouts: imported MDPs solved by Agora against the peers' own numbers.

The cases are the peers' own test cases and documented examples: QuantEcon's
``quantecon/markov/tests/test_ddp.py`` (0.11) and the docstrings of ``mdptoolbox.mdp``
(pymdptoolbox 4.0b3), each cited where its numbers are used; the peers' solvers are also run
side by side where they are installed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import tasks
import verify

qe = pytest.importorskip("quantecon")
pytest.importorskip("mdptoolbox")
import mdptoolbox.example  # noqa: E402
import mdptoolbox.mdp  # noqa: E402

BETA = 0.95


def assert_value(sol, expected):
    """``sol.V`` equals ``expected`` within the solver's certified error bound (plus rounding)."""
    expected = np.asarray(expected, dtype=np.float64)
    assert np.abs(sol.V - expected).max() <= sol.error_bound + 1e-12 * max(1.0, np.abs(expected).max())


# ------------------------------------------------------------------ QuantEcon: Puterman 2005, §3.1
def puterman_product() -> tuple[list[list[float]], np.ndarray]:
    """test_ddp.py, TestDiscreteDP.setup_method: R (2, 2) with an infeasible action, Q (2, 2, 2)."""
    R = [[5.0, 10.0], [-1.0, -np.inf]]
    Q = np.empty((2, 2, 2))
    Q[0, 0, :] = 0.5, 0.5
    Q[0, 1, :] = 0, 1
    Q[1, :, :] = 0, 1
    return R, Q


def puterman_pairs(sparse: bool) -> tuple[list[float], object, list[int], list[int]]:
    """The same problem in the state-action-pair form (test_ddp.py builds Q_sa as a lil_matrix)."""
    R, Q = puterman_product()
    Q_sa = sp.lil_matrix((3, 2))
    Q_sa[0, :] = Q[0, 0, :]
    Q_sa[1, :] = Q[0, 1, :]
    Q_sa[2, :] = Q[1, 0, :]
    return [R[0][0], R[0][1], R[1][0]], (Q_sa if sparse else Q_sa.toarray()), [0, 0, 1], [0, 1, 0]


# test_ddp.py: "Analytical solution for beta > 10/11, Example 6.2.1" (Puterman 2005).
V_STAR = [(5 - 5.5 * BETA) / ((1 - 0.5 * BETA) * (1 - BETA)), -1 / (1 - BETA)]
SIGMA_STAR = [0, 0]


@pytest.mark.parametrize("form", ["product", "pairs-sparse", "pairs-dense"])
def test_puterman_example_in_every_form(form):
    if form == "product":
        R, Q = puterman_product()
        mdp = tasks.from_quantecon(R, Q, BETA)
        ddp = qe.markov.DiscreteDP(R, Q, BETA)
    else:
        R, Q, s_idx, a_idx = puterman_pairs(sparse=form == "pairs-sparse")
        mdp = tasks.from_quantecon(R, Q, BETA, s_idx, a_idx)
        ddp = qe.markov.DiscreteDP(R, Q, BETA, s_idx, a_idx)
        assert mdp.is_sparse == (form == "pairs-sparse")
    np.testing.assert_array_equal(mdp.available, [[True, True], [True, False]])
    for method in verify.METHODS:
        sol = verify.solve(mdp, method=method)
        assert_value(sol, V_STAR)
        np.testing.assert_array_equal(sol.policy, SIGMA_STAR)
        assert sol.Q[1, 1] == -np.inf  # the infeasible action has no value
    res = ddp.solve(method="policy_iteration")
    assert_value(verify.solve(mdp), res.v)
    np.testing.assert_array_equal(verify.solve(mdp).policy, res.sigma)


def test_beta_zero_example():
    # test_ddp.py, test_ddp_beta_0: beta = 0, sigma* = [1, 0, 1], v* = [1, 1, 1]; both forms.
    R = np.array([[0, 1], [1, 0], [0, 1]])
    Q = np.full((3, 2, 3), 1 / 3)
    product = qe.markov.DiscreteDP(R, Q, 0)
    pairs = product.to_sa_pair_form()
    for mdp in (
        tasks.from_quantecon(R, Q, 0.0),
        tasks.from_quantecon(pairs.R, pairs.Q, 0.0, pairs.s_indices, pairs.a_indices),
    ):
        sol = verify.solve(mdp)
        np.testing.assert_array_equal(sol.policy, [1, 0, 1])
        np.testing.assert_array_equal(sol.V, [1.0, 1.0, 1.0])


def test_shuffled_pairs_give_the_same_mdp():
    # test_ddp.py, test_ddp_sorting: the same three pairs sorted and shuffled, dense and sparse.
    sorted_ = tasks.from_quantecon([0, 1, 2], [(1, 0), (1 / 2, 1 / 2), (0, 1)], BETA, [0, 0, 1], [0, 1, 0])
    for Q in ([(1, 0), (0, 1), (1 / 2, 1 / 2)], sp.csr_matrix([(1, 0), (0, 1), (1 / 2, 1 / 2)])):
        shuffled = tasks.from_quantecon([0, 2, 1], Q, BETA, [0, 1, 0], [0, 0, 1])
        np.testing.assert_array_equal(shuffled.dense_P, sorted_.dense_P)
        np.testing.assert_array_equal(shuffled.R, sorted_.R)
        np.testing.assert_array_equal(shuffled.available, sorted_.available)


def test_product_and_pair_forms_agree_with_quantecon():
    # test_ddp.py, test_ddp_to_sa_and_to_product: an infeasible action at state 2 (R = -inf), Q rows
    # that QuantEcon never reads there; every form solves to QuantEcon's own numbers.
    R = np.array([[0, 1], [1, 0], [-np.inf, 1]])
    Q = np.full((3, 2, 3), 1 / 3)
    Q[0, 0, 0], Q[0, 0, 1] = 0, 2 / 3
    ddp = qe.markov.DiscreteDP(R, Q, BETA)
    pairs = ddp.to_sa_pair_form()
    dense_pairs = ddp.to_sa_pair_form(sparse=False)
    expected = ddp.solve(method="policy_iteration")
    for mdp in (
        tasks.from_quantecon(R, Q, BETA),
        tasks.from_quantecon(pairs.R, pairs.Q, BETA, pairs.s_indices, pairs.a_indices),
        tasks.from_quantecon(dense_pairs.R, dense_pairs.Q, BETA, dense_pairs.s_indices, dense_pairs.a_indices),
    ):
        assert not mdp.available[2, 0]
        sol = verify.solve(mdp)
        assert_value(sol, expected.v)
        np.testing.assert_array_equal(sol.policy, expected.sigma)


def test_rows_of_infeasible_pairs_are_not_read():
    # QuantEcon never reads Q[s, a] where R[s, a] = -inf (the product form) nor a pair's row whose reward
    # is -inf (the pair form): such rows may hold anything, here rows that are no distribution at all.
    R, Q = puterman_product()
    Q[1, 1, :] = 5.0, -2.0
    assert_value(verify.solve(tasks.from_quantecon(R, Q, BETA)), V_STAR)
    pairs = tasks.from_quantecon([5.0, 10.0, -1.0, -np.inf], [(0.5, 0.5), (0, 1), (0, 1), (7.0, 7.0)], BETA,
                                 [0, 0, 1, 1], [0, 1, 0, 1])
    assert not pairs.available[1, 1]
    assert_value(verify.solve(pairs), V_STAR)


def test_action_labels_need_not_be_contiguous():
    # QuantEcon reads a_indices as labels (sigma holds them): actions {0, 3} at state 0, {2} at state 1.
    R = [1.0, 0.5, 2.0]
    Q = sp.csr_matrix([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    s_idx, a_idx = [0, 0, 1], [0, 3, 2]
    mdp = tasks.from_quantecon(R, Q, 0.9, s_idx, a_idx)
    assert mdp.n_actions == 4
    np.testing.assert_array_equal(mdp.available, [[True, False, False, True], [False, False, True, False]])
    res = qe.markov.DiscreteDP(R, Q, 0.9, s_idx, a_idx).solve(method="policy_iteration")
    sol = verify.solve(mdp)
    assert_value(sol, res.v)
    np.testing.assert_array_equal(sol.policy, res.sigma)


def test_random_pair_form_with_sparse_q_matches_quantecon():
    # A larger problem: 40 states, actions per state between 1 and 4 (labels 0..5), 3 successors each.
    rng = np.random.default_rng(11)
    n, pairs = 40, []
    for s in range(n):
        for a in rng.choice(6, size=rng.integers(1, 5), replace=False):
            pairs.append((s, int(a)))
    order = rng.permutation(len(pairs))  # unsorted, as QuantEcon allows
    s_idx = np.array([pairs[k][0] for k in order])
    a_idx = np.array([pairs[k][1] for k in order])
    L = len(pairs)
    rows = np.repeat(np.arange(L), 3)
    cols = np.concatenate([rng.choice(n, 3, replace=False) for _ in range(L)])
    w = rng.random(3 * L)
    Q = sp.csr_matrix((w, (rows, cols)), shape=(L, n))
    Q = sp.csr_matrix(sp.diags(1.0 / np.asarray(Q.sum(axis=1)).ravel()) @ Q)
    R = rng.normal(size=L)
    mdp = tasks.from_quantecon(R, Q, BETA, s_idx, a_idx)
    res = qe.markov.DiscreteDP(R, Q, BETA, s_idx, a_idx).solve(method="policy_iteration")
    sol = verify.solve(mdp)
    assert_value(sol, res.v)
    np.testing.assert_array_equal(sol.policy, res.sigma)
    assert mdp.available.sum() == L


def test_inventory_finite_horizon_at_beta_one():
    # test_ddp.py, TestFiniteHorizon (Puterman 2005, §3.2 and §4.6.1, single-product stochastic
    # inventory control), beta = 1, T = 3: QuantEcon's documented vs_expected and sigmas_expected.
    s_indices = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3]
    a_indices = [0, 1, 2, 3, 0, 1, 2, 0, 1, 0]
    R = [0.0, -1.0, -2.0, -5.0, 5.0, 0.0, -3.0, 6.0, -1.0, 5.0]
    Q = [
        [1.0, 0.0, 0.0, 0.0], [0.75, 0.25, 0.0, 0.0], [0.25, 0.5, 0.25, 0.0], [0.0, 0.25, 0.5, 0.25],
        [0.75, 0.25, 0.0, 0.0], [0.25, 0.5, 0.25, 0.0], [0.0, 0.25, 0.5, 0.25],
        [0.25, 0.5, 0.25, 0.0], [0.0, 0.25, 0.5, 0.25], [0.0, 0.25, 0.5, 0.25],
    ]
    vs_expected = [[67 / 16, 129 / 16, 194 / 16, 227 / 16], [2, 25 / 4, 10, 21 / 2], [0, 5, 6, 5], [0, 0, 0, 0]]
    sigmas_expected = [[3, 0, 0, 0], [2, 0, 0, 0], [0, 0, 0, 0]]
    # The inventory chain never ends, so an infinite-horizon MDP at beta = 1 does not exist (FiniteMDP
    # refuses it); the finite-horizon recursion runs at gamma = 1 on the same arrays.
    with pytest.raises(ValueError, match="gamma = 1 needs every policy to reach a terminal state"):
        tasks.from_quantecon(R, Q, 1.0, s_indices, a_indices)
    mdp = tasks.from_quantecon(R, Q, 0.5, s_indices, a_indices)
    hs = verify.solve_horizon(mdp, 3, gamma=1.0)
    np.testing.assert_allclose(hs.V[::-1], vs_expected, rtol=1e-12)  # vs[t] = V[H − t]
    np.testing.assert_array_equal(hs.policy[::-1], sigmas_expected)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # QuantEcon warns that infinite-horizon methods are off at beta = 1
        vs, _sigmas = qe.markov.backward_induction(qe.markov.DiscreteDP(R, Q, 1.0, s_indices, a_indices), 3)
    np.testing.assert_allclose(hs.V[::-1], vs, rtol=1e-12)


def test_beta_one_reaches_the_mdp_when_episodic():
    # An episodic problem at beta = 1: state 1 is terminal. V(0) = max(1 + 0.5·V(0), 1.5), so V(0) = 2.
    R = [[1.0, 1.5], [0.0, 0.0]]
    Q = np.zeros((2, 2, 2))
    Q[0, 0] = 0.5, 0.5
    Q[0, 1] = 0.0, 1.0
    Q[1, :, 1] = 1.0
    mdp = tasks.from_quantecon(R, Q, 1.0, terminal=[False, True])
    assert mdp.gamma == 1.0
    assert_value(verify.solve(mdp), [2.0, 0.0])


@pytest.mark.parametrize(
    ("args", "error", "pattern"),
    [
        # test_ddp.py, test_ddp_negative_inf_error: a state whose every action is infeasible.
        (([[0, 1], [0, -np.inf], [-np.inf, -np.inf]], np.full((3, 2, 3), 1 / 3), BETA), ValueError,
         "state 2 has no available action"),
        # test_ddp_no_feasible_action_error: no pair for state 1.
        (([1, 0, 0, 1], [(1 / 3,) * 3] * 4, BETA, [0, 0, 2, 2], [0, 1, 0, 1]), ValueError,
         "state 1 has no state-action pair"),
        # test_ddp_no_feasible_action_error_trailing_state: none for the last state, unsorted.
        (([1, 0, 0, 1], [(1 / 3,) * 3] * 4, BETA, [1, 0, 1, 0], [0, 0, 1, 1]), ValueError,
         "state 2 has no state-action pair"),
        # test_ddp_duplicate_sa_pair_error
        (([1.0, 2.0, 3.0, 4.0], [(0.5, 0.5), (1.0, 0.0), (0.25, 0.75), (0.6, 0.4)], BETA, [1, 1, 0, 0],
          [0, 0, 0, 1]), ValueError, r"pair \(1, 0\) is listed more than once"),
        # test_ddp_out_of_range_indices_error
        (([1.0, 2.0], [(1.0, 0.0), (0.0, 1.0)], BETA, [0, 2], [0, 0]), ValueError, "s_indices holds 2"),
        (([1.0, 2.0], [(1.0, 0.0), (0.0, 1.0)], BETA, [-1, 0], [0, 0]), ValueError, "non-negative"),
        (([1.0, 2.0], [(1.0, 0.0), (0.0, 1.0)], BETA, [0, 1], [0, -1]), ValueError, "non-negative"),
        (([1.0, 2.0], [(1.0, 0.0), (0.0, 1.0)], BETA), ValueError, "s_indices must be supplied"),
        (([1.0, 2.0], [(1.0, 0.0), (0.0, 1.0)], BETA, [0, 1], [0.0, 1.0]), TypeError, "integer indices"),
        (([[1.0, 2.0]], np.ones((1, 1, 2)), BETA), ValueError, r"\(n, m\) and \(n, m, n\)"),
        (([1.0], np.ones(2), BETA), ValueError, "2-dimensional"),
    ],
)
def test_what_quantecon_refuses_is_refused(args, error, pattern):
    with pytest.raises(error, match=pattern):
        tasks.from_quantecon(*args)


# ------------------------------------------------------------------ pymdptoolbox's documented examples
def test_forest_policy_iteration_docstring():
    # mdptoolbox.mdp.PolicyIteration docstring: forest(), discount 0.9,
    # V = (26.244000000000014, 29.484000000000016, 33.484000000000016), policy (0, 0, 0).
    for P, R in (mdptoolbox.example.forest(), mdptoolbox.example.forest(is_sparse=True)):
        sol = verify.solve(tasks.from_mdptoolbox(P, R, 0.9))
        assert_value(sol, [26.244000000000014, 29.484000000000016, 33.484000000000016])
        np.testing.assert_array_equal(sol.policy, [0, 0, 0])


def test_small_value_iteration_docstring():
    # mdptoolbox.mdp.ValueIteration docstring: small() (P as an array, then as a list of CSR
    # matrices), discount 0.9: policy (1, 0). Its V = (40.0486..., 33.6537...) is value iteration
    # stopped at epsilon = 0.01, not V*; pymdptoolbox's PolicyIteration gives V* to compare.
    P, R = mdptoolbox.example.small()
    listed = [sp.csr_matrix([[0.5, 0.5], [0.8, 0.2]]), sp.csr_matrix([[0, 1], [0.1, 0.9]])]
    pi = mdptoolbox.mdp.PolicyIteration(P, R, 0.9)
    pi.run()
    for layout in (P, listed):
        sol = verify.solve(tasks.from_mdptoolbox(layout, R, 0.9))
        np.testing.assert_array_equal(sol.policy, [1, 0])
        assert_value(sol, pi.V)
        assert (np.array([40.048625392716815, 33.65371175967546]) <= sol.V).all()  # VI's values are below V*


def test_forest_value_iteration_docstring_policy():
    # mdptoolbox.mdp.ValueIteration docstring: forest(), discount 0.96, policy (0, 0, 0).
    P, R = mdptoolbox.example.forest()
    np.testing.assert_array_equal(verify.solve(tasks.from_mdptoolbox(P, R, 0.96)).policy, [0, 0, 0])


def test_forest_finite_horizon_docstring():
    # mdptoolbox.mdp.FiniteHorizon docstring: forest(), discount 0.9, N = 3:
    # V[:, t] for t = 0..3 and policy[:, t] for t = 0..2.
    fh_V = np.array([[2.6973, 0.81, 0.0, 0.0], [5.9373, 3.24, 1.0, 0.0], [9.9373, 7.24, 4.0, 0.0]])
    fh_policy = np.array([[0, 0, 0], [0, 0, 1], [0, 0, 0]])
    P, R = mdptoolbox.example.forest()
    hs = verify.solve_horizon(tasks.from_mdptoolbox(P, R, 0.9), 3)
    np.testing.assert_allclose(hs.V[::-1].T, fh_V, rtol=1e-12)  # fh.V[:, t] = V[H − t]
    np.testing.assert_array_equal(hs.policy[::-1].T, fh_policy)


@pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")  # pymdptoolbox's own check
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rand_sparse_against_policy_iteration(seed):
    # example.rand(S, A, is_sparse=True): lists of CSR matrices for P and for R (per transition).
    np.random.seed(seed)  # noqa: NPY002  # pymdptoolbox's example.rand draws from numpy's global generator
    P, R = mdptoolbox.example.rand(30, 4, is_sparse=True)
    mdp = tasks.from_mdptoolbox(P, R, 0.9)
    assert mdp.is_sparse
    pi = mdptoolbox.mdp.PolicyIteration(P, R, 0.9)
    pi.run()
    sol = verify.solve(mdp)
    assert_value(sol, pi.V)
    np.testing.assert_array_equal(sol.policy, pi.policy)
