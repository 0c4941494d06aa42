"""`agora reproduce NAME|all`: the paper's learning experiments, written as records, figures and Markdown.

Writes ``runs.jsonl``, ``checkpoints.jsonl`` (and ``.csv``) into ``--out`` (schema:
:mod:`verify.records`; runs already there with other ids are kept) and renders ``training.md`` and
the figures from everything the folder then holds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """Add the `reproduce` subcommand."""
    p = sub.add_parser("reproduce", help="reproduce the paper's bandit, chain and duality learning experiments")
    p.add_argument("name", help="bandit, chain, duality or all")
    p.add_argument("--out", default="agora-reproduce", help="output folder (default ./agora-reproduce)")
    p.add_argument("--seeds", type=int, default=10, help="seeds per configuration (default 10)")
    p.add_argument("--seed", type=int, default=0, help="first seed: the seeds are S, S+1, ... (default 0)")
    p.add_argument("--steps", type=int, default=None, help="env steps per seed (default: each experiment's budget)")
    p.add_argument(
        "--budgets",
        default=None,
        metavar="N[,N]",
        help="budgets of the sample-efficiency study against Q-learning (default 50000,200000,800000; 'none' skips it)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_reproduce)


def parse_budgets(text: str | None) -> tuple[int, ...]:
    """``"50000,200000"`` → (50000, 200000); None → the default budgets; ``"none"`` or ``""`` → ()."""
    from verify.experiments import BUDGETS

    if text is None:
        return BUDGETS
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        out = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"--budgets {text!r}: expected comma-separated env step counts, e.g. 50000,200000.") from None
    if any(b < 1 for b in out):
        raise ValueError(f"--budgets {text!r}: every budget must be >= 1.")
    return out


def run_reproduce(args: argparse.Namespace) -> int:
    """Run every mechanism × {cloned, solitary} × bid learner (and the sample-efficiency study); write and render."""
    from reports.learning import write_training_report
    from verify.experiments import EXPERIMENTS, reproduce
    from verify.records import LearningRecords, command_line, read_learning_records, write_learning_records

    names = list(EXPERIMENTS) if args.name == "all" else [args.name]
    for name in names:
        if name not in EXPERIMENTS:
            raise ValueError(f"unknown experiment {name!r}; choose one of {sorted(EXPERIMENTS)} or 'all'.")
    if args.seeds < 1 or args.seed < 0:
        raise ValueError(f"--seeds must be >= 1 and --seed >= 0; got {args.seeds} and {args.seed}.")
    budgets = parse_budgets(args.budgets)
    seeds = list(range(args.seed, args.seed + args.seeds))
    command = command_line("agora", ["reproduce", args.name], {
        "out": args.out, "seeds": args.seeds, "seed": args.seed, "steps": args.steps,
        "budgets": ",".join(map(str, budgets)) or "none",
    })
    out = Path(args.out)
    records = LearningRecords([], [])
    for name in names:
        t0 = time.perf_counter()
        r = reproduce(name, seeds=seeds, steps=args.steps, budgets=budgets, progress=not args.no_progress,
                      command=command)
        records = LearningRecords(records.runs + r.runs, records.checkpoints + r.checkpoints)
        print(f"{name}: {len(r.runs)} runs, {len(r.checkpoints)} checkpoint rows in {time.perf_counter() - t0:.1f} s")
    paths = write_learning_records(out, records)
    merged = read_learning_records(out)
    paths += write_training_report(out, merged.runs, merged.checkpoints)
    for p in paths:
        print(f"wrote {p}")
    return 0
