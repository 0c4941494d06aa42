"""verify.solve_average: average-reward gain, bias and policy for unichain and multichain MDPs.

Independent references used here:
- pymdptoolbox's RelativeValueIteration (its documented values, and runs at epsilon 1e-12);
- brute force over every deterministic policy, each gain from the Cesàro limit P* computed by
  repeated squaring of the lazy chain (I + P)/2 (same P*, aperiodic), never by solve_average's
  linear systems; the bias from the deviation matrix h = (I − P + P*)^{-1}(I − P*) r
  (Puterman 1994, App. A.5);
- the discounted solver: (1 − γ)·V*_γ → g* and V*_γ − g*/(1 − γ) → h* (Laurent expansion,
  Puterman 1994, §8.2.2, §10.1);
- closed forms derived in the comments.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from typing import Any

import mdptoolbox.example
import mdptoolbox.mdp
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray

import tasks
import verify
import verify.average as average

FloatArray = NDArray[np.float64]


# ---------------------------------------------------------------- independent references
def _cesaro_limit(P: FloatArray) -> FloatArray:
    """P* of a stack of stochastic matrices (..., S, S): ((I + P)/2)^(2^64), by 64 squarings.

    Rows are renormalised after each squaring: a row sum of 1 + ε would grow to (1 + ε)^(2^64).
    """
    L = 0.5 * (np.eye(P.shape[-1]) + P)
    for _ in range(64):
        L = L @ L
        L /= L.sum(axis=-1, keepdims=True)
    assert np.abs(L @ L - L).max() < 1e-12, "the lazy chain did not converge"
    return L


def _all_policies(S: int, A: int, allowed: NDArray[np.bool_] | None = None) -> NDArray[np.int64]:
    pols = np.array(list(itertools.product(range(A), repeat=S)), dtype=np.int64).reshape(-1, S)
    if allowed is not None:
        pols = pols[allowed[np.arange(S), pols].all(axis=1)]
    return pols


def _policy_gains(mdp: tasks.FiniteMDP, pols: NDArray[np.int64]) -> FloatArray:
    """Gain of each policy in ``pols`` (n, S): P*_π r_π from the lazy-chain power."""
    S = mdp.n_states
    P_pi = mdp.dense_P[np.arange(S), pols]  # (n, S, S)
    r_pi = mdp.R[np.arange(S), pols]  # (n, S)
    return np.einsum("nst,nt->ns", _cesaro_limit(P_pi), r_pi)


def _brute_force_gain(mdp: tasks.FiniteMDP) -> FloatArray:
    """g*(s) = max over deterministic stationary policies of g_π(s).

    One policy attains it in every state (Puterman 1994, §9.1).
    """
    allowed = getattr(mdp, "available", None)
    return _policy_gains(mdp, _all_policies(mdp.n_states, mdp.n_actions, allowed)).max(axis=0)


def _deviation_bias(mdp: tasks.FiniteMDP, policy: NDArray[np.int64]) -> FloatArray:
    """h_π = (I − P + P*)^{-1}(I − P*) r_π (Puterman 1994, Appendix A.5)."""
    S = mdp.n_states
    P = mdp.dense_P[np.arange(S), policy]
    r = mdp.R[np.arange(S), policy]
    Ps = _cesaro_limit(P)
    return np.linalg.solve(np.eye(S) - P + Ps, r - Ps @ r)


def assert_gain_optimal(mdp: tasks.FiniteMDP, sol: verify.AverageSolution, atol: float = 1e-9) -> None:
    """The checker: gain = brute-force g*, and the returned policy's own gain (by P*) is g* too."""
    g_star = _brute_force_gain(mdp)
    np.testing.assert_allclose(sol.gain, g_star, atol=atol, rtol=0)
    np.testing.assert_allclose(_policy_gains(mdp, sol.policy[None])[0], g_star, atol=atol, rtol=0)


def assert_bias_of_policy(mdp: tasks.FiniteMDP, sol: verify.AverageSolution, atol: float = 1e-8) -> None:
    np.testing.assert_allclose(sol.bias, _deviation_bias(mdp, sol.policy), atol=atol, rtol=0)


def assert_optimality_equations(mdp: tasks.FiniteMDP, sol: verify.AverageSolution, atol: float = 1e-9) -> None:
    """Puterman 1994, eqs. 9.1.1-9.1.2, recomputed here from dense arrays."""
    P, R, g, h = mdp.dense_P, mdp.R, sol.gain, sol.bias
    allowed = getattr(mdp, "available", None)
    ok = np.ones(R.shape, dtype=bool) if allowed is None else allowed
    Pg = np.where(ok, P @ g, -np.inf)
    assert np.abs(Pg.max(axis=1) - g).max() <= atol
    B = Pg >= Pg.max(axis=1, keepdims=True) - 1e-9
    rPh = np.where(B & ok, R + P @ h, -np.inf)
    assert np.abs(rPh.max(axis=1) - g - h).max() <= atol
    # and the policy attains both maxima
    S = mdp.n_states
    assert np.abs(Pg[np.arange(S), sol.policy] - g).max() <= atol
    assert np.abs(rPh[np.arange(S), sol.policy] - g - h).max() <= atol


# ---------------------------------------------------------------- examples
def _hand(gamma: float = 0.9) -> tasks.FiniteMDP:
    """A choice state 0 and two absorbing states 1 (reward 1) and 2 (reward 2).

    Action 0 jumps to 1 for a transient reward 10; action 1 pays 1 and enters state 3, which pays
    5 and moves on to 2 with probability 1/2 (else stays). Closed form: g = (2, 1, 2, 2). Bias
    (P*h = 0, so h = 0 on absorbing states): h(3) + 2 = 5 + h(3)/2 gives h(3) = 6; h(0) + 2 =
    1 + h(3) gives h(0) = 5. The myopic action 0 has gain 1 and bias 10 − 1 = 9: a bias-first
    improvement keeps it.
    """
    P, R = np.zeros((4, 2, 4)), np.zeros((4, 2))
    P[0, 0, 1], R[0, 0] = 1.0, 10.0
    P[0, 1, 3], R[0, 1] = 1.0, 1.0
    P[1, :, 1], R[1] = 1.0, 1.0
    P[2, :, 2], R[2] = 1.0, 2.0
    P[3, :, 2], P[3, :, 3], R[3] = 0.5, 0.5, 5.0
    return tasks.FiniteMDP(P, R, gamma)


def _blocks(gamma: float = 0.9, seed: int = 0) -> tasks.FiniteMDP:
    """Multichain: closed blocks {0, 1, 2} and {3, 4} (every action stays inside), states 5, 6 go anywhere.

    Block {3, 4} pays 0.5 more, so the gains differ by block and the transient states mix them.
    """
    rng = np.random.default_rng(seed)
    S, A = 7, 2
    P = np.zeros((S, A, S))
    for b in ([0, 1, 2], [3, 4]):
        P[np.ix_(b, range(A), b)] = rng.random((len(b), A, len(b)))
    P[5:] = rng.random((2, A, S))
    P /= P.sum(axis=-1, keepdims=True)
    R = rng.random((S, A))
    R[3:5] += 0.5
    return tasks.FiniteMDP(P, R, gamma)


def _forest() -> tuple[Any, Any, tasks.FiniteMDP]:
    P, R = mdptoolbox.example.forest()  # S = 3, r1 = 4, r2 = 2, p = 0.1
    return P, R, tasks.from_mdptoolbox(P, R, 0.9)


def _rvi(P: Any, R: Any, epsilon: float) -> Any:
    rvi = mdptoolbox.mdp.RelativeValueIteration(P, R, epsilon=epsilon, max_iter=1_000_000)
    rvi.run()
    return rvi


@st.composite
def small_mdps(draw: Any, ergodic: bool = False) -> tasks.FiniteMDP:
    """S <= 5, A <= 3. Rows are integer weights (many zeros unless ``ergodic``: then all P > 0), so
    multichain structure, transient states and periodic classes all occur; rewards are halves in
    [−2, 2], so exact ties between actions and policies occur too."""
    S, A = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    weight = st.integers(1, 4) if ergodic else st.sampled_from([0, 0, 0, 1, 2, 3])
    w = np.array(draw(st.lists(weight, min_size=S * A * S, max_size=S * A * S)), dtype=float).reshape(S, A, S)
    empty = w.sum(axis=-1) == 0
    w[empty, :] = 0.0
    for s, a in zip(*np.nonzero(empty), strict=True):
        w[s, a, s] = 1.0
    R = np.array(draw(st.lists(st.integers(-4, 4), min_size=S * A, max_size=S * A)), dtype=float).reshape(S, A) / 2
    return tasks.FiniteMDP(w / w.sum(axis=-1, keepdims=True), R, 0.9)


# ---------------------------------------------------------------- pymdptoolbox
def test_forest_matches_pymdptoolbox_documented_values() -> None:
    P, R, mdp = _forest()
    sol = verify.solve_average(mdp)
    # pymdptoolbox 4.0b3, RelativeValueIteration docstring (mdptoolbox/mdp.py): forest() gives
    # average_reward 3.2399999999999993, policy (0, 0, 0); its src/tests/test_RelativeValueIteration.py
    # comments out v = (−4.36, −0.76, 3.24) (and asserts ar = 2.43, a value of an older release;
    # 4.0b3 returns 3.24). Closed form: waiting everywhere, the stationary distribution is
    # (0.1, 0.09, 0.81) and only state 2 pays 4, so g = 4·0.81 = 3.24.
    np.testing.assert_allclose(sol.gain, [3.24, 3.24, 3.24], rtol=0, atol=1e-12)
    assert sol.policy.tolist() == [0, 0, 0]
    # RVI's V is h + const: differences (−4.36 − 3.24, −0.76 − 3.24) = (−7.6, −4.0).
    np.testing.assert_allclose(sol.bias - sol.bias[2], [-7.6, -4.0, 0.0], rtol=0, atol=1e-12)
    # The bias itself: μ·h = 0 gives h = (−7.6, −4, 0) + 0.76 + 0.36 = (−6.48, −2.88, 1.12).
    np.testing.assert_allclose(sol.bias, [-6.48, -2.88, 1.12], rtol=0, atol=1e-12)
    assert sol.unichain
    assert sol.recurrent_classes[0].tolist() == [0, 1, 2]
    rvi = _rvi(P, R, 1e-12)
    assert abs(rvi.average_reward - 3.24) < 1e-12
    assert rvi.policy == (0, 0, 0)
    assert sol.residual < 1e-12
    assert sol.error_bound < 1e-12


def test_small_example_matches_pymdptoolbox_documented_values() -> None:
    # pymdptoolbox src/tests/utils.py P_small, R_small; test_RelativeValueIteration_dense documents
    # average_reward 3.88523524641183 and policy (1, 0) at the default epsilon 0.01 (29 iterations).
    P = np.array([[[0.5, 0.5], [0.8, 0.2]], [[0.0, 1.0], [0.1, 0.9]]])
    R = np.array([[5.0, 10.0], [-1.0, 2.0]])
    sol = verify.solve_average(tasks.from_mdptoolbox(P, R, 0.9))
    # Closed form: policy (1, 0) moves 0 → 1 (reward 10); 1 → 0 w.p. 0.8 (reward −1). Stationary
    # μ0 = 0.8·μ1, so μ = (4/9, 5/9) and g = 10·4/9 − 5/9 = 35/9 = 3.8888...
    np.testing.assert_allclose(sol.gain, [35 / 9, 35 / 9], rtol=0, atol=1e-12)
    assert sol.policy.tolist() == [1, 0]
    assert abs(3.88523524641183 - 35 / 9) < 0.01  # the documented value is within RVI's epsilon
    rvi = _rvi(P, R, 1e-12)
    assert abs(rvi.average_reward - 35 / 9) < 1e-9
    # RVI's V solves g + V = TV with V(1) = g: its differences are the bias differences.
    np.testing.assert_allclose(np.subtract(rvi.V, rvi.V[1]), sol.bias - sol.bias[1], rtol=0, atol=1e-9)


@given(small_mdps(ergodic=True))
def test_ergodic_mdps_agree_with_relative_value_iteration(mdp: tasks.FiniteMDP) -> None:
    P_tb, R_tb = tasks.to_mdptoolbox(mdp)
    rvi = _rvi(P_tb, R_tb, 1e-12)
    sol = verify.solve_average(mdp)
    # RVI stops when span(TV − V) < ε; g* lies between min and max of TV − V, so |error| < ε.
    np.testing.assert_allclose(sol.gain, rvi.average_reward, rtol=0, atol=1e-9)
    # In an ergodic MDP the h of the optimality equation is unique up to a constant.
    np.testing.assert_allclose(np.subtract(rvi.V, rvi.V[-1]), sol.bias - sol.bias[-1], rtol=0, atol=1e-8)
    assert sol.unichain
    assert sol.recurrent_classes[0].size == mdp.n_states
    assert sol.error_bound < 1e-10


# ---------------------------------------------------------------- closed forms
def test_multichain_hand_example_closed_form() -> None:
    mdp = _hand()
    for method in ("pi", "lp"):
        sol = verify.solve_average(mdp, method=method)
        np.testing.assert_allclose(sol.gain, [2.0, 1.0, 2.0, 2.0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(sol.bias, [5.0, 0.0, 0.0, 6.0], rtol=0, atol=1e-12)
        assert sol.policy[0] == 1
        assert not sol.unichain
        assert [c.tolist() for c in sol.recurrent_classes] == [[1], [2]]
        assert sol.residual == 0.0
        assert sol.error_bound < 1e-12
        assert sol.method == method


def test_periodic_chain_bias_is_the_cesaro_bias() -> None:
    # 0 ↔ 1 deterministically, rewards 1 and 3: μ = (1/2, 1/2), g = 2; h(1) − h(0) = 1 and μ·h = 0
    # give h = (−1/2, 1/2). (RVI does not converge on a periodic chain; PI does not care.)
    P = np.array([[[0.0, 1.0]], [[1.0, 0.0]]])
    sol = verify.solve_average(tasks.FiniteMDP(P, np.array([[1.0], [3.0]]), 0.5))
    np.testing.assert_allclose(sol.gain, [2.0, 2.0], rtol=0, atol=1e-14)
    np.testing.assert_allclose(sol.bias, [-0.5, 0.5], rtol=0, atol=1e-14)


def test_terminal_states_have_gain_and_bias_zero() -> None:
    mdp = tasks.random_mdp(5, 2, seed=3, terminal_fraction=0.4)
    sol = verify.solve_average(mdp)
    assert mdp.terminal is not None
    assert mdp.terminal.sum() == 2
    assert (sol.gain[mdp.terminal] == 0).all()
    assert (sol.bias[mdp.terminal] == 0).all()
    assert_gain_optimal(mdp, sol)
    assert_bias_of_policy(mdp, sol)


def test_gamma_is_ignored() -> None:
    mdp = _blocks()
    a = verify.solve_average(mdp)
    b = verify.solve_average(tasks.FiniteMDP(mdp.P, mdp.R, 0.1))
    for x, y in zip((a.gain, a.bias, a.policy), (b.gain, b.bias, b.policy), strict=True):
        np.testing.assert_array_equal(x, y)


# ---------------------------------------------------------------- γ → 1
def test_hand_example_laurent_expansion() -> None:
    sol = verify.solve_average(_hand())
    errs, bias_errs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", verify.ConvergenceWarning)  # V ~ 1e6: rounding floor above 1e-9
        for k in range(2, 7):
            gamma = 1.0 - 10.0**-k
            V = verify.solve(_hand(gamma), "pi", tol=1e-9).V
            errs.append(np.abs((1 - gamma) * V - sol.gain).max() / (1 - gamma))
            bias_errs.append(np.abs(V - sol.gain / (1 - gamma) - sol.bias).max() / (1 - gamma))
    # (1 − γ)V_γ − g = (1 − γ)h + O((1 − γ)²): the scaled error tends to max|h| = 6 ...
    np.testing.assert_allclose(errs, 6.0, rtol=2e-2)
    # ... and V_γ − g/(1 − γ) − h = (1 − γ)·y_1 + O((1 − γ)²), the next Laurent term: the scaled
    # error settles at max|y_1| (measured 11.88, 11.988, 11.9988, 11.99988 for k = 2..5; at
    # k = 6 rounding in V ~ 2·10^6 takes over).
    np.testing.assert_allclose(bias_errs[:4], 12.0, rtol=1e-2)


def test_blocks_discounted_gain_converges_linearly() -> None:
    mdp = _blocks()
    sol = verify.solve_average(mdp)
    assert len(sol.recurrent_classes) == 2
    assert np.ptp(sol.gain) > 0.1
    errs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", verify.ConvergenceWarning)
        for k in range(2, 7):
            gamma = 1.0 - 10.0**-k
            V = verify.solve(tasks.FiniteMDP(mdp.P, mdp.R, gamma), "pi", tol=1e-9).V
            errs.append(np.abs((1 - gamma) * V - sol.gain).max())
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    # Each tenfold cut of 1 − γ cuts the error tenfold: linear in (1 − γ), constant max|h*|.
    np.testing.assert_allclose(ratios, 10.0, rtol=0.1)
    assert errs[-1] < 1e-5


# ---------------------------------------------------------------- brute force and residuals
@given(small_mdps())
def test_gain_optimal_against_brute_force(mdp: tasks.FiniteMDP) -> None:
    sol = verify.solve_average(mdp)
    assert_gain_optimal(mdp, sol)
    assert_bias_of_policy(mdp, sol)
    assert_optimality_equations(mdp, sol)
    assert sol.residual <= 1e-9
    # error_bound is guaranteed: it covers the true error; with a constant gain it is tight (the
    # optimality equations bound every d(s, a) by g + residual). In a few multichain MDPs it is
    # loose (4 of 3,000 random draws of this strategy: a state of a low-gain end component that
    # can leave for a better one), never wrong.
    assert np.abs(sol.gain - _brute_force_gain(mdp)).max() <= sol.error_bound
    if np.ptp(sol.gain) == 0:
        assert sol.error_bound < 1e-9


@given(small_mdps())
def test_lp_agrees_with_policy_iteration(mdp: tasks.FiniteMDP) -> None:
    pi, lp = verify.solve_average(mdp), verify.solve_average(mdp, method="lp")
    np.testing.assert_allclose(lp.gain, pi.gain, rtol=0, atol=1e-9)
    assert_gain_optimal(mdp, lp)
    assert lp.method in ("lp", "lp+pi")


def test_lp_policy_needs_no_polishing_on_the_examples() -> None:
    # The LP's policy (read from its dual) is optimal as it stands: an independent route to g*.
    for mdp in (_hand(), _blocks(), _forest()[2], tasks.random_mdp(30, 3, seed=1)):
        lp, pi = verify.solve_average(mdp, method="lp"), verify.solve_average(mdp)
        assert lp.method == "lp"
        np.testing.assert_allclose(lp.gain, pi.gain, rtol=0, atol=1e-10)


def test_sparse_and_dense_kernels_agree() -> None:
    sparse = tasks.random_mdp(80, 3, successors=3, seed=5, sparse=True)
    dense = tasks.FiniteMDP(sparse.dense_P, sparse.R, sparse.gamma)
    a, b = verify.solve_average(sparse), verify.solve_average(dense)
    np.testing.assert_allclose(a.gain, b.gain, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.bias, b.bias, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(a.policy, b.policy)


def test_long_ring_falls_back_to_the_sparse_lu() -> None:
    # A deterministic cycle 0 → 1 → … → n−1 → 0 (BiCGSTAB needs ~n iterations: splu takes over).
    # Closed form: g = mean(r); h(s + 1) = h(s) + g − r(s) along the cycle, and μ uniform gives mean(h) = 0.
    n = 2000
    r = np.random.default_rng(0).random(n)
    K = sp.csr_array((np.ones(n), (np.arange(n), (np.arange(n) + 1) % n)), shape=(n, n))
    sol = verify.solve_average(tasks.FiniteMDP(K, r[:, None], 0.9))
    h = np.concatenate([[0.0], np.cumsum(r.mean() - r)[:-1]])
    np.testing.assert_allclose(sol.gain, r.mean(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(sol.bias, h - h.mean(), rtol=0, atol=1e-9)
    assert sol.residual < 1e-9


def test_large_sparse_certifies() -> None:
    mdp = tasks.random_mdp(3000, 3, successors=3, seed=2, sparse=True)
    sol = verify.solve_average(mdp)
    assert sol.residual < 1e-9
    assert sol.error_bound < 1e-9
    # The certificate's independent half: the greedy step on the returned bias changes nothing.
    S, A = mdp.n_states, mdp.n_actions
    Qh = mdp.R + (mdp.kernel @ sol.bias).reshape(S, A)
    assert np.abs(Qh.max(axis=1) - sol.gain - sol.bias).max() < 1e-9


def test_unavailable_actions_are_never_chosen() -> None:
    mdp = _hand()
    # Action 1 at state 0 (the gain-2 route) is unavailable: the only policy left has gain 1 there.
    available = np.ones((4, 2), dtype=bool)
    available[0, 1] = False
    masked = tasks.FiniteMDP(mdp.P, mdp.R, mdp.gamma, available=available)
    # The same, written QuantEcon's way: R = −inf and an all-zero row for the missing action.
    P, R = np.array(mdp.P), np.array(mdp.R)
    P[0, 1], R[0, 1] = 0.0, -np.inf
    for problem in (masked, tasks.FiniteMDP(P, R, mdp.gamma)):
        for method in ("pi", "lp"):
            sol = verify.solve_average(problem, method=method)
            assert sol.policy[0] == 0
            np.testing.assert_allclose(sol.gain, [1.0, 1.0, 2.0, 2.0], rtol=0, atol=1e-12)
            np.testing.assert_allclose(sol.bias, [9.0, 0.0, 0.0, 6.0], rtol=0, atol=1e-12)  # 10 − 1 + 0
            assert_gain_optimal(problem, sol)


# ---------------------------------------------------------------- planted bugs
def _improve_bias_first(Qg: FloatArray, Qh: FloatArray, policy: NDArray[np.int64], tie: float) -> NDArray[np.int64]:
    """PLANTED: unichain improvement, argmax of r + P h alone (the gain step is skipped)."""
    better = Qh.max(axis=1) > Qh[np.arange(policy.size), policy] + tie
    return np.where(better, Qh.argmax(axis=1), policy)


def _evaluate_one_class(P: Any, r: FloatArray) -> tuple[FloatArray, FloatArray, NDArray[np.int64]]:
    """PLANTED: one gain for the whole chain and one normalisation h(0) = 0, as if it were unichain."""
    S = r.size
    M = np.hstack([np.eye(S) - (P.toarray() if sp.issparse(P) else P), np.ones((S, 1))])
    pin = np.zeros((1, S + 1))
    pin[0, 0] = 1.0
    x = np.linalg.lstsq(np.vstack([M, pin]), np.append(r, 0.0), rcond=None)[0]
    return np.full(S, x[-1]), x[:S], np.zeros(S, dtype=np.int64)


_recurrent_part = average._recurrent_part


def _recurrent_part_pinned(P: Any, r: FloatArray, labels: Any, pins: Any) -> tuple[FloatArray, FloatArray]:
    """PLANTED: h = 0 at the first state of each class instead of P*h = 0."""
    g, h = _recurrent_part(P, r, labels, pins)
    rec = np.flatnonzero(labels >= 0)
    return g, h - h[np.searchsorted(rec, pins)][labels[rec]]


@pytest.mark.parametrize(
    ("name", "planted", "mdp", "check"),
    [
        ("_improve", _improve_bias_first, _hand, assert_gain_optimal),
        ("_evaluate", _evaluate_one_class, _hand, assert_gain_optimal),
        ("_recurrent_part", _recurrent_part_pinned, lambda: _forest()[2], assert_bias_of_policy),
    ],
)
def test_planted_bugs_are_caught(
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    planted: Callable[..., Any],
    mdp: Callable[[], tasks.FiniteMDP],
    check: Callable[[tasks.FiniteMDP, verify.AverageSolution], None],
) -> None:
    problem = mdp()
    check(problem, verify.solve_average(problem))  # the real solver passes
    monkeypatch.setattr(average, name, planted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", verify.ConvergenceWarning)
        wrong = verify.solve_average(problem, max_iter=50)  # a wrong evaluation may cycle
    with pytest.raises(AssertionError):
        check(problem, wrong)


def test_bias_first_improvement_stops_at_the_myopic_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    # What the planted bias-first rule returns on the hand example: action 0, gain 1 at state 0.
    monkeypatch.setattr(average, "_improve", _improve_bias_first)
    with pytest.warns(verify.ConvergenceWarning, match="optimality residual is 3"):
        wrong = verify.solve_average(_hand())  # the solver itself says the answer misses tol
    assert wrong.policy[0] == 0
    assert wrong.gain[0] == 1.0
    assert wrong.residual >= 1.0  # the residual check sees it too: max_a P_a g − g = 2 − 1 at state 0


# ---------------------------------------------------------------- bad input
def test_bad_input() -> None:
    mdp = _hand()
    with pytest.raises(TypeError, match=r"tasks\.FiniteMDP"):
        verify.solve_average((mdp.P, mdp.R))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown method 'vi'"):
        verify.solve_average(mdp, method="vi")
    with pytest.raises(TypeError, match="tol must be a positive number"):
        verify.solve_average(mdp, tol=True)
    for tol in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="tol must be a finite number > 0"):
            verify.solve_average(mdp, tol=tol)
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        verify.solve_average(mdp, max_iter=0)
    with pytest.raises(TypeError, match="max_iter must be a positive int"):
        verify.solve_average(mdp, max_iter=2.5)  # type: ignore[arg-type]


def test_iteration_cap_warns_and_returns_the_evaluated_policy() -> None:
    with pytest.warns(verify.ConvergenceWarning, match="iteration cap"):
        sol = verify.solve_average(_hand(), max_iter=1)
    assert sol.iterations == 1
    assert sol.policy[0] == 1
    np.testing.assert_allclose(sol.gain, [2.0, 1.0, 2.0, 2.0], rtol=0, atol=1e-12)


def test_record_is_frozen() -> None:
    sol = verify.solve_average(_hand())
    with pytest.raises(AttributeError):
        sol.gain = np.zeros(4)  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        sol.gain[0] = 1.0
