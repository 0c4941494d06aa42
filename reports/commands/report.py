"""`agora report DIR`: re-render the reports of a folder from the record files it holds.

Each kind of record file has a renderer in :data:`RENDERERS` (file name → function of the folder
returning the paths it wrote); the command runs every renderer whose file exists, so a new kind
of record is one more entry.

Before anything is rendered the folder's ``manifest.json`` is checked
(:func:`verify.records.check_manifest`): a folder without one, or whose record files do not match
it (a writer killed midway), or holding a record file the manifest does not list, is refused
with exit status 2 and nothing is written, so a good report is never overwritten with one of a
fragment. Every file is written inside DIR (:func:`reports.outdir.output_path`).
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
#: Every record file a renderer reads: each one present in DIR must be listed in its manifest.
READS: tuple[str, ...] = ("verdicts.jsonl", "runs.jsonl", "checkpoints.jsonl")


def check_folder(directory: Path) -> None:
    """Refuse (:class:`verify.records.IncompleteRecordsError`) a folder whose records are not whole.

    The manifest must be present and match every file it lists, and list every record file of
    :data:`READS` that the folder holds.
    """
    from verify.records import MANIFEST, IncompleteRecordsError, check_manifest

    listed = check_manifest(directory)["files"]
    unlisted = [name for name in READS if (directory / name).exists() and name not in listed]
    if unlisted:
        raise IncompleteRecordsError(
            f"{directory / unlisted[0]} is not listed in {directory / MANIFEST}: it was written by a command that "
            "did not finish (or by an older agora); rerun the command that wrote it on the same folder (it resumes)."
        )


def register(sub: Any) -> None:
    """Add the `report` subcommand."""
    p = sub.add_parser(
        "report", help="re-render the reports of a folder written by `agora check`, `agora train --out` or `reproduce`"
    )
    p.add_argument("dir", help="folder holding record files (" + ", ".join(RENDERERS) + ")")
    p.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    """Render every report whose record file exists in ``args.dir``, once its manifest is checked."""
    directory = Path(args.dir)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a folder; pass the folder `agora check --out` wrote.")
    present = [name for name in RENDERERS if (directory / name).exists()]
    if not present:
        legacy = " (its training.jsonl is the old one-table format: re-run `agora reproduce`)" if (
            directory / "training.jsonl"
        ).exists() else ""
        raise FileNotFoundError(f"{directory} holds none of the record files {', '.join(RENDERERS)}{legacy}.")
    check_folder(directory)
    for name in present:
        for path in RENDERERS[name](directory):
            print(f"wrote {path}")
    return 0
