"""The solitary-ccv finding is reproducible and consistent with the claim check."""

from verify.findings import solitary_ccv_suboptimality


def test_the_finding_is_reproducible_and_consistent() -> None:
    a = solitary_ccv_suboptimality(n=30, seed=1, budget=10)
    b = solitary_ccv_suboptimality(n=30, seed=1, budget=10)
    assert (a.suboptimal_from_start, a.mean_start_shortfall) == (b.suboptimal_from_start, b.mean_start_shortfall)
    assert 0 < a.suboptimal_from_start <= a.suboptimal_anywhere <= 30  # it happens, and start implies anywhere
    assert a.worst_start_shortfall >= a.mean_start_shortfall >= 0.0
    assert a.smallest is not None
    assert a.smallest.claim == "fixed_point_optimal"
