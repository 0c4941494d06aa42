"""The finite MDP: validated arrays, frozen on construction.

An MDP is (S, A, P, R, γ) with ``P[s, a, s']`` the transition kernel and ``R[s, a]`` the
expected reward. The kernel is stored either dense, shape (S, A, S), or as a scipy CSR matrix of
shape (S·A, S) with rows ordered s-major (row ``s * A + a``), the layout of QuantEcon's
``DiscreteDP``. Every solver in :mod:`verify` works on the (S·A, S) view, :attr:`FiniteMDP.kernel`.

Validation happens here, once, at the public boundary: a bad array raises ``ValueError`` or
``TypeError`` naming the argument, the offending index and what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from tasks.episodic import check_proper

__all__ = ["ROW_SUM_TOL", "FiniteMDP", "as_float_array"]

#: Largest tolerated deviation of a transition row's sum from 1 (absolute).
ROW_SUM_TOL = 1e-8

Kernel: TypeAlias = NDArray[np.float64] | sp.csr_matrix | sp.csr_array


def as_float_array(x: ArrayLike, name: str) -> NDArray[np.float64]:
    """Convert ``x`` to float64 only when the conversion is lossless.

    Integers are accepted when every value is exactly representable as float64 (|x| <= 2**53);
    booleans, strings, complex numbers and objects that are not real numbers are refused.

    Raises
    ------
    TypeError
        When ``x`` holds values that are not real numbers, or integers too large to be exact.
    """
    arr = np.asarray(x)
    kind = arr.dtype.kind
    if kind == "f":
        return np.array(arr, dtype=np.float64, order="C", copy=True)
    if kind in "iu":
        if arr.size and np.abs(arr.astype(object)).max() > 2**53:
            raise TypeError(
                f"{name} holds integers above 2**53 that float64 cannot represent exactly; "
                "pass float64 values you have rounded yourself."
            )
        return arr.astype(np.float64)
    if kind == "O":
        flat = arr.ravel()
        for i, v in enumerate(flat):
            if isinstance(v, bool | np.bool_) or not isinstance(v, int | float | np.integer | np.floating):
                idx = np.unravel_index(i, arr.shape) if arr.ndim else ()
                raise TypeError(
                    f"{name}{list(map(int, idx))} is {v!r} of type {type(v).__name__}; "
                    "every entry must be a real number (int or float)."
                )
        return as_float_array(np.array(flat.tolist()).reshape(arr.shape), name)
    raise TypeError(
        f"{name} has dtype {arr.dtype}; pass real numbers (float64, or integers that convert "
        "exactly). Booleans, complex numbers and strings are refused rather than coerced."
    )


def _check_finite(arr: NDArray[np.float64], name: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name}{list(idx)} = {float(arr[idx])!r} is not finite; every entry must be a finite number.")


#: Row sums this close to 1 are rounding, not error: such rows are stored as given.
_EXACT_ENOUGH = 2.0**-40


def _row_sums(K: Kernel) -> NDArray[np.float64]:
    if isinstance(K, np.ndarray):
        return K.sum(axis=-1).ravel()
    return np.asarray(K.sum(axis=1)).ravel()


def _substochastic_rows(K: Kernel, A: int) -> Kernel:
    """Check that every row sums to at most 1 within ``ROW_SUM_TOL``; a row just above 1 is divided by its sum.

    The rows of a semi-MDP's kernel ``P[s, o, s'] = E[γ^(τ−1)·1{s_τ = s'}]`` sum to
    ``E[γ^(τ−1)] <= 1`` (less when the option may take more than one step, or never end).
    """
    sums = _row_sums(K)
    worst = int(np.argmax(sums)) if sums.size else 0
    if sums.size and sums[worst] > 1.0 + ROW_SUM_TOL:
        s, a = divmod(worst, A)
        raise ValueError(
            f"P[{s}, {a}, :] sums to {float(sums[worst])!r}, above 1 (tolerance {ROW_SUM_TOL:g}); a semi-MDP's "
            "kernel P[s, o, s'] = E[gamma^(tau-1) 1{s_tau = s'}] sums to at most 1. Build it with tasks.options_mdp."
        )
    scale = np.where(sums > 1.0 + _EXACT_ENOUGH, sums, 1.0)
    if (scale == 1.0).all():
        return K
    if isinstance(K, np.ndarray):
        K.reshape(-1, K.shape[-1])[...] /= scale[:, None]
        return K
    return sp.csr_array(sp.diags_array(1.0 / scale) @ K)


def _normalised_rows(K: Kernel, S: int, A: int, available: NDArray[np.bool_]) -> Kernel:
    """Check that every used row sums to 1 within ``ROW_SUM_TOL`` and divide it by its sum.

    Normalising here is what makes validation and the solvers agree: a row accepted at 1 + 5e-9
    would otherwise give a contraction modulus γ·(1 + 5e-9) >= 1 for γ close to 1, and every solver
    would refuse an MDP that construction accepted. An all-zero row of an unavailable action becomes
    a self-loop; other rows of unavailable actions must be distributions too.
    """
    sums = _row_sums(K)
    unused = ~available.ravel() & (sums == 0.0)
    dev = np.where(unused, 0.0, np.abs(sums - 1.0))
    worst = int(np.argmax(dev))
    if dev[worst] > ROW_SUM_TOL:
        s, a = divmod(worst, A)
        raise ValueError(
            f"P[{s}, {a}, :] sums to {float(sums[worst])!r}, not 1 (tolerance {ROW_SUM_TOL:g}; "
            f"{int((dev > ROW_SUM_TOL).sum())} rows are off, this is the worst). "
            "Normalise each row: P / P.sum(axis=-1, keepdims=True)."
        )
    # Rows already at 1 up to rounding are left bit-for-bit as given (dense and CSR agree).
    scale = np.where(unused | (dev <= _EXACT_ENOUGH), 1.0, sums)
    rows_loop = np.flatnonzero(unused)
    if isinstance(K, np.ndarray):
        K2 = K.reshape(S * A, S)
        if (scale != 1.0).any():
            K2 /= scale[:, None]
        K2[rows_loop, rows_loop // A] = 1.0
        return K
    if (scale != 1.0).any():
        K = sp.csr_array(sp.diags_array(1.0 / scale) @ K)
    if rows_loop.size:
        K = sp.csr_array(K + sp.csr_array((np.ones(rows_loop.size), (rows_loop, rows_loop // A)), shape=K.shape))
        K.sort_indices()
    return K


@dataclass(frozen=True, eq=False)
class FiniteMDP:
    """A finite Markov decision process, discounted (γ < 1) or episodic (γ = 1).

    Parameters
    ----------
    P : array (S, A, S) or scipy CSR matrix (S·A, S)
        Transition probabilities ``P[s, a, s']``; every row sums to 1 within ``ROW_SUM_TOL``.
    R : array (S, A)
        Expected immediate reward ``R[s, a]``.
    gamma : float
        Discount factor in [0, 1]. γ = 1 (undiscounted, total reward) is accepted for episodic
        problems in which every stationary policy reaches a ``terminal`` state with probability 1
        (every policy is "proper": a stochastic shortest path problem, Bertsekas & Tsitsiklis
        1991), checked from the kernel's support over the available actions: no set of non-terminal
        states that a policy can stay in forever (an end component, :mod:`tasks.episodic`).
        Otherwise a ``ValueError`` names such a set, the actions that keep a policy in it, and the
        fixes (make a state of it terminal, mark those actions unavailable, or use γ < 1). Then V*
        is finite and unique, and the solvers contract in a weighted sup norm
        (:func:`verify.bellman.problem_from_mdp`). For a finite horizon without discounting on any
        MDP, see ``verify.solve_horizon(mdp, H, gamma=1.0)``.
    start : array (S,), optional
        Start-state distribution. Default: uniform over the non-terminal states.
    terminal : bool array (S,), optional
        Absorbing states of zero value: each must have ``P[s, a, s] = 1`` and ``R[s, a] = 0``
        for every action. Default: no terminal states.
    time_limit : int, optional
        Episode length after which a rollout is *truncated* (bootstrapped, not terminated).
    available : bool array (S, A), optional
        ``available[s, a]`` says whether action ``a`` may be taken in state ``s`` (action sets that
        differ by state, QuantEcon's and gymnasium's "infeasible actions"). Default: every action
        everywhere. An entry ``R[s, a] = -inf`` is read as "not available" too (QuantEcon's product
        form); it is stored as 0 with ``available[s, a] = False``. Every state needs at least one
        available action. The row ``P[s, a, :]`` of an unavailable action is never used: it may be
        all zeros (stored as a self-loop so the kernel stays stochastic). Every solver, fixed point,
        society and learner honours the mask: an unavailable action is never chosen and its
        primitive never wins that state.
    name : str
        A label for reports, e.g. the registry id.
    substochastic : bool
        False (default): every row of ``P`` is a distribution (sums to 1). True: a semi-MDP, whose
        rows sum to at most 1: ``P[s, o, s'] = E[γ^(τ−1)·1{s_τ = s'}]`` for an option ``o`` that runs
        ``τ >= 1`` steps, so that ``γ·P`` is the discounted kernel ``M[s, o, s'] = E[γ^τ 1{s_τ = s'}]``
        (Sutton, Precup & Singh 1999, eq. 9). Built by :func:`tasks.options_mdp`.

    Notes
    -----
    The (S·A, S) kernel view, :attr:`kernel`, is what the solvers use: ``Q = R + γ·K V``. A
    semi-MDP of options reduces to the same core through its discounted kernel
    ``M[s, o, s'] = E[γ^τ 1{s_τ = s'}] = γ·P[s, o, s']`` (DESIGN §3), so every solver, fixed point
    and exploitability, all written with ``γ·K``, applies to it unchanged.
    """

    P: Kernel
    R: NDArray[np.float64]
    gamma: float
    start: NDArray[np.float64] | None = None
    terminal: NDArray[np.bool_] | None = None
    time_limit: int | None = None
    name: str = field(default="", compare=False)
    available: NDArray[np.bool_] | None = None
    substochastic: bool = False

    def __post_init__(self) -> None:
        R = as_float_array(self.R, "R")
        if R.ndim != 2:
            raise ValueError(f"R must have shape (n_states, n_actions); got rank {R.ndim}, shape {R.shape}.")
        S, A = R.shape
        if S == 0 or A == 0:
            raise ValueError(f"R has shape {R.shape}; an MDP needs at least one state and one action.")
        available = self._validate_available(self.available, R)
        R[~available] = 0.0
        _check_finite(R, "R")
        if not isinstance(self.substochastic, bool | np.bool_):
            raise TypeError(f"substochastic must be True or False; got {self.substochastic!r}.")
        P = self._validate_kernel(self.P, S, A, available, bool(self.substochastic))
        gamma = self._validate_gamma(self.gamma)
        terminal = self._validate_terminal(self.terminal, S)
        start = self._validate_start(self.start, S, terminal)
        self._validate_terminal_states(P, R, terminal, S, A)
        if gamma == 1.0:
            check_proper(P.reshape(S * A, S) if isinstance(P, np.ndarray) else P, available, terminal)
        if self.time_limit is not None:
            if isinstance(self.time_limit, bool) or not isinstance(self.time_limit, int | np.integer):
                raise TypeError(f"time_limit must be a positive int or None; got {self.time_limit!r}.")
            if self.time_limit < 1:
                raise ValueError(f"time_limit must be >= 1; got {self.time_limit}.")
        R.setflags(write=False)
        available.setflags(write=False)
        start.setflags(write=False)
        terminal.setflags(write=False)
        if isinstance(P, np.ndarray):
            P.setflags(write=False)
        else:
            P.data.setflags(write=False)
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "available", available)
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "terminal", terminal)
        object.__setattr__(self, "time_limit", None if self.time_limit is None else int(self.time_limit))
        object.__setattr__(self, "substochastic", bool(self.substochastic))

    # ------------------------------------------------------------------ validation
    @staticmethod
    def _validate_available(available: Any, R: NDArray[np.float64]) -> NDArray[np.bool_]:
        """The (S, A) mask of available actions: the given mask, and ``R = -inf`` read as unavailable."""
        S, A = R.shape
        if available is None:
            mask = np.ones((S, A), dtype=bool)
        else:
            mask = np.asarray(available)
            if mask.dtype != bool:
                if mask.dtype.kind in "iu" and np.isin(mask, (0, 1)).all():
                    mask = mask.astype(bool)
                else:
                    raise TypeError(
                        f"available must be a boolean mask of shape ({S}, {A}) (True = the action may be taken); "
                        f"got dtype {mask.dtype}."
                    )
            if mask.shape != (S, A):
                raise ValueError(f"available has shape {mask.shape}; it must be a boolean mask of shape ({S}, {A}).")
            mask = mask.copy()
        mask &= ~np.isneginf(R)
        empty = ~mask.any(axis=1)
        if empty.any():
            s = int(np.argmax(empty))
            raise ValueError(
                f"state {s} has no available action (available[{s}, :] is all False or R[{s}, :] is all -inf); "
                "every state needs at least one: make it terminal, or allow an action there."
            )
        return mask

    @staticmethod
    def _validate_kernel(P: Any, S: int, A: int, available: NDArray[np.bool_], substochastic: bool) -> Kernel:
        if sp.issparse(P):
            if P.ndim != 2 or P.shape != (S * A, S):
                raise ValueError(
                    f"sparse P has shape {P.shape}; it must be (n_states * n_actions, n_states) = "
                    f"({S * A}, {S}) with rows ordered s-major (row s * n_actions + a), matching R {(S, A)}."
                )
            if P.dtype.kind not in "fiu":
                raise TypeError(f"sparse P has dtype {P.dtype}; pass real numbers.")
            K = sp.csr_array(P, dtype=np.float64).copy()
            K.sum_duplicates()
            K.sort_indices()
            _check_finite(K.data, "P.data (sparse)")
            if K.data.size and K.data.min() < 0:
                k = int(np.argmin(K.data))
                row = int(np.searchsorted(K.indptr, k, side="right") - 1)
                s, a = divmod(row, A)
                raise ValueError(
                    f"P[{s}, {a}, {int(K.indices[k])}] = {float(K.data[k])!r} is negative; "
                    "probabilities must be >= 0."
                )
        else:
            K = as_float_array(P, "P")
            if K.ndim != 3:
                raise ValueError(
                    f"P must have shape (n_states, n_actions, n_states) or be a CSR matrix of shape "
                    f"(n_states * n_actions, n_states); got rank {K.ndim}, shape {K.shape}."
                )
            if K.shape != (S, A, S):
                raise ValueError(
                    f"P has shape {K.shape} but R has shape {(S, A)}; P must be (S, A, S) = {(S, A, S)}."
                )
            _check_finite(K, "P")
            if (K < 0).any():
                idx = tuple(int(i) for i in np.argwhere(K < 0)[0])
                raise ValueError(f"P{list(idx)} = {float(K[idx])!r} is negative; probabilities must be >= 0.")
        return _substochastic_rows(K, A) if substochastic else _normalised_rows(K, S, A, available)

    @staticmethod
    def _validate_gamma(gamma: Any) -> float:
        if isinstance(gamma, bool) or not isinstance(gamma, int | float | np.integer | np.floating):
            raise TypeError(f"gamma must be a real number in [0, 1]; got {gamma!r}.")
        g = float(gamma)
        if not (0.0 <= g <= 1.0) or not np.isfinite(g):
            raise ValueError(
                f"gamma must lie in [0, 1]; got {g!r}. (gamma = 1 needs an episodic MDP: every policy "
                "reaches a terminal state.)"
            )
        return g

    @staticmethod
    def _validate_terminal(terminal: Any, S: int) -> NDArray[np.bool_]:
        if terminal is None:
            return np.zeros(S, dtype=bool)
        t = np.asarray(terminal)
        if t.dtype != bool:
            if t.dtype.kind in "iu" and np.isin(t, (0, 1)).all():
                t = t.astype(bool)
            else:
                raise TypeError(
                    f"terminal must be a boolean mask of length n_states = {S}; got dtype {t.dtype}. "
                    "To mark states by index, build the mask: m = np.zeros(S, bool); m[idx] = True."
                )
        if t.shape != (S,):
            raise ValueError(f"terminal has shape {t.shape}; it must be a boolean mask of shape ({S},).")
        return t.copy()

    @staticmethod
    def _validate_start(start: Any, S: int, terminal: NDArray[np.bool_]) -> NDArray[np.float64]:
        if start is None:
            live = ~terminal
            if not live.any():
                raise ValueError("every state is terminal; an MDP needs a non-terminal state to start in.")
            return live / live.sum()
        d = as_float_array(start, "start")
        if d.shape != (S,):
            raise ValueError(f"start has shape {d.shape}; it must be a distribution of shape ({S},).")
        _check_finite(d, "start")
        if (d < 0).any():
            i = int(np.argmax(d < 0))
            raise ValueError(f"start[{i}] = {float(d[i])!r} is negative; start must be a probability distribution.")
        if abs(d.sum() - 1.0) > ROW_SUM_TOL:
            raise ValueError(
                f"start sums to {float(d.sum())!r}, not 1 (tolerance {ROW_SUM_TOL:g}); "
                "normalise it: start / start.sum()."
            )
        return d

    @staticmethod
    def _validate_terminal_states(
        P: Kernel, R: NDArray[np.float64], terminal: NDArray[np.bool_], S: int, A: int
    ) -> None:
        term = np.flatnonzero(terminal)
        if term.size == 0:
            return
        bad_r = R[term] != 0
        if bad_r.any():
            i, a = (int(x) for x in np.argwhere(bad_r)[0])
            s = int(term[i])
            raise ValueError(
                f"terminal state {s} has R[{s}, {a}] = {float(R[s, a])!r}; a terminal state has zero value, "
                "so every reward there must be 0. Put the reward on the transition into it."
            )
        rows = (term[:, None] * A + np.arange(A)).ravel()
        cols = np.repeat(term, A)
        if isinstance(P, np.ndarray):
            stay = P.reshape(S * A, S)[rows, cols]
        else:
            stay = np.asarray(P[rows, cols]).ravel()
        off = np.abs(stay - 1.0) > ROW_SUM_TOL
        if off.any():
            k = int(np.argmax(off))
            s, a = int(cols[k]), int(rows[k] % A)
            raise ValueError(
                f"terminal state {s} is not absorbing: P[{s}, {a}, {s}] = {float(stay[k])!r}; "
                "a terminal state must return to itself with probability 1 under every action."
            )

    # ------------------------------------------------------------------ views
    @property
    def n_states(self) -> int:
        """Number of states S."""
        return int(self.R.shape[0])

    @property
    def n_actions(self) -> int:
        """Number of actions A."""
        return int(self.R.shape[1])

    @property
    def is_sparse(self) -> bool:
        """Whether the kernel is stored as a CSR matrix."""
        return not isinstance(self.P, np.ndarray)

    @property
    def kernel(self) -> Kernel:
        """The (S·A, S) transition matrix, row ``s * A + a``; a view, never a copy, when dense."""
        if isinstance(self.P, np.ndarray):
            return self.P.reshape(self.n_states * self.n_actions, self.n_states)
        return self.P

    @property
    def dense_P(self) -> NDArray[np.float64]:
        """``P[s, a, s']`` as a dense (S, A, S) array (materialised for sparse kernels)."""
        if isinstance(self.P, np.ndarray):
            return self.P
        return np.asarray(self.P.toarray()).reshape(self.n_states, self.n_actions, self.n_states)

    def __repr__(self) -> str:
        kind = "sparse" if self.is_sparse else "dense"
        label = f"{self.name!r}, " if self.name else ""
        return (
            f"FiniteMDP({label}S={self.n_states}, A={self.n_actions}, gamma={self.gamma}, {kind}, "
            f"terminal={int(self.terminal.sum()) if self.terminal is not None else 0}, "
            f"time_limit={self.time_limit})"
        )
