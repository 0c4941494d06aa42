"""`agora reproduce NAME|all`: the paper's learning experiments, written as records, figures and Markdown."""

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
    p.add_argument("--steps", type=int, default=None, help="env steps per seed (default: each experiment's budget)")
    p.set_defaults(func=run_reproduce)


def run_reproduce(args: argparse.Namespace) -> int:
    """Run every mechanism × {cloned, solitary} × bid learner; write training.{jsonl,csv}, figures, training.md."""
    from reports.learning import TRAINING, write_training_report
    from verify.experiments import EXPERIMENTS, reproduce
    from verify.records import write_records

    names = list(EXPERIMENTS) if args.name == "all" else [args.name]
    for name in names:
        if name not in EXPERIMENTS:
            raise ValueError(f"unknown experiment {name!r}; choose one of {sorted(EXPERIMENTS)} or 'all'.")
    out = Path(args.out)
    rows: list[dict[str, Any]] = []
    for name in names:
        t0 = time.perf_counter()
        _, r = reproduce(name, seeds=args.seeds, steps=args.steps)
        rows.extend(r)
        print(f"{name}: {len(r)} rows in {time.perf_counter() - t0:.1f} s")
    paths = [*write_records(out, TRAINING, rows), *write_training_report(out, rows)]
    for p in paths:
        print(f"wrote {p}")
    return 0
