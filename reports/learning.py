"""Training records → ``training.md`` and figures, one section per experiment.

Rendered from the rows of ``training.jsonl`` (:func:`verify.experiments.reproduce`); the findings
set against the paper's are computed from the rows, never written by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reports.figures import bids_over_training, final_errors, group_runs

__all__ = ["TRAINING", "learning_markdown", "paper_comparison", "write_training_report"]

Row = Mapping[str, Any]

#: Base name of the training records (``training.jsonl``, ``training.csv``).
TRAINING = "training"

_PAPER = {
    "bandit": "cloned Vickrey closest to Q*; solitary bids more spread; first price shades below Q*; "
    "environment reward does not pin the bids",
    "chain": "CCV's bids closest to Q* (against bucket brigade and Vickrey)",
    "duality": "the optimal policy alternates 0 <-> 1",
}


def _finals(rows: Sequence[Row]) -> dict[tuple[str, str, int], list[Row]]:
    return group_runs([r for r in rows if r.get("final")])


def _median(runs: Sequence[Row], field: str) -> float:
    return float(np.median([float(r[field]) for r in runs]))


def _start_bids(runs: Sequence[Row]) -> tuple[np.ndarray, np.ndarray]:
    s0 = int(runs[0]["start_state"])
    return np.array([r["bids"][s0] for r in runs]), np.asarray(runs[0]["q_star"][s0])


def paper_comparison(experiment: str, rows: Sequence[Row]) -> list[str]:
    """Sentences setting the measured numbers against the paper's finding, per bid learner."""
    finals = _finals(rows)
    out = []
    for learner in dict.fromkeys(k[0] for k in finals):
        runs = {k: v for k, v in finals.items() if k[0] == learner}
        err = {k: _median(v, "max_error_optimal") for k, v in runs.items()}
        best = min(err, key=lambda k: err[k])
        out.append(
            f"- {learner}: the optimal primitive's bid is closest to Q* under {best[1]} "
            f"{'cloned' if best[2] > 1 else 'solitary'} (median max error {err[best]:.3f})."
        )
        if experiment == "bandit":
            for k in (("vickrey", 2), ("vickrey", 1), ("first_price", 1), ("env_reward", 2)):
                key = (learner, *k)
                if key not in runs:
                    continue
                bids, q = _start_bids(runs[key])
                mean = bids.mean(axis=0)
                best_arm = int(np.argmax(q))
                out.append(
                    f"  - {k[0]} {'cloned' if k[1] > 1 else 'solitary'}: mean bids {np.round(mean, 3).tolist()} "
                    f"(Q* {np.round(q, 3).tolist()}); best arm {mean[best_arm] - q[best_arm]:+.3f} from Q*; "
                    f"spread across seeds (max std) {bids.std(axis=0).max():.3f}."
                )
        if experiment == "chain":
            cloned = {k[1]: v for k, v in err.items() if k[2] > 1 and k[1] != "env_reward"}
            if cloned:
                order = sorted(cloned, key=lambda m: cloned[m])
                out.append(
                    "  - cloned, by optimal-bid error: "
                    + ", ".join(f"{m} {cloned[m]:.3f}" for m in order)
                    + f" ({'agrees' if order[0] == 'ccv' else 'disagrees'} with 'CCV closest')."
                )
    return out


def learning_markdown(rows: Sequence[Row]) -> str:
    """The Markdown summary of one or more experiments' training rows."""
    lines = ["# Learning societies against exact Q*", ""]
    lines.append(
        "Errors are max |mean bid − Q*| over reachable, non-terminal states (all primitives, and the "
        "optimal primitive alone), at the end of training, median over seeds (worst seed in brackets). "
        "`fixed point` is the error against the mechanism's own truthful fixed point; `regret` is "
        "start·V* − start·V^π of the greedy policy; `steps to ε` the median env steps per seed from "
        "which on the max error stays <= ε (−1: never)."
    )
    for experiment in dict.fromkeys(str(r.get("experiment", r.get("task", ""))) for r in rows):
        sub = [r for r in rows if str(r.get("experiment", r.get("task", ""))) == experiment]
        finals = _finals(sub)
        if not finals:
            continue
        any_run = next(iter(finals.values()))[0]
        lines += ["", f"## {experiment}", "", f"Task `{any_run.get('task', '')}`, {any_run.get('steps')} env steps "
                  f"per seed, {len(next(iter(finals.values())))} seeds, agora {any_run.get('agora_version', '?')}.", ""]
        lines.append("| learner | mechanism | clones | max error | optimal-bid error | fixed point | regret "
                     "| steps to 0.05 | steps to 0.01 |")
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for (learner, mech, k), runs in finals.items():
            worst = max(float(r["max_error"]) for r in runs)
            lines.append(
                f"| {learner} | {mech} | {k} | {_median(runs, 'max_error'):.3f} ({worst:.3f}) "
                f"| {_median(runs, 'max_error_optimal'):.3f} | {_median(runs, 'max_error_fixed_point'):.3f} "
                f"| {_median(runs, 'regret'):.3f} | {int(_median(runs, 'steps_to_0.05'))} "
                f"| {int(_median(runs, 'steps_to_0.01'))} |"
            )
        lines += ["", f"Paper: {_PAPER.get(experiment, '')}.", "", "Measured:", *paper_comparison(experiment, sub)]
        lines += ["", f"![bids]({experiment}_bids.png)", "", f"![errors]({experiment}_errors.png)"]
    return "\n".join(lines) + "\n"


def write_training_report(directory: str | Path, rows: Sequence[Row]) -> list[Path]:
    """Figures per experiment and ``training.md`` in ``directory``; returns the paths written."""
    directory = Path(directory)
    paths = []
    for experiment in dict.fromkeys(str(r.get("experiment", r.get("task", ""))) for r in rows):
        sub = [r for r in rows if str(r.get("experiment", r.get("task", ""))) == experiment]
        paths.append(bids_over_training(sub, directory / f"{experiment}_bids.png", title=f"{experiment}: bids vs Q*"))
        paths.append(final_errors(sub, directory / f"{experiment}_errors.png", title=f"{experiment}: final errors"))
    md = directory / f"{TRAINING}.md"
    md.write_text(learning_markdown(rows), encoding="utf-8")
    paths.append(md)
    return paths
