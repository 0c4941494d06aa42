"""`agora mechanisms`: list the registered auction mechanisms."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add the `mechanisms` subcommand."""
    p = sub.add_parser("mechanisms", help="list the built-in auction mechanisms")
    p.set_defaults(func=run_mechanisms)


def run_mechanisms(args: argparse.Namespace) -> int:
    """Print every registered mechanism with its paper name and rule."""
    from mechanism import MECHANISMS

    width = max(map(len, MECHANISMS))
    for name, mech in MECHANISMS.items():
        alias = f" (alias of {mech.name})" if mech.name != name else ""
        print(f"{name:<{width}}  {mech.paper_name}{alias}: {mech.doc}")
    return 0
