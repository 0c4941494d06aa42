"""Verdict records: claims, counterexamples as text, mechanism faults; no hypothesis needed to read them."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tasks
from mechanism import MECHANISMS
from tests.planted import ALLOCATE_99, NAN_PRICE, RANDOM_PRICE
from verify.verdicts import (
    Claim,
    Counterexample,
    Verdict,
    error_verdict,
    format_counterexample,
    jsonable,
    mechanism_fault,
)

ROOT = Path(__file__).resolve().parents[1]


def _check(mechanism: object, clones: int, budget: int, seed: int) -> Verdict:
    return Verdict("c", "m", clones, True, None, 1)


def test_the_records_do_not_import_hypothesis() -> None:
    code = "import verify.verdicts, verify.records, sys; assert 'hypothesis' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_a_claim_is_validated_on_construction() -> None:
    claim = Claim("mine", "my column", _check, "what it says")
    assert claim(MECHANISMS["ccv"], 2, 5, 0).holds  # callable like its check
    with pytest.raises(TypeError, match="name"):
        Claim("", "title", _check)
    with pytest.raises(TypeError, match="title"):
        Claim("mine", "", _check)
    with pytest.raises(TypeError, match="check must be a function"):
        Claim("mine", "title", "truthful")  # type: ignore[arg-type]


def test_an_error_verdict_is_never_a_tick() -> None:
    v = error_verdict(Claim("mine", "my column", _check), "m", 2, "MechanismError: boom", 5, 0, 0.0)
    assert (v.holds, v.ran, v.counterexample, v.title) == (False, False, None, "my column")
    assert v.to_dict()["error"] == "MechanismError: boom"


def test_a_verdict_without_a_title_is_headed_by_its_claim() -> None:
    assert Verdict("truthful", "ccv", 2, True, None, 3).to_dict()["title"] == "truthful"


@pytest.mark.parametrize(
    ("mech", "words"),
    [
        (NAN_PRICE, "price function tests.planted._nan_price returned"),
        (ALLOCATE_99, "allocate function tests.planted._ninety_nine returned winner 99"),
        (RANDOM_PRICE, "is not a function of the bids"),
    ],
    ids=lambda x: getattr(x, "name", ""),
)
def test_mechanism_fault_names_the_function_and_what_it_returned(mech: object, words: str) -> None:
    for clones in (1, 2):
        err = mechanism_fault(mech, clones)  # type: ignore[arg-type]
        assert err is not None
        assert words in str(err)


def test_the_built_in_mechanisms_have_no_fault() -> None:
    for mech in MECHANISMS.values():
        assert mechanism_fault(mech, 1) is None
        assert mechanism_fault(mech, 2) is None


def test_one_auction_counterexamples_print_bids_exactly_mdps_to_ten_digits() -> None:
    x = float(np.nextafter(0.5, -np.inf))
    one = Counterexample("truthful", "d", bids=np.array([[0.5, x]]), bidder=1, deviation=x)
    text = str(one)
    assert repr(x) in text  # 0.49999999999999994, not 0.5
    assert "deviation=0.49999999999999994" in text
    mdp = tasks.bandit()
    many = Counterexample("q_star_equilibrium", "d", mdp=mdp, bids=np.full((mdp.n_states, 4), 1 / 3))
    assert "0.3333333333," in str(many)
    assert repr(1 / 3) not in str(many)


def test_counterexamples_are_json_and_text_round_trips() -> None:
    mdp = tasks.chain(3)
    cx = Counterexample(
        "fixed_point_optimal",
        "desc",
        mdp=mdp,
        bids=np.zeros((3, 2)),
        state=1,
        numbers={"gain": np.float64(np.inf), "policy": np.array([0, 1, 0]), "flag": np.bool_(True)},
    )
    d = json.loads(json.dumps(cx.to_dict()))
    assert d["numbers"] == {"gain": "inf", "policy": [0, 1, 0], "flag": True}
    assert format_counterexample(d) == str(cx)
    assert "P(s'|s,a)" in str(cx)


def test_jsonable() -> None:
    assert jsonable(np.array([[1, 2]], dtype=np.int64)) == [[1, 2]]
    assert jsonable(np.float64(np.nan)) == "nan"
    assert jsonable((np.float32(0.5), None, "s")) == [0.5, None, "s"]
