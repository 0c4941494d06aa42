"""Bid sources: tables, Beta and Gaussian bids, clone sharing, validation, statistics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mechanism import BetaBids, BidSource, GaussianBids, Society, TableBids, as_bid_source

TABLE = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])


def test_table_samples_rows() -> None:
    src = TableBids(TABLE)
    s = np.array([2, 0, 2, 1])
    assert np.array_equal(src.sample(s, np.random.default_rng(0)), TABLE[s])
    assert isinstance(src, BidSource)


def test_table_for_society_shares_primitive_columns() -> None:
    soc = Society(2, clones=3)
    src = TableBids(TABLE).for_society(soc)
    assert src.n_bidders == 6
    assert np.array_equal(src.table, TABLE[:, [0, 1, 0, 1, 0, 1]])
    per_bidder = TableBids(np.arange(18.0).reshape(3, 6))
    assert per_bidder.for_society(soc) is per_bidder
    with pytest.raises(ValueError, match="one column per primitive"):
        TableBids(np.zeros((3, 4))).for_society(soc)


def test_table_validation() -> None:
    with pytest.raises(ValueError, match="not finite"):
        TableBids(np.array([[0.0, np.inf]]))
    with pytest.raises(ValueError, match="shape"):
        TableBids(np.zeros(3))
    with pytest.raises(TypeError):
        TableBids(np.array([["a"]]))
    with pytest.raises(ValueError, match=r"states must lie in \[0, 3\)"):
        TableBids(TABLE).sample(np.array([3]), np.random.default_rng(0))
    with pytest.raises(TypeError, match="1-D int"):
        TableBids(TABLE).sample(np.array([0.5]), np.random.default_rng(0))


@pytest.mark.parametrize(("mu", "kappa"), [(0.5, 2.0), (0.3, 10.0), (0.8, 0.7), (0.1, 40.0)])
def test_beta_matches_its_distribution(mu: float, kappa: float) -> None:
    src = BetaBids(np.full((1, 1), mu), kappa)
    x = src.sample(np.zeros(20_000, dtype=np.intp), np.random.default_rng(7))[:, 0]
    # Kolmogorov-Smirnov against scipy's Beta(μκ, (1 − μ)κ); the seed is fixed, so this is deterministic.
    assert stats.kstest(x, stats.beta(mu * kappa, (1 - mu) * kappa).cdf).pvalue > 1e-3
    assert ((x >= 0) & (x <= 1)).all()  # shapes < 1 put mass so close to 0 or 1 that draws round to it


def test_beta_clones_share_parameters_but_not_noise() -> None:
    mean = np.array([[0.2, 0.7], [0.5, 0.5]])
    soc = Society(2, clones=2)
    src = BetaBids(mean, 5.0).for_society(soc)
    b = src.sample(np.zeros(40_000, dtype=np.intp), np.random.default_rng(1))
    assert b.shape == (40_000, 4)
    # Clone columns 0 and 2 share mean 0.2; 1 and 3 share 0.7 (sd of a mean of 40000 draws < 0.001).
    assert np.allclose(b.mean(axis=0), [0.2, 0.7, 0.2, 0.7], atol=0.005)
    assert not np.array_equal(b[:, 0], b[:, 2])
    assert abs(np.corrcoef(b[:, 0], b[:, 2])[0, 1]) < 0.02  # independent: |r| ~ 1/sqrt(n) = 0.005


def test_beta_same_seed_same_bits() -> None:
    src = BetaBids(np.full((3, 2), 0.4), 3.0)
    s = np.array([0, 1, 2, 2])
    a = src.sample(s, np.random.default_rng(5))
    assert np.array_equal(a, src.sample(s, np.random.default_rng(5)))
    assert not np.array_equal(a, src.sample(s, np.random.default_rng(6)))


def test_beta_validation() -> None:
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        BetaBids(np.array([[0.0, 0.5]]), 2.0)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        BetaBids(np.array([[1.0]]), 2.0)
    with pytest.raises(ValueError, match="must be > 0"):
        BetaBids(np.array([[0.5]]), 0.0)
    with pytest.raises(ValueError, match="mean's shape"):
        BetaBids(np.full((2, 2), 0.5), np.ones(3))
    src = BetaBids(np.array([[0.25, 0.5]]), np.array([[4.0, 2.0]]))
    assert np.array_equal(src.alpha, [[1.0, 1.0]])
    assert np.array_equal(src.beta, [[3.0, 1.0]])


def test_gaussian_statistics_and_validation() -> None:
    src = GaussianBids(np.array([[1.0, -2.0]]), np.array([[0.5, 0.0]]))
    b = src.sample(np.zeros(50_000, dtype=np.intp), np.random.default_rng(2))
    assert np.all(b[:, 1] == -2.0)  # std 0: the mean itself
    # mean 1 ± 0.5/sqrt(50000)·5 = 0.011; sd 0.5 within 2 %
    assert abs(b[:, 0].mean() - 1.0) < 0.011
    assert abs(b[:, 0].std() - 0.5) < 0.01
    with pytest.raises(ValueError, match=">= 0"):
        GaussianBids(np.zeros((1, 1)), -1.0)
    cloned = GaussianBids(np.array([[0.0, 1.0]]), 1.0).for_society(Society(2, 2))
    b = cloned.sample(np.zeros(4, dtype=np.intp), np.random.default_rng(0))
    assert b.shape == (4, 4)
    assert not np.array_equal(b[:, 0], b[:, 2])


class _Constant:
    """A foreign bid source: everyone bids 0.5."""

    def sample(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.full((states.size, 4), 0.5)


def test_as_bid_source() -> None:
    soc = Society(2, clones=2)
    src = as_bid_source(TABLE.tolist(), soc, 3)
    assert isinstance(src, TableBids)
    assert src.n_bidders == 4
    foreign = _Constant()
    assert as_bid_source(foreign, soc, 3) is foreign
    with pytest.raises(ValueError, match="covers 3 states but the MDP has 4"):
        as_bid_source(TABLE, soc, 4)
    with pytest.raises(TypeError, match="bid table"):
        as_bid_source("bids", soc, 3)
