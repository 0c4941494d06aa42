"""`agora reproduce tworooms`: pretrain on green, transfer to blue; records, a table, a verdict and figures.

:func:`run` runs :func:`verify.tworooms.run_study` and writes into ``out`` (every file atomically):

``tworooms.jsonl``
    One row per learner × seed: the contender (``key, label, group, over, learner, mechanism,
    clones, hyperparameters``), the budget (``size, pretrain_steps, transfer_steps, episodes,
    checkpoints, threshold``), the seed, the measurements (``success_pretrained``: exact success
    of the greedy policy on green at the end of pretraining; ``success_zero_shot``: on blue before
    any transfer step; ``success_final``: on blue at the end; ``steps_to_threshold``: base env
    steps after the transfer until the success stays >= the threshold, None for "not within the
    run"; ``scratch_steps_to_threshold`` and ``success_scratch_final`` the same for training on
    blue from scratch; the curves ``pretrain_steps_at, pretrain_success, transfer_steps_at,
    transfer_success, scratch_steps_at, scratch_success``, each seed on its own base-step clock;
    for neural learners ``moved_policy, relative_policy, moved_value, relative_value`` and
    ``moved_threshold``), the contender's wall time ``seconds``, the versions and timestamp
    (:func:`verify.records.environment`) and the ``command`` that reproduces it.
``tworooms.md``
    The table (per learner: success after pretraining, at the transfer's start and at its end,
    base steps to 90 % after the transfer and from scratch as the lower median over the seeds that
    got there and their count, weights moved) and a verdict computed from the rows (:func:`verdict`).
``tworooms_transfer.png``, ``tworooms_transfer.svg``
    Success-rate curves while pretraining (green), after the transfer (blue) and from scratch
    (blue), one line per learner (median over seeds) with a band from the lowest to the highest seed.

The table and the verdict are functions of the rows alone (:func:`table`, :func:`verdict`), so
they can be re-rendered from ``tworooms.jsonl``.
"""

from __future__ import annotations

import json
import math
import pathlib
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits

from reports.figures import save
from reports.studies import study_folder
from verify.records import environment, read_jsonl, write_jsonl, write_text
from verify.tworooms import QUICK, LearnerRun, StudyConfig, run_study

__all__ = ["FIGURE", "MARKDOWN", "RECORDS", "records", "run", "table", "verdict"]

Row = Mapping[str, Any]

RECORDS = "tworooms.jsonl"
MARKDOWN = "tworooms.md"
FIGURE = "tworooms_transfer"


def _jsonable(value: Any) -> Any:
    """A hyperparameter as JSON: a callable by its name (the features function), tuples as lists."""
    if callable(value):
        return getattr(value, "__qualname__", type(value).__name__)
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _hyperparameters(run: LearnerRun) -> dict[str, Any]:
    return {k: _jsonable(v) for k, v in run.transfer.config.hyperparameters}


def _rounded(x: Any) -> Any:
    return np.round(np.asarray(x, dtype=float), 6).tolist()


def _seed_row(run: LearnerRun, i: int, config: StudyConfig) -> dict[str, Any]:
    """The measurements of seed row ``i`` of ``run`` (module docstring)."""
    c = run.contender
    pre, post = config.steps(c)
    row: dict[str, Any] = {
        "study": "tworooms", "key": c.key, "label": c.label, "group": c.group, "over": c.over,
        "learner": c.learner, "mechanism": run.transfer.config.mechanism, "clones": run.transfer.config.clones,
        "hyperparameters": _hyperparameters(run), "size": config.size, "pretrain_steps": pre,
        "transfer_steps": post, "episodes": config.episodes, "checkpoints": config.checkpoints,
        "transfer_checkpoints": config.transfer_checkpoints, "threshold": config.threshold,
        "seed": run.seeds[i],
        "success_pretrained": round(float(run.pre_success[-1, i]), 6),
        "success_zero_shot": round(float(run.post_success[0, i]), 6),
        "success_final": round(float(run.post_success[-1, i]), 6),
        "steps_to_threshold": run.steps_to[i],
        "scratch_steps_to_threshold": run.scratch_steps_to[i],
        "success_scratch_final": round(float(run.scratch_success[-1, i]), 6),
        "pretrain_steps_at": run.pre_steps[:, i].tolist(), "pretrain_success": _rounded(run.pre_success[:, i]),
        "transfer_steps_at": run.post_steps[:, i].tolist(), "transfer_success": _rounded(run.post_success[:, i]),
        "scratch_steps_at": run.scratch_steps[:, i].tolist(), "scratch_success": _rounded(run.scratch_success[:, i]),
        "moved_threshold": config.moved if run.moved else None,
        "seconds": round(run.seconds, 3),
    }
    for net in ("policy", "value"):
        moved = run.moved.get(net) if run.moved else None
        row[f"moved_{net}"] = None if moved is None else round(float(moved.fraction[i]), 6)
        row[f"relative_{net}"] = None if moved is None else round(float(moved.relative[i]), 6)
    return row


def records(runs: Sequence[LearnerRun], config: StudyConfig, command: str) -> list[dict[str, Any]]:
    """One row per learner × seed (module docstring), each with the versions and the command line."""
    env = environment()
    return [{**_seed_row(run, i, config), **env, "command": command} for run in runs for i in range(len(run.seeds))]


# ---------------------------------------------------------------------------------------------- table
def _by_key(rows: Sequence[Row]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for r in rows:
        out.setdefault(str(r["key"]), []).append(r)
    return out


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def _spread(values: Sequence[float]) -> str:
    """``mean (min–max)`` to two decimals."""
    return f"{_mean(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def reach_of(rows: Sequence[Row], field: str = "steps_to_threshold") -> tuple[int | None, int, int]:
    """(lower median of ``field`` over the seeds that got there, how many did, seeds)."""
    hit = [int(r[field]) for r in rows if r[field] is not None]
    return (statistics.median_low(hit) if hit else None), len(hit), len(rows)


def reach_text(rows: Sequence[Row], field: str = "steps_to_threshold") -> str:
    """``"1,500 (5 of 5)"``, or ``"never (0 of 5)"``."""
    med, hit, total = reach_of(rows, field)
    return f"never (0 of {total})" if med is None else f"{med:,} ({hit} of {total})"


def _never_is_inf(rows: Sequence[Row], field: str = "steps_to_threshold") -> list[float]:
    return [math.inf if r[field] is None else float(r[field]) for r in rows]


def median_all(rows: Sequence[Row], field: str = "steps_to_threshold") -> float:
    """Lower median of ``field`` over *every* seed, a seed that never got there counting as ∞."""
    return float(statistics.median_low(_never_is_inf(rows, field)))


def _moved_text(rows: Sequence[Row]) -> str:
    if rows[0].get("moved_policy") is None:
        return "—"
    frac = _mean([float(r["moved_policy"]) for r in rows])
    rel = _mean([float(r["relative_policy"]) for r in rows])
    return f"{frac:.0%} (‖Δw‖/‖w‖ {rel:.2f})"


def table(rows: Sequence[Row]) -> str:
    """The Markdown table of the rows (one line per learner, in first-seen order)."""
    lines = [
        "| learner | success after pretraining (green) | success at transfer start (blue) | "
        "base steps to 90 % after transfer: median (seeds) | final success (blue) | "
        "base steps to 90 % from scratch (blue) | policy weights moved in transfer |",
        "|---|---|---|---|---|---|---|",
    ]
    for group in _by_key(rows).values():
        lines.append(
            f"| {group[0]['label']} | {_spread([r['success_pretrained'] for r in group])} | "
            f"{_spread([r['success_zero_shot'] for r in group])} | {reach_text(group)} | "
            f"{_spread([r['success_final'] for r in group])} | {reach_text(group, 'scratch_steps_to_threshold')} | "
            f"{_moved_text(group)} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- verdict
#: One-sided significance of the rank test behind "faster" and "slower".
ALPHA = 0.05


def compare_steps(x: Sequence[float], y: Sequence[float]) -> str:
    """``"faster"``, ``"slower"`` or ``"no different"``: steps ``x`` (per seed) against ``y``, ∞ for never.

    Faster: a one-sided Mann–Whitney U test (scipy.stats.mannwhitneyu; ranks handle ∞) rejects
    "x is not smaller" at :data:`ALPHA`; with 5 seeds against 5 that needs nearly every seed of x
    ahead of every seed of y. Equal samples, or never against never, are no different.
    """
    from scipy.stats import mannwhitneyu

    if sorted(x) == sorted(y) or all(math.isinf(v) for v in (*x, *y)):
        return "no different"
    if mannwhitneyu(x, y, alternative="less").pvalue < ALPHA:
        return "faster"
    if mannwhitneyu(x, y, alternative="greater").pvalue < ALPHA:
        return "slower"
    return "no different"


def compare(a: Sequence[Row], b: Sequence[Row]) -> str:
    """:func:`compare_steps` of two learners' base steps to the threshold after the transfer."""
    return compare_steps(_never_is_inf(a), _never_is_inf(b))


def _steps(rows: Sequence[Row], field: str = "steps_to_threshold") -> str:
    m = median_all(rows, field)
    return "never" if math.isinf(m) else f"{int(m):,}"


def _named(by: Mapping[str, Sequence[Row]], keys: Sequence[str]) -> str:
    return ", ".join(f"{by[k][0]['label']} ({_steps(by[k])})" for k in keys)


def _society_sentence(by: Mapping[str, Sequence[Row]], s: str, others: Sequence[str]) -> str:
    verdicts = {k: compare(by[s], by[k]) for k in others}
    clauses = [f"{lead} {_named(by, keys)}" for word, lead in (
        ("faster", "transfers faster than"), ("no different", "is not distinguishable from"),
        ("slower", "is slower than")) if (keys := [k for k in others if verdicts[k] == word])]
    return f"The {by[s][0]['label']} ({_steps(by[s])}) " + "; ".join(clauses) + "."


def _exploration_sentence(by: Mapping[str, Sequence[Row]], matched: str, society: str) -> str:
    textbook = [k for k in by if by[k][0]["group"] == "hierarchical" and by[k][0]["learner"] == by[matched][0][
        "learner"]]
    now = compare(by[society], by[matched])
    text = (f"With the society's exploration, {by[matched][0]['label']} needs {_steps(by[matched])} and the "
            f"tabular society is {now}")
    if not textbook:
        return text + "."
    was = compare(by[society], by[textbook[0]])
    text += f" (against {_named(by, textbook)} it is {was})"
    if was != "faster":
        return text + ": there is no advantage of the society over Q-learning for the exploration to explain."
    return text + (": matching the exploration erases the society's advantage." if now != "faster"
                   else ": matching the exploration does not erase the society's advantage.")


def _ablation_sentence(by: Mapping[str, Sequence[Row]], ablated: str) -> str:
    full = [k for k in by if by[k][0]["group"] == "society" and by[k][0]["learner"] == by[ablated][0]["learner"]]
    mono = [k for k in by if by[k][0]["group"] == "hierarchical" and by[k][0]["learner"] == "ppo_monolithic"]
    text = f"Ablation: the {by[ablated][0]['label']} needs {_steps(by[ablated])}"
    if full:
        text += f", {compare(by[ablated], by[full[0]])} than with it ({_steps(by[full[0]])})".replace(
            "no different than", "not distinguishable from what it needs")
    if mono:
        text += f", and against {_named(by, mono)} it is {compare(by[ablated], by[mono[0]])}"
    return text + "."


def _pretraining_sentence(by: Mapping[str, Sequence[Row]]) -> str:
    worse = [k for k, g in by.items() if compare_steps(
        _never_is_inf(g), _never_is_inf(g, "scratch_steps_to_threshold")) == "slower"]
    better = [k for k, g in by.items() if compare_steps(
        _never_is_inf(g), _never_is_inf(g, "scratch_steps_to_threshold")) == "faster"]
    return (f"Against the same learner trained on blue from scratch (same budget), pretraining on green makes "
            f"learning blue slower for {len(worse)} of {len(by)} learners"
            + (f" ({', '.join(by[k][0]['label'] for k in worse)})" if worse else "")
            + f" and faster for {len(better)}" + (f" ({', '.join(by[k][0]['label'] for k in better)})" if better
                                                 else "") + ".")


def _weights_sentence(by: Mapping[str, Sequence[Row]]) -> str:
    neural = [k for k, g in by.items() if g[0].get("moved_policy") is not None]
    if not neural:
        return ""
    threshold = by[neural[0]][0]["moved_threshold"]
    return (f"Policy weights that moved by more than {threshold:g} during the transfer (mean over seeds; relative "
            "norm of the change): " + ", ".join(f"{by[k][0]['label']} {_moved_text(by[k])}" for k in neural) + ".")


def verdict(rows: Sequence[Row]) -> str:
    """A paragraph computed from the rows: does the society transfer faster, does matched exploration erase it?

    Every comparison is :func:`compare_steps` on the base steps to the threshold after the transfer.
    """
    by = _by_key(rows)
    n = len(next(iter(by.values())))
    parts = [f"Base steps after the transfer until the greedy policy's exact success stays at or above "
             f"{float(rows[0]['threshold']):.0%}, lower median over {n} seeds (never = ∞); \"faster\" means a "
             f"one-sided Mann–Whitney test over the seeds at p < {ALPHA}."]
    society = [k for k in by if by[k][0]["group"] == "society"]
    others = [k for k in by if by[k][0]["group"] in ("hierarchical", "flat")]
    parts += [_society_sentence(by, s, others) for s in society]
    parts += [_exploration_sentence(by, m, s) for m in by if by[m][0]["group"] == "exploration-matched"
              for s in society if by[s][0]["learner"] == "valuation"]
    parts += [_ablation_sentence(by, k) for k in by if by[k][0]["group"] == "ablation"]
    parts.append(_pretraining_sentence(by))
    parts.append(_weights_sentence(by))
    return " ".join(p for p in parts if p)


# ---------------------------------------------------------------------------------------------- figure
def _on_grid(group: Sequence[Row], steps_key: str, curve_key: str, points: int = 200) -> tuple[Any, Any]:
    """Every seed's success curve on one grid of base steps, (points,) and (N, points).

    Success changes only at checkpoints, so the value at x is the one at the seed's last
    checkpoint at or before x (its own base-step clock); the grid ends at the shortest seed's end.
    """
    end = min(float(r[steps_key][-1]) for r in group)
    x = np.linspace(0.0, end, points)
    y = np.empty((len(group), points))
    for i, r in enumerate(group):
        at = np.asarray(r[steps_key], dtype=float)
        y[i] = np.asarray(r[curve_key], dtype=float)[np.searchsorted(at, x, side="right") - 1]
    return x, y


def figure(rows: Sequence[Row], out: pathlib.Path) -> list[pathlib.Path]:
    """Success curves: pretraining (green), transfer (blue) and blue from scratch; median and min–max band over
    seeds, one line per learner (solid over options, dashed over actions); PNG and SVG."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 5.2), sharey=True)
    cmap = plt.get_cmap("tab10")
    panels = (("pretrain_steps_at", "pretrain_success", "pretraining: reach green"),
              ("transfer_steps_at", "transfer_success", "transfer: reach blue from the pretrained state"),
              ("scratch_steps_at", "scratch_success", "reference: reach blue from scratch"))
    for i, group in enumerate(_by_key(rows).values()):
        style = "-" if group[0]["over"] == "options" else "--"
        for ax, (steps_key, curve_key, _) in zip(axes, panels, strict=True):
            x, y = _on_grid(group, steps_key, curve_key, points=400)
            ax.plot(x, np.median(y, axis=0), style, color=cmap(i % 10), lw=1.4,
                    label=str(group[0]["label"]) if ax is axes[0] else None)
            ax.fill_between(x, y.min(axis=0), y.max(axis=0), color=cmap(i % 10), alpha=0.12)
    for ax, (_, _, title) in zip(axes, panels, strict=True):
        ax.set_title(title, fontsize=10)
        ax.set_xscale("symlog", linthresh=100.0)
        ax.set_xlim(left=0.0)
        ax.set_xlabel("base env steps per seed (linear below 100, then log)")
        ax.set_ylim(-0.02, 1.02)
        ax.axhline(float(rows[0]["threshold"]), color="grey", lw=0.6, ls=":")
        ax.tick_params(labelsize=8)
    axes[0].set_ylabel("exact success rate of the greedy policy")
    fig.legend(loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0.0, 0.1, 1.0, 1.0))
    try:
        return save(fig, out / FIGURE, ("png", "svg"))
    finally:
        plt.close(fig)


def markdown(rows: Sequence[Row], seconds: float | None = None) -> str:
    """The whole ``tworooms.md``: what was run, the table, the verdict."""
    r0 = rows[0]
    timing = f" Wall time {seconds:.0f} s." if seconds is not None else ""
    return "\n\n".join([
        "# TwoRooms: pretrain on green, transfer to blue",
        f"Rooms of side {r0['size']} (S = {3 * int(r0['size']) ** 2 + 1} states), γ = 0.99; every learner pretrained "
        f"on green, then trained on blue from its pretrained state (same seeds). Success: the exact probability, "
        "over the start cells, that the recorded greedy policy reaches the goal within the time limit (base steps). "
        f"Seeds {sorted({int(r['seed']) for r in rows})}; command `{r0['command']}`.{timing}",
        table(rows),
        "**Verdict.** " + verdict(rows),
        f"![success curves]({FIGURE}.png)",
    ]) + "\n"


# ---------------------------------------------------------------------------------------------- run
def run(
    out: pathlib.Path, *, seeds: int = 5, seed: int = 0, quick: bool = False, command: str | None = None
) -> dict[str, Any]:
    """Run the study (:func:`verify.tworooms.run_study`) and write records, table and figures into ``out``.

    ``command`` is the command line written into every record (default: the `agora reproduce`
    line that repeats this run).

    Returns a summary: ``{"files": [...], "seconds": ..., "learners": {key: {"steps_to_threshold":
    [...], "median": ..., "reached": ..., "success_final": mean}}, "verdict": str}``.
    """
    out = study_folder(out, seeds, seed)
    config = QUICK if quick else StudyConfig()
    start = time.perf_counter()
    with threadpool_limits(limits=1):  # the same numbers whatever the machine's BLAS threads
        runs = run_study(config, range(seed, seed + seeds))
    if command is None:
        command = f"agora reproduce tworooms --seeds {seeds} --seed {seed}" + (" (quick)" if quick else "")
    rows = records(runs, config, command)
    seconds = time.perf_counter() - start
    files = [write_jsonl(out / RECORDS, rows)]
    rows = read_jsonl(out / RECORDS)  # render from what was written
    files += figure(rows, out)
    files.append(write_text(out / MARKDOWN, markdown(rows, seconds)))
    summary = {key: {"steps_to_threshold": [r["steps_to_threshold"] for r in group],
                     "median": reach_of(group)[0], "reached": reach_of(group)[1],
                     "success_final": _mean([float(r["success_final"]) for r in group])}
               for key, group in _by_key(rows).items()}
    reached = sum(1 for v in summary.values() if v["reached"] == len(range(seed, seed + seeds)))
    headline = (f"{len(summary)} learners x {seeds} seeds, {reached} of them reach 90 % success on blue after the "
                "transfer in every seed (tworooms.md)")
    return {"files": [str(f) for f in files], "seconds": seconds, "learners": summary, "verdict": verdict(rows),
            "headline": headline}


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run(pathlib.Path("agora-tworooms")), indent=1))
