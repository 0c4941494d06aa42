"""Tabular learners for societies of bidders, and monolithic baselines on the same interface."""

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
from mechanism.learners.valuation import Valuation, ValuationParams

#: Learner registry: name -> learner class (a frozen dataclass of hyperparameters).
LEARNERS: dict[str, type] = {
    "valuation": Valuation,
    "policy_gradient": PolicyGradient,
    "q_learning": QLearning,
    "softmax_pg": SoftmaxPolicyGradient,
}
#: The learners that bid in an auction (the others are monolithic baselines).
SOCIETY_LEARNERS: tuple[str, ...] = ("valuation", "policy_gradient")

__all__ = [
    "LEARNERS",
    "OPTIMIZERS",
    "SOCIETY_LEARNERS",
    "BetaParams",
    "Learner",
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
