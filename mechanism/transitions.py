"""The one transition sampler: s' ~ P(· | s, a) and s_0 ~ start, for dense and CSR kernels alike.

The kernel, dense or CSR, is compressed once per MDP into its non-zero support per (s, a) row,
and a guide table (a few vectorised steps instead of a binary search over the row) finds the
first cumulative value above one uniform per draw. Dense and sparse forms of the same kernel
therefore give the same draws for the same generator, bit for bit, and a sparse kernel is never
densified: the work per draw does not grow with S or A. Where nothing is random (a deterministic
successor of every (s, a), a single start state) no uniform is drawn, which keeps the generator
for what is random. Used by :func:`mechanism.rollout` and :func:`mechanism.train`.
"""

from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from tasks.mdp import FiniteMDP

__all__ = ["Transitions", "transitions"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


@dataclass(frozen=True)
class _Sampler:
    """Inverse-transform sampling of s' ~ P(· | row) with a guide table (Chen & Asau 1974).

    Per (s, a) row r: the successors with positive probability and their cumulative sums
    ``cum[indptr[r]:indptr[r+1]]``, non-decreasing, the last set to +inf so that a uniform that
    rounding leaves above the row's sum (1 − ε) still lands on the last successor. The sample for
    u ∈ [0, 1) is the first position k of the row with ``cum[k] > u``.

    The guide splits [0, 1) into G_r = 2^g ≥ 4·width cells (≥ width for very large kernels);
    ``guide[start[r] + j]`` is the first k with cum[k] > j/G_r, where every u of cell
    j = ⌊u·G_r⌋ starts its search (G_r·u and j/G_r are exact in floating point, so the answer is
    the same as a binary search over the whole row, bit for bit). The answer lies at most
    ``span`` positions further; a cell rarely holds more than a few cumulative sums, so ``span``
    forward steps ``k += cum[k] <= u`` finish the search (or a binary search between consecutive
    guide entries, when a row crowds many tiny probabilities into one cell and that is cheaper).
    """

    cum: FloatArray
    successors: IntArray
    cells: FloatArray  # G_r per row
    start: IntArray  # where row r's G_r + 1 guide entries start
    guide: IntArray
    span: int
    deterministic: bool  # every (s, a) row has a single successor

    def __call__(self, rows: IntArray, u: FloatArray) -> IntArray:
        """The first position k in each row's slice with cum[k] > u: s' ~ P(· | row)."""
        j = np.take(self.cells, rows)
        j *= u
        cell = j.astype(np.intp)  # ⌊G_r·u⌋, exact
        cell += np.take(self.start, rows)
        k = np.take(self.guide, cell)
        depth = _depth(self.span)
        if self.span <= 2 * depth:
            for _ in range(self.span):
                k += self.cum[k] <= u
        else:
            hi = np.take(self.guide, cell + 1)
            for _ in range(depth):
                mid = (k + hi) >> 1
                right = self.cum[mid] <= u
                k = np.where(right, mid + 1, k)
                hi = np.where(right, hi, mid)
        return np.take(self.successors, k)


def _depth(span: int) -> int:
    """Bisection steps that shrink an interval of ``span + 1`` candidates to one."""
    return int(span).bit_length()


def _row_cumsum(indptr: IntArray, data: FloatArray) -> FloatArray:
    """Sequential cumulative sum within each CSR row (exact: the same additions as np.cumsum)."""
    cum = np.empty_like(data)
    for lo, hi in itertools.pairwise(indptr):
        np.cumsum(data[lo:hi], out=cum[lo:hi])
    return cum


#: Kernels with at most this many non-zeros get G_r >= 4·width guide cells per row (a span of a few
#: steps); larger ones G_r >= width, so that the guide stays within 2 entries per non-zero.
_GUIDE_SPREAD_UP_TO = 2**22

def _build_sampler(mdp: FiniteMDP) -> _Sampler:
    K = sp.csr_array(mdp.kernel, copy=True)
    K.eliminate_zeros()
    K.sort_indices()
    indptr = np.asarray(K.indptr, dtype=np.intp)
    data = np.asarray(K.data, dtype=np.float64)
    if mdp.is_sparse:
        cum = _row_cumsum(indptr, data)
    else:
        # A dense row's cumsum equals the cumsum of its non-zeros at their positions: x + 0.0 == x.
        dense = mdp.kernel
        cum = np.cumsum(dense, axis=1)[dense > 0]
    cum[indptr[1:] - 1] = np.inf

    # The guide: row r owns entries start[r] .. start[r] + G_r. Entry j < G_r is indptr[r] plus the
    # number of the row's sums with cum[k] <= j/G_r, i.e. with ⌈G_r·cum[k]⌉ <= j; entry G_r is the
    # row's last position (its +inf). Built as one cumulative sum of its increments.
    width = np.diff(indptr)
    spread = 4 if cum.size <= _GUIDE_SPREAD_UP_TO else 1
    cells = np.left_shift(1, np.ceil(np.log2(spread * width)).astype(np.intp))
    start = np.concatenate([[0], np.cumsum(cells + 1)[:-1]])
    last = start + cells
    first = np.ceil(cum * np.repeat(cells, width))  # the first cell each sum counts in (+inf: none)
    counted = first < np.repeat(cells, width)
    at = np.repeat(start, width)[counted] + first[counted].astype(np.intp)
    increments = np.bincount(at, minlength=int(last[-1]) + 1)
    increments[start[1:]] += 1  # from the previous row's last position to this row's start
    increments[last] = width - 1 - np.add.reduceat(counted, indptr[:-1])
    guide = np.cumsum(increments)
    steps = np.diff(guide)
    steps[last[:-1]] = 0  # from a row's last entry to the next row's first: not a cell
    span = int(steps.max()) if steps.size else 0
    successors = np.asarray(K.indices, dtype=np.intp)
    return _Sampler(cum, successors, cells.astype(np.float64), start, guide, span, bool(np.all(width == 1)))



@dataclass(frozen=True, eq=False)
class Transitions:
    """Draws of successors and start states for one MDP (build with :func:`transitions`)."""

    sampler: _Sampler
    only_successor: IntArray | None  #: (S·A,) the successor of each row when every row has one, else None
    start_cum: FloatArray  #: cumulative start distribution, +inf from the last start state on
    start_state: int  #: the start state when there is only one, else −1

    def successor(self, rows: IntArray, rng: np.random.Generator) -> IntArray:
        """s' ~ P(· | row) for flat rows ``s·A + a`` of any shape; one uniform per draw (none if deterministic)."""
        rows = np.asarray(rows, dtype=np.intp)
        if self.only_successor is not None:
            return np.take(self.only_successor, rows)
        return self.sampler(rows, rng.random(rows.shape))

    def start(self, shape: tuple[int, ...], rng: np.random.Generator) -> IntArray:
        """s_0 ~ start, an int array of ``shape``; one uniform per draw (none with a single start state)."""
        if self.start_state >= 0:
            return np.full(shape, self.start_state, dtype=np.intp)
        return np.searchsorted(self.start_cum, rng.random(shape), side="right").astype(np.intp)


#: One Transitions per MDP, built on first use and kept while the MDP lives (a FiniteMDP is immutable).
_CACHE: weakref.WeakKeyDictionary[FiniteMDP, Transitions] = weakref.WeakKeyDictionary()


def transitions(mdp: FiniteMDP) -> Transitions:
    """The transition and start sampler of ``mdp`` (built once per MDP, then cached)."""
    cached = _CACHE.get(mdp)
    if cached is None:
        sampler = _build_sampler(mdp)
        only = sampler.successors if sampler.deterministic else None
        start = np.asarray(mdp.start, dtype=np.float64)
        support = np.flatnonzero(start > 0)
        cum = np.cumsum(start)
        cum[support[-1] :] = np.inf
        cached = _CACHE[mdp] = Transitions(sampler, only, cum, int(support[0]) if support.size == 1 else -1)
    return cached
