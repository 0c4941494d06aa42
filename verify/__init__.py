"""Exact solvers, truthful fixed points, exploitability, claim checks and experiments."""

from verify.check import check
from verify.claims import (
    CLAIMS,
    Counterexample,
    Verdict,
    conserves_credit,
    fixed_point_optimal,
    q_star_equilibrium,
    truthful,
)
from verify.experiments import EXPERIMENTS, Assessment, assess, reproduce
from verify.exploitability import Exploitability, exploitability
from verify.fixed_point import FixedPointError, truthful_fixed_point
from verify.solution import ConvergenceWarning, HorizonSolution, Solution
from verify.solve import METHODS, solve
from verify.solvers import evaluate, solve_horizon

__all__: list[str] = [
    "CLAIMS",
    "EXPERIMENTS",
    "METHODS",
    "Assessment",
    "ConvergenceWarning",
    "Counterexample",
    "Exploitability",
    "FixedPointError",
    "HorizonSolution",
    "Solution",
    "Verdict",
    "assess",
    "check",
    "conserves_credit",
    "evaluate",
    "exploitability",
    "fixed_point_optimal",
    "q_star_equilibrium",
    "reproduce",
    "solve",
    "solve_horizon",
    "truthful",
    "truthful_fixed_point",
]
