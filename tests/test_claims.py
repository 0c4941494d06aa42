"""The claims: a contract every mechanism passes through, DESIGN §1's table by computation, planted bugs caught."""

import json

import numpy as np
import pytest

import tasks
import verify
from mechanism import BUILTINS, MECHANISMS, Mechanism, highest_bid, second_highest_bid, second_price
from verify import CLAIMS, Counterexample, Verdict, check
from verify import claims as claims_module

SMALL = 25  # budget per claim in the default run: enough to find every counterexample below

# DESIGN.md §1, "Expected verdicts": (truthful, conserves_credit, q_star_equilibrium, fixed_point_optimal).
DESIGN_TABLE = {
    ("vickrey", 2): (True, False, True, True),
    ("vickrey", 1): (True, False, True, True),
    ("ccv", 2): (True, True, True, True),
    ("ccv", 1): (True, True, False, False),
    ("first_price", 2): (False, True, True, True),
    ("first_price", 1): (False, True, False, True),
    ("env_reward", 2): (False, True, False, False),
    ("env_reward", 1): (False, True, False, False),
}


def _third_highest(b: np.ndarray) -> np.ndarray:
    """b⁽³⁾, 0 with fewer than three bidders (the reserve-price convention of mechanism.rules)."""
    if b.shape[-1] < 3:
        return np.zeros(b.shape[:-1])
    return np.sort(b, axis=-1)[..., -3]


THIRD_PRICE = Mechanism("third_price", price=lambda b, w: _third_highest(b), lookahead=highest_bid)
VICKREY_2ND_LOOKAHEAD = Mechanism("vickrey_2nd_lookahead", price=second_price, lookahead=second_highest_bid)
CCV_1ST_LOOKAHEAD = Mechanism("ccv_1st_lookahead", price=second_price, lookahead=highest_bid)


@pytest.mark.parametrize("claim", list(CLAIMS))
@pytest.mark.parametrize("name", sorted(MECHANISMS))
def test_every_registered_mechanism_passes_through_every_claim(name: str, claim: str) -> None:
    # The contract: a Verdict of stable type and consistent fields, whatever the outcome.
    mech = MECHANISMS[name]
    for clones in (1, 2):
        v = CLAIMS[claim](mech, clones, 8, 0)
        assert isinstance(v, Verdict)
        assert v.ran
        assert (v.claim, v.mechanism, v.clones, v.budget, v.seed) == (claim, mech.name, clones, 8, 0)
        assert isinstance(v.holds, bool)
        assert 1 <= v.examples_tried <= 8
        assert v.holds == (v.counterexample is None)
        if v.counterexample is not None:
            assert isinstance(v.counterexample, Counterexample)
            assert v.counterexample.claim == claim
            assert claim in str(v.counterexample)
        json.dumps(v.to_dict())  # JSON-ready, counterexample included


def test_check_reproduces_the_design_table() -> None:
    for name in BUILTINS:
        for v in check(name, clones=(1, 2), budget=SMALL, seed=0):
            expected = DESIGN_TABLE[(name, v.clones)][list(CLAIMS).index(v.claim)]
            assert v.holds == expected, f"{name} x{v.clones} {v.claim}: {v.counterexample}"


@pytest.mark.parametrize("seed", [0, 12345])
def test_a_seed_gives_the_same_verdict_and_counterexample(seed: int) -> None:
    a = claims_module.fixed_point_optimal(MECHANISMS["ccv"], 1, 10, seed)
    b = claims_module.fixed_point_optimal(MECHANISMS["ccv"], 1, 10, seed)
    assert a.to_dict()["counterexample"] == b.to_dict()["counterexample"]
    assert a.examples_tried == b.examples_tried


def test_counterexamples_are_shrunk_and_checkable_by_hand() -> None:
    v = claims_module.fixed_point_optimal(MECHANISMS["ccv"], 1, SMALL, 0)
    cx = v.counterexample
    assert cx is not None
    assert cx.source == "search"
    assert cx.mdp is not None
    assert cx.mdp.n_states <= 3
    assert cx.mdp.n_actions == 2
    # Re-derive the shortfall from the printed arrays: V* − V^π at the reported state.
    pi = np.asarray(cx.numbers["policy"])
    V_pi = verify.evaluate(cx.mdp, pi)
    V_star = verify.solve(cx.mdp).V
    assert V_star[cx.state] - V_pi[cx.state] == pytest.approx(cx.numbers["shortfall"])
    text = str(cx)
    assert "P(s'|s,a)" in text
    assert "bids[s, m]" in text
    assert "shortfall" in text


def test_truthful_counterexample_for_first_price_is_minimal() -> None:
    # Hand-checkable: two bidders, bidder 0 values 1 and bids 1 against 0; shading to 0 wins for free.
    cx = claims_module.truthful(MECHANISMS["first_price"], 2, SMALL, 0).counterexample
    assert cx is not None
    assert cx.bids is not None
    assert cx.bids.shape == (1, 2)
    assert cx.numbers["gain"] == pytest.approx(cx.numbers["deviation_utility"] - cx.numbers["truthful_utility"])


@pytest.mark.parametrize("clones", [1, 2])
def test_planted_third_price_rule_is_not_truthful(clones: int) -> None:
    v = claims_module.truthful(THIRD_PRICE, clones, 60, 0)
    assert not v.holds
    assert v.counterexample is not None
    assert v.counterexample.numbers["exact"] is False  # a user rule: found by search


def test_planted_vickrey_with_second_price_lookahead_conserves_credit() -> None:
    for clones in (1, 2):
        assert claims_module.conserves_credit(VICKREY_2ND_LOOKAHEAD, clones, SMALL, 0).holds


def test_planted_ccv_with_first_price_lookahead_does_not_conserve_credit() -> None:
    for clones in (1, 2):
        v = claims_module.conserves_credit(CCV_1ST_LOOKAHEAD, clones, SMALL, 0)
        assert not v.holds
        assert abs(v.counterexample.numbers["credit_gap"]) > 1e-6


def test_a_solver_off_by_1e_3_breaks_q_star_equilibrium(monkeypatch: pytest.MonkeyPatch) -> None:
    mech = MECHANISMS["vickrey"]
    assert claims_module.q_star_equilibrium(mech, 2, SMALL, 0).holds
    real = verify.solve

    def off(mdp: tasks.FiniteMDP, *args: object, **kwargs: object) -> verify.Solution:
        sol = real(mdp, *args, **kwargs)
        return sol._replace(V=sol.V + 1e-3, Q=sol.Q + 1e-3)

    monkeypatch.setattr(claims_module, "solve", off)
    v = claims_module.q_star_equilibrium(mech, 2, SMALL, 0)
    assert not v.holds
    assert v.counterexample.numbers["gain"] > 1e-6


def test_a_raising_mechanism_gets_an_error_verdict_on_every_claim() -> None:
    def broken_price(b: np.ndarray, w: np.ndarray) -> np.ndarray:
        raise RuntimeError("price table missing")

    broken = Mechanism("broken", price=broken_price, lookahead=highest_bid)
    verdicts = check(broken, clones=(2,), budget=5)
    by_claim = {v.claim: v for v in verdicts}
    assert set(by_claim) == set(CLAIMS)
    for name in CLAIMS:  # the contract check runs the price rule first: no verdict rests on a broken rule
        assert not by_claim[name].holds
        assert "price table missing" in by_claim[name].error


def test_check_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown mechanism"):
        check("nope")
    with pytest.raises(ValueError, match="unknown claim"):
        check("ccv", claims=["nope"])
    with pytest.raises(ValueError, match="budget"):
        check("ccv", budget=0)
