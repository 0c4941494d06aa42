"""`agora reproduce NAME [NAME ...]`: the paper's learning experiments, written as records, figures and Markdown.

NAME is an experiment (bandit, chain, duality with tabular bid learners; bandit-neural, chain-neural
with PPO bidders) or a group: ``all`` (the three tabular ones, seconds each) or ``neural`` (the two
PPO ones, about a minute together on one core).

Writes ``runs.jsonl``, ``checkpoints.jsonl`` (and ``.csv``) into ``--out`` (schema:
:mod:`verify.records`; runs already there with other ids are kept) and renders ``training.md`` and
the figures from everything the folder then holds, then ``manifest.json``.

It runs on the sweep runner (:mod:`verify.sweep`): one cell per training run (every seed in
lockstep, as :func:`verify.experiments.reproduce`), each record written to ``OUT/cells/`` as it
finishes, so ``--jobs N`` (and ``--backend``) spread the runs over processes or a cluster and
rerunning the same command on the same folder trains only the runs a killed one left undone.

NAME may also be a *study* (:data:`STUDIES`): ``tworooms`` (a society of options pretrained on one
goal and transferred to another, against hierarchical and flat learners) and ``rotation`` (a
computation graph: primitives that rotate and translate a glyph for a frozen classifier). A study
writes ``<name>.jsonl``, ``<name>.md`` and its figures into ``--out`` and adds them to the manifest.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from reports.commands.sweep import add_runner_arguments, render_learning, report_failures, runner_options


def register(sub: Any) -> None:
    """Add the `reproduce` subcommand."""
    p = sub.add_parser("reproduce", help="reproduce the paper's learning experiments (tabular and neural bidders)")
    p.add_argument(
        "name",
        nargs="+",
        help="experiments: bandit, chain, duality (tabular learners), bandit-neural, chain-neural (PPO bidders), "
        "or a group: all (the tabular ones), neural (the PPO ones); studies: tworooms (options, transfer), "
        "rotation (a computation graph)",
    )
    p.add_argument("--out", default="agora-reproduce", help="output folder (default ./agora-reproduce)")
    p.add_argument(
        "--seeds", type=int, default=None,
        help="seeds per configuration (default: each experiment's: 10 tabular, 5 bandit-neural, 3 chain-neural)",
    )
    p.add_argument("--seed", type=int, default=0, help="first seed: the seeds are S, S+1, ... (default 0)")
    p.add_argument("--steps", type=int, default=None, help="env steps per seed (default: each experiment's budget)")
    p.add_argument(
        "--budgets",
        default=None,
        metavar="N[,N]",
        help="budgets of the sample-efficiency study against a monolithic learner (default: each experiment's: "
        "50000,200000,800000 against Q-learning for the tabular ones, none for the neural ones, whose baseline "
        "is ppo_monolithic; 'none' skips it)",
    )
    add_runner_arguments(p)
    p.set_defaults(func=run_reproduce)


def parse_budgets(text: str | None) -> tuple[int, ...] | None:
    """``"50000,200000"`` → (50000, 200000); None → None (each experiment's budgets); ``"none"`` or ``""`` → ()."""
    if text is None:
        return None
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        out = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"--budgets {text!r}: expected comma-separated env step counts, e.g. 50000,200000.") from None
    if any(b < 1 for b in out):
        raise ValueError(f"--budgets {text!r}: every budget must be >= 1.")
    return out


#: Studies that are not a grid of training runs: each module has ``run(out, *, seeds, seed) -> dict`` and
#: writes its own records (``<name>.jsonl``), table (``<name>.md``) and figures into the folder.
STUDIES: dict[str, str] = {
    "tworooms": "reports.studies.tworooms",
    "rotation": "reports.studies.rotation",
}
#: Seeds of a study when --seeds is not given.
STUDY_SEEDS = 5


def run_reproduce(args: argparse.Namespace) -> int:
    """Run every mechanism × {cloned, solitary} × bid learner (and the sample-efficiency study); write and render."""
    from reports.outdir import check_out_dir
    from verify.experiments import experiment_names
    from verify.records import command_line

    studies = [n for n in dict.fromkeys(args.name) if n in STUDIES]
    names = experiment_names([n for n in args.name if n not in STUDIES]) if len(studies) < len(set(args.name)) else []
    if (args.seeds is not None and args.seeds < 1) or args.seed < 0:
        raise ValueError(f"--seeds must be >= 1 and --seed >= 0; got {args.seeds} and {args.seed}.")
    budgets = parse_budgets(args.budgets)
    options = runner_options(args)
    out = check_out_dir(args.out)
    command = command_line("agora", ["reproduce", *args.name], {
        "out": args.out, "seeds": args.seeds, "seed": args.seed, "steps": args.steps,
        "budgets": None if budgets is None else ",".join(map(str, budgets)) or "none",
    })
    code = _run_experiments(names, args, budgets, options, out, command) if names else 0
    if code == 0 and studies:
        _run_studies(studies, args, out, command)
    return code


def _run_studies(studies: list[str], args: argparse.Namespace, out: Any, command: str) -> None:
    """Run each study of :data:`STUDIES` into ``out``, then list its records in the folder's manifest."""
    import importlib

    from verify.records import write_manifest

    for name in studies:
        t0 = time.perf_counter()
        summary = importlib.import_module(STUDIES[name]).run(
            out, seeds=args.seeds or STUDY_SEEDS, seed=args.seed, command=command
        )
        print(f"{name}: {summary.get('headline', '')} ({time.perf_counter() - t0:.1f} s)")
        write_manifest(out, [f"{name}.jsonl"], command=command)
        for suffix in (".md", ".jsonl"):
            print(f"wrote {out / (name + suffix)}")


def _run_experiments(
    names: list[str], args: argparse.Namespace, budgets: Any, options: dict[str, Any], out: Any, command: str
) -> int:
    """The grid experiments (bandit, chain, duality and the neural ones) on the sweep runner."""
    from verify.jobs import reproduce_cells
    from verify.records import CHECKPOINTS, RUNS
    from verify.sweep import sweep

    cells = reproduce_cells(names, args.seeds, args.seed, args.steps, budgets)
    t0 = time.perf_counter()
    result = sweep(cells, out, command=command, render=render_learning, **options)
    code = report_failures(result, "reproduce")
    if code:
        return code
    for name in names:
        mine = [r for r in result.records if r is not None and r.config["experiment"] == name]
        runs, points = (sum(len(r.tables[t]) for r in mine) for t in (RUNS, CHECKPOINTS))
        print(f"{name}: {runs} runs, {points} checkpoint rows")
    print(f"{len(cells)} runs ({result.ran} trained now) in {time.perf_counter() - t0:.1f} s")
    for p in result.paths:
        print(f"wrote {p}")
    return 0
