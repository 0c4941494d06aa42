"""Learners for societies of bidders (tabular, and neural PPO), and monolithic baselines on the same interface."""

from mechanism.learners.base import (
    Learner,
    Transition,
    group_cells,
    linear_schedule,
    scatter_mean,
    tile_clones,
)
from mechanism.learners.baselines import QLearning, SoftmaxPolicyGradient, TableParams
from mechanism.learners.policy_gradient import (
    OPTIMIZERS,
    BetaParams,
    PolicyGradient,
    beta_entropy,
    beta_entropy_grad,
    beta_fisher,
    beta_log_prob,
    beta_log_prob_grad,
    beta_shape,
)
from mechanism.learners.ppo import PPO
from mechanism.learners.ppo_monolithic import MonolithicPPO
from mechanism.learners.valuation import Valuation, ValuationParams

#: Learner registry: name -> learner class (a frozen dataclass of hyperparameters).
LEARNERS: dict[str, type] = {
    "valuation": Valuation,
    "policy_gradient": PolicyGradient,
    "q_learning": QLearning,
    "softmax_pg": SoftmaxPolicyGradient,
    "ppo": PPO,
    "ppo_monolithic": MonolithicPPO,
}
#: The hyperparameters that reproduce the learners' older defaults bit for bit (a constant step of
#: 0.1, ε annealed linearly from 0.2 to 0 over the run, uniform exploration bids), by learner name:
#: ``train(mdp, "ccv", **LEGACY["valuation"])``.
LEGACY: dict[str, dict[str, object]] = {
    "valuation": {
        "step_size": 0.1, "epsilon": 0.2, "epsilon_final": 0.0, "schedule": "run_fraction", "exploration": "uniform"
    },
    "q_learning": {"step_size": 0.1, "epsilon": 0.2, "epsilon_final": 0.0, "schedule": "run_fraction"},
}
#: The learners that bid in an auction (the others are monolithic baselines).
SOCIETY_LEARNERS: tuple[str, ...] = ("valuation", "policy_gradient", "ppo")

__all__ = [
    "LEARNERS",
    "LEGACY",
    "OPTIMIZERS",
    "PPO",
    "SOCIETY_LEARNERS",
    "BetaParams",
    "Learner",
    "MonolithicPPO",
    "PolicyGradient",
    "QLearning",
    "SoftmaxPolicyGradient",
    "TableParams",
    "Transition",
    "Valuation",
    "ValuationParams",
    "beta_entropy",
    "beta_entropy_grad",
    "beta_fisher",
    "beta_log_prob",
    "beta_log_prob_grad",
    "beta_shape",
    "group_cells",
    "linear_schedule",
    "scatter_mean",
    "tile_clones",
]
