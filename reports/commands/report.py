"""`agora report DIR`: re-render the reports of a folder from the record files it holds.

Each kind of record file has a renderer in :data:`RENDERERS` (file name → function of the folder
and the figure formats, returning the paths it wrote); the command runs every renderer whose file
exists, so a new kind of record is one more entry. Both build the one report model of their folder
(:func:`reports.model.check_report`, :func:`reports.learning.training_report`) and write its
Markdown, its self-contained HTML page, its LaTeX tables and its figures (SVG, and PDF or PNG with
``--figure-formats``), exactly as the command that wrote the records did.

Before anything is rendered the folder's ``manifest.json`` is checked
(:func:`verify.records.check_manifest`): a folder without one, or whose record files do not match
it (a writer killed midway), or holding a record file the manifest does not list, is refused
with exit status 2 and nothing is written, so a good report is never overwritten with one of a
fragment. Every file is written inside DIR (:func:`reports.outdir.output_path`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def render_verdicts(directory: Path, formats: Sequence[str] = ("svg",)) -> list[Path]:
    """``verdicts.jsonl`` → ``report.md``, ``report.html``, ``verdicts.tex`` and the figures (`agora check`)."""
    from reports.markdown import write_verdict_report
    from verify.records import read_jsonl

    return list(write_verdict_report(directory, read_jsonl(directory / "verdicts.jsonl"), formats=formats))


def render_training(directory: Path, formats: Sequence[str] = ("svg",)) -> list[Path]:
    """``runs.jsonl`` and ``checkpoints.jsonl`` → figures, ``learning.tex``/``.csv``, ``training.html`` and
    ``training.md`` (`agora train --out`, `reproduce`)."""
    from reports.learning import write_training_report
    from verify.records import read_learning_records

    records = read_learning_records(directory)
    return write_training_report(directory, records.runs, records.checkpoints, formats=formats)


#: Record file name → renderer ``(folder, figure formats) -> paths``; the renderers of every file present in DIR run.
RENDERERS: dict[str, Callable[[Path, Sequence[str]], list[Path]]] = {
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
    p.add_argument("--figure-formats", default="svg", metavar="FMT[,FMT]",
                   help="figure formats: svg (always written: the HTML page inlines it), pdf, png (default svg)")
    p.set_defaults(func=run_report)


def parse_figure_formats(text: str) -> tuple[str, ...]:
    """``"pdf,png"`` → ("pdf", "png"); an unknown format is a ValueError naming the flag and the choices."""
    chosen = tuple(x.strip() for x in text.split(",") if x.strip())
    bad = [x for x in chosen if x not in FIGURE_FORMATS]
    if bad or not chosen:
        raise ValueError(f"--figure-formats {text!r}: choose from {', '.join(FIGURE_FORMATS)} (comma-separated).")
    return chosen


#: What --figure-formats accepts (reports.figures.FORMATS, spelled out here so that `--help` imports no matplotlib).
FIGURE_FORMATS = ("svg", "pdf", "png")


def run_report(args: argparse.Namespace) -> int:
    """Render every report whose record file exists in ``args.dir``, once its manifest is checked."""
    directory = Path(args.dir)
    formats = parse_figure_formats(args.figure_formats)
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
        for path in RENDERERS[name](directory, formats):
            print(f"wrote {path}")
    return 0
