"""The records of claim checking: a claim, its verdict, the counterexample that decides it.

Nothing here searches (no hypothesis import), so the report writers (:mod:`reports.markdown`,
`agora report`) and anything else that only reads verdicts start fast. The search engine is
:mod:`verify.search`; the claims themselves are :mod:`verify.claims`.

:func:`mechanism_fault` runs :func:`mechanism.validate_mechanism` for a society: a mechanism with a
faulty rule gets an *error* verdict (never ✓ or ✗) on every claim (:func:`error_verdict`).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from mechanism.auction import validate_mechanism
from mechanism.market import Mechanism, MechanismError
from tasks.mdp import ROW_SUM_TOL, FiniteMDP

__all__ = [
    "Claim",
    "Counterexample",
    "Verdict",
    "describe_error",
    "error_verdict",
    "format_counterexample",
    "jsonable",
    "mdp_from_dict",
    "mdp_to_dict",
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
        """A JSON-ready dict (arrays as nested lists; the MDP dense); :meth:`from_dict` reads it back.

        Besides the fields, ``"arrays"`` records the dtype and shape of every array (``bids``,
        ``deviation``, each array in ``numbers``), so that :meth:`from_dict` gives back the same
        arrays, an empty one or an int one included. Non-finite floats are the strings ``"inf"``,
        ``"-inf"``, ``"nan"`` (:func:`jsonable`).
        """
        return {
            "claim": self.claim,
            "description": self.description,
            "source": self.source,
            "mdp": None if self.mdp is None else mdp_to_dict(self.mdp),
            "bids": None if self.bids is None else jsonable(self.bids),
            "state": self.state,
            "bidder": self.bidder,
            "deviation": jsonable(self.deviation),
            "numbers": {k: jsonable(v) for k, v in self.numbers.items()},
            "arrays": _array_types(self),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Counterexample:
        """The counterexample :meth:`to_dict` wrote (also after a JSON round trip): the inverse of :meth:`to_dict`.

        Parameters
        ----------
        d : mapping
            What :meth:`to_dict` returned, or the ``counterexample`` of a ``verdicts.jsonl`` row.

        Returns
        -------
        Counterexample
            The MDP comes back as a :class:`tasks.FiniteMDP` with the same kernel (dense or CSR as
            it was; a CSR kernel is rebuilt from the dense one, so explicit zeros are not kept), ``R``,
            ``gamma``, ``start``, ``terminal``, ``time_limit``, ``available``, ``substochastic`` and
            ``name`` (:func:`mdp_from_dict`). A semi-MDP of options (:class:`tasks.OptionsMDP`) comes
            back as a plain ``FiniteMDP`` with ``substochastic=True`` and the same kernel: every
            solver, fixed point, exploitability and best response runs on it unchanged, but the
            options themselves (their policies over the base MDP) are not recorded, so nothing that
            simulates them step by step (:func:`mechanism.rollout`) can. ``bids`` is a float array
            (``"nan"`` entries as NaN), ``deviation`` a float or an array, and every array in
            ``numbers`` an array of its recorded dtype and shape; scalars are Python numbers, bools
            and strings (a scalar ``"inf"``, ``"-inf"`` or ``"nan"`` is read as the float).

        Raises
        ------
        TypeError, ValueError
            When ``d`` is not a mapping, lacks ``claim`` or ``description``, or holds an MDP that
            :class:`tasks.FiniteMDP` refuses (its message says which array).

        Notes
        -----
        A dict written before ``"arrays"`` was recorded is read by its shape: a rectangular list of
        numbers becomes an array (int64 when every entry is an int, bool when every one is a bool,
        else float64); ``available`` missing means every action, and ``substochastic`` missing
        means "whether some row of ``P`` sums to less than 1".

        Examples
        --------
        >>> import json, numpy as np, tasks
        >>> cx = Counterexample("fixed_point_optimal", "why", mdp=tasks.chain(3), bids=np.zeros((3, 2)), state=1)
        >>> back = Counterexample.from_dict(json.loads(json.dumps(cx.to_dict())))
        >>> bool((back.mdp.dense_P == cx.mdp.dense_P).all()), back.bids.shape, back.state
        (True, (3, 2), 1)
        """
        if not isinstance(d, Mapping):
            raise TypeError(f"a counterexample must be a dict (Counterexample.to_dict()); got {type(d).__name__}.")
        missing = [k for k in ("claim", "description") if k not in d]
        if missing:
            raise ValueError(
                f"the counterexample dict lacks {missing}; pass what Counterexample.to_dict() wrote "
                "(a verdicts.jsonl row's 'counterexample')."
            )
        types = d.get("arrays") or {}
        number_types = types.get("numbers") or {}
        typed = "arrays" in d
        numbers = {str(k): _read_value(v, number_types.get(k), typed) for k, v in (d.get("numbers") or {}).items()}
        bids = d.get("bids")
        return cls(
            claim=str(d["claim"]),
            description=str(d["description"]),
            mdp=None if d.get("mdp") is None else mdp_from_dict(d["mdp"]),
            bids=None if bids is None else _read_array(bids, types.get("bids"), np.float64),
            state=_read_index(d.get("state"), "state"),
            bidder=_read_index(d.get("bidder"), "bidder"),
            deviation=_read_deviation(d.get("deviation"), types.get("deviation")),
            numbers=numbers,
            source=str(d.get("source", "search")),
        )

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Counterexample:
        """The counterexample of a verdict record row (``verdicts.jsonl``, or ``verdicts.csv`` with its JSON cell).

        Raises
        ------
        ValueError
            When the row is not a verdict row, or its verdict has no counterexample (the claim
            held, or the check could not run: the message says which).
        """
        if not isinstance(row, Mapping) or "counterexample" not in row:
            raise ValueError(
                "not a verdict row: it has no 'counterexample' key; pass a row of verdicts.jsonl "
                "(verify.records.read_jsonl(DIR / 'verdicts.jsonl'))."
            )
        cx = row["counterexample"]
        if isinstance(cx, str) and cx.strip():
            cx = json.loads(cx)  # a verdicts.csv cell holds the dict as JSON text
        if not cx:
            who = f"{row.get('mechanism')} x{row.get('clones')} {row.get('claim')}"
            why = f"the check could not run ({row['error']})" if row.get("error") else "the claim held"
            raise ValueError(f"the verdict {who} has no counterexample: {why}.")
        return cls.from_dict(cx)

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

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Verdict:
        """The verdict :meth:`to_dict` wrote, or one read from a ``verdicts.jsonl`` row (its other columns ignored).

        The counterexample comes back through :meth:`Counterexample.from_dict`. Two fields do not
        round-trip exactly: ``seconds`` was rounded to 0.1 ms, and an untitled verdict comes back
        titled with its claim's name (what :meth:`to_dict` writes).

        Raises
        ------
        TypeError, ValueError
            When ``d`` is not a mapping or lacks one of ``claim, mechanism, clones, holds``.
        """
        if not isinstance(d, Mapping):
            raise TypeError(
                f"a verdict must be a dict (Verdict.to_dict() or a verdicts.jsonl row); got {type(d).__name__}."
            )
        missing = [k for k in ("claim", "mechanism", "clones", "holds") if k not in d]
        if missing:
            raise ValueError(
                f"the verdict dict lacks {missing}; pass what Verdict.to_dict() wrote (a verdicts.jsonl row)."
            )
        cx = d.get("counterexample")
        if isinstance(cx, str):
            cx = json.loads(cx) if cx.strip() else None  # a verdicts.csv cell
        return cls(
            claim=str(d["claim"]),
            mechanism=str(d["mechanism"]),
            clones=int(d["clones"]),
            holds=bool(d["holds"]),
            counterexample=None if not cx else Counterexample.from_dict(cx),
            examples_tried=int(d.get("examples_tried") or 0),
            seed=int(d.get("seed") or 0),
            budget=int(d.get("budget") or 0),
            tolerance=float(d.get("tolerance") or 0.0),
            searched=str(d.get("searched") or ""),
            notes=str(d.get("notes") or ""),
            error=None if d.get("error") is None else str(d["error"]),
            seconds=float(d.get("seconds") or 0.0),
            title=str(d.get("title") or ""),
            domain=str(d.get("domain") or "mdps"),
        )


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


# ---------------------------------------------------------------------------------------------- replay
_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def mdp_to_dict(mdp: FiniteMDP) -> dict[str, Any]:
    """The MDP as a JSON-ready dict: its dense kernel and every field :func:`mdp_from_dict` needs."""
    return {
        "name": mdp.name,
        "n_states": mdp.n_states,
        "n_actions": mdp.n_actions,
        "gamma": mdp.gamma,
        "P": jsonable(mdp.dense_P),
        "R": jsonable(mdp.R),
        "terminal": [bool(t) for t in np.asarray(mdp.terminal, dtype=bool)],
        "start": jsonable(mdp.start),
        "time_limit": mdp.time_limit,
        "sparse": mdp.is_sparse,
        "available": jsonable(np.asarray(mdp.available, dtype=bool)),
        "substochastic": bool(mdp.substochastic),
    }


def mdp_from_dict(d: Mapping[str, Any]) -> FiniteMDP:
    """The :class:`tasks.FiniteMDP` of :func:`mdp_to_dict` (a counterexample's ``"mdp"``).

    See :meth:`Counterexample.from_dict` for what comes back (an OptionsMDP as a substochastic FiniteMDP).

    Construction validates it again, which leaves every array as recorded: the recorded rows are
    already normalised, and rows within ``2**-40`` of their sum are stored as given.
    """
    if not isinstance(d, Mapping):
        raise TypeError(f"the counterexample's 'mdp' must be a dict (mdp_to_dict); got {type(d).__name__}.")
    missing = [k for k in ("n_states", "n_actions", "gamma", "P", "R") if k not in d]
    if missing:
        raise ValueError(f"the counterexample's 'mdp' lacks {missing}; pass what Counterexample.to_dict() wrote.")
    S, A = int(d["n_states"]), int(d["n_actions"])
    try:
        P = np.array(_unjson(d["P"]), dtype=np.float64).reshape(S, A, S)
        R = np.array(_unjson(d["R"]), dtype=np.float64).reshape(S, A)
    except ValueError as err:
        raise ValueError(f"the counterexample's 'mdp' has P or R of the wrong size for S={S}, A={A}: {err}") from None
    available = None if d.get("available") is None else np.array(d["available"], dtype=bool).reshape(S, A)
    substochastic = d.get("substochastic")
    if substochastic is None:  # written before the field was recorded: read it off the rows
        used = np.ones((S, A), dtype=bool) if available is None else available
        substochastic = bool((P.sum(axis=-1)[used] < 1.0 - ROW_SUM_TOL).any())
    start = d.get("start")
    terminal = d.get("terminal")
    return FiniteMDP(
        sp.csr_array(P.reshape(S * A, S)) if d.get("sparse") else P,
        R,
        _unjson(d["gamma"]),
        start=None if start is None else np.array(_unjson(start), dtype=np.float64),
        terminal=None if terminal is None else np.array(terminal, dtype=bool),
        time_limit=d.get("time_limit"),
        name=str(d.get("name") or ""),
        available=available,
        substochastic=bool(substochastic),
    )


def _array_type(x: Any) -> dict[str, Any] | None:
    if not isinstance(x, np.ndarray):
        return None
    return {"dtype": x.dtype.name if x.dtype.kind in "biuf" else x.dtype.str, "shape": list(x.shape)}


def _array_types(cx: Counterexample) -> dict[str, Any]:
    """Dtype and shape of every array of ``cx`` (the ``"arrays"`` entry of :meth:`Counterexample.to_dict`)."""
    return {
        "bids": _array_type(cx.bids),
        "deviation": _array_type(cx.deviation),
        "numbers": {k: t for k, v in cx.numbers.items() if (t := _array_type(v)) is not None},
    }


def _unjson(x: Any) -> Any:
    """Undo :func:`jsonable`'s strings for non-finite floats, in nested lists too."""
    if isinstance(x, str):
        return _NON_FINITE.get(x, x)
    if isinstance(x, list):
        return [_unjson(v) for v in x]
    return x


def _read_array(value: Any, spec: Mapping[str, Any] | None, dtype: Any) -> NDArray[Any]:
    """An array from its nested list and its recorded ``{"dtype", "shape"}`` (else ``dtype`` and the list's shape)."""
    if spec:
        return np.array(_unjson(value), dtype=np.dtype(spec["dtype"])).reshape(spec["shape"])
    return np.array(_unjson(value), dtype=dtype)


def _guess_array(value: list[Any]) -> Any:
    """A rectangular list of numbers (as an old record holds it) as an array; anything else as it is."""
    flat = np.array(_unjson(value), dtype=object).ravel() if value else np.zeros(0, dtype=object)
    if flat.size == 0 or not all(isinstance(v, int | float) for v in flat):
        return value
    if all(isinstance(v, bool) for v in flat):
        return np.array(value, dtype=bool)
    kind = np.int64 if all(isinstance(v, int) and not isinstance(v, bool) for v in flat) else np.float64
    return np.array(_unjson(value), dtype=kind)


def _read_value(value: Any, spec: Mapping[str, Any] | None, typed: bool) -> Any:
    """A ``numbers`` entry: an array where one was recorded (or, in an old record, looks like one), else the scalar."""
    if spec:
        return _read_array(value, spec, None)
    if isinstance(value, list):
        if typed:
            return _unjson(value)  # a list that was a list (or tuple) when written
        try:
            return _guess_array(value)
        except ValueError:  # ragged
            return value
    return _unjson(value)


def _read_index(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ValueError(f"the counterexample's {name!r} must be an int or None; got {value!r}.")
    return int(value)


def _read_deviation(value: Any, spec: Mapping[str, Any] | None) -> float | NDArray[Any] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return _read_array(value, spec, np.float64)
    out = _unjson(value)
    if isinstance(out, bool) or not isinstance(out, int | float):
        raise ValueError(f"the counterexample's 'deviation' must be a number, a list of numbers or None; got {value!r}")
    return out


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
        kind = "semi-MDP of options (gamma*P is the discounted kernel E[gamma^tau 1{s_tau = s'}])" if mdp.get(
            "substochastic"
        ) else "MDP"
        lines.append(
            f"  {kind}: S={mdp['n_states']}, A={mdp['n_actions']}, gamma={mdp['gamma']}, terminal states {term}, "
            f"start {_fmt(mdp['start'])}, time_limit {mdp['time_limit']}"
        )
        available = mdp.get("available")
        for s, (P_s, R_s) in enumerate(zip(mdp["P"], mdp["R"], strict=True)):
            for a, (row, r) in enumerate(zip(P_s, R_s, strict=True)):
                if available is not None and not available[s][a]:
                    lines.append(f"    s={s} a={a}: unavailable")
                    continue
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
