"""The `agora` command line (also ``python -m agora``).

Each subcommand lives in its own module under ``reports/commands/`` exposing
``register(subparsers) -> None``; the module adds its parser and sets ``func`` (a callable
``(args) -> int`` returning the exit status). This file only wires them together. A command
module imports only the standard library at the top: numpy, scipy, networkx, matplotlib and the
project's packages are imported inside the function that runs the command, so `agora --help`
starts in little more than the time Python itself takes (tests/benchmarks/test_bench_cli_startup.py).

Output into a pipe whose reader has gone (``agora tasks | head -1``) ends quietly: the rest of
standard output is discarded, the command still finishes its work (files it writes are written)
and the exit status is the command's own (:class:`QuietPipe`).

The flags the commands share (``--mechanism``, ``--clones``, ``--seeds``/``--seed``, ``--format``,
``--out``, ``--jobs``, ``--no-progress``) are spelled, parsed and checked in one place,
:mod:`reports.flags`. A bad value is argparse's error (exit status 2, naming the flag and the fix),
and :func:`main` returns that status rather than raising :class:`SystemExit`. With ``--format json``
the command's JSON document is the only thing on standard output: whatever else it prints goes to
standard error (:func:`_run`). `agora completion bash|zsh|tcsh` prints a shell completion script
when the optional ``shtab`` package is installed (``pip install shtab``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

#: Subcommand modules, in the order `agora --help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "reports.commands.registry",
    "reports.commands.solve",
    "reports.commands.check",
    "reports.commands.report",
    "reports.commands.show",
    "reports.commands.train",
    "reports.commands.reproduce",
    "reports.commands.sweep",
)


class _Version(argparse.Action):
    """``--version``: looks the installed version up only when asked (importlib.metadata is not free)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest=dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            ver = version("agora-rl")
        except PackageNotFoundError:  # running from a source tree that is not installed
            ver = "unknown"
        print(f"agora-rl {ver}")  # on standard output, as argparse's own version action
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="agora",
        description="Check the theory of market-based reinforcement learning by computation.",
    )
    parser.add_argument("--version", action=_Version, help="print the installed version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    _register_completion(sub)
    return parser


#: Shells `agora completion` writes scripts for (those of shtab that every release of it supports).
SHELLS = ("bash", "zsh", "tcsh")


def _register_completion(sub: Any) -> None:
    """`agora completion SHELL`: the shell completion script of this parser (needs the optional ``shtab``)."""
    p = sub.add_parser("completion", help="print a shell completion script (needs `pip install shtab`)",
                       description="Print a completion script for SHELL on standard output, e.g. "
                                   "`agora completion bash > ~/.local/share/bash-completion/completions/agora` or "
                                   "`agora completion zsh > ~/.zfunc/_agora`. Needs the optional package shtab.")
    p.add_argument("shell", choices=SHELLS, help="the shell: " + ", ".join(SHELLS))
    p.set_defaults(func=_run_completion)


def _run_completion(args: argparse.Namespace) -> int:
    try:
        import shtab
    except ImportError:
        print("agora completion: error: needs the optional package shtab: pip install shtab", file=sys.stderr)
        return 2
    print(shtab.complete(build_parser(), shell=args.shell))
    return 0


class QuietPipe:
    """A proxy of a text stream that survives its reader leaving (``agora tasks | head -1``).

    The first write or flush that fails with :class:`BrokenPipeError` points the stream's file
    descriptor at :data:`os.devnull` (the recipe of the Python documentation, "Note on SIGPIPE"):
    that write and every later one are discarded instead of raising, so the command finishes its
    work and Python's own flush at exit finds nothing to complain about.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.broken = False

    def _drop(self) -> None:
        self.broken = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        finally:
            os.close(devnull)

    def write(self, text: str) -> int:
        """Write ``text``; once the reader has gone, discard it."""
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._drop()
            return len(text)

    def flush(self) -> None:
        """Flush; once the reader has gone, the pending output goes to os.devnull."""
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._drop()
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `agora` console script and of ``python -m agora``; returns the exit status."""
    stdout, sys.stdout = sys.stdout, QuietPipe(sys.stdout)
    try:
        return _run(argv)
    finally:
        sys.stdout.flush()
        sys.stdout = stdout


def _run(argv: Sequence[str] | None) -> int:
    stray = io.StringIO()  # what parsing prints (help, or a user module imported by --mechanism)
    try:
        with contextlib.redirect_stdout(stray):
            args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, --version, or a bad flag (argparse printed why): its exit status
        sys.stdout.write(stray.getvalue())
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 2)
    json_mode = getattr(args, "format", None) == "json"
    (sys.stderr if json_mode else sys.stdout).write(stray.getvalue())
    try:
        if not json_mode:
            return int(args.func(args))
        args.json_stream = sys.stdout  # the one JSON document goes here (reports.flags.emit_json) ...
        with contextlib.redirect_stdout(sys.stderr):  # ... and whatever else the command prints, to stderr
            return int(args.func(args))
    except (ValueError, TypeError, KeyError, FileNotFoundError) as err:
        # Bad input from the user: one clear line, not a traceback.
        print(f"agora {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
