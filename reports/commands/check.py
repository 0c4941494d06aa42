"""`agora check`: check every claim for built-in or user mechanisms and write a report folder.

Exit status: 0 when every check ran, whatever the verdicts (a failed claim is a finding, not an
error); 3 when some check could not run (a mechanism whose rule raises, returns NaN or an invalid
winner, or is not a function of the bids: recorded as an error verdict, the others kept); 1 with
``--strict`` when a claim fails; 2 for bad arguments (an unknown mechanism or claim name, a
``package.module:NAME`` that cannot be imported or is not a Mechanism, an ``--out`` that cannot
be written, a folder another run holds).

It runs on the sweep runner (:mod:`verify.sweep`): one cell per mechanism × clones × claim, each
record written to ``OUT/cells/`` as it finishes, so ``--jobs N`` (and ``--backend``) spread the
cells over processes or a cluster and rerunning the same command on the same folder checks only
what a killed run left unchecked. The verdicts are those of :func:`verify.check` with the same seed.

Seeds. ``--seed S`` is the seed of every search (default 0: same seed, same report) and ``--seeds N``
(default 1) repeats every check with the seeds S, S+1, ..., S+N−1, one cell each. Every row of
``verdicts.jsonl`` carries its seed; the printed table and the report show one verdict per society
and claim over the seeds (:func:`reports.verdict_rows.merge_seeds`): a claim fails when any seed finds a counterexample.

The shared flags (:mod:`reports.flags`): ``--mechanism`` (repeatable, comma lists, ``package.module:NAME``),
``--clones``, ``--seeds``/``--seed``, ``--format table|json`` (json: ``{"verdicts": [every row], ...}``),
``--out``, ``--jobs`` and the runner's ``--backend``/``--scheduler``, ``--no-progress``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reports import flags
from reports.commands.sweep import report_failures
from reports.verdict_rows import merge_seeds

EXIT_CHECK_FAILED = 3
EXIT_STRICT = 1


def register(sub: Any) -> None:
    """Add the `check` subcommand."""
    p = sub.add_parser(
        "check",
        help="check the claims (truthful, credit, myopic and farsighted equilibrium, optimality) and write a report",
        description=(
            "Check every claim of DESIGN §1 for a mechanism by computation: a verdict per claim with the shrunk "
            "counterexample where it fails and what was searched where it holds. Without --mechanism every "
            "built-in is checked. Exit 0 when every check ran (whatever the verdicts), 3 when some check could "
            "not run, 1 with --strict when a claim fails, 2 for bad arguments."
        ),
    )
    flags.add_mechanism(p, "the paper's four built-ins, mechanism.BUILTINS")
    flags.add_clones(p, "1,2")
    p.add_argument(
        "--budget",
        type=flags.count("--budget", 1, "generated cases per claim and society"),
        default=None,
        help="generated cases per claim and society (default: each claim's own, else verify.search.DEFAULT_BUDGET)",
    )
    p.add_argument(
        "--claims",
        default=None,
        metavar="NAME[,NAME]",
        help=(
            "comma-separated claim names to check (default: DESIGN §1's five; bids_converge, which trains "
            "societies, runs only when named; see verify.CLAIMS)"
        ),
    )
    p.add_argument(
        "--domain",
        choices=("mdps", "options"),
        default="mdps",
        help="the MDPs searched: generated MDPs with literal actions (default), or the exact semi-MDPs of "
        "generated options over them (see verify.domains)",
    )
    flags.add_out(p, "agora-report", what="report folder: records, report.md, report.html, manifest.json")
    flags.add_seeds(p, 1, what="search seeds (a claim fails when any seed finds a counterexample)")
    p.add_argument("--strict", action="store_true", help="exit 1 when any claim fails")
    flags.add_format(p)
    flags.add_runner(p)
    p.set_defaults(func=run_check)


def _parse_claims(text: str | None) -> list[str] | None:
    """Claim names from ``--claims`` in table order; None (the default claims) when the flag is absent."""
    if text is None:
        return None
    from verify import CLAIMS

    names = {x.strip() for x in text.split(",") if x.strip()}
    unknown = sorted(names - CLAIMS.keys())
    if unknown or not names:
        raise ValueError(f"--claims {text!r}: unknown claim(s) {unknown}; known: {', '.join(CLAIMS)}.")
    return [name for name in CLAIMS if name in names]  # table order


def format_table(rows: list[dict[str, Any]]) -> str:
    """The verdict table as aligned plain text."""
    from reports.markdown import verdict_table

    header, body = verdict_table(rows)
    short = ["society", *[h.split(" (")[0] for h in header[1:]]]
    widths = [max(len(r[i]) for r in [short, *body]) for i in range(len(short))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in [short, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _render(out: Path, records: Sequence[Any]) -> list[Path]:
    """``report.md`` and ``report.html`` from the verdicts (one row per society and claim over the seeds)."""
    from reports.markdown import write_verdict_report
    from verify.records import VERDICTS

    return list(write_verdict_report(out, [row for r in records for row in r.tables[VERDICTS]]))


def run_check(args: argparse.Namespace) -> int:
    """Check every (mechanism, clones, claim, seed) on the runner; print the table; write records, report, manifest."""
    from mechanism import BUILTINS
    from reports.outdir import check_out_dir
    from verify.claims import DEFAULT_CLAIMS
    from verify.jobs import Seed, check_cells
    from verify.records import VERDICTS
    from verify.sweep import sweep

    specs = flags.mechanisms(args, BUILTINS)  # each loaded while parsing: a bad one stopped us already
    clones = flags.clones(args, [1, 2])
    seeds = flags.seeds(args, 1)
    claims = _parse_claims(args.claims)
    # None: each claim's own budget (verify.check resolves it), so a costly claim keeps its small one.
    if args.budget is not None and args.budget < 1:
        raise ValueError(f"--budget must be >= 1; got {args.budget}.")
    options = flags.runner_options(args)
    out = check_out_dir(args.out)
    names = claims or list(DEFAULT_CLAIMS)
    columns = {"command": "agora check", "mechanisms": ",".join(specs), "clones_checked": ",".join(map(str, clones)),
               "claims_checked": ",".join(names)}
    cells = check_cells(specs, clones, names, args.budget, [Seed(s) for s in seeds], columns, args.domain)
    command = _command(args, specs, clones)
    result = sweep(cells, out, command=command, render=_render, **options)
    code = report_failures(result, "check")
    if code:
        return code
    every = [row for rec in result.records if rec is not None for row in rec.tables[VERDICTS]]
    rows = merge_seeds(every)
    failed = [r for r in rows if r["error"] is None and not r["holds"]]
    errors = [r for r in rows if r["error"] is not None]
    for r in errors:
        print(f"could not check {r['mechanism']} x{r['clones']} {r['claim']}: {r['error']}", file=sys.stderr)
    if args.format == "json":
        flags.emit_json(args, {"command": command, "seeds": seeds, "out": str(out), "fail": len(failed),
                               "error": len(errors), "verdicts": every, "files": [str(p) for p in result.paths]})
    else:
        print(format_table(rows))
        over = f" over {len(seeds)} seeds each" if len(seeds) > 1 else ""
        wrote = ", ".join(str(p) for p in result.paths)
        print(f"\n{len(rows)} verdicts{over} ({len(failed)} claims fail, {len(errors)} could not run); wrote {wrote}")
    if errors:
        return EXIT_CHECK_FAILED
    if args.strict and failed:
        return EXIT_STRICT
    return 0


def _command(args: argparse.Namespace, specs: list[str], clones: list[int]) -> str:
    """The command line that repeats the checks (the runner flags change where they run, not what they find)."""
    from verify.records import command_line

    return command_line("agora", ["check"], {
        "mechanism": specs if args.mechanism else None, "clones": clones, "budget": args.budget,
        "claims": args.claims, "out": args.out, "seed": args.seed, "seeds": None if args.seeds == 1 else args.seeds,
        "domain": None if args.domain == "mdps" else args.domain,
    })
