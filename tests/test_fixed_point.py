"""Truthful fixed points: Q* where the theory says so, the second-best fixed point for solitary ccv."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import example, given, settings

import tasks
import verify
from mechanism import MECHANISMS, Mechanism, highest_bid, second_price
from tasks import FiniteMDP
from tests.strategies import examples, finite_mdps
from verify.fixed_point import FixedPointError, bellman_bids, solve_fixed_point, truthful_fixed_point

MAX_LOOKAHEAD = ("vickrey", "first_price")


def _q_profile(mdp: FiniteMDP, clones: int) -> np.ndarray:
    Q = verify.solve(mdp).Q
    return Q[:, np.arange(mdp.n_actions * clones) % mdp.n_actions]


@pytest.mark.parametrize("task", ["bandit", "chain", "duality"])
@pytest.mark.parametrize(("name", "clones"), [("vickrey", 1), ("vickrey", 2), ("ccv", 2), ("first_price", 1)])
def test_fixed_point_is_q_star_on_the_paper_tasks(task: str, name: str, clones: int) -> None:
    mdp = getattr(tasks, task)()
    b = truthful_fixed_point(mdp, MECHANISMS[name], clones)
    live = ~mdp.terminal
    np.testing.assert_allclose(b[live], _q_profile(mdp, clones)[live], atol=1e-8)


def test_chain_q_star_matches_the_paper_table() -> None:
    # PAPER.md, "Chain": Q*(0, ·) = (0.760792, 0.768477), Q*(4, ·) = (0.784080, 0.8) at γ = 0.99.
    b = truthful_fixed_point(tasks.chain(), MECHANISMS["ccv"], clones=2)
    np.testing.assert_allclose(b[0, :2], [0.760792, 0.768477], atol=5e-7)
    np.testing.assert_allclose(b[4, :2], [0.784080, 0.8], atol=5e-7)


def test_solitary_ccv_on_the_chain_is_the_second_best_fixed_point() -> None:
    # By hand: with two actions the second-highest bid is the lower one. Guess b = 0 except
    # b(4, right) = 0.8 (the goal's reward); then b(4, left) = γ·min b(3, ·) = 0 and every other
    # entry is γ·min(0, ·) = 0, so the guess is the (unique, by contraction) fixed point.
    b = truthful_fixed_point(tasks.chain(), MECHANISMS["ccv"], clones=1)
    expected = np.zeros((6, 2))
    expected[4, 1] = 0.8
    np.testing.assert_allclose(b, expected, atol=1e-12)


def test_environment_reward_fixed_point_is_the_reward() -> None:
    mdp = tasks.duality()
    np.testing.assert_array_equal(truthful_fixed_point(mdp, MECHANISMS["env_reward"], 2), np.tile(mdp.R, 2))


@settings(max_examples=examples(30))
@given(finite_mdps(dense=None, gamma=(0.5, 0.95)))
def test_cloned_ccv_and_max_lookaheads_give_q_star(mdp: FiniteMDP) -> None:
    live = ~mdp.terminal
    for name, clones in [("ccv", 2), ("vickrey", 1), ("first_price", 2)]:
        b = truthful_fixed_point(mdp, MECHANISMS[name], clones)
        np.testing.assert_allclose(b[live], _q_profile(mdp, clones)[live], atol=1e-8)


@settings(max_examples=examples(30))
@given(finite_mdps(dense=None, gamma=(0.5, 0.95)))
@example(tasks.chain(gamma=0.9))
def test_the_fixed_point_solves_its_equation_within_the_bound(mdp: FiniteMDP) -> None:
    # Every mechanism's profile b satisfies b = T b to within (1 + γ)·tol; the bound is honest.
    for name in ("vickrey", "ccv", "first_price", "env_reward"):
        for clones in (1, 2):
            fp = solve_fixed_point(mdp, MECHANISMS[name], clones, tol=1e-10)
            prim = np.arange(mdp.n_actions * clones) % mdp.n_actions
            residual = np.abs(bellman_bids(mdp, fp.bids, MECHANISMS[name])[:, prim] - fp.bids).max()
            assert fp.error_bound <= 1e-10
            assert residual <= 2e-10
            assert np.all(fp.bids[mdp.terminal] == 0.0)


def test_dense_and_sparse_kernels_agree() -> None:
    mdp = tasks.random_mdp(6, 3, gamma=0.9, seed=3)
    sparse = FiniteMDP(sp.csr_array(mdp.kernel), mdp.R, mdp.gamma)
    for clones in (1, 2):
        np.testing.assert_allclose(
            truthful_fixed_point(mdp, MECHANISMS["ccv"], clones),
            truthful_fixed_point(sparse, MECHANISMS["ccv"], clones),
            atol=1e-9,
        )


def test_a_lookahead_that_is_not_lipschitz_is_reported() -> None:
    # L = 2·max doubles every error: with γ = 0.9 the map has modulus 1.8 and diverges.
    doubled = Mechanism("doubled", price=second_price, lookahead=lambda b: 2.0 * highest_bid(b))
    mdp = tasks.random_mdp(3, 2, gamma=0.9, seed=0)
    with pytest.raises(FixedPointError, match="contraction"):
        solve_fixed_point(mdp, doubled, 2, max_iter=5000)


def test_validation_names_the_argument() -> None:
    mdp = tasks.bandit()
    with pytest.raises(ValueError, match="clones"):
        truthful_fixed_point(mdp, MECHANISMS["ccv"], 0)
    with pytest.raises(TypeError, match="mechanism"):
        truthful_fixed_point(mdp, "ccv", 2)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="mdp"):
        truthful_fixed_point(np.zeros((2, 2)), MECHANISMS["ccv"], 2)  # type: ignore[arg-type]
