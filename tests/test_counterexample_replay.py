"""Replayable counterexamples: ``Counterexample.from_dict`` / ``from_row`` and ``Verdict.from_dict``.

A counterexample read back from its record must be the one written, field by field and array by
array bit for bit, and must still break its claim: the claim's own falsifier, re-run on the
replayed MDP and bids, finds the same counterexample again (every number equal, bit for bit).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mechanism
import tasks
import verify
from tests.strategies import examples, finite_mdps, mechanisms
from verify import claims
from verify.records import verdict_rows
from verify.search import chain_options
from verify.strategies import OneAuction, options_mdps
from verify.verdicts import Counterexample, Verdict, format_counterexample

#: The failing societies of the brief, each with a counterexample at a small budget (DESIGN §1's ✗ cells).
FAILING = [
    ("env_reward", 2, "q_star_equilibrium"),
    ("first_price", 1, "truthful"),
    ("vickrey", 2, "conserves_credit"),
    ("vickrey", 2, "q_star_farsighted_equilibrium"),
    ("ccv", 1, "fixed_point_optimal"),
]


# ---------------------------------------------------------------------------------------------- equality
def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    """Same dtype, shape and bits (NaN equal to NaN; 0.0 and -0.0 differ)."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind != "f":
        return bool(np.array_equal(a, b))
    nan = np.isnan(a)
    return bool((nan == np.isnan(b)).all() and (a[~nan].tobytes() == b[~nan].tobytes()))


def same(a: Any, b: Any) -> bool:
    """Deep equality of counterexample fields: arrays bit for bit, floats by bits, MDPs field by field."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and _same_array(a, b)
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, float) and isinstance(b, float) and _same_array(np.array(a), np.array(b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, verify.Counterexample):
        return isinstance(b, verify.Counterexample) and all(
            same(getattr(a, f), getattr(b, f))
            for f in ("claim", "description", "mdp", "bids", "state", "bidder", "deviation", "source")
        ) and same(dict(a.numbers), dict(b.numbers))
    if a is not None and hasattr(a, "dense_P"):  # a FiniteMDP (eq=False): field by field
        return b is not None and hasattr(b, "dense_P") and all(
            same(getattr(a, f), getattr(b, f))
            for f in ("dense_P", "R", "gamma", "start", "terminal", "time_limit", "available", "substochastic",
                      "name", "is_sparse")
        )
    return type(a) is type(b) and a == b


def _replayed(cx: Counterexample | None) -> Any:
    """``cx`` through its JSON text, as `agora check` writes it and a reader loads it."""
    assert cx is not None
    return Counterexample.from_dict(json.loads(json.dumps(cx.to_dict(), allow_nan=False)))


def test_same_catches_a_planted_difference() -> None:
    # The equality the round trips rest on must see one ulp, a dtype, a mask and a -0.0.
    base: Any = Counterexample("c", "d", mdp=tasks.chain(3), bids=np.zeros((3, 2)), numbers={"p": np.array([0, 1])})
    assert same(base, _replayed(base))
    one_ulp = np.array(base.mdp.dense_P)
    one_ulp[0, 0, 1] = np.nextafter(one_ulp[0, 0, 1], 2.0)
    assert not _same_array(one_ulp, base.mdp.dense_P)
    assert not same(base, Counterexample("c", "d", mdp=base.mdp, bids=np.zeros((3, 2)),
                                         numbers={"p": np.array([0.0, 1.0])}))  # int vs float
    assert not same(base, Counterexample("c", "d", mdp=base.mdp, bids=-np.zeros((3, 2)), numbers=base.numbers))
    mask = np.ones((3, 2), dtype=bool)
    mask[0, 1] = False
    masked = tasks.FiniteMDP(base.mdp.P, base.mdp.R, base.mdp.gamma, available=mask)
    assert not same(base.mdp, masked)
    assert same(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))


# ---------------------------------------------------------------------------------------------- real ones
@pytest.fixture(scope="module")
def failing_verdicts() -> dict[str, Verdict]:
    """One failed verdict per claim of :data:`FAILING`, at budget 10 (about 2 s in all)."""
    out = {}
    for name, clones, claim in FAILING:
        (v,) = verify.check(name, clones=[clones], claims=[claim], budget=10)
        assert v.ran
        assert not v.holds
        assert v.counterexample is not None
        out[claim] = v
    return out


def _falsify_again(cx: Any, name: str, clones: int) -> Counterexample | None:
    """The claim's own falsifier (verify.claims) re-run on the replayed MDP and bids."""
    mech = mechanism.MECHANISMS[name]
    if cx.claim == "q_star_equilibrium":
        return claims._myopic_counterexample(mech, clones, cx.mdp, cx.source)
    if cx.claim == "truthful":
        return claims._truthful_counterexample(mech, OneAuction(cx.bids[0], cx.bidder, cx.deviation))
    if cx.claim == "conserves_credit":
        return claims._credit_counterexample(mech, clones, (cx.mdp, cx.bids, cx.numbers["rollout_seed"]))
    if cx.claim == "q_star_farsighted_equilibrium":
        return claims._farsighted_counterexample(mech, clones, cx.mdp, "replay")  # "search" would rescale again
    return claims._optimality_counterexample(mech, clones, False, cx.mdp, cx.source)


@pytest.mark.parametrize(("name", "clones", "claim"), FAILING, ids=[f"{m}x{k}-{c}" for m, k, c in FAILING])
def test_a_real_counterexample_comes_back_field_by_field(
    failing_verdicts: dict[str, Verdict], name: str, clones: int, claim: str
) -> None:
    v = failing_verdicts[claim]
    cx = v.counterexample
    assert cx is not None
    back = _replayed(cx)
    assert same(back, cx)
    assert format_counterexample(back.to_dict()) == str(cx)
    # From a records row (verdicts.jsonl through JSON text; verdicts.csv holds the cell as JSON text).
    row = json.loads(json.dumps(verdict_rows([v], {"command": "test"})[0]))
    assert same(Counterexample.from_row(row), cx)
    assert same(Counterexample.from_row({**row, "counterexample": json.dumps(row["counterexample"])}), cx)
    again = Verdict.from_dict(row)
    assert same(again.counterexample, cx)
    assert (again.claim, again.mechanism, again.clones, again.holds, again.examples_tried, again.budget, again.seed,
            again.tolerance, again.searched, again.notes, again.error, again.title, again.domain) == (
        v.claim, v.mechanism, v.clones, v.holds, v.examples_tried, v.budget, v.seed, v.tolerance, v.searched,
        v.notes, v.error, v.title, v.domain)
    assert again.seconds == pytest.approx(v.seconds, abs=1e-4)  # rounded to 0.1 ms in the record


@pytest.mark.parametrize(("name", "clones", "claim"), FAILING, ids=[f"{m}x{k}-{c}" for m, k, c in FAILING])
def test_a_replayed_counterexample_still_breaks_its_claim(
    failing_verdicts: dict[str, Verdict], name: str, clones: int, claim: str
) -> None:
    cx = failing_verdicts[claim].counterexample
    assert cx is not None
    back = _replayed(cx)
    found = _falsify_again(back, name, clones)
    assert found is not None
    assert same(found.description, cx.description)
    assert same(dict(found.numbers), dict(cx.numbers))
    assert (found.state, found.bidder) == (cx.state, cx.bidder)
    assert same(found.deviation, cx.deviation)


def test_replayed_numbers_match_the_public_measures(failing_verdicts: dict[str, Verdict]) -> None:
    # The deciding number of each claim, measured again by the public API on the replayed case.
    cx = _replayed(failing_verdicts["q_star_equilibrium"].counterexample)
    assert verify.exploitability(cx.mdp, cx.bids, mechanism.MECHANISMS["env_reward"], 2).value == cx.numbers["gain"]
    cx = _replayed(failing_verdicts["q_star_farsighted_equilibrium"].counterexample)
    nc = verify.nash_conv(cx.mdp, cx.bids, mechanism.MECHANISMS["vickrey"], 2, bid_range=claims.FARSIGHTED_BID_RANGE)
    assert nc.worst == cx.numbers["gain"]
    cx = _replayed(failing_verdicts["fixed_point_optimal"].counterexample)
    res = claims.fixed_point_shortfall(cx.mdp, mechanism.MECHANISMS["ccv"], 1)
    assert cx.state is not None
    assert res["shortfall"][cx.state] == cx.numbers["shortfall"]
    assert same(res["bids"], cx.bids)
    cx = _replayed(failing_verdicts["truthful"].counterexample)
    # One first-price auction: the truthful bidder's utility, then the deviation's (mechanism.auction).
    bids, j = cx.bids[0], cx.bidder
    assert j is not None
    deviated = bids.copy()
    deviated[j] = cx.deviation
    out = mechanism.auction(mechanism.MECHANISMS["first_price"], np.stack([bids, deviated]))
    utility = np.where(out.winner == j, bids[j], 0.0) - out.payments[:, j]
    assert utility[1] - utility[0] == cx.numbers["gain"]


# ---------------------------------------------------------------------------------------------- generated
@st.composite
def _counterexamples(draw: Any) -> tuple[Counterexample, Any, int]:
    """A counterexample around a generated MDP (dense or sparse, masks, time limits) and its truthful fixed point."""
    mdp = draw(finite_mdps(dense=None, masks=True, time_limits=True))
    mech = draw(mechanisms())
    clones = draw(st.sampled_from([1, 2]))
    bids = verify.truthful_fixed_point(mdp, mech, clones)  # NaN where a primitive is unavailable
    sol = verify.solve(mdp)
    deviation = draw(st.one_of(st.none(), st.floats(-2, 2), st.just(math.inf),
                               st.just(np.array([0.25, np.nextafter(0.5, 1.0)]))))
    numbers = {
        "Q_star": sol.Q,
        "policy": sol.policy,
        "flags": np.asarray(mdp.terminal),
        "empty": np.zeros((0, 3)),
        "int32": np.arange(3, dtype=np.int32),
        "gain": float(np.nextafter(1.0, 2.0)),
        "unbounded": -math.inf,
        "count": 3,
        "exact": True,
        "label": "truncated",
        "pair": [1, 2.5],
    }
    state = draw(st.one_of(st.none(), st.integers(0, mdp.n_states - 1)))
    cx = Counterexample("generated", "a generated case", mdp=mdp, bids=bids, state=state, bidder=None,
                        deviation=deviation, numbers=numbers, source="search")
    return cx, mech, clones


@settings(max_examples=examples(30))
@given(_counterexamples())
def test_generated_counterexamples_round_trip_and_replay(case: tuple[Counterexample, Any, int]) -> None:
    cx, mech, clones = case
    back = _replayed(cx)
    assert same(back, cx)
    assert back.mdp is not None
    assert cx.mdp is not None
    assert cx.bids is not None
    assert back.mdp.is_sparse == cx.mdp.is_sparse
    # The replay is the same game: exploitability of the same bids on the replayed MDP, bit for bit.
    now, then = verify.exploitability(back.mdp, back.bids, mech, clones), verify.exploitability(cx.mdp, cx.bids,
                                                                                                 mech, clones)
    assert same(now.value, then.value)
    assert (now.state, now.bidder) == (then.state, then.bidder)


@settings(max_examples=examples(15))
@given(options_mdps(dense=None))
def test_a_semi_mdp_comes_back_substochastic_with_the_same_kernel(mdp: Any) -> None:
    cx = Counterexample("generated", "options", mdp=mdp)
    back = _replayed(cx)
    assert back.mdp is not None
    assert type(back.mdp) is not type(mdp)  # an OptionsMDP comes back as a plain FiniteMDP ...
    assert back.mdp.substochastic
    assert same(back.mdp.dense_P, mdp.dense_P)  # ... with the same kernel, so the same Q*, bit for bit
    assert same(verify.solve(back.mdp).Q, verify.solve(mdp).Q)
    assert "semi-MDP of options" in str(back)


# ---------------------------------------------------------------------------------------------- old and bad
def test_an_older_record_without_types_is_read_by_its_shape() -> None:
    mdp = chain_options(4)  # "right until the goal" runs several steps: its rows sum to E[gamma^(tau-1)] < 1
    cx = Counterexample("c", "d", mdp=mdp, bids=np.ones((4, 3)), deviation=np.array([0.5, 1.0]),
                        numbers={"policy": np.array([0, 1, 0]), "V": np.array([0.5, 1.0, 0.0]),
                                 "mask": np.array([True, False]), "ragged": [[1], [2, 3]], "names": ["a", "b"]})
    d = json.loads(json.dumps(cx.to_dict()))
    del d["arrays"]
    del d["mdp"]["available"]
    d["mdp"]["substochastic"] = None
    old = Counterexample.from_dict(d)
    assert same(old.numbers["policy"], np.array([0, 1, 0]))  # ints: int64
    assert same(old.numbers["V"], np.array([0.5, 1.0, 0.0]))
    assert same(old.numbers["mask"], np.array([True, False]))
    assert old.numbers["ragged"] == [[1], [2, 3]]
    assert old.numbers["names"] == ["a", "b"]
    assert same(old.deviation, np.array([0.5, 1.0]))
    assert old.mdp is not None
    assert old.mdp.substochastic  # read off the rows
    assert same(old.mdp.dense_P, mdp.dense_P)
    assert same(old.mdp.available, np.ones((4, 3), dtype=bool))  # no mask recorded: every action


def test_unreadable_records_say_what_to_pass() -> None:
    with pytest.raises(TypeError, match="must be a dict"):
        Counterexample.from_dict([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"lacks \['description'\]"):
        Counterexample.from_dict({"claim": "x"})
    held = verdict_rows([Verdict("truthful", "ccv", 2, True, None, 10)])[0]
    with pytest.raises(ValueError, match="ccv x2 truthful has no counterexample: the claim held"):
        Counterexample.from_row(held)
    broken = verdict_rows([Verdict("truthful", "mine", 1, False, None, 0, error="MechanismError: boom")])[0]
    with pytest.raises(ValueError, match=r"could not run \(MechanismError: boom\)"):
        Counterexample.from_row(broken)
    with pytest.raises(ValueError, match="not a verdict row"):
        Counterexample.from_row({"claim": "x"})
    with pytest.raises(ValueError, match="lacks"):
        Verdict.from_dict({"claim": "x"})
    bad = Counterexample("c", "d", mdp=tasks.FiniteMDP(np.ones((1, 1, 1)), np.zeros((1, 1)), 0.5))
    d = bad.to_dict()
    d["mdp"]["P"] = [[[0.5]]]
    with pytest.raises(ValueError, match=r"P\[0, 0, :\] sums to 0.5"):
        Counterexample.from_dict(d)


def test_the_text_marks_unavailable_actions() -> None:
    mdp = tasks.FiniteMDP(np.ones((1, 2, 1)), np.array([[0.5, 0.0]]), 0.5, available=np.array([[True, False]]))
    text = str(Counterexample("c", "d", mdp=mdp))
    assert "s=0 a=1: unavailable" in text
    assert "s=0 a=0: R=0.5" in text
    assert same(_replayed(Counterexample("c", "d", mdp=mdp)).mdp, mdp)
