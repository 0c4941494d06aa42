"""γ = 1: the exact solvers take an episodic MDP; the society analyses refuse it with a clear error."""

from __future__ import annotations

import numpy as np
import pytest

import mechanism
import verify
from tasks import FiniteMDP


def _episodic() -> FiniteMDP:
    # One decision, then the terminal state: both actions end the episode, paying 0.3 and 0.7.
    P = np.zeros((2, 2, 2))
    P[:, :, 1] = 1.0
    return FiniteMDP(P, np.array([[0.3, 0.7], [0.0, 0.0]]), 1.0, terminal=np.array([False, True]))


def test_the_solvers_take_gamma_one():
    sol = verify.solve(_episodic())
    np.testing.assert_allclose(sol.Q[0], [0.3, 0.7], atol=1e-12)  # one step, no discount: Q = R


@pytest.mark.parametrize(
    "analysis",
    [
        lambda m, mech: verify.truthful_fixed_point(m, mech, clones=2),
        lambda m, mech: verify.exploitability(m, np.full((2, 4), 0.5), mech, clones=2),
        lambda m, mech: verify.best_response(m, np.full((2, 4), 0.5), mech, clones=2),
        lambda m, mech: verify.noisy_fixed_point(m, mech, clones=2, noise=verify.GaussianNoise(0.1)),
    ],
    ids=["fixed_point", "exploitability", "best_response", "noisy_fixed_point"],
)
def test_society_analyses_refuse_gamma_one(analysis):
    with pytest.raises(ValueError, match=r"need a discount gamma < 1.*gamma = 1"):
        analysis(_episodic(), mechanism.MECHANISMS["ccv"])
