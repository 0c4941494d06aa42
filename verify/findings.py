"""A finding beyond the paper: how often the solitary ccv society's truthful fixed point is suboptimal.

Distribution (stated, reproducible): ``n`` MDPs from :func:`tasks.random_mdp` with S uniform in
{2, ..., 6}, A uniform in {2, 3}, γ = 0.9, flat-Dirichlet transition rows over all states,
rewards uniform in [0, 1), no terminal states; every draw comes from ``numpy.random.default_rng(seed)``.
For each MDP the solitary ccv fixed point (:func:`verify.truthful_fixed_point`, ``clones=1``) is
computed, its greedy policy evaluated (:func:`verify.evaluate`), and compared with V*
(:func:`verify.solve`): suboptimal *from the start* when ``start·(V* − V^π) > tol`` with
``tol = 1e-8·max(1, max R)/(1 − γ)``, and suboptimal *anywhere* when some state falls short by more.
The smallest example is the shrunk counterexample of :func:`verify.claims.fixed_point_optimal`.

A suboptimal policy could be a tie-break artifact: where the best two primitives bid the same,
the auction gives the state to the lower index (the smallest example above is one: both bids 0).
So the counts are repeated under the *strict* condition that the fixed point's top bid is unique
at every non-terminal state: its ``top_margin`` (best primitive's bid minus the best other one,
:func:`verify.claims.fixed_point_shortfall`) exceeds the same ``tol`` everywhere. The smallest
strict example is the shrunk counterexample of ``fixed_point_optimal(..., strict_ties=True)``;
it carries Q* and the margins, so it can be checked by hand.

Run: ``python -m verify.findings`` (prints the numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import tasks
from mechanism.registry import MECHANISMS
from verify.claims import TOL_VALUE, Counterexample, fixed_point_optimal, fixed_point_shortfall
from verify.transform import rescale_rewards

__all__ = ["CcvFinding", "FarsightedFinding", "FarsightedRow", "farsighted_finding", "solitary_ccv_suboptimality"]


@dataclass(frozen=True, eq=False)
class CcvFinding:
    """How often solitary ccv's fixed point is suboptimal over the stated distribution."""

    n: int
    seed: int
    suboptimal_from_start: int
    suboptimal_anywhere: int
    mean_start_shortfall: float
    worst_start_shortfall: float
    smallest: Counterexample | None
    distribution: str
    strict_from_start: int  #: suboptimal from the start with a unique top bid at every non-terminal state
    strict_anywhere: int  #: suboptimal at some state with a unique top bid at every non-terminal state
    with_ties: int  #: MDPs whose fixed point has a tie (margin <= tol) at some non-terminal state
    smallest_margin: float  #: the least top margin among the strict suboptimal-from-start MDPs (inf if none)
    smallest_strict: Counterexample | None  #: the shrunk strict counterexample (no tie decides the policy)

    def __str__(self) -> str:
        return (
            f"{self.distribution}\n"
            f"solitary ccv fixed point suboptimal from the start in {self.suboptimal_from_start}/{self.n} "
            f"({100 * self.suboptimal_from_start / self.n:.1f}%), at some state in {self.suboptimal_anywhere}/{self.n} "
            f"({100 * self.suboptimal_anywhere / self.n:.1f}%); mean start shortfall {self.mean_start_shortfall:.4g}, "
            f"worst {self.worst_start_shortfall:.4g}\n"
            f"not a tie artifact (top bid unique at every state, margin > tol): suboptimal from the start in "
            f"{self.strict_from_start}/{self.n} ({100 * self.strict_from_start / self.n:.1f}%), at some state in "
            f"{self.strict_anywhere}/{self.n} ({100 * self.strict_anywhere / self.n:.1f}%); "
            f"{self.with_ties}/{self.n} fixed points have a tie; the least top margin among the strict ones "
            f"suboptimal from the start is {self.smallest_margin:.3g}\n"
            f"smallest example (shrunk):\n{self.smallest}\n"
            f"smallest example with a unique top bid at every state (shrunk):\n{self.smallest_strict}"
        )


def solitary_ccv_suboptimality(n: int = 1000, seed: int = 0, gamma: float = 0.9, budget: int = 200) -> CcvFinding:
    """Count suboptimal solitary-ccv fixed points over ``n`` random MDPs (module docstring); same seed, same numbers."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int; got {n!r}.")
    rng = np.random.default_rng(seed)
    ccv = MECHANISMS["ccv"]
    start_short, anywhere, strict_start, strict_anywhere, with_ties, least_margin = [], 0, 0, 0, 0, np.inf
    for _ in range(n):
        S, A = int(rng.integers(2, 7)), int(rng.integers(2, 4))
        mdp = tasks.random_mdp(S, A, gamma=gamma, seed=rng)
        res = fixed_point_shortfall(mdp, ccv, 1)
        tol = TOL_VALUE * max(1.0, float(np.max(np.abs(mdp.R)))) / (1.0 - gamma)
        start_short.append(res["start_shortfall"])
        unique = bool(res["top_margin"].min() > tol)
        with_ties += not unique
        anywhere += bool(res["shortfall"].max() > tol)
        strict_anywhere += unique and bool(res["shortfall"].max() > tol)
        if unique and res["start_shortfall"] > tol:
            strict_start += 1
            least_margin = min(least_margin, float(res["top_margin"].min()))
    short = np.asarray(start_short)
    tol = TOL_VALUE / (1.0 - gamma)
    smallest = fixed_point_optimal(ccv, 1, budget, seed).counterexample
    smallest_strict = fixed_point_optimal(ccv, 1, budget, seed, strict_ties=True).counterexample
    return CcvFinding(
        n=n,
        seed=seed,
        suboptimal_from_start=int((short > tol).sum()),
        suboptimal_anywhere=anywhere,
        mean_start_shortfall=float(short.mean()),
        worst_start_shortfall=float(short.max()),
        smallest=smallest,
        strict_from_start=strict_start,
        strict_anywhere=strict_anywhere,
        with_ties=with_ties,
        smallest_margin=least_margin,
        smallest_strict=smallest_strict,
        distribution=(
            f"{n} MDPs from tasks.random_mdp: S ~ U{{2..6}}, A ~ U{{2, 3}}, gamma = {gamma}, Dirichlet(1) rows, "
            f"R ~ U[0, 1), no terminals, start uniform; numpy default_rng({seed})"
        ),
    )


# ---------------------------------------------------------------------------------------------- farsighted
@dataclass(frozen=True, eq=False)
class FarsightedRow:
    """One society of :func:`farsighted_finding`: how often its Q* profile is not a (farsighted) equilibrium."""

    mechanism: str
    clones: int
    not_equilibrium: int  #: MDPs where some bidder gains more than tol from some first state (farsighted)
    myopic_not_equilibrium: int  #: MDPs where some bidder gains more than tol in one auction (myopic)
    mean_gain: float  #: mean over the n MDPs of the largest farsighted gain (``NashConv.worst``)
    max_gain: float  #: its maximum
    mean_nash_conv: float  #: mean over the n MDPs of NashConv from the start distribution


@dataclass(frozen=True, eq=False)
class FarsightedFinding:
    """Per society, over the stated distribution: is the Q* profile a farsighted equilibrium?"""

    n: int
    seed: int
    bid_range: tuple[float, float]
    rows: tuple[FarsightedRow, ...]
    distribution: str

    def __str__(self) -> str:
        head = (
            f"{'society':<14} {'clones':>6} {'not farsighted eq.':>19} {'not myopic eq.':>15} "
            f"{'mean gain':>10} {'max gain':>10}"
        )
        lines = [self.distribution, head]
        for r in self.rows:
            lines.append(
                f"{r.mechanism:<14} {r.clones:>6} {f'{r.not_equilibrium}/{self.n}':>19} "
                f"{f'{r.myopic_not_equilibrium}/{self.n}':>15} {r.mean_gain:>10.4g} {r.max_gain:>10.4g}"
            )
        return "\n".join(lines)


def _farsighted_row(
    name: str, clones: int, mdps: list[tasks.FiniteMDP], Qs: list[np.ndarray], bid_range: tuple[float, float]
) -> FarsightedRow:
    """One society's counts over the MDPs, at the profiles ``bids[s, m] = Q[s, m % A]``."""
    from verify.best_response import nash_conv
    from verify.exploitability import exploitability

    worst, conv, myopic, far = [], [], 0, 0
    for mdp, Q in zip(mdps, Qs, strict=True):
        bids = Q[:, np.arange(mdp.n_actions * clones) % mdp.n_actions]
        tol = TOL_VALUE * max(1.0, float(np.max(np.abs(mdp.R)))) / (1.0 - mdp.gamma)
        nc = nash_conv(mdp, bids, MECHANISMS[name], clones, bid_range=bid_range)
        worst.append(nc.worst)
        conv.append(nc.nash_conv)
        far += nc.worst > tol
        myopic += exploitability(mdp, bids, MECHANISMS[name], clones, bid_range=bid_range).value > tol
    return FarsightedRow(
        name, clones, int(far), int(myopic), float(np.mean(worst)), float(np.max(worst)), float(np.mean(conv))
    )


def farsighted_finding(
    n: int = 100,
    seed: int = 0,
    gamma: float = 0.9,
    bid_range: tuple[float, float] = (0.0, 1.0),
    mechanisms: tuple[str, ...] = ("vickrey", "ccv", "first_price", "env_reward"),
    clones: tuple[int, ...] = (1, 2),
) -> FarsightedFinding:
    """Count, per society, the random MDPs where "every bidder bids Q*" is not a farsighted equilibrium.

    Distribution: the one of :func:`solitary_ccv_suboptimality` (``n`` MDPs from
    :func:`tasks.random_mdp`, S uniform in {2..6}, A in {2, 3}, flat-Dirichlet rows, γ = ``gamma``,
    drawn in order from ``numpy.random.default_rng(seed)``), each with its rewards rescaled by
    :func:`verify.rescale_rewards` ``(mdp, 0, 1)`` so that Q* lies in the bid range [0, 1] (the
    optimal policy is unchanged). The profile is ``bids[s, m] = Q*(s, m % A)``; it is *not* a
    farsighted equilibrium when :func:`verify.best_response.nash_conv` finds a bidder that gains
    more than ``tol = 1e-8·max(1, max|R|)/(1 − γ)`` from some non-terminal first state
    (``NashConv.worst > tol``), deviations confined to ``bid_range``. The myopic count uses
    :func:`verify.exploitability.exploitability` with the same range and tolerance. Same seed, same numbers.
    """
    from verify.solve import solve

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int; got {n!r}.")
    rng = np.random.default_rng(seed)
    mdps = []
    for _ in range(n):
        S, A = int(rng.integers(2, 7)), int(rng.integers(2, 4))
        mdps.append(rescale_rewards(tasks.random_mdp(S, A, gamma=gamma, seed=rng), 0.0, 1.0))
    profiles = [solve(mdp).Q for mdp in mdps]
    rows = tuple(_farsighted_row(name, c, mdps, profiles, bid_range) for name in mechanisms for c in clones)
    return FarsightedFinding(
        n=n,
        seed=seed,
        bid_range=bid_range,
        rows=rows,
        distribution=(
            f"{n} MDPs from tasks.random_mdp: S ~ U{{2..6}}, A ~ U{{2, 3}}, gamma = {gamma}, Dirichlet(1) rows, "
            f"rewards rescaled so that Q* spans [0, 1], no terminals; numpy default_rng({seed}); "
            f"bids Q*(s, m % A); deviations in {list(bid_range)}; tol 1e-8*max(1, max|R|)/(1 - gamma)"
        ),
    )


if __name__ == "__main__":
    print(solitary_ccv_suboptimality())
