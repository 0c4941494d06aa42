"""`agora sweep CONFIG.toml --out DIR`: a grid of checks or training runs on every core or a cluster, resumable.

The config's ``[sweep]`` table names the job kind and the lists to take the product of (schema:
:mod:`verify.sweep_config`, and the README). Each finished cell is written to ``DIR/cells/`` at
once; a rerun of the same command on the same folder runs only the missing cells. When every
cell is done the kind's tables (``verdicts`` or ``runs`` + ``checkpoints``), the report
(``report.md`` or ``training.md``) and ``manifest.json`` (last) are written. Exit 0 when every
cell ran, 3 when some cell raised (the others' records are kept: fix and rerun), 2 for bad
arguments, a bad config or a folder held by another run.

The runner flags (:func:`add_runner_arguments`) are shared with `agora check` and `agora reproduce`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reports import flags
from reports.flags import BACKENDS, runner_options

__all__ = ["BACKENDS", "EXIT_CELL_FAILED", "add_runner_arguments", "register", "render_learning", "render_verdicts",
           "report_failures", "run_sweep", "runner_options"]

EXIT_CELL_FAILED = 3
#: The runner flags (``--jobs``, ``--backend``, ``--scheduler``, ``--no-progress``): :func:`reports.flags.add_runner`.
add_runner_arguments = flags.add_runner


def register(sub: Any) -> None:
    """Add the `sweep` subcommand."""
    p = sub.add_parser(
        "sweep",
        help="run a grid (tasks x mechanisms x clones x learners x seeds) on every core or a cluster, resumable",
        description=(
            "Run every cell of the [sweep] table in CONFIG (a TOML file; lists take the product, scalars are "
            "fixed) and write one record per cell into DIR/cells/ as it finishes; rerunning on the same folder "
            "runs only the missing cells. Then the tables, the report and manifest.json. Exit 0 when every cell "
            "ran, 3 when some cell raised, 2 for bad arguments."
        ),
    )
    config = p.add_argument("config", help="TOML file with a [sweep] table (see the README, `agora sweep`); the grid "
                                      "(mechanisms, clones, seeds) is its keys")
    config.complete = flags.FILE  # shtab: complete file names
    flags.add_out(p, None, what="the sweep folder (resumed when it holds records)", required=True)
    flags.add_runner(p)
    flags.add_format(p)
    p.set_defaults(func=run_sweep)


def render_learning(out: Path, records: Sequence[Any]) -> list[Path]:
    """``training.md`` and its figures from the learning tables the folder now holds."""
    from reports.learning import write_training_report
    from verify.records import read_learning_records

    merged = read_learning_records(out)
    return write_training_report(out, merged.runs, merged.checkpoints)


def render_verdicts(out: Path, records: Sequence[Any]) -> list[Path]:
    """``report.md`` and ``report.html`` from the verdict rows of the records."""
    from reports.markdown import write_verdict_report
    from verify.records import VERDICTS

    return list(write_verdict_report(out, [row for r in records for row in r.tables[VERDICTS]]))


def report_failures(result: Any, command: str) -> int:
    """Print the cells that raised (the first traceback in full); :data:`EXIT_CELL_FAILED`, or 0 when none did."""
    if not result.failed:
        return 0
    for cell, error in result.failed:
        last = error.strip().splitlines()[-1] if error.strip() else "unknown error"
        print(f"agora {command}: cell {cell.key} ({cell.label}) failed: {last}", file=sys.stderr)
    print(result.failed[0][1], file=sys.stderr)
    print(f"agora {command}: {len(result.failed)} of {len(result.cells)} cells failed; the other records are kept "
          "in cells/; fix the cause and rerun the same command to run only the missing cells.", file=sys.stderr)
    return EXIT_CELL_FAILED


def run_sweep(args: argparse.Namespace) -> int:
    """Parse the config, check --out, run the cells, write tables, report and manifest."""
    from reports.outdir import check_out_dir
    from verify.records import command_line
    from verify.sweep import sweep
    from verify.sweep_config import load_config

    options = runner_options(args)
    cells = load_config(args.config)
    out = check_out_dir(args.out)
    command = command_line("agora", ["sweep", args.config], {"out": args.out})
    render = render_verdicts if cells[0].kind == "check" else render_learning
    result = sweep(cells, out, command=command, render=render, **options)
    code = report_failures(result, "sweep")
    if code:
        return code
    if args.format == "json":
        flags.emit_json(args, {"command": command, "kind": cells[0].kind, "cells": len(result.cells), "ran": result.ran,
                               "out": str(out), "files": [str(p) for p in result.paths]})
        return 0
    print(f"{len(result.cells)} {cells[0].kind} cells ({result.ran} run now, {len(result.cells) - result.ran} "
          f"found finished in {out / 'cells'})")
    for p in result.paths:
        print(f"wrote {p}")
    return 0
