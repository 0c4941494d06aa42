"""The search engine of the claim checker: generate cases cheaply and once, shrink only what fails.

A claim searches a :class:`Space` (a hypothesis strategy with a key) for a case its ``falsify``
function turns into a :class:`~verify.verdicts.Counterexample`. :func:`search` does it in two
steps:

1. **Generate.** :func:`generate` collects the first ``budget`` *distinct* cases hypothesis draws
   (:func:`hypothesis.find`, generate phase only, no database, seeded by ``seed``). The list is
   cached per ``(space.key, budget, seed)``, so every mechanism and every claim that searches the
   same space (the MDP claims all do) shares one generation. ``falsify`` then runs over the list
   in order, outside hypothesis: a claim that holds costs no more hypothesis time.
2. **Shrink**, only when some case fails. :func:`hypothesis.find` runs again with the same seed
   and the shrink phase: it regenerates the same cases up to the failing one (their answers are
   remembered, so ``falsify`` does not run again) and shrinks it, calling ``falsify`` on at most
   :func:`shrink_budget` new candidates; then the search stops at the smallest case found so
   far. If hypothesis's run does not reach a failing case, the generated one is reported
   unshrunk.

Both steps are functions of the seed, so the same seed gives the same verdict and the same
counterexample, bit for bit. :func:`search_mdps` adds the fixed battery of the paper's tasks
(:func:`battery`) in front of a search of generated MDPs.

Cost (bare `agora check`, 4 mechanisms x 2 clone settings x 5 claims at the default budget): about
18 s on a shared 2-core machine, most of it hypothesis shrinking the 19 counterexamples.
"""

from __future__ import annotations

import contextlib
import pickle
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

import tasks
from mechanism.market import Mechanism
from tasks.mdp import FiniteMDP
from verify.domains import current_domain
from verify.strategies import finite_mdps
from verify.transform import rescale_rewards
from verify.verdicts import Claim, Counterexample, Verdict

__all__ = [
    "DEFAULT_BUDGET",
    "MDP_SPACE",
    "SHRINK_BASE",
    "SHRINK_MAX",
    "SHRINK_PER_BUDGET",
    "Found",
    "Space",
    "battery",
    "chain_options",
    "check_budget",
    "check_society",
    "generate",
    "make_verdict",
    "mdp_space",
    "search",
    "search_mdps",
    "shrink_budget",
    "value_scale",
]

#: Generated cases per claim and society when none is given (keeps bare `agora check` well under a minute).
DEFAULT_BUDGET = 100
#: Shrinking may evaluate ``min(SHRINK_BASE + SHRINK_PER_BUDGET·budget, SHRINK_MAX)`` new cases (shrink_budget).
SHRINK_BASE = 60
SHRINK_PER_BUDGET = 1
SHRINK_MAX = 200
#: Raw hypothesis draws allowed per distinct case wanted (hypothesis repeats itself when it mutates).
RAW_PER_BUDGET = 4
#: Generated case lists kept in memory (a list of 100 small MDPs is a few hundred kB).
POOL_CACHE = 32


@dataclass(frozen=True)
class Space:
    """A search space: a hypothesis strategy and the key under which its generated cases are shared.

    Two spaces with the same ``key`` must build the same strategy: they share generated cases.
    """

    key: Hashable
    build: Callable[[], st.SearchStrategy[Any]]


class Found(NamedTuple):
    """What a search found: the (shrunk) counterexample or None, and the distinct cases examined."""

    counterexample: Counterexample | None
    tried: int


#: The generated MDPs every MDP claim searches: 1-4 states, 2-3 actions, dense or sparse, terminals.
MDP_SPACE = Space(
    ("mdps", 4, 2, 3),
    lambda: finite_mdps(dense=None, terminals=True, min_actions=2, max_actions=3, max_states=4),
)


def mdp_space() -> Space:
    """:data:`MDP_SPACE` in the current domain (:func:`verify.domains.current_domain`): its base MDPs, or those."""
    domain = current_domain()
    if domain.name == "mdps":
        return MDP_SPACE
    return Space(
        (domain.name, 4, 2, 3),
        lambda: domain.strategy(dense=None, terminals=True, min_actions=2, max_actions=3, max_states=4),
    )

_POOLS: OrderedDict[tuple[Hashable, int, int], tuple[tuple[bytes, Any], ...]] = OrderedDict()


def _settings(budget: int, phases: Sequence[Phase]) -> settings:
    return settings(
        max_examples=budget,
        database=None,
        deadline=None,
        derandomize=False,
        print_blob=False,
        verbosity=Verbosity.quiet,
        phases=list(phases),
        suppress_health_check=list(HealthCheck),
    )


def generate(space: Space, budget: int, seed: int) -> tuple[tuple[bytes, Any], ...]:
    """The first ``budget`` distinct cases hypothesis generates from ``space`` with this seed, in order.

    Hypothesis may draw the same case twice (it mutates earlier cases); up to
    ``RAW_PER_BUDGET·budget`` draws are made to collect ``budget`` distinct ones, fewer when the
    space is smaller. Returns ``(key, case)`` pairs, ``key`` the pickled case (what "distinct"
    means). Cached per ``(space.key, budget, seed)``.
    """
    cache_key = (space.key, budget, seed)
    if cache_key in _POOLS:
        _POOLS.move_to_end(cache_key)
        return _POOLS[cache_key]
    seen: dict[bytes, Any] = {}

    def record(case: Any) -> bool:
        seen.setdefault(pickle.dumps(case), case)
        return len(seen) >= budget  # "found": ends the generate phase

    with contextlib.suppress(NoSuchExample):  # fewer than `budget` distinct cases exist or were drawn
        config = _settings(RAW_PER_BUDGET * budget, [Phase.generate])
        find(space.build(), record, settings=config, random=random.Random(seed))
    pool = tuple(seen.items())
    _POOLS[cache_key] = pool
    if len(_POOLS) > POOL_CACHE:
        _POOLS.popitem(last=False)
    return pool


def search(space: Space, falsify: Callable[[Any], Counterexample | None], budget: int, seed: int) -> Found:
    """Search ``space`` for a case ``falsify`` breaks; shrink the first one found (module docstring)."""
    answers: dict[bytes, bool] = {}
    for tried, (key, case) in enumerate(generate(space, budget, seed), start=1):
        cx = falsify(case)
        answers[key] = cx is not None
        if cx is not None:
            return Found(_shrink(space, falsify, budget, seed, answers) or cx, tried)
    return Found(None, len(answers))


class _ShrinkBudgetSpent(BaseException):
    """Ends hypothesis's shrink phase early. A BaseException, so hypothesis does not take it for a failing case."""


def _shrink(
    space: Space,
    falsify: Callable[[Any], Counterexample | None],
    budget: int,
    seed: int,
    answers: dict[bytes, bool],
) -> Counterexample | None:
    """Hypothesis's shrink of the first failing case, with at most the shrink budget of new evaluations.

    Every case hypothesis accepts while shrinking is smaller (in its order) than the one before,
    so the last failing case seen is the smallest so far: when the budget is spent the search
    stops there instead of letting hypothesis try its remaining shrink passes.
    """
    left = [shrink_budget(budget)]
    smallest: list[Any] = []

    def condition(case: Any) -> bool:
        key = pickle.dumps(case)
        if key not in answers:
            if left[0] <= 0:
                raise _ShrinkBudgetSpent
            left[0] -= 1
            answers[key] = falsify(case) is not None
        if answers[key]:
            smallest[:] = [case]
        return answers[key]

    config = _settings(RAW_PER_BUDGET * budget, [Phase.generate, Phase.shrink])
    with contextlib.suppress(NoSuchExample, _ShrinkBudgetSpent):  # NoSuchExample: hypothesis took another path
        find(space.build(), condition, settings=config, random=random.Random(seed))
    return falsify(smallest[0]) if smallest else None


def shrink_budget(budget: int) -> int:
    """New cases shrinking may evaluate: ``min(SHRINK_BASE + SHRINK_PER_BUDGET·budget, SHRINK_MAX)``."""
    return min(SHRINK_BASE + SHRINK_PER_BUDGET * budget, SHRINK_MAX)


# ---------------------------------------------------------------------------------------------- MDPs
_BATTERY: dict[str, Callable[[], FiniteMDP]] = {
    "bandit": lambda: tasks.bandit(),
    "chain": lambda: tasks.chain(),
    "duality": lambda: tasks.duality(),
    "duality-rescaled": lambda: rescale_rewards(tasks.duality()),
    "chain-options": lambda: chain_options(),
    "duality-options": lambda: duality_options(),
}


def chain_options(n: int = 6) -> FiniteMDP:
    """The paper's chain with three options: one step left, one step right, and right until the goal.

    "Right until the goal" (β = 0 before the goal; it stops there, a terminal state) runs
    n − 1 − s steps from s and collects reward·γ^(n−2−s): the hand-checkable option of the tests.
    """
    mdp = tasks.chain(n)
    S = mdp.n_states
    until_goal = tasks.Option(np.ones(S, dtype=np.intp), np.zeros(S), name="right until the goal")
    return tasks.options_mdp(mdp, [*tasks.one_step_options(mdp), until_goal], name=f"chain(n={n}) options")


def duality_options() -> FiniteMDP:
    """The paper's duality task with three options: each action once, and the round trip 0 → 1 → 0.

    The round trip plays 1 at state 0 and 0 at state 1 and stops on reaching state 0 (β(0) = 1,
    β(1) = 0): from 0 it runs two steps and collects 0.5 + γ·0.5.
    """
    mdp = tasks.duality()
    trip = tasks.Option(np.array([1, 0, 0], dtype=np.intp), np.array([1.0, 0.0, 1.0]), name="round trip")
    return tasks.options_mdp(mdp, [*tasks.one_step_options(mdp), trip], name="duality options")



@lru_cache(maxsize=len(_BATTERY))
def _battery_task(name: str) -> FiniteMDP:
    return _BATTERY[name]()


def battery(names: Sequence[str]) -> list[tuple[str, FiniteMDP]]:
    """The paper's tasks by name: bandit, chain, duality (raw) and duality rescaled to [0, 1]."""
    return [(n, _battery_task(n)) for n in names]


def search_mdps(
    falsify_mdp: Callable[[FiniteMDP, str], Counterexample | None],
    names: Sequence[str],
    number: tuple[str, str],
    budget: int,
    seed: int,
) -> tuple[Found, str]:
    """Run a claim over MDPs: the battery ``names``, then a search of :data:`MDP_SPACE` (:func:`mdp_space`).

    In the options domain (:mod:`verify.domains`) the domain's battery replaces ``names``.

    Returns the search's result (its shrunk counterexample first, else the first battery one)
    and notes giving the number ``number = (label, key)`` of each battery task:
    ``numbers[key]`` of its counterexample, 0 where the claim held.
    """
    label, key = number
    notes, battery_cx = [], None
    names = current_domain().battery or names
    for name, mdp in battery(names):
        cx_b = falsify_mdp(mdp, name)
        notes.append(f"{name}: {label} {0.0 if cx_b is None else cx_b.numbers[key]:.6g}")
        battery_cx = battery_cx or cx_b
    found = search(mdp_space(), lambda mdp: falsify_mdp(mdp, "search"), budget, seed)
    return Found(found.counterexample or battery_cx, found.tried), "; ".join(notes)


def value_scale(mdp: FiniteMDP) -> float:
    """``max(1, max|R|)/(1 − γ)``: the bound on |V| that the value tolerances are relative to."""
    return max(1.0, float(np.max(np.abs(mdp.R)))) / (1.0 - mdp.gamma)


# ---------------------------------------------------------------------------------------------- arguments
def check_budget(budget: Any, seed: Any) -> tuple[int, int]:
    """``budget`` (a positive int) and ``seed`` (an int) as ints, or a TypeError/ValueError saying what to pass."""
    if isinstance(budget, bool) or not isinstance(budget, int | np.integer):
        raise TypeError(f"budget must be an int (generated cases per claim), e.g. budget=100; got {budget!r}.")
    if budget < 1:
        raise ValueError(f"budget must be a positive int (generated cases per claim); got {budget!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int, e.g. seed=0; got {seed!r}.")
    return int(budget), int(seed)


def check_society(mechanism: Any, clones: Any) -> int:
    """``clones`` as an int >= 1 after checking that ``mechanism`` is a Mechanism."""
    if not isinstance(mechanism, Mechanism):
        raise TypeError(f"mechanism must be a mechanism.Mechanism; got {type(mechanism).__name__}.")
    if isinstance(clones, bool) or not isinstance(clones, int | np.integer) or clones < 1:
        raise ValueError(f"clones must be an int >= 1; got {clones!r}.")
    return int(clones)


def make_verdict(
    claim: Claim,
    mechanism: Mechanism,
    clones: int,
    found: Found,
    budget: int,
    seed: int,
    tolerance: float,
    searched: str,
    t0: float,
    notes: str = "",
) -> Verdict:
    """The verdict of ``claim`` from its search result, tagged with the domain searched (:mod:`verify.domains`)."""
    domain = current_domain()
    if domain.name != "mdps":
        searched = f"{searched}; domain {domain.name}: every MDP is the base of {domain.description}"
    return Verdict(
        claim=claim.name,
        mechanism=mechanism.name,
        clones=clones,
        holds=found.counterexample is None,
        counterexample=found.counterexample,
        examples_tried=found.tried,
        seed=seed,
        budget=budget,
        tolerance=tolerance,
        searched=searched,
        notes=notes,
        seconds=time.perf_counter() - t0,
        title=claim.title,
        domain=domain.name,
    )
