"""The claims of DESIGN §1, each checked by computation: a verdict with a shrunk counterexample or a search count.

Every claim is a function ``(mechanism, clones, budget, seed) -> Verdict``. It searches generated
inputs with hypothesis as the engine (:func:`hypothesis.find`, ``max_examples = budget``, no
database, seeded by ``seed``) for a case that breaks the claim; hypothesis then *shrinks* the case
(fewer states, fewer actions, zero rewards, self-loops, bids from the front of the grid), and the
verdict carries the shrunk case as a :class:`Counterexample` that prints the MDP, the bids, the
deviation and the numbers. A claim that holds reports how many cases were tried and what the
search space was. Claims over MDPs also run a fixed battery of the paper's tasks.

Tolerances (stated once; ``scale`` makes them relative):

* ``truthful``: a gain counts when it exceeds ``1e-9·max(1, max|v|, max|b|)``;
* ``conserves_credit``: a credit gap counts when ``|gap| > 1e-9·max(1, max|R|, max|b|)/(1 − γ)``;
* ``q_star_equilibrium`` and ``fixed_point_optimal``: an exploitability, or a value shortfall
  ``V*(s) − V^π(s)``, counts when it exceeds ``1e-8·max(1, max|R|)/(1 − γ)``: well above the
  1e-10 error bounds of the solver and of the fixed point, amplified by at most 1/(1 − γ).
"""

from __future__ import annotations

import math
import pickle
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample
from numpy.typing import NDArray

import tasks
from mechanism.market import Mechanism
from mechanism.society import primitive_of
from tasks.mdp import FiniteMDP
from verify.exploitability import auction_gains, exploitability, is_exact
from verify.fixed_point import terminal_mask, truthful_fixed_point
from verify.solve import solve
from verify.solvers.evaluate import evaluate
from verify.strategies import BID_GRID, bid_profiles, finite_mdps, valuations

__all__ = [
    "CLAIMS",
    "DEFAULT_BUDGET",
    "Counterexample",
    "Verdict",
    "conserves_credit",
    "fixed_point_optimal",
    "format_counterexample",
    "q_star_equilibrium",
    "truthful",
]

FloatArray = NDArray[np.float64]

#: Generated cases per claim and society when none is given (keeps bare `agora check` well under a minute).
DEFAULT_BUDGET = 100
#: Shrinking a found counterexample may take ``SHRINK_PER_BUDGET·budget + SHRINK_BASE`` new cases.
SHRINK_PER_BUDGET = 2
SHRINK_BASE = 50
#: Relative tolerances (see the module docstring).
TOL_AUCTION = 1e-9
TOL_CREDIT = 1e-9
TOL_VALUE = 1e-8
#: Episodes per generated rollout, and the episode cap when the MDP has no time limit.
ROLLOUT_EPISODES = 4
ROLLOUT_TIME_LIMIT = 6


# ---------------------------------------------------------------------------------------------- records
@dataclass(frozen=True, eq=False)
class Counterexample:
    """A case that breaks a claim, with what is needed to check it by hand.

    Attributes
    ----------
    claim : str
    description : str
        One paragraph: what happens and why that breaks the claim.
    mdp : FiniteMDP or None
        The MDP (None for a one-auction claim).
    bids : array (S, M) or None
        The bid profile (one row for a one-auction claim).
    state, bidder : int or None
        Where it happens.
    deviation : float or None
        The profitable bid, where there is one.
    numbers : mapping
        The quantities that decide it (gains, values, prices, ...), floats or lists.
    source : str
        ``"search"`` (shrunk by hypothesis) or the name of a battery task.
    """

    claim: str
    description: str
    mdp: FiniteMDP | None = None
    bids: FloatArray | None = None
    state: int | None = None
    bidder: int | None = None
    deviation: float | None = None
    numbers: Mapping[str, Any] = field(default_factory=dict)
    source: str = "search"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (arrays as nested lists; the MDP dense)."""
        mdp = None
        if self.mdp is not None:
            m = self.mdp
            mdp = {
                "name": m.name,
                "n_states": m.n_states,
                "n_actions": m.n_actions,
                "gamma": m.gamma,
                "P": _jsonable(m.dense_P),
                "R": _jsonable(m.R),
                "terminal": [bool(t) for t in terminal_mask(m)],
                "start": _jsonable(m.start),
                "time_limit": m.time_limit,
                "sparse": m.is_sparse,
            }
        return {
            "claim": self.claim,
            "description": self.description,
            "source": self.source,
            "mdp": mdp,
            "bids": None if self.bids is None else _jsonable(self.bids),
            "state": self.state,
            "bidder": self.bidder,
            "deviation": _jsonable(self.deviation),
            "numbers": {k: _jsonable(v) for k, v in self.numbers.items()},
        }

    def __str__(self) -> str:
        return format_counterexample(self.to_dict())


@dataclass(frozen=True, eq=False)
class Verdict:
    """Whether a claim held for a society, and the evidence.

    Attributes
    ----------
    claim, mechanism : str
    clones : int
    holds : bool
        False when a counterexample was found *or* the check could not run (``error`` is set).
    counterexample : Counterexample or None
        The shrunk case that decides a failed claim.
    examples_tried : int
        Generated cases examined before the first counterexample (all of them when none).
    seed, budget : int
    tolerance : float
        The absolute tolerance used on the first battery task / the relative one for searches.
    searched : str
        What the search space was.
    notes : str
        Battery results and anything else worth reading.
    error : str or None
        ``"ExceptionType: message"`` when the check raised; None when it ran.
    seconds : float
        Wall time of the check.
    """

    claim: str
    mechanism: str
    clones: int
    holds: bool
    counterexample: Counterexample | None
    examples_tried: int
    seed: int = 0
    budget: int = 0
    tolerance: float = 0.0
    searched: str = ""
    notes: str = ""
    error: str | None = None
    seconds: float = 0.0

    @property
    def ran(self) -> bool:
        """Whether the check ran to a verdict (no error)."""
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; the counterexample as its own dict."""
        return {
            "claim": self.claim,
            "mechanism": self.mechanism,
            "clones": self.clones,
            "holds": self.holds,
            "counterexample": None if self.counterexample is None else self.counterexample.to_dict(),
            "examples_tried": self.examples_tried,
            "seed": self.seed,
            "budget": self.budget,
            "tolerance": self.tolerance,
            "searched": self.searched,
            "notes": self.notes,
            "error": self.error,
            "seconds": round(self.seconds, 4),
        }


def _jsonable(x: Any) -> Any:
    if x is None or isinstance(x, str | bool):
        return x
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()] if x.ndim else _jsonable(x.item())
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        v = float(x)
        return v if math.isfinite(v) else repr(v)  # "inf" / "-inf" / "nan": valid JSON strings
    return x


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.10g}"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def format_counterexample(d: Mapping[str, Any]) -> str:
    """A counterexample (as :meth:`Counterexample.to_dict` gives it) as text a person can check by hand."""
    lines = [f"[{d.get('claim')}] {d.get('description')}", f"  source: {d.get('source')}"]
    mdp = d.get("mdp")
    if mdp:
        term = [i for i, t in enumerate(mdp["terminal"]) if t]
        lines.append(
            f"  MDP: S={mdp['n_states']}, A={mdp['n_actions']}, gamma={mdp['gamma']}, terminal states {term}, "
            f"start {_fmt(mdp['start'])}, time_limit {mdp['time_limit']}"
        )
        for s, (P_s, R_s) in enumerate(zip(mdp["P"], mdp["R"], strict=True)):
            for a, (row, r) in enumerate(zip(P_s, R_s, strict=True)):
                succ = ", ".join(f"{sp}: {_fmt(p)}" for sp, p in enumerate(row) if p != 0)
                lines.append(f"    s={s} a={a}: R={_fmt(r)}  P(s'|s,a) = {{{succ}}}")
    bids = d.get("bids")
    if bids is not None:
        lines.append("  bids[s, m] (bidder m plays primitive m % A):")
        for s, row in enumerate(bids):
            lines.append(f"    s={s}: {_fmt(row)}")
    where = [f"{k}={_fmt(d[k])}" for k in ("state", "bidder", "deviation") if d.get(k) is not None]
    if where:
        lines.append("  at " + ", ".join(where))
    for k, v in (d.get("numbers") or {}).items():
        lines.append(f"  {k} = {_fmt(v)}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- engine
@dataclass
class _SearchState:
    tried: int = 0
    found: bool = False
    shrink_calls: int = 0


def _search(
    strategy: st.SearchStrategy[Any],
    falsify: Callable[[Any], Counterexample | None],
    budget: int,
    seed: int,
) -> tuple[Counterexample | None, int]:
    """Run hypothesis as a search engine; return the shrunk counterexample (or None) and cases tried."""
    state = _SearchState()
    verdicts: dict[bytes, bool] = {}  # answers already given, so a replayed case gets the same one

    def condition(case: Any) -> bool:
        key = pickle.dumps(case)
        if key in verdicts:
            return verdicts[key]
        if state.found:
            state.shrink_calls += 1
            if state.shrink_calls > SHRINK_PER_BUDGET * budget + SHRINK_BASE:
                return False  # stop improving a new candidate: the best case so far is kept
        else:
            state.tried += 1
        verdicts[key] = falsify(case) is not None
        state.found = state.found or verdicts[key]
        return verdicts[key]

    config = settings(
        max_examples=budget,
        database=None,
        deadline=None,
        derandomize=False,
        print_blob=False,
        verbosity=Verbosity.quiet,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    try:
        case = find(strategy, condition, settings=config, random=random.Random(seed))
    except NoSuchExample:
        return None, state.tried
    return falsify(case), state.tried


def _check_budget(budget: Any, seed: Any) -> tuple[int, int]:
    if isinstance(budget, bool) or not isinstance(budget, int | np.integer) or budget < 1:
        raise ValueError(f"budget must be a positive int (generated cases per claim); got {budget!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int; got {seed!r}.")
    return int(budget), int(seed)


def _check_society(mechanism: Any, clones: Any) -> int:
    if not isinstance(mechanism, Mechanism):
        raise TypeError(f"mechanism must be a mechanism.Mechanism; got {type(mechanism).__name__}.")
    if isinstance(clones, bool) or not isinstance(clones, int | np.integer) or clones < 1:
        raise ValueError(f"clones must be an int >= 1; got {clones!r}.")
    return int(clones)


def _value_scale(mdp: FiniteMDP) -> float:
    return max(1.0, float(np.max(np.abs(mdp.R)))) / (1.0 - mdp.gamma)


def _battery(names: Sequence[str]) -> list[tuple[str, FiniteMDP]]:
    """The paper's tasks: bandit, chain, duality (raw) and duality rescaled to [0, 1]."""
    built = {
        "bandit": lambda: tasks.bandit(),
        "chain": lambda: tasks.chain(),
        "duality": lambda: tasks.duality(),
        "duality-rescaled": lambda: tasks.rescale_rewards(tasks.duality()),
    }
    return [(n, built[n]()) for n in names]


def _search_mdps(
    falsify_mdp: Callable[[FiniteMDP, str], Counterexample | None],
    battery: Sequence[str],
    number: tuple[str, str],
    budget: int,
    seed: int,
) -> tuple[Counterexample | None, int, str]:
    """Run a claim over MDPs: the battery, then a search of generated MDPs (1-4 states, 2-3 actions).

    Returns the counterexample (the search's shrunk one first, else the first battery one), the
    number of generated MDPs tried, and notes giving the number ``number = (label, key)`` of each
    battery task: ``numbers[key]`` of its counterexample, 0 where the claim held.
    """
    label, key = number
    notes, battery_cx = [], None
    for name, mdp in _battery(battery):
        cx_b = falsify_mdp(mdp, name)
        notes.append(f"{name}: {label} {0.0 if cx_b is None else cx_b.numbers[key]:.6g}")
        battery_cx = battery_cx or cx_b
    strategy = finite_mdps(dense=None, terminals=True, min_actions=2, max_actions=3, max_states=4)
    cx, tried = _search(strategy, lambda mdp: falsify_mdp(mdp, "search"), budget, seed)
    return cx or battery_cx, tried, "; ".join(notes)


def _verdict(
    claim: str,
    mechanism: Mechanism,
    clones: int,
    found: tuple[Counterexample | None, int],
    budget: int,
    seed: int,
    tolerance: float,
    searched: str,
    t0: float,
    notes: str = "",
) -> Verdict:
    """The verdict of a claim from its search result ``found = (counterexample or None, cases tried)``."""
    cx, tried = found
    return Verdict(
        claim=claim,
        mechanism=mechanism.name,
        clones=clones,
        holds=cx is None,
        counterexample=cx,
        examples_tried=tried,
        seed=seed,
        budget=budget,
        tolerance=tolerance,
        searched=searched,
        notes=notes,
        seconds=time.perf_counter() - t0,
    )


# ---------------------------------------------------------------------------------------------- truthful
def truthful(mechanism: Mechanism, clones: int, budget: int = DEFAULT_BUDGET, seed: int = 0) -> Verdict:
    """Truthful bidding is dominant in one auction: no bid beats bidding one's valuation, whatever the others bid.

    Search space: 1-4 primitives (2-4 when solitary, so there is a rival), valuations per
    primitive and every other bidder's bid from :data:`~verify.strategies.BID_GRID`; one bidder
    bids its valuation. Its best deviation comes from :func:`~verify.exploitability.auction_gains`
    (exact for the built-in rules, a candidate search otherwise).
    """
    clones = _check_society(mechanism, clones)
    budget, seed = _check_budget(budget, seed)
    t0 = time.perf_counter()
    lo_A = 1 if clones > 1 else 2

    @st.composite
    def auctions(draw: Any) -> tuple[FloatArray, FloatArray, int]:
        A = draw(st.integers(lo_A, 4))
        v = draw(valuations(A))
        bids = draw(bid_profiles(1, A * clones))[0]
        m = draw(st.integers(0, A * clones - 1))
        prim = primitive_of(A, clones)
        bids[m] = v[prim[m]]
        return bids, v[prim], m

    def falsify(case: tuple[FloatArray, FloatArray, int]) -> Counterexample | None:
        bids, values, m = case
        res = auction_gains(bids[None, :], values[None, :], mechanism)
        gain = float(res.gain[0, m])
        tol = TOL_AUCTION * max(1.0, float(np.max(np.abs(values))), float(np.max(np.abs(bids))))
        if not gain > tol:
            return None
        winner = int(np.asarray(mechanism.winner(bids[None, :]))[0])
        price = float(mechanism.winner_price(bids[None, :], np.array([winner]))[0])
        u0 = values[m] - price if winner == m else 0.0
        x = float(res.deviation[0, m])
        how = "as its bid decreases towards" if res.limit[0, m] else "by bidding"
        return Counterexample(
            claim="truthful",
            description=(
                f"In one {mechanism.name} auction, bidder {m} values winning at {values[m]:.6g} and bids exactly that; "
                f"it gets utility {u0:.6g} (winner {winner}, price {price:.6g}), but {how} {x:.10g} it gets "
                f"{u0 + gain:.6g}: truthful bidding is not dominant."
            ),
            bids=bids[None, :].copy(),
            state=0,
            bidder=m,
            deviation=x,
            numbers={
                "valuations": values,
                "truthful_utility": u0,
                "deviation_utility": u0 + gain,
                "gain": gain,
                "limit": bool(res.limit[0, m]),
                "exact": res.exact,
            },
        )

    cx, tried = _search(auctions(), falsify, budget, seed)
    searched = (
        f"{tried} one-shot auctions: {lo_A}-4 primitives x {clones} clone(s), valuations and bids from the grid "
        f"{BID_GRID}; best deviation {'exact (breakpoint analysis)' if is_exact(mechanism) else 'by candidate search'}"
    )
    return _verdict("truthful", mechanism, clones, (cx, tried), budget, seed, TOL_AUCTION, searched, t0)


# ---------------------------------------------------------------------------------------------- credit
def conserves_credit(mechanism: Mechanism, clones: int, budget: int = DEFAULT_BUDGET, seed: int = 0) -> Verdict:
    """Credit is conserved: ``mechanism.credit_gap`` is 0 on every trajectory, terminated or truncated.

    Search space: generated MDPs (1-4 states, 1-3 actions, dense or sparse, terminal states,
    time limits 1-5 or none, then capped at 6 steps), deterministic bid tables from the grid, and
    4 episodes of :func:`mechanism.rollout` per case with a generated seed.
    """
    from mechanism import credit_gap, rollout

    clones = _check_society(mechanism, clones)
    budget, seed = _check_budget(budget, seed)
    t0 = time.perf_counter()

    @st.composite
    def cases(draw: Any) -> tuple[FiniteMDP, FloatArray, int]:
        mdp = draw(finite_mdps(dense=None, terminals=True, time_limits=True, max_states=4, max_actions=3))
        bids = draw(bid_profiles(mdp.n_states, mdp.n_actions * clones))
        return mdp, bids, draw(st.integers(0, 2**16))

    def falsify(case: tuple[FiniteMDP, FloatArray, int]) -> Counterexample | None:
        from mechanism import Society

        mdp, bids, rollout_seed = case
        society = Society(mdp.n_actions, clones=clones)
        traj = rollout(
            mdp,
            bids,
            mechanism,
            society,
            episodes=ROLLOUT_EPISODES,
            time_limit=mdp.time_limit or ROLLOUT_TIME_LIMIT,
            seed=rollout_seed,
        )
        gap = np.asarray(credit_gap(traj), dtype=np.float64)
        scale = max(1.0, float(np.max(np.abs(mdp.R))), float(np.max(np.abs(bids)))) / (1.0 - mdp.gamma)
        e = int(np.argmax(np.abs(gap)))
        if not abs(gap[e]) > TOL_CREDIT * scale:
            return None
        mask = np.asarray(traj.mask[e], dtype=bool)
        ended = "terminated" if bool(np.any(traj.terminated[e])) else "truncated"
        fields = ("states", "winners", "rewards", "prices", "credits")
        steps = {k: np.asarray(getattr(traj, k)[e])[mask] for k in fields}
        return Counterexample(
            claim="conserves_credit",
            description=(
                f"Episode {e} of a {mechanism.name} rollout ({ended} "
                f"after {int(mask.sum())} steps) has credit gap {gap[e]:.6g}: the discounted utilities do not sum to "
                "the discounted rewards minus the first price (plus the bootstrapped credit of a truncation)."
            ),
            mdp=mdp,
            bids=bids,
            numbers={
                "credit_gap": float(gap[e]),
                "rollout_seed": rollout_seed,
                "time_limit_used": mdp.time_limit or ROLLOUT_TIME_LIMIT,
                **steps,
                "ended": ended,
            },
        )

    cx, tried = _search(cases(), falsify, budget, seed)
    searched = (
        f"{tried} generated (MDP, bid table) pairs x {ROLLOUT_EPISODES} episodes: 1-4 states, 1-3 actions, dense "
        f"or sparse, terminal states, time limits (1, 2, 3, 5 or {ROLLOUT_TIME_LIMIT}), bids from {BID_GRID}"
    )
    return _verdict("conserves_credit", mechanism, clones, (cx, tried), budget, seed, TOL_CREDIT, searched, t0)


# ---------------------------------------------------------------------------------------------- equilibrium
def q_star_equilibrium(mechanism: Mechanism, clones: int, budget: int = DEFAULT_BUDGET, seed: int = 0) -> Verdict:
    """The profile "every bidder bids Q*(s, its primitive)" has exploitability 0.

    Battery: bandit, chain, duality (raw rewards) and duality rescaled to [0, 1]; then generated
    MDPs (1-4 states, 2-3 actions, dense or sparse, terminal states, γ in 0.5..0.95).
    Exploitability by :func:`~verify.exploitability.exploitability` (exact for the built-in rules).
    """
    clones = _check_society(mechanism, clones)
    budget, seed = _check_budget(budget, seed)
    t0 = time.perf_counter()

    def falsify_mdp(mdp: FiniteMDP, source: str) -> Counterexample | None:
        Q = solve(mdp).Q
        bids = Q[:, primitive_of(mdp.n_actions, clones)]
        ex = exploitability(mdp, bids, mechanism, clones)
        if not ex.value > TOL_VALUE * _value_scale(mdp):
            return None
        how = "as its bid decreases towards" if ex.limit else "by bidding"
        return Counterexample(
            claim="q_star_equilibrium",
            description=(
                f"Every bidder bids Q*(s, its primitive) under {mechanism.name} with {clones} clone(s). At state "
                f"{ex.state}, bidder {ex.bidder} (primitive {ex.bidder % mdp.n_actions}) bids {ex.bid:.6g}, values "
                f"winning at {ex.valuation:.6g} and faces a top rival bid of {ex.others_best:.6g}; {how} "
                f"{ex.deviation:.10g} it gains {ex.value:.6g}: the Q* profile is not an equilibrium."
            ),
            mdp=mdp,
            bids=bids,
            state=ex.state,
            bidder=ex.bidder,
            deviation=ex.deviation,
            numbers={
                "gain": ex.value,
                "valuation": ex.valuation,
                "bid": ex.bid,
                "others_best": ex.others_best,
                "Q_star": Q,
                "gain_by_state": ex.gain_by_state,
                "limit": ex.limit,
                "exact": ex.exact,
            },
            source=source,
        )

    battery = ("bandit", "chain", "duality", "duality-rescaled")
    cx, tried, notes = _search_mdps(falsify_mdp, battery, ("exploitability", "gain"), budget, seed)
    searched = (
        f"battery (bandit, chain, duality, duality rescaled) + {tried} generated MDPs: 1-4 states, 2-3 actions, "
        f"dense or sparse, terminal states, gamma 0.5-0.95, rewards from a grid; exploitability "
        f"{'exact' if is_exact(mechanism) else 'by candidate search'}"
    )
    return _verdict("q_star_equilibrium", mechanism, clones, (cx, tried), budget, seed, TOL_VALUE, searched, t0, notes)


# ---------------------------------------------------------------------------------------------- optimality
def greedy_policy(bids: FloatArray, mechanism: Mechanism, n_actions: int, clones: int) -> NDArray[np.int64]:
    """The society's policy: the primitive of each state's auction winner, shape (S,)."""
    winners = np.asarray(mechanism.winner(np.asarray(bids, dtype=np.float64)))
    return primitive_of(n_actions, clones)[winners].astype(np.int64)


def fixed_point_shortfall(mdp: FiniteMDP, mechanism: Mechanism, clones: int) -> dict[str, Any]:
    """Compare the greedy policy of the truthful fixed point with V*: the numbers behind ``fixed_point_optimal``.

    Returns a dict with ``bids``, ``policy``, ``V_pi``, ``V_star``, ``Q_star``, ``shortfall`` (S,) =
    V* − V^π on non-terminal states (0 on terminal ones), ``start_shortfall`` = start·(V* − V^π)
    and ``top_margin`` (S,): at each non-terminal state the best primitive's bid minus the best bid
    of any other primitive (clones of one primitive bid alike), +inf on terminal states and with
    one action. A margin of 0 is a tie, which the mechanism breaks towards the lower index.
    """
    bids = truthful_fixed_point(mdp, mechanism, clones)
    pi = greedy_policy(bids, mechanism, mdp.n_actions, clones)
    V_pi = evaluate(mdp, pi)
    sol = solve(mdp)
    terminal = terminal_mask(mdp)
    short = np.where(terminal, 0.0, sol.V - V_pi)
    per_primitive = np.sort(bids[:, : mdp.n_actions], axis=1)  # bids = b(s, m % A): columns 0..A-1 cover them
    margin = per_primitive[:, -1] - per_primitive[:, -2] if mdp.n_actions > 1 else np.full(mdp.n_states, np.inf)
    return {
        "bids": bids,
        "policy": pi,
        "V_pi": V_pi,
        "V_star": sol.V,
        "Q_star": sol.Q,
        "shortfall": short,
        "start_shortfall": float(np.asarray(mdp.start, dtype=np.float64) @ (sol.V - V_pi)),
        "top_margin": np.where(terminal, np.inf, margin),
    }


def fixed_point_optimal(
    mechanism: Mechanism, clones: int, budget: int = DEFAULT_BUDGET, seed: int = 0, *, strict_ties: bool = False
) -> Verdict:
    """The greedy policy of the truthful fixed point achieves V* at every non-terminal state.

    Battery: bandit, chain, duality; then generated MDPs (1-4 states, 2-3 actions, dense or
    sparse, terminal states, γ in 0.5..0.95). V* from :func:`verify.solve`, V^π from
    :func:`verify.evaluate`.

    With ``strict_ties=True`` a shortfall counts only where no tie-break decides the policy: the
    fixed point's top bid must be unique at every non-terminal state, its ``top_margin`` (see
    :func:`fixed_point_shortfall`) above the value tolerance ``1e-8·max(1, max|R|)/(1 − γ)``. The
    counterexample then also carries Q* and the margins.
    """
    clones = _check_society(mechanism, clones)
    budget, seed = _check_budget(budget, seed)
    t0 = time.perf_counter()

    def falsify_mdp(mdp: FiniteMDP, source: str) -> Counterexample | None:
        res = fixed_point_shortfall(mdp, mechanism, clones)
        short = res["shortfall"]
        s = int(np.argmax(short))
        tol = TOL_VALUE * _value_scale(mdp)
        if not short[s] > tol:
            return None
        if strict_ties and not res["top_margin"].min() > tol:
            return None
        strict = {"Q_star": res["Q_star"], "top_margin": res["top_margin"]} if strict_ties else {}
        return Counterexample(
            claim="fixed_point_optimal",
            description=(
                f"At the truthful fixed point of {mechanism.name} with {clones} clone(s) the society plays "
                f"{res['policy'].tolist()} (winner's primitive per state"
                f"{', every top bid unique' if strict_ties else ''}); from state {s} it earns "
                f"{res['V_pi'][s]:.6g} but V*({s}) = {res['V_star'][s]:.6g}: short by {short[s]:.6g}."
            ),
            mdp=mdp,
            bids=res["bids"],
            state=s,
            numbers={
                "shortfall": float(short[s]),
                "policy": res["policy"],
                "V_pi": res["V_pi"],
                "V_star": res["V_star"],
                "start_shortfall": res["start_shortfall"],
                **strict,
            },
            source=source,
        )

    battery = ("bandit", "chain", "duality")
    cx, tried, notes = _search_mdps(falsify_mdp, battery, ("shortfall", "shortfall"), budget, seed)
    searched = (
        f"battery (bandit, chain, duality) + {tried} generated MDPs: 1-4 states, 2-3 actions, dense or sparse, "
        "terminal states, gamma 0.5-0.95, rewards from a grid; V^pi compared with V* at every non-terminal state"
        f"{'; only fixed points with a unique top bid at every non-terminal state' if strict_ties else ''}"
    )
    return _verdict("fixed_point_optimal", mechanism, clones, (cx, tried), budget, seed, TOL_VALUE, searched, t0, notes)


ClaimFn = Callable[[Mechanism, int, int, int], Verdict]

#: Every claim, in the column order of DESIGN §1's table.
CLAIMS: dict[str, ClaimFn] = {
    "truthful": truthful,
    "conserves_credit": conserves_credit,
    "q_star_equilibrium": q_star_equilibrium,
    "fixed_point_optimal": fixed_point_optimal,
}
