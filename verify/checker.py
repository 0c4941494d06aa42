"""`check`: claims for a mechanism, cloned and solitary, each a verdict; a check that cannot run is an error verdict.

Run on the built-ins it reproduces DESIGN §1's verdict table by computation (the test suite
checks that it does); nothing here knows what any verdict should be.
"""

from __future__ import annotations

import dataclasses
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from mechanism.market import Mechanism, MechanismError
from mechanism.registry import resolve_mechanism
from verify.claims import CLAIMS, DEFAULT_BUDGET
from verify.domains import current_domain, resolve_domain, using_domain
from verify.search import check_budget
from verify.verdicts import Claim, Verdict, describe_error, error_verdict, mechanism_fault

__all__ = ["check", "resolve_claims", "resolve_clones", "resolve_mechanism"]


def resolve_claims(claims: Sequence[str | Claim] | None) -> list[Claim]:
    """The claims to check: names in :data:`verify.CLAIMS` and/or :class:`Claim` objects.

    None: the default claims (``Claim.default``: DESIGN §1's table), in table order; a claim
    marked non-default (``bids_converge``, which trains societies) runs only when named.
    """
    if claims is None:
        return [c for c in CLAIMS.values() if c.default]
    if isinstance(claims, str | Claim):
        raise TypeError(
            f"claims must be a list of claim names or Claim objects, not a single {type(claims).__name__}; "
            f"write claims=[{claims.name if isinstance(claims, Claim) else claims!r}]."
        )
    if not isinstance(claims, Iterable):
        raise TypeError(f"claims must be a list of claim names or Claim objects; got {type(claims).__name__}.")
    resolved: list[Claim] = []
    for c in claims:
        if isinstance(c, Claim):
            resolved.append(c)
        elif isinstance(c, str) and c in CLAIMS:
            resolved.append(CLAIMS[c])
        else:
            raise ValueError(f"unknown claim {c!r} in claims; known: {', '.join(CLAIMS)} (or a verify.Claim object).")
    if not resolved:
        raise ValueError(f"claims is empty; pass None for every claim, or some of: {', '.join(CLAIMS)}.")
    names = [c.name for c in resolved]
    if len(set(names)) != len(names):
        raise ValueError(f"claims names a claim twice: {names}; each claim is checked once per clone setting.")
    return resolved


def resolve_clones(clones: Any) -> list[int]:
    """Clone settings as a non-empty list of ints >= 1, or a TypeError/ValueError saying what to pass."""
    example = "e.g. clones=(1, 2): 1 = solitary, 2 = cloned"
    if isinstance(clones, str | bytes) or not isinstance(clones, Iterable):
        raise TypeError(f"clones must be a list of ints ({example}); got {clones!r}.")
    settings = list(clones)
    bad = [c for c in settings if isinstance(c, bool) or not isinstance(c, int | np.integer) or c < 1]
    if bad:
        raise ValueError(f"clones must hold ints >= 1 ({example}); got {bad[0]!r} in {settings!r}.")
    if not settings:
        raise ValueError(f"clones is empty; give at least one clone setting ({example}).")
    return [int(c) for c in settings]


def _run_claim(claim: Claim, mech: Mechanism, clones: int, budget: int, seed: int) -> Verdict:
    """``claim.check`` with any exception turned into an error verdict (a user mechanism may raise anything).

    The verdict is stamped with the claim's name and title (a user's check may leave them out).
    """
    t0 = time.perf_counter()
    try:
        verdict = claim.check(mech, clones, budget, seed)
    except MechanismError as err:
        return error_verdict(claim, mech.name, clones, describe_error(err), budget, seed, t0)
    except Exception as err:
        frame = traceback.extract_tb(err.__traceback__)[-1]
        where = f" (raised at {frame.filename}:{frame.lineno})"
        return error_verdict(claim, mech.name, clones, describe_error(err) + where, budget, seed, t0)
    if not isinstance(verdict, Verdict):
        error = f"TypeError: claim {claim.name!r} returned a {type(verdict).__name__}, not a verify.Verdict"
        return error_verdict(claim, mech.name, clones, error, budget, seed, t0)
    return dataclasses.replace(verdict, claim=claim.name, title=claim.title)


def _budget_of(claim: Claim, budget: int | None) -> Any:
    """The budget ``claim`` runs with: the caller's, else the claim's own, else :data:`DEFAULT_BUDGET`."""
    if budget is not None:
        return budget
    return claim.budget if claim.budget is not None else DEFAULT_BUDGET


def check(
    mechanism: Mechanism | str,
    clones: Iterable[int] = (1, 2),
    claims: Sequence[str | Claim] | None = None,
    budget: int | None = None,
    seed: int = 0,
    progress: Callable[[Verdict], None] | None = None,
    domain: str = "mdps",
) -> list[Verdict]:
    """Check claims for ``mechanism`` under each clone setting.

    At the start of each clone setting the mechanism's rules are validated
    (:func:`mechanism.validate_mechanism` with 2 and 4 primitives' worth of bidders): when a rule
    raises, returns NaN, a wrong shape or an invalid winner, or is not a function of the bids,
    every claim gets an *error* verdict (``holds = False``, ``error`` = ``"MechanismError: ..."``
    naming the function and what it returned), never ✓ or ✗. A claim whose check raises gets one
    too; the other claims still run.

    Parameters
    ----------
    mechanism : Mechanism or str
        A mechanism or a name in :data:`mechanism.MECHANISMS`.
    clones : iterable of int
        Clone settings to check (1 = solitary, 2 = cloned), e.g. ``(1, 2)``.
    claims : sequence of str or Claim, optional
        Names in :data:`verify.CLAIMS` and/or :class:`verify.Claim` objects (user claims);
        default every *default* claim of :data:`verify.CLAIMS` (DESIGN §1's table), in table
        order. ``bids_converge`` (it trains societies) runs only when named.
    budget : int, optional
        Generated cases per claim and clone setting; default each claim's own ``Claim.budget``,
        else :data:`verify.search.DEFAULT_BUDGET`.
    seed : int
        Seed of every search; the same seed gives the same verdicts and counterexamples.
    progress : callable, optional
        Called with each verdict as soon as it is ready (the CLI's progress bar).
    domain : {"mdps", "options"}
        The MDPs the claims search (:mod:`verify.domains`): generated MDPs whose primitives are
        literal actions (default), or the exact semi-MDPs of generated options over them
        (primitives that run τ >= 1 steps). The one-auction claim (``truthful``) is the same on both.

    Returns
    -------
    list of Verdict
        One per (clones, claim), clone settings outermost. ``verdict.ran`` is False for the
        error verdicts.

    Examples
    --------
    >>> import verify
    >>> [(v.claim, v.holds) for v in verify.check("ccv", clones=[2], claims=["truthful"], budget=10)]
    [('truthful', True)]
    """
    mech = resolve_mechanism(mechanism)
    chosen = resolve_claims(claims)
    settings = resolve_clones(clones)
    budgets = {claim.name: check_budget(_budget_of(claim, budget), seed)[0] for claim in chosen}
    seed = check_budget(DEFAULT_BUDGET, seed)[1]
    with using_domain(resolve_domain(domain)):
        return _check_all(mech, chosen, settings, budgets, seed, progress)


def _check_all(
    mech: Mechanism,
    chosen: Sequence[Claim],
    settings: Sequence[int],
    budgets: dict[str, int],
    seed: int,
    progress: Callable[[Verdict], None] | None,
) -> list[Verdict]:
    verdicts: list[Verdict] = []
    for c in settings:
        t0 = time.perf_counter()
        fault = mechanism_fault(mech, c)
        for claim in chosen:
            n = budgets[claim.name]
            if fault is not None:
                verdict = error_verdict(claim, mech.name, c, describe_error(fault), n, seed, t0)
            else:
                verdict = _run_claim(claim, mech, c, n, seed)
            verdict = dataclasses.replace(verdict, domain=current_domain().name)
            verdicts.append(verdict)
            if progress is not None:
                progress(verdict)
    return verdicts
