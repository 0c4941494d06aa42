"""`agora train TASK`: train a society on one task, print its bids next to Q*, and with ``--out`` write records.

TASK is a registry id (``chain/0``; see `agora tasks`) or ``package.module:NAME`` naming a
:class:`tasks.FiniteMDP` (or a function of no arguments returning one); either way TASK is the id
the records carry. The bids are recorded after every learner update
(:func:`verify.experiments.run_experiment`), so "steps to ε" is exact. ``--out DIR`` is checked
before any training (:func:`reports.outdir.check_out_dir`); at the end it receives ``runs.jsonl``
and ``checkpoints.jsonl`` (schema: :mod:`verify.records`; runs already in DIR with other ids are
kept), then ``manifest.json``, and ``training.md`` and the figures, as `agora report DIR` renders them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """Add the `train` subcommand."""
    p = sub.add_parser("train", help="train a society of bidders and print its bids next to Q*")
    p.add_argument("task", help="task id (see `agora tasks`), e.g. chain/0, or package.module:NAME of a FiniteMDP")
    p.add_argument("--mechanism", default="ccv", help="mechanism (see `agora mechanisms`) or package.module:NAME")
    p.add_argument("--clones", default="2", help="bidders per primitive, a comma-separated list: 2 cloned, 1 solitary")
    p.add_argument(
        "--learner", default="valuation",
        help="valuation, policy_gradient, q_learning or softmax_pg (default valuation)",
    )
    p.add_argument("--steps", type=int, default=100_000, help="environment steps per seed (default 100000)")
    p.add_argument("--seeds", type=int, default=10, help="number of seeds run in lockstep (default 10)")
    p.add_argument("--seed", type=int, default=0, help="first seed: the seeds are S, S+1, ... (default 0)")
    p.add_argument("--episodes", type=int, default=32, help="parallel episodes per seed (default 32)")
    p.add_argument("--no-rescale", action="store_true", help="do not rescale a task whose Q* leaves (0, 1)")
    p.add_argument("--out", default=None, help="write records and training.md into this folder")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
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


def _clones(text: str) -> list[int]:
    try:
        out = [int(x) for x in str(text).split(",")]
    except ValueError:
        raise ValueError(f"--clones {text!r}: expected comma-separated counts, e.g. 1,2.") from None
    if any(k < 1 for k in out):
        raise ValueError(f"--clones {text!r}: every count must be >= 1.")
    return list(dict.fromkeys(out))


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
    """Train, assess against the exact solution, print a table of bids and Q*; with --out, write records."""
    from mechanism import LEARNERS, SOCIETY_LEARNERS
    from reports.outdir import check_out_dir
    from verify.experiments import bid_task, run_experiment
    from verify.jobs import load_mechanism
    from verify.records import LearningRecords, command_line

    mdp = load_task(args.task)
    if args.learner not in LEARNERS:
        raise ValueError(f"unknown learner {args.learner!r}; choose one of {sorted(LEARNERS)}.")
    mech = load_mechanism(args.mechanism)
    clones = _clones(args.clones) if args.learner in SOCIETY_LEARNERS else [1]
    if args.seeds < 1 or args.seed < 0:
        raise ValueError(f"--seeds must be >= 1 and --seed >= 0; got {args.seeds} and {args.seed}.")
    out = check_out_dir(args.out) if args.out else None  # before any work: a bad --out costs nothing
    if args.learner in SOCIETY_LEARNERS and not args.no_rescale:
        mdp = bid_task(mdp)
    seeds = list(range(args.seed, args.seed + args.seeds))
    command = command_line("agora", ["train", args.task], {
        "mechanism": args.mechanism, "clones": args.clones, "learner": args.learner, "steps": args.steps,
        "seeds": args.seeds, "seed": args.seed, "episodes": args.episodes, "no_rescale": args.no_rescale,
        "out": args.out,
    })
    records = LearningRecords([], [])
    for k in clones:
        a = run_experiment(mdp, mech, clones=k, learner=args.learner, steps=args.steps, seeds=seeds,
                           episodes=args.episodes, progress=not args.no_progress)
        _print(a, args.task)
        cfg = a.result.config
        run = f"{args.task}:{cfg.learner}:{cfg.mechanism}:{cfg.clones}:{cfg.steps}"
        records.runs.append(a.run_record(run, task=args.task, budget=args.steps, command=command))
        records.checkpoints.extend(a.checkpoint_records(run))
    if out is not None:
        for p in write_out(out, records, command):
            print(f"wrote {p}")
    return 0


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
