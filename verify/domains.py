"""The MDP domains the claim checker searches: literal actions, or semi-MDPs of options.

A claim about a society (DESIGN §1) is a claim about every MDP its primitives act in. The
default domain, ``"mdps"``, draws generated MDPs whose primitives are literal actions
(:func:`verify.strategies.finite_mdps`). The ``"options"`` domain draws the same base MDPs and
2-3 generated options over each, and checks the claim on their exact semi-MDP
(:func:`verify.strategies.options_mdps`, :func:`tasks.options_mdp`): primitives that run for
τ >= 1 steps, paid the discounted reward they collect and credited γ^τ·lookahead. Every claim
runs unchanged on either; :func:`verify.check` picks the domain (``domain=``), and the searches
read it from :func:`current_domain`.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tasks.mdp import FiniteMDP
from verify.strategies import finite_mdps, options_mdps

__all__ = ["DOMAINS", "Domain", "current_domain", "generated_mdps", "resolve_domain", "using_domain"]


@dataclass(frozen=True)
class Domain:
    """Where a claim's MDPs come from.

    Attributes
    ----------
    name : str
        ``"mdps"`` or ``"options"`` (the key of :data:`DOMAINS`).
    description : str
        One line for a verdict's "searched" text.
    strategy : callable
        Called with :func:`~verify.strategies.finite_mdps`'s keywords (which shape the base MDP);
        returns a hypothesis strategy of MDPs.
    battery : tuple of str or None
        The named tasks every MDP claim runs first (:func:`verify.search.battery`); None: the
        claim's own (the paper's bandit, chain, duality).
    """

    name: str
    description: str
    strategy: Callable[..., st.SearchStrategy[FiniteMDP]]
    battery: tuple[str, ...] | None


#: The domains by name.
DOMAINS: dict[str, Domain] = {
    "mdps": Domain("mdps", "generated MDPs, literal actions as primitives", finite_mdps, None),
    "options": Domain(
        "options",
        "semi-MDPs of 2-3 generated options (stochastic policies, stop probabilities 0, 1/2, 1, initiation sets) "
        "over the generated base MDPs, solved exactly",
        options_mdps,
        ("chain-options", "duality-options"),
    ),
}

_CURRENT: contextvars.ContextVar[Domain] = contextvars.ContextVar("agora_domain", default=DOMAINS["mdps"])


def resolve_domain(domain: Any) -> Domain:
    """A :class:`Domain` from its name (or itself); a ValueError names the choices."""
    if isinstance(domain, Domain):
        return domain
    if not isinstance(domain, str) or domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; choose one of {', '.join(DOMAINS)}.")
    return DOMAINS[domain]


def current_domain() -> Domain:
    """The domain the running check searches (``"mdps"`` unless :func:`using_domain` says otherwise)."""
    return _CURRENT.get()


@contextlib.contextmanager
def using_domain(domain: str | Domain) -> Iterator[Domain]:
    """Run the claims inside the ``with`` block on ``domain``."""
    token = _CURRENT.set(resolve_domain(domain))
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)


def generated_mdps(**kwargs: Any) -> st.SearchStrategy[FiniteMDP]:
    """The current domain's MDPs, their base shaped by :func:`~verify.strategies.finite_mdps`'s ``kwargs``."""
    return current_domain().strategy(**kwargs)
