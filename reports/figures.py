"""Training records → figures: bids against Q* over training (with seed bands), and final errors.

Both read the tidy rows of ``training.jsonl`` (:func:`verify.experiments.reproduce`), so
`agora report DIR` can redraw them without re-running anything. Matplotlib runs on the Agg
backend (files only, no display).
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
from matplotlib.figure import Figure

__all__ = ["bids_over_training", "final_errors", "group_runs"]

Row = Mapping[str, Any]
RunKey = tuple[str, str, int]  # (learner, mechanism, clones)


def group_runs(rows: Sequence[Row]) -> dict[RunKey, list[Row]]:
    """Rows of one experiment grouped by (learner, mechanism, clones), in first-seen order."""
    groups: dict[RunKey, list[Row]] = defaultdict(list)
    for r in rows:
        groups[(str(r["learner"]), str(r["mechanism"]), int(r["clones"]))].append(r)
    return dict(groups)


def _label(key: RunKey) -> str:
    learner, mech, clones = key
    return f"{mech} {'cloned' if clones > 1 else 'solitary'}, {learner}"


def _save(fig: Figure, path: str | Path) -> Path:
    """Lay out, write (creating the folder) at 110 dpi and close a figure; return its path."""
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def bids_over_training(rows: Sequence[Row], path: str | Path, title: str = "") -> Path:
    """One panel per (learner, clones) × mechanism: every primitive's mean bid at the start state
    over training (median over seeds, band from the lowest to the highest seed), Q* dashed."""
    groups = group_runs(rows)
    learners = list(dict.fromkeys(k[0] for k in groups))
    clones = sorted({k[2] for k in groups}, reverse=True)
    mechs = list(dict.fromkeys(k[1] for k in groups))
    panel_rows = [(lr, c) for lr in learners for c in clones]
    fig, axes = plt.subplots(
        len(panel_rows), len(mechs), figsize=(3.2 * len(mechs), 2.4 * len(panel_rows)), squeeze=False, sharey=True
    )
    for i, (lr, c) in enumerate(panel_rows):
        for j, mech in enumerate(mechs):
            ax = axes[i][j]
            runs = groups.get((lr, mech, c), [])
            if not runs:
                ax.set_visible(False)
                continue
            s0 = int(runs[0]["start_state"])
            steps = np.array(sorted({int(r["env_steps"]) for r in runs}))
            seeds = sorted({int(r["seed"]) for r in runs})
            bids = np.full((len(steps), len(seeds), len(runs[0]["q_star"][s0])), np.nan)
            for r in runs:
                bids[np.searchsorted(steps, int(r["env_steps"])), seeds.index(int(r["seed"]))] = r["bids"][s0]
            q = np.asarray(runs[0]["q_star"][s0])
            for a in range(bids.shape[-1]):
                color = f"C{a}"
                ax.plot(steps, np.median(bids[:, :, a], axis=1), color=color, lw=1.2, label=f"primitive {a}")
                ax.fill_between(steps, bids[:, :, a].min(axis=1), bids[:, :, a].max(axis=1), color=color, alpha=0.2)
                ax.axhline(q[a], color=color, ls="--", lw=0.8)
            ax.set_title(_label((lr, mech, c)), fontsize=8)
            ax.tick_params(labelsize=7)
            if i == len(panel_rows) - 1:
                ax.set_xlabel("env steps per seed", fontsize=7)
            if j == 0:
                ax.set_ylabel(f"mean bid at state {s0}", fontsize=7)
    axes[0][0].legend(fontsize=6, loc="lower right")
    fig.suptitle(title or "bids (solid, seed band) against Q* (dashed)", fontsize=9)
    return _save(fig, path)


def final_errors(rows: Sequence[Row], path: str | Path, title: str = "") -> Path:
    """Bar chart of the final max |bid − Q*| over reachable pairs (median over seeds; whiskers
    from the best to the worst seed), and the same for the optimal primitive's bid alone."""
    finals = [r for r in rows if r.get("final")]
    groups = group_runs(finals)
    keys = list(groups)
    x = np.arange(len(keys))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(keys)), 3.6))
    bars = ((-0.2, "max_error", "all reachable pairs"), (0.2, "max_error_optimal", "optimal primitive"))
    for off, field, name in bars:
        vals = [np.array([r[field] for r in groups[k]]) for k in keys]
        med = np.array([np.median(v) for v in vals])
        lo = med - np.array([v.min() for v in vals])
        hi = np.array([v.max() for v in vals]) - med
        ax.bar(x + off, med, width=0.4, yerr=[lo, hi], capsize=2, label=name)
    ax.set_xticks(x, [_label(k) for k in keys], rotation=70, ha="right", fontsize=7)
    ax.set_ylabel("final max |bid − Q*|", fontsize=8)
    ax.legend(fontsize=7)
    ax.set_title(title or "final bid error against Q* (reachable states)", fontsize=9)
    return _save(fig, path)
