"""The generators are valid by construction and reach the cases that matter: ties, terminals, sparse kernels."""

import numpy as np
from hypothesis import find, given, settings
from hypothesis import strategies as st

from mechanism import BUILTINS, Mechanism, Society
from tasks import FiniteMDP
from tests.strategies import bid_profiles, examples, finite_mdps, mechanisms, societies, valuations
from verify.strategies import BID_GRID, OneAuction, numbers, one_auctions

QUICK = settings(max_examples=examples(60), database=None, derandomize=True)


@QUICK
@given(finite_mdps(dense=None, terminals=True, time_limits=True, gamma=(0.3, 0.9)))
def test_finite_mdps_are_valid(mdp: FiniteMDP) -> None:
    P = mdp.dense_P
    np.testing.assert_allclose(P.sum(axis=2), 1.0, atol=1e-12)  # rows are distributions
    assert not mdp.terminal[0]  # the start state is live
    assert mdp.start[0] == 1.0
    for s in np.flatnonzero(mdp.terminal):  # terminal states absorb with zero reward
        assert np.all(P[s, :, s] == 1.0)
        assert np.all(mdp.R[s] == 0.0)
    assert 0.3 <= mdp.gamma <= 0.9
    assert 1 <= mdp.n_states <= 4
    assert 1 <= mdp.n_actions <= 3


@QUICK
@given(st.data())
def test_bid_profiles_and_valuations_have_the_requested_shape(data: st.DataObject) -> None:
    S, M = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 6))
    bids = data.draw(bid_profiles(S, M))
    assert bids.shape == (S, M)
    assert np.all((bids >= 0) & (bids <= 1))
    assert data.draw(valuations(M)).shape == (M,)


def _find(strategy, condition):
    return find(strategy, condition, settings=settings(max_examples=200, database=None, derandomize=True))


def test_generators_reach_ties_terminals_sparse_and_time_limits() -> None:
    # Each find raises NoSuchExample if the generator never produces the case within 200 draws.
    tie = _find(bid_profiles(1, 3), lambda b: np.sum(b[0] == b[0].max()) >= 2 and b[0].max() > 0)
    assert np.sum(tie[0] == tie[0].max()) >= 2
    assert _find(finite_mdps(terminals=True), lambda m: m.terminal.any()).terminal.any()
    assert _find(finite_mdps(dense=None), lambda m: m.is_sparse).is_sparse
    assert _find(finite_mdps(time_limits=True), lambda m: m.time_limit is not None).time_limit >= 1
    mdp = _find(finite_mdps(), lambda m: m.n_states >= 3 and m.n_actions >= 2)
    assert mdp.n_states >= 3  # not stuck at the minimum


def test_ties_are_common() -> None:
    # Over 100 derandomised draws of 4 bids from the 5-point grid, more than a third have a tied top bid.
    seen: list[bool] = []

    @settings(max_examples=examples(100), database=None, derandomize=True)
    @given(bid_profiles(1, 4))
    def record(b: np.ndarray) -> None:
        seen.append(bool(np.sum(b[0] == b[0].max()) >= 2))

    record()
    assert sum(seen) > len(seen) / 3


def test_shrinking_reaches_the_smallest_mdp() -> None:
    # The minimal MDP with a positive reward: one state, one action, R = 1 (the grid's first non-zero).
    mdp = _find(finite_mdps(), lambda m: bool((m.R > 0).any()))
    assert (mdp.n_states, mdp.n_actions) == (1, 1)
    assert mdp.R[0, 0] == 1.0


@QUICK
@given(societies(), mechanisms())
def test_societies_and_mechanisms(society: Society, mech: Mechanism) -> None:
    assert society.n_bidders == society.n_primitives * society.clones
    assert mech.name in BUILTINS


@QUICK
@given(st.data())
def test_numbers_mix_the_grid_and_floats_in_the_span(data: st.DataObject) -> None:
    n = data.draw(st.integers(0, 6))
    xs = data.draw(numbers(n))
    assert xs.shape == (n,)
    assert np.all((xs >= -2.0) & (xs <= 2.0))
    assert np.all(np.isin(data.draw(numbers(n, span=None)), BID_GRID))  # span=None: the grid only


@QUICK
@given(st.integers(1, 3).flatmap(lambda c: st.tuples(st.just(c), one_auctions(c))))
def test_one_auctions_are_valid(clones_and_case: tuple[int, OneAuction]) -> None:
    clones, (bids, bidder, deviation) = clones_and_case
    M = bids.shape[0]
    assert M % clones == 0
    assert 1 <= M // clones <= 4
    assert 0 <= bidder < M
    assert np.all(np.isfinite(bids))
    assert np.isfinite(deviation)
    # Every number is in the span, or a step of at most 0.01 away from a rival's bid.
    assert np.all(np.abs(bids) <= 2.01)
    assert abs(deviation) <= 2.01


def test_shrinking_removes_trailing_states_and_keeps_the_rest() -> None:
    # Drawn at full size and cut: dropping states 2 and 3 keeps state 1's reward, so S shrinks to 2.
    mdp = _find(finite_mdps(terminals=False), lambda m: m.n_states >= 2 and m.R[1, 0] > 0 and m.R[0, 0] == 0)
    assert mdp.n_states == 2
    assert mdp.R[1, 0] == 1.0
