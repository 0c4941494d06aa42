"""Tests of verify's exact solvers: closed forms, cross-checks between methods, bound validity."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import example, given
from hypothesis import strategies as st

import tasks
import verify
from verify.bellman import discounted_problem, problem_from_mdp, q_values
from verify.solution import Solution
from verify.solve import choose_method, compact
from verify.solvers import (
    linear_program,
    modified_policy_iteration,
    policy_iteration,
    value_iteration,
)
from verify.solvers._doubling import evaluate_functional, is_functional
from verify.solvers.hybrid import pi_cost, predicted_vi_sweeps

METHODS = ("pi", "vi", "mpi", "lp")


# ----------------------------------------------------------------------------- generators
@st.composite
def mdps(draw: st.DrawFn, max_states: int = 8) -> tasks.FiniteMDP:
    """A valid FiniteMDP by construction: draw sizes, γ, sparsity and terminals; normalise rows."""
    S = draw(st.integers(2, max_states))
    A = draw(st.integers(1, 3))
    gamma = draw(st.sampled_from([0.0, 0.5, 0.9, 0.99, 0.999]) | st.floats(0.0, 0.999))
    seed = draw(st.integers(0, 2**32 - 1))
    density = draw(st.sampled_from([1.0, 0.5, 0.2]))
    sparse = draw(st.booleans())
    n_terminal = draw(st.integers(0, S - 1))
    rng = np.random.default_rng(seed)
    W = rng.random((S, A, S)) * (rng.random((S, A, S)) < density)
    W[np.arange(S)[:, None], np.arange(A)[None, :], rng.integers(0, S, (S, A))] += 1.0  # every row nonempty
    P = W / W.sum(axis=2, keepdims=True)
    R = rng.uniform(-1.0, 1.0, (S, A))
    terminal = np.zeros(S, dtype=bool)
    terminal[rng.choice(S, n_terminal, replace=False)] = True
    P[terminal] = 0.0
    P[terminal, :, terminal] = 1.0
    R[terminal] = 0.0
    kernel = sp.csr_array(P.reshape(S * A, S)) if sparse else P
    return tasks.FiniteMDP(kernel, R, gamma, terminal=terminal)


def reference(mdp: tasks.FiniteMDP) -> Solution:
    """A tight solution: PI with LU evaluation on the dense kernel, its bound at the rounding floor."""
    dense = tasks.FiniteMDP(mdp.dense_P, mdp.R, mdp.gamma, terminal=mdp.terminal)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", verify.ConvergenceWarning)  # it stops at the rounding floor, by design
        return verify.solve(dense, "pi", tol=1e-13)


def assert_bound_covers_error(sol: Solution, ref: Solution) -> None:
    # |V − V*| <= |V − V_ref| ... so |V − V_ref| <= sol.bound + ref.bound must hold when both bounds are valid.
    err_V = float(np.abs(sol.V - ref.V).max())
    err_Q = float(np.abs(sol.Q - ref.Q).max())
    assert err_V <= sol.error_bound + ref.error_bound, (err_V, sol.error_bound, ref.error_bound)
    assert err_Q <= sol.error_bound + ref.error_bound, (err_Q, sol.error_bound, ref.error_bound)


# ----------------------------------------------------------------------------- closed forms
# PAPER.md, "Chain": Q* at γ = 0.99 (reward 0.8 on entering the goal; Q*(s, right) = 0.8·γ^(4−s)).
CHAIN_Q = np.array(
    [
        [0.760792, 0.768477],
        [0.760792, 0.776239],
        [0.768477, 0.784080],
        [0.776239, 0.792000],
        [0.784080, 0.800000],
    ]
)


@pytest.mark.parametrize("method", verify.METHODS)
def test_chain_q_star_matches_paper_table(method: str) -> None:
    sol = verify.solve(tasks.chain(), method)
    np.testing.assert_allclose(sol.Q[:5], CHAIN_Q, atol=1e-6)
    np.testing.assert_allclose(sol.Q[5], 0.0, atol=1e-12)  # terminal goal
    assert sol.policy[:5].tolist() == [1] * 5
    assert sol.error_bound <= 1e-10


@pytest.mark.parametrize("method", verify.METHODS)
def test_duality_closed_form(method: str) -> None:
    # PAPER.md, "Duality": V*(2) = −1/(1 − γ) = −100; alternating 0 ↔ 1 earns 0.5 per step, V*(0) = V*(1) = 50;
    # Q*(0, 0) = 0 + γ·V*(2) = −99, Q*(1, 1) = 0.3 + γ·50 = 49.8.
    sol = verify.solve(tasks.duality(), method)
    np.testing.assert_allclose(sol.Q[0], [-99.0, 50.0], atol=1e-8)
    np.testing.assert_allclose(sol.Q[1], [50.0, 49.8], atol=1e-8)
    assert sol.V[2] == pytest.approx(-100.0, abs=1e-8)
    assert sol.policy[:2].tolist() == [1, 0]


@pytest.mark.parametrize("method", verify.METHODS)
def test_bandit_q_star_is_the_payments(method: str) -> None:
    # PAPER.md, "Bandit": one step, arm k pays (k + 1)/5, so Q*(0, ·) = 0.2, 0.4, 0.6, 0.8.
    sol = verify.solve(tasks.bandit(4), method)
    np.testing.assert_allclose(sol.Q[0], [0.2, 0.4, 0.6, 0.8], atol=1e-12)
    assert sol.policy[0] == 3


def test_auto_records_its_choice() -> None:
    assert verify.solve(tasks.chain()).method in {f"auto:{m}" for m in METHODS}
    assert verify.solve(tasks.random_mdp(300, 3, seed=1)).method == "auto:mpi"
    assert verify.solve(tasks.random_mdp(300, 3, successors=4, sparse=True, seed=1)).method == "auto:mpi"


# ----------------------------------------------------------------------------- deterministic kernels
def ring(n: int, gamma: float, R: np.ndarray, steps: tuple[int, ...]) -> tasks.FiniteMDP:
    """A deterministic ring: action a moves s to (s + steps[a]) mod n."""
    s = np.arange(n)
    cols = np.stack([(s + k) % n for k in steps], axis=1).ravel()
    K = sp.csr_array((np.ones(n * len(steps)), cols, np.arange(n * len(steps) + 1)), shape=(n * len(steps), n))
    return tasks.FiniteMDP(K, R, gamma)


def test_auto_on_a_long_cycle_switches_from_vi_to_pi_and_is_exact() -> None:
    # Action 0 advances s -> s + 1 (mod n) and pays 1 when leaving state 0; action 1 stays and pays -1.
    # Advancing forever collects 1 every n steps, the first after t = (n - s) mod n steps:
    # V*(s) = γ^t / (1 - γ^n) (geometric series); staying is worse since γ(V*(s) - V*(s + 1)) < 1.
    n, gamma = 2000, 0.999
    R = np.zeros((n, 2))
    R[0, 0], R[:, 1] = 1.0, -1.0
    mdp = ring(n, gamma, R, (1, 0))
    problem = compact(problem_from_mdp(mdp))
    # VI's worst case here is its actual cost: no mixing, the bound shrinks like γ^k, ~2.5e4 sweeps at 1e-8.
    assert predicted_vi_sweeps(problem, 1e-8) > 20_000
    with pytest.warns(verify.ConvergenceWarning, match="iteration cap"):
        value_iteration(problem, 1e-8, max_iter=1000)
    assert choose_method(problem, 1e-8) == "vi+pi"
    sol = verify.solve(mdp, tol=1e-8)
    assert sol.method == "auto:vi+pi"
    assert sol.iterations <= pi_cost(problem) + 5  # the VI budget plus a few policy improvements
    t = (n - np.arange(n)) % n
    np.testing.assert_allclose(sol.V, gamma**t / (1 - gamma**n), atol=1e-8, rtol=0)
    assert (sol.policy == 0).all()
    assert sol.error_bound <= 1e-8


def test_auto_on_a_random_deterministic_ring_meets_the_bellman_residual() -> None:
    # Steps +1 or +2 with random rewards: no closed form, so check V against the Bellman operator
    # directly: |V - V*| <= |TV - V| / (1 - γ) (Puterman 1994, Thm 6.3.1), computed densely here.
    n, gamma = 2000, 0.999
    mdp = ring(n, gamma, np.random.default_rng(7).random((n, 2)), (1, 2))
    sol = verify.solve(mdp, tol=1e-8)
    assert sol.method in {"auto:vi+pi", "auto:vi"}
    assert sol.iterations <= pi_cost(compact(problem_from_mdp(mdp))) + 10
    TV = (mdp.R + gamma * (mdp.kernel @ sol.V).reshape(n, 2)).max(axis=1)
    assert float(np.abs(TV - sol.V).max()) / (1 - gamma) <= 1e-8
    assert sol.error_bound <= 1e-8


def test_taxi_stays_on_value_iteration() -> None:
    # Every Taxi path reaches the absorbing terminal, so VI's values are exact after a few sweeps,
    # far below its worst-case prediction; the sweep budget lets VI finish.
    sol = verify.solve(tasks.taxi(0.99))
    assert sol.method == "auto:vi"
    assert sol.iterations < 30
    assert sol.error_bound <= 1e-10


@st.composite
def functional_kernels(draw: st.DrawFn) -> tuple[sp.csr_array, np.ndarray, float]:
    """A policy kernel with at most one entry per row (weights <= 1, some rows empty), rewards, β."""
    n = draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    beta = draw(st.sampled_from([0.0, 0.5, 0.99, 0.999]))
    has = rng.random(n) < draw(st.sampled_from([1.0, 0.8]))
    w = np.where(rng.random(n) < 0.5, 1.0, rng.random(n))
    indptr = np.concatenate([[0], np.cumsum(has)])
    K = sp.csr_array((w[has], rng.integers(0, n, int(has.sum())), indptr), shape=(n, n))
    return K, rng.uniform(-1.0, 1.0, n), beta


@given(case=functional_kernels())
def test_pointer_doubling_matches_a_direct_solve(case: tuple[sp.csr_array, np.ndarray, float]) -> None:
    K, R, beta = case
    assert is_functional(K)
    direct = np.linalg.solve(np.eye(K.shape[0]) - beta * K.toarray(), R)
    scale = 1.0 + float(np.abs(direct).max())
    np.testing.assert_allclose(evaluate_functional(K, R, beta), direct, atol=1e-12 * scale, rtol=0)


# ----------------------------------------------------------------------------- cross-checks and bounds
# A 2-cycle at γ = 0.999: McQueen-extrapolated sweeps settle into a rounding limit cycle with
# |TV − V| ~ ulp(V)/(1 − γ), a bound of ~3e-8; MPI must fall back to an exact evaluation.
TWO_CYCLE = tasks.FiniteMDP(np.array([[[0.0, 1.0]], [[1.0, 0.0]]]), np.array([[0.14491788], [0.49264472]]), 0.999)


@given(mdp=mdps())
@example(mdp=tasks.duality())
@example(mdp=tasks.chain())
@example(mdp=TWO_CYCLE)
def test_methods_agree_and_bounds_cover_the_error(mdp: tasks.FiniteMDP) -> None:
    ref = reference(mdp)
    for method in METHODS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", verify.ConvergenceWarning)  # a floor above tol is allowed: see below
            sol = verify.solve(mdp, method, tol=1e-10)
        assert sol.error_bound <= 1e-8  # solutions at 1e-8 at the least, even at γ = 0.999
        np.testing.assert_allclose(sol.V, ref.V, atol=1e-8, rtol=0)
        np.testing.assert_allclose(sol.Q, ref.Q, atol=1e-8, rtol=0)
        assert_bound_covers_error(sol, ref)
        np.testing.assert_allclose(verify.evaluate(mdp, sol.policy), ref.V, atol=1e-8, rtol=0)


@given(mdp=mdps(), tol=st.sampled_from([1e-2, 1e-4, 1e-6]))
def test_bound_covers_error_at_loose_tolerances(mdp: tasks.FiniteMDP, tol: float) -> None:
    ref = reference(mdp)
    for method in ("vi", "mpi"):
        sol = verify.solve(mdp, method, tol=tol)
        assert sol.error_bound <= tol
        assert_bound_covers_error(sol, ref)


def test_iteration_cap_warns_and_the_bound_still_covers() -> None:
    mdp = tasks.random_mdp(30, 3, gamma=0.99, successors=2, seed=3)
    ref = reference(mdp)
    with pytest.warns(verify.ConvergenceWarning, match="iteration cap"):
        sol = value_iteration(problem_from_mdp(mdp), 1e-10, max_iter=5)
    assert sol.error_bound > 1e-10
    assert_bound_covers_error(sol, ref)
    with pytest.warns(verify.ConvergenceWarning, match="iteration cap"):
        sol = modified_policy_iteration(problem_from_mdp(mdp), 1e-10, max_iter=1)
    assert_bound_covers_error(sol, ref)


def test_unreachable_tolerance_warns() -> None:
    mdp = tasks.random_mdp(20, 2, gamma=0.999, seed=0)
    with pytest.warns(verify.ConvergenceWarning, match="floor"):
        verify.solve(mdp, "vi", tol=1e-16)


# ----------------------------------------------------------------------------- planted bug
def vi_one_sweep_early(problem, tol):  # type: ignore[no-untyped-def]
    """A planted bug: the textbook VI stopping rule, but it returns V_k instead of V_{k+1} = T V_k."""
    g = problem.g_hi
    V = np.zeros(problem.n_states)
    while True:
        Q = q_values(problem, V)
        TV = Q.max(axis=1)
        bound = g / (1 - g) * float(np.abs(TV - V).max())
        if bound <= tol:
            return Solution(V, q_values(problem, V), Q.argmax(axis=1), 0, bound, "buggy")
        V = TV


def test_planted_bug_one_sweep_early_is_caught() -> None:
    @given(mdp=mdps())
    def prop(mdp: tasks.FiniteMDP) -> None:
        assert_bound_covers_error(vi_one_sweep_early(problem_from_mdp(mdp), 1e-3), reference(mdp))

    with pytest.raises(AssertionError):
        prop()
    # The same property passes for the real value iteration at the same tolerance.
    for seed in range(5):
        mdp = tasks.random_mdp(6, 2, gamma=0.5, seed=seed)
        assert_bound_covers_error(value_iteration(problem_from_mdp(mdp), 1e-3), reference(mdp))


# ----------------------------------------------------------------------------- SMDP core
def test_discounted_kernel_core_matches_the_mdp_and_uses_its_own_modulus() -> None:
    mdp = tasks.random_mdp(12, 3, gamma=0.9, seed=5)
    sol = verify.solve(mdp, "pi")
    # β = 1 with M = γP is the same problem.
    M = mdp.gamma * mdp.kernel
    for solver in (policy_iteration, value_iteration, modified_policy_iteration, linear_program):
        s = solver(discounted_problem(mdp.R, M, beta=1.0), 1e-10)
        np.testing.assert_allclose(s.V, sol.V, atol=1e-9)
    # Row sums E[γ^τ] that vary by row: the modulus is the largest, 0.95, not γ.
    rng = np.random.default_rng(0)
    scale = rng.uniform(0.3, 0.95, (12 * 3, 1))
    problem = discounted_problem(mdp.R, mdp.kernel * scale)
    assert problem.g_hi == pytest.approx(scale.max())
    exact = None
    for solver in (policy_iteration, value_iteration, modified_policy_iteration, linear_program):
        s = solver(problem, 1e-10)
        exact = s.V if exact is None else exact
        np.testing.assert_allclose(s.V, exact, atol=1e-9)
        assert s.error_bound <= 1e-10
    with pytest.raises(ValueError, match="contraction"):
        discounted_problem(mdp.R, mdp.kernel, beta=1.0)


# ----------------------------------------------------------------------------- evaluate
@given(mdp=mdps(), seed=st.integers(0, 2**16))
def test_evaluate_matches_a_direct_linear_solve(mdp: tasks.FiniteMDP, seed: int) -> None:
    S, A = mdp.n_states, mdp.n_actions
    rng = np.random.default_rng(seed)
    P = mdp.dense_P
    pi_det = rng.integers(0, A, S)
    pi_sto = rng.random((S, A))
    pi_sto /= pi_sto.sum(axis=1, keepdims=True)
    for pi in (pi_det, pi_sto):
        probs = np.eye(A)[pi] if pi.ndim == 1 else pi
        P_pi = np.einsum("sa,sat->st", probs, P)
        R_pi = (probs * mdp.R).sum(axis=1)
        direct = np.linalg.solve(np.eye(S) - mdp.gamma * P_pi, R_pi)
        np.testing.assert_allclose(verify.evaluate(mdp, pi), direct, atol=1e-9, rtol=0)


def test_value_of_the_optimal_policy_is_v_star() -> None:
    for mdp in (tasks.chain(), tasks.duality(), tasks.random_mdp(50, 3, successors=4, sparse=True, seed=2)):
        sol = verify.solve(mdp)
        np.testing.assert_allclose(verify.evaluate(mdp, sol.policy), sol.V, atol=1e-9)
        one_hot = np.eye(mdp.n_actions)[sol.policy]
        np.testing.assert_allclose(verify.evaluate(mdp, one_hot), sol.V, atol=1e-9)


# ----------------------------------------------------------------------------- finite horizon
def test_horizon_q1_is_r_and_values_converge_to_v_star() -> None:
    mdp = tasks.random_mdp(40, 3, gamma=0.9, seed=4)
    sol = verify.solve(mdp)
    hs = verify.solve_horizon(mdp, 300)
    assert hs.V.shape == (301, 40)
    assert hs.Q.shape == (300, 40, 3)
    assert hs.policy.shape == (300, 40)
    np.testing.assert_array_equal(hs.Q[0], mdp.R)  # Q*_1 = R
    np.testing.assert_array_equal(hs.V[0], 0.0)
    errs = np.abs(hs.V[1:] - sol.V).max(axis=1)
    H = np.arange(1, 301)
    # |V_H − V*| <= γ^H |V*|_∞ (Puterman 1994, Thm 6.3.1, started from V_0 = 0).
    assert (errs <= mdp.gamma**H * np.abs(sol.V).max() + 1e-9).all()
    assert errs[-1] < 1e-10


def test_horizon_chain_needs_steps_to_reach_the_goal() -> None:
    hs = verify.solve_horizon(tasks.chain(), 5)
    # With h steps to go only states within h of the goal (5) see the reward: Q*_h(4 − k, right) = 0.8·γ^k for k < h.
    assert hs.Q[0, 4, 1] == pytest.approx(0.8)
    assert hs.Q[0, 3, 1] == 0.0
    assert hs.Q[4, 0, 1] == pytest.approx(0.8 * 0.99**4)


# ----------------------------------------------------------------------------- validation
def test_solve_validates_its_arguments() -> None:
    mdp = tasks.chain()
    with pytest.raises(ValueError, match="auto, pi, vi, mpi, lp"):
        verify.solve(mdp, "dp")
    for bad in (0.0, -1e-3, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="tol"):
            verify.solve(mdp, tol=bad)
    with pytest.raises(TypeError, match="tol"):
        verify.solve(mdp, tol="small")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="FiniteMDP"):
        verify.solve(np.zeros((2, 2, 2)))  # type: ignore[arg-type]


def test_evaluate_validates_the_policy() -> None:
    mdp = tasks.chain()  # S = 6, A = 2
    with pytest.raises(ValueError, match="shape"):
        verify.evaluate(mdp, np.zeros(5, dtype=int))
    with pytest.raises(TypeError, match="integer"):
        verify.evaluate(mdp, np.zeros(6))
    with pytest.raises(ValueError, match=r"policy\[2\] = 2"):
        verify.evaluate(mdp, np.array([0, 1, 2, 0, 0, 0]))
    with pytest.raises(ValueError, match="sums to"):
        verify.evaluate(mdp, np.full((6, 2), 0.4))
    with pytest.raises(ValueError, match="negative"):
        verify.evaluate(mdp, np.tile([1.5, -0.5], (6, 1)))
    with pytest.raises(TypeError, match="float"):
        verify.evaluate(mdp, np.ones((6, 2), dtype=bool))


def test_solve_horizon_validates_h() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        verify.solve_horizon(tasks.chain(), 0)
    with pytest.raises(TypeError, match="int"):
        verify.solve_horizon(tasks.chain(), 2.0)


# ----------------------------------------------------------------------------- issue 11 §4: no slow corner
def test_pi_warm_start_needs_fewer_evaluations_on_frozenlake_and_stays_exact() -> None:
    """FrozenLake 8x8: from the greedy policy for R, PI needs 10 evaluations; after the warm
    value-iteration sweeps at most 5, with the same V* (cross-checked against the LP)."""
    from verify.solvers.pi import WARM_SWEEPS, warm_policy

    mdp = tasks.frozen_lake("8x8", is_slippery=True, gamma=0.99)
    problem = problem_from_mdp(mdp)
    cold = policy_iteration(problem, 1e-10, policy=np.argmax(mdp.R, axis=1))
    warm = policy_iteration(problem, 1e-10)
    assert cold.iterations == 10
    assert warm.iterations <= 5
    lp = linear_program(problem, 1e-8)
    assert np.abs(warm.V - lp.V).max() <= warm.error_bound + lp.error_bound
    assert np.abs(warm.V - cold.V).max() <= 1e-12
    # the warm policy is what a few sweeps of value iteration make greedy
    assert warm_policy(problem, 0).tolist() == np.argmax(mdp.R, axis=1).tolist()
    assert 1 <= WARM_SWEEPS <= 64


def test_pi_capped_at_one_iteration_certifies_what_it_has() -> None:
    mdp = tasks.frozen_lake("8x8", is_slippery=True, gamma=0.99)
    problem = problem_from_mdp(mdp)
    with pytest.warns(verify.ConvergenceWarning, match="hit its iteration cap after 1 iterations"):
        sol = policy_iteration(problem, 1e-10, max_iter=1, policy=np.zeros(64, dtype=np.int64))
    exact = verify.solve(mdp, "pi", tol=1e-12)
    assert np.abs(sol.V - exact.V).max() <= sol.error_bound
    with pytest.raises(ValueError, match="max_iter must be at least 1"):
        policy_iteration(problem, 1e-10, max_iter=0)


@pytest.mark.parametrize(("S", "A"), [(5, 3), (600, 4), (1500, 4)])
def test_greedy_picks_the_lowest_index_on_ties_on_both_paths(S: int, A: int) -> None:
    """verify.bellman.greedy has a two-call path for small Q (S·A <= 4096) and a column loop for large
    ones; both return max_a Q and the lowest maximising action."""
    from verify.bellman import greedy

    rng = np.random.default_rng(S)
    Q = rng.integers(0, 3, size=(S, A)).astype(float)  # many ties
    V, policy = greedy(Q)
    np.testing.assert_array_equal(V, Q.max(axis=1))
    np.testing.assert_array_equal(policy, np.argmax(Q, axis=1))  # numpy's argmax: first maximum


def test_compact_stores_a_mostly_zero_dense_kernel_as_the_same_csr() -> None:
    """Taxi's dense kernel (1/501 full) and a random kernel with 3 successors both become CSR with the
    same entries, in row order (auto's storage choice)."""
    for mdp in (tasks.taxi(gamma=0.99), tasks.random_mdp(400, 3, successors=3, seed=2)):
        problem = problem_from_mdp(mdp)
        packed = compact(problem)
        assert sp.issparse(packed.K)
        np.testing.assert_array_equal(packed.K.toarray(), problem.K)
        assert packed.K.has_sorted_indices
        assert packed.K.nnz == np.count_nonzero(problem.K)


def test_dense_policy_system_by_lapack_matches_numpy() -> None:
    """The dense route of the one policy evaluator: LAPACK dgesv on (I − βK_π), against numpy.linalg.solve."""
    from verify.solvers._common import solve_policy_system

    mdp = tasks.random_mdp(150, 3, gamma=0.97, seed=8)
    problem = problem_from_mdp(mdp)
    pi = np.random.default_rng(8).integers(0, 3, 150)
    K_pi = np.asarray(mdp.kernel)[np.arange(150) * 3 + pi]
    R_pi = mdp.R[np.arange(150), pi]
    V = solve_policy_system(K_pi, R_pi, problem, None, 1e-12)
    np.testing.assert_allclose(V, np.linalg.solve(np.eye(150) - 0.97 * K_pi, R_pi), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(K_pi, np.asarray(mdp.kernel)[np.arange(150) * 3 + pi])  # input untouched
