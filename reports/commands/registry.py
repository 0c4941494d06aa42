"""`agora mechanisms` and `agora tasks`: list the registered auction mechanisms and tasks."""

from __future__ import annotations

import argparse
from typing import Any

from reports import flags


def register(sub: Any) -> None:
    """Add the `mechanisms` and `tasks` subcommands."""
    p = sub.add_parser(
        "mechanisms", help="list the auction mechanisms (all registered, or those --mechanism names)",
        description="List the registered auction mechanisms with their paper names and rules; with --mechanism, "
        "only those named, user mechanisms (package.module:NAME) included: a quick check that one loads.",
    )
    flags.add_mechanism(p, "every registered one")
    flags.add_format(p)
    p.set_defaults(func=run_mechanisms)
    t = sub.add_parser("tasks", help="list the registered tasks (id, S, A, gamma, time limit)")
    flags.add_format(t)
    t.set_defaults(func=run_tasks)


def mechanism_rows(specs: list[str] | None) -> list[dict[str, Any]]:
    """One row per mechanism: name (the spec), rule name, paper name, whether an example or alias, and its rule."""
    from mechanism import EXAMPLES, MECHANISMS
    from verify.jobs import load_mechanism

    rows = []
    for spec in specs or list(MECHANISMS):
        mech = load_mechanism(spec)
        user = spec not in MECHANISMS
        rows.append({"name": spec, "rule": mech.name, "paper_name": mech.paper_name or None,
                     "example": spec in EXAMPLES, "user": user,
                     "alias_of": mech.name if not user and mech.name != spec else None, "doc": mech.doc})
    return rows


def run_mechanisms(args: argparse.Namespace) -> int:
    """Print every registered (or named) mechanism with its paper name (or "example") and rule."""
    rows = mechanism_rows(args.mechanism)
    if args.format == "json":
        flags.emit_json(args, rows)
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        label = "example beyond the paper" if r["example"] else ("user mechanism" if r["user"] else r["paper_name"])
        alias = f" (alias of {r['alias_of']})" if r["alias_of"] else ""
        print(f"{r['name']:<{width}}  {label}{alias}: {r['doc']}")
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
        flags.emit_json(args, rows)
        return 0
    width = max(len(r["id"]) for r in rows)
    print(f"{'id':<{width}}  {'S':>5}  {'A':>3}  {'gamma':>5}  {'limit':>5}  description")
    for r in rows:
        limit = "-" if r["time_limit"] is None else str(r["time_limit"])
        print(f"{r['id']:<{width}}  {r['S']:>5}  {r['A']:>3}  {r['gamma']:>5g}  {limit:>5}  {r['description']}")
    return 0
