"""`agora report DIR`: re-render the reports of a folder from the record files it holds.

Each kind of record file has a renderer in :data:`RENDERERS` (file name → function of the folder
returning the paths it wrote); the command runs every renderer whose file exists, so a new kind
of record is one more entry.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any


def render_verdicts(directory: Path) -> list[Path]:
    """``verdicts.jsonl`` → ``report.md`` and ``report.html`` (`agora check`)."""
    from reports.markdown import write_verdict_report
    from verify.records import read_jsonl

    return list(write_verdict_report(directory, read_jsonl(directory / "verdicts.jsonl")))


def render_training(directory: Path) -> list[Path]:
    """``runs.jsonl`` and ``checkpoints.jsonl`` → figures and ``training.md`` (`agora train --out`, `reproduce`)."""
    from reports.learning import write_training_report
    from verify.records import read_learning_records

    records = read_learning_records(directory)
    return write_training_report(directory, records.runs, records.checkpoints)


#: Record file name → renderer; the renderers of every file present in DIR run.
RENDERERS: dict[str, Callable[[Path], list[Path]]] = {
    "verdicts.jsonl": render_verdicts,
    "runs.jsonl": render_training,
}


def register(sub: Any) -> None:
    """Add the `report` subcommand."""
    p = sub.add_parser(
        "report", help="re-render the reports of a folder written by `agora check`, `agora train --out` or `reproduce`"
    )
    p.add_argument("dir", help="folder holding record files (" + ", ".join(RENDERERS) + ")")
    p.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    """Render every report whose record file exists in ``args.dir``."""
    directory = Path(args.dir)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a folder; pass the folder `agora check --out` wrote.")
    present = [name for name in RENDERERS if (directory / name).exists()]
    if not present:
        legacy = " (its training.jsonl is the old one-table format: re-run `agora reproduce`)" if (
            directory / "training.jsonl"
        ).exists() else ""
        raise FileNotFoundError(f"{directory} holds none of the record files {', '.join(RENDERERS)}{legacy}.")
    for name in present:
        for path in RENDERERS[name](directory):
            print(f"wrote {path}")
    return 0
