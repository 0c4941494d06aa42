"""`agora solve TASK`: Q*, V*, the optimal policy and the guaranteed error bound of a registered task."""

from __future__ import annotations

import argparse
import json
from typing import Any


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
    p.add_argument("--format", dest="fmt", default="table", choices=("table", "json"), help="output format")
    p.set_defaults(func=run_solve)


def _method(name: str) -> str:
    """``--method``: a name of :data:`verify.METHODS` (imported here, not when the parser is built)."""
    from verify import METHODS

    if name not in METHODS:
        raise argparse.ArgumentTypeError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    return name


def run_solve(args: argparse.Namespace) -> int:
    """Solve ``args.task`` and print one row per state (table) or one JSON object."""
    import tasks
    import verify

    mdp = tasks.make(args.task)
    sol = verify.solve(mdp, method=args.method, tol=args.tol)
    S, A = sol.Q.shape
    if args.fmt == "json":
        out = {
            "task": args.task,
            "gamma": mdp.gamma,
            "method": sol.method,
            "iterations": sol.iterations,
            "error_bound": sol.error_bound,
            "V": sol.V.tolist(),
            "Q": sol.Q.tolist(),
            "policy": sol.policy.tolist(),
            "terminal": mdp.terminal.tolist() if mdp.terminal is not None else [False] * S,
        }
        print(json.dumps(out, indent=2))
        return 0
    terminal = mdp.terminal if mdp.terminal is not None else [False] * S
    print(
        f"{args.task}: S={S}, A={A}, gamma={mdp.gamma}; method {sol.method}, {sol.iterations} iterations, "
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
    return 0
