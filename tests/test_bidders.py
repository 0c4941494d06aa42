"""Bid sources: tables, Beta and Gaussian bids, clone sharing, validation, statistics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from mechanism import BetaBids, BidSource, GaussianBids, Society, TableBids, as_bid_source
from mechanism.bidders import _QuantileTable

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


@pytest.mark.parametrize("sampler", ["quantile", "exact"])
@pytest.mark.parametrize(("mu", "kappa"), [(0.5, 2.0), (0.3, 10.0), (0.8, 0.7), (0.1, 40.0)])
def test_beta_matches_its_distribution(mu: float, kappa: float, sampler: str) -> None:
    src = BetaBids(np.full((1, 1), mu), kappa, sampler=sampler)  # type: ignore[arg-type]
    x = src.sample(np.zeros(20_000, dtype=np.intp), np.random.default_rng(7))[:, 0]
    # Kolmogorov-Smirnov against scipy's Beta(μκ, (1 − μ)κ); the seed is fixed, so this is deterministic.
    assert stats.kstest(x, stats.beta(mu * kappa, (1 - mu) * kappa).cdf).pvalue > 1e-3
    assert ((x >= 0) & (x <= 1)).all()  # shapes < 1 put mass so close to 0 or 1 that draws round to it


@pytest.mark.parametrize("sampler", ["quantile", "exact"])
def test_beta_clones_share_parameters_but_not_noise(sampler: str) -> None:
    mean = np.array([[0.2, 0.7], [0.5, 0.5]])
    soc = Society(2, clones=2)
    src = BetaBids(mean, 5.0, sampler=sampler).for_society(soc)  # type: ignore[arg-type]
    b = src.sample(np.zeros(40_000, dtype=np.intp), np.random.default_rng(1))
    assert b.shape == (40_000, 4)
    # Clone columns 0 and 2 share mean 0.2; 1 and 3 share 0.7 (sd of a mean of 40000 draws < 0.001).
    assert np.allclose(b.mean(axis=0), [0.2, 0.7, 0.2, 0.7], atol=0.005)
    assert not np.array_equal(b[:, 0], b[:, 2])
    assert abs(np.corrcoef(b[:, 0], b[:, 2])[0, 1]) < 0.02  # independent: |r| ~ 1/sqrt(n) = 0.005


@pytest.mark.parametrize("sampler", ["quantile", "exact"])
def test_beta_same_seed_same_bits(sampler: str) -> None:
    src = BetaBids(np.full((3, 2), 0.4), 3.0, sampler=sampler)  # type: ignore[arg-type]
    s = np.array([0, 1, 2, 2])
    a = src.sample(s, np.random.default_rng(5))
    assert np.array_equal(a, src.sample(s, np.random.default_rng(5)))
    assert not np.array_equal(a, src.sample(s, np.random.default_rng(6)))


# ---------------------------------------------------------------------------- the quantile sampler
# (μ, κ): symmetric, skewed, both shapes < 1 (U-shaped), α = 0.1 (density unbounded at 0), concentrated.
QUANTILE_LAWS = [(0.5, 2.0), (0.3, 10.0), (0.8, 0.7), (0.05, 2.0), (0.1, 40.0)]
N_DRAWS = 50_000
# A KS statistic of n draws from the exact law exceeds 1.95/√n with probability ≈ 0.001 (Kolmogorov
# distribution: P(K > 1.949) = 0.001); the sampled law is within 1/K of Beta, so by the triangle inequality
# the statistic against Beta stays below 1/K + 1.95/√n.
KS_SAMPLING = 1.95 / np.sqrt(N_DRAWS)


def _ks_statistic(x: np.ndarray, alpha: float, beta: float) -> float:
    return float(stats.kstest(x, stats.beta(alpha, beta).cdf).statistic)


def _sampled_cdf(knots: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The exact CDF of the interpolated-quantile law: linear in x between the knots Q(k/K), k = 0..K."""
    K = knots.size - 1
    return np.interp(x, knots, np.arange(K + 1) / K)


@pytest.mark.parametrize("K", [16, 1024])
@pytest.mark.parametrize(("mu", "kappa"), QUANTILE_LAWS)
def test_quantile_sampler_within_its_kolmogorov_bound(mu: float, kappa: float, K: int) -> None:
    alpha, beta = mu * kappa, (1 - mu) * kappa
    src = BetaBids(np.full((1, 1), mu), kappa, resolution=K)
    x = src.sample(np.zeros(N_DRAWS, dtype=np.intp), np.random.default_rng(7))[:, 0]
    assert _ks_statistic(x, alpha, beta) <= 1 / K + KS_SAMPLING
    # The mean: |E_G X − E_F X| = |∫(F − G)| <= 1/K, plus 5 standard errors.
    sd = np.sqrt(mu * (1 - mu) / (kappa + 1))
    assert abs(x.mean() - mu) <= 1 / K + 5 * sd / np.sqrt(N_DRAWS)
    assert ((x >= 0) & (x <= 1)).all()


@pytest.mark.parametrize("K", [4, 16, 1024])
@pytest.mark.parametrize(("mu", "kappa"), QUANTILE_LAWS)
def test_quantile_law_is_within_one_cell_of_beta(mu: float, kappa: float, K: int) -> None:
    """The docstring's claim, without sampling noise: sup |G − F| <= 1/K for the law G the table defines."""
    alpha, beta = mu * kappa, (1 - mu) * kappa
    knots = BetaBids(np.full((1, 1), mu), kappa, resolution=K).quantiles[0, 0]
    assert np.array_equal(knots[1:-1], special.betaincinv(alpha, beta, np.arange(1, K) / K))
    # 65 points in every cell (cells near a pole are tiny), and a uniform grid.
    t = np.linspace(0, 1, 65)
    x = np.union1d((knots[:-1, None] + t * np.diff(knots)[:, None]).ravel(), np.linspace(0, 1, 10_001))
    gap = np.abs(_sampled_cdf(knots, x) - stats.beta(alpha, beta).cdf(x)).max()
    assert gap <= 1 / K + 1e-12
    if (mu, kappa) == (0.05, 2.0):
        # α = 0.1: in the first cell F ≈ (x/Q₁)^0.1/K against G = (x/Q₁)/K, a gap of max(t^0.1 − t)/K
        # = 0.70/K; the bound is nearly attained, so the check above is not vacuous.
        assert gap >= 0.65 / K
    if mu == 0.5 and kappa == 2.0:
        assert gap <= 1e-12  # Beta(1, 1): Q is the identity and the interpolation exact


def test_planted_bug_swapped_shapes_is_caught() -> None:
    """A table built with α and β swapped fails both checks above."""
    mu, kappa, K = 0.3, 10.0, 1024
    alpha, beta = mu * kappa, (1 - mu) * kappa
    src = BetaBids(np.full((1, 1), mu), kappa, resolution=K)
    object.__setattr__(src, "_table", _QuantileTable(np.array([beta]), np.array([alpha]), K))
    x = src.sample(np.zeros(N_DRAWS, dtype=np.intp), np.random.default_rng(7))[:, 0]
    assert _ks_statistic(x, alpha, beta) > 1 / K + KS_SAMPLING
    grid = np.linspace(0, 1, 2001)
    assert np.abs(_sampled_cdf(src.quantiles[0, 0], grid) - stats.beta(alpha, beta).cdf(grid)).max() > 1 / K


def test_quantile_draw_interpolates_the_cell_of_its_uniform() -> None:
    """White box: bid = Q_k + f·(Q_{k+1} − Q_k) with k = ⌊Ku⌋, f = Ku − k, u the generator's next uniforms."""
    K = 64
    src = BetaBids(np.array([[0.2, 0.6], [0.9, 0.4]]), np.array([[3.0, 0.5], [8.0, 2.0]]), resolution=K)
    s = np.array([0, 1, 1, 0, 1])
    x = src.sample(s, np.random.default_rng(3))
    u = np.random.default_rng(3).random((2, s.size)).T  # one uniform per (bidder, state), bidder-major
    k = np.floor(K * u).astype(int)
    q = src.quantiles[s[:, None], np.arange(2)]  # (B, bidders, K + 1)
    lo = np.take_along_axis(q, k[..., None], -1)[..., 0]
    hi = np.take_along_axis(q, k[..., None] + 1, -1)[..., 0]
    assert np.all((lo <= x) & (x <= hi))
    assert np.allclose(x, lo + (K * u - k) * (hi - lo), rtol=0, atol=1e-12)


def test_quantile_table_is_built_once_and_shared_by_clones() -> None:
    mean = np.array([[0.2, 0.7], [0.5, 0.5], [0.2, 0.7]])
    src = BetaBids(mean, 5.0, resolution=32)
    bound = src.for_society(Society(2, clones=3))
    assert bound._table is src._table  # one table for the source and its bound copies
    # Why sharing is sound: the bound copy's own distinct laws are the source's (every primitive reappears).
    fresh = BetaBids(bound.mean, bound.concentration, resolution=32)
    assert np.array_equal(fresh._table.alpha, src._table.alpha)
    assert np.array_equal(fresh._table.beta, src._table.beta)
    assert src._table.alpha.size == 3  # distinct laws only: rows 0 and 2 repeat, and 0.5·5 twice
    knots = src._table.knots_and_slopes[0]
    bound.sample(np.array([0, 2]), np.random.default_rng(0))
    assert src._table.knots_and_slopes[0] is knots  # cached, not rebuilt
    assert np.array_equal(bound.quantiles, src.quantiles[:, [0, 1, 0, 1, 0, 1]])
    assert np.all(np.diff(src.quantiles, axis=-1) >= 0)
    assert np.all(src.quantiles[..., 0] == 0.0)
    assert np.all(src.quantiles[..., -1] == 1.0)


def test_beta_sampler_validation() -> None:
    with pytest.raises(ValueError, match="sampler must be 'quantile' or 'exact'"):
        BetaBids(np.full((1, 1), 0.5), 2.0, sampler="fast")  # type: ignore[arg-type]
    for bad in (1, 2**21):
        with pytest.raises(ValueError, match=r"resolution must lie in \[2, 2\*\*20\]"):
            BetaBids(np.full((1, 1), 0.5), 2.0, resolution=bad)
    for wrong in (True, 8.0):
        with pytest.raises(TypeError, match="resolution must be an int"):
            BetaBids(np.full((1, 1), 0.5), 2.0, resolution=wrong)  # type: ignore[arg-type]
    assert BetaBids(np.full((1, 1), 0.5), 2.0).sampler == "quantile"  # the default


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
