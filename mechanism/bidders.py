"""Bid sources: what every bidder bids at a batch of states, deterministic or random.

A bid source maps B current states to a (B, M) array of bids, one column per bidder
(:class:`BidSource`). Three are built in, each with parameters of shape (S, K):

* :class:`TableBids` — a deterministic table ``bids[s, k]``;
* :class:`BetaBids` — ``Beta(μκ, (1 − μ)κ)`` with mean μ and concentration κ, the authors'
  bid distribution (bids in (0, 1); Chang et al. 2020, code ``BetaBidder``);
* :class:`GaussianBids` — ``mean + std·N(0, 1)``.

A source's K columns are either one per *primitive* (K = N, shared by its clones) or one per
*bidder* (K = M). :meth:`TableBids.for_society` (and the same method on the other sources) turns
the first into the second by repeating primitive ``m % N`` for bidder m; random sources then draw
**independent noise for every bidder**, so twins share a distribution but not a sample
(DESIGN §1, "cloned vs solitary"). :func:`as_bid_source` does this conversion for
:func:`mechanism.rollout`, and accepts a plain array as a table.

Random sources draw a whole (K, B) batch with one generator call (``Generator.random``,
``Generator.beta`` or ``Generator.standard_normal``) on parameters gathered column-major, so a
sample is a transposed view whose bidder axis is the slow one: the auction's reductions over
bidders then run over contiguous rows (see :func:`mechanism.rollout`).

Beta bids have two samplers. ``"exact"`` calls ``Generator.beta`` (about 60-100 ns a draw: it
dominates a rollout). ``"quantile"``, the default, is inverse-transform sampling from a table of
the exact quantiles Q(k/L), k = 0..L, interpolated linearly (about 10 ns a draw); its law is
within Kolmogorov distance 1/L of the Beta law (L = 1024 cells by default), with the proof in
:class:`BetaBids`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from mechanism.society import Society
from tasks.mdp import as_float_array

__all__ = ["BetaBids", "BidSource", "GaussianBids", "TableBids", "as_bid_source"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BetaSampler = Literal["quantile", "exact"]


@runtime_checkable
class BidSource(Protocol):
    """Anything that bids: ``sample(states (B,) int, rng) -> bids (B, M)`` float64.

    A deterministic source ignores ``rng``; a random one draws from it only, so the same
    generator state gives the same bids, bit for bit.
    """

    def sample(self, states: IntArray, rng: np.random.Generator) -> FloatArray:
        """Bids of every bidder at each of the B states, shape (B, M)."""
        ...


# ---------------------------------------------------------------------------- validation
def _table(x: ArrayLike, name: str, no_bid: bool = False) -> FloatArray:
    """A finite (S, K) parameter table; with ``no_bid``, NaN is allowed too (a bid table's "no bid")."""
    arr = as_float_array(x, name)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"{name} must have shape (n_states, n_columns) with a column per primitive or per bidder; "
            f"got shape {arr.shape}."
        )
    bad = ~np.isfinite(arr) & ~(no_bid & np.isnan(arr))
    if bad.any():
        s, k = (int(i) for i in np.argwhere(bad)[0])
        allowed = " (or NaN for no bid)" if no_bid else ""
        raise ValueError(
            f"{name}[{s}, {k}] = {float(arr[s, k])!r} is not finite; every bid parameter must be finite{allowed}."
        )
    return arr


def _like(x: ArrayLike, shape: tuple[int, ...], name: str) -> FloatArray:
    scalar = np.ndim(x) == 0
    arr = as_float_array(x, name)
    if scalar:
        arr = np.full(shape, float(arr.reshape(())))
    if arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape}; it must be a scalar or have the mean's shape {shape}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} has a non-finite entry; every bid parameter must be finite.")
    return arr


def _states(states: ArrayLike, n_states: int) -> IntArray:
    s = np.asarray(states)
    if s.ndim != 1 or s.dtype.kind not in "iu":
        raise TypeError(f"states must be a 1-D int array; got dtype {s.dtype}, shape {s.shape}.")
    if s.size and (s.min() < 0 or s.max() >= n_states):
        raise ValueError(f"states must lie in [0, {n_states}); got values in [{s.min()}, {s.max()}].")
    return s.astype(np.intp, copy=False)


def _columns_for(n_columns: int, society: Society, what: str) -> IntArray:
    """The parameter column each bidder uses: identity for K = M, ``m % N`` for K = N."""
    if not isinstance(society, Society):
        raise TypeError(f"society must be a mechanism.Society; got {type(society).__name__}.")
    if n_columns == society.n_bidders:
        return np.arange(n_columns, dtype=np.intp)
    if n_columns == society.n_primitives:
        return society.primitive_of
    raise ValueError(
        f"{what} has {n_columns} columns but the society has {society.n_primitives} primitives and "
        f"{society.n_bidders} bidders; give one column per primitive (shared by its clones) or one per bidder."
    )


def _frozen(*arrays: np.ndarray) -> None:
    for a in arrays:
        a.setflags(write=False)


class _ParameterTable:
    """The shape of a built-in source, read off its (S, K) parameter table, the field named ``_PARAMS``."""

    _PARAMS: ClassVar[str]

    @property
    def n_states(self) -> int:
        """S, the number of states the parameters cover."""
        return int(getattr(self, self._PARAMS).shape[0])

    @property
    def n_bidders(self) -> int:
        """K, the number of columns of a sample."""
        return int(getattr(self, self._PARAMS).shape[1])


# ---------------------------------------------------------------------------- deterministic
@dataclass(frozen=True, eq=False)
class TableBids(_ParameterTable):
    """A deterministic bid table: bidder k bids ``table[s, k]`` at state s.

    Parameters
    ----------
    table : array (S, K)
        Finite bids, one column per bidder (or per primitive, before :meth:`for_society`). NaN
        means "no bid": allowed only where the bidder's primitive is unavailable (an action mask,
        :mod:`mechanism.auction`), which :func:`mechanism.rollout` checks; the fixed points and the
        learners write NaN there.
    """

    table: FloatArray
    _by_column: FloatArray = field(init=False, repr=False)
    _PARAMS: ClassVar[str] = "table"

    def __post_init__(self) -> None:
        table = _table(self.table, "table", no_bid=True).copy()
        by_column = np.ascontiguousarray(table.T)
        _frozen(table, by_column)
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "_by_column", by_column)

    def for_society(self, society: Society) -> TableBids:
        """One column per bidder: primitive columns repeated for every clone (K = N), or self (K = M)."""
        cols = _columns_for(self.n_bidders, society, "the bid table")
        return self if cols.size == self.n_bidders else TableBids(self.table[:, cols])

    def sample(self, states: IntArray, rng: np.random.Generator | None = None) -> FloatArray:
        """``table[states]``, shape (B, K); ``rng`` is not used."""
        s = _states(states, self.n_states)
        return np.take(self._by_column, s, axis=1).T


# ---------------------------------------------------------------------------- Beta
def _beta_quantiles(alpha: FloatArray, beta: FloatArray, resolution: int) -> tuple[FloatArray, FloatArray]:
    """The quantile table of P Beta laws: knots Q_j(k/L) and the slopes between them, flat.

    Row j (the law Beta(α_j, β_j)) holds entries j·(L + 1) .. j·(L + 1) + L: ``knots`` is
    ``scipy.special.betaincinv(α_j, β_j, k/L)`` for k = 0..L (0 and 1 at the ends, made
    non-decreasing against rounding); ``slopes[k] = Q(k+1) − Q(k)``, 0 at the row's last entry,
    stepped down by an ulp wherever ``knots[k] + slopes[k]`` would round above ``knots[k + 1]``,
    so that an interpolated draw never leaves its cell.
    """
    L = resolution
    knots = special.betaincinv(alpha[:, None], beta[:, None], np.arange(L + 1) / L)
    if not np.isfinite(knots).all():
        j = int(np.argwhere(~np.isfinite(knots))[0, 0])
        raise ValueError(
            f"scipy.special.betaincinv failed for Beta({alpha[j]!r}, {beta[j]!r}); "
            "use BetaBids(..., sampler='exact') for these shapes."
        )
    knots[:, 0], knots[:, L] = 0.0, 1.0
    knots = np.maximum.accumulate(np.clip(knots, 0.0, 1.0), axis=1)
    slopes = np.zeros_like(knots)
    inner = slopes[:, :L]
    np.subtract(knots[:, 1:], knots[:, :L], out=inner)
    while True:
        over = knots[:, :L] + inner > knots[:, 1:]
        if not over.any():
            break
        inner[over] = np.nextafter(inner[over], 0.0)
    _frozen(knots, slopes)
    return knots.ravel(), slopes.ravel()


class _QuantileTable:
    """The quantile tables of P distinct Beta laws (rows of :func:`_beta_quantiles`), built on
    first use and then shared, read-only, by a :class:`BetaBids` and its :meth:`~BetaBids.for_society`
    copies (whose distinct laws are the same)."""

    def __init__(self, alpha: FloatArray, beta: FloatArray, resolution: int) -> None:
        self.alpha, self.beta, self.resolution = alpha, beta, resolution
        self._built: tuple[FloatArray, FloatArray] | None = None

    @property
    def knots_and_slopes(self) -> tuple[FloatArray, FloatArray]:
        """(knots, slopes), flat, P·(L + 1) entries each; computed on the first call."""
        if self._built is None:
            self._built = _beta_quantiles(self.alpha, self.beta, self.resolution)
        return self._built


@dataclass(frozen=True, eq=False)
class BetaBids(_ParameterTable):
    r"""Beta-distributed bids: bidder k at state s bids ``Beta(μκ, (1 − μ)κ)`` with μ = mean[s, k].

    Parameters
    ----------
    mean : array (S, K)
        μ in the open interval (0, 1); the mean bid.
    concentration : float or array (S, K)
        κ > 0: α + β of the Beta distribution. κ = 2 with μ = 1/2 is Beta(1, 1), the uniform
        distribution the authors initialise with; larger κ, less noise (variance μ(1 − μ)/(κ + 1)).
    sampler : {"quantile", "exact"}
        ``"exact"``: one ``rng.beta`` call per sample. ``"quantile"`` (default): tabulated
        inverse transform, within Kolmogorov distance 1/resolution of the Beta law (Notes),
        five to eight times faster per draw.
    resolution : int
        L >= 2, the number of cells of the quantile table (``"quantile"`` only); default 1024.

    Notes
    -----
    Every bidder, clones included, gets its own draw: one ``rng.beta`` or one ``rng.random``
    call per sample, on the (K, B) batch.

    **The quantile sampler.** With F the Beta CDF and Q = F⁻¹ its quantile function, the table
    holds the knots Q_k = Q(k/L), k = 0..L (``scipy.special.betaincinv``, once per distinct
    (α, β), on the first quantile draw; then cached and shared with the :meth:`for_society`
    copies). A draw takes u ~ U[0, 1), the cell k = ⌊Lu⌋ and the fraction f = Lu − k, and
    returns X = Q_k + f·(Q_{k+1} − Q_k): the quantile function interpolated linearly. The
    arithmetic is arranged so that X ∈ [Q_k, Q_{k+1}] exactly, in floating point.

    *Claim:* sup_x |G(x) − F(x)| ≤ 1/L, with G the CDF of X. *Proof:* take x ∈ [Q_k, Q_{k+1})
    (these cells cover [0, 1); below 0 and from 1 on, F = G). If u < k/L, X ≤ Q_k ≤ x; if
    u ≥ (k+1)/L, X ≥ Q_{k+1} > x. Hence k/L ≤ G(x) ≤ (k+1)/L. F is continuous and increasing, so
    F(Q_k) = k/L ≤ F(x) ≤ F(Q_{k+1}) = (k+1)/L. Both lie in an interval of length 1/L. ∎ (The
    same bound holds for the mean, |E_G X − E_F X| = |∫(F − G)| ≤ 1/L, and it is up to the
    2⁻⁵³ grid of ``rng.random`` and the accuracy of ``betaincinv``.) Inside a cell G is linear
    in x, so where the density f is smooth and positive the error is O(|f′|/(f²L²)), far below
    1/L; the bound is approached in the two end cells, where f vanishes (shape > 1) or blows up
    (shape < 1): sup |G − F| is about 0.6/L for Beta(3, 7), 0.7/L for Beta(0.1, 1.9), 0 for
    Beta(1, 1). With L = 1024 that is below the KS noise of a million draws (≈ 1.4/√n).

    The table costs (L + 1) ``betaincinv`` evaluations per distinct (α, β) (about 1-3 µs each:
    0.6-0.8 s for the 400 laws of a 100-state, 4-primitive source at L = 1024) and 16·(L + 1)
    bytes per law. It pays for itself after some 10⁷ draws (20 rollouts of 4096 episodes on that
    source); a source used for few draws, or re-built often with new parameters, is cheaper with
    ``sampler="exact"``.
    """

    mean: FloatArray
    concentration: FloatArray | float
    sampler: BetaSampler = "quantile"
    resolution: int = 1024
    _by_column: tuple[FloatArray, FloatArray] = field(init=False, repr=False)
    _table: _QuantileTable = field(init=False, repr=False)
    _row_start: FloatArray = field(init=False, repr=False)
    _PARAMS: ClassVar[str] = "mean"

    def __post_init__(self) -> None:
        mean = _table(self.mean, "mean").copy()
        if (mean <= 0).any() or (mean >= 1).any():
            s, k = (int(i) for i in np.argwhere((mean <= 0) | (mean >= 1))[0])
            raise ValueError(
                f"mean[{s}, {k}] = {float(mean[s, k])!r}; a Beta mean must lie strictly between 0 and 1. "
                "Rescale rewards into (0, 1) (verify.rescale_rewards) or use GaussianBids."
            )
        kappa = _like(self.concentration, mean.shape, "concentration").copy()
        if (kappa <= 0).any():
            s, k = (int(i) for i in np.argwhere(kappa <= 0)[0])
            raise ValueError(f"concentration[{s}, {k}] = {float(kappa[s, k])!r}; it must be > 0.")
        if self.sampler not in ("quantile", "exact"):
            raise ValueError(f"sampler must be 'quantile' or 'exact'; got {self.sampler!r}.")
        L = self.resolution
        if isinstance(L, bool) or not isinstance(L, int | np.integer):
            raise TypeError(f"resolution must be an int (cells of the quantile table); got {L!r}.")
        if not 2 <= L <= 2**20:
            raise ValueError(f"resolution must lie in [2, 2**20] (cells of the quantile table); got {L}.")
        alpha, beta = mean * kappa, (1.0 - mean) * kappa
        if (alpha <= 0).any() or (beta <= 0).any():
            raise ValueError(
                "mean·concentration underflows to 0; use a larger concentration or a mean further from 0 and 1."
            )
        by_column = (np.ascontiguousarray(alpha.T), np.ascontiguousarray(beta.T))
        # The distinct laws, and where the table row of each (bidder, state) starts (column-major,
        # as float: a draw adds it to L·u and splits the sum into cell and fraction).
        pairs = np.stack([by_column[0].ravel(), by_column[1].ravel()], axis=1)
        laws, law_of = np.unique(pairs, axis=0, return_inverse=True)
        row_start = (law_of.reshape(by_column[0].shape) * (int(L) + 1)).astype(np.float64)
        _frozen(mean, kappa, *by_column, row_start)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "concentration", kappa)
        object.__setattr__(self, "resolution", int(L))
        object.__setattr__(self, "_by_column", by_column)
        object.__setattr__(self, "_table", _QuantileTable(laws[:, 0].copy(), laws[:, 1].copy(), int(L)))
        object.__setattr__(self, "_row_start", row_start)

    @property
    def alpha(self) -> FloatArray:
        """The first Beta shape μκ, shape (S, K)."""
        return self.mean * np.asarray(self.concentration)

    @property
    def beta(self) -> FloatArray:
        """The second Beta shape (1 − μ)κ, shape (S, K)."""
        return (1.0 - self.mean) * np.asarray(self.concentration)

    @property
    def quantiles(self) -> FloatArray:
        """The knots Q_{s,k}(j/L), j = 0..L, of the quantile sampler, shape (S, K, L + 1).

        Built (and cached) on first use, as for a quantile draw; a new array on every call.
        """
        knots, _ = self._table.knots_and_slopes
        rows = self._row_start.T.astype(np.intp)[..., None] + np.arange(self.resolution + 1)
        return knots[rows]

    def for_society(self, society: Society) -> BetaBids:
        """One column per bidder; clones share (μ, κ) and draw their own noise (and the quantile table)."""
        cols = _columns_for(self.n_bidders, society, "the Beta mean")
        if cols.size == self.n_bidders:
            return self
        bound = BetaBids(self.mean[:, cols], np.asarray(self.concentration)[:, cols], self.sampler, self.resolution)
        # Every primitive column reappears (M = N·clones >= N), so the distinct laws, sorted by
        # np.unique, are the same: share the table (and its lazily built quantiles).
        object.__setattr__(bound, "_table", self._table)
        return bound

    def sample(self, states: IntArray, rng: np.random.Generator) -> FloatArray:
        """Independent Beta bids for every bidder at each state, shape (B, K), in [0, 1] (tiny shapes round)."""
        s = _states(states, self.n_states)
        if self.sampler == "exact":
            alpha_T, beta_T = self._by_column
            return rng.beta(np.take(alpha_T, s, axis=1), np.take(beta_T, s, axis=1)).T
        knots, slopes = self._table.knots_and_slopes
        pos = rng.random((self.n_bidders, s.size))  # u ~ U[0, 1), one per bidder and state
        pos *= self.resolution  # L·u
        pos += np.take(self._row_start, s, axis=1)  # row start + L·u: integer part = table entry of cell k
        k = pos.astype(np.intp)
        pos -= k  # the fraction f = L·u − k
        x = slopes[k]
        x *= pos
        x += knots[k]  # Q_k + f·(Q_{k+1} − Q_k)
        return x.T


# ---------------------------------------------------------------------------- Gaussian
@dataclass(frozen=True, eq=False)
class GaussianBids(_ParameterTable):
    """Gaussian bids: bidder k at state s bids ``mean[s, k] + std[s, k]·ε`` with ε ~ N(0, 1).

    Parameters
    ----------
    mean : array (S, K)
    std : float or array (S, K)
        Standard deviation >= 0 (0 gives the table ``mean``, still drawing noise).
    """

    mean: FloatArray
    std: FloatArray | float
    _by_column: tuple[FloatArray, FloatArray] = field(init=False, repr=False)
    _PARAMS: ClassVar[str] = "mean"

    def __post_init__(self) -> None:
        mean = _table(self.mean, "mean").copy()
        std = _like(self.std, mean.shape, "std").copy()
        if (std < 0).any():
            s, k = (int(i) for i in np.argwhere(std < 0)[0])
            raise ValueError(f"std[{s}, {k}] = {float(std[s, k])!r}; a standard deviation must be >= 0.")
        by_column = (np.ascontiguousarray(mean.T), np.ascontiguousarray(std.T))
        _frozen(mean, std, *by_column)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)
        object.__setattr__(self, "_by_column", by_column)

    def for_society(self, society: Society) -> GaussianBids:
        """One column per bidder; clones share (mean, std) and draw their own noise."""
        cols = _columns_for(self.n_bidders, society, "the Gaussian mean")
        if cols.size == self.n_bidders:
            return self
        return GaussianBids(self.mean[:, cols], np.asarray(self.std)[:, cols])

    def sample(self, states: IntArray, rng: np.random.Generator) -> FloatArray:
        """Independent Gaussian bids for every bidder at each state, shape (B, K)."""
        s = _states(states, self.n_states)
        mean_T, std_T = self._by_column
        noise = rng.standard_normal((self.n_bidders, s.size))
        noise *= np.take(std_T, s, axis=1)
        noise += np.take(mean_T, s, axis=1)
        return noise.T


# ---------------------------------------------------------------------------- conversion
def as_bid_source(bidders: Any, society: Society, n_states: int) -> BidSource:
    """The bid source :func:`mechanism.rollout` uses: one column per bidder of ``society``.

    Parameters
    ----------
    bidders : array (S, N) or (S, M), or a bid source
        An array is a deterministic :class:`TableBids`. A source with a ``for_society`` method
        (the built-in ones) is bound to the society; any other :class:`BidSource` is used as is
        and must itself return (B, M) bids.
    society : Society
    n_states : int
        S of the MDP; a table or parametric source must cover exactly S states.
    """
    if isinstance(bidders, np.ndarray | list | tuple):
        bidders = TableBids(np.asarray(bidders))
    if not isinstance(bidders, BidSource):
        raise TypeError(
            f"bidders must be a bid table (S, N) or (S, M) or an object with sample(states, rng) -> (B, M); "
            f"got {type(bidders).__name__}."
        )
    n = getattr(bidders, "n_states", None)
    if n is not None and n != n_states:
        raise ValueError(f"the bid source covers {n} states but the MDP has {n_states}; give one row per state.")
    bind = getattr(bidders, "for_society", None)
    return bind(society) if callable(bind) else bidders
