"""FiniteMDP: every validation error (type and message), lossless coercion, freezing, sparse = dense."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

from tasks import ROW_SUM_TOL, FiniteMDP
from tasks.mdp import as_float_array


def _two_state(**overrides):
    """A valid 2-state, 2-action MDP; state 1 is terminal-ready (absorbing, zero reward)."""
    P = np.zeros((2, 2, 2))
    P[0, 0] = [0.5, 0.5]
    P[0, 1] = [0.0, 1.0]
    P[1, :, 1] = 1.0
    R = np.array([[1.0, 2.0], [0.0, 0.0]])
    kwargs = {"P": P, "R": R, "gamma": 0.9}
    kwargs.update(overrides)
    return kwargs


def test_valid_mdp_views():
    mdp = FiniteMDP(**_two_state(terminal=np.array([False, True])))
    assert (mdp.n_states, mdp.n_actions) == (2, 2)
    assert mdp.kernel.shape == (4, 2)
    assert np.shares_memory(mdp.kernel, mdp.P)
    # default start: uniform over non-terminal states
    np.testing.assert_array_equal(mdp.start, [1.0, 0.0])
    assert not mdp.is_sparse
    assert "S=2" in repr(mdp)


# ------------------------------------------------------------------ R
def test_R_wrong_rank():
    with pytest.raises(ValueError, match=r"R must have shape \(n_states, n_actions\); got rank 1"):
        FiniteMDP(**_two_state(R=np.zeros(2)))


def test_R_empty():
    with pytest.raises(ValueError, match=r"R has shape \(0, 2\)"):
        FiniteMDP(P=np.zeros((0, 2, 0)), R=np.zeros((0, 2)), gamma=0.9)


def test_R_not_finite_names_index():
    R = np.array([[1.0, np.nan], [0.0, 0.0]])
    with pytest.raises(ValueError, match=r"R\[0, 1\] = nan is not finite"):
        FiniteMDP(**_two_state(R=R))


# ------------------------------------------------------------------ dense P
def test_P_wrong_rank():
    with pytest.raises(ValueError, match=r"P must have shape .* got rank 2"):
        FiniteMDP(**_two_state(P=np.eye(2)))


def test_P_shape_mismatch():
    with pytest.raises(ValueError, match=r"P has shape \(2, 3, 2\) but R has shape \(2, 2\)"):
        FiniteMDP(**_two_state(P=np.full((2, 3, 2), 0.5)))


def test_P_not_finite_names_index():
    kw = _two_state()
    kw["P"][0, 1, 0] = np.inf
    with pytest.raises(ValueError, match=r"P\[0, 1, 0\] = inf is not finite"):
        FiniteMDP(**kw)


def test_P_negative_names_index():
    kw = _two_state()
    kw["P"][0, 0] = [-0.5, 1.5]
    with pytest.raises(ValueError, match=r"P\[0, 0, 0\] = -0.5 is negative"):
        FiniteMDP(**kw)


def test_P_row_sum_reports_worst_row():
    kw = _two_state()
    kw["P"][0, 0] = [0.5, 0.5 + 1e-6]  # off by 1e-6
    kw["P"][1, 1, 1] = 0.9  # off by 0.1: the worst
    with pytest.raises(ValueError, match=r"P\[1, 1, :\] sums to 0.9, not 1 .*2 rows are off, this is the worst"):
        FiniteMDP(**kw)


def test_P_row_sum_tolerance_is_stated_and_applied():
    kw = _two_state()
    kw["P"][0, 0] = [0.5, 0.5 + ROW_SUM_TOL / 2]
    FiniteMDP(**kw)  # within tolerance: accepted
    kw = _two_state()  # FiniteMDP froze the previous P in place
    kw["P"][0, 0] = [0.5, 0.5 + 10 * ROW_SUM_TOL]
    with pytest.raises(ValueError, match=r"tolerance 1e-08"):
        FiniteMDP(**kw)


# ------------------------------------------------------------------ sparse P
def test_sparse_P_wrong_shape():
    with pytest.raises(ValueError, match=r"sparse P has shape \(2, 2\); it must be .* \(4, 2\)"):
        FiniteMDP(**_two_state(P=sp.csr_array(np.eye(2))))


@pytest.mark.parametrize("dtype", [bool, np.complex128])
def test_sparse_P_non_real_dtype(dtype):
    K = sp.csr_array(np.ones((4, 2), dtype=dtype))
    with pytest.raises(TypeError, match=r"sparse P has dtype"):
        FiniteMDP(**_two_state(P=K))


def test_sparse_P_not_finite():
    K = _two_state()["P"].reshape(4, 2).copy()
    K[1, 1] = np.nan
    with pytest.raises(ValueError, match=r"P.data \(sparse\)\[\d+\] = nan is not finite"):
        FiniteMDP(**_two_state(P=sp.csr_array(K)))


def test_sparse_P_negative_names_state_action_successor():
    K = _two_state()["P"].reshape(4, 2).copy()
    K[1] = [-0.25, 1.25]  # row 1 = (s=0, a=1)
    with pytest.raises(ValueError, match=r"P\[0, 1, 0\] = -0.25 is negative"):
        FiniteMDP(**_two_state(P=sp.csr_array(K)))


def test_sparse_P_row_sum():
    K = _two_state()["P"].reshape(4, 2).copy()
    K[2] = [0.0, 0.7]  # row 2 = (s=1, a=0)
    with pytest.raises(ValueError, match=r"P\[1, 0, :\] sums to 0.7"):
        FiniteMDP(**_two_state(P=sp.csr_array(K)))


# ------------------------------------------------------------------ gamma
@pytest.mark.parametrize("gamma", [True, "0.9", None, 0.5j])
def test_gamma_type(gamma):
    with pytest.raises(TypeError, match=r"gamma must be a real number in \[0, 1\]"):
        FiniteMDP(**_two_state(gamma=gamma))


def test_gamma_one_accepted_when_every_policy_ends_and_refused_naming_the_trap_otherwise():
    # Both actions of state 0 reach the terminal state 1 with positive probability: every policy ends.
    assert FiniteMDP(**_two_state(gamma=1.0, terminal=np.array([False, True]))).gamma == 1.0
    # Without the terminal mark, state 1 loops forever: the error names it, the action and the fixes.
    with pytest.raises(ValueError, match=r"\{1: 0\} never leaves the non-terminal states \{1\}.*terminal.*gamma < 1"):
        FiniteMDP(**_two_state(gamma=1.0))


@pytest.mark.parametrize("gamma", [-0.1, 1.5, float("nan"), float("inf")])
def test_gamma_out_of_range(gamma):
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\]"):
        FiniteMDP(**_two_state(gamma=gamma))


def test_gamma_int_zero_accepted():
    assert FiniteMDP(**_two_state(gamma=0)).gamma == 0.0


# ------------------------------------------------------------------ terminal
def test_terminal_wrong_dtype():
    with pytest.raises(TypeError, match=r"terminal must be a boolean mask of length n_states = 2; got dtype float64"):
        FiniteMDP(**_two_state(terminal=np.array([0.0, 1.0])))


def test_terminal_ints_other_than_0_1_refused():
    with pytest.raises(TypeError, match=r"terminal must be a boolean mask"):
        FiniteMDP(**_two_state(terminal=np.array([0, 2])))


def test_terminal_0_1_ints_coerced():
    mdp = FiniteMDP(**_two_state(terminal=np.array([0, 1])))
    assert mdp.terminal.dtype == bool
    np.testing.assert_array_equal(mdp.terminal, [False, True])


def test_terminal_wrong_length():
    with pytest.raises(ValueError, match=r"terminal has shape \(3,\); it must be a boolean mask of shape \(2,\)"):
        FiniteMDP(**_two_state(terminal=np.array([False, True, False])))


def test_terminal_with_reward_names_state_and_action():
    kw = _two_state(terminal=np.array([False, True]))
    kw["R"][1, 1] = 0.5
    with pytest.raises(ValueError, match=r"terminal state 1 has R\[1, 1\] = 0.5"):
        FiniteMDP(**kw)


def test_terminal_not_absorbing_dense():
    with pytest.raises(ValueError, match=r"terminal state 0 is not absorbing: P\[0, 0, 0\] = 0.5"):
        FiniteMDP(**_two_state(terminal=np.array([True, False]), R=np.zeros((2, 2))))


def test_terminal_not_absorbing_sparse():
    K = sp.csr_array(_two_state()["P"].reshape(4, 2))
    with pytest.raises(ValueError, match=r"terminal state 0 is not absorbing"):
        FiniteMDP(**_two_state(P=K, terminal=np.array([True, False]), R=np.zeros((2, 2))))


# ------------------------------------------------------------------ start
def test_start_all_terminal():
    P = np.ones((1, 1, 1))
    with pytest.raises(ValueError, match=r"every state is terminal"):
        FiniteMDP(P, np.zeros((1, 1)), 0.9, terminal=np.array([True]))


def test_start_wrong_shape():
    with pytest.raises(ValueError, match=r"start has shape \(3,\); it must be a distribution of shape \(2,\)"):
        FiniteMDP(**_two_state(start=np.array([1.0, 0.0, 0.0])))


def test_start_not_finite():
    with pytest.raises(ValueError, match=r"start\[1\] = nan is not finite"):
        FiniteMDP(**_two_state(start=np.array([1.0, np.nan])))


def test_start_negative():
    with pytest.raises(ValueError, match=r"start\[1\] = -0.5 is negative"):
        FiniteMDP(**_two_state(start=np.array([1.5, -0.5])))


def test_start_not_summing_to_one():
    with pytest.raises(ValueError, match=r"start sums to 0.8, not 1"):
        FiniteMDP(**_two_state(start=np.array([0.4, 0.4])))


# ------------------------------------------------------------------ time_limit
@pytest.mark.parametrize("limit", [True, 2.0, "10"])
def test_time_limit_type(limit):
    with pytest.raises(TypeError, match=r"time_limit must be a positive int or None"):
        FiniteMDP(**_two_state(time_limit=limit))


@pytest.mark.parametrize("limit", [0, -3])
def test_time_limit_value(limit):
    with pytest.raises(ValueError, match=r"time_limit must be >= 1"):
        FiniteMDP(**_two_state(time_limit=limit))


def test_time_limit_numpy_int_becomes_int():
    mdp = FiniteMDP(**_two_state(time_limit=np.int64(7)))
    assert mdp.time_limit == 7
    assert type(mdp.time_limit) is int


# ------------------------------------------------------------------ coercion
def test_ints_coerced_losslessly():
    kw = _two_state()
    P = kw["P"].copy()
    P[0, 0] = [0, 1]
    mdp = FiniteMDP(P.astype(np.int64), np.array([[1, -2], [0, 0]]), 0.9, start=np.array([1, 0]))
    assert mdp.P.dtype == mdp.R.dtype == mdp.start.dtype == np.float64
    np.testing.assert_array_equal(mdp.R, [[1.0, -2.0], [0.0, 0.0]])


def test_huge_ints_refused():
    with pytest.raises(TypeError, match=r"R holds integers above 2\*\*53"):
        FiniteMDP(**_two_state(R=np.array([[2**60, 0], [0, 0]], dtype=np.int64)))


def test_object_array_of_numbers_accepted():
    R = np.array([[1, 2.5], [0, 0.0]], dtype=object)
    np.testing.assert_array_equal(FiniteMDP(**_two_state(R=R)).R, [[1.0, 2.5], [0.0, 0.0]])


@pytest.mark.parametrize(
    ("R", "pattern"),
    [
        (np.array([[True, False], [False, False]]), r"R has dtype bool"),
        (np.array([[1 + 0j, 0], [0, 0]]), r"R has dtype complex128"),
        (np.array([["1", "0"], ["0", "0"]]), r"R has dtype <U1"),
        (np.array([[1.0, "x"], [0, 0]], dtype=object), r"R\[0, 1\] is 'x' of type str"),
        (np.array([[1.0, True], [0, 0]], dtype=object), r"R\[0, 1\] is True of type bool"),
        (np.array([[1.0, None], [0, 0]], dtype=object), r"R\[0, 1\] is None of type NoneType"),
    ],
)
def test_non_real_values_refused(R, pattern):
    with pytest.raises(TypeError, match=pattern):
        FiniteMDP(**_two_state(R=R))


def test_as_float_array_names_argument():
    with pytest.raises(TypeError, match=r"^widget has dtype bool"):
        as_float_array(np.array([True]), "widget")
    out = as_float_array(np.array([1, 2], dtype=np.uint8), "widget")
    assert out.dtype == np.float64


# ------------------------------------------------------------------ frozen and read-only
def test_frozen_attributes():
    mdp = FiniteMDP(**_two_state())
    with pytest.raises(dataclasses.FrozenInstanceError):
        mdp.gamma = 0.5  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        mdp.R = np.zeros((2, 2))  # type: ignore[misc]


@pytest.mark.parametrize("attr", ["P", "R", "start", "terminal"])
def test_arrays_read_only(attr):
    mdp = FiniteMDP(**_two_state())
    arr = getattr(mdp, attr)
    with pytest.raises(ValueError, match="read-only"):
        arr[(0,) * arr.ndim] = 1


def test_sparse_data_read_only():
    mdp = FiniteMDP(**_two_state(P=sp.csr_array(_two_state()["P"].reshape(4, 2))))
    with pytest.raises(ValueError, match="read-only"):
        mdp.P.data[0] = 0.3


def test_caller_arrays_not_aliased_for_mutation():
    """Mutating the caller's R after construction must not change the MDP."""
    kw = _two_state()
    R = kw["R"].copy()
    kw["R"] = R
    mdp = FiniteMDP(**kw)
    before = mdp.R.copy()
    if np.shares_memory(R, mdp.R):
        # the MDP froze the caller's buffer: a write through R now fails instead of corrupting it
        with pytest.raises(ValueError, match="read-only"):
            R[0, 0] = 99.0
    else:
        R[0, 0] = 99.0
    np.testing.assert_array_equal(mdp.R, before)


# ------------------------------------------------------------------ sparse and dense agree
def test_sparse_and_dense_constructions_agree():
    rng = np.random.default_rng(3)
    P = rng.random((5, 3, 5)) * (rng.random((5, 3, 5)) < 0.5)
    P[..., 0] += 0.1
    P /= P.sum(axis=2, keepdims=True)
    R = rng.random((5, 3))
    dense = FiniteMDP(P, R, 0.95)
    sparse = FiniteMDP(sp.csr_array(P.reshape(15, 5)), R, 0.95)
    assert sparse.is_sparse
    assert not dense.is_sparse
    assert (sparse.n_states, sparse.n_actions) == (dense.n_states, dense.n_actions)
    np.testing.assert_array_equal(sparse.dense_P, dense.P)
    np.testing.assert_array_equal(sparse.kernel.toarray(), dense.kernel)
    np.testing.assert_array_equal(sparse.start, dense.start)
    V = rng.random(5)
    np.testing.assert_allclose(sparse.kernel @ V, dense.kernel @ V, rtol=0, atol=1e-15)


def test_sparse_duplicates_are_summed():
    rows = np.array([0, 0, 1, 2, 3])
    cols = np.array([1, 1, 1, 1, 1])
    data = np.array([0.5, 0.5, 1.0, 1.0, 1.0])
    K = sp.coo_array((data, (rows, cols)), shape=(4, 2)).tocsr()
    mdp = FiniteMDP(K, np.zeros((2, 2)), 0.9, start=np.array([1.0, 0.0]))
    assert mdp.P[0, 1] == 1.0
    assert mdp.P.nnz == 4


# ------------------------------------------------------------------ validation and solvers agree (issue 11 §3)
@pytest.mark.parametrize("sparse", [False, True])
def test_rows_inside_tolerance_are_normalised_so_every_solver_accepts_them(sparse):
    # Rows summing to 1 + 5e-9 (inside ROW_SUM_TOL = 1e-8) with γ close to 1 used to pass validation
    # and then be refused by every solver (contraction modulus 1.000000004).
    P = np.array([[[0.5, 0.5 + 5e-9], [1.0, 0.0]], [[0.0, 1.0 + 5e-9], [0.3, 0.7]]])
    R = np.array([[1.0, 0.0], [0.0, 2.0]])
    kernel = sp.csr_array(P.reshape(4, 2)) if sparse else P
    mdp = FiniteMDP(kernel, R, 1 - 1e-9)
    np.testing.assert_allclose(mdp.dense_P.sum(axis=2), 1.0, rtol=0, atol=4e-16)
    import verify

    # Any γ < 1 the rows allow is solvable now; at 1 − 1e-6 the values (~2e6) still have digits to spare.
    near = dataclasses.replace(mdp, gamma=1 - 1e-6)
    V_pi, V_lp = verify.solve(near, method="pi", tol=1e-2).V, verify.solve(near, method="lp", tol=1e-2).V
    np.testing.assert_allclose(V_pi, V_lp, rtol=1e-9)
    assert verify.solve(mdp, method="pi", tol=1e3).V.max() > 1e9


def test_rows_at_one_up_to_rounding_are_stored_bit_for_bit():
    P = np.full((10, 1, 10), 0.1)  # each row sums to 0.9999999999999999 in float64
    mdp = FiniteMDP(P, np.zeros((10, 1)), 0.9)
    np.testing.assert_array_equal(mdp.P, P)


# ------------------------------------------------------------------ action sets that differ by state
def _masked_mdp(available=None, R=None):
    P = np.zeros((2, 2, 2))
    P[:, 0, 0] = 1.0
    P[:, 1, 1] = 1.0
    R = np.array([[0.0, 1.0], [2.0, 0.0]]) if R is None else R
    return FiniteMDP(P, R, 0.9, available=available)


def test_available_defaults_to_every_action_and_is_read_only():
    mdp = _masked_mdp()
    assert mdp.available.shape == (2, 2)
    assert mdp.available.all()
    with pytest.raises(ValueError, match="read-only"):
        mdp.available[0, 0] = False


def test_minus_inf_reward_reads_as_unavailable_and_is_stored_as_zero():
    mdp = _masked_mdp(R=np.array([[0.0, -np.inf], [2.0, 0.0]]))
    assert mdp.available.tolist() == [[True, False], [True, True]]
    assert mdp.R[0, 1] == 0.0
    assert np.isfinite(mdp.R).all()


def test_all_zero_row_of_an_unavailable_action_becomes_a_self_loop():
    P = np.zeros((2, 2, 2))
    P[0, 0, 1] = P[1, 0, 0] = P[1, 1, 1] = 1.0  # P[0, 1, :] is all zeros: action 1 is not offered in state 0
    mdp = FiniteMDP(P, np.ones((2, 2)), 0.9, available=[[True, False], [True, True]])
    assert mdp.dense_P[0, 1].tolist() == [1.0, 0.0]
    sparse = FiniteMDP(sp.csr_array(P.reshape(4, 2)), np.ones((2, 2)), 0.9, available=[[1, 0], [1, 1]])
    np.testing.assert_array_equal(sparse.dense_P, mdp.dense_P)


def test_all_zero_row_of_an_available_action_is_refused():
    P = np.zeros((2, 2, 2))
    P[0, 0, 1] = P[1, 0, 0] = P[1, 1, 1] = 1.0
    with pytest.raises(ValueError, match=r"P\[0, 1, :\] sums to 0.0"):
        FiniteMDP(P, np.ones((2, 2)), 0.9)


@pytest.mark.parametrize(
    ("available", "error", "match"),
    [
        (np.ones((2, 3), bool), ValueError, r"shape \(2, 3\).*\(2, 2\)"),
        (np.full((2, 2), 0.5), TypeError, "boolean mask"),
        ([[False, False], [True, True]], ValueError, "state 0 has no available action"),
    ],
)
def test_bad_available_masks_are_refused(available, error, match):
    with pytest.raises(error, match=match):
        _masked_mdp(available=available)


def test_a_state_whose_rewards_are_all_minus_inf_is_refused():
    with pytest.raises(ValueError, match="state 1 has no available action"):
        _masked_mdp(R=np.array([[0.0, 1.0], [-np.inf, -np.inf]]))
