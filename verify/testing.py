"""Testing with Agora: ``assert_claim``, strategies for your own ``@given`` tests, and a pytest plugin.

In a test::

    from hypothesis import given
    from verify.testing import assert_claim, finite_mdps

    def test_my_mechanism_is_a_myopic_equilibrium():
        assert_claim("mypkg.rules:third_price", "q_star_equilibrium", clones=[2], budget=50)

    @given(finite_mdps(dense=None))
    def test_values_are_bounded(mdp):
        ...

:func:`assert_claim` runs :func:`verify.check` for one claim and raises :class:`ClaimFailedError` (an
``AssertionError``) whose message is the *whole* readable counterexample of every society that
breaks the claim (the MDP's arrays, the bids, where, the numbers, :func:`format_counterexample`),
then what was searched, the battery's numbers and the call that replays it; never a truncated repr.

A check that could not run (the mechanism's rule raises, returns NaN, ...: an *error* verdict,
``verdict.ran`` is False) raises :class:`AgoraCheckError`, which is deliberately **not** an
``AssertionError``: a test that expects a claim to fail (``pytest.raises(AssertionError)``,
``pytest.mark.xfail(raises=AssertionError)``) must not pass because the check crashed, and a
crash must never read as "holds". Pytest reports either as a failed test.

The plugin (entry point ``pytest11``: installing Agora is enough) adds ``--agora-report DIR``.
With it, at the end of the session, DIR receives what `agora check --out DIR` writes for every
verdict an ``assert_claim`` made during the session (``verdicts.jsonl`` and ``.csv``, one
:func:`verify.records.verdict_rows` row per verdict with the test id in ``test``; ``report.md``
and ``report.html`` by :func:`reports.markdown.write_verdict_report`), and, for every hypothesis
test (``@given``) that ran, ``property_tests.jsonl`` and ``property_tests.md``: outcome, duration,
the statistics hypothesis collected (examples per phase, passing / failing / invalid, shrinks,
why it stopped, the text of ``--hypothesis-show-statistics``) and, for a failure, the error and
the shrunk falsifying example; ``manifest.json`` last (:func:`verify.records.write_manifest`), so
`agora report DIR` and `agora show DIR` read the folder. The statistics come from hypothesis's own
collector (:mod:`hypothesis.statistics`), which the plugin chains to, so hypothesis's pytest
plugin and ``--hypothesis-show-statistics`` work as before; the hypothesis settings are never
touched (the user's profile decides ``max_examples`` and the rest; each row records them).
Without the option the plugin registers nothing but the option itself: no hooks run per test and
no file is written. Not supported under pytest-xdist (``-n``): the option is refused there. The
entry point registers the thin :mod:`agora.pytest_plugin` as the plugin ``agora`` (it imports
this module only when the option is given); ``-p no:agora`` turns it off.
The files the plugin wrote are listed in ``DIR/.agora-pytest.json``; the next run removes those it
does not write again, so a folder never mixes two runs (:func:`write_pytest_report`).

The verdicts' report is written by the ``reports`` layer, imported only at the end of a session
with the option: the one place ``verify`` calls upward, since the plugin is the top of the stack.
Hypothesis's statistics are not part of ``report.md``/``report.html`` (the verdict renderer takes
verdict rows only); they have their own ``property_tests.md``.

Strategies re-exported for users' ``@given`` tests: :func:`finite_mdps`, :func:`options_mdps`,
:func:`bid_profiles`, :func:`valuations`, :func:`one_auctions` (:mod:`verify.strategies`) and
:func:`mechanisms` (the built-in mechanisms). They load on first use, as does everything heavy:
the plugin's import at pytest start-up costs what ``import verify`` costs and no more.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import json
import shlex
import sys
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verify.verdicts import Claim, Verdict, format_counterexample

if TYPE_CHECKING:
    from hypothesis import strategies as st

    from mechanism.market import Mechanism
    from verify.strategies import bid_profiles, finite_mdps, one_auctions, options_mdps, valuations

__all__ = [
    "PROPERTY_TESTS",
    "AgoraCheckError",
    "AgoraReporter",
    "ClaimFailedError",
    "assert_claim",
    "bid_profiles",
    "describe_verdict",
    "finite_mdps",
    "mechanisms",
    "one_auctions",
    "options_mdps",
    "property_test_rows",
    "recording",
    "summarise_statistics",
    "valuations",
    "write_pytest_report",
]

try:  # pytest's marker for hook implementations (pytest.hookimpl is this object), without importing pytest
    from pluggy import HookimplMarker

    _hookimpl: Any = HookimplMarker("pytest")
except ImportError:  # no pytest here: the plugin is never loaded, its hooks are plain methods
    def _hookimpl(**_: Any) -> Any:
        return lambda f: f

#: How hypothesis's note with the shrunk failing case begins (the wording changed in hypothesis 6.16x).
_FALSIFYING = ("Falsifying example", "Falsifying explicit example", "Failing test case")
#: Base name of the property-test records the plugin writes (``property_tests.jsonl``, ``.md``).
PROPERTY_TESTS = "property_tests"
#: Strategies loaded on first access (PEP 562), and their module.
_LAZY = dict.fromkeys(
    ("bid_profiles", "finite_mdps", "one_auctions", "options_mdps", "valuations"), "verify.strategies"
)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'verify.testing' has no attribute {name!r}")


def mechanisms() -> st.SearchStrategy[Mechanism]:
    """A hypothesis strategy: one of the built-in mechanisms (:data:`mechanism.BUILTINS`), shrinking to the first."""
    from hypothesis import strategies as st

    from mechanism import BUILTINS, MECHANISMS

    return st.sampled_from([MECHANISMS[name] for name in BUILTINS])


# ---------------------------------------------------------------------------------------------- errors
class ClaimFailedError(AssertionError):
    """A claim fails for some society: the message is every counterexample in full; ``verdicts`` the failed ones."""

    def __init__(self, message: str, verdicts: Sequence[Verdict]) -> None:
        super().__init__(message)
        self.verdicts = list(verdicts)


class AgoraCheckError(Exception):
    """A check could not run (an error verdict): neither "holds" nor "fails". Not an AssertionError (module docstring).

    ``verdicts`` holds every verdict of the call that did not hold (the error ones and any failed ones).
    """

    def __init__(self, message: str, verdicts: Sequence[Verdict]) -> None:
        super().__init__(message)
        self.verdicts = list(verdicts)


# ---------------------------------------------------------------------------------------------- recording
#: Callbacks that receive every verdict assert_claim makes, with the id of the test that made it.
_RECORDERS: list[Callable[[str | None, Verdict], None]] = []
#: The id of the pytest test running now (set by the plugin), else None.
_CURRENT_TEST: contextvars.ContextVar[str | None] = contextvars.ContextVar("agora_current_test", default=None)


@contextlib.contextmanager
def recording() -> Iterator[list[Verdict]]:
    """Collect every verdict :func:`assert_claim` makes inside the ``with`` block (held or not, errors too).

    Examples
    --------
    >>> with recording() as verdicts:
    ...     _ = assert_claim("ccv", "truthful", clones=[2], budget=5)
    >>> [(v.mechanism, v.clones, v.claim, v.holds) for v in verdicts]
    [('ccv', 2, 'truthful', True)]
    """
    got: list[Verdict] = []

    def keep(test: str | None, verdict: Verdict) -> None:
        got.append(verdict)

    _RECORDERS.append(keep)
    try:
        yield got
    finally:
        _RECORDERS.remove(keep)


def _record(verdicts: Iterable[Verdict]) -> None:
    test = _CURRENT_TEST.get()
    for verdict in verdicts:
        for recorder in list(_RECORDERS):
            recorder(test, verdict)


# ---------------------------------------------------------------------------------------------- assert_claim
def _society(v: Verdict) -> str:
    kind = "solitary" if v.clones == 1 else "cloned" if v.clones == 2 else f"{v.clones} clones"
    return f"{v.mechanism} x{v.clones} ({kind})"


def describe_verdict(verdict: Verdict) -> str:
    """A verdict as the text :func:`assert_claim` raises: the whole counterexample, what was searched, how to replay.

    Nothing is cut: every array of the MDP, the bids and the numbers is printed in full
    (:func:`verify.verdicts.format_counterexample`).
    """
    v = verdict
    title = f"'{v.claim}'" + (f" ({v.title})" if v.title and v.title != v.claim else "")
    where = f"{_society(v)}, seed {v.seed}, budget {v.budget}, domain {v.domain}, {v.seconds:.2f} s"
    replay = (
        f"verify.check({v.mechanism!r}, clones=[{v.clones}], claims=[{v.claim!r}], budget={v.budget}, "
        f"seed={v.seed}" + ("" if v.domain == "mdps" else f", domain={v.domain!r}") + ")"
    )
    if not v.ran:
        return (
            f"Claim {title} could not be checked for {where}: {v.error}\n"
            "This is no verdict: the claim neither held nor failed (fix the mechanism or the claim and rerun).\n"
            f"replay: {replay}"
        )
    if v.holds:
        lines = [f"Claim {title} holds for {where}: no counterexample in {v.examples_tried} generated cases."]
    else:
        lines = [f"Claim {title} fails for {where}: counterexample after {v.examples_tried} generated case(s)."]
        if v.counterexample is not None:
            lines.append(format_counterexample(v.counterexample.to_dict()))
    lines.append(f"searched: {v.searched}")
    if v.notes:
        lines.append(f"battery: {v.notes}")
    lines.append(f"relative tolerance: {v.tolerance:g}")
    lines.append(f"replay: {replay}")
    return "\n".join(lines)


def _resolve(mechanism: Any) -> Any:
    """A Mechanism from itself, a registry name or ``package.module:NAME``."""
    if isinstance(mechanism, str) and ":" in mechanism:
        from verify.jobs import load_mechanism

        return load_mechanism(mechanism, flag="mechanism")
    return mechanism  # verify.check resolves names and refuses the rest


def assert_claim(
    mechanism: Any,
    claim: str | Claim,
    clones: Iterable[int] = (1, 2),
    budget: int | None = None,
    seed: int = 0,
    domain: str = "mdps",
) -> list[Verdict]:
    """Check ``claim`` for ``mechanism`` under each clone setting; raise unless it holds for every one.

    Parameters
    ----------
    mechanism : Mechanism or str
        A :class:`mechanism.Mechanism`, a registry name (``"ccv"``) or ``"package.module:NAME"``.
    claim : str or Claim
        One claim: a name in :data:`verify.CLAIMS` or a :class:`verify.Claim` (a user claim).
    clones : iterable of int
        Clone settings, e.g. ``(1, 2)``: 1 = solitary, 2 = cloned.
    budget : int, optional
        Generated cases per clone setting (default: the claim's own, else 100).
    seed : int
        Seed of the search: the same seed gives the same verdicts and counterexamples.
    domain : {"mdps", "options"}
        The MDPs searched (:mod:`verify.domains`).

    Returns
    -------
    list of Verdict
        One per clone setting, every one holding. Every verdict is also recorded for the pytest
        plugin's report (and :func:`recording`), held or not.

    Raises
    ------
    ClaimFailedError
        An ``AssertionError``: the claim fails for some society; the message is
        :func:`describe_verdict` of each failed verdict, counterexample in full.
    AgoraCheckError
        Some check could not run (an error verdict); not an ``AssertionError`` (module docstring).
        It wins over failures in the same call, whose text it also carries.
    TypeError, ValueError
        Bad arguments (an unknown mechanism or claim name, clones that are not ints >= 1, ...).

    Examples
    --------
    >>> [v.holds for v in assert_claim("ccv", "truthful", clones=[1, 2], budget=5)]
    [True, True]
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this function's raise
    from verify.checker import check

    if not isinstance(claim, str | Claim):
        raise TypeError(
            f"claim must be one claim name (see verify.CLAIMS) or a verify.Claim; got {type(claim).__name__}. "
            "Call assert_claim once per claim."
        )
    verdicts = check(_resolve(mechanism), clones=clones, claims=[claim], budget=budget, seed=seed, domain=domain)
    _record(verdicts)
    bad = [v for v in verdicts if not v.holds]
    if not bad:
        return verdicts
    text = "\n\n".join(describe_verdict(v) for v in bad)
    if any(not v.ran for v in bad):
        raise AgoraCheckError(text, bad)
    raise ClaimFailedError(text, bad)


# ---------------------------------------------------------------------------------------------- statistics
def _phase_summary(phase: Mapping[str, Any]) -> dict[str, Any]:
    cases = list(phase.get("test-cases") or [])
    status = [str(c.get("status")) for c in cases]
    return {
        "seconds": round(float(phase.get("duration-seconds") or 0.0), 6),
        "test_cases": len(cases),
        "passing": status.count("valid"),
        "failing": status.count("interesting"),
        "invalid": status.count("invalid") + status.count("overrun"),
        "runtime_seconds": round(sum(float(c.get("runtime") or 0.0) for c in cases), 6),
        "draw_seconds": round(sum(float(c.get("drawtime") or 0.0) for c in cases), 6),
    }


def summarise_statistics(stats: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers of one hypothesis run's statistics (:mod:`hypothesis.statistics`'s dict) as a flat record.

    ``examples``: every call of the test body over all phases; ``passing``, ``failing``,
    ``invalid``: of those; ``generated``: the generate phase's calls (what ``max_examples`` bounds);
    ``shrinks_tried``, ``shrinks_successful``; ``hypothesis_seconds``: the phases' wall time;
    ``phases``: the same per phase; ``stopped_because``; ``statistics``: hypothesis's own text.
    """
    from hypothesis.statistics import describe_statistics

    phases = {
        key[: -len("-phase")]: _phase_summary(value)
        for key, value in stats.items()
        if key.endswith("-phase") and isinstance(value, Mapping)
    }
    shrink = stats.get("shrink-phase") or {}
    total = {k: sum(p[k] for p in phases.values()) for k in ("test_cases", "passing", "failing", "invalid")}
    try:
        text = describe_statistics(dict(stats))  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError):  # a format hypothesis does not promise to keep
        text = ""
    return {
        "examples": total["test_cases"],
        "passing": total["passing"],
        "failing": total["failing"],
        "invalid": total["invalid"],
        "generated": phases.get("generate", {}).get("test_cases", 0),
        "shrinks_tried": phases.get("shrink", {}).get("test_cases", 0),
        "shrinks_successful": int(shrink.get("shrinks-successful") or 0) if isinstance(shrink, Mapping) else 0,
        "hypothesis_seconds": round(sum(p["seconds"] for p in phases.values()), 6),
        "phases": phases,
        "stopped_because": str(stats.get("stopped-because", "")),
        "statistics": text,
    }


def _settings_of(obj: Any) -> dict[str, Any]:
    """The hypothesis settings a test ran with (its own, else the loaded profile's) and the profile's name."""
    from hypothesis import settings

    s: Any = getattr(obj, "_hypothesis_internal_use_settings", None) or settings.default
    profile = settings.get_current_profile_name() if hasattr(settings, "get_current_profile_name") else None
    deadline = s.deadline
    return {
        "profile": profile,
        "max_examples": int(s.max_examples),
        "derandomize": bool(s.derandomize),
        "deadline_ms": None if deadline is None else deadline.total_seconds() * 1000.0,
        "database": None if s.database is None else type(s.database).__name__,
    }


def _exception_text(err: BaseException) -> tuple[str, list[str]]:
    """``"Type: message"`` of ``err`` (whole) and the notes on it and on its sub-exceptions (hypothesis's report)."""
    notes: list[str] = []
    stack = [err]
    while stack:
        e = stack.pop(0)
        notes += [str(n) for n in getattr(e, "__notes__", ()) or ()]
        stack += list(getattr(e, "exceptions", ()) or ())
    return f"{type(err).__name__}: {err}", notes


# ---------------------------------------------------------------------------------------------- report
def property_test_rows(tests: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of ``property_tests.jsonl``: each test's record with the versions and timestamp (:func:`environment`)."""
    from verify.records import environment

    env = environment()
    return [{**dict(t), **env} for t in tests]


def _cell(x: Any) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def _property_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """``property_tests.md``: a table of every hypothesis test, then each failure and each test's statistics."""
    out = ["# Property tests (hypothesis)", ""]
    out.append(
        "examples: calls of the test body over every phase (passing / failing / invalid); generated: those of the "
        "generate phase, which max_examples bounds; the profile and settings are the run's own."
    )
    out += ["", "| test | outcome | examples | passing / failing / invalid | generated | shrinks | seconds | "
            "max_examples (profile) | stopped because |", "|" + "---|" * 9]
    for r in rows:
        out.append(
            f"| {_cell(r['test'])} | {r['outcome']} | {r.get('examples', '')} | "
            f"{r.get('passing', '')} / {r.get('failing', '')} / {r.get('invalid', '')} | {r.get('generated', '')} | "
            f"{r.get('shrinks_tried', '')} | {float(r.get('duration_seconds') or 0):.2f} | "
            f"{r.get('max_examples', '')} ({_cell(r.get('profile', ''))}) | {_cell(r.get('stopped_because', ''))} |"
        )
    for r in rows:
        if r["outcome"] != "failed" and not r.get("statistics"):
            continue
        out += ["", f"## {r['test']}: {r['outcome']}", ""]
        if r.get("error"):
            out += ["Error:", "", "```", str(r["error"]), "```", ""]
        if r.get("falsifying_example"):
            out += ["Shrunk falsifying example:", "", "```", str(r["falsifying_example"]), "```", ""]
        if r.get("statistics"):
            out += ["Statistics:", "", "```", str(r["statistics"]), "```"]
    return "\n".join(out) + "\n"


#: The plugin's list of the files it wrote into a folder (not a record file: no manifest entry).
_WRITTEN = ".agora-pytest.json"


def _previous_files(directory: Path) -> set[str]:
    """The files the plugin wrote into ``directory`` last time (relative names inside it), from its list."""
    try:
        names = json.loads((directory / _WRITTEN).read_text(encoding="utf-8")).get("written", [])
    except (OSError, ValueError, AttributeError):
        return set()
    return {n for n in names if isinstance(n, str) and n and not Path(n).is_absolute() and ".." not in Path(n).parts}


def write_pytest_report(
    directory: str | Path,
    verdicts: Sequence[tuple[str | None, Verdict]],
    tests: Sequence[Mapping[str, Any]],
    command: str,
) -> list[Path]:
    """Write what ``pytest --agora-report DIR`` writes (module docstring); returns the paths, manifest last.

    Parameters
    ----------
    directory : path
        The report folder (created).
    verdicts : sequence of (test id or None, Verdict)
        Every verdict :func:`assert_claim` made, with the test that made it.
    tests : sequence of mapping
        One record per hypothesis test (the plugin builds them): ``test``, ``outcome``, statistics.
    command : str
        The command line, recorded on every row and in the manifest.

    Notes
    -----
    The plugin lists what it wrote in ``DIR/.agora-pytest.json``; a file its last run wrote into
    the folder and this run did not (the verdicts of a run that made none, a figure of a claim no
    longer checked) is removed, so the folder never mixes two runs. Other files are left alone.
    """
    from reports.markdown import write_verdict_report
    from reports.outdir import check_out_dir, output_path
    from verify.records import VERDICTS, verdict_rows, write_jsonl, write_manifest, write_records, write_text

    out = check_out_dir(directory, flag="--agora-report")
    written: list[Path] = []
    rows = [row for test, v in verdicts for row in verdict_rows([v], {"command": command, "test": test})]
    if tests:  # first: the verdict report shows them in its "Property tests" section
        prop = property_test_rows(tests)
        written.append(write_jsonl(output_path(out, f"{PROPERTY_TESTS}.jsonl"), prop))
        written.append(write_text(output_path(out, f"{PROPERTY_TESTS}.md"), _property_markdown(prop)))
    else:
        (out / f"{PROPERTY_TESTS}.jsonl").unlink(missing_ok=True)  # not last run's tests in this run's report
    if rows:
        written += write_records(out, VERDICTS, rows)
        written += write_verdict_report(out, rows)
    names = {p.resolve().relative_to(out.resolve()).as_posix() for p in written}
    for stale in _previous_files(out) - names:  # a file of the plugin's last run that this one did not write
        (out / stale).unlink(missing_ok=True)
    records = [p.name for p in written if p.suffix in (".jsonl", ".csv")]
    if records:
        written.append(write_manifest(out, records, command=command))
    write_text(out / _WRITTEN, json.dumps({"written": sorted(names | {"manifest.json"} if records else names)}))
    return written


# ---------------------------------------------------------------------------------------------- plugin
def start_report(config: Any) -> None:
    """Register the reporter of ``--agora-report DIR``; :mod:`agora.pytest_plugin` calls it when the option is given."""
    directory = config.getoption("agora_report")
    import pytest

    if config.getoption("numprocesses", None) or hasattr(config, "workerinput"):
        raise pytest.UsageError("--agora-report does not support pytest-xdist yet; run without -n.")
    from reports.outdir import check_out_dir

    try:
        out = check_out_dir(directory, flag="--agora-report")
    except ValueError as err:
        raise pytest.UsageError(str(err)) from None
    args = [str(a) for a in getattr(config.invocation_params, "args", ()) or ()]
    command = "pytest " + shlex.join(args) if args else "pytest"
    config.pluginmanager.register(AgoraReporter(out, command), "agora-report")


class AgoraReporter:
    """The plugin object ``--agora-report DIR`` registers: records the session, writes the report at its end."""

    def __init__(self, directory: Path, command: str) -> None:
        self.directory = directory
        self.command = command
        self.verdicts: list[tuple[str | None, Verdict]] = []
        self.tests: dict[str, dict[str, Any]] = {}
        self.stats: dict[str, dict[str, Any]] = {}
        self.written: list[Path] = []
        self.failure: str | None = None
        _RECORDERS.append(self.keep)

    def keep(self, test: str | None, verdict: Verdict) -> None:
        """Record one verdict of :func:`assert_claim` (a :func:`recording` callback)."""
        self.verdicts.append((test, verdict))

    @_hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: Any, nextitem: Any) -> Generator[None, Any, None]:
        """Name the running test for the verdicts its setup, call and teardown make."""
        token = _CURRENT_TEST.set(item.nodeid)
        try:
            yield
        finally:
            _CURRENT_TEST.reset(token)

    @_hookimpl(hookwrapper=True, trylast=True)
    def pytest_runtest_call(self, item: Any) -> Generator[None, Any, None]:
        """Catch hypothesis's statistics of the test (trylast: inside hypothesis's wrapper, its callback chained)."""
        if "hypothesis" not in sys.modules:
            yield
            return
        from hypothesis import statistics

        collector: Any = statistics.collector
        outer = collector.value

        def note(stats: dict[str, Any]) -> None:
            self.stats[item.nodeid] = dict(stats)
            if outer is not None:
                outer(stats)

        with collector.with_value(note):
            yield

    @_hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: Any, call: Any) -> Generator[None, Any, None]:
        """Record a hypothesis test's outcome after its call (or its failed setup)."""
        outcome: Any = yield
        report = outcome.get_result()
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.note_test(item, call, report)

    def note_test(self, item: Any, call: Any, report: Any) -> None:
        """The ``property_tests.jsonl`` record of a hypothesis test: outcome, settings, statistics, failure."""
        from hypothesis import is_hypothesis_test

        obj = getattr(item, "obj", None)
        if obj is None or not is_hypothesis_test(obj):
            return
        record: dict[str, Any] = {
            "test": item.nodeid,
            "outcome": ("skipped" if report.skipped else "error") if report.when == "setup" else report.outcome,
            "duration_seconds": round(float(report.duration), 6),
            **_settings_of(obj),
        }
        if item.nodeid in self.stats:
            record.update(summarise_statistics(self.stats[item.nodeid]))
        if call.excinfo is not None and report.failed:
            error, notes = _exception_text(call.excinfo.value)
            record["error"] = error
            record["falsifying_example"] = "\n".join(n for n in notes if n.startswith(_FALSIFYING))
            record["notes"] = "\n".join(notes)
        info = getattr(item, "hypothesis_report_information", None)
        if info:
            record["hypothesis_output"] = str(info)
        record["claims"] = [
            f"{v.mechanism} x{v.clones} {v.claim}: {'error' if not v.ran else 'holds' if v.holds else 'fails'}"
            for t, v in self.verdicts
            if t == item.nodeid
        ]
        self.tests[item.nodeid] = record

    def pytest_sessionfinish(self, session: Any, exitstatus: Any) -> None:
        """Write the report; a report that cannot be written fails the session (a requested artefact is missing)."""
        try:
            self.written = write_pytest_report(self.directory, self.verdicts, list(self.tests.values()), self.command)
        except Exception as err:
            import pytest

            self.failure = f"{type(err).__name__}: {err}"
            if session.exitstatus == 0:
                session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Say what was recorded and written."""
        write = terminalreporter.write_line
        terminalreporter.section("Agora report")
        if self.failure:
            write(f"agora: could not write the report into {self.directory}: {self.failure}")
            return
        n_fail = sum(1 for _, v in self.verdicts if not v.holds)
        write(f"{len(self.verdicts)} claim verdict(s) ({n_fail} not holding), {len(self.tests)} hypothesis test(s)")
        for path in self.written:
            write(f"wrote {path}")
        if not self.written:
            write(f"nothing to write into {self.directory}: no assert_claim and no @given test ran")

    def pytest_unconfigure(self, config: Any) -> None:
        """Stop recording."""
        with contextlib.suppress(ValueError):
            _RECORDERS.remove(self.keep)
