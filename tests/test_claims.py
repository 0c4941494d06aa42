"""The claims: a contract every mechanism passes through, DESIGN §1's table by computation, planted bugs caught."""

import dataclasses
import json

import numpy as np
import pytest

import tasks
import verify
from mechanism import BUILTINS, MECHANISMS, Mechanism, MechanismError, auction, highest_bid
from tests.planted import (
    ALLOCATE_99,
    ALLOCATE_FLOAT,
    ALLOCATE_MINUS_ONE,
    CCV_1ST_LOOKAHEAD,
    NAN_PRICE,
    RANDOM_PRICE,
    THIRD_PRICE,
    VICKREY_2ND_LOOKAHEAD,
)
from verify import CLAIMS, Claim, Counterexample, Verdict, check
from verify import claims as claims_module
from verify import search as search_module
from verify.claims import DEFAULT_CLAIMS

SMALL = 25  # budget per claim in the default run: enough to find every counterexample below

# DESIGN.md §1, "Expected verdicts", in CLAIMS order: (truthful, conserves_credit, q_star_equilibrium,
# q_star_farsighted_equilibrium, fixed_point_optimal).
DESIGN_TABLE = {
    ("vickrey", 2): (True, False, True, False, True),
    ("vickrey", 1): (True, False, True, False, True),
    ("ccv", 2): (True, True, True, True, True),
    ("ccv", 1): (True, True, False, False, False),
    ("first_price", 2): (False, True, True, True, True),
    ("first_price", 1): (False, True, False, False, True),
    ("env_reward", 2): (False, True, False, False, False),
    ("env_reward", 1): (False, True, False, False, False),
}


def _same(a: Verdict, b: Verdict) -> bool:
    """Two verdicts agree on everything but the wall time."""
    return {**a.to_dict(), "seconds": 0} == {**b.to_dict(), "seconds": 0}


def test_claims_are_the_public_contract_in_table_order() -> None:
    assert list(DEFAULT_CLAIMS) == [
        "truthful",
        "conserves_credit",
        "q_star_equilibrium",
        "q_star_farsighted_equilibrium",
        "fixed_point_optimal",
    ]
    assert list(CLAIMS) == [*DEFAULT_CLAIMS, "bids_converge"]  # run on request only (costly: it trains)
    for name, claim in CLAIMS.items():
        assert isinstance(claim, Claim)
        assert claim.name == name
        assert claim.title
        assert claim.doc
    assert verify.q_star_farsighted_equilibrium is CLAIMS["q_star_farsighted_equilibrium"].check


@pytest.mark.parametrize("claim", list(DEFAULT_CLAIMS))
@pytest.mark.parametrize("name", sorted(MECHANISMS))
def test_every_registered_mechanism_passes_through_every_claim(name: str, claim: str) -> None:
    # The contract: a Verdict of stable type and consistent fields, whatever the outcome.
    mech = MECHANISMS[name]
    for clones in (1, 2):
        v = CLAIMS[claim](mech, clones, 8, 0)
        assert isinstance(v, Verdict)
        assert v.ran
        assert (v.claim, v.mechanism, v.clones, v.budget, v.seed) == (claim, mech.name, clones, 8, 0)
        assert v.title == CLAIMS[claim].title
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
            expected = DESIGN_TABLE[(name, v.clones)][list(DEFAULT_CLAIMS).index(v.claim)]
            assert v.ran, v.error
            assert v.holds == expected, f"{name} x{v.clones} {v.claim}: {v.counterexample}"


@pytest.mark.parametrize("seed", [0, 12345])
def test_a_seed_gives_the_same_verdict_and_counterexample(seed: int) -> None:
    for claim, mech, clones in [
        (claims_module.fixed_point_optimal, MECHANISMS["ccv"], 1),
        (claims_module.q_star_farsighted_equilibrium, MECHANISMS["ccv"], 1),
        (claims_module.conserves_credit, MECHANISMS["vickrey"], 2),
    ]:
        a = claim(mech, clones, 6, seed)
        search_module._POOLS.clear()  # generate again, not from the cache
        b = claim(mech, clones, 6, seed)
        assert _same(a, b)


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


def test_a_fixed_point_in_the_wrong_order_breaks_fixed_point_optimal(monkeypatch: pytest.MonkeyPatch) -> None:
    mech = MECHANISMS["ccv"]
    assert claims_module.fixed_point_optimal(mech, 2, SMALL, 0).holds
    real = claims_module.truthful_fixed_point

    def reversed_fixed_point(mdp: tasks.FiniteMDP, mechanism: Mechanism, clones: int) -> np.ndarray:
        bids = real(mdp, mechanism, clones)
        A = mdp.n_actions
        order = (A - 1 - np.arange(A * clones) % A) + A * (np.arange(A * clones) // A)
        return bids[:, order]  # every primitive bids what the "mirror" primitive should

    monkeypatch.setattr(claims_module, "truthful_fixed_point", reversed_fixed_point)
    v = claims_module.fixed_point_optimal(mech, 2, SMALL, 0)
    assert not v.holds
    assert v.counterexample.numbers["shortfall"] > 1e-6


def _farsighted_value(mdp: tasks.FiniteMDP, bids: np.ndarray, mech: Mechanism, d: int, x: np.ndarray) -> float:
    """Bidder d's discounted utility from state 0 of a one-state MDP, bidding x[f] after (f=1) or not (f=0) a sale.

    Value iteration on (s = 0, f) straight from eq. (1) of DESIGN §1: an independent check of
    :func:`verify.best_response.nash_conv` on the shrunk counterexample.
    """
    assert mdp.n_states == 1
    out = [auction(mech, np.where(np.arange(bids.shape[1]) == d, x[f], bids[0])[None, :]) for f in (0, 1)]
    V = np.zeros(2)
    for _ in range(2000):
        V = np.array(
            [
                f * float(out[f].value[0])  # the credit for the state d sold, set by its own bid now
                + (float(mdp.R[0, int(out[f].winner[0]) % mdp.n_actions]) if out[f].winner[0] == d else 0.0)
                - float(out[f].payments[0, d])
                + mdp.gamma * V[int(out[f].winner[0] == d)]
                for f in (0, 1)
            ]
        )
    return float(V[0])


@pytest.mark.parametrize("clones", [1, 2])
def test_vickrey_q_star_profile_is_not_farsighted_and_the_counterexample_checks_by_hand(clones: int) -> None:
    v = claims_module.q_star_farsighted_equilibrium(MECHANISMS["vickrey"], clones, SMALL, 0)
    cx = v.counterexample
    assert not v.holds
    assert cx is not None
    assert cx.mdp is not None
    assert cx.mdp.n_states == 1  # shrunk to one state: re-derive both values by value iteration
    bids, d = np.asarray(cx.bids), cx.bidder
    deviation = np.asarray(cx.deviation)
    assert _farsighted_value(cx.mdp, bids, MECHANISMS["vickrey"], d, deviation) == pytest.approx(
        cx.numbers["deviation_value"]
    )
    current = np.array([bids[0, d], bids[0, d]])
    assert _farsighted_value(cx.mdp, bids, MECHANISMS["vickrey"], d, current) == pytest.approx(
        cx.numbers["current_value"]
    )
    assert cx.numbers["gain"] == pytest.approx(cx.numbers["deviation_value"] - cx.numbers["current_value"])
    assert deviation[1] > bids[0, d]  # self-credit: it inflates its bid on the state it sold itself


def test_planted_ccv_with_first_price_lookahead_is_not_farsighted() -> None:
    # ccv cloned holds; the same rule crediting the highest bid (vickrey in disguise) does not.
    assert claims_module.q_star_farsighted_equilibrium(MECHANISMS["ccv"], 2, SMALL, 0).holds
    v = claims_module.q_star_farsighted_equilibrium(CCV_1ST_LOOKAHEAD, 2, SMALL, 0)
    assert not v.holds
    assert v.counterexample.numbers["gain"] > 1e-6
    assert v.counterexample.numbers["exact"] is False  # a user rule: nash_conv searches candidates


def test_a_raising_mechanism_gets_an_error_verdict_on_every_claim() -> None:
    def broken_price(b: np.ndarray, w: np.ndarray) -> np.ndarray:
        raise RuntimeError("price table missing")

    broken = Mechanism("broken", price=broken_price, lookahead=highest_bid)
    verdicts = check(broken, clones=(2,), budget=5)
    by_claim = {v.claim: v for v in verdicts}
    assert set(by_claim) == set(DEFAULT_CLAIMS)
    for name in DEFAULT_CLAIMS:  # the contract check runs the price rule first: no verdict rests on a broken rule
        assert not by_claim[name].holds
        assert "price table missing" in by_claim[name].error


@pytest.mark.parametrize(
    ("mech", "words"),
    [
        (NAN_PRICE, ["price function", "_nan_price", "nan"]),
        (ALLOCATE_MINUS_ONE, ["allocate function", "_minus_one", "returned winner -1"]),
        (ALLOCATE_99, ["allocate function", "_ninety_nine", "returned winner 99"]),
        (ALLOCATE_FLOAT, ["allocate function", "_float_winner", "dtype float64"]),
        (RANDOM_PRICE, ["price function", "_random_price", "not a function of the bids"]),
    ],
    ids=lambda x: getattr(x, "name", ""),
)
def test_a_broken_rule_gives_error_verdicts_never_a_tick_or_a_cross(mech: Mechanism, words: list[str]) -> None:
    verdicts = check(mech, clones=(1, 2), budget=5)
    assert len(verdicts) == 2 * len(DEFAULT_CLAIMS)
    for v in verdicts:
        assert not v.ran
        assert not v.holds
        assert v.counterexample is None
        assert v.error.startswith("MechanismError: ")
        for word in words:
            assert word in v.error
        assert v.title == CLAIMS[v.claim].title


def test_a_claim_called_directly_on_a_broken_rule_raises() -> None:
    with pytest.raises(MechanismError, match="_nan_price"):
        claims_module.truthful(NAN_PRICE, 2, 5, 0)


def test_a_mechanism_rule_must_be_a_function() -> None:
    with pytest.raises(TypeError, match="price must be a function"):
        Mechanism("posted", price=42)  # type: ignore[arg-type]


def test_user_claims_run_beside_the_built_in_ones() -> None:
    def always(mechanism: Mechanism, clones: int, budget: int, seed: int) -> Verdict:
        return Verdict("anything", mechanism.name, clones, True, None, 1, seed, budget)

    mine = Claim("always_holds", "a user's claim", always, "holds by construction")
    verdicts = check("ccv", clones=[2], claims=["truthful", mine], budget=5)
    assert [(v.claim, v.title, v.holds) for v in verdicts] == [
        ("truthful", CLAIMS["truthful"].title, True),
        ("always_holds", "a user's claim", True),  # stamped with the Claim's name and title
    ]

    def not_a_verdict(mechanism: Mechanism, clones: int, budget: int, seed: int) -> Verdict:
        return True  # type: ignore[return-value]

    bad = check("ccv", clones=[2], claims=[Claim("bad", "bad", not_a_verdict)], budget=5)[0]
    assert not bad.ran
    assert "not a verify.Verdict" in bad.error


def test_check_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown mechanism"):
        check("nope")
    with pytest.raises(ValueError, match=r"unknown claim 'nope'.*truthful"):
        check("ccv", claims=["nope"])
    with pytest.raises(TypeError, match=r"claims=\['truthful'\]"):
        check("ccv", claims="truthful")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="claims is empty"):
        check("ccv", claims=[])
    with pytest.raises(ValueError, match=r"clones must hold ints >= 1.*1\.5"):
        check("ccv", clones=[1.5])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"clones must hold ints >= 1.*True"):
        check("ccv", clones=[True])
    with pytest.raises(TypeError, match="clones must be a list of ints"):
        check("ccv", clones="21")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="clones is empty"):
        check("ccv", clones=[])
    with pytest.raises(ValueError, match="budget"):
        check("ccv", budget=0)
    with pytest.raises(TypeError, match="budget must be an int"):
        check("ccv", budget=2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="seed must be an int"):
        check("ccv", seed="0")  # type: ignore[arg-type]


def test_a_verdict_carries_its_claims_title() -> None:
    v = check("ccv", clones=[2], claims=["q_star_farsighted_equilibrium"], budget=5)[0]
    assert v.to_dict()["title"] == "Q* profile: farsighted equilibrium"
    assert dataclasses.replace(v, title="").to_dict()["title"] == v.claim  # an untitled verdict: its name
