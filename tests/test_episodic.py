"""γ = 1 for episodic MDPs: the properness check (tasks.episodic) and the exact solvers on the weighted problem.

Independent references: closed forms (a chain; Bertsekas's spider and fly), exact rational
arithmetic (FrozenLake 4x4), and brute force over every deterministic policy (hypothesis).
"""

from __future__ import annotations

import itertools
import warnings
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import tasks
import verify
from tasks.episodic import check_proper, end_components
from verify.bellman import problem_from_mdp
from verify.solution import Solution
from verify.solvers import value_iteration
from verify.solvers._doubling import evaluate_functional

METHODS = ("pi", "vi", "mpi", "lp")


# ----------------------------------------------------------------------------- generators
@st.composite
def proper_mdps(draw: st.DrawFn, max_states: int = 6, masked: bool | None = None) -> tasks.FiniteMDP:
    """A γ = 1 MDP in which every policy ends, by construction.

    States get a random rank; every action of a non-terminal state has a successor of higher rank
    or a terminal one. So in any set C of non-terminal states, the state of highest rank has no
    action keeping C closed: there is no end component, every policy is proper. Cycles (any rank
    back to any) make the expected number of steps, and the weighted modulus, nontrivial.
    """
    S = draw(st.integers(2, max_states))
    A = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    density = draw(st.sampled_from([1.0, 0.5, 0.2]))
    escape = draw(st.sampled_from([1.0, 0.1, 0.01]))
    terminal = np.zeros(S, dtype=bool)
    terminal[rng.choice(S, draw(st.integers(1, max(1, S // 3))), replace=False)] = True
    rank = rng.permutation(S)
    W = rng.random((S, A, S)) * (rng.random((S, A, S)) < density)
    for s, a in itertools.product(range(S), range(A)):
        targets = np.flatnonzero((rank > rank[s]) | terminal)
        W[s, a, rng.choice(targets)] += escape * rng.uniform(0.5, 1.0)
    P = W / W.sum(axis=2, keepdims=True)
    P[terminal] = 0.0
    P[terminal, :, terminal] = 1.0
    R = rng.uniform(-1.0, 1.0, (S, A))
    R[terminal] = 0.0
    available = np.ones((S, A), dtype=bool)
    if masked if masked is not None else draw(st.booleans()):
        available = rng.random((S, A)) < 0.6
        available[np.arange(S), rng.integers(0, A, S)] = True
    kernel = sp.csr_array(P.reshape(S * A, S)) if draw(st.booleans()) else P
    return tasks.FiniteMDP(kernel, R, 1.0, terminal=terminal, available=available)


def brute_force(mdp: tasks.FiniteMDP) -> tuple[np.ndarray, np.ndarray]:
    """``(V*, Q*)`` as the elementwise max of V^π over every deterministic policy using available actions.

    V^π solves ``(I − γ P_π) V = R_π`` on the non-terminal states (V = 0 on terminal ones), batched
    with ``numpy.linalg.solve``; an MDP has a policy optimal in every state at once, so the max over
    policies, state by state, is V* (Puterman 1994, Thm 6.2.10; Bertsekas & Tsitsiklis 1991, Prop. 2).
    """
    S = mdp.n_states
    P, R, g = mdp.dense_P, mdp.R, mdp.gamma
    live = np.flatnonzero(~mdp.terminal)
    choices = [[0] if mdp.terminal[s] else np.flatnonzero(mdp.available[s]) for s in range(S)]
    pols = np.array(list(itertools.product(*choices)), dtype=np.int64)
    P_pi = P[np.arange(S)[None, :], pols]  # (n, S, S)
    R_pi = R[np.arange(S)[None, :], pols]
    M = np.eye(live.size)[None] - g * P_pi[:, live][:, :, live]
    V = np.zeros((len(pols), S))
    V[:, live] = np.linalg.solve(M, R_pi[:, live][..., None])[..., 0]
    V_star = V.max(axis=0)
    Q_star = np.where(mdp.available, R + g * (P @ V_star), -np.inf)
    return V_star, Q_star


def solve_quietly(mdp: tasks.FiniteMDP, method: str, tol: float = 1e-10) -> Solution:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", verify.ConvergenceWarning)  # a rounding floor above tol is allowed
        return verify.solve(mdp, method, tol=tol)


def lazy_chain(n: int, sparse: bool = False) -> tasks.FiniteMDP:
    """States 0..n−1 and terminal n; every step pays −1. Action 0 advances; action 1 advances with probability 1/2."""
    S = n + 1
    P = np.zeros((S, 2, S))
    s = np.arange(n)
    P[s, 0, s + 1] = 1.0
    P[s, 1, s] = P[s, 1, s + 1] = 0.5
    P[n, :, n] = 1.0
    R = -np.ones((S, 2))
    R[n] = 0.0
    terminal = np.arange(S) == n
    kernel = sp.csr_array(P.reshape(2 * S, S)) if sparse else P
    return tasks.FiniteMDP(kernel, R, 1.0, terminal=terminal)


# ----------------------------------------------------------------------------- the properness check
def test_an_improper_two_state_cycle_is_refused_naming_its_states() -> None:
    # Action 0 swaps states 0 and 1 forever; action 1 ends the episode (state 2 is terminal).
    P = np.zeros((3, 2, 3))
    P[0, 0, 1] = P[1, 0, 0] = 1.0
    P[:2, 1, 2] = 1.0
    P[2, :, 2] = 1.0
    R = np.array([[0.0, -1.0], [0.0, -1.0], [0.0, 0.0]])
    terminal = np.array([False, False, True])
    with pytest.raises(ValueError, match=r"\{0: 0, 1: 0\} never leaves the non-terminal states \{0, 1\}"):
        tasks.FiniteMDP(P, R, 1.0, terminal=terminal)
    with pytest.raises(ValueError, match=r"states \{0, 1\}"):
        tasks.FiniteMDP(sp.csr_array(P.reshape(6, 3)), R, 1.0, terminal=terminal)
    # Without action 0 the same MDP is proper; with γ < 1 it was always fine.
    assert tasks.FiniteMDP(P, R, 1.0, terminal=terminal, available=np.array([[0, 1], [0, 1], [1, 1]])).gamma == 1.0
    assert tasks.FiniteMDP(P, R, 0.9, terminal=terminal).gamma == 0.9


def test_gymnasium_tasks_are_improper_and_the_error_shows_where() -> None:
    # FrozenLake 4x4: pushing up in the top row (no holes there) slides left, right or nowhere, forever.
    with pytest.raises(ValueError, match=r"\{0: 3, 1: 3, 2: 3, 3: 3\} never leaves the non-terminal states \{0, 1, 2"):
        tasks.frozen_lake("4x4", gamma=1.0)
    # 8x8: pushing left along the left column slides up, down or nowhere.
    with pytest.raises(ValueError, match=r"states \{0, 8, 16, 24, 32, 40, 48, 56\}"):
        tasks.frozen_lake("8x8", gamma=1.0)
    # Taxi: driving south in the bottom row stays put, one state on its own.
    with pytest.raises(ValueError, match=r"\{400: 0\} never leaves the non-terminal states \{400\}"):
        tasks.taxi(1.0)


def test_masking_the_trap_makes_frozen_lake_proper() -> None:
    fl = tasks.frozen_lake("4x4", gamma=0.99)
    available = np.ones((16, 4), dtype=bool)
    available[0, 3] = False  # no "up" in the start state: the top row is no longer closed
    mdp = tasks.FiniteMDP(fl.P, fl.R, 1.0, terminal=fl.terminal, available=available)
    assert end_components(mdp.kernel, mdp.available, mdp.terminal).n_components == 0


def _improper_by_brute_force(mdp_args: tuple[np.ndarray, np.ndarray, np.ndarray]) -> bool:
    """Whether some deterministic policy never ends from some state: its chain cannot reach a terminal state.

    A policy that stays in a closed set with positive probability can be made deterministic inside
    it (any action that keeps the set closed, in each state), so deterministic policies suffice.
    """
    P, available, terminal = mdp_args
    S = P.shape[0]
    for pol in itertools.product(*[np.flatnonzero(available[s]) for s in range(S)]):
        G = P[np.arange(S), list(pol)] > 0
        reach = terminal.copy()
        for _ in range(S):
            reach = reach | (G & reach[None, :]).any(axis=1)
        if not reach.all():
            return True
    return False


@st.composite
def small_supports(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random sparse kernels (S <= 5, A <= 2), masks and terminal sets: proper and improper ones."""
    S, A = draw(st.integers(2, 5)), draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    W = rng.random((S, A, S)) * (rng.random((S, A, S)) < draw(st.sampled_from([0.2, 0.4])))
    W[np.arange(S)[:, None], np.arange(A)[None, :], rng.integers(0, S, (S, A))] += 1.0
    terminal = rng.random(S) < 0.3
    W[terminal] = 0.0
    W[terminal, :, terminal] = 1.0
    available = rng.random((S, A)) < 0.7
    available[np.arange(S), rng.integers(0, A, S)] = True
    return W / W.sum(axis=2, keepdims=True), available, terminal


def _accepts(check, case) -> bool:  # type: ignore[no-untyped-def]
    P, available, terminal = case
    try:
        check(P.reshape(-1, P.shape[0]), available, terminal)
    except ValueError:
        return False
    return True


@given(case=small_supports())
def test_the_check_agrees_with_brute_force_over_deterministic_policies(case) -> None:  # type: ignore[no-untyped-def]
    P, available, terminal = case
    assert _accepts(check_proper, case) == (not _improper_by_brute_force(case))
    # Dense and CSR kernels give the same components.
    dense = end_components(P.reshape(-1, P.shape[0]), available, terminal)
    csr = end_components(sp.csr_array(P.reshape(-1, P.shape[0])), available, terminal)
    np.testing.assert_array_equal(dense.labels, csr.labels)
    np.testing.assert_array_equal(dense.keep, csr.keep)


def reachability_only(K, available, terminal) -> None:  # type: ignore[no-untyped-def]
    """A planted bug: "some terminal state is reachable from every state" instead of "every policy ends"."""
    S, A = available.shape
    G = (np.asarray(sp.csr_array(K).todense()).reshape(S, A, S) > 0) & available[:, :, None]
    reach = terminal.copy()
    for _ in range(S):
        reach = reach | (G.any(axis=1) & reach[None, :]).any(axis=1)
    if not reach.all():
        raise ValueError("a state cannot reach a terminal state")


def test_planted_bug_reachability_instead_of_properness_is_caught() -> None:
    @given(case=small_supports())
    def prop(case) -> None:  # type: ignore[no-untyped-def]
        assert _accepts(reachability_only, case) == (not _improper_by_brute_force(case))

    with pytest.raises(AssertionError):
        prop()


# ----------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("method", verify.METHODS)
def test_chain_value_is_minus_the_distance(method: str, sparse: bool) -> None:
    # Every step pays −1 and the fast action advances surely: V*(s) = −(n − s), the distance to the end;
    # the lazy action costs Q*(s, 1) = −1 + (V*(s) + V*(s + 1))/2 = V*(s) − 1/2.
    n = 12
    sol = verify.solve(lazy_chain(n, sparse), method, tol=1e-10)
    np.testing.assert_allclose(sol.V, -(n - np.arange(n + 1)), atol=1e-10, rtol=0)
    np.testing.assert_allclose(sol.Q[:n, 1], sol.V[:n] - 0.5, atol=1e-10, rtol=0)
    assert (sol.policy[:n] == 0).all()
    assert sol.error_bound <= 1e-10


def spider_and_fly(p: float, n: int = 6) -> tasks.FiniteMDP:
    """Bertsekas, Dynamic Programming and Optimal Control vol. I, §7.2, the spider and the fly.

    The state is the distance x between them (0, terminal: caught). The fly moves one unit away or
    towards the spider with probability p each, and stays with probability 1 − 2p. At distance
    x >= 2 the spider moves one unit towards the fly; at x = 1 it moves (action 0) or stays (action 1).
    Reward −1 per period (the spider minimises the expected time to capture). Moving at x = 2 gives
    x − 1 with probability 1 − 2p, x − 2 = 0 with p and x with p; at x = 1, moving catches the fly
    unless it moves (2p: distance 1 again); staying catches it when it moves towards (p), keeps
    distance 1 (1 − 2p), or 2 (p).
    """
    S = n + 1
    P = np.zeros((S, 2, S))
    P[0, :, 0] = 1.0
    for x in range(2, S):
        for a in range(2):
            P[x, a, x - 1] += 1 - 2 * p
            P[x, a, x - 2] += p
            P[x, a, x] += p
    P[1, 0, 0], P[1, 0, 1] = 1 - 2 * p, 2 * p
    P[1, 1, 0], P[1, 1, 1], P[1, 1, 2] = p, 1 - 2 * p, p
    R = -np.ones((S, 2))
    R[0] = 0.0
    return tasks.FiniteMDP(P, R, 1.0, terminal=np.arange(S) == 0)


@pytest.mark.parametrize("method", verify.METHODS)
@pytest.mark.parametrize("p", [0.1, 0.25, 0.4])
def test_spider_and_fly_expected_capture_times(method: str, p: float) -> None:
    # Bertsekas DPOC vol. I §7.2, with J = −V the expected time to capture:
    #   J(1) = min{1 + 2p J(1),  1 + (1 − 2p) J(1) + p J(2)},    J(2) = 1 + p J(2) + (1 − 2p) J(1).
    # Moving at x = 1: J(1) = 1/(1 − 2p), J(2) = 2/(1 − p). Staying: the two linear equations
    # 2p J(1) − p J(2) = 1 and −(1 − 2p) J(1) + (1 − p) J(2) = 1. Moving wins for p = 0.1, 0.25, not 0.4.
    move_1, move_2 = 1 / (1 - 2 * p), 2 / (1 - p)
    stay_1, stay_2 = np.linalg.solve([[2 * p, -p], [-(1 - 2 * p), 1 - p]], [1.0, 1.0])
    J1, J2 = (move_1, move_2) if move_1 <= stay_1 else (stay_1, stay_2)
    sol = verify.solve(spider_and_fly(p), method, tol=1e-10)
    assert -sol.V[1] == pytest.approx(J1, abs=1e-9)
    assert -sol.V[2] == pytest.approx(J2, abs=1e-9)
    assert sol.policy[1] == (0 if move_1 < stay_1 else 1)
    # Farther away the spider has no choice; there V* is checked against the Bellman equation itself.
    mdp = spider_and_fly(p)
    TV = (mdp.R + (mdp.kernel @ sol.V).reshape(mdp.n_states, 2)).max(axis=1)
    np.testing.assert_allclose(TV, sol.V, atol=1e-9, rtol=0)


def _fraction_policy_value(P: np.ndarray, R: np.ndarray, policy: list[int], terminal: np.ndarray) -> list[Fraction]:
    """V^π in exact rational arithmetic (Gauss–Jordan on (I − P_π) V = R_π over the non-terminal states)."""
    live = [s for s in range(len(policy)) if not terminal[s]]
    n = len(live)
    M = [
        [Fraction(int(i == j)) - Fraction(P[live[i], policy[live[i]], live[j]]).limit_denominator(12) for j in range(n)]
        + [Fraction(R[live[i], policy[live[i]]]).limit_denominator(12)]
        for i in range(n)
    ]
    for c in range(n):
        pivot = next(r for r in range(c, n) if M[r][c] != 0)
        M[c], M[pivot] = M[pivot], M[c]
        M[c] = [x / M[c][c] for x in M[c]]
        for r in range(n):
            if r != c and M[r][c] != 0:
                M[r] = [x - M[r][c] * y for x, y in zip(M[r], M[c], strict=True)]
    V = [Fraction(0)] * len(policy)
    for i, s in enumerate(live):
        V[s] = M[i][n]
    return V


@pytest.mark.parametrize("method", verify.METHODS)
def test_frozen_lake_4x4_undiscounted_value_is_14_17(method: str) -> None:
    # gymnasium FrozenLake-v1 4x4, slippery, γ = 1: V*(0) = 0.8235..., the largest probability of
    # reaching the goal. The unmasked MDP is improper (the top row under "up"), so "up" is removed in
    # the start state, where it is not optimal. Independently: the policy every method returns (the
    # well-known 4x4 policy) evaluated in exact rational arithmetic gives V(0) = 14/17.
    fl = tasks.frozen_lake("4x4", gamma=0.99)
    available = np.ones((16, 4), dtype=bool)
    available[0, 3] = False
    mdp = tasks.FiniteMDP(fl.P, fl.R, 1.0, terminal=fl.terminal, available=available)
    sol = verify.solve(mdp, method, tol=1e-10)
    exact = _fraction_policy_value(fl.dense_P, fl.R, [int(a) for a in sol.policy], fl.terminal)
    assert exact[0] == Fraction(14, 17)
    np.testing.assert_allclose(sol.V, [float(v) for v in exact], atol=1e-10, rtol=0)
    assert sol.error_bound <= 1e-10
    assert sol.Q[0, 3] == -np.inf
    assert sol.policy[0] != 3
    # The unmasked FrozenLake's discounted values approach it from below as γ → 1, by about 40·(1 − γ).
    near_one = verify.solve(tasks.frozen_lake("4x4", gamma=0.99999)).V[0]
    assert 14 / 17 - 1e-3 < near_one < 14 / 17


# ----------------------------------------------------------------------------- every method, every bound
@given(mdp=proper_mdps())
def test_methods_agree_with_brute_force_and_bounds_cover_the_error(mdp: tasks.FiniteMDP) -> None:
    V_star, Q_star = brute_force(mdp)
    scale = 1.0 + float(np.abs(V_star).max())
    for method in METHODS:
        sol = solve_quietly(mdp, method)
        np.testing.assert_allclose(sol.V, V_star, atol=1e-8 * scale, rtol=0)
        np.testing.assert_allclose(sol.Q, Q_star, atol=1e-8 * scale, rtol=0)
        err_Q = float(np.abs(sol.Q[mdp.available] - Q_star[mdp.available]).max())
        err = max(float(np.abs(sol.V - V_star).max()), err_Q)
        assert err <= sol.error_bound + 1e-12 * scale, (method, err, sol.error_bound)
        assert mdp.available[np.arange(mdp.n_states), sol.policy].all()
        np.testing.assert_allclose(verify.evaluate(mdp, sol.policy), V_star, atol=1e-8 * scale, rtol=0)


@given(mdp=proper_mdps(), tol=st.sampled_from([1e-1, 1e-3, 1e-6]))
def test_vi_and_mpi_bounds_cover_the_true_error_at_loose_tolerances(mdp: tasks.FiniteMDP, tol: float) -> None:
    V_star, _ = brute_force(mdp)
    scale = 1.0 + float(np.abs(V_star).max())
    for method in ("vi", "mpi"):
        sol = verify.solve(mdp, method, tol=tol)
        assert sol.error_bound <= tol
        assert float(np.abs(sol.V - V_star).max()) <= sol.error_bound + 1e-12 * scale


def test_vi_stopped_early_still_covers_its_error() -> None:
    # A long lazy chain contracts slowly (ρ = 1 − 1/ξ_max with ξ_max = 2n expected steps): stopped after
    # 20 sweeps, VI warns and its bound (in the weighted norm, back in the MDP's units) still holds.
    n = 40
    mdp = lazy_chain(n)
    problem = problem_from_mdp(mdp)
    assert problem.g_hi == pytest.approx(1 - 1 / (2 * n), abs=1e-9)  # ξ(0) = 2n steps if always lazy
    with pytest.warns(verify.ConvergenceWarning, match="iteration cap.*method='pi'") as caught:
        sol = value_iteration(problem, 1e-10, max_iter=20)
    assert np.abs(sol.V + (n - np.arange(n + 1))).max() <= sol.error_bound
    # The advice names only parameters of verify.solve (method, tol): it has no max_iter.
    assert all("max_iter" not in str(w.message) for w in caught)
    with pytest.warns(verify.ConvergenceWarning, match="floor.*loosen tol") as caught:
        verify.solve(mdp, "vi", tol=1e-17)
    assert all("max_iter" not in str(w.message) for w in caught)


@given(mdp=proper_mdps(masked=False), seed=st.integers(0, 2**16))
def test_evaluate_matches_a_direct_solve_without_the_terminal_states(mdp: tasks.FiniteMDP, seed: int) -> None:
    S, A = mdp.n_states, mdp.n_actions
    rng = np.random.default_rng(seed)
    pi = rng.random((S, A))
    pi /= pi.sum(axis=1, keepdims=True)
    live = ~mdp.terminal
    P_pi = np.einsum("sa,sat->st", pi, mdp.dense_P)[np.ix_(live, live)]
    direct = np.zeros(S)
    direct[live] = np.linalg.solve(np.eye(int(live.sum())) - P_pi, (pi * mdp.R).sum(axis=1)[live])
    scale = 1.0 + float(np.abs(direct).max())
    np.testing.assert_allclose(verify.evaluate(mdp, pi), direct, atol=1e-9 * scale, rtol=0)


def test_pointer_doubling_at_beta_one_for_paths_that_end_and_refuses_a_cycle() -> None:
    # 0 → 1 → 2 → 3 (end), 4 → 4 with weight 1/2: V = R + K V exactly; then a weight-1 cycle 0 ↔ 1.
    K = sp.csr_array(([1.0, 1.0, 1.0, 0.5], [1, 2, 3, 4], [0, 1, 2, 3, 3, 4]), shape=(5, 5))
    R = np.array([1.0, 2.0, 3.0, 4.0, 1.0])
    np.testing.assert_allclose(evaluate_functional(K, R, 1.0), [10.0, 9.0, 7.0, 4.0, 2.0], atol=1e-12)
    cycle = sp.csr_array(([1.0, 1.0], [1, 0], [0, 1, 2]), shape=(2, 2))
    with pytest.raises(ValueError, match="never ends"):
        evaluate_functional(cycle, np.ones(2), 1.0)


# ----------------------------------------------------------------------------- registry
@pytest.mark.parametrize("task_id", sorted(tasks.TASKS))
def test_registry_tasks_still_build(task_id: str) -> None:
    mdp = tasks.make(task_id)
    assert 0.0 <= mdp.gamma < 1.0
