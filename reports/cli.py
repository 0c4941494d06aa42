"""The `agora` command line.

Each subcommand lives in its own module under ``reports/commands/`` exposing
``register(subparsers) -> None``; the module adds its parser and sets ``func`` (a callable
``(args) -> int`` returning the exit status). This file only wires them together.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Subcommand modules, in the order `agora --help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "reports.commands.registry",
    "reports.commands.solve",
    "reports.commands.check",
    "reports.commands.report",
    "reports.commands.train",
    "reports.commands.reproduce",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("agora-rl")
    except PackageNotFoundError:  # running from a source tree that is not installed
        ver = "unknown"
    parser = argparse.ArgumentParser(
        prog="agora",
        description="Check the theory of market-based reinforcement learning by computation.",
    )
    parser.add_argument("--version", action="version", version=f"agora-rl {ver}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `agora` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (ValueError, TypeError, KeyError, FileNotFoundError) as err:
        # Bad input from the user: one clear line, not a traceback.
        print(f"agora {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
