"""The solitary-ccv finding is reproducible, consistent with the claim check, and not a tie-break artifact."""

import numpy as np
import pytest

from mechanism.registry import MECHANISMS
from tasks.mdp import FiniteMDP
from verify.claims import TOL_VALUE, fixed_point_optimal, fixed_point_shortfall
from verify.findings import solitary_ccv_suboptimality
from verify.fixed_point import terminal_mask, truthful_fixed_point
from verify.solve import solve
from verify.solvers.evaluate import evaluate

CCV = MECHANISMS["ccv"]


def _tol(mdp: FiniteMDP) -> float:
    return TOL_VALUE * max(1.0, float(np.max(np.abs(mdp.R)))) / (1.0 - mdp.gamma)


def _independent_check(mdp: FiniteMDP) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solitary-ccv fixed point, its top-bid margins, and V* − V^π, recomputed without verify.claims."""
    bids = truthful_fixed_point(mdp, CCV, 1)  # clones=1: one bidder per primitive, (S, A)
    top2 = np.sort(bids, axis=1)[:, -2:]
    margin = np.where(terminal_mask(mdp), np.inf, top2[:, 1] - top2[:, 0])
    pi = np.argmax(bids, axis=1)  # the auction winner; unambiguous when every margin is positive
    return bids, margin, solve(mdp).V - evaluate(mdp, pi)


def test_the_finding_is_reproducible_and_consistent() -> None:
    a = solitary_ccv_suboptimality(n=30, seed=1, budget=10)
    b = solitary_ccv_suboptimality(n=30, seed=1, budget=10)
    assert (a.suboptimal_from_start, a.mean_start_shortfall) == (b.suboptimal_from_start, b.mean_start_shortfall)
    for key in ("strict_from_start", "strict_anywhere", "with_ties", "smallest_margin"):
        assert getattr(a, key) == getattr(b, key), key
    assert a.smallest_strict is not None
    assert b.smallest_strict is not None
    assert a.smallest_strict.to_dict() == b.smallest_strict.to_dict()  # same seed, same shrunk example
    assert 0 < a.suboptimal_from_start <= a.suboptimal_anywhere <= 30  # it happens, and start implies anywhere
    assert a.worst_start_shortfall >= a.mean_start_shortfall >= 0.0
    assert a.smallest is not None
    assert a.smallest.claim == "fixed_point_optimal"
    # The strict counts are a subset; with continuous random rewards ties are (almost surely) absent.
    assert a.strict_from_start <= a.suboptimal_from_start
    assert a.strict_anywhere <= a.suboptimal_anywhere
    assert a.strict_from_start + a.with_ties >= a.suboptimal_from_start
    assert a.strict_from_start > 0
    assert a.smallest_margin > 0.0


def test_the_strict_counts_match_an_independent_recount() -> None:
    import tasks

    f = solitary_ccv_suboptimality(n=12, seed=3, budget=5)
    rng = np.random.default_rng(3)  # the stated distribution, redrawn
    strict = 0
    for _ in range(12):
        S, A = int(rng.integers(2, 7)), int(rng.integers(2, 4))
        mdp = tasks.random_mdp(S, A, gamma=0.9, seed=rng)
        _, margin, short = _independent_check(mdp)
        strict += bool(margin.min() > _tol(mdp)) and float(mdp.start @ short) > _tol(mdp)
    assert f.strict_from_start == strict


def test_the_smallest_strict_example_is_suboptimal_with_unique_top_bids() -> None:
    cx = fixed_point_optimal(CCV, 1, 30, 0, strict_ties=True).counterexample
    assert cx is not None
    assert cx.mdp is not None
    mdp = cx.mdp
    bids, margin, short = _independent_check(mdp)
    assert np.allclose(bids, np.asarray(cx.bids), atol=1e-9)
    assert margin.min() > _tol(mdp)  # no state is decided by a tie-break
    assert short.max() > _tol(mdp)  # and the greedy policy still falls short of V*
    assert np.allclose(np.asarray(cx.numbers["Q_star"]), solve(mdp).Q, atol=1e-9)
    assert np.array_equal(np.asarray(cx.numbers["policy"]), np.argmax(bids, axis=1))


def test_the_default_smallest_example_is_a_tie_which_strict_mode_rejects() -> None:
    # The unrestricted shrunk example ends at a state where both bids are 0: a tie-break artifact.
    cx = fixed_point_optimal(CCV, 1, 30, 0).counterexample
    assert cx is not None
    assert cx.mdp is not None
    assert "Q_star" not in cx.numbers  # the default verdict is unchanged
    res = fixed_point_shortfall(cx.mdp, CCV, 1)
    assert res["top_margin"].min() <= _tol(cx.mdp)
    strict = fixed_point_optimal(CCV, 1, 30, 0, strict_ties=True).counterexample
    assert strict is not None
    assert strict.mdp is not None
    assert fixed_point_shortfall(strict.mdp, CCV, 1)["top_margin"].min() > _tol(strict.mdp)


def test_hand_example_second_best_bellman() -> None:
    # Two states, γ = 1/2, no terminals. State 1: action 0 stays (R = 0), action 1 moves to {0, 1} uniformly.
    # State 0: both actions move to {0, 1} uniformly, R = (−1/2, 1). Solitary ccv: b(s, a) = R + γ·E[min b(s')].
    # Solving: b(0) = (−3/4, 3/4), b(1) = (−1/8, −1/4) (check: −1/8 = ½·(−1/4); −1/4 = ½·½·(−3/4 − 1/4)).
    # Greedy π = (1, 0): V^π(1) = 0, V^π(0) = 1 + ¼·V^π(0) = 4/3. V* = (3/2, 1/2) with Q*(1) = (1/4, 1/2).
    P = np.array([[[0.5, 0.5], [0.5, 0.5]], [[0.0, 1.0], [0.5, 0.5]]])
    mdp = FiniteMDP(P, np.array([[-0.5, 1.0], [0.0, 0.0]]), 0.5, start=np.array([1.0, 0.0]))
    bids, margin, short = _independent_check(mdp)
    assert bids == pytest.approx(np.array([[-0.75, 0.75], [-0.125, -0.25]]), abs=1e-9)
    assert margin == pytest.approx(np.array([1.5, 0.125]), abs=1e-9)
    assert short == pytest.approx(np.array([1.5 - 4 / 3, 0.5]), abs=1e-9)
    res = fixed_point_shortfall(mdp, CCV, 1)
    assert res["Q_star"] == pytest.approx(np.array([[0.0, 1.5], [0.25, 0.5]]), abs=1e-9)
    assert res["top_margin"] == pytest.approx(np.array([1.5, 0.125]), abs=1e-9)


def test_strict_mode_still_holds_where_the_claim_holds() -> None:
    v = fixed_point_optimal(MECHANISMS["vickrey"], 1, 10, 0, strict_ties=True)
    assert v.holds
    assert v.counterexample is None


def test_bad_n_is_rejected() -> None:
    with pytest.raises(ValueError, match="n must be a positive int"):
        solitary_ccv_suboptimality(n=0)
