"""The exact solvers: one file per method, all on the (S·A, S) Bellman core of :mod:`verify.bellman`."""

from verify.solvers.evaluate import evaluate, evaluate_policies
from verify.solvers.horizon import solve_horizon
from verify.solvers.hybrid import value_then_policy_iteration
from verify.solvers.lp import linear_program
from verify.solvers.mpi import modified_policy_iteration
from verify.solvers.pi import policy_iteration
from verify.solvers.vi import value_iteration

__all__ = [
    "evaluate",
    "evaluate_policies",
    "linear_program",
    "modified_policy_iteration",
    "policy_iteration",
    "solve_horizon",
    "value_iteration",
    "value_then_policy_iteration",
]
