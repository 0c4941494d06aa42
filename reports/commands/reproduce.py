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

The shared flags (:mod:`reports.flags`): ``--mechanism`` and ``--clones`` narrow the experiments'
grid to those registered mechanisms and clone settings (the monolithic baselines always run; a
``package.module:NAME`` is refused: the runner's workers look mechanisms up by name);
``--seeds N --seed S`` are the seeds S..S+N−1 of every run and study; ``--format json`` prints
``{"experiments": {...}, "runs": [every runs.jsonl row], "studies": {...}, "files": [...]}``;
``--jobs`` and the runner flags; a progress bar with an ETA over the runs (and the studies) on a
terminal, ``--no-progress`` to turn it off.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from reports import flags
from reports.commands.sweep import render_learning, report_failures


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
    flags.add_out(p, "agora-reproduce", what="output folder: records, training.md, figures, manifest.json")
    flags.add_mechanism(p, "the experiment's: the four built-ins", registry_only=True)
    flags.add_clones(p, "the experiment's: 2,1")
    flags.add_seeds(p, None, what="seeds per configuration, run in lockstep", default_text=(
        f"each experiment's: 10 tabular, 5 bandit-neural, 3 chain-neural, {STUDY_SEEDS} a study"))
    p.add_argument("--steps", type=flags.count("--steps", 1, "env steps per seed"), default=None,
                   help="env steps per seed (default: each experiment's budget)")
    p.add_argument(
        "--budgets",
        default=None,
        metavar="N[,N]",
        help="budgets of the sample-efficiency study against a monolithic learner (default: each experiment's: "
        "50000,200000,800000 against Q-learning for the tabular ones, none for the neural ones, whose baseline "
        "is ppo_monolithic; 'none' skips it)",
    )
    flags.add_format(p)
    flags.add_runner(p)
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


#: Studies that are not a grid of training runs: each module has ``run(out, *, seeds, seed, command) -> dict``
#: (``command``: the command line its records carry) and writes its own records (``<name>.jsonl``), table
#: (``<name>.md``) and figures into the folder.
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
    budgets = parse_budgets(args.budgets)
    chosen = flags.mechanisms(args, []) or None  # None: the experiments' own
    options = flags.runner_options(args)
    out = check_out_dir(args.out)
    command = command_line("agora", ["reproduce", *args.name], {
        "out": args.out, "mechanism": args.mechanism, "clones": args.clones, "seeds": args.seeds, "seed": args.seed,
        "steps": args.steps, "budgets": None if budgets is None else ",".join(map(str, budgets)) or "none",
    })
    doc: dict[str, Any] = {"command": command, "out": str(out), "experiments": {}, "runs": [], "studies": {},
                           "files": []}
    code = _run_experiments(names, args, budgets, options, out, command, doc, chosen) if names else 0
    if code == 0 and studies:
        _run_studies(studies, args, out, command, doc)
    if code == 0 and args.format == "json":
        flags.emit_json(args, doc)
    return code


def _run_studies(studies: list[str], args: argparse.Namespace, out: Any, command: str, doc: dict[str, Any]) -> None:
    """Run each study of :data:`STUDIES` into ``out``, then list its records in the folder's manifest."""
    import importlib

    from tqdm import tqdm

    from verify.records import write_manifest

    show = flags.progress(args)
    with tqdm(total=len(studies), unit="study", disable=not show, dynamic_ncols=True) as bar:
        for name in studies:
            bar.set_postfix_str(name)
            t0 = time.perf_counter()
            run = importlib.import_module(STUDIES[name]).run
            summary = run(out, seeds=args.seeds or STUDY_SEEDS, seed=args.seed, command=command)
            seconds = time.perf_counter() - t0
            paths = [out / (name + suffix) for suffix in (".md", ".jsonl")]
            paths.append(write_manifest(out, [f"{name}.jsonl"], command=command))
            doc["studies"][name] = {**summary, "seconds": seconds}
            doc["files"] += [str(p) for p in paths]
            bar.update(1)
            if args.format == "table":
                bar.write(f"{name}: {summary.get('headline', '')} ({seconds:.1f} s)")
                for p in paths:
                    bar.write(f"wrote {p}")


def select(cells: list[Any], mechanisms: list[str] | None, clones: list[int] | None) -> list[Any]:
    """The cells of ``mechanisms`` and ``clones`` (None: all); a monolithic baseline's cells are always kept."""
    def chosen(config: dict[str, Any]) -> bool:
        mech, k = config["mechanism"], config["clones"]
        return (mechanisms is None or mech in mechanisms) and (clones is None or k in clones)

    return [c for c in cells if c.config["mechanism"] == "monolithic" or chosen(c.config)]


def _run_experiments(
    names: list[str], args: argparse.Namespace, budgets: Any, options: dict[str, Any], out: Any, command: str,
    doc: dict[str, Any], mechanisms: list[str] | None,
) -> int:
    """The grid experiments (bandit, chain, duality and the neural ones) on the sweep runner."""
    from verify.jobs import reproduce_cells
    from verify.records import CHECKPOINTS, RUNS
    from verify.sweep import sweep

    cells = select(reproduce_cells(names, args.seeds, args.seed, args.steps, budgets), mechanisms, args.clones)
    if not cells:
        raise ValueError("--mechanism and --clones leave no run of these experiments; widen them.")
    t0 = time.perf_counter()
    result = sweep(cells, out, command=command, render=render_learning, **options)
    code = report_failures(result, "reproduce")
    if code:
        return code
    lines = []
    for name in names:
        mine = [r for r in result.records if r is not None and r.config["experiment"] == name]
        runs, points = (sum(len(r.tables[t]) for r in mine) for t in (RUNS, CHECKPOINTS))
        doc["experiments"][name] = {"runs": runs, "checkpoints": points}
        doc["runs"] += [row for r in mine for row in r.tables[RUNS]]
        lines.append(f"{name}: {runs} runs, {points} checkpoint rows")
    seconds = time.perf_counter() - t0
    doc.update(cells=len(cells), ran=result.ran, seconds=seconds)
    doc["files"] += [str(p) for p in result.paths]
    if args.format == "table":
        lines.append(f"{len(cells)} runs ({result.ran} trained now) in {seconds:.1f} s")
        print("\n".join([*lines, *(f"wrote {p}" for p in result.paths)]))
    return 0
