"""Learning records → the training report (``training.md``, ``training.html``, ``learning.tex``, ``learning.csv``)
and its figures, one section per experiment (or task).

Built from ``runs.jsonl`` and ``checkpoints.jsonl`` (:mod:`verify.records`, written by `agora train
--out` and `agora reproduce`) into the report model (:func:`training_report`, a
:class:`reports.model.Report`) and rendered by :mod:`reports.render`, so `agora report DIR`
redraws everything without re-running. Societies carry the paper's names
(:func:`reports.names.society_label`). Every number and every conclusion is computed from the
records, never written by hand:

* errors are summarised as median [min, max] over seeds;
* steps to ε as "median over k of n; rest never" (:func:`verify.experiments.reach`: the median is
  taken over the seeds that got there, "never" is counted, never used as a number);
* "closest to Q*" is concluded only when a percentile bootstrap over seeds of the difference of
  mean final errors (:func:`verify.experiments.compare`) excludes zero by more than
  :data:`TIE_TOLERANCE`; identical errors, or an interval inside the tolerance, are a tie; the
  rest is "no conclusion".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reports.model import (
    Bullets,
    Fact,
    Figure,
    Heading,
    Paragraph,
    Report,
    Section,
    Table,
    Timings,
    anchor_id,
    figure_formats,
    provenance,
    save_figure,
)
from reports.names import mechanism_name, society_label
from reports.outdir import output_path, unique_stems
from verify.experiments import CONFIDENCE, RESAMPLES, Comparison, Reach, compare, reach
from verify.records import write_csv, write_text

__all__ = [
    "TIE_TOLERANCE",
    "TRAINING",
    "claim_verdict",
    "closest_to_q_star",
    "learning_markdown",
    "main_table",
    "paper_comparison",
    "sample_efficiency_table",
    "sections",
    "society",
    "training_figures",
    "training_report",
    "win_table",
    "write_training_report",
]

Row = Mapping[str, Any]

#: Base name of the rendered report (``training.md``, ``training.html``).
TRAINING = "training"
#: Base name of the learning tables for a paper (``learning.tex``, ``learning.csv``).
LEARNING = "learning"
#: Differences of mean final error below this count as ties (the tables print 3 decimals).
TIE_TOLERANCE = 1e-3
#: The error a "closest to Q*" comparison uses, and its name in the report.
METRICS: dict[str, str] = {
    "final_max_error": "max error over reachable pairs",
    "final_max_error_optimal": "optimal primitive's bid",
}
#: At most this many states get a column in the win-rate table.
WIN_STATES = 12

_PAPER = {
    "bandit": "cloned Vickrey closest to Q*; solitary bids more spread; first price shades below Q*; "
    "environment reward does not pin the bids",
    "chain": "CCV's bids closest to Q* (against bucket brigade and Vickrey)",
    "duality": "the optimal policy alternates 0 <-> 1",
}
#: The neural experiments repeat the tabular ones with PPO bidders; what the authors' PPO bidders reached (issue 12).
_PAPER |= {
    f"{k}-neural": f"{_PAPER[k]}; the authors' PPO bidders, after ~27 minutes (~7 s per 4,096-step epoch), "
    f"bid {gap} away from Q*"
    for k, gap in (("bandit", "0.33"), ("chain", "0.63"))
}


@dataclass(frozen=True)
class _Claim:
    """A paper's "X is closest to Q*": the target society against the others, all with one learner."""

    text: str
    target: tuple[str, int]
    against: tuple[tuple[str, int], ...]


_CLAIMS: dict[str, _Claim] = {
    "bandit": _Claim(
        "cloned Vickrey closest to Q*",
        ("vickrey", 2),
        (("vickrey", 1), ("first_price", 2), ("first_price", 1), ("env_reward", 2), ("env_reward", 1)),
    ),
    "chain": _Claim("CCV's bids closest to Q*", ("ccv", 2), (("vickrey", 2), ("first_price", 2))),
}


# ---------------------------------------------------------------------------- small formats
def sections(runs: Sequence[Row]) -> dict[str, list[Row]]:
    """Runs grouped by experiment (or task when there is none), in first-seen order."""
    out: dict[str, list[Row]] = {}
    for r in runs:
        out.setdefault(str(r.get("experiment") or r["task"]), []).append(r)
    return out


def society(run: Row) -> str:
    """``"CCV, cloned"``, ``"Vickrey, solitary"`` (:func:`reports.names.society_label`), or the learner of a
    monolithic baseline: ``"q_learning (monolithic)"``."""
    if run["mechanism"] == "monolithic":
        return f"{run['learner']} (monolithic)"
    return society_label(str(run["mechanism"]), int(run["clones"]))


def _spread(values: Sequence[float | None], pct: bool = False) -> str:
    """``median [min, max]`` of the numbers (None skipped); a percentage with ``pct``."""
    x = np.array([v for v in values if v is not None], dtype=float)
    if x.size == 0:
        return "—"
    fmt = (lambda v: f"{100 * v:.0f}%") if pct else (lambda v: f"{v:.3f}")
    return f"{fmt(np.median(x))} [{fmt(x.min())}, {fmt(x.max())}]"


def _reach(run: Row, eps: float, key: str = "steps_to") -> Reach:
    return reach(run[key][f"{eps:g}"])


def _main(runs: Sequence[Row]) -> list[Row]:
    return [r for r in runs if "main" in r.get("studies", ["main"])]


# ---------------------------------------------------------------------------- tables
def main_table(runs: Sequence[Row]) -> Table:
    """Final errors, steps to ε and win rates of every run, one row each."""
    eps = [float(e) for e in runs[0]["epsilons"]]
    head = ("learner", "society", "steps", "final max error", "optimal-bid error", "vs fixed point", "regret",
            *(f"steps to {e:g}" for e in eps), "optimal primitive wins")
    rows = []
    for r in runs:
        rows.append((str(r["learner"]), society(r), f"{int(r['steps']):,}", _spread(r["final_max_error"]),
                     _spread(r["final_max_error_optimal"]), _spread(r["final_max_error_fixed_point"]),
                     _spread(r["final_regret"]), *(str(_reach(r, e)) for e in eps),
                     _spread(r["optimal_win_share"], pct=True)))
    return Table(head, tuple(rows))


def win_table(runs: Sequence[Row]) -> Table:
    """Share of the evaluation auctions each primitive wins at each reachable state (see its caption)."""
    live = [s for s, ok in enumerate(runs[0]["reachable"]) if ok]
    shown = live[:WIN_STATES]
    A = int(runs[0]["n_actions"])
    head = ("learner", "society", *(f"s{s}" for s in shown))
    caption = (
        f"Win rates. Cells: the share of auctions won by primitive "
        f"{'/'.join(map(str, range(A))) if A <= 4 else f'0/1/…/{A - 1}'} at each reachable state, in an evaluation "
        "rollout of every seed's final mean bids (mean over the seeds that visit the state; — none does)"
        + (f"; the first {WIN_STATES} of {len(live)} reachable states." if len(live) > WIN_STATES else ".")
    )
    rows = []
    for r in runs:
        cells = ["—" if r["win_rate"][s][0] is None else "/".join(f"{v:.2f}" for v in r["win_rate"][s]) for s in shown]
        rows.append((str(r["learner"]), society(r), *cells))
    return Table(head, tuple(rows), caption)


def _ratio(a: Reach, b: Reach) -> str:
    if a.median is None or b.median is None or b.median == 0:
        return "—"
    ratio = a.median / b.median
    return f"{ratio:,.1f}" if ratio < 10 else f"{ratio:,.0f}"


def sample_efficiency_table(runs: Sequence[Row]) -> Table | None:
    """Steps to ε of each society against the monolithic baseline at every budget; None when there is no such study."""
    study = [r for r in runs if "sample_efficiency" in r.get("studies", [])]
    base = {int(r["budget"]): r for r in study if r["mechanism"] == "monolithic"}
    socs = [r for r in study if r["mechanism"] != "monolithic" and int(r["budget"]) in base]
    if not socs:
        return None
    eps = [float(e) for e in socs[0]["epsilons"]]
    head = ("budget", "society", "learner", "error", *(x for e in eps for x in (f"society to {e:g}",
            f"{base[int(socs[0]['budget'])]['learner']} to {e:g}", "ratio")))
    rows = []
    for r in sorted(socs, key=lambda r: int(r["budget"])):
        q = base[int(r["budget"])]
        for key, name in (("steps_to", "all pairs"), ("steps_to_optimal", "optimal bid")):
            cells = [f"{int(r['budget']):,}", society(r), str(r["learner"]), name]
            for e in eps:
                a, b = _reach(r, e, key), _reach(q, e, key)
                cells += [str(a), str(b), _ratio(a, b)]
            rows.append(tuple(cells))
    return Table(head, tuple(rows))


# ---------------------------------------------------------------------------- conclusions
def _finals(runs: Sequence[Row], metric: str) -> dict[str, list[float]]:
    return {society(r): [float(v) for v in r[metric]] for r in runs}


def closest_to_q_star(groups: Mapping[str, Sequence[float]], tolerance: float = TIE_TOLERANCE) -> str:
    """Which society is closest to Q*, as far as the seeds allow (see the module docstring)."""
    if len(groups) < 2:
        return "one society only: nothing to compare."
    order = sorted(groups, key=lambda k: float(np.mean(groups[k])))
    best = order[0]
    comps = {k: compare(groups[best], groups[k], tolerance=tolerance) for k in order[1:]}
    beaten = [k for k, c in comps.items() if c.outcome == "lower"]
    tied = [k for k, c in comps.items() if c.outcome == "tie"]
    unclear = [k for k, c in comps.items() if c.outcome == "inconclusive"]
    mean = float(np.mean(groups[best]))
    if not tied and not unclear:
        return f"closest: **{best}** ({mean:.3f}), closer than every other society."
    if len(tied) == len(comps):
        return f"**tie** between all {len(groups)} societies (mean final error {mean:.3f})."
    parts = [f"**no single closest society**: lowest mean {best} ({mean:.3f})"]
    if tied:
        parts.append("tie with " + ", ".join(f"{k} ({np.mean(groups[k]):.3f})" for k in tied))
    if unclear:
        parts.append("no conclusion against " + ", ".join(f"{k} ({comps[k]})" for k in unclear))
    if beaten:
        parts.append(f"closer than the other {len(beaten)}")
    return "; ".join(parts) + "."


def claim_verdict(
    target: Sequence[float], others: Mapping[str, Sequence[float]], tolerance: float = TIE_TOLERANCE
) -> tuple[str, dict[str, Comparison]]:
    """"agrees" (the target is closer than every other), "disagrees" (some other is closer),
    "tie", or "inconclusive", with the comparisons that decide it."""
    comps = {k: compare(target, v, tolerance=tolerance) for k, v in others.items()}
    outcomes = {c.outcome for c in comps.values()}
    if "higher" in outcomes:
        return "disagrees", comps
    if "inconclusive" in outcomes:
        return "inconclusive", comps
    if "tie" in outcomes:
        return "tie", comps
    return "agrees", comps


def _claim_lines(claim: _Claim, runs: Sequence[Row]) -> list[str]:
    index = {(r["mechanism"], int(r["clones"])): r for r in runs}
    if claim.target not in index:
        return []
    out = []
    for metric, name in METRICS.items():
        others = {society(index[k]): [float(v) for v in index[k][metric]] for k in claim.against if k in index}
        if not others:
            continue
        verdict, comps = claim_verdict(index[claim.target][metric], others)
        detail = "; ".join(f"vs {k}: {c.outcome}, {c}" for k, c in comps.items())
        n = {c.n_b for c in comps.values()} | {next(iter(comps.values())).n_a}
        out.append(f"'{claim.text}', {name}: **{verdict}** (bootstrap over {'/'.join(map(str, sorted(n)))} "
                   f"seeds per society; {detail}).")
    return out


def _bandit_lines(runs: Sequence[Row]) -> list[str]:
    index = {(r["mechanism"], int(r["clones"])): r for r in runs}
    out = []
    if ("vickrey", 1) in index and ("vickrey", 2) in index:
        solo, twin = index["vickrey", 1]["final_spread_seeds"], index["vickrey", 2]["final_spread_seeds"]
        out.append(f"spread across seeds (max std of a bid): {mechanism_name('vickrey')} solitary {solo:.3f}, "
                   f"cloned {twin:.3f}.")
    if ("first_price", 1) in index:
        r = index["first_price", 1]
        s0, q = int(r["start_state"]), np.asarray(r["q_star"][int(r["start_state"])])
        best = int(np.argmax(q))
        shade = [b[s0][best] - q[best] for b in r["final_bids"]]
        c = compare(shade, [0.0] * len(shade), tolerance=TIE_TOLERANCE)
        word = {"lower": "shades below Q*", "higher": "bids above Q*"}.get(c.outcome, "no shading shown")
        out.append(f"{society(r)}, best arm's bid − Q*: {c} over seeds: {word}.")
    for k in (2, 1):
        if ("env_reward", k) in index:
            out.append(f"{society(index['env_reward', k])}: final max error "
                       f"{_spread(index['env_reward', k]['final_max_error'])}.")
    return out


def paper_comparison(experiment: str, runs: Sequence[Row]) -> Bullets:
    """Sentences setting the measured numbers against the paper's finding: one item per learner, with
    the claims it is held to as sub-items.

    A neural experiment ("chain-neural") is held to the claims of the tabular one it repeats ("chain").
    """
    experiment = experiment.removesuffix("-neural")
    items = []
    for learner in dict.fromkeys(str(r["learner"]) for r in runs):
        mine = [r for r in runs if r["learner"] == learner and r["mechanism"] != "monolithic"]
        if not mine:
            continue
        sub: list[str] = []
        if experiment in _CLAIMS:
            sub += _claim_lines(_CLAIMS[experiment], mine)
        if experiment == "bandit":
            sub += _bandit_lines(mine)
        if experiment == "duality":
            for r in mine:
                ok = sum(abs(float(x)) <= 1e-9 for x in r["final_regret"])
                sub.append(f"{society(r)}: greedy policy optimal (alternates 0 <-> 1) in {ok} of "
                           f"{len(r['final_regret'])} seeds.")
        head = f"{learner}, optimal primitive's bid: " + closest_to_q_star(_finals(mine, "final_max_error_optimal"))
        items.append((head, tuple(sub)))
    return Bullets(tuple(items))


# ---------------------------------------------------------------------------- the report
def _resolution(runs: Sequence[Row]) -> str:
    parts = []
    for (res, exact), n in _count((int(r["resolution"]), bool(r["exact"])) for r in runs).items():
        how = ("after every learner update: exact" if exact else
               "a grid: exact only to the grid, and assuming no excursion above ε between two points")
        parts.append(f"every {res:,} env steps per seed in {n} run(s) ({how})")
    return "; ".join(parts)


def _count(items: Iterable[Any]) -> dict[Any, int]:
    out: dict[Any, int] = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return out


def _header(runs: Sequence[Row]) -> list[Paragraph]:
    r0 = runs[0]
    transform = f" ({r0['transform']})" if r0.get("transform") else ""
    seeds = [int(x) for x in r0["seeds"]]
    span = f"{seeds[0]}..{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else ", ".join(map(str, seeds))
    commands = "; ".join(f"`{c}`" for c in dict.fromkeys(str(r.get("command") or "") for r in runs) if c) or "—"
    return [
        Paragraph(f"Task `{r0['task']}`{transform}, γ = {r0['gamma']}, {len(r0['seeds'])} seeds per run "
                  f"(seeds {span}), {r0.get('episodes')} parallel episodes per seed. "
                  f"agora {r0.get('agora_version')}, numpy {r0.get('numpy_version')}, scipy {r0.get('scipy_version')}, "
                  f"Python {r0.get('python_version')}, {r0.get('timestamp')}. Command: {commands}."),
        Paragraph(f"Steps to ε measured {_resolution(runs)}."),
    ]


#: The figures of a section: file-name suffix, caption and alt text (``{key}`` is the section).
FIGURES: dict[str, tuple[str, str]] = {
    "bids": ("{key}: every primitive's mean bid over training (median over seeds, band from the lowest to the "
             "highest seed) against Q* (dashed), one panel per recorded state and run.",
             "Small multiples of mean bids over env steps for each run of {key}, each primitive's curve beside its "
             "Q* value drawn as a dashed line."),
    "curves": ("{key}: max |bid − Q*| over reachable pairs during training, log axis (median over seeds, band "
               "from the lowest to the highest seed).",
               "Error curves on a log axis, one per run of {key}, falling as the bids approach Q*."),
    "errors": ("{key}: final |bid − Q*| per run, log axis: median over seeds, whiskers from the best to the worst "
               "seed, over all reachable pairs and for the optimal primitive alone.",
               "Final errors of each run of {key} as markers with whiskers on a log axis."),
}


def _section(key: str, runs: Sequence[Row], anchor: str, figures: Sequence[Figure]) -> Section:
    main = _main(runs)
    blocks: list[Any] = list(_header(runs))
    if main:
        blocks += [main_table(main), win_table(main)]
        if key in _PAPER:
            blocks.append(Paragraph(f"Paper: {_PAPER[key]}."))
        blocks += [Paragraph("Measured:"), paper_comparison(key, main), *figures]
    sample = sample_efficiency_table(runs)
    if sample is not None:
        blocks += [Heading("Sample efficiency against the monolithic baseline"),
                   Paragraph("Each budget is a separate run with the same seeds. Steps to ε as in the table above; "
                             "the ratio is society/baseline of the medians over the seeds that got there (— when "
                             "either never did: compare the counts)."), sample]
    return Section(key, anchor, tuple(blocks))


def _legend() -> tuple[Fact, ...]:
    return (
        Fact("final max error", "|mean bid − Q*| at the end of training, max over every reachable, non-terminal "
             "(state, primitive) pair"),
        Fact("optimal-bid error", "the same over the optimal primitive's bids alone"),
        Fact("vs fixed point", "the max error against the mechanism's own truthful fixed point"),
        Fact("regret", "start·V* − start·V^π of the greedy policy"),
        Fact("median [min, max]", "over seeds, for every error above"),
        Fact("steps to ε", "the first env step (per seed) after which the max error stays below ε: the median over "
             "the seeds that got there, how many did, and how many never did within the run"),
        Fact("optimal primitive wins", "the share of evaluation auctions won by an optimal primitive"),
    )


def _tolerances(runs: Sequence[Row]) -> tuple[Fact, ...]:
    eps = dict.fromkeys(f"{float(e):g}" for r in runs for e in r.get("epsilons", []))
    return (
        Fact("ε (steps to ε)", ", ".join(eps) or "—"),
        Fact("tie", f"a difference of mean final errors within ±{TIE_TOLERANCE:g}"),
        Fact("bootstrap", f"{RESAMPLES:,} resamples, {CONFIDENCE:.0%} confidence, percentile interval over seeds"),
    )


def _timings(runs: Sequence[Row], directory: Path | None) -> Timings | None:
    """Seconds per run from the folder's cell records (the sweep runner's); None when it has none."""
    seconds: dict[str, float] = {}
    cells = directory / "cells" if directory is not None else None
    for path in sorted(cells.glob("*.json")) if cells is not None and cells.is_dir() else []:
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
            for row in rec["tables"].get("runs", []):
                seconds[str(row["run"])] = seconds.get(str(row["run"]), 0.0) + float(rec["seconds"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
    mine = [r for r in runs if str(r["run"]) in seconds]
    if not mine:
        return None
    rows = tuple((str(r["learner"]), society(r), f"{int(r['steps']):,}", f"{seconds[str(r['run'])]:.2f} s")
                 for r in mine)
    total = sum(seconds[str(r["run"])] for r in mine)
    return Timings(Table(("learner", "society", "steps", "time"), rows), f"{total:.2f} s",
                   "the sum of every run's wall time, all its seeds included")


def training_report(
    runs: Sequence[Row],
    checkpoints: Sequence[Row] = (),
    *,
    directory: str | Path | None = None,
    figures: Mapping[str, Sequence[Figure]] | None = None,
) -> Report:
    """The report model of a folder of learning records: one section per experiment (or task).

    Parameters
    ----------
    runs, checkpoints : sequences of mappings
        Rows of ``runs.jsonl`` and ``checkpoints.jsonl`` (the checkpoints are drawn by
        :func:`training_figures`; the text needs the runs alone).
    directory : path, optional
        The report folder (command line, git commit, cell timings).
    figures : mapping section → figures, optional
        What :func:`training_figures` drew, shown at the end of each section's results.

    Raises
    ------
    ValueError
        When ``runs`` is empty.
    """
    if not runs:
        raise ValueError("no learning runs to render; run `agora train ... --out DIR` or `agora reproduce` first.")
    folder = None if directory is None else Path(directory)
    parts = sections(runs)
    anchors = {key: "section-" + anchor_id(key) for key in parts}
    summary = (
        Paragraph("Each section compares learning societies with the exact Q* of its task: errors of the final mean "
                  "bids, steps until the error stays below ε, win rates, and the paper's finding against what was "
                  "measured (see the legend for each column)."),
        Paragraph(f"Conclusions such as 'closest to Q*' compare final errors over seeds with a percentile bootstrap "
                  f"of the difference of means ({RESAMPLES:,} resamples, {CONFIDENCE:.0%} confidence): one society "
                  f"is closer only when the interval excludes 0 by more than {TIE_TOLERANCE:g}; identical errors or "
                  f"an interval within ±{TIE_TOLERANCE:g} are a tie; anything else is no conclusion."),
    )
    return Report(
        kind="training",
        title="Learning societies against exact Q*",
        summary=summary,
        legend=_legend(),
        sections=tuple(_section(k, sub, anchors[k], (figures or {}).get(k, ())) for k, sub in parts.items()),
        tolerances=_tolerances(runs),
        timings=_timings(runs, folder),
        provenance=provenance(runs, folder, kind="training"),
    )


def learning_markdown(runs: Sequence[Row]) -> str:
    """The Markdown report of the learning runs (one section per experiment or task), without figures."""
    from reports.render import render_markdown

    return render_markdown(training_report(runs))


# ---------------------------------------------------------------------------- files
def training_figures(
    directory: str | Path, runs: Sequence[Row], checkpoints: Sequence[Row], formats: Iterable[str] | str = ("svg",)
) -> tuple[dict[str, list[Figure]], list[Path]]:
    """Draw and write each section's figures (bids vs Q* for every recorded state, error curves, final
    errors) into ``directory``; returns the :class:`reports.model.Figure` records per section and the paths.

    File names come from the section keys through :func:`reports.outdir.unique_stems` (distinct for
    distinct keys) and are checked to lie inside ``directory`` (:func:`reports.outdir.output_path`).
    """
    from reports.figures import bids_vs_q_star, error_curves, final_error_bars

    directory, chosen = Path(directory), figure_formats(formats)
    ids = {str(r["run"]) for r in runs}
    points = [c for c in checkpoints if str(c["run"]) in ids]
    parts = sections(runs)
    stems = unique_stems(parts)
    out: dict[str, list[Figure]] = {}
    paths: list[Path] = []
    for key, sub in parts.items():
        main = _main(sub)
        if not main:
            continue
        mine = {str(r["run"]) for r in main}
        pts = [c for c in points if str(c["run"]) in mine]
        drawn = {"bids": bids_vs_q_star(main, pts), "curves": error_curves(main, pts), "errors": final_error_bars(main)}
        for kind, fig in drawn.items():
            written = save_figure(fig, directory, f"{stems[key]}_{kind}", chosen)
            paths += written
            caption, alt = (text.format(key=key) for text in FIGURES[kind])
            anchor, names = f"figure-{anchor_id(stems[key], kind)}", tuple(p.name for p in written)
            out.setdefault(key, []).append(Figure(written[0].name, caption, alt, anchor, names))
    return out, paths


def write_training_report(
    directory: str | Path,
    runs: Sequence[Row],
    checkpoints: Sequence[Row],
    *,
    formats: Iterable[str] | str = ("svg",),
    figures: bool = True,
) -> list[Path]:
    """Figures per section, ``learning.tex`` and ``learning.csv``, ``training.html`` and ``training.md``
    in ``directory``; returns the paths written (``training.md`` last).

    Parameters
    ----------
    formats : str or iterable of str
        Figure formats besides SVG, which is always written (the page inlines it): "pdf", "png".
    figures : bool
        Draw the figures (False: text and tables only, e.g. where speed matters).

    Every name is checked to lie inside ``directory`` (:func:`reports.outdir.output_path`): a record cannot
    make the report write elsewhere. Everything is rendered before the text files are written, each atomically.
    """
    from reports.latex import learning_csv_rows, learning_latex
    from reports.render import render_html, render_markdown

    directory = Path(directory)
    drawn, paths = training_figures(directory, runs, checkpoints, formats) if figures else ({}, [])
    report = training_report(runs, checkpoints, directory=directory, figures=drawn)
    markdown, page, tex = render_markdown(report), render_html(report, base=directory), learning_latex(report)
    paths.append(write_text(output_path(directory, f"{LEARNING}.tex"), tex))
    paths.append(write_csv(output_path(directory, f"{LEARNING}.csv"), learning_csv_rows(report)))
    paths.append(write_text(output_path(directory, f"{TRAINING}.html"), page))
    paths.append(write_text(output_path(directory, f"{TRAINING}.md"), markdown))
    return paths
