"""random_mdp: valid rows, exact successor counts, determinism by seed, dense/sparse structure."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tasks import random_mdp


def _rows(mdp):
    K = mdp.kernel
    return K.toarray() if sp.issparse(K) else np.asarray(K)


@pytest.mark.parametrize("sparse", [False, True])
def test_dense_rows(sparse):
    mdp = random_mdp(12, 3, gamma=0.9, seed=1, sparse=sparse)
    K = _rows(mdp)
    assert K.shape == (36, 12)
    np.testing.assert_allclose(K.sum(axis=1), 1.0, atol=1e-12)
    assert (K > 0).all()  # Dirichlet(1) rows have full support almost surely
    assert mdp.gamma == 0.9
    assert mdp.is_sparse == sparse
    assert mdp.R.min() >= 0.0
    assert mdp.R.max() < 1.0


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize(("S", "k"), [(5, 5), (40, 3), (3000, 8)])
def test_successor_counts(sparse, S, k):
    mdp = random_mdp(S, 2, successors=k, seed=7, sparse=sparse)
    if sparse:
        K = mdp.kernel
        counts = np.diff(K.indptr)
        # k distinct, sorted successors per row
        idx = K.indices.reshape(-1, k)
        assert (np.diff(idx, axis=1) > 0).all()
    else:
        counts = (np.asarray(mdp.kernel) > 0).sum(axis=1)
    np.testing.assert_array_equal(counts, k)
    np.testing.assert_allclose(np.asarray(mdp.kernel.sum(axis=1)).ravel(), 1.0, atol=1e-12)


def test_large_path_redraws_repeats():
    """S·A·S above the shuffle limit uses rejection; with S = 3000, k = 8 most rows are drawn once,
    but over 6000 rows a repeat (probability ~ k²/2S ≈ 1%) is near certain and must be redrawn."""
    mdp = random_mdp(3000, 2, successors=8, seed=0, sparse=True)
    idx = mdp.kernel.indices.reshape(-1, 8)
    assert (np.diff(idx, axis=1) > 0).all()


def test_same_seed_same_bits_and_generator_accepted():
    a = random_mdp(30, 4, successors=5, seed=11, sparse=True, terminal_fraction=0.2)
    b = random_mdp(30, 4, successors=5, seed=11, sparse=True, terminal_fraction=0.2)
    c = random_mdp(30, 4, successors=5, seed=np.random.default_rng(11), sparse=True, terminal_fraction=0.2)
    d = random_mdp(30, 4, successors=5, seed=12, sparse=True, terminal_fraction=0.2)
    for other in (b, c):
        np.testing.assert_array_equal(a.kernel.indptr, other.kernel.indptr)
        np.testing.assert_array_equal(a.kernel.indices, other.kernel.indices)
        np.testing.assert_array_equal(a.kernel.data, other.kernel.data)
        np.testing.assert_array_equal(a.R, other.R)
        np.testing.assert_array_equal(a.terminal, other.terminal)
    assert not np.array_equal(a.R, d.R)


def test_sparse_and_dense_same_seed_same_mdp():
    dense = random_mdp(25, 3, successors=4, seed=5, terminal_fraction=0.3)
    sparse = random_mdp(25, 3, successors=4, seed=5, terminal_fraction=0.3, sparse=True)
    np.testing.assert_array_equal(sparse.dense_P, dense.P)
    np.testing.assert_array_equal(sparse.R, dense.R)
    np.testing.assert_array_equal(sparse.terminal, dense.terminal)


@pytest.mark.parametrize("sparse", [False, True])
def test_terminal_fraction(sparse):
    S, A = 40, 3
    mdp = random_mdp(S, A, successors=6, seed=2, sparse=sparse, terminal_fraction=0.25)
    T = np.flatnonzero(mdp.terminal)
    assert T.size == 10
    P = mdp.dense_P
    for s in T:
        np.testing.assert_array_equal(P[s, :, s], 1.0)
        np.testing.assert_array_equal(mdp.R[s], 0.0)
    np.testing.assert_allclose(mdp.start[~mdp.terminal], 1 / 30)
    assert (mdp.start[T] == 0).all()
    # terminal states are still entered from elsewhere
    assert P[~mdp.terminal][:, :, T].sum() > 0


def test_terminal_fraction_leaves_a_live_state():
    mdp = random_mdp(3, 2, seed=0, terminal_fraction=0.99)
    assert mdp.terminal.sum() == 2


@pytest.mark.parametrize(
    ("kwargs", "err", "pattern"),
    [
        ({"n_states": 0, "n_actions": 2}, ValueError, "n_states must be >= 1"),
        ({"n_states": 3.0, "n_actions": 2}, TypeError, "n_states must be a positive int"),
        ({"n_states": 3, "n_actions": 2, "successors": 4}, ValueError, "successors = 4 exceeds n_states = 3"),
        ({"n_states": 3, "n_actions": 2, "successors": 0}, ValueError, "successors must be >= 1"),
        ({"n_states": 3, "n_actions": 2, "terminal_fraction": 1.0}, ValueError, "terminal_fraction must lie"),
        ({"n_states": 3, "n_actions": 2, "seed": "x"}, TypeError, "seed must be an int"),
        ({"n_states": 3, "n_actions": 2, "gamma": 1.0}, ValueError, "gamma = 1 needs every policy to reach a terminal"),
    ],
)
def test_bad_arguments(kwargs, err, pattern):
    with pytest.raises(err, match=pattern):
        random_mdp(**kwargs)
