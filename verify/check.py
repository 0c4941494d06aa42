"""`check`: every claim for a mechanism, cloned and solitary, each a verdict; a raising check is a failed verdict.

Run on the built-ins it reproduces DESIGN §1's verdict table by computation (the test suite
checks that it does); nothing here knows what any verdict should be.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable, Sequence

from mechanism.market import Mechanism
from mechanism.registry import resolve_mechanism
from verify.claims import CLAIMS, DEFAULT_BUDGET, Verdict, _check_budget

__all__ = ["check", "resolve_mechanism"]


def check(
    mechanism: Mechanism | str,
    clones: Iterable[int] = (1, 2),
    claims: Sequence[str] | None = None,
    budget: int = DEFAULT_BUDGET,
    seed: int = 0,
    progress: Callable[[Verdict], None] | None = None,
) -> list[Verdict]:
    """Check every claim for ``mechanism`` under each clone setting.

    Parameters
    ----------
    mechanism : Mechanism or str
        A mechanism or a name in :data:`mechanism.MECHANISMS`.
    clones : iterable of int
        Clone settings to check (1 = solitary, 2 = cloned).
    claims : sequence of str, optional
        Names in :data:`verify.CLAIMS`; default all of them, in table order.
    budget : int
        Generated cases per claim and clone setting.
    seed : int
        Seed of every search; the same seed gives the same verdicts and counterexamples.
    progress : callable, optional
        Called with each verdict as soon as it is ready (the CLI's progress bar).

    Returns
    -------
    list of Verdict
        One per (clones, claim), clone settings outermost. A claim whose check raises (a user
        mechanism that fails on some input) gives ``holds = False`` with ``error`` set; the
        other verdicts are unaffected.
    """
    mech = resolve_mechanism(mechanism)
    budget, seed = _check_budget(budget, seed)
    names = list(CLAIMS) if claims is None else list(claims)
    unknown = [n for n in names if n not in CLAIMS]
    if unknown:
        raise ValueError(f"unknown claim(s) {unknown}; known: {', '.join(CLAIMS)}.")
    settings_ = [int(c) for c in clones]
    if not settings_ or any(c < 1 for c in settings_):
        raise ValueError(f"clones must be a non-empty list of ints >= 1; got {list(settings_)}.")
    verdicts: list[Verdict] = []
    for c in settings_:
        for name in names:
            t0 = time.perf_counter()
            try:
                verdict = CLAIMS[name](mech, c, budget, seed)
            except Exception as err:  # a user mechanism may raise anything; record it, keep the others
                frame = traceback.extract_tb(err.__traceback__)[-1]
                verdict = Verdict(
                    claim=name,
                    mechanism=mech.name,
                    clones=c,
                    holds=False,
                    counterexample=None,
                    examples_tried=0,
                    seed=seed,
                    budget=budget,
                    error=f"{type(err).__name__}: {err} (raised at {frame.filename}:{frame.lineno})",
                    seconds=time.perf_counter() - t0,
                )
            verdicts.append(verdict)
            if progress is not None:
                progress(verdict)
    return verdicts
