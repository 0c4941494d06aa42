"""One policy evaluator (verify.solvers.evaluate): its routes, and the fixed points' selection step on it."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as spla

import tasks
import verify
import verify.fixed_point as fixed_point
from mechanism import MECHANISMS
from verify.fixed_point import solve_fixed_point


def policy_rows(mdp: tasks.FiniteMDP, pi: np.ndarray) -> np.ndarray:
    K = mdp.kernel.toarray() if mdp.is_sparse else np.asarray(mdp.kernel)
    return K[np.arange(mdp.n_states) * mdp.n_actions + pi]


def test_dense_above_the_lu_size_sweeps_to_the_lu_answer() -> None:
    """600 dense states (above DENSE_LU_MAX): McQueen sweeps first; V^π = (I − γP_π)^{-1} R_π by numpy's LU."""
    mdp = tasks.random_mdp(600, 3, gamma=0.99, seed=2)
    pi = np.random.default_rng(0).integers(0, 3, 600)
    V = verify.evaluate(mdp, pi)
    exact = np.linalg.solve(np.eye(600) - 0.99 * policy_rows(mdp, pi), mdp.R[np.arange(600), pi])
    np.testing.assert_allclose(V, exact, rtol=0, atol=1e-9)


def test_tight_tolerance_stops_at_the_rounding_floor_without_a_sparse_lu(monkeypatch: pytest.MonkeyPatch) -> None:
    """A target below what any solve can certify is met at the residual's rounding floor by Krylov:
    no fall back to a sparse LU (it took 16 s at 3,000 random-sparse states, fill-in)."""

    def no_lu(*args: object, **kwargs: object) -> None:
        raise AssertionError("splu was called")

    monkeypatch.setattr(spla, "splu", no_lu)
    mdp = tasks.random_mdp(2000, 4, gamma=0.99, successors=8, seed=1, sparse=True)
    pi = np.random.default_rng(1).integers(0, 4, 2000)
    V = verify.evaluate(mdp, pi, tol=1e-16)
    r = mdp.R[np.arange(2000), pi] + 0.99 * policy_rows(mdp, pi) @ V - V
    assert np.abs(r).max() <= 16 * np.finfo(float).eps * (1 + 2 * np.abs(V).max())


@pytest.mark.parametrize("tol", [0.0, -1.0, float("nan"), float("inf"), True, "1e-9"])
def test_evaluate_refuses_a_bad_tol(tol: object) -> None:
    with pytest.raises(ValueError, match="tol must be a finite number > 0"):
        verify.evaluate(tasks.chain(), np.zeros(6, dtype=int), tol=tol)  # type: ignore[arg-type]


def test_evaluate_with_a_loose_tol_stays_within_it() -> None:
    mdp = tasks.random_mdp(1500, 3, gamma=0.95, successors=6, seed=4, sparse=True)
    pi = np.zeros(1500, dtype=int)
    exact = verify.evaluate(mdp, pi)
    assert np.abs(verify.evaluate(mdp, pi, tol=1e-4) - exact).max() <= 1e-4


# ------------------------------------------------------------------ the fixed points' selection step
@pytest.fixture(scope="module")
def sparse_3000() -> tasks.FiniteMDP:
    return tasks.random_mdp(3000, 4, gamma=0.95, successors=8, seed=0, sparse=True, terminal_fraction=0.05)


@pytest.mark.parametrize(("name", "clones"), [("ccv", 1), ("ccv", 2), ("vickrey", 1)])
def test_fixed_point_at_3000_sparse_states_equals_the_plain_iteration(
    sparse_3000: tasks.FiniteMDP, name: str, clones: int
) -> None:
    """The selection step (a policy evaluation) against the plain iteration of (1), which never solves
    a linear system (block beyond max_iter): both certified by (2), so they agree within the sum of bounds."""
    fast = solve_fixed_point(sparse_3000, MECHANISMS[name], clones)
    plain = solve_fixed_point(sparse_3000, MECHANISMS[name], clones, block=10**9)
    assert fast.error_bound <= 1e-10
    assert plain.error_bound <= 1e-10
    assert np.abs(fast.Q - plain.Q).max() <= fast.error_bound + plain.error_bound
    assert fast.iterations < plain.iterations


def test_cloned_ccv_fixed_point_at_3000_sparse_states_is_q_star(sparse_3000: tasks.FiniteMDP) -> None:
    fp = solve_fixed_point(sparse_3000, MECHANISMS["ccv"], 2)
    sol = verify.solve(sparse_3000, "pi", tol=1e-11)
    assert np.abs(fp.Q - sol.Q).max() <= fp.error_bound + sol.error_bound


def test_planted_wrong_evaluation_is_rejected_by_the_certificate(monkeypatch: pytest.MonkeyPatch) -> None:
    """An evaluator off by 1e-4 gives candidates that the bound (2) refuses: the answer stays certified."""
    mdp = tasks.random_mdp(300, 3, gamma=0.9, successors=5, seed=3, sparse=True)
    truth = solve_fixed_point(mdp, MECHANISMS["ccv"], 1)
    calls = []

    def off(mdp_: tasks.FiniteMDP, policy: np.ndarray, *, tol: float | None = None) -> np.ndarray:
        calls.append(1)
        return verify.evaluate(mdp_, policy, tol=tol) + 1e-4

    monkeypatch.setattr(fixed_point, "evaluate", off)
    planted = solve_fixed_point(mdp, MECHANISMS["ccv"], 1)
    assert calls, "the selection step did not run"
    assert planted.iterations > truth.iterations  # the wrong candidates were not accepted
    assert np.abs(planted.Q - truth.Q).max() <= planted.error_bound + truth.error_bound


def test_selection_step_respects_the_action_mask() -> None:
    """Action 0 unavailable in a third of the states, terminal ones included: the selection step evaluates
    only available actions (evaluate refuses others) and agrees with the plain iteration."""
    base = tasks.random_mdp(300, 3, gamma=0.9, successors=5, seed=6, sparse=True, terminal_fraction=0.1)
    available = np.ones((300, 3), dtype=bool)
    available[::3, 0] = False
    mdp = tasks.FiniteMDP(base.kernel, base.R, base.gamma, terminal=base.terminal, available=available)
    for clones in (1, 2):
        fast = solve_fixed_point(mdp, MECHANISMS["ccv"], clones)
        plain = solve_fixed_point(mdp, MECHANISMS["ccv"], clones, block=10**9)
        assert np.all(np.isneginf(fast.Q[~available]))
        assert np.abs(fast.Q[available] - plain.Q[available]).max() <= fast.error_bound + plain.error_bound
        assert fast.iterations < plain.iterations  # the selection step was certified (25 or 50 sweeps, not 114/215)
