"""Exact solvers, truthful fixed points, exploitability, claim checks and experiments.

The claim checker runs on hypothesis, which takes most of a second to import; its names
(``check``, ``CLAIMS``, the claim functions) load on first use (PEP 562), so that ``import verify``
and every `agora` command that does not check claims start fast. The verdict records
(``Claim``, ``Counterexample``, ``Verdict``) live in :mod:`verify.verdicts`, which does not import
hypothesis: reading and rendering verdicts stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from verify.average import solve_average
from verify.best_response import BestResponse, NashConv, best_response, nash_conv
from verify.experiments import EXPERIMENTS, Assessment, assess, reproduce
from verify.exploitability import Exploitability, exploitability
from verify.fixed_point import FixedPointError, truthful_fixed_point
from verify.noisy import (
    BetaNoise,
    CriticalNoise,
    GaussianNoise,
    NoisyFixedPoint,
    critical_noise,
    expected_order_statistics,
    noisy_fixed_point,
)
from verify.solution import AverageSolution, ConvergenceWarning, HorizonSolution, Solution
from verify.solve import METHODS, solve
from verify.solvers import evaluate, solve_horizon
from verify.transform import rescale_rewards

if TYPE_CHECKING:
    from verify.checker import check
    from verify.claims import (
        CLAIMS,
        conserves_credit,
        fixed_point_optimal,
        q_star_equilibrium,
        q_star_farsighted_equilibrium,
        truthful,
    )
    from verify.verdicts import Claim, Counterexample, Verdict

#: Names loaded on first access, and the module that defines each.
_LAZY: dict[str, str] = {
    "check": "verify.checker",
    **dict.fromkeys(("Claim", "Counterexample", "Verdict"), "verify.verdicts"),
    **dict.fromkeys(
        (
            "CLAIMS",
            "conserves_credit",
            "fixed_point_optimal",
    "nash_conv",
            "q_star_equilibrium",
            "q_star_farsighted_equilibrium",
            "truthful",
        ),
        "verify.claims",
    ),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'verify' has no attribute {name!r}")


__all__: list[str] = [
    "CLAIMS",
    "EXPERIMENTS",
    "METHODS",
    "Assessment",
    "AverageSolution",
    "BestResponse",
    "BetaNoise",
    "Claim",
    "ConvergenceWarning",
    "Counterexample",
    "CriticalNoise",
    "Exploitability",
    "FixedPointError",
    "GaussianNoise",
    "HorizonSolution",
    "NashConv",
    "NoisyFixedPoint",
    "Solution",
    "Verdict",
    "assess",
    "best_response",
    "check",
    "conserves_credit",
    "critical_noise",
    "evaluate",
    "expected_order_statistics",
    "exploitability",
    "fixed_point_optimal",
    "nash_conv",
    "noisy_fixed_point",
    "q_star_equilibrium",
    "q_star_farsighted_equilibrium",
    "reproduce",
    "rescale_rewards",
    "solve",
    "solve_average",
    "solve_horizon",
    "truthful",
    "truthful_fixed_point",
]
