"""The records of claim checking: a claim, its verdict, the counterexample that decides it.

Nothing here searches (no hypothesis import), so the report writers (:mod:`reports.markdown`,
`agora report`) and anything else that only reads verdicts start fast. The search engine is
:mod:`verify.search`; the claims themselves are :mod:`verify.claims`.

:func:`mechanism_fault` runs :func:`mechanism.validate_mechanism` for a society: a mechanism with a
faulty rule gets an *error* verdict (never ✓ or ✗) on every claim (:func:`error_verdict`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mechanism.auction import validate_mechanism
from mechanism.market import Mechanism, MechanismError
from tasks.mdp import FiniteMDP

__all__ = [
    "Claim",
    "Counterexample",
    "Verdict",
    "describe_error",
    "error_verdict",
    "format_counterexample",
    "jsonable",
    "mechanism_fault",
    "validation_sizes",
]

FloatArray = NDArray[np.float64]


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
    deviation : float, array or None
        The profitable bid (or bids), where there is one.
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
    deviation: float | FloatArray | None = None
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
                "P": jsonable(m.dense_P),
                "R": jsonable(m.R),
                "terminal": [bool(t) for t in np.asarray(m.terminal, dtype=bool)],
                "start": jsonable(m.start),
                "time_limit": m.time_limit,
                "sparse": m.is_sparse,
            }
        return {
            "claim": self.claim,
            "description": self.description,
            "source": self.source,
            "mdp": mdp,
            "bids": None if self.bids is None else jsonable(self.bids),
            "state": self.state,
            "bidder": self.bidder,
            "deviation": jsonable(self.deviation),
            "numbers": {k: jsonable(v) for k, v in self.numbers.items()},
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
        Distinct generated cases examined up to the first counterexample (all of them when none).
    seed, budget : int
    tolerance : float
        The relative tolerance of the claim (its module docstring says relative to what).
    searched : str
        What the search space was.
    notes : str
        Battery results and anything else worth reading.
    error : str or None
        ``"ExceptionType: message"`` when the check could not run; None when it ran.
    seconds : float
        Wall time of the check.
    title : str
        The claim's column header in the verdict table (:attr:`Claim.title`).
    domain : str
        The MDPs searched (:mod:`verify.domains`): ``"mdps"`` (literal actions) or ``"options"``.
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
    title: str = ""
    domain: str = "mdps"

    @property
    def ran(self) -> bool:
        """Whether the check ran to a verdict (no error)."""
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; the counterexample as its own dict."""
        return {
            "claim": self.claim,
            "title": self.title or self.claim,
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
            "domain": self.domain,
        }


ClaimCheck = Callable[[Mechanism, int, int, int], Verdict]


@dataclass(frozen=True)
class Claim:
    """A claim about a society: its stable name, its column header, and the function that checks it.

    Attributes
    ----------
    name : str
        Stable identifier (records, ``agora check --claims``).
    title : str
        Column header of the verdict table.
    check : callable (mechanism, clones, budget, seed) -> Verdict
        Searches for a counterexample; raises when the mechanism cannot be evaluated.
    doc : str
        One line: what the claim says.
    default : bool
        Whether :func:`verify.check` (and bare ``agora check``) runs it when no claims are named.
        A costly claim (one that trains societies, say) is marked False and runs only by name.
    budget : int or None
        The generated cases it examines when the caller gives no budget; None:
        :data:`verify.search.DEFAULT_BUDGET`.

    Examples
    --------
    A user claim runs beside the built-in ones: ``verify.check(m, claims=["truthful", my_claim])``.
    """

    name: str
    title: str
    check: ClaimCheck
    doc: str = ""
    default: bool = True
    budget: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"Claim name must be a non-empty str; got {self.name!r}.")
        if not isinstance(self.title, str) or not self.title:
            raise TypeError(f"Claim({self.name!r}): title must be a non-empty str (the table's column header).")
        if self.budget is not None and (
            isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget < 1
        ):
            raise TypeError(f"Claim({self.name!r}): budget must be a positive int or None; got {self.budget!r}.")
        if not callable(self.check):
            raise TypeError(
                f"Claim({self.name!r}): check must be a function (mechanism, clones, budget, seed) -> Verdict; "
                f"got {type(self.check).__name__}."
            )

    def __call__(self, mechanism: Mechanism, clones: int, budget: int, seed: int) -> Verdict:
        """Run :attr:`check`."""
        return self.check(mechanism, clones, budget, seed)


# ---------------------------------------------------------------------------------------------- faults
def validation_sizes(clones: int) -> tuple[int, ...]:
    """The bidder counts a society with ``clones`` is validated at: 2 and 4 primitives (the claims use 1-4)."""
    return (2 * clones, 4 * clones)


def mechanism_fault(mechanism: Mechanism, clones: int) -> MechanismError | None:
    """What :func:`mechanism.validate_mechanism` finds wrong at :func:`validation_sizes`: its error, or None.

    A rule that raises, returns NaN, a wrong shape or an invalid winner, is not a function of the
    bids, or contradicts a declared fast path: no verdict may rest on it.
    """
    try:
        for n_bidders in validation_sizes(clones):
            validate_mechanism(mechanism, n_bidders)
    except MechanismError as err:
        return err
    return None


def describe_error(err: BaseException) -> str:
    """``"ExceptionType: message"``: how a verdict records a check that could not run."""
    return f"{type(err).__name__}: {err}"


def error_verdict(claim: Claim, mechanism: str, clones: int, error: str, budget: int, seed: int, t0: float) -> Verdict:
    """The verdict of a check that could not run: ``holds = False``, ``error`` set, no counterexample."""
    return Verdict(
        claim=claim.name,
        mechanism=mechanism,
        clones=clones,
        holds=False,
        counterexample=None,
        examples_tried=0,
        seed=seed,
        budget=budget,
        error=error,
        seconds=time.perf_counter() - t0,
        title=claim.title,
    )


# ---------------------------------------------------------------------------------------------- text
def jsonable(x: Any) -> Any:
    """``x`` with numpy arrays and scalars as lists and Python numbers; non-finite floats as strings."""
    if x is None or isinstance(x, str | bool):
        return x
    if isinstance(x, np.ndarray):
        return [jsonable(v) for v in x.tolist()] if x.ndim else jsonable(x.item())
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        v = float(x)
        return v if math.isfinite(v) else repr(v)  # "inf" / "-inf" / "nan": valid JSON strings
    return x


def _fmt(v: Any, exact: bool = False) -> str:
    """A number as 10 significant digits; with ``exact``, as the shortest text that reads back the same float."""
    if isinstance(v, float):
        short = f"{v:.10g}"
        return repr(v) if exact and float(short) != v else short
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x, exact) for x in v) + "]"
    return str(v)


def format_counterexample(d: Mapping[str, Any]) -> str:
    """A counterexample (as :meth:`Counterexample.to_dict` gives it) as text a person can check by hand."""
    lines = [f"[{d.get('claim')}] {d.get('description')}", f"  source: {d.get('source')}"]
    mdp = d.get("mdp")
    exact = not mdp  # one auction: bids and deviations exactly (a float apart may matter); MDPs: 10 digits
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
            lines.append(f"    s={s}: {_fmt(row, exact)}")
    where = [f"{k}={_fmt(d[k], exact)}" for k in ("state", "bidder", "deviation") if d.get(k) is not None]
    if where:
        lines.append("  at " + ", ".join(where))
    for k, v in (d.get("numbers") or {}).items():
        lines.append(f"  {k} = {_fmt(v)}")
    return "\n".join(lines)
