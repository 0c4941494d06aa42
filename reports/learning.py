"""Learning records → ``training.md`` and figures, one section per experiment (or task).

Rendered from ``runs.jsonl`` and ``checkpoints.jsonl`` (:mod:`verify.records`, written by
`agora train --out` and `agora reproduce`), so `agora report DIR` redraws everything without
re-running. Every number and every conclusion is computed from the records, never written by hand:

* errors are summarised as median [min, max] over seeds;
* steps to ε as "median over k of n; rest never" (:func:`verify.experiments.reach`: the median is
  taken over the seeds that got there, "never" is counted, never used as a number);
* "closest to Q*" is concluded only when a percentile bootstrap over seeds of the difference of
  mean final errors (:func:`verify.experiments.compare`) excludes zero by more than
  :data:`TIE_TOLERANCE`; identical errors, or an interval inside the tolerance, are a tie; the
  rest is "no conclusion".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reports.figures import bids_over_training, error_over_training, final_errors
from reports.outdir import output_path, unique_stems
from verify.experiments import CONFIDENCE, RESAMPLES, Comparison, Reach, compare, reach
from verify.records import write_text

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
    "win_table",
    "write_training_report",
]

Row = Mapping[str, Any]

#: Base name of the rendered report (``training.md``).
TRAINING = "training"
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
    """``"ccv cloned"``, ``"ccv solitary"``, ``"ccv ×3"``, or the learner of a monolithic baseline."""
    if run["mechanism"] == "monolithic":
        return f"{run['learner']} (monolithic)"
    k = int(run["clones"])
    return f"{run['mechanism']} {'solitary' if k == 1 else 'cloned' if k == 2 else f'×{k}'}"


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
def main_table(runs: Sequence[Row]) -> list[str]:
    """Final errors, steps to ε and win rates of every run, one line each (Markdown)."""
    eps = [float(e) for e in runs[0]["epsilons"]]
    head = ["learner", "society", "steps", "final max error", "optimal-bid error", "vs fixed point", "regret",
            *(f"steps to {e:g}" for e in eps), "optimal primitive wins"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        cells = [r["learner"], society(r), f"{int(r['steps']):,}", _spread(r["final_max_error"]),
                 _spread(r["final_max_error_optimal"]), _spread(r["final_max_error_fixed_point"]),
                 _spread(r["final_regret"]), *(str(_reach(r, e)) for e in eps),
                 _spread(r["optimal_win_share"], pct=True)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def win_table(runs: Sequence[Row]) -> list[str]:
    """Share of the evaluation auctions each primitive wins at each reachable state (Markdown)."""
    live = [s for s, ok in enumerate(runs[0]["reachable"]) if ok]
    shown = live[:WIN_STATES]
    A = int(runs[0]["n_actions"])
    head = ["learner", "society", *(f"s{s}" for s in shown)]
    lines = [
        f"Cells: the share of auctions won by primitive {'/'.join(map(str, range(A))) if A <= 4 else f'0/1/…/{A - 1}'}"
        " at each reachable state, in an evaluation "
        "rollout of every seed's final mean bids (mean over the seeds that visit the state; — none does)"
        + (f"; the first {WIN_STATES} of {len(live)} reachable states." if len(live) > WIN_STATES else "."),
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in runs:
        cells = ["—" if r["win_rate"][s][0] is None else "/".join(f"{v:.2f}" for v in r["win_rate"][s]) for s in shown]
        lines.append("| " + " | ".join([r["learner"], society(r), *cells]) + " |")
    return lines


def _ratio(a: Reach, b: Reach) -> str:
    if a.median is None or b.median is None or b.median == 0:
        return "—"
    ratio = a.median / b.median
    return f"{ratio:,.1f}" if ratio < 10 else f"{ratio:,.0f}"


def sample_efficiency_table(runs: Sequence[Row]) -> list[str]:
    """Steps to ε of each society against the monolithic baseline at every budget (Markdown); [] when none."""
    study = [r for r in runs if "sample_efficiency" in r.get("studies", [])]
    base = {int(r["budget"]): r for r in study if r["mechanism"] == "monolithic"}
    socs = [r for r in study if r["mechanism"] != "monolithic" and int(r["budget"]) in base]
    if not socs:
        return []
    eps = [float(e) for e in socs[0]["epsilons"]]
    head = ["budget", "society", "learner", "error", *(x for e in eps for x in (f"society to {e:g}",
            f"{base[int(socs[0]['budget'])]['learner']} to {e:g}", "ratio"))]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in sorted(socs, key=lambda r: int(r["budget"])):
        q = base[int(r["budget"])]
        for key, name in (("steps_to", "all pairs"), ("steps_to_optimal", "optimal bid")):
            cells = [f"{int(r['budget']):,}", society(r), r["learner"], name]
            for e in eps:
                a, b = _reach(r, e, key), _reach(q, e, key)
                cells += [str(a), str(b), _ratio(a, b)]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


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
        out.append(f"  - '{claim.text}', {name}: **{verdict}** (bootstrap over {'/'.join(map(str, sorted(n)))} "
                   f"seeds per society; {detail}).")
    return out


def _bandit_lines(runs: Sequence[Row]) -> list[str]:
    index = {(r["mechanism"], int(r["clones"])): r for r in runs}
    out = []
    if ("vickrey", 1) in index and ("vickrey", 2) in index:
        solo, twin = index["vickrey", 1]["final_spread_seeds"], index["vickrey", 2]["final_spread_seeds"]
        out.append(f"  - spread across seeds (max std of a bid): vickrey solitary {solo:.3f}, cloned {twin:.3f}.")
    if ("first_price", 1) in index:
        r = index["first_price", 1]
        s0, q = int(r["start_state"]), np.asarray(r["q_star"][int(r["start_state"])])
        best = int(np.argmax(q))
        shade = [b[s0][best] - q[best] for b in r["final_bids"]]
        c = compare(shade, [0.0] * len(shade), tolerance=TIE_TOLERANCE)
        word = {"lower": "shades below Q*", "higher": "bids above Q*"}.get(c.outcome, "no shading shown")
        out.append(f"  - first price solitary, best arm's bid − Q*: {c} over seeds: {word}.")
    for k in (2, 1):
        if ("env_reward", k) in index:
            out.append(f"  - {society(index['env_reward', k])}: final max error "
                       f"{_spread(index['env_reward', k]['final_max_error'])}.")
    return out


def paper_comparison(experiment: str, runs: Sequence[Row]) -> list[str]:
    """Sentences setting the measured numbers against the paper's finding, per learner.

    A neural experiment ("chain-neural") is held to the claims of the tabular one it repeats ("chain").
    """
    experiment = experiment.removesuffix("-neural")
    out = []
    for learner in dict.fromkeys(str(r["learner"]) for r in runs):
        mine = [r for r in runs if r["learner"] == learner and r["mechanism"] != "monolithic"]
        if not mine:
            continue
        out.append(f"- {learner}, optimal primitive's bid: "
                   + closest_to_q_star(_finals(mine, "final_max_error_optimal")))
        if experiment in _CLAIMS:
            out += _claim_lines(_CLAIMS[experiment], mine)
        if experiment == "bandit":
            out += _bandit_lines(mine)
        if experiment == "duality":
            for r in mine:
                ok = sum(abs(float(x)) <= 1e-9 for x in r["final_regret"])
                out.append(f"  - {society(r)}: greedy policy optimal (alternates 0 <-> 1) in {ok} of "
                           f"{len(r['final_regret'])} seeds.")
    return out


# ---------------------------------------------------------------------------- the report
def _resolution(runs: Sequence[Row]) -> str:
    parts = []
    for (res, exact), n in _count((int(r["resolution"]), bool(r["exact"])) for r in runs).items():
        how = ("after every learner update: exact" if exact else
               "a grid: exact only to the grid, and assuming no excursion above ε between two points")
        parts.append(f"every {res:,} env steps per seed in {n} run(s) ({how})")
    return "; ".join(parts)


def _count(items: Any) -> dict[Any, int]:
    out: dict[Any, int] = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return out


def _header(key: str, runs: Sequence[Row]) -> list[str]:
    r0 = runs[0]
    transform = f" ({r0['transform']})" if r0.get("transform") else ""
    seeds = [int(x) for x in r0["seeds"]]
    span = f"{seeds[0]}..{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else ", ".join(map(str, seeds))
    commands = "; ".join(f"`{c}`" for c in dict.fromkeys(str(r.get("command") or "") for r in runs) if c) or "—"
    return [
        f"## {key}", "",
        f"Task `{r0['task']}`{transform}, γ = {r0['gamma']}, {len(r0['seeds'])} seeds per run "
        f"(seeds {span}), {r0.get('episodes')} parallel episodes per seed. "
        f"agora {r0.get('agora_version')}, numpy {r0.get('numpy_version')}, scipy {r0.get('scipy_version')}, "
        f"Python {r0.get('python_version')}, {r0.get('timestamp')}. Command: {commands}.", "",
        f"Steps to ε measured {_resolution(runs)}.", "",
    ]


def _section(key: str, runs: Sequence[Row], stem: str) -> list[str]:
    main = _main(runs)
    lines = _header(key, runs)
    if main:
        lines += [*main_table(main), "", "Win rates:", "", *win_table(main)]
        paper = [f"Paper: {_PAPER[key]}.", ""] if key in _PAPER else []
        lines += ["", *paper, "Measured:", *paper_comparison(key, main)]
        lines += ["", f"![bids]({stem}_bids.png)", "", f"![error curves]({stem}_curves.png)", "",
                  f"![final errors]({stem}_errors.png)"]
    sample = sample_efficiency_table(runs)
    if sample:
        lines += ["", "### Sample efficiency against the monolithic baseline", "",
                  "Each budget is a separate run with the same seeds. Steps to ε as in the table above; "
                  "the ratio is society/baseline of the medians over the seeds that got there (— when either never "
                  "did: compare the counts).", "", *sample]
    return [*lines, ""]


def learning_markdown(runs: Sequence[Row]) -> str:
    """The Markdown report of the learning runs (one section per experiment or task)."""
    if not runs:
        raise ValueError("no learning runs to render; run `agora train ... --out DIR` or `agora reproduce` first.")
    lines = [
        "# Learning societies against exact Q*", "",
        "Errors are |mean bid − Q*| over the reachable, non-terminal states at the end of training: the max over "
        "every (state, primitive) pair, the max over the optimal primitive's bids alone, and the max against the "
        "mechanism's own truthful fixed point; `regret` is start·V* − start·V^π of the greedy policy. Each is "
        "given as median [min, max] over seeds. `steps to ε`: the first env step (per seed) after which the max "
        "error stays below ε, as the median over the seeds that got there, how many did, and how many never did "
        "within the run. `optimal primitive wins`: the share of evaluation auctions won by an optimal primitive.",
        "",
        f"Conclusions such as 'closest to Q*' compare final errors over seeds with a percentile bootstrap of the "
        f"difference of means ({RESAMPLES:,} resamples, {CONFIDENCE:.0%} confidence): one society is closer only "
        "when the interval "
        f"excludes 0 by more than {TIE_TOLERANCE:g}; identical errors or an interval within ±{TIE_TOLERANCE:g} "
        "are a tie; anything else is no conclusion.",
        "",
    ]
    parts = sections(runs)
    stems = unique_stems(parts)
    for key, sub in parts.items():
        lines += _section(key, sub, stems[key])
    return "\n".join(lines)


def write_training_report(directory: str | Path, runs: Sequence[Row], checkpoints: Sequence[Row]) -> list[Path]:
    """Figures per section and ``training.md`` in ``directory``; returns the paths written.

    File names come from the section keys (a record's ``experiment`` or ``task``) through
    :func:`reports.outdir.unique_stems` (distinct for distinct keys) and are checked to lie inside ``directory``
    (:func:`reports.outdir.output_path`): a record cannot make the report write elsewhere.
    """
    directory = Path(directory)
    paths = []
    ids = {str(r["run"]) for r in runs}
    points = [c for c in checkpoints if str(c["run"]) in ids]
    parts = sections(runs)
    stems = unique_stems(parts)
    for key, sub in parts.items():
        main, stem = _main(sub), stems[key]
        if not main:
            continue
        mine = {str(r["run"]) for r in main}
        pts = [c for c in points if str(c["run"]) in mine]
        out = {kind: output_path(directory, f"{stem}_{kind}.png") for kind in ("bids", "curves", "errors")}
        paths.append(bids_over_training(main, pts, out["bids"], title=f"{key}: bids vs Q*"))
        paths.append(error_over_training(main, pts, out["curves"], title=f"{key}: max error"))
        paths.append(final_errors(main, out["errors"], title=f"{key}: final errors"))
    paths.append(write_text(output_path(directory, f"{TRAINING}.md"), learning_markdown(runs)))
    return paths
