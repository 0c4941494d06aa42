"""`agora mechanisms` and `agora tasks`: list the registered auction mechanisms and tasks."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: Any) -> None:
    """Add the `mechanisms` and `tasks` subcommands."""
    p = sub.add_parser("mechanisms", help="list the built-in auction mechanisms")
    p.set_defaults(func=run_mechanisms)
    t = sub.add_parser("tasks", help="list the registered tasks (id, S, A, gamma, time limit)")
    t.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    t.set_defaults(func=run_tasks)


def run_mechanisms(args: argparse.Namespace) -> int:
    """Print every registered mechanism with its paper name (or "example") and rule."""
    from mechanism import EXAMPLES, MECHANISMS

    width = max(map(len, MECHANISMS))
    for name, mech in MECHANISMS.items():
        label = "example beyond the paper" if name in EXAMPLES else mech.paper_name
        alias = f" (alias of {mech.name})" if mech.name != name else ""
        print(f"{name:<{width}}  {label}{alias}: {mech.doc}")
    return 0


def run_tasks(args: argparse.Namespace) -> int:
    """Print every registered task: id, S, A, gamma, time limit and a one-line description.

    The figures are each setting's declared :class:`tasks.registry.Shape` (checked against the built
    MDP by the tests), so listing builds nothing and imports no numpy.
    """
    from tasks.registry import TASKS

    rows: list[dict[str, Any]] = []
    for task_id, spec in TASKS.items():
        S, A, gamma, time_limit = spec.shape
        rows.append(
            {"id": task_id, "S": S, "A": A, "gamma": gamma, "time_limit": time_limit, "description": spec.description}
        )
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["id"]) for r in rows)
    print(f"{'id':<{width}}  {'S':>5}  {'A':>3}  {'gamma':>5}  {'limit':>5}  description")
    for r in rows:
        limit = "-" if r["time_limit"] is None else str(r["time_limit"])
        print(f"{r['id']:<{width}}  {r['S']:>5}  {r['A']:>3}  {r['gamma']:>5g}  {limit:>5}  {r['description']}")
    return 0
