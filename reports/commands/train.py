"""`agora train TASK`: train a society on one task, print its bids next to Q*, and with ``--out`` write records.

TASK is a registry id (``chain/0``; see `agora tasks`) or ``package.module:NAME`` naming a
:class:`tasks.FiniteMDP` (or a function of no arguments returning one); either way TASK is the id
the records carry. The bids are recorded after every learner update
(:func:`verify.experiments.run_experiment`), so "steps to ε" is exact. ``--out DIR`` is checked
before any training (:func:`reports.outdir.check_out_dir`); at the end it receives ``runs.jsonl``
and ``checkpoints.jsonl`` (schema: :mod:`verify.records`; runs already in DIR with other ids are
kept), then ``manifest.json``, and ``training.md`` and the figures, as `agora report DIR` renders them.

One run per mechanism × clone setting (``--mechanism ccv,vickrey --clones 1,2`` is four runs, in
that order), each over the seeds S, S+1, ..., S+N−1 of ``--seed S --seeds N`` in lockstep. A
monolithic learner (q_learning, ...) has no auction: it runs once, whatever ``--mechanism`` and
``--clones`` say. The shared flags are those of :mod:`reports.flags`; ``--format json`` prints
``{"runs": [one runs.jsonl row per run], "files": [...]}``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Any

from reports import flags


def register(sub: Any) -> None:
    """Add the `train` subcommand."""
    p = sub.add_parser("train", help="train a society of bidders and print its bids next to Q*")
    p.add_argument("task", help="task id (see `agora tasks`), e.g. chain/0, or package.module:NAME of a FiniteMDP")
    flags.add_mechanism(p, "ccv")
    flags.add_clones(p, "2")
    p.add_argument(
        "--learner", default="valuation",
        help="valuation, policy_gradient, q_learning or softmax_pg (default valuation)",
    )
    p.add_argument("--steps", type=flags.count("--steps", 1, "environment steps per seed"), default=100_000,
                   help="environment steps per seed (default 100000)")
    flags.add_seeds(p, 10, what="seeds run in lockstep")
    p.add_argument("--episodes", type=flags.count("--episodes", 1, "parallel episodes per seed"), default=32,
                   help="parallel episodes per seed (default 32)")
    p.add_argument("--no-rescale", action="store_true", help="do not rescale a task whose Q* leaves (0, 1)")
    flags.add_out(p, None, what="write runs.jsonl, checkpoints.jsonl, training.md and figures into DIR")
    flags.add_format(p)
    flags.add_progress(p)
    p.set_defaults(func=run_train)


def load_task(spec: str) -> Any:
    """The MDP of a registry id or of ``package.module:NAME`` (a FiniteMDP or a function returning one)."""
    import tasks

    if ":" not in spec:
        return tasks.make(spec)
    module_name, _, attr = spec.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"task {spec!r}: cannot import {attr!r} from {module_name!r} ({err}).") from None
    mdp = obj() if callable(obj) and not isinstance(obj, tasks.FiniteMDP) else obj
    if not isinstance(mdp, tasks.FiniteMDP):
        raise TypeError(f"task {spec!r} is a {type(mdp).__name__}, not a tasks.FiniteMDP.")
    return mdp


def _print(a: Any, task: str) -> None:
    """The bids (median and range over seeds) next to Q*, the final errors and steps to ε."""
    import numpy as np

    from verify.experiments import reach

    res, cfg = a.result, a.result.config
    bids = res.primitive_bids[-1]  # (N, S, A)
    med, lo, hi = np.median(bids, axis=0), bids.min(axis=0), bids.max(axis=0)
    print(f"{task}: {cfg.mechanism}, clones={cfg.clones}, {cfg.learner}, {cfg.steps} steps x {len(cfg.seeds)} seeds")
    print(f"{'state':>5} {'prim':>4} {'bid (median)':>12} {'[min, max] over seeds':>22} {'Q*':>9} {'error':>8}")
    for s in np.flatnonzero(a.reachable):
        for i in range(bids.shape[-1]):
            print(f"{s:>5} {i:>4} {med[s, i]:>12.4f} {f'[{lo[s, i]:.4f}, {hi[s, i]:.4f}]':>22} "
                  f"{a.Q[s, i]:>9.4f} {med[s, i] - a.Q[s, i]:>+8.4f}")
    print(f"max |bid - Q*| over reachable pairs: median {np.median(a.max_error[-1]):.4f}, "
          f"worst seed {a.max_error[-1].max():.4f}; greedy policy value {np.median(a.value[-1]):.4f} "
          f"vs V* {a.v_star:.4f} (from start)")
    how = "exact: after every update" if a.exact else "on a grid"
    for eps, hit in a.steps_to.items():
        print(f"steps to max error < {eps:g} ({how}, every {a.resolution} env steps): {reach(hit)}")
    share = a.wins.optimal_share
    print(f"auctions won by an optimal primitive (evaluation rollout): median {np.nanmedian(share):.0%}")


def run_train(args: argparse.Namespace) -> int:
    """Train each mechanism × clones, assess against the exact solution, print bids and Q*; --out: write records."""
    from mechanism import LEARNERS, SOCIETY_LEARNERS
    from reports.outdir import check_out_dir
    from verify.experiments import bid_task, run_experiment
    from verify.jobs import load_mechanism
    from verify.records import LearningRecords

    mdp = load_task(args.task)
    if args.learner not in LEARNERS:
        raise ValueError(f"unknown learner {args.learner!r}; choose one of {sorted(LEARNERS)}.")
    society = args.learner in SOCIETY_LEARNERS
    specs = flags.mechanisms(args, ["ccv"]) if society else [flags.mechanisms(args, ["ccv"])[0]]
    clones = flags.clones(args, [2]) if society else [1]
    seeds = flags.seeds(args, 10)
    out = check_out_dir(args.out) if args.out else None  # before any work: a bad --out costs nothing
    if society and not args.no_rescale:
        mdp = bid_task(mdp)
    command = _command(args)
    records = LearningRecords([], [])
    for spec in specs:
        for k in clones:
            a = run_experiment(mdp, load_mechanism(spec), clones=k, learner=args.learner, steps=args.steps,
                               seeds=seeds, episodes=args.episodes, progress=flags.progress(args))
            if args.format == "table":
                _print(a, args.task)
            cfg = a.result.config
            run = f"{args.task}:{cfg.learner}:{cfg.mechanism}:{cfg.clones}:{cfg.steps}"
            records.runs.append(a.run_record(run, task=args.task, budget=args.steps, command=command))
            records.checkpoints.extend(a.checkpoint_records(run))
    paths = write_out(out, records, command) if out is not None else []
    if args.format == "json":
        flags.emit_json(args, {"command": command, "runs": records.runs, "files": [str(p) for p in paths]})
    for p in paths if args.format == "table" else []:
        print(f"wrote {p}")
    return 0


def _command(args: argparse.Namespace) -> str:
    """The command line that repeats the runs (every option spelled out)."""
    from verify.records import command_line

    return command_line("agora", ["train", args.task], {
        "mechanism": flags.mechanisms(args, ["ccv"]), "clones": flags.clones(args, [2]), "learner": args.learner,
        "steps": args.steps, "seeds": len(flags.seeds(args, 10)), "seed": args.seed, "episodes": args.episodes,
        "no_rescale": args.no_rescale, "out": args.out,
    })


def write_out(out: Path, records: Any, command: str) -> list[Path]:
    """Merge ``records`` into the learning tables of ``out``, write its manifest last, render the report.

    The manifest (:func:`verify.records.write_manifest`) follows the record files, so a kill
    before it leaves a folder `agora report` refuses; the report is rendered from the merged tables.
    """
    from reports.learning import write_training_report
    from verify.records import read_learning_records, write_learning_records, write_manifest

    paths = write_learning_records(out, records)
    paths.append(write_manifest(out, [p.name for p in paths], command=command))
    merged = read_learning_records(out)
    return [*paths, *write_training_report(out, merged.runs, merged.checkpoints)]
