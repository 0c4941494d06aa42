"""`agora train TASK`: train one society on one task and print its bids next to Q*."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add the `train` subcommand."""
    p = sub.add_parser("train", help="train a society of bidders and print its bids next to Q*")
    p.add_argument("task", help="task id (see `agora tasks`), e.g. chain/0")
    p.add_argument("--mechanism", default="ccv", help="auction mechanism (see `agora mechanisms`); default ccv")
    p.add_argument("--clones", type=int, default=2, help="bidders per primitive: 2 cloned, 1 solitary (default 2)")
    p.add_argument(
        "--learner", default="valuation",
        help="valuation, policy_gradient, q_learning or softmax_pg (default valuation)",
    )
    p.add_argument("--steps", type=int, default=100_000, help="environment steps per seed (default 100000)")
    p.add_argument("--seeds", type=int, default=10, help="number of seeds run in lockstep (default 10)")
    p.add_argument("--no-rescale", action="store_true", help="do not rescale a task whose Q* leaves (0, 1)")
    p.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> int:
    """Train, assess against the exact solution, print a table of bids (median over seeds) and Q*."""
    import numpy as np

    import tasks
    from mechanism import LEARNERS, SOCIETY_LEARNERS, train
    from verify.experiments import assess, bid_task

    mdp = tasks.make(args.task)
    if args.learner in SOCIETY_LEARNERS and not args.no_rescale:
        mdp = bid_task(mdp)
    if args.learner not in LEARNERS:
        raise ValueError(f"unknown learner {args.learner!r}; choose one of {sorted(LEARNERS)}.")
    res = train(mdp, args.mechanism, clones=args.clones, learner=args.learner, steps=args.steps, seeds=args.seeds)
    a = assess(res, mdp)
    bids = res.primitive_bids[-1]  # (N, S, A)
    med, lo, hi = np.median(bids, axis=0), bids.min(axis=0), bids.max(axis=0)
    cfg = res.config
    print(f"{mdp.name or args.task}: {cfg.mechanism}, clones={cfg.clones}, {cfg.learner}, "
          f"{cfg.steps} steps x {len(cfg.seeds)} seeds")
    print(f"{'state':>5} {'prim':>4} {'bid (median)':>12} {'[min, max] over seeds':>22} {'Q*':>9} {'error':>8}")
    for s in np.flatnonzero(a.reachable):
        for i in range(bids.shape[-1]):
            print(f"{s:>5} {i:>4} {med[s, i]:>12.4f} {f'[{lo[s, i]:.4f}, {hi[s, i]:.4f}]':>22} "
                  f"{a.Q[s, i]:>9.4f} {med[s, i] - a.Q[s, i]:>+8.4f}")
    print(f"max |bid - Q*| over reachable pairs: median {np.median(a.max_error[-1]):.4f}, "
          f"worst seed {a.max_error[-1].max():.4f}; greedy policy value {np.median(a.value[-1]):.4f} "
          f"vs V* {a.v_star:.4f} (from start)")
    return 0
