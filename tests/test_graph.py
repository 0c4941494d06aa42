"""to_graph (networkx) and reachable (csgraph BFS), cross-checked against each other and by hand."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from tasks import FiniteMDP, chain, duality, frozen_lake, gridworld, random_mdp, reachable, to_graph


def test_chain_graph():
    mdp = chain(4)
    G = to_graph(mdp)
    assert isinstance(G, nx.DiGraph)  # a MultiDiGraph is a DiGraph
    assert sorted(G.nodes) == [0, 1, 2, 3]
    assert G.nodes[3]["terminal"] is True
    assert G.nodes[0]["start"] == 1.0
    # every (s, a) has exactly one successor in a chain: S·A edges
    assert G.number_of_edges() == 8
    assert G[0][0][0] == {"action": 0, "probability": 1.0, "reward": 0.0}  # left at 0 stays
    assert G[2][3][1] == {"action": 1, "probability": 1.0, "reward": 0.8}  # right into the goal
    assert set(G[3][3]) == {0, 1}  # the terminal loops under both actions


def test_graph_probabilities_sum_to_one_per_state_action():
    mdp = random_mdp(6, 3, successors=2, seed=5)
    G = to_graph(mdp)
    total = np.zeros((6, 3))
    for s, _, a, data in G.edges(keys=True, data=True):
        total[s, a] += data["probability"]
        assert data["reward"] == mdp.R[s, a]
    np.testing.assert_allclose(total, 1.0, atol=1e-12)
    assert G.number_of_edges() == 6 * 3 * 2


def test_duality_reachable_and_unreachable():
    np.testing.assert_array_equal(reachable(duality()), [True, True, True])
    # from the absorbing state 2 nothing else is reachable
    np.testing.assert_array_equal(reachable(duality(), sources=[2]), [False, False, True])
    np.testing.assert_array_equal(reachable(duality(), sources=np.array([False, True, False])), [True, True, True])


def test_walled_off_room_is_unreachable():
    mdp = gridworld(["S.#.", "..#G"])
    r = reachable(mdp)
    # states: (0,0) (0,1) (0,3) (1,0) (1,1) (1,3); the right column is cut off by the wall
    np.testing.assert_array_equal(r, [True, True, False, True, True, False])


def test_zero_probability_entries_are_not_edges():
    # a CSR kernel with an explicitly stored zero: state 0 -> 1 with probability 0
    data = np.array([1.0, 0.0, 1.0])
    indices = np.array([0, 1, 1])
    indptr = np.array([0, 2, 3])
    mdp = FiniteMDP(
        sp.csr_array((data, indices, indptr), shape=(2, 2)), np.zeros((2, 1)), 0.9, start=np.array([1.0, 0.0])
    )
    np.testing.assert_array_equal(reachable(mdp), [True, False])
    assert list(to_graph(mdp).edges()) == [(0, 0), (1, 1)]


def test_bad_sources():
    with pytest.raises(ValueError, match=r"outside 0\.\.5"):
        reachable(chain(6), sources=[6])
    with pytest.raises(ValueError, match=r"sources mask has shape \(2,\)"):
        reachable(chain(6), sources=np.array([True, False]))
    with pytest.raises(TypeError, match="state indices or a boolean mask"):
        reachable(chain(6), sources=[0.5])


@given(
    st.integers(2, 12),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_reachable_matches_networkx(S, A, k, seed, sparse):
    k = min(k, S)
    mdp = random_mdp(S, A, successors=k, seed=seed, sparse=sparse, terminal_fraction=0.3)
    rng = np.random.default_rng(seed)
    sources = np.flatnonzero(rng.random(S) < 0.3)
    G = to_graph(mdp)
    expected = np.zeros(S, dtype=bool)
    for s in sources:
        expected[list(nx.descendants(G, int(s)) | {int(s)})] = True
    np.testing.assert_array_equal(reachable(mdp, sources=sources), expected)


def test_frozen_lake_everything_reachable_from_start():
    assert reachable(frozen_lake("4x4")).all()
