"""`agora solve TASK`: Q*, V*, the optimal policy and the guaranteed error bound of a registered task.

``--out DIR`` adds the solution to ``DIR/solve.jsonl`` (one row per task, method and tolerance: a
row of the same three is replaced) and lists it in ``DIR/manifest.json``. ``--format json`` prints
the same row as one JSON document.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from reports import flags

#: The record file `agora solve --out` writes.
SOLVE_RECORDS = "solve.jsonl"


def register(sub: Any) -> None:
    """Add the `solve` subcommand."""
    p = sub.add_parser("solve", help="solve a task exactly: Q*, V*, the policy and the error bound")
    p.add_argument("task", metavar="TASK", help="a registry id, e.g. chain/0 (see `agora tasks`)")
    p.add_argument(
        "--method",
        default="auto",
        type=_method,
        help="solver: auto (default, chosen per problem) or a name of verify.METHODS (an unknown name lists them)",
    )
    p.add_argument("--tol", type=float, default=1e-10, help="target bound on max|V − V*| and max|Q − Q*|")
    flags.add_format(p)
    flags.add_out(p, None, what=f"also add the solution to DIR/{SOLVE_RECORDS} and DIR/manifest.json")
    p.set_defaults(func=run_solve)


def _method(name: str) -> str:
    """``--method``: a name of :data:`verify.METHODS` (imported here, not when the parser is built)."""
    from verify import METHODS

    if name not in METHODS:
        raise argparse.ArgumentTypeError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    return name


def run_solve(args: argparse.Namespace) -> int:
    """Solve ``args.task``; print one row per state (table) or one JSON object; with --out, record it."""
    import tasks
    import verify
    from reports.outdir import check_out_dir

    mdp = tasks.make(args.task)
    out = check_out_dir(args.out) if args.out else None  # before any work: a bad --out costs nothing
    sol = verify.solve(mdp, method=args.method, tol=args.tol)
    S = sol.Q.shape[0]
    terminal = mdp.terminal.tolist() if mdp.terminal is not None else [False] * S
    row = {"task": args.task, "gamma": mdp.gamma, "method": sol.method, "tol": args.tol,
           "iterations": sol.iterations, "error_bound": sol.error_bound, "V": sol.V.tolist(), "Q": sol.Q.tolist(),
           "policy": sol.policy.tolist(), "terminal": terminal}
    files = [] if out is None else write_solution(out, row, _command(args))
    if args.format == "json":
        flags.emit_json(args, {**row, **({"files": [str(p) for p in files]} if out is not None else {})})
        return 0
    _print_table(args.task, mdp.gamma, sol, terminal)
    for path in files:
        print(f"wrote {path}")
    return 0


def _command(args: argparse.Namespace) -> str:
    from verify.records import command_line

    return command_line("agora", ["solve", args.task], {"method": args.method, "tol": args.tol, "out": args.out})


def write_solution(out: Path, row: dict[str, Any], command: str) -> list[Path]:
    """Add ``row`` to ``out/solve.jsonl`` (replacing the row of the same task, method and tol), then the manifest."""
    from verify.records import environment, read_jsonl, write_jsonl, write_manifest

    path = out / SOLVE_RECORDS
    same = ("task", "method", "tol")
    old = read_jsonl(path) if path.exists() else []
    kept = [r for r in old if tuple(r.get(k) for k in same) != tuple(row[k] for k in same)]
    write_jsonl(path, [*kept, {**row, "command": command, **environment()}])
    return [path, write_manifest(out, [SOLVE_RECORDS], command=command)]


def _print_table(task: str, gamma: float, sol: Any, terminal: list[bool]) -> None:
    """The solution as a header line and one aligned row per state."""
    S, A = sol.Q.shape
    print(
        f"{task}: S={S}, A={A}, gamma={gamma}; method {sol.method}, {sol.iterations} iterations, "
        f"error bound {sol.error_bound:.2e} (max|V − V*| and max|Q − Q*|)"
    )
    header = ["s", *(f"Q*(s,{a})" for a in range(A)), "V*(s)", "policy"]
    rows = [
        [str(s), *(f"{q:.6f}" for q in sol.Q[s]), f"{sol.V[s]:.6f}", "terminal" if terminal[s] else str(sol.policy[s])]
        for s in range(S)
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for r in rows:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))
