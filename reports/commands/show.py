"""`agora show DIR`: replay the counterexamples of a report folder: print each in full, and draw it.

DIR is any folder that holds ``verdicts.jsonl``: written by `agora check`, `agora sweep` or
``pytest --agora-report``. Every failed verdict there (its claim did not hold and the check ran)
is read back through :meth:`verify.Verdict.from_dict`, which rebuilds the counterexample's MDP
and bids (:meth:`verify.Counterexample.from_dict`), and printed with
:func:`verify.testing.describe_verdict`: the whole MDP, the bids, where it fails, the numbers, what
was searched and the call that finds it again. ``--claim``, ``--society "ccv x1"``, ``--mechanism``
and ``--clones`` narrow the choice (each repeatable and a comma list; a verdict must match every
flag given). ``--out FILE.svg`` (or ``.png``, ``.pdf``) draws each chosen counterexample with
:func:`reports.drawing.draw_counterexample` and saves it with :func:`reports.figures.save`; with
several, each file is named ``FILE-<mechanism>-x<clones>-<claim>.svg``. ``--format json`` prints
one JSON document: each chosen verdict's identity, its counterexample dict and its text.

Exit status 0 when something was shown, 2 for a folder without ``verdicts.jsonl`` or no failed
verdict matching the flags (the message lists the failed verdicts the folder does hold).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reports import flags

#: What ``--out`` may end with: the formats the figures are saved in.
FIGURE_FORMATS = ("svg", "png", "pdf")
_SOCIETY = re.compile(r"^\s*(\S+?)\s*[x×]\s*(\d+)\s*$")

Row = Mapping[str, Any]


def _society(text: str) -> tuple[str, int]:
    """``"ccv x1"`` → ``("ccv", 1)`` (``--society``)."""
    match = _SOCIETY.match(text)
    if not match or int(match.group(2)) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected a society as MECHANISM xK, e.g. \"ccv x1\" (solitary) or \"vickrey x2\" (cloned)."
        )
    return match.group(1), int(match.group(2))


def register(sub: Any) -> None:
    """Add the `show` subcommand."""
    p = sub.add_parser(
        "show",
        help="print and draw the counterexamples of a report folder (agora check, sweep or pytest --agora-report)",
        description=(
            "Replay the failed verdicts of DIR/verdicts.jsonl: each counterexample's MDP and bids are rebuilt and "
            "printed in full; with --out, drawn. Exit 0 when something was shown, 2 when DIR has no verdicts.jsonl "
            "or no failed verdict matches the flags."
        ),
    )
    p.add_argument("dir", metavar="DIR", help="a folder holding verdicts.jsonl (or the verdicts.jsonl file itself)")
    p.add_argument("--claim", action=flags.ListAction, item=str, example="truthful,conserves_credit",
                   metavar="NAME[,NAME]", help="only these claims (default: every failed one)")
    p.add_argument("--society", action=flags.ListAction, item=_society, example='"ccv x1,vickrey x2"',
                   metavar='"MECH xK"', help='only these societies, e.g. "ccv x1" (solitary) or "ccv x2" (cloned)')
    p.add_argument("--mechanism", action=flags.ListAction, item=str, example="ccv,vickrey", metavar="NAME[,NAME]",
                   help="only these mechanisms, by the name the records hold (a user mechanism: its name)")
    flags.add_clones(p, "every setting")
    out = p.add_argument("--out", metavar="FILE", default=None,
                         help="draw each counterexample into FILE (.svg, .png or .pdf); several: FILE-<society>-<claim>"
                         )
    out.complete = flags.FILE  # shtab: complete file names
    flags.add_format(p)
    p.set_defaults(func=run_show)


def _verdicts_file(directory: str) -> Path:
    """``DIR/verdicts.jsonl`` (or DIR itself when it is that file), or FileNotFoundError saying what to pass."""
    path = Path(directory).expanduser()
    if path.is_file() and path.suffix == ".jsonl":
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is not a folder; pass a report folder written by `agora check --out DIR`, "
                                "`agora sweep` or `pytest --agora-report DIR`.")
    found = path / "verdicts.jsonl"
    if not found.is_file():
        other = sorted(p.name for p in path.glob("*.jsonl"))
        held = f" (it holds {', '.join(other)}: learning records have no counterexamples)" if other else ""
        raise FileNotFoundError(f"{path} has no verdicts.jsonl{held}; pass a folder written by `agora check --out "
                                "DIR`, `agora sweep` or `pytest --agora-report DIR`.")
    return found


def _label(row: Row) -> str:
    return f"{row.get('mechanism')} x{row.get('clones')} {row.get('claim')}"


def _matches(row: Row, args: argparse.Namespace) -> bool:
    """Whether ``row`` passes every filter flag given."""
    society = (str(row.get("mechanism")), int(row.get("clones") or 0))
    return (
        (not args.claim or row.get("claim") in args.claim)
        and (not args.society or society in args.society)
        and (not args.mechanism or society[0] in args.mechanism)
        and (not args.clones or society[1] in args.clones)
    )


def _failed(row: Row) -> bool:
    return row.get("error") is None and not row.get("holds") and bool(row.get("counterexample"))


def _filters(args: argparse.Namespace) -> str:
    parts = [f"--claim {','.join(args.claim)}" if args.claim else "",
             "--society " + ",".join(f'"{m} x{k}"' for m, k in args.society) if args.society else "",
             f"--mechanism {','.join(args.mechanism)}" if args.mechanism else "",
             f"--clones {','.join(map(str, args.clones))}" if args.clones else ""]
    return " ".join(p for p in parts if p) or "(no filter)"


def select(rows: Sequence[Row], args: argparse.Namespace, source: Path) -> list[Row]:
    """The failed verdict rows that match the flags, in file order; ValueError naming what exists when none does."""
    chosen = [r for r in rows if _failed(r) and _matches(r, args)]
    if chosen:
        return chosen
    failed = [_label(r) for r in rows if _failed(r)]
    errors = [_label(r) for r in rows if r.get("error") is not None and _matches(r, args)]
    held = [_label(r) for r in rows if r.get("error") is None and r.get("holds") and _matches(r, args)]
    could_not = (f"; matching but could not run (no counterexample): {', '.join(errors)}" if errors else "") + (
        f"; matching and holding: {', '.join(held)}" if held else "")
    if not failed:
        raise ValueError(f"{source} holds {len(rows)} verdict(s) and none failed with a counterexample{could_not}: "
                         "nothing to show.")
    raise ValueError(f"no failed verdict in {source} matches {_filters(args)}{could_not}. The failed verdicts there: "
                     f"{', '.join(failed)}.")


def _figure_target(out: str | None) -> tuple[Path, str] | None:
    """``--out FILE``: (the path without its suffix, the format), checked before any drawing."""
    if out is None:
        return None
    from reports.outdir import check_out_dir

    path = Path(out).expanduser()
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FIGURE_FORMATS:
        raise ValueError(f"--out {out!r}: the file must end in {', '.join('.' + f for f in FIGURE_FORMATS)}; "
                         "e.g. --out counterexample.svg.")
    check_out_dir(path.parent if str(path.parent) else ".", flag="--out")
    return path.with_suffix(""), fmt


def draw(verdicts: Sequence[Any], stem: Path, fmt: str) -> list[Path]:
    """Draw each verdict's counterexample (:func:`reports.drawing.draw_counterexample`) and save it; the paths."""
    try:
        from reports.drawing import draw_counterexample
        from reports.figures import save
    except ImportError as err:
        raise ValueError(f"--out: drawing needs reports.drawing and reports.figures.save, not available here ({err}); "
                         "run without --out to print the counterexamples.") from None
    from reports.outdir import safe_name

    paths: list[Path] = []
    for v in verdicts:
        name = stem if len(verdicts) == 1 else stem.with_name(
            f"{stem.name}-{safe_name(v.mechanism)}-x{v.clones}-{safe_name(v.claim)}")
        paths += save(draw_counterexample(v.counterexample), name, formats=(fmt,))  # figures outside pyplot
    return paths


def run_show(args: argparse.Namespace) -> int:
    """Read DIR's verdicts, pick the failed ones the flags match, print each (and draw it with --out)."""
    from verify.records import read_jsonl
    from verify.testing import describe_verdict
    from verify.verdicts import Verdict

    source = _verdicts_file(args.dir)
    target = _figure_target(args.out)  # a bad --out costs nothing
    rows = select(read_jsonl(source), args, source)
    verdicts = []
    for row in rows:
        try:
            verdicts.append(Verdict.from_dict(row))
        except (TypeError, ValueError) as err:
            raise ValueError(f"{source}: the counterexample of {_label(row)} cannot be read back: {err}") from None
    figures = [] if target is None else draw(verdicts, *target)
    if args.format == "json":
        flags.emit_json(args, {
            "source": str(source),
            "counterexamples": [
                {"mechanism": v.mechanism, "clones": v.clones, "claim": v.claim, "title": v.title,
                 "test": row.get("test"), "domain": v.domain, "seed": v.seed, "budget": v.budget,
                 "examples_tried": v.examples_tried, "searched": v.searched, "notes": v.notes,
                 "counterexample": None if v.counterexample is None else v.counterexample.to_dict(),
                 "text": describe_verdict(v)}
                for v, row in zip(verdicts, rows, strict=True)
            ],
            "figures": [str(p) for p in figures],
        })
        return 0
    for i, (v, row) in enumerate(zip(verdicts, rows, strict=True)):
        if i:
            print()
        test = f" (test {row['test']})" if row.get("test") else ""
        print(f"== {v.mechanism} x{v.clones}: {v.claim}{test} ==")
        print(describe_verdict(v))
    for path in figures:
        print(f"wrote {path}")
    return 0
