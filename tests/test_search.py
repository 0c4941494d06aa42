"""The search engine: distinct cases up to the budget, generated once and shared, shrinking bounded, deterministic."""

import numpy as np

from tasks import FiniteMDP
from verify import search
from verify.verdicts import Counterexample


def _cx(mdp: FiniteMDP) -> Counterexample:
    return Counterexample("test", "found", mdp=mdp)


def test_generate_gives_distinct_cases_up_to_the_budget_and_caches_them() -> None:
    pool = search.generate(search.MDP_SPACE, 40, 3)
    keys = [k for k, _ in pool]
    assert len(keys) == len(set(keys)) == 40
    assert search.generate(search.MDP_SPACE, 40, 3) is pool  # every claim and mechanism shares it
    other = search.generate(search.MDP_SPACE, 40, 4)
    assert [k for k, _ in other] != keys  # another seed, other cases


def test_search_reports_the_first_failing_case_and_shrinks_it() -> None:
    def falsify(mdp: FiniteMDP) -> Counterexample | None:
        return _cx(mdp) if mdp.n_states >= 2 and (mdp.R > 0).any() else None

    pool = [case for _, case in search.generate(search.MDP_SPACE, 60, 0)]
    first = next(i for i, mdp in enumerate(pool) if falsify(mdp) is not None)
    found = search.search(search.MDP_SPACE, falsify, 60, 0)
    assert found.tried == first + 1
    mdp = found.counterexample.mdp
    assert mdp.n_states == 2  # shrunk: the smallest MDP with two states and a positive reward
    assert mdp.n_actions == 2
    assert np.count_nonzero(mdp.R) == 1


def test_a_claim_that_holds_examines_the_whole_budget() -> None:
    found = search.search(search.MDP_SPACE, lambda mdp: None, 50, 1)
    assert found == search.Found(None, 50)


def test_shrinking_evaluates_a_bounded_number_of_new_cases() -> None:
    calls: list[int] = []

    def falsify(mdp: FiniteMDP) -> Counterexample | None:
        calls.append(1)
        return _cx(mdp) if mdp.n_states >= 3 else None

    budget = 30
    found = search.search(search.MDP_SPACE, falsify, budget, 5)
    assert found.counterexample is not None
    assert found.counterexample.mdp.n_states == 3
    assert len(calls) <= found.tried + search.shrink_budget(budget) + 1  # + 1: the final case's counterexample


def test_same_seed_same_counterexample() -> None:
    def falsify(mdp: FiniteMDP) -> Counterexample | None:
        return _cx(mdp) if float(mdp.gamma) > 0.7 and mdp.n_actions == 3 else None

    a = search.search(search.MDP_SPACE, falsify, 30, 11)
    search._POOLS.clear()
    b = search.search(search.MDP_SPACE, falsify, 30, 11)
    assert a.tried == b.tried
    assert a.counterexample.to_dict() == b.counterexample.to_dict()
