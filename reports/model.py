"""The report model: one frozen structure per report, rendered to Markdown and to HTML alike.

A :class:`Report` holds everything a reader sees: the title and opening paragraphs, the verdict
table (rows = societies, columns = claims, each :class:`VerdictCell` carrying its mark and the
anchor of its :class:`Detail`), the column "the paper says" (:func:`paper_says`: what Chang et
al., ICML 2020, claim for the society), the legend, the tolerances, the timings, the provenance,
learning sections (tables, bullet lists, figures) and figures (file name, caption, alt text).
Every displayed string is computed here, once, so the two renderers (:mod:`reports.render`) can
only differ in markup, never in content; :func:`reports.render.fields` lists what both must show.

Builders, one per kind of report folder: :func:`check_report` (``verdicts.jsonl`` rows, written
by `agora check`, `agora sweep` and the pytest plugin) and :func:`reports.learning.training_report`
(``runs.jsonl`` + ``checkpoints.jsonl``). Provenance (:func:`provenance`) adds what the rows do
not carry: the command line (from the folder's cell records or manifest), the git commit of the
folder or of the working directory (``git rev-parse HEAD``, absent outside a checkout) and the
sha256 of the source file of every user mechanism named ``package.module:NAME``
(:func:`inspect.getsourcefile`). Nothing here imports matplotlib or hypothesis.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from reports.names import society_label
from verify.verdicts import format_counterexample

__all__ = [
    "LEGEND",
    "Bullets",
    "Detail",
    "Explanation",
    "Fact",
    "Figure",
    "Heading",
    "PaperClaim",
    "Paragraph",
    "Report",
    "Section",
    "Table",
    "Timings",
    "VerdictCell",
    "VerdictRow",
    "VerdictTable",
    "anchor_id",
    "check_report",
    "detail_anchors",
    "figure_formats",
    "git_commit",
    "mark",
    "paper_says",
    "property_tests_section",
    "provenance",
    "save_figure",
    "source_digests",
]

Row = Mapping[str, Any]

MARKS = {"holds": "✓", "fails": "✗", "error": "error", "absent": "—"}
#: Appended to a verdict cell whose computed verdict contradicts what the paper claims.
DIFFERS = "†"
#: The legend of the verdict table (symbol, meaning).
LEGEND: tuple[tuple[str, str], ...] = (
    ("✓", "the claim held on everything searched (what was searched is in the cell's details)"),
    ("✗", "a counterexample was found: the cell links to it, shrunk, with the numbers to check it by hand"),
    ("error", "the check could not run (a mechanism whose rule raises or returns nonsense); no verdict"),
    ("—", "not checked (in the table) or nothing claimed (in the column 'the paper says')"),
    (DIFFERS, "the verdict contradicts what Chang et al. (ICML 2020) claim for that society"),
)
#: Seconds of the git call that finds the commit (a slow or hung git must not hold up a report).
GIT_TIMEOUT = 5.0


# ---------------------------------------------------------------------------- blocks
@dataclass(frozen=True)
class Fact:
    """A named value: a provenance field, a tolerance, a legend entry."""

    name: str
    value: str


@dataclass(frozen=True)
class Figure:
    """A figure file beside the report: ``path`` (a file name in the report folder, the one a page
    shows: SVG, else PNG), ``caption``, ``alt`` (what it shows, for a reader who cannot see it),
    ``anchor`` (its id), ``files`` (every format written)."""

    path: str
    caption: str
    alt: str
    anchor: str = ""
    files: tuple[str, ...] = ()

    kind = "figure"


@dataclass(frozen=True)
class Paragraph:
    """Prose. ``**bold**`` and ```code``` are the only inline markup (both renderers honour them)."""

    text: str

    kind = "paragraph"


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a section."""

    text: str

    kind = "heading"


@dataclass(frozen=True)
class Table:
    """A plain table of display strings; every row has ``len(header)`` cells."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""

    kind = "table"

    def __post_init__(self) -> None:
        bad = [i for i, r in enumerate(self.rows) if len(r) != len(self.header)]
        if bad:
            n = len(self.rows[bad[0]])
            raise ValueError(f"Table row {bad[0]} has {n} cells; the header has {len(self.header)}: one per column.")


@dataclass(frozen=True)
class Bullets:
    """A list; each item is (text, sub-items)."""

    items: tuple[tuple[str, tuple[str, ...]], ...]

    kind = "bullets"


Block = Paragraph | Heading | Table | Bullets | Figure


@dataclass(frozen=True)
class Section:
    """A titled part of a report (one experiment of a training report)."""

    title: str
    anchor: str
    blocks: tuple[Block, ...]


# ---------------------------------------------------------------------------- verdicts
@dataclass(frozen=True)
class PaperClaim:
    """What the paper claims about one claim for one society: ``holds``, with a qualifier and where."""

    claim: str
    holds: bool
    source: str
    qualifier: str = ""

    def __str__(self) -> str:
        return f"{'yes' if self.holds else 'no'}{' ' + self.qualifier if self.qualifier else ''} ({self.source})"


@dataclass(frozen=True)
class VerdictCell:
    """One (society, claim) cell: ``verdict`` (holds / fails / error / absent), ``text`` (the mark,
    with :data:`DIFFERS` when it contradicts the paper) and ``anchor`` (its :class:`Detail`; "" when absent)."""

    claim: str
    verdict: str
    text: str
    anchor: str
    differs: bool = False


@dataclass(frozen=True)
class VerdictRow:
    """One society: its label (the paper's names), its cells in column order, what the paper says."""

    society: str
    mechanism: str
    clones: int
    cells: tuple[VerdictCell, ...]
    paper: str


@dataclass(frozen=True)
class VerdictTable:
    """Societies × claims. ``columns`` are (claim name, column header) pairs."""

    columns: tuple[tuple[str, str], ...]
    rows: tuple[VerdictRow, ...]

    @property
    def header(self) -> tuple[str, ...]:
        """``society``, the claim headers, ``the paper says``."""
        return ("society", *(title for _, title in self.columns), "the paper says")


@dataclass(frozen=True)
class Explanation:
    """A counterexample for reading: the sentence that says why the claim fails, then the numbers."""

    sentence: str
    numbers: str
    source: str


@dataclass(frozen=True)
class Detail:
    """Everything about one check, at ``anchor``: the verdict, the paper, the evidence, the cost."""

    anchor: str
    society: str
    claim: str
    title: str
    verdict: str
    mark: str
    paper: str
    facts: tuple[Fact, ...]
    explanation: Explanation | None = None
    error: str | None = None
    figure: Figure | None = None


@dataclass(frozen=True)
class Timings:
    """Seconds per check (or run) as a table, and the total."""

    table: Table
    total: str
    note: str = ""


@dataclass(frozen=True)
class Report:
    """One report, whatever renders it (:mod:`reports.render`).

    Attributes
    ----------
    kind : str
        ``"check"`` (:func:`check_report`) or ``"training"`` (:func:`reports.learning.training_report`).
    title : str
    summary : tuple of Paragraph
        What the report found, in a few sentences.
    verdicts : VerdictTable or None
        Societies × claims, each cell linking to its :class:`Detail`, and what the paper says.
    legend, tolerances, provenance : tuple of Fact
        What the marks and columns mean; the tolerances the numbers were judged with; versions,
        seed, budget, command line, git commit and user sources.
    figures : tuple of Figure
        Figures of the whole report (the verdict heat-map).
    details : tuple of Detail
        One per check, in the rows' order.
    sections : tuple of Section
        Learning results, one per experiment or task.
    timings : Timings or None
        Seconds per check (or run) and the total; None when the records hold none.
    """

    kind: str
    title: str
    summary: tuple[Paragraph, ...] = ()
    verdicts: VerdictTable | None = None
    legend: tuple[Fact, ...] = ()
    figures: tuple[Figure, ...] = ()
    details: tuple[Detail, ...] = ()
    sections: tuple[Section, ...] = ()
    tolerances: tuple[Fact, ...] = ()
    timings: Timings | None = None
    provenance: tuple[Fact, ...] = ()

    def all_figures(self) -> list[Figure]:
        """Every figure the report shows, in reading order."""
        out = list(self.figures)
        out += [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]
        out += [d.figure for d in self.details if d.figure is not None]
        return out


# ---------------------------------------------------------------------------- the paper
def _pc(claim: str, holds: bool, source: str, qualifier: str = "") -> PaperClaim:
    return PaperClaim(claim, holds, source, qualifier)


#: What Chang et al. (ICML 2020) claim, per mechanism and clones (None: either), from PAPER.md's
#: "Claims" 2-5 and its properties table (BB yes/no/yes, V no/yes/yes, CCV yes/yes/no-in-general
#: for credit conservation / truthful dominant strategy / Bellman optimality). The paper says
#: nothing about the farsighted equilibrium, nor about Environment Reward's properties.
_PAPER: dict[tuple[str, int | None], tuple[PaperClaim, ...]] = {
    ("vickrey", None): (
        _pc("truthful", True, "claim 2"),
        _pc("conserves_credit", False, "claim 4"),
        _pc("q_star_equilibrium", True, "claim 2"),
        _pc("fixed_point_optimal", True, "claims 2-3"),
    ),
    ("ccv", 2): (
        _pc("truthful", True, "claim 4"),
        _pc("conserves_credit", True, "claim 4"),
        _pc("fixed_point_optimal", True, "claims 3-5: cloned CCV"),
    ),
    ("ccv", 1): (
        _pc("truthful", True, "claim 4"),
        _pc("conserves_credit", True, "claim 4"),
        _pc("fixed_point_optimal", False, "claim 4's table", "in general"),
    ),
    ("first_price", None): (
        _pc("truthful", False, "claim 4's table"),
        _pc("conserves_credit", True, "claim 4"),
        _pc("fixed_point_optimal", True, "claim 4's table"),
    ),
}
_SHORT = {
    "truthful": "truthful",
    "conserves_credit": "conserves credit",
    "q_star_equilibrium": "Q* is an equilibrium",
    "fixed_point_optimal": "optimal policy",
}


def paper_says(mechanism: str, clones: int) -> tuple[PaperClaim, ...]:
    """What the paper claims for the society (mechanism, clones); () when it says nothing (a user
    mechanism, Environment Reward)."""
    return _PAPER.get((str(mechanism), int(clones)), _PAPER.get((str(mechanism), None), ()))


def _paper_text(claims: Sequence[PaperClaim]) -> str:
    """``"truthful: yes; conserves credit: no (claims 2, 4)"``, or ``"—"``."""
    if not claims:
        return "—"
    parts = [f"{_SHORT.get(c.claim, c.claim)}: {'yes' if c.holds else 'no'}{' ' + c.qualifier if c.qualifier else ''}"
             for c in claims]
    return "; ".join(parts)


# ---------------------------------------------------------------------------- small formats
def mark(row: Row) -> str:
    """``holds``, ``fails`` or ``error`` of a verdict row."""
    if row.get("error"):
        return "error"
    return "holds" if row.get("holds") else "fails"


def anchor_id(*parts: Any) -> str:
    """An HTML id (and Markdown anchor) from the parts: lower case, ``[a-z0-9-]`` only, never empty."""
    text = "-".join(str(p) for p in parts).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "item"


def _unique(anchor: str, taken: set[str]) -> str:
    out, k = anchor, 2
    while out in taken:
        out, k = f"{anchor}-{k}", k + 1
    taken.add(out)
    return out


def _count(n: int, one: str, many: str | None = None) -> str:
    """``"1 claim"``, ``"3 claims"``."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def _seconds(x: Any) -> str:
    return f"{float(x or 0):.2f} s"


def _distinct(rows: Sequence[Row], key: str) -> str:
    values = [str(v) for v in dict.fromkeys(r.get(key) for r in rows) if v is not None and v != ""]
    return ", ".join(values) if values else "—"


def _claims_in(rows: Sequence[Row]) -> tuple[tuple[str, str], ...]:
    """(claim, column header) in the order the rows first name them (a row without a title: its name)."""
    titles: dict[str, str] = {}
    for r in rows:
        titles.setdefault(str(r["claim"]), str(r.get("title") or r["claim"]))
    return tuple(titles.items())


def _societies(rows: Sequence[Row]) -> list[tuple[str, int]]:
    return list(dict.fromkeys((str(r["mechanism"]), int(r["clones"])) for r in rows))


# ---------------------------------------------------------------------------- the check report
def _explanation(cx: Mapping[str, Any]) -> Explanation:
    """The counterexample's sentence, and the rest of :func:`verify.verdicts.format_counterexample` (dedented)."""
    lines = [line for line in format_counterexample(cx).splitlines()[1:] if not line.startswith("  source: ")]
    numbers = "\n".join(line[2:] if line.startswith("  ") else line for line in lines)
    return Explanation(str(cx.get("description") or ""), numbers, str(cx.get("source") or ""))


def _detail_facts(r: Row) -> tuple[Fact, ...]:
    if r.get("error"):
        return (Fact("seed", str(r.get("seed"))), Fact("time", _seconds(r.get("seconds"))))
    facts = [
        Fact("searched", str(r.get("searched") or "—")),
        Fact("examples tried", f"{r.get('examples_tried')} (budget {r.get('budget')}, seed {r.get('seed')})"),
        Fact("relative tolerance", str(r.get("tolerance"))),
        Fact("time", _seconds(r.get("seconds"))),
    ]
    if r.get("domain") and r.get("domain") != "mdps":
        facts.append(Fact("domain", str(r["domain"])))
    if r.get("notes"):
        facts.append(Fact("battery", str(r["notes"])))
    return tuple(facts)


def _paper_cell(claim: str, said: Sequence[PaperClaim]) -> PaperClaim | None:
    return next((c for c in said if c.claim == claim), None)


def _details(rows: Sequence[Row], anchors: Mapping[int, str], figures: Mapping[str, Figure]) -> tuple[Detail, ...]:
    out = []
    for i, r in enumerate(rows):
        said = _paper_cell(str(r["claim"]), paper_says(str(r["mechanism"]), int(r["clones"])))
        verdict = mark(r)
        cx = r.get("counterexample")
        out.append(Detail(
            anchor=anchors[i],
            society=society_label(str(r["mechanism"]), int(r["clones"])),
            claim=str(r["claim"]),
            title=str(r.get("title") or r["claim"]),
            verdict=verdict,
            mark=MARKS[verdict],
            paper="nothing claimed" if said is None else str(said),
            facts=_detail_facts(r),
            explanation=_explanation(cx) if cx and not r.get("error") else None,
            error=str(r["error"]) if r.get("error") else None,
            figure=figures.get(anchors[i]),
        ))
    return tuple(out)


def _verdict_table(rows: Sequence[Row], anchors: Mapping[int, str]) -> VerdictTable:
    columns = _claims_in(rows)
    index = {(str(r["mechanism"]), int(r["clones"]), str(r["claim"])): i for i, r in enumerate(rows)}
    body = []
    for mech, clones in _societies(rows):
        said = paper_says(mech, clones)
        cells = []
        for claim, _ in columns:
            i = index.get((mech, clones, claim))
            if i is None:
                cells.append(VerdictCell(claim, "absent", MARKS["absent"], ""))
                continue
            verdict = mark(rows[i])
            paper = _paper_cell(claim, said)
            differs = paper is not None and verdict != "error" and paper.holds != (verdict == "holds")
            text = MARKS[verdict] + (DIFFERS if differs else "")
            cells.append(VerdictCell(claim, verdict, text, anchors[i], differs))
        body.append(VerdictRow(society_label(mech, clones), mech, clones, tuple(cells), _paper_text(said)))
    return VerdictTable(columns, tuple(body))


def _tolerances(rows: Sequence[Row]) -> tuple[Fact, ...]:
    out = []
    for claim, title in _claims_in(rows):
        mine = [r for r in rows if str(r["claim"]) == claim and not r.get("error")]
        if mine:
            out.append(Fact(title, "relative " + _distinct(mine, "tolerance")))
    return tuple(out)


def _timings(rows: Sequence[Row], table: VerdictTable) -> Timings:
    index = {(str(r["mechanism"]), int(r["clones"]), str(r["claim"])): r for r in rows}
    body = []
    for row in table.rows:
        cells = [_seconds(index[(row.mechanism, row.clones, c)].get("seconds"))
                 if (row.mechanism, row.clones, c) in index else "—" for c, _ in table.columns]
        body.append((row.society, *cells))
    total = sum(float(r.get("seconds") or 0) for r in rows)
    return Timings(Table(("society", *(t for _, t in table.columns)), tuple(body)), _seconds(total),
                   "the sum of every check's wall time; checks on several workers overlap")


def check_report(
    rows: Sequence[Row],
    *,
    directory: str | Path | None = None,
    figures: Sequence[Figure] = (),
    counterexample_figures: Mapping[str, Figure] | None = None,
    title: str = "Agora check: verdicts",
) -> Report:
    """The report of a folder of verdict rows (``verdicts.jsonl``: :func:`verify.records.verdict_rows`).

    Parameters
    ----------
    rows : sequence of mappings
        One row per (mechanism, clones, claim), in table order.
    directory : path, optional
        The report folder: where the command line and git commit are looked for (:func:`provenance`).
    figures : sequence of Figure
        Figures of the whole report (the verdict heat-map).
    counterexample_figures : mapping anchor → Figure
        The drawn counterexample of each failed check, by its detail's anchor (:func:`detail_anchors`).

    Raises
    ------
    ValueError
        When ``rows`` is empty.
    """
    if not rows:
        raise ValueError("no verdict rows to render; run `agora check` first.")
    anchors = detail_anchors(rows)
    table = _verdict_table(rows, anchors)
    failed = sum(1 for r in rows if mark(r) == "fails")
    errors = sum(1 for r in rows if mark(r) == "error")
    summary = Paragraph(
        f"{_count(len(rows), 'check')} of {_count(len(table.rows), 'society', 'societies')} × "
        f"{_count(len(table.columns), 'claim')}: "
        f"{len(rows) - failed - errors} hold, {failed} fail with a counterexample, {errors} could not run. "
        "Every verdict is computed by search and exact analysis; each cell links to its details."
    )
    return Report(
        kind="check",
        title=title,
        summary=(summary,),
        verdicts=table,
        legend=tuple(Fact(k, v) for k, v in LEGEND),
        figures=tuple(figures),
        details=_details(rows, anchors, counterexample_figures or {}),
        tolerances=_tolerances(rows),
        timings=_timings(rows, table),
        provenance=provenance(rows, directory, kind="check"),
    )


def detail_anchors(rows: Sequence[Row]) -> dict[int, str]:
    """Row index → the anchor id of its detail: ``mechanism-clones-claim``, made unique."""
    taken: set[str] = {"verdicts", "legend", "figures", "details", "tolerances", "timings", "provenance"}
    return {i: _unique(anchor_id(r["mechanism"], r["clones"], r["claim"]), taken) for i, r in enumerate(rows)}


# ---------------------------------------------------------------------------- provenance
def git_commit(*places: str | Path | None, timeout: float = GIT_TIMEOUT) -> str | None:
    """``git rev-parse HEAD`` in the first of ``places`` that is inside a git checkout; None when none is
    (or git is absent, or slower than ``timeout`` seconds)."""
    for place in places:
        if place is None or not Path(place).is_dir():
            continue
        try:
            done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=place, capture_output=True, text=True,
                                  timeout=timeout, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        sha = done.stdout.strip()
        if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}([0-9a-f]{24})?", sha):
            return sha
    return None


def source_digests(specs: Iterable[str]) -> tuple[Fact, ...]:
    """For each ``package.module:NAME`` in ``specs``: the sha256 of the source file that defines it.

    The module is imported as :func:`verify.jobs.load_mechanism` does (the working directory on the
    path); the file is :func:`inspect.getsourcefile` of the object (of its module when the object has
    none). A spec that cannot be imported gets the reason instead of a digest.
    """
    out = []
    for spec in dict.fromkeys(s for s in specs if ":" in s):
        module_name, _, attr = spec.partition(":")
        out.append(Fact(f"sha256 of {spec}", _digest(module_name, attr)))
    return tuple(out)


def _digest(module_name: str, attr: str) -> str:
    from mechanism.registry import import_user_module

    try:
        module = import_user_module(module_name)
        obj = getattr(module, attr, module)
        try:
            path = inspect.getsourcefile(obj) or inspect.getsourcefile(module)
        except TypeError:  # an instance (a Mechanism) has no source of its own: its module's file
            path = inspect.getsourcefile(module)
    except Exception as err:  # user code: any failure is reported, never raised
        return f"unavailable ({type(err).__name__}: {err})"
    if not path or not Path(path).is_file():
        return "unavailable (no source file)"
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return f"{digest} ({Path(path).name})"


def _commands(directory: Path | None, rows: Sequence[Row], kind: str) -> str:
    """The command line(s) that wrote the folder: its cell records, else its manifest, else the rows
    (for learning records, whose rows each carry their whole command line: the rows first)."""
    found: list[str] = [] if kind == "check" else [str(r["command"]) for r in rows if r.get("command")]
    if not found and directory is not None and (directory / "cells").is_dir():
        for path in sorted((directory / "cells").glob("*.json")):
            try:
                rec = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(rec, dict) and rec.get("command") and (kind != "check" or rec.get("kind") == "check"):
                found.append(str(rec["command"]))
    if not found and directory is not None and (directory / "manifest.json").is_file():
        try:
            command = json.loads((directory / "manifest.json").read_text(encoding="utf-8")).get("command")
        except (OSError, ValueError, AttributeError):
            command = None
        found += [str(command)] if command else []
    if not found:
        found = [str(r["command"]) for r in rows if r.get("command")]
    return "; ".join(sorted(dict.fromkeys(found))) or "—"


def _library(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"


def provenance(rows: Sequence[Row], directory: str | Path | None = None, *, kind: str = "check") -> tuple[Fact, ...]:
    """Versions, seed, budget, command line, git commit and user sources of a report's rows.

    Only what the records and the folder hold, plus the versions of the libraries that render
    (matplotlib, Jinja2): nothing that changes between two renderings of the same folder on the
    same machine, so `agora report DIR` reproduces a report byte for byte.
    """
    directory = Path(directory) if directory is not None else None
    facts = [
        Fact("Agora", _distinct(rows, "agora_version")),
        Fact("Python", _distinct(rows, "python_version")),
        Fact("numpy", _distinct(rows, "numpy_version")),
        Fact("scipy", _distinct(rows, "scipy_version")),
        Fact("hypothesis", _distinct(rows, "hypothesis_version")),
        Fact("rendered with", f"matplotlib {_library('matplotlib')}, Jinja2 {_library('jinja2')}"),
    ]
    if kind == "check":
        facts += [Fact("seed", _distinct(rows, "seed")), Fact("budget", _distinct(rows, "budget"))]
    else:
        seeds = dict.fromkeys(str(r.get("seeds")) for r in rows if r.get("seeds") is not None)
        facts.append(Fact("seeds", "; ".join(seeds) or "—"))
    stamps = sorted(str(r["timestamp"]) for r in rows if r.get("timestamp"))
    facts.append(Fact("run at", "—" if not stamps else stamps[0] if stamps[0] == stamps[-1]
                      else f"{stamps[0]} to {stamps[-1]}"))
    facts.append(Fact("command", _commands(directory, rows, kind)))
    commit = git_commit(directory, Path.cwd())
    if commit:
        facts.append(Fact("git commit", commit))
    specs = [s for r in rows for s in str(r.get("mechanisms") or "").split(",")]
    specs += [str(r.get("mechanism") or "") for r in rows]
    facts += source_digests(s.strip() for s in specs)
    return tuple(facts)



# ---------------------------------------------------------------------------- figure files
def figure_formats(formats: Iterable[str] | str) -> tuple[str, ...]:
    """SVG first (a page inlines it), then the other requested formats, checked against :data:`reports.figures.FORMATS`.

    Raises
    ------
    ValueError
        Naming ``formats`` and the choices, for an unknown format.
    """
    from reports.figures import FORMATS

    chosen = [formats] if isinstance(formats, str) else list(formats)
    bad = [f for f in chosen if f not in FORMATS]
    if bad:
        raise ValueError(f"formats: unknown figure format {bad[0]!r}; choose from {', '.join(FORMATS)}.")
    return tuple(dict.fromkeys(["svg", *chosen]))


def save_figure(fig: Any, directory: str | Path, stem: str, formats: Sequence[str]) -> list[Path]:
    """:func:`reports.figures.save` as ``directory/stem.<format>``, every name first checked to stay inside
    ``directory`` (:func:`reports.outdir.output_path`)."""
    from reports.figures import save
    from reports.outdir import output_path

    for fmt in formats:
        output_path(directory, f"{stem}.{fmt}")
    return save(fig, Path(directory) / stem, formats)


def property_tests_section(rows: Sequence[Row]) -> Section:
    """The "property tests" section of a report: every hypothesis test of a user's pytest run.

    ``rows`` are ``property_tests.jsonl`` rows (:mod:`verify.testing`): a table of outcome,
    examples (passing / failing / invalid), examples generated, shrinks, seconds, ``max_examples``
    and profile, and why hypothesis stopped; then, for each failure, the error and the shrunk
    falsifying example, and each test's statistics as hypothesis printed them.
    """
    header = ("test", "outcome", "examples: passing / failing / invalid", "generated", "shrinks", "seconds",
              "max_examples (profile)", "stopped because")
    table = Table(header, tuple(
        (str(r["test"]), str(r["outcome"]),
         f"{r.get('passing', '—')} / {r.get('failing', '—')} / {r.get('invalid', '—')}",
         str(r.get("generated", "—")), str(r.get("shrinks_tried", "—")), f"{float(r.get('duration_seconds') or 0):.2f}",
         f"{r.get('max_examples', '—')} ({r.get('profile', '—')})", str(r.get("stopped_because", "—")))
        for r in rows
    ), caption="Every hypothesis test (@given) of the run, with the statistics hypothesis collected.")
    blocks: list[Block] = [table]
    for r in rows:
        if r["outcome"] != "failed" and not r.get("statistics"):
            continue
        blocks.append(Heading(f"{r['test']}: {r['outcome']}"))
        for label, key in (("Error", "error"), ("Shrunk falsifying example", "falsifying_example"),
                           ("Statistics", "statistics")):
            if r.get(key):
                blocks.append(Paragraph(f"**{label}:** {r[key]}"))
    return Section("Property tests", "property-tests", tuple(blocks))
