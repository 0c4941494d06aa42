"""Learning records → figures: bids against Q* over training, error curves, final errors.

All read the tables of :mod:`verify.records` (``runs.jsonl``: one row per run; ``checkpoints.jsonl``:
one row per run × seed × recorded checkpoint), so `agora report DIR` can redraw them without
re-running anything. Curves are drawn at the recorded checkpoints (:data:`verify.experiments.RECORDED`
evenly spaced ones); steps to ε, marked on the error curves, was measured on the run's own grid
(``resolution`` in its run row: every learner update unless the run was too large). Matplotlib runs
on the Agg backend (files only, no display); every figure is written atomically.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from verify.records import atomic_write_bytes

__all__ = ["bids_over_training", "error_over_training", "final_errors", "group_runs", "run_label"]

Row = Mapping[str, Any]
RunKey = tuple[str, str, int]  # (learner, mechanism, clones)


def group_runs(runs: Sequence[Row]) -> dict[RunKey, Row]:
    """Run rows by (learner, mechanism, clones), in first-seen order (a later run with the same key wins)."""
    return {(str(r["learner"]), str(r["mechanism"]), int(r["clones"])): r for r in runs}


def run_label(key: RunKey) -> str:
    """``"ccv cloned, valuation"``."""
    learner, mech, clones = key
    if mech == "monolithic":
        return learner
    return f"{mech} {'cloned' if clones == 2 else 'solitary' if clones == 1 else f'×{clones}'}, {learner}"


def _by_run(checkpoints: Sequence[Row]) -> dict[str, list[Row]]:
    """Checkpoint rows grouped by their run id."""
    out: dict[str, list[Row]] = defaultdict(list)
    for c in checkpoints:
        out[str(c["run"])].append(c)
    return out


def _curves(pts: Sequence[Row], field: str) -> tuple[np.ndarray, np.ndarray]:
    """Env steps (K,) and ``field`` per (checkpoint, seed) (K, N, ...) of one run's rows; NaN where missing."""
    steps = np.array(sorted({int(c["env_steps"]) for c in pts}))
    seeds = sorted({int(c["seed"]) for c in pts})
    first = np.asarray(pts[0][field], dtype=float) if pts else np.zeros(())
    out = np.full((len(steps), len(seeds), *first.shape), np.nan)
    for c in pts:
        value = c[field]
        out[np.searchsorted(steps, int(c["env_steps"])), seeds.index(int(c["seed"]))] = (
            np.nan if value is None else value
        )
    return steps, out


def _save(fig: Figure, path: str | Path) -> Path:
    """Lay out, write atomically (:func:`verify.records.atomic_write_bytes`) at 110 dpi and close; return the path."""
    path = Path(path)
    try:
        fig.tight_layout()
        with atomic_write_bytes(path) as fh:
            fig.savefig(fh, dpi=110, format=path.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    return path


def _panels(groups: Mapping[RunKey, Row]) -> list[tuple[str, int, list[Row]]]:
    """Panel rows of a grid figure: (learner, clones, the runs of that pair in first-seen mechanism order)."""
    rows: dict[tuple[str, int], list[Row]] = {}
    for (lr, _, c), run in groups.items():
        rows.setdefault((lr, c), []).append(run)
    order = sorted(rows, key=lambda k: (list(dict.fromkeys(g[0] for g in groups)).index(k[0]), -k[1]))
    return [(lr, c, rows[lr, c]) for lr, c in order]


def _steps_axis(ax: Axes) -> None:
    """Env steps in thousands, small labels."""
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1000:g}k"))
    ax.tick_params(labelsize=7)


def _kind(learner: str, clones: int, runs: Sequence[Row]) -> str:
    if all(r["mechanism"] == "monolithic" for r in runs):
        return f"{learner} (monolithic)"
    return f"{learner}, {'cloned' if clones == 2 else 'solitary' if clones == 1 else f'×{clones}'}"


def _band(ax: Axes, steps: np.ndarray, y: np.ndarray, color: str, label: str) -> None:
    """Median over seeds (axis 1) and a band from the lowest to the highest seed."""
    with np.errstate(all="ignore"):
        ax.plot(steps, np.nanmedian(y, axis=1), color=color, lw=1.2, label=label)
        ax.fill_between(steps, np.nanmin(y, axis=1), np.nanmax(y, axis=1), color=color, alpha=0.2)


def bids_over_training(runs: Sequence[Row], checkpoints: Sequence[Row], path: str | Path, title: str = "") -> Path:
    """One panel per run, a row per (learner, clones): every primitive's mean bid at the start state
    over training (median over seeds, band from the lowest to the highest seed), Q* dashed."""
    groups, points = group_runs(runs), _by_run(checkpoints)
    rows = _panels(groups)
    ncols = max(len(r[2]) for r in rows)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(3.2 * ncols, 2.4 * len(rows)), squeeze=False, sharey=True)
    for i, (_, _, row) in enumerate(rows):
        for j in range(ncols):
            ax = axes[i][j]
            if j >= len(row):
                ax.set_visible(False)
                continue
            run = row[j]
            s0 = int(run["start_state"])
            steps, bids = _curves(points[str(run["run"])], "bids_start")
            q = np.asarray(run["q_star"][s0])
            for a in range(len(q)):
                if bids.size:
                    _band(ax, steps, bids[:, :, a], f"C{a}", f"primitive {a}")
                ax.axhline(q[a], color=f"C{a}", ls="--", lw=0.8)
            ax.set_title(run_label((str(run["learner"]), str(run["mechanism"]), int(run["clones"]))), fontsize=8)
            _steps_axis(ax)
            if i == len(rows) - 1:
                ax.set_xlabel("env steps per seed", fontsize=7)
            if j == 0:
                ax.set_ylabel(f"mean bid at state {s0}", fontsize=7)
    axes[0][0].legend(fontsize=6, loc="lower right")
    fig.suptitle(title or "bids (solid, seed band) against Q* (dashed)", fontsize=9)
    return _save(fig, path)


def error_over_training(runs: Sequence[Row], checkpoints: Sequence[Row], path: str | Path, title: str = "") -> Path:
    """One panel per (learner, clones): max |bid − Q*| over reachable pairs over training, one curve
    per mechanism (median over seeds, band over seeds) at the recorded checkpoints, log scale (errors
    below 10⁻⁶ drawn at 10⁻⁶), the ε thresholds dotted, and a tick on the x axis at the median steps
    to the smallest ε of the seeds that got there (measured on the run's own, finer grid)."""
    groups, points = group_runs(runs), _by_run(checkpoints)
    rows = _panels(groups)
    fig, axes = plt.subplots(len(rows), 1, figsize=(6.4, 2.4 * len(rows)), squeeze=False)
    for i, (lr, c, row) in enumerate(rows):
        ax = axes[i][0]
        for j, run in enumerate(row):
            steps, err = _curves(points[str(run["run"])], "max_error")
            if err.size:
                _band(ax, steps, np.maximum(err, 1e-6), f"C{j}", str(run["mechanism"]))
            eps = min(float(e) for e in run["epsilons"])
            hit = [int(v) for v in run["steps_to"][f"{eps:g}"] if v is not None]
            if hit:
                ax.plot([int(np.median(hit))], [1e-6], marker="|", ms=12, color=f"C{j}", clip_on=False)
        for e in row[0]["epsilons"]:
            ax.axhline(float(e), color="0.4", ls=":", lw=0.8)
        ax.set_yscale("log")
        ax.set_ylim(1e-6, 1.5)
        ax.set_title(_kind(lr, c, row), fontsize=8)
        _steps_axis(ax)
        ax.set_ylabel("max |bid − Q*|", fontsize=7)
        ax.legend(fontsize=6, loc="upper right")
    axes[-1][0].set_xlabel("env steps per seed (ticks: median steps to the smallest ε)", fontsize=7)
    fig.suptitle(title or "max error over training (median, seed band; ε dotted)", fontsize=9)
    return _save(fig, path)


def final_errors(runs: Sequence[Row], path: str | Path, title: str = "") -> Path:
    """Bar chart of the final max |bid − Q*| over reachable pairs (median over seeds; whiskers
    from the best to the worst seed), and the same for the optimal primitive's bid alone."""
    groups = group_runs(runs)
    keys = list(groups)
    x = np.arange(len(keys))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(keys)), 3.6))
    bars = ((-0.2, "final_max_error", "all reachable pairs"), (0.2, "final_max_error_optimal", "optimal primitive"))
    for off, field, name in bars:
        vals = [np.asarray(groups[k][field], dtype=float) for k in keys]
        med = np.array([np.median(v) for v in vals])
        lo = med - np.array([v.min() for v in vals])
        hi = np.array([v.max() for v in vals]) - med
        ax.bar(x + off, med, width=0.4, yerr=[lo, hi], capsize=2, label=name)
    ax.set_xticks(x, [run_label(k) for k in keys], rotation=70, ha="right", fontsize=7)
    ax.set_ylabel("final max |bid − Q*|", fontsize=8)
    ax.legend(fontsize=7)
    ax.set_title(title or "final bid error against Q* (reachable states)", fontsize=9)
    return _save(fig, path)
