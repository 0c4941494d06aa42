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

__all__ = ["CcvFinding", "solitary_ccv_suboptimality"]


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


if __name__ == "__main__":
    print(solitary_ccv_suboptimality())
