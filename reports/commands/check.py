"""`agora check`: check every claim for built-in or user mechanisms and write a report folder.

Exit status: 0 when every check ran, whatever the verdicts (a failed claim is a finding, not an
error); 3 when some check could not run (a mechanism whose rule raises, returns NaN or an invalid
winner, or is not a function of the bids: recorded as an error verdict, the others kept); 1 with
``--strict`` when a claim fails; 2 for bad arguments (an unknown mechanism or claim name, a
``package.module:NAME`` that cannot be imported or is not a Mechanism).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Any

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
    p.add_argument(
        "--mechanism",
        action="append",
        metavar="NAME",
        help="a registry name (see `agora mechanisms`) or package.module:NAME of a mechanism.Mechanism; repeatable",
    )
    p.add_argument("--clones", default="1,2", help="comma-separated clone settings (1 = solitary, 2 = cloned)")
    p.add_argument(
        "--budget",
        type=int,
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
    p.add_argument("--out", default="agora-report", help="report folder (default ./agora-report/)")
    p.add_argument("--seed", type=int, default=0, help="seed of every search (same seed, same report)")
    p.add_argument("--strict", action="store_true", help="exit 1 when any claim fails")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_check)


def load_mechanism(spec: str) -> Any:
    """A Mechanism from a registry name or ``package.module:NAME`` (importable from the working directory)."""
    from mechanism import MECHANISMS, Mechanism

    if ":" not in spec:
        if spec not in MECHANISMS:
            raise ValueError(
                f"unknown mechanism {spec!r}; registered: {', '.join(MECHANISMS)}. "
                "A user mechanism is given as package.module:NAME."
            )
        return MECHANISMS[spec]
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"--mechanism {spec!r}: expected package.module:NAME, e.g. mymech.rules:third_price.")
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # any failure while importing user code is a bad argument
        raise ValueError(
            f"--mechanism {spec!r}: cannot import module {module_name!r}: {type(err).__name__}: {err}"
        ) from err
    finally:
        if added:
            sys.path.remove(cwd)
    if not hasattr(module, attr):
        raise ValueError(f"--mechanism {spec!r}: module {module_name!r} has no attribute {attr!r}.")
    obj = getattr(module, attr)
    if not isinstance(obj, Mechanism):
        raise TypeError(
            f"--mechanism {spec!r}: {module_name}.{attr} is a {type(obj).__name__}, not a mechanism.Mechanism; "
            "build one with mechanism.Mechanism(name, price=..., lookahead=...)."
        )
    return obj


def _parse_clones(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise ValueError(f"--clones {text!r}: expected comma-separated ints, e.g. 1,2.") from err
    if not values or any(v < 1 for v in values):
        raise ValueError(f"--clones {text!r}: every clone setting must be an int >= 1.")
    return values


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


def run_check(args: argparse.Namespace) -> int:
    """Run the checks, print the table, write verdicts.jsonl/.csv and report.md/.html."""
    from tqdm import tqdm

    from mechanism import BUILTINS
    from reports.markdown import write_verdict_report
    from verify import check
    from verify.claims import DEFAULT_CLAIMS
    from verify.records import VERDICTS, verdict_rows, write_records

    specs = args.mechanism or list(BUILTINS)
    mechanisms = [load_mechanism(s) for s in specs]
    clones = _parse_clones(args.clones)
    claims = _parse_claims(args.claims)
    # None: each claim's own budget (verify.check resolves it), so a costly claim keeps its small one.
    if args.budget is not None and args.budget < 1:
        raise ValueError(f"--budget must be >= 1; got {args.budget}.")
    names = claims or list(DEFAULT_CLAIMS)
    total = len(mechanisms) * len(clones) * len(names)
    bar = tqdm(total=total, unit="check", disable=args.no_progress or not sys.stderr.isatty(), file=sys.stderr)
    verdicts = []
    try:
        for mech in mechanisms:

            def tick(v: Any, mech_name: str = mech.name) -> None:
                bar.set_postfix_str(f"{mech_name} x{v.clones} {v.claim}")
                bar.update(1)

            verdicts += check(mech, clones=clones, claims=claims, budget=args.budget, seed=args.seed, progress=tick)
    finally:
        bar.close()
    config = {
        "command": "agora check",
        "mechanisms": ",".join(specs),
        "clones_checked": args.clones,
        "claims_checked": ",".join(names),
    }
    rows = verdict_rows(verdicts, config)
    out = Path(args.out)
    jsonl, csv_path = write_records(out, VERDICTS, rows)
    md, page = write_verdict_report(out, rows)
    print(format_table(rows))
    failed = [v for v in verdicts if v.ran and not v.holds]
    errors = [v for v in verdicts if not v.ran]
    for v in errors:
        print(f"could not check {v.mechanism} x{v.clones} {v.claim}: {v.error}", file=sys.stderr)
    print(
        f"\n{len(verdicts)} verdicts ({len(failed)} claims fail, {len(errors)} could not run); wrote {jsonl}, "
        f"{csv_path}, {md}, {page}"
    )
    if errors:
        return EXIT_CHECK_FAILED
    if args.strict and failed:
        return EXIT_STRICT
    return 0
