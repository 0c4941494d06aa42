"""The flags the `agora` commands share: one home for their spelling, their parsing and their errors.

DESIGN §4, "One flag vocabulary". Each flag has an ``add_*`` function that puts it on a
subcommand's parser and, where its value needs more than argparse gives, a function that reads it
back from the parsed namespace with the command's default:

``--mechanism NAME``  (:func:`add_mechanism`, :func:`mechanisms`)
    A registry name (`agora mechanisms`) or ``package.module:NAME`` of a :class:`mechanism.Mechanism`
    (importable from the working directory; :func:`verify.jobs.load_mechanism`). Repeatable and a
    comma list: ``--mechanism ccv,vickrey --mechanism mymech:THIRD`` is three mechanisms, in that
    order, duplicates dropped. Every one is loaded while the command line is parsed, so an unknown
    name or a module that cannot be imported stops the command before any work.
``--clones K[,K]``  (:func:`add_clones`, :func:`clones`)
    Bidders per primitive (1 solitary, 2 cloned); a comma list, also repeatable.
``--seeds N`` and ``--seed S``  (:func:`add_seeds`, :func:`seeds`)
    N a count >= 1, S the first seed >= 0: the seeds are S, S+1, ..., S+N−1, whatever the command.
``--format table|json``  (:func:`add_format`, :func:`emit_json`)
    ``json``: one JSON document on standard output and nothing else there (:mod:`reports.cli` sends
    anything else the command prints to standard error; NaN and ±inf become null).
``--out DIR``  (:func:`add_out`)
    The folder a command writes its records, report and ``manifest.json`` into.
``--jobs N`` with ``--backend`` and ``--scheduler``  (:func:`add_runner`, :func:`runner_options`)
    Where the sweep runner (:mod:`verify.sweep`) runs the cells; 0 jobs = every core.
``--no-progress``  (:func:`add_progress`, :func:`progress`)
    A tqdm bar with an ETA is drawn on standard error when it is a terminal, never on standard
    output (so never inside ``--format json`` output); this flag turns it off.

Errors are argparse's: exit status 2, the usage line, then ``agora CMD: error: argument --FLAG:
what is wrong; the fix``. This module imports only the standard library at the top (the
`agora --help` start-up budget, tests/test_cli_startup.py); loading a mechanism imports numpy,
inside the call.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "BACKENDS",
    "DIRECTORY",
    "FILE",
    "FORMATS",
    "ListAction",
    "add_clones",
    "add_format",
    "add_mechanism",
    "add_out",
    "add_progress",
    "add_runner",
    "add_seeds",
    "clones",
    "count",
    "emit_json",
    "jsonable",
    "mechanisms",
    "progress",
    "runner_options",
    "seeds",
]

FORMATS = ("table", "json")
BACKENDS = ("serial", "loky", "dask", "ray")
#: shtab's completion hints (``shtab.FILE``, ``shtab.DIRECTORY``), spelled out so that shtab, an optional
#: package, is imported only by `agora completion`: set as ``action.complete`` on an argument.
FILE = {"bash": "_shtab_compgen_files", "zsh": "_files", "tcsh": "f"}
DIRECTORY = {"bash": "_shtab_compgen_dirs", "zsh": "_files -/", "tcsh": "d"}


# ---------------------------------------------------------------------------- lists: repeatable and comma lists
class ListAction(argparse.Action):
    """A flag that is repeatable and takes comma lists: ``--x a,b --x c`` → ``[a, b, c]``.

    ``item`` turns one entry into its value, raising :class:`argparse.ArgumentTypeError` with
    what is wrong and the fix; the values keep the command line's order, duplicates dropped. The
    parser's default must be None (the command's default is applied when the flag is absent), so
    a given value replaces the default instead of adding to it.
    """

    def __init__(self, option_strings: Sequence[str], dest: str, item: Callable[[str], Any] = str,
                 example: str = "", **kwargs: Any) -> None:
        if kwargs.get("default") is not None:
            raise ValueError(f"{dest}: a ListAction's default must be None; apply the command's default after parsing.")
        self.item, self.example = item, example
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        entries = [x.strip() for x in str(values).split(",")]
        if not all(entries):
            raise argparse.ArgumentError(self, f"{values!r} has an empty entry; write a comma list such as "
                                               f"{self.example}, or repeat the flag.")
        try:
            parsed = [self.item(x) for x in entries]
        except argparse.ArgumentTypeError as err:
            raise argparse.ArgumentError(self, str(err)) from None
        old = getattr(namespace, self.dest, None) or []
        setattr(namespace, self.dest, list(dict.fromkeys([*old, *parsed])))


def count(flag: str, least: int, meaning: str) -> Callable[[str], int]:
    """An argparse ``type``: an int >= ``least``, else an error naming ``flag`` and what it means."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = least - 1
        if value < least:
            raise argparse.ArgumentTypeError(f"expected an int >= {least} ({meaning}); got {text!r}.")
        return value

    parse.__name__ = flag.lstrip("-")
    return parse


# ---------------------------------------------------------------------------- --mechanism
def _mechanism_item(registry_only: bool, command: str) -> Callable[[str], str]:
    def parse(spec: str) -> str:
        from verify.jobs import load_mechanism

        if registry_only and ":" in spec:
            raise argparse.ArgumentTypeError(
                f"{spec!r}: `agora {command}` runs registered mechanisms only (see `agora mechanisms`); "
                "train a user mechanism with `agora train TASK --mechanism package.module:NAME`.")
        try:
            load_mechanism(spec, flag="--mechanism")
        except (ValueError, TypeError) as err:
            raise argparse.ArgumentTypeError(str(err).removeprefix("--mechanism ")) from None
        return spec

    return parse


def add_mechanism(p: argparse.ArgumentParser, default: str, *, registry_only: bool = False) -> None:
    """``--mechanism NAME``: repeatable, comma lists; registry names or ``package.module:NAME``.

    ``default`` is said in the help (the command applies it: :func:`mechanisms`);
    ``registry_only`` refuses ``package.module:NAME`` (a command whose workers look names up).
    """
    what = "a registry name (see `agora mechanisms`)" + ("" if registry_only else
                                                         " or package.module:NAME of a mechanism.Mechanism")
    p.add_argument("--mechanism", action=ListAction, item=_mechanism_item(registry_only, p.prog.split()[-1]),
                   example="ccv,vickrey", metavar="NAME[,NAME]",
                   help=f"{what}; repeatable and a comma list (default: {default})")


def mechanisms(args: argparse.Namespace, default: Sequence[str]) -> list[str]:
    """The ``--mechanism`` specs in command-line order, or ``default`` when the flag is absent.

    Raises
    ------
    ValueError
        When two specs are one rule (an alias and its name: ``first_price,bucket_brigade``): the
        records name a mechanism by its rule, so the two would be one run, one verdict.
    """
    if not args.mechanism:
        return list(default)
    from verify.jobs import load_mechanism

    seen: dict[str, str] = {}
    for spec in args.mechanism:
        rule = load_mechanism(spec).name
        if rule in seen:
            raise ValueError(f"argument --mechanism: {seen[rule]!r} and {spec!r} are one rule, {rule!r}; "
                             "give it once (records name a mechanism by its rule).")
        seen[rule] = spec
    return list(args.mechanism)


# ---------------------------------------------------------------------------- --clones
def add_clones(p: argparse.ArgumentParser, default: str) -> None:
    """``--clones K[,K]``: clone settings, ints >= 1, a comma list (also repeatable)."""
    p.add_argument("--clones", action=ListAction, item=count("--clones", 1, "bidders per primitive"),
                   example="1,2", metavar="K[,K]",
                   help=f"bidders per primitive, a comma list: 1 solitary, 2 cloned (default: {default})")


def clones(args: argparse.Namespace, default: Sequence[int]) -> list[int]:
    """The ``--clones`` settings in command-line order, or ``default`` when the flag is absent."""
    return list(args.clones) if args.clones else list(default)


# ---------------------------------------------------------------------------- --seeds and --seed
def add_seeds(p: argparse.ArgumentParser, default: int | None, *, what: str = "seeds",
              default_text: str | None = None) -> None:
    """``--seeds N`` (a count) and ``--seed S`` (the first seed): the seeds are S .. S+N−1.

    ``what`` says what the seeds are for in this command; ``default`` None means the command's
    own (``default_text`` says which in the help).
    """
    said = default_text or str(default)
    p.add_argument("--seeds", type=count("--seeds", 1, "how many seeds: S..S+N-1 with --seed S"), default=default,
                   metavar="N", help=f"number of {what}, S, S+1, ..., S+N-1 with --seed S (default: {said})")
    p.add_argument("--seed", type=count("--seed", 0, "the first seed"), default=0, metavar="S",
                   help="the first seed S (default 0): same seeds, same results")


def seeds(args: argparse.Namespace, default: int) -> list[int]:
    """``[S, S+1, ..., S+N−1]`` from ``--seed S`` and ``--seeds N`` (``default`` when N was not given)."""
    n = default if args.seeds is None else args.seeds
    return list(range(args.seed, args.seed + n))


# ---------------------------------------------------------------------------- --format
def add_format(p: argparse.ArgumentParser) -> None:
    """``--format table|json`` (dest ``format``)."""
    p.add_argument("--format", choices=FORMATS, default="table",
                   help="table (default) or json: one JSON document on standard output, nothing else there")


def jsonable(obj: Any) -> Any:
    """``obj`` with NaN and ±inf as None, tuples as lists and numpy values as Python ones (strict JSON)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if obj is None or isinstance(obj, str | int | bool):
        return obj
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return jsonable(obj.tolist())
    return str(obj)


def emit_json(args: argparse.Namespace, doc: Any) -> None:
    """Print ``doc`` as one strict JSON document on the command's standard output (see :mod:`reports.cli`)."""
    stream = getattr(args, "json_stream", None) or sys.stdout
    stream.write(json.dumps(jsonable(doc), indent=2, allow_nan=False) + "\n")
    stream.flush()


# ---------------------------------------------------------------------------- --out
def add_out(p: argparse.ArgumentParser, default: str | None, *, what: str, required: bool = False) -> None:
    """``--out DIR``: the folder the command writes into (checked before any work: reports.outdir)."""
    said = "required" if required else ("nothing written unless given" if default is None else f"default ./{default}/")
    action = p.add_argument("--out", default=default, required=required, metavar="DIR", help=f"{what} ({said})")
    action.complete = DIRECTORY  # type: ignore[attr-defined]  # shtab: complete folder names


# ---------------------------------------------------------------------------- --no-progress
def add_progress(p: argparse.ArgumentParser) -> None:
    """``--no-progress``."""
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (one is drawn with an ETA on standard error when it is a terminal)")


def progress(args: argparse.Namespace) -> bool:
    """Whether to draw a progress bar: not ``--no-progress`` and standard error is a terminal."""
    return not getattr(args, "no_progress", False) and sys.stderr.isatty()


# ---------------------------------------------------------------------------- --jobs (the sweep runner)
def add_runner(p: argparse.ArgumentParser) -> None:
    """``--jobs``, ``--backend``, ``--scheduler`` (where the sweep runner runs the cells) and ``--no-progress``."""
    p.add_argument("--jobs", type=count("--jobs", 0, "worker processes; 0 = every core"), default=1, metavar="N",
                   help="worker processes (default 1; 0 = every core); with N > 1 the default backend is loky")
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="serial, loky (joblib, this machine), dask or ray (default: serial for --jobs 1, else loky)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="a running cluster: Dask scheduler tcp://host:8786 or Ray address ray://host:10001 / auto "
                        "(default $DASK_SCHEDULER_ADDRESS or $RAY_ADDRESS, else a local cluster of --jobs workers)")
    add_progress(p)


def runner_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of :func:`verify.sweep.sweep` from the runner flags, checked."""
    if args.jobs < 0:
        raise ValueError(f"--jobs must be >= 0 (0 = every core); got {args.jobs}.")
    jobs = args.jobs or os.cpu_count() or 1
    backend = args.backend or ("serial" if jobs == 1 else "loky")
    if args.scheduler and backend not in ("dask", "ray"):
        raise ValueError(f"--scheduler names a Dask or Ray cluster; pass --backend dask or ray (got {backend}).")
    if backend == "serial" and jobs > 1:
        raise ValueError(f"--backend serial runs one cell at a time; drop --jobs {args.jobs} or pick loky.")
    return {"backend": backend, "jobs": jobs, "scheduler": args.scheduler, "progress": progress(args)}
